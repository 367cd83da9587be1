//! GUIDs as the API speaks them: accepted in any case and with stray spaces (the
//! seed's own examples carry some), returned upper-case with hyphens.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(pub Uuid);

impl Guid {
    pub fn new_random() -> Self {
        Guid(Uuid::new_v4())
    }

    /// Canonical form: upper-case, hyphenated. This is also how GUIDs are stored.
    pub fn to_text(&self) -> String {
        self.0
            .hyphenated()
            .encode_upper(&mut Uuid::encode_buffer())
            .to_string()
    }

    pub fn parse(text: &str) -> Option<Guid> {
        let t = text.trim();
        // Only the hyphenated 36-character form (braces tolerated), as Uptrends prints them.
        let t = t
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(t);
        if t.len() != 36 {
            return None;
        }
        Uuid::parse_str(t).ok().map(Guid)
    }

    /// Parses a GUID from a path segment or a field, naming the field if it is not one.
    pub fn parse_field(field: &str, text: &str) -> Result<Guid, InvalidGuid> {
        Guid::parse(text).ok_or_else(|| InvalidGuid {
            field: field.to_string(),
            shown: text.chars().take(40).collect(),
        })
    }

    /// Path parameters: a malformed GUID cannot name anything, so 404 would
    /// also be defensible, but 400 tells the caller what to fix.
    pub fn from_path(field: &str, text: &str) -> Result<Guid, InvalidGuid> {
        Guid::parse_field(field, text)
    }
}

/// A field or path parameter that is not a GUID (a 400 at the edge).
#[derive(Debug, Clone)]
pub struct InvalidGuid {
    pub field: String,
    /// The start of what was sent, for the message.
    pub shown: String,
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl Serialize for Guid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for Guid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Guid::parse(&text).ok_or_else(|| {
            serde::de::Error::custom("not a GUID: expected XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX")
        })
    }
}

/// An id field of a request body (`#[serde(default, deserialize_with =
/// "guid::optional")]`): `""`, null and the nil GUID all mean "not sent".
/// Clients generated from Uptrends' published model always send the ids
/// their model requires, empty on a create.
pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Guid>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => match Guid::parse(&text) {
            Some(g) if g.0.is_nil() => Ok(None),
            Some(g) => Ok(Some(g)),
            None => Err(serde::de::Error::custom(
                "not a GUID: expected XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX, or \"\" for none",
            )),
        },
    }
}

/// The schema of an `optional` id field: a GUID, `""` or null.
pub fn optional_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
    AnyOfBuilder::new()
        .item(<Guid as utoipa::PartialSchema>::schema())
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([""]))
                .build(),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null).build())
        .description(Some(
            "A GUID; `\"\"`, null and the nil GUID (00000000-0000-0000-0000-000000000000) mean not sent.",
        ))
        .into()
}

impl utoipa::PartialSchema for Guid {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .description(Some("A GUID: accepted in any case, returned upper-case."))
            .examples([serde_json::json!("8D4BAED2-56C2-4220-B36D-00013511D234")])
            .into()
    }
}

impl utoipa::ToSchema for Guid {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_any_case_and_stray_spaces_and_prints_upper_case() {
        let g = Guid::parse(" fe1656c1-a606-43bb-bd61-1eee9715ee9e ").unwrap();
        assert_eq!(g.to_text(), "FE1656C1-A606-43BB-BD61-1EEE9715EE9E");
        assert_eq!(
            Guid::parse("{FE1656C1-A606-43BB-BD61-1EEE9715EE9E}"),
            Some(g)
        );
    }

    #[test]
    fn an_empty_null_or_nil_id_is_not_sent() {
        #[derive(Deserialize)]
        struct Body {
            #[serde(default, deserialize_with = "optional")]
            id: Option<Guid>,
        }
        let id = |json: &str| serde_json::from_str::<Body>(json).map(|b| b.id);
        assert_eq!(id("{}").unwrap(), None);
        assert_eq!(id(r#"{"id": null}"#).unwrap(), None);
        assert_eq!(id(r#"{"id": ""}"#).unwrap(), None);
        assert_eq!(
            id(r#"{"id": "00000000-0000-0000-0000-000000000000"}"#).unwrap(),
            None
        );
        assert_eq!(
            id(r#"{"id": "fe1656c1-a606-43bb-bd61-1eee9715ee9e"}"#).unwrap(),
            Guid::parse("FE1656C1-A606-43BB-BD61-1EEE9715EE9E")
        );
        assert!(id(r#"{"id": " "}"#).is_err());
        assert!(id(r#"{"id": "nope"}"#).is_err());
    }

    #[test]
    fn rejects_other_shapes_with_a_message() {
        for bad in [
            "",
            "abc",
            "FE1656C1A60643BBBD611EEE9715EE9E",
            "FE1656C1-A606-43BB-BD61-1EEE9715EE9Z",
        ] {
            assert!(Guid::parse(bad).is_none(), "{bad}");
        }
        let e = Guid::parse_field("VaultSectionGuid", "nope").unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.shown.as_str()),
            ("VaultSectionGuid", "nope")
        );
    }
}
