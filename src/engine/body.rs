//! [`Body`]: the body of the engine's own answers.

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

/// The body of the engine's own answers: empty, or one buffer.
#[derive(Debug, Default)]
pub struct Body(Option<Bytes>);

impl Body {
    /// An empty body.
    pub fn empty() -> Body {
        Body(None)
    }

    /// A body of one buffer.
    pub fn full(data: Bytes) -> Body {
        Body(Some(data).filter(|d| !d.is_empty()))
    }

    /// The buffer, unless the body is empty.
    pub(crate) fn data(&self) -> Option<&Bytes> {
        self.0.as_ref()
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |d| d.len() as u64))
    }
}
