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

pub(crate) struct NsInner {
    pub(crate) path: String,
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
    /// A namespace with the in-memory adapter.
    pub(crate) fn new(
        path: String,
        connect: BoxedConnect,
        middlewares: Vec<BoxedMiddleware>,
        remove_when_empty: bool,
        io: std::sync::Weak<IoInner>,
    ) -> Arc<NsInner> {
        Arc::new_cyclic(|weak| {
            let adapter: Arc<dyn crate::adapter::Adapter> =
                Arc::new(crate::adapter::LocalAdapter::new(weak.clone()));
            NsInner {
                path,
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
        if empty && self.remove_when_empty {
            if let Some(io) = self.io.upgrade() {
                io.remove_child_ns(&self.path);
            }
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
        if let Some(io) = self.0.io.upgrade() {
            if let Err(e) = middleware.check(&io.states) {
                panic!("middleware of namespace {:?}: {e}", self.0.path);
            }
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
