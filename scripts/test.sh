#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine as root (idempotent):
# installs what it needs, starts the real FTP servers on loopback, runs the gates (rustfmt,
# clippy and rustdoc with warnings denied) and the Rust tests (unit, scripted server, real
# servers; the fault-proxy tests once more through the non-blocking path, the transfer
# tests once more through the portable I/O paths), type-checks the library for macOS and
# FreeBSD (scripts/check-targets.sh), installs the C library with cargo-c (`cargo cinstall`), checks the header, the exported symbols and the pkg-config
# file, then builds and runs the C tests and examples
# (C and C++, shared and static, plain, ASan+UBSan and valgrind), the bindings (Python and
# Ruby from their installed package and gem) and the packaging (scripts/test-packaging.sh:
# pkg-config, CMake, Meson, the Go module from outside the tree).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CARGO_TERM_COLOR=never

step() { printf '\n==== %s\n' "$*"; }

step "setup"
scripts/setup.sh
export PATH=$HOME/.cargo/bin:$PATH

step "servers"
tests/servers/servers.sh start
trap 'tests/servers/servers.sh stop >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
source target/ftp-servers/env

step "header"
scripts/check-header.sh

step "gates: rustfmt, module cycles, clippy, rustdoc (what any developer runs without servers)"
# --all/--workspace: the library and the command-line client (cli/).
cargo fmt --all --check
scripts/check-modules.py
cargo clippy --locked --workspace --all-targets -- -D warnings 2>&1
RUSTDOCFLAGS="-D warnings" cargo doc --locked --workspace --no-deps 2>&1

step "Rust tests"
# With the servers up, a real-server test that finds no env file fails instead of skipping.
FTPC_REQUIRE_SERVERS=1 cargo test --locked --workspace --all-targets 2>&1

step "Rust fault-proxy tests once more through the non-blocking path (FTPC_TEST_VIA=multi: each call under test is an operation of a Multi)"
FTPC_TEST_VIA=multi FTPC_REQUIRE_SERVERS=1 cargo test --locked --test faults_real 2>&1

step "Rust transfer tests once more through the portable paths (FTPC_PORTABLE_IO=1: no splice, sendfile, SO_RCVLOWAT)"
FTPC_PORTABLE_IO=1 FTPC_REQUIRE_SERVERS=1 cargo test --locked --test portable_io_scripted --test transfer_scripted \
    --test issue11_scripted --test real_transfers 2>&1

step "type-check for macOS (x86_64, aarch64) and FreeBSD (skipped, saying why, without a toolchain for it)"
scripts/check-targets.sh

step "short fuzz run (stable toolchain, 5 s per target)"
scripts/fuzz-short.sh 5

step "install to target/prefix (cargo cinstall, dev profile)"
# A fresh prefix: installed into a staging directory (DESTDIR), then swapped in, so that
# nothing from an earlier install or layout survives and a program already using the old
# prefix is not left without files while the library builds.
prefix=$repo/target/prefix
rm -rf "$prefix.staging" "$prefix.old"
cargo cinstall --locked --profile dev --prefix "$prefix" --libdir lib --destdir "$prefix.staging"
if [ -e "$prefix" ]; then mv "$prefix" "$prefix.old"; fi
mv "$prefix.staging$prefix" "$prefix"
rm -rf "$prefix.staging" "$prefix.old"
scripts/check-symbols.sh "$prefix/lib"

step "C tests"
tests/c/run.sh "$repo/target/prefix"

step "bindings (Go, Ruby, Python, Clang module)"
scripts/test-bindings.sh "$repo/target/prefix"

step "packaging (pkg-config shared and static, CMake, Meson, Go module outside the tree)"
scripts/test-packaging.sh "$repo/target/prefix"

step "all tests passed"
