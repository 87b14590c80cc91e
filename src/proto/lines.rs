//! Line handling of ASCII-mode transfers: splitting received text into lines (retrlines)
//! and reading lines to send with CRLF ends (storlines).

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
    pub fn feed(&mut self, mut bytes: &[u8], deliver: &mut dyn FnMut(&[u8]) -> Flow) -> Result<Flow> {
        while let Some(&first) = bytes.first() {
            if self.after_cr {
                self.after_cr = false;
                if first == b'\n' {
                    bytes = &bytes[1..];
                    continue;
                }
            }
            let Some(end) = bytes.iter().position(|&b| b == b'\r' || b == b'\n') else {
                self.keep(bytes)?;
                break;
            };
            let flow = if self.line.is_empty() {
                // A whole line in this block: handed over where it lies, without a copy.
                if end > MAX_LINE {
                    return Err(Error::LineTooLong(MAX_LINE));
                }
                deliver(&bytes[..end])
            } else {
                self.keep(&bytes[..end])?;
                let flow = deliver(&self.line);
                self.line.clear();
                flow
            };
            self.after_cr = bytes[end] == b'\r';
            bytes = &bytes[end + 1..];
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
