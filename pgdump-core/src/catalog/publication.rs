//! Publications (logical replication, source side).
//!
//! - `CREATE PUBLICATION p [FOR ALL TABLES] WITH (publish = '...'
//!   [, publish_via_partition_root = true (13+)] [, publish_generated_columns = stored (18)])`,
//!   with its owner and comment (post-data `PUBLICATION`);
//! - one `PUBLICATION TABLE` item per member table: `ALTER PUBLICATION p ADD TABLE
//!   ONLY t [(columns) (15+)] [WHERE (filter) (15+)]`, only for dumped tables;
//! - one `PUBLICATION TABLES IN SCHEMA` item per member schema (15+):
//!   `ALTER PUBLICATION p ADD TABLES IN SCHEMA s`, only for dumped schemas.
//!
//! Publications are global to the database: as pg_dump, they are dumped only when
//! the whole database is (no `-n`/`-t`). Subscriptions are not reproduced: they
//! hold connection strings and act on a remote server; `unsupported()` names them.

use std::collections::HashMap;

use super::comment::{comment_item, CommentTarget};
use super::{class, Dep, Item, Kind, Loader, ObjRef, Oid, Scope, ServerVersion};
use crate::error::Result;
use crate::quote::{ident, ident_list, qualify};

/// A publication.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Publication {
    oid: Oid,
    name: String,
    owner: String,
    all_tables: bool,
    insert: bool,
    update: bool,
    delete: bool,
    /// 11+.
    truncate: bool,
    /// 13+.
    via_root: bool,
    /// 18: `pubgencols` ('n' none, 's' stored).
    gencols: char,
}

/// A table in a publication (`pg_publication_rel`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct PubTable {
    oid: Oid,
    pubid: Oid,
    relid: Oid,
    /// Row filter, deparsed (15+).
    filter: Option<String>,
    /// Column list (15+), unquoted.
    columns: Option<Vec<String>>,
}

/// A schema in a publication (`pg_publication_namespace`, 15+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PubSchema {
    oid: Oid,
    pubid: Oid,
    nsp: Oid,
}

/// The publications query, by server version.
fn publications_sql(v: ServerVersion) -> String {
    format!(
        "SELECT p.oid, p.pubname, pg_catalog.pg_get_userbyid(p.pubowner), p.puballtables, \
                p.pubinsert, p.pubupdate, p.pubdelete, {}, {}, {} \
         FROM pg_catalog.pg_publication p ORDER BY p.oid",
        if v.at_least(11) {
            "p.pubtruncate"
        } else {
            "false"
        },
        if v.at_least(13) {
            "p.pubviaroot"
        } else {
            "false"
        },
        if v.at_least(18) {
            "p.pubgencols::text"
        } else {
            "'n'::text"
        },
    )
}

/// The member tables query, by server version (filters and column lists 15+).
/// `pg_get_expr` runs only on the dumped (locked) tables bound as `$1`.
fn tables_sql(v: ServerVersion) -> String {
    let (filter, columns) = if v.at_least(15) {
        (
            "pg_catalog.pg_get_expr(pr.prqual, pr.prrelid)",
            "(SELECT pg_catalog.array_agg(a.attname::text ORDER BY k.i) \
              FROM pg_catalog.unnest(pr.prattrs::pg_catalog.int2[]) WITH ORDINALITY AS k(n, i) \
              JOIN pg_catalog.pg_attribute a ON a.attrelid = pr.prrelid AND a.attnum = k.n)",
        )
    } else {
        ("NULL::text", "NULL::text[]")
    };
    format!(
        "SELECT pr.oid, pr.prpubid, pr.prrelid, {filter}, {columns} \
         FROM pg_catalog.pg_publication_rel pr \
         WHERE pr.prrelid = ANY($1::pg_catalog.oid[]) ORDER BY pr.oid"
    )
}

/// The member schemas query (15+; None before).
fn schemas_sql(v: ServerVersion) -> Option<&'static str> {
    v.at_least(15).then_some(
        "SELECT pn.oid, pn.pnpubid, pn.pnnspid FROM pg_catalog.pg_publication_namespace pn \
         ORDER BY pn.oid",
    )
}

/// `CREATE PUBLICATION ...;`
fn publication_sql(p: &Publication) -> String {
    let mut sql = format!("CREATE PUBLICATION {}", ident(&p.name));
    if p.all_tables {
        sql.push_str(" FOR ALL TABLES");
    }
    let ops: Vec<&str> = [
        (p.insert, "insert"),
        (p.update, "update"),
        (p.delete, "delete"),
        (p.truncate, "truncate"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| *name)
    .collect();
    sql.push_str(&format!(" WITH (publish = '{}'", ops.join(", ")));
    if p.via_root {
        sql.push_str(", publish_via_partition_root = true");
    }
    if p.gencols == 's' {
        sql.push_str(", publish_generated_columns = stored");
    }
    sql.push_str(");\n");
    sql
}

/// `ALTER PUBLICATION p ADD TABLE ONLY t [(cols)] [WHERE (filter)];`
fn pub_table_sql(pubname: &str, table: &str, t: &PubTable) -> String {
    let mut sql = format!(
        "ALTER PUBLICATION {} ADD TABLE ONLY {table}",
        ident(pubname)
    );
    if let Some(cols) = &t.columns {
        sql.push_str(&format!(" ({})", ident_list(cols)));
    }
    if let Some(f) = &t.filter {
        sql.push_str(&format!(" WHERE ({f})"));
    }
    sql.push_str(";\n");
    sql
}

/// `ALTER PUBLICATION p ADD TABLES IN SCHEMA s;`
fn pub_schema_sql(pubname: &str, schema: &str) -> String {
    format!(
        "ALTER PUBLICATION {} ADD TABLES IN SCHEMA {};\n",
        ident(pubname),
        ident(schema)
    )
}

/// Publications are dumped with the whole database only (pg_dump's `include_everything`).
fn include_everything(scope: &Scope) -> bool {
    scope.opts.schemas.include.is_empty() && scope.opts.tables.include.is_empty()
}

async fn load_publications(l: &Loader<'_>) -> Result<Vec<Publication>> {
    let rows = l
        .query("publications", &publications_sql(l.version), &[])
        .await?;
    Ok(rows
        .iter()
        .map(|r| Publication {
            oid: r.get(0),
            name: r.get(1),
            owner: r.get(2),
            all_tables: r.get(3),
            insert: r.get(4),
            update: r.get(5),
            delete: r.get(6),
            truncate: r.get(7),
            via_root: r.get(8),
            gencols: r.get::<_, String>(9).chars().next().unwrap_or('n'),
        })
        .collect())
}

async fn load_tables(l: &Loader<'_>, rels: &[Oid]) -> Result<Vec<PubTable>> {
    let rows = l
        .query("publication tables", &tables_sql(l.version), &[&rels])
        .await?;
    Ok(rows
        .iter()
        .map(|r| PubTable {
            oid: r.get(0),
            pubid: r.get(1),
            relid: r.get(2),
            filter: r.get(3),
            columns: r.get(4),
        })
        .collect())
}

async fn load_schemas(l: &Loader<'_>) -> Result<Vec<PubSchema>> {
    let Some(sql) = schemas_sql(l.version) else {
        return Ok(Vec::new());
    };
    let rows = l.query("publication schemas", sql, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| PubSchema {
            oid: r.get(0),
            pubid: r.get(1),
            nsp: r.get(2),
        })
        .collect())
}

fn publication_items(p: &Publication, scope: &Scope) -> Vec<Item> {
    let obj = ObjRef::new(class::PG_PUBLICATION, p.oid);
    let q = ident(&p.name);
    let mut items = vec![
        Item::new(Kind::Publication, obj, p.name.clone(), publication_sql(p))
            .primary()
            .owner(
                p.owner.clone(),
                format!("ALTER PUBLICATION {q} OWNER TO {};\n", ident(&p.owner)),
            )
            .drop(format!("DROP PUBLICATION IF EXISTS {q};\n")),
    ];
    let ct = CommentTarget {
        obj,
        sql_kind: "PUBLICATION",
        sql_name: &q,
        schema: None,
        tag: &p.name,
        owner: Some(&p.owner),
    };
    items.extend(comment_item(scope, &ct));
    items
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    if !include_everything(scope) {
        return Ok(Vec::new());
    }
    // Tables that can be in a publication and are locked: plain and partitioned.
    let rels = scope.rel_oids(&['r', 'p']);
    let (pubs, tables, schemas) =
        futures::try_join!(load_publications(l), load_tables(l, &rels), load_schemas(l))?;
    let mut items = Vec::new();
    let mut dumped: HashMap<Oid, &Publication> = HashMap::new();
    for p in pubs
        .iter()
        .filter(|p| scope.dump_global(ObjRef::new(class::PG_PUBLICATION, p.oid)))
    {
        items.extend(publication_items(p, scope));
        dumped.insert(p.oid, p);
    }
    for t in &tables {
        let (Some(p), Some(rel)) = (dumped.get(&t.pubid), scope.relation(t.relid)) else {
            continue;
        };
        if !rel.dump {
            continue;
        }
        let table = qualify(&rel.schema, &rel.name);
        items.push(
            Item::new(
                Kind::PublicationTable,
                ObjRef::new(class::PG_PUBLICATION_REL, t.oid),
                format!("{} {}", p.name, rel.name),
                pub_table_sql(&p.name, &table, t),
            )
            .primary()
            .schema(rel.schema.clone())
            .meta("table", table)
            .dep(Dep::Obj(ObjRef::new(class::PG_PUBLICATION, p.oid)))
            .dep(Dep::Obj(ObjRef::new(class::PG_CLASS, t.relid))),
        );
    }
    for s in &schemas {
        let Some(p) = dumped.get(&s.pubid) else {
            continue;
        };
        if !scope.dump_ns(s.nsp) {
            continue;
        }
        let schema = scope.ns_name(s.nsp).to_string();
        items.push(
            Item::new(
                Kind::PublicationSchema,
                ObjRef::new(class::PG_PUBLICATION_NAMESPACE, s.oid),
                p.name.clone(),
                pub_schema_sql(&p.name, &schema),
            )
            .primary()
            .schema(schema)
            .dep(Dep::Obj(ObjRef::new(class::PG_PUBLICATION, p.oid)))
            .dep(Dep::Obj(ObjRef::new(class::PG_NAMESPACE, s.nsp))),
        );
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`): the subscriptions of this database.
///
/// Only the columns every user may read are used (`subname`, `subdbid`: column
/// grants to PUBLIC since 10; `subconninfo` is not readable by everyone).
pub(crate) async fn unsupported(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    if !include_everything(scope) {
        return Ok(Vec::new());
    }
    let rows = l
        .query(
            "subscriptions",
            "SELECT s.subname::text FROM pg_catalog.pg_subscription s \
             WHERE s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d \
                                WHERE d.datname = pg_catalog.current_database()) \
             ORDER BY 1",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            format!(
                "subscription {}: subscriptions are not dumped (they hold connection strings \
                 and act on another server); recreate it after the restore",
                r.get::<_, String>(0)
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publication() -> Publication {
        Publication {
            oid: 1,
            name: "cov_pub_orders".into(),
            owner: "postgres".into(),
            all_tables: false,
            insert: true,
            update: true,
            delete: true,
            truncate: false,
            via_root: false,
            gencols: 'n',
        }
    }

    #[test]
    fn create_publication() {
        assert_eq!(
            publication_sql(&publication()),
            "CREATE PUBLICATION cov_pub_orders WITH (publish = 'insert, update, delete');\n"
        );
        let all = Publication {
            name: "All".into(),
            all_tables: true,
            insert: false,
            update: false,
            delete: false,
            truncate: true,
            via_root: true,
            gencols: 's',
            ..publication()
        };
        assert_eq!(
            publication_sql(&all),
            "CREATE PUBLICATION \"All\" FOR ALL TABLES WITH (publish = 'truncate', \
             publish_via_partition_root = true, publish_generated_columns = stored);\n"
        );
        let none = Publication {
            insert: false,
            update: false,
            delete: false,
            ..publication()
        };
        assert_eq!(
            publication_sql(&none),
            "CREATE PUBLICATION cov_pub_orders WITH (publish = '');\n"
        );
    }

    #[test]
    fn add_table() {
        let t = PubTable {
            oid: 5,
            pubid: 1,
            relid: 2,
            filter: Some("(price > (0)::numeric)".into()),
            columns: Some(vec!["code".into(), "Price".into()]),
        };
        assert_eq!(
            pub_table_sql("p", "cov_core.products", &t),
            "ALTER PUBLICATION p ADD TABLE ONLY cov_core.products (code, \"Price\") \
             WHERE ((price > (0)::numeric));\n"
        );
        let plain = PubTable {
            filter: None,
            columns: None,
            ..t
        };
        assert_eq!(
            pub_table_sql("p", "s.t", &plain),
            "ALTER PUBLICATION p ADD TABLE ONLY s.t;\n"
        );
    }

    #[test]
    fn add_schema() {
        assert_eq!(
            pub_schema_sql("cov_pub_schema", "cov_part"),
            "ALTER PUBLICATION cov_pub_schema ADD TABLES IN SCHEMA cov_part;\n"
        );
    }

    #[test]
    fn version_branches() {
        let q10 = publications_sql(ServerVersion(100000));
        assert!(q10.contains("false, false, 'n'::text"));
        let q18 = publications_sql(ServerVersion(180000));
        assert!(q18.contains("p.pubtruncate, p.pubviaroot, p.pubgencols::text"));
        assert!(tables_sql(ServerVersion(140000)).contains("NULL::text, NULL::text[]"));
        assert!(tables_sql(ServerVersion(150000)).contains("prqual"));
        assert!(schemas_sql(ServerVersion(140000)).is_none());
        assert!(schemas_sql(ServerVersion(150000)).is_some());
    }
}
