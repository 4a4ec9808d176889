//! The soak (issue 14): many raw Socket.IO clients over WebSocket that join and leave rooms,
//! emit to them, ask for acks, drop abruptly and reconnect, in rounds; after each round every
//! client is gone and the server's counts must come back to zero.
//!
//! Shared by the short soak of the test suite (`tests/soak.rs`, in one process) and the long
//! one (`benches/soak`, the server in a process of its own, measured from `/proc`), which
//! includes this file.
#![allow(dead_code, unreachable_pub)]

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use futures_util::{SinkExt, StreamExt};
use tokio::{sync::watch, time::Instant};
use tokio_tungstenite::{client_async, tungstenite::Message};
use tower_socketio::{SocketIo, SocketRef, extract::Data};

/// The soak's server: `join`, `leave` (acked `true`), `msg` (sent on to the room), `echo`
/// (its arguments as the ack). `sockets` follows the number of connected sockets, updated by
/// the connect and disconnect handlers, so that the end of a round can be awaited.
pub fn server(io: &SocketIo) -> watch::Receiver<usize> {
    let (tx, rx) = watch::channel(0usize);
    let tx = Arc::new(tx);
    io.ns("/", move |socket: SocketRef| {
        tx.send_modify(|n| *n += 1);
        socket.on("join", |socket: SocketRef, Data(room): Data<String>| {
            socket.join(room);
            true
        });
        socket.on("leave", |socket: SocketRef, Data(room): Data<String>| {
            socket.leave(room);
            true
        });
        socket.on(
            "msg",
            |socket: SocketRef, Data((room, text)): Data<(String, String)>| async move {
                socket.to(room).emit("msg", &text).await.ok();
            },
        );
        socket.on("echo", |Data(v): Data<serde_json::Value>| v);
        let tx = tx.clone();
        socket.on_disconnect(move || tx.send_modify(|n| *n -= 1));
    });
    rx
}

/// The counts a report shows, from the server's handle or its `/counts` endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub sessions: usize,
    pub pending: usize,
    pub sockets: usize,
    pub rooms: usize,
}

impl Counts {
    pub fn of(io: &SocketIo) -> Counts {
        Counts {
            sessions: io.session_count(),
            pending: io.pending_session_count(),
            sockets: io.socket_count(),
            rooms: io.room_count_in("/").unwrap_or(0),
        }
    }

    pub fn json(&self) -> String {
        format!(
            r#"{{"sessions":{},"pending":{},"sockets":{},"rooms":{}}}"#,
            self.sessions, self.pending, self.sockets, self.rooms
        )
    }

    pub fn parse(json: &str) -> Option<Counts> {
        let v: serde_json::Value = serde_json::from_str(json).ok()?;
        let n = |k: &str| v[k].as_u64().map(|n| n as usize);
        Some(Counts {
            sessions: n("sessions")?,
            pending: n("pending")?,
            sockets: n("sockets")?,
            rooms: n("rooms")?,
        })
    }

    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }
}

/// What the clients did, in all.
#[derive(Debug, Default)]
pub struct Tally {
    pub connects: AtomicU64,
    pub acks: AtomicU64,
    pub received: AtomicU64,
    pub drops: AtomicU64,
    pub failed: AtomicU64,
}

impl Tally {
    pub fn line(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "connects {} acks {} broadcasts received {} abrupt drops {} failed connects {}",
            g(&self.connects),
            g(&self.acks),
            g(&self.received),
            g(&self.drops),
            g(&self.failed)
        )
    }
}

/// A small xorshift generator: the soak needs variety, not quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The soak's shape.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub clients: usize,
    pub rooms: usize,
    /// The mean time between two actions of a client.
    pub every: Duration,
    pub round: Duration,
}

/// One client until `end`: connects, then acts every `plan.every` or so (join, leave, emit to
/// a room, an ack round trip; about one action in 50 drops the connection abruptly and
/// reconnects), reading what comes and answering pings. At `end` it leaves: one client in two
/// abruptly, the other with an Engine.IO close.
pub async fn client(addr: SocketAddr, id: usize, plan: Plan, end: Instant, tally: Arc<Tally>) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    'session: while Instant::now() < end {
        // From one of 50 loopback addresses, as clients from many hosts.
        let source = SocketAddr::from(([127, 0, 0, 1 + (id % 50) as u8], 0));
        let connecting = async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(source)?;
            socket.connect(addr).await
        };
        let ws = match tokio::time::timeout_at(end, connecting).await {
            Ok(Ok(stream)) => client_async(url.as_str(), stream).await.ok(),
            Ok(Err(_)) => None,
            Err(_) => return,
        };
        let Some((mut ws, _)) = ws else {
            tally.failed.fetch_add(1, Ordering::Relaxed);
            // A client's backoff before it tries again, as the official clients do.
            tokio::time::sleep(Duration::from_millis(100 + rng.below(400))).await;
            continue;
        };
        let mut connected = false;
        let mut ack_id = 0u64;
        let mut next = Instant::now();
        if ws.send(Message::text("40")).await.is_err() {
            continue;
        }
        loop {
            let msg = tokio::select! {
                m = ws.next() => m,
                () = tokio::time::sleep_until(next), if connected => {
                    let jitter = plan.every.as_millis() as u64;
                    next = Instant::now() + Duration::from_millis(jitter / 2 + rng.below(jitter.max(1)));
                    let room = format!("room-{}", rng.below(plan.rooms as u64));
                    ack_id += 1;
                    let text = match rng.below(50) {
                        0 => {
                            // Abruptly gone: the TCP connection dropped, no close of any kind.
                            tally.drops.fetch_add(1, Ordering::Relaxed);
                            drop(ws);
                            continue 'session;
                        }
                        1..=14 => format!(r#"42{ack_id}["join","{room}"]"#),
                        15..=24 => format!(r#"42{ack_id}["leave","{room}"]"#),
                        25..=39 => format!(r#"42["msg","{room}","hello from {id}"]"#),
                        _ => format!(r#"42{ack_id}["echo",{{"n":{ack_id}}}]"#),
                    };
                    if ws.send(Message::text(text)).await.is_err() {
                        continue 'session;
                    }
                    continue;
                }
                () = tokio::time::sleep_until(end) => {
                    if id.is_multiple_of(2) {
                        let _ = ws.send(Message::text("1")).await;
                        let _ = ws.close(None).await;
                    }
                    break 'session;
                }
            };
            let Some(Ok(msg)) = msg else {
                continue 'session;
            };
            let Message::Text(t) = msg else { continue };
            let t = t.as_str();
            if t == "2" {
                if ws.send(Message::text("3")).await.is_err() {
                    continue 'session;
                }
            } else if t.starts_with("40{") {
                connected = true;
                tally.connects.fetch_add(1, Ordering::Relaxed);
            } else if t.starts_with("43") {
                tally.acks.fetch_add(1, Ordering::Relaxed);
            } else if t.starts_with("42") {
                tally.received.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Runs every client until `end`.
pub async fn round(addr: SocketAddr, plan: Plan, end: Instant, tally: Arc<Tally>) {
    let mut tasks = tokio::task::JoinSet::new();
    for id in 0..plan.clients {
        let tally = tally.clone();
        tasks.spawn(client(addr, id, plan, end, tally));
    }
    while tasks.join_next().await.is_some() {}
}
