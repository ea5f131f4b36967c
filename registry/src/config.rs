//! Typed configuration, read from the environment once at startup: every setting declared
//! once in `Settings` with its variable, type and default.
//!
//! Every problem is collected before failing (by `healthpipe_config`), so an operator fixes a
//! broken deployment in one round instead of one variable per restart.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// Where the registry listens when `REGISTRY_ADDR` is unset: the Confluent port plus 50000,
/// so it never collides with a real Confluent registry on the same machine.
pub const DEFAULT_ADDR: &str = "127.0.0.1:58081";

/// The PostgreSQL schema holding the registry's tables unless `REGISTRY_PG_SCHEMA` says otherwise.
pub const DEFAULT_PG_SCHEMA: &str = "schema_registry";

/// How many PostgreSQL connections one registry instance keeps at most.
pub const DEFAULT_POOL_SIZE: usize = 8;

/// Everything the registry needs to run.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Socket address the HTTP server binds (`REGISTRY_ADDR`).
    pub addr: SocketAddr,
    /// Where the writes are served (`REGISTRY_ADMIN_ADDR`, default unset). When set,
    /// `addr` serves reads only (see [`crate::api::Access`]), so a network policy can leave
    /// registering schemas and changing levels to the deployment's migration job alone.
    /// Unset, `addr` serves everything, as a single Confluent registry does (the local stack).
    pub admin_addr: Option<SocketAddr>,
    /// Parsed `DATABASE_URL`; its `Debug` output hides the password.
    pub database: tokio_postgres::Config,
    /// The PostgreSQL schema owning the registry tables (`REGISTRY_PG_SCHEMA`). Tests use a
    /// random one each so they never see each other's subjects.
    pub pg_schema: PgSchema,
    /// Upper bound on pooled connections.
    pub pool_size: usize,
}

/// The registry's environment, as clap declares and documents it.
#[derive(Debug, clap::Args)]
struct Settings {
    /// Where the HTTP API listens.
    #[arg(long, env = "REGISTRY_ADDR", default_value = DEFAULT_ADDR)]
    addr: SocketAddr,
    /// Where the writes are served; unset: on REGISTRY_ADDR, with the reads.
    #[arg(long, env = "REGISTRY_ADMIN_ADDR")]
    admin_addr: Option<SocketAddr>,
    /// PostgreSQL holding the schemas.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true,
          value_parser = tokio_postgres::Config::from_str)]
    database_url: tokio_postgres::Config,
    /// The PostgreSQL schema owning the registry tables.
    #[arg(long, env = "REGISTRY_PG_SCHEMA", default_value = DEFAULT_PG_SCHEMA,
          value_parser = PgSchema::parse)]
    pg_schema: PgSchema,
}

impl RegistryConfig {
    /// A configuration with every default and the given database.
    pub fn new(database_url: &str) -> Result<Self, ConfigError> {
        Self::from_lookup(|key| (key == "DATABASE_URL").then(|| database_url.to_string()))
    }

    /// Reads `REGISTRY_ADDR`, `REGISTRY_ADMIN_ADDR`, `DATABASE_URL` (required) and
    /// `REGISTRY_PG_SCHEMA`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// The environment reading proper, with the lookup injected so tests need not touch
    /// the process environment (which other tests share).
    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let settings: Settings = healthpipe_config::from_lookup("registry", get)?;
        Ok(Self {
            addr: settings.addr,
            admin_addr: settings.admin_addr,
            database: settings.database_url,
            pg_schema: settings.pg_schema,
            pool_size: DEFAULT_POOL_SIZE,
        })
    }
}

/// A PostgreSQL schema name safe to splice into DDL unquoted: lowercase ASCII letters, digits
/// and `_`, starting with a letter or `_`, at most 63 bytes (PostgreSQL's identifier limit).
#[derive(Clone, PartialEq, Eq)]
pub struct PgSchema(String);

impl PgSchema {
    /// Accepts only names that need no quoting, so they can appear in `search_path` and DDL.
    pub fn parse(name: &str) -> Result<Self, String> {
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if first_ok && rest_ok && name.len() <= 63 {
            Ok(Self(name.to_string()))
        } else {
            Err("expected [a-z_][a-z0-9_]*, at most 63 bytes".to_string())
        }
    }

    /// The name as PostgreSQL sees it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PgSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for PgSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every problem found in the environment, reported together (shared with the other
/// services).
pub use healthpipe_config::{ConfigError, ConfigProblem};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_only_the_database_is_given() {
        let config = RegistryConfig::new("postgres://u:secret@localhost:5432/db").unwrap();
        assert_eq!(config.addr.to_string(), DEFAULT_ADDR);
        assert_eq!(
            config.admin_addr, None,
            "one listener unless told otherwise"
        );
        assert_eq!(config.pg_schema.as_str(), DEFAULT_PG_SCHEMA);
        assert!(
            !format!("{config:?}").contains("secret"),
            "password leaked in Debug"
        );
    }

    #[test]
    fn the_admin_listener_is_read_from_its_variable() {
        let config = RegistryConfig::from_lookup(|key| match key {
            "DATABASE_URL" => Some("postgres://u@localhost/db".into()),
            "REGISTRY_ADDR" => Some("0.0.0.0:8081".into()),
            "REGISTRY_ADMIN_ADDR" => Some("0.0.0.0:8082".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(config.addr.port(), 8081);
        assert_eq!(config.admin_addr.map(|a| a.port()), Some(8082));
        let bad = RegistryConfig::from_lookup(|key| match key {
            "DATABASE_URL" => Some("postgres://u@localhost/db".into()),
            "REGISTRY_ADMIN_ADDR" => Some("admin".into()),
            _ => None,
        })
        .unwrap_err();
        assert!(bad.to_string().contains("REGISTRY_ADMIN_ADDR"), "{bad}");
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let err = RegistryConfig::from_lookup(|key| match key {
            "REGISTRY_ADDR" => Some("nonsense".into()),
            "REGISTRY_PG_SCHEMA" => Some("Bad-Name".into()),
            _ => None,
        })
        .unwrap_err();
        assert_eq!(err.problems.len(), 3, "{err}");
        let text = err.to_string();
        assert!(
            text.contains("REGISTRY_ADDR") && text.contains("DATABASE_URL"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_database_url_is_reported_without_its_password() {
        let err = RegistryConfig::from_lookup(|key| match key {
            "DATABASE_URL" => Some("postgres://u:s3cret@host:notaport/db".into()),
            "REGISTRY_ADDR" => Some("nonsense".into()),
            _ => None,
        })
        .unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("s3cret"), "{text}");
    }

    #[test]
    fn schema_names_that_would_need_quoting_are_refused() {
        assert!(PgSchema::parse("reg_test_01").is_ok());
        for bad in ["", "1abc", "a-b", "A", "a;drop", &"a".repeat(64)] {
            assert!(PgSchema::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
