//! Views and materialized views: `CREATE [MATERIALIZED] VIEW ... AS` around the
//! server's `pg_get_viewdef`, as pg_dump's `createViewAsClause` does, plus view
//! column defaults, comments, ACLs, owners, and for populated materialized views
//! a post-data `REFRESH MATERIALIZED VIEW` item ordered after the refreshes of the
//! materialized views it reads (pg_dump's `buildMatViewRefreshDependencies`).
//!
//! Version branches: table access methods (12+, `USING am` for non-heap
//! materialized views). `security_invoker` (15+) and `check_option` are reloptions
//! on every version.

use serde::Deserialize;

use super::acl::{acl_item, column_acl_items, AclTarget};
use super::comment::{column_comment_items, comment_item, CommentTarget};
use super::{class, opt_vec, Dep, Item, ItemKey, Kind, Loader, ObjRef, Oid, Scope, ServerVersion};
use crate::error::{CoreError, Result};
use crate::quote::{ident, literal, qualify};

/// A column of a view as read from `pg_attribute` ⋈ `pg_attrdef` (JSON).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct ViewColumn {
    /// `attnum`.
    pub n: i32,
    /// `attname`.
    pub name: String,
    /// `attacl::text[]`.
    pub acl: Option<Vec<String>>,
    /// Default expression (`pg_get_expr(adbin, adrelid)`), views only.
    pub def: Option<String>,
    /// OID of the `pg_attrdef` row (as int8: JSON has no oid type).
    pub defoid: Option<i64>,
}

/// One view or materialized view.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ViewRow {
    pub oid: Oid,
    pub schema: String,
    pub name: String,
    pub owner: String,
    /// `v` or `m`.
    pub relkind: char,
    /// `pg_get_viewdef(oid)` without its trailing semicolon.
    pub def: String,
    /// `reloptions` without `check_option`.
    pub options: Vec<String>,
    /// Reloptions of the TOAST table (materialized views).
    pub toast_options: Vec<String>,
    /// `LOCAL` / `CASCADED`, from the `check_option` reloption.
    pub check_option: Option<String>,
    /// `relispopulated` (materialized views).
    pub populated: bool,
    /// Access method when not `heap` (materialized views, 12+).
    pub am: Option<String>,
    /// Tablespace when not the database default (materialized views).
    pub tablespace: Option<String>,
    pub acl: Option<Vec<String>>,
    pub acl_default: Vec<String>,
    pub columns: Vec<ViewColumn>,
    /// Materialized views this one reads, directly or through views (materialized views only).
    pub reads_matviews: Vec<Oid>,
}

impl ViewRow {
    fn qualified(&self) -> String {
        qualify(&self.schema, &self.name)
    }

    fn sql_kind(&self) -> &'static str {
        if self.relkind == 'm' {
            "MATERIALIZED VIEW"
        } else {
            "VIEW"
        }
    }
}

/// `name=value, toast.name=value` as in `WITH (...)`: names quoted as identifiers,
/// values bare when they read as plain identifiers, else string literals.
pub(crate) fn reloptions_sql(options: &[String], toast: &[String]) -> String {
    let one = |prefix: &str, opt: &String| {
        let (name, value) = opt.split_once('=').unwrap_or((opt.as_str(), ""));
        let value = if ident(value) == value {
            value.to_string()
        } else {
            literal(value)
        };
        format!("{prefix}{}={value}", ident(name))
    };
    options
        .iter()
        .map(|o| one("", o))
        .chain(toast.iter().map(|o| one("toast.", o)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `CREATE VIEW` / `CREATE MATERIALIZED VIEW ... WITH NO DATA` statement.
pub(crate) fn create_sql(v: &ViewRow) -> String {
    let mut q = format!("CREATE {} {}", v.sql_kind(), v.qualified());
    if v.relkind == 'm' {
        if let Some(am) = &v.am {
            q.push_str(&format!(" USING {}", ident(am)));
        }
    }
    let opts = reloptions_sql(&v.options, &v.toast_options);
    if !opts.is_empty() {
        q.push_str(&format!(" WITH ({opts})"));
    }
    if v.relkind == 'm' {
        if let Some(ts) = &v.tablespace {
            q.push_str(&format!(" TABLESPACE {}", ident(ts)));
        }
    }
    q.push_str(&format!(" AS\n{}", v.def));
    if v.relkind == 'm' {
        q.push_str("\n  WITH NO DATA");
    } else if let Some(check) = &v.check_option {
        q.push_str(&format!("\n  WITH {check} CHECK OPTION"));
    }
    q.push_str(";\n");
    q
}

/// `pg_get_viewdef` output without the trailing semicolon.
fn strip_viewdef(def: &str) -> String {
    let t = def.trim_end();
    t.strip_suffix(';').unwrap_or(t).to_string()
}

/// The items of one view or materialized view: definition, column defaults,
/// comments, ACLs, and the refresh of a populated materialized view.
pub(crate) fn view_items(scope: &Scope, v: &ViewRow) -> Result<Vec<Item>> {
    let obj = ObjRef::new(class::PG_CLASS, v.oid);
    let qname = v.qualified();
    let sql_kind = v.sql_kind();
    let kind = if v.relkind == 'm' {
        Kind::MaterializedView
    } else {
        Kind::View
    };
    let mut items = vec![Item::new(kind, obj, v.name.clone(), create_sql(v))
        .primary()
        .schema(v.schema.clone())
        .owner(
            v.owner.clone(),
            format!("ALTER {sql_kind} {qname} OWNER TO {};\n", ident(&v.owner)),
        )
        .drop(format!("DROP {sql_kind} IF EXISTS {qname};\n"))
        .meta("relkind", v.relkind.to_string())];

    // Column defaults of views (used by INSERTs through the view).
    for c in &v.columns {
        let (Some(def), Some(defoid)) = (&c.def, c.defoid.and_then(|o| Oid::try_from(o).ok()))
        else {
            continue;
        };
        if v.relkind != 'v' {
            continue;
        }
        let col = ident(&c.name);
        let mut item = Item::new(
            Kind::Default,
            ObjRef::new(class::PG_ATTRDEF, defoid),
            format!("{} {}", v.name, c.name),
            format!("ALTER VIEW {qname} ALTER COLUMN {col} SET DEFAULT {def};\n"),
        )
        .primary()
        .schema(v.schema.clone())
        .drop(format!(
            "ALTER VIEW IF EXISTS {qname} ALTER COLUMN {col} DROP DEFAULT;\n"
        ))
        .dep(Dep::Obj(obj));
        item.owner = Some(v.owner.clone());
        items.push(item);
    }

    let comment = CommentTarget {
        obj,
        sql_kind,
        sql_name: &qname,
        schema: Some(&v.schema),
        tag: &v.name,
        owner: Some(&v.owner),
    };
    items.extend(comment_item(scope, &comment));
    let cols: Vec<(i32, String, String)> = v
        .columns
        .iter()
        .map(|c| (c.n, ident(&c.name), c.name.clone()))
        .collect();
    items.extend(column_comment_items(scope, &comment, &cols));

    let acl = AclTarget {
        obj,
        sql_kind: "TABLE",
        sql_name: &qname,
        schema: Some(&v.schema),
        tag: &v.name,
        owner: &v.owner,
    };
    items.extend(acl_item(&acl, v.acl.as_deref(), &v.acl_default)?);
    let col_acls: Vec<(i32, String, String, Option<Vec<String>>)> = v
        .columns
        .iter()
        .map(|c| (c.n, ident(&c.name), c.name.clone(), c.acl.clone()))
        .collect();
    items.extend(column_acl_items(&acl, &col_acls)?);

    if v.relkind == 'm' && v.populated {
        let mut refresh = Item::new(
            Kind::RefreshMatview,
            obj,
            v.name.clone(),
            format!("REFRESH MATERIALIZED VIEW {qname};\n"),
        )
        .schema(v.schema.clone())
        .dep(Dep::Obj(obj))
        .meta("table", qname.clone());
        refresh.owner = Some(v.owner.clone());
        for other in &v.reads_matviews {
            let populated_and_dumped = scope.dump_rel(*other);
            if *other != v.oid && populated_and_dumped {
                refresh = refresh.dep(Dep::Key(ItemKey {
                    kind: Kind::RefreshMatview,
                    obj: ObjRef::new(class::PG_CLASS, *other),
                    sub: 0,
                }));
            }
        }
        items.push(refresh);
    }
    Ok(items)
}

/// The catalog query for the dumped views and materialized views.
fn query_sql(v: ServerVersion) -> String {
    let am = if v.at_least(12) {
        "(SELECT am.amname::text FROM pg_catalog.pg_am am \
          WHERE am.oid = c.relam AND c.relkind = 'm' AND am.amname <> 'heap')"
    } else {
        "NULL::text"
    };
    format!(
        "SELECT c.oid, c.relkind::text, pg_catalog.pg_get_viewdef(c.oid), \
                ARRAY(SELECT o FROM pg_catalog.unnest(c.reloptions) WITH ORDINALITY AS x(o, i) \
                      WHERE o NOT LIKE 'check\\_option=%' ORDER BY x.i), \
                (SELECT pg_catalog.upper(pg_catalog.substr(o, 14)) FROM pg_catalog.unnest(c.reloptions) AS x(o) \
                  WHERE o LIKE 'check\\_option=%' LIMIT 1), \
                tc.reloptions, c.relispopulated, {am}, \
                (SELECT ts.spcname::text FROM pg_catalog.pg_tablespace ts WHERE ts.oid = c.reltablespace), \
                c.relacl::text[], pg_catalog.acldefault('r', c.relowner)::text[], \
                (SELECT pg_catalog.json_agg(pg_catalog.json_build_object( \
                          'n', a.attnum, 'name', a.attname, 'acl', a.attacl::text[], \
                          'def', pg_catalog.pg_get_expr(d.adbin, d.adrelid), 'defoid', d.oid::pg_catalog.int8) \
                        ORDER BY a.attnum)::text \
                   FROM pg_catalog.pg_attribute a \
                   LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), \
                CASE WHEN c.relkind = 'm' THEN ARRAY( \
                  WITH RECURSIVE w(relid) AS ( \
                      SELECT c.oid \
                    UNION \
                      SELECT dep.refobjid FROM w \
                        JOIN pg_catalog.pg_rewrite rw ON rw.ev_class = w.relid \
                        JOIN pg_catalog.pg_depend dep \
                          ON dep.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass \
                         AND dep.objid = rw.oid \
                         AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                        JOIN pg_catalog.pg_class rc ON rc.oid = dep.refobjid AND rc.relkind IN ('v', 'm')) \
                  SELECT w.relid FROM w JOIN pg_catalog.pg_class mc ON mc.oid = w.relid \
                   WHERE mc.relkind = 'm' AND w.relid <> c.oid ORDER BY 1) END \
         FROM pg_catalog.pg_class c \
         LEFT JOIN pg_catalog.pg_class tc ON tc.oid = c.reltoastrelid \
         WHERE c.oid = ANY($1) \
         ORDER BY c.oid"
    )
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let oids = scope.rel_oids(&['v', 'm']);
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = l.query("views", &query_sql(l.version), &[&oids]).await?;
    let mut items = Vec::new();
    for r in &rows {
        let oid: Oid = r.get(0);
        let Some(rel) = scope.relation(oid) else {
            continue;
        };
        let def: Option<String> = r.get(2);
        let def = def
            .map(|d| strip_viewdef(&d))
            .filter(|d| !d.is_empty())
            .ok_or_else(|| {
                CoreError::Catalog(format!(
                    "definition of view {}.{} is empty",
                    rel.schema, rel.name
                ))
            })?;
        let columns: Vec<ViewColumn> = match r.get::<_, Option<String>>(11) {
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                CoreError::Catalog(format!(
                    "cannot read the columns of {}.{}: {e}",
                    rel.schema, rel.name
                ))
            })?,
            None => Vec::new(),
        };
        let v = ViewRow {
            oid,
            schema: rel.schema.clone(),
            name: rel.name.clone(),
            owner: rel.owner.clone(),
            relkind: r.get::<_, String>(1).chars().next().unwrap_or('v'),
            def,
            options: opt_vec(r.get(3)),
            check_option: r.get(4),
            toast_options: opt_vec(r.get(5)),
            populated: r.get(6),
            am: r.get(7),
            tablespace: r.get(8),
            acl: r.get(9),
            acl_default: opt_vec(r.get(10)),
            columns,
            reads_matviews: r.get::<_, Option<Vec<Oid>>>(12).unwrap_or_default(),
        };
        items.extend(view_items(scope, &v)?);
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`). The dump fails on them unless told to skip.
/// Every view the server can deparse can be rebuilt.
pub(crate) async fn unsupported(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Relation;

    fn view() -> ViewRow {
        ViewRow {
            oid: 40000,
            schema: "cov_logic".into(),
            name: "cheap_products".into(),
            owner: "postgres".into(),
            relkind: 'v',
            def: strip_viewdef(" SELECT products.code\n   FROM cov_core.products;"),
            acl_default: vec!["postgres=arwdDxt/postgres".into()],
            ..ViewRow::default()
        }
    }

    #[test]
    fn plain_view() {
        assert_eq!(
            create_sql(&view()),
            "CREATE VIEW cov_logic.cheap_products AS\n SELECT products.code\n   FROM cov_core.products;\n"
        );
    }

    #[test]
    fn options_and_check_option() {
        let v = ViewRow {
            options: vec![
                "security_barrier=true".into(),
                "security_invoker=on".into(),
                "x=plain".into(),
            ],
            check_option: Some("CASCADED".into()),
            ..view()
        };
        assert_eq!(
            create_sql(&v),
            "CREATE VIEW cov_logic.cheap_products WITH (security_barrier='true', security_invoker='on', x=plain) AS\n \
             SELECT products.code\n   FROM cov_core.products\n  WITH CASCADED CHECK OPTION;\n"
        );
        assert_eq!(
            reloptions_sql(
                &["fillfactor=70".into(), "x=it's".into()],
                &["autovacuum_enabled=false".into()]
            ),
            "fillfactor='70', x='it''s', toast.autovacuum_enabled='false'"
        );
    }

    #[test]
    fn materialized_view() {
        let m = ViewRow {
            relkind: 'm',
            name: "Stats".into(),
            options: vec!["fillfactor=50".into()],
            am: Some("heap2".into()),
            tablespace: Some("fast".into()),
            check_option: None,
            ..view()
        };
        assert_eq!(
            create_sql(&m),
            "CREATE MATERIALIZED VIEW cov_logic.\"Stats\" USING heap2 WITH (fillfactor='50') TABLESPACE fast AS\n \
             SELECT products.code\n   FROM cov_core.products\n  WITH NO DATA;\n"
        );
    }

    fn scope_with(rels: &[(Oid, char)]) -> Scope {
        let mut scope = crate::catalog::function::tests::test_scope();
        for (oid, kind) in rels {
            scope.relations.insert(
                *oid,
                Relation {
                    oid: *oid,
                    nsp: 1,
                    schema: "cov_logic".into(),
                    name: format!("r{oid}"),
                    relkind: *kind,
                    owner: "postgres".into(),
                    persistence: 'p',
                    is_partition: false,
                    relpages: 0,
                    reltuples: 0.0,
                    dump: true,
                    dump_data: false,
                    ext_member: false,
                    ext_config_filter: None,
                },
            );
        }
        scope
    }

    #[test]
    fn defaults_acls_and_refresh() {
        let scope = scope_with(&[(40000, 'm'), (40001, 'm')]);
        let v = ViewRow {
            columns: vec![
                ViewColumn {
                    n: 1,
                    name: "id".into(),
                    acl: Some(vec!["bob=r/postgres".into()]),
                    ..ViewColumn::default()
                },
                ViewColumn {
                    n: 2,
                    name: "Label".into(),
                    def: Some("'n/a'::text".into()),
                    defoid: Some(50000),
                    ..ViewColumn::default()
                },
            ],
            ..view()
        };
        let items = view_items(&scope, &v).unwrap();
        let kinds: Vec<Kind> = items.iter().map(|i| i.key.kind).collect();
        assert_eq!(kinds, [Kind::View, Kind::Default, Kind::Acl]);
        assert_eq!(
            items[1].create,
            "ALTER VIEW cov_logic.cheap_products ALTER COLUMN \"Label\" SET DEFAULT 'n/a'::text;\n"
        );
        assert_eq!(
            items[2].create,
            "GRANT SELECT(id) ON TABLE cov_logic.cheap_products TO bob;\n"
        );

        let m = ViewRow {
            relkind: 'm',
            populated: true,
            reads_matviews: vec![40001, 49999],
            ..view()
        };
        let items = view_items(&scope, &m).unwrap();
        let refresh = items
            .iter()
            .find(|i| i.key.kind == Kind::RefreshMatview)
            .unwrap();
        assert_eq!(
            refresh.create,
            "REFRESH MATERIALIZED VIEW cov_logic.cheap_products;\n"
        );
        assert!(!refresh.primary);
        assert!(refresh.deps.contains(&Dep::Key(ItemKey {
            kind: Kind::RefreshMatview,
            obj: ObjRef::new(class::PG_CLASS, 40001),
            sub: 0
        })));
        assert_eq!(refresh.deps.len(), 2, "{:?}", refresh.deps);
        assert_eq!(
            items[0].alter_owner.as_deref(),
            Some("ALTER MATERIALIZED VIEW cov_logic.cheap_products OWNER TO postgres;\n")
        );
        let unpopulated = ViewRow {
            populated: false,
            ..m
        };
        assert!(view_items(&scope, &unpopulated)
            .unwrap()
            .iter()
            .all(|i| i.key.kind != Kind::RefreshMatview));
    }
}
