//! The control connection: one command line out, one reply in, with bounded reads.

use crate::error::{Error, Result};
use crate::net::stream::{Deadline, Stream};
use crate::proto::replies::{LineBuffer, ReplyParser};
use crate::proto::reply::{Reply, MAX_LINE};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

pub(crate) struct Control {
    pub stream: Stream,
    lines: LineBuffer,
    parser: ReplyParser,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// Bounds sending a command (the client's reply timeout).
    pub timeout: Duration,
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
        // Non-blocking: every wait is a poll with the call's deadline (stream::wait_until).
        tcp.set_nonblocking(true).map_err(|e| Error::io("setting the socket non-blocking", e))?;
        let stream = Stream::Plain(tcp);
        Ok(Control { stream, lines: LineBuffer::new(MAX_LINE), parser: ReplyParser::new(), peer, local, timeout })
    }

    /// Sends one line; CRLF is added here.
    pub fn send_line(&mut self, line: &[u8], stop: &AtomicBool) -> Result<()> {
        let mut out = Vec::with_capacity(line.len() + 2);
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
        self.send_raw(&out, stop)
    }

    /// Sends bytes as they are (a line already ended, or Telnet commands), within the
    /// control timeout.
    pub fn send_raw(&mut self, bytes: &[u8], stop: &AtomicBool) -> Result<()> {
        let deadline = Deadline::after(self.timeout, "sending a command");
        let mut left = bytes;
        while !left.is_empty() {
            match self.stream.write_before(left, deadline, stop)? {
                0 => return Err(Error::io("sending a command", std::io::ErrorKind::WriteZero.into())),
                n => left = &left[n..],
            }
        }
        Ok(())
    }

    /// Bytes the server sent that no reply has consumed yet.
    pub fn has_unread(&self) -> bool {
        !self.lines.pending().is_empty()
    }

    /// Reads one whole reply within `timeout` (for the whole reply, so a server that
    /// trickles a byte at a time cannot stretch it), giving up when `stop` is set. Any
    /// error leaves the connection out of step: the caller drops it.
    pub fn read_reply(&mut self, timeout: Duration, stop: &AtomicBool) -> Result<Reply> {
        let deadline = Deadline::after(timeout, "reading a reply");
        loop {
            if let Some(line) = self.lines.next_line()? {
                if let Some(reply) = self.parser.push_line(&line)? {
                    return Ok(reply);
                }
                continue;
            }
            const CHUNK: usize = 4096;
            let room = self.lines.spare(CHUNK);
            let read = self.stream.read_before(room, deadline, stop);
            let n = *read.as_ref().unwrap_or(&0);
            self.lines.filled(CHUNK, n);
            read?;
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
