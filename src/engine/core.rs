//! The engine: the session map and the routing of each HTTP request.

use std::{
    collections::{HashMap, hash_map::Entry},
    fmt,
    net::{IpAddr, SocketAddr},
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use bytes::{Bytes, BytesMut};
use http::{Method, Request, Response, StatusCode, header, request::Parts};
use http_body::Body as HttpBody;
use tracing::Instrument;

use super::Body;
use super::{
    EngineConfig, EngineHandler, Frame, TransportKind, compress,
    error::ProtocolError,
    heartbeat::Heartbeats,
    log::{Remote, WarnLimit},
    polling,
    session::{Session, guard},
    telemetry::EngineMetrics,
    websocket,
};
use crate::protocol::engine_io::{self, EioVersion};

/// The Engine.IO server: its configuration, its handler and its open sessions.
///
/// Held in an `Arc` by the tower layer and its services (`service::EngineLayer::engine` gives
/// access to it).
pub struct Engine {
    config: EngineConfig,
    handler: Arc<dyn EngineHandler>,
    sessions: RwLock<HashMap<Arc<str>, Session>>,
    /// Sessions opened and not closed yet (a closed polling session stays in `sessions` until
    /// its last poll).
    open: AtomicUsize,
    closing: AtomicBool,
    pending: Mutex<Pending>,
    heartbeats: Arc<Heartbeats>,
    warn_limit: WarnLimit,
    metrics: EngineMetrics,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("sessions", &self.session_count())
            .field("closing", &self.closing.load(Ordering::Relaxed))
            .finish()
    }
}

/// The sessions not admitted yet (see [`EngineConfigBuilder::max_pending`]), in all and by
/// address (tracked only under a bound per address).
///
/// [`EngineConfigBuilder::max_pending`]: super::EngineConfigBuilder::max_pending
#[derive(Debug, Default)]
struct Pending {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// The query parameters the engine reads.
#[derive(Debug, Default)]
struct Query<'a> {
    eio: Option<&'a str>,
    transport: Option<&'a str>,
    sid: Option<&'a str>,
    /// Engine.IO v3: the client reads no binary payloads.
    b64: bool,
}

fn parse_query(q: &str) -> Query<'_> {
    let mut out = Query::default();
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "EIO" => out.eio = Some(v),
            "transport" => out.transport = Some(v),
            "sid" => out.sid = Some(v),
            "b64" => out.b64 = true,
            _ => {}
        }
    }
    out
}

impl Engine {
    /// An engine serving `handler` with `config`.
    pub fn new(handler: Arc<dyn EngineHandler>, config: EngineConfig) -> Arc<Engine> {
        Arc::new(Engine {
            heartbeats: Heartbeats::new(config.ping_interval, config.ping_timeout),
            config,
            handler,
            sessions: RwLock::new(HashMap::new()),
            open: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
            pending: Mutex::default(),
            warn_limit: WarnLimit::new(),
            metrics: EngineMetrics::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The budget of this engine's warnings.
    pub(crate) fn warn_limit(&self) -> &WarnLimit {
        &self.warn_limit
    }

    /// This engine's metric handles.
    pub(crate) fn metrics(&self) -> &EngineMetrics {
        &self.metrics
    }

    pub(crate) fn heartbeats(&self) -> &Arc<Heartbeats> {
        &self.heartbeats
    }

    pub(crate) fn handler(&self) -> &dyn EngineHandler {
        &*self.handler
    }

    /// How many sessions are open: handshaken and not closed, whatever their transport and
    /// whether or not a layer above accepted them. An atomic load.
    pub fn session_count(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Starts keeping the byte totals of [`bytes_received`](Self::bytes_received) and
    /// [`bytes_sent`](Self::bytes_sent) (off until called: each session's task would otherwise
    /// write the same two counters at every wake-up, for nothing).
    pub fn track_bytes(&self) {
        self.metrics.received.track();
        self.metrics.sent.track();
    }

    /// The bytes received from clients since [`track_bytes`](Self::track_bytes), over both
    /// transports (WebSocket messages, polling POST bodies); 0 until then. An atomic load.
    pub fn bytes_received(&self) -> u64 {
        self.metrics.received.total()
    }

    /// The bytes sent to clients since [`track_bytes`](Self::track_bytes), over both
    /// transports (WebSocket messages, polling answers); 0 until then. An atomic load.
    pub fn bytes_sent(&self) -> u64 {
        self.metrics.sent.total()
    }

    /// How many sessions are pending: open and not admitted by the layer above yet (with
    /// Socket.IO: not connected to a namespace yet). A lock read.
    pub fn pending_count(&self) -> usize {
        self.lock_pending().total
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        // Never held across user code or a panic point.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a new pending session from `address`, unless a bound is reached.
    fn reserve_pending(&self, address: Option<IpAddr>) -> Result<(), ProtocolError> {
        let mut pending = self.lock_pending();
        if pending.total >= self.config.max_pending {
            return Err(ProtocolError::TooManyPending);
        }
        if let Some(ip) = address
            && self.config.max_pending_per_address != usize::MAX
        {
            let n = pending.by_address.entry(ip).or_default();
            if *n >= self.config.max_pending_per_address {
                return Err(ProtocolError::TooManyPendingFromAddress);
            }
            *n += 1;
        }
        pending.total += 1;
        Ok(())
    }

    /// A pending session was admitted or closed (once per session).
    pub(crate) fn release_pending(&self, address: Option<IpAddr>) {
        let mut pending = self.lock_pending();
        pending.total = pending.total.saturating_sub(1);
        if let Some(ip) = address
            && let Some(n) = pending.by_address.get_mut(&ip)
        {
            *n -= 1;
            if *n == 0 {
                pending.by_address.remove(&ip);
            }
        }
    }

    /// A session closed (called once per session, by its close).
    pub(crate) fn session_closed(&self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }

    /// The session with this id, if it is open.
    pub fn session(&self, id: &str) -> Option<Session> {
        self.read_sessions().get(id).cloned()
    }

    /// Whether a request is for this engine (its path, with or without the trailing slash).
    pub fn matches(&self, path: &str) -> bool {
        let own = self.config.path.as_str();
        path == own || Some(path) == own.strip_suffix('/')
    }

    /// Shuts down: new sessions are refused, and every open session is closed with
    /// [`DisconnectReason::ServerShutdown`](super::DisconnectReason::ServerShutdown) after what
    /// was queued for it is delivered.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        let sessions: Vec<Session> = self.read_sessions().values().cloned().collect();
        for s in sessions {
            s.close_with(super::DisconnectReason::ServerShutdown);
        }
    }

    /// Stops accepting new sessions: every handshake from now on is refused with HTTP 403
    /// (`Server is shutting down`). Open sessions go on.
    pub fn stop_accepting(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }

    /// Shuts down and waits: new sessions are refused, every open session is closed with
    /// [`DisconnectReason::ServerShutdown`](super::DisconnectReason::ServerShutdown), and the
    /// future resolves once each has delivered what was queued for it and its close packet, or
    /// when `deadline` has passed. Resolves to whether every session finished in time.
    ///
    /// A polling client finishes when its next poll takes the close packet; a WebSocket when the
    /// close packet and the Close frame are written (a peer that does not read is given up after
    /// 2 s). Nothing happens until the future is polled.
    pub async fn shutdown(&self, deadline: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + deadline;
        self.stop_accepting();
        let sessions: Vec<Session> = self.read_sessions().values().cloned().collect();
        for s in &sessions {
            s.close_with(super::DisconnectReason::ServerShutdown);
        }
        let all = futures_util::future::join_all(sessions.iter().map(Session::finished));
        let finished = tokio::time::timeout_at(deadline, all).await.is_ok();
        if !finished {
            let left = sessions.iter().filter(|s| !s.is_finished()).count();
            tracing::warn!(
                left,
                "shutdown deadline passed before every session finished"
            );
        }
        finished
    }

    fn read_sessions(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Arc<str>, Session>> {
        self.sessions.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn remove(&self, id: &str) {
        self.sessions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// Answers one request to the engine's path.
    pub async fn handle<B>(self: Arc<Self>, req: Request<B>) -> Response<Body>
    where
        B: HttpBody + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (mut parts, body) = req.into_parts();
        let query = parse_query(parts.uri.query().unwrap_or(""));
        let version = match query.eio {
            Some("4") => EioVersion::V4,
            Some("3") if self.config.allow_eio3 => EioVersion::V3,
            _ => {
                self.refused(&parts, ProtocolError::UnsupportedProtocolVersion);
                return ProtocolError::UnsupportedProtocolVersion.response(None);
            }
        };
        let transport = match query.transport {
            Some("polling") if self.config.transports.polling => TransportKind::Polling,
            Some("websocket") if self.config.transports.websocket => TransportKind::WebSocket,
            _ => {
                self.refused(&parts, ProtocolError::UnknownTransport);
                return ProtocolError::UnknownTransport.response(None);
            }
        };
        match (transport, query.sid) {
            (_, None) => {
                let base64 = query.b64;
                self.handshake(transport, version, base64, parts).await
            }
            (TransportKind::Polling, Some(sid)) => {
                let Some(session) = self.session(sid) else {
                    return ProtocolError::UnknownSid.response(None);
                };
                if session.protocol() != version {
                    return ProtocolError::BadRequest.response(None);
                }
                let span = session.span().clone();
                let res = match parts.method {
                    Method::GET => {
                        let res = polling::get(session).instrument(span).await;
                        self.compressed(res, &parts)
                    }
                    Method::POST => {
                        // A v3 client posts binary payloads as such.
                        let binary = version == EioVersion::V3
                            && parts.headers.get(header::CONTENT_TYPE).is_some_and(|v| {
                                v.as_bytes().starts_with(b"application/octet-stream")
                            });
                        let declared = declared_length(&parts.headers);
                        polling::post(session, declared, binary, body)
                            .instrument(span)
                            .await
                    }
                    _ => return ProtocolError::BadRequest.response(None),
                };
                self.with_headers(res, &parts, None)
            }
            (TransportKind::WebSocket, Some(sid)) => {
                let Some(session) = self.session(sid) else {
                    return ProtocolError::UnknownSid.response(None);
                };
                if session.protocol() != version {
                    // As the reference: an upgrade must keep the session's revision.
                    self.refused(&parts, ProtocolError::BadRequest);
                    return ProtocolError::BadRequest.response(None);
                }
                let base64 = query.b64;
                let _entered = session.span().clone().entered();
                let res = websocket::upgrade(session, &mut parts, base64);
                self.with_headers(res, &parts, None)
            }
        }
    }

    /// A polling response compressed as the request accepts, when compression is on.
    fn compressed(&self, res: Response<Body>, parts: &Parts) -> Response<Body> {
        match self.config.http_compression {
            Some(threshold) => compress::polling_response(res, &parts.headers, threshold),
            None => res,
        }
    }

    /// A transport's response with the configured headers: on a handshake (`sid` given), the
    /// sticky cookie and the `initial_headers` hook first; then the `headers` hook. Error
    /// answers go as they are.
    fn with_headers(
        &self,
        mut res: Response<Body>,
        parts: &Parts,
        sid: Option<&str>,
    ) -> Response<Body> {
        let status = res.status();
        if !(status.is_success() || status == StatusCode::SWITCHING_PROTOCOLS) {
            return res;
        }
        if let Some(sid) = sid {
            if let Some(cookie) = &self.config.cookie {
                match header::HeaderValue::from_str(&cookie.header_value(sid)) {
                    Ok(v) => {
                        res.headers_mut().append(header::SET_COOKIE, v);
                    }
                    Err(_) => {
                        if self.warn_limit.allow() {
                            tracing::warn!(
                                name = cookie.name(),
                                "the sticky-session cookie is not a valid header value, not set"
                            );
                        }
                    }
                }
            }
            if let Some(hook) = &self.config.initial_headers {
                hook(res.headers_mut(), parts);
            }
        }
        if let Some(hook) = &self.config.headers {
            hook(res.headers_mut(), parts);
        }
        res
    }

    async fn handshake(
        self: Arc<Self>,
        transport: TransportKind,
        version: EioVersion,
        base64: bool,
        mut parts: Parts,
    ) -> Response<Body> {
        if parts.method != Method::GET {
            self.refused(&parts, ProtocolError::BadHandshakeMethod);
            return ProtocolError::BadHandshakeMethod.response(None);
        }
        if self.closing.load(Ordering::SeqCst) {
            return ProtocolError::Forbidden.response(Some("Server is shutting down"));
        }
        let ws = if transport == TransportKind::WebSocket {
            match websocket::accept(&mut parts, self.config.max_payload) {
                Ok(ws) => Some(ws),
                Err(message) => {
                    self.refused(&parts, ProtocolError::BadRequest);
                    return ProtocolError::BadRequest.response(Some(message));
                }
            }
        } else {
            None
        };
        if let Some(allow) = &self.config.allow_request
            && let Err(message) = allow(&parts).await
        {
            tracing::debug!(%message, "handshake refused by allow_request");
            return ProtocolError::Forbidden.response(Some(&message));
        }
        let id = match &self.config.session_id {
            None => crate::protocol::new_id(),
            Some(generate) => {
                let id = generate(&parts);
                if !valid_session_id(&id) {
                    return self.bad_session_id(&parts, "invalid");
                }
                Arc::from(id)
            }
        };
        let address = parts.extensions.get::<SocketAddr>().map(SocketAddr::ip);
        if let Err(error) = self.reserve_pending(address) {
            self.refused(&parts, error);
            return error.response(None);
        }
        let session = Session::new(id.clone(), self.clone(), transport, parts, version, base64);
        let open = self.open_packet(&id, transport);
        {
            let mut sessions = self.sessions.write().unwrap_or_else(|p| p.into_inner());
            match sessions.entry(id) {
                Entry::Vacant(e) => {
                    e.insert(session.clone());
                }
                Entry::Occupied(_) => {
                    drop(sessions);
                    self.release_pending(address);
                    return self.bad_session_id(session.request(), "already in use");
                }
            }
        }
        self.open.fetch_add(1, Ordering::AcqRel);
        match version {
            EioVersion::V4 => self.heartbeats.schedule(&session),
            // The client pings: the server waits for the first one.
            EioVersion::V3 => self.heartbeats.expect_ping(&session),
        }
        let _entered = session.span().clone().entered();
        tracing::debug!(sid = %session.id(), transport = transport.as_str(), "session opened");
        match ws {
            Some(ws) => {
                // The open packet goes first in the queue, ahead of anything `on_connect` sends.
                let _ = session.send(Frame::Text(open.into()));
                guard(&session, "on_connect", || self.handler.on_connect(&session));
                let request = session.shared_request();
                let res = ws.run(session.clone());
                self.with_headers(res, &request, Some(session.id()))
            }
            None => {
                guard(&session, "on_connect", || self.handler.on_connect(&session));
                let open = match version {
                    EioVersion::V4 => Bytes::from(open),
                    EioVersion::V3 => {
                        let mut payload = BytesMut::with_capacity(open.len() + 4);
                        let frame = Frame::Text(open.into());
                        engine_io::v3::encode_payload([&frame], false, &mut payload);
                        payload.freeze()
                    }
                };
                let mut res = Response::new(Body::full(open));
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("text/plain; charset=UTF-8"),
                );
                let request = session.shared_request();
                let res = self.compressed(res, &request);
                self.with_headers(res, &request, Some(session.id()))
            }
        }
    }

    /// Refuses a handshake whose generated session id cannot be used: HTTP 500, logged.
    fn bad_session_id(&self, parts: &Parts, why: &str) -> Response<Body> {
        if self.warn_limit.allow() {
            let remote = Remote(parts.extensions.get::<std::net::SocketAddr>().copied());
            tracing::warn!(%remote, why, "the session id generator gave an unusable id, handshake refused");
        }
        super::error::json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            Bytes::from_static(b"{\"code\":3,\"message\":\"Bad request\"}"),
        )
    }

    /// Logs a refused handshake at WARN, within the warning budget.
    fn refused(&self, parts: &Parts, error: ProtocolError) {
        if self.warn_limit.allow() {
            let remote = Remote(parts.extensions.get::<SocketAddr>().copied());
            tracing::warn!(
                target: super::VIOLATION_TARGET,
                %remote,
                uri = %parts.uri,
                %error,
                "Engine.IO request refused"
            );
        }
    }

    fn open_packet(&self, sid: &str, transport: TransportKind) -> String {
        let upgrades: &[&str] =
            if transport == TransportKind::Polling && self.config.transports.websocket {
                &["websocket"]
            } else {
                &[]
            };
        let body = serde_json::json!({
            "sid": sid,
            "upgrades": upgrades,
            "pingInterval": self.config.ping_interval.as_millis() as u64,
            "pingTimeout": self.config.ping_timeout.as_millis() as u64,
            "maxPayload": self.config.max_payload,
        });
        format!("0{body}")
    }
}

/// Whether a generated session id can be used: 1 to 128 characters of `A-Z a-z 0-9 - _ . ~`
/// (URL-unreserved, so it goes into query strings and cookies as it is).
fn valid_session_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~'))
}

/// The body length a request declares (`Content-Length`), if it declares one that parses.
fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

pub(crate) fn text_response(body: BytesMut) -> Response<Body> {
    let mut res = Response::new(Body::full(body.freeze()));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    *res.status_mut() = StatusCode::OK;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_query() {
        let q = parse_query("EIO=4&transport=polling&t=N8hyd6w&sid=abc");
        assert_eq!(q.eio, Some("4"));
        assert_eq!(q.transport, Some("polling"));
        assert_eq!(q.sid, Some("abc"));
        let q = parse_query("");
        assert!(q.eio.is_none() && q.sid.is_none());
    }
}
