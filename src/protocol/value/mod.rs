//! [`Value`]: a dynamic value that can hold binary, the payload model of events.
//!
//! User data goes through serde: [`to_value`] runs a `Serializer` that keeps byte buffers
//! (`serialize_bytes`) as [`Value::Bytes`], and [`from_value`] runs a `Deserializer` that hands
//! them back with `visit_byte_buf`, so `bytes::Bytes`, `serde_bytes` types and `Vec<u8>` fields
//! travel as binary attachments at any depth.
//!
//! Split as serde_json splits its own value: the type here, its serializer in `ser`, its
//! deserializer in `de`. The JSON text of a value is written by `protocol::json`.

mod de;
mod ser;
mod text;

use std::fmt;

use bytes::Bytes;
use serde::{de as serde_de, ser as serde_ser};

pub use self::de::from_value;
pub use self::ser::to_value;
pub use self::text::Text;
use super::json::{json_len_hint, write_json};

/// The struct name serde_json uses to pass a `RawValue` through a serializer.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Pre-allocation for containers of untrusted size: never more than this many slots up front.
const MAX_PREALLOC: usize = 1024;

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
    /// A string (shared with the message it was read from when that is worth it: see
    /// [`Text`]).
    String(Text),
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

impl serde_ser::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

impl serde_de::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

impl Value {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s.as_str()),
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
            Value::String(s) => serde_json::Value::String(s.into_string()),
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
    fn unexpected(&self) -> serde_de::Unexpected<'_> {
        use serde_de::Unexpected;
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
            serde_json::Value::String(s) => Value::String(s.into()),
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
        Value::String(s.into())
    }
}

impl From<Text> for Value {
    fn from(s: Text) -> Self {
        Value::String(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde_json::json;

    use super::*;
    use crate::protocol::json::{write_json, write_json_str};
    use serde::de::IntoDeserializer;
    use serde::{Deserialize, Serialize};

    /// The fast string writer agrees with serde_json for every ASCII byte at every offset of the
    /// scan's eight-byte words and 64-byte blocks, next to multi-byte characters.
    #[test]
    fn a_value_serialized_into_a_value_is_cloned_with_its_shared_strings() {
        let msg = crate::protocol::Str::from(format!(r#"[{{"k":"{}"}},1]"#, "y".repeat(64)));
        let read = crate::protocol::json::parse_shared(&msg).unwrap();
        #[derive(Serialize)]
        struct Relay<'a> {
            inner: &'a Value,
        }
        for got in [
            to_value(&read).unwrap(),
            to_value(&Relay { inner: &read })
                .unwrap()
                .get("inner")
                .cloned()
                .unwrap(),
        ] {
            assert_eq!(got, read);
            let Some(Value::String(s)) = got.as_array().and_then(|a| a[0].get("k")) else {
                panic!("the string")
            };
            assert!(s.is_plain(), "still known to need no escaping");
            let range = msg.as_str().as_bytes().as_ptr_range();
            assert!(range.contains(&s.as_str().as_ptr()), "still shared");
        }
        // Any other serializer sees the value itself.
        assert_eq!(serde_json::to_string(&read).unwrap(), msg.as_str());
    }

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
