#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine as root (idempotent): installs what it needs,
# builds and installs the library and the `ftpc` command under target/prefix, starts the
# test servers on loopback, and moves a file through the command-line client while saying
# what it does:
#   1. upload an 8 MiB file to ProFTPD (a progress bar when run on a terminal),
#   2. list the directory: parsed entries, long and as JSON (MLSD facts),
#   3. download it back and compare SHA-256,
#   4. resume a cut download (REST from where the local copy ends) and compare again,
#   5. the same over explicit FTPS (AUTH TLS, PROT P) with the server's certificate
#      verified against the test CA, and refused without it,
# then one session from C through the installed library (examples-c/demo.c).
#
# Environment: FTPC_SERVERS_PORT_OFFSET moves the servers' ports (see servers.sh).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

scripts/setup.sh
export PATH=$HOME/.cargo/bin:$PATH
prefix=$repo/target/prefix
echo "---- building and installing the library and ftpc into $prefix (a few minutes the first time)"
# cargo-c has no --quiet: its output is shown only when it fails.
log=$(mktemp)
cargo cinstall --locked --profile dev --prefix "$prefix" --libdir lib >"$log" 2>&1 || { cat "$log"; exit 1; }
rm -f "$log"
# The workspace's own target directory: what the tests built is reused.
cargo install --quiet --locked --debug --path cli --root "$prefix" --target-dir "$repo/target"
tests/servers/servers.sh start >/dev/null
trap '"$repo"/tests/servers/servers.sh stop >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
source target/ftp-servers/env

ftpc=$prefix/bin/ftpc
work=$repo/target/demo
rm -rf "$work"
mkdir -p "$work"
cd "$work"

host=$FTPC_TEST_HOST
plain="ftp://$FTPC_TEST_USER:$FTPC_TEST_PASS@$host:$FTPC_PROFTPD_PORT"
tls="ftp://$FTPC_TEST_USER:$FTPC_TEST_PASS@$host:$FTPC_PROFTPD_TLS_PORT"
dir=demo-$$

say() { printf '\n==== %s\n' "$*"; }
# Shows a command line (the password masked).
show() {
    local shown="ftpc $*"
    printf '$ %s\n' "${shown//:$FTPC_TEST_PASS@/:****@}"
}
# Shows the command, then runs it.
run() {
    show "$@"
    "$ftpc" "$@"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
same() { # A B: says whether the two files have the same SHA-256, fails if not
    local a b
    a=$(sha "$1")
    b=$(sha "$2")
    printf '   sha256 %s  %s\n   sha256 %s  %s\n' "$a" "$1" "$b" "$2"
    if [ "$a" != "$b" ]; then echo "   DIFFERENT"; exit 1; fi
    echo "   identical"
}

head -c $((8 << 20)) /dev/urandom >demo.bin

say "1. upload a file to ProFTPD on $host:$FTPC_PROFTPD_PORT (plain FTP; a progress bar on a terminal, none in a pipe)"
run mkdir "$plain/$dir"
run put demo.bin "$plain/$dir/"

say "2. list the directory: entries parsed from MLSD (type, mode, size, time in UTC)"
run ls -l "$plain/$dir/"
echo "   and as JSON, every fact the server gave:"
show ls --json "$plain/$dir/"
"$ftpc" ls --json "$plain/$dir/" | python3 -m json.tool | sed 's/^/   /'

say "3. download it back and compare"
run get "$plain/$dir/demo.bin" back.bin
same demo.bin back.bin

say "4. resume a cut download: the local copy ends at 3000000 bytes, get -c asks for the rest (REST)"
head -c 3000000 demo.bin >cut.bin
show --debug get -c "$plain/$dir/demo.bin" cut.bin
"$ftpc" --debug get -c "$plain/$dir/demo.bin" cut.bin 2>&1 | grep -E '\*cmd\* "(SIZE|REST|RETR)|\*resp\* "(350|150|226)' | sed 's/^/   /'
same demo.bin cut.bin

say "5. the same over explicit FTPS on $host:$FTPC_PROFTPD_TLS_PORT, the certificate verified against the test CA"
echo "   without the CA the certificate is refused (exit status 5):"
show --explicit-tls ls "$tls/"
set +e
"$ftpc" --explicit-tls ls "$tls/" 2>&1 | sed 's/^/   /'
status=${PIPESTATUS[0]}
set -e
echo "   exit status $status"
[ "$status" = 5 ] || { echo "   expected 5"; exit 1; }
echo "   with --cafile (the trace shows AUTH TLS and PROT P; the password is masked):"
show --explicit-tls --cafile "$FTPC_TEST_CA" --debug mkdir "$tls/$dir"
"$ftpc" --explicit-tls --cafile "$FTPC_TEST_CA" --debug mkdir "$tls/$dir" 2>&1 |
    grep -E '\*cmd\* "(AUTH|USER|PASS|PBSZ|PROT|MKD)' | sed 's/^/   /'
run --explicit-tls --cafile "$FTPC_TEST_CA" put demo.bin "$tls/$dir/"
run --explicit-tls --cafile "$FTPC_TEST_CA" ls -l "$tls/$dir/"
run --explicit-tls --cafile "$FTPC_TEST_CA" get "$tls/$dir/demo.bin" back-tls.bin
same demo.bin back-tls.bin
head -c 5000000 demo.bin >cut-tls.bin
run --explicit-tls --cafile "$FTPC_TEST_CA" get -c "$tls/$dir/demo.bin" cut-tls.bin
same demo.bin cut-tls.bin

say "cleaning up"
run rm "$plain/$dir/demo.bin"
run rmdir "$plain/$dir"
run --explicit-tls --cafile "$FTPC_TEST_CA" rm "$tls/$dir/demo.bin"
run --explicit-tls --cafile "$FTPC_TEST_CA" rmdir "$tls/$dir"

say "the same library from C: examples-c/demo.c against vsftpd on $host:$FTPC_VSFTPD_PORT"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# shellcheck disable=SC2046 # pkg-config prints a list of flags
cc -std=c11 -Wall -Wextra -Wpedantic -Werror "$repo/examples-c/demo.c" $(pkg-config --cflags --libs ftpc) \
    -Wl,-rpath,"$prefix/lib" -o "$work/demo"
"$work/demo" "$host" "$FTPC_VSFTPD_PORT" "$FTPC_TEST_USER" "$FTPC_TEST_PASS"

say "done: ftpc is in $prefix/bin (try: $prefix/bin/ftpc --help)"
