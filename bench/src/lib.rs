//! `healthpipe-bench`: the performance figures of the whole pipeline on the local stack,
//! each measured several times against a baseline taken in the same run on the same machine,
//! written to `bench/results/<timestamp>-<commit>.json` and printed as a table.
//!
//! The harness is its own crate so the production binary carries none of it. Every run works
//! in its own scratch databases and topics (dropped at the end) and runs the gateway and
//! processors as child processes of the release `healthpipe` binary, so their memory is their
//! own. Layout: `env` (stack, scratch resources, child services), `realistic` (generated
//! users), `workload` (their sync requests), `population` (accounts, sessions, devices),
//! `load` (HTTP load), one module per figure group, `report` (JSON and table). Every SQL
//! statement is a file in `sql/`, run through `healthpipe_storage::sql`.
//!
//! Benchmarks report; tests never time anything.

mod cpu;
mod curve;
mod db;
mod decode;
mod dedup;
mod env;
mod gateway;
mod growth;
mod history;
mod insights;
mod late;
mod live;
mod live_phase;
mod load;
mod minimal;
mod population;
mod processor;
mod queries;
mod realistic;
mod report;
mod run;
mod sealing;
mod storage;
mod workload;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub use report::{Figure, Report, Stat};

/// Sizes and knobs of a bench run, and where the stack and the binary under test are.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "healthpipe-bench",
    version,
    about = "Measure the pipeline's performance figures on the local stack; writes bench/results/<time>-<commit>.json"
)]
pub struct BenchArgs {
    #[command(flatten)]
    pub stack: env::Stack,
    /// The `healthpipe` binary whose gateway and processors are measured [default: the
    /// `healthpipe` beside this executable, where cargo puts both].
    #[arg(long, env = "HEALTHPIPE_BIN")]
    pub healthpipe: Option<PathBuf>,
    /// Users of the main workload [default: 100; 20 with --quick].
    #[arg(long)]
    pub users: Option<usize>,
    /// Days of history per user [default: 7; 2 with --quick].
    #[arg(long)]
    pub days: Option<u32>,
    /// Runs of each figure; the report gives the median and the range [default: 3; 2 with
    /// --quick].
    #[arg(long)]
    pub repeat: Option<usize>,
    /// A small run for development and CI smoke tests.
    #[arg(long)]
    pub quick: bool,
    /// Concurrent HTTP clients of the gateway load.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Seed of the generated workload.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only these figures (comma-separated numbers; 5 includes 5b); 1, 2 and 9 always run,
    /// since the others build on them.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<u32>,
    /// BATCH_MAX_MESSAGES of the processors (their default is 100); for exploring how batch
    /// size trades throughput against memory.
    #[arg(long, default_value_t = 100)]
    pub batch_max_messages: usize,
    /// BATCH_LANES of the processors (their default is 3); 1 measures batches applied one
    /// at a time.
    #[arg(long, default_value_t = 3)]
    pub batch_lanes: usize,
    /// Keep the scratch databases and topics (for debugging).
    #[arg(long)]
    pub keep: bool,
    /// Where the JSON report goes [default: bench/results of the checkout].
    #[arg(long)]
    pub results: Option<PathBuf>,
}

/// The resolved sizes.
#[derive(Debug, Clone)]
pub struct Sizes {
    pub users: usize,
    pub days: u32,
    pub repeat: usize,
    pub clients: usize,
    pub seed: u64,
    pub quick: bool,
    only: Vec<u32>,
}

impl Sizes {
    fn from(args: &BenchArgs) -> Sizes {
        let (users, days, repeat) = if args.quick { (20, 2, 2) } else { (100, 7, 3) };
        Sizes {
            users: args.users.unwrap_or(users).max(2),
            days: args.days.unwrap_or(days).max(1),
            repeat: args.repeat.unwrap_or(repeat).max(1),
            clients: args.clients.max(1),
            seed: args.seed,
            quick: args.quick,
            only: args.only.clone(),
        }
    }

    /// Whether figure `n` is measured in this run.
    pub fn wants(&self, n: u32) -> bool {
        self.only.is_empty() || matches!(n, 1 | 2 | 9) || self.only.contains(&n)
    }
}

pub async fn run(args: BenchArgs) -> Result<()> {
    if cfg!(debug_assertions) {
        println!("warning: this is a debug build; figures are only meaningful from `scripts/bench` (release)");
    }
    let binary = env::healthpipe_binary(args.healthpipe.clone())?;
    let sizes = Sizes::from(&args);
    let root = checkout();
    let mut scratch = env::Scratch::new(args.stack.clone(), binary, root.join("target/bench-logs"));
    scratch.processor_batch = args.batch_max_messages.max(1);
    scratch.processor_lanes = args.batch_lanes.max(1);
    println!(
        "healthpipe-bench {}: {} users × {} days, {} runs per figure, {} clients; scratch id {}, service logs in {}",
        if sizes.quick { "(quick)" } else { "" },
        sizes.users,
        sizes.days,
        sizes.repeat,
        sizes.clients,
        scratch.run_id,
        scratch.log_dir.display()
    );
    let started = std::time::Instant::now();
    let outcome = tokio::select! {
        r = run::all(&scratch, &sizes) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    if args.keep {
        println!(
            "keeping scratch databases and topics (hp_bench_{}_*)",
            scratch.run_id
        );
    } else if let Err(e) = scratch.cleanup().await {
        eprintln!("bench: cleanup failed: {e:#}");
    }
    let mut report = outcome?;
    report
        .timings
        .push(("total".into(), started.elapsed().as_secs_f64()));
    let (commit, dirty) = commit(&root);
    let dir = args.results.unwrap_or_else(|| root.join("bench/results"));
    let path = report.write(&dir, &commit, dirty)?;
    println!();
    println!("{}", report.table());
    println!(
        "commit {commit}{}, total {:.0} s; report: {}",
        if dirty {
            " (with uncommitted changes)"
        } else {
            ""
        },
        started.elapsed().as_secs_f64(),
        path.display()
    );
    Ok(())
}

/// The checkout this binary was built from: the workspace root, one above this crate.
fn checkout() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().unwrap_or(crate_dir).to_path_buf()
}

/// The short commit id and whether the work tree has uncommitted changes.
fn commit(root: &Path) -> (String, bool) {
    let git = |args: &[&str]| -> Result<String> {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .context("git")?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "--short=10", "HEAD"]).unwrap_or_default();
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .map(|s| !s.is_empty())
        .unwrap_or(false);
    (
        if commit.is_empty() {
            "unknown".into()
        } else {
            commit
        },
        dirty,
    )
}
