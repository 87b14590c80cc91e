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
//! - and one plain test: a reply over 4 MiB is refused (ReplyTooLong) however it arrives.

use ftpc::command::{build, build_raw, sanitize, Encoding};
use ftpc::pasv::{parse150, parse227, parse229, port_argument};
use ftpc::proto::replies::{parse257, parse_all, LineBuffer, ReplyParser};
use ftpc::proto::ProtoError as Error;
use ftpc::reply::MAX_LINE;
use ftpc::Reply;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

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
