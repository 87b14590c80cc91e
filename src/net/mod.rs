//! Sockets and TLS: TCP with deadlines, the control connection (send a line, read a reply),
//! data connections, OpenSSL. Each part takes what it needs as arguments, never the client.

pub(crate) mod control;
pub(crate) mod data;
pub(crate) mod fdcopy;
pub(crate) mod stream;
pub mod task;
pub mod tls;
pub(crate) mod tls_cache;
pub(crate) mod tls_probe;

/// Whether `FTPC_PORTABLE_IO=1` was set when the process first asked: the Linux fast paths
/// (splice, sendfile, SO_RCVLOWAT) are then left aside, so that the portable ones can be
/// tested on Linux.
pub(crate) fn portable_io() -> bool {
    static PORTABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PORTABLE.get_or_init(|| std::env::var_os("FTPC_PORTABLE_IO").is_some_and(|v| v == "1"))
}
