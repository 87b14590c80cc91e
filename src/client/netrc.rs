//! Credentials from a netrc file, read as Python's `netrc` module reads it.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetrcEntry {
    pub login: String,
    pub account: String,
    pub password: String,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Netrc {
    pub machines: Vec<(String, NetrcEntry)>,
    pub default: Option<NetrcEntry>,
}

impl Netrc {
    /// The entry for `host`, else the `default` entry.
    pub fn authenticators(&self, host: &str) -> Option<&NetrcEntry> {
        self.machines.iter().find(|(name, _)| name == host).map(|(_, e)| e).or(self.default.as_ref())
    }

    /// Reads `path`, or `~/.netrc` when `None`. A file holding a password must not be
    /// readable or writable by group or others, and must belong to the current user.
    pub fn load(path: Option<&Path>) -> Result<Netrc> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => default_path()?,
        };
        let text = std::fs::read(&path).map_err(|e| Error::Netrc(format!("cannot read {}: {e}", path.display())))?;
        let netrc = Netrc::parse(&String::from_utf8_lossy(&text))?;
        let has_password =
            netrc.machines.iter().map(|(_, e)| e).chain(netrc.default.as_ref()).any(|e| !e.password.is_empty());
        if has_password {
            check_private(&path)?;
        }
        Ok(netrc)
    }

    pub fn parse(text: &str) -> Result<Netrc> {
        let mut tokens = Tokens::new(text);
        let mut netrc = Netrc::default();
        while let Some(tok) = tokens.next() {
            let (name, mut entry) = match tok.as_str() {
                "machine" => match tokens.next() {
                    Some(host) => (Some(host), NetrcEntry::default()),
                    None => return Err(Error::Netrc("machine without a name".into())),
                },
                "default" => (None, NetrcEntry::default()),
                "macdef" => {
                    tokens.skip_macro();
                    continue;
                }
                other => return Err(Error::Netrc(format!("unexpected token {other:?}"))),
            };
            while let Some(key) = tokens.peek() {
                if matches!(key.as_str(), "machine" | "default" | "macdef") {
                    break;
                }
                let key = tokens.next().unwrap_or_default();
                let value = tokens.next().ok_or_else(|| Error::Netrc(format!("{key} without a value")))?;
                match key.as_str() {
                    "login" | "user" => entry.login = value,
                    "password" => entry.password = value,
                    "account" => entry.account = value,
                    other => return Err(Error::Netrc(format!("unknown keyword {other:?}"))),
                }
            }
            match name {
                Some(host) => {
                    // As Python: the first entry for a machine wins.
                    if !netrc.machines.iter().any(|(h, _)| *h == host) {
                        netrc.machines.push((host, entry));
                    }
                }
                None => netrc.default = Some(entry),
            }
        }
        Ok(netrc)
    }
}

fn default_path() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .map(|home| Path::new(&home).join(".netrc"))
        .ok_or_else(|| Error::Netrc("HOME is not set".into()))
}

fn check_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| Error::Netrc(format!("cannot stat {}: {e}", path.display())))?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    if meta.uid() != uid {
        return Err(Error::Netrc(format!("{} is not owned by the current user", path.display())));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(Error::Netrc(format!(
            "{} holds a password and is accessible by others (mode {:o}); chmod 600 it",
            path.display(),
            meta.mode() & 0o777
        )));
    }
    Ok(())
}

/// Whitespace-separated tokens, `"quoted strings"` with backslash escapes, `#` comments.
struct Tokens<'a> {
    rest: &'a str,
    peeked: Option<Option<String>>,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Tokens<'a> {
        Tokens { rest: text, peeked: None }
    }

    fn peek(&mut self) -> Option<String> {
        if self.peeked.is_none() {
            let next = self.lex();
            self.peeked = Some(next);
        }
        self.peeked.clone().flatten()
    }

    fn next(&mut self) -> Option<String> {
        match self.peeked.take() {
            Some(tok) => tok,
            None => self.lex(),
        }
    }

    fn lex(&mut self) -> Option<String> {
        loop {
            self.rest = self.rest.trim_start();
            if self.rest.starts_with('#') {
                self.rest = self.rest.find('\n').map_or("", |i| &self.rest[i..]);
                continue;
            }
            break;
        }
        let mut chars = self.rest.char_indices();
        let (_, first) = chars.next()?;
        let mut token = String::new();
        if first == '"' {
            let mut escaped = false;
            for (i, c) in chars {
                if escaped {
                    token.push(c);
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    self.rest = &self.rest[i + 1..];
                    return Some(token);
                } else {
                    token.push(c);
                }
            }
            self.rest = "";
            return Some(token);
        }
        let end = self.rest.find(char::is_whitespace).unwrap_or(self.rest.len());
        token.push_str(&self.rest[..end]);
        self.rest = &self.rest[end..];
        Some(token)
    }

    /// A macro definition runs from its name to the next empty line.
    fn skip_macro(&mut self) {
        self.peeked = None;
        let _name = self.lex();
        match self.rest.find("\n\n") {
            Some(i) => self.rest = &self.rest[i + 2..],
            None => self.rest = "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_default_and_macdef() {
        let n = Netrc::parse(
            "# comment\nmachine ftp.example.com login bob password \"p w\\\"d\" account acc\n\
             macdef init\ncd /pub\nbinary\n\nmachine other login x\n\
             machine ftp.example.com login second\ndefault login anon password guest\n",
        )
        .unwrap();
        let e = n.authenticators("ftp.example.com").unwrap();
        assert_eq!((e.login.as_str(), e.password.as_str(), e.account.as_str()), ("bob", "p w\"d", "acc"));
        assert_eq!(n.authenticators("other").unwrap().login, "x");
        assert_eq!(n.authenticators("unknown").unwrap().login, "anon");
        assert!(Netrc::parse("machine").is_err());
        assert!(Netrc::parse("machine a login").is_err());
        assert!(Netrc::parse("bogus").is_err());
    }

    #[test]
    fn private_file_required_for_passwords() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("ftpc-netrc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("netrc");
        std::fs::write(&path, "machine h login u password p\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(Netrc::load(Some(&path)), Err(Error::Netrc(m)) if m.contains("chmod 600")));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Netrc::load(Some(&path)).unwrap().authenticators("h").unwrap().password, "p");
        // Without a password, a readable file is fine.
        std::fs::write(&path, "machine h login u\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Netrc::load(Some(&path)).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
