//! TLS through the system OpenSSL: the options, the context, the client handshake and the
//! bounded shutdown, for the control and the data connections alike. Knows nothing of FTP.

use super::stream::{clear_tls_errors, tls_want, wait_until, Deadline};
use crate::error::{Error, Result};
use openssl::ssl::{
    HandshakeError, ShutdownResult, ShutdownState, Ssl, SslContext, SslContextBuilder, SslFiletype, SslMethod,
    SslStream, SslVerifyMode, SslVersion,
};
use openssl::x509::verify::X509CheckFlags;
use openssl::x509::{X509VerifyResult, X509};
use std::net::{IpAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// How the control connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain FTP (ftplib's `FTP`).
    #[default]
    Off,
    /// AUTH TLS before login (ftplib's `FTP_TLS`).
    Explicit,
    /// TLS from the first byte (port 990 by default).
    Implicit,
}

/// TLS options. Verification is on by default, against the host name (or IP address) given
/// to `connect` and the CA certificates of `ca_file`, `ca_dir` and `ca_certs`; when none of
/// them is set, against the system CA store.
#[derive(Clone)]
pub struct TlsConfig {
    pub verify: bool,
    pub ca_file: Option<PathBuf>,
    pub ca_dir: Option<PathBuf>,
    /// CA certificates to trust, given in memory (`set_ca_pem`).
    pub ca_certs: Vec<X509>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// The lowest version accepted; TLS 1.2 when `None`.
    pub min_version: Option<SslVersion>,
    pub max_version: Option<SslVersion>,
    /// The caller's own context (ftplib's `context=`), used for the control and data
    /// connections instead of one built from the options above.
    pub context: Option<SslContext>,
}

impl Default for TlsConfig {
    fn default() -> TlsConfig {
        TlsConfig {
            verify: true,
            ca_file: None,
            ca_dir: None,
            ca_certs: Vec::new(),
            cert_file: None,
            key_file: None,
            min_version: None,
            max_version: None,
            context: None,
        }
    }
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("verify", &self.verify)
            .field("ca_file", &self.ca_file)
            .field("ca_dir", &self.ca_dir)
            .field("ca_certs", &self.ca_certs.len())
            .field("cert_file", &self.cert_file)
            .field("min_version", &self.min_version)
            .field("max_version", &self.max_version)
            .field("own_context", &self.context.is_some())
            .finish()
    }
}

pub(crate) fn tls_error(context: &str, e: impl std::fmt::Display) -> Error {
    Error::Tls(format!("{context}: {e}"))
}

pub(crate) fn build_context(config: &TlsConfig) -> Result<SslContext> {
    let err = |what: &str, e: openssl::error::ErrorStack| tls_error(what, e);
    let mut b = SslContextBuilder::new(SslMethod::tls_client()).map_err(|e| err("creating the TLS context", e))?;
    // The system store only when no CA is given, as curl's --cacert and Python's
    // create_default_context(cafile=...) do: parsing it (about 150 certificates) was most
    // of an FTPS connection's client CPU, for certificates a given CA makes unused.
    if config.ca_file.is_none() && config.ca_dir.is_none() && config.ca_certs.is_empty() {
        b.set_default_verify_paths().map_err(|e| err("loading the system CA store", e))?;
    }
    if let Some(file) = &config.ca_file {
        b.set_ca_file(file).map_err(|e| err(&format!("loading CA file {}", file.display()), e))?;
    }
    if let Some(dir) = &config.ca_dir {
        b.load_verify_locations(None, Some(dir))
            .map_err(|e| err(&format!("loading CA directory {}", dir.display()), e))?;
    }
    for cert in &config.ca_certs {
        b.cert_store_mut().add_cert(cert.clone()).map_err(|e| err("adding a CA certificate", e))?;
    }
    if let Some(cert) = &config.cert_file {
        load_client_cert(&mut b, cert, config.key_file.as_deref())?;
    }
    b.set_verify(if config.verify { SslVerifyMode::PEER } else { SslVerifyMode::NONE });
    b.set_min_proto_version(Some(config.min_version.unwrap_or(SslVersion::TLS1_2)))
        .map_err(|e| err("setting the minimum TLS version", e))?;
    b.set_max_proto_version(config.max_version).map_err(|e| err("setting the maximum TLS version", e))?;
    Ok(b.build())
}

/// The client certificate chain and its key (in `cert` when `key` is `None`), which must match.
fn load_client_cert(b: &mut SslContextBuilder, cert: &Path, key: Option<&Path>) -> Result<()> {
    let err = |what: &str, e: openssl::error::ErrorStack| tls_error(what, e);
    b.set_certificate_chain_file(cert)
        .map_err(|e| err(&format!("loading client certificate {}", cert.display()), e))?;
    let key = key.unwrap_or(cert);
    b.set_private_key_file(key, SslFiletype::PEM)
        .map_err(|e| err(&format!("loading client key {}", key.display()), e))?;
    b.check_private_key()
        .map_err(|e| err(&format!("client key {} does not match the certificate {}", key.display(), cert.display()), e))
}

impl TlsConfig {
    /// Trusts the CA certificates of the PEM file `path` (with `ca_dir` and `ca_certs`, and
    /// instead of the system store, which is used only when none of the three is set); `None`
    /// removes it. The file is read now: one that cannot be read or holds no certificate is
    /// `Tls` naming the path, and leaves the setting as it was. (Setting the field directly
    /// skips the check; the file is then read at the handshake.)
    pub fn set_ca_file(&mut self, path: Option<&Path>) -> Result<()> {
        if let Some(path) = path {
            let loading = |e: &dyn std::fmt::Display| tls_error(&format!("loading CA file {}", path.display()), e);
            let pem = std::fs::read(path).map_err(|e| loading(&e))?;
            let certs = X509::stack_from_pem(&pem).map_err(|e| loading(&e))?;
            if certs.is_empty() {
                return Err(loading(&"no PEM certificate in it"));
            }
        }
        self.ca_file = path.map(Path::to_path_buf);
        Ok(())
    }

    /// Trusts the hashed CA certificates (c_rehash) of the directory `path`; `None` removes
    /// it. A path that is not a readable directory is `Tls` naming it, and leaves the
    /// setting as it was. Its certificates are read when a handshake needs them.
    pub fn set_ca_dir(&mut self, path: Option<&Path>) -> Result<()> {
        if let Some(path) = path {
            std::fs::read_dir(path).map_err(|e| tls_error(&format!("loading CA directory {}", path.display()), e))?;
        }
        self.ca_dir = path.map(Path::to_path_buf);
        Ok(())
    }

    /// The client certificate chain (PEM) and its key (PEM; `None`: in the certificate
    /// file), loaded now; `None` for `cert` removes both. A file that cannot be loaded, or a
    /// key that does not match, is `Tls` naming the path, and leaves the setting as it was.
    pub fn set_client_cert(&mut self, cert: Option<&Path>, key: Option<&Path>) -> Result<()> {
        if let Some(cert) = cert {
            let mut b = SslContextBuilder::new(SslMethod::tls_client())
                .map_err(|e| tls_error("creating the TLS context", e))?;
            load_client_cert(&mut b, cert, key)?;
        }
        self.cert_file = cert.map(Path::to_path_buf);
        self.key_file = cert.and(key).map(Path::to_path_buf);
        Ok(())
    }

    /// Trusts the CA certificates of a PEM text (one or more), with `ca_file` and `ca_dir`
    /// and instead of the system store (see `set_ca_file`); `None` removes them. A text
    /// that does not parse is `Tls`, one without a certificate `InvalidArgument`; either
    /// leaves the certificates as they were.
    pub fn set_ca_pem(&mut self, pem: Option<&[u8]>) -> Result<()> {
        let certs = match pem {
            None => Vec::new(),
            Some(pem) => X509::stack_from_pem(pem).map_err(|e| tls_error("reading CA certificates from PEM", e))?,
        };
        if pem.is_some() && certs.is_empty() {
            return Err(Error::InvalidArgument("the PEM text holds no certificate".into()));
        }
        self.ca_certs = certs;
        Ok(())
    }
}

/// The client side of a TLS handshake on a non-blocking socket (or one with short socket
/// timeouts), within `wait`; a cancel request ends it (`Cancelled`). `what` names the
/// connection in errors.
pub(crate) fn connect(
    ssl: Ssl,
    tcp: TcpStream,
    wait: Duration,
    stop: &AtomicBool,
    what: &'static str,
) -> Result<SslStream<TcpStream>> {
    let deadline = Deadline::after(wait, "during the TLS handshake");
    let fd = tcp.as_raw_fd();
    clear_tls_errors();
    let mut step = ssl.connect(tcp);
    while let Err(HandshakeError::WouldBlock(mid)) = step {
        let want = tls_want(mid.error()).unwrap_or(libc::POLLIN);
        // On an error the unfinished handshake is dropped: no session of it is kept.
        wait_until(fd, want, deadline, stop)?;
        clear_tls_errors();
        step = mid.handshake();
    }
    match step {
        Ok(stream) => Ok(stream),
        Err(HandshakeError::Failure(mid)) => {
            let verify = mid.ssl().verify_result();
            // OpenSSL records a verify result even when it was told not to act on it.
            let verifying = mid.ssl().verify_mode().contains(SslVerifyMode::PEER);
            if verifying && verify != X509VerifyResult::OK {
                Err(Error::Certificate(format!("{} ({what}: {})", verify.error_string(), mid.error())))
            } else {
                Err(tls_error(&format!("TLS handshake failed ({what})"), mid.error()))
            }
        }
        Err(HandshakeError::WouldBlock(_)) => unreachable!("the loop above waits these out"),
        Err(HandshakeError::SetupFailure(e)) => Err(tls_error("TLS setup failed", e)),
    }
}

/// A new TLS object for `host` (a name or an IP address, `[v6]` brackets allowed): SNI and
/// host name (or IP) verification set, and the version limits of `config`.
pub(crate) fn new_ssl(ctx: &SslContext, host: &str, config: &TlsConfig) -> Result<Ssl> {
    let mut ssl = Ssl::new(ctx).map_err(|e| tls_error("creating a TLS connection", e))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => ssl.param_mut().set_ip(ip).map_err(|e| tls_error("setting the IP to verify", e))?,
        Err(_) => {
            ssl.set_hostname(host).map_err(|e| tls_error("setting SNI", e))?;
            ssl.param_mut().set_hostflags(X509CheckFlags::NO_PARTIAL_WILDCARDS);
            ssl.param_mut().set_host(host).map_err(|e| tls_error("setting the host to verify", e))?;
        }
    }
    if let Some(v) = config.min_version {
        ssl.set_min_proto_version(Some(v)).map_err(|e| tls_error("setting the minimum TLS version", e))?;
    }
    if let Some(v) = config.max_version {
        ssl.set_max_proto_version(Some(v)).map_err(|e| tls_error("setting the maximum TLS version", e))?;
    }
    Ok(ssl)
}

extern "C" {
    // In libssl since 0.9.x; openssl-sys binds only the context-wide form.
    fn SSL_set_read_ahead(ssl: *mut openssl_sys::SSL, yes: libc::c_int);
    // In libssl since 1.1.0; not bound by openssl-sys.
    fn SSL_has_pending(ssl: *const openssl_sys::SSL) -> libc::c_int;
}

/// Lets OpenSSL read as much as the socket holds rather than one record header and body at
/// a time: half the read calls on a download (vsftpd FTPS, 5 alternating runs of 256 MiB:
/// median 481 -> 602 MB/s). Only for data connections: on the control connection, bytes
/// read ahead past a close_notify (CCC) would be lost to the clear-text replies after it.
pub(crate) fn set_read_ahead(ssl: &mut Ssl) {
    // SAFETY: a live SSL object of ours; the call only sets a flag on it.
    unsafe { SSL_set_read_ahead(foreign_types::ForeignTypeRef::as_ptr(&**ssl), 1) };
}

/// Sends close_notify and waits at most `wait` for the peer's; servers that never send it
/// must not hang the client. A cancel request ends the wait (the shutdown is only a courtesy).
pub(crate) fn shutdown_tls(tls: &mut SslStream<TcpStream>, wait: Duration, stop: &AtomicBool) {
    let deadline = Deadline::after(wait, "closing TLS");
    let fd = tls.get_ref().as_raw_fd();
    loop {
        clear_tls_errors();
        match tls.shutdown() {
            Ok(ShutdownResult::Received) => return,
            // Ours is out; the next call waits for theirs.
            Ok(ShutdownResult::Sent) => {}
            Err(e) => match tls_want(&e).map(|want| wait_until(fd, want, deadline, stop)) {
                Some(Ok(())) => {}
                Some(Err(Error::Cancelled(_))) => {
                    // The request was for the whole call, not for this courtesy: leave it
                    // for the wait that follows (the final reply), which it then ends.
                    stop.store(true, std::sync::atomic::Ordering::Release);
                    return;
                }
                _ => return,
            },
        }
    }
}

/// Whether a TLS stream ended with the peer's close_notify.
pub(crate) fn received_close_notify(tls: &mut SslStream<TcpStream>) -> bool {
    tls.get_shutdown().contains(ShutdownState::RECEIVED)
}

/// Whether OpenSSL holds bytes of a record it could not complete: after the end of the
/// stream, the connection was cut in the middle of a record (no server ends one there).
/// SslStream::read reports that end as Ok(0), like a clean one (rust-openssl issue 1803).
pub(crate) fn ended_inside_a_record(tls: &SslStream<TcpStream>) -> bool {
    // SAFETY: a live SSL object of ours; SSL_has_pending only reads its buffers.
    unsafe { SSL_has_pending(foreign_types::ForeignTypeRef::as_ptr(tls.ssl())) == 1 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::{X509NameBuilder, X509};

    fn self_signed(name: &str) -> X509 {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut subject = X509NameBuilder::new().unwrap();
        subject.append_entry_by_nid(Nid::COMMONNAME, name).unwrap();
        let subject = subject.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&subject).unwrap();
        b.set_issuer_name(&subject).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        b.build()
    }

    fn trusted(config: &TlsConfig) -> Vec<Vec<u8>> {
        let ctx = build_context(config).unwrap();
        let mut der: Vec<Vec<u8>> = ctx.cert_store().all_certificates().iter().map(|c| c.to_der().unwrap()).collect();
        der.sort();
        der
    }

    #[test]
    fn a_given_ca_is_trusted_instead_of_the_system_store() {
        let (one, two) = (self_signed("ftpc test CA one"), self_signed("ftpc test CA two"));
        let file = std::env::temp_dir().join(format!("ftpc-tls-unit-ca-{}.pem", std::process::id()));
        std::fs::write(&file, [one.to_pem().unwrap(), two.to_pem().unwrap()].concat()).unwrap();
        let mut both = vec![one.to_der().unwrap(), two.to_der().unwrap()];
        both.sort();

        let from_file = TlsConfig { ca_file: Some(file.clone()), ..TlsConfig::default() };
        let from_memory = TlsConfig { ca_certs: vec![one.clone(), two.clone()], ..TlsConfig::default() };
        let (from_file, from_memory) = (trusted(&from_file), trusted(&from_memory));
        std::fs::remove_file(&file).unwrap();
        // Exactly the given certificates: not one of the system store's is parsed.
        assert!(from_file == both, "{} certificates trusted, not the 2 of the file", from_file.len());
        assert!(from_memory == both, "{} certificates trusted, not the 2 given", from_memory.len());
        // A directory is looked up when a handshake needs it: nothing is loaded up front.
        let dir = TlsConfig { ca_dir: Some(std::env::temp_dir()), ..TlsConfig::default() };
        assert_eq!(trusted(&dir).len(), 0);
    }
}
