//! The Socket.IO v5 layer.
#![allow(dead_code)] // the runtime that uses the codec lands next

pub(crate) mod packet;
pub(crate) mod value;
