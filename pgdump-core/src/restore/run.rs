//! Running a restore: N connections pull tasks from the scheduler.
//!
//! File input: the archive is verified (every frame's checksum) before any SQL
//! runs; data tasks read their frames at random from the file. Pipe input: the
//! TOC arrives first and pre-data starts at once; frames become data tasks as
//! they arrive (a bounded number in flight); post-data waits until the index at
//! the end confirms the archive is whole. If a piped archive (or a file restored
//! without verifying it first) turns out to be damaged, what this run created is
//! dropped again unless `keep_partial`.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pgdump_format::{
    ArchiveReader, CodecKind, DataKind, Frame, RawFrame, StreamReader, Toc, TocEntry, Transform,
};
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

use super::copy_in::{self, LoadMode};
use super::options::RestoreOptions;
use super::plan::{self, StreamFrames, TaskKind};
use super::sched::{Scheduler, State};
use super::select::{self, entry_kind};
use crate::catalog::Kind;
use crate::conn::{connect, ConnConfig};
use crate::copy_data::BufPool;
use crate::error::{CoreError, DbMessage, QueryContext, Result};
use crate::progress::{Event, SharedObserver};
use crate::quote::ident;
use crate::{session, TOOL_NAME};

/// Where the archive comes from.
pub enum Input {
    /// A file (random access: verified first, restored in any order).
    File(PathBuf),
    /// Standard input (sequential).
    Stdin,
    /// Any reader (sequential), e.g. a download.
    Reader(Box<dyn Read + Send>),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::File(p) => write!(f, "File({})", p.display()),
            Input::Stdin => write!(f, "Stdin"),
            Input::Reader(_) => write!(f, "Reader(..)"),
        }
    }
}

/// One item that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Kind and name of the object.
    pub object: String,
    /// The server's (or pgdump's) message.
    pub message: String,
}

/// What a restore did.
#[derive(Debug, Clone, Default)]
pub struct RestoreSummary {
    /// Database restored into.
    pub database: String,
    /// Entries selected for restore.
    pub selected: usize,
    /// Tasks completed successfully (entries and data parts).
    pub done: usize,
    /// Items that failed, with the server's message.
    pub failures: Vec<Failure>,
    /// Items not run because something they depend on failed.
    pub skipped: Vec<String>,
    /// Notes (entries left out of a selection and why, clean-up messages).
    pub notes: Vec<String>,
    /// Rows loaded.
    pub rows: u64,
    /// Raw bytes of data loaded.
    pub bytes: u64,
    /// Tables (targets) that received data, with rows loaded (for partial-restore reports);
    /// pieces of large objects count under "large objects". After an undo
    /// (`rolled_back`), only the rows that stayed: those loaded into tables (and large
    /// objects) this run did not create.
    pub loaded: Vec<(String, u64)>,
    /// Set when the run was undone after a damaged archive: why.
    pub rolled_back: Option<String>,
    /// Wall time.
    pub elapsed: Duration,
}

impl RestoreSummary {
    /// Ok if nothing failed.
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && self.rolled_back.is_none()
    }
}

/// Restore an archive into the database `conn` points at.
///
/// Returns `Err` for errors that stop everything before or during the run
/// (bad options, unreadable or damaged archive, connection failures); item
/// failures are reported in the summary (see [`RestoreSummary::ok`]).
///
/// # Cancel safety
/// Cancelling stops handing out work; running statements are rolled back by
/// the server when their connection closes.
pub async fn restore(
    conn: &ConnConfig,
    opts: &RestoreOptions,
    input: Input,
    observer: SharedObserver,
    cancel: CancellationToken,
) -> Result<RestoreSummary> {
    opts.validate()?;
    let started = Instant::now();
    let mut opts = opts.clone();
    if opts.single_transaction {
        opts.jobs = 1;
        opts.exit_on_error = true;
    }
    let mut summary = match input {
        Input::File(path) => {
            let file = std::fs::File::open(&path)
                .map_err(|e| CoreError::io(format!("opening {}", path.display()), e))?;
            let reader = match ArchiveReader::open(file) {
                Ok(r) => Arc::new(r),
                // A cut or unsealed archive cannot be opened at random, but its TOC may be
                // readable from the front: then the error names the object of the frame.
                Err(e) => {
                    let e = CoreError::Format(e);
                    let toc = std::fs::File::open(&path)
                        .ok()
                        .and_then(|f| StreamReader::new(std::io::BufReader::new(f)).ok());
                    return Err(match toc {
                        Some(sr) => name_damage(sr.toc(), e),
                        None => e,
                    });
                }
            };
            if opts.verify_first {
                observer.event(&Event::Phase { name: "verify" });
                let r = reader.clone();
                tokio::task::spawn_blocking(move || verify_frames(&r))
                    .await
                    .map_err(|e| CoreError::Internal(e.to_string()))?
                    .map_err(|e| name_damage(reader.toc(), e))?;
            }
            let toc = Arc::new(reader.toc().clone());
            run(
                conn,
                &opts,
                toc,
                Source::File(reader),
                None,
                observer,
                cancel,
            )
            .await?
        }
        Input::Stdin => pipe(conn, &opts, Box::new(std::io::stdin()), observer, cancel).await?,
        Input::Reader(r) => pipe(conn, &opts, r, observer, cancel).await?,
    };
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// The stream a damage error is about: from its fields, or from the "frame N of
/// stream M" its record is named by (truncated or inconsistent frames).
fn damaged_stream(e: &pgdump_format::FormatError) -> Option<pgdump_format::StreamId> {
    use pgdump_format::FormatError as F;
    match e {
        F::Checksum {
            stream: Some(s), ..
        } => Some(*s),
        F::Checksum { what, .. } | F::Corrupt { what, .. } | F::Truncated { what, .. } => {
            let rest = what.split("of stream ").nth(1)?;
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        }
        _ => None,
    }
}

/// The TOC entry whose data a damaged frame holds, if the error names a frame.
fn damaged_entry<'a>(toc: &'a Toc, e: &CoreError) -> Option<&'a TocEntry> {
    let CoreError::Format(fe) = e else {
        return None;
    };
    damaged_stream(fe)
        .and_then(|s| toc.stream(s))
        .and_then(|d| toc.entry(d.entry))
}

/// A damage error naming the object whose data is damaged (when a frame is).
fn name_damage(toc: &Toc, e: CoreError) -> CoreError {
    match damaged_entry(toc, &e) {
        Some(entry) => CoreError::Data {
            object: object_name(entry),
            detail: match e {
                CoreError::Format(fe) => fe.to_string(),
                other => other.to_string(),
            },
        },
        None => e,
    }
}

/// Check every frame's stored checksum (the index and TOC were checked on open).
fn verify_frames<R: pgdump_format::ReadAt>(reader: &ArchiveReader<R>) -> Result<()> {
    for e in reader.frame_entries() {
        let loc = pgdump_format::FrameLocation::from(e);
        reader.read_raw_frame(&loc)?;
    }
    Ok(())
}

enum Source {
    File(Arc<ArchiveReader<std::fs::File>>),
    Pipe,
}

struct RunState {
    sched: Scheduler,
    kinds: Vec<TaskKind>,
    pipe_frames: HashMap<usize, RawFrame>,
    failures: Vec<Failure>,
    skipped: Vec<String>,
    created: Vec<usize>,
    external: bool,
    fatal: Option<CoreError>,
    done: usize,
    rows: u64,
    bytes: u64,
    loaded: HashMap<String, u64>,
}

struct Run {
    toc: Arc<Toc>,
    opts: RestoreOptions,
    source: Source,
    state: Mutex<RunState>,
    notify: Notify,
    observer: SharedObserver,
    stop: CancellationToken,
    frame_permits: Arc<Semaphore>,
    /// Buffers of decoded frames, back from the COPYs that sent them.
    bufs: BufPool,
}

impl Run {
    fn lock(&self) -> std::sync::MutexGuard<'_, RunState> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

fn object_name(e: &TocEntry) -> String {
    format!("{} {}", e.kind, e.display_name())
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

#[allow(clippy::too_many_arguments)]
async fn run(
    conn: &ConnConfig,
    opts: &RestoreOptions,
    toc: Arc<Toc>,
    source: Source,
    pipe_rx: Option<PipeFeed>,
    observer: SharedObserver,
    cancel: CancellationToken,
) -> Result<RestoreSummary> {
    let sel = select::select(&toc, opts)?;
    let frames: Option<StreamFrames> = match &source {
        Source::File(r) => Some(
            r.streams()
                .iter()
                .map(|s| {
                    (
                        s.stream,
                        r.frames(s.stream)
                            .iter()
                            .map(|f| u64::from(f.raw_len))
                            .collect(),
                    )
                })
                .collect(),
        ),
        Source::Pipe => None,
    };
    let plan = plan::plan(
        &toc,
        &sel.keep,
        frames.as_ref(),
        opts.data_task_bytes,
        opts.split_tables,
        opts.data_only,
    );
    let mut sched = Scheduler::new();
    let mut kinds = Vec::with_capacity(plan.tasks.len());
    for t in &plan.tasks {
        if t.kind == TaskKind::Barrier {
            sched.add_barrier(&t.deps, t.held);
        } else {
            sched.add(&t.deps, t.weight, t.locks.clone());
        }
        kinds.push(t.kind.clone());
    }
    let selected = sel.keep.iter().filter(|k| **k).count();
    observer.event(&Event::Planned {
        items: selected,
        streams: toc.streams.len(),
        est_bytes: frames
            .as_ref()
            .map(|f| f.values().flatten().sum())
            .unwrap_or_else(|| toc.streams.iter().map(|s| s.est_bytes).sum()),
    });

    // The database to restore into (created first with --create).
    let (target, created_db) = prepare_database(conn, opts, &toc).await?;

    let run = Arc::new(Run {
        toc: toc.clone(),
        opts: opts.clone(),
        source,
        state: Mutex::new(RunState {
            sched,
            kinds,
            pipe_frames: HashMap::new(),
            failures: Vec::new(),
            skipped: Vec::new(),
            created: Vec::new(),
            external: pipe_rx.is_some(),
            fatal: None,
            done: 0,
            rows: 0,
            bytes: 0,
            loaded: HashMap::new(),
        }),
        notify: Notify::new(),
        observer: observer.clone(),
        stop: cancel.child_token(),
        frame_permits: Arc::new(Semaphore::new(opts.jobs * 2 + 1)),
        // Per connection: two frames queued for its COPY, one being sent, one being decoded.
        bufs: BufPool::new(opts.jobs * 4 + 2),
    });

    let mut clients = Vec::new();
    for _ in 0..opts.jobs {
        clients.push(open_worker(&target, opts).await?);
    }
    let mut notes = sel.notes.clone();
    // (a database created by this run has nothing to drop)
    if opts.clean && created_db.is_none() {
        notes.extend(clean(&clients[0], &toc, &sel.keep).await);
    }
    if opts.single_transaction {
        clients[0]
            .batch_execute("BEGIN")
            .await
            .context(|| "starting the restore transaction".to_string())?;
    }

    observer.event(&Event::Phase { name: "restore" });
    let mut set = tokio::task::JoinSet::new();
    let mut feeder = None;
    if let Some(feed) = pipe_rx {
        let r = run.clone();
        let data_done = plan.data_done;
        let pre = plan.pre_data_done;
        let entry_task = plan.entry_task.clone();
        feeder = Some(tokio::spawn(feed_frames(
            r,
            feed,
            data_done,
            pre,
            entry_task,
            sel.keep.clone(),
        )));
    }
    let single_txn = opts.single_transaction;
    for client in clients {
        let r = run.clone();
        set.spawn(async move {
            let res = worker(&r, &client, single_txn).await;
            (client, res)
        });
    }
    let mut first_client = None;
    while let Some(j) = set.join_next().await {
        match j {
            Ok((client, res)) => {
                if let Err(e) = res {
                    let mut st = run.lock();
                    st.fatal.get_or_insert(e);
                    st.sched.stop();
                    drop(st);
                    run.notify.notify_waiters();
                }
                first_client.get_or_insert(client);
            }
            Err(e) => {
                let mut st = run.lock();
                st.fatal
                    .get_or_insert(CoreError::Internal(format!("restore worker failed: {e}")));
                st.sched.stop();
            }
        }
    }
    if let Some(f) = feeder {
        f.abort();
    }

    let mut st = std::mem::replace(
        &mut *run.lock(),
        RunState {
            sched: Scheduler::new(),
            kinds: Vec::new(),
            pipe_frames: HashMap::new(),
            failures: Vec::new(),
            skipped: Vec::new(),
            created: Vec::new(),
            external: false,
            fatal: None,
            done: 0,
            rows: 0,
            bytes: 0,
            loaded: HashMap::new(),
        },
    );
    if single_txn {
        if let Some(c) = &first_client {
            let end = if st.failures.is_empty() && st.fatal.is_none() {
                "COMMIT"
            } else {
                "ROLLBACK"
            };
            if let Err(e) = c.batch_execute(end).await {
                st.failures.push(Failure {
                    object: "transaction".into(),
                    message: DbMessage(&e).to_string(),
                });
            }
        }
    }
    let mut rolled_back = None;
    if let Some(fatal) = st.fatal.take() {
        // Damage found during the run: a pipe, or a file restored with verify_first off.
        let damaged = matches!(fatal, CoreError::Format(_));
        if damaged && !opts.keep_partial && !single_txn {
            let why = name_damage(&toc, fatal).to_string();
            notes.extend(
                undo(
                    &target,
                    conn,
                    created_db.as_deref(),
                    &toc,
                    &st.created,
                    first_client.as_ref(),
                )
                .await,
            );
            // What stays is what went into tables this run did not create (a data-only
            // restore into an existing schema): the report keeps exactly those rows.
            if created_db.is_some() {
                st.loaded.clear();
            } else {
                let created = st.created.iter().filter_map(|&i| toc.entries.get(i));
                let mut dropped: std::collections::HashSet<String> = created
                    .clone()
                    .map(|e| crate::quote::qualify(e.schema.as_deref().unwrap_or(""), &e.name))
                    .collect();
                // Pieces written into large objects this run created went with them.
                if created
                    .clone()
                    .any(|e| entry_kind(e) == Some(Kind::LargeObject))
                {
                    dropped.insert(LARGE_OBJECTS.to_string());
                }
                st.loaded.retain(|table, _| !dropped.contains(table));
            }
            rolled_back = Some(why);
        } else if !damaged {
            return Err(name_damage(&toc, fatal));
        } else {
            // keep_partial: report what loaded, then fail.
            let object =
                damaged_entry(&toc, &fatal).map_or_else(|| "archive".to_string(), object_name);
            let message = match &fatal {
                CoreError::Format(fe) => format!("the archive is damaged: {fe}"),
                other => other.to_string(),
            };
            st.failures.push(Failure { object, message });
        }
    }
    if cancel.is_cancelled() {
        return Err(CoreError::Cancelled);
    }
    let mut loaded: Vec<(String, u64)> = st.loaded.into_iter().collect();
    loaded.sort();
    // An entry can have several tasks (data parts, the two halves of a foreign key):
    // name each skipped entry once, and not at all when it is reported as failed.
    let mut seen: std::collections::HashSet<String> =
        st.failures.iter().map(|f| f.object.clone()).collect();
    st.skipped.retain(|k| seen.insert(k.clone()));
    Ok(RestoreSummary {
        database: target.dbname().to_string(),
        selected,
        done: st.done,
        failures: st.failures,
        skipped: st.skipped,
        notes,
        rows: st.rows,
        bytes: st.bytes,
        loaded,
        rolled_back,
        elapsed: Duration::ZERO,
    })
}

/// Create the target database if asked; returns the connection settings of the
/// database to restore into and the name of a database this run created.
async fn prepare_database(
    conn: &ConnConfig,
    opts: &RestoreOptions,
    toc: &Toc,
) -> Result<(ConnConfig, Option<String>)> {
    if !opts.create {
        return Ok((conn.clone(), None));
    }
    let wanted = conn.dbname().to_string();
    let maint_cfg = conn.with_dbname("postgres");
    let maint = match connect(&maint_cfg, TOOL_NAME).await {
        Ok(c) => c,
        Err(_) => connect(&conn.with_dbname("template1"), TOOL_NAME).await?,
    };
    let exists = maint
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1",
            &[&wanted],
        )
        .await
        .context(|| "looking up the target database".to_string())?
        .is_some();
    // pg_restore --create: -d names an existing database to connect to and the
    // archive's database is created; a -d naming a new database creates that one.
    let name = if exists {
        toc.info.database.clone()
    } else {
        wanted
    };
    if opts.clean {
        // --clean --create (pg_restore's meaning): drop the database and create it again.
        maint
            .batch_execute(&format!("DROP DATABASE IF EXISTS {}", ident(&name)))
            .await
            .map_err(|e| CoreError::Restore {
                object: format!("DATABASE {name}"),
                source: e,
            })?;
    }
    let db_entry = toc
        .entries
        .iter()
        .find(|e| entry_kind(e) == Some(Kind::Database));
    let create = db_entry
        .and_then(|e| e.meta.get("create_options"))
        .map(|o| format!("CREATE DATABASE {} {o}", ident(&name)))
        .unwrap_or_else(|| format!("CREATE DATABASE {} WITH TEMPLATE = template0", ident(&name)));
    maint
        .batch_execute(&create)
        .await
        .map_err(|e| CoreError::Restore {
            object: format!("DATABASE {name}"),
            source: e,
        })?;
    let target = conn.with_dbname(&name);
    if let Some(e) = db_entry {
        let mut post = e.meta.get("post_create").cloned().unwrap_or_default();
        if opts.no_owner {
            post = strip_lines(&post, "ALTER DATABASE", "OWNER TO");
        }
        if opts.no_privileges {
            post = strip_lines(&post, "GRANT", "");
            post = strip_lines(&post, "REVOKE", "");
        }
        let post = post.replace("{{DATABASE}}", &ident(&name));
        if !post.trim().is_empty() {
            let c = connect(&target, TOOL_NAME).await?;
            c.batch_execute(&post)
                .await
                .map_err(|e| CoreError::Restore {
                    object: format!("DATABASE {name} properties"),
                    source: e,
                })?;
        }
    }
    Ok((target, Some(name)))
}

fn strip_lines(sql: &str, prefix: &str, contains: &str) -> String {
    sql.lines()
        .filter(|l| !(l.trim_start().starts_with(prefix) && l.contains(contains)))
        .map(|l| format!("{l}\n"))
        .collect()
}

async fn open_worker(target: &ConnConfig, opts: &RestoreOptions) -> Result<Client> {
    let c = connect(target, TOOL_NAME).await?;
    let (version, _) = session::server_version(&c).await?;
    session::setup_restore(&c, version).await?;
    if let Some(role) = &opts.role {
        c.batch_execute(&format!("SET ROLE {}", ident(role)))
            .await
            .context(|| format!("SET ROLE {role}"))?;
    }
    if opts.disable_triggers {
        c.batch_execute("SET session_replication_role = replica")
            .await
            .context(|| "disabling triggers (session_replication_role)".to_string())?;
    }
    Ok(c)
}

/// `--clean`: drop the selected objects, in reverse order, before restoring.
async fn clean(client: &Client, toc: &Toc, keep: &[bool]) -> Vec<String> {
    let mut notes = Vec::new();
    for (i, e) in toc.entries.iter().enumerate().rev() {
        if !keep.get(i).copied().unwrap_or(false) {
            continue;
        }
        if let Some(drop) = &e.drop {
            if let Err(err) = client.batch_execute(drop).await {
                notes.push(format!(
                    "could not drop {}: {}",
                    object_name(e),
                    DbMessage(&err)
                ));
            }
        }
    }
    notes
}

/// Undo a run after a damaged archive: drop the database this run created, or
/// every object this run created, newest first.
async fn undo(
    target: &ConnConfig,
    conn: &ConnConfig,
    created_db: Option<&str>,
    toc: &Toc,
    created: &[usize],
    client: Option<&Client>,
) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(db) = created_db {
        match connect(&conn.with_dbname("postgres"), TOOL_NAME).await {
            Ok(m) => {
                // FORCE (13+) ends our own worker sessions still attached to it.
                let force = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(db));
                let plain = format!("DROP DATABASE IF EXISTS {}", ident(db));
                let res = match m.batch_execute(&force).await {
                    Ok(()) => Ok(()),
                    Err(_) => m.batch_execute(&plain).await,
                };
                match res {
                    Ok(()) => notes.push(format!("dropped database {db} created by this run")),
                    Err(e) => {
                        notes.push(format!("could not drop database {db}: {}", DbMessage(&e)))
                    }
                }
            }
            Err(e) => notes.push(format!("could not drop database {db}: {e}")),
        }
        return notes;
    }
    let fresh;
    let client = match client {
        Some(c) => c,
        None => match connect(target, TOOL_NAME).await {
            Ok(c) => {
                fresh = c;
                &fresh
            }
            Err(e) => {
                notes.push(format!("could not undo the restore: {e}"));
                return notes;
            }
        },
    };
    // Leave any transaction; outside one the server only warns, which is not worth showing.
    let _ = client
        .batch_execute("SET client_min_messages = error")
        .await;
    let _ = client.batch_execute("ROLLBACK").await;
    let _ = client
        .batch_execute("SET client_min_messages = warning")
        .await;
    let mut dropped = 0;
    for &i in created.iter().rev() {
        if let Some(drop) = toc.entries.get(i).and_then(|e| e.drop.as_ref()) {
            match client.batch_execute(drop).await {
                Ok(()) => dropped += 1,
                Err(e) => notes.push(format!(
                    "could not drop {}: {}",
                    object_name(&toc.entries[i]),
                    DbMessage(&e)
                )),
            }
        }
    }
    notes.push(format!("dropped {dropped} objects created by this run"));
    notes
}

/// The name large-object pieces are counted under in [`RestoreSummary::loaded`].
pub const LARGE_OBJECTS: &str = "large objects";

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

/// A worker: take tasks until nothing is left.
async fn worker(run: &Run, client: &Client, in_txn: bool) -> Result<()> {
    // One transaction (-1) or stop at the first error (-e): one request at a time.
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
        if run.stop.is_cancelled() {
            return Ok(());
        }
        if run.lock().fatal.is_some() {
            // What is already on the wire runs to its end on the server: wait for it, so
            // that the report (and an undo) knows exactly what was done.
            while let Some((results, _, _)) = futures::StreamExt::next(&mut pipeline).await {
                record(run, results);
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
            _ = run.stop.cancelled() => return Ok(()),
        };
        flight.heavy -= usize::from(heavy);
        flight.alone -= usize::from(alone);
        record(run, results);
        run.notify.notify_waiters();
    }
}

/// A load that keeps its transaction open across requests (see [`InFlight::alone`]).
fn runs_alone(kind: &TaskKind) -> bool {
    matches!(kind, TaskKind::Data { freeze: true, .. })
}

/// Record the results of a batch in the run's state.
fn record(run: &Run, results: Vec<(usize, Option<TaskResult>)>) {
    let mut fatal = None;
    let mut st = run.lock();
    for (t, res) in results {
        let ok = matches!(res, Some(Ok(_)));
        match res {
            // Not run: an earlier item of its batch failed with --exit-on-error.
            None => {
                if let Some(n) = task_name(&run.toc, &st.kinds[t]) {
                    st.skipped.push(n);
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
            Some(Err((obj, e))) => {
                if matches!(e, CoreError::Format(_)) || matches!(e, CoreError::Cancelled) {
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
        for s in skipped {
            let name = task_name(&run.toc, &st.kinds[s]);
            if let Some(n) = name {
                st.skipped.push(n);
            }
        }
        if !ok && run.opts.exit_on_error {
            st.sched.stop();
        }
    }
    if let Some(e) = fatal {
        st.fatal.get_or_insert(e);
        st.sched.stop();
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
                    && e.code()
                        == Some(&tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED) =>
            {
                tracing::debug!("deadlock victim, attempt {attempt}: running it again");
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                attempt += 1;
            }
            r => return r,
        }
    }
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
            if client.batch_execute(&all).await.is_ok() {
                return sqls.into_iter().map(|(t, o, _)| (t, Some(Ok(o)))).collect();
            }
        }
        // One by one, to name what failed (and, with --exit-on-error, run nothing after it).
        let mut out = Vec::new();
        let mut stopped = false;
        for (t, o, s) in sqls {
            if stopped {
                out.push((t, None));
                continue;
            }
            let r = exec_retrying(client, &s, in_txn).await;
            stopped = r.is_err() && run.opts.exit_on_error;
            out.push((
                t,
                Some(r.map(|()| o.clone()).map_err(|e| {
                    (
                        o.clone(),
                        CoreError::Restore {
                            object: o,
                            source: e,
                        },
                    )
                })),
            ));
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
                exec_retrying(client, &sql, in_txn)
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
                Some(sql) => exec_retrying(client, &sql, in_txn)
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
                    }),
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

// ---- pipe input

enum PipeMsg {
    Frame(RawFrame),
    End,
    Error(CoreError),
}

struct PipeFeed {
    rx: mpsc::Receiver<PipeMsg>,
}

async fn pipe(
    conn: &ConnConfig,
    opts: &RestoreOptions,
    input: Box<dyn Read + Send>,
    observer: SharedObserver,
    cancel: CancellationToken,
) -> Result<RestoreSummary> {
    let (toc_tx, toc_rx) = tokio::sync::oneshot::channel::<Result<Toc>>();
    let (tx, rx) = mpsc::channel::<PipeMsg>(opts.jobs * 2 + 2);
    let reader = std::thread::Builder::new()
        .name("pgdump-pipe-reader".into())
        .spawn(move || {
            let mut sr = match StreamReader::new(std::io::BufReader::with_capacity(1 << 20, input))
            {
                Ok(sr) => sr,
                Err(e) => {
                    let _ = toc_tx.send(Err(e.into()));
                    return;
                }
            };
            if toc_tx.send(Ok(sr.toc().clone())).is_err() {
                return;
            }
            loop {
                let msg = match sr.next_frame() {
                    Ok(Some(f)) => PipeMsg::Frame(f),
                    Ok(None) => PipeMsg::End,
                    Err(e) => PipeMsg::Error(e.into()),
                };
                let last = !matches!(msg, PipeMsg::Frame(_));
                if tx.blocking_send(msg).is_err() || last {
                    return;
                }
            }
        })
        .map_err(|e| CoreError::io("starting the archive reader thread", e))?;
    let toc = toc_rx
        .await
        .map_err(|_| CoreError::Internal("archive reader stopped".into()))??;
    let res = run(
        conn,
        opts,
        Arc::new(toc),
        Source::Pipe,
        Some(PipeFeed { rx }),
        observer,
        cancel,
    )
    .await;
    // Unblock and reap the reader (it stops when its channel closes).
    let _ = tokio::task::spawn_blocking(move || reader.join()).await;
    res
}

/// Turn arriving frames into data tasks; release post-data when the archive's end is confirmed.
async fn feed_frames(
    run: Arc<Run>,
    mut feed: PipeFeed,
    data_done: usize,
    pre_data_done: usize,
    entry_task: HashMap<usize, usize>,
    keep: Vec<bool>,
) {
    let pos: HashMap<u32, usize> = run
        .toc
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id, i))
        .collect();
    let deps = select::dep_indices(&run.toc);
    loop {
        let msg = tokio::select! {
            m = feed.rx.recv() => m,
            _ = run.stop.cancelled() => None,
        };
        match msg {
            Some(PipeMsg::Frame(frame)) => {
                let entry = run
                    .toc
                    .stream(frame.stream())
                    .and_then(|s| pos.get(&s.entry).copied());
                let Some(entry) = entry else { continue };
                // Frames of entries not restored are verified by the reader and dropped.
                if !keep.get(entry).copied().unwrap_or(false) {
                    continue;
                }
                let table_task = deps[entry]
                    .first()
                    .and_then(|t| entry_task.get(t))
                    .copied()
                    .unwrap_or(pre_data_done);
                let Ok(permit) = run.frame_permits.clone().acquire_owned().await else {
                    return;
                };
                permit.forget();
                let mut st = run.lock();
                let t = st
                    .sched
                    .add(&[pre_data_done, table_task], frame.raw_len(), Vec::new());
                st.kinds.push(TaskKind::Data {
                    entry,
                    stream: frame.stream(),
                    frames: 0..1,
                    freeze: false,
                });
                st.pipe_frames.insert(t, frame);
                st.sched.add_dep(data_done, t);
                if st.sched.state(t) == State::Skipped {
                    st.pipe_frames.remove(&t);
                    run.frame_permits.add_permits(1);
                }
                drop(st);
                run.notify.notify_waiters();
            }
            Some(PipeMsg::End) => {
                let mut st = run.lock();
                st.sched.release(data_done);
                st.external = false;
                drop(st);
                run.notify.notify_waiters();
                return;
            }
            Some(PipeMsg::Error(e)) => {
                let mut st = run.lock();
                st.fatal.get_or_insert(e);
                st.sched.stop();
                st.external = false;
                drop(st);
                run.notify.notify_waiters();
                return;
            }
            None => {
                let mut st = run.lock();
                st.external = false;
                st.sched.stop();
                drop(st);
                run.notify.notify_waiters();
                return;
            }
        }
    }
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
