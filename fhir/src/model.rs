//! The slice of FHIR R4 the module writes, as plain serializable structs.
//!
//! Typed rather than built as `serde_json::Value` so a misspelt element name is a compile error
//! rather than a resource a validator rejects, and so the streaming writer serializes each
//! resource straight to its output without building a JSON tree first. Only what healthpipe
//! emits is modelled; empty lists are left out, as FHIR JSON forbids empty arrays.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::codes::Coding;

/// A resource of a Bundle entry, serialized with its `resourceType` first.
///
/// Nearly every resource is an Observation (one Patient per Bundle), so the size the small
/// variant wastes is nothing next to boxing every Observation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "resourceType")]
pub enum Resource {
    Patient(Patient),
    Observation(Observation),
}

impl Resource {
    /// The logical id, also the entry's `urn:uuid:` full URL.
    pub fn id(&self) -> Uuid {
        match self {
            Resource::Patient(patient) => patient.id,
            Resource::Observation(observation) => observation.id,
        }
    }
}

impl From<Patient> for Resource {
    fn from(patient: Patient) -> Self {
        Resource::Patient(patient)
    }
}

impl From<Observation> for Resource {
    fn from(observation: Observation) -> Self {
        Resource::Observation(observation)
    }
}

/// The person the data is about; the id is the user id and nothing else is shared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Patient {
    pub id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    pub id: Uuid,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    /// Always `final`: the pipeline exports what it has stored, never a preliminary value.
    pub status: &'static str,
    pub category: Vec<CodeableConcept>,
    pub code: CodeableConcept,
    pub subject: Reference,
    #[serde(flatten)]
    pub effective: Effective,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_quantity: Option<Quantity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub component: Vec<Component>,
}

/// When an Observation holds: an instant, or a time range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Effective {
    #[serde(rename = "effectiveDateTime", serialize_with = "instant")]
    DateTime(DateTime<Utc>),
    #[serde(rename = "effectivePeriod")]
    Period(Period),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Period {
    #[serde(serialize_with = "instant")]
    pub start: DateTime<Utc>,
    #[serde(serialize_with = "instant")]
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeableConcept {
    pub coding: Vec<Coding>,
    pub text: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reference {
    pub reference: String,
}

/// A business identifier: healthpipe's id of a sample behind an Observation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identifier {
    pub system: &'static str,
    pub value: String,
}

/// A measured amount. `value` is finite: the builders refuse anything else, since JSON has no
/// NaN and serde_json would write `null`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quantity {
    pub value: f64,
    pub unit: &'static str,
    pub system: &'static str,
    pub code: &'static str,
}

/// One part of a panel (the systolic or the diastolic value of a blood pressure).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    pub code: CodeableConcept,
    pub value_quantity: Quantity,
}

/// A healthpipe extension: what FHIR R4 has no element for (the statistics of a bucket).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extension {
    pub url: &'static str,
    #[serde(flatten)]
    pub value: ExtensionValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum ExtensionValue {
    #[serde(rename = "valueCode")]
    Code(&'static str),
    #[serde(rename = "valueQuantity")]
    Quantity(Quantity),
    /// FHIR's unsignedInt stops at 2^31 - 1; the builders check.
    #[serde(rename = "valueUnsignedInt")]
    UnsignedInt(u32),
    #[serde(rename = "valueDecimal")]
    Decimal(f64),
}

/// FHIR `instant`/`dateTime` text: UTC with `Z`, fractional seconds only when there are some
/// (samples keep microseconds).
pub fn instant_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn instant<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&instant_text(*at))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[test]
    fn instants_are_utc_with_z_and_only_the_fraction_they_have() {
        let at = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
        assert_eq!(instant_text(at), "2026-05-04T10:00:00Z");
        let micros = at + chrono::TimeDelta::microseconds(123_456);
        assert_eq!(instant_text(micros), "2026-05-04T10:00:00.123456Z");
    }

    #[test]
    fn effective_and_extension_values_flatten_into_their_element_names() {
        let at = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
        let patient = Resource::from(Patient { id: Uuid::nil() });
        assert_eq!(
            serde_json::to_value(&patient).unwrap(),
            json!({"resourceType": "Patient", "id": Uuid::nil()})
        );
        let extension = Extension {
            url: "u",
            value: ExtensionValue::UnsignedInt(3),
        };
        assert_eq!(
            serde_json::to_value(&extension).unwrap(),
            json!({"url": "u", "valueUnsignedInt": 3})
        );
        assert_eq!(
            serde_json::to_value(Effective::DateTime(at)).unwrap(),
            json!({"effectiveDateTime": "2026-05-04T10:00:00Z"})
        );
    }
}
