//! The life of one rule's insight as the rule is evaluated again and again: a rule that fires
//! raises an insight; firing again with the same content leaves it alone, with other content
//! updates it (same id, same creation time); a rule that stops firing resolves it; firing
//! after that raises a new insight with a new id.
//!
//! Generic over the content `C` the caller compares (what is shown: type, severity,
//! direction, texts, numbers), so the caller may keep it in whatever form it stores.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A rule's active insight, as much of it as its life needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Active<C> {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub content: C,
}

/// What one evaluation does to the rule's insight.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<C> {
    /// A new insight (its id derived by [`insight_id`]).
    Raise(Active<C>),
    /// The active insight with new content.
    Update(Active<C>),
    /// The active insight is resolved.
    Resolve,
    /// Nothing changes.
    Unchanged,
}

/// The step for `rule_key` of `user` evaluated as of `as_of`: `firing` is the content when
/// the condition holds, `active` the rule's active insight, if any.
pub fn step<C: PartialEq>(
    user: Uuid,
    rule_key: &str,
    as_of: DateTime<Utc>,
    firing: Option<C>,
    active: Option<Active<C>>,
) -> Step<C> {
    match (firing, active) {
        (Some(content), None) => Step::Raise(Active {
            id: insight_id(user, rule_key, as_of),
            created_at: as_of,
            content,
        }),
        (Some(content), Some(active)) if active.content == content => Step::Unchanged,
        (Some(content), Some(active)) => Step::Update(Active { content, ..active }),
        (None, Some(_)) => Step::Resolve,
        (None, None) => Step::Unchanged,
    }
}

/// Derived from the user, the condition and the instant it was first seen, so a replay finds
/// the same id (and acknowledgements, stored by id, find their insight again).
pub fn insight_id(user: Uuid, rule_key: &str, first_seen: DateTime<Utc>) -> Uuid {
    let name = format!("{user}/{rule_key}/{}", first_seen.timestamp_micros());
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, hour, 0, 0).unwrap()
    }

    #[test]
    fn an_insight_is_raised_kept_updated_resolved_and_raised_anew() {
        let user = Uuid::from_u128(7);
        let key = "LOW_OXYGEN/2026-11-30";
        let Step::Raise(raised) = step(user, key, at(8), Some("92 %"), None) else {
            panic!("a firing rule without an insight raises one");
        };
        assert_eq!(raised.id, insight_id(user, key, at(8)));
        assert_eq!(raised.created_at, at(8));

        let same = step(user, key, at(9), Some("92 %"), Some(raised.clone()));
        assert_eq!(same, Step::Unchanged);

        let Step::Update(updated) = step(user, key, at(10), Some("90 %"), Some(raised.clone()))
        else {
            panic!("other content updates the insight");
        };
        assert_eq!(
            (updated.id, updated.created_at),
            (raised.id, raised.created_at)
        );
        assert_eq!(updated.content, "90 %");

        assert_eq!(step(user, key, at(11), None, Some(updated)), Step::Resolve);
        assert_eq!(step::<&str>(user, key, at(11), None, None), Step::Unchanged);

        let Step::Raise(again) = step(user, key, at(12), Some("91 %"), None) else {
            panic!("firing after resolution raises a new insight");
        };
        assert_ne!(again.id, raised.id);
    }

    #[test]
    fn ids_are_stable_across_replays() {
        let user = Uuid::from_u128(7);
        assert_eq!(insight_id(user, "k", at(8)), insight_id(user, "k", at(8)));
        assert_ne!(insight_id(user, "k", at(8)), insight_id(user, "k", at(9)));
        assert_ne!(
            insight_id(user, "k", at(8)),
            insight_id(Uuid::from_u128(8), "k", at(8))
        );
    }
}
