//! The dump snapshot: exported once by the leader, imported by every worker.
//!
//! States: [`LeaderSnapshot`] holds the exporting transaction open until the
//! dump is complete (the snapshot dies with it); each worker connection calls
//! [`import`] before reading anything.

use tokio_postgres::Client;

use crate::error::{QueryContext, Result};
use crate::quote::literal;

/// The leader's snapshot transaction.
#[derive(Debug, Clone)]
pub struct LeaderSnapshot {
    /// The exported snapshot id (`pg_export_snapshot()`), or the one given by the user.
    pub id: String,
}

/// Begin the leader's transaction and export (or adopt) the snapshot.
pub async fn begin_leader(
    client: &Client,
    serializable_deferrable: bool,
    given: Option<&str>,
) -> Result<LeaderSnapshot> {
    let begin = if serializable_deferrable {
        "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE"
    } else {
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
    };
    client
        .batch_execute(begin)
        .await
        .context(|| "starting the dump transaction".to_string())?;
    if let Some(id) = given {
        client
            .batch_execute(&format!("SET TRANSACTION SNAPSHOT {}", literal(id)))
            .await
            .context(|| format!("importing snapshot {id}"))?;
        return Ok(LeaderSnapshot { id: id.to_string() });
    }
    let row = client
        .query_one("SELECT pg_catalog.pg_export_snapshot()", &[])
        .await
        .context(|| "exporting the dump snapshot".to_string())?;
    Ok(LeaderSnapshot { id: row.get(0) })
}

/// Begin a worker's transaction in the leader's snapshot.
pub async fn import(client: &Client, snapshot: &LeaderSnapshot) -> Result<()> {
    client
        .batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\nSET TRANSACTION SNAPSHOT {};",
            literal(&snapshot.id)
        ))
        .await
        .context(|| format!("importing the dump snapshot {}", snapshot.id))
}
