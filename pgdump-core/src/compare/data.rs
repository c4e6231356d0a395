//! Table contents and sequence values, compared by order-independent hashes.

use std::collections::BTreeMap;

use futures::StreamExt;
use tokio_postgres::Client;

use crate::copy_data::row_hash;
use crate::error::{QueryContext, Result};
use crate::quote::{ident, qualify};

/// Rows and order-independent hash of one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableHash {
    /// Row count.
    pub rows: u64,
    /// Wrapping sum of the rows' hashes.
    pub hash: u64,
}

/// Tables with storage (plain tables, partitions, populated materialized views):
/// `schema.name` → the SELECT list to hash (columns sorted by name, floats as
/// their exact binary form so that old and new servers print the same).
pub async fn tables(client: &Client) -> Result<BTreeMap<String, (String, String, String)>> {
    let rows = client
        .query(
            "SELECT n.nspname, c.relname, \
                    coalesce(pg_catalog.string_agg(a.attname || ':' || a.atttypid::text, '\x01' ORDER BY a.attname), '') \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE (c.relkind = 'r' OR (c.relkind = 'm' AND c.relispopulated)) \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast' \
               AND n.nspname !~ '^pg_temp_' \
             GROUP BY n.nspname, c.relname",
            &[],
        )
        .await
        .context(|| "listing tables".to_string())?;
    let mut out = BTreeMap::new();
    for r in rows {
        let schema: String = r.get(0);
        let name: String = r.get(1);
        let cols: String = r.get(2);
        let list: Vec<String> = cols
            .split('\x01')
            .filter(|c| !c.is_empty())
            .map(|c| {
                let (col, ty) = c.rsplit_once(':').unwrap_or((c, "0"));
                match ty {
                    "700" => format!(
                        "pg_catalog.encode(pg_catalog.float4send({}), 'hex')",
                        ident(col)
                    ),
                    "701" => format!(
                        "pg_catalog.encode(pg_catalog.float8send({}), 'hex')",
                        ident(col)
                    ),
                    _ => ident(col),
                }
            })
            .collect();
        out.insert(format!("{schema}.{name}"), (schema, name, list.join(", ")));
    }
    Ok(out)
}

/// Hash one table's rows.
pub async fn hash_table(
    client: &Client,
    schema: &str,
    name: &str,
    select: &str,
) -> Result<TableHash> {
    let sql = format!(
        "COPY (SELECT {select} FROM ONLY {}) TO STDOUT",
        qualify(schema, name)
    );
    let stream = client
        .copy_out(sql.as_str())
        .await
        .context(|| format!("reading {schema}.{name}"))?;
    futures::pin_mut!(stream);
    let mut h = TableHash::default();
    let mut pending: Vec<u8> = Vec::new();
    while let Some(piece) = stream.next().await {
        let piece = piece.context(|| format!("reading {schema}.{name}"))?;
        pending.extend_from_slice(&piece);
        let mut start = 0;
        while let Some(i) = pending
            .get(start..)
            .and_then(|s| s.iter().position(|&b| b == b'\n'))
        {
            let end = start + i + 1;
            h.rows += 1;
            h.hash = h
                .hash
                .wrapping_add(row_hash(pending.get(start..end).unwrap_or(&[])));
            start = end;
        }
        pending.drain(..start);
    }
    Ok(h)
}

/// `last_value` and `is_called` of every user sequence.
pub async fn sequences(client: &Client) -> Result<BTreeMap<String, String>> {
    let names = client
        .query(
            "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
            &[],
        )
        .await
        .context(|| "listing sequences".to_string())?;
    let mut out = BTreeMap::new();
    for chunk in names.chunks(500) {
        let parts: Vec<String> = chunk
            .iter()
            .map(|r| {
                let (s, n): (String, String) = (r.get(0), r.get(1));
                format!(
                    "SELECT {}::text, last_value::text || ' ' || is_called::text FROM {}",
                    crate::quote::literal(&format!("{s}.{n}")),
                    qualify(&s, &n)
                )
            })
            .collect();
        let rows = client
            .query(parts.join(" UNION ALL ").as_str(), &[])
            .await
            .context(|| "reading sequence values".to_string())?;
        for r in rows {
            out.insert(r.get(0), r.get(1));
        }
    }
    Ok(out)
}
