//! How a test makes its client calls: blocking, or as the one operation of a `Multi` driven
//! by its own wait/perform loop (the non-blocking path of issue 16). The same test, the same
//! bounds, either way.

use ftpc::Client;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Blocking,
    Multi,
}

pub const VIAS: [Via; 2] = [Via::Blocking, Via::Multi];

impl Via {
    /// `FTPC_TEST_VIA=multi` runs a whole test file through the non-blocking path.
    pub fn from_env() -> Via {
        match std::env::var("FTPC_TEST_VIA").as_deref() {
            Ok("multi") => Via::Multi,
            Ok("blocking") | Err(_) => Via::Blocking,
            Ok(other) => panic!("FTPC_TEST_VIA={other}: expected blocking or multi"),
        }
    }

    /// Runs `call` on `c`: directly, or as the one operation of a `Multi` (the client moved
    /// in and back out; a panic of the operation goes on to the test).
    pub fn call<T: 'static>(self, c: &mut Client, call: impl FnOnce(&mut Client) -> T + 'static) -> T {
        match self {
            Via::Blocking => call(c),
            Via::Multi => {
                let mut multi = ftpc::Multi::new();
                let token = multi.add(std::mem::take(c));
                multi.start(token, call).unwrap();
                let output = loop {
                    multi.wait(Duration::from_secs(1)).unwrap();
                    if let Some(done) = multi.perform().unwrap().pop() {
                        break done.take::<T>().expect("the operation's output");
                    }
                };
                *c = multi.remove(token).unwrap();
                output
            }
        }
    }
}
