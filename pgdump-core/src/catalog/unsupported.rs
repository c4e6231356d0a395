//! The census of what cannot be dumped: what every kind module reports it
//! cannot reproduce, plus the objects of kinds no module handles at all.

use super::{
    aggregate, cast, collation, constraint, database, default_acl, domain, event_trigger,
    extension, fdw, function, index, language, large_object, operator, policy, publication, rule,
    schema, sequence, statistics, table, text_search, trigger, types, view, Loader, ObjRef, Oid,
    Scope, FIRST_NORMAL_OID,
};
use crate::error::Result;

/// Every object in the dump scope that pgdump cannot reproduce, one line each
/// (`kind identity: why`), e.g. `base type public.mytype: C I/O functions`.
pub(crate) async fn census(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    let parts = futures::future::try_join_all(vec![
        Box::pin(orphan_kinds(l, scope))
            as std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<Vec<String>>> + Send + '_>,
            >,
        Box::pin(schema::unsupported(l, scope)),
        Box::pin(extension::unsupported(l, scope)),
        Box::pin(types::unsupported(l, scope)),
        Box::pin(domain::unsupported(l, scope)),
        Box::pin(collation::unsupported(l, scope)),
        Box::pin(cast::unsupported(l, scope)),
        Box::pin(operator::unsupported(l, scope)),
        Box::pin(text_search::unsupported(l, scope)),
        Box::pin(language::unsupported(l, scope)),
        Box::pin(table::unsupported(l, scope)),
        Box::pin(constraint::unsupported(l, scope)),
        Box::pin(index::unsupported(l, scope)),
        Box::pin(sequence::unsupported(l, scope)),
        Box::pin(view::unsupported(l, scope)),
        Box::pin(function::unsupported(l, scope)),
        Box::pin(aggregate::unsupported(l, scope)),
        Box::pin(trigger::unsupported(l, scope)),
        Box::pin(event_trigger::unsupported(l, scope)),
        Box::pin(rule::unsupported(l, scope)),
        Box::pin(policy::unsupported(l, scope)),
        Box::pin(default_acl::unsupported(l, scope)),
        Box::pin(fdw::unsupported(l, scope)),
        Box::pin(publication::unsupported(l, scope)),
        Box::pin(statistics::unsupported(l, scope)),
        Box::pin(large_object::unsupported(l, scope)),
        Box::pin(database::unsupported(l, scope)),
    ])
    .await?;
    let mut all: Vec<String> = parts.into_iter().flatten().collect();
    all.sort();
    all.dedup();
    Ok(all)
}

/// Objects of kinds no module handles, found with one query (see [`ORPHANS_SQL`]):
/// user-defined access methods, conversions, transforms, property graphs (19),
/// security labels, and privileges changed on extension members after
/// `CREATE EXTENSION` (pg_dump replays those from `pg_init_privs`).
///
/// Reported elsewhere, by the module that owns the kind: subscriptions
/// (`publication`), text search parsers and templates (`text_search`, same text
/// as this census would use), typed tables and tables in tablespaces (`table`),
/// indexes in tablespaces (`index`, `constraint`); materialized views carry
/// their tablespace (`view`). pg_dump's other object types all have a module.
///
/// Objects in schemas are reported when their schema is dumped and they are not
/// extension members; relation-bound ones when their relation is dumped; objects
/// outside schemas only in whole-database dumps (no `-n`/`-t`, as pg_dump's
/// `include_everything`).
async fn orphan_kinds(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    let rows = l
        .query(
            "objects of unsupported kinds",
            ORPHANS_SQL,
            &[&FIRST_NORMAL_OID],
        )
        .await?;
    let everything = scope.opts.schemas.include.is_empty() && scope.opts.tables.include.is_empty();
    let mut out = Vec::new();
    for r in &rows {
        let o = Orphan {
            what: r.get::<_, Option<String>>(0).unwrap_or_default(),
            nsp: r.get(1),
            obj: ObjRef::new(r.get(2), r.get(3)),
            relid: r.get(4),
            why: r.get(5),
            ext_member: r.get(6),
        };
        if orphan_in_scope(&o, scope, everything) {
            out.push(format!("{}: {}", o.what, o.why));
        }
    }
    Ok(out)
}

/// One row of [`ORPHANS_SQL`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Orphan {
    /// `pg_describe_object` of the object: kind and name (`conversion s.c`).
    what: String,
    /// Schema OID, 0 for objects outside schemas.
    nsp: Oid,
    /// The object.
    obj: ObjRef,
    /// The relation the row is about (0 if none): reported when it is dumped.
    relid: Oid,
    /// Why it cannot be dumped.
    why: String,
    /// The row is about an extension member (privileges), not a free-standing object.
    ext_member: bool,
}

/// Is an orphan row part of what the dump covers?
fn orphan_in_scope(o: &Orphan, scope: &Scope, everything: bool) -> bool {
    if o.ext_member {
        everything
    } else if o.relid != 0 {
        scope.dump_rel(o.relid)
    } else if o.nsp != 0 {
        scope.dump_obj(o.nsp, o.obj)
    } else {
        everything && !scope.ext_members.contains(&o.obj)
    }
}

/// Columns: description, schema OID (0 = none), classid, objid, relation OID
/// (0 = none), reason, is-extension-member. Same text on every version (10..18):
/// relkinds and catalogs that do not exist on a version simply match nothing.
/// `$1` = `FIRST_NORMAL_OID`.
const ORPHANS_SQL: &str = "\
SELECT pg_catalog.pg_describe_object(x.classid, x.objid, x.subid), x.nsp, x.classid, x.objid, \
       x.relid, x.why, x.member \
FROM ( \
  SELECT 'pg_catalog.pg_am'::pg_catalog.regclass::oid AS classid, a.oid AS objid, 0 AS subid, \
         0::oid AS nsp, 0::oid AS relid, false AS member, \
         'user-defined access methods are not dumped yet'::text AS why \
  FROM pg_catalog.pg_am a WHERE a.oid >= $1 \
  UNION ALL \
  SELECT 'pg_catalog.pg_conversion'::pg_catalog.regclass::oid, c.oid, 0, c.connamespace, 0, false, \
         'conversions are not dumped yet' \
  FROM pg_catalog.pg_conversion c WHERE c.oid >= $1 \
  UNION ALL \
  SELECT 'pg_catalog.pg_transform'::pg_catalog.regclass::oid, t.oid, 0, 0, 0, false, \
         'transforms are not dumped yet' \
  FROM pg_catalog.pg_transform t WHERE t.oid >= $1 \
  UNION ALL \
  SELECT 'pg_catalog.pg_class'::pg_catalog.regclass::oid, c.oid, 0, c.relnamespace, c.oid, false, \
         'property graphs are not dumped yet' \
  FROM pg_catalog.pg_class c WHERE c.relkind = 'g' \
  UNION ALL \
  SELECT s.classoid, s.objoid, s.objsubid, coalesce(s.objnamespace, 0), 0, false, \
         'security labels (provider ' || s.provider || ') are not dumped yet' \
  FROM pg_catalog.pg_seclabels s \
  WHERE s.classoid NOT IN ('pg_catalog.pg_authid'::pg_catalog.regclass, \
                           'pg_catalog.pg_tablespace'::pg_catalog.regclass, \
                           'pg_catalog.pg_subscription'::pg_catalog.regclass) \
    AND CASE WHEN s.classoid = 'pg_catalog.pg_database'::pg_catalog.regclass \
             THEN s.objoid = (SELECT d.oid FROM pg_catalog.pg_database d \
                              WHERE d.datname = pg_catalog.current_database()) \
             ELSE s.objoid >= $1 END \
  UNION ALL \
  SELECT d.classid, d.objid, 0, 0, 0, true, \
         'its privileges were changed after CREATE EXTENSION, which is not dumped yet' \
  FROM pg_catalog.pg_depend d \
  JOIN LATERAL ( \
    SELECT c.relacl AS acl, pg_catalog.acldefault(CASE WHEN c.relkind = 'S' THEN 's'::\"char\" \
                                                       ELSE 'r'::\"char\" END, c.relowner) AS def \
    FROM pg_catalog.pg_class c \
    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = d.objid \
    UNION ALL \
    SELECT p.proacl, pg_catalog.acldefault('f', p.proowner) FROM pg_catalog.pg_proc p \
    WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = d.objid \
    UNION ALL \
    SELECT t.typacl, pg_catalog.acldefault('T', t.typowner) FROM pg_catalog.pg_type t \
    WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.oid = d.objid \
    UNION ALL \
    SELECT w.fdwacl, pg_catalog.acldefault('F', w.fdwowner) FROM pg_catalog.pg_foreign_data_wrapper w \
    WHERE d.classid = 'pg_catalog.pg_foreign_data_wrapper'::pg_catalog.regclass AND w.oid = d.objid \
    UNION ALL \
    SELECT s.srvacl, pg_catalog.acldefault('S', s.srvowner) FROM pg_catalog.pg_foreign_server s \
    WHERE d.classid = 'pg_catalog.pg_foreign_server'::pg_catalog.regclass AND s.oid = d.objid \
    UNION ALL \
    SELECT g.lanacl, pg_catalog.acldefault('l', g.lanowner) FROM pg_catalog.pg_language g \
    WHERE d.classid = 'pg_catalog.pg_language'::pg_catalog.regclass AND g.oid = d.objid \
  ) o ON true \
  LEFT JOIN pg_catalog.pg_init_privs ip \
    ON ip.classoid = d.classid AND ip.objoid = d.objid AND ip.objsubid = 0 \
  WHERE d.deptype = 'e' \
    AND ARRAY(SELECT pg_catalog.unnest(coalesce(o.acl, o.def))::text ORDER BY 1) \
        IS DISTINCT FROM \
        ARRAY(SELECT pg_catalog.unnest(coalesce(ip.initprivs, o.def))::text ORDER BY 1) \
) x \
ORDER BY 1";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{class, Namespace};

    fn scope() -> Scope {
        let mut namespaces = std::collections::HashMap::new();
        for (oid, name, dump) in [(2200, "public", true), (99999, "other", false)] {
            namespaces.insert(
                oid,
                Namespace {
                    oid,
                    name: name.into(),
                    owner: "postgres".into(),
                    dump,
                },
            );
        }
        Scope {
            version: crate::catalog::ServerVersion(150000),
            opts: crate::options::DumpOptions::default(),
            namespaces,
            relations: Default::default(),
            ext_members: [ObjRef::new(class::PG_CONVERSION, 20000)]
                .into_iter()
                .collect(),
            comments: Default::default(),
        }
    }

    fn orphan(nsp: Oid, classid: Oid, oid: Oid, relid: Oid, member: bool) -> Orphan {
        Orphan {
            what: "x".into(),
            nsp,
            obj: ObjRef::new(classid, oid),
            relid,
            why: "y".into(),
            ext_member: member,
        }
    }

    #[test]
    fn orphan_filtering() {
        let s = scope();
        // in a dumped schema, not a member
        assert!(orphan_in_scope(
            &orphan(2200, class::PG_CONVERSION, 20001, 0, false),
            &s,
            true
        ));
        // extension member
        assert!(!orphan_in_scope(
            &orphan(2200, class::PG_CONVERSION, 20000, 0, false),
            &s,
            true
        ));
        // schema not dumped
        assert!(!orphan_in_scope(
            &orphan(99999, class::PG_CONVERSION, 20002, 0, false),
            &s,
            true
        ));
        // global: only in whole-database dumps
        assert!(orphan_in_scope(
            &orphan(0, class::PG_AM, 20003, 0, false),
            &s,
            true
        ));
        assert!(!orphan_in_scope(
            &orphan(0, class::PG_AM, 20003, 0, false),
            &s,
            false
        ));
        // relation-bound: relation unknown / not dumped
        assert!(!orphan_in_scope(
            &orphan(2200, class::PG_CLASS, 20004, 20004, false),
            &s,
            true
        ));
        // privileges of extension members
        assert!(orphan_in_scope(
            &orphan(0, class::PG_PROC, 20005, 0, true),
            &s,
            true
        ));
        assert!(!orphan_in_scope(
            &orphan(0, class::PG_PROC, 20005, 0, true),
            &s,
            false
        ));
    }
}
