//! A socket: one client's connection to one namespace.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    fmt,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::oneshot;
use tracing::Instrument;

use super::{
    DisconnectReason,
    client::Client,
    erased::{BoxedDisconnect, BoxedMessage, DisconnectParts, MessageParts, run_inline},
    namespace::NsInner,
    registry::IoInner,
};
use crate::{
    adapter::{
        AckError, BoxFuture, BroadcastOptions, EmitError, EncodedPacket, Handshake, IntoRooms,
        LocalSocket, PersistedSession, Queued, RestoredSession, SocketInfo,
    },
    engine::{SendError, Session},
    protocol::{
        Packet, PacketData, RESERVED_EVENTS, args_value, error_object, new_id, to_args,
        value::{Value, ValueError, from_value, to_value},
    },
    sync::{lock, read, write},
};

type AnyListener = Arc<dyn Fn(&SocketRef, &str, &[Value]) + Send + Sync>;

/// A per-event middleware: runs before an event's handler and may refuse the event.
pub(crate) type EventMiddleware =
    Arc<dyn Fn(&SocketRef, &str, &[Value]) -> Result<(), String> + Send + Sync>;

pub(crate) fn event_middleware<F, E>(f: F) -> EventMiddleware
where
    F: Fn(&SocketRef, &str, &[Value]) -> Result<(), E> + Send + Sync + 'static,
    E: fmt::Display,
{
    Arc::new(move |s, e, a| f(s, e, a).map_err(|e| e.to_string()))
}

/// A client's connection to a namespace. Handlers receive it as [`SocketRef`].
///
/// `repr(C)` keeps what a broadcast reads of each recipient (the flags and the session) at the
/// front, in one cache line.
#[repr(C)]
pub struct Socket {
    connected: AtomicBool,
    /// Whether `any_out` has listeners: read on every delivery instead of taking its lock.
    has_any_out: AtomicBool,
    /// Whether `any_in` or `middlewares` have entries: read on every event instead of taking
    /// their locks.
    has_any_in: AtomicBool,
    has_middlewares: AtomicBool,
    /// The client's Engine.IO session (the client holds it only weakly).
    session: Session,
    id: Arc<str>,
    pub(crate) ns: Arc<NsInner>,
    pub(crate) client: Arc<Client>,
    handshake: Handshake,
    handlers: RwLock<HashMap<String, BoxedMessage>>,
    fallback: RwLock<Option<BoxedMessage>>,
    any_in: RwLock<Vec<AnyListener>>,
    any_out: RwLock<Vec<AnyListener>>,
    middlewares: RwLock<Vec<EventMiddleware>>,
    on_disconnecting: Mutex<Vec<BoxedDisconnect>>,
    on_disconnect: Mutex<Vec<BoxedDisconnect>>,
    extensions: Extensions,
    /// Node's `socket.data`: what other servers see of the socket in `fetch_sockets`.
    data: RwLock<Value>,
    acks: Mutex<HashMap<u64, oneshot::Sender<Vec<Value>>>>,
    /// The private id of connection state recovery (the CONNECT reply's `pid`), when it is on.
    pid: Option<Arc<str>>,
    /// Whether the socket was recovered from a dropped connection.
    recovered: bool,
    /// The socket's span (`socket`, with `ns` and `id`), a child of its session's: its
    /// handlers run in it. Disabled (and free) when no subscriber is interested.
    span: tracing::Span,
}

/// A shared handle on a [`Socket`], cheap to clone; the extractor for the socket.
#[derive(Clone)]
pub struct SocketRef(pub(crate) Arc<Socket>);

impl std::ops::Deref for SocketRef {
    type Target = Socket;
    fn deref(&self) -> &Socket {
        &self.0
    }
}

impl fmt::Debug for SocketRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl PartialEq for SocketRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id)
            .field("ns", &self.ns.path)
            .field("connected", &self.connected())
            .finish()
    }
}

impl Socket {
    pub(crate) fn new_ref(
        client: Arc<Client>,
        session: Session,
        ns: Arc<NsInner>,
        auth: Option<&Value>,
        restored: Option<&RestoredSession>,
        id: Option<Arc<str>>,
    ) -> SocketRef {
        let pid = match restored {
            Some(r) => Some(Arc::from(r.pid.as_str())),
            // A v2 client knows no recovery.
            None => ns.recovery.filter(|_| !client.eio3).map(|_| new_id()),
        };
        let data = restored.map_or_else(
            || Value::from_iter(std::iter::empty::<(String, Value)>()),
            |r| r.info.data.clone(),
        );
        let id = match restored {
            Some(r) => Arc::from(r.info.id.as_str()),
            None => id.unwrap_or_else(new_id),
        };
        let span = tracing::info_span!(
            parent: session.span(),
            "socket",
            ns = ns.path.as_str(),
            id = &*id,
        );
        SocketRef(Arc::new(Socket {
            handshake: Handshake::for_socket(session.shared_request(), auth),
            session,
            id,
            pid,
            recovered: restored.is_some(),
            span,
            ns,
            client,
            handlers: RwLock::default(),
            fallback: RwLock::default(),
            any_in: RwLock::default(),
            any_out: RwLock::default(),
            has_any_out: AtomicBool::new(false),
            has_any_in: AtomicBool::new(false),
            has_middlewares: AtomicBool::new(false),
            middlewares: RwLock::default(),
            on_disconnecting: Mutex::default(),
            on_disconnect: Mutex::default(),
            extensions: Extensions::default(),
            data: RwLock::new(data),
            acks: Mutex::default(),
            connected: AtomicBool::new(false),
        }))
    }

    /// The socket's id, distinct from the Engine.IO session id and from other namespaces'.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The namespace's path.
    pub fn ns(&self) -> &str {
        &self.ns.path
    }

    /// Whether the socket was recovered: its client came back after its connection dropped,
    /// within the time connection state recovery allows, and got its id, rooms and data back,
    /// with the events it missed. Always `false` with recovery off.
    pub fn recovered(&self) -> bool {
        self.recovered
    }

    /// The private id of connection state recovery, when it is on.
    pub(crate) fn pid(&self) -> Option<&str> {
        self.pid.as_deref()
    }

    /// Whether the socket is connected.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// The handshake data.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The HTTP request that opened the underlying connection (headers, URI with query,
    /// extensions set by layers in front).
    pub fn req_parts(&self) -> &http::request::Parts {
        self.session.request()
    }

    /// The Engine.IO session under this socket, shared by its other namespaces.
    pub fn engine_session(&self) -> &Session {
        &self.session
    }

    /// Typed per-socket storage.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The socket's serializable data, as Node's `socket.data`: `{}` until set. Unlike the
    /// [`extensions`](Self::extensions), it crosses servers: a remote adapter describes the
    /// socket with it in [`fetch_sockets`](crate::BroadcastOperator::fetch_sockets)
    /// ([`SocketInfo::data`](crate::adapter::SocketInfo::data)).
    pub fn data(&self) -> Value {
        read(&self.data).clone()
    }

    /// Sets the socket's data (see [`data`](Self::data)).
    pub fn set_data<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), ValueError> {
        let value = to_value(data)?;
        *write(&self.data) = value;
        Ok(())
    }

    pub(crate) fn io_inner(&self) -> &IoInner {
        &self.client.io
    }

    /// The socket's span (see the README's "Tracing").
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Calls `listener` for every event received, before its handler (`onAny`).
    pub fn on_any<F>(&self, listener: F)
    where
        F: Fn(&SocketRef, &str, &[Value]) + Send + Sync + 'static,
    {
        write(&self.any_in).push(Arc::new(listener));
        self.has_any_in.store(true, Ordering::Release);
    }

    /// Calls `listener` for every event emitted to this socket (`onAnyOutgoing`).
    pub fn on_any_outgoing<F>(&self, listener: F)
    where
        F: Fn(&SocketRef, &str, &[Value]) + Send + Sync + 'static,
    {
        write(&self.any_out).push(Arc::new(listener));
        self.has_any_out.store(true, Ordering::Release);
    }

    /// Adds a per-event middleware, run for every event after the namespace's own
    /// ([`Namespace::on_event_middleware`](crate::Namespace::on_event_middleware)) and before the
    /// handler, with the event's name and arguments. An `Err` refuses the event: the handler does
    /// not run, and a client that asked for an acknowledgement gets `{"message": err}`.
    pub fn use_middleware<F, E>(&self, middleware: F)
    where
        F: Fn(&SocketRef, &str, &[Value]) -> Result<(), E> + Send + Sync + 'static,
        E: fmt::Display,
    {
        write(&self.middlewares).push(event_middleware(middleware));
        self.has_middlewares.store(true, Ordering::Release);
    }

    /// Sets the handler of `event` (registered through `SocketRef::on`).
    pub(crate) fn set_handler(&self, event: String, handler: BoxedMessage) {
        write(&self.handlers).insert(event, handler);
    }

    /// Sets the handler of events without one of their own.
    pub(crate) fn set_fallback(&self, handler: BoxedMessage) {
        *write(&self.fallback) = Some(handler);
    }

    /// Adds a handler run when the socket disconnects (`closing`: about to).
    pub(crate) fn add_disconnect_handler(&self, handler: BoxedDisconnect, closing: bool) {
        let list = if closing {
            &self.on_disconnecting
        } else {
            &self.on_disconnect
        };
        lock(list).push(handler);
    }
}

impl SocketRef {
    /// Emits `event` to this socket's client. `data` is anything serde serializes: a tuple sends
    /// several arguments, `()` none; `bytes::Bytes` (or `serde_bytes`) values travel as binary
    /// attachments at any depth. serde writes a fixed-size array (`[T; N]`) like a tuple, so it
    /// too sends several arguments: use a `Vec` or a slice for one array argument.
    ///
    /// It fails on a disconnected socket, but with connection state recovery on: then the event
    /// is stored, and replayed to the client if it comes back in time.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.emit_packet(event, data, None).map(|_| ())
    }

    /// Emits `event` once the client's queue has room ([`Session::ready`]: at most half of
    /// `max_queue_bytes` taken), so that a sender of many packets follows the client's pace
    /// instead of filling its queue (which disconnects the client, or drops packets under
    /// `OverflowPolicy::Drop`). Fails when the socket disconnects meanwhile.
    pub async fn emit_when_ready<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        self.session.ready().await?;
        self.emit(event, data)
    }

    /// Emits `event` and waits for the client's acknowledgement, within the configured ack
    /// timeout (5 s by default), deserializing it into `R` (from the only argument when there is
    /// one, from the array of arguments otherwise).
    pub async fn emit_with_ack<T, R>(&self, event: &str, data: &T) -> Result<R, AckError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let timeout = self.io_inner().config.ack_timeout;
        self.emit_with_ack_timeout(event, data, timeout).await
    }

    /// [`SocketRef::emit_with_ack`] with its own timeout.
    pub async fn emit_with_ack_timeout<T, R>(
        &self,
        event: &str,
        data: &T,
        timeout: Duration,
    ) -> Result<R, AckError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let id = self.ns.next_ack_id();
        let rx = self.register_ack(id);
        let start = std::time::Instant::now();
        if let Err(e) = self.emit_packet(event, data, Some(id)) {
            lock(&self.acks).remove(&id);
            return Err(e.into());
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(args)) => {
                self.ns.metrics.ack_duration.record(start.elapsed());
                Ok(from_value(args_value(args))?)
            }
            Ok(Err(_)) => Err(AckError::Disconnected),
            Err(_) => {
                lock(&self.acks).remove(&id);
                Err(AckError::Timeout)
            }
        }
    }

    fn emit_packet<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
        id: Option<u64>,
    ) -> Result<(), EmitError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::Reserved(event.to_owned()));
        }
        let args = to_args(data)?;
        if id.is_none() && self.ns.recovery.is_some() {
            return self.emit_stored(event, args);
        }
        if self.has_any_out.load(Ordering::Acquire) {
            let out = read(&self.any_out);
            for l in out.iter() {
                l(self, event, &args);
            }
        }
        let packet = Packet {
            ns: self.ns.name.clone(),
            data: PacketData::Event {
                event: event.to_owned(),
                args,
            },
            id,
        };
        self.send_packet(&packet)?;
        self.ns.metrics.sent.increment(1);
        Ok(())
    }

    /// Emits an event without ack with connection state recovery on: through the adapter, which
    /// stores it with its offset, as a broadcast to the socket's own room. As in the reference
    /// server, a socket whose connection dropped takes it too: it is replayed if the client
    /// comes back in time.
    fn emit_stored(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        let packet = Packet {
            ns: self.ns.name.clone(),
            data: PacketData::Event {
                event: event.to_owned(),
                args,
            },
            id: None,
        };
        let frames = self.client.io.parser.encode(&packet).collect();
        let PacketData::Event { event, args } = packet.data else {
            return Ok(());
        };
        let packet = EncodedPacket::event_packet(frames, event, args);
        let opts = BroadcastOptions {
            rooms: std::iter::once(self.id().to_owned()).collect(),
            local: true,
            ..BroadcastOptions::default()
        };
        let adapter = self.ns.adapter.clone();
        run_inline(async move {
            if let Err(e) = adapter.broadcast(packet, opts).await {
                tracing::debug!(error = %e, "stored emit failed");
            }
        });
        Ok(())
    }

    /// Waits for the client's answer to ack `id`.
    pub(crate) fn register_ack(&self, id: u64) -> oneshot::Receiver<Vec<Value>> {
        let (tx, rx) = oneshot::channel();
        lock(&self.acks).insert(id, tx);
        rx
    }

    pub(crate) fn forget_ack(&self, id: u64) {
        lock(&self.acks).remove(&id);
    }

    /// Joins rooms (one name, or several: see [`IntoRooms`](crate::IntoRooms)).
    pub fn join(&self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        self.ns.adapter().add_all(self.id(), &rooms);
        self.io_inner().observe(|o| o.rooms(self, &rooms, true));
    }

    /// Leaves rooms.
    pub fn leave(&self, rooms: impl IntoRooms) {
        let adapter = self.ns.adapter();
        let rooms = rooms.into_rooms();
        for r in &rooms {
            adapter.del(self.id(), r);
        }
        self.io_inner().observe(|o| o.rooms(self, &rooms, false));
    }

    /// Leaves every room but its own.
    pub fn leave_all(&self) {
        let adapter = self.ns.adapter();
        self.io_inner().observe(|o| {
            let others: Vec<String> = self
                .rooms()
                .into_iter()
                .filter(|r| r != self.id())
                .collect();
            o.rooms(self, &others, false);
        });
        adapter.del_all(self.id());
        adapter.add_all(self.id(), &[self.id().to_owned()]);
    }

    /// The rooms the socket is in, its own included, sorted.
    pub fn rooms(&self) -> Vec<String> {
        self.ns.adapter().socket_rooms(self.id())
    }

    pub(crate) fn send_packet(&self, packet: &Packet) -> Result<(), SendError> {
        if !self.connected() && !matches!(packet.data, PacketData::Connect(_)) {
            return Err(SendError::Closed);
        }
        self.session.send_many(self.client.io.parser.encode(packet))
    }

    /// Answers the client's ack `id`.
    pub(crate) fn send_ack(&self, id: u64, args: Vec<Value>) {
        let packet = Packet {
            ns: self.ns.name.clone(),
            data: PacketData::Ack(args),
            id: Some(id),
        };
        if let Err(e) = self.send_packet(&packet) {
            tracing::debug!(sid = %self.id, error = %e, "ack not sent");
        }
    }

    /// Disconnects the socket from its namespace; the client sees "io server disconnect". The
    /// underlying connection stays open for the client's other namespaces.
    pub fn disconnect(&self) {
        self.send_disconnect();
        self.close(DisconnectReason::ServerNamespaceDisconnect);
    }

    /// Queues a DISCONNECT for the client, leaving the socket as it is (a shutdown closes it
    /// with its session, once the packet is out).
    pub(crate) fn send_disconnect(&self) {
        let packet = Packet {
            ns: self.ns.name.clone(),
            data: PacketData::Disconnect,
            id: None,
        };
        let _ = self.send_packet(&packet);
    }

    pub(crate) fn mark_connected(&self) {
        self.connected.store(true, Ordering::Release);
    }

    /// An event from the client.
    pub(crate) fn on_event(&self, event: String, args: Vec<Value>, ack: Option<u64>) {
        self.ns.metrics.received.increment(1);
        // The event's span, a child of the socket's, entered for everything the event runs.
        let _socket = self.span.enter();
        let span = tracing::debug_span!("event", event = event.as_str(), ack);
        let _event = span.enter();
        // Listeners and middlewares are rare: flags spare the locks of empty lists.
        if self.has_any_in.load(Ordering::Acquire) {
            let listeners = read(&self.any_in);
            for l in listeners.iter() {
                l(self, &event, &args);
            }
        }
        let refused = self.refusal(&event, &args);
        if let Some(why) = refused {
            tracing::debug!(sid = %self.id, %event, %why, "event refused by middleware");
            if let Some(id) = ack {
                self.send_ack(id, vec![error_object(&why)]);
            }
            return;
        }
        let handler = read(&self.handlers)
            .get(&event)
            .cloned()
            .or_else(|| read(&self.fallback).clone());
        match handler {
            Some(h) => h.call(MessageParts {
                socket: self.clone(),
                event,
                args: Some(args),
                ack,
                span: span.clone(),
            }),
            None => tracing::debug!(sid = %self.id, %event, "no handler for event"),
        }
    }

    /// The first refusal of the namespace's event middlewares, then the socket's.
    fn refusal(&self, event: &str, args: &[Value]) -> Option<String> {
        let from_ns = if self.ns.has_event_middlewares.load(Ordering::Acquire) {
            self.ns
                .event_middlewares()
                .iter()
                .find_map(|mw| mw(self, event, args).err())
        } else {
            None
        };
        from_ns.or_else(|| {
            self.has_middlewares
                .load(Ordering::Acquire)
                .then(|| {
                    read(&self.middlewares)
                        .iter()
                        .find_map(|mw| mw(self, event, args).err())
                })
                .flatten()
        })
    }

    /// An ack from the client.
    pub(crate) fn on_ack(&self, id: u64, args: Vec<Value>) {
        match lock(&self.acks).remove(&id) {
            Some(tx) => {
                let _ = tx.send(args);
            }
            None => tracing::debug!(sid = %self.id, id, "ack for an unknown or expired id"),
        }
    }

    /// Ends the socket: `on_disconnecting` handlers, leave the namespace, fail pending acks,
    /// `on_disconnect` handlers. Runs once.
    pub(crate) fn close(&self, reason: DisconnectReason) {
        if !self.connected.swap(false, Ordering::AcqRel) {
            return;
        }
        let _entered = self.span.enter();
        tracing::debug!(sid = %self.id, ns = %self.ns.path, %reason, "socket disconnected");
        let run = |handlers: Vec<BoxedDisconnect>| {
            for h in handlers {
                let handler = h.call(DisconnectParts {
                    socket: self.clone(),
                    reason,
                });
                run_inline(handler.instrument(self.span.clone()));
            }
        };
        run(std::mem::take(&mut *lock(&self.on_disconnecting)));
        // What connection state recovery keeps, taken before the socket leaves its rooms and
        // stored once it has left the namespace: a recovery of it cannot race with this close.
        let persisted = match &self.pid {
            Some(pid) if reason.recoverable() => Some(PersistedSession {
                pid: pid.to_string(),
                info: SocketInfo {
                    id: self.id.to_string(),
                    ns: self.ns.path.clone(),
                    rooms: self.rooms(),
                    handshake: self.handshake.clone(),
                    data: self.data(),
                },
            }),
            _ => None,
        };
        self.io_inner().observe(|o| o.disconnected(self, reason));
        self.ns.adapter().del_all(&self.id);
        self.ns.remove(&self.id);
        self.client.remove_socket(&self.ns.path);
        if let Some(session) = persisted {
            self.ns.adapter().persist_session(session);
        }
        lock(&self.acks).clear();
        run(std::mem::take(&mut *lock(&self.on_disconnect)));
    }
}

/// Typed per-socket storage, one value per type.
#[derive(Default)]
pub struct Extensions(RwLock<HashMap<TypeId, Box<dyn Any + Send + Sync>>>);

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &read(&self.0).len())
            .finish()
    }
}

impl Extensions {
    /// Stores `value`, returning the previous value of its type.
    pub fn insert<T: Clone + Send + Sync + 'static>(&self, value: T) -> Option<T> {
        write(&self.0)
            .insert(TypeId::of::<T>(), Box::new(value))
            .and_then(|b| b.downcast::<T>().ok())
            .map(|b| *b)
    }

    /// A clone of the value of type `T`.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        read(&self.0)
            .get(&TypeId::of::<T>())
            .and_then(|b| b.downcast_ref::<T>())
            .cloned()
    }

    /// Removes and returns the value of type `T`.
    pub fn remove<T: Send + Sync + 'static>(&self) -> Option<T> {
        write(&self.0)
            .remove(&TypeId::of::<T>())
            .and_then(|b| b.downcast::<T>().ok())
            .map(|b| *b)
    }
}

/// The socket as its namespace's adapter reaches it.
impl LocalSocket for SocketRef {
    fn id(&self) -> &str {
        &self.id
    }

    fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    fn data(&self) -> Value {
        Socket::data(self)
    }

    fn queue(&self, packet: &EncodedPacket, volatile: bool) -> Queued {
        if !self.connected() {
            return Queued::Dropped;
        }
        let frames = packet.frames().iter().cloned();
        let queued = if volatile {
            self.session.send_volatile(frames)
        } else {
            match self.session.try_send_many(frames) {
                Ok(()) => true,
                Err(SendError::QueueFull) => return Queued::Full,
                Err(SendError::Closed) => false,
            }
        };
        if !queued {
            Queued::Dropped
        } else if packet.origin.is_some() && self.has_any_out.load(Ordering::Acquire) {
            Queued::Listeners
        } else {
            Queued::Done
        }
    }

    fn after_queue(&self, packet: &EncodedPacket, queued: Queued) {
        match queued {
            Queued::Listeners => {
                if let Some(origin) = &packet.origin {
                    let out = read(&self.any_out);
                    for l in out.iter() {
                        l(self, &origin.0, &origin.1);
                    }
                }
            }
            Queued::Full => self.session.queue_full(),
            Queued::Done | Queued::Dropped => {}
        }
    }

    fn emit_with_ack(
        &self,
        packet: &EncodedPacket,
        ack_id: u64,
        volatile: bool,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, AckError>> {
        let rx = self.register_ack(ack_id);
        let queued = self.queue(packet, volatile);
        self.after_queue(packet, queued);
        let socket = self.clone();
        let start = std::time::Instant::now();
        Box::pin(async move {
            if !matches!(queued, Queued::Done | Queued::Listeners) {
                socket.forget_ack(ack_id);
                return Err(AckError::Disconnected);
            }
            match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(args)) => {
                    socket.ns.metrics.ack_duration.record(start.elapsed());
                    Ok(args)
                }
                Ok(Err(_)) => Err(AckError::Disconnected),
                Err(_) => {
                    socket.forget_ack(ack_id);
                    Err(AckError::Timeout)
                }
            }
        })
    }

    fn disconnect(&self, close: bool) {
        if close {
            // As the reference server: every socket of the connection is disconnected from its
            // namespace first (its client sees "io server disconnect" and does not reconnect),
            // then the connection closes, after what was queued.
            for socket in self.client.sockets() {
                SocketRef::disconnect(&socket);
            }
            self.session.close();
        } else {
            SocketRef::disconnect(self);
        }
    }

    fn boxed(&self) -> Box<dyn LocalSocket> {
        Box::new(self.clone())
    }

    fn rooms_changed(&self, rooms: &[String], joined: bool) {
        self.io_inner().observe(|o| o.rooms(self, rooms, joined));
    }
}
