//! The exported tree walk.

use super::handle::{deref_mut, ftp_client, optional, with_client, Fail};
use super::listing::ftp_entry;
use super::status::{FTP_ERR_INVALID_ARGUMENT, FTP_ERR_NULL_ARGUMENT, FTP_ERR_STOPPED};
use crate::client::walk::{ListingMethod, WalkControl, WalkOptions, WalkOrder};
use std::ffi::{c_char, c_int, c_void};

/// Walk flags, or-ed together (0: depth-first, MLSD when offered, links not entered).
/// All entries of one depth before any of the next.
pub const FTP_WALK_BREADTH_FIRST: c_int = 1;
/// Enter symbolic links to directories; only where the server lists with MLSD (whose
/// `unique` fact tells a loop), never with LIST.
pub const FTP_WALK_FOLLOW_LINKS: c_int = 2;
/// List with LIST even when the server offers MLSD.
pub const FTP_WALK_USE_LIST: c_int = 4;
/// List with MLSD without asking FEAT (FTP_ERR_UNSUPPORTED where it is missing).
pub const FTP_WALK_USE_MLSD: c_int = 8;

/// Walk callback returns: go on (into this entry when it is a directory); do not enter
/// this directory. Any other value ends the walk, which then returns FTP_ERR_STOPPED.
pub const FTP_WALK_CONTINUE: c_int = 0;
pub const FTP_WALK_SKIP: c_int = 1;

/// Receives one entry of a walk: its path (the walk's root joined with the names on the
/// way by '/', bytes as the server gave them, NUL-terminated, `path_len` not counting the
/// NUL), the entry (read it with the `ftp_entry_*` functions) and its depth (1 for the
/// root's entries). Both are borrowed for the call. Returns FTP_WALK_CONTINUE,
/// FTP_WALK_SKIP or anything else to stop.
pub type ftp_walk_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        path: *const c_char,
        path_len: usize,
        entry: *const ftp_entry,
        depth: c_int,
    ) -> c_int,
>;

/// Lists the tree below `path` (NULL or "": the current directory) and hands each entry
/// to `callback`, depth-first (a directory's entries right after it) unless `flags` has
/// FTP_WALK_BREADTH_FIRST. Directories are listed with MLSD when FEAT offers it, else with
/// CWD and LIST (the starting directory is restored at the end). `max_depth` is the
/// deepest level handed out (1: the root's entries only; 0: no limit).
///
/// Names that cannot be one path component (empty, holding '/' or NUL) and LIST lines no
/// parser understands are never handed out: they are counted in `*out_refused` (when
/// `out_refused` is not NULL; written when the walk ends or is stopped). "." and ".." are
/// skipped. Symbolic links are not entered unless FTP_WALK_FOLLOW_LINKS, and a directory
/// whose MLSD `unique` fact the walk has seen is not entered again. A directory below the
/// root whose listing the server refuses (5xx) is left out; failing to list the root is
/// the error.
///
/// Returns FTP_OK, FTP_ERR_STOPPED when the callback stopped it (the connection usable),
/// FTP_ERR_NULL_ARGUMENT for a NULL callback, FTP_ERR_INVALID_ARGUMENT for unknown flags
/// or a negative `max_depth`, or the error of a listing.
#[no_mangle]
pub extern "C" fn ftp_walk(
    client: *mut ftp_client,
    path: *const c_char,
    flags: c_int,
    max_depth: c_int,
    callback: ftp_walk_callback,
    userdata: *mut c_void,
    out_refused: *mut usize,
) -> c_int {
    with_client(client, |inner| {
        let Some(callback) = callback else {
            return Err(Fail::Status(FTP_ERR_NULL_ARGUMENT, "callback is NULL".into()));
        };
        let known = FTP_WALK_BREADTH_FIRST | FTP_WALK_FOLLOW_LINKS | FTP_WALK_USE_LIST | FTP_WALK_USE_MLSD;
        if flags & !known != 0 || flags & FTP_WALK_USE_LIST != 0 && flags & FTP_WALK_USE_MLSD != 0 {
            return Err(Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("invalid walk flags {flags:#x}")));
        }
        let max_depth = usize::try_from(max_depth)
            .map_err(|_| Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("max_depth {max_depth} is negative")))?;
        let options = WalkOptions {
            order: if flags & FTP_WALK_BREADTH_FIRST != 0 { WalkOrder::BreadthFirst } else { WalkOrder::DepthFirst },
            max_depth: (max_depth > 0).then_some(max_depth),
            listing: if flags & FTP_WALK_USE_LIST != 0 {
                ListingMethod::List
            } else if flags & FTP_WALK_USE_MLSD != 0 {
                ListingMethod::Mlsd
            } else {
                ListingMethod::Auto
            },
            follow_links: flags & FTP_WALK_FOLLOW_LINKS != 0,
        };
        let mut path_buf = Vec::new();
        let mut deliver = |path: &[u8], entry: &crate::listing::Entry, depth: usize| {
            path_buf.clear();
            path_buf.extend_from_slice(path);
            path_buf.push(0);
            let entry = ftp_entry::new(entry.clone());
            let depth = c_int::try_from(depth).unwrap_or(c_int::MAX);
            // SAFETY: the caller's callback, with a NUL-terminated path and an entry that
            // live through the call.
            match unsafe { callback(userdata, path_buf.as_ptr().cast(), path.len(), &entry, depth) } {
                FTP_WALK_CONTINUE => WalkControl::Continue,
                FTP_WALK_SKIP => WalkControl::Skip,
                _ => WalkControl::Stop,
            }
        };
        let summary = inner.client.walk(optional(path).unwrap_or_default(), &options, &mut deliver)?;
        if let Some(out) = deref_mut(out_refused) {
            *out = summary.refused.len();
        }
        if summary.stopped {
            return Err(Fail::Status(FTP_ERR_STOPPED, "the walk was stopped by its callback".into()));
        }
        Ok(())
    })
}
