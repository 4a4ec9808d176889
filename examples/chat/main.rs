//! Run with `./scripts/chat` (installs the browser client with `npm ci` when it is missing, then
//! `cargo run --example chat`; `PORT=4000` changes the port), then open <http://127.0.0.1:3000>
//! in two browser windows.
//!
//! As a cluster: with the `redis` feature and `REDIS_URL` set, each chat server joins the others
//! on that Redis (see the README's "Several servers"), so two servers on two ports share rooms,
//! members and messages:
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379/ PORT=3000 cargo run --features redis --example chat
//! REDIS_URL=redis://127.0.0.1:6379/ PORT=3001 cargo run --features redis --example chat
//! ```
//!
//! A chat server: an axum app on 127.0.0.1 with Socket.IO rooms and a REST API that shares their
//! state. The page uses the official browser client, which the server serves itself from the npm
//! package `socket.io-client` installed beside the crate (`node_modules/`): the page needs nothing
//! from outside 127.0.0.1. Without the package the page says so, and how to install it.
//!
//! Socket.IO (namespace `/`, auth `{ "name": <non-empty string> }`):
//! - `join` room → ack `{ room, members: [names, sorted] }`; the others get `user joined`.
//! - `switch` room → leaves every other room (their members get `user left`), joins `room` (its
//!   members get `user joined`, unless already in it) → ack `{ room, members }`. The page uses it
//!   to change room on its one connection.
//! - `leave` room → ack `{ ok: true }`; the others get `user left`.
//! - `message` `{ room, text }` → the other members get `message` `{ room, from, text, at }`;
//!   ack `{ ok: true }`.
//! - a member who disconnects: their rooms get `user left`.
//!
//! REST: `GET /api/rooms` lists `[{ name, members }]`; `POST /api/rooms/{room}/announce`
//! `{ text }` sends `message` from `"server"` to the room and answers 202 `{ recipients }`.

use std::{
    collections::HashSet,
    path::PathBuf,
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_socketio::{DisconnectReason, SocketIo, SocketRef, extract::Data};

#[derive(Debug, Deserialize)]
struct Auth {
    name: Option<String>,
}

/// The member's name, kept in the socket's extensions.
#[derive(Debug, Clone)]
struct Name(String);

#[derive(Debug, Deserialize)]
struct Message {
    room: String,
    text: String,
}

#[derive(Debug, Serialize)]
struct RoomEvent<'a> {
    room: &'a str,
    name: &'a str,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn name_of(socket: &SocketRef) -> String {
    socket
        .extensions()
        .get::<Name>()
        .map(|n| n.0)
        .unwrap_or_default()
}

/// The names of a room's members, sorted.
async fn members(io: &SocketIo, room: &str) -> Vec<String> {
    let mut names: Vec<String> = io
        .within(room)
        .fetch_sockets()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| s.handshake.auth()["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

fn require_name(Data(auth): Data<Auth>) -> Result<(), &'static str> {
    match auth.name {
        Some(name) if !name.trim().is_empty() => Ok(()),
        _ => Err("a non-empty name is required (auth: { name })"),
    }
}

fn on_connect(socket: SocketRef, Data(auth): Data<Auth>) {
    socket
        .extensions()
        .insert(Name(auth.name.unwrap_or_default()));

    socket.on(
        "join",
        |socket: SocketRef, io: SocketIo, Data(room): Data<String>| async move {
            socket.join(room.as_str());
            tell_room(&socket, "user joined", &room).await;
            json!({ "room": room, "members": members(&io, &room).await })
        },
    );

    socket.on(
        "switch",
        |socket: SocketRef, io: SocketIo, Data(room): Data<String>| async move {
            let rooms = socket.rooms();
            for old in rooms.iter().filter(|r| *r != socket.id() && **r != room) {
                socket.leave(old.as_str());
                tell_room(&socket, "user left", old).await;
            }
            if !rooms.contains(&room) {
                socket.join(room.as_str());
                tell_room(&socket, "user joined", &room).await;
            }
            json!({ "room": room, "members": members(&io, &room).await })
        },
    );

    socket.on(
        "leave",
        |socket: SocketRef, Data(room): Data<String>| async move {
            socket.leave(room.as_str());
            tell_room(&socket, "user left", &room).await;
            json!({ "ok": true })
        },
    );

    socket.on(
        "message",
        |socket: SocketRef, Data(msg): Data<Message>| async move {
            let from = name_of(&socket);
            let out = json!({ "room": msg.room, "from": from, "text": msg.text, "at": now_ms() });
            socket
                .to(msg.room.as_str())
                .emit("message", &out)
                .await
                .ok();
            json!({ "ok": true })
        },
    );

    // Rooms are still readable while the socket is disconnecting.
    socket.on_disconnecting(|socket: SocketRef, _reason: DisconnectReason| async move {
        for room in socket.rooms().into_iter().filter(|r| r != socket.id()) {
            tell_room(&socket, "user left", &room).await;
        }
    });
}

/// Tells the other members of `room` that this socket's member joined or left.
async fn tell_room(socket: &SocketRef, event: &str, room: &str) {
    let name = name_of(socket);
    let payload = RoomEvent { room, name: &name };
    socket.to(room).emit(event, &payload).await.ok();
}

#[derive(Debug, Serialize)]
struct RoomInfo {
    name: String,
    members: usize,
}

async fn list_rooms(State(io): State<SocketIo>) -> Json<Vec<RoomInfo>> {
    let sockets = io.fetch_sockets().await.unwrap_or_default();
    let ids: HashSet<&str> = sockets.iter().map(|s| s.id.as_str()).collect();
    let mut rooms: Vec<RoomInfo> = Vec::new();
    for room in io.rooms().await.unwrap_or_default() {
        if ids.contains(room.as_str()) {
            continue; // each socket's own room
        }
        let members = sockets.iter().filter(|s| s.rooms.contains(&room)).count();
        rooms.push(RoomInfo {
            name: room,
            members,
        });
    }
    rooms.sort_by(|a, b| a.name.cmp(&b.name));
    Json(rooms)
}

#[derive(Debug, Deserialize)]
struct Announce {
    text: String,
}

async fn announce(
    State(io): State<SocketIo>,
    Path(room): Path<String>,
    Json(body): Json<Announce>,
) -> impl IntoResponse {
    let recipients = io
        .within(room.as_str())
        .fetch_sockets()
        .await
        .map(|s| s.len())
        .unwrap_or(0);
    let msg = json!({ "room": room, "from": "server", "text": body.text, "at": now_ms() });
    io.within(room.as_str()).emit("message", &msg).await.ok();
    (
        StatusCode::ACCEPTED,
        Json(json!({ "recipients": recipients })),
    )
}

const PAGE: &str = include_str!("index.html");
const CLIENT_TAG: &str = r#"<script src="/vendor/socket.io.min.js"></script>"#;
/// A one-colour square, so that the browser's request for an icon finds one.
const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2a6"/></svg>"##;

/// The official browser client from `node_modules`, if installed beside the crate.
fn local_client() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("node_modules/socket.io-client/dist/socket.io.min.js");
    path.exists().then_some(path)
}

/// The page, loading the client from this server when it has it; without it, the page loads no
/// client and shows why (see `index.html`).
async fn page() -> Html<String> {
    let tag = if local_client().is_some() {
        CLIENT_TAG
    } else {
        ""
    };
    Html(PAGE.replace("{{CLIENT}}", tag))
}

async fn client_js() -> Response {
    match local_client().map(std::fs::read) {
        Some(Ok(js)) => ([(header::CONTENT_TYPE, "text/javascript")], js).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn favicon() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml")], FAVICON).into_response()
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
    let builder = SocketIo::builder();
    // With the `redis` feature and REDIS_URL set, this server joins the cluster of every chat
    // server on that Redis: rooms, members and messages are shared.
    #[cfg(feature = "redis")]
    let builder = match std::env::var("REDIS_URL") {
        Ok(url) => {
            use tower_socketio::adapter::redis::{RedisAdapter, RedisAdapterConfig};
            let redis = RedisAdapter::connect(&url, RedisAdapterConfig::default())
                .await
                .map_err(std::io::Error::other)?;
            println!("in the cluster of the chat servers on {url}");
            builder.adapter(redis.factory())
        }
        Err(_) => builder,
    };
    let (layer, io) = builder.build_layer();
    io.ns("/", on_connect).with(require_name);

    let app = Router::new()
        .route("/", get(page))
        .route("/vendor/socket.io.min.js", get(client_js))
        .route("/favicon.ico", get(favicon))
        .route("/api/rooms", get(list_rooms))
        .route("/api/rooms/{room}/announce", post(announce))
        .with_state(io)
        .layer(layer);

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    if local_client().is_none() {
        eprintln!(
            "warning: node_modules/socket.io-client is missing: the page cannot connect. \
             Run `npm ci` in {} (./scripts/chat does), then reload the page.",
            env!("CARGO_MANIFEST_DIR")
        );
    }
    println!("chat on http://{}", listener.local_addr()?);
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
