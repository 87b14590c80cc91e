//! `Client::walk` against the real servers (IPv4 listeners: the walk has nothing that
//! depends on the address family): a tree with nested and empty directories, names with
//! spaces, UTF-8 and Latin-1 bytes and a symbolic link back up the tree, walked with MLSD
//! where the server has it and with LIST everywhere; the walk must give exactly the local
//! tree, enter the link never, and leave the client where it was.
//!
//! Needs the servers: `tests/servers/servers.sh start` (as root).

mod support;

use ftpc::listing::EntryKind;
use ftpc::walk::{ListingMethod, WalkControl, WalkOptions, WalkOrder};
use ftpc::{Client, Encoding};
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use support::real::{on_each_ipv4_server, Kind, Server, Session};

on_each_ipv4_server!(walk_whole_tree, walk_limits_and_control);

/// Names of the tree, relative to its root; directories end with '/'. `a/up` is a
/// symbolic link to `..` (the tree's root).
const TREE: &[&[u8]] = &[
    b"top.txt",
    b"a/",
    b"a/b/",
    b"a/b/deep.txt",
    b"a/empty/",
    b"name with spaces/",
    b"name with spaces/file with  two spaces.txt",
    "ünïcødé/".as_bytes(),
    "ünïcødé/café ☕.txt".as_bytes(),
    b"latin-\xe9t\xe9.txt",
    b"empty/",
];
const LINK: &[u8] = b"a/up";

/// Makes the tree under `root` on the local file system (the server's home), readable by
/// the server's user.
fn make_tree(root: &Path) {
    std::fs::create_dir(root).unwrap();
    for name in TREE {
        let path = root.join(OsStr::from_bytes(name.strip_suffix(b"/").unwrap_or(name)));
        if name.ends_with(b"/") {
            std::fs::create_dir(&path).unwrap();
        } else {
            std::fs::write(&path, name).unwrap();
        }
    }
    std::os::unix::fs::symlink("..", root.join(OsStr::from_bytes(LINK))).unwrap();
    let status = std::process::Command::new("chmod").arg("-R").arg("a+rX").arg(root).status().unwrap();
    assert!(status.success());
}

/// Every (path, kind, depth) a walk hands out, in order.
fn walk(c: &mut Client, root: &[u8], options: &WalkOptions) -> (Vec<(Vec<u8>, EntryKind, usize)>, ftpc::WalkSummary) {
    let mut seen = Vec::new();
    let summary = c
        .walk(root, options, &mut |path, entry, depth| {
            seen.push((path.to_vec(), entry.kind, depth));
            WalkControl::Continue
        })
        .unwrap_or_else(|e| panic!("walk of {:?} with {options:?}: {e}", String::from_utf8_lossy(root)));
    (seen, summary)
}

fn expected(prefix: &[u8]) -> BTreeSet<Vec<u8>> {
    TREE.iter().map(|n| [prefix, n.strip_suffix(b"/").unwrap_or(n)].concat()).collect()
}

fn methods(c: &mut Client) -> Vec<ListingMethod> {
    let mut methods = vec![ListingMethod::List];
    if c.has_feature("MLSD").unwrap() {
        methods.push(ListingMethod::Mlsd);
    }
    methods
}

fn walk_whole_tree(server: &Server) {
    let mut s = Session::open_with(server, "walk", |config| config.encoding = Encoding::Bytes);
    make_tree(&s.local_path("tree"));
    let has_mlsd = s.c.has_feature("MLSD").unwrap();
    // pure-ftpd, ProFTPD have MLSD; vsftpd and BSD ftpd do not.
    assert_eq!(has_mlsd, matches!(server.kind, Kind::PureFtpd | Kind::ProFtpd), "{}", server.name());
    for method in methods(&mut s.c) {
        for order in [WalkOrder::DepthFirst, WalkOrder::BreadthFirst] {
            let absolute = [s.pwd.as_slice(), b"/tree"].concat();
            for root in [&b"tree"[..], &absolute] {
                let prefix = [root, b"/"].concat();
                let options = WalkOptions { order, listing: method, ..Default::default() };
                let what = format!("{} {method:?} {order:?} from {:?}", server.name(), String::from_utf8_lossy(root));
                let (seen, summary) = walk(&mut s.c, root, &options);
                let link = [prefix.as_slice(), LINK].concat();
                let paths: BTreeSet<Vec<u8>> = seen.iter().map(|(p, ..)| p.clone()).filter(|p| *p != link).collect();
                assert_eq!(paths, expected(&prefix), "{what}");
                // ProFTPD's LIST leaves out a link that leads to a directory above it.
                let link_shown = !(server.kind == Kind::ProFtpd && method == ListingMethod::List);
                let want = TREE.len() + usize::from(link_shown);
                assert_eq!(seen.len(), want, "{what}: each path once, the link when shown: {seen:?}");
                for (path, kind, depth) in &seen {
                    let relative = &path[prefix.len()..];
                    assert_eq!(*depth, 1 + relative.iter().filter(|&&b| b == b'/').count(), "{what}: {path:?}");
                    let is_dir = TREE.contains(&[relative, b"/"].concat().as_slice());
                    if *path == link {
                        // Every server shows it as a link (LIST `l`, MLSD `OS.unix=slink`):
                        // not entered.
                        assert_eq!(*kind, EntryKind::Link, "{what}");
                    } else {
                        let want = if is_dir { EntryKind::Dir } else { EntryKind::File };
                        assert_eq!(*kind, want, "{what}: {:?}", String::from_utf8_lossy(path));
                    }
                }
                // Depth-first: each entry's parent comes before it and its subtree is whole
                // before the next sibling; breadth-first: depths never go down.
                match order {
                    WalkOrder::BreadthFirst => {
                        assert!(seen.windows(2).all(|w| w[0].2 <= w[1].2), "{what}: {seen:?}")
                    }
                    WalkOrder::DepthFirst => {
                        let pos = |p: &[u8]| seen.iter().position(|(q, ..)| q == p).unwrap();
                        let parent = [prefix.as_slice(), b"a/b"].concat();
                        assert_eq!(pos(&[parent.as_slice(), b"/deep.txt"].concat()), pos(&parent) + 1, "{what}");
                    }
                }
                assert!(summary.refused.is_empty() && summary.unlistable.is_empty(), "{what}: {summary:?}");
                assert!(!summary.stopped);
                assert_eq!(summary.directories, 7, "{what}: the root and its six directories");
            }
        }
    }
    // The walk left the client where it was (LIST walks CWD into each directory).
    assert_eq!(s.c.pwd().unwrap(), s.pwd);
    std::fs::remove_dir_all(s.local_path("tree")).unwrap();
    s.finish();
}

fn walk_limits_and_control(server: &Server) {
    let mut s = Session::open_with(server, "walkctl", |config| config.encoding = Encoding::Bytes);
    make_tree(&s.local_path("tree"));
    for method in methods(&mut s.c) {
        let what = format!("{} {method:?}", server.name());
        // Depth 1: the root's entries only, one listing.
        let options = WalkOptions { max_depth: Some(1), listing: method, ..Default::default() };
        let (seen, summary) = walk(&mut s.c, b"tree", &options);
        let top: BTreeSet<Vec<u8>> = seen.iter().map(|(p, ..)| p.clone()).collect();
        let want: BTreeSet<Vec<u8>> =
            expected(b"tree/").into_iter().filter(|p| p.len() > 5 && !p[5..].contains(&b'/')).collect();
        assert_eq!(top, want, "{what}");
        assert_eq!(summary.directories, 1, "{what}");
        // Skip "a": nothing below it; stop at the first file below "name with spaces".
        let options = WalkOptions { listing: method, ..Default::default() };
        let mut seen = Vec::new();
        let summary =
            s.c.walk(b"tree", &options, &mut |path, _, _| {
                seen.push(path.to_vec());
                match path {
                    b"tree/a" => WalkControl::Skip,
                    p if p.starts_with(b"tree/name with spaces/") => WalkControl::Stop,
                    _ => WalkControl::Continue,
                }
            })
            .unwrap();
        assert!(summary.stopped, "{what}");
        assert!(seen.iter().all(|p| !p.starts_with(b"tree/a/")), "{what}: {seen:?}");
        assert!(seen.last().unwrap().starts_with(b"tree/name with spaces/"), "{what}: {seen:?}");
        // Links followed: with MLSD, `a/up` is listed, and its `cdir` is the root's: a loop,
        // not entered twice. LIST gives no identity to tell a loop by: never followed.
        let options = WalkOptions { listing: method, follow_links: true, ..Default::default() };
        let (seen, summary) = walk(&mut s.c, b"tree", &options);
        let paths: BTreeSet<Vec<u8>> = seen.iter().map(|(p, ..)| p.clone()).filter(|p| p != b"tree/a/up").collect();
        assert_eq!(paths, expected(b"tree/"), "{what}");
        match method {
            ListingMethod::Mlsd => assert_eq!(summary.loops, [b"tree/a/up".to_vec()], "{what}"),
            _ => assert!(summary.loops.is_empty(), "{what}"),
        }
        // The connection is in step and back where it was.
        assert_eq!(s.c.pwd().unwrap(), s.pwd, "{what}");
        // A root that is not there is the walk's error.
        assert!(s.c.walk(b"no-such-dir", &options, &mut |_, _, _| WalkControl::Continue).is_err(), "{what}");
        assert_eq!(s.c.pwd().unwrap(), s.pwd, "{what}");
    }
    std::fs::remove_dir_all(s.local_path("tree")).unwrap();
    s.finish();
}
