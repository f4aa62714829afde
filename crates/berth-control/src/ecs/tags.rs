//! Resources whose `tags` member goes out only when the caller asks for it
//! (`include: ["TAGS"]`), written straight by the output's serializer.

use serde::ser::{Serialize, SerializeStruct, Serializer};

/// A list of resources (clusters, container instances, tasks) that carry their `tags` member
/// only when `include_tags` is set.
#[derive(Debug, Clone)]
pub struct Tagged<T> {
    pub items: Vec<T>,
    pub include_tags: bool,
}

impl<T> Tagged<T> {
    pub fn new(items: Vec<T>, include_tags: bool) -> Tagged<T> {
        Tagged {
            items,
            include_tags,
        }
    }
}

impl<T: Serialize> Serialize for Tagged<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.include_tags {
            self.items.serialize(s)
        } else {
            s.collect_seq(self.items.iter().map(WithoutTags))
        }
    }
}

/// One resource without its top-level `tags` member.
struct WithoutTags<'a, T>(&'a T);

impl<T: Serialize> Serialize for WithoutTags<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(NoTags(s))
    }
}

/// A serializer that leaves out the `tags` field of the struct it writes (not of the structs
/// inside it); everything else goes to `S` unchanged.
struct NoTags<S>(S);

/// The fields of a struct written by [`NoTags`].
struct NoTagsStruct<S>(S);

impl<S: SerializeStruct> SerializeStruct for NoTagsStruct<S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        if key == "tags" {
            self.0.skip_field(key)
        } else {
            self.0.serialize_field(key, value)
        }
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        self.0.skip_field(key)
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method(self, $($arg: $ty),*) -> Result<S::Ok, S::Error> {
            self.0.$method($($arg),*)
        })*
    };
}

impl<S: Serializer> Serializer for NoTags<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = S::SerializeSeq;
    type SerializeTuple = S::SerializeTuple;
    type SerializeTupleStruct = S::SerializeTupleStruct;
    type SerializeTupleVariant = S::SerializeTupleVariant;
    type SerializeMap = S::SerializeMap;
    type SerializeStruct = NoTagsStruct<S::SerializeStruct>;
    type SerializeStructVariant = S::SerializeStructVariant;

    forward! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_str(v: &str);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(value)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_struct(name, value)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0
            .serialize_newtype_variant(name, index, variant, value)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<S::SerializeSeq, S::Error> {
        self.0.serialize_seq(len)
    }

    fn serialize_tuple(self, len: usize) -> Result<S::SerializeTuple, S::Error> {
        self.0.serialize_tuple(len)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<S::SerializeTupleStruct, S::Error> {
        self.0.serialize_tuple_struct(name, len)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<S::SerializeTupleVariant, S::Error> {
        self.0.serialize_tuple_variant(name, index, variant, len)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<S::SerializeMap, S::Error> {
        self.0.serialize_map(len)
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.0.serialize_struct(name, len).map(NoTagsStruct)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<S::SerializeStructVariant, S::Error> {
        self.0.serialize_struct_variant(name, index, variant, len)
    }

    fn collect_str<T: ?Sized + std::fmt::Display>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.collect_str(value)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[derive(serde::Serialize)]
    struct Item {
        name: &'static str,
        inner: Inner,
        tags: Vec<&'static str>,
    }

    #[derive(serde::Serialize)]
    struct Inner {
        tags: u8,
    }

    #[test]
    fn tags_go_out_only_when_asked_for_and_only_at_the_top() {
        let items = || {
            vec![Item {
                name: "a",
                inner: Inner { tags: 1 },
                tags: vec!["t"],
            }]
        };
        let without = serde_json::to_value(Tagged::new(items(), false)).unwrap();
        assert_eq!(without, json!([{"name": "a", "inner": {"tags": 1}}]));
        let with = serde_json::to_value(Tagged::new(items(), true)).unwrap();
        assert_eq!(
            with,
            json!([{"name": "a", "inner": {"tags": 1}, "tags": ["t"]}])
        );
        let bytes = serde_json::to_vec(&Tagged::new(items(), false)).unwrap();
        assert_eq!(bytes, br#"[{"name":"a","inner":{"tags":1}}]"#);
        let empty: Tagged<Item> = Tagged::new(Vec::new(), false);
        assert_eq!(serde_json::to_vec(&empty).unwrap(), b"[]");
    }
}
