//! Dump output safety (issue 3): a file is written atomically — a dump that fails or is
//! cancelled midway leaves neither the archive nor a temporary file; a stream output
//! (pipe, stdout) of a failed or cancelled dump is never sealed, so every reader rejects it.
//! Failures are provoked while the data is being copied: the dump's backend is
//! terminated from another connection, the output pipe breaks, or the dump is cancelled.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use pgdump_core::progress::{Event, Observer};
use pgdump_core::{CancellationToken, ConnConfig, CoreError, DumpOptions, Output};
use pgdump_format::{ArchiveReader, Codec, FormatError, StreamReader};
use pgdump_tests::{shared_cluster, Cluster};

use crate::common::{db_with, small_dump_opts};

/// A table of about 12 MB, so its COPY is still running when the first frames are out.
const SOURCE_SQL: &str = "
CREATE TABLE public.big (id int PRIMARY KEY, payload text NOT NULL);
INSERT INTO public.big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 120000) g;
CREATE TABLE public.small (id int PRIMARY KEY);
INSERT INTO public.small SELECT generate_series(1, 100);
";

fn pg() -> &'static Cluster {
    shared_cluster(15)
}

fn source() -> &'static str {
    static DB: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DB.get_or_init(|| db_with(pg(), "dump_output_src", SOURCE_SQL))
}

/// Leader-only dumps with small frames: the data phase spans many frames.
fn opts() -> DumpOptions {
    small_dump_opts(1, 64 << 10, Codec::Zstd { level: 1 })
}

/// What to do when the data starts flowing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sabotage {
    /// `pg_terminate_backend` of the connection running the COPY.
    Terminate,
    /// Cancel the dump's token.
    Cancel,
}

/// An observer that sabotages the dump at the third chunk of data, once.
struct Saboteur {
    how: Sabotage,
    /// The `application_name` of the dump's connections.
    app: String,
    cancel: CancellationToken,
    chunks: AtomicUsize,
    fired: AtomicBool,
    /// A directory whose listing is taken at that moment (file outputs).
    dir: Option<std::path::PathBuf>,
    seen_in_dir: Mutex<Vec<String>>,
}

impl Saboteur {
    fn new(how: Sabotage, app: &str, cancel: &CancellationToken, dir: Option<&Path>) -> Arc<Self> {
        Arc::new(Saboteur {
            how,
            app: app.to_string(),
            cancel: cancel.clone(),
            chunks: AtomicUsize::new(0),
            fired: AtomicBool::new(false),
            dir: dir.map(Path::to_path_buf),
            seen_in_dir: Mutex::new(Vec::new()),
        })
    }
}

impl Observer for Saboteur {
    fn event(&self, event: &Event) {
        if !matches!(event, Event::Data { .. }) || self.chunks.fetch_add(1, Ordering::SeqCst) != 2 {
            return;
        }
        if let Some(dir) = &self.dir {
            *self.seen_in_dir.lock().unwrap() = listing(dir);
        }
        match self.how {
            Sabotage::Cancel => self.cancel.cancel(),
            Sabotage::Terminate => {
                // the dump waits here (this runs on its worker) until its backend is gone
                let n = pg()
                    .query_value(
                        "postgres",
                        &format!(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                             WHERE application_name = '{}' AND query LIKE 'COPY %'",
                            self.app
                        ),
                    )
                    .unwrap();
                assert_eq!(n, "1", "no COPY to terminate");
            }
        }
        self.fired.store(true, Ordering::SeqCst);
    }
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Bytes written to a pipe-like output, shared with the test.
#[derive(Clone, Default)]
struct Sink {
    bytes: Arc<Mutex<Vec<u8>>>,
    /// Fail every write once this many bytes went through (a reader that went away).
    break_after: Option<usize>,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut b = self.bytes.lock().unwrap();
        if self.break_after.is_some_and(|n| b.len() >= n) {
            return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        }
        b.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Both readers reject `bytes` as an archive that was never sealed.
fn assert_unsealed(what: &str, bytes: &[u8]) {
    assert!(
        bytes.len() > 4096,
        "{what}: only {} bytes came out: the test did not reach the data phase",
        bytes.len()
    );
    match ArchiveReader::open(bytes) {
        Ok(r) => panic!(
            "{what}: the output of a failed dump opens as a sealed archive ({} frames)",
            r.frame_entries().len()
        ),
        Err(e) => assert!(
            matches!(e, FormatError::Unsealed | FormatError::Truncated { .. }),
            "{what}: {e}"
        ),
    }
    let mut s = StreamReader::new(bytes).unwrap_or_else(|e| panic!("{what}: no TOC: {e}"));
    let end = loop {
        match s.next_frame() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("{what}: the stream reader accepted the output of a failed dump"),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(end, FormatError::Unsealed | FormatError::Truncated { .. }),
        "{what}: {end}"
    );
}

/// Connection settings with an `application_name` of their own (tests run in parallel).
fn conn(db: &str, app: &str) -> ConnConfig {
    ConnConfig::parse(&format!("{}?application_name={app}", pg().url(db))).unwrap()
}

async fn run_dump(
    db: &str,
    app: &str,
    output: Output,
    observer: Arc<Saboteur>,
    cancel: CancellationToken,
) -> Result<pgdump_core::DumpSummary, CoreError> {
    pgdump_core::dump(&conn(db, app), &opts(), output, observer, cancel).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_output_is_atomic_when_the_dump_fails_or_is_cancelled() {
    let db = source();
    for how in [Sabotage::Terminate, Sabotage::Cancel] {
        let dir = crate::common::scratch();
        let dest = dir.path().join("out.pgdump");
        let cancel = CancellationToken::new();
        let app = format!("file_{how:?}");
        let sab = Saboteur::new(how, &app, &cancel, Some(dir.path()));
        let res = run_dump(db, &app, Output::File(dest.clone()), sab.clone(), cancel).await;
        assert!(sab.fired.load(Ordering::SeqCst), "{how:?}: never sabotaged");
        let err = res.expect_err("the dump succeeded").to_string();
        match how {
            // the server's FATAL, or just the closed connection when that arrives first
            Sabotage::Terminate => assert!(
                err.contains("COPY public.big")
                    && (err.contains("terminat") || err.contains("connection closed")),
                "{how:?}: {err}"
            ),
            Sabotage::Cancel => assert!(err.contains("cancelled"), "{how:?}: {err}"),
        }
        // the temporary file existed while the dump ran, in the destination's directory
        let seen = sab.seen_in_dir.lock().unwrap().clone();
        assert!(
            seen.len() == 1 && seen[0].starts_with(".out.pgdump.tmp"),
            "{how:?}: while dumping the directory held {seen:?}"
        );
        assert_eq!(listing(dir.path()), Vec::<String>::new(), "{how:?}");
    }
    // and the undisturbed dump leaves exactly the archive
    let dir = crate::common::scratch();
    let dest = dir.path().join("out.pgdump");
    let s = crate::common::try_dump(pg(), db, Output::File(dest.clone()), &opts())
        .await
        .unwrap();
    assert_eq!(s.path.as_deref(), Some(dest.as_path()));
    assert_eq!(listing(dir.path()), vec!["out.pgdump".to_string()]);
    ArchiveReader::open(std::fs::File::open(&dest).unwrap())
        .unwrap()
        .verify_all()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_output_of_a_failed_or_cancelled_dump_is_never_sealed() {
    let db = source();
    for how in [Sabotage::Terminate, Sabotage::Cancel] {
        let sink = Sink::default();
        let cancel = CancellationToken::new();
        let app = format!("stream_{how:?}");
        let sab = Saboteur::new(how, &app, &cancel, None);
        let res = run_dump(
            db,
            &app,
            Output::Writer(Box::new(sink.clone())),
            sab.clone(),
            cancel,
        )
        .await;
        assert!(sab.fired.load(Ordering::SeqCst), "{how:?}: never sabotaged");
        assert!(res.is_err(), "{how:?}: the dump succeeded");
        assert_unsealed(&format!("{how:?}"), &sink.bytes.lock().unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_pipe_fails_the_dump() {
    let db = source();
    let sink = Sink {
        break_after: Some(512 << 10),
        ..Sink::default()
    };
    let res = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        crate::common::try_dump(pg(), db, Output::Writer(Box::new(sink.clone())), &opts()),
    )
    .await
    .expect("the dump hangs on a broken pipe");
    let err = res
        .expect_err("a dump into a broken pipe succeeded")
        .to_string();
    assert!(err.to_lowercase().contains("broken pipe"), "{err}");
    assert_unsealed("broken pipe", &sink.bytes.lock().unwrap());
}

/// A table locked by another session: `--lock-wait-timeout` makes the dump give up
/// (naming what it was doing) instead of waiting, and leaves no file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_wait_timeout_gives_up_on_a_locked_table() {
    let pg = pg();
    let db = db_with(
        pg,
        "dump_locked",
        "CREATE TABLE t (id int); INSERT INTO t VALUES (1);",
    );
    let holder = pg.connect(&db).await.unwrap();
    holder
        .batch_execute("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let dir = crate::common::scratch();
    let opts = DumpOptions {
        lock_wait_timeout: Some(std::time::Duration::from_millis(300)),
        ..opts()
    };
    let started = std::time::Instant::now();
    let res = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        crate::common::try_dump(pg, &db, Output::File(dir.path().join("x.pgdump")), &opts),
    )
    .await
    .expect("the dump waited for the lock");
    let err = res
        .expect_err("dumped a table locked ACCESS EXCLUSIVE")
        .to_string();
    assert!(err.contains("lock"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(listing(dir.path()), Vec::<String>::new());
    holder.batch_execute("ROLLBACK").await.unwrap();
    // once the lock is gone the same dump works
    crate::common::try_dump(pg, &db, Output::File(dir.path().join("x.pgdump")), &opts)
        .await
        .unwrap();
    pg.drop_db(&db).unwrap();
}

/// Binary COPY streams are written column by column (format 1.1, required feature bit
/// 0); a dump with only text COPY streams stays a 1.0 archive without feature bits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_copy_frames_are_columnar() {
    let db = source();
    let dir = crate::common::scratch();
    for force_text in [false, true] {
        let path = dir.path().join(format!("columnar-{force_text}.pgdump"));
        let mut o = opts();
        o.force_text = force_text;
        pgdump_core::dump(
            &conn(db, "dump_output_columnar"),
            &o,
            Output::File(path.clone()),
            pgdump_core::progress::quiet(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
        let r = ArchiveReader::open(std::fs::File::open(&path).unwrap()).unwrap();
        let columnar = r
            .frame_entries()
            .iter()
            .filter_map(|e| {
                let loc = r.frames(e.stream).iter().find(|l| l.seq == e.seq)?;
                Some(r.read_raw_frame(loc).unwrap().transform())
            })
            .filter(|t| *t == pgdump_format::Transform::ColumnarCopy)
            .count();
        let bit = r.header().required_features & pgdump_format::FEATURE_COLUMNAR_COPY;
        if force_text {
            assert_eq!((columnar, bit), (0, 0), "text COPY only");
            assert_eq!(r.header().version, pgdump_format::FORMAT_VERSION_1_0);
        } else {
            assert!(
                columnar > 10,
                "binary frames of public.big: {columnar} columnar"
            );
            assert_eq!(bit, pgdump_format::FEATURE_COLUMNAR_COPY);
        }
        r.verify_all().unwrap();
    }
}

/// Queues an ACCESS EXCLUSIVE lock request on every table once the dump's data phase
/// starts (the leader holds its ACCESS SHARE locks by then), from one session per
/// table, and waits until all of them are queued.
struct QueueLocks {
    db: String,
    tables: usize,
    lockers: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Observer for QueueLocks {
    fn event(&self, event: &Event) {
        if !matches!(event, Event::Phase { name: "data" }) {
            return;
        }
        let mut lockers = self.lockers.lock().unwrap();
        for i in 1..=self.tables {
            let db = self.db.clone();
            lockers.push(std::thread::spawn(move || {
                // waits until the dump ends (its transaction releases the tables)
                let _ = pg().execute(
                    &db,
                    &format!("BEGIN; LOCK TABLE t{i} IN ACCESS EXCLUSIVE MODE; COMMIT"),
                );
            }));
        }
        let db = self.db.clone();
        let want = self.tables.to_string();
        std::thread::spawn(move || loop {
            let waiting = pg()
                .query_value(
                    "postgres",
                    &format!(
                        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
                         WHERE d.datname = '{db}' AND NOT l.granted AND l.mode = 'AccessExclusiveLock'"
                    ),
                )
                .unwrap();
            if waiting == want {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        })
        .join()
        .unwrap();
    }
}

/// Small tables are COPYed several at a time on one connection, their statements
/// pipelined. When a worker's LOCK ... NOWAIT fails in such a batch (a lock request
/// queued behind the dump's own), the dump fails naming the table it could not lock,
/// not with the "transaction is aborted" errors of the statements after it, and
/// leaves no file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_exclusive_lock_fails_a_pipelined_batch_with_its_own_error() {
    let pg = pg();
    let tables = 24;
    let sql: String = (1..=tables)
        .map(|i| format!("CREATE TABLE t{i} (id int PRIMARY KEY); INSERT INTO t{i} VALUES (1);"))
        .collect();
    let db = db_with(pg, "dump_pipelined_lock", &sql);
    let observer = Arc::new(QueueLocks {
        db: db.clone(),
        tables,
        lockers: Mutex::new(Vec::new()),
    });
    let dir = crate::common::scratch();
    let opts = small_dump_opts(2, 64 << 10, Codec::Zstd { level: 1 });
    let res = pgdump_core::dump(
        &conn(&db, "dump_pipelined_lock"),
        &opts,
        Output::File(dir.path().join("x.pgdump")),
        observer.clone(),
        CancellationToken::new(),
    )
    .await;
    let err = res.expect_err("a worker locked a table with an exclusive lock queued");
    let text = err.to_string();
    assert!(text.contains("locking public.t"), "{text}");
    assert!(text.contains("could not obtain lock"), "{text}");
    assert!(!text.contains("aborted"), "{text}");
    assert_eq!(listing(dir.path()), Vec::<String>::new());
    for t in observer.lockers.lock().unwrap().drain(..) {
        t.join().unwrap();
    }
    pg.drop_db(&db).unwrap();
}
