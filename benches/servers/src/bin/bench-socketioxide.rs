//! `bench-socketioxide`: the benchmark's Socket.IO server on the published `socketioxide` crate,
//! served by axum (hyper 1) on tokio's multi-thread runtime; the same handlers as `bench-ours`.
//!
//! Run with
//! `cargo run --release --manifest-path benches/servers/Cargo.toml --bin bench-socketioxide -- --port 0`
//! (optional `--ping-interval-ms N`, `--ping-timeout-ms N`); it prints `LISTENING <port>` when
//! ready. Socket.IO at `/socket.io/`, namespace `/`: `echo` with an ack answers with its argument,
//! `broadcast` emits `bcast` with its argument to every other socket. Arguments are taken as
//! `rmpv::Value`, socketioxide's recommended dynamic type that keeps binary.

use axum::serve::ListenerExt;
use socketioxide::{
    SocketIo,
    extract::{AckSender, Data, SocketRef},
};
use tower_socketio_bench_servers::{Options, announce};

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
    let app = axum::Router::new().layer(layer);
    let listener = opts.bind()?;
    announce(&listener)?;
    // TCP_NODELAY on every connection, as Node's HTTP server and `bench-raw` do.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}
