//! What the read endpoints that deduplicate on read (explain, samples) share: the caller's
//! device ranking, as the aggregation processor ranks them, and stored samples in the shape
//! the domain's deduplication takes.

use std::collections::HashMap;

use healthpipe_domain::{DeviceRanking, Sample, SampleType};
use uuid::Uuid;

use crate::error::ApiError;

/// A device as the answers name it.
pub(crate) struct DeviceLabel {
    pub device_type: String,
    pub name: String,
}

const DEVICES_SQL: &str =
    "SELECT id, device_type, device_name, priority, type_priorities FROM devices WHERE user_id = $1";

/// The ranking of the user's devices (per-type overrides included) and their labels, keyed
/// by device id.
pub(crate) async fn ranking_and_labels(
    db: &deadpool_postgres::Client,
    user: Uuid,
) -> Result<(DeviceRanking, HashMap<String, DeviceLabel>), ApiError> {
    let statement = db.prepare_cached(DEVICES_SQL).await?;
    let rows = db.query(&statement, &[&user]).await?;
    let mut ranking = DeviceRanking::new();
    let mut labels = HashMap::new();
    for r in &rows {
        let id = r.get::<_, Uuid>(0).to_string();
        let priority: i32 = r.get(3);
        ranking.set_priority(id.clone(), priority.into());
        let overrides: HashMap<String, i32> = serde_json::from_value(r.get(4)).unwrap_or_default();
        for (name, p) in overrides {
            if let Ok(t) = name.parse::<SampleType>() {
                ranking.set_type_priority(id.clone(), t, p.into());
            }
        }
        labels.insert(
            id,
            DeviceLabel {
                device_type: r.get(1),
                name: r.get(2),
            },
        );
    }
    Ok((ranking, labels))
}

/// A row of `sample_id, device_id, value, start_time, end_time` as a domain sample.
pub(crate) fn domain_sample(r: &tokio_postgres::Row, sample_type: SampleType) -> Sample {
    Sample {
        id: r.get::<_, Uuid>(0).to_string(),
        device_id: r.get::<_, Uuid>(1).to_string(),
        sample_type,
        value: r.get(2),
        start: r.get(3),
        end: r.get(4),
    }
}
