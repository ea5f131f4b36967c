use healthpipe_domain::{Period, SampleType as T};
use serde_json::{json, Value};

use super::*;
use crate::observation::{patient, sample_observation};
use crate::pairing::pair_all;
use crate::test_data::{at, bucket, ranged, reading, user};

/// A Patient, raw samples with a panel, and buckets with a panel.
fn resources() -> Vec<Resource> {
    let samples = [
        reading("s", T::BloodPressureSystolic, 120.0, at(8, 0)),
        reading("d", T::BloodPressureDiastolic, 80.0, at(8, 0)),
        ranged("st", T::Steps, 900.0, at(9, 0), at(9, 30)),
        reading("o", T::OxygenSaturation, 97.0, at(9, 5)),
    ];
    let buckets = [
        bucket(T::BloodPressureSystolic, Period::Day, at(0, 0), 121.0),
        bucket(T::BloodPressureDiastolic, Period::Day, at(0, 0), 79.0),
        bucket(T::Steps, Period::Hour, at(9, 0), 900.0),
    ];
    let mut out = vec![Resource::from(patient(user()))];
    for group in pair_all(samples) {
        out.push(group.observation(user()).unwrap().into());
    }
    for group in pair_all(buckets) {
        out.push(group.observation(user()).unwrap().into());
    }
    out
}

fn written(bundle_type: BundleType, resources: &[Resource]) -> Vec<u8> {
    let mut writer = BundleWriter::start(Vec::new(), bundle_type, at(12, 0)).unwrap();
    for resource in resources {
        writer.write(resource).unwrap();
    }
    assert_eq!(writer.entries(), resources.len() as u64);
    writer.finish().unwrap()
}

#[test]
fn the_streamed_bundle_equals_the_built_one() {
    let resources = resources();
    assert_eq!(resources.len(), 6);
    for bundle_type in [BundleType::Collection, BundleType::Searchset] {
        let streamed: Value = serde_json::from_slice(&written(bundle_type, &resources)).unwrap();
        assert_eq!(streamed, bundle(bundle_type, at(12, 0), &resources));
    }
}

#[test]
fn the_bundle_has_its_header_and_urn_uuid_entries() {
    let resources = resources();
    let built = bundle(BundleType::Collection, at(12, 0), &resources);
    assert_eq!(built["resourceType"], "Bundle");
    assert_eq!(built["type"], "collection");
    assert_eq!(built["timestamp"], "2026-05-04T12:00:00Z");
    let entries = built["entry"].as_array().unwrap();
    assert_eq!(entries.len(), resources.len());
    for (entry, resource) in entries.iter().zip(&resources) {
        assert_eq!(entry["fullUrl"], format!("urn:uuid:{}", resource.id()));
        assert_eq!(entry["resource"]["id"], json!(resource.id()));
    }
    assert_eq!(entries[0]["resource"]["resourceType"], "Patient");
}

#[test]
fn an_empty_bundle_has_no_entry_array() {
    let expected = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": "2026-05-04T12:00:00Z"
    });
    assert_eq!(bundle(BundleType::Searchset, at(12, 0), &[]), expected);
    let streamed = written(BundleType::Searchset, &[]);
    assert_eq!(
        serde_json::from_slice::<Value>(&streamed).unwrap(),
        expected
    );
}

#[test]
fn draining_the_sink_between_entries_loses_nothing() {
    let resources = resources();
    let mut chunks = Vec::new();
    let mut writer = BundleWriter::start(Vec::new(), BundleType::Collection, at(12, 0)).unwrap();
    for resource in &resources {
        writer.write(resource).unwrap();
        chunks.extend(std::mem::take(writer.get_mut()));
    }
    chunks.extend(writer.finish().unwrap());
    assert_eq!(chunks, written(BundleType::Collection, &resources));
}

#[test]
fn a_failing_sink_is_an_error() {
    /// Takes `room` bytes, then fails.
    struct Full {
        room: usize,
    }
    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::other("disk full"));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let start = |room| BundleWriter::start(Full { room }, BundleType::Collection, at(12, 0));
    assert!(start(10).is_err());
    let mut writer = start(80).unwrap();
    let sample = reading("h", T::HeartRate, 60.0, at(8, 0));
    let observation = Resource::from(sample_observation(user(), &sample).unwrap());
    assert!(writer.write(&observation).is_err());
}
