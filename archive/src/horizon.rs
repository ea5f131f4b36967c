//! The raw-data retention of the product: raw health data is kept seven years, hot or cold.
//! `healthpipe archive` deletes the files of months that ended before the horizon and never
//! writes such months. The horizon is defined once, here.

use chrono::{DateTime, Months, Utc};

use crate::Month;

/// How many years raw data is kept, counted from the end of the month it belongs to.
pub const RAW_DATA_RETENTION_YEARS: u32 = 7;

/// The instant before which a month must have ended to be past retention: `now` minus
/// [`RAW_DATA_RETENTION_YEARS`] calendar years.
pub fn raw_data_retention_horizon(now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_sub_months(Months::new(12 * RAW_DATA_RETENTION_YEARS))
        .expect("seven years before a representable time is representable")
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
            Utc.with_ymd_and_hms(2019, 12, 5, 12, 0, 0).unwrap()
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
