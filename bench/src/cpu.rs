//! Where the CPU went: user + system time of every process on the machine from `/proc`,
//! grouped into the pipeline's parts (PostgreSQL's backends, Kafka's JVM, the services this
//! run started, the bench itself), so a figure below target can say who was busy.

use std::collections::BTreeMap;
use std::time::Instant;

/// Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// CPU seconds per group at one instant.
#[derive(Debug, Clone)]
pub struct Snapshot {
    at: Instant,
    seconds: BTreeMap<String, f64>,
}

/// Reads every process; `named` maps the pids of our services to their group names.
pub fn snapshot(named: &[(u32, &str)]) -> Snapshot {
    let me = std::process::id();
    let mut seconds: BTreeMap<String, f64> = BTreeMap::new();
    let entries = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    for entry in entries {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let (Some(user), Some(system)) = (
            fields.get(11).and_then(|f| f.parse::<f64>().ok()),
            fields.get(12).and_then(|f| f.parse::<f64>().ok()),
        ) else {
            continue;
        };
        let group = if pid == me {
            "bench (load, probes, queries)".to_string()
        } else if let Some((_, name)) = named.iter().find(|(p, _)| *p == pid) {
            name.to_string()
        } else if comm == "postgres" {
            "postgres".to_string()
        } else if comm == "java" {
            "kafka".to_string()
        } else {
            "other".to_string()
        };
        *seconds.entry(group).or_default() += (user + system) / TICKS;
    }
    Snapshot {
        at: Instant::now(),
        seconds,
    }
}

/// Cores used per group between two snapshots, busiest first.
pub fn cores(before: &Snapshot, after: &Snapshot) -> Vec<(String, f64)> {
    let wall = (after.at - before.at).as_secs_f64().max(1e-3);
    let mut out: Vec<(String, f64)> = after
        .seconds
        .iter()
        .map(|(group, s)| {
            let earlier = before.seconds.get(group).copied().unwrap_or(0.0);
            (group.clone(), ((s - earlier) / wall).max(0.0))
        })
        .filter(|(_, c)| *c >= 0.005)
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// "processor 0.93, postgres 0.71, ..." for logs and notes.
pub fn describe(cores: &[(String, f64)]) -> String {
    cores
        .iter()
        .map(|(g, c)| format!("{g} {c:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `{"group": cores}` for the JSON report.
pub fn to_json(cores: &[(String, f64)]) -> serde_json::Value {
    cores
        .iter()
        .map(|(g, c)| (g.clone(), serde_json::json!((c * 100.0).round() / 100.0)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}
