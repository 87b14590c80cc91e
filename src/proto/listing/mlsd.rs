//! RFC 3659 machine listings (MLSD lines, and the fact lines of an MLST
//! reply): `fact=value;fact=value; pathname`.

use super::time::{format_time_val, parse_time_val};
use super::{owned, parse_decimal_u64, strip_line_ending, Entry, EntryKind, ListFormat, ListingError};

/// The entry of an MLST reply (RFC 3659 §7.2): its facts are on the one line that starts
/// with a space, between the first line and the last; `text` is the reply's text, lines
/// joined by LF.
pub fn parse_mlst_reply(text: &[u8]) -> Result<Entry, ListingError> {
    let fact_line = text.split(|&b| b == b'\n').find(|l| l.first() == Some(&b' '));
    let fact_line = fact_line.ok_or_else(|| ListingError::new("MLST reply without a fact line"))?;
    parse_mlsd_line(&fact_line[1..])
}

/// Parses one MLSD line (or one MLST fact line *after* removing the single
/// leading space the MLST reply puts in front of it).
///
/// The facts run up to the first space; the pathname is everything after
/// that space, byte-exact (it may contain spaces, `;` and `=`, and may start
/// with further spaces). A line that starts with a space carries no facts.
///
/// Fact names are case-insensitive and stored lower-cased; values are kept
/// as sent. When a fact repeats, the first occurrence feeds the typed fields.
/// Empty fact segments (";;") and a missing final ';' are tolerated.
///
/// Errors: no space (so no pathname), an empty pathname, a fact without
/// `=` or with an empty name.
pub fn parse_mlsd_line(line: &[u8]) -> Result<Entry, ListingError> {
    let line = strip_line_ending(line);
    let separator = line
        .iter()
        .position(|&b| b == b' ')
        .ok_or_else(|| ListingError::new("MLSD line has no space before the pathname"))?;
    let (facts_text, space_and_name) = line.split_at(separator);
    let name = space_and_name.get(1..).unwrap_or_default();
    if name.is_empty() {
        return Err(ListingError::new("MLSD line has an empty pathname"));
    }

    let mut facts = Vec::with_capacity(facts_text.iter().filter(|&&b| b == b';').count() + 1);
    for fact in facts_text.split(|&b| b == b';').filter(|f| !f.is_empty()) {
        let equals = fact
            .iter()
            .position(|&b| b == b'=')
            .ok_or_else(|| ListingError::new(format!("MLSD fact without '=': {}", String::from_utf8_lossy(fact))))?;
        let (fact_name, equals_and_value) = fact.split_at(equals);
        if fact_name.is_empty() {
            return Err(ListingError::new("MLSD fact with an empty name"));
        }
        let value = equals_and_value.get(1..).unwrap_or_default();
        // Fact names are ASCII tokens; a lossy conversion only affects
        // invalid ones, which no typed field looks at.
        let mut lower = owned(fact_name);
        lower.make_ascii_lowercase();
        let fact_name = String::from_utf8(lower).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        facts.push((fact_name, owned(value)));
    }

    let mut entry = Entry { name: owned(name), raw: owned(line), format: ListFormat::Mlsd, ..Entry::default() };
    apply_facts(&mut entry, &facts);
    entry.facts = facts;
    Ok(entry)
}

fn first_fact<'a>(facts: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    facts.iter().find(|(fact_name, _)| fact_name == name).map(|(_, value)| value.as_slice())
}

/// Fills the typed fields of `entry` from its facts.
fn apply_facts(entry: &mut Entry, facts: &[(String, Vec<u8>)]) {
    let fact = |name: &str| first_fact(facts, name);

    if let Some(type_value) = fact("type") {
        let (kind, link_target) = parse_type_fact(type_value);
        entry.kind = kind;
        entry.link_target = link_target.map(owned);
    }
    entry.size = fact("size").and_then(parse_decimal_u64).or_else(|| fact("sizd").and_then(parse_decimal_u64));
    entry.modified = fact("modify").and_then(parse_time_val);
    entry.unique = fact("unique").map(owned);

    let unix_mode = fact("unix.mode");
    entry.mode = unix_mode.and_then(parse_octal_mode);
    entry.permissions = unix_mode.or_else(|| fact("perm")).map(|value| {
        String::from_utf8(owned(value)).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    });

    // Names beat numeric ids. ProFTPD sends unix.ownername/unix.groupname
    // next to numeric unix.owner/unix.group; Pure-FTPd sends unix.uid/gid.
    entry.owner =
        fact("unix.ownername").or_else(|| fact("unix.owner")).or_else(|| fact("unix.uid")).map(<[u8]>::to_vec);
    entry.group =
        fact("unix.groupname").or_else(|| fact("unix.group")).or_else(|| fact("unix.gid")).map(<[u8]>::to_vec);
}

/// `type` fact value -> kind, plus the target of `OS.unix=slink:target`.
fn parse_type_fact(value: &[u8]) -> (EntryKind, Option<&[u8]>) {
    let simple = [
        (&b"file"[..], EntryKind::File),
        (b"dir", EntryKind::Dir),
        (b"cdir", EntryKind::CurrentDir),
        (b"pdir", EntryKind::ParentDir),
    ];
    if let Some(&(_, kind)) = simple.iter().find(|(text, _)| text.eq_ignore_ascii_case(value)) {
        return (kind, None);
    }
    for prefix in [&b"os.unix=slink"[..], b"os.unix=symlink"] {
        let Some((head, rest)) = value.get(..prefix.len()).zip(value.get(prefix.len()..)) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(prefix) {
            continue;
        }
        match rest {
            [] => return (EntryKind::Link, None),
            [b':', target @ ..] => {
                return (EntryKind::Link, (!target.is_empty()).then_some(target));
            }
            _ => {}
        }
    }
    (EntryKind::Other, None)
}

/// `unix.mode` ("0644", "755", "04755") -> permission bits. A full st_mode
/// ("0100644") is masked down to its permission bits.
fn parse_octal_mode(value: &[u8]) -> Option<u32> {
    if value.is_empty() {
        return None;
    }
    let mode = value.iter().try_fold(0u32, |acc, &b| match b {
        b'0'..=b'7' => acc.checked_mul(8)?.checked_add(u32::from(b - b'0')),
        _ => None,
    })?;
    Some(mode & 0o7777)
}

/// Writes an MLSD line: each fact as `name=value;`, one space, the pathname.
///
/// The inverse of [`parse_mlsd_line`] as long as fact names are non-empty
/// and contain no `=` or `;`, values contain no `;` or space, and nothing
/// contains CR or LF. Fact names are written as given.
pub fn format_mlsd_line<F: AsRef<str>, V: AsRef<[u8]>>(facts: &[(F, V)], name: &[u8]) -> Vec<u8> {
    let mut line = Vec::new();
    for (fact_name, value) in facts {
        line.extend_from_slice(fact_name.as_ref().as_bytes());
        line.push(b'=');
        line.extend_from_slice(value.as_ref());
        line.push(b';');
    }
    line.push(b' ');
    line.extend_from_slice(name);
    line
}

/// Writes `entry` as an MLSD line: its `facts` when it has any (e.g. an entry
/// that came from [`parse_mlsd_line`]); otherwise facts derived from its
/// fields: type, size, modify, perm, unique, unix.mode, unix.owner, unix.group.
pub fn format_mlsd_entry(entry: &Entry) -> Vec<u8> {
    if !entry.facts.is_empty() {
        return format_mlsd_line(&entry.facts, &entry.name);
    }
    let mut facts: Vec<(&str, Vec<u8>)> = Vec::new();
    let type_value: Option<Vec<u8>> = match entry.kind {
        EntryKind::File => Some(b"file".to_vec()),
        EntryKind::Dir => Some(b"dir".to_vec()),
        EntryKind::CurrentDir => Some(b"cdir".to_vec()),
        EntryKind::ParentDir => Some(b"pdir".to_vec()),
        EntryKind::Link => Some(match &entry.link_target {
            Some(target) => [&b"OS.unix=slink:"[..], target].concat(),
            None => b"OS.unix=symlink".to_vec(),
        }),
        EntryKind::Other => Some(b"OS.unix=other".to_vec()),
        EntryKind::Unknown => None,
    };
    if let Some(value) = type_value {
        facts.push(("type", value));
    }
    if let Some(size) = entry.size {
        facts.push(("size", size.to_string().into_bytes()));
    }
    if let Some(modify) = entry.modified.and_then(format_time_val) {
        facts.push(("modify", modify.into_bytes()));
    }
    match (entry.mode, &entry.permissions) {
        (Some(mode), _) => facts.push(("unix.mode", format!("{mode:04o}").into_bytes())),
        (None, Some(perm)) => facts.push(("perm", perm.clone().into_bytes())),
        (None, None) => {}
    }
    if let Some(unique) = &entry.unique {
        facts.push(("unique", unique.clone()));
    }
    if let Some(owner) = &entry.owner {
        facts.push(("unix.owner", owner.clone()));
    }
    if let Some(group) = &entry.group {
        facts.push(("unix.group", group.clone()));
    }
    format_mlsd_line(&facts, &entry.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::listing::epoch_from_civil;
    use proptest::prelude::*;

    fn parse(line: &[u8]) -> Entry {
        parse_mlsd_line(line).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(line)))
    }

    fn facts(pairs: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
        pairs.iter().map(|(name, value)| (name.to_string(), value.to_vec())).collect()
    }

    #[test]
    fn typical_file_line() {
        let line = b"type=file;size=1234;modify=20240116141230;perm=adfrw;unique=803U1D1; report 2024.pdf";
        assert_eq!(
            parse(line),
            Entry {
                name: b"report 2024.pdf".to_vec(),
                kind: EntryKind::File,
                link_target: None,
                size: Some(1234),
                modified: epoch_from_civil(2024, 1, 16, 14, 12, 30),
                permissions: Some("adfrw".to_string()),
                mode: None,
                unique: Some(b"803U1D1".to_vec()),
                owner: None,
                group: None,
                facts: facts(&[
                    ("type", b"file"),
                    ("size", b"1234"),
                    ("modify", b"20240116141230"),
                    ("perm", b"adfrw"),
                    ("unique", b"803U1D1"),
                ]),
                raw: line.to_vec(),
                format: ListFormat::Mlsd,
            }
        );
    }

    #[test]
    fn proftpd_unix_facts() {
        let line = b"modify=20190315142233;perm=flcdmpe;type=dir;unique=FD00U20A3;UNIX.group=1000;UNIX.groupname=staff;UNIX.mode=02775;UNIX.owner=1000;UNIX.ownername=alice; projects\r\n";
        let entry = parse(line);
        assert_eq!(entry.kind, EntryKind::Dir);
        assert_eq!(entry.name, b"projects");
        assert_eq!(entry.mode, Some(0o2775));
        assert_eq!(entry.permissions.as_deref(), Some("02775"));
        assert_eq!(entry.owner.as_deref(), Some(&b"alice"[..]));
        assert_eq!(entry.group.as_deref(), Some(&b"staff"[..]));
        assert_eq!(entry.modified, epoch_from_civil(2019, 3, 15, 14, 22, 33));
        assert_eq!(entry.size, None);
        assert_eq!(entry.facts[5], ("unix.groupname".to_string(), b"staff".to_vec()));
        assert_eq!(entry.raw, &line[..line.len() - 2]);
    }

    #[test]
    fn pure_ftpd_numeric_ids_and_sizd() {
        let entry = parse(b"type=dir;sizd=4096;modify=20200229000000;UNIX.mode=0755;UNIX.uid=1000;UNIX.gid=100;unique=801g2a; .config");
        assert_eq!(entry.kind, EntryKind::Dir);
        assert_eq!(entry.size, Some(4096));
        assert_eq!(entry.modified, epoch_from_civil(2020, 2, 29, 0, 0, 0));
        assert_eq!(entry.mode, Some(0o755));
        assert_eq!(entry.owner.as_deref(), Some(&b"1000"[..]));
        assert_eq!(entry.group.as_deref(), Some(&b"100"[..]));
        // `size` wins over `sizd`.
        assert_eq!(parse(b"type=dir;sizd=1;size=2; d").size, Some(2));
    }

    #[test]
    fn current_and_parent_directory() {
        assert_eq!(parse(b"type=cdir;perm=el; /pub").kind, EntryKind::CurrentDir);
        assert_eq!(parse(b"type=pdir;perm=el; ..").kind, EntryKind::ParentDir);
        assert_eq!(parse(b"Type=CDIR; .").kind, EntryKind::CurrentDir);
    }

    #[test]
    fn symlink_types() {
        let entry = parse(b"type=OS.unix=slink:/usr/lib/libz.so.1;size=13; libz.so");
        assert_eq!(entry.kind, EntryKind::Link);
        assert_eq!(entry.link_target.as_deref(), Some(&b"/usr/lib/libz.so.1"[..]));
        assert_eq!(entry.name, b"libz.so");
        assert_eq!(entry.size, Some(13));
        assert_eq!(entry.facts[0].1, b"OS.unix=slink:/usr/lib/libz.so.1");

        let entry = parse(b"type=OS.unix=symlink; latest");
        assert_eq!((entry.kind, entry.link_target), (EntryKind::Link, None));
        let entry = parse(b"type=os.UNIX=SLINK:; x");
        assert_eq!((entry.kind, entry.link_target), (EntryKind::Link, None));
        let entry = parse(b"type=OS.unix=symlinked; x");
        assert_eq!(entry.kind, EntryKind::Other);
    }

    #[test]
    fn unknown_types_are_other_and_missing_type_is_unknown() {
        assert_eq!(parse(b"type=OS.unix=chr-1/3; null").kind, EntryKind::Other);
        assert_eq!(parse(b"type=OS.z/OS=dataset; X.Y").kind, EntryKind::Other);
        assert_eq!(parse(b"type=; empty-type").kind, EntryKind::Other);
        assert_eq!(parse(b"size=5; untyped").kind, EntryKind::Unknown);
    }

    #[test]
    fn names_keep_spaces_semicolons_and_equals() {
        let entry = parse(b"type=file;size=1;  two;spaces=here; ");
        assert_eq!(entry.name, b" two;spaces=here; ");
        assert_eq!(entry.facts.len(), 2);
        let entry = parse(b"type=file; caf\xe9\xff");
        assert_eq!(entry.name, b"caf\xe9\xff");
    }

    #[test]
    fn line_without_facts() {
        let entry = parse(b" just a name");
        assert_eq!(entry.name, b"just a name");
        assert_eq!(entry.kind, EntryKind::Unknown);
        assert!(entry.facts.is_empty());
        assert_eq!(entry.format, ListFormat::Mlsd);
    }

    #[test]
    fn fact_names_are_lower_cased_values_kept() {
        let entry = parse(b"Type=File;SIZE=10;Modify=20200101000000.123;X.Custom=MiXeD=Case; f");
        assert_eq!(
            entry.facts,
            facts(&[
                ("type", b"File"),
                ("size", b"10"),
                ("modify", b"20200101000000.123"),
                ("x.custom", b"MiXeD=Case"),
            ])
        );
        assert_eq!(entry.kind, EntryKind::File);
        assert_eq!(entry.size, Some(10));
        assert_eq!(entry.modified, epoch_from_civil(2020, 1, 1, 0, 0, 0));
    }

    #[test]
    fn repeated_facts_first_one_wins() {
        let entry = parse(b"type=file;size=1;size=2; f");
        assert_eq!(entry.size, Some(1));
        assert_eq!(entry.facts.len(), 3);
    }

    #[test]
    fn tolerated_irregularities() {
        // Missing final ';' and empty segments.
        let entry = parse(b"type=file;size=7 f");
        assert_eq!((entry.kind, entry.size, entry.name.as_slice()), (EntryKind::File, Some(7), &b"f"[..]));
        let entry = parse(b";;type=dir;;; d");
        assert_eq!((entry.kind, entry.facts.len()), (EntryKind::Dir, 1));
    }

    #[test]
    fn invalid_values_leave_fields_empty() {
        let entry = parse(b"type=file;size=-1;modify=20201301000000;unix.mode=0999;perm=r; f");
        assert_eq!(entry.size, None);
        assert_eq!(entry.modified, None);
        assert_eq!(entry.mode, None);
        assert_eq!(entry.permissions.as_deref(), Some("0999"));
        let entry = parse(b"type=file;size=99999999999999999999; f");
        assert_eq!(entry.size, None);
        let entry = parse(b"type=file;size=18446744073709551615; f");
        assert_eq!(entry.size, Some(u64::MAX));
        let entry = parse(b"type=file;unix.mode=0100644; f");
        assert_eq!(entry.mode, Some(0o644));
        let entry = parse(b"type=file;unix.mode=77777777777777; f");
        assert_eq!(entry.mode, None);
    }

    #[test]
    fn malformed_lines_are_errors() {
        for line in [
            &b""[..],
            b"type=file;size=1;",
            b"type=file;size=1; ",
            b"type=file;size=1; \r\n",
            b"type=file;size; name",
            b"=file; name",
            b"type=file;=x; name",
            b"just-a-name",
        ] {
            let error = parse_mlsd_line(line).unwrap_err();
            assert!(!error.message.is_empty(), "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn format_entry_from_fields() {
        let entry = Entry {
            name: b"a b".to_vec(),
            kind: EntryKind::Link,
            link_target: Some(b"t".to_vec()),
            size: Some(3),
            modified: Some(0),
            mode: Some(0o755),
            owner: Some(b"root".to_vec()),
            ..Entry::default()
        };
        let line = format_mlsd_entry(&entry);
        assert_eq!(line, b"type=OS.unix=slink:t;size=3;modify=19700101000000;unix.mode=0755;unix.owner=root; a b");
        let parsed = parse(&line);
        assert_eq!(
            (parsed.kind, parsed.link_target.as_deref(), parsed.size, parsed.modified, parsed.mode),
            (EntryKind::Link, Some(&b"t"[..]), Some(3), Some(0), Some(0o755))
        );
        // An entry with facts is written from them verbatim.
        assert_eq!(format_mlsd_entry(&parsed), line);
    }

    fn name_strategy() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>().prop_filter("no CR/LF/NUL", |b| !matches!(b, b'\r' | b'\n' | 0)), 1..40)
    }

    fn fact_strategy() -> impl Strategy<Value = (String, Vec<u8>)> {
        (
            "[a-zA-Z][a-zA-Z0-9.-]{0,12}",
            proptest::collection::vec(
                any::<u8>().prop_filter("value byte", |b| !matches!(b, b'\r' | b'\n' | 0 | b';' | b' ')),
                0..20,
            ),
        )
    }

    proptest! {
        #[test]
        fn mlsd_lines_round_trip(
            facts in proptest::collection::vec(fact_strategy(), 0..8),
            name in name_strategy(),
        ) {
            let line = format_mlsd_line(&facts, &name);
            let entry = parse_mlsd_line(&line).expect("formatted line parses");
            prop_assert_eq!(&entry.name, &name);
            let expected: Vec<(String, Vec<u8>)> = facts
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                .collect();
            prop_assert_eq!(&entry.facts, &expected);
            prop_assert_eq!(&entry.raw, &line);
            prop_assert_eq!(format_mlsd_entry(&entry), format_mlsd_line(&expected, &name));
        }

        #[test]
        fn mlsd_typed_fields_round_trip(
            kind in prop_oneof![
                Just(EntryKind::File), Just(EntryKind::Dir), Just(EntryKind::CurrentDir),
                Just(EntryKind::ParentDir), Just(EntryKind::Link), Just(EntryKind::Other),
                Just(EntryKind::Unknown),
            ],
            target in proptest::option::of("[!-:<-~]{1,20}"),
            size in proptest::option::of(any::<u64>()),
            modified in proptest::option::of(-62_167_219_200i64..253_402_300_800),
            mode in proptest::option::of(0u32..=0o7777),
            owner in proptest::option::of("[a-z0-9_]{1,8}"),
            name in name_strategy(),
        ) {
            let entry = Entry {
                name: name.clone(),
                kind,
                link_target: if kind == EntryKind::Link { target.map(String::into_bytes) } else { None },
                size,
                modified,
                mode,
                owner: owner.map(String::into_bytes),
                ..Entry::default()
            };
            let parsed = parse_mlsd_line(&format_mlsd_entry(&entry)).expect("parses");
            prop_assert_eq!(parsed.name, entry.name);
            prop_assert_eq!(parsed.kind, entry.kind);
            prop_assert_eq!(parsed.link_target, entry.link_target);
            prop_assert_eq!(parsed.size, entry.size);
            prop_assert_eq!(parsed.modified, entry.modified);
            prop_assert_eq!(parsed.mode, entry.mode);
            prop_assert_eq!(parsed.owner, entry.owner);
        }

        #[test]
        fn parse_mlsd_line_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(entry) = parse_mlsd_line(&bytes) {
                prop_assert!(!entry.name.is_empty());
            }
        }

        #[test]
        fn parse_mlsd_line_never_panics_on_fact_like_lines(
            line in "([a-zA-Z.]{0,8}=?[0-9a-zA-Z:=/.]{0,16};?){0,6} ?\\PC{0,10}",
        ) {
            let _ = parse_mlsd_line(line.as_bytes());
        }
    }

    #[test]
    fn mlst_reply_entry_from_its_fact_line() {
        let e = parse_mlst_reply(b"250-Listing f\n type=file;size=3; /a b\n250 End").unwrap();
        assert_eq!((e.name.as_slice(), e.size), (&b"/a b"[..], Some(3)));
        assert!(parse_mlst_reply(b"250-Listing f\n250 End").is_err());
        assert!(parse_mlst_reply(b"250-x\n type=file\n250 End").is_err());
    }
}
