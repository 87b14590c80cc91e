//! Why a command failed, and the exit status that tells the class apart.

use ftpc::Error;
use std::fmt;

/// The exit statuses, as documented in `--help` and the README.
pub const EXIT_TABLE: &str = "\
Exit status:
   0  success
   1  other failure (stopped, internal error)
   2  usage: bad arguments, bad URL, a name that cannot be sent
   3  local file: cannot read, create or write a local file
   4  network: cannot connect, connection lost, timed out
   5  TLS: handshake failed, certificate not verified
   6  login: refused, or no credentials
   7  refused by the server (5xx reply): no such file, permission denied, ...
   8  temporary server failure (4xx reply): try again later
   9  protocol: a malformed or unexpected reply
  10  not supported by the server (e.g. MLSD)
  11  mirror: finished, but some remote names were refused or some files failed";

#[derive(Debug)]
pub enum Failure {
    Usage(String),
    Local(String),
    /// An error of the library, with what was being done.
    Ftp(String, Error),
    Login(String),
    Partial(String),
}

impl Failure {
    pub fn ftp(context: impl Into<String>) -> impl FnOnce(Error) -> Failure {
        let context = context.into();
        move |e| Failure::Ftp(context, e)
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Local(_) => 3,
            Failure::Login(_) => 6,
            Failure::Partial(_) => 11,
            Failure::Ftp(_, e) => match e {
                Error::Io { context, .. } if context.contains("local file") || context.contains("local directory") => 3,
                Error::Io { .. } | Error::Eof(_) | Error::Timeout(_) | Error::Cancelled(_) | Error::Truncated(_) => 4,
                Error::Tls(_) | Error::Certificate(_) => 5,
                Error::Netrc(_) => 6,
                Error::Perm(_) => 7,
                Error::Temp(_) => 8,
                Error::Reply(_) | Error::Proto(_) | Error::LineTooLong(_) | Error::ReplyTooLong(_) => 9,
                Error::Unsupported(_) => 10,
                Error::InvalidArgument(_) | Error::Encoding(_) => 2,
                _ => 1,
            },
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Local(m) | Failure::Login(m) | Failure::Partial(m) => f.write_str(m),
            // The library's messages carry their cause already.
            Failure::Ftp(context, e) => write!(f, "{context}: {e}"),
        }
    }
}

pub type Outcome<T = ()> = Result<T, Failure>;
