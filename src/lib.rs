//! ftpc: an FTP and FTPS client with the feature set of Python's `ftplib`, as a Rust core
//! behind a C ABI.
//!
//! Layers, each using only the ones below it: `proto` (the protocol without I/O), `net`
//! (sockets, TLS, control and data connections), `client` (the ftplib-shaped client), and
//! beside them `capi` (the C ABI, which only converts). `error` is the one error type of
//! the layers above `proto`.

pub mod error;
pub mod multi;
pub mod net;
pub mod proto;

pub mod capi;
mod client;

pub use client::config::{self, Config};
pub use client::mirror::{self, MirrorEvent, MirrorOptions, MirrorSummary};
pub use client::netrc;
pub use client::segmented::{self, SegmentOptions, SegmentedDownload};
pub use client::transfer::{self, Progress};
pub use client::walk::{self, WalkControl, WalkOptions, WalkOrder, WalkSummary};
pub use client::{Client, TraceSink};
pub use error::{Error, Result};
pub use multi::{Completion, Multi, SocketChange, Token};
pub use net::data::DataConnection;
pub use net::tls::{TlsConfig, TlsMode};
pub use proto::command::{self, Encoding};
pub use proto::lines::Flow;
pub use proto::reply::Reply;
pub use proto::{listing, pasv, reply};
pub use transfer::StopTransfer;

/// The TLS options, where they were before the layers (`ftpc::tls::TlsMode`).
pub mod tls {
    pub use crate::net::tls::{TlsConfig, TlsMode};
}
