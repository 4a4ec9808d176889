//! Socket.IO v5 packets: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`.
//!
//! Pure functions over strings and bytes, no IO. Types: `0` CONNECT, `1` DISCONNECT, `2` EVENT,
//! `3` ACK, `4` CONNECT_ERROR, `5` BINARY_EVENT, `6` BINARY_ACK. The main namespace `/` is
//! written by omission.
//!
//! A binary packet arrives in two steps: the text packet, in which each buffer is replaced by
//! the placeholder `{"_placeholder":true,"num":N}`, then its attachments, one binary message
//! each. [`decode`] returns a [`PartialPacket`] for it, which [`PartialPacket::push`] completes.
//!
//! Whether a packet is binary is not part of [`PacketData`]: [`encode`] writes BINARY_EVENT /
//! BINARY_ACK exactly when a [`Value::Bytes`] is somewhere in the arguments.

mod decode;
mod encode;

pub use self::decode::{Decoded, PartialPacket, decode, decode_shared};
#[cfg(test)]
pub(crate) use self::encode::encode_event;
pub(crate) use self::encode::encode_message;
pub use self::encode::{Encoded, encode};
use super::value::{Text, Value};

/// Event names a socket may neither emit nor listen to: the protocol uses them.
pub const RESERVED_EVENTS: &[&str] = &[
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The payload of a packet, by type.
#[derive(Debug, Clone, PartialEq)]
pub enum PacketData {
    /// `0`: the auth object (client to server, optional) or `{"sid": …}` (server to client).
    Connect(Option<Value>),
    /// `1`: leave the namespace.
    Disconnect,
    /// `2` or `5`: an event and its arguments.
    Event {
        /// The event's name.
        event: String,
        /// Its arguments; buffers ([`Value::Bytes`]) anywhere in them make the packet binary.
        args: Vec<Value>,
    },
    /// `3` or `6`: the arguments of an acknowledgement.
    Ack(Vec<Value>),
    /// `4`: `{"message": …, "data"?: …}` (a string from old clients is accepted too).
    ConnectError(Value),
}

/// A whole packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// The namespace, starting with `/`; `/` is the main namespace.
    pub ns: Text,
    /// The type and payload.
    pub data: PacketData,
    /// The ack id: on an EVENT, the sender wants an ACK with this id; on an ACK, the id it
    /// answers. Only EVENT and ACK packets carry one; [`encode`] ignores it on the others.
    pub id: Option<u64>,
}

/// Limits on what a client may send. The default allows 10 attachments per packet, as the
/// server does unless configured otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The most attachments one binary packet may declare.
    pub max_attachments: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_attachments: 10,
        }
    }
}

/// Why a packet is invalid. Each ends the connection with "parse error".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The message is empty.
    #[error("empty packet")]
    Empty,
    /// The first character is not `0`..=`6`.
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// A binary packet without `<digits>-` after its type, or a count that overflows.
    #[error("invalid attachment count: a binary packet needs `<count>-` after its type")]
    BadAttachmentCount,
    /// More attachments than [`DecodeLimits::max_attachments`].
    #[error("{count} attachments is more than the limit of {max}")]
    TooManyAttachments {
        /// The declared count.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A binary packet declaring zero attachments.
    #[error("a binary packet must declare at least one attachment")]
    NoAttachments,
    /// `<digits>-` after the type of a packet that is not binary.
    #[error("attachments declared on a {0} packet, which is not binary")]
    AttachmentsOnNonBinary(&'static str),
    /// A namespace not followed by `,` in a packet that has more than the namespace.
    #[error("namespace not terminated by ','")]
    UnterminatedNamespace,
    /// Ack id digits that do not fit a `u64`.
    #[error("invalid ack id: more than a 64-bit number")]
    BadAckId,
    /// An ack id on a CONNECT, DISCONNECT or CONNECT_ERROR packet.
    #[error("a {0} packet cannot carry an ack id")]
    UnexpectedAckId(&'static str),
    /// An ACK without an id.
    #[error("a {0} packet needs an ack id")]
    MissingAckId(&'static str),
    /// The payload is not JSON.
    #[error("invalid JSON payload: {0}")]
    Json(String),
    /// Something after the JSON payload.
    #[error("unexpected data after the JSON payload")]
    TrailingData,
    /// A payload of the wrong shape for its type.
    #[error("the payload of a {packet} packet must be {expected}")]
    Shape {
        /// The packet type.
        packet: &'static str,
        /// What its payload must be.
        expected: &'static str,
    },
    /// An event a client may not send.
    #[error("the event name {0:?} is reserved")]
    ReservedEvent(String),
    /// A placeholder naming an attachment that was not declared.
    #[error("placeholder {num} is out of range for {count} attachments")]
    PlaceholderOutOfRange {
        /// The placeholder's `num`.
        num: u64,
        /// The declared count.
        count: usize,
    },
    /// Two placeholders naming the same attachment.
    #[error("attachment {0} has more than one placeholder")]
    DuplicatePlaceholder(u64),
    /// A declared attachment that no placeholder names.
    #[error("attachment {0} has no placeholder")]
    MissingPlaceholder(usize),
    /// A binary message when the packet already had all its attachments, or when no binary
    /// packet was waiting for one.
    #[error("binary attachment received after the packet was complete")]
    UnexpectedAttachment,
    /// A text message while a binary packet was still waiting for its attachments.
    #[error("text packet while binary attachments were expected")]
    ExpectedAttachment,
    /// A binary parser's message that does not decode (see `MsgpackParser`).
    #[error("invalid binary packet: {0}")]
    Binary(String),
    /// A text message under a parser whose packets are binary messages.
    #[error("text message where a binary packet was expected")]
    UnexpectedText,
}

/// The seven packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Connect,
    Disconnect,
    Event,
    Ack,
    ConnectError,
    BinaryEvent,
    BinaryAck,
}

impl Kind {
    fn from_char(c: char) -> Option<Kind> {
        Some(match c {
            '0' => Kind::Connect,
            '1' => Kind::Disconnect,
            '2' => Kind::Event,
            '3' => Kind::Ack,
            '4' => Kind::ConnectError,
            '5' => Kind::BinaryEvent,
            '6' => Kind::BinaryAck,
            _ => return None,
        })
    }

    fn as_char(self) -> char {
        match self {
            Kind::Connect => '0',
            Kind::Disconnect => '1',
            Kind::Event => '2',
            Kind::Ack => '3',
            Kind::ConnectError => '4',
            Kind::BinaryEvent => '5',
            Kind::BinaryAck => '6',
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Connect => "CONNECT",
            Kind::Disconnect => "DISCONNECT",
            Kind::Event => "EVENT",
            Kind::Ack => "ACK",
            Kind::ConnectError => "CONNECT_ERROR",
            Kind::BinaryEvent => "BINARY_EVENT",
            Kind::BinaryAck => "BINARY_ACK",
        }
    }

    fn is_binary(self) -> bool {
        matches!(self, Kind::BinaryEvent | Kind::BinaryAck)
    }

    /// EVENT and ACK packets (binary or not) may carry an ack id.
    fn takes_id(self) -> bool {
        matches!(
            self,
            Kind::Event | Kind::Ack | Kind::BinaryEvent | Kind::BinaryAck
        )
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use serde_json::json;

    use super::*;

    const LIMITS: DecodeLimits = DecodeLimits {
        max_attachments: 10,
    };

    fn complete(s: &str) -> Packet {
        match decode(s, &LIMITS) {
            Ok(Decoded::Complete(p)) => p,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn partial(s: &str) -> PartialPacket {
        match decode(s, &LIMITS) {
            Ok(Decoded::Partial(p)) => p,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn err(s: &str) -> ParseError {
        match decode(s, &LIMITS) {
            Err(e) => e,
            Ok(p) => panic!("{s} decoded: {p:?}"),
        }
    }

    fn v(j: serde_json::Value) -> Value {
        Value::from(j)
    }

    fn b(s: &'static [u8]) -> Value {
        Value::Bytes(Bytes::from_static(s))
    }

    fn packet(ns: &str, data: PacketData, id: Option<u64>) -> Packet {
        Packet {
            ns: ns.into(),
            data,
            id,
        }
    }

    fn event(name: &str, args: Vec<Value>) -> PacketData {
        PacketData::Event {
            event: name.into(),
            args,
        }
    }

    /// Encodes, decodes (feeding the attachments) and checks the result equals `p`.
    fn round_trip(p: &Packet) -> Encoded {
        let enc = encode(p);
        let decoded = match decode(&enc.text, &LIMITS) {
            Ok(Decoded::Complete(d)) => {
                assert!(enc.attachments.is_empty(), "{}", enc.text);
                d
            }
            Ok(Decoded::Partial(mut partial)) => {
                let (last, first) = enc.attachments.split_last().expect("attachments");
                for a in first {
                    assert_eq!(partial.push(a.clone()), Ok(None));
                }
                let d = partial.push(last.clone()).unwrap().unwrap();
                assert_eq!(
                    partial.push(Bytes::new()),
                    Err(ParseError::UnexpectedAttachment)
                );
                d
            }
            Err(e) => panic!("{}: {e}", enc.text),
        };
        assert_eq!(&decoded, p, "{}", enc.text);
        enc
    }

    #[test]
    fn decodes_the_protocol_examples() {
        assert_eq!(complete("0"), packet("/", PacketData::Connect(None), None));
        assert_eq!(
            complete(r#"0/admin,{"token":"x"}"#),
            packet(
                "/admin",
                PacketData::Connect(Some(v(json!({"token": "x"})))),
                None
            )
        );
        assert_eq!(
            complete(r#"2["hello",1]"#),
            packet("/", event("hello", vec![v(json!(1))]), None)
        );
        assert_eq!(
            complete(r#"2/admin,12["ev",{"a":1}]"#),
            packet("/admin", event("ev", vec![v(json!({"a": 1}))]), Some(12))
        );
        assert_eq!(
            complete(r#"3/admin,12["ok"]"#),
            packet("/admin", PacketData::Ack(vec![v(json!("ok"))]), Some(12))
        );
        assert_eq!(
            complete(r#"4{"message":"Invalid namespace"}"#),
            packet(
                "/",
                PacketData::ConnectError(v(json!({"message": "Invalid namespace"}))),
                None
            )
        );
        assert_eq!(
            complete("1/admin,"),
            packet("/admin", PacketData::Disconnect, None)
        );

        // `451-[...]` in the protocol docs is this packet inside an Engine.IO message (`4`).
        let mut p = partial(r#"51-["ev",{"_placeholder":true,"num":0}]"#);
        assert_eq!(
            p.push(Bytes::from_static(b"bin")).unwrap(),
            Some(packet("/", event("ev", vec![b(b"bin")]), None))
        );
        assert_eq!(
            err(r#"451-["ev",{"_placeholder":true,"num":0}]"#),
            ParseError::AttachmentsOnNonBinary("CONNECT_ERROR")
        );
        let mut p = partial(r#"61-/admin,3[{"_placeholder":true,"num":0}]"#);
        assert_eq!(
            p.push(Bytes::from_static(b"x")).unwrap(),
            Some(packet("/admin", PacketData::Ack(vec![b(b"x")]), Some(3)))
        );
    }

    #[test]
    fn decodes_edge_forms() {
        // Empty ack arguments, ack id 0, leading zeros, u64::MAX.
        assert_eq!(
            complete("30[]"),
            packet("/", PacketData::Ack(vec![]), Some(0))
        );
        assert_eq!(complete(r#"2007["e"]"#).id, Some(7));
        assert_eq!(complete(r#"218446744073709551615["e"]"#).id, Some(u64::MAX));
        // The main namespace written out.
        assert_eq!(complete(r#"2/,["e"]"#).ns, "/");
        // An unterminated namespace is accepted where nothing can follow it.
        assert_eq!(
            complete("1/admin"),
            packet("/admin", PacketData::Disconnect, None)
        );
        assert_eq!(
            complete("0/admin"),
            packet("/admin", PacketData::Connect(None), None)
        );
        assert_eq!(complete("0/admin?x=1").ns, "/admin?x=1");
        // Whitespace around JSON is JSON's business.
        assert_eq!(
            complete("2 [\"e\" , 1 ] \n"),
            packet("/", event("e", vec![v(json!(1))]), None)
        );
        // A CONNECT_ERROR as old servers wrote it.
        assert_eq!(
            complete(r#"4/a,"no""#).data,
            PacketData::ConnectError(Value::from("no"))
        );
        // An empty event name is a name.
        assert_eq!(complete(r#"2[""]"#).data, event("", vec![]));
        // Numbers keep their exact kind.
        let PacketData::Event { args, .. } =
            complete(r#"2["n",18446744073709551615,-1,1.5,1e2]"#).data
        else {
            panic!()
        };
        assert_eq!(args[0].as_u64(), Some(u64::MAX));
        assert_eq!(args[1].as_i64(), Some(-1));
        assert_eq!(args[2].as_f64(), Some(1.5));
        assert_eq!(args[3].as_f64(), Some(100.0));
        assert_eq!(args[3].as_u64(), None);
    }

    #[test]
    fn unicode_event_names_and_namespaces() {
        let p = complete(r#"2/☃ nämespace,5["ünïcødé \u2603 😀",{"ключ":"值"}]"#);
        assert_eq!(p.ns, "/☃ nämespace");
        assert_eq!(p.id, Some(5));
        assert_eq!(
            p.data,
            event("ünïcødé ☃ 😀", vec![v(json!({"ключ": "值"}))])
        );
        let enc = round_trip(&p);
        assert_eq!(enc.text, r#"2/☃ nämespace,5["ünïcødé ☃ 😀",{"ключ":"值"}]"#);
        // A multi-byte character where the type is expected.
        assert_eq!(err("é"), ParseError::UnknownType('é'));
        assert_eq!(err("😀[]"), ParseError::UnknownType('😀'));
    }

    #[test]
    fn round_trips_every_type() {
        let obj = v(json!({"k": [1, "two", null, {"x": false}], "n": -2.5}));
        for ns in ["/", "/admin", "/a/b-c_d.é"] {
            let cases = [
                packet(ns, PacketData::Connect(None), None),
                packet(ns, PacketData::Connect(Some(obj.clone())), None),
                packet(ns, PacketData::Connect(Some(v(json!({})))), None),
                packet(ns, PacketData::Disconnect, None),
                packet(ns, event("e", vec![]), None),
                packet(ns, event("e", vec![obj.clone(), v(json!("s"))]), None),
                packet(ns, event("e", vec![v(json!(null))]), Some(0)),
                packet(ns, event("e", vec![obj.clone()]), Some(u64::MAX)),
                packet(ns, PacketData::Ack(vec![]), Some(1)),
                packet(
                    ns,
                    PacketData::Ack(vec![obj.clone(), v(json!(1))]),
                    Some(42),
                ),
                packet(
                    ns,
                    PacketData::ConnectError(v(json!({"message": "m", "data": {"x": 1}}))),
                    None,
                ),
                packet(
                    ns,
                    PacketData::ConnectError(v(json!({"message": "m"}))),
                    None,
                ),
                // Binary forms.
                packet(ns, event("bin", vec![b(b"a")]), None),
                packet(
                    ns,
                    event("bin", vec![b(b""), obj.clone(), b(b"c")]),
                    Some(9),
                ),
                packet(ns, PacketData::Ack(vec![b(b"a")]), Some(3)),
                packet(
                    ns,
                    PacketData::Ack(vec![v(json!([])), Value::Array(vec![b(b"z")])]),
                    Some(4),
                ),
            ];
            for p in &cases {
                let enc = round_trip(p);
                let expected_type = match (&p.data, enc.attachments.is_empty()) {
                    (PacketData::Connect(_), _) => '0',
                    (PacketData::Disconnect, _) => '1',
                    (PacketData::Event { .. }, true) => '2',
                    (PacketData::Ack(_), true) => '3',
                    (PacketData::ConnectError(_), _) => '4',
                    (PacketData::Event { .. }, false) => '5',
                    (PacketData::Ack(_), false) => '6',
                };
                assert!(enc.text.starts_with(expected_type), "{}", enc.text);
                assert_eq!(
                    enc.text.contains(&format!("{ns},")),
                    ns != "/",
                    "{}",
                    enc.text
                );
            }
        }
    }

    #[test]
    fn encodes_exact_texts() {
        let sid = || Some(v(json!({"sid": "abc"})));
        assert_eq!(
            encode(&packet("/admin", PacketData::Connect(sid()), None)).text,
            r#"0/admin,{"sid":"abc"}"#
        );
        assert_eq!(
            encode(&packet("/", PacketData::Connect(sid()), None)).text,
            r#"0{"sid":"abc"}"#
        );
        assert_eq!(
            encode(&packet("/", PacketData::Connect(None), None)).text,
            "0"
        );
        assert_eq!(
            encode(&packet("/a", PacketData::Connect(None), None)).text,
            "0/a,"
        );
        assert_eq!(encode(&packet("/", PacketData::Disconnect, None)).text, "1");
        assert_eq!(
            encode(&packet("/admin", PacketData::Disconnect, None)).text,
            "1/admin,"
        );
        assert_eq!(
            encode(&packet("/", event("hello", vec![v(json!(1))]), None)).text,
            r#"2["hello",1]"#
        );
        assert_eq!(
            encode(&packet(
                "/admin",
                event("ev", vec![v(json!({"a": 1}))]),
                Some(12)
            ))
            .text,
            r#"2/admin,12["ev",{"a":1}]"#
        );
        assert_eq!(
            encode(&packet(
                "/admin",
                PacketData::Ack(vec![v(json!("ok"))]),
                Some(12)
            ))
            .text,
            r#"3/admin,12["ok"]"#
        );
        assert_eq!(
            encode(&packet("/x", PacketData::Ack(vec![]), Some(0))).text,
            "3/x,0[]"
        );
        assert_eq!(
            encode(&packet(
                "/",
                PacketData::ConnectError(v(json!({"message": "Invalid namespace"}))),
                None
            ))
            .text,
            r#"4{"message":"Invalid namespace"}"#
        );
        let enc = encode(&packet(
            "/",
            event("ev", vec![v(json!({"a": [1]})), b(b"\x00\xff")]),
            Some(4),
        ));
        assert_eq!(
            enc.text,
            r#"51-4["ev",{"a":[1]},{"_placeholder":true,"num":0}]"#
        );
        assert_eq!(enc.attachments, [Bytes::from_static(b"\x00\xff")]);
        let enc = encode(&packet("/admin", PacketData::Ack(vec![b(b"")]), Some(3)));
        assert_eq!(enc.text, r#"61-/admin,3[{"_placeholder":true,"num":0}]"#);
        // Strings are escaped exactly as serde_json escapes them.
        let name = "e\"\\\n\u{1}\u{7f}☃/";
        let enc = encode(&packet("/", event(name, vec![]), None));
        assert_eq!(
            enc.text,
            format!("2[{}]", serde_json::to_string(name).unwrap())
        );
    }

    #[test]
    fn id_is_written_only_where_it_means_something() {
        for data in [
            PacketData::Connect(None),
            PacketData::Disconnect,
            PacketData::ConnectError(v(json!({"message": "m"}))),
        ] {
            let enc = encode(&packet("/a", data.clone(), Some(5)));
            assert!(!enc.text.contains('5'), "{}", enc.text);
            assert_eq!(complete(&enc.text), packet("/a", data, None));
        }
    }

    #[test]
    fn bytes_in_connect_payloads_are_not_attachments() {
        let enc = encode(&packet(
            "/",
            PacketData::Connect(Some(Value::Object(vec![("k".into(), b(b"\x01\x02"))]))),
            None,
        ));
        assert_eq!(enc.text, r#"0{"k":[1,2]}"#);
        assert!(enc.attachments.is_empty());
        let enc = encode(&packet("/", PacketData::ConnectError(b(b"\x03")), None));
        assert_eq!(enc.text, "4[3]");
        assert!(enc.attachments.is_empty());
    }

    #[test]
    fn encode_event_matches_encode() {
        let args = vec![v(json!({"a": 1})), b(b"q"), Value::Null];
        let via_packet = encode(&packet("/n", event("ev", args.clone()), Some(2)));
        assert_eq!(encode_event("/n", "ev", &args, Some(2)), via_packet);
        assert_eq!(encode_event("/", "ev", &[], None).text, r#"2["ev"]"#);
        // The empty namespace is the main namespace too.
        assert_eq!(encode_event("", "ev", &[], None).text, r#"2["ev"]"#);
    }

    #[test]
    fn encoded_json_matches_serde_json() {
        let args = json!([
            {"a": [1, -2, 3.5, 1e-7, 1e300, 0.1, null, true, false, "s\"\\\n\t\u{0}"]},
            {"nested": {"deep": [[[{"x": -0.0, "y": u64::MAX, "z": i64::MIN}]]]}},
            "",
            [],
            {}
        ]);
        let values: Vec<Value> = args
            .as_array()
            .unwrap()
            .iter()
            .cloned()
            .map(Value::from)
            .collect();
        let enc = encode(&packet("/", PacketData::Ack(values), Some(1)));
        assert_eq!(
            enc.text,
            format!("31{}", serde_json::to_string(&args).unwrap())
        );
    }

    #[test]
    fn placeholders_are_numbered_depth_first() {
        let p = packet(
            "/",
            event(
                "up",
                vec![
                    Value::Object(vec![
                        ("first".into(), b(b"0")),
                        (
                            "list".into(),
                            Value::Array(vec![b(b"1"), Value::Array(vec![b(b"2")]), b(b"3")]),
                        ),
                        ("after".into(), b(b"4")),
                    ]),
                    b(b"5"),
                    Value::Array(vec![Value::Object(vec![("k".into(), b(b"6"))])]),
                ],
            ),
            None,
        );
        let enc = round_trip(&p);
        assert_eq!(
            enc.attachments,
            (b'0'..=b'6')
                .map(|c| Bytes::copy_from_slice(&[c]))
                .collect::<Vec<_>>()
        );
        assert!(enc.text.starts_with("57-["), "{}", enc.text);
        for n in 0..7 {
            assert!(
                enc.text
                    .contains(&format!(r#"{{"_placeholder":true,"num":{n}}}"#))
            );
        }
    }

    #[test]
    fn gathers_attachments_in_any_placeholder_order() {
        let mut p = partial(
            r#"53-/admin,7["up",{"_placeholder":true,"num":2},[{"num":0,"_placeholder":true}],{"k":{"_placeholder":true,"num":1}}]"#,
        );
        assert_eq!(p.push(Bytes::from_static(b"a")), Ok(None));
        assert_eq!(p.push(Bytes::from_static(b"b")), Ok(None));
        let packet = p.push(Bytes::from_static(b"c")).unwrap().unwrap();
        assert_eq!(packet.ns, "/admin");
        assert_eq!(packet.id, Some(7));
        assert_eq!(
            packet.data,
            event(
                "up",
                vec![
                    b(b"c"),
                    Value::Array(vec![b(b"a")]),
                    Value::Object(vec![("k".into(), b(b"b"))]),
                ]
            )
        );
        assert_eq!(p.push(Bytes::new()), Err(ParseError::UnexpectedAttachment));
    }

    #[test]
    fn placeholder_look_alikes_are_user_data() {
        let not_placeholders = [
            r#"{"_placeholder":false,"num":0}"#,
            r#"{"_placeholder":true,"num":0,"x":1}"#,
            r#"{"_placeholder":true}"#,
            r#"{"num":0}"#,
            r#"{"_placeholder":true,"num":-1}"#,
            r#"{"_placeholder":true,"num":1.0}"#,
            r#"{"_placeholder":true,"num":"0"}"#,
            r#"{"_placeholder":1,"num":0}"#,
            r#"{"_placeholder":true,"_placeholder":true}"#,
            r#"{"num":0,"num":0}"#,
            r#"{"_Placeholder":true,"num":0}"#,
        ];
        for obj in not_placeholders {
            // In a plain packet nothing is a placeholder anyway.
            let p = complete(&format!(r#"2["e",{obj}]"#));
            let PacketData::Event { args, .. } = &p.data else {
                panic!()
            };
            assert_eq!(args[0], serde_json::from_str::<Value>(obj).unwrap());
            // In a binary packet they are kept as they are, beside a real placeholder.
            let mut part = partial(&format!(
                r#"51-["e",{obj},{{"_placeholder":true,"num":0}}]"#
            ));
            let p = part.push(Bytes::from_static(b"x")).unwrap().unwrap();
            let PacketData::Event { args, .. } = &p.data else {
                panic!()
            };
            assert_eq!(args[0], serde_json::from_str::<Value>(obj).unwrap());
            assert_eq!(args[1], b(b"x"));
            // And alone they leave the attachment without a placeholder.
            assert_eq!(
                err(&format!(r#"51-["e",{obj}]"#)),
                ParseError::MissingPlaceholder(0)
            );
        }
        // A plain packet with a real-looking placeholder keeps it as an object.
        let p = complete(r#"2["e",{"_placeholder":true,"num":0}]"#);
        assert!(!matches!(&p.data, PacketData::Event { args, .. } if args[0].has_bytes()));
    }

    #[test]
    fn placeholder_errors() {
        assert_eq!(
            err(r#"61-3[{"_placeholder":true,"num":1}]"#),
            ParseError::PlaceholderOutOfRange { num: 1, count: 1 }
        );
        assert_eq!(
            err(r#"51-["e",{"_placeholder":true,"num":18446744073709551615}]"#),
            ParseError::PlaceholderOutOfRange {
                num: u64::MAX,
                count: 1
            }
        );
        assert_eq!(
            err(r#"52-["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#),
            ParseError::DuplicatePlaceholder(0)
        );
        assert_eq!(
            err(r#"52-["e",{"_placeholder":true,"num":1}]"#),
            ParseError::MissingPlaceholder(0)
        );
        assert_eq!(
            err(r#"53-["e",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":2}]]"#),
            ParseError::MissingPlaceholder(1)
        );
        assert_eq!(
            err(r#"52-["e",{"_placeholder":true,"num":0}]"#),
            ParseError::MissingPlaceholder(1)
        );
        assert_eq!(err(r#"51-["e"]"#), ParseError::MissingPlaceholder(0));
        assert_eq!(err("61-1[]"), ParseError::MissingPlaceholder(0));
    }

    #[test]
    fn rejects_invalid_packets() {
        use ParseError::*;
        let shape = |packet, expected| Shape { packet, expected };
        let cases: Vec<(&str, ParseError)> = vec![
            ("", Empty),
            ("7", UnknownType('7')),
            ("x[]", UnknownType('x')),
            ("-1", UnknownType('-')),
            (" 0", UnknownType(' ')),
            // Attachment count.
            (r#"5["e"]"#, BadAttachmentCount),
            (r#"5-["e"]"#, BadAttachmentCount),
            (r#"5x-["e"]"#, BadAttachmentCount),
            (r#"51["e"]"#, BadAttachmentCount),
            ("5", BadAttachmentCount),
            ("61", BadAttachmentCount),
            (r#"5+1-["e"]"#, BadAttachmentCount),
            (r#"599999999999999999999999-["e"]"#, BadAttachmentCount),
            (r#"50-["e"]"#, NoAttachments),
            (r#"600-1[]"#, NoAttachments),
            (r#"511-["e"]"#, TooManyAttachments { count: 11, max: 10 }),
            (r#"21-["e"]"#, AttachmentsOnNonBinary("EVENT")),
            (r#"31-1[]"#, AttachmentsOnNonBinary("ACK")),
            (r#"01-{}"#, AttachmentsOnNonBinary("CONNECT")),
            ("11-", AttachmentsOnNonBinary("DISCONNECT")),
            (r#"41-{}"#, AttachmentsOnNonBinary("CONNECT_ERROR")),
            // Namespace.
            ("2/admin", UnterminatedNamespace),
            (r#"2/admin["e"]"#, UnterminatedNamespace),
            ("3/admin1[]", UnterminatedNamespace),
            (r#"4/admin{"message":"m"}"#, UnterminatedNamespace),
            ("51-/admin[]", UnterminatedNamespace),
            // The namespace ends at the first ',', even one meant to be inside the JSON.
            (
                r#"51-/admin["e",{"_placeholder":true,"num":0}]"#,
                TrailingData,
            ),
            // Ack id.
            (r#"218446744073709551616["e"]"#, BadAckId),
            (r#"299999999999999999999999["e"]"#, BadAckId),
            ("01{}", UnexpectedAckId("CONNECT")),
            ("0/admin,1", UnexpectedAckId("CONNECT")),
            ("11", UnexpectedAckId("DISCONNECT")),
            ("1/admin,5", UnexpectedAckId("DISCONNECT")),
            (r#"41{"message":"m"}"#, UnexpectedAckId("CONNECT_ERROR")),
            (r#"3["x"]"#, MissingAckId("ACK")),
            ("3/admin,[]", MissingAckId("ACK")),
            ("3/admin,x[]", MissingAckId("ACK")),
            ("3", MissingAckId("ACK")),
            (
                r#"61-[{"_placeholder":true,"num":0}]"#,
                MissingAckId("BINARY_ACK"),
            ),
            // JSON.
            (r#"2["e""#, Json(String::new())),
            (r#"2["e",]"#, Json(String::new())),
            ("2[NaN]", Json(String::new())),
            ("2[1e999]", Json(String::new())),
            ("2\u{0}", Json(String::new())),
            (r#"2['e']"#, Json(String::new())),
            // Trailing garbage.
            (r#"2["e"]x"#, TrailingData),
            (r#"2["e"]["f"]"#, TrailingData),
            (r#"0{}{}"#, TrailingData),
            (r#"31[] 1"#, TrailingData),
            // Shapes.
            ("2", shape("EVENT", "an array starting with the event name")),
            (
                "2/a,",
                shape("EVENT", "an array starting with the event name"),
            ),
            (
                "21",
                shape("EVENT", "an array starting with the event name"),
            ),
            (
                "2[]",
                shape("EVENT", "an array starting with the event name"),
            ),
            (
                "2[1]",
                shape("EVENT", "an array starting with the event name"),
            ),
            (
                "2[null]",
                shape("EVENT", "an array starting with the event name"),
            ),
            (
                r#"2[["e"]]"#,
                shape("EVENT", "an array starting with the event name"),
            ),
            (
                r#"2{"a":1}"#,
                shape("EVENT", "an array starting with the event name"),
            ),
            (
                r#"2"e""#,
                shape("EVENT", "an array starting with the event name"),
            ),
            (
                "2null",
                shape("EVENT", "an array starting with the event name"),
            ),
            (
                r#"51-[{"_placeholder":true,"num":0}]"#,
                shape("BINARY_EVENT", "an array starting with the event name"),
            ),
            ("0[1]", shape("CONNECT", "an object or empty")),
            (r#"0"token""#, shape("CONNECT", "an object or empty")),
            ("0null", shape("CONNECT", "an object or empty")),
            ("0/admin,[]", shape("CONNECT", "an object or empty")),
            ("1{}", shape("DISCONNECT", "empty")),
            ("1/admin,xyz", shape("DISCONNECT", "empty")),
            ("1 ", shape("DISCONNECT", "empty")),
            ("31{}", shape("ACK", "an array")),
            (r#"31"x""#, shape("ACK", "an array")),
            ("31", shape("ACK", "an array")),
            ("4", shape("CONNECT_ERROR", "an object")),
            ("4[]", shape("CONNECT_ERROR", "an object")),
            ("4null", shape("CONNECT_ERROR", "an object")),
            ("4/admin,", shape("CONNECT_ERROR", "an object")),
        ];
        for (input, expected) in cases {
            let got = err(input);
            if let Json(_) = expected {
                assert!(matches!(got, Json(_)), "{input:?}: {got:?}");
            } else {
                assert_eq!(got, expected, "{input:?}");
            }
            // Every error has a message.
            assert!(!got.to_string().is_empty());
        }
    }

    #[test]
    fn reserved_events_are_refused() {
        for reserved in RESERVED_EVENTS {
            assert_eq!(
                err(&format!(r#"2["{reserved}",1]"#)),
                ParseError::ReservedEvent((*reserved).into())
            );
            assert_eq!(
                err(&format!(r#"2/admin,3["{reserved}"]"#)),
                ParseError::ReservedEvent((*reserved).into())
            );
            assert_eq!(
                err(&format!(
                    r#"51-["{reserved}",{{"_placeholder":true,"num":0}}]"#
                )),
                ParseError::ReservedEvent((*reserved).into())
            );
        }
        // The list is the protocol's.
        assert_eq!(
            RESERVED_EVENTS,
            [
                "connect",
                "connect_error",
                "disconnect",
                "disconnecting",
                "newListener",
                "removeListener"
            ]
        );
        // Near misses are ordinary events; escapes are decoded before the check.
        complete(r#"2["Connect"]"#);
        complete(r#"2["connect "]"#);
        assert_eq!(
            err(r#"2["\u0063onnect"]"#),
            ParseError::ReservedEvent("connect".into())
        );
    }

    #[test]
    fn deep_json_is_refused() {
        let deep = format!(r#"2["e",{}{}]"#, "[".repeat(200), "]".repeat(200));
        assert!(matches!(decode(&deep, &LIMITS), Err(ParseError::Json(_))));
        let deep = format!(r#"2["e",{}1{}]"#, r#"{"a":"#.repeat(200), "}".repeat(200));
        assert!(matches!(decode(&deep, &LIMITS), Err(ParseError::Json(_))));
        let ok = format!(r#"2["e",{}{}]"#, "[".repeat(100), "]".repeat(100));
        complete(&ok);
    }

    #[test]
    fn attachment_limits() {
        let limits = DecodeLimits { max_attachments: 2 };
        let text = r#"52-["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        assert!(matches!(decode(text, &limits), Ok(Decoded::Partial(_))));
        assert_eq!(
            decode(r#"53-["e"]"#, &limits).unwrap_err(),
            ParseError::TooManyAttachments { count: 3, max: 2 }
        );
        let none = DecodeLimits { max_attachments: 0 };
        assert_eq!(
            decode(r#"51-["e",{"_placeholder":true,"num":0}]"#, &none).unwrap_err(),
            ParseError::TooManyAttachments { count: 1, max: 0 }
        );
        assert!(matches!(
            decode(r#"2["e"]"#, &none),
            Ok(Decoded::Complete(_))
        ));
        // A huge declared count under a huge limit allocates nothing up front.
        let unlimited = DecodeLimits {
            max_attachments: usize::MAX,
        };
        assert_eq!(
            decode(
                &format!(r#"5{}-["e",{{"_placeholder":true,"num":0}}]"#, usize::MAX),
                &unlimited
            )
            .unwrap_err(),
            ParseError::MissingPlaceholder(1)
        );
        assert_eq!(DecodeLimits::default(), LIMITS);
    }

    #[test]
    fn large_payloads() {
        let big = "z".repeat(500 * 1024);
        let p = packet("/", event("big", vec![Value::from(big.clone())]), Some(1));
        let enc = round_trip(&p);
        assert_eq!(enc.text.len(), big.len() + r#"21["big",""]"#.len());
        // The size estimate sized the buffer once.
        assert!(enc.text.capacity() < enc.text.len() + 128);

        let escaped = "\"\n".repeat(100 * 1024);
        round_trip(&packet("/", event("esc", vec![Value::from(escaped)]), None));

        let blob = Bytes::from(vec![0xabu8; 1024 * 1024]);
        let p = packet("/", event("blob", vec![Value::Bytes(blob.clone())]), None);
        let enc = round_trip(&p);
        // The attachment is the same buffer, not a copy.
        assert_eq!(enc.attachments[0].as_ptr(), blob.as_ptr());

        let many: Vec<Value> = (0..10_000u64).map(Value::from).collect();
        round_trip(&packet("/", PacketData::Ack(many), Some(3)));
    }

    /// Decodes `s`, feeding a partial packet its attachments; a successful decode must survive
    /// an encode / decode round trip unchanged.
    fn decode_and_check(s: &str) {
        let decoded = match decode(s, &LIMITS) {
            Ok(Decoded::Complete(p)) => Some(p),
            Ok(Decoded::Partial(mut p)) => {
                let mut done = None;
                for i in 0..=LIMITS.max_attachments {
                    match p.push(Bytes::from(vec![u8::try_from(i).unwrap_or(0); i])) {
                        Ok(Some(packet)) => done = Some(packet),
                        Ok(None) => {}
                        Err(e) => {
                            assert_eq!(e, ParseError::UnexpectedAttachment);
                            assert!(done.is_some(), "{s}");
                            break;
                        }
                    }
                }
                assert!(done.is_some(), "{s}: never completed");
                done
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                None
            }
        };
        if let Some(p) = decoded {
            round_trip(&p);
        }
    }

    #[test]
    fn no_input_panics() {
        let seeds = [
            r#"52-/admin,7["up",{"_placeholder":true,"num":1},[{"num":0,"_placeholder":true}]]"#,
            r#"0/admin,{"token":"x"}"#,
            r#"3/☃,12["ok",{"a":[1.5,-2,null]}]"#,
            r#"61-/admin,3[{"_placeholder":true,"num":0}]"#,
            r#"2["hello",1,"\u0041\n"]"#,
            r#"4{"message":"Invalid namespace"}"#,
            "1/admin,",
            "0",
        ];
        for seed in seeds {
            decode_and_check(seed);
            let bytes = seed.as_bytes();
            // Every prefix that is valid UTF-8.
            for cut in 0..=bytes.len() {
                if let Ok(s) = std::str::from_utf8(&bytes[..cut]) {
                    decode_and_check(s);
                }
            }
            // Every single-byte mutation that is valid UTF-8.
            for i in 0..bytes.len() {
                for byte in 0..=u8::MAX {
                    let mut m = bytes.to_vec();
                    m[i] = byte;
                    if let Ok(s) = std::str::from_utf8(&m) {
                        decode_and_check(s);
                    }
                }
            }
            // Every single-byte deletion and a few insertions.
            for i in 0..bytes.len() {
                let mut m = bytes.to_vec();
                m.remove(i);
                if let Ok(s) = std::str::from_utf8(&m) {
                    decode_and_check(s);
                }
                for ins in *b"0-/,[]{}\"9" {
                    let mut m = bytes.to_vec();
                    m.insert(i, ins);
                    if let Ok(s) = std::str::from_utf8(&m) {
                        decode_and_check(s);
                    }
                }
            }
        }
    }
}
