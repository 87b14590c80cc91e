//! The conversations of `proto::conversation` (login, the start of a transfer, the replies
//! after ABOR, PASV after a silent EPSV) driven as the blocking client drives them, with
//! replies that the protocol layer's reply reader (`LineBuffer` + `ReplyParser`, fed as
//! `Control::read_reply` feeds them) takes from the fuzzer's bytes. Nothing but the protocol
//! layer: no socket, no `Client`.
//!
//! Input: `[conv] [login] [server bytes]`.
//! - `conv`: bits 0-1 the first conversation (login, transfer start, abort, PASV after a
//!   silent EPSV; each one that ends in step is followed by the next, cycling, until the
//!   bytes run out); bits 2-3 the encoding (utf-8, latin-1, bytes, utf-8); bits 4-7 the size
//!   of each read (0: 4096 bytes, as the control connection reads).
//! - `login`: bits 0-1 the user (`""`, `anonymous`, `user`, one with CRLF), bits 2-3 the
//!   password (`""`, `-`, `secret`, one with a character latin-1 lacks), bits 4-5 the account
//!   (`""`, `acct`, one with a NUL, `été`).
//!
//! Checks, for every conversation:
//! - no panic, and it ends (done or an error) within the replies its docs allow: login 3
//!   (USER, PASS, ACCT), transfer start 2 (one skipped 2xx), ABOR and PASV-after-silence 5
//!   (at most four replies before the NOOP's 200);
//! - what it asks to send encodes (`command::build`) to a line with no CR, LF or NUL that
//!   starts with the verb, and the lines of one conversation are a prefix of its only
//!   order: USER PASS ACCT; ABOR NOOP (the NOOP only after ABOR's first reply); EPSV PASV
//!   NOOP; RETR. Login never asks for a bare read, the others never send on their own
//!   except ABOR's NOOP;
//! - arguments: `Login::new` refuses exactly the user, password or account with CR, LF or
//!   NUL (`InvalidArgument`, nothing sent); an empty user is `anonymous`, whose empty or `-`
//!   password gets `anonymous@` appended; an argument the encoding cannot carry is
//!   `Encoding` with nothing sent for that command;
//! - outcomes, against a model written from the docs: the reply that ends a login is 2xx
//!   (a 3xx to USER sends PASS, to PASS sends ACCT), a transfer starts on a 1xx after at
//!   most one 2xx, ABOR's result is the last reply before the NOOP's 200 (the marker is not
//!   kept), PASV-after-silence gives the first 227 before the 200, or else the first 4xx/5xx
//!   refusal, or else `Proto`; errors carry their reply's class as the client maps them
//!   (4xx `Temp`, 5xx `Perm`, other classes `Reply`); only ABOR and PASV-after-silence give
//!   `Proto`, and after one the driver drops the connection (the run ends);
//! - the reader: every reply has a code in 100..=599 that starts its text, no NUL; a read
//!   error (EOF, malformed, overlong) ends the run, as it closes the client's connection.
#![no_main]

use ftpc::proto::command::{build, Encoding};
use ftpc::proto::conversation::{AbortReplies, Login, Next, PasvAfterSilence, TransferStart};
use ftpc::proto::replies::{LineBuffer, ReplyParser};
use ftpc::proto::reply::{Reply, MAX_LINE};
use ftpc::proto::ProtoError;
use libfuzzer_sys::fuzz_target;

/// What `Control::read_reply` asks the socket for at a time.
const CHUNK: usize = 4096;
/// Conversations per input: each reads at least one reply except a refused login, so this
/// only bounds runs of refused logins.
const MAX_CONVERSATIONS: usize = 64;
/// Steps (commands sent or replies fed) after which a conversation has not ended.
const MAX_STEPS: usize = 16;

const USERS: [&str; 4] = ["", "anonymous", "user", "bad\r\nDELE x"];
const PASSWORDS: [&str; 4] = ["", "-", "secret", "s\u{e9}cr\u{20ac}t"];
const ACCOUNTS: [&str; 4] = ["", "acct", "ac\0ct", "\u{e9}t\u{e9}"];

/// The driver's view of an error, as `crate::Error` names them (the fuzz target cannot
/// reach the client's error type without the client).
#[derive(Debug, PartialEq)]
enum Failure {
    /// 4xx, as `getresp` or `classify` map it.
    Temp(u16),
    /// 5xx.
    Perm(u16),
    /// A valid reply the conversation did not want (`Error::Reply`).
    Reply(u16),
    /// The conversation's own protocol error (`Error::Proto`): the connection is dropped.
    Proto,
    /// An argument refused before anything was sent.
    InvalidArgument,
    Encoding,
}

/// A reader error: the client drops the connection, so the run ends.
#[derive(Debug)]
struct Closed;

/// The server side: bytes read in `read` sized pieces into the reply reader.
struct Server<'a> {
    bytes: &'a [u8],
    pos: usize,
    read: usize,
    lines: LineBuffer,
    parser: ReplyParser,
    encoding: Encoding,
    /// Replies read so far.
    replies: usize,
}

impl Server<'_> {
    /// `Control::read_reply` then the decoding of `getresp_or_silence`.
    fn reply(&mut self) -> Result<Reply, Closed> {
        loop {
            let line = match self.lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => {
                    if self.pos == self.bytes.len() {
                        return Err(Closed); // Eof
                    }
                    let n = self.read.min(self.bytes.len() - self.pos);
                    let room = self.lines.spare(CHUNK);
                    room[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
                    self.lines.filled(CHUNK, n);
                    self.pos += n;
                    continue;
                }
                Err(e) => return Err(reader_error(e)),
            };
            assert!(line.len() <= MAX_LINE);
            match self.parser.push_line(&line) {
                Ok(Some(raw)) => {
                    assert!((100..=599).contains(&raw.code), "{raw:?}");
                    assert_eq!(raw.text[..3], *raw.code.to_string().as_bytes(), "{raw:?}");
                    assert!(!raw.text.contains(&0));
                    self.replies += 1;
                    let text = self.encoding.decode(&raw.text).into_owned();
                    return Ok(Reply::new(raw.code, text));
                }
                Ok(None) => {}
                Err(e) => return Err(reader_error(e)),
            }
        }
    }
}

fn reader_error(e: ProtoError) -> Closed {
    assert!(
        matches!(e, ProtoError::Proto(_) | ProtoError::LineTooLong(_) | ProtoError::ReplyTooLong(_)),
        "the reply reader gave {e:?}"
    );
    Closed
}

/// The class of a refusal as the client maps it (`getresp`, `classify`).
fn classify(reply: &Reply) -> Failure {
    match reply.class() {
        4 => Failure::Temp(reply.code),
        5 => Failure::Perm(reply.code),
        _ => Failure::Reply(reply.code),
    }
}

/// One conversation's traffic: the command lines it sent and the replies it was fed.
#[derive(Default)]
struct Trace {
    sent: Vec<Vec<u8>>,
    fed: Vec<Reply>,
    steps: usize,
}

impl Trace {
    /// Encodes a command as the client does before sending it; checks the line.
    fn send(&mut self, verb: &str, arg: Option<&[u8]>, encoding: Encoding) -> Result<(), Failure> {
        self.step();
        let line = match build(verb, arg, encoding) {
            Ok(line) => line,
            Err(ProtoError::Encoding(_)) => return Err(Failure::Encoding),
            Err(e) => panic!("{verb}: building the line gave {e:?}"),
        };
        assert!(!line.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)), "{:?}", String::from_utf8_lossy(&line));
        assert!(line.starts_with(verb.as_bytes()));
        assert!(line.len() == verb.len() || line[verb.len()] == b' ');
        self.sent.push(line);
        Ok(())
    }

    /// Reads a reply to feed the conversation.
    fn read(&mut self, server: &mut Server) -> Result<Reply, Closed> {
        self.step();
        let reply = server.reply()?;
        self.fed.push(reply.clone());
        Ok(reply)
    }

    fn step(&mut self) {
        self.steps += 1;
        assert!(self.steps <= MAX_STEPS, "a conversation still running after {MAX_STEPS} steps");
    }

    fn verbs(&self) -> Vec<&[u8]> {
        self.sent.iter().map(|l| l.split(|&b| b == b' ').next().unwrap()).collect()
    }

    /// The verbs sent are a prefix of `order`.
    fn sent_in_order(&self, order: &[&str]) {
        let verbs = self.verbs();
        assert!(verbs.len() <= order.len(), "{:?}", self.sent);
        for (verb, want) in verbs.iter().zip(order) {
            assert_eq!(*verb, want.as_bytes(), "sent {:?}", self.sent);
        }
    }
}

/// What a conversation ended with. `Err(Closed)`: the reader failed (the run ends).
type Outcome = Result<Result<Reply, Failure>, Closed>;

fn login(server: &mut Server, user: &str, passwd: &str, acct: &str) -> (Trace, Outcome) {
    let mut t = Trace::default();
    let encoding = server.encoding;
    let outcome = (|| -> Outcome {
        let mut conversation = match Login::new(user, passwd, acct) {
            Ok(c) => c,
            Err(ProtoError::InvalidArgument(_)) => return Ok(Err(Failure::InvalidArgument)),
            Err(e) => panic!("Login::new gave {e:?}"),
        };
        let mut next = conversation.start();
        loop {
            next = match next {
                // Client::login: cmd() then getresp(), whose 4xx/5xx end the login.
                Next::Send(verb, arg) => {
                    if let Err(f) = t.send(verb, arg.as_deref(), encoding) {
                        return Ok(Err(f));
                    }
                    let reply = t.read(server)?;
                    if reply.class() >= 4 {
                        return Ok(Err(classify(&reply)));
                    }
                    match conversation.reply(reply) {
                        Ok(next) => next,
                        Err(ProtoError::Reply(r)) => {
                            assert!(matches!(r.class(), 1 | 3), "login refused {r:?}");
                            return Ok(Err(Failure::Reply(r.code)));
                        }
                        Err(e) => panic!("login gave {e:?}"),
                    }
                }
                Next::Read => panic!("login asked for a reply without a command"),
                Next::Done(reply) => return Ok(Ok(reply)),
            }
        }
    })();
    t.sent_in_order(&["USER", "PASS", "ACCT"]);
    let bad = |s: &str| s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0));
    if bad(user) || bad(passwd) || bad(acct) {
        assert!(matches!(outcome, Ok(Err(Failure::InvalidArgument))), "{outcome:?}");
        assert!(t.sent.is_empty() && t.fed.is_empty());
        return (t, outcome);
    }
    // The arguments as the docs promise them.
    let user = if user.is_empty() { "anonymous" } else { user };
    let mut passwd = passwd.to_string();
    if user == "anonymous" && (passwd.is_empty() || passwd == "-") {
        passwd.push_str("anonymous@");
    }
    let expect_line = |verb: &str, arg: &str| build(verb, Some(arg.as_bytes()), encoding).ok();
    let expected = [expect_line("USER", user), expect_line("PASS", &passwd), expect_line("ACCT", acct)];
    for (line, want) in t.sent.iter().zip(&expected) {
        assert_eq!(Some(line), want.as_ref());
    }
    // The model: reply i answers command i; 3xx to USER or PASS goes on, 2xx ends it.
    let model = || -> Outcome {
        for (i, reply) in t.fed.iter().enumerate() {
            let ends = i + 1 == t.fed.len();
            let verdict = match reply.class() {
                2 => Some(Ok(reply.clone())),
                4 | 5 => Some(Err(classify(reply))),
                3 if i < 2 => None,
                _ => Some(Err(Failure::Reply(reply.code))),
            };
            match verdict {
                Some(v) => {
                    assert!(ends, "login went on after {reply:?}");
                    return Ok(v);
                }
                // The next command could not be encoded, or its reply never came.
                None if ends => {
                    return match expected[i + 1] {
                        None => Ok(Err(Failure::Encoding)),
                        Some(_) => Err(Closed),
                    };
                }
                None => {}
            }
        }
        match expected[0] {
            None => Ok(Err(Failure::Encoding)),
            Some(_) => Err(Closed),
        }
    };
    assert_same(&outcome, &model());
    (t, outcome)
}

fn transfer_start(server: &mut Server) -> (Trace, Outcome) {
    let mut t = Trace::default();
    let encoding = server.encoding;
    let outcome = (|| -> Outcome {
        // Client::transfer_command: putcmd, then getresp until the conversation ends.
        t.send("RETR", Some(b"file.bin"), encoding).expect("RETR file.bin encodes");
        let mut start = TransferStart::default();
        loop {
            let reply = t.read(server)?;
            if reply.class() >= 4 {
                return Ok(Err(classify(&reply)));
            }
            match start.reply(reply) {
                Ok(Next::Done(reply)) => return Ok(Ok(reply)),
                Ok(Next::Read) => {}
                Ok(Next::Send(verb, _)) => panic!("the transfer start asked to send {verb}"),
                Err(ProtoError::Reply(r)) => {
                    assert!(matches!(r.class(), 2 | 3), "transfer start refused {r:?}");
                    return Ok(Err(Failure::Reply(r.code)));
                }
                Err(e) => panic!("the transfer start gave {e:?}"),
            }
        }
    })();
    t.sent_in_order(&["RETR"]);
    // The model: a 1xx starts it, one 2xx before it is skipped, anything else refuses.
    let model = || -> Outcome {
        let mut skipped = false;
        for (i, reply) in t.fed.iter().enumerate() {
            let verdict = match reply.class() {
                1 => Ok(reply.clone()),
                2 if !skipped => {
                    skipped = true;
                    continue;
                }
                _ => Err(classify(reply)),
            };
            assert_eq!(i + 1, t.fed.len(), "the transfer start went on after {reply:?}");
            return Ok(verdict);
        }
        Err(Closed)
    };
    assert_same(&outcome, &model());
    (t, outcome)
}

fn abort(server: &mut Server) -> (Trace, Outcome) {
    let mut t = Trace::default();
    let encoding = server.encoding;
    let outcome = (|| -> Outcome {
        // Client::abort: ABOR (with the Telnet Synch when a transfer is open; the line is the
        // same), then read_abor_replies, which takes replies of every class.
        t.send("ABOR", None, encoding).expect("ABOR encodes");
        let mut replies = AbortReplies::default();
        let mut next = Next::Read;
        loop {
            let fed = match next {
                Next::Read => replies.reply(t.read(server)?),
                Next::Send(verb, arg) => {
                    assert_eq!((verb, &arg), ("NOOP", &None), "ABOR asked to send {verb}");
                    assert_eq!(t.fed.len(), 1, "NOOP not right after ABOR's first reply");
                    t.send(verb, arg.as_deref(), encoding).expect("NOOP encodes");
                    replies.reply(t.read(server)?)
                }
                Next::Done(last) => return Ok(Ok(last)),
            };
            next = match fed {
                Ok(next) => next,
                Err(ProtoError::Proto(_)) => return Ok(Err(Failure::Proto)),
                Err(e) => panic!("the ABOR replies gave {e:?}"),
            };
        }
    })();
    t.sent_in_order(&["ABOR", "NOOP"]);
    // The model: the first reply, then the NOOP; every reply up to the first 200 after it
    // is the abort's, at most four in all; the result is the last of them.
    let model = || -> Outcome {
        for (i, reply) in t.fed.iter().enumerate() {
            let verdict = match i {
                0 => continue,
                _ if reply.code == 200 => Ok(t.fed[i - 1].clone()),
                4 => Err(Failure::Proto),
                _ => continue,
            };
            assert_eq!(i + 1, t.fed.len(), "the ABOR replies went on after {reply:?}");
            return Ok(verdict);
        }
        Err(Closed)
    };
    assert_same(&outcome, &model());
    if let Ok(Ok(_)) = &outcome {
        assert_eq!(t.fed.last().map(|r| r.code), Some(200), "ended before the NOOP's reply");
        assert_eq!(t.sent.len(), 2);
    }
    (t, outcome)
}

fn pasv_after_silence(server: &mut Server) -> (Trace, Outcome) {
    let mut t = Trace::default();
    let encoding = server.encoding;
    let outcome = (|| -> Outcome {
        // Client::makepasv: EPSV went out and got no answer in time; then PASV and NOOP at
        // once, and every reply is fed whatever its class.
        t.send("EPSV", None, encoding).expect("EPSV encodes");
        for verb in PasvAfterSilence::COMMANDS {
            t.send(verb, None, encoding).expect("PASV and NOOP encode");
        }
        let mut conversation = PasvAfterSilence::default();
        loop {
            match conversation.reply(t.read(server)?) {
                Ok(Next::Done(pasv)) => return Ok(Ok(pasv)),
                Ok(Next::Read) => {}
                Ok(Next::Send(verb, _)) => panic!("PASV after silence asked to send {verb}"),
                Err(ProtoError::Reply(refusal)) => {
                    assert!(refusal.class() >= 4, "PASV refused by {refusal:?}");
                    return Ok(Err(classify(&refusal)));
                }
                Err(ProtoError::Proto(_)) => return Ok(Err(Failure::Proto)),
                Err(e) => panic!("PASV after silence gave {e:?}"),
            }
        }
    })();
    t.sent_in_order(&["EPSV", "PASV", "NOOP"]);
    assert_eq!(t.sent.len(), 3);
    // The model: replies up to the first 200 (at most four before it); of those the first
    // 227, else the first 4xx/5xx, else a protocol error.
    let model = || -> Outcome {
        let Some(end) = t.fed.iter().position(|r| r.code == 200) else {
            if t.fed.len() > 4 {
                assert_eq!(t.fed.len(), 5, "PASV after silence went on after five replies");
                return Ok(Err(Failure::Proto));
            }
            return Err(Closed);
        };
        assert_eq!(end + 1, t.fed.len(), "PASV after silence went on after the NOOP's 200");
        let before = &t.fed[..end];
        Ok(match before.iter().find(|r| r.code == 227) {
            Some(pasv) => Ok(pasv.clone()),
            None => match before.iter().find(|r| r.class() >= 4) {
                Some(refusal) => Err(classify(refusal)),
                None => Err(Failure::Proto),
            },
        })
    };
    assert_same(&outcome, &model());
    (t, outcome)
}

fn assert_same(got: &Outcome, want: &Outcome) {
    match (got, want) {
        (Err(Closed), Err(Closed)) => {}
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Ok(a), Err(Closed)) => panic!("{a:?} where the model ran out of replies"),
        (Err(Closed), Ok(b)) => panic!("ran out of replies where the model says {b:?}"),
    }
}

fuzz_target!(|input: &[u8]| {
    let [conv, login_flags, bytes @ ..] = input else {
        return;
    };
    let encoding = match (conv >> 2) & 3 {
        1 => Encoding::Latin1,
        2 => Encoding::Bytes,
        _ => Encoding::Utf8,
    };
    let read = match conv >> 4 {
        0 => CHUNK,
        n => usize::from(n),
    };
    let user = USERS[usize::from(login_flags & 3)];
    let passwd = PASSWORDS[usize::from((login_flags >> 2) & 3)];
    let acct = ACCOUNTS[usize::from((login_flags >> 4) & 3)];
    let mut server = Server {
        bytes,
        pos: 0,
        read,
        lines: LineBuffer::new(MAX_LINE),
        parser: ReplyParser::new(),
        encoding,
        replies: 0,
    };
    let mut which = usize::from(conv & 3);
    for _ in 0..MAX_CONVERSATIONS {
        let replies_before = server.replies;
        let (trace, outcome) = match which {
            0 => login(&mut server, user, passwd, acct),
            1 => transfer_start(&mut server),
            2 => abort(&mut server),
            _ => pasv_after_silence(&mut server),
        };
        assert_eq!(server.replies - replies_before, trace.fed.len());
        let limit = [3, 2, 5, 5][which];
        assert!(trace.fed.len() <= limit, "{} replies fed to conversation {which}", trace.fed.len());
        match outcome {
            // The reader failed: the client closes the connection.
            Err(Closed) => return,
            // Out of step: the client drops the connection.
            Ok(Err(Failure::Proto)) => return,
            Ok(Ok(_) | Err(_)) => {}
        }
        if server.pos == server.bytes.len() && server.lines.pending().is_empty() {
            return;
        }
        which = (which + 1) % 4;
    }
});
