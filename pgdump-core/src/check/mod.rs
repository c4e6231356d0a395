//! Is a live database's data what an archive recorded at dump time?
//!
//! The archive's index records, per data stream, the number of rows and a content
//! hash: the wrapping sum of [`row_hash`](crate::copy_data::row_hash) over the rows'
//! bytes exactly as the dump's COPY sent them (large objects: over the records
//! `(oid, offset, piece)` of their streams). [`check_against`] reads every restored
//! table again with the COPY of its TOC entry (its columns, its format), splits the
//! output into rows as the dump did and sums the same hash; it reads the archive's
//! large objects again in the dump's pieces. Nothing is written to the database.
//!
//! Text COPY output depends on session settings (`TimeZone` for `timestamptz`,
//! `bytea_output`, `lc_monetary` for `money`, the date, interval and float styles):
//! the dump records its session's values in `ArchiveInfo::settings` and the check's
//! sessions set the same (see [`session::COPY_OUTPUT_SETTINGS`]). An archive written
//! before they were recorded is checked with the sessions' own values, and the report
//! says so.
//!
//! What a check cannot see as equal: text-format rows of types whose output changed
//! between the source's and the checking server's majors (floats printed by servers
//! before 12 with `extra_float_digits = 3` differ from 12 and later), and an
//! extension configuration table's rows that the extension creates (only the rows
//! the dump's filter selects are read, as at dump time).

mod facts;
mod plan;
mod report;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use pgdump_format::{CopyFormat, Toc};
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

pub use facts::{Facts, Tally};
use plan::{Task, Work};
pub use report::{CheckReport, CheckedKind, ObjectCheck};

use crate::catalog::{Oid, ServerVersion};
use crate::conn::{connect, ConnConfig};
use crate::copy_data::{row_hash, RowHasher};
use crate::error::{CoreError, QueryContext, Result};
use crate::quote::{literal, qualify};
use crate::{session, TOOL_NAME};

/// Bytes of a large object read per round trip: the dump's piece size, so that the
/// records (and their hashes) are the dump's.
const LO_PIECE: i32 = 1 << 20;

/// Large objects read at once on one connection (their pieces' requests pipelined).
const LO_IN_FLIGHT: usize = 8;

/// Tables estimated above this are read in page ranges on several sessions (14+).
const SPLIT_BYTES: u64 = 64 << 20;

/// About the bytes of a page range of a big table.
const SPLIT_CHUNK: u64 = 32 << 20;

/// Tables estimated this small are read several at a time on one session, their
/// COPYs pipelined.
const SMALL_TABLE: u64 = 64 << 10;

/// How many small tables a session reads at once.
const PIPELINE: usize = 16;

/// Checks the data of the database `conn` points at against the facts an archive
/// recorded: for every restored `TABLE DATA` entry (every entry when `select` is
/// `None`, else those whose position in `toc.entries` is `true`), the table's rows
/// and content hash; for every restored `BLOBS` entry, its large objects' pieces.
///
/// Tables are read on up to `jobs` connections, largest first, each streamed (memory
/// stays bounded whatever their size). Tables estimated above 64 MiB are read in page
/// ranges spread over the connections (servers 14 and later), small tables several at
/// a time on one connection. Cancelling `cancel` stops the check promptly with
/// [`CoreError::Cancelled`]. Differences are not errors: they are in the report
/// ([`CheckReport::ok`]); a table or a large object that does not exist is reported
/// as such. Errors are for what prevented the check (connection, permissions ...).
pub async fn check_against(
    conn: &ConnConfig,
    toc: &Toc,
    facts: &Facts,
    select: Option<&[bool]>,
    jobs: usize,
    cancel: CancellationToken,
) -> Result<CheckReport> {
    let started = Instant::now();
    let (objects, notes) = tokio::select! {
        biased;
        () = cancel.cancelled() => return Err(CoreError::Cancelled),
        r = run(conn, toc, facts, select, jobs, &cancel) => r?,
    };
    Ok(CheckReport {
        objects,
        notes,
        elapsed: started.elapsed(),
    })
}

/// The check, without the cancellation: the objects, and notes.
async fn run(
    conn: &ConnConfig,
    toc: &Toc,
    facts: &Facts,
    select: Option<&[bool]>,
    jobs: usize,
    cancel: &CancellationToken,
) -> Result<(Vec<ObjectCheck>, Vec<String>)> {
    // The first session also reads the extension configuration tables' filters,
    // while the others open (a session per task at most).
    let (first, mut notes, version) = open(conn, &toc.info.settings).await?;
    let wanted = plan::plan(toc, facts, select, &HashMap::new()).len();
    let n = jobs.max(1).min(wanted.max(1));
    let (filters, more) = futures::try_join!(
        ext_config_filters(&first),
        futures::future::try_join_all((1..n).map(|_| open_client(conn, &toc.info.settings)),)
    )?;
    let tasks = plan::plan(toc, facts, select, &filters);
    // Big tables are read in page ranges on several sessions (14+: TID range scans).
    let big: Vec<usize> = (0..tasks.len())
        .filter(|&i| {
            version.at_least(14)
                && n > 1
                && tasks[i].est_bytes > SPLIT_BYTES
                && matches!(tasks[i].work, Work::Copy { split: Some(_), .. })
        })
        .collect();
    let pages = if big.is_empty() {
        HashMap::new()
    } else {
        table_pages(&first, &tasks, &big).await?
    };
    let queue = Mutex::new(schedule(&tasks, &pages, n));
    let found = Mutex::new(vec![(Tally::default(), None::<String>); tasks.len()]);
    let clients: Vec<Client> = std::iter::once(first).chain(more).collect();
    futures::future::try_join_all(
        clients
            .iter()
            .map(|c| worker(c, &tasks, &queue, &found, cancel)),
    )
    .await?;
    let found = found.into_inner().unwrap_or_else(|p| p.into_inner());
    notes.extend(tasks.iter().filter(|t| !t.compare_hash).map(|t| {
        format!(
            "TABLE {}: the partitions loaded through it list their columns in different \
             orders, so only its rows were compared",
            t.name
        )
    }));
    let mut objects: Vec<ObjectCheck> = tasks
        .into_iter()
        .zip(found)
        .map(|(task, (found, problem))| ObjectCheck {
            entries: task.entries,
            kind: task.kind,
            name: task.name,
            expected_rows: task.expected.rows,
            found_rows: found.rows,
            hash_matches: !task.compare_hash || found.hash == task.expected.hash,
            problem,
        })
        .collect();
    objects.sort_by_key(|o| o.entries.first().copied());
    notes.extend(float_note(toc, version, &objects));
    Ok((objects, notes))
}

/// The work items of `tasks`, largest first (stable: TOC order among equals): a task
/// whole, or, for the tables of `pages` (their page counts, by task index), a page
/// range each, in ranges of about [`SPLIT_CHUNK`] bytes, at most 4 per session.
fn schedule(tasks: &[Task], pages: &HashMap<usize, u64>, sessions: usize) -> VecDeque<Item> {
    let mut items: Vec<Item> = Vec::with_capacity(tasks.len());
    for (i, t) in tasks.iter().enumerate() {
        let ranges = match (&t.work, pages.get(&i)) {
            (
                Work::Copy {
                    format,
                    split: Some((target, columns)),
                    ..
                },
                Some(&pages),
            ) => {
                let parts = (t.est_bytes / SPLIT_CHUNK).clamp(2, 4 * sessions as u64);
                plan::page_ranges(target, columns, *format, pages, parts)
            }
            _ => None,
        };
        match ranges {
            Some(sqls) => {
                let est = t.est_bytes / sqls.len() as u64;
                items.extend(sqls.into_iter().map(|sql| Item {
                    task: i,
                    range: Some(sql),
                    est,
                }));
            }
            None => items.push(Item {
                task: i,
                range: None,
                est: t.est_bytes,
            }),
        }
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.est));
    items.into()
}

/// A note explaining text-format tables whose content differs when the archive comes
/// from a server before 12 and the check runs on 12 or later: floats print with
/// `extra_float_digits` more digits there, the shortest exact form since 12.
fn float_note(toc: &Toc, checker: ServerVersion, objects: &[ObjectCheck]) -> Option<String> {
    let source = toc.info.server_version_num;
    if source == 0 || source >= 120000 || !checker.at_least(12) {
        return None;
    }
    let text_differs = objects.iter().any(|o| {
        o.kind == CheckedKind::Table
            && o.problem.is_none()
            && o.expected_rows == o.found_rows
            && !o.hash_matches
            && o.entries.iter().any(|&id| {
                toc.entry(id)
                    .and_then(|e| e.data.as_ref())
                    .is_some_and(|d| d.format == CopyFormat::Text)
            })
    });
    text_differs.then(|| {
        format!(
            "the archive was dumped from PostgreSQL {}, which prints floating-point values \
             in text-format tables with more digits than this server: text-format tables \
             with float columns differ in content although their values are equal",
            toc.info.server_version
        )
    })
}

/// [`open`], the session only.
async fn open_client(conn: &ConnConfig, recorded: &BTreeMap<String, String>) -> Result<Client> {
    open(conn, recorded).await.map(|(c, _, _)| c)
}

/// `set_config` of each recorded setting, in order (pipelined); the result of each.
/// (A named function, not a closure: the futures of a restore must be `Send` for
/// any lifetimes of their arguments.)
async fn set_each(
    client: &Client,
    wanted: &[(&str, &str)],
) -> Vec<std::result::Result<(), tokio_postgres::Error>> {
    futures::future::join_all(
        wanted
            .iter()
            .map(|&(name, value)| set_one(client, name, value)),
    )
    .await
}

async fn set_one(
    client: &Client,
    name: &str,
    value: &str,
) -> std::result::Result<(), tokio_postgres::Error> {
    let sql = format!(
        "SELECT pg_catalog.set_config({}, {}, false)",
        literal(name),
        literal(value)
    );
    client.simple_query(&sql).await.map(drop)
}

/// A checking session: the dump's session settings, then the archive's recorded
/// output settings (pipelined with them). Returns notes about settings the archive
/// does not record or this server refused.
async fn open(
    conn: &ConnConfig,
    recorded: &BTreeMap<String, String>,
) -> Result<(Client, Vec<String>, ServerVersion)> {
    let client = connect(conn, TOOL_NAME).await?;
    let wanted: Vec<(&str, &str)> = session::COPY_OUTPUT_SETTINGS
        .iter()
        .filter_map(|n| recorded.get(*n).map(|v| (*n, v.as_str())))
        .collect();
    let (setup, applied) = futures::join!(session::setup_dump(&client), set_each(&client, &wanted));
    let (version, _) = setup?;
    let mut notes = Vec::new();
    for ((name, value), res) in wanted.iter().zip(applied) {
        if let Err(e) = res {
            notes.push(format!(
                "this server refused the archive's {name} = '{value}' ({}): values it \
                 shapes in text-format tables may differ",
                crate::error::DbMessage(&e)
            ));
        }
    }
    let missing: Vec<&str> = session::COPY_OUTPUT_SETTINGS
        .iter()
        .copied()
        .filter(|n| !recorded.contains_key(*n))
        .collect();
    if !missing.is_empty() {
        notes.push(format!(
            "the archive does not record the dump's {} (written before pgdump recorded \
             them): the check used this server's, so text-format tables whose values \
             depend on them may differ",
            missing.join(", ")
        ));
    }
    Ok((client, notes, version))
}

/// Filters of extension configuration tables (`pg_extension.extcondition`), by
/// quoted, qualified table name: the dump read only the rows they select.
async fn ext_config_filters(client: &Client) -> Result<HashMap<String, String>> {
    let rows = client
        .query(
            "SELECT n.nspname::pg_catalog.text, c.relname::pg_catalog.text, x.cond \
             FROM pg_catalog.pg_extension e, \
                  ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) \
                  AS x(reloid, cond) \
             JOIN pg_catalog.pg_class c ON c.oid = x.reloid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
            &[],
        )
        .await
        .context(|| "reading extension configuration tables".to_string())?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let cond: Option<String> = r.get(2);
            let f = crate::catalog::config_filter(cond.as_deref().unwrap_or(""))?;
            Some((qualify(r.get(0), r.get(1)), f))
        })
        .collect())
}

/// A piece of work of a worker: a task, or a page range of a task's table.
struct Item {
    /// Index of the task.
    task: usize,
    /// The COPY of a page range; `None`: the task's whole work.
    range: Option<String>,
    /// For scheduling.
    est: u64,
}

/// Pages of the tables of `tasks[big]` (by task index; tables not found are left out).
async fn table_pages(
    client: &Client,
    tasks: &[Task],
    big: &[usize],
) -> Result<HashMap<usize, u64>> {
    let targets: Vec<&str> = big
        .iter()
        .filter_map(|&i| match &tasks.get(i)?.work {
            Work::Copy {
                split: Some((target, _)),
                ..
            } => Some(target.as_str()),
            _ => None,
        })
        .collect();
    let rows = client
        .query(
            "SELECT pg_catalog.pg_relation_size(pg_catalog.to_regclass(u.t)) \
                    / pg_catalog.current_setting('block_size')::pg_catalog.int8 \
             FROM pg_catalog.unnest($1::pg_catalog.text[]) WITH ORDINALITY AS u(t, i) \
             ORDER BY u.i",
            &[&targets],
        )
        .await
        .context(|| "reading the sizes of big tables".to_string())?;
    Ok(big
        .iter()
        .zip(rows)
        .filter_map(|(&i, r)| Some((i, u64::try_from(r.get::<_, Option<i64>>(0)?).ok()?)))
        .collect())
}

/// Runs items from the queue until it is empty, adding what each finds to its task's
/// slot of `found`.
async fn worker(
    client: &Client,
    tasks: &[Task],
    queue: &Mutex<VecDeque<Item>>,
    found: &Mutex<Vec<(Tally, Option<String>)>>,
    cancel: &CancellationToken,
) -> Result<()> {
    let small = |item: &Item| {
        item.est <= SMALL_TABLE
            && tasks
                .get(item.task)
                .is_some_and(|t| matches!(t.work, Work::Copy { .. }))
    };
    loop {
        if cancel.is_cancelled() {
            return Err(CoreError::Cancelled);
        }
        // One item, or a batch of small tables whose COPYs go out pipelined (their
        // cost is round trips, not rows).
        let batch: Vec<Item> = {
            let Ok(mut q) = queue.lock() else {
                return Ok(());
            };
            let mut batch: Vec<Item> = q.pop_front().into_iter().collect();
            while batch.len() < PIPELINE
                && batch.first().is_some_and(small)
                && q.front().is_some_and(small)
            {
                batch.extend(q.pop_front());
            }
            batch
        };
        if batch.is_empty() {
            return Ok(());
        }
        let results =
            futures::future::try_join_all(batch.iter().map(|item| {
                check_item(client, tasks.get(item.task), item.range.as_deref(), cancel)
            }))
            .await?;
        let Ok(mut found) = found.lock() else {
            return Err(CoreError::Internal("a check worker panicked".into()));
        };
        for (item, (tally, problem)) in batch.iter().zip(results) {
            if let Some(slot) = found.get_mut(item.task) {
                slot.0.add(tally);
                if slot.1.is_none() {
                    slot.1 = problem;
                }
            }
        }
    }
}

/// What the report says of a table that cannot be read.
fn unreadable(e: CoreError) -> String {
    match e {
        CoreError::Query { source, .. } => format!(
            "cannot be read ({})",
            source
                .as_db_error()
                .map_or_else(|| source.to_string(), |d| d.message().to_string())
        ),
        other => other.to_string(),
    }
}

/// Rows and content hash of one COPY's output. Cancellation is handled by the
/// caller (the whole check is dropped).
async fn hash_copy(client: &Client, sql: &str, format: CopyFormat, name: &str) -> Result<Tally> {
    let stream = client
        .copy_out(sql)
        .await
        .context(|| format!("reading {name}"))?;
    futures::pin_mut!(stream);
    let mut h = RowHasher::new(format);
    while let Some(piece) = stream.next().await {
        let piece = piece.context(|| format!("reading {name}"))?;
        h.push(&piece).map_err(|e| CoreError::Data {
            object: name.to_string(),
            detail: e.to_string(),
        })?;
    }
    let (rows, hash, _) = h.finish().map_err(|e| CoreError::Data {
        object: name.to_string(),
        detail: e.to_string(),
    })?;
    Ok(Tally { rows, hash })
}

/// Records and content hash of large objects read as the dump read them: pieces of
/// [`LO_PIECE`] bytes from offset 0 until a short or empty one, each hashed as the
/// record `pgdump_format::lo::encode_record` makes of it (an empty large object has
/// none). Missing large objects are named in the problem.
async fn hash_large_objects(
    client: &Client,
    oids: &[Oid],
    cancel: &CancellationToken,
) -> Result<(Tally, Option<String>)> {
    let present: HashSet<Oid> = client
        .query(
            "SELECT m.oid FROM pg_catalog.pg_largeobject_metadata m \
             WHERE m.oid = ANY ($1::pg_catalog.oid[])",
            &[&oids],
        )
        .await
        .context(|| "listing large objects".to_string())?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let missing: Vec<String> = oids
        .iter()
        .filter(|o| !present.contains(o))
        .map(ToString::to_string)
        .collect();
    let stmt = client
        .prepare("SELECT pg_catalog.lo_get($1::pg_catalog.oid, $2::int8, $3::int4)")
        .await
        .context(|| "preparing large object reads".to_string())?;
    let wanted: Vec<Oid> = oids
        .iter()
        .copied()
        .filter(|o| present.contains(o))
        .collect();
    let tallies: Vec<Tally> = futures::stream::iter(wanted)
        .map(|oid| lo_tally(client, &stmt, oid, cancel))
        .buffer_unordered(LO_IN_FLIGHT)
        .try_collect()
        .await?;
    let mut total = Tally::default();
    for t in tallies {
        total.add(t);
    }
    let problem = match missing.as_slice() {
        [] => None,
        [one] => Some(format!("large object {one} is missing")),
        many if many.len() <= 10 => Some(format!("large objects {} are missing", many.join(", "))),
        many => Some(format!(
            "{} large objects are missing ({}, ...)",
            many.len(),
            many[..10].join(", ")
        )),
    };
    Ok((total, problem))
}

/// Rows and hash of one item of a worker's batch (a table, a page range of one, or
/// large objects), with the problem found, if any.
async fn check_item(
    client: &Client,
    task: Option<&Task>,
    range: Option<&str>,
    cancel: &CancellationToken,
) -> Result<(Tally, Option<String>)> {
    let Some(task) = task else {
        return Ok((Tally::default(), None));
    };
    match &task.work {
        Work::Copy { sql, format, .. } => {
            match hash_copy(client, range.unwrap_or(sql), *format, &task.name).await {
                Ok(t) => Ok((t, None)),
                // The table or a column is not there: a difference, not a failure.
                Err(e) if matches!(e.sqlstate(), Some("42P01" | "42703")) => {
                    Ok((Tally::default(), Some(unreadable(e))))
                }
                Err(e) => Err(e),
            }
        }
        Work::LargeObjects(oids) => hash_large_objects(client, oids, cancel).await,
    }
}

/// Records and content hash of one large object, read as the dump read it.
async fn lo_tally(
    client: &Client,
    stmt: &tokio_postgres::Statement,
    oid: Oid,
    cancel: &CancellationToken,
) -> Result<Tally> {
    let mut t = Tally::default();
    let mut rec = Vec::new();
    let mut offset: i64 = 0;
    loop {
        if cancel.is_cancelled() {
            return Err(CoreError::Cancelled);
        }
        let row = client
            .query_one(stmt, &[&oid, &offset, &LO_PIECE])
            .await
            .context(|| format!("reading large object {oid}"))?;
        let data: &[u8] = row.get(0);
        if data.is_empty() {
            break;
        }
        rec.clear();
        pgdump_format::lo::encode_record(&mut rec, oid, offset as u64, data)?;
        t.add(Tally {
            rows: 1,
            hash: row_hash(&rec),
        });
        offset += data.len() as i64;
        if data.len() < LO_PIECE as usize {
            break;
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(est_bytes: u64, split: bool) -> Task {
        Task {
            entries: vec![1],
            kind: CheckedKind::Table,
            name: "s.t".into(),
            expected: Tally::default(),
            compare_hash: true,
            est_bytes,
            work: Work::Copy {
                sql: "COPY whole".into(),
                format: CopyFormat::Text,
                split: split.then(|| ("s.t".to_string(), vec!["a".to_string()])),
            },
        }
    }

    #[test]
    fn big_tables_in_ranges_largest_first() {
        let tasks = vec![
            task(10, true),
            task(1 << 30, true),
            task(100 << 20, true),
            task(20, false),
        ];
        let mut pages = HashMap::new();
        pages.insert(1, 1000);
        pages.insert(2, 3);
        let items: Vec<(usize, bool, u64)> = schedule(&tasks, &pages, 2)
            .into_iter()
            .map(|i| (i.task, i.range.is_some(), i.est))
            .collect();
        // 1 GiB: 8 ranges (at most 4 per session); 100 MiB: 3 ranges of 32 MiB, but 3
        // pages; then the others whole, largest first
        let mut want = vec![(1, true, 128 << 20); 8];
        want.extend(vec![(2, true, (100 << 20) / 3); 3]);
        want.extend([(3, false, 20), (0, false, 10)]);
        assert_eq!(items, want);
    }
}
