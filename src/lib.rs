#![doc = include_str!("../README.md")]
#![doc = ""]
#![doc = include_str!("../docs/guide.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// The layers, bottom to top (ARCHITECTURE.md): each uses only those before it.
pub mod adapter;
#[cfg(feature = "admin-ui")]
pub mod admin;
pub mod engine;
pub mod extract;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz;
pub mod handler;
mod io;
mod operators;
pub mod protocol;
pub mod service;
mod socket;
mod sync;

pub use adapter::{AckError, EmitError, Handshake, IntoRooms};
pub use extract::IntoAck;
pub use io::{
    DEFAULT_MAX_PENDING, DEFAULT_MAX_PENDING_PER_ADDRESS, DynNamespace, NsPattern, SocketIo,
    SocketIoBuilder, SocketIoLayer, SocketIoService,
};
pub use operators::{AckStream, BroadcastError, BroadcastOperator};
pub use protocol::RESERVED_EVENTS;
pub use socket::{DisconnectReason, Extensions, Namespace, Socket, SocketRef, WeakNamespace};

/// Dynamic values with binary: what events carry.
pub mod value {
    pub use crate::protocol::value::{Text, Value, ValueError, from_value, to_value};
}
