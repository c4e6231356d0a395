//! Aggregates (`pg_aggregate` ⋈ `pg_proc`): `CREATE AGGREGATE` assembled by hand
//! as pg_dump's `dumpAgg` does, with comments, ACLs (granted `ON FUNCTION`) and owners.
//!
//! Version branches: `aggfinalmodify`/`aggmfinalmodify` (11+; before, the
//! defaults apply).

use super::acl::{acl_item, AclTarget};
use super::comment::{comment_item, CommentTarget};
use super::function::{dumped_namespaces, proc_ref, proc_ref_sql};
use super::{class, opt_vec, Item, Kind, Loader, ObjRef, Oid, Scope, ServerVersion};
use crate::error::Result;
use crate::quote::{ident, literal, qualify};

/// One aggregate as read from the catalogs.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AggRow {
    pub oid: Oid,
    pub nsp: Oid,
    pub schema: String,
    pub name: String,
    pub owner: String,
    /// `pg_get_function_arguments` (with `ORDER BY` for ordered-set aggregates).
    pub args: String,
    /// `pg_get_function_identity_arguments`.
    pub identity_args: String,
    /// `oidvectortypes(proargtypes)`: all argument types, no `ORDER BY`.
    pub arg_types: String,
    /// `aggkind`: n (normal), o (ordered-set), h (hypothetical-set).
    pub kind: char,
    /// Functions, quoted and qualified.
    pub transfn: Option<String>,
    pub finalfn: Option<String>,
    pub combinefn: Option<String>,
    pub serialfn: Option<String>,
    pub deserialfn: Option<String>,
    pub mtransfn: Option<String>,
    pub minvtransfn: Option<String>,
    pub mfinalfn: Option<String>,
    /// Types as `format_type` prints them.
    pub transtype: String,
    pub mtranstype: Option<String>,
    pub transspace: i32,
    pub mtransspace: i32,
    pub initval: Option<String>,
    pub minitval: Option<String>,
    pub finalextra: bool,
    pub mfinalextra: bool,
    /// `aggfinalmodify` / `aggmfinalmodify`: r, s, w (11+; None before).
    pub finalmodify: Option<char>,
    pub mfinalmodify: Option<char>,
    /// Sort operator as `OPERATOR(schema.op)`.
    pub sortop: Option<String>,
    /// `proparallel`: s, r, u.
    pub parallel: char,
    pub acl: Option<Vec<String>>,
    pub acl_default: Vec<String>,
}

impl AggRow {
    fn arg_list(&self, s: &str) -> String {
        if s.is_empty() {
            "*".to_string()
        } else {
            s.to_string()
        }
    }

    /// `schema.name(identity args)` for ALTER/COMMENT/DROP AGGREGATE (`(*)` when no arguments).
    pub fn signature(&self) -> String {
        format!(
            "{}({})",
            qualify(&self.schema, &self.name),
            self.arg_list(&self.identity_args)
        )
    }

    /// `schema.name(types)` for `GRANT ... ON FUNCTION` (no `*`, no `ORDER BY`).
    pub fn function_signature(&self) -> String {
        format!("{}({})", qualify(&self.schema, &self.name), self.arg_types)
    }

    /// TOC name: `name(types)` or `name(*)`.
    pub fn tag(&self) -> String {
        format!("{}({})", self.name, self.arg_list(&self.arg_types))
    }
}

fn modify_name(c: char) -> &'static str {
    match c {
        'r' => "READ_ONLY",
        's' => "SHAREABLE",
        _ => "READ_WRITE",
    }
}

/// The `CREATE AGGREGATE` statement.
pub(crate) fn create_sql(a: &AggRow) -> String {
    let mut d: Vec<String> = Vec::new();
    d.push(format!("SFUNC = {}", a.transfn.as_deref().unwrap_or("-")));
    d.push(format!("STYPE = {}", a.transtype));
    if a.transspace != 0 {
        d.push(format!("SSPACE = {}", a.transspace));
    }
    if let Some(v) = &a.initval {
        d.push(format!("INITCOND = {}", literal(v)));
    }
    // Ordered-set aggregates modify their state by default.
    let default_modify = if a.kind == 'n' { 'r' } else { 'w' };
    if let Some(f) = &a.finalfn {
        d.push(format!("FINALFUNC = {f}"));
        if a.finalextra {
            d.push("FINALFUNC_EXTRA".to_string());
        }
        if let Some(m) = a.finalmodify.filter(|m| *m != default_modify) {
            d.push(format!("FINALFUNC_MODIFY = {}", modify_name(m)));
        }
    }
    if let Some(f) = &a.combinefn {
        d.push(format!("COMBINEFUNC = {f}"));
    }
    if let Some(f) = &a.serialfn {
        d.push(format!("SERIALFUNC = {f}"));
    }
    if let Some(f) = &a.deserialfn {
        d.push(format!("DESERIALFUNC = {f}"));
    }
    if let Some(f) = &a.mtransfn {
        d.push(format!("MSFUNC = {f}"));
        if let Some(inv) = &a.minvtransfn {
            d.push(format!("MINVFUNC = {inv}"));
        }
        if let Some(t) = &a.mtranstype {
            d.push(format!("MSTYPE = {t}"));
        }
        if a.mtransspace != 0 {
            d.push(format!("MSSPACE = {}", a.mtransspace));
        }
        if let Some(v) = &a.minitval {
            d.push(format!("MINITCOND = {}", literal(v)));
        }
        if let Some(f) = &a.mfinalfn {
            d.push(format!("MFINALFUNC = {f}"));
            if a.mfinalextra {
                d.push("MFINALFUNC_EXTRA".to_string());
            }
            if let Some(m) = a.mfinalmodify.filter(|m| *m != default_modify) {
                d.push(format!("MFINALFUNC_MODIFY = {}", modify_name(m)));
            }
        }
    }
    if let Some(op) = &a.sortop {
        d.push(format!("SORTOP = {op}"));
    }
    match a.parallel {
        's' => d.push("PARALLEL = safe".to_string()),
        'r' => d.push("PARALLEL = restricted".to_string()),
        _ => {}
    }
    if a.kind == 'h' {
        d.push("HYPOTHETICAL".to_string());
    }
    format!(
        "CREATE AGGREGATE {}({}) (\n    {}\n);\n",
        qualify(&a.schema, &a.name),
        a.arg_list(&a.args),
        d.join(",\n    ")
    )
}

/// The items of one aggregate: definition, comment, ACL.
pub(crate) fn agg_items(scope: &Scope, a: &AggRow) -> Result<Vec<Item>> {
    let obj = ObjRef::new(class::PG_PROC, a.oid);
    let sig = a.signature();
    let tag = a.tag();
    let mut items = vec![Item::new(Kind::Aggregate, obj, tag.clone(), create_sql(a))
        .primary()
        .schema(a.schema.clone())
        .owner(
            a.owner.clone(),
            format!("ALTER AGGREGATE {sig} OWNER TO {};\n", ident(&a.owner)),
        )
        .drop(format!("DROP AGGREGATE IF EXISTS {sig};\n"))
        .sort_extra(a.identity_args.clone())];
    items.extend(comment_item(
        scope,
        &CommentTarget {
            obj,
            sql_kind: "AGGREGATE",
            sql_name: &sig,
            schema: Some(&a.schema),
            tag: &tag,
            owner: Some(&a.owner),
        },
    ));
    let fsig = a.function_signature();
    items.extend(acl_item(
        &AclTarget {
            obj,
            sql_kind: "FUNCTION",
            sql_name: &fsig,
            schema: Some(&a.schema),
            tag: &tag,
            owner: &a.owner,
        },
        a.acl.as_deref(),
        &a.acl_default,
    )?);
    Ok(items)
}

/// The catalog query for the aggregates of the dumped schemas.
fn query_sql(v: ServerVersion) -> String {
    let (fmod, mfmod) = if v.at_least(11) {
        ("a.aggfinalmodify::text", "a.aggmfinalmodify::text")
    } else {
        ("NULL::text", "NULL::text")
    };
    let f = |col: &str| proc_ref_sql(&format!("NULLIF(a.{col}, 0)"));
    format!(
        "SELECT p.oid, p.pronamespace, n.nspname::text, p.proname::text, \
                pg_catalog.pg_get_userbyid(p.proowner)::text, \
                pg_catalog.pg_get_function_arguments(p.oid), \
                pg_catalog.pg_get_function_identity_arguments(p.oid), \
                pg_catalog.oidvectortypes(p.proargtypes), \
                a.aggkind::text, {transfn}, {finalfn}, {combinefn}, {serialfn}, {deserialfn}, \
                {mtransfn}, {minvtransfn}, {mfinalfn}, \
                pg_catalog.format_type(a.aggtranstype, NULL), \
                CASE WHEN a.aggmtranstype <> 0 THEN pg_catalog.format_type(a.aggmtranstype, NULL) END, \
                a.aggtransspace, a.aggmtransspace, a.agginitval, a.aggminitval, \
                a.aggfinalextra, a.aggmfinalextra, {fmod}, {mfmod}, \
                (SELECT ARRAY[opn.nspname::text, op.oprname::text] \
                   FROM pg_catalog.pg_operator op \
                   JOIN pg_catalog.pg_namespace opn ON opn.oid = op.oprnamespace \
                  WHERE op.oid = a.aggsortop), \
                p.proparallel::text, \
                p.proacl::text[], pg_catalog.acldefault('f', p.proowner)::text[] \
         FROM pg_catalog.pg_aggregate a \
         JOIN pg_catalog.pg_proc p ON p.oid = a.aggfnoid \
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
         WHERE p.pronamespace = ANY($1) \
         ORDER BY p.oid",
        transfn = f("aggtransfn"),
        finalfn = f("aggfinalfn"),
        combinefn = f("aggcombinefn"),
        serialfn = f("aggserialfn"),
        deserialfn = f("aggdeserialfn"),
        mtransfn = f("aggmtransfn"),
        minvtransfn = f("aggminvtransfn"),
        mfinalfn = f("aggmfinalfn"),
    )
}

fn first_char(s: &str) -> char {
    s.chars().next().unwrap_or(' ')
}

/// `OPERATOR(schema.op)` from `{schema, name}`.
fn operator_ref(parts: Option<Vec<String>>) -> Option<String> {
    match parts.as_deref() {
        Some([schema, name]) => Some(format!("OPERATOR({}.{name})", ident(schema))),
        _ => None,
    }
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let nsps = dumped_namespaces(scope);
    let rows = l
        .query("aggregates", &query_sql(l.version), &[&nsps])
        .await?;
    let mut items = Vec::new();
    for r in &rows {
        let oid: Oid = r.get(0);
        let nsp: Oid = r.get(1);
        if !scope.dump_obj(nsp, ObjRef::new(class::PG_PROC, oid)) {
            continue;
        }
        let a = AggRow {
            oid,
            nsp,
            schema: r.get(2),
            name: r.get(3),
            owner: r.get(4),
            args: r.get::<_, Option<String>>(5).unwrap_or_default(),
            identity_args: r.get::<_, Option<String>>(6).unwrap_or_default(),
            arg_types: r.get::<_, Option<String>>(7).unwrap_or_default(),
            kind: first_char(&r.get::<_, String>(8)),
            transfn: proc_ref(r.get(9)),
            finalfn: proc_ref(r.get(10)),
            combinefn: proc_ref(r.get(11)),
            serialfn: proc_ref(r.get(12)),
            deserialfn: proc_ref(r.get(13)),
            mtransfn: proc_ref(r.get(14)),
            minvtransfn: proc_ref(r.get(15)),
            mfinalfn: proc_ref(r.get(16)),
            transtype: r.get(17),
            mtranstype: r.get(18),
            transspace: r.get(19),
            mtransspace: r.get(20),
            initval: r.get(21),
            minitval: r.get(22),
            finalextra: r.get(23),
            mfinalextra: r.get(24),
            finalmodify: r.get::<_, Option<String>>(25).map(|s| first_char(&s)),
            mfinalmodify: r.get::<_, Option<String>>(26).map(|s| first_char(&s)),
            sortop: operator_ref(r.get(27)),
            parallel: first_char(&r.get::<_, String>(28)),
            acl: r.get(29),
            acl_default: opt_vec(r.get(30)),
        };
        items.extend(agg_items(scope, &a)?);
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`). The dump fails on them unless told to skip.
/// Every aggregate can be rebuilt (its support functions are reported by
/// the function module if they cannot).
pub(crate) async fn unsupported(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agg() -> AggRow {
        AggRow {
            oid: 30000,
            schema: "cov_logic".into(),
            name: "geomean".into(),
            owner: "cov_owner".into(),
            args: "double precision".into(),
            identity_args: "double precision".into(),
            arg_types: "double precision".into(),
            kind: 'n',
            transfn: Some("cov_logic.geo_sfunc".into()),
            finalfn: Some("cov_logic.geo_final".into()),
            transtype: "double precision[]".into(),
            initval: Some("{0,0}".into()),
            finalmodify: Some('r'),
            mfinalmodify: Some('r'),
            parallel: 'u',
            ..AggRow::default()
        }
    }

    #[test]
    fn simple_aggregate() {
        assert_eq!(
            create_sql(&agg()),
            "CREATE AGGREGATE cov_logic.geomean(double precision) (\n    \
             SFUNC = cov_logic.geo_sfunc,\n    STYPE = double precision[],\n    \
             INITCOND = '{0,0}',\n    FINALFUNC = cov_logic.geo_final\n);\n"
        );
    }

    #[test]
    fn moving_and_parallel_options() {
        let a = AggRow {
            name: "product".into(),
            args: "numeric".into(),
            transfn: Some("pg_catalog.numeric_mul".into()),
            finalfn: Some("cov_logic.fin".into()),
            finalextra: true,
            finalmodify: Some('s'),
            combinefn: Some("pg_catalog.numeric_mul".into()),
            serialfn: Some("s.ser".into()),
            deserialfn: Some("s.deser".into()),
            transtype: "internal".into(),
            transspace: 128,
            initval: None,
            mtransfn: Some("s.m".into()),
            minvtransfn: Some("s.mi".into()),
            mtranstype: Some("numeric".into()),
            mtransspace: 16,
            minitval: Some("1".into()),
            mfinalfn: Some("s.mf".into()),
            mfinalextra: true,
            mfinalmodify: Some('w'),
            sortop: Some("OPERATOR(pg_catalog.>)".into()),
            parallel: 's',
            ..agg()
        };
        assert_eq!(
            create_sql(&a),
            "CREATE AGGREGATE cov_logic.product(numeric) (\n    \
             SFUNC = pg_catalog.numeric_mul,\n    STYPE = internal,\n    SSPACE = 128,\n    \
             FINALFUNC = cov_logic.fin,\n    FINALFUNC_EXTRA,\n    FINALFUNC_MODIFY = SHAREABLE,\n    \
             COMBINEFUNC = pg_catalog.numeric_mul,\n    SERIALFUNC = s.ser,\n    DESERIALFUNC = s.deser,\n    \
             MSFUNC = s.m,\n    MINVFUNC = s.mi,\n    MSTYPE = numeric,\n    MSSPACE = 16,\n    \
             MINITCOND = '1',\n    MFINALFUNC = s.mf,\n    MFINALFUNC_EXTRA,\n    \
             MFINALFUNC_MODIFY = READ_WRITE,\n    SORTOP = OPERATOR(pg_catalog.>),\n    PARALLEL = safe\n);\n"
        );
    }

    #[test]
    fn ordered_set_and_zero_args() {
        let o = AggRow {
            name: "pct".into(),
            args: "double precision ORDER BY double precision".into(),
            identity_args: "double precision ORDER BY double precision".into(),
            arg_types: "double precision, double precision".into(),
            kind: 'h',
            finalmodify: Some('w'),
            finalextra: true,
            ..agg()
        };
        let sql = create_sql(&o);
        assert!(sql.starts_with(
            "CREATE AGGREGATE cov_logic.pct(double precision ORDER BY double precision) (\n"
        ));
        assert!(
            sql.ends_with("FINALFUNC_EXTRA,\n    HYPOTHETICAL\n);\n"),
            "{sql}"
        );
        assert_eq!(
            o.function_signature(),
            "cov_logic.pct(double precision, double precision)"
        );
        let z = AggRow {
            args: String::new(),
            identity_args: String::new(),
            arg_types: String::new(),
            ..agg()
        };
        assert!(create_sql(&z).starts_with("CREATE AGGREGATE cov_logic.geomean(*) (\n"));
        assert_eq!(z.signature(), "cov_logic.geomean(*)");
        assert_eq!(z.tag(), "geomean(*)");
        assert_eq!(z.function_signature(), "cov_logic.geomean()");
        assert_eq!(
            operator_ref(Some(vec!["My S".into(), "<".into()])).as_deref(),
            Some("OPERATOR(\"My S\".<)")
        );
    }
}
