//! Issue 11 against the scripted server: `retrieve_file` that touches the local file only
//! once the server accepted, MLSD offered through MLST in FEAT, names that are not UTF-8
//! round-tripping in UTF-8 mode, TLS setters that fail at once, progress totals, and the
//! hint for the wrong TLS mode.

mod support;

use ftpc::{Client, Error, Flow, TlsMode};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::certs::{cert, certs};
use support::scripted::{pattern_bytes, ScriptedServer, Step, Transcript};
use support::scripted_client::{assert_usable, finish, logged_in, noop, serve, short_timeout_client};

// ---------------------------------------------------------------------------------------
// Helpers

/// The command lines after USER and PASS, as bytes (names must be byte-exact), each without
/// the Telnet interrupt in front of an ABOR.
fn raw_cmds(t: &Transcript) -> Vec<Vec<u8>> {
    assert_eq!(t.commands_str()[..2], ["USER u", "PASS p"]);
    t.commands[2..].iter().map(|c| c.iter().copied().skip_while(|b| !b.is_ascii_alphabetic()).collect()).collect()
}

fn cmds(t: &Transcript) -> Vec<String> {
    raw_cmds(t).iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect()
}

fn type_i() -> Step {
    Step::reply("TYPE I", "200 Switching to Binary mode.\r\n")
}

/// EPSV, then `cmd` answered with `preliminary`, then the data connection accepted.
fn epsv_open(cmd: &str, preliminary: &str) -> Vec<Step> {
    vec![Step::EpsvReply, Step::expect_exact(cmd), Step::send(preliminary), Step::DataAccept]
}

/// EPSV, `REST offset`, then RETR f answered with `preliminary`, and the data
/// connection accepted.
fn resumed_open(offset: u64, preliminary: &str) -> Vec<Step> {
    vec![
        Step::EpsvReply,
        Step::reply(&format!("REST {offset}"), format!("350 Restart position accepted ({offset}).\r\n")),
        Step::expect_exact("RETR f"),
        Step::send(preliminary),
        Step::DataAccept,
    ]
}

/// A path in the temporary directory, unique to this process and `tag`, not yet there.
fn temp_path(tag: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ftpc-issue11-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// Every (done, total) a progress callback saw.
type Calls = Vec<(u64, Option<u64>)>;

// ---------------------------------------------------------------------------------------
// No local data lost: retrieve_file

/// A refused RETR leaves an existing local file byte for byte as it was and creates no new
/// one; with a progress callback too (SIZE is refused first, then RETR).
#[test]
fn refused_retr_leaves_the_local_file_alone() {
    let before = b"twenty-one bytes here";
    let existing = temp_path("existing");
    std::fs::write(&existing, before).unwrap();
    let fresh = temp_path("fresh");
    let mut steps = vec![type_i(), Step::EpsvReply, Step::reply("RETR /no-such-file", "550 Failed to open file.\r\n")];
    steps.extend([
        type_i(),
        Step::reply("SIZE /no-such-file", "550 Could not get file size.\r\n"),
        Step::EpsvReply,
        Step::reply("RETR /no-such-file", "550 Failed to open file.\r\n"),
        noop(),
    ]);
    let (server, mut c) = logged_in(steps);
    let err = c.retrieve_file(b"/no-such-file", &existing, None).unwrap_err();
    assert!(matches!(&err, Error::Perm(r) if r.code == 550), "{err:?}");
    assert_eq!(std::fs::read(&existing).unwrap(), before);
    let mut progress = |_: u64, _: Option<u64>| Flow::Continue(());
    let err = c.retrieve_file(b"/no-such-file", &fresh, Some(&mut progress)).unwrap_err();
    assert!(matches!(&err, Error::Perm(r) if r.code == 550), "{err:?}");
    assert!(!fresh.exists(), "a refused download created {}", fresh.display());
    assert_usable(&mut c);
    finish(server);
    std::fs::remove_file(&existing).unwrap();
}

/// Calls that fail before the transfer command (not connected, a name the encoding cannot
/// carry) do not touch the local file either.
#[test]
fn failures_before_retr_leave_the_local_file_alone() {
    let existing = temp_path("before-retr");
    std::fs::write(&existing, b"keep me").unwrap();
    let mut c = short_timeout_client();
    assert!(matches!(c.retrieve_file(b"f", &existing, None), Err(Error::WrongState(_))));
    // Nothing is sent for them, not even TYPE.
    let (server, mut c) = logged_in(vec![noop()]);
    assert!(matches!(c.retrieve_file(b"caf\xe9", &existing, None), Err(Error::Encoding(_))));
    assert!(matches!(c.retrieve_file(b"a\r\nDELE b", &existing, None), Err(Error::InvalidArgument(_))));
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    assert_usable(&mut c);
    finish(server);
    std::fs::remove_file(&existing).unwrap();
}

/// A download accepted then cut short leaves the bytes that arrived in the file (truncated
/// from its old content), and resume_download completes it.
#[test]
fn failure_mid_transfer_leaves_the_partial_file_for_resume() {
    let whole = pattern_bytes(3000);
    let local = temp_path("partial");
    std::fs::write(&local, vec![b'x'; 5000]).unwrap();
    let mut steps = vec![type_i()];
    steps.extend(epsv_open("RETR f", "150 Opening BINARY mode data connection for f (3000 bytes).\r\n"));
    steps.extend([
        Step::data_send(&whole[..1000]),
        Step::DataClose,
        Step::send("426 Connection closed; transfer aborted.\r\n"),
    ]);
    steps.push(type_i());
    steps.extend(resumed_open(1000, "150 Opening BINARY mode data connection for f (2000 bytes).\r\n"));
    steps.extend(serve(&whole[1000..]));
    let (server, mut c) = logged_in(steps);
    let err = c.retrieve_file(b"f", &local, None).unwrap_err();
    assert!(matches!(&err, Error::Temp(r) if r.code == 426), "{err:?}");
    assert_eq!(std::fs::read(&local).unwrap(), &whole[..1000], "the partial file, nothing of the old one");
    assert_eq!(c.last_transfer_bytes(), 1000);
    let file = OpenOptions::new().append(true).open(&local).unwrap();
    use std::os::fd::AsRawFd;
    assert_eq!(c.resume_download(b"f", file.as_raw_fd(), None).unwrap(), 2000);
    assert_eq!(std::fs::read(&local).unwrap(), whole);
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE I", "EPSV", "RETR f", "TYPE I", "EPSV", "REST 1000", "RETR f"]);
    std::fs::remove_file(&local).unwrap();
}

/// A local file that cannot be created once the server accepted: the transfer is aborted,
/// the error is the local one, and the connection stays in step.
#[test]
fn local_file_that_cannot_be_created_aborts_the_transfer() {
    let local = std::env::temp_dir().join(format!("ftpc-issue11-{}-no-such-dir/f", std::process::id()));
    let mut steps = vec![type_i()];
    steps.extend(epsv_open("RETR f", "150 Opening BINARY mode data connection for f (9999999 bytes).\r\n"));
    steps.extend([
        Step::abor_interrupt(),
        Step::send("426 Transfer aborted.\r\n226 Abort successful.\r\n"),
        noop(),
        noop(),
    ]);
    let (server, mut c) = logged_in(steps);
    let err = c.retrieve_file(b"f", &local, None).unwrap_err();
    assert!(matches!(&err, Error::Io { context: "creating the local file", .. }), "{err:?}");
    assert_usable(&mut c);
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE I", "EPSV", "RETR f", "ABOR", "NOOP", "NOOP"]);
}

/// A whole download into a new file, and store_file uploading it back.
#[test]
fn retrieve_file_and_store_file() {
    let data = pattern_bytes(70_000);
    let local = temp_path("whole");
    let mut steps = vec![type_i()];
    steps.extend(epsv_open("RETR f", "150 Opening BINARY mode data connection for f (70000 bytes).\r\n"));
    steps.extend(serve(&data));
    steps.push(type_i());
    steps.extend(epsv_open("STOR g", "150 Ok to send data.\r\n"));
    steps.extend([Step::DataRecvToEof, Step::DataClose, Step::send("226 Transfer complete.\r\n")]);
    let (server, mut c) = logged_in(steps);
    assert_eq!(c.retrieve_file(b"f", &local, None).unwrap(), 70_000);
    assert_eq!(std::fs::read(&local).unwrap(), data);
    assert_eq!(c.store_file(&local, b"g", None).unwrap(), 70_000);
    let t = finish(server);
    assert_eq!(t.data_received[1], data);
    std::fs::remove_file(&local).unwrap();
}

// ---------------------------------------------------------------------------------------
// FEAT: MLST stands for MLSD too

#[test]
fn mlsd_is_offered_when_feat_lists_mlst() {
    for (feat, mlsd) in [
        ("211-Features:\r\n MDTM\r\n MLST type*;size*;modify*;\r\n REST STREAM\r\n211 End\r\n", true),
        ("211-Features:\r\n mlsd\r\n211 End\r\n", true),
        ("211-Features:\r\n MDTM\r\n SIZE\r\n211 End\r\n", false),
    ] {
        let (server, mut c) = logged_in(vec![Step::reply("FEAT", feat)]);
        assert_eq!(c.has_feature("MLSD").unwrap(), mlsd, "{feat:?}");
        assert_eq!(c.has_feature("mlsd").unwrap(), mlsd, "{feat:?}");
        // Only MLSD is implied: nothing else is made up.
        assert!(!c.has_feature("MLSX").unwrap());
        assert_eq!(c.has_feature("MLST").unwrap(), feat.contains("MLST"));
        finish(server);
    }
}

// ---------------------------------------------------------------------------------------
// Names that are not UTF-8, in UTF-8 mode

/// A Latin-1 name on the server, as the caller sees it in UTF-8 mode (surrogateescape).
const LATIN1: &[u8] = b"caf\xe9.txt";
const ESCAPED: &[u8] = b"caf\xed\xb3\xa9.txt";

/// MLSD, LIST, NLST, MLST, PWD and MKD give the name escaped; passed back to SIZE, RETR,
/// CWD, MDTM, DELE, RNFR/RNTO, MLST and MKD, it goes out as the server's bytes.
#[test]
fn latin1_names_from_listings_round_trip_in_utf8_mode() {
    let mut steps = Vec::new();
    for (cmd, line) in [
        ("MLSD", [&b"type=file;size=5; "[..], LATIN1, b"\r\n"].concat()),
        ("LIST", [&b"-rw-r--r--   1 ftp ftp 5 Jan 01  2024 "[..], LATIN1, b"\r\n"].concat()),
        ("NLST", [LATIN1, b"\r\n"].concat()),
    ] {
        steps.push(Step::reply("TYPE A", "200 Switching to ASCII mode.\r\n"));
        steps.extend(epsv_open(cmd, "150 Here comes the directory listing.\r\n"));
        steps.extend(serve(&line));
    }
    steps.extend([
        // The listings left TYPE A in force: SIZE puts TYPE I back first.
        type_i(),
        Step::reply("SIZE", "213 5\r\n"),
        type_i(),
        Step::EpsvReply,
        Step::reply("RETR", "150 Opening BINARY mode data connection (5 bytes).\r\n"),
        Step::DataAccept,
    ]);
    steps.extend(serve(b"hello"));
    steps.extend([
        Step::reply("CWD", "250 Directory successfully changed.\r\n"),
        Step::reply("MDTM", "213 20240101000000\r\n"),
        Step::reply("DELE", "250 Deleted.\r\n"),
        Step::reply("RNFR", "350 Ready for RNTO.\r\n"),
        Step::reply("RNTO", "250 Rename successful.\r\n"),
        Step::reply("MLST", [&b"250-Listing\r\n type=file;size=5; /pub/"[..], LATIN1, b"\r\n250 End\r\n"].concat()),
        Step::reply("PWD", [&b"257 \"/pub/"[..], LATIN1, b"\" is the current directory\r\n"].concat()),
        Step::reply("MKD", [&b"257 \"/pub/"[..], LATIN1, b"\" created\r\n"].concat()),
    ]);
    let (server, mut c) = logged_in(steps);

    let mlsd = c.mlsd(None, &[]).unwrap();
    assert_eq!(mlsd[0].name, ESCAPED);
    let list = c.list_entries(None).unwrap();
    assert_eq!(list[0].name, ESCAPED);
    assert_eq!(c.nlst(None).unwrap(), [ESCAPED.to_vec()]);
    let name = mlsd[0].name.clone();
    assert_eq!(c.size(&name).unwrap(), Some(5));
    let mut got = Vec::new();
    let mut retr_cmd = b"RETR ".to_vec();
    retr_cmd.extend_from_slice(&list[0].name);
    c.retrbinary(
        &retr_cmd,
        &mut |b| {
            got.extend_from_slice(b);
            Flow::Continue(())
        },
        0,
        None,
    )
    .unwrap();
    assert_eq!(got, b"hello");
    c.cwd(&name).unwrap();
    c.mdtm(&name).unwrap();
    c.delete(&name).unwrap();
    c.rename(&name, &name).unwrap();
    let mlst = c.mlst(Some(&name)).unwrap();
    assert_eq!(mlst.name, [&b"/pub/"[..], ESCAPED].concat());
    let pwd = c.pwd().unwrap();
    assert_eq!(pwd, [&b"/pub/"[..], ESCAPED].concat());
    assert_eq!(c.mkd(&name).unwrap(), pwd);
    // The caller's own invalid UTF-8 is still refused, with nothing sent.
    assert!(matches!(c.size(LATIN1), Err(Error::Encoding(_))));
    let t = finish(server);
    let sent = raw_cmds(&t);
    let with_name = |verb: &str| [verb.as_bytes(), b" ", LATIN1].concat();
    for verb in ["SIZE", "RETR", "CWD", "MDTM", "DELE", "RNFR", "RNTO", "MLST", "MKD"] {
        assert!(sent.contains(&with_name(verb)), "{verb} did not go out with the server's bytes: {:?}", cmds(&t));
    }
}

// ---------------------------------------------------------------------------------------
// Progress totals of whole-file downloads

fn download_with_progress(c: &mut Client, rest: Option<u64>) -> (ftpc::Result<u64>, Calls) {
    let local = temp_path("progress");
    let file = OpenOptions::new().create(true).truncate(true).write(true).open(&local).unwrap();
    let mut calls = Vec::new();
    let mut progress = |done: u64, total: Option<u64>| {
        calls.push((done, total));
        Flow::Continue(())
    };
    use std::os::fd::AsRawFd;
    let r = c.retrieve_to_fd(b"f", file.as_raw_fd(), rest, Some(&mut progress));
    drop(file);
    let _ = std::fs::remove_file(&local);
    (r, calls)
}

/// The 150 gives the total; once it did, the next download asks no SIZE.
#[test]
fn progress_total_from_the_150_reply() {
    let data = pattern_bytes(5000);
    // The first download cannot know yet that the 150 will tell: it asks SIZE.
    let mut steps = vec![type_i(), Step::reply("SIZE f", "213 5000\r\n")];
    steps.extend(epsv_open("RETR f", "150 Opening BINARY mode data connection for f (5000 bytes).\r\n"));
    steps.extend(serve(&data));
    steps.push(type_i());
    steps.extend(epsv_open("RETR f", "150 Opening BINARY mode data connection for f (5000 bytes).\r\n"));
    steps.extend(serve(&data));
    let (server, mut c) = logged_in(steps);
    for _ in 0..2 {
        let (r, calls) = download_with_progress(&mut c, None);
        assert_eq!(r.unwrap(), 5000);
        assert_eq!(calls.last(), Some(&(5000, Some(5000))), "{calls:?}");
        assert!(calls.iter().all(|&(_, total)| total == Some(5000)), "{calls:?}");
    }
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE I", "SIZE f", "EPSV", "RETR f", "TYPE I", "EPSV", "RETR f"]);
}

/// A 150 without a size (pyftpdlib): SIZE, asked before RETR, gives it; and since this
/// server's 150 does not announce sizes, the next download asks again.
#[test]
fn progress_total_from_size_when_the_150_has_none() {
    let data = pattern_bytes(5000);
    let mut steps = Vec::new();
    for _ in 0..2 {
        steps.extend([type_i(), Step::reply("SIZE f", "213 5000\r\n")]);
        steps.extend(epsv_open("RETR f", "150 File status okay. About to open data connection.\r\n"));
        steps.extend(serve(&data));
    }
    // Without a progress callback nothing is asked.
    steps.push(type_i());
    steps.extend(epsv_open("RETR f", "150 File status okay. About to open data connection.\r\n"));
    steps.extend(serve(&data));
    let (server, mut c) = logged_in(steps);
    for _ in 0..2 {
        let (r, calls) = download_with_progress(&mut c, None);
        assert_eq!(r.unwrap(), 5000);
        assert_eq!(calls.last(), Some(&(5000, Some(5000))), "{calls:?}");
    }
    let local = temp_path("no-progress");
    let file = OpenOptions::new().create(true).truncate(true).write(true).open(&local).unwrap();
    use std::os::fd::AsRawFd;
    assert_eq!(c.retrieve_to_fd(b"f", file.as_raw_fd(), None, None).unwrap(), 5000);
    std::fs::remove_file(&local).unwrap();
    let t = finish(server);
    assert_eq!(
        cmds(&t),
        ["TYPE I", "SIZE f", "EPSV", "RETR f", "TYPE I", "SIZE f", "EPSV", "RETR f", "TYPE I", "EPSV", "RETR f"]
    );
}

/// A resumed download: the total is the whole remote size (SIZE; whatever the 150 after
/// REST says) and done counts the offset, so the last call is (size, size).
#[test]
fn progress_total_of_a_resumed_download_is_the_whole_size() {
    let data = pattern_bytes(5000);
    let mut steps = vec![type_i(), Step::reply("SIZE f", "213 5000\r\n")];
    // Servers differ in what the 150 after REST announces (what is left, or the whole
    // size): not used either way.
    steps.extend(resumed_open(1000, "150 Opening BINARY mode data connection for f (4000 bytes).\r\n"));
    steps.extend(serve(&data[1000..]));
    let (server, mut c) = logged_in(steps);
    let (r, calls) = download_with_progress(&mut c, Some(1000));
    assert_eq!(r.unwrap(), 4000);
    assert_eq!(calls.last(), Some(&(5000, Some(5000))), "{calls:?}");
    assert!(calls.iter().all(|&(done, total)| done > 1000 && total == Some(5000)), "{calls:?}");
    finish(server);
}

/// Neither the 150 nor SIZE tell the size: the total is unknown, and the download works.
#[test]
fn progress_total_unknown_when_the_server_never_tells() {
    let data = pattern_bytes(3000);
    let mut steps = vec![type_i(), Step::reply("SIZE f", "550 SIZE not allowed in this mode.\r\n")];
    steps.extend(epsv_open("RETR f", "150 Here it comes.\r\n"));
    steps.extend(serve(&data));
    let (server, mut c) = logged_in(steps);
    let (r, calls) = download_with_progress(&mut c, None);
    assert_eq!(r.unwrap(), 3000);
    assert_eq!(calls.last(), Some(&(3000, None)), "{calls:?}");
    finish(server);
}

// ---------------------------------------------------------------------------------------
// TLS setters that fail at once

#[test]
fn tls_file_setters_check_the_files_and_keep_the_old_setting() {
    let mut c = Client::new_tls();
    let tls = &mut c.config_mut().tls;
    tls.set_ca_file(Some(&cert("ca.pem"))).unwrap();
    tls.set_ca_dir(Some(certs())).unwrap();
    tls.set_client_cert(Some(&cert("client.pem")), Some(&cert("client.key"))).unwrap();
    let not_pem = temp_path("not-pem");
    std::fs::write(&not_pem, b"no certificate in here\n").unwrap();
    let missing = Path::new("/nonexistent/ftpc-ca.pem");
    for (what, path) in [("missing", missing), ("not PEM", &not_pem), ("a directory", certs())] {
        let err = tls.set_ca_file(Some(path)).unwrap_err();
        assert!(matches!(&err, Error::Tls(m) if m.contains(&path.display().to_string())), "{what}: {err:?}");
        assert_eq!(tls.ca_file.as_deref(), Some(cert("ca.pem").as_path()), "{what}");
    }
    for path in [missing, &cert("ca.pem")] {
        let err = tls.set_ca_dir(Some(path)).unwrap_err();
        assert!(matches!(&err, Error::Tls(m) if m.contains(&path.display().to_string())), "{err:?}");
        assert_eq!(tls.ca_dir.as_deref(), Some(certs()));
    }
    let cases: [(&Path, Option<PathBuf>, &str); 3] = [
        (missing, None, "/nonexistent/ftpc-ca.pem"),
        (&cert("client.pem"), Some(PathBuf::from("/nonexistent/client.key")), "/nonexistent/client.key"),
        (&cert("client.pem"), Some(cert("server.key")), "server.key"),
    ];
    for (cert_file, key, want) in cases {
        let err = tls.set_client_cert(Some(cert_file), key.as_deref()).unwrap_err();
        assert!(matches!(&err, Error::Tls(m) if m.contains(want)), "{want}: {err:?}");
        assert_eq!(tls.cert_file.as_deref(), Some(cert("client.pem").as_path()));
        assert_eq!(tls.key_file.as_deref(), Some(cert("client.key").as_path()));
    }
    // None removes each setting.
    tls.set_ca_file(None).unwrap();
    tls.set_ca_dir(None).unwrap();
    tls.set_client_cert(None, Some(&cert("client.key"))).unwrap();
    assert!(tls.ca_file.is_none() && tls.ca_dir.is_none() && tls.cert_file.is_none() && tls.key_file.is_none());
    std::fs::remove_file(&not_pem).unwrap();
}

// ---------------------------------------------------------------------------------------
// The wrong TLS mode

/// Explicit FTPS (or plain FTP) against an implicit-FTPS port: no greeting comes; the port
/// answers a ClientHello, and the timeout says to use implicit mode.
#[test]
fn greeting_timeout_on_an_implicit_port_says_to_use_implicit_mode() {
    for mode in [TlsMode::Explicit, TlsMode::Off] {
        let server = ScriptedServer::start(vec![Step::TlsAcceptExpectFail {
            cert: cert("server.pem"),
            key: cert("server.key"),
        }]);
        let mut c = short_timeout_client();
        c.config_mut().tls_mode = mode;
        c.config_mut().timeout = Duration::from_millis(500);
        let started = Instant::now();
        let err = c.connect("127.0.0.1", server.port(), None, None).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        assert!(matches!(err, Error::Timeout(_)), "{mode:?}: {err:?}");
        let message = err.to_string();
        assert!(message.contains("the server expects implicit FTPS (TLS from the first byte)"), "{message}");
        assert!(message.contains("FTP_TLS_IMPLICIT") && message.contains("990"), "{message}");
        assert!(!c.is_connected());
        finish(server);
    }
}

/// A port that stays silent and does not speak TLS either: the plain timeout, no hint.
#[test]
fn greeting_timeout_on_a_silent_port_gives_no_hint() {
    let server = ScriptedServer::start(vec![Step::Stall(Duration::from_secs(3))]);
    let mut c = short_timeout_client();
    c.config_mut().timeout = Duration::from_millis(300);
    let err = c.connect("127.0.0.1", server.port(), None, None).unwrap_err();
    assert!(matches!(err, Error::Timeout("reading a reply")), "{err:?}");
    assert!(!c.is_connected());
    drop(server);
}

/// Implicit FTPS against a plain or explicit port: the handshake meets a "220 ..." line.
#[test]
fn implicit_mode_on_a_plain_port_says_to_use_explicit_or_plain() {
    for greeting in ["220 (vsFTPd 3.0.3)\r\n", "220-Welcome to\r\n220 a multi-line greeting\r\n"] {
        let server = ScriptedServer::start(vec![Step::send(greeting), Step::Stall(Duration::from_secs(3))]);
        let mut c = short_timeout_client();
        c.config_mut().tls_mode = TlsMode::Implicit;
        c.config_mut().tls.ca_file = Some(cert("ca.pem"));
        let err = c.connect("127.0.0.1", server.port(), None, None).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Tls(_)), "{err:?}");
        assert!(message.contains("the server sent a plain-text FTP greeting"), "{message}");
        assert!(
            message.contains("explicit FTPS (AUTH TLS)") && message.contains("plain FTP on this port"),
            "{message}"
        );
        assert!(!c.is_connected());
        drop(server);
    }
}

/// A TLS handshake that fails for another reason (garbage, not text) keeps its own message.
#[test]
fn implicit_handshake_failure_on_binary_garbage_gives_no_hint() {
    let server =
        ScriptedServer::start(vec![Step::SendRaw(vec![0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0xff, 0xfe])]);
    let mut c = short_timeout_client();
    c.config_mut().tls_mode = TlsMode::Implicit;
    c.config_mut().tls.ca_file = Some(cert("ca.pem"));
    let err = c.connect("127.0.0.1", server.port(), None, None).unwrap_err();
    assert!(matches!(&err, Error::Tls(m) if !m.contains("plain-text")), "{err:?}");
    drop(server);
}
