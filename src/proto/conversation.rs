//! The parts of the control conversation that span several replies, as small state
//! machines without I/O: a driver (the blocking client today, an event-loop driver later)
//! sends what they say and feeds them the replies it reads. Each step returns what to do
//! next; none of them touches a socket or a clock.

use super::error::{ProtoError, Result};
use super::reply::Reply;

/// What a conversation asks its driver to do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Send this command (verb and optional argument; the driver encodes and checks it)
    /// and feed the reply back.
    Send(&'static str, Option<Vec<u8>>),
    /// Read the next reply (nothing to send) and feed it back.
    Read,
    /// Done, with the reply that ends it.
    Done(Reply),
}

/// ftplib's login: USER; PASS after a 3xx to USER; ACCT after a 3xx to PASS; the last reply
/// must be 2xx. An empty user is `anonymous`, whose empty or `-` password gets `anonymous@`
/// appended (ftplib's rule: `-` asks some servers for a quiet login, so it stays in front).
#[derive(Debug)]
pub struct Login {
    user: Vec<u8>,
    passwd: Vec<u8>,
    acct: Vec<u8>,
    sent: LoginStep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoginStep {
    Nothing,
    User,
    Pass,
    Acct,
}

impl Login {
    /// Checks every argument before anything is sent: a CR, LF or NUL in any of them is
    /// `InvalidArgument`.
    pub fn new(user: &str, passwd: &str, acct: &str) -> Result<Login> {
        let user = if user.is_empty() { "anonymous" } else { user };
        let mut passwd = passwd.to_string();
        if user == "anonymous" && (passwd.is_empty() || passwd == "-") {
            passwd.push_str("anonymous@");
        }
        for (what, text) in [("user", user), ("password", passwd.as_str()), ("account", acct)] {
            super::command::check_no_line_breaks(what, text.as_bytes())?;
        }
        Ok(Login { user: user.into(), passwd: passwd.into(), acct: acct.into(), sent: LoginStep::Nothing })
    }

    /// The first command to send.
    pub fn start(&mut self) -> Next {
        self.sent = LoginStep::User;
        Next::Send("USER", Some(self.user.clone()))
    }

    /// The reply to the last command sent (1xx-3xx; a 4xx or 5xx ends the login at the
    /// driver as an error of its class): the next command, or the end.
    pub fn reply(&mut self, reply: Reply) -> Result<Next> {
        match (self.sent, reply.class()) {
            (LoginStep::User, 3) => {
                self.sent = LoginStep::Pass;
                Ok(Next::Send("PASS", Some(self.passwd.clone())))
            }
            (LoginStep::Pass, 3) => {
                self.sent = LoginStep::Acct;
                Ok(Next::Send("ACCT", Some(self.acct.clone())))
            }
            (LoginStep::Nothing, _) => Err(ProtoError::Proto("login fed a reply before it started".into())),
            (_, 2) => Ok(Next::Done(reply)),
            _ => Err(ProtoError::Reply(reply)),
        }
    }
}

/// The start of a transfer after its command (RETR, STOR, LIST, ...): a 1xx opens it; a
/// 2xx before the 1xx is skipped (some servers send one; ftplib does the same); anything
/// else is refused as an unexpected reply (a 4xx or 5xx ends it at the driver as an error).
#[derive(Debug, Default)]
pub struct TransferStart {
    skipped_2xx: bool,
}

impl TransferStart {
    pub fn reply(&mut self, reply: Reply) -> Result<Next> {
        match reply.class() {
            1 => Ok(Next::Done(reply)),
            2 if !self.skipped_2xx => {
                self.skipped_2xx = true;
                Ok(Next::Read)
            }
            _ => Err(ProtoError::Reply(reply)),
        }
    }
}

/// Replies read up to a NOOP's 200, which marks the end of what came before it, however
/// many replies that was: the common part of the conversations below.
#[derive(Debug, Default)]
struct UntilNoop {
    before: Vec<Reply>,
}

/// Replies before the NOOP's beyond which the server is not following the protocol.
const MAX_MARKED_REPLIES: usize = 4;

impl UntilNoop {
    /// `Some(replies before the 200)` once the NOOP's 200 came.
    fn reply(&mut self, reply: Reply, what: &str) -> Result<Option<Vec<Reply>>> {
        if reply.code == 200 {
            return Ok(Some(std::mem::take(&mut self.before)));
        }
        self.before.push(reply);
        if self.before.len() > MAX_MARKED_REPLIES {
            return Err(ProtoError::Proto(format!("more than {MAX_MARKED_REPLIES} replies after {what}")));
        }
        Ok(None)
    }
}

/// The replies after ABOR. Servers differ in how many come (426 then 226, 226 alone, 225,
/// one 451 for both, a late second one), and a wait of any length can end too early on a
/// slow link. So once the first reply is in, a NOOP goes out, and every reply before its
/// 200 belongs to the abort: one round trip, no guessing. The result is the abort's last
/// reply (the NOOP's 200 is not kept). The first reply is awaited before the NOOP is sent:
/// some servers (pure-ftpd) read the control connection in one gulp while a transfer runs
/// and would swallow a NOOP sent right behind the ABOR.
#[derive(Debug, Default)]
pub struct AbortReplies {
    noop_sent: bool,
    marked: UntilNoop,
}

impl AbortReplies {
    /// Any reply, whatever its class (the driver passes 4xx and 5xx too).
    pub fn reply(&mut self, reply: Reply) -> Result<Next> {
        if !self.noop_sent {
            self.noop_sent = true;
            self.marked.before.push(reply);
            return Ok(Next::Send("NOOP", None));
        }
        match self.marked.reply(reply, "ABOR")? {
            Some(mut replies) => Ok(Next::Done(replies.pop().expect("the first reply came before the NOOP"))),
            None => Ok(Next::Read),
        }
    }
}

/// PASV after an EPSV that got no answer in time: EPSV's answer may still come, before or
/// after PASV's. The driver sends PASV and a NOOP behind it at once (`PasvAfterSilence::
/// COMMANDS`) and feeds every reply, whatever its class. Of the replies before the NOOP's
/// 200, the 227 is PASV's and anything else was EPSV's; a refusal of PASV (4xx/5xx) comes
/// after EPSV's answer, if any, so the first refusal stands when no 227 came.
#[derive(Debug, Default)]
pub struct PasvAfterSilence {
    marked: UntilNoop,
}

impl PasvAfterSilence {
    pub const COMMANDS: [&'static str; 2] = ["PASV", "NOOP"];

    /// `Ok(Next::Read)` until the end; then `Ok(Next::Done(the 227))`, or the refusal as
    /// `ProtoError::Reply` for the driver to classify.
    pub fn reply(&mut self, reply: Reply) -> Result<Next> {
        let Some(replies) = self.marked.reply(reply, "PASV")? else {
            return Ok(Next::Read);
        };
        if let Some(pasv) = replies.iter().find(|r| r.code == 227) {
            return Ok(Next::Done(pasv.clone()));
        }
        match replies.into_iter().find(|r| r.class() >= 4) {
            Some(refusal) => Err(ProtoError::Reply(refusal)),
            None => Err(ProtoError::Proto("no answer to PASV before NOOP's".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(code: u16) -> Reply {
        Reply::new(code, format!("{code} text").as_bytes())
    }

    #[test]
    fn login_user_pass_acct() {
        let mut l = Login::new("u", "p", "a").unwrap();
        assert_eq!(l.start(), Next::Send("USER", Some(b"u".to_vec())));
        assert_eq!(l.reply(r(331)).unwrap(), Next::Send("PASS", Some(b"p".to_vec())));
        assert_eq!(l.reply(r(332)).unwrap(), Next::Send("ACCT", Some(b"a".to_vec())));
        assert_eq!(l.reply(r(230)).unwrap(), Next::Done(r(230)));
        // A 2xx to USER ends it; a 1xx anywhere is unexpected.
        let mut l = Login::new("u", "p", "").unwrap();
        l.start();
        assert_eq!(l.reply(r(230)).unwrap(), Next::Done(r(230)));
        let mut l = Login::new("u", "p", "").unwrap();
        l.start();
        assert!(matches!(l.reply(r(150)), Err(ProtoError::Reply(x)) if x.code == 150));
        // A 3xx to ACCT is not a login.
        let mut l = Login::new("u", "p", "a").unwrap();
        l.start();
        l.reply(r(331)).unwrap();
        l.reply(r(332)).unwrap();
        assert!(matches!(l.reply(r(332)), Err(ProtoError::Reply(_))));
    }

    #[test]
    fn login_anonymous_and_checks() {
        let mut l = Login::new("", "-", "").unwrap();
        assert_eq!(l.start(), Next::Send("USER", Some(b"anonymous".to_vec())));
        assert_eq!(l.reply(r(331)).unwrap(), Next::Send("PASS", Some(b"-anonymous@".to_vec())));
        assert!(matches!(Login::new("u", "p\r\nDELE x", ""), Err(ProtoError::InvalidArgument(_))));
        assert!(matches!(Login::new("u\0", "p", ""), Err(ProtoError::InvalidArgument(_))));
    }

    #[test]
    fn transfer_start_skips_one_2xx() {
        let mut t = TransferStart::default();
        assert_eq!(t.reply(r(250)).unwrap(), Next::Read);
        assert_eq!(t.reply(r(150)).unwrap(), Next::Done(r(150)));
        let mut t = TransferStart::default();
        t.reply(r(200)).unwrap();
        assert!(matches!(t.reply(r(226)), Err(ProtoError::Reply(x)) if x.code == 226));
        assert!(matches!(TransferStart::default().reply(r(350)), Err(ProtoError::Reply(_))));
    }

    #[test]
    fn abort_replies_end_at_the_noop() {
        for (replies, last) in [
            (&[426, 226][..], 226),
            (&[226][..], 226),
            (&[225][..], 225),
            (&[451][..], 451),
            (&[226, 426][..], 426),
            (&[426, 226, 226][..], 226),
        ] {
            let mut a = AbortReplies::default();
            assert_eq!(a.reply(r(replies[0])).unwrap(), Next::Send("NOOP", None));
            for &code in &replies[1..] {
                assert_eq!(a.reply(r(code)).unwrap(), Next::Read);
            }
            assert_eq!(a.reply(r(200)).unwrap(), Next::Done(r(last)), "{replies:?}");
        }
        let mut a = AbortReplies::default();
        a.reply(r(426)).unwrap();
        let flood: Vec<_> = (0..MAX_MARKED_REPLIES).map(|_| a.reply(r(226))).collect();
        assert!(matches!(flood.last(), Some(Err(ProtoError::Proto(_)))));
    }

    #[test]
    fn pasv_after_silence_picks_the_227() {
        let done = |codes: &[u16]| {
            let mut p = PasvAfterSilence::default();
            let mut last = Ok(Next::Read);
            for &code in codes {
                last = p.reply(r(code));
            }
            last
        };
        assert_eq!(done(&[227, 200]).unwrap(), Next::Done(r(227)));
        assert_eq!(done(&[229, 227, 200]).unwrap(), Next::Done(r(227)), "EPSV's late answer first");
        assert_eq!(done(&[227, 229, 200]).unwrap(), Next::Done(r(227)), "EPSV's late answer after");
        assert_eq!(done(&[500, 227, 200]).unwrap(), Next::Done(r(227)), "EPSV refused late");
        assert!(matches!(done(&[500, 530, 200]), Err(ProtoError::Reply(x)) if x.code == 500));
        assert!(matches!(done(&[200]), Err(ProtoError::Proto(_))));
        assert!(matches!(done(&[229, 229, 229, 229, 229]), Err(ProtoError::Proto(_))));
    }
}
