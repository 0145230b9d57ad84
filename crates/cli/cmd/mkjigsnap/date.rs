//! The time stamps mkjigsnap prints, as `date -u` writes them
//! (`Sat Dec  5 09:09:05 UTC 2026`), without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as `date -u` prints it.
pub fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format(secs)
}

/// `secs` since the epoch, as `date -u` prints it in the C locale.
pub fn format(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let weekday = DAYS.get((days % 7) as usize).copied().unwrap_or("???");
    let month = MONTHS
        .get(m.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("???");
    format!(
        "{weekday} {month} {d:>2} {:02}:{:02}:{:02} UTC {y}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil: (year, month 1..=12, day 1..=31).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_like_date_u() {
        assert_eq!(super::format(0), "Thu Jan  1 00:00:00 UTC 1970");
        assert_eq!(super::format(1_796_461_745), "Sat Dec  5 09:09:05 UTC 2026");
        assert_eq!(super::format(951_782_400), "Tue Feb 29 00:00:00 UTC 2000");
    }
}
