//! Rooms, operators and server-side actions, with the official clients:
//!
//! - the chat example (`examples/chat`), its whole contract checked by `socket.io-client` in
//!   Node (`tests/clients/chat_client.mjs`) and its page driven in headless Chromium
//!   (`tests/clients/browser_chat.mjs`). The example runs as it ships: its binary, built here with
//!   `cargo build --example chat` (a no-op when `cargo test` has built it already), started on a
//!   free port;
//! - every operator and action (`to`, `within`, `except`, `broadcast`, `local`, `volatile`,
//!   `compress`, `timeout`; `emit`, `emit_with_ack`, `fetch_sockets`, `sockets_join`,
//!   `sockets_leave`, `disconnect_sockets`, `rooms`, `server_count`) from the handle, a namespace
//!   and a socket, on command from `tests/clients/operators_client.mjs` (see the protocol at its
//!   top), with a handful of clients and then with 1000 sockets in 100 rooms.
//!
//! The scripts resolve their npm packages from the repository's `node_modules`; when there is
//! none, from `TSIO_NODE_PATH` (given to them as `NODE_PATH`). `./scripts/test` installs the
//! packages and Chromium; Chromium is looked for at `TSIO_CHROMIUM`, else `/usr/bin/chromium`.

mod common;

use std::{
    ffi::OsString,
    path::Path,
    process::{Output, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tower_socketio::{
    AckError, AckStream, BroadcastOperator, DisconnectReason, Namespace, SocketIo, SocketRef,
    adapter::SocketInfo, extract::Data,
};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn script(name: &str) -> String {
    format!("{REPO}/tests/clients/{name}")
}

/// `NODE_PATH` for the scripts: none when the repository has its `node_modules`, else
/// `TSIO_NODE_PATH` if set.
fn node_path() -> Option<OsString> {
    if Path::new(REPO).join("node_modules").is_dir() {
        return None;
    }
    std::env::var_os("TSIO_NODE_PATH")
}

/// Runs a Node script to completion within `timeout` (from the repository root, as
/// `common::run_client` does, with `NODE_PATH` when needed); panics with its output when it
/// fails.
async fn run_node(script: &str, args: &[&str], timeout: Duration) -> Output {
    let program = common::node();
    let mut cmd = tokio::process::Command::new(&program);
    cmd.arg(script)
        .args(args)
        .current_dir(REPO)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(path) = node_path() {
        cmd.env("NODE_PATH", path);
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{script} {args:?} did not finish within {timeout:?}"))
        .expect("client I/O failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        panic!(
            "{script} {args:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        stdout.contains(r#""ok":true"#),
        "{script} {args:?} succeeded without its summary line:\n{stdout}"
    );
    eprintln!("{}", stdout.trim_end());
    out
}

// ---------------------------------------------------------------------------------------------
// The chat example, as it ships.

/// A running chat example; killed when dropped.
struct Chat {
    url: String,
    _child: tokio::process::Child,
}

/// Starts the chat example on a free port of 127.0.0.1 and waits until it listens.
async fn start_chat() -> Chat {
    start_chat_with(&[]).await
}

async fn start_chat_with(env: &[(&str, &str)]) -> Chat {
    let (url, child) = common::example::start("chat", &[], env, "chat on ").await;
    Chat { url, _child: child }
}

/// The whole contract of the chat example with `socket.io-client` in Node.
#[tokio::test]
async fn chat_example_contract() {
    let chat = start_chat().await;
    run_node(
        &script("chat_client.mjs"),
        &["--url", &chat.url],
        Duration::from_secs(60),
    )
    .await;
}

/// A chat member whose connection dropped and who is not back within the recovery window
/// (one second here) is told as gone, and comes back as a new member.
#[tokio::test]
async fn chat_example_recovery_window() {
    let chat = start_chat_with(&[("RECOVERY_SECS", "1")]).await;
    run_node(
        &script("chat_client.mjs"),
        &["--url", &chat.url, "--scenario", "expiry"],
        Duration::from_secs(60),
    )
    .await;
}

/// Where Chromium is; a missing browser fails the test (`./scripts/test` installs it).
fn chromium() -> String {
    let path = std::env::var("TSIO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&path).exists(),
        "Chromium is not installed at {path}: install the Debian package `chromium` \
         (./scripts/test does) or point TSIO_CHROMIUM at a Chromium binary"
    );
    path
}

/// The chat page in headless Chromium: two members of `lobby` talk, `other` hears nothing.
#[tokio::test]
async fn chat_example_in_the_browser() {
    let browser = chromium();
    let chat = start_chat().await;
    run_node(
        &script("browser_chat.mjs"),
        &["--url", &chat.url, "--chromium", &browser],
        Duration::from_secs(120),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Every operator and action, on command from the clients.

/// Operators, applied in order; the first one to the base.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Step {
    To { rooms: Vec<String> },
    Within { rooms: Vec<String> },
    Except { rooms: Vec<String> },
    Broadcast,
    Local,
    Volatile,
    Compress { on: bool },
    Timeout { ms: u64 },
}

/// How `emit_with_ack` answers are read.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Expect {
    String,
    I64,
    Any,
    Stream,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
enum Action {
    Emit {
        event: String,
        data: Value,
        #[serde(default)]
        binary: bool,
    },
    EmitWithAck {
        event: String,
        data: Value,
        expect: Expect,
    },
    FetchSockets,
    SocketsJoin {
        rooms: Vec<String>,
    },
    SocketsLeave {
        rooms: Vec<String>,
    },
    DisconnectSockets {
        close: bool,
    },
    Rooms,
    ServerCount,
}

#[derive(Debug, Deserialize)]
struct Op {
    base: String,
    steps: Vec<Step>,
    action: Action,
}

/// Where the operators start.
enum Base {
    Io(SocketIo),
    Ns(Namespace),
    Socket(SocketRef),
}

/// Calls `$target.$method(rooms)` with one room as `&str`, two as an array, more as a `Vec`:
/// the several shapes of `IntoRooms`.
macro_rules! with_rooms {
    ($target:expr, $method:ident, $rooms:expr) => {
        match $rooms.as_slice() {
            [one] => $target.$method(one.as_str()),
            [a, b] => $target.$method([a.clone(), b.clone()]),
            many => $target.$method(many.to_vec()),
        }
    };
    (@await $target:expr, $method:ident, $rooms:expr) => {
        match $rooms.as_slice() {
            [one] => $target.$method(one.as_str()).await,
            [a, b] => $target.$method([a.clone(), b.clone()]).await,
            many => $target.$method(many.to_vec()).await,
        }
    };
}

/// Applies a step other than `broadcast` to a base or an operator.
macro_rules! apply {
    ($target:expr, $step:expr) => {
        match $step {
            Step::To { rooms } => with_rooms!($target, to, rooms),
            Step::Within { rooms } => with_rooms!($target, within, rooms),
            Step::Except { rooms } => with_rooms!($target, except, rooms),
            Step::Local => $target.local(),
            Step::Volatile => $target.volatile(),
            Step::Compress { on } => $target.compress(*on),
            Step::Timeout { ms } => $target.timeout(Duration::from_millis(*ms)),
            Step::Broadcast => return Err("broadcast() is a socket's operator".into()),
        }
    };
}

/// Runs an action on a base or an operator (the actions `SocketIo`, `Namespace` and
/// `BroadcastOperator` share).
macro_rules! act {
    ($target:expr, $action:expr) => {
        match $action {
            Action::Emit {
                event,
                data,
                binary,
            } => {
                if binary {
                    let bin = Bytes::from(serde_json::to_vec(&data).unwrap());
                    $target.emit(&event, &(data, bin)).await
                } else {
                    $target.emit(&event, &data).await
                }
                .map_err(|e| e.to_string())?;
                json!(true)
            }
            Action::EmitWithAck {
                event,
                data,
                expect,
            } => {
                let stream = $target
                    .emit_with_ack(&event, &data)
                    .await
                    .map_err(|e| e.to_string())?;
                acks(stream, expect).await
            }
            Action::FetchSockets => {
                describe($target.fetch_sockets().await.map_err(|e| e.to_string())?)
            }
            Action::SocketsJoin { rooms } => {
                with_rooms!(@await $target, sockets_join, rooms)
                    .map_err(|e| e.to_string())?;
                json!(true)
            }
            Action::SocketsLeave { rooms } => {
                with_rooms!(@await $target, sockets_leave, rooms)
                    .map_err(|e| e.to_string())?;
                json!(true)
            }
            Action::DisconnectSockets { close } => {
                $target
                    .disconnect_sockets(close)
                    .await
                    .map_err(|e| e.to_string())?;
                json!(true)
            }
            Action::Rooms => json!($target.rooms().await.map_err(|e| e.to_string())?),
            Action::ServerCount => return Err("server_count needs an operator".into()),
        }
    };
}

fn first_step(base: &Base, step: &Step) -> Result<BroadcastOperator, String> {
    Ok(match base {
        Base::Io(io) => apply!(io, step),
        Base::Ns(ns) => apply!(ns, step),
        Base::Socket(s) => match step {
            Step::Broadcast => s.broadcast(),
            _ => apply!(s, step),
        },
    })
}

fn next_step(op: BroadcastOperator, step: &Step) -> Result<BroadcastOperator, String> {
    Ok(apply!(op, step))
}

fn ack_error(e: &AckError) -> &'static str {
    match e {
        AckError::Timeout => "timeout",
        AckError::Disconnected => "disconnected",
        AckError::Decode(_) => "decode",
        AckError::Send(_) => "send",
    }
}

fn ack_report<T: serde::Serialize>(answers: Vec<(String, Result<T, AckError>)>) -> Vec<Value> {
    answers
        .into_iter()
        .map(|(id, r)| match r {
            Ok(v) => json!({ "id": id, "ok": v }),
            Err(e) => json!({ "id": id, "err": ack_error(&e) }),
        })
        .collect()
}

/// The answers to a broadcast with acks, `[{ id, ok } | { id, err }]` sorted by id.
async fn acks(stream: AckStream, expect: Expect) -> Value {
    let mut out = match expect {
        Expect::String => ack_report(stream.collect_all::<String>().await),
        Expect::I64 => ack_report(stream.collect_all::<i64>().await),
        Expect::Any => ack_report(stream.collect_all::<Value>().await),
        Expect::Stream => {
            let mut stream = stream;
            let mut raw = Vec::new();
            while let Some(answer) = stream.next().await {
                raw.push(answer);
            }
            ack_report(raw)
        }
    };
    out.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    Value::Array(out)
}

/// Sockets as `[{ id, ns, name, rooms }]` sorted by id.
fn describe(mut sockets: Vec<SocketInfo>) -> Value {
    sockets.sort_by(|a, b| a.id.cmp(&b.id));
    sockets
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id,
                "ns": s.ns,
                "name": s.handshake.auth()["name"],
                "rooms": s.rooms,
            })
        })
        .collect()
}

async fn run_op(io: SocketIo, socket: SocketRef, op: Op) -> Result<Value, String> {
    let base = match op.base.as_str() {
        "io" => Base::Io(io),
        "socket" => Base::Socket(socket),
        path => Base::Ns(
            io.of(path)
                .ok_or_else(|| format!("no namespace {path:?}"))?,
        ),
    };
    let mut steps = op.steps.iter();
    let Some(first) = steps.next() else {
        // The actions on the base itself.
        return Ok(match base {
            Base::Io(io) => act!(io, op.action),
            Base::Ns(ns) => act!(ns, op.action),
            Base::Socket(s) => match op.action {
                Action::Emit { event, data, .. } => {
                    s.emit(&event, &data).map_err(|e| e.to_string())?;
                    json!(true)
                }
                Action::EmitWithAck { event, data, .. } => {
                    let answer = s.emit_with_ack::<_, Value>(&event, &data).await;
                    Value::Array(ack_report(vec![(s.id().to_owned(), answer)]))
                }
                other => return Err(format!("{other:?} is not a socket's action")),
            },
        });
    };
    let mut operator = first_step(&base, first)?;
    for step in steps {
        operator = next_step(operator, step)?;
    }
    Ok(match op.action {
        Action::ServerCount => json!(operator.server_count().await.map_err(|e| e.to_string())?),
        action => act!(operator, action),
    })
}

/// The disconnects the server saw: `{ name, ns, reason }`.
type Gone = Arc<Mutex<Vec<Value>>>;

fn name_of(socket: &SocketRef) -> Value {
    socket.handshake().auth()["name"].clone()
}

fn one_or_many(Data(rooms): Data<Value>) -> Vec<String> {
    match rooms {
        Value::String(room) => vec![room],
        other => serde_json::from_value(other).unwrap_or_default(),
    }
}

fn on_connect(socket: &SocketRef, gone: &Gone) {
    socket.on("noop", || true);
    socket.on("rooms", |socket: SocketRef| socket.rooms());
    socket.on("join", |socket: SocketRef, rooms: Data<Value>| {
        match one_or_many(rooms).as_slice() {
            [one] => socket.join(one.as_str()),
            many => socket.join(many.to_vec()),
        }
        socket.rooms()
    });
    socket.on("leave", |socket: SocketRef, rooms: Data<Value>| {
        match one_or_many(rooms).as_slice() {
            [one] => socket.leave(one.as_str()),
            many => socket.leave(many),
        }
        socket.rooms()
    });
    socket.on("leave_all", |socket: SocketRef| {
        socket.leave_all();
        socket.rooms()
    });
    socket.on(
        "op",
        |socket: SocketRef, io: SocketIo, Data(op): Data<Op>| async move {
            run_op(io, socket, op).await
        },
    );
    let seen = gone.clone();
    socket.on("gone", move || seen.lock().unwrap().clone());
    let gone = gone.clone();
    socket.on_disconnect(move |socket: SocketRef, reason: DisconnectReason| {
        gone.lock().unwrap().push(json!({
            "name": name_of(&socket),
            "ns": socket.ns(),
            "reason": reason.as_str(),
        }));
    });
}

/// Refuses a connection without a name.
fn require_name(Data(auth): Data<Value>) -> Result<(), &'static str> {
    match auth["name"].as_str() {
        Some(n) if !n.is_empty() => Ok(()),
        _ => Err("a name is required"),
    }
}

struct OpsServer {
    url: String,
    io: SocketIo,
    gone: Gone,
}

/// The operators server: namespaces `/` and `/x`, ack timeout 1 s.
async fn ops_server() -> OpsServer {
    let (layer, io) = SocketIo::builder()
        .ack_timeout(Duration::from_secs(1))
        .build_layer();
    let gone: Gone = Arc::default();
    for path in ["/", "/x"] {
        let g = gone.clone();
        io.ns(path, move |socket: SocketRef| on_connect(&socket, &g))
            .with(require_name);
    }
    let addr = common::serve(tower_layer::Layer::layer(
        &layer,
        tower_socketio::service::NotFound,
    ))
    .await;
    OpsServer {
        url: format!("http://{addr}"),
        io,
        gone,
    }
}

impl OpsServer {
    /// Waits until every socket of `/` and `/x` is gone and no room is left.
    async fn assert_empty(&self) {
        let x = self.io.of("/x").expect("namespace /x");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let main = self.io.fetch_sockets().await.unwrap();
            let rooms = self.io.rooms().await.unwrap();
            let xs = x.fetch_sockets().await.unwrap();
            let xrooms = x.rooms().await.unwrap();
            if main.is_empty() && rooms.is_empty() && xs.is_empty() && xrooms.is_empty() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "sockets or rooms left 10 s after the clients closed: {} sockets, rooms {rooms:?}; \
                 /x: {} sockets, rooms {xrooms:?}",
                main.len(),
                xs.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Every operator and action, each effect checked by the clients it reaches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operator_and_action_with_real_clients() {
    let server = ops_server().await;
    assert!(server.io.of("/nope").is_none());
    assert_eq!(server.io.local().server_count().await.unwrap(), 1);
    assert!(server.io.rooms().await.unwrap().is_empty());

    run_node(
        &script("operators_client.mjs"),
        &["--url", &server.url, "--scenario", "operators"],
        Duration::from_secs(120),
    )
    .await;

    server.assert_empty().await;
    // Everyone left in the end; what the server saw of the forced ones, by name.
    let gone = server.gone.lock().unwrap().clone();
    let reason = |name: &str, ns: &str| -> Vec<String> {
        gone.iter()
            .filter(|g| g["name"] == name && g["ns"] == ns)
            .map(|g| g["reason"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(reason("k1", "/"), ["server namespace disconnect"]);
    // `disconnect_sockets(true)`, as the reference: each socket leaves its namespace, then
    // the connection closes.
    assert_eq!(reason("k2", "/"), ["server namespace disconnect"]);
    assert_eq!(reason("k2", "/x"), ["server namespace disconnect"]);
    assert_eq!(reason("x0", "/x"), ["server namespace disconnect"]);
    for i in 1..6 {
        assert_eq!(
            reason(&format!("c{i}"), "/"),
            ["client namespace disconnect"]
        );
    }
    // c0 leaves last, as the script exits: its DISCONNECT may or may not beat the TCP close.
    let c0 = reason("c0", "/");
    assert!(
        c0 == ["client namespace disconnect"] || c0 == ["transport close"],
        "c0: {c0:?}"
    );
}

/// This process's limit on open files (soft, hard), from /proc (Linux).
fn open_files_limit() -> Option<(u64, Option<u64>)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut fields = line["Max open files".len()..].split_whitespace();
    let parse = |f: Option<&str>| f.and_then(|v| v.parse::<u64>().ok());
    let soft = parse(fields.next()).unwrap_or(u64::MAX); // "unlimited"
    Some((soft, parse(fields.next())))
}

/// Makes room for `need` open files: raises the soft limit toward the hard one with `prlimit`
/// (util-linux) when it is lower, and fails clearly when that is not enough. (Node raises its
/// own limit itself.)
fn ensure_open_files(need: u64) {
    let Some((soft, hard)) = open_files_limit() else {
        return;
    };
    if soft >= need {
        return;
    }
    let target = hard.unwrap_or(u64::MAX).min(need.max(8192));
    let _ = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!(
            "--nofile={target}:{}",
            hard.map_or("unlimited".into(), |h| h.to_string())
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let now = open_files_limit().map_or(0, |(soft, _)| soft);
    assert!(
        now >= need,
        "1000 sockets need about {need} open files in this process, the limit is {now} \
         (hard: {hard:?}): raise it (ulimit -n)"
    );
}

/// 1000 sockets in 100 rooms (and 7 more): broadcasts to unions of rooms with exceptions reach
/// exactly their recipients, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_sockets_in_rooms() {
    ensure_open_files(1400);
    let server = ops_server().await;
    let started = std::time::Instant::now();
    run_node(
        &script("operators_client.mjs"),
        &[
            "--url",
            &server.url,
            "--scenario",
            "scale",
            "--sockets",
            "1000",
            "--timeout",
            "90000",
        ],
        Duration::from_secs(120),
    )
    .await;
    server.assert_empty().await;
    let gone = server.gone.lock().unwrap().len();
    assert_eq!(gone, 1000, "disconnects seen by the server");
    eprintln!("1000 sockets: {:?}", started.elapsed());
}
