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

/// Whether `features` (from `parse_feat`) offer `name`, case-insensitively. MLSD counts as
/// offered when MLST is listed: RFC 3659 §7.8 has servers list MLST for both commands
/// (ProFTPD and pyftpdlib list only MLST).
pub fn offers(features: &[(String, String)], name: &str) -> bool {
    let listed = |wanted: &str| features.iter().any(|(n, _)| n.eq_ignore_ascii_case(wanted));
    listed(name) || (name.eq_ignore_ascii_case("MLSD") && listed("MLST"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlst_offers_mlsd() {
        let features = vec![("MLST".to_string(), "type*;size*;".to_string()), ("UTF8".to_string(), String::new())];
        assert!(offers(&features, "mlsd") && offers(&features, "MLST") && offers(&features, "utf8"));
        assert!(!offers(&features, "EPSV"));
        assert!(!offers(&[("MLSD".to_string(), String::new())], "MLST"), "MLSD alone does not imply MLST");
    }

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
