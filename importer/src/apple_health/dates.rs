//! Apple Health's date format, `2017-10-23 08:15:00 +0200`.
//!
//! Parsed to a `DateTime<FixedOffset>` so the offset the export was written with survives
//! into the sync body (the gateway keeps it as the user's wall clock). RFC 3339 is accepted
//! too, as hand-edited or re-exported files sometimes use it.

use chrono::{DateTime, FixedOffset};

/// The date in `text`, or `None` if it is neither Apple's format nor RFC 3339.
pub(crate) fn parse_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S %z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SecondsFormat;

    fn rfc3339(text: &str) -> Option<String> {
        parse_date(text).map(|d| d.to_rfc3339_opts(SecondsFormat::AutoSi, false))
    }

    #[test]
    fn apple_format_keeps_its_offset() {
        assert_eq!(
            rfc3339("2017-10-23 08:15:00 +0200").as_deref(),
            Some("2017-10-23T08:15:00+02:00")
        );
        assert_eq!(
            rfc3339("2019-07-19 10:36:11 -0700").as_deref(),
            Some("2019-07-19T10:36:11-07:00")
        );
        assert_eq!(
            rfc3339("2016-04-18 15:56:05 +0000").as_deref(),
            Some("2016-04-18T15:56:05+00:00")
        );
        assert_eq!(
            rfc3339(" 2024-01-01 01:01:36 +0530 ").as_deref(),
            Some("2024-01-01T01:01:36+05:30")
        );
    }

    #[test]
    fn rfc3339_is_accepted_too() {
        assert_eq!(
            rfc3339("2017-10-23T08:15:00+02:00").as_deref(),
            Some("2017-10-23T08:15:00+02:00")
        );
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "",
            "2017-10-23",
            "2017-10-23 08:15:00",
            "2017-02-30 08:15:00 +0200",
            "yesterday",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
