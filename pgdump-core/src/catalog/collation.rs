//! Collations: `CREATE COLLATION` for the libc, ICU and builtin providers.
//!
//! As pg_dump (`dumpCollation`): `provider = ...`, `deterministic = false` when
//! so (12+), then the locale:
//! - libc: `locale = '...'` when `collcollate = collctype`, else `lc_collate`/`lc_ctype`;
//! - ICU: `locale` from `collcollate` before 15, `colliculocale` in 15-16,
//!   `colllocale` from 17; `rules = '...'` from 16 (`collicurules`);
//! - builtin (17+): `locale` from `colllocale`.
//!
//! No `version`: the target records its own provider's version. Collations have
//! no privileges; owner and comment are dumped.

use super::comment::{comment_item, CommentTarget};
use super::{class, Item, Kind, Loader, ObjRef, Oid, Scope, ServerVersion};
use crate::error::Result;
use crate::quote::{ident, literal, qualify};

/// One collation of [`query`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct CollationRow {
    oid: Oid,
    nsp: Oid,
    schema: String,
    name: String,
    owner: String,
    /// `collprovider`: `c` libc, `i` ICU, `b` builtin, `d` default.
    provider: char,
    deterministic: bool,
    collate: Option<String>,
    ctype: Option<String>,
    /// The ICU or builtin locale (15+; before 15 ICU uses `collate`).
    locale: Option<String>,
    /// ICU tailoring rules (16+).
    icu_rules: Option<String>,
}

/// User collations. Version branches: `collisdeterministic` (12), `colliculocale`
/// (15-16) renamed `colllocale` (17), `collicurules` (16).
fn query(v: ServerVersion) -> String {
    let deterministic = if v.at_least(12) {
        "c.collisdeterministic"
    } else {
        "true"
    };
    let locale = if v.at_least(17) {
        "c.colllocale"
    } else if v.at_least(15) {
        "c.colliculocale"
    } else {
        "NULL::text"
    };
    let rules = if v.at_least(16) {
        "c.collicurules"
    } else {
        "NULL::text"
    };
    format!(
        "SELECT c.oid, c.collnamespace, n.nspname::text, c.collname::text, \
                pg_catalog.pg_get_userbyid(c.collowner)::text, c.collprovider::text, \
                {deterministic}, c.collcollate::text, c.collctype::text, \
                {locale}::text, {rules}::text \
         FROM pg_catalog.pg_collation c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace \
         WHERE c.oid >= 16384 \
         ORDER BY c.oid"
    )
}

async fn load(l: &Loader<'_>) -> Result<Vec<CollationRow>> {
    let rows = l.query("collations", &query(l.version), &[]).await?;
    Ok(rows
        .iter()
        .map(|r| CollationRow {
            oid: r.get(0),
            nsp: r.get(1),
            schema: r.get(2),
            name: r.get(3),
            owner: r.get(4),
            provider: r.get::<_, String>(5).chars().next().unwrap_or('c'),
            deterministic: r.get(6),
            collate: r.get(7),
            ctype: r.get(8),
            locale: r.get(9),
            icu_rules: r.get(10),
        })
        .collect())
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for c in load(l).await? {
        let obj = ObjRef::new(class::PG_COLLATION, c.oid);
        if !scope.dump_obj(c.nsp, obj) {
            continue;
        }
        let Some(create) = create_sql(&c) else {
            continue; // reported by unsupported()
        };
        let qname = qualify(&c.schema, &c.name);
        items.push(
            Item::new(Kind::Collation, obj, c.name.clone(), create)
                .primary()
                .schema(c.schema.clone())
                .owner(
                    c.owner.clone(),
                    format!("ALTER COLLATION {qname} OWNER TO {};\n", ident(&c.owner)),
                )
                .drop(format!("DROP COLLATION IF EXISTS {qname};\n")),
        );
        items.extend(comment_item(
            scope,
            &CommentTarget {
                obj,
                sql_kind: "COLLATION",
                sql_name: &qname,
                schema: Some(&c.schema),
                tag: &c.name,
                owner: Some(&c.owner),
            },
        ));
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`): collations of a provider we do not know (the
/// `default` provider cannot be used in `CREATE COLLATION`).
pub(crate) async fn unsupported(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    Ok(load(l)
        .await?
        .iter()
        .filter(|c| scope.dump_obj(c.nsp, ObjRef::new(class::PG_COLLATION, c.oid)))
        .filter(|c| create_sql(c).is_none())
        .map(|c| {
            format!(
                "collation {}: provider '{}' cannot be created",
                qualify(&c.schema, &c.name),
                c.provider
            )
        })
        .collect())
}

/// `CREATE COLLATION s.c (provider = ..., ...);`, None for an unknown provider.
fn create_sql(c: &CollationRow) -> Option<String> {
    let lit = |s: &Option<String>| literal(s.as_deref().unwrap_or(""));
    let mut opts = Vec::new();
    let provider = match c.provider {
        'c' => "libc",
        'i' => "icu",
        'b' => "builtin",
        _ => return None,
    };
    opts.push(format!("provider = {provider}"));
    if !c.deterministic {
        opts.push("deterministic = false".to_string());
    }
    match c.provider {
        'c' => {
            if c.collate == c.ctype {
                opts.push(format!("locale = {}", lit(&c.collate)));
            } else {
                opts.push(format!("lc_collate = {}", lit(&c.collate)));
                opts.push(format!("lc_ctype = {}", lit(&c.ctype)));
            }
        }
        'i' => {
            // Before 15 the ICU locale is in collcollate (= collctype).
            let locale = c.locale.as_ref().or(c.collate.as_ref()).cloned();
            opts.push(format!("locale = {}", lit(&locale)));
            if c.icu_rules.is_some() {
                opts.push(format!("rules = {}", lit(&c.icu_rules)));
            }
        }
        _ => opts.push(format!("locale = {}", lit(&c.locale))),
    }
    Some(format!(
        "CREATE COLLATION {} ({});\n",
        qualify(&c.schema, &c.name),
        opts.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(provider: char) -> CollationRow {
        CollationRow {
            oid: 17000,
            nsp: 16500,
            schema: "cov_types".into(),
            name: "ci".into(),
            owner: "postgres".into(),
            provider,
            deterministic: true,
            ..Default::default()
        }
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn libc() {
        let mut c = row('c');
        c.collate = some("C");
        c.ctype = some("C");
        assert_eq!(
            create_sql(&c).unwrap(),
            "CREATE COLLATION cov_types.ci (provider = libc, locale = 'C');\n"
        );
        c.ctype = some("C.UTF-8");
        assert_eq!(
            create_sql(&c).unwrap(),
            "CREATE COLLATION cov_types.ci (provider = libc, lc_collate = 'C', lc_ctype = 'C.UTF-8');\n"
        );
    }

    #[test]
    fn icu_all_versions() {
        // 15+: colliculocale / colllocale, collcollate NULL
        let mut c = row('i');
        c.deterministic = false;
        c.locale = some("und-u-ks-level2");
        assert_eq!(
            create_sql(&c).unwrap(),
            "CREATE COLLATION cov_types.ci (provider = icu, deterministic = false, locale = 'und-u-ks-level2');\n"
        );
        // before 15: the locale is in collcollate
        let mut c = row('i');
        c.collate = some("de-DE");
        c.ctype = some("de-DE");
        assert_eq!(
            create_sql(&c).unwrap(),
            "CREATE COLLATION cov_types.ci (provider = icu, locale = 'de-DE');\n"
        );
        // 16+: rules
        let mut c = row('i');
        c.locale = some("und");
        c.icu_rules = some("&a < b's");
        assert_eq!(
            create_sql(&c).unwrap(),
            "CREATE COLLATION cov_types.ci (provider = icu, locale = 'und', rules = '&a < b''s');\n"
        );
    }

    #[test]
    fn builtin_and_default() {
        let mut c = row('b');
        c.locale = some("C.UTF-8");
        assert_eq!(
            create_sql(&c).unwrap(),
            "CREATE COLLATION cov_types.ci (provider = builtin, locale = 'C.UTF-8');\n"
        );
        assert!(create_sql(&row('d')).is_none());
    }

    #[test]
    fn query_versions() {
        let q10 = query(ServerVersion(100000));
        assert!(!q10.contains("collisdeterministic") && !q10.contains("iculocale"));
        assert!(query(ServerVersion(150000)).contains("c.colliculocale"));
        assert!(query(ServerVersion(160000)).contains("c.collicurules"));
        assert!(query(ServerVersion(170000)).contains("c.colllocale"));
    }
}
