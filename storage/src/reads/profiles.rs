//! The zone a user's aggregates are bucketed in.

use chrono_tz::Tz;
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::sql::query_opt;
use crate::{statement, StoreError};

statement!(ZONE, "profiles_zone");

/// The zone of the user's buckets: the one the aggregation processor projected into
/// `user_profiles` from the user's events, so that local days and bucket starts read here are
/// the ones the stored aggregates have, even while a zone change is still on its way through
/// the log. A user the processor has not projected yet (no profile row) has no aggregates
/// either; for them the account's zone stands in, the one their registration event carries.
/// UTC for an unknown user or a name that is not a zone.
pub async fn zone(client: &impl GenericClient, user_id: Uuid) -> Result<Tz, StoreError> {
    let row = query_opt(client, ZONE, &[&user_id]).await?;
    Ok(zone_named(row.and_then(|r| r.get::<_, Option<String>>(0))))
}

/// A zone as stored: UTC for none or a name that is not a zone.
pub(crate) fn zone_named(name: Option<String>) -> Tz {
    name.and_then(|name| name.parse().ok()).unwrap_or(Tz::UTC)
}
