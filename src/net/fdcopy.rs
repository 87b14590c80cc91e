//! Moving bytes between a data connection and a file descriptor, for whole-file transfers.
//!
//! Plain connections move the bytes without a copy through user space where the system has
//! a call for it: splice(2) through a pipe for downloads on Linux, and sendfile(2) for
//! uploads on Linux, macOS and FreeBSD (three different calls: see `send_file`). Everything
//! else, TLS, other systems, and descriptors those calls refuse, gets plain copies (`read`,
//! then `write`), with the same results: the bytes, the progress, and errors told apart as
//! the local file's or the connection's.
//!
//! `FTPC_PORTABLE_IO=1` in the environment (read once, at the first whole-file transfer of
//! the process) turns the zero-copy calls and SO_RCVLOWAT off: a test switch, so that
//! Linux runs the paths the other systems take (scripts/test.sh runs the transfer tests
//! once more with it).

use super::data::DataConnection;
use std::io::{self, Read, Write};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};

/// Whole-file transfers move this much per system call.
#[cfg_attr(not(any(target_os = "linux", target_os = "macos", target_os = "freebsd")), allow(dead_code))]
pub(crate) const CHUNK: usize = 1 << 20;

/// Whether plain downloads splice: on Linux, unless the portable paths are forced.
pub(crate) fn can_splice() -> bool {
    cfg!(target_os = "linux") && !super::portable_io()
}

/// Whether plain uploads use `send_file`: on Linux, macOS and FreeBSD, unless the portable
/// paths are forced.
pub(crate) fn can_send_file() -> bool {
    cfg!(any(target_os = "linux", target_os = "macos", target_os = "freebsd")) && !super::portable_io()
}

/// splice(2) and sendfile(2) calls made by this process (see `transfer::zero_copy_calls`).
static ZERO_COPY_CALLS: AtomicU64 = AtomicU64::new(0);

pub(crate) fn zero_copy_calls() -> u64 {
    ZERO_COPY_CALLS.load(Ordering::Relaxed)
}

/// An error of the local file, not of the connection, as it travels inside an `io::Error`.
#[derive(Debug)]
struct LocalFileError(io::Error);

impl std::fmt::Display for LocalFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for LocalFileError {}

fn local(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), LocalFileError(e))
}

/// An error of the local file: from a copy's read or write of the descriptor, or an errno
/// that only a file can give (sendfile and splice report both sides' errors alike).
pub(crate) fn is_local_file_error(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<LocalFileError>())
        || e.raw_os_error().is_some_and(|code| {
            matches!(code, libc::EBADF | libc::ENOSPC | libc::EFBIG | libc::EDQUOT | libc::EROFS | libc::EISDIR)
        })
}

/// A zero-copy call that refused the descriptor before moving anything (not a regular
/// file, a pipe, a file system without support): plain copies do instead.
pub(crate) fn refused_by_zero_copy(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported
        || e.raw_os_error().is_some_and(|code| {
            // ENOTSUP and EOPNOTSUPP are one value on Linux and FreeBSD, two on macOS.
            matches!(code, libc::EINVAL | libc::ENOSYS | libc::ESPIPE)
                || code == libc::ENOTSUP
                || code == libc::EOPNOTSUPP
        })
}

/// Whether splice(2) can write a download to `fd`: a regular file, a pipe or a socket, not
/// opened with O_APPEND. splice refuses a file opened with O_APPEND, and devices without
/// splice support (/dev/full), with EINVAL and only once it has taken the bytes off the
/// socket: those get plain writes from the start.
pub(crate) fn splice_takes(fd: RawFd) -> bool {
    // SAFETY: F_GETFL only reads the descriptor's flags; fstat fills the struct we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        let mut st: libc::stat = std::mem::zeroed();
        if flags < 0 || flags & libc::O_APPEND != 0 || libc::fstat(fd, &mut st) != 0 {
            return false;
        }
        matches!(st.st_mode & libc::S_IFMT, libc::S_IFREG | libc::S_IFIFO | libc::S_IFSOCK)
    }
}

/// The bytes left from `fd`'s position to its end, for a regular file.
pub(crate) fn local_remaining(fd: RawFd) -> Option<u64> {
    // SAFETY: fstat fills the struct we own; lseek(0, SEEK_CUR) only reads the position.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) != 0 || (st.st_mode & libc::S_IFMT) != libc::S_IFREG {
            return None;
        }
        let pos = libc::lseek(fd, 0, libc::SEEK_CUR);
        (pos >= 0).then(|| (st.st_size as u64).saturating_sub(pos as u64))
    }
}

/// A kernel pipe: splice(2) moves socket data to a file through it without copies to user
/// space. Linux only.
#[cfg(target_os = "linux")]
pub(crate) struct Pipe {
    read: RawFd,
    write: RawFd,
}

#[cfg(target_os = "linux")]
impl Pipe {
    pub(crate) fn new() -> io::Result<Pipe> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two descriptors into the array we own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // A bigger pipe means fewer system calls per megabyte; failure only costs speed.
        // SAFETY: fcntl on our own descriptor.
        unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, CHUNK as libc::c_int) };
        Ok(Pipe { read: fds[0], write: fds[1] })
    }

    /// Moves up to one chunk from `from` to `to`; 0 at the end of the data. A timeout of
    /// the socket with nothing read is WouldBlock; a failure to write is a local file error
    /// (the bytes already taken off the socket are lost).
    pub(crate) fn splice_from(&mut self, from: RawFd, to: RawFd) -> io::Result<usize> {
        let flags = libc::SPLICE_F_MOVE | libc::SPLICE_F_MORE;
        ZERO_COPY_CALLS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: splice between descriptors; no user memory.
        let n = unsafe { libc::splice(from, std::ptr::null_mut(), self.write, std::ptr::null_mut(), CHUNK, flags) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut left = n as usize;
        while left > 0 {
            // SAFETY: as above.
            let m = unsafe { libc::splice(self.read, std::ptr::null_mut(), to, std::ptr::null_mut(), left, flags) };
            match m {
                m if m > 0 => left -= m as usize,
                0 => return Err(local(io::Error::new(io::ErrorKind::WriteZero, "the local file took no data"))),
                _ => {
                    let e = io::Error::last_os_error();
                    if e.kind() != io::ErrorKind::Interrupted {
                        return Err(local(e));
                    }
                }
            }
        }
        Ok(n as usize)
    }
}

#[cfg(target_os = "linux")]
impl Drop for Pipe {
    fn drop(&mut self) {
        // SAFETY: closing the descriptors this pipe owns.
        unsafe {
            libc::close(self.read);
            libc::close(self.write);
        }
    }
}

/// Elsewhere there is no splice: no pipe is ever made, and downloads copy.
#[cfg(not(target_os = "linux"))]
pub(crate) struct Pipe(std::convert::Infallible);

#[cfg(not(target_os = "linux"))]
impl Pipe {
    pub(crate) fn new() -> io::Result<Pipe> {
        Err(io::ErrorKind::Unsupported.into())
    }

    pub(crate) fn splice_from(&mut self, _from: RawFd, _to: RawFd) -> io::Result<usize> {
        match self.0 {}
    }
}

/// Writes all of `data` to the local file; its errors are local file errors.
pub(crate) fn write_all_fd(fd: RawFd, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        // SAFETY: writing from a live slice.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(local(e));
        }
        if n == 0 {
            return Err(local(io::Error::new(io::ErrorKind::WriteZero, "the local file took no data")));
        }
        data = &data[n as usize..];
    }
    Ok(())
}

/// One read from the data connection written to `fd` (TLS, or where splice does not apply).
pub(crate) fn copy_chunk(conn: &mut DataConnection, fd: RawFd, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.resize(256 * 1024, 0);
    let n = conn.read(buf)?;
    write_all_fd(fd, &buf[..n])?;
    Ok(n)
}

/// One read from `fd` sent whole on the data connection (TLS, or where sendfile does not
/// apply). A failed read is a local file error, unless it is an interruption or a
/// non-blocking descriptor with nothing to give.
pub(crate) fn copy_from_fd(fd: RawFd, conn: &mut DataConnection, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.resize(256 * 1024, 0);
    // SAFETY: reading into a live buffer of its length.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return Err(match e.kind() {
            io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock => e,
            _ => local(e),
        });
    }
    conn.write_all(&buf[..n as usize])?;
    Ok(n as usize)
}

/// Sends up to one chunk of `fd`, from its position, on the socket `sock`, and moves the
/// position past what was sent, on every system alike; Ok(0) at the end of the file.
/// Bytes sent before an error or a timeout come back first, as Ok; the error comes at the
/// next call. With nothing sent: WouldBlock once the socket's send timeout (TICK) passed
/// (the caller checks its patience and calls again), or an error that
/// `refused_by_zero_copy` recognises when `fd` is not a file the call takes.
///
/// Linux: sendfile(out = socket, in = file, NULL offset: uses and moves the file's own
/// position, count) returns the bytes sent.
#[cfg(target_os = "linux")]
pub(crate) fn send_file(sock: RawFd, fd: RawFd) -> io::Result<usize> {
    ZERO_COPY_CALLS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: sendfile between descriptors, using and advancing fd's own position.
    let n = unsafe { libc::sendfile(sock, fd, std::ptr::null_mut(), CHUNK) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// macOS and FreeBSD: sendfile(file, socket, offset, ...) takes an explicit offset and
/// leaves the file's position alone, so the position is read first and moved after. Both
/// report the bytes sent through a pointer also when the call fails (EAGAIN after the send
/// timeout, EINTR, EPIPE...), and neither raises SIGPIPE. A count of 0 would mean "to the
/// end of the file" on both, so one chunk is asked for.
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
pub(crate) fn send_file(sock: RawFd, fd: RawFd) -> io::Result<usize> {
    // SAFETY: lseek(0, SEEK_CUR) only reads the position (ESPIPE for a pipe: copies then).
    let offset = unsafe { libc::lseek(fd, 0, libc::SEEK_CUR) };
    if offset < 0 {
        return Err(io::Error::last_os_error());
    }
    ZERO_COPY_CALLS.fetch_add(1, Ordering::Relaxed);
    let (status, sent) = bsd_sendfile(fd, sock, offset);
    let error = (status != 0).then(io::Error::last_os_error);
    if sent > 0 {
        // SAFETY: moving fd's position past the bytes sent.
        if unsafe { libc::lseek(fd, offset + sent, libc::SEEK_SET) } < 0 {
            return Err(local(io::Error::last_os_error()));
        }
        return Ok(sent as usize);
    }
    match error {
        Some(e) => Err(e),
        None => Ok(0),
    }
}

/// macOS: `int sendfile(int fd, int s, off_t offset, off_t *len, struct sf_hdtr *hdtr, int
/// flags)`: `*len` is the most to send on the way in, the bytes sent on the way out.
#[cfg(target_os = "macos")]
fn bsd_sendfile(fd: RawFd, sock: RawFd, offset: libc::off_t) -> (libc::c_int, libc::off_t) {
    let mut len = CHUNK as libc::off_t;
    // SAFETY: sendfile between descriptors; `len` is ours, no headers or trailers.
    let status = unsafe { libc::sendfile(fd, sock, offset, &mut len, std::ptr::null_mut(), 0) };
    (status, len)
}

/// FreeBSD: `int sendfile(int fd, int s, off_t offset, size_t nbytes, struct sf_hdtr *hdtr,
/// off_t *sbytes, int flags)`: `*sbytes` gets the bytes sent.
#[cfg(target_os = "freebsd")]
fn bsd_sendfile(fd: RawFd, sock: RawFd, offset: libc::off_t) -> (libc::c_int, libc::off_t) {
    let mut sbytes: libc::off_t = 0;
    // SAFETY: sendfile between descriptors; `sbytes` is ours, no headers or trailers.
    let status = unsafe { libc::sendfile(fd, sock, offset, CHUNK, std::ptr::null_mut(), &mut sbytes, 0) };
    (status, sbytes)
}

/// Other systems have no sendfile this code knows: uploads copy (`can_send_file` is false
/// there, so this is never called).
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "freebsd")))]
pub(crate) fn send_file(_sock: RawFd, _fd: RawFd) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Holds SIGPIPE blocked on this thread while it lives. A write to a socket the peer has
/// reset, or to a pipe whose reader is gone, raises SIGPIPE, whose default action kills
/// the process: a C program using this library would die where it should get an error.
/// Sends through std carry MSG_NOSIGNAL; sendfile, splice and write to a local descriptor
/// cannot, so those run under this guard (as curl does around its I/O). A SIGPIPE raised
/// meanwhile is taken off the thread before the old mask comes back, so it is never
/// delivered; one that was already pending stays.
pub(crate) struct SigpipeGuard {
    old_mask: libc::sigset_t,
    was_pending: bool,
}

impl SigpipeGuard {
    pub(crate) fn new() -> SigpipeGuard {
        // SAFETY: sigset_t values we own, initialised by the sig*set calls before use.
        unsafe {
            let mut pipe: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut pipe);
            libc::sigaddset(&mut pipe, libc::SIGPIPE);
            let mut old_mask: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, &pipe, &mut old_mask);
            SigpipeGuard { old_mask, was_pending: sigpipe_pending() }
        }
    }
}

impl Drop for SigpipeGuard {
    fn drop(&mut self) {
        // SAFETY: as above; sigtimedwait with a zero timeout only takes a pending signal.
        unsafe {
            if !self.was_pending && sigpipe_pending() {
                let mut pipe: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut pipe);
                libc::sigaddset(&mut pipe, libc::SIGPIPE);
                take_pending(&pipe);
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old_mask, std::ptr::null_mut());
        }
    }
}

fn sigpipe_pending() -> bool {
    // SAFETY: a sigset_t we own, filled by sigpending.
    unsafe {
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut pending) == 0 && libc::sigismember(&pending, libc::SIGPIPE) == 1
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
unsafe fn take_pending(set: &libc::sigset_t) {
    let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    libc::sigtimedwait(set, std::ptr::null_mut(), &zero);
}

#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
unsafe fn take_pending(set: &libc::sigset_t) {
    // No sigtimedwait (macOS): sigwait returns at once, since the signal is pending.
    let mut signal = 0;
    libc::sigwait(set, &mut signal);
}
