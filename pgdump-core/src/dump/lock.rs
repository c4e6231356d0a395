//! ACCESS SHARE locks on every dumped table, batched, before any server-side
//! deparse function runs.

use std::time::Duration;

use tokio_postgres::Client;

use crate::catalog::Relation;
use crate::error::{QueryContext, Result};
use crate::quote::qualify;

/// Upper bound of one LOCK statement's text.
const MAX_LOCK_SQL: usize = 100_000;

/// The LOCK statements for `rels`, each at most about [`MAX_LOCK_SQL`] bytes.
pub fn lock_statements<'a>(rels: impl IntoIterator<Item = &'a Relation>) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut len = 0;
    for r in rels {
        let name = qualify(&r.schema, &r.name);
        if !cur.is_empty() && len + name.len() > MAX_LOCK_SQL {
            out.push(lock_sql(&cur, false));
            cur.clear();
            len = 0;
        }
        len += name.len() + 7;
        cur.push(name);
    }
    if !cur.is_empty() {
        out.push(lock_sql(&cur, false));
    }
    out
}

/// `LOCK TABLE ONLY a, ONLY b ... IN ACCESS SHARE MODE [NOWAIT]` for the quoted,
/// qualified `tables` (`ONLY` binds to one name: without it on each, the children
/// of an inheritance parent would be locked too, dumped or not).
pub fn lock_sql<S: AsRef<str>>(tables: &[S], nowait: bool) -> String {
    let mut sql = String::from("LOCK TABLE ");
    for (i, t) in tables.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str("ONLY ");
        sql.push_str(t.as_ref());
    }
    sql.push_str(" IN ACCESS SHARE MODE");
    if nowait {
        sql.push_str(" NOWAIT");
    }
    sql
}

/// Lock the tables, waiting at most `timeout` for each statement.
pub async fn lock_tables(
    client: &Client,
    rels: &[&Relation],
    timeout: Option<Duration>,
) -> Result<()> {
    if let Some(t) = timeout {
        client
            .batch_execute(&format!("SET lock_timeout = {}", t.as_millis().max(1)))
            .await
            .context(|| "setting lock_timeout".to_string())?;
    }
    for stmt in lock_statements(rels.iter().copied()) {
        client
            .batch_execute(&stmt)
            .await
            .context(|| "locking the tables to dump".to_string())?;
    }
    if timeout.is_some() {
        client
            .batch_execute("SET lock_timeout = 0")
            .await
            .context(|| "resetting lock_timeout".to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(name: &str) -> Relation {
        Relation {
            oid: 1,
            nsp: 1,
            schema: "s".into(),
            name: name.into(),
            relkind: 'r',
            owner: "o".into(),
            persistence: 'p',
            is_partition: false,
            relpages: 0,
            reltuples: 0.0,
            dump: true,
            dump_data: true,
            ext_member: false,
            ext_config_filter: None,
        }
    }

    #[test]
    fn batches() {
        let rels = vec![rel("a"), rel("B")];
        assert_eq!(
            lock_statements(&rels),
            vec!["LOCK TABLE ONLY s.a, ONLY s.\"B\" IN ACCESS SHARE MODE"]
        );
        assert_eq!(
            lock_sql(&["s.a"], true),
            "LOCK TABLE ONLY s.a IN ACCESS SHARE MODE NOWAIT"
        );
        let many: Vec<Relation> = (0..20000).map(|i| rel(&format!("table_{i}"))).collect();
        let stmts = lock_statements(&many);
        assert!(stmts.len() > 1);
        assert!(stmts.iter().all(|s| s.len() < MAX_LOCK_SQL + 200));
    }
}
