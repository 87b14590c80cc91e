//! The stop matrix of docs/RELIABILITY.md: on one server, a download and an upload of 64 MiB stopped by a callback, by the canceller (C `ftp_cancel`) and by the transfer stopper (C `ftp_abort` during a call) from another thread; prints one table row per case (time to return, code, PWD and NOOP in step, next whole download). Usage: cargo run --example stop_matrix NAME HOST PORT [tls|implicit] (user ftpc / ftpc-pass).
use ftpc::{Client, Flow};
use std::io::Cursor;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (name, host, port, tls) = (&a[1], &a[2], a[3].parse::<u16>().unwrap(), a.get(4).map(|s| s.as_str()));
    let mut c = match tls {
        Some("tls") => Client::new_tls(),
        Some("implicit") => {
            let mut c = Client::new_tls();
            c.config_mut().tls_mode = ftpc::TlsMode::Implicit;
            c
        }
        _ => Client::new(),
    };
    c.config_mut().tls.verify = false;
    c.connect(host, port, None, None).unwrap();
    c.login("ftpc", "ftpc-pass", "").unwrap();
    let data = vec![7u8; 64 << 20];
    c.storbinary(b"STOR probe.bin", &mut Cursor::new(&data[..]), 0, None, None).unwrap();
    let mode = tls.unwrap_or("plain");
    for how in ["callback", "cancel", "abort"] {
        for dir in ["download", "upload"] {
            let flag = if how == "abort" { c.transfer_stopper() } else { c.canceller() };
            let t0 = Instant::now();
            let th = (how != "callback").then(|| {
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(200));
                    flag.store(true, Ordering::SeqCst);
                    Instant::now()
                })
            });
            let mut n = 0usize;
            let slow = how != "callback";
            let e = if dir == "download" {
                c.retrbinary(
                    b"RETR probe.bin",
                    &mut |b| {
                        n += b.len();
                        if slow {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        if !slow && n > 1 << 20 {
                            Flow::Break(())
                        } else {
                            Flow::Continue(())
                        }
                    },
                    0,
                    None,
                )
                .map(drop)
            } else {
                let mut k = 0;
                c.storbinary(
                    b"STOR probe2.bin",
                    &mut Cursor::new(&data[..]),
                    0,
                    Some(&mut |_| {
                        k += 1;
                        if slow {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        if !slow && k > 20 {
                            Flow::Break(())
                        } else {
                            Flow::Continue(())
                        }
                    }),
                    None,
                )
                .map(drop)
            };
            let end = Instant::now();
            let from = th.map(|t| t.join().unwrap()).unwrap_or(t0);
            let took = end.duration_since(from);
            let pwd = c.pwd().is_ok()
                && c.last_reply().map(|r| r.code) == Some(257)
                && c.voidcmd(b"NOOP").is_ok_and(|r| r.code == 200);
            let mut got = 0;
            let next = c
                .retrbinary(
                    b"RETR probe.bin",
                    &mut |b| {
                        got += b.len();
                        Flow::Continue(())
                    },
                    0,
                    None,
                )
                .is_ok()
                && got == data.len();
            println!(
                "| {name} | {mode} | {how} | {dir} | {:.0} ms | {} | {} | {} |",
                took.as_secs_f64() * 1000.0,
                match e {
                    Err(ftpc::Error::Stopped) => "Stopped".to_string(),
                    other => format!("{other:?}"),
                },
                if pwd { "yes" } else { "NO" },
                if next { "yes" } else { "NO" }
            );
        }
    }
    c.delete(b"probe.bin").ok();
    c.delete(b"probe2.bin").ok();
}
