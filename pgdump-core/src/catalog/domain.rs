//! Domains: `CREATE DOMAIN` with collation, default, NOT NULL and CHECK constraints.
//!
//! As pg_dump (`dumpDomain`, `getDomainConstraints`):
//! - `COLLATE` only when it differs from the base type's; the default through
//!   `pg_get_expr(typdefaultbin)`; constraints through `pg_get_constraintdef`,
//!   in constraint name order;
//! - NOT NULL: the `typnotnull` flag before 17; from 17 on the `pg_constraint` row
//!   of type `n` (written `NOT NULL` when it has the default name `<domain>_not_null`,
//!   `CONSTRAINT name NOT NULL` otherwise);
//! - constraints that are NOT VALID are not part of `CREATE DOMAIN`: they become
//!   separate post-data items (`Kind::CheckConstraint`, tag `domain constraint`)
//!   `ALTER DOMAIN d ADD CONSTRAINT c CHECK (...) NOT VALID;`. A domain constraint
//!   applies to every value written after it exists, valid or not, so adding it
//!   before the data would make the restore of rows that violate it fail;
//! - a validated constraint whose expression calls a function taking or returning
//!   the domain (or its array type) is added separately too, after the data (as
//!   pg_dump's loop repair does): inside `CREATE DOMAIN` it would need a function
//!   that needs the domain;
//! - comments on constraints (`COMMENT ON CONSTRAINT c ON DOMAIN d`) follow the
//!   domain (inline constraints) or the separate constraint item.
//!
//! Privileges use `GRANT ... ON TYPE` (as pg_dump, valid for domains) against
//! `acldefault('T', owner)`.

use super::acl::{acl_item, AclTarget};
use super::comment::{comment_item, CommentTarget};
use super::{class, Dep, Item, Kind, Loader, ObjRef, Oid, Scope, ServerVersion};
use crate::error::Result;
use crate::quote::{ident, qualify};

/// One constraint of a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DomainConstraint {
    oid: Oid,
    name: String,
    /// `c` CHECK, `n` NOT NULL (17+).
    contype: char,
    /// `pg_get_constraintdef` (with ` NOT VALID` when not validated).
    def: String,
    validated: bool,
    /// The expression calls a function that takes or returns the domain: inside
    /// `CREATE DOMAIN` it would need the function, which needs the domain.
    calls_own_function: bool,
}

/// One domain of [`query`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct DomainRow {
    oid: Oid,
    nsp: Oid,
    schema: String,
    name: String,
    owner: String,
    acl: Option<Vec<String>>,
    acl_default: Vec<String>,
    /// `format_type(typbasetype, typtypmod)`.
    base: String,
    /// `typnotnull` (used before 17; from 17 on the constraint carries it).
    not_null: bool,
    /// The default expression.
    default: Option<String>,
    /// Collation when not the base type's: (schema, name).
    collation: Option<(String, String)>,
    constraints: Vec<DomainConstraint>,
}

/// Every user domain with its constraints (arrays in constraint name order).
/// Before 17 only CHECK constraints exist in `pg_constraint`.
fn query(v: ServerVersion) -> String {
    let contypes = if v.at_least(17) { "'c', 'n'" } else { "'c'" };
    let sub = |col: &str| {
        format!(
            "ARRAY(SELECT {col} FROM pg_catalog.pg_constraint k \
                   WHERE k.contypid = t.oid AND k.contype IN ({contypes}) ORDER BY k.conname)"
        )
    };
    format!(
        "SELECT t.oid, t.typnamespace, n.nspname::text, t.typname::text, \
                pg_catalog.pg_get_userbyid(t.typowner)::text, \
                t.typacl::text[], pg_catalog.acldefault('T', t.typowner)::text[], \
                pg_catalog.format_type(t.typbasetype, t.typtypmod), t.typnotnull, \
                COALESCE(pg_catalog.pg_get_expr(t.typdefaultbin, 0), \
                         pg_catalog.quote_literal(t.typdefault)), \
                cn.nspname::text, co.collname::text, \
                {}, {}, {}, {}, {}, {} \
         FROM pg_catalog.pg_type t \
         JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
         JOIN pg_catalog.pg_type u ON u.oid = t.typbasetype \
         LEFT JOIN pg_catalog.pg_collation co \
                ON co.oid = t.typcollation AND t.typcollation <> u.typcollation \
         LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace \
         WHERE t.typtype = 'd' AND t.oid >= 16384 \
         ORDER BY t.oid",
        sub("k.oid"),
        sub("k.conname::text"),
        sub("k.contype::text"),
        sub("pg_catalog.pg_get_constraintdef(k.oid)"),
        sub("k.convalidated"),
        sub("EXISTS (SELECT 1 FROM pg_catalog.pg_depend d1 \
               JOIN pg_catalog.pg_depend d2 \
                 ON d2.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass \
                AND d2.objid = d1.refobjid \
                AND d2.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass \
                AND d2.refobjid IN (t.oid, t.typarray) \
              WHERE d1.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass \
                AND d1.objid = k.oid \
                AND d1.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass)"),
    )
}

async fn load(l: &Loader<'_>) -> Result<Vec<DomainRow>> {
    let rows = l.query("domains", &query(l.version), &[]).await?;
    let mut out = Vec::new();
    for r in &rows {
        let oids: Vec<Oid> = r.get(12);
        let names: Vec<String> = r.get(13);
        let types: Vec<String> = r.get(14);
        let defs: Vec<String> = r.get(15);
        let valid: Vec<bool> = r.get(16);
        let loops: Vec<bool> = r.get(17);
        let constraints = oids
            .iter()
            .zip(names)
            .zip(types)
            .zip(defs)
            .zip(valid)
            .zip(loops)
            .map(
                |(((((oid, name), t), def), validated), calls_own_function)| DomainConstraint {
                    oid: *oid,
                    name,
                    contype: t.chars().next().unwrap_or('c'),
                    def,
                    validated,
                    calls_own_function,
                },
            )
            .collect();
        let coll_nsp: Option<String> = r.get(10);
        let coll_name: Option<String> = r.get(11);
        out.push(DomainRow {
            oid: r.get(0),
            nsp: r.get(1),
            schema: r.get(2),
            name: r.get(3),
            owner: r.get(4),
            acl: r.get(5),
            acl_default: super::opt_vec(r.get(6)),
            base: r.get(7),
            not_null: r.get(8),
            default: r.get(9),
            collation: coll_nsp.zip(coll_name),
            constraints,
        });
    }
    Ok(out)
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for d in load(l).await? {
        if scope.dump_obj(d.nsp, ObjRef::new(class::PG_TYPE, d.oid)) {
            items.extend(domain_items(scope, &d)?);
        }
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`). Every domain can be reproduced.
pub(crate) async fn unsupported(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}

/// Constraints written inside `CREATE DOMAIN`: validated ones that do not call a
/// function of the domain (the others are added separately, after the data).
fn inline(c: &DomainConstraint) -> bool {
    c.validated && !c.calls_own_function
}

/// `CREATE DOMAIN ...` with the validated constraints.
fn create_sql(d: &DomainRow, qname: &str, v17: bool) -> String {
    let mut sql = format!("CREATE DOMAIN {qname} AS {}", d.base);
    if let Some((s, c)) = &d.collation {
        sql.push_str(&format!(" COLLATE {}", qualify(s, c)));
    }
    if v17 {
        let default_name = format!("{}_not_null", d.name);
        for c in d
            .constraints
            .iter()
            .filter(|c| c.contype == 'n' && inline(c))
        {
            if c.name == default_name {
                sql.push_str(&format!(" {}", c.def));
            } else {
                sql.push_str(&format!(" CONSTRAINT {} {}", ident(&c.name), c.def));
            }
        }
    } else if d.not_null {
        sql.push_str(" NOT NULL");
    }
    if let Some(def) = &d.default {
        sql.push_str(&format!(" DEFAULT {def}"));
    }
    for c in d
        .constraints
        .iter()
        .filter(|c| c.contype == 'c' && inline(c))
    {
        sql.push_str(&format!("\n\tCONSTRAINT {} {}", ident(&c.name), c.def));
    }
    sql.push_str(";\n");
    sql
}

/// `ALTER DOMAIN d ADD CONSTRAINT c ... NOT VALID;` for a constraint added separately.
fn add_constraint_sql(qname: &str, c: &DomainConstraint) -> String {
    format!(
        "ALTER DOMAIN {qname}\n    ADD CONSTRAINT {} {};\n",
        ident(&c.name),
        c.def
    )
}

/// The domain, its separate constraints, and their comments and ACL.
fn domain_items(scope: &Scope, d: &DomainRow) -> Result<Vec<Item>> {
    let obj = ObjRef::new(class::PG_TYPE, d.oid);
    let qname = qualify(&d.schema, &d.name);
    let v17 = scope.version.at_least(17);
    let mut items = vec![Item::new(
        Kind::Domain,
        obj,
        d.name.clone(),
        create_sql(d, &qname, v17),
    )
    .primary()
    .schema(d.schema.clone())
    .owner(
        d.owner.clone(),
        format!("ALTER DOMAIN {qname} OWNER TO {};\n", ident(&d.owner)),
    )
    .drop(format!("DROP DOMAIN IF EXISTS {qname};\n"))];
    items.extend(comment_item(
        scope,
        &CommentTarget {
            obj,
            sql_kind: "DOMAIN",
            sql_name: &qname,
            schema: Some(&d.schema),
            tag: &d.name,
            owner: Some(&d.owner),
        },
    ));
    let mut separate = Vec::new();
    for c in &d.constraints {
        let cobj = ObjRef::new(class::PG_CONSTRAINT, c.oid);
        let sql_name = format!("{} ON DOMAIN {qname}", ident(&c.name));
        let tag = format!("{} ON DOMAIN {}", c.name, d.name);
        let comment = comment_item(
            scope,
            &CommentTarget {
                obj: cobj,
                sql_kind: "CONSTRAINT",
                sql_name: &sql_name,
                schema: Some(&d.schema),
                tag: &tag,
                owner: Some(&d.owner),
            },
        );
        if inline(c) {
            // The constraint has no item of its own: its comment follows the domain.
            if let Some(mut cm) = comment {
                cm.key.obj = obj;
                cm.key.sub = c.oid;
                cm.deps = vec![Dep::Obj(obj)];
                items.push(cm);
            }
        } else {
            let mut item = Item::new(
                Kind::CheckConstraint,
                cobj,
                format!("{} {}", d.name, c.name),
                add_constraint_sql(&qname, c),
            )
            .primary()
            .schema(d.schema.clone())
            .meta("domain", qname.clone())
            .dep(Dep::Obj(obj))
            .drop(format!(
                "DO {};\n",
                crate::quote::dollar_quote(&format!(
                    "BEGIN IF pg_catalog.to_regtype({}) IS NOT NULL THEN \
                     ALTER DOMAIN {qname} DROP CONSTRAINT IF EXISTS {}; END IF; END",
                    crate::quote::literal(&qname),
                    ident(&c.name)
                ))
            ));
            // The owner is informative (the domain's): there is nothing to ALTER.
            item.owner = Some(d.owner.clone());
            separate.push(item);
            separate.extend(comment);
        }
    }
    items.extend(acl_item(
        &AclTarget {
            obj,
            sql_kind: "TYPE",
            sql_name: &qname,
            schema: Some(&d.schema),
            tag: &d.name,
            owner: &d.owner,
        },
        d.acl.as_deref(),
        &d.acl_default,
    )?);
    items.extend(separate);
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::DumpOptions;
    use std::collections::{HashMap, HashSet};

    fn scope(v: u32, comments: &[(ObjRef, &str)]) -> Scope {
        Scope {
            version: ServerVersion(v),
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

    fn con(oid: Oid, name: &str, t: char, def: &str, validated: bool) -> DomainConstraint {
        DomainConstraint {
            oid,
            name: name.into(),
            contype: t,
            def: def.into(),
            validated,
            calls_own_function: false,
        }
    }

    fn posint(constraints: Vec<DomainConstraint>, not_null: bool) -> DomainRow {
        DomainRow {
            oid: 17000,
            nsp: 16500,
            schema: "cov_types".into(),
            name: "posint".into(),
            owner: "postgres".into(),
            acl: None,
            acl_default: vec![],
            base: "integer".into(),
            not_null,
            default: Some("1".into()),
            collation: None,
            constraints,
        }
    }

    #[test]
    fn before_17() {
        let d = posint(
            vec![
                con(17001, "posint_check", 'c', "CHECK ((VALUE > 0))", true),
                con(
                    17002,
                    "posint_small",
                    'c',
                    "CHECK ((VALUE < 1000000)) NOT VALID",
                    false,
                ),
            ],
            true,
        );
        let cobj = ObjRef::new(class::PG_CONSTRAINT, 17002);
        let sc = scope(150000, &[(cobj, "later")]);
        let items = domain_items(&sc, &d).unwrap();
        assert_eq!(
            items[0].create,
            "CREATE DOMAIN cov_types.posint AS integer NOT NULL DEFAULT 1\n\tCONSTRAINT posint_check CHECK ((VALUE > 0));\n"
        );
        assert_eq!(
            items[0].alter_owner.as_deref(),
            Some("ALTER DOMAIN cov_types.posint OWNER TO postgres;\n")
        );
        let c = &items[1];
        assert_eq!(c.key.kind, Kind::CheckConstraint);
        assert!(c.primary);
        assert_eq!(c.name, "posint posint_small");
        assert_eq!(
            c.create,
            "ALTER DOMAIN cov_types.posint\n    ADD CONSTRAINT posint_small CHECK ((VALUE < 1000000)) NOT VALID;\n"
        );
        assert!(c
            .deps
            .contains(&Dep::Obj(ObjRef::new(class::PG_TYPE, 17000))));
        assert!(c.alter_owner.is_none());
        assert_eq!(
            items[2].create.trim_end(),
            "COMMENT ON CONSTRAINT posint_small ON DOMAIN cov_types.posint IS 'later';"
        );
        assert_eq!(items[2].key.obj, cobj);
        assert_eq!(items[2].name, "CONSTRAINT posint_small ON DOMAIN posint");
    }

    #[test]
    fn from_17_not_null_is_a_constraint() {
        let mut d = posint(
            vec![
                con(17001, "posint_check", 'c', "CHECK ((VALUE > 0))", true),
                con(17003, "posint_not_null", 'n', "NOT NULL", true),
            ],
            true,
        );
        let sc = scope(170000, &[]);
        assert_eq!(
            domain_items(&sc, &d).unwrap()[0].create,
            "CREATE DOMAIN cov_types.posint AS integer NOT NULL DEFAULT 1\n\tCONSTRAINT posint_check CHECK ((VALUE > 0));\n"
        );
        d.constraints[1].name = "nn".into();
        d.default = None;
        d.collation = Some(("pg_catalog".into(), "C".into()));
        d.base = "text".into();
        assert_eq!(
            domain_items(&sc, &d).unwrap()[0].create,
            "CREATE DOMAIN cov_types.posint AS text COLLATE pg_catalog.\"C\" CONSTRAINT nn NOT NULL\n\tCONSTRAINT posint_check CHECK ((VALUE > 0));\n"
        );
    }

    #[test]
    fn constraint_calling_a_function_of_the_domain_is_separate() {
        let mut c = con(17005, "sane", 'c', "CHECK (s.is_sane(VALUE))", true);
        c.calls_own_function = true;
        let d = posint(vec![c], false);
        let items = domain_items(&scope(150000, &[]), &d).unwrap();
        assert_eq!(
            items[0].create,
            "CREATE DOMAIN cov_types.posint AS integer DEFAULT 1;\n"
        );
        assert_eq!(items[1].key.kind, Kind::CheckConstraint);
        assert_eq!(
            items[1].create,
            "ALTER DOMAIN cov_types.posint\n    ADD CONSTRAINT sane CHECK (s.is_sane(VALUE));\n"
        );
    }

    #[test]
    fn inline_constraint_comment_follows_the_domain() {
        let d = posint(
            vec![con(17001, "Zip Format", 'c', "CHECK (true)", true)],
            false,
        );
        let cobj = ObjRef::new(class::PG_CONSTRAINT, 17001);
        let dobj = ObjRef::new(class::PG_TYPE, 17000);
        let sc = scope(150000, &[(cobj, "zip"), (dobj, "dom")]);
        let items = domain_items(&sc, &d).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[1].create.trim_end(),
            "COMMENT ON DOMAIN cov_types.posint IS 'dom';"
        );
        assert_eq!(
            items[2].create.trim_end(),
            "COMMENT ON CONSTRAINT \"Zip Format\" ON DOMAIN cov_types.posint IS 'zip';"
        );
        assert_eq!(items[2].key.obj, dobj);
        assert_eq!(items[2].key.sub, 17001);
        assert_eq!(items[2].deps, vec![Dep::Obj(dobj)]);
    }

    #[test]
    fn acl_uses_type() {
        let mut d = posint(vec![], false);
        d.acl = Some(vec!["postgres=U/postgres".into()]);
        d.acl_default = vec!["=U/postgres".into(), "postgres=U/postgres".into()];
        let items = domain_items(&scope(150000, &[]), &d).unwrap();
        assert_eq!(
            items[1].create,
            "REVOKE ALL ON TYPE cov_types.posint FROM PUBLIC;\n"
        );
        assert_eq!(items[1].name, "TYPE posint");
    }

    #[test]
    fn query_versions() {
        assert!(query(ServerVersion(170000)).contains("'c', 'n'"));
        assert!(!query(ServerVersion(160000)).contains("'n'"));
    }
}
