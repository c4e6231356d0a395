//! The catalog census: every user object of a database with a definition text
//! built from the server's own catalogs and deparse functions — independent of
//! the DDL pgdump generates, so it catches objects pgdump failed to carry.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use crate::catalog::ServerVersion;
use crate::error::{QueryContext, Result};

/// One census section: object identity → definition.
pub type Section = BTreeMap<String, String>;

/// What to leave out of definitions.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ignore {
    /// Owners.
    pub owner: bool,
    /// Privileges.
    pub acl: bool,
}

/// How to read two servers of different majors the same way.
#[derive(Debug, Clone, Copy, Default)]
pub struct Compat {
    /// Both servers are of the same major: compare deparsed view text too
    /// (its layout changes between majors; columns are compared anyway).
    pub same_major: bool,
    /// The other server predates the MAINTAIN privilege (17): leave it out of ACLs.
    pub strip_maintain: bool,
}

impl Compat {
    /// The settings for comparing a server of major `mine` with one of major `other`.
    pub fn between(mine: ServerVersion, other: ServerVersion) -> Compat {
        Compat {
            same_major: mine.major() == other.major(),
            strip_maintain: other.major() < 17,
        }
    }
}

/// `NOT member of an extension` for objects of catalog `cat` aliased `x`.
fn not_ext(cat: &str, x: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.{cat}'::pg_catalog.regclass \
         AND d.objid = {x}.oid AND d.deptype = 'e')"
    )
}

const USER_NS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp_'";

/// Every census query: (section name, SQL returning (identity, definition)).
fn queries(v: ServerVersion, ig: Ignore, compat: Compat) -> Vec<(&'static str, String)> {
    let owner = |expr: &str| {
        if ig.owner {
            "''".to_string()
        } else {
            format!("'owner=' || pg_catalog.pg_get_userbyid({expr})")
        }
    };
    let acl = |expr: &str| {
        if ig.acl {
            "''".to_string()
        } else {
            let item = if compat.strip_maintain {
                // the privileges sit between '=' and '/'
                "pg_catalog.regexp_replace(a::text, '=([^/]*?)m\\*?([^/]*)/', '=\\1\\2/')"
            } else {
                "a::text"
            };
            format!("'acl=' || coalesce((SELECT pg_catalog.string_agg({item}, ',' ORDER BY 1) FROM pg_catalog.unnest({expr}) a), 'default')")
        }
    };
    let mut q = Vec::new();

    // Every object in every catalog that holds user objects, by identity.
    let catalogs = [
        "pg_class",
        "pg_proc",
        "pg_type",
        "pg_constraint",
        "pg_trigger",
        "pg_rewrite",
        "pg_policy",
        "pg_cast",
        "pg_operator",
        "pg_opclass",
        "pg_opfamily",
        "pg_collation",
        "pg_conversion",
        "pg_ts_config",
        "pg_ts_dict",
        "pg_ts_parser",
        "pg_ts_template",
        "pg_foreign_data_wrapper",
        "pg_foreign_server",
        "pg_user_mapping",
        "pg_publication",
        "pg_statistic_ext",
        "pg_event_trigger",
        "pg_default_acl",
        "pg_am",
        "pg_language",
        "pg_transform",
        "pg_extension",
        "pg_namespace",
        "pg_attrdef",
        "pg_largeobject_metadata",
    ];
    let mut union = Vec::new();
    for c in catalogs {
        // Internal triggers (foreign keys' RI triggers) are named after OIDs; clones of a
        // partitioned table's triggers are internal before 15. Defaults and NOT NULL
        // constraints are compared with their columns.
        let extra = match c {
            "pg_trigger" if v.at_least(13) => " AND NOT x.tgisinternal AND x.tgparentid = 0",
            "pg_trigger" => " AND NOT x.tgisinternal",
            "pg_constraint" => " AND x.contype::text <> 'n'",
            _ => "",
        };
        if c == "pg_attrdef" {
            continue;
        }
        // Large objects are identified through pg_largeobject, not their metadata catalog.
        let class = if c == "pg_largeobject_metadata" {
            "pg_largeobject"
        } else {
            c
        };
        union.push(format!(
            "SELECT '{class}'::pg_catalog.regclass AS classid, x.oid AS objid FROM pg_catalog.{c} x WHERE x.oid >= 16384 AND {}{extra}",
            not_ext(c, "x")
        ));
    }
    if v.at_least(15) {
        union.push(format!(
            "SELECT 'pg_publication_namespace'::pg_catalog.regclass, x.oid FROM pg_catalog.pg_publication_namespace x WHERE x.oid >= 16384 AND {}",
            not_ext("pg_publication_namespace", "x")
        ));
    }
    union.push(format!(
        "SELECT 'pg_publication_rel'::pg_catalog.regclass, x.oid FROM pg_catalog.pg_publication_rel x WHERE x.oid >= 16384 AND {}",
        not_ext("pg_publication_rel", "x")
    ));
    q.push((
        "objects",
        format!(
            "SELECT i.type || ' ' || coalesce(i.identity, '?'), '' \
             FROM ({}) o, LATERAL pg_catalog.pg_identify_object(o.classid, o.objid, 0) i \
             WHERE coalesce(i.schema, '') NOT IN ('pg_catalog', 'information_schema') \
               AND coalesce(i.schema, '') !~ '^pg_toast' AND coalesce(i.schema, '') !~ '^pg_temp_' \
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = o.classid AND d.objid = o.objid AND d.deptype = 'i') \
               AND NOT (o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND \
                        EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = o.objid AND c.relkind::text = 't')) \
               AND NOT (o.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND \
                        EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_class c ON c.oid = t.typrelid WHERE t.oid = o.objid AND c.relkind::text = 't'))",
            union.join(" UNION ALL ")
        ),
    ));

    q.push((
        "schemas",
        format!(
            "SELECT n.nspname, concat_ws(' ', {}, {}) FROM pg_catalog.pg_namespace n WHERE {USER_NS} AND {}",
            owner("n.nspowner"),
            acl("n.nspacl"),
            not_ext("pg_namespace", "n")
        ),
    ));

    let am = if v.at_least(12) {
        "(SELECT amname FROM pg_catalog.pg_am WHERE oid = c.relam)"
    } else {
        // before table access methods, every table was heap
        "CASE WHEN c.relkind::text IN ('r', 'm', 't') THEN 'heap'::name END"
    };
    q.push((
        "relations",
        format!(
            "SELECT n.nspname || '.' || c.relname, concat_ws(' ', 'kind=' || c.relkind::text, 'persistence=' || c.relpersistence::text, \
               {}, {}, 'options=' || coalesce(pg_catalog.array_to_string(c.reloptions, ','), ''), \
               'rls=' || c.relrowsecurity || '/' || c.relforcerowsecurity, 'replident=' || c.relreplident::text, \
               'am=' || coalesce({am}, ''), \
               'bound=' || coalesce(pg_catalog.pg_get_expr(c.relpartbound, c.oid), ''), \
               'partkey=' || CASE WHEN c.relkind::text = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) ELSE '' END, \
               'parents=' || coalesce((SELECT pg_catalog.string_agg(p.inhparent::pg_catalog.regclass::text, ',' ORDER BY p.inhseqno) FROM pg_catalog.pg_inherits p WHERE p.inhrelid = c.oid), ''), \
               'populated=' || CASE WHEN c.relkind::text = 'm' THEN c.relispopulated::text ELSE '' END, \
               'toast=' || coalesce((SELECT pg_catalog.array_to_string(t.reloptions, ',') FROM pg_catalog.pg_class t WHERE t.oid = c.reltoastrelid), ''), \
               'view=' || CASE WHEN {same} AND c.relkind::text IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) ELSE '' END) \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE {USER_NS} AND c.relkind::text IN ('r','p','v','m','S','f','c') AND {}",
            owner("c.relowner"),
            acl("c.relacl"),
            not_ext("pg_class", "c"),
            same = compat.same_major
        ),
    ));

    let compression = if v.at_least(14) {
        "a.attcompression::text"
    } else {
        "''"
    };
    let generated = if v.at_least(12) {
        "a.attgenerated::text"
    } else {
        "''"
    };
    q.push((
        "columns",
        format!(
            "SELECT n.nspname || '.' || c.relname || '.' || a.attname, concat_ws(' ', \
               pg_catalog.format_type(a.atttypid, a.atttypmod), \
               'collation=' || coalesce((SELECT co.collname FROM pg_catalog.pg_collation co WHERE co.oid = a.attcollation AND a.attcollation <> t.typcollation), ''), \
               'notnull=' || a.attnotnull, 'default=' || coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), ''), \
               'identity=' || a.attidentity::text, 'generated=' || {generated}, \
               'storage=' || CASE WHEN a.attstorage::text <> t.typstorage::text THEN a.attstorage::text ELSE '' END, \
               'compression=' || {compression}, 'stattarget=' || coalesce(a.attstattarget::text, '-1'), \
               'options=' || coalesce(pg_catalog.array_to_string(a.attoptions, ','), ''), \
               'fdwoptions=' || coalesce(pg_catalog.array_to_string(a.attfdwoptions, ','), ''), \
               'local=' || a.attislocal || '/' || a.attinhcount, {}) \
             FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE {USER_NS} AND c.relkind::text IN ('r','p','v','m','f','c') AND a.attnum > 0 AND NOT a.attisdropped AND {}",
            acl("a.attacl"),
            not_ext("pg_class", "c")
        )
        .replace("coalesce(a.attstattarget::text, '-1')", if v.at_least(17) { "coalesce(a.attstattarget::text, '-1')" } else { "CASE WHEN a.attstattarget < 0 THEN '-1' ELSE a.attstattarget::text END" }),
    ));

    q.push((
        "column order",
        format!(
            "SELECT n.nspname || '.' || c.relname, pg_catalog.string_agg(a.attname, ',' ORDER BY a.attnum) \
             FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE {USER_NS} AND c.relkind::text IN ('r','p','v','m','f','c') AND a.attnum > 0 AND NOT a.attisdropped AND {} \
               AND NOT (c.relkind::text = 'r' AND NOT c.relispartition AND EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid)) \
             GROUP BY 1",
            not_ext("pg_class", "c")
        ),
    ));

    q.push((
        "constraints",
        format!(
            "SELECT coalesce(n.nspname || '.' || c.relname, tn.nspname || '.' || ty.typname) || ' ' || k.conname || ' ' || k.contype::text, \
               concat_ws(' ', pg_catalog.pg_get_constraintdef(k.oid), 'deferrable=' || k.condeferrable || '/' || k.condeferred, \
               'validated=' || k.convalidated, 'local=' || k.conislocal || '/' || k.coninhcount) \
             FROM pg_catalog.pg_constraint k \
             LEFT JOIN pg_catalog.pg_class c ON c.oid = k.conrelid LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_catalog.pg_type ty ON ty.oid = k.contypid LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = ty.typnamespace \
             WHERE coalesce(n.nspname, tn.nspname) NOT IN ('pg_catalog', 'information_schema') AND coalesce(n.nspname, tn.nspname) !~ '^pg_toast' \
               AND k.contype::text <> 'n' AND {} AND (c.oid IS NULL OR {}) AND (ty.oid IS NULL OR {})",
            not_ext("pg_constraint", "k"),
            not_ext("pg_class", "c"),
            not_ext("pg_type", "ty")
        ),
    ));

    q.push((
        "indexes",
        format!(
            "SELECT n.nspname || '.' || ic.relname, concat_ws(' ', pg_catalog.pg_get_indexdef(i.indexrelid), \
               'clustered=' || i.indisclustered, 'replident=' || i.indisreplident, 'valid=' || i.indisvalid, \
               'primary=' || i.indisprimary, 'immediate=' || i.indimmediate, \
               'options=' || coalesce(pg_catalog.array_to_string(ic.reloptions, ','), ''), \
               'stats=' || coalesce((SELECT pg_catalog.string_agg(a.attnum || ':' || a.attstattarget, ',' ORDER BY a.attnum) FROM pg_catalog.pg_attribute a WHERE a.attrelid = ic.oid AND a.attstattarget > 0), '')) \
             FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace WHERE {USER_NS} AND {}",
            not_ext("pg_class", "ic")
        ),
    ));

    q.push((
        "triggers",
        format!(
            "SELECT n.nspname || '.' || c.relname || ' ' || t.tgname, pg_catalog.replace(pg_catalog.pg_get_triggerdef(t.oid, false), ' EXECUTE PROCEDURE ', ' EXECUTE FUNCTION ') || ' enabled=' || t.tgenabled::text \
             FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT t.tgisinternal AND {USER_NS} AND {}{}",
            not_ext("pg_class", "c"),
            // Clones of a partitioned table's triggers (internal before 15, visible since).
            if v.at_least(13) { " AND t.tgparentid = 0" } else { "" }
        ),
    ));

    q.push((
        "rules",
        format!(
            "SELECT n.nspname || '.' || c.relname || ' ' || r.rulename, pg_catalog.pg_get_ruledef(r.oid) || ' enabled=' || r.ev_enabled::text \
             FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE r.rulename <> '_RETURN' AND {USER_NS} AND {}",
            not_ext("pg_class", "c")
        ),
    ));

    let kind = if v.at_least(11) {
        "p.prokind::text"
    } else {
        "CASE WHEN p.proisagg THEN 'a' WHEN p.proiswindow THEN 'w' ELSE 'f' END"
    };
    let sqlbody = if v.at_least(14) {
        "coalesce(pg_catalog.pg_get_function_sqlbody(p.oid), '')"
    } else {
        "''"
    };
    let support = if v.at_least(12) {
        "p.prosupport::text"
    } else {
        "'-'"
    };
    // Catalog fields rather than pg_get_functiondef, whose layout changes between majors.
    q.push((
        "functions",
        format!(
            "SELECT p.oid::pg_catalog.regprocedure::text, \
               concat_ws(' ', 'kind=' || {kind}, CASE WHEN {kind} = 'a' THEN \
                 (SELECT concat_ws(' ', 'sfunc=' || a.aggtransfn::text, 'stype=' || pg_catalog.format_type(a.aggtranstype, NULL), \
                   'final=' || a.aggfinalfn::text, 'combine=' || a.aggcombinefn::text, 'init=' || coalesce(a.agginitval, ''), \
                   'msfunc=' || a.aggmtransfn::text, 'sortop=' || a.aggsortop::text, 'aggkind=' || a.aggkind::text) \
                  FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = p.oid) END, \
               'lang=' || (SELECT lanname FROM pg_catalog.pg_language WHERE oid = p.prolang), \
               'returns=' || CASE WHEN p.proretset THEN 'setof ' ELSE '' END || pg_catalog.format_type(p.prorettype, NULL), \
               'args=' || coalesce(pg_catalog.array_to_string(p.proargnames, ','), '') || '/' \
                 || coalesce(pg_catalog.array_to_string(p.proargmodes, ','), '') || '/' \
                 || coalesce((SELECT pg_catalog.string_agg(pg_catalog.format_type(t, NULL), ',') \
                              FROM pg_catalog.unnest(coalesce(p.proallargtypes, p.proargtypes::pg_catalog.oid[])) t), ''), \
               'defaults=' || coalesce(pg_catalog.pg_get_expr(p.proargdefaults, 0), ''), \
               'attrs=' || p.provolatile::text || p.proisstrict::text || p.prosecdef::text || p.proleakproof::text \
                 || p.proparallel::text || p.procost::text || '/' || p.prorows::text, \
               'support=' || {support}, 'config=' || coalesce(pg_catalog.array_to_string(p.proconfig, ','), ''), \
               'src=' || coalesce(p.prosrc, '') || coalesce(p.probin, ''), 'body=' || {sqlbody}, {}, {}) \
             FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE {USER_NS} AND {} \
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass \
                               AND d.objid = p.oid AND d.deptype = 'i')",
            owner("p.proowner"),
            acl("p.proacl"),
            not_ext("pg_proc", "p")
        ),
    ));

    q.push((
        "types",
        format!(
            "SELECT n.nspname || '.' || t.typname, concat_ws(' ', 'type=' || t.typtype::text, {}, {}, \
               'enum=' || coalesce((SELECT pg_catalog.string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid), ''), \
               'base=' || CASE WHEN t.typtype::text = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) ELSE '' END, \
               'notnull=' || t.typnotnull, 'default=' || coalesce(t.typdefault, ''), \
               'range=' || coalesce((SELECT concat_ws(',', pg_catalog.format_type(r.rngsubtype, NULL), r.rngsubopc::text, r.rngcollation::text, r.rngcanonical::text, r.rngsubdiff::text) FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid), '')) \
             FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
             WHERE {USER_NS} AND t.typtype::text IN ('e', 'd', 'r', 'c', 'b') AND {} \
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.oid = t.typelem AND e.typarray = t.oid) \
               AND NOT (t.typtype::text = 'c' AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid AND c.relkind::text <> 'c'))",
            owner("t.typowner"),
            acl("t.typacl"),
            not_ext("pg_type", "t")
        ),
    ));

    let permissive = "p.polpermissive::text";
    q.push((
        "policies",
        format!(
            "SELECT n.nspname || '.' || c.relname || ' ' || p.polname, concat_ws(' ', p.polcmd::text, {permissive}, \
               (SELECT pg_catalog.string_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r)::text END, ',' ORDER BY 1) FROM pg_catalog.unnest(p.polroles) r), \
               coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), ''), coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '')) \
             FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE {USER_NS}"
        ),
    ));

    q.push((
        "extensions",
        "SELECT e.extname, n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace".to_string(),
    ));

    q.push((
        "sequences",
        format!(
            "SELECT n.nspname || '.' || c.relname, concat_ws(' ', pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, \
               s.seqmin, s.seqmax, s.seqcache, s.seqcycle) \
             FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE {USER_NS} AND {}",
            not_ext("pg_class", "c")
        ),
    ));

    q.push((
        "comments",
        "SELECT i.type || ' ' || coalesce(i.identity, '?'), d.description \
         FROM pg_catalog.pg_description d, LATERAL pg_catalog.pg_identify_object(d.classoid, d.objoid, d.objsubid) i \
         WHERE d.objoid >= 16384 \
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e')"
            .to_string(),
    ));

    q.push((
        "default privileges",
        if ig.acl {
            "SELECT '', '' WHERE false".to_string()
        } else {
            "SELECT pg_catalog.pg_get_userbyid(d.defaclrole) || ' ' || coalesce(n.nspname, '-') || ' ' || d.defaclobjtype::text, \
               (SELECT pg_catalog.string_agg(a::text, ',' ORDER BY a::text) FROM pg_catalog.unnest(d.defaclacl) a) \
             FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace"
                .to_string()
        },
    ));

    q.push((
        "foreign data",
        "SELECT 'wrapper ' || w.fdwname, concat_ws(' ', w.fdwhandler::pg_catalog.regproc::text, w.fdwvalidator::pg_catalog.regproc::text, pg_catalog.array_to_string(w.fdwoptions, ',')) \
           FROM pg_catalog.pg_foreign_data_wrapper w WHERE w.oid >= 16384 \
         UNION ALL SELECT 'server ' || s.srvname, concat_ws(' ', s.srvtype, s.srvversion, pg_catalog.array_to_string(s.srvoptions, ',')) \
           FROM pg_catalog.pg_foreign_server s \
         UNION ALL SELECT 'user mapping ' || u.usename || ' ' || u.srvname, pg_catalog.array_to_string(u.umoptions, ',') \
           FROM pg_catalog.pg_user_mappings u \
         UNION ALL SELECT 'foreign table ' || ft.ftrelid::pg_catalog.regclass::text, concat_ws(' ', (SELECT srvname FROM pg_catalog.pg_foreign_server WHERE oid = ft.ftserver), pg_catalog.array_to_string(ft.ftoptions, ',')) \
           FROM pg_catalog.pg_foreign_table ft"
            .to_string(),
    ));

    let pubx = if v.at_least(13) {
        "p.pubviaroot::text"
    } else {
        // what a newer server shows for a publication made without the option
        "'false'"
    };
    q.push((
        "publications",
        format!(
            "SELECT 'publication ' || p.pubname, concat_ws(' ', p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete, {}, {pubx}) \
               FROM pg_catalog.pg_publication p \
             UNION ALL SELECT 'publication ' || p.pubname || ' table ' || r.prrelid::pg_catalog.regclass::text, {} \
               FROM pg_catalog.pg_publication_rel r JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid{}",
            if v.at_least(11) { "p.pubtruncate::text" } else { "'false'" },
            if v.at_least(15) { "concat_ws(' ', coalesce(pg_catalog.pg_get_expr(r.prqual, r.prrelid), ''), coalesce(r.prattrs::text, ''))" } else { "concat_ws(' ', '', '')" },
            if v.at_least(15) {
                " UNION ALL SELECT 'publication ' || p.pubname || ' schema ' || n.nspname, '' FROM pg_catalog.pg_publication_namespace pn \
                  JOIN pg_catalog.pg_publication p ON p.oid = pn.pnpubid JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid"
            } else {
                ""
            }
        ),
    ));

    q.push((
        "statistics objects",
        format!(
            "SELECT n.nspname || '.' || s.stxname, pg_catalog.pg_get_statisticsobjdef(s.oid){} \
             FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace WHERE {USER_NS}",
            if v.at_least(13) { " || ' target=' || coalesce(s.stxstattarget::text, '-1')" } else { " || ' target=-1'" }
        ),
    ));

    q.push((
        "event triggers",
        "SELECT e.evtname, concat_ws(' ', e.evtevent, e.evtfoid::pg_catalog.regproc::text, e.evtenabled::text, pg_catalog.array_to_string(e.evttags, ',')) \
         FROM pg_catalog.pg_event_trigger e"
            .to_string(),
    ));

    q.push((
        "large objects",
        format!(
            "SELECT m.oid::text, concat_ws(' ', {}, {}, pg_catalog.md5(pg_catalog.lo_get(m.oid))) FROM pg_catalog.pg_largeobject_metadata m",
            owner("m.lomowner"),
            acl("m.lomacl")
        ),
    ));
    q
}

/// Take the census of the database `client` is connected to, readable against a
/// server as `compat` says.
pub async fn census_compat(
    client: &Client,
    version: ServerVersion,
    ig: Ignore,
    compat: Compat,
) -> Result<BTreeMap<&'static str, Section>> {
    let mut out = BTreeMap::new();
    for (name, sql) in queries(version, ig, compat) {
        let rows = client
            .query(sql.as_str(), &[])
            .await
            .context(|| format!("census of {name}"))?;
        let mut section = Section::new();
        for r in rows {
            let k: Option<String> = r.get(0);
            let v: Option<String> = r.get(1);
            let k = k.unwrap_or_default();
            let v = v.unwrap_or_default();
            // Identities can repeat (e.g. two comments on one object are impossible, but be safe).
            match section.get_mut(&k) {
                Some(old) => {
                    old.push('\n');
                    old.push_str(&v);
                }
                None => {
                    section.insert(k, v);
                }
            }
        }
        out.insert(name, section);
    }
    Ok(out)
}
