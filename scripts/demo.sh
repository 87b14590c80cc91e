#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine as root (idempotent): installs what it needs,
# builds and installs the library under target/prefix, starts a real FTP server (vsftpd)
# on loopback, and runs examples-c/demo.c (built through pkg-config) against it: connect,
# login, welcome, mkd, rename, pwd, size, rmd, quit, each reply printed.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

scripts/setup.sh
export PATH=$HOME/.cargo/bin:$PATH
prefix=$repo/target/prefix
cargo cinstall --locked --profile dev --prefix "$prefix" --libdir lib >/dev/null
tests/servers/servers.sh start >/dev/null
trap 'tests/servers/servers.sh stop >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
source target/ftp-servers/env

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
mkdir -p target/demo
# shellcheck disable=SC2046 # pkg-config prints a list of flags
cc -std=c11 -Wall -Wextra -Wpedantic -Werror examples-c/demo.c $(pkg-config --cflags --libs ftpc) \
    -Wl,-rpath,"$prefix/lib" -o target/demo/demo
echo "---- demo against vsftpd on $FTPC_TEST_HOST:$FTPC_VSFTPD_PORT"
target/demo/demo "$FTPC_TEST_HOST" "$FTPC_VSFTPD_PORT" "$FTPC_TEST_USER" "$FTPC_TEST_PASS"
