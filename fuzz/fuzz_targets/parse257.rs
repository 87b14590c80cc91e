//! parse257 on arbitrary reply text.
//! Checks: the path is the quoted text after `257 "` with `""` unescaped: quoting it again
//! (`"` -> `""`) gives exactly the text that follows the opening quote, up to a closing
//! quote or the end; no quote, no path; a reply with another code is refused.
#![no_main]

use ftpc::proto::replies::parse257;
use ftpc::proto::reply::Reply;
use ftpc::proto::ProtoError as Error;
use libfuzzer_sys::fuzz_target;

fn check(text: &[u8]) {
    let path = parse257(&Reply::new(257, text)).expect("a 257 reply always parses");
    assert!(path.len() <= text.len());
    if text.get(3..5) != Some(b" \"") {
        assert!(path.is_empty());
    } else {
        let quoted: Vec<u8> = path
            .iter()
            .flat_map(|&b| if b == b'"' { vec![b'"', b'"'] } else { vec![b] })
            .collect();
        let rest = &text[5..];
        assert!(
            rest.starts_with(&quoted),
            "path {:?} is not what follows the quote",
            String::from_utf8_lossy(&path)
        );
        // Then either the end or the closing quote (one that is not doubled).
        match &rest[quoted.len()..] {
            [] => {}
            [b'"'] => {}
            [b'"', next, ..] => assert_ne!(*next, b'"'),
            other => panic!("path stops before {:?}", String::from_utf8_lossy(other)),
        }
    }
    assert!(matches!(parse257(&Reply::new(250, text)), Err(Error::Reply(_))));
}

fuzz_target!(|data: &[u8]| {
    check(data);
    let mut prefixed = b"257 \"".to_vec();
    prefixed.extend_from_slice(data);
    check(&prefixed);
});
