//! How entries are shown: names, long lines, JSON objects.

use ftpc::listing::{civil_from_epoch, Entry, EntryKind, ListFormat};
use serde_json::{json, Map, Value};

pub fn kind_name(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::File => "file",
        EntryKind::Dir => "dir",
        EntryKind::Link => "link",
        EntryKind::CurrentDir => "cdir",
        EntryKind::ParentDir => "pdir",
        EntryKind::Other => "other",
        EntryKind::Unknown => "unknown",
    }
}

fn format_name(format: ListFormat) -> &'static str {
    match format {
        ListFormat::Mlsd => "mlsd",
        ListFormat::Unix => "unix",
        ListFormat::Dos => "dos",
        ListFormat::Unparsed => "unparsed",
    }
}

/// "2024-01-31T12:00:00Z".
pub fn iso_time(t: i64) -> String {
    let (y, mo, d, h, mi, s) = civil_from_epoch(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

fn text(bytes: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One entry as a JSON object: the parsed facts, names as text (with `name_hex` giving
/// the exact bytes when they are not UTF-8), absent facts as null.
pub fn entry_json(entry: &Entry, path: Option<&[u8]>, depth: Option<usize>) -> Value {
    let mut object = Map::new();
    object.insert("name".into(), text(&entry.name));
    if std::str::from_utf8(&entry.name).is_err() {
        object.insert("name_hex".into(), hex(&entry.name).into());
    }
    if let Some(path) = path {
        object.insert("path".into(), text(path));
        if std::str::from_utf8(path).is_err() {
            object.insert("path_hex".into(), hex(path).into());
        }
    }
    if let Some(depth) = depth {
        object.insert("depth".into(), depth.into());
    }
    object.insert("type".into(), kind_name(entry.kind).into());
    object.insert("size".into(), json!(entry.size));
    object.insert("modified".into(), json!(entry.modified));
    object.insert("modified_utc".into(), json!(entry.modified.map(iso_time)));
    object.insert("permissions".into(), json!(entry.permissions));
    object.insert("mode".into(), json!(entry.mode));
    object.insert("link_target".into(), json!(entry.link_target.as_deref().map(text)));
    object.insert("unique".into(), json!(entry.unique.as_deref().map(text)));
    object.insert("owner".into(), json!(entry.owner.as_deref().map(text)));
    object.insert("group".into(), json!(entry.group.as_deref().map(text)));
    let facts: Map<String, Value> = entry.facts.iter().map(|(k, v)| (k.clone(), text(v))).collect();
    object.insert("facts".into(), Value::Object(facts));
    object.insert("format".into(), format_name(entry.format).into());
    Value::Object(object)
}

/// `ls -l`-like: type and permissions, size, time (UTC), then the name (and link target).
pub fn long_line(entry: &Entry, name: &[u8]) -> Vec<u8> {
    let kind = match entry.kind {
        EntryKind::Dir | EntryKind::CurrentDir | EntryKind::ParentDir => 'd',
        EntryKind::Link => 'l',
        EntryKind::File => '-',
        _ => '?',
    };
    let mode = match entry.mode {
        Some(mode) => {
            (0..9).map(|i| if mode & (0o400 >> i) != 0 { ['r', 'w', 'x'][i % 3] } else { '-' }).collect::<String>()
        }
        None => "?????????".into(),
    };
    let size = entry.size.map_or_else(|| "-".to_string(), |s| s.to_string());
    let time = entry.modified.map_or_else(|| "-".repeat(16), |t| iso_time(t)[..16].replace('T', " "));
    let mut line = format!("{kind}{mode} {size:>12} {time} ").into_bytes();
    line.extend_from_slice(name);
    if let Some(target) = &entry.link_target {
        line.extend_from_slice(b" -> ");
        line.extend_from_slice(target);
    }
    line.push(b'\n');
    line
}
