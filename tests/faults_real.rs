//! Faults on real connections: the Rust core against the real servers of
//! `tests/servers/servers.sh` (vsftpd, pure-ftpd, ProFTPD and bsd-ftpd in plain FTP, and
//! vsftpd, pure-ftpd and ProFTPD with explicit FTPS and PROT P) through the fault-injecting proxy of `tests/support/proxy.rs`, which resets,
//! cuts (FIN), stalls, delays or splits the control and data connections at chosen points.
//!
//! Each test checks that the fault ends in its documented error (never in a false success),
//! within its timeout, and whether the control connection is still usable afterwards.
//! Tests are generated per server (modules named after the test function, one test per
//! server in them).
//!
//! TLS through the proxy: the proxy has an address of its own (127.77.x.y), which the test
//! certificate does not name, so these clients do not verify the certificate; verification is
//! tested in tls_real.rs.
//!
//! `netem_*` (ignored) is the client side of tests/netem/loss.sh.
//!
//! `FTPC_TEST_VIA=multi` runs the calls under test (login, transfers, listings, the stall
//! points) as operations of a `Multi` instead of blocking calls: the non-blocking path must
//! give the same outcomes within the same bounds; the test command runs the file both ways.

mod support;

use ftpc::{Client, Config, Error, Flow, TlsMode};
use std::io::{Cursor, Read};
use std::ops::RangeInclusive;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::proxy::{Action, Active, Dir, Fault, Proxy, ProxyBuilder, Upstream, When};
use support::real::{env, random_bytes, sha256, sha256_sha2, unique_name, TempFile, Trace};
use support::via::Via;

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;
/// Timeouts of a client when the test does not wait for one.
const PATIENT: Duration = Duration::from_secs(10);
/// The timeout a test waits for.
const SHORT: Duration = Duration::from_millis(1200);

// ---------------------------------------------------------------------------------------
// Servers

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Srv {
    Vsftpd,
    PureFtpd,
    /// vsftpd-tls: explicit FTPS, PROT P, require_ssl_reuse.
    VsftpdTls,
    /// pure-ftpd with explicit FTPS (its TLS is optional), PROT P.
    PureFtpdTls,
    ProFtpd,
    /// proftpd-tls: explicit FTPS, PROT P, data connections must resume the session.
    ProFtpdTls,
    /// GNU inetutils ftpd (classic BSD ftpd, plain FTP only). It takes passive ports from the
    /// kernel's ephemeral range, which the proxy cannot mirror, so its clients here use active
    /// mode (the proxy rewrites EPRT/PORT): see `config`.
    BsdFtpd,
}

impl Srv {
    fn port(self) -> u16 {
        env().port(match self {
            Srv::Vsftpd => "FTPC_VSFTPD_PORT",
            Srv::PureFtpd | Srv::PureFtpdTls => "FTPC_PUREFTPD_PORT",
            Srv::VsftpdTls => "FTPC_VSFTPD_TLS_PORT",
            Srv::ProFtpd => "FTPC_PROFTPD_PORT",
            Srv::ProFtpdTls => "FTPC_PROFTPD_TLS_PORT",
            Srv::BsdFtpd => "FTPC_BSDFTPD_PORT",
        })
    }

    fn home(self) -> PathBuf {
        env().path(match self {
            Srv::Vsftpd => "FTPC_VSFTPD_HOME",
            Srv::PureFtpd | Srv::PureFtpdTls => "FTPC_PUREFTPD_HOME",
            Srv::VsftpdTls => "FTPC_VSFTPD_TLS_HOME",
            Srv::ProFtpd => "FTPC_PROFTPD_HOME",
            Srv::ProFtpdTls => "FTPC_PROFTPD_TLS_HOME",
            Srv::BsdFtpd => "FTPC_BSDFTPD_HOME",
        })
    }

    /// The passive port range servers.sh gives the instance (shifted as its ports are); none
    /// for bsd-ftpd, which has no setting for one.
    #[allow(clippy::reversed_empty_ranges)]
    fn passive(self) -> RangeInclusive<u16> {
        let offset = env().port("FTPC_VSFTPD_PORT") - 2121;
        let first = 30000
            + offset
            + match self {
                Srv::Vsftpd => 0,
                Srv::VsftpdTls => 200,
                Srv::PureFtpd | Srv::PureFtpdTls => 400,
                Srv::ProFtpd => 500,
                Srv::ProFtpdTls => 600,
                Srv::BsdFtpd => return 1..=0,
            };
        first..=first + 99
    }

    fn upstream(self) -> Upstream {
        let ip = env().get("FTPC_TEST_HOST").parse().expect("FTPC_TEST_HOST is an address");
        Upstream { addr: std::net::SocketAddr::new(ip, self.port()), passive: self.passive() }
    }

    fn tls(self) -> bool {
        matches!(self, Srv::VsftpdTls | Srv::PureFtpdTls | Srv::ProFtpdTls)
    }

    fn proxy(self) -> ProxyBuilder {
        Proxy::builder(self.upstream())
    }
}

/// Every test body, run against the servers listed (`#[ignore = "why"]` first: ignored).
macro_rules! on_servers {
    (#[ignore = $why:literal] $test:ident: $($srv:ident),+) => {
        mod $test {
            $(
                #[test]
                #[ignore = $why]
                #[allow(non_snake_case)]
                fn $srv() {
                    if !super::support::real::servers_up(concat!(module_path!(), "::", stringify!($srv))) {
                        return;
                    }
                    super::$test(super::Srv::$srv);
                }
            )+
        }
    };
    ($test:ident: $($srv:ident),+) => {
        mod $test {
            $(
                #[test]
                #[allow(non_snake_case)]
                fn $srv() {
                    if !super::support::real::servers_up(concat!(module_path!(), "::", stringify!($srv))) {
                        return;
                    }
                    super::$test(super::Srv::$srv);
                }
            )+
        }
    };
}

// ---------------------------------------------------------------------------------------
// Working directories, clients

/// A fresh directory in the server's home, made locally (owned by the FTP user), removed at
/// the end.
struct Workdir {
    name: String,
    local: PathBuf,
}

impl Workdir {
    fn new(srv: Srv, tag: &str) -> Workdir {
        let home = srv.home();
        let name = unique_name(&format!("fault-{tag}"));
        let local = home.join(&name);
        std::fs::create_dir(&local).unwrap_or_else(|e| panic!("{}: {e}", local.display()));
        let owner = std::fs::metadata(&home).unwrap();
        std::os::unix::fs::chown(&local, Some(owner.uid()), Some(owner.gid())).unwrap();
        Workdir { name, local }
    }

    fn put(&self, name: &str, data: &[u8]) {
        std::fs::write(self.local.join(name), data).unwrap();
    }

    fn get(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.local.join(name)).unwrap_or_default()
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.local);
    }
}

/// Patient timeouts, explicit FTPS for the TLS servers, active mode for bsd-ftpd (see
/// `Srv::BsdFtpd`).
fn config(srv: Srv) -> Config {
    let mut cfg = Config {
        connect_timeout: Some(PATIENT),
        timeout: PATIENT,
        data_connect_timeout: Some(PATIENT),
        data_accept_timeout: Some(PATIENT),
        data_timeout: Some(PATIENT),
        ..Config::default()
    };
    if srv.tls() {
        cfg.tls_mode = TlsMode::Explicit;
        // The proxy's address is not in the certificate (see the top of the file).
        cfg.tls.verify = false;
    }
    if srv == Srv::BsdFtpd {
        cfg.passive = false;
    }
    cfg
}

fn traced(cfg: Config) -> (Client, Trace) {
    let trace = Trace::default();
    let mut c = Client::with_config(cfg);
    c.set_debuglevel(2);
    c.set_trace_sink(Some(trace.sink()));
    (c, trace)
}

/// Blocking calls, or operations of a `Multi` (see the top of the file).
fn via() -> Via {
    Via::from_env()
}

/// A client logged in through the proxy, in the working directory.
fn open(srv: Srv, proxy: &Proxy, w: &Workdir, configure: impl FnOnce(&mut Config)) -> (Client, Trace) {
    let mut cfg = config(srv);
    configure(&mut cfg);
    let (mut c, trace) = traced(cfg);
    let (host, port, dir, history) = (proxy.host(), proxy.port(), w.name.clone(), trace.clone());
    via().call(&mut c, move |c| {
        c.connect(&host, port, None, None).unwrap_or_else(|e| panic!("{srv:?}: connect: {e}"));
        c.login(env().get("FTPC_TEST_USER"), env().get("FTPC_TEST_PASS"), "")
            .unwrap_or_else(|e| panic!("{srv:?}: login: {e}; trace:\n{}", history.history().join("\n")));
        c.cwd(dir.as_bytes()).unwrap();
    });
    trace.take();
    (c, trace)
}

/// The control connection is in step: PWD names the working directory, NOOP gives 200.
fn assert_usable(c: &mut Client, w: &Workdir, t: &Trace) {
    let pwd = c.pwd().unwrap_or_else(|e| panic!("PWD after the fault: {e}; trace:\n{}", t.history().join("\n")));
    assert!(pwd.ends_with(w.name.as_bytes()), "PWD after the fault: {}", String::from_utf8_lossy(&pwd));
    assert_eq!(c.voidcmd(b"NOOP").expect("NOOP after the fault").code, 200);
}

/// The fault the test set up really fired (else the test would prove nothing).
fn assert_fired(proxy: &Proxy, n: usize) {
    assert!(proxy.wait_fired(n, Duration::from_secs(5)), "expected {n} faults to fire, got {:?}", proxy.fired());
}

/// `retrbinary` of a whole file: the result and the bytes received.
fn retr(c: &mut Client, name: &str) -> (ftpc::Result<ftpc::Reply>, Vec<u8>) {
    let cmd = format!("RETR {name}");
    via().call(c, move |c| {
        let mut got = Vec::new();
        let result = c.retrbinary(
            cmd.as_bytes(),
            &mut |b| {
                got.extend_from_slice(b);
                Flow::Continue(())
            },
            0,
            None,
        );
        (result, got)
    })
}

fn stor(c: &mut Client, name: &str, data: &[u8]) -> ftpc::Result<ftpc::Reply> {
    let cmd = format!("STOR {name}");
    let data = data.to_vec();
    via().call(c, move |c| c.storbinary(cmd.as_bytes(), &mut Cursor::new(data), 0, None, None))
}

fn is_reset(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::ConnectionReset)
}

/// Runs `f`, returning its result and how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

/// Polls `cond` until it holds (true) or `limit` passes (false).
fn wait_until(limit: Duration, cond: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !cond() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn assert_within(elapsed: Duration, low: Duration, high: Duration, what: &str) {
    assert!(elapsed >= low && elapsed <= high, "{what}: took {elapsed:?}, expected {low:?}..{high:?}");
}

// ---------------------------------------------------------------------------------------
// The proxy itself is transparent

/// Login, listing, download, upload through the proxy with no fault: everything works and
/// the bytes are the same (so that the faults below are what makes the other tests fail).
fn transparent_without_faults(srv: Srv) {
    let w = Workdir::new(srv, "clean");
    let data = random_bytes(1, 3 * MIB + 17);
    w.put("in.bin", &data);
    let proxy = srv.proxy().start();
    let (mut c, t) = open(srv, &proxy, &w, |_| {});
    let (result, got) = retr(&mut c, "in.bin");
    assert_eq!(result.unwrap().code, 226);
    assert_eq!(sha256(&got), sha256(&data));
    assert_eq!(stor(&mut c, "out.bin", &data).unwrap().code, 226);
    assert_eq!(sha256(&w.get("out.bin")), sha256(&data));
    let mut names: Vec<Vec<u8>> = c.nlst(None).unwrap().into_iter().filter(|n| !n.starts_with(b".")).collect();
    names.sort();
    assert_eq!(names, [b"in.bin".to_vec(), b"out.bin".to_vec()]);
    assert_usable(&mut c, &w, &t);
    assert!(proxy.data_connections() >= 3, "the data connections went through the proxy");
    c.quit().unwrap();
}
on_servers!(transparent_without_faults: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

/// Active mode through the proxy (EPRT rewritten), plain servers.
fn transparent_active_mode(srv: Srv) {
    let w = Workdir::new(srv, "active");
    let data = random_bytes(2, MIB + 3);
    w.put("in.bin", &data);
    let proxy = srv.proxy().start();
    let (mut c, t) = open(srv, &proxy, &w, |cfg| cfg.passive = false);
    let (result, got) = retr(&mut c, "in.bin");
    assert_eq!(result.unwrap().code, 226);
    assert_eq!(sha256(&got), sha256(&data));
    assert_eq!(proxy.data_connections(), 1);
    assert_usable(&mut c, &w, &t);
}
on_servers!(transparent_active_mode: Vsftpd, PureFtpd, ProFtpd, BsdFtpd);

// ---------------------------------------------------------------------------------------
// The greeting

/// Connects to the proxy with a fault in the greeting; the fault's result and duration.
fn greeting_fault(
    srv: Srv,
    action: Action,
    configure: impl FnOnce(&mut Config),
) -> (Proxy, Client, ftpc::Result<ftpc::Reply>, Duration) {
    // "220" then 10 bytes: in the middle of the (first line of the) greeting.
    let proxy = srv.proxy().fault(Fault::control(Dir::Down, When::InLine("220", 10), action)).start();
    let mut cfg = config(srv);
    configure(&mut cfg);
    let (mut c, _t) = traced(cfg);
    let (host, port) = (proxy.host(), proxy.port());
    let (result, took) = timed(|| via().call(&mut c, move |c| c.connect(&host, port, None, None)));
    assert_fired(&proxy, 1);
    (proxy, c, result, took)
}

/// After a broken greeting there is no connection; a new one (not faulted) works.
fn assert_reconnects(c: &mut Client, proxy: &Proxy) {
    assert!(!c.is_connected(), "the broken connection was dropped");
    assert_eq!(c.connect(&proxy.host(), proxy.port(), None, None).expect("connecting again").code, 220);
    c.close();
}

fn greeting_reset_is_connection_reset(srv: Srv) {
    let (proxy, mut c, result, took) = greeting_fault(srv, Action::Reset, |_| {});
    let e = result.unwrap_err();
    assert!(is_reset(&e), "{e:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_reconnects(&mut c, &proxy);
}
on_servers!(greeting_reset_is_connection_reset: Vsftpd, PureFtpd, ProFtpd, BsdFtpd);

fn greeting_eof_is_eof_in_the_middle_of_a_reply(srv: Srv) {
    let (proxy, mut c, result, took) = greeting_fault(srv, Action::Cut, |_| {});
    let e = result.unwrap_err();
    assert!(matches!(e, Error::Eof("in the middle of a reply")), "{e:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_reconnects(&mut c, &proxy);
}
on_servers!(greeting_eof_is_eof_in_the_middle_of_a_reply: Vsftpd, PureFtpd, ProFtpd, BsdFtpd);

fn greeting_stall_times_out(srv: Srv) {
    let (proxy, mut c, result, took) = greeting_fault(srv, Action::Stall, |cfg| cfg.timeout = SHORT);
    let e = result.unwrap_err();
    assert!(matches!(e, Error::Timeout("reading a reply")), "{e:?}");
    assert_within(took, SHORT, SHORT + Duration::from_secs(1), "greeting stall");
    assert_reconnects(&mut c, &proxy);
}
on_servers!(greeting_stall_times_out: Vsftpd, PureFtpd, ProFtpd, BsdFtpd);

// ---------------------------------------------------------------------------------------
// Multi-line replies and stalled replies on a logged-in control connection

/// Sends FEAT (a multi-line reply on every server) with `action` in the middle of the reply:
/// before its " EPSV" line, or 40 bytes into it under TLS (where lines cannot be seen).
type Features = ftpc::Result<Vec<(String, String)>>;

fn feat_fault(srv: Srv, action: Action) -> (Proxy, Client, Features, Duration) {
    let w = Workdir::new(srv, "feat");
    let proxy = srv.proxy().start();
    let (mut c, _t) = open(srv, &proxy, &w, |_| {});
    // Under TLS: 60 bytes, inside the record of the second line (both servers send a record
    // per line).
    let when = if srv.tls() { When::Bytes(60) } else { When::Line(" EPSV") };
    proxy.inject(Fault::control(Dir::Down, when, action));
    let (result, took) = timed(|| c.features());
    assert_fired(&proxy, 1);
    (proxy, c, result, took)
}

fn multiline_reply_reset_drops_the_connection(srv: Srv) {
    let (_proxy, c, result, took) = feat_fault(srv, Action::Reset);
    let e = result.unwrap_err();
    assert!(is_reset(&e), "{e:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(!c.is_connected(), "a control connection out of step is dropped");
}
on_servers!(multiline_reply_reset_drops_the_connection: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

fn multiline_reply_eof_is_eof_in_the_middle_of_a_reply(srv: Srv) {
    let (_proxy, c, result, took) = feat_fault(srv, Action::Cut);
    let e = result.unwrap_err();
    if srv == Srv::PureFtpdTls {
        // pure-ftpd sends the whole reply in one TLS record: cut inside it, no line of the
        // reply arrives.
        assert!(matches!(e, Error::Eof("while waiting for a reply")), "{e:?}");
    } else {
        assert!(matches!(e, Error::Eof("in the middle of a reply")), "{e:?}");
    }
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(!c.is_connected(), "a control connection out of step is dropped");
}
on_servers!(multiline_reply_eof_is_eof_in_the_middle_of_a_reply: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

/// HELP stalls after its first line: the rest of the multi-line reply never comes.
fn multiline_reply_stall_times_out(srv: Srv) {
    let w = Workdir::new(srv, "help");
    let proxy = srv.proxy().start();
    let (mut c, _t) = open(srv, &proxy, &w, |cfg| cfg.timeout = SHORT);
    let when = if srv.tls() { When::Bytes(40) } else { When::Line(" ") };
    proxy.inject(Fault::control(Dir::Down, when, Action::Stall));
    let (result, took) = timed(|| c.sendcmd(b"HELP"));
    assert_fired(&proxy, 1);
    let e = result.unwrap_err();
    assert!(matches!(e, Error::Timeout("reading a reply")), "{e:?}");
    assert_within(took, SHORT, SHORT + Duration::from_secs(1), "HELP stall");
    assert!(!c.is_connected());
}
on_servers!(multiline_reply_stall_times_out: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

/// The reply to PWD never comes (server to client stalled), then, on a second connection,
/// the command never reaches the server (client to server stalled): Timeout both times.
fn stalled_control_connection_times_out(srv: Srv) {
    let w = Workdir::new(srv, "stall");
    let proxy = srv.proxy().start();
    for (n, dir) in [(0, Dir::Down), (1, Dir::Up)] {
        let (mut c, _t) = open(srv, &proxy, &w, |cfg| cfg.timeout = SHORT);
        proxy.inject(Fault::new(support::proxy::Conn::Control(n), dir, When::Now, Action::Stall));
        let (result, took) = timed(|| c.pwd());
        assert_fired(&proxy, n + 1);
        let e = result.unwrap_err();
        assert!(matches!(e, Error::Timeout("reading a reply")), "{dir:?}: {e:?}");
        assert_within(took, SHORT, SHORT + Duration::from_secs(1), "stalled reply");
        assert!(!c.is_connected(), "{dir:?}: a connection that missed a reply is dropped");
    }
}
on_servers!(stalled_control_connection_times_out: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

/// A reply held back for half the timeout is only late: the command succeeds (the timeout
/// is per reply, not shorter than configured).
fn delayed_reply_below_the_timeout_succeeds(srv: Srv) {
    let w = Workdir::new(srv, "delay");
    let proxy = srv.proxy().start();
    let (mut c, t) = open(srv, &proxy, &w, |cfg| cfg.timeout = SHORT);
    proxy.inject(Fault::control(Dir::Down, When::Now, Action::Delay(SHORT / 2)));
    let (result, took) = timed(|| c.pwd());
    assert_fired(&proxy, 1);
    assert!(result.unwrap().ends_with(w.name.as_bytes()));
    assert!(took >= SHORT / 2, "the delay happened: {took:?}");
    assert_usable(&mut c, &w, &t);
}
on_servers!(delayed_reply_below_the_timeout_succeeds: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

// ---------------------------------------------------------------------------------------
// Downloads

const FILE: usize = 4 * MIB;
/// Where data faults fire: well inside the file.
const CUT_AT: u64 = 256 * KIB as u64;

/// A 4 MiB file in a fresh directory, and a proxy with `faults`.
fn with_file(srv: Srv, tag: &str, faults: Vec<Fault>) -> (Workdir, Vec<u8>, Proxy) {
    let w = Workdir::new(srv, tag);
    let data = random_bytes(0xFA17 + tag.len() as u64, FILE);
    w.put("in.bin", &data);
    let mut builder = srv.proxy();
    for f in faults {
        builder = builder.fault(f);
    }
    (w, data, builder.start())
}

/// A transfer whose data connection was reset: the server's failure reply (426, or 451 from
/// pure-ftpd) when the server noticed the reset, else (it had handed all its bytes to TCP
/// and said 226) the reset itself. Never success.
fn assert_reset_transfer_error(e: &Error) {
    let code = e.reply().map(|r| r.code);
    assert!(matches!(code, Some(426 | 451)) || is_reset(e), "expected the server's 426/451 or a reset, got {e:?}");
}

/// RST on the data connection 256 KiB into a download: the transfer fails (see
/// `assert_reset_transfer_error`; vsftpd says 426, pure-ftpd has handed the whole file to TCP
/// and says 226, so the reset is the error), and the control connection goes on.
fn retr_reset_mid_data_fails(srv: Srv) {
    let (w, data, proxy) =
        with_file(srv, "retr-rst", vec![Fault::data(0, Dir::Down, When::Bytes(CUT_AT), Action::Reset)]);
    let (mut c, t) = open(srv, &proxy, &w, |_| {});
    let ((result, got), took) = timed(|| retr(&mut c, "in.bin"));
    assert_fired(&proxy, 1);
    let e = result.unwrap_err();
    assert_reset_transfer_error(&e);
    assert!(got.len() < data.len() && data.starts_with(&got), "{} bytes, a prefix of the file", got.len());
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_usable(&mut c, &w, &t);
}
on_servers!(retr_reset_mid_data_fails: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

/// The data connection ends early with a FIN while the server, whose bytes are all taken,
/// answers 226.
fn retr_eof_mid_data_with_226(srv: Srv) {
    let (w, data, proxy) =
        with_file(srv, "retr-fin", vec![Fault::data(0, Dir::Down, When::Bytes(CUT_AT), Action::Cut)]);
    let (mut c, t) = open(srv, &proxy, &w, |_| {});
    let ((result, got), took) = timed(|| retr(&mut c, "in.bin"));
    assert_fired(&proxy, 1);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(got.len() < data.len() && data.starts_with(&got), "{} bytes, a prefix of the file", got.len());
    match srv {
        // vsftpd, ProFTPD and bsd-ftpd announce the size in their 150 reply: the short download
        // is caught.
        Srv::Vsftpd | Srv::VsftpdTls | Srv::ProFtpd | Srv::ProFtpdTls | Srv::BsdFtpd => {
            let e = result.unwrap_err();
            assert!(
                matches!(&e, Error::Truncated(m) if m.contains(&format!("received {} of the {FILE} bytes", got.len()))),
                "{e:?}"
            );
        }
        // No size announced, but under TLS the FIN came inside a record: truncated.
        Srv::PureFtpdTls => {
            let e = result.unwrap_err();
            assert!(matches!(&e, Error::Truncated(m) if m.contains("inside a record")), "{e:?}");
        }
        // pure-ftpd announces no size: in plain FTP a FIN is the end of the file, and the
        // server says 226. Only a size check by the caller (SIZE) tells.
        Srv::PureFtpd => {
            assert_eq!(result.unwrap().code, 226, "undetectable: a FIN ends the file in stream mode");
            assert_eq!(got.len() as u64, CUT_AT);
            assert_eq!(c.size(b"in.bin").unwrap(), Some(FILE as u64), "SIZE shows the truncation");
        }
    }
    assert_usable(&mut c, &w, &t);
}
on_servers!(retr_eof_mid_data_with_226: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

/// The data connection ends early and so does the control connection, before the final
/// reply: Eof, never success.
fn retr_eof_mid_data_and_control_cut(srv: Srv) {
    // Plain: the control connection is cut just before the final reply, which a fast server
    // (pure-ftpd) may send before the proxy has passed CUT_AT bytes of data on. TLS (the
    // proxy sees no lines): the control cut is armed when the data cut fires.
    let data_cut = Fault::data(0, Dir::Down, When::Bytes(CUT_AT), Action::Cut);
    let faults = if srv.tls() {
        vec![data_cut.then(Fault::control(Dir::Down, When::Now, Action::Cut))]
    } else {
        vec![data_cut, Fault::control(Dir::Down, When::Line("226"), Action::Cut)]
    };
    let (w, data, proxy) = with_file(srv, "retr-fin2", faults);
    let (mut c, _t) = open(srv, &proxy, &w, |_| {});
    let ((result, got), took) = timed(|| retr(&mut c, "in.bin"));
    assert_fired(&proxy, 2);
    let e = result.unwrap_err();
    assert!(matches!(e, Error::Eof("while waiting for a reply")), "{e:?}");
    assert!(got.len() < data.len());
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(!c.is_connected());
}
on_servers!(retr_eof_mid_data_and_control_cut: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

fn retr_stall_times_out(srv: Srv) {
    let (w, data, proxy) =
        with_file(srv, "retr-stall", vec![Fault::data(0, Dir::Down, When::Bytes(CUT_AT), Action::Stall)]);
    let (mut c, t) = open(srv, &proxy, &w, |cfg| cfg.data_timeout = Some(SHORT));
    let ((result, got), took) = timed(|| retr(&mut c, "in.bin"));
    assert_fired(&proxy, 1);
    let e = result.unwrap_err();
    assert!(matches!(e, Error::Timeout("receiving data")), "{e:?}");
    assert!(got.len() < data.len());
    if !srv.tls() {
        assert_eq!(got.len() as u64, CUT_AT);
    }
    // The stall is noticed within one data timeout of the last byte, and the final reply
    // (the server's 426 after our reset) follows at once.
    assert_within(took, SHORT, SHORT + Duration::from_secs(3), "download stall");
    assert_usable(&mut c, &w, &t);
}
on_servers!(retr_stall_times_out: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

/// retrieve_to_fd cut short: the bytes received are in the file, and in the error message
/// when the server announced the size.
fn truncated_download_to_fd_keeps_the_byte_count(srv: Srv) {
    let (w, _data, proxy) =
        with_file(srv, "retr-fd", vec![Fault::data(0, Dir::Down, When::Bytes(CUT_AT), Action::Cut)]);
    let (mut c, t) = open(srv, &proxy, &w, |_| {});
    let local = TempFile::new("fault-fd");
    let file = local.create();
    let fd = file.as_raw_fd();
    let result = via().call(&mut c, move |c| c.retrieve_to_fd(b"in.bin", fd, None, None));
    drop(file);
    assert_fired(&proxy, 1);
    let received = local.len();
    assert!(received < FILE as u64);
    match srv {
        Srv::Vsftpd | Srv::VsftpdTls | Srv::ProFtpd | Srv::ProFtpdTls | Srv::BsdFtpd => {
            let e = result.unwrap_err();
            assert!(
                matches!(&e, Error::Truncated(m) if m.contains(&format!("received {received} of the {FILE} bytes"))),
                "{e:?}"
            );
        }
        Srv::PureFtpdTls => {
            let e = result.unwrap_err();
            assert!(matches!(&e, Error::Truncated(m) if m.contains("inside a record")), "{e:?}");
        }
        Srv::PureFtpd => assert_eq!(result.unwrap(), received, "no size announced: the count is all there is"),
    }
    if !srv.tls() {
        assert_eq!(received, CUT_AT);
    }
    assert_eq!(c.last_transfer_bytes(), received, "the count is readable after the error");
    assert_usable(&mut c, &w, &t);
}
on_servers!(truncated_download_to_fd_keeps_the_byte_count: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

// ---------------------------------------------------------------------------------------
// Uploads

/// RST on the data connection 256 KiB into an upload: the server's 426 (vsftpd) or 451
/// (pure-ftpd); the control connection goes on.
fn stor_reset_mid_data_fails(srv: Srv) {
    let (w, data, proxy) =
        with_file(srv, "stor-rst", vec![Fault::data(0, Dir::Up, When::Bytes(CUT_AT), Action::Reset)]);
    let (mut c, t) = open(srv, &proxy, &w, |_| {});
    let (result, took) = timed(|| stor(&mut c, "out.bin", &data));
    assert_fired(&proxy, 1);
    let e = result.unwrap_err();
    assert_reset_transfer_error(&e);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(w.get("out.bin").len() < data.len());
    assert_usable(&mut c, &w, &t);
}
on_servers!(stor_reset_mid_data_fails: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

/// The server gets a FIN early; the client's bytes are all taken (and dropped).
fn stor_eof_mid_data(srv: Srv) {
    let (w, data, proxy) = with_file(srv, "stor-fin", vec![Fault::data(0, Dir::Up, When::Bytes(CUT_AT), Action::Cut)]);
    let (mut c, t) = open(srv, &proxy, &w, |_| {});
    let (result, took) = timed(|| stor(&mut c, "out.bin", &data));
    assert_fired(&proxy, 1);
    assert!(took < Duration::from_secs(5), "{took:?}");
    let stored = w.get("out.bin");
    assert!(stored.len() < data.len() && data.starts_with(&stored));
    if srv == Srv::VsftpdTls {
        // No close_notify before the FIN: vsftpd fails the upload.
        let e = result.unwrap_err();
        assert!(e.reply().is_some_and(|r| r.code == 426), "{e:?}");
    } else if srv == Srv::PureFtpdTls || srv == Srv::ProFtpdTls {
        // pure-ftpd and ProFTPD keep the part (up to the last whole record) and say 226 even
        // under TLS, where the FIN came inside a record: the server does not check. ftpc
        // cannot know; SIZE tells.
        assert_eq!(result.unwrap().code, 226);
        assert_eq!(c.size(b"out.bin").unwrap(), Some(stored.len() as u64));
    } else {
        // Plain FTP: a FIN is the end of the file; the server stores the part and says 226.
        // Undetectable by the client; a SIZE after the upload tells.
        assert_eq!(result.unwrap().code, 226);
        assert_eq!(stored.len() as u64, CUT_AT);
        assert_eq!(c.size(b"out.bin").unwrap(), Some(CUT_AT));
    }
    assert_usable(&mut c, &w, &t);
}
on_servers!(stor_eof_mid_data: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

/// The server stops reading: the client's writes block, then time out.
fn stor_stall_times_out(srv: Srv) {
    let (w, _data, proxy) =
        with_file(srv, "stor-stall", vec![Fault::data(0, Dir::Up, When::Bytes(CUT_AT), Action::Stall)]);
    let (mut c, t) = open(srv, &proxy, &w, |cfg| cfg.data_timeout = Some(SHORT));
    // More than the socket buffers on both sides of the proxy can take.
    let mut endless = std::io::repeat(0x5a).take(256 * MIB as u64);
    let (result, took) =
        timed(|| via().call(&mut c, move |c| c.storbinary(b"STOR out.bin", &mut endless, 0, None, None)));
    assert_fired(&proxy, 1);
    let e = result.unwrap_err();
    assert!(matches!(e, Error::Timeout("sending data")), "{e:?}");
    assert_within(took, SHORT, SHORT + Duration::from_secs(3), "upload stall");
    assert_usable(&mut c, &w, &t);
}
on_servers!(stor_stall_times_out: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

// ---------------------------------------------------------------------------------------
// Listings

/// 400 files with long names: a listing of about 50-100 KB.
fn with_many_files(srv: Srv, tag: &str, faults: Vec<Fault>) -> (Workdir, Proxy) {
    let w = Workdir::new(srv, tag);
    for i in 0..400 {
        w.put(&format!("{i:04}-{}", "n".repeat(100)), b"x");
    }
    let mut builder = srv.proxy();
    for f in faults {
        builder = builder.fault(f);
    }
    (w, builder.start())
}

/// LIST on vsftpd and bsd-ftpd, MLSD on pure-ftpd and ProFTPD: the entries received and the
/// result.
fn listing(srv: Srv, c: &mut Client) -> (ftpc::Result<()>, usize) {
    via().call(c, move |c| listing_blocking(srv, c))
}

fn listing_blocking(srv: Srv, c: &mut Client) -> (ftpc::Result<()>, usize) {
    match srv {
        Srv::PureFtpd | Srv::PureFtpdTls | Srv::ProFtpd | Srv::ProFtpdTls => match c.mlsd(None, &[]) {
            Ok(entries) => (Ok(()), entries.len()),
            Err(e) => (Err(e), 0),
        },
        _ => {
            let mut lines = 0;
            let result = c.dir(None, &mut |_| {
                lines += 1;
                Flow::Continue(())
            });
            (result.map(drop), lines)
        }
    }
}

const LISTING_CUT: u64 = 8 * KIB as u64;

/// RST 8 KiB into a listing: the server's 426 or the reset; the control connection goes on.
fn listing_reset_mid_listing_fails(srv: Srv) {
    let (w, proxy) =
        with_many_files(srv, "list-rst", vec![Fault::data(0, Dir::Down, When::Bytes(LISTING_CUT), Action::Reset)]);
    let (mut c, t) = open(srv, &proxy, &w, |_| {});
    let ((result, _), took) = timed(|| listing(srv, &mut c));
    assert_fired(&proxy, 1);
    let e = result.unwrap_err();
    assert_reset_transfer_error(&e);
    assert!(took < Duration::from_secs(5), "{took:?}");
    if srv == Srv::BsdFtpd {
        // bsd-ftpd (LIST through /bin/ls) answers 426 and then, depending on a race with its
        // ls child (SIGPIPE), goes on or ends the session. When it ended it, the next command
        // meets the closed connection (never a wrong reply), and a new connection works.
        match c.pwd() {
            Ok(pwd) => assert!(pwd.ends_with(w.name.as_bytes())),
            Err(next) => {
                assert!(matches!(next, Error::Eof(_)), "{next:?}; trace:\n{}", t.history().join("\n"));
                assert!(!c.is_connected());
                let (mut again, t2) = open(srv, &proxy, &w, |_| {});
                assert_usable(&mut again, &w, &t2);
                return;
            }
        }
    }
    assert_usable(&mut c, &w, &t);
}
on_servers!(listing_reset_mid_listing_fails: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

fn listing_eof_mid_listing(srv: Srv) {
    let (w, proxy) =
        with_many_files(srv, "list-fin", vec![Fault::data(0, Dir::Down, When::Bytes(LISTING_CUT), Action::Cut)]);
    let (mut c, t) = open(srv, &proxy, &w, |_| {});
    let ((result, entries), took) = timed(|| listing(srv, &mut c));
    assert_fired(&proxy, 1);
    assert!(took < Duration::from_secs(5), "{took:?}");
    match (srv, result) {
        // TLS: the FIN came inside a record, which proves the cut whatever the server says.
        (Srv::VsftpdTls | Srv::PureFtpdTls | Srv::ProFtpdTls, Err(Error::Truncated(m))) => {
            assert!(m.contains("inside a record"), "{m}")
        }
        // Plain FTP: a listing has no announced size; a FIN ends it and the server says 226.
        // The part received is returned (undetectable in stream mode)...
        (Srv::Vsftpd | Srv::BsdFtpd, Ok(())) => {
            assert!(entries > 0 && entries < 400, "{entries} entries: a part of the listing")
        }
        // ...unless, as here for MLSD, the cut left a malformed last line.
        (Srv::PureFtpd | Srv::ProFtpd, Err(Error::Proto(m))) => assert!(m.contains("malformed MLSD line"), "{m}"),
        (Srv::PureFtpd | Srv::ProFtpd, Ok(())) => assert!(entries < 400),
        (_, other) => panic!("{other:?}"),
    }
    assert_usable(&mut c, &w, &t);
}
on_servers!(listing_eof_mid_listing: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

// ---------------------------------------------------------------------------------------
// TLS handshakes and shutdowns (vsftpd-tls)

/// Connects (the greeting is clear text), then logs in with `when`/`action` on the server's
/// side of the control connection: AUTH TLS, the handshake, USER...
fn control_tls_fault(
    srv: Srv,
    when: When,
    action: Action,
    configure: impl FnOnce(&mut Config),
) -> (Client, ftpc::Result<ftpc::Reply>, Duration) {
    let proxy = srv.proxy().fault(Fault::control(Dir::Down, when, action)).start();
    let mut cfg = config(srv);
    configure(&mut cfg);
    let (mut c, _t) = traced(cfg);
    c.connect(&proxy.host(), proxy.port(), None, None).unwrap();
    let (result, took) =
        timed(|| via().call(&mut c, |c| c.login(env().get("FTPC_TEST_USER"), env().get("FTPC_TEST_PASS"), "")));
    assert_fired(&proxy, 1);
    (c, result, took)
}

fn tls_control_handshake_reset_is_tls_error(srv: Srv) {
    // Right after the 234 reply: the server's first handshake flight is replaced by a RST.
    let (c, result, took) = control_tls_fault(srv, When::AfterLine("234", 0), Action::Reset, |_| {});
    let e = result.unwrap_err();
    assert!(matches!(&e, Error::Tls(m) if m.contains("control connection")), "{srv:?}: {e:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(!c.is_connected(), "a connection without its TLS is dropped");
}
on_servers!(tls_control_handshake_reset_is_tls_error: VsftpdTls, PureFtpdTls, ProFtpdTls);

fn tls_control_handshake_eof_is_tls_error(srv: Srv) {
    // 100 bytes into the server's handshake messages, then a FIN.
    let (c, result, took) = control_tls_fault(srv, When::AfterLine("234", 100), Action::Cut, |_| {});
    let e = result.unwrap_err();
    assert!(matches!(&e, Error::Tls(m) if m.contains("control connection")), "{srv:?}: {e:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(!c.is_connected());
}
on_servers!(tls_control_handshake_eof_is_tls_error: VsftpdTls, PureFtpdTls, ProFtpdTls);

fn tls_control_handshake_stall_times_out(srv: Srv) {
    let (c, result, took) =
        control_tls_fault(srv, When::AfterLine("234", 100), Action::Stall, |cfg| cfg.timeout = SHORT);
    let e = result.unwrap_err();
    assert!(matches!(e, Error::Timeout("during the TLS handshake")), "{srv:?}: {e:?}");
    assert_within(took, SHORT, SHORT + Duration::from_secs(1), "control handshake stall");
    assert!(!c.is_connected());
}
on_servers!(tls_control_handshake_stall_times_out: VsftpdTls, PureFtpdTls, ProFtpdTls);

/// A download whose data connection's TLS handshake meets `action` `at` bytes into one side's
/// handshake messages: the transfer fails; ftpc sends ABOR and reads what follows. Then the
/// control connection is in step and a whole download and upload work (on the same
/// connection where the server kept the session, on a new one where it ended it).
fn data_tls_handshake_fault(
    srv: Srv,
    tag: &str,
    dir: Dir,
    at: u64,
    action: Action,
    configure: impl FnOnce(&mut Config),
) -> (Error, Duration) {
    let (w, data, proxy) = with_file(srv, tag, vec![Fault::data(0, dir, When::Bytes(at), action)]);
    let (mut c, t) = open(srv, &proxy, &w, configure);
    let ((result, got), took) = timed(|| retr(&mut c, "in.bin"));
    assert_fired(&proxy, 1);
    assert!(got.is_empty());
    if srv == Srv::ProFtpdTls {
        // ProFTPD fails the transfer ("425 Unable to build data connection") and keeps the
        // session: the connection is in step, and its TLS session survived the failed data
        // connection (ProFTPD refuses data connections that do not resume it).
        assert_usable(&mut c, &w, &t);
        assert_next_transfers_whole(srv, &mut c, &w, &t, &data);
        return (result.unwrap_err(), took);
    }
    // vsftpd and pure-ftpd end the session when a data connection's handshake fails: vsftpd
    // writes "500 OOPS: ..." in clear text on the TLS control connection and closes it,
    // pure-ftpd closes it. ftpc meets that while reading the answer to its ABOR and drops the
    // connection; a new one works.
    assert!(!c.is_connected(), "the server ended the session; trace:\n{}", t.history().join("\n"));
    let control_ended = || proxy.log().iter().any(|l| l.starts_with("Control(0)") && !l.ends_with("open"));
    assert!(
        wait_until(Duration::from_secs(3), control_ended),
        "the server closed the control connection: {:?}",
        proxy.log()
    );
    let (mut again, t2) = open(srv, &proxy, &w, |_| {});
    assert_usable(&mut again, &w, &t2);
    assert_next_transfers_whole(srv, &mut again, &w, &t2, &data);
    (result.unwrap_err(), took)
}

/// After a failed data connection: a whole download of in.bin (`data`) and a whole upload
/// (checked on the server's disk); on vsftpd-tls and ProFTPD, which refuse a data connection
/// that does not resume the control connection's TLS session, each data connection resumed
/// it (pure-ftpd does not resume sessions: its handshakes are only counted).
fn assert_next_transfers_whole(srv: Srv, c: &mut Client, w: &Workdir, t: &Trace, data: &[u8]) {
    t.take();
    let (result, got) = retr(c, "in.bin");
    let reply = result.unwrap_or_else(|e| panic!("{srv:?}: the download after the fault: {e}"));
    assert_eq!(reply.code, 226, "{srv:?}: {reply}");
    assert_eq!(sha256(&got), sha256(data), "{srv:?}: the download after the fault");
    let reply = stor(c, "next.bin", data).unwrap_or_else(|e| panic!("{srv:?}: the upload after the fault: {e}"));
    assert_eq!(reply.code, 226, "{srv:?}: {reply}");
    assert_eq!(sha256(&w.get("next.bin")), sha256(data), "{srv:?}: the upload after the fault");
    let handshakes: Vec<String> = t.take().into_iter().filter(|l| l.starts_with("*tls* data connection:")).collect();
    assert_eq!(handshakes.len(), 2, "{srv:?}: {handshakes:#?}");
    if matches!(srv, Srv::VsftpdTls | Srv::ProFtpdTls) {
        for h in &handshakes {
            assert!(h.ends_with(", session resumed"), "{srv:?}: {h}");
        }
    }
}

fn tls_data_handshake_reset_is_tls_error(srv: Srv) {
    // 100 bytes into the ClientHello (a reset before any byte could come before ftpc's
    // connect returned, and fail the connect instead).
    let (e, took) = data_tls_handshake_fault(srv, "dhs-rst", Dir::Up, 100, Action::Reset, |_| {});
    assert!(matches!(&e, Error::Tls(m) if m.contains("data connection")), "{srv:?}: {e:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}
on_servers!(tls_data_handshake_reset_is_tls_error: VsftpdTls, PureFtpdTls, ProFtpdTls);

fn tls_data_handshake_eof_is_tls_error(srv: Srv) {
    // 60 bytes into the server's ServerHello.
    let (e, took) = data_tls_handshake_fault(srv, "dhs-fin", Dir::Down, 60, Action::Cut, |_| {});
    assert!(matches!(&e, Error::Tls(m) if m.contains("data connection")), "{srv:?}: {e:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}
on_servers!(tls_data_handshake_eof_is_tls_error: VsftpdTls, PureFtpdTls, ProFtpdTls);

fn tls_data_handshake_stall_times_out(srv: Srv) {
    let (e, took) =
        data_tls_handshake_fault(srv, "dhs-stall", Dir::Down, 0, Action::Stall, |cfg| cfg.data_timeout = Some(SHORT));
    assert!(matches!(e, Error::Timeout("during the TLS handshake")), "{srv:?}: {e:?}");
    assert_within(took, SHORT, SHORT + Duration::from_secs(3), "data handshake stall");
}
on_servers!(tls_data_handshake_stall_times_out: VsftpdTls, PureFtpdTls, ProFtpdTls);

/// The server's close_notify at the end of a download never arrives.
struct Outcome {
    result: ftpc::Result<ftpc::Reply>,
    got: Vec<u8>,
    data: Vec<u8>,
    c: Client,
    w: Workdir,
    t: Trace,
    _proxy: Proxy,
}

fn close_notify_fault(srv: Srv, tag: &str, action: Action) -> Outcome {
    let after = FILE as u64 / 2;
    let (w, data, proxy) = with_file(srv, tag, vec![Fault::data(0, Dir::Down, When::LastTlsRecord { after }, action)]);
    let (mut c, t) = open(srv, &proxy, &w, |_| {});
    let (result, got) = retr(&mut c, "in.bin");
    assert_fired(&proxy, 1);
    let fired = proxy.fired();
    assert!(fired[0].at > FILE as u64, "the fault came after the data: {fired:?}");
    Outcome { result, got, data, c, w, t, _proxy: proxy }
}

/// A FIN instead of close_notify after all the announced bytes: the download is complete and
/// the server says 226, so it counts (servers that never send close_notify stay usable).
fn tls_download_without_close_notify_but_complete_succeeds(srv: Srv) {
    let Outcome { result, got, data, mut c, w, t, _proxy } = close_notify_fault(srv, "cn-fin", Action::Cut);
    assert_eq!(result.unwrap().code, 226, "{srv:?}");
    assert_eq!(sha256(&got), sha256(&data));
    assert_usable(&mut c, &w, &t);
}
on_servers!(tls_download_without_close_notify_but_complete_succeeds: VsftpdTls, PureFtpdTls, ProFtpdTls);

/// A RST instead of close_notify: the read fails, which is an error even though every byte
/// came and the server says 226.
fn tls_download_reset_instead_of_close_notify_fails(srv: Srv) {
    let Outcome { result, got, data, mut c, w, t, _proxy } = close_notify_fault(srv, "cn-rst", Action::Reset);
    let e = result.unwrap_err();
    assert!(is_reset(&e), "{srv:?}: {e:?}");
    assert_eq!(got.len(), data.len());
    assert_usable(&mut c, &w, &t);
}
on_servers!(tls_download_reset_instead_of_close_notify_fails: VsftpdTls, PureFtpdTls, ProFtpdTls);

/// A FIN between two TLS records in the middle of a download (a truncation attack, or a
/// middlebox closing the connection): no record is broken, only close_notify is missing.
/// On the first data connection of a session ftpc tolerates a missing close_notify when the
/// server says 226 (servers that never send it), so only the size announced in the 150
/// reply catches the cut: vsftpd announces it, pure-ftpd does not, and there the short
/// download counts as a success. Once the server has ended a data connection with
/// close_notify, a later one that ends without it is `Truncated` on both.
fn tls_download_cut_between_records_is_caught_only_by_the_announced_size(srv: Srv) {
    let at = When::TlsRecordEnd { after: CUT_AT };
    let faults = vec![Fault::data(0, Dir::Down, at.clone(), Action::Cut), Fault::data(2, Dir::Down, at, Action::Cut)];
    let (w, data, proxy) = with_file(srv, "rec-fin", faults);
    let (mut c, t) = open(srv, &proxy, &w, |_| {});
    let (result, got) = retr(&mut c, "in.bin");
    assert_fired(&proxy, 1);
    assert!(got.len() < data.len() && data.starts_with(&got));
    match srv {
        Srv::VsftpdTls | Srv::ProFtpdTls => {
            let e = result.unwrap_err();
            assert!(
                matches!(&e, Error::Truncated(m) if m.contains(&format!("received {} of the {FILE} bytes", got.len()))),
                "{e:?}"
            );
        }
        _ => {
            // The false success this test documents: see the function's comment.
            assert_eq!(result.unwrap().code, 226, "pure-ftpd: a cut between records passes as the end");
            assert_eq!(c.size(b"in.bin").unwrap(), Some(FILE as u64), "SIZE shows the truncation");
        }
    }
    // A whole download, ended by the server's close_notify, then the same cut again.
    let (whole, all) = retr(&mut c, "in.bin");
    assert_eq!(whole.unwrap().code, 226);
    assert_eq!(sha256(&all), sha256(&data));
    let (again, part) = retr(&mut c, "in.bin");
    assert_fired(&proxy, 2);
    assert!(part.len() < data.len() && data.starts_with(&part));
    assert!(matches!(&again, Err(Error::Truncated(_))), "{again:?}");
    assert_eq!(c.last_transfer_bytes(), part.len() as u64);
    assert_usable(&mut c, &w, &t);
}
on_servers!(tls_download_cut_between_records_is_caught_only_by_the_announced_size: VsftpdTls, PureFtpdTls, ProFtpdTls);

/// The client's close_notify at the end of an upload never reaches the server (a FIN does),
/// though every byte did: the server decides.
fn tls_upload_without_close_notify(srv: Srv) {
    let after = FILE as u64 / 2;
    let (w, data, proxy) =
        with_file(srv, "cn-up", vec![Fault::data(0, Dir::Up, When::LastTlsRecord { after }, Action::Cut)]);
    let (mut c, t) = open(srv, &proxy, &w, |_| {});
    let (result, took) = timed(|| stor(&mut c, "out.bin", &data));
    assert_fired(&proxy, 1);
    assert!(proxy.fired()[0].at > FILE as u64, "the fault came after the data: {:?}", proxy.fired());
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(sha256(&w.get("out.bin")), sha256(&data), "every byte reached the server's disk");
    match srv {
        // vsftpd wants the client's close_notify: 426, reported as a failure.
        Srv::VsftpdTls => assert!(matches!(&result, Err(Error::Temp(r)) if r.code == 426), "{result:?}"),
        // pure-ftpd does not look for it: 226.
        _ => assert_eq!(result.unwrap().code, 226),
    }
    assert_usable(&mut c, &w, &t);
}
on_servers!(tls_upload_without_close_notify: VsftpdTls, PureFtpdTls, ProFtpdTls);

// ---------------------------------------------------------------------------------------
// Active mode

/// Active mode with the proxy doing `active` to the server's data connection; the client
/// waits for a connection that never comes.
fn active_fault(
    srv: Srv,
    tag: &str,
    active: Active,
) -> (ftpc::Result<ftpc::Reply>, Duration, Client, Workdir, Trace, Proxy) {
    let w = Workdir::new(srv, tag);
    // More than the socket buffers take, so that a server writing into a black hole blocks.
    w.put("in.bin", &vec![0x42; 16 * MIB]);
    let proxy = srv.proxy().active(active).start();
    let (mut c, t) = open(srv, &proxy, &w, |cfg| {
        cfg.passive = false;
        cfg.data_accept_timeout = Some(SHORT);
        cfg.timeout = SHORT;
    });
    let ((result, got), took) = timed(|| retr(&mut c, "in.bin"));
    assert!(got.is_empty());
    assert_eq!(proxy.data_connections(), 1, "the server did connect, to the proxy");
    (result, took, c, w, t, proxy)
}

/// The server's data connection is reset by the proxy: the server fails the transfer at
/// once; the client times out waiting, sends ABOR, and the session goes on.
fn active_connection_dropped_times_out_and_recovers(srv: Srv) {
    let (result, took, mut c, w, t, _proxy) = active_fault(srv, "act-drop", Active::Drop);
    let e = result.unwrap_err();
    assert!(matches!(e, Error::Timeout("waiting for the server's data connection")), "{e:?}");
    assert_within(took, SHORT, SHORT + Duration::from_secs(2), "accept timeout");
    assert_usable(&mut c, &w, &t);
}
on_servers!(active_connection_dropped_times_out_and_recovers: Vsftpd, PureFtpd, ProFtpd, BsdFtpd);

/// The server's data connection goes into a black hole: the server blocks writing and does
/// not answer ABOR, so after the accept timeout the client gives the answer to ABOR a short
/// grace (0.5 s), then drops the control connection (bounded: the timeout + 1 s).
/// bsd-ftpd is the exception: its SIGURG handler takes the ABOR while it is blocked writing,
/// so it answers at once and the session goes on.
fn active_connection_black_holed_times_out_and_drops_the_session(srv: Srv) {
    let (result, took, mut c, w, t, _proxy) = active_fault(srv, "act-hold", Active::Hold);
    let e = result.unwrap_err();
    assert!(matches!(e, Error::Timeout("waiting for the server's data connection")), "{e:?}");
    if srv == Srv::BsdFtpd {
        assert_within(took, SHORT, SHORT + Duration::from_secs(2), "accept timeout, ABOR answered at once");
        assert_usable(&mut c, &w, &t);
        return;
    }
    assert_within(took, SHORT, SHORT + Duration::from_secs(1), "accept timeout + the grace for ABOR's answer");
    assert!(!c.is_connected(), "a server that does not answer ABOR leaves the session out of step");
}
on_servers!(active_connection_black_holed_times_out_and_drops_the_session: Vsftpd, PureFtpd, ProFtpd, BsdFtpd);

fn active_server_cannot_connect_is_425(srv: Srv) {
    let (w, _data, _) = with_file(srv, "act-dead", vec![]);
    let proxy = srv.proxy().active(Active::DeadPort).start();
    let (mut c, t) = open(srv, &proxy, &w, |cfg| cfg.passive = false);
    let ((result, _), took) = timed(|| retr(&mut c, "in.bin"));
    let e = result.unwrap_err();
    assert!(matches!(&e, Error::Temp(r) if r.code == 425), "{e:?}");
    assert!(took < Duration::from_secs(3), "no wait for a connection that cannot come: {took:?}");
    assert_usable(&mut c, &w, &t);
}
on_servers!(active_server_cannot_connect_is_425: Vsftpd, PureFtpd, ProFtpd, BsdFtpd);

// ---------------------------------------------------------------------------------------
// Issue 12: every stall point, with the general timeout alone and with a cancel request
//
// The tests above set overrides (data_timeout, data_accept_timeout) or patient timeouts
// around the one they wait for. Here the client has `Config::timeout` and nothing else
// (ftplib's `timeout`): each stall point must end in its error within that timeout plus
// 1 s, counted from where the server falls silent, cleanup included; and a cancel request
// from another thread (`Client::canceller`, C `ftp_cancel`) must end the same wait within
// 100 ms of the request, with a timeout long enough that only the request can end it.
//
// Rows the proxy cannot make, and why:
// - "data connect" on bsd-ftpd: its passive ports come from the kernel's ephemeral range,
//   which the proxy cannot mirror, so its clients use active mode (see `Srv::BsdFtpd`);
//   there is no connect of the client's to stall.
// - "accept in active mode" under TLS: the proxy rewrites EPRT/PORT to put itself in the
//   path of the server's connection, and cannot read them inside TLS.
// - "TLS handshake" and "TLS shutdown" on the plain servers: there is no TLS.

/// The timeout of the timeout rows: `Config::timeout` alone.
const GENERAL: Duration = SHORT;
/// What a call may take beyond its timeout (issue 12: on loopback, cleanup included).
const SLACK: Duration = Duration::from_secs(1);
/// How soon after a cancel request the call must return (issue 12).
const CANCEL_BOUND: Duration = Duration::from_millis(100);
/// A cancel request is made this long after its wait began.
const CANCEL_AFTER: Duration = Duration::from_millis(200);
/// The deadline of a data wait starts at the last byte moved, a little before the callback
/// that marks it here sees the block; and a reply wait starts after the command went out.
const EARLY: Duration = Duration::from_millis(100);

/// Where the server (or the network) falls silent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stall {
    /// The greeting stops 10 bytes in.
    Greeting,
    /// The reply to PWD never comes.
    Reply,
    /// Passive mode: the data connection's connect hangs (`Passive::BlackHole`: SYNs dropped).
    DataConnect,
    /// Active mode: the server's data connection never reaches the client (the proxy resets
    /// it, so the server fails the transfer and answers ABOR at once).
    Accept,
    /// The server's TLS handshake on the control connection stops 100 bytes in.
    ControlHandshake,
    /// The server's TLS handshake on the data connection never comes.
    DataHandshake,
    /// RETR: 150, the data connection opens (under TLS its handshake completes), and no
    /// byte of the file comes.
    RetrAtStart,
    /// RETR: 256 KiB, then nothing.
    RetrMidway,
    /// STOR: the server stops reading 256 KiB in.
    StorNeverReads,
    /// STOR under TLS: the file and the client's close_notify sent; the server then stays
    /// silent on both connections (no close_notify of its own, no final reply).
    TlsShutdown,
    /// RETR stopped by its callback at the first block: the ABOR is never answered.
    AborUnanswered,
    /// Active mode: the server's data connection goes into a black hole, so the client
    /// waits for it in vain, and the server, blocked writing into the hole, does not
    /// answer the ABOR that follows either (bsd-ftpd does: its SIGURG handler takes it).
    AcceptThenAborUnanswered,
}

/// The stall points of a server, in the order they are run.
fn stall_points(srv: Srv) -> Vec<Stall> {
    use Stall::*;
    let mut rows = vec![Greeting, Reply];
    if srv != Srv::BsdFtpd {
        rows.push(DataConnect);
    }
    if srv.tls() {
        rows.extend([ControlHandshake, DataHandshake]);
    } else {
        rows.push(Accept);
    }
    rows.extend([RetrAtStart, RetrMidway, StorNeverReads]);
    if srv.tls() {
        rows.push(TlsShutdown);
    }
    rows.push(AborUnanswered);
    if !srv.tls() {
        rows.push(AcceptThenAborUnanswered);
    }
    rows
}

/// What one row measured.
struct Row {
    srv: Srv,
    stall: Stall,
    cancel: bool,
    result: ftpc::Result<()>,
    /// From the start of the silence (timeout rows) or from the request (cancel rows) to
    /// the return; `None` when a cancel row's request was never made.
    took: Option<Duration>,
    /// What else went wrong (a fault that did not fire, bytes that should not have come).
    problems: Vec<String>,
    trace: Vec<String>,
    proxy_log: Vec<String>,
}

impl Row {
    /// Checks the row against the bound; the failure, if any, in one paragraph.
    fn verdict(&self) -> Result<String, String> {
        let mode = if self.cancel { "cancel" } else { "timeout" };
        let mut wrong = self.problems.clone();
        let code_ok = match (&self.result, self.cancel) {
            (Err(Error::Timeout(_)), false) => true,
            // Both are FTP_ERR_STOPPED in C.
            (Err(Error::Cancelled(_) | Error::Stopped), true) => true,
            _ => false,
        };
        if !code_ok {
            wrong.push(format!("wrong result {:?}", self.result));
        }
        match (self.took, self.cancel) {
            (None, _) => wrong.push("no cancel request was made (its trigger never came)".into()),
            (Some(took), true) if took > CANCEL_BOUND => {
                wrong.push(format!("returned {took:?} after the cancel request (bound {CANCEL_BOUND:?})"))
            }
            (Some(took), false) if took + EARLY < GENERAL || took > GENERAL + SLACK => {
                wrong.push(format!("took {took:?} from the silence (bound {GENERAL:?}..{:?})", GENERAL + SLACK))
            }
            _ => {}
        }
        let line =
            format!("{:?} {:?} {mode} ({:?}): {:?} after {:?}", self.srv, self.stall, via(), self.result, self.took);
        if wrong.is_empty() {
            Ok(line)
        } else {
            Err(format!(
                "{line}: {}\n  trace (last lines): {}\n  proxy: {}",
                wrong.join("; "),
                self.trace.join(" | "),
                self.proxy_log.join(" | ")
            ))
        }
    }
}

/// What the cancel thread waits for before it makes its request.
enum Trigger {
    /// This many faults fired.
    Fired(usize),
    /// The server made this many data connections (to the proxy).
    DataConnections(usize),
    /// This long after the call started.
    Started(Duration),
}

/// Runs one stall point: with the general timeout alone (`cancel` false), or with a patient
/// timeout and a cancel request from another thread once the wait has begun.
fn run_stall(srv: Srv, stall: Stall, cancel: bool) -> Row {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use support::proxy::Passive;
    use Stall::*;

    let timeout = if cancel { PATIENT } else { GENERAL };
    let w = Workdir::new(srv, "stall");
    let size = if stall == AcceptThenAborUnanswered { 16 * MIB } else { FILE };
    if !matches!(stall, Greeting | Reply | ControlHandshake) {
        w.put("in.bin", &random_bytes(0x57A1, size));
    }
    let mut builder = srv.proxy();
    let mut passive = config(srv).passive;
    let data_stall = |dir, when| Fault::data(0, dir, when, Action::Stall);
    match stall {
        Greeting => builder = builder.fault(Fault::control(Dir::Down, When::InLine("220", 10), Action::Stall)),
        Reply | AborUnanswered => {} // injected below
        DataConnect => builder = builder.passive(Passive::BlackHole),
        Accept => {
            builder = builder.active(Active::Drop);
            passive = false;
        }
        AcceptThenAborUnanswered => {
            builder = builder.active(Active::Hold);
            passive = false;
        }
        ControlHandshake => {
            builder = builder.fault(Fault::control(Dir::Down, When::AfterLine("234", 100), Action::Stall))
        }
        DataHandshake => builder = builder.fault(data_stall(Dir::Down, When::Bytes(0))),
        RetrAtStart => {
            // Under TLS: before the first record of the file's data (16 KiB records; the
            // handshake's are far shorter).
            let when = if srv.tls() { When::TlsRecordAtLeast { len: 4 * KIB } } else { When::Now };
            builder = builder.fault(data_stall(Dir::Down, when));
        }
        RetrMidway => builder = builder.fault(data_stall(Dir::Down, When::Bytes(CUT_AT))),
        StorNeverReads => builder = builder.fault(data_stall(Dir::Up, When::Bytes(CUT_AT))),
        TlsShutdown => {
            let after = FILE as u64 / 2;
            builder = builder.fault(data_stall(Dir::Up, When::LastTlsRecord { after }).then(Fault::control(
                Dir::Down,
                When::Now,
                Action::Stall,
            )));
        }
    }
    let proxy = Arc::new(builder.start());
    let general_only = |cfg: &mut Config| {
        cfg.timeout = timeout;
        cfg.connect_timeout = None;
        cfg.data_connect_timeout = None;
        cfg.data_accept_timeout = None;
        cfg.data_timeout = None;
        cfg.passive = passive;
    };
    let (mut c, trace) = match stall {
        Greeting | ControlHandshake => {
            let mut cfg = config(srv);
            general_only(&mut cfg);
            let (mut c, trace) = traced(cfg);
            if stall == ControlHandshake {
                let (host, port) = (proxy.host(), proxy.port());
                via().call(&mut c, move |c| {
                    c.connect(&host, port, None, None).unwrap_or_else(|e| panic!("{srv:?}: connect: {e}"))
                });
            }
            (c, trace)
        }
        _ => open(srv, &proxy, &w, general_only),
    };

    // When the silence starts, where the call start is not it: the last block moved, or
    // the callback's stop; and the bytes the call received.
    let mark: Arc<Mutex<Option<Instant>>> = Arc::default();
    let received = Arc::new(AtomicUsize::new(0));
    let mut problems = Vec::new();
    // The faults the row fires, and what the cancel thread waits for.
    let (faults, trigger) = match stall {
        Greeting | Reply | ControlHandshake | DataHandshake | RetrAtStart | RetrMidway | StorNeverReads
        | AborUnanswered => (1, Trigger::Fired(1)),
        TlsShutdown => (2, Trigger::Fired(2)),
        DataConnect => (0, Trigger::Started(CANCEL_AFTER)),
        Accept | AcceptThenAborUnanswered => (0, Trigger::DataConnections(1)),
    };
    if stall == Reply {
        proxy.inject(Fault::control(Dir::Down, When::Now, Action::Stall));
    }

    let flag = c.canceller();
    let done = AtomicBool::new(false);
    let (result, started, ended, asked) = std::thread::scope(|s| {
        let canceller = cancel.then(|| {
            let (proxy, done, flag) = (&proxy, &done, flag.clone());
            s.spawn(move || {
                let started = Instant::now();
                let came = wait_until(PATIENT, || {
                    done.load(Ordering::SeqCst)
                        || match trigger {
                            Trigger::Fired(n) => proxy.fired().len() >= n,
                            Trigger::DataConnections(n) => proxy.data_connections() >= n,
                            Trigger::Started(d) => started.elapsed() >= d,
                        }
                });
                if !came || done.load(Ordering::SeqCst) {
                    return None;
                }
                std::thread::sleep(CANCEL_AFTER);
                let asked = Instant::now();
                flag.store(true, Ordering::SeqCst);
                Some(asked)
            })
        });
        let host = proxy.host();
        let (port, call_proxy, call_mark, call_received) =
            (proxy.port(), proxy.clone(), mark.clone(), received.clone());
        let started = Instant::now();
        let result: ftpc::Result<()> = via().call(&mut c, move |c| match stall {
            Greeting => c.connect(&host, port, None, None).map(drop),
            ControlHandshake => c.login(env().get("FTPC_TEST_USER"), env().get("FTPC_TEST_PASS"), "").map(drop),
            Reply => c.pwd().map(drop),
            StorNeverReads | TlsShutdown => {
                // TLS shutdown: a whole file; a receiver that never reads: more than every
                // buffer on the way can take.
                let len = if stall == TlsShutdown { FILE as u64 } else { 256 * MIB as u64 };
                let source = &mut std::io::repeat(0x5a).take(len);
                let mut sent = |_: &[u8]| {
                    *call_mark.lock().unwrap() = Some(Instant::now());
                    Flow::Continue(())
                };
                c.storbinary(b"STOR out.bin", source, 0, Some(&mut sent), None).map(drop)
            }
            _ => {
                let stop_at_first_block = stall == AborUnanswered;
                c.retrbinary(
                    b"RETR in.bin",
                    &mut |b| {
                        *call_mark.lock().unwrap() = Some(Instant::now());
                        call_received.fetch_add(b.len(), Ordering::SeqCst);
                        if stop_at_first_block {
                            // From here the server's answers never reach the client.
                            call_proxy.inject(Fault::control(Dir::Down, When::Now, Action::Stall));
                            return Flow::Break(());
                        }
                        Flow::Continue(())
                    },
                    0,
                    None,
                )
                .map(drop)
            }
        });
        let ended = Instant::now();
        done.store(true, Ordering::SeqCst);
        let asked = canceller.and_then(|h| h.join().unwrap());
        (result, started, ended, asked)
    });

    if !proxy.wait_fired(faults, Duration::from_secs(1)) {
        problems.push(format!("expected {faults} faults to fire, got {:?}", proxy.fired()));
    }
    let received = received.load(Ordering::SeqCst);
    match stall {
        RetrAtStart | DataHandshake | DataConnect | Accept | AcceptThenAborUnanswered if received > 0 => {
            problems.push(format!("{received} bytes of the file came before the stall"))
        }
        RetrMidway if received == 0 => problems.push("no byte came before the stall".into()),
        TlsShutdown if proxy.fired().first().is_some_and(|f| f.at <= FILE as u64) => {
            problems.push(format!("the stall came before the end of the data: {:?}", proxy.fired()))
        }
        _ => {}
    }
    let silent_from = match stall {
        RetrMidway | StorNeverReads | TlsShutdown | AborUnanswered => mark.lock().unwrap().unwrap_or(started),
        _ => started,
    };
    let took =
        if cancel { asked.map(|asked| ended.saturating_duration_since(asked)) } else { Some(ended - silent_from) };
    let mut trace = trace.history();
    trace.drain(..trace.len().saturating_sub(8));
    Row { srv, stall, cancel, result, took, problems, trace, proxy_log: proxy.log() }
}

/// Runs the stall points of `srv` in the modes given; panics with every failure at once.
fn run_stall_rows(srv: Srv, modes: &[bool]) {
    let mut failures = Vec::new();
    let mut ran = 0;
    for &cancel in modes {
        for stall in stall_points(srv) {
            ran += 1;
            match run_stall(srv, stall, cancel).verdict() {
                Ok(line) => eprintln!("ok   {line}"),
                Err(failure) => {
                    eprintln!("FAIL {failure}");
                    failures.push(failure);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {ran} stall points failed:\n{}", failures.len(), failures.join("\n"));
}

/// Every stall point ends in `Timeout` within the general timeout + 1 s, counted from the
/// silence, with no override set.
fn stall_points_end_within_the_general_timeout(srv: Srv) {
    run_stall_rows(srv, &[false]);
}
on_servers!(stall_points_end_within_the_general_timeout: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

/// A cancel request ends every stall point within 100 ms (a 10 s timeout otherwise):
/// `Cancelled` for a wait outside a transfer, `Stopped` inside one (FTP_ERR_STOPPED both).
fn stall_points_end_within_100ms_of_a_cancel(srv: Srv) {
    run_stall_rows(srv, &[true]);
}
on_servers!(stall_points_end_within_100ms_of_a_cancel: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, ProFtpd, ProFtpdTls, BsdFtpd);

// ---------------------------------------------------------------------------------------
// One byte per segment

/// Every connection, both ways, one byte per TCP segment: login, download, upload and a
/// listing work and the bytes are the same (SHA-256 by the sha2 crate).
fn one_byte_segments_keep_every_byte(srv: Srv) {
    let w = Workdir::new(srv, "split");
    let data = random_bytes(0x5917, 96 * KIB + 7);
    w.put("in.bin", &data);
    let proxy = srv.proxy().split_all().start();
    let (mut c, t) = open(srv, &proxy, &w, |_| {});
    let (result, got) = retr(&mut c, "in.bin");
    let reply = result.unwrap_or_else(|e| panic!("{srv:?}: RETR: {e}; trace:\n{}", t.history().join("\n")));
    assert_eq!(reply.code, 226);
    assert_eq!(sha256_sha2(&got), sha256_sha2(&data));
    assert_eq!(stor(&mut c, "out.bin", &data).unwrap().code, 226);
    assert_eq!(sha256_sha2(&w.get("out.bin")), sha256_sha2(&data));
    let names: Vec<Vec<u8>> = c.nlst(None).unwrap().into_iter().filter(|n| !n.starts_with(b".")).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_usable(&mut c, &w, &t);
    assert!(proxy.data_connections() >= 3);
}
// Not ProFTPD: 1.3.8 itself sometimes never answers a clear-text command that arrives one
// byte per segment (about 1 session in 3 stalls, also with a plain socket client; AUTH TLS too).
on_servers!(one_byte_segments_keep_every_byte: Vsftpd, PureFtpd, VsftpdTls, PureFtpdTls, BsdFtpd);

// ---------------------------------------------------------------------------------------
// A lossy, slow link (tests/netem/loss.sh)

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// Prints how far a long transfer got, every 10 s.
fn progress_printer(what: &'static str) -> impl FnMut(u64, Option<u64>) -> Flow {
    let start = Instant::now();
    let mut next = Duration::from_secs(10);
    move |done, total| {
        if start.elapsed() >= next {
            next += Duration::from_secs(10);
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "netem: {what}: {done} of {total:?} bytes after {secs:.0} s ({:.2} MB/s)",
                done as f64 / 1e6 / secs
            );
        }
        Flow::Continue(())
    }
}

/// The client side of tests/netem/loss.sh, run by it inside the client's network namespace
/// (FTPC_SERVERS_ENV names the env file of the servers it started): uploads
/// FTPC_NETEM_SIZE_MIB MiB with store_from_fd, checks the server's copy on disk, downloads
/// it with retrieve_to_fd, checks SHA-256, and prints time and throughput of each way.
#[test]
#[ignore = "run by tests/netem/loss.sh inside a lossy network namespace"]
fn netem_upload_and_download_with_loss() {
    let size = env_number("FTPC_NETEM_SIZE_MIB", 100) as usize * MIB;
    let timeout = Duration::from_secs(env_number("FTPC_NETEM_TIMEOUT_S", 120));
    let srv = match std::env::var("FTPC_NETEM_SERVER").as_deref() {
        Ok("pureftpd") => Srv::PureFtpd,
        Ok("proftpd") => Srv::ProFtpd,
        Ok("bsdftpd") => Srv::BsdFtpd,
        Ok("vsftpd") | Err(_) => Srv::Vsftpd,
        Ok(other) => panic!("FTPC_NETEM_SERVER={other:?}: vsftpd, pureftpd, proftpd or bsdftpd"),
    };
    let data = random_bytes(0x4E7E, size);
    let digest = sha256(&data);
    let local = TempFile::with_contents("netem-up", &data);
    drop(data);

    let cfg = Config {
        connect_timeout: Some(timeout),
        timeout,
        data_connect_timeout: Some(timeout),
        data_accept_timeout: Some(timeout),
        data_timeout: Some(timeout),
        ..Config::default()
    };
    let (mut c, trace) = traced(cfg);
    c.set_debuglevel(1);
    let host = env().get("FTPC_TEST_HOST").to_string();
    let (login, took) = timed(|| {
        c.connect(&host, srv.port(), None, None)?;
        c.login(env().get("FTPC_TEST_USER"), env().get("FTPC_TEST_PASS"), "")
    });
    login.unwrap_or_else(|e| panic!("{srv:?} at {host}:{}: {e}; trace:\n{}", srv.port(), trace.history().join("\n")));
    eprintln!("netem: {srv:?}: connected and logged in in {:.1} s", took.as_secs_f64());
    let dir = unique_name("netem");
    c.mkd(dir.as_bytes()).unwrap();
    c.cwd(dir.as_bytes()).unwrap();
    let on_server = srv.home().join(&dir).join("big.bin");

    let file = local.open();
    let mut progress = progress_printer("upload");
    let (sent, up) = timed(|| c.store_from_fd(b"big.bin", file.as_raw_fd(), None, false, Some(&mut progress)));
    let sent = sent.unwrap_or_else(|e| panic!("upload: {e}; trace:\n{}", trace.history().join("\n")));
    assert_eq!(sent, size as u64);
    let up_ok = support::real::sha256_file(&on_server) == digest;
    eprintln!(
        "netem: upload:   {size} bytes in {:.1} s = {:.2} MB/s, SHA-256 of the server's copy {}",
        up.as_secs_f64(),
        support::real::mb_per_s(sent, up),
        if up_ok { "matches" } else { "DIFFERS" }
    );

    let back = TempFile::new("netem-down");
    let out = back.create();
    let mut progress = progress_printer("download");
    let (received, down) = timed(|| c.retrieve_to_fd(b"big.bin", out.as_raw_fd(), None, Some(&mut progress)));
    let received = received.unwrap_or_else(|e| panic!("download: {e}; trace:\n{}", trace.history().join("\n")));
    let down_ok = support::real::sha256_file(&back.path) == digest;
    eprintln!(
        "netem: download: {received} bytes in {:.1} s = {:.2} MB/s, SHA-256 {}",
        down.as_secs_f64(),
        support::real::mb_per_s(received, down),
        if down_ok { "matches" } else { "DIFFERS" }
    );

    c.delete(b"big.bin").unwrap();
    c.cwd(b"..").unwrap();
    c.rmd(dir.as_bytes()).unwrap();
    let _ = c.quit();
    assert!(up_ok, "the server's copy differs from what was sent");
    assert!(down_ok, "the downloaded copy differs");
    assert_eq!(received, size as u64);
}
