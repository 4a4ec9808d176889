//! `soak`: the long soak of tower-socketio (issue 14). See README.md beside Cargo.toml.
//!
//! `soak [options]` starts `soak server` (itself) as a child process on 127.0.0.1, then runs
//! rounds of churning clients against it (the clients of `tests/common/soak.rs`, which the
//! short soak of the test suite runs too). Every 10 s it prints the server's counts (from its
//! `/counts` endpoint, which answers with the counts of the `SocketIo` handle), its RSS and
//! open files (from `/proc`), and what the clients did. After each round, once every client is
//! gone, the counts must come back to zero; at the end, the server's RSS after the last round
//! must stay within 10 % (plus 4 MiB) of its RSS after the first round.

#![forbid(unsafe_code)]

#[path = "../../../tests/common/soak.rs"]
mod soak;

use std::{
    net::SocketAddr,
    process::{ExitCode, Stdio},
    sync::Arc,
    time::Duration,
};

use soak::{Counts, Plan, Tally};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    time::Instant,
};

const USAGE: &str = "\
soak: churning Socket.IO clients against a tower-socketio server, in rounds

USAGE
  soak [--clients N (10000)] [--seconds S (600)] [--round S (60)] [--rooms N (1000)]
       [--every-ms MS (1000)] [--report S (10)]
  soak server [--port P (0)]    the server alone: Socket.IO at /socket.io/, GET /counts

Each client, over WebSocket from one of 50 loopback addresses, acts every --every-ms or so:
joins or leaves one of --rooms rooms (acked), emits to a room (the server sends it on to the
room), asks for an ack; one action in 50 drops its connection abruptly and reconnects. At the
end of each round every client leaves (half abruptly) and the counts must return to zero.
";

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a number")),
        None => Ok(default),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let result = if args.first().map(String::as_str) == Some("server") {
        serve(arg(&args, "--port", 0u16).unwrap_or(0)).await
    } else {
        run(&args).await
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The server: the soak's namespace, `/counts`, hyper with a header-read timeout and the
/// peer's address in each request (the default bounds on pending sessions apply per address).
async fn serve(port: u16) -> Result<(), String> {
    use hyper::{body::Incoming, server::conn::http1, service::service_fn};
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let (layer, io) = tower_socketio::SocketIo::builder().build_layer();
    let _sockets = soak::server(&io);
    let handle = io.clone();
    let counts = tower::service_fn(move |req: http::Request<Incoming>| {
        let io = handle.clone();
        async move {
            let (status, body) = if req.uri().path() == "/counts" {
                (http::StatusCode::OK, Counts::of(&io).json())
            } else {
                (http::StatusCode::NOT_FOUND, "not found".to_owned())
            };
            let mut res =
                http::Response::new(tower_socketio::engine::Body::full(bytes::Bytes::from(body)));
            *res.status_mut() = status;
            Ok::<_, std::convert::Infallible>(res)
        }
    });
    let svc = tower::Layer::layer(&layer, counts);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "listening on http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let svc = svc.clone();
        let service = service_fn(move |mut req: http::Request<Incoming>| {
            req.extensions_mut().insert(peer);
            svc.clone().oneshot(req)
        });
        tokio::spawn(async move {
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let _ = conn.await;
        });
    }
}

/// The server's counts, from `/counts`.
async fn counts(addr: SocketAddr) -> Result<Counts, String> {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET /counts HTTP/1.0\r\nHost: soak\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out)
        .await
        .map_err(|e| e.to_string())?;
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("");
    Counts::parse(body).ok_or_else(|| format!("bad /counts answer: {out:?}"))
}

/// The server's RSS in KiB and its open files, from `/proc`.
fn proc_of(pid: u32) -> (u64, usize) {
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    (rss, fds)
}

async fn run(args: &[String]) -> Result<(), String> {
    let clients = arg(args, "--clients", 10_000usize)?;
    let seconds = arg(args, "--seconds", 600u64)?;
    let round = arg(args, "--round", 60u64)?.clamp(1, seconds.max(1));
    let plan = Plan {
        clients,
        rooms: arg(args, "--rooms", 1_000usize)?,
        every: Duration::from_millis(arg(args, "--every-ms", 1_000u64)?),
        round: Duration::from_secs(round),
    };
    let report = Duration::from_secs(arg(args, "--report", 10u64)?.max(1));
    let rounds = (seconds / round).max(1);

    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut server = tokio::process::Command::new(exe)
        .arg("server")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let pid = server.id().ok_or("the server exited")?;
    let mut lines = BufReader::new(server.stdout.take().ok_or("no stdout")?).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .map_err(|_| "the server did not start within 30 s")?
        .map_err(|e| e.to_string())?
        .and_then(|l| l.strip_prefix("listening on http://").map(str::to_owned))
        .ok_or("the server printed no address")?;
    let addr: SocketAddr = url.parse().map_err(|e| format!("{url}: {e}"))?;
    println!(
        "soak: {clients} clients, {rounds} rounds of {round} s, {} rooms, an action every {:?}; server pid {pid} on {addr}",
        plan.rooms, plan.every
    );
    let start = Instant::now();
    let tally = Arc::new(Tally::default());
    let reporter = {
        let tally = tally.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(report);
            tick.tick().await;
            loop {
                tick.tick().await;
                let (rss, fds) = proc_of(pid);
                let c = counts(addr).await.unwrap_or_default();
                println!(
                    "{:>5} s  sessions {:>6} (pending {:>5})  sockets {:>6}  rooms {:>6}  RSS {:>7} KiB  open files {:>6}  | {}",
                    start.elapsed().as_secs(),
                    c.sessions,
                    c.pending,
                    c.sockets,
                    c.rooms,
                    rss,
                    fds,
                    tally.line()
                );
            }
        })
    };
    let mut after = Vec::new();
    let mut failures = Vec::new();
    for r in 1..=rounds {
        let end = Instant::now() + plan.round;
        soak::round(addr, plan, end, tally.clone()).await;
        // The server sees every client gone: poll its counts (a bench, not a test).
        let drained = Instant::now() + Duration::from_secs(60);
        let mut c = counts(addr).await?;
        while !c.is_zero() && Instant::now() < drained {
            tokio::time::sleep(Duration::from_millis(100)).await;
            c = counts(addr).await?;
        }
        let (rss, fds) = proc_of(pid);
        println!(
            "round {r}/{rounds} over at {} s: {} ; server RSS {rss} KiB, {fds} open files",
            start.elapsed().as_secs(),
            if c.is_zero() {
                "counts back to zero".to_owned()
            } else {
                format!("LEFT BEHIND {c:?}")
            }
        );
        if !c.is_zero() {
            failures.push(format!("round {r}: {c:?} left"));
        }
        after.push(rss);
    }
    reporter.abort();
    let (first, last) = (after[0], after[after.len() - 1]);
    let flat = last <= first + first / 10 + 4096;
    println!(
        "RSS after each round (KiB): {after:?}; {}",
        if flat { "flat" } else { "GROWING" }
    );
    println!("{}", tally.line());
    if !flat {
        failures.push(format!("RSS grew from {first} KiB to {last} KiB"));
    }
    let _ = server.kill().await;
    if failures.is_empty() {
        println!("soak passed");
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}
