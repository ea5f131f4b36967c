//! The rules of sharing: what state a grant is in, and what a reader may see through it.
//! One place decides every refusal, so the gateway's routes, the access log and the tests
//! agree on the denial matrix.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::SampleType;

/// Where a grant stands, as the owner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareState {
    /// Made; no provider has redeemed its code yet.
    Pending,
    /// Redeemed by a provider, who can read through it.
    Active,
    /// Past its expiry: no event needed, the clock decides.
    Expired,
    /// Revoked by the owner.
    Revoked,
}

impl ShareState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// What a grant says, as far as the rules need it.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantFacts {
    pub owner: Uuid,
    pub recipient_email: String,
    pub sample_types: Vec<SampleType>,
    pub date_start: NaiveDate,
    pub date_end: NaiveDate,
    pub expires_at: DateTime<Utc>,
    pub redeemed_by: Option<Uuid>,
    /// Revoked in the projection, or by a revocation the gateway took and the processor has
    /// not applied yet.
    pub revoked: bool,
}

impl GrantFacts {
    /// Revocation first (the owner's word), then expiry, then redemption.
    pub fn state(&self, now: DateTime<Utc>) -> ShareState {
        if self.revoked {
            ShareState::Revoked
        } else if now >= self.expires_at {
            ShareState::Expired
        } else if self.redeemed_by.is_some() {
            ShareState::Active
        } else {
            ShareState::Pending
        }
    }

    /// Whether the provider `reader` (signed in with `email`) may redeem the grant's code now.
    pub fn redeemable_by(
        &self,
        reader: Uuid,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<Redemption, Denial> {
        match self.state(now) {
            ShareState::Revoked => return Err(Denial::Revoked),
            ShareState::Expired => return Err(Denial::Expired),
            ShareState::Active | ShareState::Pending => {}
        }
        if !self.recipient_email.eq_ignore_ascii_case(email) {
            return Err(Denial::NotTheRecipient);
        }
        match self.redeemed_by {
            None => Ok(Redemption::New),
            Some(by) if by == reader => Ok(Redemption::Already),
            Some(_) => Err(Denial::RedeemedByAnother),
        }
    }

    /// The slice `reader` may read of `wanted` types over `from..=to` (a missing end is
    /// the grant's), clipped to the grant's dates; or why not.
    pub fn readable_by(
        &self,
        reader: Uuid,
        wanted: &[SampleType],
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> Result<Slice, Denial> {
        match self.redeemed_by {
            Some(by) if by == reader => {}
            // Another provider's grant, or one not redeemed: as if it did not exist.
            _ => return Err(Denial::NotFound),
        }
        match self.state(now) {
            ShareState::Revoked => return Err(Denial::Revoked),
            ShareState::Expired => return Err(Denial::Expired),
            ShareState::Active | ShareState::Pending => {}
        }
        if let Some(missing) = wanted.iter().find(|t| !self.sample_types.contains(t)) {
            return Err(Denial::TypeNotGranted(*missing));
        }
        let from = from.unwrap_or(self.date_start).max(self.date_start);
        let to = to.unwrap_or(self.date_end).min(self.date_end);
        if from > to {
            return Err(Denial::OutsideDates);
        }
        let types = match wanted {
            [] => self.sample_types.clone(),
            some => some.to_vec(),
        };
        Ok(Slice { types, from, to })
    }
}

/// A redemption that may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redemption {
    /// Not redeemed yet: this provider takes it.
    New,
    /// This provider redeemed it before: nothing to do.
    Already,
}

/// What a reader may see: these types, between these days (included).
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    pub types: Vec<SampleType>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Why a reader is refused. [`Denial::NotFound`] is a 404 (the reader learns nothing of
/// grants that are not theirs); the others are 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    #[error("no such share")]
    NotFound,
    #[error("only provider accounts read shared data")]
    NotAProvider,
    #[error("the share was revoked by its owner")]
    Revoked,
    #[error("the share has expired")]
    Expired,
    #[error("the share is for another recipient")]
    NotTheRecipient,
    #[error("the code was redeemed by another provider")]
    RedeemedByAnother,
    #[error("the share does not include {0}")]
    TypeNotGranted(SampleType),
    #[error("the dates asked for are outside the share's dates")]
    OutsideDates,
}

impl Denial {
    /// A short code for the access log.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::NotAProvider => "not_a_provider",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::NotTheRecipient => "not_the_recipient",
            Self::RedeemedByAnother => "redeemed_by_another",
            Self::TypeNotGranted(_) => "type_not_granted",
            Self::OutsideDates => "outside_dates",
        }
    }
}

#[cfg(test)]
#[path = "sharing_tests.rs"]
mod tests;
