//! Casts: `CREATE CAST (source AS target) WITH FUNCTION f(args) | WITHOUT FUNCTION
//! | WITH INOUT [AS ASSIGNMENT | AS IMPLICIT]`.
//!
//! As pg_dump (`getCasts`, `selectDumpableCast`, `dumpCast`): casts created after
//! initdb (OID >= 16384) that are not extension members, except the casts between
//! a range type and its multirange type (14+) that `CREATE TYPE ... AS RANGE`
//! makes by itself. Casts belong to no schema, so a schema selection (`-n`) leaves
//! them out, as pg_dump does; under a table selection the dependency closure keeps
//! the ones needed. Name (TOC tag): `source AS target`; comment tag
//! `CAST (source AS target)`. Casts have no owner and no privileges.

use super::comment::{comment_item, CommentTarget};
use super::{class, Item, Kind, Loader, ObjRef, Oid, Scope, ServerVersion};
use crate::error::Result;
use crate::quote::qualify;

/// One cast of [`query`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct CastRow {
    oid: Oid,
    /// `format_type(castsource)` (server-quoted and qualified).
    source: String,
    /// `format_type(casttarget)`.
    target: String,
    /// The cast function: (schema, name, `oidvectortypes(proargtypes)`).
    func: Option<(String, String, String)>,
    /// `castcontext`: `e` explicit, `a` assignment, `i` implicit.
    context: char,
    /// `castmethod`: `f` function, `i` inout, `b` binary coercible.
    method: char,
}

/// User casts; from 14 on without the range/multirange casts made by CREATE TYPE.
fn query(v: ServerVersion) -> String {
    let multirange = if v.at_least(14) {
        "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_range r \
                         WHERE c.castsource = r.rngtypid AND c.casttarget = r.rngmultitypid) "
    } else {
        ""
    };
    format!(
        "SELECT c.oid, pg_catalog.format_type(c.castsource, NULL), \
                pg_catalog.format_type(c.casttarget, NULL), \
                fn.nspname::text, p.proname::text, pg_catalog.oidvectortypes(p.proargtypes), \
                c.castcontext::text, c.castmethod::text \
         FROM pg_catalog.pg_cast c \
         LEFT JOIN pg_catalog.pg_proc p ON p.oid = c.castfunc \
         LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = p.pronamespace \
         WHERE c.oid >= 16384 {multirange}\
         ORDER BY c.oid"
    )
}

/// `CREATE CAST (...) ...;`
fn create_sql(c: &CastRow) -> String {
    let how = match (&c.func, c.method) {
        (Some((schema, name, args)), 'f') => {
            format!("WITH FUNCTION {}({args})", qualify(schema, name))
        }
        (_, 'i') => "WITH INOUT".to_string(),
        _ => "WITHOUT FUNCTION".to_string(),
    };
    let context = match c.context {
        'a' => " AS ASSIGNMENT",
        'i' => " AS IMPLICIT",
        _ => "",
    };
    format!(
        "CREATE CAST ({} AS {}) {how}{context};\n",
        c.source, c.target
    )
}

/// The cast and its comment.
fn cast_items(scope: &Scope, c: &CastRow) -> Vec<Item> {
    let obj = ObjRef::new(class::PG_CAST, c.oid);
    let sig = format!("({} AS {})", c.source, c.target);
    let mut items = vec![Item::new(
        Kind::Cast,
        obj,
        format!("{} AS {}", c.source, c.target),
        create_sql(c),
    )
    .primary()
    .drop(format!("DROP CAST IF EXISTS {sig};\n"))];
    items.extend(comment_item(
        scope,
        &CommentTarget {
            obj,
            sql_kind: "CAST",
            sql_name: &sig,
            schema: None,
            tag: &sig,
            owner: None,
        },
    ));
    items
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    if !scope.opts.schemas.include.is_empty() {
        return Ok(Vec::new());
    }
    let rows = l.query("casts", &query(l.version), &[]).await?;
    let mut items = Vec::new();
    for r in &rows {
        let oid: Oid = r.get(0);
        if !scope.dump_global(ObjRef::new(class::PG_CAST, oid)) {
            continue;
        }
        let fs: Option<String> = r.get(3);
        let fname: Option<String> = r.get(4);
        let fargs: Option<String> = r.get(5);
        let row = CastRow {
            oid,
            source: r.get(1),
            target: r.get(2),
            func: match (fs, fname, fargs) {
                (Some(s), Some(n), Some(a)) => Some((s, n, a)),
                _ => None,
            },
            context: r.get::<_, String>(6).chars().next().unwrap_or('e'),
            method: r.get::<_, String>(7).chars().next().unwrap_or('f'),
        };
        items.extend(cast_items(scope, &row));
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`). Every cast can be reproduced.
pub(crate) async fn unsupported(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::DumpOptions;
    use std::collections::{HashMap, HashSet};

    fn cast(func: Option<(&str, &str, &str)>, context: char, method: char) -> CastRow {
        CastRow {
            oid: 18397,
            source: "cov_types.address".into(),
            target: "text".into(),
            func: func.map(|(a, b, c)| (a.into(), b.into(), c.into())),
            context,
            method,
        }
    }

    #[test]
    fn methods_and_contexts() {
        let f = Some(("cov_logic", "address_to_text", "cov_types.address"));
        assert_eq!(
            create_sql(&cast(f, 'a', 'f')),
            "CREATE CAST (cov_types.address AS text) WITH FUNCTION cov_logic.address_to_text(cov_types.address) AS ASSIGNMENT;\n"
        );
        assert_eq!(
            create_sql(&cast(None, 'e', 'i')),
            "CREATE CAST (cov_types.address AS text) WITH INOUT;\n"
        );
        assert_eq!(
            create_sql(&cast(None, 'i', 'b')),
            "CREATE CAST (cov_types.address AS text) WITHOUT FUNCTION AS IMPLICIT;\n"
        );
    }

    #[test]
    fn items() {
        let obj = ObjRef::new(class::PG_CAST, 18397);
        let scope = Scope {
            version: ServerVersion(150000),
            opts: DumpOptions::default(),
            namespaces: HashMap::new(),
            relations: HashMap::new(),
            ext_members: HashSet::new(),
            comments: [((obj, 0), "custom cast".to_string())]
                .into_iter()
                .collect(),
        };
        let items = cast_items(&scope, &cast(None, 'e', 'i'));
        assert_eq!(items[0].name, "cov_types.address AS text");
        assert_eq!(
            items[0].drop.as_deref(),
            Some("DROP CAST IF EXISTS (cov_types.address AS text);\n")
        );
        assert_eq!(
            items[1].create.trim_end(),
            "COMMENT ON CAST (cov_types.address AS text) IS 'custom cast';"
        );
        assert_eq!(items[1].name, "CAST (cov_types.address AS text)");
    }

    #[test]
    fn multirange_casts_are_filtered_from_14() {
        assert!(query(ServerVersion(140000)).contains("rngmultitypid"));
        assert!(!query(ServerVersion(130000)).contains("rngmultitypid"));
    }
}
