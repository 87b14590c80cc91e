//! The core client against the scripted server: replies and behaviour real servers do not show.

mod support;

use ftpc::{Client, Error};
use std::time::{Duration, Instant};
use support::scripted::{login_prelude, ScriptedServer, Step};

fn connect(server: &ScriptedServer) -> Client {
    let mut c = Client::new();
    c.connect("127.0.0.1", server.port(), Some(Duration::from_secs(5)), None).unwrap();
    c
}

fn logged_in(mut extra: Vec<Step>) -> (ScriptedServer, Client) {
    let mut steps = login_prelude();
    steps.append(&mut extra);
    let server = ScriptedServer::start(steps);
    let mut c = connect(&server);
    c.login("u", "p", "").unwrap();
    (server, c)
}

#[test]
fn multi_line_greeting_is_kept_whole() {
    let server =
        ScriptedServer::start(vec![Step::send("220-Welcome\r\n220-to the\r\n 220 indented\r\n220 server\r\n")]);
    let c = connect(&server);
    assert_eq!(c.welcome().unwrap().text, b"220-Welcome\n220-to the\n 220 indented\n220 server");
    assert_eq!(c.welcome().unwrap().code, 220);
    server.finish().assert_ok();
}

#[test]
fn temporary_greeting_is_temp_error() {
    let server = ScriptedServer::start(vec![Step::send("421 Too many users\r\n")]);
    let mut c = Client::new();
    let err = c.connect("127.0.0.1", server.port(), Some(Duration::from_secs(5)), None).unwrap_err();
    assert!(matches!(err, Error::Temp(ref r) if r.code == 421), "{err:?}");
    assert!(!c.is_connected());
    assert_eq!(c.last_reply().unwrap().code, 421);
    server.finish().assert_ok();
}

#[test]
fn permanent_greeting_is_perm_error() {
    let server = ScriptedServer::start(vec![Step::send("530 Go away\r\n")]);
    let mut c = Client::new();
    let err = c.connect("127.0.0.1", server.port(), Some(Duration::from_secs(5)), None).unwrap_err();
    assert!(matches!(err, Error::Perm(ref r) if r.code == 530), "{err:?}");
    server.finish().assert_ok();
}

#[test]
fn eof_in_the_middle_of_a_reply() {
    let server = ScriptedServer::start(vec![Step::send("220-first line\r\n220-second"), Step::Close]);
    let mut c = Client::new();
    let err = c.connect("127.0.0.1", server.port(), Some(Duration::from_secs(5)), None).unwrap_err();
    assert!(matches!(err, Error::Eof(m) if m.contains("middle")), "{err:?}");
    assert!(!c.is_connected());
    server.finish().assert_ok();
}

#[test]
fn overlong_line_is_an_error_and_bounded() {
    let mut long = b"220 ".to_vec();
    long.resize(100_000, b'x');
    long.extend_from_slice(b"\r\n");
    let server = ScriptedServer::start(vec![Step::Send(long)]);
    let mut c = Client::new();
    let err = c.connect("127.0.0.1", server.port(), Some(Duration::from_secs(5)), None).unwrap_err();
    assert!(matches!(err, Error::LineTooLong(8192)), "{err:?}");
    drop(server);
}

/// Whether an error is the one a case expects.
type ErrorCheck = fn(&Error) -> bool;

#[test]
fn reply_classes() {
    let cases: [(&str, ErrorCheck); 6] = [
        ("400 temp\r\n", |e| matches!(e, Error::Temp(r) if r.code == 400)),
        ("499 temp\r\n", |e| matches!(e, Error::Temp(r) if r.code == 499)),
        ("500 perm\r\n", |e| matches!(e, Error::Perm(r) if r.code == 500)),
        ("599 perm\r\n", |e| matches!(e, Error::Perm(r) if r.code == 599)),
        ("999 what\r\n", |e| matches!(e, Error::Proto(_))),
        ("099 what\r\n", |e| matches!(e, Error::Proto(_))),
    ];
    for (reply, check) in cases {
        let (server, mut c) = logged_in(vec![Step::reply("NOOP", reply)]);
        let err = c.sendcmd(b"NOOP").unwrap_err();
        assert!(check(&err), "{reply}: {err:?}");
        server.finish().assert_ok();
    }
}

#[test]
fn voidcmd_wants_2xx() {
    let (server, mut c) = logged_in(vec![
        Step::reply("NOOP", "199 preliminary\r\n"),
        Step::reply("NOOP", "300 more\r\n"),
        Step::reply("NOOP", "200 fine\r\n"),
        Step::reply("SITE", "350 sendcmd takes 3xx\r\n"),
    ]);
    assert!(matches!(c.voidcmd(b"NOOP"), Err(Error::Reply(r)) if r.code == 199));
    assert!(matches!(c.voidcmd(b"NOOP"), Err(Error::Reply(r)) if r.code == 300));
    assert_eq!(c.voidcmd(b"NOOP").unwrap().code, 200);
    assert_eq!(c.sendcmd(b"SITE X").unwrap().code, 350);
    server.finish().assert_ok();
}

#[test]
fn login_with_acct_and_anonymous() {
    let server = ScriptedServer::start(vec![
        Step::send("220 hi\r\n"),
        Step::reply("USER bob", "331 pass\r\n"),
        Step::reply("PASS secret", "332 need account\r\n"),
        Step::reply("ACCT acc", "230 in\r\n"),
    ]);
    let mut c = connect(&server);
    assert_eq!(c.login("bob", "secret", "acc").unwrap().code, 230);
    server.finish().assert_ok();

    let server = ScriptedServer::start(vec![
        Step::send("220 hi\r\n"),
        Step::expect_exact("USER anonymous"),
        Step::send("331 pass\r\n"),
        Step::expect_exact("PASS -anonymous@"),
        Step::send("230 in\r\n"),
    ]);
    let mut c = connect(&server);
    c.login("", "-", "").unwrap();
    server.finish().assert_ok();

    // USER answered 230 directly: no PASS.
    let server = ScriptedServer::start(vec![
        Step::send("220 hi\r\n"),
        Step::reply("USER", "230 no password needed\r\n"),
        Step::reply("NOOP", "200 ok\r\n"),
    ]);
    let mut c = connect(&server);
    c.login("x", "y", "").unwrap();
    c.voidcmd(b"NOOP").unwrap();
    server.finish().assert_ok();

    // The end of the login must be 2xx.
    let server = ScriptedServer::start(vec![
        Step::send("220 hi\r\n"),
        Step::reply("USER", "331 pass\r\n"),
        Step::reply("PASS", "332 account\r\n"),
        Step::reply("ACCT", "150 odd\r\n"),
    ]);
    let mut c = connect(&server);
    assert!(matches!(c.login("x", "y", "z"), Err(Error::Reply(r)) if r.code == 150));
    server.finish().assert_ok();

    // A bad password is a 5xx.
    let server = ScriptedServer::start(vec![
        Step::send("220 hi\r\n"),
        Step::reply("USER", "331 pass\r\n"),
        Step::reply("PASS", "530 Login incorrect.\r\n"),
    ]);
    let mut c = connect(&server);
    assert!(matches!(c.login("x", "y", ""), Err(Error::Perm(r)) if r.code == 530));
    server.finish().assert_ok();
}

#[test]
fn line_breaks_in_arguments_send_nothing() {
    let (server, mut c) = logged_in(vec![Step::reply("NOOP", "200 ok\r\n")]);
    for bad in [&b"CWD a\r\nDELE x"[..], b"NOOP\n", b"NO\0OP"] {
        assert!(matches!(c.sendcmd(bad), Err(Error::InvalidArgument(_))));
    }
    assert!(matches!(c.cwd(b"a\r\nDELE b"), Err(Error::InvalidArgument(_))));
    assert!(matches!(c.rename(b"a", b"b\nc"), Err(Error::InvalidArgument(_))));
    assert!(matches!(c.login("u\r\n", "p", ""), Err(Error::InvalidArgument(_))));
    // Invalid UTF-8 in the default encoding: nothing sent either.
    assert!(matches!(c.cwd(b"\xff\xfe"), Err(Error::Encoding(_))));
    c.voidcmd(b"NOOP").unwrap();
    let t = server.finish();
    t.assert_ok();
    assert_eq!(t.commands_str(), vec!["USER u", "PASS p", "NOOP"]);
}

#[test]
fn pwd_and_mkd_parse257() {
    let (server, mut c) = logged_in(vec![
        Step::reply("PWD", "257 \"/home/with \"\"quotes\"\"\" is current\r\n"),
        Step::reply("PWD", "250 odd server\r\n"),
        Step::reply("MKD new", "257 \"/new\" created\r\n"),
        Step::reply("MKD other", "257 created, no quotes\r\n"),
        Step::reply("MKD third", "250 ok\r\n"),
    ]);
    assert_eq!(c.pwd().unwrap(), b"/home/with \"quotes\"");
    assert_eq!(c.pwd().unwrap(), b"");
    assert_eq!(c.mkd(b"new").unwrap(), b"/new");
    assert_eq!(c.mkd(b"other").unwrap(), b"");
    assert_eq!(c.mkd(b"third").unwrap(), b"");
    server.finish().assert_ok();
}

#[test]
fn cwd_dotdot_and_empty() {
    let (server, mut c) = logged_in(vec![
        Step::reply("CDUP", "250 ok\r\n"),
        Step::reply("CDUP", "500 unknown\r\n"),
        Step::reply("CWD ..", "250 ok\r\n"),
        Step::expect_exact("CWD ."),
        Step::send("250 ok\r\n"),
        Step::reply("CDUP", "550 no\r\n"),
    ]);
    c.cwd(b"..").unwrap();
    c.cwd(b"..").unwrap();
    c.cwd(b"").unwrap();
    assert!(matches!(c.cwd(b".."), Err(Error::Perm(r)) if r.code == 550));
    server.finish().assert_ok();
}

#[test]
fn delete_rename_size_rmd() {
    let (server, mut c) = logged_in(vec![
        Step::reply("DELE a", "199 what\r\n"),
        Step::reply("DELE b", "250 gone\r\n"),
        Step::reply("DELE c", "200 gone\r\n"),
        Step::reply("RNFR x", "200 should be 350\r\n"),
        Step::reply("RNFR x", "350 ok\r\n"),
        Step::reply("RNTO y", "250 renamed\r\n"),
        // The first SIZE of a session sends TYPE I first (SIZE depends on the type); later
        // ones find it in force.
        Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
        Step::reply("SIZE f", "213 1234\r\n"),
        Step::reply("SIZE g", "250 not a size\r\n"),
        Step::reply("SIZE h", "213 \r\n"),
        Step::reply("SIZE i", "550 no such file\r\n"),
        Step::reply("RMD d", "250 removed\r\n"),
    ]);
    assert!(matches!(c.delete(b"a"), Err(Error::Reply(r)) if r.code == 199));
    c.delete(b"b").unwrap();
    c.delete(b"c").unwrap();
    assert!(matches!(c.rename(b"x", b"y"), Err(Error::Reply(r)) if r.code == 200));
    c.rename(b"x", b"y").unwrap();
    assert_eq!(c.size(b"f").unwrap(), Some(1234));
    assert_eq!(c.size(b"g").unwrap(), None);
    assert_eq!(c.size(b"h").unwrap(), None);
    assert!(matches!(c.size(b"i"), Err(Error::Perm(r)) if r.code == 550));
    c.rmd(b"d").unwrap();
    server.finish().assert_ok();
}

/// SIZE after the type changed to ASCII (a listing, or the caller's own TYPE A) sends TYPE I
/// again first: ProFTPD refuses SIZE in ASCII mode, BSD ftpd counts the CRLFs.
#[test]
fn size_puts_image_type_back() {
    let (server, mut c) = logged_in(vec![
        Step::reply("TYPE A", "200 ascii\r\n"),
        Step::reply("TYPE I", "200 image\r\n"),
        Step::reply("SIZE f", "213 7\r\n"),
        Step::reply("SIZE f", "213 7\r\n"),
        Step::reply("type a", "200 ascii\r\n"),
        Step::reply("TYPE I", "200 image\r\n"),
        Step::reply("SIZE f", "213 7\r\n"),
    ]);
    c.voidcmd(b"TYPE A").unwrap();
    assert_eq!(c.size(b"f").unwrap(), Some(7));
    assert_eq!(c.size(b"f").unwrap(), Some(7), "TYPE I is in force: no TYPE before this SIZE");
    c.voidcmd(b"type a").unwrap();
    assert_eq!(c.size(b"f").unwrap(), Some(7));
    server.finish().assert_ok();
}

#[test]
fn quit_closes_even_on_error() {
    let (server, mut c) = logged_in(vec![Step::reply("QUIT", "550 no\r\n"), Step::ExpectClose]);
    assert!(matches!(c.quit(), Err(Error::Perm(r)) if r.code == 550));
    assert!(!c.is_connected());
    assert!(matches!(c.pwd(), Err(Error::WrongState(_))));
    server.finish().assert_ok();
}

#[test]
fn stalled_server_times_out() {
    let server = ScriptedServer::start(vec![
        Step::send("220 hi\r\n"),
        Step::expect("NOOP"),
        Step::Stall(Duration::from_secs(3)),
    ]);
    let mut c = Client::new();
    c.connect("127.0.0.1", server.port(), Some(Duration::from_millis(400)), None).unwrap();
    let start = Instant::now();
    let err = c.voidcmd(b"NOOP").unwrap_err();
    let waited = start.elapsed();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(waited >= Duration::from_millis(350) && waited < Duration::from_secs(2), "{waited:?}");
    assert!(!c.is_connected(), "a timed-out control connection is out of step and closed");
    drop(server);
}

#[test]
fn last_reply_is_the_last_commands_or_none() {
    let server = ScriptedServer::start(vec![
        Step::send("220 hi\r\n"),
        Step::Reply("NOOP".into(), b"200 fine\r\n".to_vec()),
        Step::expect("NOOP"),
        Step::Stall(Duration::from_secs(3)),
    ]);
    let mut c = Client::new();
    c.connect("127.0.0.1", server.port(), Some(Duration::from_millis(400)), None).unwrap();
    assert_eq!(c.last_reply().unwrap().code, 220);
    assert_eq!(c.peer_addr().unwrap().port(), server.port());
    assert!(c.local_addr().unwrap().ip().is_loopback());
    c.voidcmd(b"NOOP").unwrap();
    assert_eq!(c.last_reply().unwrap().code, 200);
    // The second NOOP gets no reply: the 200 of the first must not pass for its reply.
    assert!(matches!(c.voidcmd(b"NOOP"), Err(Error::Timeout(_))));
    assert!(c.last_reply().is_none());
    assert!(c.peer_addr().is_none() && c.local_addr().is_none());
    // A failed reconnect leaves no greeting of the earlier connection behind.
    assert!(c.welcome().is_some());
    assert!(c.connect("127.0.0.1", 1, Some(Duration::from_millis(400)), None).is_err());
    assert!(c.welcome().is_none() && c.last_reply().is_none());
    drop(server);
}

/// The canceller stops a reply wait within its 20 ms tick, long before the timeout; the
/// control connection, out of step, is closed; the request is used up.
#[test]
fn canceller_stops_a_reply_wait() {
    let server = ScriptedServer::start(vec![
        Step::send("220 hi\r\n"),
        Step::expect("NOOP"),
        Step::Stall(Duration::from_secs(5)),
    ]);
    let mut c = Client::new();
    c.connect("127.0.0.1", server.port(), Some(Duration::from_secs(10)), None).unwrap();
    let stop = c.canceller();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let started = Instant::now();
    let r = c.voidcmd(b"NOOP");
    let waited = started.elapsed();
    canceller.join().unwrap();
    assert!(matches!(r, Err(Error::Cancelled(_))), "{r:?}");
    assert!(waited >= Duration::from_millis(180) && waited < Duration::from_secs(2), "{waited:?}");
    assert!(!c.is_connected());
    assert!(!c.canceller().load(std::sync::atomic::Ordering::SeqCst), "the request was used up");
    drop(server);
}

/// The same for a connect that does not complete (a listener whose accept queue is full
/// drops the SYN) or, where the kernel completes it anyway, for the greeting that never
/// comes: `Cancelled` either way, within the tick.
#[test]
fn canceller_stops_a_connect() {
    let listener = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    listener.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    // Fill the accept queue: these are never accepted.
    let _queued: Vec<_> =
        (0..3).filter_map(|_| std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()).collect();
    let mut c = Client::new();
    let stop = c.canceller();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let started = Instant::now();
    let r = c.connect("127.0.0.1", addr.port(), Some(Duration::from_secs(10)), None);
    let waited = started.elapsed();
    canceller.join().unwrap();
    assert!(matches!(r, Err(Error::Cancelled(_))), "{r:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert!(!c.is_connected());
}

#[test]
fn zero_timeout_is_refused() {
    let mut c = Client::new();
    assert!(matches!(c.connect("127.0.0.1", 1, Some(Duration::ZERO), None), Err(Error::InvalidArgument(_))));
}

#[test]
fn reset_mid_session_is_io_or_eof() {
    let (server, mut c) = logged_in(vec![Step::expect("NOOP"), Step::Reset]);
    let err = c.voidcmd(b"NOOP").unwrap_err();
    assert!(matches!(err, Error::Io { .. } | Error::Eof(_)), "{err:?}");
    assert!(!c.is_connected());
    server.finish().assert_ok();
}

#[test]
fn source_address_and_ipv6() {
    let server = ScriptedServer::start(vec![Step::send("220 hi\r\n")]);
    let mut c = Client::new();
    c.connect("localhost", server.port(), None, Some("127.0.0.1:0".parse().unwrap())).unwrap();
    server.finish().assert_ok();
    if let Ok(server) = ScriptedServer::try_start_on("[::1]:0", vec![Step::send("220 v6\r\n")]) {
        let mut c = Client::new();
        c.connect("::1", server.port(), None, None).unwrap();
        assert_eq!(c.welcome().unwrap().code, 220);
        server.finish().assert_ok();
    }
}

#[test]
fn latin1_and_bytes_encodings() {
    let (server, mut c) = logged_in(vec![
        Step::expect("CWD caf"),
        Step::send("250 ok\r\n"),
        Step::Reply("PWD".into(), b"257 \"/caf\xe9\"\r\n".to_vec()),
        Step::Reply("MKD".into(), b"257 \"/\xff\xfe\"\r\n".to_vec()),
    ]);
    c.config_mut().encoding = ftpc::Encoding::Latin1;
    assert!(matches!(c.cwd("€".as_bytes()), Err(Error::Encoding(_))));
    // The scripted server compares lossily decoded text: check the wire bytes below.
    c.cwd("café".as_bytes()).unwrap();
    assert_eq!(c.pwd().unwrap(), "/café".as_bytes());
    c.config_mut().encoding = ftpc::Encoding::Bytes;
    assert_eq!(c.mkd(b"\xff\xfe").unwrap(), b"/\xff\xfe");
    let t = server.finish();
    assert_eq!(t.commands[2], b"CWD caf\xe9");
    assert_eq!(t.commands[4], b"MKD \xff\xfe");
}

#[test]
fn debug_trace_masks_password() {
    use std::sync::{Arc, Mutex};
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let server = ScriptedServer::start(login_prelude());
    let mut c = Client::new();
    c.set_debuglevel(1);
    c.set_trace_sink(Some(Box::new(move |l: &str| sink.lock().unwrap().push(l.to_string()))));
    c.connect("127.0.0.1", server.port(), None, None).unwrap();
    c.login("user", "hunter2", "").unwrap();
    let lines = lines.lock().unwrap().join("\n");
    assert!(lines.contains("PASS *******"), "{lines}");
    assert!(!lines.contains("hunter2"), "{lines}");
    assert!(lines.contains("*resp* \"230 Logged in\""), "{lines}");
    server.finish().assert_ok();
}

#[test]
fn netrc_login() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("ftpc-netrc-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("netrc");
    std::fs::write(&path, "machine 127.0.0.1 login nuser password npass\ndefault login anonymous password x@\n")
        .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let server = ScriptedServer::start(vec![
        Step::send("220 hi\r\n"),
        Step::reply("USER nuser", "331 pass\r\n"),
        Step::reply("PASS npass", "230 in\r\n"),
    ]);
    let mut c = connect(&server);
    c.login_netrc(Some(&path)).unwrap();
    server.finish().assert_ok();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = ScriptedServer::start(vec![Step::send("220 hi\r\n")]);
    let mut c = connect(&server);
    assert!(matches!(c.login_netrc(Some(&path)), Err(Error::Netrc(_))));
    server.finish().assert_ok();
    std::fs::remove_dir_all(&dir).unwrap();
}
