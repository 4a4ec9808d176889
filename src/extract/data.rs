//! [`Data`], [`TryData`], [`Args`] and [`Event`].

use serde::de::DeserializeOwned;

use super::{ConnectParts, ExtractError, FromConnect, FromMessage, MessageParts};
use crate::protocol::{
    args_value,
    value::{Value, ValueError, from_value},
};

/// The event's data, deserialized: from the only argument when there is one, from the array of
/// all arguments otherwise (so `Data<(i64, String)>` reads two arguments). In a connect handler
/// or middleware, the client's auth object (`{}` when it sent none).
///
/// Binary attachments deserialize into `bytes::Bytes`, `Vec<u8>` or `serde_bytes` types.
/// A failure refuses the event (see [`ExtractError`]) or the connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Data<T>(pub T);

/// Like [`Data`], but never fails: the deserialization's result.
#[derive(Debug)]
pub struct TryData<T>(pub Result<T, ValueError>);

/// All of the event's arguments, however many, binary kept.
#[derive(Debug, Clone, Default)]
pub struct Args(pub Vec<Value>);

/// The event's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event(pub String);

fn take_args(parts: &mut MessageParts) -> Result<Vec<Value>, ExtractError> {
    parts.args.take().ok_or_else(|| {
        ExtractError::new("the event's data was already extracted by another argument")
    })
}

/// Converts the arguments to `T`; a `Value` wanted is the value itself, moved, not rebuilt
/// through serde.
fn convert<T: DeserializeOwned + 'static>(v: Value) -> Result<T, ValueError> {
    let mut slot = Some(v);
    if let Some(same) = (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<T>>()
        && let Some(v) = same.take()
    {
        return Ok(v);
    }
    from_value(slot.unwrap_or_default())
}

fn auth_value(parts: &mut ConnectParts) -> Value {
    parts
        .auth
        .clone()
        .unwrap_or_else(|| Value::from(serde_json::Value::Object(Default::default())))
}

impl<T: DeserializeOwned + Send + 'static> FromMessage for Data<T> {
    fn from_message(parts: &mut MessageParts) -> Result<Self, ExtractError> {
        let args = take_args(parts)?;
        convert(args_value(args))
            .map(Data)
            .map_err(|e| ExtractError::new(format!("invalid data: {e}")))
    }
}

impl<T: DeserializeOwned + Send + 'static> FromMessage for TryData<T> {
    fn from_message(parts: &mut MessageParts) -> Result<Self, ExtractError> {
        let args = take_args(parts)?;
        Ok(TryData(convert(args_value(args))))
    }
}

impl FromMessage for Args {
    fn from_message(parts: &mut MessageParts) -> Result<Self, ExtractError> {
        take_args(parts).map(Args)
    }
}

impl FromMessage for Event {
    fn from_message(parts: &mut MessageParts) -> Result<Self, ExtractError> {
        Ok(Event(parts.event.clone()))
    }
}

impl<T: DeserializeOwned + Send + 'static> FromConnect for Data<T> {
    fn from_connect(parts: &mut ConnectParts) -> Result<Self, ExtractError> {
        from_value(auth_value(parts))
            .map(Data)
            .map_err(|e| ExtractError::new(format!("invalid auth: {e}")))
    }
}

impl<T: DeserializeOwned + Send + 'static> FromConnect for TryData<T> {
    fn from_connect(parts: &mut ConnectParts) -> Result<Self, ExtractError> {
        Ok(TryData(from_value(auth_value(parts))))
    }
}

/// Serializes as a tuple, so that emitting or acking `Args` sends each value as its own
/// argument.
impl serde::Serialize for Args {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(self.0.len())?;
        for v in &self.0 {
            t.serialize_element(v)?;
        }
        t.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_moved_and_other_types_go_through_serde() {
        let v = Value::Array(vec![
            Value::from("a"),
            Value::Bytes(bytes::Bytes::from_static(b"\x01")),
        ]);
        assert_eq!(convert::<Value>(v.clone()), Ok(v));
        assert_eq!(convert::<i64>(Value::from(3)), Ok(3));
        assert!(convert::<i64>(Value::from("x")).is_err());
    }
}
