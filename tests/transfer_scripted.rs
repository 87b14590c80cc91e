//! Transfers of the core against the scripted server: passive and active data connections,
//! preliminary and final replies, resets, stalls, stops, line splitting, listings and
//! whole-file transfers. Every test runs with short timeouts, so none can hang.

mod support;

use ftpc::listing::{civil_from_epoch, epoch_from_civil, EntryKind, ListFormat};
use ftpc::{Client, Error, Flow, Reply, StopTransfer};
use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use support::scripted::{login_prelude, pattern_bytes, ScriptedServer, Step, Transcript};
use support::scripted_client::{
    assert_usable, epsv_transfer, finish, logged_in, logged_in_with, noop, serve, short_timeout_client, TempFile,
};

// ---------------------------------------------------------------------------------------
// Helpers

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const FOREIGN: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// The commands after USER and PASS.
/// The commands after the login, each without the Telnet interrupt in front of an ABOR
/// (`Step::abor_interrupt` checks those bytes).
fn cmds(t: &Transcript) -> Vec<String> {
    let all = t.commands_str();
    assert_eq!(&all[..2], ["USER u", "PASS p"], "{all:?}");
    all[2..].iter().map(|c| c.trim_start_matches(|ch: char| !ch.is_ascii_alphabetic()).to_string()).collect()
}

/// The same in ASCII mode (retrlines and the listings).
fn epsv_text_transfer(cmd: &str, preliminary: &str) -> Vec<Step> {
    let mut steps = epsv_transfer(cmd, preliminary);
    steps[0] = Step::reply("TYPE A", "200 Switching to ASCII mode.\r\n");
    steps
}

/// retrbinary of `cmd`, with every byte received.
fn retr(c: &mut Client, cmd: &str) -> (ftpc::Result<Reply>, Vec<u8>) {
    let mut got = Vec::new();
    let r = c.retrbinary(
        cmd.as_bytes(),
        &mut |block| {
            got.extend_from_slice(block);
            Flow::Continue(())
        },
        0,
        None,
    );
    (r, got)
}

fn retrlines(c: &mut Client, cmd: &str) -> (ftpc::Result<Reply>, Vec<String>) {
    let mut lines = Vec::new();
    let r = c.retrlines(cmd.as_bytes(), &mut |line| {
        lines.push(String::from_utf8_lossy(line).into_owned());
        Flow::Continue(())
    });
    (r, lines)
}

fn expect_code(result: ftpc::Result<Reply>, code: u16) {
    match result {
        Ok(r) => assert_eq!(r.code, code, "{r}"),
        Err(e) => panic!("expected a {code} reply, got {e:?}"),
    }
}

/// The address and port of an `EPRT |1|addr|port|` or `PORT h1,h2,h3,h4,p1,p2` command.
fn advertised(command: &str) -> SocketAddr {
    if let Some(arg) = command.strip_prefix("EPRT ") {
        let parts: Vec<&str> = arg.split('|').collect();
        assert_eq!(parts.len(), 5, "{command}");
        SocketAddr::new(parts[2].parse().unwrap(), parts[3].parse().unwrap())
    } else if let Some(arg) = command.strip_prefix("PORT ") {
        let n: Vec<u8> = arg.split(',').map(|x| x.parse().unwrap()).collect();
        assert_eq!(n.len(), 6, "{command}");
        let ip = Ipv4Addr::new(n[0], n[1], n[2], n[3]);
        SocketAddr::new(IpAddr::V4(ip), u16::from(n[4]) * 256 + u16::from(n[5]))
    } else {
        panic!("not EPRT or PORT: {command}")
    }
}

/// A port nothing listens on right now (on 127.0.0.1).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Trace lines of a client, for the `*info*` messages.
fn capture_trace(c: &mut Client) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    c.set_debuglevel(1);
    c.set_trace_sink(Some(Box::new(move |l: &str| sink.lock().unwrap().push(l.to_string()))));
    lines
}

fn traced(lines: &Arc<Mutex<Vec<String>>>, needle: &str) -> bool {
    lines.lock().unwrap().iter().any(|l| l.contains(needle))
}

/// A source that gives `left` bytes, then asks to stop the upload.
struct StopAfter {
    left: usize,
}

impl Read for StopAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::other(StopTransfer));
        }
        let n = buf.len().min(self.left);
        buf[..n].fill(b'u');
        self.left -= n;
        Ok(n)
    }
}

/// Accepts one connection on `listener` within `limit` (None when nothing came).
fn accept_within(listener: &TcpListener, limit: Duration) -> Option<(TcpStream, SocketAddr)> {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok((s, a)) => {
                s.set_nonblocking(false).unwrap();
                return Some((s, a));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(e) => panic!("accept: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Passive mode: which address, malformed 227/229, EPSV refused

/// The source address binds passive data connections, its port included: the port given
/// to `connect` (which the control connection holds too), then one set after connecting,
/// which applies to the next data connection; `None` binds nothing.
#[test]
fn passive_data_connections_bind_the_source_address_and_port() {
    let mut steps = login_prelude();
    steps.extend(epsv_transfer("RETR one", "150 ok\r\n"));
    steps.extend(serve(b"first"));
    steps.extend([Step::EpsvReply, Step::reply("LIST", "150 ok\r\n"), Step::DataAccept]);
    steps.extend(serve(b"second"));
    steps.extend(epsv_transfer("RETR three", "150 ok\r\n"));
    steps.extend(serve(b"third"));
    let server = ScriptedServer::start(steps);
    let control_port = free_port();
    let mut c = short_timeout_client();
    let source = SocketAddr::new(LOCALHOST, control_port);
    c.connect("127.0.0.1", server.port(), None, Some(source)).unwrap();
    assert_eq!(c.local_addr(), Some(source));
    assert_eq!(c.source_address(), Some(source));
    c.login("u", "p", "").unwrap();
    // The port of the control connection, shared (SO_REUSEADDR).
    let (r, got) = retr(&mut c, "RETR one");
    expect_code(r, 226);
    assert_eq!(got, b"first");
    // Changed after connecting: the next data connection binds it.
    let later = SocketAddr::new(LOCALHOST, free_port());
    c.set_source_address(Some(later));
    let conn = c.ntransfercmd(b"LIST", None).unwrap();
    assert_eq!(conn.local_addr(), Some(later));
    assert_eq!(conn.peer_addr().map(|a| a.ip()), Some(LOCALHOST));
    let mut got = Vec::new();
    let mut conn = conn;
    std::io::copy(&mut conn, &mut got).unwrap();
    assert_eq!(got, b"second");
    expect_code(c.finish_transfer(conn, false), 226);
    // None: an ephemeral port.
    c.set_source_address(None);
    let (r, got) = retr(&mut c, "RETR three");
    expect_code(r, 226);
    assert_eq!(got, b"third");
    assert_eq!(c.local_addr(), Some(source), "the control connection is untouched");
    let t = finish(server);
    let ports: Vec<u16> = t.data_conns.iter().map(|d| d.peer.port()).collect();
    assert_eq!(ports[..2], [control_port, later.port()], "{ports:?}");
    assert!(ports[2] != control_port && ports[2] != later.port(), "{ports:?}");
}

/// A 227 naming another host (127.0.0.2) or 0.0.0.0 is not followed: the data connection goes
/// to the control connection's peer, where the server listens.
#[test]
fn pasv_foreign_address_is_not_followed_by_default() {
    for foreign in ["127,0,0,2", "0,0,0,0"] {
        let mut steps = vec![
            Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
            Step::PasvListen,
            Step::expect_exact("PASV"),
            Step::send_with_port(&format!("227 Entering Passive Mode ({foreign},{{p1}},{{p2}}).\r\n")),
            Step::expect_exact("RETR f"),
            Step::send("150 Here it comes.\r\n"),
            Step::DataAccept,
        ];
        steps.extend(serve(b"through the control peer"));
        let mut trace = None;
        let (server, mut c) = logged_in_with(steps, |c| {
            c.config_mut().use_epsv = false;
            trace = Some(capture_trace(c));
        });
        let (r, got) = retr(&mut c, "RETR f");
        expect_code(r, 226);
        assert_eq!(got, b"through the control peer");
        let t = finish(server);
        assert_eq!(cmds(&t), ["TYPE I", "PASV", "RETR f"]);
        // The server's listener is on 127.0.0.1 only: the connection reached it.
        assert_eq!(t.data_conns.len(), 1);
        assert_eq!(t.data_conns[0].peer.ip(), LOCALHOST);
        let foreign_ip = foreign.replace(',', ".");
        assert!(
            traced(trace.as_ref().unwrap(), &format!("ignoring the 227 address {foreign_ip}, using 127.0.0.1")),
            "{:?}",
            trace.unwrap().lock().unwrap()
        );
    }
}

/// With `trust_server_pasv_address`, the 227 address is used: the client connects to
/// 127.0.0.2, where the test listens (and the scripted server does not).
#[test]
fn pasv_foreign_address_is_followed_when_trusted() {
    let listener = TcpListener::bind((FOREIGN, 0)).expect("binding 127.0.0.2 (loopback)");
    let port = listener.local_addr().unwrap().port();
    let data_server = thread::spawn(move || {
        let (mut s, from) =
            accept_within(&listener, Duration::from_secs(5)).expect("the client never came to 127.0.0.2");
        s.write_all(b"from the trusted address").unwrap();
        from
    });
    let (server, mut c) = logged_in_with(
        vec![
            Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
            Step::reply("PASV", format!("227 Entering Passive Mode (127,0,0,2,{},{}).\r\n", port >> 8, port & 0xff)),
            Step::reply("RETR f", "150 Here it comes.\r\n226 Transfer complete.\r\n"),
            noop(),
        ],
        |c| {
            c.config_mut().use_epsv = false;
            c.config_mut().trust_server_pasv_address = true;
        },
    );
    let (r, got) = retr(&mut c, "RETR f");
    expect_code(r, 226);
    assert_eq!(got, b"from the trusted address");
    assert_eq!(data_server.join().unwrap().ip(), LOCALHOST);
    assert_usable(&mut c);
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE I", "PASV", "RETR f", "NOOP"]);
    assert!(t.data_conns.is_empty());
}

/// Malformed 227 replies are protocol errors; nothing is sent after them and the control
/// connection stays usable.
#[test]
fn pasv_malformed_227_is_proto_error() {
    let bad = [
        "227 Entering Passive Mode (127,0,0,256,4,1).",
        "227 Entering Passive Mode (127,0,0,1,4,256).",
        "227 Entering Passive Mode (127,0,0,1,0,0).",
        "227 Entering Passive Mode (127,0,0,1,4).",
        "227 Entering Passive Mode (127,0,0,1).",
        "227 Entering Passive Mode.",
        "227 Entering Passive Mode (127;0;0;1;4;1).",
    ];
    let mut steps = Vec::new();
    for reply in bad {
        steps.push(Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"));
        steps.push(Step::reply("PASV", format!("{reply}\r\n")));
    }
    steps.push(noop());
    let (server, mut c) = logged_in_with(steps, |c| c.config_mut().use_epsv = false);
    for reply in bad {
        let (r, got) = retr(&mut c, "RETR f");
        assert!(matches!(r, Err(Error::Proto(ref m)) if m.contains("227")), "{reply}: {r:?}");
        assert!(got.is_empty());
    }
    assert_usable(&mut c);
    let t = finish(server);
    let mut want: Vec<&str> = bad.iter().flat_map(|_| ["TYPE I", "PASV"]).collect();
    want.push("NOOP");
    assert_eq!(cmds(&t), want);
}

/// Malformed 229 replies are protocol errors: no PASV fallback, no transfer command, and no
/// connection to the port they name (a listener of the test checks that).
#[test]
fn epsv_malformed_229_is_proto_error_and_connects_nowhere() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bad = [
        "229 Entering Extended Passive Mode (|||0|)".to_string(),
        "229 Entering Extended Passive Mode (|||65536|)".to_string(),
        "229 Entering Extended Passive Mode (|||99999|)".to_string(),
        format!("229 Entering Extended Passive Mode (||{port}|)"),
        format!("229 Entering Extended Passive Mode (|||{port})"),
        format!("229 Entering Extended Passive Mode (|#|{port}|)"),
        format!("229 Entering Extended Passive Mode (|1|127.0.0.1|{port}|)"),
        format!("229 Entering Extended Passive Mode (1{port}1)"),
        format!("229 Entering Extended Passive Mode |||{port}|"),
    ];
    let mut steps = Vec::new();
    for reply in &bad {
        steps.push(Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"));
        steps.push(Step::reply("EPSV", format!("{reply}\r\n")));
    }
    steps.push(noop());
    let (server, mut c) = logged_in(steps);
    for reply in &bad {
        let (r, _) = retr(&mut c, "RETR f");
        assert!(matches!(r, Err(Error::Proto(ref m)) if m.contains("229")), "{reply}: {r:?}");
    }
    assert_usable(&mut c);
    let t = finish(server);
    let mut want: Vec<&str> = bad.iter().flat_map(|_| ["TYPE I", "EPSV"]).collect();
    want.push("NOOP");
    assert_eq!(cmds(&t), want);
    assert!(accept_within(&listener, Duration::ZERO).is_none(), "the client connected to a malformed 229's port");
}

/// EPSV never answered (a firewall that drops it, an old server): after EPSV_WAIT (here the
/// 1 s timeout, the smaller) PASV stands in, a NOOP marks the end of the replies, and the
/// connection stays in step; EPSV's late answer, if it comes, is skipped; the next transfer
/// goes straight to PASV.
#[test]
fn epsv_never_answered_falls_back_to_pasv_and_remembers() {
    for late_epsv_answer in [None, Some("229 Entering Extended Passive Mode (|||1|)\r\n")] {
        let mut steps = vec![Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"), Step::expect_exact("EPSV")];
        if let Some(late) = late_epsv_answer {
            steps.push(Step::Sleep(Duration::from_millis(1200)));
            steps.push(Step::send(late));
        }
        steps.extend([
            Step::PasvReply,
            Step::reply("NOOP", "200 NOOP ok.\r\n"),
            Step::reply("RETR one", "150 ok\r\n"),
            Step::DataAccept,
        ]);
        steps.extend(serve(b"first"));
        steps.extend([
            Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
            Step::PasvReply,
            Step::reply("RETR two", "150 ok\r\n"),
            Step::DataAccept,
        ]);
        steps.extend(serve(b"second"));
        let (server, mut c) = logged_in(steps);
        c.config_mut().timeout = Duration::from_secs(1);
        c.refresh_timeouts().unwrap();
        let started = Instant::now();
        let (r, got) = retr(&mut c, "RETR one");
        expect_code(r, 226);
        assert_eq!(got, b"first");
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(3), "{took:?}");
        let (r, got) = retr(&mut c, "RETR two");
        expect_code(r, 226);
        assert_eq!(got, b"second");
        let t = finish(server);
        assert_eq!(
            cmds(&t),
            ["TYPE I", "EPSV", "PASV", "NOOP", "RETR one", "TYPE I", "PASV", "RETR two"],
            "{late_epsv_answer:?}"
        );
    }
}

/// EPSV refused with 500 or 502: PASV right away, and the next transfer skips EPSV.
#[test]
fn epsv_refused_falls_back_to_pasv_and_remembers() {
    for refusal in ["500 'EPSV': command not understood.\r\n", "502 EPSV not implemented.\r\n"] {
        let mut steps = vec![
            Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
            Step::reply("EPSV", refusal),
            Step::PasvReply,
            Step::reply("RETR one", "150 ok\r\n"),
            Step::DataAccept,
        ];
        steps.extend(serve(b"first"));
        steps.extend([
            Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
            Step::PasvReply,
            Step::reply("RETR two", "150 ok\r\n"),
            Step::DataAccept,
        ]);
        steps.extend(serve(b"second"));
        let (server, mut c) = logged_in(steps);
        let (r, got) = retr(&mut c, "RETR one");
        expect_code(r, 226);
        assert_eq!(got, b"first");
        let (r, got) = retr(&mut c, "RETR two");
        expect_code(r, 226);
        assert_eq!(got, b"second");
        let t = finish(server);
        assert_eq!(cmds(&t), ["TYPE I", "EPSV", "PASV", "RETR one", "TYPE I", "PASV", "RETR two"], "{refusal}");
        assert_eq!(t.data_conns.len(), 2);
    }
}

// ---------------------------------------------------------------------------------------
// Preliminary and final replies

/// `150 ... (N bytes)` is the connection's size; the data and the final reply go through
/// ntransfercmd/finish_transfer as ftplib's callers use them.
#[test]
fn size_from_150_and_ntransfercmd() {
    let mut steps = epsv_transfer("RETR f", "150 Opening BINARY mode data connection for f (10 bytes).\r\n");
    steps.extend(serve(b"0123456789"));
    steps.extend(epsv_transfer("RETR g", "150 Here comes the file.\r\n"));
    steps.extend(serve(b"abc"));
    let (server, mut c) = logged_in(steps);
    c.voidcmd(b"TYPE I").unwrap();
    let mut conn = c.ntransfercmd(b"RETR f", None).unwrap();
    assert_eq!(conn.size(), Some(10));
    assert_eq!(conn.preliminary_reply().code, 150);
    assert!(!conn.is_tls());
    let mut data = Vec::new();
    conn.read_to_end(&mut data).unwrap();
    assert_eq!(data, b"0123456789");
    assert_eq!(conn.transferred(), 10);
    expect_code(c.finish_transfer(conn, true), 226);
    // No size in the 150: None, and nothing to check.
    let (r, got) = retr(&mut c, "RETR g");
    expect_code(r, 226);
    assert_eq!(got, b"abc");
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE I", "EPSV", "RETR f", "TYPE I", "EPSV", "RETR g"]);
}

/// Fewer bytes than the 150 announced, even with a 226: `Truncated`, and the connection is
/// usable (the 226 was read).
#[test]
fn download_shorter_than_announced_is_truncated() {
    let mut steps = epsv_transfer("RETR f", "150 Opening BINARY mode data connection for f (100 bytes).\r\n");
    steps.extend(serve(&[b'x'; 40]));
    steps.push(noop());
    let (server, mut c) = logged_in(steps);
    let (r, got) = retr(&mut c, "RETR f");
    assert!(matches!(r, Err(Error::Truncated(ref m)) if m.contains("40 of the 100")), "{r:?}");
    assert_eq!(got.len(), 40);
    assert_usable(&mut c);
    finish(server);
}

/// 125 works as the preliminary reply; a 2xx before the 1xx is skipped as ftplib does.
#[test]
fn preliminary_125_and_2xx_before_1xx() {
    let mut steps = epsv_transfer("RETR a", "125 Data connection already open; transfer starting.\r\n");
    steps.extend(serve(b"after 125"));
    steps.extend(epsv_transfer("RETR b", "200 ok\r\n150 Opening data connection (8 bytes).\r\n"));
    steps.extend(serve(b"after 2x"));
    steps.push(noop());
    let (server, mut c) = logged_in(steps);
    let (r, got) = retr(&mut c, "RETR a");
    expect_code(r, 226);
    assert_eq!(got, b"after 125");
    c.voidcmd(b"TYPE I").unwrap_or_else(|e| panic!("{e:?}"));
    let mut conn = c.ntransfercmd(b"RETR b", None).unwrap();
    assert_eq!(conn.preliminary_reply().code, 150);
    assert_eq!(conn.size(), Some(8));
    let mut data = Vec::new();
    conn.read_to_end(&mut data).unwrap();
    assert_eq!(data, b"after 2x");
    expect_code(c.finish_transfer(conn, true), 226);
    assert_usable(&mut c);
    finish(server);
}

/// 425 instead of 1xx: `Temp(425)`, nothing else read or sent, NOOP works.
#[test]
fn cannot_open_data_connection_425() {
    let (server, mut c) = logged_in(vec![
        Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
        Step::EpsvReply,
        Step::reply("RETR f", "425 Can't open data connection.\r\n"),
        Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
        Step::EpsvReply,
        Step::reply("STOR f", "425 Can't open data connection.\r\n"),
        noop(),
    ]);
    let (r, got) = retr(&mut c, "RETR f");
    assert!(matches!(r, Err(Error::Temp(ref reply)) if reply.code == 425), "{r:?}");
    assert!(got.is_empty());
    let r = c.storbinary(b"STOR f", &mut &b"data"[..], 0, None, None);
    assert!(matches!(r, Err(Error::Temp(ref reply)) if reply.code == 425), "{r:?}");
    assert_usable(&mut c);
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE I", "EPSV", "RETR f", "TYPE I", "EPSV", "STOR f", "NOOP"]);
}

// ---------------------------------------------------------------------------------------
// Broken data connections

/// A reset in the middle of RETR is an error; the server's 426 that follows is what the
/// caller sees, and the control connection stays in step.
#[test]
fn reset_during_retr_surfaces_426() {
    let mut steps = epsv_transfer("RETR f", "150 Opening BINARY mode data connection for f (1000000 bytes).\r\n");
    steps.extend([
        Step::DataSend(vec![7; 32 * 1024]),
        Step::DataReset,
        Step::send("426 Connection closed; transfer aborted.\r\n"),
        noop(),
    ]);
    let (server, mut c) = logged_in(steps);
    let (r, got) = retr(&mut c, "RETR f");
    assert!(matches!(r, Err(Error::Temp(ref reply)) if reply.code == 426), "{r:?}");
    assert!(got.len() <= 32 * 1024);
    assert!(got.iter().all(|&b| b == 7));
    assert_usable(&mut c);
    finish(server);
}

/// A reset in the middle of STOR: an error, never Ok, with the server's 426.
#[test]
fn reset_during_stor_surfaces_426() {
    let (server, mut c) = logged_in(vec![
        Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
        Step::EpsvReply,
        Step::reply("STOR f", "150 Ok to send data.\r\n"),
        Step::DataAccept,
        Step::DataRecvExact(64 * 1024),
        Step::DataReset,
        Step::send("426 Connection closed; transfer aborted.\r\n"),
        noop(),
    ]);
    // Far more than socket buffers hold, so the client is still writing at the reset.
    let mut source = io::repeat(b's').take(256 << 20);
    let r = c.storbinary(b"STOR f", &mut source, 0, None, None);
    assert!(matches!(r, Err(Error::Temp(ref reply)) if reply.code == 426), "{r:?}");
    assert_usable(&mut c);
    let t = finish(server);
    assert_eq!(t.data_received[0], vec![b's'; 64 * 1024]);
}

/// Data ended cleanly (EOF) but the final reply is 426, 451 or 552: an error with that
/// reply, for downloads, listings and uploads alike.
#[test]
fn eof_then_error_reply_is_never_success() {
    let mut steps = epsv_transfer("RETR a", "150 ok\r\n");
    steps.extend([
        Step::data_send("part"),
        Step::DataClose,
        Step::send("426 Connection closed; transfer aborted.\r\n"),
    ]);
    steps.extend(epsv_transfer("RETR b", "150 ok\r\n"));
    steps.extend([
        Step::data_send("part"),
        Step::DataClose,
        Step::send("451 Requested action aborted: local error.\r\n"),
    ]);
    steps.extend(epsv_text_transfer("LIST", "150 Here comes the directory listing.\r\n"));
    steps.extend([Step::data_send("line\r\n"), Step::DataClose, Step::send("451 Read error.\r\n")]);
    steps.extend(epsv_transfer("STOR c", "150 Ok to send data.\r\n"));
    steps.extend([Step::DataRecvToEof, Step::send("451 Failure writing to local file.\r\n")]);
    steps.extend(epsv_transfer("STOR d", "150 Ok to send data.\r\n"));
    steps.extend([Step::DataRecvToEof, Step::send("552 Quota exceeded.\r\n")]);
    steps.push(noop());
    let (server, mut c) = logged_in(steps);
    let (r, got) = retr(&mut c, "RETR a");
    assert!(matches!(r, Err(Error::Temp(ref reply)) if reply.code == 426), "{r:?}");
    assert_eq!(got, b"part");
    let (r, _) = retr(&mut c, "RETR b");
    assert!(matches!(r, Err(Error::Temp(ref reply)) if reply.code == 451), "{r:?}");
    let (r, lines) = retrlines(&mut c, "LIST");
    assert!(matches!(r, Err(Error::Temp(ref reply)) if reply.code == 451), "{r:?}");
    assert_eq!(lines, ["line"]);
    let r = c.storbinary(b"STOR c", &mut &b"upload"[..], 0, None, None);
    assert!(matches!(r, Err(Error::Temp(ref reply)) if reply.code == 451), "{r:?}");
    let r = c.storbinary(b"STOR d", &mut &b"upload"[..], 0, None, None);
    assert!(matches!(r, Err(Error::Perm(ref reply)) if reply.code == 552), "{r:?}");
    assert_usable(&mut c);
    let t = finish(server);
    // Connections 0-2 were downloads; 3 and 4 the uploads, received whole.
    assert_eq!(t.data_received[3..], [b"upload".to_vec(), b"upload".to_vec()]);
}

/// A data connection that goes silent ends in `Timeout` after `data_timeout`, for a download
/// and an upload; the server's 426 after our reset is read and the connection stays usable.
#[test]
fn stalled_data_connection_times_out() {
    let mut steps = epsv_transfer("RETR f", "150 ok\r\n");
    steps.extend([
        Step::DataSend(vec![b'd'; 100]),
        Step::DataStall(Duration::from_secs(8)),
        Step::send("426 Failure reading network stream.\r\n"),
    ]);
    steps.extend(epsv_transfer("STOR g", "150 Ok to send data.\r\n"));
    steps.extend([Step::DataStall(Duration::from_secs(8)), Step::send("426 Failure writing network stream.\r\n")]);
    steps.push(noop());
    let (server, mut c) = logged_in_with(steps, |c| c.config_mut().data_timeout = Some(Duration::from_millis(500)));

    let start = Instant::now();
    let (r, got) = retr(&mut c, "RETR f");
    let waited = start.elapsed();
    assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
    assert_eq!(got, vec![b'd'; 100]);
    assert!(waited >= Duration::from_millis(450) && waited < Duration::from_secs(3), "{waited:?}");

    let start = Instant::now();
    let mut source = io::repeat(b'u').take(1 << 30);
    let r = c.storbinary(b"STOR g", &mut source, 0, None, None);
    let waited = start.elapsed();
    assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
    assert!(waited >= Duration::from_millis(450) && waited < Duration::from_secs(4), "{waited:?}");

    assert_usable(&mut c);
    let t = finish(server);
    let closed = t.events.iter().filter(|e| e.contains("during DataStall")).count();
    assert_eq!(closed, 2, "the client closes both stalled connections: {:?}", t.events);
}

/// Bytes that trickle in are handed to the callback as they come (within the 20 ms the
/// kernel may hold them while a block gathers), not held until a whole block or the end.
#[test]
fn trickling_download_is_delivered_as_it_comes() {
    let mut steps = epsv_transfer("RETR slow", "150 ok\r\n");
    for i in 0..10u8 {
        steps.push(Step::DataSend(vec![b'a' + i; 50]));
        steps.push(Step::Sleep(Duration::from_millis(150)));
    }
    steps.extend([Step::DataClose, Step::send("226 Transfer complete.\r\n")]);
    let (server, mut c) = logged_in(steps);
    let started = Instant::now();
    let mut arrivals = Vec::new();
    let mut got = Vec::new();
    let r = c.retrbinary(
        b"RETR slow",
        &mut |block| {
            arrivals.push(started.elapsed());
            got.extend_from_slice(block);
            Flow::Continue(())
        },
        0,
        None,
    );
    assert_eq!(r.unwrap().code, 226);
    assert_eq!(got.len(), 500);
    assert!(got.chunks(50).enumerate().all(|(i, c)| c.iter().all(|&b| b == b'a' + i as u8)));
    // Ten pieces 150 ms apart: each one reaches the callback before the next is sent.
    assert!(arrivals.len() >= 8, "{} callbacks: {arrivals:?}", arrivals.len());
    assert!(arrivals[0] < Duration::from_millis(1000), "{arrivals:?}");
    finish(server);
}

// ---------------------------------------------------------------------------------------
// Stopping a transfer

/// A callback returning Break: `Stopped`, ABOR sent (as urgent data), and whichever of the
/// usual answers the server gives (426+226, 226 alone, 225), the connection stays usable.
#[test]
fn callback_break_aborts_and_stays_in_step() {
    for answer in [
        "426 Transfer aborted.\r\n226 Abort successful.\r\n",
        "226 Abort successful.\r\n",
        "225 ABOR command successful.\r\n",
    ] {
        let mut steps =
            epsv_transfer("RETR big", "150 Opening BINARY mode data connection for big (9999999 bytes).\r\n");
        steps.extend([Step::DataSend(vec![1; 4096]), Step::abor_interrupt(), Step::send(answer), noop(), noop()]);
        let (server, mut c) = logged_in(steps);
        let mut calls = 0;
        let r = c.retrbinary(
            b"RETR big",
            &mut |_| {
                calls += 1;
                Flow::Break(())
            },
            0,
            None,
        );
        assert!(matches!(r, Err(Error::Stopped)), "{answer}: {r:?}");
        assert_eq!(calls, 1);
        assert_usable(&mut c);
        let t = finish(server);
        assert_eq!(cmds(&t), ["TYPE I", "EPSV", "RETR big", "ABOR", "NOOP", "NOOP"], "{answer}");
    }
}

/// Whatever the server makes of ABOR (226 before 426, one 451, the 226 twice, the second
/// reply 1.5 s after the first), the NOOP after it marks the end: the replies are all read,
/// the next command gets its own reply, and the last reply is the abort's, not the NOOP's.
#[test]
fn abort_replies_in_odd_orders_and_late() {
    let cases: [(&[&str], u16); 4] = [
        (&["226 Abort successful.\r\n426 Transfer aborted.\r\n"], 426),
        (&["451 Transfer aborted and ABOR acknowledged.\r\n"], 451),
        (&["426 Transfer aborted.\r\n226 Abort successful.\r\n226 Abort successful.\r\n"], 226),
        (&["426 Transfer aborted.\r\n", "226 Abort successful, late.\r\n"], 226),
    ];
    for (replies, last) in cases {
        let mut steps = epsv_transfer("RETR big", "150 ok\r\n");
        steps.extend([Step::DataSend(vec![1; 4096]), Step::abor_interrupt()]);
        for (i, reply) in replies.iter().enumerate() {
            if i > 0 {
                steps.push(Step::Sleep(Duration::from_millis(1500)));
            }
            steps.push(Step::send(reply));
        }
        steps.extend([noop(), Step::reply("PWD", "257 \"/\" is the current directory\r\n")]);
        let (server, mut c) = logged_in(steps);
        let r = c.retrbinary(b"RETR big", &mut |_| Flow::Break(()), 0, None);
        assert!(matches!(r, Err(Error::Stopped)), "{replies:?}: {r:?}");
        assert_eq!(c.last_reply().map(|r| r.code), Some(last), "{replies:?}");
        assert_eq!(c.pwd().unwrap(), b"/", "{replies:?}");
        finish(server);
    }
}

/// A server that never answers ABOR: the stop ends in `Timeout` after the control timeout
/// (not a hang, not `Stopped` as if all were well), and the connection, out of step, is closed.
#[test]
fn abor_never_answered_times_out_and_closes() {
    let mut steps = epsv_transfer("RETR big", "150 ok\r\n");
    steps.extend([Step::DataSend(vec![1; 4096]), Step::abor_interrupt(), Step::Stall(Duration::from_secs(5))]);
    let (server, mut c) = logged_in(steps);
    c.config_mut().timeout = Duration::from_millis(500);
    c.refresh_timeouts().unwrap();
    let started = Instant::now();
    let r = c.retrbinary(b"RETR big", &mut |_| Flow::Break(()), 0, None);
    let waited = started.elapsed();
    assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
    assert!(waited >= Duration::from_millis(450) && waited < Duration::from_secs(3), "{waited:?}");
    assert!(!c.is_connected());
    assert!(matches!(c.voidcmd(b"NOOP"), Err(Error::WrongState(_))));
    drop(server);
}

/// The same from retrlines, whose callback stops on the second line.
#[test]
fn retrlines_break_aborts() {
    let mut steps = epsv_text_transfer("LIST", "150 Here comes the directory listing.\r\n");
    steps.extend([
        Step::data_send("a\r\nb\r\nc\r\n"),
        Step::abor_interrupt(),
        Step::send("426 Transfer aborted.\r\n226 Abort successful.\r\n"),
        noop(),
        noop(),
    ]);
    let (server, mut c) = logged_in(steps);
    let mut lines = Vec::new();
    let r = c.retrlines(b"LIST", &mut |l| {
        lines.push(l.to_vec());
        if lines.len() == 2 {
            Flow::Break(())
        } else {
            Flow::Continue(())
        }
    });
    assert!(matches!(r, Err(Error::Stopped)), "{r:?}");
    assert_eq!(lines, [b"a".to_vec(), b"b".to_vec()]);
    assert_usable(&mut c);
    finish(server);
}

/// An upload stopped by its source (`io::Error::other(StopTransfer)`) or by its callback:
/// `Stopped`, ABOR, usable.
#[test]
fn upload_stopped_by_source_or_callback() {
    let mut steps = epsv_transfer("STOR a", "150 Ok to send data.\r\n");
    steps.extend([Step::abor_interrupt(), Step::send("426 Transfer aborted.\r\n226 Abort successful.\r\n"), noop()]);
    steps.extend(epsv_transfer("STOR b", "150 Ok to send data.\r\n"));
    steps.extend([Step::abor_interrupt(), Step::send("225 ABOR command successful.\r\n"), noop(), noop()]);
    let (server, mut c) = logged_in(steps);
    let r = c.storbinary(b"STOR a", &mut StopAfter { left: 1000 }, 0, None, None);
    assert!(matches!(r, Err(Error::Stopped)), "{r:?}");
    let mut blocks = 0;
    let mut stop_at_three = |_: &[u8]| {
        blocks += 1;
        if blocks == 3 {
            Flow::Break(())
        } else {
            Flow::Continue(())
        }
    };
    let r = c.storbinary(b"STOR b", &mut io::repeat(b'v').take(1 << 20), 100, Some(&mut stop_at_three), None);
    assert!(matches!(r, Err(Error::Stopped)), "{r:?}");
    assert_eq!(blocks, 3);
    assert_usable(&mut c);
    let t = finish(server);
    assert_eq!(
        cmds(&t),
        ["TYPE I", "EPSV", "STOR a", "ABOR", "NOOP", "TYPE I", "EPSV", "STOR b", "ABOR", "NOOP", "NOOP"]
    );
}

/// The canceller set from another thread while a plain download waits for its next block
/// (the server sent 1000 bytes, then nothing): the wait ends within its 20 ms tick, the
/// download stops with `Stopped`, ABOR goes out, and the flag is cleared.
#[test]
fn canceller_from_another_thread_stops_a_slow_download() {
    let mut steps = epsv_transfer("RETR slow", "150 ok\r\n");
    steps.extend([
        Step::DataSend(vec![b'a'; 1000]),
        Step::DataStall(Duration::from_secs(5)),
        Step::abor_interrupt(),
        Step::send("426 Transfer aborted.\r\n226 Abort successful.\r\n"),
        noop(),
        noop(),
    ]);
    let (server, mut c) = logged_in(steps);
    let cancel = c.canceller();
    let (first_block, started) = mpsc::channel();
    let canceller = thread::spawn(move || {
        started.recv_timeout(Duration::from_secs(5)).expect("no first block");
        thread::sleep(Duration::from_millis(100));
        cancel.store(true, Ordering::SeqCst);
    });
    let start = Instant::now();
    let mut got = Vec::new();
    let r = c.retrbinary(
        b"RETR slow",
        &mut |block| {
            got.extend_from_slice(block);
            let _ = first_block.send(());
            Flow::Continue(())
        },
        0,
        None,
    );
    let waited = start.elapsed();
    canceller.join().unwrap();
    assert!(matches!(r, Err(Error::Stopped)), "{r:?}");
    assert_eq!(got, vec![b'a'; 1000]);
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert!(!c.canceller().load(Ordering::SeqCst), "the flag is cleared once used");
    assert_usable(&mut c);
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE I", "EPSV", "RETR slow", "ABOR", "NOOP", "NOOP"]);
}

/// A cancel request that lands in a transfer's reply wait (here the 150 that does not come)
/// ends it at once, as every wait: `Cancelled`, and the control connection, out of step, is
/// closed.
#[test]
fn cancel_while_the_150_is_awaited_ends_the_wait() {
    let steps = vec![
        Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
        Step::EpsvReply,
        Step::expect_exact("RETR slow-start"),
        Step::Stall(Duration::from_secs(3)),
    ];
    let (server, mut c) = logged_in(steps);
    c.config_mut().timeout = Duration::from_secs(30);
    c.refresh_timeouts().unwrap();
    let setter = c.canceller();
    let early = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        setter.store(true, Ordering::SeqCst);
        Instant::now()
    });
    let (r, got) = retr(&mut c, "RETR slow-start");
    let asked = early.join().unwrap();
    assert!(asked.elapsed() < Duration::from_millis(100), "{:?} after the request", asked.elapsed());
    assert!(matches!(r, Err(Error::Cancelled(_))), "{r:?}");
    assert!(got.is_empty());
    assert!(!c.is_connected());
    drop(server);
}

/// A callback that sets the cancel flag and returns Break (as the bindings' abort does):
/// the stop serves the request, so the replies to ABOR (here 300 ms late) are still read
/// whole and the connection stays in step.
#[test]
fn a_stop_serves_the_cancel_request_made_with_it() {
    let mut steps = epsv_transfer("RETR both", "150 ok\r\n");
    steps.extend([
        Step::DataSend(vec![b'b'; 1000]),
        Step::DataStall(Duration::from_secs(5)),
        Step::abor_interrupt(),
        Step::Sleep(Duration::from_millis(300)),
        Step::send("426 Transfer aborted.\r\n226 Abort successful.\r\n"),
        noop(),
        noop(),
    ]);
    let (server, mut c) = logged_in(steps);
    let cancel = c.canceller();
    let r = c.retrbinary(
        b"RETR both",
        &mut |_| {
            cancel.store(true, Ordering::SeqCst);
            Flow::Break(())
        },
        0,
        None,
    );
    assert!(matches!(r, Err(Error::Stopped)), "{r:?}");
    assert!(!c.canceller().load(Ordering::SeqCst), "the request ended with the transfer");
    assert_usable(&mut c);
    finish(server);
}

// ---------------------------------------------------------------------------------------
// Active mode

/// EPRT advertises the address given in `active_address` and a port of
/// `active_port_range`; the server's connection to it carries the data.
#[test]
fn active_eprt_with_address_and_port_range() {
    let first = free_port().min(65535 - 20);
    let range = (first, first + 20);
    let mut steps = vec![
        Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
        Step::reply("EPRT |1|127.0.0.1|", "200 EPRT command successful.\r\n"),
        Step::reply("RETR f", "150 Opening BINARY mode data connection.\r\n"),
        Step::DataAccept,
    ];
    steps.extend(serve(b"active data"));
    let (server, mut c) = logged_in_with(steps, |c| {
        let cfg = c.config_mut();
        cfg.passive = false;
        cfg.active_address = Some(LOCALHOST);
        cfg.active_port_range = Some(range);
    });
    let (r, got) = retr(&mut c, "RETR f");
    expect_code(r, 226);
    assert_eq!(got, b"active data");
    let t = finish(server);
    let commands = cmds(&t);
    assert_eq!(commands.len(), 3, "{commands:?}");
    let addr = advertised(&commands[1]);
    assert_eq!(addr.ip(), LOCALHOST);
    assert!((range.0..=range.1).contains(&addr.port()), "{addr} outside {range:?}");
    assert_eq!(t.data_conns[0].peer, addr);
}

/// Without `active_address`, EPRT advertises the control connection's local address (here
/// 127.0.0.3, the source address given to connect) and listens there.
#[test]
fn active_advertises_the_local_address_by_default() {
    let mut steps = vec![
        Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
        Step::reply("EPRT |1|127.0.0.3|", "200 EPRT command successful.\r\n"),
        Step::reply("RETR f", "150 ok\r\n"),
        Step::DataAccept,
    ];
    steps.extend(serve(b"to 127.0.0.3"));
    let mut all = login_prelude();
    all.extend(steps);
    let server = ScriptedServer::start(all);
    let mut c = short_timeout_client();
    c.config_mut().passive = false;
    c.connect("127.0.0.1", server.port(), None, Some("127.0.0.3:0".parse().unwrap())).unwrap();
    c.login("u", "p", "").unwrap();
    let (r, got) = retr(&mut c, "RETR f");
    expect_code(r, 226);
    assert_eq!(got, b"to 127.0.0.3");
    let t = finish(server);
    assert_eq!(t.data_conns[0].peer, advertised(&cmds(&t)[1]));
}

/// EPRT refused with 500: PORT with the same address, and PORT straight away next time.
#[test]
fn active_port_fallback_after_eprt_refused() {
    let mut steps = vec![
        Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
        Step::reply("EPRT |1|127.0.0.1|", "500 'EPRT': command not understood.\r\n"),
        Step::reply("PORT 127,0,0,1,", "200 PORT command successful.\r\n"),
        Step::reply("RETR one", "150 ok\r\n"),
        Step::DataAccept,
    ];
    steps.extend(serve(b"first"));
    steps.extend([
        Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
        Step::reply("PORT 127,0,0,1,", "200 PORT command successful.\r\n"),
        Step::reply("RETR two", "150 ok\r\n"),
        Step::DataAccept,
    ]);
    steps.extend(serve(b"second"));
    let (server, mut c) = logged_in_with(steps, |c| c.config_mut().passive = false);
    let (r, got) = retr(&mut c, "RETR one");
    expect_code(r, 226);
    assert_eq!(got, b"first");
    let (r, got) = retr(&mut c, "RETR two");
    expect_code(r, 226);
    assert_eq!(got, b"second");
    let t = finish(server);
    let commands = cmds(&t);
    let verbs: Vec<&str> = commands.iter().map(|c| c.split(' ').next().unwrap()).collect();
    assert_eq!(verbs, ["TYPE", "EPRT", "PORT", "RETR", "TYPE", "PORT", "RETR"]);
    // EPRT and the PORT that replaced it name the same listener.
    assert_eq!(advertised(&commands[1]), advertised(&commands[2]));
    assert_eq!(t.data_conns[0].peer, advertised(&commands[2]));
    assert_eq!(t.data_conns[1].peer, advertised(&commands[5]));
}

/// A data connection from another host (127.0.0.2) is refused; with no other connection the
/// transfer ends in `Timeout` after `data_accept_timeout`, ABOR brings the control
/// connection back in step.
#[test]
fn active_connection_from_a_foreign_address_is_refused() {
    let (server, mut c) = logged_in_with(
        vec![
            Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
            Step::reply("EPRT", "200 EPRT command successful.\r\n"),
            Step::reply("RETR f", "150 Opening BINARY mode data connection.\r\n"),
            Step::DataConnectFrom(FOREIGN),
            Step::abor_interrupt(),
            Step::send("426 Connection closed; transfer aborted.\r\n226 Abort successful.\r\n"),
            noop(),
            noop(),
        ],
        |c| {
            c.config_mut().passive = false;
            c.config_mut().data_accept_timeout = Some(Duration::from_millis(700));
        },
    );
    let trace = capture_trace(&mut c);
    let start = Instant::now();
    let (r, got) = retr(&mut c, "RETR f");
    let waited = start.elapsed();
    assert!(matches!(r, Err(Error::Timeout(m)) if m.contains("refused")), "{r:?}");
    assert!(got.is_empty());
    assert!(waited >= Duration::from_millis(650) && waited < Duration::from_secs(3), "{waited:?}");
    assert!(traced(&trace, "refused a data connection from 127.0.0.2"));
    assert_usable(&mut c);
    let t = finish(server);
    let commands = cmds(&t);
    assert!(commands[1].starts_with("EPRT |1|127.0.0.1|"), "{commands:?}");
    assert_eq!(commands[2..], ["RETR f", "ABOR", "NOOP", "NOOP"]);
}

/// After refusing a foreign connection the client keeps waiting, and the server's own
/// connection (from 127.0.0.1, made here by the test once the refusal is traced) is used.
#[test]
fn active_foreign_connection_refused_then_the_server_connects() {
    let port = free_port();
    let (refused_tx, refused_rx) = mpsc::channel::<()>();
    let (server, mut c) = logged_in_with(
        vec![
            Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
            Step::reply("EPRT", "200 EPRT command successful.\r\n"),
            Step::reply("RETR f", "150 Opening BINARY mode data connection.\r\n"),
            Step::DataConnectFrom(FOREIGN),
            Step::send("226 Transfer complete.\r\n"),
            noop(),
        ],
        |c| {
            let cfg = c.config_mut();
            cfg.passive = false;
            cfg.active_port_range = Some((port, port));
            cfg.data_accept_timeout = Some(Duration::from_secs(3));
        },
    );
    c.set_debuglevel(1);
    let refused_tx = Mutex::new(refused_tx);
    c.set_trace_sink(Some(Box::new(move |l: &str| {
        if l.contains("refused a data connection") {
            let _ = refused_tx.lock().unwrap().send(());
        }
    })));
    let real_server = thread::spawn(move || {
        refused_rx.recv_timeout(Duration::from_secs(5)).expect("the foreign connection was not refused");
        let mut s = TcpStream::connect_timeout(&SocketAddr::new(LOCALHOST, port), Duration::from_secs(2)).unwrap();
        s.write_all(b"from the real server").unwrap();
    });
    let (r, got) = retr(&mut c, "RETR f");
    real_server.join().unwrap();
    expect_code(r, 226);
    assert_eq!(got, b"from the real server");
    assert_usable(&mut c);
    let t = finish(server);
    assert_eq!(advertised(&cmds(&t)[1]), SocketAddr::new(LOCALHOST, port));
}

/// An active port range with no free port: an I/O error before any command is sent.
#[test]
fn active_port_range_exhausted() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (server, mut c) =
        logged_in_with(vec![Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"), noop()], |c| {
            c.config_mut().passive = false;
            c.config_mut().active_port_range = Some((port, port));
        });
    let (r, _) = retr(&mut c, "RETR f");
    assert!(matches!(r, Err(Error::Io { .. })), "{r:?}");
    assert_usable(&mut c);
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE I", "NOOP"]);
}

// ---------------------------------------------------------------------------------------
// retrlines

/// CRLF, LF and bare CR all end lines, also when a CRLF is split across two reads; lines of
/// exactly 8192 bytes are fine.
#[test]
fn retrlines_line_ends() {
    let max = "m".repeat(8192);
    let mut steps = epsv_text_transfer("RETR t.txt", "150 Opening ASCII mode data connection.\r\n");
    steps.extend([
        Step::data_send("crlf\r\nlf\nbare cr\rsplit\r"),
        Step::Sleep(Duration::from_millis(100)),
        Step::data_send(format!("\n\r\n{max}\nno end")),
        Step::DataClose,
        Step::send("226 Transfer complete.\r\n"),
    ]);
    let (server, mut c) = logged_in(steps);
    let (r, lines) = retrlines(&mut c, "RETR t.txt");
    expect_code(r, 226);
    assert_eq!(lines, ["crlf", "lf", "bare cr", "split", "", max.as_str(), "no end"]);
    finish(server);
}

/// A line over 8192 bytes: `LineTooLong`, the transfer is aborted and the control
/// connection is still in step.
#[test]
fn retrlines_overlong_line_aborts_in_step() {
    let mut long = b"short\r\n".to_vec();
    long.extend(std::iter::repeat_n(b'x', 9000));
    long.extend_from_slice(b"\r\nafter\r\n");
    let mut steps = epsv_text_transfer("RETR t.txt", "150 Opening ASCII mode data connection.\r\n");
    steps.extend([
        Step::DataSend(long),
        Step::abor_interrupt(),
        Step::send("426 Transfer aborted.\r\n226 Abort successful.\r\n"),
        noop(),
        noop(),
    ]);
    let (server, mut c) = logged_in(steps);
    let (r, lines) = retrlines(&mut c, "RETR t.txt");
    assert!(matches!(r, Err(Error::LineTooLong(8192))), "{r:?}");
    assert_eq!(lines, ["short"]);
    assert_usable(&mut c);
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE A", "EPSV", "RETR t.txt", "ABOR", "NOOP", "NOOP"]);
}

// ---------------------------------------------------------------------------------------
// Listings and facts

/// Listings with no data: empty results from nlst, dir and mlsd.
#[test]
fn empty_listings() {
    let mut steps = Vec::new();
    for cmd in ["NLST", "LIST", "MLSD"] {
        steps.extend(epsv_text_transfer(cmd, "150 Here comes the directory listing.\r\n"));
        steps.extend([Step::DataClose, Step::send("226 Directory send OK.\r\n")]);
    }
    let (server, mut c) = logged_in(steps);
    assert!(c.nlst(None).unwrap().is_empty());
    let mut calls = 0;
    expect_code(
        c.dir(None, &mut |_| {
            calls += 1;
            Flow::Continue(())
        }),
        226,
    );
    assert_eq!(calls, 0);
    assert!(c.mlsd(None, &[]).unwrap().is_empty());
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE A", "EPSV", "NLST", "TYPE A", "EPSV", "LIST", "TYPE A", "EPSV", "MLSD"]);
}

/// nlst with an argument returns each name byte-exact.
#[test]
fn nlst_names() {
    let mut steps = epsv_text_transfer("NLST /pub", "150 Here comes the directory listing.\r\n");
    steps.extend(serve(b"a.txt\r\nname with spaces\r\nsub/dir\r\n"));
    let (server, mut c) = logged_in(steps);
    assert_eq!(c.nlst(Some(b"/pub")).unwrap(), [b"a.txt".to_vec(), b"name with spaces".to_vec(), b"sub/dir".to_vec()]);
    finish(server);
}

/// mlsd with facts sends `OPTS MLST type;size;` first and parses the lines.
#[test]
fn mlsd_with_facts() {
    let mut steps = vec![Step::expect_exact("OPTS MLST type;size;"), Step::send("200 MLST OPTS type;size;\r\n")];
    steps.extend(epsv_text_transfer("MLSD /pub", "150 Here comes the directory listing.\r\n"));
    steps.extend(serve(b"type=cdir;size=4096; /pub\r\ntype=file;size=12; a file.txt\r\ntype=dir;size=4096; sub\r\n"));
    let (server, mut c) = logged_in(steps);
    let entries = c.mlsd(Some(b"/pub"), &["type", "size"]).unwrap();
    let summary: Vec<(&[u8], EntryKind, Option<u64>)> =
        entries.iter().map(|e| (e.name.as_slice(), e.kind, e.size)).collect();
    assert_eq!(
        summary,
        [
            (&b"/pub"[..], EntryKind::CurrentDir, Some(4096)),
            (&b"a file.txt"[..], EntryKind::File, Some(12)),
            (&b"sub"[..], EntryKind::Dir, Some(4096)),
        ]
    );
    assert_eq!(entries[1].facts, [("type".to_string(), b"file".to_vec()), ("size".to_string(), b"12".to_vec())]);
    assert!(entries.iter().all(|e| e.format == ListFormat::Mlsd));
    finish(server);
}

/// Names a hostile server may send (parent paths, absolute paths, control characters, an
/// escape sequence, a NUL, bytes that are not UTF-8) come back byte for byte as data, in
/// MLSD and in LIST entries: nothing is resolved, cleaned or cut. (ftpc writes no local
/// file named after a listing: the whole-file calls take the caller's own path.)
#[test]
fn hostile_names_in_listings_are_data() {
    let names: [&[u8]; 7] =
        [b"../../etc/passwd", b"/etc/shadow", b"a\x01b\x7fc", b"x\x1b[31mred", b"nul\0inside", b"latin\xe9\xff", b".."];
    let mut mlsd = Vec::new();
    let mut list = Vec::new();
    for name in names {
        mlsd.extend_from_slice(b"type=file;size=1; ");
        mlsd.extend_from_slice(name);
        mlsd.extend_from_slice(b"\r\n");
        list.extend_from_slice(b"-rw-r--r--    1 ftp      ftp             1 Jan 02  2020 ");
        list.extend_from_slice(name);
        list.extend_from_slice(b"\r\n");
    }
    let mut steps = epsv_text_transfer("MLSD", "150 ok\r\n");
    steps.extend(serve(&mlsd));
    steps.extend(epsv_text_transfer("LIST", "150 ok\r\n"));
    steps.extend(serve(&list));
    let (server, mut c) = logged_in_with(steps, |c| c.config_mut().encoding = ftpc::Encoding::Bytes);
    let from_mlsd = c.mlsd(None, &[]).unwrap();
    let from_list = c.list_entries(None).unwrap();
    for entries in [&from_mlsd, &from_list] {
        let got: Vec<&[u8]> = entries.iter().map(|e| e.name.as_slice()).collect();
        assert_eq!(got, names);
        assert!(entries.iter().all(|e| e.size == Some(1)), "{entries:?}");
    }
    // The type comes from the server's own words: `type=file` in MLSD; LIST marks "." and
    // ".." by name, as `ls -la` shows them.
    assert!(from_mlsd.iter().all(|e| e.kind == EntryKind::File));
    let kinds: Vec<EntryKind> = from_list.iter().map(|e| e.kind).collect();
    assert_eq!(kinds[..6], [EntryKind::File; 6]);
    assert_eq!(kinds[6], EntryKind::ParentDir);
    finish(server);
}

/// A server without MLSD (500/502 to it) gives `Unsupported`, also when it refuses the
/// OPTS MLST before it (vsftpd answers 501), and the connection stays usable.
#[test]
fn mlsd_unsupported() {
    let (server, mut c) = logged_in(vec![
        Step::reply("TYPE A", "200 Switching to ASCII mode.\r\n"),
        Step::EpsvReply,
        Step::reply("MLSD", "500 Unknown command.\r\n"),
        Step::reply("OPTS MLST type;", "501 Option not understood.\r\n"),
        Step::reply("TYPE A", "200 Switching to ASCII mode.\r\n"),
        Step::EpsvReply,
        Step::reply("MLSD", "502 Command not implemented.\r\n"),
        noop(),
    ]);
    let r = c.mlsd(None, &[]);
    assert!(matches!(r, Err(Error::Unsupported(_))), "{r:?}");
    let r = c.mlsd(None, &["type"]);
    assert!(matches!(r, Err(Error::Unsupported(_))), "{r:?}");
    assert_usable(&mut c);
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE A", "EPSV", "MLSD", "OPTS MLST type;", "TYPE A", "EPSV", "MLSD", "NOOP"]);
}

/// mlst reads the fact line of the multi-line 250 reply; 500 is `Unsupported`.
#[test]
fn mlst_parses_the_fact_line() {
    let (server, mut c) = logged_in(vec![
        Step::reply(
            "MLST a.txt",
            "250-Listing a.txt\r\n type=file;size=12;modify=20240102030405;UNIX.mode=0644; a.txt\r\n250 End\r\n",
        ),
        Step::reply("MLST", "500 Unknown command.\r\n"),
        noop(),
    ]);
    let entry = c.mlst(Some(b"a.txt")).unwrap();
    assert_eq!(entry.name, b"a.txt");
    assert_eq!(entry.kind, EntryKind::File);
    assert_eq!(entry.size, Some(12));
    assert_eq!(entry.modified, Some(1_704_164_645));
    assert_eq!(entry.mode, Some(0o644));
    assert!(matches!(c.mlst(None), Err(Error::Unsupported(_))));
    assert_usable(&mut c);
    let t = finish(server);
    assert_eq!(cmds(&t), ["MLST a.txt", "MLST", "NOOP"]);
}

/// FEAT parsed (names upper-cased), asked once, and `OPTS UTF8 ON` sent when UTF8 is listed.
#[test]
fn features_and_utf8() {
    let (server, mut c) = logged_in(vec![
        Step::reply(
            "FEAT",
            "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n mlst type*;size*;modify*;\r\n REST STREAM\r\n SIZE\r\n UTF8\r\n211 End\r\n",
        ),
        Step::expect_exact("OPTS UTF8 ON"),
        Step::send("200 Always in UTF8 mode.\r\n"),
    ]);
    let features = c.features().unwrap();
    let pair = |n: &str, v: &str| (n.to_string(), v.to_string());
    assert_eq!(
        features,
        [
            pair("EPRT", ""),
            pair("EPSV", ""),
            pair("MDTM", ""),
            pair("MLST", "type*;size*;modify*;"),
            pair("REST", "STREAM"),
            pair("SIZE", ""),
            pair("UTF8", ""),
        ]
    );
    assert_eq!(c.features().unwrap(), features);
    assert!(c.has_feature("mdtm").unwrap());
    assert!(!c.has_feature("MFMT").unwrap());
    let t = finish(server);
    assert_eq!(cmds(&t), ["FEAT", "OPTS UTF8 ON"]);

    // No UTF8 feature, or no FEAT at all: no OPTS.
    let (server, mut c) = logged_in(vec![Step::reply("FEAT", "211-Features:\r\n MDTM\r\n211 End\r\n")]);
    assert_eq!(c.features().unwrap(), [pair("MDTM", "")]);
    assert_eq!(cmds(&finish(server)), ["FEAT"]);
    let (server, mut c) = logged_in(vec![Step::reply("FEAT", "500 Unknown command.\r\n"), noop()]);
    assert!(c.features().unwrap().is_empty());
    assert_usable(&mut c);
    assert_eq!(cmds(&finish(server)), ["FEAT", "NOOP"]);
}

/// MDTM's 213 time-val in seconds since the epoch; malformed is `Proto`, 550 is `Perm`.
#[test]
fn mdtm_parses_the_time() {
    let (server, mut c) = logged_in(vec![
        Step::reply("MDTM f", "213 20240102030405\r\n"),
        Step::reply("MDTM g", "213 20240102030405.123\r\n"),
        Step::reply("MDTM h", "213 2024-01-02\r\n"),
        Step::reply("MDTM i", "550 No such file.\r\n"),
    ]);
    assert_eq!(c.mdtm(b"f").unwrap(), 1_704_164_645);
    assert_eq!(c.mdtm(b"g").unwrap(), 1_704_164_645);
    assert!(matches!(c.mdtm(b"h"), Err(Error::Proto(_))));
    assert!(matches!(c.mdtm(b"i"), Err(Error::Perm(r)) if r.code == 550));
    finish(server);
}

/// list_entries on real-world LIST lines sent over the data connection.
#[test]
#[rustfmt::skip]
fn list_entries_real_world_lines() {
    let at = |y, mo, d, h, mi| epoch_from_civil(y, mo, d, h, mi, 0);
    type Row = (&'static str, &'static str, EntryKind, Option<u64>, Option<i64>, ListFormat);
    let table: Vec<Row> = vec![
        // vsftpd / ls -l
        ("-rw-r--r--    1 ftp      ftp          1234 Jan 02  2020 file.txt", "file.txt", EntryKind::File, Some(1234), at(2020, 1, 2, 0, 0), ListFormat::Unix),
        ("drwxr-xr-x    2 ftp      ftp          4096 Mar 15  2019 pub", "pub", EntryKind::Dir, Some(4096), at(2019, 3, 15, 0, 0), ListFormat::Unix),
        ("drwxrwxrwt   10 root     root         4096 Nov 20  2025 tmp", "tmp", EntryKind::Dir, Some(4096), at(2025, 11, 20, 0, 0), ListFormat::Unix),
        // No group column (ls -o, some embedded servers).
        ("-rw-r--r--    1 owner        5678 Feb 29  2024 no group.bin", "no group.bin", EntryKind::File, Some(5678), at(2024, 2, 29, 0, 0), ListFormat::Unix),
        // Symbolic link.
        ("lrwxrwxrwx    1 root     root           11 Dec 31  2021 latest -> release-1.2", "latest", EntryKind::Link, Some(11), at(2021, 12, 31, 0, 0), ListFormat::Unix),
        // Names with runs of spaces, busybox's padded day.
        ("-rw-r--r--    1 ftp      ftp            42 Jul 04  2022 two  spaces .txt", "two  spaces .txt", EntryKind::File, Some(42), at(2022, 7, 4, 0, 0), ListFormat::Unix),
        ("drwxr-xr-x    2 0        0               0 Jan  1  1970 root dir", "root dir", EntryKind::Dir, Some(0), Some(0), ListFormat::Unix),
        // IIS, 12-hour clock.
        ("01-16-24  02:12PM       <DIR>          Documents", "Documents", EntryKind::Dir, None, at(2024, 1, 16, 14, 12), ListFormat::Dos),
        ("12-31-99  11:59AM                 1234 file name.txt", "file name.txt", EntryKind::File, Some(1234), at(1999, 12, 31, 11, 59), ListFormat::Dos),
        ("07-18-00  12:16AM       <DIR>          pub", "pub", EntryKind::Dir, None, at(2000, 7, 18, 0, 16), ListFormat::Dos),
        // IIS, 24-hour clock and four-digit year.
        ("01-16-2024  14:12                 5678 report 2024.pdf", "report 2024.pdf", EntryKind::File, Some(5678), at(2024, 1, 16, 14, 12), ListFormat::Dos),
        // Nothing known: kept whole.
        ("+i8388621.48594,m825718503,r,s280,\tdjb.html", "+i8388621.48594,m825718503,r,s280,\tdjb.html", EntryKind::Unknown, None, None, ListFormat::Unparsed),
    ];
    let recent = "-rw-r--r--    1 ftp      ftp           100 Jan 02 03:04 recent.log";
    let mut listing = String::from("total 42\r\n");
    for (line, ..) in &table {
        listing.push_str(line);
        listing.push_str("\r\n");
    }
    listing.push_str(recent);
    listing.push_str("\r\n");
    let mut steps = epsv_text_transfer("LIST -la", "150 Here comes the directory listing.\r\n");
    steps.extend(serve(listing.as_bytes()));
    let (server, mut c) = logged_in(steps);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let entries = c.list_entries(Some(b"-la")).unwrap();
    assert_eq!(entries.len(), table.len() + 1, "the total line is not an entry");
    for ((line, name, kind, size, modified, format), entry) in table.iter().zip(&entries) {
        assert_eq!(entry.raw, line.as_bytes());
        assert_eq!(String::from_utf8_lossy(&entry.name), *name, "{line}");
        assert_eq!(entry.kind, *kind, "{line}");
        assert_eq!(entry.size, *size, "{line}");
        assert_eq!(entry.modified, *modified, "{line}");
        assert_eq!(entry.format, *format, "{line}");
    }
    assert_eq!(entries[2].mode, Some(0o1777));
    assert_eq!(entries[4].link_target.as_deref(), Some(&b"release-1.2"[..]));
    assert_eq!(entries[0].owner.as_deref(), Some(&b"ftp"[..]));
    // A date without a year: within the last year (or a month ahead), at the given day and time.
    let last = entries.last().unwrap();
    assert_eq!((last.name.as_slice(), last.kind, last.size), (&b"recent.log"[..], EntryKind::File, Some(100)));
    let modified = last.modified.expect("a yearless date has a time");
    assert!(modified > now - 366 * 86400 && modified <= now + 32 * 86400, "{modified} vs {now}");
    let (_, month, day, hour, minute, _) = civil_from_epoch(modified);
    assert_eq!((month, day, hour, minute), (1, 2, 3, 4));
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE A", "EPSV", "LIST -la"]);
}

// ---------------------------------------------------------------------------------------
// Uploads and whole-file transfers

/// storbinary sends every byte as given, block by block.
#[test]
fn storbinary_delivers_exact_bytes() {
    let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let mut steps = epsv_transfer("STOR bin", "150 Ok to send data.\r\n");
    steps.extend([Step::DataRecvToEof, Step::send("226 Transfer complete.\r\n")]);
    let (server, mut c) = logged_in(steps);
    let mut blocks = Vec::new();
    let mut record = |b: &[u8]| {
        blocks.push(b.len());
        Flow::Continue(())
    };
    expect_code(c.storbinary(b"STOR bin", &mut data.as_slice(), 1000, Some(&mut record), None), 226);
    assert_eq!(blocks, vec![1000; 100]);
    let t = finish(server);
    assert_eq!(t.data_received, [data]);
    assert_eq!(cmds(&t), ["TYPE I", "EPSV", "STOR bin"]);
}

/// storlines sends each line with CRLF whatever its end (LF, CRLF, CR at the end, none);
/// a CR inside a line, or CRs before a CRLF, are data.
#[test]
fn storlines_converts_line_ends_to_crlf() {
    let source = b"lf\ncrlf\r\ncr inside\rline\ntwo crs\r\r\n\nlast cr\r";
    let expected = b"lf\r\ncrlf\r\ncr inside\rline\r\ntwo crs\r\r\n\r\nlast cr\r\n";
    let mut steps = epsv_text_transfer("STOR t.txt", "150 Ok to send data.\r\n");
    steps.extend([Step::DataRecvToEof, Step::send("226 Transfer complete.\r\n")]);
    steps.extend(epsv_text_transfer("STOR u.txt", "150 Ok to send data.\r\n"));
    steps.extend([Step::DataRecvToEof, Step::send("226 Transfer complete.\r\n")]);
    let (server, mut c) = logged_in(steps);
    expect_code(c.storlines(b"STOR t.txt", &mut &source[..], None), 226);
    expect_code(c.storlines(b"STOR u.txt", &mut &b"no end at all"[..], None), 226);
    let t = finish(server);
    assert_eq!(String::from_utf8_lossy(&t.data_received[0]), String::from_utf8_lossy(expected));
    assert_eq!(t.data_received[1], b"no end at all\r\n");
}

/// The longest line storlines sends, 8,193 bytes and an LF (8,196 with its CRLF), landing
/// where the send buffer has the least room left (one byte short of a 64 KiB write), goes
/// out whole, and so does a last line without an end; every line with CRLF.
#[test]
fn storlines_longest_line_at_the_end_of_a_write() {
    let mut source = Vec::new();
    // 7 lines of 8,192 bytes and 8,175 more: 65,535 bytes with their CRLFs.
    for _ in 0..7 {
        source.extend(std::iter::repeat_n(b'a', 8192));
        source.push(b'\n');
    }
    source.extend(std::iter::repeat_n(b'b', 8175));
    source.extend_from_slice(b"\r\n");
    source.extend(std::iter::repeat_n(b'c', 8193));
    source.push(b'\n');
    source.extend(std::iter::repeat_n(b'd', 8192));
    let expected: Vec<u8> =
        String::from_utf8(source.clone()).unwrap().replace("\r\n", "\n").replace('\n', "\r\n").into_bytes();
    let expected = [expected, b"\r\n".to_vec()].concat();
    let mut steps = epsv_text_transfer("STOR t.txt", "150 Ok to send data.\r\n");
    steps.extend([Step::DataRecvToEof, Step::send("226 Transfer complete.\r\n")]);
    let (server, mut c) = logged_in(steps);
    let mut lines = Vec::new();
    let mut record = |b: &[u8]| {
        lines.push(b.len());
        Flow::Continue(())
    };
    expect_code(c.storlines(b"STOR t.txt", &mut &source[..], Some(&mut record)), 226);
    assert_eq!(lines, [vec![8194; 7], vec![8177, 8195, 8194]].concat());
    let t = finish(server);
    assert!(
        t.data_received[0] == expected,
        "{} bytes sent, not the {} expected",
        t.data_received[0].len(),
        expected.len()
    );
}

const BIG: usize = 3 << 20;

/// retrieve_to_fd moves ~3 MiB into a file exactly, with progress up to the announced size.
#[test]
fn retrieve_to_fd_exact_bytes() {
    let mut steps =
        epsv_transfer("RETR big", &format!("150 Opening BINARY mode data connection for big ({BIG} bytes).\r\n"));
    // With a progress callback, the first download asks SIZE: it cannot know yet that the
    // 150 will announce the size.
    steps.insert(1, Step::reply("SIZE big", format!("213 {BIG}\r\n")));
    steps.extend([Step::DataSendPattern(BIG as u64), Step::DataClose, Step::send("226 Transfer complete.\r\n")]);
    let (server, mut c) = logged_in(steps);
    let file = TempFile::new("download", b"");
    let out = OpenOptions::new().write(true).open(&file.0).unwrap();
    let mut last = (0, None);
    let mut progress = |done: u64, total: Option<u64>| {
        last = (done, total);
        Flow::Continue(())
    };
    let n = c.retrieve_to_fd(b"big", out.as_raw_fd(), None, Some(&mut progress)).unwrap();
    drop(out);
    assert_eq!(n, BIG as u64);
    assert_eq!(last, (BIG as u64, Some(BIG as u64)));
    assert!(file.content() == pattern_bytes(BIG), "the file differs from what was sent");
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE I", "SIZE big", "EPSV", "RETR big"]);
}

/// retrieve_to_fd with fewer bytes than announced: `Truncated`.
#[test]
fn retrieve_to_fd_truncated() {
    let mut steps = epsv_transfer("RETR big", "150 Opening BINARY mode data connection for big (5000 bytes).\r\n");
    steps.extend([Step::DataSendPattern(3000), Step::DataClose, Step::send("226 Transfer complete.\r\n"), noop()]);
    let (server, mut c) = logged_in(steps);
    let file = TempFile::new("short", b"");
    let out = OpenOptions::new().write(true).open(&file.0).unwrap();
    let r = c.retrieve_to_fd(b"big", out.as_raw_fd(), None, None);
    assert!(matches!(r, Err(Error::Truncated(_))), "{r:?}");
    assert_eq!(file.content(), pattern_bytes(3000));
    assert_usable(&mut c);
    finish(server);
}

/// store_from_fd sends a ~3 MiB file exactly.
#[test]
fn store_from_fd_exact_bytes() {
    let file = TempFile::new("upload", &pattern_bytes(BIG));
    let mut steps = epsv_transfer("STOR up", "150 Ok to send data.\r\n");
    steps.extend([Step::DataRecvToEof, Step::send("226 Transfer complete.\r\n")]);
    let (server, mut c) = logged_in(steps);
    let input = file.read();
    let mut last = (0, None);
    let mut progress = |done: u64, total: Option<u64>| {
        last = (done, total);
        Flow::Continue(())
    };
    let n = c.store_from_fd(b"up", input.as_raw_fd(), None, false, Some(&mut progress)).unwrap();
    assert_eq!(n, BIG as u64);
    assert_eq!(last, (BIG as u64, Some(BIG as u64)));
    let t = finish(server);
    assert!(t.data_received[0] == pattern_bytes(BIG), "the server received other bytes ({})", t.data_received[0].len());
    assert_eq!(cmds(&t), ["TYPE I", "EPSV", "STOR up"]);
}

/// resume_download sends REST with the local size and appends the rest.
#[test]
fn resume_download_appends_after_rest() {
    const N: usize = 200_000;
    let whole = pattern_bytes(N);
    let file = TempFile::new("resume-down", &whole[..1000]);
    let (server, mut c) = logged_in(vec![
        Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
        Step::EpsvReply,
        Step::expect_exact("REST 1000"),
        Step::send("350 Restart position accepted (1000).\r\n"),
        Step::expect_exact("RETR f"),
        Step::send(format!("150 Opening BINARY mode data connection for f ({N} bytes).\r\n")),
        Step::DataAccept,
        Step::data_send(&whole[1000..]),
        Step::DataClose,
        Step::send("226 Transfer complete.\r\n"),
    ]);
    let out = file.read_write();
    let n = c.resume_download(b"f", out.as_raw_fd(), None).unwrap();
    drop(out);
    assert_eq!(n, (N - 1000) as u64);
    assert!(file.content() == whole, "the resumed file differs");
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE I", "EPSV", "REST 1000", "RETR f"]);
}

/// resume_upload: SIZE, then REST+STOR of the rest when FEAT lists REST STREAM, APPE when
/// not, and a whole STOR when the remote file does not exist.
#[test]
fn resume_upload_rest_stor_or_appe() {
    const N: usize = 300_000;
    let whole = pattern_bytes(N);
    let file = TempFile::new("resume-up", &whole);
    let prelude = |feat: &str| {
        vec![
            Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
            Step::expect_exact("SIZE f"),
            Step::send("213 1000\r\n"),
            Step::reply("FEAT", feat),
            Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
            Step::EpsvReply,
        ]
    };

    let mut steps = prelude("211-Features:\r\n REST STREAM\r\n SIZE\r\n211 End\r\n");
    steps.extend([
        Step::expect_exact("REST 1000"),
        Step::send("350 Restart position accepted (1000).\r\n"),
        Step::expect_exact("STOR f"),
        Step::send("150 Ok to send data.\r\n"),
        Step::DataAccept,
        Step::DataRecvToEof,
        Step::send("226 Transfer complete.\r\n"),
    ]);
    let (server, mut c) = logged_in(steps);
    assert_eq!(c.resume_upload(b"f", file.read().as_raw_fd(), None).unwrap(), (N - 1000) as u64);
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE I", "SIZE f", "FEAT", "TYPE I", "EPSV", "REST 1000", "STOR f"]);
    assert!(t.data_received[0] == whole[1000..], "REST+STOR sent other bytes");

    let mut steps = prelude("211-Features:\r\n SIZE\r\n MDTM\r\n211 End\r\n");
    steps.extend([
        Step::expect_exact("APPE f"),
        Step::send("150 Ok to send data.\r\n"),
        Step::DataAccept,
        Step::DataRecvToEof,
        Step::send("226 Transfer complete.\r\n"),
    ]);
    let (server, mut c) = logged_in(steps);
    assert_eq!(c.resume_upload(b"f", file.read().as_raw_fd(), None).unwrap(), (N - 1000) as u64);
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE I", "SIZE f", "FEAT", "TYPE I", "EPSV", "APPE f"]);
    assert!(t.data_received[0] == whole[1000..], "APPE sent other bytes");

    let (server, mut c) = logged_in(vec![
        Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
        Step::reply("SIZE f", "550 Could not get file size.\r\n"),
        Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
        Step::EpsvReply,
        Step::expect_exact("STOR f"),
        Step::send("150 Ok to send data.\r\n"),
        Step::DataAccept,
        Step::DataRecvToEof,
        Step::send("226 Transfer complete.\r\n"),
    ]);
    assert_eq!(c.resume_upload(b"f", file.read().as_raw_fd(), None).unwrap(), N as u64);
    let t = finish(server);
    assert_eq!(cmds(&t), ["TYPE I", "SIZE f", "TYPE I", "EPSV", "STOR f"]);
    assert!(t.data_received[0] == whole, "STOR sent other bytes");
}

// ---------------------------------------------------------------------------------------
// TLS data connection that never handshakes

/// A self-signed certificate and key for the scripted server, in PEM files.
fn self_signed_cert() -> (TempFile, TempFile) {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::{X509NameBuilder, X509};
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "localhost").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(2).unwrap()).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = b.build();
    (
        TempFile::new("cert.pem", &cert.to_pem().unwrap()),
        TempFile::new("key.pem", &key.private_key_to_pem_pkcs8().unwrap()),
    )
}

/// PROT P, then a data connection whose TLS handshake the server never answers: `Timeout`
/// after `data_timeout` (the handshake is bounded too), then ABOR keeps the control
/// connection in step.
#[test]
fn tls_data_handshake_that_never_completes_times_out() {
    let (cert, key) = self_signed_cert();
    let mut steps = support::scripted::tls_login_prelude(&cert.0, &key.0);
    steps.extend([
        Step::reply("PBSZ 0", "200 PBSZ=0\r\n"),
        Step::reply("PROT P", "200 Protection level set to P\r\n"),
        Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
        Step::EpsvReply,
        Step::reply("RETR f", "150 Opening BINARY mode data connection.\r\n"),
        Step::DataAccept,
        Step::expect_exact("ABOR"),
        Step::send("426 Failure reading network stream.\r\n226 Abort successful.\r\n"),
        noop(),
        noop(),
    ]);
    let server = ScriptedServer::start(steps);
    let mut c = short_timeout_client();
    c.config_mut().tls_mode = ftpc::TlsMode::Explicit;
    c.config_mut().tls.verify = false;
    c.config_mut().data_timeout = Some(Duration::from_millis(500));
    c.connect("127.0.0.1", server.port(), None, None).unwrap();
    c.login("u", "p", "").unwrap();
    assert!(c.is_tls() && c.data_protected());
    let start = Instant::now();
    let (r, _) = retr(&mut c, "RETR f");
    let waited = start.elapsed();
    assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
    assert!(waited >= Duration::from_millis(450) && waited < Duration::from_secs(3), "{waited:?}");
    assert_usable(&mut c);
    let t = finish(server);
    let all = t.commands_str();
    assert_eq!(all[all.len() - 6..], ["TYPE I", "EPSV", "RETR f", "ABOR", "NOOP", "NOOP"]);
}

/// The block size is what the callbacks see, not the unit of the socket calls: 8 MiB with
/// 4 KiB blocks (2,048 blocks) takes at most a quarter as many socket reads or writes as
/// blocks, each way, every byte intact. A count, not a time: it cannot be noisy. (Before,
/// every block was one call, and a large block size clamped the TCP window through
/// SO_RCVLOWAT; see docs/BENCHMARKS.md.)
#[test]
fn small_blocks_do_not_make_small_socket_calls() {
    const SIZE: usize = 8 << 20;
    const BLOCK: usize = 4096;
    let mut steps = epsv_transfer("RETR big", &format!("150 Opening BINARY mode data connection ({SIZE} bytes).\r\n"));
    steps.extend([Step::DataSendPattern(SIZE as u64), Step::DataClose, Step::send("226 Transfer complete.\r\n")]);
    steps.extend(epsv_transfer("STOR up", "150 Ok to send data.\r\n"));
    steps.extend([Step::DataRecvToEof, Step::send("226 Transfer complete.\r\n")]);
    let (server, mut c) = logged_in(steps);
    let mut received = Vec::with_capacity(SIZE);
    let mut blocks = 0;
    c.retrbinary(
        b"RETR big",
        &mut |b| {
            assert!(b.len() <= BLOCK, "a block of {} bytes", b.len());
            blocks += 1;
            received.extend_from_slice(b);
            Flow::Continue(())
        },
        BLOCK,
        None,
    )
    .unwrap();
    assert!(received == pattern_bytes(SIZE), "the download differs from what was sent");
    let reads = c.last_transfer_socket_calls();
    assert!(blocks >= SIZE / BLOCK && reads <= (SIZE / BLOCK / 4) as u64, "{blocks} blocks, {reads} socket reads");

    let data = pattern_bytes(SIZE);
    let mut sent_blocks = 0;
    c.storbinary(
        b"STOR up",
        &mut &data[..],
        BLOCK,
        Some(&mut |_: &[u8]| {
            sent_blocks += 1;
            Flow::Continue(())
        }),
        None,
    )
    .unwrap();
    let writes = c.last_transfer_socket_calls();
    assert_eq!(sent_blocks, SIZE / BLOCK);
    assert!(writes <= (SIZE / BLOCK / 4) as u64, "{sent_blocks} blocks, {writes} socket writes");
    let t = finish(server);
    assert!(t.data_received[1] == data, "the upload differs from what was read");
}

/// A source that notes where it put each block.
struct Tracked<'a> {
    data: &'a [u8],
    blocks: std::rc::Rc<std::cell::RefCell<Vec<(usize, usize)>>>,
}

impl std::io::Read for Tracked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.data.read(buf)?;
        self.blocks.borrow_mut().push((buf.as_ptr() as usize, n));
        Ok(n)
    }
}

/// storbinary sends blocks from where the source put them: small blocks are read one after
/// the other into the buffer that goes to the socket (each starts where the one before
/// ended, up to the 64 KiB of one write), not read into one block buffer and copied into a
/// second as before; the block the callback sees is the memory the source filled, small or
/// large. With the write count of `small_blocks_do_not_make_small_socket_calls`: no copy,
/// and no more system calls. Every byte arrives intact.
#[test]
fn upload_blocks_are_sent_from_where_they_were_read() {
    const SIZE: usize = 1 << 20;
    let mut steps = Vec::new();
    for name in ["STOR small", "STOR large"] {
        steps.extend(epsv_transfer(name, "150 Ok to send data.\r\n"));
        steps.extend([Step::DataRecvToEof, Step::send("226 Transfer complete.\r\n")]);
    }
    let (server, mut c) = logged_in(steps);
    let data = pattern_bytes(SIZE);
    for (cmd, block) in [(&b"STOR small"[..], 4096), (&b"STOR large"[..], 100_000)] {
        let filled = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut source = Tracked { data: &data, blocks: filled.clone() };
        let mut seen = Vec::new();
        let mut callback = |b: &[u8]| {
            seen.push((b.as_ptr() as usize, b.len()));
            Flow::Continue(())
        };
        c.storbinary(cmd, &mut source, block, Some(&mut callback), None).unwrap();
        let mut filled = filled.take();
        assert_eq!(filled.pop().map(|(_, n)| n), Some(0), "the source's last read is its end");
        assert_eq!(seen, filled, "the callback saw other memory than the source filled");
        assert_eq!(seen.len(), SIZE.div_ceil(block));
        if block == 4096 {
            let follows = filled.windows(2).filter(|w| w[1].0 == w[0].0 + w[0].1).count();
            // 16 blocks of 4 KiB per 64 KiB write: 15 of every 16 follow the one before.
            assert_eq!(follows, filled.len() / 16 * 15, "{} blocks", filled.len());
        }
    }
    let t = finish(server);
    assert!(t.data_received[0] == data && t.data_received[1] == data, "an upload differs from what was read");
}

/// A source that notes the length of every buffer it is offered.
struct Offered<'a> {
    data: &'a [u8],
    lengths: Vec<usize>,
}

impl std::io::Read for Offered<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.lengths.push(buf.len());
        self.data.read(buf)
    }
}

/// storbinary asks its source for at most 1 MiB at a time whatever the block size (up to
/// 16 MiB), so that the buffer stays in the CPU's cache (a 16 MiB block was filled and sent
/// from memory, 20 % more client CPU per GiB: docs/BENCHMARKS.md); block sizes up to 1 MiB
/// are asked for whole, as before. Every byte arrives intact, in blocks of at most the cap.
#[test]
fn large_upload_blocks_are_read_at_most_a_mebibyte_at_a_time() {
    const SIZE: usize = 3 << 20;
    const CAP: usize = 1 << 20;
    let sizes = [64 << 10, 1 << 20, (1 << 20) + 1, 4 << 20, 16 << 20];
    let mut steps = Vec::new();
    for i in 0..sizes.len() {
        steps.extend(epsv_transfer(&format!("STOR f{i}"), "150 Ok to send data.\r\n"));
        steps.extend([Step::DataRecvToEof, Step::send("226 Transfer complete.\r\n")]);
    }
    let (server, mut c) = logged_in(steps);
    let data = pattern_bytes(SIZE);
    for (i, &block) in sizes.iter().enumerate() {
        let mut source = Offered { data: &data, lengths: Vec::new() };
        let mut largest_seen = 0;
        let mut callback = |b: &[u8]| {
            largest_seen = largest_seen.max(b.len());
            Flow::Continue(())
        };
        c.storbinary(format!("STOR f{i}").as_bytes(), &mut source, block, Some(&mut callback), None).unwrap();
        let asked = block.min(CAP);
        assert!(source.lengths.iter().all(|&n| n == asked), "block {block}: offered {:?}", source.lengths);
        assert_eq!(largest_seen, asked, "block {block}");
    }
    let t = finish(server);
    for (i, got) in t.data_received.iter().enumerate() {
        assert!(*got == data, "upload {i} differs from what was read");
    }
}

/// The SO_RCVLOWAT of every socket of this process that has one (the callback runs while
/// the download's data socket is open; other tests' sockets may be there too).
#[cfg(target_os = "linux")]
fn low_water_marks() -> Vec<i32> {
    let mut marks = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let mut mark: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt into an int of the size given; an fd that is not a socket (or
        // was closed meanwhile by another test) gives an error and is skipped.
        let r = unsafe {
            libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVLOWAT, (&mut mark as *mut libc::c_int).cast(), &mut len)
        };
        if r == 0 && mark > 1 {
            marks.push(mark);
        }
    }
    marks
}

/// The cause of large blocks' slow downloads (issue 13) stays away: at every block size a
/// caller may pass, 4 KiB to 16 MiB, retrbinary asks the kernel to gather at most 64 KiB
/// per wake-up (SO_RCVLOWAT). A larger mark makes Linux grow the receive buffer and clamp
/// the TCP window to the mark (tcp_set_rcvlowat), which made 128 KiB to 1 MiB blocks up to
/// 3.5 times slower than 64 KiB ones in the issue's measurements. The mark is read from
/// the data socket during the transfer: a value, not a time. Every block the callback gets
/// is at most the block size, and the bytes arrive intact.
#[cfg(target_os = "linux")]
#[test]
fn large_blocks_do_not_raise_the_low_water_mark() {
    const SIZE: usize = 1 << 20;
    let sizes = [4 << 10, 64 << 10, 128 << 10, 256 << 10, 1 << 20, 16 << 20];
    let mut steps = Vec::new();
    for block in sizes {
        steps.extend(epsv_transfer(&format!("RETR b{block}"), "150 Opening BINARY mode data connection.\r\n"));
        steps.extend([Step::DataSendPattern(SIZE as u64), Step::DataClose, Step::send("226 Transfer complete.\r\n")]);
    }
    let (server, mut c) = logged_in(steps);
    let portable = std::env::var_os("FTPC_PORTABLE_IO").is_some_and(|v| v == "1");
    for block in sizes {
        let mut marks = None;
        let mut received = Vec::with_capacity(SIZE);
        c.retrbinary(
            format!("RETR b{block}").as_bytes(),
            &mut |b| {
                assert!(b.len() <= block, "a block of {} bytes at block size {block}", b.len());
                marks.get_or_insert_with(low_water_marks);
                received.extend_from_slice(b);
                Flow::Continue(())
            },
            block,
            None,
        )
        .unwrap();
        assert!(received == pattern_bytes(SIZE), "the download at block size {block} differs from what was sent");
        let marks = marks.unwrap();
        // Without the portable switch, the data socket gathers (its mark is above 1).
        assert!(portable || !marks.is_empty(), "no socket gathers data at block size {block}");
        assert!(marks.iter().all(|&m| m <= 64 << 10), "low-water marks {marks:?} at block size {block}");
    }
    finish(server);
}

/// A cancel request that cuts a read of a data connection from `ntransfercmd` is taken by
/// that read: the caller's `abort()` that follows is not cut, and the connection stays in
/// step.
#[test]
fn a_cancel_cut_data_read_leaves_the_next_call_alone() {
    let mut steps = epsv_transfer("RETR slow", "150 ok\r\n");
    steps.extend([
        Step::DataStall(Duration::from_secs(3)),
        Step::abor_interrupt(),
        Step::send("426 Transfer aborted.\r\n226 Abort successful.\r\n"),
        noop(),
        noop(),
    ]);
    let (server, mut c) = logged_in(steps);
    c.voidcmd(b"TYPE I").unwrap();
    let mut conn = c.ntransfercmd(b"RETR slow", None).unwrap();
    let flag = c.canceller();
    let canceller = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        flag.store(true, Ordering::SeqCst);
    });
    let mut buf = [0u8; 1024];
    let cut = conn.read(&mut buf);
    canceller.join().unwrap();
    assert!(cut.is_err(), "{cut:?}");
    assert!(!c.canceller().load(Ordering::SeqCst), "the read took the request");
    drop(conn);
    let reply = c.abort().unwrap_or_else(|e| panic!("abort after the cut read: {e:?}"));
    assert_eq!(reply.code, 226);
    assert_usable(&mut c);
    finish(server);
}
