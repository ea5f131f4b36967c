//! `k8s/grafana-dashboard.json` is an importable Grafana dashboard whose every query reads
//! metrics the services really export: its PromQL is parsed, the metric names it selects are
//! collected (a histogram's `_bucket`, `_sum` and `_count` count as the histogram), and a
//! real gateway and both processors, run as the binary after a little traffic, must export
//! each one on their `/metrics`.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::metrics::Scrape;
use common::services::Service;
use common::*;
use promql_parser::parser::{self, Expr};
use promql_parser::util::{walk_expr, ExprVisitor};
use serde_json::{json, Value};

fn dashboard() -> Value {
    let path = repo_root().join("k8s/grafana-dashboard.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every panel, those inside collapsed rows too.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        out.push(panel);
        if let Some(inner) = panel["panels"].as_array() {
            out.extend(inner);
        }
    }
    out
}

/// Each query's PromQL with Grafana's interval variables replaced, so it parses as PromQL.
fn expressions(dashboard: &Value) -> Vec<(String, String)> {
    panels(dashboard)
        .into_iter()
        .flat_map(|panel| {
            let title = panel["title"].as_str().unwrap_or("?").to_string();
            panel["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(move |t| Some((title.clone(), t["expr"].as_str()?.to_string())))
        })
        .map(|(title, expr)| {
            let expr = ["$__rate_interval", "$__interval", "$__range"]
                .iter()
                .fold(expr, |e, var| e.replace(var, "5m"));
            (title, expr)
        })
        .collect()
}

/// The metric names an expression selects.
struct Selected(BTreeSet<String>);

impl ExprVisitor for Selected {
    type Error = String;

    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, String> {
        let selector = match expr {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &ms.vs,
            _ => return Ok(true),
        };
        let name = selector.name.clone().or_else(|| {
            selector
                .matchers
                .matchers
                .iter()
                .find(|m| m.name == "__name__")
                .map(|m| m.value.clone())
        });
        match name {
            Some(name) => {
                self.0.insert(name);
                Ok(true)
            }
            None => Err(format!("a selector without a metric name: {selector}")),
        }
    }
}

fn selected(expr: &str) -> BTreeSet<String> {
    let parsed = parser::parse(expr).unwrap_or_else(|e| panic!("not PromQL: {expr}: {e}"));
    let mut names = Selected(BTreeSet::new());
    walk_expr(&mut names, &parsed).unwrap_or_else(|e| panic!("{expr}: {e}"));
    names.0
}

/// A queried name as the family the services export: `x_bucket`, `x_sum` and `x_count` of a
/// histogram `x` are `x`.
fn family(name: &str, histograms: &BTreeSet<String>) -> String {
    ["_bucket", "_sum", "_count"]
        .iter()
        .filter_map(|suffix| name.strip_suffix(suffix))
        .find(|base| histograms.contains(*base))
        .unwrap_or(name)
        .to_string()
}

#[test]
fn the_dashboard_is_importable_and_reads_prometheus_through_its_variable() {
    let dashboard = dashboard();
    assert!(
        dashboard["schemaVersion"].as_i64().unwrap_or(0) >= 39,
        "schemaVersion"
    );
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("templating");
    assert!(
        variables.iter().any(|v| v["name"] == "DS_PROMETHEUS"
            && v["type"] == "datasource"
            && v["query"] == "prometheus"),
        "no Prometheus datasource variable DS_PROMETHEUS"
    );
    let mut ids = BTreeSet::new();
    for panel in panels(&dashboard) {
        let title = panel["title"].as_str().unwrap_or("?");
        assert!(
            ids.insert(panel["id"].as_i64().expect("panel id")),
            "{title}: id twice"
        );
        if panel["type"] == "row" {
            continue;
        }
        let targets = panel["targets"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        assert!(!targets.is_empty(), "{title}: no query");
        for source in
            std::iter::once(&panel["datasource"]).chain(targets.iter().map(|t| &t["datasource"]))
        {
            assert_eq!(
                source,
                &json!({"type": "prometheus", "uid": "${DS_PROMETHEUS}"}),
                "{title}: not the Prometheus variable"
            );
        }
    }
    let queried: BTreeSet<String> = expressions(&dashboard)
        .iter()
        .flat_map(|(_, e)| selected(e))
        .collect();
    for wanted in [
        "healthpipe_gateway_request_duration_seconds_count",
        "healthpipe_gateway_request_duration_seconds_bucket",
        "healthpipe_gateway_samples_total",
        "healthpipe_gateway_kafka_produce_duration_seconds_bucket",
        "healthpipe_processor_lag_messages",
        "healthpipe_processor_messages_total",
        "healthpipe_processor_batch_messages_bucket",
        "healthpipe_processor_batch_duration_seconds_bucket",
        "healthpipe_processor_retries_total",
        "healthpipe_processor_partitions_assigned",
        "healthpipe_processor_partitions_stopped",
    ] {
        assert!(queried.contains(wanted), "no panel queries {wanted}");
    }
}

#[test]
fn metric_names_are_found_through_functions_matchers_and_operators() {
    let names = selected(
        "sum by (le) (rate(a_bucket{x=\"1\"}[5m])) / on() group_left sum(b) \
         + histogram_quantile(0.9, {__name__=\"c\"}) * count_over_time(d[1h:1m])",
    );
    assert_eq!(
        names,
        ["a_bucket", "b", "c", "d"].map(String::from).into(),
        "{names:?}"
    );
    let histograms: BTreeSet<String> = ["a".to_string()].into();
    assert_eq!(family("a_bucket", &histograms), "a");
    assert_eq!(family("a_count", &histograms), "a");
    assert_eq!(family("x_count", &histograms), "x_count", "not a histogram");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_metric_the_dashboard_queries_is_exported_by_a_service() {
    let dashboard = dashboard();
    let mut pipeline = Pipeline::without_services(&stack().kafka_brokers).await;
    let logs = std::env::temp_dir().join(format!("hp-dashboard-{}", pipeline.topic_prefix));
    std::fs::create_dir_all(&logs).expect("log folder");
    let gateway = Service::gateway(&pipeline, &logs, 30);
    pipeline.base_url = gateway.url.clone();
    let aggregation = Service::processor(&pipeline, "aggregation", 1, &logs, 30);
    let insights = Service::processor(&pipeline, "insights", 1, &logs, 30);
    for service in [&gateway, &aggregation, &insights] {
        service.wait_healthy(&pipeline.http).await;
    }

    // A little traffic: a user, a device, a sync with an accepted and a rejected sample.
    let user = pipeline.new_user("Europe/Berlin").await;
    let device = user.device("apple_watch", "dashboard-watch").await;
    let response = user
        .post(
            &format!("/api/v1/devices/{device}/sync"),
            json!({"samples": [
                {"type": "STEPS", "value": 420.0, "unit": "count",
                 "start_date": "2026-11-02T08:00:00Z", "end_date": "2026-11-02T08:10:00Z"},
                {"type": "STEPS", "value": 1.0, "unit": "count",
                 "start_date": "2026-11-02T09:00:00Z", "end_date": "2026-11-02T08:00:00Z"},
            ]}),
        )
        .await;
    assert_eq!(response.status(), 200, "sync");
    pipeline.settle().await;

    // The processors' lag series come with their consumers' statistics, every second.
    let deadline = Instant::now() + Duration::from_secs(20);
    let scrapes: Vec<Scrape> = loop {
        let scrapes = vec![
            gateway.metrics(&pipeline.http).await,
            aggregation.metrics(&pipeline.http).await,
            insights.metrics(&pipeline.http).await,
        ];
        let lagged = scrapes[1..].iter().all(|s| {
            s.series("healthpipe_processor_lag_messages")
                .next()
                .is_some()
        });
        if lagged {
            break scrapes;
        }
        assert!(
            Instant::now() < deadline,
            "no processor lag series within 20 s; logs in {}",
            logs.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let exported: BTreeSet<String> = scrapes.iter().flat_map(Scrape::exported).collect();
    let histograms: BTreeSet<String> = scrapes
        .iter()
        .flat_map(|s| s.families.iter())
        .filter(|(_, kind)| *kind == "histogram")
        .map(|(name, _)| name.clone())
        .collect();

    let mut missing = Vec::new();
    for (title, expr) in expressions(&dashboard) {
        for name in selected(&expr) {
            let family = family(&name, &histograms);
            if !exported.contains(&family) {
                missing.push(format!("{family} (panel \"{title}\")"));
            }
        }
    }
    missing.dedup();
    assert!(
        missing.is_empty(),
        "the dashboard queries metrics no service exports:\n  {}\nexported: {exported:?}",
        missing.join("\n  ")
    );
    let _ = std::fs::remove_dir_all(&logs);
}
