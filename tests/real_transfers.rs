//! The Rust core against the real servers of `tests/servers/servers.sh` (vsftpd, pure-ftpd,
//! ProFTPD and bsd-ftpd on 127.0.0.1 and ::1): whole-file transfers in passive and active mode, ftplib-style
//! callbacks, EPSV/PASV/EPRT/PORT, resume, listings and facts, cancellation, and errors.
//!
//! Needs the servers: `tests/servers/servers.sh start` (as root). Each test runs once per
//! listener (modules `vsftpd_v4`, `vsftpd_v6`, `pureftpd_v4`, `pureftpd_v6`, `proftpd_v4`,
//! `proftpd_v6`, `bsdftpd_v4`, `bsdftpd_v6`; IPv6 ones are skipped when the machine has no ::1), in a fresh directory of the server's home that it
//! removes at the end, so the tests run in parallel. Each uses one or two control
//! connections at a time; pure-ftpd allows 50 clients, so keep `--test-threads` modest (the
//! default, one per core, or 4).

mod support;

use ftpc::listing::{EntryKind, ListFormat};
use ftpc::{Error, Flow, StopTransfer};
use std::fs::OpenOptions;
use std::io::{self, Cursor, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::real::{
    big_data, mb_per_s, mtime, random_bytes, received, servers_up, sha256, sha256_file, verbs, write_file, Family,
    Kind, Server, Session, TempFile,
};

const MIB: usize = 1 << 20;
const BIG: usize = 100 * MIB;
const MEDIUM: usize = 8 * MIB;

/// Every test body, run against each listener.
macro_rules! on_each_server {
    ($($test:ident),* $(,)?) => {
        on_each_server!(@module vsftpd_v4, Kind::Vsftpd, Family::V4; $($test),*);
        on_each_server!(@module vsftpd_v6, Kind::Vsftpd, Family::V6; $($test),*);
        on_each_server!(@module pureftpd_v4, Kind::PureFtpd, Family::V4; $($test),*);
        on_each_server!(@module pureftpd_v6, Kind::PureFtpd, Family::V6; $($test),*);
        on_each_server!(@module proftpd_v4, Kind::ProFtpd, Family::V4; $($test),*);
        on_each_server!(@module proftpd_v6, Kind::ProFtpd, Family::V6; $($test),*);
        on_each_server!(@module bsdftpd_v4, Kind::BsdFtpd, Family::V4; $($test),*);
        on_each_server!(@module bsdftpd_v6, Kind::BsdFtpd, Family::V6; $($test),*);
    };
    (@module $module:ident, $kind:expr, $family:expr; $($test:ident),*) => {
        mod $module {
            use super::*;
            $(
                #[test]
                fn $test() {
                    if !servers_up(concat!(module_path!(), "::", stringify!($test))) {
                        return;
                    }
                    match Server::get($kind, $family) {
                        Some(server) => super::$test(&server),
                        None => eprintln!("skipped: no IPv6 test servers (no ::1 on lo)"),
                    }
                }
            )*
        }
    };
}

on_each_server!(
    big_file_passive,
    active_mode,
    binary_callbacks,
    text_lines,
    data_connection_commands,
    resume_download_and_upload,
    listings_and_facts,
    stop_download_from_callback,
    stop_upload_from_source,
    stop_from_another_thread,
    stop_lines_from_another_thread,
    missing_file,
    latin1_names_round_trip_in_utf8_mode,
);

fn seed(server: &Server, n: u64) -> u64 {
    let base = match (server.kind, server.family) {
        (Kind::Vsftpd, Family::V4) => 1,
        (Kind::Vsftpd, Family::V6) => 2,
        (Kind::PureFtpd, Family::V4) => 3,
        (Kind::PureFtpd, Family::V6) => 4,
        (Kind::ProFtpd, Family::V4) => 5,
        (Kind::ProFtpd, Family::V6) => 6,
        (Kind::BsdFtpd, Family::V4) => 7,
        (Kind::BsdFtpd, Family::V6) => 8,
    };
    base << 32 | n
}

fn is_perm(e: &Error, code: u16) -> bool {
    matches!(e, Error::Perm(r) if r.code == code)
}

/// NLST names as text, sorted, without "." and ".." (which pure-ftpd lists).
fn names(listed: Vec<Vec<u8>>) -> Vec<String> {
    let mut names: Vec<String> =
        listed.into_iter().filter(|n| n != b"." && n != b"..").map(|n| String::from_utf8(n).unwrap()).collect();
    names.sort();
    names
}

/// A download progress record: the last (done, total) seen and how many calls.
#[derive(Default, Debug)]
struct Seen {
    calls: u64,
    done: u64,
    total: Option<u64>,
}

// --- whole files -----------------------------------------------------------------------------

/// 100 MiB up with `store_from_fd` (sendfile) and down with `retrieve_to_fd` (splice) in
/// passive mode: the same bytes locally and in the server's copy on disk.
fn big_file_passive(server: &Server) {
    let (data, digest) = big_data();
    let src = TempFile::with_contents("big-src", data);
    let dst = TempFile::new("big-dst");
    let mut s = Session::open(server, "big");

    let mut up = Seen::default();
    let started = Instant::now();
    let sent =
        s.c.store_from_fd(
            b"big.bin",
            src.open().as_raw_fd(),
            None,
            false,
            Some(&mut |done, total| {
                up = Seen { calls: up.calls + 1, done, total };
                Flow::Continue(())
            }),
        )
        .unwrap();
    let up_time = started.elapsed();
    assert_eq!(sent, BIG as u64);
    assert_eq!((up.done, up.total), (BIG as u64, Some(BIG as u64)), "upload progress");
    let commands = s.trace.take_commands();
    assert_eq!(commands, ["TYPE I", "EPSV", "STOR big.bin"], "{}", server.name());
    assert_eq!(sha256_file(&s.local_path("big.bin")), *digest, "the server's copy");
    assert_eq!(s.c.size(b"big.bin").unwrap(), Some(BIG as u64));
    s.trace.take();

    let mut down = Seen::default();
    let started = Instant::now();
    let got =
        s.c.retrieve_to_fd(
            b"big.bin",
            dst.create().as_raw_fd(),
            None,
            Some(&mut |done, total| {
                down = Seen { calls: down.calls + 1, done, total };
                Flow::Continue(())
            }),
        )
        .unwrap();
    let down_time = started.elapsed();
    assert_eq!(got, BIG as u64);
    assert_eq!(down.done, BIG as u64, "download progress");
    assert!(down.calls >= 100, "progress once per MiB at least: {down:?}");
    // vsftpd announces "(N bytes)" in its 150, pure-ftpd does not: SIZE, asked before the
    // first download of the connection that has a progress callback, gives it there.
    assert_eq!(down.total, Some(BIG as u64), "total from the 150 reply or SIZE");
    assert_eq!(s.trace.take_commands(), ["TYPE I", "SIZE big.bin", "EPSV", "RETR big.bin"]);
    assert_eq!(dst.len(), BIG as u64);
    assert_eq!(sha256_file(&dst.path), *digest, "the download");
    eprintln!(
        "{}: 100 MiB passive: upload {:.0} MB/s ({:.2} s), download {:.0} MB/s ({:.2} s)",
        server.name(),
        mb_per_s(sent, up_time),
        up_time.as_secs_f64(),
        mb_per_s(got, down_time),
        down_time.as_secs_f64()
    );
    s.finish();
}

/// 8 MiB up and down in active mode: EPRT, and PORT on IPv4 with `use_epsv = false`.
fn active_mode(server: &Server) {
    let data = random_bytes(seed(server, 1), MEDIUM);
    let digest = sha256(&data);
    let src = TempFile::with_contents("active-src", &data);
    let dst = TempFile::new("active-dst");
    let mut s = Session::open_with(server, "active", |c| c.passive = false);
    let family = if server.is_v6() { "|2|::1|" } else { "|1|127.0.0.1|" };

    let started = Instant::now();
    assert_eq!(s.c.store_from_fd(b"active.bin", src.open().as_raw_fd(), None, false, None).unwrap(), MEDIUM as u64);
    let up_time = started.elapsed();
    let commands = s.trace.take_commands();
    assert_eq!(verbs(&commands), ["TYPE", "EPRT", "STOR"], "{commands:?}");
    assert!(commands[1].starts_with(&format!("EPRT {family}")), "{commands:?}");
    assert_eq!(sha256_file(&s.local_path("active.bin")), digest, "the server's copy");

    let started = Instant::now();
    assert_eq!(s.c.retrieve_to_fd(b"active.bin", dst.create().as_raw_fd(), None, None).unwrap(), MEDIUM as u64);
    let down_time = started.elapsed();
    let commands = s.trace.take_commands();
    assert_eq!(verbs(&commands), ["TYPE", "EPRT", "RETR"], "{commands:?}");
    assert_eq!(sha256_file(&dst.path), digest, "the download");
    eprintln!(
        "{}: 8 MiB active (EPRT): upload {:.0} MB/s, download {:.0} MB/s",
        server.name(),
        mb_per_s(MEDIUM as u64, up_time),
        mb_per_s(MEDIUM as u64, down_time)
    );

    let (mut c, trace) = s.join(|c| {
        c.passive = false;
        c.use_epsv = false;
    });
    if server.is_v6() {
        // PORT cannot carry an IPv6 address: use_epsv is about IPv4, and IPv6 keeps EPRT.
        assert_eq!(c.retrieve_to_fd(b"active.bin", dst.create().as_raw_fd(), None, None).unwrap(), MEDIUM as u64);
        assert_eq!(verbs(&trace.take_commands()), ["TYPE", "EPRT", "RETR"]);
        assert_eq!(sha256_file(&dst.path), digest, "the download");
    } else {
        assert_eq!(c.store_from_fd(b"port.bin", src.open().as_raw_fd(), None, false, None).unwrap(), MEDIUM as u64);
        let commands = trace.take_commands();
        assert_eq!(verbs(&commands), ["TYPE", "PORT", "STOR"], "{commands:?}");
        assert!(commands[1].starts_with("PORT 127,0,0,1,"), "{commands:?}");
        assert_eq!(sha256_file(&s.local_path("port.bin")), digest, "the server's copy");
        assert_eq!(c.retrieve_to_fd(b"port.bin", dst.create().as_raw_fd(), None, None).unwrap(), MEDIUM as u64);
        assert_eq!(verbs(&trace.take_commands()), ["TYPE", "PORT", "RETR"]);
        assert_eq!(sha256_file(&dst.path), digest, "the download");
    }
    c.pwd().unwrap();
    c.quit().unwrap();
    s.finish();
}

// --- ftplib-style callbacks --------------------------------------------------------------------

/// storbinary and retrbinary with blocksize 8192 and 0 (64 KiB): blocks of that size, the
/// exact bytes both ways.
fn binary_callbacks(server: &Server) {
    let data = random_bytes(seed(server, 2), MEDIUM);
    let digest = sha256(&data);
    let mut s = Session::open(server, "callbacks");
    for (blocksize, block, name) in [(8192, 8192, "cb-8192.bin"), (0, 64 * 1024, "cb-default.bin")] {
        let mut blocks = Vec::new();
        let mut source = Cursor::new(&data[..]);
        let reply =
            s.c.storbinary(
                format!("STOR {name}").as_bytes(),
                &mut source,
                blocksize,
                Some(&mut |b: &[u8]| {
                    blocks.push(b.len());
                    Flow::Continue(())
                }),
                None,
            )
            .unwrap();
        assert_eq!(reply.code, 226, "{reply}");
        // A memory source fills every block.
        assert_eq!(blocks.len(), MEDIUM / block, "blocksize {blocksize}");
        assert!(blocks.iter().all(|&n| n == block), "blocksize {blocksize}");
        assert_eq!(sha256_file(&s.local_path(name)), digest, "the server's copy of {name}");

        let mut got = Vec::with_capacity(MEDIUM);
        let mut largest = 0;
        let mut calls = 0;
        let reply =
            s.c.retrbinary(
                format!("RETR {name}").as_bytes(),
                &mut |b| {
                    got.extend_from_slice(b);
                    largest = largest.max(b.len());
                    calls += 1;
                    Flow::Continue(())
                },
                blocksize,
                None,
            )
            .unwrap();
        assert_eq!(reply.code, 226, "{reply}");
        assert_eq!(got.len(), MEDIUM);
        assert_eq!(sha256(&got), digest, "retrbinary of {name}");
        assert!(largest <= block && largest > 0, "blocks of at most {block}, got {largest}");
        assert!(calls >= MEDIUM / block, "{calls} calls");
    }
    // The callbacks' commands: TYPE I, then the transfer.
    let commands = s.trace.take_commands();
    assert_eq!(
        verbs(&commands),
        ["TYPE", "EPSV", "STOR", "TYPE", "EPSV", "RETR", "TYPE", "EPSV", "STOR", "TYPE", "EPSV", "RETR"]
    );
    assert!(commands.iter().filter(|c| c.starts_with("TYPE")).all(|c| c == "TYPE I"));
    s.finish();
}

/// retrlines splits on CRLF, LF and a lone CR; storlines sends every line with CRLF. What
/// the servers do in TYPE A: vsftpd (ascii_*_enable=NO) converts nothing; pure-ftpd, ProFTPD
/// and bsd-ftpd send LF as CRLF and store CRLF as LF.
fn text_lines(server: &Server) {
    let mut s = Session::open(server, "lines");
    let unix: &[u8] = b"first line\nsecond line\n\nlast line without an end";
    s.c.storbinary(b"STOR unix.txt", &mut Cursor::new(unix), 0, None, None).unwrap();
    assert_eq!(std::fs::read(s.local_path("unix.txt")).unwrap(), unix, "stored byte for byte in TYPE I");

    // The bytes on the wire in TYPE A.
    s.c.voidcmd(b"TYPE A").unwrap();
    let mut conn = s.c.transfercmd(b"RETR unix.txt", None).unwrap();
    let mut wire = Vec::new();
    conn.read_to_end(&mut wire).unwrap();
    assert_eq!(s.c.finish_transfer(conn, false).unwrap().code, 226);
    let expected: &[u8] = match server.kind {
        Kind::Vsftpd => unix,
        Kind::PureFtpd | Kind::ProFtpd | Kind::BsdFtpd => b"first line\r\nsecond line\r\n\r\nlast line without an end",
    };
    assert_eq!(String::from_utf8_lossy(&wire), String::from_utf8_lossy(expected), "TYPE A RETR on the wire");

    let mut lines = Vec::new();
    let reply =
        s.c.retrlines(b"RETR unix.txt", &mut |l| {
            lines.push(String::from_utf8(l.to_vec()).unwrap());
            Flow::Continue(())
        })
        .unwrap();
    assert_eq!(reply.code, 226);
    assert_eq!(lines, ["first line", "second line", "", "last line without an end"]);

    // A file with CRLF on disk: pure-ftpd and bsd-ftpd send its CR as data, then CRLF
    // ("dos\r\r\n"; ProFTPD sends a CRLF on disk as it is),
    // and retrlines, which also ends lines at a bare CR, gives an empty line after each.
    let dos: &[u8] = b"dos line\r\nunix line\n";
    s.c.storbinary(b"STOR dos.txt", &mut Cursor::new(dos), 0, None, None).unwrap();
    let mut lines = Vec::new();
    s.c.retrlines(b"RETR dos.txt", &mut |l| {
        lines.push(String::from_utf8(l.to_vec()).unwrap());
        Flow::Continue(())
    })
    .unwrap();
    let expected: &[&str] = match server.kind {
        Kind::Vsftpd | Kind::ProFtpd => &["dos line", "unix line"],
        Kind::PureFtpd | Kind::BsdFtpd => &["dos line", "", "unix line"],
    };
    assert_eq!(lines, expected, "{}", server.name());

    let source: &[u8] = b"alpha\nbeta\r\ngamma\n\nomega";
    let mut sent = Vec::new();
    let reply =
        s.c.storlines(
            b"STOR lines.txt",
            &mut Cursor::new(source),
            Some(&mut |l: &[u8]| {
                sent.push(String::from_utf8(l.to_vec()).unwrap());
                Flow::Continue(())
            }),
        )
        .unwrap();
    assert_eq!(reply.code, 226);
    assert_eq!(sent, ["alpha\r\n", "beta\r\n", "gamma\r\n", "\r\n", "omega\r\n"]);
    let on_disk = std::fs::read(s.local_path("lines.txt")).unwrap();
    let expected: &[u8] = match server.kind {
        Kind::Vsftpd => b"alpha\r\nbeta\r\ngamma\r\n\r\nomega\r\n",
        Kind::PureFtpd | Kind::ProFtpd | Kind::BsdFtpd => b"alpha\nbeta\ngamma\n\nomega\n",
    };
    assert_eq!(String::from_utf8_lossy(&on_disk), String::from_utf8_lossy(expected), "{}", server.name());

    let mut lines = Vec::new();
    s.c.retrlines(b"RETR lines.txt", &mut |l| {
        lines.push(String::from_utf8(l.to_vec()).unwrap());
        Flow::Continue(())
    })
    .unwrap();
    assert_eq!(lines, ["alpha", "beta", "gamma", "", "omega"]);
    let commands = s.trace.take_commands();
    assert_eq!(
        commands.iter().filter(|c| c.starts_with("TYPE")).collect::<Vec<_>>(),
        ["TYPE I", "TYPE A", "TYPE A", "TYPE I", "TYPE A", "TYPE A", "TYPE A"]
    );
    s.finish();
}

// --- EPSV, PASV, EPRT, PORT --------------------------------------------------------------------

/// The commands that open data connections, as the trace shows them.
fn data_connection_commands(server: &Server) {
    let mut s = Session::open(server, "datacmds");
    s.c.storbinary(b"STOR small.txt", &mut Cursor::new(&b"small file\n"[..]), 0, None, None).unwrap();
    s.trace.take();

    // Passive, EPSV first: the server answers 229.
    assert_eq!(names(s.c.nlst(None).unwrap()), ["small.txt"]);
    let lines = s.trace.take();
    assert_eq!(support::real::sent(&lines), ["TYPE A", "EPSV", "NLST"]);
    let replies = received(&lines);
    assert!(replies.iter().any(|r| r.starts_with("229 ")), "{replies:?}");

    // use_epsv = false: PASV on IPv4.
    let (mut c, trace) = s.join(|c| c.use_epsv = false);
    let result = c.nlst(None);
    let lines = trace.take();
    if server.is_v6() {
        // PASV cannot carry an IPv6 port: use_epsv is about IPv4, and IPv6 keeps EPSV (the
        // servers answer PASV there with a refusal, a 227 without an address or LPSV's 228).
        assert_eq!(names(result.unwrap()), ["small.txt"]);
        assert_eq!(support::real::sent(&lines), ["TYPE A", "EPSV", "NLST"]);
    } else {
        assert_eq!(names(result.unwrap()), ["small.txt"]);
        assert_eq!(support::real::sent(&lines), ["TYPE A", "PASV", "NLST"]);
        assert!(received(&lines).iter().any(|r| r.starts_with("227 ")), "{lines:?}");
        let mut got = Vec::new();
        c.retrbinary(
            b"RETR small.txt",
            &mut |b| {
                got.extend_from_slice(b);
                Flow::Continue(())
            },
            0,
            None,
        )
        .unwrap();
        assert_eq!(got, b"small file\n");
        assert_eq!(trace.take_commands(), ["TYPE I", "PASV", "RETR small.txt"]);
    }
    c.quit().unwrap();

    // Active: EPRT; on IPv4 with use_epsv = false, PORT.
    let (mut c, trace) = s.join(|c| c.passive = false);
    assert_eq!(names(c.nlst(None).unwrap()), ["small.txt"]);
    let commands = trace.take_commands();
    assert_eq!(verbs(&commands), ["TYPE", "EPRT", "NLST"]);
    let port = commands[1].rsplit('|').nth(1).unwrap().parse::<u16>().unwrap();
    assert!(port > 0);
    c.quit().unwrap();
    if !server.is_v6() {
        let (mut c, trace) = s.join(|c| {
            c.passive = false;
            c.use_epsv = false;
        });
        assert_eq!(names(c.nlst(None).unwrap()), ["small.txt"]);
        assert_eq!(verbs(&trace.take_commands()), ["TYPE", "PORT", "NLST"]);
        c.quit().unwrap();
    }
    s.finish();
}

// --- resume ------------------------------------------------------------------------------------

/// REST: a download cut after 3 MiB completes; an upload cut after 3 MiB completes with
/// REST+STOR when FEAT offers REST STREAM, else with APPE.
fn resume_download_and_upload(server: &Server) {
    const PART: usize = 3 * MIB;
    let data = random_bytes(seed(server, 3), MEDIUM);
    let digest = sha256(&data);
    let mut s = Session::open(server, "resume");
    s.c.storbinary(b"STOR whole.bin", &mut Cursor::new(&data[..]), 0, None, None).unwrap();
    assert_eq!(sha256_file(&s.local_path("whole.bin")), digest);

    let partial = TempFile::with_contents("resume-down", &data[..PART]);
    let file = OpenOptions::new().read(true).write(true).open(&partial.path).unwrap();
    s.trace.take();
    let got = s.c.resume_download(b"whole.bin", file.as_raw_fd(), None).unwrap();
    assert_eq!(got, (MEDIUM - PART) as u64);
    assert_eq!(s.trace.take_commands(), ["TYPE I", "EPSV", "REST 3145728", "RETR whole.bin"]);
    assert_eq!(partial.len(), MEDIUM as u64);
    assert_eq!(sha256_file(&partial.path), digest, "the resumed download");

    s.c.storbinary(b"STOR resumed.bin", &mut Cursor::new(&data[..PART]), 0, None, None).unwrap();
    assert_eq!(std::fs::metadata(s.local_path("resumed.bin")).unwrap().len(), PART as u64);
    let rest_stream = s.c.features().unwrap().iter().any(|(n, v)| n == "REST" && v == "STREAM");
    let src = TempFile::with_contents("resume-up", &data);
    s.trace.take();
    let sent = s.c.resume_upload(b"resumed.bin", src.open().as_raw_fd(), None).unwrap();
    assert_eq!(sent, (MEDIUM - PART) as u64);
    let commands = s.trace.take_commands();
    let path = if rest_stream {
        assert_eq!(commands, ["TYPE I", "SIZE resumed.bin", "TYPE I", "EPSV", "REST 3145728", "STOR resumed.bin"]);
        "REST+STOR"
    } else {
        assert_eq!(commands, ["TYPE I", "SIZE resumed.bin", "TYPE I", "EPSV", "APPE resumed.bin"]);
        "APPE"
    };
    eprintln!("{}: resume_upload took the {path} path", server.name());
    // Every server offers REST STREAM.
    assert!(rest_stream, "{}: FEAT without REST STREAM", server.name());
    assert_eq!(sha256_file(&s.local_path("resumed.bin")), digest, "the server's copy of the resumed upload");
    s.finish();
}

// --- listings and facts ------------------------------------------------------------------------

fn listings_and_facts(server: &Server) {
    let first = random_bytes(seed(server, 4), MIB + 123);
    let more = random_bytes(seed(server, 5), 4567);
    let size = first.len() as u64;
    let mut s = Session::open(server, "listings");
    let src = TempFile::with_contents("listings", &first);
    s.c.store_from_fd(b"data.bin", src.open().as_raw_fd(), None, false, None).unwrap();
    s.c.mkd(b"sub").unwrap();
    let local = s.local_path("data.bin");

    let listed = s.c.nlst(None).unwrap();
    assert_eq!(names(listed.clone()), ["data.bin", "sub"]);
    // pure-ftpd lists the dot entries too; the others do not.
    let dots = listed.iter().filter(|n| *n == b"." || *n == b"..").count();
    assert_eq!(dots, if server.kind == Kind::PureFtpd { 2 } else { 0 }, "{}", server.name());

    let mut lines = Vec::new();
    let reply =
        s.c.dir(None, &mut |l| {
            lines.push(String::from_utf8_lossy(l).into_owned());
            Flow::Continue(())
        })
        .unwrap();
    assert_eq!(reply.class(), 2);
    let file_line = lines.iter().find(|l| l.ends_with(" data.bin")).unwrap_or_else(|| panic!("{lines:?}"));
    assert!(file_line.starts_with('-') && file_line.contains(&format!(" {size} ")), "{file_line}");
    let dir_line = lines.iter().find(|l| l.ends_with(" sub")).unwrap_or_else(|| panic!("{lines:?}"));
    assert!(dir_line.starts_with('d'), "{dir_line}");

    let entries = s.c.list_entries(None).unwrap();
    let file = entries.iter().find(|e| e.name == b"data.bin").unwrap_or_else(|| panic!("{entries:?}"));
    assert_eq!((file.kind, file.size, file.format), (EntryKind::File, Some(size), ListFormat::Unix));
    let sub = entries.iter().find(|e| e.name == b"sub").unwrap_or_else(|| panic!("{entries:?}"));
    assert_eq!(sub.kind, EntryKind::Dir);

    let features = s.c.features().unwrap();
    eprintln!("{}: FEAT {features:?}", server.name());
    // ProFTPD and bsd-ftpd do not list PASV (RFC 959) in FEAT; bsd-ftpd has no UTF8.
    let advertised: &[&str] = match server.kind {
        Kind::Vsftpd | Kind::PureFtpd => &["EPRT", "EPSV", "MDTM", "PASV", "REST", "SIZE", "UTF8"],
        Kind::ProFtpd => &["EPRT", "EPSV", "MDTM", "REST", "SIZE", "UTF8"],
        Kind::BsdFtpd => &["EPRT", "EPSV", "MDTM", "REST", "SIZE"],
    };
    for &name in advertised {
        assert!(s.c.has_feature(name).unwrap(), "{}: FEAT lacks {name}: {features:?}", server.name());
    }

    match server.kind {
        Kind::PureFtpd => {
            assert!(s.c.has_feature("MLSD").unwrap() || s.c.has_feature("MLST").unwrap());
            let entries = s.c.mlsd(None, &[]).unwrap();
            let file = entries.iter().find(|e| e.name == b"data.bin").unwrap_or_else(|| panic!("{entries:?}"));
            assert_eq!((file.kind, file.size, file.format), (EntryKind::File, Some(size), ListFormat::Mlsd));
            assert!(file.facts.iter().any(|(n, _)| n == "modify"), "{:?}", file.facts);
            assert!(file.modified.is_some());
            let sub = entries.iter().find(|e| e.name == b"sub").unwrap_or_else(|| panic!("{entries:?}"));
            assert_eq!(sub.kind, EntryKind::Dir);
            assert!(
                entries.iter().all(|e| e.name == b"data.bin"
                    || e.name == b"sub"
                    || matches!(e.kind, EntryKind::CurrentDir | EntryKind::ParentDir)),
                "{entries:?}"
            );

            // OPTS MLST type;size; is answered 200, but pure-ftpd 1.0.50 keeps sending every
            // fact (its reply lists them all), and mlsd, as ftplib, does not filter them.
            s.trace.take();
            let entries = s.c.mlsd(None, &["type", "size"]).unwrap();
            let lines = s.trace.take();
            assert_eq!(support::real::sent(&lines)[0], "OPTS MLST type;size;");
            let opts = &received(&lines)[0];
            assert!(opts.starts_with("200 ") && opts.contains("modify;"), "{opts}");
            for e in &entries {
                let facts: Vec<&str> = e.facts.iter().map(|(n, _)| n.as_str()).collect();
                // Files have "size", directories "sizd".
                let size = if e.kind == EntryKind::File { "size" } else { "sizd" };
                assert_eq!(facts[..2], ["type", size], "{}", String::from_utf8_lossy(&e.raw));
                assert!(facts.contains(&"modify") && facts.contains(&"unique"), "{facts:?}");
            }
            let file = entries.iter().find(|e| e.name == b"data.bin").unwrap_or_else(|| panic!("{entries:?}"));
            assert_eq!((file.kind, file.size), (EntryKind::File, Some(size)));
            let sub = entries.iter().find(|e| e.name == b"sub").unwrap_or_else(|| panic!("{entries:?}"));
            assert_eq!(sub.kind, EntryKind::Dir);
            // Back to every fact for MLST.
            s.c.voidcmd(b"OPTS MLST type;size;modify;").unwrap();

            let entry = s.c.mlst(Some(b"data.bin")).unwrap();
            assert!(entry.name.ends_with(b"data.bin"), "{entry:?}");
            assert_eq!((entry.kind, entry.size), (EntryKind::File, Some(size)));
            assert!(entry.modified.is_some(), "{entry:?}");
            let entry = s.c.mlst(Some(b"sub")).unwrap();
            assert_eq!(entry.kind, EntryKind::Dir);
        }
        Kind::ProFtpd => {
            // ProFTPD lists MLST (with its facts), not MLSD, in FEAT: a server that lists MLST
            // supports MLSD (RFC 3659 7.8).
            assert!(s.c.has_feature("MLST").unwrap());
            assert!(s.c.has_feature("MLSD").unwrap(), "{}: MLSD from MLST in FEAT", server.name());
            let entries = s.c.mlsd(None, &[]).unwrap();
            let file = entries.iter().find(|e| e.name == b"data.bin").unwrap_or_else(|| panic!("{entries:?}"));
            assert_eq!((file.kind, file.size, file.format), (EntryKind::File, Some(size), ListFormat::Mlsd));
            assert!(file.facts.iter().any(|(n, _)| n == "modify"), "{:?}", file.facts);
            assert!(file.modified.is_some());
            let sub = entries.iter().find(|e| e.name == b"sub").unwrap_or_else(|| panic!("{entries:?}"));
            assert_eq!(sub.kind, EntryKind::Dir);
            assert!(
                entries.iter().all(|e| e.name == b"data.bin"
                    || e.name == b"sub"
                    || matches!(e.kind, EntryKind::CurrentDir | EntryKind::ParentDir)),
                "{entries:?}"
            );

            // ProFTPD honours OPTS MLST: only the facts asked for (directories have no size).
            s.trace.take();
            let entries = s.c.mlsd(None, &["type", "size"]).unwrap();
            let lines = s.trace.take();
            assert_eq!(support::real::sent(&lines)[0], "OPTS MLST type;size;");
            let opts = &received(&lines)[0];
            assert!(opts.starts_with("200 "), "{opts}");
            for e in &entries {
                let mut facts: Vec<&str> = e.facts.iter().map(|(n, _)| n.as_str()).collect();
                facts.sort();
                let want: &[&str] = if e.kind == EntryKind::File { &["size", "type"] } else { &["type"] };
                assert_eq!(facts, want, "{}", String::from_utf8_lossy(&e.raw));
            }
            let file = entries.iter().find(|e| e.name == b"data.bin").unwrap_or_else(|| panic!("{entries:?}"));
            assert_eq!((file.kind, file.size), (EntryKind::File, Some(size)));
            let sub = entries.iter().find(|e| e.name == b"sub").unwrap_or_else(|| panic!("{entries:?}"));
            assert_eq!(sub.kind, EntryKind::Dir);
            s.c.voidcmd(b"OPTS MLST type;size;modify;").unwrap();

            let entry = s.c.mlst(Some(b"data.bin")).unwrap();
            assert!(entry.name.ends_with(b"data.bin"), "{entry:?}");
            assert_eq!((entry.kind, entry.size), (EntryKind::File, Some(size)));
            assert!(entry.modified.is_some(), "{entry:?}");
            let entry = s.c.mlst(Some(b"sub")).unwrap();
            assert_eq!(entry.kind, EntryKind::Dir);
        }
        // Neither has MLSD or MLST: the clear error, and the connection goes on.
        Kind::Vsftpd | Kind::BsdFtpd => {
            assert!(!s.c.has_feature("MLSD").unwrap() && !s.c.has_feature("MLST").unwrap());
            let e = s.c.mlsd(None, &[]).unwrap_err();
            assert!(matches!(e, Error::Unsupported(_)), "{e:?}");
            let e = s.c.mlsd(None, &["type", "size"]).unwrap_err();
            assert!(matches!(e, Error::Unsupported(_)), "{e:?}");
            let e = s.c.mlst(Some(b"data.bin")).unwrap_err();
            assert!(matches!(e, Error::Unsupported(_)), "{e:?}");
            assert_eq!(s.c.pwd().unwrap(), s.pwd);
        }
    }

    // MDTM: UTC seconds, as the file's mtime on disk.
    let remote = s.c.mdtm(b"data.bin").unwrap();
    let on_disk = mtime(&local);
    assert!((remote - on_disk).abs() <= 2, "MDTM {remote}, mtime {on_disk}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - remote).abs() < 600, "MDTM {remote}, now {now}");
    let e = s.c.mdtm(b"no-such-file").unwrap_err();
    assert!(is_perm(&e, 550), "{e:?}");

    // SIZE in TYPE I.
    s.c.voidcmd(b"TYPE I").unwrap();
    assert_eq!(s.c.size(b"data.bin").unwrap(), Some(size));

    // APPE appends.
    let src = TempFile::with_contents("listings-more", &more);
    s.trace.take();
    assert_eq!(s.c.store_from_fd(b"data.bin", src.open().as_raw_fd(), None, true, None).unwrap(), more.len() as u64);
    assert_eq!(s.trace.take_commands(), ["TYPE I", "EPSV", "APPE data.bin"]);
    let whole = [first.as_slice(), more.as_slice()].concat();
    assert_eq!(sha256_file(&local), sha256(&whole), "the server's copy after APPE");
    assert_eq!(s.c.size(b"data.bin").unwrap(), Some(whole.len() as u64));
    s.finish();
}

// --- cancellation ------------------------------------------------------------------------------

/// Puts the 100 MiB file straight into the session's directory (no upload needed), owned
/// by the FTP user as an upload would be.
fn place_big_file(s: &Session, name: &str) {
    let path = s.local_path(name);
    write_file(&path, &big_data().0);
    let owner = std::fs::metadata(&s.local).unwrap();
    std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
}

/// After a stop, the connection is in step: PWD, then a whole listing.
fn assert_usable(s: &mut Session, expect_names: &[&str]) {
    assert_in_step(s);
    assert_eq!(names(s.c.nlst(None).unwrap()), expect_names);
}

/// How long a stopped call may take to return once the stop was asked for (loopback).
const STOP_BOUND: Duration = Duration::from_secs(1);

/// The stopped call returned within `STOP_BOUND` of the stop request made at `asked`.
fn assert_prompt(s: &Session, what: &str, asked: Option<Instant>) -> Duration {
    let took = asked.unwrap_or_else(|| panic!("{}: {what}: the stop was never asked for", s.server.name())).elapsed();
    assert!(took < STOP_BOUND, "{}: {what} returned {took:?} after the stop", s.server.name());
    eprintln!("{}: {what} returned {took:?} after the stop", s.server.name());
    took
}

/// The next commands get their own replies: PWD its 257 naming the directory, NOOP its 200
/// (not a late 226 or 426 of the abort).
fn assert_in_step(s: &mut Session) {
    let name = s.server.name();
    assert_eq!(s.c.pwd().unwrap(), s.pwd, "{name}: PWD after the stop");
    assert_eq!(s.c.last_reply().unwrap().code, 257, "{name}: PWD's own reply");
    let noop = s.c.voidcmd(b"NOOP").unwrap_or_else(|e| panic!("{name}: NOOP after the stop: {e}"));
    assert_eq!(noop.code, 200, "{name}: NOOP's own reply: {noop}");
}

/// A whole download after a stop: 3 MiB placed in the directory come back byte for byte.
fn assert_next_download_whole(s: &mut Session) {
    let data = random_bytes(seed(&s.server, 77), 3 * MIB + 5);
    let path = s.local_path("next.bin");
    write_file(&path, &data);
    let mut got = Vec::new();
    let reply =
        s.c.retrbinary(
            b"RETR next.bin",
            &mut |b| {
                got.extend_from_slice(b);
                Flow::Continue(())
            },
            0,
            None,
        )
        .unwrap_or_else(|e| panic!("{}: the download after the stop: {e}", s.server.name()));
    assert_eq!(reply.code, 226, "{reply}");
    assert_eq!(sha256(&got), sha256(&data), "{}: the download after the stop", s.server.name());
    std::fs::remove_file(&path).unwrap();
}

/// A 100 MiB download stopped by the callback after 1 MiB: retrbinary's block callback, and
/// retrieve_to_fd's progress callback.
fn stop_download_from_callback(server: &Server) {
    let mut s = Session::open(server, "stopdown");
    place_big_file(&s, "big.bin");

    let mut received = 0;
    let mut asked = None;
    let started = Instant::now();
    let e =
        s.c.retrbinary(
            b"RETR big.bin",
            &mut |b| {
                received += b.len();
                if received >= MIB {
                    asked = Some(Instant::now());
                    Flow::Break(())
                } else {
                    Flow::Continue(())
                }
            },
            0,
            None,
        )
        .unwrap_err();
    assert!(matches!(e, Error::Stopped), "{e:?}");
    assert_prompt(&s, "retrbinary stopped by its callback", asked);
    assert!((MIB..MIB + 64 * 1024).contains(&received), "{received}");
    let commands = s.trace.take_commands();
    assert_eq!(commands, ["TYPE I", "EPSV", "RETR big.bin", "ABOR", "NOOP"]);
    eprintln!("{}: retrbinary stopped after {received} bytes in {:?}", server.name(), started.elapsed());
    assert_usable(&mut s, &["big.bin"]);
    assert_next_download_whole(&mut s);

    let dst = TempFile::new("stopdown");
    let mut asked = None;
    let e =
        s.c.retrieve_to_fd(
            b"big.bin",
            dst.create().as_raw_fd(),
            None,
            Some(&mut |done, _| {
                if done >= MIB as u64 {
                    asked = Some(Instant::now());
                    Flow::Break(())
                } else {
                    Flow::Continue(())
                }
            }),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Stopped), "{e:?}");
    assert_prompt(&s, "retrieve_to_fd stopped by its progress callback", asked);
    let kept = dst.len();
    assert!(kept >= MIB as u64 && kept <= 2 * MIB as u64, "{kept} bytes written");
    assert_eq!(&std::fs::read(&dst.path).unwrap()[..], &big_data().0[..kept as usize]);
    assert_usable(&mut s, &["big.bin"]);
    assert_next_download_whole(&mut s);
    // SIZE depends on TYPE (RFC 3659 4): the NLST above left TYPE A, in which bsd-ftpd counts
    // the CRs it would add and ProFTPD refuses SIZE; the download after it set TYPE I again.
    assert_eq!(s.c.size(b"big.bin").unwrap(), Some(BIG as u64));
    s.finish();
}

/// Reads `limit` bytes of `data`, then stops the upload with `StopTransfer`.
struct StopAfter<'a> {
    data: &'a [u8],
    limit: usize,
    pos: usize,
    /// When the source gave up.
    stopped_at: Option<Instant>,
}

impl Read for StopAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.limit {
            self.stopped_at.get_or_insert_with(Instant::now);
            return Err(io::Error::other(StopTransfer));
        }
        let n = buf.len().min(self.limit - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A 100 MiB upload whose source gives up after 1 MiB with `io::Error::other(StopTransfer)`.
fn stop_upload_from_source(server: &Server) {
    let mut s = Session::open(server, "stopup");
    let mut source = StopAfter { data: &big_data().0, limit: MIB, pos: 0, stopped_at: None };
    let e = s.c.storbinary(b"STOR partial.bin", &mut source, 0, None, None).unwrap_err();
    assert!(matches!(e, Error::Stopped), "{e:?}");
    assert_prompt(&s, "storbinary stopped by its source", source.stopped_at);
    assert_eq!(source.pos, MIB);
    assert_eq!(s.trace.take_commands(), ["TYPE I", "EPSV", "STOR partial.bin", "ABOR", "NOOP"]);
    // What reached the server before the stop, at most the 1 MiB sent (pure-ftpd may drop
    // the partial file).
    let path = s.local_path("partial.bin");
    let kept = std::fs::metadata(&path).map(|m| m.len());
    eprintln!("{}: stopped upload left {kept:?} bytes on the server", server.name());
    if let Ok(kept) = kept {
        assert!(kept <= MIB as u64, "{kept}");
        assert_eq!(std::fs::read(&path).unwrap(), &big_data().0[..kept as usize]);
    }
    let names: &[&str] = if kept.is_ok() { &["partial.bin"] } else { &[] };
    if !names.is_empty() {
        assert_usable(&mut s, names);
    } else {
        assert_in_step(&mut s);
    }
    assert_next_download_whole(&mut s);

    // The same through a callback returning Break.
    let mut blocks = 0;
    let mut asked = None;
    let e =
        s.c.storbinary(
            b"STOR partial2.bin",
            &mut Cursor::new(&big_data().0[..]),
            8192,
            Some(&mut |_: &[u8]| {
                blocks += 1;
                if blocks == 128 {
                    asked = Some(Instant::now());
                    Flow::Break(())
                } else {
                    Flow::Continue(())
                }
            }),
            None,
        )
        .unwrap_err();
    assert!(matches!(e, Error::Stopped), "{e:?}");
    assert_prompt(&s, "storbinary stopped by its callback", asked);
    assert_eq!(blocks, 128);
    assert_in_step(&mut s);
    // And the next upload goes through whole (3 MiB, compared on the server's disk).
    let next = random_bytes(seed(server, 78), 3 * MIB + 7);
    s.c.storbinary(b"STOR after.bin", &mut Cursor::new(&next[..]), 0, None, None).unwrap();
    assert_eq!(sha256_file(&s.local_path("after.bin")), sha256(&next), "the upload after the stop");
    s.finish();
}

/// `canceller()` set from another thread stops a 100 MiB download (retrbinary) and a
/// 100 MiB upload (store_from_fd) at their next block; the flag does not outlive the stop.
/// retrlines of a 24 MiB text stopped by the transfer stopper (C `ftp_abort` during a
/// call) from another thread once 1 MiB of lines has come: `Stopped` within the bound, ABOR
/// then NOOP, the connection in step, the next download whole.
fn stop_lines_from_another_thread(server: &Server) {
    let mut s = Session::open(server, "stop-lines");
    let mut text = Vec::with_capacity(24 * MIB + 200);
    let mut n = 0u64;
    while text.len() < 24 * MIB {
        text.extend_from_slice(format!("line {n} of a text stopped from another thread, {}\n", n * 7919).as_bytes());
        n += 1;
    }
    let path = s.local_path("lines.txt");
    write_file(&path, &text);
    let owner = std::fs::metadata(&s.local).unwrap();
    std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();

    let flag = s.c.transfer_stopper();
    let watch = s.c.transfer_stopper();
    let (tx, rx) = mpsc::channel::<()>();
    let stopper = std::thread::spawn(move || {
        rx.recv_timeout(Duration::from_secs(30)).expect("the lines never reached 1 MiB");
        flag.store(true, Ordering::SeqCst);
    });
    let (mut done, mut lines, mut asked) = (0usize, 0usize, None);
    let e =
        s.c.retrlines(b"RETR lines.txt", &mut |line| {
            done += line.len() + 1;
            lines += 1;
            if done >= MIB && asked.is_none() {
                tx.send(()).unwrap();
                let deadline = Instant::now() + Duration::from_secs(10);
                while !watch.load(Ordering::SeqCst) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                asked = Some(Instant::now());
            }
            Flow::Continue(())
        })
        .unwrap_err();
    stopper.join().unwrap();
    assert!(matches!(e, Error::Stopped), "{e:?}");
    assert_prompt(&s, "retrlines stopped from another thread", asked);
    assert!((MIB..3 * MIB).contains(&done), "stopped after {done} bytes of lines");
    assert!(!s.c.transfer_stopper().load(Ordering::SeqCst), "the stop consumed the request");
    let commands = s.trace.take_commands();
    assert_eq!(commands[commands.len().saturating_sub(2)..], ["ABOR", "NOOP"], "{commands:?}");
    eprintln!("{}: retrlines stopped from another thread after {lines} lines", server.name());
    assert_in_step(&mut s);
    assert_next_download_whole(&mut s);
    s.finish();
}

fn stop_from_another_thread(server: &Server) {
    let mut s = Session::open(server, "cancel");
    place_big_file(&s, "big.bin");

    for upload in [false, true] {
        let flag = s.c.canceller();
        let watch = s.c.canceller();
        let (tx, rx) = mpsc::channel::<()>();
        let canceller = std::thread::spawn(move || {
            rx.recv_timeout(Duration::from_secs(30)).expect("the transfer never reached 1 MiB");
            flag.store(true, Ordering::SeqCst);
        });
        let mut signalled = false;
        let mut asked = None;
        // At 1 MiB, ask the other thread to cancel and wait until it has: the stop then comes
        // at this block, whatever the speed of the transfer.
        let mut at_one_mib = |done: usize| {
            if done >= MIB && !signalled {
                signalled = true;
                tx.send(()).unwrap();
                let deadline = Instant::now() + Duration::from_secs(10);
                while !watch.load(Ordering::SeqCst) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                asked = Some(Instant::now());
            }
        };
        let mut done = 0usize;
        let src = TempFile::new("cancel-up");
        let e = if upload {
            write_file(&src.path, &big_data().0);
            s.c.store_from_fd(
                b"up.bin",
                src.open().as_raw_fd(),
                None,
                false,
                Some(&mut |n, _| {
                    done = n as usize;
                    at_one_mib(done);
                    Flow::Continue(())
                }),
            )
            .unwrap_err()
        } else {
            s.c.retrbinary(
                b"RETR big.bin",
                &mut |b| {
                    done += b.len();
                    at_one_mib(done);
                    Flow::Continue(())
                },
                0,
                None,
            )
            .unwrap_err()
        };
        canceller.join().unwrap();
        assert!(matches!(e, Error::Stopped), "{e:?}");
        let what = if upload {
            "store_from_fd cancelled from another thread"
        } else {
            "retrbinary cancelled from another thread"
        };
        assert_prompt(&s, what, asked);
        assert!((MIB..3 * MIB).contains(&done), "stopped after {done} bytes");
        assert!(!s.c.canceller().load(Ordering::SeqCst), "the stop consumed the request");
        let commands = s.trace.take_commands();
        assert_eq!(commands[commands.len().saturating_sub(2)..], ["ABOR", "NOOP"], "{commands:?}");
        eprintln!(
            "{}: {} cancelled from another thread after {done} bytes",
            server.name(),
            if upload { "upload" } else { "download" }
        );
        assert_in_step(&mut s);
        assert_next_download_whole(&mut s);
    }
    if let Ok(m) = std::fs::metadata(s.local_path("up.bin")) {
        assert!(m.len() < 3 * MIB as u64, "{}", m.len());
    }
    // The next transfer runs to its end.
    let mut got = 0;
    s.c.retrbinary(
        b"RETR big.bin",
        &mut |b| {
            got += b.len();
            Flow::Continue(())
        },
        0,
        None,
    )
    .unwrap();
    assert_eq!(got, BIG);
    s.finish();
}

// --- errors ------------------------------------------------------------------------------------

/// A missing file: 550 as `Error::Perm`, in passive and active mode, and the connection goes on.
fn missing_file(server: &Server) {
    let mut s = Session::open(server, "missing");
    s.c.storbinary(b"STOR present.txt", &mut Cursor::new(&b"present\n"[..]), 0, None, None).unwrap();

    let e = s.c.retrbinary(b"RETR missing.bin", &mut |_| Flow::Continue(()), 0, None).unwrap_err();
    assert!(is_perm(&e, 550), "{e:?}");
    assert_eq!(s.c.last_reply().unwrap().code, 550);
    assert_eq!(s.c.pwd().unwrap(), s.pwd);

    let dst = TempFile::new("missing");
    let e = s.c.retrieve_to_fd(b"missing.bin", dst.create().as_raw_fd(), None, None).unwrap_err();
    assert!(is_perm(&e, 550), "{e:?}");
    assert_eq!(dst.len(), 0);
    let e = s.c.size(b"missing.bin").unwrap_err();
    assert!(is_perm(&e, 550), "{e:?}");
    assert_eq!(names(s.c.nlst(None).unwrap()), ["present.txt"]);

    // Into a directory that does not exist: refused with a 5xx (553 on vsftpd).
    let e = s.c.storbinary(b"STOR no-such-dir/x.bin", &mut Cursor::new(&b"x"[..]), 0, None, None).unwrap_err();
    assert!(matches!(e, Error::Perm(_)), "{e:?}");
    eprintln!("{}: STOR into a missing directory: {e}", server.name());
    assert_eq!(s.c.pwd().unwrap(), s.pwd);

    // Active mode: the listener is dropped and the connection stays in step.
    let (mut c, _trace) = s.join(|c| c.passive = false);
    let e = c.retrbinary(b"RETR missing.bin", &mut |_| Flow::Continue(()), 0, None).unwrap_err();
    assert!(is_perm(&e, 550), "{e:?}");
    let mut got = Vec::new();
    c.retrbinary(
        b"RETR present.txt",
        &mut |b| {
            got.extend_from_slice(b);
            Flow::Continue(())
        },
        0,
        None,
    )
    .unwrap();
    assert_eq!(got, b"present\n");
    c.quit().unwrap();
    s.finish();
}

// --- names that are not UTF-8 -----------------------------------------------------------------

/// A Latin-1 file name on the server ("café.txt" with the byte 0xE9), and the form UTF-8
/// mode gives it to the caller: that byte escaped as the lone surrogate U+DCE9, UTF-8 bytes
/// ED B3 A9 (Python's surrogateescape).
const LATIN1_FILE: &[u8] = b"caf\xe9.txt";
const ESCAPED_FILE: &[u8] = b"caf\xed\xb3\xa9.txt";
const LATIN1_DIR: &[u8] = b"r\xe9p";
const ESCAPED_DIR: &[u8] = b"r\xed\xb3\xa9p";

/// A file and a directory whose names hold the Latin-1 byte 0xE9, made on the server by a
/// client in bytes mode, are listed in UTF-8 mode (the default) by NLST, LIST and, where
/// the server offers it, MLSD, each giving the escaped name; the names as listed are
/// accepted back by SIZE, RETR, MDTM, retrieve_file, CWD, DELE and RMD, which reach the
/// server's own bytes.
fn latin1_names_round_trip_in_utf8_mode(server: &Server) {
    use std::os::unix::ffi::OsStrExt;
    let name = server.name();
    let mut s = Session::open(server, "latin1");
    let data = random_bytes(seed(server, 90), 1000);
    let (mut raw, _raw_trace) = s.join(|cfg| cfg.encoding = ftpc::Encoding::Bytes);
    raw.storbinary(&[&b"STOR "[..], LATIN1_FILE].concat(), &mut Cursor::new(&data[..]), 0, None, None)
        .unwrap_or_else(|e| panic!("{name}: STOR of the Latin-1 name in bytes mode: {e}"));
    raw.mkd(LATIN1_DIR).unwrap_or_else(|e| panic!("{name}: MKD of the Latin-1 name in bytes mode: {e}"));
    raw.quit().unwrap();
    let local_file = s.local.join(std::ffi::OsStr::from_bytes(LATIN1_FILE));
    assert_eq!(std::fs::read(&local_file).unwrap(), data, "{name}: the file on the server's disk has the byte 0xE9");
    assert!(s.local.join(std::ffi::OsStr::from_bytes(LATIN1_DIR)).is_dir(), "{name}: the directory on disk");

    // The listings, in UTF-8 mode.
    let mut listed: Vec<(&str, Vec<u8>)> = Vec::new();
    let nlst: Vec<Vec<u8>> = s.c.nlst(None).unwrap().into_iter().filter(|n| n != b"." && n != b"..").collect();
    let mut sorted = nlst.clone();
    sorted.sort();
    assert_eq!(sorted, [ESCAPED_FILE.to_vec(), ESCAPED_DIR.to_vec()], "{name}: NLST");
    listed.push(("NLST", nlst.into_iter().find(|n| n == ESCAPED_FILE).unwrap()));
    let entries = s.c.list_entries(None).unwrap();
    let file = entries.iter().find(|e| e.name == ESCAPED_FILE).unwrap_or_else(|| panic!("{name}: LIST {entries:?}"));
    assert_eq!(file.kind, EntryKind::File, "{name}: LIST {file:?}");
    let dir = entries.iter().find(|e| e.name == ESCAPED_DIR).unwrap_or_else(|| panic!("{name}: LIST {entries:?}"));
    assert_eq!(dir.kind, EntryKind::Dir, "{name}: LIST {dir:?}");
    listed.push(("LIST", file.name.clone()));
    let dir_name = dir.name.clone();
    if s.c.has_feature("MLSD").unwrap() {
        let entries = s.c.mlsd(None, &[]).unwrap();
        let file =
            entries.iter().find(|e| e.name == ESCAPED_FILE).unwrap_or_else(|| panic!("{name}: MLSD {entries:?}"));
        assert_eq!((file.kind, file.size), (EntryKind::File, Some(data.len() as u64)), "{name}: MLSD {file:?}");
        listed.push(("MLSD", file.name.clone()));
    } else {
        assert!(matches!(server.kind, Kind::Vsftpd | Kind::BsdFtpd), "{name} offers no MLSD");
    }
    eprintln!("{name}: the Latin-1 name listed by {:?}", listed.iter().map(|(how, _)| *how).collect::<Vec<_>>());

    // Each listed name, passed back.
    for (how, listed_name) in &listed {
        let what = format!("{name}: the name from {how}");
        assert_eq!(s.c.size(listed_name).unwrap_or_else(|e| panic!("{what}: SIZE: {e}")), Some(data.len() as u64));
        let mut got = Vec::new();
        let reply =
            s.c.retrbinary(
                &[&b"RETR "[..], listed_name].concat(),
                &mut |b| {
                    got.extend_from_slice(b);
                    Flow::Continue(())
                },
                0,
                None,
            )
            .unwrap_or_else(|e| panic!("{what}: RETR: {e}"));
        assert_eq!((reply.code, &got), (226, &data), "{what}: RETR");
        let remote = s.c.mdtm(listed_name).unwrap_or_else(|e| panic!("{what}: MDTM: {e}"));
        assert!((remote - mtime(&local_file)).abs() <= 2, "{what}: MDTM {remote}");
        let dst = TempFile::new("latin1");
        let n =
            s.c.retrieve_file(listed_name, &dst.path, None).unwrap_or_else(|e| panic!("{what}: retrieve_file: {e}"));
        assert_eq!(n, data.len() as u64, "{what}: retrieve_file");
        assert_eq!(std::fs::read(&dst.path).unwrap(), data, "{what}: retrieve_file");
    }
    s.c.cwd(&dir_name).unwrap_or_else(|e| panic!("{name}: CWD into the listed directory: {e}"));
    let pwd = s.c.pwd().unwrap();
    assert_eq!(pwd, [&s.pwd[..], b"/", ESCAPED_DIR].concat(), "{name}: PWD in the directory, escaped as listed");
    s.c.cwd(b"..").unwrap();
    // Removed by the listed names too: the server's bytes went out.
    s.c.delete(&listed[0].1).unwrap_or_else(|e| panic!("{name}: DELE: {e}"));
    s.c.rmd(&dir_name).unwrap_or_else(|e| panic!("{name}: RMD: {e}"));
    assert!(!local_file.exists(), "{name}: DELE removed the Latin-1 file");
    s.finish();
}

// --- the helpers themselves (no server needed) ---------------------------------------------------

mod helpers {
    use super::support::real::{parse_env, random_bytes, sha256, sha256_file, sha256_sha2, TempFile};

    /// The OpenSSL digest used for the big files is SHA-256 as the sha2 crate computes it.
    #[test]
    fn sha256_helpers_agree() {
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256(b"abc"), abc);
        assert_eq!(sha256_sha2(b"abc"), abc);
        let data = random_bytes(42, (1 << 20) + 13);
        assert_eq!(sha256(&data), sha256_sha2(&data));
        let file = TempFile::with_contents("sha", &data);
        assert_eq!(sha256_file(&file.path), sha256_sha2(&data));
        // The generator is seeded: same seed, same bytes; another seed, other bytes.
        assert_eq!(random_bytes(42, 1000), data[..1000]);
        assert_ne!(random_bytes(43, 1000), data[..1000]);
    }

    /// The env file's `export NAME=value` lines, with the quoting `printf %q` produces.
    #[test]
    fn env_file_lines() {
        let vars = parse_env(
            "# Generated by tests/servers/servers.sh start\n\
             export FTPC_VSFTPD_PORT=2121\n\
             export FTPC_TEST_PASS=ftpc-pass\n\
             export FTPC_VSFTPD_HOME=/srv/with\\ space/vsftpd\n\
             export FTPC_A='single quoted'\n\
             export FTPC_B=$'tab\\there'\n\
             \n",
        );
        assert_eq!(vars["FTPC_VSFTPD_PORT"], "2121");
        assert_eq!(vars["FTPC_TEST_PASS"], "ftpc-pass");
        assert_eq!(vars["FTPC_VSFTPD_HOME"], "/srv/with space/vsftpd");
        assert_eq!(vars["FTPC_A"], "single quoted");
        assert_eq!(vars["FTPC_B"], "tab\there");
        assert_eq!(vars.len(), 5);
    }

    /// Without the env file every test stops with the hint to start the servers.
    #[test]
    #[should_panic(expected = "start the servers: tests/servers/servers.sh start")]
    fn missing_env_file_says_how_to_start_the_servers() {
        super::support::real::Env::load(std::path::Path::new("/nonexistent/ftp-servers/env"));
    }
}
