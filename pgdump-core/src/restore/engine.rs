//! Running a plan into one database: connect the workers, check what must hold
//! before anything changes, open the transaction(s) the mode asks for, run the
//! workers, and stop them cleanly.
//!
//! Modes:
//! - [`TxnMode::Autocommit`]: every item commits on its own (N connections).
//! - [`TxnMode::Single`] (`--single-transaction`): one connection, one transaction
//!   around everything, the drops of `--clean` included; any failure or cancel rolls
//!   it all back.
//! - [`TxnMode::AtomicPreData`] (in-place `--clean`): the drops, the roles and the
//!   pre-data definitions run in one transaction on the first connection, committed
//!   together (the switch of schema is atomic); then data and post-data run on N
//!   connections.
//!
//! Stopping: when the caller cancels (or a fatal error stops the run), every
//! connection gets cancel requests until its workers have drained what they had
//! sent, so that no statement keeps running and nothing new starts; an open
//! transaction is then rolled back.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pgdump_format::Toc;
use tokio::sync::{Notify, Semaphore};
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

use super::clean;
use super::options::RestoreOptions;
use super::pipe::{self, FeedPlan, PipeFeed};
use super::plan::{self, StreamFrames, TaskKind};
use super::sched::Scheduler;
use super::select::Selected;
use super::source::Source;
use super::workers::{worker, Run, RunState};
use crate::catalog::ServerVersion;
use crate::conn::{cancel_query, connect_cancellable, ConnConfig};
use crate::copy_data::BufPool;
use crate::error::{CoreError, QueryContext, Result};
use crate::progress::{Event, SharedObserver};
use crate::quote::ident;
use crate::{session, TOOL_NAME};

/// How the plan's statements are grouped into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TxnMode {
    /// Each item on its own.
    Autocommit,
    /// Everything in one transaction.
    Single,
    /// Drops, roles and pre-data in one transaction; the rest on its own.
    AtomicPreData,
}

/// One run of a plan into one database.
pub(super) struct Job {
    /// The database restored into.
    pub db: ConnConfig,
    pub toc: Arc<Toc>,
    pub source: Source,
    pub feed: Option<PipeFeed>,
    pub sel: Selected,
    pub mode: TxnMode,
    /// Drop the selected objects first (in the transaction of the mode).
    pub clean: bool,
}

/// How far a run's changes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reached {
    /// Nothing was committed (or nothing ran): the target is as it was.
    NothingCommitted,
    /// Items committed one by one (autocommit, or after the atomic pre-data).
    Committed,
}

/// What a run did.
pub(super) struct Ran {
    pub selected: usize,
    pub state: RunState,
    /// The caller cancelled.
    pub cancelled: bool,
    /// The open transaction was rolled back (failure or cancel).
    pub rolled_back: bool,
    pub reached: Reached,
    /// With [`TxnMode::AtomicPreData`]: the drops and definitions were committed.
    pub pre_data_committed: bool,
}

impl Ran {
    /// Did the run end as planned (every item done or reported, no fatal error)?
    pub fn completed(&self) -> bool {
        self.state.fatal.is_none() && !self.cancelled && !self.rolled_back
    }
}

/// Run `job`. `Err` only for what stops it before anything changed in the target
/// (connections, the ownership check, a `--clean` that would break dependents).
pub(super) async fn execute(
    job: Job,
    opts: &RestoreOptions,
    observer: SharedObserver,
    cancel: &CancellationToken,
) -> Result<Ran> {
    let Job {
        db,
        toc,
        source,
        feed,
        sel,
        mode,
        clean,
    } = job;
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
    if mode == TxnMode::AtomicPreData {
        sched.hold(plan.pre_data_done);
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

    let jobs = if mode == TxnMode::Single {
        1
    } else {
        opts.jobs
    };
    let mut clients = Vec::with_capacity(jobs);
    let mut version = ServerVersion(0);
    for _ in 0..jobs {
        let (c, v) = open_worker(&db, opts, cancel).await?;
        version = v;
        clients.push(c);
    }
    check_ownership(&clients[0], version, &toc, &sel.keep, opts).await?;

    let in_txn = mode != TxnMode::Autocommit;
    if in_txn {
        clients[0]
            .batch_execute("BEGIN")
            .await
            .context(|| "starting the restore transaction".to_string())?;
        if clean {
            observer.event(&Event::Phase { name: "clean" });
            let dropped = tokio::select! {
                biased;
                _ = cancel.cancelled() => Err(CoreError::Cancelled),
                r = clean::drop_in_transaction(&clients[0], &toc, &sel.keep) => r,
            };
            if let Err(e) = dropped {
                // Dropping the connection rolls back too: a cancelled drop may still be
                // running, and the ROLLBACK waits behind it (or fails with it).
                if !e.is_cancelled() {
                    rollback(&clients[0]).await;
                }
                return Err(e);
            }
        }
    }

    let run = Arc::new(Run {
        toc: toc.clone(),
        opts: opts.clone(),
        source,
        state: Mutex::new(RunState {
            sched,
            kinds,
            external: feed.is_some(),
            strict: in_txn || opts.exit_on_error,
            ..RunState::default()
        }),
        notify: Notify::new(),
        observer: observer.clone(),
        stop: cancel.child_token(),
        frame_permits: Arc::new(Semaphore::new(opts.jobs * 2 + 1)),
        // Per connection: two frames queued for its COPY, one being sent, one being decoded.
        bufs: BufPool::new(opts.jobs * 4 + 2),
    });
    let canceller = Canceller::start(&db, &clients, run.stop.clone());

    observer.event(&Event::Phase { name: "restore" });
    let feeder = feed.map(|feed| {
        tokio::spawn(pipe::feed_frames(
            run.clone(),
            feed,
            FeedPlan {
                data_done: plan.data_done,
                pre_data_done: plan.pre_data_done,
                entry_task: plan.entry_task.clone(),
                keep: sel.keep.clone(),
            },
        ))
    });

    let mut pre_data_committed = false;
    let mut rolled_back = false;
    let mut clients = clients;
    if mode == TxnMode::AtomicPreData {
        let res = worker(&run, &clients[0], true, Some(plan.pre_data_done)).await;
        if let Err(e) = res {
            run.fail(e);
        }
        let ok = {
            let st = run.lock();
            st.failures.is_empty() && st.fatal.is_none()
        } && !run.stop.is_cancelled();
        canceller.pause().await;
        if ok {
            match clients[0].batch_execute("COMMIT").await {
                Ok(()) => pre_data_committed = true,
                Err(e) => run.fail(CoreError::query("committing the definitions", e)),
            }
        }
        if !pre_data_committed {
            rollback(&clients[0]).await;
            rolled_back = true;
            run.lock().sched.stop();
        } else {
            let mut st = run.lock();
            st.strict = opts.exit_on_error;
            st.sched.release(plan.pre_data_done);
        }
        canceller.resume();
        run.notify.notify_waiters();
    }

    if !rolled_back {
        let worker_txn = mode == TxnMode::Single;
        let mut set = tokio::task::JoinSet::new();
        for client in clients.drain(..) {
            let r = run.clone();
            set.spawn(async move {
                let res = worker(&r, &client, worker_txn, None).await;
                (client, res)
            });
        }
        while let Some(j) = set.join_next().await {
            match j {
                Ok((client, res)) => {
                    if let Err(e) = res {
                        run.fail(e);
                    }
                    clients.push(client);
                }
                Err(e) => run.fail(CoreError::Internal(format!("restore worker failed: {e}"))),
            }
        }
    }
    if let Some(f) = feeder {
        f.abort();
    }
    canceller.stop().await;
    let cancelled = cancel.is_cancelled();

    if mode == TxnMode::Single && !rolled_back {
        let ok = {
            let st = run.lock();
            st.failures.is_empty() && st.fatal.is_none()
        } && !cancelled;
        if let Some(c) = clients.first() {
            if ok {
                if let Err(e) = c.batch_execute("COMMIT").await {
                    run.fail(CoreError::query("committing the restore", e));
                    rolled_back = true;
                }
            } else {
                rollback(c).await;
                rolled_back = true;
            }
        } else {
            rolled_back = true;
        }
    }
    drop(clients);

    let state = std::mem::take(&mut *run.lock());
    let reached = match mode {
        TxnMode::Autocommit => Reached::Committed,
        TxnMode::Single if !rolled_back => Reached::Committed,
        TxnMode::AtomicPreData if pre_data_committed => Reached::Committed,
        _ => Reached::NothingCommitted,
    };
    Ok(Ran {
        selected,
        state,
        cancelled,
        rolled_back,
        reached,
        pre_data_committed,
    })
}

/// Leave an open (possibly failed) transaction. A cancel request that arrived late
/// can fail the first attempt: try once more.
async fn rollback(client: &Client) {
    for _ in 0..2 {
        if client.batch_execute("ROLLBACK").await.is_ok() {
            return;
        }
    }
}

/// Connect one worker and set its session up; cancellable while connecting.
async fn open_worker(
    target: &ConnConfig,
    opts: &RestoreOptions,
    cancel: &CancellationToken,
) -> Result<(Client, ServerVersion)> {
    let c = connect_cancellable(target, TOOL_NAME, cancel).await?;
    let setup = async {
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
        Ok::<_, CoreError>(version)
    };
    let version = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Err(CoreError::Cancelled),
        v = setup => v?,
    };
    Ok((c, version))
}

/// Before anything changes: a role that is not a superuser can only give objects to
/// roles it may become (SET ROLE: member before 16, the SET option from 16). Without
/// `--no-owner`, every owner in the selection must be one of those, or every item
/// would fail on its ALTER ... OWNER; say so once, with the way out.
async fn check_ownership(
    client: &Client,
    version: ServerVersion,
    toc: &Toc,
    keep: &[bool],
    opts: &RestoreOptions,
) -> Result<()> {
    if opts.no_owner {
        return Ok(());
    }
    let owners: BTreeSet<&str> = toc
        .entries
        .iter()
        .enumerate()
        .filter(|(i, e)| keep.get(*i).copied().unwrap_or(false) && e.alter_owner.is_some())
        .filter_map(|(_, e)| e.owner.as_deref())
        .collect();
    if owners.is_empty() {
        return Ok(());
    }
    let owners: Vec<&str> = owners.into_iter().collect();
    let privilege = if version.at_least(16) {
        "SET"
    } else {
        "MEMBER"
    };
    let sql = format!(
        "SELECT r.rolsuper, current_user::text, \
                ARRAY(SELECT o FROM pg_catalog.unnest($1::text[]) o \
                      WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles x \
                                        WHERE x.rolname = o \
                                          AND pg_catalog.pg_has_role(x.oid, '{privilege}'))) \
         FROM pg_catalog.pg_roles r WHERE r.rolname = current_user"
    );
    let row = client
        .query_opt(&sql, &[&owners])
        .await
        .context(|| "checking who can own the restored objects".to_string())?;
    let Some(row) = row else { return Ok(()) };
    let (superuser, me, missing): (bool, String, Vec<String>) =
        (row.get(0), row.get(1), row.get(2));
    if superuser || missing.is_empty() {
        return Ok(());
    }
    Err(CoreError::Usage(format!(
        "role {me} is not a superuser and cannot give objects to {} (it is not a member \
         of {}): use --no-owner (-O) to restore everything owned by {me}, or restore as a \
         superuser; nothing was changed",
        missing.join(", "),
        if missing.len() == 1 { "it" } else { "them" },
    )))
}

/// Sends cancel requests to every worker connection while the run is stopping, until
/// paused or stopped: a cancel only hits the statement running at that moment, so
/// requests already queued behind it on a connection get one too when they start.
struct Canceller {
    quiet: CancellationToken,
    paused: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Canceller {
    fn start(db: &ConnConfig, clients: &[Client], stop: CancellationToken) -> Canceller {
        let tokens: Vec<_> = clients.iter().map(Client::cancel_token).collect();
        let cfg = db.clone();
        let quiet = CancellationToken::new();
        let paused = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (q, p) = (quiet.clone(), paused.clone());
        let task = tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = q.cancelled() => return,
            }
            loop {
                if !p.load(std::sync::atomic::Ordering::SeqCst) {
                    for t in &tokens {
                        cancel_query(&cfg, t).await;
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    _ = q.cancelled() => return,
                }
            }
        });
        Canceller {
            quiet,
            paused,
            task,
        }
    }

    /// Stop sending (before a COMMIT or ROLLBACK that must not be cancelled); a request
    /// already on its way may still land, which the callers' retries absorb.
    async fn pause(&self) {
        self.paused.store(true, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    fn resume(&self) {
        self.paused
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    async fn stop(self) {
        self.quiet.cancel();
        let _ = self.task.await;
    }
}
