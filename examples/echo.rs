//! Run with `cargo run --example echo` (`PORT=4000` to change the port).
//!
//! Socket.IO on 127.0.0.1, default settings, namespace `/` only: every event comes back to its
//! sender under the same name with the same arguments, binary kept; an event that asks for an
//! acknowledgement is answered with the same arguments instead of being echoed.

use tower_socketio::{
    SocketIo, SocketRef,
    extract::{AckSender, Args, Event},
};

fn echo(socket: SocketRef, Event(event): Event, Args(args): Args, ack: AckSender) {
    if ack.is_requested() {
        ack.send(Args(args));
    } else if let Err(e) = socket.emit(&event, &Args(args)) {
        tracing::warn!(error = %e, "echo failed");
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt::init();
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", |socket: SocketRef| socket.on_fallback(echo));
    let app = axum::Router::new().layer(layer);
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("Socket.IO echo on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
