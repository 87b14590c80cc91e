//! `ftp://` and `ftps://` URLs (RFC 1738 §3.2, with RFC 3986's bracketed IPv6 hosts).
//!
//! The path after the host names a file relative to the login directory, as RFC 1738
//! reads it (`ftp://host/dir/file` is `dir/file` wherever the server put the user); an
//! absolute path starts with `%2F` (`ftp://host/%2Fetc/motd` is `/etc/motd`). Everything is
//! percent-decoded to bytes, so that any file name the server has can be written.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Ftp,
    /// Implicit FTPS (TLS from the first byte, port 990).
    Ftps,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpUrl {
    pub scheme: Scheme,
    pub user: Option<String>,
    pub password: Option<String>,
    /// Without brackets for IPv6.
    pub host: String,
    pub port: u16,
    /// Decoded bytes; empty for the login directory.
    pub path: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct UrlError(pub String);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad(message: impl Into<String>) -> UrlError {
    UrlError(message.into())
}

/// `%XX` sequences to bytes; a `%` without two hex digits is an error.
pub fn percent_decode(text: &str) -> Result<Vec<u8>, UrlError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(byte.ok_or_else(|| bad(format!("bad percent escape in {text:?}")))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn decode_text(text: &str, what: &str) -> Result<String, UrlError> {
    String::from_utf8(percent_decode(text)?).map_err(|_| bad(format!("the {what} is not UTF-8 once decoded")))
}

impl FtpUrl {
    pub fn parse(text: &str) -> Result<FtpUrl, UrlError> {
        let (scheme, rest) = if let Some(rest) = strip_prefix_ignore_case(text, "ftp://") {
            (Scheme::Ftp, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(text, "ftps://") {
            (Scheme::Ftps, rest)
        } else {
            return Err(bad(format!("{text:?} is not an ftp:// or ftps:// URL")));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        // The last '@' ends the user information: a password may hold an unescaped '@'.
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(info) => match info.split_once(':') {
                Some((u, p)) => (Some(decode_text(u, "user")?), Some(decode_text(p, "password")?)),
                None => (Some(decode_text(info, "user")?), None),
            },
        };
        let (host, port) = split_host_port(hostport)?;
        if host.is_empty() {
            return Err(bad(format!("no host in {text:?}")));
        }
        let port = match port {
            Some(p) => p,
            None if scheme == Scheme::Ftps => 990,
            None => 21,
        };
        // RFC 1738's ";type=a|i|d" suffix is not supported: refused rather than sent as a name.
        if path.contains(";type=") {
            return Err(bad("the ;type= suffix is not supported"));
        }
        let path = percent_decode(path)?;
        Ok(FtpUrl { scheme, user: user.filter(|u| !u.is_empty()), password, host, port, path })
    }

    /// The path with a name appended when it ends with '/' or is empty (the login
    /// directory): where `put FILE URL/` puts FILE.
    pub fn path_or_join(&self, name: &[u8]) -> Vec<u8> {
        if self.path.is_empty() {
            name.to_vec()
        } else if self.path.ends_with(b"/") {
            [self.path.as_slice(), name].concat()
        } else {
            self.path.clone()
        }
    }

    /// The last component of the path (what `get` names the local file).
    pub fn file_name(&self) -> &[u8] {
        let path = self.path.strip_suffix(b"/").unwrap_or(&self.path);
        path.rsplit(|&b| b == b'/').next().unwrap_or_default()
    }

    /// The URL without its password, for messages.
    pub fn redacted(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Ftp => "ftp",
            Scheme::Ftps => "ftps",
        };
        let user = self.user.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        format!("{scheme}://{user}{host}:{}/{}", self.port, String::from_utf8_lossy(&self.path))
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

fn split_host_port(hostport: &str) -> Result<(String, Option<u16>), UrlError> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let end = rest.find(']').ok_or_else(|| bad(format!("unclosed '[' in {hostport:?}")))?;
        let after = &rest[end + 1..];
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| bad(format!("junk after ']' in {hostport:?}")))?),
        };
        (rest[..end].to_string(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| bad(format!("bad port {p:?}")))?),
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_url() {
        let u = FtpUrl::parse("ftp://me:p%40ss:w@ord@example.org:2121/dir/a%20file%E9").unwrap();
        assert_eq!(u.scheme, Scheme::Ftp);
        assert_eq!(u.user.as_deref(), Some("me"));
        assert_eq!(u.password.as_deref(), Some("p@ss:w@ord"));
        assert_eq!(u.host, "example.org");
        assert_eq!(u.port, 2121);
        assert_eq!(u.path, b"dir/a file\xe9");
        assert_eq!(u.file_name(), b"a file\xe9");
        assert_eq!(u.redacted(), "ftp://me@example.org:2121/dir/a file\u{fffd}");
    }

    #[test]
    fn defaults_ipv6_and_absolute_paths() {
        let u = FtpUrl::parse("FTPS://[::1]").unwrap();
        assert_eq!((u.scheme, u.host.as_str(), u.port, u.user.as_deref()), (Scheme::Ftps, "::1", 990, None));
        assert!(u.path.is_empty());
        let u = FtpUrl::parse("ftp://[::1]:21/%2Fetc/motd").unwrap();
        assert_eq!((u.port, u.path.as_slice()), (21, &b"/etc/motd"[..]));
        let u = FtpUrl::parse("ftp://h/dir/").unwrap();
        assert_eq!(u.port, 21);
        assert_eq!(u.path_or_join(b"x"), b"dir/x");
        assert_eq!(u.file_name(), b"dir");
        assert_eq!(FtpUrl::parse("ftp://h").unwrap().path_or_join(b"x"), b"x");
        assert_eq!(FtpUrl::parse("ftp://h/f").unwrap().path_or_join(b"x"), b"f");
        assert_eq!(FtpUrl::parse("ftp://u@h/").unwrap().password, None);
    }

    #[test]
    fn refused() {
        for bad in [
            "http://h/",
            "ftp://",
            "ftp://:21/",
            "ftp://h:0/",
            "ftp://h:99999/",
            "ftp://h:x/",
            "ftp://[::1/",
            "ftp://[::1]x/",
            "ftp://h/a%2",
            "ftp://h/a%zz",
            "ftp://%ff@h/",
            "ftp://h/f;type=i",
        ] {
            assert!(FtpUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
