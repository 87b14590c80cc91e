//! FEAT replies (RFC 2389) and what they say the server offers.

use super::reply::Reply;

/// The features of a 211 FEAT reply: the lines between the first and the last, each
/// starting with a space.
pub fn parse_feat(reply: &Reply) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(&reply.text);
    let lines: Vec<&str> = text.split('\n').collect();
    if lines.len() < 3 {
        return Vec::new();
    }
    lines[1..lines.len() - 1]
        .iter()
        .filter_map(|l| {
            let l = l.trim();
            if l.is_empty() {
                return None;
            }
            let (name, rest) = l.split_once(' ').unwrap_or((l, ""));
            Some((name.to_ascii_uppercase(), rest.trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feat_lines() {
        let r = Reply::new(211, &b"211-Features:\n MDTM\n REST STREAM\n mlst type*;size*;\n UTF8\n211 End"[..]);
        let f = parse_feat(&r);
        assert_eq!(
            f,
            vec![
                ("MDTM".to_string(), String::new()),
                ("REST".to_string(), "STREAM".to_string()),
                ("MLST".to_string(), "type*;size*;".to_string()),
                ("UTF8".to_string(), String::new()),
            ]
        );
        assert!(parse_feat(&Reply::new(211, &b"211 no features"[..])).is_empty());
    }
}
