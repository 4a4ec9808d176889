//! What an adapter reaches of its namespace on this node: the local sockets, to deliver frames
//! to, wait for acks from, describe and disconnect. The Socket.IO core, one floor up,
//! implements these traits; the adapter never names the core's types.

use std::{
    fmt,
    sync::{Arc, Weak},
    time::Duration,
};

use super::{AckError, BoxFuture, ConnectionStateRecovery, EncodedPacket, Handshake};
use crate::protocol::{Frame, Packet, value::Value};

/// What happened to a packet queued for one socket, and what is left to do once the adapter's
/// locks are released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queued {
    /// Queued; nothing left to do.
    Done,
    /// Queued; the socket's outgoing listeners are still to be told.
    Listeners,
    /// Not queued: the socket is gone, or a volatile packet found no room.
    Dropped,
    /// Not queued: the queue is full, and the session is still to be closed.
    Full,
}

/// One socket of this node.
pub(crate) trait LocalSocket: Send + Sync {
    /// The socket id.
    fn id(&self) -> &str;
    /// What the client sent when it connected.
    fn handshake(&self) -> &Handshake;
    /// Its serializable data (Node's `socket.data`).
    fn data(&self) -> Value;
    /// Queues a packet's frames without running user code or closing anything: the adapter
    /// calls it under its locks.
    fn queue(&self, packet: &EncodedPacket, volatile: bool) -> Queued;
    /// Finishes [`queue`](Self::queue), after the locks: tells the outgoing listeners, or
    /// closes the session whose queue was full.
    fn after_queue(&self, packet: &EncodedPacket, queued: Queued);
    /// Sends a packet carrying ack id `ack_id` and waits for the answer, within `timeout`.
    fn emit_with_ack(
        &self,
        packet: &EncodedPacket,
        ack_id: u64,
        volatile: bool,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, AckError>>;
    /// Disconnects the socket from its namespace; with `close`, its whole connection.
    fn disconnect(&self, close: bool);
    /// An owned handle on the socket, for work after the locks are released.
    fn boxed(&self) -> Box<dyn LocalSocket>;
    /// Tells the socket it joined (`joined`) or left `rooms` through the adapter
    /// (`add_sockets`/`del_sockets`), after the locks: its observers learn of it.
    fn rooms_changed(&self, rooms: &[String], joined: bool);
}

/// A namespace's local sockets by id, as seen under the namespace's lock.
pub(crate) trait SocketTable {
    /// The socket with this id.
    fn get(&self, id: &str) -> Option<&dyn LocalSocket>;
    /// Calls `f` on every socket.
    fn for_each(&self, f: &mut dyn FnMut(&dyn LocalSocket));
}

/// A namespace as its adapter reaches it on this node.
pub(crate) trait LocalNamespace: Send + Sync {
    /// Calls `f` with the namespace's sockets, under the namespace's lock: `f` must not call
    /// user code.
    fn with_sockets(&self, f: &mut dyn FnMut(&dyn SocketTable));
    /// Encodes a packet with the server's parser: a packet from another node is encoded once
    /// for this node's sockets.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    fn encode(&self, packet: &Packet) -> Vec<Frame>;
    /// An event's frames with a string appended as its last argument, if the parser can do it
    /// in place (see `Parser::append_str_arg`).
    fn append_str_arg(&self, frames: &[Frame], arg: &str) -> Option<Vec<Frame>>;
    /// A new ack id, unique in the namespace (a broadcast with acks from another node).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    fn next_ack_id(&self) -> u64;
    /// Delivers an event from another server to the namespace's server-side listener: its
    /// answer, or `None` when nothing listens for `event`.
    fn server_side(&self, event: &str, args: Vec<Value>) -> Option<Vec<Value>>;
    /// Counts the recipients a broadcast's packet was queued for (the namespace's metrics), once
    /// per broadcast.
    fn count_sent(&self, recipients: usize) {
        let _ = recipients;
    }
}

/// The namespace a [`LocalAdapter`](super::LocalAdapter) serves: made from the
/// `WeakNamespace` an adapter factory receives (`LocalAdapter::new(ns)`). It does not keep the
/// namespace alive.
#[derive(Clone)]
pub struct LocalNamespaceRef {
    pub(crate) path: Arc<str>,
    pub(crate) inner: Weak<dyn LocalNamespace>,
    /// The server's connection state recovery settings, when it is on.
    pub(crate) recovery: Option<ConnectionStateRecovery>,
}

impl LocalNamespaceRef {
    pub(crate) fn new(
        path: Arc<str>,
        inner: Weak<dyn LocalNamespace>,
        recovery: Option<ConnectionStateRecovery>,
    ) -> Self {
        LocalNamespaceRef {
            path,
            inner,
            recovery,
        }
    }

    /// The namespace's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The namespace, while it exists.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn upgrade(&self) -> Option<Arc<dyn LocalNamespace>> {
        self.inner.upgrade()
    }
}

impl fmt::Debug for LocalNamespaceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalNamespaceRef")
            .field("path", &self.path)
            .finish()
    }
}
