//! Run with `cargo run --example warp` (`PORT=4000` to change the port).
//!
//! Socket.IO beside warp filters: the layer wraps `warp::service(routes)`.

use std::{net::SocketAddr, time::Duration};

use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tower_layer::Layer;
use tower_socketio::{SocketIo, SocketRef, extract::Data};
use warp::Filter;

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
    let routes = warp::path!("api" / "health").map(|| String::from("ok"));
    let service = layer.layer(warp::service(routes));

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        // The client's address in each request (`socket.handshake().address()`, the bound on
        // sessions per address).
        let service = TowerToHyperService::new(
            tower::ServiceBuilder::new()
                .map_request(move |mut req: http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(peer);
                    req
                })
                .service(service.clone()),
        );
        tokio::spawn(async move {
            // Request headers within 10 s, or the connection is closed (the timeout needs a
            // timer to run on).
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}
