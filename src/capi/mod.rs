//! The C ABI: argument checks, type conversions, panic catching and error mapping over the
//! core. Nothing here knows FTP.
#![allow(non_camel_case_types)]
// Exported functions take raw pointers by design and check them before use.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

// In the order of the header (cbindgen follows the order of these lines, which rustfmt
// keeps: `reorder_modules = false`): status codes, the client and its commands,
// transfers, listings, TLS, the walk and mirror, the multi handle.
mod status;
mod handle;
mod client;
mod transfer;
mod listing;
mod tls;
mod walk;
mod mirror;
mod multi;

pub use client::*;
pub use handle::ftp_client;
pub use listing::*;
pub use mirror::*;
pub use multi::*;
pub use status::*;
pub use tls::*;
pub use transfer::*;
pub use walk::*;

use std::ffi::c_char;

/// The version of this header. `ftp_version()` returns the library's at run time.
pub const FTPC_VERSION_MAJOR: u32 = 0;
pub const FTPC_VERSION_MINOR: u32 = 1;
pub const FTPC_VERSION_PATCH: u32 = 0;

/// The version of this header as one number, `(MAJOR << 16) | (MINOR << 8) | PATCH`, for
/// `#if FTPC_VERSION_NUMBER >= 0x000200`; `ftp_version_number()` gives the library's.
pub const FTPC_VERSION_NUMBER: u32 = (FTPC_VERSION_MAJOR << 16) | (FTPC_VERSION_MINOR << 8) | FTPC_VERSION_PATCH;

/// The library's version as "MAJOR.MINOR.PATCH", static, never NULL.
#[no_mangle]
pub extern "C" fn ftp_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The library's version as one number, as FTPC_VERSION_NUMBER: compare the two to tell
/// the library loaded at run time from the header compiled against.
#[no_mangle]
pub extern "C" fn ftp_version_number() -> u32 {
    let part = |text: &str| text.parse::<u32>().unwrap_or(0);
    (part(env!("CARGO_PKG_VERSION_MAJOR")) << 16)
        | (part(env!("CARGO_PKG_VERSION_MINOR")) << 8)
        | part(env!("CARGO_PKG_VERSION_PATCH"))
}

/// The version text of the OpenSSL the library runs on (e.g. "OpenSSL 3.0.17 1 Jul 2025"),
/// static, never NULL.
#[no_mangle]
pub extern "C" fn ftp_openssl_version() -> *const c_char {
    // SAFETY: OpenSSL returns a static string for this key.
    unsafe { openssl_sys::OpenSSL_version(openssl_sys::OPENSSL_VERSION) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constants_match_the_crate() {
        assert_eq!(FTPC_VERSION_MAJOR.to_string(), env!("CARGO_PKG_VERSION_MAJOR"));
        assert_eq!(FTPC_VERSION_MINOR.to_string(), env!("CARGO_PKG_VERSION_MINOR"));
        assert_eq!(FTPC_VERSION_PATCH.to_string(), env!("CARGO_PKG_VERSION_PATCH"));
        let v = unsafe { std::ffi::CStr::from_ptr(ftp_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        assert_eq!(ftp_version_number(), FTPC_VERSION_NUMBER);
        let ssl = unsafe { std::ffi::CStr::from_ptr(ftp_openssl_version()) };
        assert!(ssl.to_str().unwrap().starts_with("OpenSSL "), "{ssl:?}");
    }
}
