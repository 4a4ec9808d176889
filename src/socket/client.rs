//! The Socket.IO client: one per Engine.IO session, routing packets to namespaces.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicUsize, Ordering},
    },
};

use bytes::Bytes;
use tracing::Instrument;

use super::{
    DisconnectReason,
    erased::{ConnectError, ConnectParts, run_inline},
    registry::IoInner,
    socket::{Socket, SocketRef},
};
use crate::{
    adapter::{LocalSocket, Queued},
    engine::{
        self, EioVersion, EngineHandler, SendError, Session, SessionHandler, Str, WeakSession,
    },
    protocol::{DecodeState, Packet, PacketData, ParseError, value::Value},
    sync::lock,
};

/// How many packets a namespace may receive while its connection is being set up (async
/// middleware running): they are held and delivered in order once it is connected. The official
/// clients send nothing before the server's CONNECT answer, so only a misbehaving client reaches
/// this; it is disconnected rather than growing the server's memory.
const MAX_HELD_WHILE_CONNECTING: usize = 1024;

/// What a CONNECT asks of connection state recovery: the private id, and the last offset the
/// client received (absent when it received none). Only strings count.
fn recovery_request(auth: Option<&Value>) -> Option<(String, Option<String>)> {
    let auth = auth?;
    let pid = auth.get("pid")?.as_str()?.to_owned();
    let offset = auth
        .get("offset")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some((pid, offset))
}

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
    /// An Engine.IO v3 session: the client speaks Socket.IO's v4 protocol.
    pub(super) eio3: bool,
}

impl Client {
    /// The sockets of this connection, one per connected namespace.
    pub(super) fn sockets(&self) -> Vec<SocketRef> {
        lock(&self.sockets).values().cloned().collect()
    }

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
            if self.eio3 {
                // The v4 protocol has no auth payload: the namespace's query stands for it.
                let (path, auth) = eio3_namespace(packet.ns.as_str());
                return self.connect(path, auth);
            }
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

    /// Refuses a namespace connection: CONNECT_ERROR with `{message, data}` (the v4
    /// protocol's ERROR packet: the error's data, or else its message, as the reference sends).
    fn connect_error(&self, ns: &str, err: ConnectError) {
        let data = if self.eio3 {
            err.data.unwrap_or(serde_json::Value::String(err.message))
        } else {
            let mut obj = serde_json::json!({ "message": err.message });
            if let Some(data) = err.data {
                obj["data"] = data;
            }
            obj
        };
        self.refuse(ns, data);
    }

    fn refuse(&self, ns: &str, data: serde_json::Value) {
        let packet = Packet {
            ns: ns.into(),
            data: PacketData::ConnectError(Value::from(data)),
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
            // Whatever the protocol, as the reference.
            return self.refuse(&path, serde_json::json!({ "message": "Invalid namespace" }));
        };
        {
            let mut connecting = lock(&self.connecting);
            connecting.insert(path.clone(), Vec::new());
            self.counted(&connecting);
        }
        // A v2 client computes its socket's id from the session's, and so does the reference
        // for it: `/nsp#<sid>`, or the session id in the main namespace. It knows no recovery.
        let id = self.eio3.then(|| match path.as_str() {
            "/" => Arc::<str>::from(session.id()),
            ns => Arc::from(format!("{ns}#{}", session.id())),
        });
        let eio3 = self.eio3;
        let restore = ns
            .recovery
            .filter(|_| !eio3)
            .and_then(|_| recovery_request(auth.as_ref()));
        let client = me;
        // The socket's span exists once its id is known (after a restore): until then, the
        // session's.
        let span = session.span().clone();
        run_inline(async move {
            let restored = match restore {
                Some((pid, offset)) => match ns.adapter().restore_session(pid, offset).await {
                    Ok(restored) => restored,
                    Err(e) => {
                        tracing::debug!(ns = %path, error = %e, "session not restored");
                        None
                    }
                },
                None => None,
            };
            let socket = Socket::new_ref(
                client.clone(),
                session.clone(),
                ns.clone(),
                auth.as_ref(),
                restored.as_ref(),
                id,
            );
            if let Some(r) = &restored {
                ns.adapter().add_all(socket.id(), &r.info.rooms);
            }
            // Gives up the attempt: what was held for it, its rooms, a dynamic child created
            // for it if it stays empty.
            let give_up = || {
                client.stop_connecting(&path);
                if restored.is_some() {
                    ns.adapter().del_all(socket.id());
                }
                client.io.remove_child_ns(&path);
            };
            let parts = || ConnectParts {
                socket: socket.clone(),
                auth: auth.clone(),
            };
            let skip = restored.is_some() && ns.recovery.is_some_and(|r| r.skip_middlewares);
            let middlewares = if skip { Vec::new() } else { ns.middlewares() };
            for mw in middlewares {
                if let Err(e) = mw.call(parts()).instrument(socket.span().clone()).await {
                    ns.metrics.refused.increment(1);
                    give_up();
                    tracing::debug!(ns = %path, error = %e.message, "connection refused by middleware");
                    return client.connect_error(&path, e);
                }
            }
            let handler = match ns.connect.call(parts()) {
                Ok(fut) => fut,
                Err(e) => {
                    give_up();
                    e.log("connect handler");
                    return client.connect_error(&path, ConnectError::new(e.to_string()));
                }
            };
            if session.is_closed() {
                give_up();
                return;
            }
            // The v4 protocol's CONNECT answer has no payload.
            let reply = (!eio3).then(|| {
                let mut reply = serde_json::json!({ "sid": socket.id() });
                if let Some(pid) = socket.pid() {
                    reply["pid"] = pid.into();
                }
                Value::from(reply)
            });
            let ok = Packet {
                ns: ns.name.clone(),
                data: PacketData::Connect(reply),
                id: None,
            };
            match &restored {
                Some(r) => {
                    // The missed events, then the CONNECT reply, with no broadcast in between:
                    // the adapter holds its deliveries while the socket becomes a recipient.
                    let mut after = Vec::new();
                    ns.adapter().resume_session(r, &mut |missed| {
                        socket.mark_connected();
                        ns.insert(socket.clone());
                        for p in missed {
                            let queued = LocalSocket::queue(&socket, p, false);
                            if queued == Queued::Full {
                                after.push((p.clone(), queued));
                            }
                        }
                        let _ = socket.send_packet(&ok);
                    });
                    for (p, queued) in after {
                        socket.after_queue(&p, queued);
                    }
                    tracing::debug!(sid = %socket.id(), ns = %path, "socket recovered");
                }
                None => {
                    socket.mark_connected();
                    ns.insert(socket.clone());
                    ns.adapter().add_all(socket.id(), &[socket.id().to_owned()]);
                    let _ = socket.send_packet(&ok);
                }
            }
            client.io.observe(|o| o.connected(&socket));
            run_inline(handler.instrument(socket.span().clone()));
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
                // Out of the bounds on sessions that have not connected a namespace.
                session.admit();
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
        }
        .instrument(span));
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

/// A v4-protocol CONNECT's namespace, `/path?query`: the path, and the query as the auth
/// object (each value a string; the last of a repeated key wins, as the reference reads it).
fn eio3_namespace(ns: &str) -> (String, Option<Value>) {
    let Some((path, query)) = ns.split_once('?') else {
        return (ns.to_owned(), None);
    };
    let auth: serde_json::Map<String, serde_json::Value> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
        .collect();
    (
        path.to_owned(),
        Some(Value::from(serde_json::Value::Object(auth))),
    )
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
            eio3: session.protocol() == EioVersion::V3,
        });
        // A session's first and only handler.
        let _ = session.attach(client.clone());
        if client.eio3 {
            // A v2 client sends no CONNECT for the main namespace: it is joined at once.
            client.connect("/".to_owned(), None);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_eio3_namespace_query_is_the_auth() {
        assert_eq!(eio3_namespace("/admin"), ("/admin".to_owned(), None));
        let (path, auth) = eio3_namespace("/admin?token=a%20b&name=J%C3%BCrgen+x&token=c");
        assert_eq!(path, "/admin");
        assert_eq!(
            auth.map(Value::into_json),
            Some(serde_json::json!({ "token": "c", "name": "Jürgen x" }))
        );
        let (path, auth) = eio3_namespace("/?");
        assert_eq!(path, "/");
        assert_eq!(auth.map(Value::into_json), Some(serde_json::json!({})));
    }
}
