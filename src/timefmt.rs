//! Time stamps for reports: nanoseconds since the Unix epoch, shown as RFC 3339 UTC.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// RFC 3339 UTC with seconds, e.g. `2020-06-19T12:00:00Z`.
pub fn rfc3339(ns: i64) -> String {
    let t = if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    };
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Converts nanoseconds since the epoch to a `SystemTime`.
pub fn system_time(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}
