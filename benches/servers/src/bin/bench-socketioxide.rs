//! `bench-socketioxide`: the benchmark's Socket.IO server on the published `socketioxide` crate:
//! an axum `Router` with its layer, served by hyper 1's HTTP/1.1 builder (see `serve_http1`) on
//! tokio's multi-thread runtime; the same handlers as `bench-ours`.
//!
//! Run with
//! `cargo run --release --manifest-path benches/servers/Cargo.toml --bin bench-socketioxide -- --port 0`
//! (optional `--ping-interval-ms N`, `--ping-timeout-ms N`, and `--redis URL` to join the
//! cluster of that Redis through `socketioxide-redis`); it prints `LISTENING <port>` when
//! ready. Socket.IO at `/socket.io/`, namespace `/`: `echo` with an ack answers with its
//! argument, `broadcast` emits `bcast` with its argument to every other socket. Arguments are
//! taken as `rmpv::Value`, socketioxide's recommended dynamic type that keeps binary.

use socketioxide::{
    SocketIo,
    adapter::Adapter,
    extract::{AckSender, Data, SocketRef},
    layer::SocketIoLayer,
};
use socketioxide_redis::{RedisAdapter, RedisAdapterCtr};
use tower_socketio_bench_servers::{Options, announce, serve_http1};

/// The namespace's handlers, whatever the adapter.
async fn on_connect<A: Adapter>(socket: SocketRef<A>) {
    socket.on(
        "echo",
        async |Data(arg): Data<rmpv::Value>, ack: AckSender<A>| {
            let _ = ack.send(&arg);
        },
    );
    socket.on(
        "broadcast",
        async |socket: SocketRef<A>, Data(arg): Data<rmpv::Value>| {
            let _ = socket.broadcast().emit("bcast", &arg).await;
        },
    );
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let opts = Options::from_env();
    if opts.metrics {
        eprintln!("bench-socketioxide: --metrics is not supported (socketioxide has no metrics)");
        std::process::exit(2);
    }
    let builder = SocketIo::builder()
        .ping_interval(opts.ping_interval)
        .ping_timeout(opts.ping_timeout);
    match &opts.redis {
        None => {
            let (layer, io) = builder.build_layer();
            io.ns("/", on_connect);
            serve(&opts, layer).await
        }
        Some(url) => {
            // socketioxide-redis receives its messages as RESP3 pushes: ask for RESP3 unless
            // the URL already says which protocol.
            let url = if url.contains("protocol=") {
                url.clone()
            } else if url.contains('?') {
                format!("{url}&protocol=resp3")
            } else {
                format!("{url}?protocol=resp3")
            };
            let client = redis::Client::open(url.as_str()).map_err(std::io::Error::other)?;
            let adapter = RedisAdapterCtr::new_with_redis(&client)
                .await
                .map_err(std::io::Error::other)?;
            let (layer, io) = builder
                .with_adapter::<RedisAdapter<_>>(adapter)
                .build_layer();
            io.ns("/", on_connect)
                .await
                .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
            serve(&opts, layer).await
        }
    }
}

/// Binds, announces and serves the router wrapped in the layer.
async fn serve<A: Adapter>(opts: &Options, layer: SocketIoLayer<A>) -> std::io::Result<()> {
    let app = tower_layer::Layer::layer(&layer, axum::Router::new());
    let listener = opts.bind()?;
    announce(&listener)?;
    serve_http1(listener, app).await
}
