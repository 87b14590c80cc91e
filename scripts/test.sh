#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine as root (idempotent):
# installs what it needs, starts the real FTP servers on loopback, runs the Rust tests
# (unit, scripted server, real servers), checks the header, the exported symbols and
# the pkg-config file, then builds and runs the C tests and examples (C and C++, shared
# and static, plain, ASan+UBSan and valgrind).
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

step "Rust tests"
cargo test --locked --all-targets 2>&1

step "short fuzz run (stable toolchain, 5 s per target)"
scripts/fuzz-short.sh 5

step "install to target/prefix"
scripts/install.sh --prefix "$repo/target/prefix" --profile dev --no-ldconfig
scripts/check-symbols.sh "$repo/target/prefix/lib"

step "C tests"
tests/c/run.sh "$repo/target/prefix"

step "bindings (Go, Ruby, Python, Clang module)"
scripts/test-bindings.sh "$repo/target/prefix"

step "all tests passed"
