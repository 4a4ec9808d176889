//! The msgpack packet codec, wire-compatible with the npm package `socket.io-msgpack-parser`.
//!
//! Under that parser every Socket.IO packet is ONE binary Engine.IO message: the msgpack
//! encoding (as the npm `notepack.io` library writes it) of the object
//! `{type, data?, nsp, id?}`. Binary is native msgpack `bin`, so there are no BINARY_EVENT /
//! BINARY_ACK packets and no attachments.
//!
//! Pure functions over bytes, no IO. What a JavaScript peer sends and how it arrives here:
//!
//! | JavaScript (notepack.io)              | msgpack                        | [`Value`]                  |
//! |---------------------------------------|--------------------------------|----------------------------|
//! | integral number                       | smallest int (uint for >= 0)   | integer `Number`           |
//! | other number                          | float 64 (float 32 read too)   | float `Number`             |
//! | `NaN`, `±Infinity`                    | float 64                       | `Null` (as `JSON.stringify`)|
//! | `Buffer`                              | bin                            | `Bytes`                    |
//! | `ArrayBuffer`, typed array            | ext 8/16/32 of type 0          | `Bytes`                    |
//! | `Date`                                | fixext 8 of type 0 (ms, i64)   | ISO 8601 `String` (as `Date.toJSON`), `Null` out of range |
//! | `undefined`                           | fixext 1 of type 0             | dropped in a map, `Null` in an array; an absent `data`/`id` |
//! | any other ext type                    |                                | `[type, Bytes]` (what notepack decodes it to) |
//!
//! Map keys must be strings (notepack only writes string keys); any other key is an error. A
//! duplicated key is kept twice, as the JSON parser does. Nesting is bounded by [`MAX_DEPTH`]
//! (the JSON parser's limit), the number of buffers in a packet by
//! [`DecodeLimits::max_attachments`] (what the JSON parser allows as attachments). Integers
//! are exact here, while JavaScript reads those beyond 2^53 as rounded doubles.
//!
//! Encoding writes the fields in the order `type`, `data`, `nsp`, `id` and picks the same
//! formats as notepack, so the bytes are those the npm encoder writes for the same object
//! (a float that holds an integer is written as an integer, as JavaScript has one number type).

use bytes::Bytes;
use rmp::encode::{self as mp, ByteBuf, ValueWriteError};

mod decode;

pub(crate) use self::decode::decode;
#[cfg(feature = "redis")]
pub(crate) use self::decode::decode_value;
#[cfg(test)]
use super::packet::DecodeLimits;
use super::packet::{Packet, PacketData};
use super::value::Value;

/// The deepest nesting of arrays and maps in a packet's `data` (the `data` array counts as 1),
/// the same limit as the JSON parser's.
pub(crate) const MAX_DEPTH: usize = 128;

/// JavaScript's `Date` range: ±10^8 days in milliseconds.
pub(crate) const MAX_DATE_MS: i64 = 8_640_000_000_000_000;

/// Why a msgpack message is not a valid packet. Each ends the connection with "parse error".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MsgpackError {
    /// The data ends inside a value.
    #[error("msgpack data truncated: {needed} bytes needed at offset {at}, {left} left")]
    Truncated {
        /// Where the missing bytes start.
        at: usize,
        /// How many bytes the value needs there.
        needed: usize,
        /// How many there are.
        left: usize,
    },
    /// The marker `0xc1`, which msgpack never uses.
    #[error("invalid msgpack marker 0xc1 at offset {0}")]
    ReservedMarker(usize),
    /// Arrays and maps nested deeper than [`MAX_DEPTH`].
    #[error("msgpack nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    /// A string that is not UTF-8.
    #[error("msgpack string at offset {0} is not valid UTF-8")]
    InvalidUtf8(usize),
    /// A map key that is not a string.
    #[error("msgpack map key at offset {0} is not a string")]
    NonStringKey(usize),
    /// Bytes after the packet.
    #[error("{0} bytes after the msgpack packet")]
    TrailingBytes(usize),
    /// The message is not a map.
    #[error("a msgpack packet must be a map")]
    NotAMap,
    /// `type` is absent, not an integer or not 0..=4.
    #[error("invalid packet type: an integer from 0 to 4 is required")]
    InvalidType,
    /// `nsp` is absent or not a string starting with `/`.
    #[error("invalid namespace: a string starting with '/' is required")]
    InvalidNamespace,
    /// A `data` of the wrong shape for the packet type.
    #[error("the data of a {packet} packet must be {expected}")]
    Shape {
        /// The packet type.
        packet: &'static str,
        /// What its data must be.
        expected: &'static str,
    },
    /// An `id` that is not a non-negative integer.
    #[error("invalid packet id: a non-negative integer is required")]
    InvalidId,
    /// An `id` on a packet type that takes none.
    #[error("a {0} packet cannot carry an id")]
    UnexpectedId(&'static str),
    /// An ACK without `id`.
    #[error("an ACK packet needs an id")]
    MissingId,
    /// More buffers than [`DecodeLimits::max_attachments`].
    #[error("more than {max} binary buffers in one packet")]
    TooManyBuffers {
        /// The limit.
        max: usize,
    },
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// Writes to a `ByteBuf` cannot fail: its error type is uninhabited.
fn infallible<T>(r: Result<T, ValueWriteError<std::convert::Infallible>>) {
    if let Err(ValueWriteError::InvalidMarkerWrite(e) | ValueWriteError::InvalidDataWrite(e)) = r {
        match e {}
    }
}

/// A length as msgpack stores it. Nothing that long fits in a message (the engine caps them far
/// below 4 GiB), so saturating only guards against a panic.
fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// An upper bound of the encoded size, so that the buffer is allocated once.
fn size_hint(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 1,
        Value::Number(_) => 9,
        Value::String(s) => 5 + s.len(),
        Value::Bytes(b) => 5 + b.len(),
        Value::Array(items) => 5 + items.iter().map(size_hint).sum::<usize>(),
        Value::Object(fields) => {
            5 + fields
                .iter()
                .map(|(k, v)| 5 + k.len() + size_hint(v))
                .sum::<usize>()
        }
    }
}

fn write_number(out: &mut ByteBuf, n: &serde_json::Number) {
    if let Some(u) = n.as_u64() {
        return infallible(mp::write_uint(out, u));
    }
    if let Some(i) = n.as_i64() {
        return infallible(mp::write_sint(out, i));
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    // notepack writes any finite number without a fraction as an integer (-0 as 0).
    if f.is_finite() && f.fract() == 0.0 {
        // `-0.0` is in the first range too.
        if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
            // In range: the cast is exact.
            return infallible(mp::write_uint(out, f as u64));
        }
        if (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
            return infallible(mp::write_sint(out, f as i64));
        }
    }
    infallible(mp::write_f64(out, f));
}

fn write_str(out: &mut ByteBuf, s: &str) {
    infallible(mp::write_str_len(out, len32(s.len())));
    out.as_mut_vec().extend_from_slice(s.as_bytes());
}

fn write_value(out: &mut ByteBuf, v: &Value) {
    match v {
        Value::Null => infallible(mp::write_nil(out).map_err(ValueWriteError::InvalidMarkerWrite)),
        Value::Bool(b) => {
            infallible(mp::write_bool(out, *b).map_err(ValueWriteError::InvalidMarkerWrite))
        }
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Bytes(b) => {
            infallible(mp::write_bin_len(out, len32(b.len())));
            out.as_mut_vec().extend_from_slice(b);
        }
        Value::Array(items) => {
            infallible(mp::write_array_len(out, len32(items.len())));
            items.iter().for_each(|i| write_value(out, i));
        }
        Value::Object(fields) => {
            infallible(mp::write_map_len(out, len32(fields.len())));
            for (k, v) in fields {
                write_str(out, k);
                write_value(out, v);
            }
        }
    }
}

/// Encodes a packet as the payload of one binary Engine.IO message: the map
/// `{type, data?, nsp, id?}`, `data` absent on DISCONNECT and on a CONNECT without payload,
/// `id` only on EVENT and ACK packets that have one.
pub(crate) fn encode(packet: &Packet) -> Bytes {
    let (kind, data): (u8, Option<&Value>) = match &packet.data {
        PacketData::Connect(payload) => (0, payload.as_ref()),
        PacketData::Disconnect => (1, None),
        PacketData::Event { .. } => (2, None),
        PacketData::Ack(_) => (3, None),
        PacketData::ConnectError(payload) => (4, Some(payload)),
    };
    let id = match packet.data {
        PacketData::Event { .. } | PacketData::Ack(_) => packet.id,
        _ => None,
    };
    let data_hint = match &packet.data {
        PacketData::Event { event, args } => {
            10 + event.len() + args.iter().map(size_hint).sum::<usize>()
        }
        PacketData::Ack(args) => 5 + args.iter().map(size_hint).sum::<usize>(),
        _ => data.map_or(0, size_hint),
    };
    let mut out = ByteBuf::with_capacity(1 + 6 + 5 + 5 + data_hint + 5 + packet.ns.len() + 13);
    let has_data = data.is_some() || matches!(kind, 2 | 3);
    let fields = 2 + u32::from(has_data) + u32::from(id.is_some());
    infallible(mp::write_map_len(&mut out, fields));
    write_str(&mut out, "type");
    infallible(mp::write_uint(&mut out, u64::from(kind)));
    if has_data {
        write_str(&mut out, "data");
        match &packet.data {
            PacketData::Event { event, args } => {
                infallible(mp::write_array_len(
                    &mut out,
                    len32(args.len()).saturating_add(1),
                ));
                write_str(&mut out, event);
                args.iter().for_each(|a| write_value(&mut out, a));
            }
            PacketData::Ack(args) => {
                infallible(mp::write_array_len(&mut out, len32(args.len())));
                args.iter().for_each(|a| write_value(&mut out, a));
            }
            _ => {
                if let Some(d) = data {
                    write_value(&mut out, d);
                }
            }
        }
    }
    write_str(&mut out, "nsp");
    write_str(&mut out, &packet.ns);
    if let Some(id) = id {
        write_str(&mut out, "id");
        infallible(mp::write_uint(&mut out, id));
    }
    Bytes::from(out.into_vec())
}

/// A msgpack writer for messages other than packets (the Redis adapter's envelopes), writing
/// each value as notepack does.
#[cfg(feature = "redis")]
pub(crate) struct Writer(ByteBuf);

#[cfg(feature = "redis")]
impl Writer {
    pub(crate) fn new() -> Self {
        Writer(ByteBuf::with_capacity(64))
    }

    /// An array header of `n` items.
    pub(crate) fn array(&mut self, n: usize) -> &mut Self {
        infallible(mp::write_array_len(&mut self.0, len32(n)));
        self
    }

    /// A map header of `n` fields.
    pub(crate) fn map(&mut self, n: usize) -> &mut Self {
        infallible(mp::write_map_len(&mut self.0, len32(n)));
        self
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        write_str(&mut self.0, s);
        self
    }

    pub(crate) fn uint(&mut self, u: u64) -> &mut Self {
        infallible(mp::write_uint(&mut self.0, u));
        self
    }

    pub(crate) fn value(&mut self, v: &Value) -> &mut Self {
        write_value(&mut self.0, v);
        self
    }

    /// An EVENT packet as the Node adapter carries it: `{type: 2, data: [event, ...args], nsp}`
    /// (type 2 with binary data too, as in this format).
    pub(crate) fn event(&mut self, ns: &str, event: &str, args: &[Value]) -> &mut Self {
        self.map(3).str("type").uint(2).str("data");
        self.array(args.len().saturating_add(1)).str(event);
        args.iter().for_each(|a| write_value(&mut self.0, a));
        self.str("nsp").str(ns)
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng, rngs::StdRng};

    use super::decode::iso_date;
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        assert!(s.len().is_multiple_of(2), "odd hex");
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn to_hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn dec(b: &[u8]) -> Result<Packet, MsgpackError> {
        decode(b, &DecodeLimits::default())
    }

    fn json(v: serde_json::Value) -> Value {
        Value::from(v)
    }

    fn event(ns: &str, name: &str, args: Vec<Value>, id: Option<u64>) -> Packet {
        Packet {
            ns: ns.into(),
            data: PacketData::Event {
                event: name.into(),
                args,
            },
            id,
        }
    }

    fn bytes(b: &[u8]) -> Value {
        Value::Bytes(Bytes::copy_from_slice(b))
    }

    /// Packets of every type, with every kind of value.
    fn samples() -> Vec<Packet> {
        vec![
            Packet {
                ns: "/".into(),
                data: PacketData::Connect(None),
                id: None,
            },
            Packet {
                ns: "/admin".into(),
                data: PacketData::Connect(Some(json(serde_json::json!({"token": "abc", "n": 1})))),
                id: None,
            },
            Packet {
                ns: "/chat".into(),
                data: PacketData::Disconnect,
                id: None,
            },
            event(
                "/",
                "mixed",
                vec![
                    json(serde_json::json!([
                        1,
                        -1,
                        -33,
                        1.5,
                        "é☃😀",
                        true,
                        false,
                        null
                    ])),
                    json(serde_json::json!({"a": [1, 2], "b": {}, "c": u64::MAX, "d": i64::MIN})),
                    bytes(&[1, 2, 3]),
                    Value::Array(vec![Value::Object(vec![("deep".into(), bytes(&[0; 300]))])]),
                    Value::from("x".repeat(70_000)),
                ],
                Some(7),
            ),
            event("/x", "none", vec![], None),
            Packet {
                ns: "/".into(),
                data: PacketData::Ack(vec![Value::from("ok"), bytes(&[9; 5])]),
                id: Some(u64::MAX),
            },
            Packet {
                ns: "/".into(),
                data: PacketData::Ack(vec![]),
                id: Some(0),
            },
            Packet {
                ns: "/".into(),
                data: PacketData::ConnectError(json(
                    serde_json::json!({"message": "nope", "data": {"code": 1}}),
                )),
                id: None,
            },
            Packet {
                ns: "/".into(),
                data: PacketData::ConnectError(Value::from("old style")),
                id: None,
            },
        ]
    }

    #[test]
    fn round_trips_every_packet_type() {
        for p in samples() {
            let enc = encode(&p);
            assert_eq!(dec(&enc).as_ref(), Ok(&p), "{}", to_hex(&enc));
        }
    }

    #[test]
    fn id_only_written_on_event_and_ack() {
        let p = Packet {
            ns: "/".into(),
            data: PacketData::Disconnect,
            id: Some(3),
        };
        assert_eq!(to_hex(&encode(&p)), "82a47479706501a36e7370a12f");
    }

    /// Bytes written by `socket.io-msgpack-parser` 3.0.2 (notepack.io 2.2.0) in Node for the
    /// same objects, fields in the order `type`, `data`, `nsp`, `id`.
    #[test]
    fn bytes_match_the_npm_encoder() {
        let cases: Vec<(Packet, &str)> = vec![
            (
                Packet {
                    ns: "/".into(),
                    data: PacketData::Connect(Some(json(serde_json::json!({"sid": "abc"})))),
                    id: None,
                },
                "83a47479706500a46461746181a3736964a3616263a36e7370a12f",
            ),
            (
                Packet {
                    ns: "/admin".into(),
                    data: PacketData::Connect(None),
                    id: None,
                },
                "82a47479706500a36e7370a62f61646d696e",
            ),
            (
                Packet {
                    ns: "/chat".into(),
                    data: PacketData::Disconnect,
                    id: None,
                },
                "82a47479706501a36e7370a52f63686174",
            ),
            (
                event(
                    "/",
                    "msg",
                    [
                        serde_json::json!(1),
                        serde_json::json!(-1),
                        serde_json::json!(-33),
                        serde_json::json!(1.5),
                        serde_json::json!("é☃😀"),
                        serde_json::json!(true),
                        serde_json::json!(false),
                        serde_json::json!(null),
                        serde_json::json!({"a": [1, 2], "b": {}}),
                        serde_json::json!(300),
                        serde_json::json!(70000),
                        serde_json::json!(-200),
                        serde_json::json!(-40000),
                        serde_json::json!(4_294_967_296_u64),
                        serde_json::json!(-4_294_967_296_i64),
                        // An integral float is written as JavaScript's integer.
                        serde_json::json!(9_007_199_254_740_992.0),
                    ]
                    .into_iter()
                    .map(json)
                    .collect(),
                    None,
                ),
                "83a47479706502a464617461dc0011a36d736701ffd0dfcb3ff8000000000000a9c3a9e29883f09f\
                 9880c3c2c082a161920102a16280cd012cce00011170d1ff38d2ffff63c0cf000000010000000\
                 0d3ffffffff00000000cf0020000000000000a36e7370a12f",
            ),
            (
                event("/x", "file", vec![bytes(&[1, 2, 3])], Some(7)),
                "84a47479706502a46461746192a466696c65c403010203a36e7370a22f78a2696407",
            ),
            (
                Packet {
                    ns: "/".into(),
                    data: PacketData::ConnectError(Value::Object(vec![
                        ("message".into(), Value::from("nope")),
                        ("data".into(), json(serde_json::json!({"code": 1}))),
                    ])),
                    id: None,
                },
                "83a47479706504a46461746182a76d657373616765a46e6f7065a46461746181a4636f646501a3\
                 6e7370a12f",
            ),
        ];
        for (p, want) in cases {
            assert_eq!(to_hex(&encode(&p)), want, "{p:?}");
        }
        // Lengths that switch formats: str 8 and str 16, bin 16, uint 16 id.
        let ack = Packet {
            ns: "/".into(),
            data: PacketData::Ack(vec![Value::from("ok"), bytes(&[9; 300])]),
            id: Some(300),
        };
        let want = format!(
            "84a47479706503a46461746192a26f6bc5012c{}a36e7370a12fa26964cd012c",
            "09".repeat(300)
        );
        assert_eq!(to_hex(&encode(&ack)), want);
        let strs = event(
            "/",
            "s",
            vec![Value::from("a".repeat(40)), Value::from("b".repeat(300))],
            None,
        );
        let want = format!(
            "83a47479706502a46461746193a173d928{}da012c{}a36e7370a12f",
            "61".repeat(40),
            "62".repeat(300)
        );
        assert_eq!(to_hex(&encode(&strs)), want);
    }

    /// What the official client (socket.io-client 4.8.4 with the msgpack parser) sends, and
    /// what notepack writes for JavaScript-only values.
    #[test]
    fn decodes_what_the_js_client_sends() {
        // {type: 2, data: ["hi", 1], options: {compress: true}, id: 3, nsp: "/"}
        let p = dec(&hex(
            "85a47479706502a46461746192a2686901a76f7074696f6e7381a8636f6d7072657373c3a2696403a36e7370a12f",
        ))
        .expect("event");
        assert_eq!(p, event("/", "hi", vec![Value::from(1u64)], Some(3)));
        // {type: 0, data: undefined, nsp: "/"}: a CONNECT without auth.
        let p = dec(&hex("83a47479706500a464617461d40000a36e7370a12f")).expect("connect");
        assert_eq!(p.data, PacketData::Connect(None));
        // {type: 3, id: 4, data: [], nsp: "/"}
        let p = dec(&hex("84a47479706503a2696404a46461746190a36e7370a12f")).expect("ack");
        assert_eq!((p.data, p.id), (PacketData::Ack(vec![]), Some(4)));
        // ["d", new Date(1700000000123), new Date(-1)]
        let p = dec(&hex(
            "83a47479706502a46461746193a164d7000000018bcfe5687bd700ffffffffffffffffa36e7370a12f",
        ))
        .expect("dates");
        let want = ["2023-11-14T22:13:20.123Z", "1969-12-31T23:59:59.999Z"];
        assert_eq!(p, event("/", "d", want.map(Value::from).to_vec(), None));
        // ["u", undefined]
        let p = dec(&hex("83a47479706502a46461746192a175d40000a36e7370a12f")).expect("undef");
        assert_eq!(p, event("/", "u", vec![Value::Null], None));
        // ["u8", new Uint8Array([5, 6])]: ext 8 of type 0.
        let p = dec(&hex(
            "83a47479706502a46461746192a27538c702000506a36e7370a12f",
        ))
        .expect("u8");
        assert_eq!(p, event("/", "u8", vec![bytes(&[5, 6])], None));
        // ["f", NaN, Infinity, -0]
        let p = dec(&hex(
            "83a47479706502a46461746194a166cb7ff8000000000000cb7ff000000000000000a36e7370a12f",
        ))
        .expect("floats");
        let args = vec![Value::Null, Value::Null, Value::from(0u64)];
        assert_eq!(p, event("/", "f", args, None));
    }

    #[test]
    fn js_values_without_a_value_counterpart() {
        // {k: undefined, j: 1} drops k; float 32; an ext of type 5 becomes [5, bytes].
        let p = dec(&hex(
            "83a474797065 02 a464617461 94 a165 82a16bd40000a16a01 ca3fc00000 d50507 08 a36e7370a12f"
                .replace(' ', "")
                .as_str(),
        ))
        .expect("decodes");
        let args = vec![
            json(serde_json::json!({"j": 1})),
            Value::from(1.5),
            Value::Array(vec![Value::from(5i64), bytes(&[7, 8])]),
        ];
        assert_eq!(p, event("/", "e", args, None));
        assert_eq!(iso_date(0).as_deref(), Some("1970-01-01T00:00:00.000Z"));
        assert_eq!(
            iso_date(951_782_400_000).as_deref(),
            Some("2000-02-29T00:00:00.000Z")
        );
        assert_eq!(
            iso_date(MAX_DATE_MS).as_deref(),
            Some("+275760-09-13T00:00:00.000Z")
        );
        assert_eq!(
            iso_date(-MAX_DATE_MS).as_deref(),
            Some("-271821-04-20T00:00:00.000Z")
        );
        assert_eq!(
            iso_date(-62_198_755_200_000).as_deref(),
            Some("-000001-01-01T00:00:00.000Z")
        );
        assert_eq!(iso_date(MAX_DATE_MS + 1), None);
    }

    /// A packet map `{type, data, nsp}` around `data` (hex).
    fn with_data(ty: &str, data: &str) -> Vec<u8> {
        hex(&format!("83a474797065{ty}a464617461{data}a36e7370a12f"))
    }

    fn nested_arrays(depth: usize) -> Vec<u8> {
        // ["x", [[…[null]…]]]: `depth` arrays, the data array included.
        let mut b = hex("83a47479706502a46461746192a178");
        b.extend(std::iter::repeat_n(0x91, depth - 1));
        b.push(0xc0);
        b.extend(hex("a36e7370a12f"));
        b
    }

    #[test]
    fn malformed_inputs_are_errors() {
        use MsgpackError as E;
        let shape = |packet, expected| E::Shape { packet, expected };
        let cases: Vec<(&str, Vec<u8>, MsgpackError)> = vec![
            ("empty", vec![], E::NotAMap),
            ("not a map", hex("92a47479706502"), E::NotAMap),
            (
                "reserved marker",
                hex("81a474797065c1"),
                E::ReservedMarker(6),
            ),
            (
                "truncated map",
                hex("83a47479706502"),
                E::Truncated {
                    at: 7,
                    needed: 1,
                    left: 0,
                },
            ),
            (
                "huge string length",
                hex("81a474797065dbffffffff61"),
                E::Truncated {
                    at: 11,
                    needed: u32::MAX as usize,
                    left: 1,
                },
            ),
            (
                "huge array length",
                hex("81a474797065ddffffffff"),
                E::Truncated {
                    at: 11,
                    needed: 1,
                    left: 0,
                },
            ),
            (
                "huge map length",
                hex("dfffffffff"),
                E::Truncated {
                    at: 5,
                    needed: 1,
                    left: 0,
                },
            ),
            (
                "huge bin length",
                hex("81a474797065c6ffffffff"),
                E::Truncated {
                    at: 11,
                    needed: u32::MAX as usize,
                    left: 0,
                },
            ),
            (
                "huge ext length",
                hex("81a474797065c9ffffffff00"),
                E::Truncated {
                    at: 12,
                    needed: u32::MAX as usize,
                    left: 0,
                },
            ),
            (
                "invalid utf-8",
                with_data("02", "92a178a2c328"),
                E::InvalidUtf8(16),
            ),
            ("invalid utf-8 key", hex("81a2c328c0"), E::InvalidUtf8(2)),
            ("int key", hex("8101c0"), E::NonStringKey(1)),
            ("map key", hex("8180c0"), E::NonStringKey(1)),
            (
                "non-string key deep",
                with_data("02", "92a17881c3c0"),
                E::NonStringKey(16),
            ),
            (
                "trailing bytes",
                hex("82a47479706501a36e7370a12fc0c0"),
                E::TrailingBytes(2),
            ),
            ("missing type", hex("81a36e7370a12f"), E::InvalidType),
            (
                "type undefined",
                hex("82a474797065d40000a36e7370a12f"),
                E::InvalidType,
            ),
            ("type 5", hex("82a47479706505a36e7370a12f"), E::InvalidType),
            ("type -1", hex("82a474797065ffa36e7370a12f"), E::InvalidType),
            (
                "type 1.5",
                hex("82a474797065cb3ff8000000000000a36e7370a12f"),
                E::InvalidType,
            ),
            (
                "type string",
                hex("82a474797065a132a36e7370a12f"),
                E::InvalidType,
            ),
            ("missing nsp", hex("81a47479706501"), E::InvalidNamespace),
            (
                "nsp not a string",
                hex("82a47479706501a36e737001"),
                E::InvalidNamespace,
            ),
            (
                "nsp without /",
                hex("82a47479706501a36e7370a161"),
                E::InvalidNamespace,
            ),
            (
                "connect with array",
                with_data("00", "90"),
                shape("CONNECT", "a map or absent"),
            ),
            (
                "connect with null",
                with_data("00", "c0"),
                shape("CONNECT", "a map or absent"),
            ),
            (
                "disconnect with data",
                with_data("01", "80"),
                shape("DISCONNECT", "absent"),
            ),
            ("event without data", hex("82a47479706502a36e7370a12f"), {
                shape("EVENT", "an array starting with the event name")
            }),
            ("event with a map", with_data("02", "80"), {
                shape("EVENT", "an array starting with the event name")
            }),
            ("event with []", with_data("02", "90"), {
                shape("EVENT", "an array starting with the event name")
            }),
            ("event named 1", with_data("02", "9101"), {
                shape("EVENT", "an array starting with the event name")
            }),
            (
                "ack with a map",
                with_data("03", "80"),
                shape("ACK", "an array"),
            ),
            ("ack without id", with_data("03", "90"), E::MissingId),
            ("connect_error with []", with_data("04", "90"), {
                shape("CONNECT_ERROR", "a map or a string")
            }),
            ("connect_error absent", hex("82a47479706504a36e7370a12f"), {
                shape("CONNECT_ERROR", "a map or a string")
            }),
            (
                "negative id",
                hex("84a47479706502a46461746191a178a36e7370a12fa26964ff"),
                E::InvalidId,
            ),
            (
                "string id",
                hex("84a47479706502a46461746191a178a36e7370a12fa26964a131"),
                E::InvalidId,
            ),
            (
                "id on connect",
                hex("83a47479706500a36e7370a12fa2696401"),
                E::UnexpectedId("CONNECT"),
            ),
            ("too deep", nested_arrays(MAX_DEPTH + 1), E::TooDeep),
            (
                "too many buffers",
                with_data("02", &format!("9ca178{}", "c40101".repeat(11))),
                E::TooManyBuffers { max: 10 },
            ),
            (
                "truncated date",
                with_data("02", "92a178d70000"),
                E::Truncated {
                    at: 17,
                    needed: 8,
                    left: 7,
                },
            ),
        ];
        let wrong: Vec<String> = cases
            .into_iter()
            .filter_map(|(name, input, want)| {
                let got = dec(&input).err();
                (got.as_ref() != Some(&want))
                    .then(|| format!("{name}: {} gave {got:?}, not {want:?}", to_hex(&input)))
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
        // At the limit, nesting is fine; deeper than anything a stack could hold is an error.
        assert!(dec(&nested_arrays(MAX_DEPTH)).is_ok());
        assert_eq!(dec(&nested_arrays(1_000_000)).err(), Some(E::TooDeep));
        // Errors say what is wrong.
        assert_eq!(
            E::TooManyBuffers { max: 10 }.to_string(),
            "more than 10 binary buffers in one packet"
        );
    }

    #[test]
    fn duplicated_fields_take_the_last_value() {
        // {type: 1, type: 2, data: ["x"], nsp: "/"}
        let p = dec(&hex(
            "84a47479706501a47479706502a46461746191a178a36e7370a12f",
        ))
        .expect("ok");
        assert_eq!(p, event("/", "x", vec![], None));
    }

    /// Mutated valid encodings (a fixed seed, so the run is the same each time) never panic,
    /// and whatever decodes encodes into something that decodes.
    #[test]
    fn random_mutations_never_panic() {
        let seeds: Vec<Vec<u8>> = samples()
            .iter()
            .map(|p| encode(p).to_vec())
            .filter(|b| b.len() < 4096)
            .collect();
        let mut rng = StdRng::seed_from_u64(0x5eed_4d50);
        let limits = DecodeLimits::default();
        let mut decoded = 0;
        for _ in 0..20_000 {
            let mut b = seeds[rng.random_range(0..seeds.len())].clone();
            for _ in 0..rng.random_range(1..=4) {
                let at = rng.random_range(0..b.len().max(1));
                match rng.random_range(0..6) {
                    0 if !b.is_empty() => b[at] ^= 1 << rng.random_range(0..8),
                    1 if !b.is_empty() => b[at] = rng.random(),
                    2 => b.truncate(at),
                    3 => b.insert(at.min(b.len()), rng.random()),
                    4 if !b.is_empty() => {
                        b.remove(at);
                    }
                    _ => {
                        let marker = [0xc1, 0xc4, 0xd4, 0xd7, 0xdb, 0xdd, 0xdf, 0xc9];
                        b.insert(at.min(b.len()), marker[rng.random_range(0..marker.len())]);
                    }
                }
            }
            if let Ok(p) = decode(&b, &limits) {
                decoded += 1;
                let again = encode(&p);
                assert!(decode(&again, &limits).is_ok(), "{}", to_hex(&b));
            }
        }
        // The mutations hit both sides.
        assert!(decoded > 0);
    }
}
