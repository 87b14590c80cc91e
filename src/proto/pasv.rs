//! Parsers of the replies that set up data connections: 227 (PASV), 229 (EPSV), 150 sizes,
//! and the formatting of PORT and EPRT arguments. Pure, so they can be fuzzed.

use super::error::{ProtoError as Error, Result};
use super::reply::Reply;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The address and port of a 227 reply: six numbers `h1,h2,h3,h4,p1,p2` anywhere in the text.
pub fn parse227(reply: &Reply) -> Result<SocketAddr> {
    if reply.code != 227 {
        return Err(Error::Reply(reply.clone()));
    }
    let text = &reply.text[3.min(reply.text.len())..];
    let start = text.iter().position(u8::is_ascii_digit);
    let numbers = start.and_then(|s| six_numbers(&text[s..]));
    let malformed = || Error::Proto(format!("malformed 227 reply: {reply}"));
    let [h1, h2, h3, h4, p1, p2] = numbers.ok_or_else(malformed)?;
    let octet = |n: u32| u8::try_from(n).map_err(|_| malformed());
    let ip = Ipv4Addr::new(octet(h1)?, octet(h2)?, octet(h3)?, octet(h4)?);
    let port = port_from(octet(p1)?, octet(p2)?).ok_or_else(malformed)?;
    Ok(SocketAddr::new(IpAddr::V4(ip), port))
}

/// Six comma-separated decimal numbers at the start of `text`.
fn six_numbers(text: &[u8]) -> Option<[u32; 6]> {
    let mut out = [0u32; 6];
    let mut i = 0;
    for (k, slot) in out.iter_mut().enumerate() {
        if k > 0 {
            if text.get(i) != Some(&b',') {
                return None;
            }
            i += 1;
        }
        let digits = text[i.min(text.len())..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 3 {
            return None;
        }
        *slot = std::str::from_utf8(&text[i..i + digits]).ok()?.parse().ok()?;
        i += digits;
    }
    Some(out)
}

fn port_from(p1: u8, p2: u8) -> Option<u16> {
    let port = u16::from(p1) << 8 | u16::from(p2);
    (port != 0).then_some(port)
}

/// The port of a 229 reply, `(<d><d><d>port<d>)` with one delimiter repeated four times.
pub fn parse229(reply: &Reply) -> Result<u16> {
    if reply.code != 229 {
        return Err(Error::Reply(reply.clone()));
    }
    let malformed = || Error::Proto(format!("malformed 229 reply: {reply}"));
    let text = &reply.text;
    let open = text.iter().position(|&b| b == b'(').ok_or_else(malformed)?;
    let close = text[open..].iter().position(|&b| b == b')').ok_or_else(malformed)? + open;
    let inner = &text[open + 1..close];
    let delim = *inner.first().ok_or_else(malformed)?;
    // RFC 2428: the delimiter is a printable ASCII character other than a digit.
    if !(33..=126).contains(&delim) || delim.is_ascii_digit() {
        return Err(malformed());
    }
    let parts: Vec<&[u8]> = inner.split(|&b| b == delim).collect();
    if parts.len() != 5 || !parts[0].is_empty() || !parts[1].is_empty() || !parts[2].is_empty() || !parts[4].is_empty()
    {
        return Err(malformed());
    }
    let digits = parts[3];
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(malformed());
    }
    let port: u32 = std::str::from_utf8(digits).ok().and_then(|s| s.parse().ok()).ok_or_else(malformed)?;
    match u16::try_from(port) {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(Error::Proto(format!("229 reply gives port {port}, outside 1-65535"))),
    }
}

/// The size announced in `150 ... (N bytes)`, as ftplib's `parse150`.
pub fn parse150(reply: &Reply) -> Option<u64> {
    if reply.code != 150 {
        return None;
    }
    let text = &reply.text;
    let lower = text.to_ascii_lowercase();
    let end = find(&lower, b" bytes)")?;
    let open = lower[..end].iter().rposition(|&b| b == b'(')?;
    let digits = &text[open + 1..end];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The argument of `PORT h1,h2,h3,h4,p1,p2` (IPv4 only).
pub fn port_argument(addr: SocketAddr) -> Option<String> {
    match addr.ip() {
        IpAddr::V4(ip) => {
            let [a, b, c, d] = ip.octets();
            Some(format!("{a},{b},{c},{d},{},{}", addr.port() >> 8, addr.port() & 0xff))
        }
        IpAddr::V6(_) => None,
    }
}

/// The argument of `EPRT |1|addr|port|` or `|2|addr|port|`.
pub fn eprt_argument(addr: SocketAddr) -> String {
    let family = if addr.is_ipv4() { 1 } else { 2 };
    format!("|{family}|{}|{}|", addr.ip(), addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(code: u16, text: &str) -> Reply {
        Reply::new(code, text.as_bytes())
    }

    #[test]
    fn pasv_replies() {
        let a = parse227(&r(227, "227 Entering Passive Mode (127,0,0,1,117,49).")).unwrap();
        assert_eq!(a, "127.0.0.1:30001".parse().unwrap());
        // No parentheses, as some servers send it.
        let a = parse227(&r(227, "227 Entering Passive Mode 10,1,2,3,4,1")).unwrap();
        assert_eq!(a, "10.1.2.3:1025".parse().unwrap());
        for bad in [
            "227 Entering Passive Mode (256,0,0,1,1,1).",
            "227 Entering Passive Mode (127,0,0,1,0,0).",
            "227 Entering Passive Mode (127,0,0,1,1,300).",
            "227 Entering Passive Mode (127,0,0,1,1).",
            "227 Entering Passive Mode (1277,0,0,1,1,1).",
            "227 nothing",
            "227",
        ] {
            assert!(matches!(parse227(&r(227, bad)), Err(Error::Proto(_))), "{bad}");
        }
        assert!(matches!(parse227(&r(200, "200 ok")), Err(Error::Reply(_))));
    }

    #[test]
    fn epsv_replies() {
        assert_eq!(parse229(&r(229, "229 Entering Extended Passive Mode (|||30005|)")).unwrap(), 30005);
        assert_eq!(parse229(&r(229, "229 ok (!!!21!)")).unwrap(), 21);
        for bad in [
            "229 Entering Extended Passive Mode (|||0|)",
            "229 Entering Extended Passive Mode (|||65536|)",
            "229 Entering Extended Passive Mode (|||999999|)",
            "229 Entering Extended Passive Mode (||30005|)",
            "229 Entering Extended Passive Mode (|1|1.2.3.4|30005|)",
            "229 Entering Extended Passive Mode (|||30005)",
            "229 Entering Extended Passive Mode |||30005|",
            "229 Entering Extended Passive Mode (1112111)",
            "229 Entering Extended Passive Mode (|||-5|)",
            "229 Entering Extended Passive Mode (|||)",
        ] {
            assert!(matches!(parse229(&r(229, bad)), Err(Error::Proto(_))), "{bad}");
        }
    }

    #[test]
    fn sizes_in_150() {
        assert_eq!(parse150(&r(150, "150 Opening BINARY mode data connection for f (1234 bytes).")), Some(1234));
        assert_eq!(parse150(&r(150, "150 Opening data connection for f (1234 BYTES)")), Some(1234));
        assert_eq!(parse150(&r(150, "150 Here comes the directory listing.")), None);
        assert_eq!(parse150(&r(150, "150 x (99999999999999999999999 bytes)")), None);
        assert_eq!(parse150(&r(125, "125 x (5 bytes)")), None);
    }

    #[test]
    fn port_and_eprt() {
        assert_eq!(port_argument("127.0.0.1:30001".parse().unwrap()).unwrap(), "127,0,0,1,117,49");
        assert_eq!(eprt_argument("[::1]:2000".parse().unwrap()), "|2|::1|2000|");
        assert_eq!(eprt_argument("10.0.0.1:21".parse().unwrap()), "|1|10.0.0.1|21|");
        assert!(port_argument("[::1]:1".parse().unwrap()).is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panic(text in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse227(&Reply::new(227, text.clone()));
            let _ = parse229(&Reply::new(229, text.clone()));
            let _ = parse150(&Reply::new(150, text));
        }

        #[test]
        fn port_round_trip(a: u8, b: u8, c: u8, d: u8, port in 1u16..) {
            let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), port);
            let reply = Reply::new(227, format!("227 Entering Passive Mode ({}).", port_argument(addr).unwrap()));
            proptest::prop_assert_eq!(parse227(&reply).unwrap(), addr);
            let reply = Reply::new(229, format!("229 Entering Extended Passive Mode (|||{port}|)"));
            proptest::prop_assert_eq!(parse229(&reply).unwrap(), port);
        }
    }
}
