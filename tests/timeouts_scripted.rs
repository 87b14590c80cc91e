//! The one timeout model (issue 12) on the scripted server: the timeout given to `connect`
//! (ftplib's `timeout`) bounds every wait of a call, data connections included, unless an
//! override is set; a stall ends the call within the timeout plus at most 1 s, cleanup
//! included; a cancel request ends a wait within 100 ms. The stall points are one table
//! (`every_stall_point_ends_in_time`), plain and FTPS; the fault proxy runs the same points
//! on real servers (faults_real.rs). Every test runs each call twice: blocking, and as an
//! operation of a `Multi` driven by its own wait/perform loop (the non-blocking path), with
//! the same outcomes and bounds.

mod support;

use ftpc::{Client, Error, Flow};
use std::io::{Cursor, Read};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::certs::{cert, server_cert};
use support::scripted::{login_prelude, tls_login_prelude, ScriptedServer, Step};
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

// ---------------------------------------------------------------------------------------
// The table: every stall point the scripted server can make, plain and FTPS, each with
// the general timeout alone and with a cancel request, each blocking and through a Multi.
//
// Points the scripted server cannot make, and why: none of the list is missing.
// "Data connect" is a passive listener whose accept queue is full (Linux drops the SYNs,
// so the connect hangs on loopback as it does behind a firewall); "accept in active mode"
// under FTPS works here (the proxy cannot, as it cannot rewrite EPRT inside TLS).

/// How long the server stays silent at a stall: longer than any call of the table waits.
const SILENCE: Duration = Duration::from_secs(4);
/// The timeout of the cancel rows: only the request can end their wait.
const PATIENT: Duration = Duration::from_secs(30);
/// A cancel request is made this long after the call began, when its wait has begun; off
/// the library's 50 ms cancel tick, whose waits start with the call, so that a wait on the
/// control connection does not see the request at once by luck.
const CANCEL_AFTER: Duration = Duration::from_millis(310);
/// How soon after a cancel request the call must return (issue 12).
const CANCEL_BOUND: Duration = Duration::from_millis(100);
/// The deadline of a data wait starts at the last byte moved, a little before the callback
/// that marks it sees the block.
const EARLY: Duration = Duration::from_millis(100);
/// Runs of the table at once (each mostly waits).
const WORKERS: usize = 4;

/// Where the server falls silent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stall {
    /// The greeting never comes (`connect`).
    Greeting,
    /// The reply to NOOP never comes.
    Reply,
    /// Passive mode: the data connection's connect hangs (a full accept queue).
    DataConnect,
    /// Active mode: 150, and the server never connects.
    Accept,
    /// Explicit FTPS: 234 to AUTH TLS, then no handshake (`login`).
    ControlHandshake,
    /// Implicit FTPS: the server accepts and never answers the ClientHello (`connect`).
    ImplicitHandshake,
    /// RETR: 150, the data connection accepted, its TLS handshake never answered.
    DataHandshake,
    /// RETR: 150, the data connection open (its handshake done), no byte of the file.
    RetrAtStart,
    /// RETR: 100 000 bytes, then nothing.
    RetrMidway,
    /// NLST: 150, the data connection open, no byte of the listing.
    NlstSilent,
    /// `retrieve_to_fd` (splice on plain connections): no byte of the file.
    FdAtStart,
    /// `retrieve_to_fd`: 100 000 bytes, then nothing.
    FdMidway,
    /// STOR: the server reads 1000 bytes, then stops reading.
    StorNeverReads,
    /// STOR under TLS: the server reads the file and the client's close_notify, then sends
    /// nothing on either connection (no close_notify of its own, no final reply).
    TlsShutdown,
    /// RETR stopped by its callback at the first block: the ABOR is never answered.
    AborUnanswered,
}

/// Plain FTP, or FTPS: explicit with PROT P (implicit for `ImplicitHandshake`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sec {
    Plain,
    Ftps,
}

/// The stall points of `sec`, in table order.
fn stall_points(sec: Sec) -> Vec<Stall> {
    use Stall::*;
    let mut rows = vec![Greeting, Reply, DataConnect, Accept];
    if sec == Sec::Ftps {
        rows.extend([ControlHandshake, ImplicitHandshake, DataHandshake]);
    }
    rows.extend([RetrAtStart, RetrMidway, NlstSilent, FdAtStart, FdMidway, StorNeverReads]);
    if sec == Sec::Ftps {
        rows.push(TlsShutdown);
    }
    rows.push(AborUnanswered);
    rows
}

/// Greeting, login and (FTPS) AUTH TLS, PBSZ and PROT P: what `setup` makes the client do.
fn session_steps(sec: Sec) -> Vec<Step> {
    match sec {
        Sec::Plain => login_prelude(),
        Sec::Ftps => {
            let (cert, key) = server_cert();
            let mut steps = tls_login_prelude(cert, key);
            steps.extend([
                Step::reply("PBSZ 0", "200 PBSZ=0\r\n"),
                Step::reply("PROT P", "200 Protection level set to P\r\n"),
                Step::DataTls(true),
            ]);
            steps
        }
    }
}

/// The server's script for a stall point: up to the stall, then silence on every
/// connection (a data connection closed by the client ends its silence, not the control's).
fn script(stall: Stall, sec: Sec) -> Vec<Step> {
    use Stall::*;
    let silent = || [Step::DataStall(SILENCE), Step::Stall(SILENCE)];
    // TYPE, EPSV, the command, 150 and the data connection; under TLS its handshake too
    // when `handshake` (else the first data step that reads or writes makes it).
    let open = |tp: &str, cmd: &str, handshake: bool| {
        let mut steps = vec![
            Step::reply("TYPE", format!("200 Type set to {tp}\r\n")),
            Step::EpsvReply,
            Step::reply(cmd, "150 here it comes\r\n"),
            Step::DataAccept,
        ];
        if matches!(stall, FdAtStart | FdMidway) {
            // `retrieve_to_fd` with a progress callback asks the size after TYPE.
            steps.insert(1, Step::reply("SIZE f", "213 100000\r\n"));
        }
        if handshake && sec == Sec::Ftps {
            steps.push(Step::DataTlsHandshake);
        }
        steps
    };
    match stall {
        Greeting | ImplicitHandshake => return vec![Step::Stall(SILENCE)],
        ControlHandshake => {
            return vec![
                Step::send("220 scripted\r\n"),
                Step::reply("AUTH TLS", "234 Proceed with negotiation\r\n"),
                Step::Stall(SILENCE),
            ]
        }
        _ => {}
    }
    let mut steps = session_steps(sec);
    match stall {
        Greeting | ImplicitHandshake | ControlHandshake => unreachable!("returned above"),
        Reply => steps.extend([Step::expect("NOOP"), Step::Stall(SILENCE)]),
        DataConnect => steps.extend([Step::reply("TYPE", "200 ok\r\n"), Step::EpsvReplyFull, Step::Stall(SILENCE)]),
        Accept => steps.extend([
            Step::reply("TYPE", "200 ok\r\n"),
            Step::reply("EPRT", "200 EPRT ok\r\n"),
            Step::reply("RETR f", "150 here it comes\r\n"),
            Step::Stall(SILENCE),
        ]),
        DataHandshake => {
            steps.extend(open("I", "RETR f", false));
            steps.extend(silent());
        }
        RetrAtStart | FdAtStart => {
            steps.extend(open("I", "RETR f", true));
            steps.extend(silent());
        }
        RetrMidway | FdMidway => {
            steps.extend(open("I", "RETR f", false));
            steps.push(Step::DataSend(vec![1; 100_000]));
            steps.extend(silent());
        }
        NlstSilent => {
            steps.extend(open("A", "NLST", true));
            steps.extend(silent());
        }
        StorNeverReads => {
            steps.extend(open("I", "STOR f", false));
            steps.push(Step::DataRecvExact(1000));
            steps.extend(silent());
        }
        TlsShutdown => {
            steps.extend(open("I", "STOR f", false));
            steps.push(Step::DataRecvToEof);
            steps.extend(silent());
        }
        AborUnanswered => {
            // Little enough to sit in the socket buffers: the server's write is done
            // before the client's reset, which would otherwise end the script (and the
            // control connection's silence).
            steps.extend(open("I", "RETR f", false));
            steps.push(Step::DataSend(vec![1; 8_000]));
            steps.extend(silent());
        }
    }
    steps
}

/// A client for the row with `timeout` as its only timeout (no override set), brought to
/// where the row's call starts: not connected for the calls that connect, connected for
/// AUTH TLS's handshake, logged in (FTPS: PROT P) otherwise.
fn setup(stall: Stall, sec: Sec, timeout: Duration, port: u16) -> Result<Client, String> {
    let mut c = match sec {
        Sec::Plain => Client::new(),
        Sec::Ftps => Client::new_tls(),
    };
    let cfg = c.config_mut();
    cfg.timeout = timeout;
    cfg.passive = stall != Stall::Accept;
    if sec == Sec::Ftps {
        cfg.tls.ca_file = Some(cert("ca.pem"));
    }
    if stall == Stall::ImplicitHandshake {
        cfg.tls_mode = ftpc::TlsMode::Implicit;
    }
    if matches!(stall, Stall::Greeting | Stall::ImplicitHandshake) {
        return Ok(c);
    }
    c.connect("127.0.0.1", port, None, None).map_err(|e| format!("setup: connect: {e}"))?;
    if stall != Stall::ControlHandshake {
        c.login("u", "p", "").map_err(|e| format!("setup: login: {e}"))?;
        if sec == Sec::Ftps && !c.data_protected() {
            return Err("setup: data connections not protected".into());
        }
    }
    Ok(c)
}

/// When data last moved, as the call's callbacks see it: where the silence of the rows
/// that stall midway starts.
type Mark = Arc<Mutex<Option<Instant>>>;

fn mark_now(mark: &Mark) {
    *mark.lock().unwrap() = Some(Instant::now());
}

/// The row's call, made where the server falls silent; its callbacks set `mark`.
fn stall_call(stall: Stall, port: u16, mark: Mark) -> impl FnOnce(&mut Client) -> ftpc::Result<()> + 'static {
    use Stall::*;
    move |c: &mut Client| match stall {
        Greeting | ImplicitHandshake => c.connect("127.0.0.1", port, None, None).map(drop),
        ControlHandshake => c.login("u", "p", "").map(drop),
        Reply => c.voidcmd(b"NOOP").map(drop),
        NlstSilent => c.nlst(None).map(drop),
        FdAtStart | FdMidway => {
            let sink = std::fs::OpenOptions::new().write(true).open("/dev/null").expect("/dev/null");
            let progress = &mut |_: u64, _: Option<u64>| {
                mark_now(&mark);
                Flow::Continue(())
            };
            c.retrieve_to_fd(b"f", sink.as_raw_fd(), None, Some(progress)).map(drop)
        }
        StorNeverReads | TlsShutdown => {
            // A receiver that never reads: more than every buffer on the way can take, made
            // as it is read, so that no 64 MiB buffer is freed inside the measured time.
            let len = if stall == TlsShutdown { 100_000 } else { 64 << 20 };
            let sent = &mut |_: &[u8]| {
                mark_now(&mark);
                Flow::Continue(())
            };
            c.storbinary(b"STOR f", &mut std::io::repeat(0x5a).take(len), 0, Some(sent), None).map(drop)
        }
        AborUnanswered => c
            .retrbinary(
                b"RETR f",
                &mut |_| {
                    mark_now(&mark);
                    Flow::Break(())
                },
                0,
                None,
            )
            .map(drop),
        DataConnect | Accept | DataHandshake | RetrAtStart | RetrMidway => c
            .retrbinary(
                b"RETR f",
                &mut |_| {
                    mark_now(&mark);
                    Flow::Continue(())
                },
                0,
                None,
            )
            .map(drop),
    }
}

/// What one run of a row measured.
struct Run {
    stall: Stall,
    sec: Sec,
    cancel: bool,
    via: Via,
    result: Result<ftpc::Result<()>, String>,
    /// From the silence (timeout rows: the call's start, or the last block its callback saw)
    /// or from the request (cancel rows) to the return; `None` when the call returned
    /// before the request.
    took: Option<Duration>,
    /// What else went wrong (data that should, or should not, have moved before the stall).
    problems: Vec<String>,
}

impl Run {
    /// The row's line of the table, or its failure.
    fn verdict(&self) -> Result<String, String> {
        let mode = if self.cancel { "cancel" } else { "timeout" };
        let line = format!(
            "{:<17} {:<5} {mode:<7} {:<8} {:>10}  {}",
            format!("{:?}", self.stall),
            format!("{:?}", self.sec),
            format!("{:?}", self.via),
            self.took.map_or("-".to_string(), |t| format!("{} ms", t.as_millis())),
            match &self.result {
                Ok(result) => format!("{result:?}"),
                Err(setup) => format!("no call: {setup}"),
            }
        );
        let mut wrong = self.problems.clone();
        match (&self.result, self.cancel) {
            (Ok(Err(Error::Timeout(_))), false) => {}
            // Both are FTP_ERR_STOPPED in C.
            (Ok(Err(Error::Cancelled(_) | Error::Stopped)), true) => {}
            (Err(setup), _) => wrong.push(setup.clone()),
            (Ok(other), _) => wrong.push(format!("wrong result {other:?}")),
        }
        match (self.took, self.cancel) {
            (None, _) if self.result.is_ok() => wrong.push("the call returned before the cancel request".into()),
            (Some(took), true) if took > CANCEL_BOUND => {
                wrong.push(format!("returned {took:?} after the cancel request (bound {CANCEL_BOUND:?})"))
            }
            (Some(took), false) if took + EARLY < TIMEOUT || took > TIMEOUT + SLACK => {
                wrong.push(format!("took {took:?} from the silence (bound {TIMEOUT:?}..{:?})", TIMEOUT + SLACK))
            }
            _ => {}
        }
        if wrong.is_empty() {
            Ok(line)
        } else {
            Err(format!("{line}: {}", wrong.join("; ")))
        }
    }
}

/// One run: the general timeout alone (`cancel` false), or a patient timeout and a cancel
/// request from another thread once the wait has begun.
fn run_stall(stall: Stall, sec: Sec, cancel: bool, via: Via) -> Run {
    let server = ScriptedServer::start(script(stall, sec));
    let timeout = if cancel { PATIENT } else { TIMEOUT };
    let mut c = match setup(stall, sec, timeout, server.port()) {
        Ok(c) => c,
        Err(e) => return Run { stall, sec, cancel, via, result: Err(e), took: None, problems: Vec::new() },
    };
    let mark = Mark::default();
    let call = stall_call(stall, server.port(), mark.clone());
    let (result, took) = if cancel {
        cancelled_after(&mut c, CANCEL_AFTER, via, call)
    } else {
        let started = Instant::now();
        let result = via.call(&mut c, call);
        let silent_from = mark.lock().unwrap().unwrap_or(started).max(started);
        (result, Some(silent_from.elapsed()))
    };
    drop(c);
    drop(server);
    let moved = mark.lock().unwrap().is_some();
    let mut problems = Vec::new();
    match stall {
        Stall::RetrMidway | Stall::FdMidway | Stall::StorNeverReads | Stall::TlsShutdown | Stall::AborUnanswered
            if !moved =>
        {
            problems.push("no block moved before the silence".to_string())
        }
        Stall::DataConnect
        | Stall::Accept
        | Stall::DataHandshake
        | Stall::RetrAtStart
        | Stall::NlstSilent
        | Stall::FdAtStart
            if moved =>
        {
            problems.push("a block moved before the silence".to_string())
        }
        _ => {}
    }
    Run { stall, sec, cancel, via, result: Ok(result), took, problems }
}

/// Every stall point, plain and FTPS, returns `Timeout` within TIMEOUT + SLACK with only
/// the general timeout set, and `Cancelled`/`Stopped` within 100 ms of a cancel request
/// from another thread; blocking and through a `Multi`. Every failure is reported at once;
/// `--nocapture` shows the table.
#[test]
fn every_stall_point_ends_in_time() {
    let mut runs = Vec::new();
    for cancel in [false, true] {
        for sec in [Sec::Plain, Sec::Ftps] {
            for stall in stall_points(sec) {
                for via in VIAS {
                    runs.push((stall, sec, cancel, via));
                }
            }
        }
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(&(stall, sec, cancel, via)) = runs.get(i) else { break };
                let run = run_stall(stall, sec, cancel, via);
                done.lock().unwrap().push((i, run));
            });
        }
    });
    let mut done = done.into_inner().unwrap();
    done.sort_by_key(|(i, _)| *i);
    let mut failures = Vec::new();
    eprintln!("     {:<17} {:<5} {:<7} {:<8} {:>10}  result", "stall", "sec", "mode", "via", "took");
    for (_, run) in &done {
        match run.verdict() {
            Ok(line) => eprintln!("ok   {line}"),
            Err(failure) => {
                eprintln!("FAIL {failure}");
                failures.push(failure);
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} runs failed:\n{}", failures.len(), done.len(), failures.join("\n"));
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
/// how long after the request the call returned (`None`: it returned before).
fn cancelled_after<T: 'static>(
    c: &mut Client,
    after: Duration,
    via: Via,
    call: impl FnOnce(&mut Client) -> T + 'static,
) -> (T, Option<Duration>) {
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
    (result, ended.checked_duration_since(asked))
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
            assert!(took.is_some_and(|t| t < CANCEL_BOUND), "{via:?} {what}: {took:?} after the request");
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
        assert!(took.is_some_and(|t| t < CANCEL_BOUND), "{via:?}: {took:?} after the request");
        assert!(!c.is_connected(), "{via:?}: a connection out of step must be closed");
        drop(server);
    }
}
