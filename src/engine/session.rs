//! One Engine.IO session: its outgoing queue, transport state, heartbeat and close.

use std::{
    collections::VecDeque,
    fmt,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering},
    },
    task::{Context, Poll},
};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use http::request::Parts;
use tokio::sync::Notify;

use super::{DisconnectReason, Frame, OverflowPolicy, SessionHandler, TransportKind, core::Engine};
use crate::protocol::engine_io::{EioVersion, Packet};

/// Why a packet could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The session is closed.
    #[error("the session is closed")]
    Closed,
    /// The outgoing queue is full; the session has been closed.
    #[error("the session's outgoing queue is full")]
    QueueFull,
}

/// A session's bounded queue of outgoing frames. Senders push under a short lock; the transport
/// that holds the [`Outbox`] takes them out. A `VecDeque` that grows with what is queued (and
/// gives the memory back once drained) rather than a channel that allocates its first block of
/// slots up front: most connections hold a frame or two at a time.
///
/// Two bounds: the bytes queued (each frame's length plus [`FRAME_COST`]) and, when set, the
/// number of frames. An empty queue takes any frame, so that a packet larger than the byte bound
/// can still be sent when nothing else waits.
pub(crate) struct Queue {
    frames: Mutex<Queued>,
    /// Woken after each push: the one task that holds the [`Outbox`] (one transport at a time).
    ready: AtomicWaker,
    /// Woken when a pop gives the queue room again (see [`Session::ready`]).
    room: Notify,
    bound: usize,
    max_bytes: usize,
}

/// What a queue holds: its frames and what they cost in bytes.
#[derive(Default)]
struct Queued {
    frames: VecDeque<Frame>,
    bytes: usize,
}

/// What a queued frame costs beyond its bytes: its slot and the shared buffer's header.
pub(crate) const FRAME_COST: usize = 64;

fn cost(frame: &Frame) -> usize {
    frame.len() + FRAME_COST
}

/// Room kept by a drained queue: larger buffers are given back.
const KEEP_CAPACITY: usize = 16;

impl Queue {
    fn new(bound: usize, max_bytes: usize) -> Queue {
        Queue {
            frames: Mutex::new(Queued::default()),
            ready: AtomicWaker::new(),
            room: Notify::new(),
            bound,
            max_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queued> {
        // Never held across user code or a panic point.
        self.frames.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues all the frames, or none when they do not all fit (`force`: fit or not).
    fn push_all<I: ExactSizeIterator<Item = Frame>>(&self, frames: I, force: bool) -> bool {
        {
            let mut q = self.lock();
            let before = q.frames.len();
            if !force && before + frames.len() > self.bound {
                return false;
            }
            let mut added = 0;
            for frame in frames {
                added += cost(&frame);
                q.frames.push_back(frame);
            }
            if !force && before > 0 && q.bytes + added > self.max_bytes {
                q.frames.truncate(before);
                return false;
            }
            q.bytes += added;
        }
        self.ready.wake();
        true
    }

    fn pop(&self) -> Option<Frame> {
        let (frame, room_again) = {
            let mut q = self.lock();
            let before = self.has_room_in(&q);
            let frame = q.frames.pop_front();
            if let Some(f) = &frame {
                q.bytes = q.bytes.saturating_sub(cost(f));
            }
            if q.frames.is_empty() && q.frames.capacity() > KEEP_CAPACITY {
                q.frames.shrink_to(KEEP_CAPACITY);
            }
            (frame, !before && self.has_room_in(&q))
        };
        if room_again {
            self.room.notify_waiters();
        }
        frame
    }

    /// Whether the queue has room for a sender that waits: at most half of each bound used.
    fn has_room_in(&self, q: &Queued) -> bool {
        q.bytes <= self.max_bytes / 2 && q.frames.len() <= self.bound / 2
    }

    fn has_room(&self) -> bool {
        self.has_room_in(&self.lock())
    }

    /// The bytes queued (frames and their cost), for tests and logs.
    fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// The frames and the bytes queued.
    fn depth(&self) -> (usize, usize) {
        let q = self.lock();
        (q.frames.len(), q.bytes)
    }
}

/// The receiving end of a session's queue, owned by one transport at a time: a guard on the
/// session's carry slot, with the queue beside it.
pub(crate) struct Outbox<'a> {
    queue: &'a Queue,
    /// A frame taken out but not sent yet (it did not fit in a polling response).
    carry: tokio::sync::MutexGuard<'a, Option<Frame>>,
}

impl Outbox<'_> {
    /// The next frame if one is ready.
    pub(crate) fn try_next(&mut self) -> Option<Frame> {
        self.carry.take().or_else(|| self.queue.pop())
    }

    /// Waits for the next frame. Cancel-safe: a frame is only taken out when it is returned.
    pub(crate) async fn next(&mut self) -> Option<Frame> {
        Some(std::future::poll_fn(|cx| self.poll_next(cx)).await)
    }

    /// The next frame, or `Pending` with the task registered to be woken by the next push.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Frame> {
        if let Some(frame) = self.try_next() {
            return Poll::Ready(frame);
        }
        self.queue.ready.register(cx.waker());
        // A push between the first check and the registration woke nobody: check again.
        match self.try_next() {
            Some(frame) => Poll::Ready(frame),
            None => Poll::Pending,
        }
    }

    /// Puts a frame back in front of the queue.
    pub(crate) fn put_back(&mut self, frame: Frame) {
        debug_assert!(self.carry.is_none());
        *self.carry = Some(frame);
    }
}

#[derive(Debug)]
struct TransportState {
    kind: TransportKind,
    upgrading: bool,
    /// Whether the session is still counted in the sessions gauge of its transport (until it
    /// closes): moved with the transport on upgrade, under the same lock.
    counted: bool,
}

impl Inner {
    pub(crate) fn engine_config_max_payload(&self) -> usize {
        self.engine.config().max_payload
    }
}

/// `repr(C)`: what every send reads and writes (the closed flag, the queue) comes first, in
/// the first cache lines.
#[repr(C)]
pub(crate) struct Inner {
    /// Set with `closed`, read on every send: an atomic load instead of the lock.
    is_closed: AtomicBool,
    queue: Queue,
    id: Arc<str>,
    engine: Arc<Engine>,
    /// The transport that sends holds this (see [`Session::outbox`]).
    carry: tokio::sync::Mutex<Option<Frame>>,
    transport: Mutex<TransportState>,
    /// Why the session ended, once it has (set once).
    closed: Mutex<Option<DisconnectReason>>,
    /// Wakes the tasks waiting for the session to close ([`Session::closed`]).
    on_close: Notify,
    /// Pings sent so far (a v3 client's: received, with the handshake), and the number of the
    /// last one answered (see `heartbeat.rs`).
    pings: AtomicU64,
    answered: AtomicU64,
    /// Wakes a pending polling GET so that an upgrade can go on.
    pub(crate) release_poll: Notify,
    /// Set until the layer above admits the session or it closes: it counts toward the
    /// engine's bounds on pending sessions meanwhile.
    pending: AtomicBool,
    /// Set while a polling POST is being read.
    pub(crate) posting: AtomicBool,
    /// Wakes the task that removes a closed polling session once its last poll answered.
    pub(crate) flushed: Notify,
    /// [`SENT`] once the transport has sent all it will, [`HANDLED`] once the close's handlers
    /// ran: both, and the session is finished (see [`Session::finished`]).
    done: AtomicU8,
    on_done: Notify,
    parts: Arc<Parts>,
    /// The protocol revision of the handshake.
    version: EioVersion,
    /// Engine.IO v3: the client asked for text payloads only (`b64=1`).
    base64: bool,
    /// The layer above the engine: its per-session handler (the Socket.IO client), set with
    /// [`Session::attach`].
    /// Set once, never cleared: the handler must not hold the session strongly (a cycle), but
    /// a [`WeakSession`]; then reading it per message costs no lock and no reference count.
    upper: std::sync::OnceLock<Arc<dyn SessionHandler>>,
    /// The session's span (`session`, with `sid`, `transport` and `remote`): its transports'
    /// work runs in it, and the Socket.IO sockets' spans are its children. Disabled (and free)
    /// when no subscriber is interested.
    span: tracing::Span,
}

/// A handle on an Engine.IO session: send to its client, close it, read its handshake request.
/// Cheap to clone.
#[derive(Clone)]
pub struct Session(pub(crate) Arc<Inner>);

/// A handle on a session that does not keep it alive (see [`Session::downgrade`]).
#[derive(Clone)]
pub struct WeakSession(std::sync::Weak<Inner>);

impl WeakSession {
    /// The session, while it is alive.
    pub fn upgrade(&self) -> Option<Session> {
        self.0.upgrade().map(Session)
    }
}

impl fmt::Debug for WeakSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WeakSession").finish()
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id())
            .field("transport", &self.transport())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Session {
    pub(crate) fn new(
        id: Arc<str>,
        engine: Arc<Engine>,
        kind: TransportKind,
        parts: Parts,
        version: EioVersion,
        base64: bool,
    ) -> Session {
        let remote = super::log::Remote(parts.extensions.get::<std::net::SocketAddr>().copied());
        // A root: the session outlives the HTTP request that opened it (and its span).
        let span = tracing::info_span!(
            parent: None,
            "session",
            sid = &*id,
            transport = kind.as_str(),
            %remote,
        );
        let metrics = engine.metrics();
        metrics.opened.get(kind).increment(1);
        metrics.sessions.get(kind).increment(1.0);
        let parts = Arc::new(detach(parts));
        Session(Arc::new(Inner {
            queue: Queue::new(engine.config().queue_size, engine.config().max_queue_bytes),
            id,
            engine,
            carry: tokio::sync::Mutex::new(None),
            transport: Mutex::new(TransportState {
                kind,
                upgrading: false,
                counted: true,
            }),
            closed: Mutex::new(None),
            is_closed: AtomicBool::new(false),
            on_close: Notify::new(),
            pings: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            release_poll: Notify::new(),
            pending: AtomicBool::new(true),
            posting: AtomicBool::new(false),
            flushed: Notify::new(),
            done: AtomicU8::new(0),
            on_done: Notify::new(),
            parts,
            version,
            base64,
            upper: std::sync::OnceLock::new(),
            span,
        }))
    }

    /// The session's span (see the README's "Tracing").
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.0.span
    }

    /// Records the outgoing queue's depth in the queue histograms (once per heartbeat).
    pub(crate) fn sample_queue(&self) {
        let (frames, bytes) = self.0.queue.depth();
        let metrics = self.0.engine.metrics();
        metrics.queue_frames.record(frames as f64);
        metrics.queue_bytes.record(bytes as f64);
    }

    /// The session id (at least 128 random bits, URL-safe).
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// The Engine.IO revision the client speaks (v3 only when the engine allows it, see
    /// [`EngineConfigBuilder::allow_eio3`](super::EngineConfigBuilder::allow_eio3)).
    pub fn protocol(&self) -> EioVersion {
        self.0.version
    }

    /// Engine.IO v3: whether the client reads binary polling payloads (it did not ask for
    /// `b64=1`).
    pub(crate) fn reads_binary_payloads(&self) -> bool {
        !self.0.base64
    }

    /// The transport in use now.
    pub fn transport(&self) -> TransportKind {
        self.state().kind
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.0.is_closed.load(Ordering::Acquire)
    }

    /// The client's address, when a layer in front put its `SocketAddr` in the handshake
    /// request's extensions, as logged.
    pub(crate) fn remote(&self) -> super::log::Remote {
        super::log::Remote(
            self.0
                .parts
                .extensions
                .get::<std::net::SocketAddr>()
                .copied(),
        )
    }

    /// The handshake request (method, URI, headers, extensions set by layers in front).
    pub fn request(&self) -> &Parts {
        &self.0.parts
    }

    /// The outgoing queue's receiving end, for the transport that sends; waits while another
    /// holds it.
    pub(crate) async fn outbox(&self) -> Outbox<'_> {
        Outbox {
            queue: &self.0.queue,
            carry: self.0.carry.lock().await,
        }
    }

    /// The outgoing queue's receiving end if no other transport holds it.
    pub(crate) fn try_outbox(&self) -> Option<Outbox<'_>> {
        Some(Outbox {
            queue: &self.0.queue,
            carry: self.0.carry.try_lock().ok()?,
        })
    }

    /// The handshake request, shared (each Socket.IO socket's handshake record holds it).
    pub(crate) fn shared_request(&self) -> Arc<Parts> {
        self.0.parts.clone()
    }

    /// Sends a text message.
    pub fn send_text(&self, msg: impl AsRef<str>) -> Result<(), SendError> {
        self.send(Frame::text(msg))
    }

    /// Sends a binary message.
    pub fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Frame::binary(data))
    }

    /// Queues an encoded frame. When the queue is full the client is not reading: the session is
    /// closed with [`DisconnectReason::QueueFull`].
    pub fn send(&self, frame: Frame) -> Result<(), SendError> {
        self.send_many([frame])
    }

    /// Queues several frames at once, all or none, so that they stay together in order (a
    /// packet and its binary attachments). A full queue closes the session as [`Session::send`].
    pub fn send_many<I>(&self, frames: I) -> Result<(), SendError>
    where
        I: IntoIterator<Item = Frame>,
        I::IntoIter: ExactSizeIterator,
    {
        let sent = self.try_send_many(frames);
        if sent == Err(SendError::QueueFull) {
            self.queue_full();
        }
        sent
    }

    /// Queues frames as [`Session::send_many`] does, but leaves a session whose queue is full
    /// open: the caller closes it with `queue_full` once it holds no lock.
    pub(crate) fn try_send_many<I>(&self, frames: I) -> Result<(), SendError>
    where
        I: IntoIterator<Item = Frame>,
        I::IntoIter: ExactSizeIterator,
    {
        self.check_open()?;
        if self.0.queue.push_all(frames.into_iter(), false) {
            Ok(())
        } else {
            Err(SendError::QueueFull)
        }
    }

    /// Queues frames if there is room for all of them now, and drops them otherwise (volatile
    /// packets). Returns whether they were queued.
    pub fn send_volatile<I>(&self, frames: I) -> bool
    where
        I: IntoIterator<Item = Frame>,
        I::IntoIter: ExactSizeIterator,
    {
        !self.is_closed() && self.0.queue.push_all(frames.into_iter(), false)
    }

    /// Queues a heartbeat ping. Under [`OverflowPolicy::Drop`] it is queued past the bounds (a
    /// few bytes once per interval), so that a client that reads nothing ends with a ping
    /// timeout; otherwise as [`Session::send`].
    pub(crate) fn send_ping(&self) -> Result<(), SendError> {
        if self.0.engine.config().overflow == OverflowPolicy::Drop {
            self.check_open()?;
            self.0.queue.push_all(std::iter::once(Frame::PING), true);
            Ok(())
        } else {
            self.send(Frame::PING)
        }
    }

    /// Resolves when the outgoing queue has room: at most half of its bound in bytes (and of its
    /// bound in frames, when one is set) is taken. A sender that waits for it before each send
    /// follows its client's pace instead of filling the queue. `Err(Closed)` once the session
    /// is closed.
    pub async fn ready(&self) -> Result<(), SendError> {
        let room = self.0.queue.room.notified();
        let closed = self.closed();
        tokio::pin!(room, closed);
        loop {
            // Registered before the check, so that a pop between the two still wakes us.
            room.as_mut().enable();
            self.check_open()?;
            if self.0.queue.has_room() {
                return Ok(());
            }
            tokio::select! {
                () = room.as_mut() => {}
                _ = closed.as_mut() => return Err(SendError::Closed),
            }
            room.set(self.0.queue.room.notified());
        }
    }

    /// The bytes waiting in the outgoing queue (each frame's length plus 64).
    pub fn queued_bytes(&self) -> usize {
        self.0.queue.bytes()
    }

    fn check_open(&self) -> Result<(), SendError> {
        if self.is_closed() {
            Err(SendError::Closed)
        } else {
            Ok(())
        }
    }

    /// A frame did not fit in the queue: closes the session, or leaves it open under
    /// [`OverflowPolicy::Drop`] (the frame was dropped).
    pub(crate) fn queue_full(&self) {
        if self.0.engine.config().overflow == OverflowPolicy::Drop {
            self.0.engine.metrics().dropped.increment(1);
            super::session_warn!(*self, "outgoing queue full, a packet dropped");
            return;
        }
        self.0.engine.metrics().disconnected.increment(1);
        super::session_warn!(*self, "outgoing queue full, closing the session");
        self.close_with(DisconnectReason::QueueFull);
    }

    /// Closes the session: what is already queued is still delivered, then the client is told to
    /// close. The handler sees [`DisconnectReason::ClosedByServer`].
    pub fn close(&self) {
        self.close_with(DisconnectReason::ClosedByServer);
    }

    /// Ends the session once; later calls do nothing.
    pub(crate) fn close_with(&self, reason: DisconnectReason) {
        {
            let mut closed = self.0.closed.lock().unwrap_or_else(|p| p.into_inner());
            if closed.is_some() {
                return;
            }
            *closed = Some(reason);
            self.0.is_closed.store(true, Ordering::Release);
        }
        self.0.engine.session_closed();
        self.leave_pending();
        let _entered = self.0.span.enter();
        {
            let mut st = self.state();
            if std::mem::take(&mut st.counted) {
                self.0.engine.metrics().sessions.get(st.kind).decrement(1.0);
            }
        }
        self.0.on_close.notify_waiters();
        tracing::debug!(sid = %self.id(), %reason, "session closed");
        if flushes(reason) && self.transport() == TransportKind::Polling {
            // The client learns of the close from its next poll; keep the id routable until then.
            let session = self.clone();
            let grace = self.0.engine.config().ping_interval + self.0.engine.config().ping_timeout;
            tokio::spawn(async move {
                let _ = tokio::time::timeout(grace, session.0.flushed.notified()).await;
                session.0.engine.remove(session.id());
                session.finish();
            });
            self.finish_if_drained();
        } else {
            self.0.engine.remove(self.id());
            if self.transport() == TransportKind::Polling {
                // Nothing more goes out; a WebSocket finishes when its task ends.
                self.finish();
            }
        }
        if let Some(upper) = self.0.upper.get() {
            guard(self, "on_disconnect", || upper.on_disconnect(reason));
        }
        guard(self, "on_disconnect", || {
            self.0.engine.handler().on_disconnect(self, reason);
        });
        self.mark_done(HANDLED);
    }

    /// Hands this session's messages and its close to `handler` instead of the engine's
    /// [`EngineHandler`](super::EngineHandler): a layer above keeps its per-session state
    /// there, typed, and is called on it directly. Call it from
    /// [`EngineHandler::on_connect`](super::EngineHandler::on_connect); the engine-wide
    /// handler is still told of the close, after this one.
    ///
    /// A session takes one handler: a second call is refused with the handler given back. The
    /// session keeps it as long as it lives, so the handler must hold the session only weakly
    /// ([`Session::downgrade`]), or the two would keep each other alive.
    pub fn attach(&self, handler: Arc<dyn SessionHandler>) -> Result<(), Arc<dyn SessionHandler>> {
        self.0.upper.set(handler)
    }

    /// Admits the session: it no longer counts toward the engine's bounds on pending sessions
    /// ([`EngineConfigBuilder::max_pending`](super::EngineConfigBuilder::max_pending)). The
    /// Socket.IO layer admits a session when its first namespace connects. Later calls do
    /// nothing.
    pub fn admit(&self) {
        self.leave_pending();
    }

    /// Whether the session is still pending (open and not admitted).
    pub fn is_pending(&self) -> bool {
        self.0.pending.load(Ordering::Acquire)
    }

    fn leave_pending(&self) {
        if self.0.pending.swap(false, Ordering::AcqRel) {
            self.0
                .engine
                .release_pending(self.remote().0.map(|a| a.ip()));
        }
    }

    /// A handle that does not keep the session alive.
    pub fn downgrade(&self) -> WeakSession {
        WeakSession(Arc::downgrade(&self.0))
    }

    /// Whether the session is finished (see [`Session::finished`]).
    pub(crate) fn is_finished(&self) -> bool {
        self.0.done.load(Ordering::Acquire) == SENT | HANDLED
    }

    /// A polling session closed by the server is finished once everything queued before the
    /// close has been handed to a poll: the close packet that follows is a courtesy that a
    /// client leaving on its own (python-engineio, once its last namespace is disconnected)
    /// never polls for. Called at the close and by each poll once it lets go of the queue, so
    /// that one of the two sees the queue drained.
    pub(crate) fn finish_if_drained(&self) {
        if !self.close_reason().is_some_and(flushes) || self.transport() != TransportKind::Polling {
            return;
        }
        let Some(mut outbox) = self.try_outbox() else {
            // A poll holds the queue: it checks again when it lets go.
            return;
        };
        match outbox.try_next() {
            Some(frame) => outbox.put_back(frame),
            None => {
                drop(outbox);
                self.finish();
            }
        }
    }

    /// Marks the session's transport done sending (the session is finished once the close's
    /// handlers ran too).
    pub(crate) fn finish(&self) {
        self.mark_done(SENT);
    }

    fn mark_done(&self, bit: u8) {
        let before = self.0.done.fetch_or(bit, Ordering::AcqRel);
        if before != SENT | HANDLED && before | bit == SENT | HANDLED {
            self.0.on_done.notify_waiters();
        }
    }

    /// Resolves once the session is closed, its disconnect handlers have run and its transport
    /// has sent everything it will: when the server closed it, what was queued (a polling
    /// session: handed to its polls, or the grace of one ping interval and timeout past; a
    /// WebSocket: written with the close packet and the Close frame, or given up after 2 s).
    pub(crate) async fn finished(&self) {
        let notified = self.0.on_done.notified();
        tokio::pin!(notified);
        loop {
            notified.as_mut().enable();
            if self.is_finished() {
                return;
            }
            notified.as_mut().await;
            notified.set(self.0.on_done.notified());
        }
    }

    /// The reason the session closed, if it did.
    pub fn close_reason(&self) -> Option<DisconnectReason> {
        *self.0.closed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Resolves when the session closes, with the reason.
    pub(crate) async fn closed(&self) -> DisconnectReason {
        let notified = self.0.on_close.notified();
        tokio::pin!(notified);
        loop {
            // Registered before the check, so that a close between the two still wakes us.
            notified.as_mut().enable();
            if let Some(reason) = self.close_reason() {
                return reason;
            }
            notified.as_mut().await;
            notified.set(self.0.on_close.notified());
        }
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.0.engine
    }

    fn state(&self) -> MutexGuard<'_, TransportState> {
        // The lock is never held across user code or a panic point.
        self.0
            .transport
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn is_upgrading(&self) -> bool {
        self.state().upgrading
    }

    /// Marks the start of an upgrade; false if one is already running or done.
    pub(crate) fn begin_upgrade(&self) -> bool {
        let mut st = self.state();
        if st.upgrading || st.kind != TransportKind::Polling {
            return false;
        }
        st.upgrading = true;
        true
    }

    pub(crate) fn end_upgrade(&self, success: bool) {
        let mut st = self.state();
        st.upgrading = false;
        if success {
            st.kind = TransportKind::WebSocket;
            let metrics = self.0.engine.metrics();
            metrics.upgrades.increment(1);
            if st.counted {
                metrics.sessions.get(TransportKind::Polling).decrement(1.0);
                metrics
                    .sessions
                    .get(TransportKind::WebSocket)
                    .increment(1.0);
            }
            self.0
                .span
                .record("transport", TransportKind::WebSocket.as_str());
        }
    }

    /// Handles one packet from the client. An `Err` closes the session with that reason.
    pub(crate) fn on_packet(&self, packet: Packet) -> Result<(), DisconnectReason> {
        if self.is_closed() {
            return Ok(());
        }
        match packet {
            Packet::Message(msg) => guard(self, "on_message", || match self.0.upper.get() {
                Some(upper) => upper.on_message(msg),
                None => self.0.engine.handler().on_message(self, msg),
            }),
            Packet::Binary(data) => guard(self, "on_binary", || match self.0.upper.get() {
                Some(upper) => upper.on_binary(data),
                None => self.0.engine.handler().on_binary(self, data),
            }),
            Packet::Pong { probe: false } if self.0.version == EioVersion::V4 => self.on_pong(),
            Packet::Pong { probe: false } => {
                super::session_warn!(*self, "pong from a v3 client, closing the session");
                return Err(DisconnectReason::TransportError);
            }
            Packet::Close => return Err(DisconnectReason::TransportClose),
            Packet::Ping { probe: false } => {
                // Engine.IO v3 clients ping, and the answer starts their next wait; v4 clients
                // do not ping, but answering costs nothing.
                if self.0.version == EioVersion::V3 {
                    self.0.engine.heartbeats().expect_ping(self);
                }
                let _ = self.send(Frame::PONG);
            }
            Packet::Noop => {}
            Packet::Ping { probe: true } | Packet::Pong { probe: true } | Packet::Upgrade => {
                super::session_warn!(
                    *self,
                    ?packet,
                    "upgrade packet outside an upgrade, closing the session"
                );
                return Err(DisconnectReason::PacketParsing);
            }
        }
        Ok(())
    }

    /// Numbers the next ping.
    pub(crate) fn next_ping(&self) -> u64 {
        self.0.pings.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// The number of the last ping (of a v3 client: received; of a v4 one: sent).
    pub(crate) fn last_ping(&self) -> u64 {
        self.0.pings.load(Ordering::Acquire)
    }

    /// Whether ping number `n` has been answered.
    pub(crate) fn answered(&self, n: u64) -> bool {
        self.0.answered.load(Ordering::Acquire) >= n
    }

    /// A pong answers the last ping (once) and schedules the next one; a pong nobody asked for
    /// changes nothing.
    fn on_pong(&self) {
        let sent = self.0.pings.load(Ordering::Acquire);
        let previous = self.0.answered.swap(sent, Ordering::AcqRel);
        if previous < sent {
            self.0.engine.heartbeats().schedule(self);
        }
    }
}

/// Runs a callback of the [`EngineHandler`](super::EngineHandler) (user code, through the
/// Socket.IO layer) and contains a panic in it: the panic is logged and the session goes on.
/// Unchecked, it would end the task that called: the connection's own, or the engine's
/// heartbeat timer, which serves every session.
pub(crate) fn guard(session: &Session, callback: &str, f: impl FnOnce()) {
    if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        let message = super::panic_message(&*panic);
        super::handler_panicked();
        tracing::error!(sid = %session.id(), callback, %message, "a handler panicked");
    }
}

/// A session's transport has sent all it will.
const SENT: u8 = 1;
/// A session's close handlers have run.
const HANDLED: u8 = 2;

/// Whether a close lets the client receive what was queued and a close packet.
pub(crate) fn flushes(reason: DisconnectReason) -> bool {
    matches!(
        reason,
        DisconnectReason::ClosedByServer | DisconnectReason::ServerShutdown
    )
}

/// The handshake request's parts, detached from the connection's read buffer. hyper hands out
/// the URI and header values as slices of its 8 to 16 KiB read buffer, so keeping them for the
/// session's life would keep that whole buffer allocated for every connection; copies take a
/// few hundred bytes. Extensions (set by layers in front) are kept as they are.
fn detach(parts: Parts) -> Parts {
    let (mut fresh, ()) = http::Request::new(()).into_parts();
    fresh.method = parts.method;
    fresh.version = parts.version;
    fresh.uri = parts.uri.to_string().parse().unwrap_or(parts.uri);
    fresh.headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let name =
                http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap_or(name.clone());
            let value = http::HeaderValue::from_bytes(value.as_bytes())
                .map(|mut v| {
                    v.set_sensitive(value.is_sensitive());
                    v
                })
                .unwrap_or_else(|_| value.clone());
            (name, value)
        })
        .collect();
    // An emptied map (hyper's upgrade handle taken out) still holds its allocation.
    if !parts.extensions.is_empty() {
        fresh.extensions = parts.extensions;
    }
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_queue_is_bounded_all_or_nothing_and_wakes_its_reader() {
        let queue = Arc::new(Queue::new(3, usize::MAX));
        let carry = Arc::new(tokio::sync::Mutex::new(None));
        let mut outbox = Outbox {
            queue: &queue,
            carry: carry.try_lock().unwrap(),
        };
        assert!(queue.push_all([Frame::text("a"), Frame::text("b")].into_iter(), false));
        // Two more do not fit: neither is queued.
        assert!(!queue.push_all([Frame::text("c"), Frame::text("d")].into_iter(), false));
        assert!(queue.push_all([Frame::text("c")].into_iter(), false));
        let mut got = Vec::new();
        while let Some(Frame::Text(t)) = outbox.try_next() {
            got.push(t.as_str().to_owned());
        }
        assert_eq!(got, ["4a", "4b", "4c"]);
        drop(outbox);
        // A reader waiting on an empty queue is woken by the next push.
        let waiting = tokio::spawn({
            let (queue, carry) = (queue.clone(), carry.clone());
            async move {
                let mut outbox = Outbox {
                    queue: &queue,
                    carry: carry.lock().await,
                };
                outbox.next().await
            }
        });
        tokio::task::yield_now().await;
        assert!(queue.push_all([Frame::text("e")].into_iter(), false));
        let Some(Frame::Text(t)) = waiting.await.unwrap() else {
            panic!("no frame");
        };
        assert_eq!(t.as_str(), "4e");
        // A drained queue gives its memory back.
        let big = Queue::new(1000, usize::MAX);
        assert!(big.push_all((0..500).map(|_| Frame::text("x")), false));
        while big.pop().is_some() {}
        assert!(big.lock().frames.capacity() <= KEEP_CAPACITY);
        assert_eq!(big.bytes(), 0);
    }

    #[test]
    fn the_queue_is_bounded_in_bytes() {
        let frame = Frame::text("x".repeat(999));
        let cost = 1000 + FRAME_COST;
        let queue = Queue::new(usize::MAX, 3 * cost);
        for _ in 0..3 {
            assert!(queue.push_all([frame.clone()].into_iter(), false));
        }
        assert_eq!(queue.bytes(), 3 * cost);
        assert!(!queue.push_all([Frame::text("y")].into_iter(), false));
        // All or nothing: nothing of a refused push stays.
        assert_eq!(queue.lock().frames.len(), 3);
        assert!(queue.push_all([Frame::PING].into_iter(), true));
        while queue.pop().is_some() {}
        assert_eq!(queue.bytes(), 0);
        // An empty queue takes a frame larger than the bound.
        let huge = Frame::text("z".repeat(10 * cost));
        assert!(queue.push_all([huge.clone()].into_iter(), false));
        assert!(!queue.push_all([huge].into_iter(), false));
    }

    #[test]
    fn detached_parts_keep_everything() {
        let req = http::Request::builder()
            .method("GET")
            .uri("/socket.io/?EIO=4&transport=websocket&x=%20y")
            .header("x-custom", "a")
            .header("x-custom", "b")
            .header(http::header::COOKIE, "k=v")
            .extension(7u8)
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let expected = (parts.uri.clone(), parts.headers.clone());
        let detached = detach(parts);
        assert_eq!((detached.uri.clone(), detached.headers.clone()), expected);
        assert_eq!(detached.headers.get_all("x-custom").iter().count(), 2);
        assert_eq!(detached.extensions.get::<u8>(), Some(&7));
    }
}
