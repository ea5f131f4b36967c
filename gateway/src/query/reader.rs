//! What every read endpoint over the projections starts from: a connection, and the zone the
//! caller's buckets are in as the aggregation processor bucketed them.

use std::sync::Arc;

use chrono_tz::Tz;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::AppState;

pub(crate) struct Reader {
    pub db: deadpool_postgres::Client,
    /// The zone of the caller's aggregates (see `healthpipe_storage::reads::profiles::zone`):
    /// local dates in parameters and bucket starts are read in it.
    pub zone: Tz,
}

impl Reader {
    /// The zone came with the caller's session (one round trip fewer per read).
    pub(crate) async fn open(state: &Arc<AppState>, user: &AuthUser) -> Result<Self, ApiError> {
        let db = state.db.get().await?;
        Ok(Self {
            db,
            zone: user.zone,
        })
    }
}
