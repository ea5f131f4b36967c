//! The bench's connections and its statements that cannot be prepared.
//!
//! Every statement is a file in `sql/`, run through `healthpipe_storage::sql` like the
//! services' own, so the bench's SQL is timed, named and classified the same way. DDL on
//! scratch databases and schemas names an identifier, which cannot be a parameter, and
//! `CREATE`/`DROP DATABASE` cannot run in the extended protocol's implicit transaction: those
//! files hold a `{name}` placeholder and run as simple queries through [`ddl`].

use anyhow::{ensure, Context, Result};
use healthpipe_storage::pool::Client;
use healthpipe_storage::sql::Sql;

/// One connection to `url`: a pool of one, checked out once (the connection lives as long as
/// the returned client).
pub async fn connect(url: &str) -> Result<Client> {
    let pool = healthpipe_storage::connect(url, 1).context("connecting to PostgreSQL")?;
    pool.get().await.context("connecting to PostgreSQL")
}

/// Runs the DDL of `sql` for the scratch object `name`, a lowercase identifier that needs no
/// quoting (the bench names them `hp_bench_<run>_<label>`).
pub async fn ddl(client: &Client, sql: Sql<'_>, name: &str) -> Result<()> {
    client
        .batch_execute(&with_identifier(sql, name)?)
        .await
        .with_context(|| format!("{} {name}", sql.name))
}

/// The text of `sql` with `{name}` replaced by `name`, once `name` is known to be a plain
/// identifier.
fn with_identifier(sql: Sql, name: &str) -> Result<String> {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63;
    ensure!(plain, "{name:?} is not a plain identifier ({})", sql.name);
    Ok(sql.text.replace("{name}", name))
}

#[cfg(test)]
mod tests {
    use super::*;

    healthpipe_storage::statement!(CREATE, "database_create");

    #[test]
    fn only_plain_identifiers_reach_ddl() {
        let text = with_identifier(CREATE, "hp_bench_1a2b_main").unwrap();
        assert!(
            text.contains(" hp_bench_1a2b_main") && !text.contains("{name}"),
            "{text}"
        );
        for bad in ["", "Main", "x; y", "a-b", "1x", "\"x\""] {
            assert!(with_identifier(CREATE, bad).is_err(), "{bad:?} accepted");
        }
    }
}
