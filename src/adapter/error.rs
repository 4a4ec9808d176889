//! The errors of emits and of adapters: what crosses the adapter seam, so they live here, below
//! the Socket.IO core that raises most of them.

use crate::{engine::SendError, protocol::value::ValueError};

/// Why an emit failed.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// The event name is reserved by the protocol.
    #[error("the event name {0:?} is reserved")]
    Reserved(String),
    /// The data could not be serialized.
    #[error("the data could not be serialized: {0}")]
    Serialize(#[from] ValueError),
    /// The socket is disconnected, or its client does not read fast enough.
    #[error(transparent)]
    Send(#[from] SendError),
}

/// Why an emit with acknowledgement got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    /// No answer within the timeout.
    #[error("acknowledgement timed out")]
    Timeout,
    /// The socket disconnected before answering.
    #[error("the socket disconnected before acknowledging")]
    Disconnected,
    /// The answer did not deserialize into the expected type.
    #[error("invalid acknowledgement data: {0}")]
    Decode(#[from] ValueError),
    /// The event could not be sent.
    #[error(transparent)]
    Send(#[from] EmitError),
}

/// An adapter failed (a broker unreachable, say).
#[derive(Debug, thiserror::Error)]
#[error("adapter error: {0}")]
pub struct AdapterError(pub String);
