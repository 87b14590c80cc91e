//! Exported functions of the client handle: connection, login, commands, options.

use super::handle::{
    defer_free, free_now, ftp_client, optional, out_ref, peek, required, run, to_cstring, utf8, with_client, Fail,
};
use super::status::{FTP_ERR_BUSY, FTP_ERR_INVALID_ARGUMENT, FTP_ERR_NULL_ARGUMENT, FTP_ERR_WRONG_STATE};
use crate::{Client, Encoding};
use std::ffi::{c_char, c_int, c_void};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Creates a client handle, not connected. Free it with `ftp_free`. Never returns NULL
/// except when memory is exhausted.
#[no_mangle]
pub extern "C" fn ftp_new() -> *mut ftp_client {
    new_handle(Client::new)
}

/// Creates a client handle for explicit FTPS, as ftplib's `FTP_TLS`: `ftp_login` runs
/// AUTH TLS first, verifies the server's certificate and host name, and then protects the
/// data connections (PBSZ 0, PROT P) unless `ftp_prot_c` was called. Free with `ftp_free`.
#[no_mangle]
pub extern "C" fn ftp_tls_new() -> *mut ftp_client {
    new_handle(Client::new_tls)
}

fn new_handle(make: fn() -> Client) -> *mut ftp_client {
    std::panic::catch_unwind(|| Box::into_raw(Box::new(ftp_client::new(make())))).unwrap_or(std::ptr::null_mut())
}

/// Frees a handle, closing its connection without sending QUIT. NULL is ignored. The handle
/// must not be used afterwards and must not be in a call (e.g. freed from its own callback).
/// A handle whose multi-handle job runs is freed when the job ends (see `ftp_multi_start`).
#[no_mangle]
pub extern "C" fn ftp_free(client: *mut ftp_client) {
    if client.is_null() {
        return;
    }
    if let Some(handle) = super::handle::deref(client) {
        if defer_free(handle) {
            return;
        }
    }
    free_now(client);
}

/// A timeout in milliseconds from C: > 0 is that long, 0 keeps the current setting (the
/// library default unless changed), < 0 is invalid.
fn timeout_arg(ms: i64) -> Result<Option<Duration>, Fail> {
    match ms {
        0 => Ok(None),
        ms if ms < 0 => Err(Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("negative timeout {ms} ms"))),
        ms => Ok(Some(Duration::from_millis(ms as u64))),
    }
}

/// `"addr"`, `"addr:port"` or `"[v6]:port"`, port 0 when not given.
fn source_arg(text: Option<&[u8]>) -> Result<Option<SocketAddr>, Fail> {
    let Some(text) = text else { return Ok(None) };
    let text = utf8(text, "source address")?;
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Ok(Some(sa));
    }
    let bare = text.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .map(|ip| Some(SocketAddr::new(ip, 0)))
        .map_err(|_| Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("source address {text:?} is not an IP address")))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Connects to `host` (a name or an IP address, `[v6]` brackets allowed) on `port` (0 means
/// 21; 990 after `ftp_set_tls_mode(c, FTP_TLS_IMPLICIT)`), trying every address the name
/// resolves to, and reads the greeting. `timeout_ms` > 0 becomes the handle's timeout (see
/// "Timeouts" at the top: it bounds every later wait too, data connections included); 0
/// keeps the handle's timeout (60 s by default); < 0 is FTP_ERR_INVALID_ARGUMENT. `source_address` (may be NULL)
/// is an IP address, optionally with a port, to bind before connecting; it stays the
/// handle's source address (`ftp_set_source_address`), which passive data connections bind
/// too, its port included (with SO_REUSEADDR, so that they can share the control
/// connection's port). A 4xx or 5xx greeting
/// gives FTP_ERR_TEMP or FTP_ERR_PERM and leaves the handle unconnected.
#[no_mangle]
pub extern "C" fn ftp_connect(
    client: *mut ftp_client,
    host: *const c_char,
    port: u16,
    timeout_ms: i64,
    source_address: *const c_char,
) -> c_int {
    with_client(client, |inner| {
        let host = utf8(required(host, "host")?, "host")?;
        let timeout = timeout_arg(timeout_ms)?;
        let source = source_arg(optional(source_address))?;
        inner.client.connect(host, port, timeout, source)?;
        Ok(())
    })
}

/// Sets the address to bind (`"addr"`, `"addr:port"` or `"[v6]:port"`, as `ftp_connect`
/// takes it), as ftplib's `source_address` assigned after connecting; NULL binds nothing.
/// It applies from the next data connection on: a passive data connection binds its host
/// and, when given, its port (one data connection at a time; the control connection may
/// hold the same port, see `ftp_connect`). Active mode listens on the control connection's
/// address whatever this says. The next `ftp_connect`/`ftp_open` replaces it with its own
/// `source_address` argument, NULL included. Codes: FTP_OK, FTP_ERR_INVALID_ARGUMENT (not
/// an IP address), FTP_ERR_ENCODING (not UTF-8), FTP_ERR_NULL_ARGUMENT (`client` NULL).
#[no_mangle]
pub extern "C" fn ftp_set_source_address(client: *mut ftp_client, source_address: *const c_char) -> c_int {
    with_client(client, |inner| {
        let source = source_arg(optional(source_address))?;
        inner.client.set_source_address(source);
        Ok(())
    })
}

/// ftplib's `FTP(host, user, passwd, acct, timeout, source_address, encoding)` in one call:
/// sets the encoding (NULL keeps UTF-8), connects to port 21 (990 with implicit FTPS), and logs in when `user` is not
/// NULL (`passwd`, `acct` NULL mean empty). Codes as `ftp_connect` and `ftp_login`.
#[no_mangle]
pub extern "C" fn ftp_open(
    client: *mut ftp_client,
    host: *const c_char,
    user: *const c_char,
    passwd: *const c_char,
    acct: *const c_char,
    timeout_ms: i64,
    source_address: *const c_char,
    encoding: *const c_char,
) -> c_int {
    with_client(client, |inner| {
        let host = utf8(required(host, "host")?, "host")?;
        let timeout = timeout_arg(timeout_ms)?;
        let source = source_arg(optional(source_address))?;
        if let Some(name) = optional(encoding) {
            inner.client.config_mut().encoding = encoding_arg(name)?;
        }
        let user = optional(user).map(|u| utf8(u, "user")).transpose()?;
        let passwd = utf8(optional(passwd).unwrap_or_default(), "password")?;
        let acct = utf8(optional(acct).unwrap_or_default(), "account")?;
        inner.client.open_session(host, user, passwd, acct, timeout, source)?;
        Ok(())
    })
}

fn encoding_arg(name: &[u8]) -> Result<Encoding, Fail> {
    std::str::from_utf8(name).ok().and_then(Encoding::from_name).ok_or_else(|| {
        Fail::Status(
            FTP_ERR_INVALID_ARGUMENT,
            format!("unknown encoding {:?} (use \"utf-8\", \"latin-1\" or \"bytes\")", lossy(name)),
        )
    })
}

/// The server's greeting, NUL-terminated, borrowed from the handle until the next call on
/// it; NULL when not connected yet, or when `client` is NULL or busy.
#[no_mangle]
pub extern "C" fn ftp_getwelcome(client: *const ftp_client) -> *const c_char {
    peek(client, |inner| match inner.client.welcome() {
        Some(reply) => inner.welcome.insert(to_cstring(reply.text.clone())).as_ptr(),
        None => std::ptr::null(),
    })
    .unwrap_or(std::ptr::null())
}

/// Logs in as ftplib's `login`: NULL or "" user means "anonymous", whose NULL, "" or "-"
/// password gets "anonymous@" appended; PASS follows a 3xx to USER and ACCT a 3xx to PASS.
/// FTP_ERR_REPLY when the last reply is not 2xx; FTP_ERR_TEMP or FTP_ERR_PERM for 4xx/5xx.
#[no_mangle]
pub extern "C" fn ftp_login(
    client: *mut ftp_client,
    user: *const c_char,
    passwd: *const c_char,
    acct: *const c_char,
) -> c_int {
    with_client(client, |inner| {
        let user = utf8(optional(user).unwrap_or_default(), "user")?;
        let passwd = utf8(optional(passwd).unwrap_or_default(), "password")?;
        let acct = utf8(optional(acct).unwrap_or_default(), "account")?;
        inner.client.login(user, passwd, acct)?;
        Ok(())
    })
}

/// Logs in with the netrc entry for the connected host (or the `default` entry) from `path`,
/// or `$HOME/.netrc` when NULL. FTP_ERR_NETRC when the file cannot be read or parsed, holds a
/// password but is readable by others, or has no entry that applies.
#[no_mangle]
pub extern "C" fn ftp_login_netrc(client: *mut ftp_client, path: *const c_char) -> c_int {
    with_client(client, |inner| {
        let path = optional(path).map(|p| {
            use std::os::unix::ffi::OsStrExt;
            std::path::PathBuf::from(std::ffi::OsStr::from_bytes(p))
        });
        inner.client.login_netrc(path.as_deref())?;
        Ok(())
    })
}

/// Sends ACCT with `password`; the reply must be 2xx.
#[no_mangle]
pub extern "C" fn ftp_acct(client: *mut ftp_client, password: *const c_char) -> c_int {
    with_client(client, |inner| {
        let password = utf8(required(password, "password")?, "password")?;
        inner.client.acct(password)?;
        Ok(())
    })
}

/// Sends a command line (without CRLF) and reads its reply; a 1xx, 2xx or 3xx reply is
/// FTP_OK. `out` (may be NULL) receives the reply text, borrowed until the next call.
#[no_mangle]
pub extern "C" fn ftp_sendcmd(client: *mut ftp_client, cmd: *const c_char, out: *mut *const c_char) -> c_int {
    with_client(client, |inner| {
        let cmd = required(cmd, "cmd")?;
        let reply = inner.client.sendcmd(cmd)?;
        inner.lend_to(out, reply.text);
        Ok(())
    })
}

/// As `ftp_sendcmd`, but any reply other than 2xx is an error (FTP_ERR_REPLY for 1xx/3xx).
#[no_mangle]
pub extern "C" fn ftp_voidcmd(client: *mut ftp_client, cmd: *const c_char, out: *mut *const c_char) -> c_int {
    with_client(client, |inner| {
        let cmd = required(cmd, "cmd")?;
        let reply = inner.client.voidcmd(cmd)?;
        inner.lend_to(out, reply.text);
        Ok(())
    })
}

/// The current directory from the 257 reply to PWD, into `*out` (borrowed until the next
/// call); "" when the server answers another 2xx code.
#[no_mangle]
pub extern "C" fn ftp_pwd(client: *mut ftp_client, out: *mut *const c_char) -> c_int {
    with_client(client, |inner| {
        let out = out_ref(out, "out")?;
        let path = inner.client.pwd()?;
        *out = inner.lend(path);
        Ok(())
    })
}

/// Makes a directory. `out` (may be NULL) receives the path from the 257 reply, borrowed
/// until the next call, "" when the reply has none.
#[no_mangle]
pub extern "C" fn ftp_mkd(client: *mut ftp_client, dirname: *const c_char, out: *mut *const c_char) -> c_int {
    with_client(client, |inner| {
        let dirname = required(dirname, "dirname")?;
        let path = inner.client.mkd(dirname)?;
        inner.lend_to(out, path);
        Ok(())
    })
}

/// Changes the directory: ".." sends CDUP (then "CWD .." if CDUP is unknown), "" means ".".
#[no_mangle]
pub extern "C" fn ftp_cwd(client: *mut ftp_client, dirname: *const c_char) -> c_int {
    with_client(client, |inner| {
        inner.client.cwd(required(dirname, "dirname")?)?;
        Ok(())
    })
}

/// Removes a directory.
#[no_mangle]
pub extern "C" fn ftp_rmd(client: *mut ftp_client, dirname: *const c_char) -> c_int {
    with_client(client, |inner| {
        inner.client.rmd(required(dirname, "dirname")?)?;
        Ok(())
    })
}

/// Deletes a file; only a 200 or 250 reply is success, other 1xx-3xx give FTP_ERR_REPLY.
#[no_mangle]
pub extern "C" fn ftp_delete(client: *mut ftp_client, filename: *const c_char) -> c_int {
    with_client(client, |inner| {
        inner.client.delete(required(filename, "filename")?)?;
        Ok(())
    })
}

/// Renames with RNFR (which must be answered 3xx, else FTP_ERR_REPLY) then RNTO.
#[no_mangle]
pub extern "C" fn ftp_rename(client: *mut ftp_client, fromname: *const c_char, toname: *const c_char) -> c_int {
    with_client(client, |inner| {
        let from = required(fromname, "fromname")?;
        let to = required(toname, "toname")?;
        inner.client.rename(from, to)?;
        Ok(())
    })
}

/// The size of a file from SIZE's 213 reply into `*out`, or -1 when the server answers with
/// another 1xx-3xx code or no number (size unknown). Use TYPE I first for byte counts.
#[no_mangle]
pub extern "C" fn ftp_size(client: *mut ftp_client, filename: *const c_char, out: *mut i64) -> c_int {
    with_client(client, |inner| {
        let filename = required(filename, "filename")?;
        let out = out_ref(out, "out")?;
        let size = inner.client.size(filename)?;
        *out = size.and_then(|s| i64::try_from(s).ok()).unwrap_or(-1);
        Ok(())
    })
}

/// Sends QUIT and closes the connection, even when the reply is an error (whose code is
/// returned). The handle can connect again.
#[no_mangle]
pub extern "C" fn ftp_quit(client: *mut ftp_client) -> c_int {
    run(client, |c| c.quit())
}

/// Closes the connection without sending anything. Idempotent.
#[no_mangle]
pub extern "C" fn ftp_close(client: *mut ftp_client) -> c_int {
    with_client(client, |inner| {
        inner.client.close();
        Ok(())
    })
}

/// 1 when the control connection is open, 0 when not (or `client` is NULL or busy).
#[no_mangle]
pub extern "C" fn ftp_is_connected(client: *const ftp_client) -> c_int {
    peek(client, |inner| c_int::from(inner.client.is_connected())).unwrap_or(0)
}

/// The code of the reply to the last command sent (the greeting after a connect), 100-599;
/// 0 when that command got no reply (a timeout, a dropped connection), before any command,
/// or for a NULL/busy `client`. A failed call that sent nothing leaves it unchanged; a
/// successful login on a TLS handle ends with PROT P, whose reply this is (the login's own
/// reply is what `ftp_login` returns in `out`).
#[no_mangle]
pub extern "C" fn ftp_last_reply_code(client: *const ftp_client) -> c_int {
    peek(client, |inner| inner.client.last_reply().map_or(0, |r| c_int::from(r.code))).unwrap_or(0)
}

/// The full text of the last reply (all lines joined by "\n"), borrowed until the next call;
/// "" when none yet, NULL when `client` is NULL or busy.
#[no_mangle]
pub extern "C" fn ftp_last_reply_text(client: *const ftp_client) -> *const c_char {
    peek(client, |inner| {
        let text = inner.client.last_reply().map(|r| r.text.clone()).unwrap_or_default();
        inner.reply_text.insert(to_cstring(text)).as_ptr()
    })
    .unwrap_or(std::ptr::null())
}

/// The message of the last failed call, with its cause, borrowed until the next call on
/// `client`; "" after a successful call. Never NULL: a NULL `client`, or one busy in a call
/// on another thread, gives a static message saying so.
#[no_mangle]
pub extern "C" fn ftp_last_error(client: *const ftp_client) -> *const c_char {
    if client.is_null() {
        return c"client is NULL".as_ptr();
    }
    peek(client, |inner| inner.last_error().1).unwrap_or(c"the handle is busy: a call is running on it".as_ptr())
}

/// The status code the last call returned (FTP_OK after a success); FTP_ERR_NULL_ARGUMENT
/// for a NULL `client`, FTP_ERR_BUSY while a call runs on it.
#[no_mangle]
pub extern "C" fn ftp_last_error_code(client: *const ftp_client) -> c_int {
    if client.is_null() {
        return FTP_ERR_NULL_ARGUMENT;
    }
    peek(client, |inner| inner.last_error().0).unwrap_or(FTP_ERR_BUSY)
}

/// A trace callback: receives one NUL-terminated line of the debug trace, borrowed for the
/// call. Runs on the thread making the call that traces.
pub type ftp_trace_callback = Option<unsafe extern "C" fn(userdata: *mut c_void, line: *const c_char)>;

/// ftplib's `set_debuglevel`: 0 silent, 1 commands and replies (passwords masked), 2 also
/// every data connection event. Levels above 2 are 2; negative is FTP_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub extern "C" fn ftp_set_debuglevel(client: *mut ftp_client, level: c_int) -> c_int {
    with_client(client, |inner| {
        let level = u8::try_from(level.min(2))
            .map_err(|_| Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("negative debug level {level}")))?;
        inner.client.set_debuglevel(level);
        Ok(())
    })
}

struct TraceTarget {
    callback: unsafe extern "C" fn(*mut c_void, *const c_char),
    userdata: *mut c_void,
}

// SAFETY: userdata is opaque to the library and only handed back to the caller's callback,
// on whatever thread the caller uses the handle from, as documented.
unsafe impl Send for TraceTarget {}

impl TraceTarget {
    fn call(&self, line: &str) {
        let line = to_cstring(line.as_bytes().to_vec());
        // SAFETY: the caller's callback, with its own userdata and a valid string.
        unsafe { (self.callback)(self.userdata, line.as_ptr()) }
    }
}

/// Sends the debug trace to `callback` with `userdata` (never read by the library) instead
/// of stderr; a NULL callback restores stderr.
#[no_mangle]
pub extern "C" fn ftp_set_trace_callback(
    client: *mut ftp_client,
    callback: ftp_trace_callback,
    userdata: *mut c_void,
) -> c_int {
    with_client(client, |inner| {
        let sink = callback.map(|callback| {
            let target = TraceTarget { callback, userdata };
            Box::new(move |line: &str| target.call(line)) as crate::TraceSink
        });
        inner.client.set_trace_sink(sink);
        Ok(())
    })
}

/// Sets one override of the timeout from milliseconds: > 0 that long, 0 none (the wait
/// follows the timeout of `ftp_set_timeout_ms`), < 0 invalid.
fn set_override(
    client: *mut ftp_client,
    timeout_ms: i64,
    field: fn(&mut crate::Config) -> &mut Option<std::time::Duration>,
) -> c_int {
    with_client(client, |inner| {
        *field(inner.client.config_mut()) = timeout_arg(timeout_ms)?;
        Ok(())
    })
}

/// The timeout, as ftplib's `timeout`, in ms: it bounds every wait of every call on
/// `client` (connecting, each reply, making or accepting a data connection, TLS handshakes
/// and shutdowns, and any period in which a data connection moves no byte) unless an
/// override below is set for that wait. > 0 is that long; 0 inherits the library default
/// of 60 s; < 0 is FTP_ERR_INVALID_ARGUMENT. Applies from the next wait. `ftp_connect` and
/// `ftp_open` set the same timeout.
#[no_mangle]
pub extern "C" fn ftp_set_timeout_ms(client: *mut ftp_client, timeout_ms: i64) -> c_int {
    with_client(client, |inner| {
        inner.client.config_mut().timeout = timeout_arg(timeout_ms)?.unwrap_or(crate::client::config::DEFAULT_TIMEOUT);
        inner.client.refresh_timeouts()?;
        Ok(())
    })
}

/// Overrides the timeout for establishing the control connection (per address tried), in
/// ms; 0 removes the override (the timeout of `ftp_set_timeout_ms` applies).
#[no_mangle]
pub extern "C" fn ftp_set_connect_timeout_ms(client: *mut ftp_client, timeout_ms: i64) -> c_int {
    set_override(client, timeout_ms, |c| &mut c.connect_timeout)
}

/// Overrides the timeout for establishing a passive data connection, in ms; 0 removes the
/// override.
#[no_mangle]
pub extern "C" fn ftp_set_data_connect_timeout_ms(client: *mut ftp_client, timeout_ms: i64) -> c_int {
    set_override(client, timeout_ms, |c| &mut c.data_connect_timeout)
}

/// Overrides the timeout for the server to connect to us in active mode, in ms; 0 removes
/// the override.
#[no_mangle]
pub extern "C" fn ftp_set_accept_timeout_ms(client: *mut ftp_client, timeout_ms: i64) -> c_int {
    set_override(client, timeout_ms, |c| &mut c.data_accept_timeout)
}

/// Overrides, in ms, the longest a data connection may go without moving a byte (read or
/// write), and the bound on its TLS handshake; 0 removes the override.
#[no_mangle]
pub extern "C" fn ftp_set_data_timeout_ms(client: *mut ftp_client, timeout_ms: i64) -> c_int {
    set_override(client, timeout_ms, |c| &mut c.data_timeout)
}

/// Passive (non-zero, the default) or active (0) data connections, as ftplib's `set_pasv`.
#[no_mangle]
pub extern "C" fn ftp_set_pasv(client: *mut ftp_client, passive: c_int) -> c_int {
    with_client(client, |inner| {
        inner.client.config_mut().passive = passive != 0;
        Ok(())
    })
}

/// Whether to connect to the address a 227 reply gives (non-zero) instead of the control
/// connection's peer (0, the default): ftplib's `trust_server_pasv_ipv4_address`.
#[no_mangle]
pub extern "C" fn ftp_set_trust_server_pasv_address(client: *mut ftp_client, trust: c_int) -> c_int {
    with_client(client, |inner| {
        inner.client.config_mut().trust_server_pasv_address = trust != 0;
        Ok(())
    })
}

/// Whether to try EPSV/EPRT before PASV/PORT (non-zero, the default) or use only PASV/PORT
/// on IPv4 (0). IPv6 always uses EPSV/EPRT: PASV and PORT cannot carry an IPv6 address. A
/// server that refuses EPSV/EPRT (5xx) gets PASV/PORT for the rest of the session; one that
/// does not answer EPSV within 3 s (or the timeout, if shorter) over IPv4 gets PASV too,
/// its late answer skipped, for the rest of the session.
#[no_mangle]
pub extern "C" fn ftp_set_epsv(client: *mut ftp_client, enable: c_int) -> c_int {
    with_client(client, |inner| {
        inner.client.config_mut().use_epsv = enable != 0;
        Ok(())
    })
}

/// The server's text encoding: "utf-8" (default), "latin-1" (converted both ways) or
/// "bytes" (passed through untouched). Unknown names give FTP_ERR_INVALID_ARGUMENT. In every
/// mode a name the server gave (listings, MLST, PWD, MKD) is accepted back byte for byte by
/// every call on the handle. In "utf-8" mode server bytes that are not UTF-8 come back
/// escaped as Python's surrogateescape does, each byte b as the 3-byte UTF-8 form of the
/// lone surrogate U+DC00+b (Latin-1 "caf\xe9" reads "caf\xed\xb3\xa9"), and such an
/// escape is sent as its byte; any other text that is not valid UTF-8 is FTP_ERR_ENCODING,
/// with nothing sent.
#[no_mangle]
pub extern "C" fn ftp_set_encoding(client: *mut ftp_client, encoding: *const c_char) -> c_int {
    with_client(client, |inner| {
        inner.client.config_mut().encoding = encoding_arg(required(encoding, "encoding")?)?;
        Ok(())
    })
}

/// The address to advertise in PORT/EPRT in active mode (behind NAT), or NULL to advertise
/// the control connection's local address (the default).
#[no_mangle]
pub extern "C" fn ftp_set_active_address(client: *mut ftp_client, address: *const c_char) -> c_int {
    with_client(client, |inner| {
        let address = match optional(address) {
            None => None,
            Some(text) => Some(utf8(text, "address")?.parse::<IpAddr>().map_err(|_| {
                Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("{:?} is not an IP address", lossy(text)))
            })?),
        };
        inner.client.config_mut().active_address = address;
        Ok(())
    })
}

/// The ports to listen on in active mode, `first` to `last` inclusive; 0, 0 means any port.
#[no_mangle]
pub extern "C" fn ftp_set_active_port_range(client: *mut ftp_client, first: u16, last: u16) -> c_int {
    with_client(client, |inner| {
        inner.client.config_mut().active_port_range = match (first, last) {
            (0, 0) => None,
            (f, l) if f == 0 || f > l => {
                return Err(Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("bad port range {f}-{l}")))
            }
            (f, l) => Some((f, l)),
        };
        Ok(())
    })
}

/// Sends one command line without reading a reply (ftplib's `putcmd`/`putline`); follow it
/// with `ftp_getresp` or `ftp_voidresp`.
#[no_mangle]
pub extern "C" fn ftp_putcmd(client: *mut ftp_client, line: *const c_char) -> c_int {
    with_client(client, |inner| {
        inner.client.putcmd(required(line, "line")?)?;
        Ok(())
    })
}

/// Reads one reply (ftplib's `getresp`): 1xx-3xx are FTP_OK, 4xx FTP_ERR_TEMP, 5xx
/// FTP_ERR_PERM. `out` (may be NULL) receives the text, borrowed until the next call.
#[no_mangle]
pub extern "C" fn ftp_getresp(client: *mut ftp_client, out: *mut *const c_char) -> c_int {
    with_client(client, |inner| {
        let reply = inner.client.getresp()?;
        inner.lend_to(out, reply.text);
        Ok(())
    })
}

/// Reads one reply that must be 2xx (ftplib's `voidresp`); else FTP_ERR_REPLY (1xx/3xx).
#[no_mangle]
pub extern "C" fn ftp_voidresp(client: *mut ftp_client, out: *mut *const c_char) -> c_int {
    with_client(client, |inner| {
        let reply = inner.client.voidresp()?;
        inner.lend_to(out, reply.text);
        Ok(())
    })
}

/// ftplib's `makepasv`: EPSV (or PASV once EPSV was refused) and the address to connect
/// to: `*out_host` (borrowed until the next call) and `*out_port`. The host is the
/// control connection's peer unless `ftp_set_trust_server_pasv_address` was turned on.
#[no_mangle]
pub extern "C" fn ftp_makepasv(client: *mut ftp_client, out_host: *mut *const c_char, out_port: *mut u16) -> c_int {
    with_client(client, |inner| {
        let out_host = out_ref(out_host, "out_host")?;
        let out_port = out_ref(out_port, "out_port")?;
        let addr = inner.client.makepasv()?;
        *out_host = inner.lend(addr.ip().to_string().into_bytes());
        *out_port = addr.port();
        Ok(())
    })
}

/// ftplib's `sendport`/`sendeprt`: tells the server to connect to `host`:`port` for the
/// next transfer, with EPRT (or PORT for IPv4 when `use_port` is non-zero).
#[no_mangle]
pub extern "C" fn ftp_sendport(client: *mut ftp_client, host: *const c_char, port: u16, use_port: c_int) -> c_int {
    with_client(client, |inner| {
        let host = utf8(required(host, "host")?, "host")?;
        let ip: IpAddr = host
            .parse()
            .map_err(|_| Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("{host:?} is not an IP address")))?;
        inner.client.sendport(SocketAddr::new(ip, port), use_port != 0)?;
        Ok(())
    })
}

/// Writes `addr` to the two outputs, the host as an IP address text borrowed until the next call.
pub(super) fn lend_address(
    inner: &mut super::handle::Inner,
    addr: Option<SocketAddr>,
    out_host: *mut *const c_char,
    out_port: *mut u16,
) -> Result<(), Fail> {
    let out_host = out_ref(out_host, "out_host")?;
    let out_port = out_ref(out_port, "out_port")?;
    let addr = addr.ok_or_else(|| Fail::Status(FTP_ERR_WRONG_STATE, "not connected".into()))?;
    *out_host = inner.lend(addr.ip().to_string().into_bytes());
    *out_port = addr.port();
    Ok(())
}

/// The server's address on the control connection: `*out_host` (an IPv4 or IPv6 address
/// without brackets, borrowed until the next call) and `*out_port`. FTP_ERR_WRONG_STATE
/// when not connected.
#[no_mangle]
pub extern "C" fn ftp_peer_address(client: *mut ftp_client, out_host: *mut *const c_char, out_port: *mut u16) -> c_int {
    with_client(client, |inner| {
        let addr = inner.client.peer_addr();
        lend_address(inner, addr, out_host, out_port)
    })
}

/// This side's address on the control connection (what active mode advertises unless
/// `ftp_set_active_address` says otherwise), as `ftp_peer_address`.
#[no_mangle]
pub extern "C" fn ftp_local_address(
    client: *mut ftp_client,
    out_host: *mut *const c_char,
    out_port: *mut u16,
) -> c_int {
    with_client(client, |inner| {
        let addr = inner.client.local_addr();
        lend_address(inner, addr, out_host, out_port)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capi::status::FTP_OK;
    use std::io::Write;

    fn timeouts(c: *mut ftp_client) -> (Duration, Option<Duration>) {
        peek(c, |inner| (inner.client.config().timeout, inner.client.config().data_timeout)).unwrap()
    }

    /// Timeout 0 inherits everywhere: the handle's timeout at connect, the library default
    /// in ftp_set_timeout_ms, the handle's timeout in an override.
    #[test]
    fn a_zero_timeout_inherits() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(b"220 hi\r\n").unwrap();
            s
        });
        let c = ftp_new();
        let default = timeouts(c).0;
        assert_eq!(ftp_set_timeout_ms(c, 2000), FTP_OK);
        assert_eq!(ftp_set_data_timeout_ms(c, 500), FTP_OK);
        assert_eq!(timeouts(c), (Duration::from_secs(2), Some(Duration::from_millis(500))));
        assert_eq!(ftp_connect(c, c"127.0.0.1".as_ptr(), port, 0, std::ptr::null()), FTP_OK);
        assert_eq!(timeouts(c).0, Duration::from_secs(2), "ftp_connect(.., 0) keeps the handle's timeout");
        assert_eq!(ftp_set_data_timeout_ms(c, 0), FTP_OK);
        assert_eq!(timeouts(c).1, None, "an override of 0 follows the handle's timeout");
        assert_eq!(ftp_set_timeout_ms(c, 0), FTP_OK);
        assert_eq!(timeouts(c).0, default, "ftp_set_timeout_ms(c, 0) is the library default");
        assert_eq!(ftp_set_timeout_ms(c, -1), FTP_ERR_INVALID_ARGUMENT);
        ftp_free(c);
        drop(server.join().unwrap());
    }
}
