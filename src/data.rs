//! Data connections: passive (EPSV, then PASV), active (EPRT, then PORT), the transfer
//! command's preliminary reply, and ending a transfer cleanly or by ABOR.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::pasv::{eprt_argument, parse150, parse227, parse229, port_argument};
use crate::reply::Reply;
use crate::stream::{self, Stream};
use socket2::SockRef;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An open data connection, from `transfercmd`. Close it with `Client::finish_transfer`
/// (reads the final reply) or `Client::abort_transfer`.
pub struct DataConnection {
    pub(crate) stream: Stream,
    size: Option<u64>,
    bytes: u64,
    preliminary: Reply,
    /// Set by `read_in_blocks`: the data timeout, counted across the short socket waits,
    /// and the client's cancel flag, looked at between them.
    block_reads: Option<(Duration, Arc<AtomicBool>)>,
}

/// The longest a plain download's bytes wait in the kernel for the rest of their block.
const BLOCK_WAIT: Duration = Duration::from_millis(50);
/// Replies after ABOR beyond which the server is not following the protocol.
const MAX_ABOR_REPLIES: usize = 4;
/// The largest block the kernel is asked to gather before waking the reader.
const MAX_LOW_WATER: usize = 256 * 1024;

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

    pub(crate) fn count(&mut self, n: usize) {
        self.bytes += n as u64;
    }

    /// Makes reads of a plain connection return whole blocks of `block` bytes where the
    /// network is fast: SO_RCVLOWAT wakes the reader once a block has arrived, not at every
    /// segment (on loopback this cut the client's CPU per GiB by a third and sped up
    /// downloads; see docs/BENCHMARKS.md). A short socket timeout (BLOCK_WAIT) hands a slow
    /// link's bytes over after at most that long; `data_timeout` still bounds a stall.
    /// Nothing changes for TLS, or when the kernel refuses the option.
    pub(crate) fn read_in_blocks(&mut self, block: usize, data_timeout: Duration, stop: Arc<AtomicBool>) {
        let Stream::Plain(tcp) = &self.stream else { return };
        let low_water = block.min(MAX_LOW_WATER) as libc::c_int;
        // SAFETY: setsockopt on our own socket with an int of the size given.
        let set = unsafe {
            libc::setsockopt(
                tcp.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVLOWAT,
                (&low_water as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if set == 0 && tcp.set_read_timeout(Some(BLOCK_WAIT.min(data_timeout))).is_ok() {
            self.block_reads = Some((data_timeout, stop));
        }
    }
}

impl Read for DataConnection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &self.block_reads {
            None => self.stream.read(buf)?,
            Some((data_timeout, stop)) => {
                // A short wait that ends with nothing is not yet a stall: only the data
                // timeout, counted from the start of this read, is. A cancel request ends
                // the wait (the transfer then sees the flag and aborts).
                let started = Instant::now();
                loop {
                    match self.stream.read(buf) {
                        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
                            && started.elapsed() < *data_timeout =>
                        {
                            if stop.load(Ordering::Acquire) {
                                return Err(io::Error::other("cancelled"));
                            }
                        }
                        other => break other?,
                    }
                }
            }
        };
        self.bytes += n as u64;
        Ok(n)
    }
}

impl Write for DataConnection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.stream.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// The same host, seeing through IPv4-mapped IPv6 addresses.
fn same_host(a: IpAddr, b: IpAddr) -> bool {
    let canonical = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    canonical(a) == canonical(b)
}

impl Client {
    /// Asks for a passive data address: EPSV, or PASV once the server refused EPSV. The host
    /// is the control connection's peer unless the caller trusts the 227 address.
    pub fn makepasv(&mut self) -> Result<SocketAddr> {
        let peer = self.ctrl()?.peer;
        if self.config.use_epsv && !self.session.epsv_refused {
            match self.cmd("EPSV", None) {
                Ok(reply) => return Ok(SocketAddr::new(peer.ip(), parse229(&reply)?)),
                Err(Error::Perm(reply)) => {
                    self.session.epsv_refused = true;
                    self.trace(1, || format!("*info* EPSV refused ({}), using PASV from now on", reply.code));
                }
                Err(e) => return Err(e),
            }
        }
        let reply = self.cmd("PASV", None)?;
        let offered = parse227(&reply)?;
        if self.config.trust_server_pasv_address && peer.is_ipv4() {
            return Ok(offered);
        }
        if offered.ip() != peer.ip() {
            self.trace(1, || format!("*info* ignoring the 227 address {}, using {}", offered.ip(), peer.ip()));
        }
        Ok(SocketAddr::new(peer.ip(), offered.port()))
    }

    /// Listens for an active data connection and tells the server where: EPRT, or PORT on
    /// IPv4 once the server refused EPRT.
    pub fn makeport(&mut self) -> Result<TcpListener> {
        let local = self.ctrl()?.local;
        let listener = self.listen_on(local.ip())?;
        let port = listener.local_addr().map_err(|e| Error::io("listening for the data connection", e))?.port();
        let advertised = SocketAddr::new(self.config.active_address.unwrap_or(local.ip()), port);
        if self.config.use_epsv && !self.session.eprt_refused {
            match self.void("EPRT", Some(eprt_argument(advertised).as_bytes())) {
                Ok(_) => return Ok(listener),
                Err(Error::Perm(reply)) if advertised.is_ipv4() => {
                    self.session.eprt_refused = true;
                    self.trace(1, || format!("*info* EPRT refused ({}), using PORT from now on", reply.code));
                }
                Err(e) => return Err(e),
            }
        }
        let arg = port_argument(advertised)
            .ok_or_else(|| Error::Unsupported("active mode over IPv6 needs EPRT, which the server refused".into()))?;
        self.void("PORT", Some(arg.as_bytes()))?;
        Ok(listener)
    }

    /// ftplib's `sendport` (PORT, IPv4 only) and `sendeprt` (EPRT).
    pub fn sendport(&mut self, addr: SocketAddr, use_port: bool) -> Result<Reply> {
        if use_port {
            let arg = port_argument(addr)
                .ok_or_else(|| Error::InvalidArgument("PORT takes an IPv4 address; use EPRT".into()))?;
            self.void("PORT", Some(arg.as_bytes()))
        } else {
            self.void("EPRT", Some(eprt_argument(addr).as_bytes()))
        }
    }

    fn listen_on(&self, ip: IpAddr) -> Result<TcpListener> {
        let context = "listening for the data connection";
        let Some((first, last)) = self.config.active_port_range else {
            return TcpListener::bind(SocketAddr::new(ip, 0)).map_err(|e| Error::io(context, e));
        };
        let mut last_error = None;
        for port in first..=last {
            match TcpListener::bind(SocketAddr::new(ip, port)) {
                Ok(l) => return Ok(l),
                Err(e) => last_error = Some(e),
            }
        }
        Err(Error::io(context, last_error.unwrap_or_else(|| io::Error::other("empty port range"))))
    }

    /// Waits for the server's data connection; connections from other hosts are refused
    /// (closed) and the wait goes on until the accept timeout.
    fn accept_from_server(&mut self, listener: &TcpListener) -> Result<TcpStream> {
        let server = self.ctrl()?.peer.ip();
        let deadline = Instant::now() + self.config.data_accept_timeout;
        let mut refused = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let what = "waiting for the server's data connection";
            if left.is_zero() || !stream::wait_for(listener.as_raw_fd(), libc::POLLIN, left, &self.cancel, what)? {
                return Err(Error::Timeout(if refused > 0 {
                    "waiting for the server's data connection (connections from other hosts were refused)"
                } else {
                    "waiting for the server's data connection"
                }));
            }
            let (tcp, from) = listener.accept().map_err(|e| Error::io("accepting the data connection", e))?;
            if same_host(from.ip(), server) {
                return Ok(tcp);
            }
            refused += 1;
            self.trace(1, || format!("*info* refused a data connection from {from}, not the server"));
            drop(tcp);
        }
    }

    /// Opens a data connection for `cmd` (ftplib's `ntransfercmd`), sending `REST rest` first
    /// when given. The size announced by a 150 reply is in `DataConnection::size`.
    pub fn ntransfercmd(&mut self, cmd: &[u8], rest: Option<u64>) -> Result<DataConnection> {
        let (tcp, preliminary) = if self.config.passive {
            let addr = self.makepasv()?;
            let source = self.source_address.map(|s| SocketAddr::new(s.ip(), 0));
            let tcp = stream::connect_any(&[addr], self.config.data_connect_timeout, source, &self.cancel)?;
            let reply = self.send_transfer_command(cmd, rest)?;
            (tcp, reply)
        } else {
            let listener = self.makeport()?;
            let reply = self.send_transfer_command(cmd, rest)?;
            let accepted = self.accept_from_server(&listener);
            drop(listener);
            match accepted {
                Ok(tcp) => (tcp, reply),
                Err(e) => return Err(self.abandon_transfer(e)),
            }
        };
        // Bounded from the start: a TLS handshake on the data connection reads and writes too.
        let timeout = Some(self.config.data_timeout);
        if let Err(e) = tcp.set_read_timeout(timeout).and_then(|()| tcp.set_write_timeout(timeout)) {
            drop(tcp);
            return Err(self.abandon_transfer(Error::io("setting a timeout", e)));
        }
        let stream = match self.wrap_data(tcp) {
            Ok(stream) => stream,
            Err(e) => return Err(self.abandon_transfer(e)),
        };
        self.trace(2, || format!("*data* connection open, {}", if stream.is_tls() { "TLS" } else { "plain" }));
        Ok(DataConnection { stream, size: parse150(&preliminary), bytes: 0, preliminary, block_reads: None })
    }

    /// The server answered the transfer command with 1xx but no usable data connection came
    /// of it (no connection from the server in time, failed TLS handshake): ABOR, so the
    /// server's final reply is read here rather than taken as the answer to the next command.
    /// A connection that cannot be brought back in step is dropped.
    fn abandon_transfer(&mut self, error: Error) -> Error {
        if self.is_connected() && self.send_abor().and_then(|()| self.read_abor_replies()).is_err() {
            self.drop_connection();
        }
        self.end_transfer();
        error
    }

    /// The transfer is over: a cancel request made during it was served, or came too late.
    fn end_transfer(&mut self) {
        self.transfer_open = false;
        self.cancel.store(false, Ordering::Release);
    }

    /// ftplib's `transfercmd`: `ntransfercmd` without the size.
    pub fn transfercmd(&mut self, cmd: &[u8], rest: Option<u64>) -> Result<DataConnection> {
        self.ntransfercmd(cmd, rest)
    }

    fn send_transfer_command(&mut self, cmd: &[u8], rest: Option<u64>) -> Result<Reply> {
        self.last_transfer_bytes = 0;
        if let Some(rest) = rest {
            self.cmd("REST", Some(rest.to_string().as_bytes()))?;
        }
        self.transfer_open = true;
        let started = self.transfer_command(cmd);
        if started.is_err() {
            self.end_transfer();
        }
        started
    }

    fn transfer_command(&mut self, cmd: &[u8]) -> Result<Reply> {
        self.putcmd(cmd)?;
        let mut reply = self.getresp()?;
        // Some servers send a 2xx before the 1xx (ftplib handles it the same way).
        if reply.class() == 2 {
            reply = self.getresp()?;
        }
        if reply.class() != 1 {
            return Err(Error::Reply(reply));
        }
        Ok(reply)
    }

    /// Ends a transfer whose data went through: closes the data connection (TLS close_notify
    /// first) and reads the final reply, which must be 2xx. A download shorter than the size
    /// the server announced is `Truncated` even when the server says 226.
    pub fn finish_transfer(&mut self, conn: DataConnection, expect_size: bool) -> Result<Reply> {
        let (size, bytes) = (conn.size, conn.bytes);
        self.last_transfer_bytes = bytes;
        let closed = self.close_data(conn);
        let reply = self.voidresp();
        self.end_transfer();
        let reply = reply?;
        closed?;
        if let (true, Some(size)) = (expect_size, size) {
            if bytes < size {
                return Err(Error::Truncated(format!("received {bytes} of the {size} bytes announced")));
            }
        }
        Ok(reply)
    }

    /// After an error on the data connection: drop it, then read the final reply so the
    /// control connection stays in step. The server's 4xx/5xx wins over the local error
    /// (it says why the server broke the connection), except over a local timeout: then the
    /// reply only reports the reset that followed our giving up. A success reply never turns
    /// the failed transfer into a success.
    pub(crate) fn fail_transfer(&mut self, conn: DataConnection, error: Error) -> Error {
        self.last_transfer_bytes = conn.bytes;
        reset(conn.tcp());
        drop(conn);
        if !self.is_connected() {
            self.end_transfer();
            return error;
        }
        let reply = self.getresp();
        self.end_transfer();
        match reply {
            Err(Error::Temp(_) | Error::Perm(_)) if matches!(error, Error::Timeout(_)) => error,
            Err(e @ (Error::Temp(_) | Error::Perm(_))) => e,
            _ => error,
        }
    }

    /// Stops a transfer early: resets the data connection, sends ABOR (urgent on a plain
    /// connection, so servers notice it during a transfer) and reads the replies that follow
    /// (426 then 226, or 226 alone, or 225), leaving the connection usable.
    pub fn abort_transfer(&mut self, conn: DataConnection) -> Result<()> {
        self.last_transfer_bytes = conn.bytes;
        reset(conn.tcp());
        drop(conn);
        let aborted = self.send_abor().and_then(|()| self.read_abor_replies());
        self.end_transfer();
        aborted
    }

    fn send_abor(&mut self) -> Result<()> {
        self.trace(1, || "*cmd* \"ABOR\"".into());
        let ctrl = self.ctrl()?;
        let sent = match &ctrl.stream {
            Stream::Plain(tcp) => {
                // The OOB byte makes servers like vsftpd look at the control connection now.
                let sent = SockRef::from(tcp).send_out_of_band(b"ABOR\r\n");
                sent.map(drop).map_err(|e| Error::io("sending ABOR", e))
            }
            Stream::Tls(_) => ctrl.send_line(b"ABOR"),
        };
        sent.inspect_err(|_| self.drop_connection())
    }

    /// Reads what the server says after ABOR. Servers differ in how many replies that is
    /// (426 then 226, 226 alone, 225, or one 451 for both), and a wait of any length can
    /// end too early on a slow link: so once the first reply is in, a NOOP marks the end,
    /// and every reply before its 200 belongs to the abort. One round trip, no guessing.
    /// The last reply stays the abort's (the NOOP's 200 is not kept).
    fn read_abor_replies(&mut self) -> Result<()> {
        let mut last = self.any_reply()?;
        self.send_line(b"NOOP")?;
        for _ in 0..MAX_ABOR_REPLIES {
            let reply = self.any_reply()?;
            if reply.code == 200 {
                self.last_reply = Some(last);
                return Ok(());
            }
            last = reply;
        }
        self.drop_connection();
        Err(Error::Proto(format!("more than {MAX_ABOR_REPLIES} replies after ABOR")))
    }

    /// The next reply, whatever its class.
    fn any_reply(&mut self) -> Result<Reply> {
        match self.getresp() {
            Ok(r) | Err(Error::Temp(r) | Error::Perm(r)) => Ok(r),
            Err(e) => Err(e),
        }
    }

    /// ftplib's `abort`: sends ABOR and reads the reply, which must be 426, 225 or 226.
    pub fn abort(&mut self) -> Result<Reply> {
        self.send_abor()?;
        let reply = match self.getresp() {
            Ok(r) => r,
            Err(Error::Temp(r) | Error::Perm(r)) => r,
            Err(e) => return Err(e),
        };
        if !matches!(reply.code, 225 | 226 | 426) {
            return Err(Error::Proto(format!("unexpected reply to ABOR: {reply}")));
        }
        Ok(reply)
    }

    fn close_data(&mut self, conn: DataConnection) -> Result<()> {
        let DataConnection { stream, .. } = conn;
        match stream {
            Stream::Plain(tcp) => {
                let _ = tcp.shutdown(std::net::Shutdown::Write);
                Ok(())
            }
            Stream::Tls(tls) => self.shutdown_tls_data(tls),
        }
    }
}

/// Closes with RST rather than FIN, so a server receiving an upload cannot take the end of
/// the data for the end of the file.
fn reset(tcp: &TcpStream) {
    let _ = SockRef::from(tcp).set_linger(Some(Duration::ZERO));
}

