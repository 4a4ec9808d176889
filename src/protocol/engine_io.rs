//! Engine.IO v4 packets (one per WebSocket frame) and polling payloads (packets joined by
//! `\x1e`, binary ones as `b` + base64); Engine.IO v3's payloads and binary messages in [`v3`].
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
    /// An Engine.IO v3 payload whose packet lengths are missing, malformed or wrong.
    #[error("malformed packet length in a v3 payload")]
    Length,
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

/// The revision of the Engine.IO protocol a session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EioVersion {
    /// Engine.IO v3 (`EIO=3`), under Socket.IO's v4 protocol: the npm `socket.io-client` 2.x
    /// and the clients of its time. Served only when the server allows it.
    V3,
    /// Engine.IO v4 (`EIO=4`), under Socket.IO's v5 protocol: the current clients.
    #[default]
    V4,
}

/// Engine.IO v3, as the npm `socket.io-client` 2.x speaks it.
///
/// Packets are the same as v4's (`4hello`, `2`, `2probe`), but:
/// - a polling payload of text is length-prefixed, `<length>:<packet>` one after the other, the
///   length counted in UTF-16 code units (a JavaScript string's length), and a binary message
///   in it is `b4` + base64;
/// - a client that can read binary (it did not ask for `b64=1`) gets, when a payload holds a
///   binary message, a binary payload: per packet, `0` (text) or `1` (binary), the decimal
///   digits of its length as bytes 0 to 9, the byte 255, then the packet (text as UTF-8, binary
///   as the type byte 4 and the data);
/// - a binary message on a WebSocket is the type byte 4 followed by the data.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use tower_socketio::engine::Frame;
/// use tower_socketio::protocol::engine_io::{Packet, v3};
///
/// let mut text = BytesMut::new();
/// v3::encode_payload(&[Frame::text("é"), Frame::binary(vec![1, 2, 3])], false, &mut text);
/// assert_eq!(&text[..], "2:4é6:b4AQID".as_bytes());
///
/// let mut binary = BytesMut::new();
/// v3::encode_payload(&[Frame::text("hi"), Frame::binary(vec![7])], true, &mut binary);
/// assert_eq!(&binary[..], b"\x00\x03\xff4hi\x01\x02\xff\x04\x07");
///
/// let packets = v3::decode_payload(binary.freeze(), true)?;
/// assert_eq!(packets[1], Packet::Binary(Bytes::from_static(&[7])));
/// # Ok::<(), tower_socketio::protocol::engine_io::PayloadError>(())
/// ```
pub mod v3 {
    use base64::Engine as _;
    use bytes::{BufMut, Bytes, BytesMut};

    use super::{Packet, PacketError, PayloadError, Str, decode_text as decode_v4_text};
    use crate::protocol::Frame;

    /// The type byte of a binary message (on a WebSocket, and in a binary payload).
    const MESSAGE: u8 = 4;
    /// Ends the length of a packet in a binary payload.
    const LENGTH_END: u8 = 255;
    /// The most digits a length may have: more cannot be a payload the server accepts.
    const MAX_DIGITS: usize = 12;

    /// Decodes a text packet: as v4, and `b4` + base64 for a binary message.
    pub fn decode_text(text: Str) -> Result<Packet, PacketError> {
        match text.as_str().strip_prefix('b') {
            Some(rest) => {
                let b64 = rest.strip_prefix('4').ok_or(match rest.chars().next() {
                    Some(c) => PacketError::UnknownType(c),
                    None => PacketError::Empty,
                })?;
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map(|v| Packet::Binary(Bytes::from(v)))
                    .map_err(|_| PacketError::Base64)
            }
            None => decode_v4_text(text),
        }
    }

    /// Decodes a binary WebSocket message: the type byte 4, then the data (shared with
    /// `data`'s buffer).
    pub fn decode_binary(data: Bytes) -> Result<Packet, PacketError> {
        match data.first() {
            Some(&MESSAGE) => Ok(Packet::Binary(data.slice(1..))),
            Some(&other) => Err(PacketError::UnknownType(char::from(b'0' + other % 10))),
            None => Err(PacketError::Empty),
        }
    }

    /// A binary message as a WebSocket message: the type byte 4, then the data.
    pub fn binary_message(data: &[u8]) -> Bytes {
        let mut out = BytesMut::with_capacity(1 + data.len());
        out.put_u8(MESSAGE);
        out.extend_from_slice(data);
        out.freeze()
    }

    /// A binary message as a text packet, `b4` + base64: on a WebSocket to a client that asked
    /// for `b64=1`.
    pub fn base64_message(data: &[u8]) -> String {
        let mut out = String::with_capacity(2 + data.len().div_ceil(3) * 4);
        out.push_str("b4");
        base64::engine::general_purpose::STANDARD.encode_string(data, &mut out);
        out
    }

    /// Splits a polling payload into its packets: a binary payload when `binary` (the request
    /// said `application/octet-stream`), a length-prefixed text payload otherwise. Messages
    /// share `body`'s buffer.
    pub fn decode_payload(body: Bytes, binary: bool) -> Result<Vec<Packet>, PayloadError> {
        if body.is_empty() {
            return Err(PayloadError::Empty);
        }
        if binary {
            decode_binary_payload(body)
        } else {
            decode_text_payload(Str::try_from(body).map_err(|_| PayloadError::Utf8)?)
        }
    }

    /// The byte length of the first `units` UTF-16 code units of `s`, if `s` has that many
    /// and they end on a character.
    fn utf16_prefix(s: &str, units: usize) -> Option<usize> {
        let mut counted = 0;
        for (i, c) in s.char_indices() {
            if counted == units {
                return Some(i);
            }
            counted += c.len_utf16();
            if counted > units {
                return None;
            }
        }
        (counted == units).then_some(s.len())
    }

    fn decode_text_payload(body: Str) -> Result<Vec<Packet>, PayloadError> {
        let mut packets = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let colon = rest
                .as_str()
                .bytes()
                .take(MAX_DIGITS + 1)
                .position(|b| b == b':')
                .ok_or(PayloadError::Length)?;
            let digits = &rest.as_str()[..colon];
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PayloadError::Length);
            }
            let units: usize = digits.parse().map_err(|_| PayloadError::Length)?;
            let after = rest.slice_from(colon + 1);
            let len = utf16_prefix(after.as_str(), units).ok_or(PayloadError::Length)?;
            if len > 0 {
                packets.push(decode_text(after.slice(0..len))?);
            }
            rest = after.slice_from(len);
        }
        if packets.is_empty() {
            return Err(PayloadError::Empty);
        }
        Ok(packets)
    }

    fn decode_binary_payload(body: Bytes) -> Result<Vec<Packet>, PayloadError> {
        let mut packets = Vec::new();
        let mut at = 0;
        while at < body.len() {
            let is_text = match body[at] {
                0 => true,
                1 => false,
                _ => return Err(PayloadError::Length),
            };
            at += 1;
            let mut len: usize = 0;
            let mut digits = 0;
            loop {
                let Some(&b) = body.get(at) else {
                    return Err(PayloadError::Length);
                };
                at += 1;
                if b == LENGTH_END {
                    break;
                }
                digits += 1;
                if b > 9 || digits > MAX_DIGITS {
                    return Err(PayloadError::Length);
                }
                len = len * 10 + usize::from(b);
            }
            if digits == 0 || body.len() - at < len {
                return Err(PayloadError::Length);
            }
            let packet = body.slice(at..at + len);
            at += len;
            packets.push(if is_text {
                decode_text(Str::try_from(packet).map_err(|_| PayloadError::Utf8)?)?
            } else {
                decode_binary(packet)?
            });
        }
        Ok(packets)
    }

    /// The number of UTF-16 code units of `s`: its length as JavaScript counts it.
    fn utf16_len(s: &str) -> usize {
        if s.is_ascii() {
            s.len()
        } else {
            s.chars().map(char::len_utf16).sum()
        }
    }

    fn put_base64(data: &[u8], out: &mut BytesMut) {
        let start = out.len();
        out.resize(start + data.len().div_ceil(3) * 4, 0);
        // The buffer was sized exactly for the padded encoding, so this cannot fail.
        let written = base64::engine::general_purpose::STANDARD
            .encode_slice(data, &mut out[start..])
            .unwrap_or(0);
        out.truncate(start + written);
    }

    fn put_binary_length(kind: u8, len: usize, out: &mut BytesMut) {
        out.put_u8(kind);
        out.extend(len.to_string().bytes().map(|d| d - b'0'));
        out.put_u8(LENGTH_END);
    }

    /// Whether a payload of these frames is binary for a client that reads binary.
    pub fn is_binary_payload<'a>(frames: impl IntoIterator<Item = &'a Frame>) -> bool {
        frames.into_iter().any(|f| matches!(f, Frame::Binary(_)))
    }

    /// Appends frames as a polling payload: binary when `binary` (the client reads binary and
    /// one frame is binary, see [`is_binary_payload`]), length-prefixed text otherwise.
    pub fn encode_payload<'a>(
        frames: impl IntoIterator<Item = &'a Frame>,
        binary: bool,
        out: &mut BytesMut,
    ) {
        for frame in frames {
            match (frame, binary) {
                (Frame::Text(t), false) => {
                    out.extend_from_slice(utf16_len(t).to_string().as_bytes());
                    out.put_u8(b':');
                    out.extend_from_slice(t.as_bytes());
                }
                (Frame::Binary(b), false) => {
                    let n = 2 + b.len().div_ceil(3) * 4;
                    out.extend_from_slice(n.to_string().as_bytes());
                    out.extend_from_slice(b":b4");
                    put_base64(b, out);
                }
                (Frame::Text(t), true) => {
                    put_binary_length(0, t.len(), out);
                    out.extend_from_slice(t.as_bytes());
                }
                (Frame::Binary(b), true) => {
                    put_binary_length(1, 1 + b.len(), out);
                    out.put_u8(MESSAGE);
                    out.extend_from_slice(b);
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn text(s: &'static str) -> Result<Vec<Packet>, PayloadError> {
            decode_payload(Bytes::from_static(s.as_bytes()), false)
        }

        fn binary(b: &'static [u8]) -> Result<Vec<Packet>, PayloadError> {
            decode_payload(Bytes::from_static(b), true)
        }

        fn msg(s: &str) -> Packet {
            Packet::Message(Str::from(s))
        }

        #[test]
        fn text_payloads_count_utf16_units() {
            assert_eq!(text("6:4hello2:40"), Ok(vec![msg("hello"), msg("0")]));
            // `é` is one unit, `😀` two, as JavaScript counts them.
            assert_eq!(text("2:4é3:4😀"), Ok(vec![msg("é"), msg("😀")]));
            assert_eq!(text("1:2"), Ok(vec![Packet::Ping { probe: false }]));
            assert_eq!(text("6:2probe"), Ok(vec![Packet::Ping { probe: true }]));
            assert_eq!(
                text("6:b4AQID1:1"),
                Ok(vec![
                    Packet::Binary(Bytes::from_static(&[1, 2, 3])),
                    Packet::Close
                ])
            );
            // An empty packet is skipped, as the reference does.
            assert_eq!(text("0:1:6"), Ok(vec![Packet::Noop]));
        }

        #[test]
        fn rejects_malformed_text_payloads() {
            assert_eq!(text(""), Err(PayloadError::Empty));
            assert_eq!(text("0:"), Err(PayloadError::Empty));
            assert_eq!(text("4hello"), Err(PayloadError::Length));
            assert_eq!(text(":4"), Err(PayloadError::Length));
            assert_eq!(text("x:4"), Err(PayloadError::Length));
            assert_eq!(text("+1:4"), Err(PayloadError::Length));
            assert_eq!(text("7:4hello"), Err(PayloadError::Length));
            assert_eq!(text("6:4hello2"), Err(PayloadError::Length));
            // A length that ends inside a surrogate pair.
            assert_eq!(text("2:4😀"), Err(PayloadError::Length));
            assert_eq!(text("99999999999999999999:4"), Err(PayloadError::Length));
            assert_eq!(
                text("1:9"),
                Err(PayloadError::Packet(PacketError::UnknownType('9')))
            );
            assert_eq!(
                text("4:b3AA"),
                Err(PayloadError::Packet(PacketError::UnknownType('3')))
            );
            assert_eq!(
                text("4:b4!!"),
                Err(PayloadError::Packet(PacketError::Base64))
            );
            // A v4 payload is not a v3 payload.
            assert!(text("4hello\x1e4a").is_err());
            assert_eq!(
                decode_payload(Bytes::from_static(b"\xff"), false),
                Err(PayloadError::Utf8)
            );
        }

        #[test]
        fn binary_payloads() {
            assert_eq!(
                binary(b"\x00\x06\xff4hello\x01\x04\xff\x04\x01\x02\x03"),
                Ok(vec![
                    msg("hello"),
                    Packet::Binary(Bytes::from_static(&[1, 2, 3]))
                ])
            );
            // Lengths of several digits, text in UTF-8 bytes.
            let mut long = vec![0u8, 1, 2, 9, 0xff, b'4'];
            long.extend(std::iter::repeat_n(b'a', 128));
            long.extend([0, 3, 0xff, b'4']);
            long.extend("é".as_bytes());
            let packets = decode_payload(Bytes::from(long), true).unwrap();
            assert_eq!(packets[0], msg(&"a".repeat(128)));
            assert_eq!(packets[1], msg("é"));
        }

        #[test]
        fn rejects_malformed_binary_payloads() {
            assert_eq!(binary(b""), Err(PayloadError::Empty));
            assert_eq!(binary(b"\x02\x01\xff4"), Err(PayloadError::Length));
            assert_eq!(binary(b"\x00\x01"), Err(PayloadError::Length));
            assert_eq!(binary(b"\x00\xff4"), Err(PayloadError::Length));
            assert_eq!(binary(b"\x00\x0a\xff4"), Err(PayloadError::Length));
            assert_eq!(binary(b"\x00\x05\xff4"), Err(PayloadError::Length));
            assert_eq!(binary(b"\x00\x02\xff4\xff"), Err(PayloadError::Utf8));
            assert_eq!(
                binary(b"\x01\x02\xff\x02\x01"),
                Err(PayloadError::Packet(PacketError::UnknownType('2')))
            );
            assert_eq!(
                binary(b"\x01\x00\xff"),
                Err(PayloadError::Packet(PacketError::Empty))
            );
            assert_eq!(
                binary(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 0xff]),
                Err(PayloadError::Length)
            );
        }

        #[test]
        fn websocket_binary_messages_carry_their_type() {
            assert_eq!(&binary_message(&[1, 2])[..], &[4, 1, 2]);
            assert_eq!(
                decode_binary(Bytes::from_static(&[4, 1, 2])),
                Ok(Packet::Binary(Bytes::from_static(&[1, 2])))
            );
            assert_eq!(
                decode_binary(Bytes::from_static(&[4])),
                Ok(Packet::Binary(Bytes::new()))
            );
            assert_eq!(decode_binary(Bytes::new()), Err(PacketError::Empty));
            assert!(decode_binary(Bytes::from_static(&[2])).is_err());
            assert_eq!(
                decode_text(Str::from("b4AQ==")),
                Ok(Packet::Binary(Bytes::from_static(&[1])))
            );
            assert_eq!(decode_text(Str::from("b")), Err(PacketError::Empty));
            assert_eq!(base64_message(&[1, 2, 3]), "b4AQID");
            assert_eq!(
                decode_text(Str::from(base64_message(&[0, 255]))),
                Ok(Packet::Binary(Bytes::from_static(&[0, 255])))
            );
        }

        #[test]
        fn payload_round_trips() {
            let frames = [
                Frame::text("héllo 😀"),
                Frame::binary(Bytes::from_static(&[0, 255, 4])),
                Frame::text(""),
                Frame::binary(Bytes::new()),
                Frame::PING,
            ];
            let expected = vec![
                msg("héllo 😀"),
                Packet::Binary(Bytes::from_static(&[0, 255, 4])),
                msg(""),
                Packet::Binary(Bytes::new()),
                Packet::Ping { probe: false },
            ];
            for binary in [false, true] {
                let mut out = BytesMut::new();
                encode_payload(&frames, binary, &mut out);
                assert_eq!(decode_payload(out.freeze(), binary), Ok(expected.clone()));
            }
            let mut out = BytesMut::new();
            encode_payload(&frames[..1], false, &mut out);
            assert_eq!(&out[..], "9:4héllo 😀".as_bytes());
            assert!(is_binary_payload(&frames));
            assert!(!is_binary_payload(&frames[..1]));
        }

        #[test]
        fn no_input_panics() {
            let seeds: [(&[u8], bool); 4] = [
                ("6:4hello6:b4AQID1:2".as_bytes(), false),
                ("3:4😀2:4é".as_bytes(), false),
                (b"\x00\x06\xff4hello\x01\x04\xff\x04\x01\x02\x03", true),
                (b"\x00\x01\x02\xff4", true),
            ];
            for (seed, bin) in seeds {
                for cut in 0..=seed.len() {
                    let _ = decode_payload(Bytes::copy_from_slice(&seed[..cut]), bin);
                }
                for i in 0..seed.len() {
                    for b in [0u8, 1, 9, b':', b'b', b'4', 0xff, 0x80, b'9'] {
                        let mut v = seed.to_vec();
                        v[i] = b;
                        let _ = decode_payload(Bytes::from(v.clone()), bin);
                        let _ = decode_payload(Bytes::from(v), !bin);
                    }
                }
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
