//! [`Value`]: a dynamic value that can hold binary, the payload model of events.
//!
//! User data goes through serde: [`to_value`] runs a `Serializer` that keeps byte buffers
//! (`serialize_bytes`) as [`Value::Bytes`], and [`from_value`] runs a `Deserializer` that hands
//! them back with `visit_byte_buf`, so `bytes::Bytes`, `serde_bytes` types and `Vec<u8>` fields
//! travel as binary attachments at any depth.

use std::fmt;

use bytes::Bytes;
use serde::{
    Deserialize, Serialize,
    de::{
        self, DeserializeOwned, IntoDeserializer, MapAccess, SeqAccess, Visitor,
        value::{MapAccessDeserializer, MapDeserializer, SeqDeserializer},
    },
    ser::{self, SerializeMap, SerializeSeq},
};

/// A JSON-like value in which byte buffers are first-class.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, exactly as JSON wrote it.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// A byte buffer: a binary attachment on the wire.
    Bytes(Bytes),
    /// An array.
    Array(Vec<Value>),
    /// An object, its fields in order.
    Object(Vec<(String, Value)>),
}

/// Why a value could not be converted.
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

    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
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

    /// The field `key`, if this is an object that has it.
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

    /// Whether a byte buffer is anywhere inside.
    pub fn has_bytes(&self) -> bool {
        match self {
            Value::Bytes(_) => true,
            Value::Array(a) => a.iter().any(Value::has_bytes),
            Value::Object(o) => o.iter().any(|(_, v)| v.has_bytes()),
            _ => false,
        }
    }

    /// Converts to a `serde_json::Value`; byte buffers become arrays of numbers.
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
}

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
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
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
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
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

/// Converts any serializable value; byte buffers become [`Value::Bytes`].
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ValueError> {
    value.serialize(ValueSerializer)
}

/// Deserializes a value into `T`; [`Value::Bytes`] feed byte-buffer types.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ValueError> {
    T::deserialize(value)
}

// ---------------------------------------------------------------------------------------------
// Deserializer

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
            Value::Array(a) => {
                let mut seq = SeqDeserializer::new(a.into_iter());
                let out = v.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Value::Object(o) => {
                let mut map = MapDeserializer::new(o.into_iter());
                let out = v.visit_map(&mut map)?;
                map.end()?;
                Ok(out)
            }
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
            Value::Bytes(b) => {
                let mut seq = SeqDeserializer::new(b.into_iter());
                let out = v.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            other => other.deserialize_any(v),
        }
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
        match self {
            Value::String(s) => v.visit_enum(s.into_deserializer()),
            Value::Object(o) if o.len() == 1 => v.visit_enum(MapAccessDeserializer::new(
                MapDeserializer::new(o.into_iter()),
            )),
            other => Err(de::Error::custom(format!(
                "expected an enum (a string or an object with one key), got {}",
                kind(&other)
            ))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct map struct identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, ValueError> for Value {
    type Deserializer = Value;
    fn into_deserializer(self) -> Value {
        self
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Bytes(_) => "binary",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
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
    type SerializeStruct = MapBuilder;
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
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
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
        Ok(SeqBuilder(Vec::with_capacity(len.unwrap_or(0).min(4096))))
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
        Ok(VariantSeq(variant, Vec::with_capacity(len.min(4096))))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, ValueError> {
        Ok(MapBuilder {
            fields: Vec::with_capacity(len.unwrap_or(0).min(4096)),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<MapBuilder, ValueError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantMap, ValueError> {
        Ok(VariantMap(variant, Vec::with_capacity(len.min(4096))))
    }
}

struct SeqBuilder(Vec<Value>);
struct VariantSeq(&'static str, Vec<Value>);
struct MapBuilder {
    fields: Vec<(String, Value)>,
    key: Option<String>,
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

impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        self.fields.push((key.to_owned(), to_value(v)?));
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Object(self.fields))
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

/// A map key as JSON writes it: strings as they are, numbers and booleans as text.
fn map_key(k: Value) -> Result<String, ValueError> {
    match k {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(ser::Error::custom(format!(
            "a map key must be a string, a number or a boolean, not {}",
            kind(&other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum E {
        Unit,
        New(i32),
        Tup(i32, String),
        Struct { a: bool },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct S {
        name: String,
        n: Option<u8>,
        data: Bytes,
        list: Vec<Bytes>,
        e: Vec<E>,
        t: (i64, f64),
    }

    #[test]
    fn round_trips_through_value() {
        let s = S {
            name: "é".into(),
            n: None,
            data: Bytes::from_static(&[1, 2, 3]),
            list: vec![Bytes::new(), Bytes::from_static(b"x")],
            e: vec![
                E::Unit,
                E::New(-1),
                E::Tup(2, "t".into()),
                E::Struct { a: true },
            ],
            t: (-5, 2.5),
        };
        let v = to_value(&s).unwrap();
        assert!(v.has_bytes());
        assert_eq!(
            v.get("data"),
            Some(&Value::Bytes(Bytes::from_static(&[1, 2, 3])))
        );
        assert_eq!(from_value::<S>(v).unwrap(), s);
    }

    #[test]
    fn bytes_deserialize_into_vec_too() {
        let v = Value::Bytes(Bytes::from_static(&[7, 8]));
        assert_eq!(from_value::<Vec<u8>>(v.clone()).unwrap(), vec![7, 8]);
        assert_eq!(from_value::<Bytes>(v).unwrap(), Bytes::from_static(&[7, 8]));
    }

    #[test]
    fn maps_and_keys() {
        let mut m = HashMap::new();
        m.insert(1u32, "a");
        let v = to_value(&m).unwrap();
        assert_eq!(v.get("1"), Some(&Value::from("a")));
        let back: HashMap<String, String> = from_value(v).unwrap();
        assert_eq!(back["1"], "a");
        let mut bad = HashMap::new();
        bad.insert(vec![1], 1);
        assert!(to_value(&bad).is_err());
    }

    #[test]
    fn json_conversions_and_errors() {
        let j = serde_json::json!({"a": [1, -2, 3.5, null, true, "s"], "b": {}});
        let v: Value = serde_json::from_value(j.clone()).unwrap();
        assert_eq!(v.clone().into_json(), j);
        assert_eq!(Value::from(j.clone()), v);
        assert!(from_value::<(i64, i64)>(Value::from(serde_json::json!([1]))).is_err());
        assert!(from_value::<(i64,)>(Value::from(serde_json::json!([1, 2]))).is_err());
        assert!(from_value::<String>(Value::from(serde_json::json!(1))).is_err());
        assert!(from_value::<E>(Value::from(serde_json::json!({"a": 1, "b": 2}))).is_err());
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        assert!(serde_json::from_str::<Value>(&deep).is_err());
    }

    #[test]
    fn numbers_keep_their_kind() {
        let v: Value =
            serde_json::from_str("[18446744073709551615, -9223372036854775808, 1e300]").unwrap();
        let (a, b, c): (u64, i64, f64) = from_value(v).unwrap();
        assert_eq!((a, b, c), (u64::MAX, i64::MIN, 1e300));
        assert_eq!(to_value(&f64::NAN).unwrap(), Value::Null);
    }
}
