//! Calendar dates as customers and suppliers use them.

use super::ParseError;
use chrono::NaiveDate;

/// Parses `YYYY-MM-DD`.
pub fn parse_date(raw: &str) -> Result<NaiveDate, ParseError> {
    let s = raw.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| ParseError::new(format!("\"{s}\" is not a date like 2026-12-31")))
}

/// Checks that a promised date is neither in the past nor more than two years out.
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn eta_window_refuses_past_and_far_future() {
        let today = d("2026-11-26");
        assert!(check_eta_window(d("2026-11-25"), today).is_err());
        assert!(check_eta_window(d("2026-11-26"), today).is_ok());
        assert!(check_eta_window(d("2028-11-26"), today).is_ok());
        assert!(check_eta_window(d("2028-11-27"), today).is_err());
    }
}
