//! Socket.IO v5 at the protocol level: what the official clients never send or cannot provoke.
//!
//! Every test drives a `SocketIoService` in-process with `tower::ServiceExt::oneshot`, speaking
//! Engine.IO long-polling by hand ([`Client`]): a GET without `sid` opens a session, POST bodies
//! carry Socket.IO packets as `4<packet>` pieces (binary attachments as `b<base64>` pieces)
//! joined by `\x1e`, GETs read what the server queued. No sockets are opened.
//!
//! Handlers report what they saw over `tokio::sync::mpsc` channels. Tests on timers (ping, connect
//! and ack timeouts) run under paused time (`start_paused = true`): the runtime jumps to the next
//! timer when it is idle, so nothing waits on the wall clock. Every test is bounded by a tokio
//! timeout, and never sleeps to wait for what it can await: "nothing was sent" is checked by
//! sending a later packet whose answer must come next.

use std::{
    collections::VecDeque,
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    task::Poll,
    time::Duration,
};

use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::{
    sync::mpsc::{self, UnboundedReceiver, UnboundedSender},
    time::Instant,
};
use tower::ServiceExt;
use tower_socketio::{
    AckError, DisconnectReason, EmitError, RESERVED_EVENTS, SocketIo, SocketIoBuilder,
    SocketIoService, SocketRef,
    extract::{AckSender, Args, ConnectError, Data, Event, State},
    service::NotFound,
};

type Svc = SocketIoService<NotFound>;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// Bounds a test. Under paused time the limit is virtual and still bounds the test: an idle
/// runtime jumps straight to it.
async fn within<F: Future>(limit: Duration, f: F) -> F::Output {
    tokio::time::timeout(limit, f)
        .await
        .expect("the test did not finish in time")
}

/// The usual bound of a test.
async fn bounded<F: Future>(f: F) -> F::Output {
    within(Duration::from_secs(10), f).await
}

/// The next report of a handler. The limit is long enough for the timers of paused-time tests;
/// tests on real time are bounded more tightly by [`bounded`].
async fn next<T>(rx: &mut UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), rx.recv())
        .await
        .expect("no report from the server in time")
        .expect("report channel closed")
}

/// A virtual duration, give or take the timer wheel's millisecond.
#[track_caller]
fn assert_about(actual: Duration, expected: Duration) {
    assert!(
        actual >= expected && actual <= expected + Duration::from_millis(2),
        "{actual:?}, expected {expected:?}"
    );
}

/// A server with `tweak` applied to the default builder.
fn server(tweak: impl FnOnce(SocketIoBuilder) -> SocketIoBuilder) -> (Svc, SocketIo) {
    tweak(SocketIo::builder()).build_svc()
}

/// An HTTP answer.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?} (status {})", self.body, self.status))
    }
}

/// One request to the service at `/socket.io/?{query}`.
async fn call(svc: &Svc, method: Method, query: &str, body: Bytes) -> Reply {
    let req = Request::builder()
        .method(method)
        .uri(format!("/socket.io/?{query}"))
        .body(Full::new(body))
        .unwrap();
    let res = svc.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        body: String::from_utf8(body.to_vec()).expect("a UTF-8 body"),
    }
}

/// A handshake request.
async fn handshake(svc: &Svc) -> Reply {
    call(svc, Method::GET, "EIO=4&transport=polling", Bytes::new()).await
}

type PendingReply = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// A Socket.IO client speaking Engine.IO polling to the service by hand.
struct Client {
    svc: Svc,
    /// The Engine.IO session id.
    sid: String,
    /// Pieces of the last GET not read yet.
    pieces: VecDeque<String>,
}

impl Client {
    /// Opens an Engine.IO session (no namespace joined).
    async fn open(svc: &Svc) -> Client {
        let reply = handshake(svc).await;
        assert_eq!(reply.status, StatusCode::OK, "handshake: {:?}", reply.body);
        let open: Value = serde_json::from_str(
            reply
                .body
                .strip_prefix('0')
                .unwrap_or_else(|| panic!("not an open packet: {:?}", reply.body)),
        )
        .expect("open packet JSON");
        Client {
            svc: svc.clone(),
            sid: open["sid"].as_str().expect("a sid").to_owned(),
            pieces: VecDeque::new(),
        }
    }

    fn query(&self) -> String {
        format!("EIO=4&transport=polling&sid={}", self.sid)
    }

    async fn get(&self) -> Reply {
        call(&self.svc, Method::GET, &self.query(), Bytes::new()).await
    }

    /// Starts a GET and checks that it waits: when this returns, the GET holds the poll.
    async fn pending_get(&self) -> PendingReply {
        let svc = self.svc.clone();
        let query = self.query();
        let mut fut: PendingReply =
            Box::pin(async move { call(&svc, Method::GET, &query, Bytes::new()).await });
        let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
        assert!(first.is_pending(), "the GET answered at once: {first:?}");
        fut
    }

    /// POSTs a raw Engine.IO payload and checks that it is accepted.
    async fn post(&self, payload: &str) {
        let reply = call(
            &self.svc,
            Method::POST,
            &self.query(),
            Bytes::copy_from_slice(payload.as_bytes()),
        )
        .await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::OK, "ok"),
            "POST {payload:?}"
        );
    }

    /// Sends Socket.IO packets in one POST, each as an Engine.IO message.
    async fn send(&self, packets: &[&str]) {
        let payload: Vec<String> = packets.iter().map(|p| format!("4{p}")).collect();
        self.post(&payload.join("\x1e")).await;
    }

    /// The next Engine.IO piece from the server, polling when none is buffered.
    async fn piece(&mut self) -> String {
        loop {
            if let Some(p) = self.pieces.pop_front() {
                return p;
            }
            let reply = self.get().await;
            assert_eq!(reply.status, StatusCode::OK, "GET: {:?}", reply.body);
            self.pieces
                .extend(reply.body.split('\x1e').map(str::to_owned));
        }
    }

    /// The next Socket.IO packet: pings are answered, noops skipped.
    async fn recv(&mut self) -> String {
        loop {
            let p = self.piece().await;
            match p.as_str() {
                "2" => self.post("3").await,
                "6" => {}
                _ => {
                    return p
                        .strip_prefix('4')
                        .unwrap_or_else(|| panic!("not a message: {p:?}"))
                        .to_owned();
                }
            }
        }
    }

    /// The next piece, which must be a binary message.
    async fn recv_binary(&mut self) -> Vec<u8> {
        let p = self.piece().await;
        let b64 = p
            .strip_prefix('b')
            .unwrap_or_else(|| panic!("not a binary message: {p:?}"));
        BASE64.decode(b64).expect("base64")
    }

    /// Connects to `ns` and returns the socket id of the CONNECT answer.
    async fn connect(&mut self, ns: &str) -> String {
        self.connect_with(ns, "").await
    }

    /// Connects to `ns` with an auth object (or `""`) and returns the socket id.
    async fn connect_with(&mut self, ns: &str, auth: &str) -> String {
        let prefix = ns_prefix('0', ns);
        self.send(&[&format!("{prefix}{auth}")]).await;
        let answer = payload(&self.recv().await, &prefix);
        answer["sid"]
            .as_str()
            .unwrap_or_else(|| panic!("no sid in {answer}"))
            .to_owned()
    }

    /// Checks that the session is gone: a GET is refused with `Session ID unknown`.
    async fn assert_gone(&self) {
        let reply = self.get().await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:?}", reply.body);
        assert_eq!(
            reply.json(),
            json!({ "code": 1, "message": "Session ID unknown" })
        );
    }

    /// Whether the engine still has the session.
    fn is_open(&self) -> bool {
        self.svc.engine().session(&self.sid).is_some()
    }
}

/// `<type>` for `/`, `<type><ns>,` otherwise.
fn ns_prefix(kind: char, ns: &str) -> String {
    if ns == "/" {
        kind.to_string()
    } else {
        format!("{kind}{ns},")
    }
}

/// The JSON after `prefix` in `packet`.
#[track_caller]
fn payload(packet: &str, prefix: &str) -> Value {
    let json = packet
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{packet:?} does not start with {prefix:?}"));
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{packet:?}: bad JSON ({e})"))
}

/// The arguments of an event or ack as JSON, binary as arrays of numbers.
fn json_args(args: &[tower_socketio::value::Value]) -> Value {
    Value::Array(args.iter().cloned().map(|v| v.into_json()).collect())
}

/// The sockets connected to `ns` and their disconnect reasons, reported by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Connect(String),
    Disconnect(String, DisconnectReason),
}

/// A connect handler that reports its socket's connect and disconnect and hands the socket out.
fn reporting(
    tx: UnboundedSender<Seen>,
    sockets: Option<UnboundedSender<SocketRef>>,
    setup: impl Fn(&SocketRef) + Send + Sync + 'static,
) -> impl Fn(SocketRef) + Send + Sync + 'static {
    move |socket: SocketRef| {
        let _ = tx.send(Seen::Connect(socket.ns().to_owned()));
        let disconnected = tx.clone();
        socket.on_disconnect(move |s: SocketRef, reason: DisconnectReason| {
            let _ = disconnected.send(Seen::Disconnect(s.ns().to_owned(), reason));
        });
        if let Some(s) = &sockets {
            let _ = s.send(socket.clone());
        }
        setup(&socket);
    }
}

/// A server whose `/` reports to the returned channel; `setup` registers the handlers.
fn reporting_server(
    tweak: impl FnOnce(SocketIoBuilder) -> SocketIoBuilder,
    setup: impl Fn(&SocketRef) + Send + Sync + 'static,
) -> (Svc, SocketIo, UnboundedReceiver<Seen>) {
    let (svc, io) = server(tweak);
    let (tx, rx) = mpsc::unbounded_channel();
    io.ns("/", reporting(tx, None, setup));
    (svc, io, rx)
}

// ---------------------------------------------------------------------------------------------
// 1. Codec errors: each closes the connection with "parse error"
// ---------------------------------------------------------------------------------------------

/// Connects to `/`, POSTs `payload` (raw Engine.IO pieces), and checks that the socket
/// disconnects with `ParseError`, once, that the session is gone, that no handler ran, and that
/// another client's session is untouched.
async fn assert_parse_error(
    tweak: impl FnOnce(SocketIoBuilder) -> SocketIoBuilder,
    what: &str,
    payload: &str,
) {
    let (handled_tx, mut handled) = mpsc::unbounded_channel::<String>();
    let (svc, _io, mut seen) = reporting_server(tweak, move |s| {
        let tx = handled_tx.clone();
        s.on_fallback(move |Event(e): Event| {
            let _ = tx.send(e);
        });
        s.on("alive", || "yes");
    });
    let mut bystander = Client::open(&svc).await;
    bystander.connect("/").await;
    let mut c = Client::open(&svc).await;
    c.connect("/").await;
    assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
    assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
    c.post(payload).await;
    assert_eq!(
        next(&mut seen).await,
        Seen::Disconnect("/".into(), DisconnectReason::ParseError),
        "{what}: {payload:?}"
    );
    c.assert_gone().await;
    assert_eq!(svc.engine().session_count(), 1, "{what}");
    assert!(seen.try_recv().is_err(), "{what}: reported twice");
    assert!(
        handled.try_recv().is_err(),
        "{what}: a handler ran for a malformed packet"
    );
    bystander.send(&[r#"21["alive"]"#]).await;
    assert_eq!(bystander.recv().await, r#"31["yes"]"#, "{what}");
}

const PLACEHOLDER_0: &str = r#"{"_placeholder":true,"num":0}"#;
const PLACEHOLDER_1: &str = r#"{"_placeholder":true,"num":1}"#;
const PLACEHOLDER_2: &str = r#"{"_placeholder":true,"num":2}"#;

#[tokio::test]
async fn codec_errors_close_with_parse_error() {
    bounded(async {
        let cases: Vec<(&str, String)> = vec![
            ("empty Socket.IO packet", "4".into()),
            ("unknown packet type", "47".into()),
            ("packet type out of range", "4x".into()),
            ("bad JSON", r#"42["a""#.into()),
            (
                "ack id overflowing u64",
                r#"42999999999999999999999["a"]"#.into(),
            ),
            ("EVENT payload an object", "42{}".into()),
            ("EVENT payload an empty array", "42[]".into()),
            ("EVENT name not a string", "42[1]".into()),
            ("EVENT without payload", "42".into()),
            ("reserved event name", r#"42["disconnect"]"#.into()),
            ("reserved event name connect", r#"42["connect"]"#.into()),
            ("too many attachments", r#"4511-["a"]"#.into()),
            ("attachment count without digits", r#"45-["a"]"#.into()),
            ("attachment count without dash", r#"451["a"]"#.into()),
            (
                "binary message with no binary packet pending",
                "bAQID".into(),
            ),
            (
                "text packet while attachments are pending",
                format!("451-[\"a\",{PLACEHOLDER_0}]\x1e42[\"b\"]"),
            ),
            (
                "placeholder out of range",
                format!("451-[\"a\",{PLACEHOLDER_1}]\x1ebAQID"),
            ),
            (
                "placeholder with a negative num",
                "451-[\"a\",{\"_placeholder\":true,\"num\":-1}]\x1ebAQID".into(),
            ),
            ("ACK without id", r#"43["x"]"#.into()),
            ("ACK payload not an array", r#"431{"x":1}"#.into()),
            (
                "CONNECT_ERROR from the client",
                r#"44{"message":"x"}"#.into(),
            ),
            ("CONNECT with a non-object payload", r#"40/x,"auth""#.into()),
            ("CONNECT with an ack id", "401".into()),
            ("DISCONNECT with a payload", r#"41{"a":1}"#.into()),
        ];
        for (what, payload) in &cases {
            assert_parse_error(|b| b, what, payload).await;
        }
    })
    .await;
}

#[tokio::test]
async fn attachment_limit_is_configurable() {
    bounded(async {
        // Three attachments with a limit of two.
        let three = format!(
            "453-[\"a\",{PLACEHOLDER_0},{PLACEHOLDER_1},{PLACEHOLDER_2}]\x1ebAQ==\x1ebAg==\x1ebAw=="
        );
        assert_parse_error(|b| b.max_attachments(2), "3 attachments, limit 2", &three).await;
        // Eleven with the default limit of ten.
        let eleven = (0..11)
            .map(|i| format!(r#"{{"_placeholder":true,"num":{i}}}"#))
            .collect::<Vec<_>>()
            .join(",");
        assert_parse_error(
            |b| b,
            "11 attachments, default limit 10",
            &format!("4511-[\"a\",{eleven}]"),
        )
        .await;

        // At the limit, the packet is accepted.
        let (svc, _io, mut seen) = reporting_server(
            |b| b.max_attachments(2),
            |s| {
                s.on("two", |Data((a, b)): Data<(Bytes, Bytes)>| {
                    (a.len(), b.len())
                });
            },
        );
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        c.post(&format!(
            "452-7[\"two\",{PLACEHOLDER_0},{PLACEHOLDER_1}]\x1ebAQ==\x1ebAgME"
        ))
        .await;
        assert_eq!(c.recv().await, "37[1,3]");
        assert!(c.is_open());
        assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
        assert!(seen.try_recv().is_err());
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 2. Close reasons seen by on_disconnect
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn client_namespace_disconnect() {
    bounded(async {
        let (svc, io) = server(|b| b);
        let (tx, mut seen) = mpsc::unbounded_channel();
        io.ns("/", reporting(tx.clone(), None, |_| {}));
        io.ns("/other", reporting(tx, None, |s| s.on("ping", || "pong")));
        let mut c = Client::open(&svc).await;
        let first = c.connect("/").await;
        c.connect("/other").await;
        assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
        assert_eq!(next(&mut seen).await, Seen::Connect("/other".into()));

        c.send(&["1"]).await;
        assert_eq!(
            next(&mut seen).await,
            Seen::Disconnect("/".into(), DisconnectReason::ClientNamespaceDisconnect)
        );
        // The engine stays open and the other namespace still works.
        assert!(c.is_open());
        assert!(io.of("/").unwrap().sockets().is_empty());
        c.send(&[r#"2/other,1["ping"]"#]).await;
        assert_eq!(c.recv().await, r#"3/other,1["pong"]"#);
        // Events for the namespace left are ignored; the connection stays open.
        c.send(&[r#"23["ping"]"#, r#"2/other,2["ping"]"#]).await;
        assert_eq!(c.recv().await, r#"3/other,2["pong"]"#);
        // The client may join `/` again, as a new socket.
        let again = c.connect("/").await;
        assert_ne!(first, again);
        assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
        assert!(seen.try_recv().is_err());
    })
    .await;
}

#[tokio::test]
async fn server_namespace_disconnect() {
    bounded(async {
        let (svc, io, mut seen) = reporting_server(
            |b| b,
            |s| {
                s.on("bye", |s: SocketRef| s.disconnect());
                s.on("ping", || "pong");
            },
        );
        io.ns("/other", |s: SocketRef| s.on("ping", || "pong"));
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        c.connect("/other").await;
        assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));

        c.send(&[r#"2["bye"]"#]).await;
        // Socket.IO DISCONNECT for `/`.
        assert_eq!(c.recv().await, "1");
        assert_eq!(
            next(&mut seen).await,
            Seen::Disconnect("/".into(), DisconnectReason::ServerNamespaceDisconnect)
        );
        assert!(c.is_open());
        // Nothing more reaches the socket that left; the other namespace still answers.
        c.send(&[r#"21["ping"]"#, r#"2/other,2["ping"]"#]).await;
        assert_eq!(c.recv().await, r#"3/other,2["pong"]"#);
        assert!(seen.try_recv().is_err());
    })
    .await;
}

#[tokio::test]
async fn transport_close() {
    bounded(async {
        let (svc, _io, mut seen) = reporting_server(|b| b, |_| {});
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
        c.post("1").await;
        assert_eq!(
            next(&mut seen).await,
            Seen::Disconnect("/".into(), DisconnectReason::TransportClose)
        );
        c.assert_gone().await;

        // Breaking the transport's rules (two GETs at once) is a transport error.
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
        let _pending = c.pending_get().await;
        assert_eq!(c.get().await.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            next(&mut seen).await,
            Seen::Disconnect("/".into(), DisconnectReason::TransportError)
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn ping_timeout() {
    within(Duration::from_secs(3600), async {
        let (svc, _io, mut seen) = reporting_server(|b| b, |_| {});
        let mut c = Client::open(&svc).await;
        let opened = Instant::now();
        c.connect("/").await;
        assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
        // The first ping, one interval after the handshake; unanswered.
        assert_eq!(c.piece().await, "2");
        let pinged = Instant::now();
        assert_about(pinged - opened, Duration::from_secs(25));
        assert_eq!(
            next(&mut seen).await,
            Seen::Disconnect("/".into(), DisconnectReason::PingTimeout)
        );
        assert_about(Instant::now() - pinged, Duration::from_secs(20));
        c.assert_gone().await;
    })
    .await;
}

/// A volatile packet is dropped, not queued, when the socket's queue is full; the socket stays
/// connected and gets what fitted, in order. A regular packet that does not fit closes it.
#[tokio::test]
async fn volatile_packets_are_dropped_when_the_queue_is_full() {
    bounded(async {
        let (svc, io) = server(|b| b.queue_size(4));
        io.ns("/", |_: SocketRef| {});
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        // No GET is pending: the queue (4 packets) fills and the rest is dropped.
        for i in 0..10 {
            io.volatile().emit("v", &i).await.unwrap();
        }
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(c.recv().await);
        }
        assert_eq!(
            got,
            ["2[\"v\",0]", "2[\"v\",1]", "2[\"v\",2]", "2[\"v\",3]"]
        );
        // Still connected: the next packet arrives.
        io.emit("after", &()).await.unwrap();
        assert_eq!(c.recv().await, "2[\"after\"]");
        // Without `volatile`, a full queue means a client that does not keep up: it is closed.
        for i in 0..5 {
            io.emit("r", &i).await.unwrap();
        }
        c.assert_gone().await;
    })
    .await;
}

#[tokio::test]
async fn forced_close() {
    bounded(async {
        let (svc, _io, mut seen) = reporting_server(
            |b| b,
            |s| s.on("kill", |s: SocketRef| s.engine_session().close()),
        );
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
        c.send(&[r#"2["kill"]"#]).await;
        assert_eq!(
            next(&mut seen).await,
            Seen::Disconnect("/".into(), DisconnectReason::ForcedClose)
        );
        // The client is told to close.
        assert_eq!(c.piece().await, "1");
        assert!(seen.try_recv().is_err());
    })
    .await;
}

#[tokio::test]
async fn server_shutting_down() {
    bounded(async {
        let (svc, io) = server(|b| b);
        let (tx, mut seen) = mpsc::unbounded_channel();
        let (sockets_tx, mut sockets) = mpsc::unbounded_channel();
        io.ns("/", reporting(tx, Some(sockets_tx), |_| {}));
        let mut a = Client::open(&svc).await;
        a.connect("/").await;
        let mut b = Client::open(&svc).await;
        b.connect("/").await;
        assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
        assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
        next(&mut sockets).await;
        let b_socket = next(&mut sockets).await;
        let pending = a.pending_get().await;
        b_socket.emit("last", &1).unwrap();

        io.close();
        for _ in 0..2 {
            assert_eq!(
                next(&mut seen).await,
                Seen::Disconnect("/".into(), DisconnectReason::ServerShuttingDown)
            );
        }
        assert!(seen.try_recv().is_err());
        // The pending GET is answered with the close packet; the other client gets what was
        // queued for it, then the close packet.
        let reply = pending.await;
        assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "1"));
        assert_eq!(b.recv().await, r#"2["last",1]"#);
        assert_eq!(b.piece().await, "1");
        // New handshakes are refused.
        let reply = handshake(&svc).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{:?}", reply.body);
        assert_eq!(reply.json()["code"], 4);
    })
    .await;
}

#[tokio::test]
async fn disconnecting_handlers_see_the_rooms() {
    bounded(async {
        let (tx, mut rooms) = mpsc::unbounded_channel();
        let (svc, _io, mut seen) = reporting_server(
            |b| b,
            move |s| {
                s.join(["a", "b"]);
                let t = tx.clone();
                s.on_disconnecting(move |s: SocketRef, reason: DisconnectReason| {
                    let _ = t.send(("disconnecting", reason, s.rooms().len()));
                });
                let t = tx.clone();
                s.on_disconnect(move |s: SocketRef, reason: DisconnectReason| {
                    let _ = t.send(("disconnect", reason, s.rooms().len()));
                });
            },
        );
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
        c.post("1").await;
        let reason = DisconnectReason::TransportClose;
        // Its own room and the two joined, then none.
        assert_eq!(next(&mut rooms).await, ("disconnecting", reason, 3));
        assert_eq!(next(&mut rooms).await, ("disconnect", reason, 0));
        assert_eq!(next(&mut seen).await, Seen::Disconnect("/".into(), reason));
    })
    .await;
}

/// A connect handler that disconnects its socket: the client gets CONNECT then DISCONNECT, may
/// connect again, and nothing it sent meanwhile reaches the socket.
#[tokio::test]
async fn disconnect_in_the_connect_handler() {
    bounded(async {
        let (svc, io) = server(|b| b);
        let (tx, mut seen) = mpsc::unbounded_channel();
        let (handled_tx, mut handled) = mpsc::unbounded_channel();
        io.ns(
            "/",
            reporting(tx.clone(), None, |s| s.on("ping", || "pong")),
        );
        io.ns("/kick", reporting(tx.clone(), None, |s| s.disconnect()));
        io.ns(
            "/kick-async",
            reporting(tx, None, move |s| {
                let h = handled_tx.clone();
                s.on("ev", move || {
                    let _ = h.send(());
                });
                s.disconnect();
            }),
        )
        .with(|| async {
            tokio::task::yield_now().await;
            Ok::<(), ConnectError>(())
        });
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
        for round in 0..2 {
            c.send(&["0/kick,", r#"21["ping"]"#]).await;
            payload(&c.recv().await, "0/kick,");
            assert_eq!(c.recv().await, "1/kick,", "round {round}");
            assert_eq!(c.recv().await, r#"31["pong"]"#, "round {round}");
            assert_eq!(next(&mut seen).await, Seen::Connect("/kick".into()));
            assert_eq!(
                next(&mut seen).await,
                Seen::Disconnect("/kick".into(), DisconnectReason::ServerNamespaceDisconnect)
            );
        }
        assert!(io.of("/kick").unwrap().sockets().is_empty());

        // An event that waited for the connection is dropped with it.
        for round in 0..2 {
            c.send(&["0/kick-async,", r#"2/kick-async,3["ev"]"#]).await;
            payload(&c.recv().await, "0/kick-async,");
            assert_eq!(c.recv().await, "1/kick-async,", "round {round}");
            c.send(&[r#"24["ping"]"#]).await;
            assert_eq!(c.recv().await, r#"34["pong"]"#, "round {round}");
            assert_eq!(next(&mut seen).await, Seen::Connect("/kick-async".into()));
            assert_eq!(
                next(&mut seen).await,
                Seen::Disconnect(
                    "/kick-async".into(),
                    DisconnectReason::ServerNamespaceDisconnect
                )
            );
        }
        assert!(
            handled.try_recv().is_err(),
            "an event reached a disconnected socket"
        );
        assert!(seen.try_recv().is_err());
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 3. Connect timeout
// ---------------------------------------------------------------------------------------------

/// Reads pieces, answering pings, until the close packet; returns when it came.
async fn until_closed(c: &mut Client) -> Instant {
    loop {
        match c.piece().await.as_str() {
            "2" => c.post("3").await,
            "1" => return Instant::now(),
            other => panic!("unexpected piece {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn connect_timeout() {
    within(Duration::from_secs(3600), async {
        let (svc, io, mut seen) = reporting_server(|b| b, |_| {});

        // A session that never joins a namespace is closed after 45 s, though it answers pings.
        let mut idle = Client::open(&svc).await;
        let opened = Instant::now();
        let closed = until_closed(&mut idle).await;
        assert_about(closed - opened, Duration::from_secs(45));

        // One that joins a namespace is not. Its client keeps polling (and answering pings) on
        // a task of its own: a waiting GET that is dropped closes the session.
        let mut joined = Client::open(&svc).await;
        let opened = Instant::now();
        let sid = joined.sid.clone();
        joined.connect("/").await;
        assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
        let polling = tokio::spawn(async move { joined.recv().await });
        tokio::time::sleep_until(opened + Duration::from_secs(190)).await;
        assert!(!polling.is_finished(), "unexpected packet");
        assert!(svc.engine().session(&sid).is_some());
        assert_eq!(io.of("/").unwrap().sockets().len(), 1);
        assert!(seen.try_recv().is_err());

        // The timeout is configurable.
        let (svc, _io, _seen) =
            reporting_server(|b| b.connect_timeout(Duration::from_secs(3)), |_| {});
        let mut idle = Client::open(&svc).await;
        let opened = Instant::now();
        let closed = until_closed(&mut idle).await;
        assert_about(closed - opened, Duration::from_secs(3));
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 4. Namespaces
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_namespace_and_socket_ids() {
    bounded(async {
        let (svc, io) = server(|b| b);
        let (tx, mut ids) = mpsc::unbounded_channel();
        for ns in ["/", "/chat"] {
            let tx = tx.clone();
            io.ns(ns, move |s: SocketRef| {
                let _ = tx.send((s.ns().to_owned(), s.id().to_owned()));
            });
        }
        let mut c = Client::open(&svc).await;

        // An unknown namespace is refused for that namespace only.
        c.send(&["0/nope,"]).await;
        assert_eq!(c.recv().await, r#"4/nope,{"message":"Invalid namespace"}"#);
        assert!(c.is_open());

        // CONNECT is answered with a socket id, distinct from the engine's, per namespace.
        let main = c.connect("/").await;
        let chat = c.connect("/chat").await;
        assert_ne!(main, c.sid);
        assert_ne!(chat, c.sid);
        assert_ne!(main, chat);
        assert!(!main.is_empty() && !chat.is_empty());
        assert_eq!(next(&mut ids).await, ("/".to_owned(), main.clone()));
        assert_eq!(next(&mut ids).await, ("/chat".to_owned(), chat));

        // A second client's socket gets its own id.
        let mut d = Client::open(&svc).await;
        let other = d.connect("/").await;
        assert_ne!(other, main);
        assert_eq!(next(&mut ids).await, ("/".to_owned(), other));

        // A second CONNECT for a namespace already joined is ignored.
        c.send(&["0", r#"0/nope,"#]).await;
        assert_eq!(c.recv().await, r#"4/nope,{"message":"Invalid namespace"}"#);
        assert!(ids.try_recv().is_err());
    })
    .await;
}

#[tokio::test]
async fn middleware_refusal() {
    bounded(async {
        let (svc, io) = server(|b| b);
        let (tx, mut seen) = mpsc::unbounded_channel();
        io.ns("/admin", reporting(tx.clone(), None, |_| {}))
            .with(|Data(auth): Data<Value>| {
                if auth["token"] == "secret" {
                    Ok(())
                } else {
                    Err(ConnectError::new("unauthorized").with_data(json!({ "code": 42 })))
                }
            });
        io.ns(
            "/async",
            reporting(tx, None, |s| s.on("echo", |Data(v): Data<Value>| v)),
        )
        .with(|Data(auth): Data<Value>| async move {
            tokio::task::yield_now().await;
            if auth["token"] == "ok" {
                Ok(())
            } else {
                Err(ConnectError::new("async no").with_data(json!(["d"])))
            }
        });
        #[derive(serde::Deserialize)]
        struct Auth {
            n: i64,
        }
        io.ns("/typed", |s: SocketRef, Data(auth): Data<Auth>| {
            s.emit("n", &auth.n).unwrap();
        });
        let mut c = Client::open(&svc).await;

        for auth in ["", r#"{"token":"bad"}"#] {
            c.send(&[&format!("0/admin,{auth}")]).await;
            assert_eq!(
                payload(&c.recv().await, "4/admin,"),
                json!({ "message": "unauthorized", "data": { "code": 42 } })
            );
        }
        c.send(&[r#"0/async,{"token":"bad"}"#]).await;
        assert_eq!(
            payload(&c.recv().await, "4/async,"),
            json!({ "message": "async no", "data": ["d"] })
        );
        assert!(
            seen.try_recv().is_err(),
            "a refused connection was accepted"
        );
        assert!(c.is_open());

        // A connect handler whose extraction fails refuses the connection too.
        c.send(&[r#"0/typed,{"n":"x"}"#]).await;
        let refusal = payload(&c.recv().await, "4/typed,");
        assert!(
            refusal["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("invalid auth: ")),
            "{refusal}"
        );
        assert!(io.of("/typed").unwrap().sockets().is_empty());

        c.connect_with("/admin", r#"{"token":"secret"}"#).await;
        assert_eq!(next(&mut seen).await, Seen::Connect("/admin".into()));

        // The async middleware accepts; an event sent right behind the CONNECT waits for the
        // connection and is handled after it.
        c.send(&[r#"0/async,{"token":"ok"}"#, r#"2/async,5["echo","x"]"#])
            .await;
        let answer = payload(&c.recv().await, "0/async,");
        assert!(answer["sid"].is_string(), "{answer}");
        assert_eq!(c.recv().await, r#"3/async,5["x"]"#);
        assert_eq!(next(&mut seen).await, Seen::Connect("/async".into()));
    })
    .await;
}

/// Packets that arrive while an async middleware runs are held, within a bound: a client that
/// floods a namespace it is still joining is disconnected.
#[tokio::test]
async fn packets_held_while_connecting_are_bounded() {
    bounded(async {
        let (svc, io) = server(|b| b);
        let gate = std::sync::Arc::new(tokio::sync::Notify::new());
        let wait = gate.clone();
        io.ns("/slow", |_: SocketRef| {}).with(move || {
            let wait = wait.clone();
            async move {
                wait.notified().await;
                Ok::<(), ConnectError>(())
            }
        });
        let c = Client::open(&svc).await;
        let flood: Vec<String> = std::iter::once("0/slow,".to_owned())
            .chain((0..1100).map(|i| format!(r#"2/slow,["e",{i}]"#)))
            .collect();
        let flood: Vec<&str> = flood.iter().map(String::as_str).collect();
        c.send(&flood).await;
        c.assert_gone().await;
        gate.notify_waiters();
    })
    .await;
}

#[tokio::test]
async fn dynamic_namespace_children() {
    bounded(async {
        let (svc, io) = server(|b| b);
        let (tx, mut seen) = mpsc::unbounded_channel();
        io.dyn_ns(
            "/dyn-{id}",
            reporting(tx.clone(), None, |s| {
                s.on("ns", |s: SocketRef| s.ns().to_owned())
            }),
        )
        .remove_when_empty(true);
        io.dyn_ns(
            |path: &str| path.starts_with("/keep-"),
            reporting(tx, None, |_| {}),
        );
        assert!(io.of("/dyn-1").is_none());

        let mut a = Client::open(&svc).await;
        let mut b = Client::open(&svc).await;
        a.connect("/dyn-1").await;
        assert!(io.of("/dyn-1").is_some());
        b.connect("/dyn-1").await;
        assert_eq!(io.of("/dyn-1").unwrap().sockets().len(), 2);
        assert_eq!(next(&mut seen).await, Seen::Connect("/dyn-1".into()));
        assert_eq!(next(&mut seen).await, Seen::Connect("/dyn-1".into()));
        a.send(&[r#"2/dyn-1,1["ns"]"#]).await;
        assert_eq!(a.recv().await, r#"3/dyn-1,1["/dyn-1"]"#);

        // A path the pattern does not match is an unknown namespace.
        a.send(&["0/dyn-,"]).await;
        assert_eq!(a.recv().await, r#"4/dyn-,{"message":"Invalid namespace"}"#);

        // The child goes when its last socket leaves, and comes back with the next.
        a.send(&["1/dyn-1,"]).await;
        assert_eq!(
            next(&mut seen).await,
            Seen::Disconnect("/dyn-1".into(), DisconnectReason::ClientNamespaceDisconnect)
        );
        assert!(io.of("/dyn-1").is_some());
        b.post("1").await;
        assert_eq!(
            next(&mut seen).await,
            Seen::Disconnect("/dyn-1".into(), DisconnectReason::TransportClose)
        );
        assert!(io.of("/dyn-1").is_none());
        a.connect("/dyn-1").await;
        assert!(io.of("/dyn-1").is_some());
        assert_eq!(next(&mut seen).await, Seen::Connect("/dyn-1".into()));

        // Without remove_when_empty, a child stays.
        a.connect("/keep-1").await;
        assert_eq!(next(&mut seen).await, Seen::Connect("/keep-1".into()));
        a.send(&["1/keep-1,"]).await;
        assert_eq!(
            next(&mut seen).await,
            Seen::Disconnect(
                "/keep-1".into(),
                DisconnectReason::ClientNamespaceDisconnect
            )
        );
        assert!(io.of("/keep-1").is_some());
    })
    .await;
}

/// A refused connection leaves no dynamic child behind: otherwise any client could grow the
/// namespace map without bound by trying paths.
#[tokio::test]
async fn refused_connections_leave_no_dynamic_child() {
    bounded(async {
        let (svc, io) = server(|b| b);
        io.dyn_ns("/mw-{id}", |_s: SocketRef| {})
            .with(|Data(auth): Data<Value>| {
                if auth["ok"] == true {
                    Ok(())
                } else {
                    Err(ConnectError::new("no"))
                }
            })
            .remove_when_empty(true);
        io.dyn_ns("/typed-{id}", |_s: SocketRef, Data(_n): Data<i64>| {})
            .remove_when_empty(true);
        let (passed_tx, mut passed) = mpsc::unbounded_channel();
        io.dyn_ns("/slow-{id}", |_s: SocketRef| {})
            .with(move || {
                let passed = passed_tx.clone();
                async move {
                    tokio::task::yield_now().await;
                    let _ = passed.send(());
                    Ok::<(), ConnectError>(())
                }
            })
            .remove_when_empty(true);
        let mut c = Client::open(&svc).await;

        // Refused by a middleware.
        c.send(&["0/mw-1,"]).await;
        assert_eq!(c.recv().await, r#"4/mw-1,{"message":"no"}"#);
        assert!(
            io.of("/mw-1").is_none(),
            "child of a refused connection kept"
        );
        // Accepted, then left.
        c.connect_with("/mw-2", r#"{"ok":true}"#).await;
        assert!(io.of("/mw-2").is_some());
        c.send(&["1/mw-2,"]).await;
        assert!(io.of("/mw-2").is_none());

        // Refused because the connect handler's extraction failed.
        c.send(&["0/typed-1,"]).await;
        let refusal = payload(&c.recv().await, "4/typed-1,");
        assert!(refusal["message"].is_string(), "{refusal}");
        assert!(
            io.of("/typed-1").is_none(),
            "child of a refused connection kept"
        );

        // The connection closed while an async middleware ran.
        c.post("40/slow-1,\x1e1").await;
        next(&mut passed).await;
        assert!(
            io.of("/slow-1").is_none(),
            "child of an abandoned connection kept"
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 5. Handlers
// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
struct File {
    name: String,
    data: Bytes,
}

#[tokio::test]
async fn handler_results_and_acks() {
    bounded(async {
        let (sockets_tx, mut sockets) = mpsc::unbounded_channel();
        let (svc, io) = server(|b| b);
        let (tx, _seen) = mpsc::unbounded_channel();
        io.ns(
            "/",
            reporting(tx, Some(sockets_tx), |s| {
                s.on("sum", |Data((a, b)): Data<(i64, i64)>| a + b);
                s.on("ok", || Ok::<_, String>(5));
                s.on("err", || Err::<i32, _>("no"));
                s.on("unit", || ());
                s.on("manual", |ack: AckSender| {
                    assert!(ack.is_requested());
                    ack.send(("by hand", 1));
                    // The return value no longer answers.
                    "ignored"
                });
                s.on("tuple", || (1, "two", true));
                s.on("emit-tuple", |s: SocketRef| {
                    s.emit("tuple", &(1, "a", [2, 3])).unwrap();
                    s.emit("none", &()).unwrap();
                    s.emit("one", &vec![4, 5]).unwrap();
                });
                s.on("emit-binary", |s: SocketRef| {
                    let file = File {
                        name: "f".into(),
                        data: Bytes::from_static(&[1, 2, 3]),
                    };
                    s.emit("file", &file).unwrap();
                });
                s.on("len", |Data(b): Data<Bytes>| b.len());
                s.on("async-ok", |Data(n): Data<i64>| async move {
                    tokio::task::yield_now().await;
                    Ok::<_, String>(n * 2)
                });
            }),
        );
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        let socket = next(&mut sockets).await;

        // An extraction failure with an ack id is answered with an error object.
        c.send(&[r#"21["sum","a","b"]"#]).await;
        let answer = payload(&c.recv().await, "31");
        let message = answer[0]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("invalid data: "), "{answer}");
        assert_eq!(answer.as_array().map(Vec::len), Some(1), "{answer}");
        assert_eq!(answer[0].as_object().map(|o| o.len()), Some(1), "{answer}");

        // Without an ack id nothing is sent and the connection stays open: the next answer is
        // the one of the next event.
        c.send(&[r#"2["sum","a","b"]"#, r#"22["sum",1,2]"#]).await;
        assert_eq!(c.recv().await, "32[3]");
        assert!(c.is_open());

        // Result return values.
        c.send(&[r#"23["ok"]"#, r#"24["err"]"#]).await;
        assert_eq!(c.recv().await, "33[5]");
        assert_eq!(c.recv().await, r#"34[{"message":"no"}]"#);
        c.send(&[r#"23["async-ok",21]"#]).await;
        assert_eq!(c.recv().await, "33[42]");

        // `()` sends no ack.
        c.send(&[r#"25["unit"]"#, r#"26["sum",2,2]"#]).await;
        assert_eq!(c.recv().await, "36[4]");

        // AckSender by hand; without an ack id it sends nothing.
        c.send(&[r#"27["manual"]"#]).await;
        assert_eq!(c.recv().await, r#"37["by hand",1]"#);

        // The largest ack id is answered as it came.
        c.send(&[r#"218446744073709551615["sum",1,1]"#]).await;
        assert_eq!(c.recv().await, "318446744073709551615[2]");

        // A tuple acks several arguments.
        c.send(&[r#"28["tuple"]"#]).await;
        assert_eq!(c.recv().await, r#"38[1,"two",true]"#);

        // A tuple emits several arguments, `()` none, anything else one.
        c.send(&[r#"2["emit-tuple"]"#]).await;
        assert_eq!(c.recv().await, r#"2["tuple",1,"a",[2,3]]"#);
        assert_eq!(c.recv().await, r#"2["none"]"#);
        assert_eq!(c.recv().await, r#"2["one",[4,5]]"#);

        // Bytes nested in a struct: a binary event with a placeholder, then the attachment.
        c.send(&[r#"2["emit-binary"]"#]).await;
        assert_eq!(
            payload(&c.recv().await, "51-"),
            json!(["file", { "name": "f", "data": { "_placeholder": true, "num": 0 } }])
        );
        assert_eq!(c.recv_binary().await, [1, 2, 3]);

        // A binary event from the client.
        c.post(&format!("451-9[\"len\",{PLACEHOLDER_0}]\x1ebAQIDBA=="))
            .await;
        assert_eq!(c.recv().await, "39[4]");

        // Reserved event names can be neither emitted nor listened to.
        for name in RESERVED_EVENTS {
            match socket.emit(name, &1) {
                Err(EmitError::Reserved(n)) => assert_eq!(n, *name),
                other => panic!("emit {name:?}: {other:?}"),
            }
            let r: Result<i32, AckError> = socket.emit_with_ack(name, &1).await;
            assert!(
                matches!(r, Err(AckError::Send(EmitError::Reserved(_)))),
                "emit_with_ack {name:?}: {r:?}"
            );
            let panic = catch_unwind(AssertUnwindSafe(|| socket.on(*name, || ())))
                .expect_err("registering a reserved event did not panic");
            let msg = panic_message(&panic);
            assert!(msg.contains("reserved") && msg.contains(name), "{msg}");
        }
        c.send(&[r#"210["sum",5,5]"#]).await;
        assert_eq!(c.recv().await, "310[10]", "something was sent in between");
    })
    .await;
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[tokio::test]
#[should_panic(expected = "the event name \"disconnect\" is reserved")]
async fn listening_to_disconnect_panics() {
    let (svc, io) = server(|b| b);
    let (tx, mut sockets) = mpsc::unbounded_channel();
    io.ns("/", move |s: SocketRef| {
        let _ = tx.send(s);
    });
    let mut c = bounded(Client::open(&svc)).await;
    bounded(c.connect("/")).await;
    let socket = next(&mut sockets).await;
    socket.on("disconnect", || ());
}

// ---------------------------------------------------------------------------------------------
// 6. Ordering
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_thousand_events_in_one_post_in_order() {
    bounded(async {
        let (svc, _io, _seen) = reporting_server(
            |b| b,
            |s| {
                s.on("sync", |s: SocketRef, Data(n): Data<u32>| {
                    s.emit("sync", &n).unwrap();
                });
                s.on("async", |s: SocketRef, Data(n): Data<u32>| async move {
                    s.emit("async", &n).unwrap();
                });
            },
        );
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        for event in ["sync", "async"] {
            let body: Vec<String> = (0..1000).map(|i| format!("42[\"{event}\",{i}]")).collect();
            c.post(&body.join("\x1e")).await;
            for i in 0..1000 {
                assert_eq!(c.recv().await, format!("2[\"{event}\",{i}]"));
            }
        }
        assert!(c.is_open());
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 7. State checks
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_state_panics_at_registration() {
    let (_svc, io) = server(|b| b.with_state(String::from("not a u32")));
    let panic = catch_unwind(AssertUnwindSafe(|| {
        io.ns("/", |_s: SocketRef, State(_x): State<u32>| {});
    }))
    .expect_err("registering a handler with a missing state did not panic");
    let msg = panic_message(&panic);
    assert!(msg.contains("State<u32>"), "{msg}");
    assert!(io.of("/").is_none(), "the namespace was registered anyway");

    // Middleware too.
    io.ns("/ok", |_s: SocketRef| {});
    let panic = catch_unwind(AssertUnwindSafe(|| {
        io.of("/ok")
            .unwrap()
            .with(|State(_x): State<Vec<u8>>| Ok::<(), ConnectError>(()));
    }))
    .expect_err("registering a middleware with a missing state did not panic");
    let msg = panic_message(&panic);
    assert!(msg.contains("alloc::vec::Vec<u8>"), "{msg}");
}

#[tokio::test]
async fn state_given_at_build_time_is_extracted() {
    bounded(async {
        let (svc, io) = server(|b| b.with_state(7u32));
        io.ns("/", |s: SocketRef, State(x): State<u32>| {
            s.emit("state", &x).unwrap();
            s.on("state", |State(x): State<u32>| x + 1);
        });
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        assert_eq!(c.recv().await, r#"2["state",7]"#);
        c.send(&[r#"21["state"]"#]).await;
        assert_eq!(c.recv().await, "31[8]");
    })
    .await;
}

/// Issue 14, finding 6: a handler registered in the connect handler (so at every connection)
/// that extracts a state never given is not a panic after the client was told it connected,
/// leaving it without its handler (its acks then time out): the socket is refused, the client
/// sees its namespace disconnected, and the error, logged, names the type.
#[tokio::test]
async fn a_missing_state_in_a_handler_registered_on_connect_disconnects_the_socket() {
    bounded(async {
        let (svc, io) = server(|b| b.with_state(String::from("not a u32")));
        let (tx, mut seen) = mpsc::unbounded_channel();
        io.ns(
            "/",
            reporting(tx, None, |s| {
                s.on("e", |State(x): State<u32>| x);
                s.on_disconnect(|State(_x): State<Vec<u8>>| {});
            }),
        );
        let mut c = Client::open(&svc).await;
        for round in 0..2 {
            c.connect("/").await;
            assert_eq!(c.recv().await, "1", "round {round}");
            assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
            assert_eq!(
                next(&mut seen).await,
                Seen::Disconnect("/".into(), DisconnectReason::ServerNamespaceDisconnect)
            );
        }
        assert!(c.is_open(), "the connection stays for other namespaces");
        assert!(io.of("/").unwrap().sockets().is_empty());
    })
    .await;
}

/// `emit_when_ready`: a handler that emits far more than the client's queue holds follows the
/// client's pace; nothing is dropped and the client is not disconnected (a plain `emit` of the
/// same would fill the queue and close the session).
#[tokio::test]
async fn emit_when_ready_follows_the_client() {
    bounded(async {
        let (svc, io) = server(|b| b.max_queue_bytes(4000));
        let (done_tx, mut done) = mpsc::unbounded_channel();
        io.ns("/", move |s: SocketRef| {
            let done = done_tx.clone();
            tokio::spawn(async move {
                let filler = "y".repeat(500);
                for i in 0..100 {
                    s.emit_when_ready("n", &(i, &filler)).await.expect("emit");
                }
                let _ = done.send(());
            });
        });
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        let filler = "y".repeat(500);
        for i in 0..100 {
            assert_eq!(c.recv().await, format!(r#"2["n",{i},"{filler}"]"#));
        }
        next(&mut done).await;
        assert!(c.is_open());
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 8. emit_with_ack from the server
// ---------------------------------------------------------------------------------------------

/// The ack id and arguments of a server event `2<id>[...]` named `event`.
#[track_caller]
fn event_with_ack(packet: &str, event: &str) -> (u64, Value) {
    let rest = packet
        .strip_prefix('2')
        .unwrap_or_else(|| panic!("not an event: {packet:?}"));
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    assert!(digits > 0, "no ack id in {packet:?}");
    let id = rest[..digits].parse().unwrap();
    let mut args: Vec<Value> = serde_json::from_str(&rest[digits..]).unwrap();
    assert_eq!(args.remove(0), json!(event), "{packet:?}");
    (id, Value::Array(args))
}

#[tokio::test(start_paused = true)]
async fn server_emit_with_ack() {
    within(Duration::from_secs(3600), async {
        let ack_timeout = Duration::from_secs(3);
        let (sockets_tx, mut sockets) = mpsc::unbounded_channel();
        let (svc, io) = server(|b| b.ack_timeout(ack_timeout));
        let (tx, mut seen) = mpsc::unbounded_channel();
        io.ns("/", reporting(tx, Some(sockets_tx), |_| {}));
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
        let socket = next(&mut sockets).await;

        // Answered: a typed result, from several arguments or from one.
        let s = socket.clone();
        let task = tokio::spawn(async move {
            let r: Result<(i32, String), AckError> = s.emit_with_ack("q", &"x").await;
            r
        });
        let (id, args) = event_with_ack(&c.recv().await, "q");
        assert_eq!(args, json!(["x"]));
        // Another client cannot answer for this one, even with the right id.
        let mut other = Client::open(&svc).await;
        other.connect("/").await;
        assert_eq!(next(&mut seen).await, Seen::Connect("/".into()));
        other.send(&[&format!(r#"3{id}[0,"stolen"]"#)]).await;
        c.send(&[&format!(r#"3{id}[7,"seven"]"#)]).await;
        assert_eq!(task.await.unwrap().unwrap(), (7, "seven".to_owned()));
        // A second answer is ignored.
        c.send(&[&format!(r#"3{id}[8,"eight"]"#)]).await;
        assert!(c.is_open());

        let s = socket.clone();
        let task = tokio::spawn(async move {
            let r: Result<Vec<u8>, AckError> = s.emit_with_ack("bin", &()).await;
            r
        });
        let (id, args) = event_with_ack(&c.recv().await, "bin");
        assert_eq!(args, json!([]));
        c.post(&format!("461-{id}[{PLACEHOLDER_0}]\x1ebCQg=")).await;
        assert_eq!(task.await.unwrap().unwrap(), [9, 8]);

        // An answer of the wrong type.
        let s = socket.clone();
        let task = tokio::spawn(async move {
            let r: Result<i32, AckError> = s.emit_with_ack("q", &1).await;
            r
        });
        let (id, _) = event_with_ack(&c.recv().await, "q");
        c.send(&[&format!(r#"3{id}["not a number"]"#)]).await;
        let r = task.await.unwrap();
        assert!(matches!(r, Err(AckError::Decode(_))), "{r:?}");

        // No answer: a timeout after the configured ack_timeout.
        let s = socket.clone();
        let started = Instant::now();
        let task = tokio::spawn(async move {
            let r: Result<Value, AckError> = s.emit_with_ack("q", &2).await;
            r
        });
        let (late, _) = event_with_ack(&c.recv().await, "q");
        let r = task.await.unwrap();
        assert!(matches!(r, Err(AckError::Timeout)), "{r:?}");
        assert_about(Instant::now() - started, ack_timeout);
        // A late answer is ignored.
        c.send(&[&format!("3{late}[1]")]).await;
        assert!(c.is_open());

        // The socket disconnects meanwhile: Disconnected, at once.
        let s = socket.clone();
        let task = tokio::spawn(async move {
            let r: Result<Value, AckError> = s.emit_with_ack("q", &3).await;
            r
        });
        event_with_ack(&c.recv().await, "q");
        let started = Instant::now();
        c.send(&["1"]).await;
        let r = task.await.unwrap();
        assert!(matches!(r, Err(AckError::Disconnected)), "{r:?}");
        assert_eq!(Instant::now(), started);
        assert_eq!(
            next(&mut seen).await,
            Seen::Disconnect("/".into(), DisconnectReason::ClientNamespaceDisconnect)
        );

        // After the disconnection nothing can be sent.
        let r: Result<Value, AckError> = socket.emit_with_ack("q", &4).await;
        assert!(
            matches!(r, Err(AckError::Send(EmitError::Send(_)))),
            "{r:?}"
        );
        assert!(matches!(socket.emit("q", &4), Err(EmitError::Send(_))));
    })
    .await;
}

/// A handler that panics (sync, or async before or after its first await) loses its event;
/// the connection and the socket's other handlers go on.
#[tokio::test]
async fn a_panicking_handler_is_contained() {
    bounded(async {
        let (svc, io) = server(|b| b);
        io.ns("/", |s: SocketRef| {
            s.on("boom", |Data(n): Data<i64>| -> i64 {
                assert!(n < 0, "the sync handler fails");
                n
            });
            s.on("boom-async", |Data(n): Data<i64>| async move {
                tokio::task::yield_now().await;
                assert!(n < 0, "the async handler fails");
                n
            });
            s.on("hello", |s: SocketRef, Data(name): Data<String>| {
                s.emit("hi", &name).unwrap();
            });
        });
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        c.send(&[
            r#"21["boom",1]"#,
            r#"22["boom-async",2]"#,
            r#"2["hello","again"]"#,
        ])
        .await;
        assert_eq!(c.recv().await, r#"2["hi","again"]"#);
        c.send(&[r#"23["boom",-3]"#]).await;
        assert_eq!(c.recv().await, "33[-3]");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 9. on_any, on_any_outgoing, on_fallback
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Heard {
    In(String, Value),
    Out(String, Value),
    Fallback(String, Value),
}

#[tokio::test]
async fn any_listeners_and_fallback() {
    bounded(async {
        let (tx, mut heard) = mpsc::unbounded_channel();
        let (sockets_tx, mut sockets) = mpsc::unbounded_channel();
        let (svc, io) = server(|b| b);
        io.ns("/", move |s: SocketRef| {
            let t = tx.clone();
            s.on_any(move |_, event, args| {
                let _ = t.send(Heard::In(event.to_owned(), json_args(args)));
            });
            let t = tx.clone();
            s.on_any_outgoing(move |_, event, args| {
                let _ = t.send(Heard::Out(event.to_owned(), json_args(args)));
            });
            s.on("hello", |s: SocketRef, Data(name): Data<String>| {
                s.emit("hi", &(name, 1)).unwrap();
            });
            let t = tx.clone();
            s.on_fallback(move |Event(name): Event, Args(args): Args| {
                let _ = t.send(Heard::Fallback(name.clone(), json_args(&args)));
                name
            });
            let _ = sockets_tx.send(s);
        });
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        let socket = next(&mut sockets).await;

        c.send(&[r#"2["hello","bob"]"#]).await;
        assert_eq!(c.recv().await, r#"2["hi","bob",1]"#);
        assert_eq!(
            next(&mut heard).await,
            Heard::In("hello".into(), json!(["bob"]))
        );
        assert_eq!(
            next(&mut heard).await,
            Heard::Out("hi".into(), json!(["bob", 1]))
        );

        // Events without a handler go to the fallback, which gets the name; its result acks.
        c.send(&[r#"2["unknown",1,{"a":true}]"#, r#"25["mystery"]"#])
            .await;
        assert_eq!(c.recv().await, r#"35["mystery"]"#);
        assert_eq!(
            next(&mut heard).await,
            Heard::In("unknown".into(), json!([1, { "a": true }]))
        );
        assert_eq!(
            next(&mut heard).await,
            Heard::Fallback("unknown".into(), json!([1, { "a": true }]))
        );
        assert_eq!(
            next(&mut heard).await,
            Heard::In("mystery".into(), json!([]))
        );
        assert_eq!(
            next(&mut heard).await,
            Heard::Fallback("mystery".into(), json!([]))
        );

        // Emits from outside handlers, binary included, are heard going out.
        socket
            .emit("direct", &(json!({ "k": "v" }), Bytes::from_static(&[7])))
            .unwrap();
        assert_eq!(
            payload(&c.recv().await, "51-"),
            json!(["direct", { "k": "v" }, { "_placeholder": true, "num": 0 }])
        );
        assert_eq!(c.recv_binary().await, [7]);
        assert_eq!(
            next(&mut heard).await,
            Heard::Out("direct".into(), json!([{ "k": "v" }, [7]]))
        );
        // So are broadcasts: each recipient's listeners hear them (here, the one socket).
        io.emit("news", &"all").await.unwrap();
        assert_eq!(c.recv().await, r#"2["news","all"]"#);
        assert_eq!(
            next(&mut heard).await,
            Heard::Out("news".into(), json!(["all"]))
        );
        assert!(heard.try_recv().is_err());
    })
    .await;
}

/// A closed session is freed with its client and sockets: nothing holds them in a cycle (the
/// session keeps its Socket.IO client, which holds the session only weakly).
#[tokio::test]
async fn a_closed_session_is_freed() {
    bounded(async {
        let (svc, io) = server(|b| b);
        let (tx, mut rx) = mpsc::unbounded_channel();
        io.ns("/", move |socket: SocketRef| {
            let _ = tx.send(socket.engine_session().downgrade());
        });
        let mut c = Client::open(&svc).await;
        c.connect("/").await;
        let weak = next(&mut rx).await;
        assert!(weak.upgrade().is_some(), "alive while connected");
        c.post("1").await;
        c.assert_gone().await;
        // What is left to drop goes within a few turns of the runtime (the tasks that held
        // the session see it closed and end).
        let mut turns = 0;
        while weak.upgrade().is_some() {
            turns += 1;
            assert!(
                turns < 1000,
                "the closed session is still alive: a reference cycle"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
}
