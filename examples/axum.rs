//! Run with `cargo run --example axum` (`PORT=4000` to change the port).
//!
//! Socket.IO mounted in an axum app beside REST routes, behind tower-http's CORS and trace
//! layers, the app state shared by both sides; `/metrics` answers the server's metrics for
//! Prometheus (`metrics-exporter-prometheus`, the recorder installed before the server is built).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{Json, Router, extract::State as AxumState, routing::get};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::{Deserialize, Serialize};
use tower_http::{cors::CorsLayer, trace::TraceLayer};
use tower_socketio::{
    DisconnectReason, SocketIo, SocketRef,
    extract::{Data, State},
};

/// Shared by REST handlers and Socket.IO handlers.
#[derive(Clone, Default)]
struct AppState {
    messages: Arc<AtomicU64>,
}

#[derive(Debug, Deserialize)]
struct Auth {
    name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Msg {
    text: String,
}

async fn health() -> &'static str {
    "ok"
}

async fn stats(AxumState(state): AxumState<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "messages": state.messages.load(Ordering::Relaxed) }))
}

/// Installs the Prometheus recorder, with buckets for the server's histograms, and keeps its
/// histograms drained every few seconds (between scrapes). Must run before the server is built:
/// the server registers its metric handles when it is built, and handles registered before a
/// recorder exists stay no-ops.
fn install_prometheus() -> PrometheusHandle {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_seconds".into()),
            &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0],
        )
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("socketio_queue_frames".into()),
                &[0.0, 1.0, 4.0, 16.0, 64.0, 256.0, 1024.0],
            )
        })
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("socketio_queue_bytes".into()),
                &[
                    0.0, 1024.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
                ],
            )
        })
        .and_then(PrometheusBuilder::install_recorder)
        .expect("a Prometheus recorder (the first recorder of the process)");
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    handle
}

fn require_name(Data(auth): Data<Auth>) -> Result<(), &'static str> {
    if auth.name.trim().is_empty() {
        Err("a name is required")
    } else {
        Ok(())
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
    let prometheus = install_prometheus();
    let state = AppState::default();
    let (layer, io) = SocketIo::builder()
        .ping_interval(Duration::from_secs(10))
        .with_state(state.clone())
        .build_layer();

    io.ns("/", |socket: SocketRef, Data(auth): Data<Auth>| {
        socket.extensions().insert(auth.name);
        socket.on(
            "chat",
            |socket: SocketRef, State(state): State<AppState>, Data(msg): Data<Msg>| async move {
                state.messages.fetch_add(1, Ordering::Relaxed);
                let from: String = socket.extensions().get().unwrap_or_default();
                socket
                    .emit(
                        "chat",
                        &serde_json::json!({ "from": from, "text": msg.text }),
                    )
                    .ok();
            },
        );
        // A handler's return value answers the client's ack, if it asked for one.
        socket.on("sum", |Data((a, b)): Data<(i64, i64)>| async move { a + b });
        socket.on_disconnect(|reason: DisconnectReason| tracing::info!(%reason, "left"));
    })
    .with(require_name);

    let app = Router::new()
        .route("/api/health", get(health))
        .route("/api/stats", get(stats))
        .route(
            "/metrics",
            get(move || std::future::ready(prometheus.render())),
        )
        .with_state(state)
        .layer(layer)
        .layer(CorsLayer::permissive())
        .layer(TraceLayer::new_for_http());

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    // axum::serve sets no header-read timeout: each connection is served by hyper's own
    // builder, which does (request headers within 10 s, or the connection is closed), and
    // each request carries the client's address (`socket.handshake().address()`, the bound
    // on sessions per address).
    loop {
        let (stream, peer) = listener.accept().await?;
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(peer);
                tower::ServiceExt::oneshot(app.clone(), req)
            });
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10))
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}
