//! [`NsAdapter`]: the Redis adapter of one namespace. Local work goes to a [`LocalAdapter`];
//! what crosses servers goes through Redis, in the Node adapter's messages ([`super::wire`]).

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use futures_util::{StreamExt, stream::BoxStream};
use rand::Rng;
use tokio::sync::mpsc;

use super::{
    Shared,
    handshake::{socket_info, socket_value},
    wire::{self, Event, kind},
};
use crate::{
    adapter::{
        AckError, AckResponse, Adapter, AdapterError, BoxFuture, BroadcastOptions, EncodedPacket,
        LocalAdapter, LocalNamespaceRef, PersistedSession, RestoredSession, Room, SocketInfo,
    },
    protocol::{Packet, PacketData, value::Value},
    sync::lock,
};

/// What a subscribed channel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    /// `P#N#*`: broadcasts.
    Broadcast,
    /// `P-request#N#`: requests.
    Request,
    /// `P-response#N#` and `P-response#N#<uid>#`: responses.
    Response,
}

/// `n` characters from uid2's alphabet.
/// Requests to the other servers that wait for their answers, by type (`all_rooms`,
/// `fetch_sockets`, `server_side_emit`) and outcome (`complete`, `timeout`, `error`) (counter).
pub(crate) const ADAPTER_REQUESTS: &str = "socketio_adapter_requests_total";
/// The time from a request to its last answer (or its timeout), by type (histogram, seconds).
pub(crate) const ADAPTER_REQUEST_DURATION: &str = "socketio_adapter_request_duration_seconds";

fn random_id(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The Redis adapter of one namespace.
pub(crate) struct NsAdapter {
    me: Weak<NsAdapter>,
    local: LocalAdapter,
    ns: LocalNamespaceRef,
    /// This adapter's id in the cluster (one per namespace and server, as in Node).
    uid: String,
    shared: Arc<Shared>,
    /// The requests waiting for responses, by request id.
    pending: Mutex<HashMap<String, mpsc::UnboundedSender<Value>>>,
}

impl fmt::Debug for NsAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisNsAdapter")
            .field("ns", &self.ns.path())
            .field("uid", &self.uid)
            .finish()
    }
}

impl Drop for NsAdapter {
    fn drop(&mut self) {
        self.shared.forget(self.ns.path(), &self.uid);
    }
}

/// A request's registration: removed when dropped, unless handed over with
/// [`Pending::hand_over`].
struct Pending<'a> {
    adapter: &'a NsAdapter,
    id: String,
    rx: mpsc::UnboundedReceiver<Value>,
    armed: bool,
}

impl Pending<'_> {
    /// The receiver, for a task that removes the registration itself.
    fn hand_over(mut self) -> mpsc::UnboundedReceiver<Value> {
        self.armed = false;
        let (_, empty) = mpsc::unbounded_channel();
        std::mem::replace(&mut self.rx, empty)
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.armed {
            lock(&self.adapter.pending).remove(&self.id);
        }
    }
}

impl NsAdapter {
    pub(crate) fn new(ns: LocalNamespaceRef, shared: Arc<Shared>) -> Arc<Self> {
        Arc::new_cyclic(|me| NsAdapter {
            me: me.clone(),
            local: LocalAdapter::new(ns.clone()),
            ns,
            uid: random_id(6),
            shared,
            pending: Mutex::default(),
        })
    }

    pub(crate) fn path(&self) -> &str {
        self.ns.path()
    }

    pub(crate) fn uid(&self) -> &str {
        &self.uid
    }

    fn prefix(&self) -> &str {
        &self.shared.config().key
    }

    fn request_channel(&self) -> String {
        format!("{}-request#{}#", self.prefix(), self.path())
    }

    fn response_channel(&self) -> String {
        format!("{}-response#{}#", self.prefix(), self.path())
    }

    fn timeout(&self) -> Duration {
        self.shared.config().requests_timeout
    }

    /// Registers a request id for responses.
    fn register(&self) -> (String, Pending<'_>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut pending = lock(&self.pending);
        let id = loop {
            let id = random_id(12);
            if !pending.contains_key(&id) {
                break id;
            }
        };
        pending.insert(id.clone(), tx);
        (
            id.clone(),
            Pending {
                adapter: self,
                id,
                rx,
                armed: true,
            },
        )
    }

    fn is_pending(&self, id: Option<&str>) -> bool {
        id.is_some_and(|id| lock(&self.pending).contains_key(id))
    }

    /// Publishes a request of type `kind` and gathers `expected` responses within the request
    /// timeout; the responses so far and whether all came. Counted and timed in the adapter
    /// metrics ([`ADAPTER_REQUESTS`], [`ADAPTER_REQUEST_DURATION`]).
    async fn request(
        &self,
        kind: &'static str,
        pending: &mut Pending<'_>,
        payload: Vec<u8>,
        expected: usize,
        timeout: Duration,
    ) -> Result<(Vec<Value>, bool), AdapterError> {
        let start = std::time::Instant::now();
        let outcome = self.gather(pending, payload, expected, timeout).await;
        let label = match &outcome {
            Ok((_, true)) => "complete",
            Ok((_, false)) => "timeout",
            Err(_) => "error",
        };
        metrics::histogram!(ADAPTER_REQUEST_DURATION, "type" => kind).record(start.elapsed());
        metrics::counter!(ADAPTER_REQUESTS, "type" => kind, "outcome" => label).increment(1);
        outcome
    }

    async fn gather(
        &self,
        pending: &mut Pending<'_>,
        payload: Vec<u8>,
        expected: usize,
        timeout: Duration,
    ) -> Result<(Vec<Value>, bool), AdapterError> {
        self.shared.publish(self.request_channel(), payload).await?;
        let mut got = Vec::with_capacity(expected);
        let deadline = tokio::time::Instant::now() + timeout;
        while got.len() < expected {
            match tokio::time::timeout_at(deadline, pending.rx.recv()).await {
                Ok(Some(v)) => got.push(v),
                Ok(None) | Err(_) => return Ok((got, false)),
            }
        }
        Ok((got, true))
    }

    /// How many other servers serve this namespace.
    async fn others(&self) -> Result<usize, AdapterError> {
        let n = self.shared.numsub(&self.request_channel()).await?;
        Ok(usize::try_from(n.saturating_sub(1)).unwrap_or(usize::MAX))
    }

    /// A packet from another node, encoded for this node's sockets.
    fn local_packet(&self, event: Event, id: Option<u64>) -> Option<EncodedPacket> {
        let ns = self.ns.upgrade()?;
        let packet = Packet {
            ns: self.path().into(),
            data: PacketData::Event {
                event: event.event,
                args: event.args,
            },
            id,
        };
        let frames = ns.encode(&packet);
        let PacketData::Event { event, args } = packet.data else {
            return None;
        };
        Some(EncodedPacket::event_packet(frames, event, args))
    }

    /// A message from Redis on one of this namespace's channels.
    pub(crate) async fn on_message(&self, channel: Channel, name: &str, payload: &[u8]) {
        let done = match channel {
            Channel::Broadcast => {
                // A broadcast to one room that no socket here is in: dropped before decoding,
                // as Node does.
                let base = format!("{}#{}#", self.prefix(), self.path());
                let room = name
                    .strip_prefix(base.as_str())
                    .and_then(|rest| rest.strip_suffix('#'));
                match room {
                    Some(room) if !self.local.has_room(room) => return,
                    _ => self.on_broadcast(payload).await,
                }
            }
            Channel::Request => self.on_request(payload).await,
            Channel::Response => self.on_response(payload),
        };
        if let Err(e) = done {
            tracing::warn!(
                channel = name,
                "redis adapter: dropped a malformed message: {e}"
            );
        }
    }

    async fn on_broadcast(&self, payload: &[u8]) -> Result<(), wire::WireError> {
        let b = wire::decode_broadcast(payload, self.path())?;
        if b.uid.as_deref() == Some(self.uid.as_str()) {
            return Ok(());
        }
        if let Some(packet) = self.local_packet(b.event, None) {
            let _ = self.local.broadcast(packet, b.opts).await;
        }
        Ok(())
    }

    fn on_response(&self, payload: &[u8]) -> Result<(), wire::WireError> {
        let v = wire::decode_any(payload)?;
        let Some(id) = wire::string(&v, "requestId") else {
            return Err(wire::WireError::Shape("a response without requestId"));
        };
        let tx = lock(&self.pending).get(id).cloned();
        if let Some(tx) = tx {
            let _ = tx.send(v);
        }
        Ok(())
    }

    /// Answers on the shared response channel, in the background.
    fn respond(&self, payload: Vec<u8>) {
        let Some(me) = self.me.upgrade() else { return };
        tokio::spawn(async move {
            if let Err(e) = me.shared.publish(me.response_channel(), payload).await {
                tracing::warn!("redis adapter: cannot answer a request: {e}");
            }
        });
    }

    async fn on_request(&self, payload: &[u8]) -> Result<(), wire::WireError> {
        let v = wire::decode_any(payload)?;
        let request_id = wire::string(&v, "requestId");
        let uid = wire::string(&v, "uid");
        let own = uid == Some(self.uid.as_str());
        let Some(ty) = wire::int(&v, "type") else {
            return Err(wire::WireError::Shape("a request without type"));
        };
        // Types 2 to 5 act on a selection: without one (the legacy per-socket form), nothing.
        let opts = || match v.get("opts") {
            Some(o) => wire::read_opts(Some(o)),
            None => Err(wire::WireError::Shape("a request without opts")),
        };
        match ty {
            // Its own requests (their ids are pending here) are for the others.
            0 | kind::ALL_ROOMS | kind::REMOTE_FETCH | kind::BROADCAST
                if own || self.is_pending(request_id) =>
            {
                Ok(())
            }
            0 => {
                let Some(id) = request_id else {
                    return Err(wire::WireError::Shape("a request without requestId"));
                };
                let rooms: BTreeSet<Room> = wire::rooms(v.get("rooms"))?.into_iter().collect();
                let opts = BroadcastOptions {
                    rooms: rooms.into_iter().collect(),
                    ..Default::default()
                };
                let sockets = self.local.fetch_sockets(opts).await.unwrap_or_default();
                let ids: Value = sockets.iter().map(|s| Value::from(s.id.as_str())).collect();
                self.respond(wire::sockets_response(id, ids));
                Ok(())
            }
            kind::ALL_ROOMS => {
                let Some(id) = request_id else {
                    return Err(wire::WireError::Shape("a request without requestId"));
                };
                let rooms = self.local.rooms(BroadcastOptions::default()).await;
                let rooms: Value = rooms
                    .unwrap_or_default()
                    .iter()
                    .map(|r| Value::from(r.as_str()))
                    .collect();
                self.respond(wire::rooms_response(id, rooms));
                Ok(())
            }
            // This node applied its own change already.
            kind::REMOTE_JOIN | kind::REMOTE_LEAVE | kind::REMOTE_DISCONNECT if own => Ok(()),
            kind::REMOTE_JOIN | kind::REMOTE_LEAVE => {
                let opts = opts()?;
                let rooms = wire::rooms(v.get("rooms"))?;
                let _ = if ty == kind::REMOTE_JOIN {
                    self.local.add_sockets(opts, rooms).await
                } else {
                    self.local.del_sockets(opts, rooms).await
                };
                Ok(())
            }
            kind::REMOTE_DISCONNECT => {
                let opts = opts()?;
                let close = v.get("close").and_then(Value::as_bool).unwrap_or(false);
                let _ = self.local.disconnect_sockets(opts, close).await;
                Ok(())
            }
            kind::REMOTE_FETCH => {
                let Some(id) = request_id else {
                    return Err(wire::WireError::Shape("a request without requestId"));
                };
                let sockets = self.local.fetch_sockets(opts()?).await.unwrap_or_default();
                let sockets: Value = sockets.iter().map(socket_value).collect();
                self.respond(wire::sockets_response(id, sockets));
                Ok(())
            }
            kind::SERVER_SIDE_EMIT if own => Ok(()),
            kind::SERVER_SIDE_EMIT => {
                let data =
                    v.get("data")
                        .and_then(Value::as_array)
                        .ok_or(wire::WireError::Shape(
                            "SERVER_SIDE_EMIT data must be an array",
                        ))?;
                let (event, args) = data
                    .split_first()
                    .and_then(|(e, rest)| Some((e.as_str()?, rest.to_vec())))
                    .ok_or(wire::WireError::Shape(
                        "SERVER_SIDE_EMIT data must start with its name",
                    ))?;
                let Some(ns) = self.ns.upgrade() else {
                    return Ok(());
                };
                // As in Node, a server without a listener does not answer.
                if let Some(answer) = ns.server_side(event, args)
                    && let Some(id) = request_id
                {
                    let first = answer.into_iter().next().unwrap_or(Value::Null);
                    self.respond(wire::server_side_response(id, first));
                }
                Ok(())
            }
            kind::BROADCAST => {
                let Some(id) = request_id else {
                    return Err(wire::WireError::Shape("a request without requestId"));
                };
                let packet = v
                    .get("packet")
                    .ok_or(wire::WireError::Shape("BROADCAST without packet"))?;
                let event = wire::read_event(packet, self.path())?;
                let opts = opts()?;
                let timeout = wire::ack_timeout_ms(v.get("opts"))
                    .map_or_else(|| self.timeout(), Duration::from_millis);
                self.answer_acks(id.to_owned(), event, opts, timeout);
                Ok(())
            }
            _ => Err(wire::WireError::Shape("an unknown request type")),
        }
    }

    /// A broadcast with acks from another node: sends it to the selected local sockets, tells
    /// the requester how many, then forwards each ack's first argument.
    fn answer_acks(
        &self,
        request_id: String,
        event: Event,
        opts: BroadcastOptions,
        timeout: Duration,
    ) {
        let Some(me) = self.me.upgrade() else { return };
        let Some(ns) = self.ns.upgrade() else { return };
        let ack_id = ns.next_ack_id();
        let Some(packet) = self.local_packet(event, Some(ack_id)) else {
            return;
        };
        let (count, mut answers) = self
            .local
            .broadcast_with_ack_counted(&packet, ack_id, &opts, timeout);
        tokio::spawn(async move {
            let channel = me.response_channel();
            let count_msg = wire::client_count_response(&request_id, count);
            if let Err(e) = me.shared.publish(channel.clone(), count_msg).await {
                tracing::warn!("redis adapter: cannot answer a broadcast with acks: {e}");
                return;
            }
            while let Some((_, answer)) = answers.next().await {
                let Ok(args) = answer else { continue };
                let first = args.into_iter().next().unwrap_or(Value::Null);
                let msg = wire::encode_ack_response(&request_id, &first);
                if let Err(e) = me.shared.publish(channel.clone(), msg).await {
                    tracing::warn!("redis adapter: cannot forward an ack: {e}");
                }
            }
        });
    }

    fn event_of(packet: &EncodedPacket) -> Result<(&str, &[Value]), AdapterError> {
        packet.event().ok_or_else(|| {
            AdapterError("redis: only events can be broadcast to other servers".to_owned())
        })
    }
}

impl Adapter for NsAdapter {
    fn add_all(&self, sid: &str, rooms: &[Room]) {
        self.local.add_all(sid, rooms);
    }

    fn del(&self, sid: &str, room: &str) {
        self.local.del(sid, room);
    }

    fn del_all(&self, sid: &str) {
        self.local.del_all(sid);
    }

    fn socket_rooms(&self, sid: &str) -> Vec<Room> {
        self.local.socket_rooms(sid)
    }

    /// This node's rooms only: the other nodes' would take a request.
    fn room_count(&self) -> Option<usize> {
        self.local.room_count()
    }

    fn rooms(&self, opts: BroadcastOptions) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>> {
        Box::pin(async move {
            let mut all: BTreeSet<Room> =
                self.local.rooms(opts.clone()).await?.into_iter().collect();
            if opts.local {
                return Ok(all.into_iter().collect());
            }
            let others = self.others().await?;
            if others == 0 {
                return Ok(all.into_iter().collect());
            }
            let (id, mut pending) = self.register();
            let msg = wire::all_rooms_request(&self.uid, &id);
            let (answers, complete) = self
                .request("all_rooms", &mut pending, msg, others, self.timeout())
                .await?;
            if !complete {
                return Err(AdapterError(
                    "redis: timeout reached while waiting for allRooms response".to_owned(),
                ));
            }
            for a in answers {
                if let Ok(rooms) = wire::rooms(a.get("rooms")) {
                    all.extend(rooms);
                }
            }
            Ok(all.into_iter().collect())
        })
    }

    fn broadcast(
        &self,
        packet: EncodedPacket,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            let remote = if opts.local {
                None
            } else {
                let (event, args) = Self::event_of(&packet)?;
                Some((
                    wire::broadcast_channel(self.prefix(), self.path(), &opts),
                    wire::encode_broadcast(&self.uid, self.path(), event, args, &opts),
                ))
            };
            // This node's sockets first: they get it whatever Redis does.
            self.local.broadcast(packet, opts).await?;
            if let Some((channel, payload)) = remote {
                self.shared.publish(channel, payload).await?;
            }
            Ok(())
        })
    }

    // Connection state recovery on this node: the local adapter keeps the sessions and the log
    // of what was delivered here. A client recovered on another node of the cluster is not
    // supported yet.
    fn persist_session(&self, session: PersistedSession) {
        self.local.persist_session(session);
    }

    fn restore_session(
        &self,
        pid: String,
        offset: Option<String>,
    ) -> BoxFuture<'_, Result<Option<RestoredSession>, AdapterError>> {
        self.local.restore_session(pid, offset)
    }

    fn resume_session(&self, session: &RestoredSession, resume: &mut dyn FnMut(&[EncodedPacket])) {
        self.local.resume_session(session, resume);
    }

    fn broadcast_with_ack(
        &self,
        packet: EncodedPacket,
        ack_id: u64,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<BoxStream<'static, AckResponse>, AdapterError>> {
        Box::pin(async move {
            if opts.local {
                return self
                    .local
                    .broadcast_with_ack(packet, ack_id, opts, timeout)
                    .await;
            }
            let Some(me) = self.me.upgrade() else {
                return Err(AdapterError("redis: the namespace is gone".to_owned()));
            };
            let (event, args) = Self::event_of(&packet)?;
            let others = self.others().await?;
            let (id, pending) = self.register();
            let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
            let msg = wire::encode_ack_request(
                &self.uid,
                &id,
                self.path(),
                event,
                args,
                &opts,
                timeout_ms,
            );
            // Published first: when Redis fails, nothing is sent at all.
            self.shared.publish(self.request_channel(), msg).await?;
            let (_, local) = self
                .local
                .broadcast_with_ack_counted(&packet, ack_id, &opts, timeout);
            let mut rx = pending.hand_over();
            let (tx, out) = mpsc::unbounded_channel::<AckResponse>();
            tokio::spawn(async move {
                let _keep = (&me, id.clone());
                let deadline = tokio::time::Instant::now() + timeout;
                let mut local = local.fuse();
                let mut local_done = false;
                let (mut counts, mut expected, mut acks) = (0usize, 0usize, 0usize);
                loop {
                    if local_done && counts >= others && acks >= expected {
                        break;
                    }
                    tokio::select! {
                        answer = local.next(), if !local_done => match answer {
                            Some(a) => { let _ = tx.send(a); }
                            None => local_done = true,
                        },
                        msg = rx.recv() => {
                            let Some(msg) = msg else { break };
                            match wire::int(&msg, "type") {
                                Some(kind::BROADCAST_CLIENT_COUNT) => {
                                    counts += 1;
                                    let n = wire::int(&msg, "clientCount").unwrap_or(0);
                                    expected += usize::try_from(n).unwrap_or(0);
                                }
                                Some(kind::BROADCAST_ACK) => {
                                    acks += 1;
                                    let arg = msg.get("packet").cloned().unwrap_or(Value::Null);
                                    // A remote ack names no socket.
                                    let _ = tx.send((String::new(), Ok(vec![arg])));
                                }
                                _ => {}
                            }
                        }
                        () = tokio::time::sleep_until(deadline) => {
                            // The acks announced but not received.
                            for _ in acks..expected {
                                let _ = tx.send((String::new(), Err(AckError::Timeout)));
                            }
                            // The local sockets' own timeouts end their stream.
                            while let Some(a) = local.next().await {
                                let _ = tx.send(a);
                            }
                            break;
                        }
                    }
                }
                lock(&me.pending).remove(&id);
            });
            Ok(futures_util::stream::unfold(out, |mut out| async move {
                out.recv().await.map(|a| (a, out))
            })
            .boxed())
        })
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<SocketInfo>, AdapterError>> {
        Box::pin(async move {
            let mut all = self.local.fetch_sockets(opts.clone()).await?;
            if opts.local {
                return Ok(all);
            }
            let others = self.others().await?;
            if others == 0 {
                return Ok(all);
            }
            let (id, mut pending) = self.register();
            let msg = wire::fetch_request(&self.uid, &id, &opts);
            let (answers, complete) = self
                .request("fetch_sockets", &mut pending, msg, others, self.timeout())
                .await?;
            if !complete {
                return Err(AdapterError(
                    "redis: timeout reached while waiting for fetchSockets response".to_owned(),
                ));
            }
            for a in answers {
                if let Some(sockets) = a.get("sockets").and_then(Value::as_array) {
                    all.extend(sockets.iter().filter_map(|s| socket_info(s, self.path())));
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
        Box::pin(async move {
            self.remote_rooms(kind::REMOTE_JOIN, &opts, &rooms).await?;
            self.local.add_sockets(opts, rooms).await
        })
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            self.remote_rooms(kind::REMOTE_LEAVE, &opts, &rooms).await?;
            self.local.del_sockets(opts, rooms).await
        })
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            // Published first: the local disconnects may end the very socket that asked.
            let remote = if opts.local {
                Ok(())
            } else {
                let msg = wire::disconnect_request(&self.uid, &opts, close);
                self.shared.publish(self.request_channel(), msg).await
            };
            self.local.disconnect_sockets(opts, close).await?;
            remote
        })
    }

    fn server_side_emit(
        &self,
        event: String,
        args: Vec<Value>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            let msg = wire::server_side_request(&self.uid, None, &event, &args);
            self.shared.publish(self.request_channel(), msg).await
        })
    }

    fn server_side_emit_with_ack(
        &self,
        event: String,
        args: Vec<Value>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<Vec<Value>>, AdapterError>> {
        Box::pin(async move {
            let others = self.others().await?;
            if others == 0 {
                return Ok(Vec::new());
            }
            let (id, mut pending) = self.register();
            let msg = wire::server_side_request(&self.uid, Some(&id), &event, &args);
            // As the trait says: the answers that came within the timeout.
            let (answers, _) = self
                .request("server_side_emit", &mut pending, msg, others, timeout)
                .await?;
            Ok(answers
                .into_iter()
                .map(|a| vec![a.get("data").cloned().unwrap_or(Value::Null)])
                .collect())
        })
    }

    fn server_count(&self) -> BoxFuture<'_, Result<u16, AdapterError>> {
        Box::pin(async move {
            let n = self.shared.numsub(&self.request_channel()).await?;
            Ok(u16::try_from(n.max(1)).unwrap_or(u16::MAX))
        })
    }
}

impl NsAdapter {
    /// Publishes a join or leave for the other servers.
    async fn remote_rooms(
        &self,
        ty: u64,
        opts: &BroadcastOptions,
        rooms: &[Room],
    ) -> Result<(), AdapterError> {
        if opts.local {
            return Ok(());
        }
        let msg = wire::rooms_request(ty, &self.uid, opts, rooms);
        self.shared.publish(self.request_channel(), msg).await
    }
}
