//! What the query API reads from the projections: aggregates, samples, the daily summary,
//! insights, and the two facts deduplication depends on, each read from the processor's
//! projection so that a read never contradicts the aggregates it explains: the device ranking
//! (`crate::projections::profiles::device_ranking`, the very loader the aggregation
//! processor ranks with) and the zone of the user's buckets ([`profiles`]).

pub mod aggregates;
pub mod export;
pub mod insights;
pub mod profiles;
pub mod samples;
pub mod summary;

use deadpool_postgres::GenericClient;

use crate::sql::query_one;
use crate::{statement, StoreError};

statement!(PING, "ping");

/// One round trip to the database, for readiness.
pub async fn ping(client: &impl GenericClient) -> Result<(), StoreError> {
    query_one(client, PING, &[]).await?;
    Ok(())
}
