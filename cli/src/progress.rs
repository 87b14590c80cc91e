//! The progress bar of a transfer: on stderr when it is a terminal, nothing otherwise.

use ftpc::Flow;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

pub struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    /// A bar for `label` when `shown` and stderr is a terminal.
    pub fn new(label: &str, shown: bool) -> Bar {
        if !shown || !std::io::stderr().is_terminal() {
            return Bar { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{msg} {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(label.to_string());
        Bar { bar: Some(bar) }
    }

    /// The library's progress callback: bytes done and the total when known.
    pub fn callback(&self) -> impl FnMut(u64, Option<u64>) -> Flow + '_ {
        move |done, total| {
            if let Some(bar) = &self.bar {
                if let Some(total) = total {
                    bar.set_length(total);
                }
                bar.set_position(done);
            }
            Flow::Continue(())
        }
    }

    /// Leaves the finished bar on the terminal (or clears it after a failure).
    pub fn finish(&self, ok: bool) {
        if let Some(bar) = &self.bar {
            if ok {
                bar.finish();
            } else {
                bar.abandon();
            }
        }
    }
}
