//! The bounds on sessions that have not connected a namespace (issue 14, finding 4): per server
//! and per client address, a clear refusal past them, and a session that connects a namespace
//! leaves the count, so connected clients never hold it.

mod common;

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;
use tower_socketio::{SocketIo, SocketRef};

const LIMIT: Duration = Duration::from_secs(30);

/// One polling request from the loopback address `127.0.0.{from}`: status and body.
async fn request(
    server: SocketAddr,
    from: u8,
    method: Method,
    query: &str,
    body: &str,
) -> (StatusCode, String) {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, from)),
            0,
        ))
        .unwrap();
    let stream = socket.connect(server).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    tokio::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(format!("/socket.io/?EIO=4&transport=polling{query}"))
        .header(header::HOST, server.to_string())
        .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
        .unwrap();
    let res = sender.send_request(req).await.expect("HTTP request");
    let status = res.status();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8(body.to_vec()).expect("UTF-8"))
}

/// A new session from `127.0.0.{from}`, connected to no namespace: its id.
async fn open(server: SocketAddr, from: u8) -> String {
    let (status, body) = request(server, from, Method::GET, "", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value =
        serde_json::from_str(body.strip_prefix('0').expect("an open packet")).unwrap();
    json["sid"].as_str().unwrap().to_owned()
}

/// A handshake from `127.0.0.{from}` that must be refused: its status and JSON error.
async fn refused(server: SocketAddr, from: u8) -> (StatusCode, serde_json::Value) {
    let (status, body) = request(server, from, Method::GET, "", "").await;
    let json = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    (status, json)
}

/// Connects the session to `/`, as a client does after its handshake.
async fn connect_namespace(server: SocketAddr, from: u8, sid: &str) {
    let q = format!("&sid={sid}");
    assert_eq!(request(server, from, Method::POST, &q, "40").await.1, "ok");
    let (_, answer) = request(server, from, Method::GET, &q, "").await;
    assert!(answer.starts_with("40{"), "CONNECT answer {answer:?}");
}

#[tokio::test]
async fn sessions_without_a_namespace_are_bounded_per_server_and_per_address() {
    tokio::time::timeout(LIMIT, async {
        let (svc, io) = SocketIo::builder()
            .max_pending_sessions(5)
            .max_pending_sessions_per_address(3)
            .build_svc();
        io.ns("/", |_: SocketRef| {});
        let server = common::serve(svc).await;

        // Three from 127.0.0.1, the most one address may hold.
        let mut first = Vec::new();
        for _ in 0..3 {
            first.push(open(server, 1).await);
        }
        let (status, error) = refused(server, 1).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            error,
            serde_json::json!({"code": 4, "message": "Too many pending sessions from this address"})
        );
        // Another address may still open some, up to the server's bound of five.
        let second = [open(server, 2).await, open(server, 2).await];
        let (status, error) = refused(server, 2).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            error,
            serde_json::json!({"code": 4, "message": "Too many pending sessions"})
        );
        assert_eq!(refused(server, 3).await.0, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!((io.pending_session_count(), io.session_count()), (5, 5));

        // A session that connects a namespace leaves the count: a legitimate client never
        // holds the bound, and its address may open another.
        connect_namespace(server, 1, &first[0]).await;
        assert_eq!((io.pending_session_count(), io.session_count()), (4, 5));
        let again = open(server, 1).await;
        // Five pending again: the server's bound comes first.
        assert_eq!(refused(server, 4).await.0, StatusCode::SERVICE_UNAVAILABLE);
        // All five pending connect: none is pending, and every address may open again.
        for sid in [&first[1], &first[2], &again] {
            connect_namespace(server, 1, sid).await;
        }
        for sid in &second {
            connect_namespace(server, 2, sid).await;
        }
        assert_eq!((io.pending_session_count(), io.session_count()), (0, 6));
        assert_eq!(io.socket_count(), 6);

        // A pending session that closes leaves the count too.
        let sids: Vec<String> = {
            let mut v = Vec::new();
            for _ in 0..3 {
                v.push(open(server, 5).await);
            }
            v
        };
        assert_eq!(refused(server, 5).await.0, StatusCode::TOO_MANY_REQUESTS);
        let q = format!("&sid={}", sids[0]);
        assert_eq!(request(server, 5, Method::POST, &q, "1").await.1, "ok");
        assert_eq!(io.pending_session_count(), 2);
        open(server, 5).await;
        assert_eq!(io.pending_session_count(), 3);
    })
    .await
    .expect("the test took too long");
}

#[test]
fn the_defaults_are_documented() {
    assert_eq!(tower_socketio::DEFAULT_MAX_PENDING, 10_000);
    assert_eq!(tower_socketio::DEFAULT_MAX_PENDING_PER_ADDRESS, 1_000);
}
