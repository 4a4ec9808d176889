//! Socket.IO v5 packets: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`.
//!
//! Pure functions over strings and bytes. A binary packet arrives in two steps: the text packet
//! with placeholders (`{"_placeholder":true,"num":N}`), then its attachments, one binary message
//! each; [`PartialPacket`] gathers them.

use std::io::Write as _;

use bytes::Bytes;

use super::value::Value;
use crate::socket::socket::RESERVED_EVENTS;

/// The payload of a packet, by type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PacketData {
    /// `0`: the auth object (client to server) or `{"sid": …}` (server to client).
    Connect(Option<Value>),
    /// `1`.
    Disconnect,
    /// `2` or `5`: an event and its arguments.
    Event { event: String, args: Vec<Value> },
    /// `3` or `6`: the arguments of an acknowledgement.
    Ack(Vec<Value>),
    /// `4`: `{"message": …, "data"?: …}`.
    ConnectError(Value),
}

/// A whole packet.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Packet {
    pub(crate) ns: String,
    pub(crate) data: PacketData,
    pub(crate) id: Option<u64>,
}

/// Limits on what a client may send.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DecodeLimits {
    pub(crate) max_attachments: usize,
}

/// Why a packet is invalid. Each ends the connection with "parse error".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseError {
    #[error("empty packet")]
    Empty,
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    #[error("invalid attachment count")]
    BadAttachments,
    #[error("{0} attachments is more than the limit of {1}")]
    TooManyAttachments(usize, usize),
    #[error("invalid ack id")]
    BadAckId,
    #[error("invalid JSON payload: {0}")]
    Json(String),
    #[error("payload of the wrong shape for a {0} packet")]
    Shape(&'static str),
    #[error("the event name {0:?} is reserved")]
    ReservedEvent(String),
    #[error("placeholder refers to a missing attachment")]
    BadPlaceholder,
}

/// A decoded text packet: complete, or waiting for attachments.
#[derive(Debug)]
pub(crate) enum Decoded {
    Complete(Packet),
    Partial(PartialPacket),
}

/// A binary packet waiting for its attachments.
#[derive(Debug)]
pub(crate) struct PartialPacket {
    packet: Packet,
    expected: usize,
    attachments: Vec<Bytes>,
}

impl PartialPacket {
    /// Adds the next attachment; returns the packet once all have arrived.
    pub(crate) fn push(&mut self, data: Bytes) -> Result<Option<Packet>, ParseError> {
        self.attachments.push(data);
        if self.attachments.len() < self.expected {
            return Ok(None);
        }
        let mut packet = std::mem::replace(
            &mut self.packet,
            Packet {
                ns: String::new(),
                data: PacketData::Disconnect,
                id: None,
            },
        );
        let args = match &mut packet.data {
            PacketData::Event { args, .. } | PacketData::Ack(args) => args,
            _ => return Err(ParseError::Shape("binary")),
        };
        for a in args.iter_mut() {
            fill(a, &self.attachments)?;
        }
        Ok(Some(packet))
    }
}

/// The attachment index if `v` is exactly a placeholder object.
fn placeholder(v: &Value) -> Option<Option<u64>> {
    let Value::Object(fields) = v else {
        return None;
    };
    if fields.len() != 2 {
        return None;
    }
    let mut is = false;
    let mut num = None;
    for (k, v) in fields {
        match (k.as_str(), v) {
            ("_placeholder", Value::Bool(true)) => is = true,
            ("num", Value::Number(n)) => num = Some(n.as_u64()),
            _ => return None,
        }
    }
    if is { num } else { None }
}

fn fill(v: &mut Value, attachments: &[Bytes]) -> Result<(), ParseError> {
    match placeholder(v) {
        Some(Some(n)) => {
            let data = usize::try_from(n)
                .ok()
                .and_then(|n| attachments.get(n))
                .ok_or(ParseError::BadPlaceholder)?;
            *v = Value::Bytes(data.clone());
            Ok(())
        }
        Some(None) => Err(ParseError::BadPlaceholder),
        None => match v {
            Value::Array(items) => items.iter_mut().try_for_each(|i| fill(i, attachments)),
            Value::Object(fields) => fields
                .iter_mut()
                .try_for_each(|(_, i)| fill(i, attachments)),
            _ => Ok(()),
        },
    }
}

/// Decodes a text packet from a client.
pub(crate) fn decode(text: &str, limits: &DecodeLimits) -> Result<Decoded, ParseError> {
    let mut rest = text;
    let kind = rest.chars().next().ok_or(ParseError::Empty)?;
    rest = &rest[kind.len_utf8()..];
    let binary = matches!(kind, '5' | '6');
    if !('0'..='6').contains(&kind) {
        return Err(ParseError::UnknownType(kind));
    }
    let mut attachments = 0usize;
    if binary {
        let dash = rest.find('-').ok_or(ParseError::BadAttachments)?;
        let digits = &rest[..dash];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::BadAttachments);
        }
        attachments = digits.parse().map_err(|_| ParseError::BadAttachments)?;
        if attachments > limits.max_attachments {
            return Err(ParseError::TooManyAttachments(
                attachments,
                limits.max_attachments,
            ));
        }
        rest = &rest[dash + 1..];
    }
    let ns = if rest.starts_with('/') {
        let end = rest.find(',').unwrap_or(rest.len());
        let ns = rest[..end].to_owned();
        rest = rest.get(end + 1..).unwrap_or("");
        ns
    } else {
        "/".to_owned()
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = if digits > 0 {
        if matches!(kind, '0' | '1' | '4') {
            return Err(ParseError::BadAckId);
        }
        let id = rest[..digits]
            .parse::<u64>()
            .map_err(|_| ParseError::BadAckId)?;
        rest = &rest[digits..];
        Some(id)
    } else {
        None
    };
    let payload = if rest.is_empty() {
        None
    } else {
        Some(serde_json::from_str::<Value>(rest).map_err(|e| ParseError::Json(e.to_string()))?)
    };
    let data = match kind {
        '0' => match payload {
            None => PacketData::Connect(None),
            Some(v @ Value::Object(_)) => PacketData::Connect(Some(v)),
            Some(_) => return Err(ParseError::Shape("CONNECT")),
        },
        '1' => match payload {
            None => PacketData::Disconnect,
            Some(_) => return Err(ParseError::Shape("DISCONNECT")),
        },
        '2' | '5' => match payload {
            Some(Value::Array(mut items)) if matches!(items.first(), Some(Value::String(_))) => {
                let Value::String(event) = items.remove(0) else {
                    return Err(ParseError::Shape("EVENT"));
                };
                if RESERVED_EVENTS.contains(&event.as_str()) {
                    return Err(ParseError::ReservedEvent(event));
                }
                PacketData::Event { event, args: items }
            }
            _ => return Err(ParseError::Shape("EVENT")),
        },
        '3' | '6' => match (payload, id) {
            (Some(Value::Array(items)), Some(_)) => PacketData::Ack(items),
            (_, None) => return Err(ParseError::BadAckId),
            _ => return Err(ParseError::Shape("ACK")),
        },
        _ => match payload {
            Some(v @ (Value::Object(_) | Value::String(_))) => PacketData::ConnectError(v),
            _ => return Err(ParseError::Shape("CONNECT_ERROR")),
        },
    };
    let packet = Packet { ns, data, id };
    if binary && attachments > 0 {
        Ok(Decoded::Partial(PartialPacket {
            packet,
            expected: attachments,
            attachments: Vec::with_capacity(attachments),
        }))
    } else {
        Ok(Decoded::Complete(packet))
    }
}

/// An encoded packet: the text, then its attachments in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Encoded {
    pub(crate) text: String,
    pub(crate) attachments: Vec<Bytes>,
}

/// Encodes a packet. Byte buffers anywhere in the payload become placeholders, numbered in
/// depth-first order, and the packet becomes BINARY_EVENT / BINARY_ACK.
pub(crate) fn encode(packet: &Packet) -> Encoded {
    let mut attachments = Vec::new();
    let mut json = Vec::with_capacity(64);
    match &packet.data {
        PacketData::Connect(Some(v)) | PacketData::ConnectError(v) => {
            write_json(v, &mut json, &mut attachments)
        }
        PacketData::Connect(None) | PacketData::Disconnect => {}
        PacketData::Event { event, args } => {
            json.push(b'[');
            write_str(event, &mut json);
            for a in args {
                json.push(b',');
                write_json(a, &mut json, &mut attachments);
            }
            json.push(b']');
        }
        PacketData::Ack(args) => {
            json.push(b'[');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    json.push(b',');
                }
                write_json(a, &mut json, &mut attachments);
            }
            json.push(b']');
        }
    }
    let binary = !attachments.is_empty();
    let kind = match (&packet.data, binary) {
        (PacketData::Connect(_), _) => '0',
        (PacketData::Disconnect, _) => '1',
        (PacketData::Event { .. }, false) => '2',
        (PacketData::Ack(_), false) => '3',
        (PacketData::ConnectError(_), _) => '4',
        (PacketData::Event { .. }, true) => '5',
        (PacketData::Ack(_), true) => '6',
    };
    let mut text = String::with_capacity(json.len() + packet.ns.len() + 24);
    text.push(kind);
    if binary {
        text.push_str(&attachments.len().to_string());
        text.push('-');
    }
    if packet.ns != "/" {
        text.push_str(&packet.ns);
        text.push(',');
    }
    if let Some(id) = packet.id {
        text.push_str(&id.to_string());
    }
    // Everything written above and in `json` is UTF-8: strings go through serde_json.
    text.push_str(&String::from_utf8_lossy(&json));
    Encoded { text, attachments }
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn write_json(v: &Value, out: &mut Vec<u8>, attachments: &mut Vec<Bytes>) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_str(s, out),
        Value::Bytes(b) => {
            let _ = write!(
                out,
                r#"{{"_placeholder":true,"num":{}}}"#,
                attachments.len()
            );
            attachments.push(b.clone());
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(item, out, attachments);
            }
            out.push(b']');
        }
        Value::Object(fields) => {
            out.push(b'{');
            for (i, (k, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(k, out);
                out.push(b':');
                write_json(item, out, attachments);
            }
            out.push(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DecodeLimits = DecodeLimits {
        max_attachments: 10,
    };

    fn complete(s: &str) -> Packet {
        match decode(s, &LIMITS).unwrap() {
            Decoded::Complete(p) => p,
            Decoded::Partial(_) => panic!("{s} is partial"),
        }
    }

    fn json(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn decodes_every_type() {
        assert_eq!(complete("0").data, PacketData::Connect(None));
        let p = complete(r#"0/admin,{"token":"x"}"#);
        assert_eq!((p.ns.as_str(), p.id), ("/admin", None));
        assert_eq!(p.data, PacketData::Connect(Some(json(r#"{"token":"x"}"#))));
        assert_eq!(complete("1/admin,").data, PacketData::Disconnect);
        assert_eq!(complete("1/admin").ns, "/admin");
        let p = complete(r#"2["hello",1,{"a":[]}]"#);
        assert_eq!(
            p.data,
            PacketData::Event {
                event: "hello".into(),
                args: vec![json("1"), json(r#"{"a":[]}"#)]
            }
        );
        let p = complete(r#"2/admin,12["ev"]"#);
        assert_eq!((p.ns.as_str(), p.id), ("/admin", Some(12)));
        let p = complete(r#"3/admin,12["ok"]"#);
        assert_eq!(p.data, PacketData::Ack(vec![json(r#""ok""#)]));
        assert_eq!(
            complete(r#"4{"message":"no"}"#).data,
            PacketData::ConnectError(json(r#"{"message":"no"}"#))
        );
        let p = complete(r#"2/☃,["ünï"]"#);
        assert_eq!(p.ns, "/☃");
    }

    #[test]
    fn gathers_attachments() {
        let Decoded::Partial(mut p) = decode(
            r#"52-/admin,7["up",{"_placeholder":true,"num":1},[{"num":0,"_placeholder":true}]]"#,
            &LIMITS,
        )
        .unwrap() else {
            panic!("not partial")
        };
        assert_eq!(p.push(Bytes::from_static(b"a")).unwrap(), None);
        let packet = p.push(Bytes::from_static(b"b")).unwrap().unwrap();
        assert_eq!(packet.id, Some(7));
        assert_eq!(
            packet.data,
            PacketData::Event {
                event: "up".into(),
                args: vec![
                    Value::Bytes(Bytes::from_static(b"b")),
                    Value::Array(vec![Value::Bytes(Bytes::from_static(b"a"))])
                ]
            }
        );
        // Not placeholders: wrong value or extra keys.
        let p = complete(
            r#"2["e",{"_placeholder":false,"num":0},{"_placeholder":true,"num":0,"x":1}]"#,
        );
        let PacketData::Event { args, .. } = p.data else {
            panic!()
        };
        assert!(args.iter().all(|a| !a.has_bytes()));
    }

    #[test]
    fn placeholder_out_of_range() {
        let Decoded::Partial(mut p) =
            decode(r#"61-3[{"_placeholder":true,"num":1}]"#, &LIMITS).unwrap()
        else {
            panic!()
        };
        assert_eq!(p.push(Bytes::new()), Err(ParseError::BadPlaceholder));
        let Decoded::Partial(mut p) =
            decode(r#"51-["e",{"_placeholder":true,"num":-1}]"#, &LIMITS).unwrap()
        else {
            panic!()
        };
        assert_eq!(p.push(Bytes::new()), Err(ParseError::BadPlaceholder));
    }

    #[test]
    fn rejects_invalid_packets() {
        let err = |s: &str| {
            decode(s, &LIMITS)
                .err()
                .unwrap_or_else(|| panic!("{s} decoded"))
        };
        assert_eq!(err(""), ParseError::Empty);
        assert_eq!(err("7"), ParseError::UnknownType('7'));
        assert_eq!(err("x"), ParseError::UnknownType('x'));
        assert_eq!(err(r#"5["e"]"#), ParseError::BadAttachments);
        assert_eq!(err(r#"5x-["e"]"#), ParseError::BadAttachments);
        assert_eq!(err(r#"511-["e"]"#), ParseError::TooManyAttachments(11, 10));
        assert_eq!(
            err(r#"599999999999999999999999-["e"]"#),
            ParseError::BadAttachments
        );
        assert_eq!(
            err(r#"299999999999999999999999["e"]"#),
            ParseError::BadAckId
        );
        assert_eq!(err(r#"01{}"#), ParseError::BadAckId);
        assert_eq!(err(r#"3["x"]"#), ParseError::BadAckId);
        assert!(matches!(err(r#"2["e""#), ParseError::Json(_)));
        assert!(matches!(err(r#"2["e"]x"#), ParseError::Json(_)));
        assert_eq!(err(r#"2[]"#), ParseError::Shape("EVENT"));
        assert_eq!(err(r#"2[1]"#), ParseError::Shape("EVENT"));
        assert_eq!(err(r#"2{"a":1}"#), ParseError::Shape("EVENT"));
        assert_eq!(err(r#"0[1]"#), ParseError::Shape("CONNECT"));
        assert_eq!(err(r#"1{}"#), ParseError::Shape("DISCONNECT"));
        assert_eq!(err(r#"31{}"#), ParseError::Shape("ACK"));
        assert_eq!(err(r#"4"#), ParseError::Shape("CONNECT_ERROR"));
        for reserved in RESERVED_EVENTS {
            assert_eq!(
                err(&format!(r#"2["{reserved}"]"#)),
                ParseError::ReservedEvent((*reserved).into())
            );
        }
    }

    #[test]
    fn encodes_and_round_trips() {
        let p = Packet {
            ns: "/admin".into(),
            data: PacketData::Connect(Some(json(r#"{"sid":"abc"}"#))),
            id: None,
        };
        assert_eq!(encode(&p).text, r#"0/admin,{"sid":"abc"}"#);
        let p = Packet {
            ns: "/".into(),
            data: PacketData::Connect(Some(json(r#"{"sid":"abc"}"#))),
            id: None,
        };
        assert_eq!(encode(&p).text, r#"0{"sid":"abc"}"#);
        let p = Packet {
            ns: "/".into(),
            data: PacketData::Event {
                event: "e\"☃".into(),
                args: vec![
                    json(r#"{"a":"\n"}"#),
                    Value::Array(vec![Value::Bytes(Bytes::from_static(b"x")), Value::Null]),
                    Value::Bytes(Bytes::from_static(b"y")),
                ],
            },
            id: Some(4),
        };
        let enc = encode(&p);
        assert_eq!(
            enc.text,
            r#"52-4["e\"☃",{"a":"\n"},[{"_placeholder":true,"num":0},null],{"_placeholder":true,"num":1}]"#
        );
        assert_eq!(
            enc.attachments,
            vec![Bytes::from_static(b"x"), Bytes::from_static(b"y")]
        );
        let Decoded::Partial(mut partial) = decode(&enc.text, &LIMITS).unwrap() else {
            panic!()
        };
        partial.push(enc.attachments[0].clone()).unwrap();
        assert_eq!(
            partial.push(enc.attachments[1].clone()).unwrap().unwrap(),
            p
        );
        let ack = Packet {
            ns: "/x".into(),
            data: PacketData::Ack(vec![]),
            id: Some(0),
        };
        assert_eq!(encode(&ack).text, "3/x,0[]");
        assert_eq!(complete(&encode(&ack).text), ack);
        let big = "z".repeat(500 * 1024);
        let p = Packet {
            ns: "/".into(),
            data: PacketData::Event {
                event: "big".into(),
                args: vec![Value::String(big)],
            },
            id: None,
        };
        assert_eq!(complete(&encode(&p).text), p);
    }

    #[test]
    fn no_input_panics() {
        let seeds = [
            r#"52-/admin,7["up",{"_placeholder":true,"num":1},[{"num":0,"_placeholder":true}]]"#,
            r#"0/admin,{"token":"x"}"#,
            r#"3/☃,12["ok"]"#,
            "1/a,",
        ];
        let subs = ['0', '5', '-', '/', ',', '[', ']', '{', '"', '9', 'é'];
        for seed in seeds {
            let chars: Vec<char> = seed.chars().collect();
            for cut in 0..=chars.len() {
                let s: String = chars[..cut].iter().collect();
                let _ = decode(&s, &LIMITS);
            }
            for i in 0..chars.len() {
                for c in subs {
                    let mut v = chars.clone();
                    v[i] = c;
                    let s: String = v.into_iter().collect();
                    if let Ok(Decoded::Partial(mut p)) = decode(&s, &LIMITS) {
                        for _ in 0..3 {
                            let _ = p.push(Bytes::new());
                        }
                    }
                }
            }
        }
    }
}
