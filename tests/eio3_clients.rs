//! Socket.IO v2 clients (Engine.IO v3, Socket.IO's v4 protocol) against the test server of
//! `tests/common/sio.rs` built with `allow_eio3(true)`: the official npm `socket.io-client` 2.x
//! (installed as `socket.io-client-v2`), over polling only, WebSocket only, and polling with
//! upgrade; side by side with the current `socket.io-client` on the same server, and one
//! broadcast reaching both kinds.
//!
//! Each test starts its own server and runs scenarios of `tests/clients/v2_client.mjs` (its
//! header describes them). The script checks what the client sees; the tests here check what
//! the server saw: connects with the socket ids the client computes, and the disconnect reason
//! for a client disconnect, a server disconnect, a transport close, a missing ping and a
//! graceful shutdown. Without `allow_eio3`, a v2 client is refused at the handshake.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::sio::{self, Seen};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, BufReader},
    sync::mpsc::UnboundedReceiver,
};
use tower_socketio::{
    DisconnectReason, SocketIo, SocketIoBuilder, extract::ConnectError, service::NotFound,
    value::Value,
};

/// The bound on one client run; the script times itself out after 20 s.
const BOUND: Duration = Duration::from_secs(60);

/// How long the server may take to notice what a client did.
const NOTICE: Duration = Duration::from_secs(10);

const V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/v2_client.mjs");
const V4: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/sio_client.mjs");

struct Server {
    url: String,
    io: SocketIo,
    seen: UnboundedReceiver<Seen>,
}

impl Server {
    /// The test server with `allow_eio3(true)`, `tweak` applied, and `/refuse`, whose
    /// middleware refuses everyone with a message and no data.
    async fn start(tweak: impl FnOnce(SocketIoBuilder) -> SocketIoBuilder) -> Server {
        Server::start_with(|b| tweak(b.allow_eio3(true))).await
    }

    async fn start_with(tweak: impl FnOnce(SocketIoBuilder) -> SocketIoBuilder) -> Server {
        let (layer, io, seen) = sio::build(tweak);
        io.ns("/refuse", || {})
            .with(|| Err::<(), _>(ConnectError::new("go away")));
        let addr = common::serve(tower::Layer::layer(&layer, NotFound)).await;
        Server {
            url: format!("http://{addr}"),
            io,
            seen,
        }
    }

    async fn next(&mut self) -> Seen {
        tokio::time::timeout(NOTICE, self.seen.recv())
            .await
            .expect("the server saw nothing more within 10 s")
            .expect("the recorder is gone")
    }

    async fn next_disconnect(&mut self) -> (String, DisconnectReason) {
        loop {
            if let Seen::Disconnect { ns, reason } = self.next().await {
                return (ns, reason);
            }
        }
    }

    fn drain(&mut self) -> Vec<Seen> {
        let mut all = Vec::new();
        while let Ok(seen) = self.seen.try_recv() {
            all.push(seen);
        }
        all
    }

    fn args<'a>(&'a self, script: &'a str, mode: &'a str, scenario: &'a str) -> Vec<&'a str> {
        vec![
            script,
            "--url",
            &self.url,
            "--mode",
            mode,
            "--scenario",
            scenario,
        ]
    }

    /// Runs a v2 scenario to completion; returns its JSON summary.
    async fn run(&self, mode: &str, scenario: &str, extra: &[&str]) -> serde_json::Value {
        let mut args = self.args(V2, mode, scenario);
        args.extend_from_slice(extra);
        summary(
            &common::run_client(&common::node(), &args, BOUND)
                .await
                .stdout,
        )
    }

    /// Runs a scenario of the current client (`sio_client.mjs`) to completion.
    async fn run_v4(&self, mode: &str, scenario: &str) -> serde_json::Value {
        let args = self.args(V4, mode, scenario);
        summary(
            &common::run_client(&common::node(), &args, BOUND)
                .await
                .stdout,
        )
    }
}

/// The last line of a script's output: its JSON summary.
fn summary(stdout: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().last().expect("the client printed nothing");
    let value: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("summary {line:?}: {e}"));
    assert_eq!(value["ok"], true, "summary: {value}");
    value
}

/// A scenario that the client checks by itself (`b64`: with the client's `forceBase64`).
async fn checked(mode: &str, scenario: &str, b64: bool) {
    let server = Server::start(|b| b).await;
    let extra: &[&str] = if b64 { &["--b64", "1"] } else { &[] };
    server.run(mode, scenario, extra).await;
}

/// The namespaces scenario; the server saw the socket ids the client computed from the
/// session id (`/admin#<sid>`), on `/`, `/admin` and `/dyn-7`.
async fn namespaces(mode: &str) {
    let mut server = Server::start(|b| b).await;
    let summary = server.run(mode, "namespaces", &[]).await;
    let connects: Vec<(String, String)> = server
        .drain()
        .into_iter()
        .filter_map(|s| match s {
            Seen::Connect { ns, id } => Some((ns, id)),
            Seen::Disconnect { .. } => None,
        })
        .collect();
    let engine = summary["engine"].as_str().expect("engine id");
    for (ns, id) in [
        ("/", engine.to_owned()),
        ("/admin", format!("/admin#{engine}")),
        (
            "/admin",
            summary["admin"].as_str().expect("admin").to_owned(),
        ),
        ("/dyn-7", summary["dyn"].as_str().expect("dyn").to_owned()),
    ] {
        assert!(
            connects.contains(&(ns.to_owned(), id.clone())),
            "{ns} {id} not among {connects:?}"
        );
    }
    // Refused and invalid namespaces connected nothing.
    assert!(
        !connects
            .iter()
            .any(|(ns, _)| ns == "/nope" || ns == "/refuse"),
        "{connects:?}"
    );
}

/// A scenario after which the server must have seen `/` disconnect for `reason`.
async fn disconnect_reason(
    mode: &str,
    scenario: &str,
    tweak: impl FnOnce(SocketIoBuilder) -> SocketIoBuilder,
    reason: DisconnectReason,
) {
    let mut server = Server::start(tweak).await;
    let summary = server.run(mode, scenario, &[]).await;
    let Seen::Connect { ns, id } = server.next().await else {
        panic!("the server saw a disconnect before a connect");
    };
    assert_eq!(ns, "/");
    assert_eq!(summary["id"], id.as_str(), "socket id seen by both sides");
    assert_eq!(
        server.next_disconnect().await,
        ("/".to_owned(), reason),
        "client summary: {summary}"
    );
}

/// The v3 heartbeat, fast: the client pings every 300 ms and waits 200 ms for the pong; the
/// server gives it 500 ms between pings.
fn fast_heartbeat(b: SocketIoBuilder) -> SocketIoBuilder {
    b.ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
}

/// The client pings and the server answers: the connection outlives several intervals.
async fn heartbeat(mode: &str) {
    let mut server = Server::start(fast_heartbeat).await;
    let summary = server.run(mode, "heartbeat", &[]).await;
    assert_eq!(summary["pongs"], 3);
    assert_eq!(
        (&summary["pingInterval"], &summary["pingTimeout"]),
        (&300.into(), &200.into())
    );
    let seen = server.drain();
    assert!(
        matches!(seen.first(), Some(Seen::Connect { .. })),
        "{seen:?}"
    );
}

/// A client process whose stdout is read line by line.
struct Running {
    child: tokio::process::Child,
    stdout: BufReader<tokio::process::ChildStdout>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = tokio::process::Command::new(common::node())
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("cannot start node");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Running { child, stdout }
    }

    /// The next line, as JSON; panics with the client's stderr when it ended instead.
    async fn line(&mut self) -> serde_json::Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).await.expect("read");
        if line.is_empty() {
            let mut err = String::new();
            if let Some(stderr) = self.child.stderr.as_mut() {
                stderr.read_to_string(&mut err).await.expect("read");
            }
            panic!("the client ended early: {err}");
        }
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    /// Waits for the client to end; returns its summary.
    async fn finish(mut self) -> serde_json::Value {
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).await.expect("read");
        let mut err = String::new();
        if let Some(stderr) = self.child.stderr.as_mut() {
            stderr.read_to_string(&mut err).await.expect("read");
        }
        let status = self.child.wait().await.expect("wait");
        assert!(status.success(), "client failed ({status}):\n{rest}\n{err}");
        summary(rest.as_bytes())
    }
}

/// `io.shutdown()` with a v2 client connected: it is told with a DISCONNECT ("io server
/// disconnect"), the server's socket sees "server shutting down".
async fn graceful_shutdown(mode: &str) {
    let mut server = Server::start(|b| b).await;
    let run = async {
        let mut client = Running::start(&server.args(V2, mode, "wait_disconnect"));
        let connected = client.line().await;
        let Seen::Connect { id, .. } = server.next().await else {
            panic!("the server saw a disconnect before a connect");
        };
        assert_eq!(connected["connected"], id.as_str());
        assert!(
            server.io.shutdown(NOTICE).await,
            "the shutdown took too long"
        );
        assert_eq!(
            server.next_disconnect().await,
            ("/".to_owned(), DisconnectReason::ServerShuttingDown)
        );
        let summary = client.finish().await;
        assert_eq!(summary["reason"], "io server disconnect");
    };
    tokio::time::timeout(BOUND, run)
        .await
        .expect("the shutdown scenario did not finish in time");
}

/// One broadcast, encoded once, reaches v2 and current clients on the same server: an
/// `emit_with_ack` with a buffer collects the answers of all six sockets, then a plain `emit`
/// reaches all six (each client checks it).
async fn broadcast(mode: &str) {
    let server = Server::start(|b| b).await;
    let run = async {
        let mut v2 = Running::start(&server.args(V2, mode, "broadcast"));
        let mut v4 = Running::start(&server.args(V4, mode, "broadcast"));
        let mut ids: Vec<String> = Vec::new();
        for client in [&mut v2, &mut v4] {
            let line = client.line().await;
            ids.extend(
                serde_json::from_value::<Vec<String>>(line["connected"].clone())
                    .unwrap_or_else(|e| panic!("{line}: {e}")),
            );
        }
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
        }
        let end = Value::Object(vec![
            ("n".into(), Value::from(3u64)),
            ("bin".into(), Value::Bytes(Bytes::from_static(&[4, 5, 6]))),
        ]);
        server.io.emit("bcast-end", &end).await.expect("broadcast");
        v2.finish().await;
        v4.finish().await;
    };
    tokio::time::timeout(BOUND, run)
        .await
        .expect("the broadcast scenario did not finish in time");
}

/// A v2 and a current client on one server at the same time, each through its namespaces
/// scenario.
async fn side_by_side(mode: &str) {
    let server = Server::start(|b| b).await;
    let (v2, v4) = tokio::join!(
        server.run(mode, "namespaces", &[]),
        server.run_v4(mode, "namespaces")
    );
    assert_eq!(v2["client"], "socket.io-client@2");
    assert_eq!(v4["client"], "socket.io-client");
}

/// One module per mode, one test per scenario.
macro_rules! mode_tests {
    ($($mode:ident),*) => {$(
        mod $mode {
            use super::*;

            mode_tests!(@checked $mode:
                echo, acks, server_ack, binary, order, large, concurrent);

            #[tokio::test]
            async fn binary_base64() {
                checked(stringify!($mode), "binary", true).await;
            }

            #[tokio::test]
            async fn large_base64() {
                checked(stringify!($mode), "large", true).await;
            }

            #[tokio::test]
            async fn namespaces() {
                super::namespaces(stringify!($mode)).await;
            }

            #[tokio::test]
            async fn heartbeat() {
                super::heartbeat(stringify!($mode)).await;
            }

            #[tokio::test]
            async fn client_disconnect() {
                disconnect_reason(stringify!($mode), "client_disconnect", |b| b,
                    DisconnectReason::ClientNamespaceDisconnect).await;
            }

            #[tokio::test]
            async fn server_disconnect() {
                disconnect_reason(stringify!($mode), "server_disconnect", |b| b,
                    DisconnectReason::ServerNamespaceDisconnect).await;
            }

            #[tokio::test]
            async fn transport_close() {
                disconnect_reason(stringify!($mode), "transport_close", |b| b,
                    DisconnectReason::TransportClose).await;
            }

            #[tokio::test]
            async fn ping_timeout() {
                disconnect_reason(stringify!($mode), "ping_timeout", fast_heartbeat,
                    DisconnectReason::PingTimeout).await;
            }

            #[tokio::test]
            async fn graceful_shutdown() {
                super::graceful_shutdown(stringify!($mode)).await;
            }

            #[tokio::test]
            async fn broadcast_to_v2_and_v4() {
                super::broadcast(stringify!($mode)).await;
            }

            #[tokio::test]
            async fn side_by_side_with_v4() {
                super::side_by_side(stringify!($mode)).await;
            }
        }
    )*};
    (@checked $mode:ident: $($scenario:ident),*) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                checked(stringify!($mode), stringify!($scenario), false).await;
            }
        )*
    };
}

mode_tests!(polling, websocket, upgrade);

/// Without `allow_eio3`, an `EIO=3` handshake gets HTTP 400 "Unsupported protocol version"
/// (code 5), and the v2 client does not connect.
#[tokio::test]
async fn eio3_refused_by_default() {
    use tokio::io::AsyncWriteExt;
    let mut server = Server::start_with(|b| b).await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    for transport in ["polling", "websocket"] {
        let mut stream = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        let request = format!(
            "GET /socket.io/?EIO=3&transport={transport} HTTP/1.1\r\nHost: {addr}\r\n\
             Connection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut answer = Vec::new();
        tokio::time::timeout(NOTICE, stream.read_to_end(&mut answer))
            .await
            .expect("no answer within 10 s")
            .expect("read");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(
            answer.ends_with(r#"{"code":5,"message":"Unsupported protocol version"}"#),
            "{answer}"
        );
    }
    for mode in ["polling", "websocket"] {
        server.run(mode, "refused", &[]).await;
    }
    assert_eq!(server.drain(), []);
}

/// The v2 browser client in headless Chromium reads and posts binary polling payloads (in Node
/// it asks for base64): buffers and text beside them survive both ways.
#[tokio::test]
async fn browser_binary_payloads() {
    let mut server = Server::start(|b| b).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/v2_browser.mjs");
    let out = common::run_client(&common::node(), &[script, "--url", &server.url], BOUND).await;
    let summary = summary(&out.stdout);
    assert_eq!(summary["supportsBinary"], true, "{summary}");
    let Seen::Connect { ns, id } = server.next().await else {
        panic!("the server saw a disconnect before a connect");
    };
    assert_eq!(
        (ns.as_str(), summary["id"].as_str()),
        ("/", Some(id.as_str()))
    );
}

/// `examples/echo` with `EIO3=1` serves the v2 client over each transport set-up, and the
/// current client beside it.
#[tokio::test]
async fn echo_example_with_eio3() {
    let (url, _child) =
        common::example::start("echo", &[], &[("EIO3", "1")], "Socket.IO echo on ").await;
    let node = common::node();
    for mode in ["polling", "websocket", "upgrade"] {
        let v2 = [V2, "--url", &url, "--mode", mode, "--scenario", "echo"];
        let v4 = [V4, "--url", &url, "--mode", mode, "--scenario", "echo"];
        let (a, b) = tokio::join!(
            common::run_client(&node, &v2, BOUND),
            common::run_client(&node, &v4, BOUND)
        );
        assert_eq!(summary(&a.stdout)["client"], "socket.io-client@2");
        assert_eq!(summary(&b.stdout)["client"], "socket.io-client");
    }
}

/// One HTTP/1.1 request to the Socket.IO path on a new connection: status, content type, body.
async fn raw(
    addr: &str,
    method: http::Method,
    query: &str,
    body: &'static [u8],
) -> (u16, String, Vec<u8>) {
    use http_body_util::{BodyExt, Full};
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("HTTP handshake");
    tokio::spawn(conn);
    let req = http::Request::builder()
        .method(method)
        .uri(format!("/socket.io/?{query}"))
        .header(http::header::HOST, addr)
        .body(Full::new(Bytes::from_static(body)))
        .expect("request");
    let res = tokio::time::timeout(NOTICE, sender.send_request(req))
        .await
        .expect("no answer within 10 s")
        .expect("HTTP request");
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, kind, body.to_vec())
}

/// Engine.IO v3 at the wire, without a client library: the handshake is a length-prefixed
/// payload, `/` is joined at once (`40`, no payload), the client's ping is answered with a pong,
/// a request in the other revision is refused, and a pong from a v3 client ends its session.
#[tokio::test]
async fn eio3_at_the_wire() {
    use http::Method;
    let mut server = Server::start(|b| b).await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let (status, kind, open) = raw(&addr, Method::GET, "EIO=3&transport=polling", b"").await;
    assert_eq!((status, kind.as_str()), (200, "text/plain; charset=UTF-8"));
    let open = String::from_utf8(open).expect("UTF-8");
    let (len, packet) = open.split_once(':').expect("a length prefix");
    assert_eq!(
        len.parse::<usize>().ok(),
        Some(packet.encode_utf16().count())
    );
    let handshake: serde_json::Value =
        serde_json::from_str(packet.strip_prefix('0').expect("an open packet")).expect("JSON");
    assert_eq!(handshake["upgrades"], serde_json::json!(["websocket"]));
    let sid = handshake["sid"].as_str().expect("sid").to_owned();
    let q = |eio: u8| format!("EIO={eio}&transport=polling&sid={sid}");

    let (_, _, connect) = raw(&addr, Method::GET, &q(3), b"").await;
    assert_eq!(connect, b"2:40");
    let Seen::Connect { ns, id } = server.next().await else {
        panic!("no connect");
    };
    assert_eq!((ns.as_str(), id.as_str()), ("/", sid.as_str()));

    // The other revision, for the same session: refused, the session goes on.
    assert_eq!(raw(&addr, Method::GET, &q(4), b"").await.0, 400);
    assert_eq!(raw(&addr, Method::POST, &q(3), b"1:2").await.2, b"ok");
    assert_eq!(raw(&addr, Method::GET, &q(3), b"").await.2, b"1:3");
    // A binary payload, as a browser posts one: an event with one attachment.
    let post = raw_binary_post(&addr, &q(3)).await;
    assert_eq!(post, 200);
    let (_, kind, echo) = raw(&addr, Method::GET, &q(3), b"").await;
    assert_eq!(kind, "application/octet-stream");
    assert_eq!(echo, v3_binary_event());

    // A pong from a v3 client breaks the heartbeat's direction.
    assert_eq!(raw(&addr, Method::POST, &q(3), b"1:3").await.2, b"ok");
    assert_eq!(
        server.next_disconnect().await,
        ("/".to_owned(), DisconnectReason::TransportError)
    );
}

/// `451-["e",{placeholder 0}]` and the attachment `01 02 03` as a v3 binary payload: per
/// packet, 0 (text) or 1 (binary), its length's digits as bytes, 255, the packet.
fn v3_binary_event() -> Vec<u8> {
    let text = br#"451-["e",{"_placeholder":true,"num":0}]"#;
    let mut body = vec![0u8];
    body.extend(text.len().to_string().bytes().map(|d| d - b'0'));
    body.push(0xff);
    body.extend_from_slice(text);
    body.extend_from_slice(&[1, 4, 0xff, 4, 1, 2, 3]);
    body
}

/// POSTs `451-["e",{placeholder 0}]` and the attachment `01 02 03` as a v3 binary payload.
async fn raw_binary_post(addr: &str, query: &str) -> u16 {
    use http_body_util::Full;
    let body = v3_binary_event();
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("HTTP handshake");
    tokio::spawn(conn);
    let req = http::Request::builder()
        .method(http::Method::POST)
        .uri(format!("/socket.io/?{query}"))
        .header(http::header::HOST, addr)
        .header(http::header::CONTENT_TYPE, "application/octet-stream")
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    tokio::time::timeout(NOTICE, sender.send_request(req))
        .await
        .expect("no answer within 10 s")
        .expect("HTTP request")
        .status()
        .as_u16()
}
