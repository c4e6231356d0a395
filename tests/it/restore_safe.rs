//! Destructive restores that can never make things worse (issue 13): `--clean` into a
//! live database, `--single-transaction`, `--replace`, `--safety-backup`, and runs
//! stopped at many points (cancel, cut stream, failing statement, server restart).
//!
//! After every stopped run, pgdump's compare of the target against a copy taken just
//! before shows it unchanged; after every finished run, equivalent to the archive's
//! source.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use pgdump_core::compare::CompareOptions;
use pgdump_core::progress::quiet;
use pgdump_core::restore::{Input, ReplaceOptions, RestoreOptions, Target, TargetState};
use pgdump_core::{CancellationToken, CoreError};
use pgdump_format::Codec;
use pgdump_tests::{shared_cluster, Cluster};

use crate::common::{cfg, compare_dbs, db_with, dump_file, small_dump_opts, try_restore, value};

/// Six tables and a view, sequence, function, trigger and comment: a restore takes a
/// few seconds, so that a stop can land in every phase.
const SOURCE_SQL: &str = "
CREATE SCHEMA app;
CREATE TABLE app.users (id int PRIMARY KEY, email text UNIQUE NOT NULL, name text);
INSERT INTO app.users SELECT g, 'u' || g || '@example.com', 'user ' || g FROM generate_series(1, 20000) g;
CREATE TABLE app.orders (id bigint PRIMARY KEY, user_id int NOT NULL REFERENCES app.users,
                         total numeric(12,2), placed timestamptz);
INSERT INTO app.orders SELECT g, 1 + g % 20000, (g % 1000) / 7.0,
       timestamptz '2026-01-01 00:00+00' + g * interval '1 minute' FROM generate_series(1, 120000) g;
CREATE TABLE app.events (id bigint, kind text, payload text);
INSERT INTO app.events SELECT g, 'k' || (g % 10), repeat(md5(g::text), 4) FROM generate_series(1, 120000) g;
CREATE INDEX events_payload ON app.events (payload);
CREATE TABLE app.settings (k text PRIMARY KEY, v jsonb);
INSERT INTO app.settings VALUES ('a', '{\"x\": 1}'), ('b', '[1, 2]');
CREATE TABLE app.tags (order_id bigint REFERENCES app.orders, tag text);
INSERT INTO app.tags SELECT g, 't' || (g % 7) FROM generate_series(1, 30000) g;
CREATE TABLE app.notes (id serial PRIMARY KEY, body text);
INSERT INTO app.notes (body) SELECT 'note ' || g FROM generate_series(1, 500) g;
CREATE SEQUENCE app.ticket;
SELECT setval('app.ticket', 42);
CREATE VIEW app.order_totals AS SELECT user_id, sum(total) AS total FROM app.orders GROUP BY user_id;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.placed := now(); RETURN NEW; END$$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON app.orders FOR EACH ROW EXECUTE FUNCTION app.touch();
COMMENT ON TABLE app.users IS 'people';
";

fn pg() -> &'static Cluster {
    shared_cluster(15)
}

/// The source (compared with), a template of it (copied, never connected to), and
/// its archive.
struct Fixture {
    src: String,
    tpl: String,
    archive: PathBuf,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let pg = pg();
        let src = db_with(pg, "safe_src", SOURCE_SQL);
        let tpl = format!("{src}_tpl");
        pg.execute("postgres", &format!("CREATE DATABASE {tpl} TEMPLATE {src}"))
            .unwrap();
        let dir = crate::common::scratch();
        let archive = dir.path().join("safe.pgdump");
        pgdump_tests::block_on(dump_file(
            pg,
            &src,
            &archive,
            &small_dump_opts(2, 256 << 10, Codec::Zstd { level: 1 }),
        ));
        Fixture {
            src,
            tpl,
            archive,
            _dir: dir,
        }
    })
}

static COPIES: AtomicU64 = AtomicU64::new(1);

/// A new database copied from `of` (which must have no session).
fn copy_of(of: &str) -> String {
    let name = format!(
        "{}_c{}",
        of.chars().take(40).collect::<String>(),
        COPIES.fetch_add(1, Ordering::Relaxed)
    );
    pg().execute("postgres", &format!("CREATE DATABASE {name} TEMPLATE {of}"))
        .unwrap_or_else(|e| panic!("copy of {of}: {e:#}"));
    name
}

/// A live database: a copy of the source, plus `sql` run in it (what changed since
/// the backup); and a copy of that, to compare with afterwards.
fn live_db(sql: &str) -> (String, String) {
    let live = copy_of(&fixture().tpl);
    if !sql.is_empty() {
        pg().execute(&live, sql).unwrap();
    }
    let before = copy_of(&live);
    (live, before)
}

fn db_oid(db: &str) -> String {
    value(
        pg(),
        "postgres",
        &format!(
            "SELECT coalesce((SELECT oid::text FROM pg_database WHERE datname = '{db}'), 'none')"
        ),
    )
}

/// Databases pgdump made beside `db` (new or previous copies).
fn beside(db: &str) -> Vec<String> {
    pg().query(
        "postgres",
        &format!(
            "SELECT datname FROM pg_database WHERE datname LIKE '{db}\\_pgdump\\_%' ORDER BY 1"
        ),
    )
    .unwrap()
    .into_iter()
    .map(|r| r[0].clone().unwrap_or_default())
    .collect()
}

async fn assert_same(a: &str, b: &str, what: &str) {
    let r = compare_dbs(pg(), a, b, CompareOptions::default()).await;
    assert!(r.equivalent(), "{what}: {a} and {b} differ\n{}", r.render());
}

fn drop_all(dbs: &[&str]) {
    for db in dbs {
        pg().drop_db(db).unwrap();
    }
    for db in dbs {
        for b in beside(db) {
            pg().drop_db(&b).unwrap();
        }
    }
}

fn file() -> Input {
    Input::File(fixture().archive.clone())
}

fn replace_opts(jobs: usize) -> RestoreOptions {
    RestoreOptions {
        jobs,
        target: Target::Replace,
        replace: ReplaceOptions {
            terminate_connections: true,
            ..ReplaceOptions::default()
        },
        ..RestoreOptions::default()
    }
}

fn state_of(e: &CoreError) -> &TargetState {
    match e {
        CoreError::Stopped { state, .. } => state,
        other => panic!("not a stopped restore: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_stops_before_anything_when_objects_outside_the_archive_depend_on_it() {
    let f = fixture();
    let after_backup =
        "CREATE VIEW public.recent_users AS SELECT id FROM app.users WHERE id > 100; \
                        CREATE TABLE public.audit (user_id int REFERENCES app.users);";
    for (what, opts) in [
        (
            "-c -1",
            RestoreOptions {
                clean: true,
                single_transaction: true,
                ..RestoreOptions::default()
            },
        ),
        (
            "-c -j 2",
            RestoreOptions {
                clean: true,
                jobs: 2,
                ..RestoreOptions::default()
            },
        ),
    ] {
        let (live, before) = live_db(after_backup);
        let err = try_restore(pg(), &live, file(), &opts)
            .await
            .expect_err("a drop that would break a dependent object stops the restore");
        assert_eq!(*state_of(&err), TargetState::Unchanged, "{what}: {err}");
        let text = err.to_string();
        for dependent in ["recent_users", "audit"] {
            assert!(
                text.contains(dependent),
                "{what}: {dependent} not named: {text}"
            );
        }
        assert_same(&before, &live, what).await;
        drop_all(&[&live, &before]);
    }
    // and once the dependents are gone, the same restore replaces everything
    let (live, before) = live_db(
        "UPDATE app.users SET name = NULL WHERE id % 2 = 0; DROP INDEX app.events_payload;",
    );
    let s = try_restore(
        pg(),
        &live,
        file(),
        &RestoreOptions {
            clean: true,
            jobs: 2,
            ..RestoreOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(s.ok(), "{s:?}");
    assert_same(&f.src, &live, "-c -j 2").await;
    drop_all(&[&live, &before]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_from_a_pipe_needs_one_transaction_or_replace() {
    let (live, before) = live_db("");
    let bytes = std::fs::read(&fixture().archive).unwrap();
    let err = try_restore(
        pg(),
        &live,
        Input::Reader(Box::new(std::io::Cursor::new(bytes))),
        &RestoreOptions {
            clean: true,
            jobs: 2,
            ..RestoreOptions::default()
        },
    )
    .await
    .expect_err("--clean from a pipe without -1");
    let text = err.to_string();
    assert!(
        text.contains("--single-transaction") && text.contains("--replace"),
        "{text}"
    );
    assert_same(&before, &live, "refused").await;
    drop_all(&[&live, &before]);
}

/// Runs a restore and cancels it after `delay`.
async fn cancel_after(
    db: &str,
    opts: &RestoreOptions,
    input: Input,
    delay: Duration,
) -> pgdump_core::Result<pgdump_core::RestoreSummary> {
    let token = CancellationToken::new();
    let t = token.clone();
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        t.cancel();
    });
    let started = Instant::now();
    let res = pgdump_core::restore(&cfg(pg(), db), opts, input, quiet(), token).await;
    stopper.abort();
    if res.as_ref().is_err_and(CoreError::is_cancelled) {
        // promptly: within a few seconds of the cancel, whatever it was doing
        assert!(
            started.elapsed() < delay + Duration::from_secs(8),
            "took {:?} after a cancel at {delay:?}",
            started.elapsed()
        );
    }
    res
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_at_any_point_the_target_is_unchanged() {
    let f = fixture();
    let single = RestoreOptions {
        clean: true,
        single_transaction: true,
        ..RestoreOptions::default()
    };
    for (what, opts) in [("-c -1", single), ("--replace -j 2", replace_opts(2))] {
        // how long a whole run takes (the faster of two: a loaded machine slows some
        // runs down, and a cancel after the end tests nothing)
        let mut whole = Duration::MAX;
        for _ in 0..2 {
            let (live, before) = live_db("DELETE FROM app.notes WHERE id > 10;");
            let started = Instant::now();
            let s = try_restore(pg(), &live, file(), &opts).await.unwrap();
            whole = whole.min(started.elapsed());
            assert!(s.ok(), "{what}: {s:?}");
            assert_same(&f.src, &live, what).await;
            drop_all(&[&live, &before]);
        }

        let mut stopped = 0;
        for k in 1..=6u32 {
            let delay = whole * k / 8;
            let (live, before) = live_db("DELETE FROM app.notes WHERE id > 10;");
            let res = cancel_after(&live, &opts, file(), delay).await;
            match res {
                Ok(s) => {
                    assert!(s.ok(), "{what} at {delay:?}: {s:?}");
                    assert_same(&f.src, &live, what).await;
                }
                Err(e) => {
                    assert!(e.is_cancelled(), "{what} at {delay:?}: {e}");
                    assert_eq!(*state_of(&e), TargetState::Unchanged, "{what} at {delay:?}");
                    assert_same(&before, &live, &format!("{what} cancelled at {delay:?}")).await;
                    assert_eq!(beside(&live), Vec::<String>::new(), "{what} at {delay:?}");
                    stopped += 1;
                }
            }
            drop_all(&[&live, &before]);
        }
        assert!(
            stopped >= 3,
            "{what}: only {stopped} of 6 runs were stopped by the cancel"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_clean_with_jobs_says_what_a_stop_in_the_data_phase_left() {
    let f = fixture();
    let opts = RestoreOptions {
        clean: true,
        jobs: 2,
        ..RestoreOptions::default()
    };
    for delay_ms in [50u64, 600, 1500] {
        let (live, before) = live_db("DELETE FROM app.notes WHERE id > 10;");
        let res = cancel_after(&live, &opts, file(), Duration::from_millis(delay_ms)).await;
        match res {
            Ok(_) => assert_same(&f.src, &live, "finished").await,
            Err(e) => match state_of(&e) {
                TargetState::Unchanged => {
                    assert_same(&before, &live, "stopped before the switch").await
                }
                TargetState::Changed { detail } => {
                    assert!(detail.contains("definitions replaced"), "{detail}")
                }
                other => panic!("{other:?}"),
            },
        }
        drop_all(&[&live, &before]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_stream_never_replaces_the_database() {
    let bytes = std::fs::read(&fixture().archive).unwrap();
    let (live, before) = live_db("DELETE FROM app.notes WHERE id > 10;");
    let oid = db_oid(&live);
    let len = bytes.len();
    for cut in [
        64,
        len / 20,
        len / 5,
        len * 2 / 5,
        len * 3 / 5,
        len * 4 / 5,
        len - 40,
        len - 1,
    ] {
        let input = Input::Reader(Box::new(std::io::Cursor::new(bytes[..cut].to_vec())));
        let err = try_restore(pg(), &live, input, &replace_opts(2))
            .await
            .expect_err("a cut archive must not replace the database");
        assert!(
            matches!(
                err,
                CoreError::Format(_) | CoreError::Data { .. } | CoreError::Stopped { .. }
            ),
            "cut at {cut}: {err:?}"
        );
        if let CoreError::Stopped { state, .. } = &err {
            assert_eq!(*state, TargetState::Unchanged, "cut at {cut}: {err}");
        }
        assert_eq!(db_oid(&live), oid, "cut at {cut}: the database was swapped");
        assert_eq!(beside(&live), Vec::<String>::new(), "cut at {cut}");
    }
    assert_same(&before, &live, "cut streams").await;
    // the whole stream replaces it, checked against the facts of the frames it read
    let input = Input::Reader(Box::new(std::io::Cursor::new(bytes)));
    let s = try_restore(pg(), &live, input, &replace_opts(2))
        .await
        .unwrap();
    assert!(s.ok() && s.checked >= 6, "{s:?}");
    assert_same(&fixture().src, &live, "from a pipe").await;
    // a selection would replace the database with a part of it
    let err = try_restore(
        pg(),
        &live,
        file(),
        &RestoreOptions {
            tables: vec![pgdump_core::filter::NamePattern::qualified("app.users").unwrap()],
            ..replace_opts(2)
        },
    )
    .await
    .expect_err("--replace -t");
    assert!(err.to_string().contains("-t"), "{err}");
    drop_all(&[&live, &before]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_during_replace_leaves_the_target_and_the_next_run_cleans_up() {
    // its own server: the shared one must not restart under other tests
    let own = Cluster::start(15).expect("start a PostgreSQL 15 cluster");
    let src = db_with(&own, "restart_src", SOURCE_SQL);
    let dir = crate::common::scratch();
    let archive = dir.path().join("a.pgdump");
    dump_file(
        &own,
        &src,
        &archive,
        &small_dump_opts(2, 256 << 10, Codec::None),
    )
    .await;
    let live = format!("{src}_live");
    own.execute(
        "postgres",
        &format!("CREATE DATABASE {live} TEMPLATE {src}"),
    )
    .unwrap();
    own.execute(&live, "DELETE FROM app.notes WHERE id > 10;")
        .unwrap();
    let before = format!("{src}_before");
    own.execute(
        "postgres",
        &format!("CREATE DATABASE {before} TEMPLATE {live}"),
    )
    .unwrap();
    let oid = |db: &str| {
        own.query_value(
            "postgres",
            &format!("SELECT oid FROM pg_database WHERE datname = '{db}'"),
        )
        .unwrap()
    };
    let live_oid = oid(&live);

    let run = {
        let c = cfg(&own, &live);
        let input = Input::File(archive.clone());
        tokio::spawn(async move {
            pgdump_core::restore(
                &c,
                &replace_opts(2),
                input,
                quiet(),
                CancellationToken::new(),
            )
            .await
        })
    };
    // while data loads into the new database, crash the server
    let new_like = format!("{live}\\_pgdump\\_new\\_%");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = own
            .query_value(
                "postgres",
                &format!(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE datname LIKE '{new_like}' AND query LIKE 'COPY%'"
                ),
            )
            .unwrap_or_default();
        if n != "0" {
            break;
        }
        assert!(
            Instant::now() < deadline && !run.is_finished(),
            "the replace loaded no data in time"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    own.restart_immediate().unwrap();
    let err = run
        .await
        .unwrap()
        .expect_err("a server restart stops the replace");
    assert!(
        matches!(
            state_of(&err),
            TargetState::Unchanged | TargetState::LeftOver { .. }
        ),
        "{err}"
    );
    assert_eq!(oid(&live), live_oid, "the target was swapped: {err}");
    let r = pgdump_core::compare::compare(
        &cfg(&own, &before),
        &cfg(&own, &live),
        CompareOptions::default(),
    )
    .await
    .unwrap();
    assert!(r.equivalent(), "after the restart: {}", r.render());

    // the next replace drops what the killed one left and swaps
    let s = pgdump_core::restore(
        &cfg(&own, &live),
        &replace_opts(2),
        Input::File(archive.clone()),
        quiet(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(s.ok(), "{s:?}");
    let left = own
        .query_value(
            "postgres",
            &format!("SELECT count(*) FROM pg_database WHERE datname LIKE '{new_like}'"),
        )
        .unwrap();
    assert_eq!(left, "0", "a new database is still left over: {s:?}");
    // (compared with a plain restore of the archive: the crash moved the source's
    // sequences on, as crash recovery does)
    let fresh = own.create_db("restart_fresh").unwrap();
    let plain = pgdump_core::restore(
        &cfg(&own, &fresh),
        &RestoreOptions::default(),
        Input::File(archive.clone()),
        quiet(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(plain.ok(), "{plain:?}");
    let r = pgdump_core::compare::compare(
        &cfg(&own, &fresh),
        &cfg(&own, &live),
        CompareOptions::default(),
    )
    .await
    .unwrap();
    assert!(r.equivalent(), "after the second replace: {}", r.render());
    assert!(s.previous.is_some(), "{s:?}");
}

/// What a client sees of the target in one snapshot: row counts of three tables.
type Seen = (i64, i64, i64);

async fn observe(pg: &Cluster, db: &str) -> Result<Seen, String> {
    let c = pg.connect(db).await.map_err(|e| format!("{e:#}"))?;
    let rows = c
        .query(
            "SELECT (SELECT count(*) FROM app.users), (SELECT count(*) FROM app.orders), \
                    (SELECT count(*) FROM app.settings)",
            &[],
        )
        .await
        .map_err(|e| format!("query: {e}"))?;
    Ok((rows[0].get(0), rows[0].get(1), rows[0].get(2)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replace_while_clients_keep_connecting_shows_them_old_or_new_never_partial() {
    let f = fixture();
    // PGDUMP_TEST_REPLACE_MB=1024: the same with a table of that size added (by hand,
    // for measurements; prints the time of a plain restore beside the replace's)
    let mb: u64 = std::env::var("PGDUMP_TEST_REPLACE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let dir = crate::common::scratch();
    let (src, tpl, archive) = if mb == 0 {
        (f.src.clone(), f.tpl.clone(), f.archive.clone())
    } else {
        let src = copy_of(&f.tpl);
        pg().execute(
            &src,
            &format!(
                "CREATE TABLE app.bulk (id bigint PRIMARY KEY, payload text); \
                 INSERT INTO app.bulk SELECT g, repeat(md5(g::text), 30) \
                 FROM generate_series(1, {}) g;",
                mb * 1000
            ),
        )
        .unwrap();
        let tpl = copy_of(&src);
        let archive = dir.path().join("big.pgdump");
        dump_file(
            pg(),
            &src,
            &archive,
            &small_dump_opts(4, 4 << 20, Codec::Zstd { level: 1 }),
        )
        .await;
        let plain = pg().create_db("safe_plain").unwrap();
        let started = Instant::now();
        let s = try_restore(
            pg(),
            &plain,
            Input::File(archive.clone()),
            &RestoreOptions {
                jobs: 4,
                ..RestoreOptions::default()
            },
        )
        .await
        .unwrap();
        assert!(s.ok());
        eprintln!("plain restore -j 4 of {mb} MB: {:?}", started.elapsed());
        pg().drop_db(&plain).unwrap();
        (src, tpl, archive)
    };
    let live = copy_of(&tpl);
    pg().execute(&live, "DELETE FROM app.settings WHERE k = 'b';")
        .unwrap();
    let before = copy_of(&live);
    let old: Seen = (20000, 120000, 1);
    let new: Seen = (20000, 120000, 2);
    assert_eq!(observe(pg(), &live).await, Ok(old));

    let stop = CancellationToken::new();
    let counts = Arc::new([(); 4].map(|()| AtomicU64::new(0))); // old, new, bad, errors
    let bad = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (stop, counts, bad, live) = (stop.clone(), counts.clone(), bad.clone(), live.clone());
        clients.push(tokio::spawn(async move {
            while !stop.is_cancelled() {
                match observe(pg(), &live).await {
                    Ok(s) if s == old => counts[0].fetch_add(1, Ordering::Relaxed),
                    Ok(s) if s == new => counts[1].fetch_add(1, Ordering::Relaxed),
                    Ok(s) => {
                        bad.lock().unwrap().push(format!("{s:?}"));
                        counts[2].fetch_add(1, Ordering::Relaxed)
                    }
                    // cut by the swap, or refused while it runs: allowed
                    Err(_) => counts[3].fetch_add(1, Ordering::Relaxed),
                };
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    let started = Instant::now();
    let s = try_restore(pg(), &live, Input::File(archive.clone()), &replace_opts(4))
        .await
        .unwrap();
    if mb > 0 {
        eprintln!(
            "--replace -j 4 of {mb} MB under load: {:?} (check of {} objects {:?}, swap {:?})",
            started.elapsed(),
            s.checked,
            s.check_time,
            s.swap_time,
        );
    }
    // a little longer, to see the new database
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.cancel();
    for c in clients {
        c.await.unwrap();
    }
    let [o, n, b, e] = [0, 1, 2, 3].map(|i| counts[i].load(Ordering::Relaxed));
    assert_eq!(
        b,
        0,
        "clients saw a partial database: {:?}",
        bad.lock().unwrap()
    );
    assert!(o > 0 && n > 0, "old {o}, new {n}, errors {e}");
    assert!(s.ok(), "{s:?}");
    assert!(
        s.swap_time.is_some_and(|t| t < Duration::from_secs(10)),
        "{s:?}"
    );
    assert!(s.checked >= 6, "{s:?}");
    assert_same(&src, &live, "replaced under load").await;
    // the previous database is kept aside, intact
    let prev = s.previous.clone().expect("a previous copy is kept");
    assert_same(&before, &prev, "the previous copy").await;
    drop_all(&[&live, &before]);
    if mb > 0 {
        drop_all(&[&src, &tpl]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safety_backup_is_verified_before_anything_changes() {
    let f = fixture();
    let dir = crate::common::scratch();
    // in place: the backup holds the database as it was
    let (live, before) = live_db("DELETE FROM app.events WHERE id > 100000;");
    let backup = dir.path().join("safety.pgdump");
    let s = try_restore(
        pg(),
        &live,
        file(),
        &RestoreOptions {
            clean: true,
            jobs: 2,
            safety_backup: Some(backup.clone()),
            ..RestoreOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(s.safety_backup.as_deref(), Some(backup.as_path()));
    assert_same(&f.src, &live, "after --clean").await;
    let from_backup = pg().create_db("safety_check").unwrap();
    let r = try_restore(
        pg(),
        &from_backup,
        Input::File(backup.clone()),
        &RestoreOptions::default(),
    )
    .await
    .unwrap();
    assert!(r.ok(), "{r:?}");
    assert_same(&before, &from_backup, "the safety backup").await;
    drop_all(&[&live, &before, &from_backup]);

    // a backup that cannot be written: nothing is touched
    let (live, before) = live_db("DELETE FROM app.events WHERE id > 100000;");
    let oid = db_oid(&live);
    for opts in [
        RestoreOptions {
            safety_backup: Some(PathBuf::from("/nonexistent-dir/safety.pgdump")),
            ..replace_opts(2)
        },
        RestoreOptions {
            clean: true,
            single_transaction: true,
            safety_backup: Some(PathBuf::from("/nonexistent-dir/safety.pgdump")),
            ..RestoreOptions::default()
        },
    ] {
        let err = try_restore(pg(), &live, file(), &opts)
            .await
            .expect_err("no safety backup, no restore");
        assert_eq!(*state_of(&err), TargetState::Unchanged, "{err}");
        assert!(err.to_string().contains("safety backup"), "{err}");
        assert_eq!(db_oid(&live), oid);
        assert_eq!(beside(&live), Vec::<String>::new());
    }
    assert_same(&before, &live, "failed safety backups").await;
    drop_all(&[&live, &before]);
}

/// The properties of a database a swap must carry: owner, ACL, connection limit,
/// comment, and its own and its roles' settings.
fn properties(db: &str) -> Vec<Vec<Option<String>>> {
    pg().query(
        "postgres",
        &format!(
            "SELECT pg_get_userbyid(d.datdba), d.datacl::text, d.datconnlimit::text, \
                    shobj_description(d.oid, 'pg_database'), \
                    (SELECT string_agg(coalesce(pg_get_userbyid(s.setrole), '-') || ':' || \
                                       array_to_string(s.setconfig, ','), ';' ORDER BY s.setrole) \
                     FROM pg_db_role_setting s WHERE s.setdatabase = d.oid) \
             FROM pg_database d WHERE d.datname = '{db}'"
        ),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_carries_the_database_properties_and_keeps_previous_copies() {
    let f = fixture();
    let pid = std::process::id();
    let (owner, reader) = (format!("safe_owner_{pid}"), format!("safe_reader_{pid}"));
    create_role(&owner, "LOGIN CREATEDB");
    create_role(&reader, "LOGIN");
    let (live, before) = live_db("");
    pg().execute(
        "postgres",
        &format!(
            "ALTER DATABASE {live} OWNER TO {owner}; \
             ALTER DATABASE {live} SET work_mem = '8MB'; \
             ALTER DATABASE {live} SET search_path = app, \"$user\", public; \
             ALTER DATABASE {live} CONNECTION LIMIT 50; \
             COMMENT ON DATABASE {live} IS 'production'; \
             REVOKE ALL ON DATABASE {live} FROM PUBLIC; \
             GRANT CONNECT ON DATABASE {live} TO {reader}; \
             ALTER ROLE {reader} IN DATABASE {live} SET statement_timeout = '5s';"
        ),
    )
    .unwrap();
    let props = properties(&live);
    for (round, keep) in [(1, 1usize), (2, 1), (3, 2), (4, 0)] {
        let opts = RestoreOptions {
            replace: ReplaceOptions {
                keep_previous: keep,
                ..replace_opts(2).replace
            },
            ..replace_opts(2)
        };
        let s = try_restore(pg(), &live, file(), &opts).await.unwrap();
        assert!(s.ok(), "round {round}: {s:?}");
        assert_eq!(
            properties(&live),
            props,
            "round {round}: properties not carried"
        );
        let prev: Vec<String> = beside(&live)
            .into_iter()
            .filter(|d| d.contains("_pgdump_prev_"))
            .collect();
        assert_eq!(prev.len(), keep.min(round), "round {round}: {prev:?}");
        assert_eq!(s.previous.is_some(), keep > 0, "round {round}: {s:?}");
    }
    assert_same(&f.src, &live, "replaced four times").await;
    drop_all(&[&live, &before]);
}

/// A role of this test process (kept for the cluster's life, as other tests' roles).
fn create_role(name: &str, attributes: &str) {
    pg().execute(
        "postgres",
        &format!(
            "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN \
             CREATE ROLE {name} {attributes}; END IF; END$$"
        ),
    )
    .unwrap();
}

/// Connection settings of `db` as `role`.
fn as_role(db: &str, role: &str) -> pgdump_core::ConnConfig {
    pgdump_core::ConnConfig::parse(&pg().url(db).replacen("postgres@", &format!("{role}@"), 1))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_without_the_privileges_are_told_before_anything_changes() {
    let f = fixture();
    let pid = std::process::id();
    let (owner, plain) = (format!("safe_dbowner_{pid}"), format!("safe_plain_{pid}"));
    create_role(&owner, "LOGIN CREATEDB");
    create_role(&plain, "LOGIN");
    // a role that owns the database but cannot create databases cannot replace it
    let (live, before) = live_db("");
    pg().execute(
        "postgres",
        &format!("ALTER DATABASE {live} OWNER TO {plain}"),
    )
    .unwrap();
    let err = pgdump_core::restore(
        &as_role(&live, &plain),
        &RestoreOptions {
            no_owner: true,
            ..replace_opts(1)
        },
        file(),
        quiet(),
        CancellationToken::new(),
    )
    .await
    .expect_err("no CREATEDB");
    assert!(err.to_string().contains("CREATEDB"), "{err}");
    assert_eq!(beside(&live), Vec::<String>::new());
    // a non-superuser restore that would give objects to other roles: one message
    let empty = pg().create_db("safe_nonsuper").unwrap();
    pg().execute(
        "postgres",
        &format!("ALTER DATABASE {empty} OWNER TO {owner}"),
    )
    .unwrap();
    pg().execute(&empty, &format!("ALTER SCHEMA public OWNER TO {owner}"))
        .unwrap();
    let err = pgdump_core::restore(
        &as_role(&empty, &owner),
        &RestoreOptions::default(),
        file(),
        quiet(),
        CancellationToken::new(),
    )
    .await
    .expect_err("ownership cannot be restored");
    let text = err.to_string();
    assert!(
        text.contains("--no-owner") && text.contains("postgres"),
        "{text}"
    );
    assert_eq!(
        value(
            pg(),
            &empty,
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        ),
        "0"
    );
    // with --no-owner, the owner of the database can replace it
    pg().execute(
        "postgres",
        &format!("ALTER DATABASE {live} OWNER TO {owner}"),
    )
    .unwrap();
    let s = pgdump_core::restore(
        &as_role(&live, &owner),
        &RestoreOptions {
            no_owner: true,
            no_privileges: true,
            ..replace_opts(2)
        },
        file(),
        quiet(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(s.ok(), "{s:?}");
    let r = compare_dbs(
        pg(),
        &f.src,
        &live,
        CompareOptions {
            ignore: pgdump_core::compare::Ignore {
                owner: true,
                acl: true,
            },
            ..CompareOptions::default()
        },
    )
    .await;
    assert!(r.equivalent(), "{}", r.render());
    drop_all(&[&live, &before, &empty]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_stops_the_restore_once_and_undoes_it() {
    let empty = pg().create_db("safe_lost").unwrap();
    let run = {
        let c = cfg(pg(), &empty);
        tokio::spawn(async move {
            pgdump_core::restore(
                &c,
                &RestoreOptions {
                    jobs: 2,
                    ..RestoreOptions::default()
                },
                file(),
                quiet(),
                CancellationToken::new(),
            )
            .await
        })
    };
    // once data is loading, end the restore's sessions
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = value(
            pg(),
            &empty,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND query LIKE 'COPY%' AND pid <> pg_backend_pid()",
        );
        if n != "0" {
            break;
        }
        assert!(Instant::now() < deadline, "the restore never loaded data");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    pg().execute(
        "postgres",
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{empty}' AND application_name = 'pgdump'"
        ),
    )
    .unwrap();
    let err = run.await.unwrap().expect_err("the connection was cut");
    assert!(err.is_connection_lost(), "{err:?}");
    assert!(
        matches!(state_of(&err), TargetState::Undone { .. }),
        "{err}"
    );
    // one message, not one per remaining item
    assert!(err.to_string().lines().count() <= 3, "{err}");
    assert_eq!(
        crate::common::user_objects(pg(), &empty),
        Vec::<String>::new()
    );
    drop_all(&[&empty]);
}
