//! `GET /api/v1/me/export`: everything stored about the caller, as a zip streamed while it is
//! read, so a history of years never sits in the gateway's memory:
//!
//! - `README.txt`: what each file holds;
//! - `profile.json`, `devices.jsonl`, `samples.jsonl` (every column of every raw sample,
//!   with its unit), `aggregates.jsonl`, `insights.jsonl`, `shares.jsonl`,
//!   `share-access.jsonl` (the access log of the shares);
//! - `fhir/bundle.json`: a FHIR R4 `collection` Bundle of the Patient and one Observation per
//!   sample (blood pressure as panels), LOINC codes and UCUM units (see `healthpipe_fhir`).
//!
//! The data is read page by page inside one read-only, repeatable-read transaction (one
//! snapshot, however long the download takes); each page is compressed and handed to a
//! bounded channel, so a slow client slows the reading instead of filling memory. A failure
//! after the first byte can only cut the download short: the zip is then incomplete and
//! fails to open, which is what the client must see.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use chrono::Utc;
use deadpool_postgres::GenericClient;
use healthpipe_crypto::DataKey;
use healthpipe_domain::{Sample, SampleType, UserId};
use healthpipe_fhir::{patient, BundleType, BundleWriter, Pairer, Resource};
use healthpipe_storage::accounts::{devices, users};
use healthpipe_storage::reads::export::{self, ExportedSample, SampleKey};
use healthpipe_storage::reads::insights::{self, Filter};
use healthpipe_storage::sharing::{access, grants};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use uuid::Uuid;
use warp::http::{HeaderValue, StatusCode};
use warp::Reply;
use zip::write::SimpleFileOptions;
use zip::ZipWriter;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::shares::{AccessView, ShareView};
use crate::AppState;

/// Rows read per query.
const PAGE: i64 = 5_000;
/// Compressed chunks waiting for the client at most: the memory an export may hold.
const CHUNKS_IN_FLIGHT: usize = 4;
/// Insights one export lists at most (a user has a few hundred at most).
const MAX_INSIGHTS: i64 = 100_000;

const README: &str = "\
healthpipe export: everything stored about you.

profile.json       your account (no password: only its hash is stored, and it is not exported)
devices.jsonl      your devices and their priorities, one JSON object per line
samples.jsonl      every raw sample, every stored column, values in the unit named by `unit`
aggregates.jsonl   the deduplicated hour/day/week/month aggregates
insights.jsonl     your insights, with when you acknowledged them
shares.jsonl       what you shared with clinicians, and each share's state
share-access.jsonl every read of your shared data and every refusal
fhir/bundle.json   the samples as a FHIR R4 Bundle of Observations (LOINC codes, UCUM units)
";

/// Role: user or provider. 200 with `application/zip`, streamed.
pub async fn export(
    state: Arc<AppState>,
    user: AuthUser,
) -> Result<warp::reply::Response, ApiError> {
    let db = state.db.get().await?;
    let profile = users::find(&db, user.id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    drop(db);
    let (chunks, received) = mpsc::channel::<Result<Bytes, std::io::Error>>(CHUNKS_IN_FLIGHT);
    tokio::spawn(async move {
        if let Err(e) = write_zip(&state, &profile, &chunks).await {
            tracing::warn!(user = %profile.id, error = %e, "export cut short");
            let _ = chunks
                .send(Err(std::io::Error::other("the export failed; retry")))
                .await;
        }
    });
    let mut response = warp::reply::stream(ReceiverStream::new(received)).into_response();
    *response.status_mut() = StatusCode::OK;
    let name = format!(
        "attachment; filename=\"healthpipe-export-{}.zip\"",
        Utc::now().format("%Y-%m-%d")
    );
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/zip"));
    headers.insert(
        "content-disposition",
        HeaderValue::from_str(&name).expect("an ASCII header value"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error(transparent)]
    Store(#[from] healthpipe_storage::StoreError),
    #[error("database: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("transaction: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
    #[error("fhir: {0}")]
    Fhir(#[from] healthpipe_fhir::FhirError),
    #[error("the client went away")]
    Gone,
    #[error("the user's data key could not be read")]
    Key,
}

/// What the zip writer writes into, taken out page by page and sent to the client.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    /// Sends what was written since the last call; waits while the client is behind.
    async fn send(
        &self,
        chunks: &mpsc::Sender<Result<Bytes, std::io::Error>>,
    ) -> Result<(), ExportError> {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        if bytes.is_empty() {
            return Ok(());
        }
        chunks
            .send(Ok(Bytes::from(bytes)))
            .await
            .map_err(|_| ExportError::Gone)
    }
}

type Zip = ZipWriter<zip::write::StreamWriter<Sink>>;

async fn write_zip(
    state: &AppState,
    profile: &users::User,
    chunks: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), ExportError> {
    let sink = Sink::default();
    let mut zip = ZipWriter::new_stream(sink.clone());
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut db = state.db.get().await?;
    let tx = db
        .build_transaction()
        .read_only(true)
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .start()
        .await?;
    let user = profile.id;
    let key = state.data_key(user).await.map_err(|_| ExportError::Key)?;

    zip.start_file("README.txt", options)?;
    zip.write_all(README.as_bytes())?;
    zip.start_file("profile.json", options)?;
    serde_json::to_writer_pretty(&mut zip, profile).map_err(std::io::Error::from)?;

    zip.start_file("devices.jsonl", options)?;
    for device in devices::list(&tx, user).await? {
        json_line(&mut zip, &device)?;
    }
    sink.send(chunks).await?;

    zip.start_file("samples.jsonl", options)?;
    for sample_type in SampleType::all() {
        let mut pager = Pager::new(user, sample_type, &key);
        while let Some(sample) = pager.next(&tx).await? {
            json_line(&mut zip, &SampleLine::from(&sample))?;
            if pager.page_ended() {
                sink.send(chunks).await?;
            }
        }
    }

    zip.start_file("aggregates.jsonl", options)?;
    let mut after = None;
    loop {
        let page = export::aggregates_page(&tx, user, after, PAGE).await?;
        for row in &page {
            json_line(&mut zip, row)?;
        }
        sink.send(chunks).await?;
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => {
                after = Some((
                    last.sample_type.clone(),
                    last.period.clone(),
                    last.period_start,
                ))
            }
            _ => break,
        }
    }

    zip.start_file("insights.jsonl", options)?;
    for insight in insights::list(&tx, user, Filter::All, MAX_INSIGHTS).await? {
        json_line(&mut zip, &insight)?;
    }
    sink.send(chunks).await?;

    zip.start_file("shares.jsonl", options)?;
    let now = Utc::now();
    for grant in grants::all_owned(&tx, user).await? {
        json_line(&mut zip, &ShareView::of(&grant, now))?;
    }
    zip.start_file("share-access.jsonl", options)?;
    let mut after = 0;
    loop {
        let page = access::owner_page(&tx, user, after, PAGE).await?;
        for (_, record) in &page {
            json_line(&mut zip, &AccessView::from(record.clone()))?;
        }
        sink.send(chunks).await?;
        match page.last() {
            Some((id, _)) if page.len() as i64 == PAGE => after = *id,
            _ => break,
        }
    }

    zip.start_file("fhir/bundle.json", options)?;
    write_bundle(&tx, user, &key, &mut zip, &sink, chunks).await?;

    zip.finish()?;
    tx.commit().await?;
    sink.send(chunks).await
}

/// The FHIR Bundle: the Patient, each type's samples in time order, blood pressure merged
/// from its two types by time so systolic and diastolic readings pair into panels.
async fn write_bundle(
    tx: &impl GenericClient,
    user: Uuid,
    key: &DataKey,
    zip: &mut Zip,
    sink: &Sink,
    chunks: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), ExportError> {
    let id = UserId::from(user);
    let mut bundle = BundleWriter::start(zip, BundleType::Collection, Utc::now())?;
    bundle.write(&Resource::from(patient(id)))?;
    let blood_pressure = [
        SampleType::BloodPressureSystolic,
        SampleType::BloodPressureDiastolic,
    ];
    for sample_type in SampleType::all().filter(|t| !blood_pressure.contains(t)) {
        let mut pager = Pager::new(user, sample_type, key);
        while let Some(sample) = pager.next(tx).await? {
            let observation = healthpipe_fhir::sample_observation(id, &domain_sample(&sample))?;
            bundle.write(&observation.into())?;
            if pager.page_ended() {
                sink.send(chunks).await?;
            }
        }
    }
    let (mut systolic, mut diastolic) = (
        Pager::new(user, blood_pressure[0], key),
        Pager::new(user, blood_pressure[1], key),
    );
    let mut pairer = Pairer::new();
    loop {
        let first = systolic.peek(tx).await?.map(|s| s.start_time);
        let second = diastolic.peek(tx).await?.map(|s| s.start_time);
        let next = match (first, second) {
            (None, None) => break,
            (Some(a), Some(b)) if b < a => diastolic.next(tx).await?,
            (Some(_), _) => systolic.next(tx).await?,
            (None, Some(_)) => diastolic.next(tx).await?,
        };
        let Some(sample) = next else { break };
        for group in pairer.push(domain_sample(&sample))? {
            bundle.write(&group.observation(id)?.into())?;
        }
        sink.send(chunks).await?;
    }
    for group in pairer.finish() {
        bundle.write(&group.observation(id)?.into())?;
    }
    bundle.finish()?;
    sink.send(chunks).await
}

/// One type's samples of one user, fetched a page at a time.
struct Pager<'k> {
    user: Uuid,
    key: &'k DataKey,
    sample_type: SampleType,
    after: SampleKey,
    buffer: VecDeque<ExportedSample>,
    exhausted: bool,
}

impl<'k> Pager<'k> {
    fn new(user: Uuid, sample_type: SampleType, key: &'k DataKey) -> Self {
        Pager {
            user,
            key,
            sample_type,
            after: None,
            buffer: VecDeque::new(),
            exhausted: false,
        }
    }

    async fn peek(
        &mut self,
        tx: &impl GenericClient,
    ) -> Result<Option<&ExportedSample>, ExportError> {
        if self.buffer.is_empty() && !self.exhausted {
            let page = export::samples_page(
                tx,
                self.user,
                self.sample_type,
                self.after,
                PAGE,
                Some(self.key),
            )
            .await?;
            self.exhausted = (page.len() as i64) < PAGE;
            self.after = page.last().map(|s| (s.start_time, s.sample_id));
            self.buffer.extend(page);
        }
        Ok(self.buffer.front())
    }

    async fn next(
        &mut self,
        tx: &impl GenericClient,
    ) -> Result<Option<ExportedSample>, ExportError> {
        self.peek(tx).await?;
        Ok(self.buffer.pop_front())
    }

    /// Whether the sample `next` gave was the last of its page (a moment to send).
    fn page_ended(&self) -> bool {
        self.buffer.is_empty()
    }
}

/// A sample line of `samples.jsonl`: the stored columns and the unit they are in.
#[derive(serde::Serialize)]
struct SampleLine<'a> {
    #[serde(flatten)]
    sample: &'a ExportedSample,
    unit: &'static str,
}

impl<'a> From<&'a ExportedSample> for SampleLine<'a> {
    fn from(sample: &'a ExportedSample) -> Self {
        SampleLine {
            sample,
            unit: sample.sample_type.canonical_unit().symbol(),
        }
    }
}

fn domain_sample(s: &ExportedSample) -> Sample {
    Sample {
        id: s.sample_id.to_string(),
        device_id: s.device_id.to_string(),
        sample_type: s.sample_type,
        value: s.value,
        start: s.start_time,
        end: s.end_time,
    }
}

fn json_line(out: &mut impl Write, value: &impl serde::Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}
