//! Metrics of the Kafka clients, in the process's default registry (each service's
//! `/metrics` serves them), labelled by the client's name (`gateway`, `derived-events`,
//! `dead-letters`, `consumer`).

use std::sync::LazyLock;

use prometheus::{register_int_counter_vec, register_int_gauge_vec, IntCounterVec, IntGaugeVec};

pub static REPLACEMENTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "healthpipe_kafka_client_replacements_total",
        "Kafka clients replaced because they made no progress for the stall window.",
        &["client"]
    )
    .expect("metric registers once")
});

pub static STALL_SECONDS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "healthpipe_kafka_client_stall_seconds",
        "How long a Kafka client has gone without progress, in seconds (0 while it progresses).",
        &["client"]
    )
    .expect("metric registers once")
});
