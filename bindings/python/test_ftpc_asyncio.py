"""Tests of ftpc_asyncio against the real servers of tests/servers/servers.sh: many sessions
in one asyncio loop (vsftpd, pure-ftpd, explicit FTPS on vsftpd), uploads, the same
exceptions as the blocking calls, a callback's exception, and nothing left watched."""
import asyncio
import ftplib
import hashlib
import io
import os
import random
import time
import unittest

import ftpc_asyncio
from ftpc_ftplib import FTP, FTP_TLS

ENV = os.environ
HOST = ENV.get("FTPC_TEST_HOST", "127.0.0.1")
USER = ENV.get("FTPC_TEST_USER", "ftpc")
PASSWD = ENV.get("FTPC_TEST_PASS", "ftpc-pass")
TIMEOUT = 30
SIZE = 1 << 20
# Sessions connecting at once: a server's listen backlog loses larger bursts (pure-ftpd: 9).
MAX_CONNECTING = 8


def setUpModule():
    if "FTPC_VSFTPD_PORT" not in ENV:
        raise unittest.SkipTest("source target/ftp-servers/env (tests/servers/servers.sh start) first")


def put_file(port, data, tls=False):
    """A directory of its own with one.bin in it, through a blocking session; its name."""
    name = "asyncio-%d-%d" % (os.getpid(), time.monotonic_ns() % 10**9)
    ftp = FTP_TLS(cafile=ENV["FTPC_TEST_CA"], timeout=TIMEOUT) if tls else FTP(timeout=TIMEOUT)
    ftp.connect(HOST, port)
    ftp.login(USER, PASSWD)
    if tls:
        ftp.prot_p()
    ftp.mkd(name)
    ftp.storbinary("STOR %s/one.bin" % name, io.BytesIO(data))
    ftp.quit()
    return name


def remove_dir(port, name, tls=False):
    ftp = FTP_TLS(cafile=ENV["FTPC_TEST_CA"], timeout=TIMEOUT) if tls else FTP(timeout=TIMEOUT)
    ftp.connect(HOST, port)
    ftp.login(USER, PASSWD)
    for entry in ftp.nlst(name):
        if not entry.endswith(("/.", "/..", ".", "..")):
            ftp.delete(entry if "/" in entry else name + "/" + entry)
    ftp.rmd(name)
    ftp.quit()


class AsyncioTest(unittest.TestCase):

    def many(self, port, n, tls=False):
        data = random.Random(n).randbytes(SIZE)
        digest = hashlib.sha256(data).hexdigest()
        name = put_file(port, data, tls)
        try:
            results = asyncio.run(self.download_all(port, name, n, tls))
        finally:
            remove_dir(port, name, tls)
        self.assertEqual(len(results), n)
        for got, reply in results:
            self.assertEqual(hashlib.sha256(got).hexdigest(), digest)
            self.assertTrue(reply.startswith("221"), reply)

    async def download_all(self, port, name, n, tls):
        multi = ftpc_asyncio.Multi()
        slots = asyncio.Semaphore(MAX_CONNECTING)

        async def one():
            ftp = FTP_TLS(cafile=ENV["FTPC_TEST_CA"], timeout=TIMEOUT) if tls else FTP(timeout=TIMEOUT)
            a = ftpc_asyncio.AsyncFTP(multi, ftp)
            async with slots:
                await a.open(HOST, port, USER, PASSWD)
            await a.voidcmd("CWD " + name)
            chunks = []
            await a.retrbinary("RETR one.bin", chunks.append, blocksize=65536)
            reply = await a.quit()
            return b"".join(chunks), reply

        try:
            return await asyncio.gather(*(one() for _ in range(n)))
        finally:
            # Every socket the library named was handed back to the loop.
            self.assertEqual(multi._watched, {})
            multi.close()

    def test_vsftpd_80_downloads_in_one_loop(self):
        self.many(int(ENV["FTPC_VSFTPD_PORT"]), 80)

    def test_pureftpd_40_downloads_in_one_loop(self):
        self.many(int(ENV["FTPC_PUREFTPD_PORT"]), 40)

    def test_ftps_20_downloads_in_one_loop(self):
        self.many(int(ENV["FTPC_VSFTPD_TLS_PORT"]), 20, tls=True)

    def test_proftpd_40_downloads_in_one_loop(self):
        self.many(int(ENV["FTPC_PROFTPD_PORT"]), 40)

    def test_proftpd_ftps_20_downloads_in_one_loop(self):
        # ProFTPD requires TLS session reuse on data connections.
        self.many(int(ENV["FTPC_PROFTPD_TLS_PORT"]), 20, tls=True)

    def test_bsdftpd_20_downloads_in_one_loop(self):
        self.many(int(ENV["FTPC_BSDFTPD_PORT"]), 20)

    def test_upload_errors_and_a_callback_exception(self):
        # On the four servers: their ABOR handling differs (the callback's exception stops
        # a transfer).
        for server in ("VSFTPD", "PUREFTPD", "PROFTPD", "BSDFTPD"):
            with self.subTest(server=server):
                self.upload_errors_and_a_callback_exception(int(ENV["FTPC_%s_PORT" % server]))

    def upload_errors_and_a_callback_exception(self, port):
        name = put_file(port, b"x")

        async def run():
            multi = ftpc_asyncio.Multi()
            a = ftpc_asyncio.AsyncFTP(multi, FTP(timeout=TIMEOUT))
            await a.open(HOST, port, USER, PASSWD)
            await a.voidcmd("CWD " + name)
            data = random.Random(7).randbytes(3 * SIZE + 17)
            reply = await a.storbinary("STOR up.bin", io.BytesIO(data), blocksize=100000)
            self.assertTrue(reply.startswith("226"), reply)
            got = []
            await a.retrbinary("RETR up.bin", got.append)
            self.assertEqual(b"".join(got), data)
            # The same exception classes as the blocking calls.
            with self.assertRaises(ftplib.error_perm) as caught:
                await a.retrbinary("RETR no-such-file", got.append)
            self.assertTrue(str(caught.exception).startswith("550"), caught.exception)
            with self.assertRaises(ftplib.error_perm):
                await a.voidcmd("CWD no-such-directory")

            # A callback that raises stops the transfer; its exception comes out, and the
            # session goes on.
            class Enough(Exception):
                pass

            def stop_after_first(block):
                raise Enough()
            with self.assertRaises(Enough):
                await a.retrbinary("RETR up.bin", stop_after_first)
            self.assertTrue((await a.voidcmd("NOOP")).startswith("200"))
            self.assertTrue((await a.quit()).startswith("221"))
            self.assertEqual(multi._watched, {})
            multi.close()
        asyncio.run(run())
        ftp = FTP(timeout=TIMEOUT)
        ftp.connect(HOST, port)
        ftp.login(USER, PASSWD)
        ftp.delete(name + "/up.bin")
        ftp.quit()
        remove_dir(port, name)


if __name__ == "__main__":
    unittest.main()
