#!/usr/bin/env bash
# The multi handle against one thread per session (issue 16's goals): N sessions at once,
# each downloading a 1 MiB file, from one thread (ftp_multi_* over epoll) and from N
# threads (the blocking calls), plain FTP and explicit FTPS, against vsftpd instances
# configured for that many sessions. Prints one JSON line per run and a summary.
#
# Usage: bench/multi.sh [N_PLAIN [N_TLS [REPS]]]   (default 1000 200 3)
#   FTPC_MULTI_MODES   the modes to run (default "multi multi2 threads"); MODE@nice runs
#                      MODE at nice -10 (is a loop short of CPU beside 1000 server processes?)
#
# Builds the library in release mode (target/bench-multi), starts the fixture servers if
# they are not running (for the certificates, the PAM service and the homes), and two
# extra vsftpd on FTPC_VSFTPD_PORT+60 (plain) and +61 (explicit FTPS, require_ssl_reuse)
# with 3000 and 1000 passive ports (20000-22999, 23000-23999: below the ephemeral range)
# and max_clients 5000; they are stopped at the end. Root needed (servers, ulimit -n).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
n_plain=${1:-1000} n_tls=${2:-200} reps=${3:-3}
export PATH=$HOME/.cargo/bin:$PATH
out=$repo/target/bench-multi
mkdir -p "$out"

tests/servers/servers.sh start >/dev/null
# shellcheck disable=SC1091
source target/ftp-servers/env
echo "building the release library (cargo cinstall --release) into $out/prefix"
cargo cinstall --locked --release --prefix "$out/prefix" --libdir lib >/dev/null
export PKG_CONFIG_PATH=$out/prefix/lib/pkgconfig
# shellcheck disable=SC2046
cc -O2 -std=c11 -Wall -Wextra -Werror bench/multi_bench.c $(pkg-config --cflags --libs ftpc) -pthread \
    -Wl,-rpath,"$out/prefix/lib" -o "$out/multi_bench"

ulimit -n "$(ulimit -Hn)" # 1000 sessions take over 2000 descriptors
conf=$FTPC_SERVERS_STATE/conf
vsftpd=/opt/ftpc-deps/vsftpd/usr/sbin/vsftpd
port_plain=$((FTPC_VSFTPD_PORT + 60)) port_tls=$((FTPC_VSFTPD_PORT + 61))
derive() { # SOURCE PORT PASV_MIN PASV_MAX NAME
    sed -e "s/^listen_port=.*/listen_port=$2/" -e "s/^pasv_min_port=.*/pasv_min_port=$3/" \
        -e "s/^pasv_max_port=.*/pasv_max_port=$4/" -e 's/^max_clients=.*/max_clients=5000/' \
        -e 's/^log_ftp_protocol=.*/log_ftp_protocol=NO/' -e 's/^xferlog_enable=.*/xferlog_enable=NO/' \
        -e "s|^vsftpd_log_file=.*|vsftpd_log_file=$out/$5.log|" "$1" >"$out/$5.conf"
}
derive "$conf/vsftpd.conf" "$port_plain" 20000 22999 vsftpd-many
derive "$conf/vsftpd-tls.conf" "$port_tls" 23000 23999 vsftpd-tls-many
pids=()
for name in vsftpd-many vsftpd-tls-many; do
    setsid "$vsftpd" "$out/$name.conf" </dev/null >>"$out/$name.out" 2>&1 &
    pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null || true; pkill -f "$out/vsftpd" 2>/dev/null || true' EXIT
for port in "$port_plain" "$port_tls"; do
    for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
done

# The file, in the homes of both (their local_root).
file=bench-multi-1mib.bin
home_plain=$(sed -n 's/^local_root=//p' "$out/vsftpd-many.conf")
home_tls=$(sed -n 's/^local_root=//p' "$out/vsftpd-tls-many.conf")
head -c $((1 << 20)) /dev/urandom >"$home_plain/$file"
cp "$home_plain/$file" "$home_tls/$file"
chmod 644 "$home_plain/$file" "$home_tls/$file"

results=$out/results.jsonl
: >"$results"
read -ra modes <<<"${FTPC_MULTI_MODES:-multi multi2 threads}"
run() { # MODE ARGS...: one run, its JSON line to the results
    local mode=$1 prefix=()
    shift
    [[ $mode == *@nice ]] && prefix=(nice -n -10)
    "${prefix[@]}" "$out/multi_bench" "${mode%@nice}" "$@" | sed "s/\"mode\": \"[^\"]*\"/\"mode\": \"$mode\"/" |
        tee -a "$results"
}
for rep in $(seq "$reps"); do
    for mode in "${modes[@]}"; do
        echo "-- rep $rep: $mode, $n_plain plain sessions"
        run "$mode" "$FTPC_TEST_HOST" "$port_plain" "$FTPC_TEST_USER" "$FTPC_TEST_PASS" "$home_plain/$file" "$n_plain"
        echo "-- rep $rep: $mode, $n_tls FTPS sessions"
        run "$mode" "$FTPC_TEST_HOST" "$port_tls" "$FTPC_TEST_USER" "$FTPC_TEST_PASS" "$home_tls/$file" "$n_tls" \
            "$FTPC_TEST_CA"
    done
done
rm -f "$home_plain/$file" "$home_tls/$file"

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
if {r["mode"] for r in rows} != {"multi", "multi2", "threads"}:
    for mode in sorted({r["mode"] for r in rows}):
        for tls in (False, True):
            sub = [r for r in rows if r["mode"] == mode and r["tls"] == tls]
            print("%s %s: wall median %.3f s, CPU %.3f s, the loop's run-queue wait %.3f s, all equal: %s" % (
                mode, "FTPS" if tls else "plain", statistics.median(r["wall_s"] for r in sub),
                statistics.median(r["cpu_s"] for r in sub), statistics.median(r["loop_runq_wait_s"] for r in sub),
                all(r["ok"] == r["sessions"] for r in sub)))
    sys.exit(0)
def med(tls, mode, key):
    return statistics.median(r[key] for r in rows if r["tls"] == tls and r["mode"] == mode)
print("\nmedians (%d runs each)" % (len(rows) // 6))
print("multi: one thread (one multi handle); multi2: two threads with a multi handle each; threads: one per session")
print("| case | sessions | all files equal | wall s multi / multi2 / threads | CPU s multi / multi2 / threads | CPU ratio multi/threads, multi2/threads | idle KiB/session multi / threads | peak KiB/session multi / threads |")
print("|---|---|---|---|---|---|---|---|")
for tls in (False, True):
    sub = [r for r in rows if r["tls"] == tls]
    ok = all(r["ok"] == r["sessions"] for r in sub)
    f = lambda m, k: med(tls, m, k)
    print("| %s | %d | %s | %.2f / %.2f / %.2f | %.2f / %.2f / %.2f | %.2f, %.2f | %.0f / %.0f | %.0f / %.0f |" % (
        "FTPS" if tls else "plain", sub[0]["sessions"], "yes" if ok else "NO",
        f("multi", "wall_s"), f("multi2", "wall_s"), f("threads", "wall_s"),
        f("multi", "cpu_s"), f("multi2", "cpu_s"), f("threads", "cpu_s"),
        f("multi", "cpu_s") / f("threads", "cpu_s"), f("multi2", "cpu_s") / f("threads", "cpu_s"),
        f("multi", "idle_kib_per_session"), f("threads", "idle_kib_per_session"),
        f("multi", "peak_kib_per_session"), f("threads", "peak_kib_per_session")))
PY
