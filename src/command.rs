//! Building command lines: argument checks and the text encoding of the server.

use crate::error::{Error, Result};

/// How strings given by the caller map to bytes on the wire (and back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8 (RFC 2640): caller strings must be valid UTF-8; server bytes pass through as is.
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
            Encoding::Utf8 => match std::str::from_utf8(text) {
                Ok(_) => Ok(text.to_vec()),
                Err(e) => Err(Error::Encoding(format!("argument is not valid UTF-8 ({e})"))),
            },
            Encoding::Latin1 => {
                let s = std::str::from_utf8(text)
                    .map_err(|e| Error::Encoding(format!("argument is not valid UTF-8 ({e})")))?;
                s.chars()
                    .map(|c| {
                        u8::try_from(u32::from(c)).map_err(|_| {
                            Error::Encoding(format!("{c:?} cannot be encoded as latin-1"))
                        })
                    })
                    .collect()
            }
        }
    }

    /// Wire bytes to caller text. Never fails: UTF-8 and bytes modes keep the bytes as sent.
    pub fn decode(self, wire: &[u8]) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Encoding::Utf8 | Encoding::Bytes => std::borrow::Cow::Borrowed(wire),
            Encoding::Latin1 => wire.iter().map(|&b| char::from(b)).collect::<String>().into_bytes().into(),
        }
    }
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
        assert_eq!(&*Encoding::Utf8.decode(b"\xff"), b"\xff");
        assert_eq!(Encoding::from_name("Latin_1"), Some(Encoding::Latin1));
        assert_eq!(Encoding::from_name("koi8-r"), None);
    }

    #[test]
    fn sanitize_masks_password() {
        assert_eq!(sanitize(b"PASS secret"), "PASS ******");
        assert_eq!(sanitize(b"pass x"), "pass *");
        assert_eq!(sanitize(b"USER bob"), "USER bob");
    }
}
