//! What is in the dump: schemas, extension membership, the list of relations,
//! comments. Loaded first, before any table lock and before any server-side
//! deparse function runs.

use std::collections::{HashMap, HashSet};

use super::{class, Loader, ObjRef, Oid, ServerVersion, FIRST_NORMAL_OID};
use crate::error::Result;
use crate::options::DumpOptions;

/// A schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// OID.
    pub oid: Oid,
    /// Name (unquoted).
    pub name: String,
    /// Owner.
    pub owner: String,
    /// Whether objects in it are dumped.
    pub dump: bool,
}

/// A relation (table, view, sequence, matview, foreign table, composite type's relation).
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// OID.
    pub oid: Oid,
    /// Schema OID.
    pub nsp: Oid,
    /// Schema name.
    pub schema: String,
    /// Name.
    pub name: String,
    /// `relkind`: r, p, v, m, S, f, c.
    pub relkind: char,
    /// Owner.
    pub owner: String,
    /// `relpersistence`: p, u, t.
    pub persistence: char,
    /// Is a partition.
    pub is_partition: bool,
    /// `relpages` from the last vacuum/analyze.
    pub relpages: i64,
    /// `reltuples` from the last vacuum/analyze (-1 = unknown on 14+).
    pub reltuples: f64,
    /// The definition is dumped.
    pub dump: bool,
    /// The data is dumped (tables with storage only).
    pub dump_data: bool,
    /// Member of an extension (configuration tables get their data dumped).
    pub ext_member: bool,
    /// Row filter of an extension configuration table (`Some("")` = all rows).
    pub ext_config_filter: Option<String>,
}

impl Relation {
    /// Tables whose rows live in this relation (plain and partition leaves, matviews excluded).
    pub fn has_rows(&self) -> bool {
        self.relkind == 'r'
    }

    /// Relations that get ACCESS SHARE locks: plain and partitioned tables.
    pub fn needs_lock(&self) -> bool {
        matches!(self.relkind, 'r' | 'p')
    }
}

/// The scope of a dump: everything catalog modules need to decide what to dump.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Source server version.
    pub version: ServerVersion,
    /// Options of the dump.
    pub opts: DumpOptions,
    /// Every schema, by OID.
    pub namespaces: HashMap<Oid, Namespace>,
    /// Every relation in a user schema, by OID.
    pub relations: HashMap<Oid, Relation>,
    /// Objects that belong to an extension (skipped: `CREATE EXTENSION` makes them).
    pub ext_members: HashSet<ObjRef>,
    /// Comments by (object, sub-id): `pg_description`.
    pub comments: HashMap<(ObjRef, i32), String>,
}

/// Schemas never dumped.
pub fn is_system_schema(name: &str) -> bool {
    name == "pg_catalog"
        || name == "information_schema"
        || name.starts_with("pg_toast")
        || name.starts_with("pg_temp_")
}

impl Scope {
    /// Load schemas, extension membership, relations and comments.
    pub async fn load(l: &Loader<'_>, opts: &DumpOptions) -> Result<Scope> {
        // Five independent queries, pipelined: one round trip instead of five.
        let (ns_rows, member_rows, cfg_rows, rel_rows, comment_rows) = futures::try_join!(
            l.query(
                "schemas",
                "SELECT n.oid, n.nspname, pg_catalog.pg_get_userbyid(n.nspowner) \
                 FROM pg_catalog.pg_namespace n",
                &[],
            ),
            l.query(
                "extension members",
                "SELECT classid, objid FROM pg_catalog.pg_depend \
                 WHERE deptype = 'e' AND refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass",
                &[],
            ),
            // Extension configuration tables: their rows are user data.
            l.query(
                "extension configuration tables",
                "SELECT t.cfg, coalesce(e.extcondition[t.i], '') \
                 FROM pg_catalog.pg_extension e, \
                      LATERAL unnest(e.extconfig) WITH ORDINALITY AS t(cfg, i) \
                 WHERE e.extconfig IS NOT NULL",
                &[],
            ),
            l.query(
                "relations",
                "SELECT c.oid, c.relnamespace, n.nspname, c.relname, c.relkind::text, \
                        pg_catalog.pg_get_userbyid(c.relowner), c.relpersistence::text, \
                        c.relispartition, c.relpages::int8, c.reltuples::float8 \
                 FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind IN ('r','p','v','m','S','f','c') \
                   AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' \
                 ORDER BY c.oid",
                &[],
            ),
            l.query(
                "comments",
                "SELECT classoid, objoid, objsubid, description FROM pg_catalog.pg_description \
                 WHERE objoid >= $1",
                &[&FIRST_NORMAL_OID],
            ),
        )?;
        let mut namespaces = HashMap::new();
        for r in ns_rows {
            let oid: Oid = r.get(0);
            let name: String = r.get(1);
            let dump = !is_system_schema(&name) && opts.schemas.selects_name(&name);
            namespaces.insert(
                oid,
                Namespace {
                    oid,
                    name,
                    owner: r.get(2),
                    dump,
                },
            );
        }

        let ext_members: HashSet<ObjRef> = member_rows
            .iter()
            .map(|r| ObjRef::new(r.get(0), r.get(1)))
            .collect();

        let ext_config: HashMap<Oid, String> = cfg_rows
            .iter()
            .map(|r| (r.get::<_, Oid>(0), r.get::<_, String>(1)))
            .collect();

        let mut relations = HashMap::new();
        for r in rel_rows {
            let oid: Oid = r.get(0);
            let nsp: Oid = r.get(1);
            let schema: String = r.get(2);
            let name: String = r.get(3);
            let relkind = first_char(&r.get::<_, String>(4));
            let persistence = first_char(&r.get::<_, String>(6));
            let ext_member = ext_members.contains(&ObjRef::new(class::PG_CLASS, oid));
            let ns_dump = namespaces.get(&nsp).is_some_and(|n| n.dump);
            let excluded = !opts.tables.exclude.is_empty()
                && opts
                    .tables
                    .exclude
                    .iter()
                    .any(|p| p.matches(&schema, &name));
            let ext_config_filter = if ext_member {
                ext_config.get(&oid).cloned()
            } else {
                None
            };
            let dump = ns_dump && !ext_member && !excluded;
            let data_possible = relkind == 'r'
                && !opts.schema_only
                && (opts.unlogged_data || persistence != 'u')
                && !opts
                    .exclude_table_data
                    .iter()
                    .any(|p| p.matches(&schema, &name));
            let dump_data = data_possible && (dump || (ext_config_filter.is_some() && ns_dump));
            relations.insert(
                oid,
                Relation {
                    oid,
                    nsp,
                    schema,
                    name,
                    relkind,
                    owner: r.get(5),
                    persistence,
                    is_partition: r.get(7),
                    relpages: r.get(8),
                    reltuples: r.get(9),
                    dump,
                    dump_data,
                    ext_member,
                    ext_config_filter,
                },
            );
        }

        let comments = comment_rows
            .into_iter()
            .map(|r| ((ObjRef::new(r.get(0), r.get(1)), r.get(2)), r.get(3)))
            .collect();

        Ok(Scope {
            version: l.version,
            opts: opts.clone(),
            namespaces,
            relations,
            ext_members,
            comments,
        })
    }

    /// Is the schema dumped?
    pub fn dump_ns(&self, nsp: Oid) -> bool {
        self.namespaces.get(&nsp).is_some_and(|n| n.dump)
    }

    /// Is an object in schema `nsp` dumped (schema dumped, not an extension member)?
    pub fn dump_obj(&self, nsp: Oid, obj: ObjRef) -> bool {
        self.dump_ns(nsp) && !self.ext_members.contains(&obj)
    }

    /// Is an object outside schemas dumped (not an extension member, not a system object)?
    pub fn dump_global(&self, obj: ObjRef) -> bool {
        obj.oid >= FIRST_NORMAL_OID && !self.ext_members.contains(&obj)
    }

    /// Schema name by OID ("" if unknown).
    pub fn ns_name(&self, nsp: Oid) -> &str {
        self.namespaces.get(&nsp).map_or("", |n| n.name.as_str())
    }

    /// A relation by OID.
    pub fn relation(&self, oid: Oid) -> Option<&Relation> {
        self.relations.get(&oid)
    }

    /// Is the relation's definition dumped?
    pub fn dump_rel(&self, oid: Oid) -> bool {
        self.relations.get(&oid).is_some_and(|r| r.dump)
    }

    /// OIDs of the dumped relations of the given kinds, sorted (for `= ANY($1)` filters).
    pub fn rel_oids(&self, kinds: &[char]) -> Vec<Oid> {
        let mut v: Vec<Oid> = self
            .relations
            .values()
            .filter(|r| r.dump && kinds.contains(&r.relkind))
            .map(|r| r.oid)
            .collect();
        v.sort_unstable();
        v
    }

    /// The comment on an object (sub-id 0) or one of its columns.
    pub fn comment(&self, obj: ObjRef, sub: i32) -> Option<&str> {
        if self.opts.no_comments {
            return None;
        }
        self.comments.get(&(obj, sub)).map(String::as_str)
    }
}

fn first_char(s: &str) -> char {
    s.chars().next().unwrap_or(' ')
}
