//! The messages of the npm `@socket.io/redis-adapter` 8.3 (classic `createAdapter`), as pure
//! functions: what goes on each channel and how it is read back.
//!
//! - Broadcasts, on `P#N#` (all sockets, or two rooms or more) or `P#N#<room>#` (one room):
//!   the msgpack array `[uid, packet, opts]`, `packet` being `{type: 2, data: [event, ...args],
//!   nsp}` and `opts` `{rooms, except, flags}`.
//! - Requests on `P-request#N#`: JSON objects with a numeric `type`, except type 7 (a broadcast
//!   with acks), which is msgpack because its packet may hold binary data.
//! - Responses on `P-response#N#`: JSON, except type 9 (one client's ack), msgpack.
//!
//! Reading is liberal, as a Node peer is: any key order, any integer width, missing `flags`,
//! `except` or `rooms`, integer rooms. Writing produces only what a Node peer writes, since a
//! Node peer crashes on a message of another shape.

use std::collections::HashSet;

use crate::{
    adapter::{BroadcastOptions, Room},
    protocol::{
        json,
        msgpack::{self, Writer},
        value::Value,
    },
};

/// Request types, as the Node adapter numbers them.
pub(crate) mod kind {
    /// The rooms of every node.
    pub(crate) const ALL_ROOMS: u64 = 1;
    /// Selected sockets join rooms.
    pub(crate) const REMOTE_JOIN: u64 = 2;
    /// Selected sockets leave rooms.
    pub(crate) const REMOTE_LEAVE: u64 = 3;
    /// Selected sockets are disconnected.
    pub(crate) const REMOTE_DISCONNECT: u64 = 4;
    /// The selected sockets, described.
    pub(crate) const REMOTE_FETCH: u64 = 5;
    /// An event for the other servers.
    pub(crate) const SERVER_SIDE_EMIT: u64 = 6;
    /// A broadcast whose recipients acknowledge.
    pub(crate) const BROADCAST: u64 = 7;
    /// Reply to [`BROADCAST`]: how many sockets a node sent it to.
    pub(crate) const BROADCAST_CLIENT_COUNT: u64 = 8;
    /// Reply to [`BROADCAST`]: one socket's ack.
    pub(crate) const BROADCAST_ACK: u64 = 9;
}

/// The most buffers a message from the broker may hold.
const MAX_BUFFERS: usize = 1024;

/// Why a message from the broker was dropped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    /// Not msgpack.
    #[error("invalid msgpack: {0}")]
    Msgpack(String),
    /// Not JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// Valid data of the wrong shape.
    #[error("unexpected message shape: {0}")]
    Shape(&'static str),
}

/// Decodes a request or response: JSON when it starts with `{`, msgpack otherwise (as the Node
/// adapter tells them apart).
pub(crate) fn decode_any(data: &[u8]) -> Result<Value, WireError> {
    if data.first() == Some(&b'{') {
        let text = std::str::from_utf8(data).map_err(|e| WireError::Json(e.to_string()))?;
        json::parse(text).map_err(|e| WireError::Json(e.to_string()))
    } else {
        msgpack::decode_value(data, MAX_BUFFERS).map_err(|e| WireError::Msgpack(e.to_string()))
    }
}

/// A message's field as an integer (JavaScript numbers may arrive as floats).
pub(crate) fn int(v: &Value, key: &str) -> Option<u64> {
    let n = v.get(key)?.as_number()?;
    n.as_u64().or_else(|| {
        let f = n.as_f64()?;
        (f.fract() == 0.0 && (0.0..9.0e15).contains(&f)).then_some(f as u64)
    })
}

/// A message's field as a string.
pub(crate) fn string<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)?.as_str()
}

/// A room name: a string, or an integer as Node allows.
fn room(v: &Value) -> Option<Room> {
    if let Some(s) = v.as_str() {
        return Some(s.to_owned());
    }
    v.as_number().map(|n| n.to_string())
}

/// A list of rooms; absent is empty.
pub(crate) fn rooms(v: Option<&Value>) -> Result<Vec<Room>, WireError> {
    match v {
        None => Ok(Vec::new()),
        Some(v) if v.is_null() => Ok(Vec::new()),
        Some(v) => v
            .as_array()
            .ok_or(WireError::Shape("rooms must be an array"))?
            .iter()
            .map(|r| room(r).ok_or(WireError::Shape("a room must be a string or a number")))
            .collect(),
    }
}

/// `opts` as the Node adapter writes it: `{rooms, except, flags}`.
pub(crate) fn opts_value(opts: &BroadcastOptions, flags: Value) -> Value {
    let list = |set: &HashSet<Room>| {
        let mut v: Vec<&Room> = set.iter().collect();
        v.sort();
        v.into_iter()
            .map(|r| Value::from(r.as_str()))
            .collect::<Value>()
    };
    [
        ("rooms".to_owned(), list(&opts.rooms)),
        ("except".to_owned(), list(&opts.except)),
        ("flags".to_owned(), flags),
    ]
    .into_iter()
    .collect()
}

/// The flags of a broadcast (those a peer may use: `volatile`, `compress`).
pub(crate) fn flags_value(opts: &BroadcastOptions, timeout_ms: Option<u64>) -> Value {
    let mut flags = Vec::new();
    if opts.volatile {
        flags.push(("volatile".to_owned(), Value::from(true)));
    }
    if opts.compress {
        flags.push(("compress".to_owned(), Value::from(true)));
    }
    if let Some(ms) = timeout_ms {
        flags.push(("timeout".to_owned(), Value::from(ms)));
    }
    flags.into_iter().collect()
}

/// Reads `opts`: the selection, and the flags this node honours.
pub(crate) fn read_opts(v: Option<&Value>) -> Result<BroadcastOptions, WireError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(BroadcastOptions::default());
    };
    if !v.is_object() {
        return Err(WireError::Shape("opts must be a map"));
    }
    let flags = v.get("flags");
    let flag = |name| {
        flags
            .and_then(|f| f.get(name))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    Ok(BroadcastOptions {
        rooms: rooms(v.get("rooms"))?.into_iter().collect(),
        except: rooms(v.get("except"))?.into_iter().collect(),
        local: false,
        volatile: flag("volatile"),
        compress: flag("compress"),
    })
}

/// The ack timeout of a broadcast with acks (`opts.flags.timeout`, in milliseconds).
pub(crate) fn ack_timeout_ms(opts: Option<&Value>) -> Option<u64> {
    int(opts?.get("flags")?, "timeout")
}

/// A broadcast: `[uid, {type: 2, data: [event, ...args], nsp}, opts]`.
pub(crate) fn encode_broadcast(
    uid: &str,
    ns: &str,
    event: &str,
    args: &[Value],
    opts: &BroadcastOptions,
) -> Vec<u8> {
    let mut w = Writer::new();
    w.array(3)
        .str(uid)
        .event(ns, event, args)
        .value(&opts_value(opts, flags_value(opts, None)));
    w.finish()
}

/// The channel of a broadcast: `P#N#<room>#` for exactly one room, else `P#N#`.
pub(crate) fn broadcast_channel(prefix: &str, ns: &str, opts: &BroadcastOptions) -> String {
    match (opts.rooms.len(), opts.rooms.iter().next()) {
        (1, Some(room)) => format!("{prefix}#{ns}#{room}#"),
        _ => format!("{prefix}#{ns}#"),
    }
}

/// An event packet from another node: its event and arguments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub(crate) event: String,
    pub(crate) args: Vec<Value>,
}

/// Reads `{type, data: [event, ...args], nsp?}` (type 2 or 5).
pub(crate) fn read_event(packet: &Value, ns: &str) -> Result<Event, WireError> {
    if !packet.is_object() {
        return Err(WireError::Shape("the packet must be a map"));
    }
    if !matches!(int(packet, "type"), Some(2 | 5)) {
        return Err(WireError::Shape("only EVENT packets are broadcast"));
    }
    if let Some(nsp) = packet.get("nsp")
        && nsp.as_str() != Some(ns)
    {
        return Err(WireError::Shape("the packet is for another namespace"));
    }
    let data = packet
        .get("data")
        .and_then(Value::as_array)
        .ok_or(WireError::Shape("an EVENT's data must be an array"))?;
    let (first, rest) = data
        .split_first()
        .ok_or(WireError::Shape("an EVENT's data must start with its name"))?;
    let event = first
        .as_str()
        .ok_or(WireError::Shape("an EVENT's data must start with its name"))?;
    Ok(Event {
        event: event.to_owned(),
        args: rest.to_vec(),
    })
}

/// A broadcast from another node.
#[derive(Debug)]
pub(crate) struct Broadcast {
    pub(crate) uid: Option<String>,
    pub(crate) event: Event,
    pub(crate) opts: BroadcastOptions,
}

/// Reads `[uid, packet, opts]`.
pub(crate) fn decode_broadcast(data: &[u8], ns: &str) -> Result<Broadcast, WireError> {
    let v =
        msgpack::decode_value(data, MAX_BUFFERS).map_err(|e| WireError::Msgpack(e.to_string()))?;
    let items = v
        .as_array()
        .filter(|a| a.len() >= 2)
        .ok_or(WireError::Shape(
            "a broadcast is the array [uid, packet, opts]",
        ))?;
    let uid = items[0].as_str().map(str::to_owned);
    let event = read_event(&items[1], ns)?;
    let opts = read_opts(items.get(2))?;
    Ok(Broadcast { uid, event, opts })
}

/// `opts` of a request, `{rooms, except}`, as Node writes it (no flags).
fn request_opts(opts: &BroadcastOptions) -> Value {
    let list = |set: &HashSet<Room>| {
        let mut v: Vec<&Room> = set.iter().collect();
        v.sort();
        v.into_iter()
            .map(|r| Value::from(r.as_str()))
            .collect::<Value>()
    };
    [
        ("rooms".to_owned(), list(&opts.rooms)),
        ("except".to_owned(), list(&opts.except)),
    ]
    .into_iter()
    .collect()
}

fn rooms_list(rooms: &[Room]) -> Value {
    rooms.iter().map(|r| Value::from(r.as_str())).collect()
}

fn field(k: &str, v: impl Into<Value>) -> (&str, Value) {
    (k, v.into())
}

/// Type 1: `{uid, requestId, type}`.
pub(crate) fn all_rooms_request(uid: &str, request_id: &str) -> Vec<u8> {
    json_message(vec![
        field("uid", uid),
        field("requestId", request_id),
        field("type", kind::ALL_ROOMS),
    ])
}

/// Types 2 and 3: `{uid, type, opts, rooms}`.
pub(crate) fn rooms_request(
    ty: u64,
    uid: &str,
    opts: &BroadcastOptions,
    rooms: &[Room],
) -> Vec<u8> {
    json_message(vec![
        field("uid", uid),
        field("type", ty),
        field("opts", request_opts(opts)),
        field("rooms", rooms_list(rooms)),
    ])
}

/// Type 4: `{uid, type, opts, close}`.
pub(crate) fn disconnect_request(uid: &str, opts: &BroadcastOptions, close: bool) -> Vec<u8> {
    json_message(vec![
        field("uid", uid),
        field("type", kind::REMOTE_DISCONNECT),
        field("opts", request_opts(opts)),
        field("close", close),
    ])
}

/// Type 5: `{uid, requestId, type, opts}`.
pub(crate) fn fetch_request(uid: &str, request_id: &str, opts: &BroadcastOptions) -> Vec<u8> {
    json_message(vec![
        field("uid", uid),
        field("requestId", request_id),
        field("type", kind::REMOTE_FETCH),
        field("opts", request_opts(opts)),
    ])
}

/// Type 6: `{uid, requestId?, type, data: [event, ...args]}`.
pub(crate) fn server_side_request(
    uid: &str,
    request_id: Option<&str>,
    event: &str,
    args: &[Value],
) -> Vec<u8> {
    let data: Value = std::iter::once(Value::from(event))
        .chain(args.iter().cloned())
        .collect();
    let mut fields = vec![field("uid", uid)];
    if let Some(id) = request_id {
        fields.push(field("requestId", id));
    }
    fields.push(field("type", kind::SERVER_SIDE_EMIT));
    fields.push(field("data", data));
    json_message(fields)
}

/// Reply to types 0 and 5: `{requestId, sockets}`.
pub(crate) fn sockets_response(request_id: &str, sockets: Value) -> Vec<u8> {
    json_message(vec![
        field("requestId", request_id),
        field("sockets", sockets),
    ])
}

/// Reply to type 1: `{requestId, rooms}`.
pub(crate) fn rooms_response(request_id: &str, rooms: Value) -> Vec<u8> {
    json_message(vec![field("requestId", request_id), field("rooms", rooms)])
}

/// Reply to type 6: `{type: 6, requestId, data}`.
pub(crate) fn server_side_response(request_id: &str, data: Value) -> Vec<u8> {
    json_message(vec![
        field("type", kind::SERVER_SIDE_EMIT),
        field("requestId", request_id),
        field("data", data),
    ])
}

/// Type 8: `{type: 8, requestId, clientCount}`.
pub(crate) fn client_count_response(request_id: &str, count: usize) -> Vec<u8> {
    json_message(vec![
        field("type", kind::BROADCAST_CLIENT_COUNT),
        field("requestId", request_id),
        field("clientCount", u64::try_from(count).unwrap_or(u64::MAX)),
    ])
}

/// A JSON message from its fields.
fn json_message(fields: Vec<(&str, Value)>) -> Vec<u8> {
    let v: Value = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let mut out = String::new();
    json::write_json(&v, &mut out, None);
    out.into_bytes()
}

/// A broadcast with acks (type 7), msgpack:
/// `{uid, requestId, type: 7, packet: {type, data, nsp}, opts: {rooms, except, flags: {timeout}}}`.
pub(crate) fn encode_ack_request(
    uid: &str,
    request_id: &str,
    ns: &str,
    event: &str,
    args: &[Value],
    opts: &BroadcastOptions,
    timeout_ms: u64,
) -> Vec<u8> {
    let mut w = Writer::new();
    w.map(5)
        .str("uid")
        .str(uid)
        .str("requestId")
        .str(request_id)
        .str("type")
        .uint(kind::BROADCAST)
        .str("packet")
        .event(ns, event, args)
        .str("opts")
        .value(&opts_value(opts, flags_value(opts, Some(timeout_ms))));
    w.finish()
}

/// One socket's ack of a broadcast (type 9), msgpack: `{type: 9, requestId, packet}`, the
/// packet being the ack's first argument.
pub(crate) fn encode_ack_response(request_id: &str, first: &Value) -> Vec<u8> {
    let mut w = Writer::new();
    w.map(3)
        .str("type")
        .uint(kind::BROADCAST_ACK)
        .str("requestId")
        .str(request_id)
        .str("packet")
        .value(first);
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn a_broadcast_is_the_array_node_writes() {
        let opts = BroadcastOptions::default();
        let bytes = encode_broadcast("iJUhup", "/", "e", &[Value::from(1)], &opts);
        // [ "iJUhup", {type:2, data:["e",1], nsp:"/"}, {rooms:[], except:[], flags:{}} ]
        let expected = hex("93 a6 694a55687570
             83 a4 74797065 02 a4 64617461 92 a1 65 01 a3 6e7370 a1 2f
             83 a5 726f6f6d73 90 a6 657863657074 90 a5 666c616773 80");
        assert_eq!(bytes, expected);
        let back = decode_broadcast(&bytes, "/").unwrap();
        assert_eq!(back.uid.as_deref(), Some("iJUhup"));
        assert_eq!(back.event.event, "e");
        assert_eq!(back.event.args, [Value::from(1)]);
        assert_eq!(back.opts, opts);
    }

    #[test]
    fn reads_what_the_emitter_writes() {
        // ["emitter", {type:2, data:["e-hello","x",bin:dead], nsp:"/"},
        //  {rooms:[7], flags:{}, except:["b"]}]
        let bytes = hex("93 a7 656d6974746572
             83 a4 74797065 02 a4 64617461 93 a7 652d68656c6c6f a1 78 c4 02 dead a3 6e7370 a1 2f
             83 a5 726f6f6d73 91 07 a5 666c616773 80 a6 657863657074 91 a1 62");
        let b = decode_broadcast(&bytes, "/").unwrap();
        assert_eq!(b.uid.as_deref(), Some("emitter"));
        assert_eq!(
            b.event.args,
            [
                Value::from("x"),
                Value::from(Bytes::from_static(&[0xde, 0xad]))
            ]
        );
        assert!(b.opts.rooms.contains("7"));
        assert!(b.opts.except.contains("b"));
        // Another namespace's packet is refused.
        assert!(decode_broadcast(&bytes, "/chat").is_err());
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"\x81\xa1a\x01",
            b"\x93\xa1u\x01\x80",
            b"\x92\xa1u\x83\xa4type\x02\xa4data\x90\xa3nsp\xa1/",
            b"\x93\xa1u\x83\xa4type\x02\xa4data\x91\x01\xa3nsp\xa1/\x80",
            b"\xc1",
            b"\xdd\xff\xff\xff\xff",
        ] {
            assert!(decode_broadcast(bad, "/").is_err(), "{bad:?}");
        }
        assert!(decode_any(b"{nope").is_err());
        assert!(decode_any(b"\xc1").is_err());
        assert_eq!(
            int(&decode_any(br#"{"type":6.0}"#).unwrap(), "type"),
            Some(6)
        );
    }

    fn json(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    fn select(rooms: &[&str], except: &[&str]) -> BroadcastOptions {
        BroadcastOptions {
            rooms: rooms.iter().map(|r| r.to_string()).collect(),
            except: except.iter().map(|r| r.to_string()).collect(),
            ..Default::default()
        }
    }

    /// The messages as Node writes them (captured on the wire), byte for byte.
    #[test]
    fn requests_and_responses_are_those_node_writes() {
        let uid = "iJUhup";
        assert_eq!(
            json(all_rooms_request(uid, "MNydPP")),
            r#"{"uid":"iJUhup","requestId":"MNydPP","type":1}"#
        );
        assert_eq!(
            json(rooms_request(
                kind::REMOTE_JOIN,
                uid,
                &select(&["room1"], &[]),
                &["room3".into()]
            )),
            r#"{"uid":"iJUhup","type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room3"]}"#
        );
        assert_eq!(
            json(rooms_request(
                kind::REMOTE_LEAVE,
                uid,
                &select(&[], &["room2"]),
                &["room3".into()]
            )),
            r#"{"uid":"iJUhup","type":3,"opts":{"rooms":[],"except":["room2"]},"rooms":["room3"]}"#
        );
        assert_eq!(
            json(disconnect_request(uid, &select(&["room2"], &[]), true)),
            r#"{"uid":"iJUhup","type":4,"opts":{"rooms":["room2"],"except":[]},"close":true}"#
        );
        assert_eq!(
            json(fetch_request(uid, "Gqr7T6", &select(&["room1"], &[]))),
            r#"{"uid":"iJUhup","requestId":"Gqr7T6","type":5,"opts":{"rooms":["room1"],"except":[]}}"#
        );
        let args = [
            Value::from(1),
            Value::from("two"),
            Value::from(serde_json::json!({"three": 3})),
        ];
        assert_eq!(
            json(server_side_request(uid, None, "sse", &args)),
            r#"{"uid":"iJUhup","type":6,"data":["sse",1,"two",{"three":3}]}"#
        );
        assert_eq!(
            json(server_side_request(uid, Some("FbD4ZP"), "sse", &[])),
            r#"{"uid":"iJUhup","requestId":"FbD4ZP","type":6,"data":["sse"]}"#
        );
        assert_eq!(
            json(rooms_response(
                "MNydPP",
                Value::from(vec![Value::from("room1")])
            )),
            r#"{"requestId":"MNydPP","rooms":["room1"]}"#
        );
        assert_eq!(
            json(server_side_response("FbD4ZP", Value::from("B"))),
            r#"{"type":6,"requestId":"FbD4ZP","data":"B"}"#
        );
        assert_eq!(
            json(client_count_response("OACqeU", 2)),
            r#"{"type":8,"requestId":"OACqeU","clientCount":2}"#
        );
        // Type 7 and type 9, msgpack, as captured.
        let ack = encode_ack_request(
            uid,
            "OACqeU",
            "/",
            "ack-req",
            &[Value::from("x")],
            &BroadcastOptions::default(),
            1500,
        );
        assert_eq!(
            ack,
            hex(
                "85 a3 756964 a6 694a55687570 a9 726571756573744964 a6 4f4143716555
                 a4 74797065 07 a6 7061636b6574 83 a4 74797065 02 a4 64617461 92
                 a7 61636b2d726571 a1 78 a3 6e7370 a1 2f a4 6f707473 83 a5 726f6f6d73 90
                 a6 657863657074 90 a5 666c616773 81 a7 74696d656f7574 cd 05dc"
            )
        );
        assert_eq!(
            encode_ack_response("ArYyRu", &Value::from("B1-ack")),
            hex("83 a4 74797065 09 a9 726571756573744964 a6 417259795275
                 a6 7061636b6574 a6 42312d61636b")
        );
    }

    /// `io.emit("hello", "world", 1, 2.5, -3, {a: true, b: null})` as Node writes it.
    #[test]
    fn a_broadcast_with_numbers_is_byte_for_byte_nodes() {
        let args = [
            Value::from("world"),
            Value::from(1),
            Value::from(2.5),
            Value::from(-3),
            Value::from(serde_json::json!({"a": true, "b": null})),
        ];
        let bytes = encode_broadcast("iJUhup", "/", "hello", &args, &BroadcastOptions::default());
        let expected = hex("93 a6 694a55687570 83 a4 74797065 02 a4 64617461 96
             a5 68656c6c6f a5 776f726c64 01 cb 4004000000000000 fd 82 a1 61 c3 a1 62 c0
             a3 6e7370 a1 2f 83 a5 726f6f6d73 90 a6 657863657074 90 a5 666c616773 80");
        assert_eq!(bytes.len(), 80);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn one_room_has_its_own_channel() {
        let mut opts = BroadcastOptions::default();
        assert_eq!(broadcast_channel("socket.io", "/", &opts), "socket.io#/#");
        opts.rooms.insert("r".into());
        assert_eq!(broadcast_channel("socket.io", "/", &opts), "socket.io#/#r#");
        opts.rooms.insert("s".into());
        assert_eq!(broadcast_channel("socket.io", "/", &opts), "socket.io#/#");
    }

    #[test]
    fn a_timestamp_reads_as_an_iso_date() {
        // fixext 8, type -1: 123 ms after 1700000000 s.
        let nanos: u64 = 123_000_000;
        let both = (nanos << 34) | 1_700_000_000;
        let mut data = vec![0xd7, 0xff];
        data.extend_from_slice(&both.to_be_bytes());
        let v = decode_any(&data).unwrap();
        assert_eq!(v.as_str(), Some("2023-11-14T22:13:20.123Z"));
        // fixext 4: seconds only.
        let mut data = vec![0xd6, 0xff];
        data.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        assert_eq!(
            decode_any(&data).unwrap().as_str(),
            Some("2023-11-14T22:13:20.000Z")
        );
        // ext 8 of 12 bytes: 32 bits of nanoseconds, 64 of signed seconds (before 1970 here).
        let mut data = vec![0xc7, 12, 0xff];
        data.extend_from_slice(&5_000_000u32.to_be_bytes());
        data.extend_from_slice(&(-1i64).to_be_bytes());
        assert_eq!(
            decode_any(&data).unwrap().as_str(),
            Some("1969-12-31T23:59:59.005Z")
        );
        // Out of JavaScript's range: null, as an invalid Date's toJSON.
        let mut data = vec![0xc7, 12, 0xff, 0, 0, 0, 0];
        data.extend_from_slice(&i64::MAX.to_be_bytes());
        assert!(decode_any(&data).unwrap().is_null());
    }
}
