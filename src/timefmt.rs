//! Time stamps for reports: nanoseconds since the Unix epoch, shown as RFC 3339 UTC.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// RFC 3339 UTC with seconds, e.g. `2020-06-19T12:00:00Z`, for any i64 of
/// nanoseconds (years 1677 to 2262). Files can carry times before 1970, and a
/// recorded time is shown whatever it is, so this does not go through
/// `SystemTime` formatting, which refuses times before the epoch.
pub fn rfc3339(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Converts nanoseconds since the epoch to a `SystemTime`.
pub fn system_time(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_humantime_after_the_epoch() {
        for ns in [
            0i64,
            1_592_568_000_000_000_000,
            951_782_400_000_000_000, // 2000-02-29
            4_102_444_799_999_999_999,
            i64::MAX,
        ] {
            assert_eq!(
                rfc3339(ns),
                humantime::format_rfc3339_seconds(system_time(ns)).to_string()
            );
        }
    }

    #[test]
    fn times_before_the_epoch_are_shown() {
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(-315_619_200_000_000_000), "1960-01-01T00:00:00Z");
        assert_eq!(rfc3339(i64::MIN), "1677-09-21T00:12:43Z");
    }
}
