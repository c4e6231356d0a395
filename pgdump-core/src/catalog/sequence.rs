//! Sequences: `CREATE SEQUENCE` from `pg_sequence`, `OWNED BY`, identity
//! sequences, and their values.
//!
//! * Plain sequences: `CREATE [UNLOGGED] SEQUENCE s AS type START WITH ...
//!   INCREMENT BY ... MINVALUE|NO MINVALUE ... CACHE n [CYCLE]` (pg_dump's form:
//!   `AS` only when not bigint, `NO MINVALUE`/`NO MAXVALUE` for the type's
//!   defaults), the owner, and a `SEQUENCE OWNED BY` item when a dumped table's
//!   column owns it (`pg_depend` deptype `a`).
//! * Identity sequences (`pg_depend` deptype `i`): their item is
//!   `ALTER TABLE t ALTER COLUMN c ADD GENERATED ALWAYS|BY DEFAULT AS IDENTITY
//!   (SEQUENCE NAME s START WITH ...)`, after the table (which creates the
//!   column plain); they have no owner of their own and are dumped with their
//!   table.
//! * Values: a `SEQUENCE SET` data item per sequence whose data is dumped
//!   (also extension configuration sequences), `SELECT pg_catalog.setval('s',
//!   last_value, is_called);`. Values are read in batches: one
//!   `pg_get_sequence_data()` query on 18+; before, one
//!   `pg_sequence_last_value()` query (the value of every sequence that has been
//!   called; NULL otherwise), then `UNION ALL`s of `SELECT ... FROM seq` for the
//!   others only (a query naming 200 sequences costs ~100 µs of planning each, a
//!   function call ~5 µs).

use std::collections::HashMap;

use super::acl::{acl_item, AclTarget};
use super::comment::{comment_item, CommentTarget};
use super::{class, opt_vec, Dep, Item, Kind, Loader, ObjRef, Oid, Relation, Scope, ServerVersion};
use crate::error::{CoreError, Result};
use crate::quote::{dollar_quote, ident, literal, qualify};

/// Sequences whose values one query reads (servers before 18).
const VALUES_BATCH: usize = 200;

/// One sequence.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Sequence {
    oid: Oid,
    schema: String,
    name: String,
    owner: String,
    /// `relpersistence`: p or u.
    persistence: char,
    /// `format_type(seqtypid)`: smallint, integer, bigint.
    type_name: String,
    start: i64,
    increment: i64,
    max: i64,
    min: i64,
    cache: i64,
    cycle: bool,
    /// The column owning the sequence: table OID, column name, `a` (OWNED BY) or `i` (identity).
    owned_by: Option<(Oid, String, char)>,
    /// `attidentity` of an identity column: 'a' ALWAYS, 'd' BY DEFAULT.
    identity: Option<char>,
    acl: Option<Vec<String>>,
    acl_default: Vec<String>,
}

/// The definitions of `$1`.
fn sequences_sql() -> &'static str {
    "SELECT c.oid, c.relpersistence::pg_catalog.text, pg_catalog.format_type(s.seqtypid, NULL), \
            s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle, \
            d.refobjid, a.attname::pg_catalog.text, d.deptype::pg_catalog.text, \
            a.attidentity::pg_catalog.text, \
            c.relacl::pg_catalog.text[], pg_catalog.acldefault('s', c.relowner)::pg_catalog.text[] \
     FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid \
     LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
          AND d.objid = c.oid AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass \
          AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i') \
     LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
     WHERE c.oid = ANY($1::pg_catalog.oid[]) \
     ORDER BY c.oid"
}

/// The values of the sequences `$1` that have been called (`is_called`), NULL for
/// the others (servers 10 to 17).
const LAST_VALUE_SQL: &str =
    "SELECT s.oid, pg_catalog.pg_sequence_last_value(s.oid::pg_catalog.regclass) \
     FROM pg_catalog.unnest($1::pg_catalog.oid[]) AS s(oid)";

/// Queries reading `(oid, last_value, is_called)` of the sequences `seqs`.
/// On 18+ one query with `$1` bound to the OIDs; before, `UNION ALL`s in batches.
fn values_sql(v: ServerVersion, seqs: &[(Oid, String)]) -> Vec<String> {
    if v.at_least(18) {
        return vec!["SELECT s.oid, d.last_value, d.is_called \
                     FROM pg_catalog.unnest($1::pg_catalog.oid[]) AS s(oid), \
                     LATERAL pg_catalog.pg_get_sequence_data(s.oid::pg_catalog.regclass) d"
            .to_string()];
    }
    seqs.chunks(VALUES_BATCH)
        .map(|chunk| {
            chunk
                .iter()
                .map(|(oid, q)| {
                    format!("SELECT {oid}::pg_catalog.oid, last_value, is_called FROM {q}")
                })
                .collect::<Vec<_>>()
                .join("\nUNION ALL ")
        })
        .collect()
}

/// The type's range and the defaults `CREATE SEQUENCE` would pick for it.
fn default_bounds(type_name: &str, increment: i64) -> (i64, i64) {
    let (lo, hi) = match type_name {
        "smallint" => (i64::from(i16::MIN), i64::from(i16::MAX)),
        "integer" => (i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => (i64::MIN, i64::MAX),
    };
    if increment >= 0 {
        (1, hi)
    } else {
        (lo, -1)
    }
}

/// The option lines shared by `CREATE SEQUENCE` and `ADD GENERATED ... AS IDENTITY (...)`.
fn options_sql(s: &Sequence) -> String {
    let (dmin, dmax) = default_bounds(&s.type_name, s.increment);
    let mut o = format!(
        "    START WITH {}\n    INCREMENT BY {}\n",
        s.start, s.increment
    );
    if s.min == dmin {
        o.push_str("    NO MINVALUE\n");
    } else {
        o.push_str(&format!("    MINVALUE {}\n", s.min));
    }
    if s.max == dmax {
        o.push_str("    NO MAXVALUE\n");
    } else {
        o.push_str(&format!("    MAXVALUE {}\n", s.max));
    }
    o.push_str(&format!("    CACHE {}", s.cache));
    if s.cycle {
        o.push_str("\n    CYCLE");
    }
    o
}

/// `CREATE [UNLOGGED] SEQUENCE ...;`
fn create_sql(s: &Sequence) -> String {
    let unlogged = if s.persistence == 'u' {
        "UNLOGGED "
    } else {
        ""
    };
    let mut sql = format!(
        "CREATE {unlogged}SEQUENCE {}\n",
        qualify(&s.schema, &s.name)
    );
    if s.type_name != "bigint" {
        sql.push_str(&format!("    AS {}\n", s.type_name));
    }
    sql.push_str(&options_sql(s));
    sql.push_str(";\n");
    sql
}

/// `ALTER TABLE t ALTER COLUMN c ADD GENERATED ... AS IDENTITY (...);` for an
/// identity sequence, plus its persistence when it differs from the table's (the
/// sequence gets the table's on 15+). `modern` says the source is 15+, where
/// sequences have a persistence: before, every sequence is logged, also those of
/// unlogged tables, which a 15+ target would make unlogged; a block that only
/// acts on 15+ keeps them logged and still restores into the source's major.
fn identity_sql(
    s: &Sequence,
    table: &str,
    table_persistence: char,
    column: &str,
    modern: bool,
) -> String {
    let kind = if s.identity == Some('a') {
        "ALWAYS"
    } else {
        "BY DEFAULT"
    };
    let seq = qualify(&s.schema, &s.name);
    let mut sql = format!(
        "ALTER TABLE {table} ALTER COLUMN {} ADD GENERATED {kind} AS IDENTITY (\n    SEQUENCE NAME {seq}\n{}\n);\n",
        ident(column),
        options_sql(s)
    );
    let seq_unlogged = s.persistence == 'u';
    if seq_unlogged == (table_persistence == 'u') {
        return sql;
    }
    let set = if seq_unlogged { "UNLOGGED" } else { "LOGGED" };
    if modern {
        sql.push_str(&format!("ALTER SEQUENCE {seq} SET {set};\n"));
    } else {
        let stmt = format!("ALTER SEQUENCE {seq} SET {set}");
        let body = format!(
            "BEGIN IF pg_catalog.current_setting('server_version_num')::pg_catalog.int4 >= 150000 \
             THEN EXECUTE {}; END IF; END",
            literal(&stmt)
        );
        sql.push_str(&format!("DO {};\n", dollar_quote(&body)));
    }
    sql
}

/// `ALTER SEQUENCE s OWNED BY t.c;`
fn owned_by_sql(seq: &str, table: &str, column: &str) -> String {
    format!("ALTER SEQUENCE {seq} OWNED BY {table}.{};\n", ident(column))
}

/// `SELECT pg_catalog.setval('s', v, called);`
fn setval_sql(seq: &str, last: i64, called: bool) -> String {
    format!(
        "SELECT pg_catalog.setval({}, {last}, {called});\n",
        literal(seq)
    )
}

/// Does the dump carry this sequence's value?
fn dumps_value(scope: &Scope, r: &Relation) -> bool {
    if scope.opts.schema_only
        || (r.persistence == 'u' && !scope.opts.unlogged_data)
        || scope
            .opts
            .exclude_table_data
            .iter()
            .any(|p| p.matches(&r.schema, &r.name))
    {
        return false;
    }
    r.dump || (r.ext_member && r.ext_config_filter.is_some() && scope.dump_ns(r.nsp))
}

/// Items of one sequence (without its value).
fn sequence_items(s: &Sequence, scope: &Scope) -> Result<Vec<Item>> {
    let obj = ObjRef::new(class::PG_CLASS, s.oid);
    let q = qualify(&s.schema, &s.name);
    let mut items = Vec::new();
    let owner_table = s
        .owned_by
        .as_ref()
        .and_then(|(t, c, d)| scope.relation(*t).map(|r| (r, c.as_str(), *d)));
    match owner_table {
        Some((table, column, 'i')) => {
            let tq = qualify(&table.schema, &table.name);
            let mut it = Item::new(
                Kind::Sequence,
                obj,
                s.name.clone(),
                identity_sql(
                    s,
                    &tq,
                    table.persistence,
                    column,
                    scope.version.at_least(15),
                ),
            )
            .primary()
            .schema(s.schema.clone())
            .drop(format!(
                "ALTER TABLE IF EXISTS {tq} ALTER COLUMN {} DROP IDENTITY IF EXISTS;\n",
                ident(column)
            ))
            .dep(Dep::Obj(ObjRef::new(class::PG_CLASS, table.oid)))
            .meta("relkind", "S")
            .meta("table", tq);
            it.owner = Some(s.owner.clone());
            items.push(it);
        }
        other => {
            items.push(
                Item::new(Kind::Sequence, obj, s.name.clone(), create_sql(s))
                    .primary()
                    .schema(s.schema.clone())
                    .owner(
                        s.owner.clone(),
                        format!("ALTER SEQUENCE {q} OWNER TO {};\n", ident(&s.owner)),
                    )
                    .drop(format!("DROP SEQUENCE IF EXISTS {q};\n"))
                    .meta("relkind", "S"),
            );
            if let Some((table, column, _)) = other.filter(|(t, _, _)| t.dump) {
                let tobj = ObjRef::new(class::PG_CLASS, table.oid);
                let tq = qualify(&table.schema, &table.name);
                let mut it = Item::new(
                    Kind::SequenceOwnedBy,
                    obj,
                    s.name.clone(),
                    owned_by_sql(&q, &tq, column),
                )
                .schema(s.schema.clone())
                .dep(Dep::Obj(obj))
                .dep(Dep::Obj(tobj));
                it.owner = Some(s.owner.clone());
                items.push(it);
            }
        }
    }
    let ct = CommentTarget {
        obj,
        sql_kind: "SEQUENCE",
        sql_name: &q,
        schema: Some(&s.schema),
        tag: &s.name,
        owner: Some(&s.owner),
    };
    items.extend(comment_item(scope, &ct));
    let at = AclTarget {
        obj,
        sql_kind: "SEQUENCE",
        sql_name: &q,
        schema: Some(&s.schema),
        tag: &s.name,
        owner: &s.owner,
    };
    items.extend(acl_item(&at, s.acl.as_deref(), &s.acl_default)?);
    Ok(items)
}

/// The `SEQUENCE SET` item of a sequence.
fn value_item(r: &Relation, last: i64, called: bool) -> Item {
    let obj = ObjRef::new(class::PG_CLASS, r.oid);
    let mut it = Item::new(
        Kind::SequenceSet,
        obj,
        r.name.clone(),
        setval_sql(&qualify(&r.schema, &r.name), last, called),
    )
    .schema(r.schema.clone())
    .dep(Dep::Obj(obj));
    it.owner = Some(r.owner.clone());
    it
}

fn char_of(s: Option<String>) -> Option<char> {
    s.and_then(|s| s.chars().next()).filter(|c| *c != '\0')
}

/// Read the values of the sequences `rels`.
async fn read_values(
    l: &Loader<'_>,
    rels: &[&Relation],
) -> Result<HashMap<Oid, (Option<i64>, Option<bool>)>> {
    let mut out = HashMap::new();
    if rels.is_empty() {
        return Ok(out);
    }
    let named: Vec<(Oid, String)> = rels
        .iter()
        .map(|r| (r.oid, qualify(&r.schema, &r.name)))
        .collect();
    let oids: Vec<Oid> = rels.iter().map(|r| r.oid).collect();
    let mut named = named;
    if !l.version.at_least(18) {
        let rows = l.query("sequence values", LAST_VALUE_SQL, &[&oids]).await?;
        for row in &rows {
            if let Some(v) = row.get::<_, Option<i64>>(1) {
                out.insert(row.get::<_, Oid>(0), (Some(v), Some(true)));
            }
        }
        named.retain(|(oid, _)| !out.contains_key(oid));
        if named.is_empty() {
            return Ok(out);
        }
    }
    for sql in values_sql(l.version, &named) {
        let rows = if l.version.at_least(18) {
            l.query("sequence values", &sql, &[&oids]).await?
        } else {
            l.query("sequence values", &sql, &[]).await?
        };
        for row in &rows {
            out.insert(row.get::<_, Oid>(0), (row.get(1), row.get(2)));
        }
    }
    Ok(out)
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let mut rels: Vec<&Relation> = scope
        .relations
        .values()
        .filter(|r| {
            r.relkind == 'S'
                && (r.dump
                    || (r.ext_member && r.ext_config_filter.is_some() && scope.dump_ns(r.nsp)))
        })
        .collect();
    rels.sort_by_key(|r| r.oid);
    if rels.is_empty() {
        return Ok(Vec::new());
    }
    let defined: Vec<Oid> = rels.iter().filter(|r| r.dump).map(|r| r.oid).collect();
    let rows = if defined.is_empty() {
        Vec::new()
    } else {
        l.query("sequences", sequences_sql(), &[&defined]).await?
    };
    let mut items = Vec::new();
    // Identity sequences go with their table: not dumped when it is not.
    let mut skipped: Vec<Oid> = Vec::new();
    for r in &rows {
        let oid: Oid = r.get(0);
        let Some(rel) = scope.relation(oid) else {
            continue;
        };
        let owned_by = match (
            r.get::<_, Option<Oid>>(9),
            r.get::<_, Option<String>>(10),
            char_of(r.get(11)),
        ) {
            (Some(t), Some(c), Some(d)) => Some((t, c, d)),
            _ => None,
        };
        let s = Sequence {
            oid,
            schema: rel.schema.clone(),
            name: rel.name.clone(),
            owner: rel.owner.clone(),
            persistence: char_of(r.get(1)).unwrap_or('p'),
            type_name: r
                .get::<_, Option<String>>(2)
                .unwrap_or_else(|| "bigint".into()),
            start: r.get(3),
            increment: r.get(4),
            max: r.get(5),
            min: r.get(6),
            cache: r.get(7),
            cycle: r.get(8),
            owned_by,
            identity: char_of(r.get(12)),
            acl: r.get(13),
            acl_default: opt_vec(r.get(14)),
        };
        if let Some((t, _, 'i')) = &s.owned_by {
            if !scope.dump_rel(*t) {
                skipped.push(oid);
                continue;
            }
        }
        items.extend(sequence_items(&s, scope)?);
    }

    let with_values: Vec<&Relation> = rels
        .iter()
        .copied()
        .filter(|r| !skipped.contains(&r.oid) && dumps_value(scope, r))
        .collect();
    let values = read_values(l, &with_values).await?;
    for r in with_values {
        match values.get(&r.oid) {
            Some((Some(last), Some(called))) => items.push(value_item(r, *last, *called)),
            // pg_get_sequence_data() has no value for unlogged sequences on a standby.
            _ if r.persistence == 'u' => {}
            _ => {
                return Err(CoreError::Catalog(format!(
                    "cannot read the value of sequence {}",
                    qualify(&r.schema, &r.name)
                )))
            }
        }
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce: none.
pub(crate) async fn unsupported(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}

/// The serial sequence of synthetic table `i` with its OWNED BY and value: the DDL
/// benchmark's sequence.
#[cfg(feature = "bench-internals")]
pub(crate) fn bench_ddl(i: usize) -> String {
    let s = Sequence {
        schema: "app".into(),
        name: format!("t{i}_col_0_seq"),
        persistence: 'p',
        type_name: "integer".into(),
        start: 1,
        increment: 1,
        max: i64::from(i32::MAX),
        min: 1,
        cache: 1,
        ..Sequence::default()
    };
    let seq = qualify(&s.schema, &s.name);
    let mut sql = create_sql(&s);
    sql.push_str(&owned_by_sql(&seq, &format!("app.t{i}"), "col_0"));
    sql.push_str(&setval_sql(&seq, 1000, true));
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq() -> Sequence {
        Sequence {
            oid: 1,
            schema: "cov_core".into(),
            name: "invoice_no_seq".into(),
            owner: "o".into(),
            persistence: 'p',
            type_name: "bigint".into(),
            start: 1000,
            increment: 10,
            max: 99_999_999,
            min: 1000,
            cache: 5,
            ..Sequence::default()
        }
    }

    #[test]
    fn create_sequence() {
        assert_eq!(
            create_sql(&seq()),
            "CREATE SEQUENCE cov_core.invoice_no_seq\n    START WITH 1000\n    INCREMENT BY 10\n    \
             MINVALUE 1000\n    MAXVALUE 99999999\n    CACHE 5;\n"
        );
        let down = Sequence {
            name: "countdown_seq".into(),
            type_name: "integer".into(),
            start: 10,
            increment: -1,
            min: -100,
            max: 10,
            cache: 1,
            cycle: true,
            ..seq()
        };
        assert_eq!(
            create_sql(&down),
            "CREATE SEQUENCE cov_core.countdown_seq\n    AS integer\n    START WITH 10\n    INCREMENT BY -1\n    \
             MINVALUE -100\n    MAXVALUE 10\n    CACHE 1\n    CYCLE;\n"
        );
        let small = Sequence {
            name: "Small".into(),
            type_name: "smallint".into(),
            persistence: 'u',
            start: 1,
            increment: 1,
            min: 1,
            max: 32767,
            cache: 1,
            ..seq()
        };
        assert_eq!(
            create_sql(&small),
            "CREATE UNLOGGED SEQUENCE cov_core.\"Small\"\n    AS smallint\n    START WITH 1\n    INCREMENT BY 1\n    \
             NO MINVALUE\n    NO MAXVALUE\n    CACHE 1;\n"
        );
        let desc_default = Sequence {
            type_name: "bigint".into(),
            increment: -1,
            min: i64::MIN,
            max: -1,
            start: -1,
            cache: 1,
            ..seq()
        };
        assert!(create_sql(&desc_default).contains("NO MINVALUE\n    NO MAXVALUE\n"));
    }

    #[test]
    fn identity_sequence() {
        let s = Sequence {
            name: "customers_customer_id_seq".into(),
            start: 100,
            increment: 7,
            min: 1,
            max: i64::MAX,
            cache: 1,
            identity: Some('a'),
            ..seq()
        };
        assert_eq!(
            identity_sql(&s, "cov_core.customers", 'p', "customer_id", true),
            "ALTER TABLE cov_core.customers ALTER COLUMN customer_id ADD GENERATED ALWAYS AS IDENTITY (\n    \
             SEQUENCE NAME cov_core.customers_customer_id_seq\n    START WITH 100\n    INCREMENT BY 7\n    \
             NO MINVALUE\n    NO MAXVALUE\n    CACHE 1\n);\n"
        );
        let by_default = Sequence {
            identity: Some('d'),
            persistence: 'u',
            ..s
        };
        let sql = identity_sql(&by_default, "t", 'p', "Id", true);
        assert!(sql.starts_with(
            "ALTER TABLE t ALTER COLUMN \"Id\" ADD GENERATED BY DEFAULT AS IDENTITY (\n"
        ));
        assert!(
            sql.ends_with(");\nALTER SEQUENCE cov_core.customers_customer_id_seq SET UNLOGGED;\n")
        );
        assert!(!identity_sql(&by_default, "t", 'u', "Id", true).contains("SET UNLOGGED"));
        // before 15 every sequence is logged, whatever its table
        let old = Sequence {
            persistence: 'p',
            ..by_default
        };
        assert!(!identity_sql(&old, "t", 'p', "Id", false).contains("ALTER SEQUENCE"));
        assert!(identity_sql(&old, "t", 'u', "Id", true).ends_with("SET LOGGED;\n"));
        assert!(identity_sql(&old, "t", 'u', "Id", false).ends_with(
            ");\nDO $$BEGIN IF pg_catalog.current_setting('server_version_num')::pg_catalog.int4 >= 150000 \
             THEN EXECUTE 'ALTER SEQUENCE cov_core.customers_customer_id_seq SET LOGGED'; END IF; END$$;\n"
        ));
    }

    #[test]
    fn owned_by_and_setval() {
        assert_eq!(
            owned_by_sql("cov_core.invoice_no_seq", "cov_core.orders", "invoice_no"),
            "ALTER SEQUENCE cov_core.invoice_no_seq OWNED BY cov_core.orders.invoice_no;\n"
        );
        assert_eq!(
            setval_sql("cov_core.\"Odd's\"", 32100, false),
            "SELECT pg_catalog.setval('cov_core.\"Odd''s\"', 32100, false);\n"
        );
    }

    #[test]
    fn value_queries_are_batched() {
        let seqs: Vec<(Oid, String)> = (0..450).map(|i| (16384 + i, format!("s.q{i}"))).collect();
        let old = values_sql(ServerVersion(170000), &seqs);
        assert_eq!(old.len(), 3);
        assert!(old[0].starts_with(
            "SELECT 16384::pg_catalog.oid, last_value, is_called FROM s.q0\nUNION ALL "
        ));
        assert_eq!(old[0].matches("UNION ALL").count(), VALUES_BATCH - 1);
        let new = values_sql(ServerVersion(180000), &seqs);
        assert_eq!(new.len(), 1);
        assert!(new[0].contains("pg_get_sequence_data"));
    }
}
