//! Run with `cargo run --example hyper` (`PORT=4000` to change the port).
//!
//! Socket.IO on plain hyper 1: the layer around a `service_fn` that answers the other routes.
//! Each connection must send its request headers within 10 s (`HEADER_TIMEOUT_MS` changes it),
//! or it is closed: a client that trickles bytes holds nothing for long.

use std::{convert::Infallible, net::SocketAddr, time::Duration};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode, body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tower_layer::Layer;
use tower_socketio::{SocketIo, SocketRef, extract::Data};

async fn rest(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match req.uri().path() {
        "/api/health" => (StatusCode::OK, "ok"),
        _ => (StatusCode::NOT_FOUND, "not found"),
    };
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    Ok(res)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // INFO and above unless RUST_LOG says otherwise: protocol violations and limits hit are
    // warnings.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", |socket: SocketRef| {
        socket.on(
            "echo",
            |socket: SocketRef, Data(v): Data<serde_json::Value>| {
                socket.emit("echo", &v).ok();
            },
        );
    });
    // The layer wraps any tower service: here a plain async function through `service_fn`.
    let service = layer.layer(tower::util::service_fn(rest));

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let header_timeout = Duration::from_millis(
        std::env::var("HEADER_TIMEOUT_MS")
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(10_000),
    );
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        let service = tower::ServiceBuilder::new()
            .map_request(move |mut req: Request<Incoming>| {
                // Gives handlers the client's address (`socket.handshake().address()`).
                req.extensions_mut().insert(peer);
                req
            })
            .service(service.clone());
        tokio::spawn(async move {
            // hyper's header-read timeout needs a timer to run on.
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}
