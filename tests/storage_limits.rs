//! Nothing waits on the database for ever: every pooled connection carries PostgreSQL's
//! `statement_timeout`, and a checkout from an exhausted pool gives up after the pool's wait
//! timeout with a transient error (a 503 at the gateway, a retry in a processor) instead of
//! queueing without end.

mod common;

use healthpipe_storage::pool::{STATEMENT_TIMEOUT, WAIT_TIMEOUT};
use healthpipe_storage::StoreError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_connections_time_out_statements_and_checkouts_give_up() {
    let url = common::scratch_database().await;
    let pool = healthpipe_storage::connect(&url, 1).expect("pool");
    let held = pool.get().await.expect("first connection");
    let milliseconds: String = held
        .query_one(
            "SELECT setting FROM pg_settings WHERE name = 'statement_timeout'",
            &[],
        )
        .await
        .expect("read statement_timeout")
        .get(0);
    assert_eq!(milliseconds, STATEMENT_TIMEOUT.as_millis().to_string());

    let second = tokio::time::timeout(WAIT_TIMEOUT * 6, pool.get())
        .await
        .expect("a checkout from an exhausted pool gives up instead of waiting for ever");
    let error = StoreError::from(second.expect_err("the only connection is taken"));
    assert!(error.is_transient(), "{error}");
    drop(held);
    let again = pool.get().await;
    assert!(again.is_ok(), "a connection once one is free again");
}
