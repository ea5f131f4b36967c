//! The rows the archive holds and their Parquet columns.
//!
//! Column types are chosen for the readers: uuids as their usual text form (DuckDB and pandas
//! show and join them as strings; a 16-byte binary would show as a blob), times as
//! `timestamp[us, UTC]` (PostgreSQL's precision, read as timezone-aware by both), a sample's
//! legacy clear `metadata` as its JSON text, and its sealed `details` as the stored bytes: the
//! archive copies rows as the hot tier holds them and opens nothing, so details sealed with a
//! user's key stay sealed (and die with the key). The partition columns (`sample_type`,
//! `month`) are in the folder names only.

use std::sync::{Arc, LazyLock};

use arrow::array::{
    Array, ArrayRef, BinaryArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ArchiveError;

/// A row shape of one archived relation.
pub trait Record: Sized + Send + 'static {
    /// The relation, also the archive's top folder: `samples` or `aggregates`.
    const RELATION: &'static str;
    /// What identifies a row in its partition; rows are written in this order.
    type Key: Ord + Clone + std::fmt::Debug + Send;

    fn key(&self) -> Self::Key;
    fn user_id(&self) -> Uuid;
    /// The hypertable's time column: where the row sits in the hot tier's chunks.
    fn time(&self) -> DateTime<Utc>;
    /// The Arrow schema of the files.
    fn schema() -> SchemaRef;
    fn to_batch(rows: &[Self]) -> Result<RecordBatch, ArchiveError>;
    /// The rows of a batch read back; `path` names the file in errors.
    fn from_batch(batch: &RecordBatch, path: &str) -> Result<Vec<Self>, ArchiveError>;
}

/// One row of `samples`, every column but the partition's `sample_type`.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRecord {
    pub user_id: Uuid,
    pub sample_id: Uuid,
    pub device_id: Uuid,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub utc_offset_seconds: i32,
    pub value: f64,
    pub counted_fraction: f64,
    pub source_app: Option<String>,
    pub sync_identifier: Option<String>,
    pub sync_version: Option<i64>,
    /// The clear metadata of rows written before details were sealed, as JSON text.
    pub metadata: String,
    /// The sealed details, as stored.
    pub details: Option<Vec<u8>>,
}

/// One row of `aggregates`, every column but the partition's `sample_type`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateRecord {
    pub user_id: Uuid,
    pub period: String,
    pub period_start: DateTime<Utc>,
    pub value: f64,
    pub min_value: f64,
    pub max_value: f64,
    pub sample_count: i32,
    pub coverage: Option<f64>,
    pub device_count: i32,
}

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

static SAMPLE_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("user_id", DataType::Utf8, false),
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("device_id", DataType::Utf8, false),
        Field::new("start_time", utc_micros(), false),
        Field::new("end_time", utc_micros(), false),
        Field::new("utc_offset_seconds", DataType::Int32, false),
        Field::new("value", DataType::Float64, false),
        Field::new("counted_fraction", DataType::Float64, false),
        Field::new("source_app", DataType::Utf8, true),
        Field::new("sync_identifier", DataType::Utf8, true),
        Field::new("sync_version", DataType::Int64, true),
        Field::new("metadata", DataType::Utf8, false),
        Field::new("details", DataType::Binary, true),
    ]))
});

static AGGREGATE_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("user_id", DataType::Utf8, false),
        Field::new("period", DataType::Utf8, false),
        Field::new("period_start", utc_micros(), false),
        Field::new("value", DataType::Float64, false),
        Field::new("min_value", DataType::Float64, false),
        Field::new("max_value", DataType::Float64, false),
        Field::new("sample_count", DataType::Int32, false),
        Field::new("coverage", DataType::Float64, true),
        Field::new("device_count", DataType::Int32, false),
    ]))
});

fn uuids<R>(rows: &[R], field: impl Fn(&R) -> Uuid) -> ArrayRef {
    let mut buffer = Uuid::encode_buffer();
    Arc::new(StringArray::from_iter_values(rows.iter().map(|r| {
        field(r).hyphenated().encode_lower(&mut buffer).to_string()
    })))
}

fn times<R>(rows: &[R], field: impl Fn(&R) -> DateTime<Utc>) -> ArrayRef {
    Arc::new(
        TimestampMicrosecondArray::from_iter_values(
            rows.iter().map(|r| field(r).timestamp_micros()),
        )
        .with_timezone("UTC"),
    )
}

fn floats<R>(rows: &[R], field: impl Fn(&R) -> Option<f64>) -> ArrayRef {
    Arc::new(rows.iter().map(field).collect::<Float64Array>())
}

fn texts<R>(rows: &[R], field: impl Fn(&R) -> Option<&str>) -> ArrayRef {
    Arc::new(rows.iter().map(field).collect::<StringArray>())
}

impl Record for SampleRecord {
    const RELATION: &'static str = "samples";
    /// Per user, by time: the order readers most often want.
    type Key = (Uuid, DateTime<Utc>, Uuid);

    fn key(&self) -> Self::Key {
        (self.user_id, self.start_time, self.sample_id)
    }

    fn user_id(&self) -> Uuid {
        self.user_id
    }

    fn time(&self) -> DateTime<Utc> {
        self.start_time
    }

    fn schema() -> SchemaRef {
        SAMPLE_SCHEMA.clone()
    }

    fn to_batch(rows: &[Self]) -> Result<RecordBatch, ArchiveError> {
        let columns: Vec<ArrayRef> = vec![
            uuids(rows, |r| r.user_id),
            uuids(rows, |r| r.sample_id),
            uuids(rows, |r| r.device_id),
            times(rows, |r| r.start_time),
            times(rows, |r| r.end_time),
            Arc::new(Int32Array::from_iter_values(
                rows.iter().map(|r| r.utc_offset_seconds),
            )),
            floats(rows, |r| Some(r.value)),
            floats(rows, |r| Some(r.counted_fraction)),
            texts(rows, |r| r.source_app.as_deref()),
            texts(rows, |r| r.sync_identifier.as_deref()),
            Arc::new(rows.iter().map(|r| r.sync_version).collect::<Int64Array>()),
            texts(rows, |r| Some(r.metadata.as_str())),
            Arc::new(
                rows.iter()
                    .map(|r| r.details.as_deref())
                    .collect::<BinaryArray>(),
            ),
        ];
        Ok(RecordBatch::try_new(Self::schema(), columns)?)
    }

    fn from_batch(batch: &RecordBatch, path: &str) -> Result<Vec<Self>, ArchiveError> {
        let read = Columns { batch, path };
        let user_id = read.strings("user_id")?;
        let sample_id = read.strings("sample_id")?;
        let device_id = read.strings("device_id")?;
        let start_time = read.times("start_time")?;
        let end_time = read.times("end_time")?;
        let offset = read.get::<Int32Array>("utc_offset_seconds")?;
        let value = read.get::<Float64Array>("value")?;
        let fraction = read.get::<Float64Array>("counted_fraction")?;
        let source_app = read.strings("source_app")?;
        let sync_identifier = read.strings("sync_identifier")?;
        let sync_version = read.get::<Int64Array>("sync_version")?;
        let metadata = read.strings("metadata")?;
        let details = read.get::<BinaryArray>("details")?;
        (0..batch.num_rows())
            .map(|i| {
                Ok(SampleRecord {
                    user_id: read.uuid(user_id, i)?,
                    sample_id: read.uuid(sample_id, i)?,
                    device_id: read.uuid(device_id, i)?,
                    start_time: read.time(start_time, i)?,
                    end_time: read.time(end_time, i)?,
                    utc_offset_seconds: read.required(offset, i)?,
                    value: read.required(value, i)?,
                    counted_fraction: read.required(fraction, i)?,
                    source_app: optional(source_app, i).map(str::to_string),
                    sync_identifier: optional(sync_identifier, i).map(str::to_string),
                    sync_version: (!sync_version.is_null(i)).then(|| sync_version.value(i)),
                    metadata: read.text(metadata, i)?.to_string(),
                    details: (!details.is_null(i)).then(|| details.value(i).to_vec()),
                })
            })
            .collect()
    }
}

impl Record for AggregateRecord {
    const RELATION: &'static str = "aggregates";
    /// The table's primary key within a sample type.
    type Key = (Uuid, String, DateTime<Utc>);

    fn key(&self) -> Self::Key {
        (self.user_id, self.period.clone(), self.period_start)
    }

    fn user_id(&self) -> Uuid {
        self.user_id
    }

    fn time(&self) -> DateTime<Utc> {
        self.period_start
    }

    fn schema() -> SchemaRef {
        AGGREGATE_SCHEMA.clone()
    }

    fn to_batch(rows: &[Self]) -> Result<RecordBatch, ArchiveError> {
        let columns: Vec<ArrayRef> = vec![
            uuids(rows, |r| r.user_id),
            texts(rows, |r| Some(r.period.as_str())),
            times(rows, |r| r.period_start),
            floats(rows, |r| Some(r.value)),
            floats(rows, |r| Some(r.min_value)),
            floats(rows, |r| Some(r.max_value)),
            Arc::new(Int32Array::from_iter_values(
                rows.iter().map(|r| r.sample_count),
            )),
            floats(rows, |r| r.coverage),
            Arc::new(Int32Array::from_iter_values(
                rows.iter().map(|r| r.device_count),
            )),
        ];
        Ok(RecordBatch::try_new(Self::schema(), columns)?)
    }

    fn from_batch(batch: &RecordBatch, path: &str) -> Result<Vec<Self>, ArchiveError> {
        let read = Columns { batch, path };
        let user_id = read.strings("user_id")?;
        let period = read.strings("period")?;
        let period_start = read.times("period_start")?;
        let value = read.get::<Float64Array>("value")?;
        let min_value = read.get::<Float64Array>("min_value")?;
        let max_value = read.get::<Float64Array>("max_value")?;
        let sample_count = read.get::<Int32Array>("sample_count")?;
        let coverage = read.get::<Float64Array>("coverage")?;
        let device_count = read.get::<Int32Array>("device_count")?;
        (0..batch.num_rows())
            .map(|i| {
                Ok(AggregateRecord {
                    user_id: read.uuid(user_id, i)?,
                    period: read.text(period, i)?.to_string(),
                    period_start: read.time(period_start, i)?,
                    value: read.required(value, i)?,
                    min_value: read.required(min_value, i)?,
                    max_value: read.required(max_value, i)?,
                    sample_count: read.required(sample_count, i)?,
                    coverage: (!coverage.is_null(i)).then(|| coverage.value(i)),
                    device_count: read.required(device_count, i)?,
                })
            })
            .collect()
    }
}

/// The columns of a batch read back, by name, with errors naming the file.
struct Columns<'a> {
    batch: &'a RecordBatch,
    path: &'a str,
}

impl Columns<'_> {
    fn corrupt(&self, reason: String) -> ArchiveError {
        ArchiveError::Corrupt {
            path: self.path.to_string(),
            reason,
        }
    }

    fn get<T: Array + 'static>(&self, name: &str) -> Result<&T, ArchiveError> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| self.corrupt(format!("no column {name}")))?
            .as_any()
            .downcast_ref::<T>()
            .ok_or_else(|| self.corrupt(format!("column {name} has another type")))
    }

    fn strings(&self, name: &str) -> Result<&StringArray, ArchiveError> {
        self.get::<StringArray>(name)
    }

    fn times(&self, name: &str) -> Result<&TimestampMicrosecondArray, ArchiveError> {
        self.get::<TimestampMicrosecondArray>(name)
    }

    fn required<T>(
        &self,
        array: &arrow::array::PrimitiveArray<T>,
        i: usize,
    ) -> Result<T::Native, ArchiveError>
    where
        T: arrow::datatypes::ArrowPrimitiveType,
    {
        if array.is_null(i) {
            return Err(self.corrupt(format!("a null in a required column at row {i}")));
        }
        Ok(array.value(i))
    }

    fn text<'b>(&self, array: &'b StringArray, i: usize) -> Result<&'b str, ArchiveError> {
        optional(array, i).ok_or_else(|| self.corrupt(format!("a null text at row {i}")))
    }

    fn uuid(&self, array: &StringArray, i: usize) -> Result<Uuid, ArchiveError> {
        Uuid::parse_str(self.text(array, i)?)
            .map_err(|_| self.corrupt(format!("not a uuid at row {i}")))
    }

    fn time(
        &self,
        array: &TimestampMicrosecondArray,
        i: usize,
    ) -> Result<DateTime<Utc>, ArchiveError> {
        let micros = self.required(array, i)?;
        DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| self.corrupt(format!("a time out of range at row {i}")))
    }
}

fn optional(array: &StringArray, i: usize) -> Option<&str> {
    (!array.is_null(i)).then(|| array.value(i))
}

/// Rows for the crate's tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use chrono::TimeZone;

    /// A sample of `user` on 2024-03-01 at 08:`minute`, its optional columns varied.
    pub(crate) fn sample(user: u128, minute: u32) -> SampleRecord {
        let at = Utc.with_ymd_and_hms(2024, 3, 1, 8, minute, 0).unwrap();
        SampleRecord {
            user_id: Uuid::from_u128(user),
            sample_id: Uuid::from_u128(1000 + u128::from(minute)),
            device_id: Uuid::from_u128(7),
            start_time: at,
            end_time: at + chrono::TimeDelta::minutes(1),
            utc_offset_seconds: 3600,
            value: f64::from(minute) + 0.25,
            counted_fraction: 1.0,
            source_app: minute.is_multiple_of(2).then(|| "com.example".to_string()),
            sync_identifier: None,
            sync_version: minute.is_multiple_of(3).then_some(2),
            metadata: "{}".into(),
            details: (!minute.is_multiple_of(2)).then(|| vec![0, 159, 146, 150]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::sample;
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn samples_survive_a_batch_round_trip_with_their_nulls() {
        let rows: Vec<SampleRecord> = (0..6).map(|m| sample(1, m)).collect();
        let batch = SampleRecord::to_batch(&rows).unwrap();
        assert_eq!(batch.num_rows(), 6);
        assert_eq!(SampleRecord::from_batch(&batch, "test").unwrap(), rows);
    }

    #[test]
    fn aggregates_survive_a_batch_round_trip_with_their_nulls() {
        let at = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
        let rows = vec![
            AggregateRecord {
                user_id: Uuid::from_u128(1),
                period: "day".into(),
                period_start: at,
                value: 1234.5,
                min_value: 10.0,
                max_value: 900.0,
                sample_count: 12,
                coverage: Some(0.5),
                device_count: 2,
            },
            AggregateRecord {
                user_id: Uuid::from_u128(1),
                period: "hour".into(),
                period_start: at,
                value: 64.0,
                min_value: 60.0,
                max_value: 70.0,
                sample_count: 3,
                coverage: None,
                device_count: 1,
            },
        ];
        let batch = AggregateRecord::to_batch(&rows).unwrap();
        assert_eq!(AggregateRecord::from_batch(&batch, "test").unwrap(), rows);
    }

    #[test]
    fn a_batch_of_another_shape_is_refused_with_the_file_named() {
        let rows = vec![sample(1, 0)];
        let batch = SampleRecord::to_batch(&rows).unwrap();
        let error = AggregateRecord::from_batch(&batch, "samples/x.parquet").unwrap_err();
        assert!(error.to_string().contains("samples/x.parquet"), "{error}");
    }
}
