//! The real servers of `tests/servers/servers.sh` (vsftpd, pure-ftpd, ProFTPD and GNU
//! inetutils ftpd, a classic BSD ftpd, on loopback) and helpers for tests against them.
//!
//! The servers' ports, homes, user and password come from `target/ftp-servers/env`, which
//! `servers.sh start` writes; its `export NAME=value` lines are parsed here, so tests need no
//! sourced environment (`FTPC_SERVERS_ENV` may point at another file). Without that file
//! every test panics with "start the servers: tests/servers/servers.sh start".
//!
//! A [`Session`] is a logged-in client working in a fresh directory of the server's home
//! (made with MKD, removed by [`Session::finish`], or from the local file system when a test
//! panics first), with its debug trace collected in memory.

use ftpc::{Client, Config, Error};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const START_HINT: &str = "start the servers: tests/servers/servers.sh start";

// --- the env file --------------------------------------------------------------------------

/// The variables of the env file.
pub struct Env {
    path: PathBuf,
    vars: HashMap<String, String>,
}

pub fn env_path() -> PathBuf {
    match std::env::var_os("FTPC_SERVERS_ENV") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ftp-servers/env"),
    }
}

/// Whether the test servers are up (their env file exists). When they are not, the test
/// is skipped: said on stderr past the test harness's capture (which only takes the print
/// macros), so that a plain `cargo test` names what it skipped. With
/// `FTPC_REQUIRE_SERVERS=1` (the README's test command sets it) a missing env file fails
/// the test instead, so that a broken fixture cannot pass as skipped tests.
pub fn servers_up(test: &str) -> bool {
    let path = env_path();
    if path.exists() {
        return true;
    }
    if std::env::var_os("FTPC_REQUIRE_SERVERS").is_some_and(|v| v == "1") {
        panic!("{} is missing and FTPC_REQUIRE_SERVERS=1: {START_HINT}", path.display());
    }
    let _ = writeln!(io::stderr(), "skipped: {test} (no test servers; {START_HINT})");
    false
}

/// The env file, read once per test binary. Panics with the start hint when it is missing.
pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| Env::load(&env_path()))
}

impl Env {
    pub fn load(path: &Path) -> Env {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                panic!("{} is missing: {START_HINT}", path.display())
            }
            Err(e) => panic!("cannot read {}: {e}; {START_HINT}", path.display()),
        };
        Env { path: path.to_path_buf(), vars: parse_env(&text) }
    }

    /// A variable; panics (with the start hint) when the file lacks it.
    pub fn get(&self, name: &str) -> &str {
        match self.vars.get(name) {
            Some(v) => v,
            None => panic!("{} has no {name}: {START_HINT}", self.path.display()),
        }
    }

    pub fn port(&self, name: &str) -> u16 {
        let v = self.get(name);
        v.parse().unwrap_or_else(|_| panic!("{name}={v:?} in {} is not a port", self.path.display()))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        PathBuf::from(self.get(name))
    }

    pub fn ipv6(&self) -> bool {
        self.vars.get("FTPC_TEST_IPV6").is_some_and(|v| v == "1")
    }
}

/// `export NAME=value` lines (comments and blank lines skipped), values unquoted as the
/// shell would for what `printf %q` produces.
pub fn parse_env(text: &str) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        if let Some((name, value)) = line.split_once('=') {
            vars.insert(name.trim().to_string(), shell_unquote(value));
        }
    }
    vars
}

/// Undoes the quoting of one shell word: backslash escapes, '...', "..." and $'...'.
pub fn shell_unquote(word: &str) -> String {
    let mut out = String::new();
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '\'' => out.extend(chars.by_ref().take_while(|&c| c != '\'')),
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => out.extend(chars.next()),
                        c => out.push(c),
                    }
                }
            }
            '$' if chars.peek() == Some(&'\'') => {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\'' => break,
                        '\\' => match chars.next() {
                            Some('n') => out.push('\n'),
                            Some('t') => out.push('\t'),
                            Some('r') => out.push('\r'),
                            Some('e' | 'E') => out.push('\x1b'),
                            Some(c) => out.push(c),
                            None => {}
                        },
                        c => out.push(c),
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

// --- servers -------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Vsftpd,
    PureFtpd,
    /// ProFTPD 1.3.8 (chrooted: PWD is "/").
    ProFtpd,
    /// GNU inetutils ftpd 2.4, a classic BSD ftpd: no MLSD, no TLS, no UTF8 in FEAT.
    BsdFtpd,
}

impl Kind {
    /// What the instance's hello.txt holds.
    pub fn hello(self) -> &'static [u8] {
        match self {
            Kind::Vsftpd => b"hello from vsftpd\n",
            Kind::PureFtpd => b"hello from pure-ftpd\n",
            Kind::ProFtpd => b"hello from proftpd\n",
            Kind::BsdFtpd => b"hello from bsd-ftpd\n",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// One plain-FTP listener of the test servers.
#[derive(Debug, Clone)]
pub struct Server {
    pub kind: Kind,
    pub family: Family,
    /// An address literal: "127.0.0.1" or "::1".
    pub host: String,
    pub port: u16,
    /// The server's root for the test user, as a local path.
    pub home: PathBuf,
    pub user: String,
    pub pass: String,
}

impl Server {
    /// The listener, or `None` for IPv6 when the machine has no `::1` (servers.sh then
    /// starts no IPv6 instance).
    pub fn get(kind: Kind, family: Family) -> Option<Server> {
        let env = env();
        if family == Family::V6 && !env.ipv6() {
            return None;
        }
        let host = match family {
            Family::V4 => env.get("FTPC_TEST_HOST"),
            Family::V6 => env.get("FTPC_TEST_HOST6"),
        };
        let (port, home) = match (kind, family) {
            (Kind::Vsftpd, Family::V4) => ("FTPC_VSFTPD_PORT", "FTPC_VSFTPD_HOME"),
            (Kind::Vsftpd, Family::V6) => ("FTPC_VSFTPD6_PORT", "FTPC_VSFTPD6_HOME"),
            // One pure-ftpd per address, same port and home.
            (Kind::PureFtpd, _) => ("FTPC_PUREFTPD_PORT", "FTPC_PUREFTPD_HOME"),
            // ProFTPD and bsd-ftpd listen on both addresses, same port and home.
            (Kind::ProFtpd, _) => ("FTPC_PROFTPD_PORT", "FTPC_PROFTPD_HOME"),
            (Kind::BsdFtpd, _) => ("FTPC_BSDFTPD_PORT", "FTPC_BSDFTPD_HOME"),
        };
        Some(Server {
            kind,
            family,
            host: host.to_string(),
            port: env.port(port),
            home: env.path(home),
            user: env.get("FTPC_TEST_USER").to_string(),
            pass: env.get("FTPC_TEST_PASS").to_string(),
        })
    }

    /// Another IPv4 instance of `kind` (a TLS or capped one), by the env file's names of its
    /// port and home variables.
    pub fn ipv4_instance(kind: Kind, port: &str, home: &str) -> Server {
        let env = env();
        Server {
            kind,
            family: Family::V4,
            host: env.get("FTPC_TEST_HOST").to_string(),
            port: env.port(port),
            home: env.path(home),
            user: env.get("FTPC_TEST_USER").to_string(),
            pass: env.get("FTPC_TEST_PASS").to_string(),
        }
    }

    pub fn name(&self) -> String {
        let kind = match self.kind {
            Kind::Vsftpd => "vsftpd",
            Kind::PureFtpd => "pure-ftpd",
            Kind::ProFtpd => "proftpd",
            Kind::BsdFtpd => "bsd-ftpd",
        };
        let family = match self.family {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        };
        format!("{kind}/{family}")
    }

    /// A short tag for names: "vs4", "vs6", "pu4", "pu6", "pr4", "pr6", "bs4", "bs6".
    pub fn tag(&self) -> &'static str {
        match (self.kind, self.family) {
            (Kind::Vsftpd, Family::V4) => "vs4",
            (Kind::Vsftpd, Family::V6) => "vs6",
            (Kind::PureFtpd, Family::V4) => "pu4",
            (Kind::PureFtpd, Family::V6) => "pu6",
            (Kind::ProFtpd, Family::V4) => "pr4",
            (Kind::ProFtpd, Family::V6) => "pr6",
            (Kind::BsdFtpd, Family::V4) => "bs4",
            (Kind::BsdFtpd, Family::V6) => "bs6",
        }
    }

    pub fn is_v6(&self) -> bool {
        self.family == Family::V6
    }

    /// A logged-in client (debug level 1, trace collected) with `configure` applied to its
    /// configuration before connecting. A 421 (too many connections) is retried briefly.
    pub fn login(&self, configure: impl FnOnce(&mut Config)) -> (Client, Trace) {
        let mut config = Config::default();
        configure(&mut config);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let trace = Trace::default();
            let mut c = Client::with_config(config.clone());
            c.set_debuglevel(1);
            c.set_trace_sink(Some(trace.sink()));
            // 20 s for connecting and for each reply (the data timeouts stay at 60 s).
            let result = c
                .connect(&self.host, self.port, Some(Duration::from_secs(20)), None)
                .and_then(|_| c.login(&self.user, &self.pass, ""));
            match result {
                Ok(_) => return (c, trace),
                Err(Error::Temp(r)) if attempt < 10 => {
                    eprintln!("{}: login got {r}; retrying", self.name());
                    std::thread::sleep(Duration::from_millis(300 * attempt));
                }
                Err(e) => panic!("{} ({}:{}): cannot log in: {e}; {START_HINT}", self.name(), self.host, self.port),
            }
        }
    }
}

/// Makes, for each `fn test(&Server, ...)` named, a `#[test]` on the IPv4 listener of each
/// of the four servers (modules vsftpd, pureftpd, proftpd, bsdftpd), skipped without the
/// servers; `with [args]` passes the same further arguments to every test.
#[allow(unused_macros)]
macro_rules! on_each_ipv4_server {
    (with [$($arg:expr),*]; $($test:ident),* $(,)?) => {
        $crate::support::real::on_each_ipv4_server!(@module vsftpd, Vsftpd, [$($arg),*]; $($test),*);
        $crate::support::real::on_each_ipv4_server!(@module pureftpd, PureFtpd, [$($arg),*]; $($test),*);
        $crate::support::real::on_each_ipv4_server!(@module proftpd, ProFtpd, [$($arg),*]; $($test),*);
        $crate::support::real::on_each_ipv4_server!(@module bsdftpd, BsdFtpd, [$($arg),*]; $($test),*);
    };
    (@module $module:ident, $kind:ident, $args:tt; $($test:ident),*) => {
        mod $module {
            $(
                #[test]
                fn $test() {
                    if !$crate::support::real::servers_up(concat!(module_path!(), "::", stringify!($test))) {
                        return;
                    }
                    let server = $crate::support::real::Server::get(
                        $crate::support::real::Kind::$kind,
                        $crate::support::real::Family::V4,
                    )
                    .expect("IPv4 servers");
                    $crate::support::real::on_each_ipv4_server!(@call super::$test, &server, $args);
                }
            )*
        }
    };
    (@call $test:path, $server:expr, [$($arg:expr),*]) => {
        $test($server $(, $arg)*)
    };
    ($($test:ident),* $(,)?) => {
        $crate::support::real::on_each_ipv4_server!(with []; $($test),*);
    };
}
#[allow(unused_imports)]
pub(crate) use on_each_ipv4_server;

// --- traces --------------------------------------------------------------------------------

/// The debug trace of a client, collected from its trace sink.
#[derive(Clone, Default)]
pub struct Trace(Arc<Mutex<TraceLines>>);

#[derive(Default)]
struct TraceLines {
    /// Since the last `take`.
    pending: Vec<String>,
    /// The last lines, whether taken or not, shown when a test fails.
    history: VecDeque<String>,
}

const HISTORY: usize = 60;

impl Trace {
    pub fn sink(&self) -> ftpc::TraceSink {
        let lines = self.0.clone();
        Box::new(move |line: &str| {
            let mut lines = lines.lock().unwrap();
            lines.pending.push(line.to_string());
            if lines.history.len() == HISTORY {
                lines.history.pop_front();
            }
            lines.history.push_back(line.to_string());
        })
    }

    /// Everything traced since the last `take`.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap().pending)
    }

    /// The commands sent since the last `take` (and takes the trace).
    pub fn take_commands(&self) -> Vec<String> {
        sent(&self.take())
    }

    /// The last lines traced, taken or not.
    pub fn history(&self) -> Vec<String> {
        self.0.lock().map(|l| l.history.iter().cloned().collect()).unwrap_or_default()
    }
}

/// The command lines of a trace (`*cmd* "EPSV"` gives `EPSV`).
pub fn sent(lines: &[String]) -> Vec<String> {
    lines.iter().filter_map(|l| l.strip_prefix("*cmd* ")).map(unquote_debug).collect()
}

/// The replies of a trace (`*resp* "229 ..."` gives `229 ...`).
pub fn received(lines: &[String]) -> Vec<String> {
    lines.iter().filter_map(|l| l.strip_prefix("*resp* ")).map(unquote_debug).collect()
}

fn unquote_debug(s: &str) -> String {
    let s = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s);
    s.replace("\\n", "\n").replace("\\\"", "\"").replace("\\\\", "\\")
}

/// The verbs of command lines (`STOR big.bin` gives `STOR`).
pub fn verbs(commands: &[String]) -> Vec<String> {
    commands.iter().map(|c| c.split(' ').next().unwrap_or("").to_string()).collect()
}

// --- sessions ------------------------------------------------------------------------------

static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// A name no other test (of this run or another) uses.
pub fn unique_name(tag: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("rt-{tag}-{}-{}-{nanos:x}", std::process::id(), UNIQUE.fetch_add(1, Ordering::Relaxed))
}

/// A logged-in client in a fresh directory of the server's home.
pub struct Session {
    pub c: Client,
    pub trace: Trace,
    pub server: Server,
    /// The directory's name in the home.
    pub dir: String,
    /// The directory as a local path.
    pub local: PathBuf,
    /// What PWD says inside the directory.
    pub pwd: Vec<u8>,
    finished: bool,
}

impl Session {
    /// Passive mode, EPSV first (the defaults).
    pub fn open(server: &Server, tag: &str) -> Session {
        Session::open_with(server, tag, |_| {})
    }

    pub fn open_with(server: &Server, tag: &str, configure: impl FnOnce(&mut Config)) -> Session {
        let (mut c, trace) = server.login(configure);
        let dir = unique_name(&format!("{}-{tag}", server.tag()));
        c.mkd(dir.as_bytes()).unwrap_or_else(|e| panic!("{}: MKD {dir}: {e}", server.name()));
        let local = server.home.join(&dir);
        let mut session = Session { c, trace, server: server.clone(), dir, local, pwd: Vec::new(), finished: false };
        assert!(session.local.is_dir(), "{}: MKD made no {}", server.name(), session.local.display());
        session.c.cwd(session.dir.as_bytes()).unwrap();
        session.pwd = session.c.pwd().unwrap();
        assert!(session.pwd.ends_with(session.dir.as_bytes()), "PWD {:?}", String::from_utf8_lossy(&session.pwd));
        session.trace.take();
        session
    }

    /// Another logged-in client, in the same directory.
    pub fn join(&self, configure: impl FnOnce(&mut Config)) -> (Client, Trace) {
        let (mut c, trace) = self.server.login(configure);
        c.cwd(&self.pwd).unwrap();
        trace.take();
        (c, trace)
    }

    /// A file of the directory as a local path.
    pub fn local_path(&self, name: &str) -> PathBuf {
        self.local.join(name)
    }

    /// Checks the connection is usable and in step (PWD answers with the directory), removes
    /// everything in the directory and the directory itself through FTP, and quits.
    pub fn finish(mut self) {
        let pwd = self.c.pwd().unwrap_or_else(|e| panic!("{}: PWD at the end: {e}", self.server.name()));
        assert_eq!(String::from_utf8_lossy(&pwd), String::from_utf8_lossy(&self.pwd), "PWD at the end");
        let mut entries: Vec<_> = std::fs::read_dir(&self.local).unwrap().map(|e| e.unwrap()).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().into_string().unwrap();
            if entry.file_type().unwrap().is_dir() {
                self.c.rmd(name.as_bytes()).unwrap_or_else(|e| panic!("RMD {name}: {e}"));
            } else {
                self.c.delete(name.as_bytes()).unwrap_or_else(|e| panic!("DELE {name}: {e}"));
            }
        }
        self.c.cwd(b"..").unwrap();
        self.c.rmd(self.dir.as_bytes()).unwrap();
        assert!(!self.local.exists(), "{} still exists after RMD", self.local.display());
        self.c.quit().unwrap();
        self.finished = true;
    }
}

impl Drop for Session {
    /// A test that panicked leaves nothing behind either, and shows the end of its trace.
    fn drop(&mut self) {
        if !self.finished {
            if std::thread::panicking() {
                eprintln!("{} trace, last lines:\n  {}", self.server.name(), self.trace.history().join("\n  "));
            }
            let _ = std::fs::remove_dir_all(&self.local);
        }
    }
}

// --- local files and data ------------------------------------------------------------------

/// /dev/shm when there is one (no disk I/O), else the system's temporary directory.
pub fn scratch_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let probe = shm.join(format!(".ftpc-probe-{}", std::process::id()));
        if shm.is_dir() && File::create(&probe).is_ok() {
            let _ = std::fs::remove_file(&probe);
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        }
    })
    .clone()
}

/// A local scratch file, removed when dropped.
pub struct TempFile {
    pub path: PathBuf,
}

impl TempFile {
    /// A path only; nothing is created.
    pub fn new(tag: &str) -> TempFile {
        TempFile { path: scratch_dir().join(format!("ftpc-{}", unique_name(tag))) }
    }

    pub fn with_contents(tag: &str, data: &[u8]) -> TempFile {
        let t = TempFile::new(tag);
        std::fs::write(&t.path, data).unwrap();
        t
    }

    pub fn open(&self) -> File {
        File::open(&self.path).unwrap_or_else(|e| panic!("{}: {e}", self.path.display()))
    }

    pub fn create(&self) -> File {
        File::create(&self.path).unwrap_or_else(|e| panic!("{}: {e}", self.path.display()))
    }

    pub fn len(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `len` pseudo-random bytes from `seed` (SplitMix64): the same seed gives the same bytes.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut state = seed;
    for chunk in out.chunks_mut(8) {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
    }
    out
}

/// SHA-256 as lower-case hex.
///
/// Computed by OpenSSL (a dependency of ftpc): the `sha2` crate, built at the test
/// profile's opt-level 0, hashes about 20 MB/s, so the 100 MiB checks alone would take
/// minutes of CPU. [`sha256_sha2`] is the same digest from `sha2`; a test checks they agree.
pub fn sha256(data: &[u8]) -> String {
    hex(&openssl::sha::sha256(data))
}

pub fn sha256_file(path: &Path) -> String {
    let mut file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut hasher = openssl::sha::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hex(&hasher.finish())
}

/// SHA-256 by the `sha2` crate (slow in unoptimised builds: for small data).
pub fn sha256_sha2(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 100 MiB of seeded random bytes and their SHA-256, made once per test binary.
pub fn big_data() -> &'static (Vec<u8>, String) {
    static BIG: OnceLock<(Vec<u8>, String)> = OnceLock::new();
    BIG.get_or_init(|| {
        let data = random_bytes(0x00F7_9C00_0100, 100 << 20);
        let digest = sha256(&data);
        (data, digest)
    })
}

/// Writes `data` to a local path (e.g. straight into a server's home).
pub fn write_file(path: &Path, data: &[u8]) {
    let mut f = File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.write_all(data).unwrap();
}

/// Seconds since the epoch of a local file's modification time.
pub fn mtime(path: &Path) -> i64 {
    let modified = std::fs::metadata(path).unwrap().modified().unwrap();
    modified.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// MB/s (10^6 bytes per second).
pub fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9)
}
