//! `GET /api/v1/samples?type=&from=&to=&limit=&cursor=`: the caller's stored samples of one
//! type starting in [`from`, `to`), by (`start`, `sample_id`), a page at a time.
//!
//! Answer:
//!
//! ```json
//! {"samples": [{"sample_id": "…", "device_id": "…", "device_type": "apple_watch",
//!   "type": "STEPS", "value": 600.0, "unit": "count", "start": "2026-05-04T08:00:00Z",
//!   "end": "2026-05-04T08:30:00Z", "utc_offset_seconds": 7200, "source_app": null,
//!   "counted_fraction": 1.0}],
//!  "next_cursor": "…"}
//! ```
//!
//! `counted_fraction` is the share of the sample that counts after deduplication across the
//! caller's devices, the one `GET /api/v1/aggregates/explain` reports: for a cumulative sample
//! with duration its counted share of time, which is also its counted amount over its value
//! (amounts are split pro rata); otherwise 1 (counts) or 0 (covered by better devices). It is
//! computed by the domain crate's deduplication over every stored sample of the type that can
//! overlap the page, ranking the devices as the aggregation processor's projection ranks them
//! (not as the registry does), so it agrees with the stored aggregates even while a priority
//! change is still on its way to them.
//!
//! `next_cursor` is an opaque string naming the last sample of the page, `null` on the last
//! page; pass it as `cursor` with the same `type`, `from` and `to` for the next page. Paging is
//! by key, so samples arriving meanwhile neither repeat nor shift the pages.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use healthpipe_domain::{clean_up, dedup, DeviceRanking, Sample, SampleType};
use healthpipe_storage::reads::samples::{self as stored, PageKey, Range, StoredSample};
use serde::Serialize;
use uuid::Uuid;
use warp::Reply;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::query::devices::RankedDevices;
use crate::query::params::QUERY_YEARS;
use crate::query::{Params, Reader};
use crate::AppState;

/// Widest `from`..`to` of one request.
const MAX_RANGE_DAYS: i64 = 31;
/// Samples per page unless `limit` says otherwise, and the most it may say.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;
/// Most samples loaded around one page for deduplication: a page of minute readings from
/// several devices with a day of margin on each side fits, a runaway query does not.
const MAX_NEIGHBOURS: i64 = 250_000;

#[derive(Debug, Serialize)]
struct SamplesPage {
    samples: Vec<SampleView>,
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize)]
struct SampleView {
    sample_id: Uuid,
    device_id: Uuid,
    /// The device's registered type; `null` for a device the registry does not know.
    device_type: Option<String>,
    #[serde(rename = "type")]
    sample_type: &'static str,
    value: f64,
    unit: &'static str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    utc_offset_seconds: i32,
    source_app: Option<String>,
    counted_fraction: f64,
}

/// Role: user. Only the caller's samples and devices are read.
pub async fn samples(
    state: Arc<AppState>,
    user: AuthUser,
    params: Params,
) -> Result<impl Reply, ApiError> {
    let sample_type = params.sample_type()?;
    let limit = params.limit(DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = params.get("cursor").map(Cursor::parse).transpose()?;
    let mut read = Reader::open(&state, &user).await?;
    let (from, to) = params.range(read.zone, MAX_RANGE_DAYS, "")?;
    let range = Range {
        user_id: user.id,
        sample_type,
        from,
        to,
    };

    // The data key (its own connection) and the devices (pipelined on this one, with the
    // session's confirmation) at once. A key is made for an account older than encryption
    // only once the session is confirmed: an erased user's must stay gone.
    let (key, devices) = tokio::try_join!(
        state.stored_data_key(user.id),
        read.first(&state, |db| RankedDevices::load(db, user.id))
    )?;
    let key = match key {
        Some(key) => key,
        None => state.data_key(user.id).await?,
    };
    // One row more than the page tells whether another page follows.
    let mut page = stored::page(
        read.db()?,
        &range,
        after.map(|c| c.key()),
        limit + 1,
        Some(&key),
    )
    .await?;
    let more = page.len() as i64 > limit;
    page.truncate(limit as usize);
    let next_cursor = match (more, page.last()) {
        (true, Some(last)) => Some(Cursor::of(&last.sample).encode()),
        _ => None,
    };
    if page.is_empty() {
        return Ok(warp::reply::json(&SamplesPage {
            samples: Vec::new(),
            next_cursor,
        }));
    }
    let neighbours = neighbours(read.db()?, &range, &page).await?;
    drop(read);

    // Deduplication of a day or two of samples is CPU work: off the async threads.
    let body = tokio::task::spawn_blocking(move || {
        let fractions = counted_fractions(&page, neighbours, &devices.ranking);
        SamplesPage {
            samples: page
                .into_iter()
                .map(|p| view(p, sample_type, &fractions, &devices))
                .collect(),
            next_cursor,
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("samples task: {e}")))?;
    Ok(warp::reply::json(&body))
}

/// A page sample as answered, with its counted fraction from `fractions`.
fn view(
    p: StoredSample,
    sample_type: SampleType,
    fractions: &HashMap<String, f64>,
    devices: &RankedDevices,
) -> SampleView {
    SampleView {
        counted_fraction: fractions.get(&p.sample.id).copied().unwrap_or(1.0),
        sample_id: p.sample.id.parse().expect("ids come from uuids"),
        device_type: devices
            .labels
            .get(&p.sample.device_id)
            .map(|d| d.device_type.clone()),
        device_id: p.sample.device_id.parse().expect("ids come from uuids"),
        sample_type: sample_type.as_str(),
        value: p.sample.value,
        unit: sample_type.canonical_unit().symbol(),
        start: p.sample.start,
        end: p.sample.end,
        utc_offset_seconds: p.utc_offset_seconds,
        source_app: p.source_app,
    }
}

/// Every stored sample of the type that can overlap a sample of `page` (a non-empty page).
///
/// The stored samples that overlap the page's time span (see [`SampleType::overlap_starts`]):
/// deduplicated with them, the page's samples count exactly as in the aggregates and explain.
async fn neighbours(
    db: &deadpool_postgres::Client,
    range: &Range,
    page: &[StoredSample],
) -> Result<Vec<Sample>, ApiError> {
    let first_start = page.iter().map(|p| p.sample.start).min();
    let last_end = page.iter().map(|p| p.sample.end.max(p.sample.start)).max();
    let (Some(first_start), Some(last_end)) = (first_start, last_end) else {
        return Ok(Vec::new());
    };
    // The last end is included: one microsecond, PostgreSQL's resolution, after it.
    let overlapping = range
        .sample_type
        .overlap_starts(first_start, last_end + TimeDelta::microseconds(1));
    let around = Range {
        from: overlapping.start,
        to: overlapping.end,
        ..*range
    };
    let samples = stored::starting_in(db, &around, MAX_NEIGHBOURS + 1).await?;
    if samples.len() as i64 > MAX_NEIGHBOURS {
        return Err(ApiError::BadRequest(format!(
            "limit: more than {MAX_NEIGHBOURS} samples around this page; ask for fewer"
        )));
    }
    Ok(samples)
}

/// The counted fraction of every page sample, by id, deduplicating the page among its
/// neighbours (the page's own rows are added in case one was stored between the two reads).
fn counted_fractions(
    page: &[StoredSample],
    mut neighbours: Vec<Sample>,
    ranking: &DeviceRanking,
) -> HashMap<String, f64> {
    neighbours.extend(page.iter().map(|p| p.sample.clone()));
    let considered = clean_up(&neighbours, &Default::default());
    let wanted: std::collections::HashSet<&str> =
        page.iter().map(|p| p.sample.id.as_str()).collect();
    dedup(considered, ranking)
        .iter()
        .filter(|(s, _)| wanted.contains(s.id.as_str()))
        .map(|(s, outcome)| (s.id.clone(), outcome.fraction))
        .collect()
}

/// Where a page ends: the (start, id) of its last sample. On the wire, the hex of the start in
/// microseconds since the epoch (8 bytes, big-endian) followed by the id's 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    start: DateTime<Utc>,
    sample_id: Uuid,
}

impl Cursor {
    /// The cursor naming `sample` as the last of its page.
    fn of(sample: &Sample) -> Self {
        Cursor {
            start: sample.start,
            sample_id: sample.id.parse().expect("ids come from uuids"),
        }
    }

    fn key(self) -> PageKey {
        PageKey {
            start: self.start,
            sample_id: self.sample_id,
        }
    }

    fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(24);
        bytes.extend_from_slice(&self.start.timestamp_micros().to_be_bytes());
        bytes.extend_from_slice(self.sample_id.as_bytes());
        hex::encode(bytes)
    }

    fn parse(raw: &str) -> Result<Self, ApiError> {
        let malformed = || {
            ApiError::BadRequest("cursor: not a cursor of this endpoint; pass next_cursor".into())
        };
        let bytes = hex::decode(raw).map_err(|_| malformed())?;
        if bytes.len() != 24 {
            return Err(malformed());
        }
        let micros = i64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
        let start = DateTime::from_timestamp_micros(micros)
            .filter(|t| QUERY_YEARS.contains(&t.year()))
            .ok_or_else(malformed)?;
        let sample_id = Uuid::from_slice(&bytes[8..]).map_err(|_| malformed())?;
        Ok(Cursor { start, sample_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_its_round_trip() {
        let cursor = Cursor {
            start: DateTime::from_timestamp_micros(1_777_881_600_123_456).unwrap(),
            sample_id: Uuid::new_v4(),
        };
        let encoded = cursor.encode();
        assert_eq!(encoded.len(), 48);
        assert!(encoded.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(Cursor::parse(&encoded).unwrap(), cursor);
    }

    #[test]
    fn malformed_cursors_are_refused_naming_the_parameter() {
        let valid = Cursor {
            start: DateTime::from_timestamp_micros(0).unwrap(),
            sample_id: Uuid::nil(),
        }
        .encode();
        for raw in [
            "",
            "zz",
            &valid[..46],
            &format!("{valid}00"),
            "not a cursor",
        ] {
            match Cursor::parse(raw) {
                Err(ApiError::BadRequest(m)) => assert!(m.starts_with("cursor: "), "{m}"),
                other => panic!("{raw:?} gave {other:?}"),
            }
        }
    }
}
