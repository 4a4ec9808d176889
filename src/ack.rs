//! Acknowledgements: turning values into event arguments and ack answers, and waiting for the
//! client's answers.

use serde::{
    Serialize,
    ser::{self, Impossible},
};

use crate::{
    SocketRef,
    value::{Value, ValueError, to_value},
};

/// A handler's result, or what [`AckSender::send`](crate::extract::AckSender::send) sends, as the
/// answer to a client's acknowledgement.
///
/// Implemented for every `Serialize` type: `()` answers nothing, a tuple answers several
/// arguments, `Result<T, E>` answers `Ok(T)` as `T` and `Err(e)` as `{"message": e}`, and any
/// other value answers one argument.
pub trait IntoAck: Send + 'static {
    /// The ack's arguments, or `None` for no answer.
    fn into_ack(self) -> Option<Result<Vec<Value>, ValueError>>;
}

impl<T: Serialize + Send + 'static> IntoAck for T {
    fn into_ack(self) -> Option<Result<Vec<Value>, ValueError>> {
        // A `Value` is already what the packet holds: moved, not serialized again (an echo or a
        // relay answers with what it received, without copying it).
        let mut slot = Some(self);
        let any = &mut slot as &mut dyn std::any::Any;
        if let Some(value) = any.downcast_mut::<Option<Value>>() {
            return value.take().map(|v| Ok(vec![v]));
        }
        if let Some(args) = any.downcast_mut::<Option<crate::extract::Args>>() {
            // Several arguments, as `Args` serializes (a tuple): an empty list answers an ack
            // with no arguments, which `()` cannot.
            return args.take().map(|a| Ok(a.0));
        }
        let this = slot?;
        match shape(&this) {
            Shape::Unit => None,
            Shape::ResultOk | Shape::ResultErr => {
                let err = matches!(shape(&this), Shape::ResultErr);
                Some(to_value(&this).map(|v| {
                    let inner = match v {
                        Value::Object(fields) => fields.into_iter().next().map(|(_, v)| v),
                        _ => None,
                    }
                    .unwrap_or(Value::Null);
                    if err {
                        vec![error_value(inner)]
                    } else {
                        spread(inner, false)
                    }
                }))
            }
            Shape::Tuple => Some(to_value(&this).map(|v| spread(v, true))),
            Shape::Other => Some(to_value(&this).map(|v| vec![v])),
        }
    }
}

/// Event arguments from a value: `()` is none, a tuple is several, anything else is one.
pub(crate) fn to_args<T: Serialize + ?Sized>(data: &T) -> Result<Vec<Value>, ValueError> {
    match shape(data) {
        Shape::Unit => Ok(Vec::new()),
        Shape::Tuple => to_value(data).map(|v| spread(v, true)),
        _ => to_value(data).map(|v| vec![v]),
    }
}

fn spread(v: Value, tuple: bool) -> Vec<Value> {
    match v {
        Value::Array(items) if tuple => items,
        other => vec![other],
    }
}

fn error_value(e: Value) -> Value {
    Value::Object(vec![("message".to_owned(), e)].into_iter().collect())
}

/// The error object `{"message": …}` answered to an ack.
pub(crate) fn error_object(message: &str) -> Value {
    error_value(Value::String(message.to_owned()))
}

/// Answers one ack, once.
#[derive(Debug)]
pub(crate) struct Acker {
    pub(crate) socket: SocketRef,
    pub(crate) id: Option<u64>,
}

impl Acker {
    pub(crate) fn answer<T: IntoAck>(self, value: T) {
        let Some(id) = self.id else { return };
        match value.into_ack() {
            None => {}
            Some(Ok(args)) => self.socket.send_ack(id, args),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "ack answer could not be serialized");
                self.socket
                    .send_ack(id, vec![error_object("the answer could not be serialized")]);
            }
        }
    }
}

/// Why an emit with acknowledgement got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    /// No answer within the timeout.
    #[error("acknowledgement timed out")]
    Timeout,
    /// The socket disconnected before answering.
    #[error("the socket disconnected before acknowledging")]
    Disconnected,
    /// The answer did not deserialize into the expected type.
    #[error("invalid acknowledgement data: {0}")]
    Decode(#[from] ValueError),
    /// The event could not be sent.
    #[error(transparent)]
    Send(#[from] crate::EmitError),
}

// What a value looks like at its top level, found by a serializer that stops at the first call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
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

fn shape<T: Serialize + ?Sized>(v: &T) -> Shape {
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
    fn args_and_acks() {
        assert!(to_args(&()).unwrap().is_empty());
        assert_eq!(to_args(&(1, 2)).unwrap().len(), 2);
        assert_eq!(to_args(&vec![1, 2]).unwrap().len(), 1);
        assert!(().into_ack().is_none());
        assert_eq!(5.into_ack().unwrap().unwrap().len(), 1);
        let err = Err::<i32, &str>("bad").into_ack().unwrap().unwrap();
        assert_eq!(err.len(), 1);
        assert_eq!(
            err[0].clone().into_json(),
            serde_json::json!({ "message": "bad" })
        );
        let ok = Ok::<(i32, i32), &str>((1, 2)).into_ack().unwrap().unwrap();
        assert_eq!(ok.len(), 1);
    }
}
