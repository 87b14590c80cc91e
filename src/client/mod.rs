//! The ftplib-shaped client: connection, login and every command without a data connection.

pub mod config;
pub(crate) mod data;
mod directory;
pub(crate) mod ftps;
pub mod mirror;
pub mod netrc;
pub mod segmented;
pub mod transfer;
pub mod walk;

use crate::client::config::Config;
use crate::error::{Error, Result};
use crate::net::control::Control;
use crate::net::stream;
use crate::net::tls::TlsMode;
use crate::proto::command::{self, Encoding};
use crate::proto::conversation::{Login, Next};
use crate::proto::replies::{parse213_size, parse257};
use crate::proto::reply::Reply;
use openssl::ssl::{SslContext, SslSession};
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// Where debug traces go; stderr when none is set.
pub type TraceSink = Box<dyn FnMut(&str) + Send>;

/// An FTP client, as ftplib's `FTP` class. Not connected until `connect`.
pub struct Client {
    pub(crate) config: Config,
    pub(crate) ctrl: Option<Control>,
    host: String,
    port: u16,
    welcome: Option<Reply>,
    pub(crate) last_reply: Option<Reply>,
    /// Bytes the last transfer moved on its data connection, also when it failed.
    pub(crate) last_transfer_bytes: u64,
    /// Socket reads and writes the last transfer made (see `last_transfer_socket_calls`).
    pub(crate) last_transfer_socket_calls: u64,
    /// From the transfer command to the transfer's end: a cancel request then waits for
    /// the data phase (ABOR keeps the connection in step) instead of cutting a reply wait.
    pub(crate) transfer_open: bool,
    debuglevel: u8,
    trace: Option<TraceSink>,
    pub(crate) source_address: Option<SocketAddr>,
    /// What this connection has learned about the server; reset on connect.
    pub(crate) session: Session,
    /// Set from any thread to stop the running transfer at its next block.
    pub(crate) cancel: Arc<AtomicBool>,
    /// Set from any thread to stop a running transfer only (ftplib's `abort` from another
    /// thread): unlike `cancel`, no other wait is cut.
    pub(crate) transfer_stop: Arc<AtomicBool>,
    pub(crate) tls: TlsSession,
    /// What the last successful login sent, for the extra connections of a segmented
    /// download; forgotten with the connection.
    pub(crate) credentials: Option<Credentials>,
}

/// A login to repeat on another connection to the same server.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub user: String,
    pub passwd: String,
    pub acct: String,
}

/// TLS state of one connection.
#[derive(Default)]
pub(crate) struct TlsSession {
    /// Shared with the clients of the same options (see `net::tls_cache`), or the caller's.
    pub context: Option<Arc<SslContext>>,
    /// PROT P in force: data connections are TLS.
    pub protect_data: bool,
    /// The caller chose PROT C or PROT P; login then leaves protection alone.
    pub prot_chosen: bool,
    /// The control connection's session, kept after CCC for data connections to resume.
    pub saved_session: Option<SslSession>,
}

/// Per-connection knowledge about the server.
#[derive(Debug, Default)]
pub(crate) struct Session {
    pub epsv_refused: bool,
    pub eprt_refused: bool,
    /// The transfer type last sent (`b'I'`, `b'A'`, ...), `None` when unknown.
    pub transfer_type: Option<u8>,
    /// FEAT lines (upper-cased feature name, then the rest), once asked.
    pub features: Option<Vec<(String, String)>>,
    /// A TLS data connection of this session ended with the server's close_notify: from
    /// then on, one that ends without it is cut short, whatever the final reply says.
    pub server_sends_close_notify: bool,
    /// The 150 reply of the last whole-file download announced its size: the next one
    /// needs no SIZE for its progress total.
    pub download_size_in_150: bool,
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

impl Client {
    pub fn new() -> Client {
        Client::with_config(Config::default())
    }

    /// A client for explicit FTPS, as ftplib's `FTP_TLS`: `login` runs AUTH TLS first and,
    /// unless `prot_c` was called, protects the data connections (PBSZ 0, PROT P) after it.
    pub fn new_tls() -> Client {
        Client::with_config(Config { tls_mode: TlsMode::Explicit, ..Config::default() })
    }

    pub fn with_config(config: Config) -> Client {
        Client {
            config,
            ctrl: None,
            host: String::new(),
            port: 0,
            welcome: None,
            last_reply: None,
            last_transfer_bytes: 0,
            last_transfer_socket_calls: 0,
            transfer_open: false,
            debuglevel: 0,
            trace: None,
            source_address: None,
            session: Session::default(),
            cancel: Arc::new(AtomicBool::new(false)),
            transfer_stop: Arc::new(AtomicBool::new(false)),
            tls: TlsSession::default(),
            credentials: None,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The options, for changing; TLS options apply from the next handshake.
    pub fn config_mut(&mut self) -> &mut Config {
        self.tls.context = None;
        &mut self.config
    }

    /// Connects to `host` (port 0 means 21), trying every address it resolves to, and reads
    /// the greeting. A TLS mode that does not fit the port is named in the error, after a
    /// probe of at most 0.5 s: no greeting from a port that answers a TLS ClientHello is a
    /// `Timeout` saying the server expects implicit FTPS; a plain-text line where the
    /// implicit handshake expected TLS is `Tls` saying to use explicit FTPS or plain FTP. `timeout`, when given, becomes the client's timeout (`Config::timeout`,
    /// ftplib's `timeout`), which bounds every later wait too.
    /// `source_address`, when given, is bound before connecting and stays the client's
    /// source address (`set_source_address`): passive data connections bind it too, its
    /// port included when not 0, with SO_REUSEADDR so that the control connection and a
    /// data connection share that port (ftplib's data connections, without it, fail with
    /// EADDRINUSE then).
    pub fn connect(
        &mut self,
        host: &str,
        port: u16,
        timeout: Option<Duration>,
        source_address: Option<SocketAddr>,
    ) -> Result<Reply> {
        if let Some(t) = timeout {
            if t.is_zero() {
                return Err(Error::InvalidArgument("a timeout of zero would never wait".into()));
            }
            self.config.timeout = t;
        }
        self.close();
        self.forget_replies();
        let port = match (port, self.config.tls_mode) {
            (0, TlsMode::Implicit) => 990,
            (0, _) => 21,
            (p, _) => p,
        };
        let addrs = stream::resolve(host, port)?;
        let tcp = stream::connect_any(&addrs, self.config.connect_wait(), source_address, &self.cancel)?;
        self.host = host.to_string();
        self.port = port;
        self.source_address = source_address;
        let ctrl = Control::new(tcp, self.config.timeout)?;
        self.start(ctrl)
    }

    /// Runs the client over an already connected stream socket instead of a TCP connection
    /// it makes itself: any `AF_UNIX`/`AF_INET` stream socket, e.g. one end of a
    /// `socketpair(2)` whose other end plays the server, in memory (the whole-session fuzz
    /// target). `peer` and `local` stand in for the addresses a TCP connection would have.
    /// Reads the greeting as `connect` does.
    #[doc(hidden)]
    pub fn connect_socket(
        &mut self,
        socket: std::os::fd::OwnedFd,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> Result<Reply> {
        self.close();
        self.forget_replies();
        self.host = peer.ip().to_string();
        self.port = peer.port();
        self.source_address = None;
        let ctrl = Control::with_addrs(socket.into(), peer, local, self.config.timeout)?;
        self.start(ctrl)
    }

    /// A new connection starts with no greeting and no reply, even when it fails.
    fn forget_replies(&mut self) {
        self.welcome = None;
        self.last_reply = None;
    }

    /// Takes a fresh control connection into use and reads the greeting.
    fn start(&mut self, ctrl: Control) -> Result<Reply> {
        self.session = Session::default();
        self.credentials = None;
        self.transfer_open = false;
        // The built TLS context (with the parsed CA store) outlives connections: rebuilding
        // it cost ~20 ms of CPU per connect. Option changes drop it (config_mut).
        self.tls = TlsSession { context: self.tls.context.take(), ..TlsSession::default() };
        // A second descriptor keeps the socket open after a failed start, to find out
        // whether the port wants the other TLS mode.
        let probe = ctrl.stream.tcp().try_clone().ok();
        self.ctrl = Some(ctrl);
        let implicit = self.config.tls_mode == TlsMode::Implicit;
        if implicit {
            // Options that cannot make a context fail as what they are, before any handshake.
            if let Err(e) = self.tls_context() {
                self.drop_connection();
                return Err(e);
            }
            if let Err(e) = self.start_control_tls() {
                return Err(self.explain_failed_implicit_start(e, probe.as_ref()));
            }
        }
        let welcome = match self.getresp() {
            Err(Error::Timeout(_)) if !implicit && self.port_wants_implicit_tls(probe.as_ref()) => Err(Error::Timeout(
                "waiting for the greeting, and the port answers a TLS ClientHello: the server expects implicit \
                 FTPS (TLS from the first byte): use ftp_set_tls_mode(c, FTP_TLS_IMPLICIT) (Rust: \
                 TlsMode::Implicit), whose default port is 990",
            )),
            other => other,
        };
        drop(probe);
        let welcome = welcome.inspect_err(|_| self.close())?;
        self.trace(1, || format!("*welcome* {}", welcome.text_lossy()));
        self.welcome = Some(welcome.clone());
        Ok(welcome)
    }

    /// How long to wait for the answer to a probe for the other TLS mode: a server answers
    /// at once, and the probe comes after a failure that may already have taken a timeout.
    fn probe_wait(&self) -> Duration {
        // Part of the 1 s a call may take beyond its timeout; a TLS server answers a
        // ClientHello within a round trip.
        self.config.timeout.min(Duration::from_millis(250))
    }

    /// After the greeting did not come: whether the silent port answers a TLS ClientHello.
    fn port_wants_implicit_tls(&mut self, probe: Option<&std::net::TcpStream>) -> bool {
        let Some(tcp) = probe else { return false };
        let wants = crate::net::tls_probe::answers_client_hello(tcp, self.probe_wait(), &self.cancel);
        self.trace(1, || {
            format!(
                "*info* no greeting; the port {} a TLS ClientHello",
                if wants { "answers" } else { "does not answer" }
            )
        });
        wants
    }

    /// An implicit-FTPS handshake failed: when the server sent a line of text instead (a
    /// plain-text FTP greeting), say which mode the port wants.
    fn explain_failed_implicit_start(&mut self, error: Error, probe: Option<&std::net::TcpStream>) -> Error {
        let Error::Tls(message) = &error else {
            return error;
        };
        let Some(tcp) = probe else { return error };
        if !crate::net::tls_probe::sent_text_line(tcp, self.probe_wait(), &self.cancel) {
            return error;
        }
        Error::Tls(format!(
            "the server sent a plain-text FTP greeting: use explicit FTPS (AUTH TLS) or plain FTP on this \
             port (ftp_set_tls_mode(c, FTP_TLS_EXPLICIT or FTP_TLS_OFF), Rust: TlsMode::Explicit or Off); \
             {message}"
        ))
    }

    /// ftplib's `FTP(host, user, passwd, acct, timeout, source_address, encoding)`: connects,
    /// and logs in when `user` is given.
    pub fn open(
        host: &str,
        user: Option<&str>,
        passwd: &str,
        acct: &str,
        timeout: Option<Duration>,
        source_address: Option<SocketAddr>,
        encoding: Encoding,
    ) -> Result<Client> {
        let mut client = Client::new();
        client.config.encoding = encoding;
        client.open_session(host, user, passwd, acct, timeout, source_address)?;
        Ok(client)
    }

    /// `open`'s session on this client, its settings kept: connects to the default port
    /// (21, or 990 with implicit FTPS), then logs in when `user` is given.
    pub fn open_session(
        &mut self,
        host: &str,
        user: Option<&str>,
        passwd: &str,
        acct: &str,
        timeout: Option<Duration>,
        source_address: Option<SocketAddr>,
    ) -> Result<()> {
        self.connect(host, 0, timeout, source_address)?;
        if let Some(user) = user {
            self.login(user, passwd, acct)?;
        }
        Ok(())
    }

    /// Applies the control timeout of the configuration to an open connection.
    pub fn refresh_timeouts(&mut self) -> Result<()> {
        if let Some(ctrl) = &mut self.ctrl {
            ctrl.timeout = self.config.timeout;
        }
        Ok(())
    }

    pub fn is_connected(&self) -> bool {
        self.ctrl.is_some()
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The greeting, as ftplib's `getwelcome`.
    pub fn welcome(&self) -> Option<&Reply> {
        self.welcome.as_ref()
    }

    /// The reply to the last command sent (the greeting after a connect), whatever its
    /// class; `None` when that command got no reply (timeout, dropped connection).
    pub fn last_reply(&self) -> Option<&Reply> {
        self.last_reply.as_ref()
    }

    /// Bytes the last transfer (started by any transfer call or `ntransfercmd`) moved on
    /// its data connection, a resumed offset not counted; also after it failed, was stopped
    /// or was cut short (`Truncated`), so that a caller knows how much arrived.
    pub fn last_transfer_bytes(&self) -> u64 {
        self.last_transfer_bytes
    }

    /// Reads and writes the last transfer made on its data connection through the
    /// buffered paths (retrbinary, retrlines, storbinary, storlines, ftp_data_*): a cost
    /// that tests can check without timing anything. Not counted for splice/sendfile.
    #[doc(hidden)]
    pub fn last_transfer_socket_calls(&self) -> u64 {
        self.last_transfer_socket_calls
    }

    /// The server's address on the control connection; `None` when not connected.
    pub fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.ctrl.as_ref().map(|c| c.peer)
    }

    /// This side's address on the control connection (what active mode advertises unless
    /// `Config::active_address` says otherwise); `None` when not connected.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.ctrl.as_ref().map(|c| c.local)
    }

    /// The address this client binds before connecting (ftplib's `source_address`): set by
    /// `connect`, changed by `set_source_address`.
    pub fn source_address(&self) -> Option<SocketAddr> {
        self.source_address
    }

    /// Sets the address to bind, as ftplib's `source_address` assigned after connecting:
    /// it applies to the next data connection, and a passive data connection binds its host
    /// and, when not 0, its port (as ftplib does). A port can serve one data connection at a
    /// time, and it may be the control connection's too (see `connect`). Active mode listens
    /// on the control connection's address whatever this says, as ftplib; the extra
    /// connections of a segmented download bind the host only. `None`: bind nothing. The
    /// next `connect` replaces it with its own `source_address`.
    pub fn set_source_address(&mut self, source: Option<SocketAddr>) {
        self.source_address = source;
    }

    /// 0: silent; 1: commands and replies; 2: also every line sent and received.
    pub fn set_debuglevel(&mut self, level: u8) {
        self.debuglevel = level.min(2);
    }

    pub fn debuglevel(&self) -> u8 {
        self.debuglevel
    }

    pub fn set_trace_sink(&mut self, sink: Option<TraceSink>) {
        self.trace = sink;
    }

    pub(crate) fn trace(&mut self, level: u8, message: impl FnOnce() -> String) {
        if self.debuglevel < level {
            return;
        }
        let message = message();
        match self.trace.as_mut() {
            Some(sink) => sink(&message),
            None => eprintln!("{message}"),
        }
    }

    pub(crate) fn ctrl(&mut self) -> Result<&mut Control> {
        self.ctrl.as_mut().ok_or_else(not_connected)
    }

    /// Sends one line (ftplib's `putcmd`): checked for CR, LF and NUL, encoded, then sent.
    pub fn putcmd(&mut self, cmd: &[u8]) -> Result<()> {
        let line = command::build_raw(cmd, self.config.encoding)?;
        self.send_line(&line)
    }

    pub(crate) fn send_line(&mut self, line: &[u8]) -> Result<()> {
        // From here on the last reply is this command's, or none if it never comes.
        self.last_reply = None;
        if let Some(kind) = command::type_sent(line) {
            // Taken as in force once sent: a refused TYPE leaves the server's unknown, and
            // then the next SIZE sends TYPE I again.
            self.session.transfer_type = kind;
        }
        self.trace(1, || format!("*cmd* {:?}", command::sanitize(line)));
        let ctrl = self.ctrl.as_mut().ok_or_else(not_connected)?;
        let result = ctrl.send_line(line, &self.cancel);
        result.inspect_err(|_| self.drop_connection())
    }

    /// Reads a reply and classifies it as ftplib's `getresp`: 1xx-3xx are returned,
    /// 4xx is `Temp`, 5xx is `Perm`.
    pub fn getresp(&mut self) -> Result<Reply> {
        self.getresp_within(self.config.timeout)
    }

    /// `getresp` with a wait of its own.
    pub(crate) fn getresp_within(&mut self, wait: Duration) -> Result<Reply> {
        match self.getresp_or_silence(wait)? {
            Some(reply) => Ok(reply),
            None => {
                // Out of step: the reply may still come, and would answer the next command.
                self.drop_connection();
                Err(Error::Timeout("reading a reply"))
            }
        }
    }

    /// `getresp_within`, but silence until `wait` ends is `None` and keeps the connection:
    /// for a caller that knows how to bring the conversation back in step (the EPSV
    /// fallback). What has arrived of a reply is kept for the next read.
    pub(crate) fn getresp_or_silence(&mut self, wait: Duration) -> Result<Option<Reply>> {
        // Every reply wait is cut by a cancel request, a transfer's too (150, the final
        // reply, ABOR's): the connection is then out of step and closed. A request made
        // while a transfer moves data is served by its data phase instead (ABOR, the
        // connection kept), so this only happens when the server stalls in a reply.
        let ctrl = self.ctrl.as_mut().ok_or_else(not_connected)?;
        let raw = match ctrl.read_reply(wait, &self.cancel) {
            Err(Error::Timeout(_)) => return Ok(None),
            read => read.inspect_err(|_| self.drop_connection())?,
        };
        let reply = Reply { code: raw.code, text: self.config.encoding.decode(&raw.text).into_owned() };
        self.trace(1, || format!("*resp* {:?}", reply.text_lossy()));
        self.last_reply = Some(reply.clone());
        match reply.class() {
            1..=3 => Ok(Some(reply)),
            4 => Err(Error::Temp(reply)),
            _ => Err(Error::Perm(reply)),
        }
    }

    /// A reply that must be 2xx (ftplib's `voidresp`); anything else is `Reply`.
    pub fn voidresp(&mut self) -> Result<Reply> {
        let reply = self.getresp()?;
        if reply.class() != 2 {
            return Err(Error::Reply(reply));
        }
        Ok(reply)
    }

    /// Sends a command line and returns its reply (ftplib's `sendcmd`).
    pub fn sendcmd(&mut self, cmd: &[u8]) -> Result<Reply> {
        self.putcmd(cmd)?;
        self.getresp()
    }

    /// Sends a command line and expects a 2xx reply (ftplib's `voidcmd`).
    pub fn voidcmd(&mut self, cmd: &[u8]) -> Result<Reply> {
        self.putcmd(cmd)?;
        self.voidresp()
    }

    /// `VERB arg` with the argument checked and encoded separately from the verb.
    pub(crate) fn cmd(&mut self, verb: &str, arg: Option<&[u8]>) -> Result<Reply> {
        let line = command::build(verb, arg, self.config.encoding)?;
        self.send_line(&line)?;
        self.getresp()
    }

    pub(crate) fn void(&mut self, verb: &str, arg: Option<&[u8]>) -> Result<Reply> {
        let line = command::build(verb, arg, self.config.encoding)?;
        self.send_line(&line)?;
        self.voidresp()
    }

    /// Logs in as ftplib: an empty user is `anonymous`, whose empty or `-` password gets
    /// `anonymous@` appended; PASS follows a 3xx to USER, ACCT a 3xx to PASS; the end must be 2xx.
    pub fn login(&mut self, user: &str, passwd: &str, acct: &str) -> Result<Reply> {
        // Everything is checked before anything is sent.
        let mut conversation = Login::new(user, passwd, acct)?;
        let tls = self.config.tls_mode != TlsMode::Off;
        if tls && !self.is_tls() {
            self.auth()?;
        }
        let mut next = conversation.start();
        let reply = loop {
            next = match next {
                Next::Send(verb, arg) => {
                    let reply = self.cmd(verb, arg.as_deref())?;
                    conversation.reply(reply)?
                }
                Next::Read => conversation.reply(self.getresp()?)?,
                Next::Done(reply) => break reply,
            };
        };
        if tls && !self.tls.prot_chosen {
            self.prot_p()?;
        }
        self.credentials =
            Some(Credentials { user: user.to_string(), passwd: passwd.to_string(), acct: acct.to_string() });
        Ok(reply)
    }

    /// Sends ACCT (ftplib's `acct`).
    pub fn acct(&mut self, password: &str) -> Result<Reply> {
        self.void("ACCT", Some(password.as_bytes()))
    }

    /// The current directory, from the 257 reply; empty when the server does not answer 257.
    pub fn pwd(&mut self) -> Result<Vec<u8>> {
        let reply = self.void("PWD", None)?;
        if reply.code != 257 {
            return Ok(Vec::new());
        }
        Ok(parse257(&reply)?)
    }

    /// Makes a directory and returns its path as the 257 reply gives it.
    pub fn mkd(&mut self, dirname: &[u8]) -> Result<Vec<u8>> {
        let reply = self.void("MKD", Some(dirname))?;
        if reply.code != 257 {
            return Ok(Vec::new());
        }
        Ok(parse257(&reply)?)
    }

    /// Changes directory: `..` sends CDUP (CWD .. when CDUP is unknown, 500), empty means `.`.
    pub fn cwd(&mut self, dirname: &[u8]) -> Result<Reply> {
        if dirname == b".." {
            match self.void("CDUP", None) {
                Err(Error::Perm(r)) if r.code == 500 => {}
                other => return other,
            }
        }
        let dirname = if dirname.is_empty() { b"." } else { dirname };
        self.void("CWD", Some(dirname))
    }

    pub fn rmd(&mut self, dirname: &[u8]) -> Result<Reply> {
        self.void("RMD", Some(dirname))
    }

    /// Deletes a file; only 200 and 250 count as done.
    pub fn delete(&mut self, filename: &[u8]) -> Result<Reply> {
        let reply = self.cmd("DELE", Some(filename))?;
        if matches!(reply.code, 200 | 250) {
            Ok(reply)
        } else {
            Err(Error::Reply(reply))
        }
    }

    /// RNFR, which must be answered 3xx, then RNTO.
    pub fn rename(&mut self, fromname: &[u8], toname: &[u8]) -> Result<Reply> {
        command::check_no_line_breaks("new name", toname)?;
        self.config.encoding.encode(toname)?;
        let reply = self.cmd("RNFR", Some(fromname))?;
        if reply.class() != 3 {
            return Err(Error::Reply(reply));
        }
        self.void("RNTO", Some(toname))
    }

    /// The size from a 213 reply; `None` when the server answers anything else with
    /// a success or intermediate code, or sends no number. SIZE depends on the transfer
    /// type (RFC 3659 §4: the size is that of the transfer in the current type): after a
    /// listing left TYPE A in force, ProFTPD refuses it (550) and BSD ftpd counts CRLFs. So
    /// TYPE I goes first unless image type is known to be in force (ftplib sends SIZE as it is).
    pub fn size(&mut self, filename: &[u8]) -> Result<Option<u64>> {
        if self.session.transfer_type != Some(b'I') {
            self.void("TYPE", Some(b"I"))?;
        }
        let reply = self.cmd("SIZE", Some(filename))?;
        Ok(parse213_size(&reply))
    }

    /// Sends QUIT and closes the connection, even when the reply is an error.
    pub fn quit(&mut self) -> Result<Reply> {
        let result = self.void("QUIT", None);
        self.close();
        result
    }

    /// Closes the connection without a word to the server (ftplib's `close`). Idempotent.
    pub fn close(&mut self) {
        self.ctrl = None;
    }

    /// Drops a control connection that is out of step with the server after an error.
    pub(crate) fn drop_connection(&mut self) {
        self.close();
    }
}

impl Client {
    /// Logs in with the netrc entry for the connected host (or the `default` entry), from
    /// `path` or `~/.netrc`.
    pub fn login_netrc(&mut self, path: Option<&std::path::Path>) -> Result<Reply> {
        let netrc = crate::client::netrc::Netrc::load(path)?;
        let host = self.host.trim_start_matches('[').trim_end_matches(']').to_string();
        let entry = netrc
            .authenticators(&host)
            .cloned()
            .ok_or_else(|| Error::Netrc(format!("no entry for {host} and no default")))?;
        self.login(&entry.login, &entry.password, &entry.account)
    }
}

/// A cancel flag that is never set, for waits a cancel request must not cut.
pub(crate) static NEVER: AtomicBool = AtomicBool::new(false);

fn not_connected() -> Error {
    Error::WrongState("not connected".into())
}
