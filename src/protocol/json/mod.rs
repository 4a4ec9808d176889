//! The JSON codec of Socket.IO payloads: our own reader ([`parse`]) and writer
//! ([`write_json`]), both over [`Value`](super::value::Value), differentially tested against
//! serde_json.

mod read;
mod write;

pub(crate) use self::read::{JsonError, parse, parse_shared};
pub(crate) use self::write::{json_len_hint, write_json, write_json_str};
