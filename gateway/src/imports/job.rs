//! Running one import: the file is read by a connector on a blocking thread, its samples go
//! through the same validation, normalisation and stable ids as a device's sync and are
//! appended to the user's stream; the job then waits until the aggregation processor has
//! applied them and reports what the projections show.
//!
//! Memory stays flat whatever the file size: the reader hands samples over in batches
//! through a bounded channel (it waits while the appends catch up), holds at most
//! [`MAX_BUFFERED`] samples of its own, and the counts kept are per type, device and reason.
//!
//! The file is read twice: once to check it can be read to the end (a truncated or damaged
//! export fails before anything is appended, so nothing is half-imported), once to import.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use healthpipe_domain::{bucket_start, next_bucket_start, AggregationKind, Period, SampleType};
use healthpipe_importer::{Connector, DeviceInfo, DeviceType, ImportError, Outcome, SyncSample};
use healthpipe_schemas::{Sample, SamplesRecorded, MAX_SAMPLES_PER_EVENT};
use healthpipe_storage::accounts::devices::Device;
use healthpipe_storage::accounts::users;
use healthpipe_storage::imports::{self, Finish, NewImport};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::input::{self, BytesRead, InputError};
use super::report::{Processed, Report, ReportDevice, Tally};
use crate::error::ApiError;
use crate::ingest::{normalise, ClientSample};
use crate::AppState;
use crate::{applied, devices};

/// Samples of one device handed over at once: a few events' worth.
const BATCH: usize = 4 * MAX_SAMPLES_PER_EVENT;
/// Most samples the reader holds across its devices before it hands the largest batch over.
const MAX_BUFFERED: usize = 10 * BATCH;
/// Batches in flight between the reader and the appends.
const CHANNEL_BATCHES: usize = 2;

/// What the job's progress is at: checking the file, reading it into the log, waiting for
/// the processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Checking,
    Reading,
    Processing,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Checking => "checking",
            Phase::Reading => "reading",
            Phase::Processing => "processing",
        }
    }
}

/// A started import (its row says `running`), ready to [`run`].
pub struct Job {
    pub id: Uuid,
    pub user_id: Uuid,
    pub connector: &'static dyn Connector,
    pub path: PathBuf,
    /// The file's size.
    pub bytes_total: u64,
    /// Where the job is, for a progress bar: bytes of the file read in the current pass,
    /// records read in it, and the phase.
    pub progress: Arc<Counters>,
}

/// Live progress of a job.
#[derive(Debug, Default)]
pub struct Counters {
    pub bytes_read: BytesRead,
    pub records: AtomicU64,
    phase: std::sync::Mutex<Option<Phase>>,
}

impl Counters {
    pub fn phase(&self) -> Option<Phase> {
        *self.phase.lock().expect("phase lock")
    }

    fn set_phase(&self, phase: Phase) {
        *self.phase.lock().expect("phase lock") = Some(phase);
        self.records.store(0, Ordering::Relaxed);
    }
}

/// Records a running import of `path` for `user_id`; a 409 if the user has one running
/// (imports found interrupted are marked failed first).
pub async fn start(
    state: &AppState,
    user_id: Uuid,
    connector: &'static dyn Connector,
    origin: &str,
    path: PathBuf,
) -> Result<Job, ApiError> {
    let bytes_total = std::fs::metadata(&path)
        .map_err(|e| ApiError::Internal(format!("import file: {e}")))?
        .len();
    let db = state.db.get().await?;
    fail_interrupted(state, &db).await?;
    let id = Uuid::new_v4();
    let new = NewImport {
        id,
        user_id,
        source: connector.name(),
        origin,
        bytes_total: Some(bytes_total as i64),
    };
    if !imports::start(&db, &new).await? {
        return Err(already_running());
    }
    Ok(Job {
        id,
        user_id,
        connector,
        path,
        bytes_total,
        progress: Arc::default(),
    })
}

/// A 409 before an upload is received when the user has an import running (the upload
/// would be refused once received).
pub async fn check_none_running(state: &AppState, user_id: Uuid) -> Result<(), ApiError> {
    let db = state.db.get().await?;
    fail_interrupted(state, &db).await?;
    match imports::running(&db, user_id).await? {
        true => Err(already_running()),
        false => Ok(()),
    }
}

fn already_running() -> ApiError {
    ApiError::Conflict(
        "an import of this account is running; one runs at a time: wait for it to finish \
         (GET /api/v1/imports)"
            .into(),
    )
}

/// Marks failed the running imports whose process stopped moving them.
pub async fn fail_interrupted(
    state: &AppState,
    db: &deadpool_postgres::Object,
) -> Result<(), ApiError> {
    let stale = state.config.imports.stale_after.as_secs_f64();
    let failed = imports::fail_stale(db, stale, INTERRUPTED).await?;
    if failed > 0 {
        tracing::warn!(
            failed,
            "imports interrupted (their process ended) marked failed"
        );
    }
    Ok(())
}

/// What an interrupted import says.
pub const INTERRUPTED: &str = "the import was interrupted (the service running it stopped) \
    before it finished; import the same file again: what it already added is recognised and \
    not counted twice";

/// Runs `job` to its end and records how it ended; the report, or why it failed.
pub async fn run(state: Arc<AppState>, job: Job) -> Result<Report, String> {
    let id = job.id;
    let outcome = Runner::new(state.clone(), &job).run().await;
    let finish = match &outcome {
        Ok(report) => Finish::Completed(serde_json::to_value(report).expect("report serialises")),
        Err(message) => Finish::Failed(message.clone()),
    };
    let recorded = async {
        let db = state.db.get().await?;
        Ok::<_, ApiError>(imports::finish(&db, id, &finish).await?)
    };
    match recorded.await {
        Ok(true) => {}
        Ok(false) => return Err(INTERRUPTED.into()),
        Err(e) => return Err(format!("the import's end could not be recorded: {e}")),
    }
    match &outcome {
        Ok(report) => tracing::info!(
            import = %id,
            records = report.records,
            imported = report.imported,
            duplicates = report.duplicates,
            "import completed"
        ),
        Err(message) => tracing::warn!(import = %id, %message, "import failed"),
    }
    outcome
}

/// One job's state while it runs.
struct Runner<'a> {
    state: Arc<AppState>,
    job: &'a Job,
    zone: Tz,
    devices: HashMap<String, (Device, bool)>,
    /// Stored samples of the devices the account already had, before the import.
    before: HashMap<Uuid, i64>,
    tally: Tally,
    /// The last offset appended per partition.
    appended: BTreeMap<i32, i64>,
    last_beat: Instant,
}

impl<'a> Runner<'a> {
    fn new(state: Arc<AppState>, job: &'a Job) -> Self {
        Runner {
            state,
            job,
            zone: Tz::UTC,
            devices: HashMap::new(),
            before: HashMap::new(),
            tally: Tally::default(),
            appended: BTreeMap::new(),
            last_beat: Instant::now(),
        }
    }

    async fn run(mut self) -> Result<Report, String> {
        // The account's zone as the user set it (the processors' projection of it may not
        // have caught up with a new account yet): the local times of the formats that write
        // no offset, and the days of the report's totals.
        self.zone = {
            let db = self.state.db.get().await.map_err(failure)?;
            users::find(&db, self.job.user_id)
                .await
                .map_err(failure)?
                .and_then(|u| u.timezone.parse().ok())
                .unwrap_or(Tz::UTC)
        };
        self.check().await?;
        self.read().await?;
        let processed = self.wait_for_processor().await?;
        let processed = match processed {
            true => Some(self.processed().await.map_err(failure)?),
            false => None,
        };
        Ok(self.tally.report(self.report_devices(), processed))
    }

    /// The first pass: the whole file read and parsed, nothing appended.
    async fn check(&mut self) -> Result<(), String> {
        self.phase(Phase::Checking).await?;
        let (job, zone) = (self.reader_parts(), self.zone);
        let checked = tokio::task::spawn_blocking(move || pass(&job, zone, |_| true));
        self.beat_until(checked).await??;
        Ok(())
    }

    /// The second pass: samples appended in batches as the reader hands them over.
    async fn read(&mut self) -> Result<(), String> {
        self.phase(Phase::Reading).await?;
        let (sender, mut batches) = mpsc::channel::<Batch>(CHANNEL_BATCHES);
        let (job, zone) = (self.reader_parts(), self.zone);
        let reader = tokio::task::spawn_blocking(move || read_batches(&job, zone, sender));
        loop {
            match tokio::time::timeout(self.beat_every(), batches.recv()).await {
                Ok(Some(batch)) => self.append(batch).await?,
                Ok(None) => break,
                Err(_) => {}
            }
            self.beat(Phase::Reading).await?;
        }
        let read = reader
            .await
            .map_err(|e| format!("the import's reader stopped: {e}"))??;
        self.tally.merge(read);
        Ok(())
    }

    fn reader_parts(&self) -> ReaderParts {
        ReaderParts {
            connector: self.job.connector,
            path: self.job.path.clone(),
            progress: self.job.progress.clone(),
        }
    }

    /// Registers the batch's device if new, validates its samples as a sync does, appends
    /// the valid ones.
    async fn append(&mut self, batch: Batch) -> Result<(), String> {
        let device = self.device(&batch.device, batch.rank).await?;
        let (user_id, device_id) = (self.job.user_id, device.id);
        let now = Utc::now();
        let checked = tokio::task::spawn_blocking(move || {
            batch
                .samples
                .into_iter()
                .map(|s| normalise(ClientSample::from(s), user_id, device_id, now))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| format!("validating samples: {e}"))?;
        let mut accepted = Vec::with_capacity(checked.len());
        for sample in checked {
            match sample {
                Ok(sample) => accepted.push(sample),
                Err((code, message)) => self.tally.invalid(code, message),
            }
        }
        for sample in &accepted {
            let sample_type: SampleType = sample
                .sample_type
                .parse()
                .map_err(|e| format!("normalised type: {e}"))?;
            let start = DateTime::from_timestamp_micros(sample.start_time).unwrap_or_default();
            self.tally.appended(device_id, sample_type, start);
        }
        self.publish(device_id, accepted).await.map_err(failure)
    }

    async fn publish(&mut self, device_id: Uuid, samples: Vec<Sample>) -> Result<(), ApiError> {
        if samples.is_empty() {
            return Ok(());
        }
        let user = self.job.user_id.to_string();
        let key = self.state.data_key(self.job.user_id).await?;
        let recorded_at = Utc::now().timestamp_micros();
        let mut payloads = Vec::new();
        for chunk in samples.chunks(MAX_SAMPLES_PER_EVENT) {
            let event = SamplesRecorded {
                event_id: Uuid::new_v4().to_string(),
                user_id: user.clone(),
                device_id: device_id.to_string(),
                recorded_at,
                samples: chunk.to_vec(),
            };
            payloads.push(self.state.publisher.encode(&event, &key).await?);
        }
        for (partition, offset) in self.state.publisher.append(&user, &payloads).await? {
            let last = self.appended.entry(partition).or_insert(offset);
            *last = (*last).max(offset);
        }
        Ok(())
    }

    /// The device a source became: registered on first sight with its kind's default
    /// priority less its `rank` among the file's sources of that kind (see [`Batch::rank`]),
    /// or the account's device of the same identifier (a re-import).
    async fn device(&mut self, info: &DeviceInfo, rank: i32) -> Result<Device, String> {
        if let Some((device, _)) = self.devices.get(&info.device_identifier) {
            return Ok(device.clone());
        }
        let new = Device {
            id: Uuid::new_v4(),
            device_type: info.device_type.as_str().to_owned(),
            device_name: info.device_name.clone(),
            device_identifier: info.device_identifier.clone(),
            priority: info.default_priority().get() - rank,
            type_priorities: HashMap::new(),
        };
        let (device, created) = devices::ensure(&self.state, self.job.user_id, new)
            .await
            .map_err(failure)?;
        if !created {
            let db = self.state.db.get().await.map_err(failure)?;
            let stored = imports::samples_by_device(&db, self.job.user_id, &[device.id])
                .await
                .map_err(failure)?;
            self.before.insert(device.id, stored.values().sum());
        }
        self.devices
            .insert(info.device_identifier.clone(), (device.clone(), created));
        Ok(device)
    }

    /// Waits until the processor applied every event appended; false if it did not within
    /// `IMPORT_PROCESSING_WAIT_SECS` (the report then says so).
    async fn wait_for_processor(&mut self) -> Result<bool, String> {
        self.phase(Phase::Processing).await?;
        let deadline = Instant::now() + self.state.config.imports.processing_wait;
        loop {
            let positions = self.appended.iter().map(|(p, o)| (*p, *o));
            if applied::applied(&self.state, positions)
                .await
                .map_err(failure)?
            {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                tracing::warn!(import = %self.job.id, "the processor did not apply the import in time");
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            self.beat(Phase::Processing).await?;
        }
    }

    /// What the projections say now the processor applied the import.
    async fn processed(&self) -> Result<Processed, ApiError> {
        let db = self.state.db.get().await?;
        let ids: Vec<Uuid> = self.devices.values().map(|(d, _)| d.id).collect();
        let after = imports::samples_by_device(&db, self.job.user_id, &ids).await?;
        let before: i64 = self.before.values().sum();
        let new_samples = (after.values().sum::<i64>() - before).max(0) as u64;
        let mut type_totals = BTreeMap::new();
        for (&sample_type, span) in &self.tally.types {
            if sample_type.kind() != AggregationKind::Cumulative {
                continue;
            }
            let from = bucket_start(Period::Day, span.first_start, self.zone);
            let to = next_bucket_start(Period::Day, span.last_start, self.zone);
            let totals = imports::type_totals(&db, self.job.user_id, sample_type, from, to).await?;
            type_totals.insert(sample_type, (totals.naive_sum, totals.deduplicated));
        }
        Ok(Processed {
            new_samples,
            type_totals,
        })
    }

    /// The import's devices, best priority first.
    fn report_devices(&self) -> Vec<ReportDevice> {
        let mut devices: Vec<ReportDevice> = self
            .devices
            .values()
            .map(|(d, created)| ReportDevice {
                id: d.id,
                name: d.device_name.clone(),
                device_type: d.device_type.clone(),
                priority: d.priority,
                created: *created,
                samples: self.tally.per_device.get(&d.id).copied().unwrap_or(0),
            })
            .collect();
        devices.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.name.cmp(&b.name)));
        devices
    }

    async fn phase(&mut self, phase: Phase) -> Result<(), String> {
        self.job.progress.set_phase(phase);
        self.last_beat = Instant::now() - self.beat_every();
        self.beat(phase).await
    }

    fn beat_every(&self) -> Duration {
        (self.state.config.imports.stale_after / 4).min(Duration::from_secs(1))
    }

    /// Records the progress (at most every [`Self::beat_every`]); an error if the import is
    /// no longer running (it was taken for interrupted) and must stop.
    async fn beat(&mut self, phase: Phase) -> Result<(), String> {
        if self.last_beat.elapsed() < self.beat_every() {
            return Ok(());
        }
        self.last_beat = Instant::now();
        let progress = &self.job.progress;
        let db = self.state.db.get().await.map_err(failure)?;
        let running = imports::progress(
            &db,
            self.job.id,
            phase.as_str(),
            progress.bytes_read.get() as i64,
            progress.records.load(Ordering::Relaxed) as i64,
        )
        .await
        .map_err(failure)?;
        match running {
            true => Ok(()),
            false => Err(INTERRUPTED.into()),
        }
    }

    /// Awaits a blocking pass, keeping the heartbeat going.
    async fn beat_until<T>(
        &mut self,
        mut task: tokio::task::JoinHandle<Result<T, String>>,
    ) -> Result<Result<T, String>, String> {
        let phase = self.job.progress.phase().unwrap_or(Phase::Checking);
        loop {
            match tokio::time::timeout(self.beat_every(), &mut task).await {
                Ok(done) => return done.map_err(|e| format!("the import's reader stopped: {e}")),
                Err(_) => self.beat(phase).await?,
            }
        }
    }
}

/// A failure of the services an import needs, as the import's message says it.
fn failure(e: impl Into<ApiError>) -> String {
    match e.into() {
        ApiError::Internal(detail) => {
            tracing::error!(%detail, "import failed on an internal error");
            "an internal error stopped the import; import the file again".into()
        }
        other => format!("{other}; import the file again: nothing is counted twice"),
    }
}

/// What the blocking reader needs of the job.
struct ReaderParts {
    connector: &'static dyn Connector,
    path: PathBuf,
    progress: Arc<Counters>,
}

/// Samples of one device, handed from the reader to the appends.
struct Batch {
    device: DeviceInfo,
    /// How many sources of the same kind the file named before this one. Sources of one kind
    /// would tie in priority, and ties are broken by device id, a random number: the same
    /// file would give two accounts different totals. So each further source of a kind ranks
    /// one below the one before it, in the order the file first names them (the report lists
    /// them for the user to reorder).
    rank: i32,
    samples: Vec<SyncSample>,
}

/// Reads the whole file once, handing each outcome to `each` (false stops the pass). The
/// tally of everything but the samples, or why the file cannot be imported.
fn pass(
    job: &ReaderParts,
    zone: Tz,
    mut each: impl FnMut(Outcome) -> bool,
) -> Result<Tally, String> {
    let read = input::read(&job.path, &job.progress.bytes_read, |input| {
        let mut records = job.connector.read(input, zone)?;
        let mut tally = Tally::default();
        for outcome in records.by_ref() {
            job.progress.records.fetch_add(1, Ordering::Relaxed);
            match outcome? {
                Outcome::Skipped(skipped) => tally.skipped(&skipped),
                Outcome::Ignored(ignored) => tally.ignored(ignored),
                sample => {
                    if !each(sample) {
                        break;
                    }
                }
            }
        }
        tally.totals = records.totals();
        Ok::<_, ImportError>(tally)
    });
    match read {
        Ok(Ok(tally)) => Ok(tally),
        Ok(Err(e)) => Err(format!(
            "{e}. Nothing was imported. This source takes {}.",
            job.connector.describe()
        )),
        Err(e @ (InputError::Io(_) | InputError::Zip(_) | InputError::NoExportInZip)) => {
            Err(format!("{e}. Nothing was imported."))
        }
    }
}

/// The second pass: samples grouped per device into batches sent to `batches`.
fn read_batches(
    job: &ReaderParts,
    zone: Tz,
    batches: mpsc::Sender<Batch>,
) -> Result<Tally, String> {
    let mut buffers: HashMap<String, Batch> = HashMap::new();
    let mut ranks: HashMap<String, i32> = HashMap::new();
    let mut kinds: HashMap<DeviceType, i32> = HashMap::new();
    let mut buffered = 0usize;
    let send = |batch: Batch| batches.blocking_send(batch).is_ok();
    let tally = pass(job, zone, |outcome| {
        let Outcome::Sample { device, sample } = outcome else {
            return true;
        };
        let rank = *ranks
            .entry(device.device_identifier.clone())
            .or_insert_with(|| {
                let seen = kinds.entry(device.device_type).or_insert(0);
                *seen += 1;
                *seen - 1
            });
        let batch = buffers
            .entry(device.device_identifier.clone())
            .or_insert_with(|| Batch {
                device,
                rank,
                samples: Vec::with_capacity(BATCH),
            });
        batch.samples.push(sample);
        buffered += 1;
        if batch.samples.len() >= BATCH || buffered >= MAX_BUFFERED {
            let fullest = buffers
                .iter()
                .max_by_key(|(_, b)| b.samples.len())
                .map(|(k, _)| k.clone())
                .expect("a buffer exists");
            let batch = buffers.remove(&fullest).expect("the fullest buffer");
            buffered -= batch.samples.len();
            return send(batch);
        }
        true
    })?;
    for (_, batch) in buffers.drain() {
        if !send(batch) {
            break;
        }
    }
    Ok(tally)
}
