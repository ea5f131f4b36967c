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

/// Waits, at most `projection_wait`, until the processor applied the events at `positions`
/// (partition, offset) of the per-user stream. A 503 after that: the change is saved and
/// takes effect as soon as the processor gets to it.
pub async fn wait(state: &AppState, positions: &[(i32, i64)]) -> Result<(), ApiError> {
    let deadline = Instant::now() + state.config.projection_wait;
    let topic = &state.publisher.topics.user_events;
    loop {
        let stored = {
            let db = state.db.get().await?;
            offsets::load(&db, &state.config.projection_group, topic).await?
        };
        let applied = positions
            .iter()
            .all(|(p, o)| stored.get(p).is_some_and(|next| next > o));
        if applied {
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
