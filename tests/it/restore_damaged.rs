//! Damaged archives (issue 4): a flipped byte in a data frame, in the TOC or in the
//! index, an archive cut in the middle, one without its footer, and foreign files.
//!
//! From a file, the restore refuses before any SQL runs in the target (checked with
//! `log_statement = all`) and says what is damaged. From a pipe, it stops naming the
//! object and undoes what it created (pre-existing objects stay), or with
//! `keep_partial` keeps what loaded and reports exactly that.

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use pgdump_core::restore::{Input, RestoreOptions, RestoreSummary, Target, TargetState};
use pgdump_core::CoreError;
use pgdump_format::format::footer::FOOTER_LEN;
use pgdump_format::format::frame::FRAME_HEADER_LEN;
use pgdump_format::{ArchiveReader, Codec};
use pgdump_tests::{shared_cluster, Cluster};

use crate::common::{
    db_with, dump_file, log_statements, rows, small_dump_opts, statements_in, try_restore,
    user_objects,
};

const SOURCE_SQL: &str = "
CREATE SCHEMA dmg;
CREATE TABLE dmg.victim (id int PRIMARY KEY, payload text NOT NULL);
INSERT INTO dmg.victim SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 20000) g;
CREATE INDEX victim_payload ON dmg.victim (payload);
CREATE TABLE dmg.other (id int PRIMARY KEY, victim int REFERENCES dmg.victim, v text);
INSERT INTO dmg.other SELECT g, g, 'other ' || g FROM generate_series(1, 3000) g;
CREATE VIEW dmg.victim_ids AS SELECT id FROM dmg.victim;
COMMENT ON TABLE dmg.victim IS 'the table whose data gets damaged';
";

/// What the archive holds, for choosing where to damage it.
struct Good {
    _dir: tempfile::TempDir,
    path: PathBuf,
    bytes: Vec<u8>,
    /// The stream holding `dmg.victim`'s data.
    victim_stream: u32,
    /// Number of frames of that stream.
    victim_frames: usize,
    /// Rows of `dmg.victim` in the archive.
    victim_rows: u64,
}

fn pg() -> &'static Cluster {
    shared_cluster(15)
}

/// One archive of the source, made once for this module (uncompressed frames of 32 KiB,
/// so `dmg.victim` spans dozens of frames).
fn good() -> &'static Good {
    static GOOD: OnceLock<Good> = OnceLock::new();
    GOOD.get_or_init(|| {
        let pg = pg();
        let src = db_with(pg, "damaged_src", SOURCE_SQL);
        let dir = crate::common::scratch();
        let path = dir.path().join("good.pgdump");
        let opts = small_dump_opts(2, 32 << 10, Codec::None);
        pgdump_tests::block_on(dump_file(pg, &src, &path, &opts));
        let bytes = std::fs::read(&path).unwrap();
        let r = ArchiveReader::open(bytes.as_slice()).unwrap();
        let entry = r
            .toc()
            .entries
            .iter()
            .find(|e| e.data.as_ref().is_some_and(|d| d.target == "dmg.victim"))
            .expect("a data entry for dmg.victim");
        let victim_stream = entry.data.as_ref().unwrap().streams[0];
        let frames = r.frames(victim_stream);
        assert!(frames.len() >= 20, "dmg.victim has {} frames", frames.len());
        Good {
            victim_frames: frames.len(),
            victim_rows: frames.iter().map(|f| f.rows).sum(),
            _dir: dir,
            path,
            bytes,
            victim_stream,
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Damage {
    /// One byte flipped in the payload of the middle frame of `dmg.victim`.
    DataFrame,
    /// One byte flipped in the TOC record.
    Toc,
    /// One byte flipped in the index.
    Index,
    /// Cut in the middle of the middle frame of `dmg.victim`.
    Truncated,
    /// Everything but the footer (the writer never sealed it).
    NoFooter,
}

const ALL: [Damage; 5] = [
    Damage::DataFrame,
    Damage::Toc,
    Damage::Index,
    Damage::Truncated,
    Damage::NoFooter,
];

impl Damage {
    fn apply(self, g: &Good) -> Vec<u8> {
        let r = ArchiveReader::open(g.bytes.as_slice()).unwrap();
        let mid = r.frames(g.victim_stream)[g.victim_frames / 2];
        let payload = mid.offset as usize + FRAME_HEADER_LEN;
        let mut b = g.bytes.clone();
        match self {
            Damage::DataFrame => b[payload + mid.stored_len as usize / 2] ^= 0x01,
            Damage::Toc => {
                let toc = r.header().header_len as usize;
                let end = r.data_offset() as usize;
                b[(toc + end) / 2] ^= 0x20;
            }
            Damage::Index => {
                let idx = r.index_offset() as usize;
                let end = b.len() - FOOTER_LEN;
                b[(idx + end) / 2] ^= 0x01;
            }
            Damage::Truncated => b.truncate(payload + mid.stored_len as usize / 2),
            Damage::NoFooter => b.truncate(b.len() - FOOTER_LEN),
        }
        b
    }

    /// Words the error must contain.
    fn expected(self, g: &Good) -> Vec<String> {
        let frame = format!(
            "frame {} of stream {}",
            g.victim_frames / 2,
            g.victim_stream
        );
        match self {
            Damage::DataFrame => vec![frame, "checksum".into(), "dmg.victim".into()],
            Damage::Toc => vec!["TOC".into()],
            Damage::Index => vec!["index".into()],
            Damage::Truncated => vec![frame, "truncated".into(), "dmg.victim".into()],
            Damage::NoFooter => vec![],
        }
    }
}

fn assert_mentions(what: &str, text: &str, words: &[String]) {
    for w in words {
        assert!(
            text.to_lowercase().contains(&w.to_lowercase()),
            "{what}: the message does not mention {w:?}:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_input_refuses_before_any_sql() {
    let g = good();
    let pg = pg();
    let dir = crate::common::scratch();
    for damage in ALL {
        let path = dir.path().join(format!("{damage:?}.pgdump"));
        std::fs::write(&path, damage.apply(g)).unwrap();
        let dst = db_with(pg, "damaged_file", "");
        let log = log_statements(pg, &dst);
        let res = try_restore(
            pg,
            &dst,
            Input::File(path.clone()),
            &RestoreOptions {
                jobs: 2,
                ..RestoreOptions::default()
            },
        )
        .await;
        let err = match res {
            Ok(s) => panic!("{damage:?}: the restore of a damaged archive succeeded: {s:?}"),
            Err(e) => e.to_string(),
        };
        assert_mentions(&format!("{damage:?}"), &err, &damage.expected(g));
        if damage == Damage::NoFooter {
            assert!(
                err.contains("not sealed") || err.contains("truncated"),
                "{damage:?}: {err}"
            );
        }
        let run = statements_in(pg, &dst, log);
        assert!(
            run.is_empty(),
            "{damage:?}: SQL ran in the target before the archive was found damaged:\n{}",
            run.join("\n")
        );
        assert_eq!(user_objects(pg, &dst), Vec::<String>::new(), "{damage:?}");
        pg.drop_db(&dst).unwrap();
    }
    // the same restore of the undamaged archive works and runs SQL that the log shows
    // (so the damage, not the setup, makes the difference, and the log check can fail)
    let dst = db_with(pg, "damaged_file_good", "");
    let log = log_statements(pg, &dst);
    let s = try_restore(
        pg,
        &dst,
        Input::File(g.path.clone()),
        &RestoreOptions::default(),
    )
    .await
    .unwrap();
    assert!(s.ok(), "{s:?}");
    assert!(!statements_in(pg, &dst, log).is_empty());
    assert_eq!(rows(pg, &dst, "dmg.victim"), g.victim_rows);
    pg.drop_db(&dst).unwrap();
}

async fn pipe_restore(
    pg: &Cluster,
    dst: &str,
    bytes: Vec<u8>,
    opts: RestoreOptions,
) -> pgdump_core::Result<RestoreSummary> {
    try_restore(
        pg,
        dst,
        Input::Reader(Box::new(std::io::Cursor::new(bytes))),
        &opts,
    )
    .await
}

const PRE_EXISTING: &str =
    "CREATE TABLE public.keep_me (id int); INSERT INTO public.keep_me VALUES (1);";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_input_stops_naming_the_object_and_undoes_the_run() {
    let g = good();
    let pg = pg();
    for damage in ALL {
        let dst = db_with(pg, "damaged_pipe", PRE_EXISTING);
        let before = user_objects(pg, &dst);
        let res = pipe_restore(
            pg,
            &dst,
            damage.apply(g),
            RestoreOptions {
                jobs: 2,
                ..RestoreOptions::default()
            },
        )
        .await;
        let why = match res {
            // a damaged TOC is found before anything runs
            Err(e @ (CoreError::Format(_) | CoreError::Data { .. })) => {
                assert_eq!(damage, Damage::Toc, "{damage:?}: {e}");
                e.to_string()
            }
            Err(CoreError::Stopped { cause, state }) => {
                // something was created and loaded, then dropped again
                match &state {
                    TargetState::Undone { kept, not_dropped } => {
                        assert!(kept.is_empty(), "{damage:?}: rows said to stay: {state:?}");
                        assert!(not_dropped.is_empty(), "{damage:?}: {state:?}");
                    }
                    other => panic!("{damage:?}: not undone: {other:?}"),
                }
                cause.to_string()
            }
            Err(e) => panic!("{damage:?}: {e}"),
            Ok(s) => panic!("{damage:?}: reported success: {s:?}"),
        };
        assert_mentions(&format!("{damage:?}"), &why, &damage.expected(g));
        assert_eq!(
            user_objects(pg, &dst),
            before,
            "{damage:?}: the target is half-restored (or lost what it had)"
        );
        assert_eq!(rows(pg, &dst, "public.keep_me"), 1);
        pg.drop_db(&dst).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_input_keep_partial_reports_exactly_what_loaded() {
    let g = good();
    let pg = pg();
    let dst = db_with(pg, "damaged_keep", "");
    let s = pipe_restore(
        pg,
        &dst,
        Damage::DataFrame.apply(g),
        RestoreOptions {
            jobs: 2,
            keep_partial: true,
            ..RestoreOptions::default()
        },
    )
    .await
    .expect("a partial restore reports, it does not error out");
    assert!(!s.ok(), "{s:?}");
    let damage = s
        .failures
        .iter()
        .map(|f| format!("{}: {}", f.object, f.message))
        .collect::<Vec<_>>()
        .join("\n");
    assert_mentions("keep_partial", &damage, &Damage::DataFrame.expected(g));
    // every table the report names holds exactly the rows reported, and no other table has rows
    let loaded: std::collections::HashMap<String, u64> = s.loaded.iter().cloned().collect();
    let victim = loaded.get("dmg.victim").copied().unwrap_or(0);
    assert!(
        victim > 0 && victim < g.victim_rows,
        "dmg.victim should be partly loaded: {victim} of {}",
        g.victim_rows
    );
    for table in ["dmg.victim", "dmg.other"] {
        let exists = pg
            .query_value(&dst, &format!("SELECT to_regclass('{table}') IS NOT NULL"))
            .unwrap()
            == "t";
        let have = if exists { rows(pg, &dst, table) } else { 0 };
        assert_eq!(
            have,
            loaded.get(table).copied().unwrap_or(0),
            "{table}: the report says {:?}",
            s.loaded
        );
    }
    assert_eq!(s.rows, loaded.values().sum::<u64>());
    pg.drop_db(&dst).unwrap();
}

/// With `verify_first` off (`--no-verify`) a file is read like a pipe: the damaged frame
/// stops the restore when it is reached, and the run is undone as from a pipe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_input_without_verification_is_undone_like_a_pipe() {
    let g = good();
    let pg = pg();
    let dir = crate::common::scratch();
    let path = dir.path().join("bad.pgdump");
    std::fs::write(&path, Damage::DataFrame.apply(g)).unwrap();
    let dst = db_with(pg, "damaged_noverify", PRE_EXISTING);
    let before = user_objects(pg, &dst);
    let err = try_restore(
        pg,
        &dst,
        Input::File(path),
        &RestoreOptions {
            jobs: 2,
            verify_first: false,
            ..RestoreOptions::default()
        },
    )
    .await
    .expect_err("a damaged archive found during the run stops it");
    let why = match &err {
        CoreError::Stopped {
            cause,
            state: TargetState::Undone { .. },
        } => cause.to_string(),
        other => panic!("not undone: {other:?}"),
    };
    assert_mentions("--no-verify", &why, &Damage::DataFrame.expected(g));
    assert_eq!(user_objects(pg, &dst), before, "half-restored");
    pg.drop_db(&dst).unwrap();
}

/// A data-only restore into an existing schema creates nothing it could undo: the rows it
/// loaded before the damage stay, and the report says exactly which.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_input_data_only_reports_the_rows_that_stay() {
    let g = good();
    let pg = pg();
    let dst = db_with(pg, "damaged_data_only", "");
    let s = try_restore(
        pg,
        &dst,
        Input::File(g.path.clone()),
        &RestoreOptions {
            schema_only: true,
            ..RestoreOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(s.ok(), "{s:?}");
    let before = user_objects(pg, &dst);
    let err = pipe_restore(
        pg,
        &dst,
        Damage::DataFrame.apply(g),
        RestoreOptions {
            jobs: 2,
            data_only: true,
            disable_triggers: true,
            ..RestoreOptions::default()
        },
    )
    .await
    .expect_err("a damaged archive stops the restore");
    let CoreError::Stopped {
        state: TargetState::Undone { kept, .. },
        ..
    } = err
    else {
        panic!("not undone: {err:?}");
    };
    assert_eq!(
        user_objects(pg, &dst),
        before,
        "the schema was not this run's"
    );
    let victim = rows(pg, &dst, "dmg.victim");
    assert!(victim > 0, "nothing loaded before the damaged frame");
    let mut expect = vec![("dmg.victim".to_string(), victim)];
    let other = rows(pg, &dst, "dmg.other");
    if other > 0 {
        expect.push(("dmg.other".to_string(), other));
        expect.sort();
    }
    assert_eq!(kept, expect);
    pg.drop_db(&dst).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_input_with_create_drops_the_created_database() {
    let g = good();
    let pg = pg();
    let name = format!("damaged_created_{}", std::process::id());
    let err = pipe_restore(
        pg,
        &name,
        Damage::Index.apply(g),
        RestoreOptions {
            jobs: 2,
            target: Target::Create,
            ..RestoreOptions::default()
        },
    )
    .await
    .expect_err("a damaged archive stops the restore");
    assert!(
        matches!(
            err,
            CoreError::Stopped {
                state: TargetState::Unchanged,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        pg.query_value(
            "postgres",
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'")
        )
        .unwrap(),
        "0",
        "the database created by the run is still there: {err:?}"
    );
}

/// Files that are no pgdump archive at all: rejected by both readers with a clear message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_files_are_rejected() {
    let pg = pg();
    let dir = crate::common::scratch();
    let src = db_with(
        pg,
        "foreign_src",
        "CREATE TABLE t (id int); INSERT INTO t VALUES (1);",
    );
    // a real pg_dump custom archive, when the reference pg_dump is installed
    let custom = dir.path().join("custom.dump");
    let pg_dump = pgdump_tests::pg_dump_path()
        .or_else(|_| which("pg_dump"))
        .expect("a pg_dump to make a custom-format archive");
    let out = std::process::Command::new(pg_dump)
        .args(["-Fc", "-f"])
        .arg(&custom)
        .arg(pg.url(&src))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gzip = dir.path().join("x.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(b"CREATE TABLE t (id int);\n").unwrap();
    std::fs::write(&gzip, enc.finish().unwrap()).unwrap();
    let sql = dir.path().join("x.sql");
    std::fs::write(&sql, "CREATE TABLE t (id int);\n").unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();

    for (path, words) in [
        (&custom, "pg_dump custom-format archive"),
        (&gzip, "gzip"),
        (&sql, "SQL script"),
        (&empty, "empty"),
    ] {
        let dst = db_with(pg, "foreign_dst", "");
        for pipe in [false, true] {
            let input = if pipe {
                Input::Reader(Box::new(std::fs::File::open(path).unwrap()))
            } else {
                Input::File(path.clone())
            };
            let err = try_restore(pg, &dst, input, &RestoreOptions::default())
                .await
                .expect_err("a foreign file must be rejected")
                .to_string();
            assert!(
                err.contains("not a pgdump archive") && err.contains(words),
                "{} (pipe: {pipe}): {err}",
                path.display()
            );
        }
        assert_eq!(user_objects(pg, &dst), Vec::<String>::new());
        pg.drop_db(&dst).unwrap();
    }
    pg.drop_db(&src).unwrap();
}

fn which(name: &str) -> anyhow::Result<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| anyhow::anyhow!("{name} not found"))
}
