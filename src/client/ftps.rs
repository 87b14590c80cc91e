//! FTPS through the system OpenSSL: AUTH TLS and implicit TLS on the control connection,
//! PBSZ/PROT, CCC, and data connections that resume the control connection's session.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::net::stream::Stream;
use crate::net::tls::{self, set_read_ahead, shutdown_tls};
use crate::net::tls_cache::shared_context;
use crate::proto::reply::Reply;
use openssl::ssl::{Ssl, SslContext, SslStream};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

impl Client {
    /// Drops the built context so that changed options apply at the next handshake.
    pub fn forget_tls_context(&mut self) {
        self.tls.context = None;
    }

    pub(crate) fn tls_context(&mut self) -> Result<SslContext> {
        if let Some(ctx) = &self.tls.context {
            return Ok(SslContext::clone(ctx));
        }
        let ctx = match &self.config.tls.context {
            Some(own) => Arc::new(own.clone()),
            None => shared_context(&self.config.tls)?,
        };
        self.tls.context = Some(ctx.clone());
        Ok(SslContext::clone(&ctx))
    }

    /// A new TLS object for this server: SNI and host name (or IP) verification set.
    fn new_ssl(&mut self) -> Result<Ssl> {
        let ctx = self.tls_context()?;
        if self.config.tls.context.is_none() && !self.config.tls.verify {
            self.trace(1, || "*warning* TLS certificate verification is OFF".into());
        }
        let host = self.host().to_string();
        tls::new_ssl(&ctx, &host, &self.config.tls)
    }

    /// A TLS handshake as the client within `wait` (a cancel request ends it), traced.
    fn handshake(
        &mut self,
        ssl: Ssl,
        tcp: TcpStream,
        wait: Duration,
        what: &'static str,
    ) -> Result<SslStream<TcpStream>> {
        let stream = tls::connect(ssl, tcp, wait, &self.cancel, what)?;
        self.trace(2, || {
            format!(
                "*tls* {what}: {} {}{}",
                stream.ssl().version_str(),
                stream.ssl().current_cipher().map_or("", |c| c.name()),
                if stream.ssl().session_reused() { ", session resumed" } else { "" }
            )
        });
        Ok(stream)
    }

    /// Starts TLS on the control connection (implicit FTPS: before the greeting).
    pub(crate) fn start_control_tls(&mut self) -> Result<()> {
        // The server now expects a handshake: a connection that cannot have one is useless.
        let ssl = self.new_ssl().inspect_err(|_| self.drop_connection())?;
        let ctrl = self.ctrl()?;
        // A second descriptor keeps the control connection whole while the handshake owns the first.
        let spare = ctrl.stream.tcp().try_clone().map_err(|e| Error::io("starting TLS", e))?;
        let Stream::Plain(tcp) = std::mem::replace(&mut ctrl.stream, Stream::Plain(spare)) else {
            return Err(Error::WrongState("the control connection is already TLS".into()));
        };
        let wait = self.config.timeout;
        match self.handshake(ssl, tcp, wait, "control connection") {
            Ok(tls) => {
                self.ctrl()?.stream = Stream::Tls(Box::new(tls));
                Ok(())
            }
            Err(e) => {
                self.drop_connection();
                Err(e)
            }
        }
    }

    /// AUTH TLS then the handshake (ftplib's `auth`). A refusal is a TLS error: nothing goes
    /// on in clear text when TLS was asked for.
    pub fn auth(&mut self) -> Result<Reply> {
        if self.ctrl()?.stream.is_tls() {
            return Err(Error::WrongState("the control connection is already TLS".into()));
        }
        // Options that cannot make a context (CA or key files) fail before anything is sent.
        self.tls_context()?;
        let reply = match self.void("AUTH", Some(b"TLS")) {
            Ok(r) if r.code == 234 => r,
            Ok(r) | Err(Error::Reply(r) | Error::Temp(r) | Error::Perm(r)) => {
                self.drop_connection();
                return Err(Error::Tls(format!("the server refused AUTH TLS: {r}")));
            }
            Err(e) => return Err(e),
        };
        if self.ctrl()?.has_unread() {
            // Whatever follows 234 in clear text would be read as if it came over TLS.
            self.drop_connection();
            return Err(Error::Tls("the server sent data after its 234 reply, before the TLS handshake".into()));
        }
        self.start_control_tls()?;
        Ok(reply)
    }

    /// PBSZ 0 then PROT P: data connections are TLS from now on.
    pub fn prot_p(&mut self) -> Result<Reply> {
        self.void("PBSZ", Some(b"0"))?;
        let reply = self.void("PROT", Some(b"P"))?;
        self.tls.protect_data = true;
        self.tls.prot_chosen = true;
        Ok(reply)
    }

    /// PROT C: data connections in clear text.
    pub fn prot_c(&mut self) -> Result<Reply> {
        let reply = self.void("PROT", Some(b"C"))?;
        self.tls.protect_data = false;
        self.tls.prot_chosen = true;
        Ok(reply)
    }

    /// CCC: the control connection goes back to clear text after a TLS shutdown; the TCP
    /// connection stays.
    pub fn ccc(&mut self) -> Result<Reply> {
        if !self.ctrl()?.stream.is_tls() {
            return Err(Error::WrongState("the control connection is not TLS".into()));
        }
        let reply = self.void("CCC", None)?;
        let timeout = self.config.timeout;
        let ctrl = self.ctrl()?;
        let tcp = ctrl.stream.tcp().try_clone().map_err(|e| Error::io("CCC", e))?;
        let old = std::mem::replace(&mut ctrl.stream, Stream::Plain(tcp));
        if let Stream::Tls(mut tls) = old {
            self.tls.saved_session = tls.ssl().session().map(|s| s.to_owned());
            shutdown_tls(&mut tls, timeout.min(Duration::from_secs(5)), &crate::client::NEVER);
            // Dropping the TLS stream closes its descriptor only; the clone keeps the socket.
        }
        // The shutdown's bounded wait set the read timeout of the socket, which the clear-text
        // stream shares: give the control connection its reply timeout back.
        self.refresh_timeouts()?;
        Ok(reply)
    }

    pub fn is_tls(&self) -> bool {
        self.ctrl.as_ref().is_some_and(|c| c.stream.is_tls())
    }

    pub fn data_protected(&self) -> bool {
        self.tls.protect_data
    }

    /// TLS on a data connection when PROT P is in force, resuming the control session.
    pub(crate) fn wrap_data(&mut self, tcp: TcpStream) -> Result<Stream> {
        if !self.tls.protect_data {
            return Ok(Stream::Plain(tcp));
        }
        let session = match &self.ctrl()?.stream {
            Stream::Tls(tls) => tls.ssl().session().map(|s| s.to_owned()),
            Stream::Plain(_) => None,
        }
        .or_else(|| self.tls.saved_session.clone());
        // TLS writes one record (at most 16 KiB) per send: Nagle would hold each record after
        // the first until the server's ACK (FTPS uploads, loopback, 5 alternating runs of
        // 256 MiB: vsftpd median 265 -> 297 MB/s, pure-ftpd 393 -> 449 MB/s).
        tcp.set_nodelay(true).map_err(|e| Error::io("setting TCP_NODELAY", e))?;
        let mut ssl = self.new_ssl()?;
        if let Some(session) = session {
            // SAFETY: the session comes from a connection of this same context.
            unsafe { ssl.set_session(&session) }.map_err(|e| tls::tls_error("setting the session to resume", e))?;
        }
        set_read_ahead(&mut ssl);
        let wait = self.config.data_wait();
        let tls = self.handshake(ssl, tcp, wait, "data connection")?;
        if !tls.ssl().session_reused() {
            self.trace(2, || "*tls* data connection did not resume the control session".into());
        }
        Ok(Stream::Tls(Box::new(tls)))
    }

    /// close_notify, then a bounded wait for the server's.
    pub(crate) fn shutdown_tls_data(&mut self, tls: &mut SslStream<TcpStream>) -> Result<()> {
        let wait = self.config.data_wait().min(Duration::from_secs(2));
        shutdown_tls(tls, wait, &self.cancel);
        Ok(())
    }
}
