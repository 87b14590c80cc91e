//! A TCP connection, plain or inside TLS, with the socket options FTP needs.

use crate::error::{Error, Result};
use openssl::ssl::SslStream;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
}

impl Stream {
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    pub fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> Result<()> {
        let tcp = self.tcp();
        tcp.set_read_timeout(read).map_err(|e| Error::io("setting a timeout", e))?;
        tcp.set_write_timeout(write).map_err(|e| Error::io("setting a timeout", e))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Every address a host name resolves to, in the resolver's order. Accepts `[v6]` brackets.
pub(crate) fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if bare.is_empty() {
        return Err(Error::InvalidArgument("empty host name".into()));
    }
    let addrs: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| Error::io("resolving the host name", e))?
        .collect();
    if addrs.is_empty() {
        return Err(Error::io(
            "resolving the host name",
            io::Error::new(io::ErrorKind::NotFound, format!("{bare} has no address")),
        ));
    }
    Ok(addrs)
}

/// Connects to the first address that answers, each within `timeout`, from `source` when
/// given (only addresses of the source's family are tried then).
pub(crate) fn connect_any(
    addrs: &[SocketAddr],
    timeout: Duration,
    source: Option<SocketAddr>,
) -> Result<TcpStream> {
    let mut last = None;
    for addr in addrs {
        if source.is_some_and(|s| s.is_ipv4() != addr.is_ipv4()) {
            continue;
        }
        match connect_one(*addr, timeout, source) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => Error::io("connecting", e),
        None => Error::InvalidArgument("no address of the source address's family".into()),
    })
}

fn connect_one(addr: SocketAddr, timeout: Duration, source: Option<SocketAddr>) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if let Some(source) = source {
        socket.bind(&SockAddr::from(source))?;
    }
    socket.connect_timeout(&SockAddr::from(addr), timeout)?;
    let stream: TcpStream = socket.into();
    Ok(stream)
}
