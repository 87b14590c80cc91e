//! The opaque handle, the one entry helper every exported function goes through, and the
//! strings a handle lends to C.

use super::status::{self, FTP_ERR_BUSY, FTP_ERR_NULL_ARGUMENT, FTP_ERR_PANIC, FTP_OK};
use crate::{Client, DataConnection, Error};
use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// An FTP client handle. Create with `ftp_new`, free with `ftp_free`.
pub struct ftp_client {
    /// Set while a call runs: a second call (from a callback or another thread) gets BUSY
    /// instead of aliasing the state the first one is changing.
    busy: AtomicBool,
    /// The client's cancel flag and its transfer-only stop flag, reachable while a call
    /// holds the handle.
    cancel: Arc<AtomicBool>,
    transfer_stop: Arc<AtomicBool>,
    /// The data handles of `ftp_transfercmd` still open, so that `ftp_free` can close their
    /// connections and tell them the client is gone.
    data_links: Mutex<Vec<Weak<DataLink>>>,
    /// Whether a job of a multi handle runs on this client (`JOB_*`): `ftp_free` then
    /// defers the freeing to the job's end, since the job's stack still uses the handle.
    pub(crate) job: AtomicU8,
    inner: UnsafeCell<Inner>,
}

pub(crate) const JOB_NONE: u8 = 0;
pub(crate) const JOB_RUNNING: u8 = 1;
/// `ftp_free` was called while the job ran: the multi handle frees it when the job ends.
pub(crate) const JOB_FREE_REQUESTED: u8 = 2;

/// What a data handle shares with its client, so that either may be freed first.
pub(crate) struct DataLink {
    /// The open data connection; taken by `ftp_data_close`/`ftp_data_abort`, or by
    /// `ftp_free`, which closes it.
    conn: Mutex<Option<DataConnection>>,
    /// Set by `ftp_free`: the client is gone, its pointer dangles.
    client_freed: AtomicBool,
}

impl DataLink {
    pub(crate) fn conn(&self) -> MutexGuard<'_, Option<DataConnection>> {
        // A panic while it was held was caught and poisoned the client; the Option itself
        // is always whole.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn client_freed(&self) -> bool {
        self.client_freed.load(Ordering::Acquire)
    }
}

pub(crate) struct Inner {
    pub client: Client,
    /// Set when a panic was caught: the client state may be half-updated.
    poisoned: bool,
    last_error: CString,
    last_error_code: c_int,
    /// Strings lent to C, valid until the next call on the handle.
    pub welcome: Option<CString>,
    pub reply_text: Option<CString>,
    pub out: Option<CString>,
}

impl ftp_client {
    pub(crate) fn new(client: Client) -> ftp_client {
        ftp_client {
            busy: AtomicBool::new(false),
            cancel: client.canceller(),
            transfer_stop: client.transfer_stopper(),
            data_links: Mutex::new(Vec::new()),
            job: AtomicU8::new(JOB_NONE),
            inner: UnsafeCell::new(Inner {
                client,
                poisoned: false,
                last_error: CString::default(),
                last_error_code: FTP_OK,
                welcome: None,
                reply_text: None,
                out: None,
            }),
        }
    }

    /// Asks the transfer running in a call on this handle to stop; false when no call runs.
    /// The request lasts until that call ends: the next call starts with it cleared.
    pub(crate) fn request_stop(&self) -> bool {
        if !self.busy.load(Ordering::Acquire) {
            return false;
        }
        self.cancel.store(true, Ordering::Release);
        true
    }

    /// The client's cancel and transfer-stop flags (for a multi handle to watch).
    pub(crate) fn stop_flags(&self) -> (Arc<AtomicBool>, Arc<AtomicBool>) {
        (self.cancel.clone(), self.transfer_stop.clone())
    }

    /// Registers the data connection of a new data handle.
    pub(crate) fn link_data(&self, conn: DataConnection) -> Arc<DataLink> {
        let link = Arc::new(DataLink { conn: Mutex::new(Some(conn)), client_freed: AtomicBool::new(false) });
        let mut links = self.data_links.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        links.retain(|weak| weak.strong_count() > 0);
        links.push(Arc::downgrade(&link));
        link
    }

    /// For `ftp_free`: closes (with RST, so that no server takes a cut upload for a whole
    /// one) the data connections of the data handles still open, and marks them orphaned.
    pub(crate) fn orphan_data_handles(&self) {
        let links = std::mem::take(&mut *self.data_links.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        for link in links.iter().filter_map(Weak::upgrade) {
            link.client_freed.store(true, Ordering::Release);
            if let Some(conn) = link.conn().take() {
                crate::net::data::reset(conn.tcp());
            }
        }
    }

    /// Asks the transfer running in a call on this handle, if any, to stop at its next
    /// block, cutting no other wait; false when no call runs. Forgotten when that call ends.
    pub(crate) fn request_transfer_stop(&self) -> bool {
        if !self.busy.load(Ordering::Acquire) {
            return false;
        }
        self.transfer_stop.store(true, Ordering::Release);
        true
    }
}

/// The one place where a pointer from C becomes a reference. NULL gives `None`; anything
/// else must be what the API documents (a live object of this library, or a valid output
/// location), which no check can tell.
pub(crate) fn deref<'a, T>(ptr: *const T) -> Option<&'a T> {
    // SAFETY: as documented for every function: NULL or a valid pointer.
    unsafe { ptr.as_ref() }
}

/// As `deref`, for objects the call may change (outputs, data handles).
pub(crate) fn deref_mut<'a, T>(ptr: *mut T) -> Option<&'a mut T> {
    // SAFETY: as documented for every function: NULL or a valid, writable pointer.
    unsafe { ptr.as_mut() }
}

/// The caller's buffer of `len` bytes at `ptr`: empty when `len` is 0 (`ptr` unread, may be
/// NULL), `None` when `ptr` is NULL or `len` is above PTRDIFF_MAX (no buffer is that large).
pub(crate) fn deref_slice<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    if ptr.is_null() || len > isize::MAX as usize {
        return None;
    }
    // SAFETY: as documented for every function taking a buffer: `len` readable bytes.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// As `deref_slice`, for a buffer the call fills.
pub(crate) fn deref_slice_mut<'a>(ptr: *mut u8, len: usize) -> Option<&'a mut [u8]> {
    if len == 0 {
        return Some(&mut []);
    }
    if ptr.is_null() || len > isize::MAX as usize {
        return None;
    }
    // SAFETY: as documented for every function taking a buffer: `len` writable bytes.
    Some(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// Why a call failed: an error of the core, or one the C layer found in the arguments.
pub(crate) enum Fail {
    Core(Error),
    Status(c_int, String),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Core(e)
    }
}

/// Runs `body` on the handle: NULL check, re-entrancy check, panic catch, error recording.
pub(crate) fn with_client(client: *const ftp_client, body: impl FnOnce(&mut Inner) -> Result<(), Fail>) -> c_int {
    with_client_status(client, |inner| match body(inner) {
        Ok(()) => FTP_OK,
        Err(Fail::Core(e)) => inner.fail(&e),
        Err(Fail::Status(code, message)) => {
            inner.set_error(code, message);
            code
        }
    })
}

/// The bytes of a NUL-terminated string argument, or NULL_ARGUMENT naming it.
pub(crate) fn required<'a>(ptr: *const c_char, name: &str) -> Result<&'a [u8], Fail> {
    if ptr.is_null() {
        return Err(Fail::Status(FTP_ERR_NULL_ARGUMENT, format!("{name} is NULL")));
    }
    // SAFETY: C guarantees a NUL-terminated string that outlives the call.
    Ok(unsafe { std::ffi::CStr::from_ptr(ptr) }.to_bytes())
}

/// An optional string argument: NULL gives `None`.
pub(crate) fn optional<'a>(ptr: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: as in `required`.
    (!ptr.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(ptr) }.to_bytes())
}

/// A string argument that must be UTF-8 (host names, user names, option values).
pub(crate) fn utf8<'a>(bytes: &'a [u8], name: &str) -> Result<&'a str, Fail> {
    std::str::from_utf8(bytes)
        .map_err(|_| Fail::Status(super::status::FTP_ERR_ENCODING, format!("{name} is not valid UTF-8")))
}

/// An output pointer, checked before any work so that nothing is done for a NULL one.
pub(crate) fn out_ref<'a, T>(out: *mut T, name: &str) -> Result<&'a mut T, Fail> {
    deref_mut(out).ok_or_else(|| Fail::Status(FTP_ERR_NULL_ARGUMENT, format!("{name} is NULL")))
}

/// As `with_client`, for bodies that produce a status code themselves.
pub(crate) fn with_client_status(client: *const ftp_client, body: impl FnOnce(&mut Inner) -> c_int) -> c_int {
    let Some(handle) = deref(client) else {
        return FTP_ERR_NULL_ARGUMENT;
    };
    if handle.busy.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        return FTP_ERR_BUSY;
    }
    // A stop requested during an earlier call (one with no transfer to stop) must not stop
    // this one.
    handle.cancel.store(false, Ordering::Release);
    handle.transfer_stop.store(false, Ordering::Release);
    // SAFETY: the busy flag gives this call exclusive access to the inner state.
    let inner = unsafe { &mut *handle.inner.get() };
    let code = if inner.poisoned {
        inner.set_error(FTP_ERR_PANIC, "the handle is unusable after an internal panic; free it".into());
        FTP_ERR_PANIC
    } else {
        inner.last_error = CString::default();
        inner.last_error_code = FTP_OK;
        match catch_unwind(AssertUnwindSafe(|| body(inner))) {
            Ok(code) => code,
            Err(payload) => {
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                inner.poisoned = true;
                inner.set_error(FTP_ERR_PANIC, format!("internal panic: {what}"));
                FTP_ERR_PANIC
            }
        }
    };
    handle.busy.store(false, Ordering::Release);
    code
}

/// Read-only access for accessors that return borrowed data; `None` when NULL or busy.
pub(crate) fn peek<T>(client: *const ftp_client, body: impl FnOnce(&mut Inner) -> T) -> Option<T> {
    let handle = deref(client)?;
    if handle.busy.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        return None;
    }
    // SAFETY: exclusive access through the busy flag.
    let inner = unsafe { &mut *handle.inner.get() };
    let result = catch_unwind(AssertUnwindSafe(|| body(inner))).ok();
    handle.busy.store(false, Ordering::Release);
    result
}

impl Inner {
    pub(crate) fn fail(&mut self, error: &Error) -> c_int {
        let code = status::code_of(error);
        let mut message = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        self.set_error(code, message);
        code
    }

    pub(crate) fn set_error(&mut self, code: c_int, message: String) {
        self.last_error_code = code;
        self.last_error = to_cstring(message.into_bytes());
    }

    pub(crate) fn last_error(&self) -> (c_int, *const c_char) {
        (self.last_error_code, self.last_error.as_ptr())
    }

    /// Lends `bytes` to C as a NUL-terminated string in the `out` slot.
    pub(crate) fn lend(&mut self, bytes: Vec<u8>) -> *const c_char {
        self.out.insert(to_cstring(bytes)).as_ptr()
    }

    /// Lends `bytes` through `out` when the caller asked for them (`out` not NULL).
    pub(crate) fn lend_to(&mut self, out: *mut *const c_char, bytes: Vec<u8>) {
        if let Some(out) = deref_mut(out) {
            *out = self.lend(bytes);
        }
    }
}

/// Runs one core call on the handle whose result the C function does not return.
pub(crate) fn run<T>(client: *const ftp_client, call: impl FnOnce(&mut Client) -> crate::Result<T>) -> c_int {
    with_client(client, |inner| {
        call(&mut inner.client)?;
        Ok(())
    })
}

/// Server text can hold no NUL (the reply reader refuses it); cut at one anyway rather than fail.
pub(crate) fn to_cstring(mut bytes: Vec<u8>) -> CString {
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        bytes.truncate(nul);
    }
    CString::new(bytes).unwrap_or_default()
}

/// Frees a handle no job uses.
pub(crate) fn free_now(client: *mut ftp_client) {
    // SAFETY: the pointer came from ftp_new and is freed once, as documented.
    let boxed = unsafe { Box::from_raw(client) };
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        boxed.orphan_data_handles();
        drop(boxed)
    }));
}

/// For `ftp_free`: whether a job runs on the handle, in which case the job is cancelled and
/// the freeing left to its end.
pub(crate) fn defer_free(handle: &ftp_client) -> bool {
    if handle.job.compare_exchange(JOB_RUNNING, JOB_FREE_REQUESTED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
        handle.request_stop();
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_is_caught_and_poisons() {
        let handle = ftp_client::new(Client::new());
        let code = with_client(&handle, |_| panic!("boom"));
        assert_eq!(code, FTP_ERR_PANIC);
        let code = with_client(&handle, |_| Ok(()));
        assert_eq!(code, FTP_ERR_PANIC);
        let message = peek(&handle, |inner| inner.last_error.to_string_lossy().into_owned()).unwrap();
        assert!(message.contains("unusable"), "{message}");
    }

    #[test]
    fn reentry_is_busy() {
        let handle = ftp_client::new(Client::new());
        let ptr: *const ftp_client = &handle;
        let mut inner_code = 0;
        let code = with_client(ptr, |_| {
            inner_code = with_client(ptr, |_| Ok(()));
            Ok(())
        });
        assert_eq!((code, inner_code), (FTP_OK, FTP_ERR_BUSY));
        assert_eq!(with_client(std::ptr::null(), |_| Ok(())), FTP_ERR_NULL_ARGUMENT);
    }
}
