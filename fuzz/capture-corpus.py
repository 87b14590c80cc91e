#!/usr/bin/env python3
"""Writes the captured part of the seed corpus (fuzz/corpus/<target>/cap-*) from the real
servers on loopback: replies and listings from vsftpd and pure-ftpd; and whole sessions
(tests/data/session/cap-*) that tests/properties.rs replays and mutates.

    source target/ftp-servers/env && fuzz/capture-corpus.py

Everything happens in a scratch directory (fuzz-capture) that is removed afterwards.
The hand-written seeds (ProFTPD, IIS, odd cases) sit next to these, named hand-*.
"""
import os
import re
import socket
import struct
import time

HOST = os.environ.get("FTPC_TEST_HOST", "127.0.0.1")
USER = os.environ["FTPC_TEST_USER"]
PASS = os.environ["FTPC_TEST_PASS"]
SERVERS = [("vsftpd", int(os.environ["FTPC_VSFTPD_PORT"])), ("pureftpd", int(os.environ["FTPC_PUREFTPD_PORT"]))]
CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
SESSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "session")


class Raw:
    """A control connection that keeps every reply byte for byte."""

    def __init__(self, port):
        self.s = socket.create_connection((HOST, port), timeout=10)
        self.buf = b""
        self.log = []  # (command or None, raw reply)

    def _reply(self):
        raw, code = b"", None
        while True:
            while b"\n" not in self.buf:
                d = self.s.recv(65536)
                if not d:
                    raise EOFError(raw + self.buf)
                self.buf += d
            line, self.buf = self.buf.split(b"\n", 1)
            raw += line + b"\n"
            if code is None:
                code = line[:3]
                if line[3:4] != b"-":
                    return raw
            elif line[:3] == code and line[3:4] != b"-":
                return raw

    def greet(self):
        r = self._reply()
        self.log.append((None, r))
        return r

    def cmd(self, c):
        self.s.sendall(c.encode() + b"\r\n")
        r = self._reply()
        self.log.append((c, r))
        return r

    def _pasv(self):
        r = self.cmd("PASV")
        n = list(map(int, re.search(rb"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", r).groups()))
        return socket.create_connection((HOST, n[4] * 256 + n[5]), timeout=10)

    def retr(self, c):
        d = self._pasv()
        first = self.cmd(c)
        data = b""
        if first[:1] == b"1":
            while True:
                x = d.recv(65536)
                if not x:
                    break
                data += x
            self.log.append((None, self._reply()))
        d.close()
        return data

    def stor(self, name, payload):
        d = self._pasv()
        self.cmd("STOR " + name)
        d.sendall(payload)
        d.close()
        self.log.append((None, self._reply()))

    def stream(self):
        return b"".join(r for _, r in self.log)


def write(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


def login(port):
    c = Raw(port)
    c.greet()
    c.cmd("USER " + USER)
    c.cmd("PASS " + PASS)
    return c


def capture(server, port, now):
    c = login(port)
    for cmd in ["SYST", "FEAT", "PWD", "TYPE I", "MKD fuzz-capture", "CWD fuzz-capture", "PWD",
                'MKD some "quoted" dir', "MKD sub"]:
        c.cmd(cmd)
    c.stor("file.bin", b"x" * 1234)
    c.stor("with space.txt", b"hello\r\n")
    for cmd in ["SIZE file.bin", "MDTM file.bin", "SIZE missing", "MDTM missing", "EPSV", "PASV", "HELP",
                "STAT", "NOOP", "OPTS UTF8 ON", "OPTS MLST type;size;modify;perm;unique;", "MLST file.bin",
                "TYPE A"]:
        c.cmd(cmd)
    listing = c.retr("LIST -a")
    mlsd = c.retr("MLSD") if server == "pureftpd" else b""
    c.cmd("TYPE I")
    c.retr("RETR file.bin")
    for cmd in ["BOGUS command", "CWD /nonexistent/dir", "RMD sub", 'RMD some "quoted" dir', "DELE file.bin",
                "DELE with space.txt", "CDUP", "RMD fuzz-capture", "QUIT"]:
        c.cmd(cmd)

    write("reply_reader", f"cap-{server}-control", b"\x00" + c.stream())
    # The same bytes cut into reads of 1, 7 and 300 bytes.
    write("reply_reader", f"cap-{server}-control-cut", b"\x03" + struct.pack("<3H", 0, 6, 299) + c.stream())
    for i, (cmd, reply) in enumerate(c.log):
        verb = (cmd or "reply").split(" ")[0].lower()
        text = reply.rstrip(b"\r\n")
        if b"\n" in text:  # multi-line replies on their own
            write("reply_reader", f"cap-{server}-{i:02d}-{verb}", b"\x00" + reply)
        code = reply[:3]
        if code in (b"227", b"229", b"150"):
            write("pasv", f"cap-{server}-{i:02d}-{code.decode()}", text)
        if code == b"257":
            write("parse257", f"cap-{server}-{i:02d}-{verb}", text)
        if cmd == "MLST file.bin" and code == b"250":
            fact_line = [l for l in text.split(b"\r\n") if l.startswith(b" ")][0][1:]
            write("mlsd", f"cap-{server}-mlst", fact_line)
    for i, line in enumerate(listing.split(b"\r\n")):
        if line:
            write("list_line", f"cap-{server}-list-{i}", struct.pack("<q", now) + line)
    for i, line in enumerate(mlsd.split(b"\r\n")):
        if line:
            write("mlsd", f"cap-{server}-mlsd-{i}", line)


def session(server, port, exists, flags):
    """The server's side of exactly the session tests/properties.rs::check_session runs."""
    if exists:
        s = login(port)
        s.cmd("MKD some dir")
        s.stor("file.bin", b"y" * 4321)
        s.cmd("QUIT")
    c = login(port)
    for cmd in ["PWD", "CWD some dir", "CDUP", "SIZE file.bin", 'MKD new "dir"', "FEAT", "OPTS UTF8 ON",
                "MDTM file.bin", "QUIT"]:
        c.cmd(cmd)
    s = login(port)
    for cmd in ['RMD new "dir"', "RMD some dir", "DELE file.bin", "QUIT"]:
        s.cmd(cmd)
    with open(os.path.join(SESSIONS, f"cap-{server}-{'ok' if exists else 'missing'}"), "wb") as f:
        f.write(bytes([flags]) + c.stream())


if __name__ == "__main__":
    now = int(time.time())
    for server, port in SERVERS:
        capture(server, port, now)
        session(server, port, True, 0x00)
        session(server, port, False, 0x05)  # latin-1, debug level 1
    print("captured into", CORPUS, "and", os.path.normpath(SESSIONS))
