//! Extractors: the arguments of handlers.
//!
//! Three small traits say where an extractor can be used. Extractors that only need the socket
//! ([`SocketRef`], [`State`], [`Extension`], [`MaybeExtension`], [`HttpExtension`],
//! `SocketIo`) implement [`FromSocket`] and work in every handler; the others
//! read what is specific to one kind of handler:
//!
//! | extractor | event handlers | connect handlers, middleware | disconnect handlers |
//! |---|---|---|---|
//! | [`Data<T>`], [`TryData<T>`] | the event's arguments | the auth object | |
//! | [`Args`] | all arguments, binary kept | | |
//! | [`AckSender`], [`Event`] | yes | | |
//! | [`DisconnectReason`] | | | yes |
//!
//! [`Recovered`] (whether connection state recovery gave the socket back) needs only the socket.

mod ack;
mod data;
mod extension;
mod state;

pub use self::ack::{AckSender, IntoAck};
pub use self::data::{Args, Data, Event, TryData};
pub use self::extension::{Extension, HttpExtension, MaybeExtension};
pub use self::state::State;
pub use crate::socket::{
    ConnectError, ConnectParts, DisconnectParts, ExtractError, MessageParts, StateCheck,
};
use crate::socket::{DisconnectReason, SocketRef};

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

/// Whether the socket was recovered by connection state recovery
/// ([`Socket::recovered`](crate::Socket::recovered)): usable in every handler, meant for connect handlers.
///
/// ```no_run
/// use tower_socketio::{SocketRef, extract::Recovered};
/// fn on_connect(socket: SocketRef, Recovered(recovered): Recovered) {
///     if !recovered {
///         socket.join("lobby");
///     }
/// }
/// # let _ = on_connect;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovered(pub bool);

impl FromSocket for Recovered {
    fn from_socket(socket: &SocketRef) -> Result<Self, ExtractError> {
        Ok(Recovered(socket.recovered()))
    }
}

impl FromDisconnect for DisconnectReason {
    fn from_disconnect(parts: &mut DisconnectParts) -> Result<Self, ExtractError> {
        Ok(parts.reason)
    }
}
