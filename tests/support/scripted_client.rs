//! The client side of the scripted-server tests (`transfer_scripted`, `portable_io_scripted`,
//! `issue11_scripted`, `walk_scripted`): a client with short waits logged in to a
//! [`ScriptedServer`], the steps most scripts share, the end of a script, and local files.

use super::scripted::{login_prelude, ScriptedServer, Step, Transcript};
use ftpc::Client;
use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A client whose every wait is short (3 s to connect and for replies, 2 s for data), so
/// that no scripted test can hang.
pub fn short_timeout_client() -> Client {
    let mut c = Client::new();
    let cfg = c.config_mut();
    cfg.connect_timeout = Some(Duration::from_secs(3));
    cfg.timeout = Duration::from_secs(3);
    cfg.data_connect_timeout = Some(Duration::from_secs(2));
    cfg.data_accept_timeout = Some(Duration::from_secs(2));
    cfg.data_timeout = Some(Duration::from_secs(2));
    c
}

/// A server playing the login then `extra`, and a short-timeout client logged in to it;
/// `tweak` changes the client before it connects.
pub fn logged_in_with(extra: Vec<Step>, tweak: impl FnOnce(&mut Client)) -> (ScriptedServer, Client) {
    let mut steps = login_prelude();
    steps.extend(extra);
    let server = ScriptedServer::start(steps);
    let mut c = short_timeout_client();
    tweak(&mut c);
    c.connect("127.0.0.1", server.port(), None, None).unwrap();
    c.login("u", "p", "").unwrap();
    (server, c)
}

/// A server playing the login then `extra`, and a short-timeout client logged in to it.
pub fn logged_in(extra: Vec<Step>) -> (ScriptedServer, Client) {
    logged_in_with(extra, |_| {})
}

/// The transcript, after checking the script ran to its end.
pub fn finish(server: ScriptedServer) -> Transcript {
    let t = server.finish();
    t.assert_ok();
    t
}

/// The server's step for the NOOP of [`assert_usable`].
pub fn noop() -> Step {
    Step::reply("NOOP", "200 NOOP ok.\r\n")
}

/// Checks the control connection is still in step: a NOOP gets its 200.
pub fn assert_usable(c: &mut Client) {
    assert_eq!(c.voidcmd(b"NOOP").expect("the control connection is still in step").code, 200);
}

/// TYPE I, EPSV, then `cmd` answered with `preliminary`, then the data connection accepted.
pub fn epsv_transfer(cmd: &str, preliminary: &str) -> Vec<Step> {
    vec![
        Step::reply("TYPE I", "200 Switching to Binary mode.\r\n"),
        Step::EpsvReply,
        Step::expect_exact(cmd),
        Step::send(preliminary),
        Step::DataAccept,
    ]
}

/// A download of `data` in one go: the data, the close, then 226.
pub fn serve(data: &[u8]) -> Vec<Step> {
    vec![Step::data_send(data), Step::DataClose, Step::send("226 Transfer complete.\r\n")]
}

/// A file in the temporary directory, named after the test binary and `name`, removed on
/// drop.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(name: &str, content: &[u8]) -> TempFile {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let binary = env!("CARGO_CRATE_NAME");
        let path = std::env::temp_dir().join(format!("ftpc-{binary}-{}-{n}-{name}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        TempFile(path)
    }

    pub fn read(&self) -> File {
        File::open(&self.0).unwrap()
    }

    pub fn read_write(&self) -> File {
        OpenOptions::new().read(true).write(true).open(&self.0).unwrap()
    }

    pub fn content(&self) -> Vec<u8> {
        std::fs::read(&self.0).unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
