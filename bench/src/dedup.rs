//! Figure 4: what deduplication costs. Two workloads with the same number of samples over the
//! same hours: users wearing three devices that all record heart rate every minute and steps
//! in overlapping 10-minute intervals, and users with one device recording three times as
//! densely. Each is processed from a full topic into an empty database; the ratio of the
//! throughputs is the price of overlap.

use std::sync::Arc;

use anyhow::Result;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::env::{Scratch, Service};
use super::load::{self, Request};
use super::population::{self, Member};
use super::processor::{self, Pass};
use super::report::{Check, Figure, Report};
use super::workload::{body, BATCH};
use super::Sizes;
use crate::realistic::GenSample;
use serde_json::json;

/// One workload: its topic prefix and how many samples it holds.
pub struct Prepared {
    pub prefix: String,
    pub samples: u64,
    /// Where the accounts, and so the users' keys, are.
    pub accounts_db: String,
}

/// One side of the comparison: `users` users with `devices` overlapping devices each, for
/// `days` days from `first_day`.
pub struct Variant {
    pub label: &'static str,
    pub users: usize,
    pub days: u32,
    pub devices: usize,
    pub first_day: NaiveDate,
}

/// Creates the variant's users, syncs their samples through a gateway of its own into a
/// topic of its own, and returns the topic.
pub async fn prepare(
    scratch: &Scratch,
    http: &reqwest::Client,
    accounts_db: &str,
    variant: &Variant,
) -> Result<Prepared> {
    let Variant {
        label,
        users,
        days,
        devices,
        first_day,
    } = *variant;
    let prefix = scratch.topics(label).await?;
    let gateway =
        Service::gateway(scratch, &format!("gateway-{label}"), accounts_db, &prefix).await?;
    const KINDS: [&str; 3] = ["apple_watch", "iphone", "third_party_wearable"];
    let tz: Tz = chrono_tz::Europe::Berlin;
    let specs: Vec<(Tz, Vec<(&'static str, String)>)> = (0..users)
        .map(|u| {
            (
                tz,
                (0..devices)
                    .map(|d| (KINDS[d % KINDS.len()], format!("{label}-{u}-{d}")))
                    .collect(),
            )
        })
        .collect();
    let members = population::create(
        &scratch.stack,
        http,
        accounts_db,
        &prefix,
        &gateway.url,
        &specs,
    )
    .await?;
    let mut requests = Vec::new();
    let mut samples = 0u64;
    for member in &members {
        for day in 0..days {
            let date = first_day + Duration::days(day.into());
            for d in 0..devices {
                let day_samples = device_day(tz, date, d, devices);
                samples += day_samples.len() as u64;
                for chunk in day_samples.chunks(BATCH) {
                    requests.push(request(member, d, chunk, tz));
                }
            }
        }
    }
    load::closed_loop(http, &gateway.url, Arc::new(requests), 8).await?;
    gateway.stop().await?;
    Ok(Prepared {
        prefix,
        samples,
        accounts_db: accounts_db.to_string(),
    })
}

fn request(member: &Member, device: usize, samples: &[GenSample], tz: Tz) -> Request {
    Request {
        path: member.sync_path(device),
        token: member.token.clone(),
        body: body(samples, tz),
        samples: samples.len(),
    }
}

/// Device `d` of `devices` on `date`, 07:00-23:00 local: heart rate every `devices` × 20 s
/// and steps in intervals of `devices` × 200 s, shifted per device so the devices overlap
/// without coinciding. Every variant gives the same number of samples per user and day.
fn device_day(tz: Tz, date: NaiveDate, d: usize, devices: usize) -> Vec<GenSample> {
    let at = |h: u32| {
        tz.from_local_datetime(&date.and_hms_opt(h, 0, 0).expect("valid"))
            .earliest()
            .expect("07:00 and 23:00 exist")
            .with_timezone(&Utc)
    };
    let (from, to) = (at(7), at(23));
    let hr_step = Duration::seconds(20 * devices as i64);
    let steps_step = Duration::seconds(200 * devices as i64);
    let shift = Duration::seconds(20 * d as i64);
    let mut out = Vec::new();
    let mut t = from + shift;
    let mut i = 0u64;
    while t < to {
        out.push(GenSample {
            kind: "HEART_RATE",
            value: (60 + (i * 7 + d as u64 * 3) % 50) as f64,
            unit: "count/min",
            start: t,
            end: t,
        });
        t += hr_step;
        i += 1;
    }
    let mut t = from + shift * 9;
    while t + steps_step <= to {
        out.push(GenSample {
            kind: "STEPS",
            value: (50 + (i * 13) % 400) as f64,
            unit: "count",
            start: t,
            end: t + steps_step,
        });
        t += steps_step;
        i += 1;
    }
    out
}

/// Processes `prepared` from offset 0 into a new empty database.
pub async fn pass(
    scratch: &Scratch,
    http: &reqwest::Client,
    prepared: &Prepared,
    name: &str,
) -> Result<Pass> {
    let db = scratch.database(name).await?;
    let databases = (db.as_str(), prepared.accounts_db.as_str());
    let pass = processor::pass(
        scratch,
        http,
        name,
        databases,
        &prepared.prefix,
        prepared.samples,
    )
    .await;
    scratch.drop_database(&db).await?;
    pass
}

/// Figure 4: three overlapping devices against one, `repeat` runs each, alternating.
pub async fn figure(
    scratch: &Scratch,
    sizes: &Sizes,
    http: &reqwest::Client,
    report: &mut Report,
    accounts_db: &str,
    first_day: NaiveDate,
) -> Result<()> {
    let users = (sizes.users / 6).clamp(3, 60);
    let days = sizes.days.min(3);
    println!("figure 4: deduplication cost, {users} users × {days} days, 3 devices vs 1 ...");
    let variant = |label, devices| Variant {
        label,
        users,
        days,
        devices,
        first_day,
    };
    let three = prepare(scratch, http, accounts_db, &variant("dedup3", 3)).await?;
    let one = prepare(scratch, http, accounts_db, &variant("dedup1", 1)).await?;
    let (mut rates3, mut rates1) = (Vec::new(), Vec::new());
    for r in 0..sizes.repeat {
        // Alternate the order, so a drift of the machine's load does not favour one side.
        let (a, b) = if r % 2 == 0 {
            (&three, &one)
        } else {
            (&one, &three)
        };
        let pa = pass(scratch, http, a, &format!("dedup{}a", r + 1)).await?;
        let pb = pass(scratch, http, b, &format!("dedup{}b", r + 1)).await?;
        let (p3, p1) = if r % 2 == 0 { (pa, pb) } else { (pb, pa) };
        rates3.push(p3.samples_per_second);
        rates1.push(p1.samples_per_second);
    }
    report.add(
        Figure::new("4", "Dedup cost: 3 overlapping devices", "samples/s")
            .measured(&rates3, "1 device, same sample count", &rates1)
            .check(Check::ratio_at_least(0.8))
            .extra("samples_each", json!(three.samples))
            .note(format!(
                "{} vs {} samples ({users} users × {days} days); each processed from a full topic into an empty database",
                three.samples, one.samples
            )),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_device_records_as_many_samples_as_three() {
        let date = NaiveDate::from_ymd_opt(2026, 2, 3).unwrap();
        let tz = chrono_tz::Europe::Berlin;
        let three: usize = (0..3).map(|d| device_day(tz, date, d, 3).len()).sum();
        let one = device_day(tz, date, 0, 1).len();
        let diff = three.abs_diff(one);
        assert!(diff * 100 <= one, "{three} vs {one}");
    }
}
