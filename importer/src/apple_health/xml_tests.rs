//! Reader tests on small hand-written exports shaped like the real ones.

use super::*;

const EXPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 3 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
>
]>
<HealthData locale="en_US">
 <ExportDate value="2017-11-07 10:05:13 +0200"/>
 <Record type="HKQuantityTypeIdentifierStepCount" sourceName="Jonathan’s iPhone" device="&lt;&lt;HKDevice: 0x1&gt;, name:iPhone, hardware:iPhone8,1&gt;" unit="count" startDate="2017-10-23 08:15:00 +0200" endDate="2017-10-23 08:30:00 +0200" value="612"/>
 <Correlation type="HKCorrelationTypeIdentifierFood" sourceName="Nutrino" startDate="2017-10-31 00:00:00 +0200" endDate="2017-10-31 00:00:00 +0200">
  <MetadataEntry key="HKFoodType" value="Muesli"/>
  <Record type="HKQuantityTypeIdentifierDietaryProtein" sourceName="Nutrino" unit="g" startDate="2017-10-31 00:00:00 +0200" endDate="2017-10-31 00:00:00 +0200" value="5">
   <MetadataEntry key="Meal" value="meal"/>
  </Record>
 </Correlation>
 <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN"
         sourceName="🕛 Watch" unit="ms"
         startDate="2020-01-01 08:00:00 -0800" endDate="2020-01-01 08:01:00 -0800" value="45">
  <MetadataEntry key="HKWasUserEntered" value="0"/>
  <HeartRateVariabilityMetadataList>
   <InstantaneousBeatsPerMinute bpm="60" time="8:00:01.00 AM"/>
  </HeartRateVariabilityMetadataList>
  <MetadataEntry key="note" value="a &quot;quoted&quot; &amp; escaped value"/>
 </Record>
 <Workout workoutActivityType="HKWorkoutActivityTypeRunning" sourceName="Apple Watch" startDate="2016-11-14 07:25:41 -0700" endDate="2016-11-14 07:30:52 -0700">
  <MetadataEntry key="HKTimeZone" value="America/Los_Angeles"/>
 </Workout>
 <ActivitySummary dateComponents="2016-11-15"/>
</HealthData>
"#;

fn read_all(text: &str) -> (Vec<Record>, ReaderStats) {
    let mut reader = RecordReader::new(text.as_bytes());
    let records = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    (records, reader.stats().clone())
}

#[test]
fn yields_top_level_records_with_metadata_and_lines() {
    let (records, stats) = read_all(EXPORT);
    assert_eq!(records.len(), 2);
    let steps = &records[0];
    assert_eq!((steps.number, steps.line), (1, 11));
    assert_eq!(steps.source_name.as_deref(), Some("Jonathan’s iPhone"));
    assert_eq!(
        steps.device.as_deref(),
        Some("<<HKDevice: 0x1>, name:iPhone, hardware:iPhone8,1>")
    );
    assert_eq!(steps.value.as_deref(), Some("612"));
    let hrv = &records[1];
    assert_eq!((hrv.number, hrv.line), (2, 18));
    assert_eq!(hrv.source_name.as_deref(), Some("🕛 Watch"));
    assert_eq!(
        hrv.metadata,
        [
            ("HKWasUserEntered".to_owned(), "0".to_owned()),
            ("note".to_owned(), "a \"quoted\" & escaped value".to_owned())
        ]
    );
    assert_eq!(hrv.decode_error, None);
    assert_eq!(stats.records, 2);
    assert_eq!(stats.nested_in_correlations, 1);
    let others: Vec<(&str, usize)> = stats
        .other_elements
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        others,
        [
            ("ActivitySummary", 1),
            ("Correlation", 1),
            ("ExportDate", 1),
            ("Workout", 1)
        ]
    );
}

#[test]
fn small_read_buffers_give_the_same_records() {
    let (whole, _) = read_all(EXPORT);
    let mut reader = RecordReader::new(std::io::BufReader::with_capacity(7, EXPORT.as_bytes()));
    let chunked = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    assert_eq!(whole, chunked);
}

#[test]
fn undecodable_attribute_is_kept_as_a_record_problem() {
    let text = r#"<HealthData><Record type="HKQuantityTypeIdentifierStepCount" sourceName="A &bogus; B" value="1"/>
<Record type="HKQuantityTypeIdentifierStepCount" sourceName="ok" value="2"/></HealthData>"#;
    let (records, _) = read_all(text);
    assert_eq!(records.len(), 2);
    let (attribute, _) = records[0].decode_error.clone().unwrap();
    assert_eq!(attribute, "sourceName");
    assert_eq!(records[1].decode_error, None);
    assert_eq!(records[1].line, 2);
}

#[test]
fn truncated_and_foreign_files_are_errors() {
    let cut = &EXPORT[..EXPORT.find("<Workout").unwrap()];
    let mut reader = RecordReader::new(cut.as_bytes());
    assert_eq!(
        reader.by_ref().take(2).filter(Result::is_ok).count(),
        2,
        "records before the cut are yielded"
    );
    assert!(matches!(
        reader.next(),
        Some(Err(ImportError::Truncated { .. }))
    ));
    assert!(reader.next().is_none());

    let mid_tag = &EXPORT[..EXPORT.find("value=\"612\"").unwrap()];
    let err = RecordReader::new(mid_tag.as_bytes())
        .find_map(Result::err)
        .unwrap();
    assert!(
        matches!(err, ImportError::Xml { .. } | ImportError::Truncated { .. }),
        "{err}"
    );

    let err = RecordReader::new(&b"<plist><dict/></plist>"[..])
        .find_map(Result::err)
        .unwrap();
    assert!(err.to_string().contains("<plist>"), "{err}");
    let err = RecordReader::new(&b""[..]).find_map(Result::err).unwrap();
    assert!(matches!(err, ImportError::NotAnExport { .. }), "{err}");
}
