//! A fault-injecting TCP proxy on loopback, for putting the real servers of
//! `tests/servers/servers.sh` behind a connection that misbehaves on cue.
//!
//! # Addresses
//!
//! Each proxy takes an address of its own, `127.77.x.y` (all of 127/8 is loopback on Linux),
//! and listens there for the control connection on any free port. It connects to the server
//! from 127.0.0.1, so the server sees every connection (control and data) come from one
//! address, as vsftpd insists.
//!
//! * Passive data connections: ftpc ignores the address of a 227 reply and connects to the
//!   control connection's peer (the proxy) on the port of the 229/227 reply. The proxy listens
//!   on its own address on every port of the server's passive range and forwards a connection
//!   on port P to the server's port P. No reply is rewritten, so this works inside TLS too.
//!   [`Passive::BlackHole`] makes those connects hang instead.
//! * Active data connections (plain control connections only): EPRT and PORT are rewritten to
//!   a listener of the proxy on 127.0.0.1; when the server connects there the proxy connects to
//!   the client's port from its own address (ftpc only takes data connections from the
//!   control connection's peer). See [`Active`] for the faults of this path.
//!
//! # Faults
//!
//! A [`Fault`] names a connection (the n-th control or data connection, in the order the proxy
//! accepts them), a direction ([`Dir::Up`]: client to server, [`Dir::Down`]: server to client),
//! a point in that direction's byte stream ([`When`]) and what happens there ([`Action`]).
//! Faults are given before the connections exist ([`ProxyBuilder::fault`]) or injected into
//! live ones ([`Proxy::inject`], for points inside TLS where lines cannot be seen). Every
//! fault that fires is recorded ([`Proxy::fired`]) so that a test can check its fault really
//! happened.
//!
//! A control connection is read line by line (for [`When::Line`] and the EPRT/PORT rewrite)
//! until TLS starts: after a `234` reply downwards and after `AUTH` upwards the bytes are
//! forwarded as they come. Urgent data goes on as urgent data (ftpc sends the end of ABOR
//! urgent, and vsftpd only looks at ABOR during a transfer when it is), and a sender's
//! reset resets both ends, so that without faults the proxy is transparent.
//!
//! IPv4 only.
//!
//! # Threads
//!
//! One thread accepts on every listener; each proxied connection then has one thread that
//! owns both of its sockets and moves bytes both ways (poll(2), blocking writes with a short
//! timeout). Owning both sockets in one thread makes a reset simple: SO_LINGER 0, then close.
//! Dropping the [`Proxy`] stops and joins every thread and closes every socket.

use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::ops::RangeInclusive;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often blocked threads look at the stop flag.
const TICK: Duration = Duration::from_millis(50);
/// A line longer than this is forwarded without waiting for its end.
const MAX_LINE: usize = 64 * 1024;
/// Most bytes read from a sender and not yet forwarded.
const MAX_PENDING: usize = 256 * 1024;
/// Connecting onwards to the server or the client.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// [`When::LastTlsRecord`]: a sender that sent nothing for this long after a complete record
/// is taken to have sent its last one (servers that wait for the client's close_notify
/// before closing never send their FIN first).
const LAST_RECORD_IDLE: Duration = Duration::from_millis(300);

// --- what to do, and when ------------------------------------------------------------------

/// A direction of a proxied connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

/// A proxied connection: the n-th control or data connection (from 0, in accept order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conn {
    Control(usize),
    Data(usize),
}

/// Where in a direction's byte stream a fault fires.
#[derive(Clone, Debug)]
pub enum When {
    /// Before the first byte (for an injected fault: at once).
    Now,
    /// After this many bytes (for an injected fault: this many more).
    Bytes(u64),
    /// Just before the first line that starts with the prefix (plain control connections).
    Line(&'static str),
    /// After the first `n` bytes of the first line that starts with the prefix.
    InLine(&'static str, usize),
    /// `n` bytes after the end of the first line that starts with the prefix (0: right after
    /// its line end). `AfterLine("234", 0)` is the start of the TLS handshake.
    AfterLine(&'static str, u64),
    /// Just before the last TLS record the sender sends (on a TLS data connection: its
    /// close_notify alert), once at least `after` bytes went through. The direction then holds
    /// each complete record back until the next one arrives; the last is the one followed by
    /// the sender's FIN or by 300 ms of silence. No other fault may share the direction.
    LastTlsRecord { after: u64 },
    /// At the first end of a TLS record at or past `after` bytes: between two records, where
    /// a cut looks like a clean end to a TLS layer that does not insist on close_notify.
    TlsRecordEnd { after: u64 },
    /// Just before the first TLS record whose body is at least `len` bytes. Handshake
    /// records are short, so `len` of a few KiB finds the first record of a file's data:
    /// the point where a download goes silent at its start, past the data connection's
    /// handshake. A record header is held back until it is whole, so that the fault can
    /// fire before it.
    TlsRecordAtLeast { len: usize },
}

/// What happens where a fault fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Stop forwarding this direction and stop reading from its sender (which then blocks
    /// once the buffers are full), as a peer that stops reading; the sockets stay open. A
    /// reset by the sender still goes through (to both ends).
    Stall,
    /// FIN to the receiver. What the sender still sends is read and thrown away, so the
    /// sender sees no error (a server sending a file then answers 226).
    Cut,
    /// RST to both ends of the connection (SO_LINGER 0, then close).
    Reset,
    /// Hold this direction for this long, then go on.
    Delay(Duration),
    /// From here on, one byte per write (TCP_NODELAY: one segment each).
    Split,
}

#[derive(Clone, Debug)]
pub struct Fault {
    pub conn: Conn,
    pub dir: Dir,
    pub when: When,
    pub action: Action,
    /// Injected when this one fires (for a fault on one connection that must follow one on
    /// another without a race).
    pub then: Option<Box<Fault>>,
}

impl Fault {
    pub fn new(conn: Conn, dir: Dir, when: When, action: Action) -> Fault {
        Fault { conn, dir, when, action, then: None }
    }

    /// A fault on the first control connection.
    pub fn control(dir: Dir, when: When, action: Action) -> Fault {
        Fault::new(Conn::Control(0), dir, when, action)
    }

    /// A fault on the n-th data connection (from 0).
    pub fn data(n: usize, dir: Dir, when: When, action: Action) -> Fault {
        Fault::new(Conn::Data(n), dir, when, action)
    }

    /// `next` is injected the moment this fault fires.
    pub fn then(mut self, next: Fault) -> Fault {
        self.then = Some(Box::new(next));
        self
    }
}

/// What becomes of passive-mode data connections (the client connecting to the proxy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Passive {
    /// Forwarded to the server's port.
    Forward,
    /// Never established: every mirror listener has a backlog of 0 and is full (one
    /// connection of the proxy's own waits in it, never accepted), so Linux drops the
    /// client's SYN and its connect hangs, as behind a firewall that drops packets. No data
    /// connection reaches the server.
    BlackHole,
}

/// What becomes of active-mode data connections (the server connecting to the client).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Active {
    /// Forwarded to the client.
    Forward,
    /// Accepted from the server and held open, never read; the client never gets a
    /// connection (a black hole: the server blocks once the buffers are full).
    Hold,
    /// Accepted from the server and reset at once; the client never gets a connection.
    Drop,
    /// EPRT/PORT rewritten to a port where nothing listens: the server cannot connect.
    DeadPort,
}

/// A fault that fired: where, and after how many bytes of its direction.
#[derive(Clone, Debug)]
pub struct Fired {
    pub conn: Conn,
    pub dir: Dir,
    pub action: Action,
    pub at: u64,
}

impl fmt::Display for Fired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {:?}: {:?} after {} bytes", self.conn, self.dir, self.action, self.at)
    }
}

// --- the proxy -----------------------------------------------------------------------------

/// What the proxy stands in front of.
#[derive(Clone, Debug)]
pub struct Upstream {
    /// The server's control address.
    pub addr: SocketAddr,
    /// The server's passive port range (mirrored on the proxy's address).
    pub passive: RangeInclusive<u16>,
}

pub struct ProxyBuilder {
    upstream: Upstream,
    faults: Vec<Fault>,
    active: Active,
    passive: Passive,
    split_all: bool,
}

impl ProxyBuilder {
    pub fn fault(mut self, fault: Fault) -> ProxyBuilder {
        self.faults.push(fault);
        self
    }

    pub fn active(mut self, active: Active) -> ProxyBuilder {
        self.active = active;
        self
    }

    pub fn passive(mut self, passive: Passive) -> ProxyBuilder {
        self.passive = passive;
        self
    }

    /// Every connection, both directions, one byte per write from the first byte.
    pub fn split_all(mut self) -> ProxyBuilder {
        self.split_all = true;
        self
    }

    pub fn start(self) -> Proxy {
        let (ip, control, mut mirrors) = bind_own_address(&self.upstream.passive);
        // Black-holed mirrors are kept open, full and never accepted from.
        let mut black_holes = Vec::new();
        if self.passive == Passive::BlackHole {
            for mirror in mirrors.drain(..) {
                black_holes.push(fill_backlog(mirror));
            }
        }
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            ip,
            upstream: self.upstream,
            active: self.active,
            split_all: self.split_all,
            faults: Mutex::new(self.faults),
            injected: Mutex::new(Vec::new()),
            fired: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            controls: AtomicUsize::new(0),
            datas: AtomicUsize::new(0),
            active_listeners: Mutex::new(Vec::new()),
            held: Mutex::new(Vec::new()),
            threads: Mutex::new(Vec::new()),
        });
        let port = control.local_addr().expect("proxy listener address").port();
        let acceptor = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("proxy-accept".into())
                .spawn(move || accept_loop(&shared, control, mirrors))
                .expect("spawning the proxy's accept thread")
        };
        Proxy { shared, port, acceptor: Some(acceptor), _black_holes: black_holes }
    }
}

/// A listener whose accept queue is full: backlog 0 (one connection fits) and one
/// connection of ours in it. Linux then drops further SYNs (ListenOverflows) instead of
/// refusing them, so a client's connect waits.
fn fill_backlog(listener: TcpListener) -> (TcpListener, TcpStream) {
    SockRef::from(&listener).listen(0).expect("proxy: listen(0) on a mirror listener");
    let addr = listener.local_addr().expect("mirror listener address");
    let filler = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).expect("proxy: filling a mirror's backlog");
    (listener, filler)
}

pub struct Proxy {
    shared: Arc<Shared>,
    port: u16,
    acceptor: Option<JoinHandle<()>>,
    /// [`Passive::BlackHole`]: the full mirror listeners and the connections filling them.
    _black_holes: Vec<(TcpListener, TcpStream)>,
}

impl Proxy {
    pub fn builder(upstream: Upstream) -> ProxyBuilder {
        ProxyBuilder {
            upstream,
            faults: Vec::new(),
            active: Active::Forward,
            passive: Passive::Forward,
            split_all: false,
        }
    }

    /// The proxy's address, for `Client::connect`.
    pub fn host(&self) -> String {
        self.shared.ip.to_string()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Adds a fault to a connection that is already open (or not yet open). `When::Now` and
    /// `When::Bytes` count from the moment the connection's thread sees it, which is before
    /// it forwards anything that arrives after this call.
    pub fn inject(&self, fault: Fault) {
        self.shared.injected.lock().unwrap().push(fault);
    }

    /// The faults that fired so far, in order.
    pub fn fired(&self) -> Vec<Fired> {
        self.shared.fired.lock().unwrap().clone()
    }

    /// What happened to the connections (opened, faults, how they ended), one line each.
    pub fn log(&self) -> Vec<String> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Data connections accepted so far (passive from the client, active from the server).
    pub fn data_connections(&self) -> usize {
        self.shared.datas.load(Ordering::SeqCst)
    }

    pub fn control_connections(&self) -> usize {
        self.shared.controls.load(Ordering::SeqCst)
    }

    /// Waits up to `limit` for `n` faults to have fired; true when they did.
    pub fn wait_fired(&self, n: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.fired().len() < n {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let threads = std::mem::take(&mut *self.shared.threads.lock().unwrap());
        for t in threads {
            let _ = t.join();
        }
        self.shared.held.lock().unwrap().clear();
    }
}

struct Shared {
    stop: AtomicBool,
    ip: Ipv4Addr,
    upstream: Upstream,
    active: Active,
    split_all: bool,
    /// Faults given at the start, taken by each connection when it opens.
    faults: Mutex<Vec<Fault>>,
    /// Faults injected later, taken by their connection's thread.
    injected: Mutex<Vec<Fault>>,
    fired: Mutex<Vec<Fired>>,
    /// What happened to each connection, for failure messages.
    log: Mutex<Vec<String>>,
    controls: AtomicUsize,
    datas: AtomicUsize,
    /// Listeners for the server's active data connections, with the client's address.
    active_listeners: Mutex<Vec<(TcpListener, SocketAddr)>>,
    /// Active data connections of `Active::Hold`.
    held: Mutex<Vec<TcpStream>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn take_faults(&self, list: &Mutex<Vec<Fault>>, conn: Conn) -> Vec<Fault> {
        let mut list = list.lock().unwrap();
        let (mine, rest): (Vec<Fault>, Vec<Fault>) = list.drain(..).partition(|f| f.conn == conn);
        *list = rest;
        mine
    }

    fn record(&self, fired: Fired) {
        self.note(fired.to_string());
        self.fired.lock().unwrap().push(fired);
    }

    fn note(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }

    fn spawn(self: &Arc<Self>, name: String, job: impl FnOnce() + Send + 'static) {
        let handle = std::thread::Builder::new().name(name).spawn(job).expect("spawning a proxy thread");
        self.threads.lock().unwrap().push(handle);
    }
}

// --- listening and accepting ---------------------------------------------------------------

/// A free `127.77.x.y` with the control listener (any port) and one listener per passive port.
fn bind_own_address(passive: &RangeInclusive<u16>) -> (Ipv4Addr, TcpListener, Vec<TcpListener>) {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = std::process::id().wrapping_mul(97);
    for _ in 0..500 {
        let n = base.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)) % (250 * 250);
        let ip = Ipv4Addr::new(127, 77, (n / 250) as u8 + 1, (n % 250) as u8 + 1);
        let Ok(control) = listen(SocketAddr::new(IpAddr::V4(ip), 0)) else {
            continue;
        };
        let mirrors: io::Result<Vec<TcpListener>> =
            passive.clone().map(|port| listen(SocketAddr::new(IpAddr::V4(ip), port))).collect();
        if let Ok(mirrors) = mirrors {
            return (ip, control, mirrors);
        }
    }
    panic!("proxy: no free 127.77.x.y address for the passive ports {passive:?}");
}

/// A listener without SO_REUSEADDR, so that two proxies never share an address and port.
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&SockAddr::from(addr))?;
    socket.listen(64)?;
    Ok(socket.into())
}

/// What an accepted connection is, by the listener it came in on.
enum Incoming {
    Control,
    /// A passive data connection from the client, for the server's port.
    Passive(u16),
    /// An active data connection from the server, for the client's address.
    Active(SocketAddr),
}

fn accept_loop(shared: &Arc<Shared>, control: TcpListener, mirrors: Vec<TcpListener>) {
    while !shared.stopped() {
        // Active listeners come and go: take the current ones for this round.
        let actives = std::mem::take(&mut *shared.active_listeners.lock().unwrap());
        let mut fds: Vec<RawFd> = vec![control.as_raw_fd()];
        fds.extend(mirrors.iter().map(|l| l.as_raw_fd()));
        fds.extend(actives.iter().map(|(l, _)| l.as_raw_fd()));
        let ready = poll_readable(&fds, TICK).unwrap_or_default();
        let mut kept = Vec::new();
        for (i, (listener, client)) in actives.into_iter().enumerate() {
            if ready.contains(&(1 + mirrors.len() + i)) {
                if let Ok((tcp, _)) = listener.accept() {
                    open_link(shared, tcp, Incoming::Active(client));
                }
            } else {
                kept.push((listener, client));
            }
        }
        shared.active_listeners.lock().unwrap().extend(kept);
        for &i in &ready {
            let (listener, incoming) = match i {
                0 => (&control, Incoming::Control),
                i if i <= mirrors.len() => {
                    let port = *shared.upstream.passive.start() + (i - 1) as u16;
                    (&mirrors[i - 1], Incoming::Passive(port))
                }
                _ => continue,
            };
            if let Ok((tcp, _)) = listener.accept() {
                open_link(shared, tcp, incoming);
            }
        }
    }
}

/// Connects the accepted socket onwards and starts the connection's thread.
fn open_link(shared: &Arc<Shared>, accepted: TcpStream, incoming: Incoming) {
    let (conn, client, server, text) = match incoming {
        Incoming::Control => {
            let conn = Conn::Control(shared.controls.fetch_add(1, Ordering::SeqCst));
            let Ok(server) = TcpStream::connect_timeout(&shared.upstream.addr, CONNECT_TIMEOUT) else {
                return reset(accepted);
            };
            (conn, accepted, server, true)
        }
        Incoming::Passive(port) => {
            let conn = Conn::Data(shared.datas.fetch_add(1, Ordering::SeqCst));
            let addr = SocketAddr::new(shared.upstream.addr.ip(), port);
            let Ok(server) = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) else {
                return reset(accepted);
            };
            (conn, accepted, server, false)
        }
        Incoming::Active(client_addr) => {
            let conn = Conn::Data(shared.datas.fetch_add(1, Ordering::SeqCst));
            match shared.active {
                Active::Hold => return shared.held.lock().unwrap().push(accepted),
                Active::Drop => return reset(accepted),
                Active::Forward | Active::DeadPort => {}
            }
            let Ok(client) = connect_from(IpAddr::V4(shared.ip), client_addr) else {
                return reset(accepted);
            };
            (conn, client, accepted, false)
        }
    };
    let shared2 = shared.clone();
    let name = format!("proxy-{conn:?}");
    shared.spawn(name, move || {
        if let Ok(link) = Link::new(shared2, conn, client, server, text) {
            link.run();
        }
    });
}

/// Connects to `to` from `from` (any port), so the peer sees the proxy's own address.
fn connect_from(from: IpAddr, to: SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(to), Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&SockAddr::from(SocketAddr::new(from, 0)))?;
    socket.connect_timeout(&SockAddr::from(to), CONNECT_TIMEOUT)?;
    Ok(socket.into())
}

fn reset(tcp: TcpStream) {
    let _ = SockRef::from(&tcp).set_linger(Some(Duration::ZERO));
}

#[derive(Clone, Copy, Default)]
struct Events {
    readable: bool,
    /// Urgent data (TCP URG) is waiting.
    urgent: bool,
    error: bool,
}

/// Polls both ends of a link: for reading where `read` says so, for errors always.
fn poll_ends(ends: &[TcpStream; 2], read: &[bool], wait: Duration) -> io::Result<[Events; 2]> {
    let mut pfds = [0, 1].map(|i| libc::pollfd {
        fd: ends[i].as_raw_fd(),
        events: if read[i] { libc::POLLIN | libc::POLLPRI } else { 0 },
        revents: 0,
    });
    // SAFETY: poll on a live array of two pollfds.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), 2, wait.as_millis() as libc::c_int) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted { Ok([Events::default(); 2]) } else { Err(e) };
    }
    Ok(pfds.map(|p| Events {
        readable: p.revents & (libc::POLLIN | libc::POLLHUP) != 0,
        urgent: p.revents & libc::POLLPRI != 0,
        error: p.revents & libc::POLLERR != 0,
    }))
}

/// Whether the next byte to read is the urgent one (ioctl SIOCATMARK).
fn at_urgent_mark(tcp: &TcpStream) -> io::Result<bool> {
    const SIOCATMARK: libc::c_ulong = 0x8905;
    let mut at: libc::c_int = 0;
    // SAFETY: SIOCATMARK writes one int, ours.
    if unsafe { libc::ioctl(tcp.as_raw_fd(), SIOCATMARK as _, &mut at) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(at != 0)
}

/// Sends one byte as urgent data.
fn send_urgent(out: &TcpStream, byte: u8, shared: &Shared) -> io::Result<()> {
    loop {
        match SockRef::from(out).send_out_of_band(&[byte]) {
            Ok(_) => return Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                if shared.stopped() {
                    return Err(io::Error::other("proxy stopped"));
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Which of `fds` are readable (or have a connection waiting) within `wait`.
fn poll_readable(fds: &[RawFd], wait: Duration) -> io::Result<Vec<usize>> {
    let mut pfds: Vec<libc::pollfd> =
        fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }).collect();
    // SAFETY: poll on a live array of pollfds of the length given.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, wait.as_millis() as libc::c_int) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(pfds.iter().enumerate().filter(|(_, p)| p.revents != 0).map(|(i, _)| i).collect())
}

// --- one proxied connection ----------------------------------------------------------------

/// Both sockets of a proxied connection and its two directions; owned by one thread.
struct Link {
    shared: Arc<Shared>,
    conn: Conn,
    /// `ends[0]` faces the client, `ends[1]` the server.
    ends: [TcpStream; 2],
    /// `flows[0]` is `Dir::Up` (reads `ends[0]`), `flows[1]` is `Dir::Down`.
    flows: [Flow; 2],
    buf: Vec<u8>,
}

/// What a direction is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    Paused(Instant),
    Stalled,
    /// Cut: the receiver got its FIN; the sender's bytes are read and dropped.
    Draining,
    Done,
}

/// What the thread does after a direction moved its bytes.
enum Next {
    Go,
    ResetLink,
}

/// A fault waiting to fire; `at` is the byte offset once known.
struct Armed {
    fault: Fault,
    at: Option<u64>,
}

/// One direction of a link.
struct Flow {
    dir: Dir,
    state: State,
    faults: Vec<Armed>,
    /// Read from the sender, not yet forwarded.
    pending: Vec<u8>,
    /// Bytes at the front of `pending` that were looked at as a line and may go.
    examined: usize,
    /// Bytes written to the receiver.
    forwarded: u64,
    /// Read line by line (a plain control connection).
    text: bool,
    split: bool,
    sender_closed: bool,
    /// For `When::LastTlsRecord`: the record framing and when bytes last arrived.
    records: Option<Records>,
    last_read: Instant,
    /// Stream offsets of bytes the sender sent urgent, to be sent on urgent, in order.
    urgent: Vec<u64>,
}

impl Link {
    fn new(shared: Arc<Shared>, conn: Conn, client: TcpStream, server: TcpStream, text: bool) -> io::Result<Link> {
        for end in [&client, &server] {
            end.set_nodelay(true)?;
            // Urgent bytes (ftpc sends ABOR's last byte urgent) stay in the stream, where the
            // flow finds them again to send them on urgent (see `Flow::urgent`).
            SockRef::from(end).set_out_of_band_inline(true)?;
            // Writes give up now and then to look at the stop flag.
            end.set_write_timeout(Some(TICK))?;
        }
        let mut faults = shared.take_faults(&shared.faults, conn);
        faults.extend(shared.take_faults(&shared.injected, conn));
        let split = shared.split_all;
        let flows = [Dir::Up, Dir::Down].map(|dir| {
            let mine: Vec<Fault> = faults.iter().filter(|f| f.dir == dir).cloned().collect();
            Flow::new(dir, mine, text, split)
        });
        Ok(Link { shared, conn, ends: [client, server], flows, buf: vec![0; 64 * 1024] })
    }

    fn run(mut self) {
        self.shared.note(format!("{:?} open", self.conn));
        loop {
            if self.shared.stopped() {
                return;
            }
            self.take_injected();
            for flow in &mut self.flows {
                flow.wake_up();
            }
            match self.move_bytes() {
                Ok(Next::Go) => {}
                Ok(Next::ResetLink) => return self.reset("reset by a fault".into()),
                Err(e) => return self.reset(format!("reset after a write error: {e}")),
            }
            if self.flows.iter().all(|f| f.state == State::Done) {
                let sent = [self.flows[0].forwarded, self.flows[1].forwarded];
                return self.shared.note(format!("{:?} closed (up {} bytes, down {})", self.conn, sent[0], sent[1]));
            }
            if let Err(e) = self.read_ready() {
                return self.reset(format!("reset after a read error: {e}"));
            }
        }
    }

    /// Faults injected for this connection since the last look.
    fn take_injected(&mut self) {
        for fault in self.shared.take_faults(&self.shared.injected, self.conn) {
            let flow = &mut self.flows[fault.dir as usize];
            flow.arm_injected(fault);
        }
    }

    /// Each direction forwards what it can.
    fn move_bytes(&mut self) -> io::Result<Next> {
        for i in 0..2 {
            let out = &self.ends[1 - i];
            let ctx = Ctx { shared: &self.shared, conn: self.conn, server_side: &self.ends[1] };
            if let Next::ResetLink = self.flows[i].pump(out, &ctx)? {
                return Ok(Next::ResetLink);
            }
        }
        Ok(Next::Go)
    }

    /// Waits (a tick at most) for bytes from the senders that are being read, and reads them.
    /// The other sockets are watched for errors only: a reset from a peer whose bytes are not
    /// read (a stalled direction) still resets the link.
    fn read_ready(&mut self) -> io::Result<()> {
        let wants: Vec<bool> = self.flows.iter().map(Flow::wants_read).collect();
        let wait = self.flows.iter().filter_map(|f| f.wait_hint()).min().unwrap_or(TICK).min(TICK);
        let events = poll_ends(&self.ends, &wants, wait)?;
        for i in 0..2 {
            if events[i].error {
                return Err(io::Error::new(io::ErrorKind::ConnectionReset, "peer reset"));
            }
            if wants[i] && (events[i].readable || events[i].urgent) {
                // A read stops at the urgent mark: at the mark, the next byte is the urgent one.
                if events[i].urgent && at_urgent_mark(&self.ends[i])? {
                    self.flows[i].mark_urgent();
                }
                let n = (&self.ends[i]).read(&mut self.buf)?;
                self.flows[i].received(&self.buf[..n]);
            }
        }
        Ok(())
    }

    fn reset(self, why: String) {
        let sent = [self.flows[0].forwarded, self.flows[1].forwarded];
        self.shared.note(format!("{:?} {why} (up {} bytes, down {})", self.conn, sent[0], sent[1]));
        for end in &self.ends {
            let _ = SockRef::from(end).set_linger(Some(Duration::ZERO));
        }
        // Dropping `self` closes both sockets: RST.
    }
}

/// What a direction needs from its link while pumping.
struct Ctx<'a> {
    shared: &'a Arc<Shared>,
    conn: Conn,
    /// For the EPRT/PORT rewrite: the address the server sees the proxy at.
    server_side: &'a TcpStream,
}

impl Flow {
    fn new(dir: Dir, faults: Vec<Fault>, text: bool, split: bool) -> Flow {
        let records = faults.iter().find_map(|f| match f.when {
            When::LastTlsRecord { after } => Some(Records::holding_back(after)),
            When::TlsRecordEnd { .. } | When::TlsRecordAtLeast { .. } => Some(Records::following()),
            _ => None,
        });
        let faults = faults
            .into_iter()
            .map(|fault| {
                let at = match fault.when {
                    When::Now => Some(0),
                    When::Bytes(n) => Some(n),
                    _ => None,
                };
                Armed { fault, at }
            })
            .collect();
        Flow {
            dir,
            state: State::Open,
            faults,
            pending: Vec::new(),
            examined: 0,
            forwarded: 0,
            text,
            split,
            sender_closed: false,
            records,
            last_read: Instant::now(),
            urgent: Vec::new(),
        }
    }

    /// The next byte read from the sender is urgent.
    fn mark_urgent(&mut self) {
        if self.state != State::Draining {
            self.urgent.push(self.forwarded + self.pending.len() as u64);
        }
    }

    fn arm_injected(&mut self, fault: Fault) {
        let at = match fault.when {
            When::Now => Some(self.forwarded),
            When::Bytes(n) => Some(self.forwarded + n),
            _ => None,
        };
        match fault.when {
            When::LastTlsRecord { after } => self.records = Some(Records::holding_back(self.forwarded + after)),
            When::TlsRecordEnd { .. } | When::TlsRecordAtLeast { .. } => {
                panic!("proxy: TlsRecordEnd and TlsRecordAtLeast must be given at the start (they follow records from the first byte)")
            }
            _ => {}
        }
        self.faults.push(Armed { fault, at });
    }

    /// Reading stops while the receiver is behind, so a slow receiver slows the sender as
    /// a direct connection would.
    fn wants_read(&self) -> bool {
        !self.sender_closed
            && match self.state {
                State::Open => self.pending.len() < MAX_PENDING,
                State::Draining => true,
                _ => false,
            }
    }

    /// How soon the thread must look again: the end of a pause, or a held TLS record aging.
    fn wait_hint(&self) -> Option<Duration> {
        match self.state {
            State::Paused(until) => Some(until.saturating_duration_since(Instant::now())),
            State::Open if self.records.as_ref().is_some_and(|r| r.hold) && !self.pending.is_empty() => {
                Some(Duration::from_millis(20))
            }
            _ => None,
        }
    }

    fn wake_up(&mut self) {
        if let State::Paused(until) = self.state {
            if Instant::now() >= until {
                self.state = State::Open;
            }
        }
    }

    /// Bytes from the sender (none: it closed).
    fn received(&mut self, bytes: &[u8]) {
        self.last_read = Instant::now();
        if bytes.is_empty() {
            self.sender_closed = true;
            if self.state == State::Draining {
                self.state = State::Done;
            }
        } else if self.state != State::Draining {
            self.pending.extend_from_slice(bytes);
        }
    }

    /// Forwards what may go now, firing the faults on the way.
    fn pump(&mut self, out: &TcpStream, ctx: &Ctx) -> io::Result<Next> {
        loop {
            if let Some(next) = self.fire_due(out, ctx)? {
                return Ok(next);
            }
            if self.state != State::Open {
                return Ok(Next::Go);
            }
            let ready = self.ready(ctx)?;
            if ready == 0 {
                if self.sender_closed && self.pending.is_empty() {
                    let _ = out.shutdown(Shutdown::Write);
                    self.state = State::Done;
                }
                return Ok(Next::Go);
            }
            // A fault armed by `ready` (a line fault) may be due right here.
            let n = ready.min(self.room_before_next_fault());
            if n > 0 {
                self.send(out, n, ctx.shared)?;
            }
        }
    }

    /// Fires the first fault due at the current offset; `Some` when the direction stops here.
    fn fire_due(&mut self, out: &TcpStream, ctx: &Ctx) -> io::Result<Option<Next>> {
        let Some(i) = self.faults.iter().position(|a| a.at == Some(self.forwarded)) else {
            return Ok(None);
        };
        let fault = self.faults.remove(i).fault;
        ctx.shared.record(Fired { conn: ctx.conn, dir: self.dir, action: fault.action, at: self.forwarded });
        if let Some(next) = fault.then {
            ctx.shared.injected.lock().unwrap().push(*next);
        }
        Ok(match fault.action {
            Action::Stall => {
                self.state = State::Stalled;
                Some(Next::Go)
            }
            Action::Cut => {
                let _ = out.shutdown(Shutdown::Write);
                self.pending.clear();
                self.urgent.clear();
                self.examined = 0;
                self.state = if self.sender_closed { State::Done } else { State::Draining };
                Some(Next::Go)
            }
            Action::Reset => Some(Next::ResetLink),
            Action::Delay(d) => {
                self.state = State::Paused(Instant::now() + d);
                Some(Next::Go)
            }
            Action::Split => {
                self.split = true;
                None
            }
        })
    }

    /// Bytes at the front of `pending` that may be forwarded now.
    fn ready(&mut self, ctx: &Ctx) -> io::Result<usize> {
        if let Some(records) = self.records.as_ref().filter(|r| !r.hold) {
            // Arm record-end faults at the first record end past their mark.
            let ends = records.ends(&self.pending);
            let (starts, whole) = records.starts(&self.pending);
            let mut waiting_for_a_header = false;
            for armed in self.faults.iter_mut().filter(|a| a.at.is_none()) {
                match armed.fault.when {
                    When::TlsRecordEnd { after } => {
                        armed.at = ends.iter().map(|&e| self.forwarded + e as u64).find(|&at| at >= after);
                    }
                    When::TlsRecordAtLeast { len } => {
                        armed.at =
                            starts.iter().find(|&&(_, body)| body >= len).map(|&(at, _)| self.forwarded + at as u64);
                        waiting_for_a_header |= armed.at.is_none();
                    }
                    _ => {}
                }
            }
            // A header cut short stays until it is whole: its record may be the one to stop before.
            return Ok(if waiting_for_a_header { whole } else { self.pending.len() });
        }
        if let Some(records) = &mut self.records {
            let ready = records.ready(&self.pending, self.forwarded);
            let idle = self.last_read.elapsed() >= LAST_RECORD_IDLE;
            if ready == 0 && !self.pending.is_empty() && records.holding(&self.pending) && (self.sender_closed || idle)
            {
                // The held record is the last one: its fault fires before it.
                for armed in &mut self.faults {
                    if matches!(armed.fault.when, When::LastTlsRecord { .. }) && armed.at.is_none() {
                        armed.at = Some(self.forwarded);
                    }
                }
            }
            return Ok(ready);
        }
        if !self.text {
            return Ok(self.pending.len());
        }
        if self.examined == 0 {
            self.examine_line(ctx)?;
        }
        Ok(self.examined)
    }

    /// Looks at the next whole line of a plain control connection: arms the line faults,
    /// rewrites EPRT/PORT, and notices the start of TLS.
    fn examine_line(&mut self, ctx: &Ctx) -> io::Result<()> {
        let end = match self.pending.iter().position(|&b| b == b'\n') {
            Some(i) => i + 1,
            None if self.sender_closed || self.pending.len() > MAX_LINE => self.pending.len(),
            None => return Ok(()),
        };
        if end == 0 {
            return Ok(());
        }
        let mut end = end;
        if self.dir == Dir::Up {
            if let Some(new) = rewrite_active(&self.pending[..end], ctx)? {
                self.pending.splice(..end, new.iter().copied());
                end = new.len();
            }
        }
        let line = &self.pending[..end];
        let start = self.forwarded;
        for armed in self.faults.iter_mut().filter(|a| a.at.is_none()) {
            let at = match armed.fault.when {
                When::Line(p) if line.starts_with(p.as_bytes()) => start,
                When::InLine(p, n) if line.starts_with(p.as_bytes()) => start + n.min(end) as u64,
                When::AfterLine(p, n) if line.starts_with(p.as_bytes()) => start + end as u64 + n,
                _ => continue,
            };
            armed.at = Some(at);
        }
        let tls_starts = match self.dir {
            Dir::Down => line.starts_with(b"234"),
            Dir::Up => line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"AUTH "),
        };
        if tls_starts {
            self.text = false;
        }
        self.examined = end;
        Ok(())
    }

    /// How many bytes may go before the next armed fault's offset (0: one is due now).
    fn room_before_next_fault(&self) -> usize {
        self.faults
            .iter()
            .filter_map(|a| a.at)
            .filter(|&at| at >= self.forwarded)
            .map(|at| (at - self.forwarded) as usize)
            .min()
            .unwrap_or(usize::MAX)
    }

    /// Writes the first `n` pending bytes (one byte per write when split), urgent ones on
    /// urgent.
    fn send(&mut self, out: &TcpStream, n: usize, shared: &Shared) -> io::Result<()> {
        let step = if self.split { 1 } else { n.max(1) };
        let mut done = 0;
        while done < n {
            let offset = self.forwarded + done as u64;
            if self.urgent.first() == Some(&offset) {
                self.urgent.remove(0);
                send_urgent(out, self.pending[done], shared)?;
                done += 1;
                continue;
            }
            let end = match self.urgent.first() {
                Some(&u) if u > offset => n.min((u - self.forwarded) as usize),
                _ => n,
            };
            for chunk in self.pending[done..end].chunks(step) {
                write_patiently(out, chunk, shared)?;
            }
            done = end;
        }
        if let Some(records) = &mut self.records {
            records.forwarded(&self.pending[..n]);
        }
        self.pending.drain(..n);
        self.examined = self.examined.saturating_sub(n);
        self.forwarded += n as u64;
        Ok(())
    }
}

/// Writes all of `data`, looking at the stop flag whenever the receiver is slow.
fn write_patiently(mut out: &TcpStream, mut data: &[u8], shared: &Shared) -> io::Result<()> {
    while !data.is_empty() {
        match out.write(data) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "receiver took nothing")),
            Ok(n) => data = &data[n..],
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                if shared.stopped() {
                    return Err(io::Error::other("proxy stopped"));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

// --- rewriting active-mode commands ----------------------------------------------------------

/// `EPRT |1|ip|port|` or `PORT h1,h2,h3,h4,p1,p2`: sets up the proxy's side of the active data
/// connection and gives the line that points the server at it.
fn rewrite_active(line: &[u8], ctx: &Ctx) -> io::Result<Option<Vec<u8>>> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end();
    let (verb, arg) = text.split_once(' ').unwrap_or((text, ""));
    let client = match verb.to_ascii_uppercase().as_str() {
        "EPRT" => parse_eprt(arg),
        "PORT" => parse_port(arg),
        _ => return Ok(None),
    };
    let Some(client) = client else {
        return Ok(None);
    };
    let seen_as = ctx.server_side.local_addr()?.ip();
    let listener = TcpListener::bind(SocketAddr::new(seen_as, 0))?;
    let port = listener.local_addr()?.port();
    if ctx.shared.active == Active::DeadPort {
        drop(listener);
    } else {
        ctx.shared.active_listeners.lock().unwrap().push((listener, client));
    }
    let ours = SocketAddr::new(seen_as, port);
    let new = if verb.eq_ignore_ascii_case("EPRT") {
        let family = if ours.is_ipv4() { 1 } else { 2 };
        format!("EPRT |{family}|{}|{port}|\r\n", ours.ip())
    } else {
        let IpAddr::V4(v4) = ours.ip() else {
            return Ok(None);
        };
        let o = v4.octets();
        format!("PORT {},{},{},{},{},{}\r\n", o[0], o[1], o[2], o[3], port >> 8, port & 0xff)
    };
    Ok(Some(new.into_bytes()))
}

fn parse_eprt(arg: &str) -> Option<SocketAddr> {
    let delim = arg.chars().next()?;
    let fields: Vec<&str> = arg.split(delim).collect();
    let ip: IpAddr = fields.get(2)?.parse().ok()?;
    let port: u16 = fields.get(3)?.parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

fn parse_port(arg: &str) -> Option<SocketAddr> {
    let n: Vec<u8> = arg.split(',').map(|s| s.trim().parse().ok()).collect::<Option<_>>()?;
    if n.len() != 6 {
        return None;
    }
    let ip = Ipv4Addr::new(n[0], n[1], n[2], n[3]);
    Some(SocketAddr::new(IpAddr::V4(ip), u16::from(n[4]) << 8 | u16::from(n[5])))
}

// --- TLS record framing --------------------------------------------------------------------

/// Follows the record layer of a TLS stream (5-byte headers: type, version, length; the
/// framing is not encrypted): to find record ends, and (`hold`) to hold the newest complete
/// record back until the next one comes, once `after` bytes have gone through.
struct Records {
    hold: bool,
    after: u64,
    /// Bytes left of the record being forwarded (0: at a record boundary).
    left_in_record: usize,
    /// Header bytes of the next record seen so far, when forwarding stopped inside a header.
    header: Vec<u8>,
}

impl Records {
    fn holding_back(after: u64) -> Records {
        Records { hold: true, after, left_in_record: 0, header: Vec::new() }
    }

    fn following() -> Records {
        Records { hold: false, after: 0, left_in_record: 0, header: Vec::new() }
    }

    /// The ends of the complete records in `pending` (offsets into it).
    fn ends(&self, pending: &[u8]) -> Vec<usize> {
        let mut ends = Vec::new();
        let mut at = self.left_in_record;
        if at > pending.len() {
            return ends;
        }
        if at > 0 {
            ends.push(at);
        }
        let mut header = self.header.clone();
        loop {
            let need = 5 - header.len();
            if pending.len() < at + need {
                return ends;
            }
            header.extend_from_slice(&pending[at..at + need]);
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            let end = at + need + len;
            if end > pending.len() {
                return ends;
            }
            ends.push(end);
            at = end;
            header.clear();
        }
    }

    /// The records whose header starts in `pending`: (offset of the header, length of the
    /// body), and how many bytes of `pending` come before a header that is not whole yet
    /// (all of them when there is none).
    fn starts(&self, pending: &[u8]) -> (Vec<(usize, usize)>, usize) {
        let mut starts = Vec::new();
        let mut at = self.left_in_record;
        if !self.header.is_empty() {
            // A header begun before: its record started in bytes already forwarded.
            let need = 5 - self.header.len();
            if pending.len() < need {
                return (starts, pending.len());
            }
            let mut header = self.header.clone();
            header.extend_from_slice(&pending[..need]);
            at = need + usize::from(u16::from_be_bytes([header[3], header[4]]));
        }
        while at < pending.len() {
            if pending.len() < at + 5 {
                return (starts, at);
            }
            let len = usize::from(u16::from_be_bytes([pending[at + 3], pending[at + 4]]));
            starts.push((at, len));
            at += 5 + len;
        }
        (starts, pending.len())
    }

    /// Bytes that may go: everything before the `after` mark; past it, up to the end of the
    /// record before the newest complete one.
    fn ready(&self, pending: &[u8], forwarded: u64) -> usize {
        if forwarded < self.after {
            return pending.len().min((self.after - forwarded) as usize);
        }
        let ends = self.ends(pending);
        if ends.len() >= 2 {
            ends[ends.len() - 2]
        } else {
            0
        }
    }

    /// Whether `pending` is exactly one complete record (the one held back).
    fn holding(&self, pending: &[u8]) -> bool {
        self.ends(pending).last() == Some(&pending.len()) && self.ends(pending).len() == 1
    }

    /// Moves the framing along the bytes just forwarded.
    fn forwarded(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.left_in_record > 0 {
                let n = self.left_in_record.min(bytes.len());
                self.left_in_record -= n;
                bytes = &bytes[n..];
                continue;
            }
            let need = (5 - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..need]);
            bytes = &bytes[need..];
            if self.header.len() == 5 {
                self.left_in_record = usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
                self.header.clear();
            }
        }
    }
}
