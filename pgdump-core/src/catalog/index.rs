//! Indexes that no constraint owns (`CREATE INDEX`), and the attachment of
//! partition indexes to their parent (`INDEX ATTACH`).
//!
//! * A plain index (plain columns, `INCLUDE`, collations, operator classes,
//!   DESC/NULLS; no expression, predicate, storage option, opclass option or
//!   NULLS NOT DISTINCT, not partitioned) is written from the catalog, as
//!   `pg_get_indexdef` would write it (see [`Plain`]); any other from
//!   `pg_get_indexdef`. On a partitioned table that reads `CREATE INDEX ... ON
//!   ONLY parent` (11+).
//! * Then, in the same item: `ALTER INDEX i ALTER COLUMN n SET STATISTICS v`
//!   for expression columns with a target (11+), `ALTER TABLE t CLUSTER ON i`,
//!   `ALTER TABLE ONLY t REPLICA IDENTITY USING INDEX i`.
//! * `ALTER INDEX parent ATTACH PARTITION child` for every dumped partition
//!   index with a parent index, including indexes of PRIMARY KEY / UNIQUE /
//!   EXCLUDE constraints (their definitions are `constraint.rs`'s).
//! * Invalid indexes (a failed `CREATE INDEX CONCURRENTLY`) are not dumped, as
//!   by pg_dump, except partitioned indexes (invalid until every partition has
//!   its index attached).
//! * Indexes on tables and materialized views; comments on indexes.

use super::comment::{comment_item, CommentTarget};
use super::{class, Dep, Item, Kind, Loader, ObjRef, Oid, Scope, ServerVersion};
use crate::error::{CoreError, Result};
use crate::quote::{ident, qualify};

/// Relation kinds whose indexes are dumped.
const INDEXED_RELKINDS: &[char] = &['r', 'p', 'm'];

/// One index row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Index {
    oid: Oid,
    relid: Oid,
    name: String,
    /// Backs a PRIMARY KEY / UNIQUE / EXCLUDE constraint.
    constraint: bool,
    /// `pg_get_indexdef` (indexes without a constraint that `plain` cannot describe).
    def: Option<String>,
    /// A plain index described from the catalog (see [`Plain`]), instead of `def`.
    plain: Option<Plain>,
    clustered: bool,
    replident: bool,
    /// Index columns with a statistics target: (column number, target).
    stats: Vec<(i16, i32)>,
    /// The parent index (11+): OID, schema, name.
    parent: Option<(Oid, String, String)>,
    /// Table of the parent index.
    parent_table: Option<Oid>,
}

/// An index on plain columns, with no expression, predicate, storage option,
/// opclass option or NULLS NOT DISTINCT, on a table that is not partitioned: the
/// kind nearly every schema is made of. Its `CREATE INDEX` is assembled from the
/// catalog instead of by `pg_get_indexdef`, which costs a server backend
/// ~50-150 us an index it has not yet seen (it opens the table's relation cache
/// entry and looks up every column, operator class and access method): 2,000
/// indexes took 170-300 ms of the `many` benchmark's dump, their columns ~20 ms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Plain {
    unique: bool,
    /// Access method (`btree`, `hash`, ...).
    method: String,
    /// Number of key columns; the others are `INCLUDE`d.
    key_columns: usize,
    /// Every column as the server writes it in the index definition (see
    /// [`PLAIN_COLUMN_SQL`]).
    columns: Vec<String>,
}

/// One column of a plain index (`x`: the index's `indkey`, `indclass`,
/// `indcollation`, `indoption` entries and position `n`; `a`: the table's column;
/// `o`/`onsp`: the operator class; `co`/`cnsp`: the collation), as
/// `pg_get_indexdef` writes it: the name, then for key columns the collation when
/// it is not the column's, the operator class when it is not the type's default
/// (both qualified unless in pg_catalog: the dump's search_path is empty; the
/// class a type reaches only by binary coercion other than varchar's `text_ops`,
/// e.g. `array_ops`, is named: the same index either way) and the order options
/// (`indoption` bit 1 DESC, bit 2 NULLS FIRST).
const PLAIN_COLUMN_SQL: &str = "pg_catalog.quote_ident(a.attname) || CASE WHEN x.n <= {nkey} THEN \
       CASE WHEN co.oid IS NOT NULL AND x.coll <> a.attcollation THEN ' COLLATE ' || \
            CASE WHEN cnsp.nspname = 'pg_catalog' THEN '' \
                 ELSE pg_catalog.quote_ident(cnsp.nspname) || '.' END \
            || pg_catalog.quote_ident(co.collname) ELSE '' END \
    || CASE WHEN o.oid IS NOT NULL AND NOT (o.opcdefault AND (o.opcintype = a.atttypid \
                 OR (o.opcintype = 'pg_catalog.text'::pg_catalog.regtype \
                     AND a.atttypid = 'pg_catalog.varchar'::pg_catalog.regtype))) THEN ' ' || \
            CASE WHEN onsp.nspname = 'pg_catalog' THEN '' \
                 ELSE pg_catalog.quote_ident(onsp.nspname) || '.' END \
            || pg_catalog.quote_ident(o.opcname) ELSE '' END \
    || CASE WHEN x.opt::pg_catalog.int4 & 1 <> 0 THEN \
              CASE WHEN x.opt::pg_catalog.int4 & 2 = 0 THEN ' DESC NULLS LAST' ELSE ' DESC' END \
            WHEN x.opt::pg_catalog.int4 & 2 <> 0 THEN ' NULLS FIRST' ELSE '' END \
    ELSE '' END";

/// `CREATE [UNIQUE] INDEX name ON table USING method (...) [INCLUDE (...)]`.
fn plain_def(p: &Plain, name: &str, table: &str) -> String {
    let n = p.key_columns.min(p.columns.len());
    let mut sql = format!(
        "CREATE {}INDEX {} ON {table} USING {} ({})",
        if p.unique { "UNIQUE " } else { "" },
        ident(name),
        ident(&p.method),
        p.columns[..n].join(", ")
    );
    if n < p.columns.len() {
        sql.push_str(&format!(" INCLUDE ({})", p.columns[n..].join(", ")));
    }
    sql
}

/// Indexes of the relations `$1` (locked tables, or materialized views).
///
/// Set-based: the index rows (`ix`) are read once; the columns of the plain
/// candidates (`x`, one row per index column) are aggregated in one pass, each
/// looking up its table column and its own opclass options (`io`) by index; the
/// `pg_attribute` rows of the other indexes (`ia`: statistics targets, which only
/// expression columns can have, and opclass options) in another. A per-index
/// LATERAL join with two ARRAY subplans cost a fresh backend 180 ms on 4,000
/// indexes, this 120 ms.
fn query_sql(v: ServerVersion) -> String {
    let (parent_cols, parent_join) = if v.at_least(11) {
        (
            "inh.inhparent, pn.nspname::pg_catalog.text, pic.relname::pg_catalog.text, pi.indrelid",
            "LEFT JOIN pg_catalog.pg_inherits inh ON inh.inhrelid = ix.indexrelid \
             LEFT JOIN pg_catalog.pg_class pic ON pic.oid = inh.inhparent \
             LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pic.relnamespace \
             LEFT JOIN pg_catalog.pg_index pi ON pi.indexrelid = inh.inhparent",
        )
    } else {
        (
            "NULL::pg_catalog.oid, NULL::pg_catalog.text, NULL::pg_catalog.text, NULL::pg_catalog.oid",
            "",
        )
    };
    let nkey = v.index_key_columns_sql();
    let not_partitioned = if v.at_least(11) {
        "ic.relkind = 'i'"
    } else {
        "true"
    };
    let nulls_distinct = if v.at_least(15) {
        "NOT i.indnullsnotdistinct"
    } else {
        "true"
    };
    // Before 12 every CTE is materialized and the keyword does not exist.
    let materialized = if v.at_least(12) { "MATERIALIZED" } else { "" };
    let column = PLAIN_COLUMN_SQL.replace("{nkey}", "x.nkey");
    // `p.cols` is NULL unless the index is plain: then `pg_get_indexdef` writes it.
    format!(
        "WITH ix AS {materialized} ( \
            SELECT i.indexrelid, i.indrelid, ic.relname::pg_catalog.text AS relname, ic.relam, \
                   i.indisclustered, i.indisreplident, i.indisunique, i.indnatts, \
                   {nkey}::pg_catalog.int4 AS nkey, \
                   ({not_partitioned} AND {nulls_distinct} AND i.indexprs IS NULL \
                    AND i.indpred IS NULL AND ic.reloptions IS NULL) AS simple, \
                   i.indkey, i.indclass, i.indcollation, i.indoption, \
                   i.indexrelid IN (SELECT c.conindid FROM pg_catalog.pg_constraint c \
                       WHERE c.conrelid = ANY($1::pg_catalog.oid[]) \
                         AND c.contype IN ('p', 'u', 'x')) AS is_con \
            FROM pg_catalog.pg_index i \
            JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
            WHERE i.indrelid = ANY($1::pg_catalog.oid[]) \
              AND (i.indisvalid OR ic.relkind = 'I') \
         ), x AS ( \
            SELECT ix.indexrelid, ix.indrelid, ix.nkey, x.att, x.cls, x.coll, x.opt, x.n \
            FROM ix CROSS JOIN LATERAL ROWS FROM ( \
                   pg_catalog.unnest(ix.indkey::pg_catalog.int2[]), \
                   pg_catalog.unnest(ix.indclass::pg_catalog.oid[]), \
                   pg_catalog.unnest(ix.indcollation::pg_catalog.oid[]), \
                   pg_catalog.unnest(ix.indoption::pg_catalog.int2[])) \
                 WITH ORDINALITY AS x(att, cls, coll, opt, n) \
            WHERE ix.simple AND NOT ix.is_con \
         ), plain AS ( \
            SELECT x.indexrelid, pg_catalog.count(a.attnum) AS found, \
                   pg_catalog.bool_or(io.attoptions IS NOT NULL) AS options, \
                   pg_catalog.array_agg({column} ORDER BY x.n) AS cols \
            FROM x \
            LEFT JOIN LATERAL (SELECT a.attname, a.attnum, a.atttypid, a.attcollation \
                 FROM pg_catalog.pg_attribute a \
                 WHERE a.attrelid = x.indrelid AND a.attnum = x.att AND x.att > 0 OFFSET 0) a ON true \
            LEFT JOIN LATERAL (SELECT io.attoptions FROM pg_catalog.pg_attribute io \
                 WHERE io.attrelid = x.indexrelid AND io.attnum = x.n OFFSET 0) io ON true \
            LEFT JOIN pg_catalog.pg_opclass o ON o.oid = x.cls \
            LEFT JOIN pg_catalog.pg_namespace onsp ON onsp.oid = o.opcnamespace \
            LEFT JOIN pg_catalog.pg_collation co ON co.oid = x.coll \
            LEFT JOIN pg_catalog.pg_namespace cnsp ON cnsp.oid = co.collnamespace \
            GROUP BY x.indexrelid \
         ), ia AS ( \
            SELECT ia.attrelid, \
                   pg_catalog.array_agg(ia.attnum ORDER BY ia.attnum) AS stat_cols, \
                   pg_catalog.array_agg(ia.attstattarget::pg_catalog.int4 ORDER BY ia.attnum) \
                       AS stat_targets \
            FROM pg_catalog.pg_attribute ia \
            WHERE ia.attrelid IN (SELECT indexrelid FROM ix WHERE NOT simple) \
              AND ia.attstattarget >= 0 \
            GROUP BY ia.attrelid \
         ) \
         SELECT ix.indexrelid, ix.indrelid, ix.relname, ix.is_con, \
                CASE WHEN p.cols IS NULL AND NOT ix.is_con \
                     THEN pg_catalog.pg_get_indexdef(ix.indexrelid) END, \
                ix.indisclustered, ix.indisreplident, ia.stat_cols, ia.stat_targets, \
                {parent_cols}, \
                ix.indisunique, am.amname::pg_catalog.text, ix.nkey, p.cols \
         FROM ix \
         LEFT JOIN ia ON ia.attrelid = ix.indexrelid \
         LEFT JOIN plain p ON p.indexrelid = ix.indexrelid AND p.found = ix.indnatts \
              AND NOT p.options \
         LEFT JOIN pg_catalog.pg_am am ON am.oid = ix.relam \
         {parent_join} \
         ORDER BY ix.indexrelid"
    )
}

/// The index item's SQL: the definition and the settings that follow it.
fn index_sql(def: &str, index: &str, name: &str, table: &str, x: &Index) -> String {
    let mut sql = format!("{def};\n");
    for (col, target) in &x.stats {
        sql.push_str(&format!(
            "ALTER INDEX {index} ALTER COLUMN {col} SET STATISTICS {target};\n"
        ));
    }
    if x.clustered {
        sql.push_str(&format!(
            "ALTER TABLE {table} CLUSTER ON {};\n",
            ident(name)
        ));
    }
    if x.replident {
        sql.push_str(&format!(
            "ALTER TABLE ONLY {table} REPLICA IDENTITY USING INDEX {};\n",
            ident(name)
        ));
    }
    sql
}

/// `ALTER INDEX parent ATTACH PARTITION child;`
fn attach_sql(parent: &str, child: &str) -> String {
    format!("ALTER INDEX {parent} ATTACH PARTITION {child};\n")
}

fn index_items(x: &Index, scope: &Scope) -> Result<Vec<Item>> {
    let Some(rel) = scope.relation(x.relid) else {
        return Ok(Vec::new());
    };
    let obj = ObjRef::new(class::PG_CLASS, x.oid);
    let table = qualify(&rel.schema, &rel.name);
    let q = qualify(&rel.schema, &x.name);
    let mut items = Vec::new();
    if !x.constraint {
        let def = match (&x.plain, &x.def) {
            (Some(p), _) if !p.columns.is_empty() => plain_def(p, &x.name, &table),
            (_, Some(def)) => def.clone(),
            _ => {
                return Err(CoreError::Catalog(format!(
                    "index {q} was dropped during the dump"
                )))
            }
        };
        let mut it = Item::new(
            Kind::Index,
            obj,
            x.name.clone(),
            index_sql(&def, &q, &x.name, &table, x),
        )
        .primary()
        .schema(rel.schema.clone())
        .drop(format!("DROP INDEX IF EXISTS {q};\n"))
        .dep(Dep::Obj(ObjRef::new(class::PG_CLASS, x.relid)))
        .meta("table", table.clone());
        it.owner = Some(rel.owner.clone());
        items.push(it);
        let ct = CommentTarget {
            obj,
            sql_kind: "INDEX",
            sql_name: &q,
            schema: Some(&rel.schema),
            tag: &x.name,
            owner: Some(&rel.owner),
        };
        items.extend(comment_item(scope, &ct));
    }
    if let (Some((poid, pschema, pname)), Some(ptable)) = (&x.parent, x.parent_table) {
        if let Some(prel) = scope.relation(ptable).filter(|r| r.dump) {
            let pobj = ObjRef::new(class::PG_CLASS, *poid);
            let mut it = Item::new(
                Kind::IndexAttach,
                obj,
                x.name.clone(),
                attach_sql(&qualify(pschema, pname), &q),
            )
            .schema(rel.schema.clone())
            .dep(Dep::Obj(pobj))
            .dep(Dep::Obj(obj))
            .meta("table", qualify(&prel.schema, &prel.name));
            it.owner = Some(rel.owner.clone());
            items.push(it);
        }
    }
    Ok(items)
}

fn row_to_index(r: &tokio_postgres::Row) -> Index {
    let cols: Vec<i16> = r.get::<_, Option<Vec<i16>>>(7).unwrap_or_default();
    let targets: Vec<i32> = r.get::<_, Option<Vec<i32>>>(8).unwrap_or_default();
    let parent = match (
        r.get::<_, Option<Oid>>(9),
        r.get::<_, Option<String>>(10),
        r.get::<_, Option<String>>(11),
    ) {
        (Some(o), Some(s), Some(n)) => Some((o, s, n)),
        _ => None,
    };
    let plain = r.get::<_, Option<Vec<String>>>(16).map(|columns| Plain {
        unique: r.get(13),
        method: r.get(14),
        key_columns: usize::try_from(r.get::<_, i32>(15)).unwrap_or(0),
        columns,
    });
    Index {
        oid: r.get(0),
        relid: r.get(1),
        name: r.get(2),
        constraint: r.get(3),
        def: r.get(4),
        plain,
        clustered: r.get(5),
        replident: r.get(6),
        stats: cols.into_iter().zip(targets).collect(),
        parent,
        parent_table: r.get(12),
    }
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let rels = scope.rel_oids(INDEXED_RELKINDS);
    if rels.is_empty() {
        return Ok(Vec::new());
    }
    let rows = l.query("indexes", &query_sql(l.version), &[&rels]).await?;
    let mut items = Vec::new();
    for r in &rows {
        items.extend(index_items(&row_to_index(r), scope)?);
    }
    Ok(items)
}

/// Indexes in scope this module cannot reproduce: those in a tablespace (the
/// DDL leaves the tablespace out).
pub(crate) async fn unsupported(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    let rels = scope.rel_oids(INDEXED_RELKINDS);
    if rels.is_empty() {
        return Ok(Vec::new());
    }
    let sql = "SELECT i.indrelid, ic.relname::pg_catalog.text, ts.spcname::pg_catalog.text \
               FROM pg_catalog.pg_index i \
               JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
               JOIN pg_catalog.pg_tablespace ts ON ts.oid = ic.reltablespace \
               WHERE i.indrelid = ANY($1::pg_catalog.oid[]) \
                 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c \
                                 WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid \
                                   AND c.contype IN ('p', 'u', 'x')) \
               ORDER BY i.indexrelid";
    let rows = l.query("unsupported indexes", sql, &[&rels]).await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let rel = scope.relation(r.get(0))?;
            Some(format!(
                "index {}: in tablespace {} (tablespaces are not supported)",
                qualify(&rel.schema, &r.get::<_, String>(1)),
                ident(&r.get::<_, String>(2))
            ))
        })
        .collect())
}

/// An index of synthetic table `i` with a statistics target: the DDL benchmark's index.
#[cfg(feature = "bench-internals")]
pub(crate) fn bench_ddl(i: usize) -> String {
    let name = format!("t{i}_col_1_idx");
    let x = Index {
        name: name.clone(),
        stats: vec![(1, 500)],
        ..Index::default()
    };
    let def = format!("CREATE INDEX {name} ON app.t{i} USING btree (col_1)");
    index_sql(
        &def,
        &qualify("app", &name),
        &name,
        &format!("app.t{i}"),
        &x,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_index_as_the_server_writes_it() {
        let p = Plain {
            unique: false,
            method: "btree".into(),
            key_columns: 1,
            columns: vec!["name".into()],
        };
        assert_eq!(
            plain_def(&p, "t1_name_idx", "app.t1"),
            "CREATE INDEX t1_name_idx ON app.t1 USING btree (name)"
        );
        let p = Plain {
            unique: true,
            method: "btree".into(),
            key_columns: 2,
            columns: vec![
                "\"Customer\"".into(),
                "note COLLATE \"C\" text_pattern_ops DESC NULLS LAST".into(),
                "total".into(),
                "\"select\"".into(),
            ],
        };
        assert_eq!(
            plain_def(&p, "Orders idx", "cov.orders"),
            "CREATE UNIQUE INDEX \"Orders idx\" ON cov.orders USING btree (\"Customer\", \
             note COLLATE \"C\" text_pattern_ops DESC NULLS LAST) INCLUDE (total, \"select\")"
        );
    }

    #[test]
    fn plain_columns_sql_covers_every_clause() {
        let sql = query_sql(ServerVersion(150000));
        for clause in [
            "' COLLATE '",
            "' DESC NULLS LAST'",
            "' DESC'",
            "' NULLS FIRST'",
            "i.indnkeyatts",
            "NOT i.indnullsnotdistinct AND i.indexprs IS NULL",
            "i.indpred IS NULL AND ic.reloptions IS NULL",
            "WITH ix AS MATERIALIZED",
        ] {
            assert!(sql.contains(clause), "{clause}");
        }
        let old = query_sql(ServerVersion(100000));
        assert!(!old.contains("indnkeyatts") && !old.contains("indnullsnotdistinct"));
        assert!(
            !old.contains("MATERIALIZED"),
            "CTEs are materialized without it before 12"
        );
    }

    #[test]
    fn index_with_settings() {
        let x = Index {
            name: "orders_cust_date_idx".into(),
            stats: vec![(1, 300)],
            clustered: true,
            replident: true,
            ..Index::default()
        };
        let def = "CREATE INDEX orders_cust_date_idx ON cov_core.orders USING btree (customer_id, ordered_on DESC) \
                   INCLUDE (total, note)";
        assert_eq!(
            index_sql(def, "cov_core.orders_cust_date_idx", &x.name, "cov_core.orders", &x),
            format!(
                "{def};\nALTER INDEX cov_core.orders_cust_date_idx ALTER COLUMN 1 SET STATISTICS 300;\n\
                 ALTER TABLE cov_core.orders CLUSTER ON orders_cust_date_idx;\n\
                 ALTER TABLE ONLY cov_core.orders REPLICA IDENTITY USING INDEX orders_cust_date_idx;\n"
            )
        );
        let plain = Index {
            name: "Odd".into(),
            ..Index::default()
        };
        assert_eq!(
            index_sql(
                "CREATE INDEX \"Odd\" ON s.t USING btree (a)",
                "s.\"Odd\"",
                "Odd",
                "s.t",
                &plain
            ),
            "CREATE INDEX \"Odd\" ON s.t USING btree (a);\n"
        );
    }

    #[test]
    fn attach() {
        assert_eq!(
            attach_sql("cov_part.measurements_pkey", "cov_part.measurements_old_pkey"),
            "ALTER INDEX cov_part.measurements_pkey ATTACH PARTITION cov_part.measurements_old_pkey;\n"
        );
    }

    #[test]
    fn version_branches() {
        assert!(!query_sql(ServerVersion(100000)).contains("pg_inherits"));
        assert!(query_sql(ServerVersion(110000)).contains("pg_inherits"));
    }
}
