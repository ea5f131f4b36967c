//! What a bench run stands on: the local stack's URLs, the scratch databases and topics it
//! creates (and drops at the end, so repeated runs do not fill the disk), and the gateway and
//! processor child processes whose memory it reads from `/proc`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use healthpipe_crypto::{Keyring, LocalKeyProvider};
use healthpipe_schemas::Topics;
use healthpipe_storage::accounts::keys;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

pub use crate::db::connect;
use crate::db::ddl;

healthpipe_storage::statement!(CREATE_DATABASE, "database_create");
healthpipe_storage::statement!(DROP_DATABASE, "database_drop");

/// How long dropping a scratch database is retried while sessions the bench cannot end hold it.
const DROP_PATIENCE: Duration = Duration::from_secs(300);

/// The local stack (`scripts/stack up`, then `. .stack/env`).
#[derive(Clone, clap::Args)]
pub struct Stack {
    /// The stack's PostgreSQL; scratch databases are created beside its database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// The stack's Kafka.
    #[arg(long = "kafka-brokers", env = "KAFKA_BROKERS")]
    pub brokers: String,
    /// The stack's schema registry.
    #[arg(long, env = "SCHEMA_REGISTRY_URL")]
    pub registry_url: String,
    /// The stack's key-encryption key (the bench seals the events it writes itself).
    #[command(flatten)]
    pub keys: healthpipe_config::KeySettings,
}

impl std::fmt::Debug for Stack {
    /// The database URL carries a password: only its redacted form is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field(
                "database_url",
                &healthpipe_config::Redacted(&self.database_url),
            )
            .field("brokers", &self.brokers)
            .field(
                "registry_url",
                &healthpipe_config::Redacted(&self.registry_url),
            )
            .finish()
    }
}

impl Stack {
    /// The data keys of `users` in database `database_url`, created where missing (the
    /// bench writes some events itself, sealed like the gateway's).
    pub async fn keyring(&self, database_url: &str, users: &[uuid::Uuid]) -> Result<Keyring> {
        let spec = self.keys.spec().map_err(anyhow::Error::msg)?;
        let provider = LocalKeyProvider::parse(&spec)?;
        let db = connect(database_url).await?;
        let mut ring = Keyring::default();
        for user in users {
            let key = keys::get_or_create(&db, &provider, *user).await?;
            ring.insert(user.to_string(), Some(key));
        }
        Ok(ring)
    }

    /// The URL of database `name` on the stack's server.
    pub fn url_of(&self, name: &str) -> Result<String> {
        let (server, _) = self
            .database_url
            .rsplit_once('/')
            .context("DATABASE_URL has no database path")?;
        Ok(format!("{server}/{name}"))
    }
}

/// The databases and topics of one run, all named after its id.
pub struct Scratch {
    pub stack: Stack,
    /// The release `healthpipe` binary that runs the gateway and the processors.
    pub binary: PathBuf,
    pub run_id: String,
    pub log_dir: PathBuf,
    /// BATCH_MAX_MESSAGES of every processor this run starts.
    pub processor_batch: usize,
    /// BATCH_LANES of every processor this run starts.
    pub processor_lanes: usize,
    databases: Mutex<Vec<String>>,
    prefixes: Mutex<Vec<String>>,
}

impl Scratch {
    pub fn new(stack: Stack, binary: PathBuf, log_dir: PathBuf) -> Scratch {
        let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        Scratch {
            stack,
            binary,
            log_dir: log_dir.join(&run_id),
            processor_batch: 500,
            processor_lanes: 3,
            run_id,
            databases: Mutex::new(Vec::new()),
            prefixes: Mutex::new(Vec::new()),
        }
    }

    /// A new database with the migrations applied (TimescaleDB comes from template1).
    pub async fn database(&self, label: &str) -> Result<String> {
        let name = format!("hp_bench_{}_{label}", self.run_id);
        let admin = connect(&self.stack.database_url).await?;
        ddl(&admin, CREATE_DATABASE, &name).await?;
        self.databases
            .lock()
            .expect("not poisoned")
            .push(name.clone());
        let url = self.stack.url_of(&name)?;
        healthpipe_storage::migrations::run(&url).await?;
        Ok(url)
    }

    /// Drops a database of this run now. The sessions of a service that just stopped can
    /// outlive it for a moment, and neither TimescaleDB's scheduler of the database nor an
    /// autovacuum worker is ours to terminate: at the full size, autovacuum works on the ten
    /// million rows a processor just wrote for a minute or more. So a refusal is retried for
    /// up to `DROP_PATIENCE`.
    pub async fn drop_database(&self, url: &str) -> Result<()> {
        let name = url.rsplit('/').next().unwrap_or_default().to_string();
        let admin = connect(&self.stack.database_url).await?;
        let started = Instant::now();
        loop {
            match ddl(&admin, DROP_DATABASE, &name).await {
                Ok(()) => break,
                Err(_) if started.elapsed() < DROP_PATIENCE => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e),
            }
        }
        self.databases
            .lock()
            .expect("not poisoned")
            .retain(|d| *d != name);
        Ok(())
    }

    /// A new topic prefix with its topics created.
    pub async fn topics(&self, label: &str) -> Result<String> {
        let prefix = format!("hp_bench_{}_{label}", self.run_id);
        self.prefixes
            .lock()
            .expect("not poisoned")
            .push(prefix.clone());
        healthpipe::topics::ensure(
            &self.stack.brokers,
            &Topics::with_prefix(&prefix),
            &Default::default(),
        )
        .await?;
        Ok(prefix)
    }

    /// Drops every database and deletes every topic this run still has.
    pub async fn cleanup(&self) -> Result<()> {
        let databases = self.databases.lock().expect("not poisoned").clone();
        for name in databases {
            if let Ok(url) = self.stack.url_of(&name) {
                if let Err(e) = self.drop_database(&url).await {
                    eprintln!("bench: could not drop database {name}: {e:#}");
                }
            }
        }
        let prefixes = std::mem::take(&mut *self.prefixes.lock().expect("not poisoned"));
        let names: Vec<String> = prefixes
            .iter()
            .flat_map(|p| {
                Topics::with_prefix(p)
                    .all()
                    .map(str::to_string)
                    .into_iter()
                    .collect::<Vec<_>>()
            })
            .collect();
        if names.is_empty() {
            return Ok(());
        }
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.stack.brokers)
            .create()?;
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        for result in admin.delete_topics(&refs, &options).await? {
            if let Err((name, code)) = result {
                eprintln!("bench: could not delete topic {name}: {code}");
            }
        }
        Ok(())
    }
}

/// Messages in `topic` (sum of the partitions' high watermarks; nothing is ever deleted).
pub async fn topic_messages(brokers: &str, topic: &str) -> Result<u64> {
    Ok(watermarks(brokers, topic)
        .await?
        .iter()
        .map(|(_, h)| *h as u64)
        .sum())
}

/// (partition, high watermark) of every partition of `topic`.
pub async fn watermarks(brokers: &str, topic: &str) -> Result<Vec<(i32, i64)>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || -> Result<Vec<(i32, i64)>> {
        let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
        let mut out = Vec::new();
        for t in metadata.topics() {
            for p in t.partitions() {
                let (_, high) =
                    consumer.fetch_watermarks(&topic, p.id(), Duration::from_secs(10))?;
                out.push((p.id(), high));
            }
        }
        Ok(out)
    })
    .await?
}

/// The `healthpipe` binary to measure: `explicit` (`--healthpipe`, `HEALTHPIPE_BIN`), else the
/// one beside this executable (cargo writes every binary of a workspace and profile to the
/// same directory, whatever `CARGO_TARGET_DIR` says).
pub fn healthpipe_binary(explicit: Option<PathBuf>) -> Result<PathBuf> {
    let path = match explicit {
        Some(path) => path,
        None => std::env::current_exe()
            .context("locating this executable")?
            .with_file_name(format!("healthpipe{}", std::env::consts::EXE_SUFFIX)),
    };
    if !path.is_file() {
        bail!(
            "no healthpipe binary at {}: build it (`cargo build --release -p healthpipe`) or pass --healthpipe",
            path.display()
        );
    }
    Ok(path)
}

/// A gateway or processor running as its own process (of the `healthpipe` binary), so its memory can be read from `/proc` and nothing is shared with the load.
pub struct Service {
    pub name: String,
    child: tokio::process::Child,
    pid: u32,
    /// The gateway's base URL, or the processor's metrics URL.
    pub url: String,
    /// Resident memory right after it became ready.
    pub idle_rss: u64,
}

/// Memory of a running service, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// VmHWM: the peak resident set size.
    pub peak: u64,
    pub current: u64,
}

impl Service {
    /// `healthpipe gateway` on a free port, ready when `/healthz` answers.
    pub async fn gateway(
        scratch: &Scratch,
        name: &str,
        database_url: &str,
        prefix: &str,
    ) -> Result<Service> {
        Self::gateway_with(scratch, name, database_url, prefix, &[]).await
    }

    /// [`Self::gateway`] with more of its environment.
    pub async fn gateway_with(
        scratch: &Scratch,
        name: &str,
        database_url: &str,
        prefix: &str,
        more: &[(&str, String)],
    ) -> Result<Service> {
        let addr = free_addr()?;
        let mut env = vec![
            ("GATEWAY_ADDR", addr.clone()),
            ("DATABASE_URL", database_url.to_string()),
            ("TOPIC_PREFIX", prefix.to_string()),
        ];
        env.extend(more.iter().cloned());
        let url = format!("http://{addr}");
        Self::spawn(
            scratch,
            name,
            &["gateway"],
            &env,
            format!("{url}/healthz"),
            url,
        )
        .await
    }

    /// `healthpipe process aggregation` in consumer group `group`, with its metrics served,
    /// writing to `database_url` with the users' keys from `key_store` (the database the
    /// gateway made the accounts in: a processor into an empty database has none there).
    pub async fn processor(
        scratch: &Scratch,
        name: &str,
        (database_url, key_store): (&str, &str),
        prefix: &str,
        group: &str,
    ) -> Result<Service> {
        let keys = ("KEY_STORE_DATABASE_URL", key_store.to_string());
        Self::process(
            scratch,
            name,
            "aggregation",
            (database_url, prefix, group),
            &[keys],
        )
        .await
    }

    /// `healthpipe process insights` in consumer group `group` on `database_url` (which holds
    /// the users' keys), with its metrics served; everything else as configured by default,
    /// day ticker included.
    pub async fn insights_processor(
        scratch: &Scratch,
        name: &str,
        database_url: &str,
        prefix: &str,
        group: &str,
    ) -> Result<Service> {
        Self::process(
            scratch,
            name,
            "insights",
            (database_url, prefix, group),
            &[],
        )
        .await
    }

    /// `healthpipe process <kind>` on (database, topic prefix, consumer group), with its
    /// metrics served and the run's batch size, plus `extra` settings.
    async fn process(
        scratch: &Scratch,
        name: &str,
        kind: &str,
        (database_url, prefix, group): (&str, &str, &str),
        extra: &[(&'static str, String)],
    ) -> Result<Service> {
        let addr = free_addr()?;
        let mut env = vec![
            ("METRICS_ADDR", addr.clone()),
            ("DATABASE_URL", database_url.to_string()),
            ("TOPIC_PREFIX", prefix.to_string()),
            ("CONSUMER_GROUP", group.to_string()),
            ("BATCH_MAX_MESSAGES", scratch.processor_batch.to_string()),
            ("BATCH_LANES", scratch.processor_lanes.to_string()),
        ];
        env.extend(extra.iter().cloned());
        let url = format!("http://{addr}/metrics");
        Self::spawn(scratch, name, &["process", kind], &env, url.clone(), url).await
    }

    async fn spawn(
        scratch: &Scratch,
        name: &str,
        args: &[&str],
        env: &[(&str, String)],
        ready_url: String,
        url: String,
    ) -> Result<Service> {
        std::fs::create_dir_all(&scratch.log_dir)?;
        let log_path = scratch.log_dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path)?;
        let mut command = tokio::process::Command::new(&scratch.binary);
        command
            .args(args)
            .env("KAFKA_BROKERS", &scratch.stack.brokers)
            .env("SCHEMA_REGISTRY_URL", &scratch.stack.registry_url)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let pid = child.id().context("child has a pid")?;
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "{name} exited with {status} before it was ready; see {}",
                    log_path.display()
                );
            }
            if let Ok(r) = http.get(&ready_url).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("{name} not ready after 60 s; see {}", log_path.display());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut service = Service {
            name: name.to_string(),
            child,
            pid,
            url,
            idle_rss: 0,
        };
        service.idle_rss = service.memory().map(|m| m.current).unwrap_or(0);
        Ok(service)
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn memory(&self) -> Option<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let field = |key: &str| -> Option<u64> {
            let line = status.lines().find(|l| l.starts_with(key))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        };
        Some(Memory {
            peak: field("VmHWM:")?,
            current: field("VmRSS:")?,
        })
    }

    /// Fails if the process has exited (it should run until stopped).
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited with {status}; see its log in the bench log directory",
                self.name
            );
        }
        Ok(())
    }

    /// Reads the peak memory, then stops the process as Kubernetes would (SIGTERM, so a
    /// processor leaves its group at once; SIGKILL after 10 s); returns the peak in bytes.
    pub async fn stop(mut self) -> Result<u64> {
        let peak = self.memory().map(|m| m.peak).unwrap_or(0);
        let term = tokio::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        let exited = term.is_ok_and(|s| s.success())
            && tokio::time::timeout(Duration::from_secs(10), self.child.wait())
                .await
                .is_ok();
        if !exited {
            self.child.start_kill().ok();
            self.child.wait().await?;
        }
        Ok(peak)
    }
}

/// A free local port (bound and released; another process could take it in between, which
/// the readiness check would then report).
fn free_addr() -> Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}

/// The processor's Prometheus metrics as `name{labels}` → value.
pub async fn scrape(http: &reqwest::Client, url: &str) -> Result<HashMap<String, f64>> {
    let text = http
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_string(), value.parse().ok()?))
        })
        .collect())
}

/// Processor counters the bench reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessorCounters {
    pub messages: f64,
    pub batch_seconds: f64,
    pub batches: f64,
    pub rows_loaded: f64,
}

impl ProcessorCounters {
    pub async fn read(http: &reqwest::Client, url: &str) -> Result<ProcessorCounters> {
        let m = scrape(http, url).await?;
        let get = |k: &str| m.get(k).copied().unwrap_or(0.0);
        Ok(ProcessorCounters {
            messages: get("healthpipe_processor_messages_total{outcome=\"applied\"}")
                + get("healthpipe_processor_messages_total{outcome=\"skipped\"}"),
            batch_seconds: get("healthpipe_processor_batch_duration_seconds_sum"),
            batches: get("healthpipe_processor_batch_duration_seconds_count"),
            rows_loaded: get("healthpipe_processor_recompute_rows_loaded_total"),
        })
    }
}

/// How long a processor took to work off a backlog.
#[derive(Debug, Clone, Copy)]
pub struct Drained {
    /// From the start of its first batch to the end of the one that reached the target.
    pub seconds: f64,
    pub rows_loaded: f64,
    pub batches: f64,
}

/// Waits until `processor` has handled `target` messages in total (its counters start at zero
/// with the process). The clock starts when the first batch started: the first time the
/// counter moves, minus the batch time it reports (batches run back to back on a backlog),
/// so start-up and the group join are not counted.
pub async fn drain(
    http: &reqwest::Client,
    processor: &mut Service,
    since: ProcessorCounters,
    target: f64,
    timeout: Duration,
) -> Result<Drained> {
    let started = Instant::now();
    let mut first: Option<Instant> = None;
    loop {
        processor.check_alive()?;
        let now = ProcessorCounters::read(http, &processor.url).await?;
        let at = Instant::now();
        if first.is_none() && now.messages > since.messages {
            let busy = Duration::from_secs_f64((now.batch_seconds - since.batch_seconds).max(0.0));
            first = Some(at.checked_sub(busy).unwrap_or(at));
        }
        if now.messages >= target {
            let from = first.unwrap_or(at);
            return Ok(Drained {
                seconds: (at - from).as_secs_f64().max(1e-3),
                rows_loaded: now.rows_loaded - since.rows_loaded,
                batches: now.batches - since.batches,
            });
        }
        if started.elapsed() > timeout {
            bail!(
                "{} handled {} of {target} messages in {timeout:?}",
                processor.name,
                now.messages
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
