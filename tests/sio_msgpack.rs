//! The msgpack parser with the official client: `socket.io-client` with
//! `socket.io-msgpack-parser` (`tests/clients/sio_client.mjs --parser msgpack`) against the test
//! server of `tests/common/sio.rs` built with `.parser(MsgpackParser)`, over polling only,
//! WebSocket only, and polling with upgrade. Then malformed msgpack from a raw WebSocket client:
//! each closes its own session with a parse error, and a healthy client on the same server goes
//! on. `./scripts/test` installs the clients.
#![cfg(feature = "msgpack")]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::sio::{self, Seen};
use futures_util::{SinkExt, StreamExt};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, BufReader},
    net::TcpStream,
    sync::mpsc::UnboundedReceiver,
};
use tokio_tungstenite::{WebSocketStream, tungstenite::Message};
use tower_socketio::{
    DisconnectReason, SocketIo, protocol::MsgpackParser, service::NotFound, value::Value,
};

/// The bound on one client run; the script times itself out after 20 s.
const BOUND: Duration = Duration::from_secs(60);

/// How long the server or a raw client may take to notice something.
const NOTICE: Duration = Duration::from_secs(10);

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/sio_client.mjs");

struct Server {
    url: String,
    io: SocketIo,
    seen: UnboundedReceiver<Seen>,
}

impl Server {
    async fn start() -> Server {
        let (layer, io, seen) = sio::build(|b| b.parser(MsgpackParser));
        let addr = common::serve(tower::Layer::layer(&layer, NotFound)).await;
        Server {
            url: format!("http://{addr}"),
            io,
            seen,
        }
    }

    fn args<'a>(&'a self, mode: &'a str, scenario: &'a str) -> Vec<&'a str> {
        vec![
            SCRIPT,
            "--url",
            &self.url,
            "--mode",
            mode,
            "--scenario",
            scenario,
            "--parser",
            "msgpack",
        ]
    }

    /// Runs `scenario` in `mode` to completion; returns its JSON summary.
    async fn run(&self, mode: &str, scenario: &str) -> serde_json::Value {
        let out = common::run_client(&common::node(), &self.args(mode, scenario), BOUND).await;
        summary(&String::from_utf8_lossy(&out.stdout))
    }

    /// The next thing the server saw, within [`NOTICE`].
    async fn next(&mut self) -> Seen {
        tokio::time::timeout(NOTICE, self.seen.recv())
            .await
            .expect("the server saw nothing more within 10 s")
            .expect("the recorder is gone")
    }

    /// The next disconnect the server saw.
    async fn next_disconnect(&mut self) -> (String, DisconnectReason) {
        loop {
            if let Seen::Disconnect { ns, reason } = self.next().await {
                return (ns, reason);
            }
        }
    }

    fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }
}

/// The last line of a script's output: its JSON summary, which must say `ok` with msgpack.
fn summary(stdout: &str) -> serde_json::Value {
    let line = stdout.lines().last().expect("the client printed nothing");
    let value: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("summary {line:?}: {e}"));
    assert_eq!(value["ok"], true, "summary: {value}");
    assert_eq!(value["parser"], "msgpack", "summary: {value}");
    value
}

/// A scenario that the client checks by itself (see the header of `sio_client.mjs`).
async fn checked(mode: &str, scenario: &str) {
    let server = Server::start().await;
    server.run(mode, scenario).await;
}

/// The server disconnects the socket: the client sees "io server disconnect" (a DISCONNECT
/// packet in msgpack), the server records the reason.
async fn server_disconnect(mode: &str) {
    let mut server = Server::start().await;
    let summary = server.run(mode, "server_disconnect").await;
    let Seen::Connect { ns, id } = server.next().await else {
        panic!("the server saw a disconnect before a connect");
    };
    assert_eq!(
        (ns.as_str(), summary["id"].as_str()),
        ("/", Some(id.as_str()))
    );
    assert_eq!(
        server.next_disconnect().await,
        ("/".to_owned(), DisconnectReason::ServerNamespaceDisconnect)
    );
}

/// Broadcasts, encoded once for every recipient: `emit_with_ack` to three clients collects
/// three answers carrying the broadcast's number and buffer back, then a plain `emit` with a
/// buffer reaches all three (the client checks it).
async fn broadcast(mode: &str) {
    let server = Server::start().await;
    let mut child = tokio::process::Command::new(common::node())
        .args(server.args(mode, "broadcast"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cannot start node");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut stderr = child.stderr.take().expect("piped");
    let run = async {
        let mut line = String::new();
        stdout.read_line(&mut line).await.expect("read");
        let mut err = String::new();
        if line.is_empty() {
            stderr.read_to_string(&mut err).await.expect("read");
            panic!("the client ended before connecting: {err}");
        }
        let first: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        let mut ids: Vec<String> = serde_json::from_value(first["connected"].clone())
            .unwrap_or_else(|e| panic!("{first}: {e}"));
        ids.sort();

        let bin = Bytes::from_static(&[1, 2, 3]);
        let answers = server
            .io
            .emit_with_ack("bcast", &(7, &bin))
            .await
            .expect("broadcast")
            .collect_all::<Value>()
            .await;
        let mut from: Vec<String> = answers.iter().map(|(id, _)| id.clone()).collect();
        from.sort();
        assert_eq!(from, ids, "answers from every socket: {answers:?}");
        let mut ks = Vec::new();
        for (id, answer) in &answers {
            let answer = answer
                .as_ref()
                .unwrap_or_else(|e| panic!("{id} answered {e:?}"));
            assert_eq!(
                answer.get("n").and_then(Value::as_u64),
                Some(7),
                "{answer:?}"
            );
            assert_eq!(
                answer.get("bin"),
                Some(&Value::Bytes(bin.clone())),
                "{answer:?}"
            );
            ks.extend(answer.get("k").and_then(Value::as_u64));
        }
        ks.sort_unstable();
        assert_eq!(ks, [0, 1, 2]);

        let end = Value::Object(vec![
            ("n".into(), Value::from(3u64)),
            ("bin".into(), Value::Bytes(Bytes::from_static(&[4, 5, 6]))),
        ]);
        server.io.emit("bcast-end", &end).await.expect("broadcast");

        let mut rest = String::new();
        stdout.read_to_string(&mut rest).await.expect("read");
        stderr.read_to_string(&mut err).await.expect("read");
        let status = child.wait().await.expect("wait");
        assert!(status.success(), "client failed: {err}\n{rest}");
        summary(&rest)
    };
    let summary = tokio::time::timeout(BOUND, run)
        .await
        .expect("the broadcast run did not finish within 60 s");
    assert_eq!(summary["sockets"], 3);
}

/// One module per mode, one test per scenario.
macro_rules! msgpack_tests {
    ($($mode:ident),*) => {
        $(
            mod $mode {
                use super::*;

                msgpack_tests!(@checked $mode:
                    echo, acks, server_ack, binary, namespaces, order, large);

                #[tokio::test]
                async fn server_disconnect() {
                    super::server_disconnect(stringify!($mode)).await;
                }

                #[tokio::test]
                async fn broadcast_with_acks() {
                    super::broadcast(stringify!($mode)).await;
                }
            }
        )*
    };
    (@checked $mode:ident: $($scenario:ident),*) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                checked(stringify!($mode), stringify!($scenario)).await;
            }
        )*
    };
}

msgpack_tests!(polling, websocket, upgrade);

// ---------------------------------------------------------------------------------------------
// Malformed msgpack from a raw client

type Ws = WebSocketStream<TcpStream>;

/// `{type: 0, nsp: "/"}`: CONNECT to the main namespace.
const CONNECT: &[u8] = b"\x82\xa4type\x00\xa3nsp\xa1/";

/// `{type: 2, data: ["whoami"], nsp: "/", id: 1}`.
const WHOAMI: &[u8] = b"\x84\xa4type\x02\xa4data\x91\xa6whoami\xa3nsp\xa1/\xa2id\x01";

/// A raw Engine.IO WebSocket session, joined to `/` with a msgpack CONNECT.
async fn raw_client(addr: &str) -> Ws {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("WebSocket handshake");
    let open = next_message(&mut ws).await.expect("an open packet");
    assert!(
        matches!(&open, Message::Text(t) if t.starts_with("0{")),
        "{open:?}"
    );
    ws.send(Message::Binary(Bytes::from_static(CONNECT)))
        .await
        .expect("send");
    let answer = next_message(&mut ws).await.expect("a CONNECT answer");
    let Message::Binary(b) = answer else {
        panic!("the CONNECT answer is not binary: {answer:?}");
    };
    // {type: 0, data: {sid: …}, nsp: "/"}
    assert!(
        b.starts_with(b"\x83\xa4type\x00\xa4data\x81\xa3sid"),
        "{b:?}"
    );
    ws
}

/// The next data message (pings answered), or `None` once the connection is closed.
async fn next_message(ws: &mut Ws) -> Option<Message> {
    tokio::time::timeout(NOTICE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                    ws.send(Message::text("3")).await.ok()?;
                }
                Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => return Some(m),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .expect("nothing from the server within 10 s")
}

/// A raw client asks `whoami` with an ack and must get `{type: 3, data: ["/"], nsp: "/", id: 1}`.
async fn assert_alive(ws: &mut Ws) {
    ws.send(Message::Binary(Bytes::from_static(WHOAMI)))
        .await
        .expect("send");
    let answer = next_message(ws).await.expect("an ACK");
    assert_eq!(
        answer,
        Message::Binary(Bytes::from_static(
            b"\x84\xa4type\x03\xa4data\x91\xa1/\xa3nsp\xa1/\xa2id\x01"
        ))
    );
}

#[tokio::test]
async fn malformed_msgpack_closes_only_its_session() {
    let mut server = Server::start().await;
    let mut healthy = raw_client(server.addr()).await;
    assert!(matches!(server.next().await, Seen::Connect { .. }));

    let garbage = Message::Binary(Bytes::from_static(b"\xc1\xff\x00garbage"));
    let text = Message::text("42[\"whoami\"]");
    let truncated = Message::Binary(Bytes::copy_from_slice(&WHOAMI[..WHOAMI.len() - 3]));
    // {type: 2, data: ["disconnect"], nsp: "/"}: valid msgpack, a reserved event name.
    let reserved = Message::Binary(Bytes::from_static(
        b"\x83\xa4type\x02\xa4data\x91\xaadisconnect\xa3nsp\xa1/",
    ));
    for (what, bad) in [
        ("garbage", garbage),
        ("text", text),
        ("truncated", truncated),
        ("reserved event", reserved),
    ] {
        let mut bad_client = raw_client(server.addr()).await;
        assert!(
            matches!(server.next().await, Seen::Connect { .. }),
            "{what}"
        );
        bad_client.send(bad).await.expect("send");
        // The server closes the connection without answering.
        assert_eq!(next_message(&mut bad_client).await, None, "{what}");
        assert_eq!(
            server.next_disconnect().await,
            ("/".to_owned(), DisconnectReason::ParseError),
            "{what}"
        );
        assert_alive(&mut healthy).await;
    }
    // The official client works on the same server too.
    server.run("websocket", "echo").await;
    assert_alive(&mut healthy).await;
}

/// `examples/echo` serves msgpack when built with the feature and run with `PARSER=msgpack`:
/// the official client with the msgpack parser gets its mixed arguments echoed back, over each
/// transport set-up.
#[tokio::test]
async fn the_echo_example_serves_msgpack() {
    let (url, _child) = common::example::start(
        "echo",
        &["msgpack"],
        &[("PARSER", "msgpack")],
        "Socket.IO echo on ",
    )
    .await;
    for mode in ["polling", "websocket", "upgrade"] {
        let args = [
            SCRIPT,
            "--url",
            &url,
            "--mode",
            mode,
            "--scenario",
            "echo",
            "--parser",
            "msgpack",
        ];
        let out = common::run_client(&common::node(), &args, BOUND).await;
        summary(&String::from_utf8_lossy(&out.stdout));
    }
}
