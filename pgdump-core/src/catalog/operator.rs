//! Operators, operator families and operator classes.
//!
//! As pg_dump (`dumpOpr`, `dumpOpfamily`, `dumpOpclass`):
//! - `CREATE OPERATOR s.op (FUNCTION = ..., LEFTARG, RIGHTARG, COMMUTATOR = OPERATOR(s.op),
//!   NEGATOR, MERGES, HASHES, RESTRICT, JOIN)`; prefix operators have only RIGHTARG.
//!   Before 11 the function option is spelled `PROCEDURE` (the only spelling 10 accepts;
//!   newer servers accept it too). Shell operators (no function: referenced as
//!   commutator/negator but never defined) are not dumped: the referencing operator
//!   makes them again. Postfix operators (before 14) cannot be created on 14+ and are
//!   reported by [`unsupported`].
//! - `CREATE OPERATOR FAMILY s.f USING am;` plus, in a second item of the same
//!   object, `ALTER OPERATOR FAMILY s.f USING am ADD ...` for the "loose" members
//!   (operators/functions tied to the family, not to a class, in `pg_depend`). The
//!   second item depends on the family and on every member operator and function;
//!   the family itself depends on none of them, so no loop can arise whichever
//!   object the member rows are folded onto.
//! - `CREATE OPERATOR CLASS s.c [DEFAULT] FOR TYPE t USING am [FAMILY s.f] AS
//!   OPERATOR n op(lt,rt) [FOR ORDER BY s.f], FUNCTION n (lt, rt) f(args), STORAGE t`,
//!   members from `pg_amop`/`pg_amproc` tied to the class; explicit dependencies on
//!   the member operators and functions.
//!
//! Operators and functions of members are written as `regoperator`/`regprocedure`
//! text (server-quoted, qualified where not in `pg_catalog`), as pg_dump does.

use std::collections::HashMap;

use super::comment::{comment_item, CommentTarget};
use super::{class, Dep, Item, ItemKey, Kind, Loader, ObjRef, Oid, Scope};
use crate::error::Result;
use crate::quote::{ident, qualify};

/// A (schema, name) pair, unquoted.
type QName = (String, String);

fn pair(a: Option<String>, b: Option<String>) -> Option<QName> {
    Some((a?, b?))
}

fn q(p: &QName) -> String {
    qualify(&p.0, &p.1)
}

// ---------------------------------------------------------------- operators

/// One operator of [`OPERATOR_QUERY`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct OperatorRow {
    oid: Oid,
    nsp: Oid,
    schema: String,
    name: String,
    owner: String,
    /// `oprkind`: `b` infix, `l` prefix, `r` postfix (before 14).
    kind: char,
    /// `format_type(oprleft)`, None when 0.
    left: Option<String>,
    /// `format_type(oprright)`, None when 0.
    right: Option<String>,
    /// The implementing function (None for a shell operator).
    func: Option<QName>,
    commutator: Option<QName>,
    negator: Option<QName>,
    restrict: Option<QName>,
    join: Option<QName>,
    merges: bool,
    hashes: bool,
}

/// User operators. Same on every version 10..18.
const OPERATOR_QUERY: &str = "SELECT o.oid, o.oprnamespace, n.nspname::text, o.oprname::text, \
            pg_catalog.pg_get_userbyid(o.oprowner)::text, o.oprkind::text, \
            CASE WHEN o.oprleft <> 0 THEN pg_catalog.format_type(o.oprleft, NULL) END, \
            CASE WHEN o.oprright <> 0 THEN pg_catalog.format_type(o.oprright, NULL) END, \
            pn.nspname::text, p.proname::text, \
            cn.nspname::text, co.oprname::text, nn.nspname::text, no.oprname::text, \
            rn.nspname::text, rp.proname::text, jn.nspname::text, jp.proname::text, \
            o.oprcanmerge, o.oprcanhash \
     FROM pg_catalog.pg_operator o \
     JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace \
     LEFT JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode \
     LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace \
     LEFT JOIN pg_catalog.pg_operator co ON co.oid = o.oprcom \
     LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.oprnamespace \
     LEFT JOIN pg_catalog.pg_operator no ON no.oid = o.oprnegate \
     LEFT JOIN pg_catalog.pg_namespace nn ON nn.oid = no.oprnamespace \
     LEFT JOIN pg_catalog.pg_proc rp ON rp.oid = o.oprrest \
     LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rp.pronamespace \
     LEFT JOIN pg_catalog.pg_proc jp ON jp.oid = o.oprjoin \
     LEFT JOIN pg_catalog.pg_namespace jn ON jn.oid = jp.pronamespace \
     WHERE o.oid >= 16384 \
     ORDER BY o.oid";

fn operator_rows(rows: &[tokio_postgres::Row]) -> Vec<OperatorRow> {
    rows.iter()
        .map(|r| OperatorRow {
            oid: r.get(0),
            nsp: r.get(1),
            schema: r.get(2),
            name: r.get(3),
            owner: r.get(4),
            kind: r.get::<_, String>(5).chars().next().unwrap_or('b'),
            left: r.get(6),
            right: r.get(7),
            func: pair(r.get(8), r.get(9)),
            commutator: pair(r.get(10), r.get(11)),
            negator: pair(r.get(12), r.get(13)),
            restrict: pair(r.get(14), r.get(15)),
            join: pair(r.get(16), r.get(17)),
            merges: r.get(18),
            hashes: r.get(19),
        })
        .collect()
}

/// `s.op`: an operator name is not an identifier and is never quoted.
fn op_name(schema: &str, name: &str) -> String {
    format!("{}.{name}", ident(schema))
}

/// `(left, right)` with `NONE` for a missing side.
fn op_args(o: &OperatorRow) -> String {
    format!(
        "({}, {})",
        o.left.as_deref().unwrap_or("NONE"),
        o.right.as_deref().unwrap_or("NONE")
    )
}

/// `CREATE OPERATOR ...;` (`proc_keyword`: FUNCTION, or PROCEDURE for 10).
fn operator_sql(o: &OperatorRow, proc_keyword: &str) -> String {
    let mut opts = Vec::new();
    if let Some(f) = &o.func {
        opts.push(format!("{proc_keyword} = {}", q(f)));
    }
    if let Some(l) = &o.left {
        opts.push(format!("LEFTARG = {l}"));
    }
    if let Some(r) = &o.right {
        opts.push(format!("RIGHTARG = {r}"));
    }
    if let Some((s, n)) = &o.commutator {
        opts.push(format!("COMMUTATOR = OPERATOR({})", op_name(s, n)));
    }
    if let Some((s, n)) = &o.negator {
        opts.push(format!("NEGATOR = OPERATOR({})", op_name(s, n)));
    }
    if o.merges {
        opts.push("MERGES".to_string());
    }
    if o.hashes {
        opts.push("HASHES".to_string());
    }
    if let Some(r) = &o.restrict {
        opts.push(format!("RESTRICT = {}", q(r)));
    }
    if let Some(j) = &o.join {
        opts.push(format!("JOIN = {}", q(j)));
    }
    format!(
        "CREATE OPERATOR {} (\n    {}\n);\n",
        op_name(&o.schema, &o.name),
        opts.join(",\n    ")
    )
}

fn operator_items(scope: &Scope, o: &OperatorRow) -> Vec<Item> {
    let obj = ObjRef::new(class::PG_OPERATOR, o.oid);
    let qn = op_name(&o.schema, &o.name);
    let args = op_args(o);
    let sig = format!("{qn} {args}");
    let proc_keyword = if scope.version.at_least(11) {
        "FUNCTION"
    } else {
        "PROCEDURE"
    };
    let mut items = vec![Item::new(
        Kind::Operator,
        obj,
        o.name.clone(),
        operator_sql(o, proc_keyword),
    )
    .primary()
    .schema(o.schema.clone())
    .sort_extra(args.clone())
    .owner(
        o.owner.clone(),
        format!("ALTER OPERATOR {sig} OWNER TO {};\n", ident(&o.owner)),
    )
    .drop(format!("DROP OPERATOR IF EXISTS {sig};\n"))];
    let tag = format!("{} {args}", o.name);
    items.extend(comment_item(
        scope,
        &CommentTarget {
            obj,
            sql_kind: "OPERATOR",
            sql_name: &sig,
            schema: Some(&o.schema),
            tag: &tag,
            owner: Some(&o.owner),
        },
    ));
    items
}

// ------------------------------------------------------- families and classes

/// A member of an operator class or family (`pg_amop` / `pg_amproc` row).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Member {
    /// `OPERATOR n op(lt,rt) [FOR ORDER BY s.f]`.
    Operator {
        strategy: i32,
        /// `amopopr::regoperator`.
        op: String,
        op_oid: Oid,
        sort_family: Option<QName>,
    },
    /// `FUNCTION n (lt, rt) f(args)`.
    Function {
        number: i32,
        left: String,
        right: String,
        /// `amproc::regprocedure`.
        func: String,
        func_oid: Oid,
    },
}

impl Member {
    fn sql(&self) -> String {
        match self {
            Member::Operator {
                strategy,
                op,
                sort_family,
                ..
            } => {
                let order = sort_family
                    .as_ref()
                    .map(|f| format!(" FOR ORDER BY {}", q(f)))
                    .unwrap_or_default();
                format!("OPERATOR {strategy} {op}{order}")
            }
            Member::Function {
                number,
                left,
                right,
                func,
                ..
            } => format!("FUNCTION {number} ({left}, {right}) {func}"),
        }
    }

    fn deps(&self) -> Vec<Dep> {
        match self {
            Member::Operator { op_oid, .. } => {
                vec![Dep::Obj(ObjRef::new(class::PG_OPERATOR, *op_oid))]
            }
            Member::Function { func_oid, .. } => {
                vec![Dep::Obj(ObjRef::new(class::PG_PROC, *func_oid))]
            }
        }
    }
}

/// Members of user classes and families, keyed by the owning class or family
/// (`pg_depend` reference), in strategy/support-number order (operators first).
const MEMBER_QUERY: &str = "SELECT d.refclassid, d.refobjid, 0 AS k, ao.amopstrategy::int4, \
            ao.amopopr::pg_catalog.regoperator::text, ao.amopopr, \
            sfn.nspname::text, sf.opfname::text, NULL::text, NULL::text \
     FROM pg_catalog.pg_amop ao \
     JOIN pg_catalog.pg_depend d \
       ON d.classid = 'pg_catalog.pg_amop'::pg_catalog.regclass AND d.objid = ao.oid \
      AND (d.refclassid = 'pg_catalog.pg_opclass'::pg_catalog.regclass \
           OR (d.refclassid = 'pg_catalog.pg_opfamily'::pg_catalog.regclass \
               AND d.refobjid = ao.amopfamily)) \
     LEFT JOIN pg_catalog.pg_opfamily sf ON sf.oid = ao.amopsortfamily \
     LEFT JOIN pg_catalog.pg_namespace sfn ON sfn.oid = sf.opfnamespace \
     WHERE d.refobjid >= 16384 \
     UNION ALL \
     SELECT d.refclassid, d.refobjid, 1, ap.amprocnum::int4, \
            ap.amproc::pg_catalog.regprocedure::text, ap.amproc, NULL, NULL, \
            pg_catalog.format_type(ap.amproclefttype, NULL), \
            pg_catalog.format_type(ap.amprocrighttype, NULL) \
     FROM pg_catalog.pg_amproc ap \
     JOIN pg_catalog.pg_depend d \
       ON d.classid = 'pg_catalog.pg_amproc'::pg_catalog.regclass AND d.objid = ap.oid \
      AND (d.refclassid = 'pg_catalog.pg_opclass'::pg_catalog.regclass \
           OR (d.refclassid = 'pg_catalog.pg_opfamily'::pg_catalog.regclass \
               AND d.refobjid = ap.amprocfamily)) \
     WHERE d.refobjid >= 16384 \
     ORDER BY 1, 2, 3, 4, 5";

/// Members by owner (`ObjRef` of the class or family).
fn members(rows: &[tokio_postgres::Row]) -> HashMap<ObjRef, Vec<Member>> {
    let mut out: HashMap<ObjRef, Vec<Member>> = HashMap::new();
    for r in rows {
        let owner = ObjRef::new(r.get(0), r.get(1));
        let k: i32 = r.get(2);
        let m = if k == 0 {
            Member::Operator {
                strategy: r.get(3),
                op: r.get(4),
                op_oid: r.get(5),
                sort_family: pair(r.get(6), r.get(7)),
            }
        } else {
            Member::Function {
                number: r.get(3),
                func: r.get(4),
                func_oid: r.get(5),
                left: r.get::<_, Option<String>>(8).unwrap_or_default(),
                right: r.get::<_, Option<String>>(9).unwrap_or_default(),
            }
        };
        out.entry(owner).or_default().push(m);
    }
    out
}

/// One operator family.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FamilyRow {
    oid: Oid,
    nsp: Oid,
    schema: String,
    name: String,
    owner: String,
    am: String,
}

/// User operator families. Same on every version 10..18.
const FAMILY_QUERY: &str = "SELECT f.oid, f.opfnamespace, n.nspname::text, f.opfname::text, \
            pg_catalog.pg_get_userbyid(f.opfowner)::text, am.amname::text \
     FROM pg_catalog.pg_opfamily f \
     JOIN pg_catalog.pg_namespace n ON n.oid = f.opfnamespace \
     JOIN pg_catalog.pg_am am ON am.oid = f.opfmethod \
     WHERE f.oid >= 16384 \
     ORDER BY f.oid";

fn family_items(scope: &Scope, f: &FamilyRow, loose: &[Member]) -> Vec<Item> {
    let obj = ObjRef::new(class::PG_OPFAMILY, f.oid);
    let qn = qualify(&f.schema, &f.name);
    let am = ident(&f.am);
    let sig = format!("{qn} USING {am}");
    let tag = format!("{} USING {}", f.name, f.am);
    let mut items = vec![Item::new(
        Kind::OperatorFamily,
        obj,
        tag.clone(),
        format!("CREATE OPERATOR FAMILY {sig};\n"),
    )
    .primary()
    .schema(f.schema.clone())
    .owner(
        f.owner.clone(),
        format!(
            "ALTER OPERATOR FAMILY {sig} OWNER TO {};\n",
            ident(&f.owner)
        ),
    )
    .drop(format!("DROP OPERATOR FAMILY IF EXISTS {sig};\n"))];
    if !loose.is_empty() {
        let list: Vec<String> = loose.iter().map(Member::sql).collect();
        let mut add = Item::new(
            Kind::OperatorFamily,
            obj,
            tag.clone(),
            format!(
                "ALTER OPERATOR FAMILY {sig} ADD\n    {};\n",
                list.join(",\n    ")
            ),
        )
        .with_sub(1)
        .schema(f.schema.clone())
        .sort_extra("ADD")
        .dep(Dep::Key(ItemKey {
            kind: Kind::OperatorFamily,
            obj,
            sub: 0,
        }));
        add.owner = Some(f.owner.clone());
        for m in loose {
            for d in m.deps() {
                add = add.dep(d);
            }
        }
        items.push(add);
    }
    items.extend(comment_item(
        scope,
        &CommentTarget {
            obj,
            sql_kind: "OPERATOR FAMILY",
            sql_name: &sig,
            schema: Some(&f.schema),
            tag: &tag,
            owner: Some(&f.owner),
        },
    ));
    items
}

/// One operator class.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClassRow {
    oid: Oid,
    nsp: Oid,
    schema: String,
    name: String,
    owner: String,
    am: String,
    /// `format_type(opcintype)`.
    in_type: String,
    /// `format_type(opckeytype)` when set.
    key_type: Option<String>,
    default: bool,
    family: QName,
}

/// User operator classes. Same on every version 10..18.
const CLASS_QUERY: &str = "SELECT c.oid, c.opcnamespace, n.nspname::text, c.opcname::text, \
            pg_catalog.pg_get_userbyid(c.opcowner)::text, am.amname::text, \
            pg_catalog.format_type(c.opcintype, NULL), \
            CASE WHEN c.opckeytype <> 0 THEN pg_catalog.format_type(c.opckeytype, NULL) END, \
            c.opcdefault, fn.nspname::text, f.opfname::text \
     FROM pg_catalog.pg_opclass c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.opcnamespace \
     JOIN pg_catalog.pg_am am ON am.oid = c.opcmethod \
     JOIN pg_catalog.pg_opfamily f ON f.oid = c.opcfamily \
     JOIN pg_catalog.pg_namespace fn ON fn.oid = f.opfnamespace \
     WHERE c.oid >= 16384 \
     ORDER BY c.oid";

/// `CREATE OPERATOR CLASS ...;`
fn class_sql(c: &ClassRow, members: &[Member]) -> String {
    let mut sql = format!(
        "CREATE OPERATOR CLASS {}\n    {}FOR TYPE {} USING {}",
        qualify(&c.schema, &c.name),
        if c.default { "DEFAULT " } else { "" },
        c.in_type,
        ident(&c.am)
    );
    // Without FAMILY the class goes into (or creates) the family of its own name.
    if c.family.0 != c.schema || c.family.1 != c.name {
        sql.push_str(&format!(" FAMILY {}", q(&c.family)));
    }
    let mut items: Vec<String> = members.iter().map(Member::sql).collect();
    if let Some(k) = &c.key_type {
        items.push(format!("STORAGE {k}"));
    }
    if items.is_empty() {
        // Nothing after AS is a syntax error; this is a no-op the server accepts.
        items.push(format!("STORAGE {}", c.in_type));
    }
    sql.push_str(&format!(" AS\n    {};\n", items.join(",\n    ")));
    sql
}

fn class_items(scope: &Scope, c: &ClassRow, members: &[Member]) -> Vec<Item> {
    let obj = ObjRef::new(class::PG_OPCLASS, c.oid);
    let sig = format!("{} USING {}", qualify(&c.schema, &c.name), ident(&c.am));
    let tag = format!("{} USING {}", c.name, c.am);
    let mut item = Item::new(Kind::OperatorClass, obj, tag.clone(), class_sql(c, members))
        .primary()
        .schema(c.schema.clone())
        .owner(
            c.owner.clone(),
            format!("ALTER OPERATOR CLASS {sig} OWNER TO {};\n", ident(&c.owner)),
        )
        .drop(format!("DROP OPERATOR CLASS IF EXISTS {sig};\n"));
    for m in members {
        for d in m.deps() {
            item = item.dep(d);
        }
    }
    let mut items = vec![item];
    items.extend(comment_item(
        scope,
        &CommentTarget {
            obj,
            sql_kind: "OPERATOR CLASS",
            sql_name: &sig,
            schema: Some(&c.schema),
            tag: &tag,
            owner: Some(&c.owner),
        },
    ));
    items
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let (op_rows, fam_rows, class_rows, member_rows) = futures::try_join!(
        l.query("operators", OPERATOR_QUERY, &[]),
        l.query("operator families", FAMILY_QUERY, &[]),
        l.query("operator classes", CLASS_QUERY, &[]),
        l.query("operator class and family members", MEMBER_QUERY, &[]),
    )?;
    let members = members(&member_rows);
    let none = Vec::new();
    let mut items = Vec::new();
    for o in operator_rows(&op_rows) {
        // Shell operators come back through the operators that name them;
        // postfix operators are reported by unsupported().
        if o.func.is_none() || o.kind == 'r' {
            continue;
        }
        if scope.dump_obj(o.nsp, ObjRef::new(class::PG_OPERATOR, o.oid)) {
            items.extend(operator_items(scope, &o));
        }
    }
    for r in &fam_rows {
        let f = FamilyRow {
            oid: r.get(0),
            nsp: r.get(1),
            schema: r.get(2),
            name: r.get(3),
            owner: r.get(4),
            am: r.get(5),
        };
        let obj = ObjRef::new(class::PG_OPFAMILY, f.oid);
        if scope.dump_obj(f.nsp, obj) {
            items.extend(family_items(scope, &f, members.get(&obj).unwrap_or(&none)));
        }
    }
    for r in &class_rows {
        let c = ClassRow {
            oid: r.get(0),
            nsp: r.get(1),
            schema: r.get(2),
            name: r.get(3),
            owner: r.get(4),
            am: r.get(5),
            in_type: r.get(6),
            key_type: r.get(7),
            default: r.get(8),
            family: (r.get(9), r.get(10)),
        };
        let obj = ObjRef::new(class::PG_OPCLASS, c.oid);
        if scope.dump_obj(c.nsp, obj) {
            items.extend(class_items(scope, &c, members.get(&obj).unwrap_or(&none)));
        }
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`): postfix operators (servers before 14), which
/// PostgreSQL 14 and newer cannot create.
pub(crate) async fn unsupported(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    if l.version.at_least(14) {
        return Ok(Vec::new());
    }
    let rows = l.query("operators", OPERATOR_QUERY, &[]).await?;
    Ok(operator_rows(&rows)
        .iter()
        .filter(|o| o.kind == 'r' && o.func.is_some())
        .filter(|o| scope.dump_obj(o.nsp, ObjRef::new(class::PG_OPERATOR, o.oid)))
        .map(|o| {
            format!(
                "operator {} {}: postfix operators cannot be created on PostgreSQL 14 and newer",
                op_name(&o.schema, &o.name),
                op_args(o)
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ServerVersion;
    use crate::options::DumpOptions;
    use std::collections::HashSet;

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

    fn qn(a: &str, b: &str) -> Option<QName> {
        Some((a.into(), b.into()))
    }

    fn approx_eq() -> OperatorRow {
        OperatorRow {
            oid: 18000,
            nsp: 16600,
            schema: "cov_logic".into(),
            name: "=~=".into(),
            owner: "postgres".into(),
            kind: 'b',
            left: Some("double precision".into()),
            right: Some("double precision".into()),
            func: qn("cov_logic", "approx_eq"),
            commutator: qn("cov_logic", "=~="),
            ..Default::default()
        }
    }

    #[test]
    fn infix_operator() {
        let obj = ObjRef::new(class::PG_OPERATOR, 18000);
        let items = operator_items(
            &scope(150000, &[(obj, "approximately equal")]),
            &approx_eq(),
        );
        assert_eq!(
            items[0].create,
            "CREATE OPERATOR cov_logic.=~= (\n    FUNCTION = cov_logic.approx_eq,\n    \
             LEFTARG = double precision,\n    RIGHTARG = double precision,\n    \
             COMMUTATOR = OPERATOR(cov_logic.=~=)\n);\n"
        );
        assert_eq!(items[0].name, "=~=");
        assert_eq!(items[0].sort_extra, "(double precision, double precision)");
        assert_eq!(
            items[0].alter_owner.as_deref(),
            Some("ALTER OPERATOR cov_logic.=~= (double precision, double precision) OWNER TO postgres;\n")
        );
        assert_eq!(
            items[1].create.trim_end(),
            "COMMENT ON OPERATOR cov_logic.=~= (double precision, double precision) IS 'approximately equal';"
        );
        assert_eq!(
            items[1].name,
            "OPERATOR =~= (double precision, double precision)"
        );
    }

    #[test]
    fn prefix_operator_all_options_and_pg10_spelling() {
        let o = OperatorRow {
            kind: 'l',
            left: None,
            right: Some("text".into()),
            func: qn("cov_logic", "shout"),
            commutator: None,
            negator: qn("Odd", "!##"),
            restrict: qn("pg_catalog", "eqsel"),
            join: qn("pg_catalog", "eqjoinsel"),
            merges: true,
            hashes: true,
            name: "###".into(),
            ..approx_eq()
        };
        assert_eq!(
            operator_sql(&o, "PROCEDURE"),
            "CREATE OPERATOR cov_logic.### (\n    PROCEDURE = cov_logic.shout,\n    RIGHTARG = text,\n    \
             NEGATOR = OPERATOR(\"Odd\".!##),\n    MERGES,\n    HASHES,\n    \
             RESTRICT = pg_catalog.eqsel,\n    JOIN = pg_catalog.eqjoinsel\n);\n"
        );
        assert_eq!(op_args(&o), "(NONE, text)");
        let items = operator_items(&scope(100000, &[]), &o);
        assert!(items[0].create.contains("PROCEDURE = "));
    }

    fn int4_desc_ops(family: (&str, &str)) -> ClassRow {
        ClassRow {
            oid: 18100,
            nsp: 16600,
            schema: "cov_logic".into(),
            name: "int4_desc_ops".into(),
            owner: "postgres".into(),
            am: "btree".into(),
            in_type: "integer".into(),
            key_type: None,
            default: false,
            family: (family.0.into(), family.1.into()),
        }
    }

    fn op(strategy: i32, op: &str) -> Member {
        Member::Operator {
            strategy,
            op: op.into(),
            op_oid: 96,
            sort_family: None,
        }
    }

    #[test]
    fn operator_class() {
        let members = vec![
            op(1, ">(integer,integer)"),
            op(3, "=(integer,integer)"),
            Member::Function {
                number: 1,
                left: "integer".into(),
                right: "integer".into(),
                func: "cov_logic.int4_desc_cmp(integer,integer)".into(),
                func_oid: 18050,
            },
        ];
        let c = int4_desc_ops(("cov_logic", "int4_desc_fam"));
        let obj = ObjRef::new(class::PG_OPCLASS, 18100);
        let items = class_items(&scope(150000, &[(obj, "reverse ordering")]), &c, &members);
        assert_eq!(
            items[0].create,
            "CREATE OPERATOR CLASS cov_logic.int4_desc_ops\n    FOR TYPE integer USING btree \
             FAMILY cov_logic.int4_desc_fam AS\n    OPERATOR 1 >(integer,integer),\n    \
             OPERATOR 3 =(integer,integer),\n    \
             FUNCTION 1 (integer, integer) cov_logic.int4_desc_cmp(integer,integer);\n"
        );
        assert!(items[0]
            .deps
            .contains(&Dep::Obj(ObjRef::new(class::PG_PROC, 18050))));
        assert!(items[0]
            .deps
            .contains(&Dep::Obj(ObjRef::new(class::PG_OPERATOR, 96))));
        assert_eq!(items[0].name, "int4_desc_ops USING btree");
        assert_eq!(
            items[0].alter_owner.as_deref(),
            Some("ALTER OPERATOR CLASS cov_logic.int4_desc_ops USING btree OWNER TO postgres;\n")
        );
        assert_eq!(
            items[1].create.trim_end(),
            "COMMENT ON OPERATOR CLASS cov_logic.int4_desc_ops USING btree IS 'reverse ordering';"
        );
        assert_eq!(items[1].name, "OPERATOR CLASS int4_desc_ops USING btree");
    }

    #[test]
    fn default_class_in_its_own_family_with_storage() {
        let mut c = int4_desc_ops(("cov_logic", "int4_desc_ops"));
        c.default = true;
        c.am = "gist".into();
        c.key_type = Some("cov_ext.gbtreekey8".into());
        let m = vec![Member::Operator {
            strategy: 15,
            op: "<->(integer,integer)".into(),
            op_oid: 1,
            sort_family: qn("pg_catalog", "integer_ops"),
        }];
        assert_eq!(
            class_sql(&c, &m),
            "CREATE OPERATOR CLASS cov_logic.int4_desc_ops\n    DEFAULT FOR TYPE integer USING gist AS\n    \
             OPERATOR 15 <->(integer,integer) FOR ORDER BY pg_catalog.integer_ops,\n    \
             STORAGE cov_ext.gbtreekey8;\n"
        );
        c.key_type = None;
        assert_eq!(
            class_sql(&c, &[]),
            "CREATE OPERATOR CLASS cov_logic.int4_desc_ops\n    DEFAULT FOR TYPE integer USING gist AS\n    \
             STORAGE integer;\n"
        );
    }

    #[test]
    fn family_with_loose_members() {
        let f = FamilyRow {
            oid: 18200,
            nsp: 16600,
            schema: "cov_logic".into(),
            name: "fam".into(),
            owner: "bob".into(),
            am: "btree".into(),
        };
        let items = family_items(&scope(150000, &[]), &f, &[]);
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].create,
            "CREATE OPERATOR FAMILY cov_logic.fam USING btree;\n"
        );
        let loose = vec![
            op(1, "<(integer,bigint)"),
            Member::Function {
                number: 1,
                left: "integer".into(),
                right: "bigint".into(),
                func: "btint48cmp(integer,bigint)".into(),
                func_oid: 2188,
            },
        ];
        let items = family_items(&scope(150000, &[]), &f, &loose);
        assert_eq!(items.len(), 2);
        let add = &items[1];
        assert!(!add.primary);
        assert_eq!(add.key.sub, 1);
        assert_eq!(
            add.create,
            "ALTER OPERATOR FAMILY cov_logic.fam USING btree ADD\n    OPERATOR 1 <(integer,bigint),\n    \
             FUNCTION 1 (integer, bigint) btint48cmp(integer,bigint);\n"
        );
        assert!(add.deps.contains(&Dep::Key(items[0].key)));
        assert!(add
            .deps
            .contains(&Dep::Obj(ObjRef::new(class::PG_PROC, 2188))));
        assert!(items[0].deps.is_empty());
    }
}
