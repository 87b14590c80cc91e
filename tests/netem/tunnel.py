#!/usr/bin/env python3
"""A user-space stand-in for `tc qdisc ... netem delay D loss L`, for kernels built without
sch_netem: forwards IP packets between two TUN devices in two network namespaces, dropping
each with probability L and delaying the others by D (each direction, as netem on both
ends of a link).

Usage (run inside the first namespace; the devices exist already, made persistent with
`ip tuntap add dev NAME mode tun`):

    ip netns exec NS_A tunnel.py --delay-ms 50 --loss 10 --peer-ns NS_B DEV_A DEV_B

On SIGTERM or SIGINT it prints how many packets it forwarded and dropped, and exits.
"""

import argparse
import collections
import ctypes
import fcntl
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def enter_netns(name):
    """Moves this (single-threaded) process into the named network namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)


def open_tun(name):
    """Attaches to the TUN device `name` of the current network namespace (the namespace is
    the one of the process when /dev/net/tun is opened)."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--delay-ms", type=float, default=50.0, help="one-way delay per packet")
    p.add_argument("--loss", type=float, default=10.0, help="percent of packets dropped, each way")
    p.add_argument("--peer-ns", required=True, help="network namespace of the second device")
    p.add_argument("--seed", type=int, default=None, help="seed of the drop decisions")
    p.add_argument("dev_a", help="TUN device in this namespace")
    p.add_argument("dev_b", help="TUN device in --peer-ns")
    args = p.parse_args()

    rng = random.Random(args.seed)
    delay = args.delay_ms / 1000.0
    loss = args.loss / 100.0
    a = open_tun(args.dev_a)
    enter_netns(args.peer_ns)
    b = open_tun(args.dev_b)
    other = {a: b, b: a}

    # Every packet waits the same delay, so one FIFO of (due, device, packet) stays in order.
    queue = collections.deque()
    stats = {"forwarded": 0, "dropped": 0, "write_failed": 0}

    def finish(*_):
        print(f"tunnel.py: forwarded {stats['forwarded']} packets, dropped {stats['dropped']} "
              f"({stats['dropped'] / max(1, stats['forwarded'] + stats['dropped']):.1%}), "
              f"{stats['write_failed']} could not be delivered", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    print(f"tunnel.py: {args.dev_a} <-> {args.peer_ns}/{args.dev_b}: delay {args.delay_ms} ms, "
          f"loss {args.loss}% each way", flush=True)

    while True:
        now = time.monotonic()
        wait = max(0.0, queue[0][0] - now) if queue else 1.0
        readable, _, _ = select.select([a, b], [], [], wait)
        now = time.monotonic()
        for fd in readable:
            for _ in range(256):
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if rng.random() < loss:
                    stats["dropped"] += 1
                    continue
                queue.append((now + delay, other[fd], packet))
        while queue and queue[0][0] <= now:
            _, out, packet = queue.popleft()
            try:
                os.write(out, packet)
                stats["forwarded"] += 1
            except OSError:
                stats["write_failed"] += 1


if __name__ == "__main__":
    main()
