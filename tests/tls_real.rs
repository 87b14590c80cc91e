//! FTPS against the real servers of `tests/servers/servers.sh`: vsftpd 3.0.3 with explicit
//! TLS (require_ssl_reuse=YES, PROT C allowed), vsftpd with implicit TLS, pure-ftpd with
//! optional explicit TLS, and ProFTPD 1.3.8 with explicit and implicit TLS (data connections
//! must resume the session, its default). Big transfers are checked by SHA-256, on the
//! server's disk too, and print their speed; every data connection must resume the control
//! connection's session on vsftpd and ProFTPD (they refuse the transfer otherwise). bsd-ftpd
//! has no TLS.

mod support;

use ftpc::{Client, Config, Error, Flow, TlsMode};
use openssl::ssl::{SslContextBuilder, SslMethod, SslVerifyMode, SslVersion};
use std::io::{Read, Seek};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use support::real::{env, mb_per_s, random_bytes, verbs, Family, Kind, Server, Session, TempFile, Trace};

// ---------------------------------------------------------------------------------------
// Servers and configurations

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tls {
    VsftpdExplicit,
    VsftpdImplicit,
    PureFtpd,
    /// ProFTPD explicit FTPS (TLSRequired auth; data connections must reuse the session).
    ProFtpdExplicit,
    /// ProFTPD implicit FTPS (same requirement).
    ProFtpdImplicit,
}

impl Tls {
    /// For messages: "vsftpd explicit", "proftpd implicit", ...
    fn label(self) -> &'static str {
        match self {
            Tls::VsftpdExplicit => "vsftpd explicit",
            Tls::VsftpdImplicit => "vsftpd implicit",
            Tls::PureFtpd => "pure-ftpd explicit",
            Tls::ProFtpdExplicit => "proftpd explicit",
            Tls::ProFtpdImplicit => "proftpd implicit",
        }
    }

    /// The client configuration for the instance: explicit or implicit FTPS.
    fn configure(self) -> fn(&mut Config) {
        match self {
            Tls::VsftpdImplicit | Tls::ProFtpdImplicit => implicit,
            _ => explicit,
        }
    }

    /// vsftpd (require_ssl_reuse=YES) and ProFTPD refuse a data connection that does not
    /// resume the control connection's TLS session.
    fn requires_reuse(self) -> bool {
        self != Tls::PureFtpd
    }
}

fn server(which: Tls) -> Server {
    let (kind, port, home) = match which {
        Tls::VsftpdExplicit => (Kind::Vsftpd, "FTPC_VSFTPD_TLS_PORT", "FTPC_VSFTPD_TLS_HOME"),
        Tls::VsftpdImplicit => (Kind::Vsftpd, "FTPC_VSFTPD_IMPLICIT_PORT", "FTPC_VSFTPD_IMPLICIT_HOME"),
        Tls::PureFtpd => (Kind::PureFtpd, "FTPC_PUREFTPD_PORT", "FTPC_PUREFTPD_HOME"),
        Tls::ProFtpdExplicit => (Kind::ProFtpd, "FTPC_PROFTPD_TLS_PORT", "FTPC_PROFTPD_TLS_HOME"),
        Tls::ProFtpdImplicit => (Kind::ProFtpd, "FTPC_PROFTPD_IMPLICIT_PORT", "FTPC_PROFTPD_IMPLICIT_HOME"),
    };
    Server::ipv4_instance(kind, port, home)
}

fn ca() -> PathBuf {
    env().path("FTPC_TEST_CA")
}

/// Explicit FTPS (AUTH TLS at login, then PBSZ/PROT P) trusting the test CA.
fn explicit(cfg: &mut Config) {
    cfg.tls_mode = TlsMode::Explicit;
    cfg.tls.ca_file = Some(ca());
}

fn implicit(cfg: &mut Config) {
    cfg.tls_mode = TlsMode::Implicit;
    cfg.tls.ca_file = Some(ca());
}

/// A client of our own (not through `Session`), traced from the first byte at `level`.
fn own_client(configure: impl FnOnce(&mut Config), level: u8) -> (Client, Trace) {
    let mut cfg = Config { timeout: Duration::from_secs(20), ..Config::default() };
    configure(&mut cfg);
    let mut c = Client::with_config(cfg);
    let trace = Trace::default();
    c.set_debuglevel(level);
    c.set_trace_sink(Some(trace.sink()));
    (c, trace)
}

fn connect_login(c: &mut Client, s: &Server, host: &str) -> ftpc::Result<()> {
    c.connect(host, s.port, None, None)?;
    c.login(&s.user, &s.pass, "")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Data

/// The big transfers one at a time, so that their speeds mean something.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

fn hex(d: [u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 through OpenSSL (fast in debug builds too).
fn sha256(data: &[u8]) -> String {
    hex(openssl::sha::sha256(data))
}

fn sha256_file(path: &Path) -> String {
    let mut f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut h = openssl::sha::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex(h.finish())
}

const BIG: usize = 100 << 20;

/// 100 MiB of seeded random bytes and their SHA-256, made once.
fn big() -> &'static (Vec<u8>, String) {
    static DATA: OnceLock<(Vec<u8>, String)> = OnceLock::new();
    DATA.get_or_init(|| {
        let data = random_bytes(0x7153_0000_0100, BIG);
        let digest = sha256(&data);
        (data, digest)
    })
}

#[derive(Clone, Copy, Debug)]
enum Up {
    /// store_from_fd from a local file.
    Fd,
    /// storbinary from memory.
    Reader,
}

#[derive(Clone, Copy, Debug)]
enum Down {
    /// retrbinary, hashing each block.
    Callback,
    /// retrieve_to_fd into a local file.
    Fd,
}

/// Uploads `data` as `name` in the session's directory, checks the server's copy on disk,
/// downloads it again and checks it; returns the speeds (MB/s) up and down.
fn round_trip(s: &mut Session, label: &str, name: &str, data: &[u8], digest: &str, up: Up, down: Down) -> (f64, f64) {
    let len = data.len() as u64;
    let upload_time = match up {
        Up::Fd => {
            let local = TempFile::with_contents("tls-up", data);
            let file = local.open();
            let t0 = Instant::now();
            let sent = s.c.store_from_fd(name.as_bytes(), file.as_raw_fd(), None, false, None).unwrap();
            let t = t0.elapsed();
            assert_eq!(sent, len);
            t
        }
        Up::Reader => {
            let t0 = Instant::now();
            let reply =
                s.c.storbinary(format!("STOR {name}").as_bytes(), &mut &data[..], 256 << 10, None, None).unwrap();
            assert_eq!(reply.code, 226, "{reply}");
            t0.elapsed()
        }
    };
    let on_disk = s.local_path(name);
    assert_eq!(std::fs::metadata(&on_disk).unwrap().len(), len, "{label}: size on the server's disk");
    assert_eq!(sha256_file(&on_disk), digest, "{label}: SHA-256 of the server's copy");
    assert_eq!(s.c.size(name.as_bytes()).unwrap(), Some(len));

    let (download_time, got) = match down {
        Down::Callback => {
            let mut h = openssl::sha::Sha256::new();
            let mut n = 0u64;
            let t0 = Instant::now();
            let reply =
                s.c.retrbinary(
                    format!("RETR {name}").as_bytes(),
                    &mut |b| {
                        h.update(b);
                        n += b.len() as u64;
                        Flow::Continue(())
                    },
                    256 << 10,
                    None,
                )
                .unwrap();
            let t = t0.elapsed();
            assert_eq!(reply.code, 226, "{reply}");
            assert_eq!(n, len);
            (t, hex(h.finish()))
        }
        Down::Fd => {
            let local = TempFile::new("tls-down");
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&local.path)
                .unwrap();
            let t0 = Instant::now();
            let n = s.c.retrieve_to_fd(name.as_bytes(), file.as_raw_fd(), None, None).unwrap();
            let t = t0.elapsed();
            assert_eq!(n, len);
            file.rewind().unwrap();
            (t, sha256_file(&local.path))
        }
    };
    assert_eq!(got, digest, "{label}: SHA-256 of the download");
    let (mb_up, mb_down) = (mb_per_s(len, upload_time), mb_per_s(len, download_time));
    eprintln!(
        "{label}: {:.1} MiB up {:?} in {:.2} s = {mb_up:.1} MB/s, down {:?} in {:.2} s = {mb_down:.1} MB/s",
        len as f64 / 1048576.0,
        up,
        upload_time.as_secs_f64(),
        down,
        download_time.as_secs_f64()
    );
    (mb_up, mb_down)
}

/// The `*tls* data connection: ...` lines of a trace (debug level 2).
fn data_handshakes(lines: &[String]) -> Vec<String> {
    lines.iter().filter(|l| l.starts_with("*tls* data connection:")).cloned().collect()
}

fn assert_all_resumed(label: &str, lines: &[String], expect: usize) {
    let hs = data_handshakes(lines);
    assert_eq!(hs.len(), expect, "{label}: {hs:#?}");
    for h in &hs {
        assert!(h.ends_with(", session resumed"), "{label}: {h}");
    }
}

fn hello(c: &mut Client) -> Vec<u8> {
    let mut got = Vec::new();
    c.retrbinary(
        b"RETR hello.txt",
        &mut |b| {
            got.extend_from_slice(b);
            Flow::Continue(())
        },
        0,
        None,
    )
    .unwrap();
    got
}

// ---------------------------------------------------------------------------------------
// Login

#[test]
fn login_sends_auth_then_pbsz_prot_p() {
    if !support::real::servers_up("login_sends_auth_then_pbsz_prot_p") {
        return;
    }
    for (which, configure, want) in [
        (Tls::VsftpdExplicit, explicit as fn(&mut Config), vec!["AUTH", "USER", "PASS", "PBSZ", "PROT"]),
        (Tls::VsftpdImplicit, implicit, vec!["USER", "PASS", "PBSZ", "PROT"]),
        (Tls::PureFtpd, explicit, vec!["AUTH", "USER", "PASS", "PBSZ", "PROT"]),
        (Tls::ProFtpdExplicit, explicit, vec!["AUTH", "USER", "PASS", "PBSZ", "PROT"]),
        (Tls::ProFtpdImplicit, implicit, vec!["USER", "PASS", "PBSZ", "PROT"]),
    ] {
        let s = server(which);
        let (mut c, trace) = own_client(configure, 2);
        connect_login(&mut c, &s, &s.host).unwrap();
        assert!(c.is_tls() && c.data_protected());
        let lines = trace.take();
        let commands = support::real::sent(&lines);
        assert_eq!(verbs(&commands), want, "{}: {commands:?}", s.port);
        assert!(commands.iter().any(|c| c == "PROT P") && commands.iter().any(|c| c == "PBSZ 0"), "{commands:?}");
        let control =
            lines.iter().find(|l| l.starts_with("*tls* control connection:")).expect("control handshake traced");
        eprintln!("port {}: {control}", s.port);
        c.quit().unwrap();
    }
}

// ---------------------------------------------------------------------------------------
// vsftpd, explicit FTPS

#[test]
fn vsftpd_explicit_100mib_prot_p_passive() {
    if !support::real::servers_up("vsftpd_explicit_100mib_prot_p_passive") {
        return;
    }
    explicit_100mib_prot_p_passive(Tls::VsftpdExplicit);
}

fn explicit_100mib_prot_p_passive(which: Tls) {
    let (data, digest) = big();
    let _heavy = heavy();
    let mut s = Session::open_with(&server(which), "big", explicit);
    assert!(s.c.is_tls() && s.c.data_protected());
    s.c.set_debuglevel(2);
    s.trace.take();
    let label = format!("{} PROT P passive", which.label());
    round_trip(&mut s, &label, "big.bin", data, digest, Up::Fd, Down::Callback);
    let lines = s.trace.take();
    assert_all_resumed(which.label(), &lines, 2);
    assert!(support::real::sent(&lines).contains(&"EPSV".to_string()));
    s.finish();
}

#[test]
fn vsftpd_explicit_8mib_active() {
    if !support::real::servers_up("vsftpd_explicit_8mib_active") {
        return;
    }
    explicit_8mib_active(Tls::VsftpdExplicit);
}

fn explicit_8mib_active(which: Tls) {
    let data = random_bytes(8, 8 << 20);
    let digest = sha256(&data);
    let mut s = Session::open_with(&server(which), "active", |cfg| {
        explicit(cfg);
        cfg.passive = false;
    });
    s.c.set_debuglevel(2);
    s.trace.take();
    let label = format!("{} PROT P active", which.label());
    round_trip(&mut s, &label, "active.bin", &data, &digest, Up::Reader, Down::Fd);
    let lines = s.trace.take();
    let commands = support::real::sent(&lines);
    assert!(commands.iter().any(|c| c.starts_with("EPRT ") || c.starts_with("PORT ")), "{commands:?}");
    assert!(!commands.iter().any(|c| c == "EPSV" || c == "PASV"), "{commands:?}");
    assert_all_resumed(&label, &lines, 2);
    s.finish();
}

#[test]
fn vsftpd_prot_c_and_back_to_prot_p() {
    if !support::real::servers_up("vsftpd_prot_c_and_back_to_prot_p") {
        return;
    }
    prot_c_and_back_to_prot_p(Tls::VsftpdExplicit);
}

fn prot_c_and_back_to_prot_p(which: Tls) {
    let data = random_bytes(3, 1 << 20);
    let mut s = Session::open_with(&server(which), "protc", explicit);
    assert_eq!(s.c.prot_c().unwrap().code, 200);
    assert!(!s.c.data_protected());
    assert!(s.c.is_tls(), "PROT C leaves the control connection in TLS");
    s.c.storbinary(b"STOR clear.bin", &mut &data[..], 0, None, None).unwrap();
    assert_eq!(sha256_file(&s.local_path("clear.bin")), sha256(&data));
    for (prot_p, want_tls) in [(false, false), (true, true)] {
        if prot_p {
            s.c.prot_p().unwrap();
        }
        s.c.voidcmd(b"TYPE I").unwrap();
        let mut conn = s.c.transfercmd(b"RETR clear.bin", None).unwrap();
        assert_eq!(conn.is_tls(), want_tls);
        assert_eq!(conn.size(), Some(data.len() as u64), "{}", conn.preliminary_reply());
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        assert_eq!(s.c.finish_transfer(conn, true).unwrap().code, 226);
        assert!(got == data, "PROT {}: content differs", if prot_p { 'P' } else { 'C' });
    }
    s.finish();
}

#[test]
fn vsftpd_listings_over_tls() {
    if !support::real::servers_up("vsftpd_listings_over_tls") {
        return;
    }
    listings_over_tls(Tls::VsftpdExplicit);
}

fn listings_over_tls(which: Tls) {
    let mut s = Session::open_with(&server(which), "list", explicit);
    s.c.storbinary(b"STOR listed.txt", &mut &[b'x'; 1234][..], 0, None, None).unwrap();
    s.c.mkd(b"subdir").unwrap();
    s.c.set_debuglevel(2);
    s.trace.take();

    let mut lines = Vec::new();
    s.c.dir(None, &mut |l| {
        lines.push(String::from_utf8_lossy(l).into_owned());
        Flow::Continue(())
    })
    .unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with('-') && l.ends_with(" listed.txt") && l.contains(" 1234 ")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.starts_with('d') && l.ends_with(" subdir")), "{lines:?}");

    let mut names = s.c.nlst(None).unwrap();
    names.sort();
    assert_eq!(names, [b"listed.txt".to_vec(), b"subdir".to_vec()]);

    let entries = s.c.list_entries(None).unwrap();
    let file = entries.iter().find(|e| e.name == b"listed.txt").expect("listed.txt in LIST");
    assert_eq!((file.kind, file.size), (ftpc::listing::EntryKind::File, Some(1234)));
    let dir = entries.iter().find(|e| e.name == b"subdir").expect("subdir in LIST");
    assert_eq!(dir.kind, ftpc::listing::EntryKind::Dir);

    let listings = match s.server.kind {
        // vsftpd has no MLSD.
        Kind::Vsftpd => {
            assert!(matches!(s.c.mlsd(None, &[]), Err(Error::Unsupported(_))));
            3
        }
        _ => {
            let entries = s.c.mlsd(None, &["type", "size"]).unwrap();
            let file = entries.iter().find(|e| e.name == b"listed.txt").expect("listed.txt in MLSD");
            assert_eq!((file.kind, file.size), (ftpc::listing::EntryKind::File, Some(1234)));
            let dir = entries.iter().find(|e| e.name == b"subdir").expect("subdir in MLSD");
            assert_eq!(dir.kind, ftpc::listing::EntryKind::Dir);
            4
        }
    };

    let trace = s.trace.take();
    assert_eq!(trace.iter().filter(|l| *l == "*data* connection open, TLS").count(), listings, "{trace:#?}");
    assert_all_resumed(&format!("{} listings", which.label()), &trace, listings);
    s.finish();
}

#[test]
fn vsftpd_has_no_ccc() {
    if !support::real::servers_up("vsftpd_has_no_ccc") {
        return;
    }
    let mut s = Session::open_with(&server(Tls::VsftpdExplicit), "ccc", explicit);
    let err = s.c.ccc().unwrap_err();
    assert!(matches!(&err, Error::Perm(r) if r.code == 500), "{err:?}");
    eprintln!("vsftpd 3.0.3 answers CCC with: {err}");
    // Still TLS and in step.
    assert!(s.c.is_tls());
    assert_eq!(hello_in_parent(&mut s), b"hello from vsftpd\n");
    s.finish();
}

fn hello_in_parent(s: &mut Session) -> Vec<u8> {
    let mut got = Vec::new();
    s.c.retrbinary(
        b"RETR ../hello.txt",
        &mut |b| {
            got.extend_from_slice(b);
            Flow::Continue(())
        },
        0,
        None,
    )
    .unwrap();
    got
}

#[test]
fn vsftpd_forced_tls_versions_resume_sessions() {
    if !support::real::servers_up("vsftpd_forced_tls_versions_resume_sessions") {
        return;
    }
    forced_tls_versions_resume_sessions(Tls::VsftpdExplicit);
}

fn forced_tls_versions_resume_sessions(which: Tls) {
    let s = server(which);
    for (version, name) in [(SslVersion::TLS1_2, "TLSv1.2"), (SslVersion::TLS1_3, "TLSv1.3")] {
        let (mut c, trace) = own_client(
            |cfg| {
                explicit(cfg);
                cfg.tls.min_version = Some(version);
                cfg.tls.max_version = Some(version);
            },
            2,
        );
        connect_login(&mut c, &s, &s.host).unwrap();
        for _ in 0..2 {
            assert_eq!(hello(&mut c), s.kind.hello());
        }
        let lines = trace.take();
        let control = lines.iter().find(|l| l.starts_with("*tls* control connection:")).unwrap();
        assert!(control.starts_with(&format!("*tls* control connection: {name} ")), "{control}");
        let hs = data_handshakes(&lines);
        assert!(hs.iter().all(|h| h.starts_with(&format!("*tls* data connection: {name} "))), "{hs:#?}");
        assert_all_resumed(name, &lines, 2);
        eprintln!("forced {name}: {control}; {}", hs[0]);
        c.quit().unwrap();
    }
}

// ---------------------------------------------------------------------------------------
// vsftpd, implicit FTPS

#[test]
fn vsftpd_implicit_100mib_prot_p() {
    if !support::real::servers_up("vsftpd_implicit_100mib_prot_p") {
        return;
    }
    implicit_100mib_prot_p(Tls::VsftpdImplicit);
}

fn implicit_100mib_prot_p(which: Tls) {
    let (data, digest) = big();
    let _heavy = heavy();
    let mut s = Session::open_with(&server(which), "big", implicit);
    assert!(s.c.is_tls() && s.c.data_protected());
    s.c.set_debuglevel(2);
    s.trace.take();
    let label = format!("{} PROT P passive", which.label());
    round_trip(&mut s, &label, "big.bin", data, digest, Up::Reader, Down::Fd);
    assert_all_resumed(which.label(), &s.trace.take(), 2);
    s.finish();
}

// ---------------------------------------------------------------------------------------
// pure-ftpd, explicit FTPS

#[test]
fn pureftpd_explicit_100mib_and_mlsd() {
    if !support::real::servers_up("pureftpd_explicit_100mib_and_mlsd") {
        return;
    }
    let (data, digest) = big();
    let _heavy = heavy();
    let mut s = Session::open_with(&server(Tls::PureFtpd), "big", explicit);
    assert!(s.c.is_tls() && s.c.data_protected());
    s.c.set_debuglevel(2);
    s.trace.take();
    round_trip(&mut s, "pure-ftpd explicit PROT P passive", "big.bin", data, digest, Up::Fd, Down::Callback);
    s.c.mkd(b"sub").unwrap();
    let entries = s.c.mlsd(None, &["type", "size", "modify"]).unwrap();
    let file = entries.iter().find(|e| e.name == b"big.bin").expect("big.bin in MLSD");
    assert_eq!((file.kind, file.size), (ftpc::listing::EntryKind::File, Some(BIG as u64)));
    assert!(file.modified.is_some(), "{file:?}");
    let sub = entries.iter().find(|e| e.name == b"sub").expect("sub in MLSD");
    assert_eq!(sub.kind, ftpc::listing::EntryKind::Dir);
    let lines = s.trace.take();
    let hs = data_handshakes(&lines);
    assert_eq!(hs.len(), 3, "{hs:#?}");
    eprintln!("pure-ftpd data handshakes: {hs:?}");
    s.finish();
}

#[test]
fn pureftpd_ccc_then_protected_data() {
    if !support::real::servers_up("pureftpd_ccc_then_protected_data") {
        return;
    }
    ccc_then_protected_data(Tls::PureFtpd);
}

fn ccc_then_protected_data(which: Tls) {
    let data = random_bytes(5, 300_000);
    let mut s = Session::open_with(&server(which), "ccc", explicit);
    s.c.set_debuglevel(2);
    let reply = s.c.ccc().unwrap();
    assert_eq!(reply.code, 200, "{reply}");
    assert!(!s.c.is_tls(), "the control connection is clear text after CCC");
    assert!(s.c.data_protected(), "PROT P stays in force");
    // Commands in clear text, data still in TLS (resuming the saved control session).
    assert!(s.c.pwd().unwrap().ends_with(s.dir.as_bytes()));
    s.trace.take();
    s.c.storbinary(b"STOR after-ccc.bin", &mut &data[..], 0, None, None).unwrap();
    assert_eq!(sha256_file(&s.local_path("after-ccc.bin")), sha256(&data));
    let mut got = Vec::new();
    s.c.retrbinary(
        b"RETR after-ccc.bin",
        &mut |b| {
            got.extend_from_slice(b);
            Flow::Continue(())
        },
        0,
        None,
    )
    .unwrap();
    assert!(got == data);
    let lines = s.trace.take();
    assert_eq!(lines.iter().filter(|l| *l == "*data* connection open, TLS").count(), 2, "{lines:#?}");
    eprintln!("{} after CCC: {:?}", which.label(), data_handshakes(&lines));
    if which.requires_reuse() {
        assert_all_resumed(&format!("{} after CCC", which.label()), &lines, 2);
    }
    // CCC again: the control connection is not TLS any more.
    assert!(matches!(s.c.ccc(), Err(Error::WrongState(_))));
    s.finish();
}

// ---------------------------------------------------------------------------------------
// ProFTPD, explicit FTPS (data connections must resume the control connection's session)

#[test]
fn proftpd_explicit_100mib_prot_p_passive() {
    if !support::real::servers_up("proftpd_explicit_100mib_prot_p_passive") {
        return;
    }
    explicit_100mib_prot_p_passive(Tls::ProFtpdExplicit);
}

#[test]
fn proftpd_explicit_8mib_active() {
    if !support::real::servers_up("proftpd_explicit_8mib_active") {
        return;
    }
    explicit_8mib_active(Tls::ProFtpdExplicit);
}

#[test]
fn proftpd_prot_c_and_back_to_prot_p() {
    if !support::real::servers_up("proftpd_prot_c_and_back_to_prot_p") {
        return;
    }
    prot_c_and_back_to_prot_p(Tls::ProFtpdExplicit);
}

#[test]
fn proftpd_listings_over_tls() {
    if !support::real::servers_up("proftpd_listings_over_tls") {
        return;
    }
    listings_over_tls(Tls::ProFtpdExplicit);
}

#[test]
fn proftpd_ccc_then_protected_data() {
    if !support::real::servers_up("proftpd_ccc_then_protected_data") {
        return;
    }
    ccc_then_protected_data(Tls::ProFtpdExplicit);
}

#[test]
fn proftpd_forced_tls_versions_resume_sessions() {
    if !support::real::servers_up("proftpd_forced_tls_versions_resume_sessions") {
        return;
    }
    forced_tls_versions_resume_sessions(Tls::ProFtpdExplicit);
}

// ---------------------------------------------------------------------------------------
// ProFTPD, implicit FTPS

#[test]
fn proftpd_implicit_100mib_prot_p() {
    if !support::real::servers_up("proftpd_implicit_100mib_prot_p") {
        return;
    }
    implicit_100mib_prot_p(Tls::ProFtpdImplicit);
}

// ---------------------------------------------------------------------------------------
// Stopped transfers keep the TLS session usable, on every TLS server

#[test]
fn vsftpd_explicit_stop_keeps_the_tls_session() {
    if !support::real::servers_up("vsftpd_explicit_stop_keeps_the_tls_session") {
        return;
    }
    stop_keeps_the_tls_session(Tls::VsftpdExplicit);
}

#[test]
fn vsftpd_implicit_stop_keeps_the_tls_session() {
    if !support::real::servers_up("vsftpd_implicit_stop_keeps_the_tls_session") {
        return;
    }
    stop_keeps_the_tls_session(Tls::VsftpdImplicit);
}

#[test]
fn pureftpd_explicit_stop_keeps_the_tls_session() {
    if !support::real::servers_up("pureftpd_explicit_stop_keeps_the_tls_session") {
        return;
    }
    stop_keeps_the_tls_session(Tls::PureFtpd);
}

#[test]
fn proftpd_explicit_stop_keeps_the_tls_session() {
    if !support::real::servers_up("proftpd_explicit_stop_keeps_the_tls_session") {
        return;
    }
    stop_keeps_the_tls_session(Tls::ProFtpdExplicit);
}

#[test]
fn proftpd_implicit_stop_keeps_the_tls_session() {
    if !support::real::servers_up("proftpd_implicit_stop_keeps_the_tls_session") {
        return;
    }
    stop_keeps_the_tls_session(Tls::ProFtpdImplicit);
}

/// How long a stopped call may take to return once the stop was asked for (loopback).
const STOP_BOUND: Duration = Duration::from_secs(1);

/// The stopped call returned within `STOP_BOUND` of the stop request made at `asked`.
fn assert_prompt(which: Tls, what: &str, asked: Option<Instant>) -> Duration {
    let took = asked.unwrap_or_else(|| panic!("{}: {what}: the stop was never asked for", which.label())).elapsed();
    assert!(took < STOP_BOUND, "{}: {what}: returned {took:?} after the stop", which.label());
    took
}

/// After a stop the next commands get their own replies: PWD its 257 naming the directory,
/// NOOP its 200 (not a late 226 or 426 of the abort).
fn assert_in_step(s: &mut Session, which: Tls) {
    let pwd = s.c.pwd().unwrap_or_else(|e| panic!("{}: PWD after the stop: {e}", which.label()));
    assert_eq!(pwd, s.pwd, "{}: PWD after the stop", which.label());
    assert_eq!(s.c.last_reply().unwrap().code, 257, "{}: PWD's own reply", which.label());
    let noop = s.c.voidcmd(b"NOOP").unwrap_or_else(|e| panic!("{}: NOOP after the stop: {e}", which.label()));
    assert_eq!(noop.code, 200, "{}: NOOP's own reply: {noop}", which.label());
}

/// An upload stopped by its callback after 4 MiB returns `Stopped` within 1 s of the stop,
/// the next commands in step; the next data connection still resumes the control
/// connection's session (which servers that require reuse insist on), the stopped upload
/// resumes on the same handle (SHA-256 equal), and a stopped download (also within 1 s, in
/// step) is followed by a whole one.
fn stop_keeps_the_tls_session(which: Tls) {
    const MIB: usize = 1 << 20;
    let data = random_bytes(11, 16 * MIB);
    let digest = sha256(&data);
    let mut s = Session::open_with(&server(which), "stop", which.configure());
    s.c.set_debuglevel(2);
    s.trace.take();

    let mut blocks = 0;
    let mut asked = None;
    let e =
        s.c.storbinary(
            b"STOR up.bin",
            &mut &data[..],
            64 << 10,
            Some(&mut |_: &[u8]| {
                blocks += 1;
                if blocks == 64 {
                    asked = Some(Instant::now());
                    Flow::Break(())
                } else {
                    Flow::Continue(())
                }
            }),
            None,
        )
        .unwrap_err();
    assert!(matches!(e, Error::Stopped), "{}: {e:?}", which.label());
    let took = assert_prompt(which, "upload stopped by its callback", asked);
    let kept = std::fs::metadata(s.local_path("up.bin")).map_or(0, |m| m.len());
    eprintln!("{}: upload stopped in {took:?}, {kept} bytes on the server", which.label());
    assert_in_step(&mut s, which);

    // The next transfer works (on servers that require reuse: it resumed the session).
    assert_eq!(hello_in_parent(&mut s), s.server.kind.hello(), "{}: the transfer after the stop", which.label());

    // The stopped upload resumes on the same handle.
    let src = TempFile::with_contents("tls-stop", &data);
    let sent = s.c.resume_upload(b"up.bin", src.open().as_raw_fd(), None).unwrap();
    assert_eq!(sent, data.len() as u64 - kept);
    assert_eq!(sha256_file(&s.local_path("up.bin")), digest, "{}: the resumed upload", which.label());

    // A download stopped after 1 MiB, then a whole one.
    let mut got = 0;
    let mut asked = None;
    let e =
        s.c.retrbinary(
            b"RETR up.bin",
            &mut |b| {
                got += b.len();
                if got >= MIB {
                    asked = Some(Instant::now());
                    Flow::Break(())
                } else {
                    Flow::Continue(())
                }
            },
            0,
            None,
        )
        .unwrap_err();
    assert!(matches!(e, Error::Stopped), "{}: {e:?}", which.label());
    let took = assert_prompt(which, "download stopped by its callback", asked);
    eprintln!("{}: download stopped in {took:?}", which.label());
    assert_in_step(&mut s, which);
    let mut h = openssl::sha::Sha256::new();
    s.c.retrbinary(
        b"RETR up.bin",
        &mut |b| {
            h.update(b);
            Flow::Continue(())
        },
        0,
        None,
    )
    .unwrap();
    assert_eq!(hex(h.finish()), digest, "{}: the download after the stopped one", which.label());

    let lines = s.trace.take();
    let handshakes = data_handshakes(&lines);
    if which.requires_reuse() {
        assert_all_resumed(which.label(), &lines, handshakes.len());
    }
    s.finish();
}

// ---------------------------------------------------------------------------------------
// Stops from another thread over TLS, on every TLS server

#[test]
fn vsftpd_explicit_stop_from_another_thread() {
    if !support::real::servers_up("vsftpd_explicit_stop_from_another_thread") {
        return;
    }
    stop_from_another_thread(Tls::VsftpdExplicit);
}

#[test]
fn vsftpd_implicit_stop_from_another_thread() {
    if !support::real::servers_up("vsftpd_implicit_stop_from_another_thread") {
        return;
    }
    stop_from_another_thread(Tls::VsftpdImplicit);
}

#[test]
fn pureftpd_explicit_stop_from_another_thread() {
    if !support::real::servers_up("pureftpd_explicit_stop_from_another_thread") {
        return;
    }
    stop_from_another_thread(Tls::PureFtpd);
}

#[test]
fn proftpd_explicit_stop_from_another_thread() {
    if !support::real::servers_up("proftpd_explicit_stop_from_another_thread") {
        return;
    }
    stop_from_another_thread(Tls::ProFtpdExplicit);
}

#[test]
fn proftpd_implicit_stop_from_another_thread() {
    if !support::real::servers_up("proftpd_implicit_stop_from_another_thread") {
        return;
    }
    stop_from_another_thread(Tls::ProFtpdImplicit);
}

/// The two flags another thread can set: `canceller()` (what C `ftp_cancel` sets) and
/// `transfer_stopper()` (what C `ftp_abort` sets while a call runs).
#[derive(Clone, Copy, Debug)]
enum StopFlag {
    Cancel,
    Abort,
}

/// A 16 MiB download (retrbinary) and a 16 MiB upload (storbinary) over TLS, each stopped
/// after 1 MiB by another thread setting `canceller()` or `transfer_stopper()`: `Stopped`
/// within 1 s of the flag being set, the flag consumed, the next PWD and NOOP in step, and
/// a whole download next (SHA-256 equal), whose data connection resumed the control
/// connection's TLS session on the servers that require it.
fn stop_from_another_thread(which: Tls) {
    const MIB: usize = 1 << 20;
    let data = random_bytes(12, 16 * MIB);
    let digest = sha256(&data);
    let mut s = Session::open_with(&server(which), "tstop", which.configure());
    let path = s.local_path("down.bin");
    std::fs::write(&path, &data).unwrap();
    s.c.set_debuglevel(2);
    s.trace.take();

    for flag_kind in [StopFlag::Cancel, StopFlag::Abort] {
        for upload in [false, true] {
            let what = format!("{} {flag_kind:?} {}", which.label(), if upload { "upload" } else { "download" });
            let flag = match flag_kind {
                StopFlag::Cancel => s.c.canceller(),
                StopFlag::Abort => s.c.transfer_stopper(),
            };
            let watch = flag.clone();
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let stopper = std::thread::spawn(move || {
                rx.recv_timeout(Duration::from_secs(30)).expect("the transfer never reached 1 MiB");
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            let mut done = 0usize;
            let mut asked = None;
            // At 1 MiB, ask the other thread to stop and wait until it has: the stop then
            // comes at the next block, whatever the speed of the transfer.
            let mut block = |n: usize| {
                done += n;
                if done >= MIB && asked.is_none() {
                    tx.send(()).unwrap();
                    let deadline = Instant::now() + Duration::from_secs(10);
                    while !watch.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    asked = Some(Instant::now());
                }
                Flow::Continue(())
            };
            let e = if upload {
                s.c.storbinary(b"STOR up.bin", &mut &data[..], 64 << 10, Some(&mut |b: &[u8]| block(b.len())), None)
                    .unwrap_err()
            } else {
                s.c.retrbinary(b"RETR down.bin", &mut |b| block(b.len()), 64 << 10, None).unwrap_err()
            };
            stopper.join().unwrap();
            assert!(matches!(e, Error::Stopped), "{what}: {e:?}");
            let took = assert_prompt(which, &what, asked);
            assert!((MIB..3 * MIB).contains(&done), "{what}: stopped after {done} bytes");
            let (cancel, stop) = (s.c.canceller(), s.c.transfer_stopper());
            assert!(!cancel.load(std::sync::atomic::Ordering::SeqCst), "{what}: the stop consumed the request");
            assert!(!stop.load(std::sync::atomic::Ordering::SeqCst), "{what}: the stop consumed the request");
            let commands = support::real::sent(&s.trace.take());
            assert_eq!(commands[commands.len().saturating_sub(2)..], ["ABOR", "NOOP"], "{what}: {commands:?}");
            eprintln!("{what}: stopped after {done} bytes, returned {took:?} after the flag was set");
            assert_in_step(&mut s, which);

            // The next transfer is whole, and its data connection resumed the session.
            let mut h = openssl::sha::Sha256::new();
            let reply =
                s.c.retrbinary(
                    b"RETR down.bin",
                    &mut |b| {
                        h.update(b);
                        Flow::Continue(())
                    },
                    0,
                    None,
                )
                .unwrap_or_else(|e| panic!("{what}: the download after the stop: {e}"));
            assert_eq!(reply.code, 226, "{what}: {reply}");
            assert_eq!(hex(h.finish()), digest, "{what}: the download after the stop");
            let lines = s.trace.take();
            if which.requires_reuse() {
                assert_all_resumed(&what, &lines, 1);
            }
        }
    }
    s.finish();
}

// ---------------------------------------------------------------------------------------
// The wrong TLS mode, and AUTH TLS where there is no TLS

/// Explicit FTPS and plain FTP against the real implicit-FTPS ports (vsftpd, ProFTPD): no
/// greeting comes; the timeout (2 s here) says the server expects implicit FTPS, and comes
/// within the timeout plus a second.
#[test]
fn wrong_mode_on_the_implicit_ports_says_implicit() {
    if !support::real::servers_up("wrong_mode_on_the_implicit_ports_says_implicit") {
        return;
    }
    const TIMEOUT: Duration = Duration::from_secs(2);
    for port in ["FTPC_VSFTPD_IMPLICIT_PORT", "FTPC_PROFTPD_IMPLICIT_PORT"] {
        for mode in [TlsMode::Explicit, TlsMode::Off] {
            let (mut c, _) = own_client(
                |cfg| {
                    explicit(cfg);
                    cfg.tls_mode = mode;
                    cfg.timeout = TIMEOUT;
                },
                1,
            );
            let started = Instant::now();
            let err = c.connect(env().get("FTPC_TEST_HOST"), env().port(port), None, None).unwrap_err();
            let took = started.elapsed();
            let message = err.to_string();
            assert!(matches!(err, Error::Timeout(_)), "{port} {mode:?}: {err:?}");
            assert!(message.contains("the server expects implicit FTPS (TLS from the first byte)"), "{message}");
            assert!(took < TIMEOUT + Duration::from_secs(1), "{port} {mode:?}: took {took:?}");
            assert!(!c.is_connected());
            eprintln!("{port} {mode:?}: {took:?}: {message}");
        }
    }
}

/// Implicit FTPS against the real plain and explicit-FTPS ports (all four servers): the
/// handshake meets the plain-text greeting, and the error says to use explicit FTPS or plain
/// FTP, at once.
#[test]
fn implicit_mode_on_the_plain_and_explicit_ports_says_explicit_or_plain() {
    if !support::real::servers_up("implicit_mode_on_the_plain_and_explicit_ports_says_explicit_or_plain") {
        return;
    }
    for port in [
        "FTPC_VSFTPD_PORT",
        "FTPC_VSFTPD_TLS_PORT",
        "FTPC_PUREFTPD_PORT",
        "FTPC_PROFTPD_PORT",
        "FTPC_PROFTPD_TLS_PORT",
        "FTPC_BSDFTPD_PORT",
    ] {
        let (mut c, _) = own_client(
            |cfg| {
                implicit(cfg);
                cfg.timeout = Duration::from_secs(5);
            },
            1,
        );
        let started = Instant::now();
        let err = c.connect(env().get("FTPC_TEST_HOST"), env().port(port), None, None).unwrap_err();
        let took = started.elapsed();
        let message = err.to_string();
        assert!(matches!(err, Error::Tls(_)), "{port}: {err:?}");
        assert!(message.contains("the server sent a plain-text FTP greeting"), "{port}: {message}");
        assert!(message.contains("explicit FTPS (AUTH TLS)") && message.contains("plain FTP"), "{port}: {message}");
        assert!(took < Duration::from_secs(5), "{port}: took {took:?}");
        assert!(!c.is_connected());
        eprintln!("{port}: {took:?}: {message}");
    }
}

/// Explicit FTPS against bsd-ftpd, which has no TLS: AUTH TLS is refused, login fails with a
/// TLS error quoting the server's reply, and neither USER nor PASS goes out in clear text.
#[test]
fn auth_tls_on_bsdftpd_is_refused_clearly() {
    if !support::real::servers_up("auth_tls_on_bsdftpd_is_refused_clearly") {
        return;
    }
    let s = Server::get(Kind::BsdFtpd, Family::V4).unwrap();
    let (mut c, trace) = own_client(explicit, 1);
    let started = Instant::now();
    let err = connect_login(&mut c, &s, &s.host).unwrap_err();
    let took = started.elapsed();
    let message = err.to_string();
    assert!(matches!(&err, Error::Tls(m) if m.contains("the server refused AUTH TLS")), "{err:?}");
    // The server's own refusal is quoted (bsd-ftpd: "502 AUTH command not implemented.").
    assert!(message.contains("refused AUTH TLS: 5"), "{message}");
    assert_eq!(support::real::sent(&trace.take()), ["AUTH TLS"], "nothing after the refused AUTH");
    assert!(!c.is_connected(), "a connection that cannot have its TLS is dropped");
    assert!(took < Duration::from_secs(3), "{took:?}");
    eprintln!("bsd-ftpd: {took:?}: {message}");
}

// ---------------------------------------------------------------------------------------
// Certificates, against vsftpd (explicit)

#[test]
fn certificate_right_ca_works() {
    if !support::real::servers_up("certificate_right_ca_works") {
        return;
    }
    let s = server(Tls::VsftpdExplicit);
    for host in ["127.0.0.1", "localhost"] {
        let (mut c, _) = own_client(explicit, 1);
        connect_login(&mut c, &s, host).unwrap();
        assert_eq!(hello(&mut c), b"hello from vsftpd\n");
        c.quit().unwrap();
    }
}

#[test]
fn certificate_system_store_alone_is_refused() {
    if !support::real::servers_up("certificate_system_store_alone_is_refused") {
        return;
    }
    let s = server(Tls::VsftpdExplicit);
    let (mut c, _) = own_client(|cfg| cfg.tls_mode = TlsMode::Explicit, 1);
    let err = connect_login(&mut c, &s, &s.host).unwrap_err();
    // vsftpd sends the test CA along with its certificate (OpenSSL builds the chain from its
    // ca_certs_file), so the chain ends in an untrusted self-signed root.
    assert!(
        matches!(&err, Error::Certificate(m) if m.contains("self-signed certificate in certificate chain") || m.contains("unable to get local issuer certificate")),
        "{err:?}"
    );
    eprintln!("system store only: {err}");
    assert!(!c.is_connected());
}

#[test]
fn certificate_name_mismatch_is_refused() {
    if !support::real::servers_up("certificate_name_mismatch_is_refused") {
        return;
    }
    let s = server(Tls::VsftpdExplicit);
    // vsftpd listens on 127.0.0.1 only: 127.0.0.2 is refused before any TLS (the IP
    // mismatch is in tls_scripted.rs, against a scripted server bound to 127.0.0.2).
    let (mut c, _) = own_client(explicit, 1);
    match c.connect("127.0.0.2", s.port, None, None) {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::ConnectionRefused => {
            eprintln!("vsftpd does not listen on 127.0.0.2 (connection refused)");
        }
        other => panic!("expected connection refused on 127.0.0.2: {other:?}"),
    }
    // "127.1" is a host name to the client, 127.0.0.1 to the resolver, and not in the cert.
    let (mut c, _) = own_client(explicit, 1);
    let err = connect_login(&mut c, &s, "127.1").unwrap_err();
    assert!(matches!(&err, Error::Certificate(m) if m.contains("hostname mismatch")), "{err:?}");
    assert!(!c.is_connected());
}

#[test]
fn certificate_verification_off_works() {
    if !support::real::servers_up("certificate_verification_off_works") {
        return;
    }
    let s = server(Tls::VsftpdExplicit);
    // No CA and a name the certificate does not carry.
    let (mut c, trace) = own_client(
        |cfg| {
            cfg.tls_mode = TlsMode::Explicit;
            cfg.tls.verify = false;
        },
        1,
    );
    connect_login(&mut c, &s, "127.1").unwrap();
    assert!(c.is_tls());
    assert_eq!(hello(&mut c), b"hello from vsftpd\n");
    let lines = trace.take();
    assert!(lines.iter().any(|l| l == "*warning* TLS certificate verification is OFF"), "{lines:#?}");
    c.quit().unwrap();
}

#[test]
fn certificate_own_ssl_context() {
    if !support::real::servers_up("certificate_own_ssl_context") {
        return;
    }
    let s = server(Tls::VsftpdExplicit);
    let mut b = SslContextBuilder::new(SslMethod::tls_client()).unwrap();
    b.set_ca_file(ca()).unwrap();
    b.set_verify(SslVerifyMode::PEER);
    let ctx = b.build();
    let (mut c, trace) = own_client(
        |cfg| {
            cfg.tls_mode = TlsMode::Explicit;
            cfg.tls.context = Some(ctx);
        },
        2,
    );
    connect_login(&mut c, &s, &s.host).unwrap();
    assert!(c.is_tls() && c.data_protected());
    assert_eq!(hello(&mut c), b"hello from vsftpd\n");
    assert_eq!(hello(&mut c), b"hello from vsftpd\n");
    let lines = trace.take();
    assert!(!lines.iter().any(|l| l.contains("verification is OFF")), "{lines:#?}");
    assert_all_resumed("own context", &lines, 2);
    c.quit().unwrap();

    // The context really is the one used: one that trusts nothing fails verification,
    // although ca_file names the right CA.
    let mut b = SslContextBuilder::new(SslMethod::tls_client()).unwrap();
    b.set_verify(SslVerifyMode::PEER);
    let empty = b.build();
    let (mut c, _) = own_client(
        |cfg| {
            explicit(cfg);
            cfg.tls.context = Some(empty);
        },
        1,
    );
    let err = connect_login(&mut c, &s, &s.host).unwrap_err();
    assert!(matches!(err, Error::Certificate(_)), "{err:?}");
}

#[test]
fn certificate_client_certificate_is_offered() {
    if !support::real::servers_up("certificate_client_certificate_is_offered") {
        return;
    }
    // vsftpd asks for a client certificate (ssl_request_cert=YES) without requiring one.
    let s = server(Tls::VsftpdExplicit);
    let certs = env().path("FTPC_TEST_CERTS");
    let (mut c, _) = own_client(
        |cfg| {
            explicit(cfg);
            cfg.tls.cert_file = Some(certs.join("client.pem"));
            cfg.tls.key_file = Some(certs.join("client.key"));
        },
        1,
    );
    connect_login(&mut c, &s, &s.host).unwrap();
    assert_eq!(hello(&mut c), b"hello from vsftpd\n");
    c.quit().unwrap();
}

#[test]
fn certificate_ipv6_literal_against_pureftpd() {
    if !support::real::servers_up("certificate_ipv6_literal_against_pureftpd") {
        return;
    }
    if !env().ipv6() {
        eprintln!("no ::1 on this machine: skipped");
        return;
    }
    let mut s = server(Tls::PureFtpd);
    s.host = env().get("FTPC_TEST_HOST6").to_string();
    s.family = Family::V6;
    let (mut c, trace) = own_client(explicit, 2);
    connect_login(&mut c, &s, &s.host).unwrap();
    assert!(c.is_tls());
    assert_eq!(hello(&mut c), b"hello from pure-ftpd\n");
    assert_eq!(data_handshakes(&trace.take()).len(), 1);
    c.quit().unwrap();
}
