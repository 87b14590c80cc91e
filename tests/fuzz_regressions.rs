//! Inputs found by fuzzing, replayed through the same entry points, and the in-memory
//! session hook that `tests/properties.rs::session_against_a_hostile_server` uses (formerly
//! the `session` fuzz target): `Client::connect_socket` over one end of a socketpair. The
//! seed sessions of that former target are replayed there (`session_seeds_replay`).

use ftpc::{Client, Error};
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;

/// A client connected to a "server" that sends `script` and then EOF.
fn over_script(script: &[u8]) -> (Client, UnixStream) {
    let (client_end, mut server_end) = UnixStream::pair().unwrap();
    server_end.write_all(script).unwrap();
    server_end.shutdown(Shutdown::Write).unwrap();
    let mut client = Client::new();
    let peer = "192.0.2.1:21".parse().unwrap();
    let local = "192.0.2.2:40000".parse().unwrap();
    client.connect_socket(client_end.into(), peer, local).expect("greeting");
    (client, server_end)
}

/// Everything the client sent, once it is gone.
fn sent(client: Client, mut server_end: UnixStream) -> String {
    drop(client);
    let mut out = String::new();
    server_end.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn connect_socket_runs_a_session_in_memory() {
    let (mut client, server) =
        over_script(b"220-hello\r\n220 there\r\n331 pw\r\n230 in\r\n257 \"/a \"\"b\"\"\" is cwd\r\n221 bye\r\n");
    assert_eq!(client.welcome().unwrap().text, b"220-hello\n220 there");
    client.login("u", "p", "").unwrap();
    assert_eq!(client.pwd().unwrap(), b"/a \"b\"");
    client.quit().unwrap();
    assert!(!client.is_connected());
    assert_eq!(sent(client, server), "USER u\r\nPASS p\r\nPWD\r\nQUIT\r\n");
}

#[test]
fn eof_in_the_middle_closes_and_later_calls_send_nothing() {
    let (mut client, server) = over_script(b"220 hi\r\n331 pw\r\n230-a\r\n");
    assert!(matches!(client.login("u", "p", ""), Err(Error::Eof(_))));
    assert!(!client.is_connected());
    assert!(matches!(client.pwd(), Err(Error::WrongState(_))));
    assert!(matches!(client.features(), Err(Error::WrongState(_))));
    assert_eq!(sent(client, server), "USER u\r\nPASS p\r\n");
}

/// The former `session` fuzz target's first crash (a harness bug, kept as a test of the
/// behaviour it showed):
/// a 213 reply to MDTM whose text is no time ("213 4321", here a SIZE answer the hostile
/// server sent out of turn) is a protocol error, but the reply itself was well formed, so
/// the connection stays open and in step: the next command gets its own reply.
#[test]
fn malformed_mdtm_time_is_proto_and_keeps_the_connection() {
    let (mut client, server) = over_script(b"220 hi\r\n213 4321\r\n213 20240229120000\r\n221 bye\r\n");
    match client.mdtm(b"file.bin") {
        Err(Error::Proto(m)) => assert!(m.contains("malformed MDTM time"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(client.is_connected());
    assert_eq!(client.mdtm(b"file.bin").unwrap(), 1_709_208_000);
    client.quit().unwrap();
    assert_eq!(sent(client, server), "MDTM file.bin\r\nMDTM file.bin\r\nQUIT\r\n");
}
