//! The short soak (issue 14): 1,000 raw WebSocket clients for three rounds of 10 s on a real
//! server on 127.0.0.1, joining and leaving rooms, emitting to them, asking for acks, dropping
//! abruptly and reconnecting (the clients of `common/soak.rs`; `benches/soak` runs the same for
//! 10 minutes with 10,000). After each round every client is gone, and the counts the API
//! gives (sessions, sessions without a namespace, sockets, rooms) must all be back to zero.
//! Figures (RSS, open files, what the clients did) are printed, not asserted.

mod common;

use std::{sync::Arc, time::Duration};

use common::soak::{self, Counts, Plan, Tally};
use tokio::time::Instant;
use tower_socketio::SocketIo;

const PLAN: Plan = Plan {
    clients: 1_000,
    rooms: 200,
    every: Duration::from_secs(1),
    round: Duration::from_secs(10),
};
const ROUNDS: usize = 3;
/// How long the server may take to see every client of a round gone.
const DRAIN: Duration = Duration::from_secs(30);

fn proc_status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l[field.len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "?".into())
}

fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_soak_leaves_no_session_socket_or_room_behind() {
    let (svc, io) = SocketIo::builder().build_svc();
    let mut sockets = soak::server(&io);
    let addr = common::serve(svc).await;
    let tally = Arc::new(Tally::default());
    for r in 1..=ROUNDS {
        let end = Instant::now() + PLAN.round;
        let reporter = {
            let io: SocketIo = io.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(5));
                tick.tick().await;
                loop {
                    tick.tick().await;
                    eprintln!(
                        "round {r}: {:?}, RSS {}, {} open files",
                        Counts::of(&io),
                        proc_status("VmRSS:"),
                        open_files()
                    );
                }
            })
        };
        soak::round(addr, PLAN, end, tally.clone()).await;
        reporter.abort();
        // Every socket's disconnect handler has run...
        tokio::time::timeout(DRAIN, sockets.wait_for(|n| *n == 0))
            .await
            .unwrap_or_else(|_| panic!("round {r}: sockets left: {:?}", Counts::of(&io)))
            .unwrap();
        // ... and every session is closed (one dropped before its namespace connected has no
        // handler to await).
        tokio::time::timeout(DRAIN, async {
            while !Counts::of(&io).is_zero() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("round {r}: left behind: {:?}", Counts::of(&io)));
        eprintln!(
            "round {r} over: {:?}, RSS {}, {} open files; {}",
            Counts::of(&io),
            proc_status("VmRSS:"),
            open_files(),
            tally.line()
        );
    }
    let connects = tally.connects.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        connects >= PLAN.clients as u64,
        "the clients connected: {}",
        tally.line()
    );
    assert!(tally.acks.load(std::sync::atomic::Ordering::Relaxed) > 0);
    assert!(tally.received.load(std::sync::atomic::Ordering::Relaxed) > 0);
    assert!(tally.drops.load(std::sync::atomic::Ordering::Relaxed) > 0);
}
