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
///
/// A shared string keeps the buffer it was read from alive, as a received binary attachment
/// does: a value kept for long (in app state, say) is better stored as a `String`
/// (`into_string`) or deserialized into your own types, which copy it.
#[derive(Clone)]
pub struct Text {
    repr: Repr,
    /// Known to need no JSON escaping (no `"`, `\` or control character).
    plain: bool,
}

/// Owned, or a slice of a shared buffer (a message, or a static string).
#[derive(Clone)]
enum Repr {
    Owned(String),
    Shared(Str),
}

impl Default for Text {
    fn default() -> Self {
        Text::from_static("")
    }
}

impl Text {
    /// A string that needs no JSON escaping, shared as it is.
    pub(crate) fn plain(s: Str) -> Text {
        Text {
            repr: Repr::Shared(s),
            plain: true,
        }
    }

    /// A copy of a string that needs no JSON escaping.
    pub(crate) fn plain_copy(s: &str) -> Text {
        Text {
            repr: Repr::Owned(s.to_owned()),
            plain: true,
        }
    }

    /// A static string, without a copy (its escaping is looked at when it is written).
    pub fn from_static(s: &'static str) -> Text {
        Text {
            repr: Repr::Shared(Str::from_static(s)),
            plain: false,
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.repr {
            Repr::Owned(s) => s,
            Repr::Shared(s) => s.as_str(),
        }
    }

    /// Whether the string is known to need no JSON escaping (then it is written without a
    /// scan).
    pub(crate) fn is_plain(&self) -> bool {
        self.plain
    }

    /// The text as a `String` (a copy when it is shared).
    pub fn into_string(self) -> String {
        match self.repr {
            Repr::Owned(s) => s,
            Repr::Shared(s) => s.as_str().to_owned(),
        }
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
            repr: Repr::Owned(s),
            plain: false,
        }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::from(s.to_owned())
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Text::from(s.as_str())
    }
}

impl From<Str> for Text {
    fn from(s: Str) -> Self {
        Text {
            repr: Repr::Shared(s),
            plain: false,
        }
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
