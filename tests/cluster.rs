//! Two servers in one process linked by an adapter of the test's own, through the public
//! [`Adapter`] trait and [`SocketIoBuilder::adapter`]: the shape a multi-node adapter (Redis,
//! next) plugs into. The official `socket.io-client` checks, with one client on each server
//! (`tests/clients/cluster_client.mjs`): `server_count`, `server_side_emit` with and without
//! acknowledgements (only the other server's listeners hear it), a broadcast reaching the sockets
//! of both servers once each, and `fetch_sockets` across servers.

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use futures_util::stream::BoxStream;
use tower_socketio::{
    SocketIo, SocketRef, WeakNamespace,
    adapter::{
        AckResponse, Adapter, AdapterError, BoxFuture, BroadcastOptions, EncodedPacket,
        LocalAdapter, Room, SocketInfo,
    },
    extract::Data,
    service::NotFound,
    value::Value,
};

/// One namespace of one server, as the bus knows it.
struct Node {
    server: &'static str,
    local: Arc<LocalAdapter>,
    ns: WeakNamespace,
}

/// The servers of the "cluster", in one process: what a broker would connect.
#[derive(Default)]
struct Bus(Mutex<Vec<Node>>);

impl Bus {
    /// The nodes of namespace `path` other than `server`'s.
    fn others(&self, server: &str, path: &str) -> Vec<(Arc<LocalAdapter>, WeakNamespace)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|n| n.server != server && n.ns.path() == path)
            .map(|n| (n.local.clone(), n.ns.clone()))
            .collect()
    }

    fn count(&self, path: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|n| n.ns.path() == path)
            .count()
    }
}

/// The test's adapter: local work through a [`LocalAdapter`], cluster-wide actions through the
/// bus. Broadcasts, socket fetches and the server-side events cross servers; the rest (acks from
/// remote sockets, remote joins) a real adapter would forward the same way.
struct Linked {
    server: &'static str,
    local: Arc<LocalAdapter>,
    path: String,
    bus: Arc<Bus>,
}

impl Linked {
    fn factory(
        bus: Arc<Bus>,
        server: &'static str,
    ) -> impl Fn(WeakNamespace) -> Arc<dyn Adapter> + Send + Sync + 'static {
        move |ns: WeakNamespace| {
            let local = Arc::new(LocalAdapter::new(ns.clone()));
            let path = ns.path().to_owned();
            bus.0.lock().unwrap().push(Node {
                server,
                local: local.clone(),
                ns,
            });
            Arc::new(Linked {
                server,
                local,
                path,
                bus: bus.clone(),
            })
        }
    }

    fn others(&self) -> Vec<(Arc<LocalAdapter>, WeakNamespace)> {
        self.bus.others(self.server, &self.path)
    }
}

impl Adapter for Linked {
    fn add_all(&self, sid: &str, rooms: &[Room]) {
        self.local.add_all(sid, rooms)
    }
    fn del(&self, sid: &str, room: &str) {
        self.local.del(sid, room)
    }
    fn del_all(&self, sid: &str) {
        self.local.del_all(sid)
    }
    fn socket_rooms(&self, sid: &str) -> Vec<Room> {
        self.local.socket_rooms(sid)
    }
    fn rooms(&self, opts: BroadcastOptions) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>> {
        self.local.rooms(opts)
    }
    fn broadcast(
        &self,
        packet: EncodedPacket,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            if !opts.local {
                // A broker would carry `packet.text()` and `packet.attachments()`; here the
                // encoded packet is shared as it is.
                for (other, _) in self.others() {
                    other.broadcast(packet.clone(), opts.clone()).await?;
                }
            }
            self.local.broadcast(packet, opts).await
        })
    }
    fn broadcast_with_ack(
        &self,
        packet: EncodedPacket,
        ack_id: u64,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<BoxStream<'static, AckResponse>, AdapterError>> {
        self.local.broadcast_with_ack(packet, ack_id, opts, timeout)
    }
    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<SocketInfo>, AdapterError>> {
        Box::pin(async move {
            let mut all = self.local.fetch_sockets(opts.clone()).await?;
            if !opts.local {
                for (other, _) in self.others() {
                    all.extend(other.fetch_sockets(opts.clone()).await?);
                }
            }
            Ok(all)
        })
    }
    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.local.add_sockets(opts, rooms)
    }
    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.local.del_sockets(opts, rooms)
    }
    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.local.disconnect_sockets(opts, close)
    }
    fn server_side_emit(
        &self,
        event: String,
        args: Vec<Value>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        for (_, ns) in self.others() {
            if let Some(ns) = ns.upgrade() {
                ns.receive_server_side(&event, args.clone());
            }
        }
        Box::pin(std::future::ready(Ok(())))
    }
    fn server_side_emit_with_ack(
        &self,
        event: String,
        args: Vec<Value>,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<Vec<Value>>, AdapterError>> {
        // In one process every answer is immediate; a broker would wait up to the timeout.
        let answers = self
            .others()
            .into_iter()
            .filter_map(|(_, ns)| ns.upgrade()?.receive_server_side(&event, args.clone()))
            .collect();
        Box::pin(std::future::ready(Ok(answers)))
    }
    fn server_count(&self) -> BoxFuture<'_, Result<u16, AdapterError>> {
        let n = self.bus.count(&self.path) as u16;
        Box::pin(std::future::ready(Ok(n)))
    }
}

/// One server of the cluster, named `name`, on 127.0.0.1:0.
async fn server(bus: &Arc<Bus>, name: &'static str) -> (String, SocketIo) {
    let (layer, io) = SocketIo::builder()
        .adapter(Linked::factory(bus.clone(), name))
        .build_layer();
    let ns = io.ns("/", |socket: SocketRef| {
        socket.on("count", |io: SocketIo| async move {
            io.server_count().await.unwrap()
        });
        socket.on(
            "ask-cluster",
            |io: SocketIo, Data(who): Data<String>| async move {
                let answers: Vec<Result<String, _>> =
                    io.server_side_emit_with_ack("who", &who).await.unwrap();
                answers
                    .into_iter()
                    .map(|a| a.unwrap())
                    .collect::<Vec<String>>()
            },
        );
        socket.on(
            "tell-cluster",
            |io: SocketIo, Data(note): Data<String>| async move {
                io.server_side_emit("note", &note).await.unwrap();
            },
        );
        socket.on("shout", |io: SocketIo, Data(v): Data<Value>| async move {
            io.emit("shout", &v).await.unwrap();
        });
        socket.on("everyone", |io: SocketIo| async move {
            let all = io.fetch_sockets().await.unwrap();
            all.into_iter().map(|s| s.id).collect::<Vec<_>>()
        });
    });
    ns.on_server_side("who", move |args| {
        let who = args.first().and_then(Value::as_str).unwrap_or("?");
        vec![Value::from(format!("{name} hears {who}"))]
    });
    let local = io.clone();
    ns.on_server_side("note", move |args| {
        let io = local.clone();
        tokio::spawn(async move {
            let note = args.into_iter().next().unwrap_or(Value::Null);
            io.local().emit("noted", &note).await.unwrap();
        });
        Vec::new()
    });
    let addr = common::serve(tower::Layer::layer(&layer, NotFound)).await;
    (format!("http://{addr}"), io)
}

#[tokio::test]
async fn two_servers_linked_by_an_adapter() {
    let bus = Arc::new(Bus::default());
    let (a, _io_a) = server(&bus, "A").await;
    let (b, _io_b) = server(&bus, "B").await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/cluster_client.mjs"
    );
    let out = common::run_client(
        &common::node(),
        &[script, "--a", &a, "--b", &b],
        Duration::from_secs(60),
    )
    .await;
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains(r#""ok":true"#), "{summary}");
}

/// On a single server (the in-memory adapter), nothing hears a server-side emit and nobody
/// answers: the actions succeed with nothing to do.
#[tokio::test]
async fn a_single_server_has_no_one_to_tell() {
    let (_layer, io) = SocketIo::new_layer();
    let ns = io.ns("/", |_: SocketRef| {});
    ns.on_server_side("who", |_| vec![Value::from("me")]);
    assert_eq!(io.server_count().await.unwrap(), 1);
    io.server_side_emit("who", &"x").await.unwrap();
    let answers: Vec<Result<String, _>> = io.server_side_emit_with_ack("who", &"x").await.unwrap();
    assert!(answers.is_empty());
    // The listener is there for messages from other servers.
    assert_eq!(
        ns.receive_server_side("who", vec![]),
        Some(vec![Value::from("me")])
    );
    assert_eq!(ns.receive_server_side("nobody", vec![]), None);
}
