//! The multi handle: many clients driven from one thread by the caller's loop (over
//! `crate::Multi`). A job is the caller's own function making ordinary calls on one client;
//! it runs on a stack of its own, and every wait of those calls hands control back to the
//! loop instead of blocking.

use super::client::{ftp_connect, ftp_login, ftp_quit, ftp_voidcmd};
use super::handle::free_now;
use super::handle::{deref, deref_mut, ftp_client, JOB_FREE_REQUESTED, JOB_NONE, JOB_RUNNING};
use super::handle::{with_client, Fail};
use super::status::{
    FTP_ERR_BUSY, FTP_ERR_INVALID_ARGUMENT, FTP_ERR_IO, FTP_ERR_NULL_ARGUMENT, FTP_ERR_PANIC, FTP_ERR_STOPPED,
    FTP_ERR_WRONG_STATE, FTP_OK,
};
use super::transfer::{ftp_data_callback, ftp_read_callback, ftp_retrbinary, ftp_storbinary};
use crate::multi::{Completion, Multi, Token};
use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_long, c_void};
use std::os::fd::RawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The socket is to be watched for reading (the `what` of `ftp_multi_set_socket_callback`'s callback).
pub const FTP_POLL_IN: c_int = 1;
/// The socket is to be watched for writing.
pub const FTP_POLL_OUT: c_int = 2;
/// The socket is no longer to be watched (it may already be closed).
pub const FTP_POLL_REMOVE: c_int = 4;
/// `ftp_multi_socket_action`'s `fd` when the timer fired rather than a socket.
pub const FTP_SOCKET_TIMEOUT: c_int = -1;

/// The stack of a job unless `ftp_multi_set_stack_size` says otherwise.
const DEFAULT_JOB_STACK: usize = 1 << 20;

/// A job: ordinary calls on `client` (connect, login, transfers, ...), made as in a blocking
/// program. Its return value is handed to the done callback as `status`.
pub type ftp_multi_job_cb = Option<unsafe extern "C" fn(client: *mut ftp_client, userdata: *mut c_void) -> c_int>;

/// Called when a job ended, with what the job returned (or FTP_ERR_STOPPED for a job ended
/// by `ftp_multi_remove` or `ftp_multi_free`). The client is out of the multi handle again.
pub type ftp_multi_done_cb =
    Option<unsafe extern "C" fn(client: *mut ftp_client, status: c_int, userdata: *mut c_void)>;

/// Told which socket to watch for what: `what` is FTP_POLL_IN and/or FTP_POLL_OUT, or
/// FTP_POLL_REMOVE. Level-triggered: a socket that stays ready is reported again.
pub type ftp_multi_socket_cb = Option<unsafe extern "C" fn(fd: c_int, what: c_int, userdata: *mut c_void)>;

/// A multi handle. Create with `ftp_multi_new`, free with `ftp_multi_free`.
pub struct ftp_multi {
    multi: Multi,
    jobs: HashMap<Token, Job>,
    socket_cb: ftp_multi_socket_cb,
    socket_ud: *mut c_void,
    /// The thread that created it: the jobs' stacks and the library's record of the running
    /// job belong to it.
    thread: libc::pthread_t,
    /// Set while a call runs (a callback calling back into the handle gets BUSY).
    busy: Cell<bool>,
}

struct Job {
    client: *mut ftp_client,
    done: ftp_multi_done_cb,
    userdata: *mut c_void,
}

/// Creates a multi handle, with no jobs. It must be used from the thread that created it.
/// NULL only when memory is exhausted.
#[no_mangle]
pub extern "C" fn ftp_multi_new() -> *mut ftp_multi {
    catch_unwind(|| {
        let mut multi = Multi::new();
        // C jobs' stack needs are unknown (and larger under sanitizers): more than Rust's.
        multi.set_stack_size(DEFAULT_JOB_STACK);
        Box::into_raw(Box::new(ftp_multi {
            multi,
            jobs: HashMap::new(),
            socket_cb: None,
            socket_ud: std::ptr::null_mut(),
            thread: this_thread(),
            busy: Cell::new(false),
        }))
    })
    .unwrap_or(std::ptr::null_mut())
}

/// Frees a multi handle. Jobs still running are ended first: every call they make fails
/// without waiting, with FTP_ERR_STOPPED, until they return (a connection is closed where
/// that leaves it out of step with its server); their done callbacks are then called with
/// FTP_ERR_STOPPED. NULL is ignored; not from a callback.
#[no_mangle]
pub extern "C" fn ftp_multi_free(multi: *mut ftp_multi) {
    let Some(m) = deref(multi) else { return };
    if m.busy.get() || !on_thread(m.thread) {
        return; // Freeing it from inside would pull the stack from under the caller.
    }
    let ended: Vec<Token> = m.jobs.keys().copied().collect();
    let mut finished = Vec::new();
    for token in ended {
        let m = deref_mut(multi).expect("checked above");
        let _ = catch_unwind(AssertUnwindSafe(|| m.multi.remove_with_output(token)));
        if let Some(job) = m.jobs.remove(&token) {
            finished.push((job, FTP_ERR_STOPPED));
        }
    }
    // SAFETY: from ftp_multi_new, freed once as documented; no call runs on it.
    let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(multi) })));
    for (job, status) in finished {
        finish(job, status);
    }
}

/// Stack size of the jobs started from now on (default 1 MiB; at least 64 KiB). Each job
/// has its own, mapped with a guard page; only the pages it touches use memory. The job's
/// function and every callback of its calls run on it.
#[no_mangle]
pub extern "C" fn ftp_multi_set_stack_size(multi: *mut ftp_multi, bytes: usize) -> c_int {
    with_multi(multi, |m| {
        m.multi.set_stack_size(bytes);
        FTP_OK
    })
}

/// Sets the function told which sockets to watch (or NULL for none: then drive the handle
/// with `ftp_multi_wait` and `ftp_multi_perform`). It is called from `ftp_multi_perform` and
/// `ftp_multi_socket_action`, after the jobs ran, for each change since the last time.
#[no_mangle]
pub extern "C" fn ftp_multi_set_socket_callback(
    multi: *mut ftp_multi,
    callback: ftp_multi_socket_cb,
    userdata: *mut c_void,
) -> c_int {
    with_multi(multi, |m| {
        m.socket_cb = callback;
        m.socket_ud = userdata;
        FTP_OK
    })
}

/// Starts a job on `client`: from the next `ftp_multi_perform` or `ftp_multi_socket_action`
/// on, `job(client, userdata)` runs on a stack of its own; wherever one of its calls would
/// block, the job is put aside and the loop goes on. When the job returns, `done` (may be
/// NULL) is called with the job's return value; `userdata` is passed to both.
///
/// From here until `done` is called the client belongs to the job: calls on it from outside
/// the job get FTP_ERR_BUSY while the job waits in one; `ftp_cancel` and `ftp_abort` work as
/// in a blocking program (seen within 50 ms); `ftp_free` ends the job (as `ftp_cancel`) and
/// frees the client after the job returned, without calling `done`. A job must return once
/// its calls fail (a job that loops forever keeps the loop's thread). Status: FTP_ERR_BUSY
/// when the client already runs a job or is in a call, FTP_ERR_IO when no stack could be
/// mapped.
#[no_mangle]
pub extern "C" fn ftp_multi_start(
    multi: *mut ftp_multi,
    client: *mut ftp_client,
    job: ftp_multi_job_cb,
    done: ftp_multi_done_cb,
    userdata: *mut c_void,
) -> c_int {
    let (Some(handle), Some(job)) = (deref(client), job) else {
        return FTP_ERR_NULL_ARGUMENT;
    };
    with_multi(multi, |m| {
        if handle.job.compare_exchange(JOB_NONE, JOB_RUNNING, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return FTP_ERR_BUSY;
        }
        let (cancel, stop) = handle.stop_flags();
        let token = m.multi.add_external(cancel, stop);
        let (client_addr, ud_addr) = (client as usize, userdata as usize);
        let started = m.multi.start_call(token, move || {
            // SAFETY: the job and its userdata are the caller's, valid until `done` as
            // documented; the client stays allocated while the job runs (ftp_free defers).
            unsafe { job(client_addr as *mut ftp_client, ud_addr as *mut c_void) }
        });
        match started {
            Ok(()) => {
                m.jobs.insert(token, Job { client, done, userdata });
                FTP_OK
            }
            Err(_) => {
                m.multi.remove(token);
                handle.job.store(JOB_NONE, Ordering::Release);
                FTP_ERR_IO
            }
        }
    })
}

/// Ends the job running on `client` now: its remaining calls fail without waiting, with
/// FTP_ERR_STOPPED, until it returns (as in `ftp_multi_free`); then `done` is called, before
/// this returns, with FTP_ERR_STOPPED. FTP_ERR_WRONG_STATE when no job of this handle runs
/// on it. Not from inside a job.
#[no_mangle]
pub extern "C" fn ftp_multi_remove(multi: *mut ftp_multi, client: *mut ftp_client) -> c_int {
    if client.is_null() {
        return FTP_ERR_NULL_ARGUMENT;
    }
    let mut ended = None;
    let status = with_multi(multi, |m| {
        let Some(token) = m.jobs.iter().find(|(_, j)| j.client == client).map(|(t, _)| *t) else {
            return FTP_ERR_WRONG_STATE;
        };
        m.multi.remove_with_output(token);
        ended = m.jobs.remove(&token);
        FTP_OK
    });
    if let Some(job) = ended {
        finish(job, FTP_ERR_STOPPED);
    }
    status
}

/// Runs every job that can go on (its socket ready, its timeout come, a stop requested, or
/// just started) without blocking, then calls the done callbacks of those that ended and
/// the socket callback. `*out` (may be NULL) receives the number of jobs still running.
#[no_mangle]
pub extern "C" fn ftp_multi_perform(multi: *mut ftp_multi, out: *mut c_int) -> c_int {
    drive(multi, out, |m| m.perform())
}

/// For a loop of the caller's (epoll, kqueue, libuv, ...): runs the jobs waiting on `fd`,
/// which became ready, or with FTP_SOCKET_TIMEOUT those whose time came; then as
/// `ftp_multi_perform` (done callbacks, socket callback, `*out`: the jobs still running).
#[no_mangle]
pub extern "C" fn ftp_multi_socket_action(multi: *mut ftp_multi, fd: c_int, out: *mut c_int) -> c_int {
    let fd: Option<RawFd> = (fd != FTP_SOCKET_TIMEOUT).then_some(fd);
    drive(multi, out, |m| m.socket_action(fd))
}

/// Waits until a job's socket is ready or a job's time comes, at most `timeout_ms`
/// milliseconds (for callers without a loop of their own; then `ftp_multi_perform`).
/// `*out` (may be NULL) receives the number of ready sockets.
#[no_mangle]
pub extern "C" fn ftp_multi_wait(multi: *mut ftp_multi, timeout_ms: c_int, out: *mut c_int) -> c_int {
    if timeout_ms < 0 {
        return FTP_ERR_INVALID_ARGUMENT;
    }
    with_multi(multi, |m| match m.multi.wait(Duration::from_millis(timeout_ms as u64)) {
        Ok(n) => {
            if let Some(out) = deref_mut(out) {
                *out = n.min(c_int::MAX as usize) as c_int;
            }
            FTP_OK
        }
        Err(_) => FTP_ERR_IO,
    })
}

/// How long the caller's loop may wait for its sockets before calling
/// `ftp_multi_socket_action(m, FTP_SOCKET_TIMEOUT, ...)`: `*out` milliseconds (0: at once,
/// rounded up otherwise, at most 20 while a job runs), or -1 when no job runs. Ask again
/// after every call that runs jobs.
#[no_mangle]
pub extern "C" fn ftp_multi_timeout(multi: *mut ftp_multi, out: *mut c_long) -> c_int {
    let Some(out) = deref_mut(out) else { return FTP_ERR_NULL_ARGUMENT };
    with_multi(multi, |m| {
        *out = match m.multi.timeout() {
            None => -1,
            Some(t) => {
                let ms = t.as_micros().div_ceil(1000);
                ms.min(c_long::MAX as u128) as c_long
            }
        };
        FTP_OK
    })
}

/// The ordinary entry: NULL, thread and re-entrancy checks, panic catch.
fn with_multi(multi: *mut ftp_multi, body: impl FnOnce(&mut ftp_multi) -> c_int) -> c_int {
    let Some(m) = deref_mut(multi) else { return FTP_ERR_NULL_ARGUMENT };
    if !on_thread(m.thread) {
        return FTP_ERR_WRONG_STATE;
    }
    if m.busy.replace(true) {
        return FTP_ERR_BUSY;
    }
    let code = catch_unwind(AssertUnwindSafe(|| body(m))).unwrap_or(FTP_ERR_PANIC);
    m.busy.set(false);
    code
}

/// Runs jobs through `step`, then (outside the handle's borrow, so that they may start new
/// jobs) the done callbacks and the socket callback.
fn drive(
    multi: *mut ftp_multi,
    out: *mut c_int,
    step: impl FnOnce(&mut Multi) -> crate::Result<Vec<Completion>>,
) -> c_int {
    let mut finished = Vec::new();
    let status = with_multi(multi, |m| {
        let completions = match step(&mut m.multi) {
            Ok(c) => c,
            Err(_) => return FTP_ERR_IO,
        };
        for done in completions {
            let token = done.token;
            m.multi.remove(token);
            let status = done.take::<c_int>().unwrap_or(FTP_ERR_PANIC);
            if let Some(job) = m.jobs.remove(&token) {
                finished.push((job, status));
            }
        }
        FTP_OK
    });
    if status != FTP_OK {
        return status;
    }
    for (job, status) in finished {
        finish(job, status);
    }
    with_multi(multi, |m| {
        if let Some(cb) = m.socket_cb {
            for change in m.multi.socket_changes() {
                let mut what = 0;
                if change.events == 0 {
                    what = FTP_POLL_REMOVE;
                }
                if change.events & libc::POLLIN != 0 {
                    what |= FTP_POLL_IN;
                }
                if change.events & libc::POLLOUT != 0 {
                    what |= FTP_POLL_OUT;
                }
                // SAFETY: the caller's function, called as documented.
                unsafe { cb(change.fd, what, m.socket_ud) };
            }
        }
        if let Some(out) = deref_mut(out) {
            *out = m.multi.running().min(c_int::MAX as usize) as c_int;
        }
        FTP_OK
    })
}

/// A job ended: the client is free again; its done callback, or the deferred free.
fn finish(job: Job, status: c_int) {
    let Some(handle) = deref(job.client) else { return };
    if handle.job.swap(JOB_NONE, Ordering::AcqRel) == JOB_FREE_REQUESTED {
        free_now(job.client);
        return;
    }
    if let Some(done) = job.done {
        // SAFETY: the caller's function and data, as given to ftp_multi_start.
        unsafe { done(job.client, status, job.userdata) };
    }
}

/// The calling thread (pthread_self: std's thread handle would allocate once per thread,
/// which leak checkers of C programs report).
fn this_thread() -> libc::pthread_t {
    // SAFETY: no preconditions.
    unsafe { libc::pthread_self() }
}

fn on_thread(thread: libc::pthread_t) -> bool {
    // SAFETY: two thread ids, compared.
    unsafe { libc::pthread_equal(thread, this_thread()) != 0 }
}

/// The arguments of the ready-made jobs (`ftp_job_open`, ...), given as their `userdata`:
/// each job reads the fields its call takes. For bindings whose language cannot run on a
/// job's stack across a wait (Python, Ruby, Go): their job is one of these C functions,
/// and only their transfer callbacks run on the job's stack (never across a wait). The
/// struct and its strings must live until the done callback.
#[repr(C)]
pub struct ftp_job_args {
    /// `ftp_job_open`: as `ftp_connect` and `ftp_login`.
    pub host: *const c_char,
    pub port: u16,
    pub timeout_ms: i64,
    pub user: *const c_char,
    pub passwd: *const c_char,
    pub acct: *const c_char,
    /// `ftp_job_voidcmd`, `ftp_job_retrbinary`, `ftp_job_storbinary`: the command.
    pub cmd: *const c_char,
    /// The transfers' callbacks and their `userdata`, block size and REST offset, as in
    /// `ftp_retrbinary` and `ftp_storbinary`.
    pub callback: ftp_data_callback,
    pub read_callback: ftp_read_callback,
    pub userdata: *mut c_void,
    pub blocksize: usize,
    pub rest: i64,
}

/// The job arguments, or NULL_ARGUMENT recorded on the client.
fn job_args<'a>(client: *mut ftp_client, args: *mut c_void) -> Result<&'a ftp_job_args, c_int> {
    if client.is_null() {
        return Err(FTP_ERR_NULL_ARGUMENT);
    }
    match deref(args as *const ftp_job_args) {
        Some(args) => Ok(args),
        None => Err(with_client(client, |_| Err(Fail::Status(FTP_ERR_NULL_ARGUMENT, "args is NULL".into())))),
    }
}

/// Ready-made job: `ftp_connect` (no source address) then `ftp_login`, with the fields of
/// `args` (a `struct ftp_job_args *`).
#[no_mangle]
pub extern "C" fn ftp_job_open(client: *mut ftp_client, args: *mut c_void) -> c_int {
    let a = match job_args(client, args) {
        Ok(a) => a,
        Err(code) => return code,
    };
    match ftp_connect(client, a.host, a.port, a.timeout_ms, std::ptr::null()) {
        FTP_OK => ftp_login(client, a.user, a.passwd, a.acct),
        failed => failed,
    }
}

/// Ready-made job: `ftp_voidcmd` of `args->cmd`.
#[no_mangle]
pub extern "C" fn ftp_job_voidcmd(client: *mut ftp_client, args: *mut c_void) -> c_int {
    match job_args(client, args) {
        Ok(a) => ftp_voidcmd(client, a.cmd, std::ptr::null_mut()),
        Err(code) => code,
    }
}

/// Ready-made job: `ftp_retrbinary` with `cmd`, `callback`, `userdata`, `blocksize`, `rest`.
#[no_mangle]
pub extern "C" fn ftp_job_retrbinary(client: *mut ftp_client, args: *mut c_void) -> c_int {
    match job_args(client, args) {
        Ok(a) => ftp_retrbinary(client, a.cmd, a.callback, a.userdata, a.blocksize, a.rest),
        Err(code) => code,
    }
}

/// Ready-made job: `ftp_storbinary` with `cmd`, `read_callback`, `userdata`, `blocksize`,
/// `callback`, `rest`.
#[no_mangle]
pub extern "C" fn ftp_job_storbinary(client: *mut ftp_client, args: *mut c_void) -> c_int {
    match job_args(client, args) {
        Ok(a) => ftp_storbinary(client, a.cmd, a.read_callback, a.userdata, a.blocksize, a.callback, a.rest),
        Err(code) => code,
    }
}

/// Ready-made job: `ftp_quit` (`args` must still be given).
#[no_mangle]
pub extern "C" fn ftp_job_quit(client: *mut ftp_client, args: *mut c_void) -> c_int {
    match job_args(client, args) {
        Ok(_) => ftp_quit(client),
        Err(code) => code,
    }
}
