//! Engine configuration and its builder.

use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

use http::{HeaderMap, request::Parts};

type AllowFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
pub(crate) type AllowRequestFn = Arc<dyn Fn(&Parts) -> AllowFuture + Send + Sync>;
pub(crate) type SessionIdFn = Arc<dyn Fn(&Parts) -> String + Send + Sync>;
pub(crate) type HeadersFn = Arc<dyn Fn(&mut HeaderMap, &Parts) + Send + Sync>;

/// The default threshold of HTTP compression: polling responses of at least 1024 bytes are
/// compressed (the reference server's `httpCompression.threshold`).
pub const DEFAULT_COMPRESSION_THRESHOLD: usize = 1024;

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
    pub(crate) max_pending: usize,
    pub(crate) max_pending_per_address: usize,
    pub(crate) http_compression: Option<usize>,
    pub(crate) cookie: Option<Cookie>,
    pub(crate) session_id: Option<SessionIdFn>,
    pub(crate) initial_headers: Option<HeadersFn>,
    pub(crate) headers: Option<HeadersFn>,
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
            max_pending: usize::MAX,
            max_pending_per_address: usize::MAX,
            http_compression: Some(DEFAULT_COMPRESSION_THRESHOLD),
            cookie: None,
            session_id: None,
            initial_headers: None,
            headers: None,
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
            .field("max_pending", &self.max_pending)
            .field("max_pending_per_address", &self.max_pending_per_address)
            .field("http_compression", &self.http_compression)
            .field("cookie", &self.cookie)
            .field("session_id", &self.session_id.is_some())
            .field("initial_headers", &self.initial_headers.is_some())
            .field("headers", &self.headers.is_some())
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

    /// The threshold of HTTP compression of polling responses, in bytes; `None` when it is
    /// off.
    pub fn http_compression(&self) -> Option<usize> {
        self.http_compression
    }

    /// The sticky-session cookie set on handshakes, if any.
    pub fn cookie(&self) -> Option<&Cookie> {
        self.cookie.as_ref()
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

    /// How many sessions may be pending at once, server-wide (default: no bound). A session is
    /// pending from its handshake until the layer above admits it ([`Session::admit`]: the
    /// Socket.IO layer does when the session's first namespace connects) or it closes. A
    /// handshake past the bound is refused with HTTP 503 and a JSON error body (Engine.IO code
    /// 4), logged at WARN; the official clients retry later. Set it only with a handler that
    /// admits its sessions.
    ///
    /// [`Session::admit`]: super::Session::admit
    pub fn max_pending(mut self, sessions: usize) -> Self {
        self.0.max_pending = sessions;
        self
    }

    /// How many sessions may be pending at once from one IP address (default: no bound), as
    /// [`max_pending`](Self::max_pending); past it, a handshake is refused with HTTP 429. The
    /// address is the `std::net::SocketAddr` a layer in front put in the request's extensions
    /// (as the hyper recipe does); requests without one count only toward the server-wide
    /// bound. Behind a reverse proxy every client has the proxy's address: put the client's
    /// own there, or raise the bound.
    pub fn max_pending_per_address(mut self, sessions: usize) -> Self {
        self.0.max_pending_per_address = sessions;
        self
    }

    /// HTTP compression of polling responses (default on, threshold
    /// [`DEFAULT_COMPRESSION_THRESHOLD`], 1024 bytes, as the reference server's
    /// `httpCompression`): a polling response of at least `threshold` bytes is compressed with
    /// gzip or deflate when the request's `Accept-Encoding` accepts one (the client's preference
    /// first), at zlib's default level. `None` turns it off. Polling only: the handshake's small
    /// answer and the POST acknowledgements are below any sensible threshold, and WebSocket
    /// frames are never compressed (see the README on permessage-deflate).
    pub fn http_compression(mut self, threshold: Option<usize>) -> Self {
        self.0.http_compression = threshold;
        self
    }

    /// A sticky-session cookie set on every handshake response, whose value is the session id
    /// (default none, as the reference server's `cookie` option), for a load balancer that
    /// routes by cookie. See [`Cookie`] for its attributes.
    pub fn cookie(mut self, cookie: Cookie) -> Self {
        self.0.cookie = Some(cookie);
        self
    }

    /// Chooses the id of each new session from its handshake request (default: 128 random
    /// bits in URL-safe base64, 22 characters), as the reference server's `generateId`. The
    /// id must be unique among open sessions, 1 to 128 characters of `A-Z a-z 0-9 - _ . ~`
    /// (it travels in URLs and cookies unescaped); a handshake given an invalid or taken id is
    /// refused with HTTP 500, and the refusal logged at WARN. This is the Engine.IO session id;
    /// Socket.IO sockets have ids of their own.
    pub fn session_id<F>(mut self, f: F) -> Self
    where
        F: Fn(&Parts) -> String + Send + Sync + 'static,
    {
        self.0.session_id = Some(Arc::new(f));
        self
    }

    /// Adds headers to each handshake response (polling or WebSocket), as the reference
    /// server's `initial_headers` event: called with the response's headers and the request,
    /// after the [`cookie`](Self::cookie) is set and before the
    /// [`headers`](Self::headers) hook (default none).
    pub fn initial_headers<F>(mut self, f: F) -> Self
    where
        F: Fn(&mut HeaderMap, &Parts) + Send + Sync + 'static,
    {
        self.0.initial_headers = Some(Arc::new(f));
        self
    }

    /// Adds headers to every response of the engine's transports (each polling GET and POST,
    /// each WebSocket handshake or upgrade), as the reference server's `headers` event: called
    /// with the response's headers and the request (default none). Error answers (an unknown
    /// session, a refused handshake) do not go through it.
    pub fn headers<F>(mut self, f: F) -> Self
    where
        F: Fn(&mut HeaderMap, &Parts) + Send + Sync + 'static,
    {
        self.0.headers = Some(Arc::new(f));
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

/// The `SameSite` attribute of a [`Cookie`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax` (the default).
    Lax,
    /// `SameSite=None` (browsers then require [`Cookie::secure`]).
    None,
}

/// A sticky-session cookie (see [`EngineConfigBuilder::cookie`]): `name=<session id>` with
/// the reference server's defaults, name `io`, `Path=/`, `HttpOnly`, `SameSite=Lax`.
///
/// ```
/// use tower_socketio::engine::{Cookie, SameSite};
///
/// let c = Cookie::new("lb").path(None).same_site(Some(SameSite::Strict));
/// assert_eq!(c.header_value("abc"), "lb=abc; SameSite=Strict");
/// assert_eq!(Cookie::default().header_value("abc"), "io=abc; Path=/; HttpOnly; SameSite=Lax");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    name: String,
    path: Option<String>,
    http_only: bool,
    same_site: Option<SameSite>,
    secure: bool,
    domain: Option<String>,
    max_age: Option<Duration>,
}

impl Default for Cookie {
    fn default() -> Self {
        Cookie::new("io")
    }
}

impl Cookie {
    /// A cookie named `name`, with `Path=/`, `HttpOnly` and `SameSite=Lax`.
    pub fn new(name: impl Into<String>) -> Self {
        Cookie {
            name: name.into(),
            path: Some("/".into()),
            http_only: true,
            same_site: Some(SameSite::Lax),
            secure: false,
            domain: None,
            max_age: None,
        }
    }

    /// The `Path` attribute (default `/`); `None` leaves it out, and then `HttpOnly` too, as
    /// the reference server does with `path: false` (call [`http_only`](Self::http_only)
    /// after this to choose otherwise).
    pub fn path(mut self, path: Option<&str>) -> Self {
        self.http_only = path.is_some();
        self.path = path.map(str::to_owned);
        self
    }

    /// The `HttpOnly` attribute (default on).
    pub fn http_only(mut self, yes: bool) -> Self {
        self.http_only = yes;
        self
    }

    /// The `SameSite` attribute (default `Lax`); `None` leaves it out.
    pub fn same_site(mut self, same_site: Option<SameSite>) -> Self {
        self.same_site = same_site;
        self
    }

    /// The `Secure` attribute (default off).
    pub fn secure(mut self, yes: bool) -> Self {
        self.secure = yes;
        self
    }

    /// The `Domain` attribute (default none).
    pub fn domain(mut self, domain: Option<&str>) -> Self {
        self.domain = domain.map(str::to_owned);
        self
    }

    /// The `Max-Age` attribute, in whole seconds (default none: a session cookie).
    pub fn max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    /// The cookie's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `Set-Cookie` value for a session id.
    pub fn header_value(&self, sid: &str) -> String {
        use std::fmt::Write;
        let mut v = format!("{}={sid}", self.name);
        if let Some(age) = self.max_age {
            let _ = write!(v, "; Max-Age={}", age.as_secs());
        }
        if let Some(domain) = &self.domain {
            let _ = write!(v, "; Domain={domain}");
        }
        if let Some(path) = &self.path {
            let _ = write!(v, "; Path={path}");
        }
        if self.http_only {
            v.push_str("; HttpOnly");
        }
        if self.secure {
            v.push_str("; Secure");
        }
        match self.same_site {
            Some(SameSite::Strict) => v.push_str("; SameSite=Strict"),
            Some(SameSite::Lax) => v.push_str("; SameSite=Lax"),
            Some(SameSite::None) => v.push_str("; SameSite=None"),
            None => {}
        }
        v
    }
}
