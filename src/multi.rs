//! Many clients on one thread: each operation runs as a task (`net::task`) whose socket waits
//! come here, and the caller's loop drives them all.
//!
//! Two ways to drive a `Multi`, as libcurl's multi interface offers:
//! - `wait` then `perform`: the multi handle polls every socket itself (callers without a
//!   loop of their own).
//! - `socket_changes`, `timeout` and `socket_action`: the caller's loop (epoll, libuv, an
//!   async runtime) watches the sockets the multi handle names and tells it which one is
//!   ready, or that the timer fired.
//!
//! An operation is any sequence of client calls (`start`): connect, log in, transfer, each
//! with the blocking API's code, replies, errors and timeouts.

use crate::error::{Error, Result};
use crate::net::task::{Step, Task, Wait, Woke};
use crate::Client;
use std::any::Any;
use std::collections::{BTreeSet, HashMap};
use std::os::fd::RawFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The stack each operation runs on, unless `set_stack_size` says otherwise: mapped with a
/// guard page below it, and only the pages an operation touches take memory. Callbacks of
/// the operation (data, progress, trace) run on it too.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// A client's place in a `Multi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token(pub usize);

/// An operation that ended: its client and what it returned (`start`'s `T`, boxed).
pub struct Completion {
    pub token: Token,
    pub output: Box<dyn Any>,
}

impl Completion {
    /// The operation's result, when it was a `T`.
    pub fn take<T: 'static>(self) -> Option<T> {
        self.output.downcast::<T>().ok().map(|b| *b)
    }
}

/// A socket whose watch changed: watch `fd` for `events` (POLLIN and/or POLLOUT) from now
/// on; `events == 0` means stop watching it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketChange {
    pub fd: RawFd,
    pub events: i16,
}

enum Slot {
    Owned(Box<Client>),
    /// No client here: its operations reach their client themselves (see `add_external`).
    External,
}

struct Entry {
    client: Slot,
    task: Option<Task>,
    /// What the task waits for; `None` for a task that has not run yet.
    wait: Option<Wait>,
    /// The client's cancel and transfer-stop flags, and how they were when last looked at:
    /// a flag that comes up resumes the task, so that its wait sees it.
    flags: [Arc<AtomicBool>; 2],
    flags_seen: [bool; 2],
}

impl Entry {
    /// Whether a stop flag came up since the last look (then the task must run to see it).
    fn flag_raised(&mut self) -> bool {
        let flags = [self.flags[0].load(Ordering::Acquire), self.flags[1].load(Ordering::Acquire)];
        let raised = (flags[0] && !self.flags_seen[0]) || (flags[1] && !self.flags_seen[1]);
        self.flags_seen = flags;
        raised
    }
}

/// What the caller's loop was last told to watch for one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Watch {
    fd: RawFd,
    /// The socket's inode: a descriptor closed and reused for a new socket between two
    /// looks is a new socket, which the caller's loop must be told about again (epoll
    /// forgets a descriptor when it is closed).
    inode: u64,
    events: i16,
}

/// Clients driven from one thread. Not `Send`: the operations' stacks belong to the thread.
pub struct Multi {
    entries: Vec<Option<Entry>>,
    stack_size: usize,
    /// What `socket_changes` last announced, per entry, and the entry of each announced
    /// socket (for `socket_action`).
    announced: Vec<Option<Watch>>,
    owner_of: HashMap<RawFd, usize>,
    /// Entries that ran, started or left since the last `socket_changes`: only their
    /// watches can have changed (so a change costs nothing per idle session).
    dirty: Vec<usize>,
    /// The deadline of every waiting task, earliest first: what is due is found without
    /// looking at every session.
    deadlines: BTreeSet<(Instant, usize)>,
    /// Tasks started and not run yet.
    fresh: Vec<usize>,
    /// Tasks running (started, not ended).
    active: usize,
    /// When the stop flags of every task were last looked at (see FLAG_SCAN).
    flags_checked: Instant,
}

/// How often the stop flags of all tasks are looked at: a stop requested from outside
/// (`Client::canceller`) is seen that late at most, besides `timeout`'s 20 ms.
const FLAG_SCAN: Duration = Duration::from_millis(10);

impl Default for Multi {
    fn default() -> Multi {
        Multi::new()
    }
}

impl Multi {
    pub fn new() -> Multi {
        Multi {
            entries: Vec::new(),
            stack_size: DEFAULT_STACK_SIZE,
            announced: Vec::new(),
            owner_of: HashMap::new(),
            dirty: Vec::new(),
            deadlines: BTreeSet::new(),
            fresh: Vec::new(),
            active: 0,
            flags_checked: Instant::now(),
        }
    }

    /// The stack size of operations started from now on (at least 64 KiB).
    pub fn set_stack_size(&mut self, bytes: usize) {
        self.stack_size = bytes.max(64 * 1024);
    }

    /// Takes a client in; it stays until `remove`.
    pub fn add(&mut self, client: Client) -> Token {
        let flags = [client.canceller(), client.transfer_stopper()];
        self.insert(Slot::Owned(Box::new(client)), flags)
    }

    /// Makes a place for a client that lives elsewhere (a handle of the C API), given its
    /// `canceller` and `transfer_stopper` so that a stop requested from the loop resumes
    /// its operation. Its operations are started with `start_call` and reach the client
    /// themselves.
    pub fn add_external(&mut self, canceller: Arc<AtomicBool>, transfer_stopper: Arc<AtomicBool>) -> Token {
        self.insert(Slot::External, [canceller, transfer_stopper])
    }

    fn insert(&mut self, client: Slot, flags: [Arc<AtomicBool>; 2]) -> Token {
        let entry = Entry { client, task: None, wait: None, flags, flags_seen: [false; 2] };
        match self.entries.iter().position(Option::is_none) {
            Some(i) => {
                self.entries[i] = Some(entry);
                Token(i)
            }
            None => {
                self.entries.push(Some(entry));
                Token(self.entries.len() - 1)
            }
        }
    }

    /// Takes a client out; an operation still running is abandoned first: its waits fail
    /// at once (`Cancelled`) until it returns, and a connection that this leaves out of step
    /// with its server is closed. `None` for an external client or an unknown token.
    pub fn remove(&mut self, token: Token) -> Option<Client> {
        self.remove_with_output(token).0
    }

    /// As `remove`, also giving what the abandoned operation returned, if one ran.
    pub fn remove_with_output(&mut self, token: Token) -> (Option<Client>, Option<Box<dyn Any>>) {
        if self.entries.get(token.0).and_then(Option::as_ref).is_none() {
            return (None, None);
        }
        self.set_wait(token.0, None);
        let Some(mut entry) = self.entries[token.0].take() else { return (None, None) };
        self.dirty.push(token.0);
        let output = entry.task.take().map(|task| {
            self.active -= 1;
            task.abandon()
        });
        match entry.client {
            Slot::Owned(client) => (Some(*client), output),
            Slot::External => (None, output),
        }
    }

    /// The client, when no operation of it runs.
    pub fn client_mut(&mut self, token: Token) -> Option<&mut Client> {
        let entry = self.entries.get_mut(token.0)?.as_mut()?;
        match &mut entry.client {
            // The running operation has it.
            _ if entry.task.is_some() => None,
            Slot::Owned(client) => Some(client),
            Slot::External => None,
        }
    }

    /// Whether an operation of this client runs.
    pub fn is_running(&self, token: Token) -> bool {
        self.entries.get(token.0).and_then(Option::as_ref).is_some_and(|e| e.task.is_some())
    }

    /// Operations running.
    pub fn running(&self) -> usize {
        self.active
    }

    /// Starts an operation on the client: `op` runs as a task from the next `perform` or
    /// `socket_action` on, and its result comes back as a `Completion`. `WrongState` when
    /// the client already runs one (or is external: see `start_call`).
    pub fn start<T: 'static>(&mut self, token: Token, op: impl FnOnce(&mut Client) -> T + 'static) -> Result<()> {
        let entry = self.idle_entry(token)?;
        let Slot::Owned(client) = &mut entry.client else {
            return Err(Error::WrongState("an external client's operations start with start_call".into()));
        };
        let mut client = NonNull::from(&mut **client);
        self.launch(token, move || {
            // SAFETY: the client is boxed in its entry and outlives the task (remove and
            // drop abandon the task first); nothing else reaches it while the task runs
            // (client_mut refuses).
            op(unsafe { client.as_mut() })
        })
    }

    /// Starts an operation that reaches its client by itself (an external one, or any):
    /// as `start` otherwise.
    pub fn start_call<T: 'static>(&mut self, token: Token, op: impl FnOnce() -> T + 'static) -> Result<()> {
        self.idle_entry(token)?;
        self.launch(token, op)
    }

    fn idle_entry(&mut self, token: Token) -> Result<&mut Entry> {
        let entry = self
            .entries
            .get_mut(token.0)
            .and_then(Option::as_mut)
            .ok_or_else(|| Error::InvalidArgument("no such client in this multi handle".into()))?;
        if entry.task.is_some() {
            return Err(Error::WrongState("an operation of this client is still running".into()));
        }
        Ok(entry)
    }

    fn launch<T: 'static>(&mut self, token: Token, op: impl FnOnce() -> T + 'static) -> Result<()> {
        let task = Task::new(self.stack_size, move || Box::new(op()) as Box<dyn Any>)
            .map_err(|e| Error::io("mapping a stack for the operation", e))?;
        let entry = self.idle_entry(token)?;
        entry.task = Some(task);
        entry.flags_seen = [entry.flags[0].load(Ordering::Acquire), entry.flags[1].load(Ordering::Acquire)];
        self.set_wait(token.0, None);
        self.fresh.push(token.0);
        self.active += 1;
        Ok(())
    }

    /// Runs every operation that can go on now (its socket ready, its deadline passed, a
    /// stop requested, or just started), without blocking; returns those that ended.
    pub fn perform(&mut self) -> Result<Vec<Completion>> {
        let ready = self.poll(Duration::ZERO)?;
        let mut run: Vec<(usize, Woke)> = ready.into_iter().map(|i| (i, Woke::Ready)).collect();
        self.add_due(&mut run);
        Ok(self.run(run))
    }

    /// Blocks until an operation can go on or `max` has passed; returns how many sockets
    /// are ready (0 also when a deadline came or an operation waits to start).
    pub fn wait(&mut self, max: Duration) -> Result<usize> {
        let wait = self.timeout().map_or(max, |t| t.min(max));
        Ok(self.poll(wait)?.len())
    }

    /// How soon `socket_action(None)` (or `perform`) must run even if no socket becomes
    /// ready: zero when an operation waits to start; `None` when no operation runs. Never
    /// more than 20 ms while one runs: a stop requested from another thread
    /// (`Client::canceller`) is seen within that, as in a blocking call.
    pub fn timeout(&self) -> Option<Duration> {
        if self.active == 0 {
            return None;
        }
        if !self.fresh.is_empty() {
            return Some(Duration::ZERO);
        }
        let next = self.deadlines.first().map_or(Duration::MAX, |(at, _)| at.saturating_duration_since(Instant::now()));
        Some(next.min(crate::net::stream::CANCEL_TICK))
    }

    /// Runs the operation waiting on `fd` (as ready), or with `None` only what is due; in
    /// both cases also the operations whose deadline passed, that wait to start or saw a
    /// stop request. Returns those that ended. Then `socket_changes` and `timeout` say
    /// what to watch next. (Sockets are known by what `socket_changes` announced.)
    pub fn socket_action(&mut self, fd: Option<RawFd>) -> Result<Vec<Completion>> {
        let mut run = Vec::new();
        if let Some(fd) = fd {
            if let Some(&i) = self.owner_of.get(&fd) {
                let waits_on_it = self.entries[i].as_ref().and_then(|e| e.wait).is_some_and(|w| w.fd == fd);
                if waits_on_it {
                    run.push((i, Woke::Ready));
                }
            }
        }
        self.add_due(&mut run);
        Ok(self.run(run))
    }

    /// Adds to `run` what is due without a socket event: tasks not run yet, deadlines
    /// passed, stop flags raised (looked at every FLAG_SCAN).
    fn add_due(&mut self, run: &mut Vec<(usize, Woke)>) {
        let now = Instant::now();
        run.extend(self.fresh.drain(..).map(|i| (i, Woke::Check)));
        run.extend(self.deadlines.iter().take_while(|(at, _)| *at <= now).map(|&(_, i)| (i, Woke::Check)));
        if now.duration_since(self.flags_checked) >= FLAG_SCAN {
            self.flags_checked = now;
            for (i, entry) in self.entries.iter_mut().enumerate() {
                if let Some(entry) = entry.as_mut().filter(|e| e.task.is_some()) {
                    if entry.flag_raised() {
                        run.push((i, Woke::Check));
                    }
                }
            }
        }
    }

    /// Resumes each task of `run` once (the first reason given for it wins: the stable
    /// sort keeps a socket's readiness ahead of a later "due").
    fn run(&mut self, mut run: Vec<(usize, Woke)>) -> Vec<Completion> {
        run.sort_by_key(|&(i, _)| i);
        run.dedup_by_key(|&mut (i, _)| i);
        let mut done = Vec::new();
        for (i, woke) in run {
            self.resume(i, woke, &mut done);
        }
        done
    }

    /// Sets what task `i` waits for, keeping the deadline index in step.
    fn set_wait(&mut self, i: usize, wait: Option<Wait>) {
        let Some(entry) = self.entries.get_mut(i).and_then(Option::as_mut) else { return };
        if let Some(old) = entry.wait.take() {
            self.deadlines.remove(&(old.deadline, i));
        }
        if let Some(new) = wait {
            self.deadlines.insert((new.deadline, i));
        }
        entry.wait = wait;
    }

    /// What changed in the sockets to watch since the last call: sockets to stop watching
    /// come first, then new or changed watches.
    pub fn socket_changes(&mut self) -> Vec<SocketChange> {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        self.announced.resize(self.entries.len(), None);
        let (mut removed, mut added) = (Vec::new(), Vec::new());
        for i in dirty {
            let wait = self.entries.get(i).and_then(Option::as_ref).filter(|e| e.task.is_some()).and_then(|e| e.wait);
            let old = self.announced[i];
            let new = wait.map(|w| Watch { fd: w.fd, inode: inode(w.fd), events: w.events });
            if old == new {
                continue;
            }
            if let Some(old) = old {
                // Same socket, other events: a change, not a removal.
                if new.is_none_or(|n| n.fd != old.fd || n.inode != old.inode) {
                    removed.push(old.fd);
                    if self.owner_of.get(&old.fd) == Some(&i) {
                        self.owner_of.remove(&old.fd);
                    }
                }
            }
            if let Some(new) = new {
                added.push(SocketChange { fd: new.fd, events: new.events });
                self.owner_of.insert(new.fd, i);
            }
            self.announced[i] = new;
        }
        // A descriptor one entry closed and another reused: removed, then added again.
        let mut changes: Vec<SocketChange> = removed.into_iter().map(|fd| SocketChange { fd, events: 0 }).collect();
        changes.extend(added);
        changes
    }

    fn resume(&mut self, i: usize, woke: Woke, done: &mut Vec<Completion>) {
        let Some(entry) = self.entries[i].as_mut() else { return };
        let Some(task) = entry.task.as_mut() else { return };
        self.dirty.push(i);
        let step = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.resume(woke)));
        let step = match step {
            Ok(step) => step,
            Err(panic) => {
                // The task is over (its stack unwound): the entry goes back to idle, then
                // the panic goes on to the caller.
                self.set_wait(i, None);
                if let Some(entry) = self.entries[i].as_mut() {
                    entry.task = None;
                }
                self.active -= 1;
                std::panic::resume_unwind(panic)
            }
        };
        match step {
            Step::Waiting(wait) => self.set_wait(i, Some(wait)),
            Step::Done(output) => {
                self.set_wait(i, None);
                if let Some(entry) = self.entries[i].as_mut() {
                    entry.task = None;
                }
                self.active -= 1;
                done.push(Completion { token: Token(i), output });
            }
        }
    }

    /// One poll(2) of every socket an operation waits on: the entries whose socket is ready.
    fn poll(&self, wait: Duration) -> Result<Vec<usize>> {
        let mut fds = Vec::new();
        let mut owners = Vec::new();
        for (i, entry) in self.entries.iter().enumerate() {
            if let Some(w) = entry.as_ref().filter(|e| e.task.is_some()).and_then(|e| e.wait) {
                fds.push(libc::pollfd { fd: w.fd, events: w.events, revents: 0 });
                owners.push(i);
            }
        }
        let ms = if wait.is_zero() { 0 } else { wait.as_millis().clamp(1, i32::MAX as u128) as i32 };
        // SAFETY: a valid array of pollfd, of the length given.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                return Ok(Vec::new());
            }
            return Err(Error::io("waiting for the sockets", e));
        }
        Ok(fds.iter().zip(owners).filter(|(p, _)| p.revents != 0).map(|(_, i)| i).collect())
    }
}

impl Drop for Multi {
    /// Abandons the operations still running (their connections are closed).
    fn drop(&mut self) {
        for i in 0..self.entries.len() {
            self.remove(Token(i));
        }
    }
}

/// The inode of a socket (0 when fstat fails): tells a reused descriptor from its old socket.
fn inode(fd: RawFd) -> u64 {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a stat into the space given, or fails and writes nothing we read.
    if unsafe { libc::fstat(fd, st.as_mut_ptr()) } != 0 {
        return 0;
    }
    // SAFETY: fstat succeeded, so it filled the struct.
    let st = unsafe { st.assume_init() };
    #[allow(clippy::unnecessary_cast)] // ino_t is 32 bits on some targets
    let ino = st.st_ino as u64;
    ino
}
