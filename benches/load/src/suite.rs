//! `loadgen suite`: every scenario against every server, R rounds in rotating order, medians,
//! ratios, Markdown + JSON + SVG.

use std::collections::BTreeMap;
use std::fs;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::args::Args;
use crate::proto::{Proto, Target};
use crate::scenarios::{self, BcastCfg, Common, EchoCfg, IdleCfg, XnodeCfg, human, si};
use crate::{broker, svg, sys};

/// The four servers, in report order.
const SERVERS: &[&str] = &["ours", "socketioxide", "node", "raw"];
/// Every scenario; `xnode` (two servers of a kind joined by one Redis) runs only when asked.
const SCENARIOS: &[&str] = &["echo", "broadcast", "idle", "xnode"];
/// The scenarios of a run without `--scenarios`.
const DEFAULT_SCENARIOS: &[&str] = &["echo", "broadcast", "idle"];
/// Servers of one kind in the cross-node scenario.
const XNODE_SERVERS: usize = 2;

/// Suite settings.
#[derive(Debug, Clone)]
pub struct Cfg {
    /// CPU for loadgen itself (set by main before the runtime starts).
    pub client_cpu: Option<usize>,
    server_cpu: Option<usize>,
    rounds: usize,
    quick: bool,
    servers: Vec<String>,
    scenarios: Vec<String>,
    servers_dir: PathBuf,
    out: PathBuf,
    warmup: Duration,
    duration: Duration,
    echo_clients: usize,
    inflight: usize,
    echo_payloads: Vec<usize>,
    bcast_clients: Vec<usize>,
    bcast_payload: usize,
    idle_clients: Vec<usize>,
    xnode_clients: Vec<usize>,
    settle: Duration,
    server_args: Vec<String>,
    concurrency: usize,
    threads: usize,
    argv: Vec<String>,
}

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(prog))
            .find(|f| f.is_file())
    })
}

impl Cfg {
    /// Reads the suite flags.
    pub fn from_args(a: &Args, threads: usize) -> Result<Self, String> {
        let quick = a.flag("quick");
        let benches = here()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("benches"));
        let no_pin = a.flag("no-pin");
        let (server_cpu, client_cpu) = if no_pin {
            (None, None)
        } else if sys::online_cpus() < 2 {
            eprintln!("loadgen: fewer than 2 CPUs: server and harness are not pinned");
            (None, None)
        } else {
            (
                Some(a.num("server-cpu", 0usize)?),
                Some(a.num("client-cpu", 1usize)?),
            )
        };
        if server_cpu.is_some() && which("taskset").is_none() {
            return Err(
                "taskset not found (it is in util-linux: `apt-get install util-linux`), \
                        or run with --no-pin"
                    .into(),
            );
        }
        let mut server_args = Vec::new();
        for k in ["ping-interval-ms", "ping-timeout-ms"] {
            if let Some(v) = a.opt::<u64>(k)? {
                server_args.push(format!("--{k}"));
                server_args.push(v.to_string());
            }
        }
        let all = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cfg = Cfg {
            client_cpu,
            server_cpu,
            rounds: a.num("rounds", if quick { 1 } else { 3 })?.max(1),
            quick,
            servers: a.list("servers", all(SERVERS))?,
            scenarios: a.list("scenarios", all(DEFAULT_SCENARIOS))?,
            servers_dir: a
                .str("servers-dir")
                .map(PathBuf::from)
                .unwrap_or_else(|| benches.join("servers")),
            out: a
                .str("out")
                .map(PathBuf::from)
                .unwrap_or_else(|| benches.join("results")),
            warmup: a.secs("warmup", if quick { 0.5 } else { 2.0 })?,
            duration: a
                .secs("duration", if quick { 2.0 } else { 10.0 })?
                .max(Duration::from_millis(100)),
            echo_clients: a.num("echo-clients", if quick { 50 } else { 100 })?,
            inflight: a.num("inflight", 8)?,
            echo_payloads: a.list("echo-payloads", vec![64, 4096])?,
            bcast_clients: a.list(
                "bcast-clients",
                if quick {
                    vec![100, 1000]
                } else {
                    vec![100, 1000, 5000, 10_000]
                },
            )?,
            bcast_payload: a.num("bcast-payload", 64)?,
            idle_clients: a.list("idle-clients", vec![if quick { 1000 } else { 10_000 }])?,
            xnode_clients: a.list("xnode-clients", vec![1000])?,
            settle: a.secs("settle", if quick { 1.0 } else { 3.0 })?,
            server_args,
            concurrency: a.num("concurrency", 256usize)?.max(1),
            threads,
            argv: std::env::args().skip(1).collect(),
        };
        for s in &cfg.servers {
            if !SERVERS.contains(&s.as_str()) {
                return Err(format!(
                    "unknown server {s:?}: expected some of {SERVERS:?}"
                ));
            }
        }
        for s in &cfg.scenarios {
            if !SCENARIOS.contains(&s.as_str()) {
                return Err(format!(
                    "unknown scenario {s:?}: expected some of {SCENARIOS:?}"
                ));
            }
        }
        let xnode = cfg.scenarios.iter().any(|s| s == "xnode");
        if xnode && which("redis-server").is_none() {
            return Err("the xnode scenario needs redis-server on PATH \
                        (`apt-get install redis-server`)"
                .into());
        }
        let biggest = cfg
            .bcast_clients
            .iter()
            .map(|c| c + 1)
            .chain(cfg.idle_clients.iter().copied())
            .chain(
                cfg.xnode_clients
                    .iter()
                    .filter(|_| xnode)
                    .map(|c| c + 1 + XNODE_SERVERS * 4),
            )
            .max()
            .unwrap_or(0);
        // Checked up front so a long run does not fail half-way.
        sys::check_fds(biggest)?;
        Ok(cfg)
    }
}

/// How to start one server.
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    proto: Proto,
    argv: Vec<String>,
}

fn spec(name: &str, dir: &Path) -> Result<Spec, String> {
    let bin = |b: &str| {
        let p = dir.join("target/release").join(b);
        if p.is_file() {
            Ok(vec![p.display().to_string()])
        } else {
            Err(format!(
                "{} not built (cargo build --release --manifest-path {}/Cargo.toml)",
                p.display(),
                dir.display()
            ))
        }
    };
    let (proto, argv) = match name {
        "ours" => (Proto::Sio, bin("bench-ours")?),
        "socketioxide" => (Proto::Sio, bin("bench-socketioxide")?),
        "raw" => (Proto::Raw, bin("bench-raw")?),
        "node" => {
            let script = dir.join("node/server.mjs");
            let node = which("node").ok_or("node is not on PATH")?;
            if !script.is_file() {
                return Err(format!("{} is missing", script.display()));
            }
            if !dir.join("node/node_modules").is_dir() {
                return Err(format!(
                    "{}/node/node_modules is missing (npm ci --prefix {}/node)",
                    dir.display(),
                    dir.display()
                ));
            }
            (
                Proto::Sio,
                vec![node.display().to_string(), script.display().to_string()],
            )
        }
        other => return Err(format!("unknown server {other}")),
    };
    Ok(Spec {
        name: name.to_string(),
        proto,
        argv,
    })
}

/// A running server process.
struct Server {
    child: Child,
    pid: u32,
    port: u16,
}

fn log_tail(path: &Path) -> String {
    let s = fs::read_to_string(path).unwrap_or_default();
    let start = s.len().saturating_sub(600);
    let start = (start..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len());
    s[start..].trim().to_string()
}

impl Server {
    async fn start(
        spec: &Spec,
        cpu: Option<usize>,
        extra: &[String],
        log: &Path,
    ) -> Result<Server, String> {
        let mut argv: Vec<String> = Vec::new();
        if let Some(c) = cpu {
            argv.extend(["taskset".into(), "-c".into(), c.to_string()]);
        }
        argv.extend(spec.argv.iter().cloned());
        argv.extend(["--port".into(), "0".into()]);
        argv.extend(extra.iter().cloned());
        let logf = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(logf))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("spawn {argv:?}: {e}"))?;
        let pid = child.id().ok_or("server exited at once")?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut lines = BufReader::new(stdout).lines();
        let wait = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                match lines.next_line().await {
                    Ok(Some(l)) => {
                        if let Some(p) = l.trim().strip_prefix("LISTENING ") {
                            return p
                                .trim()
                                .parse::<u16>()
                                .map_err(|_| format!("bad line {l:?}"));
                        }
                    }
                    Ok(None) => return Err("exited before printing LISTENING".to_string()),
                    Err(e) => return Err(format!("reading its stdout: {e}")),
                }
            }
        })
        .await;
        let port = match wait {
            Ok(Ok(p)) => p,
            other => {
                let why = match other {
                    Ok(Err(e)) => e,
                    _ => "no LISTENING line within 30 s".to_string(),
                };
                let mut s = Server {
                    child,
                    pid,
                    port: 0,
                };
                s.stop().await;
                return Err(format!(
                    "{} {why}; log {}: {}",
                    spec.name,
                    log.display(),
                    log_tail(log)
                ));
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server { child, pid, port })
    }

    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(st)) => Some(st.to_string()),
            _ => None,
        }
    }

    /// SIGTERM, then SIGKILL after 3 s.
    async fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        sys::sigterm(self.pid);
        if tokio::time::timeout(Duration::from_secs(3), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Scn {
    Echo(usize),
    Bcast(usize),
    Idle(usize),
    /// A broadcast to C receivers split over two servers of a kind joined by one Redis.
    Xnode(usize),
}

impl Scn {
    fn key(self) -> String {
        match self {
            Scn::Echo(p) => format!("echo-p{p}"),
            Scn::Bcast(c) => format!("broadcast-c{c}"),
            Scn::Idle(c) => format!("idle-c{c}"),
            Scn::Xnode(c) => format!("xnode-c{c}"),
        }
    }
    fn kind(self) -> &'static str {
        match self {
            Scn::Echo(_) => "echo",
            Scn::Bcast(_) => "broadcast",
            Scn::Idle(_) => "idle",
            Scn::Xnode(_) => "xnode",
        }
    }
    /// Whether a server takes part: raw WebSocket has no cluster.
    fn runs_on(self, spec: &Spec) -> bool {
        !matches!(self, Scn::Xnode(_)) || spec.proto == Proto::Sio
    }
}

async fn run_one(
    cfg: &Cfg,
    spec: &Spec,
    scn: Scn,
    round: usize,
    idx: usize,
) -> Result<Value, String> {
    if let Scn::Xnode(c) = scn {
        return run_xnode(cfg, spec, c, round, idx).await;
    }
    let log = cfg
        .out
        .join("logs")
        .join(format!("{}-{}-r{}.log", spec.name, scn.key(), round + 1));
    let mut srv = Server::start(spec, cfg.server_cpu, &cfg.server_args, &log).await?;
    let mut target = Target::new(&spec.proto.default_url(srv.port), spec.proto)?;
    // A different loopback source address for each run, so that the TIME_WAIT sockets of the
    // previous runs never eat into this run's ephemeral ports.
    target.source_base = 1 + (idx % 200) as u8;
    let common = Common {
        target,
        server_pid: Some(srv.pid),
        warmup: cfg.warmup,
        duration: cfg.duration,
        concurrency: cfg.concurrency,
        threads: cfg.threads,
    };
    let res = match scn {
        Scn::Echo(p) => {
            let e = EchoCfg {
                clients: cfg.echo_clients,
                inflight: cfg.inflight,
                payload: p,
            };
            scenarios::echo(&common, &e).await
        }
        Scn::Bcast(c) => {
            let b = BcastCfg {
                receivers: c,
                payload: cfg.bcast_payload,
                window: None,
                stall: Duration::from_millis(1000),
            };
            scenarios::broadcast(&common, &b).await
        }
        Scn::Idle(c) => {
            let i = IdleCfg {
                clients: c,
                settle: cfg.settle,
            };
            scenarios::idle(&common, &i).await
        }
        Scn::Xnode(_) => unreachable!("run by run_xnode"),
    };
    let died = srv.exited();
    srv.stop().await;
    if let Some(st) = died {
        return Err(format!(
            "server exited during the run ({st}); log {}: {}",
            log.display(),
            log_tail(&log)
        ));
    }
    res
}

/// A free loopback port (bound, read, released: the broker binds it right after).
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// Starts `redis-server` on a free loopback port, without persistence, pinned like the
/// servers; ready once it answers PING (within 10 s).
async fn start_redis(cpu: Option<usize>, log: &Path) -> Result<(Server, SocketAddrV4), String> {
    let port = free_port()?;
    let mut argv: Vec<String> = Vec::new();
    if let Some(c) = cpu {
        argv.extend(["taskset".into(), "-c".into(), c.to_string()]);
    }
    argv.push("redis-server".into());
    for a in ["--port", &port.to_string(), "--bind", "127.0.0.1"] {
        argv.push(a.into());
    }
    for a in ["--save", "", "--appendonly", "no"] {
        argv.push(a.into());
    }
    let out = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("spawn {argv:?}: {e}"))?;
    let pid = child.id().ok_or("redis-server exited at once")?;
    let mut srv = Server { child, pid, port };
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(st) = srv.exited() {
            return Err(format!(
                "redis-server exited ({st}); log {}: {}",
                log.display(),
                log_tail(log)
            ));
        }
        if broker::command(addr, &["PING"]).await.as_deref() == Ok("PONG") {
            return Ok((srv, addr));
        }
        if Instant::now() >= deadline {
            srv.stop().await;
            return Err(format!(
                "redis-server did not answer PING within 10 s; log {}: {}",
                log.display(),
                log_tail(log)
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One cross-node run: a fresh Redis and two fresh servers of one kind joined through it, the
/// receivers split between the two, the sender on the first; everything stopped by pid after.
async fn run_xnode(
    cfg: &Cfg,
    spec: &Spec,
    clients: usize,
    round: usize,
    idx: usize,
) -> Result<Value, String> {
    let base = format!("{}-xnode-c{clients}-r{}", spec.name, round + 1);
    let logs = cfg.out.join("logs");
    let redis_log = logs.join(format!("{base}-redis.log"));
    let (mut redis, addr) = start_redis(cfg.server_cpu, &redis_log).await?;
    let mut extra = cfg.server_args.clone();
    extra.extend(["--redis".into(), format!("redis://{addr}/")]);
    let mut servers: Vec<(Server, PathBuf)> = Vec::new();
    let mut failed = None;
    for k in 0..XNODE_SERVERS {
        let log = logs.join(format!("{base}-{}.log", k + 1));
        match Server::start(spec, cfg.server_cpu, &extra, &log).await {
            Ok(s) => servers.push((s, log)),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let res = match failed {
        Some(e) => Err(e),
        None => {
            let mut targets = Vec::new();
            for (s, _) in &servers {
                let mut t = Target::new(&spec.proto.default_url(s.port), spec.proto)?;
                t.source_base = 1 + (idx % 200) as u8;
                targets.push(t);
            }
            let first = targets.remove(0);
            let mut other_pids: Vec<u32> = servers[1..].iter().map(|(s, _)| s.pid).collect();
            other_pids.push(redis.pid);
            let common = Common {
                target: first,
                server_pid: Some(servers[0].0.pid),
                warmup: cfg.warmup,
                duration: cfg.duration,
                concurrency: cfg.concurrency,
                threads: cfg.threads,
            };
            let x = XnodeCfg {
                bcast: BcastCfg {
                    receivers: clients,
                    payload: cfg.bcast_payload,
                    window: None,
                    stall: Duration::from_millis(1000),
                },
                others: targets,
                other_pids,
                redis: Some(addr),
            };
            scenarios::xnode(&common, &x).await
        }
    };
    let mut died = Vec::new();
    for (s, log) in &mut servers {
        if let Some(st) = s.exited() {
            died.push(format!(
                "a server exited during the run ({st}); log {}: {}",
                log.display(),
                log_tail(log)
            ));
        }
    }
    if let Some(st) = redis.exited() {
        died.push(format!(
            "redis-server exited during the run ({st}); log {}: {}",
            redis_log.display(),
            log_tail(&redis_log)
        ));
    }
    for (s, _) in &mut servers {
        s.stop().await;
    }
    redis.stop().await;
    if !died.is_empty() {
        return Err(died.join("; "));
    }
    res
}

/// Runs the suite.
pub async fn run(cfg: Cfg) -> Result<(), String> {
    let mut servers = Vec::new();
    let mut skipped = Vec::new();
    for name in &cfg.servers {
        match spec(name, &cfg.servers_dir) {
            Ok(s) => servers.push(s),
            Err(e) => {
                eprintln!("loadgen: skipping {name}: {e}");
                skipped.push(json!({"server": name, "reason": e}));
            }
        }
    }
    if servers.is_empty() {
        return Err("no server available (see the messages above)".into());
    }
    fs::create_dir_all(cfg.out.join("logs")).map_err(|e| format!("{}: {e}", cfg.out.display()))?;

    let mut scns = Vec::new();
    for s in &cfg.scenarios {
        match s.as_str() {
            "echo" => scns.extend(cfg.echo_payloads.iter().map(|&p| Scn::Echo(p))),
            "broadcast" => scns.extend(cfg.bcast_clients.iter().map(|&c| Scn::Bcast(c))),
            "xnode" => scns.extend(cfg.xnode_clients.iter().map(|&c| Scn::Xnode(c))),
            _ => scns.extend(cfg.idle_clients.iter().map(|&c| Scn::Idle(c))),
        }
    }
    let total: usize = scns
        .iter()
        .map(|scn| cfg.rounds * servers.iter().filter(|s| scn.runs_on(s)).count())
        .sum();
    let started = Instant::now();
    let meta = meta(&cfg, &servers, &skipped);
    let mut runs: Vec<Value> = Vec::new();
    let mut idx = 0;
    for &scn in &scns {
        let taking: Vec<&Spec> = servers.iter().filter(|s| scn.runs_on(s)).collect();
        for round in 0..cfg.rounds {
            // Rotate the order every round so no server always runs first (or last).
            for k in 0..taking.len() {
                let s = taking[(k + round) % taking.len()];
                idx += 1;
                eprintln!(
                    "[{idx}/{total} {:.0}s] {} round {} on {}",
                    started.elapsed().as_secs_f64(),
                    scn.key(),
                    round + 1,
                    s.name
                );
                let r = run_one(&cfg, s, scn, round, idx).await;
                let entry = match r {
                    Ok(v) => {
                        eprintln!("    {}", human(&v));
                        json!({"scenario": scn.key(), "kind": scn.kind(), "server": s.name,
                               "round": round + 1, "ok": true, "result": v})
                    }
                    Err(e) => {
                        eprintln!("    FAILED: {e}");
                        json!({"scenario": scn.key(), "kind": scn.kind(), "server": s.name,
                               "round": round + 1, "ok": false, "error": e})
                    }
                };
                runs.push(entry);
                // Let the kernel finish tearing down the previous run's sockets.
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        write_outputs(&cfg, &meta, &servers, &scns, &runs, started)?;
    }
    eprintln!(
        "loadgen: suite done in {:.0} s: {}, {}, {}",
        started.elapsed().as_secs_f64(),
        cfg.out.join("results.md").display(),
        cfg.out.join("results.json").display(),
        cfg.out.join("broadcast.svg").display()
    );
    Ok(())
}

fn cmd_line(prog: &str, args: &[&str]) -> Option<String> {
    std::process::Command::new(prog)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn meta(cfg: &Cfg, servers: &[Spec], skipped: &[Value]) -> Value {
    let cpu_model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default();
    let repo = here()
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf);
    let git = repo.and_then(|r| {
        cmd_line(
            "git",
            &[
                "-C",
                &r.display().to_string(),
                "rev-parse",
                "--short",
                "HEAD",
            ],
        )
    });
    json!({
        "date_utc": utc_now(),
        "command": format!("loadgen {}", cfg.argv.join(" ")),
        "quick": cfg.quick,
        "rounds": cfg.rounds,
        "warmup_s": cfg.warmup.as_secs_f64(),
        "duration_s": cfg.duration.as_secs_f64(),
        "server_cpu": cfg.server_cpu,
        "client_cpu": cfg.client_cpu,
        "harness_threads": cfg.threads,
        "online_cpus": sys::online_cpus(),
        "cpu_model": cpu_model,
        "kernel": fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "open_file_limit": sys::nofile(),
        "git_head": git,
        "node_version": cmd_line("node", &["--version"]),
        "servers": servers.iter().map(|s| json!({"name": s.name, "proto": s.proto.name(), "argv": s.argv})).collect::<Vec<_>>(),
        "skipped": skipped,
        "server_args": cfg.server_args,
    })
}

fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Per scenario, per server: the median of every numeric field over the successful rounds.
fn summarize(runs: &[Value]) -> BTreeMap<String, BTreeMap<String, Map<String, Value>>> {
    let mut grouped: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
    let mut failures: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in runs {
        let key = (
            r["scenario"].as_str().unwrap_or("").to_string(),
            r["server"].as_str().unwrap_or("").to_string(),
        );
        if r["ok"].as_bool() == Some(true) {
            grouped.entry(key).or_default().push(&r["result"]);
        } else {
            *failures.entry(key).or_default() += 1;
        }
    }
    let mut out: BTreeMap<String, BTreeMap<String, Map<String, Value>>> = BTreeMap::new();
    for ((scn, server), results) in &grouped {
        let mut m = Map::new();
        m.insert("rounds_ok".into(), results.len().into());
        let keys: Vec<String> = results[0]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        for k in keys {
            let vals: Vec<f64> = results.iter().filter_map(|r| r[&k].as_f64()).collect();
            if vals.is_empty() || results[0][&k].is_boolean() {
                continue;
            }
            if let Some(md) = median(vals) {
                m.insert(k.clone(), json!((md * 1000.0).round() / 1000.0));
            }
        }
        let saturated = results
            .iter()
            .filter(|r| r["client_saturated"].as_bool() == Some(true))
            .count();
        m.insert("rounds_client_saturated".into(), saturated.into());
        out.entry(scn.clone())
            .or_default()
            .insert(server.clone(), m);
    }
    for ((scn, server), n) in failures {
        let e = out
            .entry(scn)
            .or_default()
            .entry(server)
            .or_insert_with(|| {
                let mut m = Map::new();
                m.insert("rounds_ok".into(), 0.into());
                m
            });
        e.insert("rounds_failed".into(), n.into());
    }
    out
}

/// (column title, field, show ratios against raw and socketioxide)
fn columns(kind: &str) -> Vec<(&'static str, &'static str, bool)> {
    match kind {
        "echo" => vec![
            ("acks/s", "acks_per_s", true),
            ("p50 µs", "p50_us", false),
            ("p99 µs", "p99_us", false),
            ("p99.9 µs", "p999_us", false),
            ("server CPU %", "server_cpu_pct", false),
            ("server CPU-µs/ack", "server_cpu_us_per_op", true),
            ("harness CPU %", "harness_cpu_pct", false),
            ("other load %", "other_load_pct", false),
        ],
        "broadcast" => vec![
            ("deliveries/s", "deliveries_per_s", true),
            ("p50 µs", "p50_us", false),
            ("p99 µs", "p99_us", false),
            ("server CPU %", "server_cpu_pct", false),
            ("server CPU-µs/delivery", "server_cpu_us_per_op", true),
            ("harness CPU %", "harness_cpu_pct", false),
            ("other load %", "other_load_pct", false),
        ],
        "xnode" => vec![
            ("deliveries/s", "deliveries_per_s", true),
            ("p50 µs", "p50_us", false),
            ("p99 µs", "p99_us", false),
            ("other server's p50 µs", "remote_p50_us", false),
            ("other server's p99 µs", "remote_p99_us", false),
            ("server side CPU %", "server_cpu_pct", false),
            ("of which Redis %", "redis_cpu_pct", false),
            ("server side CPU-µs/delivery", "server_cpu_us_per_op", true),
            ("PUBLISH/broadcast", "publish_per_broadcast", false),
            (
                "Redis commands/broadcast",
                "redis_commands_per_broadcast",
                false,
            ),
            ("harness CPU %", "harness_cpu_pct", false),
            ("other load %", "other_load_pct", false),
        ],
        _ => vec![
            ("conn/s", "connect_per_s", true),
            ("server KiB/conn", "server_kib_per_conn", true),
            ("server CPU-µs/conn", "server_cpu_us_per_conn", true),
            ("harness CPU %", "harness_cpu_pct", false),
            ("alive after settle", "alive_after_settle", false),
            ("other load %", "other_load_pct", false),
        ],
    }
}

fn fmt_val(field: &str, v: f64) -> String {
    if field.ends_with("_per_s") {
        si(v)
    } else if field.ends_with("_pct")
        || field.ends_with("_us")
        || field == "alive_after_settle"
        || v.abs() >= 100.0
    {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
        _ => None,
    }
}

fn markdown(
    meta: &Value,
    servers: &[Spec],
    scns: &[Scn],
    summary: &BTreeMap<String, BTreeMap<String, Map<String, Value>>>,
) -> String {
    let mut md = String::new();
    md.push_str("# End-to-end load results\n\n");
    md.push_str(&format!(
        "{} · `{}` · {} round(s), median shown · {} s warm-up + {} s window · servers on CPU {}, \
         harness on CPU {} ({} thread) · {} ({} CPUs) · kernel {} · git {}\n\n",
        meta["date_utc"].as_str().unwrap_or(""),
        meta["command"].as_str().unwrap_or(""),
        meta["rounds"],
        meta["warmup_s"],
        meta["duration_s"],
        meta["server_cpu"],
        meta["client_cpu"],
        meta["harness_threads"],
        meta["cpu_model"].as_str().unwrap_or(""),
        meta["online_cpus"],
        meta["kernel"].as_str().unwrap_or(""),
        meta["git_head"].as_str().unwrap_or("?"),
    ));
    md.push_str(
        "Ratios: the server's median divided by raw's (÷ raw) or socketioxide's (÷ sx). For \
         rates higher is better; for CPU-µs per operation and KiB per connection lower is \
         better. A ⚠ on harness CPU marks 90 % or more of its core: there the client side may be \
         what limits the rate. \"other load %\" is the largest share of a pinned core (server's \
         or harness's) that its own process did not use: loopback TCP's softirq work accounts \
         for 5-15 %; a ⚠ (over 25 %) means other processes disturbed the run.\n\n",
    );
    if let Some(sk) = meta["skipped"].as_array().filter(|a| !a.is_empty()) {
        for s in sk {
            md.push_str(&format!(
                "Skipped {}: {}\n\n",
                s["server"].as_str().unwrap_or("?"),
                s["reason"].as_str().unwrap_or("?")
            ));
        }
    }
    let has = |name: &str| servers.iter().any(|s| s.name == name);
    for &scn in scns {
        let key = scn.key();
        let Some(rows) = summary.get(&key) else {
            continue;
        };
        let title = match scn {
            Scn::Echo(p) => format!("echo, payload {p} B"),
            Scn::Bcast(c) => format!("broadcast, {c} receivers"),
            Scn::Idle(c) => format!("idle, {c} connections"),
            Scn::Xnode(c) => format!(
                "cross-node broadcast, {c} receivers over {XNODE_SERVERS} servers of a kind and \
                 one Redis"
            ),
        };
        md.push_str(&format!("## {title}\n\n"));
        // The same receiver count's single-node broadcast, when this run measured it.
        let single = match scn {
            Scn::Xnode(c) => summary.get(&Scn::Bcast(c).key()),
            _ => None,
        };
        if let Scn::Xnode(_) = scn {
            md.push_str(
                "Both servers and Redis share the server CPU; the sender is on the first \
                 server, half of the receivers on each. \"other server\" is the latency of the \
                 receivers reached through Redis; ÷ 1-node divides by the same server's \
                 single-node broadcast to as many receivers in this run. PUBLISH and Redis \
                 commands per broadcast come from `INFO commandstats` over the window.\n\n",
            );
        }
        let raw_col = has("raw") && !matches!(scn, Scn::Xnode(_));
        let cols = columns(scn.kind());
        let mut head = vec!["server".to_string()];
        for (t, f, r) in &cols {
            head.push(t.to_string());
            if *r && raw_col {
                head.push("÷ raw".into());
            }
            if *r && has("socketioxide") {
                head.push("÷ sx".into());
            }
            if *f == "deliveries_per_s" && single.is_some() {
                head.push("÷ 1-node".into());
            }
        }
        head.push("rounds ok".into());
        md.push_str(&format!("| {} |\n", head.join(" | ")));
        md.push_str(&format!("|{}\n", " --- |".repeat(head.len())));
        let get = |srv: &str, f: &str| rows.get(srv).and_then(|m| m.get(f)).and_then(Value::as_f64);
        for s in servers {
            let Some(m) = rows.get(&s.name) else {
                continue;
            };
            let mut cells = vec![s.name.clone()];
            for (_, f, r) in &cols {
                let v = get(&s.name, f);
                let mut cell = v.map(|v| fmt_val(f, v)).unwrap_or_else(|| "-".into());
                if *f == "harness_cpu_pct" && v.unwrap_or(0.0) >= 90.0 {
                    cell.push_str(" ⚠");
                }
                if *f == "other_load_pct" && v.unwrap_or(0.0) > scenarios::OTHER_LOAD_WARN_PCT {
                    cell.push_str(" ⚠");
                }
                cells.push(cell);
                let fr = |x: Option<f64>| x.map(|x| format!("{x:.2}×")).unwrap_or("-".into());
                if *r && raw_col {
                    cells.push(fr(ratio(v, get("raw", f))));
                }
                if *r && has("socketioxide") {
                    cells.push(fr(ratio(v, get("socketioxide", f))));
                }
                if *f == "deliveries_per_s"
                    && let Some(single) = single
                {
                    let one = single
                        .get(&s.name)
                        .and_then(|m| m.get(*f))
                        .and_then(Value::as_f64);
                    cells.push(fr(ratio(v, one)));
                }
            }
            let ok = m.get("rounds_ok").and_then(Value::as_u64).unwrap_or(0);
            let failed = m.get("rounds_failed").and_then(Value::as_u64).unwrap_or(0);
            cells.push(if failed > 0 {
                format!("{ok} ({failed} failed)")
            } else {
                ok.to_string()
            });
            md.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        md.push('\n');
    }
    if scns.iter().any(|s| matches!(s, Scn::Bcast(_))) {
        md.push_str("![broadcast deliveries per second](broadcast.svg)\n\n");
    }
    md.push_str(
        "Method: each run starts a fresh server (`taskset -c <server-cpu>`), waits for its \
         `LISTENING <port>` line, runs the scenario from this process (pinned to the harness \
         CPU), then stops the server (SIGTERM, SIGKILL after 3 s). CPU figures are utime + stime \
         from /proc/<pid>/stat over the measured window, in percent of one core; RSS is VmRSS \
         from /proc/<pid>/status. Every round of every run is in results.json.\n",
    );
    md
}

fn write_outputs(
    cfg: &Cfg,
    meta: &Value,
    servers: &[Spec],
    scns: &[Scn],
    runs: &[Value],
    started: Instant,
) -> Result<(), String> {
    let summary = summarize(runs);
    // Ratios of the headline figures, also in the JSON.
    let mut ratios = Map::new();
    for (scn, rows) in &summary {
        let kind = scn.split('-').next().unwrap_or("");
        let mut per_server = Map::new();
        for (srv, m) in rows {
            let mut r = Map::new();
            for (_, f, show) in columns(kind) {
                if !show {
                    continue;
                }
                let v = m.get(f).and_then(Value::as_f64);
                for base in ["raw", "socketioxide"] {
                    let b = rows
                        .get(base)
                        .and_then(|m| m.get(f))
                        .and_then(Value::as_f64);
                    if let Some(x) = ratio(v, b) {
                        r.insert(
                            format!("{f}_vs_{base}"),
                            json!((x * 1000.0).round() / 1000.0),
                        );
                    }
                }
            }
            if kind == "xnode" {
                let single = summary
                    .get(&scn.replacen("xnode", "broadcast", 1))
                    .and_then(|rows| rows.get(srv))
                    .and_then(|m| m.get("deliveries_per_s"))
                    .and_then(Value::as_f64);
                let v = m.get("deliveries_per_s").and_then(Value::as_f64);
                if let Some(x) = ratio(v, single) {
                    r.insert(
                        "deliveries_per_s_vs_single_node".into(),
                        json!((x * 1000.0).round() / 1000.0),
                    );
                }
            }
            per_server.insert(srv.clone(), Value::Object(r));
        }
        ratios.insert(scn.clone(), Value::Object(per_server));
    }
    let mut meta = meta.clone();
    meta["elapsed_s"] = json!(started.elapsed().as_secs());
    let doc = json!({
        "meta": meta,
        "summary": summary,
        "ratios": ratios,
        "runs": runs,
    });
    let w = |name: &str, body: String| {
        let p = cfg.out.join(name);
        fs::write(&p, body).map_err(|e| format!("{}: {e}", p.display()))
    };
    w(
        "results.json",
        serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())? + "\n",
    )?;
    w("results.md", markdown(&meta, servers, scns, &summary))?;
    // Broadcast plot: deliveries/s against receivers, one line per server.
    let mut series = Vec::new();
    for s in servers {
        let mut pts = Vec::new();
        for &scn in scns {
            if let Scn::Bcast(c) = scn {
                let v = summary
                    .get(&scn.key())
                    .and_then(|rows| rows.get(&s.name))
                    .and_then(|m| m.get("deliveries_per_s"))
                    .and_then(Value::as_f64);
                if let Some(v) = v {
                    pts.push((c as f64, v));
                }
            }
        }
        if !pts.is_empty() {
            series.push((s.name.clone(), pts));
        }
    }
    if !series.is_empty() {
        w(
            "broadcast.svg",
            svg::line_plot(
                "Broadcast: deliveries per second vs receiving clients",
                "receiving clients (log scale)",
                "deliveries / s (median)",
                &series,
            ),
        )?;
    }
    Ok(())
}
