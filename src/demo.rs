//! `healthpipe demo`: the whole pipeline on the local stack with demo data. It starts a
//! gateway and an aggregation processor in this process, signs up demo users, syncs their
//! devices' samples over HTTP exactly as phones would, waits until the processor has caught
//! up with the log, and prints each user's daily totals as the query API returns them, next
//! to what a naive sum of the raw samples would have claimed; then one of them shares a few
//! days with a clinician (see `demo_sharing`).

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
}

pub async fn run(args: DemoArgs) -> Result<()> {
    let DemoArgs {
        days,
        database_url,
        kafka_brokers: brokers,
        registry_url,
        topic_prefix: prefix,
        real_data,
        keys,
    } = args;

    healthpipe_storage::migrations::run(&database_url).await?;
    crate::topics::ensure(&brokers, &Topics::with_prefix(&prefix), &Default::default()).await?;

    let shutdown = CancellationToken::new();
    let gateway_url = start_gateway(
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
    let mut users = demo_users(first_day, days);
    match real_export_user(real_data) {
        Ok(user) => users.push(user),
        Err(e) => println!("(skipping the real Apple Health export: {e:#})"),
    }
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

/// A real person's Apple Health export (iPhone and a Garmin that overlap on some days),
/// imported as the Health app would sync it. Shows the seven days on which two devices
/// counted steps, where deduplication matters. The export is from 2017, older than the seven
/// years of raw samples healthpipe keeps (a sync today refuses them), so its dates are moved
/// forward by whole years, wall clocks and offsets as they were.
fn real_export_user(dir: Option<std::path::PathBuf>) -> Result<DemoUser> {
    let dir =
        dir.unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/real-data").into());
    let path = dir.join("apple-health/hkimport_export.xml");
    let file = std::fs::File::open(&path).with_context(|| format!("{}", path.display()))?;
    let mut import = healthpipe_importer::import_apple_health(std::io::BufReader::new(file))?;
    let years = move_into_retention(&mut import.devices);
    let tz: chrono_tz::Tz = chrono_tz::Europe::Berlin;
    let mut step_devices: std::collections::BTreeMap<NaiveDate, std::collections::BTreeSet<&str>> =
        Default::default();
    for device in &import.devices {
        for sample in device.samples.iter().filter(|s| s.sample_type == "STEPS") {
            step_devices
                .entry(sample.start_date.with_timezone(&tz).date_naive())
                .or_default()
                .insert(&device.device.device_identifier);
        }
    }
    let mut days: Vec<NaiveDate> = step_devices
        .iter()
        .filter(|(_, devices)| devices.len() > 1)
        .map(|(day, _)| *day)
        .collect();
    days = days.split_off(days.len().saturating_sub(7));
    let devices = import
        .devices
        .iter()
        .map(|d| DemoDevice {
            device_type: d.device.device_type.as_str().to_string(),
            name: d.device.device_name.clone(),
            identifier: d.device.device_identifier.clone(),
            samples: d
                .samples
                .iter()
                .map(|s| serde_json::to_value(s).expect("samples serialise"))
                .collect(),
        })
        .collect();
    Ok(DemoUser {
        name: format!("Tom (a real Apple Health export of 2017, {years} years later)"),
        timezone: tz.name().to_string(),
        devices,
        days,
    })
}

/// Moves every sample forward by the whole years that bring the latest one into the last
/// year (never into the future); returns the years.
fn move_into_retention(devices: &mut [healthpipe_importer::ImportedDevice]) -> u32 {
    let samples = || devices.iter().flat_map(|d| d.samples.iter());
    let Some(latest) = samples().map(|s| s.end_date).max() else {
        return 0;
    };
    let now = chrono::Utc::now();
    let mut years = u32::try_from(now.year() - latest.year()).unwrap_or(0);
    let later = |t: chrono::DateTime<chrono::FixedOffset>, years: u32| {
        t.checked_add_months(chrono::Months::new(12 * years))
            .expect("a few years later is representable")
    };
    if years > 0 && later(latest, years) > now {
        years -= 1;
    }
    for sample in devices.iter_mut().flat_map(|d| d.samples.iter_mut()) {
        sample.start_date = later(sample.start_date, years);
        sample.end_date = later(sample.end_date, years);
    }
    years
}

async fn start_gateway(
    database_url: &str,
    brokers: &str,
    registry_url: &str,
    prefix: &str,
    keys: &healthpipe_config::KeySettings,
    shutdown: &CancellationToken,
) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
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

/// Signs the user up, registers the devices and syncs every sample; returns the token.
async fn sync_user(client: &reqwest::Client, base: &str, user: &DemoUser) -> Result<String> {
    let email = format!(
        "{}-{}@demo.healthpipe.invalid",
        user.name.to_lowercase(),
        uuid::Uuid::new_v4().simple()
    );
    let password = "demo password 1234";
    expect_ok(client.post(format!("{base}/api/v1/users"))
        .json(&json!({"email": email, "password": password, "name": user.name, "timezone": user.timezone}))
        .send().await?).await?;
    let session = expect_ok(
        client
            .post(format!("{base}/api/v1/sessions"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await?,
    )
    .await?;
    let token = session["token"].as_str().context("token")?.to_string();
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
