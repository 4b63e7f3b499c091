//! Calendar dates and times as customers, suppliers and the shop's systems send them, with the
//! bounds that keep the queue sane: nothing before 2000-01-01, orders not placed in the future,
//! promises neither in the past nor years out.

use super::ParseError;
use chrono::{DateTime, NaiveDate, Utc};

/// The earliest date accepted anywhere (an `ordered_at` of 0001-01-01 would jump every queue).
pub fn earliest() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date")
}

/// The latest date any input may name: far beyond every window below, and short of the years
/// (`+10000`) that do not survive a round trip through the store.
fn latest() -> NaiveDate {
    NaiveDate::from_ymd_opt(2999, 12, 31).expect("a valid date")
}

/// Parses `YYYY-MM-DD` between 2000-01-01 and 2999-12-31.
pub fn parse_date(raw: &str) -> Result<NaiveDate, ParseError> {
    let s = raw.trim();
    let bad = || ParseError::new(format!("\"{s}\" is not a date like 2026-12-31"));
    // Exactly four-digit years: chrono would take `+10000-01-01`.
    if s.len() != 10 || !s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(bad());
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad())?;
    if d < earliest() {
        return Err(ParseError::new(format!("{d} is before {}", earliest())));
    }
    if d > latest() {
        return Err(bad());
    }
    Ok(d)
}

/// Checks that a promised date is neither in the past nor more than two years out (well inside
/// the five years any promise may reach).
pub fn check_eta_window(date: NaiveDate, today: NaiveDate) -> Result<NaiveDate, ParseError> {
    if date < today {
        return Err(ParseError::new(format!(
            "{date} is in the past (today is {today})"
        )));
    }
    let limit = today
        .checked_add_months(chrono::Months::new(24))
        .unwrap_or(today);
    if date > limit {
        return Err(ParseError::new(format!(
            "{date} is more than two years out (latest {limit})"
        )));
    }
    Ok(date)
}

/// Checks when an order was placed: not before 2000-01-01 and not more than a day ahead of
/// `now` (a day of slack for clocks and time zones).
pub fn check_ordered_at(
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ParseError> {
    if at.date_naive() < earliest() {
        return Err(ParseError::new(format!(
            "{} is before {}",
            at.format("%Y-%m-%dT%H:%M:%SZ"),
            earliest()
        )));
    }
    if at > now + chrono::Duration::days(1) {
        return Err(ParseError::new(format!(
            "{} is more than a day in the future",
            at.format("%Y-%m-%dT%H:%M:%SZ")
        )));
    }
    Ok(at)
}

/// Parses a point in time: RFC 3339 (`2026-11-26T10:00:00Z`) or a date (midnight UTC), not
/// before 2000-01-01.
pub fn parse_timestamp(raw: &str) -> Result<DateTime<Utc>, ParseError> {
    let s = raw.trim();
    if s.len() == 10 {
        return Ok(parse_date(s)?
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc());
    }
    let at = DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ParseError::new(format!(
                "\"{s}\" is not a date (2026-11-26) or time (2026-11-26T10:00:00Z)"
            ))
        })?;
    if at.date_naive() < earliest() {
        return Err(ParseError::new(format!("{s} is before {}", earliest())));
    }
    Ok(at)
}

/// Parses when an order was placed ([`parse_timestamp`]), then [`check_ordered_at`].
pub fn parse_ordered_at(raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ParseError> {
    check_ordered_at(parse_timestamp(raw)?, now)
}

/// A level at the end of each day `first..=last`, oldest first: `before` (the level before
/// `first`) plus every change `(day, units)` up to that day. Several changes on one day add up;
/// changes outside the range are ignored.
pub fn running_total(
    first: NaiveDate,
    last: NaiveDate,
    before: i64,
    changes: &[(NaiveDate, i64)],
) -> Vec<(NaiveDate, i64)> {
    let mut out = Vec::new();
    let mut level = before;
    for day in first.iter_days().take_while(|d| *d <= last) {
        level += changes
            .iter()
            .filter(|(d, _)| *d == day)
            .map(|(_, n)| n)
            .sum::<i64>();
        out.push((day, level));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn parses_iso_dates_only() {
        assert_eq!(d("2026-12-10").to_string(), "2026-12-10");
        assert!(parse_date("10.12.2026").is_err());
        assert!(parse_date("2026-02-30").is_err());
    }

    #[test]
    fn dates_before_2000_and_five_digit_years_are_refused() {
        assert!(parse_date("0001-01-01").is_err());
        assert!(parse_date("1999-12-31").is_err());
        assert!(parse_date("+10000-01-01").is_err());
        assert!(parse_date("2000-01-01").is_ok());
    }

    #[test]
    fn eta_window_refuses_past_and_far_future() {
        let today = d("2026-11-26");
        assert!(check_eta_window(d("2026-11-25"), today).is_err());
        assert!(check_eta_window(d("2026-11-26"), today).is_ok());
        assert!(check_eta_window(d("2028-11-26"), today).is_ok());
        assert!(check_eta_window(d("2028-11-27"), today).is_err());
    }

    #[test]
    fn orders_are_not_placed_before_2000_or_after_tomorrow() {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        assert!(parse_ordered_at("0001-01-01T00:00:00Z", now).is_err());
        assert!(parse_ordered_at("+10000-01-01T00:00:00Z", now).is_err());
        assert!(parse_ordered_at("2026-11-27T11:59:00Z", now).is_ok());
        assert!(parse_ordered_at("2026-11-27T12:01:00Z", now).is_err());
        assert_eq!(
            parse_ordered_at("2026-11-20", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap()
        );
        assert!(parse_ordered_at("2026-11-20T10:00:00+02:00", now).is_ok());
    }

    #[test]
    fn a_running_total_adds_each_days_changes_to_the_level_before() {
        let changes = [
            (d("2026-12-02"), 3),
            (d("2026-12-02"), -1),
            (d("2026-12-04"), -2),
            (d("2026-11-30"), 100),
            (d("2026-12-09"), 100),
        ];
        assert_eq!(
            running_total(d("2026-12-01"), d("2026-12-04"), 5, &changes),
            vec![
                (d("2026-12-01"), 5),
                (d("2026-12-02"), 7),
                (d("2026-12-03"), 7),
                (d("2026-12-04"), 5),
            ]
        );
        assert!(running_total(d("2026-12-04"), d("2026-12-01"), 5, &changes).is_empty());
    }
}
