//! Everything wrong with a service's settings, reported together.

use std::fmt;

/// One setting that is missing or cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigProblem {
    /// A required variable is unset or empty.
    #[error("{0} is required")]
    Missing(String),
    /// A variable's value does not parse. `value` is `None` for secrets, whose value is
    /// never echoed.
    #[error("{var}={} is invalid: {reason}", shown(.value))]
    Invalid {
        var: String,
        value: Option<String>,
        reason: String,
    },
}

fn shown(value: &Option<String>) -> String {
    match value {
        Some(value) => format!("{value:?}"),
        None => "<hidden>".to_string(),
    }
}

/// All the problems found in one service's settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {service} configuration: {}", list(.problems))]
pub struct ConfigError {
    /// The service whose settings these are (`gateway`, `processor`, `registry`).
    pub service: String,
    pub problems: Vec<ConfigProblem>,
}

fn list(problems: &[ConfigProblem]) -> String {
    let mut text = String::new();
    for (i, problem) in problems.iter().enumerate() {
        if i > 0 {
            text.push_str("; ");
        }
        fmt::write(&mut text, format_args!("{problem}")).expect("writing to a String");
    }
    text
}
