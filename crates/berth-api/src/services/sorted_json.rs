//! Compact JSON with every object's members sorted by name, written straight into bytes.
//!
//! The bytes are those of `serde_json::to_vec(&serde_json::to_value(v)?)` (serde_json without
//! `preserve_order` keeps an object's members in a `BTreeMap`, so a `Value` prints them sorted,
//! a member named twice keeping its last value), without building the `Value` tree: each
//! object's members are written into buffers of their own and copied out in order.

use serde::Serialize;
use serde::ser::{self, Error as _, Impossible};
use serde_json::Error;

/// `value` as `serde_json::to_vec(&serde_json::to_value(value)?)` writes it; an object member
/// named `drop_top` of the outermost objects (of the outermost array's elements, for an
/// array) is left out, as `Map::remove` on the `Value` would.
pub(crate) fn to_vec<T: Serialize + ?Sized>(
    value: &T,
    drop_top: Option<&'static str>,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(1024);
    write(&mut out, value, drop_top, 0)?;
    Ok(out)
}

fn write<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
    drop_top: Option<&'static str>,
    depth: u8,
) -> Result<(), Error> {
    value.serialize(Sorted {
        out,
        drop: if depth <= 1 { drop_top } else { None },
        drop_top,
        depth,
    })
}

/// A primitive as serde_json writes it.
fn prim<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), Error> {
    serde_json::to_writer(out, v)
}

struct Sorted<'o> {
    out: &'o mut Vec<u8>,
    /// The member to leave out of this object, if it is one.
    drop: Option<&'static str>,
    drop_top: Option<&'static str>,
    depth: u8,
}

impl Sorted<'_> {
    /// The depth of this value's children: an array's elements count as the outermost
    /// objects only when the array itself is outermost.
    fn child_depth(&self, array: bool) -> u8 {
        if array && self.depth == 0 { 1 } else { 2 }
    }
}

struct SeqW<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
    drop_top: Option<&'static str>,
    depth: u8,
}

struct MapW<'o> {
    out: &'o mut Vec<u8>,
    members: Vec<(String, Vec<u8>)>,
    key: Option<String>,
    drop: Option<&'static str>,
    /// `Some(name)`: a variant's object `{name: [...]}` or `{name: {...}}` around this one.
    variant: Option<&'static str>,
}

impl MapW<'_> {
    fn member<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<(), Error> {
        let mut buf = Vec::new();
        write(&mut buf, value, None, 2)?;
        self.members.push((key, buf));
        Ok(())
    }

    fn finish(mut self) -> Result<(), Error> {
        // Stable: of two members of one name, the later stays last, and is the one kept.
        self.members.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(v) = self.variant {
            self.out.push(b'{');
            prim(self.out, v)?;
            self.out.push(b':');
        }
        self.out.push(b'{');
        let mut first = true;
        let n = self.members.len();
        for i in 0..n {
            let (k, v) = &self.members[i];
            if i + 1 < n && self.members[i + 1].0 == *k {
                continue;
            }
            if self.drop == Some(k.as_str()) {
                continue;
            }
            if !first {
                self.out.push(b',');
            }
            first = false;
            prim(self.out, k.as_str())?;
            self.out.push(b':');
            self.out.extend_from_slice(v);
        }
        self.out.push(b'}');
        if self.variant.is_some() {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl<'o> SeqW<'o> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write(self.out, value, self.drop_top, self.depth)
    }
}

impl<'o> ser::Serializer for Sorted<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = SeqW<'o>;
    type SerializeTuple = SeqW<'o>;
    type SerializeTupleStruct = SeqW<'o>;
    type SerializeTupleVariant = VariantSeq<'o>;
    type SerializeMap = MapW<'o>;
    type SerializeStruct = MapW<'o>;
    type SerializeStructVariant = MapW<'o>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        prim(self.out, &v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        prim(self.out, &v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        prim(self.out, &v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        prim(self.out, &v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        prim(self.out, &v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        // As `to_value`: a number only within i64/u64.
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(i), _) => prim(self.out, &i),
            (_, Ok(u)) => prim(self.out, &u),
            _ => Err(Error::custom("number out of range")),
        }
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        prim(self.out, &v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        prim(self.out, &v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        prim(self.out, &v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        prim(self.out, &v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        match u64::try_from(v) {
            Ok(u) => prim(self.out, &u),
            Err(_) => Err(Error::custom("number out of range")),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        // `to_value` keeps an f32 as the f64 it widens to.
        prim(self.out, &f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        prim(self.out, &v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        prim(self.out, &v)
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        prim(self.out, v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        prim(self.out, v)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        prim(self.out, variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        prim(self.out, variant)?;
        self.out.push(b':');
        write(self.out, value, None, 2)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<SeqW<'o>, Error> {
        let depth = self.child_depth(true);
        self.out.push(b'[');
        Ok(SeqW {
            out: self.out,
            first: true,
            drop_top: self.drop_top,
            depth,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqW<'o>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqW<'o>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<VariantSeq<'o>, Error> {
        self.out.push(b'{');
        prim(self.out, variant)?;
        self.out.extend_from_slice(b":[");
        Ok(VariantSeq(SeqW {
            out: self.out,
            first: true,
            drop_top: None,
            depth: 2,
        }))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapW<'o>, Error> {
        Ok(MapW {
            out: self.out,
            members: Vec::with_capacity(len.unwrap_or(16)),
            key: None,
            drop: self.drop,
            variant: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<MapW<'o>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<MapW<'o>, Error> {
        Ok(MapW {
            out: self.out,
            members: Vec::with_capacity(len),
            key: None,
            drop: None,
            variant: Some(variant),
        })
    }
}

impl ser::SerializeSeq for SeqW<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.out.push(b']');
        Ok(())
    }
}

impl ser::SerializeTuple for SeqW<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqW<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

/// `{variant: [...]}`.
struct VariantSeq<'o>(SeqW<'o>);

impl ser::SerializeTupleVariant for VariantSeq<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.0.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.0.out.extend_from_slice(b"]}");
        Ok(())
    }
}

impl ser::SerializeMap for MapW<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(KeyName)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error::custom("a map value without its key"))?;
        self.member(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for MapW<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.member(key.to_string(), value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for MapW<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.member(key.to_string(), value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// A map key as `to_value` takes it: a string (integers, booleans and chars as their text).
struct KeyName;

fn key_error() -> Error {
    Error::custom("key must be a string")
}

impl ser::Serializer for KeyName {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = Impossible<String, Error>;
    type SerializeTuple = Impossible<String, Error>;
    type SerializeTupleStruct = Impossible<String, Error>;
    type SerializeTupleVariant = Impossible<String, Error>;
    type SerializeMap = Impossible<String, Error>;
    type SerializeStruct = Impossible<String, Error>;
    type SerializeStructVariant = Impossible<String, Error>;

    fn serialize_bool(self, v: bool) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, _v: f32) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_f64(self, _v: f64) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_char(self, v: char) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, Error> {
        Ok(variant.to_string())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::{Map, Value, json};
    use std::collections::HashMap;

    fn via_value<T: Serialize>(v: &T, drop: Option<&str>) -> Vec<u8> {
        let mut value = serde_json::to_value(v).unwrap();
        if let Some(name) = drop {
            match &mut value {
                Value::Array(a) => {
                    for item in a {
                        if let Value::Object(o) = item {
                            o.remove(name);
                        }
                    }
                }
                Value::Object(o) => {
                    o.remove(name);
                }
                _ => {}
            }
        }
        serde_json::to_vec(&value).unwrap()
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    enum Kind {
        Plain,
        Wrapped(u8),
        Pair(i32, String),
        Shape { z: f32, a: Option<bool> },
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Item {
        zeta: String,
        tags: Vec<(String, String)>,
        alpha: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u64>,
        kinds: Vec<Kind>,
        ratio: f32,
        big: f64,
        by_name: HashMap<String, i64>,
        bytes: serde_bytes_like::Bytes,
        #[serde(flatten)]
        extra: Map<String, Value>,
    }

    mod serde_bytes_like {
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    fn item(extra: Value) -> Item {
        let Value::Object(extra) = extra else {
            panic!("an object")
        };
        Item {
            zeta: "z \"quoted\" \u{e9}\u{1F600}\n\t\u{1}".into(),
            tags: vec![("k".into(), "v".into())],
            alpha: None,
            skipped: None,
            kinds: vec![
                Kind::Plain,
                Kind::Wrapped(7),
                Kind::Pair(-3, "x".into()),
                Kind::Shape {
                    z: 0.1,
                    a: Some(true),
                },
            ],
            ratio: 1.5e-7,
            big: f64::NAN,
            by_name: [("b".to_string(), 2), ("a".to_string(), -1)].into(),
            bytes: serde_bytes_like::Bytes(vec![0, 255]),
            extra,
        }
    }

    #[test]
    fn same_bytes_as_through_a_value() {
        let items = vec![
            item(json!({})),
            // Flattened members land in their sorted place; one named like a field wins.
            item(json!({"mid": {"y": [1, 2.5, null], "b": "c"}, "aa": -0.0, "zeta": "later"})),
            item(json!({"tags": "extra tags", "~": 1e300})),
        ];
        for drop in [None, Some("tags")] {
            assert_eq!(
                String::from_utf8(to_vec(&items, drop).unwrap()).unwrap(),
                String::from_utf8(via_value(&items, drop)).unwrap()
            );
            for i in &items {
                assert_eq!(to_vec(i, drop).unwrap(), via_value(i, drop));
            }
        }
        let nested = vec![vec![item(json!({}))]];
        // Only the outermost objects lose the member.
        assert_eq!(
            to_vec(&nested, Some("tags")).unwrap(),
            via_value(&nested, None)
        );
        assert_eq!(to_vec(&Vec::<Item>::new(), None).unwrap(), b"[]");
        assert_eq!(
            to_vec(
                &json!({"b": {"d": 1, "c": [{"f": 1, "e": 2}]}, "a": true}),
                None
            )
            .unwrap(),
            br#"{"a":true,"b":{"c":[{"e":2,"f":1}],"d":1}}"#
        );
    }
}
