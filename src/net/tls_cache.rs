//! One TLS context per distinct configuration, shared by the clients that use it.
//!
//! Building a context parses the CA certificates it trusts (the system store alone is
//! about 140): about 0.9 MiB and a few milliseconds per client, measured with 200 FTPS
//! sessions in one process (bench/multi.sh). Clients with the same options share one,
//! which OpenSSL allows across threads; it lives as long as one of them holds it.

use super::tls::{build_context, TlsConfig};
use crate::error::Result;
use openssl::ssl::SslContext;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

/// Contexts built, by the options they were built from.
static CONTEXTS: Mutex<Vec<(Vec<u8>, Weak<SslContext>)>> = Mutex::new(Vec::new());

/// The context for `config`: a live one built from the same options (and the same files,
/// unchanged on disk), or a new one.
pub(crate) fn shared_context(config: &TlsConfig) -> Result<Arc<SslContext>> {
    let key = key_of(config);
    let mut contexts = CONTEXTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    contexts.retain(|(_, weak)| weak.strong_count() > 0);
    if let Some(ctx) = contexts.iter().find(|(k, _)| *k == key).and_then(|(_, weak)| weak.upgrade()) {
        return Ok(ctx);
    }
    let ctx = Arc::new(build_context(config)?);
    contexts.push((key, Arc::downgrade(&ctx)));
    Ok(ctx)
}

/// Everything `build_context` reads, as bytes; a file by its path, size and modification
/// time, so that a file changed on disk makes a new context.
fn key_of(config: &TlsConfig) -> Vec<u8> {
    fn file(key: &mut Vec<u8>, path: Option<&Path>) {
        if let Some(path) = path {
            key.extend_from_slice(path.as_os_str().as_encoded_bytes());
            let meta = std::fs::metadata(path).ok();
            let stamp = meta
                .as_ref()
                .map(|m| (m.len(), m.modified().ok().and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())));
            key.extend_from_slice(format!("{stamp:?}").as_bytes());
        }
        key.push(0);
    }
    let mut key = format!("{}|{:?}|{:?}|", config.verify, config.min_version, config.max_version).into_bytes();
    file(&mut key, config.ca_file.as_deref());
    if let Some(dir) = &config.ca_dir {
        key.extend_from_slice(dir.as_os_str().as_encoded_bytes());
    }
    key.push(0);
    file(&mut key, config.cert_file.as_deref());
    file(&mut key, config.key_file.as_deref());
    for cert in &config.ca_certs {
        let der = cert.to_der().unwrap_or_default();
        key.extend_from_slice(&(der.len() as u64).to_be_bytes());
        key.extend_from_slice(&der);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_options_share_a_context_and_other_options_do_not() {
        let plain = TlsConfig::default();
        let a = shared_context(&plain).unwrap();
        let b = shared_context(&plain).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "the same options give the same context");
        let insecure = TlsConfig { verify: false, ..TlsConfig::default() };
        let c = shared_context(&insecure).unwrap();
        assert!(!Arc::ptr_eq(&a, &c), "other options, another context");
        // Once nobody holds it, it goes: the next client builds a new one.
        let first = Arc::as_ptr(&c);
        drop(c);
        let d = shared_context(&insecure).unwrap();
        assert!(Arc::strong_count(&d) == 1, "{first:?} was dropped, a new one was built");
    }

    #[test]
    fn a_changed_ca_file_makes_a_new_context() {
        let path = std::env::temp_dir().join(format!("ftpc-tls-cache-{}.pem", std::process::id()));
        std::fs::write(&path, b"").unwrap();
        let config = TlsConfig { ca_file: Some(path.clone()), ..TlsConfig::default() };
        let before = key_of(&config);
        std::fs::write(&path, b"-- a different length --").unwrap();
        let after = key_of(&config);
        std::fs::remove_file(&path).unwrap();
        assert_ne!(before, after);
    }
}
