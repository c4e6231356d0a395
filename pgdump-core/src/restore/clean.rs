//! `--clean` into an existing database: drop the archive's objects, newest first,
//! inside the caller's open transaction, so that nothing is dropped for good unless
//! the re-creation commits with it.
//!
//! Every drop that fails (an object outside the archive depends on the dropped one: a
//! view created after the dump, a foreign key of another table, a trigger calling a
//! function ...; or a missing privilege) is collected with the server's explanation,
//! and then the whole clean fails, leaving the caller to roll back: the restore stops
//! before anything changed, naming every blocker at once (pg_restore fails halfway).

use pgdump_format::Toc;
use tokio_postgres::Client;

use super::source::object_name;
use crate::error::{CoreError, DbMessage, QueryContext, Result};

/// Drops sent in one request when none fails.
const DROPS_PER_BATCH: usize = 200;

/// The drop statements of the selected entries, newest first.
pub(super) fn drops(toc: &Toc, keep: &[bool]) -> Vec<(usize, String)> {
    toc.entries
        .iter()
        .enumerate()
        .rev()
        .filter(|(i, _)| keep.get(*i).copied().unwrap_or(false))
        .filter_map(|(i, e)| e.drop.as_ref().map(|d| (i, d.clone())))
        .filter(|(_, d)| !d.trim().is_empty())
        .collect()
}

/// Run the drops in the open transaction of `client`. On success the transaction
/// holds them (uncommitted); otherwise the error lists every drop that failed and
/// the transaction must be rolled back.
///
/// A drop can fail only because of the order (a partition's index goes with its
/// parent's index, dropped later): failed drops are tried again after the others
/// until no more succeed (with `IF EXISTS`, one dropped along with another succeeds).
pub(super) async fn drop_in_transaction(client: &Client, toc: &Toc, keep: &[bool]) -> Result<()> {
    let mut pending = drops(toc, keep);
    loop {
        let before = pending.len();
        let mut failed = Vec::new();
        for batch in pending.chunks(DROPS_PER_BATCH) {
            failed.extend(drop_batch(client, toc, batch).await?);
        }
        if failed.is_empty() {
            return Ok(());
        }
        if failed.len() == before {
            return Err(CoreError::CleanBlocked {
                objects: failed.into_iter().map(|(_, _, why)| why).collect(),
            });
        }
        pending = failed.into_iter().map(|(i, d, _)| (i, d)).collect();
    }
}

/// Run a batch of drops (one request when none fails, else one by one, each in a
/// savepoint); returns the drops that failed with why.
async fn drop_batch(
    client: &Client,
    toc: &Toc,
    batch: &[(usize, String)],
) -> Result<Vec<(usize, String, String)>> {
    let what = || "dropping the archive's objects".to_string();
    let mut sql = String::from("SAVEPOINT pgdump_clean;\n");
    for (_, d) in batch {
        sql.push_str(d);
        sql.push('\n');
    }
    sql.push_str("RELEASE SAVEPOINT pgdump_clean;");
    match client.batch_execute(&sql).await {
        Ok(()) => return Ok(Vec::new()),
        Err(e) if crate::error::connection_lost(&e) => return Err(CoreError::query(what(), e)),
        Err(_) => {}
    }
    // Something failed: back to before the batch, then one by one to name every
    // object that cannot be dropped.
    client
        .batch_execute("ROLLBACK TO SAVEPOINT pgdump_clean")
        .await
        .context(what)?;
    let mut failed = Vec::new();
    for (i, d) in batch {
        let one = format!("SAVEPOINT pgdump_drop;\n{d}\nRELEASE SAVEPOINT pgdump_drop;");
        if let Err(e) = client.batch_execute(&one).await {
            if crate::error::connection_lost(&e) {
                return Err(CoreError::query(what(), e));
            }
            let why = format!("{}: {}", object_name(&toc.entries[*i]), why(&e));
            failed.push((*i, d.clone(), why));
            client
                .batch_execute("ROLLBACK TO SAVEPOINT pgdump_drop")
                .await
                .context(what)?;
        }
    }
    client
        .batch_execute("RELEASE SAVEPOINT pgdump_clean")
        .await
        .context(what)?;
    Ok(failed)
}

/// The server's reason, with the dependent objects it lists, without the hint to
/// use CASCADE (which is exactly what must not happen).
fn why(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{} ({})", db.message(), d.replace('\n', "; ")),
            None => db.message().to_string(),
        },
        None => DbMessage(e).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgdump_format::{SectionField, TocEntry};

    fn entry(id: u32, name: &str, drop: Option<&str>) -> TocEntry {
        TocEntry {
            id,
            kind: "TABLE".into(),
            section: SectionField(pgdump_format::Section::PreData),
            schema: Some("public".into()),
            name: name.into(),
            owner: None,
            create: String::new(),
            alter_owner: None,
            drop: drop.map(str::to_string),
            deps: vec![],
            data: None,
            meta: Default::default(),
        }
    }

    #[test]
    fn drops_are_newest_first_and_only_selected() {
        let toc = Toc {
            info: Default::default(),
            entries: vec![
                entry(1, "a", Some("DROP TABLE IF EXISTS public.a;")),
                entry(2, "b", None),
                entry(3, "c", Some("DROP TABLE IF EXISTS public.c;")),
                entry(4, "d", Some("DROP TABLE IF EXISTS public.d;")),
            ],
            streams: vec![],
        };
        let d = drops(&toc, &[true, true, true, false]);
        assert_eq!(
            d,
            vec![
                (2, "DROP TABLE IF EXISTS public.c;".to_string()),
                (0, "DROP TABLE IF EXISTS public.a;".to_string())
            ]
        );
    }
}
