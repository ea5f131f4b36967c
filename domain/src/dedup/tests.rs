//! Unit tests of deduplication: what counts, and the explanations.

use super::*;
use chrono::TimeZone;

/// A sample on 2026-05-05 UTC with times given as "HH:MM".
fn s(
    id: &str,
    device: &str,
    sample_type: SampleType,
    value: f64,
    start: &str,
    end: &str,
) -> Sample {
    let at = |hm: &str| {
        let (h, m) = hm.split_once(':').unwrap();
        Utc.with_ymd_and_hms(2026, 5, 5, h.parse().unwrap(), m.parse().unwrap(), 0)
            .unwrap()
    };
    Sample {
        id: id.into(),
        device_id: device.into(),
        sample_type,
        value,
        start: at(start),
        end: at(end),
    }
}

fn ranking() -> DeviceRanking {
    let mut r = DeviceRanking::new();
    r.set_priority("watch", 100)
        .set_priority("phone", 50)
        .set_priority("ring", 10);
    r
}

fn outcomes(samples: &[Sample]) -> Vec<SampleOutcome> {
    dedup(samples, &ranking())
        .iter()
        .map(|(_, o)| o.clone())
        .collect()
}

fn amounts(o: &SampleOutcome) -> Vec<f64> {
    match &o.counted {
        Counted::Pieces(p) => p.iter().map(|p| p.amount).collect(),
        Counted::Survives(_) => panic!("not cumulative"),
    }
}

fn dropped_by(devices: &[&str]) -> Reason {
    Reason::Dropped {
        covered_by: devices.iter().map(|d| d.to_string()).collect(),
    }
}

const STEPS: SampleType = SampleType::Steps;
const HR: SampleType = SampleType::HeartRate;

#[test]
fn lower_sample_keeps_the_pieces_around_covered_holes() {
    let o = outcomes(&[
        s("p", "phone", STEPS, 1200.0, "10:30", "12:30"),
        s("wa", "watch", STEPS, 220.0, "10:50", "11:10"),
        s("wb", "watch", STEPS, 180.0, "11:40", "12:00"),
        s("wc", "watch", STEPS, 0.0, "12:00", "12:30"),
    ]);
    assert_eq!(amounts(&o[0]), [200.0, 300.0]);
    assert!((o[0].fraction - 5.0 / 12.0).abs() < 1e-12);
    assert_eq!(
        o[0].reason,
        Reason::Trimmed {
            by: vec!["watch".into()]
        }
    );
    assert_eq!((o[1].reason.clone(), o[1].fraction), (Reason::Kept, 1.0));
    // Adjacent watch samples do not merge into one piece: pieces are per sample.
    assert_eq!(amounts(&o[3]), [0.0]);
    assert!(o[3].is_counted());
}

#[test]
fn winner_per_elementary_interval_with_three_devices() {
    let o = outcomes(&[
        s("r", "ring", SampleType::Distance, 1200.0, "08:00", "10:00"),
        s("p", "phone", SampleType::Distance, 900.0, "08:30", "09:30"),
        s("w", "watch", SampleType::Distance, 400.0, "08:45", "09:15"),
    ]);
    assert_eq!(amounts(&o[0]), [300.0, 300.0]);
    assert_eq!(amounts(&o[1]), [225.0, 225.0]);
    assert_eq!(
        o[0].reason,
        Reason::Trimmed {
            by: vec!["watch".into(), "phone".into()]
        }
    );
    assert_eq!(
        o[1].reason,
        Reason::Trimmed {
            by: vec!["watch".into()]
        }
    );
    assert_eq!((o[0].rank, o[1].rank, o[2].rank), (2, 1, 0));
}

#[test]
fn fully_covered_sample_is_dropped_and_same_device_overlaps_both_count() {
    let o = outcomes(&[
        s("w1", "watch", STEPS, 200.0, "10:00", "10:20"),
        s("w2", "watch", STEPS, 100.0, "10:10", "10:30"),
        s("p", "phone", STEPS, 300.0, "10:00", "10:30"),
    ]);
    assert_eq!(amounts(&o[0]), [200.0]);
    assert_eq!(amounts(&o[1]), [100.0]);
    assert_eq!(o[2].counted, Counted::Pieces(vec![]));
    assert_eq!(
        (o[2].reason.clone(), o[2].fraction),
        (dropped_by(&["watch"]), 0.0)
    );
}

#[test]
fn piece_spans_several_winner_changes_of_other_devices() {
    // The ring loses 10:00-10:20 to the phone and 10:20-10:40 to the watch, then wins.
    let o = outcomes(&[
        s("r", "ring", STEPS, 60.0, "10:00", "11:00"),
        s("p", "phone", STEPS, 20.0, "10:00", "10:30"),
        s("w", "watch", STEPS, 20.0, "10:20", "10:40"),
    ]);
    assert_eq!(amounts(&o[0]), [20.0]);
    assert_eq!(amounts(&o[1]), [20.0 * (20.0 / 30.0)]);
    assert_eq!(
        o[0].reason,
        Reason::Trimmed {
            by: vec!["watch".into(), "phone".into()]
        }
    );
}

#[test]
fn cumulative_instants() {
    let o = outcomes(&[
        s("w1", "watch", STEPS, 300.0, "10:00", "10:30"),
        s("w2", "watch", STEPS, 5.0, "10:15", "10:15"),
        s("w3", "watch", STEPS, 20.0, "10:45", "10:45"),
        s("p1", "phone", STEPS, 7.0, "10:00", "10:00"),
        s("p2", "phone", STEPS, 40.0, "10:30", "10:30"),
        s("p3", "phone", STEPS, 25.0, "10:45", "10:45"),
    ]);
    let t = |hm| s("x", "x", STEPS, 0.0, hm, hm).start;
    assert_eq!(
        o[1].counted,
        Counted::Pieces(vec![Piece {
            from: t("10:15"),
            to: t("10:15"),
            amount: 5.0
        }])
    );
    assert_eq!(o[2].reason, Reason::Kept);
    assert_eq!(o[3].reason, dropped_by(&["watch"]));
    assert_eq!(o[4].reason, Reason::Kept);
    assert_eq!(
        (o[5].reason.clone(), o[5].fraction),
        (dropped_by(&["watch"]), 0.0)
    );
}

#[test]
fn discrete_cover_by_a_union_of_devices() {
    let o = outcomes(&[
        s("w", "watch", HR, 70.0, "10:00", "10:05"),
        s("p", "phone", HR, 72.0, "10:05", "10:10"),
        s("r1", "ring", HR, 80.0, "10:02", "10:08"),
        s("r2", "ring", HR, 81.0, "10:08", "10:12"),
        s("r3", "ring", HR, 82.0, "10:09", "10:09"),
        s("r4", "ring", HR, 83.0, "10:10", "10:10"),
        s("w2", "watch", HR, 75.0, "10:03", "10:03"),
    ]);
    assert_eq!(o[2].reason, dropped_by(&["watch", "phone"]));
    assert_eq!(o[2].counted, Counted::Survives(false));
    assert_eq!((o[3].reason.clone(), o[3].fraction), (Reason::Kept, 1.0));
    assert_eq!(o[4].reason, dropped_by(&["phone"]));
    assert_eq!(o[5].reason, Reason::Kept);
    // An instant inside a lower device's range does not drop that range (o[1] survives).
    assert_eq!(o[1].counted, Counted::Survives(true));
}

#[test]
fn discrete_instants_at_the_same_time() {
    let o = outcomes(&[
        s("w1", "watch", HR, 65.0, "09:00", "09:00"),
        s("w2", "watch", HR, 67.0, "09:00", "09:00"),
        s("p1", "phone", HR, 66.0, "09:00", "09:00"),
    ]);
    assert!(o[0].is_counted() && o[1].is_counted());
    assert_eq!(o[2].reason, dropped_by(&["watch"]));
}

#[test]
fn types_are_deduplicated_independently() {
    let o = outcomes(&[
        s("w", "watch", STEPS, 10.0, "10:00", "10:30"),
        s("p", "phone", SampleType::Distance, 5.0, "10:00", "10:30"),
    ]);
    assert_eq!((o[0].rank, o[1].rank), (0, 0));
    assert!(o.iter().all(|o| o.reason == Reason::Kept));
}

#[test]
fn outcome_serializes_with_a_tagged_reason() {
    let o = SampleOutcome::whole(1, false, vec!["watch".into()]);
    let json = serde_json::to_value(&o).unwrap();
    assert_eq!(
        json["reason"],
        serde_json::json!({"reason": "dropped", "covered_by": ["watch"]})
    );
    assert_eq!(json["counted"], serde_json::json!({"survives": false}));
}

/// The "textbook" approach: by priority, trim each sample by the FIRST better range that
/// overlaps it, keeping one interval. It cannot keep both sides of a covered hole.
fn textbook_counted(samples: &[Sample], ranking: &DeviceRanking) -> f64 {
    let mut total = 0.0;
    for s in samples {
        let better = samples.iter().filter(|o| {
            ranking
                .compare(o.sample_type, &o.device_id, &s.device_id)
                .is_lt()
        });
        let (mut from, mut to) = (s.start, s.end);
        if let Some(o) = better
            .filter(|o| o.start < s.end && o.end > s.start)
            .min_by_key(|o| o.start)
        {
            if o.start <= from {
                from = o.end.min(to)
            } else {
                to = o.start
            }
        }
        total += s.value * crate::time::seconds(to - from) / crate::time::seconds(s.end - s.start);
    }
    total
}

#[test]
fn textbook_trim_differs_on_a_covered_hole() {
    let samples = [
        s("p", "phone", STEPS, 1200.0, "10:30", "12:30"),
        s("w", "watch", STEPS, 220.0, "10:50", "11:10"),
    ];
    let ours: f64 = outcomes(&samples).iter().flat_map(amounts).sum();
    // Phone keeps 10:30-10:50 and 11:10-12:30 (1000) plus the watch's 220.
    assert_eq!(ours, 1220.0);
    // The textbook trim keeps only 10:30-10:50 of the phone.
    assert_eq!(textbook_counted(&samples, &ranking()), 420.0);
}
