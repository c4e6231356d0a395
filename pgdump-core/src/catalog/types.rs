//! Types: enums, composite types, range types and standalone shell types.
//!
//! Hand-built as pg_dump does (`dumpEnumType`, `dumpCompositeType`,
//! `dumpRangeType`, `dumpUndefinedType`):
//! - enum labels in `enumsortorder` order, so values added with BEFORE/AFTER and
//!   renamed ones come out where they are;
//! - composite attributes in `attnum` order without dropped ones, `COLLATE` only
//!   where it differs from the attribute type's default; comments on the
//!   attributes (stored on the type's `pg_class` row) are attached to the type;
//! - range options: `subtype_opclass` only when not the subtype's default class,
//!   `collation` only when not the subtype's default, `multirange_type_name`
//!   always on 14+ (the multirange type, like the array types, has no item).
//!
//! Table row types, array types and multirange types are never items. Base types
//! (C input/output functions) and range types with a canonical function (a C
//! function on a shell type) are reported by [`unsupported`].

use std::collections::HashMap;

use super::acl::{acl_item, AclTarget};
use super::comment::{column_comment_items, comment_item, CommentTarget};
use super::{class, Dep, Item, Kind, Loader, ObjRef, Oid, Scope, ServerVersion};
use crate::error::Result;
use crate::quote::{ident, literal, qualify};

/// What kind of type a row is, with its definition.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TypeDef {
    /// `CREATE TYPE t AS ENUM (...)`: labels in sort order.
    Enum(Vec<String>),
    /// `CREATE TYPE t AS (...)`: the `pg_class` row of its attributes.
    Composite { relid: Oid },
    /// `CREATE TYPE t AS RANGE (...)`.
    Range(Box<RangeDef>),
    /// `CREATE TYPE t;` (a shell type nothing filled in).
    Shell,
}

/// The options of a range type, names unquoted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RangeDef {
    /// `format_type(rngsubtype)` (already quoted by the server).
    subtype: String,
    /// Operator class when not the subtype's default: (schema, name).
    opclass: Option<(String, String)>,
    /// Collation when not the subtype's default: (schema, name).
    collation: Option<(String, String)>,
    /// Canonical function: (schema, name).
    canonical: Option<(String, String)>,
    /// Subtype difference function: (schema, name).
    subdiff: Option<(String, String)>,
    /// Multirange type (14+): (schema, name).
    multirange: Option<(String, String)>,
}

/// One type of [`query`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct TypeRow {
    oid: Oid,
    nsp: Oid,
    schema: String,
    name: String,
    owner: String,
    acl: Option<Vec<String>>,
    acl_default: Vec<String>,
    def: TypeDef,
}

/// One attribute of a composite type.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Attr {
    attnum: i32,
    name: String,
    /// `format_type(atttypid, atttypmod)`.
    type_sql: String,
    /// Collation when not the attribute type's default: (schema, name).
    collation: Option<(String, String)>,
}

/// Enum, composite (standalone), range and shell types; one row each. The
/// multirange type name exists from 14 on.
fn query(v: ServerVersion) -> String {
    let (mr_cols, mr_join) = if v.at_least(14) {
        (
            "mtn.nspname::text, mt.typname::text",
            "LEFT JOIN pg_catalog.pg_type mt ON mt.oid = r.rngmultitypid \
             LEFT JOIN pg_catalog.pg_namespace mtn ON mtn.oid = mt.typnamespace ",
        )
    } else {
        ("NULL::text, NULL::text", "")
    };
    format!(
        "SELECT t.oid, t.typnamespace, n.nspname::text, t.typname::text, \
                pg_catalog.pg_get_userbyid(t.typowner)::text, t.typtype::text, \
                t.typacl::text[], pg_catalog.acldefault('T', t.typowner)::text[], t.typrelid, \
                CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT e.enumlabel::text \
                     FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid \
                     ORDER BY e.enumsortorder) END, \
                pg_catalog.format_type(r.rngsubtype, NULL), \
                CASE WHEN NOT opc.opcdefault THEN opcn.nspname::text END, \
                CASE WHEN NOT opc.opcdefault THEN opc.opcname::text END, \
                rcn.nspname::text, rc.collname::text, \
                cpn.nspname::text, cp.proname::text, dpn.nspname::text, dp.proname::text, \
                {mr_cols} \
         FROM pg_catalog.pg_type t \
         JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
         LEFT JOIN pg_catalog.pg_class c ON c.oid = t.typrelid \
         LEFT JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid \
         LEFT JOIN pg_catalog.pg_type st ON st.oid = r.rngsubtype \
         LEFT JOIN pg_catalog.pg_opclass opc ON opc.oid = r.rngsubopc \
         LEFT JOIN pg_catalog.pg_namespace opcn ON opcn.oid = opc.opcnamespace \
         LEFT JOIN pg_catalog.pg_collation rc \
                ON rc.oid = r.rngcollation AND r.rngcollation <> st.typcollation \
         LEFT JOIN pg_catalog.pg_namespace rcn ON rcn.oid = rc.collnamespace \
         LEFT JOIN pg_catalog.pg_proc cp ON cp.oid = r.rngcanonical \
         LEFT JOIN pg_catalog.pg_namespace cpn ON cpn.oid = cp.pronamespace \
         LEFT JOIN pg_catalog.pg_proc dp ON dp.oid = r.rngsubdiff \
         LEFT JOIN pg_catalog.pg_namespace dpn ON dpn.oid = dp.pronamespace \
         {mr_join}\
         WHERE t.oid >= 16384 \
           AND (t.typtype IN ('e', 'r') \
                OR (t.typtype = 'c' AND c.relkind = 'c') \
                OR (t.typtype = 'p' AND NOT t.typisdefined)) \
         ORDER BY t.oid"
    )
}

/// Attributes of standalone composite types. Same on every version 10..18.
const ATTR_QUERY: &str = "SELECT t.oid, a.attnum::int4, a.attname::text, \
            pg_catalog.format_type(a.atttypid, a.atttypmod), cn.nspname::text, co.collname::text \
     FROM pg_catalog.pg_type t \
     JOIN pg_catalog.pg_class c ON c.oid = t.typrelid AND c.relkind = 'c' \
     JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid \
     JOIN pg_catalog.pg_type at ON at.oid = a.atttypid \
     LEFT JOIN pg_catalog.pg_collation co \
            ON co.oid = a.attcollation AND a.attcollation <> at.typcollation \
     LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace \
     WHERE t.typtype = 'c' AND t.oid >= 16384 AND a.attnum > 0 AND NOT a.attisdropped \
     ORDER BY t.oid, a.attnum";

/// Types this module cannot reproduce: base types and ranges with a canonical function.
const UNSUPPORTED_QUERY: &str = "SELECT t.oid, t.typnamespace, n.nspname::text, t.typname::text, \
            t.typtype::text, cn.nspname::text, cp.proname::text \
     FROM pg_catalog.pg_type t \
     JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
     LEFT JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid \
     LEFT JOIN pg_catalog.pg_proc cp ON cp.oid = r.rngcanonical \
     LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = cp.pronamespace \
     WHERE t.oid >= 16384 \
       AND ((t.typtype = 'b' \
             AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)) \
            OR (t.typtype = 'r' AND r.rngcanonical <> 0)) \
     ORDER BY t.oid";

fn pair(a: Option<String>, b: Option<String>) -> Option<(String, String)> {
    Some((a?, b?))
}

async fn load(l: &Loader<'_>) -> Result<(Vec<TypeRow>, HashMap<Oid, Vec<Attr>>)> {
    let sql = query(l.version);
    let (rows, attr_rows) = futures::try_join!(
        l.query("types", &sql, &[]),
        l.query("composite type attributes", ATTR_QUERY, &[])
    )?;
    let mut types = Vec::new();
    for r in &rows {
        let typtype: String = r.get(5);
        let def = match typtype.as_str() {
            "e" => TypeDef::Enum(super::opt_vec(r.get(9))),
            "c" => TypeDef::Composite { relid: r.get(8) },
            "r" => TypeDef::Range(Box::new(RangeDef {
                subtype: r.get::<_, Option<String>>(10).unwrap_or_default(),
                opclass: pair(r.get(11), r.get(12)),
                collation: pair(r.get(13), r.get(14)),
                canonical: pair(r.get(15), r.get(16)),
                subdiff: pair(r.get(17), r.get(18)),
                multirange: pair(r.get(19), r.get(20)),
            })),
            _ => TypeDef::Shell,
        };
        types.push(TypeRow {
            oid: r.get(0),
            nsp: r.get(1),
            schema: r.get(2),
            name: r.get(3),
            owner: r.get(4),
            acl: r.get(6),
            acl_default: super::opt_vec(r.get(7)),
            def,
        });
    }
    let mut attrs: HashMap<Oid, Vec<Attr>> = HashMap::new();
    for r in &attr_rows {
        attrs.entry(r.get(0)).or_default().push(Attr {
            attnum: r.get(1),
            name: r.get(2),
            type_sql: r.get(3),
            collation: pair(r.get(4), r.get(5)),
        });
    }
    Ok((types, attrs))
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let (types, attrs) = load(l).await?;
    let mut items = Vec::new();
    for t in &types {
        if !scope.dump_obj(t.nsp, ObjRef::new(class::PG_TYPE, t.oid)) {
            continue;
        }
        if matches!(t.def, TypeDef::Range(ref r) if r.canonical.is_some()) {
            continue; // reported by unsupported()
        }
        let no_attrs = Vec::new();
        items.extend(type_items(
            scope,
            t,
            attrs.get(&t.oid).unwrap_or(&no_attrs),
        )?);
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`).
pub(crate) async fn unsupported(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    let rows = l.query("unsupported types", UNSUPPORTED_QUERY, &[]).await?;
    let mut out = Vec::new();
    for r in &rows {
        let oid: Oid = r.get(0);
        if !scope.dump_obj(r.get(1), ObjRef::new(class::PG_TYPE, oid)) {
            continue;
        }
        let name = qualify(&r.get::<_, String>(2), &r.get::<_, String>(3));
        let typtype: String = r.get(4);
        if typtype == "b" {
            out.push(format!(
                "base type {name}: defined by C input/output functions"
            ));
        } else {
            let canon = pair(r.get(5), r.get(6))
                .map(|(s, f)| qualify(&s, &f))
                .unwrap_or_default();
            out.push(format!(
                "range type {name}: canonical function {canon} needs a shell type and a C function"
            ));
        }
    }
    Ok(out)
}

/// `CREATE TYPE t AS ENUM (...)`, labels in sort order.
fn enum_sql(qname: &str, labels: &[String]) -> String {
    let list: Vec<String> = labels
        .iter()
        .map(|l| format!("\n    {}", literal(l)))
        .collect();
    format!("CREATE TYPE {qname} AS ENUM ({}\n);\n", list.join(","))
}

/// `CREATE TYPE t AS (...)`.
fn composite_sql(qname: &str, attrs: &[Attr]) -> String {
    let list: Vec<String> = attrs
        .iter()
        .map(|a| {
            let coll = a
                .collation
                .as_ref()
                .map(|(s, c)| format!(" COLLATE {}", qualify(s, c)))
                .unwrap_or_default();
            format!("\n\t{} {}{}", ident(&a.name), a.type_sql, coll)
        })
        .collect();
    format!("CREATE TYPE {qname} AS ({}\n);\n", list.join(","))
}

/// `CREATE TYPE t AS RANGE (...)`.
fn range_sql(qname: &str, r: &RangeDef) -> String {
    let q = |p: &(String, String)| qualify(&p.0, &p.1);
    let mut opts = vec![format!("subtype = {}", r.subtype)];
    if let Some(m) = &r.multirange {
        opts.push(format!("multirange_type_name = {}", q(m)));
    }
    if let Some(o) = &r.opclass {
        opts.push(format!("subtype_opclass = {}", q(o)));
    }
    if let Some(c) = &r.collation {
        opts.push(format!("collation = {}", q(c)));
    }
    if let Some(c) = &r.canonical {
        opts.push(format!("canonical = {}", q(c)));
    }
    if let Some(d) = &r.subdiff {
        opts.push(format!("subtype_diff = {}", q(d)));
    }
    format!(
        "CREATE TYPE {qname} AS RANGE (\n    {}\n);\n",
        opts.join(",\n    ")
    )
}

/// The definition, comments (incl. composite attributes) and ACL of one type.
fn type_items(scope: &Scope, t: &TypeRow, attrs: &[Attr]) -> Result<Vec<Item>> {
    let obj = ObjRef::new(class::PG_TYPE, t.oid);
    let qname = qualify(&t.schema, &t.name);
    let create = match &t.def {
        TypeDef::Enum(labels) => enum_sql(&qname, labels),
        TypeDef::Composite { .. } => composite_sql(&qname, attrs),
        TypeDef::Range(r) => range_sql(&qname, r),
        TypeDef::Shell => format!("CREATE TYPE {qname};\n"),
    };
    let mut items = vec![Item::new(Kind::Type, obj, t.name.clone(), create)
        .primary()
        .schema(t.schema.clone())
        .owner(
            t.owner.clone(),
            format!("ALTER TYPE {qname} OWNER TO {};\n", ident(&t.owner)),
        )
        .drop(format!("DROP TYPE IF EXISTS {qname};\n"))];
    let target = CommentTarget {
        obj,
        sql_kind: "TYPE",
        sql_name: &qname,
        schema: Some(&t.schema),
        tag: &t.name,
        owner: Some(&t.owner),
    };
    items.extend(comment_item(scope, &target));
    if let TypeDef::Composite { relid } = t.def {
        // Attribute comments live on the type's pg_class row; attach them to the type.
        let rel = ObjRef::new(class::PG_CLASS, relid);
        let cols: Vec<(i32, String, String)> = attrs
            .iter()
            .map(|a| (a.attnum, ident(&a.name), a.name.clone()))
            .collect();
        for mut c in column_comment_items(scope, &CommentTarget { obj: rel, ..target }, &cols) {
            c.key.obj = obj;
            c.deps = vec![Dep::Obj(obj)];
            items.push(c);
        }
    }
    items.extend(acl_item(
        &AclTarget {
            obj,
            sql_kind: "TYPE",
            sql_name: &qname,
            schema: Some(&t.schema),
            tag: &t.name,
            owner: &t.owner,
        },
        t.acl.as_deref(),
        &t.acl_default,
    )?);
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::DumpOptions;
    use std::collections::HashSet;

    fn scope(comments: &[((ObjRef, i32), &str)]) -> Scope {
        Scope {
            version: ServerVersion(150000),
            opts: DumpOptions::default(),
            namespaces: HashMap::new(),
            relations: HashMap::new(),
            ext_members: HashSet::new(),
            comments: comments.iter().map(|(k, c)| (*k, c.to_string())).collect(),
        }
    }

    fn s(a: &str, b: &str) -> Option<(String, String)> {
        Some((a.into(), b.into()))
    }

    #[test]
    fn enum_labels_in_order() {
        let labels: Vec<String> = ["blue", "meh", "it's"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            enum_sql("cov_types.mood", &labels),
            "CREATE TYPE cov_types.mood AS ENUM (\n    'blue',\n    'meh',\n    'it''s'\n);\n"
        );
        assert_eq!(enum_sql("s.e", &[]), "CREATE TYPE s.e AS ENUM (\n);\n");
    }

    #[test]
    fn composite() {
        let attrs = vec![
            Attr {
                attnum: 1,
                name: "street".into(),
                type_sql: "text".into(),
                collation: None,
            },
            Attr {
                attnum: 3,
                name: "Zip".into(),
                type_sql: "character(5)".into(),
                collation: s("pg_catalog", "C"),
            },
        ];
        assert_eq!(
            composite_sql("s.address", &attrs),
            "CREATE TYPE s.address AS (\n\tstreet text,\n\t\"Zip\" character(5) COLLATE pg_catalog.\"C\"\n);\n"
        );
        assert_eq!(
            composite_sql("s.empty", &[]),
            "CREATE TYPE s.empty AS (\n);\n"
        );
    }

    #[test]
    fn ranges() {
        let r = RangeDef {
            subtype: "double precision".into(),
            subdiff: s("pg_catalog", "float8mi"),
            multirange: s("cov_types", "floatmultirange"),
            ..Default::default()
        };
        assert_eq!(
            range_sql("cov_types.floatrange", &r),
            "CREATE TYPE cov_types.floatrange AS RANGE (\n    subtype = double precision,\n    \
             multirange_type_name = cov_types.floatmultirange,\n    subtype_diff = pg_catalog.float8mi\n);\n"
        );
        let r = RangeDef {
            subtype: "text".into(),
            opclass: s("s", "text_rev_ops"),
            collation: s("pg_catalog", "C"),
            ..Default::default()
        };
        assert_eq!(
            range_sql("s.tr", &r),
            "CREATE TYPE s.tr AS RANGE (\n    subtype = text,\n    subtype_opclass = s.text_rev_ops,\n    \
             collation = pg_catalog.\"C\"\n);\n"
        );
    }

    #[test]
    fn composite_items_attach_attribute_comments_to_the_type() {
        let tobj = ObjRef::new(class::PG_TYPE, 17832);
        let rel = ObjRef::new(class::PG_CLASS, 17830);
        let sc = scope(&[((tobj, 0), "composite type"), ((rel, 2), "five characters")]);
        let t = TypeRow {
            oid: 17832,
            nsp: 16500,
            schema: "cov_types".into(),
            name: "address".into(),
            owner: "cov_owner".into(),
            acl: Some(vec!["cov_owner=U/cov_owner".into(), "r=U/cov_owner".into()]),
            acl_default: vec!["=U/cov_owner".into(), "cov_owner=U/cov_owner".into()],
            def: TypeDef::Composite { relid: 17830 },
        };
        let attrs = vec![
            Attr {
                attnum: 1,
                name: "street".into(),
                type_sql: "text".into(),
                collation: None,
            },
            Attr {
                attnum: 2,
                name: "zip".into(),
                type_sql: "character(5)".into(),
                collation: None,
            },
        ];
        let items = type_items(&sc, &t, &attrs).unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(
            items[0].alter_owner.as_deref(),
            Some("ALTER TYPE cov_types.address OWNER TO cov_owner;\n")
        );
        assert_eq!(
            items[0].drop.as_deref(),
            Some("DROP TYPE IF EXISTS cov_types.address;\n")
        );
        assert_eq!(
            items[1].create.trim_end(),
            "COMMENT ON TYPE cov_types.address IS 'composite type';"
        );
        assert_eq!(
            items[2].create.trim_end(),
            "COMMENT ON COLUMN cov_types.address.zip IS 'five characters';"
        );
        assert_eq!(items[2].key.obj, tobj);
        assert_eq!(items[2].key.sub, 2);
        assert_eq!(items[2].deps, vec![Dep::Obj(tobj)]);
        assert_eq!(items[2].name, "COLUMN address.zip");
        assert_eq!(
            items[3].create,
            "REVOKE ALL ON TYPE cov_types.address FROM PUBLIC;\nGRANT USAGE ON TYPE cov_types.address TO r;\n"
        );
    }

    #[test]
    fn shell_type() {
        let t = TypeRow {
            oid: 17000,
            nsp: 2200,
            schema: "public".into(),
            name: "later".into(),
            owner: "o".into(),
            acl: None,
            acl_default: vec![],
            def: TypeDef::Shell,
        };
        let items = type_items(&scope(&[]), &t, &[]).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].create, "CREATE TYPE public.later;\n");
    }

    #[test]
    fn query_versions() {
        assert!(query(ServerVersion(140000)).contains("rngmultitypid"));
        assert!(!query(ServerVersion(130000)).contains("rngmultitypid"));
    }
}
