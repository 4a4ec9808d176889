//! The WebSocket transport: direct sessions and upgrades from polling.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
    time::Duration,
};

use futures_util::{SinkExt, StreamExt, task::AtomicWaker};
use http::{HeaderMap, Response, StatusCode, header, request::Parts};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        Message,
        error::{CapacityError, Error as WsError},
        handshake::derive_accept_key,
        protocol::{CloseFrame, Role, WebSocketConfig, frame::coding::CloseCode},
    },
};
use tracing::Instrument;

use super::Body;
use super::{
    DisconnectReason, Frame, Str, TransportKind,
    error::ProtocolError,
    session::{Session, flushes},
    session_warn,
};
use crate::protocol::engine_io::{self, EioVersion, Packet};

type Ws = WebSocketStream<TokioIo<Upgraded>>;

/// A WebSocket handshake that passed the checks: answer it with [`Accepted::run`].
pub(crate) struct Accepted {
    on_upgrade: OnUpgrade,
    accept_key: String,
    max_payload: usize,
}

fn header_has(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .map(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
            .unwrap_or(false)
    })
}

/// Checks a WebSocket opening handshake and takes hyper's upgrade handle out of the request.
pub(crate) fn accept(parts: &mut Parts, max_payload: usize) -> Result<Accepted, &'static str> {
    let h = &parts.headers;
    let ok = parts.method == http::Method::GET
        && header_has(h, header::CONNECTION, "upgrade")
        && header_has(h, header::UPGRADE, "websocket")
        && h.get(header::SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes()) == Some(b"13");
    let key = h.get(header::SEC_WEBSOCKET_KEY).filter(|_| ok);
    let Some(key) = key else {
        return Err("Bad WebSocket handshake");
    };
    let accept_key = derive_accept_key(key.as_bytes());
    let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
        tracing::warn!("WebSocket request without hyper's upgrade handle: is the server hyper 1?");
        return Err("Upgrade unavailable");
    };
    Ok(Accepted {
        on_upgrade,
        accept_key,
        max_payload,
    })
}

impl Accepted {
    fn respond<T, Fut>(self, task: T) -> Response<Body>
    where
        T: FnOnce(Ws) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let Accepted {
            on_upgrade,
            accept_key,
            max_payload,
        } = self;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let ws = WebSocketStream::from_raw_socket(
                        TokioIo::new(upgraded),
                        Role::Server,
                        Some(ws_config(max_payload)),
                    )
                    .await;
                    task(ws).await;
                }
                Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
            }
        });
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = res.headers_mut();
        h.insert(
            header::CONNECTION,
            header::HeaderValue::from_static("upgrade"),
        );
        h.insert(
            header::UPGRADE,
            header::HeaderValue::from_static("websocket"),
        );
        if let Ok(v) = header::HeaderValue::from_str(&accept_key) {
            h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
        }
        res
    }

    /// Answers 101 and runs a new WebSocket session (its open packet is already queued).
    pub(crate) fn run(self, session: Session) -> Response<Body> {
        // Should the upgrade never complete, the session ends with the task that waited for it.
        let ends = Ends(session.clone());
        let span = session.span().clone();
        self.respond(move |ws| {
            async move {
                let framing = Framing::of(&session, !session.reads_binary_payloads());
                drive(session, ws, framing).await;
                drop(ends);
            }
            .instrument(span)
        })
    }
}

/// Ends a WebSocket session when dropped: closed (if it is not already) and finished.
struct Ends(Session);

impl Drop for Ends {
    fn drop(&mut self) {
        self.0.close_with(DisconnectReason::TransportError);
        self.0.finish();
    }
}

/// The same payload limit as polling: a larger message fails the read, and `drive` closes the
/// connection with code 1009.
///
/// The read buffer starts at 4 KiB instead of tungstenite's 128 KiB, which it fills with zeros
/// up front: that would make every idle connection cost 128 KiB of resident memory. Larger
/// messages still arrive whole (the buffer grows to the frame's length), a few reads each.
fn ws_config(max_payload: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .max_message_size(Some(max_payload))
        .max_frame_size(Some(max_payload))
}

/// A WebSocket opened for an existing polling session: the upgrade.
///
/// A WebSocket for a session that has already upgraded, or is upgrading, completes its
/// handshake and is then closed, as the reference server does; the session's transport is left
/// as it is. The first request to arrive holds the upgrade (taken before the 101 is answered).
///
/// `base64`: the upgrade request asked for `b64=1` (Engine.IO v3: binary goes as text on this
/// WebSocket, whatever the polling transport did).
pub(crate) fn upgrade(session: Session, parts: &mut Parts, base64: bool) -> Response<Body> {
    if session.is_closed() {
        return ProtocolError::BadRequest.response(None);
    }
    let acc = match accept(parts, session.engine().config().max_payload) {
        Ok(acc) => acc,
        Err(message) => return ProtocolError::BadRequest.response(Some(message)),
    };
    if !session.begin_upgrade() {
        tracing::debug!(sid = %session.id(), "WebSocket for a session upgraded or upgrading, closed");
        return acc.respond(|mut ws| async move {
            let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
        });
    }
    // Should the connection never upgrade, the upgrade is given up with the task.
    let slot = UpgradeSlot(session.clone());
    let span = session.span().clone();
    let framing = Framing::of(&session, base64);
    acc.respond(move |ws| run_upgrade(session, ws, slot, framing).instrument(span))
}

/// Gives up an upgrade when dropped before it was settled: the session keeps polling.
struct UpgradeSlot(Session);

impl Drop for UpgradeSlot {
    fn drop(&mut self) {
        if self.0.is_upgrading() {
            self.0.end_upgrade(false);
        }
    }
}

async fn run_upgrade(session: Session, mut ws: Ws, slot: UpgradeSlot, framing: Framing) {
    // (`mut`: the probe exchange reads and writes before `drive` splits the stream.)
    let timeout = session.engine().config().upgrade_timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    let probed = async {
        // `2probe`, answered `3probe`; then `5` once the client has paused polling.
        match next_text(&mut ws).await? {
            Packet::Ping { probe: true } => {}
            other => return Err(format!("expected 2probe, got {other:?}")),
        }
        ws.send(Message::text("3probe"))
            .await
            .map_err(|e| e.to_string())?;
        // Release a pending GET so that the client can pause polling.
        session.0.release_poll.notify_waiters();
        loop {
            match next_text(&mut ws).await? {
                Packet::Upgrade => return Ok(()),
                Packet::Noop | Packet::Ping { probe: true } => {}
                other => return Err(format!("expected 5, got {other:?}")),
            }
        }
    };
    let outcome = tokio::select! {
        r = tokio::time::timeout_at(deadline, probed) => r.unwrap_or_else(|_| Err("upgrade timeout".into())),
        _ = session.closed() => Err("session closed during upgrade".into()),
    };
    match outcome {
        Ok(()) => {
            session.end_upgrade(true);
            drop(slot);
            tracing::debug!(sid = %session.id(), "upgraded to WebSocket");
            drive(session.clone(), ws, framing).await;
            session.finish();
        }
        Err(why) => {
            tracing::debug!(sid = %session.id(), %why, "upgrade abandoned");
            drop(slot);
            let _ = ws.close(None).await;
        }
    }
}

/// The next Engine.IO packet of an upgrading WebSocket, which must be text.
async fn next_text(ws: &mut Ws) -> Result<Packet, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                return engine_io::decode_text(Str::from(t)).map_err(|e| e.to_string());
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(other)) => return Err(format!("unexpected frame {other:?}")),
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("closed".into()),
        }
    }
}

/// How a session's binary messages go on its WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Engine.IO v4: as they are.
    V4,
    /// Engine.IO v3: the type byte 4, then the data.
    V3,
    /// Engine.IO v3 to a client that asked for `b64=1`: text, `b4` + base64.
    V3Base64,
}

impl Framing {
    /// The framing of a session's WebSocket (`base64`: its request asked for `b64=1`).
    fn of(session: &Session, base64: bool) -> Framing {
        match session.protocol() {
            EioVersion::V4 => Framing::V4,
            EioVersion::V3 if base64 => Framing::V3Base64,
            EioVersion::V3 => Framing::V3,
        }
    }
}

/// A frame as a WebSocket message, in the session's framing.
fn to_message(frame: Frame, framing: Framing) -> Message {
    match frame {
        Frame::Text(t) => Message::Text(t),
        Frame::Binary(b) if framing == Framing::V4 => Message::Binary(b),
        Frame::Binary(b) if framing == Framing::V3 => {
            Message::Binary(engine_io::v3::binary_message(&b))
        }
        Frame::Binary(b) => Message::text(engine_io::v3::base64_message(&b)),
    }
}

/// Runs a session over its WebSocket until either side closes it.
///
/// One task, one unsplit stream: each wake-up reads every message that is readable (handling
/// each, which may queue replies), then writes every queued frame and flushes once. Replies to
/// what was just read go out in the same pass, and a burst of broadcasts costs one write.
/// Reading goes on while a write waits for the client, and the session's close ends both.
async fn drive(session: Session, mut ws: Ws, framing: Framing) {
    let max = session.engine().config().max_payload;
    let metrics = session.engine().metrics();
    let (received, sent) = (
        metrics.received.get(TransportKind::WebSocket),
        metrics.sent.get(TransportKind::WebSocket),
    );
    let v3 = framing != Framing::V4;
    let closed = session.closed();
    tokio::pin!(closed);
    let (reason, code) = 'run: {
        let mut outbox = tokio::select! {
            outbox = session.outbox() => outbox,
            reason = &mut closed => break 'run (reason, CloseCode::Normal),
        };
        // Frames written since the last complete flush.
        let mut unflushed = false;
        let read_wake = Arc::new(ReadWake::default());
        let read_waker = Waker::from(read_wake.clone());
        std::future::poll_fn(|cx| {
            if let Poll::Ready(reason) = closed.as_mut().poll(cx) {
                return Poll::Ready((reason, CloseCode::Normal));
            }
            // Read, when the read side woke the task (a wake-up for queued frames skips it:
            // each read attempt costs tungstenite a zeroed buffer). tokio's cooperative budget
            // ends a long run of ready reads with `Pending` and a wake-up of the read side, so
            // a flooding client cannot hold the worker thread.
            read_wake.task.register(cx.waker());
            if read_wake.woken.swap(false, Ordering::AcqRel) {
                let mut read_cx = Context::from_waker(&read_waker);
                // Counted once per wake-up, not per message.
                let mut bytes = 0;
                while let Poll::Ready(message) = ws.poll_next_unpin(&mut read_cx) {
                    bytes += match &message {
                        Some(Ok(Message::Text(t))) => t.len(),
                        Some(Ok(Message::Binary(b))) => b.len(),
                        _ => 0,
                    };
                    if let Err(end) = read(&session, message, max, v3) {
                        received.increment(bytes as u64);
                        return Poll::Ready(end);
                    }
                }
                received.increment(bytes as u64);
            }
            // Write what is queued, as long as the WebSocket takes it.
            let mut bytes = 0;
            let written = loop {
                match ws.poll_ready_unpin(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => break Err(e),
                    Poll::Pending => break Ok(()),
                }
                let Poll::Ready(frame) = outbox.poll_next(cx) else {
                    break Ok(());
                };
                bytes += frame.len();
                if let Err(e) = ws.start_send_unpin(to_message(frame, framing)) {
                    break Err(e);
                }
                unflushed = true;
            };
            sent.increment(bytes as u64);
            if let Err(e) = written {
                return Poll::Ready(write_failed(&session, &e));
            }
            if unflushed {
                match ws.poll_flush_unpin(cx) {
                    Poll::Ready(Ok(())) => unflushed = false,
                    Poll::Ready(Err(e)) => return Poll::Ready(write_failed(&session, &e)),
                    Poll::Pending => {}
                }
            }
            Poll::Pending
        })
        .await
    };
    session.close_with(reason);
    let reason = session.close_reason().unwrap_or(reason);
    // Say goodbye properly when the server closes; give up quickly on a peer that is gone.
    let farewell = async {
        if flushes(reason) {
            let mut outbox = session.outbox().await;
            while let Some(frame) = outbox.try_next() {
                ws.feed(to_message(frame, framing)).await?;
            }
            ws.feed(to_message(Frame::CLOSE, framing)).await?;
        }
        if code != CloseCode::Abnormal {
            ws.send(Message::Close(Some(CloseFrame {
                code,
                reason: "".into(),
            })))
            .await?;
        }
        Ok::<_, WsError>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), farewell).await;
}

/// The waker given to the WebSocket's read side: it remembers that the read side woke the task,
/// then wakes the task.
struct ReadWake {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Default for ReadWake {
    fn default() -> Self {
        // Set at first: the first poll reads.
        ReadWake {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        }
    }
}

impl Wake for ReadWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// Handles one message read from the WebSocket (`v3`: an Engine.IO v3 session); an `Err` ends
/// the session with that reason.
fn read(
    session: &Session,
    message: Option<Result<Message, WsError>>,
    max: usize,
    v3: bool,
) -> Result<(), (DisconnectReason, CloseCode)> {
    let malformed = |e: engine_io::PacketError| {
        session_warn!(*session, error = %e, "malformed packet, closing the session");
        (DisconnectReason::PacketParsing, CloseCode::Protocol)
    };
    let packet = match message {
        Some(Ok(Message::Text(t))) if t.len() > max => Err(too_big(session, max)),
        Some(Ok(Message::Binary(b))) if b.len() > max => Err(too_big(session, max)),
        Some(Ok(Message::Text(t))) if v3 => {
            engine_io::v3::decode_text(Str::from(t)).map_err(malformed)
        }
        Some(Ok(Message::Text(t))) => engine_io::decode_text(Str::from(t)).map_err(malformed),
        Some(Ok(Message::Binary(b))) if v3 => engine_io::v3::decode_binary(b).map_err(malformed),
        Some(Ok(Message::Binary(b))) => Ok(Packet::Binary(b)),
        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => return Ok(()),
        Some(Ok(Message::Close(_))) | None => {
            Err((DisconnectReason::TransportClose, CloseCode::Normal))
        }
        Some(Err(WsError::Capacity(CapacityError::MessageTooLong { .. }))) => {
            Err(too_big(session, max))
        }
        Some(Err(e @ (WsError::Protocol(_) | WsError::Utf8(_)))) => {
            session_warn!(*session, error = %e, "WebSocket protocol violation, closing the session");
            Err((DisconnectReason::TransportError, CloseCode::Protocol))
        }
        Some(Err(e)) => {
            tracing::debug!(sid = %session.id(), error = %e, "WebSocket error");
            Err((DisconnectReason::TransportError, CloseCode::Protocol))
        }
    };
    packet.and_then(|p| session.on_packet(p).map_err(|r| (r, CloseCode::Normal)))
}

fn write_failed(session: &Session, e: &WsError) -> (DisconnectReason, CloseCode) {
    tracing::debug!(sid = %session.id(), error = %e, "WebSocket write failed");
    (DisconnectReason::TransportError, CloseCode::Abnormal)
}

fn too_big(session: &Session, max: usize) -> (DisconnectReason, CloseCode) {
    session_warn!(
        *session,
        max,
        "WebSocket message too large, closing the session"
    );
    (DisconnectReason::TransportError, CloseCode::Size)
}
