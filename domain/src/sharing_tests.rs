use chrono::{Duration, NaiveDate, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::SampleType::{HeartRate, Steps, Weight};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap()
}

const PROVIDER: Uuid = Uuid::from_u128(7);
const OTHER: Uuid = Uuid::from_u128(8);

fn grant() -> GrantFacts {
    GrantFacts {
        owner: Uuid::from_u128(1),
        recipient_email: "Dr.Who@example.org".into(),
        sample_types: vec![Steps, HeartRate],
        date_start: day(5),
        date_end: day(20),
        expires_at: now() + Duration::days(7),
        redeemed_by: Some(PROVIDER),
        revoked: false,
    }
}

#[test]
fn state_is_revoked_before_expired_before_active_or_pending() {
    let mut g = grant();
    assert_eq!(g.state(now()), ShareState::Active);
    g.redeemed_by = None;
    assert_eq!(g.state(now()), ShareState::Pending);
    assert_eq!(g.state(g.expires_at), ShareState::Expired);
    g.revoked = true;
    assert_eq!(g.state(g.expires_at), ShareState::Revoked);
}

#[test]
fn the_recipient_redeems_once_and_no_one_else_can() {
    let mut g = grant();
    g.redeemed_by = None;
    assert_eq!(
        g.redeemable_by(PROVIDER, "dr.who@example.org", now()),
        Ok(Redemption::New)
    );
    assert_eq!(
        g.redeemable_by(PROVIDER, "someone@example.org", now()),
        Err(Denial::NotTheRecipient)
    );
    g.redeemed_by = Some(PROVIDER);
    assert_eq!(
        g.redeemable_by(PROVIDER, "dr.who@example.org", now()),
        Ok(Redemption::Already)
    );
    // A second account with the same email (a colleague's, re-created) cannot take it.
    assert_eq!(
        g.redeemable_by(OTHER, "dr.who@example.org", now()),
        Err(Denial::RedeemedByAnother)
    );
    g.revoked = true;
    assert_eq!(
        g.redeemable_by(PROVIDER, "dr.who@example.org", now()),
        Err(Denial::Revoked)
    );
    let expired = GrantFacts {
        revoked: false,
        redeemed_by: None,
        ..grant()
    };
    assert_eq!(
        expired.redeemable_by(PROVIDER, "dr.who@example.org", expired.expires_at),
        Err(Denial::Expired)
    );
}

#[test]
fn a_reader_gets_the_granted_types_clipped_to_the_granted_dates() {
    let g = grant();
    let all = g.readable_by(PROVIDER, &[], None, None, now()).unwrap();
    assert_eq!(
        (all.types, all.from, all.to),
        (vec![Steps, HeartRate], day(5), day(20))
    );
    let clipped = g
        .readable_by(PROVIDER, &[Steps], Some(day(1)), Some(day(10)), now())
        .unwrap();
    assert_eq!(
        (clipped.types, clipped.from, clipped.to),
        (vec![Steps], day(5), day(10))
    );
}

#[test]
fn every_refusal_has_its_reason() {
    let g = grant();
    let read = |g: &GrantFacts, reader, types: &[SampleType], from, to, at| {
        g.readable_by(reader, types, from, to, at).unwrap_err()
    };
    assert_eq!(read(&g, OTHER, &[], None, None, now()), Denial::NotFound);
    let unredeemed = GrantFacts {
        redeemed_by: None,
        ..grant()
    };
    assert_eq!(
        read(&unredeemed, PROVIDER, &[], None, None, now()),
        Denial::NotFound
    );
    assert_eq!(
        read(&g, PROVIDER, &[], None, None, g.expires_at),
        Denial::Expired
    );
    let revoked = GrantFacts {
        revoked: true,
        ..grant()
    };
    assert_eq!(
        read(&revoked, PROVIDER, &[], None, None, now()),
        Denial::Revoked
    );
    assert_eq!(
        read(&g, PROVIDER, &[Weight], None, None, now()),
        Denial::TypeNotGranted(Weight)
    );
    assert_eq!(
        read(&g, PROVIDER, &[Steps], Some(day(21)), Some(day(30)), now()),
        Denial::OutsideDates
    );
    assert_eq!(
        read(&g, PROVIDER, &[Steps], Some(day(1)), Some(day(4)), now()),
        Denial::OutsideDates
    );
}
