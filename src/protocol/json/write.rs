//! The JSON writer: a [`Value`] straight into one `String`, as serde_json would write it.

use std::fmt::Write as _;

use bytes::Bytes;

use crate::protocol::value::Value;

/// Writes the value as JSON text, exactly as serde_json would write the same data (compact,
/// same string escaping, same number formatting).
///
/// A byte buffer is handed to `attachments` when given: it is pushed there and written as the
/// placeholder `{"_placeholder":true,"num":N}`, N being its index in `attachments`. Without
/// `attachments` it is written as an array of numbers.
pub(crate) fn write_json(v: &Value, out: &mut String, mut attachments: Option<&mut Vec<Bytes>>) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        // `Display` of a Number is the text serde_json writes for it (itoa / shortest float).
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        // Read from a message without escapes: copied as it is, without a scan.
        Value::String(s) if s.is_plain() => {
            out.push('"');
            out.push_str(s);
            out.push('"');
        }
        Value::String(s) => write_json_str(s, out),
        Value::Bytes(b) => match attachments {
            Some(list) => {
                let _ = write!(out, r#"{{"_placeholder":true,"num":{}}}"#, list.len());
                list.push(b.clone());
            }
            None => {
                out.push('[');
                for (i, byte) in b.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{byte}");
                }
                out.push(']');
            }
        },
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out, attachments.as_deref_mut());
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (k, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_str(k, out);
                out.push(':');
                write_json(item, out, attachments.as_deref_mut());
            }
            out.push('}');
        }
    }
}

/// Writes a JSON string literal with serde_json's escaping: `"` and `\` are escaped, the
/// control characters U+0000..=U+001F use `\b \t \n \f \r` or `\u00xx` (lowercase hex), and
/// everything else (including `/`, DEL and non-ASCII) is written as it is.
pub(crate) fn write_json_str(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = next_escape(bytes, 0);
    while let Some(&b) = bytes.get(i) {
        // `i` is the index of an ASCII byte, hence a char boundary.
        if let Some(run) = s.get(start..i) {
            out.push_str(run);
        }
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            _ => "",
        };
        if short.is_empty() {
            out.push_str("\\u00");
            out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
        } else {
            out.push_str(short);
        }
        start = i + 1;
        i = next_escape(bytes, start);
    }
    if let Some(run) = s.get(start..) {
        out.push_str(run);
    }
    out.push('"');
}

/// Whether a JSON string must escape this byte: `"`, `\` and the control characters.
fn must_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// The index of the first byte at or after `from` that a JSON string must escape (`len` when
/// none). The encoder's hot loop, and the JSON parser's ([`super::json`]): the same bytes end a
/// run of plain text in a string literal.
///
/// One `u64` word first, tested with SWAR (short strings, keys and names, end in it), then
/// 64-byte blocks tested by a loop the compiler vectorizes (a 4 KB string encodes in 243 ns
/// instead of 292 with four SWAR words per step, and decodes in 370 instead of 426), then one
/// word per step, then byte by byte. Always inlined: with a call, the encoder's many short
/// strings (object keys) were 10 % slower than with the old one-word loop inlined.
#[inline(always)]
pub(crate) fn next_escape(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    'words: {
        // One word first: short strings (keys, names) end in it.
        match bytes.get(i..i + 8) {
            Some(chunk) if escape_mask(word(chunk)) == 0 => i += 8,
            _ => break 'words,
        }
        while let Some(block) = bytes.get(i..i + 64) {
            if !block_is_plain(block) {
                break;
            }
            i += 64;
        }
        while let Some(chunk) = bytes.get(i..i + 8) {
            if escape_mask(word(chunk)) != 0 {
                break;
            }
            i += 8;
        }
    }
    while bytes.get(i).is_some_and(|&b| !must_escape(b)) {
        i += 1;
    }
    i
}

/// Whether no byte of `block` must be escaped. A loop without an early exit, which the compiler
/// turns into vector instructions (16 bytes per step on the x86-64 baseline).
#[inline(always)]
fn block_is_plain(block: &[u8]) -> bool {
    block
        .iter()
        .fold(0u8, |hit, &b| hit | u8::from(must_escape(b)))
        == 0
}

/// Eight bytes as a little-endian word (a zero word, which has bytes to escape, if `chunk` is
/// not eight bytes long).
fn word(chunk: &[u8]) -> u64 {
    u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default())
}

/// Nonzero exactly when some byte of `w` must be escaped: is below 0x20, or equal to `"` or
/// `\`. (Exact as a yes/no test; which bits are set is not, past the first hit.)
fn escape_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    ((w.wrapping_sub(ONES * 0x20) & !w)
        | (quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash))
        & HIGH
}

/// A cheap estimate of the length of the JSON text of `v` (exact for most data, short for
/// strings that need escaping), used to size the output buffer once.
pub(crate) fn json_len_hint(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 8,
        Value::String(s) => s.len().saturating_add(2),
        Value::Bytes(_) => 30,
        Value::Array(items) => items.iter().fold(2, |acc: usize, i| {
            acc.saturating_add(json_len_hint(i)).saturating_add(1)
        }),
        Value::Object(fields) => fields.iter().fold(2, |acc: usize, (k, i)| {
            acc.saturating_add(k.len())
                .saturating_add(4)
                .saturating_add(json_len_hint(i))
        }),
    }
}
