//! The target database as a whole: creating it, dropping a database this run made,
//! and `--replace`'s databases beside the target and its swap.
//!
//! Names: the new database is built as `<base>_pgdump_new_<UTC timestamp>`, and a
//! swap renames the target aside to `<base>_pgdump_prev_<timestamp>`, where `<base>`
//! is the target's name (shortened with a hash when needed to stay within 63
//! bytes). Only databases of exactly these forms are ever dropped by this module
//! (stale new ones that no session uses, and previous copies beyond
//! `keep_previous`), besides the one this run created.
//!
//! The swap is one transaction on a maintenance connection: (optionally) end the
//! target's sessions, rename the target aside, rename the new database to the
//! target's name, commit. Sessions that connect meanwhile wait for the commit and
//! then reach the new database (or fail to connect, if they started just before);
//! none ever sees an empty or partial database. If the target still has sessions
//! the attempt fails and is retried until `wait` is over, then the run fails and
//! leaves everything as it was.

use std::time::{Duration, Instant};

use tokio_postgres::error::SqlState;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;
use xxhash_rust::xxh3::xxh3_64;

use crate::catalog::{
    database_properties, DatabaseProperties, ServerVersion, DATABASE_PLACEHOLDER,
};
use crate::conn::{connect_cancellable, ConnConfig};
use crate::error::{CoreError, DbMessage, QueryContext, Result};
use crate::quote::{ident, literal};
use crate::{session, TOOL_NAME};

/// The longest database name the server keeps (NAMEDATALEN - 1).
const MAX_NAME: usize = 63;

/// What a database beside the target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Beside {
    /// Being built by a `--replace` (left over if that run died).
    New,
    /// A previous target, renamed aside by a swap.
    Prev,
}

impl Beside {
    fn tag(self) -> &'static str {
        match self {
            Beside::New => "new",
            Beside::Prev => "prev",
        }
    }
}

/// `<base>` of the names beside `target`: the name itself when short enough, else
/// its start and a hash of the whole, so that two long names never share it.
fn base(target: &str) -> String {
    // "_pgdump_prev_" + "YYYYMMDDTHHMMSSZ" + "_NN"
    const SUFFIX: usize = 13 + 16 + 3;
    if target.len() + SUFFIX <= MAX_NAME {
        return target.to_string();
    }
    let keep = MAX_NAME - SUFFIX - 9;
    let mut end = keep;
    while !target.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}_{:08x}",
        &target[..end],
        xxh3_64(target.as_bytes()) as u32
    )
}

/// The name of a database beside `target`, made at `ts` (`YYYYMMDDTHHMMSSZ`), with
/// `n` > 1 when that name is taken.
pub(super) fn beside_name(target: &str, kind: Beside, ts: &str, n: u32) -> String {
    let mut s = format!("{}_pgdump_{}_{ts}", base(target), kind.tag());
    if n > 1 {
        s.push_str(&format!("_{n}"));
    }
    s
}

/// If `name` is a database beside `target` of this tool: its kind and the sort key
/// (timestamp and number).
pub(super) fn parse_beside(target: &str, name: &str) -> Option<(Beside, String)> {
    let rest = name.strip_prefix(&base(target))?.strip_prefix("_pgdump_")?;
    let (kind, rest) = if let Some(r) = rest.strip_prefix("new_") {
        (Beside::New, r)
    } else {
        (Beside::Prev, rest.strip_prefix("prev_")?)
    };
    let (ts, n) = match rest.split_once('_') {
        Some((ts, n)) => (ts, n.parse::<u32>().ok().filter(|n| *n > 1)?),
        None => (rest, 1),
    };
    let b = ts.as_bytes();
    let ok = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
    ok.then(|| (kind, format!("{ts}_{n:04}")))
}

/// Now as `YYYYMMDDTHHMMSSZ` (UTC).
pub(super) fn timestamp() -> String {
    crate::dump::toc::now_rfc3339()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect()
}

/// A connection to a maintenance database of the target's server, where databases
/// are created, renamed and dropped.
pub(super) struct Maint {
    client: Client,
    version: ServerVersion,
    cfg: ConnConfig,
}

impl Maint {
    /// Connect to `postgres` (or `template1`), never to `avoid` (the target, which
    /// must be free of our sessions to be renamed or dropped).
    pub async fn connect(
        conn: &ConnConfig,
        avoid: &str,
        role: Option<&str>,
        cancel: &CancellationToken,
    ) -> Result<Maint> {
        let mut first_err = None;
        for db in ["postgres", "template1"] {
            if db == avoid {
                continue;
            }
            match connect_cancellable(&conn.with_dbname(db), TOOL_NAME, cancel).await {
                Ok(client) => {
                    let (version, _) = session::server_version(&client).await?;
                    client
                        .batch_execute("SET client_min_messages = warning; SET lock_timeout = 0; SET statement_timeout = 0")
                        .await
                        .context(|| "setting up the maintenance session".to_string())?;
                    if let Some(r) = role {
                        client
                            .batch_execute(&format!("SET ROLE {}", ident(r)))
                            .await
                            .context(|| format!("SET ROLE {r}"))?;
                    }
                    return Ok(Maint {
                        client,
                        version,
                        cfg: conn.with_dbname(db),
                    });
                }
                Err(e) if e.is_cancelled() => return Err(e),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.unwrap_or_else(|| {
            CoreError::Usage("no maintenance database (postgres, template1) to connect to".into())
        }))
    }

    /// Does a database of this name exist?
    pub async fn exists(&self, name: &str) -> Result<bool> {
        Ok(self
            .client
            .query_opt(
                "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1",
                &[&name],
            )
            .await
            .context(|| format!("looking up database {name}"))?
            .is_some())
    }

    /// The properties of database `name` (`None`: it does not exist).
    pub async fn properties(&self, name: &str) -> Result<Option<DatabaseProperties>> {
        database_properties(&self.client, self.version, name).await
    }

    /// Make sure no other pgdump replaces `target` at the same time (a session lock,
    /// released by [`Maint::unlock`] or when this connection ends, even if the process
    /// is killed). A lock still held for a few seconds is waited for: the session of a
    /// run that just ended may still be closing.
    pub async fn lock(&self, target: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got: bool = self
                .client
                .query_one(
                    "SELECT pg_catalog.pg_try_advisory_lock(1885823093, $1::int4)",
                    &[&lock_key(target)],
                )
                .await
                .context(|| "taking the replace lock".to_string())?
                .get(0);
            if got {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(CoreError::Usage(format!(
                    "another pgdump is replacing database {target} right now"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Release the lock of [`Maint::lock`].
    pub async fn unlock(&self, target: &str) {
        let _ = self
            .client
            .query_one(
                "SELECT pg_catalog.pg_advisory_unlock(1885823093, $1::int4)",
                &[&lock_key(target)],
            )
            .await;
    }

    /// Can this role create a database beside `target` and rename `target` (its owner
    /// or a member of the owner's role, with CREATEDB; or a superuser)?
    pub async fn check_can_replace(&self, target: &str) -> Result<()> {
        let row = self
            .client
            .query_one(
                "SELECT r.rolsuper, r.rolcreatedb, current_user::text, \
                        d.datname IS NULL OR pg_catalog.pg_has_role(d.datdba, 'MEMBER'), \
                        pg_catalog.pg_get_userbyid(d.datdba)::text \
                 FROM pg_catalog.pg_roles r \
                 LEFT JOIN pg_catalog.pg_database d ON d.datname = $1 \
                 WHERE r.rolname = current_user",
                &[&target],
            )
            .await
            .context(|| "checking the privileges of the restoring role".to_string())?;
        let (superuser, createdb, me, owns): (bool, bool, String, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if superuser {
            return Ok(());
        }
        if !createdb {
            return Err(CoreError::Usage(format!(
                "role {me} cannot create databases (it lacks CREATEDB): a replace restores \
                 into a new database beside {target}; nothing was changed"
            )));
        }
        if !owns {
            let owner: Option<String> = row.get(4);
            return Err(CoreError::Usage(format!(
                "role {me} does not own database {target} (its owner is {}), so it cannot \
                 rename it; nothing was changed",
                owner.unwrap_or_default()
            )));
        }
        Ok(())
    }

    /// Databases beside `target` of this tool, with their kind and sort key.
    async fn beside(&self, target: &str) -> Result<Vec<(String, Beside, String)>> {
        let prefix = base(target);
        let rows = self
            .client
            .query(
                "SELECT datname::text FROM pg_catalog.pg_database \
                 WHERE pg_catalog.left(datname::text, pg_catalog.length($1)) = $1",
                &[&prefix],
            )
            .await
            .context(|| format!("listing the databases beside {target}"))?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let name: String = r.get(0);
                let (kind, key) = parse_beside(target, &name)?;
                Some((name, kind, key))
            })
            .collect())
    }

    /// A free name beside `target`.
    pub async fn free_name(&self, target: &str, kind: Beside) -> Result<String> {
        let ts = timestamp();
        for n in 1..100 {
            let name = beside_name(target, kind, &ts, n);
            if !self.exists(&name).await? {
                return Ok(name);
            }
        }
        Err(CoreError::Usage(format!(
            "no free name beside database {target}"
        )))
    }

    /// Drop new databases beside `target` that a `--replace` killed before its end left
    /// over, and no session uses. Returns notes.
    pub async fn drop_stale(&self, target: &str) -> Result<Vec<String>> {
        let mut notes = Vec::new();
        for (name, kind, _) in self.beside(target).await? {
            if kind != Beside::New {
                continue;
            }
            let used: i64 = self
                .client
                .query_one(
                    "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE datname = $1",
                    &[&name],
                )
                .await
                .context(|| format!("looking for sessions of {name}"))?
                .get(0);
            if used > 0 {
                continue;
            }
            match self
                .client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {}", ident(&name)))
                .await
            {
                Ok(()) => notes.push(format!(
                    "dropped database {name}, left over by an earlier --replace that did not finish"
                )),
                Err(e) => notes.push(format!(
                    "could not drop {name}, left over by an earlier --replace: {}",
                    DbMessage(&e)
                )),
            }
        }
        Ok(notes)
    }

    /// `CREATE DATABASE name options`.
    pub async fn create(&self, name: &str, options: &str) -> Result<()> {
        self.client
            .batch_execute(&format!("CREATE DATABASE {} {options}", ident(name)))
            .await
            .map_err(|e| CoreError::Restore {
                object: format!("DATABASE {name}"),
                source: e,
            })
    }

    /// Run `post_create` (with [`DATABASE_PLACEHOLDER`]) for database `name`.
    pub async fn apply(&self, name: &str, post_create: &str) -> Result<()> {
        let sql = post_create.replace(DATABASE_PLACEHOLDER, &ident(name));
        if sql.trim().is_empty() {
            return Ok(());
        }
        self.client
            .batch_execute(&sql)
            .await
            .map_err(|e| CoreError::Restore {
                object: format!("DATABASE {name} properties"),
                source: e,
            })
    }

    /// Drop a database this run created, ending its sessions (ours, still closing).
    pub async fn drop_database(&self, name: &str) -> Result<()> {
        let q = ident(name);
        let mut last = None;
        for attempt in 0..3 {
            let sql = if self.version.at_least(13) {
                format!("DROP DATABASE IF EXISTS {q} WITH (FORCE)")
            } else {
                format!(
                    "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity \
                     WHERE datname = {} AND pid <> pg_catalog.pg_backend_pid(); \
                     DROP DATABASE IF EXISTS {q}",
                    literal(name)
                )
            };
            match self.client.batch_execute(&sql).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    if crate::error::connection_lost(&e) {
                        return Err(CoreError::query(format!("dropping database {name}"), e));
                    }
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                }
            }
        }
        match last {
            Some(e) => Err(CoreError::query(format!("dropping database {name}"), e)),
            None => Ok(()),
        }
    }

    /// Rename `target` to `aside` and `new` to `target` in one transaction, ending the
    /// target's sessions first when `terminate`. Retried while the target has sessions
    /// (or its lock is taken) until `wait` is over. With `aside` `None` (no target),
    /// just renames `new`. Returns the time it took.
    pub async fn swap(
        &self,
        target: &str,
        new: &str,
        aside: Option<&str>,
        terminate: bool,
        wait: Duration,
        cancel: &CancellationToken,
    ) -> Result<Duration> {
        let started = Instant::now();
        let deadline = started + wait;
        let (t, n) = (ident(target), ident(new));
        loop {
            if cancel.is_cancelled() {
                return Err(CoreError::Cancelled);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let mut sql = format!(
                "BEGIN; SET LOCAL lock_timeout = {};\n",
                left.as_millis().max(1)
            );
            if let Some(aside) = aside {
                if terminate {
                    sql.push_str(&terminate_sql(target));
                }
                sql.push_str(&format!("ALTER DATABASE {t} RENAME TO {};\n", ident(aside)));
            }
            sql.push_str(&format!("ALTER DATABASE {n} RENAME TO {t};\nCOMMIT;"));
            let attempt = self.client.batch_execute(&sql);
            tokio::pin!(attempt);
            let res = tokio::select! {
                r = &mut attempt => r,
                // Cancelled while waiting for the target's sessions: cancel the attempt
                // on the server and see how it ended (it may have committed just before).
                _ = cancel.cancelled() => {
                    crate::conn::cancel_query(&self.cfg, &self.client.cancel_token()).await;
                    match attempt.await {
                        Ok(()) => return Ok(started.elapsed()),
                        Err(_) => {
                            let _ = self.client.batch_execute("ROLLBACK").await;
                            return Err(CoreError::Cancelled);
                        }
                    }
                }
            };
            match res {
                Ok(()) => return Ok(started.elapsed()),
                Err(e) => {
                    let _ = self.client.batch_execute("ROLLBACK").await;
                    let busy = matches!(
                        e.code(),
                        Some(c) if *c == SqlState::OBJECT_IN_USE || *c == SqlState::LOCK_NOT_AVAILABLE
                    );
                    if !busy || Instant::now() >= deadline {
                        let mut err =
                            CoreError::query(format!("swapping database {new} in as {target}"), e);
                        if busy {
                            err = CoreError::Usage(format!(
                                "database {target} still had sessions after waiting {}s{}: {}; \
                                 the new database was not swapped in",
                                wait.as_secs(),
                                if terminate {
                                    " (sessions of other roles cannot be ended by this role)"
                                } else {
                                    " (use --terminate-connections to end them)"
                                },
                                self.sessions(target).await
                            ));
                        }
                        return Err(err);
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                        _ = cancel.cancelled() => return Err(CoreError::Cancelled),
                    }
                }
            }
        }
    }

    /// Who is connected to `db`, for messages.
    async fn sessions(&self, db: &str) -> String {
        let rows = self
            .client
            .query(
                "SELECT coalesce(usename::text, '?') || coalesce(' (' || nullif(application_name, '') || ')', ''), \
                        count(*) \
                 FROM pg_catalog.pg_stat_activity WHERE datname = $1 \
                 GROUP BY 1 ORDER BY 1",
                &[&db],
            )
            .await;
        match rows {
            Ok(rows) if !rows.is_empty() => rows
                .iter()
                .map(|r| format!("{} x{}", r.get::<_, String>(0), r.get::<_, i64>(1)))
                .collect::<Vec<_>>()
                .join(", "),
            Ok(_) => "no session left now".to_string(),
            Err(e) => DbMessage(&e).to_string(),
        }
    }

    /// Drop previous copies of `target` beyond the `keep` newest. Returns the kept
    /// ones (newest first) and notes.
    pub async fn prune_previous(
        &self,
        target: &str,
        keep: usize,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let mut prev: Vec<(String, String)> = self
            .beside(target)
            .await?
            .into_iter()
            .filter(|(_, k, _)| *k == Beside::Prev)
            .map(|(n, _, key)| (key, n))
            .collect();
        prev.sort_by(|a, b| b.cmp(a));
        let mut kept = Vec::new();
        let mut notes = Vec::new();
        for (i, (_, name)) in prev.into_iter().enumerate() {
            if i < keep {
                kept.push(name);
                continue;
            }
            match self
                .client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {}", ident(&name)))
                .await
            {
                Ok(()) => notes.push(format!("dropped previous copy {name}")),
                Err(e) => notes.push(format!(
                    "could not drop previous copy {name}: {}",
                    DbMessage(&e)
                )),
            }
        }
        Ok((kept, notes))
    }
}

/// The advisory lock key of a replace of `target`.
fn lock_key(target: &str) -> i32 {
    (xxh3_64(target.as_bytes()) & 0x7fff_ffff) as i32
}

/// End the client sessions of `db` this role may end (its own and its roles', or
/// any with pg_signal_backend, never a superuser's unless a superuser); background
/// workers such as autovacuum are ended by the rename itself.
fn terminate_sql(db: &str) -> String {
    format!(
        "SELECT count(pg_catalog.pg_terminate_backend(a.pid)) \
         FROM pg_catalog.pg_stat_activity a \
         LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.usesysid \
         WHERE a.datname = {} AND a.pid <> pg_catalog.pg_backend_pid() \
           AND a.backend_type = 'client backend' \
           AND ((SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) \
                OR (NOT coalesce(r.rolsuper, true) \
                    AND (pg_catalog.pg_has_role(a.usesysid, 'MEMBER') \
                         OR pg_catalog.pg_has_role('pg_signal_backend', 'MEMBER'))));\n",
        literal(db)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_beside_the_target_round_trip() {
        let ts = "20261207T232505Z";
        for target in ["live", "My Db", "ü", &"x".repeat(63), &"é".repeat(31)] {
            for kind in [Beside::New, Beside::Prev] {
                for n in [1, 2, 17] {
                    let name = beside_name(target, kind, ts, n);
                    assert!(name.len() <= MAX_NAME, "{name} is {} bytes", name.len());
                    let (k, key) = parse_beside(target, &name).expect(&name);
                    assert_eq!(k, kind);
                    assert_eq!(key, format!("{ts}_{n:04}"));
                }
            }
        }
    }

    #[test]
    fn only_our_names_are_recognised() {
        let t = "live";
        for other in [
            "live",
            "live_copy",
            "live_pgdump_prev_",
            "live_pgdump_prev_2026",
            "live_pgdump_prev_20261207T232505",
            "live_pgdump_prev_20261207T232505Z_1",
            "live_pgdump_prev_20261207T232505Z_x",
            "live_pgdump_old_20261207T232505Z",
            "livex_pgdump_prev_20261207T232505Z",
            "other_pgdump_prev_20261207T232505Z",
        ] {
            assert_eq!(parse_beside(t, other), None, "{other}");
        }
        // two long names that share their first bytes do not share their copies
        let a = format!("{}a", "n".repeat(60));
        let b = format!("{}b", "n".repeat(60));
        let name = beside_name(&a, Beside::Prev, "20261207T232505Z", 1);
        assert!(parse_beside(&a, &name).is_some());
        assert!(parse_beside(&b, &name).is_none());
    }

    #[test]
    fn newest_sorts_last() {
        let k = |ts: &str, n| {
            parse_beside("t", &beside_name("t", Beside::Prev, ts, n))
                .unwrap()
                .1
        };
        assert!(k("20261207T232505Z", 1) < k("20261207T232505Z", 2));
        assert!(k("20261207T232505Z", 9) < k("20261207T232506Z", 1));
        assert!(k("20261207T232505Z", 11) > k("20261207T232505Z", 2));
    }

    #[test]
    fn timestamps_have_the_form() {
        let ts = timestamp();
        assert_eq!(ts.len(), 16, "{ts}");
        assert!(parse_beside("t", &beside_name("t", Beside::New, &ts, 1)).is_some());
    }
}
