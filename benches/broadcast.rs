//! The cost of one broadcast, `io.emit(event, &data)`, to 10, 1,000 and 100,000 connected
//! sockets, in one process and without a network.
//!
//! The sockets are real sessions of the public tower service ([`SocketIo`]'s stand-alone
//! service), opened as a long-polling client would: a handshake GET, a POST carrying the
//! Socket.IO CONNECT `40`, a GET reading the answer `40{"sid":…}`. Requests go through
//! `tower::ServiceExt::oneshot` with in-memory bodies.
//!
//! Two events are broadcast at each size: `small`, a chat message of about 80 bytes, and
//! `json_4k`, about 4 KB of JSON (an array of small objects) whose serialization alone takes
//! tens of microseconds. Throughput is in elements, one per recipient: its inverse is the time
//! per recipient. The packet is encoded once per broadcast, so the work per recipient is a
//! reference count and a queue push, whatever the payload. So the time per recipient is a
//! fraction of a microsecond, and `json_4k` costs more than `small` by about one encoding (its
//! larger drains also leave colder caches behind): nothing like the number of sockets times the
//! encoding that encoding per recipient would add (tens of milliseconds at 1,000 sockets,
//! seconds at 100,000). With 100,000 sockets their state no longer fits in the CPU caches and
//! the time per recipient grows with memory latency, the same for both events.
//!
//! Each broadcast queues one frame per recipient, and queues are bounded (`queue_size`, 4096 by
//! default; a full queue closes the session). So the measured loop emits at most [`CHUNK`]
//! packets, then, outside the measured time, every session is drained with one polling GET (a
//! GET answers up to 15 packets), and so on: no queue ever holds more than [`CHUNK`] packets and
//! the default bound applies. The fixture checks that every session got every packet.
//!
//! `cargo bench --bench broadcast` runs it in about a minute (much of it opening 100,000
//! sessions and draining them); `cargo bench --bench broadcast -- '/1000$'` runs one size.
//! Under `cargo test` (no `--bench` argument) the 100,000 case is left out and the others run
//! once.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use bytes::Bytes;
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use serde::Serialize;
use tower::ServiceExt;
use tower_socketio::{SocketIo, SocketIoService, SocketRef, service::NotFound};

type Svc = SocketIoService<NotFound>;

/// Broadcasts measured between two drains: a polling GET answers at most 15 packets, so one
/// GET per session empties its queue.
const CHUNK: u64 = 15;

/// The `small` event: a chat message.
#[derive(Serialize)]
struct Tick<'a> {
    room: &'a str,
    text: &'a str,
    seq: u64,
}

/// One item of the `json_4k` event.
#[derive(Serialize)]
struct Item {
    id: u64,
    user: String,
    text: &'static str,
    tags: [&'static str; 2],
    score: f64,
}

/// About 4 KB of JSON.
fn items() -> Vec<Item> {
    let items: Vec<Item> = (0..34)
        .map(|id| Item {
            id,
            user: format!("user-{id}"),
            text: "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
            tags: ["news", "sport"],
            score: id as f64 * 1.5,
        })
        .collect();
    let len = serde_json::to_string(&items).expect("JSON").len();
    assert!((3_800..4_400).contains(&len), "{len} bytes");
    items
}

/// A server and its connected polling sessions.
struct Fixture {
    rt: tokio::runtime::Runtime,
    svc: Svc,
    io: SocketIo,
    /// The polling URI of each session.
    polls: Vec<Uri>,
}

async fn call(svc: &Svc, method: Method, uri: Uri, body: &'static [u8]) -> (StatusCode, Bytes) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::new(Bytes::from_static(body)))
        .expect("a valid request");
    let res = svc.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, body)
}

/// Opens a polling session and connects it to the main namespace; returns its polling URI.
async fn connect(svc: &Svc) -> Uri {
    let (status, open) = call(
        svc,
        Method::GET,
        Uri::from_static("/socket.io/?EIO=4&transport=polling"),
        b"",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let open: serde_json::Value =
        serde_json::from_slice(open.strip_prefix(b"0").expect("an open packet")).expect("JSON");
    let sid = open["sid"].as_str().expect("a sid");
    let uri: Uri = format!("/socket.io/?EIO=4&transport=polling&sid={sid}")
        .parse()
        .expect("a valid URI");
    let (status, ok) = call(svc, Method::POST, uri.clone(), b"40").await;
    assert_eq!((status, &ok[..]), (StatusCode::OK, &b"ok"[..]));
    let (status, answer) = call(svc, Method::GET, uri.clone(), b"").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        answer.starts_with(b"40{\"sid\":"),
        "CONNECT answer: {:?}",
        String::from_utf8_lossy(&answer)
    );
    uri
}

impl Fixture {
    fn new(sockets: usize) -> Fixture {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let (svc, io) = rt.block_on(async {
            SocketIo::builder()
                // No heartbeat or connect timeout during the run: a ping would land in the
                // queues, and a long run would see unanswered pings close the sessions.
                .ping_interval(Duration::from_secs(24 * 3600))
                .ping_timeout(Duration::from_secs(24 * 3600))
                .connect_timeout(Duration::from_secs(24 * 3600))
                .build_svc()
        });
        io.ns("/", |_: SocketRef| {});
        let polls = rt.block_on(async {
            let mut polls = Vec::with_capacity(sockets);
            for _ in 0..sockets {
                polls.push(connect(&svc).await);
            }
            polls
        });
        Fixture { rt, svc, io, polls }
    }

    /// Reads `n` packets from every session, one GET each (`n` ≤ [`CHUNK`]).
    async fn drain(&self, n: u64) {
        for uri in &self.polls {
            let (status, body) = call(&self.svc, Method::GET, uri.clone(), b"").await;
            assert_eq!(status, StatusCode::OK);
            let packets = body.iter().filter(|&&b| b == 0x1e).count() as u64 + 1;
            assert_eq!(packets, n, "a session did not get every broadcast");
        }
    }

    /// Broadcasts `iters` times what `data` makes of each sequence number; returns the time
    /// spent in `emit` only.
    fn run<T: Serialize>(&self, iters: u64, event: &str, data: impl Fn(u64) -> T) -> Duration {
        self.rt.block_on(async {
            let mut measured = Duration::ZERO;
            let mut seq = 0;
            while seq < iters {
                let n = CHUNK.min(iters - seq);
                let start = Instant::now();
                for _ in 0..n {
                    let data = data(seq);
                    self.io
                        .emit(event, black_box(&data))
                        .await
                        .expect("broadcast");
                    seq += 1;
                }
                measured += start.elapsed();
                self.drain(n).await;
            }
            measured
        })
    }
}

fn bench_broadcast(c: &mut Criterion) {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and runs each benchmark
    // once in a debug build: leave the big case out there.
    let benching = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if benching {
        &[10, 1_000, 100_000]
    } else {
        &[10, 1_000]
    };
    let items = items();
    let mut group = c.benchmark_group("broadcast");
    for &sockets in sizes {
        group.throughput(Throughput::Elements(sockets as u64));
        if sockets >= 100_000 {
            // A broadcast takes milliseconds: few, flat samples.
            group.sample_size(10);
            group.sampling_mode(SamplingMode::Flat);
            group.measurement_time(Duration::from_secs(6));
        } else {
            group.sample_size(30);
            group.sampling_mode(SamplingMode::Auto);
            group.measurement_time(Duration::from_secs(3));
        }
        group.warm_up_time(Duration::from_secs(1));
        // Built on first use, so that a filter that skips this size skips its setup too.
        let mut fixture: Option<Fixture> = None;
        group.bench_function(BenchmarkId::new("small", sockets), |b| {
            let fixture = fixture.get_or_insert_with(|| Fixture::new(sockets));
            b.iter_custom(|iters| {
                fixture.run(iters, "tick", |seq| Tick {
                    room: "lobby",
                    text: "the quick brown fox jumps over the lazy dog",
                    seq,
                })
            });
        });
        group.bench_function(BenchmarkId::new("json_4k", sockets), |b| {
            let fixture = fixture.get_or_insert_with(|| Fixture::new(sockets));
            b.iter_custom(|iters| fixture.run(iters, "items", |_| &items));
        });
        if let Some(f) = &fixture {
            // Every session is still open: none was closed by a full queue.
            let engine = f.io.engine().expect("the engine");
            assert_eq!(engine.session_count(), sockets);
        }
    }
    group.finish();
}

criterion_group!(benches, bench_broadcast);
criterion_main!(benches);
