//! `bench-ours`: the benchmark's Socket.IO server on this crate, `tower-socketio`, served by axum
//! (hyper 1) on tokio's multi-thread runtime.
//!
//! Run with
//! `cargo run --release --manifest-path benches/servers/Cargo.toml --bin bench-ours -- --port 0`
//! (optional `--ping-interval-ms N`, `--ping-timeout-ms N`); it prints `LISTENING <port>` when
//! ready. Socket.IO at `/socket.io/`, namespace `/`: `echo` with an ack answers with its argument,
//! `broadcast` emits `bcast` with its argument to every other socket.

use axum::serve::ListenerExt;
use tower_socketio::{
    SocketIo, SocketRef,
    extract::{AckSender, Data},
    value::Value,
};
use tower_socketio_bench_servers::{Options, announce};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let opts = Options::from_env();
    let (layer, io) = SocketIo::builder()
        .ping_interval(opts.ping_interval)
        .ping_timeout(opts.ping_timeout)
        .build_layer();
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
    let app = axum::Router::new().layer(layer);
    let listener = opts.bind()?;
    announce(&listener)?;
    // TCP_NODELAY on every connection, as Node's HTTP server and `bench-raw` do.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}
