//! The few libc calls the harness needs, kept in one place (the workspace denies
//! `unsafe_code`; each call here is a plain FFI call with no pointers).
#![allow(unsafe_code)]

/// The effective user id of this process.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Sends `signal` (e.g. `libc::SIGTERM`) to process `pid`; false if it does not exist or
/// may not be signalled. Refuses pids <= 0 (process groups).
pub fn send_signal(pid: i32, signal: i32) -> bool {
    if pid <= 0 {
        return false; // never signal a process group or every process
    }
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// Registers `f` to run when the process exits normally (`exit` or return from
/// `main`; not on a fatal signal).
pub(crate) fn at_exit(f: extern "C" fn()) -> bool {
    // SAFETY: `f` is a plain function with the signature atexit expects.
    unsafe { libc::atexit(f) == 0 }
}
