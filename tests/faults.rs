//! The fault suite: a seeded multi-user, multi-device workload goes through the real gateway
//! while the suite breaks things under it, then every projection is checked against the
//! expectation computed independently from the samples the gateway acknowledged.
//!
//! The services run as child processes of the `healthpipe` binary on a Kafka broker of the
//! test's own (`common::broker`), so they can be killed and the broker paused. Faults, each
//! followed by a check that data flows again (every message in the log when the fault ended
//! gets applied within two minutes):
//! - `kill -9` of an aggregation processor at random moments, ten times a round;
//! - `kill -9` of the gateway while clients send (they retry with the same Idempotency-Key);
//! - a third aggregation processor joining and one leaving;
//! - PostgreSQL restarted (through `scripts/stack restart`, like the restart test);
//! - the broker paused (SIGSTOP) longer than the produce timeout and the group session,
//!   then resumed, twice: appends answer 503 meanwhile, every client comes back by itself.
//!
//! Then the abuse inputs of `faults/abuse.rs`, each of which must get a clear 4xx and store
//! nothing. At the end a table: faults injected and survived, bad inputs tried and
//! rejected, samples acknowledged and found, mismatches (which must be 0).
//!
//! Bounded by default (one round, a few minutes). `HEALTHPIPE_FAULT_SOAK_MINUTES=30` repeats
//! rounds for that long on a larger workload, and `HEALTHPIPE_FAULT_REPORT=<file>` writes the
//! table there. The only test in its binary: it restarts the stack's PostgreSQL.

#[path = "faults/abuse.rs"]
mod abuse;
mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use common::broker::OwnedBroker;
use common::seeded::*;
use common::services::Service;
use common::*;
use healthpipe::progress::{behind, log_ends};
use healthpipe::workload::UserSpec;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// The services' stall window (`KAFKA_STALL_TIMEOUT_SECS`): short, so a stuck client is
/// replaced within the test's time.
const STALL_SECS: u64 = 20;
/// Longer than the gateway's produce timeout (5 s here) and the group session (10 s).
const BROKER_PAUSE: Duration = Duration::from_secs(14);
/// How long the pipeline may take to apply what was in the log when a fault ended.
const RECOVERY: Duration = Duration::from_secs(120);
const PROCESSOR_KILLS_PER_ROUND: usize = 10;
const GATEWAY_KILLS_PER_ROUND: usize = 2;
const BROKER_PAUSES_PER_ROUND: usize = 2;
const LANES: usize = 4;

/// Bounded run or soak, from the environment.
struct Mode {
    soak: Option<Duration>,
    report: Option<PathBuf>,
    seed: u64,
}

impl Mode {
    fn from_env() -> Mode {
        let soak = std::env::var("HEALTHPIPE_FAULT_SOAK_MINUTES")
            .ok()
            .map(|m| {
                let minutes: u64 = m.parse().expect("HEALTHPIPE_FAULT_SOAK_MINUTES is minutes");
                Duration::from_secs(minutes * 60)
            });
        let seed = std::env::var("HEALTHPIPE_FAULT_SEED").ok().map_or(12, |s| {
            s.parse().expect("HEALTHPIPE_FAULT_SEED is a number")
        });
        Mode {
            soak,
            report: std::env::var_os("HEALTHPIPE_FAULT_REPORT").map(PathBuf::from),
            seed,
        }
    }

    /// How long the workload is spread over: the faults' expected duration.
    fn workload_span(&self) -> Duration {
        self.soak.unwrap_or(Duration::from_secs(150))
    }

    /// Users in the workload: enough uploads to keep the clients busy through the faults.
    fn users(&self) -> usize {
        self.soak.map_or(6, |d| (d.as_secs() / 30).max(6) as usize)
    }
}

/// What the clients saw.
#[derive(Default)]
struct Clients {
    acknowledged_samples: AtomicU64,
    requests: AtomicU64,
    unavailable: AtomicU64,
    /// 409s for a key whose earlier request is still in flight (its gateway was killed
    /// holding the claim, until the claim's lease runs out): retried like a 503.
    in_flight: AtomicU64,
    connection_errors: AtomicU64,
    last_acknowledged: Mutex<Option<Instant>>,
    unexpected: Mutex<Vec<String>>,
    /// Whether faults are still being injected: the clients pace themselves meanwhile.
    pacing: AtomicBool,
}

/// Faults injected and survived, by kind, in the order first injected.
#[derive(Default)]
struct Faults {
    rows: Vec<(&'static str, u32, u32)>,
    notes: Vec<String>,
}

impl Faults {
    fn record(&mut self, kind: &'static str, injected: u32, survived: bool) {
        let row = match self.rows.iter_mut().find(|(k, _, _)| *k == kind) {
            Some(row) => row,
            None => {
                self.rows.push((kind, 0, 0));
                self.rows.last_mut().unwrap()
            }
        };
        row.1 += injected;
        if survived {
            row.2 += injected;
        }
    }
}

struct Run {
    pipeline: Pipeline,
    broker: OwnedBroker,
    logs: PathBuf,
    gateway: Service,
    aggregators: Vec<Service>,
    insights: Service,
    rng: StdRng,
    clients: Arc<Clients>,
    faults: Faults,
    next_processor: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn faults_lose_nothing_and_count_nothing_twice() {
    let mode = Mode::from_env();
    let started = Instant::now();
    let broker = OwnedBroker::start();
    let mut pipeline = Pipeline::without_services(&broker.brokers).await;
    let logs = std::env::temp_dir().join(format!("hp-faults-{}", pipeline.topic_prefix));
    std::fs::create_dir_all(&logs).unwrap();
    let gateway = Service::gateway(&pipeline, &logs, STALL_SECS);
    gateway.wait_healthy(&pipeline.http).await;
    pipeline.base_url = gateway.url.clone();
    let aggregators = (0..2)
        .map(|n| Service::processor(&pipeline, "aggregation", n, &logs, STALL_SECS))
        .collect();
    let insights = Service::processor(&pipeline, "insights", 0, &logs, STALL_SECS);
    let mut run = Run {
        pipeline,
        broker,
        logs,
        gateway,
        aggregators,
        insights,
        rng: StdRng::seed_from_u64(mode.seed),
        clients: Arc::new(Clients::default()),
        faults: Faults::default(),
        next_processor: 2,
    };
    eprintln!(
        "faults: logs in {} (seed {})",
        run.logs.display(),
        mode.seed
    );

    let users = workload_users(&run, &mode).await;
    let uploads: usize = users.iter().map(|u| u.uploads.len()).sum();
    run.clients.pacing.store(true, Ordering::SeqCst);
    let sending = send_all(
        run.pipeline.http.clone(),
        run.gateway.url.clone(),
        run.clients.clone(),
        &users,
        mode.workload_span(),
    );

    let injecting = async {
        let until = started + mode.soak.unwrap_or_default();
        loop {
            run.round().await;
            if Instant::now() >= until {
                break;
            }
        }
        run.clients.pacing.store(false, Ordering::SeqCst);
        abuse::run(&run.pipeline).await
    };
    let ((), abuse) = tokio::join!(sending, injecting);

    // Everything acknowledged must end up applied, by every processor.
    for (topic, group) in [
        (&run.pipeline.topics.user_events, "aggregation"),
        (&run.pipeline.topics.aggregates_updated, "insights"),
    ] {
        healthpipe::progress::wait_until_caught_up(
            &run.pipeline.database_url,
            &run.pipeline.kafka_brokers,
            topic,
            &format!("{}-{group}", run.pipeline.topic_prefix),
            RECOVERY,
        )
        .await
        .unwrap_or_else(|e| panic!("the {group} processors did not catch up: {e}"));
    }
    let client = connect(&run.pipeline.database_url).await;
    let expected = expected_aggregates(&users);
    let stored = stored_aggregates(&client, &users).await;
    let aggregate_diff = diff_rows(&expected, &stored);
    let (sample_diff, found) = sample_problems(&client, &users).await;
    let abuse_stored = abuse.stored_samples(&client).await;
    let sent: usize = users.iter().map(|u| u.samples.len()).sum();
    let acknowledged = run.clients.acknowledged_samples.load(Ordering::SeqCst);
    let mismatches = aggregate_diff.len() + sample_diff.len() + abuse_stored as usize;

    let table = report(
        &run,
        &abuse,
        mode.seed,
        uploads,
        sent,
        acknowledged,
        found,
        mismatches,
        started,
    );
    eprintln!("{table}");
    if let Some(path) = &mode.report {
        std::fs::write(path, &table).expect("write the fault report");
    }

    let unexpected = run.clients.unexpected.lock().unwrap().clone();
    assert!(unexpected.is_empty(), "clients saw: {unexpected:#?}");
    assert!(abuse.failures.is_empty(), "abuse: {:#?}", abuse.failures);
    assert_eq!(
        acknowledged as usize, sent,
        "every sample is acknowledged in the end"
    );
    assert!(
        aggregate_diff.is_empty() && sample_diff.is_empty(),
        "{} aggregate rows and {} samples differ; first: {:#?} {:#?}",
        aggregate_diff.len(),
        sample_diff.len(),
        aggregate_diff.iter().take(5).collect::<Vec<_>>(),
        sample_diff.iter().take(5).collect::<Vec<_>>()
    );
    assert_eq!(abuse_stored, 0, "bad inputs stored samples");
    for (kind, injected, survived) in &run.faults.rows {
        assert_eq!(injected, survived, "{kind}: not every fault was survived");
    }
    assert!(
        run.faults.notes.is_empty(),
        "faults: {:#?}",
        run.faults.notes
    );
    // Kept when anything above failed, for the services' logs.
    let _ = std::fs::remove_dir_all(&run.logs);
}

/// The seeded users of the workload, signed up with their devices and uploads.
async fn workload_users(run: &Run, mode: &Mode) -> Vec<SeededUser> {
    let zones = [
        chrono_tz::Europe::Paris,
        chrono_tz::America::Denver,
        chrono_tz::Asia::Tokyo,
        chrono_tz::Australia::Adelaide,
    ];
    let specs: Vec<UserSpec> = (0..mode.users())
        .map(|i| UserSpec {
            seed: mode.seed * 1_000 + i as u64,
            timezone: zones[i % zones.len()],
            first_day: NaiveDate::from_ymd_opt(2026, 10, 20).unwrap(),
            days: 3,
            heart_rate_every_minutes: 5,
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(mode.seed);
    prepare_users(&run.pipeline, &specs, 10, &mut rng).await
}

/// Sends every upload, `LANES` at a time, each until the gateway acknowledges it; spread
/// over `span` while faults are injected, then as fast as the gateway takes them.
async fn send_all(
    http: reqwest::Client,
    base: String,
    clients: Arc<Clients>,
    users: &[SeededUser],
    span: Duration,
) {
    let mut lanes: Vec<Vec<Upload>> = vec![Vec::new(); LANES];
    for (i, upload) in users.iter().flat_map(|u| u.uploads.clone()).enumerate() {
        lanes[i % LANES].push(upload);
    }
    let per_lane = lanes.iter().map(Vec::len).max().unwrap_or(1).max(1) as u32;
    let pace = span / per_lane;
    let mut tasks = tokio::task::JoinSet::new();
    for lane in lanes {
        let (http, base, clients) = (http.clone(), base.clone(), clients.clone());
        tasks.spawn(async move {
            for upload in lane {
                send_until_acknowledged(&http, &base, &upload, &clients).await;
                if clients.pacing.load(Ordering::SeqCst) {
                    tokio::time::sleep(pace).await;
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("client lane");
    }
}

/// One upload, retried with the same Idempotency-Key through 503s and lost connections.
async fn send_until_acknowledged(
    http: &reqwest::Client,
    base: &str,
    upload: &Upload,
    clients: &Clients,
) {
    let key = uuid::Uuid::new_v4().to_string();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        clients.requests.fetch_add(1, Ordering::SeqCst);
        let sent = http
            .post(format!("{base}/api/v1/devices/{}/sync", upload.device_id))
            .bearer_auth(&upload.token)
            .header("Idempotency-Key", &key)
            .json(&json!({"samples": upload.samples}))
            .timeout(Duration::from_secs(30))
            .send()
            .await;
        match sent {
            Ok(response) if response.status() == 200 => {
                let body: Value = response.json().await.unwrap_or_default();
                if body["synced"].as_u64() != Some(upload.samples.len() as u64) {
                    clients
                        .unexpected
                        .lock()
                        .unwrap()
                        .push(format!("200 without every sample: {body}"));
                }
                clients
                    .acknowledged_samples
                    .fetch_add(upload.samples.len() as u64, Ordering::SeqCst);
                *clients.last_acknowledged.lock().unwrap() = Some(Instant::now());
                return;
            }
            Ok(response) if response.status() == 503 => {
                clients.unavailable.fetch_add(1, Ordering::SeqCst);
            }
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                if status != 409 || !text.contains("still being processed") {
                    clients
                        .unexpected
                        .lock()
                        .unwrap()
                        .push(format!("sync answered {status}: {text}"));
                    return;
                }
                clients.in_flight.fetch_add(1, Ordering::SeqCst);
            }
            Err(_) => {
                clients.connection_errors.fetch_add(1, Ordering::SeqCst);
            }
        }
        if Instant::now() > deadline {
            clients
                .unexpected
                .lock()
                .unwrap()
                .push("an upload was not acknowledged within 300 s".into());
            return;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

impl Run {
    /// One round of every fault, each followed by the check that data flows again.
    async fn round(&mut self) {
        self.kill_processors().await;
        self.kill_gateway().await;
        self.join_and_leave().await;
        self.restart_postgres().await;
        // Twice: a client that does not come back after a pause did so in five of seven
        // tries before clients were replaced, so one pause alone could miss a regression.
        for _ in 0..BROKER_PAUSES_PER_ROUND {
            self.pause_broker().await;
        }
    }

    async fn kill_processors(&mut self) {
        for _ in 0..PROCESSOR_KILLS_PER_ROUND {
            let wait = self.rng.random_range(1_000..4_000);
            tokio::time::sleep(Duration::from_millis(wait)).await;
            let i = self.rng.random_range(0..self.aggregators.len());
            self.aggregators[i].kill();
            self.aggregators[i].start();
        }
        let survived = self.data_flows_again("kill -9 processor").await;
        self.faults.record(
            "kill -9 aggregation processor",
            PROCESSOR_KILLS_PER_ROUND as u32,
            survived,
        );
    }

    async fn kill_gateway(&mut self) {
        for _ in 0..GATEWAY_KILLS_PER_ROUND {
            let wait = self.rng.random_range(500..2_500);
            tokio::time::sleep(Duration::from_millis(wait)).await;
            let before = self.clients.requests.load(Ordering::SeqCst);
            self.gateway.kill();
            tokio::time::sleep(Duration::from_millis(500)).await;
            self.gateway.start();
            self.gateway.wait_healthy(&self.pipeline.http).await;
            let killed_at = Instant::now();
            let survived = self.acknowledged_since(killed_at).await
                && self.data_flows_again("kill -9 gateway").await;
            if self.clients.requests.load(Ordering::SeqCst) == before {
                self.faults
                    .notes
                    .push("no request was in flight when the gateway was killed".into());
            }
            self.faults
                .record("kill -9 gateway mid-request", 1, survived);
        }
    }

    async fn join_and_leave(&mut self) {
        let n = self.next_processor;
        self.next_processor += 1;
        self.aggregators.push(Service::processor(
            &self.pipeline,
            "aggregation",
            n,
            &self.logs,
            STALL_SECS,
        ));
        tokio::time::sleep(Duration::from_secs(3)).await;
        let joined = self.data_flows_again("processor joined").await;
        self.faults.record("aggregation processor joins", 1, joined);
        let mut leaving = self.aggregators.remove(0);
        let status = leaving.stop();
        let clean = status.is_some_and(|s| s.success());
        if !clean {
            self.faults.notes.push(format!(
                "{} exited with {status:?} on SIGTERM",
                leaving.name
            ));
        }
        let left = self.data_flows_again("processor left").await;
        self.faults
            .record("aggregation processor leaves (SIGTERM)", 1, clean && left);
    }

    async fn restart_postgres(&mut self) {
        let root = repo_root();
        let restarted = tokio::task::spawn_blocking(move || {
            std::process::Command::new("bash")
                .arg(root.join("scripts/stack"))
                .args(["restart", "postgres"])
                .current_dir(&root)
                .status()
                .is_ok_and(|s| s.success())
        })
        .await
        .unwrap();
        assert!(restarted, "scripts/stack restart postgres failed");
        let survived = self.data_flows_again("PostgreSQL restart").await;
        self.faults
            .record("PostgreSQL restarted under load", 1, survived);
    }

    async fn pause_broker(&mut self) {
        let unavailable = self.clients.unavailable.load(Ordering::SeqCst);
        self.broker.pause();
        tokio::time::sleep(BROKER_PAUSE).await;
        self.broker.resume();
        let resumed = Instant::now();
        let answered_503 = self.clients.unavailable.load(Ordering::SeqCst) > unavailable;
        if !answered_503 && self.clients.pacing.load(Ordering::SeqCst) {
            self.faults
                .notes
                .push("no client was answered 503 while the broker was paused".into());
        }
        let survived =
            self.acknowledged_since(resumed).await && self.data_flows_again("broker pause").await;
        self.faults.record(
            "broker paused 14 s (SIGSTOP) while clients send",
            1,
            survived,
        );
    }

    /// Whether a client got a 200 after `since` (true once the clients are done).
    async fn acknowledged_since(&self, since: Instant) -> bool {
        let deadline = Instant::now() + RECOVERY;
        while Instant::now() < deadline {
            let last = *self.clients.last_acknowledged.lock().unwrap();
            if last.is_some_and(|t| t > since) || !self.clients.pacing.load(Ordering::SeqCst) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    }

    /// Whether every message in the user-event log now (and the announcements derived from
    /// them) gets applied within [`RECOVERY`], with no processor exited on its own.
    async fn data_flows_again(&mut self, after: &str) -> bool {
        let started = Instant::now();
        let deadline = started + RECOVERY;
        let groups = [
            (self.pipeline.topics.user_events.clone(), "aggregation"),
            (self.pipeline.topics.aggregates_updated.clone(), "insights"),
        ];
        for (topic, kind) in groups {
            let group = format!("{}-{kind}", self.pipeline.topic_prefix);
            let ends = loop {
                match log_ends(&self.pipeline.kafka_brokers, &topic).await {
                    Ok(ends) => break ends,
                    Err(_) if Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(500)).await
                    }
                    Err(e) => {
                        self.faults
                            .notes
                            .push(format!("after {after}: the log ends unreadable: {e}"));
                        return false;
                    }
                }
            };
            loop {
                let left = behind(&self.pipeline.database_url, &topic, &group, &ends).await;
                if left.as_ref().is_ok_and(|n| *n == 0) {
                    break;
                }
                if Instant::now() > deadline {
                    self.faults.notes.push(format!(
                        "after {after}: the {kind} processors were still {left:?} messages \
                         behind after {RECOVERY:?}"
                    ));
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        let services = self
            .aggregators
            .iter_mut()
            .chain(std::iter::once(&mut self.insights));
        for service in services {
            if let Some(status) = service.exited() {
                self.faults
                    .notes
                    .push(format!("after {after}: {} exited ({status})", service.name));
                service.start();
            }
        }
        eprintln!(
            "faults: data flowed again {:.1} s after {after}",
            started.elapsed().as_secs_f64()
        );
        true
    }
}

/// The table the suite prints (and writes for the soak's report).
#[allow(clippy::too_many_arguments)]
fn report(
    run: &Run,
    abuse: &abuse::Outcome,
    seed: u64,
    uploads: usize,
    sent: usize,
    acknowledged: u64,
    found: usize,
    mismatches: usize,
    started: Instant,
) -> String {
    let mut rows = vec![
        "| what | count | outcome |".to_string(),
        "|---|---:|---|".to_string(),
    ];
    for (kind, injected, survived) in &run.faults.rows {
        rows.push(format!(
            "| fault: {kind} | {injected} | {survived} survived |"
        ));
    }
    for (kind, tried, rejected) in &abuse.rows {
        rows.push(format!(
            "| bad input: {kind} | {tried} | {rejected} rejected (4xx) |"
        ));
    }
    rows.push(format!(
        "| bad input: SQL-injection strings as a device's name and identifier (free text) | {} | stored and read back verbatim |",
        abuse.verbatim
    ));
    let clients = &run.clients;
    rows.push(format!(
        "| sync requests for {uploads} uploads (503s {}, 409s in flight {}, connection errors {}) | {} | retried with the same key |",
        clients.unavailable.load(Ordering::SeqCst),
        clients.in_flight.load(Ordering::SeqCst),
        clients.connection_errors.load(Ordering::SeqCst),
        clients.requests.load(Ordering::SeqCst)
    ));
    rows.push(format!(
        "| samples acknowledged (of {sent} sent) | {acknowledged} | {found} found |"
    ));
    rows.push(format!("| mismatches | {mismatches} | must be 0 |"));
    format!(
        "fault suite: {:.0} s, seed {seed}\n\n{}\n",
        started.elapsed().as_secs_f64(),
        rows.join("\n")
    )
}
