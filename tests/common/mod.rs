//! Shared test support: real servers on 127.0.0.1:0 and the official clients as child processes.
#![allow(dead_code, unreachable_pub)]

pub mod example;

use std::{
    net::SocketAddr,
    process::{Output, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use hyper::server::conn::http1;
use hyper_util::{rt::TokioIo, service::TowerToHyperService};
use tokio::sync::mpsc;
use tower_socketio::engine::{
    DisconnectReason, EngineConfig, EngineConfigBuilder, EngineHandler, Session, Str,
};
use tower_socketio::service::EngineService;

/// Serves a tower service on 127.0.0.1:0 (HTTP/1.1 with upgrades) until the test's runtime ends.
pub async fn serve<S, B>(service: S) -> SocketAddr
where
    S: tower::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                return;
            };
            // The client's address in each request's extensions, as the hyper example does:
            // `Handshake::address` reads it.
            let service = TowerToHyperService::new(tower::util::MapRequest::new(
                service.clone(),
                move |mut req: http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(peer);
                    req
                },
            ));
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    addr
}

/// What an [`Echo`] handler saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Connect(String),
    Disconnect(String, DisconnectReason),
}

/// An echo handler that also reports connects and disconnects.
pub struct Echo {
    pub events: mpsc::UnboundedSender<Event>,
    pub sessions: Mutex<Vec<Session>>,
}

impl EngineHandler for Echo {
    fn on_connect(&self, session: &Session) {
        self.sessions.lock().unwrap().push(session.clone());
        let _ = self.events.send(Event::Connect(session.id().to_owned()));
    }
    fn on_message(&self, session: &Session, msg: Str) {
        let _ = session.send_text(msg);
    }
    fn on_binary(&self, session: &Session, data: Bytes) {
        let _ = session.send_binary(data);
    }
    fn on_disconnect(&self, session: &Session, reason: DisconnectReason) {
        let _ = self
            .events
            .send(Event::Disconnect(session.id().to_owned(), reason));
    }
}

/// A running echo engine.
pub struct EchoServer {
    pub addr: SocketAddr,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub handler: Arc<Echo>,
    pub service: EngineService<tower_socketio::service::NotFound>,
}

impl EchoServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next connect or disconnect, within 10 s.
    pub async fn next_event(&mut self) -> Event {
        tokio::time::timeout(Duration::from_secs(10), self.events.recv())
            .await
            .expect("no engine event within 10 s")
            .expect("event channel closed")
    }
}

/// Serves Engine.IO echo at `/engine.io/` on 127.0.0.1:0 with the given configuration.
pub async fn spawn_echo_with(
    config: impl FnOnce(EngineConfigBuilder) -> EngineConfigBuilder,
) -> EchoServer {
    let (tx, events) = mpsc::unbounded_channel();
    let handler = Arc::new(Echo {
        events: tx,
        sessions: Mutex::new(Vec::new()),
    });
    let config = config(EngineConfig::builder().path("/engine.io/")).build();
    let service = EngineService::standalone(handler.clone(), config);
    let addr = serve(service.clone()).await;
    EchoServer {
        addr,
        events,
        handler,
        service,
    }
}

/// Serves Engine.IO echo at `/engine.io/` on 127.0.0.1:0, default configuration.
pub async fn spawn_engine_echo() -> SocketAddr {
    spawn_echo_with(|c| c).await.addr
}

pub fn node() -> String {
    std::env::var("TSIO_NODE").unwrap_or_else(|_| "node".into())
}

pub fn python() -> String {
    if let Ok(p) = std::env::var("TSIO_PYTHON") {
        return p;
    }
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
    if std::path::Path::new(venv).exists() {
        venv.into()
    } else {
        "python3".into()
    }
}

/// Runs a client program to completion within `timeout`; panics with its output when it fails.
pub async fn run_client(program: &str, args: &[&str], timeout: Duration) -> Output {
    let child = tokio::process::Command::new(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{program} {args:?} did not finish within {timeout:?}"))
        .expect("client I/O failed");
    if !out.status.success() {
        panic!(
            "{program} {args:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}
pub mod ops;
pub mod redis;
pub mod sio;
pub mod soak;
