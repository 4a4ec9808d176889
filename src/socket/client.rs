//! The Socket.IO client: one per Engine.IO session, routing packets to namespaces.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use bytes::Bytes;

use super::{
    packet::{self, Decoded, Packet, PacketData, PartialPacket},
    socket::{Socket, SocketRef, frames_of},
};
use crate::{
    DisconnectReason,
    engine::{self, EngineHandler, Frame, SendError, Session, Str},
    extract::{ConnectError, ConnectParts},
    handler::run_inline,
    io::IoInner,
    value::Value,
};

/// How many packets a namespace may receive while its connection is being set up (async
/// middleware running): they are held and delivered in order once it is connected. The official
/// clients send nothing before the server's CONNECT answer, so only a misbehaving client reaches
/// this; it is disconnected rather than growing the server's memory.
const MAX_HELD_WHILE_CONNECTING: usize = 1024;

pub(crate) struct Client {
    pub(crate) session: Session,
    pub(crate) io: Arc<IoInner>,
    sockets: Mutex<HashMap<String, SocketRef>>,
    /// Namespaces whose connection is under way, with the packets that arrived meanwhile.
    connecting: Mutex<HashMap<String, Vec<Packet>>>,
    partial: Mutex<Option<PartialPacket>>,
    /// Told when a namespace connection succeeds: the connect timeout's task ends then.
    joined: tokio::sync::Notify,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Encodes a packet into Engine.IO frames: the text packet, then its attachments.
pub(crate) fn encode_frames(packet: &Packet) -> Vec<Frame> {
    let enc = packet::encode_message(packet);
    frames_of(enc.text, enc.attachments)
}

impl Client {
    pub(crate) fn send_packet(&self, packet: &Packet) -> Result<(), SendError> {
        self.session.send_many(encode_frames(packet))
    }

    fn parse_error(&self, why: &dyn std::fmt::Display) {
        tracing::debug!(sid = %self.session.id(), error = %why, "Socket.IO parse error");
        self.session
            .close_with(engine::DisconnectReason::PacketParsing);
    }

    fn on_text(self: &Arc<Self>, msg: Str) {
        if lock(&self.partial).is_some() {
            return self.parse_error(&"text packet while binary attachments were expected");
        }
        match packet::decode(&msg, &self.io.config.decode_limits()) {
            Ok(Decoded::Complete(p)) => self.dispatch(p),
            Ok(Decoded::Partial(p)) => *lock(&self.partial) = Some(p),
            Err(e) => self.parse_error(&e),
        }
    }

    fn on_binary(self: &Arc<Self>, data: Bytes) {
        let done = {
            let mut partial = lock(&self.partial);
            let Some(p) = partial.as_mut() else {
                drop(partial);
                return self.parse_error(&"unexpected binary message");
            };
            match p.push(data) {
                Ok(Some(packet)) => {
                    *partial = None;
                    Ok(packet)
                }
                Ok(None) => return,
                Err(e) => Err(e),
            }
        };
        match done {
            Ok(packet) => self.dispatch(packet),
            Err(e) => self.parse_error(&e),
        }
    }

    fn dispatch(self: &Arc<Self>, packet: Packet) {
        if let PacketData::Connect(auth) = packet.data {
            return self.connect(packet.ns, auth);
        }
        {
            let mut connecting = lock(&self.connecting);
            if let Some(buffer) = connecting.get_mut(&packet.ns) {
                if buffer.len() >= MAX_HELD_WHILE_CONNECTING {
                    drop(connecting);
                    tracing::debug!(
                        sid = %self.session.id(),
                        ns = %packet.ns,
                        "too many packets while the namespace connection is being set up"
                    );
                    return self
                        .session
                        .close_with(engine::DisconnectReason::TransportError);
                }
                buffer.push(packet);
                return;
            }
        }
        let socket = lock(&self.sockets).get(&packet.ns).cloned();
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
            ns: ns.to_owned(),
            data: PacketData::ConnectError(Value::from(obj)),
            id: None,
        };
        let _ = self.send_packet(&packet);
    }

    fn connect(self: &Arc<Self>, path: String, auth: Option<Value>) {
        if lock(&self.sockets).contains_key(&path) || lock(&self.connecting).contains_key(&path) {
            tracing::debug!(ns = %path, "second CONNECT for a namespace, ignored");
            return;
        }
        let Some(ns) = self.io.namespace_for(&path) else {
            return self.connect_error(&path, ConnectError::new("Invalid namespace"));
        };
        lock(&self.connecting).insert(path.clone(), Vec::new());
        let socket = Socket::new_ref(self.clone(), ns.clone(), auth.as_ref());
        let client = self.clone();
        run_inline(async move {
            let parts = || ConnectParts {
                socket: socket.clone(),
                auth: auth.clone(),
            };
            for mw in ns.middlewares() {
                if let Err(e) = mw.call(parts()).await {
                    lock(&client.connecting).remove(&path);
                    // A dynamic child created for this attempt goes if it stays empty.
                    client.io.remove_child_ns(&path);
                    tracing::debug!(ns = %path, error = %e.message, "connection refused by middleware");
                    return client.connect_error(&path, e);
                }
            }
            let handler = match ns.connect.call(parts()) {
                Ok(fut) => fut,
                Err(e) => {
                    lock(&client.connecting).remove(&path);
                    client.io.remove_child_ns(&path);
                    e.log("connect handler");
                    return client.connect_error(&path, ConnectError::new(e.to_string()));
                }
            };
            if client.session.is_closed() {
                lock(&client.connecting).remove(&path);
                client.io.remove_child_ns(&path);
                return;
            }
            socket.mark_connected();
            ns.insert(socket.clone());
            ns.adapter().add_all(socket.id(), &[socket.id().to_owned()]);
            let ok = Packet {
                ns: path.clone(),
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
            drop(connecting);
            // The connection may have closed while the socket was being set up, after the
            // close went through the client's sockets: close this one too.
            if let Some(reason) = client.session.close_reason() {
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

fn client_of(session: &Session) -> Option<Arc<Client>> {
    let upper = session.0.upper.read().unwrap_or_else(|p| p.into_inner());
    upper.clone().and_then(|a| a.downcast::<Client>().ok())
}

/// The Socket.IO layer as the engine's handler.
pub(crate) struct IoHandler(pub(crate) Arc<IoInner>);

impl EngineHandler for IoHandler {
    fn on_connect(&self, session: &Session) {
        let client = Arc::new(Client {
            session: session.clone(),
            io: self.0.clone(),
            sockets: Mutex::default(),
            connecting: Mutex::default(),
            partial: Mutex::default(),
            joined: tokio::sync::Notify::new(),
        });
        *session.0.upper.write().unwrap_or_else(|p| p.into_inner()) = Some(client.clone());
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

    fn on_message(&self, session: &Session, msg: Str) {
        if let Some(c) = client_of(session) {
            c.on_text(msg);
        }
    }

    fn on_binary(&self, session: &Session, data: Bytes) {
        if let Some(c) = client_of(session) {
            c.on_binary(data);
        }
    }

    fn on_disconnect(&self, session: &Session, reason: engine::DisconnectReason) {
        if let Some(c) = client_of(session) {
            c.on_close(reason);
        }
    }
}
