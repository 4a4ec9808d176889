//! Namespaces: static and dynamic, with their middleware and sockets.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, RwLock},
};

use super::socket::{EventMiddleware, SocketRef, event_middleware};
use crate::{
    handler::{BoxedConnect, BoxedMiddleware, ConnectMiddleware, MiddlewareBox},
    io::IoInner,
};

/// A listener for events from other servers of the cluster: takes the arguments, returns the
/// answer (used when the sender asked for one).
pub(crate) type ServerListener =
    Arc<dyn Fn(Vec<crate::value::Value>) -> Vec<crate::value::Value> + Send + Sync>;

pub(crate) struct NsInner {
    pub(crate) path: String,
    pub(crate) server_listeners: RwLock<HashMap<String, ServerListener>>,
    pub(crate) connect: BoxedConnect,
    pub(crate) middlewares: RwLock<Vec<BoxedMiddleware>>,
    pub(crate) sockets: RwLock<HashMap<Arc<str>, SocketRef>>,
    pub(crate) event_middlewares: RwLock<Vec<EventMiddleware>>,
    pub(crate) adapter: Arc<dyn crate::adapter::Adapter>,
    pub(crate) ack_seq: std::sync::atomic::AtomicU64,
    /// Set for a child of a dynamic namespace that is removed when its last socket leaves.
    pub(crate) remove_when_empty: bool,
    pub(crate) io: std::sync::Weak<IoInner>,
}

impl NsInner {
    /// A namespace with the adapter that `adapter` makes for it (the in-memory one when
    /// `None`).
    pub(crate) fn new(
        path: String,
        connect: BoxedConnect,
        middlewares: Vec<BoxedMiddleware>,
        remove_when_empty: bool,
        io: std::sync::Weak<IoInner>,
        adapter: Option<&crate::adapter::AdapterFactory>,
    ) -> Arc<NsInner> {
        Arc::new_cyclic(|weak| {
            let handle = WeakNamespace {
                path: path.as_str().into(),
                inner: weak.clone(),
            };
            let adapter: Arc<dyn crate::adapter::Adapter> = match adapter {
                Some(make) => make(handle),
                None => Arc::new(crate::adapter::LocalAdapter::new(handle)),
            };
            NsInner {
                path,
                server_listeners: RwLock::default(),
                connect,
                middlewares: RwLock::new(middlewares),
                sockets: RwLock::default(),
                event_middlewares: RwLock::default(),
                adapter,
                ack_seq: std::sync::atomic::AtomicU64::new(0),
                remove_when_empty,
                io,
            }
        })
    }

    pub(crate) fn adapter(&self) -> &dyn crate::adapter::Adapter {
        &*self.adapter
    }

    /// A new ack id, unique in the namespace: a broadcast with acks shares one id.
    pub(crate) fn next_ack_id(&self) -> u64 {
        self.ack_seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn insert(&self, socket: SocketRef) {
        let id: Arc<str> = socket.id().into();
        self.sockets
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, socket);
    }

    pub(crate) fn remove(&self, id: &str) {
        let empty = {
            let mut s = self.sockets.write().unwrap_or_else(|p| p.into_inner());
            s.remove(id);
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
        self.event_middlewares
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn middlewares(&self) -> Vec<BoxedMiddleware> {
        self.middlewares
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A handle on a namespace: add middleware, list its sockets, emit to all of them.
#[derive(Clone)]
pub struct Namespace(pub(crate) Arc<NsInner>);

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("path", &self.0.path)
            .field("sockets", &self.sockets().len())
            .finish()
    }
}

impl Namespace {
    /// The namespace's path.
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// Adds a middleware, run in the order added before the connect handler. A middleware that
    /// returns `Err` refuses the connection with a CONNECT_ERROR `{message, data}`.
    ///
    /// # Panics
    /// When the middleware extracts a state that was not given at build time.
    pub fn with<H, M>(self, middleware: H) -> Self
    where
        H: ConnectMiddleware<M>,
        M: 'static,
    {
        if let Some(io) = self.0.io.upgrade()
            && let Err(e) = middleware.check(&io.states)
        {
            panic!("middleware of namespace {:?}: {e}", self.0.path);
        }
        self.0
            .middlewares
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::new(MiddlewareBox(middleware, Default::default())));
        self
    }

    /// Adds a per-event middleware for every socket of the namespace (auth, rate limits,
    /// logging): it runs before each event's handler with the event's name and arguments, and an
    /// `Err` refuses the event (an acknowledgement, if asked for, is answered `{"message": err}`).
    pub fn on_event_middleware<F, E>(self, middleware: F) -> Self
    where
        F: Fn(&SocketRef, &str, &[crate::value::Value]) -> Result<(), E> + Send + Sync + 'static,
        E: std::fmt::Display,
    {
        self.0
            .event_middlewares
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(event_middleware(middleware));
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
        F: Fn(Vec<crate::value::Value>) -> Vec<crate::value::Value> + Send + Sync + 'static,
    {
        self.0
            .server_listeners
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(event.into(), Arc::new(listener));
        self
    }

    /// Delivers an event from another server to this namespace's listener (for adapters): its
    /// answer, or `None` when nothing listens for `event`.
    pub fn receive_server_side(
        &self,
        event: &str,
        args: Vec<crate::value::Value>,
    ) -> Option<Vec<crate::value::Value>> {
        let listener = self
            .0
            .server_listeners
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(event)
            .cloned()?;
        Some(listener(args))
    }

    /// A handle that does not keep the namespace alive.
    pub fn downgrade(&self) -> WeakNamespace {
        WeakNamespace {
            path: self.0.path.as_str().into(),
            inner: Arc::downgrade(&self.0),
        }
    }

    /// The sockets connected to this namespace.
    pub fn sockets(&self) -> Vec<SocketRef> {
        self.0
            .sockets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    fn op(&self) -> crate::BroadcastOperator {
        crate::BroadcastOperator::new(Some(self.0.clone()))
    }
}

crate::operators::operator_entry_points!(Namespace);
crate::operators::operator_actions!(Namespace);

/// A handle on a namespace that does not keep it alive: what an adapter holds (see
/// [`SocketIoBuilder::adapter`](crate::SocketIoBuilder::adapter)).
#[derive(Clone)]
pub struct WeakNamespace {
    path: Arc<str>,
    pub(crate) inner: std::sync::Weak<NsInner>,
}

impl WeakNamespace {
    /// A handle on no namespace, for tests of adapters.
    #[cfg(test)]
    pub(crate) fn detached(path: &str) -> WeakNamespace {
        WeakNamespace {
            path: path.into(),
            inner: std::sync::Weak::new(),
        }
    }

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

impl fmt::Debug for WeakNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakNamespace")
            .field("path", &self.path)
            .finish()
    }
}
