//! The JSON parser of Socket.IO payloads: JSON text straight to a [`Value`].
//!
//! It accepts exactly the texts serde_json accepts and builds the same [`Value`] the serde_json
//! deserializer would (objects keep their fields in order, duplicate keys included; numbers are
//! the same [`serde_json::Number`]s), and it refuses arrays and objects nested deeper than
//! serde_json's recursion limit. It exists for speed: values are built directly, without a
//! serde visitor in between; string literals, the bulk of most payloads, end where `memchr`
//! finds their quote (after one vectorized pass for control characters), their plain runs are
//! copied in one go or shared with the message; and
//! the common numbers (integers, short decimals) are computed here.
//!
//! The parser is iterative (an explicit stack of open arrays and objects), so no input can
//! overflow the call stack, and it does not panic.

use serde_json::Number;

use crate::protocol::{
    Str,
    value::{Text, Value},
};

/// The shortest string literal worth sharing with the message instead of copying: below it, a
/// copy costs no more than the shared buffer's reference count.
const SHARE_MIN: usize = 32;

/// A shared string keeps its whole message alive: it is shared only when it is at least this
/// fraction (1/16) of the message, so what a stored value keeps alive is bounded.
const SHARE_FRACTION: usize = 16;

/// How many arrays and objects may be open at once; opening one more is an error.
///
/// serde_json's deserializer starts with a budget of 128 and fails when an array or object
/// brings it to zero, i.e. on the 128th nested level.
const MAX_NESTING: usize = 127;

/// Powers of ten for the decimal fast path, each exactly representable (10^k for k <= 22).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Why a text is not one JSON value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JsonError {
    /// A complete value is followed by something other than whitespace.
    #[error("trailing characters at byte {offset}")]
    TrailingData {
        /// Where the first character after the value is.
        offset: usize,
    },
    /// The text is not valid JSON, nests too deep or holds a number out of range.
    #[error("{reason} at byte {offset}")]
    Invalid {
        /// What is wrong.
        reason: &'static str,
        /// Where the problem was found.
        offset: usize,
    },
}

/// Parses `s` as exactly one JSON value, with optional whitespace (space, tab, line feed,
/// carriage return) around it.
pub(crate) fn parse(s: &str) -> Result<Value, JsonError> {
    Parser {
        s,
        src: None,
        pos: 0,
    }
    .whole()
}

/// Parses like [`parse`]; a long string literal that needs no unescaping shares `s`'s buffer
/// (see [`SHARE_MIN`], [`SHARE_FRACTION`]) instead of being copied.
pub(crate) fn parse_shared(s: &Str) -> Result<Value, JsonError> {
    Parser {
        s: s.as_str(),
        src: Some(s),
        pos: 0,
    }
    .whole()
}

impl Parser<'_> {
    /// The whole text as one value.
    fn whole(mut self) -> Result<Value, JsonError> {
        let s = self.s;
        let parser = &mut self;
        let value = parser.value()?;
        parser.skip_ws();
        if parser.pos < s.len() {
            return Err(JsonError::TrailingData { offset: parser.pos });
        }
        Ok(value)
    }
}

/// An array or object whose items are being parsed.
enum Frame {
    /// An array and its items so far.
    Array(Vec<Value>),
    /// An object, its fields so far and the key of the value being parsed.
    Object(Vec<(String, Value)>, String),
}

impl Frame {
    /// Adds a complete value to the container; returns the byte that closes it.
    fn push(&mut self, v: Value) -> u8 {
        match self {
            Frame::Array(items) => {
                items.push(v);
                b']'
            }
            Frame::Object(fields, key) => {
                fields.push((std::mem::take(key), v));
                b'}'
            }
        }
    }

    /// The finished container.
    fn into_value(self) -> Value {
        match self {
            Frame::Array(items) => Value::Array(items),
            Frame::Object(fields, _) => Value::Object(fields),
        }
    }
}

/// The open containers, innermost last. The outermost one is held inline: a packet's payload,
/// one array of scalars, needs no allocation for the stack.
#[derive(Default)]
struct Stack {
    bottom: Option<Frame>,
    above: Vec<Frame>,
}

impl Stack {
    fn len(&self) -> usize {
        usize::from(self.bottom.is_some()) + self.above.len()
    }

    fn push(&mut self, frame: Frame) {
        if self.bottom.is_none() {
            self.bottom = Some(frame);
        } else {
            self.above.push(frame);
        }
    }

    fn pop(&mut self) -> Option<Frame> {
        self.above.pop().or_else(|| self.bottom.take())
    }

    fn last_mut(&mut self) -> Option<&mut Frame> {
        match self.above.last_mut() {
            Some(top) => Some(top),
            None => self.bottom.as_mut(),
        }
    }
}

/// A position in the text being parsed.
struct Parser<'a> {
    /// The whole text.
    s: &'a str,
    /// The message the text is, when its strings may share its buffer.
    src: Option<&'a Str>,
    /// The byte offset of the next byte to read.
    pos: usize,
}

/// The index of the first byte at or after `from` that ends a plain run in a string literal: `"`,
/// `\` or a control character (`len` when none).
///
/// `memchr2` finds the first `"` or `\` (with the widest vector instructions the processor has,
/// chosen at run time), then one pass, a loop without an early exit that the compiler
/// vectorizes, checks that the run holds no control character: a 4 KB string literal is read
/// in about a third of the time of one pass testing the three conditions per byte.
fn plain_run_end(bytes: &[u8], from: usize) -> usize {
    let rest = bytes.get(from..).unwrap_or_default();
    let end = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
    let run = rest.get(..end).unwrap_or_default();
    let mut i = 0;
    for block in run.chunks(64) {
        if block.iter().fold(0u8, |hit, &b| hit | u8::from(b < 0x20)) != 0 {
            return from + i + block.iter().position(|&b| b < 0x20).unwrap_or(0);
        }
        i += block.len();
    }
    from + end
}

/// The index of the first byte at or after `i` that is not an ASCII digit.
fn digits_end(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// `acc` followed by the ASCII `digits` (at most 19 digits in all, so that it fits).
fn decimal(acc: u64, digits: &[u8]) -> u64 {
    digits.iter().fold(acc, |acc, &d| {
        acc.wrapping_mul(10)
            .wrapping_add(u64::from(d.wrapping_sub(b'0')))
    })
}

/// A [`JsonError::Invalid`] at `offset`.
fn invalid(reason: &'static str, offset: usize) -> JsonError {
    JsonError::Invalid { reason, offset }
}

/// The value of one hex digit.
fn hex_digit(b: u8) -> Option<u32> {
    char::from(b).to_digit(16)
}

impl<'a> Parser<'a> {
    /// The next byte, if any.
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// Skips JSON whitespace.
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// The text between two byte offsets that are char boundaries.
    fn slice(&self, from: usize, to: usize) -> Result<&'a str, JsonError> {
        // The offsets are those of ASCII bytes (or the ends), so this cannot fail.
        self.s.get(from..to).ok_or(JsonError::Invalid {
            reason: "internal error: not a char boundary",
            offset: from,
        })
    }

    /// Parses one value and everything nested in it.
    fn value(&mut self) -> Result<Value, JsonError> {
        let mut stack = Stack::default();
        loop {
            // A value starts here: scalars are complete at once, containers are opened.
            self.skip_ws();
            let mut v = match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    Value::String(self.string()?)
                }
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(b'[') => {
                    if self.open(stack.len(), b']')? {
                        Value::Array(Vec::new())
                    } else {
                        stack.push(Frame::Array(Vec::new()));
                        continue;
                    }
                }
                Some(b'{') => {
                    if self.open(stack.len(), b'}')? {
                        Value::Object(Vec::new())
                    } else {
                        let key = self.key()?;
                        stack.push(Frame::Object(Vec::new(), key));
                        continue;
                    }
                }
                Some(b'n') => self.literal("null", Value::Null)?,
                Some(b't') => self.literal("true", Value::Bool(true))?,
                Some(b'f') => self.literal("false", Value::Bool(false))?,
                Some(_) => return Err(invalid("expected a value", self.pos)),
                None => {
                    return Err(invalid(
                        "unexpected end of input, expected a value",
                        self.pos,
                    ));
                }
            };
            // The value is complete: add it to its container, then close every container that
            // ends here, until one goes on with `,` (or the outermost value is done).
            loop {
                let Some(frame) = stack.last_mut() else {
                    return Ok(v);
                };
                let close = frame.push(v);
                self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if let Frame::Object(_, key) = frame {
                            self.skip_ws();
                            *key = self.key()?;
                        }
                        break;
                    }
                    Some(b) if b == close => {
                        self.pos += 1;
                        // The frame just pushed to: `pop` returns it.
                        v = stack.pop().map_or(Value::Null, Frame::into_value);
                    }
                    _ => {
                        let reason = if close == b']' {
                            "expected `,` or `]`"
                        } else {
                            "expected `,` or `}`"
                        };
                        return Err(invalid(reason, self.pos));
                    }
                }
            }
        }
    }

    /// Steps over the `[` or `{` that opens a container, `open` containers being open already,
    /// and the whitespace after it; true when `close` follows at once (an empty container,
    /// then stepped over too).
    fn open(&mut self, open: usize, close: u8) -> Result<bool, JsonError> {
        if open >= MAX_NESTING {
            return Err(invalid(
                "arrays and objects nested too deep (the limit is 127)",
                self.pos,
            ));
        }
        self.pos += 1;
        self.skip_ws();
        let empty = self.peek() == Some(close);
        if empty {
            self.pos += 1;
        }
        Ok(empty)
    }

    /// Parses an object key and the `:` after it (whitespace before the key already skipped).
    fn key(&mut self) -> Result<String, JsonError> {
        if self.peek() != Some(b'"') {
            return Err(invalid("expected a string key", self.pos));
        }
        self.pos += 1;
        let key = match self.literal_string()? {
            Ok((from, to)) => self.slice(from, to)?.to_owned(),
            Err(unescaped) => unescaped,
        };
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(invalid("expected `:`", self.pos));
        }
        self.pos += 1;
        Ok(key)
    }

    /// Parses `word` (`null`, `true` or `false`), which stands for `v`.
    fn literal(&mut self, word: &str, v: Value) -> Result<Value, JsonError> {
        let rest = self.s.as_bytes().get(self.pos..).unwrap_or_default();
        if !rest.starts_with(word.as_bytes()) {
            return Err(invalid(
                "invalid literal (expected null, true or false)",
                self.pos,
            ));
        }
        self.pos += word.len();
        Ok(v)
    }

    /// Parses the rest of a string literal, its opening quote already consumed, as a value's
    /// string: one without escapes is known to need none when written again, and a long one
    /// shares the message's buffer.
    fn string(&mut self) -> Result<Text, JsonError> {
        Ok(match self.literal_string()? {
            Ok((from, to)) => {
                let len = to - from;
                let shared = self
                    .src
                    .filter(|_| {
                        len >= SHARE_MIN && len.saturating_mul(SHARE_FRACTION) >= self.s.len()
                    })
                    .and_then(|src| src.get(from..to));
                match shared {
                    Some(shared) => Text::plain(shared),
                    None => Text::plain_copy(self.s.get(from..to).unwrap_or_default()),
                }
            }
            Err(unescaped) => Text::from(unescaped),
        })
    }

    /// Parses the rest of a string literal, its opening quote already consumed: the range of
    /// its text when it has no escape, or its unescaped text.
    ///
    /// Plain runs (no `"`, `\` or control character) are found by [`plain_run_end`] and copied
    /// whole.
    fn literal_string(&mut self) -> Result<Result<(usize, usize), String>, JsonError> {
        let bytes = self.s.as_bytes();
        let start = self.pos;
        let mut end = plain_run_end(bytes, start);
        if bytes.get(end) == Some(&b'"') {
            self.pos = end + 1;
            return Ok(Ok((start, end)));
        }
        // An escape (or an error). The decoded string is no longer than the rest of the text:
        // room for twice the first run, within that bound, covers typical text with a few
        // escapes without growing.
        let first = end - start;
        let cap = first
            .saturating_mul(2)
            .max(16)
            .min(bytes.len().saturating_sub(start));
        let mut out = String::with_capacity(cap);
        let mut run = start;
        loop {
            match bytes.get(end) {
                Some(b'"') => {
                    out.push_str(self.slice(run, end)?);
                    self.pos = end + 1;
                    return Ok(Err(out));
                }
                Some(b'\\') => {
                    out.push_str(self.slice(run, end)?);
                    run = self.escape(end + 1, &mut out)?;
                }
                Some(_) => {
                    return Err(invalid("control character (below U+0020) in a string", end));
                }
                None => return Err(invalid("unterminated string", end)),
            }
            end = plain_run_end(bytes, run);
        }
    }

    /// Decodes the escape whose letter is at `i` (just after the `\`) into `out`; returns the
    /// offset after it.
    fn escape(&self, i: usize, out: &mut String) -> Result<usize, JsonError> {
        let c = match self.s.as_bytes().get(i) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let (c, next) = self.unicode_escape(i + 1)?;
                out.push(c);
                return Ok(next);
            }
            Some(_) => return Err(invalid("invalid escape", i)),
            None => return Err(invalid("unterminated string", i)),
        };
        out.push(c);
        Ok(i + 1)
    }

    /// Decodes the `XXXX` of a `\uXXXX` escape at `i`, and the second escape of a surrogate
    /// pair; returns the character and the offset after the escape(s).
    fn unicode_escape(&self, i: usize) -> Result<(char, usize), JsonError> {
        let high = self.hex4(i)?;
        match high {
            0xDC00..=0xDFFF => Err(invalid("lone trailing surrogate in a \\u escape", i)),
            0xD800..=0xDBFF => {
                let bytes = self.s.as_bytes();
                if bytes.get(i + 4..i + 6) != Some(b"\\u".as_slice()) {
                    return Err(invalid("lone leading surrogate in a \\u escape", i));
                }
                let low = self.hex4(i + 6)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(invalid("lone leading surrogate in a \\u escape", i));
                }
                let code = 0x1_0000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                char::from_u32(code)
                    .map(|c| (c, i + 10))
                    .ok_or(invalid("invalid \\u escape", i))
            }
            _ => char::from_u32(high)
                .map(|c| (c, i + 4))
                .ok_or(invalid("invalid \\u escape", i)),
        }
    }

    /// The four hex digits at `i`, as a number.
    fn hex4(&self, i: usize) -> Result<u32, JsonError> {
        let bytes = self.s.as_bytes();
        let digits = bytes.get(i..i + 4).unwrap_or_default();
        if digits.len() < 4 {
            return Err(invalid("unterminated \\u escape", i));
        }
        digits.iter().try_fold(0, |acc, &b| {
            hex_digit(b)
                .map(|d| acc << 4 | d)
                .ok_or(invalid("invalid hex digit in a \\u escape", i))
        })
    }

    /// Parses a number, exactly as serde_json would.
    ///
    /// Two common forms are computed here. An integer of up to 18 digits fits `u64` and,
    /// negated, `i64`. A decimal without exponent of up to 15 digits in all is its digits as an
    /// integer (below 2^53, so an exact float) divided by 10^(digits after the point) (an
    /// exact float too): serde_json computes the same one correctly rounded division, and the
    /// result is the correctly rounded value of the text. Any other number (`-0`, an exponent,
    /// more digits) is handed to serde_json itself, whose `float_roundtrip` feature (on) reads
    /// it correctly rounded too: a float survives a decode and an encode exactly.
    fn number(&mut self) -> Result<Value, JsonError> {
        let bytes = self.s.as_bytes();
        let start = self.pos;
        let negative = bytes.get(start) == Some(&b'-');
        let int_start = start + usize::from(negative);
        let int_end = match bytes.get(int_start) {
            Some(b'0') => {
                if bytes.get(int_start + 1).is_some_and(u8::is_ascii_digit) {
                    return Err(invalid("invalid number (leading zero)", int_start + 1));
                }
                int_start + 1
            }
            Some(b'1'..=b'9') => digits_end(bytes, int_start + 1),
            _ => return Err(invalid("invalid number (expected a digit)", int_start)),
        };
        let mut end = int_end;
        let mut frac_len = 0;
        if bytes.get(end) == Some(&b'.') {
            let frac_start = end + 1;
            end = digits_end(bytes, frac_start);
            frac_len = end - frac_start;
            if frac_len == 0 {
                return Err(invalid("invalid number (expected a digit after `.`)", end));
            }
        }
        let exponent = matches!(bytes.get(end), Some(b'e' | b'E'));
        if exponent {
            end += 1;
            if matches!(bytes.get(end), Some(b'+' | b'-')) {
                end += 1;
            }
            let exp_start = end;
            end = digits_end(bytes, exp_start);
            if end == exp_start {
                return Err(invalid("invalid number (expected an exponent)", end));
            }
        }
        self.pos = end;

        if !exponent {
            let int = bytes.get(int_start..int_end).unwrap_or_default();
            if frac_len == 0 && int.len() <= 18 {
                // Below 10^18: fits both u64 and, negated, i64.
                let m = decimal(0, int);
                if !negative {
                    return Ok(Value::Number(m.into()));
                }
                if let (true, Ok(m)) = (m != 0, i64::try_from(m)) {
                    return Ok(Value::Number((-m).into()));
                }
            } else if frac_len > 0 && int.len() + frac_len <= 15 {
                let frac = bytes.get(int_end + 1..end).unwrap_or_default();
                let m = decimal(decimal(0, int), frac);
                if let Some(&pow) = POW10.get(frac_len) {
                    // m < 10^15 < 2^53: exact as a float, as is 10^frac_len.
                    let f = m as f64 / pow;
                    let f = if negative { -f } else { f };
                    if let Some(n) = Number::from_f64(f) {
                        return Ok(Value::Number(n));
                    }
                }
            }
        }
        let text = self.slice(start, end)?;
        serde_json::from_str::<Number>(text)
            .map(Value::Number)
            .map_err(|_| invalid("number out of range", start))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize as _;

    use super::*;

    /// What parsing a text gave, in a form two parsers can be compared by.
    #[derive(Debug)]
    enum Outcome {
        /// A value.
        Ok(Value),
        /// A complete value followed by junk.
        Trailing,
        /// Any other error.
        Invalid,
    }

    /// The old path: serde_json's deserializer into a [`Value`], then `end`.
    fn reference(s: &str) -> Outcome {
        let mut de = serde_json::Deserializer::from_str(s);
        match Value::deserialize(&mut de) {
            Err(_) => Outcome::Invalid,
            Ok(v) => match de.end() {
                Ok(()) => Outcome::Ok(v),
                Err(_) => Outcome::Trailing,
            },
        }
    }

    /// The parser under test.
    fn ours(s: &str) -> Outcome {
        match parse(s) {
            Ok(v) => Outcome::Ok(v),
            Err(JsonError::TrailingData { .. }) => Outcome::Trailing,
            Err(JsonError::Invalid { .. }) => Outcome::Invalid,
        }
    }

    /// Everything that tells two numbers apart: kind, integer values and float bits (so that
    /// `-0.0` differs from `0.0`).
    fn number_key(n: &Number) -> impl PartialEq + std::fmt::Debug {
        (
            (n.is_u64(), n.is_i64(), n.is_f64()),
            (n.as_u64(), n.as_i64(), n.as_f64().map(f64::to_bits)),
        )
    }

    /// Equality with numbers compared by [`number_key`].
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => number_key(x) == number_key(y),
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .zip(y)
                        .all(|((ka, a), (kb, b))| ka == kb && same(a, b))
            }
            _ => a == b,
        }
    }

    /// Checks that both parsers agree on `s`; returns whether it is valid JSON.
    fn check(s: &str) -> bool {
        let (want, got) = (reference(s), ours(s));
        let agree = match (&want, &got) {
            (Outcome::Ok(a), Outcome::Ok(b)) => same(a, b),
            (Outcome::Trailing, Outcome::Trailing) | (Outcome::Invalid, Outcome::Invalid) => true,
            _ => false,
        };
        assert!(
            agree,
            "{s:?}: serde_json {want:?}, ours {got:?} ({:?})",
            parse(s)
        );
        matches!(want, Outcome::Ok(_))
    }

    /// A small deterministic PRNG (SplitMix64).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        /// A number in `0..n`.
        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())]
        }
    }

    /// Numbers at the edges: integer limits, `-0`, exponents, out-of-range floats, and the
    /// invalid forms.
    const NUMBERS: &[&str] = &[
        "0",
        "-0",
        "0.0",
        "-0.0",
        "-0e0",
        "1",
        "-1",
        "1E2",
        "1e2",
        "1e+2",
        "1e-2",
        "1E+0",
        "1.5e3",
        "-1.5E-3",
        "0.1",
        "0.5",
        "1.5",
        "4.35",
        "0.30000000000000004",
        "1.0000000000000002",
        "123456789012345",
        "12345678901234.5",
        "123456789012345.6",
        "0.00000000000001",
        "0.0000000000000000000001",
        "0.00000000000000000000001",
        "999999999999999999",
        "-999999999999999999",
        "1000000000000000000",
        "-1000000000000000000",
        "9007199254740992",
        "9007199254740993",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775807",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "-18446744073709551615",
        "-18446744073709551616",
        "18446744073709551615.5",
        "18446744073709551616e-5",
        "123456789012345678901234567890",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "-1.7976931348623159e308",
        "2.2250738585072014e-308",
        "5e-324",
        "1e-400",
        "1e308",
        "1e309",
        "1e999",
        "-1e999",
        "1e-999",
        "0e999",
        "0e99999999999",
        "0.0e99999999999",
        "1e99999999999",
        "-1e99999999999",
        "1e-99999999999",
        "1e2147483647",
        "1e-2147483648",
        "01",
        "-01",
        "00",
        "00.5",
        "-",
        "--1",
        "+1",
        "1.",
        "-1.",
        ".5",
        "-.5",
        "1e",
        "1e+",
        "1E-",
        "1.e5",
        "1.5e",
        "1.5.3",
        "1e5e3",
        "0x10",
        "1_000",
        "NaN",
        "-NaN",
        "Infinity",
        "-Infinity",
        "infinity",
    ];

    /// Hand-written texts covering every rule; valid and invalid.
    const TEXTS: &[&str] = &[
        // Empty and whitespace.
        "",
        " ",
        "\t\n\r ",
        " 0 ",
        "\t\n\r 1 \r\n\t",
        "\u{c}1",
        "\u{a0}1",
        "\u{feff}1",
        "\u{b}1",
        // Literals.
        "null",
        "true",
        "false",
        "nul",
        "tru",
        "fals",
        "nulll",
        "nullx",
        "truefalse",
        "True",
        "NULL",
        "n",
        // Arrays.
        "[]",
        "[ ]",
        "[\n]",
        "[[[]]]",
        "[1,2,3]",
        "[ 1 , 2 , 3 ]",
        "[true,false,null]",
        "[",
        "]",
        "[1",
        "[1,",
        "[1,]",
        "[,1]",
        "[,]",
        "[1,,2]",
        "[1 2]",
        "[[]",
        "[]]",
        "[1]\u{0}",
        "[] x",
        "[1]]",
        // Objects.
        "{}",
        "{ }",
        "{\"a\":1}",
        "{ \"a\" : 1 , \"b\" : [ ] }",
        "{\"a\":1,\"a\":2}",
        "{\"b\":1,\"a\":2,\"b\":3}",
        "{\"\":0}",
        "{\"a\":{\"b\":[1,{\"c\":null}]}}",
        "{",
        "}",
        "{\"a\"",
        "{\"a\":",
        "{\"a\":1",
        "{\"a\":1,",
        "{\"a\":1,}",
        "{,}",
        "{\"a\"}",
        "{\"a\" 1}",
        "{\"a\"::1}",
        "{\"a\":1 \"b\":2}",
        "{1:2}",
        "{null:2}",
        "{'a':1}",
        "{a:1}",
        "{\"a\":{}",
        "{}}",
        "{\"a\":1}}",
        // Strings.
        "\"\"",
        "\"abc\"",
        "\"abc",
        "\"",
        "'a'",
        "\"a\"\"b\"",
        "\"\\\"\"",
        "\"\\\\\"",
        "\"\\/\"",
        "\"\\b\\f\\n\\r\\t\"",
        "\"\\\"",
        "\"\\",
        "\"\\x\"",
        "\"\\a\"",
        "\"\\0\"",
        "\"\\'\"",
        "\"\\U0041\"",
        "\"\\u0041\"",
        "\"\\u00e9\\u00E9\"",
        "\"\\u0000\"",
        "\"\\u001f\"",
        "\"\\uffff\"",
        "\"\\uFFFD\"",
        "\"\\u12\"",
        "\"\\u12",
        "\"\\u123\"",
        "\"\\u12G4\"",
        "\"\\u-123\"",
        "\"\\u 123\"",
        "\"\\uD83D\\uDE00\"",
        "\"\\ud83d\\ude00\"",
        "\"\\uDBFF\\uDFFF\"",
        "\"\\uD800\\uDC00\"",
        "\"\\uD800\"",
        "\"\\uDC00\"",
        "\"\\uDFFF\"",
        "\"\\uD800\\u0041\"",
        "\"\\uD800\\uD800\"",
        "\"\\uD800\\uD800\\uDC00\"",
        "\"\\uDFFF\\uD800\"",
        "\"\\uD800\\n\"",
        "\"\\uD800x\"",
        "\"\\uD800\\\"",
        "\"\\uD800\\u\"",
        "\"\\uD800\\uDC0\"",
        "\"\\uD83D\"",
        "\"a\\uD83Db\"",
        "\"😀\"",
        "\"é中ß\u{7f}\u{80}\u{ffff}\"",
        "\"\u{1}\"",
        "\"\t\"",
        "\"\n\"",
        "\"\r\"",
        "\"\u{1f}\"",
        "\"\u{0}\"",
        "\"a\u{0}b\"",
        "\" \"",
        // Numbers in context.
        "[-0,0,-0.0,1E2,1e-2]",
        "[01]",
        "[1.]",
        "[-]",
        "[.5]",
        "{\"a\":1e}",
        "{\"a\":-}",
        "[1e999]",
        "[NaN]",
        "1 2",
        "1x",
        "-0-",
        "0.5.",
        "1,",
        // Socket.IO-like payloads.
        "[\"message\",{\"text\":\"hi \\\"there\\\"\",\"n\":1.5,\"tags\":[\"a\",\"b\"]}]",
        "[\"e\",{\"_placeholder\":true,\"num\":0}]",
    ];

    #[test]
    fn hand_written_cases_agree_with_serde_json() {
        let mut inputs: Vec<String> = TEXTS.iter().map(|s| (*s).to_owned()).collect();
        for n in NUMBERS {
            inputs.push((*n).to_owned());
            inputs.push(format!("[{n}]"));
            inputs.push(format!("{{\"n\": {n} }}"));
            inputs.push(format!(" -{n}"));
        }
        let valid = inputs.iter().filter(|s| check(s)).count();
        // Both kinds are well represented.
        assert!(
            valid > 200 && inputs.len() - valid > 200,
            "{valid} of {}",
            inputs.len()
        );
    }

    #[test]
    fn rules() {
        let invalid =
            |s: &str| assert!(matches!(parse(s), Err(JsonError::Invalid { .. })), "{s:?}");
        let trailing = |s: &str| {
            assert!(
                matches!(parse(s), Err(JsonError::TrailingData { .. })),
                "{s:?}"
            )
        };
        for s in [
            "",
            "[1,]",
            "{\"a\":1,}",
            "'a'",
            "NaN",
            "Infinity",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "\"\u{1}\"",
            "\"\\x\"",
            "\"\\uD800\"",
            "\"\\uDC00\"",
            "\"abc",
            "[1",
            "{\"a\":1",
            "1e999",
        ] {
            invalid(s);
        }
        for s in ["1 2", "[]]", "nullx", "\"a\"b", "1.5.3", "{} {}"] {
            trailing(s);
        }
        let n = |s: &str| match parse(s) {
            Ok(Value::Number(n)) => n,
            other => panic!("{s:?}: {other:?}"),
        };
        assert_eq!(n("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(n("-9223372036854775808").as_i64(), Some(i64::MIN));
        assert!(n("18446744073709551616").is_f64());
        assert!(n("-9223372036854775809").is_f64());
        assert!(n("1E2").is_f64());
        assert_eq!(
            n("-0").as_f64().map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
        assert_eq!(
            n("-0.0").as_f64().map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
        assert_eq!(
            parse("\"\\uD83D\\uDE00\"").ok(),
            Some(Value::String("😀".into()))
        );
        assert_eq!(
            parse(r#"{"a":1,"a":2}"#).ok(),
            Some(Value::Object(vec![
                ("a".into(), Value::from(1u64)),
                ("a".into(), Value::from(2u64)),
            ]))
        );
        // The offset is in the message.
        assert_eq!(
            parse("[1,]").map_err(|e| e.to_string()),
            Err("expected a value at byte 3".into())
        );
    }

    #[test]
    fn floats_are_read_correctly_rounded_and_written_back_exactly() {
        // Exponents and long mantissas go through serde_json, with its `float_roundtrip`
        // feature: without it, the last digit of such numbers moved.
        for text in [
            "1.2345678901234567e+38",
            "1.2345678901234567e38",
            "-9.87654321098765e-300",
            "2.2250738585072014e-308",
            "1.7976931348623157e308",
            "0.30000000000000004",
            "123456789.12345679",
            "5e-324",
            "18446744073709551616",
        ] {
            let Ok(Value::Number(n)) = parse(text) else {
                panic!("{text}: not a number")
            };
            let expected: f64 = text.parse().unwrap();
            assert_eq!(
                n.as_f64().map(f64::to_bits),
                Some(expected.to_bits()),
                "{text}"
            );
            // Written back, it reads as the same float.
            let written = Value::Number(n).to_string();
            let again: f64 = written.parse().unwrap();
            assert_eq!(again.to_bits(), expected.to_bits(), "{text} -> {written}");
        }
    }

    #[test]
    fn nesting_limit_matches_serde_json() {
        for depth in 120..=135 {
            for (open, close) in [("[", "]"), ("{\"a\":", "}"), ("[{\"a\":", "}]")] {
                let s = format!("{}1{}", open.repeat(depth), close.repeat(depth));
                check(&s);
                let s = format!("{}{}", open.repeat(depth), close.repeat(depth));
                check(&s);
            }
            check(&format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
            check(&format!("{}{{}}{}", "[".repeat(depth), "]".repeat(depth)));
        }
        assert!(parse(&format!("{}{}", "[".repeat(127), "]".repeat(127))).is_ok());
        assert!(parse(&format!("{}{}", "[".repeat(128), "]".repeat(128))).is_err());
    }

    #[test]
    fn huge_inputs_do_not_panic() {
        let deep = "[".repeat(100_000);
        assert!(matches!(parse(&deep), Err(JsonError::Invalid { .. })));
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(parse(&deep), Err(JsonError::Invalid { .. })));
        let deep = "{\"a\":".repeat(100_000);
        assert!(matches!(parse(&deep), Err(JsonError::Invalid { .. })));

        let body = "a".repeat(10 << 20);
        let s = format!("\"{body}\"");
        assert_eq!(parse(&s), Ok(Value::String(body.clone().into())));
        assert!(parse(&s[..s.len() - 1]).is_err());
        let s = format!("[\"{body}\\n\"]");
        assert_eq!(
            parse(&s),
            Ok(Value::Array(vec![Value::String(
                format!("{body}\n").into()
            )]))
        );
        let escaped = "\\n\\\"é".repeat(1 << 18);
        let s = format!("\"{escaped}\"");
        let Ok(Value::String(got)) = parse(&s) else {
            panic!("not a string");
        };
        assert_eq!(got, "\n\"é".repeat(1 << 18));
        assert!(parse(&s[..s.len() - 1]).is_err());
    }

    #[test]
    fn long_plain_strings_share_the_message_and_are_written_without_escaping() {
        let long = "x".repeat(100);
        let msg = Str::from(format!(r#"["{long}","short","e\"sc{long}"]"#));
        let Ok(Value::Array(items)) = parse_shared(&msg) else {
            panic!("an array")
        };
        let [
            Value::String(shared),
            Value::String(short),
            Value::String(escaped),
        ] = &items[..]
        else {
            panic!("three strings: {items:?}")
        };
        let range = msg.as_str().as_bytes().as_ptr_range();
        assert!(
            range.contains(&shared.as_str().as_ptr()),
            "shared, not copied"
        );
        assert!(
            !range.contains(&short.as_str().as_ptr()),
            "a short one is copied"
        );
        assert!(shared.is_plain() && short.is_plain());
        assert!(
            !escaped.is_plain(),
            "an unescaped string may need escaping again"
        );
        assert_eq!(escaped.as_str(), format!("e\"sc{long}"));
        // Written back exactly as read.
        assert_eq!(Value::Array(items.clone()).to_string(), msg.as_str());
        // A long string in a much longer message is copied: it would keep the message alive.
        let big = Str::from(format!(r#"["{long}",{}]"#, "1,".repeat(2000) + "1"));
        let Ok(Value::Array(items)) = parse_shared(&big) else {
            panic!("an array")
        };
        let range = big.as_str().as_bytes().as_ptr_range();
        assert!(!range.contains(&items[0].as_str().unwrap().as_ptr()));
        // Same values as the copying parser.
        assert_eq!(parse_shared(&msg).ok(), parse(msg.as_str()).ok());
    }

    #[test]
    fn string_runs_at_every_offset() {
        // Special bytes at each position of strings around the eight-byte word size.
        let specials = [
            "\"",
            "\\n",
            "\\\"",
            "\\u00e9",
            "\\uD83D\\uDE00",
            "\\",
            "\u{1}",
            "\u{1f}",
            "\u{7f}",
            "é",
            "😀",
            " ",
            "!",
            "#",
            "[",
            "\\x",
        ];
        let mut count = 0;
        // Around the eight-byte words and the 32-byte blocks of the scan.
        for len in (0..=40).chain(60..=72) {
            for at in 0..=len {
                for special in specials {
                    let s = format!("\"{}{special}{}\"", "a".repeat(at), "b".repeat(len - at));
                    check(&s);
                    count += 1;
                }
            }
        }
        assert!(count > 20_000);
    }

    /// Optional whitespace.
    fn gen_ws(rng: &mut Rng, out: &mut String) {
        while rng.below(4) == 0 {
            out.push(rng.pick(&[' ', '\t', '\n', '\r']));
        }
    }

    /// A valid string literal with escapes, non-ASCII and astral characters.
    fn gen_string(rng: &mut Rng, out: &mut String) {
        out.push('"');
        let len = if rng.below(8) == 0 {
            rng.below(300)
        } else {
            rng.below(24)
        };
        for _ in 0..len {
            match rng.below(24) {
                0 => out.push_str(
                    rng.pick(&["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"]),
                ),
                1 => {
                    // A BMP character, not a surrogate, as an escape in either case.
                    let mut c = u32::try_from(rng.below(0x1_0000)).unwrap_or(0);
                    if (0xD800..=0xDFFF).contains(&c) {
                        c = u32::try_from(rng.below(0x80)).unwrap_or(0);
                    }
                    if rng.below(2) == 0 {
                        out.push_str(&format!("\\u{c:04x}"));
                    } else {
                        out.push_str(&format!("\\u{c:04X}"));
                    }
                }
                2 => {
                    // An astral character as a surrogate pair.
                    let c = 0x1_0000 + u32::try_from(rng.below(0x10_0000)).unwrap_or(0);
                    let v = c - 0x1_0000;
                    out.push_str(&format!(
                        "\\u{:04x}\\u{:04X}",
                        0xD800 + (v >> 10),
                        0xDC00 + (v & 0x3FF)
                    ));
                }
                3 => out.push(rng.pick(&['😀', '𝄞', '\u{10FFFF}', '\u{1F600}'])),
                4 => out.push(rng.pick(&['é', '中', 'ß', '\u{7f}', '\u{80}', '\u{FFFD}'])),
                _ => {
                    let b = u8::try_from(0x20 + rng.below(0x5F)).unwrap_or(b'a');
                    if b != b'"' && b != b'\\' {
                        out.push(char::from(b));
                    }
                }
            }
        }
        out.push('"');
    }

    /// A number: an edge case (possibly invalid) or a random valid one.
    fn gen_number(rng: &mut Rng, out: &mut String) {
        let digits = |rng: &mut Rng, out: &mut String, n: usize| {
            for _ in 0..n {
                out.push(char::from(b'0' + u8::try_from(rng.below(10)).unwrap_or(0)));
            }
        };
        match rng.below(6) {
            0 => out.push_str(rng.pick(NUMBERS)),
            _ => {
                if rng.below(3) == 0 {
                    out.push('-');
                }
                if rng.below(6) == 0 {
                    out.push('0');
                } else {
                    out.push(char::from(b'1' + u8::try_from(rng.below(9)).unwrap_or(0)));
                    let max = if rng.below(4) == 0 { 25 } else { 6 };
                    let n = rng.below(max);
                    digits(rng, out, n);
                }
                if rng.below(3) == 0 {
                    out.push('.');
                    let max = if rng.below(4) == 0 { 25 } else { 6 };
                    let n = 1 + rng.below(max);
                    digits(rng, out, n);
                }
                if rng.below(6) == 0 {
                    out.push_str(rng.pick(&["e", "E", "e+", "e-", "E-"]));
                    let n = 1 + rng.below(3);
                    digits(rng, out, n);
                }
            }
        }
    }

    /// A random value, `depth` levels deep at most.
    fn gen_value(rng: &mut Rng, depth: usize, out: &mut String) {
        gen_ws(rng, out);
        let kinds = if depth == 0 { 5 } else { 8 };
        match rng.below(kinds) {
            0 => out.push_str(rng.pick(&["null", "true", "false"])),
            1 | 2 => gen_number(rng, out),
            3 | 4 => gen_string(rng, out),
            5 | 6 => {
                out.push('[');
                gen_ws(rng, out);
                for i in 0..rng.below(5) {
                    if i > 0 {
                        out.push(',');
                    }
                    gen_value(rng, depth - 1, out);
                }
                out.push(']');
            }
            _ => {
                out.push('{');
                gen_ws(rng, out);
                for i in 0..rng.below(5) {
                    if i > 0 {
                        out.push(',');
                    }
                    gen_ws(rng, out);
                    if rng.below(5) == 0 {
                        out.push_str(rng.pick(&["\"a\"", "\"\"", "\"k\\n\""]));
                    } else {
                        gen_string(rng, out);
                    }
                    gen_ws(rng, out);
                    out.push(':');
                    gen_value(rng, depth - 1, out);
                }
                out.push('}');
            }
        }
        gen_ws(rng, out);
    }

    /// `s` with one random edit, possibly making it invalid.
    fn mutate(rng: &mut Rng, s: &str) -> String {
        let mut chars: Vec<char> = s.chars().collect();
        let at = rng.below(chars.len() + 1);
        let nasty = [
            '"', '\\', ',', ':', '[', ']', '{', '}', '0', '1', '-', '+', '.', 'e', 'u', 'x', ' ',
            '\'', '\u{0}', '\u{1f}', '\n', 'D', '😀',
        ];
        match rng.below(5) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 => chars.truncate(at),
            2 if at < chars.len() => chars[at] = rng.pick(&nasty),
            3 => {
                let end = (at + rng.below(8)).min(chars.len());
                let copy: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, copy);
            }
            _ => chars.insert(at, rng.pick(&nasty)),
        }
        chars.into_iter().collect()
    }

    #[test]
    fn generated_cases_agree_with_serde_json() {
        let mut rng = Rng(0x5EED_0F7E_5700);
        let (mut valid, mut invalid) = (0, 0);
        for i in 0..600 {
            let mut s = String::new();
            gen_value(&mut rng, 1 + i % 6, &mut s);
            if check(&s) {
                valid += 1;
            } else {
                invalid += 1;
            }
            for _ in 0..4 {
                let m = mutate(&mut rng, &s);
                let m = if rng.below(3) == 0 {
                    mutate(&mut rng, &m)
                } else {
                    m
                };
                if check(&m) {
                    valid += 1;
                } else {
                    invalid += 1;
                }
            }
        }
        // Random nesting deep enough for the limit, with values in it.
        for _ in 0..50 {
            let depth = 100 + rng.below(60);
            let mut s = String::new();
            let mut closes = Vec::new();
            for _ in 0..depth {
                if rng.below(2) == 0 {
                    s.push('[');
                    closes.push("]");
                } else {
                    s.push_str("{\"k\":");
                    closes.push("}");
                }
                gen_ws(&mut rng, &mut s);
            }
            gen_value(&mut rng, 2, &mut s);
            while let Some(c) = closes.pop() {
                s.push_str(c);
            }
            if check(&s) {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
        assert!(
            valid > 500 && invalid > 500,
            "{valid} valid, {invalid} invalid"
        );
    }
}
