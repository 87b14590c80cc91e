//! Options of a client, with the defaults a careful user wants.

use crate::command::Encoding;
use crate::tls::{TlsConfig, TlsMode};
use std::net::IpAddr;
use std::time::Duration;

/// Timeouts and connection options. Every timeout is bounded: nothing waits forever.
#[derive(Debug, Clone)]
pub struct Config {
    /// Establishing the control connection, per address tried.
    pub connect_timeout: Duration,
    /// Waiting for each reply, and for each write, on the control connection.
    pub timeout: Duration,
    /// Establishing a passive data connection.
    pub data_connect_timeout: Duration,
    /// Waiting for the server to connect in active mode.
    pub data_accept_timeout: Duration,
    /// Each read or write on a data connection.
    pub data_timeout: Duration,
    /// Passive mode (EPSV, then PASV) rather than active (EPRT, then PORT).
    pub passive: bool,
    /// Use the address in a 227 reply rather than the control connection's peer (ftplib's
    /// `trust_server_pasv_ipv4_address`); off because following it allows bouncing to third hosts.
    pub trust_server_pasv_address: bool,
    /// Try EPSV before PASV (and EPRT before PORT).
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
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for Config {
    fn default() -> Config {
        Config {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            data_connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            data_accept_timeout: DEFAULT_CONNECT_TIMEOUT,
            data_timeout: DEFAULT_TIMEOUT,
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
