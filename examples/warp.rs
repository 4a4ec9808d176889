//! Run with `cargo run --example warp` (`PORT=4000` to change the port).
//!
//! Socket.IO beside warp filters: the layer wraps `warp::service(routes)`.

use std::net::SocketAddr;

use hyper::server::conn::http1;
use hyper_util::{rt::TokioIo, service::TowerToHyperService};
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
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}
