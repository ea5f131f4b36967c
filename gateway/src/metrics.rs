//! Prometheus metrics of the gateway: `healthpipe_gateway_<name>_<unit>[_total]`, label
//! values bounded (route names from the route table, status codes, rejection reasons).

use std::sync::LazyLock;

use prometheus::{
    register_histogram, register_histogram_vec, register_int_counter_vec, register_int_gauge,
    Encoder, Histogram, HistogramVec, IntCounterVec, IntGauge, TextEncoder,
};

pub static REQUEST_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "healthpipe_gateway_request_duration_seconds",
        "HTTP request latency by route and status.",
        &["route", "status"]
    )
    .expect("metric registers once")
});

pub static IN_FLIGHT: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "healthpipe_gateway_requests_in_flight",
        "HTTP requests being served."
    )
    .expect("metric registers once")
});

/// `outcome`: `accepted`, or why a sample was rejected: a `ValidationError::code()` of the domain
/// (`unknown_type`, `unknown_unit`, `value_not_finite`, `value_out_of_range`,
/// `end_before_start`, `end_in_future`, `start_too_early`, `beyond_retention`, `duration_too_long`) or one of the
/// gateway's own (`malformed_sample`, `invalid_id`, `invalid_sync_version`, `invalid_text`,
/// `text_too_long`).
pub static SAMPLES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "healthpipe_gateway_samples_total",
        "Samples received, by outcome (accepted, or the rejection reason's stable code).",
        &["outcome"]
    )
    .expect("metric registers once")
});

pub static PRODUCE_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "healthpipe_gateway_kafka_produce_duration_seconds",
        "Time from handing a request's events to Kafka until every acknowledgement arrived."
    )
    .expect("metric registers once")
});

/// The Prometheus text exposition of every registered metric.
pub fn render() -> String {
    let mut buffer = Vec::new();
    TextEncoder::new()
        .encode(&prometheus::gather(), &mut buffer)
        .expect("text encoding cannot fail");
    String::from_utf8(buffer).expect("prometheus text is UTF-8")
}
