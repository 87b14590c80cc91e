//! A server reply (RFC 959 §4.2) and the limits on its size. Reading replies from bytes is
//! `proto::replies`.

use std::fmt;

/// Longest reply line accepted, without its CRLF (ftplib's `maxline`).
pub const MAX_LINE: usize = 8192;
/// Most lines one reply may have; a server sending more is broken or hostile.
pub const MAX_REPLY_LINES: usize = 10_000;
/// Most bytes one reply may have, all lines together.
pub const MAX_REPLY_BYTES: usize = 4 << 20;

/// One complete server reply.
#[derive(Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code, 100..=599.
    pub code: u16,
    /// Every line of the reply as sent (codes included), joined by `\n`, as ftplib keeps it.
    pub text: Vec<u8>,
}

impl Reply {
    pub fn new(code: u16, text: impl Into<Vec<u8>>) -> Reply {
        Reply { code, text: text.into() }
    }

    /// The first digit: 1 preliminary, 2 success, 3 more needed, 4 transient, 5 permanent.
    pub fn class(&self) -> u8 {
        (self.code / 100) as u8
    }

    pub fn is_success(&self) -> bool {
        self.class() == 2
    }

    pub fn text_lossy(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }

    /// The text of the last line after the code and separator ("213 1234" gives "1234").
    pub fn last_line_message(&self) -> &[u8] {
        let last = match self.text.iter().rposition(|&b| b == b'\n') {
            Some(i) => &self.text[i + 1..],
            None => &self.text[..],
        };
        last.get(4..).unwrap_or(&[])
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reply({:?})", self.text_lossy())
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text_lossy())
    }
}
