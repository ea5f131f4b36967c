//! The healthpipe binary's services (gateway, processors) as child processes of the test,
//! so a fault test can `kill -9` them, stop them gracefully and start them again. Their
//! logs go to one file per service in a scratch folder, kept when the test fails.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::broker::{free_port, signal};
use super::Pipeline;

pub struct Service {
    pub name: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
    /// `http://127.0.0.1:<port>` of the gateway, or of a processor's metrics and health.
    pub url: String,
}

/// The environment every service of `pipeline` shares: its database, broker, topics, and a
/// short stall window, so a stuck Kafka client is replaced within the test's time.
pub fn shared_env(pipeline: &Pipeline, stall_secs: u64) -> Vec<(String, String)> {
    let keys = pipeline
        .key_settings()
        .key_encryption_keys_file
        .expect("the stack's key file");
    [
        ("KEY_ENCRYPTION_KEYS_FILE", keys.to_string_lossy().as_ref()),
        ("DATABASE_URL", pipeline.database_url.as_str()),
        ("KAFKA_BROKERS", &pipeline.kafka_brokers),
        ("SCHEMA_REGISTRY_URL", &pipeline.registry_url),
        ("TOPIC_PREFIX", &pipeline.topic_prefix),
        ("KAFKA_STALL_TIMEOUT_SECS", &stall_secs.to_string()),
        ("RUST_LOG", "info"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl Service {
    /// The gateway of `pipeline` on a free port; started and answering.
    pub fn gateway(pipeline: &Pipeline, logs: &Path, stall_secs: u64) -> Service {
        Self::gateway_with(pipeline, logs, stall_secs, &[])
    }

    /// [`Service::gateway`] with `extra` settings on top.
    pub fn gateway_with(
        pipeline: &Pipeline,
        logs: &Path,
        stall_secs: u64,
        extra: &[(&str, &str)],
    ) -> Service {
        let port = free_port();
        let mut env = shared_env(pipeline, stall_secs);
        env.push(("GATEWAY_ADDR".into(), format!("127.0.0.1:{port}")));
        env.push(("PRODUCE_TIMEOUT_MS".into(), "5000".into()));
        env.push(("BODY_READ_TIMEOUT_SECS".into(), "2".into()));
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut service = Service::new("gateway", &["gateway"], env, logs);
        service.url = format!("http://127.0.0.1:{port}");
        service.start();
        service
    }

    /// A processor (`aggregation` or `insights`) of `pipeline`'s groups, numbered `n`.
    pub fn processor(
        pipeline: &Pipeline,
        kind: &str,
        n: usize,
        logs: &Path,
        stall_secs: u64,
    ) -> Service {
        Service::processor_with(pipeline, kind, n, logs, stall_secs, &[])
    }

    /// [`Service::processor`] with more settings (`BATCH_MAX_MESSAGES`, ...), given last so
    /// they win.
    pub fn processor_with(
        pipeline: &Pipeline,
        kind: &str,
        n: usize,
        logs: &Path,
        stall_secs: u64,
        extra: &[(&str, &str)],
    ) -> Service {
        let port = free_port();
        let mut env = shared_env(pipeline, stall_secs);
        env.push((
            "CONSUMER_GROUP".into(),
            format!("{}-{kind}", pipeline.topic_prefix),
        ));
        env.push(("METRICS_ADDR".into(), format!("127.0.0.1:{port}")));
        env.push(("TICK_INTERVAL_SECS".into(), "0".into()));
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut service = Service::new(&format!("{kind}-{n}"), &["process", kind], env, logs);
        service.url = format!("http://127.0.0.1:{port}");
        service.start();
        service
    }

    /// The schema registry (`healthpipe registry`) with `env` (at least `DATABASE_URL`), its
    /// reads on a free port (`url`) and its writes on another (`REGISTRY_ADMIN_ADDR`, whose
    /// URL is returned); started and answering on both.
    pub async fn split_registry(
        env: &[(&str, &str)],
        logs: &Path,
        http: &reqwest::Client,
    ) -> (Service, String) {
        let (read, admin) = (free_port(), free_port());
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.push(("REGISTRY_ADDR".into(), format!("127.0.0.1:{read}")));
        env.push(("REGISTRY_ADMIN_ADDR".into(), format!("127.0.0.1:{admin}")));
        let mut service = Service::new("registry", &["registry"], env, logs);
        service.url = format!("http://127.0.0.1:{admin}");
        service.start();
        service.wait_healthy(http).await;
        service.url = format!("http://127.0.0.1:{read}");
        service.wait_healthy(http).await;
        (service, format!("http://127.0.0.1:{admin}"))
    }

    /// `GET <url>/metrics`, parsed.
    pub async fn metrics(&self, http: &reqwest::Client) -> super::metrics::Scrape {
        super::metrics::scrape(http, &self.url).await
    }

    fn new(name: &str, args: &[&str], env: Vec<(String, String)>, logs: &Path) -> Service {
        Service {
            name: name.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env,
            log: logs.join(format!("{name}.log")),
            child: None,
            url: String::new(),
        }
    }

    /// Starts the process (again), appending to its log.
    pub fn start(&mut self) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("service log file");
        let child = Command::new(binary())
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.name));
        self.child = Some(child);
    }

    /// `kill -9`: no shutdown, no flush, no leaving the group.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, and waits for the process to finish what it has in hand and exit.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        signal("TERM", child.id());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{} did not stop within 30 s of SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The running process's id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The exit status, if the process has ended by itself.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// Waits until `GET <url>/healthz` answers 200.
    pub async fn wait_healthy(&self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = http
                .get(format!("{}/healthz", self.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not become healthy within 60 s; see {}",
                self.name,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Runs `healthpipe <args>` to its end with `pipeline`'s environment and `extra` on top;
/// panics with its output unless it succeeds, and returns its standard output.
pub fn run_command(pipeline: &Pipeline, args: &[&str], extra: &[(&str, &str)]) -> String {
    let shared = shared_env(pipeline, 30);
    let env: Vec<(&str, &str)> = shared
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(extra.iter().copied())
        .collect();
    let output = run_healthpipe(args, &env);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert!(
        output.status.success(),
        "healthpipe {args:?} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    stdout
}

/// Runs a one-shot `healthpipe` command (`migrate`, `lag`, ...) with `env` set and every
/// `TOPIC*` variable of the test's own environment unset, to its end (at most 60 s); its
/// status and output.
pub fn run_healthpipe(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(binary());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TOPIC") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run healthpipe {args:?}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait for healthpipe").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("healthpipe {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("healthpipe's output")
}

/// The `healthpipe` binary the services run: this build's, or `HEALTHPIPE_SERVICES_BIN` (to
/// run the suite against another build, e.g. an older one, and see what it catches).
pub fn binary() -> PathBuf {
    std::env::var_os("HEALTHPIPE_SERVICES_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_healthpipe")))
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}
