//! Status codes: one fixed list, never renumbered. Negative so that no code can be
//! mistaken for an FTP reply code (100-599).

use crate::Error;
use std::ffi::{c_char, c_int};

/// Success.
pub const FTP_OK: c_int = 0;
/// A reply that is valid but not the one expected (ftplib's `error_reply`).
pub const FTP_ERR_REPLY: c_int = -1;
/// A 4xx reply: a transient failure (ftplib's `error_temp`).
pub const FTP_ERR_TEMP: c_int = -2;
/// A 5xx reply: a permanent failure (ftplib's `error_perm`).
pub const FTP_ERR_PERM: c_int = -3;
/// A malformed reply or protocol violation (ftplib's `error_proto`).
pub const FTP_ERR_PROTO: c_int = -4;
/// A system I/O error (connection refused, reset, ...).
pub const FTP_ERR_IO: c_int = -5;
/// The server closed the connection where more was expected.
pub const FTP_ERR_EOF: c_int = -6;
/// A connect, accept, read or write timed out.
pub const FTP_ERR_TIMEOUT: c_int = -7;
/// A TLS failure (handshake, AUTH refused, record error).
pub const FTP_ERR_TLS: c_int = -8;
/// The server's certificate failed verification (chain or host name).
pub const FTP_ERR_CERTIFICATE: c_int = -9;
/// An argument is out of range or contains CR, LF or NUL; nothing was sent.
pub const FTP_ERR_INVALID_ARGUMENT: c_int = -10;
/// A reply or listing line longer than 8192 bytes.
pub const FTP_ERR_LINE_TOO_LONG: c_int = -11;
/// A reply with too many lines or bytes.
pub const FTP_ERR_REPLY_TOO_LONG: c_int = -12;
/// The call does not fit the state of the handle (not connected, TLS already on, ...).
pub const FTP_ERR_WRONG_STATE: c_int = -13;
/// A string cannot be encoded in the chosen encoding, or is not valid UTF-8.
pub const FTP_ERR_ENCODING: c_int = -14;
/// A required pointer argument was NULL.
pub const FTP_ERR_NULL_ARGUMENT: c_int = -15;
/// A callback returned non-zero or `ftp_cancel` was called: a transfer was aborted and the
/// connection is usable; a wait for a reply was cut and the connection closed
/// (`ftp_is_connected` tells which).
pub const FTP_ERR_STOPPED: c_int = -16;
/// The handle is already in a call (a callback called back into it, or two threads share it).
pub const FTP_ERR_BUSY: c_int = -17;
/// An internal panic was caught; the handle can only be freed.
pub const FTP_ERR_PANIC: c_int = -18;
/// A transfer ended early or with fewer bytes than announced.
pub const FTP_ERR_TRUNCATED: c_int = -19;
/// The server does not support what was asked (e.g. MLSD).
pub const FTP_ERR_UNSUPPORTED: c_int = -20;
/// The netrc file is unreadable, malformed, not private, or has no entry for the host.
pub const FTP_ERR_NETRC: c_int = -21;

/// The single mapping from the core's error to a status code.
pub(crate) fn code_of(error: &Error) -> c_int {
    match error {
        Error::Reply(_) => FTP_ERR_REPLY,
        Error::Temp(_) => FTP_ERR_TEMP,
        Error::Perm(_) => FTP_ERR_PERM,
        Error::Proto(_) => FTP_ERR_PROTO,
        Error::LineTooLong(_) => FTP_ERR_LINE_TOO_LONG,
        Error::ReplyTooLong(_) => FTP_ERR_REPLY_TOO_LONG,
        Error::Io { .. } => FTP_ERR_IO,
        Error::Eof(_) => FTP_ERR_EOF,
        Error::Timeout(_) => FTP_ERR_TIMEOUT,
        Error::Tls(_) => FTP_ERR_TLS,
        Error::Certificate(_) => FTP_ERR_CERTIFICATE,
        Error::InvalidArgument(_) => FTP_ERR_INVALID_ARGUMENT,
        Error::WrongState(_) => FTP_ERR_WRONG_STATE,
        Error::Encoding(_) => FTP_ERR_ENCODING,
        Error::Stopped | Error::Cancelled(_) => FTP_ERR_STOPPED,
        Error::Truncated(_) => FTP_ERR_TRUNCATED,
        Error::Unsupported(_) => FTP_ERR_UNSUPPORTED,
        Error::Netrc(_) => FTP_ERR_NETRC,
    }
}

/// A static, NUL-terminated description of a status code; never NULL, never to be freed.
#[no_mangle]
pub extern "C" fn ftp_strerror(code: c_int) -> *const c_char {
    let text: &'static [u8] = match code {
        FTP_OK => b"success\0",
        FTP_ERR_REPLY => b"unexpected reply from the server\0",
        FTP_ERR_TEMP => b"temporary failure reply (4xx)\0",
        FTP_ERR_PERM => b"permanent failure reply (5xx)\0",
        FTP_ERR_PROTO => b"protocol error: malformed reply\0",
        FTP_ERR_IO => b"I/O error\0",
        FTP_ERR_EOF => b"connection closed by the server\0",
        FTP_ERR_TIMEOUT => b"timed out\0",
        FTP_ERR_TLS => b"TLS error\0",
        FTP_ERR_CERTIFICATE => b"certificate verification failed\0",
        FTP_ERR_INVALID_ARGUMENT => b"invalid argument\0",
        FTP_ERR_LINE_TOO_LONG => b"line too long\0",
        FTP_ERR_REPLY_TOO_LONG => b"reply too long\0",
        FTP_ERR_WRONG_STATE => b"wrong state for this call\0",
        FTP_ERR_ENCODING => b"text cannot be encoded\0",
        FTP_ERR_NULL_ARGUMENT => b"NULL argument\0",
        FTP_ERR_STOPPED => b"stopped by a callback or ftp_cancel\0",
        FTP_ERR_BUSY => b"handle busy: already in a call\0",
        FTP_ERR_PANIC => b"internal panic\0",
        FTP_ERR_TRUNCATED => b"transfer truncated\0",
        FTP_ERR_UNSUPPORTED => b"not supported by the server\0",
        FTP_ERR_NETRC => b"netrc error\0",
        _ => b"unknown status code\0",
    };
    text.as_ptr().cast()
}
