//! Reading replies from bytes per RFC 959 §4.2, pure and bounded so that it can be fuzzed
//! without a network, and what particular replies carry (257's path, 213's size).

use super::error::{ProtoError as Error, Result};
use super::reply::{Reply, MAX_LINE, MAX_REPLY_BYTES, MAX_REPLY_LINES};

/// Splits a byte stream into lines ending in LF (a CR before it is dropped), never holding
/// more than one line of `max_line` bytes.
#[derive(Debug)]
pub struct LineBuffer {
    buf: Vec<u8>,
    start: usize,
    /// How many pending bytes are known to hold no LF: a line that arrives a few bytes at a
    /// time is searched once, not again from its start after every read.
    scanned: usize,
    max_line: usize,
}

impl LineBuffer {
    pub fn new(max_line: usize) -> LineBuffer {
        LineBuffer { buf: Vec::with_capacity(4096), start: 0, scanned: 0, max_line }
    }

    /// Bytes received but not yet returned as lines.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Space to read into; call `filled(n)` after writing `n` bytes at its start.
    pub fn spare(&mut self, want: usize) -> &mut [u8] {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let len = self.buf.len();
        self.buf.resize(len + want, 0);
        &mut self.buf[len..]
    }

    /// Records how many bytes of the last `spare` were written, dropping the rest.
    pub fn filled(&mut self, want: usize, n: usize) {
        let len = self.buf.len();
        self.buf.truncate(len - want + n);
    }

    /// Appends bytes (for tests and fuzzing).
    pub fn push(&mut self, bytes: &[u8]) {
        let room = self.spare(bytes.len());
        room.copy_from_slice(bytes);
    }

    /// The next complete line without its line ending, `Ok(None)` if more bytes are needed,
    /// or an error when the line already exceeds the limit.
    pub fn next_line(&mut self) -> Result<Option<Vec<u8>>> {
        let pending = &self.buf[self.start..];
        let searched = self.scanned.min(pending.len());
        match pending[searched..].iter().position(|&b| b == b'\n').map(|i| searched + i) {
            Some(end) => {
                let mut line = &pending[..end];
                if line.last() == Some(&b'\r') {
                    line = &line[..line.len() - 1];
                }
                if line.len() > self.max_line {
                    return Err(Error::LineTooLong(self.max_line));
                }
                let line = line.to_vec();
                self.start += end + 1;
                self.scanned = 0;
                Ok(Some(line))
            }
            // +1 leaves room for the CR of a line of exactly max_line bytes.
            None if pending.len() > self.max_line + 1 => Err(Error::LineTooLong(self.max_line)),
            None => {
                self.scanned = pending.len();
                Ok(None)
            }
        }
    }
}

/// Assembles lines into replies: `ddd text`, or `ddd-text` ... `ddd text`.
#[derive(Debug, Default)]
pub struct ReplyParser {
    code: Option<u16>,
    text: Vec<u8>,
    lines: usize,
}

impl ReplyParser {
    pub fn new() -> ReplyParser {
        ReplyParser::default()
    }

    /// Whether a multi-line reply has started and not yet ended.
    pub fn in_reply(&self) -> bool {
        self.code.is_some()
    }

    /// Feeds one line; returns the reply once its last line has been fed.
    pub fn push_line(&mut self, line: &[u8]) -> Result<Option<Reply>> {
        if line.contains(&0) {
            return Err(Error::Proto("NUL byte in a reply line".into()));
        }
        self.lines += 1;
        if self.lines > MAX_REPLY_LINES {
            return Err(Error::ReplyTooLong(format!("{MAX_REPLY_LINES} lines")));
        }
        if self.text.len() + line.len() + 1 > MAX_REPLY_BYTES {
            return Err(Error::ReplyTooLong(format!("{MAX_REPLY_BYTES} bytes")));
        }
        match self.code {
            None => {
                let code = parse_code(line)?;
                let multi = line.get(3) == Some(&b'-');
                self.text.extend_from_slice(line);
                if multi {
                    self.code = Some(code);
                    Ok(None)
                } else {
                    Ok(Some(self.finish(code)))
                }
            }
            Some(code) => {
                self.text.push(b'\n');
                self.text.extend_from_slice(line);
                // As ftplib: the reply ends at a line starting with the same code and not '-'.
                let ends = line.len() >= 3 && line[..3] == code_digits(code) && line.get(3) != Some(&b'-');
                Ok(if ends { Some(self.finish(code)) } else { None })
            }
        }
    }

    fn finish(&mut self, code: u16) -> Reply {
        self.code = None;
        self.lines = 0;
        Reply { code, text: std::mem::take(&mut self.text) }
    }
}

fn code_digits(code: u16) -> [u8; 3] {
    [b'0' + (code / 100) as u8, b'0' + (code / 10 % 10) as u8, b'0' + (code % 10) as u8]
}

/// The code of a reply's first line: three digits, the first 1-5, then space, '-' or nothing.
fn parse_code(line: &[u8]) -> Result<u16> {
    let malformed = || {
        let shown: String = String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned();
        Error::Proto(format!("malformed reply line {shown:?}"))
    };
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
        return Err(malformed());
    }
    if !matches!(line.get(3), None | Some(b' ') | Some(b'-')) {
        return Err(malformed());
    }
    if !(b'1'..=b'5').contains(&line[0]) {
        return Err(malformed());
    }
    Ok(line[..3].iter().fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0')))
}

/// Parses every complete reply in `bytes` (for tests and fuzzing): the replies, then the
/// error that stopped parsing, if any.
pub fn parse_all(bytes: &[u8]) -> (Vec<Reply>, Option<Error>) {
    let mut lines = LineBuffer::new(MAX_LINE);
    let mut parser = ReplyParser::new();
    let mut replies = Vec::new();
    lines.push(bytes);
    loop {
        match lines.next_line() {
            Ok(Some(line)) => match parser.push_line(&line) {
                Ok(Some(reply)) => replies.push(reply),
                Ok(None) => {}
                Err(e) => return (replies, Some(e)),
            },
            Ok(None) => return (replies, None),
            Err(e) => return (replies, Some(e)),
        }
    }
}

/// The size in a 213 reply to SIZE; `None` for another code or a text that is not a
/// number (RFC 3659 §4: `213 <size>`).
pub fn parse213_size(reply: &Reply) -> Option<u64> {
    if reply.code != 213 {
        return None;
    }
    let digits = reply.last_line_message().trim_ascii();
    std::str::from_utf8(digits).ok().and_then(|s| s.parse().ok())
}

/// ftplib's `parse257`: the quoted path of a 257 reply with `""` unescaped to `"`.
/// An error for a non-257 reply; empty when the text has no quoted path.
pub fn parse257(reply: &Reply) -> Result<Vec<u8>> {
    if reply.code != 257 {
        return Err(Error::Reply(reply.clone()));
    }
    let text = &reply.text;
    if text.get(3..5) != Some(b" \"") {
        return Ok(Vec::new());
    }
    let mut path = Vec::new();
    let mut i = 5;
    while i < text.len() {
        let c = text[i];
        i += 1;
        if c == b'"' {
            if text.get(i) != Some(&b'"') {
                break;
            }
            i += 1;
        }
        path.push(c);
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> Result<Reply> {
        let (mut replies, err) = parse_all(bytes);
        match err {
            Some(e) => Err(e),
            None => Ok(replies.remove(0)),
        }
    }

    #[test]
    fn single_line() {
        let r = one(b"220 ready\r\n").unwrap();
        assert_eq!(r.code, 220);
        assert_eq!(r.text, b"220 ready");
        assert_eq!(r.last_line_message(), b"ready");
    }

    #[test]
    fn multi_line_keeps_every_line() {
        let r = one(b"230-Welcome\r\n 230 indented is not the end\r\n230-still\r\n230 done\r\n").unwrap();
        assert_eq!(r.code, 230);
        assert_eq!(r.text, b"230-Welcome\n 230 indented is not the end\n230-still\n230 done");
    }

    #[test]
    fn multi_line_other_code_inside() {
        let r = one(b"211-Features:\r\n MDTM\r\n211 End\r\n").unwrap();
        assert_eq!(r.text, b"211-Features:\n MDTM\n211 End");
        let r = one(b"123-a\r\n456 b\r\n123 c\r\n").unwrap();
        assert_eq!(r.code, 123);
        assert_eq!(r.text, b"123-a\n456 b\n123 c");
    }

    #[test]
    fn bare_lf_and_code_only_lines() {
        let r = one(b"200\n").unwrap();
        assert_eq!((r.code, &r.text[..]), (200, &b"200"[..]));
        let r = one(b"200-x\n200\n").unwrap();
        assert_eq!(r.text, b"200-x\n200");
    }

    #[test]
    fn bad_codes_are_proto() {
        for bad in [&b"999 x\r\n"[..], b"099 x\r\n", b"600 x\r\n", b"ab1 x\r\n", b"20\r\n", b"2000 x\r\n", b"\r\n"] {
            assert!(matches!(one(bad), Err(Error::Proto(_))), "{:?}", String::from_utf8_lossy(bad));
        }
        for good in [&b"100 x\r\n"[..], b"599 x\r\n", b"400 x\r\n", b"499 x\r\n"] {
            assert!(one(good).is_ok());
        }
    }

    #[test]
    fn nul_is_proto() {
        assert!(matches!(one(b"200 a\0b\r\n"), Err(Error::Proto(m)) if m.contains("NUL")));
    }

    #[test]
    fn line_limits() {
        let mut ok = b"200 ".to_vec();
        ok.resize(MAX_LINE, b'x');
        ok.extend_from_slice(b"\r\n");
        assert_eq!(one(&ok).unwrap().text.len(), MAX_LINE);
        let mut long = b"200 ".to_vec();
        long.resize(MAX_LINE + 1, b'x');
        long.extend_from_slice(b"\r\n");
        assert!(matches!(one(&long), Err(Error::LineTooLong(_))));
        // Without a line end the buffer stops growing at the limit.
        let mut lb = LineBuffer::new(16);
        lb.push(&[b'x'; 18]);
        assert!(matches!(lb.next_line(), Err(Error::LineTooLong(16))));
    }

    /// Lines read a byte at a time (a server trickling its reply) come out as from one read;
    /// the buffer remembers how far it searched, so each byte is looked at once.
    #[test]
    fn trickled_bytes_give_the_same_lines() {
        fn trickle(wire: &[u8], max: usize) -> (Vec<Vec<u8>>, Option<Error>) {
            let mut lb = LineBuffer::new(max);
            let mut lines = Vec::new();
            for &b in wire {
                lb.push(&[b]);
                loop {
                    match lb.next_line() {
                        Ok(Some(line)) => lines.push(line),
                        Ok(None) => break,
                        Err(e) => return (lines, Some(e)),
                    }
                }
            }
            (lines, None)
        }
        let wire = b"220-a\r\n220 b\r\n\n331 pw\n\r\r\n";
        let (lines, err) = trickle(wire, MAX_LINE);
        assert!(err.is_none());
        assert_eq!(lines, [&b"220-a"[..], b"220 b", b"", b"331 pw", b"\r"]);
        let mut at_limit = vec![b'x'; MAX_LINE];
        at_limit.extend_from_slice(b"\r\n");
        let (lines, err) = trickle(&at_limit, MAX_LINE);
        assert!(err.is_none());
        assert_eq!(lines, [vec![b'x'; MAX_LINE]]);
        // One byte more is refused as soon as it cannot be a line any more.
        let (lines, err) = trickle(&[b'x'; 20], 16);
        assert!(lines.is_empty() && matches!(err, Some(Error::LineTooLong(16))));
    }

    #[test]
    fn too_many_lines() {
        let mut s = b"200-start\r\n".to_vec();
        for _ in 0..MAX_REPLY_LINES {
            s.extend_from_slice(b" more\r\n");
        }
        assert!(matches!(one(&s), Err(Error::ReplyTooLong(_))));
    }

    #[test]
    fn incomplete_reply_is_pending() {
        let (replies, err) = parse_all(b"220-a\r\n220-b\r\n");
        assert!(replies.is_empty() && err.is_none());
    }

    #[test]
    fn parse257_cases() {
        let p = |t: &str| parse257(&Reply::new(257, t.as_bytes()));
        assert_eq!(p("257 \"/home/x\" is cwd").unwrap(), b"/home/x");
        assert_eq!(p("257 \"/a \"\"q\"\" b\" created").unwrap(), b"/a \"q\" b");
        assert_eq!(p("257 \"unterminated").unwrap(), b"unterminated");
        assert_eq!(p("257 /no/quotes").unwrap(), b"");
        assert_eq!(p("257 \"\"").unwrap(), b"");
        assert!(matches!(parse257(&Reply::new(250, &b"250 \"/x\""[..])), Err(Error::Reply(_))));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = parse_all(&bytes);
            let _ = parse257(&Reply::new(257, bytes));
        }

        #[test]
        fn single_line_round_trip(code in 100u16..600, text in "[ -~]{0,200}") {
            let wire = format!("{code} {text}\r\n");
            let r = one(wire.as_bytes()).unwrap();
            proptest::prop_assert_eq!(r.code, code);
            proptest::prop_assert_eq!(r.text, format!("{code} {text}").into_bytes());
        }
    }

    #[test]
    fn size_from_213_only() {
        assert_eq!(parse213_size(&Reply::new(213, &b"213 1234"[..])), Some(1234));
        assert_eq!(parse213_size(&Reply::new(213, &b"213-x\n213  18446744073709551615 "[..])), Some(u64::MAX));
        assert_eq!(parse213_size(&Reply::new(213, &b"213 12 bytes"[..])), None);
        assert_eq!(parse213_size(&Reply::new(213, &b"213 -1"[..])), None);
        assert_eq!(parse213_size(&Reply::new(250, &b"250 1234"[..])), None);
    }
}
