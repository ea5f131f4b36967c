//! Comparing projections: every table of the aggregation projection, by checksum of its rows
//! (the columns that are a function of the log, no wall-clock ones).

/// The aggregation projection's tables and their log-derived columns.
pub const AGGREGATION_TABLES: [(&str, &str); 8] = [
    (
        "aggregates",
        "user_id, sample_type, period, period_start, value, min_value, max_value, sample_count",
    ),
    (
        "day_partials",
        "user_id, sample_type, day_start, sum, whole_count, whole_min, whole_max, shared_ids, \
         shared_amounts, counted_nanos, devices, latest_start, latest_id, latest_value",
    ),
    (
        "samples",
        "user_id, sample_id, device_id, sample_type, value, start_time, end_time, \
         utc_offset_seconds, source_app, sync_identifier, sync_version, metadata, counted_fraction, \
         details",
    ),
    (
        "sample_index",
        "user_id, sample_id, sample_type, start_time, end_time, deleted",
    ),
    (
        "sync_versions",
        "user_id, sync_identifier, version, sample_id",
    ),
    (
        "device_rankings",
        "user_id, device_id, device_type, priority, type_priorities",
    ),
    ("user_profiles", "user_id, timezone"),
    (
        "share_grants",
        "share_id, user_id, recipient_email, sample_types, date_start, date_end, expires_at, \
         label, code_digest, granted_at, redeemed_by, redeemed_at, revoked_at",
    ),
];

/// (md5 of the sorted rows as text, row count) of `columns` of `table` (schema-qualified or
/// not).
pub async fn checksum(
    client: &tokio_postgres::Client,
    table: &str,
    columns: &str,
) -> (String, i64) {
    let row = client
        .query_one(
            &format!(
                "SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), ''), count(*) \
                 FROM (SELECT {columns} FROM {table}) t"
            ),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("checksum of {table}: {e}"));
    (row.get(0), row.get(1))
}

/// The aggregation tables whose rows differ between `left` and `right` (each a client and a
/// schema), described for an assertion message; `must_have_rows` lists tables that must not
/// be empty on the left, so that a comparison of two empty tables cannot pass unnoticed.
pub async fn differences(
    left: (&tokio_postgres::Client, &str),
    right: (&tokio_postgres::Client, &str),
    must_have_rows: &[&str],
) -> Vec<String> {
    let mut out = Vec::new();
    for (table, columns) in AGGREGATION_TABLES {
        let (sum_a, rows_a) = checksum(left.0, &format!("{}.{table}", left.1), columns).await;
        let (sum_b, rows_b) = checksum(right.0, &format!("{}.{table}", right.1), columns).await;
        if must_have_rows.contains(&table) && rows_a == 0 {
            out.push(format!("{table} is empty: nothing was compared"));
        }
        if (sum_a.as_str(), rows_a) != (sum_b.as_str(), rows_b) {
            out.push(format!(
                "{table}: {rows_a} rows md5 {sum_a} vs {rows_b} rows md5 {sum_b}"
            ));
        }
    }
    out
}

/// Every aggregation table's (checksum, row count), in the order of [`AGGREGATION_TABLES`].
pub async fn all(client: &tokio_postgres::Client) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for (table, columns) in AGGREGATION_TABLES {
        out.push(checksum(client, table, columns).await);
    }
    out
}
