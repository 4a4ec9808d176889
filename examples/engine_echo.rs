//! Run with `cargo run --example engine_echo` (`PORT=4000` to change the port).
//!
//! Engine.IO v4 at `/engine.io/` on 127.0.0.1, default settings, on plain hyper: every message
//! goes back to its sender, text as text and binary as binary.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tower_socketio::engine::{EngineConfig, EngineHandler, Session, Str};
use tower_socketio::service::EngineService;

struct Echo;

impl EngineHandler for Echo {
    fn on_message(&self, session: &Session, msg: Str) {
        let _ = session.send_text(msg);
    }

    fn on_binary(&self, session: &Session, data: Bytes) {
        let _ = session.send_binary(data);
    }
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
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let config = EngineConfig::builder().path("/engine.io/").build();
    let service = EngineService::standalone(Arc::new(Echo), config);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!(
        "Engine.IO echo on http://{}/engine.io/",
        listener.local_addr()?
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
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
