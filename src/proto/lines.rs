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
    /// Each line is handed over with a NUL after it (see `LineDecoder::nul_terminated`).
    nul: bool,
}

impl LineSplitter {
    /// Hands each line ended in `bytes` to `deliver`. When the lines are NUL-terminated, the
    /// line end bytes of `bytes` are overwritten with the NUL.
    pub fn feed(&mut self, bytes: &mut [u8], deliver: &mut dyn FnMut(&[u8]) -> Flow) -> Result<Flow> {
        self.split(bytes, |line, _| deliver(line))
    }

    /// `feed`, telling `deliver` where each line lies in `bytes` when it lies there whole
    /// (`None` for a line joined from the end of earlier blocks).
    /// (Generic, not `dyn`: the decoder's closure is then inlined into the loop, one call
    /// fewer per line.)
    fn split(&mut self, bytes: &mut [u8], mut deliver: impl FnMut(&[u8], Option<usize>) -> Flow) -> Result<Flow> {
        let mut start = 0;
        // Where a LF would only finish the CRLF of the line before.
        let mut lf_ends_nothing = if std::mem::take(&mut self.after_cr) { Some(0) } else { None };
        let mut ends = [0u16; ENDS_BLOCK + 8];
        let mut block = 0;
        while block < bytes.len() {
            let block_end = bytes.len().min(block + ENDS_BLOCK);
            let count = line_ends(&bytes[block..block_end], &mut ends);
            for &offset in &ends[..count] {
                let end = block + usize::from(offset);
                if bytes[end] == b'\n' && lf_ends_nothing == Some(end) {
                    start = end + 1;
                    continue;
                }
                lf_ends_nothing = (bytes[end] == b'\r').then_some(end + 1);
                let flow = if self.line.is_empty() {
                    // A whole line in this block: handed over where it lies, without a copy.
                    if end - start > MAX_LINE {
                        return Err(Error::LineTooLong(MAX_LINE));
                    }
                    if self.nul {
                        bytes[end] = 0;
                        deliver(&bytes[start..=end], Some(start))
                    } else {
                        deliver(&bytes[start..end], Some(start))
                    }
                } else {
                    self.keep(&bytes[start..end])?;
                    self.deliver_kept(&mut |line| deliver(line, None))
                };
                start = end + 1;
                if flow.is_break() {
                    return Ok(flow);
                }
            }
            block = block_end;
        }
        self.after_cr = lf_ends_nothing == Some(bytes.len());
        self.keep(&bytes[start..])?;
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

    /// Hands over the line kept from earlier blocks (with its NUL when asked) and forgets it.
    fn deliver_kept(&mut self, deliver: &mut dyn FnMut(&[u8]) -> Flow) -> Flow {
        if self.nul {
            self.line.push(0);
        }
        let flow = deliver(&self.line);
        self.line.clear();
        flow
    }

    /// The last line, when the data did not end with a line end.
    pub fn finish(&mut self, deliver: &mut dyn FnMut(&[u8]) -> Flow) -> Result<Flow> {
        if self.line.is_empty() {
            return Ok(Flow::Continue(()));
        }
        Ok(self.deliver_kept(deliver))
    }
}

/// How many bytes `line_ends` looks at per call: its offsets fit in a u16, the offsets of a
/// block of ~80-byte lines fill a few cache lines, and the loop over them ends (one branch
/// mispredicted) once per block, not once per 64 bytes.
const ENDS_BLOCK: usize = 1024;

/// Writes the offsets of the CR and LF bytes of `block` (at most `ENDS_BLOCK` bytes) into
/// `out` in order, and returns how many there are. Past that count `out` holds junk.
///
/// The offsets are the set bits of `line_end_mask`. The first two of each 64-byte chunk are
/// taken out without a branch, whether or not the chunk has that many: a branch per line end
/// would mispredict about once per line (their distance varies), while two stores cost a few
/// cycles. Only chunks with more line ends (short lines) loop. Two, not one, three or four:
/// `examples/line_feed.rs` took 12.5 ns per 20-140 byte line with two, 12.7 with one, 13.2
/// with three and 14.0 with four (5-20 byte lines: 7.2 with two, 6.7 with four).
fn line_ends(block: &[u8], out: &mut [u16; ENDS_BLOCK + 8]) -> usize {
    debug_assert!(block.len() <= ENDS_BLOCK);
    let mut count = 0;
    for (k, chunk) in block.chunks(64).enumerate() {
        let mut mask = line_end_mask(chunk);
        let base = (k * 64) as u16;
        // count + 1 < ENDS_BLOCK + 8: count is at most the bytes of the chunks before.
        for _ in 0..2 {
            // trailing_zeros of an empty mask is 64: junk, within the u16, not counted.
            out[count] = base + mask.trailing_zeros() as u16;
            count += usize::from(mask != 0);
            mask &= mask.wrapping_sub(1);
        }
        while mask != 0 {
            out[count] = base + mask.trailing_zeros() as u16;
            count += 1;
            mask &= mask - 1;
        }
    }
    count
}

/// Bit i set where `chunk[i]` (at most 64 bytes) is a CR or LF. The splitter finds a block's
/// line ends 64 bytes at a time this way: a memchr2 call per line cost more than the search
/// itself for lines of ~80 bytes.
fn line_end_mask(chunk: &[u8]) -> u64 {
    if let Ok(chunk) = <&[u8; 64]>::try_from(chunk) {
        #[cfg(target_arch = "x86_64")]
        return sse2::line_end_mask(chunk);
        #[cfg(not(target_arch = "x86_64"))]
        return swar_line_end_mask(chunk);
    }
    chunk.iter().enumerate().fold(0, |mask, (i, &b)| mask | (u64::from(b == b'\r' || b == b'\n') << i))
}

/// `line_end_mask` of a whole chunk eight bytes at a time in plain integer arithmetic, for
/// CPUs without the SSE2 path (aarch64: Apple silicon).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn swar_line_end_mask(chunk: &[u8; 64]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // The top bit of each byte that is zero, exactly: adding 0x7f to the low seven bits
    // cannot carry into the next byte.
    let zero_bytes = |y: u64| !(((y & LOW7) + LOW7) | y | LOW7);
    let mut mask = 0;
    for (k, word) in chunk.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        let hits = zero_bytes(x ^ 0x0d0d_0d0d_0d0d_0d0d) | zero_bytes(x ^ 0x0a0a_0a0a_0a0a_0a0a);
        // Bit 7 of byte i moved to bit i: the product adds the eight flags into the top byte.
        let bits = (hits >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56;
        mask |= bits << (8 * k);
    }
    mask
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};

    pub(super) fn line_end_mask(chunk: &[u8; 64]) -> u64 {
        let mut mask = 0;
        for (k, part) in chunk.chunks_exact(16).enumerate() {
            // SAFETY: SSE2 is part of every x86_64 CPU; the load reads the 16 bytes of `part`
            // (unaligned loads allowed).
            let bits = unsafe {
                let v = _mm_loadu_si128(part.as_ptr().cast::<__m128i>());
                let hits = _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\r' as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8)),
                );
                _mm_movemask_epi8(hits) as u32 as u64
            };
            mask |= bits << (16 * k);
        }
        mask
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

    /// A decoder that hands each line over with a NUL after it, as the last byte of the
    /// slice (not part of the line): for C callers, without a copy per line. The NUL takes
    /// the place of the line end in the block, so `feed` changes the block.
    pub fn nul_terminated(encoding: Encoding) -> LineDecoder {
        LineDecoder { splitter: LineSplitter { nul: true, ..LineSplitter::default() }, encoding }
    }

    pub fn feed(&mut self, bytes: &mut [u8], deliver: &mut dyn FnMut(&[u8]) -> Flow) -> Result<Flow> {
        let encoding = self.encoding;
        // The longest start of the block that is valid UTF-8. A line lying whole in it is
        // valid UTF-8 too: lines start and end next to CR or LF, and an ASCII byte is never
        // inside a multi-byte character, so the cuts fall between characters. Other lines
        // (joined across blocks, or after an invalid byte) are decoded one by one.
        let valid = match encoding {
            Encoding::Utf8 => valid_utf8_prefix(bytes),
            Encoding::Latin1 | Encoding::Bytes => 0,
        };
        self.splitter.split(bytes, |line, at| match at {
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

/// The length of the longest start of `bytes` that is valid UTF-8. simdutf8 checks a block
/// with SIMD instructions chosen at run time (AVX2 or SSE4.2 on x86_64, NEON on aarch64):
/// 80-byte lines with one accented letter each took 47 ns per line through the splitter
/// with `std::str::from_utf8`.
fn valid_utf8_prefix(bytes: &[u8]) -> usize {
    simdutf8::compat::from_utf8(bytes).map_or_else(|e| e.valid_up_to(), str::len)
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
            let _ = s.feed(&mut c.to_vec(), &mut push)?;
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
        decode_with(LineDecoder::new(encoding), data, cuts, |line| line.to_vec())
    }

    /// The same from a NUL-terminating decoder: each line must end with its NUL (dropped).
    fn decode_nul_terminated(data: &[u8], cuts: &[usize], encoding: Encoding) -> (Vec<Vec<u8>>, bool) {
        decode_with(LineDecoder::nul_terminated(encoding), data, cuts, |line| {
            let (nul, text) = line.split_last().expect("a NUL at least");
            assert_eq!(*nul, 0, "line {line:?} without its NUL");
            text.to_vec()
        })
    }

    fn decode_with(
        mut decoder: LineDecoder,
        data: &[u8],
        cuts: &[usize],
        take: impl Fn(&[u8]) -> Vec<u8>,
    ) -> (Vec<Vec<u8>>, bool) {
        let mut data = data.to_vec();
        let mut lines = Vec::new();
        let mut push = |l: &[u8]| {
            lines.push(take(l));
            Flow::Continue(())
        };
        let mut cuts: Vec<usize> = cuts.iter().map(|&c| c % (data.len() + 1)).collect();
        cuts.sort_unstable();
        let mut start = 0;
        for end in cuts.into_iter().chain([data.len()]) {
            if decoder.feed(&mut data[start..end], &mut push).is_err() {
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
        fn line_end_masks_agree_with_a_byte_at_a_time_scan(
            bytes in proptest::collection::vec(proptest::sample::select(vec![0u8, 0x0a, 0x0d, 0x0b, 0x8a, 0x8d, b'a', 0xff]), 64),
        ) {
            let expected = bytes.iter().enumerate().fold(0u64, |m, (i, &b)| m | (u64::from(b == b'\r' || b == b'\n') << i));
            proptest::prop_assert_eq!(line_end_mask(&bytes), expected);
            proptest::prop_assert_eq!(swar_line_end_mask(bytes[..].try_into().unwrap()), expected);
        }

        #[test]
        fn line_ends_lists_every_cr_and_lf_of_a_block(
            bytes in proptest::collection::vec(proptest::sample::select(vec![0x0a, 0x0d, b'a', 0x8d]), 0..=ENDS_BLOCK),
        ) {
            let expected: Vec<u16> = (0..bytes.len()).filter(|&i| matches!(bytes[i], b'\r' | b'\n')).map(|i| i as u16).collect();
            let mut out = [0u16; ENDS_BLOCK + 8];
            let count = super::line_ends(&bytes, &mut out);
            proptest::prop_assert_eq!(&out[..count], &expected[..]);
        }

        #[test]
        fn valid_utf8_prefix_agrees_with_from_utf8(data in text(), filler in 0usize..3000) {
            // ASCII before the text, so that the text starts at any offset of simdutf8's blocks.
            let mut bytes = vec![b'a'; filler];
            bytes.extend_from_slice(&data);
            let expected = std::str::from_utf8(&bytes).map_or_else(|e| e.valid_up_to(), str::len);
            proptest::prop_assert_eq!(valid_utf8_prefix(&bytes), expected);
        }

        #[test]
        fn decoder_matches_a_byte_at_a_time_reference(
            data in text(),
            cuts in proptest::collection::vec(0usize..100_000, 0..6),
            encoding in proptest::sample::select(vec![Encoding::Utf8, Encoding::Latin1, Encoding::Bytes]),
        ) {
            let expected = reference(&data, encoding);
            proptest::prop_assert_eq!(decode_in_pieces(&data, &cuts, encoding), expected.clone());
            proptest::prop_assert_eq!(decode_nul_terminated(&data, &cuts, encoding), expected);
        }
    }

    #[test]
    fn line_end_mask_finds_every_cr_and_lf() {
        // Every position of a 64-byte chunk (the SIMD path) and of shorter ones (the rest).
        for len in [64, 63, 17, 1, 0] {
            for at in 0..len {
                for end in [b'\r', b'\n'] {
                    let mut chunk = vec![b'x'; len];
                    chunk[at] = end;
                    chunk[len - 1 - at] = end;
                    let expected = (1u64 << at) | (1u64 << (len - 1 - at));
                    assert_eq!(line_end_mask(&chunk), expected, "len {len}, at {at}, byte {end}");
                    if let Ok(whole) = <&[u8; 64]>::try_from(&chunk[..]) {
                        assert_eq!(swar_line_end_mask(whole), expected, "SWAR, at {at}, byte {end}");
                    }
                }
            }
            // Bytes next to CR and LF (0x0B, 0x0C, 0x8A, 0x8D) are not line ends.
            let near: Vec<u8> = [0x09u8, 0x0B, 0x0C, 0x0E, 0x8A, 0x8D, 0xFF, 0].into_iter().cycle().take(len).collect();
            assert_eq!(line_end_mask(&near), 0, "len {len}");
            if let Ok(whole) = <&[u8; 64]>::try_from(&near[..]) {
                assert_eq!(swar_line_end_mask(whole), 0);
            }
        }
    }

    #[test]
    fn whole_lines_are_handed_over_in_place() {
        // ftp_retrlines' speed rests on this: a line lying whole in the received block is
        // given where it lies, with the NUL over its end, not copied; only a line joined
        // across blocks comes from the decoder's own buffer.
        let mut decoder = LineDecoder::nul_terminated(Encoding::Utf8);
        let mut seen = Vec::new();
        for text in [&b"first\r\nsecond\nthi"[..], b"rd\nfourth\n"] {
            let mut block = text.to_vec();
            let range = block.as_ptr_range();
            let _ = decoder.feed(&mut block, &mut |line| {
                seen.push((line.to_vec(), range.contains(&line.as_ptr())));
                Flow::Continue(())
            });
        }
        let expected = [("first", true), ("second", true), ("third", false), ("fourth", true)];
        let expected: Vec<(Vec<u8>, bool)> =
            expected.iter().map(|(text, in_place)| ([text.as_bytes(), b"\0"].concat(), *in_place)).collect();
        assert_eq!(seen, expected);
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
