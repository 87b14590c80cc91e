#!/usr/bin/python3
"""A tiny inetd for the test fixture (tests/servers/servers.sh): runs one server process
per TCP connection, with the accepted socket as its fd 0, 1 and 2, as inetd's "nowait"
services do.  GNU inetutils ftpd's standalone mode (-D) only binds the "ftp" service port
(21, all addresses), so the fixture serves it through this on loopback ports of its own.

Usage: inetd.py [--bind-mount SRC:DST]... [--log FILE] ADDR,PORT [ADDR,PORT]... -- PROGRAM ARG...

  ADDR,PORT         a listener (127.0.0.1,2127 or ::1,2127); at least one
  --bind-mount      before listening, bind-mount SRC over DST (for use inside a private mount
                    namespace made by `unshare -m`; see servers.sh)

The child gets the real TCP socket (the server calls getpeername/getsockname on fd 0 and
reads out-of-band data from it), a fresh session (setsid) and default signal handling.
The launcher logs one line per connection on stdout, and exits on SIGTERM/SIGINT; the
sessions it started are left to whoever stops it (servers.sh kills the whole tree).
"""

import os
import selectors
import signal
import socket
import subprocess
import sys
import time


def log(msg):
    sys.stdout.write(time.strftime("%Y-%m-%d %H:%M:%S ") + msg + "\n")
    sys.stdout.flush()


def parse(argv):
    mounts, listeners = [], []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return mounts, listeners, argv[i + 1:]
        if a == "--bind-mount":
            src, dst = argv[i + 1].split(":", 1)
            mounts.append((src, dst))
            i += 2
            continue
        addr, port = a.rsplit(",", 1)
        listeners.append((addr, int(port)))
        i += 1
    sys.exit("inetd.py: usage: [--bind-mount SRC:DST]... ADDR,PORT... -- PROGRAM ARG...")


def main():
    mounts, addrs, program = parse(sys.argv[1:])
    if not addrs or not program:
        sys.exit("inetd.py: need at least one ADDR,PORT and a PROGRAM")
    for src, dst in mounts:
        subprocess.run(["mount", "--bind", src, dst], check=True)
        log(f"bind-mounted {src} over {dst} (private mount namespace)")

    sel = selectors.DefaultSelector()
    for addr, port in addrs:
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, port))
        s.listen(128)
        sel.register(s, selectors.EVENT_READ)
        log(f"listening on [{addr}]:{port} for {' '.join(program)}")

    def stop(signum, _frame):
        log(f"signal {signum}: exiting")
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Reap finished sessions without waiting for them.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)

    while True:
        for key, _ in sel.select():
            try:
                conn, peer = key.fileobj.accept()
            except InterruptedError:
                continue
            except OSError as e:
                log(f"accept: {e}")
                continue
            pid = os.fork()
            if pid == 0:
                try:
                    os.setsid()
                    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                        signal.signal(sig, signal.SIG_DFL)
                    fd = conn.fileno()
                    for target in (0, 1, 2):
                        os.dup2(fd, target)
                    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
                    os.execv(program[0], program)
                finally:
                    os._exit(127)
            log(f"connection from {peer[0]} port {peer[1]}: pid {pid}")
            conn.close()


if __name__ == "__main__":
    main()
