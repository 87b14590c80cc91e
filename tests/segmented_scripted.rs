//! `Client::retrieve_segmented` against a small server of many sessions (support/responder):
//! every range over its own connection, and the fallbacks: REST refused, sessions limited
//! (421), no SIZE; a stop from the progress callback; a non-regular file. Every wait is
//! short, so none can hang.

mod support;

use ftpc::{Client, Error, Flow, SegmentOptions};
use std::fs::File;
use std::time::Duration;
use support::real::{random_bytes, sha256, sha256_file, TempFile};
use support::responder::{Responder, Rules};

/// 4 MiB and a few bytes: four ranges of 1 MiB, the last one longer.
const SIZE: usize = (4 << 20) + 4321;

fn data() -> Vec<u8> {
    random_bytes(0x5E6, SIZE)
}

fn login(server: &Responder) -> Client {
    let mut c = Client::new();
    let cfg = c.config_mut();
    cfg.timeout = Duration::from_secs(5);
    c.connect("127.0.0.1", server.port(), None, None).unwrap();
    c.login("u", "p", "").unwrap();
    c
}

fn options(segments: usize) -> SegmentOptions {
    SegmentOptions { segments, min_segment: 1 << 20 }
}

/// Downloads `file.bin` in `segments` into a fresh file; the progress seen, then checks the
/// bytes and that the client is in step (NOOP).
fn download(server: &Responder, segments: usize) -> (ftpc::SegmentedDownload, Vec<u64>, TempFile) {
    let mut c = login(server);
    let local = TempFile::new("seg");
    let file = local.create();
    let mut seen = Vec::new();
    let mut progress = |done: u64, total: Option<u64>| {
        assert_eq!(total, Some(SIZE as u64));
        seen.push(done);
        Flow::Continue(())
    };
    let report = c.retrieve_segmented(b"file.bin", &file, &options(segments), Some(&mut progress)).unwrap();
    drop(file);
    assert_eq!(c.voidcmd(b"NOOP").unwrap().code, 200, "the client is in step");
    c.quit().unwrap();
    (report, seen, local)
}

#[test]
fn every_range_over_its_own_connection() {
    let data = data();
    // Slow enough that each connection gets to its range before the one before it.
    let server = Responder::start(data.clone(), Rules { rate: 8 << 20, ..Rules::default() });
    let (report, seen, local) = download(&server, 4);
    assert_eq!(sha256_file(&local.path), sha256(&data));
    assert_eq!(local.len(), SIZE as u64);
    assert_eq!(report.size, SIZE as u64);
    assert_eq!(report.segments, 4);
    assert_eq!(report.connections, 4, "{report:?}");
    assert_eq!(report.fallback, None);
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "progress goes forward");
    assert_eq!(seen.last(), Some(&(SIZE as u64)));
    let sessions = server.sessions();
    assert_eq!(sessions.len(), 4);
    // The first session: SIZE, one RETR from the start (no REST), ABOR at its range's end.
    let first = &sessions[0].commands;
    assert!(first.iter().any(|c| c == "SIZE file.bin"), "{first:?}");
    assert!(!first.iter().any(|c| c.starts_with("REST")), "{first:?}");
    assert!(first.iter().any(|c| c == "ABOR"), "{first:?}");
    // The others: REST at their range's start, then RETR; all but the last abort.
    let len = (SIZE / 4) as u64;
    let mut starts: Vec<u64> = sessions[1..]
        .iter()
        .map(|s| {
            let rest = s.commands.iter().find_map(|c| c.strip_prefix("REST ")).expect("REST");
            assert!(s.commands.iter().any(|c| c == "RETR file.bin"), "{:?}", s.commands);
            rest.parse().unwrap()
        })
        .collect();
    starts.sort();
    assert_eq!(starts, [len, 2 * len, 3 * len]);
    let aborted = sessions.iter().filter(|s| s.commands.iter().any(|c| c == "ABOR")).count();
    assert_eq!(aborted, 3, "every range but the last ends with ABOR");
}

#[test]
fn rest_refused_falls_back_to_one_connection() {
    let data = data();
    let server = Responder::start(data.clone(), Rules { rest: false, rate: 16 << 20, ..Rules::default() });
    let (report, seen, local) = download(&server, 4);
    assert_eq!(sha256_file(&local.path), sha256(&data));
    assert_eq!(report.connections, 1, "{report:?}");
    assert_eq!(report.segments, 4);
    let why = report.fallback.expect("a reason");
    assert!(why.contains("3 of 3") && why.contains("502"), "{why}");
    assert_eq!(seen.last(), Some(&(SIZE as u64)));
    let sessions = server.sessions();
    assert_eq!(sessions.len(), 4);
    // The first connection read the whole file in one RETR, to its end (226, no ABOR).
    assert_eq!(sessions[0].sent, [SIZE as u64]);
    assert!(!sessions[0].commands.iter().any(|c| c == "ABOR"), "{:?}", sessions[0].commands);
    for s in &sessions[1..] {
        assert!(s.commands.iter().any(|c| c.starts_with("REST ")), "{:?}", s.commands);
        assert!(!s.commands.iter().any(|c| c.starts_with("RETR")), "no RETR after a refused REST: {:?}", s.commands);
    }
}

#[test]
fn sessions_limited_falls_back() {
    let data = data();
    // One session only: every extra connection is turned away with 421.
    let server = Responder::start(data.clone(), Rules { max_sessions: 1, ..Rules::default() });
    let (report, _, local) = download(&server, 4);
    assert_eq!(sha256_file(&local.path), sha256(&data));
    assert_eq!(report.connections, 1, "{report:?}");
    assert!(report.fallback.as_deref().is_some_and(|w| w.contains("421")), "{report:?}");
    let served: Vec<bool> = server.sessions().iter().map(|s| s.served).collect();
    assert_eq!(served, [true, false, false, false]);
}

#[test]
fn two_sessions_allowed_share_the_ranges() {
    let data = data();
    // The first connection and one more; slow, so that the second starts its range first.
    let server = Responder::start(data.clone(), Rules { max_sessions: 2, rate: 8 << 20, ..Rules::default() });
    let (report, _, local) = download(&server, 4);
    assert_eq!(sha256_file(&local.path), sha256(&data));
    assert_eq!(report.connections, 2, "{report:?}");
    assert!(report.fallback.as_deref().is_some_and(|w| w.contains("2 of 3")), "{report:?}");
    let sent: u64 = server.sessions().iter().flat_map(|s| s.sent.iter()).sum();
    assert!(sent >= SIZE as u64, "every byte came over some connection: {sent}");
}

#[test]
fn no_size_means_one_stream() {
    let data = data();
    let server = Responder::start(data.clone(), Rules { size: false, ..Rules::default() });
    let mut c = login(&server);
    let local = TempFile::new("seg");
    let file = local.create();
    let report = c.retrieve_segmented(b"file.bin", &file, &options(4), None).unwrap();
    assert_eq!(sha256_file(&local.path), sha256(&data));
    assert_eq!((report.segments, report.connections), (1, 1));
    assert!(report.fallback.as_deref().is_some_and(|w| w.contains("SIZE")), "{report:?}");
    assert_eq!(server.sessions().len(), 1, "no extra connection");
}

#[test]
fn stopped_by_the_progress_callback() {
    let data = data();
    let server = Responder::start(data, Rules { rate: 4 << 20, ..Rules::default() });
    let mut c = login(&server);
    let local = TempFile::new("seg");
    let file = local.create();
    let mut stop = |done: u64, _: Option<u64>| if done > 512 * 1024 { Flow::Break(()) } else { Flow::Continue(()) };
    let started = std::time::Instant::now();
    let err = c.retrieve_segmented(b"file.bin", &file, &options(4), Some(&mut stop)).unwrap_err();
    assert!(matches!(err, Error::Stopped), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "stopped soon: {:?}", started.elapsed());
    assert_eq!(c.voidcmd(b"NOOP").unwrap().code, 200, "the client is in step");
}

#[test]
fn refused_arguments_and_a_pipe() {
    let data = data();
    let server = Responder::start(data.clone(), Rules::default());
    let mut c = login(&server);
    let local = TempFile::new("seg");
    let file = local.create();
    for n in [0, 65] {
        let err = c.retrieve_segmented(b"file.bin", &file, &options(n), None).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{n}: {err}");
    }
    // Not a regular file: one stream from where the descriptor is.
    let (reader, writer) = std::io::pipe().unwrap();
    let drain = std::thread::spawn(move || {
        let mut reader = reader;
        let mut all = Vec::new();
        std::io::Read::read_to_end(&mut reader, &mut all).unwrap();
        all
    });
    let writer = File::from(std::os::fd::OwnedFd::from(writer));
    let report = c.retrieve_segmented(b"file.bin", &writer, &options(4), None).unwrap();
    drop(writer);
    assert_eq!(drain.join().unwrap(), data);
    assert_eq!(report.connections, 1);
    assert!(report.fallback.as_deref().is_some_and(|w| w.contains("regular")), "{report:?}");
}

#[test]
fn a_range_lost_midway_is_read_again_from_where_it_stopped() {
    let data = data();
    // The first extra connection to read gets 300000 bytes of its range, then (300 ms later,
    // when the range before it has been handed over) its data connection ends.
    let cut = 300_000u64;
    let server =
        Responder::start(data.clone(), Rules { rate: 8 << 20, cut_first_restart: Some(cut), ..Rules::default() });
    let (report, seen, local) = download(&server, 4);
    assert_eq!(sha256_file(&local.path), sha256(&data));
    assert_eq!(report.fallback, None, "{report:?}");
    assert_eq!(seen.last(), Some(&(SIZE as u64)));
    // The first connection read the rest of that range with REST at where it stopped.
    let len = (SIZE / 4) as u64;
    let sessions = server.sessions();
    let rests: Vec<u64> =
        sessions[0].commands.iter().filter_map(|c| c.strip_prefix("REST ")).map(|n| n.parse().unwrap()).collect();
    assert_eq!(rests.len(), 1, "{sessions:?}");
    assert!(rests[0] % len == cut && (1..4).contains(&(rests[0] / len)), "REST {}", rests[0]);
}

#[test]
fn cancelled_from_another_thread() {
    let data = data();
    let server = Responder::start(data, Rules { rate: 2 << 20, ..Rules::default() });
    for stopper in ["canceller", "transfer_stopper"] {
        let mut c = login(&server);
        let flag = if stopper == "canceller" { c.canceller() } else { c.transfer_stopper() };
        let local = TempFile::new("seg");
        let file = local.create();
        let started = std::time::Instant::now();
        let setter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            flag.store(true, std::sync::atomic::Ordering::Release);
        });
        let err = c.retrieve_segmented(b"file.bin", &file, &options(4), None).unwrap_err();
        setter.join().unwrap();
        assert!(matches!(err, Error::Stopped), "{stopper}: {err}");
        assert!(started.elapsed() < Duration::from_secs(2), "{stopper}: stopped soon: {:?}", started.elapsed());
        assert_eq!(c.voidcmd(b"NOOP").unwrap().code, 200, "{stopper}: the client is in step");
    }
}
