//! [`DisconnectReason`]: why a socket left its namespace.
//!
//! The engine has its own reasons (why a session ended); this one is the Socket.IO layer's,
//! with the namespace-level reasons the engine cannot know (a client or server namespace
//! disconnect) and without the engine's internal ones (a full queue is a transport error here,
//! as the reference server reports it).

use std::fmt;

use crate::engine;

/// Why a socket disconnected, as the Socket.IO family names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client closed the connection (or it was lost cleanly).
    TransportClose,
    /// The connection failed, or the client broke the transport's rules.
    TransportError,
    /// The client stopped answering pings.
    PingTimeout,
    /// The client sent a malformed packet.
    ParseError,
    /// The server closed the whole connection.
    ForcedClose,
    /// The server disconnected the socket from its namespace ([`SocketRef::disconnect`](super::SocketRef::disconnect)).
    ServerNamespaceDisconnect,
    /// The client disconnected from the namespace.
    ClientNamespaceDisconnect,
    /// The server is shutting down (`SocketIo::close`).
    ServerShuttingDown,
}

impl DisconnectReason {
    /// The reason's name, as the reference server spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::ForcedClose => "forced close",
            Self::ServerNamespaceDisconnect => "server namespace disconnect",
            Self::ClientNamespaceDisconnect => "client namespace disconnect",
            Self::ServerShuttingDown => "server shutting down",
        }
    }
}

impl DisconnectReason {
    /// Whether a socket that left for this reason may be recovered: its connection was lost
    /// or closed by the server, rather than the socket leaving its namespace for good (or its
    /// client breaking the protocol).
    pub fn recoverable(self) -> bool {
        matches!(
            self,
            Self::TransportClose
                | Self::TransportError
                | Self::PingTimeout
                | Self::ForcedClose
                | Self::ServerShuttingDown
        )
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<engine::DisconnectReason> for DisconnectReason {
    fn from(r: engine::DisconnectReason) -> Self {
        use engine::DisconnectReason as E;
        match r {
            E::TransportClose => Self::TransportClose,
            E::PingTimeout => Self::PingTimeout,
            E::PacketParsing => Self::ParseError,
            E::ClosedByServer => Self::ForcedClose,
            E::ServerShutdown => Self::ServerShuttingDown,
            _ => Self::TransportError,
        }
    }
}
