//! Event arguments: how a Rust value becomes a packet's arguments (`()` none, a tuple several,
//! anything else one) and back, found by a probe serializer that stops at the top level.

use serde::{
    Serialize,
    ser::{self, Impossible},
};

use super::value::{Value, ValueError, to_value};

/// Event arguments from a value: `()` is none, a tuple is several, anything else is one.
pub(crate) fn to_args<T: Serialize + ?Sized>(data: &T) -> Result<Vec<Value>, ValueError> {
    match shape(data) {
        Shape::Unit => Ok(Vec::new()),
        Shape::Tuple => to_value(data).map(|v| spread(v, true)),
        _ => to_value(data).map(|v| vec![v]),
    }
}

pub(crate) fn spread(v: Value, tuple: bool) -> Vec<Value> {
    match v {
        Value::Array(items) if tuple => items,
        other => vec![other],
    }
}

pub(crate) fn error_value(e: Value) -> Value {
    Value::Object(vec![("message".to_owned(), e)].into_iter().collect())
}

/// The error object `{"message": …}` answered to an ack.
pub(crate) fn error_object(message: &str) -> Value {
    error_value(Value::from(message))
}

/// One argument as itself; none or several as an array (what `Data<T>` and acks deserialize).
pub(crate) fn args_value(mut args: Vec<Value>) -> Value {
    if args.len() == 1 {
        args.pop().unwrap_or(Value::Null)
    } else {
        Value::Array(args)
    }
}

// What a value looks like at its top level, found by a serializer that stops at the first call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Unit,
    Tuple,
    ResultOk,
    ResultErr,
    Other,
}

#[derive(Debug)]
struct Found(Shape);

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}
impl std::error::Error for Found {}
impl ser::Error for Found {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Found(Shape::Other)
    }
}

pub(crate) fn shape<T: Serialize + ?Sized>(v: &T) -> Shape {
    match v.serialize(Probe) {
        Ok(()) => Shape::Other,
        Err(Found(s)) => s,
    }
}

struct Probe;

macro_rules! other {
    ($($name:ident($($t:ty),*);)*) => {
        $(fn $name(self, $(_: $t),*) -> Result<(), Found> { Err(Found(Shape::Other)) })*
    };
}

impl ser::Serializer for Probe {
    type Ok = ();
    type Error = Found;
    type SerializeSeq = Impossible<(), Found>;
    type SerializeTuple = Impossible<(), Found>;
    type SerializeTupleStruct = Impossible<(), Found>;
    type SerializeTupleVariant = Impossible<(), Found>;
    type SerializeMap = Impossible<(), Found>;
    type SerializeStruct = Impossible<(), Found>;
    type SerializeStructVariant = Impossible<(), Found>;

    other! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_u8(u8); serialize_u16(u16); serialize_u32(u32);
        serialize_u64(u64); serialize_f32(f32); serialize_f64(f64); serialize_char(char);
        serialize_str(&str); serialize_bytes(&[u8]); serialize_none();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_unit(self) -> Result<(), Found> {
        Err(Found(Shape::Unit))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Found> {
        Err(Found(Shape::Other))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Found> {
        Err(Found(Shape::Other))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Result<(), Found> {
        Err(Found(match (name, variant) {
            ("Result", "Ok") => Shape::ResultOk,
            ("Result", "Err") => Shape::ResultErr,
            _ => Shape::Other,
        }))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Found> {
        Err(Found(Shape::Other))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Found> {
        Err(Found(Shape::Tuple))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Found> {
        Err(Found(Shape::Other))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Found> {
        Err(Found(Shape::Other))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Found> {
        Err(Found(Shape::Other))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Found> {
        Err(Found(Shape::Other))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Found> {
        Err(Found(Shape::Other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(shape(&()), Shape::Unit);
        assert_eq!(shape(&(1, "a")), Shape::Tuple);
        assert_eq!(shape(&Ok::<i32, String>(1)), Shape::ResultOk);
        assert_eq!(shape(&Err::<i32, String>("x".into())), Shape::ResultErr);
        assert_eq!(shape(&vec![1, 2]), Shape::Other);
        assert_eq!(shape(&None::<i32>), Shape::Other);
        assert_eq!(shape(&"s"), Shape::Other);
    }

    #[test]
    fn args() {
        assert!(to_args(&()).unwrap().is_empty());
        assert_eq!(to_args(&(1, 2)).unwrap().len(), 2);
        assert_eq!(to_args(&vec![1, 2]).unwrap().len(), 1);
        assert_eq!(args_value(vec![Value::from(1)]), Value::from(1));
        assert_eq!(args_value(vec![]), Value::Array(vec![]));
    }
}
