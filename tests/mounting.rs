//! The layer mounted in axum (beside REST routes, behind CORS and trace layers), plain hyper and
//! warp: REST routes answer and Socket.IO works over the same port.

mod common;

use std::{net::SocketAddr, time::Duration};

use axum::{Router, routing::get};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tower_layer::Layer;
use tower_socketio::{SocketIo, SocketIoLayer, SocketRef, extract::Data};

async fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: &str,
) -> (u16, http::HeaderMap, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("origin", "http://example.test")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let res = send.send_request(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn socket_io() -> (SocketIoLayer, SocketIo) {
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", |socket: SocketRef| {
        socket.on(
            "echo",
            |socket: SocketRef, Data(v): Data<serde_json::Value>| {
                socket.emit("echo", &v).ok();
            },
        );
    });
    (layer, io)
}

/// Handshake, connect to `/`, emit `echo`, read the echo: all over raw polling.
async fn check_socket_io(addr: SocketAddr) {
    let (status, _, open) =
        request(addr, Method::GET, "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, 200, "{open}");
    let open: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    let sid = open["sid"].as_str().unwrap().to_owned();
    let url = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let (status, _, ok) = request(addr, Method::POST, &url, "40").await;
    assert_eq!((status, ok.as_str()), (200, "ok"));
    let (_, _, connect) = request(addr, Method::GET, &url, "").await;
    assert!(connect.starts_with("40{\"sid\":"), "{connect}");
    request(addr, Method::POST, &url, r#"42["echo",{"n":1}]"#).await;
    let (_, _, echo) = request(addr, Method::GET, &url, "").await;
    assert_eq!(echo, r#"42["echo",{"n":1}]"#);
}

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("test timed out")
}

#[tokio::test]
async fn axum_beside_rest_routes_behind_cors_and_trace() {
    bounded(async {
        #[derive(Clone)]
        struct AppState(&'static str);
        let (layer, _io) = socket_io();
        let app = Router::new()
            .route(
                "/api/health",
                get(|axum::extract::State(s): axum::extract::State<AppState>| async move { s.0 }),
            )
            .with_state(AppState("ok"))
            .layer(layer)
            .layer(tower_http::cors::CorsLayer::permissive())
            .layer(tower_http::trace::TraceLayer::new_for_http());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });

        let (status, headers, body) = request(addr, Method::GET, "/api/health", "").await;
        assert_eq!((status, body.as_str()), (200, "ok"));
        assert!(headers.contains_key("access-control-allow-origin"));
        let (status, _, _) = request(addr, Method::GET, "/nope", "").await;
        assert_eq!(status, 404);
        check_socket_io(addr).await;
        // The CORS layer in front answers for the Socket.IO path too.
        let (_, headers, _) =
            request(addr, Method::GET, "/socket.io/?EIO=4&transport=polling", "").await;
        assert!(headers.contains_key("access-control-allow-origin"));
    })
    .await;
}

#[tokio::test]
async fn plain_hyper_service_fn() {
    bounded(async {
        let (layer, _io) = socket_io();
        let inner = tower::service_fn(|req: Request<hyper::body::Incoming>| async move {
            let body = if req.uri().path() == "/api/health" {
                "ok"
            } else {
                "other"
            };
            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
        });
        let addr = common::serve(layer.layer(inner)).await;
        let (status, _, body) = request(addr, Method::GET, "/api/health", "").await;
        assert_eq!((status, body.as_str()), (200, "ok"));
        check_socket_io(addr).await;
    })
    .await;
}

#[tokio::test]
async fn warp_filters() {
    bounded(async {
        use warp::Filter;
        let (layer, _io) = socket_io();
        let routes = warp::path!("api" / "health").map(|| String::from("ok"));
        let addr = common::serve(layer.layer(warp::service(routes))).await;
        let (status, _, body) = request(addr, Method::GET, "/api/health", "").await;
        assert_eq!((status, body.as_str()), (200, "ok"));
        check_socket_io(addr).await;
    })
    .await;
}

#[tokio::test]
async fn standalone_service_answers_404_elsewhere() {
    bounded(async {
        let (_, io) = socket_io();
        drop(io);
        let (svc, io) = SocketIo::builder().build_svc();
        io.ns("/", |socket: SocketRef| {
            socket.on(
                "echo",
                |socket: SocketRef, Data(v): Data<serde_json::Value>| {
                    socket.emit("echo", &v).ok();
                },
            );
        });
        let addr = common::serve(svc).await;
        let (status, _, _) = request(addr, Method::GET, "/api/health", "").await;
        assert_eq!(status, 404);
        check_socket_io(addr).await;
    })
    .await;
}

/// `examples/hyper`, as it ships: Socket.IO on its path, its REST route, and 404 for any other
/// path.
#[tokio::test]
async fn the_hyper_example_answers_404_for_unknown_paths() {
    let (url, _child) = common::example::start("hyper", &[], &[], "listening on ").await;
    let addr: SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    bounded(async {
        let (status, _, body) = request(addr, Method::GET, "/api/health", "").await;
        assert_eq!((status, body.as_str()), (200, "ok"));
        let (status, _, _) = request(addr, Method::GET, "/no/such/page", "").await;
        assert_eq!(status, 404);
        check_socket_io(addr).await;
    })
    .await;
}

/// `examples/hyper` sets hyper's header-read timeout (issue 14, finding 3): a connection that
/// sends part of its request head and then nothing is closed by the server, while a healthy
/// request on another connection is answered. The example runs with a short timeout
/// (`HEADER_TIMEOUT_MS`); the test reads until the server ends the connection, within a bound
/// well past it.
#[tokio::test]
async fn the_hyper_example_cuts_a_connection_that_sends_its_headers_too_slowly() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (url, _child) = common::example::start(
        "hyper",
        &[],
        &[("HEADER_TIMEOUT_MS", "300")],
        "listening on ",
    )
    .await;
    let addr: SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    bounded(async {
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        let (status, _, body) = request(addr, Method::GET, "/api/health", "").await;
        assert_eq!((status, body.as_str()), (200, "ok"), "others are served");
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut rest))
            .await
            .expect("the slow connection was not closed within 10 s");
        // Closed: an end of stream, or a reset; whatever hyper wrote first is no answer to the
        // unfinished request.
        if read.is_ok() {
            let text = String::from_utf8_lossy(&rest);
            assert!(!text.contains(" 200 "), "answered: {text}");
        }
    })
    .await;
}
