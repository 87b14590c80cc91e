//! `ftpc mirror URL LOCALDIR`: the remote tree into a local directory, only what changed.
//!
//! The tree is walked first (the library's walk: MLSD or LIST, names that are not one
//! path component refused there), then acted on. Every local path is LOCALDIR joined with
//! the walk's components, each checked again here (never empty, `.`, `..`, nor holding `/`
//! or NUL), and never written through a local symbolic link: nothing lands outside
//! LOCALDIR. A file is up to date when its size and modification time equal the remote
//! ones (the time set on each file downloaded); remote links are not followed.

use crate::failure::{Failure, Outcome};
use ftpc::listing::EntryKind;
use ftpc::walk::{WalkControl, WalkOptions};
use ftpc::{Client, Error};
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

pub struct Options {
    pub dry_run: bool,
    pub delete: bool,
    pub resume: bool,
}

struct Item {
    remote: Vec<u8>,
    /// The path below the root, components joined by '/'.
    relative: Vec<u8>,
    kind: EntryKind,
    size: Option<u64>,
    modified: Option<i64>,
}

#[derive(Default)]
struct Tally {
    downloaded: u64,
    bytes: u64,
    up_to_date: u64,
    dirs_made: u64,
    deleted: u64,
    skipped_links: u64,
    refused: u64,
    failed: u64,
}

fn say(line: String) {
    let mut stdout = io::stdout().lock();
    if writeln!(stdout, "{line}").is_err() {
        // A reader that went away is no reason to stop mirroring.
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `relative` under `root`, each component checked; `None` when one could escape.
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

pub fn run(c: &mut Client, root: &[u8], localdir: &Path, options: Options) -> Outcome {
    let prefix_len = if root.is_empty() {
        0
    } else if root.ends_with(b"/") {
        root.len()
    } else {
        root.len() + 1
    };
    let mut items = Vec::new();
    let summary = c
        .walk(root, &WalkOptions::default(), &mut |path, entry, _| {
            items.push(Item {
                remote: path.to_vec(),
                relative: path[prefix_len.min(path.len())..].to_vec(),
                kind: entry.kind,
                size: entry.size,
                modified: entry.modified,
            });
            WalkControl::Continue
        })
        .map_err(Failure::ftp(format!("walking {:?}", lossy(root))))?;
    let mut tally = Tally::default();
    for refused in &summary.refused {
        tally.refused += 1;
        say(format!("refuse {:?} in {:?}: {}", lossy(&refused.name), lossy(&refused.dir), refused.reason));
    }
    // What could not be listed is kept whole locally: --delete must not take it for gone.
    let mut keep = HashSet::new();
    for (dir, error) in &summary.unlistable {
        tally.failed += 1;
        say(format!("fail   {}: {error}", lossy(dir)));
        if let Some(local) = local_path(localdir, &dir[prefix_len.min(dir.len())..]) {
            keep.insert(local);
        }
    }
    if !options.dry_run {
        fs::create_dir_all(localdir).map_err(|e| Failure::Local(format!("{}: {e}", localdir.display())))?;
    }
    let mut wanted: HashSet<PathBuf> = HashSet::new();
    for item in &items {
        let Some(local) = local_path(localdir, &item.relative) else {
            tally.refused += 1;
            say(format!("refuse {:?}: not a path inside {}", lossy(&item.remote), localdir.display()));
            continue;
        };
        wanted.insert(local.clone());
        if through_link(localdir, &local) {
            tally.refused += 1;
            say(format!("refuse {}: a local symbolic link is on the way", local.display()));
            continue;
        }
        match item.kind {
            EntryKind::Dir => {
                if !local.is_dir() {
                    say(format!("mkdir  {}", lossy(&item.relative)));
                    tally.dirs_made += 1;
                    if !options.dry_run {
                        fs::create_dir_all(&local).map_err(|e| Failure::Local(format!("{}: {e}", local.display())))?;
                    }
                }
            }
            EntryKind::File => match download(c, item, &local, &options) {
                Ok(None) => tally.up_to_date += 1,
                Ok(Some(bytes)) => {
                    tally.downloaded += 1;
                    tally.bytes += bytes;
                }
                Err(failure @ Failure::Ftp(_, Error::Perm(_) | Error::Temp(_))) => {
                    tally.failed += 1;
                    say(format!("fail   {}: {failure}", lossy(&item.relative)));
                }
                Err(failure) => return Err(failure),
            },
            _ => {
                tally.skipped_links += 1;
                say(format!("skip   {} (a link or special file)", lossy(&item.relative)));
            }
        }
    }
    if options.delete {
        delete_extra(localdir, &wanted, &keep, &options, &mut tally)?;
    }
    let verb = if options.dry_run { "would download" } else { "downloaded" };
    say(format!(
        "{verb} {} files ({} bytes), {} up to date, {} directories made, {} deleted, {} links skipped, {} refused, {} failed",
        tally.downloaded,
        tally.bytes,
        tally.up_to_date,
        tally.dirs_made,
        tally.deleted,
        tally.skipped_links,
        tally.refused,
        tally.failed
    ));
    if tally.refused + tally.failed > 0 {
        return Err(Failure::Partial(format!(
            "mirror finished with {} names refused and {} failures",
            tally.refused, tally.failed
        )));
    }
    Ok(())
}

/// Downloads one file unless the local copy is up to date: `None` then, else the bytes
/// moved (or that would move, in a dry run).
fn download(c: &mut Client, item: &Item, local: &Path, options: &Options) -> Outcome<Option<u64>> {
    let meta = fs::symlink_metadata(local).ok();
    let local_size = meta.as_ref().filter(|m| m.is_file()).map(|m| m.len());
    let local_time = meta.as_ref().and_then(|m| m.modified().ok()).and_then(|t| t.duration_since(UNIX_EPOCH).ok());
    let same_time = match (item.modified, local_time) {
        (Some(remote), Some(local)) => remote == local.as_secs() as i64,
        (None, _) => true,
        _ => false,
    };
    if local_size.is_some() && local_size == item.size && same_time {
        return Ok(None);
    }
    let resume_from = local_size.filter(|&l| options.resume && item.size.is_some_and(|r| l < r));
    let rel = lossy(&item.relative);
    match resume_from {
        Some(from) => say(format!("resume {rel} (from byte {from})")),
        None => say(format!("get    {rel}")),
    }
    if options.dry_run {
        return Ok(Some(item.size.unwrap_or(0) - resume_from.unwrap_or(0)));
    }
    let context = format!("downloading {rel}");
    let bytes = match resume_from {
        Some(_) => {
            let file = OpenOptions::new()
                .write(true)
                .open(local)
                .map_err(|e| Failure::Local(format!("{}: {e}", local.display())))?;
            c.resume_download(&item.remote, file.as_raw_fd(), None).map_err(Failure::ftp(context))?
        }
        None => c.retrieve_file(&item.remote, local, None).map_err(Failure::ftp(context))?,
    };
    if let Some(t) = item.modified.and_then(|t| u64::try_from(t).ok()) {
        let file = File::options().write(true).open(local);
        let set = file.and_then(|f| f.set_modified(UNIX_EPOCH + Duration::from_secs(t)));
        set.map_err(|e| Failure::Local(format!("setting the time of {}: {e}", local.display())))?;
    }
    Ok(Some(bytes))
}

/// Removes what is under `root` and neither `wanted` nor under `keep`.
fn delete_extra(
    root: &Path,
    wanted: &HashSet<PathBuf>,
    keep: &HashSet<PathBuf>,
    options: &Options,
    tally: &mut Tally,
) -> Outcome {
    let Ok(entries) = fs::read_dir(root) else { return Ok(()) };
    for entry in entries {
        let entry = entry.map_err(|e| Failure::Local(format!("{}: {e}", root.display())))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| Failure::Local(format!("{}: {e}", path.display())))?;
        if keep.contains(&path) {
            continue;
        }
        if wanted.contains(&path) {
            if kind.is_dir() {
                delete_extra(&path, wanted, keep, options, tally)?;
            }
            continue;
        }
        say(format!("delete {}", path.display()));
        tally.deleted += 1;
        if options.dry_run {
            continue;
        }
        let removed = if kind.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        removed.map_err(|e| Failure::Local(format!("deleting {}: {e}", path.display())))?;
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
