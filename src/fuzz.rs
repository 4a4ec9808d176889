//! Entry points for the fuzz targets of `fuzz/` (feature `fuzzing`, not part of the API): each
//! takes arbitrary bytes, runs one decoder as the server runs it on input from a client or a
//! broker, and checks what must hold of any input. A decoder may refuse the input; it must
//! never panic, and what it accepts must encode into something it accepts again.

use bytes::Bytes;

use crate::protocol::{
    self, DecodeLimits, DecodeState, JsonParser, Parser, Str, engine_io, json, value::Value,
};

/// The limits the server decodes with by default (10 attachments).
fn limits() -> DecodeLimits {
    DecodeLimits {
        max_attachments: 10,
    }
}

/// One Engine.IO packet: a WebSocket text frame, and the same as one piece of a polling
/// payload (`b` + base64 for binary).
pub fn engine_packet(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = engine_io::decode_text(Str::from(text.to_owned()));
    let _ = engine_io::decode_polling_piece(Str::from(text.to_owned()));
}

/// A polling POST body: packets separated by 0x1E. What decodes encodes into a payload that
/// decodes to as many packets.
pub fn polling_payload(data: &[u8]) {
    let Ok(packets) = engine_io::decode_payload(Bytes::copy_from_slice(data)) else {
        return;
    };
    let frames: Vec<protocol::Frame> = packets
        .iter()
        .filter_map(|p| match p {
            engine_io::Packet::Message(m) => Some(protocol::Frame::text(m.as_str())),
            engine_io::Packet::Binary(b) => Some(protocol::Frame::binary(b.clone())),
            _ => None,
        })
        .collect();
    let mut out = bytes::BytesMut::new();
    engine_io::encode_payload(&frames, &mut out);
    if !frames.is_empty() {
        let again = engine_io::decode_payload(out.freeze()).expect("an encoded payload decodes");
        assert_eq!(again.len(), frames.len(), "as many packets");
    }
}

/// A Socket.IO packet in the JSON format, as a client's session feeds it: the text up to the
/// first 0x00 byte is the text message, each later piece a binary attachment. A packet that
/// decodes is encoded again and must decode again.
pub fn socketio_packet(data: &[u8]) {
    let mut pieces = data.split(|&b| b == 0);
    let Some(Ok(text)) = pieces.next().map(std::str::from_utf8) else {
        return;
    };
    let limits = limits();
    let _ = protocol::decode(text, &limits);
    let mut state = DecodeState::default();
    let mut decoded = JsonParser.decode_text(Str::from(text.to_owned()), &mut state, &limits);
    for piece in pieces {
        if !state.is_pending() {
            break;
        }
        decoded = JsonParser.decode_binary(Bytes::copy_from_slice(piece), &mut state, &limits);
    }
    if let Ok(Some(packet)) = decoded {
        round_trip(&JsonParser, &packet);
    }
}

/// Encodes `packet` with `parser` and decodes its frames again: it must decode, whole.
fn round_trip(parser: &dyn Parser, packet: &protocol::Packet) {
    let mut state = DecodeState::default();
    let mut last = None;
    // Generous limits: what was accepted with the defaults is re-read as encoded.
    let limits = DecodeLimits {
        max_attachments: usize::MAX,
    };
    for frame in parser.encode(packet) {
        last = Some(match frame {
            protocol::Frame::Text(t) => {
                parser.decode_text(Str::from(t).slice_from(1), &mut state, &limits)
            }
            protocol::Frame::Binary(b) => parser.decode_binary(b, &mut state, &limits),
        });
    }
    match last {
        Some(Ok(Some(_))) => {}
        other => panic!("{packet:?} encoded does not decode again: {other:?}"),
    }
}

/// Our JSON reader (event arguments): a value that parses is written and parses again, equal.
pub fn json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(value) = json::parse(text) else {
        let _ = json::parse_shared(&Str::from(text.to_owned()));
        return;
    };
    let shared = json::parse_shared(&Str::from(text.to_owned())).expect("parse_shared agrees");
    assert_eq!(value, shared, "parse and parse_shared agree");
    let mut out = String::new();
    json::write_json(&value, &mut out, None);
    let again = json::parse(&out).unwrap_or_else(|e| panic!("{out:?} written does not parse: {e}"));
    assert_eq!(value, again, "{text:?} written as {out:?}");
}

/// The msgpack reader: a value (Redis messages, with up to 10 buffers), and a packet of the
/// `socket.io-msgpack-parser` format, encoded again when it decodes.
#[cfg(feature = "msgpack")]
pub fn msgpack(data: &[u8]) {
    use crate::protocol::msgpack;
    let _: Result<Value, _> = msgpack::decode_value(data, 10);
    if let Ok(packet) = msgpack::decode(data, &limits()) {
        round_trip(&crate::protocol::MsgpackParser, &packet);
    }
}

/// A message from the Redis adapter's channels, read as each channel's handler reads it: a
/// broadcast, a request (JSON or msgpack, with its type, options, rooms, packet) or a response
/// (with the sockets it describes).
#[cfg(feature = "redis")]
pub fn redis_message(data: &[u8]) {
    crate::adapter::redis::fuzz_message(data);
}
