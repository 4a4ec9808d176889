//! The operations test server (spans and metrics) and its client, `tests/clients/ops_client.mjs`.

use std::{net::SocketAddr, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdout},
    sync::mpsc,
};
use tower_socketio::{
    DisconnectReason, SocketIo, SocketRef,
    extract::{AckSender, Data},
};

/// What the server tells the test.
#[derive(Debug)]
pub enum Seen {
    /// A socket disconnected (its disconnect handlers are running: its namespace has let it go).
    Disconnect(String, DisconnectReason),
    /// The async handler that panics was dropped by its panic.
    AsyncPanicked,
}

/// Sends when dropped: the future of `boom-async` holds it when it panics.
struct OnDrop(mpsc::UnboundedSender<Seen>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(Seen::AsyncPanicked);
    }
}

fn boom() {
    panic!("boom (a test: a handler that panics)");
}

async fn boom_async(guard: OnDrop) {
    tokio::task::yield_now().await;
    let _guard = guard;
    panic!("boom-async (a test: an async handler that panics after an await)");
}

fn require_name(Data(auth): Data<serde_json::Value>) -> Result<(), &'static str> {
    match auth.get("name").and_then(|n| n.as_str()) {
        Some(n) if !n.trim().is_empty() => Ok(()),
        _ => Err("a name is required"),
    }
}

/// The server: an axum app with the Socket.IO layer and, given a render function, `/metrics`.
/// Short heartbeats (the client waits for one ping) and a 64 KiB queue bound (`flood`
/// overflows it).
pub async fn start(
    metrics: Option<std::sync::Arc<dyn Fn() -> String + Send + Sync>>,
) -> (SocketAddr, SocketIo, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (layer, io) = SocketIo::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_secs(5))
        .max_queue_bytes(64 * 1024)
        .build_layer();
    let seen = tx.clone();
    io.ns("/", move |socket: SocketRef| {
        socket.on("sum", |Data((a, b)): Data<(i64, i64)>| {
            tracing::info!(target: "ops", "sum handled");
            a + b
        });
        socket.on(
            "chat",
            |socket: SocketRef, Data(msg): Data<serde_json::Value>| {
                let _ = socket.emit("chat", &msg);
            },
        );
        socket.on("ask", |socket: SocketRef, ack: AckSender| async move {
            let answer: i64 = socket.emit_with_ack("question", &()).await.unwrap_or(-1);
            tracing::info!(target: "ops", "ask answered");
            ack.send(answer);
        });
        socket.on(
            "shout",
            |socket: SocketRef, Data(arg): Data<serde_json::Value>| async move {
                let _ = socket.broadcast().emit("heard", &arg).await;
            },
        );
        socket.on("boom", boom);
        let panicked = seen.clone();
        socket.on("boom-async", move || boom_async(OnDrop(panicked.clone())));
        socket.on("flood", |socket: SocketRef| {
            let big = "x".repeat(4096);
            for _ in 0..100 {
                if socket.emit("big", &big).is_err() {
                    break;
                }
            }
        });
        let seen = seen.clone();
        socket.on_disconnect(move |socket: SocketRef, reason: DisconnectReason| {
            let _ = seen.send(Seen::Disconnect(socket.id().to_owned(), reason));
        });
    })
    .with(require_name);
    io.ns("/guarded", || {}).with(require_name);
    let mut app = axum::Router::new();
    if let Some(render) = metrics {
        app = app.route(
            "/metrics",
            axum::routing::get(move || std::future::ready(render())),
        );
    }
    let app = app.layer(layer);
    let addr = super::serve(app).await;
    (addr, io, rx)
}

/// A running `ops_client.mjs`.
pub struct Client {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Client {
    pub fn spawn(addr: SocketAddr, args: &[&str]) -> Client {
        let url = format!("http://{addr}");
        let mut child = tokio::process::Command::new(super::node())
            .arg("tests/clients/ops_client.mjs")
            .args(["--url", &url])
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Client { child, lines }
    }

    /// The next line the client prints, as JSON.
    pub async fn line(&mut self) -> serde_json::Value {
        let line = tokio::time::timeout(Duration::from_secs(30), self.lines.next_line())
            .await
            .expect("the client did not answer in time")
            .expect("client stdout")
            .expect("the client ended early");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// Tells the client to leave, and waits until it has closed its connections and exited.
    pub async fn leave(mut self) {
        let mut stdin = self.child.stdin.take().unwrap();
        stdin.write_all(b"leave\n").await.unwrap();
        drop(stdin);
        assert_eq!(self.line().await["left"], true);
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the client did not exit")
            .unwrap();
        assert!(status.success());
    }
}

/// Strings of a JSON array.
pub fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}
