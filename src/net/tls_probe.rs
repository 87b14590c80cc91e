//! Telling which TLS mode a port wants after a connection in the wrong one failed: an
//! implicit-FTPS port waits silently for a ClientHello, a plain or explicit-FTPS port sends
//! its `220` greeting in clear text at once.

use crate::net::stream;
use openssl::ssl::{HandshakeError, Ssl, SslContext, SslMethod, SslVerifyMode};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// TLS record content types a server answers a ClientHello with: handshake (its
/// ServerHello) or alert (it refused our offer, but it speaks TLS).
const TLS_HANDSHAKE: u8 = 0x16;
const TLS_ALERT: u8 = 0x15;
/// Every TLS version so far (SSL 3.0 to TLS 1.3 records) has major version 3.
const TLS_MAJOR_VERSION: u8 = 0x03;

/// Sends a ClientHello on `tcp` (a connection on which nothing was sent yet) and says
/// whether a TLS record comes back within `wait`. False on any failure: only a real answer
/// counts. `stop` cuts the wait short.
pub(crate) fn answers_client_hello(tcp: &TcpStream, wait: Duration, stop: &AtomicBool) -> bool {
    let Some(hello) = client_hello() else {
        return false;
    };
    let mut tcp = tcp;
    if tcp.write_all(&hello).is_err() {
        return false;
    }
    let mut header = [0u8; 2];
    let mut got = 0;
    while got < header.len() {
        if !matches!(stream::wait_for(tcp.as_raw_fd(), libc::POLLIN, wait, stop, "probing for TLS"), Ok(true)) {
            return false;
        }
        match tcp.read(&mut header[got..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got += n,
        }
    }
    matches!(header, [TLS_HANDSHAKE | TLS_ALERT, TLS_MAJOR_VERSION])
}

/// The bytes of a ClientHello as OpenSSL makes it, caught on their way out: a handshake
/// over a stream that keeps what is written and has nothing to read stops right after.
fn client_hello() -> Option<Vec<u8>> {
    struct Capture(Vec<u8>);
    impl Read for Capture {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::ErrorKind::WouldBlock.into())
        }
    }
    impl Write for Capture {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut context = SslContext::builder(SslMethod::tls_client()).ok()?;
    // Nothing is verified: the handshake never gets past its first message.
    context.set_verify(SslVerifyMode::NONE);
    let ssl = Ssl::new(&context.build()).ok()?;
    match ssl.connect(Capture(Vec::new())) {
        Err(HandshakeError::WouldBlock(mid)) => Some(mid.get_ref().0.clone()).filter(|hello| !hello.is_empty()),
        _ => None,
    }
}

/// After a TLS handshake failed on `tcp`: whether the server's bytes were a line of text
/// (what is left of it after the few bytes the handshake read as a record header), i.e. a
/// plain-text FTP greeting. Only looks (MSG_PEEK), waiting at most `wait` for the bytes.
pub(crate) fn sent_text_line(tcp: &TcpStream, wait: Duration, stop: &AtomicBool) -> bool {
    if !matches!(stream::wait_for(tcp.as_raw_fd(), libc::POLLIN, wait, stop, "probing for a greeting"), Ok(true)) {
        return false;
    }
    let mut buf = [0u8; 512];
    let Ok(n) = tcp.peek(&mut buf) else {
        return false;
    };
    is_text_line(&buf[..n])
}

/// Printable text (UTF-8 or Latin-1 bytes allowed) up to a CRLF.
fn is_text_line(bytes: &[u8]) -> bool {
    let Some(end) = bytes.windows(2).position(|pair| pair == b"\r\n") else {
        return false;
    };
    bytes[..end].iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_is_a_tls_handshake_record() {
        let hello = client_hello().unwrap();
        assert_eq!(hello[0], TLS_HANDSHAKE);
        assert_eq!(hello[1], TLS_MAJOR_VERSION);
        let length = usize::from(u16::from_be_bytes([hello[3], hello[4]]));
        assert_eq!(hello.len(), 5 + length, "one whole record");
        assert_eq!(hello[5], 1, "handshake type ClientHello");
    }

    #[test]
    fn text_lines() {
        // What is left of "220 FTP server ready\r\n" after OpenSSL read "220 F" as a header.
        assert!(is_text_line(b"TP server ready\r\n"));
        assert!(is_text_line(b"-Welcome\r\n220 ready\r\n"));
        assert!(is_text_line(b"\r\n"));
        assert!(!is_text_line(b"TP server ready"));
        assert!(!is_text_line(b"\x16\x03\x03\x00\x02\r\n"));
        assert!(!is_text_line(b""));
    }
}
