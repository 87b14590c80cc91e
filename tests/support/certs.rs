//! The test PKI of `tests/servers/certs.sh` for scripted TLS servers: `FTPC_TEST_CERTS`
//! from the environment or from `target/ftp-servers/env`, else a fresh set made by certs.sh
//! (once per test process).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Reads `export NAME=value` lines (values as `printf %q` writes simple paths).
fn env_file_value(path: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("export ")?;
        let (key, value) = rest.split_once('=')?;
        (key == name).then(|| unquote(value))
    })
}

fn unquote(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return inner.to_string();
    }
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// The directory of the test PKI (ca.pem, server.pem/.key, selfsigned.pem/.key).
pub fn certs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let from_env = std::env::var("FTPC_TEST_CERTS")
            .ok()
            .or_else(|| env_file_value(&root.join("target/ftp-servers/env"), "FTPC_TEST_CERTS"))
            .map(PathBuf::from)
            .filter(|d| d.join("server.pem").is_file() && d.join("ca.pem").is_file());
        if let Some(dir) = from_env {
            return dir;
        }
        // No servers running: make the same PKI with the script the servers use.
        let dir = std::env::temp_dir().join(format!("ftpc-scripted-certs-{}", std::process::id()));
        let status = std::process::Command::new(root.join("tests/servers/certs.sh"))
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("running tests/servers/certs.sh");
        assert!(status.success(), "certs.sh failed: {status}");
        dir
    })
}

pub fn cert(name: &str) -> PathBuf {
    certs().join(name)
}

/// The server's certificate chain and key, signed by `cert("ca.pem")` for 127.0.0.1.
pub fn server_cert() -> (PathBuf, PathBuf) {
    (cert("server.pem"), cert("server.key"))
}
