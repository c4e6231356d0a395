//! Extended statistics objects (`CREATE STATISTICS`), post-data.
//!
//! The definition is the server's `pg_get_statisticsobjdef(oid)`, followed by
//! `ALTER STATISTICS s SET STATISTICS n` when a target is set: `stxstattarget`
//! exists since 13; up to 16 it is an int where -1 means "default", from 17 it
//! is nullable (NULL = default). Only statistics on dumped tables (plain,
//! partitioned, foreign tables and materialized views), in dumped schemas,
//! are dumped, as pg_dump does; they come with their owner and comment.

use super::comment::{comment_item, CommentTarget};
use super::{class, Item, Kind, Loader, ObjRef, Oid, Scope, ServerVersion};
use crate::error::{CoreError, Result};
use crate::quote::{ident, qualify};

/// One `pg_statistic_ext` row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StatsRow {
    oid: Oid,
    name: String,
    nsp: Oid,
    schema: String,
    owner: String,
    relid: Oid,
    /// `pg_get_statisticsobjdef` (None if the object vanished meanwhile).
    def: Option<String>,
    /// The statistics target, when one is set.
    target: Option<i32>,
}

/// Relation kinds statistics can be defined on.
const STATS_RELKINDS: &[char] = &['r', 'p', 'm', 'f'];

/// The catalog query, by server version. The deparse function runs only for
/// statistics of the relations bound as `$1` (dumped; tables are locked).
fn query_sql(v: ServerVersion) -> String {
    format!(
        "SELECT s.oid, s.stxname, s.stxnamespace, n.nspname, \
                pg_catalog.pg_get_userbyid(s.stxowner), s.stxrelid, \
                pg_catalog.pg_get_statisticsobjdef(s.oid), {} \
         FROM pg_catalog.pg_statistic_ext s \
         JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace \
         WHERE s.stxrelid = ANY($1::pg_catalog.oid[]) \
         ORDER BY s.oid",
        if v.at_least(13) {
            "s.stxstattarget::pg_catalog.int4"
        } else {
            "NULL::pg_catalog.int4"
        }
    )
}

/// `CREATE STATISTICS ...;` plus the statistics target, if set (a negative
/// target is the pre-17 spelling of "default").
fn stats_sql(def: &str, qualified: &str, target: Option<i32>) -> String {
    let mut sql = format!("{def};\n");
    if let Some(n) = target.filter(|n| *n >= 0) {
        sql.push_str(&format!(
            "ALTER STATISTICS {qualified} SET STATISTICS {n};\n"
        ));
    }
    sql
}

fn stats_items(s: &StatsRow, scope: &Scope) -> Result<Vec<Item>> {
    let def = s.def.as_deref().ok_or_else(|| {
        CoreError::Catalog(format!(
            "statistics object {}.{} was dropped during the dump",
            s.schema, s.name
        ))
    })?;
    let obj = ObjRef::new(class::PG_STATISTIC_EXT, s.oid);
    let q = qualify(&s.schema, &s.name);
    let table = scope
        .relation(s.relid)
        .map(|r| qualify(&r.schema, &r.name))
        .unwrap_or_default();
    let mut items = vec![Item::new(
        Kind::Statistics,
        obj,
        s.name.clone(),
        stats_sql(def, &q, s.target),
    )
    .primary()
    .schema(s.schema.clone())
    .owner(
        s.owner.clone(),
        format!("ALTER STATISTICS {q} OWNER TO {};\n", ident(&s.owner)),
    )
    .drop(format!("DROP STATISTICS IF EXISTS {q};\n"))
    .meta("table", table)];
    let ct = CommentTarget {
        obj,
        sql_kind: "STATISTICS",
        sql_name: &q,
        schema: Some(&s.schema),
        tag: &s.name,
        owner: Some(&s.owner),
    };
    items.extend(comment_item(scope, &ct));
    Ok(items)
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let rels = scope.rel_oids(STATS_RELKINDS);
    if rels.is_empty() {
        return Ok(Vec::new());
    }
    let rows = l
        .query("extended statistics", &query_sql(l.version), &[&rels])
        .await?;
    let mut items = Vec::new();
    for r in &rows {
        let s = StatsRow {
            oid: r.get(0),
            name: r.get(1),
            nsp: r.get(2),
            schema: r.get(3),
            owner: r.get(4),
            relid: r.get(5),
            def: r.get(6),
            target: r.get(7),
        };
        if !scope.dump_obj(s.nsp, ObjRef::new(class::PG_STATISTIC_EXT, s.oid)) {
            continue;
        }
        items.extend(stats_items(&s, scope)?);
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce: none
/// (statistics on tables that are not dumped are left out, as by pg_dump).
pub(crate) async fn unsupported(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_and_target() {
        let def = "CREATE STATISTICS cov_core.orders_stats (ndistinct, dependencies, mcv) \
                   ON customer_id, ordered_on FROM cov_core.orders";
        assert_eq!(
            stats_sql(def, "cov_core.orders_stats", Some(500)),
            format!("{def};\nALTER STATISTICS cov_core.orders_stats SET STATISTICS 500;\n")
        );
        assert_eq!(stats_sql(def, "x", None), format!("{def};\n"));
        assert_eq!(stats_sql(def, "x", Some(-1)), format!("{def};\n"));
        assert_eq!(
            stats_sql(def, "x", Some(0)),
            format!("{def};\nALTER STATISTICS x SET STATISTICS 0;\n")
        );
    }

    #[test]
    fn version_branches() {
        assert!(query_sql(ServerVersion(120000)).contains("NULL::pg_catalog.int4"));
        assert!(query_sql(ServerVersion(130000)).contains("s.stxstattarget"));
        assert!(query_sql(ServerVersion(170000)).contains("s.stxstattarget::pg_catalog.int4"));
    }
}
