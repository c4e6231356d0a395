//! The physical limits of the same server on the same data: raw `COPY ... TO STDOUT`
//! (text and binary, one connection and N in parallel, the data discarded) and raw
//! `COPY ... FROM STDIN` of that data into index-less copies of the tables in another
//! database (TRUNCATEd before each measurement), by a minimal Rust client.
//!
//! With N connections, tables are handed out largest first; a table of more than
//! `SPLIT_PAGES` pages is cut into N ranges (ctid page ranges on servers 14+ for COPY
//! out, row ranges of the exported data for COPY in), as a parallel dump or restore would.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use pgdump_format::CopyFormat;
use pgdump_tests::Cluster;
use tokio_postgres::Client;

use crate::measure::ServerProbe;

/// Tables bigger than this many pages are split over the connections.
const SPLIT_PAGES: i64 = 1_000;

/// Bytes per CopyData message sent by the COPY IN client.
const SEND_PIECE: usize = 256 << 10;

/// One table of the source database.
#[derive(Debug, Clone)]
pub struct Table {
    /// Qualified, quoted name.
    pub name: String,
    /// Pages (`relpages`).
    pub pages: i64,
    /// Column definitions (`name type, ...`) for the copy in another database.
    pub columns: String,
}

/// One measured limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limit {
    /// Wall seconds.
    pub wall: f64,
    /// Bytes of COPY data moved.
    pub bytes: u64,
    /// CPU seconds of the server processes.
    pub server_cpu: f64,
}

/// The tables of `db`, largest first.
pub async fn tables(cluster: &Cluster, db: &str) -> Result<Vec<Table>> {
    let client = cluster.connect(db).await?;
    let rows = client
        .query(
            "SELECT format('%I.%I', n.nspname, c.relname), c.relpages::int8,
                    (SELECT string_agg(format('%I %s', a.attname,
                                              format_type(a.atttypid, a.atttypmod)),
                                       ', ' ORDER BY a.attnum)
                     FROM pg_attribute a
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg_toast%'
             ORDER BY pg_relation_size(c.oid) DESC, 1",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Table {
            name: r.get(0),
            pages: r.get(1),
            columns: r.get::<_, Option<String>>(2).unwrap_or_default(),
        })
        .collect())
}

fn with_format(format: CopyFormat) -> &'static str {
    match format {
        CopyFormat::Text => "",
        CopyFormat::Binary => " (FORMAT binary)",
    }
}

/// COPY OUT statements: one per table, or `jobs` ctid ranges for big tables (14+).
fn out_units(tables: &[Table], jobs: usize, tid_ranges: bool, format: CopyFormat) -> Vec<String> {
    let mut units = Vec::new();
    for t in tables {
        if jobs > 1 && tid_ranges && t.pages > SPLIT_PAGES {
            let per = t.pages / jobs as i64 + 1;
            for k in 0..jobs as i64 {
                let upper = if k + 1 == jobs as i64 {
                    String::new()
                } else {
                    format!(" AND ctid < '({},0)'::tid", (k + 1) * per)
                };
                units.push(format!(
                    "COPY (SELECT * FROM {} WHERE ctid >= '({},0)'::tid{upper}) TO STDOUT{}",
                    t.name,
                    k * per,
                    with_format(format)
                ));
            }
        } else {
            units.push(format!("COPY {} TO STDOUT{}", t.name, with_format(format)));
        }
    }
    units
}

async fn copy_out(client: &Client, sql: &str) -> Result<u64> {
    let stream = client
        .copy_out(sql)
        .await
        .with_context(|| sql.to_string())?;
    futures::pin_mut!(stream);
    let mut n = 0u64;
    while let Some(piece) = stream.next().await {
        n += piece?.len() as u64;
    }
    Ok(n)
}

/// Runs `units` on `jobs` connections to `db`; `run` does one unit.
async fn parallel<U, F, Fut>(
    cluster: &Cluster,
    db: &str,
    jobs: usize,
    units: Vec<U>,
    run: F,
) -> Result<u64>
where
    U: Send + 'static,
    F: Fn(Arc<Client>, U) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<u64>> + Send,
{
    let queue = Arc::new(Mutex::new(VecDeque::from(units)));
    let mut tasks = Vec::new();
    for _ in 0..jobs {
        let client = Arc::new(cluster.connect(db).await?);
        let queue = queue.clone();
        let run = run.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            loop {
                let unit = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                let Some(unit) = unit else { break };
                n += run(client.clone(), unit).await?;
            }
            Ok::<u64, anyhow::Error>(n)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok(total)
}

/// Raw COPY OUT of every table of `db` on `jobs` connections.
pub async fn measure_out(
    cluster: &Cluster,
    probe: &ServerProbe,
    db: &str,
    tables: &[Table],
    jobs: usize,
    format: CopyFormat,
) -> Result<Limit> {
    let tid = cluster.major() >= 14;
    let units = out_units(tables, jobs, tid, format);
    let cpu = probe.cpu_seconds();
    let t = Instant::now();
    let bytes = parallel(cluster, db, jobs, units, |c, sql: String| async move {
        copy_out(&c, &sql).await
    })
    .await?;
    let wall = t.elapsed().as_secs_f64();
    probe.settle(probe.processes().saturating_sub(jobs));
    Ok(Limit {
        wall,
        bytes,
        server_cpu: probe.cpu_seconds() - cpu,
    })
}

/// The data of every table in both formats, exported once (untimed) for COPY IN, and
/// the database holding the index-less copies.
pub struct InData {
    db: String,
    /// Per table: (text, binary) COPY data as the server wrote it.
    data: Vec<(Bytes, Bytes)>,
    pages: Vec<i64>,
}

/// Exports the tables' data and creates index-less copies of the tables in a new
/// database `in_db`.
pub async fn prepare_in(
    cluster: &Cluster,
    db: &str,
    in_db: &str,
    tables: &[Table],
) -> Result<InData> {
    cluster.create_db_named(in_db)?;
    let src = cluster.connect(db).await?;
    let dst = cluster.connect(in_db).await?;
    let mut data = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        dst.batch_execute(&format!("CREATE TABLE t{i} ({})", t.columns))
            .await?;
        let mut both = Vec::new();
        for f in [CopyFormat::Text, CopyFormat::Binary] {
            let stream = src
                .copy_out(&format!("COPY {} TO STDOUT{}", t.name, with_format(f)))
                .await?;
            futures::pin_mut!(stream);
            let mut buf = Vec::new();
            while let Some(piece) = stream.next().await {
                buf.extend_from_slice(&piece?);
            }
            both.push(Bytes::from(buf));
        }
        data.push((both[0].clone(), both[1].clone()));
    }
    Ok(InData {
        db: in_db.to_string(),
        data,
        pages: tables.iter().map(|t| t.pages).collect(),
    })
}

/// COPY data cut into `parts` pieces of whole rows, each loadable on its own.
fn split(data: &Bytes, format: CopyFormat, parts: usize) -> Vec<Bytes> {
    if parts <= 1 {
        return vec![data.clone()];
    }
    let mut chunker = pgdump_core::copy_data::Chunker::new(format, data.len() / parts + 1);
    let mut chunks = Vec::new();
    if chunker.push(data, &mut chunks).is_err() {
        return vec![data.clone()];
    }
    if let Ok(Some(last)) = chunker.finish() {
        chunks.push(last);
    }
    chunks
        .into_iter()
        .map(|c| match format {
            CopyFormat::Text => Bytes::from(c.data),
            CopyFormat::Binary => {
                let mut v = pgdump_core::copy_data::binary_header();
                v.extend_from_slice(&c.data);
                v.extend_from_slice(&pgdump_core::copy_data::BINARY_TRAILER);
                Bytes::from(v)
            }
        })
        .collect()
}

async fn copy_in(client: &Client, sql: &str, data: Bytes) -> Result<u64> {
    let sink = client
        .copy_in::<_, Bytes>(sql)
        .await
        .with_context(|| sql.to_string())?;
    futures::pin_mut!(sink);
    let mut off = 0;
    while off < data.len() {
        let end = (off + SEND_PIECE).min(data.len());
        sink.send(data.slice(off..end)).await?;
        off = end;
    }
    sink.finish().await?;
    Ok(data.len() as u64)
}

/// Raw COPY IN of every table's data on `jobs` connections (tables TRUNCATEd first).
pub async fn measure_in(
    cluster: &Cluster,
    probe: &ServerProbe,
    input: &InData,
    jobs: usize,
    format: CopyFormat,
) -> Result<Limit> {
    let client = cluster.connect(&input.db).await?;
    let names: Vec<String> = (0..input.data.len()).map(|i| format!("t{i}")).collect();
    if !names.is_empty() {
        client
            .batch_execute(&format!("TRUNCATE {}", names.join(", ")))
            .await?;
    }
    client.batch_execute("CHECKPOINT").await?;
    drop(client);
    let mut units = Vec::new();
    for (i, (text, binary)) in input.data.iter().enumerate() {
        let data = match format {
            CopyFormat::Text => text,
            CopyFormat::Binary => binary,
        };
        let parts = if jobs > 1 && input.pages[i] > SPLIT_PAGES {
            jobs
        } else {
            1
        };
        for piece in split(data, format, parts) {
            units.push((
                format!("COPY t{i} FROM STDIN{}", with_format(format)),
                piece,
            ));
        }
    }
    let cpu = probe.cpu_seconds();
    let t = Instant::now();
    let bytes = parallel(
        cluster,
        &input.db,
        jobs,
        units,
        |c, (sql, data): (String, Bytes)| async move { copy_in(&c, &sql, data).await },
    )
    .await?;
    let wall = t.elapsed().as_secs_f64();
    probe.settle(probe.processes().saturating_sub(jobs));
    Ok(Limit {
        wall,
        bytes,
        server_cpu: probe.cpu_seconds() - cpu,
    })
}
