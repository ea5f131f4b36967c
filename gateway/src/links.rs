//! SMART Health Links (HL7 SMART Health Cards and Links IG, STU1): a grant handed to a
//! recipient without an account. `POST /api/v1/shares/{id}/links` (the owner) makes a
//! `shlink:/` link; a viewer POSTs `{recipient, passcode}` to its manifest URL,
//! `POST /shl/{manifest}` (no account), and gets the grant's slice as a FHIR R4 Bundle in a
//! compact JWE (`alg: dir`, `enc: A256GCM`).
//!
//! The Bundle is encrypted when the link is made, under a key that only the link carries:
//! the gateway stores the JWE and never the key. The link dies with its grant (revoked or
//! expired: 404), and after [`MAX_ATTEMPTS`] wrong passcodes. Every opening and every
//! refusal is in the owner's access log.

use std::net::IpAddr;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use healthpipe_crypto::jwe::{self, JweKey};
use healthpipe_domain::sharing::{ShareState, Slice};
use healthpipe_domain::Period;
use healthpipe_storage::reads::profiles;
use healthpipe_storage::sharing::access::AccessRecord;
use healthpipe_storage::sharing::grants::{self, Grant};
use healthpipe_storage::sharing::links::{self, Link};
use serde::Deserialize;
use uuid::Uuid;
use warp::http::StatusCode;
use warp::Reply;

use crate::auth::{self, AuthUser};
use crate::error::ApiError;
use crate::shared::{allow, bundle, refuse_with};
use crate::shares::{facts, load_owned};
use crate::AppState;

/// Wrong passcodes a link takes before it stops working.
pub const MAX_ATTEMPTS: i32 = 5;
/// The shortest passcode a link may have.
pub const MIN_PASSCODE_CHARS: usize = 6;
/// The label's limit in a link's payload (the specification's).
const LABEL_CHARS: usize = 80;
const FHIR_JSON: &str = "application/fhir+json";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    #[serde(default)]
    pub passcode: Option<String>,
}

/// What a viewer posts to the manifest URL.
#[derive(Debug, Deserialize)]
pub struct ManifestRequest {
    pub recipient: String,
    #[serde(default)]
    pub passcode: Option<String>,
}

/// Role: user. 201 with the `shlink:/` link (its key is in this answer only), for a grant
/// that is pending or active; 409 for one revoked or expired.
pub async fn create(
    state: Arc<AppState>,
    user: AuthUser,
    share_id: Uuid,
    body: NewLink,
) -> Result<impl Reply, ApiError> {
    let grant = load_owned(&state, &user, share_id).await?;
    let facts = facts(&grant);
    if let ended @ (ShareState::Revoked | ShareState::Expired) = facts.state(Utc::now()) {
        return Err(ApiError::Conflict(format!(
            "the share is {}: it can have no new link",
            ended.as_str()
        )));
    }
    let passcode_hash = match body.passcode {
        None => None,
        Some(p) if p.chars().count() < MIN_PASSCODE_CHARS || p.chars().count() > 100 => {
            return Err(ApiError::Unprocessable(format!(
                "passcode: {MIN_PASSCODE_CHARS} to 100 characters"
            )))
        }
        Some(p) => Some(auth::hash_password(&state.password_hashing, p).await?),
    };
    let whole = Slice {
        types: facts.sample_types,
        from: grant.date_start,
        to: grant.date_end,
    };
    let zone = profiles::zone(&state.db.get().await?, grant.owner).await?;
    let file = bundle(&state, &grant, (&whole, Period::Day, zone)).await?;
    let key = JweKey::generate();
    let passcode_required = passcode_hash.is_some();
    let link = Link {
        link_id: Uuid::new_v4(),
        manifest_id: random_segment(),
        share_id,
        owner: user.id,
        label: grant.label.chars().take(LABEL_CHARS).collect(),
        passcode_hash,
        attempts_left: MAX_ATTEMPTS,
        jwe: jwe::encrypt(&key, FHIR_JSON, &serde_json::to_vec(&file).expect("JSON")),
        expires_at: grant.expires_at,
    };
    links::insert(&state.db.get().await?, &link).await?;
    let url = format!(
        "{}/shl/{}",
        state.config.public_url.trim_end_matches('/'),
        link.manifest_id
    );
    let mut payload = serde_json::json!({
        "url": url,
        "key": key.to_text(),
        "exp": link.expires_at.timestamp(),
        "label": link.label,
        "v": 1,
    });
    if passcode_required {
        payload["flag"] = "P".into();
    }
    let shlink = format!("shlink:/{}", URL_SAFE_NO_PAD.encode(payload.to_string()));
    Ok(warp::reply::with_status(
        warp::reply::json(&serde_json::json!({
            "id": link.link_id,
            "link": shlink,
            "url": url,
            "expires_at": link.expires_at,
            "passcode_required": passcode_required,
        })),
        StatusCode::CREATED,
    ))
}

/// Role: none (the link is the credential). 200 with the file, 401 with
/// `remainingAttempts` for a wrong or missing passcode, 404 for a link that is unknown or
/// dead (its grant revoked or expired, or no attempts left).
pub async fn manifest(
    state: Arc<AppState>,
    client: Option<IpAddr>,
    manifest_id: String,
    body: ManifestRequest,
) -> Result<warp::reply::Response, ApiError> {
    let recipient: String = body.recipient.chars().take(200).collect();
    let found = {
        let db = state.db.get().await?;
        match links::find(&db, &manifest_id).await? {
            Some(link) => grants::find(&db, link.share_id)
                .await?
                .map(|grant| (link, grant)),
            None => None,
        }
    };
    let Some((link, grant)) = found else {
        return Err(ApiError::NotFound("no such link".into()));
    };
    let record = record(&link, &grant, client, &recipient);
    let gone = |reason: &str| ApiError::NotFound(format!("the link no longer works: {reason}"));
    match facts(&grant).state(Utc::now()) {
        ended @ (ShareState::Revoked | ShareState::Expired) => {
            refuse_with(&state, record, ended.as_str()).await?;
            return Err(gone(&format!("its share is {}", ended.as_str())));
        }
        ShareState::Pending | ShareState::Active => {}
    }
    if let Some(hash) = link.passcode_hash.clone() {
        let db = state.db.get().await?;
        let Some(left) = links::take_attempt(&db, link.link_id).await? else {
            drop(db);
            refuse_with(&state, record, "no_attempts_left").await?;
            return Err(gone("too many wrong passcodes"));
        };
        drop(db);
        let given = body.passcode.unwrap_or_default();
        if !auth::verify_password(&state.password_hashing, given, Some(hash)).await {
            refuse_with(&state, record, "wrong_passcode").await?;
            return Ok(wrong_passcode(left));
        }
        links::give_back_attempt(&state.db.get().await?, link.link_id).await?;
    }
    allow(&state, record).await?;
    Ok(warp::reply::json(&serde_json::json!({
        "files": [{"contentType": FHIR_JSON, "embedded": link.jwe}],
    }))
    .into_response())
}

/// The 401 the specification asks for, in the API's error shape.
fn wrong_passcode(left: i32) -> warp::reply::Response {
    warp::reply::with_status(
        warp::reply::json(&serde_json::json!({
            "error": "unauthorized",
            "message": format!("wrong or missing passcode; {left} attempts left"),
            "remainingAttempts": left,
        })),
        StatusCode::UNAUTHORIZED,
    )
    .into_response()
}

/// The access record of an opening of `link`.
fn record(link: &Link, grant: &Grant, client: Option<IpAddr>, recipient: &str) -> AccessRecord {
    AccessRecord {
        at: None,
        share_id: Some(grant.share_id),
        owner_id: Some(grant.owner),
        reader_id: None,
        link_id: Some(link.link_id),
        recipient: Some(recipient.to_string()),
        sample_types: grant.sample_types.clone(),
        range_start: Some(grant.date_start),
        range_end: Some(grant.date_end),
        client: client.map(|c| c.to_string()),
        action: "link".into(),
        outcome: String::new(),
        reason: None,
    }
}

/// 256 bits from the OS's random source, base64url: the manifest URL's last segment.
fn random_segment() -> String {
    URL_SAFE_NO_PAD.encode(auth::os_random::<32>())
}
