//! Options of a client, with the defaults a careful user wants.

use crate::net::tls::{TlsConfig, TlsMode};
use crate::proto::command::Encoding;
use std::net::IpAddr;
use std::time::Duration;

/// Timeouts and connection options. Every timeout is bounded: nothing waits forever.
///
/// One timeout, ftplib's `timeout`, bounds every wait of every call: connecting, each
/// reply, making or accepting a data connection, TLS handshakes and shutdowns on either
/// connection, and any period in which a data connection moves no byte (read or write). The
/// four overrides replace it for one kind of wait when set; `None` follows `timeout`.
#[derive(Debug, Clone)]
pub struct Config {
    pub timeout: Duration,
    /// Establishing the control connection, per address tried.
    pub connect_timeout: Option<Duration>,
    /// Establishing a passive data connection.
    pub data_connect_timeout: Option<Duration>,
    /// Waiting for the server to connect in active mode.
    pub data_accept_timeout: Option<Duration>,
    /// The longest a data connection may go without moving a byte, and its TLS handshake.
    pub data_timeout: Option<Duration>,
    /// Passive mode (EPSV, then PASV) rather than active (EPRT, then PORT).
    pub passive: bool,
    /// Use the address in a 227 reply rather than the control connection's peer (ftplib's
    /// `trust_server_pasv_ipv4_address`); off because following it allows bouncing to third hosts.
    pub trust_server_pasv_address: bool,
    /// Try EPSV before PASV (and EPRT before PORT) on IPv4; IPv6 always uses EPSV/EPRT.
    pub use_epsv: bool,
    pub encoding: Encoding,
    /// Address advertised in PORT/EPRT instead of the control connection's local one (NAT).
    pub active_address: Option<IpAddr>,
    /// Ports to listen on in active mode (inclusive); any free port when `None`.
    pub active_port_range: Option<(u16, u16)>,
    /// Plain FTP, explicit FTPS (AUTH TLS) or implicit FTPS.
    pub tls_mode: TlsMode,
    pub tls: TlsConfig,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl Config {
    pub fn connect_wait(&self) -> Duration {
        self.connect_timeout.unwrap_or(self.timeout)
    }
    pub fn data_connect_wait(&self) -> Duration {
        self.data_connect_timeout.unwrap_or(self.timeout)
    }
    pub fn data_accept_wait(&self) -> Duration {
        self.data_accept_timeout.unwrap_or(self.timeout)
    }
    pub fn data_wait(&self) -> Duration {
        self.data_timeout.unwrap_or(self.timeout)
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            data_connect_timeout: None,
            data_accept_timeout: None,
            data_timeout: None,
            passive: true,
            trust_server_pasv_address: false,
            use_epsv: true,
            encoding: Encoding::Utf8,
            active_address: None,
            active_port_range: None,
            tls_mode: TlsMode::Off,
            tls: TlsConfig::default(),
        }
    }
}
