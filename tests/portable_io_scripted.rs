//! The whole-file transfers (`retrieve_to_fd`, `store_from_fd`) on both of their paths:
//! zero-copy (splice and sendfile on Linux, sendfile on macOS and FreeBSD) and the portable
//! copies every other case takes. `FTPC_PORTABLE_IO=1` forces the copies (scripts/test.sh
//! runs this file, `transfer_scripted`, `issue11_scripted` and `real_transfers` once more
//! with it); the first test proves that it does, by the library's count of zero-copy calls
//! and of socket reads and writes, and the others hold on either path: the bytes, the
//! progress, local file errors told from the connection's, descriptors that are not files.

mod support;

use ftpc::{Error, Flow};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use support::scripted::{pattern_bytes, Step};
use support::scripted_client::{assert_usable, epsv_transfer, finish, logged_in, noop, TempFile};

const SIZE: usize = 3 << 20;

/// What the library was asked for: the switch as the library reads it.
fn portable() -> bool {
    std::env::var_os("FTPC_PORTABLE_IO").is_some_and(|v| v == "1")
}

/// After a local file error: the ABOR the client sends, the usual answers, the NOOP that
/// marks their end, then the NOOP of `assert_usable`.
fn aborted() -> Vec<Step> {
    vec![Step::abor_interrupt(), Step::send("426 Transfer aborted.\r\n226 Abort successful.\r\n"), noop(), noop()]
}

/// A pipe's two ends as files.
fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: pipe writes two new descriptors into the array, which the Files then own.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: as above.
    unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
}

fn is_local(e: &Error, context: &str) -> bool {
    matches!(e, Error::Io { context: c, .. } if *c == context)
}

/// The switch changes the path, and only the path: 3 MiB down with `retrieve_to_fd` and
/// up with `store_from_fd`, byte for byte, progress to the end, on the path this system
/// and the switch choose, told apart by the zero-copy calls the library counts and by the
/// reads and writes the transfer made on its socket (none on a zero-copy path).
#[test]
fn the_switch_picks_the_path() {
    let mut steps =
        epsv_transfer("RETR big", &format!("150 Opening BINARY mode data connection for big ({SIZE} bytes).\r\n"));
    // With a progress callback, the first download of a connection asks SIZE.
    steps.insert(1, Step::reply("SIZE big", format!("213 {SIZE}\r\n")));
    steps.extend([Step::DataSendPattern(SIZE as u64), Step::DataClose, Step::send("226 Transfer complete.\r\n")]);
    steps.extend(epsv_transfer("STOR up", "150 Ok to send data.\r\n"));
    steps.extend([Step::DataRecvToEof, Step::send("226 Transfer complete.\r\n")]);
    let (server, mut c) = logged_in(steps);

    let before = ftpc::transfer::zero_copy_calls();
    let down = TempFile::new("down", b"");
    let out = OpenOptions::new().write(true).open(&down.0).unwrap();
    let mut last = (0, None);
    let n = c
        .retrieve_to_fd(
            b"big",
            out.as_raw_fd(),
            None,
            Some(&mut |done, total| {
                last = (done, total);
                Flow::Continue(())
            }),
        )
        .unwrap();
    drop(out);
    let (down_calls, down_reads) = (ftpc::transfer::zero_copy_calls() - before, c.last_transfer_socket_calls());
    assert_eq!((n, last), (SIZE as u64, (SIZE as u64, Some(SIZE as u64))));
    assert!(down.content() == pattern_bytes(SIZE), "the file differs from what was sent");

    let up = TempFile::new("up", &pattern_bytes(SIZE));
    let input = File::open(&up.0).unwrap();
    let before = ftpc::transfer::zero_copy_calls();
    let mut last = (0, None);
    let n = c
        .store_from_fd(
            b"up",
            input.as_raw_fd(),
            None,
            false,
            Some(&mut |done, total| {
                last = (done, total);
                Flow::Continue(())
            }),
        )
        .unwrap();
    let (up_calls, up_writes) = (ftpc::transfer::zero_copy_calls() - before, c.last_transfer_socket_calls());
    assert_eq!((n, last), (SIZE as u64, (SIZE as u64, Some(SIZE as u64))));
    let t = finish(server);
    assert!(t.data_received[1] == pattern_bytes(SIZE), "the server received other bytes");

    eprintln!(
        "FTPC_PORTABLE_IO={}: download: {down_calls} zero-copy calls, {down_reads} socket reads; upload: \
         {up_calls} zero-copy calls, {up_writes} socket writes",
        std::env::var("FTPC_PORTABLE_IO").unwrap_or_default()
    );
    let splices = cfg!(target_os = "linux") && !portable();
    let sends_files = cfg!(any(target_os = "linux", target_os = "macos", target_os = "freebsd")) && !portable();
    // Other tests of this process may add zero-copy calls in between; only this test's
    // transfers can make the counts of its own transfers' socket calls.
    if splices {
        assert!(down_calls > 0 && down_reads == 0, "splice: {down_calls} calls, {down_reads} reads");
    } else {
        assert!(down_reads > 0, "copies: {down_reads} reads");
    }
    if sends_files {
        assert!(up_calls > 0 && up_writes == 0, "sendfile: {up_calls} calls, {up_writes} writes");
    } else {
        assert!(up_writes > 0, "copies: {up_writes} writes");
    }
    if portable() {
        assert_eq!(ftpc::transfer::zero_copy_calls(), 0, "no zero-copy call in a process with the switch on");
    }
}

/// A local file that refuses the bytes (a descriptor opened read-only, a full device) is a
/// local file error, on either path: the transfer aborted with ABOR, the file untouched, the
/// connection usable.
#[test]
fn a_download_into_a_file_that_refuses_is_a_local_error() {
    let data = pattern_bytes(200_000);
    let mut steps = epsv_transfer("RETR f", "150 Opening BINARY mode data connection for f (200000 bytes).\r\n");
    steps.push(Step::data_send(&data));
    steps.extend(aborted());
    steps.extend(epsv_transfer("RETR f", "150 Opening BINARY mode data connection for f (200000 bytes).\r\n"));
    steps.push(Step::data_send(&data));
    steps.extend(aborted());
    let (server, mut c) = logged_in(steps);

    let file = TempFile::new("read-only", b"old");
    let read_only = File::open(&file.0).unwrap();
    let e = c.retrieve_to_fd(b"f", read_only.as_raw_fd(), None, None).unwrap_err();
    assert!(is_local(&e, "writing the local file"), "{e:?}");
    assert_eq!(file.content(), b"old");
    assert_usable(&mut c);

    let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
    let e = c.retrieve_to_fd(b"f", full.as_raw_fd(), None, None).unwrap_err();
    assert!(is_local(&e, "writing the local file"), "{e:?}");
    assert_usable(&mut c);
    finish(server);
}

/// A descriptor the upload cannot read (opened write-only) is a local file error, on
/// either path.
#[test]
fn an_upload_from_a_file_that_cannot_be_read_is_a_local_error() {
    let mut steps = epsv_transfer("STOR up", "150 Ok to send data.\r\n");
    steps.extend(aborted());
    let (server, mut c) = logged_in(steps);
    let file = TempFile::new("write-only", &pattern_bytes(5000));
    let write_only = OpenOptions::new().write(true).open(&file.0).unwrap();
    let e = c.store_from_fd(b"up", write_only.as_raw_fd(), None, false, None).unwrap_err();
    assert!(is_local(&e, "reading the local file"), "{e:?}");
    assert_eq!(c.last_transfer_bytes(), 0);
    assert_usable(&mut c);
    finish(server);
}

/// Pipes, which splice and sendfile do not take as they take files, on either path: a
/// download into a pipe and an upload from one move every byte (the upload's total is
/// unknown: a pipe has no size), from a file's position on.
#[test]
fn pipes_and_positions() {
    const N: usize = 300_000;
    let data = pattern_bytes(N);
    let mut steps = epsv_transfer("RETR f", &format!("150 Opening BINARY mode data connection for f ({N} bytes).\r\n"));
    steps.extend([Step::data_send(&data), Step::DataClose, Step::send("226 Transfer complete.\r\n")]);
    steps.extend(epsv_transfer("STOR up", "150 Ok to send data.\r\n"));
    steps.extend([Step::DataRecvToEof, Step::send("226 Transfer complete.\r\n")]);
    steps.extend(epsv_transfer("STOR tail", "150 Ok to send data.\r\n"));
    steps.extend([Step::DataRecvToEof, Step::send("226 Transfer complete.\r\n")]);
    let (server, mut c) = logged_in(steps);

    let (mut read_end, write_end) = pipe();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        read_end.read_to_end(&mut got).unwrap();
        got
    });
    assert_eq!(c.retrieve_to_fd(b"f", write_end.as_raw_fd(), None, None).unwrap(), N as u64);
    drop(write_end);
    assert!(reader.join().unwrap() == data, "the pipe got other bytes");

    let (read_end, mut write_end) = pipe();
    let source = data.clone();
    let writer = std::thread::spawn(move || write_end.write_all(&source).unwrap());
    let mut last = (0, None);
    let sent = c
        .store_from_fd(
            b"up",
            read_end.as_raw_fd(),
            None,
            false,
            Some(&mut |done, total| {
                last = (done, total);
                Flow::Continue(())
            }),
        )
        .unwrap();
    writer.join().unwrap();
    assert_eq!((sent, last), (N as u64, (N as u64, None)));

    // From the descriptor's position: the first 1000 bytes stay home, and the position
    // ends at the end of the file, as after a read to the end.
    let file = TempFile::new("tail", &data);
    let mut input = File::open(&file.0).unwrap();
    let mut head = [0u8; 1000];
    input.read_exact(&mut head).unwrap();
    assert_eq!(c.store_from_fd(b"tail", input.as_raw_fd(), None, false, None).unwrap(), (N - 1000) as u64);
    assert_eq!(input.read(&mut head).unwrap(), 0, "the position is at the end of the file");

    let t = finish(server);
    assert!(t.data_received[1] == data, "the upload from the pipe differs");
    assert!(t.data_received[2] == data[1000..], "the upload from the position differs");
}
