//! Turning a submitted schema string into something the registry can store and compare.

use apache_avro::Schema;
use sha2::{Digest, Sha256};

/// The only schema type this registry serves.
pub const AVRO: &str = "AVRO";

/// Why a submitted schema was refused.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("Invalid schema type {0}: this registry supports only AVRO")]
    UnsupportedType(String),
    #[error("Schema references are not supported by this registry")]
    References,
    #[error("Invalid schema: {0}")]
    Invalid(String),
}

/// A parsed, valid Avro schema together with its identity.
#[derive(Debug, Clone)]
pub struct NewSchema {
    /// The string as the client sent it; returned verbatim on reads.
    pub text: String,
    pub schema: Schema,
    /// The full schema re-serialised by apache-avro (stable key order, no whitespace). This, not
    /// the Parsing Canonical Form, is the identity: PCF drops `default`, `doc` and `aliases`, so
    /// two schemas that resolve differently would share an id.
    pub normalized: String,
    /// Avro's Parsing Canonical Form, kept for operators and fingerprint tools.
    pub canonical: String,
    /// SHA-256 of `normalized`, the indexed identity key.
    pub fingerprint: Vec<u8>,
}

impl NewSchema {
    /// Parses a registration or lookup request's schema. `schema_type` absent means AVRO.
    pub fn parse(
        text: String,
        schema_type: Option<&str>,
        has_references: bool,
    ) -> Result<Self, SchemaError> {
        if let Some(kind) = schema_type.filter(|kind| !kind.eq_ignore_ascii_case(AVRO)) {
            return Err(SchemaError::UnsupportedType(kind.to_string()));
        }
        if has_references {
            return Err(SchemaError::References);
        }
        let schema = parse_stored(&text).map_err(|e| SchemaError::Invalid(e.to_string()))?;
        let normalized =
            serde_json::to_string(&schema).map_err(|e| SchemaError::Invalid(e.to_string()))?;
        let fingerprint = Sha256::digest(normalized.as_bytes()).to_vec();
        Ok(Self {
            canonical: schema.canonical_form(),
            text,
            schema,
            normalized,
            fingerprint,
        })
    }
}

/// Parses a schema string, as submitted or as read back from storage.
pub fn parse_stored(text: &str) -> Result<Schema, apache_avro::Error> {
    Schema::parse_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"type":"record","name":"S","fields":[{"name":"a","type":"int"}]}"#;

    fn parse(text: &str) -> Result<NewSchema, SchemaError> {
        NewSchema::parse(text.to_string(), None, false)
    }

    #[test]
    fn whitespace_and_key_order_do_not_change_identity() {
        let spaced = r#"{ "name": "S", "type": "record",
            "fields": [ { "type": "int", "name": "a" } ] }"#;
        assert_eq!(
            parse(SAMPLE).unwrap().fingerprint,
            parse(spaced).unwrap().fingerprint
        );
        assert_eq!(
            parse(spaced).unwrap().text,
            spaced,
            "the text is kept as sent"
        );
    }

    #[test]
    fn a_new_default_is_a_new_schema() {
        let with_default =
            r#"{"type":"record","name":"S","fields":[{"name":"a","type":"int","default":1}]}"#;
        let (a, b) = (parse(SAMPLE).unwrap(), parse(with_default).unwrap());
        assert_eq!(a.canonical, b.canonical, "PCF ignores defaults");
        assert_ne!(a.fingerprint, b.fingerprint, "identity must not");
    }

    #[test]
    fn refuses_other_types_references_and_invalid_avro() {
        let proto = NewSchema::parse(SAMPLE.into(), Some("PROTOBUF"), false).unwrap_err();
        assert!(matches!(proto, SchemaError::UnsupportedType(_)), "{proto}");
        assert!(NewSchema::parse(SAMPLE.into(), Some("avro"), false).is_ok());
        let refs = NewSchema::parse(SAMPLE.into(), None, true).unwrap_err();
        assert!(matches!(refs, SchemaError::References));
        for bad in [
            "",
            "{",
            r#"{"type":"record","name":"S"}"#,
            r#""nosuchtype""#,
        ] {
            assert!(
                matches!(parse(bad), Err(SchemaError::Invalid(_))),
                "{bad:?}"
            );
        }
    }
}
