//! [`Text`]: the string of a [`Value`](super::Value), zero-copy where it can be.

use std::{borrow::Borrow, fmt, hash, ops::Deref};

use crate::protocol::Str;

/// A string held by a [`Value::String`](super::Value::String).
///
/// Read from a message, a string long enough to be worth it that needed no unescaping shares
/// the message's buffer instead of being copied, and the string remembers that it needs no
/// escaping: writing it back into a packet (an echo, a relay to a room) copies it once,
/// without scanning it. Built from a `String` or a `&str`, it is an ordinary owned string.
///
/// It reads as a `&str` (`Deref`), compares and hashes as one, and converts from and into
/// `String`.
#[derive(Clone, Default)]
pub struct Text {
    s: Str,
    /// Known to need no JSON escaping (no `"`, `\` or control character).
    plain: bool,
}

impl Text {
    /// A string that needs no JSON escaping, shared as it is.
    pub(crate) fn plain(s: Str) -> Text {
        Text { s, plain: true }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.s.as_str()
    }

    /// Whether the string is known to need no JSON escaping (then it is written without a
    /// scan).
    pub(crate) fn is_plain(&self) -> bool {
        self.plain
    }

    /// The text as a `String` (a copy when it is shared with a message).
    pub fn into_string(self) -> String {
        self.as_str().to_owned()
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text {
            s: Str::from(s),
            plain: false,
        }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text {
            s: Str::from(s),
            plain: false,
        }
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Text::from(s.as_str())
    }
}

impl From<Str> for Text {
    fn from(s: Str) -> Self {
        Text { s, plain: false }
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.into_string()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl hash::Hash for Text {
    fn hash<H: hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_compares_and_converts_as_a_string() {
        let t = Text::from("héllo");
        assert_eq!(t, "héllo");
        assert_eq!("héllo", t);
        assert_eq!(t, String::from("héllo"));
        assert_eq!(t.len(), 6);
        assert!(t.starts_with("hé"));
        assert_eq!(t.clone().into_string(), "héllo");
        assert!(!t.is_plain());
        let shared = Text::plain(Str::from("4abc").slice_from(1));
        assert_eq!(shared, Text::from("abc"));
        assert!(shared.is_plain());
        assert_eq!(format!("{shared} {shared:?}"), "abc \"abc\"");
        let (a, b) = (Text::from("a"), Text::from("b"));
        assert!(a < b);
    }
}
