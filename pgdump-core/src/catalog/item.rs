//! Items: what the catalog modules produce, one per future TOC entry.

use std::collections::BTreeMap;

use super::kind::Kind;
use super::{ObjRef, Oid};

/// Identity of an item: its kind, the catalog object it belongs to, and a
/// sub-number distinguishing several items of one kind on one object (e.g. the
/// comments on a table's columns use the column number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemKey {
    /// Kind of the item.
    pub kind: Kind,
    /// The catalog object the item defines or belongs to.
    pub obj: ObjRef,
    /// Distinguishes several items of one kind on one object (0 if unique).
    pub sub: u32,
}

/// A dependency of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dep {
    /// The primary item of a catalog object (its definition), whatever its kind.
    Obj(ObjRef),
    /// A specific item.
    Key(ItemKey),
}

/// One future TOC entry, before ordering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Unique identity.
    pub key: ItemKey,
    /// True when this item is the definition of `key.obj`: `pg_depend` edges and
    /// [`Dep::Obj`] resolve to it. Exactly one item per dumped object is primary.
    pub primary: bool,
    /// Schema (unquoted), if the object lives in one.
    pub schema: Option<String>,
    /// Display name (unquoted), pg_dump style (`orders`, `orders orders_pkey`, `add(integer, integer)`).
    pub name: String,
    /// Tie-breaker after (priority, schema, name) for a deterministic order.
    pub sort_extra: String,
    /// Owning role (unquoted).
    pub owner: Option<String>,
    /// SQL creating the object.
    pub create: String,
    /// SQL setting the owner (skipped by `--no-owner`).
    pub alter_owner: Option<String>,
    /// SQL dropping the object, with `IF EXISTS`.
    pub drop: Option<String>,
    /// Dependencies beyond those found in `pg_depend`.
    pub deps: Vec<Dep>,
    /// What data this item loads, for data items.
    pub data: Option<DataSource>,
    /// Extra properties copied into the TOC entry (`relkind`, `table`, `est_bytes` ...).
    pub meta: BTreeMap<String, String>,
}

impl Item {
    /// A new item with the given identity and SQL; everything else empty.
    pub fn new(
        kind: Kind,
        obj: ObjRef,
        name: impl Into<String>,
        create: impl Into<String>,
    ) -> Self {
        Item {
            key: ItemKey { kind, obj, sub: 0 },
            primary: false,
            schema: None,
            name: name.into(),
            sort_extra: String::new(),
            owner: None,
            create: create.into(),
            alter_owner: None,
            drop: None,
            deps: Vec::new(),
            data: None,
            meta: BTreeMap::new(),
        }
    }

    /// Mark as the primary (defining) item of its object.
    pub fn primary(mut self) -> Self {
        self.primary = true;
        self
    }

    /// Set the schema.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Set the owner and the statement that applies it.
    pub fn owner(mut self, owner: impl Into<String>, alter_owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self.alter_owner = Some(alter_owner.into());
        self
    }

    /// Set the drop statement.
    pub fn drop(mut self, drop: impl Into<String>) -> Self {
        self.drop = Some(drop.into());
        self
    }

    /// Set the sub-number of the key.
    pub fn with_sub(mut self, sub: u32) -> Self {
        self.key.sub = sub;
        self
    }

    /// Add a dependency.
    pub fn dep(mut self, dep: Dep) -> Self {
        self.deps.push(dep);
        self
    }

    /// Add a meta property.
    pub fn meta(mut self, name: &str, value: impl Into<String>) -> Self {
        self.meta.insert(name.to_string(), value.into());
        self
    }

    /// Set the sort tie-breaker.
    pub fn sort_extra(mut self, extra: impl Into<String>) -> Self {
        self.sort_extra = extra.into();
        self
    }
}

/// Where a data item's data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// Rows of one table, by COPY.
    Copy(CopySource),
    /// Contents of large objects.
    LargeObjects(Vec<Oid>),
}

/// How to COPY one table out of the source and into the target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopySource {
    /// The table read.
    pub relid: Oid,
    /// Schema of the table read (unquoted).
    pub schema: String,
    /// Name of the table read (unquoted).
    pub name: String,
    /// Columns to copy, in order (unquoted; no dropped or generated columns).
    pub columns: Vec<String>,
    /// Every column type has a binary representation safe to load into another database.
    pub binary_safe: bool,
    /// Where rows are loaded: `(schema, name)`, when different from the table read
    /// (partitions loaded through their root).
    pub load_target: Option<(String, String)>,
    /// Row filter (`WHERE ...` without the keyword), for extension configuration tables.
    pub filter: Option<String>,
    /// Pages of the table at dump time (for splitting and scheduling).
    pub pages: u64,
    /// Estimated bytes of COPY output (for progress and scheduling).
    pub est_bytes: u64,
    /// Single integer primary-key column usable to split the table on servers
    /// without TID range scans (< 14).
    pub int_key: Option<String>,
    /// How each column's binary form is read without a server (see
    /// `pgdump_format::TableData::binary_types`); filled while the catalog is read for tables whose
    /// every column type pgdump can turn back into text. Empty: dump as text.
    pub binary_types: Vec<String>,
}
