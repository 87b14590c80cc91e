//! The reply reader (LineBuffer + ReplyParser) on arbitrary bytes, fed in chunks whose
//! sizes the fuzzer chooses, the way `Control::read_reply` feeds it from a socket.
//!
//! Input: `[k] [k little-endian u16 chunk sizes] [bytes from the server]` (k = first byte % 8;
//! no sizes means whole 4096-byte reads).
//! Checks: every reply has a code in 100..=599 that begins its text, no NUL, at most
//! MAX_REPLY_LINES lines and MAX_REPLY_BYTES bytes, each line at most MAX_LINE bytes, a last
//! line that ends it; the buffer never holds more than one overlong line plus one read; and
//! the same bytes split differently (two chunkings, `push` at the cut points, `parse_all`
//! in one piece) give the same replies and the same error.
#![no_main]

use ftpc::proto::replies::{parse_all, LineBuffer, ReplyParser};
use ftpc::proto::reply::{Reply, MAX_LINE, MAX_REPLY_BYTES, MAX_REPLY_LINES};
use ftpc::proto::ProtoError as Error;
use libfuzzer_sys::fuzz_target;

/// What `Control::read_reply` asks the socket for at a time.
const CHUNK: usize = 4096;

#[derive(Debug, PartialEq)]
struct Outcome {
    replies: Vec<Reply>,
    /// The error that stopped reading, as text (Error has no PartialEq).
    error: Option<String>,
}

fn describe(e: &Error) -> String {
    // Only the kinds the reader produces; anything else is a bug.
    match e {
        Error::Proto(_) | Error::LineTooLong(_) | Error::ReplyTooLong(_) => format!("{e}"),
        other => panic!("the reply reader produced an unexpected error: {other:?}"),
    }
}

/// As Control::read_reply: spare(CHUNK), copy at most `sizes[i]` bytes, filled(CHUNK, n).
fn read_in_reads(data: &[u8], sizes: &[usize]) -> Outcome {
    let mut lines = LineBuffer::new(MAX_LINE);
    let mut parser = ReplyParser::new();
    let mut replies = Vec::new();
    let (mut pos, mut i) = (0, 0);
    loop {
        match lines.next_line() {
            Err(e) => {
                return Outcome {
                    replies,
                    error: Some(describe(&e)),
                }
            }
            Ok(Some(line)) => {
                assert!(line.len() <= MAX_LINE, "a line of {} bytes came out", line.len());
                match parser.push_line(&line) {
                    Ok(Some(reply)) => replies.push(reply),
                    Ok(None) => {}
                    Err(e) => {
                        return Outcome {
                            replies,
                            error: Some(describe(&e)),
                        }
                    }
                }
            }
            Ok(None) => {
                if pos == data.len() {
                    return Outcome { replies, error: None };
                }
                let size = if sizes.is_empty() {
                    CHUNK
                } else {
                    sizes[i % sizes.len()]
                };
                let n = size.min(CHUNK).min(data.len() - pos);
                let room = lines.spare(CHUNK);
                assert_eq!(room.len(), CHUNK);
                room[..n].copy_from_slice(&data[pos..pos + n]);
                lines.filled(CHUNK, n);
                pos += n;
                i += 1;
                // Bounded memory: never more than one line at the limit (+CR) and one read.
                assert!(
                    lines.pending().len() <= MAX_LINE + 1 + CHUNK,
                    "{} bytes pending",
                    lines.pending().len()
                );
            }
        }
    }
}

/// The same with `LineBuffer::push` of exactly the pieces between the cuts.
fn read_in_pushes(data: &[u8], sizes: &[usize]) -> Outcome {
    let mut lines = LineBuffer::new(MAX_LINE);
    let mut parser = ReplyParser::new();
    let mut replies = Vec::new();
    let (mut pos, mut i) = (0, 0);
    loop {
        match lines.next_line() {
            Err(e) => {
                return Outcome {
                    replies,
                    error: Some(describe(&e)),
                }
            }
            Ok(Some(line)) => match parser.push_line(&line) {
                Ok(Some(reply)) => replies.push(reply),
                Ok(None) => {}
                Err(e) => {
                    return Outcome {
                        replies,
                        error: Some(describe(&e)),
                    }
                }
            },
            Ok(None) => {
                if pos == data.len() {
                    return Outcome { replies, error: None };
                }
                let size = if sizes.is_empty() {
                    data.len()
                } else {
                    sizes[i % sizes.len()]
                };
                let n = size.min(data.len() - pos);
                lines.push(&data[pos..pos + n]);
                pos += n;
                i += 1;
            }
        }
    }
}

fn check_reply(reply: &Reply) {
    assert!((100..=599).contains(&reply.code), "code {}", reply.code);
    assert!((1..=5).contains(&reply.class()));
    let digits = format!("{:03}", reply.code);
    assert!(
        reply.text.starts_with(digits.as_bytes()),
        "{reply:?} does not start with its code"
    );
    assert!(!reply.text.contains(&0), "NUL in {reply:?}");
    assert!(reply.text.len() <= MAX_REPLY_BYTES);
    let lines: Vec<&[u8]> = reply.text.split(|&b| b == b'\n').collect();
    assert!(lines.len() <= MAX_REPLY_LINES, "{} lines", lines.len());
    assert!(lines.iter().all(|l| l.len() <= MAX_LINE));
    let last = lines[lines.len() - 1];
    assert!(
        last.starts_with(digits.as_bytes()) && last.get(3) != Some(&b'-'),
        "{reply:?} has no last line"
    );
    let _ = reply.last_line_message();
}

fuzz_target!(|input: &[u8]| {
    let Some((&k, rest)) = input.split_first() else {
        return;
    };
    let k = usize::from(k % 8);
    if rest.len() < 2 * k {
        return;
    }
    let (size_bytes, data) = rest.split_at(2 * k);
    let sizes: Vec<usize> = size_bytes
        .chunks(2)
        .map(|c| 1 + usize::from(u16::from_le_bytes([c[0], c[1]])) % CHUNK)
        .collect();

    let (replies, error) = parse_all(data);
    let whole = Outcome {
        replies,
        error: error.as_ref().map(describe),
    };
    for reply in &whole.replies {
        check_reply(reply);
    }
    assert_eq!(
        read_in_reads(data, &sizes),
        whole,
        "chunked reads differ from one piece"
    );
    assert_eq!(
        read_in_pushes(data, &sizes),
        whole,
        "pushes differ from one piece"
    );
    // A second split: every read of 1..=7 bytes taken from the data itself.
    let own: Vec<usize> = data.iter().take(16).map(|&b| 1 + usize::from(b % 7)).collect();
    assert_eq!(
        read_in_reads(data, &own),
        whole,
        "small reads differ from one piece"
    );
});
