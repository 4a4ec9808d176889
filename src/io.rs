//! [`SocketIo`]: the handle users hold, its builder and its configuration.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    fmt,
    sync::{Arc, OnceLock, RwLock},
    time::Duration,
};

use crate::{
    adapter::{Adapter, ConnectionStateRecovery},
    engine::{Cookie, Engine, EngineConfig, EngineConfigBuilder, OverflowPolicy, Transports},
    extract::{ExtractError, FromSocket, StateCheck},
    handler::{ConnectBox, ConnectHandler, ConnectMiddleware, MiddlewareBox},
    operators::BroadcastOperator,
    protocol::{JsonParser, Parser},
    service::{EngineLayer, EngineService, NotFound},
    socket::{
        AdapterFactory, BoxedMiddleware, DynNs, IoConfig, IoHandler, IoInner, Matcher, Namespace,
        NsInner, SocketRef, WeakNamespace,
    },
    sync::{read, write},
};

/// The default bound on sessions that have not connected a namespace yet, server-wide
/// (see [`SocketIoBuilder::max_pending_sessions`]): 10,000.
pub const DEFAULT_MAX_PENDING: usize = 10_000;
/// The default bound on sessions that have not connected a namespace yet, per IP address
/// (see [`SocketIoBuilder::max_pending_sessions_per_address`]): 1,000.
pub const DEFAULT_MAX_PENDING_PER_ADDRESS: usize = 1_000;

/// The Socket.IO server handle: register namespaces, reach sockets, shut down. Cheap to clone;
/// also an extractor.
#[derive(Clone)]
pub struct SocketIo(pub(crate) Arc<IoInner>);

impl fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketIo")
            .field("config", &self.0.config)
            .finish_non_exhaustive()
    }
}

impl FromSocket for SocketIo {
    fn from_socket(socket: &SocketRef) -> Result<Self, ExtractError> {
        Ok(SocketIo(socket.client.io.clone()))
    }
}

impl SocketIo {
    /// A builder with the reference server's defaults, serving `/socket.io/`.
    pub fn builder() -> SocketIoBuilder {
        SocketIoBuilder {
            engine: EngineConfig::builder()
                .path("/socket.io/")
                .max_pending(DEFAULT_MAX_PENDING)
                .max_pending_per_address(DEFAULT_MAX_PENDING_PER_ADDRESS),
            config: IoConfig {
                ack_timeout: Duration::from_secs(5),
                connect_timeout: Duration::from_secs(45),
                max_attachments: 10,
                recovery: None,
            },
            states: HashMap::new(),
            adapter: None,
            parser: Arc::new(JsonParser),
        }
    }

    /// A layer and its handle with the default configuration.
    pub fn new_layer() -> (SocketIoLayer, SocketIo) {
        Self::builder().build_layer()
    }

    /// Registers the namespace `path` with the handler run on each connection, and returns it
    /// (to add middleware with [`Namespace::with`]).
    ///
    /// # Panics
    /// When the handler extracts a state that was not given at build time.
    pub fn ns<H, M>(&self, path: impl Into<String>, handler: H) -> Namespace
    where
        H: ConnectHandler<M>,
        M: 'static,
    {
        let path = normalize(path.into());
        if let Err(e) = handler.check(&self.0.states) {
            panic!("connect handler of namespace {path:?}: {e}");
        }
        let ns = NsInner::new(
            path.clone(),
            Arc::new(ConnectBox(Arc::new(handler), Default::default())),
            Vec::new(),
            false,
            &self.0,
        );
        write(&self.0.nsps).insert(path, ns.clone());
        Namespace(ns)
    }

    /// Registers dynamic namespaces: every path `matcher` accepts gets its own child namespace,
    /// created on the first connection, with this handler and `middlewares`. When
    /// `remove_when_empty` is set, a child is removed when its last socket leaves.
    ///
    /// `matcher` is a [`NsPattern`]: a pattern such as `"/rooms/{id}"`, or a predicate.
    pub fn dyn_ns<H, M>(&self, matcher: impl Into<NsPattern>, handler: H) -> DynNamespace
    where
        H: ConnectHandler<M>,
        M: 'static,
    {
        if let Err(e) = handler.check(&self.0.states) {
            panic!("connect handler of dynamic namespace: {e}");
        }
        let mut dyns = write(&self.0.dyn_nsps);
        dyns.push(DynNs {
            matcher: matcher.into().0,
            connect: Arc::new(ConnectBox(Arc::new(handler), Default::default())),
            remove_when_empty: false,
            middlewares: Vec::new(),
        });
        DynNamespace {
            io: self.0.clone(),
            index: dyns.len() - 1,
        }
    }

    /// The namespace at `path`, if registered (or created from a dynamic one).
    pub fn of(&self, path: &str) -> Option<Namespace> {
        let path = normalize(path.to_owned());
        read(&self.0.nsps).get(&path).cloned().map(Namespace)
    }

    fn op(&self) -> BroadcastOperator {
        match self.0.main_namespace() {
            Some(ns) => BroadcastOperator::new(ns),
            None => BroadcastOperator::gone("/"),
        }
    }

    /// The engine under the server.
    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.0.engine()
    }

    /// How many Engine.IO sessions are open on this node, connected to a namespace or not
    /// (see [`Engine::session_count`]): an atomic load.
    pub fn session_count(&self) -> usize {
        self.engine().map_or(0, |e| e.session_count())
    }

    /// How many Engine.IO sessions are open and not connected to a namespace yet (see
    /// [`SocketIoBuilder::max_pending_sessions`]): a lock read.
    pub fn pending_session_count(&self) -> usize {
        self.engine().map_or(0, |e| e.pending_count())
    }

    /// How many sockets are connected on this node, across every namespace (a client
    /// connected to two namespaces counts twice): a lock read per namespace, no allocation.
    pub fn socket_count(&self) -> usize {
        read(&self.0.nsps)
            .values()
            .map(|ns| read(&ns.sockets).len())
            .sum()
    }

    /// How many sockets are connected to the namespace at `path` on this node (0 when there is
    /// no such namespace); see [`Namespace::socket_count`].
    pub fn socket_count_in(&self, path: &str) -> usize {
        self.with_ns(path, |ns| read(&ns.sockets).len())
            .unwrap_or(0)
    }

    /// How many rooms this node's sockets of the namespace at `path` are in, each socket's
    /// own room included; `None` when there is no such namespace or its adapter does not count
    /// (see [`Namespace::room_count`]).
    pub fn room_count_in(&self, path: &str) -> Option<usize> {
        self.with_ns(path, |ns| ns.adapter.room_count()).flatten()
    }

    /// Runs `f` on the namespace at `path`, looked up without allocating when the path starts
    /// with `/`.
    fn with_ns<T>(&self, path: &str, f: impl FnOnce(&NsInner) -> T) -> Option<T> {
        let nsps = read(&self.0.nsps);
        let ns = if path.starts_with('/') {
            nsps.get(path)
        } else {
            nsps.get(&normalize(path.to_owned()))
        };
        ns.map(|ns| f(ns))
    }

    /// Shuts down and waits, within `deadline`: new connections are refused; every connected
    /// socket is sent a DISCONNECT (its client sees `io server disconnect` and does not
    /// reconnect) after what was already queued for it; every Engine.IO session is closed (the
    /// sockets' disconnect handlers see
    /// [`DisconnectReason::ServerShuttingDown`](crate::DisconnectReason::ServerShuttingDown)) and
    /// flushed. Resolves once every client has been sent all of it, or when `deadline` has
    /// passed; `true` when every session finished in time. Nothing happens until the future is
    /// polled. Await it within the tokio runtime that serves the layer, before the server stops
    /// serving (a polling client is told on its next poll).
    ///
    /// ```no_run
    /// # async fn run(io: tower_socketio::SocketIo) {
    /// use std::time::Duration;
    /// let flushed = io.shutdown(Duration::from_secs(10)).await;
    /// # let _ = flushed;
    /// # }
    /// ```
    pub async fn shutdown(&self, deadline: Duration) -> bool {
        let Some(engine) = self.engine() else {
            return true;
        };
        engine.stop_accepting();
        let namespaces: Vec<Namespace> = read(&self.0.nsps)
            .values()
            .cloned()
            .map(Namespace)
            .collect();
        for ns in namespaces {
            for socket in ns.sockets() {
                socket.send_disconnect();
            }
        }
        engine.shutdown(deadline).await
    }

    /// Shuts down gracefully: new connections are refused, and every socket disconnects with
    /// [`DisconnectReason::ServerShuttingDown`](crate::DisconnectReason::ServerShuttingDown) after what was queued for it is delivered.
    /// Call it from within the tokio runtime that serves the layer.
    pub fn close(&self) {
        if let Some(engine) = self.engine() {
            engine.close();
        }
    }
}

/// A dynamic namespace registration (see [`SocketIo::dyn_ns`]).
pub struct DynNamespace {
    io: Arc<IoInner>,
    index: usize,
}

impl fmt::Debug for DynNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynNamespace")
            .field("index", &self.index)
            .finish()
    }
}

impl DynNamespace {
    fn edit(&self, f: impl FnOnce(&mut DynNs)) {
        let mut dyns = write(&self.io.dyn_nsps);
        if let Some(d) = dyns.get_mut(self.index) {
            f(d);
        }
    }

    /// Adds a middleware to every child namespace created from now on.
    pub fn with<H, M>(self, middleware: H) -> Self
    where
        H: ConnectMiddleware<M>,
        M: 'static,
    {
        if let Err(e) = middleware.check(&self.io.states) {
            panic!("middleware of a dynamic namespace: {e}");
        }
        let mw: BoxedMiddleware = Arc::new(MiddlewareBox(middleware, Default::default()));
        self.edit(|d| d.middlewares.push(mw));
        self
    }

    /// Removes each child namespace when its last socket leaves.
    pub fn remove_when_empty(self, yes: bool) -> Self {
        self.edit(|d| d.remove_when_empty = yes);
        self
    }
}

/// Which paths a dynamic namespace serves: from a pattern string (`"/rooms/{id}"`: each `{…}`
/// matches one non-empty segment) or a predicate `Fn(&str) -> bool`.
pub struct NsPattern(Matcher);

impl fmt::Debug for NsPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NsPattern")
    }
}

impl From<&str> for NsPattern {
    fn from(pattern: &str) -> Self {
        let pieces = parse_pattern(&normalize(pattern.to_owned()));
        NsPattern(Arc::new(move |path: &str| matches_pattern(&pieces, path)))
    }
}

/// A pattern as literal pieces and placeholders (`None`).
fn parse_pattern(pattern: &str) -> Vec<Option<String>> {
    let mut pieces = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        if open > 0 {
            pieces.push(Some(rest[..open].to_owned()));
        }
        pieces.push(None);
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Some(rest.to_owned()));
    }
    pieces
}

/// Whether `path` matches: literals exactly, each placeholder one or more characters but `/`.
fn matches_pattern(pieces: &[Option<String>], path: &str) -> bool {
    match pieces.split_first() {
        None => path.is_empty(),
        Some((Some(lit), rest)) => path
            .strip_prefix(lit.as_str())
            .is_some_and(|p| matches_pattern(rest, p)),
        Some((None, rest)) => {
            let limit = path.find('/').unwrap_or(path.len());
            (1..=limit)
                .filter(|&i| path.is_char_boundary(i))
                .any(|i| matches_pattern(rest, &path[i..]))
        }
    }
}

impl<F> From<F> for NsPattern
where
    F: Fn(&str) -> bool + Send + Sync + 'static,
{
    fn from(f: F) -> Self {
        NsPattern(Arc::new(f))
    }
}

fn normalize(mut path: String) -> String {
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    path
}

/// Builds a [`SocketIo`] and its layer.
#[must_use]
pub struct SocketIoBuilder {
    engine: EngineConfigBuilder,
    config: IoConfig,
    states: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    adapter: Option<AdapterFactory>,
    parser: Arc<dyn Parser>,
}

impl fmt::Debug for SocketIoBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketIoBuilder")
            .field("engine", &self.engine)
            .field("config", &self.config)
            .field("states", &self.states.len())
            .field("adapter", &self.adapter.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl SocketIoBuilder {
    /// The path served (default `/socket.io/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.engine = self.engine.path(path);
        self
    }
    /// The interval between server pings (default 25 s).
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.engine = self.engine.ping_interval(d);
        self
    }
    /// How long a client has to answer a ping (default 20 s).
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.engine = self.engine.ping_timeout(d);
        self
    }
    /// How long an upgrade to WebSocket may take (default 10 s).
    pub fn upgrade_timeout(mut self, d: Duration) -> Self {
        self.engine = self.engine.upgrade_timeout(d);
        self
    }
    /// The largest payload accepted, in bytes (default 1,000,000).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.engine = self.engine.max_payload(bytes);
        self
    }
    /// How long a polling POST may take to send its body (default 10 s); see
    /// [`EngineConfigBuilder::body_timeout`].
    pub fn body_timeout(mut self, d: Duration) -> Self {
        self.engine = self.engine.body_timeout(d);
        self
    }
    /// Which transports are accepted (default both).
    pub fn transports(mut self, t: Transports) -> Self {
        self.engine = self.engine.transports(t);
        self
    }
    /// How many Engine.IO packets may wait for one client, at most (default: no bound of its
    /// own, [`max_queue_bytes`](Self::max_queue_bytes) bounds the queue); see
    /// [`EngineConfigBuilder::queue_size`].
    pub fn queue_size(mut self, packets: usize) -> Self {
        self.engine = self.engine.queue_size(packets);
        self
    }
    /// How many bytes may wait for one client (default 4 MiB: each frame's length plus 64);
    /// a client past the bound is disconnected (`transport full`), or its packets dropped
    /// under [`OverflowPolicy::Drop`]. See [`EngineConfigBuilder::max_queue_bytes`].
    pub fn max_queue_bytes(mut self, bytes: usize) -> Self {
        self.engine = self.engine.max_queue_bytes(bytes);
        self
    }
    /// What happens to a packet that does not fit in a client's queue (default
    /// [`OverflowPolicy::Disconnect`]).
    pub fn overflow(mut self, policy: OverflowPolicy) -> Self {
        self.engine = self.engine.overflow(policy);
        self
    }
    /// A check on every handshake request; see [`EngineConfigBuilder::allow_request`].
    pub fn allow_request<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(&http::request::Parts) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        self.engine = self.engine.allow_request(f);
        self
    }
    /// How many Engine.IO sessions may be open without having connected a namespace yet,
    /// server-wide (default [`DEFAULT_MAX_PENDING`], 10,000). A handshake past it is answered
    /// HTTP 503 with a JSON error body and logged at WARN; the official clients retry later.
    /// A session leaves the count when it connects a namespace (or closes), so connected
    /// clients never hold it; one that connects none is closed after
    /// [`connect_timeout`](Self::connect_timeout). `usize::MAX` removes the bound.
    pub fn max_pending_sessions(mut self, sessions: usize) -> Self {
        self.engine = self.engine.max_pending(sessions);
        self
    }
    /// The same bound per client IP address (default [`DEFAULT_MAX_PENDING_PER_ADDRESS`],
    /// 1,000), answered HTTP 429; see [`EngineConfigBuilder::max_pending_per_address`] for
    /// where the address comes from (behind a reverse proxy, every client has the proxy's).
    pub fn max_pending_sessions_per_address(mut self, sessions: usize) -> Self {
        self.engine = self.engine.max_pending_per_address(sessions);
        self
    }
    /// HTTP compression of polling responses of at least `threshold` bytes (default on, 1024
    /// bytes); `None` turns it off. See [`EngineConfigBuilder::http_compression`].
    pub fn http_compression(mut self, threshold: Option<usize>) -> Self {
        self.engine = self.engine.http_compression(threshold);
        self
    }
    /// A sticky-session cookie on every handshake (default none); see
    /// [`EngineConfigBuilder::cookie`].
    pub fn cookie(mut self, cookie: Cookie) -> Self {
        self.engine = self.engine.cookie(cookie);
        self
    }
    /// Chooses each Engine.IO session id (default random); see
    /// [`EngineConfigBuilder::session_id`].
    pub fn session_id<F>(mut self, f: F) -> Self
    where
        F: Fn(&http::request::Parts) -> String + Send + Sync + 'static,
    {
        self.engine = self.engine.session_id(f);
        self
    }
    /// Adds headers to each handshake response (default none); see
    /// [`EngineConfigBuilder::initial_headers`].
    pub fn initial_headers<F>(mut self, f: F) -> Self
    where
        F: Fn(&mut http::HeaderMap, &http::request::Parts) + Send + Sync + 'static,
    {
        self.engine = self.engine.initial_headers(f);
        self
    }
    /// Adds headers to every transport response (default none); see
    /// [`EngineConfigBuilder::headers`].
    pub fn headers<F>(mut self, f: F) -> Self
    where
        F: Fn(&mut http::HeaderMap, &http::request::Parts) + Send + Sync + 'static,
    {
        self.engine = self.engine.headers(f);
        self
    }
    /// Whether Socket.IO v2 clients are served (default `false`), as the reference server's
    /// `allowEIO3`: the npm `socket.io-client` 2.x and the clients of its time, which speak
    /// Engine.IO v3 and Socket.IO's v4 protocol. They share namespaces, rooms and broadcasts
    /// with the current clients; the server speaks to each in its own protocol.
    ///
    /// What differs for them, as the reference does it:
    /// - they are connected to the main namespace `/` at the handshake, without a CONNECT (so
    ///   `/` must be registered for them to connect to it);
    /// - a CONNECT carries no auth payload: the query of its namespace (`/admin?token=x`)
    ///   stands for it, as an object of strings;
    /// - a refused connection is answered with the v4 protocol's ERROR packet, whose data is the
    ///   error's [`data`](crate::extract::ConnectError::with_data) or else its message (the
    ///   client's `error` event);
    /// - a socket's id is the session's id (`/nsp#` + it outside `/`), as the client computes
    ///   it: it is then as secret as the session id, so do not show it to other clients;
    /// - the heartbeat goes the other way (see [`EngineConfigBuilder::allow_eio3`]).
    pub fn allow_eio3(mut self, allow: bool) -> Self {
        self.engine = self.engine.allow_eio3(allow);
        self
    }
    /// How long [`SocketRef::emit_with_ack`] waits for an answer (default 5 s).
    pub fn ack_timeout(mut self, d: Duration) -> Self {
        self.config.ack_timeout = d;
        self
    }
    /// How long a client may stay connected without joining a namespace (default 45 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.config.connect_timeout = d;
        self
    }
    /// The most binary attachments one packet may carry (default 10); more is a parse error.
    pub fn max_attachments(mut self, n: usize) -> Self {
        self.config.max_attachments = n;
        self
    }
    /// Turns connection state recovery on (off by default): a client whose connection drops
    /// and that comes back within
    /// [`max_disconnection_duration`](ConnectionStateRecovery::max_disconnection_duration)
    /// gets its socket back (the same id, rooms and data) and, before its `connect` event,
    /// every stored event it missed, in order, once. Stored events are those without ack and
    /// not volatile, broadcast or emitted to one socket; each carries its *offset* as its last
    /// argument, as the official clients expect. See [`ConnectionStateRecovery`] for the
    /// bounds, and the README for how it differs from the reference server's.
    ///
    /// ```no_run
    /// use tower_socketio::{SocketIo, adapter::ConnectionStateRecovery};
    /// let (layer, io) = SocketIo::builder()
    ///     .connection_state_recovery(ConnectionStateRecovery::default())
    ///     .build_layer();
    /// # let _ = (layer, io);
    /// ```
    pub fn connection_state_recovery(mut self, settings: ConnectionStateRecovery) -> Self {
        self.config.recovery = Some(settings);
        self
    }
    /// App state shared with every handler, extracted by type with
    /// [`State<T>`](crate::extract::State). One value per type.
    pub fn with_state<T: Clone + Send + Sync + 'static>(mut self, state: T) -> Self {
        self.states.insert(TypeId::of::<T>(), Arc::new(state));
        self
    }

    /// The wire format of every client (default [`JsonParser`], Socket.IO's own). Clients must
    /// use the same: with the `msgpack` feature, `MsgpackParser` is the format of the npm
    /// package `socket.io-msgpack-parser`, which the official clients take as their `parser`
    /// option.
    pub fn parser(mut self, parser: impl Parser) -> Self {
        self.parser = Arc::new(parser);
        self
    }

    fn build(self) -> (Arc<Engine>, SocketIo) {
        let inner = Arc::new(IoInner {
            config: self.config,
            states: StateCheck(Arc::new(self.states)),
            nsps: RwLock::default(),
            dyn_nsps: RwLock::default(),
            engine: OnceLock::new(),
            adapter: self.adapter,
            parser: self.parser,
            #[cfg(feature = "admin-ui")]
            observer: OnceLock::new(),
        });
        let engine = Engine::new(Arc::new(IoHandler(inner.clone())), self.engine.build());
        let _ = inner.engine.set(Arc::downgrade(&engine));
        (engine, SocketIo(inner))
    }

    /// The adapter of every namespace, made by `factory` when the namespace is created (the
    /// in-memory [`LocalAdapter`](crate::adapter::LocalAdapter) by default). An adapter for
    /// several servers typically builds a `LocalAdapter::new(ns.clone())` for the local work and
    /// delivers events from other servers with
    /// [`Namespace::receive_server_side`](crate::Namespace::receive_server_side).
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use tower_socketio::{SocketIo, adapter::{Adapter, LocalAdapter}};
    ///
    /// let (layer, io) = SocketIo::builder()
    ///     .adapter(|ns| Arc::new(LocalAdapter::new(ns)) as Arc<dyn Adapter>)
    ///     .build_layer();
    /// ```
    pub fn adapter<F>(mut self, factory: F) -> Self
    where
        F: Fn(WeakNamespace) -> Arc<dyn Adapter> + Send + Sync + 'static,
    {
        self.adapter = Some(Arc::new(factory));
        self
    }

    /// The tower layer and the handle.
    pub fn build_layer(self) -> (SocketIoLayer, SocketIo) {
        let (engine, io) = self.build();
        (EngineLayer::from_engine(engine), io)
    }

    /// A stand-alone service (404 outside the Socket.IO path) and the handle.
    pub fn build_svc(self) -> (SocketIoService<NotFound>, SocketIo) {
        let (engine, io) = self.build();
        (EngineService::new(engine, NotFound), io)
    }
}

/// The Socket.IO tower layer: serves the Socket.IO path, passes other requests on.
pub type SocketIoLayer = EngineLayer;
/// The Socket.IO tower service around an inner service `S`.
pub type SocketIoService<S> = EngineService<S>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_patterns() {
        let m = |p: &str, path: &str| (NsPattern::from(p).0)(path);
        assert!(m("/rooms/{id}", "/rooms/42"));
        assert!(!m("/rooms/{id}", "/rooms/"));
        assert!(!m("/rooms/{id}", "/rooms/4/2"));
        assert!(m("/dyn-{id}", "/dyn-7"));
        assert!(!m("/dyn-{id}", "/dyn-"));
        assert!(m("/{a}/x/{b}", "/é/x/y"));
        assert!(!m("/{a}/x/{b}", "/a/y/b"));
        assert!(m("admin", "/admin"));
    }
}

// Operators and actions on the main namespace `/`.
crate::operators::operator_entry_points!(SocketIo);
crate::operators::operator_actions!(SocketIo);
