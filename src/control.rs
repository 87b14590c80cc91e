//! The control connection: one command line out, one reply in, with bounded reads.

use crate::error::{Error, Result};
use crate::reply::{LineBuffer, Reply, ReplyParser, MAX_LINE};
use crate::stream::{self, Stream};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

pub(crate) struct Control {
    pub stream: Stream,
    lines: LineBuffer,
    parser: ReplyParser,
    pub peer: SocketAddr,
    pub local: SocketAddr,
}

impl Control {
    pub fn new(tcp: TcpStream, timeout: Duration) -> Result<Control> {
        // Commands are small and each waits for its reply: Nagle would only add latency.
        tcp.set_nodelay(true).map_err(|e| Error::io("setting TCP_NODELAY", e))?;
        let peer = tcp.peer_addr().map_err(|e| Error::io("reading the peer address", e))?;
        let local = tcp.local_addr().map_err(|e| Error::io("reading the local address", e))?;
        Control::with_addrs(tcp, peer, local, timeout)
    }

    /// A control connection over a connected socket whose addresses are given rather than
    /// asked (for `Client::connect_socket`: any stream socket, e.g. one end of a socketpair).
    pub fn with_addrs(tcp: TcpStream, peer: SocketAddr, local: SocketAddr, timeout: Duration) -> Result<Control> {
        let stream = Stream::Plain(tcp);
        stream.set_timeouts(Some(timeout), Some(timeout))?;
        Ok(Control { stream, lines: LineBuffer::new(MAX_LINE), parser: ReplyParser::new(), peer, local })
    }

    /// Sends one line; CRLF is added here.
    pub fn send_line(&mut self, line: &[u8]) -> Result<()> {
        let mut out = Vec::with_capacity(line.len() + 2);
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
        self.stream.write_all(&out).map_err(|e| Error::io("sending a command", e))?;
        self.stream.flush().map_err(|e| Error::io("sending a command", e))
    }

    /// Bytes the server sent that no reply has consumed yet.
    pub fn has_unread(&self) -> bool {
        !self.lines.pending().is_empty()
    }

    /// Reads one whole reply, waiting at most `timeout` for each read and giving up when
    /// `stop` is set. Any error leaves the connection out of step: the caller drops it.
    pub fn read_reply(&mut self, timeout: Duration, stop: &AtomicBool) -> Result<Reply> {
        loop {
            if let Some(line) = self.lines.next_line()? {
                if let Some(reply) = self.parser.push_line(&line)? {
                    return Ok(reply);
                }
                continue;
            }
            // Bytes OpenSSL already holds need no wait; otherwise the wait is the cancellable
            // part (a TLS record that is begun completes within the socket's own timeout).
            let buffered = matches!(&self.stream, Stream::Tls(tls) if tls.ssl().pending() > 0);
            if !buffered && !stream::wait_for(self.stream.tcp().as_raw_fd(), libc::POLLIN, timeout, stop, "waiting for a reply")? {
                return Err(Error::Timeout("reading a reply"));
            }
            const CHUNK: usize = 4096;
            let room = self.lines.spare(CHUNK);
            let n = match self.stream.read(room) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    self.lines.filled(CHUNK, 0);
                    continue;
                }
                Err(e) => {
                    self.lines.filled(CHUNK, 0);
                    return Err(Error::io("reading a reply", e));
                }
            };
            self.lines.filled(CHUNK, n);
            if n == 0 {
                return Err(Error::Eof(if self.parser.in_reply() || !self.lines.pending().is_empty() {
                    "in the middle of a reply"
                } else {
                    "while waiting for a reply"
                }));
            }
        }
    }
}
