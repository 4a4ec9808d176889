//! The protocol floor: the wire formats as pure functions over strings and bytes (no IO, no
//! runtime, nothing else of the crate): Socket.IO v5 packets here, Engine.IO v4 packets and
//! polling payloads in [`engine_io`] (v3's in [`engine_io::v3`]), the frame and string types every layer shares ([`Frame`],
//! [`Str`]), the payload model [`Value`](value::Value) with its JSON codec, and the
//! [`Parser`] seam: how a Socket.IO packet becomes Engine.IO frames and back.
//!
//! The server uses these itself; they are public for those who must move packets outside
//! it, such as adapter authors shipping packets between nodes, and for
//! benchmarks.
//!
//! A Socket.IO packet is `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`. A binary
//! packet (BINARY_EVENT, BINARY_ACK) travels as a text packet in which each buffer is
//! replaced by `{"_placeholder":true,"num":N}`, followed by its buffers, one binary message
//! each:
//!
//! ```
//! use bytes::Bytes;
//! use tower_socketio::protocol::{self, DecodeLimits, Decoded, Packet, PacketData};
//! use tower_socketio::value::Value;
//!
//! let packet = Packet {
//!     ns: "/chat".into(),
//!     data: PacketData::Event {
//!         event: "file".into(),
//!         args: vec![Value::from("a.txt"), Value::Bytes(Bytes::from_static(b"hello"))],
//!     },
//!     id: Some(7),
//! };
//! let encoded = protocol::encode(&packet);
//! assert_eq!(
//!     encoded.text,
//!     r#"51-/chat,7["file","a.txt",{"_placeholder":true,"num":0}]"#
//! );
//!
//! // Decoding gives a partial packet that takes the attachments in order.
//! let limits = DecodeLimits::default();
//! let Decoded::Partial(mut partial) = protocol::decode(&encoded.text, &limits)? else {
//!     unreachable!("a binary packet waits for its attachments")
//! };
//! let mut attachments = encoded.attachments.into_iter();
//! let decoded = loop {
//!     let next = attachments.next().expect("an attachment");
//!     if let Some(done) = partial.push(next)? {
//!         break done;
//!     }
//! };
//! assert_eq!(decoded, packet);
//! # Ok::<(), protocol::ParseError>(())
//! ```

mod args;
pub mod engine_io;
mod frame;
mod id;
pub(crate) mod json;
#[cfg(feature = "msgpack")]
pub(crate) mod msgpack;
mod packet;
mod parser;
pub(crate) mod value;

pub(crate) use self::args::{Shape, args_value, error_object, error_value, shape, spread, to_args};
pub use self::frame::{Frame, Frames, Str};
pub(crate) use self::id::new_id;
pub use self::packet::{
    DecodeLimits, Decoded, Encoded, Packet, PacketData, ParseError, PartialPacket, RESERVED_EVENTS,
    decode, decode_shared, encode,
};
#[cfg(feature = "msgpack")]
pub use self::parser::MsgpackParser;
pub use self::parser::{DecodeState, JsonParser, Parser};
