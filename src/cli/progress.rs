//! Progress bars on stderr (indicatif), only when stderr is a terminal.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use custody::progress::{Progress, Silent};

pub fn for_terminal(quiet: bool) -> Box<dyn Progress> {
    if quiet || !std::io::stderr().is_terminal() {
        Box::new(Silent)
    } else {
        Box::new(Bar::new())
    }
}

struct Bar {
    pb: ProgressBar,
    items: AtomicU64,
}

impl Bar {
    fn new() -> Self {
        let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
        pb.enable_steady_tick(Duration::from_millis(125));
        Self {
            pb,
            items: AtomicU64::new(0),
        }
    }
}

impl Progress for Bar {
    fn phase(&self, name: &str, total: Option<u64>) {
        self.items.store(0, Ordering::Relaxed);
        self.pb.reset();
        self.pb.set_prefix(name.to_string());
        match total {
            Some(t) => {
                self.pb.set_length(t);
                self.pb.set_style(
                    ProgressStyle::with_template(
                        "{prefix:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
            }
            None => {
                self.pb.unset_length();
                self.pb.set_style(
                    ProgressStyle::with_template(
                        "{prefix:>10} {spinner} {bytes} {bytes_per_sec} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
            }
        }
    }

    fn bytes(&self, n: u64) {
        self.pb.inc(n);
    }

    fn items(&self, n: u64) {
        let total = self.items.fetch_add(n, Ordering::Relaxed) + n;
        if total % 64 == 0 || n > 1 {
            self.pb.set_message(format!("{total} files"));
        }
    }

    fn done(&self) {
        self.pb.finish_and_clear();
    }
}
