//! Row level security: `ALTER TABLE ... ENABLE ROW LEVEL SECURITY` (a secondary
//! `ROW SECURITY` item of the table; `FORCE ROW LEVEL SECURITY` is part of the
//! table's DDL) and policies (`pg_policy`), assembled by hand as pg_dump's
//! `dumpPolicy` (there is no server-side deparser for policies); expressions
//! come from `pg_get_expr`. Post-data.
//!
//! No version branches: `polpermissive` exists since 10.

use super::comment::{comment_item, CommentTarget};
use super::{class, opt_vec, Dep, Item, Kind, Loader, ObjRef, Oid, Relation, Scope};
use crate::error::Result;
use crate::quote::{ident, qualify};

/// One policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PolicyRow {
    pub oid: Oid,
    pub table_oid: Oid,
    pub table_schema: String,
    pub table_name: String,
    pub table_owner: String,
    pub name: String,
    /// `polcmd`: `*` (ALL), r (SELECT), a (INSERT), w (UPDATE), d (DELETE).
    pub cmd: char,
    pub permissive: bool,
    /// Role names; an empty name is PUBLIC.
    pub roles: Vec<String>,
    /// `USING` expression.
    pub qual: Option<String>,
    /// `WITH CHECK` expression.
    pub with_check: Option<String>,
}

/// The `CREATE POLICY` statement.
pub(crate) fn create_sql(p: &PolicyRow) -> String {
    let mut q = format!(
        "CREATE POLICY {} ON {}",
        ident(&p.name),
        qualify(&p.table_schema, &p.table_name)
    );
    if !p.permissive {
        q.push_str(" AS RESTRICTIVE");
    }
    match p.cmd {
        'r' => q.push_str(" FOR SELECT"),
        'a' => q.push_str(" FOR INSERT"),
        'w' => q.push_str(" FOR UPDATE"),
        'd' => q.push_str(" FOR DELETE"),
        _ => {}
    }
    // TO PUBLIC is the default.
    if p.roles.iter().any(|r| !r.is_empty()) {
        let roles: Vec<String> = p
            .roles
            .iter()
            .map(|r| {
                if r.is_empty() {
                    "PUBLIC".to_string()
                } else {
                    ident(r)
                }
            })
            .collect();
        q.push_str(&format!(" TO {}", roles.join(", ")));
    }
    if let Some(qual) = &p.qual {
        q.push_str(&format!(" USING ({qual})"));
    }
    if let Some(check) = &p.with_check {
        q.push_str(&format!(" WITH CHECK ({check})"));
    }
    q.push_str(";\n");
    q
}

/// The items of one policy: definition and comment.
pub(crate) fn policy_items(scope: &Scope, p: &PolicyRow) -> Vec<Item> {
    let obj = ObjRef::new(class::PG_POLICY, p.oid);
    let table = qualify(&p.table_schema, &p.table_name);
    let tag = format!("{} {}", p.table_name, p.name);
    let sql_name = format!("{} ON {table}", ident(&p.name));
    let mut item = Item::new(Kind::Policy, obj, tag.clone(), create_sql(p))
        .primary()
        .schema(p.table_schema.clone())
        .drop(format!("DROP POLICY IF EXISTS {sql_name};\n"))
        .dep(Dep::Obj(ObjRef::new(class::PG_CLASS, p.table_oid)))
        .meta("table", table);
    item.owner = Some(p.table_owner.clone());
    let mut items = vec![item];
    items.extend(comment_item(
        scope,
        &CommentTarget {
            obj,
            sql_kind: "POLICY",
            sql_name: &sql_name,
            schema: Some(&p.table_schema),
            tag: &tag,
            owner: Some(&p.table_owner),
        },
    ));
    items
}

/// The `ROW SECURITY` item of a table with row level security enabled.
pub(crate) fn row_security_item(rel: &Relation) -> Item {
    let obj = ObjRef::new(class::PG_CLASS, rel.oid);
    let table = qualify(&rel.schema, &rel.name);
    let mut item = Item::new(
        Kind::RowSecurity,
        obj,
        rel.name.clone(),
        format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;\n"),
    )
    .schema(rel.schema.clone())
    .dep(Dep::Obj(obj))
    .meta("table", table);
    item.owner = Some(rel.owner.clone());
    item
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let oids = scope.rel_oids(&['r', 'p']);
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let mut items = Vec::new();

    let rls = l
        .query(
            "row level security",
            "SELECT c.oid FROM pg_catalog.pg_class c \
             WHERE c.oid = ANY($1) AND c.relrowsecurity ORDER BY c.oid",
            &[&oids],
        )
        .await?;
    for r in &rls {
        if let Some(rel) = scope.relation(r.get(0)) {
            items.push(row_security_item(rel));
        }
    }

    let rows = l
        .query(
            "policies",
            "SELECT pol.oid, pol.polrelid, pol.polname::text, pol.polcmd::text, pol.polpermissive, \
                    ARRAY(SELECT CASE WHEN x.r = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(x.r)::text END \
                          FROM pg_catalog.unnest(pol.polroles) WITH ORDINALITY AS x(r, i) ORDER BY x.i), \
                    pg_catalog.pg_get_expr(pol.polqual, pol.polrelid), \
                    pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) \
             FROM pg_catalog.pg_policy pol \
             WHERE pol.polrelid = ANY($1) \
             ORDER BY pol.oid",
            &[&oids],
        )
        .await?;
    for r in &rows {
        let table_oid: Oid = r.get(1);
        let Some(rel) = scope.relation(table_oid) else {
            continue;
        };
        let p = PolicyRow {
            oid: r.get(0),
            table_oid,
            table_schema: rel.schema.clone(),
            table_name: rel.name.clone(),
            table_owner: rel.owner.clone(),
            name: r.get(2),
            cmd: r.get::<_, String>(3).chars().next().unwrap_or('*'),
            permissive: r.get(4),
            roles: opt_vec(r.get(5)),
            qual: r.get(6),
            with_check: r.get(7),
        };
        items.extend(policy_items(scope, &p));
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`). The dump fails on them unless told to skip.
/// Every policy can be rebuilt.
pub(crate) async fn unsupported(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pol() -> PolicyRow {
        PolicyRow {
            oid: 90000,
            table_oid: 16500,
            table_schema: "cov_sec".into(),
            table_name: "accounts".into(),
            table_owner: "cov_owner".into(),
            name: "accounts_own_rows".into(),
            cmd: 'r',
            permissive: true,
            roles: vec!["cov_reader".into(), "Cov Writer".into()],
            qual: Some("(owner_role = CURRENT_USER)".into()),
            with_check: None,
        }
    }

    #[test]
    fn select_policy_with_roles() {
        assert_eq!(
            create_sql(&pol()),
            "CREATE POLICY accounts_own_rows ON cov_sec.accounts FOR SELECT TO cov_reader, \"Cov Writer\" \
             USING ((owner_role = CURRENT_USER));\n"
        );
    }

    #[test]
    fn restrictive_public_all() {
        let p = PolicyRow {
            name: "not_blocked".into(),
            cmd: '*',
            permissive: false,
            roles: vec![String::new()],
            qual: Some("(region IS DISTINCT FROM 'blocked'::text)".into()),
            with_check: Some("true".into()),
            ..pol()
        };
        assert_eq!(
            create_sql(&p),
            "CREATE POLICY not_blocked ON cov_sec.accounts AS RESTRICTIVE \
             USING ((region IS DISTINCT FROM 'blocked'::text)) WITH CHECK (true);\n"
        );
        let ins = PolicyRow {
            cmd: 'a',
            roles: vec!["w".into()],
            qual: None,
            with_check: Some("(balance >= 0)".into()),
            ..pol()
        };
        assert_eq!(
            create_sql(&ins),
            "CREATE POLICY accounts_own_rows ON cov_sec.accounts FOR INSERT TO w WITH CHECK ((balance >= 0));\n"
        );
    }

    #[test]
    fn items() {
        let items = policy_items(&crate::catalog::function::tests::test_scope(), &pol());
        assert_eq!(items[0].name, "accounts accounts_own_rows");
        assert_eq!(
            items[0].meta.get("table").map(String::as_str),
            Some("cov_sec.accounts")
        );
        let rel = Relation {
            oid: 16500,
            nsp: 1,
            schema: "cov_sec".into(),
            name: "accounts".into(),
            relkind: 'r',
            owner: "cov_owner".into(),
            persistence: 'p',
            is_partition: false,
            relpages: 0,
            reltuples: 0.0,
            dump: true,
            dump_data: true,
            ext_member: false,
            ext_config_filter: None,
        };
        let rs = row_security_item(&rel);
        assert_eq!(
            rs.create,
            "ALTER TABLE cov_sec.accounts ENABLE ROW LEVEL SECURITY;\n"
        );
        assert!(!rs.primary);
        assert_eq!(rs.key.kind, Kind::RowSecurity);
        assert_eq!(rs.key.obj, ObjRef::new(class::PG_CLASS, 16500));
    }
}
