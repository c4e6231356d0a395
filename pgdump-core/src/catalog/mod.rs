//! Reading the system catalogs into [`Item`]s, one module per object kind.
//!
//! Every kind module owns its catalog query (with its version branches, in one
//! place) and turns rows into items with pure DDL functions. The loading order
//! follows pg_dump: names, extensions and the list of relations first (no server
//! deparse function may run before the tables are locked), then the locks, then
//! everything else, pipelined on the leader connection.

pub mod acl;
pub mod comment;
pub mod depend;
pub mod item;
pub mod kind;
pub mod load;
pub mod scope;

mod aggregate;
mod binary_type;
mod cast;
mod collation;
mod constraint;
mod database;
mod default_acl;
mod domain;
mod event_trigger;
mod extension;
mod fdw;
mod function;
mod index;
mod language;
mod large_object;
mod operator;
mod policy;
mod publication;
mod role;
mod rule;
mod schema;
mod sequence;
mod statistics;
mod table;
mod text_search;
mod trigger;
mod types;
mod unsupported;
mod view;

pub use database::{properties as database_properties, DatabaseProperties, DATABASE_PLACEHOLDER};
pub use item::{CopySource, DataSource, Dep, Item, ItemKey};
pub use kind::Kind;
pub use scope::{Namespace, Relation, Scope};
pub(crate) use table::config_filter;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use crate::error::{QueryContext, Result};

/// A PostgreSQL object id.
pub type Oid = u32;

/// Objects with OIDs below this were created by initdb.
pub const FIRST_NORMAL_OID: Oid = 16384;

/// Identity of a catalog object as `pg_depend` names it: the OID of the catalog
/// holding it (`classid`) and its OID there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjRef {
    /// OID of the system catalog (see [`class`]).
    pub class: Oid,
    /// OID of the object in that catalog.
    pub oid: Oid,
}

impl ObjRef {
    /// An object in catalog `class`.
    pub const fn new(class: Oid, oid: Oid) -> Self {
        ObjRef { class, oid }
    }
}

/// OIDs of the system catalogs (stable across versions).
pub mod class {
    use super::Oid;
    /// pg_am
    pub const PG_AM: Oid = 2601;
    /// pg_attrdef
    pub const PG_ATTRDEF: Oid = 2604;
    /// pg_authid (roles)
    pub const PG_AUTHID: Oid = 1260;
    /// pg_cast
    pub const PG_CAST: Oid = 2605;
    /// pg_class
    pub const PG_CLASS: Oid = 1259;
    /// pg_collation
    pub const PG_COLLATION: Oid = 3456;
    /// pg_constraint
    pub const PG_CONSTRAINT: Oid = 2606;
    /// pg_conversion
    pub const PG_CONVERSION: Oid = 2607;
    /// pg_database
    pub const PG_DATABASE: Oid = 1262;
    /// pg_default_acl
    pub const PG_DEFAULT_ACL: Oid = 826;
    /// pg_event_trigger
    pub const PG_EVENT_TRIGGER: Oid = 3466;
    /// pg_extension
    pub const PG_EXTENSION: Oid = 3079;
    /// pg_foreign_data_wrapper
    pub const PG_FOREIGN_DATA_WRAPPER: Oid = 2328;
    /// pg_foreign_server
    pub const PG_FOREIGN_SERVER: Oid = 1417;
    /// pg_language
    pub const PG_LANGUAGE: Oid = 2612;
    /// pg_largeobject_metadata (pg_largeobject's classid in pg_depend/pg_description is 2613)
    pub const PG_LARGEOBJECT: Oid = 2613;
    /// pg_namespace
    pub const PG_NAMESPACE: Oid = 2615;
    /// pg_opclass
    pub const PG_OPCLASS: Oid = 2616;
    /// pg_operator
    pub const PG_OPERATOR: Oid = 2617;
    /// pg_opfamily
    pub const PG_OPFAMILY: Oid = 2753;
    /// pg_policy
    pub const PG_POLICY: Oid = 3256;
    /// pg_proc
    pub const PG_PROC: Oid = 1255;
    /// pg_publication
    pub const PG_PUBLICATION: Oid = 6104;
    /// pg_publication_namespace
    pub const PG_PUBLICATION_NAMESPACE: Oid = 6237;
    /// pg_publication_rel
    pub const PG_PUBLICATION_REL: Oid = 6106;
    /// pg_rewrite
    pub const PG_REWRITE: Oid = 2618;
    /// pg_statistic_ext
    pub const PG_STATISTIC_EXT: Oid = 3381;
    /// pg_subscription
    pub const PG_SUBSCRIPTION: Oid = 6100;
    /// pg_transform
    pub const PG_TRANSFORM: Oid = 3576;
    /// pg_trigger
    pub const PG_TRIGGER: Oid = 2620;
    /// pg_ts_config
    pub const PG_TS_CONFIG: Oid = 3602;
    /// pg_ts_dict
    pub const PG_TS_DICT: Oid = 3600;
    /// pg_ts_parser
    pub const PG_TS_PARSER: Oid = 3601;
    /// pg_ts_template
    pub const PG_TS_TEMPLATE: Oid = 3764;
    /// pg_type
    pub const PG_TYPE: Oid = 1247;
    /// pg_user_mapping
    pub const PG_USER_MAPPING: Oid = 1418;
}

/// The version of the server we read from (`server_version_num`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerVersion(pub u32);

impl ServerVersion {
    /// Oldest major we read.
    pub const MIN_MAJOR: u32 = 10;
    /// Newest major we know.
    pub const MAX_MAJOR: u32 = 18;

    /// The major version (10, 11, ... 18).
    pub fn major(self) -> u32 {
        self.0 / 10000
    }

    /// True for servers of `major` or newer.
    pub fn at_least(self, major: u32) -> bool {
        self.0 >= major * 10000
    }

    /// The number of key columns of `pg_index` row `i` (`INCLUDE` columns came in 11).
    pub fn index_key_columns_sql(self) -> &'static str {
        if self.at_least(11) {
            "i.indnkeyatts"
        } else {
            "i.indnatts"
        }
    }
}

/// Runs catalog queries on the leader connection inside the dump snapshot.
pub struct Loader<'a> {
    /// The leader's connection (in the snapshot transaction).
    pub client: &'a Client,
    /// Server version.
    pub version: ServerVersion,
}

impl Loader<'_> {
    /// Run a query; errors say what was being read.
    pub async fn query(
        &self,
        what: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>> {
        self.client
            .query(sql, params)
            .await
            .context(|| format!("reading {what}"))
    }
}

/// Render a PostgreSQL `text[]`-ish optional array column as a Vec (NULL → empty).
pub fn opt_vec(v: Option<Vec<String>>) -> Vec<String> {
    v.unwrap_or_default()
}

/// The DDL text of a synthetic catalog of `tables` tables of `columns` columns, each
/// with a serial sequence, a primary key (the single statement and the restore's two),
/// a foreign key and an index, through the same functions a dump uses on a server's
/// rows. Returns the bytes of SQL made. For the criterion benchmark of DDL generation
/// (feature `bench-internals`); not an API.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub fn bench_ddl(tables: usize, columns: usize) -> usize {
    let mut bytes = 0;
    for i in 0..tables {
        bytes += table::bench_ddl(i, columns).len();
        bytes += sequence::bench_ddl(i).len();
        bytes += constraint::bench_ddl(i).map_or(0, |s| s.len());
        bytes += index::bench_ddl(i).len();
    }
    bytes
}
