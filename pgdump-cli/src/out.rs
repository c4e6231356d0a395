//! Output that never panics. `println!` and `eprintln!` panic when a write fails (a
//! closed pipe: Rust ignores SIGPIPE, so writes fail with EPIPE; a full disk), so this
//! crate does not use them (clippy.toml forbids them):
//!
//! - messages go to stderr with [`stderr!`], best effort: when stderr cannot be written
//!   they are dropped, and the exit status still says how the command went;
//! - results go to stdout through `std::io::Write`, and a failed write is an error of
//!   the command ([`STDOUT`] names it), which then exits with status 1.

use std::io::Write;

use anyhow::{Context, Result};

/// What a failed write to stdout is reported as.
pub const STDOUT: &str = "writing to stdout";

/// Writes `line` and a newline to stderr in one write, or drops it.
pub fn stderr_line(line: std::fmt::Arguments<'_>) {
    let text = format!("{line}\n");
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// `eprintln!` that drops the line instead of panicking when stderr cannot be written.
macro_rules! stderr {
    ($($arg:tt)*) => {
        $crate::out::stderr_line(format_args!($($arg)*))
    };
}
pub(crate) use stderr;

/// Writes `text` to stdout and flushes it.
pub fn stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context(STDOUT)
}
