//! Table constraints added after the data: PRIMARY KEY, UNIQUE, EXCLUDE
//! (`CONSTRAINT` items) and FOREIGN KEY (`FK CONSTRAINT` items).
//!
//! * PRIMARY KEY / UNIQUE are built from their index, as pg_dump does (column
//!   names quoted with our keyword list): key columns, `WITHOUT OVERLAPS` (18),
//!   `INCLUDE (...)` (11+), `NULLS NOT DISTINCT` (15+), the index's
//!   `WITH (...)` storage parameters, `DEFERRABLE [INITIALLY DEFERRED]`.
//! * EXCLUDE and FOREIGN KEY come from `pg_get_constraintdef` (with `NOT VALID`,
//!   `DEFERRABLE`, actions, `MATCH`, column lists of `SET NULL (...)`).
//! * `ALTER TABLE ONLY t ADD CONSTRAINT ...`: on a partitioned table this makes
//!   the parent's index only; partitions get their own constraint (dumped here
//!   too, as pg_dump does) whose index `index.rs` attaches to the parent's.
//!   Foreign keys on partitioned tables are added without `ONLY` and their
//!   clones on partitions (`conparentid <> 0`, 11+) are not dumped.
//! * A clustered or replica-identity constraint index keeps that property
//!   (`CLUSTER ON`, `REPLICA IDENTITY USING INDEX`).
//! * Comments on constraints. CHECK and NOT NULL constraints belong to the
//!   table (`table.rs`), domain constraints to `domain.rs`.

use super::comment::{comment_item, CommentTarget};
use super::{class, Dep, Item, Kind, Loader, ObjRef, Oid, Scope, ServerVersion};
use crate::error::{CoreError, Result};
use crate::quote::{ident, literal, qualify};

/// One constraint row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Constraint {
    oid: Oid,
    name: String,
    /// `p`, `u`, `x` or `f`.
    contype: char,
    relid: Oid,
    /// Referenced table of a foreign key.
    ref_relid: Oid,
    deferrable: bool,
    deferred: bool,
    /// `pg_get_constraintdef` (EXCLUDE and FOREIGN KEY).
    def: Option<String>,
    /// Key columns of a PK/UNIQUE index.
    keys: Vec<String>,
    /// INCLUDE columns of a PK/UNIQUE index.
    include: Vec<String>,
    /// `indnullsnotdistinct` (15+).
    nulls_not_distinct: bool,
    /// `conperiod` (18+): the last key column is `WITHOUT OVERLAPS`.
    period: bool,
    /// The index's storage parameters.
    index_options: Vec<String>,
    clustered: bool,
    replident: bool,
    /// The index of a PK/UNIQUE/EXCLUDE constraint: OID and name.
    index: Option<(Oid, String)>,
}

/// Constraints of the tables `$1`; deparse functions run only on these (locked).
fn query_sql(v: ServerVersion) -> String {
    let nkeys = v.index_key_columns_sql();
    let nnd = if v.at_least(15) {
        "COALESCE(i.indnullsnotdistinct, false)"
    } else {
        "false"
    };
    let period = if v.at_least(18) {
        "c.conperiod"
    } else {
        "false"
    };
    let no_clones = if v.at_least(11) {
        "AND NOT (c.contype = 'f' AND c.conparentid <> 0)"
    } else {
        ""
    };
    format!(
        "SELECT c.oid, c.conname::pg_catalog.text, c.contype::pg_catalog.text, c.conrelid, \
                c.confrelid, c.condeferrable, c.condeferred, \
                CASE WHEN c.contype IN ('f', 'x') THEN pg_catalog.pg_get_constraintdef(c.oid) END, \
                ARRAY(SELECT a.attname::pg_catalog.text \
                      FROM pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, n) \
                      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                      ORDER BY k.n), \
                COALESCE({nkeys}, 0)::pg_catalog.int4, {nnd}, {period}, \
                ic.reloptions::pg_catalog.text[], COALESCE(i.indisclustered, false), \
                COALESCE(i.indisreplident, false), i.indexrelid, ic.relname::pg_catalog.text \
         FROM pg_catalog.pg_constraint c \
         LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.conindid AND c.contype IN ('p', 'u', 'x') \
         LEFT JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
         WHERE c.conrelid = ANY($1::pg_catalog.oid[]) AND c.contype IN ('p', 'u', 'x', 'f') {no_clones} \
         ORDER BY c.oid"
    )
}

/// `name=value` storage parameters of an index, for `WITH (...)`.
fn with_options(opts: &[String]) -> String {
    opts.iter()
        .map(|o| {
            let (name, value) = o.split_once('=').unwrap_or((o.as_str(), ""));
            let value = if ident(value) == value {
                value.to_string()
            } else {
                literal(value)
            };
            format!("{}={value}", ident(name))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The constraint definition after `ADD CONSTRAINT name`.
fn definition(c: &Constraint) -> Result<String> {
    match c.contype {
        'p' | 'u' => {
            let mut s = if c.contype == 'p' {
                "PRIMARY KEY".to_string()
            } else if c.nulls_not_distinct {
                "UNIQUE NULLS NOT DISTINCT".to_string()
            } else {
                "UNIQUE".to_string()
            };
            let mut keys: Vec<String> = c.keys.iter().map(|k| ident(k)).collect();
            if c.period {
                if let Some(last) = keys.last_mut() {
                    last.push_str(" WITHOUT OVERLAPS");
                }
            }
            s.push_str(&format!(" ({})", keys.join(", ")));
            if !c.include.is_empty() {
                let inc: Vec<String> = c.include.iter().map(|k| ident(k)).collect();
                s.push_str(&format!(" INCLUDE ({})", inc.join(", ")));
            }
            if !c.index_options.is_empty() {
                s.push_str(&format!(" WITH ({})", with_options(&c.index_options)));
            }
            if c.deferrable {
                s.push_str(" DEFERRABLE");
                if c.deferred {
                    s.push_str(" INITIALLY DEFERRED");
                }
            }
            Ok(s)
        }
        _ => c.def.clone().ok_or_else(|| {
            CoreError::Catalog(format!("constraint {} was dropped during the dump", c.name))
        }),
    }
}

/// The item's SQL: `ALTER TABLE [ONLY] t ADD CONSTRAINT c ...;` and, for an
/// index constraint, its `CLUSTER ON` / `REPLICA IDENTITY`.
fn constraint_sql(c: &Constraint, table: &str, partitioned: bool) -> Result<String> {
    // A foreign key on a partitioned table cannot be added with ONLY.
    let only = if c.contype == 'f' && partitioned {
        ""
    } else {
        "ONLY "
    };
    let mut sql = format!(
        "ALTER TABLE {only}{table}\n    ADD CONSTRAINT {} {};\n",
        ident(&c.name),
        definition(c)?
    );
    sql.push_str(&index_properties(c, table));
    Ok(sql)
}

/// A PRIMARY KEY or UNIQUE constraint of a plain table as the two statements a restore
/// can run instead of its `ADD CONSTRAINT`: build the index (`CREATE UNIQUE INDEX`,
/// which takes a SHARE lock and so runs beside the table's other index builds, where
/// `ADD CONSTRAINT` locks the table exclusively for the whole build), then make it the
/// constraint (`ADD CONSTRAINT ... USING INDEX`, instant: the key columns are NOT NULL
/// already). `None` where `USING INDEX` does not apply or is not worth the risk:
/// partitioned tables and partitions (their indexes attach to the parent's),
/// `WITHOUT OVERLAPS` keys (not btree), exclusion constraints and foreign keys.
fn two_step(
    c: &Constraint,
    table: &str,
    relkind: char,
    is_partition: bool,
) -> Option<(String, String)> {
    if !matches!(c.contype, 'p' | 'u') || relkind != 'r' || is_partition || c.period {
        return None;
    }
    let name = ident(&c.name);
    let keys: Vec<String> = c.keys.iter().map(|k| ident(k)).collect();
    let mut build = format!(
        "CREATE UNIQUE INDEX {name} ON {table} USING btree ({})",
        keys.join(", ")
    );
    if !c.include.is_empty() {
        let inc: Vec<String> = c.include.iter().map(|k| ident(k)).collect();
        build.push_str(&format!(" INCLUDE ({})", inc.join(", ")));
    }
    if c.nulls_not_distinct {
        build.push_str(" NULLS NOT DISTINCT");
    }
    if !c.index_options.is_empty() {
        build.push_str(&format!(" WITH ({})", with_options(&c.index_options)));
    }
    build.push_str(";\n");
    let what = if c.contype == 'p' {
        "PRIMARY KEY"
    } else {
        "UNIQUE"
    };
    let mut attach =
        format!("ALTER TABLE ONLY {table}\n    ADD CONSTRAINT {name} {what} USING INDEX {name}");
    if c.deferrable {
        attach.push_str(" DEFERRABLE");
        if c.deferred {
            attach.push_str(" INITIALLY DEFERRED");
        }
    }
    attach.push_str(";\n");
    attach.push_str(&index_properties(c, table));
    Some((build, attach))
}

/// `CLUSTER ON` and `REPLICA IDENTITY USING INDEX` of a constraint's index.
fn index_properties(c: &Constraint, table: &str) -> String {
    let mut sql = String::new();
    if c.clustered {
        sql.push_str(&format!(
            "ALTER TABLE {table} CLUSTER ON {};\n",
            ident(&c.name)
        ));
    }
    if c.replident {
        sql.push_str(&format!(
            "ALTER TABLE ONLY {table} REPLICA IDENTITY USING INDEX {};\n",
            ident(&c.name)
        ));
    }
    sql
}

fn constraint_items(c: &Constraint, scope: &Scope) -> Result<Vec<Item>> {
    let Some(rel) = scope.relation(c.relid) else {
        return Ok(Vec::new());
    };
    let obj = ObjRef::new(class::PG_CONSTRAINT, c.oid);
    let table = qualify(&rel.schema, &rel.name);
    let kind = if c.contype == 'f' {
        Kind::FkConstraint
    } else {
        Kind::Constraint
    };
    let mut it = Item::new(
        kind,
        obj,
        format!("{} {}", rel.name, c.name),
        constraint_sql(c, &table, rel.relkind == 'p')?,
    )
    .primary()
    .schema(rel.schema.clone())
    .drop(format!(
        "ALTER TABLE IF EXISTS ONLY {table} DROP CONSTRAINT IF EXISTS {};\n",
        ident(&c.name)
    ))
    .dep(Dep::Obj(ObjRef::new(class::PG_CLASS, c.relid)))
    .meta("table", table.clone());
    if c.contype == 'f' {
        if let Some(r) = scope.relation(c.ref_relid) {
            it = it.meta("ref_table", qualify(&r.schema, &r.name));
        }
    }
    if let Some((build, attach)) = two_step(c, &table, rel.relkind, rel.is_partition) {
        it = it.meta("index_build", build).meta("index_attach", attach);
    }
    it.owner = Some(rel.owner.clone());
    let sql_name = format!("{} ON {table}", ident(&c.name));
    let tag = format!("{} ON {}", c.name, rel.name);
    let ct = CommentTarget {
        obj,
        sql_kind: "CONSTRAINT",
        sql_name: &sql_name,
        schema: Some(&rel.schema),
        tag: &tag,
        owner: Some(&rel.owner),
    };
    let mut items = vec![it];
    items.extend(comment_item(scope, &ct));
    // A comment on the constraint's index (pg_dump leaves it out): with the constraint.
    if let Some((ioid, iname)) = &c.index {
        if let Some(text) = scope.comment(ObjRef::new(class::PG_CLASS, *ioid), 0) {
            let mut ci = Item::new(
                Kind::Comment,
                obj,
                format!("INDEX {iname}"),
                format!(
                    "COMMENT ON INDEX {} IS {};\n",
                    qualify(&rel.schema, iname),
                    literal(text)
                ),
            )
            .with_sub(*ioid)
            .schema(rel.schema.clone())
            .dep(Dep::Obj(obj));
            ci.owner = Some(rel.owner.clone());
            items.push(ci);
        }
    }
    Ok(items)
}

fn row_to_constraint(r: &tokio_postgres::Row) -> Constraint {
    let cols: Vec<String> = r.get::<_, Option<Vec<String>>>(8).unwrap_or_default();
    let nkeys = usize::try_from(r.get::<_, i32>(9))
        .unwrap_or(0)
        .min(cols.len());
    let (keys, include) = cols.split_at(nkeys);
    Constraint {
        oid: r.get(0),
        name: r.get(1),
        contype: r.get::<_, String>(2).chars().next().unwrap_or('p'),
        relid: r.get(3),
        ref_relid: r.get(4),
        deferrable: r.get(5),
        deferred: r.get(6),
        def: r.get(7),
        keys: keys.to_vec(),
        include: include.to_vec(),
        nulls_not_distinct: r.get(10),
        period: r.get(11),
        index_options: r.get::<_, Option<Vec<String>>>(12).unwrap_or_default(),
        clustered: r.get(13),
        replident: r.get(14),
        index: match (r.get::<_, Option<Oid>>(15), r.get::<_, Option<String>>(16)) {
            (Some(o), Some(n)) => Some((o, n)),
            _ => None,
        },
    }
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let tables = scope.rel_oids(&['r', 'p']);
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let rows = l
        .query("constraints", &query_sql(l.version), &[&tables])
        .await?;
    let mut items = Vec::new();
    for r in &rows {
        let c = row_to_constraint(r);
        items.extend(constraint_items(&c, scope)?);
    }
    Ok(items)
}

/// Constraints in scope this module cannot reproduce: those whose index is in a
/// tablespace (the DDL leaves the tablespace out).
pub(crate) async fn unsupported(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    let tables = scope.rel_oids(&['r', 'p']);
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let sql = "SELECT c.conrelid, c.conname::pg_catalog.text, ts.spcname::pg_catalog.text \
               FROM pg_catalog.pg_constraint c \
               JOIN pg_catalog.pg_class ic ON ic.oid = c.conindid \
               JOIN pg_catalog.pg_tablespace ts ON ts.oid = ic.reltablespace \
               WHERE c.conrelid = ANY($1::pg_catalog.oid[]) AND c.contype IN ('p', 'u', 'x') \
               ORDER BY c.oid";
    let rows = l.query("unsupported constraints", sql, &[&tables]).await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let rel = scope.relation(r.get(0))?;
            Some(format!(
                "constraint {} on {}: index in tablespace {} (tablespaces are not supported)",
                ident(&r.get::<_, String>(1)),
                qualify(&rel.schema, &rel.name),
                ident(&r.get::<_, String>(2))
            ))
        })
        .collect())
}

/// The primary key of synthetic table `i` (as one statement and as the restore's two)
/// and a foreign key to table `i / 2`: the DDL benchmark's constraints.
#[cfg(feature = "bench-internals")]
pub(crate) fn bench_ddl(i: usize) -> Result<String> {
    let table = format!("app.t{i}");
    let pk = Constraint {
        oid: 1,
        name: format!("t{i}_pkey"),
        contype: 'p',
        keys: vec!["col_0".into()],
        ..Constraint::default()
    };
    let fk = Constraint {
        oid: 2,
        name: format!("t{i}_col_2_fkey"),
        contype: 'f',
        def: Some(format!(
            "FOREIGN KEY (col_2) REFERENCES app.t{}(col_0)",
            i / 2
        )),
        ..Constraint::default()
    };
    let mut sql = constraint_sql(&pk, &table, false)?;
    if let Some((build, attach)) = two_step(&pk, &table, 'r', false) {
        sql.push_str(&build);
        sql.push_str(&attach);
    }
    sql.push_str(&constraint_sql(&fk, &table, false)?);
    Ok(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pk() -> Constraint {
        Constraint {
            oid: 1,
            name: "orders_pkey".into(),
            contype: 'p',
            relid: 2,
            keys: vec!["order_id".into()],
            ..Constraint::default()
        }
    }

    #[test]
    fn primary_key() {
        assert_eq!(
            constraint_sql(&pk(), "cov_core.orders", false).unwrap(),
            "ALTER TABLE ONLY cov_core.orders\n    ADD CONSTRAINT orders_pkey PRIMARY KEY (order_id);\n"
        );
    }

    #[test]
    fn unique_with_everything() {
        let c = Constraint {
            name: "u".into(),
            contype: 'u',
            keys: vec!["sku".into(), "Vendor".into()],
            include: vec!["note".into()],
            nulls_not_distinct: true,
            index_options: vec!["fillfactor=70".into()],
            deferrable: true,
            deferred: true,
            clustered: true,
            replident: true,
            ..pk()
        };
        assert_eq!(
            constraint_sql(&c, "s.t", false).unwrap(),
            "ALTER TABLE ONLY s.t\n    ADD CONSTRAINT u UNIQUE NULLS NOT DISTINCT (sku, \"Vendor\") INCLUDE (note) \
             WITH (fillfactor='70') DEFERRABLE INITIALLY DEFERRED;\n\
             ALTER TABLE s.t CLUSTER ON u;\n\
             ALTER TABLE ONLY s.t REPLICA IDENTITY USING INDEX u;\n"
        );
        let p = Constraint {
            keys: vec!["id".into(), "valid_at".into()],
            period: true,
            deferrable: true,
            ..pk()
        };
        assert_eq!(
            definition(&p).unwrap(),
            "PRIMARY KEY (id, valid_at WITHOUT OVERLAPS) DEFERRABLE"
        );
    }

    #[test]
    fn foreign_keys_and_exclusions() {
        let fk = Constraint {
            name: "fk".into(),
            contype: 'f',
            def: Some("FOREIGN KEY (x) REFERENCES s.ref(id) NOT VALID".into()),
            ..Constraint::default()
        };
        assert_eq!(
            constraint_sql(&fk, "s.t", false).unwrap(),
            "ALTER TABLE ONLY s.t\n    ADD CONSTRAINT fk FOREIGN KEY (x) REFERENCES s.ref(id) NOT VALID;\n"
        );
        assert_eq!(
            constraint_sql(&fk, "s.parted", true).unwrap(),
            "ALTER TABLE s.parted\n    ADD CONSTRAINT fk FOREIGN KEY (x) REFERENCES s.ref(id) NOT VALID;\n"
        );
        let ex = Constraint {
            name: "no_overlap".into(),
            contype: 'x',
            def: Some("EXCLUDE USING gist (room WITH =, during WITH &&)".into()),
            ..Constraint::default()
        };
        assert_eq!(
            constraint_sql(&ex, "s.parted", true).unwrap(),
            "ALTER TABLE ONLY s.parted\n    ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);\n"
        );
        assert!(definition(&Constraint {
            contype: 'f',
            ..Constraint::default()
        })
        .is_err());
    }

    #[test]
    fn index_constraints_in_two_steps() {
        let (build, attach) = two_step(&pk(), "s.t", 'r', false).unwrap();
        assert_eq!(
            build,
            "CREATE UNIQUE INDEX orders_pkey ON s.t USING btree (order_id);\n"
        );
        assert_eq!(
            attach,
            "ALTER TABLE ONLY s.t\n    ADD CONSTRAINT orders_pkey PRIMARY KEY USING INDEX orders_pkey;\n"
        );
        let u = Constraint {
            name: "U q".into(),
            contype: 'u',
            keys: vec!["sku".into(), "Vendor".into()],
            include: vec!["note".into()],
            nulls_not_distinct: true,
            index_options: vec!["fillfactor=70".into()],
            deferrable: true,
            deferred: true,
            clustered: true,
            replident: true,
            ..pk()
        };
        let (build, attach) = two_step(&u, "s.t", 'r', false).unwrap();
        assert_eq!(
            build,
            "CREATE UNIQUE INDEX \"U q\" ON s.t USING btree (sku, \"Vendor\") INCLUDE (note) \
             NULLS NOT DISTINCT WITH (fillfactor='70');\n"
        );
        assert_eq!(
            attach,
            "ALTER TABLE ONLY s.t\n    ADD CONSTRAINT \"U q\" UNIQUE USING INDEX \"U q\" \
             DEFERRABLE INITIALLY DEFERRED;\n\
             ALTER TABLE s.t CLUSTER ON \"U q\";\n\
             ALTER TABLE ONLY s.t REPLICA IDENTITY USING INDEX \"U q\";\n"
        );
        // partitioned tables, partitions, WITHOUT OVERLAPS, exclusions, foreign keys: one step
        assert!(two_step(&pk(), "s.p", 'p', false).is_none());
        assert!(two_step(&pk(), "s.p1", 'r', true).is_none());
        let period = Constraint {
            period: true,
            ..pk()
        };
        assert!(two_step(&period, "s.t", 'r', false).is_none());
        for contype in ['x', 'f'] {
            let c = Constraint { contype, ..pk() };
            assert!(two_step(&c, "s.t", 'r', false).is_none());
        }
    }

    #[test]
    fn version_branches() {
        let v10 = query_sql(ServerVersion(100000));
        assert!(v10.contains("i.indnatts") && !v10.contains("conparentid"));
        let v11 = query_sql(ServerVersion(110000));
        assert!(v11.contains("i.indnkeyatts") && v11.contains("conparentid"));
        assert!(!query_sql(ServerVersion(140000)).contains("indnullsnotdistinct"));
        assert!(query_sql(ServerVersion(150000)).contains("indnullsnotdistinct"));
        assert!(query_sql(ServerVersion(180000)).contains("c.conperiod"));
    }
}
