//! Realistic users for the benchmark, on top of the demo's generator
//! (`healthpipe::workload`): distance and energy, heart rate every minute, a chest strap,
//! manual entries, and samples in a compact form grouped by day, because the benchmark
//! generates millions of them.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use healthpipe::workload::{local, UserSpec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One generated sample in a compact form: the benchmarks generate millions, too many for a
/// `serde_json::Value` each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenSample {
    pub kind: &'static str,
    pub value: f64,
    pub unit: &'static str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl GenSample {
    pub fn new(
        kind: &'static str,
        value: f64,
        unit: &'static str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Self {
        GenSample {
            kind,
            value,
            unit,
            start,
            end,
        }
    }

    /// Appends the sample as gateway sync JSON to `out`, times with the offset of `tz` as a
    /// phone would send them.
    pub fn write_json(&self, tz: Tz, out: &mut String) {
        use std::fmt::Write;
        let time = |t: DateTime<Utc>| {
            t.with_timezone(&tz)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        };
        write!(
            out,
            r#"{{"type":"{}","value":{},"unit":"{}","start_date":"{}","end_date":"{}"}}"#,
            self.kind,
            self.value,
            self.unit,
            time(self.start),
            time(self.end)
        )
        .expect("writing to a String cannot fail");
    }
}

/// A device of a realistic user, with its samples grouped by the local day they start on
/// (index 0 is `first_day`), because devices sync about once a day.
#[derive(Debug, Clone)]
pub struct RealisticDevice {
    pub device_type: &'static str,
    pub identifier: String,
    pub days: Vec<Vec<GenSample>>,
}

/// A realistic user with 2 to 5 devices: a watch and a phone that both count steps, distance
/// and active energy all day and overlap; heart rate every `heart_rate_every_minutes` from the
/// watch while it is worn (it is charged for an hour a day and not always worn at night) and,
/// on some days, every 10 s from a chest strap during a workout; nightly sleep from the watch
/// and an overlapping "in bed" span from the phone; a daily weigh-in on a scale; and now and
/// then a manual entry. Which optional devices a user has follows from the seed.
pub fn generate_realistic(spec: &UserSpec) -> Vec<RealisticDevice> {
    let mut rng = StdRng::seed_from_u64(spec.seed ^ 0x5eed_f00d);
    let has_scale = rng.random_bool(0.85);
    let has_strap = rng.random_bool(0.3);
    let has_manual = rng.random_bool(0.4);
    let stride_m: f64 = rng.random_range(0.65..0.85);
    let days = spec.days as usize;
    let mut watch = vec![Vec::new(); days];
    let mut phone = vec![Vec::new(); days];
    let mut scale = vec![Vec::new(); days];
    let mut strap = vec![Vec::new(); days];
    let mut manual = vec![Vec::new(); days];
    let hr_step = Duration::minutes(spec.heart_rate_every_minutes.max(1));
    for (d, ((((watch, phone), scale), strap), manual)) in watch
        .iter_mut()
        .zip(&mut phone)
        .zip(&mut scale)
        .zip(&mut strap)
        .zip(&mut manual)
        .enumerate()
    {
        let day = spec.first_day + Duration::days(d as i64);
        let at = |h: u32, m: u32| local(spec.timezone, day, h, m);
        let charging_from = at(rng.random_range(8..20), rng.random_range(0..60));
        let charging_to = charging_from + Duration::hours(1);
        let worn = |t: DateTime<Utc>| t < charging_from || t >= charging_to;
        // Movement: the watch in 5-20 minute intervals, the phone in coarser blocks while
        // carried; both record steps, distance and active energy, so they overlap.
        let mut t = at(7, 0);
        while t < at(23, 0) {
            let end = t + Duration::minutes(rng.random_range(5..20));
            let cadence: f64 = rng.random_range(0.0..22.0);
            if worn(t) {
                let minutes = (end - t).num_minutes() as f64;
                push_movement(watch, cadence * minutes, stride_m, ("m", 1.0), t, end);
            }
            t = end;
        }
        let mut t = at(7, rng.random_range(0..30));
        while t < at(22, 0) {
            let end = t + Duration::minutes(rng.random_range(15..60));
            if rng.random_bool(0.7) {
                let cadence: f64 = rng.random_range(0.0..18.0);
                let minutes = (end - t).num_minutes() as f64;
                // The phone reports distance in km, as some apps do: the gateway converts.
                push_movement(phone, cadence * minutes, stride_m, ("km", 1000.0), t, end);
            }
            t = end + Duration::minutes(rng.random_range(0..20));
        }
        // Sleep, and heart rate around the clock while the watch is worn.
        let sleep_start = at(23, rng.random_range(0..50));
        let sleep_end = sleep_start + Duration::minutes(rng.random_range(330..480));
        let worn_at_night = rng.random_bool(0.75);
        let mut t = at(7, 0);
        while t < at(23, 0) {
            if worn(t) {
                let bpm: f64 = rng.random_range(58.0..110.0);
                watch.push(GenSample::new("HEART_RATE", bpm.round(), "count/min", t, t));
            }
            t += hr_step;
        }
        if worn_at_night {
            let mut t = sleep_start;
            while t < sleep_end {
                let bpm: f64 = rng.random_range(48.0..66.0);
                watch.push(GenSample::new("HEART_RATE", bpm.round(), "count/min", t, t));
                t += hr_step;
            }
            let asleep = (sleep_end - sleep_start).num_minutes() as f64;
            watch.push(GenSample::new(
                "SLEEP_ANALYSIS",
                asleep,
                "min",
                sleep_start,
                sleep_end,
            ));
        }
        if rng.random_bool(0.5) {
            let from = sleep_start - Duration::minutes(10);
            let to = sleep_end + Duration::minutes(10);
            let in_bed = (to - from).num_minutes() as f64;
            phone.push(GenSample::new("SLEEP_ANALYSIS", in_bed, "min", from, to));
        }
        // A workout with a chest strap on some days: heart rate every 10 s.
        if has_strap && rng.random_bool(0.4) {
            let from = at(rng.random_range(17..20), rng.random_range(0..60));
            let to = from + Duration::minutes(rng.random_range(30..75));
            let mut t = from;
            while t < to {
                let bpm: f64 = rng.random_range(110.0..175.0);
                strap.push(GenSample::new("HEART_RATE", bpm.round(), "count/min", t, t));
                t += Duration::seconds(10);
            }
        }
        let kg: f64 = 72.0 + rng.random_range(-0.6..0.6);
        if has_scale && rng.random_bool(0.9) {
            let t = at(7, rng.random_range(0..20));
            scale.push(GenSample::new(
                "WEIGHT",
                (kg * 10.0).round() / 10.0,
                "kg",
                t,
                t,
            ));
        }
        if has_manual && rng.random_bool(0.15) {
            if rng.random_bool(0.5) {
                let t = at(20, 0);
                manual.push(GenSample::new("WEIGHT", (kg * 2.2046).round(), "lb", t, t));
            } else {
                let from = at(rng.random_range(8..20), 0);
                let to = from + Duration::minutes(30);
                manual.push(GenSample::new(
                    "STEPS",
                    rng.random_range(1500..4000) as f64,
                    "count",
                    from,
                    to,
                ));
            }
        }
    }
    let mut devices = vec![
        realistic("apple_watch", "watch", spec.seed, watch),
        realistic("iphone", "phone", spec.seed, phone),
    ];
    if has_scale {
        devices.push(realistic("third_party_scale", "scale", spec.seed, scale));
    }
    if has_strap {
        devices.push(realistic("third_party_wearable", "strap", spec.seed, strap));
    }
    if has_manual {
        devices.push(realistic("manual_entry", "manual", spec.seed, manual));
    }
    devices
}

/// Steps, distance (in `unit`, `per_meter` meters each) and active energy of one interval.
fn push_movement(
    out: &mut Vec<GenSample>,
    steps: f64,
    stride_m: f64,
    (unit, per_meter): (&'static str, f64),
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) {
    let steps = steps.round();
    let meters = steps * stride_m;
    out.push(GenSample::new("STEPS", steps, "count", start, end));
    out.push(GenSample::new(
        "DISTANCE",
        (meters / per_meter * 1000.0).round() / 1000.0,
        unit,
        start,
        end,
    ));
    out.push(GenSample::new(
        "ACTIVE_ENERGY",
        (steps * 0.04 * 100.0).round() / 100.0,
        "kcal",
        start,
        end,
    ));
}

fn realistic(
    device_type: &'static str,
    name: &str,
    seed: u64,
    days: Vec<Vec<GenSample>>,
) -> RealisticDevice {
    RealisticDevice {
        device_type,
        identifier: format!("{name}-{seed}"),
        days,
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use serde_json::Value;

    use super::*;

    fn spec(seed: u64) -> UserSpec {
        UserSpec {
            seed,
            timezone: chrono_tz::Europe::Berlin,
            first_day: NaiveDate::from_ymd_opt(2026, 3, 28).unwrap(),
            days: 3,
            heart_rate_every_minutes: 5,
        }
    }

    #[test]
    fn realistic_users_are_reproducible_and_have_two_to_five_devices() {
        let one = |seed| {
            generate_realistic(&UserSpec {
                heart_rate_every_minutes: 1,
                ..spec(seed)
            })
        };
        let a = one(7);
        let b = one(7);
        assert_eq!(
            a.iter().map(|d| &d.days).collect::<Vec<_>>(),
            b.iter().map(|d| &d.days).collect::<Vec<_>>()
        );
        let mut kinds = std::collections::BTreeSet::new();
        for seed in 0..40 {
            let devices = one(seed);
            assert!(
                (2..=5).contains(&devices.len()),
                "{} devices",
                devices.len()
            );
            kinds.extend(devices.iter().map(|d| d.device_type));
            assert!(devices.iter().all(|d| d.days.len() == 3));
        }
        assert!(kinds.contains("third_party_wearable") && kinds.contains("manual_entry"));
        // Heart rate every minute for most of the day: more than a thousand samples a day.
        let per_day = a.iter().flat_map(|d| &d.days).map(Vec::len).sum::<usize>() / 3;
        assert!((1_000..2_500).contains(&per_day), "{per_day} samples a day");
    }

    #[test]
    fn compact_samples_write_the_sync_json_the_gateway_reads() {
        let s = generate_realistic(&spec(3))[0].days[0][0];
        let mut text = String::new();
        s.write_json(chrono_tz::Europe::Berlin, &mut text);
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["type"], s.kind);
        assert_eq!(parsed["value"].as_f64(), Some(s.value));
        let start = DateTime::parse_from_rfc3339(parsed["start_date"].as_str().unwrap()).unwrap();
        assert_eq!(start, s.start);
        assert_eq!(parsed["unit"], s.unit);
    }
}
