//! Listings and facts about files: NLST, LIST, MLSD, MLST, FEAT, MDTM.

use crate::client::transfer::LineEnd;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::proto::command::Encoding;
use crate::proto::feat::{offers, parse_feat};
use crate::proto::lines::Flow;
use crate::proto::listing::{parse_list_line, parse_mlsd_line, parse_mlst_reply, parse_time_val, Entry};
use crate::proto::reply::Reply;

/// `VERB` or `VERB arg` as a command line for the transfer functions.
fn line(verb: &str, arg: Option<&[u8]>) -> Vec<u8> {
    let mut line = verb.as_bytes().to_vec();
    if let Some(arg) = arg.filter(|a| !a.is_empty()) {
        line.push(b' ');
        line.extend_from_slice(arg);
    }
    line
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// A 500-class answer that means the command itself is unknown.
fn unknown_command(e: &Error) -> bool {
    matches!(e, Error::Perm(r) if matches!(r.code, 500 | 502 | 504))
}

impl Client {
    /// The names NLST gives for `arg` (a path or options; None lists the current directory).
    pub fn nlst(&mut self, arg: Option<&[u8]>) -> Result<Vec<Vec<u8>>> {
        let mut names = Vec::new();
        self.retrlines(&line("NLST", arg), &mut |name| {
            names.push(name.to_vec());
            Flow::Continue(())
        })?;
        Ok(names)
    }

    /// ftplib's `nlst` as a stream: each name NLST gives for `arg` handed to `callback`.
    pub fn nlst_each(&mut self, arg: Option<&[u8]>, callback: &mut dyn FnMut(&[u8]) -> Flow) -> Result<Reply> {
        self.nlst_each_as(arg, LineEnd::Dropped, callback)
    }

    /// `nlst_each` with each name's end dropped or made a NUL (see `retrlines_as`).
    pub(crate) fn nlst_each_as(
        &mut self,
        arg: Option<&[u8]>,
        end: LineEnd,
        callback: &mut dyn FnMut(&[u8]) -> Flow,
    ) -> Result<Reply> {
        self.retrlines_as(&line("NLST", arg), end, callback)
    }

    /// ftplib's `dir`: each LIST line for `arg` handed to `callback`.
    pub fn dir(&mut self, arg: Option<&[u8]>, callback: &mut dyn FnMut(&[u8]) -> Flow) -> Result<Reply> {
        self.dir_as(arg, LineEnd::Dropped, callback)
    }

    /// `dir` with each line's end dropped or made a NUL (see `retrlines_as`).
    pub(crate) fn dir_as(
        &mut self,
        arg: Option<&[u8]>,
        end: LineEnd,
        callback: &mut dyn FnMut(&[u8]) -> Flow,
    ) -> Result<Reply> {
        self.retrlines_as(&line("LIST", arg), end, callback)
    }

    /// LIST parsed into entries (Unix and DOS formats; other lines come back unparsed).
    pub fn list_entries(&mut self, arg: Option<&[u8]>) -> Result<Vec<Entry>> {
        let now = now();
        let mut entries = Vec::new();
        self.retrlines(&line("LIST", arg), &mut |text| {
            entries.extend(parse_list_line(text, now));
            Flow::Continue(())
        })?;
        Ok(entries)
    }

    /// MLSD of `path` (None: the current directory). When `facts` is not empty, OPTS MLST
    /// asks for those facts first (a 5xx refusal is not an error). A server without MLSD
    /// gives `Unsupported`.
    pub fn mlsd(&mut self, path: Option<&[u8]>, facts: &[&str]) -> Result<Vec<Entry>> {
        if !facts.is_empty() {
            let mut arg = Vec::new();
            for fact in facts {
                arg.extend_from_slice(fact.as_bytes());
                arg.push(b';');
            }
            // Only a wish: a server that refuses it (vsftpd: 501) still answers MLSD with its
            // default facts, or with 500 when it has no MLSD at all (then `Unsupported`).
            match self.cmd("OPTS", Some(&[b"MLST ".as_slice(), &arg].concat())) {
                Ok(_) | Err(Error::Perm(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let mut entries = Vec::new();
        let mut bad = None;
        let result = self.retrlines(&line("MLSD", path), &mut |text| {
            match parse_mlsd_line(text) {
                Ok(entry) => entries.push(entry),
                Err(e) => bad = Some(format!("{} in {:?}", e.message, String::from_utf8_lossy(text))),
            }
            Flow::Continue(())
        });
        match result {
            Err(e) if unknown_command(&e) => {
                return Err(Error::Unsupported(format!("the server does not support MLSD ({e})")))
            }
            other => other?,
        };
        if let Some(message) = bad {
            return Err(Error::Proto(format!("malformed MLSD line: {message}")));
        }
        Ok(entries)
    }

    /// MLST of one path: its facts from the control connection.
    pub fn mlst(&mut self, path: Option<&[u8]>) -> Result<Entry> {
        let reply = match self.void("MLST", path.filter(|p| !p.is_empty())) {
            Err(e) if unknown_command(&e) => {
                return Err(Error::Unsupported(format!("the server does not support MLST ({e})")))
            }
            other => other?,
        };
        parse_mlst_reply(&reply.text).map_err(|e| Error::Proto(format!("malformed MLST reply: {}: {reply}", e.message)))
    }

    /// FEAT, parsed: each feature's name (upper-cased) and the rest of its line. Asked once
    /// per connection; empty when the server has no FEAT. When the server offers UTF8 and
    /// the encoding is UTF-8, sends OPTS UTF8 ON (RFC 2640).
    pub fn features(&mut self) -> Result<Vec<(String, String)>> {
        if let Some(features) = &self.session.features {
            return Ok(features.clone());
        }
        let features = match self.cmd("FEAT", None) {
            Ok(reply) if reply.code == 211 => parse_feat(&reply),
            Ok(_) => Vec::new(),
            Err(Error::Perm(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        self.session.features = Some(features.clone());
        if self.config.encoding == Encoding::Utf8 && features.iter().any(|(name, _)| name == "UTF8") {
            // Servers that refuse it still take UTF-8 names in practice: not an error.
            match self.cmd("OPTS", Some(b"UTF8 ON")) {
                Ok(_) | Err(Error::Perm(_) | Error::Temp(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(features)
    }

    /// Whether FEAT lists `name` (case-insensitive). `MLSD` is also offered when FEAT lists
    /// `MLST`: RFC 3659 §7.8 has MLST in FEAT stand for both commands, and servers (ProFTPD,
    /// pyftpdlib) list only it.
    pub fn has_feature(&mut self, name: &str) -> Result<bool> {
        Ok(offers(&self.features()?, name))
    }

    /// The modification time of a file from MDTM, in seconds since the epoch (UTC).
    pub fn mdtm(&mut self, filename: &[u8]) -> Result<i64> {
        let reply = self.cmd("MDTM", Some(filename))?;
        if reply.code != 213 {
            return Err(Error::Reply(reply));
        }
        let value = reply.last_line_message().trim_ascii();
        parse_time_val(value).ok_or_else(|| Error::Proto(format!("malformed MDTM time: {reply}")))
    }
}
