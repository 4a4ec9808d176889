//! The Redis adapter (feature `redis`): several servers share rooms and broadcasts through a
//! Redis broker, speaking the protocol of the npm `@socket.io/redis-adapter` 8.3 (its classic
//! `createAdapter`), so Rust and Node servers can share one cluster, and the npm
//! `@socket.io/redis-emitter` reaches the sockets of both.
//!
//! ```no_run
//! use tower_socketio::{
//!     SocketIo, SocketRef,
//!     adapter::redis::{RedisAdapter, RedisAdapterConfig},
//! };
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // One publishing and one subscribing connection per server, shared by its namespaces.
//!     // `key` (the channel prefix, "socket.io") and `requests_timeout` (5 s) are Node's options.
//!     let config = RedisAdapterConfig::default();
//!     let redis = RedisAdapter::connect("redis://127.0.0.1:6379/", config).await?;
//!     let (layer, io) = SocketIo::builder().adapter(redis.factory()).build_layer();
//!     io.ns("/", |socket: SocketRef| {
//!         socket.join("lobby");
//!     });
//!     // Reaches the lobby's sockets on every server.
//!     io.to("lobby").emit("news", "hello").await?;
//!     println!("{} servers", io.server_count().await?);
//!     let app = axum::Router::new().layer(layer);
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! Each server keeps one connection to publish and one to subscribe, shared by its namespaces.
//! Per namespace it subscribes as a Node server does: the pattern `P#N#*` (broadcasts), and the
//! channels `P-request#N#`, `P-response#N#` and `P-response#N#<uid>#`, where `P` is the key
//! prefix ([`RedisAdapterConfig::key`], `socket.io` by default) and `N` the namespace. The
//! server count is the number of connections subscribed to the request channel
//! (`PUBSUB NUMSUB`), as Node counts it.
//!
//! What Node's protocol carries, and so what crosses servers:
//!
//! - broadcasts of events (binary data too), to all sockets, rooms, minus rooms; `local()`
//!   stays on this server;
//! - in a broadcast with acks, each remote socket's answer is its *first* argument, and names
//!   no socket: its id in the [`AckResponse`](super::AckResponse) is empty. When the timeout
//!   strikes, each announced answer still missing is an [`AckError::Timeout`](super::AckError);
//! - server-side events are JSON: binary data becomes an array of numbers; an answer is the
//!   listener's first value; a server without a listener for the event does not answer (the
//!   sender waits for it until the timeout and returns the answers it has);
//! - `fetch_sockets` gives each socket's id, rooms, handshake (headers, URL, query, auth, time,
//!   address) and data (`Socket::data`).
//!
//! When Redis is unreachable, local delivery goes on: a broadcast reaches this server's sockets,
//! then its publication fails with an [`AdapterError`]. Requests fail within
//! [`RedisAdapterConfig::requests_timeout`], and at once while the subscribing connection is
//! known to be down; a broadcast with acks needs the cluster, so it then fails as a whole
//! (nothing is sent). Both connections are made again by themselves, and the subscriptions
//! with them: a command that fails on the publishing connection, or gets no answer in time,
//! drops it and the next one connects anew; the subscribing connection is checked with a PING
//! every request timeout (1 s to 30 s), so that a connection gone silent is noticed too. Such a
//! silent connection stays counted by Redis in `PUBSUB NUMSUB` until Redis itself drops it (its
//! `tcp-keepalive`, 300 s by default): until then the other servers' requests that wait for
//! every server (`fetch_sockets`, `rooms`, acks) time out, as with Node servers. A malformed
//! message from the broker is logged at WARN and dropped.

mod handshake;
mod ns;
mod wire;

use std::{
    collections::HashMap,
    fmt,
    panic::AssertUnwindSafe,
    sync::{
        Arc, RwLock, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use ::redis::{AsyncConnectionConfig, Client, RedisResult, aio::MultiplexedConnection};
use futures_util::{FutureExt, StreamExt};
use tokio::sync::mpsc;

use self::ns::{Channel, NsAdapter};

use super::{Adapter, AdapterError, LocalNamespaceRef};
use crate::sync::{read, write};

/// How the Redis adapter is set up; the names are those of the Node adapter's options.
#[derive(Debug, Clone)]
pub struct RedisAdapterConfig {
    /// The prefix of every channel (Node's `key`), `socket.io` by default. Servers of one
    /// cluster must share it.
    pub key: String,
    /// How long a request to the other servers waits for their answers, and how long a
    /// command to Redis may take (Node's `requestsTimeout`), 5 s by default.
    pub requests_timeout: Duration,
}

impl Default for RedisAdapterConfig {
    fn default() -> Self {
        RedisAdapterConfig {
            key: "socket.io".to_owned(),
            requests_timeout: Duration::from_millis(5000),
        }
    }
}

impl RedisAdapterConfig {
    /// Sets the channel prefix.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// Sets the request timeout.
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.requests_timeout = timeout;
        self
    }
}

/// Why the adapter could not start.
#[derive(Debug, thiserror::Error)]
pub enum RedisAdapterError {
    /// The URL is invalid.
    #[error("invalid Redis URL: {0}")]
    Url(#[source] ::redis::RedisError),
    /// Redis could not be reached.
    #[error("cannot connect to Redis: {0}")]
    Connect(#[source] ::redis::RedisError),
    /// Redis did not answer in time.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
}

/// What the server's namespaces share: the connections and the configuration.
pub(crate) struct Shared {
    config: RedisAdapterConfig,
    publisher: Publisher,
    namespaces: RwLock<HashMap<String, Weak<NsAdapter>>>,
    subscribe: mpsc::UnboundedSender<Command>,
    /// Whether the subscriber is connected and subscribed. While it is not, Redis is taken as
    /// unreachable: commands fail at once rather than each waiting for the timeout.
    connected: AtomicBool,
}

/// The publishing connection (multiplexed: every namespace's commands share it), made again
/// after a failure: a command that fails on the connection, or gets no answer in time, drops it,
/// and the next command connects anew.
struct Publisher {
    client: Client,
    timeout: Duration,
    /// The connection and its generation (so that a late failure drops only its own).
    conn: tokio::sync::Mutex<(u64, Option<MultiplexedConnection>)>,
}

impl Publisher {
    async fn connect(&self) -> RedisResult<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    /// The connection and its generation, connecting when there is none.
    async fn get(&self) -> RedisResult<(u64, MultiplexedConnection)> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = &slot.1 {
            return Ok((slot.0, conn.clone()));
        }
        let conn = self.connect().await?;
        slot.0 += 1;
        slot.1 = Some(conn.clone());
        Ok((slot.0, conn))
    }

    /// Drops the connection of generation `generation`, if it is still the current one.
    async fn drop_conn(&self, generation: u64) {
        let mut slot = self.conn.lock().await;
        if slot.0 == generation {
            slot.1 = None;
        }
    }

    /// Runs a command, within the timeout.
    async fn query<T: ::redis::FromRedisValue>(&self, cmd: &::redis::Cmd) -> Result<T, String> {
        let timeout = self.timeout;
        let (generation, mut conn) = tokio::time::timeout(timeout, self.get())
            .await
            .map_err(|_| format!("cannot connect within {timeout:?}"))?
            .map_err(|e| e.to_string())?;
        match tokio::time::timeout(timeout, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                // An error of Redis itself leaves the connection as it is.
                if e.is_io_error()
                    || e.is_connection_dropped()
                    || e.is_timeout()
                    || e.is_unrecoverable_error()
                {
                    self.drop_conn(generation).await;
                }
                Err(e.to_string())
            }
            Err(_) => {
                self.drop_conn(generation).await;
                Err(format!("no answer within {timeout:?}"))
            }
        }
    }
}

/// What the subscriber task is asked to do.
#[derive(Debug)]
pub(crate) enum Command {
    /// Subscribe to a new namespace's channels.
    Subscribe(String),
    /// A namespace's adapter is gone: unsubscribe from its channels (only from its own
    /// response channel when another adapter serves the path now), so that the other servers
    /// no longer count this one for it.
    Unsubscribe {
        path: String,
        uid: String,
        all: bool,
    },
}

impl Shared {
    /// Publishes a message, within the request timeout.
    pub(crate) async fn publish(
        &self,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), AdapterError> {
        let cmd = ::redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(payload)
            .to_owned();
        self.query::<i64>(&cmd)
            .await
            .map(|_| ())
            .map_err(|e| AdapterError(format!("redis: cannot publish on {channel}: {e}")))
    }

    /// How many connections are subscribed to `channel`.
    pub(crate) async fn numsub(&self, channel: &str) -> Result<u64, AdapterError> {
        let cmd = ::redis::cmd("PUBSUB").arg("NUMSUB").arg(channel).to_owned();
        let (_, n) = self
            .query::<(String, u64)>(&cmd)
            .await
            .map_err(|e| AdapterError(format!("redis: cannot count the servers: {e}")))?;
        Ok(n)
    }

    async fn query<T: ::redis::FromRedisValue>(&self, cmd: &::redis::Cmd) -> Result<T, String> {
        if !self.connected.load(Ordering::Acquire) {
            return Err("not connected (reconnecting)".to_owned());
        }
        self.publisher.query(cmd).await
    }

    pub(crate) fn config(&self) -> &RedisAdapterConfig {
        &self.config
    }

    /// Called when a namespace's adapter is dropped.
    pub(crate) fn forget(&self, path: &str, uid: &str) {
        let all = {
            let mut map = write(&self.namespaces);
            let gone = map.get(path).is_none_or(|w| w.strong_count() == 0);
            if gone {
                map.remove(path);
            }
            gone
        };
        let _ = self.subscribe.send(Command::Unsubscribe {
            path: path.to_owned(),
            uid: uid.to_owned(),
            all,
        });
    }
}

/// A server's link to Redis: make one with [`RedisAdapter::connect`], then give its
/// [`factory`](RedisAdapter::factory) to `SocketIo::builder().adapter(..)`.
#[derive(Clone)]
pub struct RedisAdapter {
    shared: Arc<Shared>,
}

impl fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("config", &self.shared.config)
            .field("namespaces", &read(&self.shared.namespaces).len())
            .finish()
    }
}

impl RedisAdapter {
    /// Connects to Redis at `url` (`redis://host:port/`): the publishing and the subscribing
    /// connections. Must be called within a tokio runtime, which then runs the subscriber.
    pub async fn connect(url: &str, config: RedisAdapterConfig) -> Result<Self, RedisAdapterError> {
        let client = Client::open(url).map_err(RedisAdapterError::Url)?;
        let timeout = config.requests_timeout;
        // One attempt for each connection, which says why it failed.
        let first = subscriber_connection(&client, timeout)
            .await
            .map_err(|e| match e {
                Some(e) => RedisAdapterError::Connect(e),
                None => RedisAdapterError::Timeout(timeout),
            })?;
        let publisher = Publisher {
            client: client.clone(),
            timeout,
            conn: tokio::sync::Mutex::new((0, None)),
        };
        tokio::time::timeout(timeout, publisher.get())
            .await
            .map_err(|_| RedisAdapterError::Timeout(timeout))?
            .map_err(RedisAdapterError::Connect)?;
        let (subscribe, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            config,
            publisher,
            namespaces: RwLock::default(),
            subscribe,
            connected: AtomicBool::new(true),
        });
        tokio::spawn(subscriber(client, first, Arc::downgrade(&shared), rx));
        Ok(RedisAdapter { shared })
    }

    /// The adapter factory to give to `SocketIo::builder().adapter(..)` (`N`, the builder's
    /// `WeakNamespace`, is inferred): one adapter per namespace, all on this link.
    ///
    /// A link serves one server: each `SocketIo` of a process that should count as a server of
    /// the cluster needs its own [`connect`](Self::connect) (Redis counts servers by their
    /// subscribing connections).
    pub fn factory<N: Into<LocalNamespaceRef>>(
        &self,
    ) -> impl Fn(N) -> Arc<dyn Adapter> + Send + Sync + 'static {
        let shared = self.shared.clone();
        move |ns: N| {
            let adapter = NsAdapter::new(ns.into(), shared.clone());
            let path = adapter.path().to_owned();
            let before = write(&shared.namespaces).insert(path.clone(), Arc::downgrade(&adapter));
            if before.is_some_and(|b| b.strong_count() > 0) {
                tracing::warn!(
                    ns = path,
                    "redis adapter: a second live namespace {path} on one link (one link per server): \
                     the first one no longer receives from the cluster"
                );
            }
            // The subscriber subscribes it (now, or when it next connects).
            let _ = shared.subscribe.send(Command::Subscribe(path));
            adapter
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RedisAdapterConfig {
        &self.shared.config
    }
}

type PubSubParts = (::redis::aio::PubSubSink, ::redis::aio::PubSubStream);

/// A new subscribing connection; `None` as the error when it timed out.
async fn subscriber_connection(
    client: &Client,
    timeout: Duration,
) -> Result<PubSubParts, Option<::redis::RedisError>> {
    match tokio::time::timeout(timeout, client.get_async_pubsub()).await {
        Ok(Ok(ps)) => Ok(ps.split()),
        Ok(Err(e)) => Err(Some(e)),
        Err(_) => Err(None),
    }
}

/// The channels of namespace `path` for the adapter `uid`: the broadcast pattern, the
/// request, the shared response and the adapter's own response channels.
fn channels(prefix: &str, path: &str, uid: &str) -> [String; 4] {
    [
        format!("{prefix}#{path}#*"),
        format!("{prefix}-request#{path}#"),
        format!("{prefix}-response#{path}#"),
        format!("{prefix}-response#{path}#{uid}#"),
    ]
}

/// Unsubscribes from a namespace's channels (see [`Command::Unsubscribe`]).
async fn unsubscribe_ns(
    sink: &mut ::redis::aio::PubSubSink,
    routes: &mut HashMap<String, (String, Channel)>,
    prefix: &str,
    (path, uid, all): (&str, &str, bool),
) -> ::redis::RedisResult<()> {
    let [pattern, request, response, specific] = channels(prefix, path, uid);
    routes.remove(&specific);
    sink.unsubscribe(&specific).await?;
    if all {
        routes.remove(&pattern);
        routes.remove(&request);
        routes.remove(&response);
        sink.punsubscribe(&pattern).await?;
        sink.unsubscribe(&[&request, &response]).await?;
    }
    Ok(())
}

/// The subscriptions of one namespace, and where their messages go.
async fn subscribe_ns(
    sink: &mut ::redis::aio::PubSubSink,
    routes: &mut HashMap<String, (String, Channel)>,
    shared: &Shared,
    path: &str,
) -> ::redis::RedisResult<()> {
    let Some(adapter) = read(&shared.namespaces).get(path).and_then(Weak::upgrade) else {
        return Ok(());
    };
    let [pattern, request, response, specific] = channels(&shared.config.key, path, adapter.uid());
    routes.insert(pattern.clone(), (path.to_owned(), Channel::Broadcast));
    routes.insert(request.clone(), (path.to_owned(), Channel::Request));
    routes.insert(response.clone(), (path.to_owned(), Channel::Response));
    routes.insert(specific.clone(), (path.to_owned(), Channel::Response));
    sink.psubscribe(&pattern).await?;
    sink.subscribe(&[&request, &response, &specific]).await?;
    Ok(())
}

/// The subscribing connection's task: subscribes each namespace, hands each message to its
/// namespace's adapter, and reconnects (subscribing everything again) when the connection drops.
/// It ends when the server's adapters are all gone.
async fn subscriber(
    client: Client,
    first: PubSubParts,
    shared: Weak<Shared>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut conn = Some(first);
    let mut backoff = Duration::from_millis(50);
    loop {
        let Some(timeout) = shared.upgrade().map(|s| s.config.requests_timeout) else {
            return;
        };
        let (mut sink, mut stream) = match conn.take() {
            Some(c) => c,
            None => match subscriber_connection(&client, timeout).await {
                Ok(c) => c,
                Err(e) => {
                    let why = e.map_or_else(|| "timed out".to_owned(), |e| e.to_string());
                    tracing::warn!("redis adapter: cannot reconnect the subscriber: {why}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            },
        };
        let mut routes = HashMap::new();
        let mut ok = true;
        {
            let Some(s) = shared.upgrade() else { return };
            let paths: Vec<String> = read(&s.namespaces).keys().cloned().collect();
            for path in paths {
                if let Err(e) = subscribe_ns(&mut sink, &mut routes, &s, &path).await {
                    tracing::warn!("redis adapter: cannot subscribe for {path}: {e}");
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            backoff = Duration::from_millis(50);
            if let Some(s) = shared.upgrade() {
                s.connected.store(true, Ordering::Release);
            }
            // The subscribing connection is checked every request timeout (1 s to 30 s).
            let period = timeout.clamp(Duration::from_secs(1), Duration::from_secs(30));
            let mut heartbeat =
                tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            loop {
                tokio::select! {
                    _ = heartbeat.tick() => {
                        // A connection that went silent (a half-open TCP connection) ends no
                        // stream: a PING that gets no answer in time ends it.
                        let pong = tokio::time::timeout(timeout, sink.ping::<::redis::Value>()).await;
                        if !matches!(pong, Ok(Ok(_))) {
                            tracing::warn!("redis adapter: the subscriber connection does not answer PING");
                            break;
                        }
                    }
                    command = commands.recv() => {
                        let Some(command) = command else { return };
                        let Some(s) = shared.upgrade() else { return };
                        let done = match &command {
                            Command::Subscribe(path) => {
                                subscribe_ns(&mut sink, &mut routes, &s, path).await
                            }
                            Command::Unsubscribe { path, uid, all } => {
                                let ns = (path.as_str(), uid.as_str(), *all);
                                unsubscribe_ns(&mut sink, &mut routes, &s.config.key, ns).await
                            }
                        };
                        if let Err(e) = done {
                            tracing::warn!("redis adapter: cannot apply {command:?}: {e}");
                            break;
                        }
                    }
                    msg = stream.next() => {
                        let Some(msg) = msg else { break };
                        let Some(s) = shared.upgrade() else { return };
                        dispatch(&s, &routes, &msg).await;
                    }
                }
            }
        }
        if let Some(s) = shared.upgrade() {
            s.connected.store(false, Ordering::Release);
        }
        tracing::warn!("redis adapter: the subscriber connection was lost; reconnecting");
        tokio::time::sleep(backoff).await;
    }
}

/// Hands a message to its namespace's adapter.
async fn dispatch(
    shared: &Shared,
    routes: &HashMap<String, (String, Channel)>,
    msg: &::redis::Msg,
) {
    let pattern: Option<String> = msg.get_pattern().unwrap_or(None);
    let key = pattern.as_deref().unwrap_or(msg.get_channel_name());
    let Some((path, channel)) = routes.get(key) else {
        tracing::debug!("redis adapter: message on an unknown channel {key}");
        return;
    };
    let adapter = read(&shared.namespaces).get(path).and_then(Weak::upgrade);
    if let Some(adapter) = adapter {
        // User code runs here (server-side listeners, outgoing listeners): a panic in it must
        // not end the subscriber.
        let handled = AssertUnwindSafe(adapter.on_message(
            *channel,
            msg.get_channel_name(),
            msg.get_payload_bytes(),
        ))
        .catch_unwind()
        .await;
        if handled.is_err() {
            tracing::error!(
                channel = msg.get_channel_name(),
                "redis adapter: a listener panicked on a message from another server"
            );
        }
    }
}

/// Reads a message of any of the adapter's channels as their handlers do, without acting on
/// it (the `fuzzing` feature's entry point): as a broadcast, and as a request or a response
/// with every field a handler reads.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_message(data: &[u8]) {
    let _ = wire::decode_broadcast(data, "/");
    let Ok(v) = wire::decode_any(data) else {
        return;
    };
    let _ = (wire::string(&v, "requestId"), wire::string(&v, "uid"));
    let _ = wire::int(&v, "type");
    let _ = wire::read_opts(v.get("opts"));
    let _ = wire::rooms(v.get("rooms"));
    let _ = wire::ack_timeout_ms(v.get("opts"));
    if let Some(packet) = v.get("packet") {
        let _ = wire::read_event(packet, "/");
    }
    if let Some(sockets) = v
        .get("sockets")
        .and_then(crate::protocol::value::Value::as_array)
    {
        for s in sockets {
            let _ = handshake::socket_info(s, "/");
        }
    }
}
