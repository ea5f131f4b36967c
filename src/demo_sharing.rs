//! The demo's sharing scene: a demo user shares three days of steps with a clinician, the
//! clinician (a provider account an operator made) redeems the code and reads exactly those
//! days, the user revokes, the clinician is refused, and the user reads who looked.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use healthpipe_gateway::providers::{self, NewProvider};
use serde_json::{json, Value};

/// What the scene needs: the gateway, the database (to add the provider as an operator
/// would), the sharing user's token and name, and the days to share.
pub struct Scene<'a> {
    pub client: &'a reqwest::Client,
    pub base: &'a str,
    pub database_url: &'a str,
    pub owner_token: &'a str,
    pub owner_name: &'a str,
    /// The owner's zone: the clinician sees the owner's local days.
    pub timezone: &'a str,
    pub days: &'a [NaiveDate],
}

pub async fn run(scene: Scene<'_>) -> Result<()> {
    let Scene {
        client,
        base,
        database_url,
        owner_token,
        owner_name,
        timezone,
        days,
    } = scene;
    let zone: chrono_tz::Tz = timezone.parse()?;
    let (Some(first), Some(last)) = (days.iter().rev().nth(2), days.last()) else {
        return Ok(());
    };
    println!();
    println!("sharing: {owner_name} shares steps of {first} to {last} with a clinician");
    let email = format!(
        "dr.demo-{}@clinic.healthpipe.invalid",
        uuid::Uuid::new_v4().simple()
    );
    let db = healthpipe_storage::connect(database_url, 1)?;
    let provider = NewProvider {
        email: email.clone(),
        name: "Dr Demo".into(),
        organisation: "Demo Clinic".into(),
    };
    let added = providers::add(&db, &provider).await?;
    let password = added
        .password
        .context("a new provider account has a password")?;
    let doctor = token(client, base, &email, &password).await?;

    let expires = chrono::Utc::now() + chrono::Duration::days(7);
    let made = call(
        client
            .post(format!("{base}/api/v1/shares"))
            .bearer_auth(owner_token)
            .json(&json!({
            "recipient_email": email, "data_types": ["STEPS"],
            "date_start": first, "date_end": last,
            "expires_at": expires.to_rfc3339(), "label": "Dr Demo, check-up"})),
    )
    .await?;
    let share = made["share"]["id"]
        .as_str()
        .context("share id")?
        .to_string();
    let code = made["access_code"].as_str().context("access code")?;
    println!("  access code for the clinician (shown once): {code}");
    call(
        client
            .post(format!("{base}/api/v1/shared/redeem"))
            .bearer_auth(&doctor)
            .json(&json!({ "access_code": code })),
    )
    .await?;
    let read = || {
        client
            .get(format!(
                "{base}/api/v1/shared/{share}/aggregates?type=STEPS&period=day"
            ))
            .bearer_auth(&doctor)
    };
    let rows = call(read()).await?;
    for row in rows.as_array().into_iter().flatten() {
        let start: chrono::DateTime<chrono::Utc> = row["period_start"]
            .as_str()
            .context("period_start")?
            .parse()?;
        println!(
            "  the clinician sees {}: {:.0} steps",
            start.with_timezone(&zone).date_naive(),
            row["value"].as_f64().unwrap_or_default()
        );
    }
    let weight = client
        .get(format!(
            "{base}/api/v1/shared/{share}/aggregates?type=WEIGHT"
        ))
        .bearer_auth(&doctor)
        .send()
        .await?;
    println!("  weight (not shared): {}", refusal(weight).await);
    call(
        client
            .delete(format!("{base}/api/v1/shares/{share}"))
            .bearer_auth(owner_token),
    )
    .await?;
    println!(
        "  after {owner_name} revokes: {}",
        refusal(read().send().await?).await
    );
    let log = call(
        client
            .get(format!("{base}/api/v1/shares/{share}/access-log"))
            .bearer_auth(owner_token),
    )
    .await?;
    println!("  {owner_name}'s access log of the share, newest first:");
    for record in log.as_array().into_iter().flatten() {
        println!(
            "    {} {} {}{}",
            record["at"].as_str().unwrap_or("?"),
            record["action"].as_str().unwrap_or("?"),
            record["outcome"].as_str().unwrap_or("?"),
            record["reason"]
                .as_str()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

async fn token(
    client: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> Result<String> {
    let session = call(
        client
            .post(format!("{base}/api/v1/sessions"))
            .json(&json!({"email": email, "password": password})),
    )
    .await?;
    Ok(session["token"].as_str().context("token")?.to_string())
}

async fn call(request: reqwest::RequestBuilder) -> Result<Value> {
    crate::demo::expect_ok(request.send().await?).await
}

/// A refusal as one line: its status and message.
async fn refusal(response: reqwest::Response) -> String {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    format!("{status} {}", body["message"].as_str().unwrap_or(""))
}
