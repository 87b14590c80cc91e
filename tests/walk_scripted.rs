//! `Client::walk` against the scripted server: what real servers do not show. Hostile
//! names in MLSD and LIST listings (parent paths, slashes, NUL) are refused and reported,
//! never joined into a path; a directory shown twice under the same MLSD `unique` (a link
//! that a server shows as the directory it leads to) is not entered again; and the exact
//! commands of a LIST walk (CWD into each directory, back at the end).

mod support;

use ftpc::listing::EntryKind;
use ftpc::walk::{ListingMethod, WalkControl, WalkOptions, WalkOrder};
use ftpc::Client;
use support::scripted::{login_prelude, ScriptedServer, Step};
use support::scripted_client::finish;

fn logged_in(extra: Vec<Step>) -> (ScriptedServer, Client) {
    let mut steps = login_prelude();
    steps.extend(extra);
    let server = ScriptedServer::start(steps);
    let mut c = Client::new();
    c.config_mut().encoding = ftpc::Encoding::Bytes;
    c.connect("127.0.0.1", server.port(), None, None).unwrap();
    c.login("u", "p", "").unwrap();
    (server, c)
}

/// A text listing served for `cmd` (exactly) over EPSV.
fn listing(cmd: &str, body: &[u8]) -> Vec<Step> {
    vec![
        Step::reply("TYPE A", "200 ASCII\r\n"),
        Step::EpsvReply,
        Step::expect_exact(cmd),
        Step::send("150 Here it comes\r\n"),
        Step::DataAccept,
        Step::data_send(body),
        Step::DataClose,
        Step::send("226 Done\r\n"),
    ]
}

const FEAT_MLST: &str = "211-Features:\r\n MLST type*;size*;modify*;unique*;\r\n211 End\r\n";

/// Every (path, kind, depth) handed out, in order.
fn walk_all(
    c: &mut Client,
    root: &[u8],
    options: &WalkOptions,
) -> (Vec<(Vec<u8>, EntryKind, usize)>, ftpc::WalkSummary) {
    let mut seen = Vec::new();
    let summary = c
        .walk(root, options, &mut |path, entry, depth| {
            seen.push((path.to_vec(), entry.kind, depth));
            WalkControl::Continue
        })
        .unwrap();
    (seen, summary)
}

fn paths(seen: &[(Vec<u8>, EntryKind, usize)]) -> Vec<&[u8]> {
    seen.iter().map(|(p, ..)| p.as_slice()).collect()
}

/// MLSD: names with `../`, `/` and NUL are refused, whatever type the server claims;
/// `back` (type=dir, the root's `unique`) and `again` (a second path to `sub`) are loops.
#[test]
fn mlsd_hostile_names_and_loops() {
    let root = [
        &b"type=cdir;unique=R; .\r\n"[..],
        b"type=pdir;unique=P; ..\r\n",
        b"type=file;size=3;unique=F1; ok.txt\r\n",
        b"type=file;size=3; ../../etc/passwd\r\n",
        b"type=dir;unique=X; ../escape\r\n",
        b"type=dir;unique=Y; a/b\r\n",
        b"type=file;size=1; /etc/shadow\r\n",
        b"type=file;size=1; nul\0inside\r\n",
        b"type=dir;unique=D; d\r\n",
    ]
    .concat();
    let d = [
        &b"type=cdir;unique=D; /top/d\r\n"[..],
        b"type=dir;unique=R; back\r\n",
        b"type=dir;unique=S; sub\r\n",
        b"type=dir;unique=S2; again\r\n",
    ]
    .concat();
    let sub = b"type=cdir;unique=S; /top/d/sub\r\ntype=file;size=0;unique=E; e\r\n";
    // `again` has an identity of its own in `d`, but its cdir is `sub`'s: seen already.
    let again = b"type=cdir;unique=S; /top/d/again\r\ntype=file;size=0;unique=E; e\r\n";
    let mut steps = vec![Step::reply("FEAT", FEAT_MLST)];
    steps.extend(listing("MLSD top", &root));
    steps.extend(listing("MLSD top/d", &d));
    steps.extend(listing("MLSD top/d/sub", sub));
    steps.extend(listing("MLSD top/d/again", again));
    steps.push(Step::reply("NOOP", "200 ok\r\n"));
    let (server, mut c) = logged_in(steps);
    let (seen, summary) = walk_all(&mut c, b"top", &WalkOptions::default());
    assert_eq!(
        paths(&seen),
        [&b"top/ok.txt"[..], b"top/d", b"top/d/back", b"top/d/sub", b"top/d/sub/e", b"top/d/again"]
    );
    let depths: Vec<usize> = seen.iter().map(|s| s.2).collect();
    assert_eq!(depths, [1, 1, 2, 2, 3, 2]);
    let refused: Vec<(&[u8], &str)> = summary.refused.iter().map(|r| (r.name.as_slice(), r.reason)).collect();
    assert_eq!(
        refused,
        [
            (&b"../../etc/passwd"[..], "name holds '/'"),
            (b"../escape", "name holds '/'"),
            (b"a/b", "name holds '/'"),
            (b"/etc/shadow", "name holds '/'"),
            (b"nul\0inside", "name holds a NUL byte"),
        ]
    );
    assert!(summary.refused.iter().all(|r| r.dir == b"top"));
    assert_eq!(summary.loops, [b"top/d/back".to_vec(), b"top/d/again".to_vec()]);
    assert_eq!(summary.directories, 4, "top, d, sub and again listed; back never");
    assert_eq!(summary.entries, 6);
    assert!(!summary.stopped && summary.unlistable.is_empty());
    assert_eq!(c.voidcmd(b"NOOP").unwrap().code, 200);
    finish(server);
}

/// LIST: the walk goes into each directory with CWD (spaces and a leading '-' are safe
/// there, unlike in a LIST argument), lists without an argument, refuses hostile names and
/// lines no parser understands, does not enter links, and goes back at the end.
#[test]
fn list_walk_commands_and_hostile_names() {
    let root = [
        &b"total 12\r\n"[..],
        b"drwxr-xr-x    2 ftp      ftp          4096 Jan 02  2020 .\r\n",
        b"drwxr-xr-x    2 ftp      ftp          4096 Jan 02  2020 ..\r\n",
        b"drwxr-xr-x    2 ftp      ftp          4096 Jan 02  2020 -rf dir\r\n",
        b"-rw-r--r--    1 ftp      ftp             5 Jan 02  2020 ../../../etc/passwd\r\n",
        b"-rw-r--r--    1 ftp      ftp             5 Jan 02  2020 nul\0x\r\n",
        b"lrwxrwxrwx    1 ftp      ftp             2 Jan 02  2020 loop -> .\r\n",
        b"this is not a listing line\r\n",
        b"-rw-r--r--    1 ftp      ftp             5 Jan 02  2020 caf\xe9\r\n",
    ]
    .concat();
    let sub = b"-rw-r--r--    1 ftp      ftp             5 Jan 02  2020 inner file\r\n";
    let mut steps = vec![
        Step::reply("FEAT", "500 FEAT not understood\r\n"),
        Step::reply("PWD", "257 \"/home/u\" is the current directory\r\n"),
        Step::reply("CWD /home/u/top", "250 ok\r\n"),
    ];
    steps.extend(listing("LIST", &root));
    steps.push(Step::reply("CWD /home/u/top/-rf dir", "250 ok\r\n"));
    steps.extend(listing("LIST", sub));
    steps.push(Step::reply("CWD /home/u", "250 ok\r\n"));
    let (server, mut c) = logged_in(steps);
    let options = WalkOptions { order: WalkOrder::BreadthFirst, ..Default::default() };
    let (seen, summary) = walk_all(&mut c, b"top", &options);
    assert_eq!(paths(&seen), [&b"top/-rf dir"[..], b"top/loop", b"top/caf\xe9", b"top/-rf dir/inner file"]);
    let kinds: Vec<EntryKind> = seen.iter().map(|s| s.1).collect();
    assert_eq!(kinds, [EntryKind::Dir, EntryKind::Link, EntryKind::File, EntryKind::File]);
    let refused: Vec<(&[u8], &str)> = summary.refused.iter().map(|r| (r.name.as_slice(), r.reason)).collect();
    assert_eq!(
        refused,
        [
            (&b"../../../etc/passwd"[..], "name holds '/'"),
            (b"nul\0x", "name holds a NUL byte"),
            (b"this is not a listing line", "a listing line no parser understands"),
        ]
    );
    let t = finish(server);
    let cwds: Vec<String> = t.commands_str().into_iter().filter(|c| c.starts_with("CWD")).collect();
    assert_eq!(cwds, ["CWD /home/u/top", "CWD /home/u/top/-rf dir", "CWD /home/u"]);
}

/// A refused subdirectory listing is noted and skipped; Skip and Stop from the callback;
/// the depth limit lists nothing below it.
#[test]
fn unlistable_skip_stop_and_depth() {
    let root = b"type=dir; locked\r\ntype=dir; skipped\r\ntype=dir; open\r\n";
    let mut steps = vec![Step::reply("FEAT", FEAT_MLST)];
    steps.extend(listing("MLSD r", root));
    steps.extend(vec![
        Step::reply("TYPE A", "200 ASCII\r\n"),
        Step::EpsvReply,
        Step::reply("MLSD r/locked", "550 Permission denied\r\n"),
    ]);
    steps.extend(listing("MLSD r/open", b"type=file; one\r\ntype=file; two\r\n"));
    // Depth 1: one listing only.
    steps.extend(listing("MLSD r", root));
    steps.push(Step::reply("NOOP", "200 ok\r\n"));
    let (server, mut c) = logged_in(steps);
    let mut seen = Vec::new();
    let summary = c
        .walk(b"r", &WalkOptions::default(), &mut |path, _, _| {
            seen.push(path.to_vec());
            match path {
                b"r/skipped" => WalkControl::Skip,
                b"r/open/one" => WalkControl::Stop,
                _ => WalkControl::Continue,
            }
        })
        .unwrap();
    assert_eq!(seen, [&b"r/locked"[..], b"r/skipped", b"r/open", b"r/open/one"]);
    assert!(summary.stopped);
    assert_eq!(summary.unlistable.len(), 1);
    assert_eq!(summary.unlistable[0].0, b"r/locked");
    assert!(summary.unlistable[0].1.contains("550"), "{:?}", summary.unlistable);
    let options = WalkOptions { max_depth: Some(1), listing: ListingMethod::Mlsd, ..Default::default() };
    let (seen, summary) = walk_all(&mut c, b"r", &options);
    assert_eq!(paths(&seen), [&b"r/locked"[..], b"r/skipped", b"r/open"]);
    assert_eq!(summary.directories, 1);
    assert_eq!(c.voidcmd(b"NOOP").unwrap().code, 200);
    finish(server);
}
