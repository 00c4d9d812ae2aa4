//! A serde serializer that writes canonical JSON straight from a value's `Serialize`, without first
//! building a `serde_json::Value` (which allocated a string and a map node per field of every cache
//! lookup's request).
//!
//! The output is byte for byte what [`write_canonical`](crate::canonical::write_canonical) writes for
//! `serde_json::to_value` of the same value: object keys sorted by their bytes (a repeated key keeps
//! its last value, as a map insert does), no whitespace, the same string escaping and number
//! normalisation, non-finite floats as `null`, unit variants as strings and newtype variants as
//! one-key objects.

use std::fmt::{self, Display};

use serde::ser::{self, Serialize};

use crate::canonical::{write_float, write_integer, write_string};

/// Why a value has no canonical form: a map key that is not a string or a number, or a `Serialize`
/// implementation that failed.
#[derive(Debug)]
pub struct CanonicalError(String);

impl Display for CanonicalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CanonicalError {}

impl ser::Error for CanonicalError {
    fn custom<T: Display>(message: T) -> Self {
        Self(message.to_string())
    }
}

/// Appends the canonical JSON of `value` to `out`, leaving out the top-level object's fields named
/// in `skip_fields`. On error `out` may hold part of the value.
pub fn write_canonical_of<T: Serialize + ?Sized>(
    value: &T,
    skip_fields: &'static [&'static str],
    out: &mut String,
) -> Result<(), CanonicalError> {
    value.serialize(Canonical { out, skip_fields })
}

/// Writes one value into `out`; `skip_fields` applies to the object this value is, if any.
struct Canonical<'a> {
    out: &'a mut String,
    skip_fields: &'static [&'static str],
}

impl<'a> Canonical<'a> {
    fn nested(out: &'a mut String) -> Self {
        Self {
            out,
            skip_fields: &[],
        }
    }
}

type Done = Result<(), CanonicalError>;

impl<'a> ser::Serializer for Canonical<'a> {
    type Ok = ();
    type Error = CanonicalError;
    type SerializeSeq = Array<'a>;
    type SerializeTuple = Array<'a>;
    type SerializeTupleStruct = Array<'a>;
    type SerializeTupleVariant = VariantWrapper<Array<'a>>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = VariantWrapper<Object<'a>>;

    fn serialize_bool(self, value: bool) -> Done {
        self.out.push_str(if value { "true" } else { "false" });
        Ok(())
    }

    fn serialize_i8(self, value: i8) -> Done {
        self.serialize_i64(i64::from(value))
    }

    fn serialize_i16(self, value: i16) -> Done {
        self.serialize_i64(i64::from(value))
    }

    fn serialize_i32(self, value: i32) -> Done {
        self.serialize_i64(i64::from(value))
    }

    fn serialize_i64(self, value: i64) -> Done {
        write_integer(value, self.out);
        Ok(())
    }

    fn serialize_i128(self, value: i128) -> Done {
        match i64::try_from(value) {
            Ok(small) => self.serialize_i64(small),
            Err(_) => match u64::try_from(value) {
                Ok(unsigned) => self.serialize_u64(unsigned),
                Err(_) => Err(ser::Error::custom("number out of range")),
            },
        }
    }

    fn serialize_u8(self, value: u8) -> Done {
        self.serialize_u64(u64::from(value))
    }

    fn serialize_u16(self, value: u16) -> Done {
        self.serialize_u64(u64::from(value))
    }

    fn serialize_u32(self, value: u32) -> Done {
        self.serialize_u64(u64::from(value))
    }

    fn serialize_u64(self, value: u64) -> Done {
        write_integer(value, self.out);
        Ok(())
    }

    fn serialize_u128(self, value: u128) -> Done {
        u64::try_from(value)
            .map_err(|_| ser::Error::custom("number out of range"))
            .and_then(|small| self.serialize_u64(small))
    }

    fn serialize_f32(self, value: f32) -> Done {
        self.serialize_f64(f64::from(value))
    }

    fn serialize_f64(self, value: f64) -> Done {
        if value.is_finite() {
            write_float(value, self.out);
        } else {
            self.out.push_str("null");
        }
        Ok(())
    }

    fn serialize_char(self, value: char) -> Done {
        write_string(value.encode_utf8(&mut [0; 4]), self.out);
        Ok(())
    }

    fn serialize_str(self, value: &str) -> Done {
        write_string(value, self.out);
        Ok(())
    }

    fn serialize_bytes(self, value: &[u8]) -> Done {
        let mut array = self.serialize_seq(Some(value.len()))?;
        for byte in value {
            ser::SerializeSeq::serialize_element(&mut array, byte)?;
        }
        ser::SerializeSeq::end(array)
    }

    fn serialize_none(self) -> Done {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Done {
        self.out.push_str("null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Done {
        self.serialize_unit()
    }

    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Done {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Done {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Done {
        self.out.push('{');
        write_string(variant, self.out);
        self.out.push(':');
        value.serialize(Canonical::nested(self.out))?;
        self.out.push('}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Array<'a>, CanonicalError> {
        self.out.push('[');
        Ok(Array {
            out: self.out,
            first: true,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Array<'a>, CanonicalError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Array<'a>, CanonicalError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantWrapper<Array<'a>>, CanonicalError> {
        self.out.push('{');
        write_string(variant, self.out);
        self.out.push(':');
        Ok(VariantWrapper(
            Canonical::nested(self.out).serialize_seq(Some(len))?,
        ))
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Object<'a>, CanonicalError> {
        Ok(Object {
            out: self.out,
            skip_fields: self.skip_fields,
            entries: Vec::with_capacity(len.unwrap_or(8)),
            key: None,
        })
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Object<'a>, CanonicalError> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantWrapper<Object<'a>>, CanonicalError> {
        self.out.push('{');
        write_string(variant, self.out);
        self.out.push(':');
        Ok(VariantWrapper(
            Canonical::nested(self.out).serialize_map(Some(len))?,
        ))
    }
}

/// An array being written.
struct Array<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Array<'a> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        value.serialize(Canonical::nested(self.out))
    }

    fn close(self) -> &'a mut String {
        self.out.push(']');
        self.out
    }
}

/// Sequences, tuples and tuple structs are all arrays.
macro_rules! array_serializer {
    ($trait:ident, $method:ident) => {
        impl ser::$trait for Array<'_> {
            type Ok = ();
            type Error = CanonicalError;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
                self.element(value)
            }

            fn end(self) -> Done {
                self.close();
                Ok(())
            }
        }
    };
}

array_serializer!(SerializeSeq, serialize_element);
array_serializer!(SerializeTuple, serialize_element);
array_serializer!(SerializeTupleStruct, serialize_field);

/// An object being collected: its entries are written sorted when it ends.
struct Object<'a> {
    out: &'a mut String,
    skip_fields: &'static [&'static str],
    /// (key, canonical value) in insertion order.
    entries: Vec<(String, String)>,
    /// The key whose value comes next (maps send keys and values separately).
    key: Option<String>,
}

impl<'a> Object<'a> {
    fn entry<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Done {
        if self.skip_fields.contains(&key.as_str()) {
            return Ok(());
        }
        let mut written = String::new();
        value.serialize(Canonical::nested(&mut written))?;
        self.entries.push((key, written));
        Ok(())
    }

    fn close(mut self) -> &'a mut String {
        // Stable, so that of a repeated key the last value is last; it is the one kept.
        self.entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        self.out.push('{');
        let mut first = true;
        for (index, (key, value)) in self.entries.iter().enumerate() {
            if self.entries.get(index + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            if !first {
                self.out.push(',');
            }
            first = false;
            write_string(key, self.out);
            self.out.push(':');
            self.out.push_str(value);
        }
        self.out.push('}');
        self.out
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = CanonicalError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Done {
        self.key = Some(map_key(key)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        let key = self
            .key
            .take()
            .ok_or_else(|| ser::Error::custom("a map value came before its key"))?;
        self.entry(key, value)
    }

    fn end(self) -> Done {
        self.close();
        Ok(())
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = CanonicalError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Done {
        self.entry(key.to_owned(), value)
    }

    fn end(self) -> Done {
        self.close();
        Ok(())
    }
}

/// A variant's content, closed by the `}` of its one-key object.
struct VariantWrapper<S>(S);

impl ser::SerializeTupleVariant for VariantWrapper<Array<'_>> {
    type Ok = ();
    type Error = CanonicalError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        self.0.element(value)
    }

    fn end(self) -> Done {
        self.0.close().push('}');
        Ok(())
    }
}

impl ser::SerializeStructVariant for VariantWrapper<Object<'_>> {
    type Ok = ();
    type Error = CanonicalError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Done {
        self.0.entry(key.to_owned(), value)
    }

    fn end(self) -> Done {
        self.0.close().push('}');
        Ok(())
    }
}

/// A map key as serde_json takes it: a string as itself; a number, bool or char as its text.
fn map_key<T: Serialize + ?Sized>(key: &T) -> Result<String, CanonicalError> {
    match serde_json::to_value(key).map_err(ser::Error::custom)? {
        serde_json::Value::String(text) => Ok(text),
        serde_json::Value::Number(number) => Ok(number.to_string()),
        serde_json::Value::Bool(flag) => Ok(flag.to_string()),
        _ => Err(ser::Error::custom("an object key must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_json::{Value, json};

    use super::*;
    use crate::canonical::write_canonical;

    fn through_value<T: Serialize>(value: &T) -> String {
        let mut out = String::new();
        write_canonical(&serde_json::to_value(value).unwrap(), &mut out);
        out
    }

    fn direct<T: Serialize>(value: &T) -> String {
        let mut out = String::new();
        write_canonical_of(value, &[], &mut out).unwrap();
        out
    }

    #[derive(Serialize)]
    enum Shape {
        Empty,
        Wrapped(u8),
        Pair(i32, &'static str),
        Named { z: f64, a: Option<bool> },
    }

    #[derive(Serialize)]
    struct Outer {
        zeta: Vec<Shape>,
        alpha: (char, i128, u128),
        #[serde(with = "serde_bytes_as_seq")]
        bytes: Vec<u8>,
        nothing: (),
        #[serde(flatten)]
        extra: BTreeMap<String, Value>,
    }

    mod serde_bytes_as_seq {
        pub fn serialize<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_bytes(bytes)
        }
    }

    #[test]
    fn every_serde_shape_matches_the_value_path() {
        let outer = Outer {
            zeta: vec![
                Shape::Empty,
                Shape::Wrapped(7),
                Shape::Pair(-1, "x"),
                Shape::Named { z: -0.0, a: None },
                Shape::Named {
                    z: 2.5,
                    a: Some(true),
                },
            ],
            alpha: ('é', -5, 6),
            bytes: vec![0, 255],
            nothing: (),
            extra: BTreeMap::from([
                ("b".to_owned(), json!({"y": [1, 2.0, f64::MAX], "x": "\u{1f}"})),
                ("a".to_owned(), json!(null)),
            ]),
        };
        assert_eq!(direct(&outer), through_value(&outer));
        let keyed: BTreeMap<i32, bool> = BTreeMap::from([(10, true), (2, false)]);
        assert_eq!(direct(&keyed), through_value(&keyed));
        assert_eq!(direct(&keyed), r#"{"10":true,"2":false}"#);
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_and_skipped_fields_only_apply_at_the_top() {
        struct Repeated;
        impl Serialize for Repeated {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("k", &1)?;
                map.serialize_entry("skip", &json!({"skip": 1}))?;
                map.serialize_entry("k", &2)?;
                map.end()
            }
        }
        assert_eq!(direct(&Repeated), through_value(&Repeated));
        let mut out = String::new();
        write_canonical_of(&Repeated, &["skip"], &mut out).unwrap();
        assert_eq!(out, r#"{"k":2}"#);
        let mut nested = String::new();
        write_canonical_of(&json!({"top": {"skip": 1}}), &["skip"], &mut nested).unwrap();
        assert_eq!(nested, r#"{"top":{"skip":1}}"#);
    }

    #[test]
    fn keys_that_are_not_text_are_refused() {
        let map = BTreeMap::from([(vec![1], 1)]);
        assert!(write_canonical_of(&map, &[], &mut String::new()).is_err());
    }
}
