//! Connection state recovery with the official `socket.io-client`, over polling only, WebSocket
//! only, and polling with upgrade: each test starts its own server (described in the header of
//! `tests/clients/recovery_client.mjs`) and runs one scenario of the script, which checks what
//! the client sees; the tests here check what the server saw (connects, recovered or not, and
//! the connection middleware's runs).

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use tokio::sync::mpsc;
use tower_socketio::{
    DisconnectReason, SocketIo, SocketRef,
    adapter::ConnectionStateRecovery,
    extract::{ConnectError, Data, Recovered},
    service::NotFound,
};

/// The bound on one client run; the script times itself out after 20 s.
const BOUND: Duration = Duration::from_secs(60);

const MODES: [&str; 3] = ["polling", "websocket", "upgrade"];

/// What the server saw.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// A connect handler ran.
    Connect { id: String, recovered: bool },
    /// The connection middleware ran.
    Middleware { recovered: bool },
    /// A socket of `/` left.
    Disconnect(DisconnectReason),
}

/// The drops seen so far (the `k` of the missed events).
#[derive(Clone, Default)]
struct Drops(Arc<AtomicU64>);

/// Whether the proxy of a test resets every connection it accepts (from a cut until the server
/// saw the drop).
#[derive(Clone, Default)]
struct Cutting(Arc<AtomicBool>);

/// Whether the `seq` stream is to stop, and its pace.
#[derive(Clone)]
struct Stop(Arc<AtomicBool>, Duration);

/// Emits `seq` 0, 1, 2, … to all, one every pace (a millisecond unless told), until told to stop.
async fn stream(io: SocketIo, stop: Stop) {
    let mut tick = tokio::time::interval(stop.1);
    let mut n = 0u64;
    while !stop.0.load(Ordering::SeqCst) {
        tick.tick().await;
        io.emit("seq", &n).await.ok();
        n += 1;
    }
}

/// What the server emits while a client is away, then reports on `/control`.
async fn away(io: SocketIo, socket: SocketRef, k: u64) {
    let id = socket.id().to_owned();
    io.emit("missed-all", &k).await.ok();
    io.emit("missed-bin", &(k, Bytes::from_static(&[1, 2, 3])))
        .await
        .ok();
    io.to("roomR").emit("missed-room", &k).await.ok();
    io.to("otherRoom").emit("not-other", &k).await.ok();
    io.except("roomR").emit("not-except", &k).await.ok();
    io.volatile().emit("not-volatile", &k).await.ok();
    socket.emit("missed-direct", &k).ok();
    io.to(id.as_str()).emit("missed-to-sid", &k).await.ok();
    if let Some(control) = io.of("/control") {
        control.emit("dropped", &id).await.ok();
    }
}

fn on_connect(
    socket: SocketRef,
    Recovered(recovered): Recovered,
    seen: mpsc::UnboundedSender<Seen>,
    drops: Drops,
    stop: Stop,
    cutting: Cutting,
) {
    let _ = seen.send(Seen::Connect {
        id: socket.id().to_owned(),
        recovered,
    });
    socket.on("setup", |socket: SocketRef| {
        socket.join("roomR");
        socket
            .set_data(&serde_json::json!({ "user": "alice" }))
            .ok();
        socket.emit("welcome", &1).ok();
        "ok"
    });
    socket.on("state", |socket: SocketRef| {
        serde_json::json!({
            "id": socket.id(),
            "rooms": socket.rooms(),
            "data": socket.data().into_json(),
            "recovered": socket.recovered(),
        })
    });
    socket.on("volatile-string", |socket: SocketRef| async move {
        socket.volatile().emit("vol", &"just-a-string").await.ok();
        "ok"
    });
    socket.on("live", |io: SocketIo, Data(n): Data<u64>| async move {
        io.emit("live", &n).await.ok();
        n
    });
    let stop_too = stop.clone();
    socket.on("stream-start", move |io: SocketIo| {
        tokio::spawn(stream(io, stop_too.clone()));
        "ok"
    });
    socket.on("stream-stop", move || {
        stop.0.store(true, Ordering::SeqCst);
        "ok"
    });
    socket.on("disconnect-me", |socket: SocketRef| socket.disconnect());
    socket.on_disconnect(
        move |socket: SocketRef, reason: DisconnectReason, io: SocketIo| {
            let _ = seen.send(Seen::Disconnect(reason));
            if reason.recoverable() {
                // Before `dropped` is emitted: the client reconnects through the proxy then.
                cutting.0.store(false, Ordering::SeqCst);
                let k = drops.0.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::spawn(away(io, socket, k));
            }
        },
    );
}

struct Server {
    url: String,
    addr: std::net::SocketAddr,
    seen: mpsc::UnboundedReceiver<Seen>,
    cutting: Cutting,
}

impl Server {
    async fn start(settings: ConnectionStateRecovery) -> Server {
        Self::start_with(settings, SocketIo::builder(), Duration::from_millis(1)).await
    }

    /// A server built from `builder`, whose `seq` stream emits one event every `pace`.
    async fn start_with(
        settings: ConnectionStateRecovery,
        builder: tower_socketio::SocketIoBuilder,
        pace: Duration,
    ) -> Server {
        let (tx, seen) = mpsc::unbounded_channel();
        let (layer, io) = builder.connection_state_recovery(settings).build_layer();
        let drops = Drops::default();
        let stop = Stop(Arc::default(), pace);
        let cutting = Cutting::default();
        let on_mw = tx.clone();
        let cut = cutting.clone();
        io.ns("/", move |socket: SocketRef, recovered: Recovered| {
            on_connect(
                socket,
                recovered,
                tx.clone(),
                drops.clone(),
                stop.clone(),
                cut.clone(),
            )
        })
        .with(
            move |socket: SocketRef, Data(auth): Data<serde_json::Value>| {
                let _ = on_mw.send(Seen::Middleware {
                    recovered: socket.recovered(),
                });
                if auth["refuse"] == true {
                    Err(ConnectError::new("nope"))
                } else {
                    Ok(())
                }
            },
        );
        io.ns("/control", || {});
        let addr = common::serve(tower::Layer::layer(&layer, NotFound)).await;
        Server {
            url: format!("http://{addr}"),
            addr,
            seen,
            cutting,
        }
    }

    async fn run(
        &self,
        mode: &str,
        scenario: &str,
        max_disconnection: Duration,
    ) -> serde_json::Value {
        let max = max_disconnection.as_millis().to_string();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/recovery_client.mjs"
        );
        let args = [
            script,
            "--url",
            &self.url,
            "--mode",
            mode,
            "--scenario",
            scenario,
            "--max-disconnection",
            &max,
        ];
        let out = common::run_client(&common::node(), &args, BOUND).await;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().last().expect("the client printed nothing");
        let summary: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("summary {line:?}: {e}"));
        assert_eq!(summary["ok"], true, "summary: {summary}");
        summary
    }

    /// Everything the server saw so far (the client has finished).
    fn drain(&mut self) -> Vec<Seen> {
        let mut all = Vec::new();
        while let Ok(seen) = self.seen.try_recv() {
            all.push(seen);
        }
        all
    }
}

fn connects(seen: &[Seen]) -> Vec<(String, bool)> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Connect { id, recovered } => Some((id.clone(), *recovered)),
            _ => None,
        })
        .collect()
}

fn middlewares(seen: &[Seen]) -> Vec<bool> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Middleware { recovered } => Some(*recovered),
            _ => None,
        })
        .collect()
}

const DEFAULT: ConnectionStateRecovery = ConnectionStateRecovery {
    max_disconnection_duration: Duration::from_secs(120),
    skip_middlewares: true,
    max_log_bytes: 8 * 1024 * 1024,
};

/// `drops` cuts, each recovered: the same id every time, the middleware run once.
async fn recovered(scenario: &str, settings: ConnectionStateRecovery, drops: usize) {
    for mode in MODES {
        let mut server = Server::start(settings).await;
        let summary = server
            .run(mode, scenario, settings.max_disconnection_duration)
            .await;
        let seen = server.drain();
        let id = summary["id"].as_str().expect("the client's id").to_owned();
        let mut expected = vec![(id.clone(), false)];
        expected.extend(std::iter::repeat_n((id, true), drops));
        assert_eq!(connects(&seen), expected, "{mode}: {summary}");
        let runs = if settings.skip_middlewares {
            vec![false]
        } else {
            std::iter::once(false)
                .chain(std::iter::repeat_n(true, drops))
                .collect()
        };
        assert_eq!(middlewares(&seen), runs, "{mode}: middleware runs");
    }
}

/// A scenario whose later connections are all new sockets (`fresh` of them).
async fn not_recovered(scenario: &str, settings: ConnectionStateRecovery, fresh: usize) {
    for mode in MODES {
        let mut server = Server::start(settings).await;
        let summary = server
            .run(mode, scenario, settings.max_disconnection_duration)
            .await;
        let seen = connects(&server.drain());
        assert_eq!(seen.len(), 1 + fresh, "{mode}: {seen:?}");
        assert_eq!(seen[0].0, summary["id"].as_str().unwrap_or_default());
        let ids: std::collections::HashSet<_> = seen.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(ids.len(), seen.len(), "{mode}: every socket new");
        assert!(seen.iter().all(|(_, r)| !r), "{mode}: none recovered");
    }
}

#[tokio::test]
async fn a_cut_is_recovered_with_the_missed_events() {
    recovered("cut", DEFAULT, 1).await;
}

/// Events emitted all along, before, during and after the cut: each arrives once, in order,
/// replayed or live (the replay and the live deliveries do not race).
#[tokio::test]
async fn a_stream_of_events_survives_a_cut_without_gap_or_duplicate() {
    recovered("stream", DEFAULT, 1).await;
}

#[tokio::test]
async fn three_cuts_in_a_row_are_recovered() {
    recovered("three", DEFAULT, 3).await;
}

/// Node's #4880: after a quiet spell longer than the log's bound (the client's offset gone
/// from the log), and after a last event that was a volatile string.
#[tokio::test]
async fn a_cut_after_a_quiet_spell_is_recovered() {
    let settings = ConnectionStateRecovery {
        max_disconnection_duration: Duration::from_millis(1500),
        ..DEFAULT
    };
    recovered("quiet", settings, 2).await;
}

#[tokio::test]
async fn middlewares_run_when_asked_and_see_the_recovery() {
    let settings = ConnectionStateRecovery {
        skip_middlewares: false,
        ..DEFAULT
    };
    recovered("middleware", settings, 1).await;
}

#[tokio::test]
async fn an_expired_session_is_not_recovered() {
    let settings = ConnectionStateRecovery {
        max_disconnection_duration: Duration::from_millis(500),
        ..DEFAULT
    };
    not_recovered("expiry", settings, 1).await;
}

#[tokio::test]
async fn a_refused_recovery_replays_nothing() {
    let settings = ConnectionStateRecovery {
        skip_middlewares: false,
        ..DEFAULT
    };
    not_recovered("refuse", settings, 1).await;
}

#[tokio::test]
async fn a_socket_that_left_for_good_is_not_recovered() {
    not_recovered("leave", DEFAULT, 2).await;
}

/// A TCP proxy on 127.0.0.1:0 in front of the server, forwarding both ways, that can reset its
/// connections as a proxy or a NAT box dropping them does.
struct Proxy {
    url: String,
    /// Bumped by each cut: every connection open then is reset.
    cut: tokio::sync::watch::Sender<u64>,
    /// Connections open now.
    open: Arc<AtomicU64>,
    /// Resets every connection accepted while set (until the server saw the drop).
    cutting: Cutting,
    /// Connections reset so far.
    resets: Arc<AtomicU64>,
}

impl Proxy {
    async fn start(upstream: std::net::SocketAddr, cutting: Cutting) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (cut, _) = tokio::sync::watch::channel(0u64);
        let open = Arc::new(AtomicU64::new(0));
        let resets = Arc::new(AtomicU64::new(0));
        let proxy = Proxy {
            url,
            cut: cut.clone(),
            open: open.clone(),
            cutting: cutting.clone(),
            resets: resets.clone(),
        };
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if cutting.0.load(Ordering::SeqCst) {
                    reset(&client);
                    resets.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                // Subscribed before the next cut can be sent: a cut from now on resets it.
                let on_cut = cut.subscribe();
                open.fetch_add(1, Ordering::SeqCst);
                let (open, resets) = (open.clone(), resets.clone());
                tokio::spawn(async move {
                    pipe(client, upstream, on_cut, &resets).await;
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        proxy
    }

    /// Resets every open connection, and every new one until the server saw the drop.
    fn cut(&self) {
        self.cutting.0.store(true, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }
}

/// A zero linger: the socket's drop sends an RST instead of a FIN.
fn reset(stream: &tokio::net::TcpStream) {
    stream.set_zero_linger().expect("SO_LINGER 0");
}

/// Forwards one connection both ways until either end closes it, or a cut resets both ends.
async fn pipe(
    mut client: tokio::net::TcpStream,
    upstream: std::net::SocketAddr,
    mut on_cut: tokio::sync::watch::Receiver<u64>,
    resets: &AtomicU64,
) {
    let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
        return;
    };
    let cut = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => false,
        changed = on_cut.changed() => changed.is_ok(),
    };
    if cut {
        reset(&client);
        reset(&server);
        resets.fetch_add(1, Ordering::SeqCst);
    }
}

impl Server {
    /// Runs a scenario of the script with its socket of `/` through `proxy`, which resets its
    /// connections each time the script says `cut-me`.
    async fn run_through(
        &self,
        proxy: &Proxy,
        mode: &str,
        scenario: &str,
        max_disconnection: Duration,
    ) -> serde_json::Value {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt};
        let max = max_disconnection.as_millis().to_string();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/recovery_client.mjs"
        );
        let mut child = tokio::process::Command::new(common::node())
            .args([
                script,
                "--url",
                &self.url,
                "--socket-url",
                &proxy.url,
                "--cut",
                "reset",
                "--mode",
                mode,
                "--scenario",
                scenario,
                "--max-disconnection",
                &max,
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("cannot start node");
        let mut stderr = child.stderr.take().unwrap();
        let errors = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let (last, status) = tokio::time::timeout(BOUND, async {
            let mut last = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "cut-me" {
                    proxy.cut();
                } else {
                    last = line;
                }
            }
            (last, child.wait().await)
        })
        .await
        .unwrap_or_else(|_| panic!("{mode}/{scenario} through the proxy: no end within {BOUND:?}"));
        let errors = errors.await.unwrap_or_default();
        assert!(
            status.as_ref().is_ok_and(|s| s.success()),
            "{mode}/{scenario} through the proxy failed ({status:?}):\n--- stdout\n{last}\n--- stderr\n{errors}"
        );
        let summary: serde_json::Value =
            serde_json::from_str(&last).unwrap_or_else(|e| panic!("summary {last:?}: {e}"));
        assert_eq!(summary["ok"], true, "summary: {summary}");
        summary
    }
}

/// `drops` TCP resets from a proxy, each recovered: the same id every time, the middleware run
/// once, each drop seen by the server as a lost connection. The server pings every second, so
/// that a reset it cannot see (between two polls) ends the session within three seconds. Its
/// `seq` stream emits one event every 5 ms: over polling the server answers at most 16 packets
/// a poll, and the client's ping timer restarts only with a ping, queued behind the backlog of
/// three seconds of `seq` events at one a millisecond, which then times the client out.
async fn recovered_after_resets(scenario: &str, settings: ConnectionStateRecovery, drops: usize) {
    for mode in MODES {
        let builder = SocketIo::builder()
            .ping_interval(Duration::from_secs(1))
            .ping_timeout(Duration::from_secs(2));
        let mut server = Server::start_with(settings, builder, Duration::from_millis(5)).await;
        let proxy = Proxy::start(server.addr, server.cutting.clone()).await;
        let summary = server
            .run_through(&proxy, mode, scenario, settings.max_disconnection_duration)
            .await;
        let seen = server.drain();
        let id = summary["id"].as_str().expect("the client's id").to_owned();
        let mut expected = vec![(id.clone(), false)];
        expected.extend(std::iter::repeat_n((id, true), drops));
        assert_eq!(connects(&seen), expected, "{mode}: {summary}");
        assert_eq!(middlewares(&seen), vec![false], "{mode}: middleware runs");
        let lost: Vec<DisconnectReason> = seen
            .iter()
            .filter_map(|s| match s {
                Seen::Disconnect(r) if r.recoverable() => Some(*r),
                _ => None,
            })
            .collect();
        assert_eq!(lost.len(), drops, "{mode}: drops seen {lost:?}");
        assert!(
            lost.iter().all(|r| matches!(
                r,
                DisconnectReason::TransportClose
                    | DisconnectReason::TransportError
                    | DisconnectReason::PingTimeout
            )),
            "{mode}: {lost:?}"
        );
        assert!(
            proxy.resets.load(Ordering::SeqCst) >= drops as u64,
            "{mode}: fewer resets than drops"
        );
        eprintln!(
            "{mode}/{scenario}: server saw {lost:?}, proxy reset {} connections ({} open)",
            proxy.resets.load(Ordering::SeqCst),
            proxy.open.load(Ordering::SeqCst)
        );
    }
}

#[tokio::test]
async fn a_tcp_reset_from_a_proxy_is_recovered_with_the_missed_events() {
    recovered_after_resets("cut", DEFAULT, 1).await;
}

/// Events emitted every millisecond across the reset: those lost in flight (in the proxy's and
/// the kernel's buffers, or in a poll's answer the client never read) are replayed, once, in
/// order.
#[tokio::test]
async fn a_stream_of_events_survives_a_tcp_reset_without_gap_or_duplicate() {
    recovered_after_resets("stream", DEFAULT, 1).await;
}

#[tokio::test]
async fn three_tcp_resets_in_a_row_are_recovered() {
    recovered_after_resets("three", DEFAULT, 3).await;
}

/// Node's #4880 over a reset: after a quiet spell longer than the log's bound, and after a last
/// event that was a volatile string.
#[tokio::test]
async fn a_tcp_reset_after_a_quiet_spell_is_recovered() {
    let settings = ConnectionStateRecovery {
        max_disconnection_duration: Duration::from_millis(1500),
        ..DEFAULT
    };
    recovered_after_resets("quiet", settings, 2).await;
}
