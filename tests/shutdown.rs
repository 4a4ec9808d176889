//! An awaitable shutdown under load (issue 14, finding 7): `SocketIo::shutdown` stops accepting,
//! tells every client, flushes every queue, then resolves.
//!
//! A real server on 127.0.0.1 with 200 raw WebSocket clients and 20 raw polling clients, all
//! connected to `/` and reading. The server broadcasts 20 numbered events of 4 KB, then shuts
//! down. Each client must receive the 20 events in order, then the Socket.IO DISCONNECT (`41`:
//! an official client reports `io server disconnect`), then the Engine.IO close (`1`); each
//! disconnect handler on the server sees `server shutting down`; the shutdown resolves `true`
//! within its deadline, and a new handshake is refused.

mod common;

use std::{net::SocketAddr, time::Duration};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpStream, sync::mpsc, task::JoinSet};
use tokio_tungstenite::{WebSocketStream, client_async, tungstenite::Message};
use tower_socketio::{DisconnectReason, SocketIo, SocketRef};

const WS_CLIENTS: usize = 200;
const POLLING_CLIENTS: usize = 20;
const EVENTS: usize = 20;
const PAYLOAD: usize = 4 * 1024;
const DEADLINE: Duration = Duration::from_secs(10);
const TEST_LIMIT: Duration = Duration::from_secs(60);

type Ws = WebSocketStream<TcpStream>;

/// One HTTP/1.1 request on a new connection: status and body.
async fn request(
    addr: SocketAddr,
    method: Method,
    query: &str,
    body: &str,
) -> (StatusCode, String) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    tokio::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(format!("/socket.io/?EIO=4&transport=polling{query}"))
        .header(header::HOST, addr.to_string())
        .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
        .unwrap();
    let res = sender.send_request(req).await.expect("HTTP request");
    let status = res.status();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8(body.to_vec()).expect("UTF-8"))
}

/// The session id in an open packet `0{...}`.
fn sid_of(open: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(open.strip_prefix('0').expect("an open packet")).expect("JSON");
    json["sid"].as_str().expect("a sid").to_owned()
}

async fn ws_text(ws: &mut Ws) -> String {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return t.to_string(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// A WebSocket client connected to `/`.
async fn ws_client(addr: SocketAddr) -> Ws {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = client_async(url, stream)
        .await
        .expect("WebSocket handshake");
    assert!(ws_text(&mut ws).await.starts_with("0{"));
    ws.send(Message::text("40")).await.expect("send CONNECT");
    assert!(ws_text(&mut ws).await.starts_with("40{"));
    ws
}

/// Everything a WebSocket client reads until the connection ends: its Engine.IO packets.
async fn ws_read_all(mut ws: Ws) -> Vec<String> {
    let mut got = Vec::new();
    while let Some(m) = ws.next().await {
        match m {
            Ok(Message::Text(t)) => got.push(t.to_string()),
            Ok(Message::Close(_)) => {
                got.push("<close frame>".to_owned());
            }
            Ok(_) => {}
            Err(e) => {
                got.push(format!("<error {e}>"));
                break;
            }
        }
    }
    got
}

/// A polling client connected to `/`; its session id.
async fn polling_client(addr: SocketAddr) -> String {
    let (status, open) = request(addr, Method::GET, "", "").await;
    assert_eq!(status, StatusCode::OK);
    let sid = sid_of(&open);
    let q = format!("&sid={sid}");
    assert_eq!(request(addr, Method::POST, &q, "40").await.1, "ok");
    let (_, answer) = request(addr, Method::GET, &q, "").await;
    assert!(answer.starts_with("40{"), "CONNECT answer {answer:?}");
    sid
}

/// Everything a polling client reads until the Engine.IO close packet.
async fn polling_read_all(addr: SocketAddr, sid: String) -> Vec<String> {
    let q = format!("&sid={sid}");
    let mut got = Vec::new();
    loop {
        let (status, body) = request(addr, Method::GET, &q, "").await;
        assert_eq!(status, StatusCode::OK, "GET: {body:?}");
        for piece in body.split('\x1e') {
            got.push(piece.to_owned());
            if piece == "1" {
                return got;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tells_every_client_and_flushes_every_queue() {
    tokio::time::timeout(TEST_LIMIT, run())
        .await
        .expect("the test did not finish in time");
}

async fn run() {
    let (tx, mut reasons) = mpsc::unbounded_channel();
    let (svc, io) = SocketIo::builder().build_svc();
    io.ns("/", move |socket: SocketRef| {
        let tx = tx.clone();
        socket.on_disconnect(move |reason: DisconnectReason| {
            let _ = tx.send(reason);
        });
    });
    let addr = common::serve(svc).await;

    let mut readers = JoinSet::new();
    for _ in 0..WS_CLIENTS {
        let ws = ws_client(addr).await;
        readers.spawn(ws_read_all(ws));
    }
    for _ in 0..POLLING_CLIENTS {
        let sid = polling_client(addr).await;
        readers.spawn(polling_read_all(addr, sid));
    }
    let total = WS_CLIENTS + POLLING_CLIENTS;
    let ns = io.of("/").expect("the namespace");
    assert_eq!(ns.sockets().len(), total);

    let filler = "x".repeat(PAYLOAD);
    for i in 0..EVENTS {
        io.emit("n", &(i, &filler)).await.expect("broadcast");
    }
    let started = tokio::time::Instant::now();
    assert!(
        io.shutdown(DEADLINE).await,
        "not every session finished in time"
    );
    let handled = reasons.len();
    let took = started.elapsed();
    assert!(took < DEADLINE, "{took:?}");

    // Refused from now on.
    let (status, body) = request(addr, Method::GET, "", "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body:?}");

    let expected: Vec<String> = (0..EVENTS)
        .map(|i| format!(r#"42["n",{i},"{filler}"]"#))
        .collect();
    let mut clients = 0;
    while let Some(got) = readers.join_next().await {
        let got = got.expect("a reader panicked");
        clients += 1;
        let events: Vec<&String> = got.iter().filter(|p| p.starts_with("42")).collect();
        assert_eq!(
            events.len(),
            EVENTS,
            "events cut: {:?}",
            &got[got.len().saturating_sub(3)..]
        );
        assert!(
            events.iter().zip(&expected).all(|(a, b)| *a == b),
            "events out of order"
        );
        let tail: Vec<&str> = got
            .iter()
            .map(String::as_str)
            .filter(|p| !p.starts_with("42") && *p != "6")
            .collect();
        assert!(
            tail == ["41", "1", "<close frame>"] || tail == ["41", "1"],
            "after the events: {tail:?}"
        );
    }
    assert_eq!(clients, total);
    // Every disconnect handler ran before the shutdown resolved.
    assert_eq!(
        handled, total,
        "disconnect handlers run when the shutdown resolved"
    );
    for k in 0..total {
        let reason = reasons
            .try_recv()
            .unwrap_or_else(|e| panic!("disconnect {k} of {total} not seen: {e}"));
        assert_eq!(reason, DisconnectReason::ServerShuttingDown);
    }
    assert!(ns.sockets().is_empty());
    // A polling session is forgotten once its last poll has taken the close packet.
    let engine = io.engine().expect("the engine");
    while engine.session_count() > 0 {
        tokio::task::yield_now().await;
    }
}
