#!/usr/bin/env python3
"""The Python ftplib peer of bench/ftpc_bench.c: same commands, same output line.

    peer_ftplib.py CMD [--host H] [--port P] [--user U] [--pass W] [--tls] [--ca FILE]
                   [--path P] [--file F] [--count N] [--blocksize N] [--expect N]

CMD: retr (retrbinary with --blocksize, discarding, or with --file writing there), lines (retrlines, counting the lines
and their characters; --expect counts lines), stor (storbinary from --file with
--blocksize), many (--count RETRs of the printf pattern --path), noop, size, connect,
list (dir(): raw LIST lines, which ftplib does not parse), mlsd (mlsd(): facts parsed
into dicts). --tls is FTP_TLS + prot_p() with a context trusting --ca. Note: vsftpd
with require_ssl_reuse=YES and ProFTPD's mod_tls (session reuse required by default)
refuse ftplib's TLS data connections, since ftplib does not resume the control
connection's TLS session on them.
"""
import argparse
import ftplib
import ssl
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=21)
    p.add_argument("--user", default="ftpc")
    p.add_argument("--pass", dest="password", default="ftpc-pass")
    p.add_argument("--tls", action="store_true")
    p.add_argument("--ca")
    p.add_argument("--path")
    p.add_argument("--file")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--blocksize", type=int, default=8192)
    p.add_argument("--expect", type=int, default=-1)
    a = p.parse_args()

    def new():
        if a.tls:
            ctx = ssl.create_default_context(cafile=a.ca)
            return ftplib.FTP_TLS(context=ctx, timeout=60)
        return ftplib.FTP(timeout=60)

    def session():
        f = new()
        f.connect(a.host, a.port)
        f.login(a.user, a.password)
        if a.tls:
            f.prot_p()
        return f

    total = 0
    ops = 0
    entries = 0

    def discard(block):
        nonlocal total
        total += len(block)

    if a.cmd == "connect":
        t0 = time.monotonic()
        for _ in range(a.count):
            f = session()
            f.quit()
            ops += 1
        print(f"ok bytes=0 ops={ops} entries=0 secs={time.monotonic() - t0:.6f}")
        return 0

    f = session()
    t0 = time.monotonic()
    if a.cmd == "retr":
        if a.file:
            # What a program saving a download does: the file's write as the callback.
            with open(a.file, "wb") as out:
                f.retrbinary("RETR " + a.path, out.write, blocksize=a.blocksize)
                total = out.tell()
        else:
            f.retrbinary("RETR " + a.path, discard, blocksize=a.blocksize)
        ops = 1
    elif a.cmd == "lines":
        def line(s):
            nonlocal total, entries
            total += len(s)
            entries += 1
        f.retrlines("RETR " + a.path, line)
        ops = 1
    elif a.cmd == "stor":
        with open(a.file, "rb") as src:
            f.storbinary("STOR " + a.path, src, blocksize=a.blocksize)
            total = src.tell()
        ops = 1
    elif a.cmd == "many":
        for i in range(a.count):
            f.retrbinary("RETR " + (a.path % i), discard, blocksize=a.blocksize)
            ops += 1
    elif a.cmd == "noop":
        for _ in range(a.count):
            f.voidcmd("NOOP")
            ops += 1
    elif a.cmd == "size":
        f.voidcmd("TYPE I")
        for _ in range(a.count):
            if f.size(a.path) is None:
                raise SystemExit("no size")
            ops += 1
    elif a.cmd == "list":
        lines = []
        f.dir(a.path, lines.append)
        entries = sum(1 for line in lines if line.startswith("-"))
        ops = 1
    elif a.cmd == "mlsd":
        for name, facts in f.mlsd(a.path, ["type", "size", "modify"]):
            if facts.get("type") == "file":
                entries += 1
                total += int(facts.get("size", 0))
        ops = 1
    else:
        raise SystemExit(f"unknown command {a.cmd}")
    secs = time.monotonic() - t0
    f.quit()
    got = entries if a.cmd in ("list", "mlsd", "lines") else total
    if a.expect >= 0 and got < a.expect:
        print(f"peer_ftplib: {a.cmd}: got {got}, expected at least {a.expect}", file=sys.stderr)
        return 1
    print(f"ok bytes={total} ops={ops} entries={entries} secs={secs:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
