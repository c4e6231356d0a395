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

type PartFuture<'a> = Pin<Box<dyn Future<Output = Result<Part>> + Send + 'a>>;

/// What one piece of the catalog read brings.
enum Part {
    Items(Vec<Item>),
    Edges(Vec<DepEdge>),
    Unsupported(Vec<String>),
}

/// Everything the catalog read brings, before assembly.
pub struct Loaded {
    /// Items of every kind, in the historical order of the kinds.
    pub items: Vec<Item>,
    /// `pg_depend`.
    pub edges: Vec<DepEdge>,
    /// Objects in scope that pgdump cannot reproduce.
    pub unsupported: Vec<String>,
}

/// The pieces of the catalog read, most expensive first (measured on 2,000 tables:
/// tables take as long as indexes, views, constraints and sequences together).
const PIECES: [&str; 29] = [
    "table",
    "index",
    "view",
    "sequence",
    "constraint",
    "function",
    "pg_depend",
    "unsupported",
    "types",
    "role",
    "trigger",
    "operator",
    "schema",
    "extension",
    "domain",
    "collation",
    "cast",
    "text_search",
    "language",
    "aggregate",
    "event_trigger",
    "rule",
    "policy",
    "default_acl",
    "fdw",
    "publication",
    "statistics",
    "large_object",
    "database",
];

/// Order in which the kinds' items are returned (historical; the graph sorts them).
const ITEM_ORDER: [&str; 27] = [
    "schema",
    "extension",
    "types",
    "domain",
    "collation",
    "cast",
    "operator",
    "text_search",
    "language",
    "table",
    "constraint",
    "index",
    "sequence",
    "view",
    "function",
    "aggregate",
    "trigger",
    "event_trigger",
    "rule",
    "policy",
    "default_acl",
    "fdw",
    "publication",
    "statistics",
    "large_object",
    "database",
    "role",
];

/// Start reading one piece on `l`.
fn start<'a>(piece: &'static str, l: &'a Loader<'a>, scope: &'a Scope) -> PartFuture<'a> {
    fn items<'a>(
        what: &'static str,
        f: impl Future<Output = Result<Vec<Item>>> + Send + 'a,
    ) -> PartFuture<'a> {
        Box::pin(async move { timed(what, f).await.map(Part::Items) })
    }
    match piece {
        "table" => items(piece, table::collect(l, scope)),
        "index" => items(piece, index::collect(l, scope)),
        "view" => items(piece, view::collect(l, scope)),
        "sequence" => items(piece, sequence::collect(l, scope)),
        "constraint" => items(piece, constraint::collect(l, scope)),
        "function" => items(piece, function::collect(l, scope)),
        "pg_depend" => Box::pin(async move { depend::load(l).await.map(Part::Edges) }),
        "unsupported" => {
            Box::pin(async move { unsupported::census(l, scope).await.map(Part::Unsupported) })
        }
        "types" => items(piece, types::collect(l, scope)),
        "role" => items(piece, role::collect(l, scope)),
        "trigger" => items(piece, trigger::collect(l, scope)),
        "operator" => items(piece, operator::collect(l, scope)),
        "schema" => items(piece, schema::collect(l, scope)),
        "extension" => items(piece, extension::collect(l, scope)),
        "domain" => items(piece, domain::collect(l, scope)),
        "collation" => items(piece, collation::collect(l, scope)),
        "cast" => items(piece, cast::collect(l, scope)),
        "text_search" => items(piece, text_search::collect(l, scope)),
        "language" => items(piece, language::collect(l, scope)),
        "aggregate" => items(piece, aggregate::collect(l, scope)),
        "event_trigger" => items(piece, event_trigger::collect(l, scope)),
        "rule" => items(piece, rule::collect(l, scope)),
        "policy" => items(piece, policy::collect(l, scope)),
        "default_acl" => items(piece, default_acl::collect(l, scope)),
        "fdw" => items(piece, fdw::collect(l, scope)),
        "publication" => items(piece, publication::collect(l, scope)),
        "statistics" => items(piece, statistics::collect(l, scope)),
        "large_object" => items(piece, large_object::collect(l, scope)),
        "database" => items(piece, database::collect(l, scope)),
        other => {
            Box::pin(async move { Err(CoreError::Internal(format!("no catalog piece {other}"))) })
        }
    }
}

/// Pieces a connection has in flight at once: enough to keep its requests pipelined
/// (the cheap kinds are a round trip each), few enough that what is left goes to
/// whichever connection frees up first.
const IN_FLIGHT: usize = 4;

/// Read the whole catalog (items of every kind, `pg_depend`, the census of what
/// cannot be dumped) on several connections in the same snapshot (`lanes[0]` is the
/// leader). Each connection keeps a few pieces in flight and takes the next one, most
/// expensive first, as one of its own finishes: the server reads the catalog on as many
/// backends, and a piece that is slow on this database does not leave the other
/// connections idle.
pub async fn load_all_on<'a>(lanes: &'a [Loader<'a>], scope: &'a Scope) -> Result<Loaded> {
    if lanes.is_empty() {
        return Err(CoreError::Internal(
            "no connection to read the catalog on".into(),
        ));
    }
    // The first pieces are dealt round the lanes (lane k gets pieces k, k + n, ...), so
    // that the most expensive ones do not all land on the first; the rest go to
    // whichever lane has room first.
    let n = lanes.len();
    let next = std::sync::atomic::AtomicUsize::new(n * IN_FLIGHT);
    let drive = |(k, l): (usize, &'a Loader<'a>)| {
        let next = &next;
        async move {
            let mut running = futures::stream::FuturesUnordered::new();
            let mut done: Vec<(&'static str, Part)> = Vec::new();
            let mut dealt = (0..IN_FLIGHT).map(|j| k + j * n);
            loop {
                while running.len() < IN_FLIGHT {
                    let i = dealt
                        .next()
                        .unwrap_or_else(|| next.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
                    let Some(&piece) = PIECES.get(i) else { break };
                    running.push(async move { (piece, start(piece, l, scope).await) });
                }
                match futures::StreamExt::next(&mut running).await {
                    Some((piece, part)) => done.push((piece, part?)),
                    None => return Ok::<_, CoreError>(done),
                }
            }
        }
    };
    let per_lane = futures::future::try_join_all(lanes.iter().enumerate().map(drive)).await?;
    let mut by_piece: std::collections::HashMap<&'static str, Part> =
        per_lane.into_iter().flatten().collect();
    let mut out = Loaded {
        items: Vec::new(),
        edges: Vec::new(),
        unsupported: Vec::new(),
    };
    for kind in ITEM_ORDER {
        if let Some(Part::Items(v)) = by_piece.remove(kind) {
            out.items.extend(v);
        }
    }
    for (_, part) in by_piece {
        match part {
            Part::Edges(e) => out.edges = e,
            Part::Unsupported(u) => out.unsupported = u,
            Part::Items(_) => {}
        }
    }
    Ok(out)
}

/// `fut`, with its duration logged at debug level.
async fn timed<T>(what: &str, fut: impl Future<Output = T>) -> T {
    let t0 = std::time::Instant::now();
    let out = fut.await;
    tracing::debug!(took = ?t0.elapsed(), "read {what}");
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every piece that brings items has a place in the item order (or its items would be
    /// dropped), and every piece is read once.
    #[test]
    fn every_piece_is_read_once_and_its_items_kept() {
        let mut pieces: Vec<&str> = PIECES.to_vec();
        pieces.sort_unstable();
        let n = pieces.len();
        pieces.dedup();
        assert_eq!(pieces.len(), n, "a piece is listed twice");
        let mut items: Vec<&str> = ITEM_ORDER.to_vec();
        items.extend(["pg_depend", "unsupported"]);
        items.sort_unstable();
        assert_eq!(pieces, items);
    }
}
