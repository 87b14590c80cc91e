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
