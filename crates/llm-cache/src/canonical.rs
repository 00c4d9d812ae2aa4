//! Canonical JSON: one byte string per JSON value, whatever the key order or number spelling.
//!
//! Object keys are sorted at every level (by their UTF-8 bytes), there is no whitespace, strings use
//! serde_json's escaping, and numbers are normalised so that `0`, `0.0` and `-0.0` are one spelling: a
//! float with an integral value that fits an `i64` is written as that integer.
//!
//! Cache keys are written by the serializer in `canonical_serializer`, straight from the request; this
//! module holds the string and number rules it shares, and (in tests) the definition over a
//! `serde_json::Value` that keys were first computed with and that the serializer must still match.

use std::fmt::{self, Write as _};

#[cfg(test)]
use serde_json::{Number, Value};

/// Appends the canonical form of `value` to `out`: the definition the serializer in
/// `canonical_serializer` must match byte for byte (its tests compare the two).
#[cfg(test)]
pub fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => write_number(number, out),
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // serde_json's map is usually a BTreeMap, already in byte order; sort only when it is not
            // (its `preserve_order` feature keeps insertion order).
            if map.keys().is_sorted_by(|a, b| a.as_bytes() <= b.as_bytes()) {
                write_entries(map.iter(), out);
            } else {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                write_entries(entries.into_iter(), out);
            }
        }
    }
}

#[cfg(test)]
fn write_entries<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut String) {
    out.push('{');
    for (index, (name, item)) in entries.enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_string(name, out);
        out.push(':');
        write_canonical(item, out);
    }
    out.push('}');
}

/// The canonical form of `value` as a string.
#[cfg(test)]
pub fn to_canonical_string(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_canonical(value, &mut out);
    out
}

/// The largest magnitude below which every integral f64 is exactly an i64 (2^63).
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

#[cfg(test)]
fn write_number(number: &Number, out: &mut String) {
    if let Some(unsigned) = number.as_u64() {
        write_integer(unsigned, out);
    } else if let Some(signed) = number.as_i64() {
        write_integer(signed, out);
    } else if let Some(float) = number.as_f64() {
        write_float(float, out);
    }
}

/// Appends an integer.
pub(crate) fn write_integer(value: impl fmt::Display, out: &mut String) {
    let _ = write!(out, "{value}");
}

/// Appends a finite float: as an integer when it is integral and fits an `i64`, else in Rust's
/// shortest round-trip form.
pub(crate) fn write_float(float: f64, out: &mut String) {
    if float.fract() == 0.0 && float.abs() < I64_LIMIT {
        // Integral and in range: the cast is exact, and -0.0 becomes 0.
        let _ = write!(out, "{}", float as i64);
    } else {
        // Rust's shortest round-trip formatting: one spelling per f64 value.
        let _ = write!(out, "{float:?}");
    }
}

pub(crate) fn write_string(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(text.len() + 2);
    out.push('"');
    // Runs of bytes that need no escape are copied whole; every escaped byte is ASCII, so each cut
    // falls on a character boundary.
    let mut run_start = 0;
    for (index, &byte) in text.as_bytes().iter().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[run_start..index]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        } else {
            out.push_str(escape);
        }
        run_start = index + 1;
    }
    out.push_str(&text[run_start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_at_every_level_without_whitespace() {
        let value: Value =
            serde_json::from_str(r#"{"b": 1, "a": {"z": [ {"y": 1, "x": 2} ], "c": null}}"#).unwrap();
        assert_eq!(
            to_canonical_string(&value),
            r#"{"a":{"c":null,"z":[{"x":2,"y":1}]},"b":1}"#
        );
    }

    #[test]
    fn integral_floats_and_negative_zero_normalise() {
        let cases = [
            (json!(0), "0"),
            (json!(0.0), "0"),
            (json!(-0.0), "0"),
            (json!(2.0), "2"),
            (json!(-7.0), "-7"),
            (json!(0.7), "0.7"),
            (json!(1e300), "1e300"),
            (json!(u64::MAX), "18446744073709551615"),
            (json!(i64::MIN), "-9223372036854775808"),
        ];
        for (value, expected) in cases {
            assert_eq!(to_canonical_string(&value), expected, "{value}");
        }
    }

    /// The escaping before runs were copied whole: one char at a time. Keys must not change.
    fn write_string_char_by_char(text: &str, out: &mut String) {
        out.push('"');
        for ch in text.chars() {
            match ch {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{08}' => out.push_str("\\b"),
                '\u{0c}' => out.push_str("\\f"),
                control if u32::from(control) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", u32::from(control));
                }
                other => out.push(other),
            }
        }
        out.push('"');
    }

    #[test]
    fn string_escaping_matches_the_char_by_char_form() {
        let mut texts: Vec<String> = (0u8..0x80)
            .map(|byte| format!("a{}b", char::from(byte)))
            .collect();
        texts.extend(
            [
                "",
                "plain",
                "é😀\u{7f}\u{80}\u{2028}",
                "\"\\\n\u{1}x\u{1f}",
                "end\\",
            ]
            .map(String::from),
        );
        for text in texts {
            let (mut fast, mut reference) = (String::new(), String::new());
            write_string(&text, &mut fast);
            write_string_char_by_char(&text, &mut reference);
            assert_eq!(fast, reference, "{text:?}");
        }
    }

    #[test]
    fn insertion_ordered_maps_sort_like_btree_maps() {
        let mut map = serde_json::Map::new();
        map.insert("b".into(), json!(1));
        map.insert("a".into(), json!(2));
        assert_eq!(to_canonical_string(&Value::Object(map)), r#"{"a":2,"b":1}"#);
    }

    #[test]
    fn strings_escape_like_json_and_parse_back() {
        let text = "quote \" backslash \\ newline \n tab \t bell \u{7} é 😀";
        let out = to_canonical_string(&json!(text));
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, text);
        assert!(out.contains("\\u0007"));
    }
}
