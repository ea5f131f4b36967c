//! Figure 12: what one sample costs in storage, for sizing disks and partitions: bytes per
//! sample on the per-user topic (its log segments on disk, against the sum of its records'
//! keys, values and headers) and in each projection table (indexes and TOAST included) once
//! the main workload is applied, against the topic's record bytes per sample.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use healthpipe_storage::sql::query_one;
use rdkafka::message::{Headers, Message};
use serde_json::json;

use super::env::{connect, watermarks, Stack};
use super::gateway::assigned_consumer;
use super::report::{Figure, Report};

healthpipe_storage::statement!(TABLE_BYTES, "table_bytes");

/// The projection tables whose size grows with the samples.
const TABLES: [&str; 3] = ["samples", "sample_index", "aggregates"];

/// What the topic holds.
struct TopicBytes {
    /// Keys, values and headers of every record.
    records: u64,
    /// The partitions' `.log` segment files, when the broker's data folder is found.
    on_disk: Option<u64>,
}

/// Adds figures 12a–12e: `topic` holds `appended` samples, `database_url` stores `stored`.
pub async fn figure(
    stack: &Stack,
    report: &mut Report,
    topic: &str,
    appended: u64,
    database_url: &str,
    stored: u64,
) -> Result<()> {
    let bytes = topic_bytes(stack, topic).await?;
    let per_appended = |b: u64| b as f64 / appended.max(1) as f64;
    let record_bytes = per_appended(bytes.records);
    let mut topic_figure = Figure::new(
        "12a",
        "Storage: per-user topic, bytes per sample",
        "B/sample",
    )
    .extra("samples_appended", json!(appended))
    .extra("record_bytes", json!(bytes.records));
    topic_figure = match bytes.on_disk {
        Some(on_disk) => topic_figure
            .measured(
                &[per_appended(on_disk)],
                "sum of the records' keys, values and headers",
                &[record_bytes],
            )
            .extra("segment_bytes", json!(on_disk))
            .note("log segment files (.log) of every partition, replication factor 1"),
        None => topic_figure
            .measured(&[record_bytes], "", &[])
            .note("the broker's data folder was not found: the sum of the records only"),
    };
    report.add(topic_figure);

    let db = connect(database_url).await?;
    let mut total = 0u64;
    for (table, id) in TABLES.iter().zip(["12b", "12c", "12d"]) {
        let size: i64 = query_one(&db, TABLE_BYTES, &[table])
            .await
            .with_context(|| format!("size of {table}"))?
            .get(0);
        total += size as u64;
        report.add(table_figure(id, table, size as u64, stored, record_bytes));
    }
    report.add(table_figure(
        "12e",
        "all three tables",
        total,
        stored,
        record_bytes,
    ));
    Ok(())
}

fn table_figure(id: &str, table: &str, bytes: u64, stored: u64, topic: f64) -> Figure {
    Figure::new(
        id,
        format!("Storage: {table}, bytes per stored sample"),
        "B/sample",
    )
    .measured(
        &[bytes as f64 / stored.max(1) as f64],
        "per-user topic, record bytes per sample",
        &[topic],
    )
    .extra("bytes", json!(bytes))
    .extra("samples_stored", json!(stored))
    .note("indexes and TOAST included; duplicates removed by deduplication are not stored")
}

async fn topic_bytes(stack: &Stack, topic: &str) -> Result<TopicBytes> {
    Ok(TopicBytes {
        records: record_bytes(stack, topic).await?,
        on_disk: segment_bytes(&crate::checkout().join(".stack/data/kafka"), topic)?,
    })
}

/// Keys, values and headers of every record of `topic`, read from its start to its end.
async fn record_bytes(stack: &Stack, topic: &str) -> Result<u64> {
    let ends: Vec<(i32, i64)> = watermarks(&stack.brokers, topic)
        .await?
        .into_iter()
        .filter(|(_, end)| *end > 0)
        .collect();
    let consumer = assigned_consumer(stack, topic, &ends)?;
    let mut remaining: HashMap<i32, i64> = ends.into_iter().collect();
    let mut bytes = 0u64;
    while !remaining.is_empty() {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .context("no message within 30 s")??;
        let Some(&end) = remaining.get(&message.partition()) else {
            continue;
        };
        bytes += message.key().map_or(0, <[u8]>::len) as u64;
        bytes += message.payload().map_or(0, <[u8]>::len) as u64;
        if let Some(headers) = message.headers() {
            for header in headers.iter() {
                bytes += (header.key.len() + header.value.map_or(0, <[u8]>::len)) as u64;
            }
        }
        if message.offset() + 1 >= end {
            remaining.remove(&message.partition());
        }
    }
    Ok(bytes)
}

/// The `.log` segment files of `topic`'s partition folders (`<topic>-<n>`) under `data`;
/// `None` if `data` is not there.
fn segment_bytes(data: &Path, topic: &str) -> Result<Option<u64>> {
    let Ok(folders) = std::fs::read_dir(data) else {
        return Ok(None);
    };
    let mut bytes = 0u64;
    for folder in folders {
        let folder = folder?;
        let name = folder.file_name().to_string_lossy().into_owned();
        let partition = name
            .strip_prefix(topic)
            .and_then(|rest| rest.strip_prefix('-'));
        if partition.is_none_or(|p| p.parse::<u32>().is_err()) {
            continue;
        }
        for file in std::fs::read_dir(folder.path())? {
            let file = file?;
            if file.path().extension().is_some_and(|e| e == "log") {
                bytes += file.metadata()?.len();
            }
        }
    }
    Ok(Some(bytes))
}
