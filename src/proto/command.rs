//! Building command lines: argument checks and the text encoding of the server.

use super::error::{ProtoError as Error, Result};

/// How strings given by the caller map to bytes on the wire (and back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8 (RFC 2640). Server bytes that are not UTF-8 come to the caller escaped as
    /// Python's `surrogateescape` does (byte `b` as the 3-byte form of the lone surrogate
    /// U+DC00+b: `0xE9` is `ED B3 A9`), and go back to the server as that byte: every name
    /// the server gave round-trips. Caller text must be valid UTF-8 apart from those escapes.
    #[default]
    Utf8,
    /// ISO-8859-1 on the wire, UTF-8 for the caller, converted both ways.
    Latin1,
    /// Bytes pass through untouched both ways, for byte-exact non-UTF-8 file names.
    Bytes,
}

impl Encoding {
    pub fn from_name(name: &str) -> Option<Encoding> {
        match name.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" => Some(Encoding::Latin1),
            "bytes" | "binary" | "raw" => Some(Encoding::Bytes),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Latin1 => "latin-1",
            Encoding::Bytes => "bytes",
        }
    }

    /// Caller text to wire bytes; an error (nothing sent) when it cannot be represented.
    pub fn encode(self, text: &[u8]) -> Result<Vec<u8>> {
        match self {
            Encoding::Bytes => Ok(text.to_vec()),
            Encoding::Utf8 => unescape_utf8(text),
            Encoding::Latin1 => {
                let s = std::str::from_utf8(text)
                    .map_err(|e| Error::Encoding(format!("argument is not valid UTF-8 ({e})")))?;
                s.chars()
                    .map(|c| {
                        u8::try_from(u32::from(c))
                            .map_err(|_| Error::Encoding(format!("{c:?} cannot be encoded as latin-1")))
                    })
                    .collect()
            }
        }
    }

    /// Wire bytes to caller text. Never fails, and `encode` gives the wire bytes back: bytes
    /// mode keeps them, UTF-8 mode escapes the bytes that are not UTF-8 (see `Utf8`).
    pub fn decode(self, wire: &[u8]) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Encoding::Bytes => std::borrow::Cow::Borrowed(wire),
            Encoding::Utf8 if std::str::from_utf8(wire).is_ok() => std::borrow::Cow::Borrowed(wire),
            Encoding::Utf8 => escape_utf8(wire).into(),
            Encoding::Latin1 => wire.iter().map(|&b| char::from(b)).collect::<String>().into_bytes().into(),
        }
    }
}

/// UTF-8 with each byte that is not part of valid UTF-8 replaced by the UTF-8-style form of
/// the lone surrogate U+DC00+byte (Python's `surrogateescape`, written out with
/// `surrogatepass`). Valid UTF-8 never holds surrogates, so the escapes cannot be confused
/// with text the server sent.
fn escape_utf8(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(wire.len() + 8);
    for chunk in wire.utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        for &byte in chunk.invalid() {
            // Only bytes 0x80-0xFF are ever invalid: U+DC80..U+DCFF, ED B2 80 .. ED B3 BF.
            out.extend_from_slice(&[0xED, 0xB2 | (byte >> 6 & 1), 0x80 | (byte & 0x3F)]);
        }
    }
    out
}

/// The byte an escape made by `escape_utf8` stands for, when `text` starts with one.
fn escaped_byte(text: &[u8]) -> Option<u8> {
    match *text {
        [0xED, second @ (0xB2 | 0xB3), third @ 0x80..=0xBF, ..] => Some(((second & 1) << 6) | 0x80 | (third & 0x3F)),
        _ => None,
    }
}

/// The inverse of `escape_utf8`: valid UTF-8 as is, each escape back to its byte; any other
/// invalid UTF-8 is the caller's mistake and is refused.
fn unescape_utf8(text: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(byte) = escaped_byte(rest) {
            out.push(byte);
            rest = &rest[3..];
            continue;
        }
        let valid = match std::str::from_utf8(rest) {
            Ok(_) => rest.len(),
            Err(e) if e.valid_up_to() > 0 => e.valid_up_to(),
            Err(e) => {
                let at = text.len() - rest.len();
                return Err(Error::Encoding(format!("argument is not valid UTF-8 (at byte {at}: {e})")));
            }
        };
        out.extend_from_slice(&rest[..valid]);
        rest = &rest[valid..];
    }
    Ok(out)
}

/// Refuses text that would end the command line early or smuggle a second command.
pub fn check_no_line_breaks(what: &str, text: &[u8]) -> Result<()> {
    match text.iter().find(|&&b| matches!(b, b'\r' | b'\n' | 0)) {
        Some(&b) => Err(Error::InvalidArgument(format!(
            "{what} contains {} and would break the command line",
            match b {
                b'\r' => "CR",
                b'\n' => "LF",
                _ => "NUL",
            }
        ))),
        None => Ok(()),
    }
}

/// `VERB` or `VERB arg`, checked and encoded, without the CRLF.
pub fn build(verb: &str, arg: Option<&[u8]>, encoding: Encoding) -> Result<Vec<u8>> {
    let mut line = verb.as_bytes().to_vec();
    if let Some(arg) = arg {
        check_no_line_breaks("argument", arg)?;
        line.push(b' ');
        line.extend_from_slice(&encoding.encode(arg)?);
    }
    check_no_line_breaks("command", &line)?;
    Ok(line)
}

/// A whole command line given by the caller (`sendcmd`), checked and encoded.
pub fn build_raw(cmd: &[u8], encoding: Encoding) -> Result<Vec<u8>> {
    check_no_line_breaks("command", cmd)?;
    if cmd.is_empty() {
        return Err(Error::InvalidArgument("empty command".into()));
    }
    encoding.encode(cmd)
}

/// For a `TYPE x` command line: `Some(Some(x))` for a one-letter type (upper-cased),
/// `Some(None)` for anything else the server may make of it; `None` for other commands.
pub fn type_sent(line: &[u8]) -> Option<Option<u8>> {
    let verb = line.get(..5)?;
    if !verb.eq_ignore_ascii_case(b"TYPE ") {
        return None;
    }
    Some(match line[5..].trim_ascii() {
        [t] => Some(t.to_ascii_uppercase()),
        _ => None,
    })
}

/// The line as shown in debug traces: the password of PASS (and ACCT) masked, as ftplib does.
pub fn sanitize(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let upper = text.to_ascii_uppercase();
    if upper.starts_with("PASS ") || upper.starts_with("ACCT ") {
        let keep = 5;
        format!("{}{}", &text[..keep], "*".repeat(text.len().saturating_sub(keep)))
    } else {
        text.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_refused() {
        for bad in [&b"a\rb"[..], b"a\nb", b"a\0b", b"\r\n"] {
            assert!(matches!(build("CWD", Some(bad), Encoding::Bytes), Err(Error::InvalidArgument(_))));
            assert!(matches!(build_raw(bad, Encoding::Bytes), Err(Error::InvalidArgument(_))));
        }
        assert_eq!(build("CWD", Some(b"a b"), Encoding::Utf8).unwrap(), b"CWD a b");
        assert_eq!(build("PWD", None, Encoding::Utf8).unwrap(), b"PWD");
    }

    #[test]
    fn encodings() {
        let e = "é€".as_bytes();
        assert_eq!(Encoding::Utf8.encode(e).unwrap(), e);
        assert!(matches!(Encoding::Utf8.encode(b"\xff"), Err(Error::Encoding(_))));
        assert_eq!(Encoding::Bytes.encode(b"\xff").unwrap(), b"\xff");
        assert_eq!(Encoding::Latin1.encode("é".as_bytes()).unwrap(), b"\xe9");
        assert!(matches!(Encoding::Latin1.encode("€".as_bytes()), Err(Error::Encoding(_))));
        assert_eq!(&*Encoding::Latin1.decode(b"\xe9"), "é".as_bytes());
        assert_eq!(&*Encoding::Utf8.decode(b"\xff"), b"\xed\xb3\xbf");
        assert_eq!(Encoding::from_name("Latin_1"), Some(Encoding::Latin1));
        assert_eq!(Encoding::from_name("koi8-r"), None);
    }

    #[test]
    fn utf8_mode_escapes_bytes_that_are_not_utf8() {
        // What Python gives: b"caf\xe9".decode("utf-8", "surrogateescape").encode("utf-8", "surrogatepass")
        assert_eq!(&*Encoding::Utf8.decode(b"caf\xe9.txt"), b"caf\xed\xb3\xa9.txt");
        assert_eq!(&*Encoding::Utf8.decode(b"\x80\xbf\xc0"), b"\xed\xb2\x80\xed\xb2\xbf\xed\xb3\x80");
        // A truncated sequence: each of its bytes is escaped, the valid text around it kept.
        let cut = ["é".as_bytes(), b"\xe2\x82", "é".as_bytes()].concat();
        let escaped = ["é".as_bytes(), b"\xed\xb3\xa2\xed\xb2\x82", "é".as_bytes()].concat();
        assert_eq!(&*Encoding::Utf8.decode(&cut), escaped);
        assert!(matches!(Encoding::Utf8.decode("é€".as_bytes()), std::borrow::Cow::Borrowed(_)));
        assert_eq!(Encoding::Utf8.encode(b"caf\xed\xb3\xa9.txt").unwrap(), b"caf\xe9.txt");
        assert_eq!(build("RETR", Some(b"caf\xed\xb3\xa9"), Encoding::Utf8).unwrap(), b"RETR caf\xe9");
    }

    #[test]
    fn utf8_mode_still_refuses_the_callers_invalid_utf8() {
        for bad in [&b"\xff"[..], b"caf\xe9", b"\xed\xb3", b"\xed\xa0\x80", b"\xed\xb1\xbf", b"a\xed\xb3\xc0", b"\xc3"]
        {
            assert!(matches!(Encoding::Utf8.encode(bad), Err(Error::Encoding(_))), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn decode_then_encode_gives_the_wire_bytes(wire in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            for encoding in [Encoding::Utf8, Encoding::Latin1, Encoding::Bytes] {
                let text = encoding.decode(&wire).into_owned();
                proptest::prop_assert_eq!(encoding.encode(&text).unwrap(), wire.clone(), "{:?}", encoding);
            }
            // Text that was UTF-8 stays as it was; anything else gets escapes.
            let text = Encoding::Utf8.decode(&wire).into_owned();
            proptest::prop_assert_eq!(std::str::from_utf8(&text).is_ok(), std::str::from_utf8(&wire).is_ok());
        }

        #[test]
        fn utf8_text_passes_unchanged(text in ".{0,40}") {
            proptest::prop_assert_eq!(Encoding::Utf8.encode(text.as_bytes()).unwrap(), text.as_bytes());
            proptest::prop_assert_eq!(&*Encoding::Utf8.decode(text.as_bytes()), text.as_bytes());
        }
    }

    #[test]
    fn sanitize_masks_password() {
        assert_eq!(sanitize(b"PASS secret"), "PASS ******");
        assert_eq!(sanitize(b"pass x"), "pass *");
        assert_eq!(sanitize(b"USER bob"), "USER bob");
    }

    #[test]
    fn type_commands_seen() {
        assert_eq!(type_sent(b"TYPE I"), Some(Some(b'I')));
        assert_eq!(type_sent(b"type a "), Some(Some(b'A')));
        assert_eq!(type_sent(b"TYPE L 8"), Some(None));
        assert_eq!(type_sent(b"TYPES"), None);
        assert_eq!(type_sent(b"PWD"), None);
    }
}
