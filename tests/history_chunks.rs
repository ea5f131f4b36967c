//! The cost of new data does not grow with history. `samples` and `aggregates` are
//! hypertables cut into chunks by time; the statements a batch runs with rows taken from
//! arrays (the samples in each deduplication reach, the aggregate ranges it replaces, the
//! samples it deletes) must scan only the chunks those rows can be in, never one chunk per
//! week or month of history. Checked on the real PostgreSQL with TimescaleDB, per chunk, by
//! the scans the transaction itself counted (`pg_stat_xact_user_tables`).

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use healthpipe_domain::SampleType;
use healthpipe_storage::projections::aggregates::{self, Replace};
use healthpipe_storage::projections::samples::{self, SampleReach};
use uuid::Uuid;

/// Runs of each statement on one connection (see the test).
const RUNS: u8 = 8;

/// Per chunk of `hypertable`, by time: its range and the index and sequential scans this
/// backend counted and has not reported yet. Those may include earlier transactions': compare
/// two taken in one transaction, which reports nothing before it ends.
async fn chunk_scans(
    tx: &healthpipe_storage::pool::Transaction<'_>,
    hypertable: &str,
) -> Vec<(DateTime<Utc>, DateTime<Utc>, i64)> {
    tx.query(
        "SELECT c.range_start, c.range_end,
                coalesce(s.idx_scan, 0) + coalesce(s.seq_scan, 0)
         FROM timescaledb_information.chunks c
         LEFT JOIN pg_stat_xact_user_tables s
           ON s.schemaname = c.chunk_schema AND s.relname = c.chunk_name
         WHERE c.hypertable_name = $1
         ORDER BY c.range_start",
        &[&hypertable],
    )
    .await
    .expect("chunk statistics")
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

/// Asserts that since `before`, every chunk of `hypertable` overlapping `[from, to)` was
/// scanned and no other was.
async fn assert_only_scanned(
    tx: &healthpipe_storage::pool::Transaction<'_>,
    hypertable: &str,
    before: &[(DateTime<Utc>, DateTime<Utc>, i64)],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    what: &str,
) {
    let chunks = chunk_scans(tx, hypertable).await;
    assert!(
        chunks.len() >= 10,
        "{hypertable}: only {} chunks",
        chunks.len()
    );
    assert_eq!(chunks.len(), before.len(), "{what} made chunks");
    for ((start, end, scans), (_, _, earlier)) in chunks.iter().zip(before) {
        let scans = scans - earlier;
        let reached = *start < to && from < *end;
        assert_eq!(
            scans > 0,
            reached,
            "{what}: chunk {start}..{end} of {hypertable} scanned {scans} times \
             (only chunks overlapping {from}..{to} may be)"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_scans_only_the_chunks_its_rows_can_be_in() {
    let pool = common::migrated_scratch_pool(1).await;
    let mut client = pool.get().await.expect("a connection");
    let user = Uuid::from_u128(0xa11ce);
    let device = Uuid::from_u128(0xde);

    // Two years of history: a sample every day (about 105 chunks of samples of 7 days) and a
    // day aggregate every day (about 25 chunks of aggregates of 30 days).
    let first_day = Utc.with_ymd_and_hms(2024, 11, 1, 0, 0, 0).unwrap();
    let days: i32 = 730;
    let setup = client.transaction().await.unwrap();
    setup
        .execute(
            "INSERT INTO samples (user_id, sample_id, device_id, sample_type, value, start_time,
                                  end_time, utc_offset_seconds)
             SELECT $1, gen_random_uuid(), $2, 'STEPS', 100,
                    $3::timestamptz + d * interval '1 day' + interval '9 hours',
                    $3::timestamptz + d * interval '1 day' + interval '10 hours', 0
             FROM generate_series(0, $4 - 1) d",
            &[&user, &device, &first_day, &days],
        )
        .await
        .expect("history of samples");
    setup
        .execute(
            "INSERT INTO aggregates (user_id, sample_type, period, period_start, value,
                                     min_value, max_value, sample_count)
             SELECT $1, 'STEPS', 'day', $2::timestamptz + d * interval '1 day', 100, 100, 100, 1
             FROM generate_series(0, $3 - 1) d",
            &[&user, &first_day, &days],
        )
        .await
        .expect("history of aggregates");
    setup.commit().await.unwrap();

    // A new day at the end of the history, as a batch would see it. Each statement runs
    // several times on the connection: from the sixth run PostgreSQL may plan a prepared
    // statement once for all parameters, and that plan must leave out old chunks too.
    let day = first_day + Duration::days(days as i64 - 1);
    let next = day + Duration::days(1);
    let reach = (day - Duration::hours(12), next);
    let tx = client.transaction().await.unwrap();
    for run in 0..RUNS {
        let before = chunk_scans(&tx, "samples").await;
        let reaches = [SampleReach {
            user,
            sample_type: SampleType::Steps,
            starts_from: reach.0,
            starts_to: reach.1,
            ends_from: day,
        }];
        let loaded = samples::load_ranges(&tx, &reaches).await.expect("load");
        assert_eq!(loaded.get(&0).map(Vec::len), Some(1), "the day's sample");
        let what = format!("load_ranges, run {run}");
        assert_only_scanned(&tx, "samples", &before, reach, &what).await;
    }

    let replace = Replace {
        user,
        sample_type: SampleType::Steps,
        period: "day",
        from: day,
        to: next,
    };
    for run in 0..RUNS {
        let before = chunk_scans(&tx, "aggregates").await;
        let deleted = aggregates::delete(&tx, &[&replace]).await.expect("delete");
        assert_eq!(deleted.len(), usize::from(run == 0), "the day's aggregate");
        let what = format!("aggregates::delete, run {run}");
        assert_only_scanned(&tx, "aggregates", &before, (day, next), &what).await;
    }

    let (sample, start): (Uuid, DateTime<Utc>) = {
        let row = tx
            .query_one(
                "SELECT sample_id, start_time FROM samples WHERE start_time >= $1",
                &[&day],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    for run in 0..RUNS {
        let before = chunk_scans(&tx, "samples").await;
        samples::delete_samples(&tx, &[(user, sample, start)])
            .await
            .expect("delete");
        let what = format!("delete_samples, run {run}");
        let instant = (start, start + Duration::seconds(1));
        assert_only_scanned(&tx, "samples", &before, instant, &what).await;
    }
    tx.rollback().await.unwrap();
}
