#!/usr/bin/env bash
# A big FTP upload and download over a lossy, slow link: the ftpc Rust client in one network
# namespace, the test servers of tests/servers/servers.sh in another, 10% packet loss and
# 50 ms delay each way in between. Checks SHA-256 both ways (on the server's disk too) and
# prints the elapsed time and throughput of each direction.
#
# Usage: tests/netem/loss.sh [SIZE_MIB]          (as root; default 100 MiB)
#
# Environment:
#   FTPC_NETEM_SIZE_MIB   size of the file (MiB), if not given as the argument
#   FTPC_NETEM_LOSS       percent of packets dropped, each way (default 10)
#   FTPC_NETEM_DELAY_MS   delay added to each packet, each way (default 50: RTT 100 ms)
#   FTPC_NETEM_SERVER     vsftpd (default) or pureftpd
#   FTPC_NETEM_CC         TCP congestion control in both namespaces (default: the host's,
#                         which new namespaces inherit). Only those in the host's
#                         net.ipv4.tcp_allowed_congestion_control may be set in a namespace
#                         (e.g. reno or bbr, not cubic, on a host that allows "reno bbr").
#   FTPC_NETEM_TIMEOUT_S  the client's reply and data timeouts (default 120)
#
# The link: a veth pair with `tc qdisc ... netem delay D loss L` on both ends when the kernel
# has sch_netem; otherwise (kernels built without it) two TUN devices joined by
# tests/netem/tunnel.py, which does the same in user space.
#
# Addresses: the servers listen on 127.0.0.1 of their namespace, as servers.sh makes them.
# The client's namespace keeps its loopback down and routes 127.0.0.1 over the link
# (route_localnet=1 on both sides), so the client reaches them at the very addresses and
# ports of the env file servers.sh writes, with no NAT and no change to servers.sh.
#
# Everything is undone at the end (servers stopped, namespaces deleted), also on failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

SIZE_MIB=${1:-${FTPC_NETEM_SIZE_MIB:-100}}
LOSS=${FTPC_NETEM_LOSS:-10}
DELAY_MS=${FTPC_NETEM_DELAY_MS:-50}
SERVER=${FTPC_NETEM_SERVER:-vsftpd}
CC=${FTPC_NETEM_CC:-}
TIMEOUT_S=${FTPC_NETEM_TIMEOUT_S:-120}

NS_SRV=ftpc-netem-srv
NS_CLI=ftpc-netem-cli
STATE=$repo/target/ftp-servers-netem
ADDR_CLI=10.77.0.1
ADDR_SRV=10.77.0.2
TEST=netem_upload_and_download_with_loss

say() { echo "loss.sh: $*"; }
die() { echo "loss.sh: error: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root (network namespaces, servers)"
[[ $SIZE_MIB =~ ^[0-9]+$ && $SIZE_MIB -gt 0 ]] || die "size must be a number of MiB, not '$SIZE_MIB'"
for tool in ip tc cargo; do
    command -v "$tool" >/dev/null || die "$tool missing (ip and tc: package iproute2)"
done

# --- build first, outside the namespaces ------------------------------------------------------

say "building the test binary"
build_log=$(cd "$repo" && cargo test --test faults_real --no-run 2>&1) || { echo "$build_log" >&2; die "build failed"; }
BIN=$(sed -n 's/.*Executable tests\/faults_real.rs (\(.*\))$/\1/p' <<<"$build_log" | tail -n 1)
[[ -n $BIN ]] || { echo "$build_log" >&2; die "cannot find the faults_real test binary in cargo's output"; }
[[ $BIN == /* ]] || BIN=$repo/$BIN

# --- set up, and undo on exit ---------------------------------------------------------------

fwd_pid=
cleanup() {
    local rc=$?
    set +e
    if [[ -d $STATE/run ]]; then
        "$repo/tests/servers/servers.sh" stop "$STATE" >/dev/null
    fi
    if [[ -n $fwd_pid ]]; then
        kill -TERM "$fwd_pid" 2>/dev/null
        wait "$fwd_pid" 2>/dev/null
    fi
    ip netns del "$NS_CLI" 2>/dev/null
    ip netns del "$NS_SRV" 2>/dev/null
    exit "$rc"
}
trap cleanup EXIT

for ns in "$NS_CLI" "$NS_SRV"; do
    if ip netns list | grep -qw "$ns"; then
        die "network namespace $ns exists (another run, or a crashed one: ip netns del $ns)"
    fi
done
ip netns add "$NS_SRV"
ip netns add "$NS_CLI"
ip -n "$NS_SRV" link set lo up

netem_works() {
    # Probed on the client namespace's own (down) loopback, never the host's.
    ip netns exec "$NS_CLI" tc qdisc add dev lo root netem delay 1ms 2>/dev/null &&
        ip netns exec "$NS_CLI" tc qdisc del dev lo root
}

if netem_works; then
    MODE="veth + tc netem"
    DEV_CLI=nmc DEV_SRV=nms
    ip link add "$DEV_CLI" netns "$NS_CLI" type veth peer name "$DEV_SRV" netns "$NS_SRV"
    ip netns exec "$NS_CLI" tc qdisc add dev "$DEV_CLI" root netem delay "${DELAY_MS}ms" loss "${LOSS}%" limit 100000
    ip netns exec "$NS_SRV" tc qdisc add dev "$DEV_SRV" root netem delay "${DELAY_MS}ms" loss "${LOSS}%" limit 100000
else
    MODE="TUN + tunnel.py (this kernel has no sch_netem)"
    command -v python3 >/dev/null || die "python3 missing (needed for tunnel.py)"
    DEV_CLI=nmc DEV_SRV=nms
    ip -n "$NS_CLI" tuntap add dev "$DEV_CLI" mode tun
    ip -n "$NS_SRV" tuntap add dev "$DEV_SRV" mode tun
    for pair in "$NS_CLI:$DEV_CLI" "$NS_SRV:$DEV_SRV"; do
        # Room for a window's worth of packets while tunnel.py catches up.
        ip -n "${pair%%:*}" link set "${pair#*:}" txqueuelen 10000
    done
fi
ip -n "$NS_CLI" addr add "$ADDR_CLI/30" dev "$DEV_CLI"
ip -n "$NS_SRV" addr add "$ADDR_SRV/30" dev "$DEV_SRV"
ip -n "$NS_CLI" link set "$DEV_CLI" up
ip -n "$NS_SRV" link set "$DEV_SRV" up
ip netns exec "$NS_CLI" sysctl -qw net.ipv4.conf.all.route_localnet=1 "net.ipv4.conf.$DEV_CLI.route_localnet=1"
ip netns exec "$NS_SRV" sysctl -qw net.ipv4.conf.all.route_localnet=1 "net.ipv4.conf.$DEV_SRV.route_localnet=1"
# The client's 127.0.0.1 is the server namespace's (the client namespace's loopback is down).
ip -n "$NS_CLI" route add 127.0.0.1/32 dev "$DEV_CLI" src "$ADDR_CLI"
if [[ -n $CC ]]; then
    for ns in "$NS_CLI" "$NS_SRV"; do
        ip netns exec "$ns" sysctl -qw "net.ipv4.tcp_congestion_control=$CC" ||
            die "congestion control $CC unavailable here (a namespace may only use those of the host's net.ipv4.tcp_allowed_congestion_control: $(sysctl -n net.ipv4.tcp_allowed_congestion_control))"
    done
fi
cc_used=$(ip netns exec "$NS_CLI" sysctl -n net.ipv4.tcp_congestion_control)

if [[ $MODE == TUN* ]]; then
    ip netns exec "$NS_CLI" python3 "$here/tunnel.py" --delay-ms "$DELAY_MS" --loss "$LOSS" \
        --peer-ns "$NS_SRV" "$DEV_CLI" "$DEV_SRV" &
    fwd_pid=$!
    sleep 0.5
    kill -0 "$fwd_pid" 2>/dev/null || die "tunnel.py did not start"
fi

say "link: $MODE; delay ${DELAY_MS} ms and loss ${LOSS}% each way; TCP congestion control $cc_used"
if command -v ping >/dev/null; then
    ip netns exec "$NS_CLI" ping -c 10 -i 0.2 -q 127.0.0.1 | tail -n 2 | sed 's/^/loss.sh: ping: /' || true
fi

# --- servers and client ---------------------------------------------------------------------

say "starting the servers in $NS_SRV ($STATE)"
ip netns exec "$NS_SRV" "$repo/tests/servers/servers.sh" start "$STATE" >/dev/null

say "transferring $SIZE_MIB MiB each way with $SERVER"
start_ns=$(date +%s%N)
ip netns exec "$NS_CLI" env \
    FTPC_SERVERS_ENV="$STATE/env" \
    FTPC_NETEM_SIZE_MIB="$SIZE_MIB" \
    FTPC_NETEM_SERVER="$SERVER" \
    FTPC_NETEM_TIMEOUT_S="$TIMEOUT_S" \
    "$BIN" --ignored --exact "$TEST" --nocapture --test-threads 1
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
say "client run: $((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000))) s in all (login, $SIZE_MIB MiB up, $SIZE_MIB MiB down, checks)"
