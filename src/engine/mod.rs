//! The Engine.IO v4 server (and v3, behind [`EngineConfigBuilder::allow_eio3`]): the transport
//! under Socket.IO.
//!
//! The engine knows nothing of namespaces or events. It opens sessions over HTTP long-polling or
//! WebSocket, upgrades them, keeps them alive with heartbeats and hands every message to an
//! [`EngineHandler`]. It can be used on its own, served by the tower surface (`service`):
//!
//! ```no_run
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use tower_socketio::engine::{EngineConfig, EngineHandler, Session, Str};
//! use tower_socketio::service::EngineService;
//!
//! struct Echo;
//! impl EngineHandler for Echo {
//!     fn on_message(&self, session: &Session, msg: Str) {
//!         let _ = session.send_text(msg);
//!     }
//!     fn on_binary(&self, session: &Session, data: Bytes) {
//!         let _ = session.send_binary(data);
//!     }
//! }
//!
//! let config = EngineConfig::builder().path("/engine.io/").build();
//! // A stand-alone service: Engine.IO at its path, 404 elsewhere.
//! let service = EngineService::standalone(Arc::new(Echo), config);
//! ```

mod body;
mod compress;
mod config;
mod core;
mod error;
mod heartbeat;
mod log;
mod polling;
mod session;
mod telemetry;
mod websocket;

use std::fmt;

use bytes::Bytes;

pub use self::body::Body;
pub use self::config::{
    Cookie, DEFAULT_COMPRESSION_THRESHOLD, DEFAULT_MAX_QUEUE_BYTES, EngineConfig,
    EngineConfigBuilder, OverflowPolicy, SameSite, Transports,
};
pub use self::core::Engine;
pub(crate) use self::log::{VIOLATION_TARGET, session_warn};
pub use self::session::{SendError, Session, WeakSession};
pub(crate) use self::telemetry::{handler_panicked, panic_message};
pub use crate::protocol::{Frame, Str, engine_io::EioVersion};

/// Receives what happens on the engine's sessions. One instance serves every session.
///
/// Callbacks run on the task that reads the session's transport, in the order the client sent
/// the packets: keep them short and spawn long work.
pub trait EngineHandler: Send + Sync + 'static {
    /// A session was opened (the handshake answer is on its way to the client).
    fn on_connect(&self, session: &Session) {
        let _ = session;
    }
    /// A text message arrived.
    fn on_message(&self, session: &Session, msg: Str);
    /// A binary message arrived.
    fn on_binary(&self, session: &Session, data: Bytes);
    /// The session ended; it is already removed from the engine and sends nothing more.
    fn on_disconnect(&self, session: &Session, reason: DisconnectReason) {
        let _ = (session, reason);
    }
}

/// The handler of one session, attached by a layer above when the session opens
/// ([`Session::attach`]): that layer's per-session state, called directly with each message.
/// The Socket.IO layer attaches its client this way.
pub trait SessionHandler: Send + Sync + 'static {
    /// A text message arrived.
    fn on_message(&self, msg: Str);
    /// A binary message arrived.
    fn on_binary(&self, data: Bytes);
    /// The session ended; it is already removed from the engine and sends nothing more.
    fn on_disconnect(&self, reason: DisconnectReason);
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client closed the session or its transport.
    TransportClose,
    /// The transport failed or the client broke the transport's rules (two concurrent polls,
    /// an oversize payload, a wrong upgrade).
    TransportError,
    /// The client did not answer a ping within `ping_timeout`.
    PingTimeout,
    /// The client sent a malformed packet.
    PacketParsing,
    /// The session's outgoing queue was full: the client does not read fast enough.
    QueueFull,
    /// The server closed the session ([`Session::close`]).
    ClosedByServer,
    /// The engine is shutting down ([`Engine::close`]).
    ServerShutdown,
}

impl DisconnectReason {
    /// The reason's name, as the Socket.IO family spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::PacketParsing => "parse error",
            Self::QueueFull => "transport full",
            Self::ClosedByServer => "forced close",
            Self::ServerShutdown => "server shutting down",
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The transport a session is using.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::WebSocket => "websocket",
        }
    }
}
