//! Small time helpers shared by deduplication and bucketing.

use chrono::TimeDelta;

/// A duration as fractional seconds, exact to the nanosecond for any realistic duration.
/// Shares are ratios of such durations, so the unit cancels out.
pub(crate) fn seconds(d: TimeDelta) -> f64 {
    d.num_seconds() as f64 + f64::from(d.subsec_nanos()) * 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_and_negative_durations() {
        assert_eq!(seconds(TimeDelta::minutes(90)), 5400.0);
        assert_eq!(seconds(TimeDelta::milliseconds(1500)), 1.5);
        assert_eq!(seconds(TimeDelta::milliseconds(-1500)), -1.5);
    }
}
