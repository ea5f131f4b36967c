//! The account events: registration, time-zone changes, shares, acknowledgements.

use super::error::Field::{Item, Top};
use super::{micros, ConversionError, Ctx};
use crate::events as wire;
use crate::typed;

impl TryFrom<&wire::UserRegistered> for typed::UserRegistered {
    type Error = ConversionError;

    fn try_from(e: &wire::UserRegistered) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::UserRegistered>(&e.event_id)?;
        Ok(typed::UserRegistered {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            timezone: ctx.zone(Top("timezone"), &e.timezone)?,
            registered_at: ctx.time(Top("registered_at"), e.registered_at)?,
        })
    }
}

impl From<&typed::UserRegistered> for wire::UserRegistered {
    fn from(e: &typed::UserRegistered) -> Self {
        wire::UserRegistered {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            timezone: e.timezone.name().to_owned(),
            registered_at: micros(e.registered_at),
        }
    }
}

impl TryFrom<&wire::UserErased> for typed::UserErased {
    type Error = ConversionError;

    fn try_from(e: &wire::UserErased) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start_named(wire::UserErased::FULL_NAME, &e.event_id)?;
        Ok(typed::UserErased {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            erased_at: ctx.time(Top("erased_at"), e.erased_at)?,
        })
    }
}

impl From<&typed::UserErased> for wire::UserErased {
    fn from(e: &typed::UserErased) -> Self {
        wire::UserErased {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            erased_at: micros(e.erased_at),
        }
    }
}

impl TryFrom<&wire::UserTimeZoneChanged> for typed::UserTimeZoneChanged {
    type Error = ConversionError;

    fn try_from(e: &wire::UserTimeZoneChanged) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::UserTimeZoneChanged>(&e.event_id)?;
        Ok(typed::UserTimeZoneChanged {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            timezone: ctx.zone(Top("timezone"), &e.timezone)?,
            previous_timezone: ctx.zone(Top("previous_timezone"), &e.previous_timezone)?,
            changed_at: ctx.time(Top("changed_at"), e.changed_at)?,
        })
    }
}

impl From<&typed::UserTimeZoneChanged> for wire::UserTimeZoneChanged {
    fn from(e: &typed::UserTimeZoneChanged) -> Self {
        wire::UserTimeZoneChanged {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            timezone: e.timezone.name().to_owned(),
            previous_timezone: e.previous_timezone.name().to_owned(),
            changed_at: micros(e.changed_at),
        }
    }
}

impl TryFrom<&wire::ShareGranted> for typed::ShareGranted {
    type Error = ConversionError;

    fn try_from(e: &wire::ShareGranted) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::ShareGranted>(&e.event_id)?;
        Ok(typed::ShareGranted {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            share_id: ctx.uuid(Top("share_id"), &e.share_id)?,
            recipient_email: e.recipient_email.clone(),
            sample_types: e
                .sample_types
                .iter()
                .enumerate()
                .map(|(i, t)| ctx.sample_type(Item("sample_types", i), t))
                .collect::<Result<_, _>>()?,
            date_start: ctx.date(Top("date_start"), &e.date_start)?,
            date_end: ctx.date(Top("date_end"), &e.date_end)?,
            expires_at: ctx.time(Top("expires_at"), e.expires_at)?,
            label: e.label.clone(),
            code_digest: e.code_digest.clone(),
            granted_at: ctx.time(Top("granted_at"), e.granted_at)?,
        })
    }
}

impl From<&typed::ShareGranted> for wire::ShareGranted {
    fn from(e: &typed::ShareGranted) -> Self {
        wire::ShareGranted {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            share_id: e.share_id.to_string(),
            recipient_email: e.recipient_email.clone(),
            sample_types: e
                .sample_types
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            date_start: e.date_start.to_string(),
            date_end: e.date_end.to_string(),
            expires_at: micros(e.expires_at),
            label: e.label.clone(),
            code_digest: e.code_digest.clone(),
            granted_at: micros(e.granted_at),
        }
    }
}

impl TryFrom<&wire::ShareRedeemed> for typed::ShareRedeemed {
    type Error = ConversionError;

    fn try_from(e: &wire::ShareRedeemed) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::ShareRedeemed>(&e.event_id)?;
        Ok(typed::ShareRedeemed {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            share_id: ctx.uuid(Top("share_id"), &e.share_id)?,
            provider_id: ctx.id(Top("provider_id"), &e.provider_id)?,
            redeemed_at: ctx.time(Top("redeemed_at"), e.redeemed_at)?,
        })
    }
}

impl From<&typed::ShareRedeemed> for wire::ShareRedeemed {
    fn from(e: &typed::ShareRedeemed) -> Self {
        wire::ShareRedeemed {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            share_id: e.share_id.to_string(),
            provider_id: e.provider_id.to_string(),
            redeemed_at: micros(e.redeemed_at),
        }
    }
}

impl TryFrom<&wire::ShareRevoked> for typed::ShareRevoked {
    type Error = ConversionError;

    fn try_from(e: &wire::ShareRevoked) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::ShareRevoked>(&e.event_id)?;
        Ok(typed::ShareRevoked {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            share_id: ctx.uuid(Top("share_id"), &e.share_id)?,
            revoked_at: ctx.time(Top("revoked_at"), e.revoked_at)?,
        })
    }
}

impl From<&typed::ShareRevoked> for wire::ShareRevoked {
    fn from(e: &typed::ShareRevoked) -> Self {
        wire::ShareRevoked {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            share_id: e.share_id.to_string(),
            revoked_at: micros(e.revoked_at),
        }
    }
}

impl TryFrom<&wire::InsightAcknowledged> for typed::InsightAcknowledged {
    type Error = ConversionError;

    fn try_from(e: &wire::InsightAcknowledged) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::InsightAcknowledged>(&e.event_id)?;
        Ok(typed::InsightAcknowledged {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            insight_id: ctx.uuid(Top("insight_id"), &e.insight_id)?,
            acknowledged_at: ctx.time(Top("acknowledged_at"), e.acknowledged_at)?,
        })
    }
}

impl From<&typed::InsightAcknowledged> for wire::InsightAcknowledged {
    fn from(e: &typed::InsightAcknowledged) -> Self {
        wire::InsightAcknowledged {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            insight_id: e.insight_id.to_string(),
            acknowledged_at: micros(e.acknowledged_at),
        }
    }
}
