//! `ftpc mirror URL LOCALDIR`: the library's `Client::mirror_download`, each of its events
//! printed as a line, then the summary; refused names or failures give exit status 11.

use crate::failure::{Failure, Outcome};
use ftpc::{Client, MirrorEvent, MirrorOptions};
use std::io::{self, Write};
use std::path::Path;

fn say(line: String) {
    let mut stdout = io::stdout().lock();
    if writeln!(stdout, "{line}").is_err() {
        // A reader that went away is no reason to stop mirroring.
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn show(event: MirrorEvent<'_>) {
    say(match event {
        MirrorEvent::Refused { name, dir: Some(dir), reason } => {
            format!("refuse {:?} in {:?}: {reason}", lossy(name), lossy(dir))
        }
        MirrorEvent::Refused { name, dir: None, reason } => format!("refuse {:?}: {reason}", lossy(name)),
        MirrorEvent::Unlistable { dir, error } => format!("fail   {}: {error}", lossy(dir)),
        MirrorEvent::MakeDir { relative } => format!("mkdir  {}", lossy(relative)),
        MirrorEvent::Get { relative, resume_from: None } => format!("get    {}", lossy(relative)),
        MirrorEvent::Get { relative, resume_from: Some(from) } => {
            format!("resume {} (from byte {from})", lossy(relative))
        }
        MirrorEvent::Failed { relative, error } => format!("fail   {}: {error}", lossy(relative)),
        MirrorEvent::Skipped { relative } => format!("skip   {} (a link or special file)", lossy(relative)),
        MirrorEvent::Delete { path } => format!("delete {}", path.display()),
        MirrorEvent::Put { relative, resume_from: None } => format!("put    {}", lossy(relative)),
        MirrorEvent::Put { relative, resume_from: Some(from) } => {
            format!("resume {} (from byte {from})", lossy(relative))
        }
        MirrorEvent::MakeRemoteDir { relative } => format!("mkdir  {}", lossy(relative)),
        MirrorEvent::DeleteRemote { relative, .. } => format!("delete {}", lossy(relative)),
    });
}

pub fn run(c: &mut Client, root: &[u8], localdir: &Path, options: MirrorOptions) -> Outcome {
    let tally = c.mirror_download(root, localdir, &options, &mut show).map_err(Failure::ftp(format!(
        "mirroring {:?} into {}",
        lossy(root),
        localdir.display()
    )))?;
    let verb = if options.dry_run { "would download" } else { "downloaded" };
    finish(tally, verb)
}

/// `mirror -R LOCALDIR URL`: the library's `Client::mirror_upload`.
pub fn upload(c: &mut Client, localdir: &Path, root: &[u8], options: MirrorOptions) -> Outcome {
    if !localdir.is_dir() {
        return Err(Failure::Local(format!("{}: not a directory", localdir.display())));
    }
    let tally = c.mirror_upload(localdir, root, &options, &mut show).map_err(Failure::ftp(format!(
        "mirroring {} to {:?}",
        localdir.display(),
        lossy(root)
    )))?;
    let verb = if options.dry_run { "would upload" } else { "uploaded" };
    finish(tally, verb)
}

fn finish(tally: ftpc::MirrorSummary, verb: &str) -> Outcome {
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
