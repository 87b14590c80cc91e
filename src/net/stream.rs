//! A TCP connection, plain or inside TLS, with the socket options FTP needs.

use crate::error::{Error, Result};
use openssl::ssl::{ErrorCode, SslStream};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
}

impl Stream {
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => {
                clear_tls_errors();
                s.read(buf)
            }
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => {
                clear_tls_errors();
                s.write(buf)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Every address a host name resolves to, in the resolver's order. Accepts `[v6]` brackets.
pub(crate) fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if bare.is_empty() {
        return Err(Error::InvalidArgument("empty host name".into()));
    }
    let addrs: Vec<SocketAddr> =
        (bare, port).to_socket_addrs().map_err(|e| Error::io("resolving the host name", e))?.collect();
    if addrs.is_empty() {
        return Err(Error::io(
            "resolving the host name",
            io::Error::new(io::ErrorKind::NotFound, format!("{bare} has no address")),
        ));
    }
    Ok(addrs)
}

/// How often a wait on a socket looks at the cancel flag. A cancel may cost this plus the
/// ABOR grace of a cancel (30 ms) before the call returns, within the 100 ms promised; a
/// poll every 20 ms is no cost to a waiting call.
pub(crate) const CANCEL_TICK: Duration = Duration::from_millis(20);

/// Waits until `fd` has one of `events` (POLLIN, POLLOUT), for at most `wait`: false when
/// the time ran out. Looks at `stop` every CANCEL_TICK: `Cancelled(what)` when it is set.
pub(crate) fn wait_for(fd: RawFd, events: i16, wait: Duration, stop: &AtomicBool, what: &'static str) -> Result<bool> {
    match wait_until(fd, events, Deadline::after(wait, what), stop) {
        Ok(()) => Ok(true),
        Err(Error::Timeout(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Connects to the first address that answers, each within `timeout`, from `source` when
/// given (only addresses of the source's family are tried then); `stop` cancels. A source
/// with a port binds it with SO_REUSEADDR, so that connections from one source port (a
/// control connection and its data connections, each to another server port) can share it:
/// Linux lets sockets that all set SO_REUSEADDR, none of them listening, bind the same
/// address, and each connection is told apart by the server's end.
pub(crate) fn connect_any(
    addrs: &[SocketAddr],
    timeout: Duration,
    source: Option<SocketAddr>,
    stop: &AtomicBool,
) -> Result<TcpStream> {
    let mut last = None;
    for addr in addrs {
        if source.is_some_and(|s| s.is_ipv4() != addr.is_ipv4()) {
            continue;
        }
        match connect_one(*addr, timeout, source, stop) {
            Ok(s) => return Ok(s),
            Err(e @ Error::Cancelled(_)) => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::InvalidArgument("no address of the source address's family".into())))
}

/// A non-blocking connect, waited for in steps so that a cancel is seen.
fn connect_one(
    addr: SocketAddr,
    timeout: Duration,
    source: Option<SocketAddr>,
    stop: &AtomicBool,
) -> Result<TcpStream> {
    let io = |e| Error::io("connecting", e);
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(io)?;
    if let Some(source) = source {
        if source.port() != 0 {
            socket.set_reuse_address(true).map_err(io)?;
        }
        socket.bind(&SockAddr::from(source)).map_err(io)?;
    }
    socket.set_nonblocking(true).map_err(io)?;
    match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
            if !wait_for(socket.as_raw_fd(), libc::POLLOUT, timeout, stop, "connecting")? {
                return Err(io(io::ErrorKind::TimedOut.into()));
            }
            if let Some(e) = socket.take_error().map_err(io)? {
                return Err(io(e));
            }
        }
        Err(e) => return Err(io(e)),
    }
    socket.set_nonblocking(false).map_err(io)?;
    Ok(socket.into())
}

/// The end of one wait, and what is being waited for (named in the error when it passes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    pub at: Instant,
    pub what: &'static str,
}

impl Deadline {
    pub fn after(wait: Duration, what: &'static str) -> Deadline {
        // A wait too long to represent is as good as forever; cap it rather than panic.
        let at = Instant::now().checked_add(wait).unwrap_or_else(|| Instant::now() + Duration::from_secs(1 << 32));
        Deadline { at, what }
    }

    pub fn left(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }
}

/// Waits until `fd` has one of `events`: `Timeout(what)` once the deadline passes,
/// `Cancelled(what)` when `stop` is set (looked at every CANCEL_TICK). The one place where
/// this library blocks on a socket: every socket is non-blocking, and every read, write,
/// connect, accept and TLS step that would block comes here with the deadline of its call,
/// so no system call can outlast a timeout or a cancel request.
pub(crate) fn wait_until(fd: RawFd, events: i16, deadline: Deadline, stop: &AtomicBool) -> Result<()> {
    if super::task::in_task() {
        return suspend_until(fd, events, deadline, stop);
    }
    loop {
        // Taken, not just read: one request cancels one wait (or one transfer).
        if stop.swap(false, Ordering::AcqRel) {
            return Err(Error::Cancelled(deadline.what));
        }
        let left = deadline.left();
        if left.is_zero() {
            return Err(Error::Timeout(deadline.what));
        }
        if poll_once(fd, events, left.min(CANCEL_TICK))? {
            return Ok(());
        }
    }
}

/// `wait_until` inside a task: the task's driver does the waiting (see `net::task`), and
/// resumes the task when the socket is ready, the deadline has passed or a stop flag of the
/// client was set.
fn suspend_until(fd: RawFd, events: i16, deadline: Deadline, stop: &AtomicBool) -> Result<()> {
    loop {
        if stop.swap(false, Ordering::AcqRel) {
            return Err(Error::Cancelled(deadline.what));
        }
        if deadline.left().is_zero() {
            return Err(Error::Timeout(deadline.what));
        }
        match super::task::suspend(super::task::Wait { fd, events, deadline: deadline.at }) {
            Some(super::task::Woke::Ready) => return Ok(()),
            Some(super::task::Woke::Check) => {}
            Some(super::task::Woke::Abandon) | None => return Err(Error::Cancelled(deadline.what)),
        }
    }
}

/// One poll(2) of `fd` for at most `wait`: whether it became ready (or has an error or
/// hang-up to report, which the next read or write will tell).
pub(crate) fn poll_once(fd: RawFd, events: i16, wait: Duration) -> Result<bool> {
    let mut pfd = libc::pollfd { fd, events, revents: 0 };
    let ms = wait.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd, for the length given.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(Error::io("waiting for the socket", e));
        }
        return Ok(false);
    }
    Ok(n > 0)
}

impl Stream {
    pub fn fd(&self) -> RawFd {
        self.tcp().as_raw_fd()
    }

    /// Acknowledges what arrives at once for a while (Linux TCP_QUICKACK; elsewhere
    /// nothing). For exchanges where the client has nothing to send after its last
    /// command while the server answers in pieces: a delayed ACK (40 ms) of one piece then
    /// holds the next in the server's Nagle queue (bsd-ftpd answering ABOR and a NOOP).
    pub fn quick_ack(&self) {
        #[cfg(target_os = "linux")]
        let _ = socket2::SockRef::from(self.tcp()).set_quickack(true);
    }

    /// One read of what is there, waiting for it until `deadline`; `Ok(0)` when the peer
    /// ended the stream (for TLS also without close_notify: see `tls::received_close_notify`).
    pub fn read_before(&mut self, buf: &mut [u8], deadline: Deadline, stop: &AtomicBool) -> Result<usize> {
        loop {
            let want = match self {
                Stream::Plain(tcp) => match tcp.read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => libc::POLLIN,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Error::io(deadline.what, e)),
                },
                Stream::Tls(tls) => match ssl_read_clean(tls, buf) {
                    Ok(n) => return Ok(n),
                    Err(e) => match tls_want(&e) {
                        Some(want) => want,
                        None if e.code() == ErrorCode::ZERO_RETURN => return Ok(0),
                        None if e.code() == ErrorCode::SYSCALL && e.io_error().is_none() => return Ok(0),
                        None => return Err(tls_io_error(deadline.what, e)),
                    },
                },
            };
            wait_until(self.fd(), want, deadline, stop)?;
        }
    }

    /// One write of as much of `buf` as the socket takes, waiting for room until `deadline`.
    pub fn write_before(&mut self, buf: &[u8], deadline: Deadline, stop: &AtomicBool) -> Result<usize> {
        loop {
            let want = match self {
                Stream::Plain(tcp) => match tcp.write(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => libc::POLLOUT,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Error::io(deadline.what, e)),
                },
                Stream::Tls(tls) => match ssl_write_clean(tls, buf) {
                    Ok(n) => return Ok(n),
                    Err(e) => match tls_want(&e) {
                        Some(want) => want,
                        None => return Err(tls_io_error(deadline.what, e)),
                    },
                },
            };
            wait_until(self.fd(), want, deadline, stop)?;
        }
    }
}

/// Empties this thread's OpenSSL error queue. OpenSSL classifies a failed call by looking at
/// that queue: an error left there by an earlier call (on any connection) turns the
/// would-block of a non-blocking read or write into a hard TLS error. Called before each
/// TLS step that may block.
pub(crate) fn clear_tls_errors() {
    // SAFETY: only clears the calling thread's error queue.
    unsafe { openssl_sys::ERR_clear_error() }
}

fn ssl_read_clean(tls: &mut SslStream<TcpStream>, buf: &mut [u8]) -> Result<usize, openssl::ssl::Error> {
    clear_tls_errors();
    tls.ssl_read(buf)
}

fn ssl_write_clean(tls: &mut SslStream<TcpStream>, buf: &[u8]) -> Result<usize, openssl::ssl::Error> {
    clear_tls_errors();
    tls.ssl_write(buf)
}

/// The socket readiness a non-blocking TLS operation waits for, if that is why it stopped.
pub(crate) fn tls_want(e: &openssl::ssl::Error) -> Option<i16> {
    match e.code() {
        ErrorCode::WANT_READ => Some(libc::POLLIN),
        ErrorCode::WANT_WRITE => Some(libc::POLLOUT),
        _ => None,
    }
}

fn tls_io_error(what: &'static str, e: openssl::ssl::Error) -> Error {
    Error::io(what, e.into_io_error().unwrap_or_else(io::Error::other))
}
