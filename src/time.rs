//! Instants and dates as the API writes them, and the expiry arithmetic: a key
//! with `ExpirationDate` D works until 23:59:59.999 UTC of D and stops at
//! 00:00:00 UTC of D + 1. Always UTC: the server's local time zone never
//! shifts a day.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, SecondsFormat, Utc};

use crate::error::{AppError, AppResult, ErrorCode};

/// RFC 3339 in UTC with milliseconds, e.g. `2030-01-02T00:00:00.000Z`.
pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// An RFC 3339 instant as stored (`rfc3339`'s output), in ms; None if it is not one.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

pub fn parse_instant(field: &str, text: &str) -> AppResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            AppError::new(
                ErrorCode::InvalidDateTime,
                format!("{field} must be an RFC 3339 date-time, e.g. 2030-01-01T00:00:00Z."),
            )
        })
}

pub fn parse_date(field: &str, text: &str) -> AppResult<NaiveDate> {
    let t = text.trim();
    // Exactly YYYY-MM-DD: chrono alone would also take 2030-1-1.
    let shaped = t.len() == 10 && t.as_bytes()[4] == b'-' && t.as_bytes()[7] == b'-';
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) if shaped => Ok(d),
        _ => Err(AppError::new(
            ErrorCode::InvalidDate,
            format!("{field} must be a calendar date written YYYY-MM-DD, e.g. 2030-01-31."),
        )),
    }
}

/// The last `ExpirationDate` whose expiry instant (midnight UTC after it) can
/// still be written in RFC 3339, which has four-digit years.
pub fn latest_expiration_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 30).unwrap_or(NaiveDate::MAX)
}

/// The instant a key with this `ExpirationDate` stops working: midnight UTC
/// at the end of that day.
pub fn expiry_instant(date: NaiveDate) -> DateTime<Utc> {
    let next = date.succ_opt().unwrap_or(date);
    next.and_time(NaiveTime::MIN).and_utc()
}

/// The next 00:00:00 UTC strictly after `now`.
pub fn next_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    expiry_instant(now.date_naive())
}

pub fn today(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive()
}

pub fn days(n: u32) -> Duration {
    Duration::days(i64::from(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_key_dies_at_midnight_utc_ending_its_expiration_date() {
        let d = parse_date("ExpirationDate", "2030-01-01").unwrap();
        let end = expiry_instant(d);
        assert_eq!(end, t("2030-01-02T00:00:00Z"));
        assert!(t("2030-01-01T23:59:59.999Z") < end);
        assert!(t("2030-01-02T00:00:00Z") >= end);
    }

    #[test]
    fn month_year_and_leap_day_boundaries() {
        assert_eq!(
            expiry_instant(NaiveDate::from_ymd_opt(2030, 1, 31).unwrap()),
            t("2030-02-01T00:00:00Z")
        );
        assert_eq!(
            expiry_instant(NaiveDate::from_ymd_opt(2030, 12, 31).unwrap()),
            t("2031-01-01T00:00:00Z")
        );
        assert_eq!(
            expiry_instant(NaiveDate::from_ymd_opt(2028, 2, 28).unwrap()),
            t("2028-02-29T00:00:00Z")
        );
        assert_eq!(
            expiry_instant(NaiveDate::from_ymd_opt(2028, 2, 29).unwrap()),
            t("2028-03-01T00:00:00Z")
        );
    }

    #[test]
    fn next_midnight_is_strictly_after_now() {
        assert_eq!(
            next_midnight(t("2030-01-01T12:00:00Z")),
            t("2030-01-02T00:00:00Z")
        );
        assert_eq!(
            next_midnight(t("2030-01-01T00:00:00Z")),
            t("2030-01-02T00:00:00Z")
        );
        assert_eq!(
            next_midnight(t("2030-01-01T23:59:59.999Z")),
            t("2030-01-02T00:00:00Z")
        );
    }

    #[test]
    fn offsets_in_input_are_converted_to_utc_days() {
        // 23:30 at UTC-10 is already the next day in UTC.
        let now = parse_instant("Now", "2030-01-01T23:30:00-10:00").unwrap();
        assert_eq!(today(now), NaiveDate::from_ymd_opt(2030, 1, 2).unwrap());
    }

    #[test]
    fn only_plain_dates_are_accepted() {
        for bad in [
            "2030-1-1",
            "2030-02-30",
            "01/02/2030",
            "2030-01-01T00:00:00Z",
            "",
        ] {
            assert_eq!(
                parse_date("ExpirationDate", bad).unwrap_err().code(),
                "InvalidDate",
                "{bad}"
            );
        }
    }

    #[test]
    fn the_latest_expiration_date_still_expires_within_rfc_3339() {
        let last = latest_expiration_date();
        assert_eq!(
            rfc3339(expiry_instant(last).timestamp_millis()),
            "9999-12-31T00:00:00.000Z"
        );
        let after = last.succ_opt().unwrap();
        assert!(rfc3339(expiry_instant(after).timestamp_millis()).starts_with('+'));
    }

    #[test]
    fn rfc3339_output_is_utc_with_millis() {
        assert_eq!(
            rfc3339(t("2030-01-02T00:00:00Z").timestamp_millis()),
            "2030-01-02T00:00:00.000Z"
        );
    }
}
