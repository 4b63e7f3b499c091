//! Cron schedules evaluated on a timezone's wall clock, DST-safe.
//!
//! The `cron` crate walks local times itself and skips a time that does not exist (02:30 on a
//! spring-forward day: zero runs) and yields an ambiguous one twice (01:30 on a fall-back day: two
//! runs). We walk the schedule on the naive wall clock instead and map each wall time to one
//! instant: an ambiguous time to its first occurrence, a skipped time to the same wall time read
//! with the offset before the change (02:30 CET → 03:30 CEST). Each wall time fires exactly once.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::str::FromStr;

/// A parsed cron expression: the standard 5-field form (minute hour day month weekday) or the
/// `cron` crate's 6/7-field form with seconds (and year).
#[derive(Debug, Clone)]
pub struct CronSchedule {
    source: String,
    schedule: cron::Schedule,
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl CronSchedule {
    /// Parses `30 7 * * Mon-Fri`, `0 30 7 * * Mon-Fri` or `0 30 7 * * Mon-Fri 2027`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let fields: Vec<&str> = raw.split_whitespace().collect();
        let expr = match fields.len() {
            // Standard cron counts weekdays 0-6 from Sunday (7 = Sunday too); the crate counts 1-7.
            5 => format!(
                "0 {} {} {} {} {}",
                fields[0],
                fields[1],
                fields[2],
                fields[3],
                shift_weekdays(fields[4])
            ),
            6 | 7 => fields.join(" "),
            n => {
                return Err(format!(
                    "\"{raw}\" has {n} fields; expected 5 (minute hour day month weekday) or 6/7 (with seconds, year)"
                ))
            }
        };
        let schedule = cron::Schedule::from_str(&expr)
            .map_err(|e| format!("\"{raw}\" is not a cron expression: {e}"))?;
        // An expression that never fires (Feb 30) is a mistake, not a schedule.
        if schedule.upcoming(Utc).next().is_none() {
            return Err(format!("\"{raw}\" never fires"));
        }
        Ok(Self {
            source: raw.trim().to_string(),
            schedule,
        })
    }

    /// As written in the config.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The first fire time strictly after `after`, on `tz`'s wall clock.
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Start a little before `after` on the wall clock: during a fall-back hour the wall clock
        // reads earlier than the instant, and a skipped wall time maps forward.
        let start = after.with_timezone(&tz).naive_local() - Duration::hours(3);
        self.wall_times_after(start)
            .map(|wall| instant_of(tz, wall))
            .find(|t| *t > after)
    }

    /// The latest fire time in `(from, to]`, if any.
    pub fn latest_between(
        &self,
        tz: Tz,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut cursor = from;
        let mut latest = None;
        while let Some(t) = self.next_after(tz, cursor) {
            if t > to {
                break;
            }
            latest = Some(t);
            cursor = t;
        }
        latest
    }

    fn wall_times_after(&self, start: NaiveDateTime) -> impl Iterator<Item = NaiveDateTime> + '_ {
        self.schedule
            .after(&Utc.from_utc_datetime(&start))
            .map(|t| t.naive_utc())
    }
}

/// How a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Its cron time came.
    Schedule,
    /// Made up on start for a cron time missed while down.
    CatchUp,
    /// Asked for (`/alerts run`).
    Manual,
}

impl Trigger {
    /// Every trigger.
    pub const ALL: [Trigger; 3] = [Trigger::Schedule, Trigger::CatchUp, Trigger::Manual];

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::CatchUp => "catch_up",
            Trigger::Manual => "manual",
        }
    }
}

/// Why a run could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotStarted {
    /// Another run of the rule is in progress.
    Running,
    /// This cron time has been run already.
    AlreadyRun,
}

/// A scheduler lease lasts this long unless renewed.
pub const LEASE_SECS: i64 = 90;
/// Longest sleep between scheduler passes (the lease is renewed every pass).
pub const MAX_WAIT_SECS: i64 = 30;
/// A cron time reached this late still counts as on time, not as a catch-up.
pub const GRACE_SECS: i64 = 120;

/// When a lease taken or renewed at `now` runs out.
pub fn lease_until(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::seconds(LEASE_SECS)
}

/// The cron time a rule is due to run for at `now`, and how it is started: its latest fire time
/// after its last scheduled run (or after `started`, for a rule that never ran), never older than
/// the catch-up window (`catch_up`, at least the on-time grace). A time reached more than the
/// grace late is a catch-up.
pub fn due_run(
    schedule: &CronSchedule,
    tz: Tz,
    last: Option<DateTime<Utc>>,
    started: DateTime<Utc>,
    now: DateTime<Utc>,
    catch_up: Duration,
) -> Option<(DateTime<Utc>, Trigger)> {
    let window = catch_up.max(Duration::seconds(GRACE_SECS));
    // Never earlier than the catch-up window; a rule that never ran starts with the process.
    let from = last
        .unwrap_or(started - Duration::seconds(1))
        .max(now - window);
    let due = schedule.latest_between(tz, from, now)?;
    let trigger = if now - due > Duration::seconds(GRACE_SECS) {
        Trigger::CatchUp
    } else {
        Trigger::Schedule
    };
    Some((due, trigger))
}

/// How long to sleep before the next pass: until the next fire time, at most
/// [`MAX_WAIT_SECS`].
pub fn wait_until(next: Option<DateTime<Utc>>, now: DateTime<Utc>) -> std::time::Duration {
    let max = Duration::seconds(MAX_WAIT_SECS);
    next.map(|n| (n - now).min(max))
        .unwrap_or(max)
        .to_std()
        .unwrap_or_default()
}

/// The one instant a wall time stands for (see the module comment).
fn instant_of(tz: Tz, wall: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // In a gap: use the offset in force just before it.
            let before = wall - Duration::hours(3);
            let offset = match tz.from_local_datetime(&before) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => *t.offset(),
                LocalResult::None => tz.offset_from_utc_datetime(&before),
            };
            let secs = chrono::Offset::fix(&offset).local_minus_utc();
            Utc.from_utc_datetime(&(wall - Duration::seconds(secs as i64)))
        }
    }
}

fn shift_weekdays(field: &str) -> String {
    // Only plain numbers are shifted; names (Mon, Fri) mean the same in both forms.
    let shift = |part: &str| -> String {
        match part.parse::<u32>() {
            Ok(n) if n <= 7 => ((n % 7) + 1).to_string(),
            _ => part.to_string(),
        }
    };
    field
        .split(',')
        .map(|item| {
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (item, None),
            };
            let range = range.split('-').map(shift).collect::<Vec<_>>().join("-");
            match step {
                Some(s) => format!("{range}/{s}"),
                None => range,
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses an IANA timezone name such as `Europe/Berlin`.
pub fn parse_timezone(raw: &str) -> Result<Tz, String> {
    raw.trim()
        .parse::<Tz>()
        .map_err(|_| format!("\"{raw}\" is not an IANA timezone like Europe/Berlin"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_due_time_within_the_grace_is_on_time_and_an_older_one_is_caught_up() {
        let daily = CronSchedule::parse("0 6 * * *").unwrap();
        let at = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 3, 10, h, m, 0).unwrap();
        let started = at(0, 0);
        let window = Duration::hours(12);
        assert_eq!(
            due_run(&daily, Tz::UTC, None, started, at(6, 1), window),
            Some((at(6, 0), Trigger::Schedule))
        );
        assert_eq!(
            due_run(&daily, Tz::UTC, Some(at(0, 0)), started, at(9, 0), window),
            Some((at(6, 0), Trigger::CatchUp))
        );
        // Already run, or older than the window: nothing to do.
        assert_eq!(
            due_run(&daily, Tz::UTC, Some(at(6, 0)), started, at(9, 0), window),
            None
        );
        assert_eq!(
            due_run(
                &daily,
                Tz::UTC,
                Some(at(0, 0)),
                started,
                at(9, 0),
                Duration::hours(1)
            ),
            None
        );
        // A rule that never ran is not caught up for a time before the start.
        assert_eq!(
            due_run(&daily, Tz::UTC, None, at(7, 0), at(9, 0), window),
            None
        );
        assert_eq!(
            wait_until(Some(at(6, 0)), at(5, 59)),
            std::time::Duration::from_secs(30)
        );
        assert_eq!(
            wait_until(Some(at(6, 0)), at(5, 59) + Duration::seconds(50)),
            std::time::Duration::from_secs(10)
        );
    }
    use chrono_tz::Europe::Berlin;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn fires(cron: &str, tz: Tz, from: &str, to: &str) -> Vec<DateTime<Utc>> {
        let s = CronSchedule::parse(cron).unwrap();
        let mut out = vec![];
        let mut t = utc(from);
        while let Some(n) = s.next_after(tz, t) {
            if n > utc(to) {
                break;
            }
            out.push(n);
            t = n;
        }
        out
    }

    #[test]
    fn five_field_form_gets_a_leading_seconds_field() {
        let s = CronSchedule::parse("30 7 * * *").unwrap();
        let n = s
            .next_after(chrono_tz::UTC, utc("2026-11-26T08:00:00Z"))
            .unwrap();
        assert_eq!(n, utc("2026-11-27T07:30:00Z"));
        assert_eq!(s.as_str(), "30 7 * * *");
    }

    #[test]
    fn six_and_seven_field_forms_are_accepted() {
        assert!(CronSchedule::parse("0 30 7 * * *").is_ok());
        assert!(CronSchedule::parse("0 30 7 * * * 2030").is_ok());
        assert!(CronSchedule::parse("every morning").is_err());
        assert!(CronSchedule::parse("61 7 * * *").is_err());
    }

    #[test]
    fn numeric_weekdays_count_from_sunday_as_in_standard_cron() {
        // 2026-11-27 is a Friday: "* * 5" means Friday in standard cron.
        let s = CronSchedule::parse("0 9 * * 5").unwrap();
        let n = s
            .next_after(chrono_tz::UTC, utc("2026-11-26T10:00:00Z"))
            .unwrap();
        assert_eq!(n, utc("2026-11-27T09:00:00Z"));
        let s = CronSchedule::parse("0 9 * * 1-5").unwrap();
        // Saturday 28th → Monday 30th.
        let n = s
            .next_after(chrono_tz::UTC, utc("2026-11-28T00:00:00Z"))
            .unwrap();
        assert_eq!(n, utc("2026-11-30T09:00:00Z"));
    }

    #[test]
    fn a_time_skipped_by_spring_forward_runs_once_that_day() {
        // 2026-03-29: Berlin jumps from 02:00 CET to 03:00 CEST.
        let got = fires(
            "30 2 * * *",
            Berlin,
            "2026-03-27T12:00:00Z",
            "2026-03-31T12:00:00Z",
        );
        assert_eq!(
            got,
            vec![
                utc("2026-03-28T01:30:00Z"),
                utc("2026-03-29T01:30:00Z"),
                utc("2026-03-30T00:30:00Z"),
                utc("2026-03-31T00:30:00Z"),
            ]
        );
    }

    #[test]
    fn a_time_repeated_by_fall_back_runs_once_that_day() {
        // 2026-10-25: Berlin goes back from 03:00 CEST to 02:00 CET; 02:30 happens twice.
        let got = fires(
            "30 2 * * *",
            Berlin,
            "2026-10-23T12:00:00Z",
            "2026-10-27T12:00:00Z",
        );
        assert_eq!(
            got,
            vec![
                utc("2026-10-24T00:30:00Z"),
                utc("2026-10-25T00:30:00Z"),
                utc("2026-10-26T01:30:00Z"),
                utc("2026-10-27T01:30:00Z"),
            ]
        );
        // New York's fall-back hour is 01:00-02:00.
        let got = fires(
            "30 1 * * *",
            chrono_tz::America::New_York,
            "2026-10-31T12:00:00Z",
            "2026-11-03T00:00:00Z",
        );
        assert_eq!(
            got,
            vec![utc("2026-11-01T05:30:00Z"), utc("2026-11-02T06:30:00Z"),]
        );
    }

    #[test]
    fn asking_from_inside_the_repeated_hour_does_not_fire_again() {
        let s = CronSchedule::parse("30 2 * * *").unwrap();
        // 01:45 UTC on 2026-10-25 is the second 02:45 in Berlin, after the one 02:30 run.
        let n = s.next_after(Berlin, utc("2026-10-25T01:45:00Z")).unwrap();
        assert_eq!(n, utc("2026-10-26T01:30:00Z"));
    }

    #[test]
    fn latest_between_finds_the_last_missed_time() {
        let s = CronSchedule::parse("0 * * * *").unwrap();
        let t = s.latest_between(
            chrono_tz::UTC,
            utc("2026-11-26T01:10:00Z"),
            utc("2026-11-26T04:20:00Z"),
        );
        assert_eq!(t, Some(utc("2026-11-26T04:00:00Z")));
        assert_eq!(
            s.latest_between(
                chrono_tz::UTC,
                utc("2026-11-26T04:10:00Z"),
                utc("2026-11-26T04:20:00Z")
            ),
            None
        );
    }

    #[test]
    fn timezones_parse() {
        assert!(parse_timezone("Europe/Berlin").is_ok());
        assert!(parse_timezone("Mars/Olympus").is_err());
    }

    proptest::proptest! {
        #[test]
        fn a_daily_schedule_fires_once_per_local_day(hour in 0u32..24, minute in 0u32..60, start in 0i64..(365 * 24)) {
            let s = CronSchedule::parse(&format!("{minute} {hour} * * *")).unwrap();
            let from = utc("2026-01-01T00:00:00Z") + Duration::hours(start);
            let mut t = from;
            let mut days = std::collections::BTreeSet::new();
            for _ in 0..40 {
                let n = s.next_after(Berlin, t).unwrap();
                proptest::prop_assert!(n > t);
                proptest::prop_assert!(n - t <= Duration::hours(25));
                // Each fire lands on a new local day.
                proptest::prop_assert!(days.insert(n.with_timezone(&Berlin).date_naive()));
                t = n;
            }
        }
    }
}
