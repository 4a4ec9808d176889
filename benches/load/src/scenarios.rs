//! The scenarios: `echo`, `broadcast`, `idle`, and `xnode` (a broadcast across a cluster of
//! servers joined by Redis).

use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use crate::broker;
use crate::proto::{
    self, ConnectReport, Proto, Target, Ws, ascii_payload, connect_many, digits, next_msg,
    parse_u64, pong, push_u64, ready_msg, text_of,
};
use crate::sys::{self, CpuUse, CpuWindow};

/// Harness CPU (percent of one core per runtime thread) above which the client side is
/// reported as possibly saturated.
const SATURATED_PCT: f64 = 90.0;
/// Share of a pinned core used by neither the pinned process nor (typically) loopback softirq
/// above which a run is reported as disturbed.
pub const OTHER_LOAD_WARN_PCT: f64 = 25.0;
/// A connection with requests in flight that sees no frame for this long has stalled.
const STALL: Duration = Duration::from_secs(10);

/// Settings shared by every scenario.
#[derive(Debug, Clone)]
pub struct Common {
    /// Where to connect.
    pub target: Target,
    /// The server's pid, for its CPU time and RSS.
    pub server_pid: Option<u32>,
    /// Warm-up before the measured window.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// Connection attempts in flight while connecting.
    pub concurrency: usize,
    /// Runtime worker threads (1 = current-thread runtime).
    pub threads: usize,
}

/// `echo` settings.
#[derive(Debug, Clone)]
pub struct EchoCfg {
    /// Connections.
    pub clients: usize,
    /// Emits-with-ack in flight per connection.
    pub inflight: usize,
    /// Payload bytes (ASCII).
    pub payload: usize,
}

/// `broadcast` settings.
#[derive(Debug, Clone)]
pub struct BcastCfg {
    /// Receiving connections (the sender is one more).
    pub receivers: usize,
    /// Payload bytes (ASCII, timestamp included).
    pub payload: usize,
    /// Broadcasts outstanding; `None` = [`DEFAULT_WINDOW`].
    pub window: Option<u64>,
    /// Send anyway after this long without any delivery.
    pub stall: Duration,
}

/// `idle` settings.
#[derive(Debug, Clone)]
pub struct IdleCfg {
    /// Connections.
    pub clients: usize,
    /// Wait after the last connection before reading the server's RSS.
    pub settle: Duration,
}

fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

fn deadline_for(n: usize) -> Duration {
    Duration::from_secs(30) + Duration::from_millis(2 * n as u64)
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Common JSON fields: CPU of both sides over the window, per operation.
fn cpu_fields(out: &mut Value, cpu: &CpuUse, ops: u64, threads: usize) {
    let per_op = |s: f64| {
        if ops > 0 {
            Value::from(round3(s * 1e6 / ops as f64))
        } else {
            Value::Null
        }
    };
    out["harness_cpu_pct"] = round1(cpu.harness_pct()).into();
    out["harness_cpu_us_per_op"] = per_op(cpu.harness_s);
    out["server_cpu_pct"] = cpu.server_pct().map(round1).into();
    out["server_cpu_us_per_op"] = cpu.server_s.map(per_op).unwrap_or(Value::Null);
    out["client_saturated"] = (cpu.harness_pct() >= SATURATED_PCT * threads as f64).into();
    out["cpus_busy_pct"] = cpu.cpus_busy_pct.clone().into();
    out["other_load_pct"] = cpu.other_load_pct.into();
}

fn lat_fields(out: &mut Value, h: &Histogram<u64>) {
    let q = |p: f64| {
        if h.is_empty() {
            Value::Null
        } else {
            Value::from(h.value_at_quantile(p))
        }
    };
    out["p50_us"] = q(0.5);
    out["p99_us"] = q(0.99);
    out["p999_us"] = q(0.999);
    out["max_us"] = if h.is_empty() {
        Value::Null
    } else {
        h.max().into()
    };
    out["mean_us"] = round1(h.mean()).into();
}

fn connect_fields(out: &mut Value, rep: &ConnectReport) {
    out["connected"] = rep.ok.into();
    out["connect_failed"] = rep.failed.into();
    out["connect_errors"] = rep.errors.clone().into();
}

fn push_err(errs: &Mutex<Vec<String>>, e: String) {
    let mut v = errs.lock().unwrap();
    if v.len() < 5 && !v.contains(&e) {
        v.push(e);
    }
}

/// Answers pings until `go` turns true.
async fn wait_go(ws: &mut Ws, go: &mut watch::Receiver<bool>) -> Result<(), String> {
    loop {
        tokio::select! {
            r = async { go.wait_for(|v| *v).await.map(|_| ()) } => {
                return r.map_err(|_| "driver gone".to_string());
            }
            m = ws.next() => match m {
                None => return Err("connection closed".into()),
                Some(Err(e)) => return Err(format!("websocket: {e}")),
                Some(Ok(m)) => {
                    if text_of(&m)? == Some("2") {
                        ws.send(pong()).await.map_err(|e| format!("send: {e}"))?;
                    }
                }
            }
        }
    }
}

async fn feed(ws: &mut Ws, m: Message) -> Result<(), String> {
    ws.feed(m).await.map_err(|e| format!("send: {e}"))
}

async fn flush(ws: &mut Ws) -> Result<(), String> {
    ws.flush().await.map_err(|e| format!("send: {e}"))
}

// ---------------------------------------------------------------------------------------------
// echo

struct EchoShared {
    acks: AtomicU64,
    bad: AtomicU64,
    lost: AtomicU64,
    measuring: AtomicBool,
    stop: AtomicBool,
    hist: Mutex<Histogram<u64>>,
    errors: Mutex<Vec<String>>,
}

fn echo_frame(proto: Proto, id: u64, payload: &str) -> Message {
    let mut s = String::with_capacity(payload.len() + 40);
    match proto {
        Proto::Sio => {
            s.push_str("42");
            push_u64(&mut s, id);
            s.push_str("[\"echo\",\"");
            s.push_str(payload);
            s.push_str("\"]");
        }
        Proto::Raw => {
            s.push('e');
            push_u64(&mut s, id);
            s.push(':');
            s.push_str(payload);
        }
    }
    Message::Text(s.into())
}

/// The id of an ack frame and its expected length, or `None` if it is not an ack.
fn parse_ack(proto: Proto, t: &str, payload: usize) -> Option<(u64, usize)> {
    let (rest, overhead) = match proto {
        // 43<id>["<payload>"]
        Proto::Sio => (t.strip_prefix("43")?, 6),
        // e<id>:<payload>
        Proto::Raw => (t.strip_prefix('e')?, 2),
    };
    let id = parse_u64(rest.as_bytes())?;
    Some((id, payload + overhead + digits(id)))
}

async fn echo_conn(
    mut ws: Ws,
    proto: Proto,
    payload: Arc<str>,
    inflight: usize,
    sh: Arc<EchoShared>,
    mut go: watch::Receiver<bool>,
) {
    let r = async {
        wait_go(&mut ws, &mut go).await?;
        echo_loop(&mut ws, proto, &payload, inflight, &sh).await
    }
    .await;
    if let Err(e) = r
        && !sh.stop.load(Relaxed)
    {
        sh.lost.fetch_add(1, Relaxed);
        push_err(&sh.errors, e);
    }
}

async fn echo_loop(
    ws: &mut Ws,
    proto: Proto,
    payload: &str,
    inflight: usize,
    sh: &EchoShared,
) -> Result<(), String> {
    // (id, sent at) of the requests in flight; W is small, a linear search is the cheapest.
    let mut slots: Vec<(u64, Instant)> = Vec::with_capacity(inflight);
    let mut next_id: u64 = 0;
    for _ in 0..inflight {
        slots.push((next_id, Instant::now()));
        feed(ws, echo_frame(proto, next_id, payload)).await?;
        next_id += 1;
    }
    flush(ws).await?;
    loop {
        let first = next_msg(ws, STALL).await?;
        let mut pending = Some(Ok(first));
        // Handle every frame already received, then write all the replies with one flush.
        while let Some(r) = pending.take() {
            let msg = r?;
            if let Some(t) = text_of(&msg)? {
                if t == "2" {
                    feed(ws, pong()).await?;
                } else if let Some((id, want_len)) = parse_ack(proto, t, payload.len()) {
                    let now = Instant::now();
                    match slots.iter().position(|s| s.0 == id) {
                        Some(pos) => {
                            let (_, sent) = slots.swap_remove(pos);
                            if t.len() != want_len {
                                sh.bad.fetch_add(1, Relaxed);
                            }
                            sh.acks.fetch_add(1, Relaxed);
                            if sh.measuring.load(Relaxed) {
                                let us = now.duration_since(sent).as_micros() as u64;
                                sh.hist.lock().unwrap().saturating_record(us.max(1));
                            }
                            if sh.stop.load(Relaxed) {
                                return Ok(());
                            }
                            slots.push((next_id, Instant::now()));
                            feed(ws, echo_frame(proto, next_id, payload)).await?;
                            next_id += 1;
                        }
                        None => {
                            sh.bad.fetch_add(1, Relaxed);
                        }
                    }
                } else {
                    sh.bad.fetch_add(1, Relaxed);
                }
            }
            pending = ready_msg(ws);
        }
        flush(ws).await?;
        if sh.stop.load(Relaxed) {
            return Ok(());
        }
    }
}

/// Runs `echo`: C connections each keeping W emits-with-ack in flight.
pub async fn echo(c: &Common, e: &EchoCfg) -> Result<Value, String> {
    sys::check_fds(e.clients)?;
    let mut t = c.target.clone();
    t.read_buf = (e.payload + 512).next_power_of_two().max(4096);
    let sh = Arc::new(EchoShared {
        acks: AtomicU64::new(0),
        bad: AtomicU64::new(0),
        lost: AtomicU64::new(0),
        measuring: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        hist: Mutex::new(new_hist()),
        errors: Mutex::new(Vec::new()),
    });
    let payload: Arc<str> = ascii_payload(e.payload).into();
    let (go_tx, go_rx) = watch::channel(false);
    let mut set = JoinSet::new();
    let rep = connect_many(
        &t,
        e.clients,
        c.concurrency,
        deadline_for(e.clients),
        |_, ws| {
            set.spawn(echo_conn(
                ws,
                t.proto,
                payload.clone(),
                e.inflight.max(1),
                sh.clone(),
                go_rx.clone(),
            ));
        },
    )
    .await;
    if rep.ok == 0 {
        return Err(format!("no connection could be opened: {:?}", rep.errors));
    }
    let _ = go_tx.send(true);
    tokio::time::sleep(c.warmup).await;
    sh.measuring.store(true, Relaxed);
    let acks0 = sh.acks.load(Relaxed);
    let cpu = CpuWindow::start(c.server_pid);
    tokio::time::sleep(c.duration).await;
    let acks1 = sh.acks.load(Relaxed);
    let cpu = cpu.end();
    sh.measuring.store(false, Relaxed);
    sh.stop.store(true, Relaxed);
    if tokio::time::timeout(Duration::from_secs(5), async {
        while set.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        set.shutdown().await;
    }
    let acks = acks1 - acks0;
    let hist = sh.hist.lock().unwrap();
    let mut out = json!({
        "scenario": "echo",
        "proto": t.proto.name(),
        "url": t.url,
        "clients": e.clients,
        "inflight": e.inflight,
        "payload": e.payload,
        "threads": c.threads,
        "warmup_s": c.warmup.as_secs_f64(),
        "duration_s": round3(cpu.wall_s),
        "acks": acks,
        "acks_per_s": round1(acks as f64 / cpu.wall_s),
        "bad_frames": sh.bad.load(Relaxed),
        "lost_connections": sh.lost.load(Relaxed),
        "errors": sh.errors.lock().unwrap().clone(),
    });
    connect_fields(&mut out, &rep);
    lat_fields(&mut out, &hist);
    cpu_fields(&mut out, &cpu, acks, c.threads);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// broadcast

struct BcastShared {
    origin: Instant,
    delivered: AtomicU64,
    alive: AtomicU64,
    wake_at: AtomicU64,
    notify: Notify,
    sent: AtomicU64,
    stalls: AtomicU64,
    bad: AtomicU64,
    lost: AtomicU64,
    measuring: AtomicBool,
    stop: AtomicBool,
    /// Per group of receivers (one group per server): deliveries and send-to-receive latency.
    groups: Vec<BcastGroup>,
    errors: Mutex<Vec<String>>,
}

/// The receivers of one server.
struct BcastGroup {
    delivered: AtomicU64,
    hist: Mutex<Histogram<u64>>,
}

/// Default number of broadcasts outstanding, the same at every receiver count: the server
/// always has the next broadcasts queued (it is saturated), each socket has at most this many
/// messages waiting (queues cannot run away), and the chance to coalesce writes is the same for
/// 100 and for 10,000 receivers, so the curve over C shows the cost of the fan-out and not a
/// change of policy.
pub const DEFAULT_WINDOW: u64 = 8;

fn bcast_frame(proto: Proto, ts_ns: u64, seq: u64, payload: usize) -> Message {
    let mut body = String::with_capacity(payload + 32);
    push_u64(&mut body, ts_ns);
    body.push(':');
    push_u64(&mut body, seq);
    body.push(':');
    let pad = payload.saturating_sub(body.len());
    body.extend((0..pad).map(|i| (b'a' + (i % 26) as u8) as char));
    let s = match proto {
        Proto::Sio => {
            let mut s = String::with_capacity(body.len() + 20);
            s.push_str("42[\"broadcast\",\"");
            s.push_str(&body);
            s.push_str("\"]");
            s
        }
        Proto::Raw => {
            let mut s = String::with_capacity(body.len() + 1);
            s.push('b');
            s.push_str(&body);
            s
        }
    };
    Message::Text(s.into())
}

/// The send timestamp (ns since origin) of a delivery, or `None` if it is not one.
fn parse_delivery(proto: Proto, t: &str) -> Option<u64> {
    let rest = match proto {
        Proto::Sio => t.strip_prefix("42[\"bcast\",\"")?,
        Proto::Raw => t.strip_prefix('b')?,
    };
    parse_u64(rest.as_bytes())
}

async fn receiver(mut ws: Ws, proto: Proto, sh: Arc<BcastShared>, group: usize) {
    let g = &sh.groups[group];
    let r: Result<(), String> = async {
        loop {
            let first = match ws.next().await {
                None => return Err("connection closed".to_string()),
                Some(Err(e)) => return Err(format!("websocket: {e}")),
                Some(Ok(m)) => m,
            };
            let mut pending = Some(Ok(first));
            let mut reply = false;
            while let Some(r) = pending.take() {
                let msg = r?;
                if let Some(t) = text_of(&msg)? {
                    if t == "2" {
                        feed(&mut ws, pong()).await?;
                        reply = true;
                    } else if let Some(ts) = parse_delivery(proto, t) {
                        if sh.measuring.load(Relaxed) {
                            let now = sh.origin.elapsed().as_nanos() as u64;
                            let us = now.saturating_sub(ts) / 1000;
                            g.hist.lock().unwrap().saturating_record(us.max(1));
                        }
                        g.delivered.fetch_add(1, Relaxed);
                        let n = sh.delivered.fetch_add(1, Relaxed) + 1;
                        if n >= sh.wake_at.load(Relaxed) {
                            sh.wake_at.store(u64::MAX, Relaxed);
                            sh.notify.notify_one();
                        }
                    } else {
                        sh.bad.fetch_add(1, Relaxed);
                    }
                }
                pending = ready_msg(&mut ws);
            }
            if reply {
                flush(&mut ws).await?;
            }
        }
    }
    .await;
    sh.alive.fetch_sub(1, Relaxed);
    if let Err(e) = r
        && !sh.stop.load(Relaxed)
    {
        sh.lost.fetch_add(1, Relaxed);
        push_err(&sh.errors, e);
    }
}

/// The sender: keeps at most `window` broadcasts outstanding, where broadcast k counts as
/// complete once the receivers together have received (k + 1) × (live receivers) deliveries.
/// Summing over all receivers instead of watching one probe receiver makes the pace follow the
/// slowest part of the fan-out, whatever order the server writes the sockets in.
async fn sender(
    mut ws: Ws,
    proto: Proto,
    payload: usize,
    window: u64,
    stall: Duration,
    sh: Arc<BcastShared>,
) -> Result<(), String> {
    let mut sent: u64 = 0;
    let mut last_delivered = 0;
    let mut last_progress = Instant::now();
    let tick = stall.min(Duration::from_millis(100));
    loop {
        if sh.stop.load(Relaxed) {
            return Ok(());
        }
        let alive = sh.alive.load(Relaxed).max(1);
        let delivered = sh.delivered.load(Relaxed);
        if delivered != last_delivered {
            last_delivered = delivered;
            last_progress = Instant::now();
        }
        let done = delivered / alive;
        if sent < done + window {
            while sent < done + window {
                let ts = sh.origin.elapsed().as_nanos() as u64;
                feed(&mut ws, bcast_frame(proto, ts, sent, payload)).await?;
                sent += 1;
            }
            flush(&mut ws).await?;
            sh.sent.store(sent, Relaxed);
            continue;
        }
        // Wake when broadcast `sent - window` is complete.
        let target = (sent + 1 - window) * alive;
        sh.wake_at.store(target, Relaxed);
        if sh.delivered.load(Relaxed) >= target {
            continue;
        }
        tokio::select! {
            _ = sh.notify.notified() => {}
            m = ws.next() => match m {
                None => return Err("sender connection closed".into()),
                Some(Err(e)) => return Err(format!("sender websocket: {e}")),
                Some(Ok(m)) => {
                    if text_of(&m)? == Some("2") {
                        ws.send(pong()).await.map_err(|e| format!("send: {e}"))?;
                    }
                }
            },
            _ = tokio::time::sleep(tick) => {
                if last_progress.elapsed() >= stall {
                    // Nothing arrived for a while (lost deliveries, dead receivers, or a server
                    // without a `broadcast` handler): send one anyway and count it.
                    sh.stalls.fetch_add(1, Relaxed);
                    last_progress = Instant::now();
                    let ts = sh.origin.elapsed().as_nanos() as u64;
                    feed(&mut ws, bcast_frame(proto, ts, sent, payload)).await?;
                    flush(&mut ws).await?;
                    sent += 1;
                    sh.sent.store(sent, Relaxed);
                }
            }
        }
    }
}

/// Runs `broadcast`: C receivers and one sender.
pub async fn broadcast(c: &Common, b: &BcastCfg) -> Result<Value, String> {
    fan_out(c, b, &[], None).await
}

/// `xnode` settings: a broadcast across a cluster of servers joined by one Redis.
#[derive(Debug, Clone)]
pub struct XnodeCfg {
    /// Receivers (split evenly over the servers), payload, window, stall.
    pub bcast: BcastCfg,
    /// The cluster's other servers (the sender's server is [`Common::target`]).
    pub others: Vec<Target>,
    /// Their pids, and then the broker's, for the server side's CPU.
    pub other_pids: Vec<u32>,
    /// The broker, to count the commands it serves per broadcast (`INFO commandstats`).
    pub redis: Option<SocketAddrV4>,
}

/// Runs `xnode`: the receivers split over [`Common::target`] and [`XnodeCfg::others`], one
/// sender on the first server; every broadcast reaches the other servers through Redis.
pub async fn xnode(c: &Common, x: &XnodeCfg) -> Result<Value, String> {
    let mut out = fan_out(c, &x.bcast, &x.others, Some(x)).await?;
    out["scenario"] = "xnode".into();
    Ok(out)
}

/// Receivers per target: `n` split as evenly as possible, the first targets taking the rest.
fn split(n: usize, parts: usize) -> Vec<usize> {
    (0..parts)
        .map(|k| n / parts + usize::from(k < n % parts))
        .collect()
}

/// The broadcast method over one or more servers: the receivers split over `c.target` and
/// `others`, the sender on `c.target`.
async fn fan_out(
    c: &Common,
    b: &BcastCfg,
    others: &[Target],
    x: Option<&XnodeCfg>,
) -> Result<Value, String> {
    sys::check_fds(b.receivers + 1)?;
    let read_buf = (b.payload + 512).next_power_of_two().max(4096);
    let mut targets = vec![c.target.clone()];
    targets.extend(others.iter().cloned());
    for t in &mut targets {
        t.read_buf = read_buf;
    }
    let t = targets[0].clone();
    let window = b.window.unwrap_or(DEFAULT_WINDOW).max(1);
    let sh = Arc::new(BcastShared {
        origin: Instant::now(),
        delivered: AtomicU64::new(0),
        alive: AtomicU64::new(0),
        wake_at: AtomicU64::new(u64::MAX),
        notify: Notify::new(),
        sent: AtomicU64::new(0),
        stalls: AtomicU64::new(0),
        bad: AtomicU64::new(0),
        lost: AtomicU64::new(0),
        measuring: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        groups: targets
            .iter()
            .map(|_| BcastGroup {
                delivered: AtomicU64::new(0),
                hist: Mutex::new(new_hist()),
            })
            .collect(),
        errors: Mutex::new(Vec::new()),
    });
    let mut set = JoinSet::new();
    let shares = split(b.receivers, targets.len());
    let mut rep = ConnectReport::default();
    for (g, (tg, &n)) in targets.iter().zip(&shares).enumerate() {
        let r = connect_many(tg, n, c.concurrency, deadline_for(n), |_, ws| {
            sh.alive.fetch_add(1, Relaxed);
            set.spawn(receiver(ws, tg.proto, sh.clone(), g));
        })
        .await;
        rep.ok += r.ok;
        rep.failed += r.failed;
        rep.elapsed += r.elapsed;
        for e in r.errors {
            if rep.errors.len() < 5 && !rep.errors.contains(&e) {
                rep.errors.push(e);
            }
        }
    }
    if rep.ok == 0 {
        return Err(format!("no receiver could connect: {:?}", rep.errors));
    }
    // The sender uses the next source slot after the receivers.
    let src = t.source_ip(b.receivers)?;
    let sws = proto::connect(&t, src)
        .await
        .map_err(|e| format!("sender: {e}"))?;
    let sender_task = tokio::spawn(sender(sws, t.proto, b.payload, window, b.stall, sh.clone()));
    tokio::time::sleep(c.warmup).await;
    let mut pids: Vec<u32> = c.server_pid.into_iter().collect();
    if let Some(x) = x {
        pids.extend(&x.other_pids);
    }
    let redis = x.and_then(|x| x.redis);
    let calls0 = match redis {
        Some(a) => Some(broker::calls(a).await?),
        None => None,
    };
    sh.measuring.store(true, Relaxed);
    let d0 = sh.delivered.load(Relaxed);
    let g0: Vec<u64> = sh
        .groups
        .iter()
        .map(|g| g.delivered.load(Relaxed))
        .collect();
    let s0 = sh.sent.load(Relaxed);
    let st0 = sh.stalls.load(Relaxed);
    let cpu = CpuWindow::start_all(&pids);
    tokio::time::sleep(c.duration).await;
    let d1 = sh.delivered.load(Relaxed);
    let g1: Vec<u64> = sh
        .groups
        .iter()
        .map(|g| g.delivered.load(Relaxed))
        .collect();
    let s1 = sh.sent.load(Relaxed);
    let cpu = cpu.end();
    sh.measuring.store(false, Relaxed);
    let calls1 = match redis {
        Some(a) => Some(broker::calls(a).await?),
        None => None,
    };
    sh.stop.store(true, Relaxed);
    let sender_res = match tokio::time::timeout(Duration::from_secs(5), sender_task).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(format!("sender task: {e}")),
        Err(_) => Err("sender did not stop".into()),
    };
    set.shutdown().await;
    if let Err(e) = sender_res {
        push_err(&sh.errors, e);
    }
    let deliveries = d1 - d0;
    let broadcasts = s1 - s0;
    let mut hist = new_hist();
    for g in &sh.groups {
        let _ = hist.add(&*g.hist.lock().unwrap());
    }
    let mut out = json!({
        "scenario": "broadcast",
        "proto": t.proto.name(),
        "url": t.url,
        "clients": b.receivers,
        "payload": b.payload,
        "window": window,
        "threads": c.threads,
        "warmup_s": c.warmup.as_secs_f64(),
        "duration_s": round3(cpu.wall_s),
        "deliveries": deliveries,
        "deliveries_per_s": round1(deliveries as f64 / cpu.wall_s),
        "broadcasts_per_s": round1(broadcasts as f64 / cpu.wall_s),
        "stalls": sh.stalls.load(Relaxed) - st0,
        "bad_frames": sh.bad.load(Relaxed),
        "lost_connections": sh.lost.load(Relaxed),
        "errors": sh.errors.lock().unwrap().clone(),
    });
    connect_fields(&mut out, &rep);
    lat_fields(&mut out, &hist);
    cpu_fields(&mut out, &cpu, deliveries, c.threads);
    if x.is_some() {
        // Per server: its receivers, their deliveries/s and latency (server 1 is the sender's:
        // its receivers are served locally, the others' through Redis).
        let per: Vec<Value> = sh
            .groups
            .iter()
            .enumerate()
            .map(|(k, g)| {
                let h = g.hist.lock().unwrap();
                let mut v = json!({
                    "url": targets[k].url,
                    "receivers": shares[k],
                    "deliveries_per_s": round1((g1[k] - g0[k]) as f64 / cpu.wall_s),
                });
                lat_fields(&mut v, &h);
                v
            })
            .collect();
        let q = |k: usize, f: &str| per.get(k).map(|v| v[f].clone()).unwrap_or(Value::Null);
        out["servers"] = targets.len().into();
        out["per_server"] = per.clone().into();
        // The headline split: receivers on the sender's server, and on the others (server 2
        // when there are two).
        out["local_p50_us"] = q(0, "p50_us");
        out["local_p99_us"] = q(0, "p99_us");
        out["remote_p50_us"] = q(1, "p50_us");
        out["remote_p99_us"] = q(1, "p99_us");
        out["server_side_cpu_s"] = cpu
            .per_pid_s
            .iter()
            .map(|v| v.map(round3))
            .collect::<Vec<_>>()
            .into();
        // The broker is the last pid of the server side.
        if redis.is_some() && pids.len() > targets.len() {
            out["redis_cpu_pct"] = cpu
                .per_pid_s
                .last()
                .copied()
                .flatten()
                .map(|s| round1(100.0 * s / cpu.wall_s))
                .into();
        }
        if let (Some(a), Some(b)) = (calls0, calls1) {
            let diff = |name: &str| {
                b.get(name)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(a.get(name).copied().unwrap_or(0))
            };
            // The harness's own INFO call between the two readings is left out.
            let all: u64 = b
                .keys()
                .filter(|k| k.as_str() != "info")
                .map(|k| diff(k))
                .sum();
            let publish = diff("publish") + diff("spublish");
            let per_b = |n: u64| {
                if broadcasts > 0 {
                    Value::from(round3(n as f64 / broadcasts as f64))
                } else {
                    Value::Null
                }
            };
            out["redis_publish"] = publish.into();
            out["redis_commands"] = all.into();
            out["publish_per_broadcast"] = per_b(publish);
            out["redis_commands_per_broadcast"] = per_b(all);
            let by_cmd: Map<String, Value> = b
                .keys()
                .filter(|k| k.as_str() != "info" && diff(k) > 0)
                .map(|k| (k.clone(), diff(k).into()))
                .collect();
            out["redis_calls_by_command"] = Value::Object(by_cmd);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// idle

async fn keeper(mut ws: Ws, alive: Arc<AtomicU64>) {
    while let Some(Ok(m)) = ws.next().await {
        match text_of(&m) {
            Ok(Some("2")) => {
                if ws.send(pong()).await.is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    alive.fetch_sub(1, Relaxed);
}

/// Runs `idle`: opens C connections as fast as possible, then holds them.
pub async fn idle(c: &Common, i: &IdleCfg) -> Result<Value, String> {
    sys::check_fds(i.clients)?;
    if let Some(pid) = c.server_pid
        && let Some(lim) = sys::nofile_of(pid)
        && (i.clients as u64) + 32 > lim
    {
        eprintln!(
            "warning: the server's open-file limit is {lim}: it cannot hold {} connections",
            i.clients
        );
    }
    let t = c.target.clone();
    let rss0 = c.server_pid.map(|p| sys::vm_rss_kib(Some(p))).transpose()?;
    let self_rss0 = sys::vm_rss_kib(None).unwrap_or(0);
    let alive = Arc::new(AtomicU64::new(0));
    let mut set = JoinSet::new();
    let cpu = CpuWindow::start(c.server_pid);
    let rep = connect_many(
        &t,
        i.clients,
        c.concurrency,
        deadline_for(i.clients),
        |_, ws| {
            alive.fetch_add(1, Relaxed);
            set.spawn(keeper(ws, alive.clone()));
        },
    )
    .await;
    let connect_cpu = cpu.end();
    let settle = CpuWindow::start(c.server_pid);
    tokio::time::sleep(i.settle).await;
    let settle_cpu = settle.end();
    let rss1 = c.server_pid.map(|p| sys::vm_rss_kib(Some(p))).transpose()?;
    let self_rss1 = sys::vm_rss_kib(None).unwrap_or(0);
    let still = alive.load(Relaxed);
    set.shutdown().await;
    let n = rep.ok.max(1) as f64;
    let secs = rep.elapsed.as_secs_f64().max(1e-9);
    let mut out = json!({
        "scenario": "idle",
        "proto": t.proto.name(),
        "url": t.url,
        "clients": i.clients,
        "threads": c.threads,
        "connect_s": round3(secs),
        "connect_per_s": round1(rep.ok as f64 / secs),
        "settle_s": i.settle.as_secs_f64(),
        "alive_after_settle": still,
        "server_rss_before_kib": rss0,
        "server_rss_after_kib": rss1,
        "server_kib_per_conn": match (rss0, rss1) {
            (Some(a), Some(b)) => Value::from(round3((b as f64 - a as f64) / n)),
            _ => Value::Null,
        },
        "harness_kib_per_conn": round3((self_rss1 as f64 - self_rss0 as f64) / n),
        "harness_cpu_pct": round1(connect_cpu.harness_pct()),
        "server_cpu_pct": connect_cpu.server_pct().map(round1),
        "server_cpu_us_per_conn": connect_cpu.server_s.map(|s| round1(s * 1e6 / n)),
        "harness_cpu_us_per_conn": round1(connect_cpu.harness_s * 1e6 / n),
        "server_idle_cpu_pct": settle_cpu.server_pct().map(round3),
        "client_saturated": connect_cpu.harness_pct() >= SATURATED_PCT * c.threads as f64,
        "cpus_busy_pct": connect_cpu.cpus_busy_pct,
        "other_load_pct": connect_cpu.other_load_pct,
    });
    connect_fields(&mut out, &rep);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// reporting

fn num(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}

/// Formats a count per second: 1234567 -> "1.23M".
pub fn si(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 1e3 {
        format!("{:.2}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "-".into())
}

/// One human line for a result.
pub fn human(r: &Value) -> String {
    let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    let us = |k: &str| opt(num(r, k), |v| format!("{v:.0}µs"));
    let pct = |k: &str| opt(num(r, k), |v| format!("{v:.0}%"));
    let per = |k: &str| opt(num(r, k), |v| format!("{v:.2}"));
    let mut line = match s("scenario").as_str() {
        "echo" => format!(
            "echo {} C={} W={} P={}: {} acks/s, latency p50 {} p99 {} p99.9 {}; CPU harness {} \
             server {} ({} server CPU-µs/ack)",
            s("proto"),
            r["clients"],
            r["inflight"],
            r["payload"],
            opt(num(r, "acks_per_s"), si),
            us("p50_us"),
            us("p99_us"),
            us("p999_us"),
            pct("harness_cpu_pct"),
            pct("server_cpu_pct"),
            per("server_cpu_us_per_op"),
        ),
        "broadcast" => format!(
            "broadcast {} C={} window={} P={}: {} deliveries/s ({} broadcasts/s), latency p50 {} \
             p99 {}; CPU harness {} server {} ({} server CPU-µs/delivery), stalls {}",
            s("proto"),
            r["clients"],
            r["window"],
            r["payload"],
            opt(num(r, "deliveries_per_s"), si),
            opt(num(r, "broadcasts_per_s"), |v| format!("{v:.0}")),
            us("p50_us"),
            us("p99_us"),
            pct("harness_cpu_pct"),
            pct("server_cpu_pct"),
            per("server_cpu_us_per_op"),
            r["stalls"],
        ),
        "xnode" => format!(
            "xnode {} servers={} C={} window={} P={}: {} deliveries/s ({} broadcasts/s), latency \
             p50 {} p99 {} (sender's server p50 {} p99 {}, other server p50 {} p99 {}); CPU \
             harness {} server side {} (Redis {}; {} server CPU-µs/delivery); PUBLISH per \
             broadcast {}, Redis commands per broadcast {}; stalls {}",
            s("proto"),
            r["servers"],
            r["clients"],
            r["window"],
            r["payload"],
            opt(num(r, "deliveries_per_s"), si),
            opt(num(r, "broadcasts_per_s"), |v| format!("{v:.0}")),
            us("p50_us"),
            us("p99_us"),
            us("local_p50_us"),
            us("local_p99_us"),
            us("remote_p50_us"),
            us("remote_p99_us"),
            pct("harness_cpu_pct"),
            pct("server_cpu_pct"),
            pct("redis_cpu_pct"),
            per("server_cpu_us_per_op"),
            opt(num(r, "publish_per_broadcast"), |v| format!("{v:.3}")),
            opt(num(r, "redis_commands_per_broadcast"), |v| format!(
                "{v:.3}"
            )),
            r["stalls"],
        ),
        "idle" => format!(
            "idle {} C={}: {} connected in {}s ({} conn/s); server RSS {} KiB/conn, {} \
             server CPU-µs/conn; harness CPU {} while connecting; {} alive after settle",
            s("proto"),
            r["clients"],
            r["connected"],
            opt(num(r, "connect_s"), |v| format!("{v:.2}")),
            opt(num(r, "connect_per_s"), si),
            per("server_kib_per_conn"),
            per("server_cpu_us_per_conn"),
            pct("harness_cpu_pct"),
            r["alive_after_settle"],
        ),
        other => format!("{other}: {r}"),
    };
    if num(r, "connect_failed").unwrap_or(0.0) > 0.0 {
        line.push_str(&format!(
            "; {} connects FAILED: {}",
            r["connect_failed"], r["connect_errors"]
        ));
    }
    if num(r, "lost_connections").unwrap_or(0.0) > 0.0 || num(r, "bad_frames").unwrap_or(0.0) > 0.0
    {
        line.push_str(&format!(
            "; lost {} connections, {} unexpected frames {}",
            r["lost_connections"], r["bad_frames"], r["errors"]
        ));
    }
    if let Some(c) = r.get("cpus_busy_pct").and_then(Value::as_array) {
        let v: Vec<String> = c
            .iter()
            .filter_map(Value::as_f64)
            .map(|v| format!("{v:.0}%"))
            .collect();
        line.push_str(&format!("; cores busy {}", v.join("/")));
    }
    if num(r, "other_load_pct").unwrap_or(0.0) > OTHER_LOAD_WARN_PCT {
        line.push_str(&format!(
            "; WARNING: {}% of a pinned core went to something else (other processes?): \
             the run was disturbed",
            r["other_load_pct"]
        ));
    }
    if r.get("client_saturated").and_then(Value::as_bool) == Some(true) {
        line.push_str(
            "; WARNING: harness CPU near its limit, the client side may be the bottleneck",
        );
    }
    line
}
