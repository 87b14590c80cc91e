//! An in-process scripted FTP server for integration tests.
//!
//! A [`ScriptedServer`] plays one script (a list of [`Step`]s) on ONE control
//! connection, in order, on a background thread. The test runs the client
//! against it and afterwards calls [`ScriptedServer::finish`] to get a
//! [`Transcript`] of what the client sent. The point is to make the client meet
//! what real servers rarely do: malformed replies, resets, stalls, overlong
//! lines, bad PASV addresses, TLS misbehaviour.
//!
//! Every wait is bounded so that no test can hang: socket reads, writes and
//! accepts time out after [`DEFAULT_IO_TIMEOUT`] (changeable with
//! [`Step::SetTimeout`]), the server waits at most [`CONTROL_ACCEPT_TIMEOUT`]
//! for the client to connect, and `finish` gives up after 20 s. The first
//! failed step ends the script, is recorded in [`Transcript::error`], and the
//! connections are closed. A panic on the server thread is caught and recorded
//! the same way.
//!
//! Network note: this workplace flags traffic to any address outside loopback.
//! When faking a bad PASV/EPSV address, use loopback addresses that nothing
//! listens on (e.g. `127.0.0.2`, `127.0.0.3`) or `0.0.0.0`, never a private
//! (10.x, 192.168.x, ...) or public address: a buggy client would really
//! connect to it.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use openssl::ssl::{ErrorCode, ShutdownState, Ssl, SslAcceptor, SslFiletype, SslMethod, SslStream, SslVersion};
use socket2::{Domain, SockRef, Socket, Type};

/// Timeout for every read, write, accept and connect the server does, until a
/// [`Step::SetTimeout`] changes it.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the server waits for the client's control connection.
pub const CONTROL_ACCEPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`ScriptedServer::finish`] waits for the script to end.
pub const FINISH_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest command line accepted (without CRLF).
pub const MAX_LINE: usize = 64 * 1024;
/// How long a gracefully closed socket keeps draining the peer's bytes, so
/// that closing with unread input does not turn our FIN into an RST.
const LINGER_DRAIN: Duration = Duration::from_secs(5);
/// Session id context shared by control and data TLS connections, so that
/// sessions from the control connection resume on data connections.
const SESSION_ID_CONTEXT: &[u8] = b"ftpc-scripted";

/// One step of a script. Steps run in order; the first one that fails records
/// the error and ends the script.
#[derive(Debug, Clone)]
pub enum Step {
    // --- control connection
    /// Send raw bytes on the control connection as-is (include the `\r\n`
    /// yourself, so malformed replies are possible).
    Send(Vec<u8>),
    /// Send bytes in chunks of `chunk` bytes with `delay` between them (the
    /// control socket has TCP_NODELAY), to exercise reply reassembly.
    SendSlowly { bytes: Vec<u8>, chunk: usize, delay: Duration },
    /// Read one command line and check that it starts with this
    /// (case-sensitive) prefix. Leading Telnet `IAC x` pairs (as clients send
    /// before ABOR) are ignored for the comparison but kept in the transcript.
    Expect(String),
    /// Read one command line; it must equal this exactly (without CRLF).
    ExpectExact(String),
    /// Read one command line; its bytes must be exactly these (without CRLF).
    ExpectBytes(Vec<u8>),
    /// `Expect(prefix)` then `Send(reply)`.
    Reply(String, Vec<u8>),
    /// Sleep on the server side.
    Sleep(Duration),
    /// Stop answering (without reading) for this long, then close the control
    /// connection cleanly. Ends early if the client closes or resets first.
    Stall(Duration),
    /// Close the control connection cleanly: TLS close_notify if TLS, then FIN.
    Close,
    /// Reset the control connection (SO_LINGER 0 then close: RST).
    Reset,
    /// The client must close the control connection (EOF, TLS close_notify or
    /// RST) within the I/O timeout. Bytes received instead are recorded as
    /// commands and are an error.
    ExpectClose,
    /// Change the I/O timeout (reads, writes, accepts, connects, ExpectClose)
    /// for the rest of the script, on open sockets too.
    SetTimeout(Duration),

    // --- data connections
    /// Read a command starting with "PASV", open a listener on the control
    /// connection's local IPv4 address (127.0.0.1 if the control connection is
    /// IPv6) and reply `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).`
    PasvReply,
    /// Read a command starting with "EPSV", open a listener on the control
    /// connection's local address and reply
    /// `229 Entering Extended Passive Mode (|||port|)`.
    EpsvReply,
    /// Like `EpsvReply`, but the listener's accept queue is full (backlog 0,
    /// one connection of the server's own queued and never accepted): Linux
    /// drops the client's SYNs, so its connect hangs, on loopback too. Nothing
    /// is ever accepted from it (no data plan); it lives until the script ends.
    EpsvReplyFull,
    /// Open a passive listener on the control connection's local address
    /// without reading or sending anything; follow with `SendWithPort`.
    PasvListen,
    /// Send this text as-is (include `\r\n`) after replacing `{port}` with the
    /// passive listener's port, `{p1}`/`{p2}` with port/256 and port%256, and
    /// `{ip}` with its IP. Needs a preceding PasvReply/EpsvReply/PasvListen.
    SendWithPort(String),
    /// Get a data connection: accept one on the passive listener, or connect
    /// to the address from the client's last PORT/EPRT command, whichever was
    /// set up last. Uses it up (one connection per PASV/PORT). For TLS data
    /// connections the handshake is done lazily by the first data step that
    /// reads, writes or closes (so a 150 reply can be sent in between).
    DataAccept,
    /// Active mode from a foreign source: connect to the client's PORT/EPRT
    /// address from this source IP (e.g. 127.0.0.2, routed via lo on Linux).
    DataConnectFrom(IpAddr),
    /// Send bytes on the data connection.
    DataSend(Vec<u8>),
    /// Send `n` bytes of [`pattern_bytes`] in chunks.
    DataSendPattern(u64),
    /// Read the data connection until EOF (or TLS close_notify), appending to
    /// this connection's entry of [`Transcript::data_received`].
    DataRecvToEof,
    /// Read exactly n bytes, then stop reading (the connection stays open).
    DataRecvExact(usize),
    /// Close the data connection cleanly (close_notify if TLS, then FIN).
    DataClose,
    /// Reset the data connection (RST).
    DataReset,
    /// Keep the data connection open without sending or reading for this
    /// long; ends early if the client closes or resets it.
    DataStall(Duration),

    // --- TLS
    /// Upgrade the control connection to TLS as a server (send the "234"
    /// reply first). A failed handshake is an error.
    TlsAccept { cert: PathBuf, key: PathBuf },
    /// Like TlsAccept, but the handshake must FAIL (the client is expected to
    /// reject the certificate); success is an error. The control connection is
    /// closed afterwards.
    TlsAcceptExpectFail { cert: PathBuf, key: PathBuf },
    /// Limit later TlsAccept steps to TLS 1.2 (session-id resumption instead
    /// of TLS 1.3 tickets).
    TlsMax12(bool),
    /// Make later data connections TLS too, using the control connection's
    /// context (with its session cache), so sessions resume. Needs TlsAccept.
    DataTls(bool),
    /// Like vsftpd's require_ssl_reuse: a TLS data connection that does not
    /// resume the session is an error.
    DataTlsRequireReuse(bool),
    /// Do the pending TLS handshake on the data connection now.
    DataTlsHandshake,
    /// Write these bytes on the raw control TCP socket (bypassing TLS if it is
    /// on, e.g. garbage instead of a ServerHello), then close (FIN).
    SendRaw(Vec<u8>),
    /// Close a TLS data connection without close_notify (just FIN).
    DataCloseNoNotify,
}

impl Step {
    pub fn send(bytes: impl AsRef<[u8]>) -> Step {
        Step::Send(bytes.as_ref().to_vec())
    }
    pub fn expect(prefix: &str) -> Step {
        Step::Expect(prefix.to_string())
    }
    pub fn expect_exact(line: &str) -> Step {
        Step::ExpectExact(line.to_string())
    }
    /// ABOR as a client sends it to interrupt a transfer on a plain connection (RFC 959
    /// §4.1.3): Telnet IP, IAC DM (the Synch; this server keeps urgent bytes inline), ABOR.
    pub fn abor_interrupt() -> Step {
        Step::ExpectBytes(b"\xff\xf4\xff\xf2ABOR".to_vec())
    }
    pub fn reply(prefix: &str, reply: impl AsRef<[u8]>) -> Step {
        Step::Reply(prefix.to_string(), reply.as_ref().to_vec())
    }
    pub fn send_with_port(template: &str) -> Step {
        Step::SendWithPort(template.to_string())
    }
    pub fn data_send(bytes: impl AsRef<[u8]>) -> Step {
        Step::DataSend(bytes.as_ref().to_vec())
    }
    pub fn tls_accept(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Step {
        Step::TlsAccept { cert: cert.into(), key: key.into() }
    }

    /// Short description for error messages (byte payloads shown as text).
    fn summary(&self) -> String {
        match self {
            Step::Send(b) => format!("Send({:?})", lossy(b)),
            Step::SendSlowly { bytes, .. } => format!("SendSlowly({:?})", lossy(bytes)),
            Step::Reply(p, b) => format!("Reply({p:?}, {:?})", lossy(b)),
            Step::DataSend(b) => format!("DataSend({} bytes)", b.len()),
            Step::SendRaw(b) => format!("SendRaw({} bytes)", b.len()),
            other => format!("{other:?}"),
        }
    }
}

/// What the client did, as seen by the server.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    /// Every command line the client sent, without CRLF.
    pub commands: Vec<Vec<u8>>,
    /// Bytes received, one entry per data connection (in connection order,
    /// empty for connections the script did not read from).
    pub data_received: Vec<Vec<u8>>,
    /// Details of each data connection, same indexing as `data_received`.
    pub data_conns: Vec<DataConnInfo>,
    /// Notable happenings, free text (client closed during a stall, ...).
    pub events: Vec<String>,
    /// The first failure: "step N <step>: <what went wrong>".
    pub error: Option<String>,
}

/// Details of one data connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataConnInfo {
    /// The client's end of the connection.
    pub peer: SocketAddr,
    /// Whether the connection was (to be) TLS.
    pub tls: bool,
    /// Whether the TLS handshake resumed a session.
    pub tls_resumed: bool,
    /// Whether the client sent close_notify before EOF (seen by a read).
    pub tls_close_notify_received: bool,
}

impl Transcript {
    /// Panics with the error, the commands and the events if the script failed.
    pub fn assert_ok(&self) {
        if let Some(e) = &self.error {
            panic!("scripted server failed: {e}\ncommands seen: {:?}\nevents: {:?}", self.commands_str(), self.events);
        }
    }

    /// The commands as (lossy) strings.
    pub fn commands_str(&self) -> Vec<String> {
        self.commands.iter().map(|c| lossy(c)).collect()
    }
}

/// The deterministic pattern sent by [`Step::DataSendPattern`]:
/// byte i = (i * 7 + 3) % 251.
pub fn pattern_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    fill_pattern(0, &mut v);
    v
}

fn fill_pattern(offset: u64, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        // Reduce first so huge offsets cannot overflow.
        let i = (offset + i as u64) % 251;
        *b = ((i * 7 + 3) % 251) as u8;
    }
}

/// Greeting plus USER/PASS login.
pub fn login_prelude() -> Vec<Step> {
    vec![
        Step::send("220 scripted\r\n"),
        Step::reply("USER", "331 Password required\r\n"),
        Step::reply("PASS", "230 Logged in\r\n"),
    ]
}

/// A mirror of a hostile listing (mirror_real's and the CLI's tests): the login, FEAT with
/// MLST, MLSD answered with `listing`, then RETR of the one good file, `good.txt` ("good\n").
pub fn hostile_mirror_steps(listing: &[u8]) -> Vec<Step> {
    let mut steps = login_prelude();
    steps.extend([
        Step::reply("FEAT", "211-Features:\r\n MLST type*;size*;\r\n211 End\r\n"),
        Step::reply("TYPE A", "200 ASCII\r\n"),
        Step::EpsvReply,
        Step::expect_exact("MLSD"),
        Step::send("150 here\r\n"),
        Step::DataAccept,
        Step::data_send(listing),
        Step::DataClose,
        Step::send("226 done\r\n"),
        Step::reply("TYPE I", "200 binary\r\n"),
        Step::EpsvReply,
        Step::expect_exact("RETR good.txt"),
        Step::send("150 here\r\n"),
        Step::DataAccept,
        Step::data_send(b"good\n"),
        Step::DataClose,
        Step::send("226 done\r\n"),
    ]);
    steps
}

/// Greeting, AUTH TLS + handshake, then USER/PASS (add PBSZ/PROT yourself).
pub fn tls_login_prelude(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Vec<Step> {
    vec![
        Step::send("220 scripted\r\n"),
        Step::reply("AUTH TLS", "234 Proceed with negotiation\r\n"),
        Step::tls_accept(cert, key),
        Step::reply("USER", "331 Password required\r\n"),
        Step::reply("PASS", "230 Logged in\r\n"),
    ]
}

/// A running scripted server. Dropping it without `finish` leaves the thread
/// to run out on its own (every wait is bounded).
pub struct ScriptedServer {
    addr: SocketAddr,
    transcript: Arc<Mutex<Transcript>>,
    done: mpsc::Receiver<()>,
    handle: Option<JoinHandle<()>>,
}

impl ScriptedServer {
    /// Bind 127.0.0.1:0 and start playing `steps`; returns immediately.
    pub fn start(steps: Vec<Step>) -> ScriptedServer {
        Self::start_on("127.0.0.1:0", steps)
    }

    /// Bind `addr` (e.g. "[::1]:0"); panics if binding fails.
    pub fn start_on(addr: &str, steps: Vec<Step>) -> ScriptedServer {
        Self::try_start_on(addr, steps).unwrap_or_else(|e| panic!("scripted server: bind {addr}: {e}"))
    }

    /// Like `start_on`, but returns the bind error (to skip tests where e.g.
    /// IPv6 loopback is unavailable).
    pub fn try_start_on(addr: &str, steps: Vec<Step>) -> io::Result<ScriptedServer> {
        let listener = TcpListener::bind(addr)?;
        let local = listener.local_addr()?;
        let transcript = Arc::new(Mutex::new(Transcript::default()));
        let (tx, done) = mpsc::channel();
        let shared = transcript.clone();
        let handle = thread::Builder::new().name(format!("scripted-ftp-{}", local.port())).spawn(move || {
            let mut runner = Runner::new(listener, shared);
            let result = panic::catch_unwind(AssertUnwindSafe(|| runner.run(steps)));
            let error = match result {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(p) => Some(format!("server thread panicked: {}", panic_message(&*p))),
            };
            if let Some(e) = error {
                runner.fail(e);
            }
            // Close whatever is still open, even after a panic.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| runner.close_all()));
            let _ = tx.send(());
        })?;
        Ok(ScriptedServer { addr: local, transcript, done, handle: Some(handle) })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Wait (at most 20 s) for the script to end and return the transcript.
    pub fn finish(self) -> Transcript {
        self.finish_within(FINISH_TIMEOUT)
    }

    /// `finish` with a different bound; panics with the partial transcript if
    /// the script is still running after `limit`.
    pub fn finish_within(mut self, limit: Duration) -> Transcript {
        match self.done.recv_timeout(limit) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                if let Some(h) = self.handle.take() {
                    let _ = h.join();
                }
                let t = lock(&self.transcript).clone();
                t
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let t = lock(&self.transcript).clone();
                panic!(
                    "scripted server still running after {limit:?}\ncommands seen: {:?}\nevents: {:?}\nerror: {:?}",
                    t.commands_str(),
                    t.events,
                    t.error
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Implementation

fn lock(m: &Mutex<Transcript>) -> MutexGuard<'_, Transcript> {
    // A panic while holding the lock must not hide the transcript.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// poll(2) one fd; returns revents (0 on timeout). Retries on EINTR.
fn poll_fd(fd: RawFd, events: libc::c_short, timeout: Duration) -> io::Result<libc::c_short> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = left.as_millis().min(i32::MAX as u128) as libc::c_int;
        let mut p = libc::pollfd { fd, events, revents: 0 };
        // SAFETY: one valid pollfd, count 1.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(if r == 0 { 0 } else { p.revents });
    }
}

/// Wait without reading until the peer half-closes or resets (true) or the
/// time is up (false). Reading would drain the client's writes, which must be
/// able to block in stall tests.
fn wait_peer_close(tcp: &TcpStream, d: Duration) -> bool {
    match poll_fd(tcp.as_raw_fd(), libc::POLLRDHUP, d) {
        Ok(0) => false,
        Ok(_) => true,
        Err(_) => true,
    }
}

fn accept_within(l: &TcpListener, d: Duration) -> Result<(TcpStream, SocketAddr), String> {
    match poll_fd(l.as_raw_fd(), libc::POLLIN, d) {
        Ok(0) => Err(format!("no connection within {d:?}")),
        Ok(_) => {
            let (s, peer) = l.accept().map_err(|e| format!("accept failed: {e}"))?;
            // The listener may be non-blocking on some platforms; be sure.
            s.set_nonblocking(false).map_err(|e| e.to_string())?;
            Ok((s, peer))
        }
        Err(e) => Err(format!("poll failed: {e}")),
    }
}

fn set_timeouts(tcp: &TcpStream, d: Duration) {
    let d = d.max(Duration::from_millis(1));
    let _ = tcp.set_read_timeout(Some(d));
    let _ = tcp.set_write_timeout(Some(d));
}

enum ReadOutcome {
    Data(usize),
    /// Orderly end: TCP EOF, with or without a TLS close_notify first.
    Eof {
        close_notify: bool,
    },
    TimedOut,
    Failed(String),
}

/// A TCP connection, optionally with TLS on top. `tcp` is a dup of the socket
/// the TLS stream owns, so socket options, shutdown and raw writes work in
/// both modes and the socket can outlive the TLS state.
struct Conn {
    tcp: TcpStream,
    tls: Option<Box<SslStream<TcpStream>>>,
}

impl Conn {
    fn new(tcp: TcpStream, timeout: Duration) -> Conn {
        let _ = tcp.set_nodelay(true);
        set_timeouts(&tcp, timeout);
        Conn { tcp, tls: None }
    }

    fn read_some(&mut self, buf: &mut [u8]) -> ReadOutcome {
        let start = Instant::now();
        loop {
            match &mut self.tls {
                None => {
                    return match self.tcp.read(buf) {
                        Ok(0) => ReadOutcome::Eof { close_notify: false },
                        Ok(n) => ReadOutcome::Data(n),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) if is_timeout(&e) => ReadOutcome::TimedOut,
                        Err(e) => ReadOutcome::Failed(e.to_string()),
                    }
                }
                Some(s) => match s.ssl_read(buf) {
                    Ok(n) => return ReadOutcome::Data(n),
                    Err(e) => match e.code() {
                        ErrorCode::ZERO_RETURN => return ReadOutcome::Eof { close_notify: true },
                        ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => match e.io_error() {
                            Some(io) if is_timeout(io) => return ReadOutcome::TimedOut,
                            Some(io) => return ReadOutcome::Failed(io.to_string()),
                            // Post-handshake message consumed, no data yet: retry
                            // (bounded, in case OpenSSL keeps saying so).
                            None if start.elapsed() < Duration::from_secs(30) => continue,
                            None => return ReadOutcome::TimedOut,
                        },
                        ErrorCode::SYSCALL if e.io_error().is_none() => {
                            return ReadOutcome::Eof {
                                close_notify: s.get_shutdown().contains(ShutdownState::RECEIVED),
                            }
                        }
                        _ => {
                            let msg = e.to_string();
                            // OpenSSL 3 reports EOF without close_notify as an error.
                            if msg.to_ascii_lowercase().contains("unexpected eof") {
                                return ReadOutcome::Eof { close_notify: false };
                            }
                            if let Some(io) = e.io_error() {
                                if is_timeout(io) {
                                    return ReadOutcome::TimedOut;
                                }
                            }
                            return ReadOutcome::Failed(msg);
                        }
                    },
                },
            }
        }
    }

    fn write_all(&mut self, b: &[u8]) -> Result<(), String> {
        let r = match &mut self.tls {
            None => self.tcp.write_all(b).and_then(|_| self.tcp.flush()),
            Some(s) => s.write_all(b).and_then(|_| s.flush()),
        };
        r.map_err(|e| {
            if is_timeout(&e) {
                "write timed out (client not reading?)".to_string()
            } else {
                format!("write failed: {e}")
            }
        })
    }

    /// Server-side TLS handshake on this connection.
    fn tls_accept(&mut self, acceptor: &SslAcceptor) -> Result<(), String> {
        if self.tls.is_some() {
            return Err("connection is already TLS".into());
        }
        let ssl = Ssl::new(acceptor.context()).map_err(|e| e.to_string())?;
        let dup = self.tcp.try_clone().map_err(|e| e.to_string())?;
        let mut s = SslStream::new(ssl, dup).map_err(|e| e.to_string())?;
        if let Err(e) = s.accept() {
            let timed_out = e.io_error().map(is_timeout).unwrap_or(false);
            return Err(if timed_out {
                "TLS handshake timed out".to_string()
            } else {
                format!("TLS handshake failed: {e}")
            });
        }
        self.tls = Some(Box::new(s));
        Ok(())
    }

    /// close_notify (optional, TLS only) then FIN; a background thread keeps
    /// reading until the peer's EOF so that unread input doesn't cause an RST.
    fn close_gracefully(self, close_notify: bool) {
        let Conn { tcp, tls } = self;
        if let Some(mut s) = tls {
            if close_notify {
                let _ = s.shutdown();
            }
            drop(s); // closes only the dup'd fd
        }
        let _ = tcp.shutdown(Shutdown::Write);
        let _ = thread::Builder::new().name("scripted-ftp-drain".into()).spawn(move || {
            let deadline = Instant::now() + LINGER_DRAIN;
            let _ = tcp.set_read_timeout(Some(Duration::from_millis(100)));
            let mut buf = [0u8; 16384];
            let mut tcp = tcp;
            while Instant::now() < deadline {
                match tcp.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        });
    }

    /// Abortive close: RST instead of FIN.
    fn reset(self) {
        let _ = SockRef::from(&self.tcp).set_linger(Some(Duration::ZERO));
        drop(self);
    }
}

enum DataPlan {
    Passive(TcpListener),
    Active(SocketAddr),
}

struct DataConn {
    conn: Conn,
    index: usize,
    tls_pending: bool,
}

struct Runner {
    listener: TcpListener,
    transcript: Arc<Mutex<Transcript>>,
    io_timeout: Duration,
    ctrl: Option<Conn>,
    /// Bytes read from the control connection but not yet consumed as lines.
    rbuf: Vec<u8>,
    local_ip: IpAddr,
    tls_max12: bool,
    acceptor: Option<SslAcceptor>,
    data_tls: bool,
    data_tls_require_reuse: bool,
    plan: Option<DataPlan>,
    data: Option<DataConn>,
    /// Full listeners of `EpsvReplyFull` and the connections that fill them.
    full: Vec<(Socket, TcpStream)>,
}

impl Runner {
    fn new(listener: TcpListener, transcript: Arc<Mutex<Transcript>>) -> Runner {
        let local_ip = listener.local_addr().map(|a| a.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        Runner {
            listener,
            transcript,
            io_timeout: DEFAULT_IO_TIMEOUT,
            ctrl: None,
            rbuf: Vec::new(),
            local_ip,
            tls_max12: false,
            acceptor: None,
            data_tls: false,
            data_tls_require_reuse: false,
            plan: None,
            data: None,
            full: Vec::new(),
        }
    }

    fn t(&self) -> MutexGuard<'_, Transcript> {
        lock(&self.transcript)
    }

    fn event(&self, s: impl Into<String>) {
        self.t().events.push(s.into());
    }

    fn fail(&self, e: String) {
        let mut t = self.t();
        if t.error.is_none() {
            t.error = Some(e);
        }
    }

    fn run(&mut self, steps: Vec<Step>) -> Result<(), String> {
        let (tcp, _) = accept_within(&self.listener, CONTROL_ACCEPT_TIMEOUT)
            .map_err(|e| format!("waiting for the control connection: {e}"))?;
        // Telnet "urgent" bytes (ABOR with MSG_OOB) must stay in the stream,
        // or the line they end would lose its last byte.
        let _ = SockRef::from(&tcp).set_out_of_band_inline(true);
        if let Ok(a) = tcp.local_addr() {
            self.local_ip = a.ip();
        }
        self.ctrl = Some(Conn::new(tcp, self.io_timeout));
        for (i, step) in steps.iter().enumerate() {
            self.step(step).map_err(|e| format!("step {i} {}: {e}", step.summary()))?;
        }
        Ok(())
    }

    fn close_all(&mut self) {
        if let Some(d) = self.data.take() {
            d.conn.close_gracefully(true);
        }
        self.plan = None;
        self.full.clear();
        if let Some(c) = self.ctrl.take() {
            c.close_gracefully(true);
        }
    }

    fn ctrl(&mut self) -> Result<&mut Conn, String> {
        self.ctrl.as_mut().ok_or_else(|| "control connection is already closed".to_string())
    }

    fn step(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::Send(b) => self.ctrl()?.write_all(b),
            Step::SendSlowly { bytes, chunk, delay } => {
                for (i, part) in bytes.chunks((*chunk).max(1)).enumerate() {
                    if i > 0 {
                        thread::sleep(*delay);
                    }
                    self.ctrl()?.write_all(part)?;
                }
                Ok(())
            }
            Step::Expect(prefix) => self.expect_prefix(prefix).map(|_| ()),
            Step::ExpectExact(want) => {
                let line = self.read_line(&format!("{want:?}"))?;
                if line != want.as_bytes() {
                    return Err(format!("expected exactly {want:?}, got {:?}", lossy(&line)));
                }
                Ok(())
            }
            Step::ExpectBytes(want) => {
                let line = self.read_line(&format!("{:?}", lossy(want)))?;
                if &line != want {
                    return Err(format!("expected exactly {:?}, got {:?}", lossy(want), lossy(&line)));
                }
                Ok(())
            }
            Step::Reply(prefix, reply) => {
                self.expect_prefix(prefix)?;
                self.ctrl()?.write_all(reply)
            }
            Step::Sleep(d) => {
                thread::sleep(*d);
                Ok(())
            }
            Step::Stall(d) => {
                let c = self.ctrl.take().ok_or("control connection is already closed")?;
                if wait_peer_close(&c.tcp, *d) {
                    self.event("client closed the control connection during Stall");
                }
                c.close_gracefully(true);
                Ok(())
            }
            Step::Close => {
                let c = self.ctrl.take().ok_or("control connection is already closed")?;
                c.close_gracefully(true);
                Ok(())
            }
            Step::Reset => {
                let c = self.ctrl.take().ok_or("control connection is already closed")?;
                c.reset();
                Ok(())
            }
            Step::ExpectClose => self.expect_close(),
            Step::SetTimeout(d) => {
                self.io_timeout = *d;
                if let Some(c) = &self.ctrl {
                    set_timeouts(&c.tcp, *d);
                }
                if let Some(dc) = &self.data {
                    set_timeouts(&dc.conn.tcp, *d);
                }
                Ok(())
            }

            Step::PasvReply => {
                self.expect_prefix("PASV")?;
                // PASV can only express IPv4.
                let ip = match self.local_ip {
                    IpAddr::V4(v4) => v4,
                    IpAddr::V6(_) => Ipv4Addr::LOCALHOST,
                };
                let port = self.listen(IpAddr::V4(ip))?;
                let [h1, h2, h3, h4] = ip.octets();
                let line =
                    format!("227 Entering Passive Mode ({h1},{h2},{h3},{h4},{},{}).\r\n", port / 256, port % 256);
                self.ctrl()?.write_all(line.as_bytes())
            }
            Step::EpsvReply => {
                self.expect_prefix("EPSV")?;
                let port = self.listen(self.local_ip)?;
                let line = format!("229 Entering Extended Passive Mode (|||{port}|)\r\n");
                self.ctrl()?.write_all(line.as_bytes())
            }
            Step::EpsvReplyFull => {
                self.expect_prefix("EPSV")?;
                let port = self.listen_full(self.local_ip)?;
                let line = format!("229 Entering Extended Passive Mode (|||{port}|)\r\n");
                self.ctrl()?.write_all(line.as_bytes())
            }
            Step::PasvListen => self.listen(self.local_ip).map(|_| ()),
            Step::SendWithPort(template) => {
                let a = match &self.plan {
                    Some(DataPlan::Passive(l)) => l.local_addr().map_err(|e| e.to_string())?,
                    _ => return Err("no passive listener (use PasvListen first)".into()),
                };
                let port = a.port();
                let text = template
                    .replace("{port}", &port.to_string())
                    .replace("{p1}", &(port / 256).to_string())
                    .replace("{p2}", &(port % 256).to_string())
                    .replace("{ip}", &a.ip().to_string());
                self.ctrl()?.write_all(text.as_bytes())
            }
            Step::DataAccept => {
                let (tcp, peer) = match self.plan.take() {
                    Some(DataPlan::Passive(l)) => {
                        accept_within(&l, self.io_timeout).map_err(|e| format!("passive data connection: {e}"))?
                    }
                    Some(DataPlan::Active(addr)) => {
                        let s = TcpStream::connect_timeout(&addr, self.io_timeout)
                            .map_err(|e| format!("active connect to {addr}: {e}"))?;
                        (s, addr)
                    }
                    None => return Err("no PASV/EPSV listener and no PORT/EPRT address".into()),
                };
                self.open_data(tcp, peer);
                Ok(())
            }
            Step::DataConnectFrom(src) => {
                let addr = match self.plan.take() {
                    Some(DataPlan::Active(a)) => a,
                    _ => return Err("no PORT/EPRT address from the client".into()),
                };
                let sock = Socket::new(Domain::for_address(addr), Type::STREAM, None).map_err(|e| e.to_string())?;
                sock.bind(&SocketAddr::new(*src, 0).into()).map_err(|e| format!("bind source {src}: {e}"))?;
                sock.connect_timeout(&addr.into(), self.io_timeout)
                    .map_err(|e| format!("connect from {src} to {addr}: {e}"))?;
                self.open_data(sock.into(), addr);
                Ok(())
            }
            Step::DataSend(b) => self.data_ready()?.conn.write_all(b),
            Step::DataSendPattern(n) => {
                let d = self.data_ready()?;
                let mut buf = vec![0u8; 64 * 1024];
                let mut off = 0u64;
                while off < *n {
                    let len = ((*n - off) as usize).min(buf.len());
                    fill_pattern(off, &mut buf[..len]);
                    d.conn.write_all(&buf[..len]).map_err(|e| format!("after {off} of {n} bytes: {e}"))?;
                    off += len as u64;
                }
                Ok(())
            }
            Step::DataRecvToEof => self.data_recv(None),
            Step::DataRecvExact(n) => self.data_recv(Some(*n)),
            Step::DataClose => {
                self.data_ready()?;
                let d = self.data.take().expect("data_ready checked");
                d.conn.close_gracefully(true);
                Ok(())
            }
            Step::DataCloseNoNotify => {
                self.data_ready()?;
                let d = self.data.take().expect("data_ready checked");
                d.conn.close_gracefully(false);
                Ok(())
            }
            Step::DataReset => {
                let d = self.data.take().ok_or("no data connection")?;
                d.conn.reset();
                Ok(())
            }
            Step::DataStall(d) => {
                let dc = self.data.as_ref().ok_or("no data connection")?;
                if wait_peer_close(&dc.conn.tcp, *d) {
                    let i = dc.index;
                    self.event(format!("client closed data connection {i} during DataStall"));
                }
                Ok(())
            }

            Step::TlsAccept { cert, key } | Step::TlsAcceptExpectFail { cert, key } => {
                let expect_fail = matches!(step, Step::TlsAcceptExpectFail { .. });
                let acceptor = self.build_acceptor(cert, key)?;
                if !self.rbuf.is_empty() {
                    return Err(format!(
                        "client sent {:?} before the TLS handshake (did not wait for 234?)",
                        lossy(&self.rbuf)
                    ));
                }
                let r = self.ctrl()?.tls_accept(&acceptor);
                match (r, expect_fail) {
                    (Ok(()), false) => {
                        self.acceptor = Some(acceptor);
                        Ok(())
                    }
                    (Err(e), false) => Err(e),
                    (Ok(()), true) => Err("TLS handshake succeeded but was expected to fail".into()),
                    (Err(e), true) => {
                        self.event(format!("control {e} (as expected)"));
                        if let Some(c) = self.ctrl.take() {
                            c.close_gracefully(false);
                        }
                        Ok(())
                    }
                }
            }
            Step::TlsMax12(on) => {
                self.tls_max12 = *on;
                Ok(())
            }
            Step::DataTls(on) => {
                if *on && self.acceptor.is_none() {
                    return Err("DataTls(true) needs a TlsAccept first".into());
                }
                self.data_tls = *on;
                Ok(())
            }
            Step::DataTlsRequireReuse(on) => {
                self.data_tls_require_reuse = *on;
                Ok(())
            }
            Step::DataTlsHandshake => self.data_ready().map(|_| ()),
            Step::SendRaw(b) => {
                let mut c = self.ctrl.take().ok_or("control connection is already closed")?;
                let r = c.tcp.write_all(b).map_err(|e| format!("raw write failed: {e}"));
                c.close_gracefully(false);
                r
            }
        }
    }

    fn build_acceptor(&self, cert: &PathBuf, key: &PathBuf) -> Result<SslAcceptor, String> {
        let ctx = |what: &str, e: openssl::error::ErrorStack| format!("{what}: {e}");
        let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).map_err(|e| ctx("SslAcceptor", e))?;
        b.set_certificate_chain_file(cert).map_err(|e| ctx(&format!("certificate {}", cert.display()), e))?;
        b.set_private_key_file(key, SslFiletype::PEM).map_err(|e| ctx(&format!("key {}", key.display()), e))?;
        b.check_private_key().map_err(|e| ctx("key does not match certificate", e))?;
        b.set_session_id_context(SESSION_ID_CONTEXT).map_err(|e| ctx("session id context", e))?;
        if self.tls_max12 {
            b.set_max_proto_version(Some(SslVersion::TLS1_2)).map_err(|e| ctx("max version", e))?;
        }
        Ok(b.build())
    }

    /// Bind a passive listener on `ip` and make it the current data plan.
    fn listen(&mut self, ip: IpAddr) -> Result<u16, String> {
        let l = TcpListener::bind(SocketAddr::new(ip, 0)).map_err(|e| format!("passive listener on {ip}: {e}"))?;
        let port = l.local_addr().map_err(|e| e.to_string())?.port();
        self.plan = Some(DataPlan::Passive(l));
        Ok(port)
    }

    /// Bind a listener on `ip` whose accept queue is full: backlog 0 queues one
    /// connection (Linux counts "more than the backlog" as full), made here.
    fn listen_full(&mut self, ip: IpAddr) -> Result<u16, String> {
        let addr = SocketAddr::new(ip, 0);
        let fail = |what: &str, e: io::Error| format!("full listener on {ip}: {what}: {e}");
        let l = Socket::new(Domain::for_address(addr), Type::STREAM, None).map_err(|e| fail("socket", e))?;
        l.bind(&addr.into()).map_err(|e| fail("bind", e))?;
        l.listen(0).map_err(|e| fail("listen", e))?;
        let local = l.local_addr().map_err(|e| fail("address", e))?.as_socket().ok_or("full listener: no address")?;
        let filler = TcpStream::connect_timeout(&local, self.io_timeout).map_err(|e| fail("filling the queue", e))?;
        self.full.push((l, filler));
        Ok(local.port())
    }

    fn open_data(&mut self, tcp: TcpStream, peer: SocketAddr) {
        if let Some(old) = self.data.take() {
            self.event(format!("data connection {} closed by a new one", old.index));
            old.conn.close_gracefully(true);
        }
        let index = {
            let mut t = self.t();
            t.data_received.push(Vec::new());
            t.data_conns.push(DataConnInfo {
                peer,
                tls: self.data_tls,
                tls_resumed: false,
                tls_close_notify_received: false,
            });
            t.data_received.len() - 1
        };
        self.data = Some(DataConn { conn: Conn::new(tcp, self.io_timeout), index, tls_pending: self.data_tls });
    }

    /// The data connection, with its TLS handshake done if it needs one.
    fn data_ready(&mut self) -> Result<&mut DataConn, String> {
        let acceptor = self.acceptor.clone();
        let require_reuse = self.data_tls_require_reuse;
        let d = self.data.as_mut().ok_or("no data connection")?;
        if d.tls_pending {
            d.tls_pending = false;
            let acceptor = acceptor.ok_or("TLS data connection without TlsAccept")?;
            d.conn.tls_accept(&acceptor).map_err(|e| format!("data connection {}: {e}", d.index))?;
            let resumed = d.conn.tls.as_ref().map(|s| s.ssl().session_reused()).unwrap_or(false);
            let index = d.index;
            lock(&self.transcript).data_conns[index].tls_resumed = resumed;
            if require_reuse && !resumed {
                return Err(format!("data connection {index}: TLS session not resumed"));
            }
        }
        Ok(self.data.as_mut().expect("checked above"))
    }

    /// Read the data connection to EOF (limit None) or exactly `limit` bytes.
    fn data_recv(&mut self, limit: Option<usize>) -> Result<(), String> {
        let transcript = self.transcript.clone();
        let d = self.data_ready()?;
        let mut got = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let want = match limit {
                Some(n) if got >= n => return Ok(()),
                Some(n) => (n - got).min(buf.len()),
                None => buf.len(),
            };
            match d.conn.read_some(&mut buf[..want]) {
                ReadOutcome::Data(n) => {
                    lock(&transcript).data_received[d.index].extend_from_slice(&buf[..n]);
                    got += n;
                }
                ReadOutcome::Eof { close_notify } => {
                    lock(&transcript).data_conns[d.index].tls_close_notify_received = close_notify;
                    return match limit {
                        None => Ok(()),
                        Some(n) => Err(format!("data EOF after {got} of {n} bytes")),
                    };
                }
                ReadOutcome::TimedOut => {
                    return Err(format!("data read timed out after {got} bytes"));
                }
                ReadOutcome::Failed(e) => return Err(format!("data read failed after {got} bytes: {e}")),
            }
        }
    }

    fn expect_prefix(&mut self, prefix: &str) -> Result<Vec<u8>, String> {
        let line = self.read_line(&format!("{prefix:?}"))?;
        if !strip_telnet(&line).starts_with(prefix.as_bytes()) {
            return Err(format!("expected a command starting with {prefix:?}, got {:?}", lossy(&line)));
        }
        Ok(line)
    }

    /// Read one CRLF-terminated command line (recorded in the transcript).
    fn read_line(&mut self, expecting: &str) -> Result<Vec<u8>, String> {
        let mut buf = [0u8; 8192];
        loop {
            if let Some(pos) = self.rbuf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.rbuf.drain(..=pos).collect();
                line.pop();
                let crlf = line.last() == Some(&b'\r');
                if crlf {
                    line.pop();
                }
                if line.len() > MAX_LINE {
                    return Err(format!("command line of {} bytes (limit {MAX_LINE})", line.len()));
                }
                self.record_command(&line);
                if !crlf {
                    return Err(format!("command {:?} ended with a bare LF", lossy(&line)));
                }
                return Ok(line);
            }
            if self.rbuf.len() > MAX_LINE {
                return Err(format!("over {MAX_LINE} bytes without a line end (starts {:?})", lossy(&self.rbuf[..60])));
            }
            let timeout = self.io_timeout;
            let c = self.ctrl()?;
            match c.read_some(&mut buf) {
                ReadOutcome::Data(n) => self.rbuf.extend_from_slice(&buf[..n]),
                ReadOutcome::Eof { .. } => {
                    return Err(format!(
                        "client closed the control connection while the server expected {expecting}{}",
                        pending(&self.rbuf)
                    ))
                }
                ReadOutcome::TimedOut => {
                    return Err(format!("no command within {timeout:?} (expected {expecting}){}", pending(&self.rbuf)))
                }
                ReadOutcome::Failed(e) => return Err(format!("control read failed while expecting {expecting}: {e}")),
            }
        }
    }

    fn record_command(&mut self, line: &[u8]) {
        if let Some(addr) = parse_port_command(strip_telnet(line)) {
            self.plan = Some(DataPlan::Active(addr));
        }
        self.t().commands.push(line.to_vec());
    }

    fn expect_close(&mut self) -> Result<(), String> {
        let timeout = self.io_timeout;
        let mut c = self.ctrl.take().ok_or("control connection is already closed")?;
        let mut buf = [0u8; 8192];
        let r = match c.read_some(&mut buf) {
            ReadOutcome::Eof { close_notify } => {
                if close_notify {
                    self.event("client sent close_notify on the control connection");
                }
                Ok(())
            }
            ReadOutcome::Failed(e) => {
                self.event(format!("control connection ended with an error: {e}"));
                Ok(())
            }
            ReadOutcome::TimedOut => Err(format!("client did not close within {timeout:?}")),
            ReadOutcome::Data(n) => {
                // Record what it sent (complete lines) before failing.
                self.rbuf.extend_from_slice(&buf[..n]);
                while let Some(pos) = self.rbuf.iter().position(|&b| b == b'\n') {
                    let mut line: Vec<u8> = self.rbuf.drain(..=pos).collect();
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    self.record_command(&line);
                }
                Err(format!("expected the client to close, but it sent more{}", pending(&self.rbuf)))
            }
        };
        c.close_gracefully(true);
        r
    }
}

fn pending(rbuf: &[u8]) -> String {
    if rbuf.is_empty() {
        String::new()
    } else {
        format!(" (partial line received: {:?})", lossy(&rbuf[..rbuf.len().min(200)]))
    }
}

/// Skip leading Telnet IAC command pairs (e.g. IAC IP, IAC DM before ABOR).
fn strip_telnet(mut line: &[u8]) -> &[u8] {
    while line.len() >= 2 && line[0] == 0xFF {
        line = &line[2..];
    }
    // A lone DM (0xF2) may remain when IAC was sent as urgent data.
    while line.first() == Some(&0xF2) {
        line = &line[1..];
    }
    line
}

/// Parse "PORT h1,h2,h3,h4,p1,p2" or "EPRT |1|addr|port|" / "EPRT |2|addr|port|".
fn parse_port_command(line: &[u8]) -> Option<SocketAddr> {
    let s = std::str::from_utf8(line).ok()?;
    let (verb, arg) = s.split_once(' ')?;
    let arg = arg.trim();
    if verb.eq_ignore_ascii_case("PORT") {
        let n: Vec<u8> = arg.split(',').map(|x| x.trim().parse().ok()).collect::<Option<_>>()?;
        if n.len() != 6 {
            return None;
        }
        let ip = Ipv4Addr::new(n[0], n[1], n[2], n[3]);
        Some(SocketAddr::new(IpAddr::V4(ip), u16::from(n[4]) * 256 + u16::from(n[5])))
    } else if verb.eq_ignore_ascii_case("EPRT") {
        let delim = arg.chars().next()?;
        let parts: Vec<&str> = arg.split(delim).collect();
        // "", proto, addr, port, ""
        if parts.len() != 5 {
            return None;
        }
        let ip: IpAddr = parts[2].parse().ok()?;
        match (parts[1], &ip) {
            ("1", IpAddr::V4(_)) | ("2", IpAddr::V6(_)) => {}
            _ => return None,
        }
        Some(SocketAddr::new(ip, parts[3].parse().ok()?))
    } else {
        None
    }
}
