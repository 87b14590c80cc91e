//! Tasks: a client call that runs on a stack of its own (a stackful coroutine) and, where
//! it would block on a socket, hands the wait to whoever resumes it (`crate::multi`).
//!
//! Every wait of this library on a socket goes through `stream::wait_until` (reads, writes,
//! connects, accepts, TLS steps, data connections). Outside a task that function polls the
//! socket; inside one it suspends the task with the socket, the readiness it needs and its
//! deadline, and carries on when resumed. So one implementation of FTP, the blocking one,
//! is also the non-blocking one: the same code runs, only the waiting differs.

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use std::any::Any;
use std::cell::Cell;
use std::os::fd::RawFd;
use std::time::Instant;

/// What a suspended task waits for: `events` (POLLIN, POLLOUT) on `fd`, until `deadline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    pub fd: RawFd,
    pub events: i16,
    pub deadline: Instant,
}

/// Why a task is resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woke {
    /// Its socket reported readiness (or an error or hang-up, which the next call reports).
    Ready,
    /// Its deadline may have passed, or a stop flag of its client was set: look again.
    Check,
    /// Its driver is going away: every wait fails at once until the task returns.
    Abandon,
}

type Body = Coroutine<Woke, Wait, Box<dyn Any>, DefaultStack>;

thread_local! {
    /// The task running on this thread, if any (set while it runs, cleared while suspended).
    static CURRENT: Cell<*const Yielder<Woke, Wait>> = const { Cell::new(std::ptr::null()) };
}

/// Whether the calling code runs inside a task (then waits suspend it).
pub(crate) fn in_task() -> bool {
    CURRENT.with(|c| !c.get().is_null())
}

/// Suspends the running task until its driver resumes it; `None` outside a task.
pub(crate) fn suspend(wait: Wait) -> Option<Woke> {
    let yielder = CURRENT.with(|c| c.replace(std::ptr::null()));
    if yielder.is_null() {
        return None;
    }
    // SAFETY: CURRENT holds the yielder of the task running on this thread, valid for as
    // long as the task's body runs, which it does: this code is part of it.
    let woke = unsafe { &*yielder }.suspend(wait);
    CURRENT.with(|c| c.set(yielder));
    Some(woke)
}

/// Lets the other tasks run (a task that never has to wait, such as a download from a
/// server faster than the callbacks, would keep the thread): suspends the running task on
/// `fd` with a deadline that has already passed, so that its driver resumes it at its
/// next turn. Nothing outside a task (`None`); else how it was resumed.
pub(crate) fn yield_now(fd: RawFd) -> Option<Woke> {
    if !in_task() {
        return None;
    }
    suspend(Wait { fd, events: libc::POLLIN, deadline: Instant::now() })
}

/// A call running on its own stack.
pub struct Task {
    body: Body,
    /// Set once the driver abandoned it: every later wait fails at once.
    abandoned: bool,
}

/// What resuming a task came to.
pub enum Step {
    Waiting(Wait),
    Done(Box<dyn Any>),
}

impl Task {
    /// A task that will run `call` (nothing runs until the first `resume`) on a stack of
    /// `stack_size` bytes (mapped, with a guard page; only the pages touched use memory).
    pub fn new(stack_size: usize, call: impl FnOnce() -> Box<dyn Any> + 'static) -> std::io::Result<Task> {
        let stack = DefaultStack::new(stack_size)?;
        let body = Coroutine::with_stack(stack, move |yielder: &Yielder<Woke, Wait>, _first: Woke| {
            CURRENT.with(|c| c.set(yielder));
            let out = call();
            CURRENT.with(|c| c.set(std::ptr::null()));
            out
        });
        Ok(Task { body, abandoned: false })
    }

    /// Runs the task until it waits again or returns. A panic in it comes out here.
    pub fn resume(&mut self, woke: Woke) -> Step {
        let woke = if self.abandoned { Woke::Abandon } else { woke };
        // The driver may itself run inside a task (a task that drives other clients):
        // that task's yielder is put back once this one suspends.
        let outer = CURRENT.with(|c| c.replace(std::ptr::null()));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.body.resume(woke)));
        CURRENT.with(|c| c.set(outer));
        match result {
            Ok(CoroutineResult::Yield(wait)) => Step::Waiting(wait),
            Ok(CoroutineResult::Return(out)) => Step::Done(out),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Runs the task to its end with every wait failing at once (`Woke::Abandon`): its
    /// connections are closed by the code that handles those failures. Never unwinds the
    /// task's stack by force: the frames on it may be C (a job of the C API).
    pub fn abandon(mut self) -> Box<dyn Any> {
        self.abandoned = true;
        loop {
            if let Step::Done(out) = self.resume(Woke::Abandon) {
                return out;
            }
        }
    }
}
