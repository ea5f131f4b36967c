//! The benchmark report: each figure as the median and spread of its runs, its baseline, the
//! ratio, the target and whether the median meets it; written as JSON to `bench/results/`
//! and printed as a table (the same Markdown table the README's Performance section shows).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::{json, Value};

/// Median and range of a figure's runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Stat {
    /// `None` for no runs (a figure that could not be measured).
    pub fn of(values: &[f64]) -> Option<Stat> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Stat {
            median,
            min: v[0],
            max: v[n - 1],
            runs: n,
        })
    }

    fn to_json(self) -> Value {
        json!({"median": self.median, "min": self.min, "max": self.max, "runs": self.runs})
    }
}

/// The `q` quantile (0..=1) of `values` by the nearest-rank method; `NaN` when empty.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = (q * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

/// What a target constrains: the ratio to the baseline, or the measured value itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Ratio,
    Value,
}

/// One bound of a target, checked against the median.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Check {
    pub subject: Subject,
    pub at_least: bool,
    pub bound: f64,
}

impl Check {
    pub fn ratio_at_least(bound: f64) -> Check {
        Check {
            subject: Subject::Ratio,
            at_least: true,
            bound,
        }
    }
    pub fn ratio_at_most(bound: f64) -> Check {
        Check {
            subject: Subject::Ratio,
            at_least: false,
            bound,
        }
    }
    pub fn value_at_least(bound: f64) -> Check {
        Check {
            subject: Subject::Value,
            at_least: true,
            bound,
        }
    }
    pub fn value_below(bound: f64) -> Check {
        Check {
            subject: Subject::Value,
            at_least: false,
            bound,
        }
    }

    fn passes(&self, value: f64) -> bool {
        if self.at_least {
            value >= self.bound
        } else {
            value <= self.bound
        }
    }

    fn describe(&self, unit: &str) -> String {
        let op = if self.at_least { "≥" } else { "<" };
        match self.subject {
            Subject::Ratio => format!("ratio {op} {}", number(self.bound)),
            Subject::Value => format!("{op} {} {unit}", number(self.bound)),
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone)]
pub struct Figure {
    /// "1", "6a", "10b 16×", ...
    pub id: String,
    pub title: String,
    pub unit: String,
    pub value: Option<Stat>,
    pub baseline_name: String,
    pub baseline: Option<Stat>,
    pub baseline_unit: String,
    /// Per-run ratios when value and baseline were measured in pairs, else value ÷ baseline
    /// medians.
    pub ratio: Option<Stat>,
    pub checks: Vec<Check>,
    /// Further measured numbers (p50 next to a p99, rows returned, ...).
    pub extra: Vec<(String, Value)>,
    pub notes: Vec<String>,
}

impl Figure {
    pub fn new(id: impl Into<String>, title: impl Into<String>, unit: impl Into<String>) -> Self {
        let unit = unit.into();
        Figure {
            id: id.into(),
            title: title.into(),
            baseline_unit: unit.clone(),
            unit,
            value: None,
            baseline_name: String::new(),
            baseline: None,
            ratio: None,
            checks: Vec::new(),
            extra: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Sets the runs and the baseline runs; paired runs (same length) give per-run ratios.
    pub fn measured(mut self, values: &[f64], baseline_name: &str, baseline: &[f64]) -> Self {
        self.value = Stat::of(values);
        self.baseline_name = baseline_name.to_string();
        self.baseline = Stat::of(baseline);
        self.ratio = if values.len() == baseline.len() && !values.is_empty() {
            let ratios: Vec<f64> = values.iter().zip(baseline).map(|(v, b)| v / b).collect();
            Stat::of(&ratios)
        } else {
            match (self.value, self.baseline) {
                (Some(v), Some(b)) => Stat::of(&[v.median / b.median]),
                _ => None,
            }
        };
        self
    }

    pub fn baseline_unit(mut self, unit: &str) -> Self {
        self.baseline_unit = unit.to_string();
        self
    }

    pub fn check(mut self, check: Check) -> Self {
        self.checks.push(check);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn extra(mut self, name: &str, value: Value) -> Self {
        self.extra.push((name.to_string(), value));
        self
    }

    /// `Some(true)` if every check passes on the medians, `None` if not measured or reported
    /// without a target.
    pub fn passes(&self) -> Option<bool> {
        if self.checks.is_empty() {
            return None;
        }
        let mut all = true;
        for check in &self.checks {
            let stat = match check.subject {
                Subject::Ratio => self.ratio?,
                Subject::Value => self.value?,
            };
            all &= check.passes(stat.median);
        }
        Some(all)
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "title": self.title,
            "unit": self.unit,
            "value": self.value.map(Stat::to_json),
            "baseline": {
                "name": self.baseline_name,
                "unit": self.baseline_unit,
                "stat": self.baseline.map(Stat::to_json),
            },
            "ratio": self.ratio.map(Stat::to_json),
            "target": self.checks.iter().map(|c| c.describe(&self.unit)).collect::<Vec<_>>(),
            "pass": self.passes(),
            "extra": self.extra.iter().cloned().collect::<serde_json::Map<_, _>>(),
            "notes": self.notes,
        })
    }
}

/// The whole run.
#[derive(Debug, Default)]
pub struct Report {
    pub figures: Vec<Figure>,
    /// Wall-clock seconds per phase, in order.
    pub timings: Vec<(String, f64)>,
    pub params: Value,
    pub notes: Vec<String>,
}

impl Report {
    pub fn add(&mut self, figure: Figure) {
        println!("{}", figure_line(&figure));
        self.figures.push(figure);
    }

    pub fn to_json(&self, commit: &str, dirty: bool) -> Value {
        json!({
            "commit": commit,
            "dirty_work_tree": dirty,
            "finished_at": chrono::Utc::now().to_rfc3339(),
            "machine": machine(),
            "params": self.params,
            "timings_seconds": self
                .timings
                .iter()
                .map(|(k, v)| (k.clone(), json!((v * 10.0).round() / 10.0)))
                .collect::<serde_json::Map<_, _>>(),
            "figures": self.figures.iter().map(Figure::to_json).collect::<Vec<_>>(),
            "notes": self.notes,
        })
    }

    /// Writes `<dir>/<timestamp>-<commit>.json`; returns the path.
    pub fn write(&self, dir: &Path, commit: &str, dirty: bool) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let path = dir.join(format!("{stamp}-{commit}.json"));
        let text = serde_json::to_string_pretty(&self.to_json(commit, dirty))?;
        std::fs::write(&path, text + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// The Markdown table of every figure, then the notes of the figures.
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str("| # | figure | measured: median [min–max] | baseline: median | ratio: median [min–max] | target | |\n");
        out.push_str("|---|---|---|---|---|---|---|\n");
        for f in &self.figures {
            let value = f
                .value
                .map(|s| format!("{} {}", spread(s), f.unit))
                .unwrap_or_else(|| "not measured".into());
            let baseline = f
                .baseline
                .map(|s| {
                    format!(
                        "{} {} ({})",
                        number(s.median),
                        f.baseline_unit,
                        f.baseline_name
                    )
                })
                .unwrap_or_else(|| {
                    if f.baseline_name.is_empty() {
                        "–".into()
                    } else {
                        format!("n/a ({})", f.baseline_name)
                    }
                });
            let ratio = f.ratio.map(spread).unwrap_or_else(|| "–".into());
            let target = f
                .checks
                .iter()
                .map(|c| c.describe(&f.unit))
                .collect::<Vec<_>>()
                .join(", ");
            let verdict = match f.passes() {
                Some(true) => "pass",
                Some(false) => "**below**",
                None => "n/a",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {value} | {baseline} | {ratio} | {target} | {verdict} |",
                f.id, f.title
            );
        }
        let notes: Vec<String> = self
            .figures
            .iter()
            .flat_map(|f| f.notes.iter().map(move |n| format!("- {}: {n}", f.id)))
            .collect();
        if !notes.is_empty() {
            out.push('\n');
            out.push_str(&notes.join("\n"));
            out.push('\n');
        }
        out
    }
}

/// One line per figure as it is measured, so a long run shows progress.
fn figure_line(f: &Figure) -> String {
    let value = f
        .value
        .map(|s| format!("{} {}", spread(s), f.unit))
        .unwrap_or_else(|| "not measured".into());
    let ratio = f
        .ratio
        .map(|s| format!(", ratio {}", spread(s)))
        .unwrap_or_default();
    let verdict = match f.passes() {
        Some(true) => "pass",
        Some(false) => "BELOW TARGET",
        None => "n/a",
    };
    format!("  [{}] {}: {value}{ratio} → {verdict}", f.id, f.title)
}

/// "median [min–max]", or the median alone for one run.
pub fn spread(s: Stat) -> String {
    if s.runs > 1 {
        format!("{} [{}–{}]", number(s.median), number(s.min), number(s.max))
    } else {
        number(s.median)
    }
}

/// Three significant digits, thousands separated: 123,000 / 1,234 / 12.3 / 0.123.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if a >= 1000.0 {
        let digits = a.log10().floor() as i32 + 1;
        let scale = 10f64.powi((digits - 3).max(0));
        let rounded = ((a / scale).round() * scale) as u64;
        let text = rounded.to_string();
        let mut grouped = String::new();
        for (i, c) in text.chars().enumerate() {
            if i > 0 && (text.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        format!("{}{grouped}", if x < 0.0 { "-" } else { "" })
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else if a == 0.0 {
        "0".into()
    } else {
        let digits = (-a.log10()).floor() as usize + 3;
        format!("{x:.digits$}")
    }
}

/// Cores, memory and load: the machine is shared, so the load average belongs in the report.
fn machine() -> Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let mem_kib = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok());
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "memory_gib": mem_kib.map(|k| (k as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0),
        "load_average_at_end": read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
    })
}

/// Wall-clock time per phase.
pub struct Clock {
    last: Instant,
    pub laps: Vec<(String, f64)>,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            last: Instant::now(),
            laps: Vec::new(),
        }
    }

    pub fn lap(&mut self, name: &str) {
        let seconds = self.last.elapsed().as_secs_f64();
        println!("  ({name}: {seconds:.0} s)");
        self.laps.push((name.to_string(), seconds));
        self.last = Instant::now();
    }
}

/// `{"median", "min", "max"}` of `values`, or null.
pub fn stat_json(values: &[f64]) -> Value {
    match Stat::of(values) {
        Some(s) => json!({"median": s.median, "min": s.min, "max": s.max}),
        None => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        let s = Stat::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.runs), (2.0, 1.0, 3.0, 3));
        assert_eq!(Stat::of(&[1.0, 4.0]).unwrap().median, 2.5);
        assert!(Stat::of(&[]).is_none());
    }

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&v, 1.0), 100.0);
        assert_eq!(quantile(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn paired_runs_give_per_run_ratios_and_checks_use_medians() {
        let f = Figure::new("1", "gateway", "samples/s")
            .measured(&[100.0, 200.0, 300.0], "raw", &[200.0, 200.0, 200.0])
            .check(Check::ratio_at_least(0.5))
            .check(Check::value_at_least(150.0));
        let r = f.ratio.unwrap();
        assert_eq!((r.median, r.min, r.max), (1.0, 0.5, 1.5));
        assert_eq!(f.passes(), Some(true));
        let g = Figure::new("9", "rss", "MiB")
            .measured(&[600.0], "idle", &[])
            .check(Check::value_below(500.0));
        assert_eq!(g.passes(), Some(false));
        assert_eq!(Figure::new("x", "y", "z").passes(), None);
        let report_only = Figure::new("x", "y", "z").measured(&[1.0], "b", &[2.0]);
        assert_eq!(report_only.passes(), None);
    }

    #[test]
    fn numbers_keep_three_significant_digits() {
        assert_eq!(number(123_456.0), "123,000");
        assert_eq!(number(1_234.0), "1,230");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(0.01234), "0.0123");
        assert_eq!(number(0.5), "0.500");
    }
}
