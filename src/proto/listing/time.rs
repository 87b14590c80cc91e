//! Calendar arithmetic for listings: civil date <-> Unix epoch seconds
//! (proleptic Gregorian, UTC), RFC 3659 `time-val` parsing, and the `ls`
//! year inference for dates printed without a year.

const SECS_PER_DAY: i64 = 86_400;

/// How far in the future a year-less `ls` date may lie. Servers in time zones
/// ahead of the client, and clock skew, make "just modified" files look a
/// little in the future; anything further must belong to the previous year.
pub(crate) const YEARLESS_FUTURE_GRACE: i64 = 31 * SECS_PER_DAY;

/// `ls` prints "Mon DD HH:MM" for files less than half a Gregorian year old
/// (GNU ls uses exactly this span) and "Mon DD  YYYY" otherwise.
pub(crate) const LS_RECENT_SPAN: i64 = 31_556_952 / 2;

pub(crate) const MONTH_ABBREVIATIONS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

pub(crate) fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub(crate) fn days_in_month(year: i64, month: u32) -> Option<u32> {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => Some(31),
        4 | 6 | 9 | 11 => Some(30),
        2 if is_leap_year(year) => Some(29),
        2 => Some(28),
        _ => None,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`). Computed in
/// i128 so that every i64 year is representable without overflow checks.
fn days_from_civil(year: i64, month: u32, day: u32) -> i128 {
    let year = i128::from(year) - i128::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (i128::from(month) + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + i128::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Civil date and time (UTC) -> seconds since the Unix epoch.
///
/// Returns `None` for impossible dates (month 13, Feb 29 of a common year,
/// hour 24, second 60, ...) and for results outside the `i64` range.
pub fn epoch_from_civil(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    let month_days = days_in_month(y, mo)?;
    if d == 0 || d > month_days || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let seconds_of_day = i128::from(h * 3600 + mi * 60 + s);
    let total = days_from_civil(y, mo, d) * i128::from(SECS_PER_DAY) + seconds_of_day;
    i64::try_from(total).ok()
}

/// Seconds since the Unix epoch -> (year, month, day, hour, minute, second), UTC.
///
/// Total over `i64`: the inverse of [`epoch_from_civil`].
pub fn civil_from_epoch(t: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = t.div_euclid(SECS_PER_DAY);
    let seconds_of_day = t.rem_euclid(SECS_PER_DAY);
    // |days| <= i64::MAX / 86400, so none of the following can overflow.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // All casts below are of values already bounded to small ranges.
    (
        year,
        month as u32,
        day as u32,
        (seconds_of_day / 3600) as u32,
        (seconds_of_day % 3600 / 60) as u32,
        (seconds_of_day % 60) as u32,
    )
}

fn digits_value(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0')))
}

/// An RFC 3659 `time-val` ("YYYYMMDDHHMMSS" with an optional ".fraction"),
/// as sent in MLSD `modify=` facts and MDTM replies -> epoch seconds, UTC.
///
/// The fraction is dropped. A leap second (SS = 60, which RFC 3659 allows)
/// is folded into the following second, as `timegm` would. Any other
/// out-of-range field, missing digit or trailing byte gives `None`.
pub fn parse_time_val(v: &[u8]) -> Option<i64> {
    if v.len() < 14 {
        return None;
    }
    let (digits, fraction) = v.split_at(14);
    match fraction {
        [] => {}
        [b'.', rest @ ..] if !rest.is_empty() && rest.iter().all(u8::is_ascii_digit) => {}
        _ => return None,
    }
    let field = |start: usize, len: usize| digits.get(start..start + len).and_then(digits_value);
    let year = i64::from(field(0, 4)?);
    let (month, day) = (field(4, 2)?, field(6, 2)?);
    let (hour, minute, second) = (field(8, 2)?, field(10, 2)?, field(12, 2)?);
    if second == 60 {
        return epoch_from_civil(year, month, day, hour, minute, 59)?.checked_add(1);
    }
    epoch_from_civil(year, month, day, hour, minute, second)
}

/// Epoch seconds -> RFC 3659 `time-val` "YYYYMMDDHHMMSS" (what MDTM and the
/// MLSD `modify` fact carry). `None` when the year does not fit in 4 digits.
pub fn format_time_val(t: i64) -> Option<String> {
    let (year, month, day, hour, minute, second) = civil_from_epoch(t);
    if !(0..=9999).contains(&year) {
        return None;
    }
    Some(format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}"))
}

/// The epoch time of a year-less `ls` date ("Mon DD HH:MM").
///
/// Rule: the latest year in which the date exists and which puts it no more
/// than [`YEARLESS_FUTURE_GRACE`] after `now`. That places it in
/// (now - ~11 months, now + 1 month]. Up to 8 years back are tried so that
/// "Feb 29" always finds its leap year (2096 -> 2104 is the longest gap).
pub(crate) fn epoch_for_yearless_date(
    now: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) -> Option<i64> {
    let (now_year, ..) = civil_from_epoch(now);
    let latest_allowed = now.saturating_add(YEARLESS_FUTURE_GRACE);
    (0..=8i64)
        .filter_map(|years_back| now_year.checked_add(1)?.checked_sub(years_back))
        .filter_map(|year| epoch_from_civil(year, month, day, hour, minute, second))
        .find(|&t| t <= latest_allowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn epoch_origin_and_known_dates() {
        assert_eq!(epoch_from_civil(1970, 1, 1, 0, 0, 0), Some(0));
        assert_eq!(epoch_from_civil(1969, 12, 31, 23, 59, 59), Some(-1));
        assert_eq!(epoch_from_civil(2000, 3, 1, 0, 0, 0), Some(951_868_800));
        assert_eq!(epoch_from_civil(2038, 1, 19, 3, 14, 8), Some(2_147_483_648));
        assert_eq!(epoch_from_civil(2100, 1, 1, 0, 0, 0), Some(4_102_444_800));
        assert_eq!(epoch_from_civil(2100, 3, 1, 0, 0, 0), Some(4_107_542_400));
        assert_eq!(epoch_from_civil(1900, 1, 1, 0, 0, 0), Some(-2_208_988_800));
        assert_eq!(civil_from_epoch(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil_from_epoch(-1), (1969, 12, 31, 23, 59, 59));
        assert_eq!(civil_from_epoch(4_107_542_399), (2100, 2, 28, 23, 59, 59));
    }

    #[test]
    fn february_29_only_in_leap_years() {
        assert_eq!(epoch_from_civil(2020, 2, 29, 0, 0, 0), Some(1_582_934_400));
        assert_eq!(epoch_from_civil(2000, 2, 29, 0, 0, 0), Some(951_782_400));
        assert_eq!(epoch_from_civil(2019, 2, 29, 0, 0, 0), None);
        assert_eq!(epoch_from_civil(1900, 2, 29, 0, 0, 0), None);
        assert_eq!(epoch_from_civil(2100, 2, 29, 0, 0, 0), None);
        assert_eq!(epoch_from_civil(2024, 2, 30, 0, 0, 0), None);
    }

    #[test]
    fn out_of_range_fields_are_rejected() {
        assert_eq!(epoch_from_civil(2020, 0, 1, 0, 0, 0), None);
        assert_eq!(epoch_from_civil(2020, 13, 1, 0, 0, 0), None);
        assert_eq!(epoch_from_civil(2020, 1, 0, 0, 0, 0), None);
        assert_eq!(epoch_from_civil(2020, 1, 32, 0, 0, 0), None);
        assert_eq!(epoch_from_civil(2020, 4, 31, 0, 0, 0), None);
        assert_eq!(epoch_from_civil(2020, 1, 1, 24, 0, 0), None);
        assert_eq!(epoch_from_civil(2020, 1, 1, 0, 60, 0), None);
        assert_eq!(epoch_from_civil(2020, 1, 1, 0, 0, 60), None);
        assert_eq!(epoch_from_civil(i64::MAX, 1, 1, 0, 0, 0), None);
        assert_eq!(epoch_from_civil(i64::MIN, 1, 1, 0, 0, 0), None);
    }

    #[test]
    fn extreme_epochs_convert_without_overflow() {
        for t in [i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1] {
            let (y, mo, d, h, mi, s) = civil_from_epoch(t);
            assert_eq!(epoch_from_civil(y, mo, d, h, mi, s), Some(t));
        }
    }

    #[test]
    fn time_val_examples() {
        assert_eq!(parse_time_val(b"19700101000000"), Some(0));
        assert_eq!(parse_time_val(b"20200229123456"), Some(1_582_979_696));
        assert_eq!(parse_time_val(b"20200229123456.789"), Some(1_582_979_696));
        assert_eq!(parse_time_val(b"21000101000000"), Some(4_102_444_800));
        // Leap second folds into the next second.
        assert_eq!(parse_time_val(b"20161231235960"), epoch_from_civil(2017, 1, 1, 0, 0, 0));
    }

    #[test]
    fn time_val_rejects_malformed_values() {
        for bad in [
            &b""[..],
            b"2020010112000",
            b"202001011200000",
            b"20201301000000",
            b"20200001000000",
            b"20200132000000",
            b"20190229000000",
            b"20200101240000",
            b"20200101126000",
            b"20200101120061",
            b"20200101120000.",
            b"20200101120000.5x",
            b"20200101120000Z",
            b"2020-1-01120000",
            b"+2020101120000",
            b" 20200101120000",
        ] {
            assert_eq!(parse_time_val(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn time_val_formatting() {
        assert_eq!(format_time_val(0).as_deref(), Some("19700101000000"));
        assert_eq!(format_time_val(1_582_979_696).as_deref(), Some("20200229123456"));
        assert_eq!(format_time_val(-62_167_219_201), None); // year -1
        assert_eq!(format_time_val(253_402_300_800), None); // year 10000
    }

    #[test]
    fn yearless_dates_pick_the_latest_year_not_far_in_the_future() {
        let now = epoch_from_civil(2026, 11, 25, 12, 0, 0).unwrap();
        // Earlier this year.
        assert_eq!(epoch_for_yearless_date(now, 6, 1, 12, 30, 0), epoch_from_civil(2026, 6, 1, 12, 30, 0));
        // Within the one-month grace: still this year.
        assert_eq!(epoch_for_yearless_date(now, 12, 20, 0, 0, 0), epoch_from_civil(2026, 12, 20, 0, 0, 0));
        // Beyond the grace: last year.
        assert_eq!(epoch_for_yearless_date(now, 12, 31, 23, 59, 0), epoch_from_civil(2025, 12, 31, 23, 59, 0));
        // In early January, December dates are from the year before...
        let january = epoch_from_civil(2027, 1, 3, 0, 0, 0).unwrap();
        assert_eq!(epoch_for_yearless_date(january, 12, 30, 8, 0, 0), epoch_from_civil(2026, 12, 30, 8, 0, 0));
        // ...while in late December, early January is next year.
        let december = epoch_from_civil(2026, 12, 28, 0, 0, 0).unwrap();
        assert_eq!(epoch_for_yearless_date(december, 1, 2, 8, 0, 0), epoch_from_civil(2027, 1, 2, 8, 0, 0));
    }

    #[test]
    fn yearless_february_29_finds_the_previous_leap_year() {
        let now = epoch_from_civil(2027, 3, 10, 0, 0, 0).unwrap();
        assert_eq!(epoch_for_yearless_date(now, 2, 29, 12, 0, 0), epoch_from_civil(2024, 2, 29, 12, 0, 0));
        // 2100 is not a leap year: the previous Feb 29 is in 2096.
        let now = epoch_from_civil(2100, 3, 10, 0, 0, 0).unwrap();
        assert_eq!(epoch_for_yearless_date(now, 2, 29, 0, 0, 0), epoch_from_civil(2096, 2, 29, 0, 0, 0));
        assert_eq!(epoch_for_yearless_date(now, 2, 30, 0, 0, 0), None);
    }

    #[test]
    fn yearless_dates_at_extreme_now_do_not_overflow() {
        for now in [i64::MIN, i64::MAX, 0] {
            let _ = epoch_for_yearless_date(now, 1, 1, 0, 0, 0);
        }
        assert_eq!(epoch_for_yearless_date(0, 1, 1, 0, 0, 0), Some(0), "1970-01-01 is 'now' at the epoch");
    }

    proptest! {
        #[test]
        fn civil_round_trip_for_every_epoch(t in any::<i64>()) {
            let (y, mo, d, h, mi, s) = civil_from_epoch(t);
            prop_assert_eq!(epoch_from_civil(y, mo, d, h, mi, s), Some(t));
        }

        #[test]
        fn epoch_round_trip_for_valid_dates(
            y in -100_000i64..100_000, mo in 1u32..=12, d in 1u32..=31,
            h in 0u32..24, mi in 0u32..60, s in 0u32..60,
        ) {
            match epoch_from_civil(y, mo, d, h, mi, s) {
                Some(t) => prop_assert_eq!(civil_from_epoch(t), (y, mo, d, h, mi, s)),
                None => prop_assert!(d > days_in_month(y, mo).unwrap_or(0)),
            }
        }

        #[test]
        fn time_val_round_trip(t in -62_167_219_200i64..253_402_300_800) {
            let text = format_time_val(t).unwrap();
            prop_assert_eq!(parse_time_val(text.as_bytes()), Some(t));
        }

        #[test]
        fn parse_time_val_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_time_val(&bytes);
        }

        #[test]
        fn parse_time_val_never_panics_on_digit_strings(s in "[0-9]{14}(\\.[0-9]{0,5})?") {
            if let Some(t) = parse_time_val(s.as_bytes()) {
                let (y, ..) = civil_from_epoch(t);
                prop_assert!((0..=10_000).contains(&y));
            }
        }
    }
}
