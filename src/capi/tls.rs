//! Exported FTPS functions: AUTH, PROT, CCC, and the TLS options.

use super::handle::{deref_slice, ftp_client, optional, run, with_client, Fail};
use super::status::{FTP_ERR_INVALID_ARGUMENT, FTP_ERR_TLS};
use super::transfer::local_path;
use crate::TlsMode;
use openssl::ssl::{SslContext, SslVersion};
use std::ffi::{c_char, c_int};

/// TLS modes for `ftp_set_tls_mode`.
pub const FTP_TLS_OFF: c_int = 0;
/// AUTH TLS on the control connection before login (ftplib's `FTP_TLS`).
pub const FTP_TLS_EXPLICIT: c_int = 1;
/// TLS from the first byte; port 0 in `ftp_connect` then means 990.
pub const FTP_TLS_IMPLICIT: c_int = 2;

/// TLS versions for `ftp_set_tls_min_version` / `ftp_set_tls_max_version`.
pub const FTP_TLS_VERSION_DEFAULT: c_int = 0;
pub const FTP_TLS_VERSION_1_2: c_int = 12;
pub const FTP_TLS_VERSION_1_3: c_int = 13;

/// Chooses plain FTP, explicit FTPS or implicit FTPS for the next `ftp_connect`
/// (FTP_TLS_OFF, FTP_TLS_EXPLICIT, FTP_TLS_IMPLICIT). `ftp_tls_new` starts in explicit mode.
/// A mode that does not fit the port makes `ftp_connect` say which one does (in
/// `ftp_last_error`, after a probe of at most 0.5 s): plain or explicit on an implicit-FTPS
/// port waits for a greeting that never comes, then FTP_ERR_TIMEOUT says the server expects
/// implicit FTPS when the port answers a TLS ClientHello; implicit on a plain or
/// explicit-FTPS port gives FTP_ERR_TLS saying the server sent a plain-text FTP greeting.
#[no_mangle]
pub extern "C" fn ftp_set_tls_mode(client: *mut ftp_client, mode: c_int) -> c_int {
    with_client(client, |inner| {
        inner.client.config_mut().tls_mode = match mode {
            FTP_TLS_OFF => TlsMode::Off,
            FTP_TLS_EXPLICIT => TlsMode::Explicit,
            FTP_TLS_IMPLICIT => TlsMode::Implicit,
            other => return Err(Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("unknown TLS mode {other}"))),
        };
        Ok(())
    })
}

/// ftplib's `auth`: AUTH TLS and the handshake on the control connection, verifying the
/// certificate and host name. FTP_ERR_WRONG_STATE when TLS is already on; FTP_ERR_TLS when the
/// server refuses AUTH (the connection is then closed: nothing goes on in clear text), sends
/// data after its 234 reply, or the handshake fails; FTP_ERR_CERTIFICATE when verification fails.
#[no_mangle]
pub extern "C" fn ftp_auth(client: *mut ftp_client) -> c_int {
    run(client, |c| c.auth())
}

/// PBSZ 0 then PROT P: data connections use TLS, resuming the control connection's session.
#[no_mangle]
pub extern "C" fn ftp_prot_p(client: *mut ftp_client) -> c_int {
    run(client, |c| c.prot_p())
}

/// PROT C: data connections in clear text. Called before `ftp_login` on a TLS handle, it
/// keeps login from switching to PROT P.
#[no_mangle]
pub extern "C" fn ftp_prot_c(client: *mut ftp_client) -> c_int {
    run(client, |c| c.prot_c())
}

/// CCC: shuts TLS down on the control connection, which goes on in clear text on the same
/// TCP connection. FTP_ERR_WRONG_STATE when the control connection is not TLS.
#[no_mangle]
pub extern "C" fn ftp_ccc(client: *mut ftp_client) -> c_int {
    run(client, |c| c.ccc())
}

/// 1 when the control connection is TLS, 0 when not (or NULL/busy `client`).
#[no_mangle]
pub extern "C" fn ftp_is_tls(client: *const ftp_client) -> c_int {
    super::handle::peek(client, |inner| c_int::from(inner.client.is_tls())).unwrap_or(0)
}

/// Certificate and host name verification: on (non-zero, the default) or off (0). Turning
/// it off is an explicit choice, reported in the debug trace at level 1 at each handshake.
#[no_mangle]
pub extern "C" fn ftp_set_tls_verify(client: *mut ftp_client, verify: c_int) -> c_int {
    tls_option(client, |tls| {
        tls.verify = verify != 0;
        Ok(())
    })
}

/// A PEM file of CA certificates to trust; NULL removes it. The system store is used only
/// while no CA file, CA directory or PEM CA is set: setting one trusts it instead.
/// The file is read now: one that cannot be read or holds no PEM certificate is
/// FTP_ERR_TLS, with the path in `ftp_last_error`, and the previous setting stays.
#[no_mangle]
pub extern "C" fn ftp_set_tls_ca_file(client: *mut ftp_client, path: *const c_char) -> c_int {
    tls_option(client, |tls| {
        let path = optional(path).map(|_| local_path(path, "path")).transpose()?;
        tls.set_ca_file(path.as_deref())?;
        Ok(())
    })
}

/// CA certificates to trust, from memory (instead of the system store, as
/// `ftp_set_tls_ca_file`): `len` bytes of PEM at `pem` (one or more certificates; no NUL
/// needed). NULL `pem` removes them. A text with no certificate is
/// FTP_ERR_INVALID_ARGUMENT, one that does not parse FTP_ERR_TLS.
#[no_mangle]
pub extern "C" fn ftp_set_tls_ca_pem(client: *mut ftp_client, pem: *const c_char, len: usize) -> c_int {
    tls_option(client, |tls| {
        let pem = if pem.is_null() {
            None
        } else {
            match deref_slice(pem.cast::<u8>(), len) {
                Some(bytes) if !bytes.is_empty() => Some(bytes),
                _ => return Err(Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("PEM length {len}"))),
            }
        };
        tls.set_ca_pem(pem)?;
        Ok(())
    })
}

/// A directory of hashed CA certificates (c_rehash) to trust, instead of the system store
/// (as `ftp_set_tls_ca_file`); NULL removes it. A path that is not a readable directory is
/// FTP_ERR_TLS, with the path in `ftp_last_error`, and the previous setting stays; the
/// certificates in it are read when a handshake needs them.
#[no_mangle]
pub extern "C" fn ftp_set_tls_ca_dir(client: *mut ftp_client, path: *const c_char) -> c_int {
    tls_option(client, |tls| {
        let path = optional(path).map(|_| local_path(path, "path")).transpose()?;
        tls.set_ca_dir(path.as_deref())?;
        Ok(())
    })
}

/// A client certificate chain (PEM) and its key (PEM; NULL: the key is in `cert_file`);
/// NULL `cert_file` removes them. Both are loaded now: a file that cannot be read or
/// parsed, or a key that does not match the certificate, is FTP_ERR_TLS, with the path in
/// `ftp_last_error`, and the previous setting stays.
#[no_mangle]
pub extern "C" fn ftp_set_tls_client_cert(
    client: *mut ftp_client,
    cert_file: *const c_char,
    key_file: *const c_char,
) -> c_int {
    tls_option(client, |tls| {
        let cert = optional(cert_file).map(|_| local_path(cert_file, "cert_file")).transpose()?;
        let key = optional(key_file).map(|_| local_path(key_file, "key_file")).transpose()?;
        tls.set_client_cert(cert.as_deref(), key.as_deref())?;
        Ok(())
    })
}

fn version_arg(version: c_int) -> Result<Option<SslVersion>, Fail> {
    match version {
        FTP_TLS_VERSION_DEFAULT => Ok(None),
        FTP_TLS_VERSION_1_2 => Ok(Some(SslVersion::TLS1_2)),
        FTP_TLS_VERSION_1_3 => Ok(Some(SslVersion::TLS1_3)),
        other => Err(Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("unknown TLS version {other} (use 12 or 13)"))),
    }
}

/// The lowest TLS version accepted: FTP_TLS_VERSION_1_2 (the default) or _1_3.
#[no_mangle]
pub extern "C" fn ftp_set_tls_min_version(client: *mut ftp_client, version: c_int) -> c_int {
    tls_option(client, |tls| {
        tls.min_version = version_arg(version)?;
        Ok(())
    })
}

/// The highest TLS version offered: FTP_TLS_VERSION_DEFAULT (the newest), _1_2 or _1_3.
#[no_mangle]
pub extern "C" fn ftp_set_tls_max_version(client: *mut ftp_client, version: c_int) -> c_int {
    tls_option(client, |tls| {
        tls.max_version = version_arg(version)?;
        Ok(())
    })
}

/// Uses the caller's own OpenSSL context (ftplib's `context=`) for the control and data
/// connections instead of one built from the options above; its verification settings
/// apply, and the host name given to `ftp_connect` is checked when it verifies peers. The
/// library takes its own reference (SSL_CTX_up_ref): the caller keeps theirs and may free it
/// at any time. NULL goes back to the library's own context.
#[no_mangle]
pub extern "C" fn ftp_set_ssl_ctx(client: *mut ftp_client, ctx: *mut openssl_sys::SSL_CTX) -> c_int {
    tls_option(client, |tls| {
        tls.context = if ctx.is_null() {
            None
        } else {
            // SAFETY: the caller passes a live SSL_CTX; our reference keeps it alive after
            // theirs is released, and SslContext releases ours on drop.
            unsafe {
                if openssl_sys::SSL_CTX_up_ref(ctx) != 1 {
                    return Err(Fail::Status(FTP_ERR_TLS, "SSL_CTX_up_ref failed".into()));
                }
                Some(<SslContext as foreign_types::ForeignType>::from_ptr(ctx))
            }
        };
        Ok(())
    })
}

/// Applies a TLS option; the context is rebuilt at the next handshake.
fn tls_option(client: *mut ftp_client, set: impl FnOnce(&mut crate::TlsConfig) -> Result<(), Fail>) -> c_int {
    // config_mut drops the built context.
    with_client(client, |inner| set(&mut inner.client.config_mut().tls))
}
