//! Typed configuration, read from the environment once at startup.
//!
//! Every problem is collected before failing, so an operator fixes a broken deployment in one
//! round instead of one variable per restart.

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
    /// Parsed `DATABASE_URL`; its `Debug` output hides the password.
    pub database: tokio_postgres::Config,
    /// The PostgreSQL schema owning the registry tables (`REGISTRY_PG_SCHEMA`). Tests use a
    /// random one each so they never see each other's subjects.
    pub pg_schema: PgSchema,
    /// Upper bound on pooled connections.
    pub pool_size: usize,
}

impl RegistryConfig {
    /// A configuration with every default and the given database.
    pub fn new(database_url: &str) -> Result<Self, ConfigError> {
        Self::from_lookup(|key| (key == "DATABASE_URL").then(|| database_url.to_string()))
    }

    /// Reads `REGISTRY_ADDR`, `DATABASE_URL` (required) and `REGISTRY_PG_SCHEMA`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// The environment reading proper, with the lookup injected so tests need not touch
    /// the process environment (which other tests share).
    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let addr_text = get("REGISTRY_ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_string());
        let addr = SocketAddr::from_str(&addr_text)
            .map_err(|e| problems.push(ConfigProblem::invalid("REGISTRY_ADDR", &addr_text, e)))
            .ok();
        let database = match get("DATABASE_URL") {
            None => {
                problems.push(ConfigProblem::Missing("DATABASE_URL"));
                None
            }
            // The value is not echoed: it usually carries a password.
            Some(url) => tokio_postgres::Config::from_str(&url)
                .map_err(|e| problems.push(ConfigProblem::invalid("DATABASE_URL", "<hidden>", e)))
                .ok(),
        };
        let schema_text = get("REGISTRY_PG_SCHEMA").unwrap_or_else(|| DEFAULT_PG_SCHEMA.into());
        let pg_schema = PgSchema::parse(&schema_text)
            .map_err(|e| {
                problems.push(ConfigProblem::invalid(
                    "REGISTRY_PG_SCHEMA",
                    &schema_text,
                    e,
                ))
            })
            .ok();
        match (addr, database, pg_schema) {
            (Some(addr), Some(database), Some(pg_schema)) if problems.is_empty() => Ok(Self {
                addr,
                database,
                pg_schema,
                pool_size: DEFAULT_POOL_SIZE,
            }),
            _ => Err(ConfigError { problems }),
        }
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

/// One thing wrong with the environment.
#[derive(Debug, thiserror::Error)]
pub enum ConfigProblem {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{var}={value:?} is invalid: {reason}")]
    Invalid {
        var: &'static str,
        value: String,
        reason: String,
    },
}

impl ConfigProblem {
    fn invalid(var: &'static str, value: &str, reason: impl fmt::Display) -> Self {
        Self::Invalid {
            var,
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// All the problems found in the environment, reported together.
#[derive(Debug, thiserror::Error)]
#[error("invalid registry configuration: {}", list(.problems))]
pub struct ConfigError {
    pub problems: Vec<ConfigProblem>,
}

fn list(problems: &[ConfigProblem]) -> String {
    let texts: Vec<String> = problems.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_only_the_database_is_given() {
        let config = RegistryConfig::new("postgres://u:secret@localhost:5432/db").unwrap();
        assert_eq!(config.addr.to_string(), DEFAULT_ADDR);
        assert_eq!(config.pg_schema.as_str(), DEFAULT_PG_SCHEMA);
        assert!(
            !format!("{config:?}").contains("secret"),
            "password leaked in Debug"
        );
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
    fn schema_names_that_would_need_quoting_are_refused() {
        assert!(PgSchema::parse("reg_test_01").is_ok());
        for bad in ["", "1abc", "a-b", "A", "a;drop", &"a".repeat(64)] {
            assert!(PgSchema::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
