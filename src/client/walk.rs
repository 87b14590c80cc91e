//! Walking a remote tree: every entry below a directory handed to a callback with its full
//! path and depth, depth-first or breadth-first.
//!
//! Directories are listed with MLSD when FEAT offers it and with LIST otherwise. LIST goes
//! through CWD into each directory and lists it without an argument: BSD ftpd passes a
//! LIST argument to `ls` through a shell-like split and glob (a space or `*` in a name
//! breaks it), and any server takes a name starting with `-` for options. The directory
//! the walk started in is restored at the end.
//!
//! A name the server gives that is not a single path component (empty, holding `/` or
//! NUL) is never joined into a path: it is refused and reported in the summary, so that a
//! caller that writes what it walks cannot be sent outside its target. `.` and `..` and
//! MLSD's `cdir`/`pdir` entries are skipped silently.
//!
//! Loops: symbolic links shown as links (LIST `l`, MLSD `OS.unix=slink`) are not followed
//! unless asked, and a directory whose MLSD `unique` fact was already seen in this walk is
//! not entered again, which also stops servers that show a link to a directory as a
//! directory (pure-ftpd) from walking in circles.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::proto::listing::{Entry, EntryKind, ListFormat};
use std::collections::{HashSet, VecDeque};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WalkOrder {
    /// Each directory's entries right after the directory itself (pre-order).
    #[default]
    DepthFirst,
    /// All entries of one depth before any of the next.
    BreadthFirst,
}

/// How directories are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListingMethod {
    /// MLSD when FEAT offers it, LIST otherwise.
    #[default]
    Auto,
    Mlsd,
    List,
}

#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    pub order: WalkOrder,
    /// The deepest level handed to the callback (the root's entries are depth 1); `None`
    /// for no limit.
    pub max_depth: Option<usize>,
    pub listing: ListingMethod,
    /// Enter symbolic links that lead to directories. Only with MLSD: a link is tried as a
    /// directory and entered unless the `unique` fact of what it leads to was already seen.
    /// LIST gives no identity to tell a loop by, so its links are never entered.
    pub follow_links: bool,
}

/// What the callback asks of the walk after an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkControl {
    Continue,
    /// Do not enter this directory (the same as `Continue` for anything else).
    Skip,
    /// End the walk now; it returns its summary with `stopped` set.
    Stop,
}

/// A name from a listing that the walk would not make a path of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The directory whose listing held it, as the walk names it.
    pub dir: Vec<u8>,
    /// The name as the server sent it (for an unparsed LIST line: the whole line).
    pub name: Vec<u8>,
    pub reason: &'static str,
}

/// What a walk did besides calling back.
#[derive(Debug, Default)]
pub struct WalkSummary {
    /// Entries handed to the callback.
    pub entries: u64,
    /// Directories listed, the root included.
    pub directories: u64,
    pub refused: Vec<Refused>,
    /// Directories not entered because the walk had already been in them (same `unique`).
    pub loops: Vec<Vec<u8>>,
    /// Directories below the root whose listing the server refused (5xx), with the error:
    /// the walk goes on without them.
    pub unlistable: Vec<(Vec<u8>, String)>,
    /// The callback asked to stop.
    pub stopped: bool,
}

/// Why `name` cannot be a path component, or `None` when it can.
pub fn refusal(name: &[u8]) -> Option<&'static str> {
    if name.is_empty() {
        Some("empty name")
    } else if name.contains(&0) {
        Some("name holds a NUL byte")
    } else if name.contains(&b'/') {
        Some("name holds '/'")
    } else {
        None
    }
}

/// `dir/name`, with no separator doubled and nothing in front of a name in "" (the
/// current directory).
pub fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut path = Vec::with_capacity(dir.len() + 1 + name.len());
    path.extend_from_slice(dir);
    if !dir.is_empty() && !dir.ends_with(b"/") {
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

/// The callback of a walk: the entry's full path, the parsed entry and its depth.
pub type WalkCallback<'a> = &'a mut dyn FnMut(&[u8], &Entry, usize) -> WalkControl;

/// A listed directory, its entries not yet handed out.
struct Frame {
    path: Vec<u8>,
    /// The depth of its entries.
    depth: usize,
    entries: std::vec::IntoIter<Entry>,
}

struct Walker<'o> {
    options: &'o WalkOptions,
    mlsd: bool,
    /// The directory the walk started in, once LIST needed it; and where CWD last went.
    start: Option<Vec<u8>>,
    cwd: Option<Vec<u8>>,
    visited: HashSet<Vec<u8>>,
    summary: WalkSummary,
}

impl Client {
    /// Lists the tree below `root` (empty: the current directory), handing each entry to
    /// `callback` with its path (`root` joined with the names on the way, as bytes), the
    /// parsed entry and its depth (1 for the root's entries). Failing to list the root is
    /// an error; a refused listing below it is noted in the summary and skipped.
    pub fn walk(&mut self, root: &[u8], options: &WalkOptions, callback: WalkCallback<'_>) -> Result<WalkSummary> {
        let mlsd = match options.listing {
            ListingMethod::Auto => self.has_feature("MLSD")?,
            ListingMethod::Mlsd => true,
            ListingMethod::List => false,
        };
        let mut walker =
            Walker { options, mlsd, start: None, cwd: None, visited: HashSet::new(), summary: Default::default() };
        let result = walker.run(self, root, callback);
        // Back where the walk started, after an error too when the connection is still up.
        if let (Some(start), Some(cwd)) = (&walker.start, &walker.cwd) {
            if start != cwd && self.is_connected() {
                let restored = self.cwd(start);
                if result.is_ok() {
                    restored?;
                }
            }
        }
        result.map(|()| walker.summary)
    }
}

impl Walker<'_> {
    fn run(&mut self, client: &mut Client, root: &[u8], callback: WalkCallback<'_>) -> Result<()> {
        // The root has not been seen before, so it is never taken for a loop.
        let entries = self.list(client, root, None)?.unwrap_or_default();
        let first = Frame { path: root.to_vec(), depth: 1, entries: entries.into_iter() };
        match self.options.order {
            WalkOrder::DepthFirst => self.depth_first(client, first, callback),
            WalkOrder::BreadthFirst => self.breadth_first(client, first, callback),
        }
    }

    fn depth_first(&mut self, client: &mut Client, first: Frame, callback: WalkCallback<'_>) -> Result<()> {
        let mut stack = vec![first];
        while let Some(frame) = stack.last_mut() {
            let Some(entry) = frame.entries.next() else {
                stack.pop();
                continue;
            };
            let (path, depth) = (join(&frame.path, &entry.name), frame.depth);
            if let Some(child) = self.visit(client, path, depth, &entry, callback)? {
                stack.push(child);
            }
            if self.summary.stopped {
                break;
            }
        }
        Ok(())
    }

    fn breadth_first(&mut self, client: &mut Client, first: Frame, callback: WalkCallback<'_>) -> Result<()> {
        let mut queue = VecDeque::from([first]);
        while let Some(frame) = queue.pop_front() {
            for entry in frame.entries {
                let path = join(&frame.path, &entry.name);
                if let Some(child) = self.visit(client, path, frame.depth, &entry, callback)? {
                    queue.push_back(child);
                }
                if self.summary.stopped {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Hands one entry to the callback; a directory to enter comes back listed.
    fn visit(
        &mut self,
        client: &mut Client,
        path: Vec<u8>,
        depth: usize,
        entry: &Entry,
        callback: WalkCallback<'_>,
    ) -> Result<Option<Frame>> {
        self.summary.entries += 1;
        match callback(&path, entry, depth) {
            WalkControl::Continue => {}
            WalkControl::Skip => return Ok(None),
            WalkControl::Stop => {
                self.summary.stopped = true;
                return Ok(None);
            }
        }
        let enter = match entry.kind {
            EntryKind::Dir => true,
            EntryKind::Link => self.options.follow_links && self.mlsd,
            _ => false,
        };
        if !enter || self.options.max_depth.is_some_and(|max| depth >= max) {
            return Ok(None);
        }
        if let Some(unique) = &entry.unique {
            if !self.visited.insert(unique.clone()) {
                self.summary.loops.push(path);
                return Ok(None);
            }
        }
        match self.list(client, &path, entry.unique.as_deref()) {
            Ok(Some(entries)) => Ok(Some(Frame { path, depth: depth + 1, entries: entries.into_iter() })),
            Ok(None) => {
                self.summary.loops.push(path);
                Ok(None)
            }
            // A link that leads to a file or nowhere: nothing to enter.
            Err(Error::Perm(_)) if entry.kind == EntryKind::Link => Ok(None),
            Err(e @ Error::Perm(_)) => {
                self.summary.unlistable.push((path, e.to_string()));
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The entries of one directory that the walk hands out, refused names noted; `None`
    /// when its MLSD `cdir` entry shows the walk has been there already (under another
    /// identity than `entered`, the one its entry in the parent gave).
    fn list(&mut self, client: &mut Client, dir: &[u8], entered: Option<&[u8]>) -> Result<Option<Vec<Entry>>> {
        let listed = if self.mlsd {
            client.mlsd(Some(dir).filter(|d| !d.is_empty()), &[])?
        } else {
            self.go_to(client, dir)?;
            client.list_entries(None)?
        };
        self.summary.directories += 1;
        let mut entries = Vec::with_capacity(listed.len());
        for entry in listed {
            match entry.kind {
                EntryKind::CurrentDir => {
                    // The directory's own identity: seen before means a loop.
                    if let Some(unique) = entry.unique {
                        if entered != Some(&unique) && !self.visited.insert(unique) {
                            return Ok(None);
                        }
                    }
                    continue;
                }
                EntryKind::ParentDir => continue,
                _ => {}
            }
            if entry.name == b"." || entry.name == b".." {
                continue;
            }
            let reason = match entry.format {
                ListFormat::Unparsed => Some("a listing line no parser understands"),
                _ => refusal(&entry.name),
            };
            match reason {
                Some(reason) => self.summary.refused.push(Refused { dir: dir.to_vec(), name: entry.name, reason }),
                None => entries.push(entry),
            }
        }
        Ok(Some(entries))
    }

    /// CWD into `dir` (relative to where the walk started) for a LIST without argument.
    fn go_to(&mut self, client: &mut Client, dir: &[u8]) -> Result<()> {
        if self.start.is_none() {
            let start = client.pwd()?;
            self.cwd = Some(start.clone());
            self.start = Some(start);
        }
        let start = self.start.as_deref().unwrap_or_default();
        let target = if dir.starts_with(b"/") {
            dir.to_vec()
        } else if start.is_empty() {
            // Relative CWDs one after the other would need the way back each time.
            return Err(Error::Unsupported("walking with LIST needs PWD to name the current directory".into()));
        } else if dir.is_empty() {
            start.to_vec()
        } else {
            join(start, dir)
        };
        if self.cwd.as_deref() == Some(&target) {
            return Ok(());
        }
        // Where the server is after a failed CWD is unknown until the next one succeeds.
        self.cwd = None;
        client.cwd(&target)?;
        self.cwd = Some(target);
        Ok(())
    }
}
