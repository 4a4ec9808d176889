//! [`Value`]: a dynamic value that can hold binary, the payload model of events.
//!
//! User data goes through serde: [`to_value`] runs a `Serializer` that keeps byte buffers
//! (`serialize_bytes`) as [`Value::Bytes`], and [`from_value`] runs a `Deserializer` that hands
//! them back with `visit_byte_buf`, so `bytes::Bytes`, `serde_bytes` types and `Vec<u8>` fields
//! travel as binary attachments at any depth.
//!
//! This module also holds the JSON writer the packet encoder uses ([`write_json`]), so that JSON
//! text is produced straight from a `Value` into one `String`.

use std::fmt::{self, Write as _};

use bytes::Bytes;
use serde::{
    Deserialize, Serialize,
    de::{
        self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess,
        SeqAccess, Unexpected, VariantAccess, Visitor,
    },
    ser::{self, SerializeMap, SerializeSeq},
};

/// The struct name serde_json uses to pass a `RawValue` through a serializer.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// A JSON-like value in which byte buffers are first-class.
///
/// Event arguments, acknowledgement arguments and auth payloads are `Value`s. Build one from any
/// serializable type with [`to_value`], read one back with [`from_value`], or convert from a
/// `serde_json::Value` with [`From`]. Wherever a [`Value::Bytes`] appears, at any depth, the
/// packet is sent as a binary packet and the buffer travels as a separate binary attachment.
///
/// Objects keep their fields in insertion order. When parsed from JSON, a duplicated key is kept
/// twice (in order); lookups with [`Value::get`] see the first occurrence.
///
/// Serializing a `Value` (its `Serialize` impl) writes a buffer with `serialize_bytes`, which
/// JSON serializers such as serde_json render as an array of numbers.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, exactly as JSON wrote it (an unsigned, signed or floating-point number).
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// A byte buffer: a binary attachment on the wire.
    Bytes(Bytes),
    /// An array.
    Array(Vec<Value>),
    /// An object, its fields in insertion order.
    Object(Vec<(String, Value)>),
}

/// Why a value could not be converted to or from a Rust type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(String);

impl ser::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

impl de::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

impl Value {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<&serde_json::Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The number as a `u64`, if this is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number().and_then(serde_json::Number::as_u64)
    }

    /// The number as an `i64`, if this is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(serde_json::Number::as_i64)
    }

    /// The number as an `f64`, if this is a number (integers are converted, possibly lossily).
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().and_then(serde_json::Number::as_f64)
    }

    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The items, mutably, if this is an array.
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The fields in order, if this is an object.
    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The bytes, if this is a buffer.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The field `key` (its first occurrence), if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this is a string.
    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }

    /// Whether this is an array.
    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }

    /// Whether this is a byte buffer.
    pub fn is_bytes(&self) -> bool {
        matches!(self, Value::Bytes(_))
    }

    /// Whether a byte buffer is anywhere inside (this value included).
    pub fn has_bytes(&self) -> bool {
        match self {
            Value::Bytes(_) => true,
            Value::Array(a) => a.iter().any(Value::has_bytes),
            Value::Object(o) => o.iter().any(|(_, v)| v.has_bytes()),
            _ => false,
        }
    }

    /// Converts to a `serde_json::Value`.
    ///
    /// JSON has no binary type: a byte buffer becomes an array of numbers (one per byte), as
    /// serde_json itself writes bytes. A duplicated object key keeps its last value.
    pub fn into_json(self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Number(n) => serde_json::Value::Number(n),
            Value::String(s) => serde_json::Value::String(s),
            Value::Bytes(b) => serde_json::Value::Array(b.iter().map(|&x| x.into()).collect()),
            Value::Array(a) => {
                serde_json::Value::Array(a.into_iter().map(Value::into_json).collect())
            }
            Value::Object(o) => {
                serde_json::Value::Object(o.into_iter().map(|(k, v)| (k, v.into_json())).collect())
            }
        }
    }

    /// What this is, for error messages.
    fn unexpected(&self) -> Unexpected<'_> {
        match self {
            Value::Null => Unexpected::Unit,
            Value::Bool(b) => Unexpected::Bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => Unexpected::Unsigned(u),
                (_, Some(i), _) => Unexpected::Signed(i),
                (_, _, Some(f)) => Unexpected::Float(f),
                _ => Unexpected::Other("number"),
            },
            Value::String(s) => Unexpected::Str(s),
            Value::Bytes(b) => Unexpected::Bytes(b),
            Value::Array(_) => Unexpected::Seq,
            Value::Object(_) => Unexpected::Map,
        }
    }
}

/// Writes the value as JSON text, exactly as serde_json would write the same data (compact,
/// same string escaping, same number formatting).
///
/// A byte buffer is handed to `attachments` when given: it is pushed there and written as the
/// placeholder `{"_placeholder":true,"num":N}`, N being its index in `attachments`. Without
/// `attachments` it is written as an array of numbers.
pub(crate) fn write_json(v: &Value, out: &mut String, mut attachments: Option<&mut Vec<Bytes>>) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        // `Display` of a Number is the text serde_json writes for it (itoa / shortest float).
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_json_str(s, out),
        Value::Bytes(b) => match attachments {
            Some(list) => {
                let _ = write!(out, r#"{{"_placeholder":true,"num":{}}}"#, list.len());
                list.push(b.clone());
            }
            None => {
                out.push('[');
                for (i, byte) in b.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{byte}");
                }
                out.push(']');
            }
        },
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out, attachments.as_deref_mut());
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (k, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_str(k, out);
                out.push(':');
                write_json(item, out, attachments.as_deref_mut());
            }
            out.push('}');
        }
    }
}

/// Writes a JSON string literal with serde_json's escaping: `"` and `\` are escaped, the
/// control characters U+0000..=U+001F use `\b \t \n \f \r` or `\u00xx` (lowercase hex), and
/// everything else (including `/`, DEL and non-ASCII) is written as it is.
pub(crate) fn write_json_str(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = next_escape(bytes, 0);
    while let Some(&b) = bytes.get(i) {
        // `i` is the index of an ASCII byte, hence a char boundary.
        if let Some(run) = s.get(start..i) {
            out.push_str(run);
        }
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            _ => "",
        };
        if short.is_empty() {
            out.push_str("\\u00");
            out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
        } else {
            out.push_str(short);
        }
        start = i + 1;
        i = next_escape(bytes, start);
    }
    if let Some(run) = s.get(start..) {
        out.push_str(run);
    }
    out.push('"');
}

/// Whether a JSON string must escape this byte: `"`, `\` and the control characters.
fn must_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// The index of the first byte at or after `from` that a JSON string must escape (`len` when
/// none). The encoder's hot loop, and the JSON parser's ([`super::json`]): the same bytes end a
/// run of plain text in a string literal.
///
/// One `u64` word first, tested with SWAR (short strings, keys and names, end in it), then
/// 64-byte blocks tested by a loop the compiler vectorizes (a 4 KB string encodes in 243 ns
/// instead of 292 with four SWAR words per step, and decodes in 370 instead of 426), then one
/// word per step, then byte by byte. Always inlined: with a call, the encoder's many short
/// strings (object keys) were 10 % slower than with the old one-word loop inlined.
#[inline(always)]
pub(crate) fn next_escape(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    'words: {
        // One word first: short strings (keys, names) end in it.
        match bytes.get(i..i + 8) {
            Some(chunk) if escape_mask(word(chunk)) == 0 => i += 8,
            _ => break 'words,
        }
        while let Some(block) = bytes.get(i..i + 64) {
            if !block_is_plain(block) {
                break;
            }
            i += 64;
        }
        while let Some(chunk) = bytes.get(i..i + 8) {
            if escape_mask(word(chunk)) != 0 {
                break;
            }
            i += 8;
        }
    }
    while bytes.get(i).is_some_and(|&b| !must_escape(b)) {
        i += 1;
    }
    i
}

/// Whether no byte of `block` must be escaped. A loop without an early exit, which the compiler
/// turns into vector instructions (16 bytes per step on the x86-64 baseline).
#[inline(always)]
fn block_is_plain(block: &[u8]) -> bool {
    block
        .iter()
        .fold(0u8, |hit, &b| hit | u8::from(must_escape(b)))
        == 0
}

/// Eight bytes as a little-endian word (a zero word, which has bytes to escape, if `chunk` is
/// not eight bytes long).
fn word(chunk: &[u8]) -> u64 {
    u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default())
}

/// Nonzero exactly when some byte of `w` must be escaped: is below 0x20, or equal to `"` or
/// `\`. (Exact as a yes/no test; which bits are set is not, past the first hit.)
fn escape_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    ((w.wrapping_sub(ONES * 0x20) & !w)
        | (quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash))
        & HIGH
}

/// A cheap estimate of the length of the JSON text of `v` (exact for most data, short for
/// strings that need escaping), used to size the output buffer once.
pub(crate) fn json_len_hint(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 8,
        Value::String(s) => s.len().saturating_add(2),
        Value::Bytes(_) => 30,
        Value::Array(items) => items.iter().fold(2, |acc: usize, i| {
            acc.saturating_add(json_len_hint(i)).saturating_add(1)
        }),
        Value::Object(fields) => fields.iter().fold(2, |acc: usize, (k, i)| {
            acc.saturating_add(k.len())
                .saturating_add(4)
                .saturating_add(json_len_hint(i))
        }),
    }
}

/// The value as compact JSON; byte buffers are written as arrays of numbers.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(json_len_hint(self));
        write_json(self, &mut out, None);
        f.write_str(&out)
    }
}

// ---------------------------------------------------------------------------------------------
// Conversions

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl From<Bytes> for Value {
    fn from(b: Bytes) -> Self {
        Value::Bytes(b)
    }
}

impl From<Vec<u8>> for Value {
    /// A byte buffer (not an array of numbers).
    fn from(b: Vec<u8>) -> Self {
        Value::Bytes(b.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::Number(n.into())
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::Number(n.into())
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(n.into())
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Number(n.into())
    }
}

impl From<f64> for Value {
    /// A number; like JSON, a NaN or infinite float becomes `null`.
    fn from(n: f64) -> Self {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::Array(items)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` is `null`.
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl FromIterator<Value> for Value {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Self {
        Value::Array(iter.into_iter().collect())
    }
}

impl FromIterator<(String, Value)> for Value {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Value::Object(iter.into_iter().collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Serialize / Deserialize for Value itself

impl Serialize for Value {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => n.serialize(s),
            Value::String(v) => s.serialize_str(v),
            Value::Bytes(b) => s.serialize_bytes(b),
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Object(o) => {
                let mut map = s.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// Pre-allocation for containers of untrusted size: never more than this many slots up front.
const MAX_PREALLOC: usize = 1024;

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(i), _) => Ok(Value::Number(i.into())),
            (_, Ok(u)) => Ok(Value::Number(u.into())),
            _ => Err(E::custom("integer out of range")),
        }
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        u64::try_from(v)
            .map(|u| Value::Number(u.into()))
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(Bytes::copy_from_slice(v)))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(v.into()))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_PREALLOC));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(MAX_PREALLOC));
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            out.push((k, v));
        }
        Ok(Value::Object(out))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// Converts any serializable value; byte buffers (`serialize_bytes`) become [`Value::Bytes`].
///
/// Structs and maps become objects (fields in order), sequences, tuples and tuple structs
/// arrays, `None` and `()` `null`, enums are externally tagged as serde_json writes them, and
/// map keys that are numbers or booleans are written as strings (other keys are an error).
/// A `serde_json::value::RawValue` is parsed into the value it holds.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ValueError> {
    value.serialize(ValueSerializer)
}

/// Deserializes a value into `T`; [`Value::Bytes`] feed byte-buffer types (`bytes::Bytes`,
/// `serde_bytes` types) and plain `Vec<u8>` alike. Integer and boolean map keys are parsed from
/// their string form.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ValueError> {
    T::deserialize(value)
}

// ---------------------------------------------------------------------------------------------
// Deserializer

/// Deserializes an array's items; [`visit_array`] checks all were consumed.
struct SeqAccessor(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for SeqAccessor {
    type Error = ValueError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        self.0.next().map(|v| seed.deserialize(v)).transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

fn visit_array<'de, V: Visitor<'de>>(items: Vec<Value>, v: V) -> Result<V::Value, ValueError> {
    let len = items.len();
    let mut seq = SeqAccessor(items.into_iter());
    let out = v.visit_seq(&mut seq)?;
    match seq.0.len() {
        0 => Ok(out),
        left => Err(de::Error::invalid_length(
            len,
            &format!("an array of {} items", len - left).as_str(),
        )),
    }
}

/// Deserializes the bytes of a buffer one `u8` at a time (a plain `Vec<u8>` or `[u8; N]`).
struct ByteSeq(bytes::buf::IntoIter<Bytes>);

impl<'de> SeqAccess<'de> for ByteSeq {
    type Error = ValueError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        self.0
            .next()
            .map(|b| seed.deserialize(IntoDeserializer::<ValueError>::into_deserializer(b)))
            .transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.get_ref().len())
    }
}

fn visit_byte_seq<'de, V: Visitor<'de>>(b: Bytes, v: V) -> Result<V::Value, ValueError> {
    let len = b.len();
    let mut seq = ByteSeq(b.into_iter());
    let out = v.visit_seq(&mut seq)?;
    match seq.0.get_ref().len() {
        0 => Ok(out),
        left => Err(de::Error::invalid_length(
            len,
            &format!("{} bytes", len - left).as_str(),
        )),
    }
}

/// Deserializes an object's fields; keys go through [`KeyDeserializer`].
struct MapAccessor {
    fields: std::vec::IntoIter<(String, Value)>,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for MapAccessor {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        match self.fields.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(KeyDeserializer(k)).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, ValueError> {
        match self.value.take() {
            Some(v) => seed.deserialize(v),
            None => Err(de::Error::custom(
                "a map value was requested before its key",
            )),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.fields.len())
    }
}

fn visit_object<'de, V: Visitor<'de>>(
    fields: Vec<(String, Value)>,
    v: V,
) -> Result<V::Value, ValueError> {
    let len = fields.len();
    let mut map = MapAccessor {
        fields: fields.into_iter(),
        value: None,
    };
    let out = v.visit_map(&mut map)?;
    match map.fields.len() {
        0 => Ok(out),
        left => Err(de::Error::invalid_length(
            len,
            &format!("an object of {} fields", len - left).as_str(),
        )),
    }
}

/// A map key: a string that integer, float and boolean keys are parsed from, as serde_json
/// does, so `HashMap<u32, _>` round-trips through [`to_value`] and [`from_value`].
struct KeyDeserializer(String);

macro_rules! parse_key {
    ($($method:ident => $visit:ident: $ty:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ValueError> {
            match self.0.parse::<$ty>() {
                Ok(n) => v.$visit(n),
                // Let the visitor report the string it did not expect.
                Err(_) => v.visit_string(self.0),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for KeyDeserializer {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ValueError> {
        v.visit_string(self.0)
    }

    parse_key! {
        deserialize_bool => visit_bool: bool,
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_i128 => visit_i128: i128,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_u128 => visit_u128: u128,
        deserialize_f32 => visit_f32: f32,
        deserialize_f64 => visit_f64: f64,
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ValueError> {
        v.visit_some(self)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, ValueError> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, ValueError> {
        v.visit_enum(EnumAccessor {
            variant: self.0,
            value: None,
        })
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

/// An enum: a variant name and, unless it is a unit variant written as a string, its content.
struct EnumAccessor {
    variant: String,
    value: Option<Value>,
}

impl<'de> EnumAccess<'de> for EnumAccessor {
    type Error = ValueError;
    type Variant = VariantAccessor;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, VariantAccessor), ValueError> {
        let variant = seed.deserialize(KeyDeserializer(self.variant))?;
        Ok((variant, VariantAccessor(self.value)))
    }
}

struct VariantAccessor(Option<Value>);

impl<'de> VariantAccess<'de> for VariantAccessor {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(de::Error::invalid_type(
                other.unexpected(),
                &"a unit variant",
            )),
        }
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, ValueError> {
        match self.0 {
            Some(v) => seed.deserialize(v),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"a newtype variant",
            )),
        }
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Some(Value::Array(items)) => visit_array(items, v),
            Some(other) => Err(de::Error::invalid_type(
                other.unexpected(),
                &"a tuple variant",
            )),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"a tuple variant",
            )),
        }
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Some(Value::Object(fields)) => visit_object(fields, v),
            Some(Value::Array(items)) => visit_array(items, v),
            Some(other) => Err(de::Error::invalid_type(
                other.unexpected(),
                &"a struct variant",
            )),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"a struct variant",
            )),
        }
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => v.visit_unit(),
            Value::Bool(b) => v.visit_bool(b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    v.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    v.visit_i64(i)
                } else {
                    v.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => v.visit_string(s),
            Value::Bytes(b) => v.visit_byte_buf(b.into()),
            Value::Array(a) => visit_array(a, v),
            Value::Object(o) => visit_object(o, v),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => v.visit_none(),
            other => v.visit_some(other),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ValueError> {
        match self {
            // A plain `Vec<u8>` reads a buffer as a sequence of bytes.
            Value::Bytes(b) => visit_byte_seq(b, v),
            other => other.deserialize_any(v),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, ValueError> {
        // `[u8; N]` reads a buffer as a tuple of bytes.
        self.deserialize_seq(v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, ValueError> {
        if name == RAW_VALUE_TOKEN {
            // serde_json's `RawValue` asks for a one-field map holding the JSON text.
            let mut json = String::with_capacity(json_len_hint(&self));
            write_json(&self, &mut json, None);
            let fields = vec![(RAW_VALUE_TOKEN.to_owned(), Value::String(json))];
            return visit_object(fields, v);
        }
        v.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, ValueError> {
        match self {
            Value::String(variant) => v.visit_enum(EnumAccessor {
                variant,
                value: None,
            }),
            Value::Object(fields) => {
                let mut fields = fields.into_iter();
                match (fields.next(), fields.next()) {
                    (Some((variant, value)), None) => v.visit_enum(EnumAccessor {
                        variant,
                        value: Some(value),
                    }),
                    _ => Err(de::Error::invalid_value(
                        Unexpected::Map,
                        &"an object with exactly one key",
                    )),
                }
            }
            other => Err(de::Error::invalid_type(
                other.unexpected(),
                &"an enum: a string or an object with one key",
            )),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ValueError> {
        drop(self);
        v.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple_struct map struct identifier
    }
}

impl<'de> IntoDeserializer<'de, ValueError> for Value {
    type Deserializer = Value;
    fn into_deserializer(self) -> Value {
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Serializer

struct ValueSerializer;

fn num(n: impl Into<serde_json::Number>) -> Result<Value, ValueError> {
    Ok(Value::Number(n.into()))
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ValueError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = VariantSeq;
    type SerializeMap = MapBuilder;
    type SerializeStruct = StructBuilder;
    type SerializeStructVariant = VariantMap;

    fn serialize_bool(self, v: bool) -> Result<Value, ValueError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, ValueError> {
        num(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Value, ValueError> {
        num(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Value, ValueError> {
        num(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Value, ValueError> {
        num(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Value, ValueError> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(i), _) => num(i),
            (_, Ok(u)) => num(u),
            _ => Err(ser::Error::custom("integer out of range")),
        }
    }
    fn serialize_u8(self, v: u8) -> Result<Value, ValueError> {
        num(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Value, ValueError> {
        num(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Value, ValueError> {
        num(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Value, ValueError> {
        num(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Value, ValueError> {
        u64::try_from(v)
            .map_err(|_| ser::Error::custom("integer out of range"))
            .and_then(num)
    }
    fn serialize_f32(self, v: f32) -> Result<Value, ValueError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, ValueError> {
        // Like JSON: a non-finite float is null.
        Ok(Value::from(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, ValueError> {
        Ok(Value::Bytes(Bytes::copy_from_slice(v)))
    }
    fn serialize_none(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, ValueError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, ValueError> {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Value, ValueError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, ValueError> {
        Ok(Value::Object(vec![(variant.to_owned(), to_value(v)?)]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, ValueError> {
        Ok(SeqBuilder(Vec::with_capacity(
            len.unwrap_or(0).min(MAX_PREALLOC),
        )))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, ValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqBuilder, ValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantSeq, ValueError> {
        Ok(VariantSeq(
            variant,
            Vec::with_capacity(len.min(MAX_PREALLOC)),
        ))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, ValueError> {
        Ok(MapBuilder {
            fields: Vec::with_capacity(len.unwrap_or(0).min(MAX_PREALLOC)),
            key: None,
        })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<StructBuilder, ValueError> {
        if name == RAW_VALUE_TOKEN {
            return Ok(StructBuilder::Raw(None));
        }
        Ok(StructBuilder::Fields(Vec::with_capacity(
            len.min(MAX_PREALLOC),
        )))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantMap, ValueError> {
        Ok(VariantMap(
            variant,
            Vec::with_capacity(len.min(MAX_PREALLOC)),
        ))
    }
}

struct SeqBuilder(Vec<Value>);
struct VariantSeq(&'static str, Vec<Value>);
struct MapBuilder {
    fields: Vec<(String, Value)>,
    key: Option<String>,
}
enum StructBuilder {
    Fields(Vec<(String, Value)>),
    /// A serde_json `RawValue`: its JSON text, parsed at the end.
    Raw(Option<Value>),
}
struct VariantMap(&'static str, Vec<(String, Value)>);

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.0.push(to_value(v)?);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Array(self.0))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, ValueError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, ValueError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for VariantSeq {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.1.push(to_value(v)?);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Object(vec![(
            self.0.to_owned(),
            Value::Array(self.1),
        )]))
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), ValueError> {
        self.key = Some(map_key(to_value(k)?)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| <ValueError as ser::Error>::custom("map value without a key"))?;
        self.fields.push((key, to_value(v)?));
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Object(self.fields))
    }
}

impl ser::SerializeStruct for StructBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        match self {
            StructBuilder::Fields(fields) => fields.push((key.to_owned(), to_value(v)?)),
            StructBuilder::Raw(raw) => {
                let Value::String(json) = to_value(v)? else {
                    return Err(ser::Error::custom("a RawValue that is not JSON text"));
                };
                let parsed = serde_json::from_str::<Value>(&json).map_err(ser::Error::custom)?;
                *raw = Some(parsed);
            }
        }
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        match self {
            StructBuilder::Fields(fields) => Ok(Value::Object(fields)),
            StructBuilder::Raw(raw) => {
                raw.ok_or_else(|| ser::Error::custom("a RawValue without JSON text"))
            }
        }
    }
}

impl ser::SerializeStructVariant for VariantMap {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        self.1.push((key.to_owned(), to_value(v)?));
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Object(vec![(
            self.0.to_owned(),
            Value::Object(self.1),
        )]))
    }
}

/// A map key as serde_json writes it: strings as they are, numbers and booleans as text.
fn map_key(k: Value) -> Result<String, ValueError> {
    match k {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(ser::Error::custom(format_args!(
            "a map key must be a string, a number or a boolean, not {}",
            other.unexpected()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde_json::json;

    use super::*;

    /// The fast string writer agrees with serde_json for every ASCII byte at every offset of the
    /// scan's eight-byte words and 64-byte blocks, next to multi-byte characters.
    #[test]
    fn strings_escape_like_serde_json() {
        for b in 0u8..0x80 {
            for pos in (0..20).chain(24..=80) {
                for tail in ["", "é", "☃x", "abcdefghijklmnop"] {
                    let mut s = "a".repeat(pos);
                    s.push(char::from(b));
                    s.push_str(tail);
                    let mut out = String::new();
                    write_json_str(&s, &mut out);
                    assert_eq!(out, serde_json::to_string(&s).unwrap(), "{s:?}");
                }
            }
        }
        let mut out = String::new();
        write_json_str("", &mut out);
        assert_eq!(out, "\"\"");
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum E {
        Unit,
        New(i32),
        Tup(i32, String),
        Struct { a: bool },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Unit;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Newtype(String);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct TupleStruct(u8, Option<String>);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct S {
        name: String,
        n: Option<u8>,
        some: Option<i64>,
        data: Bytes,
        list: Vec<Bytes>,
        e: Vec<E>,
        t: (i64, f64),
        ts: TupleStruct,
        nt: Newtype,
        unit: Unit,
        nested: Vec<Vec<Option<Bytes>>>,
    }

    fn sample() -> S {
        S {
            name: "é ☃ \u{1F600}".into(),
            n: None,
            some: Some(-3),
            data: Bytes::from_static(&[1, 2, 3]),
            list: vec![Bytes::new(), Bytes::from_static(b"x")],
            e: vec![
                E::Unit,
                E::New(-1),
                E::Tup(2, "t".into()),
                E::Struct { a: true },
            ],
            t: (-5, 2.5),
            ts: TupleStruct(7, None),
            nt: Newtype("n".into()),
            unit: Unit,
            nested: vec![vec![None, Some(Bytes::from_static(b"deep"))]],
        }
    }

    fn j(v: serde_json::Value) -> Value {
        Value::from(v)
    }

    #[test]
    fn round_trips_through_value() {
        let s = sample();
        let v = to_value(&s).unwrap();
        assert!(v.has_bytes());
        assert_eq!(
            v.get("data"),
            Some(&Value::Bytes(Bytes::from_static(&[1, 2, 3])))
        );
        assert_eq!(v.get("n"), Some(&Value::Null));
        assert_eq!(v.get("unit"), Some(&Value::Null));
        assert_eq!(v.get("nt"), Some(&Value::from("n")));
        assert_eq!(v.get("ts"), Some(&j(json!([7, null]))));
        assert_eq!(from_value::<S>(v).unwrap(), s);
    }

    #[test]
    fn fields_keep_their_order() {
        let v = to_value(&sample()).unwrap();
        let keys: Vec<&str> = v
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "name", "n", "some", "data", "list", "e", "t", "ts", "nt", "unit", "nested"
            ]
        );
    }

    #[test]
    fn enums_are_externally_tagged_like_serde_json() {
        for e in [
            E::Unit,
            E::New(-1),
            E::Tup(2, "t".into()),
            E::Struct { a: true },
        ] {
            let v = to_value(&e).unwrap();
            assert_eq!(v.clone().into_json(), serde_json::to_value(&e).unwrap());
            assert_eq!(from_value::<E>(v).unwrap(), e);
        }
        // Unit variant written as a one-key object with null.
        assert_eq!(from_value::<E>(j(json!({"Unit": null}))).unwrap(), E::Unit);
        // Struct variant from an array of its fields.
        assert_eq!(
            from_value::<E>(j(json!({"Struct": [false]}))).unwrap(),
            E::Struct { a: false }
        );
        for bad in [
            json!({"a": 1, "b": 2}),
            json!({}),
            json!(1),
            json!(null),
            json!(["Unit"]),
            json!("Nope"),
            json!("New"),
            json!({"Unit": 1}),
            json!({"New": "x"}),
            json!({"Tup": 1}),
            json!({"Tup": [1]}),
            json!({"Struct": 1}),
        ] {
            assert!(from_value::<E>(j(bad.clone())).is_err(), "{bad}");
        }
        assert!(from_value::<E>(Value::Bytes(Bytes::new())).is_err());
    }

    #[test]
    fn bytes_deserialize_into_every_buffer_type() {
        let v = Value::Bytes(Bytes::from_static(&[7, 8]));
        assert_eq!(from_value::<Vec<u8>>(v.clone()).unwrap(), vec![7, 8]);
        assert_eq!(from_value::<[u8; 2]>(v.clone()).unwrap(), [7, 8]);
        assert!(from_value::<[u8; 3]>(v.clone()).is_err());
        assert!(from_value::<[u8; 1]>(v.clone()).is_err());
        assert_eq!(
            from_value::<Bytes>(v.clone()).unwrap(),
            Bytes::from_static(&[7, 8])
        );
        assert_eq!(
            from_value::<bytes::BytesMut>(v.clone()).unwrap(),
            &[7u8, 8][..]
        );
        assert_eq!(from_value::<Value>(v.clone()).unwrap(), v);
        // A buffer is not a string, a number or an object.
        assert!(from_value::<u8>(v.clone()).is_err());
        assert!(from_value::<HashMap<String, u8>>(v).is_err());
        // And an array of numbers still reads as bytes.
        assert_eq!(
            from_value::<Bytes>(j(json!([1, 2]))).unwrap(),
            Bytes::from_static(&[1, 2])
        );
        assert!(from_value::<Vec<u8>>(j(json!([1, 256]))).is_err());
    }

    /// A stand-in for `serde_bytes`: a field written with `serialize_bytes` and read with
    /// `deserialize_byte_buf`, as `#[serde(with = "serde_bytes")]` does.
    mod as_bytes {
        use serde::{Deserializer, Serializer, de};

        pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }

        pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            struct V;
            impl de::Visitor<'_> for V {
                type Value = Vec<u8>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                    Ok(v)
                }
            }
            d.deserialize_byte_buf(V)
        }
    }

    #[test]
    fn serialize_bytes_fields_become_binary() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Upload {
            #[serde(with = "as_bytes")]
            file: Vec<u8>,
            plain: Vec<u8>,
        }
        let u = Upload {
            file: vec![0, 255],
            plain: vec![1, 2],
        };
        let v = to_value(&u).unwrap();
        assert_eq!(v.get("file"), Some(&Value::Bytes(vec![0, 255].into())));
        // Without `serialize_bytes` a Vec<u8> is a plain array of numbers.
        assert_eq!(v.get("plain"), Some(&j(json!([1, 2]))));
        assert_eq!(from_value::<Upload>(v).unwrap(), u);
    }

    #[test]
    fn maps_and_keys() {
        let mut m = HashMap::new();
        m.insert(1u32, "a".to_owned());
        m.insert(20, "b".to_owned());
        let v = to_value(&m).unwrap();
        assert_eq!(v.get("1"), Some(&Value::from("a")));
        assert_eq!(from_value::<HashMap<u32, String>>(v.clone()).unwrap(), m);
        let back: HashMap<String, String> = from_value(v).unwrap();
        assert_eq!(back["20"], "b");

        let signed: BTreeMap<i64, bool> = [(-1, true), (i64::MAX, false)].into();
        let v = to_value(&signed).unwrap();
        assert_eq!(from_value::<BTreeMap<i64, bool>>(v).unwrap(), signed);

        let bools: BTreeMap<bool, u8> = [(true, 1), (false, 0)].into();
        let v = to_value(&bools).unwrap();
        assert_eq!(v.get("true"), Some(&Value::from(1u64)));
        assert_eq!(from_value::<BTreeMap<bool, u8>>(v).unwrap(), bools);

        let chars: BTreeMap<char, E> = [('x', E::Unit)].into();
        let v = to_value(&chars).unwrap();
        assert_eq!(from_value::<BTreeMap<char, E>>(v).unwrap(), chars);

        // Enum keys (unit variants) are strings.
        let enums: BTreeMap<Key, u8> = [(Key::A, 1)].into();
        let v = to_value(&enums).unwrap();
        assert_eq!(v.get("A"), Some(&Value::from(1u64)));
        assert_eq!(from_value::<BTreeMap<Key, u8>>(v).unwrap(), enums);

        // Keys that do not parse are errors, not panics.
        assert!(from_value::<HashMap<u8, u8>>(j(json!({"300": 1}))).is_err());
        assert!(from_value::<HashMap<bool, u8>>(j(json!({"yes": 1}))).is_err());

        let mut bad = HashMap::new();
        bad.insert(vec![1], 1);
        assert!(to_value(&bad).is_err());
        let mut bad = BTreeMap::new();
        bad.insert((), 1);
        assert!(to_value(&bad).is_err());
    }

    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
    enum Key {
        A,
    }

    #[test]
    fn json_conversions() {
        let j0 = json!({"a": [1, -2, 3.5, null, true, "s"], "b": {}, "c": u64::MAX});
        let v: Value = serde_json::from_value(j0.clone()).unwrap();
        assert_eq!(v.clone().into_json(), j0);
        assert_eq!(Value::from(j0.clone()), v);
        // Serialize for Value writes the same JSON as serde_json.
        assert_eq!(serde_json::to_value(&v).unwrap(), j0);
        assert_eq!(
            Value::Bytes(Bytes::from_static(&[1, 2])).into_json(),
            json!([1, 2])
        );
        assert_eq!(
            serde_json::to_string(&Value::Bytes(Bytes::from_static(&[1, 2]))).unwrap(),
            "[1,2]"
        );
        // A serde_json::Value goes through to_value / from_value too.
        assert_eq!(to_value(&j0).unwrap(), v);
        assert_eq!(from_value::<serde_json::Value>(v).unwrap(), j0);
    }

    #[test]
    fn raw_values_pass_through() {
        let raw = serde_json::value::RawValue::from_string(r#"{"x":[1,"y"]}"#.into()).unwrap();
        let v = to_value(&raw).unwrap();
        assert_eq!(v, j(json!({"x": [1, "y"]})));
        let back: Box<serde_json::value::RawValue> = from_value(v).unwrap();
        assert_eq!(back.get(), r#"{"x":[1,"y"]}"#);
    }

    #[test]
    fn conversion_errors() {
        assert!(from_value::<(i64, i64)>(j(json!([1]))).is_err());
        assert!(from_value::<(i64,)>(j(json!([1, 2]))).is_err());
        assert!(from_value::<String>(j(json!(1))).is_err());
        assert!(from_value::<u8>(j(json!(256))).is_err());
        assert!(from_value::<u64>(j(json!(-1))).is_err());
        assert!(from_value::<i64>(j(json!(1.5))).is_err());
        assert!(from_value::<bool>(Value::Null).is_err());
        assert!(from_value::<S>(j(json!({"name": "x"}))).is_err());
        assert!(from_value::<S>(j(json!([]))).is_err());
        assert!(from_value::<Unit>(j(json!(1))).is_err());
        let e = from_value::<String>(j(json!(1))).unwrap_err();
        assert!(e.to_string().contains("invalid type"), "{e}");
        assert!(to_value(&u128::MAX).is_err());
        assert!(to_value(&i128::MIN).is_err());
        assert_eq!(
            to_value(&(u64::MAX as u128)).unwrap(),
            Value::from(u64::MAX)
        );
        assert_eq!(to_value(&-1i128).unwrap(), Value::from(-1i64));
    }

    #[test]
    fn options_and_unit() {
        assert_eq!(from_value::<Option<u8>>(Value::Null).unwrap(), None);
        assert_eq!(from_value::<Option<u8>>(j(json!(3))).unwrap(), Some(3));
        assert_eq!(
            from_value::<Option<Bytes>>(Value::Bytes(Bytes::from_static(b"o"))).unwrap(),
            Some(Bytes::from_static(b"o"))
        );
        from_value::<()>(Value::Null).unwrap();
        assert_eq!(from_value::<Unit>(Value::Null).unwrap(), Unit);
        assert_eq!(to_value(&None::<u8>).unwrap(), Value::Null);
        assert_eq!(to_value(&Some(Some(1u8))).unwrap(), Value::from(1u64));
    }

    #[test]
    fn unknown_fields_are_ignored() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Small {
            a: u8,
        }
        let v = j(json!({"z": {"deep": [1, 2, {"x": null}]}, "a": 1, "b": "ignored"}));
        assert_eq!(from_value::<Small>(v).unwrap(), Small { a: 1 });
        let v = Value::Object(vec![
            ("blob".into(), Value::Bytes(Bytes::from_static(b"z"))),
            ("a".into(), Value::from(2u64)),
        ]);
        assert_eq!(from_value::<Small>(v).unwrap(), Small { a: 2 });
    }

    #[test]
    fn serde_attributes_work() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        #[serde(
            tag = "type",
            rename_all = "camelCase",
            rename_all_fields = "camelCase"
        )]
        enum Tagged {
            Join { room_name: String },
            Leave,
        }
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        #[serde(untagged)]
        enum Either {
            Num(u32),
            Text(String),
            Blob(Bytes),
        }
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Outer {
            #[serde(flatten)]
            inner: BTreeMap<String, u8>,
            #[serde(skip_serializing_if = "Option::is_none", default)]
            opt: Option<u8>,
            #[serde(rename = "X")]
            x: bool,
        }
        let t = Tagged::Join {
            room_name: "r".into(),
        };
        let v = to_value(&t).unwrap();
        assert_eq!(
            v,
            Value::Object(vec![
                ("type".into(), Value::from("join")),
                ("roomName".into(), Value::from("r")),
            ])
        );
        assert_eq!(from_value::<Tagged>(v).unwrap(), t);
        assert_eq!(
            from_value::<Tagged>(j(json!({"type": "leave"}))).unwrap(),
            Tagged::Leave
        );
        for e in [
            // Not UTF-8, so not a string.
            Either::Blob(Bytes::from_static(&[0xff, 0])),
            Either::Num(4),
            Either::Text("t".into()),
        ] {
            let v = to_value(&e).unwrap();
            assert_eq!(from_value::<Either>(v).unwrap(), e);
        }
        let o = Outer {
            inner: [("k".to_owned(), 1)].into(),
            opt: None,
            x: true,
        };
        let v = to_value(&o).unwrap();
        assert_eq!(v.clone().into_json(), json!({"k": 1, "X": true}));
        assert_eq!(from_value::<Outer>(v).unwrap(), o);
    }

    #[test]
    fn numbers_keep_their_kind() {
        let v: Value = serde_json::from_str(
            "[18446744073709551615, -9223372036854775808, 1e300, 0.1, -0, 1.0]",
        )
        .unwrap();
        let (a, b, c, d): (u64, i64, f64, f64) =
            from_value(Value::Array(v.as_array().unwrap()[..4].to_vec())).unwrap();
        assert_eq!((a, b, c, d), (u64::MAX, i64::MIN, 1e300, 0.1));
        // Written exactly as serde_json writes the same numbers.
        assert_eq!(
            v.to_string(),
            serde_json::to_string(
                &serde_json::from_str::<serde_json::Value>(
                    "[18446744073709551615, -9223372036854775808, 1e300, 0.1, -0, 1.0]"
                )
                .unwrap()
            )
            .unwrap()
        );
        assert_eq!(to_value(&f64::NAN).unwrap(), Value::Null);
        assert_eq!(to_value(&f32::INFINITY).unwrap(), Value::Null);
        assert_eq!(from_value::<f32>(Value::from(1.5)).unwrap(), 1.5);
        assert_eq!(from_value::<f64>(Value::from(3u64)).unwrap(), 3.0);
        assert_eq!(from_value::<i128>(Value::from(-3i64)).unwrap(), -3);
        assert_eq!(Value::from(-3i64).as_i64(), Some(-3));
        assert_eq!(Value::from(3u64).as_u64(), Some(3));
        assert_eq!(Value::from(0.5).as_f64(), Some(0.5));
    }

    #[test]
    fn deep_json_is_refused() {
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        assert!(serde_json::from_str::<Value>(&deep).is_err());
        let deep = r#"{"a":"#.repeat(1000) + "1" + &"}".repeat(1000);
        assert!(serde_json::from_str::<Value>(&deep).is_err());
        let ok = "[".repeat(100) + &"]".repeat(100);
        assert!(serde_json::from_str::<Value>(&ok).is_ok());
    }

    #[test]
    fn duplicate_keys_are_kept_in_order() {
        let v: Value = serde_json::from_str(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 2);
        assert_eq!(v.get("a"), Some(&Value::from(1u64)));
        assert_eq!(v.into_json(), json!({"a": 2}));
    }

    #[test]
    fn json_writer_matches_serde_json() {
        // Every ASCII character, some non-ASCII and some hard cases.
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("é☃\u{1F600}\u{2028}\u{7f}/</script>");
        let mut out = String::new();
        write_json_str(&all, &mut out);
        assert_eq!(out, serde_json::to_string(&all).unwrap());
        for c in (0u32..0x300).filter_map(char::from_u32) {
            let s = format!("a{c}b");
            let mut out = String::new();
            write_json_str(&s, &mut out);
            assert_eq!(out, serde_json::to_string(&s).unwrap());
        }

        let data = json!({
            "a": [1, -2, 3.5, 1e-7, 1e21, 123456789.123, null, true, false, "s\"\\\n"],
            "b": {},
            "c": [],
            "d": {"nested": [[{"x": -0.0}]]},
            "e": u64::MAX,
            "f": i64::MIN,
            "g": 0.1,
        });
        let v = Value::from(data.clone());
        assert_eq!(v.to_string(), serde_json::to_string(&data).unwrap());
        assert!(json_len_hint(&v) > 0);
    }

    #[test]
    fn json_writer_bytes() {
        let v = Value::Array(vec![
            Value::Bytes(Bytes::from_static(&[1, 200])),
            Value::Object(vec![("b".into(), Value::Bytes(Bytes::new()))]),
        ]);
        assert_eq!(v.to_string(), r#"[[1,200],{"b":[]}]"#);
        let mut out = String::new();
        let mut attachments = Vec::new();
        write_json(&v, &mut out, Some(&mut attachments));
        assert_eq!(
            out,
            r#"[{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1}}]"#
        );
        assert_eq!(attachments, [Bytes::from_static(&[1, 200]), Bytes::new()]);
    }

    #[test]
    fn helpers() {
        let v = j(json!({"s": "x", "a": [1], "o": {"k": null}, "b": true}));
        assert!(v.is_object());
        assert_eq!(v.get("s").and_then(Value::as_str), Some("x"));
        assert!(v.get("s").unwrap().is_string());
        assert_eq!(
            v.get("a").and_then(Value::as_array).map(<[_]>::len),
            Some(1)
        );
        assert!(v.get("a").unwrap().is_array());
        assert_eq!(v.get("b").and_then(Value::as_bool), Some(true));
        assert!(v.get("o").unwrap().get("k").unwrap().is_null());
        assert_eq!(v.get("missing"), None);
        assert_eq!(Value::Null.get("x"), None);
        assert!(!v.has_bytes());
        let mut arr = Value::from(vec![Value::Null]);
        arr.as_array_mut().unwrap().push(Value::from(vec![9u8]));
        assert!(arr.has_bytes());
        assert!(arr.as_array().unwrap()[1].is_bytes());
        assert_eq!(Value::from(None::<bool>), Value::Null);
        assert_eq!(Value::from(Some(true)), Value::Bool(true));
        assert_eq!(Value::from(f64::NAN), Value::Null);
        let collected: Value = [Value::Null].into_iter().collect();
        assert_eq!(collected, Value::Array(vec![Value::Null]));
        let obj: Value = [("k".to_owned(), Value::Null)].into_iter().collect();
        assert_eq!(obj.to_string(), r#"{"k":null}"#);
        assert_eq!(Value::default(), Value::Null);
        assert_eq!(Value::from(1), Value::from(1u64));
        assert_eq!(Value::from(-1).as_i64(), Some(-1));
    }

    #[test]
    fn values_deserialize_from_other_formats() {
        // Value's Deserialize impl accepts what other deserializers produce, bytes included.
        use serde::de::value::{BytesDeserializer, Error};
        let v = Value::deserialize(BytesDeserializer::<Error>::new(b"ab")).unwrap();
        assert_eq!(v, Value::Bytes(Bytes::from_static(b"ab")));
        let v = Value::deserialize(IntoDeserializer::<Error>::into_deserializer(5i128)).unwrap();
        assert_eq!(v, Value::from(5i64));
        assert!(
            Value::deserialize(IntoDeserializer::<Error>::into_deserializer(u128::MAX)).is_err()
        );
    }
}
