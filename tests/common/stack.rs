//! The one fixture every integration test shares: it brings the local stack up through
//! `scripts/stack up` (idempotent, so a running stack is reused) and reads the URLs the
//! script exports in `.stack/env`. A stack that cannot start fails the test loudly.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Where the local stack's services listen.
#[derive(Debug, Clone)]
pub struct Stack {
    pub database_url: String,
    pub kafka_brokers: String,
    pub registry_url: String,
    pub vars: HashMap<String, String>,
}

/// The checkout's root folder (the workspace root).
pub fn repo_root() -> PathBuf {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    while !dir.join("scripts/stack").exists() {
        assert!(
            dir.pop(),
            "scripts/stack not found above {}",
            env!("CARGO_MANIFEST_DIR")
        );
    }
    dir
}

/// Starts (or reuses) the stack once per test binary.
pub fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let root = repo_root();
        let status = Command::new("bash")
            .arg(root.join("scripts/stack"))
            .arg("up")
            .current_dir(&root)
            .status()
            .expect("could not run scripts/stack");
        assert!(
            status.success(),
            "`scripts/stack up` failed: the integration tests need the real stack"
        );
        let vars = read_env_file(&root.join(".stack/env"));
        let get = |k: &str| {
            vars.get(k)
                .cloned()
                .unwrap_or_else(|| panic!("{k} missing from .stack/env"))
        };
        Stack {
            database_url: get("DATABASE_URL"),
            kafka_brokers: get("KAFKA_BROKERS"),
            registry_url: get("SCHEMA_REGISTRY_URL"),
            vars,
        }
    })
}

/// Parses the `export KEY='value'` lines the stack script writes.
fn read_env_file(path: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter_map(|line| {
            let line = line.trim().strip_prefix("export ").unwrap_or(line.trim());
            let (k, v) = line.split_once('=')?;
            Some((
                k.to_string(),
                v.trim_matches(|c| c == '\'' || c == '"').to_string(),
            ))
        })
        .collect()
}

/// Runs `sql` (several statements may follow each other) in `database` as the local
/// PostgreSQL's superuser, through `scripts/stack psql`: for what only an administrator of
/// the server may do, such as making the cluster-wide roles a test logs in with. Returns
/// psql's output; panics with it when psql fails.
pub fn superuser_sql(database: &str, sql: &str) -> String {
    stack();
    try_superuser_sql(database, sql).unwrap_or_else(|text| {
        panic!("psql as the superuser failed (the local PostgreSQL of scripts/stack is needed):\n{text}")
    })
}

/// [`superuser_sql`] without the panic, for clean-ups that run while a test unwinds.
pub fn try_superuser_sql(database: &str, sql: &str) -> Result<String, String> {
    use std::io::Write;
    use std::process::Stdio;
    let root = repo_root();
    let mut child = Command::new("bash")
        .arg(root.join("scripts/stack"))
        .args(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database])
        .current_dir(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("run scripts/stack psql: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("psql's stdin")?
        .write_all(sql.as_bytes())
        .map_err(|e| format!("write to psql: {e}"))?;
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}
