//! Figures 5 and 6 under load: while the gateway takes a steady stream of syncs at a given
//! rate and the processor keeps up, probes measure freshness (the gateway's 200 → the new
//! value visible through the query API), query clients measure latency, and a bare Kafka
//! produce → consume round trip with the gateway's producer settings gives the transport's
//! own latency as the freshness baseline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use healthpipe_schemas::Topics;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

use super::env::Stack;
use super::load::{self, Request, Sent};
use super::population::Member;
use super::queries::{self, Latencies, Targets};

/// What one window measured.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub sent: Sent,
    pub freshness: Freshness,
    pub kafka_ms: Vec<f64>,
    pub queries: Latencies,
}

/// The freshness probes' users (time zone UTC, one device each) and the next free hour.
pub struct Probes {
    pub members: Vec<Member>,
    next_slot: Mutex<i64>,
    base: DateTime<Utc>,
}

impl Probes {
    pub fn new(members: Vec<Member>) -> Probes {
        let base = Utc::now()
            .duration_trunc(TimeDelta::hours(1))
            .expect("an hour divides time")
            - TimeDelta::hours(48);
        Probes {
            members,
            next_slot: Mutex::new(0),
            base,
        }
    }

    /// A fresh (member, hour) pair: each probe writes into an hour nobody wrote before.
    fn take(&self) -> (Member, DateTime<Utc>, i64) {
        let mut slot = self.next_slot.lock().expect("not poisoned");
        let k = *slot;
        *slot += 1;
        let member = self.members[k as usize % self.members.len()].clone();
        let round = k / self.members.len() as i64;
        (member, self.base - TimeDelta::hours(round), k)
    }
}

/// Runs the load at `rate` samples/s from `requests[first..]` for `duration`, with freshness
/// probes, the Kafka round trip and, if `queries` names targets and a number of clients, that
/// many query loops; returns what it measured and the index of the next unsent request.
#[allow(clippy::too_many_arguments)]
pub async fn window(
    http: &reqwest::Client,
    stack: &Stack,
    gateway: &str,
    rtt_prefix: &str,
    requests: Arc<Vec<Request>>,
    first: usize,
    rate: f64,
    duration: Duration,
    probes: Arc<Probes>,
    queries: Option<(Arc<Targets>, usize)>,
) -> Result<(Window, usize)> {
    let load = load::open_loop(http, gateway, requests, first, rate, duration, 256);
    let fresh = freshness(http, gateway, probes, duration);
    let kafka = kafka_round_trips(stack, rtt_prefix, duration);
    let query = async {
        match queries {
            Some((targets, clients)) => queries::run(http, targets, clients, duration).await,
            None => Ok(Latencies::default()),
        }
    };
    let (load, fresh, kafka, query) = tokio::join!(load, fresh, kafka, query);
    let (sent, next) = load?;
    Ok((
        Window {
            sent,
            freshness: fresh?,
            kafka_ms: kafka?,
            queries: query?,
        },
        next,
    ))
}

/// How long a probe may take to become visible before it counts as lost.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends a probe every 100 ms for `duration`; each probe is one STEPS sample in an hour
/// bucket of its own, polled through the query API after the 200 (every 20 ms for the first
/// second, then every 250 ms).
pub async fn freshness(
    http: &reqwest::Client,
    gateway: &str,
    probes: Arc<Probes>,
    duration: Duration,
) -> Result<Freshness> {
    let (results, skipped) = probe_every(
        Duration::from_millis(100),
        duration,
        MAX_PENDING_PROBES,
        || {
            let (member, hour, k) = probes.take();
            let (http, gateway) = (http.clone(), gateway.to_string());
            async move { probe(&http, &gateway, &member, hour, k).await }
        },
    )
    .await?;
    let mut out = Freshness {
        skipped,
        ..Freshness::default()
    };
    for result in results {
        match result {
            Some(latency) => out.ms.push(latency),
            None => out.lost += 1,
        }
    }
    Ok(out)
}

/// Starts a probe (`start()`) every `every` for `duration`, at most `max_pending` at once: a
/// tick that finds that many pending is skipped rather than piling up polls. Returns the
/// probes' results in the order they started, and how many ticks were skipped.
pub async fn probe_every<T, F, Fut>(
    every: Duration,
    duration: Duration,
    max_pending: usize,
    mut start: F,
) -> Result<(Vec<T>, usize)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let started = Instant::now();
    let pending = Arc::new(tokio::sync::Semaphore::new(max_pending));
    let mut tasks = Vec::new();
    let mut skipped = 0;
    let mut tick = tokio::time::interval(every);
    while started.elapsed() < duration {
        tick.tick().await;
        let Ok(permit) = pending.clone().try_acquire_owned() else {
            skipped += 1;
            continue;
        };
        let probe = start();
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            probe.await
        }));
    }
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await??);
    }
    Ok((results, skipped))
}

/// Probes that may wait for their value at once; while that many are pending (the processor
/// is at least 2 s behind), new probes are skipped rather than piling up polls.
const MAX_PENDING_PROBES: usize = 20;

/// Freshness probes of one window.
#[derive(Debug, Clone, Default)]
pub struct Freshness {
    /// Milliseconds from the 200 to the value being visible, per probe.
    pub ms: Vec<f64>,
    /// Probes not visible within the probe timeout.
    pub lost: usize,
    /// Probes not sent because `MAX_PENDING_PROBES` were pending.
    pub skipped: usize,
}

/// Posts a probe's sync `body` for the member's first device; when the gateway answered 200.
pub async fn sync_probe(
    http: &reqwest::Client,
    gateway: &str,
    member: &Member,
    body: String,
) -> Result<Instant> {
    let response = http
        .post(format!("{gateway}{}", member.sync_path(0)))
        .bearer_auth(&*member.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("probe sync answered {}", response.status());
    }
    response.bytes().await?;
    Ok(Instant::now())
}

async fn probe(
    http: &reqwest::Client,
    gateway: &str,
    member: &Member,
    hour: DateTime<Utc>,
    k: i64,
) -> Result<Option<f64>> {
    let value = 1_000 + k % 90_000;
    let start = hour + TimeDelta::minutes(10);
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let body = format!(
        r#"{{"samples":[{{"type":"STEPS","value":{value},"unit":"count","start_date":"{}","end_date":"{}"}}]}}"#,
        time(start),
        time(start + TimeDelta::minutes(1))
    );
    let acknowledged = sync_probe(http, gateway, member, body).await?;
    let url = format!(
        "{gateway}/api/v1/aggregates?type=STEPS&period=hour&from={}&to={}",
        time(hour),
        time(hour + TimeDelta::hours(1))
    );
    let seen = poll(http, &url, member, Some(Duration::from_secs(1)), |body| {
        body.as_array().is_some_and(|rows| {
            rows.iter()
                .any(|r| r["value"].as_f64() == Some(value as f64))
        })
    })
    .await?;
    Ok(seen.map(|at| (at - acknowledged).as_secs_f64() * 1e3))
}

/// GETs `url` as `member` every 20 ms until `seen` holds for the answer, every 250 ms once
/// `back_off_after` has passed (probes that wait for a processor that fell behind must not
/// add to its load); returns when the answer that showed it arrived, or `None` after
/// `PROBE_TIMEOUT`.
pub async fn poll(
    http: &reqwest::Client,
    url: &str,
    member: &Member,
    back_off_after: Option<Duration>,
    seen: impl Fn(&Value) -> bool,
) -> Result<Option<Instant>> {
    let started = Instant::now();
    while started.elapsed() < PROBE_TIMEOUT {
        let response = http.get(url).bearer_auth(&*member.token).send().await?;
        let at = Instant::now();
        let body: Value = response.json().await.unwrap_or_default();
        if seen(&body) {
            return Ok(Some(at));
        }
        let pause = match back_off_after {
            Some(after) if started.elapsed() >= after => 250,
            _ => 20,
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    Ok(None)
}

/// Produce → consume latency of small messages every 100 ms on a topic of its own.
async fn kafka_round_trips(stack: &Stack, prefix: &str, duration: Duration) -> Result<Vec<f64>> {
    let topic = Topics::with_prefix(prefix).user_events;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &stack.brokers)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("compression.type", "lz4")
        .set("linger.ms", "5")
        .create()?;
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &stack.brokers)
        .set(
            "group.id",
            format!("hp-bench-rtt-{}", uuid::Uuid::new_v4().simple()),
        )
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("fetch.wait.max.ms", "100")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::End)?;
    consumer.assign(&tpl)?;
    // Let the consumer resolve its start offset before the first probe.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let started = Instant::now();
    let receiver = {
        let sent = sent.clone();
        async move {
            let mut ms = Vec::new();
            loop {
                let message = match tokio::time::timeout(Duration::from_secs(2), consumer.recv())
                    .await
                {
                    Ok(m) => m?,
                    Err(_) if started.elapsed() > duration => return Ok::<_, anyhow::Error>(ms),
                    Err(_) => continue,
                };
                let at = Instant::now();
                let n: u64 = std::str::from_utf8(message.payload().unwrap_or_default())?
                    .parse()
                    .context("round-trip payload")?;
                if let Some(t) = sent.lock().expect("not poisoned").remove(&n) {
                    ms.push((at - t).as_secs_f64() * 1e3);
                }
            }
        }
    };
    let sender = async {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut n = 0u64;
        while started.elapsed() < duration {
            tick.tick().await;
            let payload = n.to_string();
            sent.lock().expect("not poisoned").insert(n, Instant::now());
            producer
                .send(
                    FutureRecord::to(&topic)
                        .partition(0)
                        .key("rtt")
                        .payload(&payload),
                    Timeout::After(Duration::from_secs(10)),
                )
                .await
                .map_err(|(e, _)| anyhow::anyhow!("round-trip produce: {e}"))?;
            n += 1;
        }
        Ok::<_, anyhow::Error>(())
    };
    let (ms, sent_ok) = tokio::join!(receiver, sender);
    sent_ok?;
    ms
}
