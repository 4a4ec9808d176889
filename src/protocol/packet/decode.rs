//! Decoding a client's text packet: the header, the JSON payload, its shape, and the
//! placeholders of its binary attachments.

use bytes::Bytes;

use super::{DecodeLimits, Kind, Packet, PacketData, ParseError, RESERVED_EVENTS};
use crate::protocol::{
    Str,
    json::{self, JsonError},
    value::{Text, Value},
};

/// A decoded text packet: complete, or waiting for attachments.
#[derive(Debug)]
pub enum Decoded {
    /// The packet needs nothing more.
    Complete(Packet),
    /// A binary packet: feed it the next binary messages.
    Partial(PartialPacket),
}

/// A binary packet waiting for its attachments. Its placeholders were checked when the text
/// packet was decoded: they name each declared attachment exactly once.
#[derive(Debug)]
pub struct PartialPacket {
    /// `None` once complete.
    packet: Option<Packet>,
    expected: usize,
    attachments: Vec<Bytes>,
}

impl PartialPacket {
    /// Adds the next attachment; returns the packet, placeholders replaced by the buffers, once
    /// all have arrived. An attachment after that is an error.
    pub fn push(&mut self, data: Bytes) -> Result<Option<Packet>, ParseError> {
        if self.packet.is_none() || self.attachments.len() >= self.expected {
            return Err(ParseError::UnexpectedAttachment);
        }
        self.attachments.push(data);
        if self.attachments.len() < self.expected {
            return Ok(None);
        }
        let Some(mut packet) = self.packet.take() else {
            return Err(ParseError::UnexpectedAttachment);
        };
        let attachments = std::mem::take(&mut self.attachments);
        if let PacketData::Event { args, .. } | PacketData::Ack(args) = &mut packet.data {
            for arg in args {
                fill(arg, &attachments)?;
            }
        }
        Ok(Some(packet))
    }
}

/// The attachment index if `v` is exactly a placeholder: an object with exactly the two keys
/// `_placeholder` (`true`) and `num` (a non-negative integer), in either order.
fn placeholder_num(v: &Value) -> Option<u64> {
    let Value::Object(fields) = v else {
        return None;
    };
    let [(k1, v1), (k2, v2)] = fields.as_slice() else {
        return None;
    };
    let (flag, num) = match (k1.as_str(), k2.as_str()) {
        ("_placeholder", "num") => (v1, v2),
        ("num", "_placeholder") => (v2, v1),
        _ => return None,
    };
    match (flag, num) {
        (Value::Bool(true), Value::Number(n)) => n.as_u64(),
        _ => None,
    }
}

/// Collects the `num` of every placeholder, depth-first.
fn collect_placeholders(v: &Value, out: &mut Vec<u64>) {
    if let Some(n) = placeholder_num(v) {
        out.push(n);
        return;
    }
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect_placeholders(i, out)),
        Value::Object(fields) => fields
            .iter()
            .for_each(|(_, i)| collect_placeholders(i, out)),
        _ => {}
    }
}

/// Checks that the placeholders name each of `count` attachments exactly once. Allocates only
/// in proportion to the placeholders found, never to the declared count.
fn check_placeholders(args: &[Value], count: usize) -> Result<(), ParseError> {
    let mut nums = Vec::new();
    for arg in args {
        collect_placeholders(arg, &mut nums);
    }
    if let Some(&num) = nums
        .iter()
        .find(|&&n| usize::try_from(n).map_or(true, |n| n >= count))
    {
        return Err(ParseError::PlaceholderOutOfRange { num, count });
    }
    nums.sort_unstable();
    if let Some(pair) = nums.windows(2).find(|w| w.first() == w.get(1)) {
        return Err(ParseError::DuplicatePlaceholder(
            pair.first().copied().unwrap_or_default(),
        ));
    }
    // Distinct and all below `count`: any gap is a missing attachment.
    let missing = nums
        .iter()
        .zip(0u64..)
        .find(|(n, i)| *n != i)
        .map_or(nums.len(), |(_, i)| {
            usize::try_from(i).unwrap_or(usize::MAX)
        });
    if missing < count {
        return Err(ParseError::MissingPlaceholder(missing));
    }
    Ok(())
}

/// Replaces every placeholder with its attachment.
fn fill(v: &mut Value, attachments: &[Bytes]) -> Result<(), ParseError> {
    if let Some(num) = placeholder_num(v) {
        let data = usize::try_from(num)
            .ok()
            .and_then(|i| attachments.get(i))
            .ok_or(ParseError::PlaceholderOutOfRange {
                num,
                count: attachments.len(),
            })?;
        *v = Value::Bytes(data.clone());
        return Ok(());
    }
    match v {
        Value::Array(items) => items.iter_mut().try_for_each(|i| fill(i, attachments)),
        Value::Object(fields) => fields
            .iter_mut()
            .try_for_each(|(_, i)| fill(i, attachments)),
        _ => Ok(()),
    }
}

/// Splits the leading ASCII digits off `s`.
fn split_digits(s: &str) -> (&str, &str) {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    // `n` ASCII bytes: a char boundary.
    s.split_at_checked(n).unwrap_or(("", s))
}

/// Parses the JSON payload with our own parser ([`json::parse`]), which accepts what
/// serde_json accepts, builds the same [`Value`] and applies serde_json's recursion limit.
/// With `src` (the message `s` is the end of), long strings share its buffer.
fn parse_json(s: &str, src: Option<&Str>) -> Result<Value, ParseError> {
    let shared = src.and_then(|src| src.get(src.len() - s.len()..src.len()));
    match &shared {
        Some(shared) => json::parse_shared(shared),
        None => json::parse(s),
    }
    .map_err(|e| match e {
        JsonError::TrailingData { .. } => ParseError::TrailingData,
        JsonError::Invalid { .. } => ParseError::Json(e.to_string()),
    })
}

/// Decodes a text packet from a client.
///
/// Beyond the grammar this checks what a server needs: each type's payload shape, ack ids only
/// on EVENT/ACK (and always on ACK), no reserved event names, attachments within `limits`,
/// and placeholders naming each attachment exactly once.
///
/// For compatibility with older clients (the JavaScript parser accepts it, old Python clients
/// send it) a namespace may end the packet without a `,` on CONNECT and DISCONNECT, e.g.
/// `1/admin`; on other types that is [`ParseError::UnterminatedNamespace`].
pub fn decode(text: &str, limits: &DecodeLimits) -> Result<Decoded, ParseError> {
    decode_in(text, None, limits)
}

/// Decodes a text packet from a client, as [`decode`] does; the message's long string
/// arguments that need no unescaping share its buffer instead of being copied (and are known
/// to need no escaping when they are written again: an echo or a relay copies them once).
pub fn decode_shared(msg: &Str, limits: &DecodeLimits) -> Result<Decoded, ParseError> {
    decode_in(msg, Some(msg), limits)
}

fn decode_in(text: &str, src: Option<&Str>, limits: &DecodeLimits) -> Result<Decoded, ParseError> {
    let mut chars = text.chars();
    let first = chars.next().ok_or(ParseError::Empty)?;
    let kind = Kind::from_char(first).ok_or(ParseError::UnknownType(first))?;
    let mut rest = chars.as_str();

    // Attachment count.
    let (digits, after) = split_digits(rest);
    let attachments = if kind.is_binary() {
        let after = match after.strip_prefix('-') {
            Some(after) if !digits.is_empty() => after,
            _ => return Err(ParseError::BadAttachmentCount),
        };
        let count: usize = digits.parse().map_err(|_| ParseError::BadAttachmentCount)?;
        if count == 0 {
            return Err(ParseError::NoAttachments);
        }
        if count > limits.max_attachments {
            return Err(ParseError::TooManyAttachments {
                count,
                max: limits.max_attachments,
            });
        }
        rest = after;
        count
    } else {
        if !digits.is_empty() && after.starts_with('-') {
            return Err(ParseError::AttachmentsOnNonBinary(kind.name()));
        }
        0
    };

    // Namespace.
    let ns = if rest.starts_with('/') {
        match rest.split_once(',') {
            Some((ns, after)) => {
                rest = after;
                ns
            }
            None if matches!(kind, Kind::Connect | Kind::Disconnect) => std::mem::take(&mut rest),
            None => return Err(ParseError::UnterminatedNamespace),
        }
    } else {
        "/"
    };

    // Ack id.
    let (digits, after) = split_digits(rest);
    let id = if digits.is_empty() {
        None
    } else {
        if !kind.takes_id() {
            return Err(ParseError::UnexpectedAckId(kind.name()));
        }
        rest = after;
        Some(digits.parse::<u64>().map_err(|_| ParseError::BadAckId)?)
    };
    if matches!(kind, Kind::Ack | Kind::BinaryAck) && id.is_none() {
        return Err(ParseError::MissingAckId(kind.name()));
    }

    // Payload.
    if kind == Kind::Disconnect && !rest.is_empty() {
        return Err(ParseError::Shape {
            packet: kind.name(),
            expected: "empty",
        });
    }
    let payload = if rest.is_empty() {
        None
    } else {
        Some(parse_json(rest, src)?)
    };
    let shape = |expected| ParseError::Shape {
        packet: kind.name(),
        expected,
    };
    let data = match kind {
        Kind::Connect => match payload {
            None => PacketData::Connect(None),
            Some(v @ Value::Object(_)) => PacketData::Connect(Some(v)),
            Some(_) => return Err(shape("an object or empty")),
        },
        Kind::Disconnect => PacketData::Disconnect,
        Kind::Event | Kind::BinaryEvent => {
            let expected = "an array starting with the event name";
            let Some(Value::Array(mut items)) = payload else {
                return Err(shape(expected));
            };
            if !matches!(items.first(), Some(Value::String(_))) {
                return Err(shape(expected));
            }
            // The arguments keep the array's allocation (shifted by one), not a new one.
            let Value::String(event) = items.remove(0) else {
                return Err(shape(expected));
            };
            if RESERVED_EVENTS.contains(&event.as_str()) {
                return Err(ParseError::ReservedEvent(event.into_string()));
            }
            PacketData::Event {
                event: event.into_string(),
                args: items,
            }
        }
        Kind::Ack | Kind::BinaryAck => match payload {
            Some(Value::Array(items)) => PacketData::Ack(items),
            _ => return Err(shape("an array")),
        },
        Kind::ConnectError => match payload {
            Some(v @ (Value::Object(_) | Value::String(_))) => PacketData::ConnectError(v),
            _ => return Err(shape("an object")),
        },
    };
    let packet = Packet {
        // The main namespace, by far the most common, without an allocation.
        ns: if ns == "/" {
            Text::from_static("/")
        } else {
            Text::from(ns)
        },
        data,
        id,
    };

    if !kind.is_binary() {
        return Ok(Decoded::Complete(packet));
    }
    if let PacketData::Event { args, .. } | PacketData::Ack(args) = &packet.data {
        check_placeholders(args, attachments)?;
    }
    Ok(Decoded::Partial(PartialPacket {
        packet: Some(packet),
        expected: attachments,
        // Bounded: each attachment has a placeholder in the text.
        attachments: Vec::with_capacity(attachments),
    }))
}
