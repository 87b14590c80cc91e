//! Parsers (and matching formatters) for FTP directory listings.
//!
//! Everything works on bytes: file names are whatever the server sent and
//! come back byte-exact, with no UTF-8 assumption. The parsers are total:
//! any input yields a value (or a [`ListingError`] for MLSD), never a panic.
//!
//! * [`parse_mlsd_line`]: machine-readable RFC 3659 MLSD/MLST facts.
//! * [`parse_list_line`]: human-readable LIST output, trying the Unix `ls -l`
//!   layout, then the DOS/IIS layout; anything else is kept as an
//!   [`ListFormat::Unparsed`] entry so no line is ever silently dropped.

mod dos;
mod mlsd;
mod time;
mod unix;

use std::fmt;

pub use dos::format_dos_line;
pub use mlsd::{format_mlsd_entry, format_mlsd_line, parse_mlsd_line, parse_mlst_reply};
pub use time::{civil_from_epoch, epoch_from_civil, format_time_val, parse_time_val};
pub use unix::format_unix_line;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Link,
    /// The listed directory itself (MLSD `type=cdir`, or a LIST line named ".").
    CurrentDir,
    /// Its parent (MLSD `type=pdir`, or a LIST line named "..").
    ParentDir,
    /// Devices, FIFOs, sockets, unknown MLSD types.
    Other,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    Mlsd,
    Unix,
    Dos,
    Unparsed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: Vec<u8>,
    pub kind: EntryKind,
    /// Unix "name -> target"; MLSD `type=OS.unix=slink:target`.
    pub link_target: Option<Vec<u8>>,
    pub size: Option<u64>,
    /// Seconds since the Unix epoch, UTC. LIST dates carry no time zone and
    /// are taken as UTC; MLSD times are UTC by definition.
    pub modified: Option<i64>,
    /// Unix LIST: the 10-char mode string ("-rw-r--r--", without any ACL
    /// marker). MLSD: the `unix.mode` fact if present, else `perm`. DOS: None.
    pub permissions: Option<String>,
    /// Permission bits (including setuid/setgid/sticky, no file-type bits).
    pub mode: Option<u32>,
    /// MLSD `unique` fact.
    pub unique: Option<Vec<u8>>,
    pub owner: Option<Vec<u8>>,
    pub group: Option<Vec<u8>>,
    /// MLSD: every fact in order, names lower-cased, values as sent.
    /// Empty for LIST formats.
    pub facts: Vec<(String, Vec<u8>)>,
    /// The line as received, without its CR/LF.
    pub raw: Vec<u8>,
    pub format: ListFormat,
}

impl Default for Entry {
    /// An empty, unparsed entry: a base for `Entry { name, kind, ..Default::default() }`.
    fn default() -> Self {
        Entry {
            name: Vec::new(),
            kind: EntryKind::Unknown,
            link_target: None,
            size: None,
            modified: None,
            permissions: None,
            mode: None,
            unique: None,
            owner: None,
            group: None,
            facts: Vec::new(),
            raw: Vec::new(),
            format: ListFormat::Unparsed,
        }
    }
}

/// An owned copy with room for one more byte, so that the C layer can NUL-terminate the
/// fields of a listing in place instead of reallocating each one.
pub(crate) fn owned(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes.len() + 1);
    v.extend_from_slice(bytes);
    v
}

impl Entry {
    /// A line no parser understood: kept whole as the name so callers can
    /// still show it.
    fn unparsed(line: &[u8]) -> Entry {
        Entry { name: owned(line), raw: owned(line), ..Entry::default() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingError {
    pub message: String,
}

impl ListingError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ListingError { message: message.into() }
    }
}

impl fmt::Display for ListingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ListingError {}

/// Parses one line of LIST output.
///
/// `now` (epoch seconds, UTC) resolves Unix dates printed without a year
/// ("Mon DD HH:MM"): the date is placed in the latest year that puts it no
/// more than 31 days after `now`, i.e. within (now - ~11 months, now + 1 month].
///
/// Returns `None` only for lines that are not entries: blank lines and the
/// "total N" header. Lines in no recognised layout come back as an entry
/// with format [`ListFormat::Unparsed`], kind [`EntryKind::Unknown`] and the
/// whole line as its name.
pub fn parse_list_line(line: &[u8], now: i64) -> Option<Entry> {
    let line = strip_line_ending(line);
    if line.iter().all(u8::is_ascii_whitespace) || is_total_line(line) {
        return None;
    }
    let entry =
        unix::parse_unix_line(line, now).or_else(|| dos::parse_dos_line(line)).unwrap_or_else(|| Entry::unparsed(line));
    Some(entry)
}

/// Removes the CR/LF terminator (and any stray extra CRs) a line may still carry.
pub(crate) fn strip_line_ending(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r' | b'\n'] = line {
        line = rest;
    }
    line
}

/// "total 1234" (also "total 12K", "Total 0"): the block count `ls` prints first.
fn is_total_line(line: &[u8]) -> bool {
    let trimmed = skip_spaces(line);
    let Some(after_word) =
        trimmed.get(..5).filter(|word| word.eq_ignore_ascii_case(b"total")).and_then(|_| trimmed.get(5..))
    else {
        return false;
    };
    let count = skip_spaces(after_word);
    if count.len() == after_word.len() {
        return false; // "totally" is a name, not a header.
    }
    let count = trim_trailing_spaces(count);
    count.first().is_some_and(u8::is_ascii_digit)
        && count.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b',')
}

pub(crate) fn skip_spaces(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != b' ').unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

fn trim_trailing_spaces(mut bytes: &[u8]) -> &[u8] {
    while let [rest @ .., b' '] = bytes {
        bytes = rest;
    }
    bytes
}

/// A space-separated field of a LIST line, by byte range so the text after
/// it (the file name) can be taken verbatim from the original line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub start: usize,
    pub end: usize,
}

/// Splits on runs of spaces. Only spaces separate: tabs and other bytes may
/// be part of names.
pub(crate) fn split_fields(line: &[u8]) -> Vec<Field> {
    let mut fields = Vec::new();
    let mut start = None;
    for (index, &byte) in line.iter().enumerate() {
        match (byte == b' ', start) {
            (true, Some(field_start)) => {
                fields.push(Field { start: field_start, end: index });
                start = None;
            }
            (false, None) => start = Some(index),
            _ => {}
        }
    }
    if let Some(field_start) = start {
        fields.push(Field { start: field_start, end: line.len() });
    }
    fields
}

pub(crate) fn field_bytes(line: &[u8], field: Field) -> &[u8] {
    line.get(field.start..field.end).unwrap_or_default()
}

pub(crate) fn all_digits(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit)
}

/// Decimal digits -> u64; `None` on anything else, including overflow.
pub(crate) fn parse_decimal_u64(bytes: &[u8]) -> Option<u64> {
    if !all_digits(bytes) {
        return None;
    }
    bytes.iter().try_fold(0u64, |acc, &b| acc.checked_mul(10)?.checked_add(u64::from(b - b'0')))
}

/// A small decimal field (day, hour, ...) of at most `max_len` digits.
pub(crate) fn parse_small_number(bytes: &[u8], max_len: usize) -> Option<u32> {
    if bytes.len() > max_len.min(9) || !all_digits(bytes) {
        return None;
    }
    Some(bytes.iter().fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0')))
}

/// LIST formats mark the directory itself and its parent only by name.
pub(crate) fn kind_for_name(name: &[u8], kind: EntryKind) -> EntryKind {
    match name {
        b"." => EntryKind::CurrentDir,
        b".." => EntryKind::ParentDir,
        _ => kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> i64 {
        epoch_from_civil(2026, 11, 25, 12, 0, 0).unwrap()
    }

    #[test]
    fn headers_and_blank_lines_are_not_entries() {
        for line in
            [&b""[..], b"\r\n", b"   ", b" \t ", b"total 1234", b"total 0\r\n", b"Total 12K", b"  total 1,024  "]
        {
            assert_eq!(parse_list_line(line, now()), None, "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn total_like_names_are_not_headers() {
        for line in [&b"totally"[..], b"total", b"total x y", b"total 12 files"] {
            let entry = parse_list_line(line, now()).unwrap();
            assert_eq!(entry.format, ListFormat::Unparsed);
            assert_eq!(entry.name, line);
        }
    }

    #[test]
    fn unknown_lines_are_kept_whole() {
        let line = b"+i8388621.48594,m825718503,r,s280,\tdjb.html\r\n";
        let entry = parse_list_line(line, now()).unwrap();
        assert_eq!(
            entry,
            Entry {
                name: b"+i8388621.48594,m825718503,r,s280,\tdjb.html".to_vec(),
                raw: b"+i8388621.48594,m825718503,r,s280,\tdjb.html".to_vec(),
                kind: EntryKind::Unknown,
                format: ListFormat::Unparsed,
                ..Entry::default()
            }
        );
    }

    #[test]
    fn line_endings_are_stripped_from_raw() {
        let entry = parse_list_line(b"-rw-r--r--   1 u g 3 Jan 02  2020 a.txt\r\n", now()).unwrap();
        assert_eq!(entry.raw, b"-rw-r--r--   1 u g 3 Jan 02  2020 a.txt");
        assert_eq!(entry.name, b"a.txt");
    }

    #[test]
    fn dispatch_picks_the_matching_format() {
        let unix = parse_list_line(b"-rw-r--r-- 1 u g 3 Jan 02 2020 a", now()).unwrap();
        let dos = parse_list_line(b"01-02-20  10:00AM   3 a", now()).unwrap();
        let other = parse_list_line(b"type=file; a", now()).unwrap();
        assert_eq!(unix.format, ListFormat::Unix);
        assert_eq!(dos.format, ListFormat::Dos);
        assert_eq!(other.format, ListFormat::Unparsed);
        assert_eq!(unix.modified, dos.modified.map(|t| t - 10 * 3600));
    }

    #[test]
    fn field_splitting_keeps_offsets() {
        let line = b"  ab  c d ";
        let fields: Vec<(usize, usize)> = split_fields(line).into_iter().map(|f| (f.start, f.end)).collect();
        assert_eq!(fields, vec![(2, 4), (6, 7), (8, 9)]);
    }

    #[test]
    fn decimal_parsing_rejects_overflow() {
        assert_eq!(parse_decimal_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal_u64(b"18446744073709551616"), None);
        assert_eq!(parse_decimal_u64(b"99999999999999999999"), None);
        assert_eq!(parse_decimal_u64(b""), None);
        assert_eq!(parse_decimal_u64(b"12a"), None);
        assert_eq!(parse_decimal_u64(b"-1"), None);
    }

    #[test]
    fn listing_error_displays_its_message() {
        let error = ListingError::new("bad line");
        assert_eq!(error.to_string(), "bad line");
        let boxed: Box<dyn std::error::Error> = Box::new(error);
        assert_eq!(boxed.to_string(), "bad line");
    }

    proptest! {
        // Cheap to run, and these are the fuzz-style guards: give them more cases.
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn parse_list_line_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            now in any::<i64>(),
        ) {
            if let Some(entry) = parse_list_line(&bytes, now) {
                prop_assert!(!entry.name.is_empty());
                prop_assert_eq!(&entry.raw[..], strip_line_ending(&bytes));
            }
        }

        /// Arbitrary bytes rarely look like listings; this feeds the parsers
        /// lines assembled from listing-like pieces to reach deeper paths.
        #[test]
        fn parse_list_line_never_panics_on_listing_like_lines(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just("-rw-r--r--".to_string()), Just("drwxrwsr-t+".to_string()),
                    Just("lrwxrwxrwx".to_string()), Just("crw-rw----".to_string()),
                    Just("Jan".to_string()), Just("feb".to_string()), Just("DEC".to_string()),
                    Just("1,".to_string()), Just("1,3".to_string()), Just("->".to_string()),
                    Just("<DIR>".to_string()), Just("<JUNCTION>".to_string()),
                    Just("AM".to_string()), Just("PM".to_string()), Just("12:00PM".to_string()),
                    Just("99999999999999999999".to_string()), Just("18446744073709551615".to_string()),
                    Just("+0100".to_string()), Just("-2359".to_string()), Just("[x]".to_string()),
                    "[0-9]{1,5}", "[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,9})?)?",
                    "[0-9]{1,4}[-/][0-9]{1,2}[-/][0-9]{1,4}", "[0-9]{1,3}(,[0-9]{3}){0,3},?",
                    "[a-z]{1,6}", "\\PC{0,4}",
                ],
                0..12,
            ),
            separators in proptest::collection::vec(1usize..4, 12),
            now in any::<i64>(),
        ) {
            let mut line = String::new();
            for (piece, spaces) in pieces.iter().zip(&separators) {
                line.push_str(piece);
                line.push_str(&" ".repeat(*spaces));
            }
            let line = line.trim_end();
            if let Some(entry) = parse_list_line(line.as_bytes(), now) {
                prop_assert!(!entry.name.is_empty());
            }
        }
    }
}
