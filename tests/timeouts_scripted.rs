//! The one timeout model (issue 12) on the scripted server: the timeout given to `connect`
//! (ftplib's `timeout`) bounds every wait of a call, data connections included, unless an
//! override is set; a stall ends the call within the timeout plus at most 1 s, cleanup
//! included; a cancel request ends a wait within 100 ms. Every test runs each call twice:
//! blocking, and as an operation of a `Multi` driven by its own wait/perform loop (the
//! non-blocking path), with the same outcomes and bounds.

mod support;

use ftpc::{Client, Error, Flow};
use std::io::Cursor;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use support::scripted::{login_prelude, ScriptedServer, Step};
use support::via::{Via, VIAS};

const TIMEOUT: Duration = Duration::from_millis(800);
/// What a call may take beyond its timeout to leave the connection in a known state.
const SLACK: Duration = Duration::from_secs(1);

/// A client logged in to `steps` after the login, with TIMEOUT given to `connect` only.
fn logged_in(extra: Vec<Step>) -> (ScriptedServer, Client) {
    let mut steps = login_prelude();
    steps.extend(extra);
    let server = ScriptedServer::start(steps);
    let mut c = Client::new();
    c.connect("127.0.0.1", server.port(), Some(TIMEOUT), None).unwrap();
    c.login("u", "p", "").unwrap();
    (server, c)
}

fn assert_timely(what: &str, took: Duration, low: Duration, high: Duration) {
    assert!(took >= low && took <= high, "{what}: took {took:?}, expected {low:?}..{high:?}");
}

/// Each stall point: the call returns `Timeout` within TIMEOUT + SLACK, though only the
/// general timeout was set (the data waits follow it).
#[test]
fn every_stall_ends_within_the_timeout() {
    type Call = fn(&mut Client) -> ftpc::Result<()>;
    let retr: Call = |c| c.retrbinary(b"RETR f", &mut |_| Flow::Continue(()), 0, None).map(drop);
    let nlst: Call = |c| c.nlst(None).map(drop);
    let noop: Call = |c| c.voidcmd(b"NOOP").map(drop);
    let stor: Call = |c| {
        let data = vec![0x5a; 64 << 20];
        c.storbinary(b"STOR f", &mut Cursor::new(data), 0, None, None).map(drop)
    };
    let cases: Vec<(&str, Vec<Step>, Call)> = vec![
        ("reply never comes", vec![Step::expect("NOOP"), Step::Stall(Duration::from_secs(4))], noop),
        (
            "RETR silent from the start",
            vec![
                Step::reply("TYPE I", "200 ok\r\n"),
                Step::EpsvReply,
                Step::reply("RETR f", "150 here it comes\r\n"),
                Step::DataAccept,
                Step::DataStall(Duration::from_secs(4)),
            ],
            retr,
        ),
        (
            "RETR silent midway",
            vec![
                Step::reply("TYPE I", "200 ok\r\n"),
                Step::EpsvReply,
                Step::reply("RETR f", "150 here it comes\r\n"),
                Step::DataAccept,
                Step::DataSend(vec![1; 100_000]),
                Step::DataStall(Duration::from_secs(4)),
            ],
            retr,
        ),
        (
            "NLST silent",
            vec![
                Step::reply("TYPE A", "200 ok\r\n"),
                Step::EpsvReply,
                Step::reply("NLST", "150 here it comes\r\n"),
                Step::DataAccept,
                Step::DataStall(Duration::from_secs(4)),
            ],
            nlst,
        ),
        (
            "STOR to a receiver that never reads",
            vec![
                Step::reply("TYPE I", "200 ok\r\n"),
                Step::EpsvReply,
                Step::reply("STOR f", "150 send it\r\n"),
                Step::DataAccept,
                Step::DataRecvExact(1000),
                Step::DataStall(Duration::from_secs(6)),
            ],
            stor,
        ),
    ];
    for via in VIAS {
        for (what, steps, call) in cases.clone() {
            let (server, mut c) = logged_in(steps);
            let started = Instant::now();
            let result = via.call(&mut c, call);
            let took = started.elapsed();
            assert!(matches!(result, Err(Error::Timeout(_))), "{via:?} {what}: {result:?}");
            assert_timely(&format!("{via:?} {what}"), took, TIMEOUT, TIMEOUT + SLACK);
            drop(c);
            drop(server);
        }
    }
}

/// A cancel request from another thread ends a reply wait within 100 ms (plus the tick).
#[test]
fn cancel_ends_a_reply_wait_promptly() {
    for via in VIAS {
        let (server, mut c) = logged_in(vec![Step::expect("NOOP"), Step::Stall(Duration::from_secs(4))]);
        c.config_mut().timeout = Duration::from_secs(30);
        c.refresh_timeouts().unwrap();
        let (result, took) = cancelled_after(&mut c, Duration::from_millis(300), via, |c| c.voidcmd(b"NOOP"));
        assert!(matches!(result, Err(Error::Cancelled(_))), "{via:?}: {result:?}");
        assert!(took < Duration::from_millis(100), "{via:?}: {took:?}");
        drop(server);
    }
}

/// An override replaces the general timeout for its wait only.
#[test]
fn an_override_replaces_the_timeout_for_its_wait() {
    for via in VIAS {
        let (server, mut c) = logged_in(vec![
            Step::reply("TYPE I", "200 ok\r\n"),
            Step::EpsvReply,
            Step::reply("RETR f", "150 here it comes\r\n"),
            Step::DataAccept,
            Step::DataStall(Duration::from_secs(4)),
        ]);
        c.config_mut().data_timeout = Some(Duration::from_millis(300));
        let started = Instant::now();
        let result = via.call(&mut c, |c| c.retrbinary(b"RETR f", &mut |_| Flow::Continue(()), 0, None));
        let took = started.elapsed();
        assert!(matches!(result, Err(Error::Timeout(_))), "{via:?}: {result:?}");
        assert_timely("data override", took, Duration::from_millis(300), Duration::from_millis(300) + SLACK);
        drop(server);
    }
}

/// Runs `call` with a cancel request from another thread `after` in; returns the result and
/// how long after the request the call returned.
fn cancelled_after<T: 'static>(
    c: &mut Client,
    after: Duration,
    via: Via,
    call: impl FnOnce(&mut Client) -> T + 'static,
) -> (T, Duration) {
    let flag = c.canceller();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(after);
        let at = Instant::now();
        flag.store(true, Ordering::SeqCst);
        at
    });
    let result = via.call(c, call);
    let ended = Instant::now();
    let asked = canceller.join().unwrap();
    (result, ended.saturating_duration_since(asked))
}

/// The steps that stop a transfer: ABOR with the Telnet interrupt, its replies, the NOOP.
fn abort_steps() -> Vec<Step> {
    vec![
        Step::abor_interrupt(),
        Step::send("426 Transfer aborted.\r\n226 Abort successful.\r\n"),
        Step::reply("NOOP", "200 NOOP ok.\r\n"),
    ]
}

/// A cancel request ends a silent download and an upload blocked in a write within 100 ms
/// (the 20 ms tick plus ABOR on loopback), though the timeout is 30 s: `Stopped`, in step.
#[test]
fn cancel_ends_silent_data_and_blocked_writes_promptly() {
    let mut retr = vec![
        Step::reply("TYPE I", "200 ok\r\n"),
        Step::EpsvReply,
        Step::reply("RETR f", "150 here it comes\r\n"),
        Step::DataAccept,
        Step::DataStall(Duration::from_secs(5)),
    ];
    retr.extend(abort_steps());
    let mut stor = vec![
        Step::reply("TYPE I", "200 ok\r\n"),
        Step::EpsvReply,
        Step::reply("STOR f", "150 send it\r\n"),
        Step::DataAccept,
        Step::DataRecvExact(1000),
        Step::DataStall(Duration::from_secs(5)),
    ];
    stor.extend(abort_steps());
    for via in VIAS {
        let cases = [("silent download", retr.clone(), false), ("upload blocked in a write", stor.clone(), true)];
        for (what, steps, upload) in cases {
            let (server, mut c) = logged_in(steps);
            c.config_mut().timeout = Duration::from_secs(30);
            c.refresh_timeouts().unwrap();
            let (result, took) = cancelled_after(&mut c, Duration::from_millis(700), via, move |c| {
                if upload {
                    let data = vec![0x5a; 64 << 20];
                    c.storbinary(b"STOR f", &mut Cursor::new(data), 0, None, None).map(drop)
                } else {
                    c.retrbinary(b"RETR f", &mut |_| Flow::Continue(()), 0, None).map(drop)
                }
            });
            assert!(matches!(result, Err(Error::Stopped)), "{via:?} {what}: {result:?}");
            assert!(took < Duration::from_millis(100), "{via:?} {what}: {took:?} after the request");
            server.finish();
        }
    }
}

/// A cancel request during a silent download whose server then never answers ABOR: the
/// replies get the cancel's short grace, not the 30 s timeout, so the call returns within
/// 100 ms of the request (`Cancelled`, FTP_ERR_STOPPED) with the connection, out of step,
/// closed. A stop from the callback instead waits for ABOR's replies within the timeout.
#[test]
fn cancel_does_not_wait_for_an_unanswered_abor() {
    let steps = vec![
        Step::reply("TYPE I", "200 ok\r\n"),
        Step::EpsvReply,
        Step::reply("RETR f", "150 here it comes\r\n"),
        Step::DataAccept,
        Step::DataStall(Duration::from_secs(5)),
        Step::abor_interrupt(),
        Step::Stall(Duration::from_secs(5)),
    ];
    for via in VIAS {
        let (server, mut c) = logged_in(steps.clone());
        c.config_mut().timeout = Duration::from_secs(30);
        c.refresh_timeouts().unwrap();
        let (result, took) = cancelled_after(&mut c, Duration::from_millis(500), via, move |c| {
            c.retrbinary(b"RETR f", &mut |_| Flow::Continue(()), 0, None).map(drop)
        });
        assert!(matches!(result, Err(Error::Cancelled(_))), "{via:?}: {result:?}");
        assert!(took < Duration::from_millis(100), "{via:?}: {took:?} after the request");
        assert!(!c.is_connected(), "{via:?}: a connection out of step must be closed");
        drop(server);
    }
}

/// Implicit FTPS against a port that accepts and never answers the ClientHello: the TLS
/// handshake is bounded by the timeout, and a cancel request ends it within 100 ms.
#[test]
fn a_silent_tls_handshake_is_bounded_and_cancellable() {
    for (via, cancel) in [(Via::Blocking, false), (Via::Blocking, true), (Via::Multi, false), (Via::Multi, true)] {
        let server = ScriptedServer::start(vec![Step::Stall(Duration::from_secs(4))]);
        let mut c = Client::new();
        c.config_mut().tls_mode = ftpc::TlsMode::Implicit;
        c.config_mut().tls.verify = false;
        let port = server.port();
        if cancel {
            c.config_mut().timeout = Duration::from_secs(30);
            let (result, took) = cancelled_after(&mut c, Duration::from_millis(300), via, move |c| {
                c.connect("127.0.0.1", port, None, None)
            });
            assert!(matches!(result, Err(Error::Cancelled(_))), "{via:?}: {result:?}");
            assert!(took < Duration::from_millis(100), "{via:?}: {took:?} after the request");
        } else {
            let started = Instant::now();
            let result = via.call(&mut c, move |c| c.connect("127.0.0.1", port, Some(TIMEOUT), None));
            assert!(matches!(result, Err(Error::Timeout(_))), "{via:?}: {result:?}");
            assert_timely("silent TLS handshake", started.elapsed(), TIMEOUT, TIMEOUT + SLACK);
        }
        assert!(!c.is_connected());
        drop(server);
    }
}
