//! `ftpc`, a command-line FTP and FTPS client on the ftpc library.

mod failure;
mod mirror;
mod progress;
mod session;
mod show;
mod url;

use clap::{Parser, Subcommand};
use failure::{Failure, Outcome, EXIT_TABLE};
use ftpc::listing::Entry;
use ftpc::walk::{WalkControl, WalkOptions};
use ftpc::{Client, Error};
use progress::Bar;
use session::ConnectOptions;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use url::FtpUrl;

const ABOUT: &str = "A command-line FTP and FTPS client (the ftpc library).

URLs: ftp://[USER[:PASSWORD]@]HOST[:PORT]/PATH for FTP (add --explicit-tls for AUTH TLS)
and ftps://... for implicit FTPS (port 990). PATH is relative to the login directory;
%2F at its start makes it absolute (ftp://host/%2Fpub/file is /pub/file). Credentials
come from the URL, else from ~/.netrc (or --netrc-file), else a password prompt on a
terminal; with no user at all, anonymous. Certificates are verified against the system
store unless --cafile or --insecure.";

#[derive(Parser)]
#[command(name = "ftpc", version, about = ABOUT, after_help = EXIT_TABLE)]
struct Cli {
    #[command(flatten)]
    connect: ConnectOptions,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List a directory (MLSD facts where the server has them, else parsed LIST lines).
    Ls {
        url: String,
        /// Type, permissions, size and time (UTC) before each name.
        #[arg(short = 'l', long)]
        long: bool,
        /// A JSON array of the parsed entries (all facts), for scripts.
        #[arg(long, conflicts_with = "long")]
        json: bool,
        /// The whole tree below, depth-first, with full paths.
        #[arg(short = 'R', long)]
        recursive: bool,
        /// With -R: how deep to go (1: the directory's own entries).
        #[arg(long, value_name = "N", requires = "recursive")]
        max_depth: Option<usize>,
    },
    /// Download a file (LOCAL: a file or directory; default: the remote name here; -: stdout).
    Get {
        url: String,
        local: Option<PathBuf>,
        /// Continue a partial download: append what the local file lacks (REST).
        #[arg(short = 'c', long = "continue")]
        resume: bool,
        /// Download over N connections at once, each reading its own range (REST), as lftp's
        /// pget -n; one connection where the server refuses REST or more sessions.
        #[arg(short = 'n', long, value_name = "N", default_value_t = 1, conflicts_with = "resume",
              value_parser = clap::value_parser!(u8).range(1..=64))]
        segments: u8,
        /// No progress bar.
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// Upload a file (to the URL's path, or into it when it ends with '/').
    Put {
        local: PathBuf,
        url: String,
        /// Continue a partial upload: send what the remote file lacks (REST, else APPE).
        #[arg(short = 'c', long = "continue")]
        resume: bool,
        /// No progress bar.
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// Download a remote tree into a local directory (mirror URL LOCALDIR), or with -R
    /// upload a local tree (mirror -R LOCALDIR URL): only what changed (size and time).
    Mirror {
        /// URL to download from; with -R, the local directory to upload.
        #[arg(value_name = "SOURCE")]
        source: OsString,
        /// Local directory to download into; with -R, the URL to upload to.
        #[arg(value_name = "TARGET")]
        target: OsString,
        /// Reverse: upload LOCALDIR to URL (as lftp's mirror -R).
        #[arg(short = 'R', long)]
        reverse: bool,
        /// Download N files at once, over N connections (downloads only).
        #[arg(short = 'P', long, value_name = "N", default_value_t = 1, conflicts_with = "reverse",
              value_parser = clap::value_parser!(u8).range(1..=16))]
        parallel: u8,
        /// Say what would be done, do nothing.
        #[arg(long)]
        dry_run: bool,
        /// Delete what is not in the source any more (local files on a download, remote
        /// ones on an upload).
        #[arg(long)]
        delete: bool,
        /// Continue partial files (a target file shorter than the source one) instead of
        /// sending them again.
        #[arg(short = 'c', long = "continue")]
        resume: bool,
    },
    /// Delete a file.
    Rm { url: String },
    /// Make a directory.
    Mkdir { url: String },
    /// Remove an empty directory.
    Rmdir { url: String },
    /// Rename a file or directory to TO (a path on the same server, as in a URL).
    Mv { url: String, to: OsString },
    /// Write a file to stdout.
    Cat { url: String },
    /// Send a raw command (after login, in the URL's directory) and print the reply.
    Quote {
        url: String,
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<OsString>,
    },
}

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(()) => 0,
        Err(failure) => {
            eprintln!("ftpc: {failure}");
            failure.exit_code()
        }
    };
    std::process::exit(code);
}

fn parse_url(text: &str) -> Outcome<FtpUrl> {
    FtpUrl::parse(text).map_err(|e| Failure::Usage(e.to_string()))
}

fn run(cli: Cli) -> Outcome {
    let options = &cli.connect;
    let url_text = match &cli.command {
        Command::Ls { url, .. }
        | Command::Get { url, .. }
        | Command::Put { url, .. }
        | Command::Rm { url }
        | Command::Mkdir { url }
        | Command::Rmdir { url }
        | Command::Mv { url, .. }
        | Command::Cat { url }
        | Command::Quote { url, .. } => url.clone(),
        Command::Mirror { source, target, reverse, .. } => {
            let url = if *reverse { target } else { source };
            url.to_str().ok_or_else(|| Failure::Usage(format!("{url:?} is not a URL (not UTF-8)")))?.to_string()
        }
    };
    let url = parse_url(&url_text)?;
    // Checked before connecting: a mistake in the arguments costs no login.
    if let Command::Put { local, .. } = &cli.command {
        std::fs::metadata(local).map_err(|e| Failure::Local(format!("{}: {e}", local.display())))?;
    }
    let mut client = session::open(&url, options)?;
    let result = command(&mut client, &url, cli.command);
    // The session ends politely; a failed QUIT changes nothing that was done.
    if client.is_connected() {
        let _ = client.quit();
    }
    result
}

fn command(c: &mut Client, url: &FtpUrl, command: Command) -> Outcome {
    let path = url.path.as_slice();
    let named = |what: &str| format!("{what} {}", String::from_utf8_lossy(path));
    match command {
        Command::Ls { long, json, recursive, max_depth, .. } => {
            if recursive {
                ls_recursive(c, path, long, json, max_depth)
            } else {
                ls(c, path, long, json)
            }
        }
        Command::Get { local, resume, segments, quiet, .. } => get(c, url, local, resume, segments, quiet),
        Command::Put { local, resume, quiet, .. } => put(c, url, &local, resume, quiet),
        Command::Mirror { source, target, reverse, parallel, dry_run, delete, resume } => {
            let options = ftpc::MirrorOptions { dry_run, delete, resume, parallel: usize::from(parallel) };
            if reverse {
                mirror::upload(c, Path::new(&source), path, options)
            } else {
                mirror::run(c, path, Path::new(&target), options)
            }
        }
        Command::Rm { .. } => c.delete(need_path(path)?).map(drop).map_err(Failure::ftp(named("deleting"))),
        Command::Mkdir { .. } => c.mkd(need_path(path)?).map(drop).map_err(Failure::ftp(named("making"))),
        Command::Rmdir { .. } => c.rmd(need_path(path)?).map(drop).map_err(Failure::ftp(named("removing"))),
        Command::Mv { to, .. } => {
            let to = url::percent_decode(&String::from_utf8_lossy(to.as_bytes()))
                .map_err(|e| Failure::Usage(format!("TO: {e}")))?;
            c.rename(need_path(path)?, &to).map(drop).map_err(Failure::ftp(named("renaming")))
        }
        Command::Cat { .. } => cat(c, need_path(path)?),
        Command::Quote { command, .. } => quote(c, path, &command),
    }
}

fn need_path(path: &[u8]) -> Outcome<&[u8]> {
    if path.is_empty() {
        return Err(Failure::Usage("the URL names no file or directory (nothing after the host)".into()));
    }
    Ok(path)
}

/// Output to stdout; a reader that went away (`| head`) ends the command quietly.
fn out(bytes: &[u8]) -> Outcome {
    match io::stdout().lock().write_all(bytes) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Failure::Local(format!("writing to stdout: {e}"))),
    }
}

/// The entries of one directory: MLSD where the server has it, else LIST inside it (a
/// LIST argument is split and globbed by some servers). A path that is no directory is
/// listed alone (MLST, or LIST of it).
fn list(c: &mut Client, path: &[u8]) -> Result<Vec<Entry>, Error> {
    let arg = (!path.is_empty()).then_some(path);
    if c.has_feature("MLSD")? {
        return match c.mlsd(arg, &[]) {
            Err(Error::Perm(_)) if arg.is_some() => Ok(vec![c.mlst(arg)?]),
            other => other,
        };
    }
    if let Some(dir) = arg {
        match c.cwd(dir) {
            Ok(_) => return c.list_entries(None),
            Err(Error::Perm(_)) => return c.list_entries(arg),
            Err(e) => return Err(e),
        }
    }
    c.list_entries(None)
}

fn ls(c: &mut Client, path: &[u8], long: bool, json: bool) -> Outcome {
    let entries = list(c, path).map_err(Failure::ftp(format!("listing {:?}", String::from_utf8_lossy(path))))?;
    let entries: Vec<Entry> = entries
        .into_iter()
        .filter(|e| !matches!(e.kind, ftpc::listing::EntryKind::CurrentDir | ftpc::listing::EntryKind::ParentDir))
        .collect();
    if json {
        let array: Vec<serde_json::Value> = entries.iter().map(|e| show::entry_json(e, None, None)).collect();
        return out(format!("{}\n", serde_json::Value::Array(array)).as_bytes());
    }
    let mut text = Vec::new();
    for entry in &entries {
        if long {
            text.extend(show::long_line(entry, &entry.name));
        } else {
            text.extend_from_slice(&entry.name);
            text.push(b'\n');
        }
    }
    out(&text)
}

fn ls_recursive(c: &mut Client, path: &[u8], long: bool, json: bool, max_depth: Option<usize>) -> Outcome {
    let options = WalkOptions { max_depth, ..Default::default() };
    let mut array = Vec::new();
    let mut text = Vec::new();
    let summary = c
        .walk(path, &options, &mut |full, entry, depth| {
            if json {
                array.push(show::entry_json(entry, Some(full), Some(depth)));
            } else if long {
                text.extend(show::long_line(entry, full));
            } else {
                text.extend_from_slice(full);
                text.push(b'\n');
            }
            WalkControl::Continue
        })
        .map_err(Failure::ftp(format!("walking {:?}", String::from_utf8_lossy(path))))?;
    if json {
        out(format!("{}\n", serde_json::Value::Array(array)).as_bytes())?;
    } else {
        out(&text)?;
    }
    for refused in &summary.refused {
        eprintln!(
            "ftpc: refused a name in {:?}: {:?} ({})",
            String::from_utf8_lossy(&refused.dir),
            String::from_utf8_lossy(&refused.name),
            refused.reason
        );
    }
    for (dir, error) in &summary.unlistable {
        eprintln!("ftpc: cannot list {:?}: {error}", String::from_utf8_lossy(dir));
    }
    Ok(())
}

fn get(c: &mut Client, url: &FtpUrl, local: Option<PathBuf>, resume: bool, segments: u8, quiet: bool) -> Outcome {
    let remote = need_path(&url.path)?;
    let name = url.file_name();
    if local.as_deref() == Some(Path::new("-")) {
        return cat(c, remote);
    }
    let local = match local {
        Some(dir) if dir.is_dir() => dir.join(local_name(name)?),
        Some(file) => file,
        None => local_name(name)?,
    };
    let bar = Bar::new(&String::from_utf8_lossy(name), !quiet);
    let mut progress = bar.callback();
    let context = format!("downloading {} to {}", String::from_utf8_lossy(remote), local.display());
    let result = if resume {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&local)
            .map_err(|e| Failure::Local(format!("{}: {e}", local.display())))?;
        c.resume_download(remote, file.as_raw_fd(), Some(&mut progress)).and_then(|n| {
            file.sync_data().map_err(|e| Error::Io { context: "writing the local file", source: e })?;
            Ok(n)
        })
    } else if segments > 1 {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&local)
            .map_err(|e| Failure::Local(format!("{}: {e}", local.display())))?;
        let options = ftpc::SegmentOptions::new(usize::from(segments));
        c.retrieve_segmented(remote, &file, &options, Some(&mut progress)).and_then(|done| {
            file.sync_data().map_err(|e| Error::Io { context: "writing the local file", source: e })?;
            Ok(done.size)
        })
    } else {
        c.retrieve_file(remote, &local, Some(&mut progress))
    };
    drop(progress);
    bar.finish(result.is_ok());
    result.map(drop).map_err(Failure::ftp(context))
}

/// A remote name as a local file name: one component, never `.` or `..`.
fn local_name(name: &[u8]) -> Outcome<PathBuf> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0) {
        return Err(Failure::Usage(format!(
            "{:?} cannot be a local file name: name the local file",
            String::from_utf8_lossy(name)
        )));
    }
    Ok(PathBuf::from(OsString::from_vec(name.to_vec())))
}

fn put(c: &mut Client, url: &FtpUrl, local: &Path, resume: bool, quiet: bool) -> Outcome {
    let name = local.file_name().map(|n| n.as_bytes().to_vec()).unwrap_or_default();
    let remote = url.path_or_join(&name);
    let remote = need_path(&remote)?;
    let file = std::fs::File::open(local).map_err(|e| Failure::Local(format!("{}: {e}", local.display())))?;
    let bar = Bar::new(&local.display().to_string(), !quiet);
    let mut progress = bar.callback();
    let result = if resume {
        c.resume_upload(remote, file.as_raw_fd(), Some(&mut progress))
    } else {
        c.store_from_fd(remote, file.as_raw_fd(), None, false, Some(&mut progress))
    };
    drop(progress);
    bar.finish(result.is_ok());
    let context = format!("uploading {} to {}", local.display(), String::from_utf8_lossy(remote));
    result.map(drop).map_err(Failure::ftp(context))
}

fn cat(c: &mut Client, remote: &[u8]) -> Outcome {
    let stdout = io::stdout();
    let _lock = stdout.lock();
    match c.retrieve_to_fd(remote, stdout.as_raw_fd(), None, None) {
        Ok(_) => Ok(()),
        // The reader went away (`| head`): what it wanted, it got.
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::Ftp(format!("downloading {}", String::from_utf8_lossy(remote)), e)),
    }
}

fn quote(c: &mut Client, path: &[u8], command: &[OsString]) -> Outcome {
    if !path.is_empty() {
        c.cwd(path).map_err(Failure::ftp(format!("changing to {}", String::from_utf8_lossy(path))))?;
    }
    let line: Vec<u8> = command.iter().map(|a| a.as_bytes()).collect::<Vec<_>>().join(&b' ');
    let reply = c.sendcmd(&line);
    let shown = match &reply {
        Ok(r) => Some(r),
        Err(e) => e.reply(),
    };
    if let Some(r) = shown {
        let mut text = r.text.clone();
        text.push(b'\n');
        out(&text)?;
    }
    reply.map(drop).map_err(Failure::ftp(format!("{}", String::from_utf8_lossy(&line))))
}
