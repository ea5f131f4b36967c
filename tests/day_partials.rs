//! The day partials' storage (`healthpipe_storage::projections::day_partials`) on the real
//! PostgreSQL: partials read back bit for bit (weeks and months combined from stored partials
//! must equal a computation from samples, so no double may move by one ulp),
//! sorted by day within each range, and a deletion removes exactly the days of its ranges.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use healthpipe_domain::{DayPartial, Latest, SampleType};
use healthpipe_storage::projections::day_partials::{self, DayRange};
use uuid::Uuid;

/// Doubles whose shortest decimal form is long, tiny, huge or not what was typed.
/// (Through JSON, serde_json's default parser would read the last two one ulp off.)
const AWKWARD: [f64; 9] = [
    0.1 + 0.2,
    1e-7,
    123456.789,
    1.0 / 3.0,
    5e-324,
    1e300,
    2.2250738585072014e-308,
    9007199254740991.0,
    1.23456e-198,
];

fn day(n: i64) -> DateTime<Utc> {
    // Local midnights of a zone at UTC+1.
    Utc.with_ymd_and_hms(2026, 10, 1, 23, 0, 0).unwrap() + Duration::days(n)
}

/// A partial of `day(n)` whose every float is awkward (shifted by `n`, so days differ).
fn partial(sample_type: SampleType, n: i64) -> DayPartial {
    let at = |k: usize| AWKWARD[(k + n as usize) % AWKWARD.len()];
    DayPartial {
        sample_type,
        day_start: day(n),
        sum: at(0),
        whole_count: 3,
        whole_min: Some(at(1)),
        whole_max: Some(at(2)),
        shared: vec![
            (Uuid::from_u128(1).to_string(), at(3)),
            (Uuid::from_u128(2).to_string(), at(4)),
        ],
        counted_nanos: 86_399_999_999_999,
        devices: vec![
            Uuid::from_u128(7).to_string(),
            Uuid::from_u128(8).to_string(),
        ],
        latest: Some(Latest {
            start: day(n) + Duration::microseconds(72_000_000_001),
            id: Uuid::from_u128(3).to_string(),
            value: at(5),
        }),
    }
}

/// Every double of a partial, for a comparison of bits (`==` would take -0.0 for 0.0).
fn bits(p: &DayPartial) -> Vec<u64> {
    let mut out = vec![p.sum.to_bits()];
    out.extend(p.whole_min.iter().chain(&p.whole_max).map(|v| v.to_bits()));
    out.extend(p.shared.iter().map(|(_, v)| v.to_bits()));
    out.extend(p.latest.iter().map(|l| l.value.to_bits()));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partials_read_back_bit_for_bit_and_deletion_takes_exactly_its_days() {
    let pool = common::migrated_scratch_pool(1).await;
    let mut client = pool.get().await.expect("a connection");
    let (ana, ben) = (Uuid::from_u128(0xa), Uuid::from_u128(0xb));
    let range = |user, sample_type, from: i64, to: i64| DayRange {
        user,
        sample_type,
        from: day(from),
        to: day(to),
    };

    // Ten days of Ana's steps (written out of order), two of her heart rate, two of Ben's steps.
    let mut rows: Vec<(Uuid, DayPartial)> = (0..10)
        .rev()
        .map(|n| (ana, partial(SampleType::Steps, n)))
        .collect();
    rows.push((ana, partial(SampleType::HeartRate, 3)));
    rows.push((ana, partial(SampleType::HeartRate, 4)));
    rows.push((ben, partial(SampleType::Steps, 3)));
    rows.push((ben, partial(SampleType::Steps, 4)));
    let tx = client.transaction().await.unwrap();
    day_partials::copy(&tx, &rows).await.expect("copy");
    tx.commit().await.unwrap();

    let ranges = [
        range(ana, SampleType::Steps, 0, 10),
        range(ana, SampleType::HeartRate, 0, 10),
        range(ben, SampleType::Steps, 4, 5),
        // Nothing stored there.
        range(ben, SampleType::HeartRate, 0, 10),
    ];
    let tx = client.transaction().await.unwrap();
    let loaded = day_partials::load(&tx, &ranges).await.expect("load");
    tx.commit().await.unwrap();
    assert_eq!(loaded.len(), 3, "a range without partials is absent");
    let steps = &loaded[&0];
    assert_eq!(
        steps.iter().map(|p| p.day_start).collect::<Vec<_>>(),
        (0..10).map(day).collect::<Vec<_>>(),
        "sorted by day"
    );
    for (n, stored) in steps.iter().enumerate() {
        let written = partial(SampleType::Steps, n as i64);
        assert_eq!(bits(stored), bits(&written), "day {n}: the doubles' bits");
        assert_eq!(stored, &written, "day {n}");
    }
    assert_eq!(
        loaded[&1],
        vec![
            partial(SampleType::HeartRate, 3),
            partial(SampleType::HeartRate, 4)
        ]
    );
    assert_eq!(loaded[&2], vec![partial(SampleType::Steps, 4)]);
    for (i, list) in &loaded {
        for p in list {
            assert_eq!(p.sample_type, ranges[*i].sample_type, "range {i}");
        }
    }

    // Replacing Ana's steps of days 3 to 5 and 8: nothing else goes, nothing is left there.
    let replaced = [
        range(ana, SampleType::Steps, 3, 6),
        range(ana, SampleType::Steps, 8, 9),
    ];
    let tx = client.transaction().await.unwrap();
    day_partials::delete(&tx, &replaced).await.expect("delete");
    let after = day_partials::load(&tx, &ranges).await.expect("load");
    let gone = day_partials::load(&tx, &replaced).await.expect("load");
    tx.commit().await.unwrap();
    assert!(gone.is_empty(), "{gone:?}");
    assert_eq!(
        after[&0].iter().map(|p| p.day_start).collect::<Vec<_>>(),
        [0, 1, 2, 6, 7, 9].map(day).to_vec(),
        "[from, to): day 6 and day 9 stay"
    );
    assert_eq!(after[&1], loaded[&1], "the other type is untouched");
    assert_eq!(after[&2], loaded[&2], "the other user is untouched");
    let total: i64 = client
        .query_one("SELECT count(*) FROM day_partials", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(total, 14 - 4);

    // Empty inputs run no statement.
    let tx = client.transaction().await.unwrap();
    day_partials::delete(&tx, &[]).await.unwrap();
    day_partials::copy(&tx, &[]).await.unwrap();
    assert!(day_partials::load(&tx, &[]).await.unwrap().is_empty());
    tx.commit().await.unwrap();
}
