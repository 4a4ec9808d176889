//! Namespaces: static and dynamic, with their middleware and sockets.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, RwLock},
};

use super::{
    erased::{BoxedConnect, BoxedMiddleware},
    registry::IoInner,
    socket::{EventMiddleware, SocketRef, event_middleware},
    telemetry::NsMetrics,
};
use crate::{
    adapter::{
        Adapter, ConnectionStateRecovery, LocalAdapter, LocalNamespace, LocalNamespaceRef,
        LocalSocket, SocketTable,
    },
    protocol::{
        Frame, Packet, Parser, Str,
        value::{Text, Value},
    },
    sync::{read, write},
};

/// A listener for events from other servers of the cluster: takes the arguments, returns the
/// answer (used when the sender asked for one).
pub(crate) type ServerListener = Arc<dyn Fn(Vec<Value>) -> Vec<Value> + Send + Sync>;

pub(crate) struct NsInner {
    pub(crate) path: String,
    /// The path as packets carry it: shared, so a packet costs no copy of it.
    pub(crate) name: Text,
    pub(crate) server_listeners: RwLock<HashMap<String, ServerListener>>,
    pub(crate) connect: BoxedConnect,
    pub(crate) middlewares: RwLock<Vec<BoxedMiddleware>>,
    pub(crate) sockets: RwLock<HashMap<Arc<str>, SocketRef>>,
    pub(crate) event_middlewares: RwLock<Vec<EventMiddleware>>,
    /// Whether `event_middlewares` has entries: read on every event instead of its lock.
    pub(crate) has_event_middlewares: std::sync::atomic::AtomicBool,
    pub(crate) adapter: Arc<dyn Adapter>,
    /// The server's parser: a broadcast is encoded once with it.
    pub(crate) parser: Arc<dyn Parser>,
    pub(crate) ack_seq: std::sync::atomic::AtomicU64,
    /// Set for a child of a dynamic namespace that is removed when its last socket leaves.
    pub(crate) remove_when_empty: bool,
    /// The server's connection state recovery settings, when it is on.
    pub(crate) recovery: Option<ConnectionStateRecovery>,
    pub(crate) io: std::sync::Weak<IoInner>,
    pub(crate) metrics: NsMetrics,
}

impl NsInner {
    /// A namespace of `io`, with the adapter its factory makes (the in-memory one without).
    pub(crate) fn new(
        path: String,
        connect: BoxedConnect,
        middlewares: Vec<BoxedMiddleware>,
        remove_when_empty: bool,
        io: &Arc<IoInner>,
    ) -> Arc<NsInner> {
        Self::build(path, connect, middlewares, remove_when_empty, io, false)
    }

    /// A child of a dynamic namespace (its metrics are labelled `dynamic`).
    pub(crate) fn new_child(
        path: String,
        connect: BoxedConnect,
        middlewares: Vec<BoxedMiddleware>,
        remove_when_empty: bool,
        io: &Arc<IoInner>,
    ) -> Arc<NsInner> {
        Self::build(path, connect, middlewares, remove_when_empty, io, true)
    }

    fn build(
        path: String,
        connect: BoxedConnect,
        middlewares: Vec<BoxedMiddleware>,
        remove_when_empty: bool,
        io: &Arc<IoInner>,
        dynamic: bool,
    ) -> Arc<NsInner> {
        let metrics = NsMetrics::new(&path, dynamic);
        Arc::new_cyclic(|weak| {
            let handle = WeakNamespace {
                path: path.as_str().into(),
                inner: weak.clone(),
                recovery: io.config.recovery,
            };
            let adapter: Arc<dyn Adapter> = match &io.adapter {
                Some(make) => make(handle),
                None => Arc::new(LocalAdapter::new(handle)),
            };
            NsInner {
                name: if path == "/" {
                    Text::from_static("/")
                } else {
                    Text::from(Str::from(path.clone()))
                },
                path,
                server_listeners: RwLock::default(),
                connect,
                middlewares: RwLock::new(middlewares),
                sockets: RwLock::default(),
                event_middlewares: RwLock::default(),
                has_event_middlewares: std::sync::atomic::AtomicBool::new(false),
                adapter,
                ack_seq: std::sync::atomic::AtomicU64::new(0),
                remove_when_empty,
                parser: io.parser.clone(),
                recovery: io.config.recovery,
                io: Arc::downgrade(io),
                metrics,
            }
        })
    }

    pub(crate) fn adapter(&self) -> &dyn Adapter {
        &*self.adapter
    }

    /// A new ack id, unique in the namespace: a broadcast with acks shares one id.
    pub(crate) fn next_ack_id(&self) -> u64 {
        self.ack_seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn insert(&self, socket: SocketRef) {
        let id: Arc<str> = socket.id().into();
        if write(&self.sockets).insert(id, socket).is_none() {
            self.metrics.sockets.increment(1.0);
        }
    }

    pub(crate) fn remove(&self, id: &str) {
        let empty = {
            let mut s = write(&self.sockets);
            if s.remove(id).is_some() {
                self.metrics.sockets.decrement(1.0);
            }
            s.is_empty()
        };
        if empty
            && self.remove_when_empty
            && let Some(io) = self.io.upgrade()
        {
            io.remove_child_ns(&self.path);
        }
    }

    pub(crate) fn event_middlewares(&self) -> Vec<EventMiddleware> {
        read(&self.event_middlewares).clone()
    }

    pub(crate) fn middlewares(&self) -> Vec<BoxedMiddleware> {
        read(&self.middlewares).clone()
    }

    /// Adds a connection middleware (registered through `Namespace::with`).
    pub(crate) fn add_middleware(&self, middleware: BoxedMiddleware) {
        write(&self.middlewares).push(middleware);
    }
}

impl LocalNamespace for NsInner {
    fn with_sockets(&self, f: &mut dyn FnMut(&dyn SocketTable)) {
        f(&*read(&self.sockets));
    }

    fn encode(&self, packet: &Packet) -> Vec<Frame> {
        self.parser.encode(packet).collect()
    }

    fn append_str_arg(&self, frames: &[Frame], arg: &str) -> Option<Vec<Frame>> {
        self.parser.append_str_arg(frames, arg)
    }

    fn next_ack_id(&self) -> u64 {
        NsInner::next_ack_id(self)
    }

    fn count_sent(&self, recipients: usize) {
        self.metrics.sent.increment(recipients as u64);
    }

    fn server_side(&self, event: &str, args: Vec<Value>) -> Option<Vec<Value>> {
        let listener = read(&self.server_listeners).get(event).cloned()?;
        Some(listener(args))
    }
}

impl SocketTable for HashMap<Arc<str>, SocketRef> {
    fn get(&self, id: &str) -> Option<&dyn LocalSocket> {
        HashMap::get(self, id).map(|s| s as &dyn LocalSocket)
    }

    fn for_each(&self, f: &mut dyn FnMut(&dyn LocalSocket)) {
        for s in self.values() {
            f(s);
        }
    }
}

/// A handle on a namespace: add middleware, list its sockets, emit to all of them.
#[derive(Clone)]
pub struct Namespace(pub(crate) Arc<NsInner>);

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("path", &self.0.path)
            .field("sockets", &self.socket_count())
            .finish()
    }
}

impl Namespace {
    /// The namespace's path.
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// Adds a per-event middleware for every socket of the namespace (auth, rate limits,
    /// logging): it runs before each event's handler with the event's name and arguments, and an
    /// `Err` refuses the event (an acknowledgement, if asked for, is answered `{"message": err}`).
    pub fn on_event_middleware<F, E>(self, middleware: F) -> Self
    where
        F: Fn(&SocketRef, &str, &[Value]) -> Result<(), E> + Send + Sync + 'static,
        E: std::fmt::Display,
    {
        write(&self.0.event_middlewares).push(event_middleware(middleware));
        self.0
            .has_event_middlewares
            .store(true, std::sync::atomic::Ordering::Release);
        self
    }

    /// Listens for `event` sent by the other servers of the cluster
    /// ([`server_side_emit`](crate::BroadcastOperator::server_side_emit)); never for events from
    /// clients, nor from this server itself. The listener's return value answers a sender that
    /// asked for acknowledgements
    /// ([`server_side_emit_with_ack`](crate::BroadcastOperator::server_side_emit_with_ack)); it is
    /// ignored otherwise. A later listener for the same event replaces the earlier one.
    ///
    /// ```no_run
    /// # fn f(io: tower_socketio::SocketIo) {
    /// use tower_socketio::value::Value;
    /// if let Some(ns) = io.of("/") {
    ///     ns.on_server_side("whoami", |_args: Vec<Value>| vec![Value::from("node-a")]);
    /// }
    /// # }
    /// ```
    pub fn on_server_side<F>(&self, event: impl Into<String>, listener: F) -> &Self
    where
        F: Fn(Vec<Value>) -> Vec<Value> + Send + Sync + 'static,
    {
        write(&self.0.server_listeners).insert(event.into(), Arc::new(listener));
        self
    }

    /// Delivers an event from another server to this namespace's listener (for adapters): its
    /// answer, or `None` when nothing listens for `event`.
    pub fn receive_server_side(&self, event: &str, args: Vec<Value>) -> Option<Vec<Value>> {
        LocalNamespace::server_side(&*self.0, event, args)
    }

    /// A handle that does not keep the namespace alive.
    pub fn downgrade(&self) -> WeakNamespace {
        WeakNamespace {
            path: self.0.path.as_str().into(),
            inner: Arc::downgrade(&self.0),
            recovery: self.0.recovery,
        }
    }

    /// The sockets connected to this namespace.
    pub fn sockets(&self) -> Vec<SocketRef> {
        read(&self.0.sockets).values().cloned().collect()
    }

    /// How many sockets are connected to this namespace on this node: a lock read, no
    /// allocation.
    pub fn socket_count(&self) -> usize {
        read(&self.0.sockets).len()
    }

    /// How many rooms this node's sockets of the namespace are in, each socket's own room
    /// included (so at least [`socket_count`](Self::socket_count) unless sockets left their
    /// own room), as [`Adapter::room_count`] tells: `None` for an adapter that does not count.
    pub fn room_count(&self) -> Option<usize> {
        self.0.adapter.room_count()
    }
}

/// A handle on a namespace that does not keep it alive: what an adapter holds (see
/// `SocketIoBuilder::adapter`).
#[derive(Clone)]
pub struct WeakNamespace {
    path: Arc<str>,
    pub(crate) inner: std::sync::Weak<NsInner>,
    recovery: Option<ConnectionStateRecovery>,
}

impl WeakNamespace {
    /// The namespace's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The namespace, while it exists. Inside an adapter factory the namespace is still being
    /// built: this is `None` until the factory has returned.
    pub fn upgrade(&self) -> Option<Namespace> {
        self.inner.upgrade().map(Namespace)
    }
}

/// What a `LocalAdapter` is made from: `LocalAdapter::new(ns)` in an adapter factory.
impl From<WeakNamespace> for LocalNamespaceRef {
    fn from(ns: WeakNamespace) -> Self {
        let inner: std::sync::Weak<dyn LocalNamespace> = ns.inner;
        LocalNamespaceRef::new(ns.path, inner, ns.recovery)
    }
}

impl fmt::Debug for WeakNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakNamespace")
            .field("path", &self.path)
            .finish()
    }
}
