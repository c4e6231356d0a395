//! The sample databases in `tests/fixtures/` and loading them (with psql).
//!
//! | fixture | files | per server major |
//! |---|---|---|
//! | [`Fixture::Coverage`] | `coverage/coverage*.sql` | 10, 11, 12, 13, 14: `coverage-pgNN.sql`; 15+: `coverage.sql` if the server has lz4, else `coverage-nolz4.sql` |
//! | [`Fixture::Pagila`] | `pagila/pagila-schema*.sql`, `pagila-data.sql.gz` | 10, 11: `pagila-schema-pg10.sql` |
//! | [`Fixture::Chinook`] | `chinook/Chinook_PostgreSql.sql.gz` | all |
//! | [`Fixture::ChinookAutoInc`] | `chinook/Chinook_PostgreSql_AutoIncrementPKs.sql.gz` | all |
//! | [`Fixture::Northwind`] | `northwind/northwind.sql.gz` | all |
//!
//! The variants are described in `tests/fixtures/README.md`.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use flate2::read::GzDecoder;

use crate::psql::{psql_file, psql_stream};
use crate::{shared_cluster, Cluster};

/// A sample database of `tests/fixtures/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fixture {
    /// `coverage/`: every common object kind and nasty data, a 1,000,000-row table, large
    /// objects, roles (cluster-wide: `cov_owner`, `cov_reader`, `cov_writer`, `cov_auditor`).
    /// Loads in 5-10 s.
    Coverage,
    /// `pagila/`: partitions, a matview, enum, domains, triggers, functions (~50k rows).
    Pagila,
    /// `chinook/`: 11 plain tables with INT keys (15,607 rows).
    Chinook,
    /// `chinook/`: the same with identity keys (sequences end at non-trivial values).
    ChinookAutoInc,
    /// `northwind/`: 14 tables, bytea pictures (3,362 rows).
    Northwind,
}

impl Fixture {
    /// Every fixture.
    pub const ALL: [Fixture; 5] = [
        Fixture::Coverage,
        Fixture::Pagila,
        Fixture::Chinook,
        Fixture::ChinookAutoInc,
        Fixture::Northwind,
    ];

    /// Short name: `coverage`, `pagila`, `chinook`, `chinook_autoinc`, `northwind`.
    pub fn name(self) -> &'static str {
        match self {
            Fixture::Coverage => "coverage",
            Fixture::Pagila => "pagila",
            Fixture::Chinook => "chinook",
            Fixture::ChinookAutoInc => "chinook_autoinc",
            Fixture::Northwind => "northwind",
        }
    }

    /// The fixture called `name` (see [`Fixture::name`]).
    pub fn from_name(name: &str) -> Option<Fixture> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl std::fmt::Display for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `tests/fixtures` of this repository.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The coverage script for a server: see the module documentation.
pub fn coverage_script(major: u32, has_lz4: bool) -> PathBuf {
    let name = match major {
        ..=10 => "coverage-pg10.sql",
        11 => "coverage-pg11.sql",
        12 => "coverage-pg12.sql",
        13 => "coverage-pg13.sql",
        14 => "coverage-pg14.sql",
        _ if has_lz4 => "coverage.sql",
        _ => "coverage-nolz4.sql",
    };
    fixtures_dir().join("coverage").join(name)
}

/// The pagila schema script for a server major.
pub fn pagila_schema_script(major: u32) -> PathBuf {
    let name = if major < 12 {
        "pagila-schema-pg10.sql"
    } else {
        "pagila-schema.sql"
    };
    fixtures_dir().join("pagila").join(name)
}

/// Whether the server was built with lz4 (column compression).
pub fn server_has_lz4(cluster: &Cluster) -> Result<bool> {
    if cluster.major() < 14 {
        return Ok(false);
    }
    let v = cluster.query_value(
        "postgres",
        "SELECT count(*) FROM pg_settings \
         WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)",
    )?;
    Ok(v == "1")
}

fn gz(path: PathBuf) -> Result<GzDecoder<std::fs::File>> {
    let file =
        std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(GzDecoder::new(file))
}

/// A chinook script without its `DROP DATABASE`, `CREATE DATABASE` and `\c` lines (see
/// `tests/fixtures/chinook/SOURCE.md`), so that it loads into the database we choose.
fn chinook_script(file: &str) -> Result<String> {
    let path = fixtures_dir().join("chinook").join(file);
    let mut text = String::new();
    gz(path.clone())?
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = String::with_capacity(text.len());
    let mut stripped = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("DROP DATABASE")
            || line.starts_with("CREATE DATABASE")
            || line.starts_with("\\c ")
        {
            stripped += 1;
            continue;
        }
        out.push_str(line);
    }
    if stripped != 3 {
        bail!(
            "{}: expected to strip 3 DROP/CREATE DATABASE and \\c lines, found {stripped}",
            path.display()
        );
    }
    Ok(out)
}

/// Loads a fixture into the existing, empty database `db` (with psql, `ON_ERROR_STOP`), then
/// runs `ANALYZE`. Picks the script variant for the server's major version.
pub fn load_fixture(cluster: &Cluster, db: &str, fixture: Fixture) -> Result<()> {
    let started = Instant::now();
    let major = cluster.major();
    match fixture {
        Fixture::Coverage => {
            // it creates roles if missing: two concurrent loads would race on them
            let _guard = cluster
                .global_objects_lock
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let script = coverage_script(major, server_has_lz4(cluster)?);
            psql_file(cluster, db, &script)?;
        }
        Fixture::Pagila => {
            psql_file(cluster, db, &pagila_schema_script(major))?;
            psql_stream(
                cluster,
                db,
                gz(fixtures_dir().join("pagila/pagila-data.sql.gz"))?,
            )
            .context("pagila-data.sql.gz failed")?;
        }
        Fixture::Chinook => {
            let script = chinook_script("Chinook_PostgreSql.sql.gz")?;
            psql_stream(cluster, db, script.as_bytes())?;
        }
        Fixture::ChinookAutoInc => {
            let script = chinook_script("Chinook_PostgreSql_AutoIncrementPKs.sql.gz")?;
            psql_stream(cluster, db, script.as_bytes())?;
        }
        Fixture::Northwind => {
            psql_stream(
                cluster,
                db,
                gz(fixtures_dir().join("northwind/northwind.sql.gz"))?,
            )
            .context("northwind.sql.gz failed")?;
        }
    }
    cluster.execute(db, "ANALYZE")?;
    eprintln!(
        "pgdump-tests: loaded fixture {fixture} into {db} on PostgreSQL {major} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

type FixtureSlot = Arc<OnceLock<Result<String, String>>>;

fn fixture_slot(major: u32, fixture: Fixture) -> FixtureSlot {
    static SLOTS: OnceLock<Mutex<HashMap<(u32, Fixture), FixtureSlot>>> = OnceLock::new();
    let slots = SLOTS.get_or_init(Default::default);
    let mut map = slots.lock().unwrap_or_else(|p| p.into_inner());
    map.entry((major, fixture)).or_default().clone()
}

/// A database of the shared cluster of `major` with `fixture` loaded, loaded once per
/// process and then reused: tests must only read it (a dump is read-only). Returns its name
/// (`fixture_<name>`).
pub fn try_fixture_db(major: u32, fixture: Fixture) -> Result<String> {
    let slot = fixture_slot(major, fixture);
    let result = slot.get_or_init(|| {
        let load = || -> Result<String> {
            let cluster = crate::try_shared_cluster(major)?;
            let db = format!("fixture_{}", fixture.name());
            cluster.create_db_named(&db)?;
            load_fixture(cluster, &db, fixture)?;
            Ok(db)
        };
        load().map_err(|e| format!("{e:#}"))
    });
    match result {
        Ok(db) => Ok(db.clone()),
        Err(msg) => bail!("{msg}"),
    }
}

/// [`try_fixture_db`] for tests: panics with the reason when loading fails. Use it with
/// [`shared_cluster`]`(major)`.
pub fn fixture_db(major: u32, fixture: Fixture) -> String {
    match try_fixture_db(major, fixture) {
        Ok(db) => db,
        Err(e) => panic!("cannot load fixture {fixture} on PostgreSQL {major}: {e:#}"),
    }
}

/// The shared cluster of `major` and a loaded fixture database in it, in one call.
pub fn fixture(major: u32, fixture: Fixture) -> (&'static Cluster, String) {
    let db = fixture_db(major, fixture);
    (shared_cluster(major), db)
}
