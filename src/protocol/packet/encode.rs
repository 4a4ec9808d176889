//! Encoding a packet: the header, then the JSON payload written straight from the values, each
//! buffer a numbered placeholder.

use bytes::Bytes;

use super::{Kind, Packet, PacketData};
use crate::protocol::{
    json::{json_len_hint, write_json, write_json_str},
    value::Value,
};

/// An encoded packet: the text message, then its attachments in order, one binary message
/// each.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// The text packet.
    pub text: String,
    /// The buffers its placeholders name, in order.
    pub attachments: Vec<Bytes>,
}

/// Encodes a packet.
///
/// In EVENT and ACK arguments every byte buffer becomes a placeholder, numbered in order of
/// appearance (depth-first, arrays in order, objects in insertion order), and the packet is
/// written as BINARY_EVENT / BINARY_ACK with its attachment count. CONNECT and CONNECT_ERROR
/// payloads cannot be binary: a buffer there is written as an array of numbers. The ack id is
/// written on EVENT and ACK packets only.
///
/// This is the fast path already: the packet is only borrowed, JSON is written straight into
/// one `String` sized up front, and attachments are reference-counted clones of the buffers.
pub fn encode(packet: &Packet) -> Encoded {
    encode_prefixed(packet, "")
}

/// Encodes a packet as the payload of an Engine.IO message: the text starts with `4`, ready to
/// be sent as it is (no copy to put the prefix in front).
pub(crate) fn encode_message(packet: &Packet) -> Encoded {
    encode_prefixed(packet, "4")
}

fn encode_prefixed(packet: &Packet, prefix: &str) -> Encoded {
    let ns = packet.ns.as_str();
    match &packet.data {
        PacketData::Event { event, args } => encode_array(prefix, ns, Some(event), args, packet.id),
        PacketData::Ack(args) => encode_array(prefix, ns, None, args, packet.id),
        PacketData::Connect(payload) => encode_plain(prefix, Kind::Connect, ns, payload.as_ref()),
        PacketData::Disconnect => encode_plain(prefix, Kind::Disconnect, ns, None),
        PacketData::ConnectError(payload) => {
            encode_plain(prefix, Kind::ConnectError, ns, Some(payload))
        }
    }
}

/// Encodes an EVENT (or BINARY_EVENT) packet: `[event, ...args]`, as [`encode`] would.
#[cfg(test)]
pub(crate) fn encode_event(ns: &str, event: &str, args: &[Value], id: Option<u64>) -> Encoded {
    encode_array("", ns, Some(event), args, id)
}

/// How many byte buffers are inside.
fn count_bytes(v: &Value) -> usize {
    match v {
        Value::Bytes(_) => 1,
        Value::Array(items) => items.iter().map(count_bytes).sum(),
        Value::Object(fields) => fields.iter().map(|(_, i)| count_bytes(i)).sum(),
        _ => 0,
    }
}

/// Room for the header: type, count and `-`, namespace and `,`, ack id.
fn header_len(ns: &str) -> usize {
    1 + 21 + ns.len() + 1 + 20
}

fn write_header(out: &mut String, kind: Kind, attachments: usize, ns: &str, id: Option<u64>) {
    use std::fmt::Write as _;
    out.push(kind.as_char());
    if attachments > 0 {
        let _ = write!(out, "{attachments}-");
    }
    if !ns.is_empty() && ns != "/" {
        out.push_str(ns);
        out.push(',');
    }
    if let Some(id) = id.filter(|_| kind.takes_id()) {
        let _ = write!(out, "{id}");
    }
}

/// EVENT (with `event`) or ACK (without) and their binary forms.
fn encode_array(
    prefix: &str,
    ns: &str,
    event: Option<&str>,
    args: &[Value],
    id: Option<u64>,
) -> Encoded {
    let count: usize = args.iter().map(count_bytes).sum();
    let kind = match (event.is_some(), count > 0) {
        (true, false) => Kind::Event,
        (true, true) => Kind::BinaryEvent,
        (false, false) => Kind::Ack,
        (false, true) => Kind::BinaryAck,
    };
    let json_len = args
        .iter()
        .fold(2, |acc: usize, a| {
            acc.saturating_add(json_len_hint(a)).saturating_add(1)
        })
        .saturating_add(event.map_or(0, |e| e.len().saturating_add(3)));
    let mut text = String::with_capacity((prefix.len() + header_len(ns)).saturating_add(json_len));
    text.push_str(prefix);
    write_header(&mut text, kind, count, ns, id);
    let mut attachments = Vec::with_capacity(count);
    text.push('[');
    if let Some(event) = event {
        write_json_str(event, &mut text);
    }
    for (i, arg) in args.iter().enumerate() {
        if i > 0 || event.is_some() {
            text.push(',');
        }
        write_json(arg, &mut text, Some(&mut attachments));
    }
    text.push(']');
    Encoded { text, attachments }
}

/// CONNECT, DISCONNECT and CONNECT_ERROR: never binary, no ack id.
fn encode_plain(prefix: &str, kind: Kind, ns: &str, payload: Option<&Value>) -> Encoded {
    let json_len = payload.map_or(0, json_len_hint);
    let mut text = String::with_capacity((prefix.len() + header_len(ns)).saturating_add(json_len));
    text.push_str(prefix);
    write_header(&mut text, kind, 0, ns, None);
    if let Some(payload) = payload {
        write_json(payload, &mut text, None);
    }
    Encoded {
        text,
        attachments: Vec::new(),
    }
}
