//! Extractors: the arguments of handlers.
//!
//! Three small traits say where an extractor can be used. Extractors that only need the socket
//! ([`SocketRef`], [`State`], [`Extension`], [`MaybeExtension`], [`HttpExtension`],
//! [`SocketIo`](crate::SocketIo)) implement [`FromSocket`] and work in every handler; the others
//! read what is specific to one kind of handler:
//!
//! | extractor | event handlers | connect handlers, middleware | disconnect handlers |
//! |---|---|---|---|
//! | [`Data<T>`], [`TryData<T>`] | the event's arguments | the auth object | |
//! | [`Args`] | all arguments, binary kept | | |
//! | [`AckSender`], [`Event`] | yes | | |
//! | [`DisconnectReason`] | | | yes |

mod ack;
mod data;
mod extension;
mod state;

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    fmt,
    sync::Arc,
};

pub use self::ack::AckSender;
pub(crate) use self::data::args_value;
pub use self::data::{Args, Data, Event, TryData};
pub use self::extension::{Extension, HttpExtension, MaybeExtension};
pub use self::state::State;
use crate::{DisconnectReason, SocketRef, value::Value};

/// Why an extractor could not produce its value. The event is not handled; the failure is
/// logged, and a client that asked for an acknowledgement gets `{"message": …}` back.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ExtractError(pub(crate) String);

impl ExtractError {
    /// An extraction failure with this message.
    pub fn new(message: impl Into<String>) -> Self {
        ExtractError(message.into())
    }

    pub(crate) fn log(&self, what: &str) {
        tracing::warn!(error = %self.0, "{what}: extraction failed");
    }
}

/// An extractor that needs only the socket; usable in every kind of handler.
pub trait FromSocket: Sized + Send + 'static {
    /// Extracts the value.
    fn from_socket(socket: &SocketRef) -> Result<Self, ExtractError>;
    /// Checks, when a handler is registered, that the value can be extracted (states).
    fn check(states: &StateCheck) -> Result<(), String> {
        let _ = states;
        Ok(())
    }
}

/// An extractor for event handlers.
pub trait FromMessage: Sized + Send + 'static {
    /// Extracts the value from the event.
    fn from_message(parts: &mut MessageParts) -> Result<Self, ExtractError>;
    /// See [`FromSocket::check`].
    fn check(states: &StateCheck) -> Result<(), String> {
        let _ = states;
        Ok(())
    }
}

/// An extractor for connect handlers and namespace middleware.
pub trait FromConnect: Sized + Send + 'static {
    /// Extracts the value from the connection attempt.
    fn from_connect(parts: &mut ConnectParts) -> Result<Self, ExtractError>;
    /// See [`FromSocket::check`].
    fn check(states: &StateCheck) -> Result<(), String> {
        let _ = states;
        Ok(())
    }
}

/// An extractor for disconnect handlers.
pub trait FromDisconnect: Sized + Send + 'static {
    /// Extracts the value from the disconnection.
    fn from_disconnect(parts: &mut DisconnectParts) -> Result<Self, ExtractError>;
    /// See [`FromSocket::check`].
    fn check(states: &StateCheck) -> Result<(), String> {
        let _ = states;
        Ok(())
    }
}

impl<T: FromSocket> FromMessage for T {
    fn from_message(parts: &mut MessageParts) -> Result<Self, ExtractError> {
        T::from_socket(&parts.socket)
    }
    fn check(states: &StateCheck) -> Result<(), String> {
        <T as FromSocket>::check(states)
    }
}

impl<T: FromSocket> FromConnect for T {
    fn from_connect(parts: &mut ConnectParts) -> Result<Self, ExtractError> {
        T::from_socket(&parts.socket)
    }
    fn check(states: &StateCheck) -> Result<(), String> {
        <T as FromSocket>::check(states)
    }
}

impl<T: FromSocket> FromDisconnect for T {
    fn from_disconnect(parts: &mut DisconnectParts) -> Result<Self, ExtractError> {
        T::from_socket(&parts.socket)
    }
    fn check(states: &StateCheck) -> Result<(), String> {
        <T as FromSocket>::check(states)
    }
}

impl FromSocket for SocketRef {
    fn from_socket(socket: &SocketRef) -> Result<Self, ExtractError> {
        Ok(socket.clone())
    }
}

impl FromDisconnect for DisconnectReason {
    fn from_disconnect(parts: &mut DisconnectParts) -> Result<Self, ExtractError> {
        Ok(parts.reason)
    }
}

/// What an event handler's extractors read: the event, its arguments and its ack id.
#[derive(Debug)]
pub struct MessageParts {
    pub(crate) socket: SocketRef,
    pub(crate) event: String,
    pub(crate) args: Option<Vec<Value>>,
    pub(crate) ack: Option<u64>,
}

impl MessageParts {
    /// Logs a failed extraction and answers the client's ack, if it asked for one, with an
    /// error object.
    pub(crate) fn reject(self, e: ExtractError) {
        tracing::warn!(event = %self.event, ns = %self.socket.ns(), error = %e, "event handler: extraction failed");
        if let Some(id) = self.ack {
            self.socket
                .send_ack(id, vec![crate::ack::error_object(&e.0)]);
        }
    }

    pub(crate) fn into_acker(self) -> crate::ack::Acker {
        crate::ack::Acker {
            socket: self.socket,
            id: self.ack,
        }
    }
}

/// What connect handlers' and middleware's extractors read: the socket and the auth object.
#[derive(Debug)]
pub struct ConnectParts {
    pub(crate) socket: SocketRef,
    pub(crate) auth: Option<Value>,
}

/// What disconnect handlers' extractors read.
#[derive(Debug)]
pub struct DisconnectParts {
    pub(crate) socket: SocketRef,
    pub(crate) reason: DisconnectReason,
}

/// Refuses a connection in a namespace middleware: the client gets a CONNECT_ERROR packet with
/// `{"message": …, "data": …}`. Any `Display` error converts into one (message only).
pub struct ConnectError {
    pub(crate) message: String,
    pub(crate) data: Option<serde_json::Value>,
}

impl ConnectError {
    /// A refusal with this message.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds the `data` the client receives beside the message.
    #[must_use]
    pub fn with_data(mut self, data: impl serde::Serialize) -> Self {
        self.data = serde_json::to_value(data).ok();
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Debug for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectError")
            .field("message", &self.message)
            .field("data", &self.data)
            .finish()
    }
}

impl<E: fmt::Display> From<E> for ConnectError {
    fn from(e: E) -> Self {
        ConnectError::new(e.to_string())
    }
}

/// The app states given at build time, by type.
#[derive(Clone, Default)]
pub struct StateCheck(pub(crate) Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl fmt::Debug for StateCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("States")
            .field("count", &self.0.len())
            .finish()
    }
}

impl StateCheck {
    pub(crate) fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.0
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
    }

    /// Whether a state of type `T` was given.
    pub fn contains<T: 'static>(&self) -> bool {
        self.0.contains_key(&TypeId::of::<T>())
    }
}
