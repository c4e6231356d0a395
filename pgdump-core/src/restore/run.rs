//! A restore from start to end, by target: open the archive, select, then
//! - into the existing database ([`Target::Existing`]): run the plan there (with
//!   `--clean`, the drops and definitions in one transaction), undoing what this run
//!   created if it stops halfway;
//! - into a new database ([`Target::Create`], [`Target::CreateArchive`]): create it,
//!   run the plan, drop it again if the run stops halfway;
//! - over an existing database ([`Target::Replace`], or `--clean --create` of an
//!   existing one): build a new database beside it, check it against the archive's
//!   row counts and content hashes, give it the target's properties, swap it in.
//!
//! Whatever stops a run early comes back as [`CoreError::Stopped`], which says what
//! state the target is in.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use pgdump_format::Toc;
use tokio_util::sync::CancellationToken;

use super::engine::{self, Job, Ran, Reached, TxnMode};
use super::options::{RestoreOptions, Target};
use super::outcome::{Failure, RestoreSummary, TargetState, LARGE_OBJECTS};
use super::pipe::{self, PipeFeed};
use super::safety;
use super::select::{self, entry_kind, Selected};
use super::source::{self, damaged_entry, name_damage, object_name, Input, Source};
use super::target::{Beside, Maint};
use super::undo;
use crate::catalog::Kind;
use crate::conn::ConnConfig;
use crate::error::{CoreError, Result};
use crate::progress::{Event, SharedObserver};

/// Restore an archive.
///
/// The database restored into is always one the caller named: the one `conn`
/// names, or with [`Target::CreateArchive`] the archive's (see [`Target`]).
///
/// Returns the summary of a run that went to its end; items that failed (in the
/// default mode, which goes on after a failed item) are listed in it (see
/// [`RestoreSummary::ok`]). Anything that stops the run early (bad options, an
/// unreadable or damaged archive, a lost connection, a failed item in one
/// transaction, a cancel) is an `Err`; once the target may have been touched, it is
/// [`CoreError::Stopped`] with the [`TargetState`] the target was left in.
///
/// # Cancel safety
/// Cancelling `cancel` stops the restore promptly: running statements are cancelled
/// on the server, an open transaction is rolled back, and what this run created is
/// dropped again (a new database, or the objects it created), before it returns.
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
    if input.is_stream()
        && opts.clean
        && !opts.single_transaction
        && opts.target == Target::Existing
    {
        return Err(CoreError::Usage(
            "--clean from a pipe is refused without --single-transaction: the drops would \
             run before the archive could be verified, and a damaged or cut stream would leave \
             the database without its objects. Use --single-transaction (everything in one \
             transaction, rolled back on any error), --replace (restore beside the database, \
             check, then swap), or restore from a file (verified before anything runs)"
                .into(),
        ));
    }
    let opened = open(input, &opts, &observer, &cancel).await?;
    let sel = select::select(&opened.toc, &opts)?;
    let mut summary = match opts.target {
        Target::Existing => in_place(conn, &opts, opened, sel, observer, &cancel).await?,
        Target::Create | Target::CreateArchive => {
            let name = if opts.target == Target::Create {
                conn.dbname().to_string()
            } else {
                opened.toc.info.database.clone()
            };
            create(conn, &opts, &name, opened, sel, observer, &cancel).await?
        }
        Target::Replace => {
            let name = conn.dbname().to_string();
            let maint = Maint::connect(conn, &name, opts.role.as_deref(), &cancel).await?;
            let keep = opts.replace.keep_previous;
            replace(
                conn, &opts, &maint, &name, keep, opened, sel, observer, &cancel,
            )
            .await?
        }
    };
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Does the database `conn` names exist? (Asked of a maintenance database; for
/// pg_restore's `--create`, where `-d` names the database to connect to when it exists.)
pub async fn database_exists(conn: &ConnConfig, cancel: &CancellationToken) -> Result<bool> {
    let maint = Maint::connect(conn, "", None, cancel).await?;
    maint.exists(conn.dbname()).await
}

/// The archive, opened.
struct Opened {
    toc: Arc<Toc>,
    source: Source,
    feed: Option<PipeFeed>,
}

async fn open(
    input: Input,
    opts: &RestoreOptions,
    observer: &SharedObserver,
    cancel: &CancellationToken,
) -> Result<Opened> {
    match input {
        Input::File(path) => {
            let reader = source::open_file(&path, opts.verify_first, observer).await?;
            Ok(Opened {
                toc: Arc::new(reader.toc().clone()),
                source: Source::File(reader),
                feed: None,
            })
        }
        Input::Stdin => open_stream(Box::new(std::io::stdin()), opts.jobs, cancel).await,
        Input::Reader(r) => open_stream(r, opts.jobs, cancel).await,
    }
}

async fn open_stream(
    input: Box<dyn Read + Send>,
    jobs: usize,
    cancel: &CancellationToken,
) -> Result<Opened> {
    let (toc, feed) = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Err(CoreError::Cancelled),
        r = pipe::open(input, jobs) => r?,
    };
    Ok(Opened {
        toc: Arc::new(toc),
        source: Source::Pipe,
        feed: Some(feed),
    })
}

fn stopped(cause: CoreError, state: TargetState) -> CoreError {
    match cause {
        // Already says it.
        CoreError::Stopped { .. } => cause,
        cause => CoreError::Stopped {
            cause: Box::new(cause),
            state,
        },
    }
}

/// Why a run that did not complete stopped.
fn cause_of(ran: &mut Ran, toc: &Toc) -> CoreError {
    if let Some(f) = ran.state.fatal.take() {
        return name_damage(toc, f);
    }
    if ran.cancelled {
        return CoreError::Cancelled;
    }
    CoreError::RestoreFailed {
        failures: ran
            .state
            .failures
            .iter()
            .map(|f| format!("{}: {}", f.object, f.message))
            .collect(),
    }
}

/// The summary of a run that went to its end.
fn summary(ran: Ran, database: &str, mut notes: Vec<String>) -> RestoreSummary {
    let mut st = ran.state;
    let mut loaded: Vec<(String, u64)> = st.loaded.into_iter().collect();
    loaded.sort();
    // An entry can have several tasks (data parts, the two halves of a foreign key):
    // name each skipped entry once, and not at all when it is reported as failed.
    let mut seen: std::collections::HashSet<String> =
        st.failures.iter().map(|f| f.object.clone()).collect();
    st.skipped.retain(|k| seen.insert(k.clone()));
    notes.dedup();
    RestoreSummary {
        database: database.to_string(),
        selected: ran.selected,
        done: st.done,
        failures: st.failures,
        skipped: st.skipped,
        notes,
        rows: st.rows,
        bytes: st.bytes,
        loaded,
        ..RestoreSummary::default()
    }
}

/// Into the existing database `conn` names.
async fn in_place(
    conn: &ConnConfig,
    opts: &RestoreOptions,
    opened: Opened,
    sel: Selected,
    observer: SharedObserver,
    cancel: &CancellationToken,
) -> Result<RestoreSummary> {
    let mode = if opts.single_transaction {
        TxnMode::Single
    } else if opts.clean {
        TxnMode::AtomicPreData
    } else {
        TxnMode::Autocommit
    };
    if let Some(path) = &opts.safety_backup {
        safety::backup(conn, path, opts.jobs, &observer, cancel)
            .await
            .map_err(|e| stopped(e, TargetState::Unchanged))?;
    }
    let toc = opened.toc.clone();
    let notes = sel.notes.clone();
    let job = Job {
        db: conn.clone(),
        toc: opened.toc,
        source: opened.source,
        feed: opened.feed,
        sel,
        mode,
        clean: opts.clean,
    };
    let mut ran = engine::execute(job, opts, observer, cancel)
        .await
        .map_err(|e| stopped(e, TargetState::Unchanged))?;
    let mut s = if ran.completed() {
        summary(ran, conn.dbname(), notes)
    } else if ran.reached == Reached::NothingCommitted {
        let cause = cause_of(&mut ran, &toc);
        return Err(stopped(cause, TargetState::Unchanged));
    } else if ran.pre_data_committed {
        // The drops and definitions committed; the data phase stopped.
        let cause = cause_of(&mut ran, &toc);
        let detail = format!(
            "the archive's definitions replaced the target's objects (committed before the \
             data was loaded); then the restore stopped: {} rows loaded into {} tables, {} \
             items done",
            ran.state.rows,
            ran.state.loaded.len(),
            ran.state.done
        );
        return Err(stopped(cause, TargetState::Changed { detail }));
    } else if opts.keep_partial && is_damage(ran.state.fatal.as_ref()) {
        // Keep what loaded and report it (and fail).
        let fatal = ran.state.fatal.take();
        let mut s = summary(ran, conn.dbname(), notes);
        if let Some(fatal) = fatal {
            let object =
                damaged_entry(&toc, &fatal).map_or_else(|| "archive".to_string(), object_name);
            let message = match &fatal {
                CoreError::Format(fe) => format!("the archive is damaged: {fe}"),
                other => other.to_string(),
            };
            s.failures.push(Failure { object, message });
        }
        s
    } else {
        let cause = cause_of(&mut ran, &toc);
        let state = undo_in_place(conn, &toc, &ran).await;
        return Err(stopped(cause, state));
    };
    s.safety_backup = opts.safety_backup.clone();
    Ok(s)
}

fn is_damage(e: Option<&CoreError>) -> bool {
    matches!(e, Some(CoreError::Format(_)))
}

/// Drop what a run into an existing database created; the rows that stay are those
/// loaded into tables this run did not create (a data-only restore).
async fn undo_in_place(conn: &ConnConfig, toc: &Toc, ran: &Ran) -> TargetState {
    let undone = undo::drop_created(conn, toc, &ran.state.created).await;
    let created = ran.state.created.iter().filter_map(|&i| toc.entries.get(i));
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
    let mut kept: Vec<(String, u64)> = ran
        .state
        .loaded
        .iter()
        .filter(|(t, n)| !dropped.contains(*t) && **n > 0)
        .map(|(t, n)| (t.clone(), *n))
        .collect();
    kept.sort();
    TargetState::Undone {
        kept,
        not_dropped: undone.not_dropped,
    }
}

/// The archive's `CREATE DATABASE` options and the properties to give the database
/// once restored (owner, comment, privileges and settings, as the options allow).
fn archive_database(toc: &Toc, opts: &RestoreOptions) -> (String, String) {
    let db_entry = toc
        .entries
        .iter()
        .find(|e| entry_kind(e) == Some(Kind::Database));
    let create = db_entry
        .and_then(|e| e.meta.get("create_options"))
        .cloned()
        .unwrap_or_else(|| "WITH TEMPLATE = template0".to_string());
    let mut post = db_entry
        .and_then(|e| e.meta.get("post_create"))
        .cloned()
        .unwrap_or_default();
    if opts.no_owner {
        post = strip_lines(&post, "ALTER DATABASE", "OWNER TO");
    }
    if opts.no_privileges {
        post = strip_lines(&post, "GRANT", "");
        post = strip_lines(&post, "REVOKE", "");
    }
    if opts.no_comments {
        post = strip_lines(&post, "COMMENT ON DATABASE", "");
    }
    (create, post)
}

fn strip_lines(sql: &str, prefix: &str, contains: &str) -> String {
    sql.lines()
        .filter(|l| !(l.trim_start().starts_with(prefix) && l.contains(contains)))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Drop a database this run made; the state the target is in afterwards.
async fn drop_made(maint: &Maint, name: &str) -> TargetState {
    match maint.drop_database(name).await {
        Ok(()) => TargetState::Unchanged,
        Err(e) => {
            tracing::warn!("could not drop database {name}: {e}");
            TargetState::LeftOver {
                database: name.to_string(),
            }
        }
    }
}

/// The error for a replace that stops before its swap: the new database is dropped.
async fn fail_new(maint: &Maint, new: &str, cause: CoreError) -> CoreError {
    stopped(cause, drop_made(maint, new).await)
}

/// Into a new database `name`.
async fn create(
    conn: &ConnConfig,
    opts: &RestoreOptions,
    name: &str,
    opened: Opened,
    sel: Selected,
    observer: SharedObserver,
    cancel: &CancellationToken,
) -> Result<RestoreSummary> {
    let maint = Maint::connect(conn, name, opts.role.as_deref(), cancel).await?;
    if maint.exists(name).await? {
        if opts.clean {
            // pg_restore drops it and creates it again; a failure would leave nothing.
            // Build the new one beside it and swap instead (the old one is not kept).
            opts.validate_whole("--clean --create of an existing database")?;
            return replace(conn, opts, &maint, name, 0, opened, sel, observer, cancel).await;
        }
        return Err(CoreError::Usage(format!(
            "database {name} already exists: --create makes a new database (use --replace, \
             or --clean --create, to replace it)"
        )));
    }
    let (create_options, post) = archive_database(&opened.toc, opts);
    maint.create(name, &create_options).await?;
    let toc = opened.toc.clone();
    let notes = sel.notes.clone();
    let job = Job {
        db: conn.with_dbname(name),
        toc: opened.toc,
        source: opened.source,
        feed: opened.feed,
        sel,
        mode: TxnMode::Autocommit,
        clean: false,
    };
    let ran = match engine::execute(job, opts, observer, cancel).await {
        Ok(ran) => ran,
        Err(e) => return Err(stopped(e, drop_made(&maint, name).await)),
    };
    let mut ran = ran;
    if !ran.completed() {
        if opts.keep_partial && is_damage(ran.state.fatal.as_ref()) {
            let cause = cause_of(&mut ran, &toc);
            let detail = format!(
                "database {name} was created and keeps what loaded ({} rows) (--keep-partial)",
                ran.state.rows
            );
            return Err(stopped(cause, TargetState::Changed { detail }));
        }
        let cause = cause_of(&mut ran, &toc);
        return Err(stopped(cause, drop_made(&maint, name).await));
    }
    if let Err(e) = maint.apply(name, &post).await {
        return Err(stopped(e, drop_made(&maint, name).await));
    }
    Ok(summary(ran, name, notes))
}

/// Over the database `name`: restore into a new database beside it, check it, give
/// it `name`'s properties, swap; keep `keep_previous` previous copies.
#[allow(clippy::too_many_arguments)]
async fn replace(
    conn: &ConnConfig,
    opts: &RestoreOptions,
    maint: &Maint,
    name: &str,
    keep_previous: usize,
    opened: Opened,
    sel: Selected,
    observer: SharedObserver,
    cancel: &CancellationToken,
) -> Result<RestoreSummary> {
    maint.lock(name).await?;
    maint.check_can_replace(name).await?;
    let props = maint.properties(name).await?;
    let mut notes = maint.drop_stale(name).await?;
    notes.extend(sel.notes.iter().cloned());
    if props.is_none() {
        notes.push(format!(
            "database {name} did not exist: it was created (nothing to replace)"
        ));
    }
    if let (Some(path), Some(_)) = (&opts.safety_backup, &props) {
        safety::backup(&conn.with_dbname(name), path, opts.jobs, &observer, cancel)
            .await
            .map_err(|e| stopped(e, TargetState::Unchanged))?;
    }
    if cancel.is_cancelled() {
        return Err(stopped(CoreError::Cancelled, TargetState::Unchanged));
    }
    let (archive_options, archive_post) = archive_database(&opened.toc, opts);
    let (create_options, post) = match &props {
        Some(p) => (p.create_options.clone(), p.post_create.clone()),
        None => (archive_options, archive_post),
    };
    let new = maint.free_name(name, Beside::New).await?;
    maint
        .create(&new, &create_options)
        .await
        .map_err(|e| stopped(e, TargetState::Unchanged))?;

    let toc = opened.toc.clone();
    let file_facts = match &opened.source {
        Source::File(r) => Some(r.streams().to_vec()),
        Source::Pipe => None,
    };
    let job = Job {
        db: conn.with_dbname(&new),
        toc: opened.toc,
        source: opened.source,
        feed: opened.feed,
        sel: sel.clone(),
        mode: TxnMode::Autocommit,
        clean: false,
    };
    let mut ran = match engine::execute(job, opts, observer.clone(), cancel).await {
        Ok(ran) => ran,
        Err(e) => return Err(fail_new(maint, &new, e).await),
    };
    if !ran.completed() || !ran.state.failures.is_empty() || !ran.state.skipped.is_empty() {
        let cause = cause_of(&mut ran, &toc);
        return Err(fail_new(maint, &new, cause).await);
    }

    // The new database must hold exactly what the archive says.
    observer.event(&Event::Phase { name: "check" });
    let facts = match file_facts {
        Some(streams) => crate::check::Facts::from_streams(&streams),
        None => {
            let mut f = crate::check::Facts::new();
            for (stream, (rows, hash)) in &ran.state.stream_facts {
                f.add_frame(*stream, *rows, *hash);
            }
            f
        }
    };
    let checked = crate::check::check_against(
        &conn.with_dbname(&new),
        &toc,
        &facts,
        Some(&sel.keep),
        opts.jobs,
        cancel.clone(),
    )
    .await;
    let report = match checked {
        Ok(r) => r,
        Err(e) => return Err(fail_new(maint, &new, e).await),
    };
    if !report.ok() {
        let problems = report.mismatches().map(|m| m.describe()).collect();
        return Err(fail_new(maint, &new, CoreError::Mismatch { problems }).await);
    }
    notes.extend(report.notes.iter().cloned());
    // The target's properties as they are now (they may have changed while restoring).
    let post = match maint.properties(name).await {
        Ok(Some(p)) => p.post_create,
        Ok(None) => post,
        Err(e) => return Err(fail_new(maint, &new, e).await),
    };
    if let Err(e) = maint.apply(&new, &post).await {
        return Err(fail_new(maint, &new, e).await);
    }
    if cancel.is_cancelled() {
        return Err(fail_new(maint, &new, CoreError::Cancelled).await);
    }

    observer.event(&Event::Phase { name: "swap" });
    let aside = match &props {
        Some(_) => match maint.free_name(name, Beside::Prev).await {
            Ok(a) => Some(a),
            Err(e) => return Err(fail_new(maint, &new, e).await),
        },
        None => None,
    };
    let swap = maint
        .swap(
            name,
            &new,
            aside.as_deref(),
            opts.replace.terminate_connections,
            opts.replace.wait,
            cancel,
        )
        .await;
    let swap_time = match swap {
        Ok(t) => t,
        Err(e) => return Err(fail_new(maint, &new, e).await),
    };
    let mut s = summary(ran, name, notes);
    // The swap is done: what follows only tidies up, and says so if it cannot.
    let kept = match maint.prune_previous(name, keep_previous).await {
        Ok((kept, pruned)) => {
            s.notes.extend(pruned);
            kept
        }
        Err(e) => {
            s.notes
                .push(format!("could not look for previous copies to drop: {e}"));
            aside.iter().cloned().collect()
        }
    };
    s.previous = aside.filter(|a| kept.contains(a));
    s.checked = report.objects.len();
    s.check_time = Some(report.elapsed);
    s.swap_time = Some(swap_time);
    s.safety_backup = opts.safety_backup.clone().filter(|_| props.is_some());
    maint.unlock(name).await;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service spawns restores on its runtime: the future must be `Send` whatever
    /// the lifetimes of its arguments (checked when this compiles).
    #[allow(dead_code)]
    fn restore_is_send(c: &ConnConfig, o: &RestoreOptions, obs: SharedObserver) {
        fn is_send<T: Send>(_: T) {}
        is_send(restore(c, o, Input::Stdin, obs, CancellationToken::new()));
    }

    #[test]
    fn database_properties_follow_the_switches() {
        let toc = Toc {
            entries: vec![pgdump_format::TocEntry {
                kind: "DATABASE".into(),
                meta: [
                    ("create_options".to_string(), "WITH TEMPLATE = template0".to_string()),
                    (
                        "post_create".to_string(),
                        "ALTER DATABASE {{DATABASE}} OWNER TO o;\nCOMMENT ON DATABASE {{DATABASE}} IS 'c';\n\
                         REVOKE ALL ON DATABASE {{DATABASE}} FROM PUBLIC;\nGRANT CONNECT ON DATABASE {{DATABASE}} TO r;\n\
                         ALTER DATABASE {{DATABASE}} SET work_mem TO '8MB';\n"
                            .to_string(),
                    ),
                ]
                .into_iter()
                .collect(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let (create, post) = archive_database(&toc, &RestoreOptions::default());
        assert_eq!(create, "WITH TEMPLATE = template0");
        assert_eq!(post.lines().count(), 5);
        let opts = RestoreOptions {
            no_owner: true,
            no_privileges: true,
            no_comments: true,
            ..RestoreOptions::default()
        };
        let (_, post) = archive_database(&toc, &opts);
        assert_eq!(post, "ALTER DATABASE {{DATABASE}} SET work_mem TO '8MB';\n");
    }
}
