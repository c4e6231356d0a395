//! The `regression` database that PostgreSQL's core regression suite leaves behind (what
//! pg_upgrade's tests dump and restore): ~2,400 dump entries, every object kind, 616
//! tables, C functions and base types from `regress.so`.
//!
//! `scripts/regression-db` builds it with Debian's PostgreSQL 15 and caches the stopped
//! cluster (`pgdata.tar`) under `$PGDUMP_REGRESS_CACHE` (default `/var/tmp/pgdump-regress`)
//! `/<server version>/`; `.ci/run` and `scripts/test` run it (a no-op when cached).
//! [`regression_db`] starts one cluster per process from a copy of that data directory (a
//! second or two), so the database is exactly as the suite left it (dropped columns,
//! inheritance column orders, stale materialized views, leftover temporary schemas), with
//! the suite's roles. Tests may create databases in that cluster (e.g. restore targets) but
//! must only read `regression` itself.
//!
//! Its C functions and base types point at the absolute path of the cache's `lib/`
//! (`regress.so`, `autoinc.so`, `refint.so`): the cache must stay where it was built. A
//! missing cache or library fails with the command to run; nothing is skipped.
//!
//! ```no_run
//! let (pg, db) = pgdump_tests::regression_db();
//! assert!(pg.count_rows(db, "public.onek").unwrap() == 1000);
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};

use crate::{binaries, Cluster};

/// The server major the regression database is built with (Debian's PostgreSQL).
pub const REGRESSION_MAJOR: u32 = 15;

/// The database's name.
pub const REGRESSION_DB: &str = "regression";

/// The server binaries `scripts/regression-db` builds and runs the suite with.
const DEBIAN_BIN: &str = "/usr/lib/postgresql/15/bin";

/// What to run when the cache is missing or unusable.
const BUILD_HINT: &str =
    "run `scripts/regression-db` (it builds and caches the regression database \
     in one to two minutes; a no-op when cached)";

/// The cache root of `scripts/regression-db`: `PGDUMP_REGRESS_CACHE`, default
/// `/var/tmp/pgdump-regress`.
pub fn cache_root() -> PathBuf {
    std::env::var_os("PGDUMP_REGRESS_CACHE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/pgdump-regress"))
}

/// One cached build (`<cache root>/<server version>/`).
#[derive(Debug, Clone)]
pub struct RegressionCache {
    /// The directory.
    pub dir: PathBuf,
    /// The server version it was built with, e.g. `15.18`.
    pub version: String,
    /// `lib/`: regress.so, autoinc.so, refint.so (the database refers to this path).
    pub lib_dir: PathBuf,
    /// `pgdata.tar`: the stopped cluster's data directory.
    pub pgdata_tar: PathBuf,
    /// `regression.dump`: pg_dump 18 -Fc of the database.
    pub reference_dump: PathBuf,
    /// The key=value facts of `INFO` (tables, dump_entries, suite_summary, ...).
    pub info: BTreeMap<String, String>,
}

/// `15.18` from `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`.
pub fn version_of(postgres_version_output: &str) -> Option<String> {
    let rest = postgres_version_output.split(") ").nth(1)?;
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = version.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    (!major.is_empty() && !minor.is_empty()).then(|| format!("{major}.{minor}"))
}

/// The cached build for the harness's PostgreSQL 15 server (the version of its `postgres`).
/// Fails, naming `scripts/regression-db`, when it is missing or incomplete.
pub fn regression_cache() -> Result<RegressionCache> {
    let bin = binaries::server_bin_dir(REGRESSION_MAJOR)?;
    let out = binaries::program_version(bin.join("postgres"))?;
    let version = version_of(&out).with_context(|| {
        format!(
            "cannot read the version of {}/postgres: {out}",
            bin.display()
        )
    })?;
    let cache = open_cache(&cache_root().join(&version), &version);
    if bin != Path::new(DEBIAN_BIN) {
        return cache.with_context(|| {
            format!(
                "the harness's PostgreSQL {REGRESSION_MAJOR} is {} ({version}), not Debian's \
                 {DEBIAN_BIN}, which scripts/regression-db builds with (PGDUMP_PG15_BIN?)",
                bin.display()
            )
        });
    }
    cache
}

/// [`regression_cache`] of a given directory.
pub fn open_cache(dir: &Path, version: &str) -> Result<RegressionCache> {
    let info_path = dir.join("INFO");
    let text = std::fs::read_to_string(&info_path).map_err(|e| {
        anyhow::anyhow!(
            "no regression database cached for PostgreSQL {version} ({}: {e}): {BUILD_HINT}",
            info_path.display()
        )
    })?;
    let info: BTreeMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let cache = RegressionCache {
        dir: dir.to_path_buf(),
        version: version.to_string(),
        lib_dir: dir.join("lib"),
        pgdata_tar: dir.join("pgdata.tar"),
        reference_dump: dir.join("regression.dump"),
        info,
    };
    let mut needed = vec![cache.pgdata_tar.clone(), cache.reference_dump.clone()];
    needed.extend(
        ["regress.so", "autoinc.so", "refint.so"]
            .iter()
            .map(|lib| cache.lib_dir.join(lib)),
    );
    for path in needed {
        if !path.is_file() {
            bail!(
                "the regression database cache {} is incomplete: {} is missing: {BUILD_HINT}",
                dir.display(),
                path.display()
            );
        }
    }
    if let Some(libdir) = cache.info.get("libdir") {
        if Path::new(libdir) != cache.lib_dir {
            bail!(
                "the regression database in {} was built with its libraries in {libdir}, where \
                 its C functions look for them; it has moved: run `scripts/regression-db --rebuild`",
                dir.display()
            );
        }
    }
    Ok(cache)
}

/// Checks that every shared library the database's C functions name by absolute path exists
/// and loads in the server (as the server user).
pub fn check_libraries(cluster: &Cluster, db: &str) -> Result<()> {
    let rows = cluster.query(
        db,
        "SELECT DISTINCT probin FROM pg_proc \
         WHERE prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') \
           AND probin LIKE '/%' ORDER BY 1",
    )?;
    for row in rows {
        let Some(lib) = row.into_iter().next().flatten() else {
            continue;
        };
        if !Path::new(&lib).is_file() {
            bail!(
                "the regression database's C functions need {lib}, which is missing: {BUILD_HINT}"
            );
        }
        cluster
            .execute(db, &format!("LOAD '{}'", lib.replace('\'', "''")))
            .with_context(|| format!("the server cannot load {lib}: {BUILD_HINT}"))?;
    }
    Ok(())
}

/// Starts a new private cluster on a copy of the cached regression database (stopped and
/// removed when dropped), with the harness's settings and `settings`.
pub fn start_regression_cluster(settings: &[(&str, &str)]) -> Result<Cluster> {
    let cache = regression_cache()?;
    let started = std::time::Instant::now();
    let cluster = Cluster::start_from_data_archive(REGRESSION_MAJOR, &cache.pgdata_tar, settings)
        .with_context(|| {
        format!(
            "cannot start the cached regression cluster of {}",
            cache.dir.display()
        )
    })?;
    check_libraries(&cluster, REGRESSION_DB)?;
    eprintln!(
        "pgdump-tests: regression database ({}) on PostgreSQL {} in {:.1} s",
        cache.dir.display(),
        cache.version,
        started.elapsed().as_secs_f64()
    );
    Ok(cluster)
}

/// The cluster with the `regression` database shared by every test of this process (started
/// on first use from the cache, stopped at exit), and the database's name.
pub fn try_regression_db() -> Result<(&'static Cluster, &'static str)> {
    static SLOT: OnceLock<Result<&'static Cluster, String>> = OnceLock::new();
    let result = SLOT.get_or_init(|| {
        start_regression_cluster(&[])
            // registered at start: stopped at process exit like the shared clusters
            .map(|c| &*Box::leak(Box::new(c)))
            .map_err(|e| format!("{e:#}"))
    });
    match result {
        Ok(cluster) => Ok((cluster, REGRESSION_DB)),
        Err(msg) => bail!("{msg}"),
    }
}

/// [`try_regression_db`] for tests: panics with the reason (and the command to run).
pub fn regression_db() -> (&'static Cluster, &'static str) {
    match try_regression_db() {
        Ok(x) => x,
        Err(e) => panic!("cannot get the regression database: {e:#}"),
    }
}

/// Runs `scripts/regression-db --print-path` of this repository (never builds): the cache
/// directory, or the script's own error.
pub fn script_print_path() -> Result<PathBuf> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/regression-db");
    let out = Command::new(&script)
        .arg("--print-path")
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            version_of("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)").as_deref(),
            Some("15.18")
        );
        assert_eq!(
            version_of("postgres (PostgreSQL) 15.4").as_deref(),
            Some("15.4")
        );
        assert_eq!(version_of("postgres (PostgreSQL) 18beta1"), None);
        assert_eq!(version_of("nonsense"), None);
    }

    #[test]
    fn missing_cache_names_the_script() {
        let empty = tempfile::tempdir().unwrap();
        let err = open_cache(&empty.path().join("15.99"), "15.99").unwrap_err();
        assert!(
            format!("{err:#}").contains("scripts/regression-db"),
            "{err:#}"
        );
    }
}
