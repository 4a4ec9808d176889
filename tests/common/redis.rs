//! A `redis-server` of the test's own on a free loopback port, stopped by PID when dropped;
//! a Node Socket.IO server in the same cluster; a minimal WebSocket Socket.IO client.

use std::{process::Stdio, sync::Arc, time::Duration};

use futures_util::{SinkExt, StreamExt};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};
use tokio_tungstenite::tungstenite::Message;

/// A running `redis-server`, without persistence.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one on a free port of 127.0.0.1; returns once it accepts connections.
    pub async fn start() -> RedisServer {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut server = RedisServer { port, child: None };
        server.restart().await;
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts the server again on its port (after [`stop`](Self::stop)).
    pub async fn restart(&mut self) {
        let program = std::env::var("TSIO_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut child = Command::new(&program)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                "",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} (scripts/test installs it): {e}"));
        // Its log says when it is ready.
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(10), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Ready to accept connections") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(ready, Ok(true), "redis-server did not start");
        // Keep reading its log, so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
    }

    /// Kills the server (by its PID) and waits for it to exit.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().unwrap();
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// A Node Socket.IO server with the npm Redis adapter (`tests/clients/node_redis_server.mjs`),
/// ended when dropped.
pub struct NodeServer {
    pub url: String,
    _child: Child,
}

impl NodeServer {
    pub async fn start(redis: &str, name: &str) -> NodeServer {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/node_redis_server.mjs"
        );
        let mut child = Command::new(super::node())
            .args([script, "--redis", redis, "--name", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("cannot start node");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the Node server did not start within 20 s")
            .unwrap()
            .expect("the Node server exited");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let port = v["port"].as_u64().unwrap();
        NodeServer {
            url: format!("http://127.0.0.1:{port}"),
            _child: child,
        }
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A Socket.IO client over WebSocket, connected to namespace `/`, reading text events.
pub struct WsClient {
    ws: Ws,
}

impl WsClient {
    pub async fn connect(addr: std::net::SocketAddr) -> WsClient {
        Self::connect_to(addr, "/").await
    }

    /// Connected to namespace `ns`.
    pub async fn connect_to(addr: std::net::SocketAddr, ns: &str) -> WsClient {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
        let mut c = WsClient { ws };
        assert!(c.text().await.starts_with('0'), "an Engine.IO open packet");
        let prefix = if ns == "/" {
            "40".to_owned()
        } else {
            format!("40{ns},")
        };
        c.ws.send(Message::text(prefix.clone())).await.unwrap();
        let answer = c.text().await;
        assert!(answer.starts_with(&prefix), "a CONNECT answer: {answer}");
        c
    }

    /// Closes the connection.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    async fn text(&mut self) -> String {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("nothing from the server within 10 s")
                .expect("the connection closed")
                .unwrap();
            match msg {
                Message::Text(t) if t.as_str() == "2" => {
                    self.ws.send(Message::text("3")).await.unwrap();
                }
                Message::Text(t) => return t.as_str().to_owned(),
                _ => {}
            }
        }
    }

    /// The next event: its text packet without the `42` prefix (`["name",…]`).
    pub async fn event(&mut self) -> serde_json::Value {
        let t = self.text().await;
        let body = t
            .strip_prefix("42")
            .unwrap_or_else(|| panic!("not an event: {t}"));
        serde_json::from_str(body).unwrap()
    }
}

/// A TCP proxy to a Redis server that can leave its connections hanging, as a network that
/// drops everything silently does: [`freeze`](Self::freeze) stops forwarding on the connections
/// open so far (they stay open); later connections are forwarded.
pub struct Proxy {
    pub port: u16,
    cutoff: tokio::sync::watch::Sender<u64>,
    accepted: Arc<std::sync::atomic::AtomicU64>,
}

impl Proxy {
    pub async fn start(to: u16) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cutoff, rx) = tokio::sync::watch::channel(0u64);
        let accepted = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", to)).await else {
                    continue;
                };
                let mut rx = rx.clone();
                tokio::spawn(async move {
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let forward = async {
                        tokio::select! {
                            _ = tokio::io::copy(&mut cr, &mut sw) => {}
                            _ = tokio::io::copy(&mut sr, &mut cw) => {}
                        }
                    };
                    let frozen = tokio::select! {
                        () = forward => false,
                        r = rx.wait_for(|c| *c >= n) => r.is_ok(),
                    };
                    if frozen {
                        // Hold both ends open, forward nothing, until the test ends.
                        std::future::pending::<()>().await;
                    }
                });
            }
        });
        Proxy {
            port,
            cutoff,
            accepted,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops forwarding on every connection accepted so far.
    pub fn freeze(&self) {
        let n = self.accepted.load(std::sync::atomic::Ordering::SeqCst);
        let _ = self.cutoff.send(n);
    }
}
