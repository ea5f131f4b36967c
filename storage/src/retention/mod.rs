//! Removing what retention no longer keeps (the horizons are `healthpipe_domain::retention`'s;
//! the processors apply the same ones, so the projections stay a pure function of the log).
//!
//! Each kind of data goes in its own transaction, so a run interrupted half-way leaves every
//! table consistent and the next run finishes the job. Samples go by whole chunks where a chunk
//! lies entirely beyond the horizon (`drop_chunks`, no row-by-row delete), and row by row in the
//! chunk the horizon cuts; their index entries and sync versions go in the same transaction.
//! The day partials of days before the same horizon go next: a partial holds sums of sample
//! values and does not outlive them.

use chrono::{DateTime, TimeDelta, Utc};
use deadpool_postgres::{Client, GenericClient};
use healthpipe_domain::Horizons;

use crate::sql::{execute, query_one, Sql};
use crate::{statement, StoreError};

statement!(SAMPLES_COUNT, "retention_samples_count");
statement!(SAMPLES_INDEX, "retention_samples_index");
statement!(SAMPLES_CHUNKS, "retention_samples_chunks");
statement!(SAMPLES_DELETE, "retention_samples_delete");
statement!(DAY_PARTIALS_COUNT, "retention_day_partials_count");
statement!(DAY_PARTIALS_DELETE, "retention_day_partials_delete");
statement!(TOMBSTONES_COUNT, "retention_tombstones_count");
statement!(TOMBSTONES, "retention_tombstones");
statement!(HOURLY_COUNT, "retention_hourly_count");
statement!(HOURLY_DELETE, "retention_hourly_delete");
statement!(INSIGHTS_COUNT, "retention_insights_count");
statement!(INSIGHTS_DELETE, "retention_insights_delete");
statement!(ACKNOWLEDGEMENTS_COUNT, "retention_acknowledgements_count");
statement!(ACKNOWLEDGEMENTS_DELETE, "retention_acknowledgements_delete");
statement!(INSIGHT_INPUTS_COUNT, "retention_insight_inputs_count");
statement!(INSIGHT_INPUTS_DELETE, "retention_insight_inputs_delete");
statement!(SHARES_COUNT, "retention_shares_count");
statement!(SHARES_DELETE, "retention_shares_delete");
statement!(IDEMPOTENCY_COUNT, "retention_idempotency_count");
statement!(IDEMPOTENCY_DELETE, "retention_idempotency_delete");
statement!(SESSIONS_COUNT, "retention_sessions_count");
statement!(SESSIONS_DELETE, "retention_sessions_delete");
statement!(LICENSE, "retention_license");
statement!(SAMPLE_MONTHS, "retention_sample_months");

/// How long the gateway honours an idempotency key (it treats older ones as absent).
pub const IDEMPOTENCY_KEY_HOURS: i64 = 24;

/// What one kind of data lost (or would lose, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// The table (and what goes with it).
    pub what: &'static str,
    /// The rule, for the operator reading the report.
    pub rule: String,
    pub rows: u64,
}

/// Where the horizons cut, for one run.
#[derive(Debug, Clone, Copy)]
pub struct Cutoffs {
    pub horizons: Horizons,
    /// Samples are removed up to this instant only: the raw-data horizon, or earlier while the
    /// archive has not written the months before it yet.
    pub samples_until: DateTime<Utc>,
    /// The longest a sample may last: chunks ending this long before `samples_until` hold
    /// only samples that ended before it, and are dropped whole.
    pub longest_sample: TimeDelta,
    /// The current time, for the account tables (sessions, idempotency keys), which are not
    /// projections and follow the clock.
    pub now: DateTime<Utc>,
}

/// Whether the licensed TimescaleDB edition (with compression, the warm tier) runs.
pub async fn compression_available(client: &impl GenericClient) -> Result<bool, StoreError> {
    let edition: String = query_one(client, LICENSE, &[]).await?.get(0);
    Ok(edition == "timescale")
}

/// The (sample type, first day of the UTC month) of every sample beyond `horizon`: the
/// months an archive must hold before retention removes them.
pub async fn sample_months(
    client: &impl GenericClient,
    horizon: DateTime<Utc>,
) -> Result<Vec<(String, chrono::NaiveDate)>, StoreError> {
    Ok(crate::sql::query(client, SAMPLE_MONTHS, &[&horizon])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Counts what a run with `cutoffs` would remove, changing nothing.
pub async fn preview(client: &Client, cutoffs: &Cutoffs) -> Result<Vec<Removed>, StoreError> {
    let mut out = Vec::new();
    for rule in rules(cutoffs) {
        let rows = count(client, rule.count, rule.at).await?;
        out.push(Removed {
            what: rule.what,
            rule: rule.text,
            rows,
        });
    }
    Ok(out)
}

/// Removes everything beyond `cutoffs`, one kind of data per transaction.
pub async fn run(client: &mut Client, cutoffs: &Cutoffs) -> Result<Vec<Removed>, StoreError> {
    let mut out = Vec::new();
    for rule in rules(cutoffs) {
        let tx = client
            .transaction()
            .await
            .map_err(|e| StoreError::from_postgres("begin", &e))?;
        let rows = match rule.how {
            How::Samples => remove_samples(&tx, cutoffs).await?,
            How::WithAccessRecords => {
                execute(&tx, crate::sharing::access::ALLOW_REMOVAL, &[]).await?;
                count(&tx, rule.remove, rule.at).await?
            }
            How::Counting => count(&tx, rule.remove, rule.at).await?,
            How::Delete => execute(&tx, rule.remove, &[&rule.at]).await?,
        };
        tx.commit()
            .await
            .map_err(|e| StoreError::from_postgres("commit", &e))?;
        tracing::info!(what = rule.what, rows, "retention removed rows");
        out.push(Removed {
            what: rule.what,
            rule: rule.text,
            rows,
        });
    }
    Ok(out)
}

/// Samples with their index entries and sync versions: returns the samples removed.
async fn remove_samples(
    tx: &deadpool_postgres::Transaction<'_>,
    cutoffs: &Cutoffs,
) -> Result<u64, StoreError> {
    let until = cutoffs.samples_until;
    let samples = count(tx, SAMPLES_COUNT, until).await?;
    count(tx, SAMPLES_INDEX, until).await?;
    let whole_chunks_before = until - cutoffs.longest_sample;
    count(tx, SAMPLES_CHUNKS, whole_chunks_before).await?;
    execute(tx, SAMPLES_DELETE, &[&until]).await?;
    Ok(samples)
}

async fn count(
    client: &impl GenericClient,
    sql: Sql<'static>,
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let n: i64 = query_one(client, sql, &[&at]).await?.get(0);
    Ok(n.max(0) as u64)
}

/// One kind of data: how to count it and how to remove it, at which instant.
struct Rule {
    what: &'static str,
    text: String,
    at: DateTime<Utc>,
    count: Sql<'static>,
    remove: Sql<'static>,
    how: How,
}

/// How a rule's `remove` runs.
#[derive(Clone, Copy)]
enum How {
    /// A `DELETE`; the rows it changed are the count.
    Delete,
    /// A `WITH ... DELETE` answering the number of rows it removed.
    Counting,
    /// Counting, in a transaction that says it removes share access records.
    WithAccessRecords,
    /// [`remove_samples`].
    Samples,
}

fn rules(c: &Cutoffs) -> Vec<Rule> {
    let h = &c.horizons;
    let idempotency = c.now - TimeDelta::hours(IDEMPOTENCY_KEY_HOURS);
    let rule = |what, text: String, at, count, remove| Rule {
        what,
        text,
        at,
        count,
        remove,
        how: How::Delete,
    };
    vec![
        Rule {
            how: How::Samples,
            ..rule(
                "samples",
                format!("raw samples ending on or before {}", day(c.samples_until)),
                c.samples_until,
                SAMPLES_COUNT,
                SAMPLES_DELETE,
            )
        },
        // Days starting before the samples' horizon: their weeks and months are frozen, and
        // the partial would outlive the samples it sums.
        rule(
            "day partials",
            format!("partials of days starting before {}", day(c.samples_until)),
            c.samples_until,
            DAY_PARTIALS_COUNT,
            DAY_PARTIALS_DELETE,
        ),
        Rule {
            how: How::Counting,
            ..rule(
                "deleted-sample tombstones",
                format!("tombstones ending on or before {}", day(c.samples_until)),
                c.samples_until,
                TOMBSTONES_COUNT,
                TOMBSTONES,
            )
        },
        rule(
            "hourly aggregates",
            format!("hour buckets starting before {}", day(h.hourly)),
            h.hourly,
            HOURLY_COUNT,
            HOURLY_DELETE,
        ),
        rule(
            "insights",
            format!("insights last updated before {}", day(h.insights)),
            h.insights,
            INSIGHTS_COUNT,
            INSIGHTS_DELETE,
        ),
        rule(
            "insight acknowledgements",
            format!("acknowledged before {}", day(h.insights)),
            h.insights,
            ACKNOWLEDGEMENTS_COUNT,
            ACKNOWLEDGEMENTS_DELETE,
        ),
        rule(
            "insight inputs",
            format!("rule inputs of buckets before {}", day(h.insight_inputs)),
            h.insight_inputs,
            INSIGHT_INPUTS_COUNT,
            INSIGHT_INPUTS_DELETE,
        ),
        Rule {
            how: How::WithAccessRecords,
            ..rule(
                "share grants",
                format!(
                    "grants ended before {}, with their access records and links",
                    day(h.ended_shares)
                ),
                h.ended_shares,
                SHARES_COUNT,
                SHARES_DELETE,
            )
        },
        rule(
            "idempotency keys",
            format!("taken more than {IDEMPOTENCY_KEY_HOURS} hours ago"),
            idempotency,
            IDEMPOTENCY_COUNT,
            IDEMPOTENCY_DELETE,
        ),
        rule(
            "sessions",
            "expired".to_string(),
            c.now,
            SESSIONS_COUNT,
            SESSIONS_DELETE,
        ),
    ]
}

fn day(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
