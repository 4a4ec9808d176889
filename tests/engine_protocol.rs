//! Engine.IO v4 at the protocol level: what real clients never send.
//!
//! A tiny raw HTTP/1.1 client (hyper's `client::conn::http1`, one connection per request) and a raw
//! WebSocket client (`tokio_tungstenite::client_async` over a `TcpStream`) talk to the echo engine
//! of `tests/common`. The heartbeat test drives the tower service in-process under
//! `tokio::time::pause()`, so that no test waits on the wall clock for a timeout (the upgrade
//! timeout test explains why it cannot).

mod common;

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    task::Poll,
    time::Duration,
};

use bytes::Bytes;
use common::{Echo, EchoServer, Event, serve, spawn_echo_with};
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::{net::TcpStream, sync::mpsc, time::Instant};
use tokio_tungstenite::{
    WebSocketStream, client_async,
    tungstenite::{Message, protocol::frame::coding::CloseCode},
};
use tower::ServiceExt;
use tower_socketio::{
    engine::{
        DisconnectReason, EngineConfig, EngineHandler, Frame, SendError, Session, TransportKind,
    },
    service::{EngineLayer, EngineService, NotFound},
};

// ---------------------------------------------------------------------------------------------
// Raw clients
// ---------------------------------------------------------------------------------------------

/// Bounds a test. Under paused time the limit is virtual, and still bounds the test: an idle
/// runtime jumps straight to it.
async fn within<F: Future>(limit: Duration, f: F) -> F::Output {
    tokio::time::timeout(limit, f)
        .await
        .expect("the test did not finish in time")
}

/// The usual bound of a test on real time.
async fn bounded<F: Future>(f: F) -> F::Output {
    within(Duration::from_secs(10), f).await
}

/// An HTTP answer.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    /// The body as an Engine.IO error: `{"code":N,"message":...}`.
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?} (status {})", self.body, self.status))
    }

    #[track_caller]
    fn assert_ok(&self, body: &str) {
        assert_eq!(
            (self.status, self.body.as_str()),
            (StatusCode::OK, body),
            "unexpected answer"
        );
    }

    #[track_caller]
    fn assert_error(&self, status: StatusCode, code: u8, message: &str) {
        assert_eq!(self.status, status, "status of {:?}", self.body);
        assert_eq!(
            self.headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        assert_eq!(self.json(), json!({ "code": code, "message": message }));
    }
}

async fn read_reply<B>(res: http::Response<B>) -> Reply
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("response body").to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8(body.to_vec()).expect("a UTF-8 body"),
    }
}

/// One HTTP/1.1 request on a new connection.
async fn request(
    addr: SocketAddr,
    method: Method,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: impl AsRef<[u8]>,
) -> Reply {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path_and_query)
        .header(header::HOST, addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(Bytes::copy_from_slice(body.as_ref())))
        .unwrap();
    let res = sender.send_request(req).await.expect("HTTP request");
    read_reply(res).await
}

/// A request to `/engine.io/?{query}`.
async fn eio(addr: SocketAddr, method: Method, query: &str, body: impl AsRef<[u8]>) -> Reply {
    request(addr, method, &format!("/engine.io/?{query}"), &[], body).await
}

fn polling(sid: &str) -> String {
    format!("EIO=4&transport=polling&sid={sid}")
}

async fn get(addr: SocketAddr, sid: &str) -> Reply {
    eio(addr, Method::GET, &polling(sid), "").await
}

async fn post(addr: SocketAddr, sid: &str, body: impl AsRef<[u8]>) -> Reply {
    eio(addr, Method::POST, &polling(sid), body).await
}

/// The JSON of an open packet (`0{...}`).
#[track_caller]
fn open_packet(text: &str) -> Value {
    let json = text
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an open packet: {text:?}"));
    serde_json::from_str(json).expect("open packet JSON")
}

#[track_caller]
fn sid_of(open: &Value) -> String {
    let sid = open["sid"].as_str().expect("a string sid").to_owned();
    assert_eq!(sid.len(), 22, "sid {sid:?}");
    assert!(
        sid.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
        "sid {sid:?} is not URL-safe base64"
    );
    sid
}

/// Opens a polling session; returns its id.
async fn handshake(addr: SocketAddr) -> String {
    let reply = eio(addr, Method::GET, "EIO=4&transport=polling", "").await;
    assert_eq!(reply.status, StatusCode::OK, "handshake: {:?}", reply.body);
    sid_of(&open_packet(&reply.body))
}

/// Opens a polling session on `server` and consumes its connect event.
async fn open_session(server: &mut EchoServer) -> String {
    let sid = handshake(server.addr).await;
    assert_eq!(server.next_event().await, Event::Connect(sid.clone()));
    sid
}

/// The server-side handle of a session.
fn session(server: &EchoServer, sid: &str) -> Session {
    server
        .handler
        .sessions
        .lock()
        .unwrap()
        .iter()
        .find(|s| s.id() == sid)
        .cloned()
        .expect("the handler saw the session")
}

type Ws = WebSocketStream<TcpStream>;

/// A WebSocket client handshake over `stream`.
async fn ws_over(stream: TcpStream, addr: SocketAddr, sid: Option<&str>) -> Ws {
    let mut url = format!("ws://{addr}/engine.io/?EIO=4&transport=websocket");
    if let Some(sid) = sid {
        url.push_str("&sid=");
        url.push_str(sid);
    }
    let (ws, res) = client_async(url, stream)
        .await
        .expect("WebSocket handshake");
    assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws
}

async fn ws_connect(addr: SocketAddr, sid: Option<&str>) -> Ws {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).unwrap();
    ws_over(stream, addr, sid).await
}

/// The next data or close message (control pings and pongs skipped); `None` at the end.
async fn ws_next(ws: &mut Ws) -> Option<Message> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(m)) => return Some(m),
            Some(Err(e)) => panic!("WebSocket error: {e}"),
            None => return None,
        }
    }
}

#[track_caller]
fn text_of(m: Option<Message>) -> String {
    match m {
        Some(Message::Text(t)) => t.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

async fn ws_text(ws: &mut Ws) -> String {
    text_of(ws_next(ws).await)
}

async fn ws_send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.expect("WebSocket send");
}

/// Reads until the server's Close frame and returns its code (`None` for a frame without one).
async fn ws_close_code(ws: &mut Ws) -> Option<CloseCode> {
    match ws_next(ws).await {
        Some(Message::Close(frame)) => frame.map(|f| f.code),
        Some(other) => panic!("expected a Close frame, got {other:?}"),
        None => panic!("the connection ended without a Close frame"),
    }
}

/// Upgrades a polling session to WebSocket: `2probe`, `3probe`, `5`.
async fn upgrade(addr: SocketAddr, sid: &str) -> Ws {
    let mut ws = ws_connect(addr, Some(sid)).await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    ws_send(&mut ws, "5").await;
    ws
}

/// A request to the service itself, without sockets.
async fn call(
    service: EngineService<NotFound>,
    method: Method,
    query: String,
    body: Bytes,
) -> Reply {
    let req = Request::builder()
        .method(method)
        .uri(format!("/engine.io/?{query}"))
        .body(Full::new(body))
        .unwrap();
    let res = service.oneshot(req).await.expect("infallible");
    read_reply(res).await
}

type PendingReply = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// Starts a polling GET in-process and checks that it waits: when this returns, the GET holds
/// the session's poll.
async fn pending_get(service: &EngineService<NotFound>, sid: &str) -> PendingReply {
    let mut fut: PendingReply = Box::pin(call(
        service.clone(),
        Method::GET,
        polling(sid),
        Bytes::new(),
    ));
    let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
    assert!(first.is_pending(), "the GET answered at once: {first:?}");
    fut
}

/// The message packets of a polling payload, in order (noops skipped).
fn messages(payload: &str) -> Vec<String> {
    payload
        .split('\x1e')
        .filter(|p| *p != "6")
        .map(|p| {
            p.strip_prefix('4')
                .unwrap_or_else(|| panic!("not a message: {p:?} in {payload:?}"))
                .to_owned()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1, 2: handshakes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn polling_handshake() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let reply = eio(server.addr, Method::GET, "EIO=4&transport=polling&t=x1", "").await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.body.starts_with('0'), "{:?}", reply.body);
        let open = open_packet(&reply.body);
        let sid = sid_of(&open);
        assert_eq!(
            open,
            json!({
                "sid": sid,
                "upgrades": ["websocket"],
                "pingInterval": 25000,
                "pingTimeout": 20000,
                "maxPayload": 1000000,
            })
        );
        assert_eq!(server.next_event().await, Event::Connect(sid.clone()));
        // The new session is routable.
        post(server.addr, &sid, "4hi").await.assert_ok("ok");
        get(server.addr, &sid).await.assert_ok("4hi");
        // Every handshake opens a new session.
        let other = handshake(server.addr).await;
        assert_ne!(other, sid);
    })
    .await;
}

#[tokio::test]
async fn websocket_handshake() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let mut ws = ws_connect(server.addr, None).await;
        let open = open_packet(&ws_text(&mut ws).await);
        let sid = sid_of(&open);
        assert_eq!(
            open,
            json!({
                "sid": sid,
                "upgrades": [],
                "pingInterval": 25000,
                "pingTimeout": 20000,
                "maxPayload": 1000000,
            })
        );
        assert_eq!(server.next_event().await, Event::Connect(sid.clone()));
        assert_eq!(session(&server, &sid).transport(), TransportKind::WebSocket);
        ws_send(&mut ws, "4hello").await;
        assert_eq!(ws_text(&mut ws).await, "4hello");
        ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
        assert_eq!(
            ws_next(&mut ws).await,
            Some(Message::binary(vec![1u8, 2, 3]))
        );
        // A direct WebSocket session cannot be polled.
        get(server.addr, &sid)
            .await
            .assert_error(StatusCode::BAD_REQUEST, 3, "Bad request");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 3, 4: requests the engine refuses outright
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_sid() {
    bounded(async {
        let server = spawn_echo_with(|c| c).await;
        let sid = "AAAAAAAAAAAAAAAAAAAAAA";
        for reply in [
            get(server.addr, sid).await,
            post(server.addr, sid, "4x").await,
        ] {
            assert_eq!(reply.body, r#"{"code":1,"message":"Session ID unknown"}"#);
            reply.assert_error(StatusCode::BAD_REQUEST, 1, "Session ID unknown");
        }
    })
    .await;
}

#[tokio::test]
async fn bad_version_transport_and_method() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let addr = server.addr;
        for query in [
            "transport=polling",
            "EIO=3&transport=polling",
            "EIO=5&transport=polling",
            "EIO=&transport=polling",
            "EIO=3&transport=websocket",
        ] {
            eio(addr, Method::GET, query, "").await.assert_error(
                StatusCode::BAD_REQUEST,
                5,
                "Unsupported protocol version",
            );
        }
        for query in ["EIO=4&transport=flash", "EIO=4", "EIO=4&transport="] {
            eio(addr, Method::GET, query, "").await.assert_error(
                StatusCode::BAD_REQUEST,
                0,
                "Transport unknown",
            );
        }
        eio(addr, Method::POST, "EIO=4&transport=polling", "4x")
            .await
            .assert_error(StatusCode::BAD_REQUEST, 2, "Bad handshake method");
        // A WebSocket handshake that is not one.
        eio(addr, Method::GET, "EIO=4&transport=websocket", "")
            .await
            .assert_error(StatusCode::BAD_REQUEST, 3, "Bad WebSocket handshake");
        // None of them opened a session.
        let sid = open_session(&mut server).await;
        assert_eq!(server.service.engine().session_count(), 1, "only {sid}");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 5, 6, 7: transport rule violations
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn concurrent_gets_close_the_session() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let sid = open_session(&mut server).await;
        // The first GET waits for packets (in-process, so that we know it is waiting).
        let first = pending_get(&server.service, &sid).await;
        // The second, over the network, breaks the one-poll rule.
        get(server.addr, &sid)
            .await
            .assert_error(StatusCode::BAD_REQUEST, 3, "Bad request");
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid.clone(), DisconnectReason::TransportError)
        );
        // The first GET is answered with a close packet rather than left hanging.
        first.await.assert_ok("1");
        // The session is gone.
        get(server.addr, &sid)
            .await
            .assert_error(StatusCode::BAD_REQUEST, 1, "Session ID unknown");
    })
    .await;
}

/// A request body that never ends: an upload its client stalled.
struct Stalled;

impl http_body::Body for Stalled {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Pending
    }
}

/// Starts a POST whose body never ends, in-process; when this returns, the POST is reading.
async fn stalled_post(
    service: &EngineService<NotFound>,
    sid: &str,
) -> impl Future<Output = Reply> + use<> {
    let req = Request::post(format!("/engine.io/?{}", polling(sid)))
        .body(Stalled)
        .unwrap();
    let service = service.clone();
    let mut fut = Box::pin(async move {
        let res = service.oneshot(req).await.expect("infallible");
        read_reply(res).await
    });
    let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
    assert!(first.is_pending(), "the POST answered at once: {first:?}");
    fut
}

#[tokio::test]
async fn concurrent_posts_close_the_session() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let sid = open_session(&mut server).await;
        let first = stalled_post(&server.service, &sid).await;
        post(server.addr, &sid, "4x")
            .await
            .assert_error(StatusCode::BAD_REQUEST, 3, "Bad request");
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid.clone(), DisconnectReason::TransportError)
        );
        drop(first);
        get(server.addr, &sid)
            .await
            .assert_error(StatusCode::BAD_REQUEST, 1, "Session ID unknown");
    })
    .await;
}

/// A POST dropped before it finished (a timeout layer in front, a vanished client) does not
/// make the session's next POST look concurrent.
#[tokio::test]
async fn abandoned_post_does_not_poison_the_session() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let sid = open_session(&mut server).await;
        drop(stalled_post(&server.service, &sid).await);
        post(server.addr, &sid, "4next").await.assert_ok("ok");
        get(server.addr, &sid).await.assert_ok("4next");
        assert!(server.events.try_recv().is_err(), "the session closed");
    })
    .await;
}

#[tokio::test]
async fn oversize_post_is_refused() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c.max_payload(1000)).await;
        let open = open_packet(
            &eio(server.addr, Method::GET, "EIO=4&transport=polling", "")
                .await
                .body,
        );
        assert_eq!(open["maxPayload"], 1000);
        let sid = sid_of(&open);
        assert_eq!(server.next_event().await, Event::Connect(sid.clone()));

        let big = format!("4{}", "x".repeat(1999));
        let reply = post(server.addr, &sid, &big).await;
        assert_eq!(
            reply.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{:?}",
            reply.body
        );
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid.clone(), DisconnectReason::TransportError)
        );
        get(server.addr, &sid)
            .await
            .assert_error(StatusCode::BAD_REQUEST, 1, "Session ID unknown");

        // Exactly max_payload bytes is fine, and echoed on the next GET.
        let sid = open_session(&mut server).await;
        let fits = format!("4{}", "y".repeat(999));
        assert_eq!(fits.len(), 1000);
        post(server.addr, &sid, &fits).await.assert_ok("ok");
        get(server.addr, &sid).await.assert_ok(&fits);
    })
    .await;
}

/// Issue 14, finding 3: a `Content-Length` over `max_payload` is refused with 413 before the
/// body is read (a raw TCP client declares 2^63 bytes and sends none of them).
#[tokio::test]
async fn oversize_content_length_is_refused_up_front() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let sid = open_session(&mut server).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let head = format!(
            "POST /engine.io/?{} HTTP/1.1\r\nhost: {}\r\ncontent-type: text/plain\r\n\
             content-length: 9223372036854775808\r\n\r\n",
            polling(&sid),
            server.addr
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed without an answer");
            answer.extend_from_slice(&buf[..n]);
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "expected 413, got {answer:?}"
        );
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid.clone(), DisconnectReason::TransportError)
        );
    })
    .await;
}

/// Issue 14, finding 3: a POST body that does not arrive within `body_timeout` is answered 408
/// and its session closed, as the reference server's HTTP layer ends a request that takes too
/// long (and its transport sees the request closed prematurely).
#[tokio::test(start_paused = true)]
async fn a_stalled_post_body_is_cut_at_its_deadline() {
    within(Duration::from_secs(3600), async {
        let deadline = Duration::from_secs(7);
        let (service, mut events) = in_process_echo(
            EngineConfig::builder()
                .body_timeout(deadline)
                .ping_interval(Duration::from_secs(600))
                .build(),
        );
        let sid = local_handshake(&service).await;
        assert_eq!(events.recv().await, Some(Event::Connect(sid.clone())));
        let started = Instant::now();
        let reply = stalled_post(&service, &sid).await.await;
        assert_eq!(reply.status, StatusCode::REQUEST_TIMEOUT);
        assert_about(Instant::now() - started, deadline);
        assert_eq!(
            events.recv().await,
            Some(Event::Disconnect(sid, DisconnectReason::TransportError))
        );
    })
    .await;
}

#[tokio::test]
async fn oversize_websocket_message_closes_with_1009() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c.max_payload(1000)).await;
        let mut ws = ws_connect(server.addr, None).await;
        let sid = sid_of(&open_packet(&ws_text(&mut ws).await));
        assert_eq!(server.next_event().await, Event::Connect(sid.clone()));
        // Within the limit: echoed.
        let fits = format!("4{}", "y".repeat(999));
        ws_send(&mut ws, &fits).await;
        assert_eq!(ws_text(&mut ws).await, fits);
        // Over it: closed with 1009 (message too big).
        ws_send(&mut ws, &format!("4{}", "x".repeat(1999))).await;
        assert_eq!(ws_close_code(&mut ws).await, Some(CloseCode::Size));
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid, DisconnectReason::TransportError)
        );

        // The same for a binary message.
        let mut ws = ws_connect(server.addr, None).await;
        let sid = sid_of(&open_packet(&ws_text(&mut ws).await));
        assert_eq!(server.next_event().await, Event::Connect(sid.clone()));
        ws.send(Message::binary(vec![7u8; 1000])).await.unwrap();
        assert_eq!(
            ws_next(&mut ws).await,
            Some(Message::binary(vec![7u8; 1000]))
        );
        ws.send(Message::binary(vec![7u8; 1001])).await.unwrap();
        assert_eq!(ws_close_code(&mut ws).await, Some(CloseCode::Size));
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid, DisconnectReason::TransportError)
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 8: wrong transport
// ---------------------------------------------------------------------------------------------

/// The headers of a WebSocket opening handshake.
const WS_HEADERS: [(&str, &str); 4] = [
    ("connection", "Upgrade"),
    ("upgrade", "websocket"),
    ("sec-websocket-version", "13"),
    ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
];

#[tokio::test]
async fn wrong_transport_for_a_session() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let sid = open_session(&mut server).await;
        let mut ws = upgrade(server.addr, &sid).await;
        ws_send(&mut ws, "4after upgrade").await;
        assert_eq!(ws_text(&mut ws).await, "4after upgrade");
        assert_eq!(session(&server, &sid).transport(), TransportKind::WebSocket);

        // Polling an upgraded session is a bad request; it does not end the session.
        get(server.addr, &sid)
            .await
            .assert_error(StatusCode::BAD_REQUEST, 3, "Bad request");
        post(server.addr, &sid, "4x")
            .await
            .assert_error(StatusCode::BAD_REQUEST, 3, "Bad request");
        // Nor does a second upgrade: as the reference, its handshake completes and it is closed
        // (issue 14, finding 8).
        let mut second = ws_connect(server.addr, Some(&sid)).await;
        assert_eq!(ws_close_code(&mut second).await, None);
        assert!(ws_next(&mut second).await.is_none());
        ws_send(&mut ws, "4still here").await;
        assert_eq!(ws_text(&mut ws).await, "4still here");

        // Other methods are bad requests too.
        eio(server.addr, Method::PUT, &polling(&sid), "4x")
            .await
            .assert_error(StatusCode::BAD_REQUEST, 3, "Bad request");
        ws_send(&mut ws, "4still here").await;
        assert_eq!(ws_text(&mut ws).await, "4still here");

        // A WebSocket for a session that does not exist.
        request(
            server.addr,
            Method::GET,
            "/engine.io/?EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAAAA",
            &WS_HEADERS,
            "",
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, 1, "Session ID unknown");
        // And no disconnect was reported for the live session.
        assert!(server.events.try_recv().is_err());
    })
    .await;
}

/// Issue 14, finding 8: a second WebSocket while the first is upgrading (probed, not yet
/// upgraded) completes its handshake and is closed; the first upgrade goes on untouched.
#[tokio::test]
async fn a_second_websocket_during_an_upgrade_is_closed() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let sid = open_session(&mut server).await;
        let mut first = ws_connect(server.addr, Some(&sid)).await;
        ws_send(&mut first, "2probe").await;
        assert_eq!(ws_text(&mut first).await, "3probe");
        let mut second = ws_connect(server.addr, Some(&sid)).await;
        assert_eq!(ws_close_code(&mut second).await, None);
        assert!(ws_next(&mut second).await.is_none());
        assert_eq!(session(&server, &sid).transport(), TransportKind::Polling);
        ws_send(&mut first, "5").await;
        ws_send(&mut first, "4upgraded").await;
        assert_eq!(ws_text(&mut first).await, "4upgraded");
        assert_eq!(session(&server, &sid).transport(), TransportKind::WebSocket);
        assert!(server.events.try_recv().is_err(), "the session closed");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 9, 10: timeouts, in paused time
// ---------------------------------------------------------------------------------------------

/// An echo engine driven in-process, for paused-time tests.
fn in_process_echo(
    config: EngineConfig,
) -> (EngineService<NotFound>, mpsc::UnboundedReceiver<Event>) {
    in_process(config, Arc::new)
}

/// An engine driven in-process whose handler `wrap` builds around an echo handler.
fn in_process<H: EngineHandler>(
    config: EngineConfig,
    wrap: impl FnOnce(Echo) -> Arc<H>,
) -> (EngineService<NotFound>, mpsc::UnboundedReceiver<Event>) {
    let (tx, events) = mpsc::unbounded_channel();
    let handler = wrap(Echo {
        events: tx,
        sessions: Mutex::new(Vec::new()),
    });
    (EngineService::standalone(handler, config), events)
}

/// The default configuration with this heartbeat.
fn heartbeat(interval: Duration, timeout: Duration) -> EngineConfig {
    EngineConfig::builder()
        .ping_interval(interval)
        .ping_timeout(timeout)
        .build()
}

async fn local_handshake(service: &EngineService<NotFound>) -> String {
    let reply = call(
        service.clone(),
        Method::GET,
        "EIO=4&transport=polling".into(),
        Bytes::new(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    sid_of(&open_packet(&reply.body))
}

async fn local_get(service: &EngineService<NotFound>, sid: &str) -> Reply {
    call(service.clone(), Method::GET, polling(sid), Bytes::new()).await
}

async fn local_post(service: &EngineService<NotFound>, sid: &str, body: &'static str) -> Reply {
    call(
        service.clone(),
        Method::POST,
        polling(sid),
        Bytes::from_static(body.as_bytes()),
    )
    .await
}

/// A virtual duration, give or take the timer wheel's millisecond.
#[track_caller]
fn assert_about(actual: Duration, expected: Duration) {
    assert!(
        actual >= expected && actual <= expected + Duration::from_millis(2),
        "{actual:?}, expected {expected:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn ping_timeout() {
    within(Duration::from_secs(3600), async {
        let interval = Duration::from_secs(25);
        let timeout = Duration::from_secs(20);
        let (service, mut events) = in_process_echo(heartbeat(interval, timeout));
        let sid = local_handshake(&service).await;
        let opened = Instant::now();
        assert_eq!(events.recv().await, Some(Event::Connect(sid.clone())));

        // The first ping comes one interval after the handshake.
        local_get(&service, &sid).await.assert_ok("2");
        let pinged = Instant::now();
        assert_about(pinged - opened, interval);

        // Unanswered, it closes the session after ping_timeout.
        assert_eq!(
            events.recv().await,
            Some(Event::Disconnect(
                sid.clone(),
                DisconnectReason::PingTimeout
            ))
        );
        assert_about(Instant::now() - pinged, timeout);
        local_get(&service, &sid).await.assert_error(
            StatusCode::BAD_REQUEST,
            1,
            "Session ID unknown",
        );

        // A session that answers stays open, interval after interval.
        let sid = local_handshake(&service).await;
        assert_eq!(events.recv().await, Some(Event::Connect(sid.clone())));
        let mut last = Instant::now();
        for _ in 0..5 {
            local_get(&service, &sid).await.assert_ok("2");
            assert_about(Instant::now() - last, interval);
            // Answer late, but within the timeout.
            tokio::time::sleep(timeout - Duration::from_secs(1)).await;
            local_post(&service, &sid, "3").await.assert_ok("ok");
            // The next ping is due one interval after the pong.
            last = Instant::now();
        }
        assert!(events.try_recv().is_err(), "the answering session closed");
        assert!(service.engine().session(&sid).is_some());
        // Messages still flow.
        local_post(&service, &sid, "4alive").await.assert_ok("ok");
        local_get(&service, &sid).await.assert_ok("4alive");
    })
    .await;
}

/// A WebSocket client over an in-memory pipe to the service: no socket, so paused time runs
/// ahead whenever everything waits.
async fn in_memory_ws(
    service: &EngineService<NotFound>,
) -> WebSocketStream<tokio::io::DuplexStream> {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let service = hyper_util::service::TowerToHyperService::new(service.clone());
    tokio::spawn(async move {
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(server), service)
            .with_upgrades()
            .await;
    });
    let (ws, res) = client_async(
        "ws://localhost/engine.io/?EIO=4&transport=websocket",
        client,
    )
    .await
    .expect("WebSocket handshake");
    assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws
}

async fn in_memory_text(ws: &mut WebSocketStream<tokio::io::DuplexStream>) -> String {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return t.to_string(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Issue 14, finding 8: a client that stops answering is closed `ping_timeout` after the ping
/// was sent (queued), `ping_interval + ping_timeout` after its last pong, as the reference
/// measures it, on both transports; over polling, a client that fetches the ping late does not
/// move the deadline.
#[tokio::test(start_paused = true)]
async fn the_ping_deadline_is_measured_alike_on_both_transports() {
    within(Duration::from_secs(3600), async {
        let interval = Duration::from_secs(25);
        let timeout = Duration::from_secs(20);
        let (service, mut events) = in_process_echo(heartbeat(interval, timeout));

        // WebSocket: one ping answered, the next not.
        let mut ws = in_memory_ws(&service).await;
        let opened = Instant::now();
        let sid = sid_of(&open_packet(&in_memory_text(&mut ws).await));
        assert_eq!(events.recv().await, Some(Event::Connect(sid.clone())));
        assert_eq!(in_memory_text(&mut ws).await, "2");
        assert_about(Instant::now() - opened, interval);
        ws.send(Message::text("3")).await.expect("pong");
        let ponged = Instant::now();
        assert_eq!(in_memory_text(&mut ws).await, "2");
        assert_about(Instant::now() - ponged, interval);
        assert_eq!(
            events.recv().await,
            Some(Event::Disconnect(sid, DisconnectReason::PingTimeout))
        );
        assert_about(Instant::now() - ponged, interval + timeout);

        // Polling: one ping answered, the next fetched 15 s late and not answered.
        let sid = local_handshake(&service).await;
        let opened = Instant::now();
        assert_eq!(events.recv().await, Some(Event::Connect(sid.clone())));
        local_get(&service, &sid).await.assert_ok("2");
        assert_about(Instant::now() - opened, interval);
        local_post(&service, &sid, "3").await.assert_ok("ok");
        let ponged = Instant::now();
        tokio::time::sleep(interval + Duration::from_secs(15)).await;
        local_get(&service, &sid).await.assert_ok("2");
        assert_eq!(
            events.recv().await,
            Some(Event::Disconnect(sid, DisconnectReason::PingTimeout))
        );
        assert_about(Instant::now() - ponged, interval + timeout);
    })
    .await;
}

/// With an interval shorter than the timeout, several pings are awaited at once: an answered
/// ping's deadline does not close the session, an unanswered one does.
#[tokio::test(start_paused = true)]
async fn ping_timeout_longer_than_the_interval() {
    within(Duration::from_secs(3600), async {
        let interval = Duration::from_secs(2);
        let timeout = Duration::from_secs(10);
        let (service, mut events) = in_process_echo(heartbeat(interval, timeout));
        // Two sessions half an interval apart, both answering for a while.
        let a = local_handshake(&service).await;
        assert_eq!(events.recv().await, Some(Event::Connect(a.clone())));
        tokio::time::sleep(interval / 2).await;
        let b = local_handshake(&service).await;
        assert_eq!(events.recv().await, Some(Event::Connect(b.clone())));
        for _ in 0..8 {
            local_get(&service, &a).await.assert_ok("2");
            local_post(&service, &a, "3").await.assert_ok("ok");
            local_get(&service, &b).await.assert_ok("2");
            local_post(&service, &b, "3").await.assert_ok("ok");
        }
        assert!(events.try_recv().is_err(), "an answering session closed");
        // Now `a` stops answering: it alone closes, one timeout after its last ping.
        local_get(&service, &a).await.assert_ok("2");
        let pinged = Instant::now();
        let b_alive = async {
            loop {
                local_get(&service, &b).await.assert_ok("2");
                local_post(&service, &b, "3").await.assert_ok("ok");
            }
        };
        tokio::select! {
            e = events.recv() => {
                assert_eq!(e, Some(Event::Disconnect(a.clone(), DisconnectReason::PingTimeout)));
            }
            () = b_alive => unreachable!(),
        }
        // (`b`, answering, was still open: its close would have come first. Dropping its
        // pending poll here ends it, as a vanished client.)
        assert_about(Instant::now() - pinged, timeout);
    })
    .await;
}

/// An echo handler whose callbacks panic: on the message `boom`, and on every disconnect.
struct Panicky(Echo);

impl EngineHandler for Panicky {
    fn on_connect(&self, session: &Session) {
        self.0.on_connect(session);
    }
    fn on_message(&self, session: &Session, msg: tower_socketio::engine::Str) {
        assert_ne!(msg.as_str(), "boom", "the handler fails");
        self.0.on_message(session, msg);
    }
    fn on_binary(&self, session: &Session, data: Bytes) {
        self.0.on_binary(session, data);
    }
    fn on_disconnect(&self, session: &Session, reason: DisconnectReason) {
        self.0.on_disconnect(session, reason);
        panic!("the disconnect handler fails");
    }
}

/// A panicking handler affects neither its own session (the message is lost, the session goes
/// on) nor the others: a panic in a disconnect callback run by the engine-wide heartbeat timer
/// does not stop the pings of every other session.
#[tokio::test(start_paused = true)]
async fn a_panicking_handler_is_contained() {
    within(Duration::from_secs(3600), async {
        let interval = Duration::from_secs(25);
        let timeout = Duration::from_secs(20);
        let (service, mut events) =
            in_process(heartbeat(interval, timeout), |echo| Arc::new(Panicky(echo)));
        let a = local_handshake(&service).await;
        assert_eq!(events.recv().await, Some(Event::Connect(a.clone())));
        local_post(&service, &a, "4boom").await.assert_ok("ok");
        local_post(&service, &a, "4after").await.assert_ok("ok");
        local_get(&service, &a).await.assert_ok("4after");

        // `a` times out; its disconnect callback panics inside the heartbeat timer's task.
        let b = local_handshake(&service).await;
        assert_eq!(events.recv().await, Some(Event::Connect(b.clone())));
        local_get(&service, &a).await.assert_ok("2");
        local_get(&service, &b).await.assert_ok("2");
        local_post(&service, &b, "3").await.assert_ok("ok");
        assert_eq!(
            events.recv().await,
            Some(Event::Disconnect(a.clone(), DisconnectReason::PingTimeout))
        );
        // The timer goes on for `b`: ping after ping.
        for _ in 0..3 {
            local_get(&service, &b).await.assert_ok("2");
            local_post(&service, &b, "3").await.assert_ok("ok");
        }
        assert!(service.engine().session(&b).is_some());
    })
    .await;
}

/// Paused time does not mix with real sockets: while a write waits in the kernel (Nagle and
/// delayed ACKs hold small segments for tens of milliseconds on loopback) the runtime looks idle
/// and jumps to the next timer, here the 25 s ping. So this test uses a short real
/// `upgrade_timeout` and awaits the server closing the WebSocket.
#[tokio::test]
async fn upgrade_timeout_falls_back_to_polling() {
    bounded(async {
        let upgrade_timeout = Duration::from_millis(200);
        let mut server = spawn_echo_with(|c| c.upgrade_timeout(upgrade_timeout)).await;
        let sid = open_session(&mut server).await;

        // The client probes but never sends `5`.
        let started = Instant::now();
        let mut ws = ws_connect(server.addr, Some(&sid)).await;
        ws_send(&mut ws, "2probe").await;
        assert_eq!(ws_text(&mut ws).await, "3probe");
        // The server gives up: it closes the WebSocket.
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
                Some(Err(e)) => panic!("WebSocket error: {e}"),
            }
        }
        let took = started.elapsed();
        assert!(took >= upgrade_timeout, "closed after {took:?}");

        // The session lives on over polling.
        assert_eq!(session(&server, &sid).transport(), TransportKind::Polling);
        post(server.addr, &sid, "4still polling")
            .await
            .assert_ok("ok");
        get(server.addr, &sid).await.assert_ok("4still polling");
        assert!(server.events.try_recv().is_err(), "the session closed");

        // And it can still upgrade afterwards.
        let mut ws = upgrade(server.addr, &sid).await;
        ws_send(&mut ws, "4upgraded").await;
        assert_eq!(ws_text(&mut ws).await, "4upgraded");
        assert_eq!(session(&server, &sid).transport(), TransportKind::WebSocket);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 11: a client that never reads
// ---------------------------------------------------------------------------------------------

/// The largest send buffer Linux autotunes a TCP socket to (`tcp_wmem`'s maximum).
fn max_tcp_send_buffer() -> usize {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(4 << 20)
}

#[tokio::test]
async fn client_that_never_reads_is_disconnected() {
    bounded(async {
        let queue_size = 16;
        let mut server = spawn_echo_with(|c| c.queue_size(queue_size)).await;
        // A small receive buffer on the client, which never reads a byte after the handshake.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        let rcvbuf = 16 * 1024;
        socket.set_recv_buffer_size(rcvbuf as u32).unwrap();
        let stream = socket.connect(server.addr).await.unwrap();
        let ws = ws_over(stream, server.addr, None).await;
        let Event::Connect(sid) = server.next_event().await else {
            panic!("expected a connect")
        };
        let session = session(&server, &sid);

        let frame = Frame::text("x".repeat(60_000));
        // What can be in flight besides the queue: the socket buffers (the kernel doubles the
        // receive buffer asked for), tungstenite's write buffer (128 KiB, plus the frame it
        // accepted when the socket blocked), a frame in the writer's hands, and the open packet.
        let in_flight = max_tcp_send_buffer() + 2 * rcvbuf + (128 << 10);
        let bound = queue_size + in_flight.div_ceil(frame.len()) + 3;
        let mut sent = 0;
        let error = loop {
            assert!(sent < 100_000, "the queue never filled");
            match session.send(frame.clone()) {
                Ok(()) => sent += 1,
                Err(e) => break e,
            }
            // Let the writer drain what the socket takes.
            tokio::task::yield_now().await;
        };
        assert_eq!(error, SendError::QueueFull);
        assert!(
            sent >= queue_size && sent <= bound,
            "{sent} frames queued before the queue was full (bound {bound})"
        );
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid, DisconnectReason::QueueFull)
        );
        assert_eq!(session.send(frame), Err(SendError::Closed));
        assert!(session.is_closed());
        drop(ws);
    })
    .await;
}

/// Issue 14, finding 2: one POST of 5,000 small messages to an echo queues 5,000 replies before
/// the next GET (a GET carries at most 16 packets). The queue is bounded in bytes: a burst that
/// fits in bytes keeps its session, and every reply arrives, in order.
#[tokio::test]
async fn a_large_polling_burst_keeps_its_session() {
    within(Duration::from_secs(60), async {
        let mut server = spawn_echo_with(|c| c).await;
        let sid = open_session(&mut server).await;
        let burst = 5_000;
        let body = vec![r#"42["e",1]"#; burst].join("\x1e");
        post(server.addr, &sid, &body).await.assert_ok("ok");
        let mut got = 0;
        while got < burst {
            let reply = get(server.addr, &sid).await;
            assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
            for m in messages(&reply.body) {
                assert_eq!(m, r#"2["e",1]"#, "reply {got}");
                got += 1;
            }
        }
        assert_eq!(got, burst);
        assert!(
            !session(&server, &sid).is_closed(),
            "the burst closed the session"
        );
        assert_eq!(session(&server, &sid).queued_bytes(), 0);
    })
    .await;
}

/// The byte bound: frames of 100 KB fill a 1 MB queue after about ten, whatever the bound in
/// frames, and the client that does not read is disconnected.
#[tokio::test]
async fn the_queue_is_bounded_in_bytes() {
    bounded(async {
        let max = 1 << 20;
        let mut server = spawn_echo_with(|c| c.max_queue_bytes(max)).await;
        let sid = open_session(&mut server).await;
        let session = session(&server, &sid);
        let frame = Frame::text("x".repeat(100_000));
        let mut sent = 0;
        let error = loop {
            assert!(sent < 1000, "the queue never filled");
            match session.send(frame.clone()) {
                Ok(()) => sent += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(error, SendError::QueueFull);
        assert_eq!(sent, max / (frame.len() + 64));
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid, DisconnectReason::QueueFull)
        );
    })
    .await;
}

/// `Session::ready` resolves once the queue is at most half full, and with `Closed` when the
/// session closes.
#[tokio::test]
async fn ready_waits_for_room_in_the_queue() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c.max_queue_bytes(2000)).await;
        let sid = open_session(&mut server).await;
        let session = session(&server, &sid);
        assert_eq!(session.ready().await, Ok(()));
        let frame = Frame::text("x".repeat(400));
        for _ in 0..3 {
            session.send(frame.clone()).unwrap();
        }
        // 3 × 465 bytes: more than half of 2000.
        let waiting = tokio::spawn({
            let session = session.clone();
            async move { session.ready().await }
        });
        tokio::task::yield_now().await;
        assert!(
            !waiting.is_finished(),
            "ready with the queue over half full"
        );
        assert_eq!(messages(&get(server.addr, &sid).await.body).len(), 3);
        assert_eq!(waiting.await.unwrap(), Ok(()));

        for _ in 0..3 {
            session.send(frame.clone()).unwrap();
        }
        let waiting = tokio::spawn({
            let session = session.clone();
            async move { session.ready().await }
        });
        tokio::task::yield_now().await;
        session.close();
        assert_eq!(waiting.await.unwrap(), Err(SendError::Closed));
    })
    .await;
}

/// Under `OverflowPolicy::Drop` a frame that does not fit is dropped and the session stays.
#[tokio::test]
async fn the_drop_policy_keeps_the_session() {
    bounded(async {
        let mut server = spawn_echo_with(|c| {
            c.max_queue_bytes(1000)
                .overflow(tower_socketio::engine::OverflowPolicy::Drop)
        })
        .await;
        let sid = open_session(&mut server).await;
        let session = session(&server, &sid);
        let frame = Frame::text("x".repeat(400));
        assert_eq!(session.send(frame.clone()), Ok(()));
        assert_eq!(session.send(frame.clone()), Ok(()));
        assert_eq!(session.send(frame.clone()), Err(SendError::QueueFull));
        assert!(!session.is_closed());
        let reply = get(server.addr, &sid).await;
        assert_eq!(messages(&reply.body).len(), 2);
        assert_eq!(session.send(frame), Ok(()));
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 12: nothing lost or doubled across an upgrade
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn upgrade_delivers_everything_once_in_order() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let addr = server.addr;
        let sid = open_session(&mut server).await;
        let session = session(&server, &sid);
        let mut next = 0;
        let mut queue = |n: usize| {
            for _ in 0..n {
                session.send_text(next.to_string()).unwrap();
                next += 1;
            }
        };
        let mut received = Vec::new();

        // Before the upgrade, over polling.
        queue(3);
        let reply = get(addr, &sid).await;
        assert_eq!(reply.status, StatusCode::OK);
        received.extend(messages(&reply.body));

        // A GET is waiting when the probe arrives: it is released with a noop.
        let waiting = pending_get(&server.service, &sid).await;
        let mut ws = ws_connect(addr, Some(&sid)).await;
        ws_send(&mut ws, "2probe").await;
        assert_eq!(ws_text(&mut ws).await, "3probe");
        waiting.await.assert_ok("6");

        // Queued during the upgrade: a GET still takes them (a real client would not poll now).
        queue(4);
        let reply = get(addr, &sid).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(!reply.body.is_empty());
        received.extend(messages(&reply.body));
        // With nothing queued, a GET during the upgrade answers a noop at once.
        get(addr, &sid).await.assert_ok("6");

        // Queued during the upgrade and left for the WebSocket.
        queue(5);
        ws_send(&mut ws, "5").await;
        // Queued around and after the switch.
        queue(20);
        session.send_text("end").unwrap();
        loop {
            let text = ws_text(&mut ws).await;
            let msg = text
                .strip_prefix('4')
                .unwrap_or_else(|| panic!("not a message: {text:?}"));
            if msg == "end" {
                break;
            }
            received.push(msg.to_owned());
        }
        let expected: Vec<String> = (0..next).map(|i| i.to_string()).collect();
        assert_eq!(received, expected);
        assert_eq!(session.transport(), TransportKind::WebSocket);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 13, 14: closes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn server_close_over_polling() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let sid = open_session(&mut server).await;
        let session = session(&server, &sid);
        let waiting = pending_get(&server.service, &sid).await;
        session.send_text("a").unwrap();
        session.send_text("b").unwrap();
        session.close();
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid.clone(), DisconnectReason::ClosedByServer)
        );
        assert_eq!(session.send_text("c"), Err(SendError::Closed));
        // What was queued, then the close packet, alone in the next answer (as the reference).
        waiting.await.assert_ok("4a\x1e4b");
        get(server.addr, &sid).await.assert_ok("1");
        // Once the client has been told, the session is forgotten.
        while server.service.engine().session(&sid).is_some() {
            tokio::task::yield_now().await;
        }
        get(server.addr, &sid)
            .await
            .assert_error(StatusCode::BAD_REQUEST, 1, "Session ID unknown");
    })
    .await;
}

#[tokio::test]
async fn server_close_over_polling_without_a_pending_get() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let sid = open_session(&mut server).await;
        let session = session(&server, &sid);
        session.send_text("a").unwrap();
        session.close();
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid.clone(), DisconnectReason::ClosedByServer)
        );
        // The next poll still gets what was queued, and the one after the close packet.
        get(server.addr, &sid).await.assert_ok("4a");
        get(server.addr, &sid).await.assert_ok("1");

        // A client that closes on its side meanwhile (a `1` by POST, as python-engineio does
        // once its last namespace is disconnected) ends the wait for its last poll.
        let sid = open_session(&mut server).await;
        let session = self::session(&server, &sid);
        session.send_text("a").unwrap();
        session.close();
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid.clone(), DisconnectReason::ClosedByServer)
        );
        post(server.addr, &sid, "1").await.assert_ok("ok");
        while server.service.engine().session(&sid).is_some() {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

/// A close must not lose what was queued when it takes more than one poll to deliver.
#[tokio::test]
async fn server_close_flushes_more_than_one_payload() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c.max_payload(1000)).await;
        let big = |c: &str| c.repeat(600);

        // No GET waiting: three polls, then the close packet alone in a fourth.
        let sid = open_session(&mut server).await;
        let session = session(&server, &sid);
        for c in ["a", "b", "c"] {
            session.send_text(big(c)).unwrap();
        }
        session.close();
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid.clone(), DisconnectReason::ClosedByServer)
        );
        get(server.addr, &sid)
            .await
            .assert_ok(&format!("4{}", big("a")));
        get(server.addr, &sid)
            .await
            .assert_ok(&format!("4{}", big("b")));
        get(server.addr, &sid)
            .await
            .assert_ok(&format!("4{}", big("c")));
        get(server.addr, &sid).await.assert_ok("1");

        // A GET waiting when the session closes.
        let sid = open_session(&mut server).await;
        let session = self::session(&server, &sid);
        let waiting = pending_get(&server.service, &sid).await;
        for c in ["a", "b", "c"] {
            session.send_text(big(c)).unwrap();
        }
        session.close();
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid.clone(), DisconnectReason::ClosedByServer)
        );
        waiting.await.assert_ok(&format!("4{}", big("a")));
        get(server.addr, &sid)
            .await
            .assert_ok(&format!("4{}", big("b")));
        get(server.addr, &sid)
            .await
            .assert_ok(&format!("4{}", big("c")));
        get(server.addr, &sid).await.assert_ok("1");
    })
    .await;
}

#[tokio::test]
async fn server_close_over_websocket() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let mut ws = ws_connect(server.addr, None).await;
        let sid = sid_of(&open_packet(&ws_text(&mut ws).await));
        assert_eq!(server.next_event().await, Event::Connect(sid.clone()));
        let session = session(&server, &sid);
        session.send_text("a").unwrap();
        session.close();
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid, DisconnectReason::ClosedByServer)
        );
        assert_eq!(ws_text(&mut ws).await, "4a");
        assert_eq!(ws_text(&mut ws).await, "1");
        assert_eq!(ws_close_code(&mut ws).await, Some(CloseCode::Normal));
    })
    .await;
}

#[tokio::test]
async fn client_close_over_polling() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let sid = open_session(&mut server).await;
        post(server.addr, &sid, "1").await.assert_ok("ok");
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid.clone(), DisconnectReason::TransportClose)
        );
        get(server.addr, &sid)
            .await
            .assert_error(StatusCode::BAD_REQUEST, 1, "Session ID unknown");

        // Packets after the close in the same payload are not delivered.
        let sid = open_session(&mut server).await;
        post(server.addr, &sid, "4a\x1e1\x1e4b")
            .await
            .assert_ok("ok");
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid.clone(), DisconnectReason::TransportClose)
        );
    })
    .await;
}

/// Issue 14, finding 8: a close packet by POST while a GET waits: the GET is answered with a
/// noop `6`, as the reference answers it (not with a close `1`).
#[tokio::test]
async fn client_close_by_post_answers_the_pending_get_with_a_noop() {
    bounded(async {
        let (service, mut events) = in_process_echo(EngineConfig::builder().build());
        let sid = local_handshake(&service).await;
        assert_eq!(events.recv().await, Some(Event::Connect(sid.clone())));
        let waiting = pending_get(&service, &sid).await;
        local_post(&service, &sid, "1").await.assert_ok("ok");
        waiting.await.assert_ok("6");
        assert_eq!(
            events.recv().await,
            Some(Event::Disconnect(
                sid.clone(),
                DisconnectReason::TransportClose
            ))
        );
        local_get(&service, &sid).await.assert_error(
            StatusCode::BAD_REQUEST,
            1,
            "Session ID unknown",
        );
    })
    .await;
}

#[tokio::test]
async fn client_close_over_websocket() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        // A Close frame.
        let mut ws = ws_connect(server.addr, None).await;
        let sid = sid_of(&open_packet(&ws_text(&mut ws).await));
        assert_eq!(server.next_event().await, Event::Connect(sid.clone()));
        ws.close(None).await.unwrap();
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid, DisconnectReason::TransportClose)
        );
        // The close handshake completes.
        while let Some(m) = ws.next().await {
            match m {
                Ok(Message::Close(_)) | Err(_) => {}
                Ok(other) => panic!("unexpected frame after close: {other:?}"),
            }
        }

        // A close packet.
        let mut ws = ws_connect(server.addr, None).await;
        let sid = sid_of(&open_packet(&ws_text(&mut ws).await));
        assert_eq!(server.next_event().await, Event::Connect(sid.clone()));
        ws_send(&mut ws, "1").await;
        assert_eq!(
            server.next_event().await,
            Event::Disconnect(sid, DisconnectReason::TransportClose)
        );
        assert_eq!(ws_close_code(&mut ws).await, Some(CloseCode::Normal));

        // A dropped connection.
        let mut ws = ws_connect(server.addr, None).await;
        let sid = sid_of(&open_packet(&ws_text(&mut ws).await));
        assert_eq!(server.next_event().await, Event::Connect(sid.clone()));
        drop(ws);
        let Event::Disconnect(id, reason) = server.next_event().await else {
            panic!("expected a disconnect")
        };
        assert_eq!(id, sid);
        assert!(
            matches!(
                reason,
                DisconnectReason::TransportClose | DisconnectReason::TransportError
            ),
            "{reason:?}"
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 15: malformed payloads
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_payloads_end_only_their_session() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let bystander = open_session(&mut server).await;
        let payloads: [&[u8]; 8] = [
            b"9",
            b"\xff",
            b"4a\x1e",
            b"b!!",
            b"",
            b"0",
            b"1x",
            b"6:4hello",
        ];
        for payload in payloads {
            let sid = open_session(&mut server).await;
            post(server.addr, &sid, payload).await.assert_error(
                StatusCode::BAD_REQUEST,
                3,
                "Bad request",
            );
            let event = server.next_event().await;
            assert_eq!(
                event,
                Event::Disconnect(sid.clone(), DisconnectReason::PacketParsing),
                "payload {payload:?}"
            );
            get(server.addr, &sid).await.assert_error(
                StatusCode::BAD_REQUEST,
                1,
                "Session ID unknown",
            );
        }
        // The other session did not notice.
        post(server.addr, &bystander, "4still here")
            .await
            .assert_ok("ok");
        get(server.addr, &bystander).await.assert_ok("4still here");
        assert!(server.events.try_recv().is_err());
    })
    .await;
}

#[tokio::test]
async fn malformed_websocket_packets_close_with_1002() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        for packet in ["9", "", "0", "1x", "2probe", "5"] {
            let mut ws = ws_connect(server.addr, None).await;
            let sid = sid_of(&open_packet(&ws_text(&mut ws).await));
            assert_eq!(server.next_event().await, Event::Connect(sid.clone()));
            ws_send(&mut ws, packet).await;
            let code = ws_close_code(&mut ws).await;
            let event = server.next_event().await;
            assert_eq!(
                event,
                Event::Disconnect(sid, DisconnectReason::PacketParsing),
                "packet {packet:?}"
            );
            // Undecodable packets are a protocol error; decodable ones out of place (an upgrade
            // probe on a session that is not upgrading) end the session normally.
            let expected = if ["2probe", "5"].contains(&packet) {
                CloseCode::Normal
            } else {
                CloseCode::Protocol
            };
            assert_eq!(code, Some(expected), "packet {packet:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn bad_upgrade_probe_keeps_the_session_polling() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let sid = open_session(&mut server).await;
        for probe in [Message::text("4not a probe"), Message::binary(vec![2u8])] {
            let mut ws = ws_connect(server.addr, Some(&sid)).await;
            ws.send(probe).await.unwrap();
            // The server abandons the upgrade and closes the WebSocket.
            while let Some(m) = ws_next(&mut ws).await {
                assert!(matches!(m, Message::Close(_)), "unexpected frame {m:?}");
            }
            assert_eq!(session(&server, &sid).transport(), TransportKind::Polling);
            post(server.addr, &sid, "4polling").await.assert_ok("ok");
            get(server.addr, &sid).await.assert_ok("4polling");
        }
        // A WebSocket that goes away during the probe.
        let mut ws = ws_connect(server.addr, Some(&sid)).await;
        ws_send(&mut ws, "2probe").await;
        assert_eq!(ws_text(&mut ws).await, "3probe");
        drop(ws);
        // The upgrade ends; a later one succeeds.
        let mut ws = loop {
            // Until the server has seen the first WebSocket go, a new upgrade is refused: with
            // 400 before the WebSocket handshake, or by closing it after.
            let stream = TcpStream::connect(server.addr).await.unwrap();
            let url = format!(
                "ws://{}/engine.io/?EIO=4&transport=websocket&sid={sid}",
                server.addr
            );
            let mut ws = match client_async(url, stream).await {
                Ok((ws, _)) => ws,
                Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
                    tokio::task::yield_now().await;
                    continue;
                }
                Err(e) => panic!("WebSocket handshake: {e}"),
            };
            if ws.send(Message::text("2probe")).await.is_ok()
                && let Some(Ok(Message::Text(t))) = ws.next().await
            {
                assert_eq!(t, "3probe");
                break ws;
            }
            tokio::task::yield_now().await;
        };
        ws_send(&mut ws, "5").await;
        ws_send(&mut ws, "4upgraded").await;
        assert_eq!(ws_text(&mut ws).await, "4upgraded");
        assert!(server.events.try_recv().is_err(), "the session closed");
    })
    .await;
}

#[tokio::test]
async fn engine_shutdown() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let polling_sid = open_session(&mut server).await;
        let mut ws = ws_connect(server.addr, None).await;
        let ws_sid = sid_of(&open_packet(&ws_text(&mut ws).await));
        assert_eq!(server.next_event().await, Event::Connect(ws_sid.clone()));
        let waiting = pending_get(&server.service, &polling_sid).await;

        server.service.engine().close();
        let mut closed = vec![server.next_event().await, server.next_event().await];
        closed.sort_by_key(|e| format!("{e:?}"));
        let mut expected = vec![
            Event::Disconnect(polling_sid, DisconnectReason::ServerShutdown),
            Event::Disconnect(ws_sid, DisconnectReason::ServerShutdown),
        ];
        expected.sort_by_key(|e| format!("{e:?}"));
        assert_eq!(closed, expected);
        // Both clients are told.
        waiting.await.assert_ok("1");
        assert_eq!(ws_text(&mut ws).await, "1");
        assert_eq!(ws_close_code(&mut ws).await, Some(CloseCode::Normal));
        // And no new session opens.
        eio(server.addr, Method::GET, "EIO=4&transport=polling", "")
            .await
            .assert_error(StatusCode::FORBIDDEN, 4, "Server is shutting down");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 16: binary over polling
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn binary_over_polling() {
    bounded(async {
        let mut server = spawn_echo_with(|c| c).await;
        let sid = open_session(&mut server).await;
        post(server.addr, &sid, "bAQID").await.assert_ok("ok");
        get(server.addr, &sid).await.assert_ok("bAQID");
        // Mixed text and binary, order kept; an empty binary message too.
        post(server.addr, &sid, "4a\x1ebAQID\x1e4b\x1eb\x1ebAAEC/w==")
            .await
            .assert_ok("ok");
        get(server.addr, &sid)
            .await
            .assert_ok("4a\x1ebAQID\x1e4b\x1eb\x1ebAAEC/w==");
        // Binary sent by the server.
        session(&server, &sid)
            .send_binary(Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]))
            .unwrap();
        get(server.addr, &sid).await.assert_ok("b3q2+7w==");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 17: allow_request
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn allow_request_refuses_with_403() {
    bounded(async {
        let mut server = spawn_echo_with(|c| {
            c.allow_request(|parts: &http::request::Parts| {
                let token = parts
                    .headers
                    .get("x-token")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                async move {
                    match token.as_deref() {
                        Some("let-me-in") => Ok(()),
                        Some(other) => Err(format!("bad token {other}")),
                        None => Err("no token".to_owned()),
                    }
                }
            })
        })
        .await;
        let addr = server.addr;
        let path = "/engine.io/?EIO=4&transport=polling";
        request(addr, Method::GET, path, &[], "")
            .await
            .assert_error(StatusCode::FORBIDDEN, 4, "no token");
        request(addr, Method::GET, path, &[("x-token", "guess")], "")
            .await
            .assert_error(StatusCode::FORBIDDEN, 4, "bad token guess");
        // The WebSocket handshake is checked too.
        let mut headers = WS_HEADERS.to_vec();
        headers.push(("x-token", "guess"));
        request(
            addr,
            Method::GET,
            "/engine.io/?EIO=4&transport=websocket",
            &headers,
            "",
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, 4, "bad token guess");

        let reply = request(addr, Method::GET, path, &[("x-token", "let-me-in")], "").await;
        assert_eq!(reply.status, StatusCode::OK);
        let sid = sid_of(&open_packet(&reply.body));
        // The refused handshakes opened nothing.
        assert_eq!(server.next_event().await, Event::Connect(sid.clone()));
        assert_eq!(server.service.engine().session_count(), 1);
        // Requests on an open session are not checked again.
        post(addr, &sid, "4x").await.assert_ok("ok");
        get(addr, &sid).await.assert_ok("4x");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 18: a layer in an axum app
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn layer_passes_other_paths_to_axum() {
    bounded(async {
        let (tx, mut events) = mpsc::unbounded_channel();
        let handler = Arc::new(Echo {
            events: tx,
            sessions: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .route("/api/health", axum::routing::get(|| async { "ok" }))
            .layer(EngineLayer::new(handler, EngineConfig::builder().build()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });

        let health = request(addr, Method::GET, "/api/health", &[], "").await;
        assert_eq!(
            (health.status, health.body.as_str()),
            (StatusCode::OK, "ok")
        );
        let missing = request(addr, Method::GET, "/api/nothing", &[], "").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let wrong_method = request(addr, Method::POST, "/api/health", &[], "").await;
        assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);

        // Engine.IO at its path, with or without the trailing slash.
        let sid = handshake(addr).await;
        assert_eq!(events.recv().await, Some(Event::Connect(sid.clone())));
        let reply = request(
            addr,
            Method::GET,
            "/engine.io?EIO=4&transport=polling",
            &[],
            "",
        )
        .await;
        let other = sid_of(&open_packet(&reply.body));
        assert_eq!(events.recv().await, Some(Event::Connect(other)));
        post(addr, &sid, "4via axum").await.assert_ok("ok");
        get(addr, &sid).await.assert_ok("4via axum");

        // WebSocket upgrades go through axum's server too.
        let mut ws = upgrade(addr, &sid).await;
        ws_send(&mut ws, "4over ws").await;
        assert_eq!(ws_text(&mut ws).await, "4over ws");
        let mut direct = ws_connect(addr, None).await;
        let _ = sid_of(&open_packet(&ws_text(&mut direct).await));
    })
    .await;
}

/// `serve` from `tests/common` also serves a layered service (the layer around `NotFound`).
#[tokio::test]
async fn layer_around_a_plain_service() {
    bounded(async {
        let (tx, _events) = mpsc::unbounded_channel();
        let handler = Arc::new(Echo {
            events: tx,
            sessions: Mutex::new(Vec::new()),
        });
        let layer = EngineLayer::new(handler, EngineConfig::builder().path("/custom").build());
        let service = tower::Layer::layer(&layer, NotFound);
        let addr = serve(service).await;
        let reply = request(
            addr,
            Method::GET,
            "/custom/?EIO=4&transport=polling",
            &[],
            "",
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        let _ = sid_of(&open_packet(&reply.body));
        let reply = request(
            addr,
            Method::GET,
            "/engine.io/?EIO=4&transport=polling",
            &[],
            "",
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(layer.engine().session_count(), 1);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Logs an operator can use (issue 14, finding 5)
// ---------------------------------------------------------------------------------------------

/// One event a [`Collect`] layer saw: its level and its fields, the message among them.
#[derive(Debug, Clone)]
struct Logged {
    level: tracing::Level,
    fields: std::collections::HashMap<String, String>,
}

impl Logged {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// A tracing layer that keeps every event of this crate.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<Logged>>>);

impl Collect {
    fn warnings(&self) -> Vec<Logged> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.level == tracing::Level::WARN)
            .cloned()
            .collect()
    }
}

struct Fields<'a>(&'a mut std::collections::HashMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Collect {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if !event.metadata().target().starts_with("tower_socketio") {
            return;
        }
        let mut fields = std::collections::HashMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(Logged {
            level: *event.metadata().level(),
            fields,
        });
    }
}

#[tokio::test(start_paused = true)]
async fn protocol_violations_are_warnings_with_the_sid_and_rate_limited() {
    use tracing_subscriber::layer::SubscriberExt;
    let logs = Collect::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(logs.clone()));
    within(Duration::from_secs(3600), async {
        let (service, mut events) = in_process_echo(heartbeat(
            Duration::from_secs(600),
            Duration::from_secs(600),
        ));
        // An ordinary close is no warning.
        let sid = local_handshake(&service).await;
        local_post(&service, &sid, "1").await.assert_ok("ok");
        assert!(logs.warnings().is_empty(), "{:?}", logs.warnings());
        // A malformed payload is, with the session's id.
        let sid = local_handshake(&service).await;
        local_post(&service, &sid, "9garbage").await.assert_error(
            StatusCode::BAD_REQUEST,
            3,
            "Bad request",
        );
        let warnings = logs.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].field("sid"), Some(sid.as_str()));
        assert!(
            warnings[0]
                .field("message")
                .is_some_and(|m| m.contains("malformed")),
            "{warnings:?}"
        );
        // One client cannot flood the log: at most 20 a second (the clock is paused), then one
        // line says how many were held back.
        for _ in 0..100 {
            let sid = local_handshake(&service).await;
            local_post(&service, &sid, "9garbage").await;
        }
        assert_eq!(logs.warnings().len(), 20);
        tokio::time::advance(Duration::from_secs(1)).await;
        let sid = local_handshake(&service).await;
        local_post(&service, &sid, "9garbage").await;
        let warnings = logs.warnings();
        assert_eq!(warnings.len(), 22, "{warnings:?}");
        assert_eq!(warnings[20].field("held_back"), Some("81"));
        assert_eq!(warnings[21].field("sid"), Some(sid.as_str()));
        while events.try_recv().is_ok() {}
    })
    .await;
}
