//! Answering acknowledgements: [`IntoAck`] (what a handler's result or an [`AckSender`] sends)
//! and [`AckSender`].

use serde::Serialize;

use super::{Args, ExtractError, FromMessage, MessageParts};
use crate::{
    protocol::{
        Shape, error_object, error_value, shape, spread,
        value::{Value, ValueError, to_value},
    },
    socket::SocketRef,
};

/// A handler's result, or what [`AckSender::send`](crate::extract::AckSender::send) sends, as the
/// answer to a client's acknowledgement.
///
/// Implemented for every `Serialize` type: `()` answers nothing, a tuple answers several
/// arguments, `Result<T, E>` answers `Ok(T)` as `T` and `Err(e)` as `{"message": e}`, and any
/// other value answers one argument.
pub trait IntoAck: Send + 'static {
    /// The ack's arguments, or `None` for no answer.
    fn into_ack(self) -> Option<Result<Vec<Value>, ValueError>>;
}

impl<T: Serialize + Send + 'static> IntoAck for T {
    fn into_ack(self) -> Option<Result<Vec<Value>, ValueError>> {
        // A `Value` is already what the packet holds: moved, not serialized again (an echo or a
        // relay answers with what it received, without copying it).
        let mut slot = Some(self);
        let any = &mut slot as &mut dyn std::any::Any;
        if let Some(value) = any.downcast_mut::<Option<Value>>() {
            return value.take().map(|v| Ok(vec![v]));
        }
        if let Some(args) = any.downcast_mut::<Option<Args>>() {
            // Several arguments, as `Args` serializes (a tuple): an empty list answers an ack
            // with no arguments, which `()` cannot.
            return args.take().map(|a| Ok(a.0));
        }
        let this = slot?;
        match shape(&this) {
            Shape::Unit => None,
            Shape::ResultOk | Shape::ResultErr => {
                let err = matches!(shape(&this), Shape::ResultErr);
                Some(to_value(&this).map(|v| {
                    let inner = match v {
                        Value::Object(fields) => fields.into_iter().next().map(|(_, v)| v),
                        _ => None,
                    }
                    .unwrap_or(Value::Null);
                    if err {
                        vec![error_value(inner)]
                    } else {
                        spread(inner, false)
                    }
                }))
            }
            Shape::Tuple => Some(to_value(&this).map(|v| spread(v, true))),
            Shape::Other => Some(to_value(&this).map(|v| vec![v])),
        }
    }
}

/// Answers one ack, once.
#[derive(Debug)]
pub(crate) struct Acker {
    pub(crate) socket: SocketRef,
    pub(crate) id: Option<u64>,
}

impl Acker {
    pub(crate) fn answer<T: IntoAck>(self, value: T) {
        let Some(id) = self.id else { return };
        match value.into_ack() {
            None => {}
            Some(Ok(args)) => self.socket.send_ack(id, args),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "ack answer could not be serialized");
                self.socket
                    .send_ack(id, vec![error_object("the answer could not be serialized")]);
            }
        }
    }
}

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
        Acker {
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

impl MessageParts {
    /// Logs a failed extraction and answers the client's ack, if it asked for one, with an
    /// error object.
    pub(crate) fn reject(self, e: ExtractError) {
        tracing::warn!(event = %self.event, ns = %self.socket.ns(), error = %e, "event handler: extraction failed");
        if let Some(id) = self.ack {
            self.socket.send_ack(id, vec![error_object(&e.0)]);
        }
    }

    /// Hands the ack over to whoever answers it.
    pub(crate) fn into_acker(self) -> Acker {
        Acker {
            socket: self.socket,
            id: self.ack,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert!(().into_ack().is_none());
        assert_eq!(5.into_ack().unwrap().unwrap().len(), 1);
        let err = Err::<i32, &str>("bad").into_ack().unwrap().unwrap();
        assert_eq!(err.len(), 1);
        assert_eq!(
            err[0].clone().into_json(),
            serde_json::json!({ "message": "bad" })
        );
        let ok = Ok::<(i32, i32), &str>((1, 2)).into_ack().unwrap().unwrap();
        assert_eq!(ok.len(), 1);
    }
}
