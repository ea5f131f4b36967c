//! The processors' positions, kept in PostgreSQL beside the rows they produced.
//!
//! Each batch transaction locks its partitions' rows (`FOR UPDATE`), skips what is below the
//! stored offset and moves the offset forward in the same commit. Two instances that briefly
//! both think they own a partition (a rebalance, a paused zombie) serialise on the lock, and
//! the second finds the work already done.

use std::collections::HashMap;

use deadpool_postgres::Transaction;

pub async fn lock(
    tx: &Transaction<'_>,
    group: &str,
    topic: &str,
    partitions: &[i32],
) -> Result<HashMap<i32, i64>, tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset) \
         SELECT $1, $2, p, 0 FROM unnest($3::int[]) AS p ON CONFLICT DO NOTHING",
        &[&group, &topic, &partitions],
    )
    .await?;
    let rows = tx
        .query(
            "SELECT partition, next_offset FROM consumer_offsets \
             WHERE consumer_group = $1 AND topic = $2 AND partition = ANY($3) \
             ORDER BY partition FOR UPDATE",
            &[&group, &topic, &partitions],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Moves offsets forward, never backwards.
pub async fn advance(
    tx: &Transaction<'_>,
    group: &str,
    topic: &str,
    next: &HashMap<i32, i64>,
) -> Result<(), tokio_postgres::Error> {
    let (partitions, offsets): (Vec<i32>, Vec<i64>) = next.iter().map(|(p, o)| (*p, *o)).unzip();
    tx.execute(
        "UPDATE consumer_offsets c SET next_offset = d.o, updated_at = now() \
         FROM unnest($3::int[], $4::bigint[]) AS d(p, o) \
         WHERE c.consumer_group = $1 AND c.topic = $2 AND c.partition = d.p AND c.next_offset < d.o",
        &[&group, &topic, &partitions, &offsets],
    )
    .await?;
    Ok(())
}

/// Every stored position of `group` on `topic`.
pub async fn load(
    client: &tokio_postgres::Client,
    group: &str,
    topic: &str,
) -> Result<HashMap<i32, i64>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT partition, next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2",
            &[&group, &topic],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
