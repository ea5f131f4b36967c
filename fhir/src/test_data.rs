//! Readings for the unit tests.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use healthpipe_domain::{AggregateRow, Period, Sample, SampleType, UserId};
use uuid::Uuid;

use crate::observation::Bucket;

pub fn user() -> UserId {
    UserId::from_uuid(Uuid::from_u128(0x0b9e_8b7a_1c2d_4e5f_8a9b_0c1d_2e3f_4a5b))
}

/// 2026-05-04 at `h:m` UTC.
pub fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, h, m, 0).unwrap()
}

/// A reading at one instant from the device "cuff".
pub fn reading(id: &str, sample_type: SampleType, value: f64, time: DateTime<Utc>) -> Sample {
    ranged(id, sample_type, value, time, time)
}

pub fn ranged(
    id: &str,
    sample_type: SampleType,
    value: f64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Sample {
    Sample {
        id: id.into(),
        device_id: "cuff".into(),
        sample_type,
        value,
        start,
        end,
    }
}

pub fn row(
    sample_type: SampleType,
    period: Period,
    start: DateTime<Utc>,
    value: f64,
) -> AggregateRow {
    AggregateRow {
        sample_type,
        period,
        period_start: start,
        value,
        min_value: value - 1.0,
        max_value: value + 1.0,
        sample_count: 3,
        coverage: None,
        device_count: 1,
    }
}

/// A bucket of `period` starting at `start`, one hour or one day long.
pub fn bucket(sample_type: SampleType, period: Period, start: DateTime<Utc>, value: f64) -> Bucket {
    let length = match period {
        Period::Hour => TimeDelta::hours(1),
        _ => TimeDelta::days(1),
    };
    Bucket::new(row(sample_type, period, start, value), start + length).unwrap()
}
