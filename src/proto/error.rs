//! The errors of the protocol layer: what bytes from the server or arguments from the
//! caller can be wrong with, before any I/O. The client turns them into `crate::Error`.

use super::reply::Reply;

#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// A valid reply that is not the one expected (a 227 where EPSV's 229 belongs, ...).
    #[error("unexpected reply: {0}")]
    Reply(Reply),
    /// Bytes that break the protocol (a malformed reply, 227, 229, 257).
    #[error("protocol error: {0}")]
    Proto(String),
    /// A reply or listing line longer than the limit.
    #[error("line longer than {0} bytes")]
    LineTooLong(usize),
    /// A reply with more lines or bytes than the limit.
    #[error("reply longer than {0}")]
    ReplyTooLong(String),
    /// An argument that cannot go on a command line (CR, LF, NUL, empty).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Text that the chosen encoding cannot carry.
    #[error("cannot encode or decode text: {0}")]
    Encoding(String),
}

pub type Result<T, E = ProtoError> = std::result::Result<T, E>;
