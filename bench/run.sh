#!/usr/bin/env bash
# ftpc benchmarks: ftpc (C driver over the release build) against curl, lftp and Python's
# ftplib, on vsftpd and pure-ftpd, plain FTP and explicit FTPS, plus the machine's limits.
#
# Usage: bench/run.sh [--rev REV] [--quick] [bench.py options...]
#   (no option)   the full run (1 GiB transfers, 5 runs per client after a warm-up, about
#                 25 min on 2 cores, plus the block-size sweep); writes docs/BENCHMARKS.md
#                 (between its GENERATED markers) and target/bench/results.json
#   --quick       a smoke test (8 MiB, 20 files, 200 round trips, 5 connects, 1000-entry
#                 listing, 2 runs): under 2 minutes; writes target/bench/quick.md
#   --sweep       only the block-size sweep (ftp_retrbinary / ftp_storbinary at 4 KiB ..
#                 16 MiB, ftp_retrlines, against curl, lftp and ftplib on every server);
#                 writes the sweep block of docs/BENCHMARKS.md and target/bench/sweep.json
#   --rev REV     build the library from the committed revision REV (`git archive` into
#                 target/bench-src, built in target/bench-build) instead of the working
#                 tree, so that uncommitted work of others is not measured
#   --servers auto|own|env, --env FILE, --state-dir DIR, --port-offset N, --only CASE,
#   --reps N, --size MiB, --quiet-wait S, --pin C,S, --output FILE: see `python3 bench/bench.py --help`
#
# Servers (--servers auto, the default): the default set of tests/servers/servers.sh
# (target/ftp-servers, ports 2121-2124) is used only when it runs with its homes on tmpfs;
# otherwise the benchmark starts its own set with the same script in
# /dev/shm/ftpc-bench/servers with FTPC_SERVERS_PORT_OFFSET=5000 (vsftpd 7121, vsftpd-tls
# 7123, pure-ftpd 7124, ProFTPD 7125 and explicit FTPS 7126, BSD ftpd (inetutils) 7127,
# vsftpd-capped 7128 (2 MiB/s per session, the segmented-download case),
# passive ports 35000-35899), and stops it at the end. Test data (random
# files, a 10,000-entry directory) goes to bench-data/ in the servers' homes and the local
# files to /dev/shm; all of it is removed at the end.
#
# Needs root (the servers), scripts/setup.sh's packages (curl, lftp, python3, the servers, cargo-c);
# installs iperf3 with apt when missing (the TCP limit also has a built-in measure).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"
die() { echo "run.sh: error: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "must run as root (the FTP servers need it)"

export PATH=$HOME/.cargo/bin:$PATH
if [[ ! -x /opt/ftpc-deps/vsftpd/usr/sbin/vsftpd ]] || ! command -v lftp >/dev/null || ! command -v curl >/dev/null ||
        ! cargo cinstall --version >/dev/null 2>&1; then
    scripts/setup.sh
fi
if ! command -v iperf3 >/dev/null; then
    echo "run.sh: installing iperf3" >&2
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null 2>&1; }) ||
        echo "run.sh: iperf3 not available; only the built-in TCP copy measures the TCP limit" >&2
fi

args=()
rev=""
while (($#)); do
    case $1 in
        --rev) [[ $# -ge 2 ]] || die "--rev needs a revision"; rev=$2; shift 2 ;;
        --rev=*) rev=${1#--rev=}; shift ;;
        *) args+=("$1"); shift ;;
    esac
done
set -- "${args[@]+"${args[@]}"}"

# The library: release profile, installed into a prefix of our own; from the working tree,
# or from a committed revision exported with git archive (--rev).
prefix=$repo/target/bench-prefix
mkdir -p "$repo/target"
src=$repo
target_dir=$repo/target
built_from="working tree $(git -C "$repo" describe --always --dirty 2>/dev/null || echo '?')"
if [[ -n $rev ]]; then
    commit=$(git -C "$repo" rev-parse --verify "$rev^{commit}") || die "no such revision: $rev"
    src=$repo/target/bench-src
    target_dir=$repo/target/bench-build
    rm -rf "$src"
    mkdir -p "$src"
    git -C "$repo" archive "$commit" | tar -x -C "$src"
    built_from="commit $(git -C "$repo" rev-parse --short "$commit") (git archive; the working tree not used)"
fi
(cd "$src" && cargo cinstall --locked --release --target-dir "$target_dir" --prefix "$prefix" --libdir lib) \
    >/dev/null 2>"$repo/target/bench-install.log" ||
    { cat "$repo/target/bench-install.log" >&2; die "cargo cinstall failed"; }
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
mkdir -p "$repo/target/bench"
driver=$repo/target/bench/ftpc_bench
# shellcheck disable=SC2046 # pkg-config output is a list of flags
cc -O2 -Wall -Wextra -Werror -o "$driver" "$here/ftpc_bench.c" $(pkg-config --cflags --libs ftpc) \
    -Wl,-rpath,"$prefix/lib"

runner=$repo/target/bench/runner
cc -O2 -Wall -Wextra -Werror -o "$runner" "$here/runner.c"

cmd="bench/run.sh${rev:+ --rev $rev}${*:+ $*}"
exec python3 "$here/bench.py" --driver "$driver" --runner "$runner" --command "$cmd" --built-from "$built_from" "$@"
