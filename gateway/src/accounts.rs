//! Accounts and sessions: `POST /api/v1/users`, `POST /api/v1/sessions`,
//! `DELETE /api/v1/sessions/current`, `GET|PATCH /api/v1/me`.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use healthpipe_domain::Role;
use healthpipe_schemas::{UserErased, UserRegistered, UserTimeZoneChanged};
use healthpipe_storage::accounts::users::{self, User};
use healthpipe_storage::accounts::{keys, outbox as outbox_store, sessions};
use healthpipe_storage::sharing::access;
use serde::Deserialize;
use uuid::Uuid;
use warp::http::StatusCode;
use warp::Reply;

use crate::auth::{self, AuthUser};
use crate::error::ApiError;
use crate::login_guard;
use crate::outbox;
use crate::AppState;

pub const MIN_PASSWORD_LEN: usize = 10;
/// The longest email address (RFC 5321's path limit); longer ones are refused before any work.
pub const MAX_EMAIL_CHARS: usize = 254;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    pub password: String,
    pub name: String,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// The password again, to confirm erasing the account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    pub password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    pub name: Option<String>,
    pub timezone: Option<String>,
}

/// Role: none (anyone may sign up, as a user: `role`, if given, must be `user`). 201, 409
/// for a taken email, 422 for invalid fields.
pub async fn create_user(state: Arc<AppState>, body: NewUser) -> Result<impl Reply, ApiError> {
    let email = check_email("email", &body.email)?;
    if body.password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ApiError::Unprocessable(format!(
            "password: at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    let name = check_name(&body.name)?;
    let timezone = parse_timezone(body.timezone.as_deref().unwrap_or("UTC"))?;
    // Provider accounts are made by an operator (`healthpipe providers add`), never here.
    let role = Role::User;
    if body.role.as_deref().is_some_and(|r| r != role.as_str()) {
        return Err(ApiError::Unprocessable(
            "role: sign-up makes user accounts only; provider accounts are made by an \
             operator (healthpipe providers add)"
                .into(),
        ));
    }
    let password_hash = auth::hash_password(&state.password_hashing, body.password).await?;
    let user = User {
        id: auth::new_id(),
        email,
        name,
        timezone,
        role: role.as_str().to_string(),
    };
    let account = users::NewAccount {
        user: &user,
        password_hash: &password_hash,
    };

    // The row and its event commit together; the event is appended right after (see
    // `outbox`), and the answer waits for it.
    let event = UserRegistered {
        event_id: Uuid::new_v4().to_string(),
        user_id: user.id.to_string(),
        timezone: user.timezone.clone(),
        registered_at: Utc::now().timestamp_micros(),
    };
    let mut db = state.db.get().await?;
    let tx = db.transaction().await?;
    if users::insert(&tx, &account).await? == users::Registration::EmailTaken {
        return Err(ApiError::Conflict(
            "an account with this email exists".into(),
        ));
    }
    outbox::record(&tx, &state, user.id, &event).await?;
    tx.commit().await?;
    drop(db);
    outbox::drain(&state, user.id).await?;
    Ok(warp::reply::with_status(
        warp::reply::json(&user),
        StatusCode::CREATED,
    ))
}

/// Role: none. The same 401 for an unknown email and a wrong password, after the same work.
/// Attempts are counted before the password is checked (see [`crate::login_guard`]); no
/// database connection is held while it is.
pub async fn create_session(
    state: Arc<AppState>,
    client: Option<IpAddr>,
    body: Credentials,
) -> Result<impl Reply, ApiError> {
    let email = body.email.trim().to_lowercase();
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(ApiError::Unprocessable(format!(
            "email: at most {MAX_EMAIL_CHARS} characters"
        )));
    }
    let client = client.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let keys = login_guard::Keys::new(&email, client);
    login_guard::admit(&state, &keys).await?;
    // PostgreSQL text cannot hold NUL, so no account has such an address.
    let account = if email.contains('\0') {
        None
    } else {
        users::credentials(&state.db.get().await?, &email).await?
    };
    let (user_id, stored) = account.unzip();
    let valid = auth::verify_password(&state.password_hashing, body.password, stored).await;
    let Some(user_id) = user_id.filter(|_| valid) else {
        return Err(ApiError::Unauthorized);
    };
    login_guard::succeeded(&state, &keys).await?;
    let (token, digest) = auth::new_token();
    let expires_at: DateTime<Utc> = Utc::now() + state.config.session_ttl;
    sessions::create(&state.db.get().await?, &digest, user_id, expires_at).await?;
    Ok(warp::reply::json(
        &serde_json::json!({"token": token, "expires_at": expires_at.to_rfc3339()}),
    ))
}

/// Role: user or provider. The token stops working at once.
pub async fn delete_session(state: Arc<AppState>, user: AuthUser) -> Result<impl Reply, ApiError> {
    let db = state.db.get().await?;
    sessions::delete(&db, &user.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Role: user or provider.
pub async fn get_me(state: Arc<AppState>, user: AuthUser) -> Result<impl Reply, ApiError> {
    Ok(warp::reply::json(&load_user(&state, user.id).await?))
}

/// Role: user or provider. A time-zone change is appended to the user's stream before the
/// profile changes, so the processors re-bucket from the same log the API answers from.
pub async fn patch_me(
    state: Arc<AppState>,
    user: AuthUser,
    patch: ProfilePatch,
) -> Result<impl Reply, ApiError> {
    let current = load_user(&state, user.id).await?;
    let name = match patch.name {
        Some(n) => check_name(&n)?,
        None => current.name.clone(),
    };
    let timezone = match patch.timezone {
        Some(tz) => parse_timezone(&tz)?,
        None => current.timezone.clone(),
    };
    let mut db = state.db.get().await?;
    let tx = db.transaction().await?;
    users::update_profile(&tx, user.id, &name, &timezone).await?;
    if timezone != current.timezone {
        let event = UserTimeZoneChanged {
            event_id: Uuid::new_v4().to_string(),
            user_id: user.id.to_string(),
            timezone: timezone.clone(),
            previous_timezone: current.timezone.clone(),
            changed_at: Utc::now().timestamp_micros(),
        };
        outbox::record(&tx, &state, user.id, &event).await?;
    }
    tx.commit().await?;
    drop(db);
    outbox::drain(&state, user.id).await?;
    Ok(warp::reply::json(&User {
        name,
        timezone,
        ..current
    }))
}

/// Role: user or provider. `DELETE /api/v1/me` with the password again: erases the account.
///
/// In one transaction: the user's data key is destroyed (every event of the user in the log
/// is unreadable from then on), the account goes with its sessions, devices, idempotency
/// records and pending events, and a `UserErased` event is recorded; it is appended right
/// after. The processors, the projections' only writers, delete the user's rows when they
/// apply it. 202: the answer lists what is removed, and what follows shortly.
pub async fn delete_me(
    state: Arc<AppState>,
    user: AuthUser,
    body: Confirmation,
) -> Result<impl Reply, ApiError> {
    let stored = users::password_hash(&state.db.get().await?, user.id).await?;
    if stored.is_none() {
        return Err(ApiError::Unauthorized);
    }
    if !auth::verify_password(&state.password_hashing, body.password, stored).await {
        return Err(ApiError::Forbidden(
            "password: wrong password; nothing was erased".into(),
        ));
    }
    let event = UserErased {
        event_id: Uuid::new_v4().to_string(),
        user_id: user.id.to_string(),
        erased_at: Utc::now().timestamp_micros(),
    };
    let payload = state.publisher.encode_erasure(&event).await?;
    let mut db = state.db.get().await?;
    let tx = db.transaction().await?;
    access::erase_owner(&tx, user.id).await?;
    // The account before its key: a `topic reencrypt` making keys for older accounts holds
    // the account row while it does (see `keys::keyring_creating_missing`).
    if !users::delete(&tx, user.id).await? {
        return Err(ApiError::Unauthorized);
    }
    let had_key = keys::delete(&tx, user.id).await?;
    outbox_store::enqueue(&tx, user.id, &payload).await?;
    tx.commit().await?;
    drop(db);
    tracing::info!(user = %user.id, had_key, "account erased");
    outbox::drain(&state, user.id).await?;
    Ok(warp::reply::with_status(
        warp::reply::json(&serde_json::json!({
            "erased": user.id,
            "removed_now": [
                "your data key: every event of yours in the event log is unreadable from now on",
                "your account, sessions and devices",
                "your pending requests and their idempotency records",
                "the access log of your shares",
            ],
            "removed_shortly": [
                "your samples, aggregates, insights, acknowledgements and shares, as the processors apply the erasure (seconds)",
            ],
        })),
        StatusCode::ACCEPTED,
    ))
}

/// The caller's account; gone since the session was checked (deleted meanwhile) is a 401.
async fn load_user(state: &AppState, id: Uuid) -> Result<User, ApiError> {
    let db = state.db.get().await?;
    users::find(&db, id).await?.ok_or(ApiError::Unauthorized)
}

/// A display name: see [`check_text`].
fn check_name(raw: &str) -> Result<String, ApiError> {
    check_text("name", raw)
}

/// Text a person types (a name, a label, an identifier): 1 to 200 characters, not only
/// white space, no NUL (PostgreSQL text cannot hold it); the value trimmed. The 422 names
/// `field`.
pub(crate) fn check_text(field: &str, raw: &str) -> Result<String, ApiError> {
    let text = raw.trim();
    if text.is_empty() || raw.chars().count() > 200 || raw.contains('\0') {
        return Err(ApiError::Unprocessable(format!(
            "{field}: 1 to 200 characters, not only white space"
        )));
    }
    Ok(text.to_string())
}

/// An email address as accounts and shares hold it: an `@`, no NUL, at most
/// [`MAX_EMAIL_CHARS`]; the value trimmed and lower-cased. The 422 names `field`.
pub(crate) fn check_email(field: &str, raw: &str) -> Result<String, ApiError> {
    if !raw.contains('@') || raw.contains('\0') || raw.chars().count() > MAX_EMAIL_CHARS {
        return Err(ApiError::Unprocessable(format!(
            "{field}: an address with @, at most {MAX_EMAIL_CHARS} characters"
        )));
    }
    Ok(raw.trim().to_lowercase())
}

fn parse_timezone(name: &str) -> Result<String, ApiError> {
    name.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_string())
        .map_err(|_| {
            ApiError::Unprocessable(format!("timezone: {name:?} is not an IANA time zone"))
        })
}
