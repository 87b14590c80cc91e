//! The `ftpc` binary end to end: every subcommand against each real server of
//! `tests/servers/servers.sh` (vsftpd, pure-ftpd, ProFTPD, BSD ftpd), exit statuses of each
//! error class, `--json` parsed back, no progress output in a pipe and a progress bar on a
//! terminal (under script(1)), the password masked in `--debug`, credentials from a netrc
//! file, mirror (a tree equal byte for byte, then only what changed, --delete, --dry-run),
//! and a hostile listing from the scripted server refused by mirror.
//!
//! The real-server tests need `tests/servers/servers.sh start` (as root) and are skipped
//! without it unless `FTPC_REQUIRE_SERVERS=1`.

#[path = "../../tests/support/file_tree.rs"]
mod file_tree;
#[allow(dead_code)]
#[path = "../../tests/support/scripted.rs"]
mod scripted;

use file_tree::tree;
use serde_json::Value;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_ftpc");

// --- the servers ---------------------------------------------------------------------------

fn env_path() -> PathBuf {
    match std::env::var_os("FTPC_SERVERS_ENV") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ftp-servers/env"),
    }
}

/// The env file's variables, or `None` (the test skipped, said on stderr) without servers.
fn servers(test: &str) -> Option<HashMap<String, String>> {
    let path = env_path();
    let Ok(text) = std::fs::read_to_string(&path) else {
        if std::env::var_os("FTPC_REQUIRE_SERVERS").is_some_and(|v| v == "1") {
            panic!("{} is missing and FTPC_REQUIRE_SERVERS=1: start the servers", path.display());
        }
        eprintln!("skipped: {test} (no test servers; start them: tests/servers/servers.sh start)");
        return None;
    };
    let vars = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect();
    Some(vars)
}

struct Server {
    name: &'static str,
    url: String,
    home: PathBuf,
}

fn plain_servers(env: &HashMap<String, String>) -> Vec<Server> {
    let user = format!("{}:{}", env["FTPC_TEST_USER"], env["FTPC_TEST_PASS"]);
    [
        ("vsftpd", "FTPC_VSFTPD_PORT", "FTPC_VSFTPD_HOME"),
        ("pure-ftpd", "FTPC_PUREFTPD_PORT", "FTPC_PUREFTPD_HOME"),
        ("proftpd", "FTPC_PROFTPD_PORT", "FTPC_PROFTPD_HOME"),
        ("bsd-ftpd", "FTPC_BSDFTPD_PORT", "FTPC_BSDFTPD_HOME"),
    ]
    .into_iter()
    .map(|(name, port, home)| Server {
        name,
        url: format!("ftp://{user}@127.0.0.1:{}", env[port]),
        home: PathBuf::from(&env[home]),
    })
    .collect()
}

// --- running the binary --------------------------------------------------------------------

/// A scratch directory, also the HOME of the commands (no ~/.netrc unless a test writes
/// one), removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ftpc-cli-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `ftpc ARGS` in `scratch` with stdin, stdout and stderr not terminals.
fn ftpc<S: AsRef<OsStr>>(scratch: &Scratch, args: &[S]) -> Output {
    Command::new(BIN).args(args).current_dir(&scratch.0).env("HOME", &scratch.0).stdin(Stdio::null()).output().unwrap()
}

fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs and checks the exit status; a success must write nothing on stderr.
fn expect<S: AsRef<OsStr>>(scratch: &Scratch, args: &[S], code: i32) -> Output {
    let out = ftpc(scratch, args);
    let argv: Vec<String> = args.iter().map(|a| a.as_ref().to_string_lossy().into_owned()).collect();
    assert_eq!(out.status.code(), Some(code), "ftpc {argv:?}\n{}", show(&out));
    if code == 0 {
        assert!(out.stderr.is_empty(), "ftpc {argv:?}: no progress nor noise in a pipe\n{}", show(&out));
    } else {
        // Ours, or clap's for arguments it refuses itself.
        let says_why = out.stderr.starts_with(b"ftpc: ") || code == 2 && out.stderr.starts_with(b"error: ");
        assert!(says_why, "ftpc {argv:?} says why\n{}", show(&out));
    }
    out
}

fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("cli-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

fn data(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

// --- every subcommand ----------------------------------------------------------------------

#[test]
fn every_subcommand_on_each_server() {
    let Some(env) = servers("every_subcommand_on_each_server") else { return };
    for server in plain_servers(&env) {
        subcommands(&server);
    }
}

fn subcommands(server: &Server) {
    let s = Scratch::new("sub");
    let dir = unique(&server.name[..3]);
    let url = |rest: &str| format!("{}/{dir}{rest}", server.url);
    let remote = server.home.join(&dir);
    let what = server.name;
    let body = data(700_000, 7);
    std::fs::write(s.path("up load.bin"), &body).unwrap();

    expect(&s, &["mkdir", &url("")], 0);
    assert!(remote.is_dir(), "{what}");
    // put into the directory (URL ending with '/'), quietly: stderr is no terminal.
    expect(&s, &["put", "up load.bin", &url("/")], 0);
    assert_eq!(std::fs::read(remote.join("up load.bin")).unwrap(), body, "{what}");

    let out = expect(&s, &["ls", &url("")], 0);
    assert_eq!(out.stdout, b"up load.bin\n", "{what}");
    let out = expect(&s, &["ls", "-l", &url("")], 0);
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.starts_with("-rw") && line.contains(" 700000 ") && line.ends_with(" up load.bin\n"), "{what}: {line}");
    let out = expect(&s, &["ls", "--json", &url("")], 0);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries = json.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{what}: {json}");
    assert_eq!(entries[0]["name"], "up load.bin");
    assert_eq!(entries[0]["type"], "file");
    assert_eq!(entries[0]["size"], 700_000);
    assert!(entries[0]["modified"].as_i64().is_some(), "{what}: {json}");
    let mlsd = matches!(what, "pure-ftpd" | "proftpd");
    assert_eq!(entries[0]["format"], if mlsd { "mlsd" } else { "unix" }, "{what}");
    assert_eq!(!entries[0]["facts"].as_object().unwrap().is_empty(), mlsd, "{what}");

    // cat and get give the bytes back.
    let out = expect(&s, &["cat", &url("/up load.bin")], 0);
    assert!(out.stdout == body, "{what}: cat");
    expect(&s, &["get", &url("/up load.bin"), "down.bin"], 0);
    assert!(std::fs::read(s.path("down.bin")).unwrap() == body, "{what}: get");
    // get -c completes a cut download with REST, sending only the rest.
    std::fs::write(s.path("down.bin"), &body[..123_457]).unwrap();
    let out = ftpc(&s, &["-d", "get", "-c", &url("/up load.bin"), "down.bin"]);
    assert_eq!(out.status.code(), Some(0), "{what}\n{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("*cmd* \"REST 123457\""), "{what}\n{}", show(&out));
    assert!(std::fs::read(s.path("down.bin")).unwrap() == body, "{what}: get -c");
    // get into a directory keeps the remote name.
    std::fs::create_dir(s.path("into")).unwrap();
    expect(&s, &["get", &url("/up load.bin"), "into"], 0);
    assert!(std::fs::read(s.path("into/up load.bin")).unwrap() == body, "{what}");
    // put -c completes a cut upload.
    std::fs::write(remote.join("up load.bin"), &body[..99_999]).unwrap();
    expect(&s, &["put", "-c", "up load.bin", &url("/up load.bin")], 0);
    assert!(std::fs::read(remote.join("up load.bin")).unwrap() == body, "{what}: put -c");

    // mv within the directory (TO is a path as in a URL, relative to the login directory).
    expect(&s, &["mv", &url("/up load.bin"), &format!("{dir}/moved%20here.bin")], 0);
    assert!(remote.join("moved here.bin").is_file() && !remote.join("up load.bin").exists(), "{what}");

    // quote: the reply on stdout, the exit status by its class.
    let out = expect(&s, &["quote", &url(""), "NOOP"], 0);
    assert!(out.stdout.starts_with(b"200"), "{what}: {}", show(&out));
    let out = expect(&s, &["quote", &url(""), "XYZZY", "plugh"], 7);
    assert!(out.stdout.starts_with(b"5"), "{what}: {}", show(&out));

    // Missing things are the server's refusals: 7.
    expect(&s, &["get", &url("/missing"), "m"], 7);
    assert!(!s.path("m").exists(), "{what}: a refused download creates no file");
    expect(&s, &["cat", &url("/missing")], 7);
    expect(&s, &["rmdir", &url("")], 7);
    expect(&s, &["rm", &url("/moved%20here.bin")], 0);
    expect(&s, &["rm", &url("/moved%20here.bin")], 7);
    expect(&s, &["rmdir", &url("")], 0);
    assert!(!remote.exists(), "{what}");
}

// --- segmented download --------------------------------------------------------------------

/// `get -n 4` on vsftpd-capped (each session held to a rate, so every connection gets to
/// read its range): the same bytes, four connections in the trace, nothing on stderr
/// without -d; `-n` out of range and `-n` with `-c` are usage errors.
#[test]
fn get_in_segments() {
    let Some(env) = servers("get_in_segments") else { return };
    let s = Scratch::new("seg");
    let url = format!(
        "ftp://{}:{}@127.0.0.1:{}",
        env["FTPC_TEST_USER"], env["FTPC_TEST_PASS"], env["FTPC_VSFTPD_CAPPED_PORT"]
    );
    let home = PathBuf::from(&env["FTPC_VSFTPD_CAPPED_HOME"]);
    let name = unique("seg");
    let body = data(6 << 20, 11);
    std::fs::write(home.join(&name), &body).unwrap();
    expect(&s, &["get", "-n", "4", &format!("{url}/{name}"), "quiet.bin"], 0);
    assert!(std::fs::read(s.path("quiet.bin")).unwrap() == body, "get -n 4");
    let out = ftpc(&s, &["-d", "get", "--segments", "4", &format!("{url}/{name}"), "traced.bin"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(std::fs::read(s.path("traced.bin")).unwrap() == body, "get -d -n 4");
    let trace = String::from_utf8_lossy(&out.stderr);
    assert!(trace.contains("in 4 ranges") && trace.contains("done: 4 connections read"), "{}", show(&out));
    expect(&s, &["get", "-n", "0", &format!("{url}/{name}"), "x"], 2);
    expect(&s, &["get", "-n", "65", &format!("{url}/{name}"), "x"], 2);
    expect(&s, &["get", "-n", "2", "-c", &format!("{url}/{name}"), "x"], 2);
    assert!(!s.path("x").exists());
    expect(&s, &["rm", &format!("{url}/{name}")], 0);
}

// --- exit statuses -------------------------------------------------------------------------

#[test]
fn exit_statuses_by_class() {
    let s = Scratch::new("exit");
    // Usage (2): clap's own, a bad URL, a URL without a file.
    expect(&s, &["frobnicate"], 2);
    expect(&s, &["ls", "http://example.org/"], 2);
    expect(&s, &["ls", "ftp://h:99999/"], 2);
    expect(&s, &["--explicit-tls", "ls", "ftps://127.0.0.1:1/"], 2);
    // Local (3): the file to upload is checked before connecting.
    expect(&s, &["put", "no-such-file", "ftp://127.0.0.1:1/"], 3);
    // Network (4): nothing listens on port 1.
    expect(&s, &["--timeout", "5", "ls", "ftp://u:p@127.0.0.1:1/"], 4);
    let Some(env) = servers("exit_statuses_by_class") else { return };
    let port = |name: &str| env[name].clone();
    let vs = format!("127.0.0.1:{}", port("FTPC_VSFTPD_PORT"));
    let user = format!("{}:{}", env["FTPC_TEST_USER"], env["FTPC_TEST_PASS"]);
    // Login (6): a wrong password; a user without password and no terminal to ask on.
    expect(&s, &["ls", &format!("ftp://ftpc:wrong@{vs}/")], 6);
    let out = expect(&s, &["ls", &format!("ftp://ftpc@{vs}/")], 6);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no password"), "{}", show(&out));
    // Local (3) after connecting: the download's target directory does not exist.
    expect(&s, &["get", &format!("ftp://{user}@{vs}/hello.txt"), "no/such/dir/file"], 3);
    // TLS (5): the test CA is not in the system store; with --cafile all is well, and
    // --insecure connects without verifying.
    let tls = format!("ftp://{user}@127.0.0.1:{}/", port("FTPC_VSFTPD_TLS_PORT"));
    expect(&s, &["--explicit-tls", "ls", &tls], 5);
    let ca = env["FTPC_TEST_CA"].as_str();
    let out = expect(&s, &["--explicit-tls", "--cafile", ca, "ls", &tls], 0);
    assert_eq!(out.stdout, b"hello.txt\n");
    expect(&s, &["--explicit-tls", "--insecure", "ls", &tls], 0);
    // Implicit FTPS from the URL's scheme.
    let implicit = format!("ftps://{user}@127.0.0.1:{}/hello.txt", port("FTPC_PROFTPD_IMPLICIT_PORT"));
    let out = expect(&s, &["--cafile", ca, "cat", &implicit], 0);
    assert_eq!(out.stdout, b"hello from proftpd\n");
    expect(&s, &["cat", &implicit], 5);
    // vsftpd-tls refuses a login without TLS: 5xx to USER is a refused login.
    expect(&s, &["ls", &tls], 6);
}

#[test]
fn debug_trace_masks_the_password_and_netrc_logs_in() {
    let Some(env) = servers("debug_trace_masks_the_password_and_netrc_logs_in") else { return };
    let s = Scratch::new("netrc");
    let (user, pass) = (env["FTPC_TEST_USER"].as_str(), env["FTPC_TEST_PASS"].as_str());
    let vs = format!("127.0.0.1:{}", env["FTPC_VSFTPD_PORT"]);
    let out = ftpc(&s, &["-d", "cat", &format!("ftp://{user}:{pass}@{vs}/hello.txt")]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let trace = String::from_utf8_lossy(&out.stderr);
    assert!(trace.contains("*cmd* \"PASS *********\""), "{trace}");
    assert!(!trace.contains(pass), "{trace}");
    assert_eq!(out.stdout, b"hello from vsftpd\n");
    // ~/.netrc (HOME is the scratch directory), which must be private.
    let netrc = s.path(".netrc");
    std::fs::write(&netrc, format!("machine 127.0.0.1 login {user} password {pass}\n")).unwrap();
    std::fs::set_permissions(&netrc, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = expect(&s, &["cat", &format!("ftp://{vs}/hello.txt")], 0);
    assert_eq!(out.stdout, b"hello from vsftpd\n");
    // The URL's user picks the entry; another user without password has none.
    expect(&s, &["cat", &format!("ftp://{user}@{vs}/hello.txt")], 0);
    expect(&s, &["cat", &format!("ftp://other@{vs}/hello.txt")], 6);
    // A netrc readable by others is refused, as the library refuses it.
    std::fs::set_permissions(&netrc, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    expect(&s, &["cat", &format!("ftp://{vs}/hello.txt")], 6);
}

// --- progress --------------------------------------------------------------------------------

/// On a terminal (script(1) gives the command a pseudo-terminal) get and put draw a bar
/// with the byte counts; `-q` draws none. (In a pipe nothing is drawn: `expect` checks that
/// every successful command leaves stderr empty.)
#[test]
fn progress_bar_on_a_terminal_only() {
    let Some(env) = servers("progress_bar_on_a_terminal_only") else { return };
    let s = Scratch::new("tty");
    let url =
        format!("ftp://{}:{}@127.0.0.1:{}", env["FTPC_TEST_USER"], env["FTPC_TEST_PASS"], env["FTPC_PUREFTPD_PORT"]);
    let name = unique("tty");
    std::fs::write(s.path(&name), data(3 << 20, 3)).unwrap();
    let under_tty = |command: String| {
        let out = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(&s.0)
            .env("HOME", &s.0)
            .env("TERM", "xterm")
            .env("COLUMNS", "100")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{command}\n{}", show(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = under_tty(format!("{BIN} put {name} {url}/"));
    assert!(shown.contains("3.00 MiB/3.00 MiB"), "put on a terminal: {shown:?}");
    let shown = under_tty(format!("{BIN} get {url}/{name} back.bin"));
    assert!(shown.contains("3.00 MiB/3.00 MiB") && shown.contains(&name), "get on a terminal: {shown:?}");
    let shown = under_tty(format!("{BIN} get -q {url}/{name} back.bin"));
    assert!(!shown.contains("MiB"), "get -q: {shown:?}");
    assert_eq!(std::fs::read(s.path("back.bin")).unwrap(), data(3 << 20, 3));
    expect(&s, &["rm", &format!("{url}/{name}")], 0);
}

// --- mirror ----------------------------------------------------------------------------------

/// The remote tree: nested and empty directories, spaces, UTF-8 and Latin-1 names, and a
/// symbolic link back up (not followed).
fn make_remote_tree(root: &Path) {
    for dir in [&b"a/b"[..], b"a/empty", b"name with spaces", "ünï".as_bytes(), b"empty"] {
        std::fs::create_dir_all(root.join(OsStr::from_bytes(dir))).unwrap();
    }
    for (i, file) in
        [&b"top.txt"[..], b"a/b/deep.bin", b"name with spaces/f  2.txt", "ünï/café.txt".as_bytes(), b"lat\xe9.txt"]
            .into_iter()
            .enumerate()
    {
        std::fs::write(root.join(OsStr::from_bytes(file)), data(1000 + i * 5000, i as u32)).unwrap();
    }
    std::os::unix::fs::symlink("..", root.join("a/up")).unwrap();
    assert!(Command::new("chmod").arg("-R").arg("a+rX").arg(root).status().unwrap().success());
}

#[test]
fn mirror_on_each_server() {
    let Some(env) = servers("mirror_on_each_server") else { return };
    for server in plain_servers(&env) {
        mirror(&server);
    }
}

fn mirror(server: &Server) {
    let s = Scratch::new("mirror");
    let what = server.name;
    let dir = unique(&format!("m{}", &server.name[..3]));
    let remote = server.home.join(&dir);
    make_remote_tree(&remote);
    let url = format!("{}/{dir}", server.url);
    let local = s.path("copy");
    let out = expect(&s, &["mirror", &url, "copy"], 0);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(tree(&local), tree(&remote), "{what}: the copy equals the tree\n{report}");
    assert!(report.contains("skip   a/up"), "{what}: the link is not followed\n{report}");
    assert!(report.contains("downloaded 5 files"), "{what}\n{report}");
    // diff -r agrees (the link is not in the copy: excluded).
    let diff = Command::new("diff").args(["-r", "-x", "up"]).arg(&remote).arg(&local).output().unwrap();
    assert!(diff.status.success(), "{what}: {}", show(&diff));

    // The same over 3 connections.
    let out = expect(&s, &["mirror", "-P", "3", &url, "copy-p"], 0);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(tree(&s.path("copy-p")), tree(&remote), "{what}: -P 3\n{report}");
    assert!(report.contains("downloaded 5 files"), "{what}\n{report}");
    expect(&s, &["mirror", "-P", "0", &url, "copy-p"], 2);
    expect(&s, &["mirror", "-R", "-P", "2", "copy-p", &url], 2);

    // Again: nothing to do.
    let out = expect(&s, &["mirror", &url, "copy"], 0);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(report.contains("downloaded 0 files (0 bytes), 5 up to date"), "{what}\n{report}");

    // A changed size, a new file and a vanished one; --dry-run says it and changes nothing.
    std::fs::write(remote.join("top.txt"), b"changed").unwrap();
    std::fs::write(remote.join("empty/new.txt"), b"new").unwrap();
    std::fs::remove_file(remote.join(OsStr::from_bytes("ünï/café.txt".as_bytes()))).unwrap();
    assert!(Command::new("chmod").arg("-R").arg("a+rX").arg(&remote).status().unwrap().success());
    let before = tree(&local);
    let out = expect(&s, &["mirror", "--dry-run", "--delete", &url, "copy"], 0);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(report.contains("get    top.txt") && report.contains("get    empty/new.txt"), "{what}\n{report}");
    assert!(report.contains("would download 2 files") && report.contains("1 deleted"), "{what}\n{report}");
    assert_eq!(tree(&local), before, "{what}: a dry run changes nothing");
    // Without --delete the vanished file stays; with it, the copy equals the tree again.
    expect(&s, &["mirror", &url, "copy"], 0);
    assert!(local.join(OsStr::from_bytes("ünï/café.txt".as_bytes())).exists(), "{what}");
    let out = expect(&s, &["mirror", "--delete", &url, "copy"], 0);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(report.contains("1 deleted"), "{what}\n{report}");
    assert_eq!(tree(&local), tree(&remote), "{what}\n{report}");

    // A cut file continues with -c (REST) instead of starting again.
    let deep = local.join("a/b/deep.bin");
    let whole = std::fs::read(&deep).unwrap();
    std::fs::write(&deep, &whole[..1000]).unwrap();
    let out = expect(&s, &["mirror", "-c", &url, "copy"], 0);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(report.contains("resume a/b/deep.bin (from byte 1000)"), "{what}\n{report}");
    assert_eq!(std::fs::read(&deep).unwrap(), whole, "{what}");
    std::fs::remove_dir_all(&remote).unwrap();
}

/// `mirror -R LOCALDIR URL` uploads a tree (made on the server), then finds it up to date;
/// `--delete` removes on the server what vanished locally, `--dry-run` only says so.
#[test]
fn mirror_upload_on_each_server() {
    let Some(env) = servers("mirror_upload_on_each_server") else { return };
    for server in plain_servers(&env) {
        let s = Scratch::new("mirror-up");
        let what = server.name;
        let dir = unique(&format!("u{}", &server.name[..3]));
        let remote = server.home.join(&dir);
        make_remote_tree(&s.path("tree"));
        let url = format!("{}/{dir}", server.url);
        let out = expect(&s, &["mirror", "-R", "tree", &url], 0);
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(report.contains("uploaded 5 files") && report.contains("skip   a/up"), "{what}\n{report}");
        assert_eq!(tree(&remote), tree(&s.path("tree")), "{what}\n{report}");
        let out = expect(&s, &["mirror", "-R", "tree", &url], 0);
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(report.contains("uploaded 0 files (0 bytes), 5 up to date"), "{what}\n{report}");
        std::fs::remove_file(s.path("tree/top.txt")).unwrap();
        let out = expect(&s, &["mirror", "-R", "--dry-run", "--delete", "tree", &url], 0);
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(report.contains("delete top.txt") && report.contains("1 deleted"), "{what}\n{report}");
        assert!(remote.join("top.txt").exists(), "{what}: a dry run deletes nothing");
        expect(&s, &["mirror", "-R", "--delete", "tree", &url], 0);
        assert_eq!(tree(&remote), tree(&s.path("tree")), "{what}");
        // Not a directory: a local error (3).
        expect(&s, &["mirror", "-R", "no-such-dir", &url], 3);
        std::fs::remove_dir_all(&remote).unwrap();
    }
}

/// A hostile server's names (`../`, `/`, NUL) are refused and reported, never written:
/// nothing appears outside the target directory, the exit status says some names were
/// refused (11), and the good file is there.
#[test]
fn mirror_refuses_hostile_names() {
    use scripted::{hostile_mirror_steps, ScriptedServer, Step};
    let s = Scratch::new("hostile");
    let listing = [
        &b"type=cdir; .\r\n"[..],
        b"type=file;size=5; ../escaped.txt\r\n",
        b"type=file;size=5; /tmp/absolute.txt\r\n",
        b"type=dir; sub/../..\r\n",
        b"type=file;size=5; nul\0byte\r\n",
        b"type=file;size=5; good.txt\r\n",
    ]
    .concat();
    let mut steps = hostile_mirror_steps(&listing);
    steps.push(Step::reply("QUIT", "221 bye\r\n"));
    let server = ScriptedServer::start(steps);
    let out = expect(&s, &["mirror", &format!("ftp://u:p@127.0.0.1:{}/", server.port()), "into"], 11);
    let t = server.finish();
    t.assert_ok();
    let report = String::from_utf8_lossy(&out.stdout);
    for refused in [
        r#"refuse "../escaped.txt""#,
        r#"refuse "/tmp/absolute.txt""#,
        r#"refuse "sub/../..""#,
        r#"refuse "nul\0byte""#,
    ] {
        assert!(report.contains(refused), "{refused}\n{}", show(&out));
    }
    assert!(report.contains("4 refused"), "{}", show(&out));
    assert_eq!(std::fs::read(s.path("into/good.txt")).unwrap(), b"good\n");
    assert!(!s.path("escaped.txt").exists() && !Path::new("/tmp/absolute.txt").exists());
    let names: Vec<_> = std::fs::read_dir(s.path("into")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["good.txt"]);
}

/// `ls -R` walks the tree: full paths, and `--json` with path and depth.
#[test]
fn ls_recursive_on_each_server() {
    let Some(env) = servers("ls_recursive_on_each_server") else { return };
    for server in plain_servers(&env) {
        let s = Scratch::new("lsr");
        let dir = unique(&format!("r{}", &server.name[..3]));
        let remote = server.home.join(&dir);
        make_remote_tree(&remote);
        let url = format!("{}/{dir}", server.url);
        let out = expect(&s, &["ls", "-R", &url], 0);
        let mut lines: Vec<&[u8]> = out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
        lines.sort();
        let mut want: Vec<Vec<u8>> = tree(&remote).into_keys().map(|k| [dir.as_bytes(), b"/", &k].concat()).collect();
        // ProFTPD's LIST would hide the link; every server here shows it in its own way.
        let link = [dir.as_bytes(), b"/a/up"].concat();
        if lines.contains(&link.as_slice()) {
            want.push(link);
        }
        want.sort();
        assert_eq!(lines, want, "{}", server.name);
        let out = expect(&s, &["ls", "-R", "--json", "--max-depth", "1", &url], 0);
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let entries = json.as_array().unwrap();
        assert_eq!(entries.len(), 6, "{}: {json}", server.name);
        assert!(entries.iter().all(|e| e["depth"] == 1), "{}", server.name);
        let latin = entries.iter().find(|e| e["name_hex"].is_string()).expect("the Latin-1 name");
        assert_eq!(latin["name_hex"], "6c6174e92e747874", "{}", server.name);
        assert!(latin["path"].as_str().unwrap().starts_with(&dir), "{}", server.name);
        std::fs::remove_dir_all(&remote).unwrap();
    }
}
