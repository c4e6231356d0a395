//! Consistency under concurrent writes (issue 3): while a parallel dump (`-j 4`, tiny
//! frames and split sizes so the big table is cut into many page ranges read by different
//! connections) runs, writers keep moving money in a ledger: every transaction updates two
//! accounts, inserts a transfer and bumps a counter; some open an account and pay into it
//! (foreign keys), some move old transfers to an archive table (delete + insert), some
//! rewrite transfers (the new row versions land on other pages). The restored copy must
//! be the database as of one instant: balances add up, every account's balance is its
//! opening balance plus what came in minus what went out, the counters match the row
//! counts, no transfer is both live and archived, foreign keys validate.
//!
//! A dump whose workers do not share the leader's snapshot fails these checks (tried by
//! leaving `SET TRANSACTION SNAPSHOT` out of `snapshot::import_sql`: the restore then fails its foreign keys or the
//! balances and counters disagree).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pgdump_core::restore::RestoreOptions;
use pgdump_core::DumpOptions;
use pgdump_format::{Codec, WriterOptions};
use pgdump_tests::shared_cluster;

use crate::common::{db_with, dump_file, restore_file, value};

const ACCOUNTS: i64 = 500;
const OPENING: i64 = 1_000_000;

const SOURCE_SQL: &str = "
CREATE SCHEMA ledger;
CREATE TABLE ledger.accounts (
    id int PRIMARY KEY,
    opening bigint NOT NULL,
    balance bigint NOT NULL
);
CREATE SEQUENCE ledger.account_ids START 100000;
CREATE TABLE ledger.transfers (
    id bigserial PRIMARY KEY,
    src int NOT NULL REFERENCES ledger.accounts,
    dst int NOT NULL REFERENCES ledger.accounts,
    amount bigint NOT NULL,
    note text NOT NULL
);
CREATE TABLE ledger.archived (
    id bigint PRIMARY KEY,
    src int NOT NULL REFERENCES ledger.accounts,
    dst int NOT NULL REFERENCES ledger.accounts,
    amount bigint NOT NULL,
    note text NOT NULL
);
CREATE TABLE ledger.counter (
    one int PRIMARY KEY CHECK (one = 1),
    transfers bigint NOT NULL,
    archived bigint NOT NULL,
    accounts bigint NOT NULL
);
INSERT INTO ledger.accounts SELECT g, 1000000, 1000000 FROM generate_series(1, 500) g;
-- history: zero-amount transfers spread over many pages
INSERT INTO ledger.transfers (src, dst, amount, note)
    SELECT 1 + g % 500, 1 + (g * 7) % 500, 0, repeat(md5(g::text), 3)
    FROM generate_series(1, 120000) g;
INSERT INTO ledger.counter VALUES (1, 120000, 0, 500);
ANALYZE;
";

/// A small xorshift generator (deterministic per writer).
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One writer: transactions until `stop`; counts its commits in `commits`.
async fn writer(
    client: tokio_postgres::Client,
    seed: u64,
    stop: Arc<AtomicBool>,
    commits: Arc<AtomicU64>,
) {
    let mut rng = Rng(seed);
    while !stop.load(Ordering::Relaxed) {
        let a = 1 + rng.next(ACCOUNTS as u64) as i64;
        let b = 1 + rng.next(ACCOUNTS as u64) as i64;
        let amount = 1 + rng.next(100) as i64;
        let (lo, hi) = (a.min(b), a.max(b));
        // Transactions that touch the counter lock it first: they serialise on it, and
        // never deadlock (account rows are locked after it, in id order).
        let sql = match rng.next(10) {
            // open an account and pay into it
            0 => format!(
                "BEGIN;
                 SELECT 1 FROM ledger.counter FOR UPDATE;
                 UPDATE ledger.accounts SET balance = balance - {amount} WHERE id = {a};
                 INSERT INTO ledger.accounts VALUES (nextval('ledger.account_ids'), 0, {amount});
                 INSERT INTO ledger.transfers (src, dst, amount, note)
                     VALUES ({a}, currval('ledger.account_ids'), {amount}, 'opening');
                 UPDATE ledger.counter SET transfers = transfers + 1, accounts = accounts + 1;
                 COMMIT;"
            ),
            // move a few transfers from anywhere in the table to the archive
            1 | 2 => {
                let from = 1 + rng.next(120_000);
                format!(
                    "BEGIN;
                     SELECT 1 FROM ledger.counter FOR UPDATE;
                     WITH moved AS (DELETE FROM ledger.transfers
                                     WHERE id BETWEEN {from} AND {from} + 3 RETURNING *),
                          ins AS (INSERT INTO ledger.archived SELECT * FROM moved RETURNING 1)
                     UPDATE ledger.counter
                        SET transfers = transfers - (SELECT count(*) FROM ins),
                            archived = archived + (SELECT count(*) FROM ins);
                     COMMIT;"
                )
            }
            // rewrite a transfer's note: its new version lands on another page
            3 => {
                let id = 1 + rng.next(120_000);
                format!("UPDATE ledger.transfers SET note = md5(note) || note WHERE id = {id};")
            }
            // a transfer between two accounts
            _ => format!(
                "BEGIN;
                 SELECT 1 FROM ledger.counter FOR UPDATE;
                 SELECT 1 FROM ledger.accounts WHERE id IN ({lo}, {hi}) ORDER BY id FOR UPDATE;
                 UPDATE ledger.accounts SET balance = balance - {amount} WHERE id = {a};
                 UPDATE ledger.accounts SET balance = balance + {amount} WHERE id = {b};
                 INSERT INTO ledger.transfers (src, dst, amount, note)
                     VALUES ({a}, {b}, {amount}, 'transfer');
                 UPDATE ledger.counter SET transfers = transfers + 1;
                 COMMIT;"
            ),
        };
        match client.batch_execute(&sql).await {
            Ok(()) => {
                commits.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                let _ = client.batch_execute("ROLLBACK").await;
                // lock ordering keeps writers out of deadlocks; anything else is a test bug
                panic!("writer failed: {e:?}");
            }
        }
    }
}

/// Every invariant of the ledger, checked in `db`.
fn check_ledger(pg: &pgdump_tests::Cluster, db: &str, what: &str) {
    let q = |sql: &str| value(pg, db, sql);
    assert_eq!(
        q("SELECT sum(balance) FROM ledger.accounts"),
        (ACCOUNTS * OPENING).to_string(),
        "{what}: the ledger does not balance"
    );
    assert_eq!(
        q("WITH t AS (SELECT src, dst, amount FROM ledger.transfers
                      UNION ALL SELECT src, dst, amount FROM ledger.archived),
                flow AS (SELECT dst AS id, amount FROM t UNION ALL SELECT src, -amount FROM t),
                net AS (SELECT id, sum(amount) AS amount FROM flow GROUP BY id)
           SELECT count(*) FROM ledger.accounts a LEFT JOIN net USING (id)
            WHERE a.balance <> a.opening + coalesce(net.amount, 0)"),
        "0",
        "{what}: balances disagree with the transfers"
    );
    assert_eq!(
        q("SELECT (SELECT transfers FROM ledger.counter) = (SELECT count(*) FROM ledger.transfers)
              AND (SELECT archived FROM ledger.counter) = (SELECT count(*) FROM ledger.archived)
              AND (SELECT accounts FROM ledger.counter) = (SELECT count(*) FROM ledger.accounts)"),
        "t",
        "{what}: counters disagree with the row counts"
    );
    assert_eq!(
        q("SELECT count(*) FROM ledger.transfers t JOIN ledger.archived a USING (id)"),
        "0",
        "{what}: transfers both live and archived"
    );
    assert_eq!(
        q("SELECT count(*) FROM ledger.transfers t
            WHERE NOT EXISTS (SELECT FROM ledger.accounts WHERE id = t.src)
               OR NOT EXISTS (SELECT FROM ledger.accounts WHERE id = t.dst)"),
        "0",
        "{what}: transfers of unknown accounts"
    );
    assert_eq!(
        q(
            "SELECT count(*) FROM pg_constraint WHERE connamespace = 'ledger'::regnamespace
              AND contype = 'f' AND convalidated"
        ),
        "4",
        "{what}: foreign keys missing or not validated"
    );
    assert_eq!(
        q("SELECT (SELECT last_value FROM ledger.transfers_id_seq) >=
                  greatest((SELECT max(id) FROM ledger.transfers), (SELECT max(id) FROM ledger.archived))
              AND (SELECT last_value FROM ledger.account_ids) >= (SELECT max(id) FROM ledger.accounts)"),
        "t",
        "{what}: a sequence is behind its table"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_dump_during_writes_is_one_instant() {
    let pg = shared_cluster(15);
    let src = db_with(pg, "ledger_src", SOURCE_SQL);
    check_ledger(pg, &src, "source before");

    let stop = Arc::new(AtomicBool::new(false));
    let commits = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for i in 0..4u64 {
        let client = pg.connect(&src).await.unwrap();
        writers.push(tokio::spawn(writer(
            client,
            0x9E37_79B9_7F4A_7C15 ^ (i + 1),
            stop.clone(),
            commits.clone(),
        )));
    }
    // the writers are busy before the dump starts
    while commits.load(Ordering::Relaxed) < 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let dir = crate::common::scratch();
    let path = dir.path().join("ledger.pgdump");
    let opts = DumpOptions {
        jobs: 4,
        writer: WriterOptions {
            codec: Codec::Zstd { level: 1 },
            frame_size: 16 << 10,
            ..WriterOptions::default()
        },
        split_bytes: 256 << 10,
        split_chunk_bytes: 256 << 10,
        ..DumpOptions::default()
    };
    let before = commits.load(Ordering::Relaxed);
    let summary = dump_file(pg, &src, &path, &opts).await;
    let during = commits.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    check_ledger(pg, &src, "source after");

    // the dump really ran in parallel over a table cut into ranges, with writes going on
    let reader = pgdump_format::ArchiveReader::open(std::fs::File::open(&path).unwrap()).unwrap();
    let transfer_streams = reader
        .toc()
        .entries
        .iter()
        .find(|e| {
            e.data
                .as_ref()
                .is_some_and(|d| d.target == "ledger.transfers")
        })
        .and_then(|e| e.data.as_ref())
        .map_or(0, |d| d.streams.len());
    assert!(
        transfer_streams >= 20,
        "ledger.transfers is in {transfer_streams} streams"
    );
    assert!(
        during >= 100,
        "only {during} transactions committed during the {:?} dump",
        summary.elapsed
    );
    eprintln!(
        "dump_consistency: {during} commits during a {:.2}s dump of {} streams",
        summary.elapsed.as_secs_f64(),
        summary.archive.streams.len()
    );

    let dst = db_with(pg, "ledger_dst", "");
    let s = restore_file(
        pg,
        &dst,
        &path,
        &RestoreOptions {
            jobs: 4,
            ..RestoreOptions::default()
        },
    )
    .await;
    assert!(
        s.ok(),
        "restore of the dump taken during writes failed: {:#?}",
        s.failures
    );
    check_ledger(pg, &dst, "restored copy");
    pg.drop_db(&src).unwrap();
    pg.drop_db(&dst).unwrap();
}
