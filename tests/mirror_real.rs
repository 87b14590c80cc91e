//! `Client::mirror_download` through the Rust API: on every real server a tree with nested
//! and empty directories, spaces, UTF-8 and Latin-1 names and a link back up arrives equal
//! byte for byte (the link skipped), the summary and events say so, a second run finds all
//! up to date, `delete` removes what vanished; and a hostile listing from the scripted
//! server (`../`, `/`, NUL) is refused and reported, nothing written outside the target.
//!
//! The real-server tests need `tests/servers/servers.sh start` (as root).

mod support;

use ftpc::{Client, MirrorEvent, MirrorOptions, MirrorSummary};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::file_tree::tree;
use support::real::{random_bytes, scratch_dir, servers_up, unique_name, Family, Kind, Server};
use support::scripted::{hostile_mirror_steps, ScriptedServer};

fn make_tree(root: &Path) {
    for dir in [&b"a/b"[..], b"a/empty", b"name with spaces", "ünï".as_bytes(), b"empty"] {
        std::fs::create_dir_all(root.join(OsStr::from_bytes(dir))).unwrap();
    }
    let files =
        [&b"top.txt"[..], b"a/b/deep.bin", b"name with spaces/f  2.txt", "ünï/café.txt".as_bytes(), b"lat\xe9.txt"];
    for (i, file) in files.into_iter().enumerate() {
        std::fs::write(root.join(OsStr::from_bytes(file)), random_bytes(i as u64, 1000 + i * 5000)).unwrap();
    }
    std::os::unix::fs::symlink("..", root.join("a/up")).unwrap();
    let status = std::process::Command::new("chmod").arg("-R").arg("a+rX").arg(root).status().unwrap();
    assert!(status.success());
}

/// A fresh local directory, removed when dropped.
struct Local(PathBuf);

impl Drop for Local {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Mirrors and collects the events as text.
fn mirror(c: &mut Client, root: &[u8], local: &Path, options: &MirrorOptions) -> (MirrorSummary, Vec<String>) {
    let mut seen = Vec::new();
    let summary = c
        .mirror_download(root, local, options, &mut |event| {
            seen.push(match event {
                MirrorEvent::Get { relative, resume_from } => {
                    format!("get {} {resume_from:?}", String::from_utf8_lossy(relative))
                }
                MirrorEvent::Skipped { relative } => format!("skip {}", String::from_utf8_lossy(relative)),
                MirrorEvent::Delete { path } => format!("delete {}", path.display()),
                MirrorEvent::Refused { name, .. } => format!("refuse {:?}", String::from_utf8_lossy(name)),
                other => format!("{other:?}"),
            })
        })
        .unwrap();
    (summary, seen)
}

#[test]
fn mirror_on_each_server() {
    if !servers_up("mirror_on_each_server") {
        return;
    }
    for kind in [Kind::Vsftpd, Kind::PureFtpd, Kind::ProFtpd, Kind::BsdFtpd] {
        let server = Server::get(kind, Family::V4).unwrap();
        let what = server.name();
        let dir = unique_name(&format!("mir-{}", server.tag()));
        let remote = server.home.join(&dir);
        make_tree(&remote);
        let local = Local(scratch_dir().join(format!("ftpc-{dir}")));
        let (mut c, _trace) = server.login(|cfg| cfg.encoding = ftpc::Encoding::Bytes);
        let options = MirrorOptions::default();

        let (summary, events) = mirror(&mut c, dir.as_bytes(), &local.0, &options);
        assert_eq!(tree(&local.0), tree(&remote), "{what}: the copy equals the tree\n{events:?}");
        let want = MirrorSummary {
            downloaded: 5,
            bytes: (0..5).map(|i| 1000 + i * 5000).sum(),
            dirs_made: 6,
            skipped_links: 1,
            ..MirrorSummary::default()
        };
        assert_eq!(summary, want, "{what}\n{events:?}");
        assert!(events.contains(&"skip a/up".to_string()), "{what}: {events:?}");
        assert!(events.contains(&"get a/b/deep.bin None".to_string()), "{what}: {events:?}");

        // Again: all up to date.
        let (summary, events) = mirror(&mut c, dir.as_bytes(), &local.0, &options);
        assert_eq!((summary.downloaded, summary.up_to_date), (0, 5), "{what}: {events:?}");

        // A vanished file goes with `delete`, a cut one continues with `resume`.
        std::fs::remove_file(remote.join("top.txt")).unwrap();
        let deep = local.0.join("a/b/deep.bin");
        let whole = std::fs::read(&deep).unwrap();
        std::fs::write(&deep, &whole[..1000]).unwrap();
        let options = MirrorOptions { delete: true, resume: true, ..MirrorOptions::default() };
        let (summary, events) = mirror(&mut c, dir.as_bytes(), &local.0, &options);
        assert_eq!((summary.downloaded, summary.deleted), (1, 1), "{what}: {events:?}");
        assert!(events.contains(&"get a/b/deep.bin Some(1000)".to_string()), "{what}: {events:?}");
        assert_eq!(tree(&local.0), tree(&remote), "{what}\n{events:?}");
        c.quit().unwrap();
        std::fs::remove_dir_all(&remote).unwrap();
    }
}

#[test]
fn hostile_names_are_refused() {
    let listing = [
        &b"type=cdir; .\r\n"[..],
        b"type=file;size=5; ../escaped.txt\r\n",
        b"type=file;size=5; /tmp/absolute.txt\r\n",
        b"type=file;size=5; nul\0byte\r\n",
        b"type=file;size=5; good.txt\r\n",
    ]
    .concat();
    let steps = hostile_mirror_steps(&listing);
    let server = ScriptedServer::start(steps);
    let mut c = Client::new();
    c.config_mut().timeout = Duration::from_secs(5);
    c.connect("127.0.0.1", server.port(), None, None).unwrap();
    c.login("u", "p", "").unwrap();
    let base = Local(scratch_dir().join(format!("ftpc-{}", unique_name("hostile"))));
    let into = base.0.join("into");
    let (summary, events) = mirror(&mut c, b"", &into, &MirrorOptions::default());
    server.finish().assert_ok();
    assert_eq!((summary.downloaded, summary.refused), (1, 3), "{events:?}");
    for name in ["../escaped.txt", "/tmp/absolute.txt", "nul\0byte"] {
        assert!(events.contains(&format!("refuse {name:?}")), "{name}: {events:?}");
    }
    assert_eq!(std::fs::read(into.join("good.txt")).unwrap(), b"good\n");
    let names: Vec<_> = std::fs::read_dir(&base.0).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["into"], "nothing beside the target");
    assert!(!Path::new("/tmp/absolute.txt").exists());
}

/// Mirrors a local tree up, collecting the events as text.
fn upload(c: &mut Client, local: &Path, root: &[u8], options: &MirrorOptions) -> (MirrorSummary, Vec<String>) {
    let mut seen = Vec::new();
    let summary = c
        .mirror_upload(local, root, options, &mut |event| {
            seen.push(match event {
                MirrorEvent::Put { relative, resume_from } => {
                    format!("put {} {resume_from:?}", String::from_utf8_lossy(relative))
                }
                MirrorEvent::Skipped { relative } => format!("skip {}", String::from_utf8_lossy(relative)),
                MirrorEvent::DeleteRemote { relative, .. } => format!("delete {}", String::from_utf8_lossy(relative)),
                MirrorEvent::MakeRemoteDir { relative } => format!("mkdir {}", String::from_utf8_lossy(relative)),
                other => format!("{other:?}"),
            })
        })
        .unwrap();
    (summary, seen)
}

/// The reverse (lftp's `mirror -R`): a local tree to a directory that does not exist yet,
/// then nothing to do, then a vanished local file deleted remotely and a cut remote file
/// continued.
#[test]
fn mirror_upload_on_each_server() {
    if !servers_up("mirror_upload_on_each_server") {
        return;
    }
    for kind in [Kind::Vsftpd, Kind::PureFtpd, Kind::ProFtpd, Kind::BsdFtpd] {
        let server = Server::get(kind, Family::V4).unwrap();
        let what = server.name();
        let dir = unique_name(&format!("up-{}", server.tag()));
        let remote = server.home.join(&dir);
        let local = Local(scratch_dir().join(format!("ftpc-{dir}")));
        make_tree(&local.0);
        let (mut c, _trace) = server.login(|cfg| cfg.encoding = ftpc::Encoding::Bytes);
        let options = MirrorOptions::default();

        let (summary, events) = upload(&mut c, &local.0, dir.as_bytes(), &options);
        assert_eq!(tree(&remote), tree(&local.0), "{what}: the server's tree equals the local one\n{events:?}");
        let want = MirrorSummary {
            downloaded: 5,
            bytes: (0..5).map(|i| 1000 + i * 5000).sum(),
            dirs_made: 7,
            skipped_links: 1,
            ..MirrorSummary::default()
        };
        assert_eq!(summary, want, "{what}: the root and 6 directories made\n{events:?}");
        assert!(events.contains(&"skip a/up".to_string()), "{what}: {events:?}");
        assert!(!remote.join("a/up").exists(), "{what}: the link is not uploaded");

        let (summary, events) = upload(&mut c, &local.0, dir.as_bytes(), &options);
        assert_eq!((summary.downloaded, summary.up_to_date, summary.dirs_made), (0, 5, 0), "{what}: {events:?}");

        std::fs::remove_file(local.0.join("top.txt")).unwrap();
        let deep = remote.join("a/b/deep.bin");
        let whole = std::fs::read(&deep).unwrap();
        std::fs::write(&deep, &whole[..1000]).unwrap();
        let options = MirrorOptions { delete: true, resume: true, ..MirrorOptions::default() };
        let (summary, events) = upload(&mut c, &local.0, dir.as_bytes(), &options);
        assert_eq!((summary.downloaded, summary.deleted), (1, 1), "{what}: {events:?}");
        assert!(events.contains(&"put a/b/deep.bin Some(1000)".to_string()), "{what}: {events:?}");
        assert!(events.contains(&"delete top.txt".to_string()), "{what}: {events:?}");
        assert_eq!(tree(&remote), tree(&local.0), "{what}\n{events:?}");
        c.quit().unwrap();
        std::fs::remove_dir_all(&remote).unwrap();
    }
}

/// `parallel`: the same tree over 3 connections on every server; on vsftpd-capped (each
/// session held to a rate) 4 files of 1 MiB over 4 connections take less than half the
/// time of one connection.
#[test]
fn mirror_in_parallel() {
    if !servers_up("mirror_in_parallel") {
        return;
    }
    let parallel = MirrorOptions { parallel: 3, ..MirrorOptions::default() };
    for kind in [Kind::Vsftpd, Kind::PureFtpd, Kind::ProFtpd, Kind::BsdFtpd] {
        let server = Server::get(kind, Family::V4).unwrap();
        let what = server.name();
        let dir = unique_name(&format!("par-{}", server.tag()));
        let remote = server.home.join(&dir);
        make_tree(&remote);
        let local = Local(scratch_dir().join(format!("ftpc-{dir}")));
        let (mut c, _trace) = server.login(|cfg| cfg.encoding = ftpc::Encoding::Bytes);
        let before = c.pwd().unwrap();
        let (summary, events) = mirror(&mut c, dir.as_bytes(), &local.0, &parallel);
        assert_eq!(tree(&local.0), tree(&remote), "{what}\n{events:?}");
        assert_eq!((summary.downloaded, summary.failed), (5, 0), "{what}: {events:?}");
        // In step afterwards, where it was.
        assert_eq!(c.pwd().unwrap(), before, "{what}");
        c.quit().unwrap();
        std::fs::remove_dir_all(&remote).unwrap();
    }

    let server = Server::ipv4_instance(Kind::Vsftpd, "FTPC_VSFTPD_CAPPED_PORT", "FTPC_VSFTPD_CAPPED_HOME");
    let dir = unique_name("par-cap");
    let remote = server.home.join(&dir);
    std::fs::create_dir(&remote).unwrap();
    for i in 0..4u64 {
        std::fs::write(remote.join(format!("f{i}.bin")), random_bytes(100 + i, 1 << 20)).unwrap();
    }
    let (mut c, _trace) = server.login(|_| {});
    let mut timed = |parallel: usize| {
        let local = Local(scratch_dir().join(format!("ftpc-{dir}-{parallel}")));
        let started = std::time::Instant::now();
        let options = MirrorOptions { parallel, ..MirrorOptions::default() };
        let (summary, _) = mirror(&mut c, dir.as_bytes(), &local.0, &options);
        let elapsed = started.elapsed();
        assert_eq!(summary.downloaded, 4);
        assert_eq!(tree(&local.0), tree(&remote));
        elapsed
    };
    let one = timed(1);
    let four = timed(4);
    eprintln!("vsftpd-capped, 4 files of 1 MiB: 1 connection {one:?}, 4 connections {four:?}");
    assert!(four * 2 < one, "1 connection {one:?}, 4 connections {four:?}");
    c.quit().unwrap();
    std::fs::remove_dir_all(&remote).unwrap();
}
