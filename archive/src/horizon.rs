//! The raw-data retention of the product, cold as hot: `healthpipe archive` deletes the files
//! of months that ended before the raw-sample horizon (`healthpipe_domain::retention`, the one
//! definition the processors and `healthpipe retention` use too) and never writes such months.

use chrono::{DateTime, Utc};
use healthpipe_domain::Horizons;

use crate::Month;

/// The instant before which a month must have ended to be past retention: the raw-sample
/// horizon of `now`'s UTC day.
pub fn raw_data_retention_horizon(now: DateTime<Utc>) -> DateTime<Utc> {
    Horizons::on(now.date_naive()).samples
}

/// Whether `month` ended more than the retention before `now`: its files must go.
pub fn is_beyond_raw_data_retention(month: Month, now: DateTime<Utc>) -> bool {
    month.end() < raw_data_retention_horizon(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_month_is_past_retention_once_it_ended_more_than_seven_years_ago() {
        let now = Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap();
        assert_eq!(
            raw_data_retention_horizon(now),
            Utc.with_ymd_and_hms(2019, 12, 5, 0, 0, 0).unwrap()
        );
        // October 2019 ended on November 1st 2019: past. November 2019 ended on December
        // 1st, before the horizon too. December 2019 has not ended by the horizon.
        let month = |y, m| Month::of(Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).unwrap());
        assert!(is_beyond_raw_data_retention(month(2019, 10), now));
        assert!(is_beyond_raw_data_retention(month(2019, 11), now));
        assert!(!is_beyond_raw_data_retention(month(2019, 12), now));
        assert!(!is_beyond_raw_data_retention(month(2024, 3), now));
    }
}
