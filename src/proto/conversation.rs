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

/// The replies after ABOR. Servers differ in how many come (426 then 226, 226 alone, 225,
/// one 451 for both, a late second one), and a wait of any length can end too early on a
/// slow link. So once the first reply is in, a NOOP goes out, and every reply before its
/// 200 belongs to the abort: one round trip, no guessing. The result is the abort's last
/// reply (the NOOP's 200 is not kept). The first reply is awaited before the NOOP is sent:
/// some servers (pure-ftpd) read the control connection in one gulp while a transfer runs
/// and would swallow a NOOP sent right behind the ABOR.
#[derive(Debug, Default)]
pub struct AbortReplies {
    last: Option<Reply>,
    noop_sent: bool,
    after_noop: usize,
}

/// Replies after ABOR beyond which the server is not following the protocol.
const MAX_ABOR_REPLIES: usize = 4;

impl AbortReplies {
    /// Any reply, whatever its class (the driver passes 4xx and 5xx too).
    pub fn reply(&mut self, reply: Reply) -> Result<Next> {
        if !self.noop_sent {
            self.noop_sent = true;
            self.last = Some(reply);
            return Ok(Next::Send("NOOP", None));
        }
        if reply.code == 200 {
            let last = self.last.take().expect("the first reply came before the NOOP");
            return Ok(Next::Done(last));
        }
        self.after_noop += 1;
        if self.after_noop >= MAX_ABOR_REPLIES {
            return Err(ProtoError::Proto(format!("more than {MAX_ABOR_REPLIES} replies after ABOR")));
        }
        self.last = Some(reply);
        Ok(Next::Read)
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
        let flood: Vec<_> = (0..MAX_ABOR_REPLIES).map(|_| a.reply(r(226))).collect();
        assert!(matches!(flood.last(), Some(Err(ProtoError::Proto(_)))));
    }
}
