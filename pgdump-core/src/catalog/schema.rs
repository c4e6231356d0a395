//! Schemas: `CREATE SCHEMA`, owner, comment and privileges.
//!
//! The `public` schema exists in every new database, so it is never created:
//! only what differs from a fresh database is emitted, as pg_dump does
//! (`selectDumpableNamespace`, `getNamespaces`, `dumpNamespace`):
//!
//! - owner: `ALTER SCHEMA public OWNER TO ...` unless the owner is
//!   `pg_database_owner` (the default from PostgreSQL 15 on). Before 15 the
//!   default owner was the bootstrap superuser, so a dump of an older server
//!   always carries the owner, which is what keeps its semantics on a newer target.
//! - privileges (source 15+): diffed against `{owner=UC/owner,=U/owner}`, the
//!   default with the schema's *actual* owner (the target's ACL once the owner is
//!   set), as pg_dump does; `pg_init_privs` is ignored for `public`, as pg_dump does.
//! - privileges (source before 15): the target may be older than 15 (PUBLIC has
//!   `UC`) or 15+ (PUBLIC has `U`), so what PUBLIC holds cannot be diffed against one
//!   default: the script revokes everything from PUBLIC and grants back what PUBLIC
//!   has in the source; the other grantees are diffed against `{owner=UC/owner}`.
//!   A default pre-15 `public` thus keeps `CREATE` for everybody on a 15+ target
//!   (pg_dump's behaviour, PostgreSQL 15 release notes: "databases restored from
//!   previous releases keep their current permissions"), and a pre-15 `public`
//!   whose `CREATE` was revoked stays revoked on a target of the same major (where
//!   pg_dump, diffing against the 15 default, emits nothing and leaves `CREATE`).
//! - comment: nothing when it is the standard `standard public schema`;
//!   `COMMENT ON SCHEMA public IS '';` when the comment was removed; the comment otherwise.
//!
//! The public schema's OID is below 16384, so its comment is read here (the scope
//! only holds comments of user objects).

use super::acl::{acl_item, acl_sql, AclTarget};
use super::comment::{comment_item, CommentTarget};
use super::{class, Dep, Item, Kind, Loader, ObjRef, Oid, Scope};
use crate::error::Result;
use crate::quote::{ident, literal};

/// The comment initdb puts on `public` (every version 10..18).
const PUBLIC_COMMENT: &str = "standard public schema";

/// The owner of `public` in a fresh database from PostgreSQL 15 on.
const PUBLIC_DEFAULT_OWNER: &str = "pg_database_owner";

/// One row of [`QUERY`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct SchemaRow {
    oid: Oid,
    name: String,
    owner: String,
    /// `nspacl` (None = NULL = default privileges).
    acl: Option<Vec<String>>,
    /// `acldefault('n', nspowner)`.
    acl_default: Vec<String>,
    /// `obj_description(oid)`: read for `public` (OID < 16384) only.
    comment: Option<String>,
}

/// Every schema; the caller keeps the dumped ones. Same on every version 10..18.
const QUERY: &str = "SELECT n.oid, n.nspname::text, pg_catalog.pg_get_userbyid(n.nspowner)::text, \
            n.nspacl::text[], pg_catalog.acldefault('n', n.nspowner)::text[], \
            CASE WHEN n.nspname = 'public' \
                 THEN pg_catalog.obj_description(n.oid, 'pg_namespace') END \
     FROM pg_catalog.pg_namespace n \
     ORDER BY n.oid";

async fn load(l: &Loader<'_>) -> Result<Vec<SchemaRow>> {
    let rows = l.query("schemas", QUERY, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| SchemaRow {
            oid: r.get(0),
            name: r.get(1),
            owner: r.get(2),
            acl: r.get(3),
            acl_default: super::opt_vec(r.get(4)),
            comment: r.get(5),
        })
        .collect())
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for row in load(l).await? {
        let obj = ObjRef::new(class::PG_NAMESPACE, row.oid);
        // A schema created by an extension comes with the extension.
        if !scope.dump_ns(row.oid) || scope.ext_members.contains(&obj) {
            continue;
        }
        if row.name == "public" {
            items.extend(public_items(scope, &row)?);
        } else {
            items.extend(schema_items(scope, &row)?);
        }
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`). Every schema can be reproduced.
pub(crate) async fn unsupported(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}

/// `CREATE SCHEMA s;`
fn create_sql(name: &str) -> String {
    format!("CREATE SCHEMA {};\n", ident(name))
}

/// `ALTER SCHEMA s OWNER TO r;`
fn owner_sql(name: &str, owner: &str) -> String {
    format!("ALTER SCHEMA {} OWNER TO {};\n", ident(name), ident(owner))
}

/// A role name as `aclitem` text writes it (double-quoted unless alphanumeric/underscore).
fn acl_role(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// The ACL `public` has in a fresh PostgreSQL 15+ database, with `owner` as owner.
fn public_acl_base(owner: &str) -> Vec<String> {
    let o = acl_role(owner);
    vec![format!("{o}=UC/{o}"), format!("=U/{o}")]
}

/// The GRANT/REVOKE statements for `public` (see the module doc for the two cases).
fn public_acl_sql(
    target: &AclTarget<'_>,
    acl: &[String],
    owner: &str,
    from_15: bool,
) -> Result<String> {
    if from_15 {
        return acl_sql(target, Some(acl), &public_acl_base(owner), None);
    }
    let o = acl_role(owner);
    let others = acl_sql(target, Some(acl), &[format!("{o}=UC/{o}")], None)?;
    Ok(format!(
        "REVOKE ALL ON SCHEMA {} FROM PUBLIC;\n{others}",
        target.sql_name
    ))
}

/// The `COMMENT ON SCHEMA public` statement needed to turn the standard comment
/// into `comment`, if any.
fn public_comment_sql(comment: Option<&str>) -> Option<String> {
    match comment {
        Some(PUBLIC_COMMENT) => None,
        Some(text) => Some(format!("COMMENT ON SCHEMA public IS {};\n", literal(text))),
        None => Some("COMMENT ON SCHEMA public IS '';\n".to_string()),
    }
}

/// An ordinary schema: CREATE, owner, comment, ACL.
fn schema_items(scope: &Scope, row: &SchemaRow) -> Result<Vec<Item>> {
    let obj = ObjRef::new(class::PG_NAMESPACE, row.oid);
    let q = ident(&row.name);
    let mut items = vec![
        Item::new(Kind::Schema, obj, row.name.clone(), create_sql(&row.name))
            .primary()
            .owner(row.owner.clone(), owner_sql(&row.name, &row.owner))
            .drop(format!("DROP SCHEMA IF EXISTS {q};\n")),
    ];
    items.extend(comment_item(
        scope,
        &CommentTarget {
            obj,
            sql_kind: "SCHEMA",
            sql_name: &q,
            schema: None,
            tag: &row.name,
            owner: Some(&row.owner),
        },
    ));
    items.extend(acl_item(
        &acl_target(obj, &q, &row.name, &row.owner),
        row.acl.as_deref(),
        &row.acl_default,
    )?);
    Ok(items)
}

fn acl_target<'a>(obj: ObjRef, q: &'a str, name: &'a str, owner: &'a str) -> AclTarget<'a> {
    AclTarget {
        obj,
        sql_kind: "SCHEMA",
        sql_name: q,
        schema: None,
        tag: name,
        owner,
    }
}

/// The `public` schema: only its differences from a fresh database (see the module doc).
fn public_items(scope: &Scope, row: &SchemaRow) -> Result<Vec<Item>> {
    let obj = ObjRef::new(class::PG_NAMESPACE, row.oid);
    let q = ident(&row.name);
    // A NULL ACL means the built-in default for the owner, not "unchanged".
    let acl = row.acl.clone().unwrap_or_else(|| row.acl_default.clone());
    let sql = public_acl_sql(
        &acl_target(obj, &q, &row.name, &row.owner),
        &acl,
        &row.owner,
        scope.version.at_least(15),
    )?;
    let acl = (!sql.is_empty()).then(|| {
        let mut a = Item::new(Kind::Acl, obj, "SCHEMA public", sql).dep(Dep::Obj(obj));
        a.owner = Some(row.owner.clone());
        a
    });
    let comment = if scope.opts.no_comments {
        None
    } else {
        public_comment_sql(row.comment.as_deref())
    }
    .map(|sql| {
        let mut c = Item::new(Kind::Comment, obj, "SCHEMA public", sql).dep(Dep::Obj(obj));
        c.owner = Some(row.owner.clone());
        c
    });
    let owner_differs = row.owner != PUBLIC_DEFAULT_OWNER;
    if !owner_differs && acl.is_none() && comment.is_none() {
        return Ok(Vec::new());
    }
    // The definition item carries no SQL of its own: the schema exists already.
    let mut item = Item::new(Kind::Schema, obj, row.name.clone(), String::new()).primary();
    item.owner = Some(row.owner.clone());
    if owner_differs {
        item.alter_owner = Some(owner_sql(&row.name, &row.owner));
    }
    let mut items = vec![item];
    items.extend(comment);
    items.extend(acl);
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ServerVersion;
    use crate::options::DumpOptions;
    use std::collections::{HashMap, HashSet};

    fn scope(comments: &[(ObjRef, &str)]) -> Scope {
        scope_v(150000, comments)
    }

    fn scope_v(version: u32, comments: &[(ObjRef, &str)]) -> Scope {
        Scope {
            version: ServerVersion(version),
            opts: DumpOptions::default(),
            namespaces: HashMap::new(),
            relations: HashMap::new(),
            ext_members: HashSet::new(),
            comments: comments
                .iter()
                .map(|(o, c)| ((*o, 0), c.to_string()))
                .collect(),
        }
    }

    fn row(name: &str, owner: &str, acl: Option<&[&str]>, comment: Option<&str>) -> SchemaRow {
        SchemaRow {
            oid: if name == "public" { 2200 } else { 16400 },
            name: name.into(),
            owner: owner.into(),
            acl: acl.map(|a| a.iter().map(|s| s.to_string()).collect()),
            acl_default: vec![format!("{owner}=UC/{owner}")],
            comment: comment.map(str::to_string),
        }
    }

    fn sql(items: &[Item]) -> String {
        items
            .iter()
            .map(|i| format!("{}{}", i.create, i.alter_owner.as_deref().unwrap_or("")))
            .collect()
    }

    #[test]
    fn ordinary_schema() {
        let r = row("Sales", "bob", Some(&["bob=UC/bob", "ann=U/bob"]), None);
        let s = scope(&[(ObjRef::new(class::PG_NAMESPACE, 16400), "it's sales")]);
        let items = schema_items(&s, &r).unwrap();
        assert_eq!(items.len(), 3);
        assert!(items[0].primary);
        assert_eq!(
            items[0].drop.as_deref(),
            Some("DROP SCHEMA IF EXISTS \"Sales\";\n")
        );
        assert_eq!(
            sql(&items[..1]),
            "CREATE SCHEMA \"Sales\";\nALTER SCHEMA \"Sales\" OWNER TO bob;\n"
        );
        assert_eq!(
            items[1].create.trim_end(),
            "COMMENT ON SCHEMA \"Sales\" IS 'it''s sales';"
        );
        assert_eq!(items[2].create, "GRANT USAGE ON SCHEMA \"Sales\" TO ann;\n");
        assert_eq!(items[1].name, "SCHEMA Sales");
        assert_eq!(items[2].name, "SCHEMA Sales");
    }

    #[test]
    fn default_public_15_emits_nothing() {
        let r = row(
            "public",
            "pg_database_owner",
            Some(&[
                "pg_database_owner=UC/pg_database_owner",
                "=U/pg_database_owner",
            ]),
            Some(PUBLIC_COMMENT),
        );
        assert!(public_items(&scope(&[]), &r).unwrap().is_empty());
    }

    #[test]
    fn default_public_before_15_keeps_owner_and_create_for_public() {
        let r = row(
            "public",
            "postgres",
            Some(&["postgres=UC/postgres", "=UC/postgres"]),
            Some(PUBLIC_COMMENT),
        );
        let items = public_items(&scope_v(140000, &[]), &r).unwrap();
        assert_eq!(
            sql(&items),
            "ALTER SCHEMA public OWNER TO postgres;\n\
             REVOKE ALL ON SCHEMA public FROM PUBLIC;\n\
             GRANT USAGE,CREATE ON SCHEMA public TO PUBLIC;\n"
        );
        assert_eq!(items[0].create, "");
        assert!(items[0].drop.is_none());
        assert_eq!(items[1].key.kind, Kind::Acl);
        assert_eq!(items[1].name, "SCHEMA public");
    }

    #[test]
    fn hardened_public_before_15_revokes_create_on_any_target() {
        // REVOKE CREATE ON SCHEMA public FROM PUBLIC on a 10..14 server, and a grant
        let r = row(
            "public",
            "postgres",
            Some(&["postgres=UC/postgres", "=U/postgres", "app=C/postgres"]),
            Some(PUBLIC_COMMENT),
        );
        let items = public_items(&scope_v(100000, &[]), &r).unwrap();
        assert_eq!(
            sql(&items),
            "ALTER SCHEMA public OWNER TO postgres;\n\
             REVOKE ALL ON SCHEMA public FROM PUBLIC;\n\
             GRANT USAGE ON SCHEMA public TO PUBLIC;\n\
             GRANT CREATE ON SCHEMA public TO app;\n"
        );
        // the same ACL read from a 15+ server is diffed against the 15 default
        let items = public_items(&scope_v(150000, &[]), &r).unwrap();
        assert_eq!(
            sql(&items),
            "ALTER SCHEMA public OWNER TO postgres;\nGRANT CREATE ON SCHEMA public TO app;\n"
        );
    }

    #[test]
    fn public_changed_comment_acl_and_owner() {
        let r = row(
            "public",
            "pg_database_owner",
            Some(&[
                "pg_database_owner=UC/pg_database_owner",
                "=U/pg_database_owner",
                "app=U/pg_database_owner",
            ]),
            Some("mine"),
        );
        let items = public_items(&scope(&[]), &r).unwrap();
        assert_eq!(
            sql(&items),
            "COMMENT ON SCHEMA public IS 'mine';\nGRANT USAGE ON SCHEMA public TO app;\n"
        );
        assert!(items[0].alter_owner.is_none());
        assert_eq!(items[1].key.kind, Kind::Comment);
        assert_eq!(
            items[1].deps,
            vec![Dep::Obj(ObjRef::new(class::PG_NAMESPACE, 2200))]
        );

        let r = row("public", "Weird Owner", None, None);
        let items = public_items(&scope(&[]), &r).unwrap();
        assert_eq!(
            sql(&items),
            "ALTER SCHEMA public OWNER TO \"Weird Owner\";\n\
             COMMENT ON SCHEMA public IS '';\n\
             REVOKE ALL ON SCHEMA public FROM PUBLIC;\n"
        );
    }

    #[test]
    fn acl_role_quoting() {
        assert_eq!(acl_role("bob_1"), "bob_1");
        assert_eq!(acl_role("Bob x"), "\"Bob x\"");
        assert_eq!(acl_role("a\"b"), "\"a\"\"b\"");
        assert_eq!(
            public_acl_base("o"),
            vec!["o=UC/o".to_string(), "=U/o".to_string()]
        );
    }
}
