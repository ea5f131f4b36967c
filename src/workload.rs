//! A seeded, reproducible generator of realistic users for the demo and the benchmarks:
//! a watch and a phone that both count steps all day and overlap, a watch that is off the
//! wrist now and then (so the phone must fill the gaps), heart rate from the watch, a daily
//! weigh-in on a scale and nightly sleep. The same seed always gives the same samples.
//!
//! The benchmark's richer users (`healthpipe-bench`'s `realistic`) build on [`UserSpec`]
//! and [`local`].

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// One device of a generated user and the samples it syncs (gateway sync JSON).
#[derive(Debug, Clone)]
pub struct GeneratedDevice {
    pub device_type: &'static str,
    pub identifier: String,
    pub samples: Vec<Value>,
}

/// Parameters of a generated user.
#[derive(Debug, Clone)]
pub struct UserSpec {
    pub seed: u64,
    pub timezone: Tz,
    pub first_day: NaiveDate,
    pub days: u32,
    /// Heart-rate sampling interval of the watch, in minutes.
    pub heart_rate_every_minutes: i64,
}

/// The user's devices with their samples.
pub fn generate(spec: &UserSpec) -> Vec<GeneratedDevice> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let mut watch = Vec::new();
    let mut phone = Vec::new();
    let mut scale = Vec::new();
    for d in 0..spec.days {
        let day = spec.first_day + Duration::days(d.into());
        let at = |h: u32, m: u32| local(spec.timezone, day, h, m);
        // Awake 07:00-23:00. The watch is off the wrist for an hour at a random time.
        let off_from = rng.random_range(8..20);
        let mut t = at(7, 0);
        while t < at(23, 0) {
            let minutes = rng.random_range(5..20);
            let end = t + Duration::minutes(minutes);
            let off = t >= at(off_from, 0) && t < at(off_from + 1, 0);
            let cadence: f64 = rng.random_range(0.0..22.0);
            if !off {
                watch.push(sample(
                    "STEPS",
                    (cadence * minutes as f64).round(),
                    "count",
                    t,
                    end,
                ));
            }
            t = end;
        }
        // The phone records coarser blocks while it is carried, also while the watch is on.
        let mut t = at(7, rng.random_range(0..30));
        while t < at(22, 0) {
            let minutes = rng.random_range(15..60);
            let end = t + Duration::minutes(minutes);
            if rng.random_bool(0.7) {
                let cadence: f64 = rng.random_range(0.0..18.0);
                phone.push(sample(
                    "STEPS",
                    (cadence * minutes as f64).round(),
                    "count",
                    t,
                    end,
                ));
            }
            t = end + Duration::minutes(rng.random_range(0..20));
        }
        let mut t = at(7, 0);
        while t < at(23, 0) {
            let bpm: f64 = rng.random_range(58.0..110.0);
            watch.push(sample("HEART_RATE", bpm.round(), "count/min", t, t));
            t += Duration::minutes(spec.heart_rate_every_minutes);
        }
        let kg: f64 = 72.0 + rng.random_range(-0.6..0.6);
        scale.push(sample(
            "WEIGHT",
            (kg * 10.0).round() / 10.0,
            "kg",
            at(7, 5),
            at(7, 5),
        ));
        let sleep_start = at(23, rng.random_range(0..50));
        let asleep = rng.random_range(330..480);
        watch.push(sample(
            "SLEEP_ANALYSIS",
            asleep as f64,
            "min",
            sleep_start,
            sleep_start + Duration::minutes(asleep),
        ));
    }
    vec![
        GeneratedDevice {
            device_type: "apple_watch",
            identifier: format!("watch-{}", spec.seed),
            samples: watch,
        },
        GeneratedDevice {
            device_type: "iphone",
            identifier: format!("phone-{}", spec.seed),
            samples: phone,
        },
        GeneratedDevice {
            device_type: "third_party_scale",
            identifier: format!("scale-{}", spec.seed),
            samples: scale,
        },
    ]
}

fn sample(kind: &str, value: f64, unit: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> Value {
    json!({"type": kind, "value": value, "unit": unit,
           "start_date": start.to_rfc3339(), "end_date": end.to_rfc3339()})
}

/// A local wall-clock time; in a DST gap, the first instant after it.
pub fn local(tz: Tz, day: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    let naive = day.and_hms_opt(h, m, 0).expect("valid time");
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })
        .expect("an hour after a gap exists")
        .with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
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
    fn the_same_seed_gives_the_same_samples() {
        let a: Vec<_> = generate(&spec(7)).into_iter().map(|d| d.samples).collect();
        let b: Vec<_> = generate(&spec(7)).into_iter().map(|d| d.samples).collect();
        let c: Vec<_> = generate(&spec(8)).into_iter().map(|d| d.samples).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn watch_and_phone_overlap_so_deduplication_matters() {
        let devices = generate(&spec(1));
        let steps = |d: &GeneratedDevice| -> Vec<(String, String)> {
            d.samples
                .iter()
                .filter(|s| s["type"] == "STEPS")
                .map(|s| {
                    (
                        s["start_date"].as_str().unwrap().to_string(),
                        s["end_date"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        };
        let watch = steps(&devices[0]);
        let phone = steps(&devices[1]);
        let overlapping = phone
            .iter()
            .filter(|(ps, pe)| watch.iter().any(|(ws, we)| ws < pe && ps < we))
            .count();
        assert!(
            overlapping > 10,
            "only {overlapping} overlapping phone samples"
        );
    }
}
