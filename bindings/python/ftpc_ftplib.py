"""ftplib's FTP and FTP_TLS on top of ftpc, through ctypes (no compiled extension).

A program written for the standard ``ftplib`` runs by changing its import::

    import ftpc_ftplib as ftplib            # instead of: import ftplib
    from ftpc_ftplib import FTP, FTP_TLS    # instead of: from ftplib import FTP, FTP_TLS

The exception classes *are* ftplib's (``ftpc_ftplib.error_perm is ftplib.error_perm``), so
``except ftplib.error_perm`` catches errors from either module.

The shared library is loaded from ``$FTPC_LIBRARY`` when set, else as ``libftpc.so.0.1``
(its SONAME), ``libftpc.so`` or whatever ``ctypes.util.find_library("ftpc")`` finds, through
the dynamic linker's search path (``LD_LIBRARY_PATH`` for a private prefix).

Timeouts are ftplib's: ``timeout`` bounds every wait (connect, replies, data), its default
is ``socket.getdefaulttimeout()`` when connecting, and ``None`` is no timeout. As ftplib,
passive mode sends PASV and active mode PORT on IPv4, EPSV and EPRT on IPv6.

CPython's own Lib/test/test_ftplib.py runs against this module in the test command
(``run_cpython_test_ftplib.py``): every test passes but those of the differences below
marked [test: ...], each of which is deliberate, for the reason given. They are:

- Certificates and host names are verified (against ``cafile=``/``capath=``/the context's CAs
  when given, else the system store, as ``ssl.create_default_context`` does);
  ftplib's FTP_TLS without a context verifies nothing. ``verify=False``, or
  ``FTP_TLS.verify = False`` for every FTP_TLS made afterwards, gives ftplib's default.
  [test: with verification on, every TLS test, since CPython's test certificate is
  signed by a test CA]
- ``sock`` and the data connections are not sockets: a TLS session lives in the C
  library's OpenSSL, which Python's ``ssl`` module cannot adopt, so after ``auth()`` or
  with PROT P they are not ``ssl.SSLSocket`` either (a subclass made to pass that
  ``isinstance`` would carry ``recv``, ``getpeercert`` and the rest of a socket with
  nothing behind them). ``sock`` is ``None`` when not connected and otherwise answers
  ``getsockname()``, ``getpeername()``, ``family``, ``gettimeout()`` and
  ``settimeout()``; ``file`` is always ``None``. ``transfercmd``/``ntransfercmd`` return
  a data connection with ``recv``, ``recv_into``, ``send``, ``sendall``,
  ``makefile('rb'|'wb')``, ``getsockname()``, ``close`` and the context manager; closing it reads the
  server's final reply, which the ``voidresp()`` that ftplib code calls next returns.
  [test: TestTLS_FTPClass test_control_connection, test_login, test_ccc, test_context,
  test_data_connection]
- A reply line must start with a 3-digit code (1xx-5xx), else ``error_proto`` and the
  connection is closed: the C library's reply parser is strict, where ftplib takes any
  line whose first character is 1, 2 or 3 (the greeting ``1 Hola mundo``).
  [test: the six TestTimeouts tests, whose server greets so; test_ftpc_ftplib's
  TimeoutsAsFtplibTest runs them with a valid greeting]
- ``__all__`` is ftplib's plus ``TransferAborted`` and ``version``, and its exception
  classes are ftplib's own (``ftpc_ftplib.error_perm is ftplib.error_perm``), which a
  check that counts only classes defined in this module does not expect.
  [test: MiscTestCase.test__all__]
Further differences, which the test does not reach:

- A transfer that stops early (an exception in a callback, a line over ``maxline``,
  ``abort()``) is aborted as RFC 959 says, Telnet IP and Synch then ABOR, and the replies
  are read, so the connection stays in step; ftplib closes the data connection and leaves
  the final reply unread. A server that cannot take the Telnet bytes stops answering: the
  call waits for its replies as long as its timeout allows, then closes the connection
  (the error raised is still the cause of the stop, e.g. the overlong line).

- ``FTP_TLS(context=...)``: an ``ssl.SSLContext`` cannot be handed to the C library as an
  ``SSL_CTX *``. A context is translated: its verify mode, its minimum/maximum TLS version
  and the CA certificates loaded into it with ``load_verify_locations`` (handed over as
  PEM with ``ftp_set_tls_ca_pem``); a context that verifies certificates but not host names
  cannot be expressed and gives ``ValueError``; client certificates loaded into a context
  cannot be read back, so pass ``certfile=``/``keyfile=`` without a context (with both,
  ``ValueError``, as in ftplib). Plain options are accepted too: ``cafile=``,
  ``capath=``, ``certfile=``, ``keyfile=``, ``verify=``, ``implicit=`` (implicit FTPS).
- ``FTP_TLS.login`` protects data connections (PBSZ 0 + PROT P) by itself, where ftplib
  waits for ``prot_p()``; call ``prot_c()`` before ``login`` for clear-text data.
- ``retrlines`` also ends lines at a bare CR (ftplib only at LF).
- ``source_address`` with a port: passive data connections bind that port, as ftplib's do,
  and may share it with the control connection (SO_REUSEADDR), where ftplib's fail with
  EADDRINUSE. Assigned after connecting, it applies from the next data connection, as in
  ftplib; a name in it is resolved at the assignment.
- ``abort()`` while a transfer runs (from a callback, or from another thread) stops that
  transfer after its current block: the transfer's call then raises ``TransferAborted``
  (an ``error_reply``) and the connection stays usable; ``abort()`` returns ``None`` then.
  An exception raised by a callback stops the transfer the same way and propagates.
- Non-reply failures are ``OSError`` (with ``errno`` when the system gave one, so
  ``ConnectionRefusedError`` and so on), ``TimeoutError``, ``EOFError``, ``ssl.SSLError``
  / ``ssl.SSLCertVerificationError``, ``ValueError`` (CR/LF in a command, bad arguments),
  ``UnicodeError``; a download shorter than announced is ``EOFError``.
- Added: ``FTP.walk(path, *, depth_first=True, max_depth=None, follow_links=False,
  use_list=False, use_mlsd=False, skip=None)`` generates ``(path, facts, depth)`` for the
  whole tree (``ftp_walk``; the walk runs at the first ``next()``, see its docstring).
"""

import ctypes
import ctypes.util
import errno as _errno
import io
import ipaddress
import os
import re
import socket
import ssl
import sys
import threading
import weakref
from ftplib import (  # the very classes of ftplib, so that either module's can be caught
    Error,
    all_errors,
    error_perm,
    error_proto,
    error_reply,
    error_temp,
)
# ftplib's reply parsers, part of its API (ftpcp uses parse227).
from ftplib import parse150, parse227, parse229  # noqa: F401

# ftplib's __all__, and what this module adds.
__all__ = ["FTP", "error_reply", "error_temp", "error_perm", "error_proto", "all_errors",
           "FTP_TLS", "TransferAborted", "version"]

FTP_PORT = 21
MAXLINE = 8192
CRLF = '\r\n'
B_CRLF = b'\r\n'
MSG_OOB = 0x1


class TransferAborted(error_reply):
    """A transfer stopped by ``abort()`` while it ran; its argument is the last reply."""


# --- the C library ------------------------------------------------------------------------

def _load_library():
    names = []
    if os.environ.get("FTPC_LIBRARY"):
        names.append(os.environ["FTPC_LIBRARY"])
    names += ["libftpc.so.0.1", "libftpc.so"]
    found = ctypes.util.find_library("ftpc")
    if found:
        names.append(found)
    errors = []
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("cannot load the ftpc library (set FTPC_LIBRARY or LD_LIBRARY_PATH): "
                      + "; ".join(errors))


_lib = _load_library()

_c_int, _c_size, _c_i64, _c_u16, _c_p, _c_str = (
    ctypes.c_int, ctypes.c_size_t, ctypes.c_int64, ctypes.c_uint16, ctypes.c_void_p, ctypes.c_char_p)
_c_u8p = ctypes.POINTER(ctypes.c_uint8)
_c_strp = ctypes.POINTER(ctypes.c_char_p)

_TRACE_CB = ctypes.CFUNCTYPE(None, _c_p, _c_str)
_LINE_CB = ctypes.CFUNCTYPE(_c_int, _c_p, _c_p, _c_size)
_DATA_CB = ctypes.CFUNCTYPE(_c_int, _c_p, _c_u8p, _c_size)
_READ_CB = ctypes.CFUNCTYPE(_c_int, _c_p, _c_u8p, _c_size, ctypes.POINTER(_c_size))
_WALK_CB = ctypes.CFUNCTYPE(_c_int, _c_p, _c_p, _c_size, _c_p, _c_int)

_PROTOTYPES = {
    "ftp_version": (_c_str, []),
    "ftp_new": (_c_p, []),
    "ftp_tls_new": (_c_p, []),
    "ftp_free": (None, [_c_p]),
    "ftp_connect": (_c_int, [_c_p, _c_str, _c_u16, _c_i64, _c_str]),
    "ftp_getwelcome": (_c_str, [_c_p]),
    "ftp_login": (_c_int, [_c_p, _c_str, _c_str, _c_str]),
    "ftp_acct": (_c_int, [_c_p, _c_str]),
    "ftp_sendcmd": (_c_int, [_c_p, _c_str, _c_strp]),
    "ftp_voidcmd": (_c_int, [_c_p, _c_str, _c_strp]),
    "ftp_putcmd": (_c_int, [_c_p, _c_str]),
    "ftp_getresp": (_c_int, [_c_p, _c_strp]),
    "ftp_voidresp": (_c_int, [_c_p, _c_strp]),
    "ftp_pwd": (_c_int, [_c_p, _c_strp]),
    "ftp_mkd": (_c_int, [_c_p, _c_str, _c_strp]),
    "ftp_cwd": (_c_int, [_c_p, _c_str]),
    "ftp_rmd": (_c_int, [_c_p, _c_str]),
    "ftp_delete": (_c_int, [_c_p, _c_str]),
    "ftp_rename": (_c_int, [_c_p, _c_str, _c_str]),
    "ftp_size": (_c_int, [_c_p, _c_str, ctypes.POINTER(_c_i64)]),
    "ftp_quit": (_c_int, [_c_p]),
    "ftp_close": (_c_int, [_c_p]),
    "ftp_is_connected": (_c_int, [_c_p]),
    "ftp_last_reply_code": (_c_int, [_c_p]),
    "ftp_last_reply_text": (_c_str, [_c_p]),
    "ftp_last_error": (_c_str, [_c_p]),
    "ftp_last_error_code": (_c_int, [_c_p]),
    "ftp_set_debuglevel": (_c_int, [_c_p, _c_int]),
    "ftp_set_trace_callback": (_c_int, [_c_p, _TRACE_CB, _c_p]),
    "ftp_set_timeout_ms": (_c_int, [_c_p, _c_i64]),
    "ftp_set_connect_timeout_ms": (_c_int, [_c_p, _c_i64]),
    "ftp_set_data_connect_timeout_ms": (_c_int, [_c_p, _c_i64]),
    "ftp_set_accept_timeout_ms": (_c_int, [_c_p, _c_i64]),
    "ftp_set_data_timeout_ms": (_c_int, [_c_p, _c_i64]),
    "ftp_set_pasv": (_c_int, [_c_p, _c_int]),
    "ftp_set_trust_server_pasv_address": (_c_int, [_c_p, _c_int]),
    "ftp_set_epsv": (_c_int, [_c_p, _c_int]),
    "ftp_set_encoding": (_c_int, [_c_p, _c_str]),
    "ftp_makepasv": (_c_int, [_c_p, _c_strp, ctypes.POINTER(_c_u16)]),
    "ftp_sendport": (_c_int, [_c_p, _c_str, _c_u16, _c_int]),
    "ftp_mlsd": (_c_int, [_c_p, _c_str, _c_str, ctypes.POINTER(_c_p)]),
    "ftp_listing_free": (None, [_c_p]),
    "ftp_listing_count": (_c_size, [_c_p]),
    "ftp_listing_get": (_c_p, [_c_p, _c_size]),
    "ftp_entry_name": (_c_p, [_c_p, ctypes.POINTER(_c_size)]),
    "ftp_entry_fact_count": (_c_size, [_c_p]),
    "ftp_entry_fact_at": (_c_int, [_c_p, _c_size, _c_strp, _c_strp]),
    "ftp_entry_type": (_c_int, [_c_p]),
    "ftp_entry_size": (_c_i64, [_c_p]),
    "ftp_walk": (_c_int, [_c_p, _c_str, _c_int, _c_int, _WALK_CB, _c_p, ctypes.POINTER(_c_size)]),
    "ftp_strerror": (_c_str, [_c_int]),
    "ftp_set_tls_mode": (_c_int, [_c_p, _c_int]),
    "ftp_auth": (_c_int, [_c_p]),
    "ftp_prot_p": (_c_int, [_c_p]),
    "ftp_prot_c": (_c_int, [_c_p]),
    "ftp_ccc": (_c_int, [_c_p]),
    "ftp_is_tls": (_c_int, [_c_p]),
    "ftp_set_tls_verify": (_c_int, [_c_p, _c_int]),
    "ftp_set_tls_ca_file": (_c_int, [_c_p, _c_str]),
    "ftp_set_tls_ca_dir": (_c_int, [_c_p, _c_str]),
    "ftp_set_tls_client_cert": (_c_int, [_c_p, _c_str, _c_str]),
    "ftp_set_tls_min_version": (_c_int, [_c_p, _c_int]),
    "ftp_set_tls_max_version": (_c_int, [_c_p, _c_int]),
    "ftp_retrbinary": (_c_int, [_c_p, _c_str, _DATA_CB, _c_p, _c_size, _c_i64]),
    "ftp_retrlines": (_c_int, [_c_p, _c_str, _LINE_CB, _c_p]),
    "ftp_storbinary": (_c_int, [_c_p, _c_str, _READ_CB, _c_p, _c_size, _DATA_CB, _c_i64]),
    "ftp_storlines": (_c_int, [_c_p, _c_str, _READ_CB, _c_p, _DATA_CB]),
    "ftp_abort": (_c_int, [_c_p]),
    "ftp_cancel": (_c_int, [_c_p]),
    "ftp_peer_address": (_c_int, [_c_p, _c_strp, ctypes.POINTER(_c_u16)]),
    "ftp_local_address": (_c_int, [_c_p, _c_strp, ctypes.POINTER(_c_u16)]),
    "ftp_data_local_address": (_c_int, [_c_p, _c_strp, ctypes.POINTER(_c_u16)]),
    "ftp_set_source_address": (_c_int, [_c_p, _c_str]),
    "ftp_set_tls_ca_pem": (_c_int, [_c_p, _c_str, _c_size]),
    "ftp_transfercmd": (_c_int, [_c_p, _c_str, _c_i64, ctypes.POINTER(_c_p)]),
    "ftp_data_size": (_c_i64, [_c_p]),
    "ftp_data_read": (_c_int, [_c_p, _c_p, _c_size, ctypes.POINTER(_c_size)]),
    "ftp_data_write": (_c_int, [_c_p, _c_p, _c_size, ctypes.POINTER(_c_size)]),
    "ftp_data_close": (_c_int, [_c_p]),
    "ftp_data_abort": (_c_int, [_c_p]),
}
for _name, (_res, _args) in _PROTOTYPES.items():
    _f = getattr(_lib, _name)
    _f.restype, _f.argtypes = _res, _args

# Status codes (ftpc.h; fixed, never renumbered).
_OK, _REPLY, _TEMP, _PERM, _PROTO, _IO, _EOF, _TIMEOUT, _TLS, _CERT, _INVALID, _LINE_LONG, \
    _REPLY_LONG, _WRONG_STATE, _ENCODING, _NULL, _STOPPED, _BUSY, _PANIC, _TRUNCATED, \
    _UNSUPPORTED, _NETRC = range(0, -22, -1)
_NO_REST = -1
# timeout=None (no timeout, as a blocking socket): the library has no "forever", so a
# century; its waits cap what they cannot represent, and ftp_cancel still ends them.
_NO_TIMEOUT_MS = 100 * 365 * 86400 * 1000
_TLS_OFF, _TLS_EXPLICIT, _TLS_IMPLICIT = 0, 1, 2
_WALK_BREADTH_FIRST, _WALK_FOLLOW_LINKS, _WALK_USE_LIST, _WALK_USE_MLSD = 1, 2, 4, 8
_WALK_CONTINUE, _WALK_SKIP, _WALK_STOP = 0, 1, 2
# ftp_entry_type (FTP_ENTRY_*) as MLSD's "type" fact, for entries that have none (LIST).
_ENTRY_TYPES = {1: "file", 2: "dir", 3: "link", 4: "cdir", 5: "pdir", 6: "other"}
_TLS_V12, _TLS_V13 = 12, 13
_REPLY_CLASSES = {_REPLY: error_reply, _TEMP: error_temp, _PERM: error_perm,
                  _PROTO: error_proto, _UNSUPPORTED: error_perm}


def version():
    """The version of the ftpc library loaded."""
    return _lib.ftp_version().decode()


def print_line(line):
    """Default retrlines callback: print a line to stdout (as ftplib's)."""
    print(line)


def parse257(resp):
    """The directory name in a 257 reply (ftplib's ``parse257``)."""
    if resp[:3] != '257':
        raise error_reply(resp)
    if resp[3:5] != ' "':
        return ''
    dirname = ''
    i, n = 5, len(resp)
    while i < n:
        c = resp[i]
        i += 1
        if c == '"':
            if i >= n or resp[i] != '"':
                break
            i += 1
        dirname += c
    return dirname


def ftpcp(source, sourcename, target, targetname='', type='I'):
    """ftplib's ftpcp: copies a file from one server to another (the target connects to the
    source's PASV port). The address the source advertises is used only when
    ``source.trust_server_pasv_ipv4_address`` is set; else its peer address (as makepasv)."""
    if not targetname:
        targetname = sourcename
    type = 'TYPE ' + type
    source.voidcmd(type)
    target.voidcmd(type)
    advertised, sourceport = parse227(source.sendcmd('PASV'))
    if source.trust_server_pasv_ipv4_address:
        sourcehost = advertised
    else:
        sourcehost = source.sock.getpeername()[0]
    target.sendport(sourcehost, sourceport)
    # RFC 959: the target, here the "user", must listen before the transfer request, so
    # STOR before RETR.
    treply = target.sendcmd('STOR ' + targetname)
    if treply[:3] not in {'125', '150'}:
        raise error_proto(treply)
    sreply = source.sendcmd('RETR ' + sourcename)
    if sreply[:3] not in {'125', '150'}:
        raise error_proto(sreply)
    source.voidresp()
    target.voidresp()


class _Sock:
    """Stands in for ftplib's ``sock`` while connected: the control connection's
    addresses and timeout, as a socket would give them; there is no Python socket to use."""

    def __init__(self, ftp):
        self._ftp = ftp

    def _address(self, fn, what):
        host, port = ctypes.c_char_p(), _c_u16()
        with self._ftp._lock:
            self._ftp._check(fn(self._ftp._h, ctypes.byref(host), ctypes.byref(port)), what)
            host = host.value.decode()
        return (host, port.value) if ":" not in host else (host, port.value, 0, 0)

    def getsockname(self):
        return self._address(_lib.ftp_local_address, "getsockname")

    def getpeername(self):
        return self._address(_lib.ftp_peer_address, "getpeername")

    @property
    def family(self):
        return socket.AF_INET6 if len(self.getpeername()) == 4 else socket.AF_INET

    def gettimeout(self):
        """The timeout of the control connection's waits, in seconds (None: no timeout)."""
        return self._ftp._control_timeout

    def settimeout(self, timeout):
        """Sets the timeout of the control connection's waits (replies, TLS handshakes);
        data connections keep the FTP object's ``timeout``, as in ftplib."""
        ms = _timeout_ms(timeout)
        with self._ftp._lock:
            self._ftp._check(_lib.ftp_set_timeout_ms(self._ftp._h, ms), "settimeout")
            self._ftp._control_timeout = None if timeout is None else float(timeout)

    def __repr__(self):
        return "<ftpc control connection>"


def _timeout_ms(timeout):
    """A timeout in seconds (None: none) as the library's milliseconds."""
    if timeout is None:
        return _NO_TIMEOUT_MS
    if timeout < 0:
        raise ValueError("Timeout value must be non-negative")
    if not timeout:
        raise ValueError('Non-blocking socket (timeout=0) is not supported')
    return min(_NO_TIMEOUT_MS, max(1, int(timeout * 1000)))


class _Call:
    """What a transfer's callbacks share with the call: the first exception one raised."""

    def __init__(self, ftp):
        self.ftp = ftp
        self.exc = None

    def guard(self, fn, *args):
        if self.exc is not None:
            return 1
        try:
            fn(*args)
        except BaseException as e:  # noqa: B902 - also KeyboardInterrupt: stop, then re-raise
            self.exc = e
            return 1
        return 1 if self.ftp._stop_requested else 0


def _guarded_walk(call, fn, args):
    """Runs a walk callback: an exception it raises stops the walk and is raised by it."""
    try:
        return fn(*args)
    except BaseException as e:  # noqa: B902 - also KeyboardInterrupt: stop, then re-raise
        call.exc = e
        return _WALK_STOP


class FTP:
    """ftplib's FTP client class, on ftpc. See the module docstring for the differences."""

    debugging = 0
    host = ''
    port = FTP_PORT
    maxline = MAXLINE
    file = None
    welcome = None
    passiveserver = True
    _trust_pasv = False
    _new = staticmethod(_lib.ftp_new)

    def __init__(self, host='', user='', passwd='', acct='',
                 timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, *,
                 encoding='utf-8'):
        self.encoding = encoding
        self.source_address = source_address
        self.timeout = timeout
        self._lock = threading.RLock()
        self._in_transfer = False
        self._stop_requested = False
        self._pending = None      # the final reply read when a data connection was closed
        self._data = None         # weakref to the open data connection from transfercmd, if any
        handle = self._new()
        if not handle:
            raise MemoryError("ftp_new")
        self._h = handle
        self._finalizer = weakref.finalize(self, _lib.ftp_free, handle)
        # Strings pass through untouched; this module encodes and decodes them with
        # self.encoding, so every Python codec works, as in ftplib.
        self._check(_lib.ftp_set_encoding(handle, b"bytes"), "set encoding")
        # As ftplib: PASV and PORT on IPv4, EPSV and EPRT on IPv6 only (_match_epsv).
        self._check(_lib.ftp_set_epsv(handle, 0), "set epsv")
        self._epsv = False
        self._control_timeout = None
        me = weakref.ref(self)

        def trace(_userdata, line):
            ftp = me()
            if ftp is not None:
                print(line.decode(ftp.encoding, 'replace'))
        self._trace_cb = _TRACE_CB(trace)
        self._check(_lib.ftp_set_trace_callback(handle, self._trace_cb, None), "set trace")
        if host:
            self.connect(host)
            if user:
                self.login(user, passwd, acct)

    # --- context manager ------------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *args):
        if self.sock is not None:
            try:
                self.quit()
            except (OSError, EOFError):
                pass
            finally:
                if self.sock is not None:
                    self.close()

    # --- plumbing -------------------------------------------------------------------------

    def _enc(self, text):
        if isinstance(text, bytes):
            return text
        return str(text).encode(self.encoding, 'surrogateescape')

    def _dec(self, data):
        # The handle is in "bytes" mode: a name that is not valid in the encoding comes back
        # with surrogate escapes (PEP 383) and goes out as the same bytes, so it round-trips.
        return data.decode(self.encoding, 'surrogateescape') if data is not None else None

    def _reply(self):
        return self._dec(_lib.ftp_last_reply_text(self._h) or b'')

    def _exception(self, rc, what):
        """The Python exception for status ``rc`` of the call just made on the handle."""
        message = (_lib.ftp_last_error(self._h) or b'').decode('utf-8', 'replace')
        if not message:
            message = _lib.ftp_strerror(rc).decode()
        if rc in _REPLY_CLASSES and rc != _PROTO:
            exc = _REPLY_CLASSES[rc](self._reply() or message)
        elif rc == _PROTO:
            exc = error_proto(message)
        elif rc in (_IO, _NETRC):
            m = re.search(r'\(os error (\d+)\)', message)
            exc = OSError(int(m.group(1)), message) if m else OSError(message)
        elif rc == _TIMEOUT:
            exc = socket.timeout(message)
        elif rc in (_EOF, _TRUNCATED):
            exc = EOFError(message)
        elif rc == _TLS:
            exc = ssl.SSLError(message)
        elif rc == _CERT:
            exc = ssl.SSLCertVerificationError(message)
        elif rc == _INVALID:
            exc = ValueError(message)
        elif rc in (_LINE_LONG, _REPLY_LONG):
            exc = Error(message)
        elif rc == _WRONG_STATE:
            if not _lib.ftp_is_connected(self._h):
                exc = OSError(_errno.ENOTCONN, message)
            else:
                exc = ValueError(message)
        elif rc == _ENCODING:
            exc = UnicodeError(message)
        elif rc == _NULL:
            exc = TypeError(message)
        elif rc == _STOPPED:
            exc = TransferAborted(self._reply() or message)
        else:  # BUSY, PANIC
            exc = RuntimeError(message)
        exc.ftpc_code = rc
        exc.ftpc_message = message
        exc.ftpc_operation = what
        return exc

    def _check(self, rc, what):
        if rc != _OK:
            raise self._exception(rc, what)

    def _run(self, what, fn):
        """Runs ``fn(handle)`` under the lock; raises on failure, else returns the last reply."""
        with self._lock:
            self._pending = None
            self._check(fn(self._h), what)
            return self._reply()

    def _transfer(self, what, fn):
        """As _run, for calls whose callbacks may stop them (an exception, or abort())."""
        call = _Call(self)
        with self._lock:
            self._pending = None
            self._stop_requested = False
            self._in_transfer = True
            try:
                rc = fn(self._h, call)
            finally:
                self._in_transfer = False
            if call.exc is not None:
                exc, call.exc = call.exc, None
                raise exc
            self._check(rc, what)
            return self._reply()

    def _out(self, what, fn):
        """Runs ``fn(handle, out)`` where ``out`` is a ``const char **``; returns its string."""
        out = ctypes.c_char_p()
        with self._lock:
            self._pending = None
            self._check(fn(self._h, ctypes.byref(out)), what)
            return self._dec(out.value or b'')

    def _set_timeouts(self):
        """Every wait of the connection about to be made gets ``self.timeout`` (as ftplib's
        sockets): the default is ``socket.getdefaulttimeout()`` at this moment, None none."""
        if self.timeout is socket._GLOBAL_DEFAULT_TIMEOUT:
            timeout = socket.getdefaulttimeout()
        else:
            timeout = self.timeout
        ms = _timeout_ms(timeout)
        for f in (_lib.ftp_set_timeout_ms, _lib.ftp_set_connect_timeout_ms,
                  _lib.ftp_set_data_connect_timeout_ms, _lib.ftp_set_accept_timeout_ms,
                  _lib.ftp_set_data_timeout_ms):
            self._check(f(self._h, ms), "set timeout")
        self._control_timeout = None if timeout is None else float(timeout)

    # --- connection -----------------------------------------------------------------------

    def connect(self, host='', port=0, timeout=-999, source_address=None):
        """Connects to host:port (default: the ones given before, port 21) and returns the
        greeting."""
        if host != '':
            self.host = host
        if port > 0:
            self.port = port
        if timeout != -999:
            self.timeout = timeout
        if self.timeout is not None and not self.timeout:
            raise ValueError('Non-blocking socket (timeout=0) is not supported')
        if source_address is not None:
            self.source_address = source_address
        sys.audit("ftplib.connect", self, self.host, self.port)
        source = None
        if self.source_address is not None:
            source = _source_arg(self.host, self.port, self.source_address)
        self._set_timeouts()
        self._run("connect", lambda h: _lib.ftp_connect(h, self.host.encode(), self.port, 0, source))
        self._match_epsv()
        self.welcome = self._dec(_lib.ftp_getwelcome(self._h))
        return self.welcome

    @property
    def source_address(self):
        """ftplib's ``source_address``: the ``(host, port)`` bound when connecting and by the
        passive data connections (port 0: any port). Assigned while connected, it applies
        from the next data connection on, as in ftplib."""
        return self._source_address

    @source_address.setter
    def source_address(self, value):
        h = getattr(self, "_h", None)
        if h is not None and _lib.ftp_is_connected(h):
            peer = self.sock.getpeername()[0]
            arg = None if value is None else _source_arg(peer, self.port, value)
            with self._lock:
                self._check(_lib.ftp_set_source_address(h, arg), "source_address")
        self._source_address = value

    def _match_epsv(self):
        """ftplib's choice of commands: EPSV and EPRT on an IPv6 connection, PASV and PORT on
        IPv4. Set per connection, once its family is known: ftp_set_epsv(c, 0) would send
        PASV on IPv6 too."""
        v6 = self.af == socket.AF_INET6
        if v6 != self._epsv:
            self._check(_lib.ftp_set_epsv(self._h, int(v6)), "set epsv")
            self._epsv = v6

    @property
    def sock(self):
        if self._h is None or not _lib.ftp_is_connected(self._h):
            return None
        return _Sock(self)

    @property
    def af(self):
        sock = self.sock
        return sock.family if sock is not None else socket.AF_INET

    def getwelcome(self):
        if self.debugging:
            print('*welcome*', self.sanitize(self.welcome))
        return self.welcome

    def set_debuglevel(self, level):
        """0: no output; 1: commands and replies; 2: also data connection events."""
        self.debugging = level
        self._check(_lib.ftp_set_debuglevel(self._h, max(0, int(level))), "set_debuglevel")

    debug = set_debuglevel

    def set_pasv(self, val):
        """Passive (true, the default) or active (false) data connections."""
        self.passiveserver = bool(val)
        self._check(_lib.ftp_set_pasv(self._h, int(bool(val))), "set_pasv")

    @property
    def trust_server_pasv_ipv4_address(self):
        return self._trust_pasv

    @trust_server_pasv_ipv4_address.setter
    def trust_server_pasv_ipv4_address(self, value):
        self._check(_lib.ftp_set_trust_server_pasv_address(self._h, int(bool(value))), "trust")
        self._trust_pasv = bool(value)

    def sanitize(self, s):
        """repr(s) with a PASS command's argument masked, as in ftplib's debug output."""
        if s[:5] in {'pass ', 'PASS '}:
            i = len(s.rstrip('\r\n'))
            s = s[:5] + '*' * (i - 5) + s[i:]
        return repr(s)

    # --- commands and replies -------------------------------------------------------------

    def putline(self, line):
        self.putcmd(line)

    def putcmd(self, line):
        """Sends a command without reading its reply (follow it with getresp/voidresp)."""
        self._run("putcmd", lambda h: _lib.ftp_putcmd(h, self._enc(line)))

    def getresp(self):
        """Reads a reply; 4xx/5xx raise error_temp/error_perm."""
        with self._lock:
            pending, self._pending = self._pending, None
            if pending is not None:
                if isinstance(pending, BaseException):
                    raise pending
                return pending
        return self._out("getresp", _lib.ftp_getresp)

    getmultiline = getresp

    def voidresp(self):
        """Reads a reply that must be 2xx."""
        resp = self.getresp()
        if resp[:1] != '2':
            raise error_reply(resp)
        return resp

    def sendcmd(self, cmd):
        """Sends a command and returns the reply (1xx-3xx; 4xx/5xx raise)."""
        return self._out(cmd, lambda h, out: _lib.ftp_sendcmd(h, self._enc(cmd), out))

    def voidcmd(self, cmd):
        """Sends a command whose reply must be 2xx, and returns the reply."""
        return self._out(cmd, lambda h, out: _lib.ftp_voidcmd(h, self._enc(cmd), out))

    def login(self, user='', passwd='', acct=''):
        """Logs in (anonymous when no user is given) and returns the last reply."""
        return self._run("login", lambda h: _lib.ftp_login(
            h, self._enc(user or ''), self._enc(passwd or ''), self._enc(acct or '')))

    def acct(self, password):
        return self._run("ACCT", lambda h: _lib.ftp_acct(h, self._enc(password)))

    # --- transfers ------------------------------------------------------------------------

    def retrbinary(self, cmd, callback, blocksize=8192, rest=None):
        """Binary download: ``callback(bytes)`` for each block; returns the final reply."""
        def run(h, call):
            cb = _DATA_CB(lambda _u, data, n: call.guard(callback, ctypes.string_at(data, n)))
            return _lib.ftp_retrbinary(h, self._enc(cmd), cb, None, blocksize, _rest(rest))
        return self._transfer(cmd, run)

    def retrlines(self, cmd, callback=None):
        """Text transfer (TYPE A): ``callback(str)`` for each line, without its end
        (default: print it); returns the final reply."""
        if callback is None:
            callback = print_line
        enc = self.encoding

        def run(h, call):
            cb = _LINE_CB(lambda _u, line, n: call.guard(
                lambda: callback(ctypes.string_at(line, n).decode(enc, 'surrogateescape'))))
            return _lib.ftp_retrlines(h, self._enc(cmd), cb, None)
        return self._transfer(cmd, run)

    def storbinary(self, cmd, fp, blocksize=8192, callback=None, rest=None):
        """Binary upload of ``fp.read(blocksize)`` blocks until EOF; ``callback(block)``
        after each block sent; returns the final reply."""
        leftover = bytearray()

        def read(n):
            data = leftover[:n] if leftover else fp.read(n)
            if leftover:
                del leftover[:n]
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError("storbinary needs a binary file: got %s" % type(data).__name__)
            data = bytes(data)
            if len(data) > n:
                leftover.extend(data[n:])
                data = data[:n]
            return data
        return self._store(cmd, read, callback, blocksize, rest, binary=True)

    def storlines(self, cmd, fp, callback=None):
        """Text upload (TYPE A) of ``fp.readline()`` lines, each sent with CRLF;
        ``callback(line)`` after each line sent; returns the final reply."""
        maxline = self.maxline
        leftover = bytearray()

        def read(n):
            if not leftover:
                line = fp.readline(maxline + 1)
                if not isinstance(line, (bytes, bytearray)):
                    raise TypeError("storlines needs a binary file: got %s" % type(line).__name__)
                if len(line) > maxline:
                    raise Error("got more than %d bytes" % maxline)
                leftover.extend(line)
            data = bytes(leftover[:n])
            del leftover[:n]
            return data
        return self._store(cmd, read, callback, 0, None, binary=False)

    def _store(self, cmd, read, callback, blocksize, rest, binary):
        def run(h, call):
            def on_read(_u, buf, n, out):
                def fill():
                    data = read(n)
                    ctypes.memmove(buf, data, len(data))
                    out[0] = len(data)
                out[0] = 0
                return call.guard(fill)
            rcb = _READ_CB(on_read)
            dcb = _DATA_CB(lambda _u, data, n: call.guard(callback, ctypes.string_at(data, n))) \
                if callback is not None else _DATA_CB()
            if binary:
                return _lib.ftp_storbinary(h, self._enc(cmd), rcb, None, blocksize, dcb, _rest(rest))
            return _lib.ftp_storlines(h, self._enc(cmd), rcb, None, dcb)
        return self._transfer(cmd, run)

    def ntransfercmd(self, cmd, rest=None):
        """Opens a data connection for ``cmd`` (REST first when ``rest`` is given) and
        returns ``(connection, expected size or None)``. Set the type first
        (``voidcmd('TYPE I')``)."""
        out = ctypes.c_void_p()
        self._run(cmd, lambda h: _lib.ftp_transfercmd(h, self._enc(cmd), _rest(rest), ctypes.byref(out)))
        conn = _DataConnection(self, out.value)
        size = _lib.ftp_data_size(out.value)
        return conn, (None if size < 0 else size)

    def _request_stop(self):
        # ftp_cancel reaches the C loop even where no Python callback runs; the flag covers
        # the moment before the C call starts, when there is nothing to cancel yet.
        self._stop_requested = True
        _lib.ftp_cancel(self._h)

    def transfercmd(self, cmd, rest=None):
        """As ntransfercmd, returning only the connection."""
        return self.ntransfercmd(cmd, rest)[0]

    def abort(self):
        """Stops the transfer in progress. From a callback or another thread while a
        transfer runs: that transfer stops after its current block (and raises
        TransferAborted); returns None. With a transfercmd connection open: ABOR, then the
        replies; returns the last. Otherwise ftplib's abort: ABOR, whose reply must be 426,
        225 or 226 (else error_proto); returns it."""
        while True:
            if self._in_transfer:
                self._request_stop()
                return None
            if self._lock.acquire(timeout=0.05):
                break
        try:
            if self._in_transfer:  # abort() from this thread's own callback
                self._request_stop()
                return None
            self._pending = None
            data = self._data() if self._data is not None else None
            self._data = None
            if data is not None:
                rc = data._take_abort()
                self._check(rc, "ABOR")
                return self._reply()
            self._check(_lib.ftp_abort(self._h), "ABOR")
            return self._reply()
        finally:
            self._lock.release()

    # --- directory commands ---------------------------------------------------------------

    def nlst(self, *args):
        """The names NLST gives, as a list."""
        cmd = 'NLST'
        for arg in args:
            cmd = cmd + (' ' + arg)
        files = []
        self.retrlines(cmd, files.append)
        return files

    def dir(self, *args):
        """LIST, each line to the callback given as the last argument (default: print)."""
        cmd = 'LIST'
        func = None
        if args[-1:] and not isinstance(args[-1], str):
            args, func = args[:-1], args[-1]
        for arg in args:
            if arg:
                cmd = cmd + (' ' + arg)
        self.retrlines(cmd, func)

    def mlsd(self, path="", facts=[]):  # noqa: B006 - ftplib's signature
        """Generates ``(name, facts)`` for each MLSD entry; fact names are lower-cased."""
        if facts:  # sent here, as ftplib does, so that a refusal raises as in ftplib
            self.sendcmd("OPTS MLST " + ";".join(facts) + ";")
        path_arg = self._enc(path) if path else None
        out = ctypes.c_void_p()
        self._run("MLSD", lambda h: _lib.ftp_mlsd(h, path_arg, None, ctypes.byref(out)))
        listing = out.value
        entries = []
        try:
            for i in range(_lib.ftp_listing_count(listing)):
                e = _lib.ftp_listing_get(listing, i)
                n = _c_size()
                name = ctypes.string_at(_lib.ftp_entry_name(e, ctypes.byref(n)), n.value)
                found = {}
                k, v = ctypes.c_char_p(), ctypes.c_char_p()
                for j in range(_lib.ftp_entry_fact_count(e)):
                    if _lib.ftp_entry_fact_at(e, j, ctypes.byref(k), ctypes.byref(v)):
                        found[self._dec(k.value)] = self._dec(v.value)
                entries.append((self._dec(name), found))
        finally:
            _lib.ftp_listing_free(listing)
        yield from entries

    def _entry_facts(self, e):
        """An entry's facts as mlsd gives them, plus "type" and "size" from the parsed
        entry when the listing (LIST) had no such facts."""
        found = {}
        k, v = ctypes.c_char_p(), ctypes.c_char_p()
        for j in range(_lib.ftp_entry_fact_count(e)):
            if _lib.ftp_entry_fact_at(e, j, ctypes.byref(k), ctypes.byref(v)):
                found[self._dec(k.value)] = self._dec(v.value)
        if "type" not in found and _lib.ftp_entry_type(e) in _ENTRY_TYPES:
            found["type"] = _ENTRY_TYPES[_lib.ftp_entry_type(e)]
        size = _lib.ftp_entry_size(e)
        if "size" not in found and size >= 0:
            found["size"] = str(size)
        return found

    def walk(self, path="", *, depth_first=True, max_depth=None, follow_links=False,
             use_list=False, use_mlsd=False, skip=None):
        """Generates ``(path, facts, depth)`` for each entry of the tree below ``path``
        ("": the current directory), with ``ftp_walk``: ``path`` is the root joined with
        the names on the way by "/" (str, or bytes when ``path`` is bytes), ``facts`` a
        dict as mlsd's (with "type" and "size" also for LIST servers), ``depth`` 1 for the
        root's entries. Directories are listed with MLSD when the server offers it, else
        LIST (``use_list``/``use_mlsd`` force one). ``depth_first=False``: breadth-first.
        ``max_depth``: the deepest level given (None: no limit). ``follow_links``: enter
        links to directories (MLSD only). ``skip(path, facts, depth)``, when given, is
        called for each entry during the walk; a true result keeps the walk out of that
        directory.

        A generator, but not a lazy one: the whole walk runs at the first next() and its
        entries are collected, then yielded (the C walk calls back, it cannot be paused).
        Names that cannot be a path component are left out; their count is in
        ``self.walk_refused`` after the walk."""
        if max_depth is not None and max_depth < 1:
            raise ValueError("max_depth must be at least 1 (or None)")
        flags = ((0 if depth_first else _WALK_BREADTH_FIRST) |
                 (_WALK_FOLLOW_LINKS if follow_links else 0) |
                 (_WALK_USE_LIST if use_list else 0) | (_WALK_USE_MLSD if use_mlsd else 0))
        as_bytes = isinstance(path, bytes)
        root = path if as_bytes else (self._enc(path) if path else None)
        entries = []
        refused = _c_size()

        def on_entry(_userdata, p, n, e, depth):
            name = ctypes.string_at(p, n)
            item = (name if as_bytes else self._dec(name), self._entry_facts(e), depth)
            entries.append(item)
            if skip is not None and skip(*item):
                return _WALK_SKIP
            return _WALK_CONTINUE

        def run(h, call):
            cb = _WALK_CB(lambda *a: _WALK_STOP if call.exc is not None or self._stop_requested
                          else _guarded_walk(call, on_entry, a))
            return _lib.ftp_walk(h, root or None, flags, max_depth or 0, cb, None,
                                 ctypes.byref(refused))

        self._transfer("walk", run)
        self.walk_refused = refused.value
        yield from entries

    def rename(self, fromname, toname):
        return self._run("rename", lambda h: _lib.ftp_rename(h, self._enc(fromname), self._enc(toname)))

    def delete(self, filename):
        return self._run("DELE", lambda h: _lib.ftp_delete(h, self._enc(filename)))

    def cwd(self, dirname):
        return self._run("CWD", lambda h: _lib.ftp_cwd(h, self._enc(dirname)))

    def size(self, filename):
        """The size from SIZE's 213 reply, or None."""
        out = ctypes.c_int64()
        self._run("SIZE", lambda h: _lib.ftp_size(h, self._enc(filename), ctypes.byref(out)))
        return None if out.value < 0 else out.value

    def mkd(self, dirname):
        return self._out("MKD", lambda h, out: _lib.ftp_mkd(h, self._enc(dirname), out))

    def rmd(self, dirname):
        return self._run("RMD", lambda h: _lib.ftp_rmd(h, self._enc(dirname)))

    def pwd(self):
        return self._out("PWD", _lib.ftp_pwd)

    def makepasv(self):
        """EPSV (or PASV) and the (host, port) to connect to."""
        port = _c_u16()
        host = self._out("makepasv", lambda h, out: _lib.ftp_makepasv(h, out, ctypes.byref(port)))
        return host, port.value

    def sendport(self, host, port):
        """PORT host,port."""
        return self._run("PORT", lambda h: _lib.ftp_sendport(h, host.encode(), port, 1))

    def sendeprt(self, host, port):
        """EPRT |af|host|port|."""
        return self._run("EPRT", lambda h: _lib.ftp_sendport(h, host.encode(), port, 0))

    def makeport(self):
        """ftplib's makeport: a listening socket on the control connection's local address,
        announced with PORT (IPv4) or EPRT (IPv6); the caller accepts on it."""
        host = self.sock.getsockname()[0] if self.sock is not None else None
        if host is None:
            raise OSError("not connected")
        af = self.af
        sock = socket.create_server((host, 0), family=af, backlog=1)
        try:
            port = sock.getsockname()[1]
            (self.sendport if af == socket.AF_INET else self.sendeprt)(host, port)
            if isinstance(self.timeout, (int, float)) and self.timeout > 0:
                sock.settimeout(self.timeout)
        except BaseException:
            sock.close()
            raise
        return sock

    def quit(self):
        """QUIT, then close (even when the reply is an error)."""
        try:
            return self._run("QUIT", _lib.ftp_quit)
        finally:
            self.close()

    def close(self):
        """Closes the connection without QUIT. Idempotent."""
        with self._lock:
            data = self._data() if self._data is not None else None
            self._data = None
            if data is not None:
                data._drop()
            if self._h is not None:
                _lib.ftp_close(self._h)


def _source_arg(host, port, source_address):
    """``source_address`` as ftp_connect takes it: "addr", "addr:port" or "[v6]:port". A
    name is resolved here, to an address of the family of the first address of ``host``
    that it has one in (as socket.create_connection binds it for each address it tries)."""
    shost, sport = source_address
    try:
        literal = ipaddress.ip_address(shost) if shost else None
    except ValueError:
        literal = None
    if literal is None:
        try:
            v6 = ipaddress.ip_address(host).version == 6
            families = [socket.AF_INET6 if v6 else socket.AF_INET]
        except ValueError:
            families = [ai[0] for ai in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)]
        if not shost:  # any address, of the family the connection will use
            shost = '::' if families and families[0] == socket.AF_INET6 else '0.0.0.0'
        else:
            found, error = None, None
            for family in dict.fromkeys(families):
                try:
                    found = socket.getaddrinfo(shost, sport, family, socket.SOCK_STREAM)[0][4][0]
                    break
                except socket.gaierror as e:
                    error = e
            if found is None:
                raise error or socket.gaierror(socket.EAI_NONAME, "no address for %r" % shost)
            shost = found
    if ':' in shost and sport:
        shost = '[%s]' % shost
    return ('%s:%d' % (shost, sport) if sport else shost).encode()


def _rest(rest):
    if rest is None:
        return _NO_REST
    rest = int(rest)
    if rest < 0:
        raise ValueError("rest must not be negative")
    return rest


class _DataConnection:
    """A data connection from transfercmd: enough of a socket for ftplib-style code."""

    def __init__(self, ftp, handle):
        self._ftp = ftp           # keeps the client (and its handle) alive while this is open
        self._h = handle
        ftp._data = weakref.ref(self)

    def _alive(self):
        if self._h is None:
            raise OSError(_errno.EBADF, "the data connection is closed")
        return self._h

    def recv_into(self, buffer, nbytes=0):
        view = memoryview(buffer).cast('B')
        n = nbytes or len(view)
        if n == 0:
            return 0
        buf = (ctypes.c_char * n).from_buffer(view) if not view.readonly else None
        if buf is None:
            raise TypeError("recv_into needs a writable buffer")
        got = _c_size()
        rc = _lib.ftp_data_read(self._alive(), ctypes.addressof(buf), n, ctypes.byref(got))
        if rc != _OK:
            raise self._ftp._exception(rc, "data read")
        return got.value

    def recv(self, bufsize):
        buf = bytearray(bufsize)
        n = self.recv_into(buf)
        return bytes(buf[:n])

    def send(self, data):
        data = bytes(data)
        if not data:
            return 0
        buf = ctypes.create_string_buffer(data, len(data))
        done = _c_size()
        rc = _lib.ftp_data_write(self._alive(), buf, len(data), ctypes.byref(done))
        if rc != _OK:
            raise self._ftp._exception(rc, "data write")
        return done.value

    def sendall(self, data):
        view = memoryview(bytes(data))
        while view:
            view = view[self.send(view):]

    def makefile(self, mode='rb', buffering=io.DEFAULT_BUFFER_SIZE):
        raw = _DataRaw(self, mode)
        if 'w' in mode:
            return io.BufferedWriter(raw, buffering)
        return io.BufferedReader(raw, buffering)

    def unwrap(self):
        return self

    def getsockname(self):
        """This side's address on the data connection, as a socket's ``getsockname()``."""
        host, port = ctypes.c_char_p(), _c_u16()
        with self._ftp._lock:
            rc = _lib.ftp_data_local_address(self._alive(), ctypes.byref(host), ctypes.byref(port))
            if rc != _OK:
                raise self._ftp._exception(rc, "getsockname")
            host = host.value.decode()
        return (host, port.value) if ":" not in host else (host, port.value, 0, 0)

    def close(self):
        """Ends the transfer: TLS close_notify, then the server's final reply, which the
        next getresp()/voidresp() on the FTP object returns (or raises)."""
        ftp = self._ftp
        with ftp._lock:
            if self._h is None:
                return
            handle, self._h = self._h, None
            if ftp._data is not None and ftp._data() is self:
                ftp._data = None
            rc = _lib.ftp_data_close(handle)
            ftp._pending = ftp._reply() if rc == _OK else ftp._exception(rc, "data close")

    def _take_abort(self):
        handle, self._h = self._h, None
        return _lib.ftp_data_abort(handle) if handle is not None else _OK

    def _drop(self):
        """The control connection is going away: abort without caring for the result."""
        self._take_abort()

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()

    def __del__(self):
        if self._h is not None:
            try:
                self._drop()
            except Exception:
                pass


class _DataRaw(io.RawIOBase):
    def __init__(self, conn, mode):
        self._conn = conn
        self._mode = mode

    def readable(self):
        return 'r' in self._mode

    def writable(self):
        return 'w' in self._mode

    def readinto(self, b):
        return self._conn.recv_into(b)

    def write(self, b):
        return self._conn.send(b)


class FTP_TLS(FTP):
    """ftplib's FTP_TLS: explicit FTPS (AUTH TLS), on ftpc. Certificates and host names are
    verified against ``cafile``/``capath`` when given, else the system store; ``verify=False`` turns
    verification off. ``implicit=True`` speaks TLS from the first byte (port 990 by default)."""

    _new = staticmethod(_lib.ftp_tls_new)

    #: Whether certificates and host names are verified when neither ``context`` nor
    #: ``verify=`` says: True here; ``ftpc_ftplib.FTP_TLS.verify = False`` gives ftplib's
    #: default (no verification without a context) to every FTP_TLS made afterwards.
    verify = True

    def __init__(self, host='', user='', passwd='', acct='', keyfile=None, certfile=None,
                 context=None, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, *,
                 encoding='utf-8', cafile=None, capath=None, verify=None, implicit=False):
        if context is not None and keyfile is not None:
            raise ValueError("context and keyfile arguments are mutually exclusive")
        if context is not None and certfile is not None:
            raise ValueError("context and certfile arguments are mutually exclusive")
        self.context = context
        self.keyfile = keyfile
        self.certfile = certfile
        self._ca_tmp = None
        self._prot = None
        self._tls_mode = _TLS_IMPLICIT if implicit else _TLS_EXPLICIT
        super().__init__(timeout=timeout, source_address=source_address, encoding=encoding)
        h = self._h
        if implicit:
            self._check(_lib.ftp_set_tls_mode(h, _TLS_IMPLICIT), "implicit")
            self.port = 990
        if context is not None:
            cafile, verify = self._from_context(context, cafile, verify)
        elif verify is None:
            verify = self.verify
        if cafile is not None:
            self._check(_lib.ftp_set_tls_ca_file(h, os.fsencode(cafile)), "cafile")
        if capath is not None:
            self._check(_lib.ftp_set_tls_ca_dir(h, os.fsencode(capath)), "capath")
        if certfile is not None:
            key = os.fsencode(keyfile) if keyfile is not None else None
            self._check(_lib.ftp_set_tls_client_cert(h, os.fsencode(certfile), key), "certfile")
        if not verify:
            self._check(_lib.ftp_set_tls_verify(h, 0), "verify")
        self.verify = bool(verify)
        if host:
            self.connect(host)
            if user:
                self.login(user, passwd, acct)

    def _from_context(self, ctx, cafile, verify):
        """What an ssl.SSLContext says that the C library can be told."""
        if not isinstance(ctx, ssl.SSLContext):
            raise TypeError("context must be an ssl.SSLContext")
        if ctx.verify_mode == ssl.CERT_NONE:
            verify = False
        elif verify is None:  # the context's verification, whatever FTP_TLS.verify says
            verify = True
        if verify and not ctx.check_hostname:
            raise ValueError("ftpc verifies host names whenever it verifies certificates: "
                             "a context with check_hostname=False and verification on "
                             "cannot be expressed")
        versions = {ssl.TLSVersion.TLSv1_2: _TLS_V12, ssl.TLSVersion.TLSv1_3: _TLS_V13}
        if ctx.minimum_version in versions:
            self._check(_lib.ftp_set_tls_min_version(self._h, versions[ctx.minimum_version]), "min")
        if ctx.maximum_version in versions:
            self._check(_lib.ftp_set_tls_max_version(self._h, versions[ctx.maximum_version]), "max")
        ders = ctx.get_ca_certs(binary_form=True)
        if ders and cafile is None:
            pem = "".join(ssl.DER_cert_to_PEM_cert(der) for der in ders).encode()
            self._check(_lib.ftp_set_tls_ca_pem(self._h, pem, len(pem)), "cadata")
        return cafile, verify

    def connect(self, host='', port=0, timeout=-999, source_address=None):
        self._prot = None
        return super().connect(host, port, timeout, source_address)

    def login(self, user='', passwd='', acct='', secure=True):
        """AUTH TLS (unless already on, or ``secure`` is false), login, then PBSZ 0 +
        PROT P unless prot_p() or prot_c() was called before. Returns the login's reply."""
        with self._lock:
            if secure and not _lib.ftp_is_tls(self._h):
                self.auth()
            # ftp_login on a TLS handle would run AUTH and PBSZ/PROT P itself, and PROT P's
            # reply would then hide the login's, which ftplib returns. So log in with the
            # handle's TLS mode off (it only steers connect and login), then protect.
            self._check(_lib.ftp_set_tls_mode(self._h, _TLS_OFF), "login")
            try:
                resp = super().login(user, passwd, acct)
            finally:
                _lib.ftp_set_tls_mode(self._h, self._tls_mode)
            if self._prot is None and _lib.ftp_is_tls(self._h):
                self._check(_lib.ftp_prot_p(self._h), "PROT P")
                self._prot = 'P'
            return resp

    def auth(self):
        """AUTH TLS and the handshake; ValueError when TLS is already on."""
        with self._lock:
            if _lib.ftp_is_tls(self._h):
                raise ValueError("Already using TLS")
            return self._run("AUTH", _lib.ftp_auth)

    def ccc(self):
        """Back to clear text on the control connection; ValueError when not TLS."""
        with self._lock:
            if not _lib.ftp_is_tls(self._h):
                raise ValueError("not using TLS")
            return self._run("CCC", _lib.ftp_ccc)

    def prot_p(self):
        """PBSZ 0 + PROT P: protected data connections."""
        resp = self._run("PROT P", _lib.ftp_prot_p)
        self._prot = 'P'
        return resp

    def prot_c(self):
        """PROT C: clear-text data connections (also after login, if called before it)."""
        resp = self._run("PROT C", _lib.ftp_prot_c)
        self._prot = 'C'
        return resp
