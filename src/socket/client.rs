//! The Socket.IO client: one per Engine.IO session, routing packets to namespaces.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicUsize, Ordering},
    },
};

use bytes::Bytes;

use super::{
    DisconnectReason,
    erased::{ConnectError, ConnectParts, run_inline},
    registry::IoInner,
    socket::{Socket, SocketRef},
};
use crate::{
    engine::{self, EngineHandler, SendError, Session, SessionHandler, Str, WeakSession},
    protocol::{DecodeState, Packet, PacketData, ParseError, value::Value},
    sync::lock,
};

/// How many packets a namespace may receive while its connection is being set up (async
/// middleware running): they are held and delivered in order once it is connected. The official
/// clients send nothing before the server's CONNECT answer, so only a misbehaving client reaches
/// this; it is disconnected rather than growing the server's memory.
const MAX_HELD_WHILE_CONNECTING: usize = 1024;

pub(crate) struct Client {
    /// The session, held weakly: the session holds its client (its handler) for as long as
    /// it lives. The hot paths send through each socket's own handle.
    session: WeakSession,
    pub(crate) io: Arc<IoInner>,
    /// This client, for the connection tasks it starts.
    me: Weak<Client>,
    sockets: Mutex<HashMap<String, SocketRef>>,
    /// Namespaces whose connection is under way, with the packets that arrived meanwhile.
    connecting: Mutex<HashMap<String, Vec<Packet>>>,
    /// How many entries `connecting` has, kept under its lock: a packet skips the lock when
    /// none (nearly always). Lowered only once what was held has been delivered, so a packet
    /// that skips the lock never overtakes one being delivered.
    connecting_count: AtomicUsize,
    /// The parser's state between two messages (a packet waiting for its attachments).
    decoding: Mutex<DecodeState>,
    /// Told when a namespace connection succeeds: the connect timeout's task ends then.
    joined: tokio::sync::Notify,
}

impl Client {
    /// Records how many namespace connections are under way (under the `connecting` lock).
    fn counted(&self, connecting: &HashMap<String, Vec<Packet>>) {
        self.connecting_count
            .store(connecting.len(), Ordering::Release);
    }

    /// Gives up a namespace connection under way, dropping what arrived for it.
    fn stop_connecting(&self, path: &str) {
        let mut connecting = lock(&self.connecting);
        connecting.remove(path);
        self.counted(&connecting);
    }

    /// The session, while it is alive.
    pub(crate) fn session(&self) -> Option<Session> {
        self.session.upgrade()
    }

    fn send_packet(&self, packet: &Packet) -> Result<(), SendError> {
        let session = self.session().ok_or(SendError::Closed)?;
        session.send_many(self.io.parser.encode(packet))
    }

    /// Closes the session for a protocol violation.
    fn violation(&self, reason: engine::DisconnectReason, why: &dyn std::fmt::Display) {
        if let Some(session) = self.session() {
            engine::session_warn!(session, error = %why, "Socket.IO protocol violation, closing the session");
            session.close_with(reason);
        }
    }

    fn parse_error(&self, why: &dyn std::fmt::Display) {
        self.violation(engine::DisconnectReason::PacketParsing, why);
    }

    fn decoded(&self, decoded: Result<Option<Packet>, ParseError>) {
        match decoded {
            Ok(Some(packet)) => self.dispatch(packet),
            Ok(None) => {}
            Err(e) => self.parse_error(&e),
        }
    }

    fn on_text(&self, msg: Str) {
        let limits = self.io.config.decode_limits();
        let decoded = self
            .io
            .parser
            .decode_text(msg, &mut lock(&self.decoding), &limits);
        self.decoded(decoded);
    }

    fn on_binary(&self, data: Bytes) {
        let limits = self.io.config.decode_limits();
        let decoded = self
            .io
            .parser
            .decode_binary(data, &mut lock(&self.decoding), &limits);
        self.decoded(decoded);
    }

    fn dispatch(&self, packet: Packet) {
        if let PacketData::Connect(auth) = packet.data {
            return self.connect(packet.ns.into_string(), auth);
        }
        if self.connecting_count.load(Ordering::Acquire) > 0 {
            let mut connecting = lock(&self.connecting);
            if let Some(buffer) = connecting.get_mut(packet.ns.as_str()) {
                if buffer.len() >= MAX_HELD_WHILE_CONNECTING {
                    drop(connecting);
                    return self.violation(
                        engine::DisconnectReason::TransportError,
                        &format_args!(
                            "too many packets for {} while its connection is being set up",
                            packet.ns
                        ),
                    );
                }
                buffer.push(packet);
                return;
            }
        }
        let socket = lock(&self.sockets).get(packet.ns.as_str()).cloned();
        let Some(socket) = socket else {
            tracing::debug!(ns = %packet.ns, "packet for a namespace the client has not joined");
            return;
        };
        Self::deliver(&socket, packet);
    }

    fn deliver(socket: &SocketRef, packet: Packet) {
        match packet.data {
            PacketData::Event { event, args } => socket.on_event(event, args, packet.id),
            PacketData::Ack(args) => match packet.id {
                Some(id) => socket.on_ack(id, args),
                None => socket.client.parse_error(&"ack without id"),
            },
            PacketData::Disconnect => socket.close(DisconnectReason::ClientNamespaceDisconnect),
            PacketData::Connect(_) => {}
            PacketData::ConnectError(_) => {
                socket.client.parse_error(&"CONNECT_ERROR from a client")
            }
        }
    }

    fn connect_error(&self, ns: &str, err: ConnectError) {
        let mut obj = serde_json::json!({ "message": err.message });
        if let Some(data) = err.data {
            obj["data"] = data;
        }
        let packet = Packet {
            ns: ns.into(),
            data: PacketData::ConnectError(Value::from(obj)),
            id: None,
        };
        let _ = self.send_packet(&packet);
    }

    fn connect(&self, path: String, auth: Option<Value>) {
        let (Some(me), Some(session)) = (self.me.upgrade(), self.session()) else {
            return;
        };
        if lock(&self.sockets).contains_key(&path) || lock(&self.connecting).contains_key(&path) {
            tracing::debug!(ns = %path, "second CONNECT for a namespace, ignored");
            return;
        }
        let Some(ns) = self.io.namespace_for(&path) else {
            return self.connect_error(&path, ConnectError::new("Invalid namespace"));
        };
        {
            let mut connecting = lock(&self.connecting);
            connecting.insert(path.clone(), Vec::new());
            self.counted(&connecting);
        }
        let socket = Socket::new_ref(me.clone(), session.clone(), ns.clone(), auth.as_ref());
        let client = me;
        run_inline(async move {
            let parts = || ConnectParts {
                socket: socket.clone(),
                auth: auth.clone(),
            };
            for mw in ns.middlewares() {
                if let Err(e) = mw.call(parts()).await {
                    client.stop_connecting(&path);
                    // A dynamic child created for this attempt goes if it stays empty.
                    client.io.remove_child_ns(&path);
                    tracing::debug!(ns = %path, error = %e.message, "connection refused by middleware");
                    return client.connect_error(&path, e);
                }
            }
            let handler = match ns.connect.call(parts()) {
                Ok(fut) => fut,
                Err(e) => {
                    client.stop_connecting(&path);
                    client.io.remove_child_ns(&path);
                    e.log("connect handler");
                    return client.connect_error(&path, ConnectError::new(e.to_string()));
                }
            };
            if session.is_closed() {
                client.stop_connecting(&path);
                client.io.remove_child_ns(&path);
                return;
            }
            socket.mark_connected();
            ns.insert(socket.clone());
            ns.adapter().add_all(socket.id(), &[socket.id().to_owned()]);
            client.io.observe(|o| o.connected(&socket));
            let ok = Packet {
                ns: ns.name.clone(),
                data: PacketData::Connect(Some(Value::from(
                    serde_json::json!({ "sid": socket.id() }),
                ))),
                id: None,
            };
            let _ = socket.send_packet(&ok);
            run_inline(handler);
            // Deliver what arrived while connecting, in order, then route directly. The connect
            // handler may have disconnected the socket already: then it is not routed to (a new
            // CONNECT for the namespace must be possible), and what arrived meanwhile is dropped.
            // Checked under the sockets lock, so that a concurrent close removes what is inserted.
            let mut connecting = lock(&client.connecting);
            let buffered = connecting.remove(&path).unwrap_or_default();
            let routed = {
                let mut sockets = lock(&client.sockets);
                let connected = socket.connected();
                if connected {
                    sockets.insert(path.clone(), socket.clone());
                }
                connected
            };
            if routed {
                client.joined.notify_one();
                for p in buffered {
                    if !socket.connected() {
                        break;
                    }
                    Self::deliver(&socket, p);
                }
            }
            client.counted(&connecting);
            drop(connecting);
            // The connection may have closed while the socket was being set up, after the
            // close went through the client's sockets: close this one too.
            if let Some(reason) = session.close_reason() {
                socket.close(reason.into());
            }
        });
    }

    pub(crate) fn remove_socket(&self, ns: &str) {
        lock(&self.sockets).remove(ns);
    }

    fn has_sockets(&self) -> bool {
        !lock(&self.sockets).is_empty() || !lock(&self.connecting).is_empty()
    }

    fn on_close(&self, reason: engine::DisconnectReason) {
        let reason = DisconnectReason::from(reason);
        let sockets: Vec<SocketRef> = lock(&self.sockets).values().cloned().collect();
        for s in sockets {
            s.close(reason);
        }
    }
}

impl SessionHandler for Client {
    fn on_message(&self, msg: Str) {
        self.on_text(msg);
    }

    fn on_binary(&self, data: Bytes) {
        Client::on_binary(self, data);
    }

    fn on_disconnect(&self, reason: engine::DisconnectReason) {
        self.on_close(reason);
    }
}

/// The Socket.IO layer as the engine's handler: it attaches a [`Client`] to each session.
pub(crate) struct IoHandler(pub(crate) Arc<IoInner>);

impl EngineHandler for IoHandler {
    fn on_connect(&self, session: &Session) {
        let client = Arc::new_cyclic(|me| Client {
            session: session.downgrade(),
            io: self.0.clone(),
            me: me.clone(),
            sockets: Mutex::default(),
            connecting: Mutex::default(),
            connecting_count: AtomicUsize::new(0),
            decoding: Mutex::default(),
            joined: tokio::sync::Notify::new(),
        });
        // A session's first and only handler.
        let _ = session.attach(client.clone());
        let timeout = self.0.config.connect_timeout;
        let session = session.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(timeout) => {
                    if !client.has_sockets() {
                        tracing::debug!(sid = %session.id(), "no namespace joined in time, closing");
                        session.close();
                    }
                }
                () = client.joined.notified() => {}
                _ = session.closed() => {}
            }
        });
    }

    // Every session has its client attached: messages go there.
    fn on_message(&self, _: &Session, _: Str) {}

    fn on_binary(&self, _: &Session, _: Bytes) {}
}
