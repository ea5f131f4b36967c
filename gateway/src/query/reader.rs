//! What every read endpoint over the projections starts from: a connection, the zone the
//! caller's buckets are in as the aggregation processor bucketed them, and the confirmation
//! of a remembered session.

use std::future::Future;
use std::sync::Arc;

use chrono_tz::Tz;
use healthpipe_storage::accounts::sessions::{self, SessionUser};

use crate::auth::{self, AuthUser};
use crate::error::ApiError;
use crate::query::Params;
use crate::AppState;

pub(crate) struct Reader {
    db: deadpool_postgres::Client,
    /// The zone of the caller's aggregates (see `healthpipe_storage::reads::profiles::zone`):
    /// local dates in parameters and bucket starts are read in it.
    pub zone: Tz,
    /// A remembered session (see `known_sessions`) that [`Reader::first`] has yet to confirm.
    unconfirmed: Option<(Vec<u8>, SessionUser)>,
}

impl Reader {
    /// The zone came with the caller's session (one round trip fewer per read).
    pub(crate) async fn open(state: &Arc<AppState>, user: &AuthUser) -> Result<Self, ApiError> {
        let db = state.db.get().await?;
        let unconfirmed = user.remembered.then(|| {
            let session = SessionUser {
                id: user.id,
                role: user.role.clone(),
                zone: user.zone,
            };
            (user.token_hash.clone(), session)
        });
        Ok(Self {
            db,
            zone: user.zone,
            unconfirmed,
        })
    }

    /// Runs the read's first statement. For a remembered session the session lookup is
    /// sent with it, pipelined on the same connection, so both take one round trip; the
    /// statement's answer is given back only if the lookup finds the session as remembered.
    /// Otherwise: no session any more (signed out, erased, expired) is a 401, and a changed
    /// one (the zone moved) is [`ApiError::SessionChanged`], for `routes` to run the read
    /// again on the session as it is now. Every later statement uses [`Reader::db`].
    pub(crate) async fn first<'a, T, E, F, Fut>(
        &'a mut self,
        state: &AppState,
        statement: F,
    ) -> Result<T, ApiError>
    where
        F: FnOnce(&'a deadpool_postgres::Client) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        ApiError: From<E>,
    {
        let Reader {
            db, unconfirmed, ..
        } = self;
        let db: &'a deadpool_postgres::Client = db;
        let Some((token_hash, remembered)) = unconfirmed.take() else {
            return Ok(statement(db).await?);
        };
        let (found, answer) = tokio::join!(sessions::lookup(db, &token_hash), statement(db));
        let found = found?;
        state.sessions.update(&token_hash, found.as_ref());
        match found {
            None => Err(ApiError::Unauthorized),
            Some(now) if now != remembered => Err(ApiError::SessionChanged),
            Some(_) => Ok(answer?),
        }
    }

    /// The connection, once [`Reader::first`] has confirmed the session.
    pub(crate) fn db(&self) -> Result<&deadpool_postgres::Client, ApiError> {
        match self.unconfirmed {
            None => Ok(&self.db),
            Some(_) => Err(ApiError::Internal(
                "a read used its connection before its first statement confirmed the session"
                    .into(),
            )),
        }
    }
}

/// Runs a read endpoint's `handler` for a caller from [`crate::auth::with_reader`]. If its
/// remembered session changed, the read runs once more on the session looked up now. If the
/// read failed before its first statement confirmed the session (a 400 for a parameter,
/// say), the session is looked up first, so that an ended session is a 401 as it would be
/// for any other request.
pub(crate) async fn read<R, F, Fut>(
    state: Arc<AppState>,
    user: AuthUser,
    params: Params,
    handler: F,
) -> Result<R, ApiError>
where
    F: Fn(Arc<AppState>, AuthUser, Params) -> Fut,
    Fut: Future<Output = Result<R, ApiError>>,
{
    let remembered = user.remembered;
    let token_hash = user.token_hash.clone();
    match handler(state.clone(), user, params.clone()).await {
        Err(ApiError::SessionChanged) => {
            let user = auth::lookup(&state, token_hash).await?;
            handler(state, user, params).await
        }
        Err(error) if remembered => {
            auth::lookup(&state, token_hash).await?;
            Err(error)
        }
        answer => answer,
    }
}
