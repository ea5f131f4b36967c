//! Settings from the environment through clap, every problem reported.
//!
//! clap stops at the first error, so each setting is first parsed on its own (a command of
//! that one argument): its problem, if any, is collected, and only when there are none is the
//! whole struct parsed. The environment is read here, through a lookup function, and handed
//! to clap as `--name=value`: the `env` of each argument documents the variable and names
//! it, while tests inject values without touching the process environment other tests share.

use std::error::Error as _;
use std::str::FromStr;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, Args, Command, FromArgMatches};

use crate::{ConfigError, ConfigProblem};

/// Reads `T` from the process environment; see [`from_lookup`].
pub fn from_env<T: Args + FromArgMatches>(service: &str) -> Result<T, ConfigError> {
    from_lookup(service, |var| std::env::var(var).ok())
}

/// A lookup over fixed `(variable, value)` pairs, for [`from_lookup`] in tests and tools
/// that leave the process's environment alone.
pub fn lookup_in<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |key| {
        vars.iter()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| value.to_string())
    }
}

/// Reads `T` with `lookup` as the environment. An empty value counts as unset. Every
/// argument of `T` must have a long name and an `env`; the values of arguments with
/// `hide_env_values` (secrets) never appear in the error.
pub fn from_lookup<T: Args + FromArgMatches>(
    service: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<T, ConfigError> {
    let command = T::augment_args(bare());
    let mut argv = Vec::new();
    let mut problems = Vec::new();
    for arg in command.get_arguments() {
        let (var, long) = names(arg);
        let value = lookup(&var).filter(|v| !v.is_empty());
        let given: Vec<String> = value.iter().map(|v| format!("--{long}={v}")).collect();
        let alone = bare().arg(arg.clone().env(None::<&'static str>));
        match alone.try_get_matches_from(&given) {
            Ok(_) => argv.extend(given),
            Err(error) => {
                let value = value.filter(|_| !arg.is_hide_env_values_set());
                problems.push(problem(var, value, &error));
            }
        }
    }
    let failed = |problems| ConfigError {
        service: service.to_string(),
        problems,
    };
    if !problems.is_empty() {
        return Err(failed(problems));
    }
    // Each setting parsed alone, so the whole must too; a failure here is a declaration that
    // ties settings together, reported as one problem.
    let whole = command.mut_args(|arg| arg.env(None::<&'static str>));
    whole
        .try_get_matches_from(argv)
        .and_then(|matches| T::from_arg_matches(&matches))
        .map_err(|e| {
            failed(vec![ConfigProblem::Invalid {
                var: "(settings)".into(),
                value: None,
                reason: e.kind().as_str().unwrap_or("invalid").to_string(),
            }])
        })
}

/// A command holding settings only: no binary name, help or version flag.
fn bare() -> Command {
    Command::new("settings")
        .no_binary_name(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
}

/// The environment variable and the long name of a setting.
fn names(arg: &Arg) -> (String, String) {
    let id = arg.get_id().as_str();
    let var = arg
        .get_env()
        .and_then(|v| v.to_str())
        .unwrap_or_else(|| panic!("setting {id} declares no env"));
    let long = arg
        .get_long()
        .unwrap_or_else(|| panic!("setting {id} declares no long name"));
    (var.to_string(), long.to_string())
}

/// What clap's error for one setting means, in terms of its environment variable.
fn problem(var: String, value: Option<String>, error: &clap::Error) -> ConfigProblem {
    if error.kind() == ErrorKind::MissingRequiredArgument {
        return ConfigProblem::Missing(var);
    }
    let reason = match (error.source(), error.get(ContextKind::ValidValue)) {
        (Some(source), _) => source.to_string(),
        (None, Some(ContextValue::Strings(valid))) => {
            format!("expected one of {}", valid.join(", "))
        }
        _ => error.kind().as_str().unwrap_or("invalid value").to_string(),
    };
    ConfigProblem::Invalid { var, value, reason }
}

/// A value parser for `DATABASE_URL`: the text, once it parses as a PostgreSQL connection
/// string (URL or key=value), so a typo is reported with the other settings at start-up
/// rather than when the first connection is made.
pub fn database_url(text: &str) -> Result<String, String> {
    tokio_postgres::Config::from_str(text)
        .map(|_| text.to_string())
        .map_err(|e| format!("not a PostgreSQL connection string ({e})"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[derive(Debug, clap::Args)]
    struct Settings {
        /// Required, secret.
        #[arg(long, env = "T_DATABASE_URL", hide_env_values = true, value_parser = database_url)]
        database_url: String,
        #[arg(long, env = "T_POOL", default_value_t = 16)]
        pool: usize,
        #[arg(long, env = "T_ADDR")]
        addr: Option<std::net::SocketAddr>,
        #[arg(long, env = "T_FLAG", default_value_t = true, action = clap::ArgAction::Set,
              value_parser = clap::builder::BoolishValueParser::new())]
        flag: bool,
    }

    fn read(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_lookup("test", |k| vars.get(k).cloned())
    }

    #[test]
    fn defaults_fill_what_is_unset_or_empty() {
        let s = read(&[("T_DATABASE_URL", "postgres://u@h/db"), ("T_POOL", "")]).unwrap();
        assert_eq!((s.pool, s.addr, s.flag), (16, None, true));
        let s = read(&[
            ("T_DATABASE_URL", "postgres://u@h/db"),
            ("T_POOL", "3"),
            ("T_ADDR", "127.0.0.1:9"),
            ("T_FLAG", "false"),
        ])
        .unwrap();
        assert_eq!(s.pool, 3);
        assert_eq!(s.addr, Some("127.0.0.1:9".parse().unwrap()));
        assert!(!s.flag);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = read(&[
            ("T_POOL", "many"),
            ("T_ADDR", "nowhere"),
            ("T_FLAG", "perhaps"),
        ])
        .unwrap_err();
        assert_eq!(err.problems.len(), 4, "{err}");
        assert_eq!(
            err.problems[0],
            ConfigProblem::Missing("T_DATABASE_URL".into())
        );
        let text = err.to_string();
        for part in [
            "T_POOL=\"many\"",
            "T_ADDR=\"nowhere\"",
            "T_FLAG=\"perhaps\"",
        ] {
            assert!(text.contains(part), "{text}");
        }
    }

    #[test]
    fn secret_values_are_never_echoed() {
        let err = read(&[("T_DATABASE_URL", "postgres://u:s3cret@h:notaport/db")]).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains("T_DATABASE_URL=<hidden>"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
