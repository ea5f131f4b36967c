//! The clinician's side of sharing: `POST /api/v1/shared/redeem`, `GET /api/v1/shared`,
//! `GET /api/v1/shared/{id}/aggregates` and `GET /api/v1/shared/{id}/fhir`.
//!
//! Every decision comes from `healthpipe_domain::sharing` and every read and refusal is
//! recorded in the access log before it is answered. A share that is not the caller's
//! answers 404 (nothing is learnt about other people's grants); any other refusal 403.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use healthpipe_domain::sharing::{Denial, Redemption, Slice};
use healthpipe_domain::{buckets, Period, Role, SampleType, UserId};
use healthpipe_fhir::{pair_all, patient, Bucket, BundleType, Resource};
use healthpipe_schemas::ShareRedeemed;
use healthpipe_storage::accounts::users;
use healthpipe_storage::reads::{aggregates, profiles};
use healthpipe_storage::sharing::access::{self, AccessRecord};
use healthpipe_storage::sharing::grants::{self, Grant};
use healthpipe_storage::sharing::providers;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use warp::Reply;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::query::{AggregateView, Params};
use crate::shares::{self, code_digest, facts, ShareView};
use crate::{outbox, AppState};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redeem {
    pub access_code: String,
}

/// Who asks, and from where: what every access record starts from.
struct Reader {
    id: Uuid,
    email: String,
    client: Option<IpAddr>,
}

/// The verified provider behind `user`, or the refusal, recorded.
async fn provider(
    state: &AppState,
    user: &AuthUser,
    client: Option<IpAddr>,
    action: &'static str,
    share: Option<Uuid>,
) -> Result<Reader, ApiError> {
    let db = state.db.get().await?;
    let verified = match user.role == Role::Provider.as_str() {
        true => providers::organisation(&db, user.id).await?.is_some(),
        false => false,
    };
    let account = users::find(&db, user.id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let reader = Reader {
        id: user.id,
        email: account.email,
        client,
    };
    if !verified {
        let grant = match share {
            Some(id) => grants::find(&db, id).await?,
            None => None,
        };
        let record = reader.record(action, grant.as_ref(), None);
        return Err(refuse(state, record, Denial::NotAProvider).await);
    }
    Ok(reader)
}

impl Reader {
    fn record(&self, action: &str, grant: Option<&Grant>, slice: Option<&Slice>) -> AccessRecord {
        AccessRecord {
            at: None,
            share_id: grant.map(|g| g.share_id),
            owner_id: grant.map(|g| g.owner),
            reader_id: Some(self.id),
            link_id: None,
            recipient: None,
            sample_types: slice
                .map(|s| s.types.iter().map(|t| t.as_str().to_string()).collect())
                .unwrap_or_default(),
            range_start: slice.map(|s| s.from),
            range_end: slice.map(|s| s.to),
            client: self.client.map(|c| c.to_string()),
            action: action.to_string(),
            outcome: String::new(),
            reason: None,
        }
    }
}

/// Records the refusal and returns its answer: 404 for a share that is not the caller's,
/// 403 otherwise.
async fn refuse(state: &AppState, record: AccessRecord, denial: Denial) -> ApiError {
    if let Err(e) = refuse_with(state, record, denial.code()).await {
        return e;
    }
    match denial {
        Denial::NotFound => ApiError::NotFound(denial.to_string()),
        other => ApiError::Forbidden(other.to_string()),
    }
}

/// Records a refusal for `reason`.
pub(crate) async fn refuse_with(
    state: &AppState,
    mut record: AccessRecord,
    reason: &str,
) -> Result<(), ApiError> {
    record.outcome = "denied".into();
    record.reason = Some(reason.into());
    log(state, &record).await
}

pub(crate) async fn allow(state: &AppState, mut record: AccessRecord) -> Result<(), ApiError> {
    record.outcome = "allowed".into();
    log(state, &record).await
}

async fn log(state: &AppState, record: &AccessRecord) -> Result<(), ApiError> {
    let db = state.db.get().await?;
    access::record(&db, record).await?;
    Ok(())
}

/// Role: provider. Binds the grant the code opens to the caller, once: 200 with the grant;
/// 404 for an unknown code; 403 when the grant is for another email, was redeemed by another
/// provider, expired or was revoked.
pub async fn redeem(
    state: Arc<AppState>,
    user: AuthUser,
    client: Option<IpAddr>,
    body: Redeem,
) -> Result<impl Reply, ApiError> {
    const ACTION: &str = "redeem";
    let reader = provider(&state, &user, client, ACTION, None).await?;
    let grant = {
        let db = state.db.get().await?;
        grants::by_code(&db, &code_digest(&body.access_code)).await?
    };
    let Some(grant) = grant else {
        let record = reader.record(ACTION, None, None);
        return Err(refuse(&state, record, Denial::NotFound).await);
    };
    let record = reader.record(ACTION, Some(&grant), None);
    match facts(&grant).redeemable_by(reader.id, &reader.email, Utc::now()) {
        Err(denial) => return Err(refuse(&state, record, denial).await),
        Ok(Redemption::Already) => {}
        Ok(Redemption::New) => {
            let event = ShareRedeemed {
                event_id: Uuid::new_v4().to_string(),
                user_id: grant.owner.to_string(),
                share_id: grant.share_id.to_string(),
                provider_id: reader.id.to_string(),
                redeemed_at: Utc::now().timestamp_micros(),
            };
            let mut db = state.db.get().await?;
            let tx = db.transaction().await?;
            outbox::record(&tx, &state, grant.owner, &event).await?;
            tx.commit().await?;
            drop(db);
            shares::settle(&state, grant.owner).await?;
        }
    }
    // The first redemption in the log won: it may have been another provider's.
    let grant = {
        let db = state.db.get().await?;
        grants::find(&db, grant.share_id).await?
    }
    .ok_or_else(|| ApiError::NotFound("no such share".into()))?;
    if grant.redeemed_by != Some(reader.id) {
        return Err(refuse(&state, record, Denial::RedeemedByAnother).await);
    }
    allow(&state, record).await?;
    Ok(warp::reply::json(&ShareView::of(&grant, Utc::now())))
}

/// A grant as its provider sees it: whose data, and the grant.
#[derive(Debug, Serialize)]
struct SharedView {
    owner_name: String,
    #[serde(flatten)]
    share: ShareView,
}

/// Role: provider. The grants the caller redeemed that can be read now.
pub async fn list(
    state: Arc<AppState>,
    user: AuthUser,
    client: Option<IpAddr>,
) -> Result<impl Reply, ApiError> {
    let reader = provider(&state, &user, client, "list", None).await?;
    let db = state.db.get().await?;
    let now = Utc::now();
    let mut views = Vec::new();
    for grant in grants::redeemed_by(&db, reader.id).await? {
        if facts(&grant)
            .readable_by(reader.id, &[], None, None, now)
            .is_err()
        {
            continue;
        }
        let owner_name = users::find(&db, grant.owner)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        views.push(SharedView {
            owner_name,
            share: ShareView::of(&grant, now),
        });
    }
    Ok(warp::reply::json(&views))
}

/// What a read through a share asks for.
struct Wanted {
    types: Vec<SampleType>,
    period: Period,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

impl Wanted {
    /// `type` (one, required for aggregates; any number, comma-separated, or all granted for
    /// FHIR), `period` (`day`, `week` or `month`; default `day`), `from` and `to` (dates).
    fn parse(params: &Params, type_required: bool) -> Result<Wanted, ApiError> {
        let types = match params.get("type") {
            None if type_required => return Err(ApiError::Unprocessable("type: required".into())),
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|t| t.trim().parse::<SampleType>())
                .collect::<Result<_, _>>()
                .map_err(|e| ApiError::Unprocessable(format!("type: {e}")))?,
        };
        if type_required && types.len() != 1 {
            return Err(ApiError::Unprocessable(
                "type: exactly one sample type".into(),
            ));
        }
        let period = match params.get("period").unwrap_or("day") {
            "day" => Period::Day,
            "week" => Period::Week,
            "month" => Period::Month,
            _ => return Err(ApiError::Unprocessable("period: day, week or month".into())),
        };
        let date = |name| match params.get(name) {
            None => Ok(None),
            Some(_) => params.date(name).map(Some),
        };
        Ok(Wanted {
            types,
            period,
            from: date("from")?,
            to: date("to")?,
        })
    }
}

/// The grant, checked for `reader` and `wanted`: the slice to read, or the refusal, recorded.
async fn slice(
    state: &AppState,
    reader: &Reader,
    action: &'static str,
    share_id: Uuid,
    wanted: &Wanted,
) -> Result<(Grant, Slice), ApiError> {
    let grant = {
        let db = state.db.get().await?;
        grants::find(&db, share_id).await?
    };
    let Some(grant) = grant else {
        let mut record = reader.record(action, None, None);
        record.share_id = Some(share_id);
        return Err(refuse(state, record, Denial::NotFound).await);
    };
    let decided =
        facts(&grant).readable_by(reader.id, &wanted.types, wanted.from, wanted.to, Utc::now());
    match decided {
        Ok(slice) => Ok((grant, slice)),
        Err(denial) => {
            let mut record = reader.record(action, Some(&grant), None);
            record.sample_types = wanted.types.iter().map(|t| t.as_str().into()).collect();
            record.range_start = wanted.from;
            record.range_end = wanted.to;
            Err(refuse(state, record, denial).await)
        }
    }
}

/// An allowed read through a share: who reads, the grant, the slice and the period asked
/// for, and the owner's zone.
struct Read {
    reader: Reader,
    action: &'static str,
    grant: Grant,
    slice: Slice,
    period: Period,
    zone: Tz,
}

impl Read {
    /// Checks the caller, the parameters and the grant; every refusal is recorded.
    async fn open(
        state: &AppState,
        user: &AuthUser,
        client: Option<IpAddr>,
        action: &'static str,
        share_id: Uuid,
        params: &Params,
        type_required: bool,
    ) -> Result<Read, ApiError> {
        let reader = provider(state, user, client, action, Some(share_id)).await?;
        let wanted = Wanted::parse(params, type_required)?;
        let (grant, slice) = slice(state, &reader, action, share_id, &wanted).await?;
        let zone = profiles::zone(&state.db.get().await?, grant.owner).await?;
        Ok(Read {
            reader,
            action,
            grant,
            slice,
            period: wanted.period,
            zone,
        })
    }

    async fn buckets(
        &self,
        state: &AppState,
        sample_type: SampleType,
    ) -> Result<Vec<(aggregates::Aggregate, DateTime<Utc>)>, ApiError> {
        let slice = (&self.slice, self.period, self.zone);
        buckets_inside(state, self.grant.owner, sample_type, slice).await
    }

    /// Records the read as allowed.
    async fn allowed(&self, state: &AppState) -> Result<(), ApiError> {
        let record = self
            .reader
            .record(self.action, Some(&self.grant), Some(&self.slice));
        allow(state, record).await
    }
}

/// Role: provider. The owner's aggregate buckets of one granted type, within the granted
/// dates (`from`/`to` clip further), in the shape of `GET /api/v1/aggregates`.
pub async fn aggregates(
    state: Arc<AppState>,
    user: AuthUser,
    client: Option<IpAddr>,
    share_id: Uuid,
    params: Params,
) -> Result<impl Reply, ApiError> {
    let read = Read::open(&state, &user, client, "aggregates", share_id, &params, true).await?;
    let rows = read.buckets(&state, read.slice.types[0]).await?;
    read.allowed(&state).await?;
    let body: Vec<AggregateView> = rows.into_iter().map(|(row, _)| row.into()).collect();
    Ok(warp::reply::json(&body))
}

/// Role: provider. The same slice as a FHIR R4 `searchset` Bundle: the owner's Patient and
/// an Observation per bucket (blood pressure as panels), LOINC codes and UCUM units.
pub async fn fhir(
    state: Arc<AppState>,
    user: AuthUser,
    client: Option<IpAddr>,
    share_id: Uuid,
    params: Params,
) -> Result<impl Reply, ApiError> {
    let read = Read::open(&state, &user, client, "fhir", share_id, &params, false).await?;
    let bundle = bundle(&state, &read.grant, (&read.slice, read.period, read.zone)).await?;
    read.allowed(&state).await?;
    Ok(warp::reply::with_header(
        warp::reply::json(&bundle),
        "content-type",
        "application/fhir+json",
    ))
}

/// The owner's buckets of `sample_type` that lie wholly inside the slice's days, in the
/// owner's zone: a week or month that reaches outside the granted dates would show data from
/// outside them, so it is left out. Each with its end.
async fn buckets_inside(
    state: &AppState,
    owner: Uuid,
    sample_type: SampleType,
    (slice, period, zone): (&Slice, Period, Tz),
) -> Result<Vec<(aggregates::Aggregate, DateTime<Utc>)>, ApiError> {
    let from = buckets::day_start(slice.from, zone);
    let to = buckets::day_start(slice.to.succ_opt().unwrap_or(slice.to), zone);
    let db = state.db.get().await?;
    let rows = aggregates::range(&db, owner, sample_type, period, from, to).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let end = buckets::next_bucket_start(period, row.period_start, zone);
            (row, end)
        })
        .filter(|(_, end)| *end <= to)
        .collect())
}

/// `slice` of `grant`'s owner as a FHIR R4 `searchset` Bundle: the Patient, then an
/// Observation per bucket of `period` (in the owner's `zone`) in time order (blood pressure
/// as panels). Shared reads and SMART Health Links answer the same Bundle.
pub(crate) async fn bundle(
    state: &AppState,
    grant: &Grant,
    (slice, period, zone): (&Slice, Period, Tz),
) -> Result<serde_json::Value, ApiError> {
    let mut all = Vec::new();
    for sample_type in &slice.types {
        for (row, end) in
            buckets_inside(state, grant.owner, *sample_type, (slice, period, zone)).await?
        {
            let row = healthpipe_domain::aggregate::AggregateRow {
                sample_type: *sample_type,
                period,
                period_start: row.period_start,
                value: row.value,
                min_value: row.min_value,
                max_value: row.max_value,
                sample_count: u32::try_from(row.sample_count).unwrap_or(0),
                coverage: row.time_fraction,
                device_count: u32::try_from(row.devices).unwrap_or(0),
            };
            all.push(Bucket::new(row, end).map_err(|e| ApiError::Internal(e.to_string()))?);
        }
    }
    all.sort_by_key(|b| b.row().period_start);
    let owner = UserId::from(grant.owner);
    let mut resources = vec![Resource::from(patient(owner))];
    for group in pair_all(all) {
        let observation = group
            .observation(owner)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        resources.push(observation.into());
    }
    Ok(healthpipe_fhir::bundle(
        BundleType::Searchset,
        Utc::now(),
        &resources,
    ))
}
