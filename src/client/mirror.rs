//! Mirroring a remote tree into a local directory (lftp's `mirror`): only what changed.
//!
//! The tree is walked first (`Client::walk`: MLSD or LIST, names that are not one path
//! component refused there), then acted on. Every local path is the target directory joined
//! with the walk's components, each checked again here (never empty, `.`, `..`, nor holding
//! `/` or NUL), and never written through a local symbolic link: nothing lands outside the
//! target. A file is up to date when its size and modification time equal the remote ones
//! (the time is set on each file downloaded); remote links are not followed. Names are
//! written byte for byte.

use crate::client::walk::{WalkControl, WalkOptions};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::listing::EntryKind;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

/// What a mirror may do.
#[derive(Debug, Clone, Default)]
pub struct MirrorOptions {
    /// Say what would be done (the events and the summary), change nothing.
    pub dry_run: bool,
    /// Delete local files and directories that are not on the server any more (what is
    /// under a directory the server would not list is kept).
    pub delete: bool,
    /// Continue a local file shorter than the remote one (REST) instead of downloading it
    /// again.
    pub resume: bool,
    /// Downloads at once, over this client and `parallel - 1` more connections made with
    /// its settings and login (0 or 1: this client alone). With more than one, the `Get`
    /// events come as files are queued, before their downloads, and failures after all
    /// of them; an extra connection that cannot log in leaves its share to the others.
    pub parallel: usize,
}

/// One thing a mirror does or refuses, as it happens. Paths are bytes as the server gave
/// them; `relative` is below the mirrored root, components joined by '/'.
#[derive(Debug)]
pub enum MirrorEvent<'a> {
    /// A name never written: not one path component (`dir` is the listing that held it),
    /// not a path inside the target, or one whose local path goes through a symbolic link.
    Refused {
        name: &'a [u8],
        dir: Option<&'a [u8]>,
        reason: &'a str,
    },
    /// A directory whose listing the server refused: what is under it locally is kept.
    Unlistable {
        dir: &'a [u8],
        error: &'a str,
    },
    MakeDir {
        relative: &'a [u8],
    },
    /// A download starts (`resume_from`: continued from that byte of the local file).
    Get {
        relative: &'a [u8],
        resume_from: Option<u64>,
    },
    /// A download the server refused (4xx/5xx): the mirror goes on.
    Failed {
        relative: &'a [u8],
        error: &'a Error,
    },
    /// A link or special file, not followed.
    Skipped {
        relative: &'a [u8],
    },
    /// A local file or directory deleted (or that would be).
    Delete {
        path: &'a Path,
    },
    /// An upload starts (`resume_from`: continued from that byte of the remote file).
    Put {
        relative: &'a [u8],
        resume_from: Option<u64>,
    },
    /// A remote directory made (upload).
    MakeRemoteDir {
        relative: &'a [u8],
    },
    /// A remote file or directory deleted, or that would be (upload with `delete`).
    DeleteRemote {
        relative: &'a [u8],
        dir: bool,
    },
}

/// What a mirror did (or would do, in a dry run). For an upload, `downloaded` and `bytes`
/// count the files and bytes uploaded, `dirs_made` the remote directories made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorSummary {
    pub downloaded: u64,
    pub bytes: u64,
    pub up_to_date: u64,
    pub dirs_made: u64,
    pub deleted: u64,
    pub skipped_links: u64,
    pub refused: u64,
    pub failed: u64,
}

/// A remote file or directory found by the walk.
struct Item {
    remote: Vec<u8>,
    relative: Vec<u8>,
    kind: EntryKind,
    size: Option<u64>,
    modified: Option<i64>,
}

/// A file to download: the item, its local path, where to continue from.
struct Job {
    item: usize,
    path: PathBuf,
    resume_from: Option<u64>,
}

/// `None` when the local copy is up to date (size and time equal to the remote ones), else
/// where to continue from (`Some(None)`: from the start).
fn wanted_download(item: &Item, path: &Path, options: &MirrorOptions) -> Option<Option<u64>> {
    let meta = fs::symlink_metadata(path).ok();
    let local_size = meta.as_ref().filter(|m| m.is_file()).map(|m| m.len());
    let local_time = meta.as_ref().and_then(|m| m.modified().ok()).and_then(|t| t.duration_since(UNIX_EPOCH).ok());
    let same_time = match (item.modified, local_time) {
        (Some(remote), Some(local)) => remote == local.as_secs() as i64,
        (None, _) => true,
        _ => false,
    };
    if local_size.is_some() && local_size == item.size && same_time {
        return None;
    }
    Some(local_size.filter(|&l| options.resume && item.size.is_some_and(|r| l < r)))
}

/// Downloads one file over `c` (continued from `resume_from`), then gives it the remote
/// time. Returns the bytes moved.
fn fetch(c: &mut Client, item: &Item, path: &Path, resume_from: Option<u64>) -> Result<u64> {
    let bytes = match resume_from {
        Some(_) => {
            let file = OpenOptions::new().write(true).open(path).map_err(local("opening the local file", path))?;
            c.resume_download(&item.remote, file.as_raw_fd(), None)?
        }
        None => c.retrieve_file(&item.remote, path, None)?,
    };
    if let Some(t) = item.modified.and_then(|t| u64::try_from(t).ok()) {
        let file = File::options().write(true).open(path);
        let set = file.and_then(|f| f.set_modified(UNIX_EPOCH + Duration::from_secs(t)));
        set.map_err(local("setting the time of the local file", path))?;
    }
    Ok(bytes)
}

/// `relative` (components joined by '/') under `root`, each component checked; `None`
/// when one could escape (empty, `.`, `..`, or holding NUL).
pub fn local_path(root: &Path, relative: &[u8]) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    for part in relative.split(|&b| b == b'/') {
        if part.is_empty() || part == b"." || part == b".." || part.contains(&0) {
            return None;
        }
        path.push(OsStr::from_bytes(part));
    }
    Some(path)
}

/// Whether a path between `root` (excluded) and `path` (included) is a symbolic link: then
/// writing there would land wherever it points.
fn through_link(root: &Path, path: &Path) -> bool {
    let Ok(below) = path.strip_prefix(root) else { return true };
    let mut at = root.to_path_buf();
    for part in below.components() {
        at.push(part);
        if fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return true;
        }
    }
    false
}

/// A local failure, the path in its message. `context` names the local side ("local file",
/// "local directory") so that callers can tell it from the network's.
fn local<'a>(context: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |e| Error::io(context, io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

impl Client {
    /// Downloads the remote tree at `root` (empty: the current directory) into `localdir`
    /// (made when missing), only what changed (see the module's documentation). `events`
    /// hears of every action and refusal as it happens. A download the server refuses
    /// (4xx/5xx) is reported (`Failed`) and counted; any other error (the connection lost,
    /// a local file that cannot be written) ends the mirror. Refused names and failures
    /// are in the summary: a caller that wants all or nothing checks `refused + failed`.
    pub fn mirror_download(
        &mut self,
        root: &[u8],
        localdir: &Path,
        options: &MirrorOptions,
        events: &mut dyn FnMut(MirrorEvent<'_>),
    ) -> Result<MirrorSummary> {
        let prefix_len = if root.is_empty() {
            0
        } else if root.ends_with(b"/") {
            root.len()
        } else {
            root.len() + 1
        };
        let mut items = Vec::new();
        let walked = self.walk(root, &WalkOptions::default(), &mut |path, entry, _| {
            items.push(Item {
                remote: path.to_vec(),
                relative: path[prefix_len.min(path.len())..].to_vec(),
                kind: entry.kind,
                size: entry.size,
                modified: entry.modified,
            });
            WalkControl::Continue
        })?;
        let mut tally = MirrorSummary::default();
        for refused in &walked.refused {
            tally.refused += 1;
            events(MirrorEvent::Refused { name: &refused.name, dir: Some(&refused.dir), reason: refused.reason });
        }
        // What could not be listed is kept whole locally: delete must not take it for gone.
        let mut keep = HashSet::new();
        for (dir, error) in &walked.unlistable {
            tally.failed += 1;
            events(MirrorEvent::Unlistable { dir, error });
            if let Some(path) = local_path(localdir, &dir[prefix_len.min(dir.len())..]) {
                keep.insert(path);
            }
        }
        if !options.dry_run {
            fs::create_dir_all(localdir).map_err(local("making the local directory", localdir))?;
        }
        let outside = format!("not a path inside {}", localdir.display());
        let mut wanted: HashSet<PathBuf> = HashSet::new();
        let mut jobs = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let Some(path) = local_path(localdir, &item.relative) else {
                tally.refused += 1;
                events(MirrorEvent::Refused { name: &item.remote, dir: None, reason: &outside });
                continue;
            };
            wanted.insert(path.clone());
            if through_link(localdir, &path) {
                tally.refused += 1;
                let reason = "a local symbolic link is on the way";
                events(MirrorEvent::Refused { name: &item.remote, dir: None, reason });
                continue;
            }
            match item.kind {
                EntryKind::Dir => {
                    if !path.is_dir() {
                        events(MirrorEvent::MakeDir { relative: &item.relative });
                        tally.dirs_made += 1;
                        if !options.dry_run {
                            fs::create_dir_all(&path).map_err(local("making a local directory", &path))?;
                        }
                    }
                }
                EntryKind::File => {
                    let Some(resume_from) = wanted_download(item, &path, options) else {
                        tally.up_to_date += 1;
                        continue;
                    };
                    events(MirrorEvent::Get { relative: &item.relative, resume_from });
                    if options.dry_run {
                        tally.downloaded += 1;
                        tally.bytes += item.size.unwrap_or(0) - resume_from.unwrap_or(0);
                    } else if options.parallel > 1 {
                        jobs.push(Job { item: index, path, resume_from });
                    } else {
                        match fetch(self, item, &path, resume_from) {
                            Ok(bytes) => {
                                tally.downloaded += 1;
                                tally.bytes += bytes;
                            }
                            Err(error @ (Error::Perm(_) | Error::Temp(_))) => {
                                tally.failed += 1;
                                events(MirrorEvent::Failed { relative: &item.relative, error: &error });
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
                _ => {
                    tally.skipped_links += 1;
                    events(MirrorEvent::Skipped { relative: &item.relative });
                }
            }
        }
        if !jobs.is_empty() {
            let results = self.fetch_parallel(&items, &jobs, options.parallel);
            let mut broken = None;
            for (job, result) in jobs.iter().zip(results) {
                let relative = &items[job.item].relative;
                match result {
                    Ok(bytes) => {
                        tally.downloaded += 1;
                        tally.bytes += bytes;
                    }
                    Err(error @ (Error::Perm(_) | Error::Temp(_))) => {
                        tally.failed += 1;
                        events(MirrorEvent::Failed { relative, error: &error });
                    }
                    Err(e) => {
                        broken.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = broken {
                return Err(e);
            }
        }
        if options.delete {
            delete_extra(localdir, &wanted, &keep, options, &mut tally, events)?;
        }
        Ok(tally)
    }

    /// Downloads one file unless the local copy is up to date: `None` then, else the bytes
    /// moved (or that would move, in a dry run).
    /// Downloads the queued files over `parallel` connections, this one included; a job
    /// whose connection broke is done again here at the end. Results by job.
    fn fetch_parallel(&mut self, items: &[Item], jobs: &[Job], parallel: usize) -> Vec<Result<u64>> {
        let results: Mutex<Vec<Option<Result<u64>>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
        let retry: Mutex<Vec<usize>> = Mutex::new(Vec::new());
        let next = AtomicUsize::new(0);
        let extra = parallel.saturating_sub(1).min(jobs.len().saturating_sub(1));
        // Without a login to repeat (or with PWD failing) this client does it all.
        let spec = if extra > 0 { self.spec(true).ok() } else { None };
        let store = |i: usize, r: Result<u64>| {
            results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
        };
        let work = |c: &mut Client| {
            while let Some(i) = Some(next.fetch_add(1, Ordering::AcqRel)).filter(|&i| i < jobs.len()) {
                let job = &jobs[i];
                match fetch(c, &items[job.item], &job.path, job.resume_from) {
                    Ok(n) => store(i, Ok(n)),
                    Err(e @ (Error::Perm(_) | Error::Temp(_))) => store(i, Err(e)),
                    // Its connection may be gone: the job is done again at the end.
                    Err(_) => {
                        retry.lock().unwrap_or_else(|e| e.into_inner()).push(i);
                        return;
                    }
                }
            }
        };
        std::thread::scope(|scope| {
            if let Some(spec) = &spec {
                for _ in 0..extra {
                    scope.spawn(|| {
                        let _no_sigpipe = crate::net::fdcopy::SigpipeGuard::new();
                        let mut c = spec.client();
                        if spec.open(&mut c).is_ok() {
                            work(&mut c);
                        }
                        if c.is_connected() {
                            let _ = c.quit();
                        }
                    });
                }
            }
            work(self);
        });
        let mut retry = retry.into_inner().unwrap_or_else(|e| e.into_inner());
        retry.sort_unstable();
        for i in retry {
            let job = &jobs[i];
            store(i, fetch(self, &items[job.item], &job.path, job.resume_from));
        }
        results
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::WrongState("a download was not done".into()))))
            .collect()
    }
}

/// A remote file or directory as the walk of an upload's target found it.
struct Remote {
    kind: EntryKind,
    size: Option<u64>,
    modified: Option<i64>,
    /// The time is to the second (MLSD), not to the minute (LIST).
    precise: bool,
}

/// `root` and `relative` joined by '/' (the root itself when `relative` is empty).
fn remote_join(root: &[u8], relative: &[u8]) -> Vec<u8> {
    if root.is_empty() {
        relative.to_vec()
    } else if relative.is_empty() {
        root.to_vec()
    } else if root.ends_with(b"/") {
        [root, relative].concat()
    } else {
        [root, b"/", relative].concat()
    }
}

/// The local tree below `dir`, sorted by name, parents before children: (relative path,
/// metadata of the entry itself: symbolic links are listed to be reported, never followed).
fn local_tree(dir: &Path, relative: &[u8], out: &mut Vec<(Vec<u8>, fs::Metadata)>) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(local("reading a local directory", dir))?
        .collect::<io::Result<_>>()
        .map_err(local("reading a local directory", dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).map_err(local("reading a local directory", &path))?;
        let name = entry.file_name();
        let rel =
            if relative.is_empty() { name.as_bytes().to_vec() } else { [relative, b"/", name.as_bytes()].concat() };
        let is_dir = meta.is_dir();
        out.push((rel.clone(), meta));
        if is_dir {
            local_tree(&path, &rel, out)?;
        }
    }
    Ok(())
}

fn mtime_secs(meta: &fs::Metadata) -> Option<i64> {
    meta.modified().ok()?.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs() as i64)
}

impl Client {
    /// Uploads the local tree `localdir` to the remote directory `root` (lftp's
    /// `mirror -R`; made when missing), only what changed: a remote file is up to date when
    /// its size equals the local one and its time is the local one or later (to the minute
    /// where the server lists with LIST; servers that
    /// take MFMT get the local time set after each upload; the others stamp the upload's
    /// time). Local symbolic links and special files are skipped, names holding CR or LF
    /// refused (they cannot be sent). With `delete`, remote files and directories that are
    /// not in the local tree are deleted; with `resume`, a remote file shorter than the
    /// local one is continued (REST STOR or APPE). A command the server refuses (4xx/5xx)
    /// is reported (`Failed`) and counted; other errors end the mirror.
    pub fn mirror_upload(
        &mut self,
        localdir: &Path,
        root: &[u8],
        options: &MirrorOptions,
        events: &mut dyn FnMut(MirrorEvent<'_>),
    ) -> Result<MirrorSummary> {
        let mut tally = MirrorSummary::default();
        let mut files = Vec::new();
        local_tree(localdir, b"", &mut files)?;
        let prefix_len = if root.is_empty() {
            0
        } else if root.ends_with(b"/") {
            root.len()
        } else {
            root.len() + 1
        };
        let mut remote: std::collections::BTreeMap<Vec<u8>, Remote> = Default::default();
        let walked = self.walk(root, &WalkOptions::default(), &mut |path, entry, _| {
            let relative = path[prefix_len.min(path.len())..].to_vec();
            let precise = entry.format == crate::listing::ListFormat::Mlsd;
            remote.insert(relative, Remote { kind: entry.kind, size: entry.size, modified: entry.modified, precise });
            WalkControl::Continue
        });
        match walked {
            Ok(walked) => {
                for refused in &walked.refused {
                    tally.refused += 1;
                    events(MirrorEvent::Refused {
                        name: &refused.name,
                        dir: Some(&refused.dir),
                        reason: refused.reason,
                    });
                }
            }
            // No such directory yet.
            Err(Error::Perm(_)) if !root.is_empty() => {
                events(MirrorEvent::MakeRemoteDir { relative: b"" });
                tally.dirs_made += 1;
                if !options.dry_run {
                    self.mkd(root)?;
                }
            }
            Err(e) => return Err(e),
        }
        let mfmt = !options.dry_run && self.has_feature("MFMT")?;
        let mut wanted = HashSet::new();
        for (relative, meta) in &files {
            wanted.insert(relative.clone());
            if relative.iter().any(|&b| b == b'\r' || b == b'\n') {
                tally.refused += 1;
                events(MirrorEvent::Refused { name: relative, dir: None, reason: "name holds CR or LF" });
                continue;
            }
            let there = remote.get(relative);
            let target = remote_join(root, relative);
            if meta.is_dir() {
                if !there.is_some_and(|r| r.kind == EntryKind::Dir) {
                    events(MirrorEvent::MakeRemoteDir { relative });
                    tally.dirs_made += 1;
                    if !options.dry_run {
                        match self.mkd(&target) {
                            Ok(_) => {}
                            Err(error @ (Error::Perm(_) | Error::Temp(_))) => {
                                tally.failed += 1;
                                events(MirrorEvent::Failed { relative, error: &error });
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
                continue;
            }
            if !meta.is_file() {
                tally.skipped_links += 1;
                events(MirrorEvent::Skipped { relative });
                continue;
            }
            let size = meta.len();
            let up_to_date = there.is_some_and(|r| {
                r.kind == EntryKind::File
                    && r.size == Some(size)
                    && match (r.modified, mtime_secs(meta)) {
                        // A LIST time is cut to the minute.
                        (Some(remote), Some(local)) => remote + if r.precise { 0 } else { 59 } >= local,
                        _ => true,
                    }
            });
            if up_to_date {
                tally.up_to_date += 1;
                continue;
            }
            let resume_from = there
                .filter(|r| r.kind == EntryKind::File)
                .and_then(|r| r.size)
                .filter(|&r| options.resume && r > 0 && r < size);
            events(MirrorEvent::Put { relative, resume_from });
            let bytes = size - resume_from.unwrap_or(0);
            if options.dry_run {
                tally.downloaded += 1;
                tally.bytes += bytes;
                continue;
            }
            let path = local_path(localdir, relative).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "{}: not a path inside the local tree",
                    String::from_utf8_lossy(relative)
                ))
            })?;
            let file = File::open(&path).map_err(local("opening the local file", &path))?;
            let sent = match resume_from {
                Some(_) => self.resume_upload(&target, file.as_raw_fd(), None),
                None => self.store_from_fd(&target, file.as_raw_fd(), None, false, None),
            };
            match sent {
                Ok(_) => {
                    tally.downloaded += 1;
                    tally.bytes += bytes;
                }
                Err(error @ (Error::Perm(_) | Error::Temp(_))) => {
                    tally.failed += 1;
                    events(MirrorEvent::Failed { relative, error: &error });
                    continue;
                }
                Err(e) => return Err(e),
            }
            if let (true, Some(t)) = (mfmt, mtime_secs(meta)) {
                let (y, mo, d, h, mi, s) = crate::listing::civil_from_epoch(t);
                let line = [format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02} ").as_bytes(), &target].concat();
                // A refused time only makes the next run upload the file again.
                match self.cmd("MFMT", Some(&line)) {
                    Ok(_) | Err(Error::Perm(_) | Error::Temp(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if options.delete {
            // Deepest first (a path sorts after its parent): a directory is empty by its turn.
            for (relative, r) in remote.iter().rev() {
                if relative.is_empty() || wanted.contains(relative) {
                    continue;
                }
                let dir = r.kind == EntryKind::Dir;
                events(MirrorEvent::DeleteRemote { relative, dir });
                if options.dry_run {
                    tally.deleted += 1;
                    continue;
                }
                let target = remote_join(root, relative);
                let done = if dir { self.rmd(&target).map(drop) } else { self.delete(&target).map(drop) };
                match done {
                    Ok(()) => tally.deleted += 1,
                    Err(error @ (Error::Perm(_) | Error::Temp(_) | Error::Reply(_))) => {
                        tally.failed += 1;
                        events(MirrorEvent::Failed { relative, error: &error });
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(tally)
    }
}

/// Removes what is under `root` and neither `wanted` nor under `keep`.
fn delete_extra(
    root: &Path,
    wanted: &HashSet<PathBuf>,
    keep: &HashSet<PathBuf>,
    options: &MirrorOptions,
    tally: &mut MirrorSummary,
    events: &mut dyn FnMut(MirrorEvent<'_>),
) -> Result<()> {
    let Ok(entries) = fs::read_dir(root) else { return Ok(()) };
    for entry in entries {
        let entry = entry.map_err(local("reading a local directory", root))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(local("reading a local directory", &path))?;
        if keep.contains(&path) {
            continue;
        }
        if wanted.contains(&path) {
            if kind.is_dir() {
                delete_extra(&path, wanted, keep, options, tally, events)?;
            }
            continue;
        }
        events(MirrorEvent::Delete { path: &path });
        tally.deleted += 1;
        if options.dry_run {
            continue;
        }
        let removed = if kind.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        removed.map_err(local("deleting a local file", &path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_stay_inside() {
        let root = Path::new("/m");
        assert_eq!(local_path(root, b"a/b c/d\xe9"), Some(PathBuf::from(OsStr::from_bytes(b"/m/a/b c/d\xe9"))));
        for bad in [&b""[..], b"..", b"a/../b", b"a//b", b"/abs", b"a/", b"nul\0", b"."] {
            assert_eq!(local_path(root, bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
