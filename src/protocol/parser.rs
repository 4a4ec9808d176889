//! The [`Parser`] seam: how a Socket.IO packet becomes Engine.IO frames and back.
//!
//! A server uses one parser for every client (the official clients take theirs as their
//! `parser` option, and both ends must agree). [`JsonParser`], the default, is Socket.IO's own
//! text format with binary attachments; `MsgpackParser` (feature `msgpack`) is the format of the
//! npm package `socket.io-msgpack-parser`: one binary message per packet.

use std::fmt;

use bytes::Bytes;

use super::{
    DecodeLimits, Decoded, Frame, Frames, Packet, ParseError, PartialPacket, Str,
    json::write_json_str,
    packet::{self, encode_message},
};

/// What a client's decoder keeps between two messages: a binary packet of the JSON format
/// waiting for its attachments. One per client, owned by the Socket.IO layer.
#[derive(Debug, Default)]
pub struct DecodeState {
    partial: Option<PartialPacket>,
}

impl DecodeState {
    /// Whether a packet is waiting for more messages.
    pub fn is_pending(&self) -> bool {
        self.partial.is_some()
    }
}

/// A Socket.IO wire format: how a packet becomes Engine.IO frames and back.
///
/// A server uses one parser for every client, and the clients must use the same (the official
/// ones take it as their `parser` option). [`JsonParser`], the default, is Socket.IO's own text
/// format with binary attachments; `MsgpackParser` (feature `msgpack`) is the format of the npm
/// package `socket.io-msgpack-parser`: one binary message per packet.
pub trait Parser: Send + Sync + fmt::Debug + 'static {
    /// The packet's Engine.IO frames, in the order they are sent.
    fn encode(&self, packet: &Packet) -> Frames;

    /// Decodes a text message: the packet, or `None` while it waits for binary messages (kept in
    /// `state`).
    fn decode_text(
        &self,
        msg: Str,
        state: &mut DecodeState,
        limits: &DecodeLimits,
    ) -> Result<Option<Packet>, ParseError>;

    /// Decodes a binary message, as [`Parser::decode_text`] does a text one.
    fn decode_binary(
        &self,
        data: Bytes,
        state: &mut DecodeState,
        limits: &DecodeLimits,
    ) -> Result<Option<Packet>, ParseError>;

    /// The frames of an EVENT without ack id, as this parser encoded them, with the string
    /// `arg` appended as the event's last argument; `None` when the parser cannot do that in
    /// place, and the caller encodes the packet again. Connection state recovery stamps the
    /// offset on each stored event this way.
    fn append_str_arg(&self, frames: &[Frame], arg: &str) -> Option<Vec<Frame>> {
        let _ = (frames, arg);
        None
    }
}

/// Socket.IO's own format: JSON text packets, binary data as attachments (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonParser;

impl Parser for JsonParser {
    fn encode(&self, packet: &Packet) -> Frames {
        let enc = encode_message(packet);
        Frames::new(Frame::Text(enc.text.into()), enc.attachments)
    }

    /// The data array ends the text packet (`42["e",1]`, `451-/ns,["e",{…}]`): the argument
    /// goes before its closing bracket, the attachments stay as they are.
    fn append_str_arg(&self, frames: &[Frame], arg: &str) -> Option<Vec<Frame>> {
        let (Frame::Text(text), attachments) = frames.split_first()? else {
            return None;
        };
        let body = text.as_str().strip_suffix(']')?;
        let mut out = String::with_capacity(text.len() + arg.len() + 4);
        out.push_str(body);
        out.push(',');
        write_json_str(arg, &mut out);
        out.push(']');
        let mut spliced = Vec::with_capacity(frames.len());
        spliced.push(Frame::Text(out.into()));
        spliced.extend_from_slice(attachments);
        Some(spliced)
    }

    fn decode_text(
        &self,
        msg: Str,
        state: &mut DecodeState,
        limits: &DecodeLimits,
    ) -> Result<Option<Packet>, ParseError> {
        if state.partial.take().is_some() {
            return Err(ParseError::ExpectedAttachment);
        }
        match packet::decode_shared(&msg, limits)? {
            Decoded::Complete(p) => Ok(Some(p)),
            Decoded::Partial(p) => {
                state.partial = Some(p);
                Ok(None)
            }
        }
    }

    fn decode_binary(
        &self,
        data: Bytes,
        state: &mut DecodeState,
        _: &DecodeLimits,
    ) -> Result<Option<Packet>, ParseError> {
        let Some(partial) = state.partial.as_mut() else {
            return Err(ParseError::UnexpectedAttachment);
        };
        let done = partial.push(data);
        if !matches!(done, Ok(None)) {
            state.partial = None;
        }
        done
    }
}

/// The format of the npm package `socket.io-msgpack-parser` (feature `msgpack`): each packet is
/// one binary message, the msgpack encoding of `{type, data, nsp, id}`; binary data is native
/// msgpack `bin`, so there are no attachments. Give the official client the same parser:
/// `io(url, { parser: require("socket.io-msgpack-parser") })`.
#[cfg(feature = "msgpack")]
#[derive(Debug, Clone, Copy, Default)]
pub struct MsgpackParser;

#[cfg(feature = "msgpack")]
impl Parser for MsgpackParser {
    fn encode(&self, packet: &Packet) -> Frames {
        Frames::new(Frame::Binary(super::msgpack::encode(packet)), Vec::new())
    }

    fn decode_text(
        &self,
        _: Str,
        _: &mut DecodeState,
        _: &DecodeLimits,
    ) -> Result<Option<Packet>, ParseError> {
        Err(ParseError::UnexpectedText)
    }

    fn decode_binary(
        &self,
        data: Bytes,
        _: &mut DecodeState,
        limits: &DecodeLimits,
    ) -> Result<Option<Packet>, ParseError> {
        let packet =
            super::msgpack::decode(&data, limits).map_err(|e| ParseError::Binary(e.to_string()))?;
        // As the JSON decoder does: a client may not send the events the protocol uses.
        if let super::PacketData::Event { event, .. } = &packet.data
            && super::RESERVED_EVENTS.contains(&event.as_str())
        {
            return Err(ParseError::ReservedEvent(event.clone()));
        }
        Ok(Some(packet))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{PacketData, value::Value};

    #[test]
    fn json_appends_an_argument_in_place() {
        for (args, ns) in [
            (vec![Value::from(1)], "/"),
            (vec![], "/x"),
            (
                vec![Value::Bytes(Bytes::from_static(b"ab")), Value::from("z")],
                "/x",
            ),
        ] {
            let mut packet = Packet {
                ns: ns.into(),
                data: PacketData::Event {
                    event: "e".into(),
                    args: args.clone(),
                },
                id: None,
            };
            let frames: Vec<Frame> = JsonParser.encode(&packet).collect();
            let spliced = JsonParser.append_str_arg(&frames, "off\"q.1").unwrap();
            if let PacketData::Event { args, .. } = &mut packet.data {
                args.push(Value::from("off\"q.1"));
            }
            let again: Vec<Frame> = JsonParser.encode(&packet).collect();
            assert_eq!(spliced, again, "{ns} {args:?}");
        }
    }

    #[test]
    fn json_frames_round_trip_with_attachments() {
        let packet = Packet {
            ns: "/x".into(),
            data: PacketData::Event {
                event: "e".into(),
                args: vec![Value::from(1), Value::Bytes(Bytes::from_static(b"ab"))],
            },
            id: Some(3),
        };
        let frames: Vec<Frame> = JsonParser.encode(&packet).collect();
        assert_eq!(frames.len(), 2);
        let limits = DecodeLimits::default();
        let mut state = DecodeState::default();
        let Frame::Text(text) = &frames[0] else {
            panic!("a text frame first")
        };
        let msg = Str::from(&text.as_str()[1..]);
        assert_eq!(JsonParser.decode_text(msg, &mut state, &limits), Ok(None));
        assert!(state.is_pending());
        let Frame::Binary(data) = &frames[1] else {
            panic!("then binary")
        };
        let back = JsonParser.decode_binary(data.clone(), &mut state, &limits);
        assert_eq!(back, Ok(Some(packet)));
        assert!(!state.is_pending());
        // One attachment too many, and a text message while attachments are awaited.
        assert!(
            JsonParser
                .decode_binary(Bytes::new(), &mut state, &limits)
                .is_err()
        );
        let wait = Str::from(r#"51-["e",{"_placeholder":true,"num":0}]"#);
        assert_eq!(JsonParser.decode_text(wait, &mut state, &limits), Ok(None));
        assert!(
            JsonParser
                .decode_text(Str::from("2[\"e\"]"), &mut state, &limits)
                .is_err()
        );
        assert!(!state.is_pending(), "an error drops the partial packet");
    }
}
