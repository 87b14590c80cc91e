#!/usr/bin/env bash
# Builds every C test and example through pkg-config with warnings as errors, as C11 and
# as C++17 (and C++20), against the shared and the static library, then runs them against
# the servers in $FTPC_SERVERS_STATE: plainly, under AddressSanitizer + UBSan (the C side),
# and under valgrind memcheck; then the plain builds again against ProFTPD and bsd-ftpd.
#
# Usage: tests/c/run.sh PREFIX   (where `cargo cinstall --libdir lib` installed ftpc)
set -euo pipefail
prefix=$(realpath "${1:?usage: tests/c/run.sh PREFIX}")
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$repo/target/ctest
mkdir -p "$out"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
: "${FTPC_SERVERS_STATE:?source target/ftp-servers/env first}"
# test_hostile.c's NULL calls (null_calls.inc) must cover every function of the header.
python3 "$repo/scripts/gen-null-test.py" --check

warn=(-Wall -Wextra -Wpedantic -Werror)
cflags=$(pkg-config --cflags ftpc)
# The TLS test builds its own SSL_CTX with OpenSSL's API.
libs="$(pkg-config --libs ftpc) $(pkg-config --libs openssl)"
static_libs="$prefix/lib/libftpc.a $(pkg-config --static --libs-only-l ftpc | sed 's/-lftpc//') $(pkg-config --libs openssl)"

tests=()
for src in "$repo"/tests/c/test_*.c; do tests+=("$(basename "$src" .c)"); done

build() { # NAME SRC LIBS COMPILER-AND-FLAGS...
    local name=$1 src=$2 link=$3; shift 3
    echo "build $name"
    # shellcheck disable=SC2086 # LIBS is a list of words
    "$@" "$src" -o "$out/$name" $link
}

for t in "${tests[@]}"; do
    src=$repo/tests/c/$t.c
    build "$t" "$src" "$libs" cc -std=c11 "${warn[@]}" $cflags -pthread
    build "$t.cpp17" "$src" "$libs" c++ -x c++ -std=c++17 "${warn[@]}" $cflags -pthread
    build "$t.static" "$src" "$static_libs" cc -std=c11 "${warn[@]}" $cflags -pthread
    build "$t.asan" "$src" "$libs" cc -std=c11 -g -fsanitize=address,undefined -fno-omit-frame-pointer "${warn[@]}" $cflags -pthread
done
for ex in "$repo"/examples-c/*.c; do
    name=example-$(basename "$ex" .c)
    # The libuv example also needs libuv (Debian libuv1-dev, installed by setup.sh).
    extra_cflags="" extra_libs=""
    if [ "$name" = example-multi_libuv ]; then
        extra_cflags=$(pkg-config --cflags libuv) extra_libs=$(pkg-config --libs libuv)
    fi
    build "$name" "$ex" "$libs $extra_libs" cc -std=c11 "${warn[@]}" $cflags $extra_cflags
    build "$name.static" "$ex" "$static_libs $extra_libs" cc -std=c11 "${warn[@]}" $cflags $extra_cflags
done
for ex in "$repo"/examples-c/*.cpp; do
    [ -e "$ex" ] || continue
    for std in c++17 c++20; do
        build "example-$(basename "$ex" .cpp).$std" "$ex" "$libs" c++ -std=$std "${warn[@]}" $cflags
    done
done
# The header alone, as C and C++ in every standard it claims.
for std in c99 c11 c17; do
    echo '#include <ftpc.h>
int main(void) { return ftp_version() == 0; }' | cc -x c -std=$std "${warn[@]}" $cflags - $libs -o "$out/header-$std"
done
for std in c++11 c++17 c++20; do
    echo '#include <ftpc.h>
int main() { return ftp_version() == nullptr; }' | c++ -x c++ -std=$std "${warn[@]}" $cflags - $libs -o "$out/header-$std"
done

run() {
    echo "== $*"
    timeout 600 "$@"
}
for t in "${tests[@]}"; do
    # The plain build of test_hostile runs its threads test at full size: 16 threads x 50
    # sessions (the slower builds keep the default 10).
    FTPC_HOSTILE_SESSIONS=50 run "$out/$t"
    run "$out/$t.cpp17"
    run "$out/$t.static"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 run "$out/$t.asan"
    run valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$out/$t"
done
run "$out/example-demo" "$FTPC_TEST_HOST" "$FTPC_VSFTPD_PORT" "$FTPC_TEST_USER" "$FTPC_TEST_PASS"
run "$out/example-demo.static" "$FTPC_TEST_HOST" "$FTPC_PUREFTPD_PORT" "$FTPC_TEST_USER" "$FTPC_TEST_PASS"
# The multi handle's examples: 300 downloads of a 1 MiB file from one thread, through epoll
# from vsftpd (25 sessions at once) and through libuv from pure-ftpd (40 at once: it takes
# 50 clients), each copy checked against the first; the epoll one again under valgrind.
# vsftpd picks a passive port at random from its 100 and gives up after 9 picks in use
# ("500 OOPS: priv_sock_get_int"): with 64 sessions at once, 1 of 300 got that in a
# fresh-clone run (2026-12-07), so a session's odds of 9 busy picks are kept small.
head -c $((1 << 20)) /dev/urandom >"$FTPC_VSFTPD_HOME/multi-example.bin"
cp "$FTPC_VSFTPD_HOME/multi-example.bin" "$FTPC_PUREFTPD_HOME/multi-example.bin"
chmod 644 "$FTPC_VSFTPD_HOME/multi-example.bin" "$FTPC_PUREFTPD_HOME/multi-example.bin"
login=("$FTPC_TEST_HOST" "$FTPC_VSFTPD_PORT" "$FTPC_TEST_USER" "$FTPC_TEST_PASS")
run "$out/example-multi_epoll" "${login[@]}" "$FTPC_VSFTPD_HOME/multi-example.bin" 300 25
run valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    "$out/example-multi_epoll" "${login[@]}" "$FTPC_VSFTPD_HOME/multi-example.bin" 40 16
run "$out/example-multi_libuv.static" "$FTPC_TEST_HOST" "$FTPC_PUREFTPD_PORT" "$FTPC_TEST_USER" "$FTPC_TEST_PASS" \
    multi-example.bin 300 40
rm -f "$FTPC_VSFTPD_HOME/multi-example.bin" "$FTPC_PUREFTPD_HOME/multi-example.bin"
for ex in "$out"/example-*.c++*; do
    [ -e "$ex" ] || continue
    run "$ex" "$FTPC_TEST_HOST" "$FTPC_VSFTPD_PORT" "$FTPC_TEST_USER" "$FTPC_TEST_PASS"
done
# ProFTPD and bsd-ftpd, plain builds only (the runs above check the library's memory and
# ABI; these check it against two more servers). The C tests find their servers by env
# var, so each run puts a server in the slot of one whose expectations it meets:
#   test_core      bsd-ftpd for vsftpd (full paths in PWD), ProFTPD for pure-ftpd (chrooted)
#   test_transfer  ProFTPD for pure-ftpd (MLSD, stores ASCII uploads with LF); bsd-ftpd fits
#                  neither slot (no MLSD, but LF): it has a slot of its own, for the line
#                  functions only (tests/c/lines.h; FTPC_BSDFTPD_PORT, so every run of
#                  test_transfer, the ones above too, covers it), and real_transfers.rs
#                  covers the rest
#   test_tls       ProFTPD explicit for vsftpd-tls and for pure-ftpd (MLSD, CCC), ProFTPD
#                  implicit for vsftpd-implicit (both require TLS session reuse, as vsftpd);
#                  the line functions over PROT P run in each of the three slots
#   test_multi     ProFTPD for vsftpd (epoll jobs, cancel, free and multi_free mid-download),
#                  bsd-ftpd for pure-ftpd (ftp_multi_wait jobs), ProFTPD explicit for
#                  vsftpd-tls (its printed labels keep the slots' names)
echo "== C tests against ProFTPD and bsd-ftpd (servers in other servers' slots, see run.sh)"
FTPC_VSFTPD_PORT=$FTPC_BSDFTPD_PORT FTPC_VSFTPD6_PORT=$FTPC_BSDFTPD_PORT FTPC_PUREFTPD_PORT=$FTPC_PROFTPD_PORT \
    run "$out/test_core"
FTPC_PUREFTPD_PORT=$FTPC_PROFTPD_PORT run "$out/test_transfer"
FTPC_VSFTPD_TLS_PORT=$FTPC_PROFTPD_TLS_PORT FTPC_VSFTPD_IMPLICIT_PORT=$FTPC_PROFTPD_IMPLICIT_PORT \
    FTPC_PUREFTPD_PORT=$FTPC_PROFTPD_TLS_PORT run "$out/test_tls"
FTPC_MULTI_SESSIONS=30 FTPC_VSFTPD_PORT=$FTPC_PROFTPD_PORT FTPC_PUREFTPD_PORT=$FTPC_BSDFTPD_PORT \
    FTPC_VSFTPD_TLS_PORT=$FTPC_PROFTPD_TLS_PORT run "$out/test_multi"
run "$out/example-demo" "$FTPC_TEST_HOST" "$FTPC_PROFTPD_PORT" "$FTPC_TEST_USER" "$FTPC_TEST_PASS"
run "$out/example-demo.static" "$FTPC_TEST_HOST" "$FTPC_BSDFTPD_PORT" "$FTPC_TEST_USER" "$FTPC_TEST_PASS"
# Soak (tests/c/soak.c): connect/login/PWD/quit cycles against pure-ftpd, RSS, fds, threads.
build soak "$repo/tests/c/soak.c" "$libs" cc -std=c11 "${warn[@]}" $cflags -pthread
build soak.asan "$repo/tests/c/soak.c" "$libs" cc -std=c11 -g -fsanitize=address,undefined -fno-omit-frame-pointer "${warn[@]}" $cflags -pthread
run "$out/soak" 500
# A shorter soak against ProFTPD and bsd-ftpd (a process per session on both: slower cycles).
FTPC_PUREFTPD_PORT=$FTPC_PROFTPD_PORT run "$out/soak" 100 --no-rss-check
FTPC_PUREFTPD_PORT=$FTPC_BSDFTPD_PORT run "$out/soak" 100 --no-rss-check
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 run "$out/soak.asan" 200 --no-rss-check
run valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$out/soak" 200 --no-rss-check
echo "C tests: all passed"
