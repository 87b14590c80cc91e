//! A whole client session against a server whose every byte the fuzzer chooses, in memory:
//! the client runs over one end of a socketpair (`Client::connect_socket`), the other end
//! holds the server's bytes and then EOF, so nothing ever waits.
//!
//! Input: one flags byte (bits 0-1: encoding utf-8 / latin-1 / bytes; bits 2-3: debug
//! level, traced into a sink), then the server's bytes.
//! Session: greeting, login, PWD, CWD, CWD .. (CDUP), SIZE, MKD, FEAT (+OPTS UTF8 ON),
//! has_feature, MDTM, QUIT.
//! Checks: no panic; 4xx/5xx/unexpected replies carry codes of their class; an error that
//! leaves the connection out of step (EOF, malformed or overlong reply, I/O) closes it and
//! every later call is WrongState without a byte sent; results carry no NUL; feature names
//! are upper-case; and what the client sent is a sequence of well-formed CRLF command lines
//! of the session's verbs in a possible order, at most as many as the steps can send.
#![no_main]

use ftpc::{Client, Encoding, Error};
use libfuzzer_sys::fuzz_target;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the input may hold: well below a socket buffer, so the write never blocks.
const MAX_SCRIPT: usize = 64 * 1024;

fn drops_connection(e: &Error) -> bool {
    matches!(
        e,
        Error::Eof(_)
            | Error::Proto(_)
            | Error::LineTooLong(_)
            | Error::ReplyTooLong(_)
            | Error::Io { .. }
            | Error::Timeout(_)
    )
}

struct Run {
    client: Client,
    /// Commands the session sent while connected (what the server must have received).
    steps: usize,
}

impl Run {
    /// Runs one step and checks what every step must satisfy.
    fn step<T>(&mut self, what: &str, f: impl FnOnce(&mut Client) -> Result<T, Error>) -> Option<T> {
        let was_connected = self.client.is_connected();
        let result = f(&mut self.client);
        if was_connected {
            self.steps += 1;
        }
        match &result {
            Ok(_) => {}
            Err(e) if !was_connected => {
                assert!(
                    matches!(e, Error::WrongState(_)),
                    "{what} on a closed connection gave {e:?}"
                )
            }
            Err(Error::Temp(r)) => assert!((400..=499).contains(&r.code), "{what}: {e:?}", e = r),
            Err(Error::Perm(r)) => assert!((500..=599).contains(&r.code), "{what}: {r:?}"),
            Err(Error::Reply(r)) => assert!((100..=599).contains(&r.code), "{what}: {r:?}"),
            // MDTM's 213 can be a well-formed reply with a malformed time: the connection
            // is still in step then. Every other protocol error here comes from the reader.
            Err(Error::Proto(m)) if what == "mdtm" && m.starts_with("malformed MDTM time") => {}
            Err(e) if drops_connection(e) => {
                assert!(
                    !self.client.is_connected(),
                    "{what}: {e:?} left the connection open"
                )
            }
            Err(Error::Unsupported(_) | Error::Encoding(_)) => {}
            Err(e) => panic!("{what}: unexpected error {e:?}"),
        }
        if let Some(reply) = self.client.last_reply() {
            assert!((100..=599).contains(&reply.code));
            assert!(!reply.text.contains(&0));
        }
        result.ok()
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, script)) = input.split_first() else {
        return;
    };
    if script.len() > MAX_SCRIPT {
        return;
    }
    let (client_end, mut server_end) = UnixStream::pair().expect("socketpair");
    server_end
        .write_all(script)
        .expect("the script fits in the socket buffer");
    server_end.shutdown(Shutdown::Write).expect("shutdown");

    let mut client = Client::new();
    client.config_mut().encoding = match flags & 3 {
        1 => Encoding::Latin1,
        2 => Encoding::Bytes,
        _ => Encoding::Utf8,
    };
    client.config_mut().timeout = Duration::from_secs(5);
    let traced = Arc::new(Mutex::new(0usize));
    let sink = Arc::clone(&traced);
    client.set_trace_sink(Some(Box::new(move |line: &str| {
        assert!(!line.contains('\0'));
        *sink.lock().unwrap() += line.len();
    })));
    client.set_debuglevel((flags >> 2) & 3);

    let mut run = Run { client, steps: 0 };
    let peer = "192.0.2.1:21".parse().unwrap();
    let local = "192.0.2.2:40000".parse().unwrap();
    let welcome = run.client.connect_socket(client_end.into(), peer, local);
    match &welcome {
        Ok(w) => {
            assert!((100..=399).contains(&w.code));
            assert_eq!(run.client.welcome(), Some(w));
            assert!(run.client.is_connected());
        }
        Err(Error::Temp(_) | Error::Perm(_)) => assert!(!run.client.is_connected()),
        Err(e) => assert!(drops_connection(e), "greeting: {e:?}"),
    }
    if welcome.is_err() {
        assert!(!run.client.is_connected());
    }

    run.step("login", |c| c.login("user", "secret", ""));
    if let Some(path) = run.step("pwd", |c| c.pwd()) {
        assert!(!path.contains(&0));
    }
    run.step("cwd", |c| c.cwd(b"some dir"));
    run.step("cdup", |c| c.cwd(b".."));
    if let Some(Some(size)) = run.step("size", |c| c.size(b"file.bin")) {
        let _ = size;
    }
    if let Some(path) = run.step("mkd", |c| c.mkd(b"new \"dir\"")) {
        assert!(!path.contains(&0));
    }
    if let Some(features) = run.step("feat", |c| c.features()) {
        for (name, value) in &features {
            assert!(!name.is_empty());
            assert_eq!(name.to_ascii_uppercase(), *name);
            assert!(
                !name.contains(['\n', ' ']) && !value.contains('\n'),
                "{name:?} {value:?}"
            );
        }
        // Asked once per connection: a second call sends nothing.
        let again = run.client.features().expect("cached features");
        assert_eq!(again, features);
    }
    run.step("has_feature", |c| c.has_feature("MDTM"));
    run.step("mdtm", |c| c.mdtm(b"file.bin"));
    run.step("quit", |c| c.quit());
    assert!(!run.client.is_connected());
    drop(run.client);

    // What the client sent: CRLF-terminated lines of known verbs, nothing else.
    let mut sent = Vec::new();
    server_end
        .read_to_end(&mut sent)
        .expect("reading what the client sent");
    assert!(
        sent.is_empty() || sent.ends_with(b"\r\n"),
        "a partial command line"
    );
    let mut lines: Vec<&[u8]> = sent.split(|&b| b == b'\n').collect();
    lines.pop(); // what follows the last LF: nothing
    for line in lines.iter_mut() {
        *line = line.strip_suffix(b"\r").expect("every line ends in CRLF");
        assert!(
            !line.contains(&b'\r') && !line.contains(&0),
            "{:?}",
            String::from_utf8_lossy(line)
        );
        let verb = line.split(|&b| b == b' ').next().unwrap();
        assert!(
            matches!(
                verb,
                b"USER"
                    | b"PASS"
                    | b"ACCT"
                    | b"PWD"
                    | b"CWD"
                    | b"CDUP"
                    // SIZE puts TYPE I in force first (SIZE depends on the type).
                    | b"TYPE"
                    | b"SIZE"
                    | b"MKD"
                    | b"FEAT"
                    | b"OPTS"
                    | b"MDTM"
                    | b"QUIT"
            ),
            "unexpected command {:?}",
            String::from_utf8_lossy(line)
        );
    }
    // USER is the first command; PASS only ever right after USER, ACCT right after PASS.
    if let Some(first) = lines.first() {
        assert_eq!(*first, b"USER user");
    }
    for pair in lines.windows(2) {
        if pair[1].starts_with(b"PASS ") {
            assert!(pair[0].starts_with(b"USER "));
        }
        if pair[1].starts_with(b"ACCT") {
            assert!(pair[0].starts_with(b"PASS "));
        }
    }
    // One line per step, but login may send three (USER, PASS, ACCT), cwd .. two (CDUP,
    // CWD ..), size two (TYPE I, SIZE) and feat two (FEAT, OPTS UTF8 ON).
    assert!(
        lines.len() <= run.steps + 5,
        "{} lines for {} steps",
        lines.len(),
        run.steps
    );
});
