//! Waiting for the projection. A share change (grant, redemption, revocation) is answered
//! only once the aggregation processor applied its event, so the answer and every read after
//! it agree: the processor stores its position in each partition with the rows it wrote, and
//! the change is applied when that position passed the event's offset.

use std::time::{Duration, Instant};

use healthpipe_storage::projections::offsets;

use crate::error::ApiError;
use crate::AppState;

/// How often the position is looked at while waiting.
const POLL: Duration = Duration::from_millis(25);

/// Whether the processor has applied the events at `positions` (partition, offset) of the
/// per-user stream: its stored position in each partition is past the event's offset.
pub async fn applied(
    state: &AppState,
    positions: impl IntoIterator<Item = (i32, i64)>,
) -> Result<bool, ApiError> {
    let db = state.db.get().await?;
    let topic = &state.publisher.topics.user_events;
    let stored = offsets::load(&db, &state.config.projection_group, topic).await?;
    Ok(positions
        .into_iter()
        .all(|(p, o)| stored.get(&p).is_some_and(|next| *next > o)))
}

/// Waits, at most `projection_wait`, until the processor applied the events at `positions`
/// (partition, offset) of the per-user stream. A 503 after that: the change is saved and
/// takes effect as soon as the processor gets to it.
pub async fn wait(state: &AppState, positions: &[(i32, i64)]) -> Result<(), ApiError> {
    let deadline = Instant::now() + state.config.projection_wait;
    loop {
        if applied(state, positions.iter().copied()).await? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(ApiError::Unavailable {
                reason: "the change is saved and takes effect as soon as the processor \
                         applies it; retrying the request is safe"
                    .into(),
                retry_after_secs: 1,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
