//! ISO 9660 date encodings (ECMA-119 8.4.26.1 and 9.1.5), always written in UTC.

/// Civil date from seconds since the Unix epoch (UTC): (year, month 1-12, day 1-31, h, m, s).
fn civil(secs: i64) -> (i64, u8, u8, u8, u8, u8) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days_from_civil inverse; exact for the whole i64 day range we accept.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    let to_u8 = |v: i64| u8::try_from(v).unwrap_or(0);
    (
        y,
        to_u8(m),
        to_u8(d),
        to_u8(rem / 3600),
        to_u8(rem % 3600 / 60),
        to_u8(rem % 60),
    )
}

/// The 7-byte "recording date and time" of directory records and Rock Ridge TF entries.
///
/// Years outside 1900..=2155 cannot be represented and are clamped.
pub(crate) fn dir_date(secs: i64) -> [u8; 7] {
    // 1900-01-01 and 2155-12-31 23:59:59
    let secs = secs.clamp(-2_208_988_800, 5_869_583_999);
    let (y, mo, d, h, mi, s) = civil(secs);
    let year = u8::try_from(y - 1900).unwrap_or(0);
    [year, mo, d, h, mi, s, 0]
}

/// The 17-byte volume descriptor date ("YYYYMMDDHHMMSScc" + GMT offset), or all "0" for `None`.
pub(crate) fn volume_date(secs: Option<i64>) -> [u8; 17] {
    let mut out = [b'0'; 17];
    out[16] = 0;
    if let Some(secs) = secs {
        // years 0001..=9999
        let secs = secs.clamp(-62_135_596_800, 253_402_300_799);
        let (y, mo, d, h, mi, s) = civil(secs);
        let text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}00");
        out[..16].copy_from_slice(text.as_bytes().get(..16).unwrap_or(b"0000000000000000"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(dir_date(0), [70, 1, 1, 0, 0, 0, 0]);
        // 2023-06-10 12:34:56 UTC
        assert_eq!(dir_date(1_686_400_496), [123, 6, 10, 12, 34, 56, 0]);
        assert_eq!(&volume_date(Some(1_686_400_496)), b"2023061012345600\0");
        assert_eq!(&volume_date(None), b"0000000000000000\0");
        assert_eq!(dir_date(i64::MIN), [0, 1, 1, 0, 0, 0, 0]);
        assert_eq!(dir_date(i64::MAX), [255, 12, 31, 23, 59, 59, 0]);
        // leap day
        assert_eq!(dir_date(951_782_400), [100, 2, 29, 0, 0, 0, 0]);
    }
}
