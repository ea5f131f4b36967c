//! Every import source behind one trait, so the gateway's import jobs and the command line
//! run any of them the same way: a [`Connector`] turns an input into a [`RecordStream`] of
//! per-record [`Outcome`]s, and says at the end what else the input held ([`Totals`]).
//!
//! Apple Health exports are streamed record by record (they reach gigabytes). The shimmer
//! shapes are single API responses of at most a few megabytes, parsed whole and then
//! replayed as outcomes.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};

use chrono_tz::Tz;

use crate::apple_health::{AppleHealthSamples, Ignored, Outcome};
use crate::error::ImportError;
use crate::import::Import;
use crate::shimmer;

/// One import source.
pub trait Connector: Send + Sync {
    /// Its name on the command line and in the API (`apple-health`, `fitbit`, ...).
    fn name(&self) -> &'static str;

    /// What a user should hand it, for help texts and error messages.
    fn describe(&self) -> &'static str;

    /// The records of `input`. `zone` is the user's time zone, for the formats that write
    /// times without an offset.
    fn read<'a>(
        &self,
        input: Box<dyn BufRead + Send + 'a>,
        zone: Tz,
    ) -> Result<Box<dyn RecordStream + 'a>, ImportError>;
}

/// The outcome of each record, in input order, then [`RecordStream::totals`].
pub trait RecordStream: Iterator<Item = Result<Outcome, ImportError>> + Send {
    /// What the input held besides the outcomes yielded; complete once iteration has ended.
    fn totals(&self) -> Totals;
}

/// The part of an input's accounting that is not one outcome per record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Records read (see [`crate::Counts::records`]).
    pub records: usize,
    /// Records the connector itself dropped as repeats of an earlier one in the input.
    pub duplicates: usize,
    /// `<Record>`s inside a `<Correlation>` (Apple Health), not counted in `records`.
    pub nested_in_correlations: usize,
    /// Top-level elements other than records, by name.
    pub other_elements: BTreeMap<String, usize>,
}

/// Every connector, by name.
pub fn connectors() -> [&'static dyn Connector; 5] {
    [
        &AppleHealth,
        &Shimmer::FITBIT,
        &Shimmer::GOOGLE_FIT,
        &Shimmer::WITHINGS,
        &Shimmer::IHEALTH,
    ]
}

/// The connector called `name`.
pub fn connector(name: &str) -> Option<&'static dyn Connector> {
    connectors().into_iter().find(|c| c.name() == name)
}

/// Apple Health's `export.xml`.
pub struct AppleHealth;

impl Connector for AppleHealth {
    fn name(&self) -> &'static str {
        "apple-health"
    }

    fn describe(&self) -> &'static str {
        "Apple Health's export.xml (\"Export All Health Data\"), or the export.zip holding it"
    }

    fn read<'a>(
        &self,
        input: Box<dyn BufRead + Send + 'a>,
        _zone: Tz,
    ) -> Result<Box<dyn RecordStream + 'a>, ImportError> {
        Ok(Box::new(AppleHealthSamples::new(input)))
    }
}

impl<R: BufRead + Send> RecordStream for AppleHealthSamples<R> {
    fn totals(&self) -> Totals {
        let stats = self.stats();
        Totals {
            records: stats.records,
            duplicates: 0,
            nested_in_correlations: stats.nested_in_correlations,
            other_elements: stats.other_elements.clone(),
        }
    }
}

/// A third-party API response in a shape Open mHealth's shimmer reads.
pub struct Shimmer {
    name: &'static str,
    describe: &'static str,
    parse: fn(&str, Tz) -> Result<Import, ImportError>,
}

impl Shimmer {
    pub const FITBIT: Shimmer = Shimmer {
        name: "fitbit",
        describe: "a Fitbit activities/steps or activities/heart intraday response (JSON)",
        parse: |json, zone| shimmer::import_fitbit_intraday(json, &zone),
    };
    pub const GOOGLE_FIT: Shimmer = Shimmer {
        name: "google-fit",
        describe: "a Google Fit merged step-deltas or heart-rate dataset (JSON)",
        parse: |json, zone| shimmer::import_google_fit(json, &zone),
    };
    pub const WITHINGS: Shimmer = Shimmer {
        name: "withings",
        describe: "a Withings intraday activity response (JSON)",
        parse: |json, zone| shimmer::import_withings_intraday_activity(json, &zone),
    };
    pub const IHEALTH: Shimmer = Shimmer {
        name: "ihealth",
        describe: "an iHealth blood-oxygen (SpO2) response (JSON)",
        parse: |json, _| shimmer::import_ihealth_spo2(json),
    };
}

impl Connector for Shimmer {
    fn name(&self) -> &'static str {
        self.name
    }

    fn describe(&self) -> &'static str {
        self.describe
    }

    fn read<'a>(
        &self,
        mut input: Box<dyn BufRead + Send + 'a>,
        zone: Tz,
    ) -> Result<Box<dyn RecordStream + 'a>, ImportError> {
        let mut json = String::new();
        input
            .read_to_string(&mut json)
            .map_err(|e| ImportError::Json {
                what: self.describe.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Box::new(Replayed::new((self.parse)(&json, zone)?)))
    }
}

/// A whole [`Import`] handed out again as outcomes.
struct Replayed {
    outcomes: std::vec::IntoIter<Outcome>,
    totals: Totals,
}

impl Replayed {
    fn new(import: Import) -> Replayed {
        let counts = import.counts;
        let samples = import.devices.into_iter().flat_map(|d| {
            let device = d.device;
            d.samples.into_iter().map(move |sample| Outcome::Sample {
                device: device.clone(),
                sample,
            })
        });
        let ignored = |map: BTreeMap<String, usize>, make: fn(String) -> Ignored| {
            map.into_iter()
                .flat_map(move |(what, n)| std::iter::repeat_n(Outcome::Ignored(make(what)), n))
        };
        let outcomes: Vec<Outcome> = samples
            .chain(import.skipped.into_iter().map(Outcome::Skipped))
            .chain(ignored(counts.ignored_types, Ignored::UnmappedType))
            .chain(ignored(counts.not_asleep, Ignored::NotAsleep))
            .chain(ignored(counts.not_measured, Ignored::NotMeasured))
            .collect();
        Replayed {
            outcomes: outcomes.into_iter(),
            totals: Totals {
                records: counts.records,
                duplicates: counts.duplicates,
                nested_in_correlations: counts.nested_in_correlations,
                other_elements: counts.other_elements,
            },
        }
    }
}

impl Iterator for Replayed {
    type Item = Result<Outcome, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.outcomes.next().map(Ok)
    }
}

impl RecordStream for Replayed {
    fn totals(&self) -> Totals {
        self.totals.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcomes(connector: &dyn Connector, input: &str) -> (Vec<Outcome>, Totals) {
        let mut stream = connector
            .read(Box::new(input.as_bytes()), chrono_tz::UTC)
            .unwrap();
        let outcomes = stream.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
        (outcomes, stream.totals())
    }

    /// Records = samples + duplicates + skipped + ignored, whatever the connector.
    fn assert_accounted(outcomes: &[Outcome], totals: &Totals) {
        assert_eq!(outcomes.len() + totals.duplicates, totals.records);
    }

    #[test]
    fn every_connector_has_a_distinct_name() {
        let names: std::collections::BTreeSet<_> = connectors().iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), connectors().len());
        assert_eq!(connector("google-fit").unwrap().name(), "google-fit");
        assert!(connector("strava").is_none());
    }

    #[test]
    fn apple_health_streams_and_counts() {
        let export = r#"<HealthData>
 <Record type="HKQuantityTypeIdentifierStepCount" sourceName="Phone" unit="count" startDate="2024-10-01 08:00:00 +0200" endDate="2024-10-01 08:10:00 +0200" value="100"/>
 <Record type="HKQuantityTypeIdentifierDietaryWater" sourceName="Phone" unit="mL" startDate="2024-10-01 08:00:00 +0200" endDate="2024-10-01 08:00:00 +0200" value="250"/>
 <Workout workoutActivityType="HKWorkoutActivityTypeRunning"/>
</HealthData>"#;
        let (outcomes, totals) = outcomes(&AppleHealth, export);
        assert_eq!(outcomes.len(), 2);
        assert_eq!(totals.records, 2);
        assert_eq!(totals.other_elements.get("Workout"), Some(&1));
        assert_accounted(&outcomes, &totals);
    }

    #[test]
    fn shimmer_responses_replay_every_record() {
        let fitbit = r#"{"activities-steps": [{"dateTime": "2024-08-21", "value": "59"}],
          "activities-steps-intraday": {"datasetInterval": 1, "datasetType": "minute",
            "dataset": [{"time": "00:00:00", "value": 0}, {"time": "00:01:00", "value": 59},
                        {"time": "00:01:00", "value": 59}, {"time": "25:00:00", "value": 3}]}}"#;
        let (outcomes, totals) = outcomes(&Shimmer::FITBIT, fitbit);
        assert_eq!(totals.records, 4);
        assert_eq!(totals.duplicates, 1);
        let samples = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Sample { .. }))
            .count();
        let skipped = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Skipped(_)))
            .count();
        assert_eq!((samples, skipped), (1, 1));
        assert!(outcomes.iter().any(
            |o| matches!(o, Outcome::Ignored(Ignored::NotMeasured(w)) if w == "zero-step interval")
        ));
        assert_accounted(&outcomes, &totals);
    }

    #[test]
    fn a_bad_response_is_an_error_naming_the_format() {
        let err = Shimmer::WITHINGS
            .read(Box::new("not json".as_bytes()), chrono_tz::UTC)
            .err()
            .unwrap();
        assert!(err.to_string().contains("Withings"), "{err}");
    }
}
