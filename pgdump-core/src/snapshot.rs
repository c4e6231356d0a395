//! The dump snapshot: exported once by the leader, imported by every worker.
//!
//! States: [`LeaderSnapshot`] holds the exporting transaction open until the
//! dump is complete (the snapshot dies with it); each worker connection runs
//! [`import_sql`] before reading anything.

use tokio_postgres::Client;

use crate::error::{CoreError, QueryContext, Result};
use crate::quote::literal;

/// The leader's snapshot transaction.
#[derive(Debug, Clone)]
pub struct LeaderSnapshot {
    /// The exported snapshot id (`pg_export_snapshot()`), or the one given by the user.
    pub id: String,
}

/// The `BEGIN` of the leader's transaction, and `SET TRANSACTION SNAPSHOT` when the
/// user gave a snapshot to adopt.
pub fn begin_sql(serializable_deferrable: bool, given: Option<&str>) -> String {
    let mut sql = String::from(if serializable_deferrable {
        "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE;\n"
    } else {
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n"
    });
    if let Some(id) = given {
        sql.push_str(&format!("SET TRANSACTION SNAPSHOT {};\n", literal(id)));
    }
    sql
}

/// The leader's snapshot: export it (the leader's transaction begun with
/// [`begin_sql`], or begun by a request already sent ahead of this one), or adopt the
/// one the user gave. A simple query, so that it pipelines behind the `BEGIN`.
pub async fn export(client: &Client, given: Option<&str>) -> Result<LeaderSnapshot> {
    if let Some(id) = given {
        return Ok(LeaderSnapshot { id: id.to_string() });
    }
    let msgs = client
        .simple_query("SELECT pg_catalog.pg_export_snapshot()")
        .await
        .context(|| "exporting the dump snapshot".to_string())?;
    let id = msgs
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .ok_or_else(|| CoreError::Internal("pg_export_snapshot() returned nothing".into()))?;
    Ok(LeaderSnapshot { id })
}

/// SQL that begins a worker's transaction in the leader's snapshot.
pub fn import_sql(snapshot: &LeaderSnapshot) -> String {
    format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\nSET TRANSACTION SNAPSHOT {};",
        literal(&snapshot.id)
    )
}
