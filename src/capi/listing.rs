//! Exported listing functions: NLST and LIST lines, structured entries from MLSD, MLST and
//! LIST, FEAT and MDTM.

use super::handle::{deref, deref_mut, ftp_client, optional, out_ref, required, with_client, Fail};
use super::status::FTP_ERR_ENCODING;
use super::transfer::ftp_line_callback;
use crate::proto::listing::{Entry, EntryKind, ListFormat};
use crate::transfer::LineEnd;
use std::ffi::{c_char, c_int, c_void};

/// A list of directory entries. Free with `ftp_listing_free`.
pub struct ftp_listing {
    entries: Vec<ftp_entry>,
}

/// One directory entry, owned by its `ftp_listing`.
// The core's `Entry`, its byte fields taken over and NUL-terminated in place (the parsers
// leave room for the NUL): no second copy of the strings.
pub struct ftp_entry {
    name: Vec<u8>,
    link_target: Option<Vec<u8>>,
    permissions: Option<Vec<u8>>,
    unique: Option<Vec<u8>>,
    raw: Vec<u8>,
    facts: Vec<(Vec<u8>, Vec<u8>)>,
    kind: EntryKind,
    format: ListFormat,
    size: Option<u64>,
    modified: Option<i64>,
    mode: Option<u32>,
}

fn nul_terminated(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.push(0);
    bytes
}

impl ftp_entry {
    pub(crate) fn new(entry: Entry) -> ftp_entry {
        ftp_entry {
            name: nul_terminated(entry.name),
            link_target: entry.link_target.map(nul_terminated),
            permissions: entry.permissions.map(|p| nul_terminated(p.into_bytes())),
            unique: entry.unique.map(nul_terminated),
            raw: nul_terminated(entry.raw),
            facts: entry.facts.into_iter().map(|(k, v)| (nul_terminated(k.into_bytes()), nul_terminated(v))).collect(),
            kind: entry.kind,
            format: entry.format,
            size: entry.size,
            modified: entry.modified,
            mode: entry.mode,
        }
    }
}

fn into_listing(entries: Vec<Entry>) -> *mut ftp_listing {
    Box::into_raw(Box::new(ftp_listing { entries: entries.into_iter().map(ftp_entry::new).collect() }))
}

/// NLST of `arg` (a path, or NULL for the current directory): each name to `callback`
/// (NULL: printed to stdout).
#[no_mangle]
pub extern "C" fn ftp_nlst(
    client: *mut ftp_client,
    arg: *const c_char,
    callback: ftp_line_callback,
    userdata: *mut c_void,
) -> c_int {
    with_client(client, |inner| {
        let mut deliver = super::transfer::line_deliverer(callback, userdata);
        inner.client.nlst_each_as(optional(arg), LineEnd::Nul, &mut deliver)?;
        Ok(())
    })
}

/// ftplib's `dir`: LIST of `arg` (NULL: the current directory), each line to `callback`
/// (NULL: printed to stdout, as ftplib does).
#[no_mangle]
pub extern "C" fn ftp_dir(
    client: *mut ftp_client,
    arg: *const c_char,
    callback: ftp_line_callback,
    userdata: *mut c_void,
) -> c_int {
    with_client(client, |inner| {
        let mut deliver = super::transfer::line_deliverer(callback, userdata);
        inner.client.dir_as(optional(arg), LineEnd::Nul, &mut deliver)?;
        Ok(())
    })
}

/// MLSD of `path` (NULL: the current directory) into `*out`. `facts` (may be NULL), e.g.
/// "type;size;modify;perm", is sent first with OPTS MLST. FTP_ERR_UNSUPPORTED when the server
/// has no MLSD (vsftpd). Free the listing with `ftp_listing_free`.
#[no_mangle]
pub extern "C" fn ftp_mlsd(
    client: *mut ftp_client,
    path: *const c_char,
    facts: *const c_char,
    out: *mut *mut ftp_listing,
) -> c_int {
    with_client(client, |inner| {
        let out = out_ref(out, "out")?;
        let facts = match optional(facts) {
            None => Vec::new(),
            Some(f) => std::str::from_utf8(f)
                .map_err(|_| Fail::Status(FTP_ERR_ENCODING, "facts is not valid UTF-8".into()))?
                .split(';')
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect(),
        };
        let facts: Vec<&str> = facts.iter().map(String::as_str).collect();
        *out = into_listing(inner.client.mlsd(optional(path), &facts)?);
        Ok(())
    })
}

/// MLST of one `path` (NULL: the current directory) into `*out`, a listing of one entry.
#[no_mangle]
pub extern "C" fn ftp_mlst(client: *mut ftp_client, path: *const c_char, out: *mut *mut ftp_listing) -> c_int {
    listing_call(client, out, |c| Ok(vec![c.mlst(optional(path))?]))
}

/// LIST of `path` (NULL: the current directory) parsed into `*out`: Unix `ls -l` and DOS
/// lines; a line no parser understands is kept as an entry of format FTP_FORMAT_UNPARSED
/// with its raw text.
#[no_mangle]
pub extern "C" fn ftp_list(client: *mut ftp_client, path: *const c_char, out: *mut *mut ftp_listing) -> c_int {
    listing_call(client, out, |c| c.list_entries(optional(path)))
}

/// A listing call: `out` checked first, the entries into a new listing there.
fn listing_call(
    client: *mut ftp_client,
    out: *mut *mut ftp_listing,
    fetch: impl FnOnce(&mut crate::Client) -> crate::Result<Vec<Entry>>,
) -> c_int {
    with_client(client, |inner| {
        let out = out_ref(out, "out")?;
        *out = into_listing(fetch(&mut inner.client)?);
        Ok(())
    })
}

/// Frees a listing and its entries. NULL is ignored.
#[no_mangle]
pub extern "C" fn ftp_listing_free(listing: *mut ftp_listing) {
    if !listing.is_null() {
        // SAFETY: the pointer came from a listing function and is freed once.
        drop(unsafe { Box::from_raw(listing) });
    }
}

/// The number of entries (0 for NULL).
#[no_mangle]
pub extern "C" fn ftp_listing_count(listing: *const ftp_listing) -> usize {
    deref(listing).map_or(0, |l| l.entries.len())
}

/// Entry `index`, owned by the listing; NULL when out of range or `listing` is NULL.
#[no_mangle]
pub extern "C" fn ftp_listing_get(listing: *const ftp_listing, index: usize) -> *const ftp_entry {
    deref(listing).and_then(|l| l.entries.get(index)).map_or(std::ptr::null(), |e| e as *const ftp_entry)
}

/// Entry types.
pub const FTP_ENTRY_UNKNOWN: c_int = 0;
pub const FTP_ENTRY_FILE: c_int = 1;
pub const FTP_ENTRY_DIR: c_int = 2;
pub const FTP_ENTRY_LINK: c_int = 3;
/// MLSD `cdir`: the listed directory itself.
pub const FTP_ENTRY_CDIR: c_int = 4;
/// MLSD `pdir`: its parent.
pub const FTP_ENTRY_PDIR: c_int = 5;
/// Devices, FIFOs, sockets, other MLSD types.
pub const FTP_ENTRY_OTHER: c_int = 6;

/// Listing line formats.
pub const FTP_FORMAT_UNPARSED: c_int = 0;
pub const FTP_FORMAT_MLSD: c_int = 1;
pub const FTP_FORMAT_UNIX: c_int = 2;
pub const FTP_FORMAT_DOS: c_int = 3;

fn entry<'a>(e: *const ftp_entry) -> Option<&'a ftp_entry> {
    deref(e)
}

/// Writes a length when asked and returns the NUL-terminated bytes, or NULL.
fn bytes_out(bytes: Option<&Vec<u8>>, out_len: *mut usize) -> *const c_char {
    match bytes {
        Some(b) => {
            if let Some(out_len) = deref_mut(out_len) {
                *out_len = b.len() - 1;
            }
            b.as_ptr().cast()
        }
        None => std::ptr::null(),
    }
}

/// The name, byte-exact as the server sent it (it may hold any byte but NUL, and need not
/// be UTF-8), NUL-terminated; `*out_len` (if `out_len` is not NULL) gets its length. Borrowed from
/// the listing. NULL for a NULL entry.
#[no_mangle]
pub extern "C" fn ftp_entry_name(e: *const ftp_entry, out_len: *mut usize) -> *const c_char {
    bytes_out(entry(e).map(|e| &e.name), out_len)
}

/// FTP_ENTRY_* type.
#[no_mangle]
pub extern "C" fn ftp_entry_type(e: *const ftp_entry) -> c_int {
    entry(e).map_or(FTP_ENTRY_UNKNOWN, |e| match e.kind {
        EntryKind::File => FTP_ENTRY_FILE,
        EntryKind::Dir => FTP_ENTRY_DIR,
        EntryKind::Link => FTP_ENTRY_LINK,
        EntryKind::CurrentDir => FTP_ENTRY_CDIR,
        EntryKind::ParentDir => FTP_ENTRY_PDIR,
        EntryKind::Other => FTP_ENTRY_OTHER,
        EntryKind::Unknown => FTP_ENTRY_UNKNOWN,
    })
}

/// FTP_FORMAT_* format of the line the entry came from.
#[no_mangle]
pub extern "C" fn ftp_entry_format(e: *const ftp_entry) -> c_int {
    entry(e).map_or(FTP_FORMAT_UNPARSED, |e| match e.format {
        ListFormat::Mlsd => FTP_FORMAT_MLSD,
        ListFormat::Unix => FTP_FORMAT_UNIX,
        ListFormat::Dos => FTP_FORMAT_DOS,
        ListFormat::Unparsed => FTP_FORMAT_UNPARSED,
    })
}

/// The size in bytes, or -1 when unknown.
#[no_mangle]
pub extern "C" fn ftp_entry_size(e: *const ftp_entry) -> i64 {
    entry(e).and_then(|e| e.size).and_then(|s| i64::try_from(s).ok()).unwrap_or(-1)
}

/// Whether the modification time is known (1) or not (0); when known, `*out` gets it in
/// seconds since the epoch, UTC (LIST times carry no zone and are read as UTC).
#[no_mangle]
pub extern "C" fn ftp_entry_mtime(e: *const ftp_entry, out: *mut i64) -> c_int {
    match entry(e).and_then(|e| e.modified) {
        Some(t) => match deref_mut(out) {
            Some(out) => {
                *out = t;
                1
            }
            None => 0,
        },
        _ => 0,
    }
}

/// Permissions as text ("-rw-r--r--" for Unix LIST, the `unix.mode` or `perm` fact for
/// MLSD), NUL-terminated and borrowed; `*out_len` (if not NULL) gets its length. NULL when
/// unknown.
#[no_mangle]
pub extern "C" fn ftp_entry_permissions(e: *const ftp_entry, out_len: *mut usize) -> *const c_char {
    bytes_out(entry(e).and_then(|e| e.permissions.as_ref()), out_len)
}

/// Permission bits (e.g. 0644, with setuid/setgid/sticky), or -1 when unknown.
#[no_mangle]
pub extern "C" fn ftp_entry_mode(e: *const ftp_entry) -> i32 {
    entry(e).and_then(|e| e.mode).map_or(-1, |m| m as i32)
}

/// A symbolic link's target, NUL-terminated and borrowed (`*out_len` as for
/// `ftp_entry_name`); NULL when not a link or unknown.
#[no_mangle]
pub extern "C" fn ftp_entry_link_target(e: *const ftp_entry, out_len: *mut usize) -> *const c_char {
    bytes_out(entry(e).and_then(|e| e.link_target.as_ref()), out_len)
}

/// The MLSD `unique` fact, NUL-terminated and borrowed (`*out_len` as for
/// `ftp_entry_name`); NULL when absent.
#[no_mangle]
pub extern "C" fn ftp_entry_unique(e: *const ftp_entry, out_len: *mut usize) -> *const c_char {
    bytes_out(entry(e).and_then(|e| e.unique.as_ref()), out_len)
}

/// The listing line as received, without its line end, NUL-terminated and borrowed
/// (`*out_len` as for `ftp_entry_name`).
#[no_mangle]
pub extern "C" fn ftp_entry_raw(e: *const ftp_entry, out_len: *mut usize) -> *const c_char {
    bytes_out(entry(e).map(|e| &e.raw), out_len)
}

/// The number of MLSD facts (0 for LIST entries).
#[no_mangle]
pub extern "C" fn ftp_entry_fact_count(e: *const ftp_entry) -> usize {
    entry(e).map_or(0, |e| e.facts.len())
}

/// Fact `index`: its lower-cased name and its value as sent, both NUL-terminated and
/// borrowed. 1 when the fact exists, 0 (outputs untouched) otherwise.
#[no_mangle]
pub extern "C" fn ftp_entry_fact_at(
    e: *const ftp_entry,
    index: usize,
    out_name: *mut *const c_char,
    out_value: *mut *const c_char,
) -> c_int {
    let Some((k, v)) = entry(e).and_then(|e| e.facts.get(index)) else {
        return 0;
    };
    if let Some(out_name) = deref_mut(out_name) {
        *out_name = k.as_ptr().cast();
    }
    if let Some(out_value) = deref_mut(out_value) {
        *out_value = v.as_ptr().cast();
    }
    1
}

/// The value of the fact named `name` (case-insensitive), NUL-terminated and borrowed;
/// NULL when absent.
#[no_mangle]
pub extern "C" fn ftp_entry_fact(e: *const ftp_entry, name: *const c_char) -> *const c_char {
    let (Some(e), Some(name)) = (entry(e), optional(name)) else {
        return std::ptr::null();
    };
    e.facts
        .iter()
        .find(|(k, _)| k[..k.len() - 1].eq_ignore_ascii_case(name))
        .map_or(std::ptr::null(), |(_, v)| v.as_ptr().cast())
}

/// FEAT: the features, one per line as "NAME rest", into `*out` (borrowed until the next
/// call). Asked once per connection; sends OPTS UTF8 ON when UTF8 is offered and the
/// encoding is UTF-8. "" when the server has no FEAT.
#[no_mangle]
pub extern "C" fn ftp_feat(client: *mut ftp_client, out: *mut *const c_char) -> c_int {
    with_client(client, |inner| {
        let out = out_ref(out, "out")?;
        let features = inner.client.features()?;
        let text: Vec<String> =
            features.iter().map(|(n, v)| if v.is_empty() { n.clone() } else { format!("{n} {v}") }).collect();
        *out = inner.lend(text.join("\n").into_bytes());
        Ok(())
    })
}

/// Whether FEAT lists `name` (case-insensitive): `*out` is 1 or 0. `MLSD` is 1 also when
/// FEAT lists MLST, which stands for both MLST and MLSD (RFC 3659 §7.8).
#[no_mangle]
pub extern "C" fn ftp_has_feature(client: *mut ftp_client, name: *const c_char, out: *mut c_int) -> c_int {
    with_client(client, |inner| {
        let name = super::handle::utf8(required(name, "name")?, "name")?;
        let out = out_ref(out, "out")?;
        *out = c_int::from(inner.client.has_feature(name)?);
        Ok(())
    })
}

/// The modification time of a file (MDTM) in seconds since the epoch, UTC, into `*out`.
#[no_mangle]
pub extern "C" fn ftp_mdtm(client: *mut ftp_client, filename: *const c_char, out: *mut i64) -> c_int {
    with_client(client, |inner| {
        let filename = required(filename, "filename")?;
        let out = out_ref(out, "out")?;
        *out = inner.client.mdtm(filename)?;
        Ok(())
    })
}
