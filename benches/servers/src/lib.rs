//! What the benchmark's Rust servers share: the command line of the harness's contract, the
//! `LISTENING <port>` announcement, and (for the two Socket.IO servers) one way to serve HTTP.
//!
//! Every server takes `--port P` (0 = any free port), `--ping-interval-ms N` (default 25000) and
//! `--ping-timeout-ms N` (default 20000), binds 127.0.0.1 only, and prints exactly one line
//! `LISTENING <port>` to stdout once it accepts connections. The two Rust Socket.IO servers also
//! take `--redis URL` (a loopback `redis://` URL): they then join the cluster of that Redis
//! through their library's Redis adapter (the cross-node scenario `xnode`). `bench-ours` also
//! takes `--metrics` (no value): it installs the Prometheus recorder before the server is built
//! and answers `/metrics`, for a run with the metrics recorded (the others refuse it).

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};

/// The accept backlog: Node's default, which the Node server of the benchmark uses.
const BACKLOG: u32 = 511;

/// The command line of every benchmark server.
#[derive(Debug, Clone)]
pub struct Options {
    /// The port to bind on 127.0.0.1; 0 picks any free port.
    pub port: u16,
    /// The heartbeat's period (Engine.IO `pingInterval`, or raw's ping message period).
    pub ping_interval: Duration,
    /// Engine.IO `pingTimeout` (unused by the raw server).
    pub ping_timeout: Duration,
    /// `--redis URL`: the Redis of a cluster to join (Socket.IO servers only; `bench-raw`
    /// refuses it).
    pub redis: Option<String>,
    /// `--metrics`: record the server's metrics with the Prometheus recorder (`bench-ours`).
    pub metrics: bool,
}

impl Options {
    /// Parses the process's arguments; prints the usage and exits with status 2 when they are wrong.
    pub fn from_env() -> Options {
        match Options::parse(std::env::args().skip(1)) {
            Ok(o) => o,
            Err(e) => {
                let bin = std::env::args().next().unwrap_or_default();
                eprintln!("{bin}: {e}");
                eprintln!(
                    "usage: {bin} --port P [--ping-interval-ms N] [--ping-timeout-ms N] \
                     [--redis URL] [--metrics]"
                );
                std::process::exit(2);
            }
        }
    }

    /// Parses arguments (without the program's name).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut port = None;
        let mut interval = 25_000u64;
        let mut timeout = 20_000u64;
        let mut redis = None;
        let mut metrics = false;
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            if flag == "--metrics" {
                metrics = true;
                continue;
            }
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let bad = |e| format!("{flag} {value}: {e}");
            match flag.as_str() {
                "--port" => port = Some(value.parse::<u16>().map_err(bad)?),
                "--ping-interval-ms" => interval = value.parse().map_err(bad)?,
                "--ping-timeout-ms" => timeout = value.parse().map_err(bad)?,
                "--redis" => redis = Some(value),
                _ => return Err(format!("unknown argument {flag}")),
            }
        }
        Ok(Options {
            port: port.ok_or("--port is required")?,
            ping_interval: Duration::from_millis(interval.max(1)),
            ping_timeout: Duration::from_millis(timeout.max(1)),
            redis,
            metrics,
        })
    }

    /// Binds 127.0.0.1 on the port asked for, with `SO_REUSEADDR` and the accept backlog of
    /// Node's HTTP server (511), so that every server meets a burst of connections alike.
    pub fn bind(&self) -> std::io::Result<TcpListener> {
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)))?;
        socket.listen(BACKLOG)
    }
}

/// Prints the one line `LISTENING <port>` that tells the harness the server is ready, and flushes.
pub fn announce(listener: &TcpListener) -> std::io::Result<()> {
    let port = listener.local_addr()?.port();
    let mut out = std::io::stdout().lock();
    writeln!(out, "LISTENING {port}")?;
    out.flush()
}

/// Serves `service` with hyper's HTTP/1.1 connection builder (upgrades on, `TCP_NODELAY` on
/// every connection, as Node's HTTP server and `bench-raw` do), one task per connection: the
/// same stack for `bench-ours` and `bench-socketioxide`.
///
/// Not `axum::serve`: its protocol-sniffing connection (hyper-util's `auto` builder) keeps
/// hyper's 8 to 16 KiB read buffer alive for as long as an upgraded WebSocket lives, which
/// would add that much to each idle connection of either library. For the same reason both
/// servers wrap the router in their layer (`Layer::layer(&layer, router)`) instead of
/// `Router::layer`: inside the router, axum stores each request's original URI (a slice of that
/// buffer) in the request's extensions, which a session keeps with its handshake request.
pub async fn serve_http1<S, B>(listener: TcpListener, service: S) -> std::io::Result<()>
where
    S: tower_service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors or similar: give the system a moment instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}
