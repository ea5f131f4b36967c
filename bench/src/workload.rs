//! The benchmark workload: realistic users (`crate::realistic`) turned
//! into the sync requests their devices would send, in the order they would send them. Each
//! device syncs once a day in requests of at most 500 samples; some device-days are uploaded
//! days late, and some requests are sent twice (a client that timed out and retried). The
//! same seed gives the same bodies, byte for byte.

use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::realistic::{generate_realistic, GenSample};
use healthpipe::workload::UserSpec;

/// Samples per sync request.
pub const BATCH: usize = 500;

/// Time zones the generated users live in (whole and half-hour offsets, both hemispheres).
const ZONES: [Tz; 8] = [
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::America::Los_Angeles,
    chrono_tz::Europe::London,
    chrono_tz::Asia::Tokyo,
    chrono_tz::Australia::Sydney,
    chrono_tz::America::Sao_Paulo,
    chrono_tz::Asia::Kolkata,
];

#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    pub users: usize,
    pub days: u32,
    pub first_day: NaiveDate,
    pub seed: u64,
    /// Share of device-days uploaded 2 to 4 days late.
    pub late_share: f64,
    /// Share of requests sent twice.
    pub retry_share: f64,
}

/// A generated user: zone and devices (type, identifier).
#[derive(Debug, Clone)]
pub struct PlannedUser {
    pub timezone: Tz,
    pub devices: Vec<(&'static str, String)>,
}

/// One sync request body, for device `device` of user `user`.
#[derive(Debug, Clone)]
pub struct Upload {
    pub user: usize,
    pub device: usize,
    pub body: Bytes,
    pub samples: usize,
    pub late: bool,
    pub retry: bool,
}

/// Users and their uploads in sending order.
#[derive(Debug, Default)]
pub struct Workload {
    pub users: Vec<PlannedUser>,
    pub uploads: Vec<Upload>,
}

impl Workload {
    /// Samples sent, retries included.
    pub fn samples(&self) -> usize {
        self.uploads.iter().map(|u| u.samples).sum()
    }
}

/// Builds the workload on every core (users are independent).
pub fn build(spec: &WorkloadSpec) -> Workload {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let spec = Arc::new(spec.clone());
    let parts: Vec<Vec<UserPart>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let spec = spec.clone();
                s.spawn(move || {
                    (t..spec.users)
                        .step_by(threads)
                        .map(|u| {
                            let (user, uploads) = build_user(&spec, u);
                            (u as u64, user, uploads)
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("generator thread"))
            .collect()
    });
    let mut users: Vec<(u64, PlannedUser)> = Vec::new();
    let mut keyed: Vec<(SortKey, Upload)> = Vec::new();
    for part in parts {
        for (index, user, uploads) in part {
            users.push((index, user));
            keyed.extend(uploads);
        }
    }
    users.sort_by_key(|(i, _)| *i);
    // Within an upload day, users sync in a random (seeded) order, each device's requests
    // in sequence: phones are independent of each other.
    let mut rng = StdRng::seed_from_u64(spec.seed ^ 0x0de7);
    let days = spec.days as usize + 5;
    let orders: Vec<Vec<u32>> = (0..days)
        .map(|_| {
            let mut order: Vec<u32> = (0..spec.users as u32).collect();
            order.shuffle(&mut rng);
            let mut rank = vec![0u32; spec.users];
            for (position, user) in order.iter().enumerate() {
                rank[*user as usize] = position as u32;
            }
            rank
        })
        .collect();
    keyed.sort_by_key(|(k, u)| {
        (
            k.upload_day,
            orders[k.upload_day as usize][u.user],
            u.device,
            k.sequence,
        )
    });
    Workload {
        users: users.into_iter().map(|(_, u)| u).collect(),
        uploads: keyed.into_iter().map(|(_, u)| u).collect(),
    }
}

/// A user's index, the user and their keyed uploads, as one generator thread returns them.
type UserPart = (u64, PlannedUser, Vec<(SortKey, Upload)>);

#[derive(Debug, Clone, Copy)]
struct SortKey {
    upload_day: u32,
    sequence: u32,
}

/// The user's zone, seed and spec (the same for every caller that needs them).
pub fn user_spec(spec: &WorkloadSpec, index: usize) -> UserSpec {
    let seed = spec.seed.wrapping_mul(1_000_003).wrapping_add(index as u64);
    UserSpec {
        seed,
        timezone: ZONES[index % ZONES.len()],
        first_day: spec.first_day,
        days: spec.days,
        heart_rate_every_minutes: 1,
    }
}

fn build_user(spec: &WorkloadSpec, index: usize) -> (PlannedUser, Vec<(SortKey, Upload)>) {
    let user_spec = user_spec(spec, index);
    let devices = generate_realistic(&user_spec);
    let mut rng = StdRng::seed_from_u64(user_spec.seed ^ 0x1a7e);
    let mut uploads = Vec::new();
    let mut sequence = 0u32;
    for (d, device) in devices.iter().enumerate() {
        for (day, samples) in device.days.iter().enumerate() {
            let late = rng.random_bool(spec.late_share);
            let upload_day = day as u32 + if late { rng.random_range(2..=4) } else { 0 };
            for chunk in samples.chunks(BATCH) {
                let body = body(chunk, user_spec.timezone);
                let copies = if rng.random_bool(spec.retry_share) {
                    2
                } else {
                    1
                };
                for copy in 0..copies {
                    uploads.push((
                        SortKey {
                            upload_day,
                            sequence,
                        },
                        Upload {
                            user: index,
                            device: d,
                            body: body.clone(),
                            samples: chunk.len(),
                            late,
                            retry: copy > 0,
                        },
                    ));
                    sequence += 1;
                }
            }
        }
    }
    let user = PlannedUser {
        timezone: user_spec.timezone,
        devices: devices
            .into_iter()
            .map(|d| (d.device_type, d.identifier))
            .collect(),
    };
    (user, uploads)
}

/// `{"samples": [...]}` with times in the user's zone.
pub fn body(samples: &[GenSample], tz: Tz) -> Bytes {
    let mut out = String::with_capacity(16 + samples.len() * 170);
    out.push_str(r#"{"samples":["#);
    for (i, s) in samples.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        s.write_json(tz, &mut out);
    }
    out.push_str("]}");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> WorkloadSpec {
        WorkloadSpec {
            users: 6,
            days: 3,
            first_day: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            seed: 42,
            late_share: 0.2,
            retry_share: 0.2,
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_requests_in_the_same_order() {
        let a = build(&spec());
        let b = build(&spec());
        assert_eq!(a.uploads.len(), b.uploads.len());
        assert!(a
            .uploads
            .iter()
            .zip(&b.uploads)
            .all(|(x, y)| x.body == y.body && x.user == y.user));
    }

    #[test]
    fn requests_hold_at_most_a_batch_and_include_late_uploads_and_retries() {
        let w = build(&spec());
        assert!(w
            .uploads
            .iter()
            .all(|u| u.samples <= BATCH && u.samples > 0));
        assert!(w.uploads.iter().any(|u| u.late));
        assert!(w.uploads.iter().any(|u| u.retry));
        let first: serde_json::Value = serde_json::from_slice(&w.uploads[0].body).unwrap();
        assert_eq!(
            first["samples"].as_array().unwrap().len(),
            w.uploads[0].samples
        );
        // A retry is the request before it, sent again.
        let i = w.uploads.iter().position(|u| u.retry).unwrap();
        assert_eq!(w.uploads[i].body, w.uploads[i - 1].body);
    }
}
