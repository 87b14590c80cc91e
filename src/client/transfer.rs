//! Transfers over data connections: ftplib's retrbinary, retrlines, storbinary, storlines,
//! and whole-file transfers to and from file descriptors (zero-copy on plain connections).

use crate::client::Client;
use crate::error::{Error, Result};
use crate::net::data::DataConnection;
use crate::net::fdcopy::{
    can_send_file, can_splice, copy_chunk, copy_from_fd, is_local_file_error, local_remaining, refused_by_zero_copy,
    send_file, splice_takes, Pipe, SigpipeGuard,
};
use crate::net::stream::Stream;
pub use crate::proto::lines::{Flow, StopTransfer};
use crate::proto::lines::{LineDecoder, LineReader};
use crate::proto::reply::{Reply, MAX_LINE};
use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::sync::atomic::Ordering;

/// What one step of a whole-file transfer (splice, sendfile or a plain copy) came to.
enum FdStep {
    Moved(usize),
    End,
    /// Interrupted, or a socket tick with nothing moved and patience left: go again.
    Again,
    /// The local file failed: the transfer is aborted, the connection kept.
    Local(io::Error),
    /// A cancel request or a stopping callback.
    Stop,
    Failed(Error),
}

/// Sorts the result of one step: the local file's errors from the network's, a tick from a
/// stall (`what` names the network side in errors).
fn fd_step(conn: &mut DataConnection, moved: io::Result<usize>, what: &'static str, events: i16) -> FdStep {
    match moved {
        Ok(0) => FdStep::End,
        // Inside a task, the others get their turn now and then; an abandoned task stops.
        Ok(n) => match conn.take_turns(what) {
            Ok(()) => FdStep::Moved(n),
            Err(_) => FdStep::Stop,
        },
        Err(e) if e.kind() == io::ErrorKind::Interrupted => FdStep::Again,
        Err(e) if is_local_file_error(&e) => FdStep::Local(e),
        Err(e) if is_stop(&e) => FdStep::Stop,
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
            match conn.check_patience(what, events) {
                Ok(()) => FdStep::Again,
                Err(Error::Cancelled(_)) => FdStep::Stop,
                Err(e) => FdStep::Failed(e),
            }
        }
        Err(e) => FdStep::Failed(Error::io(what, e)),
    }
}

/// What takes the place of a line's end when `retrlines` hands it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineEnd {
    /// Nothing: the line alone (ftplib's lines).
    Dropped,
    /// A NUL after the line, the last byte of the slice (C strings, without a copy).
    Nul,
}

/// The least a download reads from the socket at a time, whatever the block size.
const SOCKET_READ: usize = 64 * 1024;
/// What an upload gathers small blocks into before a write.
const SOCKET_WRITE: usize = 64 * 1024;
/// The most storbinary asks its source for at a time, whatever the block size: a larger
/// block is read (and sent, and seen by the callback) in parts of this size, so that the
/// buffer stays in the CPU's cache between the source's write into it and the kernel's copy
/// out of it, and so that no 16 MiB buffer is faulted in. With 16 MiB blocks from a read(2)
/// callback on tmpfs this took 20 % off the client's CPU per GiB (vsftpd, loopback; caps of
/// 128 KiB to 1 MiB all did as well); block sizes up to 1 MiB are unchanged.
const STORE_READ_MAX: usize = 1 << 20;

/// Bytes per block when the caller gives 0, and the most it may ask for.
pub const DEFAULT_BLOCKSIZE: usize = 64 * 1024;
pub const MAX_BLOCKSIZE: usize = 16 << 20;

fn is_stop(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<StopTransfer>())
}

fn blocksize_arg(blocksize: usize) -> Result<usize> {
    match blocksize {
        0 => Ok(DEFAULT_BLOCKSIZE),
        n if n > MAX_BLOCKSIZE => Err(Error::InvalidArgument(format!("blocksize {n} is over {MAX_BLOCKSIZE}"))),
        n => Ok(n),
    }
}

/// splice(2) and sendfile(2) calls this process made for whole-file transfers: tests tell
/// by it which path a transfer took (none with `FTPC_PORTABLE_IO=1`, see `net::fdcopy`).
#[doc(hidden)]
pub fn zero_copy_calls() -> u64 {
    crate::net::fdcopy::zero_copy_calls()
}

/// Sees each block of an upload after it was sent.
pub type BlockCallback<'a> = &'a mut dyn FnMut(&[u8]) -> Flow;

/// Progress of a whole-file transfer: bytes done (including any resumed offset) and the
/// total when known.
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>) -> Flow;

impl Client {
    /// Whether a request from another thread (`canceller`, `transfer_stopper`) asks the
    /// current transfer to stop; `stop` takes it.
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Acquire) || self.transfer_stop.load(Ordering::Acquire)
    }

    /// A flag that, set from another thread, stops a running transfer at its next block
    /// (`Stopped`, the connection usable, as a callback returning `Break`), and nothing
    /// else: a reply or a connect being waited for goes on. ftplib's `abort` from another
    /// thread; C `ftp_abort` during a call. Cleared when a transfer ends.
    pub fn transfer_stopper(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.transfer_stop.clone()
    }

    /// A flag that, set from another thread, stops what this client is doing within about
    /// 50 ms: a transfer moving data at its next block, as a callback returning `Break`
    /// would (`Stopped`, the connection usable); any other wait at once (`Cancelled`): a
    /// connect, a TLS handshake, a data connection being made, a blocked write, a TLS
    /// shutdown, a reply (a transfer's 150 or final reply too; a cut reply wait closes the
    /// control connection, which is out of step). The first wait to see a request takes it;
    /// set while nothing runs, it stops the next one.
    pub fn canceller(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.cancel.clone()
    }

    /// The start of every transfer call: no bytes moved yet (also if it fails before its
    /// transfer command), then TYPE, as ftplib sends it before each transfer.
    fn begin_transfer(&mut self, transfer_type: &[u8]) -> Result<()> {
        self.last_transfer_bytes = 0;
        self.void("TYPE", Some(transfer_type)).map(drop)
    }

    fn stop(&mut self, conn: DataConnection, by_callback: bool) -> Error {
        // A cancel request (ftp_cancel) that stops the transfer by itself wants the call back
        // within 100 ms: the server gets a short grace to answer ABOR and, silent, loses the
        // connection. A stop from the callback or from ftp_abort keeps the connection
        // wherever it can: ABOR's replies get the whole timeout. The cancel request pending
        // now is taken, so that it does not cut ABOR's replies (a callback may set the flag
        // and return Break, as the bindings' abort does: that is the callback's stop); both
        // flags are cleared when the transfer ends.
        let by_cancel = (self.cancel.swap(false, Ordering::AcqRel) | conn.took_cancel()) && !by_callback;
        match self.abort_transfer_within(conn, by_cancel) {
            Ok(()) => Error::Stopped,
            Err(Error::Timeout(_)) if by_cancel => Error::Cancelled("waiting for the replies to ABOR"),
            Err(e) => e,
        }
    }

    /// Ends a download. A TLS download that ended without the server's close_notify counts
    /// only when the final reply says success, never when it ended inside a record, and
    /// never once this server has sent close_notify on an earlier data connection of the
    /// session (some servers never send it; those that do, always do). The announced size
    /// is checked when `check`.
    pub(crate) fn finish_download(&mut self, mut conn: DataConnection, check: bool) -> Result<Reply> {
        let (clean_tls, cut_record) = match &mut conn.stream {
            Stream::Tls(tls) => {
                (crate::net::tls::received_close_notify(tls), crate::net::tls::ended_inside_a_record(tls))
            }
            Stream::Plain(_) => (true, false),
        };
        let is_tls = conn.is_tls();
        let sends_close_notify = self.session.server_sends_close_notify;
        if is_tls && clean_tls {
            self.session.server_sends_close_notify = true;
        }
        match self.finish_transfer(conn, check) {
            Err(Error::Temp(r) | Error::Perm(r) | Error::Reply(r)) if !clean_tls => {
                Err(Error::Truncated(format!("TLS data ended without close_notify and the server said: {r}")))
            }
            Ok(r) if cut_record => {
                Err(Error::Truncated(format!("TLS data ended inside a record, though the server said: {r}")))
            }
            Ok(r) if !clean_tls && sends_close_notify => Err(Error::Truncated(format!(
                "TLS data ended without the close_notify this server sent before, though it said: {r}"
            ))),
            other => other,
        }
    }

    /// ftplib's `retrbinary`: TYPE I, then `cmd`, each block of at most `blocksize` bytes
    /// (0: 64 KiB) handed to `callback`.
    pub fn retrbinary(
        &mut self,
        cmd: &[u8],
        callback: &mut dyn FnMut(&[u8]) -> Flow,
        blocksize: usize,
        rest: Option<u64>,
    ) -> Result<Reply> {
        let blocksize = blocksize_arg(blocksize)?;
        self.begin_transfer(b"I")?;
        let mut conn = self.ntransfercmd(cmd, rest)?;
        // The block size is what the callback gets, not what is read: small blocks are
        // read SOCKET_READ at a time and handed over in slices (a 4 KiB block size made 16
        // system calls where one does), larger ones a block at a time.
        let read_size = blocksize.max(SOCKET_READ);
        conn.read_in_blocks(read_size);
        let mut buf = vec![0u8; read_size];
        loop {
            let n = match conn.receive(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(Error::Cancelled(_)) => return Err(self.stop(conn, false)),
                Err(e) => return Err(self.fail_transfer(conn, e)),
            };
            // A stop from another thread is seen after each block, not after each read: a
            // slow callback taking 1 KiB blocks of a 64 KiB read would otherwise run 63 more
            // times (over a second at 20 ms a block) before the stop.
            for block in buf[..n].chunks(blocksize) {
                let broke = callback(block).is_break();
                if broke || self.cancelled() {
                    return Err(self.stop(conn, broke));
                }
            }
        }
        self.finish_download(conn, rest.is_none())
    }

    /// ftplib's `retrlines`: TYPE A, then `cmd`; each line (ended by CRLF, LF or a bare CR,
    /// without its end, decoded) handed to `callback`. A line over 8192 bytes aborts the
    /// transfer with `LineTooLong`, leaving the connection in step.
    pub fn retrlines(&mut self, cmd: &[u8], callback: &mut dyn FnMut(&[u8]) -> Flow) -> Result<Reply> {
        self.retrlines_as(cmd, LineEnd::Dropped, callback)
    }

    /// `retrlines` with each line's end dropped or made a NUL. The NUL takes the place of the
    /// line end in the received block: the C layer's lines, without a copy per line.
    pub(crate) fn retrlines_as(
        &mut self,
        cmd: &[u8],
        end: LineEnd,
        callback: &mut dyn FnMut(&[u8]) -> Flow,
    ) -> Result<Reply> {
        let mut lines = match end {
            LineEnd::Dropped => LineDecoder::new(self.config.encoding),
            LineEnd::Nul => LineDecoder::nul_terminated(self.config.encoding),
        };
        self.begin_transfer(b"A")?;
        let mut conn = self.ntransfercmd(cmd, None)?;
        conn.read_in_blocks(DEFAULT_BLOCKSIZE);
        let mut buf = vec![0u8; DEFAULT_BLOCKSIZE];
        let mut stopped = false;
        loop {
            let n = match conn.receive(&mut buf) {
                Ok(n) => n,
                Err(Error::Cancelled(_)) => return Err(self.stop(conn, false)),
                Err(e) => return Err(self.fail_transfer(conn, e)),
            };
            let fed = if n == 0 { lines.finish(callback) } else { lines.feed(&mut buf[..n], callback) };
            match fed {
                Ok(ControlFlow::Continue(())) => {}
                Ok(ControlFlow::Break(())) => stopped = true,
                Err(e) => {
                    // The line is the news; the abort after it only cleans up (a server that
                    // mishandles it loses the connection), as storlines reports it too.
                    let _ = self.abort_transfer(conn);
                    return Err(e.into());
                }
            }
            if stopped || self.cancelled() {
                return Err(self.stop(conn, stopped));
            }
            if n == 0 {
                break;
            }
        }
        self.finish_download(conn, false)
    }

    /// ftplib's `storbinary`: TYPE I, then `cmd`; blocks of at most `blocksize` bytes (0:
    /// 64 KiB) read from `source` until it returns 0, each then passed to `callback`. A
    /// block size over 1 MiB (`STORE_READ_MAX`) reads at most 1 MiB at a time.
    pub fn storbinary(
        &mut self,
        cmd: &[u8],
        source: &mut dyn Read,
        blocksize: usize,
        callback: Option<BlockCallback<'_>>,
        rest: Option<u64>,
    ) -> Result<Reply> {
        let blocksize = blocksize_arg(blocksize)?.min(STORE_READ_MAX);
        self.begin_transfer(b"I")?;
        let conn = self.ntransfercmd(cmd, rest)?;
        let mut callback = callback;
        self.upload(conn, blocksize, |room| source.read(&mut room[..blocksize]), &mut |block| {
            callback.as_mut().map_or(Flow::Continue(()), |cb| cb(block))
        })
    }

    /// ftplib's `storlines`: TYPE A, then `cmd`; lines read from `source`, each sent with a
    /// CRLF end whatever end it had. A line over 8192 bytes aborts with `LineTooLong`.
    pub fn storlines(
        &mut self,
        cmd: &[u8],
        source: &mut dyn Read,
        callback: Option<BlockCallback<'_>>,
    ) -> Result<Reply> {
        self.begin_transfer(b"A")?;
        let conn = self.ntransfercmd(cmd, None)?;
        let mut lines = LineReader::new(source);
        let mut callback = callback;
        let mut line = Vec::new();
        // The most next_crlf_line gives: a line of MAX_LINE + 2 bytes with its LF, whose LF
        // becomes a CRLF.
        const LONGEST: usize = MAX_LINE + 3;
        let fill = |room: &mut [u8]| match lines.next_crlf_line(&mut line)? {
            Some(n) => match room.get_mut(..n) {
                Some(room) => {
                    room.copy_from_slice(&line[..n]);
                    Ok(n)
                }
                None => Err(io::Error::new(io::ErrorKind::InvalidData, format!("line of {n} bytes"))),
            },
            None => Ok(0),
        };
        self.upload(conn, LONGEST, fill, &mut |block| callback.as_mut().map_or(Flow::Continue(()), |cb| cb(block)))
    }

    /// The upload loop shared by storbinary and storlines: `fill` puts the next block (at
    /// most `block` bytes) at the start of the room it is given and says its length, 0 at
    /// the end.
    fn upload(
        &mut self,
        mut conn: DataConnection,
        block: usize,
        mut fill: impl FnMut(&mut [u8]) -> io::Result<usize>,
        callback: &mut dyn FnMut(&[u8]) -> Flow,
    ) -> Result<Reply> {
        // Blocks are read straight into the buffer that is sent, one after the other, and
        // sent once SOCKET_WRITE bytes are there (a block at least that large at once): one
        // system call (and over TLS full records) for many small blocks, and no copy. Each
        // block's callback runs once the block is queued, as ftplib's runs once `sendall`
        // has queued it. The buffer has room for one more block whenever less than
        // SOCKET_WRITE is queued.
        let mut buf = vec![0u8; SOCKET_WRITE + block - 1];
        let mut queued = 0;
        conn.cork(true);
        loop {
            let n = match fill(&mut buf[queued..]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if is_stop(&e) => return Err(self.stop(conn, true)),
                Err(e) if e.kind() == io::ErrorKind::InvalidData && e.to_string().contains("line") => {
                    let _ = self.abort_transfer(conn);
                    return Err(Error::LineTooLong(MAX_LINE));
                }
                Err(e) => {
                    let _ = self.abort_transfer(conn);
                    return Err(Error::io("reading the data to send", e));
                }
            };
            let filled = queued + n;
            if filled >= SOCKET_WRITE {
                match conn.send_all(&buf[..filled]) {
                    Ok(()) => {}
                    Err(Error::Cancelled(_)) => return Err(self.stop(conn, false)),
                    Err(e) => return Err(self.fail_transfer(conn, e)),
                }
            }
            let broke = callback(&buf[queued..filled]).is_break();
            if broke || self.cancelled() {
                return Err(self.stop(conn, broke));
            }
            queued = if filled >= SOCKET_WRITE { 0 } else { filled };
        }
        if queued > 0 {
            match conn.send_all(&buf[..queued]) {
                Ok(()) => {}
                Err(Error::Cancelled(_)) => return Err(self.stop(conn, false)),
                Err(e) => return Err(self.fail_transfer(conn, e)),
            }
        }
        conn.cork(false);
        self.finish_transfer(conn, false)
    }

    /// Downloads `remote` into `fd` (from its current position), starting at byte `rest` of
    /// the remote file when given. Plain connections move the data with splice(2) on Linux,
    /// with reads and writes elsewhere (see `net::fdcopy`). Returns
    /// the bytes received. `progress` gets the bytes done (`rest` included) and the size of
    /// the whole remote file when the server tells it: from the 150 reply of a download
    /// without `rest`, else from SIZE. With a progress callback, SIZE is asked before RETR
    /// where the 150 cannot be counted on: after REST (servers differ in what a 150 then
    /// announces), and for a whole file unless the previous whole-file download on this
    /// connection had its size in the 150 reply. A refused SIZE only leaves the total unknown.
    pub fn retrieve_to_fd(
        &mut self,
        remote: &[u8],
        fd: RawFd,
        rest: Option<u64>,
        progress: Option<Progress<'_>>,
    ) -> Result<u64> {
        self.download(remote, rest, progress, || Ok(fd))
    }

    /// Downloads `remote` into the local file `local_path`, which is created (mode 0666 less
    /// the umask) or truncated only once the server has accepted the transfer (its 1xx
    /// reply): a refused RETR, or a call that fails before it, leaves an existing file byte
    /// for byte as it was and creates none. A failure after that (the connection cut, a
    /// stop, a local write error) leaves the bytes that arrived in the file, from its start:
    /// `resume_download` continues it. On success the data is on disk (fdatasync). Returns
    /// the bytes received; `progress` as for `retrieve_to_fd`.
    pub fn retrieve_file(&mut self, remote: &[u8], local_path: &Path, progress: Option<Progress<'_>>) -> Result<u64> {
        let mut file = None;
        let received = self.download(remote, None, progress, || {
            let created = File::create(local_path).map_err(|e| Error::io("creating the local file", e))?;
            Ok(file.insert(created).as_raw_fd())
        })?;
        if let Some(file) = file {
            file.sync_data().map_err(|e| Error::io("writing the local file", e))?;
        }
        Ok(received)
    }

    /// Uploads the local file `local_path` to `remote` with STOR. Returns the bytes sent;
    /// `progress` as for `store_from_fd`.
    pub fn store_file(&mut self, local_path: &Path, remote: &[u8], progress: Option<Progress<'_>>) -> Result<u64> {
        let file = File::open(local_path).map_err(|e| Error::io("opening the local file", e))?;
        self.store_from_fd(remote, file.as_raw_fd(), None, false, progress)
    }

    /// The whole-file download behind `retrieve_to_fd` and `retrieve_file`: `open_local`
    /// gives the descriptor to write to, and is called only once the server has accepted
    /// the transfer.
    pub(crate) fn download(
        &mut self,
        remote: &[u8],
        rest: Option<u64>,
        mut progress: Option<Progress<'_>>,
        open_local: impl FnOnce() -> Result<RawFd>,
    ) -> Result<u64> {
        let _no_sigpipe = SigpipeGuard::new();
        self.last_transfer_bytes = 0;
        // A name that cannot go out fails before anything is sent, TYPE included.
        let cmd = crate::proto::command::build("RETR", Some(remote), self.config.encoding)?;
        self.begin_transfer(b"I")?;
        let asked_size = match progress {
            Some(_) => self.size_for_progress(remote, rest)?,
            None => None,
        };
        let mut conn = self.ntransfercmd_raw(&cmd, rest)?;
        let offset = rest.unwrap_or(0);
        let total = match rest {
            None => {
                self.session.download_size_in_150 = conn.size().is_some();
                conn.size().or(asked_size)
            }
            Some(_) => asked_size,
        };
        let fd = match open_local() {
            Ok(fd) => fd,
            Err(e) => {
                let _ = self.abort_transfer(conn);
                return Err(e);
            }
        };
        let mut pipe = match &conn.stream {
            Stream::Plain(_) if can_splice() && splice_takes(fd) => Pipe::new().ok(),
            _ => None,
        };
        let mut buf = Vec::new();
        loop {
            let moved = match pipe.as_mut() {
                Some(p) => match p.splice_from(conn.tcp().as_raw_fd(), fd) {
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) && conn.transferred() == 0 => {
                        pipe = None;
                        continue;
                    }
                    other => other,
                },
                None => copy_chunk(&mut conn, fd, &mut buf),
            };
            let n = match fd_step(&mut conn, moved, "receiving data", libc::POLLIN) {
                FdStep::Moved(n) => n,
                FdStep::End => break,
                FdStep::Again => continue,
                FdStep::Local(e) => {
                    let _ = self.abort_transfer(conn);
                    return Err(Error::io("writing the local file", e));
                }
                FdStep::Stop => return Err(self.stop(conn, false)),
                FdStep::Failed(e) => return Err(self.fail_transfer(conn, e)),
            };
            if pipe.is_some() {
                conn.count(n);
            }
            let flow = progress.as_mut().map_or(Flow::Continue(()), |p| p(offset + conn.transferred(), total));
            if flow.is_break() || self.cancelled() {
                return Err(self.stop(conn, flow.is_break()));
            }
        }
        let received = conn.transferred();
        self.finish_download(conn, rest.is_none())?;
        Ok(received)
    }

    /// Uploads from `fd` (from its current position to its end) to `remote` with STOR, or
    /// APPE when `append`; `rest` sends REST first. Plain connections use sendfile(2) on
    /// Linux, macOS and FreeBSD, reads and writes elsewhere (see `net::fdcopy`).
    /// Returns the bytes sent.
    pub fn store_from_fd(
        &mut self,
        remote: &[u8],
        fd: RawFd,
        rest: Option<u64>,
        append: bool,
        mut progress: Option<Progress<'_>>,
    ) -> Result<u64> {
        let _no_sigpipe = SigpipeGuard::new();
        self.begin_transfer(b"I")?;
        let verb = if append { "APPE" } else { "STOR" };
        let cmd = crate::proto::command::build(verb, Some(remote), self.config.encoding)?;
        let total = local_remaining(fd);
        let mut conn = self.ntransfercmd_raw(&cmd, rest)?;
        let mut zero_copy = matches!(conn.stream, Stream::Plain(_)) && can_send_file();
        let offset = rest.unwrap_or(0);
        let mut buf = Vec::new();
        loop {
            let moved = if zero_copy {
                match send_file(conn.tcp().as_raw_fd(), fd) {
                    Err(e) if refused_by_zero_copy(&e) && conn.transferred() == 0 => {
                        zero_copy = false;
                        continue;
                    }
                    other => other,
                }
            } else {
                copy_from_fd(fd, &mut conn, &mut buf)
            };
            let n = match fd_step(&mut conn, moved, "sending data", libc::POLLOUT) {
                FdStep::Moved(n) => n,
                FdStep::End => break,
                FdStep::Again => continue,
                FdStep::Local(e) => {
                    let _ = self.abort_transfer(conn);
                    return Err(Error::io("reading the local file", e));
                }
                FdStep::Stop => return Err(self.stop(conn, false)),
                FdStep::Failed(e) => return Err(self.fail_transfer(conn, e)),
            };
            if zero_copy {
                conn.count(n);
            }
            let flow = progress
                .as_mut()
                .map_or(Flow::Continue(()), |p| p(offset + conn.transferred(), total.map(|t| t + offset)));
            if flow.is_break() || self.cancelled() {
                return Err(self.stop(conn, flow.is_break()));
            }
        }
        let sent = conn.transferred();
        self.finish_transfer(conn, false)?;
        Ok(sent)
    }

    /// Resumes a download into `fd`: appends from the remote offset equal to the local
    /// file's size (REST), so a file cut short completes. `progress` counts the local size
    /// in the bytes done, and its total is the remote file's whole size (SIZE).
    pub fn resume_download(&mut self, remote: &[u8], fd: RawFd, progress: Option<Progress<'_>>) -> Result<u64> {
        self.last_transfer_bytes = 0;
        // SAFETY: lseek on the caller's descriptor, no memory involved.
        let end = unsafe { libc::lseek(fd, 0, libc::SEEK_END) };
        if end < 0 {
            return Err(Error::io("seeking the local file", io::Error::last_os_error()));
        }
        let rest = (end > 0).then_some(end as u64);
        self.retrieve_to_fd(remote, fd, rest, progress)
    }

    /// Resumes an upload from `fd`: asks the remote size, then sends the rest of the local
    /// file with REST+STOR when the server offers REST STREAM, else with APPE.
    pub fn resume_upload(&mut self, remote: &[u8], fd: RawFd, progress: Option<Progress<'_>>) -> Result<u64> {
        self.begin_transfer(b"I")?;
        let done = match self.size(remote) {
            Ok(Some(n)) => n,
            Ok(None) | Err(Error::Perm(_)) => 0,
            Err(e) => return Err(e),
        };
        // SAFETY: lseek on the caller's descriptor.
        if unsafe { libc::lseek(fd, done as libc::off_t, libc::SEEK_SET) } < 0 {
            return Err(Error::io("seeking the local file", io::Error::last_os_error()));
        }
        if done == 0 {
            return self.store_from_fd(remote, fd, None, false, progress);
        }
        let rest_stream =
            self.features()?.iter().any(|(name, value)| name == "REST" && value.eq_ignore_ascii_case("STREAM"));
        if rest_stream {
            self.store_from_fd(remote, fd, Some(done), false, progress)
        } else {
            self.store_from_fd(remote, fd, None, true, progress)
        }
    }

    /// The remote file's whole size for a progress callback, when the 150 reply to come
    /// cannot be counted on for it (see `retrieve_to_fd`); `None` when SIZE is refused.
    fn size_for_progress(&mut self, remote: &[u8], rest: Option<u64>) -> Result<Option<u64>> {
        if rest.is_none() && self.session.download_size_in_150 {
            return Ok(None);
        }
        match self.size(remote) {
            Err(Error::Temp(_) | Error::Perm(_)) => Ok(None),
            other => other,
        }
    }

    pub(crate) fn ntransfercmd_raw(&mut self, line: &[u8], rest: Option<u64>) -> Result<DataConnection> {
        // Built by command::build with the encoding applied: send as bytes.
        let saved = self.config.encoding;
        self.config.encoding = crate::Encoding::Bytes;
        let conn = self.ntransfercmd(line, rest);
        self.config.encoding = saved;
        conn
    }
}
