//! Canonical JSON: one byte string per JSON value, whatever the key order or number spelling.
//!
//! Object keys are sorted at every level (by their UTF-8 bytes), there is no whitespace, strings use
//! serde_json's escaping, and numbers are normalised so that `0`, `0.0` and `-0.0` are one spelling: a
//! float with an integral value that fits an `i64` is written as that integer.

use std::fmt::Write as _;

use serde_json::{Number, Value};

/// Appends the canonical form of `value` to `out`.
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
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (index, (name, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(name, out);
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
    }
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

fn write_number(number: &Number, out: &mut String) {
    if let Some(unsigned) = number.as_u64() {
        let _ = write!(out, "{unsigned}");
    } else if let Some(signed) = number.as_i64() {
        let _ = write!(out, "{signed}");
    } else if let Some(float) = number.as_f64() {
        if float.fract() == 0.0 && float.abs() < I64_LIMIT {
            // Integral and in range: the cast is exact, and -0.0 becomes 0.
            let _ = write!(out, "{}", float as i64);
        } else {
            // Rust's shortest round-trip formatting: one spelling per f64 value.
            let _ = write!(out, "{float:?}");
        }
    }
}

fn write_string(text: &str, out: &mut String) {
    out.reserve(text.len() + 2);
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

    #[test]
    fn strings_escape_like_json_and_parse_back() {
        let text = "quote \" backslash \\ newline \n tab \t bell \u{7} é 😀";
        let out = to_canonical_string(&json!(text));
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, text);
        assert!(out.contains("\\u0007"));
    }
}
