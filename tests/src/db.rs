//! Databases in a cluster, and connections to them.
//!
//! Async helpers use tokio-postgres on the caller's runtime. The sync helpers run their
//! own small runtime on a scoped thread, so they also work inside `#[tokio::test]`.

use std::future::Future;

use anyhow::{bail, Context, Result};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use crate::Cluster;

/// Runs a future to completion on a fresh current-thread runtime on another thread (so it
/// can be called from sync code and from inside an async runtime alike).
pub fn block_on<F>(fut: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cannot build a tokio runtime")
                .block_on(fut)
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Quotes an identifier for SQL.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A database name from a test's prefix: lowercase ASCII letters, digits and `_`.
fn sanitize(prefix: &str) -> String {
    let mut s: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    s.truncate(40);
    if s.is_empty() {
        s.push_str("db");
    }
    s
}

impl Cluster {
    /// Connects to `db`; the connection's driver runs as a task on the current tokio
    /// runtime (call this from async code).
    pub async fn connect(&self, db: &str) -> Result<Client> {
        let (client, connection) = tokio_postgres::connect(&self.conn_string(db), NoTls)
            .await
            .with_context(|| format!("cannot connect to {}", self.url(db)))?;
        tokio::spawn(async move {
            // errors surface on the client side; a closed connection ends the task
            let _ = connection.await;
        });
        Ok(client)
    }

    /// Runs `sql` (one or more statements, simple protocol) in `db` and returns every row of
    /// every statement, each value as text (NULL as `None`).
    pub async fn query_async(&self, db: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let client = self.connect(db).await?;
        let messages = client.simple_query(sql).await.with_context(|| {
            format!(
                "query failed in {db} on PostgreSQL {}: {sql}\nserver log:\n{}",
                self.major(),
                self.server_log_tail(10)
            )
        })?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_owned))
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }

    /// Sync [`Cluster::query_async`].
    pub fn query(&self, db: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        block_on(self.query_async(db, sql))
    }

    /// Runs `sql` (one or more statements) in `db`, discarding results.
    pub fn execute(&self, db: &str, sql: &str) -> Result<()> {
        self.query(db, sql).map(drop)
    }

    /// The single value of a query returning one row with one column (NULL is an error).
    pub fn query_value(&self, db: &str, sql: &str) -> Result<String> {
        let rows = self.query(db, sql)?;
        match rows.as_slice() {
            [row] if row.len() == 1 => row[0].clone().with_context(|| format!("NULL from: {sql}")),
            _ => bail!("expected one row with one column from: {sql}, got {rows:?}"),
        }
    }

    /// `count(*)` of a table (`table` is used as written: qualify and quote it yourself).
    pub fn count_rows(&self, db: &str, table: &str) -> Result<u64> {
        self.query_value(db, &format!("SELECT count(*) FROM {table}"))?
            .parse()
            .context("count(*) is not a number")
    }

    /// `server_version_num`, e.g. 170010.
    pub fn server_version_num(&self) -> Result<u32> {
        self.query_value("postgres", "SHOW server_version_num")?
            .parse()
            .context("server_version_num is not a number")
    }

    /// Creates an empty database (from template0, UTF8) with a unique name built from
    /// `prefix`, and returns the name.
    pub fn create_db(&self, prefix: &str) -> Result<String> {
        let name = format!("{}_{}", sanitize(prefix), self.next_db_number());
        self.create_db_named(&name)?;
        Ok(name)
    }

    /// Creates an empty database (from template0, UTF8) called exactly `name`.
    pub fn create_db_named(&self, name: &str) -> Result<()> {
        self.execute(
            "postgres",
            &format!(
                "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'",
                quote_ident(name)
            ),
        )
        .with_context(|| format!("cannot create database {name}"))
    }

    /// Drops a database if it exists, disconnecting its sessions first.
    pub fn drop_db(&self, name: &str) -> Result<()> {
        let literal = name.replace('\'', "''");
        let mut last = None;
        for _ in 0..10 {
            self.execute(
                "postgres",
                &format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{literal}' AND pid <> pg_backend_pid()"
                ),
            )?;
            match self.execute(
                "postgres",
                &format!("DROP DATABASE IF EXISTS {}", quote_ident(name)),
            ) {
                Ok(()) => return Ok(()),
                // a terminated session can take a moment to go away
                Err(e) if format!("{e:#}").contains("being accessed by other users") => {
                    last = Some(e);
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                Err(e) => return Err(e.context(format!("cannot drop database {name}"))),
            }
        }
        Err(last
            .unwrap_or_else(|| anyhow::anyhow!("unknown"))
            .context(format!("cannot drop database {name}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize("Dump/Round-Trip"), "dump_round_trip");
        assert_eq!(sanitize(""), "db");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
