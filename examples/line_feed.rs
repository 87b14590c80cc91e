//! The cost of `ftp_retrlines`' line splitting per line, without sockets: a text of 20-140
//! byte lines (LF ends; `--accented` puts an "é" at the start of each line, `--short` makes
//! them 5-20 bytes, as NLST names) is cut into
//! 64 KiB blocks; each block is copied into one reused buffer, as a socket read would fill
//! it, and fed to a NUL-terminating `LineDecoder` (the C layer's) whose deliverer adds up
//! the line lengths. 1 MiB of text, 64 passes, so the text stays in the CPU's caches; prints
//! the best of 15 rounds in ns per line (bench/ and docs/BENCHMARKS.md measure whole
//! transfers). Usage: cargo run --release --example line_feed [-- --accented] [--short]
use ftpc::proto::command::Encoding;
use ftpc::proto::lines::{Flow, LineDecoder};
use std::time::Instant;

fn text(accented: bool, short: bool) -> Vec<u8> {
    let mut x = 2_463_534_242u32;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut out = Vec::with_capacity(1 << 20);
    while out.len() < (1 << 20) - 150 {
        let len = if short { 5 + (next() % 16) as usize } else { 20 + (next() % 121) as usize };
        if accented {
            out.extend_from_slice("é".as_bytes());
        }
        out.extend((0..len - usize::from(accented) * 2).map(|_| b'a' + (next() % 26) as u8));
        out.push(b'\n');
    }
    out
}

fn main() {
    let accented = std::env::args().any(|a| a == "--accented");
    let short = std::env::args().any(|a| a == "--short");
    let data = text(accented, short);
    let passes = 64;
    let lines = data.iter().filter(|&&b| b == b'\n').count() * passes;
    let mut buf = vec![0u8; 65536];
    let mut total = 0usize;
    let mut best = f64::MAX;
    for _ in 0..15 {
        let started = Instant::now();
        let mut decoder = LineDecoder::nul_terminated(Encoding::Utf8);
        let mut deliver = |line: &[u8]| {
            total = total.wrapping_add(line.len());
            Flow::Continue(())
        };
        for _ in 0..passes {
            for block in data.chunks(65536) {
                let read = &mut buf[..block.len()];
                read.copy_from_slice(block);
                let _ = decoder.feed(read, &mut deliver).expect("valid text");
            }
        }
        let _ = decoder.finish(&mut deliver).expect("valid text");
        best = best.min(started.elapsed().as_nanos() as f64 / lines as f64);
    }
    println!(
        "{:.2} ns per line, best of 15 ({} {} lines of {} text per round; checksum {total})",
        best,
        lines,
        if short { "short" } else { "long" },
        if accented { "accented" } else { "ASCII" }
    );
}
