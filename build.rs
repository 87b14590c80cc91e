//! Build script for ftpc: ELF shared-library naming.
//!
//! Sets the cdylib's SONAME: `libftpc.so.<major>` once the major version is
//! above 0, and `libftpc.so.0.<minor>` while it is 0 (under semver every 0.x
//! minor release may break the ABI). `scripts/install.sh` installs the real
//! file as `libftpc.so.<major>.<minor>.<patch>` with the SONAME and
//! `libftpc.so` as symlinks.
//!
//! Exported symbols: rustc already links every cdylib with its own version
//! script that makes everything local except `#[no_mangle]`/`#[export_name]`
//! items, so the C API (`ftp_*`) is all that is exported as long as the crate
//! defines no other `#[no_mangle]` item. A second version script of our own
//! cannot tighten that: with rust-lld (the default linker for
//! x86_64-unknown-linux-gnu) rustc's exact `global:` names win over any
//! `local: *` wildcard, and GNU ld (the default on other Linux targets, or
//! with `-Clinker-features=-lld`) refuses to link at all ("anonymous version
//! tag cannot be combined with other version tags"). The rule is enforced
//! instead by `scripts/check-symbols.sh`, which fails on any exported symbol
//! not starting with `ftp_`.
//!
//! Dependency-free and cheap on purpose: it only prints link arguments.
//! Only the cdylib is affected (`rustc-cdylib-link-arg`); the rlib, the
//! staticlib, tests and examples are linked as usual.

use std::env;

/// Target OSes whose linkers are ELF linkers that understand `-soname`.
const ELF_OSES: &[&str] = &["linux", "android", "freebsd", "netbsd", "openbsd", "dragonfly"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");

    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if !ELF_OSES.contains(&target_os.as_str()) {
        return;
    }

    let name = env::var("CARGO_PKG_NAME").expect("CARGO_PKG_NAME");
    let major: u64 =
        env::var("CARGO_PKG_VERSION_MAJOR").expect("CARGO_PKG_VERSION_MAJOR").parse().expect("numeric major version");
    let minor: u64 =
        env::var("CARGO_PKG_VERSION_MINOR").expect("CARGO_PKG_VERSION_MINOR").parse().expect("numeric minor version");

    let soname = if major > 0 { format!("lib{name}.so.{major}") } else { format!("lib{name}.so.0.{minor}") };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
}
