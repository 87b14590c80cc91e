//! Data connections: passive (EPSV, then PASV), active (EPRT, then PORT), the transfer
//! command's preliminary reply, and ending a transfer cleanly or by ABOR.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::net::data::{reset, set_tick, DataConnection};
use crate::net::stream::{self, Stream};
use crate::proto::conversation::{AbortReplies, Next, PasvAfterSilence, TransferStart};
use crate::proto::pasv::{eprt_argument, parse227, parse229, port_argument};
use crate::proto::reply::Reply;
use crate::proto::ProtoError;
use socket2::SockRef;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long the final reply may take after a transfer timed out locally: the call's time is
/// spent, so what puts the connection back in step must be quick or give up.
const CLEANUP_GRACE: Duration = Duration::from_millis(500);
/// How long EPSV may go unanswered over IPv4 before PASV stands in (some servers and
/// firewalls drop EPSV without a word).
const EPSV_WAIT: Duration = Duration::from_secs(3);
/// How long ABOR's answers may take after a cancel: enough for a live server on a near
/// link (acknowledged at once, see `read_abor_replies`), within the 100 ms a cancel may
/// take. The request is seen up to a tick late (20 ms: CANCEL_TICK, the data sockets'
/// TICK) and the grace comes on top; with 50 ms ticks and a 50 ms grace a silent server
/// made the call miss the 100 ms (100.0 to 103 ms on loopback).
const CANCEL_GRACE: Duration = Duration::from_millis(30);
/// The least a final reply gets after a slow TLS shutdown used up the timeout: enough for a
/// reply already on its way.
const MIN_REPLY_WAIT: Duration = Duration::from_millis(100);
/// Telnet (RFC 854): Interpret As Command, Interrupt Process, Data Mark.
const TELNET_IAC: u8 = 255;
const TELNET_IP: u8 = 244;
const TELNET_DM: u8 = 242;

/// A reply that refused a command, as the error of its class.
fn classify(reply: Reply) -> Error {
    match reply.class() {
        4 => Error::Temp(reply),
        5 => Error::Perm(reply),
        _ => Error::Reply(reply),
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
    /// is the control connection's peer unless the caller trusts the 227 address. Over IPv6
    /// it is always EPSV (`use_epsv` is about IPv4: PASV cannot name an IPv6 port).
    pub fn makepasv(&mut self) -> Result<SocketAddr> {
        let peer = self.ctrl()?.peer;
        let mut epsv_unanswered = false;
        if (self.config.use_epsv || peer.is_ipv6()) && !self.session.epsv_refused {
            // Over IPv4 PASV can stand in: a server (or a firewall in the way) that never
            // answers EPSV costs EPSV_WAIT, not the whole timeout and the connection.
            let wait = match peer.is_ipv4() {
                true => self.config.timeout.min(EPSV_WAIT),
                false => self.config.timeout,
            };
            self.send_line(b"EPSV")?;
            match self.getresp_or_silence(wait) {
                Ok(Some(reply)) => return Ok(SocketAddr::new(peer.ip(), parse229(&reply)?)),
                Ok(None) if peer.is_ipv4() => {
                    epsv_unanswered = true;
                    self.trace(1, || format!("*info* no answer to EPSV in {wait:?}, using PASV from now on"));
                }
                Ok(None) => {
                    self.drop_connection();
                    return Err(Error::Timeout("reading a reply"));
                }
                Err(Error::Perm(reply)) => {
                    self.trace(1, || format!("*info* EPSV refused ({}), using PASV from now on", reply.code));
                }
                Err(e) => return Err(e),
            }
            self.session.epsv_refused = true;
        }
        let reply = match epsv_unanswered {
            true => self.pasv_after_silent_epsv()?,
            false => self.cmd("PASV", None)?,
        };
        let offered = parse227(&reply)?;
        if self.config.trust_server_pasv_address && peer.is_ipv4() {
            return Ok(offered);
        }
        if offered.ip() != peer.ip() {
            self.trace(1, || format!("*info* ignoring the 227 address {}, using {}", offered.ip(), peer.ip()));
        }
        Ok(SocketAddr::new(peer.ip(), offered.port()))
    }

    /// PASV after an EPSV that got no answer in time (`proto::conversation::PasvAfterSilence`).
    fn pasv_after_silent_epsv(&mut self) -> Result<Reply> {
        for verb in PasvAfterSilence::COMMANDS {
            self.send_line(verb.as_bytes())?;
        }
        let mut conversation = PasvAfterSilence::default();
        loop {
            let reply = match self.getresp() {
                Ok(r) | Err(Error::Temp(r) | Error::Perm(r)) => r,
                Err(e) => return Err(e),
            };
            match conversation.reply(reply) {
                Ok(Next::Done(pasv)) => {
                    self.last_reply = Some(pasv.clone());
                    return Ok(pasv);
                }
                Ok(_) => {}
                Err(ProtoError::Reply(refusal)) => return Err(classify(refusal)),
                Err(e) => {
                    self.drop_connection();
                    return Err(e.into());
                }
            }
        }
    }

    /// Listens for an active data connection and tells the server where: EPRT, or PORT on
    /// IPv4 once the server refused EPRT.
    pub fn makeport(&mut self) -> Result<TcpListener> {
        let local = self.ctrl()?.local;
        let listener = self.listen_on(local.ip())?;
        let port = listener.local_addr().map_err(|e| Error::io("listening for the data connection", e))?.port();
        let advertised = SocketAddr::new(self.config.active_address.unwrap_or(local.ip()), port);
        if (self.config.use_epsv || advertised.is_ipv6()) && !self.session.eprt_refused {
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
        let deadline = Instant::now() + self.config.data_accept_wait();
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
        self.open_transfer(cmd, rest, false)
    }

    /// `ntransfercmd` with REST `rest` first, which must be answered 350 (ftplib takes any
    /// reply below 400): a server that does not restart there is an error, before the
    /// transfer command goes out.
    pub(crate) fn ntransfercmd_rest_strict(&mut self, cmd: &[u8], rest: u64) -> Result<DataConnection> {
        self.open_transfer(cmd, Some(rest), true)
    }

    fn open_transfer(&mut self, cmd: &[u8], rest: Option<u64>, strict_rest: bool) -> Result<DataConnection> {
        let (tcp, preliminary) = if self.config.passive {
            let addr = self.makepasv()?;
            let tcp = stream::connect_any(&[addr], self.config.data_connect_wait(), self.source_address, &self.cancel)?;
            let reply = self.send_transfer_command(cmd, rest, strict_rest)?;
            (tcp, reply)
        } else {
            let listener = self.makeport()?;
            let reply = self.send_transfer_command(cmd, rest, strict_rest)?;
            let accepted = self.accept_from_server(&listener);
            drop(listener);
            match accepted {
                Ok(tcp) => (tcp, reply),
                Err(e) => return Err(self.abandon_transfer(e)),
            }
        };
        // Every call on the socket comes back after a tick, the TLS handshake's too.
        if let Err(e) = set_tick(&tcp) {
            drop(tcp);
            return Err(self.abandon_transfer(Error::io("setting a timeout", e)));
        }
        let stream = match self.wrap_data(tcp) {
            Ok(stream) => stream,
            Err(e) => return Err(self.abandon_transfer(e)),
        };
        self.trace(2, || format!("*data* connection open, {}", if stream.is_tls() { "TLS" } else { "plain" }));
        let stops = [self.cancel.clone(), self.transfer_stop.clone()];
        Ok(DataConnection::new(stream, preliminary, self.config.data_wait(), stops))
    }

    /// The server answered the transfer command with 1xx but no usable data connection came
    /// of it (no connection from the server in time, failed TLS handshake): ABOR, so the
    /// server's final reply is read here rather than taken as the answer to the next command.
    /// A connection that cannot be brought back in step is dropped.
    fn abandon_transfer(&mut self, error: Error) -> Error {
        let wait = self.cleanup_wait(&error);
        if self.is_connected() && self.send_abor(true).and_then(|()| self.read_abor_replies(wait)).is_err() {
            self.drop_connection();
        }
        self.end_transfer();
        error
    }

    /// How long the replies that put the connection back in step may take after `error`:
    /// after our own timeout the call's time is spent, and after a cancel the caller wants it
    /// back now, so the server gets a short grace (and, silent, loses the connection);
    /// after anything else (a refusal, a reset) it is alive and gets the whole timeout.
    fn cleanup_wait(&self, error: &Error) -> Duration {
        match error {
            Error::Timeout(_) => self.config.timeout.min(CLEANUP_GRACE),
            Error::Cancelled(_) => self.config.timeout.min(CANCEL_GRACE),
            _ => self.config.timeout,
        }
    }

    /// The transfer is over: a cancel request made during it was served, or came too late.
    fn end_transfer(&mut self) {
        self.transfer_open = false;
        self.cancel.store(false, Ordering::Release);
        self.transfer_stop.store(false, Ordering::Release);
    }

    /// ftplib's `transfercmd`: `ntransfercmd` without the size.
    pub fn transfercmd(&mut self, cmd: &[u8], rest: Option<u64>) -> Result<DataConnection> {
        self.ntransfercmd(cmd, rest)
    }

    fn send_transfer_command(&mut self, cmd: &[u8], rest: Option<u64>, strict_rest: bool) -> Result<Reply> {
        self.last_transfer_bytes = 0;
        if let Some(rest) = rest {
            let reply = self.cmd("REST", Some(rest.to_string().as_bytes()))?;
            if strict_rest && reply.code != 350 {
                return Err(Error::Reply(reply));
            }
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
        let mut start = TransferStart::default();
        loop {
            match start.reply(self.getresp()?)? {
                Next::Done(preliminary) => return Ok(preliminary),
                _ => continue,
            }
        }
    }

    /// Ends a transfer whose data went through: closes the data connection (TLS close_notify
    /// first) and reads the final reply, which must be 2xx. A download shorter than the size
    /// the server announced is `Truncated` even when the server says 226.
    pub fn finish_transfer(&mut self, conn: DataConnection, expect_size: bool) -> Result<Reply> {
        let (size, bytes) = (conn.size, conn.bytes);
        self.last_transfer_bytes = bytes;
        self.last_transfer_socket_calls = conn.socket_calls;
        // One wait from here: a server that falls silent at the TLS shutdown must not get a
        // shutdown wait and then a whole reply timeout on top.
        let silent_since = Instant::now();
        let closed = self.close_data(conn);
        let left = self.config.timeout.saturating_sub(silent_since.elapsed()).max(MIN_REPLY_WAIT);
        let reply = self.getresp_within(left).and_then(|reply| match reply.class() {
            2 => Ok(reply),
            _ => Err(Error::Reply(reply)),
        });
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
        self.last_transfer_socket_calls = conn.socket_calls;
        reset(conn.tcp());
        drop(conn);
        if !self.is_connected() {
            self.end_transfer();
            return error;
        }
        // After our own timeout the call has used its time: the server's final reply gets a
        // short grace, not a second timeout (a server that stays silent loses the connection).
        let wait = self.cleanup_wait(&error);
        let reply = self.getresp_within(wait);
        self.end_transfer();
        match reply {
            Err(Error::Temp(_) | Error::Perm(_)) if matches!(error, Error::Timeout(_)) => error,
            Err(e @ (Error::Temp(_) | Error::Perm(_))) => e,
            _ => error,
        }
    }

    /// Stops a transfer early: sends ABOR (urgent on a plain connection, so servers notice
    /// it during a transfer), resets the data connection and reads the replies that follow
    /// (426 then 226, or 226 alone, or 225), leaving the connection usable.
    pub fn abort_transfer(&mut self, conn: DataConnection) -> Result<()> {
        self.abort_transfer_within(conn, false)
    }

    /// `abort_transfer`; after a cancel request (`cancelled`) the replies get only the
    /// short grace of a cancel (a silent server then loses the connection: `Timeout`).
    pub(crate) fn abort_transfer_within(&mut self, conn: DataConnection, cancelled: bool) -> Result<()> {
        self.last_transfer_bytes = conn.bytes;
        self.last_transfer_socket_calls = conn.socket_calls;
        // ABOR before the reset: a server that watches for the urgent mark (BSD ftpd) leaves
        // its send loop on it and closes the data connection itself. Reset first, BSD ftpd's
        // ASCII send loop went on writing into the reset connection and died of SIGPIPE,
        // taking the control connection with it. Servers that do not watch (vsftpd,
        // pure-ftpd) read ABOR once the reset has ended their blocked write.
        let sent = self.send_abor(true);
        reset(conn.tcp());
        drop(conn);
        let wait = if cancelled { self.config.timeout.min(CANCEL_GRACE) } else { self.config.timeout };
        let aborted = sent.and_then(|()| self.read_abor_replies(wait));
        self.end_transfer();
        aborted
    }

    /// Sends ABOR as RFC 959 §4.1.3 describes it on a plain connection: Telnet IP, then the
    /// Synch (IAC DM with the TCP urgent mark), then `ABOR` in-band. The urgent mark wakes
    /// servers that watch for it (SIGURG) in the middle of a transfer. Only one byte can be
    /// urgent, and servers differ in whether it stays in the stream (SO_OOBINLINE) or not,
    /// so the urgent byte is the IAC before DM, as the BSD ftp client sends it: inline, the
    /// stream reads `IAC IP IAC DM ABOR`; taken out of band, `IAC IP DM ABOR`. Either way
    /// the command line itself, with its CRLF, is ordinary data: sending the whole line as
    /// urgent data (ftplib) puts the mark on its LF, and a server that splits its read
    /// there (ProFTPD) or drops the urgent byte (no SO_OOBINLINE) loses the line end and
    /// reads ABOR joined to the next command. Over TLS, or with no transfer to `interrupt`,
    /// the line goes as it is.
    fn send_abor(&mut self, interrupt: bool) -> Result<()> {
        self.trace(1, || "*cmd* \"ABOR\"".into());
        self.last_reply = None;
        let never = &crate::client::NEVER;
        let ctrl = self.ctrl()?;
        let sent = match &ctrl.stream {
            Stream::Plain(tcp) if interrupt => {
                let deadline = stream::Deadline::after(ctrl.timeout, "sending ABOR");
                let urgent = loop {
                    match SockRef::from(tcp).send_out_of_band(&[TELNET_IAC, TELNET_IP, TELNET_IAC]) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            stream::wait_until(ctrl.stream.fd(), libc::POLLOUT, deadline, never)?
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        other => break other,
                    }
                };
                match urgent {
                    Ok(3) => ctrl.send_raw(&[TELNET_DM, b'A', b'B', b'O', b'R', b'\r', b'\n'], never),
                    Ok(_) => Err(Error::Io {
                        context: "sending ABOR",
                        source: io::Error::new(io::ErrorKind::WriteZero, "the Telnet Synch went out in part"),
                    }),
                    Err(e) => Err(Error::io("sending ABOR", e)),
                }
            }
            _ => ctrl.send_line(b"ABOR", never),
        };
        sent.inspect_err(|_| self.drop_connection())
    }

    /// Reads what the server says after ABOR. Servers differ in how many replies that is
    /// (426 then 226, 226 alone, 225, or one 451 for both), and a wait of any length can
    /// end too early on a slow link: so once the first reply is in, a NOOP marks the end,
    /// and every reply before its 200 belongs to the abort. One round trip, no guessing.
    /// The last reply stays the abort's (the NOOP's 200 is not kept).
    fn read_abor_replies(&mut self, wait: Duration) -> Result<()> {
        // One bound for the whole exchange, not one per reply.
        let deadline = Instant::now() + wait;
        let left = || deadline.saturating_duration_since(Instant::now());
        let mut replies = AbortReplies::default();
        let mut next = Next::Read;
        loop {
            next = match next {
                Next::Read => replies.reply(self.any_reply(left())?),
                Next::Send(verb, arg) => {
                    let line = crate::proto::command::build(verb, arg.as_deref(), self.config.encoding)?;
                    self.send_line(&line)?;
                    replies.reply(self.any_reply(left())?)
                }
                Next::Done(last) => {
                    self.last_reply = Some(last);
                    return Ok(());
                }
            }
            .inspect_err(|_| self.drop_connection())?;
        }
    }

    /// The next reply of ABOR's exchange, whatever its class. Acknowledged at once: servers
    /// answer ABOR in pieces while the NOOP goes out (see `Stream::quick_ack`).
    fn any_reply(&mut self, wait: Duration) -> Result<Reply> {
        if let Some(ctrl) = &self.ctrl {
            ctrl.stream.quick_ack();
        }
        match self.getresp_within(wait) {
            Ok(r) | Err(Error::Temp(r) | Error::Perm(r)) => Ok(r),
            Err(e) => Err(e),
        }
    }

    /// ftplib's `abort`: sends ABOR and reads the reply, which must be 426, 225 or 226.
    /// With a transfer open (`ntransfercmd`), ABOR goes with the Telnet interrupt; without
    /// one there is nothing to interrupt and the plain line goes (pure-ftpd ignores a line
    /// that starts with Telnet commands when it is idle). Every reply up to a NOOP's is read
    /// (servers send one or two after ABOR), so the next command gets its own; the result
    /// is the last of them, and the transfer, if any, is over.
    pub fn abort(&mut self) -> Result<Reply> {
        let interrupt = self.transfer_open;
        let aborted = self.send_abor(interrupt).and_then(|()| self.read_abor_replies(self.config.timeout));
        self.end_transfer();
        aborted?;
        let reply = self.last_reply.clone().ok_or_else(|| Error::Proto("no reply to ABOR".into()))?;
        if !matches!(reply.code, 225 | 226 | 426) {
            return Err(Error::Proto(format!("unexpected reply to ABOR: {reply}")));
        }
        Ok(reply)
    }

    fn close_data(&mut self, mut conn: DataConnection) -> Result<()> {
        match &mut conn.stream {
            Stream::Plain(tcp) => {
                let _ = tcp.shutdown(std::net::Shutdown::Write);
                Ok(())
            }
            Stream::Tls(tls) => self.shutdown_tls_data(tls),
        }
    }
}
