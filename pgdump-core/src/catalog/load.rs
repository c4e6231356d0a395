//! Run every kind module against the snapshot and assemble the ordered graph.

use std::future::Future;
use std::pin::Pin;

use super::depend::{self, DepEdge};
use super::{
    aggregate, cast, class, collation, constraint, database, default_acl, domain, event_trigger,
    extension, fdw, function, index, language, large_object, operator, policy, publication, role,
    rule, schema, sequence, statistics, table, text_search, trigger, types, unsupported, view,
    Item, Kind, Loader, Scope,
};
use crate::error::{CoreError, Result};
use crate::graph::select::closure;
use crate::graph::{order::order, Graph};

type ItemsFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Item>>> + Send + 'a>>;

/// Load every kind of object in scope as items. Queries run pipelined on the
/// leader connection; tables must already be locked.
pub async fn load_items(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    load_items_on(std::slice::from_ref(l), scope).await
}

/// Like [`load_items`], spread over several connections in the same snapshot
/// (`lanes[0]` is the leader): the kinds are dealt out by expected cost, most
/// expensive first, so that the server reads the catalog on as many backends.
pub async fn load_items_on(lanes: &[Loader<'_>], scope: &Scope) -> Result<Vec<Item>> {
    let n = lanes.len();
    if n == 0 {
        return Err(CoreError::Internal(
            "no connection to read the catalog on".into(),
        ));
    }
    // Each kind has a rank; rank r runs on lane r % n. Measured on 2,000 tables,
    // tables take as long as indexes, views, constraints and sequences together, so
    // those have odd ranks (the second lane when there are two) and the cheap kinds
    // alternate.
    let lane = |i: usize| &lanes[i % n];
    // Results come back in this (the historical) order whatever the lanes.
    let futures: Vec<ItemsFuture<'_>> = vec![
        Box::pin(timed("schema", schema::collect(lane(10), scope))),
        Box::pin(timed("extension", extension::collect(lane(11), scope))),
        Box::pin(timed("types", types::collect(lane(2), scope))),
        Box::pin(timed("domain", domain::collect(lane(12), scope))),
        Box::pin(timed("collation", collation::collect(lane(13), scope))),
        Box::pin(timed("cast", cast::collect(lane(14), scope))),
        Box::pin(timed("operator", operator::collect(lane(6), scope))),
        Box::pin(timed("text_search", text_search::collect(lane(15), scope))),
        Box::pin(timed("language", language::collect(lane(16), scope))),
        Box::pin(timed("table", table::collect(lane(0), scope))),
        Box::pin(timed("constraint", constraint::collect(lane(5), scope))),
        Box::pin(timed("index", index::collect(lane(1), scope))),
        Box::pin(timed("sequence", sequence::collect(lane(7), scope))),
        Box::pin(timed("view", view::collect(lane(3), scope))),
        Box::pin(timed("function", function::collect(lane(9), scope))),
        Box::pin(timed("aggregate", aggregate::collect(lane(17), scope))),
        Box::pin(timed("trigger", trigger::collect(lane(8), scope))),
        Box::pin(timed(
            "event_trigger",
            event_trigger::collect(lane(18), scope),
        )),
        Box::pin(timed("rule", rule::collect(lane(19), scope))),
        Box::pin(timed("policy", policy::collect(lane(20), scope))),
        Box::pin(timed("default_acl", default_acl::collect(lane(21), scope))),
        Box::pin(timed("fdw", fdw::collect(lane(22), scope))),
        Box::pin(timed("publication", publication::collect(lane(23), scope))),
        Box::pin(timed("statistics", statistics::collect(lane(24), scope))),
        Box::pin(timed(
            "large_object",
            large_object::collect(lane(25), scope),
        )),
        Box::pin(timed("database", database::collect(lane(26), scope))),
        Box::pin(timed("role", role::collect(lane(4), scope))),
    ];
    let lists = futures::future::try_join_all(futures).await?;
    Ok(lists.into_iter().flatten().collect())
}

/// `fut`, with its duration logged at debug level.
async fn timed<T>(what: &str, fut: impl Future<Output = T>) -> T {
    let t0 = std::time::Instant::now();
    let out = fut.await;
    tracing::debug!(took = ?t0.elapsed(), "read {what}");
    out
}

/// Objects in scope that pgdump cannot reproduce.
pub async fn unsupported_objects(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    unsupported::census(l, scope).await
}

/// Load `pg_depend`.
pub async fn load_edges(l: &Loader<'_>) -> Result<Vec<DepEdge>> {
    depend::load(l).await
}

/// Build the dependency graph, apply the selection options and order it.
pub fn assemble(items: Vec<Item>, edges: &[DepEdge], scope: &Scope) -> Result<Graph> {
    check_unique_keys(&items)?;
    let is_seq = |oid| scope.relation(oid).is_some_and(|r| r.relkind == 'S');
    let graph = Graph::build(items, edges, |e| {
        // An owned sequence's auto dependency on its column: the SEQUENCE OWNED BY
        // item carries it (otherwise serial columns would make a loop).
        e.deptype == 'a'
            && e.from.class == class::PG_CLASS
            && e.to.class == class::PG_CLASS
            && is_seq(e.from.oid)
    });
    let graph = fk_after_index_attach(graph);
    let graph = select(graph, scope)?;
    let mut graph = order(graph)?;
    if scope.opts.schema_only || scope.opts.data_only {
        let keep: Vec<bool> = graph
            .items
            .iter()
            .map(|i| {
                // Large objects' comments and ACLs go with their data (as pg_dump -a).
                let data = i.key.kind.section() == pgdump_format::Section::Data
                    || (i.key.kind.is_attachment() && i.key.obj.class == class::PG_LARGEOBJECT);
                if scope.opts.data_only {
                    data
                } else {
                    // a large object's comment or ACL without the object would fail
                    let lo_attachment =
                        i.key.kind.is_attachment() && i.key.obj.class == class::PG_LARGEOBJECT;
                    !(data || lo_attachment)
                }
            })
            .collect();
        graph = graph.retain(&keep);
    }
    if scope.opts.no_owner {
        for item in &mut graph.items {
            item.alter_owner = None;
        }
    }
    if scope.opts.no_privileges {
        let keep: Vec<bool> = graph
            .items
            .iter()
            .map(|i| !matches!(i.key.kind, Kind::Acl | Kind::DefaultAcl))
            .collect();
        graph = graph.retain(&keep);
    }
    Ok(graph)
}

/// A unique constraint of a partitioned table is only usable by a foreign key
/// once every partition's index is attached (until then the parent's index is
/// invalid): make foreign keys wait for those INDEX ATTACH items (pg_dump's
/// `addConstrChildIdxDeps`), through every level of partitioning.
fn fk_after_index_attach(mut g: Graph) -> Graph {
    let mut attaches_of: std::collections::HashMap<usize, Vec<usize>> = Default::default();
    for (k, it) in g.items.iter().enumerate() {
        if it.key.kind == Kind::IndexAttach {
            for &d in &g.deps[k] {
                attaches_of.entry(d).or_default().push(k);
            }
        }
    }
    for i in 0..g.items.len() {
        if g.items[i].key.kind != Kind::FkConstraint {
            continue;
        }
        let mut extra = Vec::new();
        let mut stack: Vec<usize> = g.deps[i]
            .iter()
            .copied()
            .filter(|&d| matches!(g.items[d].key.kind, Kind::Constraint | Kind::Index))
            .collect();
        let mut seen = std::collections::HashSet::new();
        while let Some(c) = stack.pop() {
            if !seen.insert(c) {
                continue;
            }
            for &a in attaches_of.get(&c).map(Vec::as_slice).unwrap_or(&[]) {
                extra.push(a);
                // the attached child index may itself be partitioned
                stack.extend(g.deps[a].iter().copied().filter(|&d| {
                    d != c && matches!(g.items[d].key.kind, Kind::Constraint | Kind::Index)
                }));
            }
        }
        g.deps[i].extend(extra);
        g.deps[i].sort_unstable();
        g.deps[i].dedup();
    }
    g
}

/// `-t` (a relation with what it needs) and `-T` (leave out and cascade).
fn select(graph: Graph, scope: &Scope) -> Result<Graph> {
    let tables = &scope.opts.tables;
    if tables.include.is_empty() {
        return Ok(graph);
    }
    let mut roots: Vec<usize> = graph
        .items
        .iter()
        .enumerate()
        .filter(|(_, it)| {
            it.primary
                && it.key.obj.class == class::PG_CLASS
                && scope.relation(it.key.obj.oid).is_some_and(|r| {
                    r.dump && tables.include.iter().any(|p| p.matches(&r.schema, &r.name))
                })
        })
        .map(|(i, _)| i)
        .collect();
    if roots.is_empty() {
        let pats: Vec<&str> = tables.include.iter().map(|p| p.text.as_str()).collect();
        return Err(CoreError::Usage(format!(
            "no matching tables were found for {}",
            pats.join(", ")
        )));
    }
    // A partitioned table comes with its partitions (that is where its rows are).
    let mut i = 0;
    while i < roots.len() {
        let parent = graph.items[roots[i]].key.obj;
        for (j, it) in graph.items.iter().enumerate() {
            if it.key.kind == Kind::TableAttach && it.deps.contains(&super::Dep::Obj(parent)) {
                for d in &graph.deps[j] {
                    let child = &graph.items[*d];
                    if child.primary && child.key.obj != parent && !roots.contains(d) {
                        roots.push(*d);
                    }
                }
            }
        }
        i += 1;
    }
    let sel = closure(&graph.items, &graph.deps, &roots);
    for &i in &sel.left_out {
        let it = &graph.items[i];
        tracing::warn!(
            "leaving out {} {}: it needs objects outside the selection",
            it.key.kind.tag(),
            it.name
        );
    }
    Ok(graph.retain(&sel.keep))
}

fn check_unique_keys(items: &[Item]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    let mut primaries = std::collections::HashSet::new();
    for it in items {
        if !seen.insert(it.key) {
            return Err(CoreError::Internal(format!(
                "two items with the same key {:?} ({} {})",
                it.key,
                it.key.kind.tag(),
                it.name
            )));
        }
        if it.primary && !primaries.insert(it.key.obj) {
            return Err(CoreError::Internal(format!(
                "two primary items for {:?} ({} {})",
                it.key.obj,
                it.key.kind.tag(),
                it.name
            )));
        }
    }
    Ok(())
}
