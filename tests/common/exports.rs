//! Apple Health exports made up for tests: as large as a test needs, with recent dates (so
//! the default retention keeps them), written straight to any writer.

use std::io::Write;

use chrono::Utc;

/// A generated export: `records` step samples of one iPhone, a minute each, ending today.
pub fn generated_export(records: usize, out: &mut impl Write) {
    let now = Utc::now();
    let mut w = std::io::BufWriter::with_capacity(1 << 20, out);
    writeln!(
        w,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<HealthData locale=\"en_US\">"
    )
    .unwrap();
    for i in 0..records {
        let start = now - chrono::TimeDelta::minutes((records - i) as i64 + 10);
        let end = start + chrono::TimeDelta::seconds(59);
        let f = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S +0000");
        writeln!(
            w,
            " <Record type=\"HKQuantityTypeIdentifierStepCount\" sourceName=\"Generated iPhone\" sourceVersion=\"17.1\" \
             device=\"&lt;&lt;HKDevice: 0x{i:x}&gt;, name:iPhone, manufacturer:Apple, model:iPhone, hardware:iPhone15,2, software:17.1&gt;\" \
             unit=\"count\" creationDate=\"{}\" startDate=\"{}\" endDate=\"{}\" value=\"{}\">\n  \
             <MetadataEntry key=\"HKMetadataKeySyncIdentifier\" value=\"generated-{i}\"/>\n  \
             <MetadataEntry key=\"HKMetadataKeySyncVersion\" value=\"1\"/>\n </Record>",
            f(end),
            f(start),
            f(end),
            1 + i % 120
        )
        .unwrap();
    }
    writeln!(w, "</HealthData>").unwrap();
    w.flush().unwrap();
}
