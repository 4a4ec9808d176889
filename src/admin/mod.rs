//! Monitoring with the Socket.IO Admin UI (feature `admin-ui`): the server speaks to the npm
//! package `@socket.io/admin-ui` 0.5 as the Node instrumentation does, and serves the UI itself
//! ([`AdminUiLayer`]).
//!
//! [`instrument`] registers the admin namespace (`/admin` by default) on a [`SocketIo`]. The UI
//! connects to it, with basic auth (a username and a bcrypt hash of the password) or none, and
//! sees the server's stats every two seconds, its sockets with their handshake and rooms, rooms
//! joined and left, and, in [`Mode::Development`], every event sent and received. Unless
//! [`readonly`](AdminOptions::readonly), the UI's commands are carried out: make sockets join or
//! leave a room, disconnect them, emit to them.
//!
//! Several servers behind one adapter (the Redis adapter, say) appear as one fleet: each
//! instruments itself with its own [`server_id`](AdminOptions::server_id) (by default
//! `hostname#pid`), and everything the instrumentation tells the UI goes through the admin
//! namespace's adapter, so a UI connected to any node hears every node; the sockets list and the
//! commands use the adapter's cluster-wide `fetch_sockets`, `sockets_join`, `sockets_leave` and
//! `disconnect_sockets`.
//!
//! ```no_run
//! use tower_socketio::{SocketIo, admin::{self, AdminOptions, AdminUiLayer, Auth}};
//!
//! let (layer, io) = SocketIo::new_layer();
//! io.ns("/", |_: tower_socketio::SocketRef| {});
//! // The bcrypt hash of the password (`htpasswd -nbBC 10 "" pw | tr -d ':\n'`, say).
//! let hash = std::env::var("ADMIN_PASSWORD_HASH").unwrap();
//! admin::instrument(&io, AdminOptions::new(Auth::basic("admin", hash))).unwrap();
//! // The UI's files (`npm i @socket.io/admin-ui @mdi/font @fontsource/roboto`), at /admin-ui/.
//! let ui = AdminUiLayer::from_node_modules("/admin-ui/", "node_modules").unwrap();
//! // tower::ServiceBuilder::new().layer(ui).layer(layer).service(app), or in axum:
//! // Router::new().route(…).layer(layer).layer(ui)
//! # let _ = ui;
//! ```

mod ui;
mod wire;

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use serde_json::{Value as Json, json};
use tokio::sync::mpsc;

pub use self::ui::{AdminUiLayer, AdminUiService, UiFiles};
use self::wire::{SocketView, Spread, epoch_ms, now_iso, user_data};
use crate::{
    DisconnectReason, Namespace, SocketIo, SocketRef,
    engine::{Session, TransportKind},
    extract::ConnectError,
    protocol::value::Value,
    socket::{IoInner, Observer},
    sync::lock,
};

/// How often the server's stats go to the UI (as Node's instrumentation).
const STATS_INTERVAL: Duration = Duration::from_secs(2);
/// How many events may wait for the admin namespace; past that, events are dropped (the UI
/// misses them) rather than the server's memory growing.
const MAX_PENDING: usize = 8192;

/// How the UI authenticates.
#[derive(Clone)]
pub enum Auth {
    /// Any UI may connect.
    None,
    /// A username and a bcrypt hash of the password (`$2a$`, `$2b$` or `$2y$`).
    Basic {
        /// The username the UI's login form must give.
        username: String,
        /// The bcrypt hash of the password.
        password_hash: String,
    },
}

impl Auth {
    /// Basic auth: `username`, and the bcrypt hash of the password.
    pub fn basic(username: impl Into<String>, password_hash: impl Into<String>) -> Self {
        Auth::Basic {
            username: username.into(),
            password_hash: password_hash.into(),
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .finish_non_exhaustive(),
        }
    }
}

/// What the UI is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Everything: each socket's connection, rooms and events (Node's default).
    #[default]
    Development,
    /// The server's stats only (and the commands, unless read-only): no per-socket event,
    /// nothing per message sent to the UI.
    Production,
}

/// The instrumentation's options; see [`instrument`].
#[derive(Debug, Clone)]
pub struct AdminOptions {
    namespace: String,
    auth: Auth,
    readonly: bool,
    server_id: Option<String>,
    mode: Mode,
}

impl AdminOptions {
    /// Options with `auth` (there is no default, as in Node: [`Auth::None`] must be chosen), the
    /// namespace `/admin`, commands allowed, [`Mode::Development`], the server id
    /// `hostname#pid`.
    pub fn new(auth: Auth) -> Self {
        AdminOptions {
            namespace: "/admin".to_owned(),
            auth,
            readonly: false,
            server_id: None,
            mode: Mode::Development,
        }
    }

    /// The admin namespace (default `/admin`); the UI's "Admin namespace" field must match.
    pub fn namespace(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        self.namespace = path;
        self
    }

    /// Read-only: the UI's commands (join, leave, disconnect, emit) are not offered, and ignored
    /// if sent (default `false`).
    pub fn readonly(mut self, readonly: bool) -> Self {
        self.readonly = readonly;
        self
    }

    /// The name the UI shows this server under (default `hostname#pid`): servers of one cluster
    /// need distinct ids, or the UI merges them into one.
    pub fn server_id(mut self, id: impl Into<String>) -> Self {
        self.server_id = Some(id.into());
        self
    }

    /// What the UI is told (default [`Mode::Development`]).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
}

/// Why [`instrument`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The password hash is not a bcrypt hash.
    #[error("the Admin UI password hash is not a bcrypt hash: {0}")]
    InvalidHash(String),
    /// The server is instrumented already.
    #[error("the server is already instrumented for the Admin UI")]
    AlreadyInstrumented,
    /// The admin namespace is registered already, by the application.
    #[error("namespace {0} is already registered")]
    NamespaceTaken(String),
}

/// Instruments `io` for the Admin UI: registers the admin namespace, and watches every socket
/// of every namespace (those registered later included). Call it from within a tokio runtime
/// (it starts the task that sends the stats). Once per server.
pub fn instrument(io: &SocketIo, options: AdminOptions) -> Result<(), AdminError> {
    if let Auth::Basic { password_hash, .. } = &options.auth {
        password_hash
            .parse::<bcrypt::HashParts>()
            .map_err(|e| AdminError::InvalidHash(e.to_string()))?;
    }
    if io.0.observer.get().is_some() {
        return Err(AdminError::AlreadyInstrumented);
    }
    if io.of(&options.namespace).is_some() {
        return Err(AdminError::NamespaceTaken(options.namespace));
    }
    let (tx, rx) = mpsc::channel(MAX_PENDING);
    let server_id = options
        .server_id
        .clone()
        .unwrap_or_else(|| format!("{}#{}", hostname(), std::process::id()));
    let admin = Arc::new_cyclic(|me| Admin {
        me: me.clone(),
        io: Arc::downgrade(&io.0),
        options,
        server_id,
        started: Instant::now(),
        tx,
        state: Mutex::default(),
        packets_in: AtomicU64::new(0),
        packets_out: AtomicU64::new(0),
        sessions_store: Mutex::default(),
    });
    if io.0.observer.set(admin.clone()).is_err() {
        return Err(AdminError::AlreadyInstrumented);
    }
    let ns = admin.register(io);
    tokio::spawn(pump(ns, rx));
    tokio::spawn(stats(Arc::downgrade(&admin)));
    Ok(())
}

/// The machine's name, as `os.hostname()` gives it.
fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// An event for the admin namespace.
struct Out {
    event: &'static str,
    args: Vec<Value>,
}

/// A socket of this node, as the instrumentation follows it.
struct Tracked {
    socket: SocketRef,
    client_id: String,
    transport: TransportKind,
}

/// An Engine.IO session of this node with sockets, for the connection counts.
struct Client {
    session: Session,
    sockets: usize,
}

#[derive(Default)]
struct State {
    sockets: HashMap<(String, String), Tracked>,
    clients: HashMap<String, Client>,
    /// Counts since the last stats: (second, type, sub-type) → count.
    aggregated: HashMap<(u64, &'static str, Option<&'static str>), u64>,
    /// The engine's byte totals at the last stats (received, sent).
    bytes: (u64, u64),
}

struct Admin {
    /// Itself, for the listeners it adds to sockets (which must not keep it alive).
    me: Weak<Admin>,
    io: Weak<IoInner>,
    options: AdminOptions,
    server_id: String,
    started: Instant,
    tx: mpsc::Sender<Out>,
    state: Mutex<State>,
    /// Events received and sent since the last stats (counted without a lock: one per event).
    packets_in: AtomicU64,
    packets_out: AtomicU64,
    /// The basic-auth sessions of UIs that logged in (Node's `InMemoryStore`).
    sessions_store: Mutex<HashSet<String>>,
}

/// The session id given to a UI that logged in, kept on its socket until the connect handler.
#[derive(Clone)]
struct AdminSession(String);

fn v(j: Json) -> Value {
    Value::from(j)
}

fn s(text: &str) -> Value {
    Value::from(text)
}

impl Admin {
    fn dev(&self) -> bool {
        self.options.mode == Mode::Development
    }

    fn send(&self, event: &'static str, args: Vec<Value>) {
        if self.tx.try_send(Out { event, args }).is_err() {
            tracing::debug!(event, "admin UI event dropped: too many pending");
        }
    }

    fn count(&self, kind: &'static str, sub: Option<&'static str>, n: u64) {
        let second = epoch_ms(SystemTime::now()) / 1000 * 1000;
        *lock(&self.state)
            .aggregated
            .entry((second, kind, sub))
            .or_default() += n;
    }

    fn is_admin(&self, socket: &SocketRef) -> bool {
        socket.ns() == self.options.namespace
    }

    fn features(&self) -> Vec<&'static str> {
        let mut f = if self.options.readonly {
            Vec::new()
        } else {
            vec![
                "EMIT",
                "JOIN",
                "LEAVE",
                "DISCONNECT",
                "MJOIN",
                "MLEAVE",
                "MDISCONNECT",
            ]
        };
        f.push("AGGREGATED_EVENTS");
        if self.dev() {
            f.push("ALL_EVENTS");
        }
        f
    }

    /// The admin namespace, its auth and its connect handler.
    fn register(self: &Arc<Self>, io: &SocketIo) -> Namespace {
        let me = self.clone();
        let ns = io.ns(self.options.namespace.clone(), move |socket: SocketRef| {
            me.ui_connected(&socket);
        });
        match &self.options.auth {
            Auth::None => ns,
            Auth::Basic { .. } => {
                let me = self.clone();
                ns.with(move |socket: SocketRef| {
                    let me = me.clone();
                    async move { me.authenticate(&socket).await }
                })
            }
        }
    }

    async fn authenticate(&self, socket: &SocketRef) -> Result<(), ConnectError> {
        let Auth::Basic {
            username,
            password_hash,
        } = &self.options.auth
        else {
            return Ok(());
        };
        let auth = socket.handshake().auth();
        if let Some(id) = auth.get("sessionId").and_then(Json::as_str)
            && lock(&self.sessions_store).contains(id)
        {
            return Ok(());
        }
        let given_user = auth.get("username").and_then(Json::as_str);
        let password = auth
            .get("password")
            .and_then(Json::as_str)
            .map(str::to_owned);
        if let (Some(user), Some(password)) = (given_user, password)
            && user == username
        {
            let hash = password_hash.clone();
            // bcrypt is slow on purpose: off the runtime's threads.
            let ok = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(false);
            if ok {
                let id = format!("{:016x}", rand::random::<u64>());
                lock(&self.sessions_store).insert(id.clone());
                socket.extensions().insert(AdminSession(id));
                return Ok(());
            }
        }
        crate::engine::session_warn!(
            socket.engine_session(),
            ns = %socket.ns(),
            "admin UI login refused: invalid credentials"
        );
        Err(ConnectError::new("invalid credentials"))
    }

    /// A UI connected: its session id, the features, the sockets; its commands.
    fn ui_connected(self: &Arc<Self>, socket: &SocketRef) {
        if let Some(AdminSession(id)) = socket.extensions().remove::<AdminSession>() {
            let _ = socket.emit("session", &id);
        }
        let _ = socket.emit("config", &json!({ "supportedFeatures": self.features() }));
        if self.dev() {
            let me = self.clone();
            let ui = socket.clone();
            tokio::spawn(async move {
                let all = me.all_sockets().await;
                let _ = ui.emit("all_sockets", &Json::Array(all));
            });
        }
        if !self.options.readonly {
            let me = Arc::downgrade(self);
            socket.on_any(move |_, event, args| {
                if let Some(me) = me.upgrade() {
                    me.command(event, args);
                }
            });
        }
    }

    /// Every socket of every namespace, through the adapters (cluster-wide).
    async fn all_sockets(&self) -> Vec<Json> {
        let Some(io) = self.io.upgrade() else {
            return Vec::new();
        };
        let io = SocketIo(io);
        let mut paths: Vec<String> = crate::sync::read(&io.0.nsps).keys().cloned().collect();
        paths.sort();
        let mut out = Vec::new();
        for path in paths {
            let Some(ns) = io.of(&path) else { continue };
            let Ok(infos) = ns.fetch_sockets().await else {
                continue;
            };
            for info in infos {
                out.push(self.describe_info(&info));
            }
        }
        out
    }

    /// A socket from an adapter's description: this node's own as it follows them, the others'
    /// from their `_admin` data.
    fn describe_info(&self, info: &crate::adapter::SocketInfo) -> Json {
        let local = lock(&self.state)
            .sockets
            .get(&(info.ns.clone(), info.id.clone()))
            .map(|t| (t.client_id.clone(), t.transport.as_str()));
        let admin = info.data.get("_admin");
        let (client_id, transport) = local.unwrap_or_else(|| {
            let field = |k| {
                admin
                    .and_then(|a| a.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            (
                field("clientId").unwrap_or_default(),
                if field("transport").as_deref() == Some("polling") {
                    "polling"
                } else {
                    "websocket"
                },
            )
        });
        SocketView {
            id: &info.id,
            client_id: &client_id,
            transport,
            nsp: &info.ns,
            data: user_data(info.data.clone()),
            handshake: &info.handshake,
            rooms: info.rooms.clone(),
        }
        .to_json()
    }

    /// A command from the UI: `emit`, `join`, `leave`, `_disconnect`.
    fn command(&self, event: &str, args: &[Value]) {
        let Some(io) = self.io.upgrade() else { return };
        let io = SocketIo(io);
        let text = |i: usize| args.get(i).and_then(Value::as_str).map(str::to_owned);
        let Some(ns) = text(0).and_then(|path| io.of(&path)) else {
            tracing::debug!(event, "admin UI command for an unknown namespace, ignored");
            return;
        };
        let event = event.to_owned();
        let args = args.to_vec();
        tokio::spawn(async move {
            let text = |i: usize| args.get(i).and_then(Value::as_str).map(str::to_owned);
            let done = match event.as_str() {
                "emit" => {
                    let Some(name) = text(2) else { return };
                    let rest = Spread(args.iter().skip(3).cloned().collect());
                    match text(1) {
                        Some(filter) => ns.to(filter).emit(&name, &rest).await,
                        None => ns.emit(&name, &rest).await,
                    }
                }
                "join" | "leave" => {
                    let Some(room) = text(1) else { return };
                    let op = match text(2) {
                        Some(filter) => ns.to(filter),
                        None => ns.within(Vec::<String>::new()),
                    };
                    if event == "join" {
                        op.sockets_join(room).await
                    } else {
                        op.sockets_leave(room).await
                    }
                }
                "_disconnect" => {
                    let close = args.get(1).and_then(Value::as_bool).unwrap_or(false);
                    let op = match text(2) {
                        Some(filter) => ns.to(filter),
                        None => ns.within(Vec::<String>::new()),
                    };
                    op.disconnect_sockets(close).await
                }
                _ => return,
            };
            if let Err(e) = done {
                tracing::warn!(%event, error = %e, "admin UI command failed");
            }
        });
    }

    fn describe_local(&self, socket: &SocketRef, client_id: &str, transport: &str) -> Json {
        SocketView {
            id: socket.id(),
            client_id,
            transport,
            nsp: socket.ns(),
            data: user_data(socket.data()),
            handshake: socket.handshake(),
            rooms: socket.rooms(),
        }
        .to_json()
    }

    fn stats(&self) -> Option<Json> {
        let io = self.io.upgrade()?;
        let engine = io.engine()?;
        let mut namespaces: Vec<(String, usize)> = crate::sync::read(&io.nsps)
            .iter()
            .map(|(path, ns)| (path.clone(), crate::sync::read(&ns.sockets).len()))
            .collect();
        namespaces.sort();
        let second = epoch_ms(SystemTime::now()) / 1000 * 1000;
        let mut state = lock(&self.state);
        // Idempotent: the totals are kept from the first stats on.
        engine.track_bytes();
        let bytes = (engine.bytes_received(), engine.bytes_sent());
        let (bytes_in, bytes_out) = (
            bytes.0.saturating_sub(state.bytes.0),
            bytes.1.saturating_sub(state.bytes.1),
        );
        state.bytes = bytes;
        for (kind, n) in [
            ("packetsIn", self.packets_in.swap(0, Ordering::Relaxed)),
            ("packetsOut", self.packets_out.swap(0, Ordering::Relaxed)),
            ("bytesIn", bytes_in),
            ("bytesOut", bytes_out),
        ] {
            if n > 0 {
                *state.aggregated.entry((second, kind, None)).or_default() += n;
            }
        }
        let polling = state
            .clients
            .values()
            .filter(|c| c.session.transport() == TransportKind::Polling && !c.session.is_closed())
            .count();
        let aggregated: Vec<Json> = state
            .aggregated
            .drain()
            .map(|((timestamp, kind, sub), count)| {
                let mut e = json!({ "timestamp": timestamp, "type": kind, "count": count });
                if let Some(sub) = sub {
                    e["subType"] = Json::from(sub);
                }
                e
            })
            .collect();
        // Transports that changed since the last stats (an upgrade): the UI's socket_updated.
        let mut updated = Vec::new();
        for t in state.sockets.values_mut() {
            let now = t.socket.engine_session().transport();
            if now != t.transport {
                t.transport = now;
                updated.push(json!({
                    "id": t.socket.id(), "nsp": t.socket.ns(), "transport": now.as_str(),
                }));
            }
        }
        drop(state);
        if self.dev() {
            for u in updated {
                self.send("socket_updated", vec![v(u)]);
            }
        }
        Some(json!({
            "serverId": self.server_id,
            "hostname": hostname(),
            "pid": std::process::id(),
            "uptime": self.started.elapsed().as_secs_f64(),
            "clientsCount": engine.session_count(),
            "pollingClientsCount": polling,
            "aggregatedEvents": aggregated,
            "namespaces": namespaces
                .into_iter()
                .map(|(name, n)| json!({ "name": name, "socketsCount": n }))
                .collect::<Vec<_>>(),
        }))
    }

    /// Listens to a socket's events (outside the admin namespace).
    fn listen(&self, socket: &SocketRef) {
        let me = self.me.clone();
        socket.on_any(move |socket, event, args| {
            if let Some(me) = me.upgrade() {
                me.packets_in.fetch_add(1, Ordering::Relaxed);
                if me.dev() {
                    me.send("event_received", me.event_args(socket, event, args));
                }
            }
        });
        let me = self.me.clone();
        socket.on_any_outgoing(move |socket, event, args| {
            if let Some(me) = me.upgrade() {
                me.packets_out.fetch_add(1, Ordering::Relaxed);
                if me.dev() {
                    me.send("event_sent", me.event_args(socket, event, args));
                }
            }
        });
    }

    fn event_args(&self, socket: &SocketRef, event: &str, args: &[Value]) -> Vec<Value> {
        let mut data = Vec::with_capacity(args.len() + 1);
        data.push(s(event));
        data.extend_from_slice(args);
        vec![
            s(socket.ns()),
            s(socket.id()),
            Value::Array(data),
            s(&now_iso()),
        ]
    }

    fn room_event(&self, event: &'static str, socket: &SocketRef, room: &str) {
        self.send(
            event,
            vec![s(socket.ns()), s(room), s(socket.id()), s(&now_iso())],
        );
    }
}

impl Observer for Admin {
    fn connected(&self, socket: &SocketRef) {
        let session = socket.engine_session();
        let client_id: String = session.id().chars().take(12).collect();
        let transport = session.transport();
        {
            let mut state = lock(&self.state);
            let client = state
                .clients
                .entry(session.id().to_owned())
                .or_insert_with(|| Client {
                    session: session.clone(),
                    sockets: 0,
                });
            let first = client.sockets == 0;
            client.sockets += 1;
            state.sockets.insert(
                (socket.ns().to_owned(), socket.id().to_owned()),
                Tracked {
                    socket: socket.clone(),
                    client_id: client_id.clone(),
                    transport,
                },
            );
            if first {
                let second = epoch_ms(SystemTime::now()) / 1000 * 1000;
                *state
                    .aggregated
                    .entry((second, "rawConnection", None))
                    .or_default() += 1;
            }
        }
        // What other nodes see of the socket in fetch_sockets (Node's `data._admin`).
        let mut data = socket.data().into_json();
        if let Json::Object(m) = &mut data {
            m.insert(
                "_admin".to_owned(),
                json!({ "clientId": client_id, "transport": transport.as_str() }),
            );
            let _ = socket.set_data(&data);
        }
        if !self.is_admin(socket) {
            self.listen(socket);
        }
        if self.dev() {
            self.room_event("room_joined", socket, socket.id());
            let view = self.describe_local(socket, &client_id, transport.as_str());
            self.send("socket_connected", vec![v(view), s(&now_iso())]);
        }
    }

    fn disconnected(&self, socket: &SocketRef, reason: DisconnectReason) {
        let session_gone = {
            let mut state = lock(&self.state);
            state
                .sockets
                .remove(&(socket.ns().to_owned(), socket.id().to_owned()));
            let sid = socket.engine_session().id();
            let gone = match state.clients.get_mut(sid) {
                Some(c) => {
                    c.sockets = c.sockets.saturating_sub(1);
                    c.sockets == 0
                }
                None => false,
            };
            if gone {
                state.clients.remove(sid);
            }
            gone
        };
        if session_gone {
            let why = socket
                .engine_session()
                .close_reason()
                .map_or(reason.as_str(), |r| r.as_str());
            self.count("rawDisconnection", Some(why), 1);
        }
        if self.dev() {
            self.send(
                "socket_disconnected",
                vec![
                    s(socket.ns()),
                    s(socket.id()),
                    s(reason.as_str()),
                    s(&now_iso()),
                ],
            );
            for room in socket.rooms() {
                self.room_event("room_left", socket, &room);
            }
        }
    }

    fn rooms(&self, socket: &SocketRef, rooms: &[String], joined: bool) {
        if !self.dev() {
            return;
        }
        let event = if joined { "room_joined" } else { "room_left" };
        for room in rooms {
            self.room_event(event, socket, room);
        }
    }
}

/// Sends what the instrumentation queued to the admin namespace, through its adapter.
async fn pump(ns: Namespace, mut rx: mpsc::Receiver<Out>) {
    while let Some(out) = rx.recv().await {
        if let Err(e) = ns.emit(out.event, &Spread(out.args)).await {
            tracing::debug!(event = out.event, error = %e, "admin UI event not sent");
        }
    }
}

/// Sends the server's stats now, then every two seconds, while the server lives.
async fn stats(admin: Weak<Admin>) {
    let mut tick = tokio::time::interval(STATS_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(admin) = admin.upgrade() else { return };
        let Some(stats) = admin.stats() else { return };
        admin.send("server_stats", vec![v(stats)]);
    }
}
