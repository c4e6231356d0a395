//! Triggers (`pg_trigger`): the server's `pg_get_triggerdef(oid, false)` (not
//! pretty, on purpose: pretty output under-parenthesizes WHEN clauses) plus
//! `ALTER TABLE ... DISABLE / ENABLE REPLICA / ENABLE ALWAYS TRIGGER` for the
//! firing state, as pg_dump's `dumpTrigger`. Post-data, so no trigger fires
//! while data is restored.
//!
//! Internal triggers (foreign keys) are left out; triggers cloned onto partitions
//! come from their parent's trigger, and only appear (as a bare
//! `ALTER TABLE ONLY partition ... TRIGGER`) when their firing state differs
//! from the parent's.
//!
//! Version branches: clones are recognised by `tgparentid` on 13+, by their
//! `pg_depend` link to the parent trigger on 11-12; they are internal before 15.
//! Clones of internal (foreign key) triggers are never dumped: their names differ
//! from database to database. 10 has no clones.

use super::comment::{comment_item, CommentTarget};
use super::{class, Dep, Item, Kind, Loader, ObjRef, Oid, Scope, ServerVersion};
use crate::error::{CoreError, Result};
use crate::quote::{ident, qualify};

/// One trigger as read from the catalog.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TriggerRow {
    pub oid: Oid,
    pub table_oid: Oid,
    pub table_schema: String,
    pub table_name: String,
    /// Relation kind of the table: r, p, v, f.
    pub table_kind: char,
    pub table_owner: String,
    pub name: String,
    /// `pg_get_triggerdef(oid, false)` (no trailing semicolon).
    pub def: String,
    /// `tgenabled`: O (origin, default), D (disabled), R (replica), A (always).
    pub enabled: char,
    /// The trigger of the partitioned parent this one was cloned from.
    pub parent: Option<Oid>,
}

impl TriggerRow {
    fn qualified_table(&self) -> String {
        qualify(&self.table_schema, &self.table_name)
    }

    /// `ALTER TABLE` or `ALTER FOREIGN TABLE`.
    fn alter_table(&self) -> &'static str {
        if self.table_kind == 'f' {
            "ALTER FOREIGN TABLE"
        } else {
            "ALTER TABLE"
        }
    }
}

/// The `ENABLE/DISABLE ... TRIGGER` action for a firing state, None for the default.
fn enable_action(enabled: char) -> Option<&'static str> {
    match enabled {
        'D' => Some("DISABLE"),
        'R' => Some("ENABLE REPLICA"),
        'A' => Some("ENABLE ALWAYS"),
        _ => None,
    }
}

/// The SQL of a trigger: `CREATE TRIGGER` and its firing state, or for a
/// partition's clone only the firing state (`ONLY` the partition).
pub(crate) fn create_sql(t: &TriggerRow) -> String {
    let table = t.qualified_table();
    let name = ident(&t.name);
    if t.parent.is_some() {
        let action = enable_action(t.enabled).unwrap_or("ENABLE");
        return format!(
            "{} ONLY {table} {action} TRIGGER {name};\n",
            t.alter_table()
        );
    }
    let def = t.def.trim_end();
    let mut q = format!("{};\n", def.strip_suffix(';').unwrap_or(def));
    if let Some(action) = enable_action(t.enabled) {
        q.push_str(&format!(
            "{} {table} {action} TRIGGER {name};\n",
            t.alter_table()
        ));
    }
    q
}

/// The items of one trigger: definition and comment.
pub(crate) fn trigger_items(scope: &Scope, t: &TriggerRow) -> Vec<Item> {
    let obj = ObjRef::new(class::PG_TRIGGER, t.oid);
    let table = t.qualified_table();
    let tag = format!("{} {}", t.table_name, t.name);
    let mut item = Item::new(Kind::Trigger, obj, tag.clone(), create_sql(t))
        .primary()
        .schema(t.table_schema.clone())
        .dep(Dep::Obj(ObjRef::new(class::PG_CLASS, t.table_oid)))
        .meta("table", table.clone());
    match t.parent {
        Some(parent) => item = item.dep(Dep::Obj(ObjRef::new(class::PG_TRIGGER, parent))),
        None => {
            item = item.drop(format!(
                "DROP TRIGGER IF EXISTS {} ON {table};\n",
                ident(&t.name)
            ))
        }
    }
    item.owner = Some(t.table_owner.clone());
    let sql_name = format!("{} ON {table}", ident(&t.name));
    let mut items = vec![item];
    items.extend(comment_item(
        scope,
        &CommentTarget {
            obj,
            sql_kind: "TRIGGER",
            sql_name: &sql_name,
            schema: Some(&t.table_schema),
            tag: &tag,
            owner: Some(&t.table_owner),
        },
    ));
    items
}

/// The catalog query for the triggers of the dumped relations.
fn query_sql(v: ServerVersion) -> &'static str {
    if v.at_least(13) {
        "SELECT t.oid, t.tgrelid, t.tgname::text, pg_catalog.pg_get_triggerdef(t.oid, false), \
                t.tgenabled::text, NULLIF(t.tgparentid, 0) \
         FROM pg_catalog.pg_trigger t \
         LEFT JOIN pg_catalog.pg_trigger u ON u.oid = t.tgparentid \
         WHERE t.tgrelid = ANY($1) \
           AND ((NOT t.tgisinternal AND t.tgparentid = 0) \
                OR (t.tgenabled <> u.tgenabled AND NOT u.tgisinternal)) \
         ORDER BY t.oid"
    } else if v.at_least(11) {
        "SELECT t.oid, t.tgrelid, t.tgname::text, pg_catalog.pg_get_triggerdef(t.oid, false), \
                t.tgenabled::text, pt.oid \
         FROM pg_catalog.pg_trigger t \
         LEFT JOIN pg_catalog.pg_depend d \
                ON d.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass \
               AND d.refclassid = 'pg_catalog.pg_trigger'::pg_catalog.regclass \
               AND d.objid = t.oid \
         LEFT JOIN pg_catalog.pg_trigger pt ON pt.oid = d.refobjid \
         WHERE t.tgrelid = ANY($1) \
           AND ((NOT t.tgisinternal AND pt.oid IS NULL) \
                OR (t.tgenabled <> pt.tgenabled AND NOT pt.tgisinternal)) \
         ORDER BY t.oid"
    } else {
        "SELECT t.oid, t.tgrelid, t.tgname::text, pg_catalog.pg_get_triggerdef(t.oid, false), \
                t.tgenabled::text, NULL::pg_catalog.oid \
         FROM pg_catalog.pg_trigger t \
         WHERE t.tgrelid = ANY($1) AND NOT t.tgisinternal \
         ORDER BY t.oid"
    }
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let oids = scope.rel_oids(&['r', 'p', 'v', 'f']);
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = l.query("triggers", query_sql(l.version), &[&oids]).await?;
    let mut items = Vec::new();
    for r in &rows {
        let table_oid: Oid = r.get(1);
        let Some(rel) = scope.relation(table_oid) else {
            continue;
        };
        let name: String = r.get(2);
        let def: Option<String> = r.get(3);
        let def = def.ok_or_else(|| {
            CoreError::Catalog(format!(
                "no definition for trigger {name} on {}.{}",
                rel.schema, rel.name
            ))
        })?;
        let t = TriggerRow {
            oid: r.get(0),
            table_oid,
            table_schema: rel.schema.clone(),
            table_name: rel.name.clone(),
            table_kind: rel.relkind,
            table_owner: rel.owner.clone(),
            name,
            def,
            enabled: r.get::<_, String>(4).chars().next().unwrap_or('O'),
            parent: r.get(5),
        };
        items.extend(trigger_items(scope, &t));
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`). The dump fails on them unless told to skip.
/// Every trigger the server can deparse can be rebuilt.
pub(crate) async fn unsupported(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trig() -> TriggerRow {
        TriggerRow {
            oid: 60000,
            table_oid: 16400,
            table_schema: "cov_core".into(),
            table_name: "categories".into(),
            table_kind: 'r',
            table_owner: "postgres".into(),
            name: "categories_audit".into(),
            def: "CREATE TRIGGER categories_audit AFTER INSERT ON cov_core.categories FOR EACH ROW EXECUTE FUNCTION cov_logic.audit_row()".into(),
            enabled: 'O',
            parent: None,
        }
    }

    #[test]
    fn plain_trigger() {
        assert_eq!(
            create_sql(&trig()),
            "CREATE TRIGGER categories_audit AFTER INSERT ON cov_core.categories FOR EACH ROW \
             EXECUTE FUNCTION cov_logic.audit_row();\n"
        );
    }

    #[test]
    fn firing_states() {
        let d = TriggerRow {
            enabled: 'D',
            ..trig()
        };
        assert!(create_sql(&d)
            .ends_with(";\nALTER TABLE cov_core.categories DISABLE TRIGGER categories_audit;\n"));
        let r = TriggerRow {
            enabled: 'R',
            table_kind: 'f',
            name: "Rep".into(),
            ..trig()
        };
        assert!(create_sql(&r).ends_with(
            ";\nALTER FOREIGN TABLE cov_core.categories ENABLE REPLICA TRIGGER \"Rep\";\n"
        ));
        let a = TriggerRow {
            enabled: 'A',
            ..trig()
        };
        assert!(create_sql(&a).ends_with("ENABLE ALWAYS TRIGGER categories_audit;\n"));
    }

    #[test]
    fn partition_clone_only_sets_state() {
        let c = TriggerRow {
            parent: Some(59999),
            table_name: "events_h0".into(),
            enabled: 'O',
            ..trig()
        };
        assert_eq!(
            create_sql(&c),
            "ALTER TABLE ONLY cov_core.events_h0 ENABLE TRIGGER categories_audit;\n"
        );
        let items = trigger_items(&crate::catalog::function::tests::test_scope(), &c);
        assert_eq!(items.len(), 1);
        assert!(items[0].drop.is_none());
        assert!(items[0]
            .deps
            .contains(&Dep::Obj(ObjRef::new(class::PG_TRIGGER, 59999))));
        assert_eq!(items[0].name, "events_h0 categories_audit");
        assert_eq!(
            items[0].meta.get("table").map(String::as_str),
            Some("cov_core.events_h0")
        );
    }
}
