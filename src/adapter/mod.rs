//! Adapters: where rooms live and how broadcasts find their recipients.
//!
//! Each namespace holds one adapter as `Arc<dyn Adapter>`. The default, [`LocalAdapter`], keeps
//! the rooms index in memory. The trait is shaped for remote adapters (a broker between several
//! servers): every action that may cross nodes is asynchronous and takes plain, serializable
//! selections ([`BroadcastOptions`]) and already-encoded packets ([`EncodedPacket`]), so a packet
//! is serialized once whatever the number of recipients or nodes.

mod error;
mod handshake;
mod local;
mod recovery;
#[cfg(feature = "redis")]
pub mod redis;
mod sockets;

use std::{collections::HashSet, future::Future, pin::Pin, time::Duration};

use bytes::Bytes;
use futures_util::stream::BoxStream;

pub use self::error::{AckError, AdapterError, EmitError};
pub use self::handshake::Handshake;
pub use self::local::LocalAdapter;
pub use self::recovery::{ConnectionStateRecovery, PersistedSession, RestoredSession};
pub use self::sockets::LocalNamespaceRef;
pub(crate) use self::sockets::{LocalNamespace, LocalSocket, Queued, SocketTable};
use crate::protocol::{Frame, Frames, Str, value::Value};

/// A boxed future, as the trait's asynchronous methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A room's name. Each socket is in the room named by its id.
pub type Room = String;

/// One room or several: `"a"`, `String`, `["a", "b"]`, `vec![…]`, `&[…]`.
pub trait IntoRooms {
    /// The room names.
    fn into_rooms(self) -> Vec<Room>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.to_owned()]
    }
}
impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![self]
    }
}
impl IntoRooms for &String {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.clone()]
    }
}
impl<T: Into<String>> IntoRooms for Vec<T> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().map(Into::into).collect()
    }
}
impl<T: Into<String> + Clone> IntoRooms for &[T] {
    fn into_rooms(self) -> Vec<Room> {
        self.iter().cloned().map(Into::into).collect()
    }
}
impl<T: Into<String>, const N: usize> IntoRooms for [T; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().map(Into::into).collect()
    }
}

/// Which sockets an action targets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    /// Sockets in any of these rooms; all sockets when empty.
    pub rooms: HashSet<Room>,
    /// Minus the sockets in any of these rooms.
    pub except: HashSet<Room>,
    /// This node only, even with a remote adapter.
    pub local: bool,
    /// Drop the packet for sockets that cannot take it now instead of queueing it.
    pub volatile: bool,
    /// A compression hint. Accepted for API compatibility, with no effect: WebSocket
    /// permessage-deflate is not negotiated by this server, and polling responses are
    /// compressed by size whatever it says (see `EngineConfigBuilder::http_compression`).
    pub compress: bool,
}

/// A Socket.IO packet encoded once: its Engine.IO frames (the text packet, then its binary
/// attachments), shared by every recipient.
#[derive(Debug, Clone)]
pub struct EncodedPacket {
    frames: Vec<Frame>,
    /// The event and its arguments, for the sockets' outgoing listeners on this node.
    pub(crate) origin: Option<std::sync::Arc<(String, Vec<Value>)>>,
}

impl EncodedPacket {
    pub(crate) fn new(frames: Vec<Frame>) -> Self {
        EncodedPacket {
            frames,
            origin: None,
        }
    }

    /// The text packet (Engine.IO message payload, without the `4` prefix).
    pub fn text(&self) -> &str {
        match self.frames.first() {
            Some(Frame::Text(t)) => t.as_str().get(1..).unwrap_or(""),
            _ => "",
        }
    }

    /// The binary attachments.
    pub fn attachments(&self) -> impl Iterator<Item = &Bytes> {
        self.frames.iter().skip(1).filter_map(|f| match f {
            Frame::Binary(b) => Some(b),
            Frame::Text(_) => None,
        })
    }

    /// Rebuilds a packet received from another node: its text packet (as [`text`](Self::text)
    /// gives it) and its attachments.
    pub fn from_parts(text: Str, attachments: Vec<Bytes>) -> Self {
        EncodedPacket::new(Frames::new(Frame::text(text), attachments).collect())
    }

    /// A packet encoded with the server's parser, with the event and arguments it carries (for
    /// the outgoing listeners, and for remote adapters that ship the event decoded).
    pub(crate) fn event_packet(frames: Vec<Frame>, event: String, args: Vec<Value>) -> Self {
        EncodedPacket {
            frames,
            origin: Some(std::sync::Arc::new((event, args))),
        }
    }

    /// The event and its arguments, when the packet is an event emitted by this server's
    /// operators (what a remote adapter sends to nodes that want the packet decoded).
    pub fn event(&self) -> Option<(&str, &[Value])> {
        self.origin.as_ref().map(|o| (o.0.as_str(), o.1.as_slice()))
    }

    pub(crate) fn frames(&self) -> &[Frame] {
        &self.frames
    }
}

/// A socket as an adapter describes it: enough to act on it from anywhere.
#[derive(Debug, Clone)]
pub struct SocketInfo {
    /// The socket id.
    pub id: String,
    /// The namespace.
    pub ns: String,
    /// Its rooms, its own room included.
    pub rooms: Vec<Room>,
    /// Its handshake.
    pub handshake: Handshake,
    /// Its serializable data (Node's `socket.data`; `{}` unless set with
    /// `Socket::set_data`).
    pub data: Value,
}

/// An acknowledgement from one socket of a broadcast.
pub type AckResponse = (String, Result<Vec<Value>, AckError>);

/// The rooms index and broadcast engine of one namespace. See the [module docs](self).
pub trait Adapter: Send + Sync + 'static {
    /// Adds a local socket to rooms.
    fn add_all(&self, sid: &str, rooms: &[Room]);
    /// Removes a local socket from a room.
    fn del(&self, sid: &str, room: &str);
    /// Removes a local socket from all its rooms.
    fn del_all(&self, sid: &str);
    /// The rooms of a local socket.
    fn socket_rooms(&self, sid: &str) -> Vec<Room>;
    /// How many rooms this node's sockets of the namespace are in, each socket's own room
    /// included (as the reference's `adapter.rooms.size`), when the adapter can tell without
    /// allocating: [`LocalAdapter`] and the Redis adapter do. `None` by default.
    fn room_count(&self) -> Option<usize> {
        None
    }
    /// All rooms that have at least one socket.
    fn rooms(&self, opts: BroadcastOptions) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>>;
    /// Sends a packet to the selected sockets.
    fn broadcast(
        &self,
        packet: EncodedPacket,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;
    /// Sends a packet carrying ack id `ack_id` to the selected sockets and streams each one's
    /// answer (or its failure when `timeout` strikes).
    fn broadcast_with_ack(
        &self,
        packet: EncodedPacket,
        ack_id: u64,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<BoxStream<'static, AckResponse>, AdapterError>>;
    /// Describes the selected sockets.
    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<SocketInfo>, AdapterError>>;
    /// Makes the selected sockets join rooms.
    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;
    /// Makes the selected sockets leave rooms.
    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;
    /// Disconnects the selected sockets; with `close`, their whole connection.
    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;
    /// Sends an event to the other servers of the cluster (none for a single node).
    fn server_side_emit(
        &self,
        event: String,
        args: Vec<Value>,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;
    /// Sends an event to the other servers of the cluster and gathers their listeners' answers
    /// (each an argument list), those that arrive within `timeout`.
    fn server_side_emit_with_ack(
        &self,
        event: String,
        args: Vec<Value>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<Vec<Value>>, AdapterError>>;
    /// How many servers share this namespace.
    fn server_count(&self) -> BoxFuture<'_, Result<u16, AdapterError>>;
    /// Stores a disconnected socket's state for connection state recovery (called only when it
    /// is on, for a socket that lost its connection; never for one that left for good). Does
    /// nothing by default.
    fn persist_session(&self, session: PersistedSession) {
        let _ = session;
    }
    /// Takes back, for connection state recovery, the state of the socket whose private id is
    /// `pid`, if it has not expired; `offset` is the last offset the client received, if it
    /// sent one. A session is restored once: the adapter forgets it. `None` by default.
    fn restore_session(
        &self,
        pid: String,
        offset: Option<String>,
    ) -> BoxFuture<'_, Result<Option<RestoredSession>, AdapterError>> {
        let _ = (pid, offset);
        Box::pin(std::future::ready(Ok(None)))
    }
    /// Ends a recovery: calls `resume` once with the stored events the socket missed since
    /// the session's cursor, in order, under whatever orders the adapter's deliveries, so
    /// that `resume` (which queues them and makes the socket a recipient) races with no
    /// broadcast: each event reaches the socket once, replayed or delivered. By default,
    /// `resume` gets no event.
    fn resume_session(&self, session: &RestoredSession, resume: &mut dyn FnMut(&[EncodedPacket])) {
        let _ = session;
        resume(&[]);
    }
}
