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
//! overlap the page, so it agrees with the aggregates.
//!
//! `next_cursor` is an opaque string naming the last sample of the page, `null` on the last
//! page; pass it as `cursor` with the same `type`, `from` and `to` for the next page. Paging is
//! by key, so samples arriving meanwhile neither repeat nor shift the pages.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use healthpipe_domain::{clean_up, dedup, DeviceRanking, Sample};
use serde::Serialize;
use uuid::Uuid;
use warp::Reply;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::query::devices::{domain_sample, ranking_and_labels};
use crate::query::params::{limit_param, range_params, sample_type_param, QUERY_YEARS};
use crate::AppState;

/// Widest `from`..`to` of one request.
const MAX_RANGE_DAYS: i64 = 31;
/// Samples per page unless `limit` says otherwise, and the most it may say.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;
/// Most samples loaded around one page for deduplication: a page of minute readings from
/// several devices with a day of margin on each side fits, a runaway query does not.
const MAX_NEIGHBOURS: i64 = 250_000;

const PAGE_SQL: &str = "SELECT sample_id, device_id, value, start_time, end_time, \
     utc_offset_seconds, source_app FROM samples \
     WHERE user_id = $1 AND sample_type = $2 AND start_time >= $3 AND start_time < $4 \
     ORDER BY start_time, sample_id LIMIT $5";
/// The same, after the cursor's (start, id): a row comparison the index
/// (user_id, sample_type, start_time, sample_id) answers directly.
const PAGE_AFTER_SQL: &str = "SELECT sample_id, device_id, value, start_time, end_time, \
     utc_offset_seconds, source_app FROM samples \
     WHERE user_id = $1 AND sample_type = $2 AND start_time >= $3 AND start_time < $4 \
     AND (start_time, sample_id) > ($6, $7) \
     ORDER BY start_time, sample_id LIMIT $5";
/// Every sample of the type that can overlap the page.
const NEIGHBOURS_SQL: &str = "SELECT sample_id, device_id, value, start_time, end_time \
     FROM samples WHERE user_id = $1 AND sample_type = $2 \
     AND start_time >= $3 AND start_time <= $4 LIMIT $5";

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
    params: HashMap<String, String>,
) -> Result<impl Reply, ApiError> {
    let sample_type = sample_type_param(&params)?;
    let limit = limit_param(&params, DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = params.get("cursor").map(|c| Cursor::parse(c)).transpose()?;
    let db = state.db.get().await?;
    let tz = user.timezone;
    let (from, to) = range_params(&params, tz, MAX_RANGE_DAYS, "")?;

    // One row more than the page tells whether another page follows.
    let type_name = sample_type.as_str();
    let fetch = limit + 1;
    let mut rows = match &after {
        None => {
            let statement = db.prepare_cached(PAGE_SQL).await?;
            db.query(&statement, &[&user.id, &type_name, &from, &to, &fetch])
                .await?
        }
        Some(cursor) => {
            let statement = db.prepare_cached(PAGE_AFTER_SQL).await?;
            db.query(
                &statement,
                &[
                    &user.id,
                    &type_name,
                    &from,
                    &to,
                    &fetch,
                    &cursor.start,
                    &cursor.sample_id,
                ],
            )
            .await?
        }
    };
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let page: Vec<PageRow> = rows
        .iter()
        .map(|r| PageRow {
            sample: Sample {
                id: r.get::<_, Uuid>(0).to_string(),
                device_id: r.get::<_, Uuid>(1).to_string(),
                sample_type,
                value: r.get(2),
                start: r.get(3),
                end: r.get(4),
            },
            utc_offset_seconds: r.get(5),
            source_app: r.get(6),
        })
        .collect();
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => Some(
            Cursor {
                start: last.get(3),
                sample_id: last.get(0),
            }
            .encode(),
        ),
        _ => None,
    };
    if page.is_empty() {
        return Ok(warp::reply::json(&SamplesPage {
            samples: Vec::new(),
            next_cursor,
        }));
    }

    let (ranking, labels) = ranking_and_labels(&db, user.id).await?;
    let device_types: HashMap<String, String> = labels
        .into_iter()
        .map(|(id, label)| (id, label.device_type))
        .collect();

    // Samples longer than the type allows are rejected at the gateway, so every sample that
    // overlaps one of the page starts at most one maximum duration before the page's first
    // start, and no later than the page's last end.
    let first_start = page
        .iter()
        .map(|p| p.sample.start)
        .min()
        .expect("non-empty");
    let last_end = page
        .iter()
        .map(|p| p.sample.end.max(p.sample.start))
        .max()
        .expect("non-empty");
    let statement = db.prepare_cached(NEIGHBOURS_SQL).await?;
    let rows = db
        .query(
            &statement,
            &[
                &user.id,
                &type_name,
                &(first_start - sample_type.max_duration()),
                &last_end,
                &(MAX_NEIGHBOURS + 1),
            ],
        )
        .await?;
    if rows.len() as i64 > MAX_NEIGHBOURS {
        return Err(ApiError::BadRequest(format!(
            "limit: more than {MAX_NEIGHBOURS} samples around this page; ask for fewer"
        )));
    }
    drop(db);
    let neighbours: Vec<Sample> = rows.iter().map(|r| domain_sample(r, sample_type)).collect();

    // Deduplication of a day or two of samples is CPU work: off the async threads.
    let body = tokio::task::spawn_blocking(move || {
        let fractions = counted_fractions(&page, neighbours, &ranking);
        let samples = page
            .into_iter()
            .map(|p| {
                let counted_fraction = fractions.get(&p.sample.id).copied().unwrap_or(1.0);
                SampleView {
                    sample_id: p.sample.id.parse().expect("ids come from uuids"),
                    device_type: device_types.get(&p.sample.device_id).cloned(),
                    device_id: p.sample.device_id.parse().expect("ids come from uuids"),
                    sample_type: sample_type.as_str(),
                    value: p.sample.value,
                    unit: sample_type.canonical_unit().symbol(),
                    start: p.sample.start,
                    end: p.sample.end,
                    utc_offset_seconds: p.utc_offset_seconds,
                    source_app: p.source_app,
                    counted_fraction,
                }
            })
            .collect();
        SamplesPage {
            samples,
            next_cursor,
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("samples task: {e}")))?;
    Ok(warp::reply::json(&body))
}

/// A sample of the page with the columns only the answer needs.
struct PageRow {
    sample: Sample,
    utc_offset_seconds: i32,
    source_app: Option<String>,
}

/// The counted fraction of every page sample, by id, deduplicating the page among its
/// neighbours (the page's own rows are added in case one was stored between the two reads).
fn counted_fractions(
    page: &[PageRow],
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
