//! Engine.IO v4 packets (one per WebSocket frame) and polling payloads (packets joined by
//! `\x1e`, binary ones as `b` + base64).
//!
//! Outgoing packets are [`Frame`]s, encoded once and cheap to clone;
//! [`encode_payload`] joins them into a polling response. Incoming ones decode into
//! [`Packet`]s:
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use tower_socketio::engine::{Frame, Str};
//! use tower_socketio::protocol::engine_io::{self, Packet};
//!
//! let mut payload = BytesMut::new();
//! let frames = [Frame::text("hello"), Frame::binary(vec![1, 2, 3])];
//! engine_io::encode_payload(&frames, &mut payload);
//! assert_eq!(&payload[..], b"4hello\x1ebAQID");
//!
//! let packets = engine_io::decode_payload(payload.freeze())?;
//! assert_eq!(
//!     packets,
//!     [
//!         Packet::Message(Str::from("hello")),
//!         Packet::Binary(Bytes::from_static(&[1, 2, 3])),
//!     ]
//! );
//! let ping = engine_io::decode_text(Str::from("2probe"))?;
//! assert_eq!(ping, Packet::Ping { probe: true });
//! # Ok::<(), engine_io::PayloadError>(())
//! ```

use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};

use super::{Frame, Str};

/// An Engine.IO packet received from a client. (The server's own packets, `open` among them,
/// are written as [`Frame`]s.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `1`: the client closes the session.
    Close,
    /// `2`, or `2probe` during an upgrade.
    Ping {
        /// Whether it is the upgrade probe `2probe`.
        probe: bool,
    },
    /// `3`, or `3probe`.
    Pong {
        /// Whether it is the upgrade probe `3probe`.
        probe: bool,
    },
    /// `4…`: a text message.
    Message(Str),
    /// A binary message (raw frame on WebSocket, `b` + base64 in polling payloads).
    Binary(Bytes),
    /// `5`: the client switches to the new transport.
    Upgrade,
    /// `6`: nothing.
    Noop,
}

/// Why a packet could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// The packet had no type character.
    #[error("empty packet")]
    Empty,
    /// The type character is not one a client may send.
    #[error("unknown or unexpected packet type {0:?}")]
    UnknownType(char),
    /// A control packet carried data it must not carry.
    #[error("unexpected data after packet type {0:?}")]
    TrailingData(char),
    /// A `b` packet whose body is not valid base64.
    #[error("invalid base64 in binary packet")]
    Base64,
}

/// Decodes a text packet (a WebSocket text frame, or one text piece of a polling payload).
/// A message's text shares `text`'s buffer.
pub fn decode_text(text: Str) -> Result<Packet, PacketError> {
    let s = text.as_str();
    let mut chars = s.chars();
    let kind = chars.next().ok_or(PacketError::Empty)?;
    let rest = chars.as_str();
    let bare = |p: Packet| {
        if rest.is_empty() {
            Ok(p)
        } else {
            Err(PacketError::TrailingData(kind))
        }
    };
    match kind {
        '1' => bare(Packet::Close),
        '2' if rest == "probe" => Ok(Packet::Ping { probe: true }),
        '2' => bare(Packet::Ping { probe: false }),
        '3' if rest == "probe" => Ok(Packet::Pong { probe: true }),
        '3' => bare(Packet::Pong { probe: false }),
        '4' => Ok(Packet::Message(text.slice_from(1))),
        '5' => bare(Packet::Upgrade),
        '6' => bare(Packet::Noop),
        other => Err(PacketError::UnknownType(other)),
    }
}

/// Decodes one piece of a polling payload: a text packet, or `b` + base64 for binary.
pub(crate) fn decode_polling_piece(piece: Str) -> Result<Packet, PacketError> {
    match piece.as_str().strip_prefix('b') {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map(|v| Packet::Binary(Bytes::from(v)))
            .map_err(|_| PacketError::Base64),
        None => decode_text(piece),
    }
}

/// Record separator between packets of a polling payload.
pub(crate) const SEPARATOR: u8 = 0x1e;

/// Splits a polling payload into its packets. The payload must be valid UTF-8; messages share
/// `body`'s buffer.
pub fn decode_payload(body: Bytes) -> Result<Vec<Packet>, PayloadError> {
    let body = Str::try_from(body).map_err(|_| PayloadError::Utf8)?;
    if body.is_empty() {
        return Err(PayloadError::Empty);
    }
    let mut packets = Vec::new();
    let mut start = 0;
    let bytes = body.as_str().as_bytes();
    loop {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == SEPARATOR)
            .map_or(bytes.len(), |i| start + i);
        packets.push(decode_polling_piece(body.slice(start..end))?);
        if end == bytes.len() {
            return Ok(packets);
        }
        start = end + 1;
    }
}

/// Why a polling payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The body is not UTF-8.
    #[error("payload is not valid UTF-8")]
    Utf8,
    /// The body is empty.
    #[error("empty payload")]
    Empty,
    /// One of its packets is malformed.
    #[error(transparent)]
    Packet(#[from] PacketError),
}

/// The size a frame takes in a polling payload.
pub(crate) fn polling_len(frame: &Frame) -> usize {
    match frame {
        Frame::Text(t) => t.len(),
        Frame::Binary(b) => 1 + b.len().div_ceil(3) * 4,
    }
}

/// Appends frames to a polling payload, separated by `\x1e` (binary frames as `b` + base64).
pub fn encode_payload<'a>(frames: impl IntoIterator<Item = &'a Frame>, out: &mut BytesMut) {
    for (i, frame) in frames.into_iter().enumerate() {
        if i > 0 {
            out.put_u8(SEPARATOR);
        }
        match frame {
            Frame::Text(t) => out.extend_from_slice(t.as_bytes()),
            Frame::Binary(b) => {
                out.put_u8(b'b');
                let start = out.len();
                let n = b.len().div_ceil(3) * 4;
                out.resize(start + n, 0);
                // The buffer was sized exactly for the padded encoding, so this cannot fail.
                let written = base64::engine::general_purpose::STANDARD
                    .encode_slice(b, &mut out[start..])
                    .unwrap_or(0);
                out.truncate(start + written);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Result<Packet, PacketError> {
        decode_text(Str::from(s))
    }

    #[test]
    fn decodes_every_client_packet() {
        assert_eq!(text("1"), Ok(Packet::Close));
        assert_eq!(text("2"), Ok(Packet::Ping { probe: false }));
        assert_eq!(text("2probe"), Ok(Packet::Ping { probe: true }));
        assert_eq!(text("3"), Ok(Packet::Pong { probe: false }));
        assert_eq!(text("3probe"), Ok(Packet::Pong { probe: true }));
        assert_eq!(text("4héllo"), Ok(Packet::Message(Str::from("héllo"))));
        assert_eq!(text("4"), Ok(Packet::Message(Str::from(""))));
        assert_eq!(text("5"), Ok(Packet::Upgrade));
        assert_eq!(text("6"), Ok(Packet::Noop));
    }

    #[test]
    fn rejects_malformed_packets() {
        assert_eq!(text(""), Err(PacketError::Empty));
        assert_eq!(text("0"), Err(PacketError::UnknownType('0')));
        assert_eq!(text("7"), Err(PacketError::UnknownType('7')));
        assert_eq!(text("x4"), Err(PacketError::UnknownType('x')));
        assert_eq!(text("é"), Err(PacketError::UnknownType('é')));
        assert_eq!(text("1x"), Err(PacketError::TrailingData('1')));
        assert_eq!(text("2probex"), Err(PacketError::TrailingData('2')));
        assert_eq!(text("5 "), Err(PacketError::TrailingData('5')));
        assert_eq!(
            decode_polling_piece(Str::from("b!!")),
            Err(PacketError::Base64)
        );
    }

    #[test]
    fn payload_round_trip() {
        let frames = [
            Frame::text("hello"),
            Frame::binary(Bytes::from_static(&[1, 2, 3, 4])),
            Frame::text(""),
            Frame::binary(Bytes::new()),
            Frame::text("☃"),
        ];
        let mut out = BytesMut::new();
        encode_payload(&frames, &mut out);
        assert_eq!(&out[..], "4hello\x1ebAQIDBA==\x1e4\x1eb\x1e4☃".as_bytes());
        assert_eq!(
            frames.iter().map(polling_len).sum::<usize>() + frames.len() - 1,
            out.len()
        );
        let packets = decode_payload(out.freeze()).unwrap();
        assert_eq!(
            packets,
            vec![
                Packet::Message(Str::from("hello")),
                Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
                Packet::Message(Str::from("")),
                Packet::Binary(Bytes::new()),
                Packet::Message(Str::from("☃")),
            ]
        );
    }

    #[test]
    fn rejects_malformed_payloads() {
        let d = |b: &'static [u8]| decode_payload(Bytes::from_static(b));
        assert_eq!(d(b""), Err(PayloadError::Empty));
        assert_eq!(d(b"\xff\xfe"), Err(PayloadError::Utf8));
        assert_eq!(d(b"4a\x1e"), Err(PayloadError::Packet(PacketError::Empty)));
        assert_eq!(d(b"\x1e4a"), Err(PayloadError::Packet(PacketError::Empty)));
        assert_eq!(
            d(b"4a\x1e9"),
            Err(PayloadError::Packet(PacketError::UnknownType('9')))
        );
        // A v3 length-prefixed payload is not a v4 payload.
        assert!(d(b"6:4hello").is_err());
    }

    #[test]
    fn no_input_panics() {
        let seeds: [&[u8]; 4] = [
            b"4hello\x1ebAQID\x1e2probe",
            b"1",
            b"b====",
            "4☃\x1e6".as_bytes(),
        ];
        for seed in seeds {
            for cut in 0..=seed.len() {
                let _ = decode_payload(Bytes::copy_from_slice(&seed[..cut]));
            }
            for i in 0..seed.len() {
                for b in [0u8, 0x1e, b'b', b'4', 0xff, b'=', 0x80] {
                    let mut v = seed.to_vec();
                    v[i] = b;
                    let _ = decode_payload(Bytes::from(v));
                }
            }
        }
    }
}
