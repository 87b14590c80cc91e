//! parse_list_line on an arbitrary line with an arbitrary `now`.
//! Input: 8 bytes of `now` (i64, little-endian), then the line.
//! Checks: never panics; an entry's raw text is the line without its line end; its name
//! is non-empty and taken from the line (the whole line when unparsed); Unix and DOS
//! entries written back by their formatter (`format_unix_line` with the same `now`,
//! `format_dos_line`) parse again to the same name, kind, size, link target and time,
//! within the limits the formatters document.
#![no_main]

use ftpc::proto::listing::{
    civil_from_epoch, format_dos_line, format_unix_line, parse_list_line, Entry, EntryKind, ListFormat,
};
use libfuzzer_sys::fuzz_target;

const DAY: i64 = 86_400;
const LS_RECENT_SPAN: i64 = 31_556_952 / 2;
const GRACE: i64 = 31 * DAY;

fn strip_line_ending(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r' | b'\n'] = line {
        line = rest;
    }
    line
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// A name or target ending in CR or LF cannot be written at the end of a line: the parser
/// takes those bytes for the line end (both formatters document it).
fn ends_in_line_end(bytes: &[u8]) -> bool {
    matches!(bytes.last(), Some(b'\r' | b'\n'))
}

fn representable(t: i64) -> bool {
    (0..=9999).contains(&civil_from_epoch(t).0)
}

/// An owner or group that could be read as part of a date ("Jan", "2024-12-16", "14:12"):
/// after the link count the formatter writes, it would be taken for the date. The
/// formatter documents that it needs owner and group names that are not.
fn date_like(name: &[u8]) -> bool {
    const MONTHS: [&[u8]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
    ];
    let lower = name.to_ascii_lowercase();
    MONTHS.contains(&&lower[..])
        || name.contains(&b':')
        || (name.first().is_some_and(u8::is_ascii_digit) && name.iter().any(|&b| b == b'-' || b == b'/'))
}

fn unix_round_trip(entry: &Entry, now: i64) {
    // The formatter's documented limits: no leading space, no " -> " in the name, owner and
    // group without spaces, a year of four digits.
    if entry.name.first() == Some(&b' ') || contains(&entry.name, b" -> ") || entry.name.ends_with(b" ->") {
        return;
    }
    if ends_in_line_end(&entry.name) || entry.link_target.as_deref().is_some_and(ends_in_line_end) {
        return;
    }
    let account_ok = |a: &Option<Vec<u8>>| a.as_ref().is_none_or(|a| !a.contains(&b' ') && !date_like(a));
    if !account_ok(&entry.owner) || !account_ok(&entry.group) {
        return;
    }
    // Every year the formatter might write, and the yearless window around `now`.
    let window_ok = now.checked_sub(400 * DAY).is_some_and(representable)
        && now.checked_add(400 * DAY).is_some_and(representable);
    if !entry.modified.is_none_or(representable) || !window_ok {
        return;
    }
    let line = format_unix_line(entry, now);
    let again = parse_list_line(&line, now).expect("a formatted Unix line is an entry");
    let show = String::from_utf8_lossy(&line);
    assert_eq!(again.format, ListFormat::Unix, "{show}");
    assert_eq!(again.name, entry.name, "{show}");
    assert_eq!(again.kind, entry.kind, "{show}");
    assert_eq!(again.size, Some(entry.size.unwrap_or(0)), "{show}");
    assert_eq!(again.mode, entry.mode, "{show}");
    if entry.kind == EntryKind::Link {
        assert_eq!(again.link_target, entry.link_target, "{show}");
    }
    if let Some(t) = entry.modified {
        let recent = t > now - LS_RECENT_SPAN && t <= now + GRACE;
        let precision = if recent { 60 } else { DAY };
        assert_eq!(again.modified, Some(t - t.rem_euclid(precision)), "{show}");
    }
}

fn dos_round_trip(entry: &Entry, now: i64) {
    if entry.kind == EntryKind::Link
        || !entry.modified.is_none_or(representable)
        || ends_in_line_end(&entry.name)
    {
        return;
    }
    let line = format_dos_line(entry);
    let again = parse_list_line(&line, now).expect("a formatted DOS line is an entry");
    let show = String::from_utf8_lossy(&line);
    assert_eq!(again.format, ListFormat::Dos, "{show}");
    assert_eq!(again.name, entry.name, "{show}");
    assert_eq!(again.kind, entry.kind, "{show}");
    // "." and ".." are written as directories whatever their line said: no size then.
    if !matches!(entry.kind, EntryKind::CurrentDir | EntryKind::ParentDir) {
        assert_eq!(
            again.size,
            entry.size.or((entry.kind == EntryKind::File).then_some(0)),
            "{show}"
        );
    }
    let t = entry.modified.unwrap_or(0);
    assert_eq!(again.modified, Some(t - t.rem_euclid(60)), "{show}");
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 8 {
        return;
    }
    let (now, line) = input.split_at(8);
    let now = i64::from_le_bytes(now.try_into().unwrap());
    let Some(entry) = parse_list_line(line, now) else {
        assert!(
            strip_line_ending(line).iter().all(u8::is_ascii_whitespace)
                || contains(&line.to_ascii_lowercase(), b"total"),
            "a line dropped as a header: {:?}",
            String::from_utf8_lossy(line)
        );
        return;
    };
    assert_eq!(entry.raw, strip_line_ending(line));
    assert!(!entry.name.is_empty());
    assert!(contains(&entry.raw, &entry.name), "the name is not in the line");
    if let Some(target) = &entry.link_target {
        assert!(!target.is_empty() && contains(&entry.raw, target));
    }
    assert!(entry.facts.is_empty());
    match entry.format {
        ListFormat::Unparsed => {
            assert_eq!(entry.name, entry.raw);
            assert_eq!(entry.kind, EntryKind::Unknown);
        }
        ListFormat::Unix => {
            let mode = entry
                .permissions
                .as_ref()
                .expect("a Unix entry has its mode string");
            assert_eq!(mode.len(), 10, "{mode}");
            assert!(entry.mode.is_some_and(|m| m <= 0o7777));
            unix_round_trip(&entry, now);
        }
        ListFormat::Dos => dos_round_trip(&entry, now),
        ListFormat::Mlsd => panic!("LIST gave an MLSD entry"),
    }
});
