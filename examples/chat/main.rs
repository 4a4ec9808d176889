//! Run with `./scripts/chat` (installs the browser client with `npm ci` when it is missing, then
//! `cargo run --example chat`; `PORT=4000` changes the port, `RECOVERY_SECS=30` the recovery
//! window), then open <http://127.0.0.1:3000> in two browser windows.
//!
//! As a cluster: with the `redis` feature and `REDIS_URL` set, each chat server joins the others
//! on that Redis (see the README's "Several servers"), so two servers on two ports share rooms,
//! members and messages (those away are known to the server they were connected to):
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
//! - a member who disconnects (closes their socket): their rooms get `user left`.
//! - a member whose connection drops: their rooms get `user away`, and they stay members. The
//!   server has connection state recovery on: when they come back within the window
//!   (`RECOVERY_SECS`, 120 by default) they are recovered (same socket, same rooms), get every
//!   message sent meanwhile, in order, before their `connect`, and their rooms get `user back`
//!   (no second `user joined`); when they do not, their rooms get `user left` once the window
//!   has passed.
//!
//! REST: `GET /api/rooms` lists `[{ name, members }]` (members away included); `POST /api/rooms/{room}/announce`
//! `{ text }` sends `message` from `"server"` to the room and answers 202 `{ recipients }`.

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
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
use tower_socketio::{
    DisconnectReason, SocketIo, SocketRef,
    adapter::ConnectionStateRecovery,
    extract::{Data, Recovered, State as IoState},
};

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

/// Members whose connection dropped, by socket id: their name and rooms, kept until they are
/// back or the recovery window has passed. They are still members meanwhile.
#[derive(Debug, Clone, Default)]
struct Away(Arc<Mutex<HashMap<String, Gone>>>);

/// A member away: their name and rooms.
type Gone = (String, Vec<String>);

impl Away {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Gone>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The names of those away from `room`.
    fn names_in(&self, room: &str) -> Vec<String> {
        self.lock()
            .values()
            .filter(|(_, rooms)| rooms.iter().any(|r| r == room))
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// How long a member whose connection dropped may take to come back.
#[derive(Debug, Clone, Copy)]
struct Window(Duration);

/// The names of a room's members (those away included), sorted.
async fn members(io: &SocketIo, away: &Away, room: &str) -> Vec<String> {
    let mut names: Vec<String> = io
        .within(room)
        .fetch_sockets()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| s.handshake.auth()["name"].as_str().map(str::to_owned))
        .collect();
    names.extend(away.names_in(room));
    names.sort();
    names
}

fn require_name(Data(auth): Data<Auth>) -> Result<(), &'static str> {
    match auth.name {
        Some(name) if !name.trim().is_empty() => Ok(()),
        _ => Err("a non-empty name is required (auth: { name })"),
    }
}

fn on_connect(
    socket: SocketRef,
    Data(auth): Data<Auth>,
    Recovered(recovered): Recovered,
    IoState(away): IoState<Away>,
) {
    socket
        .extensions()
        .insert(Name(auth.name.unwrap_or_default()));
    // Back after a drop, with its rooms: the others never saw it leave, so it joins nothing and
    // is not announced as joining; they learn it is back.
    if recovered {
        away.lock().remove(socket.id());
        let socket = socket.clone();
        tokio::spawn(async move {
            for room in socket.rooms().into_iter().filter(|r| r != socket.id()) {
                tell_room(&socket, "user back", &room).await;
            }
        });
    }

    socket.on(
        "join",
        |socket: SocketRef,
         io: SocketIo,
         IoState(away): IoState<Away>,
         Data(room): Data<String>| async move {
            socket.join(room.as_str());
            tell_room(&socket, "user joined", &room).await;
            json!({ "room": room, "members": members(&io, &away, &room).await })
        },
    );

    socket.on(
        "switch",
        |socket: SocketRef,
         io: SocketIo,
         IoState(away): IoState<Away>,
         Data(room): Data<String>| async move {
            let rooms = socket.rooms();
            for old in rooms.iter().filter(|r| *r != socket.id() && **r != room) {
                socket.leave(old.as_str());
                tell_room(&socket, "user left", old).await;
            }
            if !rooms.contains(&room) {
                socket.join(room.as_str());
                tell_room(&socket, "user joined", &room).await;
            }
            json!({ "room": room, "members": members(&io, &away, &room).await })
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
    socket.on_disconnecting(
        |socket: SocketRef,
         reason: DisconnectReason,
         io: SocketIo,
         IoState(away): IoState<Away>,
         IoState(Window(window)): IoState<Window>| async move {
            let rooms: Vec<String> = socket
                .rooms()
                .into_iter()
                .filter(|r| r != socket.id())
                .collect();
            if !reason.recoverable() {
                for room in &rooms {
                    tell_room(&socket, "user left", room).await;
                }
                return;
            }
            // The connection dropped: the member may come back within the window. Noted before
            // any await: the core keeps the session for a recovery once this first step is done.
            let (id, name) = (socket.id().to_owned(), name_of(&socket));
            away.lock()
                .insert(id.clone(), (name.clone(), rooms.clone()));
            for room in &rooms {
                tell_room(&socket, "user away", room).await;
            }
            tokio::spawn(async move {
                tokio::time::sleep(window).await;
                let Some((_, rooms)) = away.lock().remove(&id) else {
                    return; // back
                };
                // Back on another server of the cluster?
                let sockets = io.fetch_sockets().await.unwrap_or_default();
                if sockets.iter().any(|s| s.id == id) {
                    return;
                }
                for room in rooms {
                    let payload = RoomEvent {
                        room: &room,
                        name: &name,
                    };
                    io.to(room.as_str()).emit("user left", &payload).await.ok();
                }
            });
        },
    );
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

async fn list_rooms(State((io, away)): State<(SocketIo, Away)>) -> Json<Vec<RoomInfo>> {
    let sockets = io.fetch_sockets().await.unwrap_or_default();
    let ids: HashSet<&str> = sockets.iter().map(|s| s.id.as_str()).collect();
    let mut names: HashSet<String> = io.rooms().await.unwrap_or_default().into_iter().collect();
    let away: Vec<Gone> = away.lock().values().cloned().collect();
    names.extend(away.iter().flat_map(|(_, rooms)| rooms.iter().cloned()));
    let mut rooms: Vec<RoomInfo> = Vec::new();
    for room in names {
        if ids.contains(room.as_str()) {
            continue; // each socket's own room
        }
        let members = sockets.iter().filter(|s| s.rooms.contains(&room)).count()
            + away
                .iter()
                .filter(|(_, rooms)| rooms.contains(&room))
                .count();
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
    State((io, _)): State<(SocketIo, Away)>,
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

/// With the `admin-ui` feature: the Socket.IO Admin UI watches this server, its page at
/// `/admin-ui/` (from `node_modules`). The UI logs in as `admin` with the password in
/// `ADMIN_PASSWORD` (kept as its bcrypt hash); without it, the UI needs no login. `SERVER_ID`
/// names the server in the UI (default `hostname#pid`).
#[cfg(feature = "admin-ui")]
fn admin_ui(io: &SocketIo, app: Router) -> std::io::Result<Router> {
    use tower_socketio::admin::{self, AdminOptions, AdminUiLayer, Auth};
    let auth = match std::env::var("ADMIN_PASSWORD") {
        Ok(password) => {
            let hash =
                bcrypt::hash(password, bcrypt::DEFAULT_COST).map_err(std::io::Error::other)?;
            Auth::basic("admin", hash)
        }
        Err(_) => Auth::None,
    };
    let mut options = AdminOptions::new(auth);
    if let Ok(id) = std::env::var("SERVER_ID") {
        options = options.server_id(id);
    }
    admin::instrument(io, options).map_err(std::io::Error::other)?;
    let node_modules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules");
    match AdminUiLayer::from_node_modules("/admin-ui/", &node_modules) {
        Ok(ui) => {
            println!("admin UI on /admin-ui/");
            Ok(app.layer(ui))
        }
        Err(e) => {
            eprintln!("warning: the Admin UI's files are missing ({e}): run `npm ci`");
            Ok(app)
        }
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
    // Connection state recovery: a member whose connection drops and who comes back within the
    // window gets every message sent meanwhile.
    let window = Duration::from_secs(
        std::env::var("RECOVERY_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(120),
    );
    let away = Away::default();
    let builder = SocketIo::builder()
        .connection_state_recovery(ConnectionStateRecovery {
            max_disconnection_duration: window,
            ..ConnectionStateRecovery::default()
        })
        .with_state(away.clone())
        .with_state(Window(window));
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
        .with_state((io.clone(), away))
        .layer(layer);
    #[cfg(feature = "admin-ui")]
    let app = admin_ui(&io, app)?;

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
