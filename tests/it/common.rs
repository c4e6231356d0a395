//! Shared helpers for dump → restore → compare tests.

use std::path::{Path, PathBuf};

use pgdump_core::compare::{CompareOptions, CompareReport};
use pgdump_core::conn::ConnConfig;
use pgdump_core::progress::quiet;
use pgdump_core::restore::{Input, RestoreOptions, RestoreSummary};
use pgdump_core::{CancellationToken, DumpOptions, DumpSummary, Output};
use pgdump_format::{Codec, WriterOptions};
use pgdump_tests::Cluster;

/// Connection settings for a database of a cluster.
pub fn cfg(pg: &Cluster, db: &str) -> ConnConfig {
    ConnConfig::parse(&pg.url(db)).expect("parse test URL")
}

/// How a round trip is run.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// Dump connections.
    pub dump_jobs: usize,
    /// Restore connections.
    pub restore_jobs: usize,
    /// Frame codec.
    pub codec: Codec,
    /// Frame size (tiny values make many frames).
    pub frame_size: usize,
    /// Split tables above this size, in chunks of `split_chunk`.
    pub split: u64,
    /// Chunk size of split tables.
    pub split_chunk: u64,
    /// How the restore reads the archive.
    pub input: Via,
    /// Text COPY everywhere.
    pub text: bool,
}

/// How the archive reaches the restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Random access from the file.
    File,
    /// Sequentially, as from a pipe.
    Pipe,
    /// `pgdump sql` output loaded with psql.
    Sql,
}

impl Default for Sweep {
    fn default() -> Self {
        Sweep {
            dump_jobs: 2,
            restore_jobs: 2,
            codec: Codec::Zstd { level: 1 },
            frame_size: 4 << 20,
            split: 256 << 20,
            split_chunk: 64 << 20,
            input: Via::File,
            text: false,
        }
    }
}

impl Sweep {
    /// Tiny frames and split sizes, so small fixtures still split tables and interleave streams.
    pub fn tiny(mut self) -> Self {
        self.frame_size = 16 << 10;
        self.split = 256 << 10;
        self.split_chunk = 128 << 10;
        self
    }
}

/// Dump `db` of `pg` into `path`.
pub async fn dump_to(pg: &Cluster, db: &str, path: &Path, s: &Sweep) -> DumpSummary {
    let opts = DumpOptions {
        jobs: s.dump_jobs,
        writer: WriterOptions {
            codec: s.codec,
            frame_size: s.frame_size,
            ..WriterOptions::default()
        },
        split_bytes: s.split,
        split_chunk_bytes: s.split_chunk,
        force_text: s.text,
        ..DumpOptions::default()
    };
    pgdump_core::dump(
        &cfg(pg, db),
        &opts,
        Output::File(path.to_path_buf()),
        quiet(),
        CancellationToken::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("dump of {db} on {} failed: {e}", pg.major()))
}

/// Restore `path` into `db` of `pg`.
pub async fn restore_from(
    pg: &Cluster,
    db: &str,
    path: &Path,
    s: &Sweep,
    opts: RestoreOptions,
) -> RestoreSummary {
    let opts = RestoreOptions {
        jobs: s.restore_jobs,
        ..opts
    };
    let input = match s.input {
        Via::File => Input::File(path.to_path_buf()),
        Via::Pipe => Input::Reader(Box::new(std::fs::File::open(path).expect("open archive"))),
        Via::Sql => unreachable!("use restore_via_sql"),
    };
    pgdump_core::restore(
        &cfg(pg, db),
        &opts,
        input,
        quiet(),
        CancellationToken::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("restore into {db} on {} failed: {e}", pg.major()))
}

/// `pgdump sql` of the archive, loaded into `db` with psql (ON_ERROR_STOP).
pub fn restore_via_sql(pg: &Cluster, db: &str, path: &Path) {
    let file = std::fs::File::open(path).expect("open archive");
    let reader = pgdump_format::ArchiveReader::open(file).expect("read archive");
    let script = path.with_extension("sql");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&script).expect("create script"));
    pgdump_core::restore::script::write_script(
        &reader,
        &RestoreOptions::default(),
        &pgdump_core::restore::script::binary_to_text,
        &mut out,
    )
    .expect("write SQL script");
    drop(out);
    pgdump_tests::psql_file(pg, db, &script)
        .unwrap_or_else(|e| panic!("psql -f {}: {e:#}", script.display()));
}

/// Compare two databases with pgdump's own check; panic with the report if they differ.
pub async fn assert_equivalent(
    src: (&Cluster, &str),
    dst: (&Cluster, &str),
    what: &str,
) -> CompareReport {
    let report = pgdump_core::compare::compare(
        &cfg(src.0, src.1),
        &cfg(dst.0, dst.1),
        CompareOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{what}: compare failed: {e}"));
    assert!(
        report.equivalent(),
        "{what}: databases differ\n{}",
        report.render()
    );
    report
}

/// A scratch directory for archives.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("pgdump-it-")
        .tempdir()
        .expect("create scratch dir")
}

/// `dir/name`.
pub fn archive(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// Dump `src` (on `spg`), restore into a fresh database on `dpg` as `s` says, and
/// assert pgdump's compare finds them equivalent. Returns the target database.
pub async fn round_trip(spg: &Cluster, src: &str, dpg: &Cluster, s: &Sweep, what: &str) -> String {
    let dir = scratch();
    let path = archive(&dir, "a.pgdump");
    dump_to(spg, src, &path, s).await;
    let dst = dpg.create_db(what).expect("create target db");
    match s.input {
        Via::Sql => restore_via_sql(dpg, &dst, &path),
        _ => {
            let sum = restore_from(dpg, &dst, &path, s, RestoreOptions::default()).await;
            assert!(
                sum.ok(),
                "{what}: restore reported failures: {:#?}",
                sum.failures
            );
        }
    }
    assert_equivalent((spg, src), (dpg, &dst), what).await;
    dst
}

// ---- helpers for the restore_*, dump_* and cli tests (small databases built by each test)

/// A fresh database on `pg` named after `prefix`, with `sql` run in it.
pub fn db_with(pg: &Cluster, prefix: &str, sql: &str) -> String {
    let db = pg.create_db(prefix).expect("create database");
    if !sql.trim().is_empty() {
        pg.execute(&db, sql)
            .unwrap_or_else(|e| panic!("setting up {db}: {e:#}"));
    }
    db
}

/// Dump options for small test databases: `jobs` connections, frames of `frame_size`
/// bytes, no compression unless asked.
pub fn small_dump_opts(jobs: usize, frame_size: usize, codec: Codec) -> DumpOptions {
    DumpOptions {
        jobs,
        writer: WriterOptions {
            codec,
            frame_size,
            ..WriterOptions::default()
        },
        ..DumpOptions::default()
    }
}

/// Dump `db` of `pg` into `output`, returning the error instead of panicking.
pub async fn try_dump(
    pg: &Cluster,
    db: &str,
    output: Output,
    opts: &DumpOptions,
) -> pgdump_core::Result<DumpSummary> {
    pgdump_core::dump(
        &cfg(pg, db),
        opts,
        output,
        quiet(),
        CancellationToken::new(),
    )
    .await
}

/// Dump `db` of `pg` into the file `path` with `opts`; panics on failure.
pub async fn dump_file(pg: &Cluster, db: &str, path: &Path, opts: &DumpOptions) -> DumpSummary {
    try_dump(pg, db, Output::File(path.to_path_buf()), opts)
        .await
        .unwrap_or_else(|e| panic!("dump of {db} failed: {e}"))
}

/// Restore into `db` of `pg`, returning the error instead of panicking.
pub async fn try_restore(
    pg: &Cluster,
    db: &str,
    input: Input,
    opts: &RestoreOptions,
) -> pgdump_core::Result<RestoreSummary> {
    pgdump_core::restore(&cfg(pg, db), opts, input, quiet(), CancellationToken::new()).await
}

/// Restore the file `path` into `db` with `opts`; panics on an error (item failures are
/// in the summary).
pub async fn restore_file(
    pg: &Cluster,
    db: &str,
    path: &Path,
    opts: &RestoreOptions,
) -> RestoreSummary {
    try_restore(pg, db, Input::File(path.to_path_buf()), opts)
        .await
        .unwrap_or_else(|e| panic!("restore into {db} failed: {e}"))
}

/// Every user object of a database, one line each (schemas besides `public`, relations,
/// functions, types, large objects, extensions besides plpgsql): empty for a fresh one.
pub fn user_objects(pg: &Cluster, db: &str) -> Vec<String> {
    const SQL: &str = "\
        SELECT 'schema ' || nspname FROM pg_catalog.pg_namespace \
         WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\\_%' \
        UNION ALL \
        SELECT 'relation ' || c.oid::pg_catalog.regclass::text FROM pg_catalog.pg_class c \
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
        UNION ALL \
        SELECT 'function ' || p.oid::pg_catalog.regprocedure::text FROM pg_catalog.pg_proc p \
          JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
        UNION ALL \
        SELECT 'type ' || t.oid::pg_catalog.regtype::text FROM pg_catalog.pg_type t \
          JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
         WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
        UNION ALL \
        SELECT 'large object ' || oid FROM pg_catalog.pg_largeobject_metadata \
        UNION ALL \
        SELECT 'extension ' || extname FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql' \
        ORDER BY 1";
    pg.query(db, SQL)
        .expect("list user objects")
        .into_iter()
        .map(|r| r[0].clone().unwrap_or_default())
        .collect()
}

/// Log every statement run in `db` (server log, `%u@%d` prefix) from now on; returns the
/// log offset to pass to [`statements_in`].
pub fn log_statements(pg: &Cluster, db: &str) -> u64 {
    pg.execute(
        "postgres",
        &format!("ALTER DATABASE \"{db}\" SET log_statement = 'all'"),
    )
    .expect("ALTER DATABASE SET log_statement");
    pg.server_log_len()
}

/// Statements the server logged for sessions in `db` since `offset` (see [`log_statements`]).
pub fn statements_in(pg: &Cluster, db: &str, offset: u64) -> Vec<String> {
    let marker = format!("@{db} ");
    pg.server_log_since(offset)
        .lines()
        .filter(|l| l.contains(&marker) && (l.contains("statement: ") || l.contains("execute ")))
        .map(str::to_owned)
        .collect()
}

/// `count(*)` of a table, as a number.
pub fn rows(pg: &Cluster, db: &str, table: &str) -> u64 {
    pg.count_rows(db, table)
        .unwrap_or_else(|e| panic!("count {table} in {db}: {e:#}"))
}

/// The single value of a query.
pub fn value(pg: &Cluster, db: &str, sql: &str) -> String {
    pg.query_value(db, sql)
        .unwrap_or_else(|e| panic!("{sql} in {db}: {e:#}"))
}

/// pgdump's compare of two databases of one cluster.
pub async fn compare_dbs(pg: &Cluster, a: &str, b: &str, opts: CompareOptions) -> CompareReport {
    pgdump_core::compare::compare(&cfg(pg, a), &cfg(pg, b), opts)
        .await
        .unwrap_or_else(|e| panic!("compare {a} {b}: {e}"))
}
