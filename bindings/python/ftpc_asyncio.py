"""Many FTP sessions in one asyncio event loop, on ftpc's multi handle: no thread each.

    import asyncio, ftpc_asyncio
    from ftpc_ftplib import FTP

    async def fetch(multi, name):
        ftp = ftpc_asyncio.AsyncFTP(multi, FTP())          # or FTP_TLS(cafile=...)
        await ftp.open("ftp.example.org", 21, "user", "secret")
        chunks = []
        await ftp.retrbinary("RETR " + name, chunks.append)
        await ftp.quit()
        return b"".join(chunks)

    async def main():
        multi = ftpc_asyncio.Multi()                        # one per event loop
        files = await asyncio.gather(*(fetch(multi, n) for n in names))

Each awaited call is one job of the multi handle, run by the library's C code (one of
the ready-made jobs, ``ftp_job_*``); the sockets it waits on are watched with the loop's
``add_reader``/``add_writer``, its timeouts with ``call_later``. Replies, exceptions and
timeouts are those of the blocking ``ftpc_ftplib`` calls. Transfer callbacks (the
``callback`` of ``retrbinary``, the ``fp.read`` of ``storbinary``) are called inside the
loop's thread, synchronously: keep them short, and they may not await. Needs a loop with
``add_reader`` (the default selector loop on Linux, macOS and FreeBSD).
"""
import asyncio
import ctypes

import ftpc_ftplib as _f

_lib = _f._lib
_c_int, _c_p, _c_str = ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p

_SOCKET_CB = ctypes.CFUNCTYPE(None, _c_int, _c_int, _c_p)
_DONE_CB = ctypes.CFUNCTYPE(None, _c_p, _c_int, _c_p)

_POLL_IN, _POLL_OUT, _POLL_REMOVE, _SOCKET_TIMEOUT = 1, 2, 4, -1


class _JobArgs(ctypes.Structure):
    """struct ftp_job_args of ftpc.h."""
    _fields_ = [
        ("host", _c_str), ("port", ctypes.c_uint16), ("timeout_ms", ctypes.c_int64),
        ("user", _c_str), ("passwd", _c_str), ("acct", _c_str), ("cmd", _c_str),
        ("callback", _f._DATA_CB), ("read_callback", _f._READ_CB), ("userdata", _c_p),
        ("blocksize", ctypes.c_size_t), ("rest", ctypes.c_int64),
    ]


for _name, (_res, _args) in {
    "ftp_multi_new": (_c_p, []),
    "ftp_multi_free": (None, [_c_p]),
    "ftp_multi_set_socket_callback": (_c_int, [_c_p, _SOCKET_CB, _c_p]),
    "ftp_multi_start": (_c_int, [_c_p, _c_p, _c_p, _DONE_CB, _c_p]),
    "ftp_multi_socket_action": (_c_int, [_c_p, _c_int, ctypes.POINTER(_c_int)]),
    "ftp_multi_timeout": (_c_int, [_c_p, ctypes.POINTER(ctypes.c_long)]),
}.items():
    _fn = getattr(_lib, _name)
    _fn.restype, _fn.argtypes = _res, _args

# The ready-made jobs, as plain function addresses (never Python callbacks: a job's own
# frames stay on its stack across waits, which Python's cannot).
_JOBS = {name: ctypes.cast(getattr(_lib, "ftp_job_" + name), _c_p).value
         for name in ("open", "voidcmd", "retrbinary", "storbinary", "quit")}


class Multi:
    """A multi handle bound to an asyncio event loop (the running one by default)."""

    def __init__(self, loop=None):
        self._loop = loop or asyncio.get_running_loop()
        self._m = _lib.ftp_multi_new()
        if not self._m:
            raise MemoryError("ftp_multi_new")
        self._watched = {}   # fd -> the events the loop watches it for
        self._jobs = {}      # client handle -> (future, what the job's arguments need alive)
        self._timer = None
        # Kept here: C holds their addresses.
        self._socket_cb = _SOCKET_CB(self._on_socket)
        self._done_cb = _DONE_CB(self._on_done)
        _lib.ftp_multi_set_socket_callback(self._m, self._socket_cb, None)

    def close(self):
        """Ends the jobs still running (their awaits raise) and frees the handle."""
        if self._m:
            for fd in list(self._watched):
                self._on_socket(fd, _POLL_REMOVE, None)
            if self._timer:
                self._timer.cancel()
            _lib.ftp_multi_free(self._m)
            self._m = None

    def _on_socket(self, fd, what, _userdata):
        old = self._watched.pop(fd, 0)
        new = 0 if what & _POLL_REMOVE else what & (_POLL_IN | _POLL_OUT)
        if old & _POLL_IN and not new & _POLL_IN:
            self._loop.remove_reader(fd)
        if old & _POLL_OUT and not new & _POLL_OUT:
            self._loop.remove_writer(fd)
        if new & _POLL_IN and not old & _POLL_IN:
            self._loop.add_reader(fd, self._action, fd)
        if new & _POLL_OUT and not old & _POLL_OUT:
            self._loop.add_writer(fd, self._action, fd)
        if new:
            self._watched[fd] = new

    def _action(self, fd):
        running = _c_int()
        _lib.ftp_multi_socket_action(self._m, fd, ctypes.byref(running))
        self._rearm()

    def _on_timer(self):
        self._timer = None
        self._action(_SOCKET_TIMEOUT)

    def _rearm(self):
        """Sets the timer to what the library asks after each action."""
        if self._m is None:
            return
        ms = ctypes.c_long()
        _lib.ftp_multi_timeout(self._m, ctypes.byref(ms))
        if self._timer:
            self._timer.cancel()
            self._timer = None
        if ms.value >= 0:
            self._timer = self._loop.call_later(ms.value / 1000.0, self._on_timer)

    def _on_done(self, client, status, _userdata):
        future, _keep = self._jobs.pop(client, (None, None))
        if future is not None and not future.done():
            future.set_result(status)

    async def _run(self, ftp, job, args, what, keep=()):
        handle = ftp._h
        future = self._loop.create_future()
        self._jobs[handle] = (future, (args, keep))
        rc = _lib.ftp_multi_start(self._m, handle, _JOBS[job], self._done_cb, ctypes.byref(args))
        if rc != _f._OK:
            self._jobs.pop(handle, None)
            raise ftp._exception(rc, what)
        self._rearm()   # the job runs at the next action: the library asks for one at once
        status = await future
        ftp._check(status, what)
        return ftp._reply()


class AsyncFTP:
    """An ``ftpc_ftplib.FTP`` or ``FTP_TLS`` whose calls are awaited on a ``Multi``. The
    object's options (timeout, TLS, CA, passive mode) are those it was made with."""

    def __init__(self, multi, ftp):
        self.multi, self.ftp = multi, ftp

    def _timeout_ms(self):
        t = self.ftp.timeout
        return int(t * 1000) if isinstance(t, (int, float)) and t > 0 else 0

    async def open(self, host, port=0, user='', passwd='', acct=''):
        """connect, then login (with AUTH TLS and PROT P first on an FTP_TLS)."""
        enc = self.ftp._enc
        self.ftp.host, self.ftp.port = host, port
        args = _JobArgs(host=host.encode(), port=port, timeout_ms=self._timeout_ms(),
                        user=enc(user or ''), passwd=enc(passwd or ''), acct=enc(acct or ''))
        reply = await self.multi._run(self.ftp, "open", args, "login")
        self.ftp.welcome = self.ftp._dec(_lib.ftp_getwelcome(self.ftp._h))
        return reply

    async def voidcmd(self, cmd):
        return await self.multi._run(self.ftp, "voidcmd", _JobArgs(cmd=self.ftp._enc(cmd)), cmd)

    async def retrbinary(self, cmd, callback, blocksize=8192, rest=None):
        """As ftplib's retrbinary: ``callback(bytes)`` per block (short, not awaiting)."""
        errors = []

        def block(_u, data, n):
            try:
                callback(ctypes.string_at(data, n))
                return 0
            except BaseException as e:   # stops the transfer (ABOR); raised below
                errors.append(e)
                return 1
        cb = _f._DATA_CB(block)
        args = _JobArgs(cmd=self.ftp._enc(cmd), callback=cb, blocksize=blocksize, rest=_f._rest(rest))
        try:
            return await self.multi._run(self.ftp, "retrbinary", args, cmd, keep=(cb,))
        except _f.all_errors:
            if errors:
                raise errors[0] from None
            raise

    async def storbinary(self, cmd, fp, blocksize=8192, rest=None):
        """As ftplib's storbinary: ``fp.read(blocksize)`` until it returns nothing."""
        errors = []

        def fill(_u, buf, size, out_len):
            try:
                data = fp.read(min(size, blocksize))
                ctypes.memmove(buf, data, len(data))
                out_len[0] = len(data)
                return 0
            except BaseException as e:
                errors.append(e)
                return 1
        rcb = _f._READ_CB(fill)
        args = _JobArgs(cmd=self.ftp._enc(cmd), read_callback=rcb, blocksize=blocksize, rest=_f._rest(rest))
        try:
            return await self.multi._run(self.ftp, "storbinary", args, cmd, keep=(rcb,))
        except _f.all_errors:
            if errors:
                raise errors[0] from None
            raise

    async def quit(self):
        return await self.multi._run(self.ftp, "quit", _JobArgs(), "QUIT")

    def close(self):
        self.ftp.close()
