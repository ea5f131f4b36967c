//! Figures 2 and 7: the aggregation processor working off a full topic into an empty
//! database (raw samples, every aggregate, offsets), against a binary COPY of the same raw
//! rows into the same hypertable (read back from the processor's database, written by the
//! storage layer's `copy_samples`, the processor's own write); and a replay from offset 0
//! into an empty schema next to the live projections.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use healthpipe_schemas::Topics;
use healthpipe_storage::projections::samples::{self, SampleRow};
use healthpipe_storage::sql::{execute, query, query_one};

use super::cpu;
use super::env::{connect, drain, topic_messages, ProcessorCounters, Scratch, Service};
use crate::db::ddl;

healthpipe_storage::statement!(READ_SAMPLES, "samples_read");
healthpipe_storage::statement!(TRUNCATE_SAMPLES, "samples_truncate");
healthpipe_storage::statement!(CHECKPOINT, "checkpoint");
healthpipe_storage::statement!(CREATE_SCHEMA, "schema_create");
healthpipe_storage::statement!(DROP_SCHEMA, "schema_drop");
healthpipe_storage::statement!(SCHEMA_HAS_SAMPLES, "schema_has_samples");

/// One processor run over a whole topic.
#[derive(Debug, Clone)]
pub struct Pass {
    pub seconds: f64,
    pub samples_per_second: f64,
    pub peak_rss: u64,
    pub idle_rss: u64,
    /// Stored samples read back for recomputation, per sample processed.
    pub rows_loaded_per_sample: f64,
    pub batches: f64,
    /// Cores used per part of the pipeline while it ran.
    pub cpu: Vec<(String, f64)>,
}

/// Starts a processor in a new group on `prefix` writing to `database_url` (with the keys
/// of `key_store`), waits until it has applied every message of the topic, and stops it.
/// `samples` is what the topic holds.
pub async fn pass(
    scratch: &Scratch,
    http: &reqwest::Client,
    name: &str,
    databases: (&str, &str),
    prefix: &str,
    samples: u64,
) -> Result<Pass> {
    let topic = Topics::with_prefix(prefix).user_events;
    let messages = topic_messages(&scratch.stack.brokers, &topic).await? as f64;
    let group = format!("{prefix}-{name}");
    let mut processor = Service::processor(scratch, name, databases, prefix, &group).await?;
    let idle_rss = processor.idle_rss;
    let cpu_before = cpu::snapshot(&[(processor.pid(), "processor")]);
    let drained = drain(
        http,
        &mut processor,
        ProcessorCounters::default(),
        messages,
        Duration::from_secs(3600),
    )
    .await?;
    let cpu = cpu::cores(
        &cpu_before,
        &cpu::snapshot(&[(processor.pid(), "processor")]),
    );
    let peak_rss = processor.stop().await?;
    let pass = Pass {
        seconds: drained.seconds,
        samples_per_second: samples as f64 / drained.seconds,
        peak_rss,
        idle_rss,
        rows_loaded_per_sample: drained.rows_loaded / samples.max(1) as f64,
        batches: drained.batches,
        cpu,
    };
    println!(
        "    {name}: {samples} samples in {:.1} s ({:.0} samples/s, {} batches, {:.1} rows re-read per sample, peak RSS {} MiB)",
        pass.seconds,
        pass.samples_per_second,
        pass.batches,
        pass.rows_loaded_per_sample,
        pass.peak_rss >> 20
    );
    println!("      cores: {}", cpu::describe(&pass.cpu));
    Ok(pass)
}

/// The stored raw samples of `database_url`, to be copied back by [`copy_samples`].
pub async fn dump_samples(database_url: &str) -> Result<Vec<SampleRow>> {
    let db = connect(database_url).await?;
    let rows = query(&db, READ_SAMPLES, &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(SampleRow {
                user_id: r.get(0),
                sample_id: r.get(1),
                device_id: r.get(2),
                sample_type: r.get(3),
                value: r.get(4),
                start: r.get(5),
                end: r.get(6),
                utc_offset_seconds: r.get(7),
                source_app: r.get(8),
                sync_identifier: r.get(9),
                sync_version: r.get(10),
                metadata: serde_json::from_value(r.get(11))
                    .context("a stored sample's metadata is not a map of strings")?,
                details: r.get(12),
            })
        })
        .collect()
}

/// Rows per COPY statement of the baseline: the default size is one statement, and the full
/// size's ten million rows stay under the pool's statement timeout as a few.
const COPY_ROWS_PER_STATEMENT: usize = 2_000_000;

/// Empties `samples` in `database_url`, then times a binary COPY of `rows` into it, in one
/// transaction as the processor writes them; returns rows per second.
pub async fn copy_samples(database_url: &str, rows: &[SampleRow]) -> Result<f64> {
    let mut db = connect(database_url).await?;
    execute(&db, TRUNCATE_SAMPLES, &[]).await?;
    // Without the privilege the copy pays for the previous one's dirty pages; still valid.
    execute(&db, CHECKPOINT, &[]).await.ok();
    let started = Instant::now();
    let tx = db.transaction().await?;
    for chunk in rows.chunks(COPY_ROWS_PER_STATEMENT) {
        samples::copy_samples(&tx, chunk).await?;
    }
    tx.commit().await.context("committing the COPY")?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(rows.len() as f64 / seconds)
}

/// A connection URL for `database_url` whose tables live in `schema` (TimescaleDB's functions
/// stay reachable in `public`).
pub fn with_schema(database_url: &str, schema: &str) -> String {
    let sep = if database_url.contains('?') { '&' } else { '?' };
    format!("{database_url}{sep}options=-csearch_path%3D{schema}%2Cpublic")
}

/// Creates `schema` in `database_url` and applies the migrations inside it.
pub async fn empty_schema(database_url: &str, schema: &str) -> Result<String> {
    ddl(&connect(database_url).await?, CREATE_SCHEMA, schema).await?;
    let url = with_schema(database_url, schema);
    healthpipe_storage::migrations::run(&url).await?;
    let tables: i64 = query_one(&connect(&url).await?, SCHEMA_HAS_SAMPLES, &[&schema])
        .await?
        .get(0);
    anyhow::ensure!(tables == 1, "migrations did not create {schema}.samples");
    Ok(url)
}

pub async fn drop_schema(database_url: &str, schema: &str) -> Result<()> {
    ddl(&connect(database_url).await?, DROP_SCHEMA, schema).await
}
