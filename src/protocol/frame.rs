//! The frame and string types every layer shares: [`Str`], a text message without copies, and
//! [`Frame`], one encoded Engine.IO packet.

use std::fmt;

use bytes::Bytes;
use tungstenite::Utf8Bytes;

/// A cheaply cloneable UTF-8 string backed by [`Bytes`]: a text message, without copies.
///
/// A slice of a received frame: the frame's buffer, validated once, and a range in it, so that
/// slicing (the message after its `4`, a packet of a polling payload) never validates again.
#[derive(Clone, Default)]
pub struct Str {
    buf: Utf8Bytes,
    start: usize,
    end: usize,
}

impl Str {
    /// A static string, without a copy.
    pub fn from_static(s: &'static str) -> Str {
        Str::from(Utf8Bytes::from_static(s))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // The range is on character boundaries (checked when it was made).
        self.buf
            .as_str()
            .get(self.start..self.end)
            .unwrap_or_default()
    }

    /// A sub-slice, sharing the buffer. Panics if the range is not on character boundaries, as
    /// `str` indexing does.
    pub(crate) fn slice(&self, range: std::ops::Range<usize>) -> Str {
        // Checks the boundaries (and panics like `str` indexing).
        let _ = &self.as_str()[range.clone()];
        Str {
            buf: self.buf.clone(),
            start: self.start + range.start,
            end: self.start + range.end,
        }
    }

    /// A sub-slice sharing the buffer, or `None` when the range is out of bounds or not on
    /// character boundaries.
    pub fn get(&self, range: std::ops::Range<usize>) -> Option<Str> {
        self.as_str().get(range.clone())?;
        Some(Str {
            buf: self.buf.clone(),
            start: self.start + range.start,
            end: self.start + range.end,
        })
    }

    /// The text from byte `start` on (see [`Str::slice`]).
    pub(crate) fn slice_from(&self, start: usize) -> Str {
        self.slice(start..self.len())
    }

    /// The underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        Bytes::from(self.buf).slice(self.start..self.end)
    }
}

impl PartialEq for Str {
    fn eq(&self, other: &Str) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Str {}

impl std::hash::Hash for Str {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Str) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Str {
    fn cmp(&self, other: &Str) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::ops::Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Str::from(Utf8Bytes::from(s))
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Self {
        Str::from(Utf8Bytes::from(s))
    }
}

impl From<Utf8Bytes> for Str {
    fn from(buf: Utf8Bytes) -> Self {
        Str {
            end: buf.len(),
            start: 0,
            buf,
        }
    }
}

impl TryFrom<Bytes> for Str {
    type Error = std::str::Utf8Error;
    fn try_from(b: Bytes) -> Result<Self, Self::Error> {
        Utf8Bytes::try_from(b).map(Str::from)
    }
}

/// One encoded Engine.IO packet, ready for any transport and cheap to clone: encode a message
/// once and send the same frame to many sessions.
#[derive(Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text packet, type character included (`4hello`, `2`).
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl Frame {
    /// A text message frame (`4` + text).
    pub fn text(msg: impl AsRef<str>) -> Frame {
        let msg = msg.as_ref();
        let mut s = String::with_capacity(msg.len() + 1);
        s.push('4');
        s.push_str(msg);
        Frame::Text(s.into())
    }

    /// A binary message frame.
    pub fn binary(data: impl Into<Bytes>) -> Frame {
        Frame::Binary(data.into())
    }

    pub(crate) const PING: Frame = Frame::Text(Utf8Bytes::from_static("2"));
    pub(crate) const PONG: Frame = Frame::Text(Utf8Bytes::from_static("3"));
    pub(crate) const NOOP: Frame = Frame::Text(Utf8Bytes::from_static("6"));
    pub(crate) const CLOSE: Frame = Frame::Text(Utf8Bytes::from_static("1"));

    /// The frame's size in bytes on a WebSocket.
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(t) => t.len(),
            Frame::Binary(b) => b.len(),
        }
    }

    /// Whether the frame has no bytes (never true for a text frame).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frame::Text(t) => f.debug_tuple("Text").field(&t.as_str()).finish(),
            Frame::Binary(b) => f.debug_tuple("Binary").field(&b.len()).finish(),
        }
    }
}

/// The frames of one Socket.IO packet, in order: its first message (text, or binary for a binary
/// parser), then its attachments, one binary message each. The one way a packet's frames are put
/// together, whether encoded here or received from another node; a packet without attachments
/// costs no allocation.
#[derive(Debug, Clone)]
pub struct Frames {
    first: Option<Frame>,
    attachments: std::vec::IntoIter<Bytes>,
}

impl Frames {
    /// A packet's first message and its attachments.
    pub fn new(first: Frame, attachments: Vec<Bytes>) -> Frames {
        Frames {
            first: Some(first),
            attachments: attachments.into_iter(),
        }
    }
}

impl Iterator for Frames {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        self.first
            .take()
            .or_else(|| self.attachments.next().map(Frame::Binary))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.first.is_some()) + self.attachments.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Frames {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn str_slices_share_the_buffer_and_compare_by_text() {
        let whole = Str::try_from(Bytes::from_static("4héllo\u{1e}4wörld".as_bytes())).unwrap();
        let sep = whole.find('\u{1e}').unwrap();
        let first = whole.slice(0..sep);
        let second = whole.slice(sep + 1..whole.len());
        assert_eq!(first.as_str(), "4héllo");
        assert_eq!(second.slice_from(1).as_str(), "wörld");
        assert_eq!(first.slice_from(1), Str::from("héllo"));
        assert_eq!(second.slice_from(1).into_bytes(), "wörld".as_bytes());
        assert!(Str::from("a") < second.slice_from(1));
        assert!(Str::try_from(Bytes::from_static(b"\xff")).is_err());
    }

    #[test]
    #[should_panic]
    fn a_slice_off_a_char_boundary_panics_like_str_indexing() {
        let _ = Str::from("é").slice(0..1);
    }
}
