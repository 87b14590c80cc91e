//! Exported transfer functions: callbacks, the data connection handle, whole-file transfers.

use super::handle::{deref, deref_slice, deref_slice_mut, ftp_client, out_ref, required, with_client, DataLink, Fail};
use super::status::{FTP_ERR_INVALID_ARGUMENT, FTP_ERR_NULL_ARGUMENT, FTP_ERR_WRONG_STATE, FTP_OK};
use crate::transfer::{Flow, LineEnd, StopTransfer};
use crate::{DataConnection, Error};
use std::ffi::{c_char, c_int, c_void};
use std::io::{self, Read, Write};
use std::sync::Arc;

/// For a `rest` argument: no REST command.
pub const FTP_NO_REST: i64 = -1;

/// Receives one block of a download (`data`, `len` bytes, borrowed for the call, not
/// NUL-terminated), or one block just sent by an upload. Return 0 to go on, non-zero to
/// stop the transfer (the call then returns FTP_ERR_STOPPED).
pub type ftp_data_callback = Option<unsafe extern "C" fn(userdata: *mut c_void, data: *const u8, len: usize) -> c_int>;

/// Receives one line of a text transfer, without its line end, NUL-terminated (`len` does
/// not count the NUL), borrowed for the call. Return 0 to go on, non-zero to stop.
pub type ftp_line_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, line: *const c_char, len: usize) -> c_int>;

/// Supplies upload data: write at most `len` bytes to `buf` and their number to
/// `*out_len` (0 at the end of the data). Return 0 on success, non-zero to stop the upload.
pub type ftp_read_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, buf: *mut u8, len: usize, out_len: *mut usize) -> c_int>;

/// Progress of a whole-file transfer: bytes done so far (a resumed transfer counts its
/// offset), and the total (a download: the whole remote file's size, from the 150 reply or
/// SIZE, see `ftp_retrieve_to_fd`; an upload: the offset plus what is left of the local
/// file), or -1 when unknown. Return 0 to go on, non-zero to stop.
pub type ftp_progress_callback = Option<unsafe extern "C" fn(userdata: *mut c_void, done: u64, total: i64) -> c_int>;

fn flow(code: c_int) -> Flow {
    if code == 0 {
        Flow::Continue(())
    } else {
        Flow::Break(())
    }
}

fn rest_arg(rest: i64) -> Result<Option<u64>, Fail> {
    match rest {
        FTP_NO_REST => Ok(None),
        r if r < 0 => Err(Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("rest {r} is negative"))),
        r => Ok(Some(r as u64)),
    }
}

fn null_callback(name: &str) -> Fail {
    Fail::Status(FTP_ERR_NULL_ARGUMENT, format!("{name} is NULL"))
}

/// Upload data pulled from a C read callback.
struct CallbackReader {
    callback: unsafe extern "C" fn(*mut c_void, *mut u8, usize, *mut usize) -> c_int,
    userdata: *mut c_void,
}

impl Read for CallbackReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0usize;
        // SAFETY: the caller's callback with its userdata, a writable buffer of `buf.len()`
        // bytes and a valid pointer for the count.
        let code = unsafe { (self.callback)(self.userdata, buf.as_mut_ptr(), buf.len(), &mut n) };
        if code != 0 {
            return Err(io::Error::other(StopTransfer));
        }
        if n > buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("read callback claimed {n} bytes in a buffer of {}", buf.len()),
            ));
        }
        Ok(n)
    }
}

/// ftplib's `retrbinary`: TYPE I, then `cmd` (e.g. `RETR name`), each block of at most
/// `blocksize` bytes (0: 64 KiB; at most 16 MiB) handed to `callback`. `rest` >= 0 sends
/// REST first; FTP_NO_REST does not. A download shorter than the size the server announced
/// is FTP_ERR_TRUNCATED; one the server or the network cut short is an error, never FTP_OK.
#[no_mangle]
pub extern "C" fn ftp_retrbinary(
    client: *mut ftp_client,
    cmd: *const c_char,
    callback: ftp_data_callback,
    userdata: *mut c_void,
    blocksize: usize,
    rest: i64,
) -> c_int {
    with_client(client, |inner| {
        let cmd = required(cmd, "cmd")?;
        let callback = callback.ok_or_else(|| null_callback("callback"))?;
        let rest = rest_arg(rest)?;
        let mut deliver = |block: &[u8]| {
            // SAFETY: the caller's callback with its userdata and a borrowed block.
            flow(unsafe { callback(userdata, block.as_ptr(), block.len()) })
        };
        inner.client.retrbinary(cmd, &mut deliver, blocksize, rest)?;
        Ok(())
    })
}

/// ftplib's `retrlines`: TYPE A, then `cmd` (e.g. `LIST`, `NLST`, `RETR name`); each line,
/// ended by CRLF, LF or a bare CR, handed to `callback` without its end. A NULL callback
/// prints each line to stdout. A line over 8192 bytes aborts the transfer with
/// FTP_ERR_LINE_TOO_LONG and leaves the connection usable.
#[no_mangle]
pub extern "C" fn ftp_retrlines(
    client: *mut ftp_client,
    cmd: *const c_char,
    callback: ftp_line_callback,
    userdata: *mut c_void,
) -> c_int {
    with_client(client, |inner| {
        let cmd = required(cmd, "cmd")?;
        let mut deliver = line_deliverer(callback, userdata);
        inner.client.retrlines_as(cmd, LineEnd::Nul, &mut deliver)?;
        Ok(())
    })
}

/// Lines that come with their NUL (`LineEnd::Nul`) to a C callback, or to stdout without one.
pub(crate) fn line_deliverer(callback: ftp_line_callback, userdata: *mut c_void) -> impl FnMut(&[u8]) -> Flow {
    move |line: &[u8]| {
        // The line, then its NUL.
        let len = line.len().saturating_sub(1);
        match callback {
            // SAFETY: the caller's callback with a line of `len` bytes and a NUL after it.
            Some(callback) => flow(unsafe { callback(userdata, line.as_ptr().cast(), len) }),
            None => print_line(&line[..len]),
        }
    }
}

/// What a NULL line callback does, as ftplib's default: the line to stdout.
fn print_line(line: &[u8]) -> Flow {
    let mut out = io::stdout().lock();
    let _ = out.write_all(line).and_then(|_| out.write_all(b"\n"));
    Flow::Continue(())
}

/// ftplib's `storbinary`: TYPE I, then `cmd` (e.g. `STOR name`, `APPE name`); blocks of at
/// most `blocksize` bytes (0: 64 KiB; at most 16 MiB) pulled from `read_callback` until it
/// gives 0 bytes, each then passed to `callback` (may be NULL). A `blocksize` over 1 MiB
/// asks `read_callback` for at most 1 MiB per call (the buffer then stays in the CPU's
/// cache). `rest` as in `ftp_retrbinary`.
#[no_mangle]
pub extern "C" fn ftp_storbinary(
    client: *mut ftp_client,
    cmd: *const c_char,
    read_callback: ftp_read_callback,
    userdata: *mut c_void,
    blocksize: usize,
    callback: ftp_data_callback,
    rest: i64,
) -> c_int {
    with_client(client, |inner| {
        let cmd = required(cmd, "cmd")?;
        let read = read_callback.ok_or_else(|| null_callback("read_callback"))?;
        let rest = rest_arg(rest)?;
        let mut source = CallbackReader { callback: read, userdata };
        let mut sent = callback.map(|cb| {
            move |block: &[u8]| {
                // SAFETY: the caller's callback with its userdata and the block just sent.
                flow(unsafe { cb(userdata, block.as_ptr(), block.len()) })
            }
        });
        let sent = sent.as_mut().map(|f| f as &mut dyn FnMut(&[u8]) -> Flow);
        inner.client.storbinary(cmd, &mut source, blocksize, sent, rest)?;
        Ok(())
    })
}

/// ftplib's `storlines`: TYPE A, then `cmd`; lines pulled from `read_callback`, each sent
/// with a CRLF end whatever end it had; `callback` (may be NULL) sees each line sent.
#[no_mangle]
pub extern "C" fn ftp_storlines(
    client: *mut ftp_client,
    cmd: *const c_char,
    read_callback: ftp_read_callback,
    userdata: *mut c_void,
    callback: ftp_data_callback,
) -> c_int {
    with_client(client, |inner| {
        let cmd = required(cmd, "cmd")?;
        let read = read_callback.ok_or_else(|| null_callback("read_callback"))?;
        let mut source = CallbackReader { callback: read, userdata };
        let mut sent = callback.map(|cb| {
            move |block: &[u8]| {
                // SAFETY: as in ftp_storbinary.
                flow(unsafe { cb(userdata, block.as_ptr(), block.len()) })
            }
        });
        let sent = sent.as_mut().map(|f| f as &mut dyn FnMut(&[u8]) -> Flow);
        inner.client.storlines(cmd, &mut source, sent)?;
        Ok(())
    })
}

/// Asks the call running on `client` (in another thread, or the call whose callback this
/// is) to stop, without waiting and without any I/O; the call returns FTP_ERR_STOPPED within
/// about 50 ms of any wait. A transfer moving data stops at its next block with ABOR, the
/// connection usable (its server gets 30 ms to answer, else the connection is closed). Any
/// other wait ends at once: connecting (nothing is kept), a TLS handshake, a data connection
/// being made, a blocked write, a TLS shutdown, or a reply being waited for (a transfer's
/// 150 or final reply too: the control connection is then closed, being out of step). The
/// request lasts until the running call ends. FTP_OK when a call was running,
/// FTP_ERR_WRONG_STATE when none was (nothing is remembered for later calls).
#[no_mangle]
pub extern "C" fn ftp_cancel(client: *mut ftp_client) -> c_int {
    match deref(client) {
        None => FTP_ERR_NULL_ARGUMENT,
        Some(handle) if handle.request_stop() => FTP_OK,
        Some(_) => FTP_ERR_WRONG_STATE,
    }
}

/// ftplib's `abort`: stops a transfer. Called from another thread while a call runs on
/// `client`, it asks the transfer of that call, if it has one, to stop at its next block (the
/// transfer's call then returns FTP_ERR_STOPPED, the connection usable) and returns FTP_OK at
/// once; nothing else is cut (a reply or a connect being waited for goes on: that is
/// `ftp_cancel`), and the request is forgotten when that call ends. With no call running it
/// sends ABOR (with a data handle from `ftp_transfercmd` open, as its interrupt) and reads
/// the replies up to the server's last; that reply must be 426, 225 or 226, else
/// FTP_ERR_PROTO.
#[no_mangle]
pub extern "C" fn ftp_abort(client: *mut ftp_client) -> c_int {
    if let Some(handle) = deref(client) {
        if handle.request_transfer_stop() {
            return FTP_OK;
        }
    }
    with_client(client, |inner| {
        inner.client.abort()?;
        Ok(())
    })
}

/// The common part of the whole-file transfers: the progress callback in, the byte count out.
fn whole_file(
    inner: &mut super::handle::Inner,
    progress: ftp_progress_callback,
    userdata: *mut c_void,
    out: *mut u64,
    transfer: impl FnOnce(&mut crate::Client, Option<crate::client::transfer::Progress<'_>>) -> crate::Result<u64>,
) -> Result<(), Fail> {
    let mut progress = progress_fn(progress, userdata);
    let progress = progress.as_mut().map(|f| f as &mut dyn FnMut(u64, Option<u64>) -> Flow);
    let n = transfer(&mut inner.client, progress)?;
    if let Some(out) = super::handle::deref_mut(out) {
        *out = n;
    }
    Ok(())
}

/// Bytes the last transfer on `client` moved on its data connection (a resumed offset not
/// counted), also when it failed, was stopped or was cut short (the calls leave their
/// outputs alone then); 0 when the last transfer call failed before its transfer began,
/// and for a NULL or busy `client`. Set by every transfer and listing, and by
/// `ftp_data_close`/`ftp_data_abort`.
#[no_mangle]
pub extern "C" fn ftp_last_transfer_bytes(client: *const ftp_client) -> u64 {
    super::handle::peek(client, |inner| inner.client.last_transfer_bytes()).unwrap_or(0)
}

fn progress_fn(callback: ftp_progress_callback, userdata: *mut c_void) -> Option<impl FnMut(u64, Option<u64>) -> Flow> {
    callback.map(|cb| {
        move |done: u64, total: Option<u64>| {
            let total = total.and_then(|t| i64::try_from(t).ok()).unwrap_or(-1);
            // SAFETY: the caller's callback with its userdata.
            flow(unsafe { cb(userdata, done, total) })
        }
    })
}

/// Downloads `remote` into the open descriptor `fd` (written from its current position),
/// starting at byte `rest` of the remote file when `rest` >= 0. Plain connections move the
/// data with splice(2) on Linux, without copies through user space (plain reads and writes
/// elsewhere). `progress` may be NULL. SIGPIPE is blocked on the calling thread meanwhile:
/// a pipe whose reader is gone gives FTP_ERR_IO, not a dead process.
/// `out` (may be NULL) receives the bytes received. The progress total is the whole
/// remote file's size when the server tells it: from the 150 reply when `rest` is
/// FTP_NO_REST, else from SIZE. With a `progress` callback, SIZE is asked before RETR
/// where the 150 cannot be counted on: after REST, and for a whole file unless the previous
/// whole-file download on this connection had its size in the 150 reply (a refused SIZE
/// only leaves the total at -1). A download cut short is
/// FTP_ERR_TRUNCATED or another error, never FTP_OK; `out` is then left alone and
/// `ftp_last_transfer_bytes` tells how much arrived. The descriptor stays open.
#[no_mangle]
pub extern "C" fn ftp_retrieve_to_fd(
    client: *mut ftp_client,
    remote: *const c_char,
    fd: c_int,
    rest: i64,
    progress: ftp_progress_callback,
    userdata: *mut c_void,
    out: *mut u64,
) -> c_int {
    with_client(client, |inner| {
        let remote = required(remote, "remote")?;
        let rest = rest_arg(rest)?;
        whole_file(inner, progress, userdata, out, |c, p| c.retrieve_to_fd(remote, fd, rest, p))
    })
}

/// Uploads from the open descriptor `fd` (from its current position to its end) to
/// `remote` with STOR, or APPE when `append` is non-zero; `rest` >= 0 sends REST first.
/// Plain connections use sendfile(2) on Linux, macOS and FreeBSD. `out` (may be NULL) receives the bytes sent
/// (on failure: `ftp_last_transfer_bytes`).
#[no_mangle]
pub extern "C" fn ftp_store_from_fd(
    client: *mut ftp_client,
    remote: *const c_char,
    fd: c_int,
    rest: i64,
    append: c_int,
    progress: ftp_progress_callback,
    userdata: *mut c_void,
    out: *mut u64,
) -> c_int {
    with_client(client, |inner| {
        let remote = required(remote, "remote")?;
        let rest = rest_arg(rest)?;
        whole_file(inner, progress, userdata, out, |c, p| c.store_from_fd(remote, fd, rest, append != 0, p))
    })
}

/// Resumes a download into `fd`: appends to it from the remote offset equal to its size
/// (REST), so a file cut short completes. `out` (may be NULL): bytes received now.
/// `progress` counts the local size in the bytes done; its total is the whole remote file's
/// size (SIZE, asked when `progress` is given), or -1 when the server does not tell it.
#[no_mangle]
pub extern "C" fn ftp_resume_download(
    client: *mut ftp_client,
    remote: *const c_char,
    fd: c_int,
    progress: ftp_progress_callback,
    userdata: *mut c_void,
    out: *mut u64,
) -> c_int {
    with_client(client, |inner| {
        let remote = required(remote, "remote")?;
        whole_file(inner, progress, userdata, out, |c, p| c.resume_download(remote, fd, p))
    })
}

/// Resumes an upload from `fd`: asks the remote size (SIZE), then sends the rest of the
/// local file with REST+STOR when the server offers REST STREAM, else with APPE.
/// `out` (may be NULL): bytes sent now.
#[no_mangle]
pub extern "C" fn ftp_resume_upload(
    client: *mut ftp_client,
    remote: *const c_char,
    fd: c_int,
    progress: ftp_progress_callback,
    userdata: *mut c_void,
    out: *mut u64,
) -> c_int {
    with_client(client, |inner| {
        let remote = required(remote, "remote")?;
        whole_file(inner, progress, userdata, out, |c, p| c.resume_upload(remote, fd, p))
    })
}

/// An open data connection from `ftp_transfercmd`. Read or write it, then end it with
/// `ftp_data_close` (or `ftp_data_abort`), which also frees it.
pub struct ftp_data {
    client: *mut ftp_client,
    link: Arc<DataLink>,
}

/// ftplib's `ntransfercmd`: opens a data connection for `cmd` (REST `rest` first when
/// `rest` >= 0) and returns it in `*out`. The caller sets the type first (e.g.
/// `ftp_voidcmd(c, "TYPE I", NULL)`). Other calls on `client` may be made while it is open.
/// Freeing `client` first is defined: `ftp_free` closes the data connection (with a reset,
/// so no server takes a cut upload for a whole one), and the data handle then only frees
/// itself: `ftp_data_read`/`ftp_data_write` give FTP_ERR_WRONG_STATE, and
/// `ftp_data_close`/`ftp_data_abort` free it and give FTP_ERR_WRONG_STATE.
#[no_mangle]
pub extern "C" fn ftp_transfercmd(
    client: *mut ftp_client,
    cmd: *const c_char,
    rest: i64,
    out: *mut *mut ftp_data,
) -> c_int {
    with_client(client, |inner| {
        let cmd = required(cmd, "cmd")?;
        let out = out_ref(out, "out")?;
        let rest = rest_arg(rest)?;
        let conn = inner.client.ntransfercmd(cmd, rest)?;
        let link = deref(client).expect("with_client checked it").link_data(conn);
        *out = Box::into_raw(Box::new(ftp_data { client, link }));
        Ok(())
    })
}

/// The size the server announced in its `150 ... (N bytes)` reply, or -1.
#[no_mangle]
pub extern "C" fn ftp_data_size(data: *const ftp_data) -> i64 {
    let Some(data) = deref(data) else {
        return -1;
    };
    data.link.conn().as_ref().and_then(|c| c.size()).and_then(|s| i64::try_from(s).ok()).unwrap_or(-1)
}

/// This side's address on the data connection, as `ftp_local_address` gives the control
/// connection's: `*out_host` (an IPv4 or IPv6 address without brackets, borrowed until the
/// next call on the client) and `*out_port`; in passive mode, the source address's host and
/// port when one was set (`ftp_set_source_address`). FTP_ERR_WRONG_STATE when the
/// connection is closed or its client freed; FTP_ERR_NULL_ARGUMENT for a NULL argument.
#[no_mangle]
pub extern "C" fn ftp_data_local_address(
    data: *const ftp_data,
    out_host: *mut *const c_char,
    out_port: *mut u16,
) -> c_int {
    on_data_connection(data, |inner, conn| {
        out_ref(out_host, "out_host")?;
        out_ref(out_port, "out_port")?;
        let addr = open(conn)?.local_addr();
        super::client::lend_address(inner, addr, out_host, out_port)
    })
}

/// Runs `body` on the data connection through its client's entry helper, so errors are
/// recorded on the client and panics are caught.
/// `buf` and `len` are the caller's buffer, checked first: NULL with a length, or a length
/// above PTRDIFF_MAX (no object is that large: a slice of it would be undefined behaviour;
/// SIZE_MAX is the usual careless value), is refused before anything is read or written.
fn with_data(
    data: *mut ftp_data,
    buf: *const u8,
    len: usize,
    body: impl FnOnce(&mut DataConnection) -> io::Result<usize>,
    out: *mut usize,
) -> c_int {
    on_data_connection(data, |_, conn| {
        if buf.is_null() && len > 0 {
            return Err(Fail::Status(FTP_ERR_NULL_ARGUMENT, "buf is NULL".into()));
        }
        if isize::try_from(len).is_err() {
            return Err(Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("len {len} is larger than any buffer")));
        }
        let out = out_ref(out, "out")?;
        let conn = open(conn)?;
        *out = body(conn).map_err(|e| Error::Io { context: "on the data connection", source: e })?;
        Ok(())
    })
}

/// The entry of the calls on an open data handle: NULL and freed-client checks, then `body`
/// inside its client's call (busy check, panic catch, error mapping) with the client and
/// the connection (`open` fails when it is closed).
fn on_data_connection(
    data: *const ftp_data,
    body: impl FnOnce(&mut super::handle::Inner, Option<&mut DataConnection>) -> Result<(), Fail>,
) -> c_int {
    let Some(data) = deref(data) else {
        return FTP_ERR_NULL_ARGUMENT;
    };
    if data.link.client_freed() {
        return FTP_ERR_WRONG_STATE;
    }
    let mut guard = data.link.conn();
    with_client(data.client, |inner| body(inner, guard.as_mut()))
}

/// The data handle's connection, or the error of a closed one.
fn open(conn: Option<&mut DataConnection>) -> Result<&mut DataConnection, Fail> {
    Ok(conn.ok_or_else(|| Error::WrongState("the data connection is closed".into()))?)
}

/// Reads at most `len` bytes into `buf`; `*out` is the number read, 0 at the end of the data.
/// A `len` above PTRDIFF_MAX (no buffer is that large, e.g. SIZE_MAX) is
/// FTP_ERR_INVALID_ARGUMENT and reads nothing.
#[no_mangle]
pub extern "C" fn ftp_data_read(data: *mut ftp_data, buf: *mut u8, len: usize, out: *mut usize) -> c_int {
    with_data(
        data,
        buf.cast_const(),
        len,
        |conn| {
            // with_data checked `buf` and `len`.
            let buf = deref_slice_mut(buf, len).unwrap_or_default();
            if buf.is_empty() {
                return Ok(0);
            }
            conn.read(buf)
        },
        out,
    )
}

/// Writes at most `len` bytes from `buf`; `*out` is the number written. A `len` above
/// PTRDIFF_MAX is FTP_ERR_INVALID_ARGUMENT and writes nothing.
#[no_mangle]
pub extern "C" fn ftp_data_write(data: *mut ftp_data, buf: *const u8, len: usize, out: *mut usize) -> c_int {
    with_data(
        data,
        buf,
        len,
        |conn| {
            // with_data checked `buf` and `len`.
            let buf = deref_slice(buf, len).unwrap_or_default();
            if buf.is_empty() {
                return Ok(0);
            }
            conn.write(buf)
        },
        out,
    )
}

fn end_data(data: *mut ftp_data, abort: bool) -> c_int {
    if data.is_null() {
        return FTP_ERR_NULL_ARGUMENT;
    }
    // SAFETY: the pointer came from ftp_transfercmd and is freed here, once.
    let data = unsafe { Box::from_raw(data) };
    if data.link.client_freed() {
        // ftp_free closed the connection already; only this handle was left to free.
        return FTP_ERR_WRONG_STATE;
    }
    let conn = data.link.conn().take();
    with_client(data.client, |inner| {
        let Some(conn) = conn else { return Ok(()) };
        if abort {
            inner.client.abort_transfer(conn)?;
        } else {
            inner.client.finish_transfer(conn, false)?;
        }
        Ok(())
    })
}

/// Closes the data connection (TLS close_notify first), reads the final reply (which must
/// be 2xx) and frees the handle, whatever the result.
#[no_mangle]
pub extern "C" fn ftp_data_close(data: *mut ftp_data) -> c_int {
    end_data(data, false)
}

/// Ends the transfer early with ABOR, reads the replies that follow, and frees the handle.
#[no_mangle]
pub extern "C" fn ftp_data_abort(data: *mut ftp_data) -> c_int {
    end_data(data, true)
}

/// Path arguments for local files.
pub(crate) fn local_path(ptr: *const c_char, name: &str) -> Result<std::path::PathBuf, Fail> {
    use std::os::unix::ffi::OsStrExt;
    Ok(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(required(ptr, name)?)))
}

/// Downloads `remote` to the local file `local_path`, created (mode 0666 less the umask) or
/// truncated only once the server has accepted the transfer (its 1xx reply): when the
/// server refuses (e.g. FTP_ERR_PERM for 550), or the call fails before that (bad `remote`,
/// unconnected `client`), an existing file is left byte for byte as it was and no file is
/// created. A failure after the server accepted (connection cut, FTP_ERR_STOPPED, a local
/// write error) leaves the bytes that arrived in the file, which `ftp_resume_download`
/// continues. On FTP_OK the data is on disk (fdatasync). `progress` (may be NULL) as for
/// `ftp_retrieve_to_fd`.
#[no_mangle]
pub extern "C" fn ftp_retrieve_file(
    client: *mut ftp_client,
    remote: *const c_char,
    local_path: *const c_char,
    progress: ftp_progress_callback,
    userdata: *mut c_void,
) -> c_int {
    with_client(client, |inner| {
        let remote = required(remote, "remote")?;
        let path = self::local_path(local_path, "local_path")?;
        whole_file(inner, progress, userdata, std::ptr::null_mut(), |c, p| c.retrieve_file(remote, &path, p))
    })
}

/// Uploads the local file `local_path` to `remote` (STOR). `progress` (may be NULL) as for
/// `ftp_store_from_fd`.
#[no_mangle]
pub extern "C" fn ftp_store_file(
    client: *mut ftp_client,
    local_path: *const c_char,
    remote: *const c_char,
    progress: ftp_progress_callback,
    userdata: *mut c_void,
) -> c_int {
    with_client(client, |inner| {
        let path = self::local_path(local_path, "local_path")?;
        let remote = required(remote, "remote")?;
        whole_file(inner, progress, userdata, std::ptr::null_mut(), |c, p| c.store_file(&path, remote, p))
    })
}

/// Downloads `remote` into the open regular file `fd` over up to `segments` connections at
/// once (lftp's `pget -n`; 1 to 64): the file is cut into ranges, this handle reads the
/// first and each other range gets a connection of its own (REST, RETR, then ABOR at the
/// range's end), made with this handle's settings: host and port, TLS mode, certificate
/// verification and data protection, timeouts, passive or active mode, and the login
/// `ftp_login` made. Each byte is written at its offset (pwrite); the file is truncated
/// first and holds the whole remote file on success. A range whose connection cannot start
/// (REST refused, too many sessions, a refused login) is read by the connection before it,
/// whose data stream simply goes on, so such servers get one whole download; a range left
/// incomplete by a lost connection is read again at the end from where it stopped. A file
/// whose size SIZE does not tell, one smaller than two ranges of 1 MiB, and an `fd` that
/// is not a regular file are downloaded over this handle alone.
///
/// `progress` (may be NULL) sees the bytes written over all connections and the size, on
/// the calling thread; non-zero from it, or `ftp_abort`/`ftp_cancel` from another thread,
/// stops every connection (FTP_ERR_STOPPED). `out_size` (may be NULL) receives the file's
/// size, `out_connections` (may be NULL) how many connections moved data (fewer than the
/// ranges when the server refused some; the debug trace says why).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn ftp_retrieve_segmented(
    client: *mut ftp_client,
    remote: *const c_char,
    fd: c_int,
    segments: c_int,
    progress: ftp_progress_callback,
    userdata: *mut c_void,
    out_size: *mut u64,
    out_connections: *mut c_int,
) -> c_int {
    with_client(client, |inner| {
        let remote = required(remote, "remote")?;
        let segments = usize::try_from(segments)
            .ok()
            .filter(|n| (1..=crate::segmented::MAX_SEGMENTS).contains(n))
            .ok_or_else(|| {
                Fail::Status(
                    FTP_ERR_INVALID_ARGUMENT,
                    format!("segments {segments}: give 1 to {}", crate::segmented::MAX_SEGMENTS),
                )
            })?;
        // SAFETY: fcntl only asks whether the descriptor is open.
        if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(Fail::Status(FTP_ERR_INVALID_ARGUMENT, format!("fd {fd} is not an open descriptor")));
        }
        // SAFETY: an open descriptor the caller owns; ManuallyDrop never closes it.
        let file = std::mem::ManuallyDrop::new(unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) });
        let mut progress = progress_fn(progress, userdata);
        let progress = progress.as_mut().map(|f| f as &mut dyn FnMut(u64, Option<u64>) -> Flow);
        let options = crate::SegmentOptions::new(segments);
        let done = inner.client.retrieve_segmented(remote, &file, &options, progress)?;
        if let Some(out) = super::handle::deref_mut(out_size) {
            *out = done.size;
        }
        if let Some(out) = super::handle::deref_mut(out_connections) {
            *out = c_int::try_from(done.connections).unwrap_or(c_int::MAX);
        }
        Ok(())
    })
}
