//! Registers every event schema the services write, ahead of them, through the registry's
//! admin listener: `healthpipe migrate`'s last step.
//!
//! The services' codec registers on first use (the stock serializer's behaviour). Against a
//! registry whose writes have their own listener (`REGISTRY_ADMIN_ADDR`), the services
//! reach only the read listener, which answers a registration of a schema the subject
//! already has with its id and refuses a new one: so the migration job, the one client of
//! the admin listener, registers them all first, under exactly the subjects and texts the
//! codec uses (`<topic>-<envelope name>` and `<content name>`, see `healthpipe_schemas`).

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use healthpipe_schemas::{
    AggregatesUpdated, DevicePriorityChanged, DeviceRegistered, Event, InsightAcknowledged,
    InsightRaised, SamplesDeleted, SamplesRecorded, ShareGranted, ShareRedeemed, ShareRevoked,
    Topics, UserErased, UserRegistered, UserTimeZoneChanged,
};
use serde_json::json;

/// Where `migrate` registers the schemas.
#[derive(Debug, Clone, clap::Args)]
pub struct RegistrationArgs {
    /// The registry the services read their schemas from.
    #[arg(
        long,
        env = "SCHEMA_REGISTRY_URL",
        default_value = "http://127.0.0.1:58081"
    )]
    pub registry_url: String,
    /// The registry's admin listener, where schemas are registered [default: the
    /// SCHEMA_REGISTRY_URL, for a registry serving writes and reads on one listener].
    #[arg(long, env = "SCHEMA_REGISTRY_ADMIN_URL")]
    pub registry_admin_url: Option<String>,
    /// The per-user stream's topic, when `topic reencrypt --switch` moved it
    /// [default: <prefix>.user-events].
    #[arg(long, env = "USER_EVENTS_TOPIC")]
    pub user_events_topic: Option<String>,
}

impl RegistrationArgs {
    /// The URL schemas are registered at.
    pub fn admin_url(&self) -> &str {
        self.registry_admin_url
            .as_deref()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or(&self.registry_url)
    }
}

/// Every (subject, schema text) the gateway and the processors register when they write to
/// `topics`, in subject order.
pub fn registrations(topics: &Topics) -> BTreeMap<String, &'static str> {
    let mut all = BTreeMap::new();
    let user_events = topics.user_events.as_str();
    sealed::<SamplesRecorded>(&mut all, user_events);
    sealed::<SamplesDeleted>(&mut all, user_events);
    sealed::<UserRegistered>(&mut all, user_events);
    sealed::<UserTimeZoneChanged>(&mut all, user_events);
    sealed::<DeviceRegistered>(&mut all, user_events);
    sealed::<DevicePriorityChanged>(&mut all, user_events);
    sealed::<ShareGranted>(&mut all, user_events);
    sealed::<ShareRedeemed>(&mut all, user_events);
    sealed::<ShareRevoked>(&mut all, user_events);
    sealed::<InsightAcknowledged>(&mut all, user_events);
    // The one event in clear: no key is left to seal it with.
    all.insert(
        format!("{user_events}-{}", UserErased::FULL_NAME),
        UserErased::SCHEMA,
    );
    sealed::<AggregatesUpdated>(&mut all, &topics.aggregates_updated);
    sealed::<InsightRaised>(&mut all, &topics.insights);
    all
}

/// An event sealed on `topic`: its envelope under the topic's subject, its content under
/// the content's own name (shared by every topic).
fn sealed<E: Event>(all: &mut BTreeMap<String, &'static str>, topic: &str) {
    all.insert(format!("{topic}-{}", E::FULL_NAME), E::SCHEMA);
    all.insert(E::CONTENT_NAME.to_string(), E::CONTENT_SCHEMA);
}

/// Registers [`registrations`] at `args.admin_url()` (the registry answers the existing id
/// for a schema already there); returns how many subjects it registered.
pub async fn register_all(args: &RegistrationArgs, prefix: &str) -> Result<usize> {
    let topics = Topics::named(prefix, args.user_events_topic.as_deref());
    let base = reqwest::Url::parse(args.admin_url())
        .with_context(|| format!("schema registry admin URL {:?}", args.admin_url()))?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .context("HTTP client")?;
    let all = registrations(&topics);
    for (subject, schema) in &all {
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("{base} cannot be a base URL"))?
            .pop_if_empty()
            .extend(["subjects", subject.as_str(), "versions"]);
        let response = http
            .post(url)
            .header("content-type", "application/vnd.schemaregistry.v1+json")
            .json(&json!({ "schema": schema }))
            .send()
            .await
            .with_context(|| format!("registering {subject} at {base}"))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            bail!("registering {subject} at {base}: {status} {body}");
        }
        tracing::debug!(%subject, "schema registered");
    }
    Ok(all.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_the_services_write_gets_its_subjects() {
        let all = registrations(&Topics::with_prefix("p"));
        for subject in [
            "p.user-events-healthpipe.events.SamplesRecorded",
            "p.user-events-healthpipe.events.UserErased",
            "p.aggregates-updated-healthpipe.events.AggregatesUpdated",
            "p.insights-healthpipe.events.InsightRaised",
            "healthpipe.content.SamplesRecorded",
            "healthpipe.content.InsightRaised",
        ] {
            assert!(all.contains_key(subject), "{subject} missing: {all:?}");
        }
        // Twelve sealed events (envelope and content) and the erasure.
        assert_eq!(all.len(), 12 * 2 + 1);
    }

    #[test]
    fn a_moved_user_stream_is_registered_under_its_new_name() {
        let topics = Topics::named("p", Some("p.user-events.sealed"));
        let all = registrations(&topics);
        assert!(all.contains_key("p.user-events.sealed-healthpipe.events.ShareGranted"));
        assert!(!all.keys().any(|s| s.starts_with("p.user-events-")));
    }

    #[test]
    fn the_admin_url_defaults_to_the_registry() {
        let mut args = RegistrationArgs {
            registry_url: "http://r:8081".into(),
            registry_admin_url: None,
            user_events_topic: None,
        };
        assert_eq!(args.admin_url(), "http://r:8081");
        args.registry_admin_url = Some("http://r-admin:8082".into());
        assert_eq!(args.admin_url(), "http://r-admin:8082");
    }
}
