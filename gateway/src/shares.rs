//! The owner's side of sharing: `POST|GET /api/v1/shares`, `DELETE /api/v1/shares/{id}`,
//! `GET /api/v1/shares/{id}/access-log`.
//!
//! Grants, and their revocation, are events on the owner's stream; the aggregation
//! processor materialises them into `share_grants`, and each change is answered once it did
//! (see [`crate::applied`]). A revocation also takes effect at once, before the processor
//! applies it: the gateway records it in `share_revocations` in the request, and every read
//! checks both.

use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use data_encoding::{Encoding, Specification};
use healthpipe_domain::sharing::GrantFacts;
use healthpipe_domain::SampleType;
use healthpipe_schemas::{ShareGranted, ShareRevoked};
use healthpipe_storage::sharing::access::{self, AccessRecord};
use healthpipe_storage::sharing::grants::{self, Grant};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use warp::http::StatusCode;
use warp::Reply;

use crate::accounts::{check_email, check_text};
use crate::auth::{self, AuthUser};
use crate::error::ApiError;
use crate::{applied, outbox, AppState};

/// The longest a grant may run: a year from its making.
pub const MAX_VALIDITY_DAYS: i64 = 366;
/// Access-log records one answer shows at most (the newest).
const ACCESS_LOG_LIMIT: i64 = 1_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewShare {
    pub recipient_email: String,
    pub data_types: Vec<String>,
    pub date_start: NaiveDate,
    pub date_end: NaiveDate,
    pub expires_at: DateTime<Utc>,
    pub label: String,
}

/// A grant as its owner and its provider see it.
#[derive(Debug, Serialize)]
pub struct ShareView {
    pub id: Uuid,
    pub label: String,
    pub recipient_email: String,
    pub data_types: Vec<String>,
    pub date_start: NaiveDate,
    pub date_end: NaiveDate,
    pub expires_at: DateTime<Utc>,
    /// `pending`, `active`, `expired` or `revoked`.
    pub state: &'static str,
    pub created_at: DateTime<Utc>,
    pub redeemed_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_access_at: Option<DateTime<Utc>>,
}

impl ShareView {
    pub fn of(grant: &Grant, now: DateTime<Utc>) -> Self {
        ShareView {
            id: grant.share_id,
            label: grant.label.clone(),
            recipient_email: grant.recipient_email.clone(),
            data_types: grant.sample_types.clone(),
            date_start: grant.date_start,
            date_end: grant.date_end,
            expires_at: grant.expires_at,
            state: facts(grant).state(now).as_str(),
            created_at: grant.granted_at,
            redeemed_at: grant.redeemed_at,
            revoked_at: grant.revoked_at,
            last_access_at: grant.last_access,
        }
    }
}

/// What the sharing rules need of a grant.
pub fn facts(grant: &Grant) -> GrantFacts {
    GrantFacts {
        owner: grant.owner,
        recipient_email: grant.recipient_email.clone(),
        sample_types: grant
            .sample_types
            .iter()
            .filter_map(|t| t.parse().ok())
            .collect(),
        date_start: grant.date_start,
        date_end: grant.date_end,
        expires_at: grant.expires_at,
        redeemed_by: grant.redeemed_by,
        revoked: grant.revoked_at.is_some(),
    }
}

/// Role: user. 201 with the grant and its access code, shown this once (only its SHA-256
/// is kept); 422 naming the field that is wrong.
pub async fn create(
    state: Arc<AppState>,
    user: AuthUser,
    body: NewShare,
) -> Result<impl Reply, ApiError> {
    let now = Utc::now();
    let share = checked(body, now)?;
    let code = access_code();
    let event = ShareGranted {
        event_id: Uuid::new_v4().to_string(),
        user_id: user.id.to_string(),
        share_id: Uuid::new_v4().to_string(),
        recipient_email: share.recipient_email,
        sample_types: share.types.iter().map(|t| t.as_str().to_string()).collect(),
        date_start: share.date_start.to_string(),
        date_end: share.date_end.to_string(),
        expires_at: share.expires_at.timestamp_micros(),
        label: share.label,
        code_digest: code_digest(&code),
        granted_at: now.timestamp_micros(),
    };
    let share_id: Uuid = event.share_id.parse().expect("made above");
    let mut db = state.db.get().await?;
    let tx = db.transaction().await?;
    outbox::record(&tx, &state, user.id, &event).await?;
    tx.commit().await?;
    drop(db);
    settle(&state, user.id).await?;
    let grant = load_owned(&state, &user, share_id).await?;
    Ok(warp::reply::with_status(
        warp::reply::json(&serde_json::json!({
            "share": ShareView::of(&grant, Utc::now()),
            "access_code": code,
        })),
        StatusCode::CREATED,
    ))
}

/// Role: user. The caller's grants, newest first; revoked and expired ones for 30 days
/// after their end.
pub async fn list(state: Arc<AppState>, user: AuthUser) -> Result<impl Reply, ApiError> {
    let db = state.db.get().await?;
    let now = Utc::now();
    let owned = grants::owned(&db, user.id).await?;
    let views: Vec<ShareView> = owned.iter().map(|g| ShareView::of(g, now)).collect();
    Ok(warp::reply::json(&views))
}

/// Role: user. Revokes the grant: refused for reads from the moment this request is taken;
/// answered once the processor applied it. Revoking a revoked grant changes nothing.
pub async fn revoke(
    state: Arc<AppState>,
    user: AuthUser,
    share_id: Uuid,
) -> Result<impl Reply, ApiError> {
    let grant = load_owned(&state, &user, share_id).await?;
    if grant.revoked_at.is_none() {
        let event = ShareRevoked {
            event_id: Uuid::new_v4().to_string(),
            user_id: user.id.to_string(),
            share_id: share_id.to_string(),
            revoked_at: Utc::now().timestamp_micros(),
        };
        let mut db = state.db.get().await?;
        let tx = db.transaction().await?;
        grants::revoke(&tx, share_id, user.id).await?;
        outbox::record(&tx, &state, user.id, &event).await?;
        tx.commit().await?;
        drop(db);
        settle(&state, user.id).await?;
    }
    let grant = load_owned(&state, &user, share_id).await?;
    Ok(warp::reply::json(&ShareView::of(&grant, Utc::now())))
}

/// One access record as its owner sees it.
#[derive(Debug, Serialize)]
pub(crate) struct AccessView {
    at: Option<DateTime<Utc>>,
    reader_id: Option<Uuid>,
    link_id: Option<Uuid>,
    recipient: Option<String>,
    action: String,
    outcome: String,
    reason: Option<String>,
    data_types: Vec<String>,
    range_start: Option<NaiveDate>,
    range_end: Option<NaiveDate>,
    client: Option<String>,
}

impl From<AccessRecord> for AccessView {
    fn from(r: AccessRecord) -> Self {
        AccessView {
            at: r.at,
            reader_id: r.reader_id,
            link_id: r.link_id,
            recipient: r.recipient,
            action: r.action,
            outcome: r.outcome,
            reason: r.reason,
            data_types: r.sample_types,
            range_start: r.range_start,
            range_end: r.range_end,
            client: r.client,
        }
    }
}

/// Role: user. Every read of the grant's data and every refusal, newest first.
pub async fn access_log(
    state: Arc<AppState>,
    user: AuthUser,
    share_id: Uuid,
) -> Result<impl Reply, ApiError> {
    load_owned(&state, &user, share_id).await?;
    let db = state.db.get().await?;
    let records = access::for_share(&db, share_id, ACCESS_LOG_LIMIT).await?;
    let views: Vec<AccessView> = records.into_iter().map(AccessView::from).collect();
    Ok(warp::reply::json(&views))
}

/// The caller's grant `share_id`; another owner's, or none, is the same 404.
pub(crate) async fn load_owned(
    state: &AppState,
    user: &AuthUser,
    share_id: Uuid,
) -> Result<Grant, ApiError> {
    let db = state.db.get().await?;
    match grants::find(&db, share_id).await? {
        Some(grant) if grant.owner == user.id => Ok(grant),
        _ => Err(ApiError::NotFound("no such share".into())),
    }
}

/// Appends the owner's events recorded in the outbox, and waits until the processor
/// applied them.
pub(crate) async fn settle(state: &AppState, owner: Uuid) -> Result<(), ApiError> {
    let positions = outbox::drain(state, owner).await?;
    applied::wait(state, &positions).await
}

/// A new grant's fields, checked.
struct CheckedShare {
    recipient_email: String,
    types: Vec<SampleType>,
    date_start: NaiveDate,
    date_end: NaiveDate,
    expires_at: DateTime<Utc>,
    label: String,
}

fn checked(body: NewShare, now: DateTime<Utc>) -> Result<CheckedShare, ApiError> {
    let unprocessable = |m: String| Err(ApiError::Unprocessable(m));
    let email = check_email("recipient_email", &body.recipient_email)?;
    if body.data_types.is_empty() {
        return unprocessable("data_types: at least one sample type".into());
    }
    let mut types = Vec::new();
    for name in &body.data_types {
        let t: SampleType = name
            .parse()
            .map_err(|e| ApiError::Unprocessable(format!("data_types: {e}")))?;
        if !types.contains(&t) {
            types.push(t);
        }
    }
    if body.date_start > body.date_end {
        return unprocessable("date_end: on or after date_start".into());
    }
    for (field, date) in [("date_start", body.date_start), ("date_end", body.date_end)] {
        if !crate::query::QUERY_YEARS.contains(&chrono::Datelike::year(&date)) {
            return unprocessable(format!("{field}: a date between the years 1900 and 2999"));
        }
    }
    if body.expires_at <= now || body.expires_at > now + Duration::days(MAX_VALIDITY_DAYS) {
        return unprocessable(format!(
            "expires_at: in the future, at most {MAX_VALIDITY_DAYS} days from now"
        ));
    }
    let label = check_text("label", &body.label)?;
    Ok(CheckedShare {
        recipient_email: email,
        types,
        date_start: body.date_start,
        date_end: body.date_end,
        expires_at: body.expires_at,
        label,
    })
}

/// 160 bits from the OS's random source, as 32 base-32 characters (no 0/O or 1/I to
/// mistake when read aloud), in groups of four.
fn access_code() -> String {
    static CODE: LazyLock<Encoding> = LazyLock::new(|| {
        let mut spec = Specification::new();
        spec.symbols.push_str("ABCDEFGHJKLMNPQRSTUVWXYZ23456789");
        spec.encoding()
            .expect("32 distinct symbols make a base-32 encoding")
    });
    let letters = CODE.encode(&auth::os_random::<20>());
    let groups: Vec<&str> = letters
        .as_bytes()
        .chunks(4)
        .map(|group| std::str::from_utf8(group).expect("ASCII symbols"))
        .collect();
    groups.join("-")
}

/// The SHA-256 (hex) of a code as typed: case, spaces and dashes do not matter.
pub fn code_digest(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hex::encode(auth::token_digest(&normal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_32_characters_of_160_bits_and_differ() {
        let a = access_code();
        let b = access_code();
        assert_ne!(a, b);
        let letters: String = a.chars().filter(|c| *c != '-').collect();
        assert_eq!(letters.len(), 32, "{a}");
        assert_eq!(a.split('-').count(), 8, "{a}");
    }

    #[test]
    fn a_code_is_found_however_it_is_typed() {
        let code = access_code();
        let typed = code.replace('-', " ").to_lowercase();
        assert_eq!(code_digest(&code), code_digest(&typed));
        assert_ne!(code_digest(&code), code_digest(&access_code()));
    }
}
