//! The cold tier for tests: `healthpipe archive` run as the binary (a child process, bounded
//! in time) into a scratch folder, the folder read back by pyarrow or DuckDB
//! (`tests/clients/archive_read.py`), and the database's rows in the same shape to compare.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};

use super::fhir::python;
use super::{repo_root, unique, Pipeline};

/// How long one archive run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// A scratch archive folder (`ARCHIVE_URL=file://...`), removed when dropped.
pub struct ArchiveDir {
    pub dir: PathBuf,
}

impl Drop for ArchiveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The summary lines a run printed (`files written: 3` becomes `"files written" => 3`).
pub type Summary = BTreeMap<String, u64>;

impl ArchiveDir {
    /// A folder that does not exist yet: the archive makes it.
    pub fn new() -> ArchiveDir {
        ArchiveDir {
            dir: std::env::temp_dir().join(unique("hp_archive")),
        }
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.dir.display())
    }

    /// Runs `healthpipe archive <args>` on the pipeline's database with `env` on top of
    /// `ARCHIVE_URL` and `DATABASE_URL`; asserts it succeeds and returns its summary.
    pub async fn run(&self, pipeline: &Pipeline, args: &[&str], env: &[(&str, &str)]) -> Summary {
        let output = self.run_raw(pipeline, args, env).await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "healthpipe archive {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
            .lines()
            .filter_map(|line| {
                let (name, value) = line.trim().split_once(": ")?;
                Some((name.to_string(), value.parse().ok()?))
            })
            .collect()
    }

    /// [`Self::run`] without the checks.
    pub async fn run_raw(
        &self,
        pipeline: &Pipeline,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> std::process::Output {
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_healthpipe"))
            .arg("archive")
            .args(args)
            .env("DATABASE_URL", &pipeline.database_url)
            .env("ARCHIVE_URL", self.url())
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("healthpipe archive starts");
        tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("healthpipe archive {args:?} ran over {RUN_TIMEOUT:?}"))
            .expect("healthpipe archive's output")
    }

    /// Every row of `relation` as `engine` (`pyarrow` or `duckdb`) reads the folder, in the
    /// shape of [`db_rows`], sorted.
    pub fn read(&self, relation: &str, engine: &str) -> Vec<Value> {
        let output = std::process::Command::new(python())
            .arg(repo_root().join("tests/clients/archive_read.py"))
            .arg(&self.dir)
            .arg(relation)
            .args(["--engine", engine])
            .output()
            .expect("archive_read.py starts");
        assert!(
            output.status.success(),
            "archive_read.py {relation} --engine {engine}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut rows: Vec<Value> = String::from_utf8(output.stdout)
            .expect("JSON lines")
            .lines()
            .map(|line| {
                let mut row: Value = serde_json::from_str(line).expect("a JSON line");
                if let Some(text) = row.get("metadata").and_then(Value::as_str) {
                    row["metadata"] = serde_json::from_str(text).expect("metadata is JSON");
                }
                row
            })
            .collect();
        sorted(&mut rows);
        rows
    }

    /// Every file under the folder (relative path) with its bytes.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        let mut files = BTreeMap::new();
        collect(&self.dir, &self.dir, &mut files);
        files
    }
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            files.insert(relative, std::fs::read(&path).expect("a file"));
        }
    }
}

fn sorted(rows: &mut [Value]) {
    rows.sort_by_cached_key(|row| row.to_string());
}

/// The rows of `relation` in the database whose month (UTC) ended more than `after_days`
/// days ago, in the shape the reader prints (partition columns, uuids as text, times in
/// microseconds, binary as hex), sorted.
pub async fn db_rows(pipeline: &Pipeline, relation: &str, after_days: i32) -> Vec<Value> {
    let db = super::query::db(pipeline).await;
    let month_ended = |column: &str| {
        format!(
            "date_trunc('month', {column} AT TIME ZONE 'UTC') + interval '1 month' \
             < (now() AT TIME ZONE 'UTC') - make_interval(days => $1)"
        )
    };
    let mut rows: Vec<Value> = match relation {
        "samples" => db
            .query(
                &format!(
                    "SELECT user_id::text, sample_id::text, device_id::text, sample_type, \
                     to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM'), \
                     (extract(epoch FROM start_time) * 1000000)::bigint, \
                     (extract(epoch FROM end_time) * 1000000)::bigint, utc_offset_seconds, \
                     value, counted_fraction, source_app, sync_identifier, sync_version, \
                     metadata, encode(details, 'hex') \
                     FROM samples WHERE {}",
                    month_ended("start_time")
                ),
                &[&after_days],
            )
            .await
            .expect("read samples")
            .iter()
            .map(|r| {
                json!({
                    "user_id": r.get::<_, String>(0), "sample_id": r.get::<_, String>(1),
                    "device_id": r.get::<_, String>(2), "sample_type": r.get::<_, String>(3),
                    "month": r.get::<_, String>(4), "start_time": r.get::<_, i64>(5),
                    "end_time": r.get::<_, i64>(6), "utc_offset_seconds": r.get::<_, i32>(7),
                    "value": r.get::<_, f64>(8), "counted_fraction": r.get::<_, f64>(9),
                    "source_app": r.get::<_, Option<String>>(10),
                    "sync_identifier": r.get::<_, Option<String>>(11),
                    "sync_version": r.get::<_, Option<i64>>(12),
                    "metadata": r.get::<_, Value>(13),
                    "details": r.get::<_, Option<String>>(14),
                })
            })
            .collect(),
        "aggregates" => db
            .query(
                &format!(
                    "SELECT user_id::text, sample_type, \
                     to_char(period_start AT TIME ZONE 'UTC', 'YYYY-MM'), period, \
                     (extract(epoch FROM period_start) * 1000000)::bigint, value, min_value, \
                     max_value, sample_count, coverage, device_count \
                     FROM aggregates WHERE {}",
                    month_ended("period_start")
                ),
                &[&after_days],
            )
            .await
            .expect("read aggregates")
            .iter()
            .map(|r| {
                json!({
                    "user_id": r.get::<_, String>(0), "sample_type": r.get::<_, String>(1),
                    "month": r.get::<_, String>(2), "period": r.get::<_, String>(3),
                    "period_start": r.get::<_, i64>(4), "value": r.get::<_, f64>(5),
                    "min_value": r.get::<_, f64>(6), "max_value": r.get::<_, f64>(7),
                    "sample_count": r.get::<_, i32>(8), "coverage": r.get::<_, Option<f64>>(9),
                    "device_count": r.get::<_, i32>(10),
                })
            })
            .collect(),
        other => panic!("no relation {other}"),
    };
    sorted(&mut rows);
    rows
}

/// A count of `sql` (a `SELECT count(*) ...`) in the pipeline's database.
pub async fn count(pipeline: &Pipeline, sql: &str) -> i64 {
    let db = super::query::db(pipeline).await;
    db.query_one(sql, &[]).await.expect(sql).get(0)
}
