//! Prometheus metrics of the processors: `healthpipe_processor_<name>_<unit>[_total]`.

use std::sync::LazyLock;

use prometheus::{
    register_histogram, register_int_counter, register_int_counter_vec, register_int_gauge,
    register_int_gauge_vec, Histogram, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
};

pub static MESSAGES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "healthpipe_processor_messages_total",
        "Messages handled, by outcome: applied, skipped (already applied), ignored (not this processor's), dead_lettered, abandoned (their partition moved to another instance while the batch was being collected).",
        &["outcome"]
    )
    .expect("metric registers once")
});

pub static BATCH_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "healthpipe_processor_batch_duration_seconds",
        "Time to apply one batch in one transaction."
    )
    .expect("metric registers once")
});

pub static BATCH_MESSAGES: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "healthpipe_processor_batch_messages",
        "Messages in one applied batch (its transaction), skipped ones included.",
        vec![1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0]
    )
    .expect("metric registers once")
});

pub static LAG: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "healthpipe_processor_lag_messages",
        "Per partition this instance holds: the log end offset (the high watermark its \
         consumer last saw, refreshed every second) minus the next offset it will apply. A \
         partition's series goes when the partition moves to another instance.",
        &["topic", "partition"]
    )
    .expect("metric registers once")
});

pub static PARTITIONS_ASSIGNED: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "healthpipe_processor_partitions_assigned",
        "Partitions of its topics the group gave this instance (0 for an idle spare: more \
         instances than partitions)."
    )
    .expect("metric registers once")
});

pub static RETRIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "healthpipe_processor_retries_total",
        "Batches retried after a retryable failure, by cause.",
        &["cause"]
    )
    .expect("metric registers once")
});

pub static PARTITIONS_STOPPED: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "healthpipe_processor_partitions_stopped",
        "Partitions this instance stopped at a message that violates a constraint or panics \
         (a bug, not bad input): readiness fails while any is stopped."
    )
    .expect("metric registers once")
});

pub static BATCHES_SPLIT: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "healthpipe_processor_batches_split_total",
        "Batches split in two to find the one message the database rejected."
    )
    .expect("metric registers once")
});

pub static PANICS: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "healthpipe_processor_panics_total",
        "Panics caught while applying a batch (each stops the offending partition)."
    )
    .expect("metric registers once")
});

pub static RECOMPUTE_ROWS_LOADED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "healthpipe_processor_recompute_rows_loaded_total",
        "Stored samples and day partials read back to recompute the aggregate buckets a batch touched."
    )
    .expect("metric registers once")
});

pub static RECOMPUTE_ROWS_WRITTEN: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "healthpipe_processor_recompute_rows_written_total",
        "Aggregate rows written by recomputation (each replaces the stored row of its bucket)."
    )
    .expect("metric registers once")
});

pub static CHANGES_PUBLISHED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "healthpipe_processor_aggregate_changes_published_total",
        "AggregatesUpdated events published (one or more per user and batch with changed buckets)."
    )
    .expect("metric registers once")
});

pub static INSIGHTS_PUBLISHED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "healthpipe_processor_insights_published_total",
        "Insight versions published, by status (active, resolved).",
        &["status"]
    )
    .expect("metric registers once")
});

pub static TICKS_PUBLISHED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "healthpipe_processor_day_ticks_published_total",
        "Day ticks published for users whose local day turned."
    )
    .expect("metric registers once")
});

/// Registers every metric at zero, with each label value the runtime uses, when the processor
/// starts: a series that first appears at the first failure shows as no data rather than 0
/// on a dashboard, and `rate()` misses that first increment.
pub fn init() {
    for outcome in [
        "applied",
        "skipped",
        "ignored",
        "erased",
        "dead_lettered",
        "abandoned",
    ] {
        MESSAGES.with_label_values(&[outcome]);
    }
    for cause in ["database", "registry", "kafka", "assignment"] {
        RETRIES.with_label_values(&[cause]);
    }
    LazyLock::force(&BATCH_SECONDS);
    LazyLock::force(&BATCH_MESSAGES);
    LazyLock::force(&LAG);
    LazyLock::force(&PARTITIONS_ASSIGNED);
    LazyLock::force(&PARTITIONS_STOPPED);
    LazyLock::force(&BATCHES_SPLIT);
    LazyLock::force(&PANICS);
}

/// The Prometheus text exposition of every registered metric.
pub fn render() -> String {
    use prometheus::Encoder;
    let mut buffer = Vec::new();
    prometheus::TextEncoder::new()
        .encode(&prometheus::gather(), &mut buffer)
        .expect("text encoding cannot fail");
    String::from_utf8(buffer).expect("prometheus text is UTF-8")
}

/// What readiness is made of: no partition stopped, and the consumer in its group (not out
/// of it for the stall window).
pub struct Readiness {
    pub partitions: std::sync::Arc<crate::runtime::Partitions>,
    pub group: std::sync::Arc<healthpipe_eventlog::GroupHealth>,
    pub stall_timeout: std::time::Duration,
}

impl Readiness {
    fn report(&self) -> (bool, serde_json::Value) {
        let stopped = self.partitions.stopped();
        let stalled_secs = self.group.stalled_for().map(|d| d.as_secs());
        let in_group = !self.group.exceeds(self.stall_timeout);
        let ready = stopped.is_empty() && in_group;
        let body = serde_json::json!({
            "ready": ready,
            "stopped_partitions": stopped,
            "consumer_group": {"in_group": in_group, "out_of_group_secs": stalled_secs},
        });
        (ready, body)
    }
}

/// Serves `GET /metrics` (for Prometheus), `GET /healthz` (the process runs) and
/// `GET /readyz` (503 while a partition is stopped or the consumer has been out of its group
/// for the stall window) on `addr` until `shutdown` is cancelled.
pub async fn serve(
    addr: std::net::SocketAddr,
    readiness: Readiness,
    shutdown: tokio_util::sync::CancellationToken,
) {
    use warp::Filter;
    let readiness = std::sync::Arc::new(readiness);
    let metrics = warp::path!("metrics").map(render);
    let healthz = warp::path!("healthz").map(|| String::from("ok"));
    let readyz = warp::path!("readyz").map(move || {
        let (ready, body) = readiness.report();
        let status = if ready {
            warp::http::StatusCode::OK
        } else {
            warp::http::StatusCode::SERVICE_UNAVAILABLE
        };
        warp::reply::with_status(warp::reply::json(&body), status)
    });
    let routes = warp::get().and(metrics.or(healthz).or(readyz));
    match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => {
            tracing::info!(%addr, "metrics and health listening");
            warp::serve(routes)
                .incoming(listener)
                .graceful(shutdown.cancelled_owned())
                .run()
                .await;
        }
        Err(e) => tracing::error!(%addr, error = %e, "cannot serve metrics"),
    }
}
