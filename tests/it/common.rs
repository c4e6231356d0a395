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
