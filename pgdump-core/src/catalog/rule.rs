//! Rewrite rules (`pg_rewrite`) other than a view's own `_RETURN` rule (that one
//! is the view's definition): the server's `pg_get_ruledef(oid)` plus
//! `ALTER TABLE ... DISABLE / ENABLE REPLICA / ENABLE ALWAYS RULE` for the
//! firing state, as pg_dump's `dumpRule`. Post-data.
//!
//! No version branches: the catalog is the same on 10..18.

use super::comment::{comment_item, CommentTarget};
use super::{class, Dep, Item, Kind, Loader, ObjRef, Oid, Scope};
use crate::error::{CoreError, Result};
use crate::quote::{ident, qualify};

/// One rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RuleRow {
    pub oid: Oid,
    pub table_oid: Oid,
    pub table_schema: String,
    pub table_name: String,
    pub table_owner: String,
    pub name: String,
    /// `pg_get_ruledef(oid)`.
    pub def: String,
    /// `ev_enabled`: O (origin, default), D, R, A.
    pub enabled: char,
}

/// The `CREATE RULE` statement and its firing state.
pub(crate) fn create_sql(r: &RuleRow) -> String {
    let def = r.def.trim_end();
    let mut q = format!("{};\n", def.strip_suffix(';').unwrap_or(def));
    let action = match r.enabled {
        'D' => Some("DISABLE"),
        'R' => Some("ENABLE REPLICA"),
        'A' => Some("ENABLE ALWAYS"),
        _ => None,
    };
    if let Some(action) = action {
        q.push_str(&format!(
            "ALTER TABLE {} {action} RULE {};\n",
            qualify(&r.table_schema, &r.table_name),
            ident(&r.name)
        ));
    }
    q
}

/// The items of one rule: definition and comment.
pub(crate) fn rule_items(scope: &Scope, r: &RuleRow) -> Vec<Item> {
    let obj = ObjRef::new(class::PG_REWRITE, r.oid);
    let table = qualify(&r.table_schema, &r.table_name);
    let tag = format!("{} {}", r.table_name, r.name);
    let sql_name = format!("{} ON {table}", ident(&r.name));
    let mut item = Item::new(Kind::Rule, obj, tag.clone(), create_sql(r))
        .primary()
        .schema(r.table_schema.clone())
        .drop(format!("DROP RULE IF EXISTS {sql_name};\n"))
        .dep(Dep::Obj(ObjRef::new(class::PG_CLASS, r.table_oid)))
        .meta("table", table.clone());
    item.owner = Some(r.table_owner.clone());
    let mut items = vec![item];
    items.extend(comment_item(
        scope,
        &CommentTarget {
            obj,
            sql_kind: "RULE",
            sql_name: &sql_name,
            schema: Some(&r.table_schema),
            tag: &tag,
            owner: Some(&r.table_owner),
        },
    ));
    items
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let oids = scope.rel_oids(&['r', 'p', 'v', 'm', 'f']);
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = l
        .query(
            "rules",
            "SELECT r.oid, r.ev_class, r.rulename::text, pg_catalog.pg_get_ruledef(r.oid), \
                    r.ev_enabled::text \
             FROM pg_catalog.pg_rewrite r \
             WHERE r.ev_class = ANY($1) \
               AND NOT (r.ev_type = '1' AND r.rulename = '_RETURN') \
             ORDER BY r.oid",
            &[&oids],
        )
        .await?;
    let mut items = Vec::new();
    for row in &rows {
        let table_oid: Oid = row.get(1);
        let Some(rel) = scope.relation(table_oid) else {
            continue;
        };
        let name: String = row.get(2);
        let def: Option<String> = row.get(3);
        let def = def.ok_or_else(|| {
            CoreError::Catalog(format!(
                "no definition for rule {name} on {}.{}",
                rel.schema, rel.name
            ))
        })?;
        let r = RuleRow {
            oid: row.get(0),
            table_oid,
            table_schema: rel.schema.clone(),
            table_name: rel.name.clone(),
            table_owner: rel.owner.clone(),
            name,
            def,
            enabled: row.get::<_, String>(4).chars().next().unwrap_or('O'),
        };
        items.extend(rule_items(scope, &r));
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`). The dump fails on them unless told to skip.
/// Every rule the server can deparse can be rebuilt.
pub(crate) async fn unsupported(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> RuleRow {
        RuleRow {
            oid: 80000,
            table_oid: 16400,
            table_schema: "cov_core".into(),
            table_name: "categories".into(),
            table_owner: "postgres".into(),
            name: "categories_protect_zero".into(),
            def:
                "CREATE RULE categories_protect_zero AS\n    ON DELETE TO cov_core.categories\n   \
                  WHERE (old.cat_id = 0) DO INSTEAD NOTHING;"
                    .into(),
            enabled: 'O',
        }
    }

    #[test]
    fn plain_rule() {
        assert_eq!(
            create_sql(&rule()),
            "CREATE RULE categories_protect_zero AS\n    ON DELETE TO cov_core.categories\n   \
             WHERE (old.cat_id = 0) DO INSTEAD NOTHING;\n"
        );
    }

    #[test]
    fn disabled_rule_and_names() {
        let r = RuleRow {
            enabled: 'D',
            name: "Protect".into(),
            ..rule()
        };
        assert!(create_sql(&r)
            .ends_with("NOTHING;\nALTER TABLE cov_core.categories DISABLE RULE \"Protect\";\n"));
        let items = rule_items(&crate::catalog::function::tests::test_scope(), &r);
        assert_eq!(items[0].name, "categories Protect");
        assert_eq!(
            items[0].drop.as_deref(),
            Some("DROP RULE IF EXISTS \"Protect\" ON cov_core.categories;\n")
        );
        let a = RuleRow {
            enabled: 'A',
            ..rule()
        };
        assert!(create_sql(&a).ends_with("ENABLE ALWAYS RULE categories_protect_zero;\n"));
    }
}
