//! The registry: the server's namespaces (static, and children of dynamic ones), its
//! configuration and its parser, shared by every client. The `SocketIo` handle one floor up is a
//! handle on it.

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock, RwLock, Weak},
    time::Duration,
};

use super::{
    erased::{BoxedConnect, BoxedMiddleware, StateCheck},
    namespace::{NsInner, WeakNamespace},
};
use crate::{
    adapter::{Adapter, ConnectionStateRecovery},
    engine::Engine,
    protocol::{DecodeLimits, Parser},
    sync::{read, write},
};

/// Socket.IO settings beyond the engine's.
#[derive(Debug, Clone)]
pub(crate) struct IoConfig {
    pub(crate) ack_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_attachments: usize,
    /// Connection state recovery, when it is on.
    pub(crate) recovery: Option<ConnectionStateRecovery>,
}

impl IoConfig {
    pub(crate) fn decode_limits(&self) -> DecodeLimits {
        DecodeLimits {
            max_attachments: self.max_attachments,
        }
    }
}

/// How a dynamic namespace matches paths.
pub(crate) type Matcher = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Makes the adapter of each namespace, when it is created (see
/// `SocketIoBuilder::adapter`).
pub(crate) type AdapterFactory = Arc<dyn Fn(WeakNamespace) -> Arc<dyn Adapter> + Send + Sync>;

/// A dynamic namespace: which paths it serves, and what each child gets.
pub(crate) struct DynNs {
    pub(crate) matcher: Matcher,
    pub(crate) connect: BoxedConnect,
    pub(crate) remove_when_empty: bool,
    pub(crate) middlewares: Vec<BoxedMiddleware>,
}

/// The registry of namespaces, with the server's configuration: what every client and socket
/// of the server shares.
pub(crate) struct IoInner {
    pub(crate) config: IoConfig,
    pub(crate) states: StateCheck,
    pub(crate) parser: Arc<dyn Parser>,
    pub(crate) nsps: RwLock<HashMap<String, Arc<NsInner>>>,
    pub(crate) dyn_nsps: RwLock<Vec<DynNs>>,
    pub(crate) engine: OnceLock<Weak<Engine>>,
    pub(crate) adapter: Option<AdapterFactory>,
    /// The observer of sockets (the Admin UI's instrumentation), once set.
    #[cfg(feature = "admin-ui")]
    pub(crate) observer: OnceLock<Arc<dyn super::observer::Observer>>,
}

impl IoInner {
    /// The namespace for a CONNECT: a static one, or a new child of a matching dynamic one.
    pub(crate) fn namespace_for(self: &Arc<Self>, path: &str) -> Option<Arc<NsInner>> {
        if let Some(ns) = read(&self.nsps).get(path) {
            return Some(ns.clone());
        }
        let dyns = read(&self.dyn_nsps);
        let d = dyns.iter().find(|d| (d.matcher)(path))?;
        let ns = NsInner::new_child(
            path.to_owned(),
            d.connect.clone(),
            d.middlewares.clone(),
            d.remove_when_empty,
            self,
        );
        let mut nsps = write(&self.nsps);
        Some(nsps.entry(path.to_owned()).or_insert(ns).clone())
    }

    pub(crate) fn remove_child_ns(&self, path: &str) {
        let mut nsps = write(&self.nsps);
        if nsps
            .get(path)
            .is_some_and(|ns| ns.remove_when_empty && read(&ns.sockets).is_empty())
        {
            nsps.remove(path);
        }
    }
}

impl IoInner {
    /// Calls `f` with the observer, if one is set; nothing without the `admin-ui` feature.
    #[inline]
    pub(crate) fn observe(&self, f: impl FnOnce(&dyn super::observer::Observer)) {
        #[cfg(feature = "admin-ui")]
        if let Some(observer) = self.observer.get() {
            f(&**observer);
        }
        #[cfg(not(feature = "admin-ui"))]
        let _ = f;
    }

    /// The main namespace `/`, if registered.
    pub(crate) fn main_namespace(&self) -> Option<Arc<NsInner>> {
        read(&self.nsps).get("/").cloned()
    }

    /// The engine under the server.
    pub(crate) fn engine(&self) -> Option<Arc<Engine>> {
        self.engine.get().and_then(Weak::upgrade)
    }
}
