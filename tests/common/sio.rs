//! A Socket.IO server exercising the whole handler API, for the client tests.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tower_socketio::{
    DisconnectReason, SocketIo, SocketIoBuilder, SocketRef,
    extract::{AckSender, Args, ConnectError, Data, Event, State},
};

/// What the server saw, for assertions on its side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Connect {
        ns: String,
        id: String,
    },
    Disconnect {
        ns: String,
        reason: DisconnectReason,
    },
}

#[derive(Clone)]
pub struct Recorder(pub mpsc::UnboundedSender<Seen>);

#[derive(Debug, Deserialize)]
struct AdminAuth {
    token: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Nested {
    name: String,
    files: Vec<Bytes>,
}

fn echo(socket: SocketRef, Event(event): Event, Args(args): Args, ack: AckSender) {
    if ack.is_requested() {
        ack.send(Args(args));
    } else {
        socket.emit(&event, &Args(args)).ok();
    }
}

fn register(socket: &SocketRef, rec: &Recorder) {
    let ns = socket.ns().to_owned();
    let _ = rec.0.send(Seen::Connect {
        ns: ns.clone(),
        id: socket.id().to_owned(),
    });
    socket.on_fallback(echo);
    // Typed arguments; the return value answers the ack; bad data is answered with an error.
    socket.on("sum", |Data((a, b)): Data<(i64, i64)>| a + b);
    socket.on("sum-async", |Data((a, b)): Data<(i64, i64)>| async move {
        tokio::task::yield_now().await;
        a + b
    });
    socket.on("fail", || Err::<(), _>("it failed"));
    socket.on("nested", |Data(n): Data<Nested>| Nested {
        name: n.name.to_uppercase(),
        files: n.files,
    });
    socket.on("whoami", |socket: SocketRef| socket.ns().to_owned());
    // The server asks the client and reports the typed answer.
    socket.on(
        "ask-me",
        |socket: SocketRef, Data(n): Data<i64>| async move {
            let answer: Result<i64, _> = socket.emit_with_ack("question", &n).await;
            match answer {
                Ok(v) => socket.emit("answer", &v).ok(),
                Err(e) => socket.emit("answer-error", &e.to_string()).ok(),
            };
        },
    );
    socket.on("ask-me-binary", |socket: SocketRef| async move {
        let answer: Result<Bytes, _> = socket
            .emit_with_ack("question-binary", &Bytes::from_static(&[1, 2, 3]))
            .await;
        match answer {
            Ok(v) => socket.emit("answer", &v).ok(),
            Err(e) => socket.emit("answer-error", &e.to_string()).ok(),
        };
    });
    socket.on("ask-timeout", |socket: SocketRef| async move {
        let answer: Result<serde_json::Value, _> = socket
            .emit_with_ack_timeout("question", &1, Duration::from_millis(200))
            .await;
        socket
            .emit("answer-error", &answer.map_err(|e| e.to_string()).err())
            .ok();
    });
    socket.on("disconnect-me", |socket: SocketRef| socket.disconnect());
    // Handled, and never answers its ack: for the clients' own ack timeouts.
    socket.on("ignore", || {});
    socket.on("state", |State(s): State<AppName>| s.0);
    // What the server knows of the connection's handshake.
    socket.on("handshake", |socket: SocketRef| {
        let h = socket.handshake();
        let age = h.issued().elapsed().unwrap_or_default();
        serde_json::json!({
            "url": h.url(),
            "x": h.query_param("x"),
            "transport": h.query_param("transport"),
            "auth": h.auth(),
            "header": h.headers().get("x-test").and_then(|v| v.to_str().ok()),
            "address": h.address().map(|a| a.ip().to_string()),
            "secure": h.secure(),
            "recent": age < Duration::from_secs(60),
        })
    });
    let rec = rec.clone();
    socket.on_disconnect(move |socket: SocketRef, reason: DisconnectReason| {
        let _ = rec.0.send(Seen::Disconnect {
            ns: socket.ns().to_owned(),
            reason,
        });
    });
}

#[derive(Clone)]
pub struct AppName(pub String);

/// Builds the test server's handle with `tweak` applied to the builder.
pub fn build(
    tweak: impl FnOnce(SocketIoBuilder) -> SocketIoBuilder,
) -> (
    tower_socketio::SocketIoLayer,
    SocketIo,
    mpsc::UnboundedReceiver<Seen>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let rec = Recorder(tx);
    let (layer, io) = tweak(SocketIo::builder().with_state(AppName("tsio".into()))).build_layer();
    let r = rec.clone();
    io.ns("/", move |socket: SocketRef| register(&socket, &r))
        // A per-event middleware refusing one event: the ack gets the error.
        .on_event_middleware(|_, event, _| match event {
            "forbidden" => Err("not allowed"),
            _ => Ok(()),
        });
    let r = rec.clone();
    io.ns("/admin", move |socket: SocketRef| register(&socket, &r))
        .with(|Data(auth): Data<AdminAuth>| {
            if auth.token == "secret" {
                Ok(())
            } else {
                Err(ConnectError::new("unauthorized").with_data(serde_json::json!({ "code": 42 })))
            }
        });
    let r = rec.clone();
    io.dyn_ns("/dyn-{id}", move |socket: SocketRef| register(&socket, &r))
        .remove_when_empty(true);
    (layer, io, rx)
}
