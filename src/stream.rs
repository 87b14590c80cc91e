//! A TCP connection, plain or inside TLS, with the socket options FTP needs.

use crate::error::{Error, Result};
use openssl::ssl::SslStream;
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

    pub fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> Result<()> {
        let tcp = self.tcp();
        tcp.set_read_timeout(read).map_err(|e| Error::io("setting a timeout", e))?;
        tcp.set_write_timeout(write).map_err(|e| Error::io("setting a timeout", e))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
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
    let addrs: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| Error::io("resolving the host name", e))?
        .collect();
    if addrs.is_empty() {
        return Err(Error::io(
            "resolving the host name",
            io::Error::new(io::ErrorKind::NotFound, format!("{bare} has no address")),
        ));
    }
    Ok(addrs)
}

/// How often a wait on a socket looks at the cancel flag.
const CANCEL_TICK: Duration = Duration::from_millis(50);

/// Waits until `fd` has one of `events` (POLLIN, POLLOUT), for at most `wait`: false when
/// the time ran out. Looks at `stop` every CANCEL_TICK: `Cancelled(what)` when it is set.
pub(crate) fn wait_for(fd: RawFd, events: i16, wait: Duration, stop: &AtomicBool, what: &'static str) -> Result<bool> {
    let deadline = Instant::now() + wait;
    loop {
        // Taken, not just read: one request cancels one wait (or one transfer).
        if stop.swap(false, Ordering::AcqRel) {
            return Err(Error::Cancelled(what));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let mut pfd = libc::pollfd { fd, events, revents: 0 };
        let ms = left.min(CANCEL_TICK).as_millis().max(1) as i32;
        // SAFETY: one valid pollfd, for the length given.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n > 0 {
            return Ok(true);
        }
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(Error::io("waiting for the socket", e));
            }
        }
    }
}

/// Connects to the first address that answers, each within `timeout`, from `source` when
/// given (only addresses of the source's family are tried then); `stop` cancels.
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
fn connect_one(addr: SocketAddr, timeout: Duration, source: Option<SocketAddr>, stop: &AtomicBool) -> Result<TcpStream> {
    let io = |e| Error::io("connecting", e);
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(io)?;
    if let Some(source) = source {
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
