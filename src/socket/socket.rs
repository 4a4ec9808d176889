//! A socket: one client's connection to one namespace.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    fmt,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime},
};

use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::oneshot;

use super::{
    client::Client,
    namespace::NsInner,
    packet::{Packet, PacketData},
};
use crate::{
    DisconnectReason,
    ack::{AckError, to_args},
    engine::{Frame, SendError, Session},
    extract::{DisconnectParts, MessageParts},
    handler::{
        BoxedDisconnect, BoxedMessage, DisconnectBox, DisconnectHandler, MessageBox,
        MessageHandler, run_inline,
    },
    io::IoInner,
    value::{Value, ValueError, from_value},
};

/// Event names a socket may neither emit nor listen to: the protocol uses them.
pub const RESERVED_EVENTS: &[&str] = &[
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Why an emit failed.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// The event name is reserved by the protocol.
    #[error("the event name {0:?} is reserved")]
    Reserved(String),
    /// The data could not be serialized.
    #[error("the data could not be serialized: {0}")]
    Serialize(#[from] ValueError),
    /// The socket is disconnected, or its client does not read fast enough.
    #[error(transparent)]
    Send(#[from] SendError),
}

/// What the client sent when it connected: the HTTP request that opened the connection
/// (headers, URL, query, address), the auth object of its CONNECT packet, and the time.
///
/// The request is shared with the Engine.IO session and with the client's other namespaces, so
/// a socket costs no copy of it.
#[derive(Debug, Clone)]
pub struct Handshake {
    request: Arc<http::request::Parts>,
    auth: serde_json::Value,
    issued: SystemTime,
}

impl Handshake {
    /// A handshake record from its parts: for adapters that rebuild a socket seen on another
    /// node. `auth` is the client's auth object (`{}` when it sent none).
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tower_socketio::Handshake;
    ///
    /// let (request, ()) = http::Request::get("/socket.io/?EIO=4&transport=websocket&room=a")
    ///     .header("x-forwarded-proto", "https")
    ///     .body(())
    ///     .unwrap()
    ///     .into_parts();
    /// let h = Handshake::new(request, serde_json::json!({ "token": "t" }), SystemTime::now());
    /// assert_eq!(h.query_param("room"), Some("a"));
    /// assert_eq!(h.url(), "/socket.io/?EIO=4&transport=websocket&room=a");
    /// assert_eq!(h.auth()["token"], "t");
    /// assert!(h.secure());
    /// assert_eq!(h.address(), None);
    /// ```
    pub fn new(request: http::request::Parts, auth: serde_json::Value, issued: SystemTime) -> Self {
        Handshake {
            request: Arc::new(request),
            auth,
            issued,
        }
    }

    pub(crate) fn for_socket(request: Arc<http::request::Parts>, auth: Option<&Value>) -> Self {
        Handshake {
            request,
            auth: auth
                .map(|a| a.clone().into_json())
                .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new())),
            issued: SystemTime::now(),
        }
    }

    /// The headers of the HTTP request that opened the connection.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.request.headers
    }

    /// The request's URL: path and query, e.g. `/socket.io/?EIO=4&transport=polling&t=x`.
    pub fn url(&self) -> &str {
        self.request
            .uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str)
    }

    /// The whole HTTP request head (method, URI, headers, extensions set by layers in front).
    pub fn request(&self) -> &http::request::Parts {
        &self.request
    }

    /// The query parameters, in order (not percent-decoded).
    pub fn query(&self) -> impl Iterator<Item = (&str, &str)> {
        self.request
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
    }

    /// The value of query parameter `key` (the first one, not percent-decoded).
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The auth object the client sent with CONNECT (`{}` when none).
    pub fn auth(&self) -> &serde_json::Value {
        &self.auth
    }

    /// The client's address, when the server put a `std::net::SocketAddr` in the request's
    /// extensions (as `tests/common` and the examples do for plain hyper), or axum's
    /// `ConnectInfo` was mapped to one by a layer.
    pub fn address(&self) -> Option<std::net::SocketAddr> {
        self.request
            .extensions
            .get::<std::net::SocketAddr>()
            .copied()
    }

    /// Whether the request came over TLS (an `https` URL or `X-Forwarded-Proto: https`).
    pub fn secure(&self) -> bool {
        self.request.uri.scheme_str() == Some("https")
            || self
                .request
                .headers
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
    }

    /// When the socket connected.
    pub fn issued(&self) -> SystemTime {
        self.issued
    }
}

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

/// What became of a broadcast packet queued for a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queued {
    /// Queued; nothing left to do.
    Done,
    /// Queued; the socket's outgoing listeners are still to be told.
    Listeners,
    /// Not queued: the socket is gone, or a volatile packet found no room.
    Dropped,
    /// Not queued: the queue is full, and the session is still to be closed.
    Full,
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
    /// The client's Engine.IO session (the same as `client.session`, one hop nearer).
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
    acks: Mutex<HashMap<u64, oneshot::Sender<Vec<Value>>>>,
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|p| p.into_inner())
}
fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|p| p.into_inner())
}

fn new_socket_id() -> Arc<str> {
    use base64::Engine as _;
    let bits: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(bits)
        .into()
}

impl Socket {
    pub(crate) fn new_ref(
        client: Arc<Client>,
        ns: Arc<NsInner>,
        auth: Option<&Value>,
    ) -> SocketRef {
        SocketRef(Arc::new(Socket {
            handshake: Handshake::for_socket(client.session.shared_request(), auth),
            session: client.session.clone(),
            id: new_socket_id(),
            ns,
            client,
            handlers: RwLock::default(),
            fallback: RwLock::default(),
            any_in: RwLock::default(),
            any_out: RwLock::default(),
            has_any_out: AtomicBool::new(false),
            middlewares: RwLock::default(),
            on_disconnecting: Mutex::default(),
            on_disconnect: Mutex::default(),
            extensions: Extensions::default(),
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
        self.client.session.request()
    }

    /// The Engine.IO session under this socket, shared by its other namespaces.
    pub fn engine_session(&self) -> &Session {
        &self.session
    }

    /// Typed per-socket storage.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    pub(crate) fn io_inner(&self) -> &IoInner {
        &self.client.io
    }

    /// Registers the handler of `event`, replacing any previous one.
    ///
    /// # Panics
    /// When `event` is reserved, or the handler extracts a [`State`](crate::extract::State) that
    /// was not given at build time: both are programming errors.
    pub fn on<H, M>(&self, event: impl Into<String>, handler: H)
    where
        H: MessageHandler<M>,
        M: 'static,
    {
        let event = event.into();
        assert!(
            !RESERVED_EVENTS.contains(&event.as_str()),
            "the event name {event:?} is reserved"
        );
        if let Err(e) = handler.check(&self.io_inner().states) {
            panic!("handler of {event:?}: {e}");
        }
        write(&self.handlers).insert(event, Arc::new(MessageBox(handler, Default::default())));
    }

    /// Registers a handler for events that have no handler of their own (`Event` extracts the
    /// name).
    pub fn on_fallback<H, M>(&self, handler: H)
    where
        H: MessageHandler<M>,
        M: 'static,
    {
        if let Err(e) = handler.check(&self.io_inner().states) {
            panic!("fallback handler: {e}");
        }
        *write(&self.fallback) = Some(Arc::new(MessageBox(handler, Default::default())));
    }

    /// Calls `listener` for every event received, before its handler (`onAny`).
    pub fn on_any<F>(&self, listener: F)
    where
        F: Fn(&SocketRef, &str, &[Value]) + Send + Sync + 'static,
    {
        write(&self.any_in).push(Arc::new(listener));
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
    }

    /// Registers a handler run when the socket disconnects, with the
    /// [`DisconnectReason`](crate::DisconnectReason).
    pub fn on_disconnect<H, M>(&self, handler: H)
    where
        H: DisconnectHandler<M>,
        M: 'static,
    {
        if let Err(e) = handler.check(&self.io_inner().states) {
            panic!("disconnect handler: {e}");
        }
        lock(&self.on_disconnect).push(Arc::new(DisconnectBox(handler, Default::default())));
    }

    /// Registers a handler run when the socket is about to disconnect, while its state is still
    /// readable.
    pub fn on_disconnecting<H, M>(&self, handler: H)
    where
        H: DisconnectHandler<M>,
        M: 'static,
    {
        if let Err(e) = handler.check(&self.io_inner().states) {
            panic!("disconnecting handler: {e}");
        }
        lock(&self.on_disconnecting).push(Arc::new(DisconnectBox(handler, Default::default())));
    }
}

impl SocketRef {
    /// This socket's operator: a room selection leaves the socket out; without one, the socket
    /// itself is the target.
    fn me(&self) -> crate::BroadcastOperator {
        crate::BroadcastOperator::new(Some(self.ns.clone())).for_socket(self.id())
    }

    fn others(&self) -> crate::BroadcastOperator {
        self.me().all_but_sender()
    }

    /// The sockets in these rooms, this one left out.
    pub fn to(&self, rooms: impl crate::IntoRooms) -> crate::BroadcastOperator {
        self.others().to(rooms)
    }

    /// Same as [`SocketRef::to`].
    pub fn within(&self, rooms: impl crate::IntoRooms) -> crate::BroadcastOperator {
        self.others().within(rooms)
    }

    /// Every socket of the namespace but those in these rooms and this one.
    pub fn except(&self, rooms: impl crate::IntoRooms) -> crate::BroadcastOperator {
        self.others().except(rooms)
    }

    /// Every socket of the namespace but this one.
    pub fn broadcast(&self) -> crate::BroadcastOperator {
        self.others()
    }

    /// This socket, on this server only (see [`BroadcastOperator::local`](crate::BroadcastOperator::local)).
    /// Like every flag, it can be followed by `to`/`except`, which then leave this socket out.
    pub fn local(&self) -> crate::BroadcastOperator {
        self.me().local()
    }

    /// This socket, dropping the packet if its queue cannot take it now.
    pub fn volatile(&self) -> crate::BroadcastOperator {
        self.me().volatile()
    }

    /// This socket, with a compression hint.
    pub fn compress(&self, compress: bool) -> crate::BroadcastOperator {
        self.me().compress(compress)
    }

    /// This socket, with an ack timeout for `emit_with_ack` (a stream of one answer).
    pub fn timeout(&self, timeout: Duration) -> crate::BroadcastOperator {
        self.me().timeout(timeout)
    }

    /// Emits `event` to this socket's client. `data` is anything serde serializes: a tuple sends
    /// several arguments, `()` none; `bytes::Bytes` (or `serde_bytes`) values travel as binary
    /// attachments at any depth. serde writes a fixed-size array (`[T; N]`) like a tuple, so it
    /// too sends several arguments: use a `Vec` or a slice for one array argument.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.emit_packet(event, data, None).map(|_| ())
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
        if let Err(e) = self.emit_packet(event, data, Some(id)) {
            lock(&self.acks).remove(&id);
            return Err(e.into());
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(args)) => Ok(from_value(crate::extract::args_value(args))?),
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
        if self.has_any_out.load(Ordering::Acquire) {
            let out = read(&self.any_out);
            for l in out.iter() {
                l(self, event, &args);
            }
        }
        let packet = Packet {
            ns: self.ns.path.clone(),
            data: PacketData::Event {
                event: event.to_owned(),
                args,
            },
            id,
        };
        self.send_packet(&packet)?;
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

    /// Queues a packet encoded for many; false if the socket could not take it.
    pub(crate) fn deliver(&self, packet: &crate::adapter::EncodedPacket, volatile: bool) -> bool {
        let queued = self.queue_packet(packet, volatile);
        self.after_queue(packet, queued);
        matches!(queued, Queued::Done | Queued::Listeners)
    }

    /// Queues a broadcast packet's frames without running user code or closing anything (the
    /// adapter calls it under its locks), and says what happened and what is left to do.
    pub(crate) fn queue_packet(
        &self,
        packet: &crate::adapter::EncodedPacket,
        volatile: bool,
    ) -> Queued {
        if !self.connected() {
            return Queued::Dropped;
        }
        let session = self.engine_session();
        let frames = packet.frames().iter().cloned();
        let queued = if volatile {
            session.send_volatile(frames)
        } else {
            match session.try_send_many(frames) {
                Ok(()) => true,
                Err(crate::engine::SendError::QueueFull) => return Queued::Full,
                Err(crate::engine::SendError::Closed) => false,
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

    /// Finishes [`queue_packet`](Self::queue_packet): tells the outgoing listeners, or closes
    /// the session whose queue was full.
    pub(crate) fn after_queue(&self, packet: &crate::adapter::EncodedPacket, queued: Queued) {
        match queued {
            Queued::Listeners => {
                if let Some(origin) = &packet.origin {
                    let out = read(&self.any_out);
                    for l in out.iter() {
                        l(self, &origin.0, &origin.1);
                    }
                }
            }
            Queued::Full => self.engine_session().queue_full(),
            Queued::Done | Queued::Dropped => {}
        }
    }

    /// Joins rooms (one name, or several: see [`IntoRooms`](crate::IntoRooms)).
    pub fn join(&self, rooms: impl crate::IntoRooms) {
        self.ns.adapter().add_all(self.id(), &rooms.into_rooms());
    }

    /// Leaves rooms.
    pub fn leave(&self, rooms: impl crate::IntoRooms) {
        let adapter = self.ns.adapter();
        for r in rooms.into_rooms() {
            adapter.del(self.id(), &r);
        }
    }

    /// Leaves every room but its own.
    pub fn leave_all(&self) {
        let adapter = self.ns.adapter();
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
        self.client.send_packet(packet)
    }

    /// Answers the client's ack `id`.
    pub(crate) fn send_ack(&self, id: u64, args: Vec<Value>) {
        let packet = Packet {
            ns: self.ns.path.clone(),
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
        let packet = Packet {
            ns: self.ns.path.clone(),
            data: PacketData::Disconnect,
            id: None,
        };
        let _ = self.send_packet(&packet);
        self.close(DisconnectReason::ServerNamespaceDisconnect);
    }

    pub(crate) fn mark_connected(&self) {
        self.connected.store(true, Ordering::Release);
    }

    /// An event from the client.
    pub(crate) fn on_event(&self, event: String, args: Vec<Value>, ack: Option<u64>) {
        {
            let listeners = read(&self.any_in);
            for l in listeners.iter() {
                l(self, &event, &args);
            }
        }
        let refused = self
            .ns
            .event_middlewares()
            .iter()
            .chain(read(&self.middlewares).iter())
            .find_map(|mw| mw(self, &event, &args).err());
        if let Some(why) = refused {
            tracing::debug!(sid = %self.id, %event, %why, "event refused by middleware");
            if let Some(id) = ack {
                self.send_ack(id, vec![crate::ack::error_object(&why)]);
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
            }),
            None => tracing::debug!(sid = %self.id, %event, "no handler for event"),
        }
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
        tracing::debug!(sid = %self.id, ns = %self.ns.path, %reason, "socket disconnected");
        let run = |handlers: Vec<BoxedDisconnect>| {
            for h in handlers {
                run_inline(h.call(DisconnectParts {
                    socket: self.clone(),
                    reason,
                }));
            }
        };
        run(std::mem::take(&mut *lock(&self.on_disconnecting)));
        self.ns.adapter().del_all(&self.id);
        self.ns.remove(&self.id);
        self.client.remove_socket(&self.ns.path);
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

/// The frames of an encoded packet whose text already starts with the Engine.IO message type
/// (`packet::encode_message`).
pub(crate) fn frames_of(message: String, attachments: Vec<bytes::Bytes>) -> Vec<Frame> {
    let mut frames = Vec::with_capacity(1 + attachments.len());
    frames.push(Frame::Text(message.into()));
    frames.extend(attachments.into_iter().map(Frame::Binary));
    frames
}
