//! Records of who read what (migration `0011_topic_reads`): written before the reading, so
//! no read escapes the record, and never changed afterwards but for its end.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::sql::{execute, query_one};
use crate::{statement, StoreError};

statement!(TOPIC_READ_START, "topic_reads_start");
statement!(TOPIC_READ_FINISH, "topic_reads_finish");

/// What an operator is about to read, decrypted.
#[derive(Debug, Clone)]
pub struct TopicRead<'a> {
    pub operator: &'a str,
    pub topic: &'a str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub user: Option<Uuid>,
}

/// Records the read before it starts; returns its id.
pub async fn start_topic_read(
    client: &impl GenericClient,
    read: &TopicRead<'_>,
) -> Result<i64, StoreError> {
    let row = query_one(
        client,
        TOPIC_READ_START,
        &[
            &read.operator,
            &read.topic,
            &read.from,
            &read.to,
            &read.user,
        ],
    )
    .await?;
    Ok(row.get(0))
}

/// Records the end of read `id` and how many messages it printed.
pub async fn finish_topic_read(
    client: &impl GenericClient,
    id: i64,
    messages: i64,
) -> Result<(), StoreError> {
    execute(client, TOPIC_READ_FINISH, &[&id, &messages]).await?;
    Ok(())
}
