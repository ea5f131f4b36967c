//! Prometheus metrics of the processors: `healthpipe_processor_<name>_<unit>[_total]`.

use std::sync::LazyLock;

use prometheus::{register_histogram, register_int_counter_vec, Histogram, IntCounterVec};

pub static MESSAGES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "healthpipe_processor_messages_total",
        "Messages handled, by outcome: applied, skipped (already applied), dead_lettered.",
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

pub static RETRIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "healthpipe_processor_retries_total",
        "Batches retried after a retryable failure, by cause.",
        &["cause"]
    )
    .expect("metric registers once")
});
