//! A logged-in client for a URL: TLS mode and verification, timeouts, the debug trace, and
//! credentials from the URL, a netrc file or a prompt.

use crate::failure::{Failure, Outcome};
use crate::url::{FtpUrl, Scheme};
use ftpc::netrc::Netrc;
use ftpc::{Client, Config, Encoding, Error, TlsMode};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

/// The options every subcommand takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectOptions {
    /// Explicit FTPS on an ftp:// URL: AUTH TLS before login, data connections protected.
    /// (ftps:// URLs are implicit FTPS.)
    #[arg(long, global = true)]
    pub explicit_tls: bool,
    /// Trust the CA certificates in this PEM file (instead of the system's store).
    #[arg(long, global = true, value_name = "FILE")]
    pub cafile: Option<PathBuf>,
    /// Do not verify the server's certificate nor its host name (TLS still encrypts).
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Print the protocol trace on stderr, passwords masked (twice: every line).
    #[arg(short = 'd', long, global = true, action = clap::ArgAction::Count)]
    pub debug: u8,
    /// Seconds any wait may last (connect, each reply, data that does not move).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 60.0)]
    pub timeout: f64,
    /// Active mode (the server connects back: EPRT/PORT) instead of passive.
    #[arg(long, global = true)]
    pub active: bool,
    /// Read credentials from this netrc file instead of ~/.netrc.
    #[arg(long, global = true, value_name = "FILE")]
    pub netrc_file: Option<PathBuf>,
    /// Never ask for a password on the terminal.
    #[arg(long, global = true)]
    pub no_prompt: bool,
}

/// Connects and logs in as `url` and the options say.
pub fn open(url: &FtpUrl, options: &ConnectOptions) -> Outcome<Client> {
    if !(options.timeout.is_finite() && options.timeout > 0.0) {
        return Err(Failure::Usage(format!("--timeout {} is not a positive number of seconds", options.timeout)));
    }
    let mut config = Config {
        timeout: Duration::from_secs_f64(options.timeout),
        passive: !options.active,
        // Names are bytes: whatever the server has is shown and can be named back.
        encoding: Encoding::Bytes,
        ..Config::default()
    };
    config.tls_mode = match (url.scheme, options.explicit_tls) {
        (Scheme::Ftps, true) => {
            return Err(Failure::Usage("--explicit-tls goes with ftp:// URLs; ftps:// is implicit FTPS".into()))
        }
        (Scheme::Ftps, false) => TlsMode::Implicit,
        (Scheme::Ftp, true) => TlsMode::Explicit,
        (Scheme::Ftp, false) => TlsMode::Off,
    };
    config.tls.verify = !options.insecure;
    config.tls.ca_file = options.cafile.clone();
    let mut client = Client::with_config(config);
    if options.debug > 0 {
        client.set_debuglevel(options.debug);
        client.set_trace_sink(Some(Box::new(|line: &str| eprintln!("{line}"))));
    }
    let (user, password, account) = credentials(url, options)?;
    client
        .connect(&url.host, url.port, None, None)
        .map_err(Failure::ftp(format!("connecting to {}", url.redacted())))?;
    match client.login(&user, &password, &account) {
        Ok(_) => Ok(client),
        // A refusal of USER/PASS/ACCT is the login's; anything else keeps its class.
        Err(e @ (Error::Perm(_) | Error::Temp(_) | Error::Reply(_))) => {
            Err(Failure::Login(format!("login as {user} to {} refused: {e}", url.host)))
        }
        Err(e) => Err(Failure::Ftp(format!("logging in to {}", url.host), e)),
    }
}

/// User, password and account: the URL's, else the netrc entry for the host (for the
/// URL's user when it names one), else a prompt for the password on a terminal, else
/// anonymous when no user was named at all.
fn credentials(url: &FtpUrl, options: &ConnectOptions) -> Outcome<(String, String, String)> {
    if let (Some(user), Some(password)) = (&url.user, &url.password) {
        return Ok((user.clone(), password.clone(), String::new()));
    }
    if let Some(netrc) = load_netrc(options)? {
        if let Some(entry) = netrc.authenticators(&url.host) {
            if url.user.as_ref().is_none_or(|u| *u == entry.login) {
                return Ok((entry.login.clone(), entry.password.clone(), entry.account.clone()));
            }
        }
    }
    match &url.user {
        None => Ok(("anonymous".into(), String::new(), String::new())),
        Some(user) if !options.no_prompt && std::io::stdin().is_terminal() => {
            let password = rpassword::prompt_password(format!("Password for {user}@{}: ", url.host))
                .map_err(|e| Failure::Login(format!("cannot read the password: {e}")))?;
            Ok((user.clone(), password, String::new()))
        }
        Some(user) => Err(Failure::Login(format!(
            "no password for {user}@{}: give it in the URL or ~/.netrc (no terminal to ask on)",
            url.host
        ))),
    }
}

/// The netrc file named by the options (an error when unreadable), or ~/.netrc when
/// there is one.
fn load_netrc(options: &ConnectOptions) -> Outcome<Option<Netrc>> {
    let path = match &options.netrc_file {
        Some(path) => path.clone(),
        None => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".netrc"),
            None => return Ok(None),
        },
    };
    if options.netrc_file.is_none() && !path.exists() {
        return Ok(None);
    }
    Netrc::load(Some(&path)).map(Some).map_err(|e| Failure::Login(e.to_string()))
}
