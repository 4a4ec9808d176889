//! The Socket.IO Admin UI (feature `admin-ui`), with the official UI and clients:
//!
//! - the UI itself (npm `@socket.io/admin-ui` 0.5.1, served by the server under `/admin-ui/`)
//!   in headless Chromium, watching the chat example built with the feature
//!   (`tests/clients/admin_ui.mjs`): a wrong password gets the login form again, the right one
//!   shows the chat's sockets with their rooms, and the UI disconnects one of them, whose client
//!   sees it. With `TSIO_SCREENSHOT=1`, the run saves its picture of the dashboard to
//!   `docs/admin-ui.png` (the README's).
//!
//! The scripts resolve their npm packages from the repository's `node_modules` (`npm ci`, which
//! `./scripts/test` runs, installs the UI and its fonts); Chromium is looked for at
//! `TSIO_CHROMIUM`, else `/usr/bin/chromium`.
#![cfg(feature = "admin-ui")]

mod common;

use std::{path::Path, process::Stdio, time::Duration};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn script(name: &str) -> String {
    format!("{REPO}/tests/clients/{name}")
}

fn chromium() -> String {
    let path = std::env::var("TSIO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&path).exists(),
        "Chromium is not installed at {path}: install the Debian package `chromium` \
         (./scripts/test does) or point TSIO_CHROMIUM at a Chromium binary"
    );
    path
}

/// Runs a Node script to completion within `timeout`, from the repository root; panics with its
/// output when it fails or prints no `"ok":true` line. Returns its stdout.
async fn run_node(script: &str, args: &[&str], timeout: Duration) -> String {
    let mut cmd = tokio::process::Command::new(common::node());
    cmd.arg(script)
        .args(args)
        .current_dir(REPO)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if !Path::new(REPO).join("node_modules").is_dir()
        && let Some(p) = std::env::var_os("TSIO_NODE_PATH")
    {
        cmd.env("NODE_PATH", p);
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node: {e}"));
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{script} {args:?} did not finish within {timeout:?}"))
        .expect("client I/O failed");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} {args:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(r#""ok":true"#),
        "{script} {args:?} succeeded without its summary line:\n{stdout}"
    );
    eprintln!("{}", stdout.trim_end());
    stdout
}

/// The UI in the browser, watching the chat example: login refused then accepted, the clients'
/// sockets and rooms listed, one disconnected from the UI.
#[tokio::test]
async fn the_admin_ui_watches_the_chat_example_in_the_browser() {
    let browser = chromium();
    assert!(
        Path::new(REPO)
            .join("node_modules/@socket.io/admin-ui/ui/dist/index.html")
            .exists(),
        "node_modules/@socket.io/admin-ui is not installed: run `npm ci` (./scripts/test does)"
    );
    let (url, _chat) = common::example::start(
        "chat",
        &["admin-ui"],
        &[("ADMIN_PASSWORD", "chat-admin"), ("SERVER_ID", "chat-1")],
        "chat on ",
    )
    .await;
    let shot = format!("{REPO}/docs/admin-ui.png");
    let mut args = vec![
        "--url",
        &url,
        "--password",
        "chat-admin",
        "--chromium",
        &browser,
    ];
    if std::env::var("TSIO_SCREENSHOT").is_ok_and(|v| v == "1") {
        args.extend(["--screenshot", &shot]);
    }
    run_node(&script("admin_ui.mjs"), &args, Duration::from_secs(120)).await;
}

// ---------------------------------------------------------------------------------------------
// The protocol, with the official client playing the UI (`tests/clients/admin_client.mjs`).

use tower::Layer;
use tower_socketio::{
    SocketIo, SocketRef,
    admin::{self, AdminOptions, Auth},
    extract::Data,
    service::NotFound,
};

/// `/` of the test servers: `join` room joins it, answers the room and emits `joined` room.
fn chat(io: &SocketIo) {
    io.ns("/", |socket: SocketRef| {
        socket.on("join", |socket: SocketRef, Data(room): Data<String>| {
            socket.join(room.as_str());
            let _ = socket.emit("joined", &room);
            room
        });
    });
}

async fn serve(layer: tower_socketio::SocketIoLayer) -> String {
    format!("http://{}", common::serve(layer.layer(NotFound)).await)
}

/// Basic auth (a bcrypt hash), development mode: logins, every event, every command.
#[tokio::test]
async fn the_official_client_speaks_admin_with_the_server() {
    let (layer, io) = SocketIo::new_layer();
    chat(&io);
    let hash = bcrypt::hash("pw-1", 4).unwrap();
    admin::instrument(
        &io,
        AdminOptions::new(Auth::basic("admin", hash)).server_id("node-1"),
    )
    .unwrap();
    assert!(matches!(
        admin::instrument(&io, AdminOptions::new(Auth::None)),
        Err(admin::AdminError::AlreadyInstrumented)
    ));
    let url = serve(layer).await;
    run_node(
        &script("admin_client.mjs"),
        &["--mode", "main", "--url", &url, "--password", "pw-1"],
        Duration::from_secs(90),
    )
    .await;
}

/// Read-only: no command offered, those sent ignored.
#[tokio::test]
async fn a_readonly_server_ignores_the_uis_commands() {
    let (layer, io) = SocketIo::new_layer();
    chat(&io);
    admin::instrument(&io, AdminOptions::new(Auth::None).readonly(true)).unwrap();
    let url = serve(layer).await;
    run_node(
        &script("admin_client.mjs"),
        &["--mode", "readonly", "--url", &url],
        Duration::from_secs(90),
    )
    .await;
}

/// A configuration mistake is refused up front.
#[tokio::test]
async fn a_password_that_is_not_a_bcrypt_hash_is_refused() {
    let (_layer, io) = SocketIo::new_layer();
    let err = admin::instrument(&io, AdminOptions::new(Auth::basic("admin", "plain"))).unwrap_err();
    assert!(matches!(err, admin::AdminError::InvalidHash(_)), "{err}");
    io.ns("/admin", |_: SocketRef| {});
    let err = admin::instrument(&io, AdminOptions::new(Auth::None)).unwrap_err();
    assert!(matches!(err, admin::AdminError::NamespaceTaken(_)), "{err}");
}

/// Two servers over Redis appear to the UI as one fleet of two.
#[cfg(feature = "redis")]
#[tokio::test]
async fn two_servers_over_redis_are_one_fleet() {
    use tower_socketio::adapter::redis::{RedisAdapter, RedisAdapterConfig};
    let redis = common::redis::RedisServer::start().await;
    let mut urls = Vec::new();
    for id in ["node-a", "node-b"] {
        let adapter = RedisAdapter::connect(&redis.url(), RedisAdapterConfig::default())
            .await
            .unwrap();
        let (layer, io) = SocketIo::builder().adapter(adapter.factory()).build_layer();
        chat(&io);
        admin::instrument(&io, AdminOptions::new(Auth::None).server_id(id)).unwrap();
        urls.push(serve(layer).await);
    }
    run_node(
        &script("admin_client.mjs"),
        &["--mode", "fleet", "--url", &urls[0], "--url-b", &urls[1]],
        Duration::from_secs(90),
    )
    .await;
}
