//! Observations of raw samples and of aggregate buckets, one at a time, and the Patient they
//! are about.
//!
//! A raw sample is effective at its instant, or over its range when it has one. A bucket is
//! effective over the whole bucket, its value being the bucket's sum, mean or latest reading;
//! what FHIR R4 has no element for (which of the three, the period, min, max, how many samples
//! and devices, the covered share of the bucket) goes into healthpipe extensions, which a
//! consumer that does not know them may ignore without misreading the value.
//!
//! A systolic and a diastolic reading of the same time form one blood-pressure panel
//! ([`sample_panel`], [`bucket_panel`]); deciding which readings pair is [`crate::pairing`]'s job.

use chrono::{DateTime, Utc};
use healthpipe_domain::{AggregateRow, AggregationKind, Period, Sample, SampleType, UserId};
use uuid::Uuid;

use crate::codes::{codes, Category, BLOOD_PRESSURE_PANEL, UCUM};
use crate::ids;
use crate::model::{
    CodeableConcept, Component, Effective, Extension, ExtensionValue, Identifier, Observation,
    Patient, Quantity, Reference,
};
use crate::FhirError;

/// The identifier system of healthpipe's sample ids, so a clinician can ask about one sample.
pub const SAMPLE_ID_SYSTEM: &str = "https://healthpipe.dev/fhir/sid/sample-id";

/// The URL of a healthpipe extension, all under one base.
macro_rules! extension_url {
    ($name:literal) => {
        concat!("https://healthpipe.dev/fhir/StructureDefinition/", $name)
    };
}

/// `valueCode` `sum`, `mean` or `latest`: how the bucket's samples made the value.
pub const AGGREGATION_URL: &str = extension_url!("aggregation");
/// `valueCode` `hour`, `day`, `week` or `month`.
pub const PERIOD_URL: &str = extension_url!("aggregate-period");
/// `valueQuantity`: the smallest sample (its contribution to the bucket, for sums).
pub const MINIMUM_URL: &str = extension_url!("aggregate-minimum");
/// `valueQuantity`: the largest sample (its contribution to the bucket, for sums).
pub const MAXIMUM_URL: &str = extension_url!("aggregate-maximum");
/// `valueUnsignedInt`: the samples counted in the bucket.
pub const SAMPLE_COUNT_URL: &str = extension_url!("aggregate-sample-count");
/// `valueUnsignedInt`: the devices those samples came from (left out when not recorded).
pub const DEVICE_COUNT_URL: &str = extension_url!("aggregate-device-count");
/// `valueDecimal` in `0..=1`: the share of the bucket's time the samples cover (sums only).
pub const COVERAGE_URL: &str = extension_url!("aggregate-coverage");

/// The Patient of `user`: its id and nothing else, since an export or a share reveals no more
/// than the data.
pub fn patient(user: UserId) -> Patient {
    Patient {
        id: *user.as_uuid(),
    }
}

/// The Observation of one raw sample.
pub fn sample_observation(user: UserId, sample: &Sample) -> Result<Observation, FhirError> {
    let identifier = vec![sample_identifier(sample)];
    let value = quantity(sample.sample_type, sample.value)?;
    Ok(single(
        ids::sample_observation_id(user, &sample.id),
        user,
        sample.sample_type,
        sample_effective(sample),
        value,
        Vec::new(),
        identifier,
    ))
}

/// The panel Observation of a systolic and a diastolic sample of the same device and times.
pub fn sample_panel(
    user: UserId,
    systolic: &Sample,
    diastolic: &Sample,
) -> Result<Observation, FhirError> {
    check_panel_types(systolic.sample_type, diastolic.sample_type)?;
    if !same_sample_time(systolic, diastolic) {
        return Err(FhirError::NotTakenTogether);
    }
    let components = vec![
        component(systolic.sample_type, systolic.value, Vec::new())?,
        component(diastolic.sample_type, diastolic.value, Vec::new())?,
    ];
    Ok(panel(
        ids::sample_panel_id(user, &systolic.id, &diastolic.id),
        user,
        sample_effective(systolic),
        components,
        Vec::new(),
        vec![sample_identifier(systolic), sample_identifier(diastolic)],
    ))
}

/// Whether two samples were taken together: same device, same start and end.
pub(crate) fn same_sample_time(a: &Sample, b: &Sample) -> bool {
    a.start == b.start && a.end == b.end && a.device_id == b.device_id
}

/// An aggregate row and the end of its bucket.
///
/// The end of a day, week or month bucket depends on the user's time zone (a DST day lasts 23
/// or 25 hours), which this pure module does not know: the caller computes it, with
/// `healthpipe_domain::next_bucket_start(row.period, row.period_start, tz)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    row: AggregateRow,
    end: DateTime<Utc>,
}

impl Bucket {
    /// Refuses an end that is not after the bucket's start.
    pub fn new(row: AggregateRow, end: DateTime<Utc>) -> Result<Self, FhirError> {
        if end <= row.period_start {
            return Err(FhirError::EmptyBucket {
                sample_type: row.sample_type,
                period: row.period,
                start: row.period_start,
                end,
            });
        }
        Ok(Bucket { row, end })
    }

    pub fn row(&self) -> &AggregateRow {
        &self.row
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// Whether two buckets cover the same time: same period, start and end.
    pub(crate) fn same_time(&self, other: &Bucket) -> bool {
        self.row.period == other.row.period
            && self.row.period_start == other.row.period_start
            && self.end == other.end
    }

    fn effective(&self) -> Effective {
        Effective::Period(crate::model::Period {
            start: self.row.period_start,
            end: self.end,
        })
    }
}

/// The Observation of one aggregate bucket.
pub fn bucket_observation(user: UserId, bucket: &Bucket) -> Result<Observation, FhirError> {
    let row = &bucket.row;
    let mut extension = bucket_extensions(row.sample_type.kind(), row.period);
    extension.extend(summary_extensions(row)?);
    Ok(single(
        ids::bucket_observation_id(user, row.sample_type, row.period, row.period_start),
        user,
        row.sample_type,
        bucket.effective(),
        quantity(row.sample_type, row.value)?,
        extension,
        Vec::new(),
    ))
}

/// The panel Observation of the systolic and diastolic buckets of one period and start; each
/// component carries the statistics of its own bucket.
pub fn bucket_panel(
    user: UserId,
    systolic: &Bucket,
    diastolic: &Bucket,
) -> Result<Observation, FhirError> {
    let (sys, dia) = (&systolic.row, &diastolic.row);
    check_panel_types(sys.sample_type, dia.sample_type)?;
    if !systolic.same_time(diastolic) {
        return Err(FhirError::NotTakenTogether);
    }
    let components = vec![
        component(sys.sample_type, sys.value, summary_extensions(sys)?)?,
        component(dia.sample_type, dia.value, summary_extensions(dia)?)?,
    ];
    Ok(panel(
        ids::bucket_panel_id(user, sys.period, sys.period_start),
        user,
        systolic.effective(),
        components,
        bucket_extensions(sys.sample_type.kind(), sys.period),
        Vec::new(),
    ))
}

fn single(
    id: Uuid,
    user: UserId,
    sample_type: SampleType,
    effective: Effective,
    value: Quantity,
    extension: Vec<Extension>,
    identifier: Vec<Identifier>,
) -> Observation {
    let codes = codes(sample_type);
    Observation {
        id,
        extension,
        identifier,
        status: "final",
        category: vec![category(codes.category)],
        code: concept(sample_type),
        subject: subject(user),
        effective,
        value_quantity: Some(value),
        component: Vec::new(),
    }
}

fn panel(
    id: Uuid,
    user: UserId,
    effective: Effective,
    component: Vec<Component>,
    extension: Vec<Extension>,
    identifier: Vec<Identifier>,
) -> Observation {
    Observation {
        id,
        extension,
        identifier,
        status: "final",
        category: vec![category(Category::VitalSigns)],
        code: CodeableConcept {
            coding: vec![BLOOD_PRESSURE_PANEL],
            text: "Blood pressure",
        },
        subject: subject(user),
        effective,
        value_quantity: None,
        component,
    }
}

fn component(
    sample_type: SampleType,
    value: f64,
    extension: Vec<Extension>,
) -> Result<Component, FhirError> {
    Ok(Component {
        extension,
        code: concept(sample_type),
        value_quantity: quantity(sample_type, value)?,
    })
}

fn check_panel_types(systolic: SampleType, diastolic: SampleType) -> Result<(), FhirError> {
    if systolic == SampleType::BloodPressureSystolic
        && diastolic == SampleType::BloodPressureDiastolic
    {
        Ok(())
    } else {
        Err(FhirError::NotAPanel {
            systolic,
            diastolic,
        })
    }
}

fn sample_effective(sample: &Sample) -> Effective {
    if sample.is_instantaneous() {
        Effective::DateTime(sample.start)
    } else {
        Effective::Period(crate::model::Period {
            start: sample.start,
            end: sample.end,
        })
    }
}

fn sample_identifier(sample: &Sample) -> Identifier {
    Identifier {
        system: SAMPLE_ID_SYSTEM,
        value: sample.id.clone(),
    }
}

/// What applies to the whole Observation of a bucket: how its value was made, and the period.
fn bucket_extensions(kind: AggregationKind, period: Period) -> Vec<Extension> {
    let aggregation = match kind {
        AggregationKind::Cumulative => "sum",
        AggregationKind::Discrete => "mean",
        AggregationKind::Latest => "latest",
    };
    vec![
        extension(AGGREGATION_URL, ExtensionValue::Code(aggregation)),
        extension(PERIOD_URL, ExtensionValue::Code(period.as_str())),
    ]
}

/// What goes next to a bucket's value: min, max, counts and coverage.
fn summary_extensions(row: &AggregateRow) -> Result<Vec<Extension>, FhirError> {
    let t = row.sample_type;
    let mut out = vec![
        extension(
            MINIMUM_URL,
            ExtensionValue::Quantity(quantity(t, row.min_value)?),
        ),
        extension(
            MAXIMUM_URL,
            ExtensionValue::Quantity(quantity(t, row.max_value)?),
        ),
        extension(SAMPLE_COUNT_URL, unsigned(t, row.sample_count)?),
    ];
    // Rows written before devices were counted say 0, which would claim "no device".
    if row.device_count > 0 {
        out.push(extension(DEVICE_COUNT_URL, unsigned(t, row.device_count)?));
    }
    if let Some(coverage) = row.coverage {
        out.push(extension(
            COVERAGE_URL,
            ExtensionValue::Decimal(finite(t, coverage)?),
        ));
    }
    Ok(out)
}

fn extension(url: &'static str, value: ExtensionValue) -> Extension {
    Extension { url, value }
}

fn unsigned(sample_type: SampleType, count: u32) -> Result<ExtensionValue, FhirError> {
    if i32::try_from(count).is_err() {
        return Err(FhirError::CountTooLarge { sample_type, count });
    }
    Ok(ExtensionValue::UnsignedInt(count))
}

fn quantity(sample_type: SampleType, value: f64) -> Result<Quantity, FhirError> {
    let unit = codes(sample_type).unit;
    Ok(Quantity {
        value: finite(sample_type, value)?,
        unit: unit.unit,
        system: UCUM,
        code: unit.code,
    })
}

fn finite(sample_type: SampleType, value: f64) -> Result<f64, FhirError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(FhirError::NotFinite { sample_type, value })
    }
}

fn concept(sample_type: SampleType) -> CodeableConcept {
    let codes = codes(sample_type);
    CodeableConcept {
        coding: codes.codings(),
        text: codes.text(),
    }
}

fn category(category: Category) -> CodeableConcept {
    let coding = category.coding();
    CodeableConcept {
        coding: vec![coding],
        text: coding.display,
    }
}

fn subject(user: UserId) -> Reference {
    Reference {
        reference: format!("Patient/{user}"),
    }
}

#[cfg(test)]
#[path = "observation_tests.rs"]
mod tests;
