//! The datasets: pgbench at a scale, one wide table of mixed types, many small tables
//! with indexes, views and functions, and one big text-heavy table (memory mode).

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use pgdump_tests::Cluster;

/// A dataset of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dataset {
    /// `pgbench -i` at `--scale`.
    Pgbench,
    /// One table of mixed types (`--rows` rows) with a PK, an index and an FK.
    Wide,
    /// `--tables` small tables with indexes, sequences, views and functions.
    Many,
    /// Memory mode: one big text-heavy table at `--size` / 4, then grown to `--size`.
    Big,
}

impl Dataset {
    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Pgbench => "pgbench",
            Dataset::Wide => "wide",
            Dataset::Many => "many",
            Dataset::Big => "big",
        }
    }
}

/// Sizes of the datasets.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// pgbench scale factor.
    pub scale: u32,
    /// Rows of the wide table.
    pub rows: u64,
    /// Number of small tables.
    pub tables: u32,
}

/// Creates `dataset` in the (empty) database `db`; returns a one-line description.
pub fn build(cluster: &Cluster, db: &str, dataset: Dataset, sizes: Sizes) -> Result<String> {
    let t = Instant::now();
    let what = match dataset {
        Dataset::Pgbench => {
            pgbench(cluster, db, sizes.scale)?;
            format!(
                "pgbench scale {} ({} accounts)",
                sizes.scale,
                sizes.scale as u64 * 100_000
            )
        }
        Dataset::Wide => {
            wide(cluster, db, sizes.rows)?;
            format!(
                "wide: {} rows of 12 mixed-type columns, PK, index, FK",
                sizes.rows
            )
        }
        Dataset::Many => {
            many(cluster, db, sizes.tables)?;
            format!(
                "many: {} small tables (serial PK, index, 10 rows), {} views, {} functions",
                sizes.tables,
                sizes.tables / 4,
                sizes.tables / 4
            )
        }
        Dataset::Big => bail!("the big dataset is built by the memory mode"),
    };
    cluster.execute(db, "VACUUM ANALYZE")?;
    cluster.execute("postgres", "CHECKPOINT")?;
    let size = cluster.query_value(db, "SELECT pg_database_size(current_database())")?;
    let size: u64 = size.parse().unwrap_or(0);
    eprintln!(
        "pgdump-bench: built {} in {:.1} s ({} MB)",
        dataset.name(),
        t.elapsed().as_secs_f64(),
        size >> 20
    );
    Ok(format!("{what}; database {} MB", size >> 20))
}

/// A command of the reference client with a clean environment.
pub fn client_command(program: &str) -> Result<Command> {
    let mut cmd = Command::new(pgdump_tests::client_bin(program)?);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(key);
        }
    }
    Ok(cmd)
}

fn pgbench(cluster: &Cluster, db: &str, scale: u32) -> Result<()> {
    // server-side data generation (G): the same tables, faster on a small machine
    let out = client_command("pgbench")?
        .args(["-i", "-q", "-I", "dtGvp", "-s", &scale.to_string(), "-d"])
        .arg(cluster.url(db))
        .output()
        .context("cannot run pgbench")?;
    if !out.status.success() {
        bail!(
            "pgbench -i failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn wide(cluster: &Cluster, db: &str, rows: u64) -> Result<()> {
    cluster.execute(
        db,
        "CREATE TABLE category (id int PRIMARY KEY, name text NOT NULL);
         INSERT INTO category SELECT i, 'category ' || i FROM generate_series(1, 100) i;
         CREATE TABLE wide (
             id bigint NOT NULL,
             title text NOT NULL,
             email varchar(120),
             amount numeric(12,2),
             created_at timestamptz NOT NULL,
             day date,
             active boolean,
             attrs jsonb,
             token uuid,
             blob bytea,
             scores int[],
             category_id int
         );",
    )?;
    // in batches, so that progress shows and no statement runs for minutes
    let batch = 250_000u64;
    let mut lo = 1u64;
    while lo <= rows {
        let hi = (lo + batch - 1).min(rows);
        cluster.execute(
            db,
            &format!(
                "INSERT INTO wide
                 SELECT i,
                        (ARRAY['alpha','bravo','charlie','delta','echo','foxtrot','golf','hotel'])[1 + i % 8]
                          || ' ' || substr(md5(i::text) || md5((i * 3)::text), 1, 16 + (i % 48)::int),
                        CASE WHEN i % 20 = 0 THEN NULL ELSE 'user' || i || '@example.com' END,
                        round((random() * 100000)::numeric, 2),
                        timestamptz '2020-01-01 00:00:00+00' + i * interval '17 seconds',
                        date '2020-01-01' + (i % 2000)::int,
                        i % 3 = 0,
                        jsonb_build_object('n', i % 1000, 'tag', md5(i::text), 'ok', i % 2 = 0),
                        md5((i * 7)::text)::uuid,
                        decode(md5(i::text) || md5((i + 1)::text), 'hex'),
                        ARRAY[(i % 100)::int, (i % 1000)::int, (i % 7)::int, (i % 13)::int],
                        1 + (i % 100)::int
                 FROM generate_series({lo}::bigint, {hi}::bigint) i"
            ),
        )?;
        lo = hi + 1;
    }
    cluster.execute(
        db,
        "ALTER TABLE wide ADD PRIMARY KEY (id);
         CREATE INDEX wide_created_at_idx ON wide (created_at);
         ALTER TABLE wide ADD CONSTRAINT wide_category_fkey
             FOREIGN KEY (category_id) REFERENCES category (id);",
    )?;
    Ok(())
}

fn many(cluster: &Cluster, db: &str, tables: u32) -> Result<()> {
    cluster.execute(db, "CREATE SCHEMA app")?;
    let batch = 100u32;
    let mut lo = 1u32;
    while lo <= tables {
        let hi = (lo + batch - 1).min(tables);
        cluster.execute(
            db,
            &format!(
                "DO $do$
                 BEGIN
                   FOR i IN {lo}..{hi} LOOP
                     EXECUTE format('CREATE TABLE app.t%s (id serial PRIMARY KEY, name text NOT NULL,
                         val numeric(10,2), created_at timestamptz NOT NULL DEFAULT now())', i);
                     EXECUTE format('CREATE INDEX t%s_name_idx ON app.t%s (name)', i, i);
                     EXECUTE format('INSERT INTO app.t%s (name, val)
                         SELECT ''row '' || g, g * 1.5 FROM generate_series(1, 10) g', i);
                     IF i % 4 = 0 THEN
                       EXECUTE format('CREATE VIEW app.v%s AS SELECT id, name FROM app.t%s
                           WHERE val > 5', i, i);
                       EXECUTE format('CREATE FUNCTION app.f%s(x int) RETURNS bigint
                           LANGUAGE sql STABLE AS $f$ SELECT count(*) FROM app.t%s WHERE id > x $f$',
                           i, i);
                     END IF;
                   END LOOP;
                 END
                 $do$"
            ),
        )?;
        lo = hi + 1;
    }
    Ok(())
}

/// Rows of the big table per GB of table (about 560 bytes a row on disk).
const BIG_ROW_BYTES: u64 = 560;

/// Creates the big table (empty) in `db`.
pub fn big_create(cluster: &Cluster, db: &str) -> Result<()> {
    cluster.execute(
        db,
        "CREATE TABLE big (id bigint PRIMARY KEY, payload text NOT NULL, note text)",
    )
}

/// Grows the big table to about `bytes` bytes (heap); returns (rows, table bytes).
pub fn big_grow(cluster: &Cluster, db: &str, bytes: u64) -> Result<(u64, u64)> {
    let t = Instant::now();
    let have: u64 = cluster
        .query_value(db, "SELECT coalesce(max(id), 0) FROM big")?
        .parse()
        .unwrap_or(0);
    let want = bytes / BIG_ROW_BYTES;
    let batch = 500_000u64;
    let mut lo = have + 1;
    while lo <= want {
        let hi = (lo + batch - 1).min(want);
        // 256 random-looking hex characters and 250 compressible ones per row
        cluster.execute(
            db,
            &format!(
                "INSERT INTO big
                 SELECT i,
                        md5(i::text) || md5((i + 1)::text) || md5((i + 2)::text) || md5((i + 3)::text)
                          || md5((i * 5)::text) || md5((i * 7)::text) || md5((i * 11)::text)
                          || md5((i * 13)::text),
                        'note ' || (i % 1000) || repeat(' lorem ipsum', 20)
                 FROM generate_series({lo}::bigint, {hi}::bigint) i"
            ),
        )?;
        lo = hi + 1;
    }
    cluster.execute(db, "VACUUM ANALYZE big")?;
    cluster.execute("postgres", "CHECKPOINT")?;
    let rows: u64 = cluster.count_rows(db, "big")?;
    let size: u64 = cluster
        .query_value(db, "SELECT pg_relation_size('big')")?
        .parse()
        .unwrap_or(0);
    eprintln!(
        "pgdump-bench: big table at {rows} rows, {} MB (grown in {:.1} s)",
        size >> 20,
        t.elapsed().as_secs_f64()
    );
    Ok((rows, size))
}
