//! `pgdump_core::check`: a restored database is checked against the rows and content
//! hashes its archive recorded, on one major and across majors; a deleted, changed or
//! added row, or a changed large object, is named; the dump's recorded session settings
//! are honoured whatever the checking session's own.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pgdump_core::check::{check_against, CheckReport, CheckedKind, Facts};
use pgdump_core::restore::RestoreOptions;
use pgdump_core::CancellationToken;
use pgdump_format::{ArchiveReader, CopyFormat, DataKind, StreamReader, Toc};
use pgdump_tests::{shared_cluster, Cluster};

use crate::common::{cfg, db_with, dump_to, restore_file, scratch, Sweep};

/// The source database: many types, NULLs, a table split into several streams, range
/// partitions, hash partitions on an enum (loaded through their root), a table without
/// columns, one in text format (a composite column), large objects (small, empty,
/// exactly 1 MiB, over 1 MiB).
fn source_sql(major: u32) -> String {
    let mut sql = String::from(
        r#"
CREATE SCHEMA chk;
CREATE TYPE chk.pair AS (a int, b text);
CREATE TYPE chk.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE chk.typed (
    id int PRIMARY KEY, t text, n numeric, ts timestamptz, b bytea, m money,
    f float8, r real, j jsonb, a int[], ta text[], iv interval, d date, mood chk.mood,
    gone int);
ALTER TABLE chk.typed DROP COLUMN gone;
INSERT INTO chk.typed
SELECT g,
       CASE WHEN g % 7 = 0 THEN NULL ELSE 'row ' || g || E'\ttab\nline\\back é' END,
       CASE WHEN g % 11 = 0 THEN NULL ELSE g * 1.25 / 7 END,
       CASE WHEN g % 13 = 0 THEN NULL
            ELSE timestamptz '2020-03-08 01:30:00+00' + g * interval '37 minutes 13.5 seconds' END,
       CASE WHEN g % 5 = 0 THEN NULL ELSE decode(md5(g::text), 'hex') END,
       (g * 3.17)::numeric::money,
       CASE g % 6 WHEN 0 THEN 'NaN'::float8 WHEN 1 THEN 'Infinity'::float8
                  WHEN 2 THEN '-0'::float8 ELSE g / 10.0 END,
       (g / 3.0)::real,
       jsonb_build_object('g', g, 'nested', jsonb_build_array(g, 'x', NULL, 1.5)),
       ARRAY[g, NULL, -g],
       ARRAY['a b', NULL, 'q"uote', g::text],
       g * interval '1 day 3 hours 0.25 seconds',
       date '2000-02-28' + g,
       (ARRAY['sad', 'ok', 'happy']::chk.mood[])[1 + g % 3]
FROM generate_series(1, 3000) g;
CREATE TABLE chk.texty (id int, p chk.pair, ts timestamptz, b bytea, m money, f float8,
                        iv interval, moods chk.mood[], js json);
INSERT INTO chk.texty
SELECT g, ROW(g, 'p' || g)::chk.pair,
       CASE WHEN g % 9 = 0 THEN NULL
            ELSE timestamptz '1999-12-31 23:00:00+00' + g * interval '5 hours 7 minutes' END,
       decode(md5(g::text), 'hex'), (g * 1.01)::numeric::money, g / 8.0,
       g * interval '90 minutes', ARRAY['ok', 'sad']::chk.mood[], json_build_object('k', g)
FROM generate_series(1, 1000) g;
CREATE TABLE chk.big (id int PRIMARY KEY, payload text);
INSERT INTO chk.big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 20000) g;
CREATE TABLE chk.parted (id int, k int, v text) PARTITION BY RANGE (k);
CREATE TABLE chk.parted_lo PARTITION OF chk.parted FOR VALUES FROM (0) TO (100);
CREATE TABLE chk.parted_hi PARTITION OF chk.parted FOR VALUES FROM (100) TO (200);
INSERT INTO chk.parted SELECT g, g % 200, 'v' || g FROM generate_series(1, 1000) g;
CREATE TABLE chk.nocols ();
INSERT INTO chk.nocols DEFAULT VALUES;
INSERT INTO chk.nocols DEFAULT VALUES;
SELECT lo_from_bytea(424201, convert_to('a small large object', 'UTF8'));
SELECT lo_create(424202);
SELECT lo_from_bytea(424203, (SELECT string_agg(decode(md5(g::text), 'hex'), ''::bytea ORDER BY g)
                              FROM generate_series(1, 90000) g));
SELECT lo_from_bytea(424204, (SELECT string_agg(decode(md5(g::text), 'hex'), ''::bytea ORDER BY g)
                              FROM generate_series(1, 65536) g));
"#,
    );
    if major >= 11 {
        sql.push_str(
            "CREATE TABLE chk.by_mood (id int, mood chk.mood, v text) PARTITION BY HASH (mood);
             CREATE TABLE chk.by_mood_0 PARTITION OF chk.by_mood FOR VALUES WITH (MODULUS 2, REMAINDER 0);
             CREATE TABLE chk.by_mood_1 PARTITION OF chk.by_mood FOR VALUES WITH (MODULUS 2, REMAINDER 1);
             INSERT INTO chk.by_mood
             SELECT g, (ARRAY['sad', 'ok', 'happy']::chk.mood[])[1 + g % 3], 'm' || g
             FROM generate_series(1, 600) g;\n",
        );
    }
    if major >= 12 {
        sql.push_str(
            "ALTER TABLE chk.typed ADD COLUMN twice int GENERATED ALWAYS AS (id * 2) STORED;\n",
        );
    }
    sql.push_str("ANALYZE;\n");
    sql
}

/// A dumped source: its cluster, database and archives.
struct Source {
    pg: &'static Cluster,
    /// Tables in binary where possible.
    archive: PathBuf,
    /// Every table in text.
    text_archive: PathBuf,
    _dir: tempfile::TempDir,
}

/// Tiny frames and split sizes: `chk.big` spans several streams.
fn sweep(text: bool) -> Sweep {
    Sweep {
        text,
        ..Sweep::default()
    }
    .tiny()
}

/// The source of `major`, made and dumped once. Its sessions default to a time zone
/// with a half-hour offset and to `bytea_output = escape`, which the archive records.
fn source(major: u32) -> &'static Source {
    static SOURCES: [OnceLock<Source>; 5] = [const { OnceLock::new() }; 5];
    let slot = match major {
        10 => 0,
        13 => 1,
        15 => 2,
        17 => 3,
        _ => 4,
    };
    SOURCES[slot].get_or_init(|| {
        let pg = shared_cluster(major);
        let db = db_with(pg, "check_src", &source_sql(major));
        pg.execute(
            "postgres",
            &format!(
                "ALTER DATABASE {db} SET TimeZone = 'America/St_Johns'; \
                 ALTER DATABASE {db} SET bytea_output = 'escape'"
            ),
        )
        .expect("source settings");
        let dir = scratch();
        let archive = dir.path().join("bin.pgdump");
        let text_archive = dir.path().join("text.pgdump");
        pgdump_tests::block_on(async {
            dump_to(pg, &db, &archive, &sweep(false)).await;
            dump_to(pg, &db, &text_archive, &sweep(true)).await;
        });
        Source {
            pg,
            archive,
            text_archive,
            _dir: dir,
        }
    })
}

/// The TOC and index facts of an archive file.
fn read(path: &Path) -> (Toc, Facts) {
    let r = ArchiveReader::open(std::fs::File::open(path).unwrap()).unwrap();
    (r.toc().clone(), Facts::from_streams(r.streams()))
}

/// Restores `archive` into a fresh database of `pg`.
async fn restored(pg: &Cluster, archive: &Path, prefix: &str) -> String {
    let db = pg.create_db(prefix).expect("create target");
    let sum = restore_file(
        pg,
        &db,
        archive,
        &RestoreOptions {
            jobs: 2,
            ..RestoreOptions::default()
        },
    )
    .await;
    assert!(sum.ok(), "restore into {db}: {:#?}", sum.failures);
    db
}

async fn check(pg: &Cluster, db: &str, toc: &Toc, facts: &Facts) -> CheckReport {
    check_against(&cfg(pg, db), toc, facts, None, 2, CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("check of {db}: {e}"))
}

/// Asserts the check passed and covered every data entry of the archive.
fn assert_ok_and_complete(report: &CheckReport, toc: &Toc, what: &str) {
    assert!(report.ok(), "{what}:\n{}", report.render());
    let data_entries = toc.entries.iter().filter(|e| e.data.is_some()).count();
    let covered: usize = report.objects.iter().map(|o| o.entries.len()).sum();
    assert_eq!(covered, data_entries, "{what}: {:#?}", report.objects);
    assert!(
        report.expected_rows() > 25_000,
        "{what}: {}",
        report.render()
    );
}

/// The one object that differs, described.
fn only_mismatch(report: &CheckReport) -> String {
    let bad: Vec<String> = report.mismatches().map(|o| o.describe()).collect();
    assert_eq!(bad.len(), 1, "{}", report.render());
    bad[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_database_checks_out() {
    let src = source(15);
    let pg = src.pg;
    for (archive, what) in [(&src.archive, "binary"), (&src.text_archive, "text")] {
        let (toc, facts) = read(archive);
        // the fixture covers what the check must handle
        let data = |name: &str| {
            toc.entries
                .iter()
                .find(|e| e.name == name && e.data.is_some())
                .and_then(|e| e.data.clone())
                .unwrap_or_else(|| panic!("no data entry {name}"))
        };
        assert!(data("big").streams.len() > 1, "chk.big is not split");
        assert!(data("by_mood_0").target.ends_with("by_mood"));
        let want = if what == "text" {
            CopyFormat::Text
        } else {
            CopyFormat::Binary
        };
        assert_eq!(data("typed").format, want);
        assert_eq!(data("texty").format, CopyFormat::Text);
        assert!(toc
            .info
            .settings
            .get("TimeZone")
            .is_some_and(|z| z == "America/St_Johns"));
        assert_eq!(
            toc.info.settings.get("bytea_output").map(String::as_str),
            Some("escape")
        );

        let db = restored(pg, archive, &format!("check_ok_{what}")).await;
        let report = check(pg, &db, &toc, &facts).await;
        assert_ok_and_complete(&report, &toc, what);
        assert!(report.notes.is_empty(), "{}", report.render());
        let los = report
            .objects
            .iter()
            .find(|o| o.kind == CheckedKind::LargeObjects)
            .expect("large objects checked");
        // small 1 + empty 0 + 1.4 MB 2 + exactly 1 MiB 1
        assert_eq!(los.found_rows, 4, "{los:?}");
        let by_mood = report
            .objects
            .iter()
            .find(|o| o.name == "chk.by_mood")
            .unwrap();
        assert_eq!((by_mood.entries.len(), by_mood.found_rows), (2, 600));

        // facts gathered frame by frame from a pipe are the index's
        let mut piped = Facts::new();
        let mut sr = StreamReader::new(std::fs::File::open(archive).unwrap()).unwrap();
        while let Some(f) = sr.next_frame().unwrap() {
            piped.add_frame(f.stream(), f.meta().rows, f.meta().content_hash);
        }
        for e in toc.entries.iter().filter_map(|e| e.data.as_ref()) {
            assert_eq!(piped.entry(e), facts.entry(e));
        }
        // one connection, and only what was selected
        let big = toc
            .entries
            .iter()
            .position(|e| e.name == "big" && e.data.is_some())
            .unwrap();
        let mut select = vec![false; toc.entries.len()];
        select[big] = true;
        let one = check_against(
            &cfg(pg, &db),
            &toc,
            &piped,
            Some(&select),
            1,
            CancellationToken::new(),
        )
        .await
        .unwrap();
        assert!(one.ok(), "{}", one.render());
        assert_eq!(one.objects.len(), 1);
        assert_eq!(
            (one.objects[0].name.as_str(), one.objects[0].found_rows),
            ("chk.big", 20000)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_is_named() {
    let src = source(15);
    let pg = src.pg;
    let (toc, facts) = read(&src.archive);
    let db = restored(pg, &src.archive, "check_changes").await;
    // a byte of the second piece of the large object over 1 MiB, and another value
    let byte = crate::common::value(pg, &db, "SELECT get_byte(lo_get(424203, 1048600, 1), 0)");
    let byte: u8 = byte.parse().unwrap();
    let lo_change = format!(
        "SELECT lo_put(424203, 1048600, '\\x{:02x}'::bytea)",
        byte ^ 0xff
    );
    let lo_undo = format!("SELECT lo_put(424203, 1048600, '\\x{byte:02x}'::bytea)");
    // (change, undo, what the check says)
    let cases = [
        (
            "CREATE TABLE public.saved AS SELECT * FROM chk.big WHERE id = 777; \
             DELETE FROM chk.big WHERE id = 777",
            "INSERT INTO chk.big SELECT * FROM public.saved; DROP TABLE public.saved",
            "TABLE chk.big: 20000 rows expected, 19999 found",
        ),
        (
            "UPDATE chk.typed SET n = n + 1 WHERE id = 5",
            "UPDATE chk.typed SET n = n - 1 WHERE id = 5",
            "TABLE chk.typed: content differs",
        ),
        (
            "UPDATE chk.texty SET ts = ts + interval '1 microsecond' WHERE id = 10",
            "UPDATE chk.texty SET ts = ts - interval '1 microsecond' WHERE id = 10",
            "TABLE chk.texty: content differs",
        ),
        (
            "INSERT INTO chk.parted VALUES (5000, 150, 'added')",
            "DELETE FROM chk.parted WHERE id = 5000",
            "TABLE chk.parted_hi: 500 rows expected, 501 found",
        ),
        (
            "UPDATE chk.by_mood SET v = 'changed' WHERE id = 3",
            "UPDATE chk.by_mood SET v = 'm3' WHERE id = 3",
            "TABLE chk.by_mood: content differs",
        ),
        (
            lo_change.as_str(),
            lo_undo.as_str(),
            "LARGE OBJECTS 424201..424204: content differs",
        ),
        (
            "SELECT lo_put(424202, 0, '\\x00'::bytea)",
            "SELECT lo_truncate(lo_open(424202, 131072), 0)",
            "LARGE OBJECTS 424201..424204: 4 pieces expected, 5 found",
        ),
        (
            "CREATE TABLE public.saved_lo AS SELECT lo_get(424201) AS b; SELECT lo_unlink(424201)",
            "SELECT lo_from_bytea(424201, b) FROM public.saved_lo; DROP TABLE public.saved_lo",
            "LARGE OBJECTS 424201..424204: large object 424201 is missing; 4 pieces expected, 3 found",
        ),
    ];
    for (change, undo, says) in cases {
        pg.execute(&db, change)
            .unwrap_or_else(|e| panic!("{change}: {e:#}"));
        let report = check(pg, &db, &toc, &facts).await;
        assert!(!report.ok());
        assert_eq!(only_mismatch(&report), says, "after {change}");
        assert!(report.render().contains(says), "{}", report.render());
        pg.execute(&db, undo)
            .unwrap_or_else(|e| panic!("{undo}: {e:#}"));
    }
    // undone, it checks out again; a dropped table is named
    let report = check(pg, &db, &toc, &facts).await;
    assert_ok_and_complete(&report, &toc, "after the undos");
    pg.execute(&db, "DROP TABLE chk.nocols").unwrap();
    let report = check(pg, &db, &toc, &facts).await;
    let says = only_mismatch(&report);
    assert!(
        says.starts_with(
            "TABLE chk.nocols: cannot be read (relation \"chk.nocols\" does not exist)"
        ),
        "{says}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_settings_are_honoured() {
    let src = source(15);
    let pg = src.pg;
    let (toc, facts) = read(&src.archive);
    let db = restored(pg, &src.archive, "check_settings").await;
    // the checking sessions' own settings differ from the dump's and the server's
    pg.execute(
        "postgres",
        &format!(
            "ALTER DATABASE {db} SET TimeZone = 'Asia/Kathmandu'; \
             ALTER DATABASE {db} SET bytea_output = 'hex'; \
             ALTER DATABASE {db} SET DateStyle = 'SQL, DMY'; \
             ALTER DATABASE {db} SET IntervalStyle = 'iso_8601'; \
             ALTER DATABASE {db} SET extra_float_digits = 0"
        ),
    )
    .unwrap();
    let report = check(pg, &db, &toc, &facts).await;
    assert_ok_and_complete(&report, &toc, "other session settings");

    // an archive that does not record them (written before they were): the sessions'
    // own are used and said so; timestamptz and bytea of the text table then differ
    let mut old = toc.clone();
    for n in pgdump_core::session::COPY_OUTPUT_SETTINGS {
        old.info.settings.remove(n);
    }
    let report = check(pg, &db, &old, &facts).await;
    assert_eq!(only_mismatch(&report), "TABLE chk.texty: content differs");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("does not record the dump's DateStyle")),
        "{}",
        report.render()
    );

    // a value this server does not know is a note, not a failure
    let mut odd = toc.clone();
    odd.info
        .settings
        .insert("lc_monetary".into(), "xx_NOWHERE.UTF-8".into());
    let report = check(pg, &db, &odd, &facts).await;
    assert!(report.ok(), "{}", report.render());
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("refused the archive's lc_monetary")),
        "{}",
        report.render()
    );
}

/// Dumped on `from`, restored on `to`: the check passes (with the text-format archive
/// of a server before 12, except for the table with floats, as its note says).
async fn across(from: u32, to: u32) {
    let src = source(from);
    let pg = shared_cluster(to);
    for (archive, text) in [(&src.archive, false), (&src.text_archive, true)] {
        let (toc, facts) = read(archive);
        let db = restored(pg, archive, &format!("check_{from}_{to}")).await;
        let report = check(pg, &db, &toc, &facts).await;
        let what = format!("{from} -> {to}, text: {text}");
        if text && from < 12 {
            // PostgreSQL 10 printed 0.1::float8 as 0.100000000000000006 with
            // extra_float_digits = 3; 12 and later print 0.1
            assert_eq!(
                only_mismatch(&report),
                "TABLE chk.typed: content differs",
                "{what}"
            );
            assert!(
                report
                    .notes
                    .iter()
                    .any(|n| n.contains("floating-point values")),
                "{}",
                report.render()
            );
            continue;
        }
        assert_ok_and_complete(&report, &toc, &what);
        assert!(report.notes.is_empty(), "{what}: {}", report.render());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_majors_13_to_17() {
    across(13, 17).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_majors_10_to_18() {
    across(10, 18).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_check_stops() {
    let src = source(15);
    let (toc, facts) = read(&src.archive);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let res = check_against(&cfg(src.pg, "postgres"), &toc, &facts, None, 2, cancel).await;
    assert!(
        matches!(res, Err(pgdump_core::CoreError::Cancelled)),
        "{res:?}"
    );
    // the archive's large-object data entry is one of the checked kinds
    assert!(toc.entries.iter().any(|e| e
        .data
        .as_ref()
        .is_some_and(|d| d.kind == DataKind::LargeObjects)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_tables_are_read_in_page_ranges() {
    let src = source(15);
    let pg = src.pg;
    let (mut toc, facts) = read(&src.archive);
    let db = restored(pg, &src.archive, "check_ranges").await;
    // chk.big as big as a table read in ranges (its streams' estimates say 1 GiB)
    let entry = toc
        .entries
        .iter()
        .find(|e| e.name == "big" && e.data.is_some())
        .unwrap();
    for s in entry.data.clone().unwrap().streams {
        toc.streams[s as usize].est_bytes = 1 << 30;
    }
    let log = crate::common::log_statements(pg, &db);
    let report = check(pg, &db, &toc, &facts).await;
    assert_ok_and_complete(&report, &toc, "chk.big in ranges");
    let ranges: Vec<String> = crate::common::statements_in(pg, &db, log)
        .into_iter()
        .filter(|l| l.contains("FROM ONLY chk.big WHERE ctid >= "))
        .collect();
    // 1 GiB in ranges of 32 MiB, at most 4 per session
    assert_eq!(ranges.len(), 8, "{ranges:#?}");
    // a row gone from the last pages, and one from the first, are seen
    for id in [19_999, 2] {
        pg.execute(&db, &format!("DELETE FROM chk.big WHERE id = {id}"))
            .unwrap();
    }
    let report = check(pg, &db, &toc, &facts).await;
    assert_eq!(
        only_mismatch(&report),
        "TABLE chk.big: 20000 rows expected, 19998 found"
    );
}
