//! The workers of a restore: each owns one connection and takes tasks from the
//! shared scheduler until nothing is left, the run stops, or (phase one of an
//! in-place `--clean`) a gate barrier is reached.
//!
//! Stopping: when the run's `stop` token fires (the caller cancelled, or a fatal
//! error: damaged archive, lost connection), a worker hands out nothing more and
//! waits for what is already on its connection, which [`super::engine`] cancels on
//! the server; what still completed is recorded, so that an undo knows it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pgdump_format::{CodecKind, DataKind, Frame, RawFrame, StreamId, Toc, TocEntry, Transform};
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

use super::copy_in::{self, LoadMode};
use super::options::RestoreOptions;
use super::outcome::{Failure, LARGE_OBJECTS};
use super::plan::{self, TaskKind};
use super::sched::{Scheduler, State};
use super::select::entry_kind;
use super::source::{object_name, Source};
use crate::catalog::Kind;
use crate::copy_data::BufPool;
use crate::error::{CoreError, Result};
use crate::progress::{Event, SharedObserver};

/// What the workers share.
pub(super) struct Run {
    pub toc: Arc<Toc>,
    pub opts: RestoreOptions,
    pub source: Source,
    pub state: Mutex<RunState>,
    pub notify: Notify,
    pub observer: SharedObserver,
    /// Fires when the run must stop: the caller cancelled, or a fatal error.
    pub stop: CancellationToken,
    /// Frames of a pipe held in memory at once (as data tasks not yet loaded).
    pub frame_permits: Arc<Semaphore>,
    /// Buffers of decoded frames, back from the COPYs that sent them.
    pub bufs: BufPool,
}

/// The mutable state of a run.
#[derive(Default)]
pub(super) struct RunState {
    pub sched: Scheduler,
    pub kinds: Vec<TaskKind>,
    /// Frames of a pipe waiting for their data task, by task.
    pub pipe_frames: HashMap<usize, RawFrame>,
    pub failures: Vec<Failure>,
    pub skipped: Vec<String>,
    /// TOC indices of entries this run created, in order.
    pub created: Vec<usize>,
    /// Tasks may still be added (frames from a pipe).
    pub external: bool,
    /// What stopped the run.
    pub fatal: Option<CoreError>,
    /// Stop handing out work at the first failure (one transaction, `--exit-on-error`).
    pub strict: bool,
    pub done: usize,
    pub rows: u64,
    pub bytes: u64,
    /// Rows loaded per target table.
    pub loaded: HashMap<String, u64>,
    /// Rows and content hash of the frames a pipe delivered, per stream (the facts a
    /// check compares with; a file has them in its index).
    pub stream_facts: HashMap<StreamId, (u64, u64)>,
}

impl Run {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, RunState> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Record an error that ends the run, and stop it.
    pub fn fail(&self, e: CoreError) {
        let mut st = self.lock();
        st.fatal.get_or_insert(e);
        st.sched.stop();
        st.external = false;
        drop(st);
        self.stop.cancel();
        self.notify.notify_waiters();
    }
}

/// The SQL of an entry as this restore runs it.
fn entry_sql(e: &TocEntry, opts: &RestoreOptions) -> String {
    let mut sql = e.create.clone();
    if !opts.no_owner {
        if let Some(o) = &e.alter_owner {
            sql.push_str(o);
        }
    }
    sql
}

/// Items worth batching into one transaction: quick DDL, not index builds, constraints
/// or validations. (Batching the post-data items of small tables was tried: a batch
/// holds the locks of every item until it commits, and DDL on a partitioned table
/// takes its partitions' locks one by one, which the scheduler cannot see: deadlocks
/// with a trigger on the parent, and a partitioned index left invalid.)
fn is_light(kind: Option<Kind>) -> bool {
    !matches!(
        kind,
        Some(
            Kind::Index
                | Kind::Constraint
                | Kind::CheckConstraint
                | Kind::FkConstraint
                | Kind::RefreshMatview
                | Kind::IndexAttach
        )
    )
}

const BATCH_ITEMS: usize = 64;
const BATCH_SQL_BYTES: usize = 1 << 20;

/// Requests a worker keeps on its connection at once: while the server runs one item,
/// the next is already on the wire, so the server does not wait a round trip (and for
/// the client to be scheduled) between two items. Tasks handed out together are
/// independent and their locks do not conflict (the scheduler's rules), so running
/// them one after the other on one connection is as safe as on two.
const PIPELINE_DEPTH: usize = 3;

/// Only tasks this light (bytes of data they load or build on) share the pipeline:
/// a heavy task queued behind another on one connection would wait while another
/// connection may be idle.
const PIPELINE_MAX_WEIGHT: u64 = 1 << 20;

/// What a worker has on its connection.
#[derive(Default)]
struct InFlight {
    /// Tasks too heavy to share the pipeline.
    heavy: usize,
    /// Loads that keep a transaction open across several requests (TRUNCATE + COPY
    /// FREEZE): nothing may be sent behind them, it would run inside that transaction.
    alone: usize,
}

/// A worker: take tasks until nothing is left, or the run stops, or (with `gate`)
/// until every task that barrier waits for has finished. `in_txn`: the connection is
/// inside the caller's transaction (one request at a time, nothing retried).
pub(super) async fn worker(
    run: &Run,
    client: &Client,
    in_txn: bool,
    gate: Option<usize>,
) -> Result<()> {
    // One transaction or stop at the first error: one request at a time.
    let depth = if in_txn || run.opts.exit_on_error {
        1
    } else {
        PIPELINE_DEPTH
    };
    let mut pipeline = futures::stream::FuturesOrdered::new();
    let mut flight = InFlight::default();
    loop {
        let notified = run.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let stopping = run.stop.is_cancelled() || run.lock().fatal.is_some();
        if stopping {
            // What is already on the wire is being cancelled on the server: wait for
            // it, so that the report (and an undo) knows exactly what was done.
            while let Some((results, _, _)) = futures::StreamExt::next(&mut pipeline).await {
                record(run, results, true);
            }
            return Ok(());
        }
        {
            let mut st = run.lock();
            while pipeline.len() < depth && flight.heavy == 0 && flight.alone == 0 {
                let first = pipeline.is_empty();
                let batch = take_batch(&mut st, &run.toc, |kinds, t, w| {
                    first || (w <= PIPELINE_MAX_WEIGHT && !runs_alone(&kinds[t]))
                });
                if batch.is_empty() {
                    break;
                }
                let heavy = batch
                    .iter()
                    .any(|&t| st.sched.weight(t) > PIPELINE_MAX_WEIGHT);
                let alone = batch.iter().any(|&t| runs_alone(&st.kinds[t]));
                flight.heavy += usize::from(heavy);
                flight.alone += usize::from(alone);
                pipeline.push_back(async move {
                    let results = execute(run, client, &batch, in_txn).await;
                    (results, heavy, alone)
                });
            }
            if pipeline.is_empty() {
                if gate.is_some_and(|g| st.sched.gate_reached(g)) {
                    return Ok(());
                }
                if st.sched.finished() && !st.external {
                    return Ok(());
                }
                if st.sched.running() == 0 && !st.external && !st.sched.finished() {
                    return Err(CoreError::Internal(
                        "restore plan stalled: no task is ready and none is running".into(),
                    ));
                }
            }
        }
        let (results, heavy, alone) = tokio::select! {
            Some(r) = futures::StreamExt::next(&mut pipeline) => r,
            // Something finished elsewhere: more may be ready to go into the pipeline.
            _ = &mut notified => continue,
            _ = run.stop.cancelled() => continue,
        };
        flight.heavy -= usize::from(heavy);
        flight.alone -= usize::from(alone);
        record(run, results, false);
        run.notify.notify_waiters();
    }
}

/// A load that keeps its transaction open across requests (see [`InFlight::alone`]).
fn runs_alone(kind: &TaskKind) -> bool {
    matches!(kind, TaskKind::Data { freeze: true, .. })
}

/// Does this error end the run rather than one item: a damaged archive, a cancel, a
/// lost connection (every later item would fail the same way).
fn is_fatal(e: &CoreError) -> bool {
    matches!(e, CoreError::Format(_) | CoreError::Cancelled) || e.is_connection_lost()
}

/// A statement cancelled on the server because the run stopped.
fn is_query_cancelled(e: &CoreError) -> bool {
    e.sqlstate() == Some(SqlState::QUERY_CANCELED.code())
}

/// Record the results of a batch in the run's state. `stopping`: the run is stopping,
/// so statements cancelled on the server are neither failures nor skips.
fn record(run: &Run, results: Vec<(usize, Option<TaskResult>)>, stopping: bool) {
    let mut fatal = None;
    let mut st = run.lock();
    let stopping = stopping || run.stop.is_cancelled() || st.fatal.is_some();
    for (t, res) in results {
        let ok = matches!(res, Some(Ok(_)));
        match res {
            // Not run: an earlier item of its batch failed with --exit-on-error.
            None => {
                if !stopping && fatal.is_none() {
                    if let Some(n) = task_name(&run.toc, &st.kinds[t]) {
                        st.skipped.push(n);
                    }
                }
            }
            Some(Ok(obj)) => {
                st.done += 1;
                if let TaskKind::Sql { entry }
                | TaskKind::FkNotValid { entry }
                | TaskKind::IndexAttach { entry } = st.kinds[t]
                {
                    st.created.push(entry);
                }
                run.observer.event(&Event::ItemDone {
                    object: obj,
                    error: None,
                });
            }
            Some(Err((_, e))) if stopping && is_query_cancelled(&e) => {}
            Some(Err((obj, e))) => {
                if is_fatal(&e) {
                    fatal.get_or_insert(e);
                } else {
                    let message = e.to_string();
                    run.observer.event(&Event::ItemDone {
                        object: obj.clone(),
                        error: Some(message.clone()),
                    });
                    st.failures.push(Failure {
                        object: obj,
                        message,
                    });
                }
            }
        }
        let skipped = st.sched.complete(t, ok);
        if !stopping && fatal.is_none() {
            for s in skipped {
                if let Some(n) = task_name(&run.toc, &st.kinds[s]) {
                    st.skipped.push(n);
                }
            }
        }
        if !ok && st.strict {
            st.sched.stop();
        }
    }
    drop(st);
    if let Some(e) = fatal {
        run.fail(e);
    }
}

fn task_name(toc: &Toc, k: &TaskKind) -> Option<String> {
    match k {
        TaskKind::Sql { entry }
        | TaskKind::Data { entry, .. }
        | TaskKind::FkNotValid { entry }
        | TaskKind::FkValidate { entry }
        | TaskKind::IndexBuild { entry }
        | TaskKind::IndexAttach { entry } => toc.entries.get(*entry).map(object_name),
        TaskKind::Barrier => None,
    }
}

/// The next task accepted by `accept` (called with the tasks' kinds, a ready task and
/// its weight), followed, when it is light DDL, by more light DDL to run in the same
/// transaction.
fn take_batch(
    st: &mut RunState,
    toc: &Toc,
    accept: impl Fn(&[TaskKind], usize, u64) -> bool,
) -> Vec<usize> {
    let first = {
        let kinds = &st.kinds;
        st.sched.next_where(|t, w| accept(kinds, t, w))
    };
    let Some(first) = first else {
        return Vec::new();
    };
    let mut batch = vec![first];
    let light = |kinds: &[TaskKind], t: usize| match &kinds[t] {
        TaskKind::Sql { entry } => is_light(toc.entries.get(*entry).and_then(entry_kind)),
        _ => false,
    };
    if !light(&st.kinds, first) {
        return batch;
    }
    let mut bytes = 0usize;
    while batch.len() < BATCH_ITEMS && bytes < BATCH_SQL_BYTES {
        let kinds = &st.kinds;
        match st.sched.next_where(|t, _| light(kinds, t)) {
            Some(t) => {
                if let TaskKind::Sql { entry } = &st.kinds[t] {
                    bytes += toc.entries.get(*entry).map_or(0, |e| e.create.len());
                }
                batch.push(t);
            }
            None => break,
        }
    }
    batch
}

type TaskResult = std::result::Result<String, (String, CoreError)>;

/// Attempts of a statement chosen as a deadlock victim.
const DEADLOCK_ATTEMPTS: u32 = 4;

/// Run `sql` (one implicit transaction), again after a short pause when the server
/// chose it as the victim of a deadlock: DDL on a partitioned table locks its
/// partitions one by one, which the scheduler's per-table lock model cannot see, so
/// two parallel items can deadlock; the victim's work was rolled back whole. Inside
/// the caller's transaction (`--single-transaction`) nothing can be retried.
async fn exec_retrying(
    client: &Client,
    sql: &str,
    in_txn: bool,
) -> std::result::Result<(), tokio_postgres::Error> {
    let mut attempt = 1;
    loop {
        match client.batch_execute(sql).await {
            Err(e)
                if !in_txn
                    && attempt < DEADLOCK_ATTEMPTS
                    && e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED) =>
            {
                tracing::debug!("deadlock victim, attempt {attempt}: running it again");
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                attempt += 1;
            }
            r => return r,
        }
    }
}

/// Run `sql` for object `o`, as a task result.
async fn exec_item(client: &Client, o: String, sql: &str, in_txn: bool) -> TaskResult {
    exec_retrying(client, sql, in_txn)
        .await
        .map(|()| o.clone())
        .map_err(|e| {
            (
                o.clone(),
                CoreError::Restore {
                    object: o,
                    source: e,
                },
            )
        })
}

/// Run a batch of tasks; each gets its result, or `None` when it was not run
/// because an earlier item of the batch failed and the restore stops at the first error.
async fn execute(
    run: &Run,
    client: &Client,
    batch: &[usize],
    in_txn: bool,
) -> Vec<(usize, Option<TaskResult>)> {
    let kinds: Vec<TaskKind> = {
        let st = run.lock();
        batch.iter().map(|&t| st.kinds[t].clone()).collect()
    };
    if batch.len() > 1 {
        let sqls: Vec<(usize, String, String)> = batch
            .iter()
            .zip(&kinds)
            .filter_map(|(&t, k)| match k {
                TaskKind::Sql { entry } => {
                    let e = &run.toc.entries[*entry];
                    Some((t, object_name(e), entry_sql(e, &run.opts)))
                }
                _ => None,
            })
            .collect();
        if !in_txn {
            // One Query message: its statements run as one implicit transaction, which a
            // failure rolls back whole, leaving the session idle (no aborted transaction
            // block that requests pipelined behind this one would run into).
            let mut all = String::new();
            for (_, _, s) in &sqls {
                all.push_str(s);
                all.push('\n');
            }
            match client.batch_execute(&all).await {
                Ok(()) => return sqls.into_iter().map(|(t, o, _)| (t, Some(Ok(o)))).collect(),
                // Gone or cancelled: the batch did nothing, and running its items one
                // by one would only fail again.
                Err(e) if crate::error::connection_lost(&e) || run.stop.is_cancelled() => {
                    let mut out = Vec::with_capacity(sqls.len());
                    let mut err = Some(e);
                    for (t, o, _) in sqls {
                        out.push((
                            t,
                            err.take().map(|source| {
                                Err((o.clone(), CoreError::Restore { object: o, source }))
                            }),
                        ));
                    }
                    return out;
                }
                Err(_) => {}
            }
        }
        // One by one, to name what failed (and, in a transaction or with
        // --exit-on-error, run nothing after it).
        let stop_at_error = in_txn || run.opts.exit_on_error;
        let mut out = Vec::new();
        let mut stopped = false;
        for (t, o, s) in sqls {
            if stopped || run.stop.is_cancelled() {
                out.push((t, None));
                continue;
            }
            let r = exec_item(client, o, &s, in_txn).await;
            stopped = r.is_err() && stop_at_error;
            out.push((t, Some(r)));
        }
        return out;
    }
    let t = batch[0];
    let res = match &kinds[0] {
        TaskKind::Sql { entry } => {
            let e = &run.toc.entries[*entry];
            let o = object_name(e);
            let sql = entry_sql(e, &run.opts);
            if sql.trim().is_empty() {
                Ok(o)
            } else {
                exec_item(client, o, &sql, in_txn).await
            }
        }
        TaskKind::Data {
            entry,
            stream,
            frames,
            freeze,
        } => {
            let e = &run.toc.entries[*entry];
            let o = object_name(e);
            match load_task(
                run,
                client,
                t,
                e,
                *stream,
                frames.clone(),
                *freeze && !in_txn,
            )
            .await
            {
                Ok(()) => Ok(o),
                Err(err) => Err((o, err)),
            }
        }
        TaskKind::FkNotValid { entry }
        | TaskKind::FkValidate { entry }
        | TaskKind::IndexBuild { entry }
        | TaskKind::IndexAttach { entry } => {
            let e = &run.toc.entries[*entry];
            let o = object_name(e);
            match plan::step_sql(e, &kinds[0]) {
                Some(sql) => exec_item(client, o, &sql, in_txn).await,
                None => Err((
                    o.clone(),
                    CoreError::Internal(format!("{o}: no SQL for the step {:?}", kinds[0])),
                )),
            }
        }
        TaskKind::Barrier => Ok(String::new()),
    };
    vec![(t, Some(res))]
}

async fn load_task(
    run: &Run,
    client: &Client,
    task: usize,
    e: &TocEntry,
    stream: u32,
    frames: std::ops::Range<usize>,
    freeze: bool,
) -> Result<()> {
    let Some(data) = &e.data else {
        return Ok(());
    };
    let (tx, rx) = mpsc::channel::<Result<Frame>>(2);
    let producer = match &run.source {
        Source::File(reader) => {
            let reader = reader.clone();
            let bufs = run.bufs.clone();
            tokio::task::spawn_blocking(move || {
                let locs = reader.frames(stream);
                for loc in locs.get(frames).unwrap_or(&[]) {
                    let f = reader
                        .read_raw_frame(loc)
                        .and_then(|raw| decode_pooled(raw, &bufs))
                        .map_err(CoreError::from);
                    let stop = f.is_err();
                    if tx.blocking_send(f).is_err() || stop {
                        break;
                    }
                }
            })
        }
        Source::Pipe => {
            let raw = run.lock().pipe_frames.remove(&task);
            let bufs = run.bufs.clone();
            tokio::task::spawn_blocking(move || {
                if let Some(raw) = raw {
                    let _ = tx.blocking_send(decode_pooled(raw, &bufs).map_err(CoreError::from));
                }
            })
        }
    };
    let object = object_name(e);
    let mode = LoadMode { freeze };
    let res = copy_in::load(client, &object, data, mode, rx, &run.bufs).await;
    let _ = producer.await;
    if matches!(run.source, Source::Pipe) {
        run.frame_permits.add_permits(1);
    }
    let loaded = res?;
    run.observer.event(&Event::Data {
        bytes: loaded.bytes,
        rows: loaded.rows,
    });
    let mut st = run.lock();
    st.rows += loaded.rows;
    st.bytes += loaded.bytes;
    let target = match data.kind {
        DataKind::LargeObjects => LARGE_OBJECTS.to_string(),
        DataKind::Copy => data.target.clone(),
    };
    *st.loaded.entry(target).or_default() += loaded.rows;
    Ok(())
}

/// Decodes a frame into a buffer of the pool (a stored-raw frame keeps its own: no copy).
fn decode_pooled(
    raw: RawFrame,
    bufs: &BufPool,
) -> std::result::Result<Frame, pgdump_format::FormatError> {
    if raw.codec() == CodecKind::None && raw.transform() == Transform::None {
        return raw.decode();
    }
    let mut data = bufs.get(0);
    raw.decode_into(&mut data)?;
    Ok(Frame {
        stream: raw.stream(),
        seq: raw.seq(),
        meta: raw.meta(),
        data,
    })
}

/// A scheduler's task state, for the pipe feeder.
pub(super) fn is_skipped(st: &RunState, t: usize) -> bool {
    st.sched.state(t) == State::Skipped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_light_ddl_is_batched() {
        assert!(is_light(Some(Kind::Table)));
        assert!(is_light(None));
        for k in [
            Kind::Index,
            Kind::Constraint,
            Kind::CheckConstraint,
            Kind::IndexAttach,
            Kind::FkConstraint,
            Kind::RefreshMatview,
        ] {
            assert!(!is_light(Some(k)), "{k:?} runs alone");
        }
    }
}
