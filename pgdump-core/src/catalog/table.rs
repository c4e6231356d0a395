//! Tables: plain (`r`), partitioned (`p`) and foreign (`f`) relations, their
//! columns, inline CHECK / NOT NULL constraints, defaults, partition attachment
//! and their rows.
//!
//! The `CREATE TABLE` is built by hand, as pg_dump's `dumpTableSchema` does:
//! column types from `format_type`, `COLLATE` when the column's collation is not
//! its type's, defaults and generation expressions from `pg_get_expr`, CHECKs
//! from `pg_get_constraintdef`, the partition key from `pg_get_partkeydef`.
//!
//! * Partitions are created as standalone tables (their own column order, no
//!   dropped columns) and attached by a separate `TABLE ATTACH` item
//!   (`ALTER TABLE ONLY parent ATTACH PARTITION child FOR VALUES ...`). All their
//!   columns and all their valid CHECK constraints are printed, inherited or not,
//!   because `ATTACH PARTITION` requires the partition to carry the parent's.
//! * Inheritance children name their parents in `INHERITS (...)` and print only
//!   the columns and CHECKs defined locally; an inherited column's own default,
//!   `NOT NULL` (before 18), storage, statistics ... follow as `ALTER TABLE ONLY`.
//! * NOT NULL: before 18 `attnotnull`; from 18 the named `pg_constraint` rows
//!   (contype `n`): `CONSTRAINT name NOT NULL` unless the name is the default
//!   `<table>_<column>_not_null`, `NO INHERIT`; NOT VALID ones become separate
//!   post-data items, as NOT VALID CHECKs do.
//! * Defaults and CHECKs that call a user function (not in an extension) are
//!   split off (`DEFAULT` / `CHECK CONSTRAINT` items) so that a function with a
//!   SQL-standard body that reads the table cannot make a dependency loop.
//! * Identity columns are created plain: the identity sequence's item (see
//!   `sequence.rs`) adds `GENERATED ... AS IDENTITY` with its options.
//! * Access method: a `access_method` meta property (never in the DDL; nothing
//!   for `heap`). Tablespaces, typed tables (`OF type`) and `WITH OIDS` are
//!   reported by [`unsupported`].
//!
//! Rows: one `TABLE DATA` item per table whose `dump_data` is set (leaf tables,
//! extension configuration tables with their `extcondition`).

use std::collections::HashMap;

use super::acl::{acl_item, column_acl_items, AclTarget};
use super::comment::{column_comment_items, comment_item, CommentTarget};
use super::{
    binary_type, class, opt_vec, CopySource, DataSource, Dep, Item, Kind, Loader, ObjRef, Oid,
    Scope, ServerVersion,
};
use crate::error::{CoreError, Result};
use crate::quote::{ident, literal, qualify};

/// Relation kinds this module defines.
const TABLE_RELKINDS: &[char] = &['r', 'p', 'f'];

/// One `pg_class` row of a table.
#[derive(Debug, Clone, PartialEq, Default)]
struct Table {
    oid: Oid,
    nsp: Oid,
    schema: String,
    name: String,
    owner: String,
    /// `r`, `p` or `f`.
    relkind: char,
    /// `p`, `u` or `t`.
    persistence: char,
    /// `reloptions` (`name=value`).
    options: Vec<String>,
    /// `reloptions` of the TOAST table.
    toast_options: Vec<String>,
    /// `relreplident`: d, n, f, i.
    replident: char,
    force_rls: bool,
    /// `reltablespace` (0 = the database's default).
    tablespace: Oid,
    /// `reloftype` (typed table) or 0.
    of_type: Oid,
    /// `relhasoids` (before 12).
    has_oids: bool,
    /// Table access method, when the relation has one.
    access_method: Option<String>,
    is_partition: bool,
    /// `pg_get_partkeydef` for partitioned tables.
    partkey: Option<String>,
    /// `pg_get_expr(relpartbound)` for partitions.
    partbound: Option<String>,
    /// Direct parents (`pg_inherits`, by `inhseqno`).
    parents: Vec<Oid>,
    acl: Option<Vec<String>>,
    acl_default: Vec<String>,
    /// Foreign server of a foreign table.
    server: Option<String>,
    /// `ftoptions` of a foreign table.
    ft_options: Vec<String>,
    /// Pages of a plain table.
    pages: i64,
    /// Size of a plain table with its TOAST data.
    bytes: i64,
    /// Single integer primary-key column (read before 14 only, where it splits big tables).
    int_key: Option<String>,
    /// Root partitioned table rows must be loaded through (enum hash partitioning).
    load_root: Option<Oid>,
}

/// A NOT NULL constraint of a column (servers 18+).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct NotNull {
    oid: Oid,
    name: String,
    valid: bool,
    no_inherit: bool,
    local: bool,
}

/// One `pg_attribute` row (attnum > 0).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Column {
    relid: Oid,
    attnum: i16,
    name: String,
    dropped: bool,
    /// `format_type(atttypid, atttypmod)`.
    type_name: String,
    /// `attnotnull`.
    notnull: bool,
    islocal: bool,
    /// `pg_attrdef` OID and expression, when the column has a default or generation expression.
    default: Option<(Oid, String)>,
    /// The default calls a user function that is not an extension member.
    default_user_fn: bool,
    /// `attgenerated`: 's' stored, 'v' virtual, or none.
    generated: Option<char>,
    /// `attidentity`: 'a' always, 'd' by default, or none.
    identity: Option<char>,
    /// Quoted qualified collation, when not the type's.
    collation: Option<String>,
    /// `attstorage` when not the type's.
    storage: Option<char>,
    /// `attcompression` (14+): 'p' pglz, 'l' lz4.
    compression: Option<char>,
    /// `attstattarget` when set.
    stattarget: Option<i32>,
    /// `attoptions`.
    options: Vec<String>,
    /// `attfdwoptions`.
    fdw_options: Vec<String>,
    acl: Option<Vec<String>>,
    /// A direct parent has a default (kept inline) on the column of this name.
    parent_default: bool,
    /// A direct parent's column of this name is NOT NULL (before 18: `attnotnull`;
    /// 18+: a valid NOT NULL constraint).
    parent_notnull: bool,
    /// NOT NULL constraint (18+).
    nn: Option<NotNull>,
    /// The column's type can be copied in binary format into another database.
    binary_safe: bool,
    /// How a binary-safe column is read in binary (see [`binary_type::binary_type`]).
    binary_type: Option<String>,
}

/// A CHECK constraint of a table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Check {
    oid: Oid,
    relid: Oid,
    name: String,
    /// `pg_get_constraintdef` (`CHECK (...)`, with `NO INHERIT`, `NOT VALID` ...).
    def: String,
    valid: bool,
    local: bool,
    /// Calls a user function that is not an extension member.
    user_fn: bool,
}

/// The per-table facts the DDL needs beyond the rows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Names {
    /// Quoted qualified table name.
    qualified: String,
    /// Quoted qualified parents (inheritance only).
    inherits: Vec<String>,
    /// 18+: NOT NULL constraints are catalogued (`pg_constraint` contype `n`).
    nn_constraints: bool,
}

// ---------------------------------------------------------------- queries

/// Tables of `$1`, with what their DDL and their data need. Deparse functions
/// run only for these (locked, or foreign tables).
fn tables_sql(v: ServerVersion) -> String {
    let has_oids = if v.at_least(12) {
        "false"
    } else {
        "c.relhasoids"
    };
    // Sizes: the planner's statistics (relpages) for tables they say are small
    // (under 1 MiB, and known: analyzed, vacuumed or indexed), or, for tables never
    // analyzed, that the activity statistics count fewer than 50 rows (autovacuum
    // never analyzes those); the files' real size otherwise, which splitting and
    // scheduling need exact. pg_relation_size opens the relation, ~50 µs each on a
    // fresh backend: 100 ms of a dump of 2,000 small tables.
    let few_rows = "pg_catalog.pg_stat_get_live_tuples(c.oid) \
                    + pg_catalog.pg_stat_get_dead_tuples(c.oid) < 50";
    let small = if v.at_least(14) {
        format!("c.relpages < 128 AND (c.reltuples >= 0 OR {few_rows})")
    } else {
        format!("c.relpages < 128 AND (c.relpages > 0 OR {few_rows})")
    };
    let am = if v.at_least(12) {
        "(SELECT am.amname::pg_catalog.text FROM pg_catalog.pg_am am \
          WHERE am.oid = c.relam AND c.relkind IN ('r', 'p'))"
    } else {
        "NULL::pg_catalog.text"
    };
    // The single integer primary-key column splits big tables before 14 (TID
    // range scans do from 14): a subplan per table (~25 ms of 2,000 tables) only
    // where it is used.
    let int_key = if v.at_least(14) {
        "NULL::pg_catalog.text"
    } else {
        "(SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_index x \
          JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] \
          WHERE x.indrelid = c.oid AND x.indisprimary AND x.indnatts = 1 \
            AND a.atttypid IN (20, 21, 23))"
    };
    format!(
        "WITH RECURSIVE anc(leaf, rel, lvl) AS ( \
            SELECT c.oid, c.oid, 0 FROM pg_catalog.pg_class c \
            WHERE c.oid = ANY($1::pg_catalog.oid[]) AND c.relispartition \
          UNION ALL \
            SELECT a.leaf, i.inhparent, a.lvl + 1 FROM anc a \
            JOIN pg_catalog.pg_class r ON r.oid = a.rel AND r.relispartition \
            JOIN pg_catalog.pg_inherits i ON i.inhrelid = a.rel \
         ), enum_hash AS ( \
            SELECT pt.partrelid FROM pg_catalog.pg_partitioned_table pt \
            WHERE pt.partstrat = 'h' AND EXISTS ( \
              SELECT 1 FROM pg_catalog.unnest(pt.partclass::pg_catalog.oid[]) AS k(opc) \
              JOIN pg_catalog.pg_opclass o ON o.oid = k.opc \
              JOIN pg_catalog.pg_am m ON m.oid = o.opcmethod \
              WHERE o.opcname = 'enum_ops' AND m.amname = 'hash' \
                AND o.opcnamespace = 'pg_catalog'::pg_catalog.regnamespace) \
         ) \
         SELECT c.oid, c.relkind::pg_catalog.text, c.relpersistence::pg_catalog.text, \
                c.reloptions::pg_catalog.text[], tc.reloptions::pg_catalog.text[], \
                c.relreplident::pg_catalog.text, c.relforcerowsecurity, c.reltablespace, \
                c.reloftype, {has_oids}, {am}, c.relispartition, \
                CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END, \
                CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END, \
                ARRAY(SELECT i.inhparent FROM pg_catalog.pg_inherits i \
                      WHERE i.inhrelid = c.oid ORDER BY i.inhseqno), \
                c.relacl::pg_catalog.text[], \
                pg_catalog.acldefault('r', c.relowner)::pg_catalog.text[], \
                fs.srvname::pg_catalog.text, ft.ftoptions::pg_catalog.text[], \
                CASE WHEN c.relkind <> 'r' THEN 0 \
                     WHEN {small} THEN c.relpages::pg_catalog.int8 \
                     ELSE pg_catalog.pg_relation_size(c.oid) \
                          / pg_catalog.current_setting('block_size')::pg_catalog.int8 END, \
                CASE WHEN c.relkind <> 'r' THEN 0 \
                     WHEN {small} THEN (c.relpages::pg_catalog.int8 \
                          + coalesce(tc.relpages, 0)::pg_catalog.int8) \
                          * pg_catalog.current_setting('block_size')::pg_catalog.int8 \
                     ELSE pg_catalog.pg_relation_size(c.oid) \
                          + CASE WHEN c.reltoastrelid <> 0 \
                                 THEN pg_catalog.pg_relation_size(c.reltoastrelid) ELSE 0 END \
                     END, \
                {int_key}, \
                CASE WHEN EXISTS (SELECT 1 FROM anc a JOIN enum_hash e ON e.partrelid = a.rel \
                                  WHERE a.leaf = c.oid) \
                     THEN (SELECT a.rel FROM anc a WHERE a.leaf = c.oid ORDER BY a.lvl DESC LIMIT 1) END \
         FROM pg_catalog.pg_class c \
         LEFT JOIN pg_catalog.pg_class tc ON tc.oid = c.reltoastrelid \
         LEFT JOIN pg_catalog.pg_foreign_table ft ON ft.ftrelid = c.oid \
         LEFT JOIN pg_catalog.pg_foreign_server fs ON fs.oid = ft.ftserver \
         WHERE c.oid = ANY($1::pg_catalog.oid[]) \
         ORDER BY c.oid"
    )
}

/// A user function that is not an extension member, referenced by the object
/// `objid` of catalog `cat` (an SQL condition; the set is read once, hashed).
fn user_fn_dep(cat: &str, objid: &str) -> String {
    format!("{objid} IN ({})", user_fn_deps(cat))
}

/// The objects of catalog `cat` that reference a user function that is not an
/// extension member (a query of one column, `objid`).
fn user_fn_deps(cat: &str) -> String {
    format!(
        "SELECT DISTINCT d.objid FROM pg_catalog.pg_depend d \
         WHERE d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.refobjid >= 16384 \
           AND d.classid = 'pg_catalog.{cat}'::pg_catalog.regclass \
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e \
                           WHERE e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass \
                             AND e.objid = d.refobjid AND e.deptype = 'e')"
    )
}

/// Columns of the tables `$1`, in attnum order, with whether their type is
/// safe to copy in binary format: built-in types that are not `reg*` and have
/// send/receive functions, arrays of those, enums, and domains over any of these.
fn columns_sql(v: ServerVersion) -> String {
    let generated = if v.at_least(12) {
        "a.attgenerated::pg_catalog.text"
    } else {
        "''::pg_catalog.text"
    };
    let compression = if v.at_least(14) {
        "a.attcompression::pg_catalog.text"
    } else {
        "''::pg_catalog.text"
    };
    // 18's NOT NULL constraints (one per column at most), and whether a parent's
    // column is NOT NULL: a validated constraint from 18, `attnotnull` before.
    let (nn_cte, nn_cols, nn_join, parent_nn) = if v.at_least(18) {
        (
            ", nn AS ( \
                SELECT DISTINCT ON (nc.conrelid, nc.conkey[1]) nc.conrelid, \
                       nc.conkey[1] AS attnum, nc.oid, nc.conname, nc.convalidated, \
                       nc.connoinherit, nc.conislocal \
                FROM pg_catalog.pg_constraint nc \
                WHERE nc.conrelid = ANY($1::pg_catalog.oid[]) AND nc.contype = 'n' \
                ORDER BY nc.conrelid, nc.conkey[1], nc.oid \
             )",
            "nn.oid, nn.conname::pg_catalog.text, nn.convalidated, nn.connoinherit, nn.conislocal",
            "LEFT JOIN nn ON nn.conrelid = a.attrelid AND nn.attnum = a.attnum",
            "EXISTS (SELECT 1 FROM pg_catalog.pg_constraint pc WHERE pc.conrelid = pa.attrelid \
                       AND pc.contype = 'n' AND pc.conkey[1] = pa.attnum AND pc.convalidated)",
        )
    } else {
        (
            "",
            "NULL::pg_catalog.oid, NULL::pg_catalog.text, NULL::pg_catalog.bool, \
             NULL::pg_catalog.bool, NULL::pg_catalog.bool",
            "",
            "pa.attnotnull",
        )
    };
    // Before 12 every CTE is materialized and the keyword does not exist.
    let materialized = if v.at_least(12) { "MATERIALIZED" } else { "" };
    // A default without column references (nextval(...), now(), a constant: nearly
    // all) is deparsed without the table as context: with it, the server opens each
    // table's relation cache entry, ~15 us a table on a backend that has not yet.
    let def_rel = "CASE WHEN ad.adbin::pg_catalog.text LIKE '%{VAR %' \
                   THEN ad.adrelid ELSE 0::pg_catalog.oid END";
    // Set-based: the columns are read once (`att`, also the source of the types
    // whose binary safety `safe` works out), the defaults calling user functions
    // (`ufn`) and the inherited columns (`inh`) once each and joined by hash,
    // instead of subplans per column (8,000 columns: 250-380 ms of a fresh backend
    // with those, 120-170 ms without).
    format!(
        "WITH RECURSIVE att AS {materialized} ( \
            SELECT a.* FROM pg_catalog.pg_attribute a \
            WHERE a.attrelid = ANY($1::pg_catalog.oid[]) AND a.attnum > 0 \
         ), dom(root, cur) AS ( \
            SELECT t.oid, t.oid FROM pg_catalog.pg_type t \
            WHERE t.oid IN (SELECT att.atttypid FROM att) \
          UNION \
            SELECT d.root, t.typbasetype FROM dom d \
            JOIN pg_catalog.pg_type t ON t.oid = d.cur AND t.typtype = 'd' \
         ), safe AS ( \
            SELECT d.root AS typid, \
                   (b.typtype = 'e' OR ( \
                      b.oid < 16384 AND b.typtype IN ('b', 'r', 'm') \
                      AND b.typsend::pg_catalog.oid <> 0 AND b.typreceive::pg_catalog.oid <> 0 \
                      AND b.typname NOT IN ({reg}) \
                      AND (b.typelem = 0 OR EXISTS ( \
                        SELECT 1 FROM pg_catalog.pg_type e WHERE e.oid = b.typelem AND e.oid < 16384 \
                          AND e.typtype IN ('b', 'r', 'm') AND e.typname NOT IN ({reg}))))) AS ok \
            FROM dom d JOIN pg_catalog.pg_type b ON b.oid = d.cur AND b.typtype <> 'd' \
         ), ufn AS ( \
            {ufn} \
         ), inh AS ( \
            SELECT i.inhrelid, pa.attname, \
                   pg_catalog.bool_or(pd.oid IS NOT NULL \
                       AND NOT EXISTS (SELECT 1 FROM ufn WHERE ufn.objid = pd.oid)) AS def, \
                   pg_catalog.bool_or({parent_nn}) AS nn \
            FROM pg_catalog.pg_inherits i \
            JOIN pg_catalog.pg_attribute pa ON pa.attrelid = i.inhparent \
                 AND pa.attnum > 0 AND NOT pa.attisdropped \
            LEFT JOIN pg_catalog.pg_attrdef pd ON pd.adrelid = pa.attrelid AND pd.adnum = pa.attnum \
            WHERE i.inhrelid = ANY($1::pg_catalog.oid[]) \
            GROUP BY i.inhrelid, pa.attname \
         ){nn_cte} \
         SELECT a.attrelid, a.attnum, a.attname::pg_catalog.text, a.attisdropped, \
                pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attislocal, \
                ad.oid, pg_catalog.pg_get_expr(ad.adbin, {def_rel}), \
                ad.oid IS NOT NULL AND EXISTS (SELECT 1 FROM ufn WHERE ufn.objid = ad.oid), \
                {generated}, a.attidentity::pg_catalog.text, \
                CASE WHEN co.oid IS NOT NULL THEN cn.nspname::pg_catalog.text END, \
                co.collname::pg_catalog.text, \
                CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::pg_catalog.text END, \
                {compression}, \
                CASE WHEN a.attstattarget >= 0 THEN a.attstattarget::pg_catalog.int4 END, \
                a.attoptions::pg_catalog.text[], a.attfdwoptions::pg_catalog.text[], \
                a.attacl::pg_catalog.text[], \
                COALESCE(inh.def, false), COALESCE(inh.nn, false), {nn_cols}, \
                COALESCE(s.ok, false), a.atttypid \
         FROM att a \
         LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
         LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation \
              AND a.attcollation <> t.typcollation \
         LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace \
         LEFT JOIN safe s ON s.typid = a.atttypid \
         LEFT JOIN inh ON inh.inhrelid = a.attrelid AND inh.attname = a.attname \
         {nn_join} \
         ORDER BY a.attrelid, a.attnum",
        reg = REG_TYPES,
        ufn = user_fn_deps("pg_attrdef"),
    )
}

/// Types whose binary form holds OIDs local to a database.
const REG_TYPES: &str = "'regclass', 'regtype', 'regproc', 'regprocedure', 'regoper', \
    'regoperator', 'regconfig', 'regdictionary', 'regnamespace', 'regrole', 'regcollation'";

/// CHECK constraints of the tables `$1`, by table and name.
fn checks_sql() -> String {
    format!(
        "SELECT c.oid, c.conrelid, c.conname::pg_catalog.text, \
                pg_catalog.pg_get_constraintdef(c.oid), c.convalidated, c.conislocal, {} \
         FROM pg_catalog.pg_constraint c \
         WHERE c.conrelid = ANY($1::pg_catalog.oid[]) AND c.contype = 'c' \
         ORDER BY c.conrelid, c.conname",
        user_fn_dep("pg_constraint", "c.oid")
    )
}

// ---------------------------------------------------------------- DDL

/// `name=value` reloptions as pg_dump writes them: the name quoted as an
/// identifier, the value bare when it reads as a plain identifier, else a literal.
fn reloptions(opts: &[String], prefix: &str) -> Vec<String> {
    opts.iter()
        .map(|o| {
            let (name, value) = o.split_once('=').unwrap_or((o.as_str(), ""));
            let value = if ident(value) == value {
                value.to_string()
            } else {
                literal(value)
            };
            format!("{prefix}{}={value}", ident(name))
        })
        .collect()
}

/// FDW options (`name=value` items of `ftoptions` / `attfdwoptions`) as an
/// `OPTIONS (...)` list body: `name 'value', ...`.
pub(crate) fn fdw_options(opts: &[String]) -> String {
    opts.iter()
        .map(|o| {
            let (name, value) = o.split_once('=').unwrap_or((o.as_str(), ""));
            format!("{} {}", ident(name), literal(value))
        })
        .collect::<Vec<_>>()
        .join(",\n    ")
}

/// Does the DDL print the column's definition? Dropped columns never; partitions
/// and typed tables print all (they are created standalone); inheritance
/// children only the columns defined locally.
fn prints_column(t: &Table, c: &Column) -> bool {
    !c.dropped && (c.islocal || t.is_partition || t.of_type != 0)
}

/// Is the default printed inline in the column definition? Generation
/// expressions always are; defaults unless they call a user function.
fn inline_default(t: &Table, c: &Column) -> bool {
    c.default.is_some() && prints_column(t, c) && (c.generated.is_some() || !c.default_user_fn)
}

/// Does the column's default get a `DEFAULT` item of its own?
fn separate_default(t: &Table, c: &Column) -> bool {
    !c.dropped && c.default.is_some() && c.generated.is_none() && !inline_default(t, c)
}

/// The name the server gives a NOT NULL constraint by default (as pg_dump
/// compares it: without the truncation to 63 bytes).
fn default_not_null_name(t: &Table, c: &Column) -> String {
    format!("{}_{}_not_null", t.name, c.name)
}

/// The ` NOT NULL` clause of a printed column. A NOT NULL the column inherits
/// from a parent comes with `INHERITS` (as pg_dump, not repeated), except on
/// partitions, which are created standalone; from 18 a constraint defined on the
/// child too is printed.
fn not_null_clause(t: &Table, names: &Names, c: &Column) -> String {
    if !names.nn_constraints {
        let inherited = c.parent_notnull && !t.is_partition;
        return if c.notnull && !inherited {
            " NOT NULL".into()
        } else {
            String::new()
        };
    }
    match &c.nn {
        Some(nn) if nn.valid && (nn.local || t.is_partition || !c.parent_notnull) => {
            let mut s = if nn.name == default_not_null_name(t, c) {
                " NOT NULL".to_string()
            } else {
                format!(" CONSTRAINT {} NOT NULL", ident(&nn.name))
            };
            if nn.no_inherit {
                s.push_str(" NO INHERIT");
            }
            s
        }
        _ => String::new(),
    }
}

/// The definition of a printed column: `name type [COLLATE c] [DEFAULT e |
/// GENERATED ALWAYS AS (e) STORED] [NOT NULL]`.
fn column_sql(t: &Table, names: &Names, c: &Column) -> String {
    let mut s = format!("{} {}", ident(&c.name), c.type_name);
    if let Some(coll) = &c.collation {
        s.push_str(&format!(" COLLATE {coll}"));
    }
    if inline_default(t, c) {
        if let Some((_, expr)) = &c.default {
            match c.generated {
                Some('s') => s.push_str(&format!(" GENERATED ALWAYS AS ({expr}) STORED")),
                Some(_) => s.push_str(&format!(" GENERATED ALWAYS AS ({expr}) VIRTUAL")),
                None => s.push_str(&format!(" DEFAULT {expr}")),
            }
        }
    }
    s.push_str(&not_null_clause(t, names, c));
    s
}

/// A table-level NOT NULL constraint for a column that is not printed (18+):
/// one defined locally, or one whose parents hold no valid constraint to
/// inherit it from.
fn table_not_null(t: &Table, names: &Names, c: &Column) -> Option<String> {
    if !names.nn_constraints || c.dropped {
        return None;
    }
    let nn = c.nn.as_ref().filter(|nn| nn.valid)?;
    if !nn.local && c.parent_notnull {
        return None;
    }
    let mut s = if nn.name == default_not_null_name(t, c) {
        format!("NOT NULL {}", ident(&c.name))
    } else {
        format!("CONSTRAINT {} NOT NULL {}", ident(&nn.name), ident(&c.name))
    };
    if nn.no_inherit {
        s.push_str(" NO INHERIT");
    }
    Some(s)
}

/// Is a CHECK constraint part of the `CREATE TABLE`?
fn inline_check(t: &Table, k: &Check) -> bool {
    k.valid && !k.user_fn && (k.local || t.is_partition)
}

/// Is a CHECK constraint a `CHECK CONSTRAINT` item of its own? (Inherited ones
/// come with the parent's, which is added without `ONLY`.)
fn separate_check(t: &Table, k: &Check) -> bool {
    !inline_check(t, k) && k.local
}

/// `ALTER [FOREIGN] TABLE` for this table.
fn alter(t: &Table) -> &'static str {
    if t.relkind == 'f' {
        "ALTER FOREIGN TABLE"
    } else {
        "ALTER TABLE"
    }
}

/// The `CREATE TABLE` statement with the per-column settings that follow it.
fn table_sql(t: &Table, names: &Names, cols: &[&Column], checks: &[&Check]) -> String {
    let q = &names.qualified;
    let mut elems: Vec<String> = Vec::new();
    for c in cols {
        if prints_column(t, c) {
            elems.push(column_sql(t, names, c));
        } else if let Some(nn) = table_not_null(t, names, c) {
            elems.push(nn);
        }
    }
    for k in checks.iter().filter(|k| inline_check(t, k)) {
        elems.push(format!("CONSTRAINT {} {}", ident(&k.name), k.def));
    }
    let create = match t.relkind {
        'f' => "CREATE FOREIGN TABLE",
        'p' => "CREATE TABLE",
        _ if t.persistence == 'u' => "CREATE UNLOGGED TABLE",
        _ => "CREATE TABLE",
    };
    let mut sql = format!("{create} {q} (\n");
    if !elems.is_empty() {
        sql.push_str("    ");
        sql.push_str(&elems.join(",\n    "));
        sql.push('\n');
    }
    sql.push(')');
    if !names.inherits.is_empty() {
        sql.push_str(&format!("\nINHERITS ({})", names.inherits.join(", ")));
    }
    if let Some(key) = &t.partkey {
        sql.push_str(&format!("\nPARTITION BY {key}"));
    }
    if let Some(server) = &t.server {
        sql.push_str(&format!("\nSERVER {}", ident(server)));
        if !t.ft_options.is_empty() {
            sql.push_str(&format!(
                "\nOPTIONS (\n    {}\n)",
                fdw_options(&t.ft_options)
            ));
        }
    }
    let mut with = reloptions(&t.options, "");
    with.extend(reloptions(&t.toast_options, "toast."));
    if !with.is_empty() {
        sql.push_str(&format!("\nWITH ({})", with.join(", ")));
    }
    sql.push_str(";\n");

    let alter = alter(t);
    for c in cols.iter().filter(|c| !c.dropped) {
        let col = ident(&c.name);
        let printed = prints_column(t, c);
        if !printed && !names.nn_constraints && c.notnull && !c.parent_notnull {
            sql.push_str(&format!(
                "{alter} ONLY {q} ALTER COLUMN {col} SET NOT NULL;\n"
            ));
        }
        if !printed && c.default.is_none() && c.parent_default && c.generated.is_none() {
            // The parent's default would be inherited; this column has none.
            sql.push_str(&format!(
                "{alter} ONLY {q} ALTER COLUMN {col} SET DEFAULT NULL;\n"
            ));
        }
        if let Some(n) = c.stattarget {
            sql.push_str(&format!(
                "{alter} ONLY {q} ALTER COLUMN {col} SET STATISTICS {n};\n"
            ));
        }
        if let Some(s) = c.storage.and_then(storage_name) {
            sql.push_str(&format!(
                "{alter} ONLY {q} ALTER COLUMN {col} SET STORAGE {s};\n"
            ));
        }
        if let Some(m) = c.compression.and_then(compression_name) {
            sql.push_str(&format!(
                "{alter} ONLY {q} ALTER COLUMN {col} SET COMPRESSION {m};\n"
            ));
        }
        if !c.options.is_empty() {
            sql.push_str(&format!(
                "{alter} ONLY {q} ALTER COLUMN {col} SET ({});\n",
                reloptions(&c.options, "").join(", ")
            ));
        }
        if !c.fdw_options.is_empty() {
            sql.push_str(&format!(
                "{alter} {q} ALTER COLUMN {col} OPTIONS (\n    {}\n);\n",
                fdw_options(&c.fdw_options)
            ));
        }
    }
    // Only relations with storage have a replica identity (foreign tables say 'n').
    match t.replident {
        _ if !matches!(t.relkind, 'r' | 'p') => {}
        'f' => sql.push_str(&format!("{alter} ONLY {q} REPLICA IDENTITY FULL;\n")),
        'n' => sql.push_str(&format!("{alter} ONLY {q} REPLICA IDENTITY NOTHING;\n")),
        _ => {}
    }
    if t.force_rls {
        sql.push_str(&format!("{alter} ONLY {q} FORCE ROW LEVEL SECURITY;\n"));
    }
    sql
}

fn storage_name(c: char) -> Option<&'static str> {
    Some(match c {
        'p' => "PLAIN",
        'e' => "EXTERNAL",
        'm' => "MAIN",
        'x' => "EXTENDED",
        _ => return None,
    })
}

fn compression_name(c: char) -> Option<&'static str> {
    Some(match c {
        'p' => "pglz",
        'l' => "lz4",
        _ => return None,
    })
}

/// `ALTER TABLE ONLY parent ATTACH PARTITION child FOR VALUES ...;`
fn attach_sql(parent: &str, child: &str, bound: &str) -> String {
    format!("ALTER TABLE ONLY {parent} ATTACH PARTITION {child} {bound};\n")
}

/// A default set apart from the `CREATE TABLE`.
fn default_sql(alter: &str, table: &str, column: &str, expr: &str) -> String {
    format!(
        "{alter} ONLY {table} ALTER COLUMN {} SET DEFAULT {expr};\n",
        ident(column)
    )
}

/// A CHECK or NOT NULL constraint added after the data: without `ONLY`, so that
/// it reaches the children that inherit it.
fn add_constraint_sql(alter: &str, table: &str, name: &str, def: &str) -> String {
    format!(
        "{alter} {table}\n    ADD CONSTRAINT {} {def};\n",
        ident(name)
    )
}

/// The row filter of an extension configuration table (`extcondition` without
/// its `WHERE`); `None` for all rows.
pub(crate) fn config_filter(cond: &str) -> Option<String> {
    let c = cond.trim();
    if c.is_empty() {
        return None;
    }
    let body = match c.get(..5) {
        Some(w) if w.eq_ignore_ascii_case("where") && c[5..].starts_with(char::is_whitespace) => {
            c[5..].trim()
        }
        _ => c,
    };
    Some(body.to_string())
}

// ---------------------------------------------------------------- items

fn char_of(s: Option<String>) -> Option<char> {
    s.and_then(|s| s.chars().next()).filter(|c| *c != '\0')
}

fn rel_name(scope: &Scope, oid: Oid) -> Result<(String, String)> {
    scope
        .relation(oid)
        .map(|r| (r.schema.clone(), r.name.clone()))
        .ok_or_else(|| CoreError::Catalog(format!("relation {oid} is not in the catalog snapshot")))
}

/// Every item of one table: definition, separate defaults and constraints,
/// partition attachment, comments, ACLs and data.
fn table_items(
    t: &Table,
    cols: &[&Column],
    checks: &[&Check],
    scope: &Scope,
    nn_constraints: bool,
) -> Result<Vec<Item>> {
    let rel = scope.relation(t.oid).ok_or_else(|| {
        CoreError::Catalog(format!("table {} is not in the catalog snapshot", t.oid))
    })?;
    let obj = ObjRef::new(class::PG_CLASS, t.oid);
    let q = qualify(&t.schema, &t.name);
    let mut items = Vec::new();

    if rel.dump {
        let inherits = if t.is_partition {
            Vec::new()
        } else {
            t.parents
                .iter()
                .map(|p| rel_name(scope, *p).map(|(s, n)| qualify(&s, &n)))
                .collect::<Result<Vec<_>>>()?
        };
        let names = Names {
            qualified: q.clone(),
            inherits,
            nn_constraints,
        };
        let (kind, sql_kind) = if t.relkind == 'f' {
            (Kind::ForeignTable, "FOREIGN TABLE")
        } else {
            (Kind::Table, "TABLE")
        };
        let alter = alter(t);
        let mut item = Item::new(
            kind,
            obj,
            t.name.clone(),
            table_sql(t, &names, cols, checks),
        )
        .primary()
        .schema(t.schema.clone())
        .owner(
            t.owner.clone(),
            format!("{alter} {q} OWNER TO {};\n", ident(&t.owner)),
        )
        .drop(format!("DROP {sql_kind} IF EXISTS {q};\n"))
        .meta("relkind", t.relkind.to_string());
        if let Some(am) = t.access_method.as_deref().filter(|am| *am != "heap") {
            item = item.meta("access_method", am);
        }
        items.push(item);

        // Partition attachment.
        if t.is_partition {
            if let (Some(parent), Some(bound)) = (t.parents.first(), &t.partbound) {
                if scope.dump_rel(*parent) {
                    let (ps, pn) = rel_name(scope, *parent)?;
                    let pq = qualify(&ps, &pn);
                    let mut it = Item::new(
                        Kind::TableAttach,
                        obj,
                        t.name.clone(),
                        attach_sql(&pq, &q, bound),
                    )
                    .schema(t.schema.clone())
                    .dep(Dep::Obj(ObjRef::new(class::PG_CLASS, *parent)))
                    .dep(Dep::Obj(obj))
                    .meta("table", pq);
                    it.owner = Some(t.owner.clone());
                    items.push(it);
                }
            }
        }

        // Defaults set apart.
        for c in cols.iter().filter(|c| separate_default(t, c)) {
            if let Some((ad_oid, expr)) = &c.default {
                let dobj = ObjRef::new(class::PG_ATTRDEF, *ad_oid);
                let mut it = Item::new(
                    Kind::Default,
                    dobj,
                    format!("{} {}", t.name, c.name),
                    default_sql(alter, &q, &c.name, expr),
                )
                .primary()
                .schema(t.schema.clone())
                .drop(format!(
                    "{alter} IF EXISTS ONLY {q} ALTER COLUMN {} DROP DEFAULT;\n",
                    ident(&c.name)
                ))
                .dep(Dep::Obj(obj))
                .meta("table", q.clone());
                it.owner = Some(t.owner.clone());
                items.push(it);
            }
        }

        // CHECK constraints set apart (NOT VALID, or calling user functions).
        for k in checks.iter().filter(|k| separate_check(t, k)) {
            items.extend(constraint_item(t, &q, k.oid, &k.name, &k.def, obj, scope));
        }
        // NOT VALID NOT NULL constraints (18+), where they are defined locally.
        for c in cols.iter().filter(|c| !c.dropped) {
            if let Some(nn) = c.nn.as_ref().filter(|nn| !nn.valid && nn.local) {
                let mut def = format!("NOT NULL {}", ident(&c.name));
                if nn.no_inherit {
                    def.push_str(" NO INHERIT");
                }
                def.push_str(" NOT VALID");
                items.extend(constraint_item(t, &q, nn.oid, &nn.name, &def, obj, scope));
            }
        }

        // Comments: the table, its columns, its inline constraints.
        let ct = CommentTarget {
            obj,
            sql_kind,
            sql_name: &q,
            schema: Some(&t.schema),
            tag: &t.name,
            owner: Some(&t.owner),
        };
        items.extend(comment_item(scope, &ct));
        let col_names: Vec<(i32, String, String)> = cols
            .iter()
            .filter(|c| !c.dropped)
            .map(|c| (i32::from(c.attnum), ident(&c.name), c.name.clone()))
            .collect();
        items.extend(column_comment_items(scope, &ct, &col_names));
        let mut inline_constraints: Vec<(Oid, &str)> = checks
            .iter()
            .filter(|k| !separate_check(t, k))
            .map(|k| (k.oid, k.name.as_str()))
            .collect();
        inline_constraints.extend(
            cols.iter()
                .filter_map(|c| c.nn.as_ref())
                .filter(|nn| nn.valid)
                .map(|nn| (nn.oid, nn.name.as_str())),
        );
        for (con, name) in inline_constraints {
            items.extend(inline_constraint_comment(t, &q, obj, con, name, scope));
        }

        // Privileges.
        let at = AclTarget {
            obj,
            sql_kind: "TABLE",
            sql_name: &q,
            schema: Some(&t.schema),
            tag: &t.name,
            owner: &t.owner,
        };
        items.extend(acl_item(&at, t.acl.as_deref(), &t.acl_default)?);
        let col_acls: Vec<(i32, String, String, Option<Vec<String>>)> = cols
            .iter()
            .filter(|c| !c.dropped && c.acl.is_some())
            .map(|c| {
                (
                    i32::from(c.attnum),
                    ident(&c.name),
                    c.name.clone(),
                    c.acl.clone(),
                )
            })
            .collect();
        items.extend(column_acl_items(&at, &col_acls)?);
    }

    if rel.dump_data && t.relkind == 'r' {
        items.push(data_item(t, cols, rel.ext_config_filter.as_deref(), scope)?);
    }
    Ok(items)
}

/// A constraint added after the data (`CHECK CONSTRAINT` item) with its comment.
fn constraint_item(
    t: &Table,
    q: &str,
    con: Oid,
    name: &str,
    def: &str,
    table: ObjRef,
    scope: &Scope,
) -> Vec<Item> {
    let cobj = ObjRef::new(class::PG_CONSTRAINT, con);
    let mut it = Item::new(
        Kind::CheckConstraint,
        cobj,
        format!("{} {}", t.name, name),
        add_constraint_sql(alter(t), q, name, def),
    )
    .primary()
    .schema(t.schema.clone())
    .drop(format!(
        "{} IF EXISTS {q} DROP CONSTRAINT IF EXISTS {};\n",
        alter(t),
        ident(name)
    ))
    .dep(Dep::Obj(table))
    .meta("table", q);
    it.owner = Some(t.owner.clone());
    let sql_name = format!("{} ON {q}", ident(name));
    let tag = format!("{name} ON {}", t.name);
    let ct = CommentTarget {
        obj: cobj,
        sql_kind: "CONSTRAINT",
        sql_name: &sql_name,
        schema: Some(&t.schema),
        tag: &tag,
        owner: Some(&t.owner),
    };
    let mut items = vec![it];
    items.extend(comment_item(scope, &ct));
    items
}

/// The comment on a constraint that is part of the `CREATE TABLE`: attached to
/// the table (sub-number = the constraint's OID, which no column number reaches).
fn inline_constraint_comment(
    t: &Table,
    q: &str,
    table: ObjRef,
    con: Oid,
    name: &str,
    scope: &Scope,
) -> Option<Item> {
    let text = scope.comment(ObjRef::new(class::PG_CONSTRAINT, con), 0)?;
    let mut it = Item::new(
        Kind::Comment,
        table,
        format!("CONSTRAINT {name} ON {}", t.name),
        format!(
            "COMMENT ON CONSTRAINT {} ON {q} IS {};\n",
            ident(name),
            literal(text)
        ),
    )
    .with_sub(con)
    .schema(t.schema.clone())
    .dep(Dep::Obj(table));
    it.owner = Some(t.owner.clone());
    Some(it)
}

/// The `TABLE DATA` item of a table.
fn data_item(t: &Table, cols: &[&Column], ext_filter: Option<&str>, scope: &Scope) -> Result<Item> {
    let obj = ObjRef::new(class::PG_CLASS, t.oid);
    let copied: Vec<&&Column> = cols
        .iter()
        .filter(|c| !c.dropped && c.generated.is_none())
        .collect();
    let load_target = match t.load_root {
        Some(root) if root != t.oid => Some(rel_name(scope, root)?),
        _ => None,
    };
    let binary_safe = copied.iter().all(|c| c.binary_safe);
    let src = CopySource {
        relid: t.oid,
        schema: t.schema.clone(),
        name: t.name.clone(),
        columns: copied.iter().map(|c| c.name.clone()).collect(),
        binary_safe,
        load_target: load_target.clone(),
        filter: ext_filter.and_then(config_filter),
        pages: u64::try_from(t.pages).unwrap_or(0),
        est_bytes: u64::try_from(t.bytes).unwrap_or(0),
        int_key: t.int_key.clone(),
        // how each column is read in binary, when all of them can be
        binary_types: if binary_safe {
            copied
                .iter()
                .map(|c| c.binary_type.clone())
                .collect::<Option<Vec<String>>>()
                .unwrap_or_default()
        } else {
            Vec::new()
        },
    };
    // The only dependency is the table itself (the restore takes the first one for
    // the table the rows belong to); the root of a load through the root is in
    // pre-data anyway.
    let mut it = Item::new(Kind::TableData, obj, t.name.clone(), String::new())
        .schema(t.schema.clone())
        .dep(Dep::Obj(obj));
    if let Some((s, n)) = &load_target {
        it = it.meta("load_via", qualify(s, n));
    }
    it.owner = Some(t.owner.clone());
    it.data = Some(DataSource::Copy(src));
    Ok(it)
}

/// The relations this module reads: dumped tables and tables whose data only is dumped.
fn wanted(scope: &Scope) -> Vec<Oid> {
    let mut v: Vec<Oid> = scope
        .relations
        .values()
        .filter(|r| TABLE_RELKINDS.contains(&r.relkind) && (r.dump || r.dump_data))
        .map(|r| r.oid)
        .collect();
    v.sort_unstable();
    v
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let oids = wanted(scope);
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let (tsql, csql, ksql) = (tables_sql(l.version), columns_sql(l.version), checks_sql());
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&oids];
    let (trows, crows, krows, yrows) = futures::try_join!(
        l.query("tables", &tsql, &params),
        l.query("table columns", &csql, &params),
        l.query("CHECK constraints", &ksql, &params),
        l.query("types", binary_type::TYPES_SQL, &[]),
    )?;
    let types = binary_type::type_map(&yrows);

    let mut columns: HashMap<Oid, Vec<Column>> = HashMap::new();
    for r in &crows {
        let nn_oid: Option<Oid> = r.get(22);
        let c = Column {
            relid: r.get(0),
            attnum: r.get(1),
            name: r.get(2),
            dropped: r.get(3),
            type_name: r.get::<_, Option<String>>(4).unwrap_or_default(),
            notnull: r.get(5),
            islocal: r.get(6),
            default: match (r.get::<_, Option<Oid>>(7), r.get::<_, Option<String>>(8)) {
                (Some(o), Some(e)) => Some((o, e)),
                _ => None,
            },
            default_user_fn: r.get(9),
            generated: char_of(r.get(10)),
            identity: char_of(r.get(11)),
            collation: match (
                r.get::<_, Option<String>>(12),
                r.get::<_, Option<String>>(13),
            ) {
                (Some(s), Some(n)) => Some(qualify(&s, &n)),
                _ => None,
            },
            storage: char_of(r.get(14)),
            compression: char_of(r.get(15)),
            stattarget: r.get(16),
            options: opt_vec(r.get(17)),
            fdw_options: opt_vec(r.get(18)),
            acl: r.get(19),
            parent_default: r.get(20),
            parent_notnull: r.get(21),
            nn: nn_oid.map(|oid| NotNull {
                oid,
                name: r.get::<_, Option<String>>(23).unwrap_or_default(),
                valid: r.get::<_, Option<bool>>(24).unwrap_or(true),
                no_inherit: r.get::<_, Option<bool>>(25).unwrap_or(false),
                local: r.get::<_, Option<bool>>(26).unwrap_or(true),
            }),
            binary_safe: r.get(27),
            binary_type: if r.get(27) {
                binary_type::binary_type(r.get(28), &types)
            } else {
                None
            },
        };
        columns.entry(c.relid).or_default().push(c);
    }
    let mut checks: HashMap<Oid, Vec<Check>> = HashMap::new();
    for r in &krows {
        let k = Check {
            oid: r.get(0),
            relid: r.get(1),
            name: r.get(2),
            def: r.get::<_, Option<String>>(3).unwrap_or_default(),
            valid: r.get(4),
            local: r.get(5),
            user_fn: r.get(6),
        };
        checks.entry(k.relid).or_default().push(k);
    }

    let nn_constraints = l.version.at_least(18);
    let mut items = Vec::new();
    for r in &trows {
        let oid: Oid = r.get(0);
        let Some(rel) = scope.relation(oid) else {
            continue;
        };
        let t = Table {
            oid,
            nsp: rel.nsp,
            schema: rel.schema.clone(),
            name: rel.name.clone(),
            owner: rel.owner.clone(),
            relkind: char_of(r.get(1)).unwrap_or('r'),
            persistence: char_of(r.get(2)).unwrap_or('p'),
            options: opt_vec(r.get(3)),
            toast_options: opt_vec(r.get(4)),
            replident: char_of(r.get(5)).unwrap_or('d'),
            force_rls: r.get(6),
            tablespace: r.get(7),
            of_type: r.get(8),
            has_oids: r.get(9),
            access_method: r.get(10),
            is_partition: r.get(11),
            partkey: r.get(12),
            partbound: r.get(13),
            parents: r.get(14),
            acl: r.get(15),
            acl_default: opt_vec(r.get(16)),
            server: r.get(17),
            ft_options: opt_vec(r.get(18)),
            // Main fork plus TOAST main fork: pg_table_size would also open the
            // free-space and visibility maps and the TOAST index of every table.
            pages: r.get::<_, Option<i64>>(19).unwrap_or(0),
            bytes: r.get::<_, Option<i64>>(20).unwrap_or(0),
            int_key: r.get(21),
            load_root: r.get(22),
        };
        if rel.dump && !scope.dump_obj(t.nsp, ObjRef::new(class::PG_CLASS, oid)) {
            continue;
        }
        let cols: Vec<&Column> = columns
            .get(&oid)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        let ks: Vec<&Check> = checks
            .get(&oid)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        items.extend(table_items(&t, &cols, &ks, scope, nn_constraints)?);
    }
    Ok(items)
}

/// Tables in scope this module cannot reproduce: tables in a tablespace (the
/// DDL leaves the tablespace out), typed tables (`OF type`, created as plain
/// tables) and tables `WITH OIDS` (servers before 12; created without).
pub(crate) async fn unsupported(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    let oids = scope.rel_oids(TABLE_RELKINDS);
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let has_oids = if l.version.at_least(12) {
        "false"
    } else {
        "c.relhasoids"
    };
    let sql = format!(
        "SELECT c.oid, ts.spcname::pg_catalog.text, \
                CASE WHEN c.reloftype <> 0 THEN pg_catalog.format_type(c.reloftype, NULL) END, \
                {has_oids} \
         FROM pg_catalog.pg_class c \
         LEFT JOIN pg_catalog.pg_tablespace ts ON ts.oid = c.reltablespace \
         WHERE c.oid = ANY($1::pg_catalog.oid[]) \
           AND (c.reltablespace <> 0 OR c.reloftype <> 0 OR {has_oids}) \
         ORDER BY c.oid"
    );
    let rows = l.query("unsupported tables", &sql, &[&oids]).await?;
    let mut out = Vec::new();
    for r in &rows {
        let oid: Oid = r.get(0);
        let Some(rel) = scope.relation(oid) else {
            continue;
        };
        let what = if rel.relkind == 'f' {
            "foreign table"
        } else {
            "table"
        };
        let id = format!("{what} {}", qualify(&rel.schema, &rel.name));
        if let Some(ts) = r.get::<_, Option<String>>(1) {
            out.push(format!(
                "{id}: in tablespace {} (tablespaces are not supported)",
                ident(&ts)
            ));
        }
        if let Some(ty) = r.get::<_, Option<String>>(2) {
            out.push(format!("{id}: typed table (OF {ty}) is not supported"));
        }
        if r.get::<_, bool>(3) {
            out.push(format!(
                "{id}: WITH OIDS is not supported (no server since 12 has it)"
            ));
        }
    }
    Ok(out)
}

/// The `CREATE TABLE` of a synthetic table `i` of `cols` columns of common types (a
/// serial key with its default and NOT NULL, a CHECK): the DDL benchmark's table.
#[cfg(feature = "bench-internals")]
pub(crate) fn bench_ddl(i: usize, cols: usize) -> String {
    const TYPES: [&str; 6] = [
        "integer",
        "text",
        "numeric(12,2)",
        "timestamp with time zone",
        "jsonb",
        "boolean",
    ];
    let t = Table {
        oid: Oid::try_from(i).unwrap_or(0),
        schema: "app".into(),
        name: format!("t{i}"),
        owner: "owner".into(),
        relkind: 'r',
        persistence: 'p',
        replident: 'd',
        ..Table::default()
    };
    let columns: Vec<Column> = (0..cols)
        .map(|k| Column {
            relid: t.oid,
            attnum: i16::try_from(k + 1).unwrap_or(i16::MAX),
            name: format!("col_{k}"),
            type_name: TYPES[k % TYPES.len()].into(),
            notnull: k == 0,
            default: (k == 0).then(|| (1, format!("nextval('app.t{i}_col_0_seq'::regclass)"))),
            islocal: true,
            binary_safe: true,
            ..Column::default()
        })
        .collect();
    let refs: Vec<&Column> = columns.iter().collect();
    let check = Check {
        oid: 1,
        relid: t.oid,
        name: format!("t{i}_col_0_check"),
        def: "CHECK ((col_0 > 0))".into(),
        valid: true,
        local: true,
        ..Check::default()
    };
    let names = Names {
        qualified: qualify(&t.schema, &t.name),
        ..Names::default()
    };
    table_sql(&t, &names, &refs, &[&check])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> Table {
        Table {
            oid: 1,
            schema: "s".into(),
            name: name.into(),
            owner: "own".into(),
            relkind: 'r',
            persistence: 'p',
            replident: 'd',
            ..Table::default()
        }
    }

    fn col(attnum: i16, name: &str, ty: &str) -> Column {
        Column {
            relid: 1,
            attnum,
            name: name.into(),
            type_name: ty.into(),
            islocal: true,
            binary_safe: true,
            ..Column::default()
        }
    }

    fn names(q: &str) -> Names {
        Names {
            qualified: q.into(),
            ..Names::default()
        }
    }

    #[test]
    fn plain_table_with_everything_inline() {
        let t = Table {
            options: vec!["fillfactor=70".into(), "autovacuum_enabled=false".into()],
            toast_options: vec!["autovacuum_enabled=false".into()],
            ..table("orders")
        };
        let mut id = col(1, "order_id", "integer");
        id.notnull = true;
        let mut note = col(2, "note", "text");
        note.collation = Some("pg_catalog.\"C\"".into());
        note.default = Some((9, "'x'::text".into()));
        let mut total = col(3, "total", "numeric(12,2)");
        total.default = Some((10, "((qty)::numeric * unit_price)".into()));
        total.generated = Some('s');
        let check = Check {
            oid: 5,
            relid: 1,
            name: "orders_qty_check".into(),
            def: "CHECK ((qty > 0))".into(),
            valid: true,
            local: true,
            ..Check::default()
        };
        let sql = table_sql(&t, &names("s.orders"), &[&id, &note, &total], &[&check]);
        assert_eq!(
            sql,
            "CREATE TABLE s.orders (\n\
             \x20   order_id integer NOT NULL,\n\
             \x20   note text COLLATE pg_catalog.\"C\" DEFAULT 'x'::text,\n\
             \x20   total numeric(12,2) GENERATED ALWAYS AS (((qty)::numeric * unit_price)) STORED,\n\
             \x20   CONSTRAINT orders_qty_check CHECK ((qty > 0))\n\
             )\n\
             WITH (fillfactor='70', autovacuum_enabled='false', toast.autovacuum_enabled='false');\n"
        );
    }

    #[test]
    fn unlogged_and_partitioned() {
        let t = Table {
            persistence: 'u',
            ..table("cache")
        };
        assert_eq!(
            table_sql(&t, &names("s.cache"), &[], &[]),
            "CREATE UNLOGGED TABLE s.cache (\n);\n"
        );
        // UNLOGGED is meaningless (and refused by 18) on partitioned tables.
        let p = Table {
            relkind: 'p',
            persistence: 'u',
            partkey: Some("RANGE (logged_at)".into()),
            ..table("m")
        };
        let c = col(1, "logged_at", "timestamp without time zone");
        assert_eq!(
            table_sql(&p, &names("s.m"), &[&c], &[]),
            "CREATE TABLE s.m (\n    logged_at timestamp without time zone\n)\nPARTITION BY RANGE (logged_at);\n"
        );
    }

    #[test]
    fn partitions_print_every_column_and_check() {
        let t = Table {
            is_partition: true,
            parents: vec![2],
            partbound: Some("FOR VALUES IN (1)".into()),
            ..table("p1")
        };
        let mut a = col(1, "a", "integer");
        a.islocal = false;
        a.notnull = true;
        a.parent_notnull = true;
        a.default = Some((3, "5".into()));
        let mut gone = col(2, "........pg.dropped.2........", "-");
        gone.dropped = true;
        let inherited = Check {
            oid: 7,
            name: "p_a_check".into(),
            def: "CHECK ((a > 0))".into(),
            valid: true,
            local: false,
            ..Check::default()
        };
        let not_valid = Check {
            oid: 8,
            name: "nv".into(),
            def: "CHECK ((a > 1)) NOT VALID".into(),
            valid: false,
            local: false,
            ..Check::default()
        };
        assert_eq!(
            table_sql(&t, &names("s.p1"), &[&a, &gone], &[&inherited, &not_valid]),
            "CREATE TABLE s.p1 (\n    a integer DEFAULT 5 NOT NULL,\n    CONSTRAINT p_a_check CHECK ((a > 0))\n);\n"
        );
        assert!(!separate_check(&t, &not_valid));
        assert_eq!(
            attach_sql("s.p", "s.p1", "FOR VALUES IN (1)"),
            "ALTER TABLE ONLY s.p ATTACH PARTITION s.p1 FOR VALUES IN (1);\n"
        );
    }

    #[test]
    fn inheritance_children_print_local_parts_only() {
        let t = Table {
            parents: vec![2],
            ..table("cars")
        };
        let n = Names {
            inherits: vec!["s.vehicles".into()],
            ..names("s.cars")
        };
        // inherited: NOT NULL from the parent, default dropped on the child
        let mut make = col(1, "make", "text");
        make.islocal = false;
        make.notnull = true;
        make.parent_notnull = true;
        let mut wheels = col(2, "wheels", "integer");
        wheels.islocal = false;
        wheels.parent_default = true;
        // inherited, NOT NULL only here, default of its own
        let mut color = col(3, "color", "text");
        color.islocal = false;
        color.notnull = true;
        color.default = Some((11, "'red'::text".into()));
        let mut doors = col(4, "doors", "integer");
        // printed (local and inherited): its inherited NOT NULL comes with INHERITS
        doors.notnull = true;
        doors.parent_notnull = true;
        let inherited = Check {
            name: "wheels_nonneg".into(),
            def: "CHECK ((wheels >= 0))".into(),
            valid: true,
            local: false,
            ..Check::default()
        };
        let sql = table_sql(&t, &n, &[&make, &wheels, &color, &doors], &[&inherited]);
        assert_eq!(
            sql,
            "CREATE TABLE s.cars (\n    doors integer\n)\nINHERITS (s.vehicles);\n\
             ALTER TABLE ONLY s.cars ALTER COLUMN wheels SET DEFAULT NULL;\n\
             ALTER TABLE ONLY s.cars ALTER COLUMN color SET NOT NULL;\n"
        );
        assert!(separate_default(&t, &color));
        assert!(!separate_default(&t, &doors));
        assert_eq!(
            default_sql("ALTER TABLE", "s.cars", "color", "'red'::text"),
            "ALTER TABLE ONLY s.cars ALTER COLUMN color SET DEFAULT 'red'::text;\n"
        );
    }

    #[test]
    fn not_null_constraints_of_18() {
        let t = table("p");
        let n = Names {
            nn_constraints: true,
            ..names("s.p")
        };
        let nn = |name: &str, valid: bool, no_inherit: bool, local: bool| NotNull {
            oid: 1,
            name: name.into(),
            valid,
            no_inherit,
            local,
        };
        let mut a = col(1, "a", "integer");
        a.nn = Some(nn("p_a_not_null", true, false, true));
        let mut b = col(2, "b", "integer");
        b.nn = Some(nn("b_nn", true, false, true));
        let mut c = col(3, "c", "integer");
        c.nn = Some(nn("p_c_not_null", true, true, true));
        let mut d = col(4, "d", "integer");
        d.nn = Some(nn("d_nn", false, false, true));
        assert_eq!(
            table_sql(&t, &n, &[&a, &b, &c, &d], &[]),
            "CREATE TABLE s.p (\n    a integer NOT NULL,\n    b integer CONSTRAINT b_nn NOT NULL,\n    \
             c integer NOT NULL NO INHERIT,\n    d integer\n);\n"
        );
        // A child: inherited columns are not printed; a valid constraint whose
        // parent's is NOT VALID is printed as a table constraint.
        let child = Table {
            parents: vec![1],
            ..table("c")
        };
        let cn = Names {
            qualified: "s.c".into(),
            inherits: vec!["s.p".into()],
            nn_constraints: true,
        };
        let mut ca = col(1, "a", "integer");
        ca.islocal = false;
        ca.parent_notnull = true;
        ca.nn = Some(nn("p_a_not_null", true, false, false));
        let mut cd = col(4, "d", "integer");
        cd.islocal = false;
        cd.nn = Some(nn("d_nn", true, false, false));
        let e = col(5, "e", "integer");
        let mut cf = col(6, "f", "integer");
        cf.islocal = false;
        cf.nn = Some(nn("c_f_not_null", true, false, true));
        assert_eq!(
            table_sql(&child, &cn, &[&ca, &cd, &e, &cf], &[]),
            "CREATE TABLE s.c (\n    CONSTRAINT d_nn NOT NULL d,\n    e integer,\n    NOT NULL f\n)\nINHERITS (s.p);\n"
        );
        assert_eq!(
            add_constraint_sql("ALTER TABLE", "s.p", "d_nn", "NOT NULL d NOT VALID"),
            "ALTER TABLE s.p\n    ADD CONSTRAINT d_nn NOT NULL d NOT VALID;\n"
        );
    }

    #[test]
    fn per_column_settings_and_table_settings() {
        let t = Table {
            replident: 'f',
            force_rls: true,
            ..table("tuned")
        };
        let mut id = col(1, "id", "integer");
        id.stattarget = Some(1000);
        let mut doc = col(2, "doc", "text");
        doc.storage = Some('e');
        let mut blob = col(3, "blob", "bytea");
        blob.compression = Some('l');
        let mut small = col(4, "Small", "text");
        small.options = vec!["n_distinct=-0.5".into()];
        let sql = table_sql(&t, &names("s.tuned"), &[&id, &doc, &blob, &small], &[]);
        assert_eq!(
            sql,
            "CREATE TABLE s.tuned (\n    id integer,\n    doc text,\n    blob bytea,\n    \"Small\" text\n);\n\
             ALTER TABLE ONLY s.tuned ALTER COLUMN id SET STATISTICS 1000;\n\
             ALTER TABLE ONLY s.tuned ALTER COLUMN doc SET STORAGE EXTERNAL;\n\
             ALTER TABLE ONLY s.tuned ALTER COLUMN blob SET COMPRESSION lz4;\n\
             ALTER TABLE ONLY s.tuned ALTER COLUMN \"Small\" SET (n_distinct='-0.5');\n\
             ALTER TABLE ONLY s.tuned REPLICA IDENTITY FULL;\n\
             ALTER TABLE ONLY s.tuned FORCE ROW LEVEL SECURITY;\n"
        );
    }

    #[test]
    fn foreign_tables() {
        let t = Table {
            relkind: 'f',
            server: Some("Loop".into()),
            ft_options: vec!["schema_name=cov_core".into(), "table_name=it's".into()],
            ..table("remote")
        };
        let mut c = col(1, "id", "integer");
        c.fdw_options = vec!["column_name=ID".into()];
        assert_eq!(
            table_sql(&t, &names("s.remote"), &[&c], &[]),
            "CREATE FOREIGN TABLE s.remote (\n    id integer\n)\nSERVER \"Loop\"\nOPTIONS (\n    \
             schema_name 'cov_core',\n    table_name 'it''s'\n);\n\
             ALTER FOREIGN TABLE s.remote ALTER COLUMN id OPTIONS (\n    column_name 'ID'\n);\n"
        );
    }

    #[test]
    fn user_function_defaults_and_checks_are_separate() {
        let t = table("t");
        let mut c = col(1, "c", "integer");
        c.default = Some((4, "s.f()".into()));
        c.default_user_fn = true;
        assert!(!inline_default(&t, &c));
        assert!(separate_default(&t, &c));
        let k = Check {
            name: "k".into(),
            def: "CHECK (s.g(c))".into(),
            valid: true,
            local: true,
            user_fn: true,
            ..Check::default()
        };
        assert!(separate_check(&t, &k));
        assert_eq!(
            table_sql(&t, &names("s.t"), &[&c], &[&k]),
            "CREATE TABLE s.t (\n    c integer\n);\n"
        );
        // generated columns stay inline whatever they call
        let mut g = col(2, "g", "integer");
        g.default = Some((5, "s.f(c)".into()));
        g.default_user_fn = true;
        g.generated = Some('s');
        assert!(inline_default(&t, &g));
        assert!(!separate_default(&t, &g));
    }

    #[test]
    fn reloption_quoting() {
        assert_eq!(
            reloptions(
                &[
                    "fillfactor=70".into(),
                    "x=on".into(),
                    "y=a b".into(),
                    "z".into(),
                    "w=simple".into()
                ],
                ""
            ),
            vec!["fillfactor='70'", "x='on'", "y='a b'", "z=''", "w=simple"]
        );
        assert_eq!(
            reloptions(&["autovacuum_enabled=false".into()], "toast."),
            vec!["toast.autovacuum_enabled='false'"]
        );
    }

    #[test]
    fn extension_config_filters() {
        assert_eq!(config_filter(""), None);
        assert_eq!(
            config_filter("WHERE NOT standard"),
            Some("NOT standard".into())
        );
        assert_eq!(config_filter("where\tx > 1"), Some("x > 1".into()));
        assert_eq!(config_filter("wherever"), Some("wherever".into()));
    }

    #[test]
    fn queries_branch_on_version() {
        assert!(columns_sql(ServerVersion(100000)).contains("''::pg_catalog.text, a.attidentity"));
        assert!(columns_sql(ServerVersion(120000)).contains("a.attgenerated"));
        assert!(!columns_sql(ServerVersion(130000)).contains("a.attcompression"));
        assert!(columns_sql(ServerVersion(140000)).contains("a.attcompression"));
        assert!(!columns_sql(ServerVersion(170000)).contains("contype = 'n'"));
        assert!(columns_sql(ServerVersion(180000)).contains("contype = 'n'"));
        assert!(!columns_sql(ServerVersion(110000)).contains("MATERIALIZED"));
        assert!(columns_sql(ServerVersion(120000)).contains("att AS MATERIALIZED"));
        assert!(tables_sql(ServerVersion(110000)).contains("c.relhasoids"));
        assert!(!tables_sql(ServerVersion(120000)).contains("c.relhasoids"));
        assert!(tables_sql(ServerVersion(120000)).contains("c.relam"));
        assert!(tables_sql(ServerVersion(130000)).contains("x.indisprimary"));
        assert!(!tables_sql(ServerVersion(140000)).contains("x.indisprimary"));
    }
}
