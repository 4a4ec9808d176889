//! `bench-ours`: the benchmark's Socket.IO server on this crate, `tower-socketio`: an axum
//! `Router` with the layer, served by hyper 1's HTTP/1.1 builder (see `serve_http1`) on tokio's
//! multi-thread runtime.
//!
//! Run with
//! `cargo run --release --manifest-path benches/servers/Cargo.toml --bin bench-ours -- --port 0`
//! (optional `--ping-interval-ms N`, `--ping-timeout-ms N`, and `--redis URL` to join the
//! cluster of that Redis through the crate's Redis adapter, and `--metrics` to record the
//! server's metrics with the Prometheus recorder, answered at `/metrics`, for the comparison
//! with and without); it prints `LISTENING <port>` when
//! ready. Socket.IO at `/socket.io/`, namespace `/`: `echo` with an ack answers with its argument,
//! `broadcast` emits `bcast` with its argument to every other socket.
//!
//! With `TSIO_BENCH_RECOVERY=1` in its environment (which the load harness passes on), it turns
//! connection state recovery on, with its default settings: every broadcast is then stored and
//! carries an offset.

use tower_socketio::{
    SocketIo, SocketRef,
    adapter::{
        ConnectionStateRecovery,
        redis::{RedisAdapter, RedisAdapterConfig},
    },
    extract::{AckSender, Data},
    value::Value,
};
use tower_socketio_bench_servers::{Options, announce, serve_http1};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let opts = Options::from_env();
    // Before the server is built: it registers its metric handles then.
    // The load harness passes its environment on, not its flags: `TSIO_BENCH_METRICS=1` too.
    let metrics = opts.metrics || std::env::var_os("TSIO_BENCH_METRICS").is_some_and(|v| v == "1");
    let prometheus = metrics.then(|| {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .expect("the Prometheus recorder")
    });
    let mut builder = SocketIo::builder()
        .ping_interval(opts.ping_interval)
        .ping_timeout(opts.ping_timeout);
    if std::env::var_os("TSIO_BENCH_RECOVERY").is_some_and(|v| v == "1") {
        builder = builder.connection_state_recovery(ConnectionStateRecovery::default());
    }
    if let Some(url) = &opts.redis {
        let redis = RedisAdapter::connect(url, RedisAdapterConfig::default())
            .await
            .map_err(std::io::Error::other)?;
        builder = builder.adapter(redis.factory());
    }
    let (layer, io) = builder.build_layer();
    io.ns("/", |socket: SocketRef| {
        socket.on("echo", |Data(arg): Data<Value>, ack: AckSender| {
            if ack.is_requested() {
                ack.send(arg);
            }
        });
        socket.on(
            "broadcast",
            |socket: SocketRef, Data(arg): Data<Value>| async move {
                let _ = socket.broadcast().emit("bcast", &arg).await;
            },
        );
    });
    let mut router = axum::Router::new();
    if let Some(handle) = prometheus {
        let upkeep = handle.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                every.tick().await;
                upkeep.run_upkeep();
            }
        });
        router = router.route(
            "/metrics",
            axum::routing::get(move || std::future::ready(handle.render())),
        );
    }
    let app = tower_layer::Layer::layer(&layer, router);
    let listener = opts.bind()?;
    announce(&listener)?;
    serve_http1(listener, app).await
}
