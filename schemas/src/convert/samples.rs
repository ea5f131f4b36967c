//! `SamplesRecorded` and `SamplesDeleted`: the samples themselves.

use chrono::FixedOffset;

use super::error::Field::{Item, Nested, Top};
use super::{micros, ConversionError, Ctx, Failure};
use crate::events as wire;
use crate::typed;

fn sample(
    ctx: &Ctx,
    index: usize,
    s: &wire::Sample,
) -> Result<typed::RecordedSample, ConversionError> {
    let at = |name| Nested("samples", index, name);
    let sample_id = ctx.id(at("sample_id"), &s.sample_id)?;
    let sample_type = ctx.sample_type(at("sample_type"), &s.sample_type)?;
    if s.unit != sample_type.canonical_unit().symbol() {
        return Err(ctx.fail(at("unit"), Failure::NotCanonicalUnit));
    }
    if !s.value.is_finite() {
        return Err(ctx.fail(at("value"), Failure::NotFinite));
    }
    Ok(typed::RecordedSample {
        sample_id,
        sample_type,
        value: s.value,
        start_time: ctx.time(at("start_time"), s.start_time)?,
        end_time: ctx.time(at("end_time"), s.end_time)?,
        utc_offset: FixedOffset::east_opt(s.utc_offset_seconds)
            .ok_or_else(|| ctx.fail(at("utc_offset_seconds"), Failure::OffsetOutOfRange))?,
        source_app: s.source_app.clone(),
        sync_identifier: s.sync_identifier.clone(),
        sync_version: s.sync_version,
        metadata: s.metadata.clone(),
    })
}

impl From<&typed::RecordedSample> for wire::Sample {
    fn from(s: &typed::RecordedSample) -> Self {
        wire::Sample {
            sample_id: s.sample_id.to_string(),
            sample_type: s.sample_type.as_str().to_owned(),
            value: s.value,
            unit: s.sample_type.canonical_unit().symbol().to_owned(),
            start_time: micros(s.start_time),
            end_time: micros(s.end_time),
            utc_offset_seconds: s.utc_offset.local_minus_utc(),
            source_app: s.source_app.clone(),
            sync_identifier: s.sync_identifier.clone(),
            sync_version: s.sync_version,
            metadata: s.metadata.clone(),
        }
    }
}

impl TryFrom<&wire::SamplesRecorded> for typed::SamplesRecorded {
    type Error = ConversionError;

    fn try_from(e: &wire::SamplesRecorded) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::SamplesRecorded>(&e.event_id)?;
        Ok(typed::SamplesRecorded {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            device_id: ctx.id(Top("device_id"), &e.device_id)?,
            recorded_at: ctx.time(Top("recorded_at"), e.recorded_at)?,
            samples: e
                .samples
                .iter()
                .enumerate()
                .map(|(i, s)| sample(&ctx, i, s))
                .collect::<Result<_, _>>()?,
        })
    }
}

impl From<&typed::SamplesRecorded> for wire::SamplesRecorded {
    fn from(e: &typed::SamplesRecorded) -> Self {
        wire::SamplesRecorded {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            device_id: e.device_id.to_string(),
            recorded_at: micros(e.recorded_at),
            samples: e.samples.iter().map(wire::Sample::from).collect(),
        }
    }
}

impl TryFrom<&wire::SamplesDeleted> for typed::SamplesDeleted {
    type Error = ConversionError;

    fn try_from(e: &wire::SamplesDeleted) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::SamplesDeleted>(&e.event_id)?;
        Ok(typed::SamplesDeleted {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            sample_ids: e
                .sample_ids
                .iter()
                .enumerate()
                .map(|(i, id)| ctx.id(Item("sample_ids", i), id))
                .collect::<Result<_, _>>()?,
            deleted_at: ctx.time(Top("deleted_at"), e.deleted_at)?,
        })
    }
}

impl From<&typed::SamplesDeleted> for wire::SamplesDeleted {
    fn from(e: &typed::SamplesDeleted) -> Self {
        wire::SamplesDeleted {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            sample_ids: e.sample_ids.iter().map(ToString::to_string).collect(),
            deleted_at: micros(e.deleted_at),
        }
    }
}
