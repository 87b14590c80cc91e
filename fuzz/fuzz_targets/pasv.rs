//! parse227, parse229 and parse150 on arbitrary text, with and without a code in front.
//! Checks: an accepted 227 gives an IPv4 address and a port in 1..=65535 that survive
//! formatting (`port_argument`) and parsing again; an accepted 229 gives a port in
//! 1..=65535 whose digits are in the text; a 150 size is the number before " bytes)"; a
//! reply with another code is refused with `Error::Reply`.
#![no_main]

use ftpc::proto::pasv::{parse150, parse227, parse229, port_argument};
use ftpc::proto::reply::Reply;
use ftpc::proto::ProtoError as Error;
use libfuzzer_sys::fuzz_target;

fn check227(text: &[u8]) {
    if let Ok(addr) = parse227(&Reply::new(227, text)) {
        assert!(addr.is_ipv4(), "{addr}");
        assert_ne!(addr.port(), 0);
        let again = format!("227 Entering Passive Mode ({}).", port_argument(addr).unwrap());
        assert_eq!(parse227(&Reply::new(227, again.as_bytes())).unwrap(), addr);
    }
    assert!(matches!(parse227(&Reply::new(229, text)), Err(Error::Reply(_))));
}

fn check229(text: &[u8]) {
    if let Ok(port) = parse229(&Reply::new(229, text)) {
        assert_ne!(port, 0);
        let digits = port.to_string();
        assert!(text.windows(digits.len()).any(|w| w == digits.as_bytes()));
        let again = format!("229 Entering Extended Passive Mode (|||{port}|)");
        assert_eq!(parse229(&Reply::new(229, again.as_bytes())).unwrap(), port);
    }
    assert!(matches!(parse229(&Reply::new(227, text)), Err(Error::Reply(_))));
}

fn check150(text: &[u8]) {
    if let Some(size) = parse150(&Reply::new(150, text)) {
        let needle = format!("{size} bytes)");
        let lower = text.to_ascii_lowercase();
        assert!(
            lower.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{size}"
        );
    }
    assert_eq!(parse150(&Reply::new(125, text)), None);
}

fuzz_target!(|data: &[u8]| {
    let mut prefixed = Vec::with_capacity(data.len() + 4);
    for prefix in [&b""[..], b"227 ", b"229 ", b"150 "] {
        prefixed.clear();
        prefixed.extend_from_slice(prefix);
        prefixed.extend_from_slice(data);
        check227(&prefixed);
        check229(&prefixed);
        check150(&prefixed);
    }
});
