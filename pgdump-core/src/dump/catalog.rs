//! The catalog part of a dump: scope, locks, items, graph.

use tokio_postgres::Client;

use super::lock::lock_tables;
use crate::catalog::load::{assemble, load_all_on, Loaded};
use crate::catalog::{Loader, Relation, Scope, ServerVersion};
use crate::error::{CoreError, QueryContext, Result};
use crate::graph::Graph;
use crate::options::DumpOptions;
use crate::session;

/// Everything read from the catalogs, ordered.
#[derive(Debug)]
pub struct CatalogDump {
    /// Server version.
    pub version: ServerVersion,
    /// `server_version` text.
    pub version_text: String,
    /// Database name.
    pub database: String,
    /// Database encoding.
    pub encoding: String,
    /// The scope (schemas, relations) the dump covers.
    pub scope: Scope,
    /// Items in restore order with their dependencies.
    pub graph: Graph,
    /// Objects that could not be reproduced and were skipped (`--skip-unsupported`).
    pub skipped: Vec<String>,
}

/// The first part of the catalog read: database, scope, and the locks that must
/// be held before any server deparse function runs.
#[derive(Debug)]
pub struct CatalogStart {
    database: String,
    encoding: String,
    scope: Scope,
}

/// Read the database and the scope, and lock the dumped tables, on the leader
/// (set up and inside the dump transaction).
pub async fn start_in_snapshot(
    client: &Client,
    version: ServerVersion,
    opts: &DumpOptions,
) -> Result<CatalogStart> {
    let l = Loader { client, version };
    let (row, scope) = futures::try_join!(
        async {
            client
                .query_one(
                    "SELECT pg_catalog.current_database()::text, \
                            pg_catalog.pg_encoding_to_char(d.encoding)::text \
                     FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()",
                    &[],
                )
                .await
                .context(|| "reading the database".to_string())
        },
        Scope::load(&l, opts),
    )?;
    let database: String = row.get(0);
    let encoding: String = row.get(1);

    let mut to_lock: Vec<&Relation> = scope
        .relations
        .values()
        .filter(|r| (r.dump || r.dump_data) && r.needs_lock())
        .collect();
    to_lock.sort_by_key(|r| r.oid);
    lock_tables(client, &to_lock, opts.lock_wait_timeout).await?;
    Ok(CatalogStart {
        database,
        encoding,
        scope,
    })
}

/// Read every object in scope and build the ordered graph. `helpers` are other
/// connections in the leader's snapshot (dump workers): the catalog queries are
/// spread over them and the leader, so the server reads on several backends.
pub async fn finish_in_snapshot(
    client: &Client,
    helpers: &[Client],
    version: ServerVersion,
    version_text: String,
    start: CatalogStart,
) -> Result<CatalogDump> {
    let CatalogStart {
        database,
        encoding,
        scope,
    } = start;
    let lanes: Vec<Loader<'_>> = std::iter::once(client)
        .chain(helpers.iter())
        .map(|client| Loader { client, version })
        .collect();
    let t0 = std::time::Instant::now();
    let Loaded {
        items,
        edges,
        unsupported,
    } = load_all_on(&lanes, &scope).await?;
    if !unsupported.is_empty() && !scope.opts.skip_unsupported {
        return Err(CoreError::Unsupported {
            objects: unsupported,
        });
    }
    for u in &unsupported {
        tracing::warn!("skipping {u}");
    }
    tracing::debug!(took = ?t0.elapsed(), items = items.len(), edges = edges.len(), "catalog objects read");
    let t0 = std::time::Instant::now();
    let graph = assemble(items, &edges, &scope)?;
    tracing::debug!(took = ?t0.elapsed(), items = graph.items.len(), "graph built");
    Ok(CatalogDump {
        version,
        version_text,
        database,
        encoding,
        scope,
        graph,
        skipped: unsupported,
    })
}

/// Read the catalog on a connection that is already set up and inside the dump
/// transaction (leader snapshot).
pub async fn read_in_snapshot(
    client: &Client,
    version: ServerVersion,
    version_text: String,
    opts: &DumpOptions,
) -> Result<CatalogDump> {
    let start = start_in_snapshot(client, version, opts).await?;
    finish_in_snapshot(client, &[], version, version_text, start).await
}

/// Read the catalog of the database `client` is connected to, in a snapshot of
/// its own (no data). For tools and tests; [`crate::dump::dump`] does this as part
/// of a dump.
pub async fn read_catalog(client: &Client, opts: &DumpOptions) -> Result<CatalogDump> {
    let (version, text) = session::setup_dump_then(
        client,
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        "starting the catalog transaction",
    )
    .await?;
    let res = read_in_snapshot(client, version, text, opts).await;
    let _ = client.batch_execute("ROLLBACK").await;
    res
}

/// The definitions of a graph as one SQL script (no data): every item's SQL in
/// order, owners included. For tests and `pgdump sql`-like output.
pub fn schema_sql(graph: &Graph) -> String {
    let mut out = String::new();
    for item in &graph.items {
        if item.key.kind.section() == pgdump_format::Section::Data
            || item.key.kind == crate::catalog::Kind::Database
        {
            continue;
        }
        out.push_str(&format!(
            "\n-- {} {}{}\n",
            item.key.kind.tag(),
            item.schema
                .as_deref()
                .map(|s| format!("{s}."))
                .unwrap_or_default(),
            item.name
        ));
        out.push_str(&item.create);
        if let Some(o) = &item.alter_owner {
            out.push_str(o);
        }
    }
    out
}
