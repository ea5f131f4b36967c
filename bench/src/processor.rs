//! Figures 2 and 7: the aggregation processor working off a full topic into an empty
//! database (raw samples, every aggregate, offsets), against a binary COPY of the same raw
//! rows into the same hypertable; and a replay from offset 0 into an empty schema next to
//! the live projections.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use healthpipe_schemas::Topics;

use super::cpu;
use super::env::{connect, drain, topic_messages, ProcessorCounters, Scratch, Service};

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

/// Starts a processor in a new group on `prefix` writing to `database_url`, waits until it
/// has applied every message of the topic, and stops it. `samples` is what the topic holds.
pub async fn pass(
    scratch: &Scratch,
    http: &reqwest::Client,
    name: &str,
    database_url: &str,
    prefix: &str,
    samples: u64,
) -> Result<Pass> {
    let topic = Topics::with_prefix(prefix).user_events;
    let messages = topic_messages(&scratch.stack.brokers, &topic).await? as f64;
    let group = format!("{prefix}-{name}");
    let mut processor = Service::processor(scratch, name, database_url, prefix, &group).await?;
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

/// The columns the processor writes.
const SAMPLE_COLUMNS: &str = "user_id, sample_id, device_id, sample_type, value, start_time, \
    end_time, utc_offset_seconds, source_app, sync_identifier, sync_version, metadata";

/// The stored raw samples of `database_url` in PostgreSQL's binary COPY format.
pub async fn dump_samples(database_url: &str) -> Result<(Vec<Bytes>, u64)> {
    let db = connect(database_url).await?;
    let rows: i64 = db
        .query_one("SELECT count(*) FROM samples", &[])
        .await?
        .get(0);
    let stream = db
        .copy_out(&format!(
            "COPY (SELECT {SAMPLE_COLUMNS} FROM samples) TO STDOUT (FORMAT binary)"
        ))
        .await?;
    futures::pin_mut!(stream);
    // The server sends a message per row; COPY IN gets them in 1 MiB pieces, as a client
    // loading a file would send them.
    let mut chunks = Vec::new();
    let mut piece = bytes::BytesMut::with_capacity(1 << 20);
    while let Some(chunk) = stream.next().await {
        piece.extend_from_slice(&chunk?);
        if piece.len() >= 1 << 20 {
            chunks.push(piece.split().freeze());
        }
    }
    if !piece.is_empty() {
        chunks.push(piece.freeze());
    }
    Ok((chunks, rows as u64))
}

/// Empties `samples` in `database_url`, then times a binary COPY of `chunks` into it;
/// returns rows per second.
pub async fn copy_samples(database_url: &str, chunks: &[Bytes], rows: u64) -> Result<f64> {
    let db = connect(database_url).await?;
    db.batch_execute("TRUNCATE samples").await?;
    db.batch_execute("CHECKPOINT").await.ok();
    let started = Instant::now();
    let sink = db
        .copy_in(&format!(
            "COPY samples ({SAMPLE_COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .await?;
    futures::pin_mut!(sink);
    for chunk in chunks {
        sink.feed(chunk.clone()).await?;
    }
    let copied = sink.as_mut().finish().await.context("COPY samples")?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(copied == rows, "copied {copied} of {rows} rows");
    Ok(rows as f64 / seconds)
}

/// A connection URL for `database_url` whose tables live in `schema` (TimescaleDB's functions
/// stay reachable in `public`).
pub fn with_schema(database_url: &str, schema: &str) -> String {
    let sep = if database_url.contains('?') { '&' } else { '?' };
    format!("{database_url}{sep}options=-csearch_path%3D{schema}%2Cpublic")
}

/// Creates `schema` in `database_url` and applies the migrations inside it.
pub async fn empty_schema(database_url: &str, schema: &str) -> Result<String> {
    let db = connect(database_url).await?;
    db.batch_execute(&format!("CREATE SCHEMA {schema}")).await?;
    let url = with_schema(database_url, schema);
    healthpipe::migrate::run(&url).await?;
    let tables: i64 = connect(&url)
        .await?
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'samples'",
            &[&schema],
        )
        .await?
        .get(0);
    anyhow::ensure!(tables == 1, "migrations did not create {schema}.samples");
    Ok(url)
}

pub async fn drop_schema(database_url: &str, schema: &str) -> Result<()> {
    connect(database_url)
        .await?
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await?;
    Ok(())
}
