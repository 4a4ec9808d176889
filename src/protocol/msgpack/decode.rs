//! Decoding: a msgpack message into a packet, as a Node server would read it, never trusting a
//! length before the bytes are there.

use bytes::Bytes;
use rmp::Marker;

use super::{MAX_DATE_MS, MAX_DEPTH, MsgpackError};
use crate::protocol::{
    packet::{DecodeLimits, Packet, PacketData},
    value::Value,
};

/// Decodes one msgpack value (a message other than a packet: the Redis adapter's envelopes),
/// as notepack decodes it, with the same bounds as packets: nesting by [`MAX_DEPTH`], buffers by
/// `max_buffers`. JavaScript's `undefined` at the top is `null`.
#[cfg(feature = "redis")]
pub(crate) fn decode_value(data: &[u8], max_buffers: usize) -> Result<Value, MsgpackError> {
    let mut rd = Reader {
        data,
        pos: 0,
        buffers: 0,
        max_buffers,
    };
    let v = rd.item(MAX_DEPTH)?.or_null();
    if rd.left() > 0 {
        return Err(MsgpackError::TrailingBytes(rd.left()));
    }
    Ok(v)
}

/// A decoded msgpack value: a [`Value`], or JavaScript's `undefined`.
enum Item {
    Value(Value),
    Undefined,
}

impl Item {
    /// `undefined` in an array: `null`, as `JSON.stringify` writes it.
    fn or_null(self) -> Value {
        match self {
            Item::Value(v) => v,
            Item::Undefined => Value::Null,
        }
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    buffers: usize,
    max_buffers: usize,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// The next `n` bytes, checked against what is there before anything is allocated.
    fn take(&mut self, n: usize) -> Result<&'a [u8], MsgpackError> {
        let data = self.data;
        let end = self.pos.checked_add(n);
        match end.and_then(|end| data.get(self.pos..end)) {
            Some(bytes) => {
                self.pos += n;
                Ok(bytes)
            }
            None => Err(MsgpackError::Truncated {
                at: self.pos,
                needed: n,
                left: self.left(),
            }),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], MsgpackError> {
        let bytes = self.take(N)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, MsgpackError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    fn u16(&mut self) -> Result<usize, MsgpackError> {
        Ok(usize::from(u16::from_be_bytes(self.array()?)))
    }

    fn u32(&mut self) -> Result<usize, MsgpackError> {
        // A length beyond usize cannot be satisfied by the data either.
        Ok(usize::try_from(u32::from_be_bytes(self.array()?)).unwrap_or(usize::MAX))
    }

    fn i8(&mut self) -> Result<i8, MsgpackError> {
        Ok(i8::from_be_bytes(self.array()?))
    }

    fn string(&mut self, len: usize) -> Result<String, MsgpackError> {
        let at = self.pos;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| MsgpackError::InvalidUtf8(at))
    }

    fn bytes(&mut self, len: usize) -> Result<Value, MsgpackError> {
        let bytes = self.take(len)?;
        self.buffers += 1;
        if self.buffers > self.max_buffers {
            return Err(MsgpackError::TooManyBuffers {
                max: self.max_buffers,
            });
        }
        Ok(Value::Bytes(Bytes::copy_from_slice(bytes)))
    }

    /// An ext value of `len` bytes, as notepack decodes it.
    fn ext(&mut self, len: usize, fixed: bool) -> Result<Item, MsgpackError> {
        let ty = self.i8()?;
        match (ty, fixed, len) {
            (0, true, 1) => {
                self.take(1)?;
                Ok(Item::Undefined)
            }
            (0, true, 8) => {
                let ms = i64::from_be_bytes(self.array()?);
                Ok(Item::Value(iso_date(ms).map_or(Value::Null, Value::from)))
            }
            (0, false, _) => Ok(Item::Value(self.bytes(len)?)),
            // The msgpack timestamp (notepack.io 3 writes a `Date` so): 32 bits of seconds; 30
            // bits of nanoseconds and 34 of seconds; or 32 bits of nanoseconds and 64 of
            // signed seconds.
            (-1, true, 4) => {
                let secs = i64::from(u32::from_be_bytes(self.array()?));
                Ok(Item::Value(date_value(secs, 0)))
            }
            (-1, true, 8) => {
                let both = u64::from_be_bytes(self.array()?);
                let nanos = both >> 34;
                let secs = both & ((1 << 34) - 1);
                // 34 bits: the cast is exact.
                Ok(Item::Value(date_value(secs as i64, nanos)))
            }
            (-1, false, 12) => {
                let nanos = u64::from(u32::from_be_bytes(self.array()?));
                let secs = i64::from_be_bytes(self.array()?);
                Ok(Item::Value(date_value(secs, nanos)))
            }
            _ => {
                let data = self.bytes(len)?;
                Ok(Item::Value(Value::Array(vec![
                    Value::Number(i64::from(ty).into()),
                    data,
                ])))
            }
        }
    }

    fn float(f: f64) -> Value {
        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
    }

    /// Reads one value; `depth` is how many more arrays or maps may be opened.
    fn item(&mut self, depth: usize) -> Result<Item, MsgpackError> {
        let at = self.pos;
        let marker = Marker::from_u8(self.u8()?);
        let v = match marker {
            Marker::FixPos(n) => Value::Number(n.into()),
            Marker::FixNeg(n) => Value::Number(n.into()),
            Marker::Null => Value::Null,
            Marker::True => Value::Bool(true),
            Marker::False => Value::Bool(false),
            Marker::Reserved => return Err(MsgpackError::ReservedMarker(at)),
            Marker::U8 => Value::Number(self.u8()?.into()),
            Marker::U16 => Value::Number(u16::from_be_bytes(self.array()?).into()),
            Marker::U32 => Value::Number(u32::from_be_bytes(self.array()?).into()),
            Marker::U64 => Value::Number(u64::from_be_bytes(self.array()?).into()),
            Marker::I8 => Value::Number(self.i8()?.into()),
            Marker::I16 => Value::Number(i16::from_be_bytes(self.array()?).into()),
            Marker::I32 => Value::Number(i32::from_be_bytes(self.array()?).into()),
            Marker::I64 => Value::Number(i64::from_be_bytes(self.array()?).into()),
            Marker::F32 => Self::float(f64::from(f32::from_be_bytes(self.array()?))),
            Marker::F64 => Self::float(f64::from_be_bytes(self.array()?)),
            Marker::FixStr(n) => Value::from(self.string(usize::from(n))?),
            Marker::Str8 => {
                let n = self.u8()?;
                Value::from(self.string(usize::from(n))?)
            }
            Marker::Str16 => {
                let n = self.u16()?;
                Value::from(self.string(n)?)
            }
            Marker::Str32 => {
                let n = self.u32()?;
                Value::from(self.string(n)?)
            }
            Marker::Bin8 => {
                let n = self.u8()?;
                self.bytes(usize::from(n))?
            }
            Marker::Bin16 => {
                let n = self.u16()?;
                self.bytes(n)?
            }
            Marker::Bin32 => {
                let n = self.u32()?;
                self.bytes(n)?
            }
            Marker::FixArray(n) => self.array_items(usize::from(n), depth)?,
            Marker::Array16 => {
                let n = self.u16()?;
                self.array_items(n, depth)?
            }
            Marker::Array32 => {
                let n = self.u32()?;
                self.array_items(n, depth)?
            }
            Marker::FixMap(n) => self.map_fields(usize::from(n), depth)?,
            Marker::Map16 => {
                let n = self.u16()?;
                self.map_fields(n, depth)?
            }
            Marker::Map32 => {
                let n = self.u32()?;
                self.map_fields(n, depth)?
            }
            Marker::FixExt1 => return self.ext(1, true),
            Marker::FixExt2 => return self.ext(2, true),
            Marker::FixExt4 => return self.ext(4, true),
            Marker::FixExt8 => return self.ext(8, true),
            Marker::FixExt16 => return self.ext(16, true),
            Marker::Ext8 => {
                let n = self.u8()?;
                return self.ext(usize::from(n), false);
            }
            Marker::Ext16 => {
                let n = self.u16()?;
                return self.ext(n, false);
            }
            Marker::Ext32 => {
                let n = self.u32()?;
                return self.ext(n, false);
            }
        };
        Ok(Item::Value(v))
    }

    fn array_items(&mut self, n: usize, depth: usize) -> Result<Value, MsgpackError> {
        let depth = depth.checked_sub(1).ok_or(MsgpackError::TooDeep)?;
        // Each item takes at least one byte: the data that is there bounds the allocation.
        let mut items = Vec::with_capacity(n.min(self.left()));
        for _ in 0..n {
            items.push(self.item(depth)?.or_null());
        }
        Ok(Value::Array(items))
    }

    fn key(&mut self) -> Result<String, MsgpackError> {
        let at = self.pos;
        match self.item(0) {
            Ok(Item::Value(Value::String(k))) => Ok(k.into_string()),
            Ok(_) | Err(MsgpackError::TooDeep) => Err(MsgpackError::NonStringKey(at)),
            Err(e) => Err(e),
        }
    }

    fn map_fields(&mut self, n: usize, depth: usize) -> Result<Value, MsgpackError> {
        let depth = depth.checked_sub(1).ok_or(MsgpackError::TooDeep)?;
        // Each field takes at least two bytes.
        let mut fields = Vec::with_capacity(n.min(self.left() / 2));
        for _ in 0..n {
            let key = self.key()?;
            match self.item(depth)? {
                Item::Value(v) => fields.push((key, v)),
                // Dropped, as `JSON.stringify` drops it.
                Item::Undefined => {}
            }
        }
        Ok(Value::Object(fields))
    }
}

/// `Date.prototype.toISOString` of `ms` since the epoch; `None` outside JavaScript's range
/// (an invalid `Date`, which `toJSON` writes as `null`).
/// A timestamp as JavaScript's `Date.toJSON` writes it: the ISO string, `null` out of range.
fn date_value(secs: i64, nanos: u64) -> Value {
    let ms = secs
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(i64::try_from(nanos / 1_000_000).ok()?));
    ms.and_then(iso_date).map_or(Value::Null, Value::from)
}

pub(super) fn iso_date(ms: i64) -> Option<String> {
    if !(-MAX_DATE_MS..=MAX_DATE_MS).contains(&ms) {
        return None;
    }
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Civil date from days since 1970-01-01, in 400-year eras of 146097 days starting on
    // March 1st (so that the leap day ends a year).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", -year)
    } else {
        format!("+{year:06}")
    };
    Some(format!(
        "{year}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z"
    ))
}

/// A JavaScript integer (`Number.isInteger`) that is not negative: an integer, or a float
/// without a fraction.
fn non_negative_integer(v: &Value) -> Option<u64> {
    let n = v.as_number()?;
    if let Some(u) = n.as_u64() {
        return Some(u);
    }
    let f = n.as_f64()?;
    // In range and integral: the cast is exact.
    (f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f)).then_some(f as u64)
}

/// Decodes a packet from one binary message.
///
/// Checks what `socket.io-msgpack-parser` checks (`type` 0..=4, `nsp` a string, `data` of the
/// type's shape, `id` an integer) and what the JSON decoder checks beyond that: `nsp` starts
/// with `/`, an EVENT's data starts with a string, an `id` only on EVENT and ACK (and always on
/// ACK) and never negative. Fields other than these four (the official client sends `options`)
/// are ignored; a duplicated field counts with its last value, as in JavaScript.
pub(crate) fn decode(data: &[u8], limits: &DecodeLimits) -> Result<Packet, MsgpackError> {
    let mut rd = Reader {
        data,
        pos: 0,
        buffers: 0,
        max_buffers: limits.max_attachments,
    };
    let n = match rd.data.first().copied().map(Marker::from_u8) {
        Some(Marker::FixMap(n)) => {
            rd.pos = 1;
            usize::from(n)
        }
        Some(Marker::Map16) => {
            rd.pos = 1;
            rd.u16()?
        }
        Some(Marker::Map32) => {
            rd.pos = 1;
            rd.u32()?
        }
        _ => return Err(MsgpackError::NotAMap),
    };
    let (mut kind, mut nsp, mut payload, mut id) = (None, None, None, None);
    for _ in 0..n {
        let key = rd.key()?;
        let item = rd.item(MAX_DEPTH)?;
        let value = match item {
            Item::Value(v) => Some(v),
            Item::Undefined => None,
        };
        match key.as_str() {
            "type" => kind = value,
            "nsp" => nsp = value,
            "data" => payload = value,
            "id" => id = value,
            _ => {}
        }
    }
    if rd.left() > 0 {
        return Err(MsgpackError::TrailingBytes(rd.left()));
    }

    let kind = kind
        .as_ref()
        .and_then(non_negative_integer)
        .filter(|k| *k <= 4)
        .ok_or(MsgpackError::InvalidType)?;
    let ns = match nsp {
        Some(Value::String(s)) if s.starts_with('/') => s,
        _ => return Err(MsgpackError::InvalidNamespace),
    };
    let id = match id {
        None => None,
        Some(v) => Some(non_negative_integer(&v).ok_or(MsgpackError::InvalidId)?),
    };
    let name = ["CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR"]
        .get(usize::try_from(kind).unwrap_or(usize::MAX))
        .copied()
        .unwrap_or("unknown");
    let shape = |expected| MsgpackError::Shape {
        packet: name,
        expected,
    };
    if id.is_some() && !matches!(kind, 2 | 3) {
        return Err(MsgpackError::UnexpectedId(name));
    }
    let data = match (kind, payload) {
        (0, None) => PacketData::Connect(None),
        (0, Some(v @ Value::Object(_))) => PacketData::Connect(Some(v)),
        (0, Some(_)) => return Err(shape("a map or absent")),
        (1, None) => PacketData::Disconnect,
        (1, Some(_)) => return Err(shape("absent")),
        (2, Some(Value::Array(items))) => {
            let mut items = items.into_iter();
            let Some(Value::String(event)) = items.next() else {
                return Err(shape("an array starting with the event name"));
            };
            PacketData::Event {
                event: event.into_string(),
                args: items.collect(),
            }
        }
        (2, _) => return Err(shape("an array starting with the event name")),
        (3, Some(Value::Array(items))) => {
            if id.is_none() {
                return Err(MsgpackError::MissingId);
            }
            PacketData::Ack(items)
        }
        (3, _) => return Err(shape("an array")),
        (_, Some(v @ (Value::Object(_) | Value::String(_)))) => PacketData::ConnectError(v),
        (_, _) => return Err(shape("a map or a string")),
    };
    Ok(Packet { ns, data, id })
}
