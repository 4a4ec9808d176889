#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod ack;
pub mod adapter;
pub mod engine;
pub mod extract;
pub mod handler;
mod io;
mod operators;
pub mod service;
pub(crate) mod socket;

pub use ack::{AckError, IntoAck};
pub use io::{
    DisconnectReason, DynNamespace, NsPattern, SocketIo, SocketIoBuilder, SocketIoLayer,
    SocketIoService,
};
pub use operators::{AckStream, BroadcastError, BroadcastOperator, IntoRooms};
pub use socket::namespace::{Namespace, WeakNamespace};
pub use socket::socket::{EmitError, Extensions, Handshake, RESERVED_EVENTS, Socket, SocketRef};

/// Dynamic values with binary: what events carry.
pub mod value {
    pub use crate::socket::value::{Value, ValueError, from_value, to_value};
}
