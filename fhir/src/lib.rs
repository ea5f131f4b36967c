//! healthpipe data as FHIR R4: pure mapping, no I/O, no clock.
//!
//! Two features share it so that they cannot describe the same data differently: a user's
//! export (`GET /api/v1/me/export`, streamed) and clinician sharing
//! (`GET /api/v1/shared/{id}/fhir`).
//!
//! - [`mod@codes`]: the one table naming each sample type in FHIR (LOINC code and display, UCUM
//!   unit, category), and the types without a LOINC code we are sure of;
//! - [`observation`]: an Observation per raw sample or aggregate bucket, the blood-pressure
//!   panel of a systolic and a diastolic reading, and the Patient, all with deterministic ids;
//! - [`pairing`]: which readings form a blood-pressure panel, over a stream or a slice;
//! - [`mod@bundle`]: a Bundle written entry by entry to any `io::Write`, or built whole.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use healthpipe_domain::{Sample, SampleType, UserId};
//! use healthpipe_fhir::{pair_all, patient, BundleType, BundleWriter, Resource};
//!
//! let user = UserId::parse("0b9e8b7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b").unwrap();
//! let at = Utc.with_ymd_and_hms(2026, 5, 4, 8, 0, 0).unwrap();
//! let reading = |id: &str, sample_type, value| Sample {
//!     id: id.into(), device_id: "cuff".into(), sample_type, value, start: at, end: at,
//! };
//! let samples = [
//!     reading("s", SampleType::BloodPressureSystolic, 120.0),
//!     reading("d", SampleType::BloodPressureDiastolic, 80.0),
//!     reading("h", SampleType::HeartRate, 64.0),
//! ];
//! let mut writer = BundleWriter::start(Vec::new(), BundleType::Collection, at).unwrap();
//! writer.write(&Resource::from(patient(user))).unwrap();
//! for group in pair_all(samples) {
//!     writer.write(&group.observation(user).unwrap().into()).unwrap();
//! }
//! // The Patient, the heart rate, then the panel (blood pressure waits for a possible partner).
//! assert_eq!(writer.entries(), 3);
//! let json: serde_json::Value = serde_json::from_slice(&writer.finish().unwrap()).unwrap();
//! assert_eq!(json["entry"][1]["resource"]["code"]["coding"][0]["code"], "8867-4");
//! assert_eq!(json["entry"][2]["resource"]["code"]["coding"][0]["code"], "85354-9");
//! ```

use chrono::{DateTime, Utc};
use healthpipe_domain::{Period, SampleType};

pub mod bundle;
pub mod codes;
pub mod ids;
pub mod model;
pub mod observation;
pub mod pairing;
#[cfg(test)]
mod test_data;

pub use bundle::{bundle, BundleType, BundleWriter};
pub use codes::{codes, unverified_codes, Category, Coding, Concept, TypeCodes, UcumUnit, CODES};
pub use model::{Observation, Patient, Resource};
pub use observation::{
    bucket_observation, bucket_panel, patient, sample_observation, sample_panel, Bucket,
};
pub use pairing::{pair_all, Group, Pairer, Reading};

/// Data that cannot be written as valid FHIR. Each names what is wrong; none should happen
/// with data the pipeline validated, so a caller logs it and skips the reading.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FhirError {
    /// JSON has no NaN or infinity (serde_json would write `null`).
    #[error("{sample_type} value {value} is not a finite number")]
    NotFinite { sample_type: SampleType, value: f64 },
    #[error("{sample_type} {} bucket starting {start} must end after its start, not at {end}", period.as_str())]
    EmptyBucket {
        sample_type: SampleType,
        period: Period,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    /// FHIR's unsignedInt stops at 2^31 - 1.
    #[error("{sample_type} bucket counts {count}, more than FHIR's unsignedInt holds")]
    CountTooLarge { sample_type: SampleType, count: u32 },
    #[error(
        "a blood-pressure panel needs a BLOOD_PRESSURE_SYSTOLIC and a BLOOD_PRESSURE_DIASTOLIC \
         reading, got {systolic} and {diastolic}"
    )]
    NotAPanel {
        systolic: SampleType,
        diastolic: SampleType,
    },
    /// A panel's two readings must share their times (and device, for raw samples).
    #[error("the systolic and diastolic readings of a panel were not taken together")]
    NotTakenTogether,
    /// Pairing a stream needs blood-pressure readings in time order.
    #[error("blood-pressure reading at {time} came after one at {previous}: readings must come in time order")]
    OutOfOrder {
        previous: DateTime<Utc>,
        time: DateTime<Utc>,
    },
}
