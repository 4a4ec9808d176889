//! Engine configuration and its builder.

use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

use http::request::Parts;

type AllowFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
pub(crate) type AllowRequestFn = Arc<dyn Fn(&Parts) -> AllowFuture + Send + Sync>;

/// Which transports the engine accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transports {
    /// HTTP long-polling.
    pub polling: bool,
    /// WebSocket, directly or as an upgrade from polling.
    pub websocket: bool,
}

impl Default for Transports {
    fn default() -> Self {
        Transports {
            polling: true,
            websocket: true,
        }
    }
}

/// What happens when a frame does not fit in a session's outgoing queue (see
/// [`EngineConfigBuilder::max_queue_bytes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OverflowPolicy {
    /// The session is closed with
    /// [`DisconnectReason::QueueFull`](super::DisconnectReason::QueueFull): its client does not
    /// read (the default).
    #[default]
    Disconnect,
    /// The frame is dropped, as a volatile packet is, and the sender gets
    /// [`SendError::QueueFull`](super::SendError::QueueFull); the session stays open. Heartbeat
    /// pings are still queued, so a client that reads nothing at all ends with a ping timeout.
    Drop,
}

/// The engine's settings. Build one with [`EngineConfig::builder`].
#[derive(Clone)]
pub struct EngineConfig {
    pub(crate) path: String,
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) upgrade_timeout: Duration,
    pub(crate) max_payload: usize,
    pub(crate) body_timeout: Duration,
    pub(crate) transports: Transports,
    pub(crate) queue_size: usize,
    pub(crate) max_queue_bytes: usize,
    pub(crate) overflow: OverflowPolicy,
    pub(crate) allow_request: Option<AllowRequestFn>,
    pub(crate) allow_eio3: bool,
}

/// The default bound of a session's outgoing queue in bytes: 4 MiB.
pub const DEFAULT_MAX_QUEUE_BYTES: usize = 4 << 20;

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            path: "/engine.io/".into(),
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            upgrade_timeout: Duration::from_secs(10),
            max_payload: 1_000_000,
            body_timeout: Duration::from_secs(10),
            transports: Transports::default(),
            queue_size: usize::MAX,
            max_queue_bytes: DEFAULT_MAX_QUEUE_BYTES,
            overflow: OverflowPolicy::Disconnect,
            allow_request: None,
            allow_eio3: false,
        }
    }
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field("path", &self.path)
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("upgrade_timeout", &self.upgrade_timeout)
            .field("max_payload", &self.max_payload)
            .field("body_timeout", &self.body_timeout)
            .field("transports", &self.transports)
            .field("queue_size", &self.queue_size)
            .field("max_queue_bytes", &self.max_queue_bytes)
            .field("overflow", &self.overflow)
            .field("allow_request", &self.allow_request.is_some())
            .field("allow_eio3", &self.allow_eio3)
            .finish()
    }
}

impl EngineConfig {
    /// A builder with the defaults of the reference server.
    pub fn builder() -> EngineConfigBuilder {
        EngineConfigBuilder(EngineConfig::default())
    }

    /// The path the engine serves, with a trailing slash (`/engine.io/`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The interval between two pings.
    pub fn ping_interval(&self) -> Duration {
        self.ping_interval
    }

    /// How long a client has to answer a ping.
    pub fn ping_timeout(&self) -> Duration {
        self.ping_timeout
    }

    /// The largest payload accepted, in bytes.
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// The bound of a session's outgoing queue, in bytes.
    pub fn max_queue_bytes(&self) -> usize {
        self.max_queue_bytes
    }

    /// Whether Engine.IO v3 clients are served.
    pub fn allow_eio3(&self) -> bool {
        self.allow_eio3
    }
}

/// Builds an [`EngineConfig`].
#[derive(Debug, Clone)]
#[must_use]
pub struct EngineConfigBuilder(EngineConfig);

impl EngineConfigBuilder {
    /// The path to serve (default `/engine.io/`). A trailing slash is added when missing;
    /// requests to the path with or without it are served.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        self.0.path = path;
        self
    }

    /// The interval between two server pings (default 25 s).
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.0.ping_interval = d;
        self
    }

    /// How long a client has to answer a ping before its session closes (default 20 s).
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.0.ping_timeout = d;
        self
    }

    /// How long an upgrade to WebSocket may take before it is abandoned (default 10 s).
    pub fn upgrade_timeout(mut self, d: Duration) -> Self {
        self.0.upgrade_timeout = d;
        self
    }

    /// The largest polling body or WebSocket message accepted, in bytes (default 1,000,000).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.0.max_payload = bytes;
        self
    }

    /// How long a polling POST may take to send its body (default 10 s). A body declared
    /// larger than [`max_payload`](Self::max_payload) by its `Content-Length` is refused with
    /// HTTP 413 before it is read; a body not complete in time is answered HTTP 408 and its
    /// session closed as a transport error, as the reference server's HTTP layer does with a
    /// request that takes too long.
    pub fn body_timeout(mut self, d: Duration) -> Self {
        self.0.body_timeout = d;
        self
    }

    /// Which transports are accepted (default both).
    pub fn transports(mut self, transports: Transports) -> Self {
        self.0.transports = transports;
        self
    }

    /// How many frames may wait in a session's outgoing queue, at most (default: no bound of its
    /// own; [`max_queue_bytes`](Self::max_queue_bytes) bounds the queue, counting each frame).
    /// A frame that does not fit is handled by the [`OverflowPolicy`]. A bound in frames can
    /// close a polling session for one large burst (a polling response carries a few packets
    /// at a time): prefer the byte bound.
    pub fn queue_size(mut self, packets: usize) -> Self {
        self.0.queue_size = packets.max(1);
        self
    }

    /// How many bytes may wait in a session's outgoing queue (default 4 MiB,
    /// [`DEFAULT_MAX_QUEUE_BYTES`]): each frame counts its length plus 64 bytes of bookkeeping.
    /// Across transports and the upgrade (one queue per session). An empty queue takes any
    /// frame, so that one packet larger than the bound can still be sent. A frame that does
    /// not fit is handled by the [`OverflowPolicy`].
    pub fn max_queue_bytes(mut self, bytes: usize) -> Self {
        self.0.max_queue_bytes = bytes;
        self
    }

    /// What happens to a frame that does not fit in the outgoing queue (default
    /// [`OverflowPolicy::Disconnect`]).
    pub fn overflow(mut self, policy: OverflowPolicy) -> Self {
        self.0.overflow = policy;
        self
    }

    /// A check run on every handshake request before a session opens; `Err(message)` refuses it
    /// with HTTP 403 and the Engine.IO error code 4 (Forbidden).
    pub fn allow_request<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(&Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.0.allow_request = Some(Arc::new(move |parts| Box::pin(f(parts))));
        self
    }

    /// Whether Engine.IO v3 clients (`EIO=3`: the npm `socket.io-client` 2.x and the clients of
    /// its time) are served, as the reference server's `allowEIO3` (default `false`: they are
    /// refused with HTTP 400, "Unsupported protocol version").
    ///
    /// A v3 session speaks v3's polling payloads and binary messages
    /// ([`engine_io::v3`](crate::protocol::engine_io::v3)), and its heartbeat runs the other
    /// way: the client pings every `ping_interval` and waits `ping_timeout` for the pong; the
    /// server sends no pings and closes a session that has not pinged for `ping_interval +
    /// ping_timeout`. Each session keeps the revision of its handshake
    /// ([`Session::protocol`](super::Session::protocol)).
    pub fn allow_eio3(mut self, allow: bool) -> Self {
        self.0.allow_eio3 = allow;
        self
    }

    /// The configuration.
    pub fn build(self) -> EngineConfig {
        self.0
    }
}
