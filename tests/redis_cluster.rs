//! The Redis adapter on a real `redis-server` (started by the test on a free loopback port,
//! stopped by PID): three Rust servers and one Node server (npm `socket.io` 4.8.4 with
//! `@socket.io/redis-adapter` 8.3.0) in one cluster, with an official `socket.io-client` on
//! each (`tests/clients/redis_cluster_client.mjs`) checking every cluster-wide operation asked
//! of a Rust server and of the Node server, and `@socket.io/redis-emitter` reaching our sockets;
//! then Redis killed and restarted under two Rust servers; malformed messages on every channel
//! (and a panicking listener); a removed namespace's unsubscription; the chat example as a
//! cluster of two (`tests/clients/chat_cluster_client.mjs`); the README's nginx recipe in front of
//! two servers, with polling clients (`tests/clients/nginx_polling_client.mjs`).
#![cfg(feature = "redis")]

mod common;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::redis::{NodeServer, Proxy, RedisServer, WsClient};
use serde::Deserialize;
use tower_socketio::{
    AckError, SocketIo, SocketRef,
    adapter::redis::{RedisAdapter, RedisAdapterConfig},
    extract::Data,
    service::NotFound,
    value::Value,
};

#[derive(Debug, Deserialize)]
struct Bcast {
    rooms: Option<Vec<String>>,
    except: Option<Vec<String>>,
    event: String,
    data: Value,
    binary: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct Select {
    room: String,
    join: Option<String>,
    leave: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Timeout {
    timeout: u64,
    event: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RemoteEmit {
    name: String,
    event: String,
    data: Value,
}

/// The adapter's warnings in the test's output.
fn trace() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tower_socketio=warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// One Rust server of the cluster, named `name`, answering the events of
/// `tests/clients/node_redis_server.mjs` the same way.
async fn rust_server(
    redis: &str,
    name: &'static str,
    timeout: Duration,
) -> (std::net::SocketAddr, SocketIo) {
    rust_server_with(redis, name, timeout, false).await
}

/// [`rust_server`], with the msgpack parser when `msgpack`.
async fn rust_server_with(
    redis: &str,
    name: &'static str,
    timeout: Duration,
    msgpack: bool,
) -> (std::net::SocketAddr, SocketIo) {
    let config = RedisAdapterConfig::default().requests_timeout(timeout);
    let redis = RedisAdapter::connect(redis, config).await.unwrap();
    let mut builder = SocketIo::builder().adapter(redis.factory());
    if msgpack {
        builder = builder.parser(tower_socketio::protocol::MsgpackParser);
    }
    let (layer, io) = builder.build_layer();
    let heard = Arc::new(Mutex::new(Vec::<Value>::new()));
    let seen = heard.clone();
    let ns = io.ns("/", move |socket: SocketRef| {
        socket
            .set_data(&serde_json::json!({ "server": name }))
            .unwrap();
        socket.on("join", |socket: SocketRef, Data(room): Data<String>| {
            socket.join(room);
            socket.rooms()
        });
        socket.on("bcast", |io: SocketIo, Data(b): Data<Bcast>| async move {
            let data = if b.binary == Some(true) {
                let bytes: Vec<u8> = tower_socketio::value::from_value(b.data).unwrap();
                Value::from(bytes)
            } else {
                b.data
            };
            let op = match b.rooms {
                Some(rooms) => io.to(rooms),
                None => io.except(Vec::<String>::new()),
            };
            op.except(b.except.unwrap_or_default())
                .emit(&b.event, &data)
                .await
                .is_ok()
        });
        socket.on("whoami", move || name);
        socket.on("count", |io: SocketIo| async move {
            io.server_count().await.unwrap()
        });
        socket.on(
            "rooms",
            |io: SocketIo| async move { io.rooms().await.unwrap() },
        );
        socket.on(
            "fetch",
            |io: SocketIo, Data(room): Data<Option<String>>| async move {
                let sockets = match room {
                    Some(room) => io.to(room).fetch_sockets().await,
                    None => io.fetch_sockets().await,
                };
                let mut out: Vec<serde_json::Value> = sockets
                    .unwrap()
                    .into_iter()
                    .map(|s| {
                        let rooms: Vec<_> =
                            s.rooms.iter().filter(|r| **r != s.id).cloned().collect();
                        serde_json::json!({
                            "name": s.handshake.query_param("name"),
                            "rooms": rooms,
                            "id": s.id,
                            "data": s.data.into_json(),
                        })
                    })
                    .collect();
                out.sort_by_key(|s| s["name"].as_str().unwrap_or_default().to_owned());
                out
            },
        );
        socket.on("sse", |io: SocketIo, Data(v): Data<Value>| async move {
            io.server_side_emit("hello", &v).await.is_ok()
        });
        let seen = seen.clone();
        socket.on("heard", move || seen.lock().unwrap().clone());
        socket.on("sse-ack", |io: SocketIo| async move {
            let answers: Vec<Result<String, _>> =
                io.server_side_emit_with_ack("who", &()).await.unwrap();
            let mut names: Vec<String> = answers.into_iter().map(|a| a.unwrap()).collect();
            names.sort();
            names
        });
        socket.on(
            "remote-join",
            |io: SocketIo, Data(s): Data<Select>| async move {
                io.to(s.room).sockets_join(s.join.unwrap()).await.is_ok()
            },
        );
        socket.on(
            "remote-leave",
            |io: SocketIo, Data(s): Data<Select>| async move {
                io.to(s.room).sockets_leave(s.leave.unwrap()).await.is_ok()
            },
        );
        socket.on(
            "remote-disconnect",
            |io: SocketIo, Data(s): Data<Select>| async move {
                io.to(s.room).disconnect_sockets(true).await.is_ok()
            },
        );
        socket.on(
            "bcast-ack",
            |io: SocketIo, Data(t): Data<Timeout>| async move {
                let acks = io
                    .timeout(Duration::from_millis(t.timeout))
                    .emit_with_ack(t.event.as_deref().unwrap_or("q"), &())
                    .await
                    .unwrap()
                    .collect_all::<Value>()
                    .await;
                // A socket that did not answer in time, as "timeout"; bytes as "bin:1,2".
                let mut acks: Vec<String> = acks
                    .into_iter()
                    .map(|(_, a)| match a {
                        Ok(v) => match (v.as_str(), v.as_bytes()) {
                            (Some(s), _) => s.to_owned(),
                            (_, Some(b)) => format!(
                                "bin:{}",
                                b.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
                            ),
                            _ => v.to_string(),
                        },
                        Err(AckError::Timeout) => "timeout".to_owned(),
                        Err(e) => e.to_string(),
                    })
                    .collect();
                acks.sort();
                acks
            },
        );
        socket.on(
            "remote-emit",
            |io: SocketIo, Data(r): Data<RemoteEmit>| async move {
                let sockets = io.fetch_sockets().await.unwrap();
                let target = sockets
                    .iter()
                    .find(|s| s.handshake.query_param("name").as_deref() == Some(r.name.as_str()))
                    .unwrap();
                io.to(target.id.as_str())
                    .emit(&r.event, &r.data)
                    .await
                    .is_ok()
            },
        );
    });
    // A second namespace: its broadcasts stay in it.
    io.ns("/chat", |socket: SocketRef| {
        socket.on("bcast", |io: SocketIo, Data(b): Data<Bcast>| async move {
            let Some(chat) = io.of("/chat") else {
                return false;
            };
            chat.emit(&b.event, &b.data).await.is_ok()
        });
        socket.on("count", |io: SocketIo| async move {
            match io.of("/chat") {
                Some(chat) => chat.server_count().await.unwrap_or(0),
                None => 0,
            }
        });
    });
    ns.on_server_side("hello", move |args| {
        heard
            .lock()
            .unwrap()
            .push(args.into_iter().next().unwrap_or(Value::Null));
        Vec::new()
    });
    ns.on_server_side("who", move |_| vec![Value::from(name)]);
    let addr = common::serve(tower::Layer::layer(&layer, NotFound)).await;
    (addr, io)
}

/// Waits until `io` counts `n` servers (each has subscribed), within 20 s.
async fn until_count(io: &SocketIo, n: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(c) = io.server_count().await
            && c == n
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the cluster never reached {n} servers"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_and_node_servers_share_a_cluster() {
    trace();
    let redis = RedisServer::start().await;
    let url = redis.url();
    let t = Duration::from_secs(3);
    let (a, io_a) = rust_server(&url, "A", t).await;
    let (b, _io_b) = rust_server(&url, "B", t).await;
    // C speaks msgpack to its clients: what comes from the others is encoded with its parser.
    let (c, _io_c) = rust_server_with(&url, "C", t, true).await;
    let node = NodeServer::start(&url, "N").await;
    until_count(&io_a, 4).await;
    let chat = io_a.of("/chat").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while chat.server_count().await.ok() != Some(4) {
        assert!(Instant::now() < deadline, "/chat never reached 4 servers");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/redis_cluster_client.mjs"
    );
    let (a, b, c) = (
        format!("http://{a}"),
        format!("http://{b}"),
        format!("http://{c}"),
    );
    let out = common::run_client(
        &common::node(),
        &[
            script, "--a", &a, "--b", &b, "--c", &c, "--n", &node.url, "--redis", &url,
        ],
        Duration::from_secs(60),
    )
    .await;
    let summary = String::from_utf8_lossy(&out.stdout);
    println!("{summary}");
    assert!(summary.contains(r#""ok":true"#), "{summary}");
}

/// Expects `event` with `data` as the client's next event.
async fn expect(client: &mut WsClient, event: &str, data: &str) {
    assert_eq!(client.event().await, serde_json::json!([event, data]));
}

#[tokio::test]
async fn redis_killed_and_restarted() {
    trace();
    let mut redis = RedisServer::start().await;
    let url = redis.url();
    let t = Duration::from_millis(800);
    let (a, io_a) = rust_server(&url, "A", t).await;
    let (b, io_b) = rust_server(&url, "B", t).await;
    until_count(&io_a, 2).await;
    let mut ca = WsClient::connect(a).await;
    let mut cb = WsClient::connect(b).await;
    // `local()` stays on this server: B's client's next event is the next broadcast.
    io_a.local().emit("e", "local").await.unwrap();
    expect(&mut ca, "e", "local").await;
    io_a.emit("e", "before").await.unwrap();
    expect(&mut ca, "e", "before").await;
    expect(&mut cb, "e", "before").await;

    redis.stop().await;
    // Local delivery goes on; what needs the cluster fails, each within the timeout (0.8 s).
    let within = |started: Instant, what: &str| {
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1300), "{what} took {took:?}");
    };
    for round in 0..2 {
        let started = Instant::now();
        let err = io_a
            .emit("e", &format!("during {round}"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("redis"), "{err}");
        within(started, "a broadcast");
        expect(&mut ca, "e", &format!("during {round}")).await;
        let started = Instant::now();
        assert!(io_a.server_count().await.is_err());
        within(started, "server_count");
        let started = Instant::now();
        assert!(io_b.fetch_sockets().await.is_err());
        within(started, "fetch_sockets");
        let started = Instant::now();
        assert!(io_a.server_side_emit("hello", &"x").await.is_err());
        within(started, "server_side_emit");
        let started = Instant::now();
        assert!(io_b.to("r").sockets_join("s").await.is_err());
        within(started, "sockets_join");
        // A broadcast with acks fails as a whole: A's client gets nothing of it (its next event
        // is the next round's broadcast, or "after").
        let started = Instant::now();
        assert!(io_a.emit_with_ack("q", &()).await.is_err());
        within(started, "emit_with_ack");
    }

    redis.restart().await;
    // Both reconnect and subscribe again by themselves.
    until_count(&io_a, 2).await;
    until_count(&io_b, 2).await;
    io_b.emit("e", "after").await.unwrap();
    // B's client never got "during": its next event is "after".
    expect(&mut cb, "e", "after").await;
    expect(&mut ca, "e", "after").await;
    io_a.to(Vec::<String>::new())
        .emit("e", "again")
        .await
        .unwrap();
    expect(&mut ca, "e", "again").await;
    expect(&mut cb, "e", "again").await;
}

#[tokio::test]
async fn malformed_messages_are_dropped() {
    trace();
    let redis = RedisServer::start().await;
    let url = redis.url();
    let (a, io_a) = rust_server(&url, "A", Duration::from_secs(2)).await;
    until_count(&io_a, 1).await;
    let mut ca = WsClient::connect(a).await;
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let garbage: [&[u8]; 8] = [
        b"",
        b"\xc1",
        b"\x81\xa1a\x01",
        b"\x93\xa1u\x83\xa4type\x02\xa4data\x91\x01\xa3nsp\xa1/\x80",
        b"\x93\xa1u\x83\xa4type\x02\xa4data\x91\xa1e\xa3nsp\xa1/\xa1x",
        b"{not json",
        br#"{"type":2,"rooms":["x"]}"#,
        br#"{"type":99,"uid":"z"}"#,
    ];
    for channel in [
        "socket.io#/#",
        "socket.io#/#room#",
        "socket.io-request#/#",
        "socket.io-response#/#",
    ] {
        for g in garbage {
            let _: i64 = redis::cmd("PUBLISH")
                .arg(channel)
                .arg(g)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
    }
    // A server-side listener that panics does not end the subscriber.
    io_a.of("/")
        .unwrap()
        .on_server_side("boom", |_| panic!("a listener panics"));
    let _: i64 = redis::cmd("PUBLISH")
        .arg("socket.io-request#/#")
        .arg(r#"{"uid":"other","type":6,"data":["boom"]}"#)
        .query_async(&mut conn)
        .await
        .unwrap();
    // A valid broadcast from "another node" after them: it arrives, so the subscriber lived on.
    let valid = b"\x93\xa5other\x83\xa4type\x02\xa4data\x92\xa1e\xa2ok\xa3nsp\xa1/\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80";
    let _: i64 = redis::cmd("PUBLISH")
        .arg("socket.io#/#")
        .arg(&valid[..])
        .query_async(&mut conn)
        .await
        .unwrap();
    expect(&mut ca, "e", "ok").await;
    assert_eq!(io_a.server_count().await.unwrap(), 1);
    // The socket was not disconnected by the legacy join without opts.
    assert_eq!(io_a.fetch_sockets().await.unwrap().len(), 1);
}

/// A namespace removed when its last socket leaves takes its subscriptions with it: the other
/// servers no longer count this one for it (and do not wait for its answers).
#[tokio::test]
async fn a_removed_namespace_unsubscribes() {
    trace();
    let redis = RedisServer::start().await;
    let url = redis.url();
    let (a, io_a) = rust_server(&url, "A", Duration::from_secs(2)).await;
    io_a.dyn_ns("/dyn", |_: SocketRef| {})
        .remove_when_empty(true);
    let client = redis::Client::open(url.as_str()).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    let until = async |n: u64| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, got): (String, u64) = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg("socket.io-request#/dyn#")
                .query_async(&mut conn.clone())
                .await
                .unwrap();
            if got == n {
                return;
            }
            assert!(Instant::now() < deadline, "NUMSUB never reached {n}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    until(0).await;
    let c = WsClient::connect_to(a, "/dyn").await;
    until(1).await;
    c.close().await;
    until(0).await;
}

/// The chat example's binary with the `redis` feature (`cargo build`, a no-op when `cargo test`
/// built it already with the same features), within 240 s.
async fn chat_binary() -> std::path::PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
    let build = tokio::process::Command::new(cargo)
        .args([
            "build",
            "--features",
            "redis",
            "--example",
            "chat",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(240), build)
        .await
        .expect("cargo build --example chat did not finish within 240 s")
        .expect("cannot run cargo build --example chat");
    assert!(
        out.status.success(),
        "cargo build --example chat failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "chat")
        .find_map(|m| m["executable"].as_str().map(std::path::PathBuf::from))
        .expect("cargo build --example chat reported no executable")
}

/// A chat example in the cluster of `redis`, on a free port; killed when dropped.
async fn chat_server(bin: &std::path::Path, redis: &str) -> (String, tokio::process::Child) {
    use tokio::io::AsyncBufReadExt;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut child = tokio::process::Command::new(bin)
        .env("PORT", port.to_string())
        .env("REDIS_URL", redis)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.trim().strip_prefix("chat on ") {
                return url.to_owned();
            }
        }
        panic!("the chat example exited before listening");
    })
    .await
    .expect("the chat example did not listen within 30 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (url, child)
}

/// The chat example as a cluster: two servers on one Redis share rooms, members and messages.
#[tokio::test]
async fn the_chat_example_as_a_cluster() {
    let redis = RedisServer::start().await;
    let bin = chat_binary().await;
    let (a, _a) = chat_server(&bin, &redis.url()).await;
    let (b, _b) = chat_server(&bin, &redis.url()).await;
    // Both have subscribed when Redis counts two subscribers of the request channel.
    let client = redis::Client::open(redis.url().as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, n): (String, u64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("socket.io-request#/#")
            .query_async(&mut conn)
            .await
            .unwrap();
        if n == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the chat servers did not subscribe"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/chat_cluster_client.mjs"
    );
    common::run_client(
        &common::node(),
        &[script, "--a", &a, "--b", &b],
        Duration::from_secs(60),
    )
    .await;
}

/// nginx with the README's recipe, in front of `servers`; stopped by PID when dropped.
struct Nginx {
    url: String,
    child: tokio::process::Child,
    _dir: std::path::PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

async fn nginx(servers: &[std::net::SocketAddr]) -> Nginx {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("nginx-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let upstreams: String = servers
        .iter()
        .map(|a| format!("        server {a};\n"))
        .collect();
    let d = dir.display();
    let conf = format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    # The README's recipe.
    upstream socketio {{
        ip_hash;
{upstreams}    }}
    server {{
        listen 127.0.0.1:{port};
        location /socket.io/ {{
            proxy_pass http://socketio;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $host;
        }}
    }}
}}
"#
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let program = std::env::var("TSIO_NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
    let child = tokio::process::Command::new(&program)
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .args(["-e", "stderr"])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program} (scripts/test installs nginx): {e}"));
    let nginx = Nginx {
        url: format!("http://127.0.0.1:{port}"),
        child,
        _dir: dir,
    };
    // nginx says nothing when it listens: its port accepts connections.
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "nginx did not listen within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    nginx
}

/// The README's nginx recipe, tried: polling clients behind `ip_hash` stay on one server each,
/// reach both servers, and hear a broadcast from either.
#[tokio::test]
async fn polling_clients_behind_nginx_reach_both_servers() {
    trace();
    let redis = RedisServer::start().await;
    let url = redis.url();
    let t = Duration::from_secs(3);
    let (a, io_a) = rust_server(&url, "A", t).await;
    let (b, _io_b) = rust_server(&url, "B", t).await;
    until_count(&io_a, 2).await;
    let nginx = nginx(&[a, b]).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/nginx_polling_client.mjs"
    );
    let out = common::run_client(
        &common::node(),
        &[script, "--url", &nginx.url],
        Duration::from_secs(60),
    )
    .await;
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains(r#""ok":true"#), "{summary}");
}

/// An unreachable Redis or an invalid URL: `connect` fails, with the reason, within the timeout.
#[tokio::test]
async fn connect_fails_clearly() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let config = RedisAdapterConfig::default().requests_timeout(Duration::from_secs(2));
    let started = Instant::now();
    let err = RedisAdapter::connect(&format!("redis://127.0.0.1:{port}/"), config.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            tower_socketio::adapter::redis::RedisAdapterError::Connect(_)
        ),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    let err = RedisAdapter::connect("not a url", config)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid Redis URL"), "{err}");
}

/// A network that goes silent under a server (its connections to Redis stay open, nothing
/// passes): the PING check notices, the adapter connects again and subscribes again, and
/// broadcasts from the other server reach its sockets again.
#[tokio::test]
async fn a_silent_connection_is_replaced() {
    trace();
    let redis = RedisServer::start().await;
    let proxy = Proxy::start(redis.port).await;
    let t = Duration::from_millis(800);
    let (a, io_a) = rust_server(&proxy.url(), "A", t).await;
    let (_, io_b) = rust_server(&redis.url(), "B", t).await;
    until_count(&io_b, 2).await;
    let mut ca = WsClient::connect(a).await;
    io_b.emit("e", "before").await.unwrap();
    expect(&mut ca, "e", "before").await;

    proxy.freeze();
    // Redis still counts A's silent subscriber; once A has subscribed again, it counts both.
    until_count(&io_b, 3).await;
    io_b.emit("e", "after").await.unwrap();
    expect(&mut ca, "e", "after").await;
    // A's own commands go through again too.
    let deadline = Instant::now() + Duration::from_secs(10);
    while io_a.server_count().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "A's publishing connection never recovered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The adapter's requests to the other servers are counted and timed: a `fetch_sockets` across
/// two servers, seen in the Prometheus recorder (installed for this test binary; other tests
/// may add to the counts, so the check is a delta of at least one).
#[tokio::test]
async fn adapter_requests_are_counted() {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    let prometheus = HANDLE.get_or_init(|| {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .expect("the first recorder of this test binary")
    });
    let sample = |name: &str| -> f64 {
        prometheus
            .render()
            .lines()
            .filter(|l| {
                l.starts_with(name)
                    && l.contains(r#"type="fetch_sockets""#)
                    && (name.ends_with("_count") || l.contains(r#"outcome="complete""#))
            })
            .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum()
    };
    trace();
    let redis = RedisServer::start().await;
    let url = redis.url();
    let (_a, io_a) = rust_server(&url, "A", Duration::from_secs(2)).await;
    let (_b, _io_b) = rust_server(&url, "B", Duration::from_secs(2)).await;
    until_count(&io_a, 2).await;
    let (requests, timed) = (
        sample("socketio_adapter_requests_total"),
        sample("socketio_adapter_request_duration_seconds_count"),
    );
    assert!(io_a.fetch_sockets().await.unwrap().is_empty());
    assert!(sample("socketio_adapter_requests_total") >= requests + 1.0);
    assert!(sample("socketio_adapter_request_duration_seconds_count") >= timed + 1.0);
}
