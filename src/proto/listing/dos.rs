//! DOS-style LIST lines, as sent by Microsoft IIS (its default "MS-DOS"
//! directory listing style) and servers imitating it:
//!
//! ```text
//! 01-16-24  02:12PM       <DIR>          Documents
//! 12-31-99  11:59AM                 1234 file name.txt
//! 01-16-2024  14:12       <DIR>          Documents 2024
//! 2002-09-02  19:06                9,730 file
//! ```
//!
//! Name rule (IIS layout): the size is right-aligned and followed by exactly
//! one space; `<DIR>` is followed by ten spaces. So after a size the name
//! starts after one space, and after `<DIR>` after ten spaces when there are
//! at least ten (otherwise after all of them). Further leading spaces belong
//! to the name.

use super::{
    all_digits, civil_from_epoch, epoch_from_civil, field_bytes, kind_for_name, parse_decimal_u64, parse_small_number,
    skip_spaces, split_fields, Entry, EntryKind, Field, ListFormat,
};

/// Spaces IIS writes between `<DIR>` and the name.
const SPACES_AFTER_DIR_MARKER: usize = 10;

/// "MM-DD-YY", "MM-DD-YYYY" or "YYYY-MM-DD" ('/' also accepted as the
/// separator). Two-digit years: 70-99 are 19xx, 00-69 are 20xx.
fn parse_dos_date(field: &[u8]) -> Option<(i64, u32, u32)> {
    let separator = *field.iter().find(|b| !b.is_ascii_digit())?;
    if separator != b'-' && separator != b'/' {
        return None;
    }
    let mut parts = field.split(|&b| b == separator);
    let (first, second, third) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (year_text, month_text, day_text) = match (first.len(), second.len(), third.len()) {
        (2, 2, 2) | (2, 2, 4) => (third, first, second),
        (4, 2, 2) => (first, second, third),
        _ => return None,
    };
    let year = i64::from(parse_small_number(year_text, 4)?);
    let year = match year_text.len() {
        2 if year >= 70 => 1900 + year,
        2 => 2000 + year,
        _ => year,
    };
    let month = parse_small_number(month_text, 2).filter(|m| (1..=12).contains(m))?;
    let day = parse_small_number(day_text, 2).filter(|d| (1..=31).contains(d))?;
    Some((year, month, day))
}

/// Splits "02:12PM" into ("02:12", Some(pm)); "14:12" gives None for the half.
fn split_meridiem(field: &[u8]) -> (&[u8], Option<bool>) {
    match field.len().checked_sub(2).map(|at| field.split_at(at)) {
        Some((clock, suffix)) if suffix.eq_ignore_ascii_case(b"AM") => (clock, Some(false)),
        Some((clock, suffix)) if suffix.eq_ignore_ascii_case(b"PM") => (clock, Some(true)),
        _ => (field, None),
    }
}

/// Parses the time starting at `fields[1]` ("02:12PM", "14:12" or
/// "02:12 PM"). Returns (hour 0-23, minute, index of the next field).
fn parse_dos_time(line: &[u8], fields: &[Field]) -> Option<(u32, u32, usize)> {
    let field = field_bytes(line, *fields.get(1)?);
    let (clock, mut meridiem) = split_meridiem(field);
    let mut next = 2;
    if meridiem.is_none() {
        let (rest, separate) = fields.get(2).map(|&f| split_meridiem(field_bytes(line, f))).unwrap_or_default();
        if rest.is_empty() && separate.is_some() {
            meridiem = separate;
            next = 3;
        }
    }
    let (hour_text, minute_text) = {
        let colon = clock.iter().position(|&b| b == b':')?;
        let (hour, colon_and_minute) = clock.split_at(colon);
        (hour, colon_and_minute.get(1..).unwrap_or_default())
    };
    let hour = parse_small_number(hour_text, 2)?;
    let minute = (minute_text.len() == 2).then(|| parse_small_number(minute_text, 2)).flatten().filter(|m| *m <= 59)?;
    let hour = match meridiem {
        None if hour <= 23 => hour,
        Some(pm) if (1..=12).contains(&hour) => hour % 12 + if pm { 12 } else { 0 },
        _ => return None,
    };
    Some((hour, minute, next))
}

/// A size with thousands separators ("9,730", "1.234.567").
fn parse_grouped_size(field: &[u8]) -> Option<u64> {
    let separator = *field.iter().find(|b| !b.is_ascii_digit())?;
    if separator != b',' && separator != b'.' {
        return None;
    }
    let groups: Vec<&[u8]> = field.split(|&b| b == separator).collect();
    let (first, rest) = groups.split_first()?;
    let well_formed = (1..=3).contains(&first.len())
        && all_digits(first)
        && rest.iter().all(|group| group.len() == 3 && all_digits(group));
    if !well_formed {
        return None;
    }
    let digits: Vec<u8> = groups.concat();
    parse_decimal_u64(&digits)
}

enum Column {
    Dir,
    Link,
    /// `None`: digits too large for u64.
    Size(Option<u64>),
}

fn parse_column(field: &[u8]) -> Option<Column> {
    if field.eq_ignore_ascii_case(b"<DIR>") {
        return Some(Column::Dir);
    }
    // `dir` output of newer Windows versions, mirrored by some servers.
    if [&b"<JUNCTION>"[..], b"<SYMLINK>", b"<SYMLINKD>"].iter().any(|marker| marker.eq_ignore_ascii_case(field)) {
        return Some(Column::Link);
    }
    if all_digits(field) {
        return Some(Column::Size(parse_decimal_u64(field)));
    }
    parse_grouped_size(field).map(|size| Column::Size(Some(size)))
}

/// "name [target]" as written for junctions and symbolic links.
fn split_bracketed_target(name: &[u8]) -> (&[u8], Option<&[u8]>) {
    let Some(inner) = name.strip_suffix(b"]") else {
        return (name, None);
    };
    let open = inner.windows(2).rposition(|w| w == b" [").filter(|&at| at > 0);
    match open {
        Some(at) => (inner.get(..at).unwrap_or_default(), inner.get(at + 2..).filter(|t| !t.is_empty())),
        None => (name, None),
    }
}

/// Parses a DOS-style line (CR/LF already stripped); `None` if it is not one.
pub(crate) fn parse_dos_line(line: &[u8]) -> Option<Entry> {
    let fields = split_fields(line);
    let (year, month, day) = parse_dos_date(field_bytes(line, *fields.first()?))?;
    let (hour, minute, column_index) = parse_dos_time(line, &fields)?;
    let column_field = *fields.get(column_index)?;
    let column = parse_column(field_bytes(line, column_field))?;
    let after_column = line.get(column_field.end..)?;
    let name_and_target = match column {
        Column::Dir => {
            let spaces = after_column.len() - skip_spaces(after_column).len();
            if spaces >= SPACES_AFTER_DIR_MARKER {
                after_column.get(SPACES_AFTER_DIR_MARKER..)?
            } else {
                skip_spaces(after_column)
            }
        }
        Column::Link => skip_spaces(after_column),
        Column::Size(_) => after_column.get(1..)?,
    };
    if name_and_target.is_empty() {
        return None;
    }
    let (kind, size, (name, link_target)) = match column {
        Column::Dir => (EntryKind::Dir, None, (name_and_target, None)),
        Column::Link => (EntryKind::Link, None, split_bracketed_target(name_and_target)),
        Column::Size(size) => (EntryKind::File, size, (name_and_target, None)),
    };
    Some(Entry {
        name: super::owned(name),
        kind: kind_for_name(name, kind),
        link_target: link_target.map(<[u8]>::to_vec),
        size,
        modified: epoch_from_civil(year, month, day, hour, minute, 0),
        raw: super::owned(line),
        format: ListFormat::Dos,
        ..Entry::default()
    })
}

/// Writes `entry` in the IIS layout ("MM-DD-YYYY  HH:MMAM" with a four-digit
/// year, then `<DIR>` or the size, then the name), which
/// [`super::parse_list_line`] reads back to the minute.
///
/// Directories (including `.`/`..` kinds) get `<DIR>`, links `<SYMLINK>` with
/// " \[target\]", everything else a size (default 0). `modified` defaults to
/// the epoch; years outside 0..=9999 cannot be represented, nor a name that
/// ends in CR or LF (the parser takes those for the line end).
pub fn format_dos_line(entry: &Entry) -> Vec<u8> {
    let (year, month, day, hour, minute, _) = civil_from_epoch(entry.modified.unwrap_or(0));
    let (hour12, meridiem) = match hour {
        0 => (12, "AM"),
        1..=11 => (hour, "AM"),
        12 => (12, "PM"),
        _ => (hour - 12, "PM"),
    };
    let mut line = format!("{month:02}-{day:02}-{year:04}  {hour12:02}:{minute:02}{meridiem}").into_bytes();
    match entry.kind {
        EntryKind::Dir | EntryKind::CurrentDir | EntryKind::ParentDir => {
            line.extend_from_slice(b"       <DIR>          ");
        }
        EntryKind::Link => line.extend_from_slice(b"       <SYMLINK>      "),
        EntryKind::File | EntryKind::Other | EntryKind::Unknown => {
            line.extend_from_slice(format!("{:>21} ", entry.size.unwrap_or(0)).as_bytes());
        }
    }
    line.extend_from_slice(&entry.name);
    if let (EntryKind::Link, Some(target)) = (entry.kind, &entry.link_target) {
        line.extend_from_slice(b" [");
        line.extend_from_slice(target);
        line.push(b']');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::super::parse_list_line;
    use super::*;
    use proptest::prelude::*;

    fn at(y: i64, mo: u32, d: u32, h: u32, mi: u32) -> Option<i64> {
        Some(epoch_from_civil(y, mo, d, h, mi, 0).expect("valid test date"))
    }

    fn parse(line: &[u8]) -> Entry {
        let entry = parse_list_line(line, 0).expect("an entry");
        assert_eq!(entry.format, ListFormat::Dos, "{}", String::from_utf8_lossy(line));
        assert_eq!(entry.raw, line);
        assert_eq!((entry.permissions.as_ref(), entry.mode, entry.owner.as_ref()), (None, None, None));
        entry
    }

    #[test]
    #[rustfmt::skip]
    fn real_world_lines() {
        type Row = (&'static [u8], &'static [u8], EntryKind, Option<u64>, Option<i64>);
        let table: [Row; 15] = [
            (b"01-16-24  02:12PM       <DIR>          Documents", b"Documents", EntryKind::Dir, None, at(2024, 1, 16, 14, 12)),
            (b"01-16-2024  14:12       <DIR>          Documents 2024", b"Documents 2024", EntryKind::Dir, None, at(2024, 1, 16, 14, 12)),
            (b"12-31-99  11:59AM                 1234 file name.txt", b"file name.txt", EntryKind::File, Some(1234), at(1999, 12, 31, 11, 59)),
            (b"04-27-00  09:09PM                    1 a", b"a", EntryKind::File, Some(1), at(2000, 4, 27, 21, 9)),
            // Noon and midnight in 12-hour notation.
            (b"04-27-00  12:09PM       <DIR>          licensed", b"licensed", EntryKind::Dir, None, at(2000, 4, 27, 12, 9)),
            (b"07-18-00  12:16AM       <DIR>          pub", b"pub", EntryKind::Dir, None, at(2000, 7, 18, 0, 16)),
            (b"04-14-00  03:47PM                  589 readme.htm", b"readme.htm", EntryKind::File, Some(589), at(2000, 4, 14, 15, 47)),
            // Year pivot: 69 -> 2069, 70 -> 1970.
            (b"01-01-70  12:00AM                    0 epoch", b"epoch", EntryKind::File, Some(0), Some(0)),
            (b"12-31-69  11:59PM                    0 pivot", b"pivot", EntryKind::File, Some(0), at(2069, 12, 31, 23, 59)),
            // ISO dates and grouped sizes (FileZilla's DOS samples).
            (b"2002-09-02  18:48       <DIR>          DOS dir 2", b"DOS dir 2", EntryKind::Dir, None, at(2002, 9, 2, 18, 48)),
            (b"2002-09-02  19:06                9,730 DOS file 2", b"DOS file 2", EntryKind::File, Some(9730), at(2002, 9, 2, 19, 6)),
            // Windows `dir` style: slashes, separate AM/PM, grouped size.
            (b"01/16/2024  02:12 PM         1,234,567 setup.exe", b"setup.exe", EntryKind::File, Some(1_234_567), at(2024, 1, 16, 14, 12)),
            // Compact spacing as written by small embedded servers.
            (b"11-25-2026 10:00AM 5 x.txt", b"x.txt", EntryKind::File, Some(5), at(2026, 11, 25, 10, 0)),
            (b"10-23-21  07:06AM       <DIR>          .", b".", EntryKind::CurrentDir, None, at(2021, 10, 23, 7, 6)),
            (b"10-23-21  07:06AM       <DIR>          ..", b"..", EntryKind::ParentDir, None, at(2021, 10, 23, 7, 6)),
        ];
        for (line, name, kind, size, modified) in table {
            let entry = parse(line);
            let shown = String::from_utf8_lossy(line);
            assert_eq!(entry.name, name, "{shown}");
            assert_eq!(entry.kind, kind, "{shown}");
            assert_eq!(entry.size, size, "{shown}");
            assert_eq!(entry.modified, modified, "{shown}");
            assert_eq!(entry.link_target, None, "{shown}");
        }
    }

    #[test]
    fn junctions_and_symlinks_carry_targets() {
        let entry = parse(b"01/16/2024  02:12 PM    <JUNCTION>     Application Data [C:\\Users\\a\\AppData\\Roaming]");
        assert_eq!(entry.kind, EntryKind::Link);
        assert_eq!(entry.name, b"Application Data");
        assert_eq!(entry.link_target.as_deref(), Some(&b"C:\\Users\\a\\AppData\\Roaming"[..]));
        let entry = parse(b"01/16/2024  02:12 PM    <SYMLINKD>     plain");
        assert_eq!((entry.kind, entry.name.as_slice(), entry.link_target), (EntryKind::Link, &b"plain"[..], None));
    }

    #[test]
    fn leading_spaces_in_names() {
        let entry = parse(b"01-16-24  02:12PM                    7  spaced file");
        assert_eq!(entry.name, b" spaced file");
        let entry = parse(b"01-16-24  02:12PM       <DIR>            spaced dir");
        assert_eq!(entry.name, b"  spaced dir");
        // Fewer than ten spaces after <DIR>: not the IIS layout, all are separators.
        let entry = parse(b"01-16-24  02:12PM <DIR>  compact dir");
        assert_eq!(entry.name, b"compact dir");
    }

    #[test]
    fn non_utf8_names_are_byte_exact() {
        let entry = parse(b"01-16-24  02:12PM                    3 r\xe9sum\xe9 \x81\xfe.doc");
        assert_eq!(entry.name, b"r\xe9sum\xe9 \x81\xfe.doc");
    }

    #[test]
    fn sizes_at_and_beyond_u64() {
        let entry = parse(b"01-16-24  02:12PM 18446744073709551615 max");
        assert_eq!(entry.size, Some(u64::MAX));
        let entry = parse(b"01-16-24  02:12PM 18,446,744,073,709,551,615 max");
        assert_eq!(entry.size, Some(u64::MAX));
        let entry = parse(b"01-16-24  02:12PM 99999999999999999999 huge");
        assert_eq!((entry.size, entry.name.as_slice(), entry.kind), (None, &b"huge"[..], EntryKind::File));
        // A grouped size that overflows is not a size column.
        let line = b"01-16-24  02:12PM 99,999,999,999,999,999,999 huge";
        assert_eq!(parse_list_line(line, 0).unwrap().format, ListFormat::Unparsed);
    }

    #[test]
    fn impossible_dates_keep_the_entry_without_a_time() {
        let entry = parse(b"02-29-23  10:00AM                    1 not-leap");
        assert_eq!((entry.modified, entry.size), (None, Some(1)));
        let entry = parse(b"02-29-24  10:00AM                    1 leap");
        assert_eq!(entry.modified, at(2024, 2, 29, 10, 0));
    }

    #[test]
    fn malformed_lines_are_unparsed() {
        for line in [
            &b"13-01-24  02:12PM       <DIR>          month13"[..],
            b"01-32-24  02:12PM       <DIR>          day32",
            b"01-16-24  13:12PM       <DIR>          hour13pm",
            b"01-16-24  00:12AM       <DIR>          hour0am",
            b"01-16-24  24:00       <DIR>          hour24",
            b"01-16-24  10:60       <DIR>          minute60",
            b"01-16-24  02:12PM       <FILE>         marker",
            b"01-16-24  02:12PM       1,23           badgroup",
            b"01-16-24  02:12PM       1.5            decimal",
            b"01-16-24  02:12PM       <DIR>",
            b"01-16-24  02:12PM       12",
            b"01-16-24",
            b"01-16-103  10:57  os2-year",
            b"36611      A    04-23-103  10:57  os2",
            b"01-16.24  02:12PM       <DIR>          mixed-separators",
        ] {
            let entry = parse_list_line(line, 0).expect("kept");
            assert_eq!(entry.format, ListFormat::Unparsed, "{}", String::from_utf8_lossy(line));
            assert_eq!(entry.name, line);
        }
    }

    #[test]
    fn formatter_writes_iis_layout() {
        let file = Entry {
            name: b"file name.txt".to_vec(),
            kind: EntryKind::File,
            size: Some(1234),
            modified: at(1999, 12, 31, 11, 59),
            ..Entry::default()
        };
        assert_eq!(
            String::from_utf8(format_dos_line(&file)).unwrap(),
            "12-31-1999  11:59AM                 1234 file name.txt"
        );
        let dir = Entry {
            name: b"Documents".to_vec(),
            kind: EntryKind::Dir,
            modified: at(2024, 1, 16, 14, 12),
            ..Entry::default()
        };
        assert_eq!(
            String::from_utf8(format_dos_line(&dir)).unwrap(),
            "01-16-2024  02:12PM       <DIR>          Documents"
        );
    }

    proptest! {
        #[test]
        fn dos_lines_round_trip(
            name in proptest::collection::vec(
                any::<u8>().prop_filter("no CR/LF/NUL", |b| !matches!(b, b'\r' | b'\n' | 0)),
                1..40,
            ),
            kind in prop_oneof![Just(EntryKind::File), Just(EntryKind::Dir)],
            size in any::<u64>(),
            modified in -62_167_219_200i64..253_402_300_800,
        ) {
            let entry = Entry {
                name: name.clone(),
                kind,
                size: (kind == EntryKind::File).then_some(size),
                modified: Some(modified),
                ..Entry::default()
            };
            let line = format_dos_line(&entry);
            let parsed = parse_list_line(&line, 0).expect("an entry");
            prop_assert_eq!(parsed.format, ListFormat::Dos);
            prop_assert_eq!(&parsed.name, &name);
            prop_assert_eq!(parsed.kind, kind_for_name(&name, kind));
            prop_assert_eq!(parsed.size, entry.size);
            prop_assert_eq!(parsed.modified, Some(modified - modified.rem_euclid(60)));
        }

        #[test]
        fn parse_dos_line_never_panics(
            date in "[0-9]{1,4}[-/.][0-9]{1,4}[-/.][0-9]{1,4}",
            rest in proptest::collection::vec(any::<u8>(), 0..60),
        ) {
            let mut line = date.into_bytes();
            line.extend_from_slice(&rest);
            let _ = parse_dos_line(&line);
        }
    }
}
