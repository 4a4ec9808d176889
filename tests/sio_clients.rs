//! The official Socket.IO clients against the test server of `tests/common/sio.rs`:
//! `socket.io-client` (npm, in Node) and `python-socketio`, over polling only, WebSocket only, and
//! polling with upgrade.
//!
//! Each test starts its own server and runs one scenario of `tests/clients/sio_client.mjs` or
//! `tests/clients/sio_client.py` (the header of the `.mjs` script describes the server's contract
//! and every scenario). The scripts check what the client sees; the tests here check what the
//! server saw: connects, and the disconnect reason for a client disconnect, a server disconnect, a
//! transport close, a ping timeout and a graceful shutdown. `./scripts/test` installs the clients.

mod common;

use std::time::Duration;

use common::sio::{self, Seen};
use tokio::sync::mpsc::UnboundedReceiver;
use tower_socketio::{DisconnectReason, SocketIo, SocketIoBuilder, service::NotFound};

/// The bound on one client run; the scripts time themselves out after 20 s.
const BOUND: Duration = Duration::from_secs(60);

/// How long the server may take to notice what a client did.
const NOTICE: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug)]
enum Client {
    Node,
    Python,
}

impl Client {
    fn program_and_script(self) -> (String, &'static str) {
        match self {
            Client::Node => (
                common::node(),
                concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/sio_client.mjs"),
            ),
            Client::Python => (
                common::python(),
                concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/sio_client.py"),
            ),
        }
    }
}

struct Server {
    url: String,
    io: SocketIo,
    seen: UnboundedReceiver<Seen>,
}

impl Server {
    async fn start(tweak: impl FnOnce(SocketIoBuilder) -> SocketIoBuilder) -> Server {
        let (layer, io, seen) = sio::build(tweak);
        let addr = common::serve(tower::Layer::layer(&layer, NotFound)).await;
        Server {
            url: format!("http://{addr}"),
            io,
            seen,
        }
    }

    /// The next thing the server saw, within [`NOTICE`].
    async fn next(&mut self) -> Seen {
        tokio::time::timeout(NOTICE, self.seen.recv())
            .await
            .expect("the server saw nothing more within 10 s")
            .expect("the recorder is gone")
    }

    /// Waits for the next disconnect and returns its namespace and reason.
    async fn next_disconnect(&mut self) -> (String, DisconnectReason) {
        loop {
            if let Seen::Disconnect { ns, reason } = self.next().await {
                return (ns, reason);
            }
        }
    }

    /// Runs `scenario` of `client` in `mode` to completion; returns its JSON summary.
    async fn run(
        &self,
        client: Client,
        mode: &str,
        scenario: &str,
        extra: &[&str],
    ) -> serde_json::Value {
        let (program, script) = client.program_and_script();
        let mut args = vec![
            script,
            "--url",
            &self.url,
            "--mode",
            mode,
            "--scenario",
            scenario,
        ];
        args.extend_from_slice(extra);
        let out = common::run_client(&program, &args, BOUND).await;
        summary(&out.stdout)
    }

    /// Everything the server saw so far, without waiting.
    fn drain(&mut self) -> Vec<Seen> {
        let mut all = Vec::new();
        while let Ok(seen) = self.seen.try_recv() {
            all.push(seen);
        }
        all
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

/// A scenario that the client checks by itself.
async fn checked(client: Client, mode: &str, scenario: &str) {
    let server = Server::start(|b| b).await;
    server.run(client, mode, scenario, &[]).await;
}

/// 50 clients at once: 50 distinct sockets connected on the server.
async fn concurrent(client: Client, mode: &str) {
    let mut server = Server::start(|b| b).await;
    server.run(client, mode, "concurrent", &[]).await;
    let ids: std::collections::HashSet<String> = server
        .drain()
        .into_iter()
        .filter_map(|s| match s {
            Seen::Connect { ns, id } if ns == "/" => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 50, "sockets connected on the server");
}

/// A scenario after which the server must have seen `/` disconnect for `reason`.
async fn disconnect_reason(
    client: Client,
    mode: &str,
    scenario: &str,
    tweak: impl FnOnce(SocketIoBuilder) -> SocketIoBuilder,
    reason: DisconnectReason,
) {
    let mut server = Server::start(tweak).await;
    let summary = server.run(client, mode, scenario, &[]).await;
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

/// The server pings every 300 ms and waits 200 ms for the pong.
fn fast_heartbeat(b: SocketIoBuilder) -> SocketIoBuilder {
    b.ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
}

/// An Engine.IO session that never joins a namespace is closed after the connect timeout.
async fn no_namespace(client: Client, mode: &str) {
    let mut server = Server::start(|b| b.connect_timeout(Duration::from_millis(500))).await;
    let summary = server
        .run(client, mode, "no_namespace", &["--within", "5000"])
        .await;
    assert_eq!(server.drain(), [], "client summary: {summary}");
}

/// How the server ends in [`graceful_close`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// `io.close()`.
    Close,
    /// `io.shutdown(deadline).await` (issue 14, finding 7): the client is told with a Socket.IO
    /// DISCONNECT, which it reports as the server's disconnect.
    Shutdown,
}

/// `io.close()` or `io.shutdown()` with a client connected: the socket sees "server shutting
/// down", the client is disconnected, and new connections are refused.
async fn graceful_close(client: Client, mode: &str, ending: Ending) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

    let mut server = Server::start(|b| b).await;
    let (program, script) = client.program_and_script();
    let mut child = tokio::process::Command::new(&program)
        .args([script, "--url", &server.url, "--mode", mode])
        .args(["--scenario", "wait_disconnect"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut stderr = child.stderr.take().expect("piped");
    let finish = async {
        // The client announces itself once connected on its final transport.
        let mut line = String::new();
        stdout.read_line(&mut line).await.expect("read");
        let connected: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            panic!("client said {line:?} instead of announcing its connection")
        });
        let Seen::Connect { id, .. } = server.next().await else {
            panic!("the server saw a disconnect before a connect");
        };
        assert_eq!(connected["connected"], id.as_str());
        match ending {
            Ending::Close => server.io.close(),
            Ending::Shutdown => assert!(
                server.io.shutdown(NOTICE).await,
                "the shutdown did not finish in time"
            ),
        }
        let disconnect = server.next_disconnect().await;
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).await.expect("read");
        let status = child.wait().await.expect("wait");
        (id, disconnect, rest, status)
    };
    let (id, disconnect, rest, status) = match tokio::time::timeout(BOUND, finish).await {
        Ok(done) => done,
        Err(_) => panic!("{program} wait_disconnect did not finish within {BOUND:?}"),
    };
    let mut err = String::new();
    stderr.read_to_string(&mut err).await.expect("read");
    assert!(status.success(), "client failed ({status}):\n{rest}\n{err}");
    let summary = summary(rest.as_bytes());
    assert_eq!(summary["id"], id.as_str());
    assert_eq!(
        disconnect,
        ("/".to_owned(), DisconnectReason::ServerShuttingDown)
    );
    if ending == Ending::Shutdown {
        let expected = match client {
            Client::Node => "io server disconnect",
            Client::Python => "server disconnect",
        };
        assert_eq!(summary["reason"], expected, "the client's reason");
    }
    // A closed server takes no new connection.
    let status = handshake_status(&server.url).await;
    assert_ne!(status, 200, "the closed server accepted a handshake");
}

/// The HTTP status of a polling handshake, over a plain TCP connection.
async fn handshake_status(url: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    tokio::time::timeout(NOTICE, stream.read_to_end(&mut head))
        .await
        .expect("no answer to the handshake within 10 s")
        .expect("read");
    let head = String::from_utf8_lossy(&head);
    head.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {head:?}"))
}

/// One module per client, one per mode, one test per scenario.
macro_rules! client_tests {
    ($module:ident, $client:expr) => {
        mod $module {
            use super::*;

            client_tests!(@mode $client, polling);
            client_tests!(@mode $client, websocket);
            client_tests!(@mode $client, upgrade);
        }
    };
    (@mode $client:expr, $mode:ident) => {
        mod $mode {
            use super::*;

            client_tests!(@checked $client, $mode:
                echo, acks, server_ack, binary, namespaces, order, large, extract_fail);

            #[tokio::test]
            async fn concurrent() {
                super::concurrent($client, stringify!($mode)).await;
            }

            #[tokio::test]
            async fn client_disconnect() {
                disconnect_reason($client, stringify!($mode), "client_disconnect", |b| b,
                    DisconnectReason::ClientNamespaceDisconnect).await;
            }

            #[tokio::test]
            async fn server_disconnect() {
                disconnect_reason($client, stringify!($mode), "server_disconnect", |b| b,
                    DisconnectReason::ServerNamespaceDisconnect).await;
            }

            #[tokio::test]
            async fn transport_close() {
                disconnect_reason($client, stringify!($mode), "transport_close", |b| b,
                    DisconnectReason::TransportClose).await;
            }

            #[tokio::test]
            async fn ping_timeout() {
                disconnect_reason($client, stringify!($mode), "ping_timeout", fast_heartbeat,
                    DisconnectReason::PingTimeout).await;
            }

            #[tokio::test]
            async fn connect_timeout() {
                no_namespace($client, stringify!($mode)).await;
            }

            #[tokio::test]
            async fn graceful_close() {
                super::graceful_close($client, stringify!($mode), Ending::Close).await;
            }

            #[tokio::test]
            async fn graceful_shutdown() {
                super::graceful_close($client, stringify!($mode), Ending::Shutdown).await;
            }
        }
    };
    (@checked $client:expr, $mode:ident: $($scenario:ident),*) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                checked($client, stringify!($mode), stringify!($scenario)).await;
            }
        )*
    };
}

client_tests!(node, Client::Node);
client_tests!(python, Client::Python);
