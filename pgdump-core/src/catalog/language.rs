//! Procedural languages that are not extension members (rare: left by old dumps
//! or created by hand with `CREATE LANGUAGE ... HANDLER`).
//!
//! `CREATE [TRUSTED] LANGUAGE l HANDLER h [INLINE i] [VALIDATOR v];` as pg_dump
//! (`dumpProcLang`), with owner, comment and privileges (`acldefault('l', owner)`).
//! Handlers are C functions: a language is reproduced only when its handler,
//! inline and validator functions live in `pg_catalog` (they then exist on the
//! target); one whose handler is a C function of a user schema is reported by
//! [`unsupported`].
//!
//! Languages created by initdb (OID < 16384) and extension members are never
//! dumped (pg_dump only re-applies privileges of initdb-created procedural
//! languages; the only one, `plpgsql`, is an extension member). As everything outside schemas,
//! languages are left out when schemas are selected (`-n`).

use super::acl::{acl_item, AclTarget};
use super::comment::{comment_item, CommentTarget};
use super::{class, Item, Kind, Loader, ObjRef, Oid, Scope};
use crate::error::Result;
use crate::quote::{ident, qualify};

/// A (schema, name) pair, unquoted.
type QName = (String, String);

/// One language of [`QUERY`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct LanguageRow {
    oid: Oid,
    name: String,
    owner: String,
    trusted: bool,
    handler: Option<QName>,
    inline: Option<QName>,
    validator: Option<QName>,
    acl: Option<Vec<String>>,
    /// `acldefault('l', lanowner)`.
    acl_default: Vec<String>,
}

/// User procedural languages. Same on every version 10..18.
const QUERY: &str = "SELECT l.oid, l.lanname::text, pg_catalog.pg_get_userbyid(l.lanowner)::text, \
            l.lanpltrusted, hn.nspname::text, h.proname::text, \
            inn.nspname::text, ip.proname::text, vn.nspname::text, vp.proname::text, \
            l.lanacl::text[], pg_catalog.acldefault('l', l.lanowner)::text[] \
     FROM pg_catalog.pg_language l \
     LEFT JOIN pg_catalog.pg_proc h ON h.oid = l.lanplcallfoid \
     LEFT JOIN pg_catalog.pg_namespace hn ON hn.oid = h.pronamespace \
     LEFT JOIN pg_catalog.pg_proc ip ON ip.oid = l.laninline \
     LEFT JOIN pg_catalog.pg_namespace inn ON inn.oid = ip.pronamespace \
     LEFT JOIN pg_catalog.pg_proc vp ON vp.oid = l.lanvalidator \
     LEFT JOIN pg_catalog.pg_namespace vn ON vn.oid = vp.pronamespace \
     WHERE l.lanispl AND l.oid >= 16384 \
     ORDER BY l.oid";

fn pair(a: Option<String>, b: Option<String>) -> Option<QName> {
    Some((a?, b?))
}

async fn load(l: &Loader<'_>) -> Result<Vec<LanguageRow>> {
    let rows = l.query("procedural languages", QUERY, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| LanguageRow {
            oid: r.get(0),
            name: r.get(1),
            owner: r.get(2),
            trusted: r.get(3),
            handler: pair(r.get(4), r.get(5)),
            inline: pair(r.get(6), r.get(7)),
            validator: pair(r.get(8), r.get(9)),
            acl: r.get(10),
            acl_default: super::opt_vec(r.get(11)),
        })
        .collect())
}

/// Can the language be created on any target: every function it names is in `pg_catalog`?
fn reproducible(l: &LanguageRow) -> bool {
    l.handler.is_some()
        && [&l.handler, &l.inline, &l.validator]
            .iter()
            .all(|f| f.as_ref().is_none_or(|(s, _)| s == "pg_catalog"))
}

/// `CREATE [TRUSTED] LANGUAGE ...;`
fn create_sql(l: &LanguageRow) -> String {
    let mut sql = format!(
        "CREATE {}LANGUAGE {}",
        if l.trusted { "TRUSTED " } else { "" },
        ident(&l.name)
    );
    for (word, f) in [
        ("HANDLER", &l.handler),
        ("INLINE", &l.inline),
        ("VALIDATOR", &l.validator),
    ] {
        if let Some((s, n)) = f {
            sql.push_str(&format!(" {word} {}", qualify(s, n)));
        }
    }
    sql.push_str(";\n");
    sql
}

/// Items of one language: definition, comment, privileges.
fn language_items(scope: &Scope, l: &LanguageRow) -> Result<Vec<Item>> {
    let obj = ObjRef::new(class::PG_LANGUAGE, l.oid);
    let q = ident(&l.name);
    let acl = acl_item(
        &AclTarget {
            obj,
            sql_kind: "LANGUAGE",
            sql_name: &q,
            schema: None,
            tag: &l.name,
            owner: &l.owner,
        },
        l.acl.as_deref(),
        &l.acl_default,
    )?;
    let mut items = vec![
        Item::new(Kind::Language, obj, l.name.clone(), create_sql(l))
            .primary()
            .owner(
                l.owner.clone(),
                format!("ALTER LANGUAGE {q} OWNER TO {};\n", ident(&l.owner)),
            )
            .drop(format!("DROP PROCEDURAL LANGUAGE IF EXISTS {q};\n")),
    ];
    items.extend(comment_item(
        scope,
        &CommentTarget {
            obj,
            sql_kind: "LANGUAGE",
            sql_name: &q,
            schema: None,
            tag: &l.name,
            owner: Some(&l.owner),
        },
    ));
    items.extend(acl);
    Ok(items)
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    if !scope.opts.schemas.include.is_empty() {
        return Ok(Vec::new());
    }
    let mut items = Vec::new();
    for lang in load(l).await? {
        let obj = ObjRef::new(class::PG_LANGUAGE, lang.oid);
        if scope.dump_global(obj) && reproducible(&lang) {
            items.extend(language_items(scope, &lang)?);
        }
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`): languages whose handler (or inline/validator
/// function) is a C function outside `pg_catalog`.
pub(crate) async fn unsupported(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    if !scope.opts.schemas.include.is_empty() {
        return Ok(Vec::new());
    }
    Ok(load(l)
        .await?
        .iter()
        .filter(|lang| scope.dump_global(ObjRef::new(class::PG_LANGUAGE, lang.oid)))
        .filter(|lang| !reproducible(lang))
        .map(|lang| {
            let handler = lang
                .handler
                .as_ref()
                .map(|(s, n)| qualify(s, n))
                .unwrap_or_else(|| "(none)".to_string());
            format!(
                "language {}: handler {handler} is a C function outside pg_catalog",
                ident(&lang.name)
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ServerVersion;
    use crate::options::DumpOptions;
    use std::collections::{HashMap, HashSet};

    fn scope() -> Scope {
        Scope {
            version: ServerVersion(150000),
            opts: DumpOptions::default(),
            namespaces: HashMap::new(),
            relations: HashMap::new(),
            ext_members: HashSet::new(),
            comments: HashMap::new(),
        }
    }

    fn qn(a: &str, b: &str) -> Option<QName> {
        Some((a.into(), b.into()))
    }

    fn plsample() -> LanguageRow {
        LanguageRow {
            oid: 17000,
            name: "plsample".into(),
            owner: "postgres".into(),
            trusted: true,
            handler: qn("pg_catalog", "plpgsql_call_handler"),
            inline: qn("pg_catalog", "plpgsql_inline_handler"),
            validator: qn("pg_catalog", "plpgsql_validator"),
            acl: None,
            acl_default: vec!["=U/postgres".into(), "postgres=U/postgres".into()],
        }
    }

    #[test]
    fn create_language() {
        let l = plsample();
        assert!(reproducible(&l));
        assert_eq!(
            create_sql(&l),
            "CREATE TRUSTED LANGUAGE plsample HANDLER pg_catalog.plpgsql_call_handler \
             INLINE pg_catalog.plpgsql_inline_handler VALIDATOR pg_catalog.plpgsql_validator;\n"
        );
        let items = language_items(&scope(), &l).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].alter_owner.as_deref(),
            Some("ALTER LANGUAGE plsample OWNER TO postgres;\n")
        );
        let u = LanguageRow {
            trusted: false,
            inline: None,
            validator: None,
            handler: qn("public", "my_handler"),
            ..plsample()
        };
        assert!(!reproducible(&u));
    }

    #[test]
    fn language_acl() {
        let mut l = plsample();
        l.acl = Some(vec!["postgres=U/postgres".into()]);
        let items = language_items(&scope(), &l).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[1].create,
            "REVOKE ALL ON LANGUAGE plsample FROM PUBLIC;\n"
        );
        assert_eq!(items[1].name, "LANGUAGE plsample");
    }
}
