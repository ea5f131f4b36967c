//! Unit tests of `evaluate` as a whole: which outcomes come back, in what order, and how the
//! user's zone decides local days, weeks and nights.

use super::test_support::{at, date, find, keys, Fixture};
use super::*;
use chrono_tz::{America, Pacific, UTC};

#[test]
fn every_evaluated_rule_and_window_has_an_outcome_in_a_fixed_order() {
    // Wednesday, no data at all, one changed day: everything is evaluated and nothing holds.
    let mut fx = Fixture::new(UTC, at("2026-11-25T10:00:00Z"));
    fx.changed("2026-11-24");
    let outcomes = fx.evaluate();
    assert_eq!(
        keys(&outcomes),
        [
            "HEART_RATE_TREND/rising",
            "HEART_RATE_TREND/falling",
            "ACTIVITY_CHANGE/2026-W48",
            "LOW_OXYGEN/2026-11-24",
            "LOW_GLUCOSE/2026-11-24",
            "HIGH_GLUCOSE/2026-11-24",
            "HIGH_RESTING_HEART_RATE/2026-11-24",
            "LOW_RESTING_HEART_RATE/2026-11-24",
            "SHORT_SLEEP/rolling",
        ]
    );
    assert!(outcomes.iter().all(|o| o.firing.is_none()));
}

#[test]
fn early_in_the_week_activity_change_is_left_out() {
    let fx = Fixture::new(UTC, at("2026-11-24T10:00:00Z"));
    let outcomes = fx.evaluate();
    assert!(
        outcomes
            .iter()
            .all(|o| !o.rule_key.starts_with("ACTIVITY_CHANGE")),
        "{:?}",
        keys(&outcomes)
    );
    assert_eq!(outcomes.len(), 3);
}

#[test]
fn the_same_instant_is_monday_in_berlin_and_sunday_in_los_angeles() {
    // 2026-11-30T02:00Z: Monday 03:00 in Berlin (no activity comparison yet), Sunday 18:00 in
    // Los Angeles (week 48 with 6 complete days).
    let as_of = at("2026-11-30T02:00:00Z");
    let berlin = Fixture::new(chrono_tz::Europe::Berlin, as_of).evaluate();
    assert!(!keys(&berlin).iter().any(|k| k.starts_with("ACTIVITY")));
    let los_angeles = Fixture::new(America::Los_Angeles, as_of).evaluate();
    assert!(keys(&los_angeles).contains(&"ACTIVITY_CHANGE/2026-W48"));
}

#[test]
fn the_same_hour_row_is_in_different_nights_in_different_zones() {
    // 2026-11-29T11:30Z is 12:30 in Berlin (night 2026-11-30) and 03:30 in Los Angeles
    // (night 2026-11-29); each zone has 4 other short nights 2026-11-24..27.
    let outcome = |tz: Tz, as_of: &str| {
        let mut fx = Fixture::new(tz, at(as_of));
        for d in date("2026-11-24").iter_days().take(4) {
            let evening = d.pred_opt().unwrap();
            fx.sleep(test_support::local(&format!("{evening}T23:00"), tz), 60.0);
        }
        fx.sleep(at("2026-11-29T11:30:00Z"), 60.0);
        let outcomes = fx.evaluate();
        find(&outcomes, "SHORT_SLEEP/rolling").firing.clone()
    };
    // As of 2026-11-29T21:00Z the latest complete night in both zones is 2026-11-29: only Los
    // Angeles has the row in its window, hence 5 nights with data.
    let la = outcome(America::Los_Angeles, "2026-11-29T21:00:00Z").unwrap();
    assert_eq!(la.data["nights_with_data"], 5);
    assert_eq!(
        outcome(chrono_tz::Europe::Berlin, "2026-11-29T21:00:00Z"),
        None
    );
}

#[test]
fn the_heart_rate_window_ends_on_the_local_date_of_as_of() {
    // 2026-11-30T23:30Z is already 2026-12-01 in Auckland: its window starts 2026-11-02, so
    // the 2026-11-01 row drops out and 6 days are too few.
    let rows = |fx: &mut Fixture| {
        fx.day(SampleType::RestingHeartRate, "2026-11-01", 50.0);
        for d in date("2026-11-25").iter_days().take(6) {
            fx.day(SampleType::RestingHeartRate, &d.to_string(), 70.0);
        }
    };
    let as_of = at("2026-11-30T23:30:00Z");
    let mut utc = Fixture::new(UTC, as_of);
    rows(&mut utc);
    let outcomes = utc.evaluate();
    assert!(find(&outcomes, "HEART_RATE_TREND/rising").firing.is_some());
    let mut auckland = Fixture::new(Pacific::Auckland, as_of);
    rows(&mut auckland);
    let outcomes = auckland.evaluate();
    assert_eq!(find(&outcomes, "HEART_RATE_TREND/rising").firing, None);
}

#[test]
fn severity_and_direction_names_match_the_insights_table() {
    for (s, name) in [
        (Severity::Info, "info"),
        (Severity::Warning, "warning"),
        (Severity::Critical, "critical"),
    ] {
        assert_eq!(s.as_str(), name);
        assert_eq!(serde_json::to_value(s).unwrap(), name);
    }
    for (d, name) in [(Direction::Up, "up"), (Direction::Down, "down")] {
        assert_eq!(d.as_str(), name);
        assert_eq!(serde_json::to_value(d).unwrap(), name);
    }
    assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
}

#[test]
fn numbers_in_messages_are_rounded_for_people() {
    assert_eq!(one_decimal(62.0), "62");
    assert_eq!(one_decimal(0.8333), "0.8");
    assert_eq!(one_decimal(74.96), "75");
    assert_eq!(thousands(0.0), "0");
    assert_eq!(thousands(999.4), "999");
    assert_eq!(thousands(25_200.0), "25,200");
    assert_eq!(thousands(1_234_567.0), "1,234,567");
    assert_eq!(thousands(-1_500.0), "-1,500");
}

#[test]
fn severity_and_direction_names_round_trip() {
    use super::{Direction, Severity};
    for s in [Severity::Info, Severity::Warning, Severity::Critical] {
        assert_eq!(s.as_str().parse::<Severity>(), Ok(s));
    }
    for d in [Direction::Up, Direction::Down] {
        assert_eq!(d.as_str().parse::<Direction>(), Ok(d));
    }
    assert_eq!("Info".parse::<Severity>().unwrap_err().name, "Info");
    assert_eq!("left".parse::<Direction>().unwrap_err().name, "left");
}
