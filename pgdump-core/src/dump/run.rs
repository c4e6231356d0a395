//! Running a dump: leader snapshot, catalog, plan, then the data phase on N
//! connections feeding one archive writer.
//!
//! Data path per worker: COPY OUT (async) → [`Chunker`] (whole rows, frame
//! sized) → bounded channel → the worker's encoder thread (compression and
//! checksums off the async threads) → bounded channel → the writer thread
//! (appends frames to the archive). Peak memory is about
//! `(4 × jobs + 2) × frame_size`, whatever the size of the database.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::StreamExt;
use pgdump_format::{
    ArchiveInfo, ArchiveWriter, CopyFormat, EncodedFrame, FrameEncoder, FrameMeta, StreamId,
    Summary,
};
use tokio::sync::mpsc;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

use super::budget::{Budget, Spent};
use super::copy_sink::{DumpSink, RawFrameMsg, SinkError};
use super::output::Output;
use super::plan::{self, KeyBounds, Unit, Work};
use super::{finish_in_snapshot, start_in_snapshot, toc, CatalogDump};
use crate::catalog::Oid;
use crate::conn::tap::TapHandle;
use crate::conn::{connect_routed, connect_tapped, ConnConfig};
use crate::copy_data::{row_hash, BufPool, Chunk, Chunker};
use crate::error::{CoreError, QueryContext, Result};
use crate::options::DumpOptions;
use crate::progress::{Event, SharedObserver};
use crate::quote::{ident, qualify};
use crate::snapshot::{self, LeaderSnapshot};
use crate::{session, TOOL_NAME};

/// What a finished dump reports.
#[derive(Debug, Clone)]
pub struct DumpSummary {
    /// The archive writer's summary (streams, frames, rows, bytes).
    pub archive: Summary,
    /// Number of TOC entries.
    pub entries: usize,
    /// Objects skipped because pgdump cannot reproduce them (`--skip-unsupported`).
    pub skipped: Vec<String>,
    /// Where the archive was written (files only).
    pub path: Option<std::path::PathBuf>,
    /// Wall time.
    pub elapsed: std::time::Duration,
}

/// Dump the database `conn` points at into `output`.
///
/// # Cancel safety
/// Cancelling `cancel` (or dropping the future) stops every worker; a file
/// output is removed, a stream output is left unsealed (readers reject it).
pub async fn dump(
    conn: &ConnConfig,
    opts: &DumpOptions,
    output: Output,
    observer: SharedObserver,
    cancel: CancellationToken,
) -> Result<DumpSummary> {
    opts.validate()?;
    opts.writer.validate()?;
    let started = Instant::now();
    // Cancellable while connecting: a server that accepts and never answers must not
    // hold a signal up.
    let (leader, route, leader_tap) = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Err(CoreError::Cancelled),
        r = connect_routed(conn, TOOL_NAME) => r?,
    };
    // Version check, settings, BEGIN and the snapshot export: pipelined, in this order.
    let begin = snapshot::begin_sql(opts.serializable_deferrable, opts.snapshot.as_deref());
    // The values of the settings that shape text COPY output go out in the same flight,
    // after the settings (read inside the dump transaction), for the archive to record.
    let ((version, version_text), snap, output_settings) = futures::try_join!(
        session::setup_dump_then(&leader, &begin, "starting the dump transaction"),
        snapshot::export(&leader, opts.snapshot.as_deref()),
        session::copy_output_settings(&leader),
    )?;

    observer.event(&Event::Phase { name: "catalog" });
    // Cancellation is honoured while the catalog is read too (it can take long).
    // The workers connect and import the snapshot while the leader reads the scope
    // and takes the locks; then they share the catalog queries with the leader.
    let n_workers = opts.jobs.max(1) - 1;
    let (cat, bounds, workers) = tokio::select! {
        _ = cancel.cancelled() => return Err(CoreError::Cancelled),
        r = async {
            let (start, workers) = tokio::join!(
                start_in_snapshot(&leader, version, opts),
                connect_workers(conn, route, &snap, n_workers),
            );
            let (start, workers) = (start?, workers?);
            tracing::debug!(elapsed = ?started.elapsed(), "scope read and tables locked");
            let (clients, taps): (Vec<Client>, Vec<TapHandle>) = workers.into_iter().unzip();
            let cat =
                finish_in_snapshot(&leader, &clients, version, version_text.clone(), start).await?;
            let workers: Vec<(Client, TapHandle)> = clients.into_iter().zip(taps).collect();
            let bounds = key_bounds(&leader, &cat.graph, opts, version).await?;
            Ok::<_, CoreError>((cat, bounds, workers))
        } => r?,
    };
    tracing::debug!(elapsed = ?started.elapsed(), items = cat.graph.items.len(), "catalog read");
    let units = plan::plan(&cat.graph, opts, version, &bounds);
    let info = ArchiveInfo {
        created_at: toc::now_rfc3339(),
        tool: format!("{TOOL_NAME} {}", env!("CARGO_PKG_VERSION")),
        server_version: version_text,
        server_version_num: version.0,
        database: cat.database.clone(),
        encoding: "UTF8".to_string(),
        settings: [
            ("standard_conforming_strings".to_string(), "on".to_string()),
            ("source_encoding".to_string(), cat.encoding.clone()),
        ]
        .into_iter()
        .chain(output_settings)
        .collect(),
    };
    let CatalogDump { graph, skipped, .. } = cat;
    let entries = graph.items.len();
    observer.event(&Event::Planned {
        items: entries,
        streams: units.len(),
        est_bytes: units.iter().map(|u| u.est_bytes).sum(),
    });

    let mut out = output.open()?;
    let pending = out.file.take();
    // Encoded frames on their way to the writer: bounded in bytes (as many as
    // `2 x jobs + 2` full frames), not in number, so that small tables' frames keep
    // flowing while the writer writes the table of contents.
    let budget = Budget::new((opts.jobs * 2 + 2).saturating_mul(opts.writer.frame_size));
    let (frame_tx, frame_rx) =
        std::sync::mpsc::sync_channel::<(EncodedFrame, Spent)>(FRAMES_QUEUED);
    // Whether to seal the archive, sent once every frame is in: only a complete dump is
    // sealed. A failed or cancelled one ends without index and footer, which every reader
    // rejects as unsealed (a stream output cannot be taken back).
    let (seal_tx, seal_rx) = std::sync::mpsc::channel::<bool>();
    // Binary COPY streams are written column by column (format 1.1): they compress
    // 15-20% better that way, smaller than the same rows in text.
    let mut wopts = opts.writer.clone();
    wopts.columnar_copy = units.iter().any(is_binary_copy);
    // The table of contents is built from the graph by the writer thread, while the
    // first streams are already being read (their frames wait in the channel).
    let toc_units = units.clone();
    let writer = std::thread::Builder::new()
        .name("pgdump-writer".into())
        .spawn(move || -> Result<Option<Summary>> {
            let toc = toc::build(graph, &toc_units, info);
            drop(toc_units);
            let mut w = ArchiveWriter::new(out.writer, &toc, wopts)?;
            drop(toc);
            for (f, _spent) in frame_rx {
                w.write_frame(&f)?;
            }
            if !seal_rx.recv().unwrap_or(false) {
                return Ok(None);
            }
            let (summary, mut sink) = w.finish()?;
            std::io::Write::flush(&mut sink)
                .map_err(|e| CoreError::io("flushing the archive", e))?;
            Ok(Some(summary))
        })
        .map_err(|e| CoreError::io("starting the archive writer thread", e))?;

    observer.event(&Event::Phase { name: "data" });
    let data_res = run_units(
        (leader, leader_tap),
        workers,
        units,
        opts,
        frame_tx,
        budget,
        observer.clone(),
        cancel,
    )
    .await;
    tracing::debug!(elapsed = ?started.elapsed(), ok = data_res.is_ok(), "data done");
    let _ = seal_tx.send(data_res.is_ok());
    let writer_res = tokio::task::spawn_blocking(move || writer.join())
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
        .map_err(|_| CoreError::Internal("archive writer thread panicked".into()))?;
    // A writer failure (disk full ...) is the root cause of any worker's "channel closed".
    let summary = match (data_res, writer_res) {
        (_, Err(e)) => return Err(e),
        (Err(e), Ok(_)) => return Err(e),
        (Ok(()), Ok(Some(s))) => s,
        (Ok(()), Ok(None)) => return Err(CoreError::Internal("the archive was not sealed".into())),
    };
    let path = match pending {
        Some(p) => Some(p.commit()?),
        None => None,
    };
    Ok(DumpSummary {
        archive: summary,
        entries,
        skipped,
        path,
        elapsed: started.elapsed(),
    })
}

/// Min and max of the integer key of tables split by key (servers < 14).
async fn key_bounds(
    client: &Client,
    graph: &crate::graph::Graph,
    opts: &DumpOptions,
    version: crate::catalog::ServerVersion,
) -> Result<KeyBounds> {
    let mut bounds = HashMap::new();
    for src in plan::needs_key_bounds(graph, opts, version) {
        let Some(key) = &src.int_key else { continue };
        let k = ident(key);
        let sql = format!(
            "SELECT min({k})::int8, max({k})::int8 FROM ONLY {}",
            qualify(&src.schema, &src.name)
        );
        let row = client
            .query_one(&sql, &[])
            .await
            .context(|| format!("reading key range of {}.{}", src.schema, src.name))?;
        if let (Some(lo), Some(hi)) = (row.get::<_, Option<i64>>(0), row.get::<_, Option<i64>>(1)) {
            bounds.insert(src.relid, (lo, hi));
        }
    }
    Ok(bounds)
}

/// Worker connections to the leader's server (`route`), set up inside the
/// leader's snapshot, each with its tap.
async fn connect_workers(
    conn: &ConnConfig,
    route: usize,
    snap: &LeaderSnapshot,
    n: usize,
) -> Result<Vec<(Client, TapHandle)>> {
    futures::future::try_join_all((0..n).map(|_| async {
        let (c, tap) = connect_tapped(conn, route, TOOL_NAME).await?;
        let what = format!("importing the dump snapshot {}", snap.id);
        session::setup_dump_then(&c, &snapshot::import_sql(snap), &what).await?;
        Ok::<_, CoreError>((c, tap))
    }))
    .await
}

/// Run every unit on the leader and the workers (at most one connection per unit).
#[allow(clippy::too_many_arguments)]
async fn run_units(
    leader: (Client, TapHandle),
    workers: Vec<(Client, TapHandle)>,
    units: Vec<Unit>,
    opts: &DumpOptions,
    frame_tx: std::sync::mpsc::SyncSender<(EncodedFrame, Spent)>,
    budget: Budget,
    observer: SharedObserver,
    cancel: CancellationToken,
) -> Result<()> {
    let order = plan::schedule(&units);
    // Streams whose frames are encoded column by column: binary COPY.
    let mut columnar = vec![false; units.len()];
    for u in units.iter().filter(|u| is_binary_copy(u)) {
        if let Some(c) = columnar.get_mut(u.stream as usize) {
            *c = true;
        }
    }
    let columnar = Arc::new(columnar);
    let units = Arc::new(units);
    let queue = Arc::new(Mutex::new(order.into_iter().collect::<VecDeque<usize>>()));
    let jobs = opts.jobs.max(1).min(units.len().max(1));
    let stop = cancel.child_token();

    // Connections beyond one per unit are closed (their read-only transaction ends).
    let mut clients = vec![(leader.0, Some(leader.1), true)];
    clients.extend(
        workers
            .into_iter()
            .take(jobs - 1)
            .map(|(c, tap)| (c, Some(tap), false)),
    );
    let mut leader_slot = None;

    tracing::debug!(connections = clients.len(), "dump workers connected");
    // Frame buffers go round: chunker, encoder, back (as many as can be in flight).
    let pool = BufPool::new(clients.len() * 3 + 2);
    let mut set = tokio::task::JoinSet::new();
    for (i, (client, tap, is_leader)) in clients.into_iter().enumerate() {
        let (raw_tx, raw_rx) = mpsc::channel::<RawFrameMsg>(2);
        let codec = opts.writer.codec;
        let columnar = columnar.clone();
        let ftx = frame_tx.clone();
        let budget = budget.clone();
        let enc_pool = pool.clone();
        let encoder = std::thread::Builder::new()
            .name(format!("pgdump-encode-{i}"))
            .spawn(move || encode_loop(raw_rx, ftx, &budget, codec, &columnar, &enc_pool))
            .map_err(|e| CoreError::io("starting an encoder thread", e))?;
        let ctx = WorkerCtx {
            units: units.clone(),
            queue: queue.clone(),
            frame_size: opts.writer.frame_size,
            observer: observer.clone(),
            stop: stop.clone(),
            is_leader,
            tap,
            pool: pool.clone(),
        };
        set.spawn(async move {
            let res = worker(&client, &ctx, &raw_tx).await;
            drop(raw_tx);
            let enc = tokio::task::spawn_blocking(move || encoder.join())
                .await
                .map_err(|e| CoreError::Internal(e.to_string()))?
                .map_err(|_| CoreError::Internal("encoder thread panicked".into()))?;
            if res.is_err() {
                ctx.stop.cancel();
            }
            // An encoder error is the cause of a worker's send failure.
            enc.and(res).map(|()| (client, is_leader))
        });
    }
    drop(frame_tx);

    let mut first_err: Option<CoreError> = None;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok((client, true))) => leader_slot = Some(client),
            Ok(Ok((_, false))) => {}
            Ok(Err(e)) => {
                stop.cancel();
                if first_err.is_none() || matches!(first_err, Some(CoreError::Cancelled)) {
                    first_err = Some(e);
                }
            }
            Err(e) => {
                stop.cancel();
                first_err.get_or_insert(CoreError::Internal(format!("dump worker failed: {e}")));
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    if cancel.is_cancelled() {
        return Err(CoreError::Cancelled);
    }
    if let Some(leader) = leader_slot {
        // The snapshot transaction is read-only; end it cleanly.
        leader
            .batch_execute("COMMIT")
            .await
            .context(|| "ending the dump transaction".to_string())?;
    }
    Ok(())
}

struct WorkerCtx {
    units: Arc<Vec<Unit>>,
    queue: Arc<Mutex<VecDeque<usize>>>,
    frame_size: usize,
    observer: SharedObserver,
    stop: CancellationToken,
    is_leader: bool,
    /// The connection's tap, when it has one (see `conn::tap`).
    tap: Option<TapHandle>,
    /// Frame buffers.
    pool: BufPool,
}

/// Encoded frames the writer's channel holds at most (their bytes are bounded by the
/// [`Budget`]).
const FRAMES_QUEUED: usize = 4096;

/// COPY units estimated this small are run several at a time on one connection,
/// their statements pipelined: their cost is round trips, not rows.
const SMALL_UNIT: u64 = 64 << 10;

/// How many small units a connection has in flight at once.
const PIPELINE: usize = 16;

impl WorkerCtx {
    fn is_small(&self, u: usize) -> bool {
        self.units
            .get(u)
            .is_some_and(|x| matches!(x.work, Work::Copy { .. }) && x.est_bytes <= SMALL_UNIT)
    }

    /// The next unit of the queue; with `small_only`, only if it is a small COPY unit.
    fn next_unit(&self, small_only: bool) -> Option<usize> {
        let mut q = self.queue.lock().ok()?;
        let &first = q.front()?;
        if small_only && !self.is_small(first) {
            return None;
        }
        q.pop_front()
    }
}

/// A unit's run, or a batch's LOCK, in a worker's pipeline.
type Pending<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>>;

async fn worker(
    client: &Client,
    ctx: &WorkerCtx,
    raw_tx: &mpsc::Sender<RawFrameMsg>,
) -> Result<()> {
    // Small units keep the connection's pipeline full: when it is half empty, the
    // next ones' statements go out. Requests go out in the order the futures are
    // first polled and results come back in that order, so the first error is the
    // one reported (the others are "transaction is aborted" after it). The tap takes
    // one COPY at a time: small tables do not need it, and a big unit runs alone
    // through it.
    let mut pipeline: futures::stream::FuturesOrdered<Pending<'_>> =
        futures::stream::FuturesOrdered::new();
    loop {
        if ctx.stop.is_cancelled() {
            return Err(CoreError::Cancelled);
        }
        if pipeline.len() <= PIPELINE / 2 {
            let mut batch = Vec::new();
            while pipeline.len() + batch.len() < PIPELINE {
                let idle = pipeline.is_empty() && batch.is_empty();
                let Some(u) = ctx.next_unit(!idle) else {
                    break;
                };
                if idle && !ctx.is_small(u) {
                    run_unit(client, ctx, u, raw_tx, true, false).await?;
                    continue;
                }
                batch.push(u);
            }
            // A worker locks the batch's tables NOWAIT in one statement (the leader
            // holds its locks already), sent before any of their COPYs: a request
            // goes out when its future is first polled.
            let tables: Vec<&str> = batch
                .iter()
                .filter_map(|&u| match ctx.units.get(u).map(|x| &x.work) {
                    Some(Work::Copy { table, .. }) => Some(table.as_str()),
                    _ => None,
                })
                .collect();
            let locked = !ctx.is_leader && !tables.is_empty();
            if locked {
                let sql = super::lock::lock_sql(&tables, true);
                let what = match tables.as_slice() {
                    [one] => one.to_string(),
                    [first, rest @ ..] => format!("{first} and {} other tables", rest.len()),
                    [] => String::new(),
                };
                let mut lock: Pending<'_> = Box::pin(async move {
                    client
                        .batch_execute(&sql)
                        .await
                        .context(|| format!("locking {what}"))
                });
                match futures::poll!(lock.as_mut()) {
                    std::task::Poll::Ready(res) => res?,
                    std::task::Poll::Pending => pipeline.push_back(lock),
                }
            }
            for u in batch {
                pipeline.push_back(Box::pin(run_unit(client, ctx, u, raw_tx, false, locked)));
            }
        }
        match pipeline.next().await {
            Some(res) => res?,
            None => return Ok(()),
        }
    }
}

/// Runs one unit, announcing its start and end. `locked`: a worker has locked
/// its table already.
async fn run_unit(
    client: &Client,
    ctx: &WorkerCtx,
    u: usize,
    raw_tx: &mpsc::Sender<RawFrameMsg>,
    tap_ok: bool,
    locked: bool,
) -> Result<()> {
    let Some(unit) = ctx.units.get(u) else {
        return Ok(());
    };
    ctx.observer.event(&Event::StreamStarted {
        object: unit.label.clone(),
    });
    let (rows, bytes) = match &unit.work {
        Work::Copy {
            table,
            copy_sql,
            format,
        } => {
            let job = CopyJob {
                unit,
                lock: (!ctx.is_leader && !locked).then(|| super::lock::lock_sql(&[table], true)),
                sql: copy_sql,
                format: *format,
            };
            copy_unit(client, ctx, &job, raw_tx, tap_ok).await?
        }
        Work::LargeObjects(oids) => lo_unit(client, ctx, unit, oids, raw_tx).await?,
    };
    ctx.observer.event(&Event::StreamFinished {
        object: unit.label.clone(),
        rows,
        bytes,
    });
    Ok(())
}

async fn send_chunk(
    ctx: &WorkerCtx,
    raw_tx: &mpsc::Sender<RawFrameMsg>,
    stream: StreamId,
    seq: &mut u32,
    chunk: Chunk,
) -> Result<()> {
    ctx.observer.event(&Event::Data {
        bytes: chunk.data.len() as u64,
        rows: chunk.rows,
    });
    raw_tx
        .send((stream, *seq, chunk))
        .await
        .map_err(|_| CoreError::Internal("archive encoder stopped".into()))?;
    *seq += 1;
    Ok(())
}

/// One COPY of a unit.
struct CopyJob<'a> {
    unit: &'a Unit,
    /// A worker's `LOCK TABLE ... NOWAIT` (the leader holds its locks already).
    lock: Option<String>,
    /// The `COPY ... TO STDOUT`.
    sql: &'a str,
    format: CopyFormat,
}

/// Sends the lock and the COPY, pipelined: both are sent before either answer
/// is awaited, which saves a round trip per table (the COPY fails in the
/// aborted transaction if the lock does, and the lock's error is the one
/// reported).
async fn start_copy(client: &Client, job: &CopyJob<'_>) -> Result<tokio_postgres::CopyOutStream> {
    let (unit, sql) = (job.unit, job.sql);
    match job.lock.as_deref() {
        Some(lock) => {
            let (locked, stream) = futures::join!(client.batch_execute(lock), client.copy_out(sql));
            locked.context(|| format!("locking {}", unit.label))?;
            stream
        }
        None => client.copy_out(sql).await,
    }
    .context(|| format!("COPY {}", unit.label))
}

/// COPY one unit out: through the connection's tap when it has a usable one
/// (and `tap_ok`), else message by message through tokio-postgres.
async fn copy_unit(
    client: &Client,
    ctx: &WorkerCtx,
    job: &CopyJob<'_>,
    raw_tx: &mpsc::Sender<RawFrameMsg>,
    tap_ok: bool,
) -> Result<(u64, u64)> {
    if let Some(tap) = ctx.tap.as_ref().filter(|t| tap_ok && t.usable()) {
        return copy_unit_tapped(client, ctx, tap, job, raw_tx).await;
    }
    let (unit, format) = (job.unit, job.format);
    let stream = start_copy(client, job).await?;
    futures::pin_mut!(stream);
    // One cancellation future for the whole COPY (the server sends a message per
    // row: registering a new waiter per row cost a tenth of the client's CPU).
    let cancelled = ctx.stop.cancelled();
    futures::pin_mut!(cancelled);
    let mut chunker = Chunker::new(format, ctx.frame_size).with_pool(ctx.pool.clone());
    let mut ready = Vec::new();
    let mut seq = 0u32;
    let (mut rows, mut bytes) = (0u64, 0u64);
    loop {
        let next = tokio::select! {
            biased;
            n = stream.next() => n,
            () = &mut cancelled => return Err(CoreError::Cancelled),
        };
        let Some(piece) = next else { break };
        let piece = piece.context(|| format!("COPY {}", unit.label))?;
        chunker
            .push(&piece, &mut ready)
            .map_err(|e| CoreError::Data {
                object: unit.label.clone(),
                detail: e.to_string(),
            })?;
        for chunk in ready.drain(..) {
            rows += chunk.rows;
            bytes += chunk.data.len() as u64;
            send_chunk(ctx, raw_tx, unit.stream, &mut seq, chunk).await?;
        }
    }
    if let Some(chunk) = chunker.finish().map_err(|e| CoreError::Data {
        object: unit.label.clone(),
        detail: e.to_string(),
    })? {
        rows += chunk.rows;
        bytes += chunk.data.len() as u64;
        send_chunk(ctx, raw_tx, unit.stream, &mut seq, chunk).await?;
    }
    Ok((rows, bytes))
}

/// COPY one unit out through the connection's tap: the rows go from the
/// connection's read buffer to a [`DumpSink`] (frames to the encoder) and
/// tokio-postgres sees a COPY without rows; the last partial frame is sent here.
async fn copy_unit_tapped(
    client: &Client,
    ctx: &WorkerCtx,
    tap: &TapHandle,
    job: &CopyJob<'_>,
    raw_tx: &mpsc::Sender<RawFrameMsg>,
) -> Result<(u64, u64)> {
    let unit = job.unit;
    let sink = DumpSink::new(
        job.format,
        ctx.frame_size,
        unit.stream,
        raw_tx.clone(),
        ctx.observer.clone(),
        ctx.pool.clone(),
    );
    if !tap.arm(Box::new(sink)) {
        return Err(CoreError::Internal(format!(
            "COPY {}: the connection's tap is not ready",
            unit.label
        )));
    }
    let copied = async {
        let stream = start_copy(client, job).await?;
        futures::pin_mut!(stream);
        let cancelled = ctx.stop.cancelled();
        futures::pin_mut!(cancelled);
        // The rows go to the sink: the stream only ends (or fails).
        let next = tokio::select! {
            biased;
            n = stream.next() => n,
            () = &mut cancelled => return Err(CoreError::Cancelled),
        };
        match next {
            None => Ok(()),
            Some(Err(e)) => Err(CoreError::query(format!("COPY {}", unit.label), e)),
            Some(Ok(_)) => Err(CoreError::Internal(format!(
                "COPY {}: rows went past the connection's tap",
                unit.label
            ))),
        }
    }
    .await;
    let taken = tap.take();
    copied?;
    let taken = taken.filter(|t| t.finished).ok_or_else(|| {
        CoreError::Internal(format!(
            "COPY {}: the tap did not see the COPY end",
            unit.label
        ))
    })?;
    let sink = taken
        .sink
        .downcast::<DumpSink>()
        .map_err(|_| CoreError::Internal("a tap returned a foreign sink".into()))?;
    match &sink.error {
        Some(SinkError::Data(detail)) => {
            return Err(CoreError::Data {
                object: unit.label.clone(),
                detail: detail.clone(),
            })
        }
        Some(SinkError::Closed) => {
            return Err(CoreError::Internal("archive encoder stopped".into()))
        }
        None => {}
    }
    let (mut rows, mut bytes, mut seq) = (sink.rows, sink.bytes, sink.seq);
    let last = sink.into_chunker().finish().map_err(|e| CoreError::Data {
        object: unit.label.clone(),
        detail: e.to_string(),
    })?;
    if let Some(chunk) = last {
        rows += chunk.rows;
        bytes += chunk.data.len() as u64;
        send_chunk(ctx, raw_tx, unit.stream, &mut seq, chunk).await?;
    }
    Ok((rows, bytes))
}

/// Bytes read from a large object per round trip.
const LO_PIECE: i32 = 1 << 20;

async fn lo_unit(
    client: &Client,
    ctx: &WorkerCtx,
    unit: &Unit,
    oids: &[Oid],
    raw_tx: &mpsc::Sender<RawFrameMsg>,
) -> Result<(u64, u64)> {
    let stmt = client
        .prepare("SELECT pg_catalog.lo_get($1::pg_catalog.oid, $2::int8, $3::int4)")
        .await
        .context(|| "preparing large object reads".to_string())?;
    let mut cur = Chunk::default();
    let mut seq = 0u32;
    let (mut records, mut bytes) = (0u64, 0u64);
    for &oid in oids {
        let mut offset: i64 = 0;
        loop {
            if ctx.stop.is_cancelled() {
                return Err(CoreError::Cancelled);
            }
            let row = client
                .query_one(&stmt, &[&oid, &offset, &LO_PIECE])
                .await
                .context(|| format!("reading large object {oid}"))?;
            let data: Vec<u8> = row.get(0);
            if data.is_empty() {
                break;
            }
            let start = cur.data.len();
            pgdump_format::lo::encode_record(&mut cur.data, oid, offset as u64, &data)?;
            let rec = cur.data.get(start..).unwrap_or(&[]);
            cur.hash = cur.hash.wrapping_add(row_hash(rec));
            cur.rows += 1;
            records += 1;
            bytes += data.len() as u64;
            offset += data.len() as i64;
            if cur.data.len() >= ctx.frame_size {
                send_chunk(ctx, raw_tx, unit.stream, &mut seq, std::mem::take(&mut cur)).await?;
            }
            if data.len() < LO_PIECE as usize {
                break;
            }
        }
    }
    if cur.rows > 0 {
        send_chunk(ctx, raw_tx, unit.stream, &mut seq, cur).await?;
    }
    Ok((records, bytes))
}

/// A unit of binary COPY data.
fn is_binary_copy(u: &Unit) -> bool {
    matches!(
        u.work,
        Work::Copy {
            format: CopyFormat::Binary,
            ..
        }
    )
}

fn encode_loop(
    mut rx: mpsc::Receiver<RawFrameMsg>,
    tx: std::sync::mpsc::SyncSender<(EncodedFrame, Spent)>,
    budget: &Budget,
    codec: pgdump_format::Codec,
    columnar: &[bool],
    pool: &BufPool,
) -> Result<()> {
    let mut enc = FrameEncoder::new();
    // Uncompressed frames keep their buffer as the stored payload; compressed ones
    // are encoded from a borrowed buffer that then goes back to the pool.
    let recycle = !matches!(codec, pgdump_format::Codec::None);
    while let Some((stream, seq, chunk)) = rx.blocking_recv() {
        let meta = FrameMeta {
            rows: chunk.rows,
            content_hash: chunk.hash,
        };
        let columnar = columnar.get(stream as usize).copied().unwrap_or(false);
        let data = chunk.data;
        let frame = if recycle {
            let frame = if columnar {
                enc.encode_columnar(stream, seq, &data, codec, meta)?
            } else {
                enc.encode(stream, seq, &data, codec, meta)?
            };
            pool.put(data);
            frame
        } else if columnar {
            enc.encode_owned_columnar(stream, seq, data, codec, meta)?
        } else {
            enc.encode_owned(stream, seq, data, codec, meta)?
        };
        // The writer stopped (its own error is reported) when the budget or the channel
        // is gone.
        let Some(spent) =
            budget.spend_blocking(usize::try_from(frame.record_len()).unwrap_or(usize::MAX))
        else {
            return Ok(());
        };
        if tx.send((frame, spent)).is_err() {
            return Ok(());
        }
    }
    Ok(())
}
