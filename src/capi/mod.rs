//! The C ABI: argument checks, type conversions, panic catching and error mapping over the
//! core. Nothing here knows FTP.
#![allow(non_camel_case_types)]
// Exported functions take raw pointers by design and check them before use.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod client;
mod handle;
mod listing;
mod status;
mod tls;
mod transfer;

pub use client::*;
pub use handle::ftp_client;
pub use listing::*;
pub use status::*;
pub use tls::*;
pub use transfer::*;

use std::ffi::c_char;

/// The version of this header. `ftp_version()` returns the library's at run time.
pub const FTPC_VERSION_MAJOR: u32 = 0;
pub const FTPC_VERSION_MINOR: u32 = 1;
pub const FTPC_VERSION_PATCH: u32 = 0;

/// The library's version as "MAJOR.MINOR.PATCH", static, never NULL.
#[no_mangle]
pub extern "C" fn ftp_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
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
    }
}
