//! The `regression` database of PostgreSQL's core regression suite (issue 14): the standard
//! hard case for a dump tool (~2,400 dump entries, every object kind, C functions and base
//! types from regress.so, typed tables, a table access method, ...). It comes from the
//! cache of `scripts/regression-db` (see `pgdump_tests::regression`).
//!
//! What pgdump gets wrong on it today, grouped by cause with small reproductions:
//! `tests/fixtures/regression/SURVEY.md` (the reproductions are in `repro/` beside it,
//! `scripts/regression-repro` runs them).

use pgdump_core::compare::{CompareOptions, CompareReport};
use pgdump_core::restore::RestoreOptions;
use pgdump_tests::regression::{self, REGRESSION_MAJOR};
use pgdump_tests::{regression_db, Cluster};

use crate::common::{archive, cfg, dump_to, restore_from, restore_via_sql, scratch, Sweep};

/// Differences that every dump and restore of `regression` has, pg_dump 18 + pg_restore 18
/// included, and that no tool can avoid: (section, object, why).
const INHERENT: &[(&str, &str, &str)] = &[(
    "data",
    "public.mvtest_bb",
    "a populated materialized view whose stored rows are stale (its base tables changed \
     after its last REFRESH, matview.sql): a restore refreshes it, and there is no way to \
     load rows into a materialized view",
)];

#[test]
fn regression_database_comes_from_the_cache() {
    let (pg, db) = regression_db();
    assert_eq!(pg.major(), REGRESSION_MAJOR);
    let cache = regression::regression_cache().unwrap();
    assert_eq!(regression::script_print_path().unwrap(), cache.dir);
    // as the suite left it
    let tables: u64 = pg
        .query_value(
            db,
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname !~ '^pg_toast'",
        )
        .unwrap()
        .parse()
        .unwrap();
    assert!(tables >= 500, "{tables} tables");
    assert_eq!(pg.count_rows(db, "public.onek").unwrap(), 1000);
    // regress.so's C I/O functions work (the library is where the database expects it)
    let widget = pg
        .query_value(db, "SELECT '(1,2,3)'::widget::text")
        .unwrap();
    assert_eq!(widget, "(1,2,3)");
    let budget = pg
        .query_value(db, "SELECT budget::text FROM city ORDER BY name LIMIT 1")
        .unwrap();
    assert!(!budget.is_empty());
    // a second database in the same cluster is fine (restore targets)
    let other = pg.create_db("regression_scratch").unwrap();
    pg.drop_db(&other).unwrap();
}

/// The report's differences that are not [`INHERENT`], every one of them (the report's own
/// rendering stops at 50 a section).
fn unexpected(report: &CompareReport) -> Vec<String> {
    let mut out = Vec::new();
    for s in &report.sections {
        for d in &s.differences {
            if INHERENT
                .iter()
                .any(|(section, object, _)| *section == s.name && *object == d.object)
            {
                continue;
            }
            out.push(format!(
                "{}: {}\n    source: {}\n    target: {}",
                s.name,
                d.object,
                d.source.as_deref().unwrap_or("(missing)"),
                d.target.as_deref().unwrap_or("(missing)")
            ));
        }
    }
    out
}

async fn assert_like_source(pg: &Cluster, src: &str, dst: &str, what: &str) {
    let report =
        pgdump_core::compare::compare(&cfg(pg, src), &cfg(pg, dst), CompareOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{what}: compare failed: {e}"));
    let diffs = unexpected(&report);
    assert!(
        diffs.is_empty(),
        "{what}: {} differences besides the inherent ones:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// `pgdump dump -j 2` of regression (no --skip-unsupported), `pgdump restore -j 2` into a
/// new database of the same cluster, `pgdump compare`.
#[tokio::test]
#[ignore = "issue 14: pgdump refuses 39 objects of the regression database (C functions and \
            base types, typed tables, a table access method, a transform) and its restore and \
            compare differ: see tests/fixtures/regression/SURVEY.md"]
async fn regression_dump_restore_j2() {
    let (pg, src) = regression_db();
    let dir = scratch();
    let path = archive(&dir, "regression.pgdump");
    let s = Sweep::default();
    assert_eq!((s.dump_jobs, s.restore_jobs), (2, 2));
    dump_to(pg, src, &path, &s).await;
    let dst = pg.create_db("regression_restored").unwrap();
    let sum = restore_from(pg, &dst, &path, &s, RestoreOptions::default()).await;
    assert!(
        sum.ok() && sum.skipped.is_empty(),
        "restore: {} failed, {} skipped:\n{}\nskipped: {:?}",
        sum.failures.len(),
        sum.skipped.len(),
        sum.failures
            .iter()
            .map(|f| format!("  {}: {}", f.object, f.message))
            .collect::<Vec<_>>()
            .join("\n"),
        sum.skipped
    );
    assert_like_source(pg, src, &dst, "regression, restore -j 2").await;
}

/// `pgdump sql` of the same archive through `psql -v ON_ERROR_STOP=1`, then `pgdump compare`.
#[tokio::test]
#[ignore = "issue 14: pgdump refuses 39 objects of the regression database: see \
            tests/fixtures/regression/SURVEY.md"]
async fn regression_sql_script() {
    let (pg, src) = regression_db();
    let dir = scratch();
    let path = archive(&dir, "regression.pgdump");
    dump_to(pg, src, &path, &Sweep::default()).await;
    let dst = pg.create_db("regression_sql").unwrap();
    restore_via_sql(pg, &dst, &path);
    assert_like_source(pg, src, &dst, "regression, pgdump sql | psql").await;
}

/// Not a check: what a `--skip-unsupported` round trip (-j 2) of regression still gets
/// wrong, every item: the refused objects, the failed and skipped restore items and every
/// `pgdump compare` difference (inherent ones included, marked). For tracking issue 14:
/// `scripts/test -p pgdump-tests --test it -- --ignored --nocapture regression_survey`.
#[tokio::test]
#[ignore = "survey, not a check: prints what a --skip-unsupported round trip of regression \
            gets wrong (run with --ignored --nocapture)"]
async fn regression_survey_skip_unsupported() {
    let (pg, src) = regression_db();
    let dir = scratch();
    let path = archive(&dir, "regression.pgdump");
    let opts = pgdump_core::DumpOptions {
        jobs: 2,
        skip_unsupported: true,
        ..pgdump_core::DumpOptions::default()
    };
    let dump = pgdump_core::dump(
        &cfg(pg, src),
        &opts,
        pgdump_core::Output::File(path.clone()),
        pgdump_core::progress::quiet(),
        pgdump_core::CancellationToken::new(),
    )
    .await
    .expect("dump --skip-unsupported");
    let dst = pg.create_db("regression_survey").unwrap();
    let sum = restore_from(
        pg,
        &dst,
        &path,
        &Sweep::default(),
        RestoreOptions::default(),
    )
    .await;
    let report =
        pgdump_core::compare::compare(&cfg(pg, src), &cfg(pg, &dst), CompareOptions::default())
            .await
            .expect("compare");
    println!(
        "== dump: {} entries, {} skipped",
        dump.entries,
        dump.skipped.len()
    );
    for s in &dump.skipped {
        println!("refused: {s}");
    }
    println!(
        "== restore: {} failed, {} skipped",
        sum.failures.len(),
        sum.skipped.len()
    );
    for f in &sum.failures {
        println!("failed: {}: {}", f.object, f.message);
    }
    for s in &sum.skipped {
        println!("skipped: {s}");
    }
    let mut total = 0;
    for s in &report.sections {
        println!(
            "== compare {}: {} compared, {} differences",
            s.name,
            s.compared,
            s.differences.len()
        );
        for d in &s.differences {
            total += 1;
            let inherent = INHERENT
                .iter()
                .any(|(section, object, _)| *section == s.name && *object == d.object);
            println!(
                "{}{}: {}\n    source: {}\n    target: {}",
                if inherent { "(inherent) " } else { "" },
                s.name,
                d.object,
                d.source.as_deref().unwrap_or("(missing)"),
                d.target.as_deref().unwrap_or("(missing)")
            );
        }
    }
    println!("== compare: {total} differences");
}
