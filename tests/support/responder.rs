//! A small FTP server that answers any number of sessions at once by rules rather than a
//! script: for what several connections do together (segmented downloads), where the order
//! of commands across sessions is not fixed. It serves one file, `file.bin`, in passive mode
//! (EPSV and PASV) and records the commands of every session.
//!
//! Each session runs on a thread of its own; every socket wait is bounded (5 s), so a
//! client that misbehaves fails its test rather than hanging it.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct Rules {
    /// REST answered 350; when false, `502 REST not implemented`.
    pub rest: bool,
    /// Sessions served at once; the greeting of one more is `421 Too many connections`.
    pub max_sessions: usize,
    /// Bytes per second each RETR sends (0: as fast as it goes).
    pub rate: u64,
    /// SIZE answered 213; when false, `502`.
    pub size: bool,
    /// The first RETR after a REST (over all sessions) sends this many bytes, waits 300 ms
    /// and closes its data connection: a connection lost in the middle of its range.
    pub cut_first_restart: Option<u64>,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules { rest: true, max_sessions: 100, rate: 0, size: true, cut_first_restart: None }
    }
}

/// One session as the server saw it.
#[derive(Debug, Clone, Default)]
pub struct SessionLog {
    /// Whether the session was served (false: turned away with 421).
    pub served: bool,
    /// The command lines, Telnet bytes before ABOR dropped.
    pub commands: Vec<String>,
    /// Bytes each RETR sent before it ended.
    pub sent: Vec<u64>,
}

pub struct Responder {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<SessionLog>>>,
    quit: Arc<AtomicBool>,
}

impl Responder {
    pub fn start(file: Vec<u8>, rules: Rules) -> Responder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let quit = Arc::new(AtomicBool::new(false));
        let file = Arc::new(file);
        let active = Arc::new(AtomicUsize::new(0));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (log2, quit2) = (log.clone(), quit.clone());
        thread::spawn(move || {
            while !quit2.load(Ordering::Acquire) {
                let tcp = match listener.accept() {
                    Ok((tcp, _)) => tcp,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    Err(_) => break,
                };
                let _ = tcp.set_nonblocking(false);
                let index = {
                    let mut log = log2.lock().unwrap();
                    log.push(SessionLog::default());
                    log.len() - 1
                };
                let (log, file, rules, active) = (log2.clone(), file.clone(), rules.clone(), active.clone());
                let cuts = cuts.clone();
                thread::spawn(move || {
                    if active.fetch_add(1, Ordering::AcqRel) >= rules.max_sessions {
                        let mut tcp = tcp;
                        let _ = tcp.write_all(b"421 Too many connections\r\n");
                        let _ = tcp.shutdown(Shutdown::Write);
                        active.fetch_sub(1, Ordering::AcqRel);
                        return;
                    }
                    log.lock().unwrap()[index].served = true;
                    let _ = serve(tcp, &file, &rules, &log, index, &cuts);
                    active.fetch_sub(1, Ordering::AcqRel);
                });
            }
        });
        Responder { addr, log, quit }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The sessions so far, in the order they connected.
    pub fn sessions(&self) -> Vec<SessionLog> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.quit.store(true, Ordering::Release);
    }
}

fn serve(
    tcp: TcpStream,
    file: &[u8],
    rules: &Rules,
    log: &Mutex<Vec<SessionLog>>,
    index: usize,
    cuts: &AtomicUsize,
) -> io::Result<()> {
    tcp.set_read_timeout(Some(IO_TIMEOUT))?;
    tcp.set_write_timeout(Some(IO_TIMEOUT))?;
    // The urgent byte of ABOR stays in the stream.
    socket2::SockRef::from(&tcp).set_out_of_band_inline(true)?;
    let mut out = tcp.try_clone()?;
    let mut lines = BufReader::new(tcp);
    out.write_all(b"220 responder\r\n")?;
    let mut passive: Option<TcpListener> = None;
    let mut rest = 0u64;
    loop {
        let mut raw = Vec::new();
        if lines.read_until(b'\n', &mut raw)? == 0 {
            return Ok(());
        }
        // Telnet IAC sequences (IP, DM) before ABOR, and the line end.
        let text: String =
            String::from_utf8_lossy(&raw).trim_start_matches(|c: char| !c.is_ascii_alphabetic()).trim_end().to_string();
        log.lock().unwrap()[index].commands.push(text.clone());
        let (verb, arg) = text.split_once(' ').unwrap_or((&text, ""));
        let reply: String = match verb.to_ascii_uppercase().as_str() {
            "USER" => "331 Password required".into(),
            "PASS" => "230 Logged in".into(),
            "TYPE" => "200 Type set".into(),
            "PWD" => "257 \"/\" is the current directory".into(),
            "CWD" => "250 OK".into(),
            "NOOP" => "200 NOOP ok".into(),
            "ABOR" => "226 ABOR ok".into(),
            "SIZE" if rules.size && arg == "file.bin" => format!("213 {}", file.len()),
            "SIZE" => "502 SIZE not implemented".into(),
            "REST" if rules.rest => match arg.parse::<u64>() {
                Ok(n) => {
                    rest = n;
                    format!("350 Restarting at {n}")
                }
                Err(_) => "501 Bad offset".into(),
            },
            "REST" => "502 REST not implemented".into(),
            "EPSV" => {
                let l = TcpListener::bind("127.0.0.1:0")?;
                let port = l.local_addr()?.port();
                passive = Some(l);
                format!("229 Entering Extended Passive Mode (|||{port}|)")
            }
            "PASV" => {
                let l = TcpListener::bind("127.0.0.1:0")?;
                let port = l.local_addr()?.port();
                passive = Some(l);
                format!("227 Entering Passive Mode (127,0,0,1,{},{})", port / 256, port % 256)
            }
            "RETR" if arg == "file.bin" => {
                let Some(l) = passive.take() else {
                    out.write_all(b"425 Use EPSV first\r\n")?;
                    continue;
                };
                let from = std::mem::take(&mut rest).min(file.len() as u64) as usize;
                out.write_all(
                    format!("150 Opening BINARY mode data connection ({} bytes)\r\n", file.len() - from).as_bytes(),
                )?;
                let (data, _) = accept(&l)?;
                let cut = match rules.cut_first_restart {
                    Some(n) if from > 0 && cuts.fetch_add(1, Ordering::AcqRel) == 0 => Some(n as usize),
                    _ => None,
                };
                let (sent, whole) = match cut {
                    Some(n) => {
                        let mut data = data;
                        data.write_all(&file[from..from + n])?;
                        thread::sleep(Duration::from_millis(300));
                        drop(data);
                        (n as u64, false)
                    }
                    None => send(data, &file[from..], rules.rate),
                };
                log.lock().unwrap()[index].sent.push(sent);
                if whole {
                    "226 Transfer complete".into()
                } else {
                    "426 Connection closed; transfer aborted".into()
                }
            }
            "RETR" => "550 No such file".into(),
            "QUIT" => {
                out.write_all(b"221 Goodbye\r\n")?;
                return Ok(());
            }
            _ => "502 Command not implemented".into(),
        };
        out.write_all(format!("{reply}\r\n").as_bytes())?;
    }
}

fn accept(l: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    l.set_nonblocking(true)?;
    for _ in 0..(IO_TIMEOUT.as_millis() / 5) {
        match l.accept() {
            Ok((tcp, from)) => {
                tcp.set_nonblocking(false)?;
                return Ok((tcp, from));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(io::ErrorKind::TimedOut, "no data connection"))
}

/// Sends `data` at `rate` bytes per second (0: no limit); returns the bytes sent and
/// whether that was all of it (false when the client closed or reset first).
fn send(mut data_conn: TcpStream, data: &[u8], rate: u64) -> (u64, bool) {
    let _ = data_conn.set_write_timeout(Some(IO_TIMEOUT));
    let chunk = 16 * 1024;
    let started = std::time::Instant::now();
    let mut sent = 0usize;
    while sent < data.len() {
        if rate > 0 {
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                thread::sleep(wait);
            }
        }
        let end = (sent + chunk).min(data.len());
        match data_conn.write(&data[sent..end]) {
            Ok(0) | Err(_) => return (sent as u64, false),
            Ok(n) => sent += n,
        }
    }
    let _ = data_conn.shutdown(Shutdown::Write);
    (sent as u64, true)
}
