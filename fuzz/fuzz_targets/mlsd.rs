//! parse_mlsd_line on arbitrary bytes (an MLSD line, or an MLST fact line).
//! Checks: an accepted line has a non-empty name that ends its raw text, which is the input
//! without its line end; formatting the entry back (`format_mlsd_entry`, from its facts)
//! and parsing again gives the same name, facts and typed fields; formatting it from its
//! typed fields alone (no facts) and parsing again keeps kind, link target, size, time,
//! mode, owner, group and unique; a `modify` time survives format_time_val/parse_time_val.
#![no_main]

use ftpc::proto::listing::{format_mlsd_entry, format_time_val, parse_mlsd_line, parse_time_val, Entry, ListFormat};
use libfuzzer_sys::fuzz_target;

fn strip_line_ending(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r' | b'\n'] = line {
        line = rest;
    }
    line
}

fn check_time(value: &[u8]) {
    if let Some(t) = parse_time_val(value) {
        let text = format_time_val(t).expect("a parsed time-val has a 4-digit year");
        assert_eq!(
            parse_time_val(text.as_bytes()),
            Some(t),
            "{}",
            String::from_utf8_lossy(value)
        );
    }
}

fuzz_target!(|data: &[u8]| {
    check_time(data);
    let Ok(entry) = parse_mlsd_line(data) else { return };
    assert_eq!(entry.format, ListFormat::Mlsd);
    assert!(!entry.name.is_empty());
    assert_eq!(entry.raw, strip_line_ending(data));
    assert!(entry.raw.ends_with(&entry.name));
    for (name, value) in &entry.facts {
        assert!(
            !name.is_empty() && !name.contains(['=', ';', ' ']),
            "fact name {name:?}"
        );
        assert!(
            !value.contains(&b';') && !value.contains(&b' '),
            "fact value {value:?}"
        );
        assert_eq!(name.to_ascii_lowercase(), *name);
    }
    if let Some((_, modify)) = entry.facts.iter().find(|(n, _)| n == "modify") {
        check_time(modify);
    }

    // From the facts, verbatim.
    let line = format_mlsd_entry(&entry);
    let again =
        parse_mlsd_line(&line).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&line)));
    assert_eq!(again.raw, line);
    assert_eq!(
        Entry {
            raw: entry.raw.clone(),
            ..again
        },
        entry,
        "facts round trip"
    );

    // From the typed fields alone.
    let fields = Entry {
        facts: Vec::new(),
        ..entry.clone()
    };
    let line = format_mlsd_entry(&fields);
    let again =
        parse_mlsd_line(&line).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&line)));
    assert_eq!(again.name, entry.name);
    assert_eq!(again.kind, entry.kind);
    assert_eq!(again.link_target, entry.link_target);
    assert_eq!(again.size, entry.size);
    assert_eq!(again.modified, entry.modified);
    assert_eq!(again.mode, entry.mode);
    assert_eq!(again.owner, entry.owner);
    assert_eq!(again.group, entry.group);
    assert_eq!(again.unique, entry.unique);
    if entry.mode.is_none() {
        assert_eq!(again.permissions, entry.permissions);
    }
});
