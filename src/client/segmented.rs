//! Segmented downloads (lftp's `pget -n`): one file over several connections, each reading
//! its own byte range (REST, then RETR until the range ends), written in place with pwrite.
//!
//! The file is cut into ranges of equal size. This client reads the first; each other range
//! gets a connection of its own, made with this client's settings (host and port, TLS mode,
//! verification and data protection, timeouts, passive or active mode, the login it made).
//! Whoever reaches the end of a range takes the next one when no connection reads it yet
//! (its connection is still logging in, or failed: REST refused, `421` too many sessions):
//! the data stream just goes on, so a server that allows one session or no REST gives a
//! whole download over one connection, with no time lost. A range whose reader gets to its
//! end stops there: its data connection is closed and the transfer aborted (ABOR). A range
//! left incomplete (a connection lost midway) is fetched again at the end, on this client,
//! from where it stopped.

use crate::client::transfer::{Flow, Progress};
use crate::client::Client;
use crate::client::Credentials;
use crate::error::{Error, Result};
use crate::net::data::DataConnection;
use crate::net::fdcopy::SigpipeGuard;
use crate::net::tls::TlsMode;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The most connections one download may use.
pub const MAX_SEGMENTS: usize = 64;
/// Ranges are at least this long by default: a small file is not worth extra logins.
pub const DEFAULT_MIN_SEGMENT: u64 = 1 << 20;

/// How to cut a segmented download.
#[derive(Debug, Clone)]
pub struct SegmentOptions {
    /// Connections to use, this client's included (1 to `MAX_SEGMENTS`).
    pub segments: usize,
    /// The shortest range worth a connection of its own: a file shorter than
    /// `segments * min_segment` gets fewer segments.
    pub min_segment: u64,
}

impl Default for SegmentOptions {
    fn default() -> SegmentOptions {
        SegmentOptions { segments: 4, min_segment: DEFAULT_MIN_SEGMENT }
    }
}

impl SegmentOptions {
    pub fn new(segments: usize) -> SegmentOptions {
        SegmentOptions { segments, ..SegmentOptions::default() }
    }
}

/// What a segmented download did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentedDownload {
    /// The file's size, all of it written.
    pub size: u64,
    /// The ranges the file was cut into (1: one stream from the start).
    pub segments: usize,
    /// Connections that moved data, this client's included.
    pub connections: usize,
    /// Why fewer connections moved data than there were segments, when so (the size
    /// unknown, REST refused, extra logins refused, ...).
    pub fallback: Option<String>,
}

/// Who reads a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nobody: its connection is not ready yet, failed, or lost the range midway. The
    /// reader of the range before it takes it on arrival.
    Open,
    Taken,
    Done,
}

struct Range {
    start: u64,
    end: u64,
    state: State,
    /// Bytes from `start` known to be in the file (for the repair of an open range).
    written: u64,
}

/// The ranges and what every connection shares.
struct Plan {
    ranges: Mutex<Vec<Range>>,
    /// Bytes written, over all connections (a range read again counts again).
    done: AtomicU64,
    /// Set to stop every connection.
    stop: AtomicBool,
    /// The cancel flags of the extra connections' clients, to cut their waits on a stop.
    cancellers: Mutex<Vec<Arc<AtomicBool>>>,
}

impl Plan {
    fn new(size: u64, segments: usize) -> Plan {
        let len = size / segments as u64;
        let ranges = (0..segments)
            .map(|i| {
                let start = len * i as u64;
                let end = if i + 1 == segments { size } else { start + len };
                Range { start, end, state: if i == 0 { State::Taken } else { State::Open }, written: 0 }
            })
            .collect();
        Plan {
            ranges: Mutex::new(ranges),
            done: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            cancellers: Mutex::new(Vec::new()),
        }
    }

    fn ranges(&self) -> MutexGuard<'_, Vec<Range>> {
        self.ranges.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bounds(&self, i: usize) -> (u64, u64) {
        let r = &self.ranges()[i];
        (r.start, r.end)
    }

    /// Stops every connection: their reads and waits end within a tick.
    fn stop_all(&self) {
        self.stop.store(true, Ordering::Release);
        for flag in self.cancellers.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            flag.store(true, Ordering::Release);
        }
    }
}

/// How a reader's run over the ranges ended.
enum End {
    /// At the end of a range whose successor has a reader of its own: abort the transfer.
    Handed,
    /// At the end of the file: the transfer ends as a whole download does.
    AtEnd,
}

/// The buffer of each reader.
const BLOCK: usize = 64 * 1024;

/// Reads `conn`, whose next byte is at `pos` in range `index` (taken by the caller), into
/// `file` at each byte's offset; at each range's end marks it done and goes on into the next
/// when it is open. `tick` runs after each block: false stops (`Stopped`). On an error the
/// range is left open with what it has.
fn read_ranges(
    conn: &mut DataConnection,
    file: &File,
    plan: &Plan,
    mut index: usize,
    mut pos: u64,
    tick: &mut dyn FnMut() -> bool,
) -> Result<End> {
    let mut buf = vec![0u8; BLOCK];
    let (mut start, mut end) = plan.bounds(index);
    loop {
        if pos == end {
            let mut ranges = plan.ranges();
            ranges[index].state = State::Done;
            ranges[index].written = end - start;
            match ranges.get_mut(index + 1) {
                None => return Ok(End::AtEnd),
                Some(next) if next.state == State::Open => {
                    next.state = State::Taken;
                    next.written = 0;
                    index += 1;
                    (start, end) = (next.start, next.end);
                    continue;
                }
                Some(_) => return Ok(End::Handed),
            }
        }
        let want = buf.len().min((end - pos) as usize);
        let read = match conn.receive(&mut buf[..want]) {
            Ok(0) => Err(Error::Truncated(format!("the data ended at byte {pos}, before the range's end at {end}"))),
            Ok(n) => file.write_all_at(&buf[..n], pos).map(|()| n).map_err(|e| Error::io("writing the local file", e)),
            Err(e) => Err(e),
        };
        let n = match read {
            Ok(n) => n,
            Err(e) => {
                let mut ranges = plan.ranges();
                ranges[index].state = State::Open;
                ranges[index].written = pos - start;
                return Err(e);
            }
        };
        pos += n as u64;
        plan.done.fetch_add(n as u64, Ordering::AcqRel);
        if !tick() {
            let mut ranges = plan.ranges();
            ranges[index].state = State::Open;
            ranges[index].written = pos - start;
            return Err(Error::Stopped);
        }
    }
}

/// What an extra connection needs to be made like a client's: its settings, its login,
/// its data protection and its directory.
pub(crate) struct Spec {
    config: crate::Config,
    context: Option<std::sync::Arc<openssl::ssl::SslContext>>,
    host: String,
    port: u16,
    source: Option<SocketAddr>,
    credentials: Credentials,
    /// PROT P in force on this client: the same on the others.
    protect_data: bool,
    /// This client's directory, for relative remote names.
    directory: Option<Vec<u8>>,
    command: Vec<u8>,
}

impl Spec {
    /// A client with the settings, not connected.
    pub(crate) fn client(&self) -> Client {
        let mut c = Client::with_config(self.config.clone());
        c.tls.context = self.context.clone();
        c
    }

    /// Connects `c` (from `client`) and logs in as the original did, in its directory.
    pub(crate) fn open(&self, c: &mut Client) -> Result<()> {
        c.connect(&self.host, self.port, None, self.source)?;
        let Credentials { user, passwd, acct } = &self.credentials;
        c.login(user, passwd, acct)?;
        if c.is_tls() && c.data_protected() != self.protect_data {
            if self.protect_data {
                c.prot_p()?;
            } else {
                c.prot_c()?;
            }
        }
        if let Some(dir) = &self.directory {
            c.cwd(dir)?;
        }
        Ok(())
    }
}

impl Client {
    /// What another connection like this one needs (`with_directory`: go to this client's
    /// directory, asked with PWD). Needs a login made with `login`.
    pub(crate) fn spec(&mut self, with_directory: bool) -> Result<Spec> {
        let credentials = self.credentials.clone().ok_or_else(|| Error::WrongState("not logged in".into()))?;
        let directory = if with_directory {
            match self.pwd() {
                Ok(dir) => Some(dir).filter(|d| !d.is_empty()),
                Err(Error::Temp(_) | Error::Perm(_) | Error::Reply(_) | Error::Proto(_)) => None,
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        let mut config = self.config.clone();
        if self.is_tls() && config.tls_mode == TlsMode::Off {
            // TLS started with `auth` by hand.
            config.tls_mode = TlsMode::Explicit;
        }
        Ok(Spec {
            config,
            context: self.tls.context.clone(),
            host: self.host().to_string(),
            port: self.port(),
            source: self.source_address.map(|s| SocketAddr::new(s.ip(), 0)),
            credentials,
            protect_data: self.tls.protect_data,
            directory,
            command: Vec::new(),
        })
    }
}

/// How an extra connection's work ended.
enum Outcome {
    /// It never read: connecting, logging in, REST or RETR failed.
    Setup(Error),
    /// Its range was taken by the reader before it, which got there first.
    Lost,
    /// It read its range (and maybe more).
    Read,
    /// It failed while reading; its range is open again.
    Failed(Error),
}

/// An extra connection: logs in as the client did, then reads range `index` from its start.
fn extra_connection(spec: &Spec, plan: &Plan, index: usize, file: &File) -> Outcome {
    let _no_sigpipe = SigpipeGuard::new();
    let mut c = spec.client();
    {
        let mut flags = plan.cancellers.lock().unwrap_or_else(|e| e.into_inner());
        flags.push(c.canceller());
        flags.push(c.transfer_stopper());
    }
    if plan.stop.load(Ordering::Acquire) {
        return Outcome::Setup(Error::Stopped);
    }
    let (start, _) = plan.bounds(index);
    let opened = (|| -> Result<DataConnection> {
        spec.open(&mut c)?;
        c.void("TYPE", Some(b"I"))?;
        let saved = c.config.encoding;
        c.config.encoding = crate::Encoding::Bytes;
        let conn = c.ntransfercmd_rest_strict(&spec.command, start);
        c.config.encoding = saved;
        conn
    })();
    let mut conn = match opened {
        Ok(conn) => conn,
        Err(e) => {
            if c.is_connected() {
                let _ = c.quit();
            }
            return Outcome::Setup(e);
        }
    };
    {
        let mut ranges = plan.ranges();
        if ranges[index].state != State::Open {
            drop(ranges);
            let _ = c.abort_transfer(conn);
            let _ = c.quit();
            return Outcome::Lost;
        }
        ranges[index].state = State::Taken;
        ranges[index].written = 0;
    }
    let read = read_ranges(&mut conn, file, plan, index, start, &mut || !plan.stop.load(Ordering::Acquire));
    let outcome = match read {
        Ok(End::Handed) => c.abort_transfer(conn).map(|()| Outcome::Read),
        Ok(End::AtEnd) => end_of_file(&mut c, conn).map(|()| Outcome::Read),
        Err(e) => {
            let _ = c.abort_transfer(conn);
            Err(e)
        }
    };
    let _ = c.quit();
    outcome.unwrap_or_else(Outcome::Failed)
}

/// The reader got to the file's size: the data must end there, and the transfer then ends
/// as a whole download does (close_notify over TLS, 226).
fn end_of_file(c: &mut Client, mut conn: DataConnection) -> Result<()> {
    let mut probe = [0u8; 1];
    match conn.receive(&mut probe) {
        Ok(0) => c.finish_download(conn, false).map(drop),
        Ok(_) => {
            let _ = c.abort_transfer(conn);
            Err(Error::Proto("the remote file is longer than its size (SIZE) said".into()))
        }
        Err(e) => Err(c.fail_transfer(conn, e)),
    }
}

impl Client {
    /// Downloads `remote` into `file` over up to `options.segments` connections at once
    /// (see the module's documentation), each byte written at its offset with pwrite;
    /// the file is truncated first and holds the whole remote file on success. The size
    /// comes from SIZE; a file the server gives no size for, a file too small for two
    /// ranges, and a `file` that is not a regular file (or was opened with `O_APPEND`, where
    /// pwrite cannot place bytes) go over this client alone (a regular
    /// file then truncated once the server accepted RETR, anything else written from its
    /// current position). `progress` sees the bytes written over all connections and
    /// the size, from this thread. A cancel request (`canceller`, `transfer_stopper`) or a
    /// progress callback returning `Break` stops every connection (`Stopped`).
    ///
    /// Needs a client logged in with `login` (the extra connections repeat it).
    pub fn retrieve_segmented(
        &mut self,
        remote: &[u8],
        file: &File,
        options: &SegmentOptions,
        mut progress: Option<Progress<'_>>,
    ) -> Result<SegmentedDownload> {
        if options.segments == 0 || options.segments > MAX_SEGMENTS {
            return Err(Error::InvalidArgument(format!("{} segments: give 1 to {MAX_SEGMENTS}", options.segments)));
        }
        let _no_sigpipe = SigpipeGuard::new();
        self.last_transfer_bytes = 0;
        let command = crate::proto::command::build("RETR", Some(remote), self.config.encoding)?;
        let size = match self.size(remote) {
            Ok(size) => size,
            Err(Error::Temp(_) | Error::Perm(_)) => None,
            Err(e) => return Err(e),
        };
        // pwrite on a descriptor opened with O_APPEND writes at the end whatever the offset.
        // SAFETY: fcntl only reads the descriptor's flags.
        let append = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) } & libc::O_APPEND != 0;
        let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false) && !append;
        let segments = match size {
            Some(size) => {
                let by_size = size / options.min_segment.max(1);
                options.segments.min(usize::try_from(by_size).unwrap_or(usize::MAX)).max(1)
            }
            None => 1,
        };
        let alone = if size.is_none() {
            Some("the server did not tell the file's size (SIZE)".to_string())
        } else if !regular {
            Some("the local file is not a regular file opened without O_APPEND (no writes at offsets)".to_string())
        } else if segments > 1 && self.credentials.is_none() {
            Some("no login to repeat on other connections".to_string())
        } else {
            None
        };
        if alone.is_some() || segments == 1 {
            let received = self.download(remote, None, progress, || {
                if regular {
                    // Once the server has accepted the transfer, as `retrieve_file` does.
                    file.set_len(0).map_err(|e| Error::io("truncating the local file", e))?;
                    (&mut &*file).seek(SeekFrom::Start(0)).map_err(|e| Error::io("seeking the local file", e))?;
                }
                Ok(file.as_raw_fd())
            })?;
            let fallback = alone.or_else(|| {
                (options.segments > 1).then(|| "the file is too small for more than one segment".to_string())
            });
            return Ok(SegmentedDownload { size: received, segments: 1, connections: 1, fallback });
        }
        let size = size.unwrap_or(0);
        let spec = Spec { command: command.clone(), ..self.spec(remote.first() != Some(&b'/'))? };
        file.set_len(0).map_err(|e| Error::io("truncating the local file", e))?;
        self.trace(1, || {
            format!("*info* segmented download: {size} bytes in {segments} ranges of {} bytes", size / segments as u64)
        });
        let plan = Plan::new(size, segments);
        let (mine, outcomes) = std::thread::scope(|scope| {
            let workers: Vec<_> = (1..segments)
                .map(|i| {
                    let (spec, plan) = (&spec, &plan);
                    std::thread::Builder::new()
                        .name(format!("ftpc-segment-{i}"))
                        .spawn_scoped(scope, move || extra_connection(spec, plan, i, file))
                })
                .collect();
            let mine = self.read_first(&command, file, &plan, size, &mut progress);
            // The others may still read: report their progress until they are done.
            loop {
                let running = workers.iter().any(|w| w.as_ref().is_ok_and(|w| !w.is_finished()));
                if !running {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
                if !self.keep_going(&plan, size, &mut progress) {
                    plan.stop_all();
                }
            }
            let outcomes: Vec<Outcome> = workers
                .into_iter()
                .map(|w| match w {
                    Ok(handle) => handle
                        .join()
                        .unwrap_or_else(|_| Outcome::Failed(Error::Proto("a segment's thread panicked".into()))),
                    Err(e) => Outcome::Setup(Error::io("starting a thread", e)),
                })
                .collect();
            (mine, outcomes)
        });
        self.last_transfer_bytes = plan.done.load(Ordering::Acquire);
        if plan.stop.load(Ordering::Acquire) {
            return Err(mine.err().unwrap_or(Error::Stopped));
        }
        let mut connections = 1;
        let mut refused = Vec::new();
        for (i, outcome) in outcomes.iter().enumerate() {
            match outcome {
                Outcome::Read => connections += 1,
                Outcome::Failed(e) => {
                    connections += 1;
                    self.trace(1, || format!("*info* segment {}: failed while reading: {e}", i + 1));
                }
                Outcome::Setup(e) => {
                    self.trace(1, || format!("*info* segment {}: no connection: {e}", i + 1));
                    refused.push(e.to_string());
                }
                Outcome::Lost => self.trace(1, || format!("*info* segment {}: read by the one before", i + 1)),
            }
        }
        let fallback = (!refused.is_empty())
            .then(|| format!("{} of {} extra connections did not start: {}", refused.len(), segments - 1, refused[0]));
        if let Err(e) = mine {
            if !self.is_connected() {
                return Err(e);
            }
            self.trace(1, || format!("*info* the first connection's reading failed: {e}"));
        }
        self.repair(&command, file, &plan, size, &mut progress)?;
        self.last_transfer_bytes = plan.done.load(Ordering::Acquire);
        // The other connections' last bytes came after the last report.
        if let Some(p) = progress.as_mut() {
            let _ = p(size, Some(size));
        }
        self.trace(1, || {
            format!(
                "*info* segmented download done: {connections} connections read{}",
                fallback.as_deref().map(|f| format!("; {f}")).unwrap_or_default()
            )
        });
        Ok(SegmentedDownload { size, segments, connections, fallback })
    }

    /// A progress report, and whether to go on (no stop asked by the callback or a cancel
    /// request).
    fn keep_going(&self, plan: &Plan, size: u64, progress: &mut Option<Progress<'_>>) -> bool {
        let done = plan.done.load(Ordering::Acquire).min(size);
        let flow = progress.as_mut().map_or(Flow::Continue(()), |p| p(done, Some(size)));
        let cancel = self.cancel.swap(false, Ordering::AcqRel);
        let stop = self.transfer_stop.swap(false, Ordering::AcqRel);
        !(flow.is_break() || cancel || stop)
    }

    /// This client's part: the file from its start, for as long as no other connection
    /// reads the next range.
    fn read_first(
        &mut self,
        command: &[u8],
        file: &File,
        plan: &Plan,
        size: u64,
        progress: &mut Option<Progress<'_>>,
    ) -> Result<()> {
        let conn = match self.ntransfercmd_raw(command, None) {
            Ok(conn) => conn,
            Err(e) => {
                plan.stop_all();
                return Err(e);
            }
        };
        self.read_from(conn, file, plan, 0, 0, size, progress)
    }

    /// Reads `conn` from `pos` in range `index` on this client, then ends the transfer.
    #[allow(clippy::too_many_arguments)]
    fn read_from(
        &mut self,
        mut conn: DataConnection,
        file: &File,
        plan: &Plan,
        index: usize,
        pos: u64,
        size: u64,
        progress: &mut Option<Progress<'_>>,
    ) -> Result<()> {
        let read = {
            let this = &*self;
            let mut tick = || this.keep_going(plan, size, progress);
            read_ranges(&mut conn, file, plan, index, pos, &mut tick)
        };
        match read {
            Ok(End::Handed) => self.abort_transfer(conn),
            Ok(End::AtEnd) => end_of_file(self, conn),
            // A stop from the callback, or a cancel request that cut a socket wait.
            Err(Error::Stopped | Error::Cancelled(_)) => {
                plan.stop_all();
                let _ = self.abort_transfer(conn);
                Err(Error::Stopped)
            }
            Err(e @ Error::Io { context: "writing the local file", .. }) => {
                plan.stop_all();
                let _ = self.abort_transfer(conn);
                Err(e)
            }
            Err(e) => Err(self.fail_transfer(conn, e)),
        }
    }

    /// Reads again, from where they stopped, the ranges that nobody finished (a connection
    /// lost midway, or one that could not start after the range before was handed over).
    fn repair(
        &mut self,
        command: &[u8],
        file: &File,
        plan: &Plan,
        size: u64,
        progress: &mut Option<Progress<'_>>,
    ) -> Result<()> {
        loop {
            let next = {
                let mut ranges = plan.ranges();
                let open = ranges.iter().position(|r| r.state != State::Done);
                open.map(|i| {
                    ranges[i].state = State::Taken;
                    (i, ranges[i].start + ranges[i].written)
                })
            };
            let Some((index, pos)) = next else { return Ok(()) };
            self.trace(1, || format!("*info* reading range {index} again from byte {pos}"));
            let conn = if pos == 0 {
                self.ntransfercmd_raw(command, None)?
            } else {
                let saved = self.config.encoding;
                self.config.encoding = crate::Encoding::Bytes;
                let conn = self.ntransfercmd_rest_strict(command, pos);
                self.config.encoding = saved;
                conn?
            };
            self.read_from(conn, file, plan, index, pos, size, progress)?;
        }
    }
}
