//! A data connection: plain or TLS, every wait a short tick that sees a cancel request, and
//! a deadline measured from the last byte moved.

use super::stream::Stream;
use crate::error::{Error, Result};
use crate::proto::pasv::parse150;
use crate::proto::reply::Reply;
use openssl::ssl::ShutdownState;
use socket2::SockRef;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An open data connection, from `transfercmd`. Close it with `Client::finish_transfer`
/// (reads the final reply) or `Client::abort_transfer`.
pub struct DataConnection {
    pub(crate) stream: Stream,
    pub(crate) size: Option<u64>,
    pub(crate) bytes: u64,
    /// Reads and writes made on the socket (system calls, or TLS record calls), for tests
    /// that guard the cost of a transfer without timing it.
    pub(crate) socket_calls: u64,
    preliminary: Reply,
    /// The longest the connection may go without moving a byte (the data wait).
    idle: Duration,
    /// When a byte last moved (or the connection opened).
    last_progress: Instant,
    /// The client's stop flags (cancel, stop the transfer), looked at between the short
    /// socket waits.
    stops: [Arc<AtomicBool>; 2],
    /// A cancel request (the first flag) was taken here: the client's stop then treats
    /// it as a cancel (see `Client::stop`).
    took_cancel: std::cell::Cell<bool>,
    /// A non-blocking socket (opened inside a task, see `net::task`): a call that would
    /// block returns at once, and the wait is `stream::wait_until`'s, not a TICK's.
    nonblocking: bool,
    /// Steps made inside a task, for `take_turns`.
    turns: u64,
}

/// Every data socket's system calls wait at most this long (SO_RCVTIMEO, SO_SNDTIMEO), so
/// that the loops around them see a cancel request and measure the time without progress
/// across calls, whatever the call (read, write, splice, sendfile, a TLS step). For plain
/// downloads in blocks it is also the longest the bytes wait in the kernel for the rest of
/// their block. As `stream::CANCEL_TICK`: a tick and the 30 ms a cancel gives ABOR's
/// answers stay well within the 100 ms a cancel may take (50 ms ticks reached 112 ms on
/// a loaded machine).
const TICK: Duration = Duration::from_millis(20);
/// The largest block the kernel is asked to gather before waking the reader. Larger
/// low-water marks make Linux clamp the TCP window to them (tcp_set_rcvlowat), which slows
/// the download instead.
const MAX_LOW_WATER: usize = 64 * 1024;
/// Steps (socket calls, file copies) a data connection makes inside a task before it lets
/// the others run.
const TURN: u64 = 16;

impl DataConnection {
    /// The size announced in `150 ... (N bytes)`, if any.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Bytes read or written so far.
    pub fn transferred(&self) -> u64 {
        self.bytes
    }

    /// The 1xx reply that opened the transfer.
    pub fn preliminary_reply(&self) -> &Reply {
        &self.preliminary
    }

    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    pub(crate) fn tcp(&self) -> &TcpStream {
        self.stream.tcp()
    }

    /// This side's address on the data connection (in passive mode, the source address's
    /// host and port when the client has one; see `Client::set_source_address`).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.tcp().local_addr().ok()
    }

    /// The server's address on the data connection.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.tcp().peer_addr().ok()
    }

    /// Bytes moved by a call that bypassed `read`/`write` (splice, sendfile).
    pub(crate) fn count(&mut self, n: usize) {
        self.bytes += n as u64;
        if n > 0 {
            self.last_progress = Instant::now();
        }
    }

    /// Takes the client's stop requests (cancel, stop the transfer): whether there was one.
    /// Taken, so that a caller of the data connection (`Client::ntransfercmd`) finds its
    /// next call uncut; a cancel is remembered for `took_cancel`.
    fn take_stop(&self) -> bool {
        let cancel = self.stops[0].swap(false, Ordering::AcqRel);
        let stop = self.stops[1].swap(false, Ordering::AcqRel);
        if cancel {
            self.took_cancel.set(true);
        }
        cancel || stop
    }

    /// Whether a stop this connection saw came from a cancel request.
    pub(crate) fn took_cancel(&self) -> bool {
        self.took_cancel.get()
    }

    /// After a socket call came back after its TICK with nothing moved (or at once, on a
    /// non-blocking socket, then after waiting for `events` on it): `Cancelled` when a
    /// cancel request came, `Timeout(what)` once the connection has moved nothing for the
    /// data wait, else Ok (call again). A request is taken (see `take_stop`).
    pub(crate) fn check_patience(&self, what: &'static str, events: i16) -> Result<()> {
        if self.take_stop() {
            return Err(Error::Cancelled(what));
        }
        // A wait too long to represent is as good as forever.
        let at =
            self.last_progress.checked_add(self.idle).unwrap_or_else(|| Instant::now() + Duration::from_secs(1 << 32));
        if at <= Instant::now() {
            return Err(Error::Timeout(what));
        }
        if self.nonblocking {
            // One wait of the task's driver; woken by the socket, the deadline or a stop
            // request, the caller calls again, and this looks at the flags and the clock.
            let wait = super::task::Wait { fd: self.stream.fd(), events, deadline: at };
            return match super::task::suspend(wait) {
                Some(super::task::Woke::Ready | super::task::Woke::Check) => Ok(()),
                Some(super::task::Woke::Abandon) | None => Err(Error::Cancelled(what)),
            };
        }
        Ok(())
    }

    /// Inside a task, lets the other tasks run every TURN socket calls (see
    /// `task::yield_now`); `Cancelled(what)` when the task's driver abandons it (a transfer
    /// whose data keeps coming would otherwise never wait, and so never fail).
    pub(crate) fn take_turns(&mut self, what: &'static str) -> Result<()> {
        if !self.nonblocking {
            return Ok(());
        }
        self.turns += 1;
        if self.turns.is_multiple_of(TURN)
            && super::task::yield_now(self.stream.fd()) == Some(super::task::Woke::Abandon)
        {
            return Err(Error::Cancelled(what));
        }
        Ok(())
    }

    /// Makes reads of a plain connection return whole blocks of `block` bytes (at most
    /// MAX_LOW_WATER) where the network is fast: SO_RCVLOWAT wakes the reader once a block
    /// has arrived, not at every segment (on loopback this cut the client's CPU per GiB by a
    /// third; see docs/BENCHMARKS.md); a slow link's bytes are handed over after a TICK.
    /// Nothing changes for TLS, or when the kernel refuses the option.
    ///
    /// Linux only: there a read whose SO_RCVTIMEO passes returns the bytes that arrived,
    /// below the mark too (tcp_recvmsg). macOS and FreeBSD keep bytes below the mark in the
    /// kernel until the mark is reached, the data ends or an error comes; a timeout there
    /// returns EAGAIN with the bytes still waiting (soreceive), so a slow server's bytes
    /// would look like no progress and the data wait would end a transfer that moves. There
    /// (and with FTPC_PORTABLE_IO=1) reads take whatever has arrived.
    pub(crate) fn read_in_blocks(&mut self, block: usize) {
        // A non-blocking socket waits in poll, which would not wake below the mark.
        if !cfg!(target_os = "linux") || super::portable_io() || self.nonblocking {
            return;
        }
        let Stream::Plain(tcp) = &self.stream else {
            return;
        };
        let low_water = block.min(MAX_LOW_WATER) as libc::c_int;
        // SAFETY: setsockopt on our own socket with an int of the size given.
        unsafe {
            libc::setsockopt(
                tcp.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVLOWAT,
                (&low_water as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }

    /// Holds back partly filled TCP segments while `on` (TCP_CORK, Linux only; elsewhere, or
    /// when the kernel refuses, nothing changes): an upload written in blocks that are not
    /// multiples of the segment size then goes out in full segments, not one full segment
    /// and a small remainder per write (on loopback, 64 KiB writes made 65,483 + 53-byte
    /// pairs), and over TLS several records share a segment. The kernel sends what is held
    /// after 200 ms at most; turning it off sends the rest at once.
    pub(crate) fn cork(&self, on: bool) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _ = SockRef::from(self.tcp()).set_cork(on);
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = on;
    }

    /// One read, waiting for data for at most the data wait since the last progress.
    pub(crate) fn receive(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.take_turns("receiving data")?;
        loop {
            self.socket_calls += 1;
            match self.stream.read(buf) {
                Ok(n) => {
                    self.count(n);
                    return Ok(n);
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    self.check_patience("receiving data", libc::POLLIN)?
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("receiving data", e)),
            }
        }
    }

    /// Sends all of `buf`; fails once the connection moves nothing for the data wait.
    pub(crate) fn send_all(&mut self, mut buf: &[u8]) -> Result<()> {
        self.take_turns("sending data")?;
        while !buf.is_empty() {
            self.socket_calls += 1;
            match self.stream.write(buf) {
                Ok(0) => return Err(Error::io("sending data", io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    self.count(n);
                    buf = &buf[n..];
                    // A write that blocked part way comes back after its TICK with what it
                    // took (an upload to a slow reader, every few writes): a request made
                    // meanwhile is seen now, not after the next write's TICK too (a cancel
                    // took 110 to 137 ms so, against a server that stopped reading).
                    if !buf.is_empty() && self.take_stop() {
                        return Err(Error::Cancelled("sending data"));
                    }
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    self.check_patience("sending data", libc::POLLOUT)?
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("sending data", e)),
            }
        }
        Ok(())
    }
}

impl Drop for DataConnection {
    /// A TLS data connection dropped without close_notify (a stop, a reset, an error) would
    /// make OpenSSL mark its session as not resumable; that session is the control
    /// connection's, which every later data connection must resume on servers that require
    /// it (ProFTPD by default, vsftpd `require_ssl_reuse`). The session did nothing wrong:
    /// say the shutdown is done so it stays resumable.
    fn drop(&mut self) {
        if let Stream::Tls(tls) = &mut self.stream {
            tls.set_shutdown(ShutdownState::SENT | ShutdownState::RECEIVED);
        }
    }
}

/// For callers that want the std traits (`ftp_data_read`/`ftp_data_write`, line readers):
/// the same waits as `receive`/`send_all`, their errors carried inside `io::Error`.
impl Read for DataConnection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.receive(buf).map_err(into_io)
    }
}

impl Write for DataConnection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send_all(buf).map_err(into_io)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A core error as an `io::Error` whose kind keeps timeouts and cancellation apart.
fn into_io(e: Error) -> io::Error {
    match e {
        Error::Io { source, .. } => source,
        Error::Timeout(_) => io::Error::new(io::ErrorKind::TimedOut, e),
        Error::Cancelled(_) => io::Error::other(crate::proto::lines::StopTransfer),
        other => io::Error::other(other),
    }
}

impl DataConnection {
    /// A data connection over `stream`, opened by the 1xx reply `preliminary` (whose size,
    /// if it announces one, is kept), failing once it moves nothing for `idle`; `stop` is
    /// the client's stop flags. The socket must have TICK socket timeouts (`set_tick`).
    pub(crate) fn new(
        stream: Stream,
        preliminary: Reply,
        idle: Duration,
        stops: [Arc<AtomicBool>; 2],
    ) -> DataConnection {
        DataConnection {
            stream,
            size: parse150(&preliminary),
            bytes: 0,
            socket_calls: 0,
            preliminary,
            idle,
            last_progress: Instant::now(),
            stops,
            took_cancel: std::cell::Cell::new(false),
            nonblocking: super::task::in_task(),
            turns: 0,
        }
    }
}

/// Gives every system call on a data socket the TICK timeout (see TICK); inside a task,
/// makes it non-blocking instead (the task's driver waits, see `net::task`).
pub(crate) fn set_tick(tcp: &TcpStream) -> std::io::Result<()> {
    if super::task::in_task() {
        return tcp.set_nonblocking(true);
    }
    tcp.set_read_timeout(Some(TICK))?;
    tcp.set_write_timeout(Some(TICK))
}

/// Closes with RST rather than FIN, so a server receiving an upload cannot take the end of
/// the data for the end of the file.
pub(crate) fn reset(tcp: &TcpStream) {
    let _ = SockRef::from(tcp).set_linger(Some(Duration::ZERO));
}
