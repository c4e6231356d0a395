//! Tests of the test harness itself: clusters of several majors, fixtures, the sandbox.
//! Nothing here is skipped: a missing server is a failure that names the script to run.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use pgdump_tests::{binaries, fixture, fixture_db, psql, shared_cluster, Cluster, Fixture};

/// The majors `.ci/run` fetches besides Debian's 15 (keep in sync with PG_MAJORS there).
const NPM_MAJORS: [u32; 4] = [10, 13, 17, 18];

#[test]
fn debian_15_starts_and_answers() {
    let pg = Cluster::start(15).expect("start PostgreSQL 15");
    assert!(pg.server_version_num().unwrap() / 10000 == 15);
    let dir = pg.dir().to_path_buf();
    let rows = pg.query("postgres", "SELECT 1 + 1, current_user").unwrap();
    assert_eq!(
        rows,
        vec![vec![Some("2".to_string()), Some("postgres".to_string())]]
    );
    assert!(pg.url("x").starts_with("postgresql://postgres@127.0.0.1:"));
    assert!(pg.server_log().contains("database system is ready"));
    // dropping stops the server and removes the directory
    let port = pg.port();
    drop(pg);
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn npm_majors_report_their_version() {
    for major in NPM_MAJORS {
        let pg = shared_cluster(major);
        let num = pg.server_version_num().unwrap();
        assert_eq!(num / 10000, major, "server_version_num {num}");
        assert!(
            pg.bin_dir().starts_with(binaries::cache_dir())
                || std::env::var_os(format!("PGDUMP_PG{major}_BIN")).is_some()
        );
    }
}

#[test]
fn shared_cluster_is_shared() {
    let a = shared_cluster(15);
    let b = shared_cluster(15);
    assert!(std::ptr::eq(a, b));
}

#[tokio::test]
async fn async_connect_and_databases() {
    let pg = shared_cluster(15);
    let db = pg.create_db("Harness/Async").unwrap();
    assert!(db.starts_with("harness_async_"));
    let client = pg.connect(&db).await.unwrap();
    client
        .batch_execute("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 10)")
        .await
        .unwrap();
    let n: i64 = client
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 10);
    // sync helpers work inside a runtime too
    assert_eq!(pg.count_rows(&db, "t").unwrap(), 10);
    // drop_db disconnects the open session
    pg.drop_db(&db).unwrap();
    let exists = pg
        .query_value(
            "postgres",
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
        )
        .unwrap();
    assert_eq!(exists, "0");
    assert!(client.simple_query("SELECT 1").await.is_err());
}

#[test]
fn psql_helper_and_server_log() {
    let pg = shared_cluster(15);
    let db = pg.create_db("psql").unwrap();
    let out = psql(pg, &db, "SELECT 'a' AS x UNION ALL SELECT 'b' ORDER BY 1;").unwrap();
    assert_eq!(out, "a\nb\n");
    let offset = pg.server_log_len();
    let err = psql(pg, &db, "SELECT * FROM no_such_table;").unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("no_such_table"), "{msg}");
    let logged = pg.server_log_since(offset);
    assert!(
        logged.contains("relation \"no_such_table\" does not exist"),
        "{logged}"
    );
}

#[test]
fn missing_server_names_the_fetch_script() {
    let empty = tempfile::tempdir().unwrap();
    let err = binaries::locate_server(12, None, empty.path()).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("scripts/fetch-postgres 12"), "{msg}");
    let err =
        binaries::locate_server(12, Some(Path::new("/nonexistent")), empty.path()).unwrap_err();
    assert!(format!("{err:#}").contains("PGDUMP_PG12_BIN"));
    assert!(binaries::locate_server(9, None, empty.path()).is_err());
}

#[test]
fn reference_client_runs() {
    let pg_dump = pgdump_tests::pg_dump_path().unwrap();
    let v = binaries::program_version(&pg_dump).unwrap();
    assert!(v.starts_with("pg_dump (PostgreSQL) 18."), "{v}");
    for tool in ["pg_restore", "psql", "pgbench"] {
        let path = pgdump_tests::client_bin(tool).unwrap();
        binaries::program_version(&path).unwrap();
    }
}

/// Row counts of each fixture (from the fixtures' SOURCE notes).
fn check_counts(pg: &Cluster, db: &str, fx: Fixture) {
    let expect: &[(&str, u64)] = match fx {
        Fixture::Coverage => &[
            ("cov_bulk.readings", 1_000_000),
            ("cov_part.measurements", 1200),
            ("cov_part.events", 1000),
            ("cov_types.all_types", 6),
        ],
        Fixture::Pagila => &[
            ("public.rental", 16044),
            ("public.payment", 16049),
            ("public.film", 1000),
        ],
        Fixture::Chinook | Fixture::ChinookAutoInc => &[
            ("public.track", 3503),
            ("public.playlist_track", 8715),
            ("public.invoice_line", 2240),
        ],
        Fixture::Northwind => &[("public.order_details", 2155), ("public.orders", 830)],
    };
    for (table, rows) in expect {
        assert_eq!(
            pg.count_rows(db, table).unwrap(),
            *rows,
            "{fx} on PostgreSQL {}: {table}",
            pg.major()
        );
    }
    if fx == Fixture::Coverage {
        let lobs = pg
            .query_value(db, "SELECT count(*) FROM pg_largeobject_metadata")
            .unwrap();
        assert_eq!(lobs, "3");
    }
    if fx == Fixture::ChinookAutoInc {
        let last = pg
            .query_value(db, "SELECT last_value FROM public.track_track_id_seq")
            .unwrap();
        assert_eq!(last, "3503");
    }
}

#[test]
fn coverage_on_15() {
    let (pg, db) = fixture(15, Fixture::Coverage);
    check_counts(pg, &db, Fixture::Coverage);
    // Debian's 15 has lz4 and gets the original script with its lz4 column; a build
    // without lz4 (PGDUMP_PG15_BIN=npm build) gets coverage-nolz4.sql (pglz)
    let method = pg
        .query_value(
            &db,
            "SELECT attcompression FROM pg_attribute \
             WHERE attrelid = 'cov_types.big_values'::regclass AND attname = 't_lz4'",
        )
        .unwrap();
    let has_lz4 = pgdump_tests::fixtures::server_has_lz4(pg).unwrap();
    assert_eq!(method, if has_lz4 { "l" } else { "p" });
}

#[test]
fn pagila_on_15() {
    let (pg, db) = fixture(15, Fixture::Pagila);
    check_counts(pg, &db, Fixture::Pagila);
}

#[test]
fn chinook_on_15() {
    let (pg, db) = fixture(15, Fixture::Chinook);
    check_counts(pg, &db, Fixture::Chinook);
}

#[test]
fn chinook_autoinc_on_15() {
    let (pg, db) = fixture(15, Fixture::ChinookAutoInc);
    check_counts(pg, &db, Fixture::ChinookAutoInc);
}

#[test]
fn northwind_on_15() {
    let (pg, db) = fixture(15, Fixture::Northwind);
    check_counts(pg, &db, Fixture::Northwind);
}

#[test]
fn fixture_db_is_loaded_once() {
    let first = fixture_db(15, Fixture::Chinook);
    let started = Instant::now();
    let again = fixture_db(15, Fixture::Chinook);
    assert_eq!(first, again);
    assert!(started.elapsed() < Duration::from_millis(100));
}

#[test]
fn coverage_on_10() {
    let (pg, db) = fixture(10, Fixture::Coverage);
    check_counts(pg, &db, Fixture::Coverage);
}

#[test]
fn coverage_on_13() {
    let (pg, db) = fixture(13, Fixture::Coverage);
    check_counts(pg, &db, Fixture::Coverage);
}

#[test]
fn coverage_on_18() {
    let (pg, db) = fixture(18, Fixture::Coverage);
    check_counts(pg, &db, Fixture::Coverage);
}

#[test]
fn small_fixtures_on_npm_majors() {
    for major in NPM_MAJORS {
        for fx in [
            Fixture::Pagila,
            Fixture::Chinook,
            Fixture::ChinookAutoInc,
            Fixture::Northwind,
        ] {
            let (pg, db) = fixture(major, fx);
            check_counts(pg, &db, fx);
        }
    }
}

fn sandbox() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pgdump-sandbox"))
}

#[test]
fn sandbox_runs_a_command_and_cleans_up() {
    let out = sandbox()
        .args(["run", "--major", "17", "--fixture", "chinook", "--", "sh", "-c"])
        .arg(
            "psql -X -At -d \"$PGDUMP_SANDBOX_URL\" -c 'SELECT count(*) FROM track' && \
             test \"$PGUSER\" = postgres && test -n \"$PGPORT\" && test \"$PGDATABASE\" = chinook && \
             test -f \"$PGDUMP_SANDBOX_CLUSTER_DIR/server.log\" && \
             echo \"$PGDUMP_SANDBOX_CLUSTER_DIR\" && exit 7",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(7),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("3503"));
    let dir = Path::new(lines.next().unwrap());
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(stderr.contains("cluster stopped and removed"), "{stderr}");
}

#[test]
fn killed_sandbox_leaves_no_server() {
    let tmp = tempfile::tempdir().unwrap();
    let info = tmp.path().join("info");
    let mut child = sandbox()
        .args(["run", "--major", "15", "--", "sh", "-c"])
        .arg(format!(
            "echo \"$$ $PGDUMP_SANDBOX_CLUSTER_DIR\" > {0}.tmp && mv {0}.tmp {0}; exec sleep 120",
            info.display()
        ))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        if let Ok(text) = std::fs::read_to_string(&info) {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "the sandbox never ran its command"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let (sleeper, dir) = text.trim().split_once(' ').unwrap();
    let dir = Path::new(dir);
    let postmaster = std::fs::read_to_string(dir.join("data/postmaster.pid")).unwrap();
    let postmaster = postmaster.lines().next().unwrap().to_string();
    assert!(Path::new(&format!("/proc/{postmaster}")).exists());

    child.kill().unwrap(); // SIGKILL: no destructor, no atexit: the reaper must do it
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while dir.exists() || Path::new(&format!("/proc/{postmaster}")).exists() {
        assert!(
            Instant::now() < deadline,
            "cluster {} outlived its sandbox",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    pgdump_tests::send_signal(sleeper.parse().unwrap(), libc::SIGKILL);
}

#[test]
fn stale_clusters_are_swept() {
    let base = pgdump_tests::lifecycle::clusters_base().unwrap();
    let stale = base.join(format!("stale-test-{}", std::process::id()));
    std::fs::create_dir_all(stale.join("data")).unwrap();
    // a pid that has exited, so no live process has this pid and start time
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    std::fs::write(stale.join("owner"), format!("{pid} 1\n")).unwrap();
    pgdump_tests::cleanup_stale_clusters().unwrap();
    assert!(!stale.exists());
}
