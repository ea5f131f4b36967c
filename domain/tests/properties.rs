//! Property tests of deduplication and aggregation against independent, simpler statements of
//! the contract. Samples sit on whole minutes in a three-day window around DST changes, month
//! and year ends, in zones with whole-hour and half-hour offsets, so every bucket boundary is a
//! whole minute and the reference can work minute by minute.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeDelta, Timelike, Utc};
use chrono_tz::{America, Asia, Australia, Europe, Tz, UTC};
use healthpipe_domain::{
    aggregate_user, aggregate_user_days, bucket_start, combine, dedup, next_bucket_start,
    split_range, AggregateRow, AggregationKind, Bucketer, Counted, DeviceRanking, Period, Reason,
    Sample, SampleType,
};
use proptest::prelude::*;

const TYPES: [SampleType; 4] = [
    SampleType::Steps,
    SampleType::SleepAnalysis,
    SampleType::HeartRate,
    SampleType::Weight,
];
const WINDOW_MINUTES: i64 = 3 * 24 * 60;

fn zone_and_base() -> impl Strategy<Value = (Tz, DateTime<Utc>)> {
    let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    prop_oneof![
        Just((Europe::Berlin, utc("2026-03-28T00:00:00Z"))),
        Just((Europe::Berlin, utc("2026-10-24T00:00:00Z"))),
        Just((America::New_York, utc("2026-03-07T00:00:00Z"))),
        Just((America::New_York, utc("2026-10-31T00:00:00Z"))),
        Just((Asia::Kolkata, utc("2026-05-30T00:00:00Z"))),
        Just((UTC, utc("2025-12-30T00:00:00Z"))),
    ]
}

/// (type index, device index, value, start minute, duration minutes; 0 = instant).
type Spec = (usize, usize, f64, i64, i64);

fn specs(devices: usize) -> impl Strategy<Value = Vec<Spec>> {
    specs_lasting(devices, prop_oneof![1 => Just(0i64), 3 => 1..180i64])
}

/// Like [`specs`], with durations up to the types' maximum of a day (the reach of a day is
/// one maximum duration either side: long samples test its edges).
fn long_specs(devices: usize) -> impl Strategy<Value = Vec<Spec>> {
    specs_lasting(
        devices,
        prop_oneof![1 => Just(0i64), 2 => 1..180i64, 2 => 1200..=1440i64],
    )
}

/// Up to 40 samples of `devices` devices lasting `minutes`.
fn specs_lasting(
    devices: usize,
    minutes: impl Strategy<Value = i64>,
) -> impl Strategy<Value = Vec<Spec>> {
    prop::collection::vec(
        (
            0..TYPES.len(),
            0..devices,
            0.0..1000.0f64,
            0..WINDOW_MINUTES,
            minutes,
        ),
        0..40,
    )
}

fn build(specs: &[Spec], base: DateTime<Utc>) -> Vec<Sample> {
    specs
        .iter()
        .enumerate()
        .map(|(i, &(t, d, value, start, duration))| {
            let start = base + TimeDelta::minutes(start);
            Sample {
                id: format!("s{i}"),
                device_id: format!("d{d}"),
                sample_type: TYPES[t],
                value,
                start,
                end: start + TimeDelta::minutes(duration),
            }
        })
        .collect()
}

fn ranking(priorities: &[i64]) -> DeviceRanking {
    let mut r = DeviceRanking::new();
    for (d, &p) in priorities.iter().enumerate() {
        r.set_priority(format!("d{d}"), p);
    }
    r
}

fn run(samples: &[Sample], ranking: &DeviceRanking, tz: Tz) -> Vec<AggregateRow> {
    aggregate_user(samples, &HashSet::new(), ranking, tz)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn assert_same_rows(a: &[AggregateRow], b: &[AggregateRow]) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        prop_assert_eq!(
            (x.sample_type, x.period, x.period_start, x.sample_count),
            (y.sample_type, y.period, y.period_start, y.sample_count)
        );
        for (p, q) in [
            (x.value, y.value),
            (x.min_value, y.min_value),
            (x.max_value, y.max_value),
        ] {
            prop_assert!(close(p, q), "{:?} vs {:?}", x, y);
        }
    }
    Ok(())
}

/// The local identity of a bucket, computed without the crate's bucket code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum LocalKey {
    Hour(NaiveDate, u32, i32),
    Day(NaiveDate),
    Week(i32, u32),
    Month(i32, u32),
}

fn local_key(period: Period, t: DateTime<Utc>, tz: Tz) -> LocalKey {
    let local = t.with_timezone(&tz);
    let date = local.date_naive();
    match period {
        Period::Hour => LocalKey::Hour(date, local.hour(), local.offset().fix().local_minus_utc()),
        Period::Day => LocalKey::Day(date),
        Period::Week => LocalKey::Week(date.iso_week().year(), date.iso_week().week()),
        Period::Month => LocalKey::Month(date.year(), date.month()),
    }
}

/// A bucket as the reference names it.
type RefKey = (SampleType, Period, LocalKey);

/// Plain aggregation of one device's samples: every sample counts in full, a cumulative one
/// spread evenly over its minutes. Returns (type, period, key) -> (value, min, max, count).
fn reference(samples: &[Sample], tz: Tz) -> BTreeMap<RefKey, (f64, f64, f64, u32)> {
    let mut contributions: BTreeMap<RefKey, Vec<(f64, &Sample)>> = BTreeMap::new();
    for s in samples {
        for period in Period::ALL {
            let mut mine: HashMap<LocalKey, f64> = HashMap::new();
            let minutes = (s.end - s.start).num_minutes();
            if s.sample_type.kind() != AggregationKind::Cumulative || minutes == 0 {
                mine.insert(local_key(period, s.start, tz), s.value);
            } else {
                for m in 0..minutes {
                    let key = local_key(period, s.start + TimeDelta::minutes(m), tz);
                    *mine.entry(key).or_default() += s.value / minutes as f64;
                }
            }
            for (key, amount) in mine {
                contributions
                    .entry((s.sample_type, period, key))
                    .or_default()
                    .push((amount, s));
            }
        }
    }
    contributions
        .into_iter()
        .map(|(key, list)| {
            let values: Vec<f64> = list.iter().map(|c| c.0).collect();
            let sum: f64 = values.iter().sum();
            let value = match key.0.kind() {
                AggregationKind::Cumulative => sum,
                AggregationKind::Discrete => sum / values.len() as f64,
                AggregationKind::Latest => {
                    list.iter()
                        .max_by_key(|(_, s)| (s.start, s.end, s.id.clone()))
                        .unwrap()
                        .0
                }
            };
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (key, (value, min, max, values.len() as u32))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Rule 3: apart from repeated ids (all ids are unique here), input order does not matter.
    #[test]
    fn order_of_samples_does_not_matter(
        (tz, base) in zone_and_base(),
        priorities in prop::collection::vec(0..3i64, 3),
        (specs, order) in specs(3).prop_flat_map(|v| {
            let indices: Vec<usize> = (0..v.len()).collect();
            (Just(v), Just(indices).prop_shuffle())
        }),
    ) {
        let ranking = ranking(&priorities);
        let samples = build(&specs, base);
        let shuffled: Vec<Sample> = order.iter().map(|&i| samples[i].clone()).collect();
        assert_same_rows(&run(&samples, &ranking, tz), &run(&shuffled, &ranking, tz))?;
    }

    /// What the processor relies on: each day's partial computed from only the samples
    /// starting in the day's reach and not ending before it (as it loads them) combines into
    /// exactly the week and month rows computed from all samples, bit for bit; and the hour
    /// and day rows match too.
    #[test]
    fn weeks_and_months_combine_from_days_computed_alone(
        (tz, base) in zone_and_base(),
        priorities in prop::collection::vec(0..3i64, 3),
        specs in long_specs(3),
    ) {
        let ranking = ranking(&priorities);
        let samples = build(&specs, base);
        let all = run(&samples, &ranking, tz);
        let none = HashSet::new();
        let (days, full_partials) = aggregate_user_days(&samples, &none, &ranking, tz);
        let mut partials = Vec::new();
        for full in &full_partials {
            let day_end = next_bucket_start(Period::Day, full.day_start, tz);
            let reach = full.sample_type.reach(full.day_start, day_end);
            let near: Vec<Sample> = samples
                .iter()
                .filter(|s| {
                    s.sample_type == full.sample_type
                        && reach.contains(&s.start)
                        && s.end >= full.day_start
                })
                .cloned()
                .collect();
            let (_, alone) = aggregate_user_days(&near, &none, &ranking, tz);
            let day = alone.into_iter().find(|p| p.day_start == full.day_start);
            prop_assert_eq!(day.as_ref(), Some(full));
            partials.extend(day);
        }
        let mut combined: Vec<AggregateRow> = days;
        combined.extend(combine(&partials, Period::Week, tz));
        combined.extend(combine(&partials, Period::Month, tz));
        combined.sort_by_key(|r| (r.sample_type, r.period, r.period_start));
        prop_assert_eq!(
            format!("{combined:?}"),
            format!("{all:?}"),
            "bit-identical rows (Debug prints every float exactly)"
        );
    }

    /// With one device nothing is deduplicated: the result is a plain aggregation.
    #[test]
    fn single_device_equals_plain_aggregation((tz, base) in zone_and_base(), specs in specs(1)) {
        let samples = build(&specs, base);
        let rows = run(&samples, &ranking(&[7]), tz);
        let want = reference(&samples, tz);
        prop_assert_eq!(rows.len(), want.len());
        for r in &rows {
            let key = (r.sample_type, r.period, local_key(r.period, r.period_start, tz));
            let w = want.get(&key);
            prop_assert!(w.is_some(), "unexpected row {:?}", r);
            let &(value, min, max, count) = w.unwrap();
            prop_assert_eq!(r.sample_count, count, "{:?}", r);
            prop_assert!(close(r.value, value) && close(r.min_value, min) && close(r.max_value, max), "{:?} vs {:?}", r, w);
        }
    }

    /// Every period partitions time, so each cumulative type has the same total in all four.
    #[test]
    fn cumulative_totals_are_conserved_across_periods(
        (tz, base) in zone_and_base(),
        priorities in prop::collection::vec(0..3i64, 3),
        specs in specs(3),
    ) {
        let samples = build(&specs, base);
        let ranking = ranking(&priorities);
        let rows = run(&samples, &ranking, tz);
        for t in [SampleType::Steps, SampleType::SleepAnalysis] {
            let total = |p: Period| rows.iter().filter(|r| r.sample_type == t && r.period == p).map(|r| r.value).sum::<f64>();
            let counted: f64 = dedup(&samples, &ranking)
                .iter()
                .filter(|(s, _)| s.sample_type == t)
                .flat_map(|(_, o)| match &o.counted { Counted::Pieces(p) => p.clone(), Counted::Survives(_) => vec![] })
                .map(|p| p.amount)
                .sum();
            for p in Period::ALL {
                prop_assert!((total(p) - counted).abs() <= 1e-7 * counted.max(1.0), "{:?} {:?}: {} vs {}", t, p, total(p), counted);
            }
        }
    }

    /// A cumulative sample never counts more than its value; fraction and reason agree.
    #[test]
    fn counted_amount_is_bounded_and_explained(
        priorities in prop::collection::vec(0..3i64, 3),
        specs in specs(3),
    ) {
        let base = DateTime::parse_from_rfc3339("2026-05-04T00:00:00Z").unwrap().to_utc();
        let samples = build(&specs, base);
        for (s, o) in dedup(&samples, &ranking(&priorities)).iter() {
            prop_assert!((0.0..=1.0).contains(&o.fraction));
            if let Counted::Pieces(pieces) = &o.counted {
                let amount: f64 = pieces.iter().map(|p| p.amount).sum();
                prop_assert!(amount <= s.value * (1.0 + 1e-12));
                prop_assert!(close(amount, s.value * o.fraction), "{} vs {} * {}", amount, s.value, o.fraction);
                prop_assert!(pieces.iter().all(|p| s.start <= p.from && p.from <= p.to && p.to <= s.end));
                prop_assert!(pieces.windows(2).all(|w| w[0].to <= w[1].from));
            }
            match &o.reason {
                Reason::Kept => prop_assert!(o.fraction == 1.0),
                Reason::Trimmed { by } => prop_assert!(o.fraction > 0.0 && o.fraction < 1.0 && !by.is_empty()),
                Reason::Dropped { covered_by } => prop_assert!(!o.is_counted() && !covered_by.is_empty()),
            }
        }
    }

    /// Coverage is a share of the bucket in 0..=1, given exactly for cumulative types; for hours
    /// and days it is the minutes some sample with duration spans (every such minute is won by
    /// a device, so it counts) over the bucket's minutes, DST days included. At least one
    /// device contributes to a row, and never more than its counted samples.
    #[test]
    fn coverage_is_a_share_of_the_bucket(
        (tz, base) in zone_and_base(),
        priorities in prop::collection::vec(0..3i64, 3),
        specs in specs(3),
    ) {
        let samples = build(&specs, base);
        let rows = run(&samples, &ranking(&priorities), tz);
        // Per type, whether each minute of the window (and the 3 h after it) is spanned.
        let spanned: HashMap<SampleType, Vec<bool>> = TYPES
            .iter()
            .map(|&t| {
                let mut minutes = vec![false; (WINDOW_MINUTES + 180) as usize];
                for s in samples.iter().filter(|s| s.sample_type == t) {
                    let from = (s.start - base).num_minutes();
                    for m in from..(s.end - base).num_minutes() {
                        minutes[m as usize] = true;
                    }
                }
                (t, minutes)
            })
            .collect();
        for r in &rows {
            prop_assert!(r.device_count >= 1 && r.device_count <= r.sample_count.min(3), "{:?}", r);
            let Some(coverage) = r.coverage else {
                prop_assert!(r.sample_type.kind() != AggregationKind::Cumulative, "{:?}", r);
                continue;
            };
            prop_assert!(r.sample_type.kind() == AggregationKind::Cumulative, "{:?}", r);
            prop_assert!((0.0..=1.0).contains(&coverage), "{:?}", r);
            if matches!(r.period, Period::Hour | Period::Day) {
                let key = local_key(r.period, r.period_start, tz);
                let (mut minutes, mut covered) = (0u32, 0u32);
                let mut t = r.period_start;
                while local_key(r.period, t, tz) == key {
                    minutes += 1;
                    let m = (t - base).num_minutes();
                    covered += u32::from(m >= 0 && spanned[&r.sample_type].get(m as usize) == Some(&true));
                    t += TimeDelta::minutes(1);
                }
                prop_assert!(close(coverage, f64::from(covered) / f64::from(minutes)), "{:?}: {}/{}", r, covered, minutes);
            }
        }
    }

    /// A better device covering all the time leaves nothing to the others.
    #[test]
    fn a_covering_better_device_takes_everything((tz, base) in zone_and_base(), specs in specs(2)) {
        let low: Vec<Sample> = build(&specs, base).into_iter().map(|s| Sample { device_id: "low".into(), ..s }).collect();
        let window_end = base + TimeDelta::minutes(WINDOW_MINUTES + 180);
        let high: Vec<Sample> = TYPES
            .iter()
            .flat_map(|&t| {
                // Two overlapping ranges per type: the union covers the window.
                let mid = base + TimeDelta::hours(30);
                [(base - TimeDelta::minutes(1), mid + TimeDelta::hours(1)), (mid, window_end)]
                    .into_iter()
                    .enumerate()
                    .map(move |(i, (start, end))| Sample { id: format!("high-{t}-{i}"), device_id: "high".into(), sample_type: t, value: 50.0, start, end })
            })
            .collect();
        let mut ranking = DeviceRanking::new();
        ranking.set_priority("high", 2).set_priority("low", 1);
        let all: Vec<Sample> = low.iter().chain(&high).cloned().collect();
        for (s, o) in dedup(&all, &ranking).iter() {
            prop_assert_eq!(o.is_counted(), s.device_id == "high", "{:?}", s);
        }
        assert_same_rows(&run(&all, &ranking, tz), &run(&high, &ranking, tz))?;
    }

    /// The memoising `Bucketer` answers exactly like `bucket_start`, in any query order, and
    /// splits cover a range without gaps, each part inside its bucket. Zones include a
    /// 30-minute DST (Lord Howe), a midnight gap (Santiago) and a repeated midnight (Havana).
    #[test]
    fn bucketer_agrees_with_bucket_start(
        tz in prop_oneof![
            Just(Europe::Berlin), Just(America::New_York), Just(Asia::Kolkata),
            Just(Australia::Lord_Howe), Just(America::Santiago), Just(America::Havana),
        ],
        seconds in prop::collection::vec(0..2 * 366 * 86_400i64, 1..60),
        length in 0..3 * 86_400i64,
    ) {
        let base = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().to_utc();
        for period in Period::ALL {
            let mut bucketer = Bucketer::new(period, tz);
            for &s in &seconds {
                let t = base + TimeDelta::seconds(s);
                prop_assert_eq!(bucketer.bucket_start(t), bucket_start(period, t, tz), "{:?} {}", period, t);
            }
            let from = base + TimeDelta::seconds(seconds[0]);
            let to = from + TimeDelta::seconds(length);
            let spans = split_range(period, from, to, tz);
            prop_assert_eq!(spans.first().map_or(to, |s| s.from), from);
            prop_assert_eq!(spans.last().map_or(from, |s| s.to), to);
            for w in spans.windows(2) {
                prop_assert!(w[0].to == w[1].from && w[0].period_start != w[1].period_start);
            }
            for s in &spans {
                prop_assert_eq!(bucket_start(period, s.from, tz), s.period_start);
                prop_assert_eq!(bucket_start(period, s.to - TimeDelta::nanoseconds(1), tz), s.period_start);
            }
        }
    }
}
