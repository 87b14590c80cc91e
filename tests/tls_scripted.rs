//! FTPS against the scripted server: AUTH refusals and misbehaviour, close_notify handling
//! on data connections, session resumption (TLS 1.3 tickets and TLS 1.2 session ids),
//! certificate failures, verification off, and implicit TLS.
//!
//! Certificates come from the test PKI of `tests/servers/certs.sh`: `FTPC_TEST_CERTS` from
//! the environment or from `target/ftp-servers/env`, else a fresh set made by certs.sh.

mod support;

use ftpc::{Client, Error, Flow, TlsMode};
use std::fs::File;
use std::io::{Read, Seek};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::certs::cert;
use support::scripted::{pattern_bytes, ScriptedServer, Step};

// ---------------------------------------------------------------------------------------
// Certificates

fn server_cert() -> (PathBuf, PathBuf) {
    (cert("server.pem"), cert("server.key"))
}

// ---------------------------------------------------------------------------------------
// Helpers

/// An explicit-FTPS client trusting the test CA, with short timeouts.
fn tls_client() -> Client {
    let mut c = Client::new_tls();
    let cfg = c.config_mut();
    cfg.connect_timeout = Some(Duration::from_secs(3));
    cfg.timeout = Duration::from_secs(3);
    cfg.data_connect_timeout = Some(Duration::from_secs(3));
    cfg.data_accept_timeout = Some(Duration::from_secs(3));
    cfg.data_timeout = Some(Duration::from_secs(3));
    cfg.tls.ca_file = Some(cert("ca.pem"));
    c
}

/// Every trace line of `c` from now on, at `level`.
fn capture_trace(c: &mut Client, level: u8) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    c.set_debuglevel(level);
    c.set_trace_sink(Some(Box::new(move |l: &str| sink.lock().unwrap().push(l.to_string()))));
    lines
}

fn joined(lines: &Arc<Mutex<Vec<String>>>) -> String {
    lines.lock().unwrap().join("\n")
}

/// Greeting, AUTH TLS and its handshake, login, PBSZ 0 and PROT P; then data connections
/// are TLS on the server side too.
fn prot_p_login(max12: bool) -> Vec<Step> {
    let (c, k) = server_cert();
    vec![
        Step::send("220 scripted\r\n"),
        Step::TlsMax12(max12),
        Step::reply("AUTH TLS", "234 Proceed with negotiation\r\n"),
        Step::tls_accept(c, k),
        Step::reply("USER", "331 Password required\r\n"),
        Step::reply("PASS", "230 Logged in\r\n"),
        Step::reply("PBSZ 0", "200 PBSZ=0\r\n"),
        Step::reply("PROT P", "200 Protection level set to P\r\n"),
        Step::DataTls(true),
    ]
}

/// TYPE I, EPSV, the transfer command and the data connection, up to the 150 reply (which
/// announces `announce` bytes when given). The TLS handshake happens at the next data step.
fn open_transfer(cmd: &str, announce: Option<u64>) -> Vec<Step> {
    let size = announce.map_or(String::new(), |n| format!(" ({n} bytes)"));
    vec![
        Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
        Step::EpsvReply,
        Step::expect(cmd),
        Step::DataAccept,
        Step::send(format!("150 Opening BINARY mode data connection{size}\r\n")),
    ]
}

/// A whole download of `n` pattern bytes ending with close_notify and 226.
fn download(name: &str, n: u64) -> Vec<Step> {
    let mut steps = open_transfer(&format!("RETR {name}"), Some(n));
    steps.extend([Step::DataSendPattern(n), Step::DataClose, Step::send("226 Transfer complete.\r\n")]);
    steps
}

/// A whole upload: read to the client's close_notify/EOF, close, 226.
fn upload(name: &str) -> Vec<Step> {
    let mut steps = open_transfer(&format!("STOR {name}"), None);
    steps.extend([Step::DataRecvToEof, Step::DataClose, Step::send("226 Transfer complete.\r\n")]);
    steps
}

fn retr(c: &mut Client, name: &str) -> ftpc::Result<Vec<u8>> {
    let mut got = Vec::new();
    c.retrbinary(
        format!("RETR {name}").as_bytes(),
        &mut |b| {
            got.extend_from_slice(b);
            Flow::Continue(())
        },
        0,
        None,
    )?;
    Ok(got)
}

fn start(steps: Vec<Step>) -> ScriptedServer {
    ScriptedServer::start(steps)
}

fn connect(c: &mut Client, host: &str, server: &ScriptedServer) -> ftpc::Result<ftpc::Reply> {
    c.connect(host, server.port(), None, None)
}

fn logged_in(steps: Vec<Step>) -> (ScriptedServer, Client) {
    let server = start(steps);
    let mut c = tls_client();
    connect(&mut c, "127.0.0.1", &server).unwrap();
    c.login("u", "p", "").unwrap();
    assert!(c.is_tls() && c.data_protected());
    (server, c)
}

fn temp_file(tag: &str) -> (PathBuf, File) {
    let path = std::env::temp_dir().join(format!("ftpc-tls-scripted-{}-{tag}", std::process::id()));
    let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
    (path, file)
}

// ---------------------------------------------------------------------------------------
// AUTH TLS

#[test]
fn auth_refused_is_tls_error_and_nothing_follows() {
    for (reply, code) in [
        ("534 Local policy on server does not allow TLS\r\n", 534),
        ("500 AUTH not understood\r\n", 500),
        ("431 Unable to accept security mechanism\r\n", 431),
    ] {
        let server = start(vec![Step::send("220 scripted\r\n"), Step::reply("AUTH TLS", reply), Step::ExpectClose]);
        let mut c = tls_client();
        connect(&mut c, "127.0.0.1", &server).unwrap();
        let err = c.login("u", "secret", "").unwrap_err();
        assert!(
            matches!(&err, Error::Tls(m) if m.contains("refused AUTH TLS") && m.contains(&code.to_string())),
            "{reply}: {err:?}"
        );
        assert_eq!(c.last_reply().map(|r| r.code), Some(code));
        assert!(!c.is_connected(), "the connection is closed after a refused AUTH");
        assert!(matches!(c.voidcmd(b"NOOP"), Err(Error::WrongState(_))));
        let t = server.finish();
        t.assert_ok(); // ExpectClose: the client closed and sent nothing more
        assert_eq!(t.commands_str(), ["AUTH TLS"], "no USER/PASS in clear text after the refusal");
    }
    // The same through `auth()` on a plain client.
    let server = start(vec![Step::send("220 scripted\r\n"), Step::reply("AUTH TLS", "534 no\r\n"), Step::ExpectClose]);
    let mut c = Client::new();
    connect(&mut c, "127.0.0.1", &server).unwrap();
    assert!(matches!(c.auth(), Err(Error::Tls(_))));
    assert!(!c.is_connected());
    let t = server.finish();
    t.assert_ok();
    assert_eq!(t.commands_str(), ["AUTH TLS"]);
}

#[test]
fn garbage_instead_of_server_hello_is_tls_error() {
    let server = start(vec![
        Step::send("220 scripted\r\n"),
        Step::reply("AUTH TLS", "234 Proceed\r\n"),
        // Let the client read the 234 alone and start its handshake (else this would be
        // data after 234, a different failure).
        Step::Sleep(Duration::from_secs(1)),
        Step::SendRaw(b"220 this is not a ServerHello\r\n\x00\x01\x02\x03garbage garbage garbage\r\n".to_vec()),
    ]);
    let mut c = tls_client();
    connect(&mut c, "127.0.0.1", &server).unwrap();
    let err = c.login("u", "p", "").unwrap_err();
    assert!(matches!(&err, Error::Tls(m) if m.contains("handshake failed (control connection)")), "{err:?}");
    assert!(!c.is_connected());
    assert!(!c.is_tls());
    let t = server.finish();
    t.assert_ok();
    assert_eq!(t.commands_str(), ["AUTH TLS"]);
}

#[test]
fn data_after_234_is_refused_without_handshake() {
    let server = start(vec![
        Step::send("220 scripted\r\n"),
        Step::expect("AUTH TLS"),
        // One write: the injected line arrives with the 234, in clear text.
        Step::send("234 go\r\n220 injected\r\n"),
        // A ClientHello here would be "sent more" and fail the script.
        Step::ExpectClose,
    ]);
    let mut c = tls_client();
    connect(&mut c, "127.0.0.1", &server).unwrap();
    let err = c.login("u", "p", "").unwrap_err();
    assert!(matches!(&err, Error::Tls(m) if m.contains("data after its 234 reply")), "{err:?}");
    assert!(!c.is_connected());
    let t = server.finish();
    t.assert_ok();
    assert_eq!(t.commands_str(), ["AUTH TLS"]);
}

#[test]
fn auth_on_tls_connection_is_wrong_state() {
    let mut steps = prot_p_login(false);
    steps.push(Step::reply("NOOP", "200 NOOP ok\r\n"));
    let (server, mut c) = logged_in(steps);
    let err = c.auth().unwrap_err();
    assert!(matches!(&err, Error::WrongState(m) if m.contains("already TLS")), "{err:?}");
    // Nothing was sent and the connection is still usable.
    assert_eq!(c.voidcmd(b"NOOP").unwrap().code, 200);
    let t = server.finish();
    t.assert_ok();
    assert_eq!(t.commands_str(), ["AUTH TLS", "USER u", "PASS p", "PBSZ 0", "PROT P", "NOOP"]);
}

// ---------------------------------------------------------------------------------------
// close_notify and truncation on TLS data connections

/// A download whose data connection ends with a bare FIN (no close_notify), then `final_reply`.
fn no_notify_download(n: u64, final_reply: &str) -> Vec<Step> {
    let mut steps = prot_p_login(false);
    steps.extend(open_transfer("RETR f", Some(n)));
    steps.extend([Step::DataSendPattern(n), Step::DataCloseNoNotify, Step::send(final_reply)]);
    steps
}

#[test]
fn no_close_notify_then_226_is_success() {
    let n = 200_000;
    let (server, mut c) = logged_in(no_notify_download(n, "226 Transfer complete.\r\n"));
    let got = retr(&mut c, "f").unwrap();
    assert_eq!(got, pattern_bytes(n as usize));
    assert_eq!(c.last_reply().unwrap().code, 226);
    server.finish().assert_ok();

    // The same into a file descriptor.
    let (path, mut file) = temp_file("nonotify");
    let (server, mut c) = logged_in(no_notify_download(n, "226 Transfer complete.\r\n"));
    assert_eq!(c.retrieve_to_fd(b"f", file.as_raw_fd(), None, None).unwrap(), n);
    file.rewind().unwrap();
    let mut back = Vec::new();
    file.read_to_end(&mut back).unwrap();
    assert_eq!(back, pattern_bytes(n as usize));
    server.finish().assert_ok();
    std::fs::remove_file(path).unwrap();
}

#[test]
fn no_close_notify_then_failure_reply_is_truncated() {
    for (reply, code) in
        [("426 Connection closed; transfer aborted.\r\n", 426), ("451 Local error in processing.\r\n", 451)]
    {
        // The server announces the full size but cuts early: no close_notify, then 4xx.
        let mut steps = prot_p_login(false);
        steps.extend(open_transfer("RETR f", Some(1_000_000)));
        steps.extend([
            Step::DataSendPattern(300_000),
            Step::DataCloseNoNotify,
            Step::send(reply),
            Step::reply("NOOP", "200 ok\r\n"),
        ]);
        let (server, mut c) = logged_in(steps);
        let err = retr(&mut c, "f").unwrap_err();
        assert!(
            matches!(&err, Error::Truncated(m) if m.contains("without close_notify") && m.contains(&code.to_string())),
            "{reply}: {err:?}"
        );
        // The final reply was read: the control connection is in step.
        assert_eq!(c.voidcmd(b"NOOP").unwrap().code, 200);
        server.finish().assert_ok();

        // The same when no size was announced.
        let mut steps = prot_p_login(false);
        steps.extend(open_transfer("RETR f", None));
        steps.extend([Step::DataSendPattern(1000), Step::DataCloseNoNotify, Step::send(reply)]);
        let (server, mut c) = logged_in(steps);
        let (path, file) = temp_file(&format!("trunc{code}"));
        let err = c.retrieve_to_fd(b"f", file.as_raw_fd(), None, None).unwrap_err();
        assert!(matches!(&err, Error::Truncated(m) if m.contains(&code.to_string())), "{reply}: {err:?}");
        server.finish().assert_ok();
        std::fs::remove_file(path).unwrap();
    }
}

#[test]
fn short_tls_download_with_close_notify_and_226_is_truncated() {
    let mut steps = prot_p_login(false);
    steps.extend(open_transfer("RETR f", Some(1000)));
    steps.extend([
        Step::DataSendPattern(600),
        Step::DataClose,
        Step::send("226 Transfer complete.\r\n"),
        Step::reply("NOOP", "200 ok\r\n"),
    ]);
    let (server, mut c) = logged_in(steps);
    let err = retr(&mut c, "f").unwrap_err();
    assert!(matches!(&err, Error::Truncated(m) if m.contains("600 of the 1000")), "{err:?}");
    assert_eq!(c.voidcmd(b"NOOP").unwrap().code, 200);
    server.finish().assert_ok();
}

// ---------------------------------------------------------------------------------------
// Session resumption and close_notify sent by the client

#[test]
fn data_connections_resume_the_control_session() {
    for (max12, version) in [(false, "TLSv1.3"), (true, "TLSv1.2")] {
        let mut steps = prot_p_login(max12);
        steps.push(Step::DataTlsRequireReuse(true));
        steps.extend(download("a", 100_000));
        steps.extend(download("b", 5));
        steps.extend(upload("c"));
        let server = start(steps);
        let mut c = tls_client();
        let trace = capture_trace(&mut c, 2);
        connect(&mut c, "127.0.0.1", &server).unwrap();
        c.login("u", "p", "").unwrap();
        assert_eq!(retr(&mut c, "a").unwrap(), pattern_bytes(100_000));
        assert_eq!(retr(&mut c, "b").unwrap(), pattern_bytes(5));
        let up = pattern_bytes(70_000);
        c.storbinary(b"STOR c", &mut &up[..], 0, None, None).unwrap();
        let t = server.finish();
        t.assert_ok(); // a data connection that did not resume would have failed the script
        assert_eq!(t.data_conns.len(), 3);
        for (i, d) in t.data_conns.iter().enumerate() {
            assert!(d.tls && d.tls_resumed, "{version}: data connection {i}: {d:?}");
        }
        assert_eq!(t.data_received[2], up);
        let trace = joined(&trace);
        assert!(trace.contains(&format!("*tls* control connection: {version}")), "{trace}");
        assert_eq!(trace.matches(&format!("*tls* data connection: {version}")).count(), 3, "{trace}");
        assert_eq!(trace.matches(", session resumed").count(), 3, "{trace}");
    }
}

#[test]
fn client_sends_close_notify_on_uploads() {
    let mut steps = prot_p_login(false);
    steps.extend(upload("one"));
    steps.extend(upload("two"));
    let (server, mut c) = logged_in(steps);
    let data = pattern_bytes(300_000);
    assert_eq!(c.storbinary(b"STOR one", &mut &data[..], 8192, None, None).unwrap().code, 226);
    let (path, mut file) = temp_file("upload");
    std::io::Write::write_all(&mut file, &data[..123_456]).unwrap();
    file.rewind().unwrap();
    assert_eq!(c.store_from_fd(b"two", file.as_raw_fd(), None, false, None).unwrap(), 123_456);
    let t = server.finish();
    t.assert_ok();
    assert_eq!(t.data_received[0], data);
    assert_eq!(t.data_received[1], &data[..123_456]);
    for (i, d) in t.data_conns.iter().enumerate() {
        assert!(d.tls && d.tls_close_notify_received, "upload {i} ended without close_notify: {d:?}");
    }
    std::fs::remove_file(path).unwrap();
}

// ---------------------------------------------------------------------------------------
// Certificates

#[test]
fn self_signed_server_certificate_is_refused() {
    let server = start(vec![
        Step::send("220 scripted\r\n"),
        Step::reply("AUTH TLS", "234 Proceed\r\n"),
        Step::TlsAcceptExpectFail { cert: cert("selfsigned.pem"), key: cert("selfsigned.key") },
    ]);
    let mut c = tls_client();
    connect(&mut c, "127.0.0.1", &server).unwrap();
    let err = c.login("u", "p", "").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Certificate(_)), "{err:?}");
    assert!(msg.contains("self-signed") || msg.contains("self signed"), "{msg}");
    assert!(!c.is_connected());
    let t = server.finish();
    t.assert_ok();
    assert_eq!(t.commands_str(), ["AUTH TLS"]);
    assert!(t.events.iter().any(|e| e.contains("as expected")), "{:?}", t.events);
}

#[test]
fn certificate_for_other_ip_is_refused() {
    // server.pem names localhost, 127.0.0.1 and ::1; 127.0.0.2 is loopback too on Linux.
    let steps = || {
        let (c, k) = server_cert();
        vec![
            Step::send("220 scripted\r\n"),
            Step::reply("AUTH TLS", "234 Proceed\r\n"),
            Step::TlsAcceptExpectFail { cert: c, key: k },
        ]
    };
    let server = ScriptedServer::try_start_on("127.0.0.2:0", steps()).expect("binding 127.0.0.2 (loopback)");
    let mut c = tls_client();
    connect(&mut c, "127.0.0.2", &server).unwrap();
    let err = c.login("u", "p", "").unwrap_err();
    assert!(matches!(&err, Error::Certificate(m) if m.contains("IP address mismatch")), "{err:?}");
    assert!(!c.is_connected());
    let t = server.finish();
    t.assert_ok();
    assert_eq!(t.commands_str(), ["AUTH TLS"]);
}

#[test]
fn certificate_for_other_host_name_is_refused() {
    // "127.1" is a name to the client (not an IP literal) that the resolver maps to
    // 127.0.0.1; the certificate does not carry it.
    use std::net::ToSocketAddrs;
    let resolved: Vec<_> = ("127.1", 21).to_socket_addrs().unwrap().collect();
    assert!(resolved.iter().all(|a| a.ip() == std::net::Ipv4Addr::LOCALHOST), "{resolved:?}");
    let (cert_file, key) = server_cert();
    let server = start(vec![
        Step::send("220 scripted\r\n"),
        Step::reply("AUTH TLS", "234 Proceed\r\n"),
        Step::TlsAcceptExpectFail { cert: cert_file, key },
    ]);
    let mut c = tls_client();
    connect(&mut c, "127.1", &server).unwrap();
    let err = c.login("u", "p", "").unwrap_err();
    assert!(matches!(&err, Error::Certificate(m) if m.contains("hostname mismatch")), "{err:?}");
    server.finish().assert_ok();
}

#[test]
fn verification_off_accepts_anything_and_says_so() {
    // A self-signed certificate, reached at an address it does not name.
    let mut steps = vec![
        Step::send("220 scripted\r\n"),
        Step::reply("AUTH TLS", "234 Proceed\r\n"),
        Step::tls_accept(cert("selfsigned.pem"), cert("selfsigned.key")),
        Step::reply("USER", "331 Password required\r\n"),
        Step::reply("PASS", "230 Logged in\r\n"),
        Step::reply("PBSZ 0", "200 PBSZ=0\r\n"),
        Step::reply("PROT P", "200 Protection level set to P\r\n"),
        Step::DataTls(true),
        Step::DataTlsRequireReuse(true),
    ];
    steps.extend(download("f", 4096));
    let server = ScriptedServer::try_start_on("127.0.0.2:0", steps).expect("binding 127.0.0.2 (loopback)");
    let mut c = tls_client();
    c.config_mut().tls.verify = false;
    let trace = capture_trace(&mut c, 1);
    connect(&mut c, "127.0.0.2", &server).unwrap();
    c.login("u", "p", "").unwrap();
    assert!(c.is_tls());
    assert_eq!(retr(&mut c, "f").unwrap(), pattern_bytes(4096));
    let t = server.finish();
    t.assert_ok();
    assert!(t.data_conns[0].tls_resumed);
    let trace = joined(&trace);
    assert!(trace.contains("*warning* TLS certificate verification is OFF"), "{trace}");
}

// ---------------------------------------------------------------------------------------
// Implicit TLS

#[test]
fn implicit_tls_handshake_comes_before_the_greeting() {
    let (cert_file, key) = server_cert();
    let mut steps = vec![
        Step::tls_accept(cert_file, key),
        Step::send("220 implicit scripted\r\n"),
        Step::reply("USER", "331 Password required\r\n"),
        Step::reply("PASS", "230 Logged in\r\n"),
        Step::reply("PBSZ 0", "200 PBSZ=0\r\n"),
        Step::reply("PROT P", "200 Protection level set to P\r\n"),
        Step::DataTls(true),
        Step::DataTlsRequireReuse(true),
    ];
    steps.extend(download("f", 65_536));
    steps.extend(upload("g"));
    let server = start(steps);
    let mut c = tls_client();
    c.config_mut().tls_mode = TlsMode::Implicit;
    let welcome = connect(&mut c, "127.0.0.1", &server).unwrap();
    assert_eq!(welcome.code, 220);
    assert!(c.is_tls(), "TLS before the greeting");
    assert!(matches!(c.auth(), Err(Error::WrongState(_))));
    c.login("u", "p", "").unwrap();
    assert!(c.data_protected());
    assert_eq!(retr(&mut c, "f").unwrap(), pattern_bytes(65_536));
    let up = pattern_bytes(10_000);
    c.storbinary(b"STOR g", &mut &up[..], 0, None, None).unwrap();
    let t = server.finish();
    t.assert_ok();
    assert_eq!(
        t.commands_str(),
        ["USER u", "PASS p", "PBSZ 0", "PROT P", "TYPE I", "EPSV", "RETR f", "TYPE I", "EPSV", "STOR g"]
    );
    assert!(t.data_conns.iter().all(|d| d.tls && d.tls_resumed), "{:?}", t.data_conns);
    assert!(t.data_conns[1].tls_close_notify_received);
    assert_eq!(t.data_received[1], up);
}

#[test]
fn implicit_tls_with_bad_certificate_fails_before_greeting() {
    let server = start(vec![Step::TlsAcceptExpectFail { cert: cert("selfsigned.pem"), key: cert("selfsigned.key") }]);
    let mut c = tls_client();
    c.config_mut().tls_mode = TlsMode::Implicit;
    let err = connect(&mut c, "127.0.0.1", &server).unwrap_err();
    assert!(matches!(err, Error::Certificate(_)), "{err:?}");
    assert!(!c.is_connected());
    assert!(c.welcome().is_none());
    let t = server.finish();
    t.assert_ok();
    assert!(t.commands.is_empty());
}

// ---------------------------------------------------------------------------------------
// CCC (the scripted server has no step for a TLS shutdown back to clear text, so this test
// plays the server by hand)

/// One CRLF line, read a byte at a time so nothing after it is consumed.
fn read_line_from(r: &mut impl Read) -> Result<String, String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match r.read(&mut byte) {
            Ok(0) => return Err(format!("EOF after {:?}", String::from_utf8_lossy(&line))),
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

#[test]
fn ccc_goes_back_to_clear_text_keeping_the_reply_timeout() {
    use openssl::ssl::{ShutdownResult, SslAcceptor, SslFiletype, SslMethod};
    use std::io::Write;
    use std::net::TcpListener;

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (cert_file, key) = server_cert();
    // The NOOP after CCC is answered late: longer than the 5 s bound of the TLS shutdown,
    // shorter than the client's reply timeout.
    let delay = Duration::from_millis(6500);
    let server = std::thread::spawn(move || -> Result<Vec<String>, String> {
        let mut seen = Vec::new();
        let (mut tcp, _) = listener.accept().map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        tcp.write_all(b"220 ccc test\r\n").unwrap();
        seen.push(read_line_from(&mut tcp)?);
        tcp.write_all(b"234 go\r\n").unwrap();
        let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
        b.set_certificate_chain_file(&cert_file).unwrap();
        b.set_private_key_file(&key, SslFiletype::PEM).unwrap();
        let acceptor = b.build();
        let mut tls = acceptor.accept(tcp.try_clone().unwrap()).map_err(|e| format!("handshake: {e}"))?;
        for reply in
            ["331 pass\r\n", "230 in\r\n", "200 PBSZ=0\r\n", "200 PROT P\r\n", "200 clear text from now on\r\n"]
        {
            seen.push(read_line_from(&mut tls)?);
            tls.write_all(reply.as_bytes()).unwrap();
        }
        // close_notify both ways, then the same TCP connection in clear text.
        let mut got_notify = false;
        for _ in 0..2 {
            match tls.shutdown() {
                Ok(ShutdownResult::Received) => {
                    got_notify = true;
                    break;
                }
                Ok(ShutdownResult::Sent) => {}
                Err(e) => return Err(format!("TLS shutdown: {e}")),
            }
        }
        seen.push(format!("client close_notify: {got_notify}"));
        drop(tls);
        seen.push(read_line_from(&mut tcp)?);
        std::thread::sleep(delay);
        tcp.write_all(b"200 NOOP, slowly\r\n").unwrap();
        seen.push(read_line_from(&mut tcp)?);
        tcp.write_all(b"221 bye\r\n").unwrap();
        Ok(seen)
    });

    let mut c = tls_client();
    c.config_mut().timeout = Duration::from_secs(15);
    c.connect("127.0.0.1", port, None, None).unwrap();
    c.login("u", "p", "").unwrap();
    assert!(c.is_tls());
    let t0 = std::time::Instant::now();
    assert_eq!(c.ccc().unwrap().code, 200);
    assert!(t0.elapsed() < Duration::from_secs(2), "CCC took {:?}", t0.elapsed());
    assert!(!c.is_tls() && c.is_connected());
    let reply = c.voidcmd(b"NOOP").unwrap_or_else(|e| panic!("NOOP after CCC: {e:?}"));
    assert_eq!(reply.code, 200);
    assert_eq!(c.quit().unwrap().code, 221);
    let seen = server.join().unwrap().unwrap();
    assert_eq!(
        seen,
        ["AUTH TLS", "USER u", "PASS p", "PBSZ 0", "PROT P", "CCC", "client close_notify: true", "NOOP", "QUIT"]
    );
}

// ---------------------------------------------------------------------------------------
// TLS options that cannot be used

#[test]
fn unusable_tls_options_fail_before_auth_is_sent() {
    type Setter = fn(&mut ftpc::TlsConfig);
    let cases: [(&str, Setter); 2] = [
        ("loading CA file", |t| t.ca_file = Some(PathBuf::from("/nonexistent/ftpc-ca.pem"))),
        ("key values mismatch", |t| {
            t.cert_file = Some(cert("client.pem"));
            t.key_file = Some(cert("server.key"));
        }),
    ];
    for (want, set) in cases {
        let server = start(vec![Step::send("220 scripted\r\n"), Step::reply("NOOP", "200 still in step\r\n")]);
        let mut c = tls_client();
        set(&mut c.config_mut().tls);
        connect(&mut c, "127.0.0.1", &server).unwrap();
        let err = c.login("u", "p", "").unwrap_err();
        assert!(matches!(&err, Error::Tls(m) if m.contains(want)), "{want}: {err:?}");
        // Nothing went out: the connection is in step, still in clear text.
        assert!(c.is_connected() && !c.is_tls());
        assert_eq!(c.voidcmd(b"NOOP").unwrap().code, 200);
        let t = server.finish();
        t.assert_ok();
        assert_eq!(t.commands_str(), ["NOOP"], "{want}");
    }
}

#[test]
fn implicit_tls_with_unusable_options_leaves_no_connection() {
    let server = start(vec![Step::ExpectClose]);
    let mut c = tls_client();
    c.config_mut().tls_mode = TlsMode::Implicit;
    c.config_mut().tls.ca_file = Some(PathBuf::from("/nonexistent/ftpc-ca.pem"));
    let err = connect(&mut c, "127.0.0.1", &server).unwrap_err();
    assert!(matches!(&err, Error::Tls(m) if m.contains("loading CA file")), "{err:?}");
    assert!(!c.is_connected(), "a connection without its TLS is of no use");
    assert!(matches!(c.voidcmd(b"NOOP"), Err(Error::WrongState(_))));
    let t = server.finish();
    t.assert_ok();
    assert!(t.commands.is_empty());
}
