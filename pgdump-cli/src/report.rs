//! Progress display (on a terminal only) and human-readable numbers.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pgdump_core::progress::{Event, Observer, SharedObserver};

use crate::out::stderr;

/// Progress shown on stderr when it is a terminal, nothing otherwise.
pub struct Progress {
    bar: ProgressBar,
    rows: AtomicU64,
    items: AtomicU64,
    failed: AtomicU64,
    total_items: AtomicU64,
    phase: Mutex<&'static str>,
}

impl Progress {
    /// A progress display, or a quiet one when stderr is not a terminal or `quiet`.
    pub fn new(quiet: bool) -> Arc<Progress> {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
        } else {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
            b.enable_steady_tick(Duration::from_millis(250));
            b
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix:>9} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Arc::new(Progress {
            bar,
            rows: AtomicU64::new(0),
            items: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            total_items: AtomicU64::new(0),
            phase: Mutex::new(""),
        })
    }

    /// As a core observer.
    pub fn observer(self: &Arc<Self>) -> SharedObserver {
        self.clone()
    }

    /// Remove the display.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn refresh_msg(&self) {
        let rows = self.rows.load(Ordering::Relaxed);
        let items = self.items.load(Ordering::Relaxed);
        let total = self.total_items.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        let mut msg = format!("{} rows", count(rows));
        if total > 0 && items > 0 {
            msg.push_str(&format!(", {items}/{total} items"));
        }
        if failed > 0 {
            msg.push_str(&format!(", {failed} failed"));
        }
        self.bar.set_message(msg);
    }
}

impl Observer for Progress {
    fn event(&self, event: &Event) {
        match event {
            Event::Phase { name } => {
                if let Ok(mut p) = self.phase.lock() {
                    *p = name;
                }
                self.bar.set_prefix(*name);
            }
            Event::Planned {
                items, est_bytes, ..
            } => {
                self.bar.set_length(*est_bytes);
                self.total_items.store(*items as u64, Ordering::Relaxed);
            }
            Event::Data { bytes, rows } => {
                self.bar.inc(*bytes);
                if self.bar.position() > self.bar.length().unwrap_or(0) {
                    self.bar.set_length(self.bar.position());
                }
                self.rows.fetch_add(*rows, Ordering::Relaxed);
                self.refresh_msg();
            }
            Event::ItemDone { error, .. } => {
                self.items.fetch_add(1, Ordering::Relaxed);
                if error.is_some() {
                    self.failed.fetch_add(1, Ordering::Relaxed);
                }
                self.refresh_msg();
            }
            Event::Warning { message } => {
                self.bar.suspend(|| stderr!("pgdump: warning: {message}"))
            }
            _ => {}
        }
    }
}

/// `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in human units.
pub fn bytes(n: u64) -> String {
    indicatif::BinaryBytes(n).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
    }
}
