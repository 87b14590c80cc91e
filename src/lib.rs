//! ftpc: an FTP and FTPS client with the feature set of Python's `ftplib`, as a Rust core
//! behind a C ABI (see `capi`).

pub mod command;
pub mod config;
pub mod error;
pub mod reply;

pub mod listing;
pub mod netrc;
pub mod pasv;
pub mod tls;
pub mod transfer;

mod client;
mod control;
mod data;
mod directory;
mod stream;
mod tls_probe;

pub use client::{Client, TraceSink};
pub use command::Encoding;
pub use config::Config;
pub use data::DataConnection;
pub use error::{Error, Result};
pub use reply::Reply;
pub use tls::{TlsConfig, TlsMode};
pub use transfer::{Flow, StopTransfer};
pub mod capi;
