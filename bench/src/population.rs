//! Users for a bench run. Signing up a thousand users through the API would spend most of a
//! minute in Argon2, which is not what the benchmark measures, so accounts and sessions are
//! written straight into the gateway's tables and the `UserRegistered` events the gateway
//! would have emitted are produced with the same codec. Devices are registered through the
//! API, as phones do.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use chrono_tz::Tz;
use healthpipe_crypto::{Keyring, Lookup};
use healthpipe_schemas::{EventCodec, Topics, UserRegistered, UserTimeZoneChanged};
use healthpipe_storage::sql::execute;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use serde_json::{json, Value};
use uuid::Uuid;

use super::env::{connect, Stack};

healthpipe_storage::statement!(INSERT_USERS, "users_insert");
healthpipe_storage::statement!(INSERT_SESSIONS, "sessions_insert");

/// A signed-in user with registered devices.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: Uuid,
    pub token: Arc<str>,
    pub timezone: Tz,
    /// (type, identifier, id) of each device, in the order asked for.
    pub devices: Vec<(&'static str, String, Uuid)>,
}

impl Member {
    /// The sync path of device `index`.
    pub fn sync_path(&self, index: usize) -> String {
        format!("/api/v1/devices/{}/sync", self.devices[index].2)
    }
}

/// Creates users with `devices` each (type, identifier) in `database_url`, announces them on
/// `prefix`'s user stream and registers their devices through the gateway at `gateway`.
pub async fn create(
    stack: &Stack,
    http: &reqwest::Client,
    database_url: &str,
    prefix: &str,
    gateway: &str,
    users: &[(Tz, Vec<(&'static str, String)>)],
) -> Result<Vec<Member>> {
    let db = connect(database_url).await?;
    let mut ids = Vec::with_capacity(users.len());
    let mut emails = Vec::new();
    let mut zones = Vec::new();
    let mut tokens = Vec::new();
    for (tz, _) in users {
        let id = Uuid::new_v4();
        ids.push(id);
        emails.push(format!("{}@bench.healthpipe.invalid", id.simple()));
        zones.push(tz.name().to_string());
        tokens.push(format!("hp_bench_{}", Uuid::new_v4().simple()));
    }
    for chunk in (0..users.len()).collect::<Vec<_>>().chunks(5_000) {
        let pick = |v: &[String]| chunk.iter().map(|&i| v[i].clone()).collect::<Vec<_>>();
        let chunk_ids: Vec<Uuid> = chunk.iter().map(|&i| ids[i]).collect();
        execute(
            &db,
            INSERT_USERS,
            &[&chunk_ids, &pick(&emails), &pick(&zones)],
        )
        .await
        .context("inserting bench users")?;
        execute(&db, INSERT_SESSIONS, &[&pick(&tokens), &chunk_ids])
            .await
            .context("inserting bench sessions")?;
    }
    let now = Utc::now().timestamp_micros();
    let events: Vec<UserRegistered> = ids
        .iter()
        .zip(&zones)
        .map(|(id, tz)| UserRegistered {
            event_id: Uuid::new_v4().to_string(),
            user_id: id.to_string(),
            timezone: tz.clone(),
            registered_at: now,
        })
        .collect();
    let ring = stack.keyring(database_url, &ids).await?;
    produce(stack, prefix, &events, |e| e.user_id.clone(), &ring).await?;

    let members: Vec<Member> = ids
        .iter()
        .zip(tokens)
        .zip(users)
        .map(|((id, token), (tz, _))| Member {
            id: *id,
            token: token.into(),
            timezone: *tz,
            devices: Vec::new(),
        })
        .collect();
    register_devices(http, gateway, members, users).await
}

async fn register_devices(
    http: &reqwest::Client,
    gateway: &str,
    members: Vec<Member>,
    users: &[(Tz, Vec<(&'static str, String)>)],
) -> Result<Vec<Member>> {
    let jobs: Arc<Vec<(usize, usize)>> = Arc::new(
        users
            .iter()
            .enumerate()
            .flat_map(|(u, (_, devices))| (0..devices.len()).map(move |d| (u, d)))
            .collect(),
    );
    let members = Arc::new(members);
    let users = Arc::new(users.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (jobs, members, users, next) =
            (jobs.clone(), members.clone(), users.clone(), next.clone());
        let http = http.clone();
        let url = format!("{gateway}/api/v1/devices");
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(u, d)) = jobs.get(i) else {
                    return Ok::<_, anyhow::Error>(out);
                };
                let (device_type, identifier) = &users[u].1[d];
                let response = http
                    .post(&url)
                    .bearer_auth(&*members[u].token)
                    .json(&json!({"device_type": device_type, "device_name": identifier, "device_identifier": identifier}))
                    .send()
                    .await?;
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                if !status.is_success() {
                    bail!("device registration answered {status}: {body}");
                }
                let id: Uuid = body["id"].as_str().context("device id")?.parse()?;
                out.push((u, d, id));
            }
        }));
    }
    let mut registered = Vec::new();
    for task in tasks {
        registered.extend(task.await??);
    }
    let mut members = Arc::try_unwrap(members).unwrap_or_else(|shared| (*shared).clone());
    for (m, (_, devices)) in members.iter_mut().zip(users.iter()) {
        m.devices = devices
            .iter()
            .map(|(t, ident)| (*t, ident.clone(), Uuid::nil()))
            .collect();
    }
    for (u, d, id) in registered {
        members[u].devices[d].2 = id;
    }
    Ok(members)
}

/// Announces a time-zone "change" to the same zone for each member: the processor then
/// recomputes every aggregate of the member from the stored samples.
pub async fn recompute_everything(
    stack: &Stack,
    database_url: &str,
    prefix: &str,
    members: &[Member],
) -> Result<()> {
    let now = Utc::now().timestamp_micros();
    let events: Vec<UserTimeZoneChanged> = members
        .iter()
        .map(|m| UserTimeZoneChanged {
            event_id: Uuid::new_v4().to_string(),
            user_id: m.id.to_string(),
            timezone: m.timezone.name().to_string(),
            previous_timezone: m.timezone.name().to_string(),
            changed_at: now,
        })
        .collect();
    let ids: Vec<Uuid> = members.iter().map(|m| m.id).collect();
    let ring = stack.keyring(database_url, &ids).await?;
    produce(stack, prefix, &events, |e| e.user_id.clone(), &ring).await
}

/// Encodes and appends `events` to `prefix`'s user stream, keyed by `key`, sealed with
/// the users' keys from `ring`.
pub async fn produce<E: healthpipe_schemas::Event>(
    stack: &Stack,
    prefix: &str,
    events: &[E],
    key: impl Fn(&E) -> String,
    ring: &Keyring,
) -> Result<()> {
    let topic = Topics::with_prefix(prefix).user_events;
    let codec = EventCodec::new(&stack.registry_url);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &stack.brokers)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .create()?;
    let mut deliveries = Vec::with_capacity(events.len());
    for event in events {
        let Lookup::Key(data_key) = ring.get(event.user_id()) else {
            bail!("no data key for a bench user");
        };
        let payload = codec.encode(&topic, event, data_key).await?;
        let key = key(event);
        let producer = producer.clone();
        let topic = topic.clone();
        deliveries.push(tokio::spawn(async move {
            producer
                .send(
                    FutureRecord::to(&topic).key(&key).payload(&payload),
                    Timeout::After(Duration::from_secs(30)),
                )
                .await
                .map(|_| ())
                .map_err(|(e, _)| anyhow::anyhow!("producing a setup event: {e}"))
        }));
    }
    for d in deliveries {
        d.await??;
    }
    Ok(())
}
