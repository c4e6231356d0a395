//! Shared by the benchmarks: measure the CPU time of the benchmarking thread (Linux
//! `/proc/thread-self/schedstat`) instead of wall time, so that "per core" numbers stay
//! meaningful on a machine shared with other work (as `format.rs` does).
//! `PGDUMP_BENCH_WALL=1` measures wall time instead (also used where that file is missing).

use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// CPU time consumed by the calling thread, in nanoseconds.
pub struct ThreadCpuTime;

static WALL: WallTime = WallTime;

/// CPU time of this thread so far (ns), if the kernel tells.
pub fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns().unwrap_or(0)
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().unwrap_or(0).saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Values are nanoseconds, like wall time.
        WALL.formatter()
    }
}

/// Runs `f` with a criterion configured from the command line, measuring thread CPU
/// time (or wall time, see the module documentation).
#[macro_export]
macro_rules! run_benches {
    ($f:ident) => {{
        let wall =
            std::env::var_os("PGDUMP_BENCH_WALL").is_some() || common::thread_cpu_ns().is_none();
        if wall {
            eprintln!("measuring wall time");
            let mut c = criterion::Criterion::default().configure_from_args();
            $f(&mut c);
            c.final_summary();
        } else {
            eprintln!(
                "measuring CPU time of the benchmark thread (PGDUMP_BENCH_WALL=1 for wall time)"
            );
            let mut c = criterion::Criterion::default()
                .with_measurement(common::ThreadCpuTime)
                .configure_from_args();
            $f(&mut c);
            c.final_summary();
        }
    }};
}
