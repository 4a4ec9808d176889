//! [`AckSender`].

use super::{ExtractError, FromMessage, MessageParts};
use crate::{SocketRef, ack::IntoAck};

/// Answers the client's acknowledgement by hand. Extracting it takes the ack over: the handler's
/// return value no longer answers. When the client asked for no ack, sending does nothing.
#[derive(Debug)]
pub struct AckSender {
    socket: SocketRef,
    id: Option<u64>,
}

impl AckSender {
    /// Whether the client asked for an acknowledgement.
    pub fn is_requested(&self) -> bool {
        self.id.is_some()
    }

    /// Sends the answer: any serializable value; a tuple sends several arguments; a `Result`
    /// answers `Ok` values as they are and `Err` as an error object `{"message": …}`.
    pub fn send<T: IntoAck>(self, data: T) {
        crate::ack::Acker {
            socket: self.socket,
            id: self.id,
        }
        .answer(data)
    }
}

impl FromMessage for AckSender {
    fn from_message(parts: &mut MessageParts) -> Result<Self, ExtractError> {
        Ok(AckSender {
            socket: parts.socket.clone(),
            id: parts.ack.take(),
        })
    }
}
