//! The devices as the endpoints that deduplicate on read (explain, samples) see them: ranked
//! as the aggregation processor ranks them, named as the registry names them.

use std::collections::HashMap;

use healthpipe_domain::DeviceRanking;
use healthpipe_storage::accounts::devices::{self, Device};
use healthpipe_storage::projections::profiles;
use uuid::Uuid;

use crate::error::ApiError;

/// The caller's devices for a deduplication on read.
pub(crate) struct RankedDevices {
    /// From the processor's projection, so that what a read says counted is what the stored
    /// aggregates counted, even while a priority change is still on its way through the log.
    pub ranking: DeviceRanking,
    /// The registry's devices by id, for their names and types only.
    pub labels: HashMap<String, Device>,
}

impl RankedDevices {
    /// Both reads go out together on the one connection (pipelined, one round trip).
    pub(crate) async fn load(db: &deadpool_postgres::Client, user: Uuid) -> Result<Self, ApiError> {
        let (ranking, devices) =
            tokio::try_join!(profiles::device_ranking(db, user), devices::list(db, user))?;
        let labels = devices.into_iter().map(|d| (d.id.to_string(), d)).collect();
        Ok(Self { ranking, labels })
    }
}
