//! Line handling of ASCII-mode transfers: splitting received text into lines (retrlines)
//! and reading lines to send with CRLF ends (storlines).

use super::command::Encoding;
use super::error::{ProtoError as Error, Result};
use super::reply::MAX_LINE;
use std::io::{self, Read};
use std::ops::ControlFlow;

/// What a callback returns: `Continue` or `Break` to stop the transfer (with ABOR).
pub type Flow = ControlFlow<()>;

/// Returned inside an `io::Error` by a source given to `storbinary`/`storlines` to stop the
/// upload the way a callback returning `Break` does.
#[derive(Debug)]
pub struct StopTransfer;

impl std::fmt::Display for StopTransfer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped by the caller")
    }
}

impl std::error::Error for StopTransfer {}

/// Splits received text into lines ended by CRLF, LF or a lone CR, with a length cap.
#[derive(Default)]
pub struct LineSplitter {
    line: Vec<u8>,
    /// The last byte seen was a CR: a LF right after it belongs to the same line end.
    after_cr: bool,
}

impl LineSplitter {
    pub fn feed(&mut self, bytes: &[u8], deliver: &mut dyn FnMut(&[u8]) -> Flow) -> Result<Flow> {
        self.split(bytes, &mut |line, _| deliver(line))
    }

    /// `feed`, telling `deliver` where each line lies in `bytes` when it lies there whole
    /// (`None` for a line joined from the end of earlier blocks).
    fn split(&mut self, bytes: &[u8], deliver: &mut dyn FnMut(&[u8], Option<usize>) -> Flow) -> Result<Flow> {
        let mut at = 0;
        while at < bytes.len() {
            if self.after_cr {
                self.after_cr = false;
                if bytes[at] == b'\n' {
                    at += 1;
                    continue;
                }
            }
            let rest = &bytes[at..];
            let Some(end) = memchr::memchr2(b'\r', b'\n', rest) else {
                self.keep(rest)?;
                break;
            };
            let flow = if self.line.is_empty() {
                // A whole line in this block: handed over where it lies, without a copy.
                if end > MAX_LINE {
                    return Err(Error::LineTooLong(MAX_LINE));
                }
                deliver(&rest[..end], Some(at))
            } else {
                self.keep(&rest[..end])?;
                let flow = deliver(&self.line, None);
                self.line.clear();
                flow
            };
            self.after_cr = rest[end] == b'\r';
            at += end + 1;
            if flow.is_break() {
                return Ok(flow);
            }
        }
        Ok(Flow::Continue(()))
    }

    /// Keeps the start of a line that goes on in the next block.
    fn keep(&mut self, part: &[u8]) -> Result<()> {
        if self.line.len() + part.len() > MAX_LINE {
            return Err(Error::LineTooLong(MAX_LINE));
        }
        self.line.extend_from_slice(part);
        Ok(())
    }

    /// The last line, when the data did not end with a line end.
    pub fn finish(&mut self, deliver: &mut dyn FnMut(&[u8]) -> Flow) -> Result<Flow> {
        if self.line.is_empty() {
            return Ok(Flow::Continue(()));
        }
        let flow = deliver(&self.line);
        self.line.clear();
        Ok(flow)
    }
}

/// Splits received text into lines (as `LineSplitter`) and decodes each for the caller (as
/// `Encoding::decode`), checking UTF-8 once per block instead of once per line.
pub struct LineDecoder {
    splitter: LineSplitter,
    encoding: Encoding,
}

impl LineDecoder {
    pub fn new(encoding: Encoding) -> LineDecoder {
        LineDecoder { splitter: LineSplitter::default(), encoding }
    }

    pub fn feed(&mut self, bytes: &[u8], deliver: &mut dyn FnMut(&[u8]) -> Flow) -> Result<Flow> {
        let encoding = self.encoding;
        // The longest start of the block that is valid UTF-8. A line lying whole in it is
        // valid UTF-8 too: lines start and end next to CR or LF, and an ASCII byte is never
        // inside a multi-byte character, so the cuts fall between characters. Other lines
        // (joined across blocks, or after an invalid byte) are decoded one by one.
        let valid = match encoding {
            Encoding::Utf8 => std::str::from_utf8(bytes).map_or_else(|e| e.valid_up_to(), str::len),
            Encoding::Latin1 | Encoding::Bytes => 0,
        };
        self.splitter.split(bytes, &mut |line, at| match at {
            Some(at) if at + line.len() <= valid => deliver(line),
            _ => deliver(&encoding.decode(line)),
        })
    }

    /// The last line, when the data did not end with a line end.
    pub fn finish(&mut self, deliver: &mut dyn FnMut(&[u8]) -> Flow) -> Result<Flow> {
        let encoding = self.encoding;
        self.splitter.finish(&mut |line| deliver(&encoding.decode(line)))
    }
}

/// Reads lines for storlines and gives each with a CRLF end.
pub struct LineReader<'a> {
    source: &'a mut dyn Read,
    pending: Vec<u8>,
    eof: bool,
}

impl<'a> LineReader<'a> {
    pub fn new(source: &'a mut dyn Read) -> LineReader<'a> {
        LineReader { source, pending: Vec::new(), eof: false }
    }

    pub fn next_crlf_line(&mut self, out: &mut Vec<u8>) -> io::Result<Option<usize>> {
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                return Ok(Some(self.take(end + 1, out)?));
            }
            if self.pending.len() > MAX_LINE {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "line over 8192 bytes"));
            }
            if self.eof {
                return if self.pending.is_empty() { Ok(None) } else { Ok(Some(self.take(self.pending.len(), out)?)) };
            }
            let mut chunk = [0u8; 8192];
            let n = self.source.read(&mut chunk)?;
            if n == 0 {
                self.eof = true;
            }
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }

    fn take(&mut self, len: usize, out: &mut Vec<u8>) -> io::Result<usize> {
        let mut line: Vec<u8> = self.pending.drain(..len).collect();
        if line.len() > MAX_LINE + 2 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "line over 8192 bytes"));
        }
        // As ftplib: whatever the end (CRLF, LF, CR or none), the line goes out with CRLF.
        // Only the end is replaced: CRs before it are data ("a\r\r\n" stays as it is).
        if !line.ends_with(b"\r\n") {
            if matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            line.extend_from_slice(b"\r\n");
        }
        *out = line;
        Ok(out.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Result<Vec<Vec<u8>>> {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        let mut push = |l: &[u8]| {
            lines.push(l.to_vec());
            Flow::Continue(())
        };
        for c in chunks {
            let _ = s.feed(c, &mut push)?;
        }
        let _ = s.finish(&mut push)?;
        Ok(lines)
    }

    #[test]
    fn line_ends() {
        assert_eq!(
            split(&[b"a\r\nb\nc\rd"]).unwrap(),
            vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"d".to_vec()]
        );
        // A CRLF split across reads is one line end.
        assert_eq!(split(&[b"a\r", b"\nb\r\n"]).unwrap(), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(split(&[b"\r\n\r\n"]).unwrap(), vec![b"".to_vec(), b"".to_vec()]);
        assert!(split(&[b""]).unwrap().is_empty());
        let long = vec![b'x'; MAX_LINE + 1];
        assert!(matches!(split(&[&long]), Err(Error::LineTooLong(_))));
        let max = vec![b'x'; MAX_LINE];
        assert_eq!(split(&[&max, b"\n"]).unwrap(), vec![max.clone()]);
    }

    #[test]
    fn line_ends_wherever_the_blocks_split() {
        let text: &[u8] = b"one\r\ntwo\n\nthree\rfour\r\r\nfive";
        let whole = split(&[text]).unwrap();
        assert_eq!(whole.len(), 7, "{whole:?}");
        for i in 0..=text.len() {
            for j in i..=text.len() {
                let parts = split(&[&text[..i], &text[i..j], &text[j..]]).unwrap();
                assert_eq!(parts, whole, "split at {i} and {j}");
            }
        }
        // Over the cap whether the line comes whole, in pieces, or one byte at a time.
        let long = vec![b'x'; MAX_LINE + 1];
        assert!(matches!(split(&[&long, b"\n"]), Err(Error::LineTooLong(_))));
        assert!(matches!(split(&[&long[..10], &long[10..], b"\n"]), Err(Error::LineTooLong(_))));
        let bytes: Vec<&[u8]> = long.chunks(1).collect();
        assert!(matches!(split(&bytes), Err(Error::LineTooLong(_))));
        let max = vec![b'x'; MAX_LINE];
        assert_eq!(split(&[&max[..5], &max[5..], b"\r\n"]).unwrap(), vec![max.clone()]);
    }

    /// What retrlines must give for `data`, however it is cut: the lines (ended by CRLF, LF
    /// or a lone CR), each decoded, found one byte at a time; `Err` after the lines before
    /// the first one over the cap.
    fn reference(data: &[u8], encoding: Encoding) -> (Vec<Vec<u8>>, bool) {
        let mut lines = Vec::new();
        let mut line = Vec::new();
        let mut i = 0;
        while i < data.len() {
            match data[i] {
                b'\r' | b'\n' => {
                    lines.push(encoding.decode(&line).into_owned());
                    line.clear();
                    if data[i] == b'\r' && data.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                }
                byte => {
                    line.push(byte);
                    if line.len() > MAX_LINE {
                        return (lines, false);
                    }
                }
            }
            i += 1;
        }
        if !line.is_empty() {
            lines.push(encoding.decode(&line).into_owned());
        }
        (lines, true)
    }

    /// The lines LineDecoder gives for `data` fed in pieces cut at `cuts`, and whether it
    /// ended without an error.
    fn decode_in_pieces(data: &[u8], cuts: &[usize], encoding: Encoding) -> (Vec<Vec<u8>>, bool) {
        let mut decoder = LineDecoder::new(encoding);
        let mut lines = Vec::new();
        let mut push = |l: &[u8]| {
            lines.push(l.to_vec());
            Flow::Continue(())
        };
        let mut cuts: Vec<usize> = cuts.iter().map(|&c| c % (data.len() + 1)).collect();
        cuts.sort_unstable();
        let mut start = 0;
        for end in cuts.into_iter().chain([data.len()]) {
            if decoder.feed(&data[start..end], &mut push).is_err() {
                return (lines, false);
            }
            start = end;
        }
        let ok = decoder.finish(&mut push).is_ok();
        (lines, ok)
    }

    /// Text made of pieces that matter to the splitter and the decoder: line ends, ASCII,
    /// multi-byte characters (which the cuts may split), bytes that are not UTF-8, and runs
    /// long enough that a few of them make a line over the cap.
    fn text() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            4 => Just(b"\r\n".to_vec()),
            3 => Just(b"\n".to_vec()),
            2 => Just(b"\r".to_vec()),
            6 => "[a-z ]{1,40}".prop_map(String::into_bytes),
            2 => Just("é€😀".as_bytes().to_vec()),
            1 => prop::collection::vec(0x80u8..=0xff, 1..3),
            1 => Just(vec![b'x'; 3000]),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        #[test]
        fn decoder_matches_a_byte_at_a_time_reference(
            data in text(),
            cuts in proptest::collection::vec(0usize..100_000, 0..6),
            encoding in proptest::sample::select(vec![Encoding::Utf8, Encoding::Latin1, Encoding::Bytes]),
        ) {
            proptest::prop_assert_eq!(decode_in_pieces(&data, &cuts, encoding), reference(&data, encoding));
        }
    }

    #[test]
    fn decoder_checks_lines_after_an_invalid_byte_and_across_blocks() {
        let (lines, ok) = decode_in_pieces(b"ok\n\xe9\nfine\ncaf\xc3\xa9\n", &[], Encoding::Utf8);
        assert!(ok);
        assert_eq!(lines, vec![b"ok".to_vec(), b"\xed\xb3\xa9".to_vec(), b"fine".to_vec(), "café".into()]);
        // The cut inside "é" makes the first block invalid at its end only.
        let (cut, _) = decode_in_pieces("a\ncafé\n".as_bytes(), &[6], Encoding::Utf8);
        assert_eq!(cut, vec![b"a".to_vec(), "café".into()]);
    }

    #[test]
    fn storlines_line_ends() {
        let mut src: &[u8] = b"a\nb\r\nc\rd";
        let mut r = LineReader { source: &mut src, pending: Vec::new(), eof: false };
        let mut out = Vec::new();
        let mut all = Vec::new();
        while let Some(n) = r.next_crlf_line(&mut out).unwrap() {
            all.extend_from_slice(&out[..n]);
        }
        // A lone CR inside a line is not a line end for storlines (ftplib reads by LF).
        assert_eq!(all, b"a\r\nb\r\nc\rd\r\n");
    }
}
