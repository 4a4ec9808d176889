//! Run with `cargo run --example echo` (`PORT=4000` to change the port; `PORT=0` picks a free
//! one). With the `msgpack` feature, `PARSER=msgpack` serves the format of the npm package
//! `socket.io-msgpack-parser` instead of JSON:
//! `PARSER=msgpack cargo run --example echo --features msgpack`. `EIO3=1` serves Socket.IO v2
//! clients (the npm `socket.io-client` 2.x) too, beside the current ones.
//!
//! Socket.IO on 127.0.0.1, default settings, namespace `/` only: every event comes back to its
//! sender under the same name with the same arguments, binary kept; an event that asks for an
//! acknowledgement is answered with the same arguments instead of being echoed.

use tower_socketio::{
    SocketIo, SocketIoBuilder, SocketRef,
    extract::{AckSender, Args, Event},
};

fn echo(socket: SocketRef, Event(event): Event, Args(args): Args, ack: AckSender) {
    if ack.is_requested() {
        ack.send(Args(args));
    } else if let Err(e) = socket.emit(&event, &Args(args)) {
        tracing::warn!(error = %e, "echo failed");
    }
}

/// The builder with the parser `PARSER` names (`json`, the default, or `msgpack`).
fn builder() -> Result<SocketIoBuilder, String> {
    let builder = SocketIo::builder().allow_eio3(std::env::var("EIO3").is_ok_and(|v| v == "1"));
    match std::env::var("PARSER").as_deref() {
        Err(_) | Ok("json") => Ok(builder),
        #[cfg(feature = "msgpack")]
        Ok("msgpack") => Ok(builder.parser(tower_socketio::protocol::MsgpackParser)),
        #[cfg(not(feature = "msgpack"))]
        Ok("msgpack") => Err("PARSER=msgpack needs the msgpack feature: \
             cargo run --example echo --features msgpack"
            .to_owned()),
        Ok(other) => Err(format!("unknown PARSER {other:?} (json or msgpack)")),
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
    let builder = builder().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let (layer, io) = builder.build_layer();
    io.ns("/", |socket: SocketRef| socket.on_fallback(echo));
    let app = axum::Router::new().layer(layer);
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("Socket.IO echo on http://{}", listener.local_addr()?);
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
