//! `Client::retrieve_segmented` against the real servers: the file arrives byte for byte
//! (SHA-256) over four ranges on every server, plain and over FTPS with verification, every
//! extra connection logged in and restarted (no fallback) and at least one of them reading
//! its range, the client in step afterwards;
//! and on vsftpd-capped (each session held to FTPC_VSFTPD_CAPPED_RATE by local_max_rate) four
//! segments finish at least 3x faster than one.
//!
//! Needs the servers: `tests/servers/servers.sh start` (as root).

mod support;

use ftpc::{Config, Flow, SegmentOptions, SegmentedDownload, TlsMode};
use std::time::{Duration, Instant};
use support::real::{
    env, on_each_ipv4_server, random_bytes, servers_up, sha256, sha256_file, write_file, Kind, Server, Session,
    TempFile,
};

on_each_ipv4_server!(with [|_| {}]; segments_give_the_same_file);

/// Downloads a file of the session's directory, named relative to it (the extra connections
/// must go to the same directory), in 4 segments; checks the bytes, the progress and that
/// no extra connection failed to start.
fn segments_give_the_same_file(server: &Server, configure: fn(&mut Config)) {
    let mut s = Session::open_with(server, "seg", configure);
    let data = random_bytes(0x5E6_0001, (6 << 20) + 777);
    write_file(&s.local_path("big file.bin"), &data);
    let local = TempFile::new("seg");
    // Longer than the download: what is left over must go.
    std::fs::write(&local.path, vec![b'x'; 7 << 20]).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&local.path).unwrap();
    let mut seen = Vec::new();
    // The callback runs on the client's thread between its blocks: slowed down, it lets the
    // extra connections log in before this one has read past their ranges (unslowed, on
    // loopback, it reads the whole file before the first of them is ready).
    let mut progress = |done: u64, total: Option<u64>| {
        assert_eq!(total, Some(data.len() as u64));
        seen.push(done);
        std::thread::sleep(Duration::from_millis(10));
        Flow::Continue(())
    };
    let options = SegmentOptions { segments: 4, min_segment: 1 << 20 };
    let report =
        s.c.retrieve_segmented(b"big file.bin", &file, &options, Some(&mut progress))
            .unwrap_or_else(|e| panic!("{}: {e}", server.name()));
    drop(file);
    assert_eq!(sha256_file(&local.path), sha256(&data), "{}", server.name());
    assert_eq!(report.size, data.len() as u64);
    assert_eq!(report.segments, 4);
    assert_eq!(report.fallback, None, "{}: every extra connection logged in and got REST 350", server.name());
    // How many get to read depends on how fast their logins are; at least one must.
    assert!((2..=4).contains(&report.connections), "{}: {report:?}", server.name());
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "progress goes forward");
    assert_eq!(seen.last(), Some(&(data.len() as u64)));
    eprintln!("{}: {report:?}", server.name());
    s.finish();
}

/// Sets a client's configuration up for a server.
type Configure = fn(&mut Config);

fn explicit(cfg: &mut Config) {
    cfg.tls_mode = TlsMode::Explicit;
    cfg.tls.ca_file = Some(env().path("FTPC_TEST_CA"));
}

fn implicit(cfg: &mut Config) {
    cfg.tls_mode = TlsMode::Implicit;
    cfg.tls.ca_file = Some(env().path("FTPC_TEST_CA"));
}

/// The TLS instances require AUTH TLS (or implicit TLS) for a login and a resumed session
/// on data connections: an extra connection that did not repeat the handle's TLS could not
/// log in, and the download would report a fallback.
#[test]
fn segments_over_ftps() {
    if !servers_up("segments_over_ftps") {
        return;
    }
    let cases: [(Server, Configure); 4] = [
        (Server::ipv4_instance(Kind::Vsftpd, "FTPC_VSFTPD_TLS_PORT", "FTPC_VSFTPD_TLS_HOME"), explicit),
        (Server::ipv4_instance(Kind::Vsftpd, "FTPC_VSFTPD_IMPLICIT_PORT", "FTPC_VSFTPD_IMPLICIT_HOME"), implicit),
        (Server::ipv4_instance(Kind::ProFtpd, "FTPC_PROFTPD_TLS_PORT", "FTPC_PROFTPD_TLS_HOME"), explicit),
        (Server::ipv4_instance(Kind::PureFtpd, "FTPC_PUREFTPD_PORT", "FTPC_PUREFTPD_HOME"), explicit),
    ];
    for (server, configure) in cases {
        segments_give_the_same_file(&server, configure);
    }
}

/// The measure: with each session capped, 4 segments against 1, same bytes.
#[test]
fn four_segments_beat_one_on_a_capped_server() {
    if !servers_up("four_segments_beat_one_on_a_capped_server") {
        return;
    }
    let env = env();
    let server = Server::ipv4_instance(Kind::Vsftpd, "FTPC_VSFTPD_CAPPED_PORT", "FTPC_VSFTPD_CAPPED_HOME");
    let rate: f64 = env.get("FTPC_VSFTPD_CAPPED_RATE").parse().unwrap();
    let mut s = Session::open(&server, "cap");
    let data = random_bytes(0x5E6_0002, 12 << 20);
    write_file(&s.local_path("capped.bin"), &data);
    let mut timed = |segments: usize| -> (Duration, SegmentedDownload) {
        let local = TempFile::new("cap");
        let file = local.create();
        let started = Instant::now();
        let options = SegmentOptions { segments, min_segment: 1 << 20 };
        let report = s.c.retrieve_segmented(b"capped.bin", &file, &options, None).unwrap();
        let elapsed = started.elapsed();
        drop(file);
        assert_eq!(sha256_file(&local.path), sha256(&data), "{segments} segments");
        (elapsed, report)
    };
    let (one, report1) = timed(1);
    let (four, report4) = timed(4);
    let mb = |d: Duration| data.len() as f64 / 1e6 / d.as_secs_f64();
    eprintln!(
        "vsftpd capped at {:.2} MB/s per session, {} bytes: 1 segment {:.2} s ({:.2} MB/s), 4 segments {:.2} s \
         ({:.2} MB/s, {} connections): {:.2}x",
        rate / 1e6,
        data.len(),
        one.as_secs_f64(),
        mb(one),
        four.as_secs_f64(),
        mb(four),
        report4.connections,
        one.as_secs_f64() / four.as_secs_f64()
    );
    assert_eq!(report1.connections, 1);
    assert_eq!(report4.connections, 4, "{report4:?}");
    assert!(one.as_secs_f64() / four.as_secs_f64() >= 3.0, "1 segment {one:?}, 4 segments {four:?}");
    s.finish();
}
