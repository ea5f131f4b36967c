//! `healthpipe demo`: the whole pipeline on the local stack with demo data. It starts a
//! gateway (with the web page) and the processors in this process, signs up demo users (or
//! signs them in again: a second run re-sends the same data, which changes nothing), syncs
//! their devices' samples over HTTP exactly as phones would, imports a real Apple Health
//! export through the import API, waits until the processors have caught up with the log,
//! and prints each user's daily totals as the query API returns them, next to what a naive
//! sum of the raw samples would have claimed; then one of them shares a few days with a
//! clinician (see `demo_sharing`). The services keep running, the page at the printed
//! address, until Ctrl-C.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use chrono::{Datelike, NaiveDate, Utc};
use healthpipe_schemas::Topics;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::workload::{generate, UserSpec};

/// Samples per sync request (the gateway accepts up to 10,000).
const SYNC_CHUNK: usize = 2_000;

/// A demo user: a name, a zone, the devices with what they recorded, and the local days
/// worth showing.
pub struct DemoUser {
    pub name: String,
    pub timezone: String,
    pub devices: Vec<DemoDevice>,
    pub days: Vec<NaiveDate>,
}

/// A device as its registration body, with its samples as sync JSON.
pub struct DemoDevice {
    pub device_type: String,
    pub name: String,
    pub identifier: String,
    pub samples: Vec<Value>,
}

/// The demo's options and the local stack it runs on (`scripts/stack up && . .stack/env`).
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Days of history to generate per demo user.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// The stack's PostgreSQL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true,
          value_parser = healthpipe_config::database_url)]
    pub database_url: String,
    /// The stack's Kafka.
    #[arg(long, env = "KAFKA_BROKERS")]
    pub kafka_brokers: String,
    /// The stack's schema registry.
    #[arg(long, env = "SCHEMA_REGISTRY_URL")]
    pub registry_url: String,
    /// Prefix of the topic names.
    #[arg(long, env = "TOPIC_PREFIX", default_value = "healthpipe")]
    pub topic_prefix: String,
    /// The directory holding `apple-health/hkimport_export.xml`, the real export shown next
    /// to the generated users [default: `../shared/real-data` of the checkout].
    #[arg(long, env = "HEALTHPIPE_REAL_DATA")]
    pub real_data: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub keys: healthpipe_config::KeySettings,
    /// Where the gateway and its web page listen (another free port if this one is taken).
    #[arg(long, env = "DEMO_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// Stop once everything is printed instead of serving the page until Ctrl-C.
    #[arg(long)]
    pub exit: bool,
}

/// The demo accounts' password (demo data only: printed to sign in to the page with).
const PASSWORD: &str = "demo password 1234";
/// The real export shown next to the generated users.
const REAL_EXPORT: &str = "apple-health/hkimport_export.xml";

pub async fn run(args: DemoArgs) -> Result<()> {
    let DemoArgs {
        days,
        database_url,
        kafka_brokers: brokers,
        registry_url,
        topic_prefix: prefix,
        real_data,
        keys,
        addr,
        exit,
    } = args;

    let real = real_data
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/real-data").into())
        .join(REAL_EXPORT);
    let export = std::fs::read(&real).with_context(|| format!("{}", real.display()))?;
    let parsed = healthpipe_importer::import_apple_health(export.as_slice())?;
    keep_years_of(&parsed);

    healthpipe_storage::migrations::run(&database_url).await?;
    crate::topics::ensure(&brokers, &Topics::with_prefix(&prefix), &Default::default()).await?;

    let shutdown = CancellationToken::new();
    let gateway_url = start_gateway(
        addr,
        &database_url,
        &brokers,
        &registry_url,
        &prefix,
        &keys,
        &shutdown,
    )
    .await?;
    let processor = healthpipe_processors::ProcessorConfig {
        database_url: database_url.clone(),
        kafka_brokers: brokers.clone(),
        registry_url: registry_url.clone(),
        topics: Topics::with_prefix(&prefix),
        kafka_stall_timeout: Duration::from_secs(30),
        group_id: "healthpipe-aggregation".into(),
        batch_max_messages: 500,
        batch_max_wait: Duration::from_millis(100),
        batch_lanes: 3,
        metrics_addr: None,
        tick_interval: None,
        announce_changes: true,
        keys,
        key_store_url: None,
        retention_day: None,
        kafka_security: Default::default(),
    };
    let insights = healthpipe_processors::ProcessorConfig {
        group_id: "healthpipe-insights".into(),
        ..processor.clone()
    };
    let processor_task = tokio::spawn(healthpipe_processors::run_aggregation(
        processor,
        shutdown.child_token(),
    ));
    let insights_task = tokio::spawn(healthpipe_processors::run_insights(
        insights,
        shutdown.child_token(),
    ));

    // Whole days that ended before yesterday, so no sample (a night's sleep) lies in the future.
    let first_day = (Utc::now() - chrono::Duration::days(i64::from(days) + 1)).date_naive();
    let users = demo_users(first_day, days);
    let client = reqwest::Client::new();
    let mut sessions = Vec::new();
    for user in &users {
        let total: usize = user.devices.iter().map(|d| d.samples.len()).sum();
        println!(
            "syncing {total} samples of {} from {} devices ...",
            user.name,
            user.devices.len()
        );
        sessions.push(sync_user(&client, &gateway_url, user).await?);
    }
    let tom = import_user(&client, &gateway_url, export, &parsed).await?;
    println!("waiting for the aggregation processor to catch up with the log ...");
    crate::progress::wait_until_caught_up(
        &database_url,
        &brokers,
        &Topics::with_prefix(&prefix).user_events,
        "healthpipe-aggregation",
        Duration::from_secs(300),
    )
    .await?;
    println!("waiting for the insights processor ...");
    crate::progress::wait_until_caught_up(
        &database_url,
        &brokers,
        &Topics::with_prefix(&prefix).aggregates_updated,
        "healthpipe-insights",
        Duration::from_secs(300),
    )
    .await?;

    for (user, token) in users.iter().zip(&sessions) {
        print_user(&client, &gateway_url, &database_url, user, token).await?;
    }
    print_user(&client, &gateway_url, &database_url, &tom.user, &tom.token).await?;
    if let (Some(user), Some(token)) = (users.first(), sessions.first()) {
        crate::demo_sharing::run(crate::demo_sharing::Scene {
            client: &client,
            base: &gateway_url,
            database_url: &database_url,
            owner_token: token,
            owner_name: &user.name,
            timezone: &user.timezone,
            days: &user.days,
        })
        .await?;
    }
    print_page(&gateway_url, &users, &tom);
    if !exit {
        tokio::signal::ctrl_c().await?;
        println!("stopping ...");
    }
    shutdown.cancel();
    processor_task.await.context("processor task")??;
    insights_task.await.context("insights task")??;
    Ok(())
}

fn demo_users(first_day: NaiveDate, days: u32) -> Vec<DemoUser> {
    [
        ("Ana", "Europe/Berlin", 11),
        ("Ben", "America/New_York", 12),
    ]
    .into_iter()
    .map(|(name, tz, seed)| DemoUser {
        name: name.to_string(),
        timezone: tz.to_string(),
        devices: generate(&UserSpec {
            seed,
            timezone: tz.parse().expect("known zone"),
            first_day,
            days,
            heart_rate_every_minutes: 5,
        })
        .into_iter()
        .map(|d| DemoDevice {
            device_type: d.device_type.to_string(),
            name: d.identifier.clone(),
            identifier: d.identifier,
            samples: d.samples,
        })
        .collect(),
        days: (0..days)
            .map(|d| first_day + chrono::Duration::days(d.into()))
            .collect(),
    })
    .collect()
}

/// A demo user imported from a real Apple Health export, and their session.
struct Imported {
    user: DemoUser,
    email: String,
    token: String,
}

/// A real person's Apple Health export of 2017 (iPhone and a Garmin that overlap on some
/// days), imported through `POST /api/v1/imports/apple-health` as a user would upload it.
/// Shows the seven days on which two devices counted steps, where deduplication matters.
/// The export is older than the seven years of raw samples kept by default, so the demo
/// keeps as many years as it needs (what `RETENTION_SAMPLE_YEARS` sets for a deployment).
async fn import_user(
    client: &reqwest::Client,
    base: &str,
    body: Vec<u8>,
    parsed: &healthpipe_importer::Import,
) -> Result<Imported> {
    let tz: chrono_tz::Tz = chrono_tz::Europe::Berlin;
    let mut user = DemoUser {
        name: "Tom".into(),
        timezone: tz.name().to_string(),
        devices: Vec::new(),
        days: overlap_days(parsed, tz),
    };
    let email = demo_email(&user.name);
    let token = account(client, base, &user).await?;
    println!(
        "importing Tom's real Apple Health export of 2017 ({} KB) through the import API ...",
        body.len() >> 10
    );
    let started = expect_ok(
        client
            .post(format!("{base}/api/v1/imports/apple-health"))
            .bearer_auth(&token)
            .header("content-type", "application/xml")
            .body(body)
            .send()
            .await?,
    )
    .await?;
    let id = started["id"].as_str().context("import id")?;
    let report = loop {
        let import = expect_ok(
            client
                .get(format!("{base}/api/v1/imports/{id}"))
                .bearer_auth(&token)
                .send()
                .await?,
        )
        .await?;
        match import["status"].as_str() {
            Some("running") => tokio::time::sleep(Duration::from_millis(250)).await,
            Some("completed") => break import["report"].clone(),
            _ => bail!("the import failed: {}", import["error"]),
        }
    };
    print_import(&report);
    user.devices = report["devices"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|d| DemoDevice {
            device_type: d["device_type"].as_str().unwrap_or_default().to_string(),
            name: d["name"].as_str().unwrap_or_default().to_string(),
            identifier: String::new(),
            samples: Vec::new(),
        })
        .collect();
    Ok(Imported { user, email, token })
}

/// Keeps, in this process, as many years of samples as the export needs (at least the
/// configured years).
fn keep_years_of(export: &healthpipe_importer::Import) {
    use healthpipe_domain::retention;
    let Some(oldest) = export.samples().map(|(_, s)| s.end_date).min() else {
        return;
    };
    let needed = u32::try_from(Utc::now().year() - oldest.year() + 1).unwrap_or(1);
    if needed > retention::sample_years() {
        retention::keep_samples_for_years(needed);
        println!(
            "keeping {needed} years of samples (RETENTION_SAMPLE_YEARS) so that the export of {} is kept",
            oldest.year()
        );
    }
}

/// The last seven local days on which more than one device counted steps.
fn overlap_days(import: &healthpipe_importer::Import, tz: chrono_tz::Tz) -> Vec<NaiveDate> {
    let mut step_devices: BTreeMap<NaiveDate, BTreeSet<&str>> = BTreeMap::new();
    for (device, sample) in import.samples().filter(|(_, s)| s.sample_type == "STEPS") {
        step_devices
            .entry(sample.start_date.with_timezone(&tz).date_naive())
            .or_default()
            .insert(&device.device_identifier);
    }
    let mut days: Vec<NaiveDate> = step_devices
        .iter()
        .filter(|(_, devices)| devices.len() > 1)
        .map(|(day, _)| *day)
        .collect();
    days.split_off(days.len().saturating_sub(7))
}

/// The import's report, in a few lines.
fn print_import(report: &Value) {
    let n = |k: &str| report[k].as_u64().unwrap_or(0);
    let sum = |k: &str| {
        report[k]
            .as_object()
            .map_or(0, |m| m.values().filter_map(Value::as_u64).sum::<u64>())
    };
    println!(
        "  {} records: {} imported, {} duplicates, {} rejected, {} of types not imported, {} with nothing to import",
        n("records"),
        n("imported"),
        n("duplicates"),
        sum("rejected"),
        sum("unmapped_types"),
        sum("not_imported")
    );
    for d in report["devices"].as_array().into_iter().flatten() {
        println!(
            "  device {:>4}  {} [{}], {} samples",
            d["priority"],
            d["name"].as_str().unwrap_or(""),
            d["device_type"].as_str().unwrap_or(""),
            d["samples"]
        );
    }
    for t in report["types"].as_array().into_iter().flatten() {
        if let (Some(naive), Some(dedup)) =
            (t["naive_sum"].as_f64(), t["deduplicated_total"].as_f64())
        {
            println!(
                "  {}: {:.0} {} deduplicated; every device added up would say {:.0}",
                t["type"].as_str().unwrap_or(""),
                dedup,
                t["unit"].as_str().unwrap_or(""),
                naive
            );
        }
    }
}

/// Where to look: the page, the accounts to sign in with, and Tom's October 2017.
fn print_page(base: &str, users: &[DemoUser], tom: &Imported) {
    println!();
    println!("The web page: {base}/");
    for user in users {
        println!(
            "  sign in as {} (password \"{PASSWORD}\")",
            demo_email(&user.name)
        );
    }
    println!(
        "  sign in as {} (password \"{PASSWORD}\") for the imported export, then",
        tom.email
    );
    if let (Some(first), Some(last)) = (tom.user.days.first(), tom.user.days.last()) {
        println!(
            "  {base}/#charts?period=day&from={first}&to={}",
            *last + chrono::Duration::days(1)
        );
    }
}

async fn start_gateway(
    addr: std::net::SocketAddr,
    database_url: &str,
    brokers: &str,
    registry_url: &str,
    prefix: &str,
    keys: &healthpipe_config::KeySettings,
    shutdown: &CancellationToken,
) -> Result<String> {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            println!("({addr} is not free: {e}; taking another port)");
            tokio::net::TcpListener::bind((addr.ip(), 0)).await?
        }
    };
    let addr = listener.local_addr()?;
    let config = healthpipe_gateway::GatewayConfig {
        addr,
        database_url: database_url.to_string(),
        db_pool_size: 8,
        kafka_brokers: brokers.to_string(),
        registry_url: registry_url.to_string(),
        topics: Topics::with_prefix(prefix),
        kafka_stall_timeout: Duration::from_secs(30),
        produce_timeout: Duration::from_secs(10),
        body_read_timeout: Duration::from_secs(30),
        session_ttl: chrono::Duration::hours(1),
        password_hashes: 2,
        trusted_proxies: Vec::new(),
        keys: keys.clone(),
        kafka_security: Default::default(),
        projection_group: "healthpipe-aggregation".into(),
        projection_wait: Duration::from_secs(10),
        public_url: format!("http://{addr}"),
        imports: Default::default(),
    };
    let state = Arc::new(healthpipe_gateway::AppState::connect(config).await?);
    tokio::spawn(healthpipe_gateway::serve_listener(
        listener,
        state,
        shutdown.clone().cancelled_owned(),
    ));
    Ok(format!("http://{addr}"))
}

/// The demo account of `name`: the same on every run.
fn demo_email(name: &str) -> String {
    format!("{}@demo.healthpipe.invalid", name.to_lowercase())
}

/// Signs the user up, or in when an earlier run made the account; the token.
async fn account(client: &reqwest::Client, base: &str, user: &DemoUser) -> Result<String> {
    let email = demo_email(&user.name);
    let signed_up = client
        .post(format!("{base}/api/v1/users"))
        .json(&json!({"email": email, "password": PASSWORD, "name": user.name, "timezone": user.timezone}))
        .send()
        .await?;
    if signed_up.status() != reqwest::StatusCode::CONFLICT {
        expect_ok(signed_up).await?;
    }
    let session = expect_ok(
        client
            .post(format!("{base}/api/v1/sessions"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await?,
    )
    .await?;
    Ok(session["token"].as_str().context("token")?.to_string())
}

/// Signs the user up (or in), registers the devices and syncs every sample; the token.
async fn sync_user(client: &reqwest::Client, base: &str, user: &DemoUser) -> Result<String> {
    let token = account(client, base, user).await?;
    for device in &user.devices {
        let registered = expect_ok(client.post(format!("{base}/api/v1/devices")).bearer_auth(&token)
            .json(&json!({"device_type": device.device_type, "device_name": device.name, "device_identifier": device.identifier}))
            .send().await?).await?;
        let id = registered["id"].as_str().context("device id")?;
        for chunk in device.samples.chunks(SYNC_CHUNK) {
            let result = expect_ok(
                client
                    .post(format!("{base}/api/v1/devices/{id}/sync"))
                    .bearer_auth(&token)
                    .json(&json!({"samples": chunk}))
                    .send()
                    .await?,
            )
            .await?;
            if result["errors"].as_u64() != Some(0) {
                bail!(
                    "the gateway rejected demo samples: {}",
                    result["error_details"]
                );
            }
        }
    }
    Ok(token)
}

pub(crate) async fn expect_ok(response: reqwest::Response) -> Result<Value> {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("gateway answered {status}: {body}");
    }
    Ok(body)
}

/// Prints one line per local day: the deduplicated totals from the query API, and the
/// naive sum of raw step samples that double-counts overlapping devices.
async fn print_user(
    client: &reqwest::Client,
    base: &str,
    database_url: &str,
    user: &DemoUser,
    token: &str,
) -> Result<()> {
    let (Some(&first_day), Some(&last_day)) = (user.days.first(), user.days.last()) else {
        return Ok(());
    };
    let fetch = |sample_type: &'static str| {
        let url = format!(
            "{base}/api/v1/aggregates?type={sample_type}&period=day&from={first_day}&to={last_day}"
        );
        async move {
            let rows = expect_ok(client.get(url).bearer_auth(token).send().await?).await?;
            Ok::<_, anyhow::Error>(rows.as_array().cloned().unwrap_or_default())
        }
    };
    let steps = fetch("STEPS").await?;
    let heart = fetch("HEART_RATE").await?;
    let sleep = fetch("SLEEP_ANALYSIS").await?;
    let weight = fetch("WEIGHT").await?;
    let naive = crate::progress::naive_daily_steps(
        database_url,
        token_user(client, base, token).await?.as_str(),
        &user.timezone,
    )
    .await?;
    let tz: chrono_tz::Tz = user.timezone.parse()?;
    let local_date = |row: &Value| -> Option<NaiveDate> {
        let start: chrono::DateTime<Utc> = row["period_start"].as_str()?.parse().ok()?;
        Some(start.with_timezone(&tz).date_naive())
    };
    let on = |rows: &[Value], date: NaiveDate| {
        rows.iter()
            .find(|r| local_date(r) == Some(date))
            .and_then(|r| r["value"].as_f64())
    };
    println!();
    let mut kinds: Vec<&str> = user
        .devices
        .iter()
        .map(|d| d.device_type.as_str())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    println!(
        "{} ({}), {} devices: {}",
        user.name,
        user.timezone,
        user.devices.len(),
        kinds.join(", ")
    );
    println!(
        "  {:<10}  {:>8}  {:>15}  {:>10}  {:>7}  {:>9}",
        "date", "steps", "naive step sum", "avg bpm", "sleep h", "weight kg"
    );
    for &date in &user.days {
        let fmt = |v: Option<f64>, scale: f64, decimals: usize| {
            v.map(|v| format!("{:.*}", decimals, v / scale))
                .unwrap_or_else(|| "-".into())
        };
        println!(
            "  {:<10}  {:>8}  {:>15}  {:>10}  {:>7}  {:>9}",
            date.to_string(),
            fmt(on(&steps, date), 1.0, 0),
            fmt(naive.get(&date).copied(), 1.0, 0),
            fmt(on(&heart, date), 1.0, 1),
            fmt(on(&sleep, date), 60.0, 1),
            fmt(on(&weight, date), 1.0, 1)
        );
    }
    let url = format!("{base}/api/v1/insights");
    let insights = expect_ok(client.get(url).bearer_auth(token).send().await?).await?;
    let insights = insights["insights"].as_array().cloned().unwrap_or_default();
    if insights.is_empty() {
        println!("  insights: none (no rule fired on this data)");
    }
    for insight in insights {
        println!(
            "  insight [{} {}, {}]: {}",
            insight["severity"].as_str().unwrap_or("?"),
            insight["type"].as_str().unwrap_or("?"),
            insight["status"].as_str().unwrap_or("?"),
            insight["message"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

async fn token_user(client: &reqwest::Client, base: &str, token: &str) -> Result<String> {
    let me = expect_ok(
        client
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(token)
            .send()
            .await?,
    )
    .await?;
    Ok(me["id"].as_str().context("user id")?.to_string())
}
