//! HTTP load on the gateway: prebuilt sync requests sent over keep-alive connections, either
//! as fast as the gateway answers (closed loop, for throughput) or on a fixed schedule (open
//! loop, for latency at a given rate).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use bytes::Bytes;
use tokio::sync::Semaphore;

use super::population::Member;
use super::workload::Upload;

/// A sync request ready to send.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub token: Arc<str>,
    pub body: Bytes,
    pub samples: usize,
}

/// The requests of `uploads`, addressed to the members' devices.
pub fn requests(uploads: &[Upload], members: &[Member]) -> Vec<Request> {
    uploads
        .iter()
        .map(|u| {
            let member = &members[u.user];
            Request {
                path: member.sync_path(u.device),
                token: member.token.clone(),
                body: u.body.clone(),
                samples: u.samples,
            }
        })
        .collect()
}

/// A client for the load: one keep-alive connection per concurrent sender.
pub fn client(connections: usize) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// What a load run achieved.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sent {
    pub seconds: f64,
    pub samples: u64,
    /// Requests answered 503 or 409 and sent again.
    pub retried: u64,
}

impl Sent {
    pub fn samples_per_second(&self) -> f64 {
        self.samples as f64 / self.seconds
    }
}

/// Sends every request with `clients` concurrent senders, each waiting for its answer
/// before the next request; 200 for each, 503s and 409s retried.
pub async fn closed_loop(
    http: &reqwest::Client,
    base: &str,
    requests: Arc<Vec<Request>>,
    clients: usize,
) -> Result<Sent> {
    let next = Arc::new(AtomicUsize::new(0));
    let retried = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, base, requests, next, retried) = (
            http.clone(),
            base.to_string(),
            requests.clone(),
            next.clone(),
            retried.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut samples = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i) else {
                    return Ok::<u64, anyhow::Error>(samples);
                };
                retried.fetch_add(send(&http, &base, request).await?, Ordering::Relaxed);
                samples += request.samples as u64;
            }
        }));
    }
    let mut samples = 0;
    for task in tasks {
        samples += task.await??;
    }
    Ok(Sent {
        seconds: started.elapsed().as_secs_f64(),
        samples,
        retried: retried.load(Ordering::Relaxed),
    })
}

/// Sends requests from `requests` in order so that samples go out at `rate` per second
/// (each request at its scheduled time, whatever earlier answers did), until `duration` has
/// passed or the requests run out; at most `in_flight` requests are outstanding.
pub async fn open_loop(
    http: &reqwest::Client,
    base: &str,
    requests: Arc<Vec<Request>>,
    first: usize,
    rate: f64,
    duration: Duration,
    in_flight: usize,
) -> Result<(Sent, usize)> {
    let permits = Arc::new(Semaphore::new(in_flight));
    let started = tokio::time::Instant::now();
    let mut due = 0.0f64;
    let mut tasks = Vec::new();
    let mut i = first;
    let mut samples = 0u64;
    while let Some(request) = requests.get(i) {
        let at = started + Duration::from_secs_f64(due / rate);
        if at - started >= duration {
            break;
        }
        tokio::time::sleep_until(at).await;
        let permit = permits.clone().acquire_owned().await?;
        let (http, base, requests) = (http.clone(), base.to_string(), requests.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            send(&http, &base, &requests[i]).await
        }));
        due += request.samples as f64;
        samples += request.samples as u64;
        i += 1;
    }
    let mut retried = 0;
    for task in tasks {
        retried += task.await??;
    }
    Ok((
        Sent {
            seconds: started.elapsed().as_secs_f64(),
            samples,
            retried,
        },
        i,
    ))
}

/// Posts one request until it is accepted; returns how many "retry later" answers it met.
async fn send(http: &reqwest::Client, base: &str, request: &Request) -> Result<u64> {
    let mut retries = 0;
    loop {
        let response = http
            .post(format!("{base}{}", request.path))
            .bearer_auth(&*request.token)
            .header("content-type", "application/json")
            .body(request.body.clone())
            .send()
            .await?;
        let status = response.status();
        if status.is_success() {
            // Read the (small) answer so the connection is reused; every sample must pass.
            let answer = response.bytes().await?;
            if !answer.windows(11).any(|w| w == br#""errors":0,"#) {
                bail!(
                    "the gateway rejected samples: {}",
                    String::from_utf8_lossy(&answer[..answer.len().min(300)])
                );
            }
            return Ok(retries);
        }
        let text = response.text().await.unwrap_or_default();
        // 503: Kafka or the registry is slow; 409: this request's retry arrived while the
        // original was still being appended. Both say "retry later".
        if matches!(status.as_u16(), 503 | 409) && retries < 50 {
            retries += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        bail!(
            "sync answered {status}: {}",
            text.chars().take(300).collect::<String>()
        );
    }
}
