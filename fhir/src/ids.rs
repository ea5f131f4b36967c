//! Deterministic resource ids: the same data always gives the same Observation id.
//!
//! A consumer that imports two exports (or fetches a shared link twice) recognises an
//! Observation it already has by its id and updates it instead of storing a duplicate. Ids are
//! UUIDv5 names of what identifies the data: the user and the sample id for a raw sample, the
//! user, type, period and bucket start for an aggregate. The Patient's id is the user id.

use chrono::{DateTime, Utc};
use healthpipe_domain::{Period, SampleType, UserId};
use uuid::Uuid;

/// The UUIDv5 namespace of every Observation id. Changing it changes every id consumers have
/// stored, so each re-import would duplicate everything: never change it.
pub const OBSERVATION_ID_NAMESPACE: Uuid =
    Uuid::from_u128(0x3f0c_9b6e_52d1_4c8a_a7e4_1d2b_86f0_c935);

/// The type name the blood-pressure panel's aggregate ids use in place of a sample type.
const BLOOD_PRESSURE: &str = "BLOOD_PRESSURE";

/// The Observation of one raw sample.
pub fn sample_observation_id(user: UserId, sample_id: &str) -> Uuid {
    name(&format!("sample|{user}|{sample_id}"))
}

/// The panel Observation of a systolic and a diastolic sample.
pub fn sample_panel_id(user: UserId, systolic_id: &str, diastolic_id: &str) -> Uuid {
    name(&format!("sample-panel|{user}|{systolic_id}|{diastolic_id}"))
}

/// The Observation of one aggregate bucket.
pub fn bucket_observation_id(
    user: UserId,
    sample_type: SampleType,
    period: Period,
    start: DateTime<Utc>,
) -> Uuid {
    bucket_name(user, sample_type.as_str(), period, start)
}

/// The panel Observation of the systolic and diastolic buckets of one period and start.
pub fn bucket_panel_id(user: UserId, period: Period, start: DateTime<Utc>) -> Uuid {
    bucket_name(user, BLOOD_PRESSURE, period, start)
}

fn bucket_name(user: UserId, type_name: &str, period: Period, start: DateTime<Utc>) -> Uuid {
    name(&format!(
        "bucket|{user}|{type_name}|{}|{}",
        period.as_str(),
        start.timestamp_micros()
    ))
}

fn name(text: &str) -> Uuid {
    Uuid::new_v5(&OBSERVATION_ID_NAMESPACE, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn user(n: u128) -> UserId {
        UserId::from_uuid(Uuid::from_u128(n))
    }

    #[test]
    fn the_same_data_gives_the_same_id_and_any_difference_another() {
        let at = Utc.with_ymd_and_hms(2026, 5, 4, 0, 0, 0).unwrap();
        let day = |u, t, p, s| bucket_observation_id(user(u), t, p, s);
        let base = day(1, SampleType::Steps, Period::Day, at);
        assert_eq!(base, day(1, SampleType::Steps, Period::Day, at));
        for other in [
            day(2, SampleType::Steps, Period::Day, at),
            day(1, SampleType::Distance, Period::Day, at),
            day(1, SampleType::Steps, Period::Hour, at),
            day(
                1,
                SampleType::Steps,
                Period::Day,
                at + chrono::TimeDelta::days(1),
            ),
            bucket_panel_id(user(1), Period::Day, at),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(
            sample_observation_id(user(1), "a"),
            sample_observation_id(user(1), "a")
        );
        assert_ne!(
            sample_observation_id(user(1), "a"),
            sample_observation_id(user(2), "a")
        );
        assert_ne!(
            sample_panel_id(user(1), "a", "b"),
            sample_panel_id(user(1), "b", "a")
        );
    }

    #[test]
    fn ids_are_pinned() {
        // Consumers store these ids: a changed derivation would duplicate every re-import.
        // The expected values were computed independently (Python's uuid.uuid5).
        assert_eq!(
            sample_observation_id(user(1), "s-1").to_string(),
            "92edbb3c-17bd-5a3c-a1ce-c279803cd90d"
        );
        let day = Utc.with_ymd_and_hms(2026, 5, 4, 0, 0, 0).unwrap();
        assert_eq!(
            bucket_observation_id(user(1), SampleType::Steps, Period::Day, day).to_string(),
            "ea846060-0b31-5804-9bbe-04a8c3cdf162"
        );
    }
}
