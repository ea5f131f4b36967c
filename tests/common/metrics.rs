//! A service's `GET /metrics` (Prometheus text exposition), parsed into its samples.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// One sample line: `name{labels} value`.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Everything one scrape returned.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    /// Metric family names with their type (`# TYPE` lines).
    pub families: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

impl Scrape {
    /// The samples of `name` (a sample's own name: `x_bucket`, not the histogram `x`).
    pub fn series<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// The sum of `name` over all its series; `None` when it has none.
    pub fn sum(&self, name: &str) -> Option<f64> {
        let mut series = self.series(name).peekable();
        series.peek()?;
        Some(series.map(|s| s.value).sum())
    }

    /// Families with at least one sample (a histogram counts by its `_bucket` lines).
    pub fn exported(&self) -> BTreeSet<String> {
        self.families
            .keys()
            .filter(|family| {
                self.samples.iter().any(|s| {
                    s.name == **family
                        || ["_bucket", "_sum", "_count"]
                            .iter()
                            .any(|suffix| s.name == format!("{family}{suffix}"))
                })
            })
            .cloned()
            .collect()
    }
}

/// `GET <base_url>/metrics`; panics unless it answers 200.
pub async fn scrape(http: &reqwest::Client, base_url: &str) -> Scrape {
    let response = http
        .get(format!("{base_url}/metrics"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {base_url}/metrics: {e}"));
    assert_eq!(response.status(), 200, "GET {base_url}/metrics");
    parse(&response.text().await.expect("metrics body"))
}

/// Parses the text exposition format (what the `prometheus` crate writes).
pub fn parse(text: &str) -> Scrape {
    let mut scrape = Scrape::default();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            if let Some((name, kind)) = rest.split_once(' ') {
                scrape.families.insert(name.to_string(), kind.to_string());
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("metrics line without a value: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, labels.trim_end_matches('}')),
            None => (series, ""),
        };
        scrape.samples.push(Sample {
            name: name.to_string(),
            labels: labels_of(labels),
            value: value
                .parse()
                .unwrap_or_else(|e| panic!("metrics value in {line}: {e}")),
        });
    }
    scrape
}

/// `a="x",b="y"` (values without commas or escaped quotes, as healthpipe's are).
fn labels_of(text: &str) -> BTreeMap<String, String> {
    text.split("\",")
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}
