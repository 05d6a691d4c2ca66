//! Durations and points in time as users write them: `90m`, `2h`, `7d`, or RFC 3339.

use crate::facts::Timestamp;
use chrono::{DateTime, Duration, SubsecRound, Utc};

/// The test hooks' settings a test client passes on to the service for one job
/// (`ADMINIBOT_NOW` and `ADMINIBOT_TEST_*`), by name.
pub type TestEnv = std::collections::BTreeMap<String, String>;

thread_local! {
    /// This thread's current job's [`TestEnv`] (the service's executor).
    static JOB_TEST_ENV: std::cell::RefCell<TestEnv> = const { std::cell::RefCell::new(TestEnv::new()) };
}

/// Sets (or clears, with an empty map) the test settings of this thread's
/// current job; ignored without the `test-hooks` feature.
pub fn set_job_test_env(settings: TestEnv) {
    if cfg!(feature = "test-hooks") {
        JOB_TEST_ENV.set(settings);
    }
}

/// The test settings of this process to pass on to a service (`test-hooks`
/// builds only; empty otherwise).
pub fn test_env_to_pass_on() -> TestEnv {
    if !cfg!(feature = "test-hooks") {
        return TestEnv::new();
    }
    std::env::vars()
        .filter(|(k, _)| k == "ADMINIBOT_NOW" || k.starts_with("ADMINIBOT_TEST_"))
        .collect()
}

/// A test hook's setting: the current job's, else this process's environment;
/// always `None` without the `test-hooks` feature.
pub fn test_var(name: &str) -> Option<String> {
    if !cfg!(feature = "test-hooks") {
        return None;
    }
    JOB_TEST_ENV
        .with_borrow(|job| job.get(name).cloned())
        .or_else(|| std::env::var(name).ok())
}

/// The time to use instead of the wiki's or the machine's clock: `ADMINIBOT_NOW`
/// (RFC 3339), or a service job's, in builds with the `test-hooks` feature,
/// never otherwise.
pub fn clock_override() -> Option<Timestamp> {
    if !cfg!(feature = "test-hooks") {
        return None;
    }
    let text = test_var("ADMINIBOT_NOW")?;
    let at = DateTime::parse_from_rfc3339(&text)
        .unwrap_or_else(|e| panic!("ADMINIBOT_NOW=`{text}` is not RFC 3339: {e}"));
    Some(at.with_timezone(&Utc))
}

/// Test-only pause point between pipeline stages (`test-hooks` builds): when
/// `ADMINIBOT_TEST_PAUSE=<stage>:<dir>` names this stage, create `<dir>/paused` and
/// wait (up to a minute) for `<dir>/resume`, so a test can change the wiki or kill
/// the process at exactly this point.
pub fn test_pause(stage: &str) {
    if !cfg!(feature = "test-hooks") {
        return;
    }
    let Some(setting) = test_var("ADMINIBOT_TEST_PAUSE") else {
        return;
    };
    let Some((wanted, dir)) = setting.split_once(':') else {
        return;
    };
    if wanted != stage {
        return;
    }
    let dir = std::path::Path::new(dir);
    std::fs::write(dir.join("paused"), stage).expect("write the pause marker");
    for _ in 0..3000 {
        if dir.join("resume").exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("ADMINIBOT_TEST_PAUSE: nobody resumed `{stage}` within a minute");
}

/// How long to wait before retry `attempt` (0-based) of a failed read: 250 ms,
/// doubling. `ADMINIBOT_TEST_NO_SLEEP` (in `test-hooks` builds) makes it zero.
pub fn retry_delay(attempt: u32) -> std::time::Duration {
    if test_var("ADMINIBOT_TEST_NO_SLEEP").is_some() {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::from_millis(250 << attempt.min(4))
}

/// How long to wait before retry `attempt` after the wiki said it is busy: its
/// `Retry-After` (seconds) when it gave one, else [`retry_delay`]; never more than
/// 30 s, whatever the header says. Zero with `ADMINIBOT_TEST_NO_SLEEP`.
pub fn busy_delay(retry_after: Option<u64>, attempt: u32) -> std::time::Duration {
    let fallback = retry_delay(attempt);
    if fallback.is_zero() {
        return fallback;
    }
    retry_after
        .filter(|s| *s > 0)
        .map_or(fallback, |s| std::time::Duration::from_secs(s.min(30)))
}

/// How long one HTTP request may take before it counts as failed: 60 s.
/// `ADMINIBOT_TEST_HTTP_TIMEOUT_MS` shortens it in `test-hooks` builds.
pub fn http_timeout() -> std::time::Duration {
    millis_or_test_override("ADMINIBOT_TEST_HTTP_TIMEOUT_MS", 60_000)
}

/// How long one API call may take with all its retries and waits: 90 s, so a
/// sick wiki cannot hold a checked request for minutes before its write.
/// `ADMINIBOT_TEST_TOTAL_DEADLINE_MS` shortens it in `test-hooks` builds.
pub fn total_deadline() -> std::time::Duration {
    millis_or_test_override("ADMINIBOT_TEST_TOTAL_DEADLINE_MS", 90_000)
}

fn millis_or_test_override(variable: &str, default_ms: u64) -> std::time::Duration {
    let test_override = test_var(variable).and_then(|ms| ms.parse().ok());
    std::time::Duration::from_millis(test_override.unwrap_or(default_ms))
}

/// The machine's own clock, never the `ADMINIBOT_NOW` override; in `test-hooks`
/// builds `ADMINIBOT_TEST_CLOCK_SKEW_SECS` puts it off by that many seconds.
pub fn machine_clock() -> Timestamp {
    let skew = test_var("ADMINIBOT_TEST_CLOCK_SKEW_SECS")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    Utc::now() + Duration::seconds(skew)
}

/// How far the machine's clock may be from the wiki's before adminibot refuses
/// to act: grants, windows and the audit log would disagree with the wiki.
/// Five minutes (tests may shorten it with `ADMINIBOT_TEST_MAX_CLOCK_SKEW_SECS`
/// to show that a long batch reads the wiki's time afresh).
pub fn max_clock_skew_secs() -> i64 {
    test_var("ADMINIBOT_TEST_MAX_CLOCK_SKEW_SECS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

/// Now, by the machine's clock (or the test override), in whole seconds like the
/// wiki's own timestamps, so a grant made this second counts in a check this second.
pub fn now() -> Timestamp {
    clock_override().unwrap_or_else(|| Utc::now().trunc_subsecs(0))
}

/// Parses a duration such as `30s`, `90m`, `2h`, `7d` or `2w`.
///
/// The number must be a whole, non-negative integer and the unit is required, so
/// `"3"` is refused rather than guessed.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit: write e.g. `90m`, `2h` or `7d`"))?;
    let (digits, unit) = text.split_at(split);
    let amount: i64 = digits
        .parse()
        .map_err(|_| format!("`{text}` does not start with a whole number"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit `{unit}`: use s, m, h, d or w"
            ))
        }
    };
    amount
        .checked_mul(seconds)
        .and_then(Duration::try_seconds)
        .ok_or_else(|| format!("`{text}` is too long a duration"))
}

/// Parses WHEN: a duration back from `now` (`90m`, `7d`) or an RFC 3339 time in UTC.
pub fn parse_when(text: &str, now: Timestamp) -> Result<Timestamp, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(at.with_timezone(&Utc));
    }
    parse_duration(text)
        .map(|ago| now - ago)
        .map_err(|e| format!("{e}, or give an RFC 3339 time like `2026-11-21T00:00:00Z`"))
}

/// Parses a deadline: a duration forward from `now` (`30d`) or an RFC 3339 time,
/// which must lie in the future.
pub fn parse_deadline(text: &str, now: Timestamp) -> Result<Timestamp, String> {
    let at = match DateTime::parse_from_rfc3339(text.trim()) {
        Ok(at) => at.with_timezone(&Utc),
        Err(_) => parse_duration(text)
            .map(|ahead| now + ahead)
            .map_err(|e| format!("{e}, or give an RFC 3339 time like `2027-01-01T00:00:00Z`"))?,
    };
    if at <= now {
        return Err(format!("`{text}` is not in the future"));
    }
    Ok(at)
}

/// Renders a moment the way the wiki and the audit log do (`2026-11-21T12:00:00Z`).
pub fn format_time(at: Timestamp) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Renders a duration the way users write them (`3d`, `10m`, `1d 2h`).
pub fn format_duration(duration: Duration) -> String {
    let mut left = duration.num_seconds();
    if left <= 0 {
        return "0s".to_string();
    }
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if left >= size {
            parts.push(format!("{}{unit}", left / size));
            left %= size;
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::hours(2)));
        assert_eq!(parse_duration("7d"), Ok(Duration::days(7)));
        assert_eq!(parse_duration("2w"), Ok(Duration::days(14)));
        assert_eq!(parse_duration(" 30s "), Ok(Duration::seconds(30)));
    }

    #[test]
    fn durations_without_unit_or_number_are_refused() {
        assert!(parse_duration("3").unwrap_err().contains("no unit"));
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("3y").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("-3d").is_err());
        assert!(parse_duration("99999999999999999d").is_err());
    }

    #[test]
    fn when_accepts_durations_and_rfc3339() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_when("2h", now).unwrap(), now - Duration::hours(2));
        assert_eq!(
            parse_when("2026-11-20T00:00:00Z", now)
                .unwrap()
                .to_rfc3339(),
            "2026-11-20T00:00:00+00:00"
        );
        assert!(parse_when("yesterday", now).is_err());
    }

    #[test]
    fn deadlines_lie_ahead() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_deadline("2d", now).unwrap(), now + Duration::days(2));
        assert_eq!(
            format_time(parse_deadline("2027-01-01T00:00:00Z", now).unwrap()),
            "2027-01-01T00:00:00Z"
        );
        assert!(parse_deadline("2020-01-01T00:00:00Z", now)
            .unwrap_err()
            .contains("not in the future"));
        assert!(parse_deadline("0m", now).is_err());
    }

    #[test]
    fn busy_waits_follow_retry_after_but_are_clamped() {
        use std::time::Duration as Std;
        assert_eq!(busy_delay(Some(5), 0), Std::from_secs(5));
        assert_eq!(busy_delay(Some(1_000_000_000), 0), Std::from_secs(30));
        assert_eq!(busy_delay(None, 0), Std::from_millis(250));
        assert_eq!(busy_delay(Some(0), 1), Std::from_millis(500));
    }

    #[test]
    fn durations_render_compactly() {
        assert_eq!(format_duration(Duration::days(3)), "3d");
        assert_eq!(format_duration(Duration::minutes(10)), "10m");
        assert_eq!(format_duration(Duration::minutes(1500)), "1d 1h");
    }
}
