//! The restore's planning without a server, for a TOC of about 100,000 entries
//! (`PGDUMP_BENCH_ENTRIES` to change) written by the dump's own planning functions from
//! the synthetic catalog of `catalog.rs`: entry selection (`restore::select::select`),
//! the plan (`restore::plan::plan`, file input, frames of 4 MiB), and the scheduler
//! (`restore::sched::Scheduler`) loaded with the plan and drained by two simulated
//! workers (each task completes right after it is handed out). Items per second of one
//! core. Before criterion runs, the drain is timed once at 1/10, 1/3 and the full size:
//! time growing faster than the size shows a super-linear scheduler.
//!
//! cargo bench -p pgdump-benches --bench restore_plan -- --warm-up-time 1 --measurement-time 3

mod common;

use std::collections::VecDeque;
use std::time::Instant;

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};
use pgdump_benches::synth;
use pgdump_core::restore::plan::{plan, Plan, StreamFrames, TaskKind};
use pgdump_core::restore::sched::Scheduler;
use pgdump_core::restore::select::select;
use pgdump_core::restore::RestoreOptions;
use pgdump_format::{Toc, DEFAULT_FRAME_SIZE};

const JOBS: usize = 2;

fn entries() -> usize {
    std::env::var("PGDUMP_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// A TOC of about `entries` entries (the synthetic catalog has ~6.7 items per table).
fn toc_of(entries: usize) -> Toc {
    synth::toc(&synth::catalog((entries * 10 / 67).max(1)))
}

fn plan_of(toc: &Toc, frames: &StreamFrames) -> Plan {
    let opts = RestoreOptions::default();
    let sel = select(toc, &opts).unwrap();
    plan(
        toc,
        &sel.keep,
        Some(frames),
        opts.data_task_bytes,
        opts.split_tables,
        false,
    )
}

/// The scheduler as the restore runner builds it.
fn scheduler(p: &Plan) -> Scheduler {
    let mut s = Scheduler::new();
    for t in &p.tasks {
        if t.kind == TaskKind::Barrier {
            s.add_barrier(&t.deps, t.held);
        } else {
            s.add(&t.deps, t.weight, t.locks.clone());
        }
    }
    s
}

/// Hands out every task to `JOBS` workers that finish in FIFO order; returns tasks run.
fn drain(mut s: Scheduler) -> usize {
    let mut running = VecDeque::new();
    let mut done = 0;
    loop {
        while running.len() < JOBS {
            match s.next_task() {
                Some(t) => running.push_back(t),
                None => break,
            }
        }
        let Some(t) = running.pop_front() else { break };
        s.complete(t, true);
        done += 1;
    }
    assert!(s.finished(), "the scheduler stalled after {done} tasks");
    done
}

fn bench_restore<M: Measurement>(c: &mut Criterion<M>) {
    let n = entries();
    for size in [n / 10, n / 3] {
        let toc = toc_of(size);
        let frames = synth::stream_frames(&toc, DEFAULT_FRAME_SIZE as u64);
        let p = plan_of(&toc, &frames);
        let t = Instant::now();
        let ran = drain(scheduler(&p));
        eprintln!(
            "scaling: {} entries, {} tasks ({ran} run): build+drain {:.0} ms",
            toc.entries.len(),
            p.tasks.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    let toc = toc_of(n);
    let frames = synth::stream_frames(&toc, DEFAULT_FRAME_SIZE as u64);
    let entries = toc.entries.len() as u64;
    let t = Instant::now();
    let p = plan_of(&toc, &frames);
    let t_plan = t.elapsed();
    let t = Instant::now();
    let s = scheduler(&p);
    let t_build = t.elapsed();
    let t = Instant::now();
    let ran = drain(s);
    eprintln!(
        "scaling: {entries} entries, {} tasks ({ran} run): select+plan {:.0} ms, \
         scheduler build {:.0} ms, drain {:.0} ms",
        p.tasks.len(),
        t_plan.as_secs_f64() * 1e3,
        t_build.as_secs_f64() * 1e3,
        t.elapsed().as_secs_f64() * 1e3
    );

    let opts = RestoreOptions::default();
    let keep = select(&toc, &opts).unwrap().keep;
    let mut g = c.benchmark_group("restore_plan");
    g.sample_size(10);
    g.throughput(Throughput::Elements(entries));
    g.bench_function("select", |b| {
        b.iter(|| select(&toc, &opts).unwrap().keep.len())
    });
    g.bench_function("plan", |b| {
        b.iter(|| {
            plan(
                &toc,
                &keep,
                Some(&frames),
                opts.data_task_bytes,
                opts.split_tables,
                false,
            )
            .tasks
            .len()
        })
    });
    g.bench_function("scheduler_build", |b| b.iter(|| scheduler(&p).len()));
    g.bench_function("scheduler_drain", |b| {
        b.iter_batched(|| scheduler(&p), drain, criterion::BatchSize::LargeInput)
    });
    g.finish();
}

fn main() {
    run_benches!(bench_restore);
}
