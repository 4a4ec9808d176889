//! The serializer of [`Value`]: [`to_value`], and `Serialize` for `Value` itself.

use std::cell::RefCell;

use bytes::Bytes;
use serde::Serialize;
use serde::ser::{self, SerializeMap, SerializeSeq};

use super::{MAX_PREALLOC, RAW_VALUE_TOKEN, Value, ValueError};

// ---------------------------------------------------------------------------------------------
// Serialize for Value itself

/// The newtype name under which a `Value` hands itself to our own serializer.
const VALUE_TOKEN: &str = "$tower_socketio::private::Value";

thread_local! {
    /// The `Value` being handed over (see [`VALUE_TOKEN`]): serialization is synchronous, so
    /// the serializer takes it back on the same thread, in the same call.
    static HANDED_OVER: RefCell<Option<Value>> = const { RefCell::new(None) };
}

/// Whether `S` is this module's [`ValueSerializer`] (`TypeId` would need `S: 'static`).
fn is_value_serializer<S>() -> bool {
    std::any::type_name::<S>() == std::any::type_name::<ValueSerializer>()
}

impl Serialize for Value {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Into a `Value` (emitting or relaying a value received, `to_value(&value)`): the
        // value is cloned, not rebuilt, so its strings stay shared and known to need no
        // escaping.
        if is_value_serializer::<S>() {
            HANDED_OVER.with(|slot| *slot.borrow_mut() = Some(self.clone()));
            return s.serialize_newtype_struct(VALUE_TOKEN, &());
        }
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

/// Converts any serializable value; byte buffers (`serialize_bytes`) become [`Value::Bytes`].
///
/// Structs and maps become objects (fields in order), sequences, tuples and tuple structs
/// arrays, `None` and `()` `null`, enums are externally tagged as serde_json writes them, and
/// map keys that are numbers or booleans are written as strings (other keys are an error).
/// A `serde_json::value::RawValue` is parsed into the value it holds.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ValueError> {
    value.serialize(ValueSerializer)
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
        Ok(Value::String(v.to_string().into()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, ValueError> {
        Ok(Value::String(v.into()))
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
        Ok(Value::String(variant.into()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<Value, ValueError> {
        if name == VALUE_TOKEN
            && let Some(value) = HANDED_OVER.with(|slot| slot.borrow_mut().take())
        {
            return Ok(value);
        }
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
        Value::String(s) => Ok(s.into_string()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(ser::Error::custom(format_args!(
            "a map key must be a string, a number or a boolean, not {}",
            other.unexpected()
        ))),
    }
}
