//! What the processors publish: `AggregatesUpdated` and `InsightRaised`.

use super::error::Field::{Nested, Top};
use super::{micros, ConversionError, Ctx, Failure};
use crate::events as wire;
use crate::typed;

fn bucket(
    ctx: &Ctx,
    index: usize,
    b: &wire::AggregateBucket,
) -> Result<typed::AggregateBucket, ConversionError> {
    let at = |name| Nested("buckets", index, name);
    Ok(typed::AggregateBucket {
        sample_type: ctx.sample_type(at("sample_type"), &b.sample_type)?,
        period: ctx.parse(at("period"), &b.period, Failure::UnknownPeriod)?,
        period_start: ctx.time(at("period_start"), b.period_start)?,
        value: b.value,
        sample_count: b.sample_count,
        min_value: b.min_value,
        max_value: b.max_value,
    })
}

impl From<&typed::AggregateBucket> for wire::AggregateBucket {
    fn from(b: &typed::AggregateBucket) -> Self {
        wire::AggregateBucket {
            sample_type: b.sample_type.as_str().to_owned(),
            period: b.period.as_str().to_owned(),
            period_start: micros(b.period_start),
            value: b.value,
            sample_count: b.sample_count,
            min_value: b.min_value,
            max_value: b.max_value,
        }
    }
}

impl TryFrom<&wire::AggregatesUpdated> for typed::AggregatesUpdated {
    type Error = ConversionError;

    fn try_from(e: &wire::AggregatesUpdated) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::AggregatesUpdated>(&e.event_id)?;
        Ok(typed::AggregatesUpdated {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            buckets: e
                .buckets
                .iter()
                .enumerate()
                .map(|(i, b)| bucket(&ctx, i, b))
                .collect::<Result<_, _>>()?,
            timezone: e
                .timezone
                .as_deref()
                .map(|z| ctx.zone(Top("timezone"), z))
                .transpose()?,
            observed_at: ctx.optional_time(Top("observed_at"), e.observed_at)?,
        })
    }
}

impl From<&typed::AggregatesUpdated> for wire::AggregatesUpdated {
    fn from(e: &typed::AggregatesUpdated) -> Self {
        wire::AggregatesUpdated {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            buckets: e.buckets.iter().map(wire::AggregateBucket::from).collect(),
            timezone: e.timezone.map(|z| z.name().to_owned()),
            observed_at: e.observed_at.map(micros),
        }
    }
}

impl TryFrom<&wire::InsightRaised> for typed::InsightRaised {
    type Error = ConversionError;

    fn try_from(e: &wire::InsightRaised) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::InsightRaised>(&e.event_id)?;
        Ok(typed::InsightRaised {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            insight_id: ctx.uuid(Top("insight_id"), &e.insight_id)?,
            insight_type: e.insight_type.clone(),
            severity: ctx.parse(Top("severity"), &e.severity, Failure::UnknownSeverity)?,
            status: e.status.clone(),
            message: e.message.clone(),
            data_json: e.data_json.clone(),
            raised_at: ctx.time(Top("raised_at"), e.raised_at)?,
            direction: e
                .direction
                .as_deref()
                .map(|d| ctx.parse(Top("direction"), d, Failure::UnknownDirection))
                .transpose()?,
            recommendation: e.recommendation.clone(),
            rule_key: e.rule_key.clone(),
        })
    }
}

impl From<&typed::InsightRaised> for wire::InsightRaised {
    fn from(e: &typed::InsightRaised) -> Self {
        wire::InsightRaised {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            insight_id: e.insight_id.to_string(),
            insight_type: e.insight_type.clone(),
            severity: e.severity.as_str().to_owned(),
            status: e.status.clone(),
            message: e.message.clone(),
            data_json: e.data_json.clone(),
            raised_at: micros(e.raised_at),
            direction: e.direction.map(|d| d.as_str().to_owned()),
            recommendation: e.recommendation.clone(),
            rule_key: e.rule_key.clone(),
        }
    }
}
