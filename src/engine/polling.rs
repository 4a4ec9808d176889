//! The HTTP long-polling transport.

use bytes::BytesMut;
use http::{Response, StatusCode};
use http_body::Body as HttpBody;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::Body;
use super::{
    DisconnectReason, Frame, TransportKind,
    core::text_response,
    error::{ProtocolError, status_response},
    session::{Session, flushes},
    session_warn,
};
use crate::protocol::engine_io::{self, EioVersion, Packet, polling_len, v3};

/// The most packets one GET answers with: python-engineio's client refuses a payload of more
/// than 16 packets (and drops the connection), so the rest waits for the next poll.
const MAX_PACKETS_PER_POLL: usize = 16;

/// A GET: waits until packets are queued and answers them as one payload.
pub(crate) async fn get(session: Session) -> Response<Body> {
    if session.transport() != TransportKind::Polling {
        return ProtocolError::BadRequest.response(None);
    }
    let Some(mut outbox) = session.try_outbox() else {
        session_warn!(session, "overlapping polling GET, closing the session");
        session.close_with(DisconnectReason::TransportError);
        return ProtocolError::BadRequest.response(None);
    };
    let max = session.0.engine_config_max_payload();
    let mut frames: Vec<Frame> = Vec::new();
    match outbox.try_next() {
        Some(f) => frames.push(f),
        None => {
            let release = session.0.release_poll.notified();
            tokio::pin!(release);
            release.as_mut().enable();
            if session.is_upgrading() {
                frames.push(Frame::NOOP);
            } else {
                // Dropped while waiting: the server dropped the request because its connection
                // closed. The client is gone; do not wait for the heartbeat to tell.
                let gone = PollGone(&session);
                tokio::select! {
                    f = outbox.next() => frames.extend(f),
                    () = &mut release => frames.push(Frame::NOOP),
                    _ = session.closed() => {}
                }
                std::mem::forget(gone);
            }
        }
    }
    let mut size = frames.iter().map(polling_len).sum::<usize>();
    // One place is kept for a close packet.
    while frames.len() < MAX_PACKETS_PER_POLL - 1
        && let Some(f) = outbox.try_next()
    {
        let len = polling_len(&f) + 1;
        if size + len > max {
            outbox.put_back(f);
            break;
        }
        size += len;
        frames.push(f);
    }
    if let Some(reason) = session.close_reason() {
        // Nothing more will be sent: tell the client, once what was queued has gone out. Peek
        // (take and put back) so that a frame left for the next poll is neither lost nor
        // followed by the close packet.
        let drained = match outbox.try_next() {
            Some(f) => {
                outbox.put_back(f);
                false
            }
            None => true,
        };
        if flushes(reason) && drained {
            // The close packet goes alone, in the answer to the poll after the last frames, as
            // the reference sends it: a client handles what came before it first (the official
            // Node client defers a Socket.IO packet by a tick, and would otherwise see the
            // transport close before a DISCONNECT sent with it).
            if frames.is_empty() {
                frames.push(Frame::CLOSE);
                session.0.flushed.notify_one();
            }
        } else if frames.is_empty() && reason == DisconnectReason::TransportClose {
            // The client closed (a `1` by POST) while this poll waited: as the reference, the
            // poll is answered with a noop; the client knows the session is over.
            frames.push(Frame::NOOP);
        } else if frames.is_empty() {
            frames.push(Frame::CLOSE);
        }
    }
    drop(outbox);
    session.finish_if_drained();
    let mut out = BytesMut::with_capacity(size + frames.len());
    match session.protocol() {
        EioVersion::V4 => {
            engine_io::encode_payload(&frames, &mut out);
            count_sent(&session, out.len());
            text_response(out)
        }
        EioVersion::V3 => v3_response(&session, &frames, out),
    }
}

/// An Engine.IO v3 polling answer: a binary payload when the client reads them and a frame is
/// binary, length-prefixed text otherwise.
fn v3_response(session: &Session, frames: &[Frame], mut out: BytesMut) -> Response<Body> {
    let binary = session.reads_binary_payloads() && v3::is_binary_payload(frames);
    v3::encode_payload(frames, binary, &mut out);
    count_sent(session, out.len());
    if !binary {
        return text_response(out);
    }
    let mut res = text_response(out);
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::header::HeaderValue::from_static("application/octet-stream"),
    );
    res
}

/// Bytes sent by polling, for the metrics.
fn count_sent(session: &Session, bytes: usize) {
    let metrics = session.engine().metrics();
    metrics
        .sent
        .get(TransportKind::Polling)
        .increment(bytes as u64);
}

/// A POST body's packets, in the session's revision (`binary`: a v3 binary payload).
fn decode_body(
    session: &Session,
    body: bytes::Bytes,
    binary: bool,
) -> Result<Vec<Packet>, engine_io::PayloadError> {
    match session.protocol() {
        EioVersion::V4 => engine_io::decode_payload(body),
        EioVersion::V3 => v3::decode_payload(body, binary),
    }
}

/// A POST: reads a payload of packets and hands them to the session. `declared`: the body's
/// `Content-Length`; `binary`: an Engine.IO v3 binary payload.
pub(crate) async fn post<B>(
    session: Session,
    declared: Option<u64>,
    binary: bool,
    body: B,
) -> Response<Body>
where
    B: HttpBody,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if session.transport() != TransportKind::Polling {
        return ProtocolError::BadRequest.response(None);
    }
    if session.is_closed() {
        return closed_post(&session, binary, body).await;
    }
    if session
        .0
        .posting
        .swap(true, std::sync::atomic::Ordering::AcqRel)
    {
        session_warn!(session, "overlapping polling POST, closing the session");
        session.close_with(DisconnectReason::TransportError);
        return ProtocolError::BadRequest.response(None);
    }
    // Cleared on drop too: a POST abandoned mid-body (a timeout layer in front, a vanished
    // client) must not make the session's next POST look concurrent.
    let _posting = PostingGuard(&session);
    let max = session.0.engine_config_max_payload();
    // Refused before a byte is read: a declared length (or the body's own exact hint) over the
    // limit.
    let declared = declared.unwrap_or(0).max(body.size_hint().lower());
    if declared > max as u64 {
        session_warn!(
            session,
            declared,
            max,
            "polling payload too large, closing the session"
        );
        session.close_with(DisconnectReason::TransportError);
        return status_response(StatusCode::PAYLOAD_TOO_LARGE);
    }
    read_and_dispatch(&session, binary, body).await
}

/// Closes the session when a waiting GET is dropped before it answered.
struct PollGone<'a>(&'a Session);

impl Drop for PollGone<'_> {
    fn drop(&mut self) {
        tracing::debug!(sid = %self.0.id(), "polling request dropped while waiting");
        // As the reference server: a poll closed prematurely is a transport error.
        self.0.close_with(DisconnectReason::TransportError);
    }
}

/// Clears a session's `posting` flag when the POST that set it ends, however it ends.
struct PostingGuard<'a>(&'a Session);

impl Drop for PostingGuard<'_> {
    fn drop(&mut self) {
        self.0
            .0
            .posting
            .store(false, std::sync::atomic::Ordering::Release);
    }
}

/// A POST to a session the server closed, whose last poll is awaited: a close packet in it
/// means the client has ended the session on its side and will not poll again, so the wait
/// ends (the session is forgotten). Anything else is a bad request.
async fn closed_post<B>(session: &Session, binary: bool, body: B) -> Response<Body>
where
    B: HttpBody,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let max = session.0.engine_config_max_payload();
    let deadline = session.engine().config().body_timeout;
    let read = tokio::time::timeout(deadline, Limited::new(body, max).collect()).await;
    let closes = match read {
        Ok(Ok(c)) => decode_body(session, c.to_bytes(), binary)
            .is_ok_and(|packets| packets.iter().any(|p| matches!(p, Packet::Close))),
        _ => false,
    };
    if !closes {
        return ProtocolError::BadRequest.response(None);
    }
    session.0.flushed.notify_one();
    ok_response()
}

fn ok_response() -> Response<Body> {
    let mut res = Response::new(Body::full(bytes::Bytes::from_static(b"ok")));
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::header::HeaderValue::from_static("text/html"),
    );
    res
}

async fn read_and_dispatch<B>(session: &Session, binary: bool, body: B) -> Response<Body>
where
    B: HttpBody,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let max = session.0.engine_config_max_payload();
    let deadline = session.engine().config().body_timeout;
    let Ok(read) = tokio::time::timeout(deadline, Limited::new(body, max).collect()).await else {
        session_warn!(
            *session,
            ?deadline,
            "polling body not read in time, closing the session"
        );
        session.close_with(DisconnectReason::TransportError);
        return status_response(StatusCode::REQUEST_TIMEOUT);
    };
    let bytes = match read {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            session_warn!(
                *session,
                max,
                "polling payload too large, closing the session"
            );
            session.close_with(DisconnectReason::TransportError);
            return status_response(StatusCode::PAYLOAD_TOO_LARGE);
        }
        Err(e) => {
            tracing::debug!(sid = %session.id(), error = %e, "polling body failed");
            session.close_with(DisconnectReason::TransportError);
            return ProtocolError::BadRequest.response(None);
        }
    };
    let metrics = session.engine().metrics();
    metrics
        .received
        .get(TransportKind::Polling)
        .increment(bytes.len() as u64);
    let packets = match decode_body(session, bytes, binary) {
        Ok(p) => p,
        Err(e) => {
            session_warn!(*session, error = %e, "malformed polling payload, closing the session");
            session.close_with(DisconnectReason::PacketParsing);
            return ProtocolError::BadRequest.response(None);
        }
    };
    for p in packets {
        if let Err(reason) = session.on_packet(p) {
            session.close_with(reason);
            break;
        }
    }
    ok_response()
}
