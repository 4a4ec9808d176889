//! Namespaces: static and dynamic, with their middleware and sockets.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, RwLock},
};

use serde::Serialize;

use super::{
    packet::{Packet, PacketData},
    socket::{EmitError, EventMiddleware, RESERVED_EVENTS, SocketRef, event_middleware},
};
use crate::{
    ack::to_args,
    handler::{BoxedConnect, BoxedMiddleware, ConnectMiddleware, MiddlewareBox},
    io::IoInner,
};

pub(crate) struct NsInner {
    pub(crate) path: String,
    pub(crate) connect: BoxedConnect,
    pub(crate) middlewares: RwLock<Vec<BoxedMiddleware>>,
    pub(crate) sockets: RwLock<HashMap<Arc<str>, SocketRef>>,
    pub(crate) event_middlewares: RwLock<Vec<EventMiddleware>>,
    /// Set for a child of a dynamic namespace that is removed when its last socket leaves.
    pub(crate) remove_when_empty: bool,
    pub(crate) io: std::sync::Weak<IoInner>,
}

impl NsInner {
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

    /// Emits `event` to every socket of the namespace. The packet is encoded once and shared.
    /// Sockets whose queue is full are disconnected (see
    /// [`EngineConfigBuilder::queue_size`](crate::engine::EngineConfigBuilder::queue_size)).
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::Reserved(event.to_owned()));
        }
        let packet = Packet {
            ns: self.0.path.clone(),
            data: PacketData::Event {
                event: event.to_owned(),
                args: to_args(data)?,
            },
            id: None,
        };
        let frames = super::client::encode_frames(&packet);
        for socket in self.sockets() {
            let _ = socket.engine_session().send_many(frames.iter().cloned());
        }
        Ok(())
    }
}
