//! The server's metrics as an operator scrapes them: the Prometheus recorder (installed once for
//! this test binary, before the server is built), `/metrics` answered beside the Socket.IO layer
//! as in the axum example, scraped over HTTP while official JS clients connect, emit and leave.

mod common;

use std::{collections::HashMap, net::SocketAddr, sync::OnceLock};

use common::ops::{self, Seen};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .expect("the first recorder of this test binary")
        })
        .clone()
}

/// The samples of a scrape: `name{labels}` (labels as rendered) to value.
struct Scrape(HashMap<String, f64>);

impl Scrape {
    async fn get(addr: SocketAddr) -> Scrape {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).await.unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let samples = body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                Some((name.to_owned(), value.parse().ok()?))
            })
            .collect();
        Scrape(samples)
    }

    /// The sum of the samples named `name` whose labels include every one of `labels`; 0 when
    /// there is none (a counter never incremented).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|(key, _)| {
                let (n, rest) = key.split_once('{').unwrap_or((key, ""));
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
            })
            .map(|(_, v)| *v)
            .sum()
    }
}

#[tokio::test]
async fn an_operator_scrapes_what_clients_did() {
    let handle = prometheus();
    let render = handle.clone();
    let (addr, _io, mut seen) =
        ops::start(Some(std::sync::Arc::new(move || render.render()))).await;
    let before = Scrape::get(addr).await;
    let delta = |now: &Scrape, name: &str, labels: &[(&str, &str)]| {
        now.value(name, labels) - before.value(name, labels)
    };

    // Two sockets that upgrade, one on polling (over which a connection to `/guarded` is
    // refused by the middleware), and one that floods its queue and is disconnected for it.
    let mut client =
        ops::Client::spawn(addr, &["--upgrade", "2", "--polling", "1", "--flood", "1"]);
    let connected = client.line().await;
    assert_eq!(ops::strings(&connected["connected"]).len(), 3);
    // The flooder's disconnect and the async panic, in either order.
    let (mut flooded, mut panicked) = (false, false);
    while !(flooded && panicked) {
        match seen.recv().await.unwrap() {
            Seen::Disconnect(..) => flooded = true,
            Seen::AsyncPanicked => panicked = true,
        }
    }

    let ns = [("namespace", "/")];
    let (polling, websocket) = ([("transport", "polling")], [("transport", "websocket")]);
    let now = Scrape::get(addr).await;
    assert_eq!(now.value("socketio_sessions", &websocket), 2.0);
    assert_eq!(now.value("socketio_sessions", &polling), 1.0);
    assert_eq!(delta(&now, "socketio_sessions_opened_total", &polling), 3.0);
    assert_eq!(
        delta(&now, "socketio_sessions_opened_total", &websocket),
        1.0
    );
    assert_eq!(delta(&now, "socketio_upgrades_total", &[]), 2.0);
    assert_eq!(now.value("socketio_sockets", &ns), 3.0);
    let guarded = [("namespace", "/guarded")];
    assert_eq!(
        delta(&now, "socketio_connects_refused_total", &guarded),
        1.0
    );
    assert_eq!(delta(&now, "socketio_connects_refused_total", &ns), 0.0);
    assert_eq!(now.value("socketio_sockets", &guarded), 0.0);
    // Each of 3 sockets: sum, chat, ask; then shout, boom, boom-async, sum; and flood.
    assert_eq!(delta(&now, "socketio_events_received_total", &ns), 14.0);
    // 3 chat answers, 3 questions, 2 heard (a broadcast to the two others), and what the flood
    // queued before the queue was full.
    let sent = delta(&now, "socketio_events_sent_total", &ns);
    assert!(sent >= 9.0, "events sent {sent}");
    for t in [&polling, &websocket] {
        assert!(
            delta(&now, "socketio_received_bytes_total", t) > 0.0,
            "{t:?}"
        );
        assert!(delta(&now, "socketio_sent_bytes_total", t) > 0.0, "{t:?}");
    }
    // The flood's 4 KiB packets went nowhere: at most the 64 KiB bound (plus one) was sent.
    assert!(delta(&now, "socketio_sent_bytes_total", &websocket) < 100_000.0);
    // Every engine waited for a ping: each session's queue was sampled at least once.
    assert!(delta(&now, "socketio_queue_frames_count", &[]) >= 3.0);
    assert!(delta(&now, "socketio_queue_bytes_count", &[]) >= 3.0);
    let overflows = "socketio_queue_overflows_total";
    assert_eq!(delta(&now, overflows, &[("action", "disconnected")]), 1.0);
    assert_eq!(delta(&now, overflows, &[("action", "dropped")]), 0.0);
    // The three `question`s answered by the clients.
    assert_eq!(delta(&now, "socketio_ack_duration_seconds_count", &ns), 3.0);
    assert!(delta(&now, "socketio_ack_duration_seconds_sum", &ns) > 0.0);
    // `boom` (sync) and `boom-async` (after its first await).
    assert_eq!(delta(&now, "socketio_handler_panics_total", &[]), 2.0);

    // They leave: their transports close, and every gauge goes back.
    client.leave().await;
    for _ in 0..3 {
        match seen.recv().await.unwrap() {
            Seen::Disconnect(_, reason) => {
                assert_eq!(reason, tower_socketio::DisconnectReason::TransportClose)
            }
            other => panic!("{other:?}"),
        }
    }
    let after = Scrape::get(addr).await;
    assert_eq!(after.value("socketio_sessions", &websocket), 0.0);
    assert_eq!(after.value("socketio_sessions", &polling), 0.0);
    assert_eq!(after.value("socketio_sockets", &ns), 0.0);
    assert_eq!(delta(&after, "socketio_upgrades_total", &[]), 2.0);
}

/// GET `path` of `url` (`http://host:port`), the body of a 200.
async fn http_get(url: &str, path: &str) -> String {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// `examples/axum.rs` as it ships answers `/metrics` beside its REST routes: a session opened
/// by a handshake shows.
#[tokio::test]
async fn the_axum_example_answers_metrics() {
    let (url, _child) = common::example::start("axum", &[], &[], "listening on ").await;
    let handshake = http_get(&url, "/socket.io/?EIO=4&transport=polling").await;
    assert!(handshake.contains("\"sid\""), "{handshake}");
    assert!(http_get(&url, "/api/health").await.contains("ok"));
    let metrics = http_get(&url, "/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with(r#"socketio_sessions_opened_total{transport="polling"} 1"#)),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE socketio_sessions gauge"),
        "{metrics}"
    );
}
