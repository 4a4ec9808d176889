//! `bench-socketioxide`: the benchmark's Socket.IO server on the published `socketioxide` crate:
//! an axum `Router` with its layer, served by hyper 1's HTTP/1.1 builder (see `serve_http1`) on
//! tokio's multi-thread runtime; the same handlers as `bench-ours`.
//!
//! Run with
//! `cargo run --release --manifest-path benches/servers/Cargo.toml --bin bench-socketioxide -- --port 0`
//! (optional `--ping-interval-ms N`, `--ping-timeout-ms N`); it prints `LISTENING <port>` when
//! ready. Socket.IO at `/socket.io/`, namespace `/`: `echo` with an ack answers with its argument,
//! `broadcast` emits `bcast` with its argument to every other socket. Arguments are taken as
//! `rmpv::Value`, socketioxide's recommended dynamic type that keeps binary.

use socketioxide::{
    SocketIo,
    extract::{AckSender, Data, SocketRef},
};
use tower_socketio_bench_servers::{Options, announce, serve_http1};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let opts = Options::from_env();
    let (layer, io) = SocketIo::builder()
        .ping_interval(opts.ping_interval)
        .ping_timeout(opts.ping_timeout)
        .build_layer();
    io.ns("/", async |socket: SocketRef| {
        socket.on(
            "echo",
            async |Data(arg): Data<rmpv::Value>, ack: AckSender| {
                let _ = ack.send(&arg);
            },
        );
        socket.on(
            "broadcast",
            async |socket: SocketRef, Data(arg): Data<rmpv::Value>| {
                let _ = socket.broadcast().emit("bcast", &arg).await;
            },
        );
    });
    let app = tower_layer::Layer::layer(&layer, axum::Router::new());
    let listener = opts.bind()?;
    announce(&listener)?;
    serve_http1(listener, app).await
}
