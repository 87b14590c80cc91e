//! The exported mirror: `Client::mirror_download` and `Client::mirror_upload`.

use super::handle::{deref_mut, ftp_client, required, with_client, Fail};
use super::status::FTP_ERR_INVALID_ARGUMENT;
use crate::client::mirror::{MirrorEvent, MirrorOptions, MirrorSummary};
use std::ffi::{c_char, c_int, c_void, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Mirror flags, or-ed together (0: download the remote tree into the local directory).
/// Upload the local tree to the remote directory instead (lftp's `mirror -R`).
pub const FTP_MIRROR_UPLOAD: c_int = 1;
/// Say what would be done (events and summary), change nothing.
pub const FTP_MIRROR_DRY_RUN: c_int = 2;
/// Delete what the source no longer has (local files on a download, remote ones on an upload).
pub const FTP_MIRROR_DELETE: c_int = 4;
/// Continue files shorter than the source's (REST) instead of sending them again.
pub const FTP_MIRROR_RESUME: c_int = 8;

/// Mirror events, as `event` of an `ftp_mirror_callback`.
/// A name never written (`message`: why): not one path component, not inside the target,
/// or behind a local symbolic link.
pub const FTP_MIRROR_REFUSED: c_int = 1;
/// A remote directory the server would not list (`message`: the error); kept locally.
pub const FTP_MIRROR_UNLISTABLE: c_int = 2;
/// A directory made (local on a download, remote on an upload).
pub const FTP_MIRROR_MKDIR: c_int = 3;
/// A file download starts; `value`: the byte it continues from, or -1.
pub const FTP_MIRROR_GET: c_int = 4;
/// A transfer or command the server refused (`message`: the error); the mirror goes on.
pub const FTP_MIRROR_FAILED: c_int = 5;
/// A link or special file, not followed.
pub const FTP_MIRROR_SKIPPED: c_int = 6;
/// A file or directory deleted (local on a download: `path` is the local path; remote on
/// an upload), or that would be in a dry run.
pub const FTP_MIRROR_DELETE_EVENT: c_int = 7;
/// A file upload starts; `value`: the byte it continues from, or -1.
pub const FTP_MIRROR_PUT: c_int = 8;

/// Hears one mirror event: its kind (FTP_MIRROR_REFUSED ...), the path it is about (bytes
/// as the server gave them, relative to the mirrored directory, NUL-terminated, `path_len`
/// not counting the NUL), a number (see the kind; -1 when none) and a message (NULL when
/// none). Everything is borrowed for the call.
pub type ftp_mirror_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        event: c_int,
        path: *const c_char,
        path_len: usize,
        value: i64,
        message: *const c_char,
    ),
>;

/// What a mirror did (or would do, in a dry run). On an upload, `files` and `bytes` count
/// what was uploaded and `dirs_made` the remote directories made.
#[repr(C)]
pub struct ftp_mirror_summary {
    pub files: u64,
    pub bytes: u64,
    pub up_to_date: u64,
    pub dirs_made: u64,
    pub deleted: u64,
    pub skipped_links: u64,
    pub refused: u64,
    pub failed: u64,
}

/// Mirrors the remote directory `remote` ("" for the current one) and the local directory
/// `local_dir`: by default downloads the remote tree into `local_dir` (made when missing),
/// with FTP_MIRROR_UPLOAD uploads the local tree to `remote` (made when missing). Only
/// what changed moves (size and modification time; a downloaded file gets the remote
/// time). Names are written byte for byte; a remote name that would land outside
/// `local_dir` (`..`, `/`, NUL) or behind a local symbolic link is refused and reported,
/// never written. `parallel` > 1 downloads that many files at once over as many
/// connections made with this handle's settings and login (downloads only; 0 or 1: this
/// handle alone).
///
/// `callback` (may be NULL) hears every action and refusal. `out` (may be NULL) receives
/// the summary, also when names were refused or transfers failed: the call returns FTP_OK
/// then, and a caller that wants all or nothing checks `refused` and `failed`. An error of
/// the connection or of the local file system ends the mirror with its code.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn ftp_mirror(
    client: *mut ftp_client,
    remote: *const c_char,
    local_dir: *const c_char,
    flags: c_int,
    parallel: c_int,
    callback: ftp_mirror_callback,
    userdata: *mut c_void,
    out: *mut ftp_mirror_summary,
) -> c_int {
    with_client(client, |inner| {
        let remote = required(remote, "remote")?;
        let local_dir = Path::new(OsStr::from_bytes(required(local_dir, "local_dir")?));
        let known = FTP_MIRROR_UPLOAD | FTP_MIRROR_DRY_RUN | FTP_MIRROR_DELETE | FTP_MIRROR_RESUME;
        if flags & !known != 0 {
            return Err(Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("invalid mirror flags {flags:#x}")));
        }
        let parallel = usize::try_from(parallel)
            .ok()
            .filter(|&p| p <= 64)
            .ok_or_else(|| Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("parallel {parallel}: give 0 to 64")))?;
        let upload = flags & FTP_MIRROR_UPLOAD != 0;
        if upload && parallel > 1 {
            return Err(Fail::Status(FTP_ERR_INVALID_ARGUMENT, "parallel transfers are for downloads only".into()));
        }
        let options = MirrorOptions {
            dry_run: flags & FTP_MIRROR_DRY_RUN != 0,
            delete: flags & FTP_MIRROR_DELETE != 0,
            resume: flags & FTP_MIRROR_RESUME != 0,
            parallel,
        };
        let mut path_buf = Vec::new();
        let mut deliver = |event: MirrorEvent<'_>| {
            let Some(callback) = callback else { return };
            let (kind, path, value, message): (c_int, &[u8], i64, Option<String>) = match event {
                MirrorEvent::Refused { name, reason, .. } => (FTP_MIRROR_REFUSED, name, -1, Some(reason.to_string())),
                MirrorEvent::Unlistable { dir, error } => (FTP_MIRROR_UNLISTABLE, dir, -1, Some(error.to_string())),
                MirrorEvent::MakeDir { relative } | MirrorEvent::MakeRemoteDir { relative } => {
                    (FTP_MIRROR_MKDIR, relative, -1, None)
                }
                MirrorEvent::Get { relative, resume_from } => {
                    (FTP_MIRROR_GET, relative, resume_from.map_or(-1, |n| n as i64), None)
                }
                MirrorEvent::Put { relative, resume_from } => {
                    (FTP_MIRROR_PUT, relative, resume_from.map_or(-1, |n| n as i64), None)
                }
                MirrorEvent::Failed { relative, error } => (FTP_MIRROR_FAILED, relative, -1, Some(error.to_string())),
                MirrorEvent::Skipped { relative } => (FTP_MIRROR_SKIPPED, relative, -1, None),
                MirrorEvent::Delete { path } => (FTP_MIRROR_DELETE_EVENT, path.as_os_str().as_bytes(), -1, None),
                MirrorEvent::DeleteRemote { relative, .. } => (FTP_MIRROR_DELETE_EVENT, relative, -1, None),
            };
            path_buf.clear();
            path_buf.extend_from_slice(path);
            path_buf.push(0);
            // A NUL inside a message would cut it short: shown as U+FFFD instead.
            let message = message.map(|m| {
                let mut bytes = m.replace('\0', "\u{fffd}").into_bytes();
                bytes.push(0);
                bytes
            });
            let message_ptr = message.as_ref().map_or(std::ptr::null(), |m| m.as_ptr().cast());
            // SAFETY: the caller's callback, with NUL-terminated strings that live through
            // the call.
            unsafe { callback(userdata, kind, path_buf.as_ptr().cast(), path.len(), value, message_ptr) };
        };
        let summary: MirrorSummary = if upload {
            inner.client.mirror_upload(local_dir, remote, &options, &mut deliver)?
        } else {
            inner.client.mirror_download(remote, local_dir, &options, &mut deliver)?
        };
        if let Some(out) = deref_mut(out) {
            *out = ftp_mirror_summary {
                files: summary.downloaded,
                bytes: summary.bytes,
                up_to_date: summary.up_to_date,
                dirs_made: summary.dirs_made,
                deleted: summary.deleted,
                skipped_links: summary.skipped_links,
                refused: summary.refused,
                failed: summary.failed,
            };
        }
        Ok(())
    })
}
