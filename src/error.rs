//! The one error type of the core. The C layer maps each variant to an `FTP_ERR_*` code.

use crate::proto::reply::Reply;
use crate::proto::ProtoError;
use std::io;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A reply that is valid but not the one the command needs (ftplib's `error_reply`).
    #[error("unexpected reply: {0}")]
    Reply(Reply),
    /// A 4xx reply (ftplib's `error_temp`).
    #[error("temporary failure: {0}")]
    Temp(Reply),
    /// A 5xx reply (ftplib's `error_perm`).
    #[error("permanent failure: {0}")]
    Perm(Reply),
    /// A reply or data that breaks the protocol (ftplib's `error_proto`).
    #[error("protocol error: {0}")]
    Proto(String),
    /// A reply line longer than the limit; the connection is closed since it is out of step.
    #[error("reply line longer than {0} bytes")]
    LineTooLong(usize),
    /// A reply with more lines or bytes than the limit.
    #[error("reply longer than {0}")]
    ReplyTooLong(String),
    #[error("I/O error during {context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: io::Error,
    },
    /// The peer closed the connection where more was expected.
    #[error("connection closed by the server {0}")]
    Eof(&'static str),
    #[error("timed out {0}")]
    Timeout(&'static str),
    #[error("TLS error: {0}")]
    Tls(String),
    #[error("certificate verification failed: {0}")]
    Certificate(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The call does not fit the connection's state (not connected, already in TLS, ...).
    #[error("wrong state: {0}")]
    WrongState(String),
    #[error("cannot encode or decode text: {0}")]
    Encoding(String),
    /// A callback asked to stop; the transfer was aborted and the connection is usable.
    #[error("transfer stopped by a callback or the canceller")]
    Stopped,
    /// The caller cancelled (`Client::canceller`, C `ftp_cancel`) while the call waited for
    /// the network outside a transfer's data: a connection being made is dropped, and a
    /// control connection waiting for a reply is closed (it is out of step).
    #[error("cancelled while {0}")]
    Cancelled(&'static str),
    /// A transfer ended early or with fewer bytes than announced.
    #[error("transfer truncated: {0}")]
    Truncated(String),
    /// The server does not offer what was asked (MLSD on vsftpd, ...).
    #[error("not supported by the server: {0}")]
    Unsupported(String),
    #[error("netrc: {0}")]
    Netrc(String),
}

impl Error {
    pub(crate) fn io(context: &'static str, source: io::Error) -> Error {
        match source.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout(context),
            io::ErrorKind::UnexpectedEof => Error::Eof(context),
            _ => Error::Io { context, source },
        }
    }

    /// The server reply carried by this error, if any.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Error::Reply(r) | Error::Temp(r) | Error::Perm(r) => Some(r),
            _ => None,
        }
    }
}

/// The protocol layer's errors keep their class (and their C code) here.
impl From<ProtoError> for Error {
    fn from(e: ProtoError) -> Error {
        match e {
            ProtoError::Reply(r) => Error::Reply(r),
            ProtoError::Proto(m) => Error::Proto(m),
            ProtoError::LineTooLong(n) => Error::LineTooLong(n),
            ProtoError::ReplyTooLong(m) => Error::ReplyTooLong(m),
            ProtoError::InvalidArgument(m) => Error::InvalidArgument(m),
            ProtoError::Encoding(m) => Error::Encoding(m),
        }
    }
}
