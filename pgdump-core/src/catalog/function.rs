//! Functions and procedures (`pg_proc`, not aggregates): `CREATE FUNCTION` /
//! `CREATE PROCEDURE` assembled from the catalog columns, as pg_dump's `dumpFunc`
//! does (never `pg_get_functiondef`), with their comments, ACLs and owners.
//!
//! Version branches: `prokind` (11+; before, `proisagg`/`proiswindow` and no
//! procedures), `prosupport` (12+), `prosqlbody` (14+, SQL-standard bodies).

use super::acl::{acl_item, AclTarget};
use super::comment::{comment_item, CommentTarget};
use super::{class, opt_vec, Item, Kind, Loader, ObjRef, Oid, Scope, ServerVersion};
use crate::error::Result;
use crate::quote::{dollar_quote, ident, literal, qualify};

/// OIDs of the schemas whose objects are dumped (for `= ANY($1)` filters).
pub(super) fn dumped_namespaces(scope: &Scope) -> Vec<Oid> {
    let mut v: Vec<Oid> = scope
        .namespaces
        .values()
        .filter(|n| n.dump)
        .map(|n| n.oid)
        .collect();
    v.sort_unstable();
    v
}

/// SQL expression giving `{schema, name}` (text[]) of the function whose OID is
/// `expr` (a `regproc`/`oid` column), NULL when it is 0. The caller quotes the parts.
pub(super) fn proc_ref_sql(expr: &str) -> String {
    format!(
        "(SELECT ARRAY[rn.nspname::text, rp.proname::text] \
         FROM pg_catalog.pg_proc rp JOIN pg_catalog.pg_namespace rn ON rn.oid = rp.pronamespace \
         WHERE rp.oid = {expr})"
    )
}

/// A `{schema, name}` pair read with [`proc_ref_sql`] as a qualified, quoted name.
pub(super) fn proc_ref(parts: Option<Vec<String>>) -> Option<String> {
    match parts.as_deref() {
        Some([schema, name]) => Some(qualify(schema, name)),
        _ => None,
    }
}

/// One function or procedure as read from `pg_proc`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FuncRow {
    pub oid: Oid,
    pub nsp: Oid,
    pub schema: String,
    pub name: String,
    pub owner: String,
    /// `prokind`: f (function), p (procedure), w (window function).
    pub kind: char,
    pub language: String,
    /// `pg_get_function_arguments`: full argument list with names, modes, defaults.
    pub args: String,
    /// `pg_get_function_identity_arguments`: what identifies the function in ALTER/COMMENT/GRANT.
    pub identity_args: String,
    /// Argument types only (`oidvectortypes(proargtypes)`), for the display name.
    pub arg_types: String,
    /// `pg_get_function_result` (NULL for procedures).
    pub result: Option<String>,
    /// `provolatile`: i, s, v.
    pub volatility: char,
    pub strict: bool,
    pub security_definer: bool,
    pub leakproof: bool,
    /// `proparallel`: s, r, u.
    pub parallel: char,
    /// `procost` as text.
    pub cost: String,
    /// `prorows` as text.
    pub rows: String,
    pub returns_set: bool,
    /// Support function, quoted and qualified (12+).
    pub support: Option<String>,
    /// `proconfig`: `name=value` items.
    pub config: Vec<String>,
    /// Types of `TRANSFORM FOR TYPE` (already formatted by `format_type`).
    pub transforms: Vec<String>,
    pub src: Option<String>,
    pub bin: Option<String>,
    /// `pg_get_function_sqlbody` for SQL-standard bodies (14+).
    pub sql_body: Option<String>,
    pub acl: Option<Vec<String>>,
    pub acl_default: Vec<String>,
}

impl FuncRow {
    /// `FUNCTION` or `PROCEDURE`.
    pub fn sql_kind(&self) -> &'static str {
        if self.kind == 'p' {
            "PROCEDURE"
        } else {
            "FUNCTION"
        }
    }

    /// `schema.name(identity args)`, quoted, as ALTER/COMMENT/GRANT/DROP need it.
    pub fn signature(&self) -> String {
        format!(
            "{}({})",
            qualify(&self.schema, &self.name),
            self.identity_args
        )
    }

    /// TOC name: `name(argument types)`.
    pub fn tag(&self) -> String {
        format!("{}({})", self.name, self.arg_types)
    }
}

/// GUCs whose values are lists of identifiers, stored quoted in `proconfig`
/// (the server's `GUC_LIST_QUOTE` variables).
fn is_guc_list_quote(name: &str) -> bool {
    [
        "local_preload_libraries",
        "search_path",
        "session_preload_libraries",
        "shared_preload_libraries",
        "temp_tablespaces",
        "unix_socket_directories",
    ]
    .iter()
    .any(|v| v.eq_ignore_ascii_case(name))
}

/// Split a `GUC_LIST_QUOTE` value (`a, "B c", ""`) into its elements: double
/// quotes removed (doubled quotes undoubled), surrounding blanks trimmed, case kept.
pub(crate) fn split_guc_list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut item = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        item.push('"');
                    } else {
                        break;
                    }
                } else {
                    item.push(c);
                }
            }
            while chars.peek().is_some_and(|c| *c != ',') {
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                item.push(c);
                chars.next();
            }
            item = item.trim_end().to_string();
        }
        out.push(item);
        if chars.next() != Some(',') {
            break;
        }
    }
    out
}

/// `SET name TO value` clauses from `proconfig` items, one per line.
pub(crate) fn config_sql(config: &[String]) -> String {
    let mut out = String::new();
    for item in config {
        let Some((name, value)) = item.split_once('=') else {
            continue;
        };
        out.push_str(&format!("\n    SET {} TO ", ident(name)));
        if is_guc_list_quote(name) {
            let parts: Vec<String> = split_guc_list(value).iter().map(|p| literal(p)).collect();
            out.push_str(&parts.join(", "));
        } else {
            out.push_str(&literal(value));
        }
    }
    out
}

/// The `CREATE FUNCTION` / `CREATE PROCEDURE` statement.
pub(crate) fn create_sql(f: &FuncRow) -> String {
    let mut q = format!(
        "CREATE {} {}({})",
        f.sql_kind(),
        qualify(&f.schema, &f.name),
        f.args
    );
    if f.kind != 'p' {
        if let Some(result) = &f.result {
            q.push_str(&format!(" RETURNS {result}"));
        }
    }
    q.push_str(&format!("\n    LANGUAGE {}", ident(&f.language)));
    if !f.transforms.is_empty() {
        let list: Vec<String> = f
            .transforms
            .iter()
            .map(|t| format!("FOR TYPE {t}"))
            .collect();
        q.push_str(&format!(" TRANSFORM {}", list.join(", ")));
    }
    if f.kind == 'w' {
        q.push_str(" WINDOW");
    }
    match f.volatility {
        'i' => q.push_str(" IMMUTABLE"),
        's' => q.push_str(" STABLE"),
        _ => {}
    }
    if f.leakproof {
        q.push_str(" LEAKPROOF");
    }
    if f.strict {
        q.push_str(" STRICT");
    }
    if f.security_definer {
        q.push_str(" SECURITY DEFINER");
    }
    match f.parallel {
        's' => q.push_str(" PARALLEL SAFE"),
        'r' => q.push_str(" PARALLEL RESTRICTED"),
        _ => {}
    }
    let default_cost = if matches!(f.language.as_str(), "internal" | "c") {
        "1"
    } else {
        "100"
    };
    if f.cost != "0" && f.cost != default_cost {
        q.push_str(&format!(" COST {}", f.cost));
    }
    if f.returns_set && f.rows != "0" && f.rows != "1000" {
        q.push_str(&format!(" ROWS {}", f.rows));
    }
    if let Some(support) = &f.support {
        q.push_str(&format!(" SUPPORT {support}"));
    }
    q.push_str(&config_sql(&f.config));
    if let Some(body) = &f.sql_body {
        q.push_str(&format!("\n    {body}"));
    } else {
        let src = f.src.as_deref().unwrap_or("");
        match f.bin.as_deref().filter(|b| !b.is_empty() && *b != "-") {
            Some(bin) => {
                q.push_str(&format!("\n    AS {}", literal(bin)));
                if !src.is_empty() && src != "-" {
                    q.push_str(&format!(", {}", literal(src)));
                }
            }
            None => q.push_str(&format!("\n    AS {}", dollar_quote(src))),
        }
    }
    q.push_str(";\n");
    q
}

/// The items of one function: definition, comment, ACL.
pub(crate) fn func_items(scope: &Scope, f: &FuncRow) -> Result<Vec<Item>> {
    let kind = if f.kind == 'p' {
        Kind::Procedure
    } else {
        Kind::Function
    };
    let obj = ObjRef::new(class::PG_PROC, f.oid);
    let sig = f.signature();
    let tag = f.tag();
    let sql_kind = f.sql_kind();
    let mut items = vec![Item::new(kind, obj, tag.clone(), create_sql(f))
        .primary()
        .schema(f.schema.clone())
        .owner(
            f.owner.clone(),
            format!("ALTER {sql_kind} {sig} OWNER TO {};\n", ident(&f.owner)),
        )
        .drop(format!("DROP {sql_kind} IF EXISTS {sig};\n"))
        .sort_extra(f.identity_args.clone())];
    let comment = CommentTarget {
        obj,
        sql_kind,
        sql_name: &sig,
        schema: Some(&f.schema),
        tag: &tag,
        owner: Some(&f.owner),
    };
    items.extend(comment_item(scope, &comment));
    let acl = AclTarget {
        obj,
        sql_kind,
        sql_name: &sig,
        schema: Some(&f.schema),
        tag: &tag,
        owner: &f.owner,
    };
    items.extend(acl_item(&acl, f.acl.as_deref(), &f.acl_default)?);
    Ok(items)
}

/// The catalog query for functions and procedures of the dumped schemas.
fn query_sql(v: ServerVersion) -> String {
    let (kind, not_agg) = if v.at_least(11) {
        ("p.prokind::text", "p.prokind <> 'a'")
    } else {
        (
            "CASE WHEN p.proiswindow THEN 'w' ELSE 'f' END",
            "NOT p.proisagg",
        )
    };
    let support = if v.at_least(12) {
        proc_ref_sql("NULLIF(p.prosupport, 0)")
    } else {
        "NULL::text[]".to_string()
    };
    let sql_body = if v.at_least(14) {
        "CASE WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid) END"
    } else {
        "NULL::text"
    };
    format!(
        "SELECT p.oid, p.pronamespace, n.nspname::text, p.proname::text, \
                pg_catalog.pg_get_userbyid(p.proowner)::text, {kind}, l.lanname::text, \
                pg_catalog.pg_get_function_arguments(p.oid), \
                pg_catalog.pg_get_function_identity_arguments(p.oid), \
                pg_catalog.oidvectortypes(p.proargtypes), \
                pg_catalog.pg_get_function_result(p.oid), \
                p.provolatile::text, p.proisstrict, p.prosecdef, p.proleakproof, \
                p.proparallel::text, p.procost::text, p.prorows::text, p.proretset, \
                {support}, p.proconfig, \
                ARRAY(SELECT pg_catalog.format_type(t.typ, NULL) \
                      FROM pg_catalog.unnest(p.protrftypes) WITH ORDINALITY AS t(typ, i) ORDER BY t.i), \
                p.prosrc, p.probin, {sql_body}, \
                p.proacl::text[], pg_catalog.acldefault('f', p.proowner)::text[] \
         FROM pg_catalog.pg_proc p \
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
         JOIN pg_catalog.pg_language l ON l.oid = p.prolang \
         WHERE p.pronamespace = ANY($1) AND {not_agg} \
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                 WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass \
                   AND d.objid = p.oid AND d.deptype = 'i') \
         ORDER BY p.oid"
    )
}

fn first_char(s: &str) -> char {
    s.chars().next().unwrap_or(' ')
}

/// Read the functions and procedures of the dumped schemas (extension members included:
/// the caller filters).
async fn load(l: &Loader<'_>, scope: &Scope) -> Result<Vec<FuncRow>> {
    let nsps = dumped_namespaces(scope);
    let rows = l
        .query("functions", &query_sql(l.version), &[&nsps])
        .await?;
    Ok(rows
        .iter()
        .map(|r| FuncRow {
            oid: r.get(0),
            nsp: r.get(1),
            schema: r.get(2),
            name: r.get(3),
            owner: r.get(4),
            kind: first_char(&r.get::<_, String>(5)),
            language: r.get(6),
            args: r.get::<_, Option<String>>(7).unwrap_or_default(),
            identity_args: r.get::<_, Option<String>>(8).unwrap_or_default(),
            arg_types: r.get::<_, Option<String>>(9).unwrap_or_default(),
            result: r.get(10),
            volatility: first_char(&r.get::<_, String>(11)),
            strict: r.get(12),
            security_definer: r.get(13),
            leakproof: r.get(14),
            parallel: first_char(&r.get::<_, String>(15)),
            cost: r.get(16),
            rows: r.get(17),
            returns_set: r.get(18),
            support: proc_ref(r.get(19)),
            config: opt_vec(r.get(20)),
            transforms: opt_vec(r.get(21)),
            src: r.get(22),
            bin: r.get(23),
            sql_body: r.get(24),
            acl: r.get(25),
            acl_default: opt_vec(r.get(26)),
        })
        .collect())
}

/// Is this function dumped by us (in scope, not an extension member, not C)?
fn in_scope(scope: &Scope, f: &FuncRow) -> bool {
    scope.dump_obj(f.nsp, ObjRef::new(class::PG_PROC, f.oid))
}

/// C functions are only reproducible through the extension that ships their library.
fn is_c(f: &FuncRow) -> bool {
    f.language == "c"
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for f in load(l, scope).await? {
        if in_scope(scope, &f) && !is_c(&f) {
            items.extend(func_items(scope, &f)?);
        }
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`). The dump fails on them unless told to skip.
pub(crate) async fn unsupported(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    let not_agg = if l.version.at_least(11) {
        "p.prokind <> 'a'"
    } else {
        "NOT p.proisagg"
    };
    let kind = if l.version.at_least(11) {
        "p.prokind::text"
    } else {
        "'f'::text"
    };
    let sql = format!(
        "SELECT p.oid, p.pronamespace, n.nspname::text, p.proname::text, {kind}, \
                pg_catalog.oidvectortypes(p.proargtypes) \
         FROM pg_catalog.pg_proc p \
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
         JOIN pg_catalog.pg_language l ON l.oid = p.prolang \
         WHERE p.pronamespace = ANY($1) AND {not_agg} AND l.lanname = 'c' \
         ORDER BY p.oid"
    );
    let rows = l
        .query("C-language functions", &sql, &[&dumped_namespaces(scope)])
        .await?;
    Ok(rows
        .iter()
        .filter(|r| scope.dump_obj(r.get(1), ObjRef::new(class::PG_PROC, r.get(0))))
        .map(|r| {
            let what = if r.get::<_, String>(4) == "p" {
                "procedure"
            } else {
                "function"
            };
            format!(
                "{what} {}.{}({}): C-language function outside an extension \
                 (its shared library cannot be dumped)",
                r.get::<_, String>(2),
                r.get::<_, String>(3),
                r.get::<_, Option<String>>(5).unwrap_or_default()
            )
        })
        .collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn func() -> FuncRow {
        FuncRow {
            oid: 20000,
            nsp: 2200,
            schema: "cov_logic".into(),
            name: "add".into(),
            owner: "postgres".into(),
            kind: 'f',
            language: "sql".into(),
            args: "a integer, b integer".into(),
            identity_args: "a integer, b integer".into(),
            arg_types: "integer, integer".into(),
            result: Some("integer".into()),
            volatility: 'i',
            strict: true,
            parallel: 's',
            cost: "100".into(),
            rows: "0".into(),
            src: Some(" SELECT a + b ".into()),
            acl_default: vec!["=X/postgres".into(), "postgres=X/postgres".into()],
            ..FuncRow::default()
        }
    }

    #[test]
    fn plain_sql_function() {
        assert_eq!(
            create_sql(&func()),
            "CREATE FUNCTION cov_logic.add(a integer, b integer) RETURNS integer\n    \
             LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE\n    AS $$ SELECT a + b $$;\n"
        );
    }

    #[test]
    fn every_option() {
        let f = FuncRow {
            name: "Credit".into(),
            language: "plpgsql".into(),
            result: Some("SETOF numeric".into()),
            returns_set: true,
            volatility: 's',
            strict: false,
            leakproof: true,
            security_definer: true,
            parallel: 'r',
            cost: "50".into(),
            rows: "10".into(),
            support: Some("cov_logic.supp".into()),
            config: vec![
                "search_path=cov_core, \"My Schema\", pg_temp".into(),
                "work_mem=8MB".into(),
                "plpgsql.variable_conflict=use_column".into(),
                "search_path=\"\"".into(),
            ],
            transforms: vec!["hstore".into(), "integer".into()],
            src: Some("BEGIN RETURN; END".into()),
            ..func()
        };
        assert_eq!(
            create_sql(&f),
            "CREATE FUNCTION cov_logic.\"Credit\"(a integer, b integer) RETURNS SETOF numeric\n    \
             LANGUAGE plpgsql TRANSFORM FOR TYPE hstore, FOR TYPE integer \
             STABLE LEAKPROOF SECURITY DEFINER PARALLEL RESTRICTED COST 50 ROWS 10 SUPPORT cov_logic.supp\n    \
             SET search_path TO 'cov_core', 'My Schema', 'pg_temp'\n    \
             SET work_mem TO '8MB'\n    \
             SET \"plpgsql.variable_conflict\" TO 'use_column'\n    \
             SET search_path TO ''\n    \
             AS $$BEGIN RETURN; END$$;\n"
        );
    }

    #[test]
    fn procedure_window_and_bodies() {
        let p = FuncRow {
            kind: 'p',
            name: "transfer".into(),
            args: "a bigint, INOUT moved numeric DEFAULT 0".into(),
            result: None,
            volatility: 'v',
            strict: false,
            parallel: 'u',
            language: "plpgsql".into(),
            src: Some("BEGIN moved := 1; END".into()),
            ..func()
        };
        assert_eq!(
            create_sql(&p),
            "CREATE PROCEDURE cov_logic.transfer(a bigint, INOUT moved numeric DEFAULT 0)\n    \
             LANGUAGE plpgsql\n    AS $$BEGIN moved := 1; END$$;\n"
        );
        let w = FuncRow {
            kind: 'w',
            language: "internal".into(),
            cost: "1".into(),
            src: Some("window_rank".into()),
            ..func()
        };
        assert_eq!(
            create_sql(&w),
            "CREATE FUNCTION cov_logic.add(a integer, b integer) RETURNS integer\n    \
             LANGUAGE internal WINDOW IMMUTABLE STRICT PARALLEL SAFE\n    AS $$window_rank$$;\n"
        );
        let body = FuncRow {
            sql_body: Some("RETURN (a || b)".into()),
            src: Some(String::new()),
            ..func()
        };
        assert!(create_sql(&body).ends_with("PARALLEL SAFE\n    RETURN (a || b);\n"));
        let c = FuncRow {
            language: "c".into(),
            cost: "1".into(),
            bin: Some("$libdir/foo".into()),
            src: Some("foo_it's".into()),
            ..func()
        };
        assert!(create_sql(&c).ends_with("\n    AS '$libdir/foo', 'foo_it''s';\n"));
    }

    #[test]
    fn guc_lists() {
        assert_eq!(split_guc_list("a, \"B c\" ,d"), ["a", "B c", "d"]);
        assert_eq!(split_guc_list("\"\""), [""]);
        assert_eq!(split_guc_list("\"x\"\"y\""), ["x\"y"]);
        assert!(split_guc_list("").is_empty());
        assert_eq!(
            config_sql(&["DateStyle=ISO, MDY".into()]),
            "\n    SET \"DateStyle\" TO 'ISO, MDY'"
        );
    }

    #[test]
    fn items_and_names() {
        let mut f = func();
        f.acl = Some(vec!["postgres=X/postgres".into(), "bob=X/postgres".into()]);
        let scope = test_scope();
        let items = func_items(&scope, &f).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].name, "add(integer, integer)");
        assert_eq!(items[0].sort_extra, "a integer, b integer");
        assert_eq!(
            items[0].alter_owner.as_deref(),
            Some("ALTER FUNCTION cov_logic.add(a integer, b integer) OWNER TO postgres;\n")
        );
        assert_eq!(
            items[1].create,
            "REVOKE ALL ON FUNCTION cov_logic.add(a integer, b integer) FROM PUBLIC;\n\
             GRANT EXECUTE ON FUNCTION cov_logic.add(a integer, b integer) TO bob;\n"
        );
    }

    pub(crate) fn test_scope() -> Scope {
        Scope {
            version: ServerVersion(150000),
            opts: crate::options::DumpOptions::default(),
            namespaces: Default::default(),
            relations: Default::default(),
            ext_members: Default::default(),
            comments: Default::default(),
        }
    }
}
