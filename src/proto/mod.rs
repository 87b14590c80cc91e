//! The FTP protocol without I/O: replies (codes, multi-line, limits), command lines (no CR,
//! LF or NUL; encodings), PASV/EPSV/150/257 parsing, FEAT, the lines of ASCII transfers,
//! listings (MLSD/MLST facts, Unix and DOS `LIST` lines), and the conversations that span
//! several replies (login, the start of a transfer, the replies after ABOR). Pure functions and small
//! state machines over bytes, each fuzzable on its own; nothing here touches a socket, so a
//! blocking client and an event-loop driver can share it.

pub mod command;
pub mod conversation;
mod error;
pub mod feat;
pub mod lines;
pub mod listing;
pub mod pasv;
pub mod replies;
pub mod reply;

pub use error::{ProtoError, Result};
