//! Property tests of the parsers through the crate's public API, for what the unit-level
//! property tests next to the parsers do not already cover (those are: reply bytes never
//! panic and single-line replies round trip in src/reply.rs; PASV/EPSV never panic and
//! the standard wording round trips in src/pasv.rs; MLSD facts and typed fields, Unix LIST
//! and DOS LIST lines round trip through their formatters and arbitrary lines never panic
//! in src/listing/*.rs; time-val round trips in src/listing/time.rs).
//!
//! Here:
//! - reply reader: any cut of a stream of valid multi-line replies, fed the way the control
//!   connection reads (spare/filled) or by push, gives the same replies as one piece;
//!   arbitrary bytes cut anywhere give the same replies and the same error as one piece,
//!   and the line buffer never holds more than one line at the limit plus one read;
//! - 257: quote doubling round trip, with any text after the closing quote;
//! - 227/229: round trip inside arbitrary surrounding text and with any RFC 2428
//!   delimiter; out-of-range numbers (octets > 255, port 0, EPSV ports > 65535, more than
//!   five digits) refused with `Error::Proto`; accepted replies always give a port > 0;
//! - 150: the announced size round trips for every u64;
//! - command lines: CR, LF and NUL never reach the wire (refused), latin-1 round trips,
//!   PASS/ACCT arguments never appear in traces;
//! - and one plain test: a reply over 4 MiB is refused (ReplyTooLong) however it arrives;
//! - a whole client session against a hostile server over a socketpair (what the `session`
//!   fuzz target checked before the fuzz targets kept to the protocol layer; see
//!   `check_session`): scripts of mostly well-formed replies, step by step, with stray
//!   replies and byte-level edits, and the seed sessions of `tests/data/session/` replayed.

use ftpc::command::{build, build_raw, sanitize, Encoding};
use ftpc::pasv::{parse150, parse227, parse229, port_argument};
use ftpc::proto::replies::{parse257, parse_all, LineBuffer, ReplyParser};
use ftpc::proto::ProtoError as Error;
use ftpc::reply::MAX_LINE;
use ftpc::{Client, Error as ClientError, Reply};
use proptest::prelude::*;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What `Control::read_reply` asks the socket for at a time.
const CHUNK: usize = 4096;

#[derive(Debug, PartialEq)]
struct Outcome {
    replies: Vec<Reply>,
    /// The error that stopped reading, as text (Error has no PartialEq).
    error: Option<String>,
}

/// Feeds `data` to a LineBuffer + ReplyParser in reads of the given sizes (cycled; the last
/// read may be shorter), as the control connection does: `spare(CHUNK)`, write at most
/// `size` bytes, `filled(CHUNK, n)`, then take every complete line before reading again.
/// With `by_push`, `LineBuffer::push` of exactly those pieces instead. Checks after every
/// read that the buffer holds at most one line at the limit (+ its CR) plus one read.
fn read_in_pieces(data: &[u8], sizes: &[usize], max_line: usize, by_push: bool) -> Outcome {
    let mut lines = LineBuffer::new(max_line);
    let mut parser = ReplyParser::new();
    let mut replies = Vec::new();
    let (mut pos, mut i) = (0, 0);
    loop {
        match lines.next_line() {
            Err(e) => return Outcome { replies, error: Some(e.to_string()) },
            Ok(Some(line)) => {
                assert!(line.len() <= max_line, "a line of {} bytes came out", line.len());
                match parser.push_line(&line) {
                    Ok(Some(reply)) => replies.push(reply),
                    Ok(None) => {}
                    Err(e) => return Outcome { replies, error: Some(e.to_string()) },
                }
            }
            Ok(None) => {
                if pos == data.len() {
                    return Outcome { replies, error: None };
                }
                let size = sizes[i % sizes.len()].clamp(1, CHUNK);
                let n = size.min(data.len() - pos);
                if by_push {
                    lines.push(&data[pos..pos + n]);
                } else {
                    let room = lines.spare(CHUNK);
                    room[..n].copy_from_slice(&data[pos..pos + n]);
                    lines.filled(CHUNK, n);
                }
                pos += n;
                i += 1;
                assert!(
                    lines.pending().len() <= max_line + 1 + size,
                    "{} bytes pending with lines of at most {max_line} and reads of {size}",
                    lines.pending().len()
                );
            }
        }
    }
}

fn in_one_piece(data: &[u8]) -> Outcome {
    let (replies, error) = parse_all(data);
    Outcome { replies, error: error.map(|e| e.to_string()) }
}

/// One reply as a server would send it: its lines (without line ends), the Reply it must
/// give, and the line end used after each line.
#[derive(Debug, Clone)]
struct WireReply {
    lines: Vec<String>,
    ends: Vec<&'static str>,
}

impl WireReply {
    fn expected(&self) -> Reply {
        let code: u16 = self.lines[0][..3].parse().unwrap();
        Reply::new(code, self.lines.join("\n").into_bytes())
    }
}

/// A valid reply: `ddd text`, or `ddd-text`, middle lines that do not end it (anything
/// printable, including other codes and `ddd-` continuation lines), and `ddd text`.
fn wire_reply() -> impl Strategy<Value = WireReply> {
    let line_end = prop_oneof![Just("\r\n"), Just("\n")];
    (
        100u16..600,
        "[ -~]{0,40}",
        prop::collection::vec(
            prop_oneof![
                "[ -~]{0,60}",
                // Another code, or the same code as a continuation: neither ends the reply.
                (100u16..600, "[ -~]{0,20}").prop_map(|(c, t)| format!("{c} {t}")),
                "[ -~]{0,20}".prop_map(|t| format!("-{t}")),
            ],
            0..6,
        ),
        "[ -~]{0,40}",
        prop::bool::ANY,
        prop::collection::vec(line_end, 8),
    )
        .prop_map(|(code, first, middle, last, multi, ends)| {
            let mut lines = Vec::new();
            if multi {
                lines.push(format!("{code}-{first}"));
                for m in middle {
                    // "-text" stands for "ddd-text" with this reply's own code.
                    let m = if let Some(t) = m.strip_prefix('-') { format!("{code}-{t}") } else { m };
                    let ends_reply = m.len() >= 3
                        && m.as_bytes()[..3] == *code.to_string().as_bytes()
                        && m.as_bytes().get(3) != Some(&b'-');
                    lines.push(if ends_reply { format!(" {m}") } else { m });
                }
                lines.push(format!("{code} {last}"));
            } else {
                lines.push(format!("{code} {first}"));
            }
            let ends = (0..lines.len()).map(|i| ends[i % ends.len()]).collect();
            WireReply { lines, ends }
        })
}

fn wire_bytes(replies: &[WireReply]) -> Vec<u8> {
    let mut wire = Vec::new();
    for r in replies {
        for (line, end) in r.lines.iter().zip(&r.ends) {
            wire.extend_from_slice(line.as_bytes());
            wire.extend_from_slice(end.as_bytes());
        }
    }
    wire
}

/// Reads of 1..=CHUNK bytes, mostly small so that cuts fall inside lines and line ends.
fn read_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![4 => 1usize..8, 2 => 8usize..300, 1 => 300usize..=CHUNK], 1..20)
}

/// Server bytes that look like replies often enough to get past the first line: reply
/// lines, bare text, CR/LF in odd places, NUL, long runs without a line end.
fn reply_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => "[1-5][0-9][0-9][ -]?[ -~]{0,30}\r?\n".prop_map(String::into_bytes),
            1 => prop::collection::vec(any::<u8>(), 0..40),
            1 => Just(b"\r".to_vec()),
            1 => Just(b"\n".to_vec()),
            1 => Just(vec![0u8]),
            1 => (1usize..300).prop_map(|n| vec![b'x'; n]),
        ],
        0..30,
    )
    .prop_map(|pieces| pieces.concat())
}

/// 257 quoting, as a server writes a path: every `"` doubled.
fn quote257(path: &[u8]) -> Vec<u8> {
    path.iter().flat_map(|&b| if b == b'"' { vec![b'"', b'"'] } else { vec![b] }).collect()
}

/// Text around a 227's numbers: no digits before them (the parser starts at the first
/// digit), anything printable after.
fn no_digits() -> impl Strategy<Value = String> {
    "[ -/:-~]{0,30}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_cut_of_valid_replies_gives_the_same_replies(
        replies in prop::collection::vec(wire_reply(), 1..6),
        sizes in read_sizes(),
        by_push in prop::bool::ANY,
    ) {
        let wire = wire_bytes(&replies);
        let expected: Vec<Reply> = replies.iter().map(WireReply::expected).collect();
        let whole = in_one_piece(&wire);
        prop_assert_eq!(&whole, &Outcome { replies: expected, error: None });
        prop_assert_eq!(read_in_pieces(&wire, &sizes, MAX_LINE, by_push), whole);
    }

    #[test]
    fn a_byte_at_a_time_gives_the_same_replies(replies in prop::collection::vec(wire_reply(), 1..4)) {
        let wire = wire_bytes(&replies);
        prop_assert_eq!(read_in_pieces(&wire, &[1], MAX_LINE, false), in_one_piece(&wire));
    }

    #[test]
    fn any_cut_of_arbitrary_bytes_gives_the_same_outcome(
        data in prop_oneof![reply_like_bytes(), prop::collection::vec(any::<u8>(), 0..2000)],
        sizes in read_sizes(),
        by_push in prop::bool::ANY,
    ) {
        let whole = in_one_piece(&data);
        for reply in &whole.replies {
            prop_assert!((100..600).contains(&reply.code));
            let code = reply.code.to_string();
            prop_assert!(reply.text.starts_with(code.as_bytes()), "{:?}", reply);
            prop_assert!(!reply.text.contains(&0));
        }
        prop_assert_eq!(read_in_pieces(&data, &sizes, MAX_LINE, by_push), whole);
    }

    /// With a small line limit the limit is actually reached: the buffer stays within one
    /// line at the limit plus one read (checked inside read_in_pieces), and a line over the
    /// limit is refused however it arrives.
    #[test]
    fn line_buffer_memory_is_bounded(
        data in reply_like_bytes(),
        sizes in read_sizes(),
        max_line in 1usize..64,
        by_push in prop::bool::ANY,
    ) {
        let outcome = read_in_pieces(&data, &sizes, max_line, by_push);
        let longest = data
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l).len())
            .max()
            .unwrap_or(0);
        if longest <= max_line {
            prop_assert_ne!(outcome.error.clone(), Some(Error::LineTooLong(max_line).to_string()));
        }
        // Whole reads of CHUNK bytes with the same limit stop at the same place.
        prop_assert_eq!(read_in_pieces(&data, &[CHUNK], max_line, false), outcome);
    }

    #[test]
    fn parse257_undoes_quote_doubling(
        path in prop::collection::vec(any::<u8>(), 0..60),
        after in prop_oneof![Just(Vec::new()), "[ -!#-~][ -~]{0,20}".prop_map(String::into_bytes)],
        closed in prop::bool::ANY,
    ) {
        let mut text = b"257 \"".to_vec();
        text.extend_from_slice(&quote257(&path));
        if closed {
            text.push(b'"');
            text.extend_from_slice(&after);
        }
        prop_assert_eq!(parse257(&Reply::new(257, text.clone())).unwrap(), path);
        prop_assert!(matches!(parse257(&Reply::new(250, text)), Err(Error::Reply(_))));
    }

    #[test]
    fn pasv_round_trips_in_any_wording(
        ip in any::<[u8; 4]>(),
        port in 1u16..,
        before in no_digits(),
        after in "[ -~]{0,30}",
        parens in prop::bool::ANY,
    ) {
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port);
        let numbers = port_argument(addr).unwrap();
        let numbers = if parens { format!("({numbers})") } else { numbers };
        // The numbers must not run on into digits or a comma after them.
        let after = if after.starts_with(|c: char| c.is_ascii_digit() || c == ',') { format!(" {after}") } else { after };
        let reply = Reply::new(227, format!("227 {before}{numbers}{after}"));
        prop_assert_eq!(parse227(&reply).unwrap(), addr);
    }

    #[test]
    fn pasv_numbers_out_of_range_are_refused(
        numbers in prop::collection::vec(0u32..1000, 6),
        before in no_digits(),
    ) {
        let list: Vec<String> = numbers.iter().map(u32::to_string).collect();
        let reply = Reply::new(227, format!("227 {before}({}).", list.join(",")));
        let valid = numbers.iter().all(|&n| n <= 255) && (numbers[4] != 0 || numbers[5] != 0);
        match parse227(&reply) {
            Ok(addr) => {
                prop_assert!(valid);
                prop_assert_eq!(u32::from(addr.port()), numbers[4] * 256 + numbers[5]);
            }
            Err(e) => {
                prop_assert!(!valid, "{e}");
                prop_assert!(matches!(e, Error::Proto(_)));
            }
        }
    }

    #[test]
    fn epsv_round_trips_with_any_delimiter(
        port in 1u16..,
        // Not ')': the reply's closing parenthesis is the first ')' (as in ftplib).
        delim in (33u8..=126).prop_filter("not a digit or ')'", |b| !b.is_ascii_digit() && *b != b')'),
        before in "[ -'*-~]{0,30}",
        after in "[ -~]{0,30}",
        zeros in 0usize..5,
    ) {
        let d = char::from(delim);
        let digits = format!("{port:0>width$}", width = (port.to_string().len() + zeros).min(5));
        let reply = Reply::new(229, format!("229 {before}({d}{d}{d}{digits}{d}){after}"));
        prop_assert_eq!(parse229(&reply).unwrap(), port);
    }

    #[test]
    fn epsv_port_zero_or_above_65535_is_refused(
        port in prop_oneof![Just(0u64), 65_536u64..100_000, 100_000u64..u64::MAX],
        zeros in 0usize..3,
    ) {
        let digits = format!("{port:0>width$}", width = port.to_string().len() + zeros);
        let reply = Reply::new(229, format!("229 Entering Extended Passive Mode (|||{digits}|)"));
        prop_assert!(matches!(parse229(&reply), Err(Error::Proto(_))), "{digits}");
    }

    #[test]
    fn accepted_passive_replies_never_give_port_zero(text in prop::collection::vec(any::<u8>(), 0..80)) {
        for prefix in [&b"227 ("[..], b"229 (|||", b"229 (", b""] {
            let mut t = prefix.to_vec();
            t.extend_from_slice(&text);
            if let Ok(addr) = parse227(&Reply::new(227, t.clone())) {
                prop_assert!(addr.port() != 0 && addr.is_ipv4());
            }
            if let Ok(port) = parse229(&Reply::new(229, t)) {
                prop_assert!(port != 0);
            }
        }
    }

    #[test]
    fn size_in_150_round_trips(size in any::<u64>(), name in "[ -'*-~]{0,30}", upper in prop::bool::ANY) {
        let bytes = if upper { "BYTES" } else { "bytes" };
        let reply = Reply::new(150, format!("150 Opening BINARY mode data connection for {name} ({size} {bytes})."));
        prop_assert_eq!(parse150(&reply), Some(size));
    }

    #[test]
    fn line_breaks_never_reach_the_wire(
        arg in prop::collection::vec(any::<u8>(), 0..40),
        encoding in prop_oneof![Just(Encoding::Utf8), Just(Encoding::Latin1), Just(Encoding::Bytes)],
    ) {
        let breaks = arg.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0));
        match build("CWD", Some(&arg), encoding) {
            Ok(line) => {
                prop_assert!(!breaks);
                prop_assert!(!line.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)));
                prop_assert!(line.starts_with(b"CWD "));
                prop_assert_eq!(&line[4..], &encoding.encode(&arg).unwrap()[..]);
            }
            Err(Error::InvalidArgument(_)) => prop_assert!(breaks),
            Err(Error::Encoding(_)) => prop_assert!(!breaks && encoding != Encoding::Bytes),
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
        match build_raw(&arg, encoding) {
            Ok(line) => prop_assert!(!line.is_empty() && !line.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0))),
            Err(Error::InvalidArgument(_)) => prop_assert!(breaks || arg.is_empty()),
            Err(Error::Encoding(_)) => prop_assert!(!breaks && encoding != Encoding::Bytes),
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }

    #[test]
    fn latin1_round_trips(text in "[\\u{1}-\\u{ff}]{0,40}", wire in prop::collection::vec(any::<u8>(), 0..40)) {
        let encoded = Encoding::Latin1.encode(text.as_bytes()).unwrap();
        prop_assert_eq!(encoded.len(), text.chars().count());
        prop_assert_eq!(&Encoding::Latin1.decode(&encoded)[..], text.as_bytes());
        let decoded = Encoding::Latin1.decode(&wire).into_owned();
        prop_assert_eq!(Encoding::Latin1.encode(&decoded).unwrap(), wire.clone());
        let bytes = Encoding::Bytes.encode(&wire).unwrap();
        prop_assert_eq!(&Encoding::Bytes.decode(&bytes)[..], &wire[..]);
    }

    #[test]
    fn passwords_never_appear_in_traces(
        verb in prop_oneof![Just("PASS"), Just("pass"), Just("Acct"), Just("ACCT")],
        secret in prop::collection::vec(any::<u8>(), 1..40),
    ) {
        let mut line = format!("{verb} ").into_bytes();
        line.extend_from_slice(&secret);
        let shown = sanitize(&line);
        let shown_verb = format!("{verb} ");
        prop_assert!(shown.starts_with(&shown_verb), "{:?}", shown);
        prop_assert!(shown[5..].chars().all(|c| c == '*'), "{shown:?}");
    }
}

/// Not a property, but the one reply limit nothing else reaches: a multi-line reply of more
/// than MAX_REPLY_BYTES (4 MiB) in lines well under MAX_LINE is refused with ReplyTooLong,
/// however it arrives, and the line buffer stays within one line plus one read meanwhile.
#[test]
fn reply_over_4_mib_is_refused() {
    use ftpc::reply::{MAX_REPLY_BYTES, MAX_REPLY_LINES};
    let line = format!("200-{}\r\n", "x".repeat(8000));
    let lines = MAX_REPLY_BYTES / 8000 + 2;
    assert!(lines < MAX_REPLY_LINES);
    let mut wire = line.repeat(lines).into_bytes();
    wire.extend_from_slice(b"200 end\r\n");
    let want = Some(Error::ReplyTooLong(format!("{MAX_REPLY_BYTES} bytes")).to_string());
    let whole = in_one_piece(&wire);
    assert!(whole.replies.is_empty());
    assert_eq!(whole.error, want);
    assert_eq!(read_in_pieces(&wire, &[CHUNK], MAX_LINE, false), whole);
    assert_eq!(read_in_pieces(&wire, &[1000, 7, 4096], MAX_LINE, true), whole);
}

// ---- A whole session against a hostile server (formerly the `session` fuzz target) ----

/// What one session script may hold: well below a socket buffer, so the write never blocks.
const MAX_SCRIPT: usize = 64 * 1024;

/// Errors after which the connection is out of step, so the client must have closed it.
fn drops_connection(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Eof(_)
            | ClientError::Proto(_)
            | ClientError::LineTooLong(_)
            | ClientError::ReplyTooLong(_)
            | ClientError::Io { .. }
            | ClientError::Timeout(_)
    )
}

struct SessionRun {
    client: Client,
    /// Commands the session sent while connected (what the server must have received).
    steps: usize,
}

impl SessionRun {
    /// Runs one step and checks what every step must satisfy.
    fn step<T>(&mut self, what: &str, f: impl FnOnce(&mut Client) -> Result<T, ClientError>) -> Option<T> {
        let was_connected = self.client.is_connected();
        let result = f(&mut self.client);
        if was_connected {
            self.steps += 1;
        }
        match &result {
            Ok(_) => {}
            Err(e) if !was_connected => {
                assert!(matches!(e, ClientError::WrongState(_)), "{what} on a closed connection gave {e:?}")
            }
            Err(ClientError::Temp(r)) => assert!((400..=499).contains(&r.code), "{what}: {r:?}"),
            Err(ClientError::Perm(r)) => assert!((500..=599).contains(&r.code), "{what}: {r:?}"),
            Err(ClientError::Reply(r)) => assert!((100..=599).contains(&r.code), "{what}: {r:?}"),
            // MDTM's 213 can be a well-formed reply with a malformed time: the connection
            // is still in step then. Every other protocol error here comes from the reader.
            Err(ClientError::Proto(m)) if what == "mdtm" && m.starts_with("malformed MDTM time") => {}
            Err(e) if drops_connection(e) => {
                assert!(!self.client.is_connected(), "{what}: {e:?} left the connection open")
            }
            Err(ClientError::Unsupported(_) | ClientError::Encoding(_)) => {}
            Err(e) => panic!("{what}: unexpected error {e:?}"),
        }
        if let Some(reply) = self.client.last_reply() {
            assert!((100..=599).contains(&reply.code));
            assert!(!reply.text.contains(&0));
        }
        result.ok()
    }
}

/// One whole session (greeting, login, PWD, CWD, CDUP, SIZE, MKD, FEAT + OPTS UTF8 ON,
/// has_feature, MDTM, QUIT) over one end of a socketpair whose other end holds `script` and
/// then EOF, so nothing ever waits. `flags`: bits 0-1 the encoding (utf-8, latin-1, bytes),
/// bits 2-3 the debug level (traced into a sink).
///
/// Checks: no panic; 4xx/5xx/unexpected replies carry codes of their class; an error that
/// leaves the connection out of step (EOF, malformed or overlong reply, I/O) closes it and
/// every later call is WrongState without a byte sent; results and traces carry no NUL;
/// feature names are upper-case and asked once per connection; and what the client sent is
/// a sequence of well-formed CRLF command lines of the session's verbs in a possible order
/// (USER first, PASS only right after USER, ACCT right after PASS), at most as many as the
/// steps can send.
fn check_session(flags: u8, script: &[u8]) {
    assert!(script.len() <= MAX_SCRIPT);
    let (client_end, mut server_end) = UnixStream::pair().expect("socketpair");
    server_end.write_all(script).expect("the script fits in the socket buffer");
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

    let mut run = SessionRun { client, steps: 0 };
    let peer = "192.0.2.1:21".parse().unwrap();
    let local = "192.0.2.2:40000".parse().unwrap();
    let welcome = run.client.connect_socket(client_end.into(), peer, local);
    match &welcome {
        Ok(w) => {
            assert!((100..=399).contains(&w.code));
            assert_eq!(run.client.welcome(), Some(w));
            assert!(run.client.is_connected());
        }
        Err(ClientError::Temp(_) | ClientError::Perm(_)) => assert!(!run.client.is_connected()),
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
    run.step("size", |c| c.size(b"file.bin"));
    if let Some(path) = run.step("mkd", |c| c.mkd(b"new \"dir\"")) {
        assert!(!path.contains(&0));
    }
    if let Some(features) = run.step("feat", |c| c.features()) {
        for (name, value) in &features {
            assert!(!name.is_empty());
            assert_eq!(name.to_ascii_uppercase(), *name);
            assert!(!name.contains(['\n', ' ']) && !value.contains('\n'), "{name:?} {value:?}");
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
    server_end.read_to_end(&mut sent).expect("reading what the client sent");
    assert!(sent.is_empty() || sent.ends_with(b"\r\n"), "a partial command line");
    let mut lines: Vec<&[u8]> = sent.split(|&b| b == b'\n').collect();
    lines.pop(); // what follows the last LF: nothing
    for line in lines.iter_mut() {
        *line = line.strip_suffix(b"\r").expect("every line ends in CRLF");
        assert!(!line.contains(&b'\r') && !line.contains(&0), "{:?}", String::from_utf8_lossy(line));
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
    assert!(lines.len() <= run.steps + 5, "{} lines for {} steps", lines.len(), run.steps);
}

/// The seed sessions (`tests/data/session/`, the former fuzz target's corpus: captured from
/// vsftpd and pure-ftpd by `fuzz/capture-corpus.py`, hand-written twists, and the CI input
/// that showed SIZE sending TYPE I first): `[flags][server bytes]`.
fn session_seeds() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/session");
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 6, "session seeds missing from {}", dir.display());
    seeds
}

#[test]
fn session_seeds_replay() {
    for (name, seed) in session_seeds() {
        let (flags, script) = seed.split_first().unwrap_or_else(|| panic!("{name} is empty"));
        check_session(*flags, script);
    }
}

/// The reply a well-behaved server gives at each step of `check_session`'s session, in
/// order, with the usual alternatives (refusals, other success codes).
fn step_replies() -> Vec<Vec<&'static str>> {
    const FEAT: &str =
        "211-Features:\r\n UTF8\r\n EPRT\r\n MDTM\r\n SIZE\r\n REST STREAM\r\n mlst type*;size*;\r\n211 End\r\n";
    vec![
        vec!["220 ftp server ready\r\n", "220-hello\r\n220-second line\r\n220 there\r\n", "120 in a moment\r\n"],
        vec!["331 password please\r\n", "230 no password needed\r\n", "530 not you\r\n"],
        vec!["230 in\r\n", "332 account please\r\n", "530 Login incorrect.\r\n"],
        vec![
            "257 \"/\" is the current directory\r\n",
            "257 \"/a \"\"b\"\"\" here\r\n",
            "257 no quotes\r\n",
            "250 odd\r\n",
        ],
        vec!["250 Directory changed\r\n", "550 No such directory\r\n"],
        vec!["250 up\r\n", "500 CDUP unknown\r\n", "502 no\r\n"],
        vec!["200 Switching to Binary mode.\r\n", "504 no\r\n"],
        vec!["213 4321\r\n", "213 99999999999999999999\r\n", "213 not a size\r\n", "550 Could not get file size.\r\n"],
        vec!["257 \"/new \"\"dir\"\"\" created\r\n", "550 Create directory operation failed.\r\n"],
        vec![FEAT, "211-x\r\n utf8\r\n  mdtm  \r\n211 e\r\n", "211 no features\r\n", "500 FEAT?\r\n"],
        vec!["200 Always in UTF8 mode.\r\n", "501 no\r\n"],
        vec!["213 20240229120000\r\n", "213 20240229120000.5\r\n", "213 4321\r\n", "550 Could not get time\r\n"],
        vec!["221 Goodbye.\r\n", "221-bye\r\n221 now\r\n", "421 closing\r\n"],
    ]
}

/// A reply that no step asks for: any code (also out of range), text of printable ASCII or
/// any bytes, one line or several.
fn stray_reply() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![4 => 100u16..600, 1 => 0u16..1000],
        prop_oneof![3 => "[ -~]{0,30}".prop_map(String::into_bytes), 1 => prop::collection::vec(any::<u8>(), 0..30)],
        prop::collection::vec("[ -~]{0,20}", 0..3),
    )
        .prop_map(|(code, text, more)| {
            let mut out = format!("{code:03}{}", if more.is_empty() { ' ' } else { '-' }).into_bytes();
            out.extend_from_slice(&text);
            out.extend_from_slice(b"\r\n");
            if !more.is_empty() {
                for line in &more {
                    out.extend_from_slice(format!(" {line}\r\n").as_bytes());
                }
                out.extend_from_slice(format!("{code:03} end\r\n").as_bytes());
            }
            out
        })
}

/// A byte-level edit of a script: overwrite, insert, delete, cut the rest, insert a line
/// end or a NUL, or repeat a stretch (a reply twice).
#[derive(Debug, Clone)]
enum Edit {
    Set(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
    Cut(prop::sample::Index),
    LineEnd(prop::sample::Index, &'static [u8]),
    Repeat(prop::sample::Index, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = any::<prop::sample::Index>;
    prop_oneof![
        (at(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (at(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        at().prop_map(Edit::Delete),
        at().prop_map(Edit::Cut),
        (at(), prop::sample::select(vec![&b"\r\n"[..], b"\n", b"\r", b"\0"])).prop_map(|(i, s)| Edit::LineEnd(i, s)),
        (at(), 1usize..64).prop_map(|(i, n)| Edit::Repeat(i, n)),
    ]
}

fn apply(script: &mut Vec<u8>, edit: &Edit) {
    // An index into the script, end included (an empty script takes inserts only).
    let pos = |i: &prop::sample::Index, len: usize| i.index(len + 1);
    match edit {
        Edit::Set(i, b) if !script.is_empty() => {
            let p = i.index(script.len());
            script[p] = *b;
        }
        Edit::Insert(i, b) => script.insert(pos(i, script.len()), *b),
        Edit::Delete(i) if !script.is_empty() => {
            script.remove(i.index(script.len()));
        }
        Edit::Cut(i) => script.truncate(pos(i, script.len())),
        Edit::LineEnd(i, s) => {
            let p = pos(i, script.len());
            script.splice(p..p, s.iter().copied());
        }
        Edit::Repeat(i, n) => {
            let p = pos(i, script.len());
            let stretch = script[p..(p + n).min(script.len())].to_vec();
            script.splice(p..p, stretch);
        }
        _ => {}
    }
}

/// Session scripts: mostly the replies a server gives step by step (each step's reply one
/// of its usual ones, or now and then a stray reply), sometimes a seed session; then
/// none to a few byte-level edits, which shift, break and cut the replies.
fn session_script() -> impl Strategy<Value = (u8, Vec<u8>)> {
    let steps: Vec<BoxedStrategy<Vec<u8>>> = step_replies()
        .into_iter()
        .map(|usual| {
            let usual: Vec<Vec<u8>> = usual.into_iter().map(|r| r.as_bytes().to_vec()).collect();
            prop_oneof![8 => prop::sample::select(usual), 1 => stray_reply()].boxed()
        })
        .collect();
    let generated = (any::<u8>(), steps).prop_map(|(flags, replies)| (flags, replies.concat()));
    let seeds: Vec<(u8, Vec<u8>)> = session_seeds().into_iter().map(|(_, s)| (s[0], s[1..].to_vec())).collect();
    let base = prop_oneof![4 => generated, 1 => prop::sample::select(seeds)];
    (base, prop::collection::vec(edit(), 0..4)).prop_map(|((flags, mut script), edits)| {
        for e in &edits {
            apply(&mut script, e);
        }
        script.truncate(MAX_SCRIPT);
        (flags, script)
    })
}

proptest! {
    // About 0.35 ms a case in a debug build on two busy cores: 3.5 s in all.
    #![proptest_config(ProptestConfig::with_cases(10000))]

    #[test]
    fn session_against_a_hostile_server((flags, script) in session_script()) {
        check_session(flags, &script);
    }
}
