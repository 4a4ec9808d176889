//! The errors the engine answers HTTP requests with.

use bytes::Bytes;
use http::{Response, StatusCode, header};

use super::Body;

/// An Engine.IO protocol error, answered as JSON `{"code":N,"message":...}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ProtocolError {
    #[error("Transport unknown")]
    UnknownTransport,
    #[error("Session ID unknown")]
    UnknownSid,
    #[error("Bad handshake method")]
    BadHandshakeMethod,
    #[error("Bad request")]
    BadRequest,
    #[error("Forbidden")]
    Forbidden,
    #[error("Unsupported protocol version")]
    UnsupportedProtocolVersion,
    /// The server holds as many sessions waiting to connect a namespace as it takes.
    #[error("Too many pending sessions")]
    TooManyPending,
    /// The client's address holds as many sessions waiting to connect a namespace as it may.
    #[error("Too many pending sessions from this address")]
    TooManyPendingFromAddress,
}

impl ProtocolError {
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::UnknownTransport => 0,
            Self::UnknownSid => 1,
            Self::BadHandshakeMethod => 2,
            Self::BadRequest => 3,
            // The reference's code for a handshake it refuses (`allowRequest`).
            Self::Forbidden | Self::TooManyPending | Self::TooManyPendingFromAddress => 4,
            Self::UnsupportedProtocolVersion => 5,
        }
    }

    /// The HTTP answer, with the default message or `message`.
    pub(crate) fn response(self, message: Option<&str>) -> Response<Body> {
        let status = match self {
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::TooManyPending => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyPendingFromAddress => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        };
        let default = self.to_string();
        let body =
            serde_json::json!({ "code": self.code(), "message": message.unwrap_or(&default) });
        json_response(status, body.to_string().into())
    }
}

pub(crate) fn json_response(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut res = Response::new(Body::full(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    res
}

pub(crate) fn status_response(status: StatusCode) -> Response<Body> {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = status;
    res
}
