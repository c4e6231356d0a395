//! Extensions: `CREATE EXTENSION IF NOT EXISTS x WITH SCHEMA s;` and their comments.
//!
//! As pg_dump (`selectDumpableExtension`, `dumpExtension`):
//! - no `VERSION` (the target installs its default version), no owner;
//! - extensions created by initdb (OID < 16384: `plpgsql`) are never created;
//! - extensions are not dumped when schemas are selected (`-n`): pg_dump does the
//!   same, as it dumps them only when dumping "everything". With a table selection
//!   (`-t`) they are emitted and the selection's dependency closure keeps those the
//!   selected tables need;
//! - the extension's schema is named even when that schema itself is not dumped
//!   (`pg_catalog`, or excluded with `-N`), as pg_dump does.
//!
//! Member objects are left out by the framework (`scope.ext_members`); the data of
//! configuration tables is the table module's.

use super::comment::{comment_item, CommentTarget};
use super::{class, Item, Kind, Loader, ObjRef, Oid, Scope};
use crate::error::Result;
use crate::quote::ident;

/// One row of [`QUERY`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct ExtensionRow {
    oid: Oid,
    name: String,
    schema: String,
}

/// User-installed extensions. Same on every version 10..18.
const QUERY: &str = "SELECT e.oid, e.extname::text, n.nspname::text \
     FROM pg_catalog.pg_extension e \
     JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace \
     WHERE e.oid >= 16384 \
     ORDER BY e.oid";

/// `CREATE EXTENSION IF NOT EXISTS x WITH SCHEMA s;`
fn create_sql(name: &str, schema: &str) -> String {
    format!(
        "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {};\n",
        ident(name),
        ident(schema)
    )
}

/// Items of one extension: its definition and comment.
fn extension_items(scope: &Scope, row: &ExtensionRow) -> Vec<Item> {
    let obj = ObjRef::new(class::PG_EXTENSION, row.oid);
    let q = ident(&row.name);
    let mut items = vec![Item::new(
        Kind::Extension,
        obj,
        row.name.clone(),
        create_sql(&row.name, &row.schema),
    )
    .primary()
    .drop(format!("DROP EXTENSION IF EXISTS {q};\n"))];
    items.extend(comment_item(
        scope,
        &CommentTarget {
            obj,
            sql_kind: "EXTENSION",
            sql_name: &q,
            schema: None,
            tag: &row.name,
            owner: None,
        },
    ));
    items
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    if !scope.opts.schemas.include.is_empty() {
        return Ok(Vec::new());
    }
    let rows = l.query("extensions", QUERY, &[]).await?;
    let mut items = Vec::new();
    for r in &rows {
        let row = ExtensionRow {
            oid: r.get(0),
            name: r.get(1),
            schema: r.get(2),
        };
        if !scope.dump_global(ObjRef::new(class::PG_EXTENSION, row.oid)) {
            continue;
        }
        items.extend(extension_items(scope, &row));
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`). Every extension can be re-created (whether the
/// target has it installed is the target's business, as with pg_dump).
pub(crate) async fn unsupported(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ServerVersion;
    use crate::options::DumpOptions;
    use std::collections::{HashMap, HashSet};

    #[test]
    fn create_and_comment() {
        let obj = ObjRef::new(class::PG_EXTENSION, 17000);
        let scope = Scope {
            version: ServerVersion(150000),
            opts: DumpOptions::default(),
            namespaces: HashMap::new(),
            relations: HashMap::new(),
            ext_members: HashSet::new(),
            comments: [((obj, 0), "key/value".to_string())].into_iter().collect(),
        };
        let row = ExtensionRow {
            oid: 17000,
            name: "uuid-ossp".into(),
            schema: "Ext".into(),
        };
        let items = extension_items(&scope, &row);
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0].create,
            "CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\" WITH SCHEMA \"Ext\";\n"
        );
        assert_eq!(items[0].name, "uuid-ossp");
        assert!(items[0].primary && items[0].owner.is_none() && items[0].schema.is_none());
        assert_eq!(
            items[0].drop.as_deref(),
            Some("DROP EXTENSION IF EXISTS \"uuid-ossp\";\n")
        );
        assert_eq!(
            items[1].create.trim_end(),
            "COMMENT ON EXTENSION \"uuid-ossp\" IS 'key/value';"
        );
        assert_eq!(items[1].name, "EXTENSION uuid-ossp");
    }
}
