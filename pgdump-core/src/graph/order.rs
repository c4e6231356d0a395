//! Deterministic order: sort by (kind priority, schema, name), then a
//! topological sort that disturbs that order as little as possible (pg_dump's
//! approach: emit from the end, always taking the latest item nothing still
//! waits for). Attached items (comments, ACLs) follow their object.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::Graph;
use crate::catalog::{Dep, Item};
use crate::error::{CoreError, Result};

/// The sort key of an item before dependencies are considered.
fn sort_cmp(a: &Item, b: &Item) -> Ordering {
    a.key
        .kind
        .priority()
        .cmp(&b.key.kind.priority())
        .then_with(|| {
            a.schema
                .as_deref()
                .unwrap_or("")
                .cmp(b.schema.as_deref().unwrap_or(""))
        })
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.sort_extra.cmp(&b.sort_extra))
        .then_with(|| a.key.kind.tag().cmp(b.key.kind.tag()))
        .then_with(|| a.key.cmp(&b.key))
}

/// Order the graph: every item after its dependencies, attachments right after
/// their object. Fails naming the objects of a dependency loop it cannot break.
pub fn order(g: Graph) -> Result<Graph> {
    let n = g.items.len();
    // 1. Sort the non-attachment items by kind and name.
    let mut main: Vec<usize> = (0..n)
        .filter(|&i| !g.items[i].key.kind.is_attachment())
        .collect();
    main.sort_by(|&a, &b| sort_cmp(&g.items[a], &g.items[b]));
    let mut pos = vec![usize::MAX; n];
    for (p, &i) in main.iter().enumerate() {
        pos[i] = p;
    }

    // 2. Topological sort over the main items, filling the output from the end.
    // `waiting[i]`: how many main items that must come after i are not placed yet.
    let mut waiting = vec![0usize; n];
    for &i in &main {
        for &d in &g.deps[i] {
            if pos[d] != usize::MAX {
                waiting[d] += 1;
            }
        }
    }
    let mut heap: BinaryHeap<usize> = main
        .iter()
        .filter(|&&i| waiting[i] == 0)
        .map(|&i| pos[i])
        .collect();
    let mut out_rev: Vec<usize> = Vec::with_capacity(main.len());
    while let Some(p) = heap.pop() {
        let i = main[p];
        out_rev.push(i);
        for &d in &g.deps[i] {
            if pos[d] == usize::MAX {
                continue;
            }
            waiting[d] -= 1;
            if waiting[d] == 0 {
                heap.push(pos[d]);
            }
        }
    }
    if out_rev.len() < main.len() {
        let placed: std::collections::HashSet<usize> = out_rev.iter().copied().collect();
        let left: Vec<usize> = main
            .iter()
            .copied()
            .filter(|i| !placed.contains(i))
            .collect();
        return Err(CoreError::Catalog(describe_loop(&g, &left)));
    }
    out_rev.reverse();

    // 3. Attachments follow their object (dropped when the object is not dumped).
    let mut attached: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut primary_of = std::collections::HashMap::with_capacity(main.len());
    for &m in &main {
        if g.items[m].primary {
            primary_of.entry(g.items[m].key.obj).or_insert(m);
        }
    }
    for i in (0..n).filter(|&i| g.items[i].key.kind.is_attachment()) {
        let parent = g.items[i]
            .deps
            .iter()
            .find_map(|d| match d {
                Dep::Obj(o) if *o == g.items[i].key.obj => Some(*o),
                _ => None,
            })
            .and_then(|o| primary_of.get(&o).copied());
        if let Some(p) = parent {
            attached[p].push(i);
        }
    }
    for list in &mut attached {
        list.sort_by(|&a, &b| {
            // comments before ACLs, then by column number
            (
                g.items[a].key.kind.priority(),
                g.items[a].key.kind.tag(),
                g.items[a].key.sub,
            )
                .cmp(&(
                    g.items[b].key.kind.priority(),
                    g.items[b].key.kind.tag(),
                    g.items[b].key.sub,
                ))
        });
    }
    let mut order = Vec::with_capacity(n);
    for i in out_rev {
        order.push(i);
        order.extend(attached[i].iter().copied());
    }
    Ok(permute(g, &order))
}

/// Rebuild the graph with items in `order` (items not listed are dropped).
fn permute(g: Graph, order: &[usize]) -> Graph {
    let mut new_pos = vec![usize::MAX; g.items.len()];
    for (p, &i) in order.iter().enumerate() {
        new_pos[i] = p;
    }
    let mut slots: Vec<Option<(Item, Vec<usize>)>> =
        g.items.into_iter().zip(g.deps).map(Some).collect();
    let mut items = Vec::with_capacity(order.len());
    let mut deps = Vec::with_capacity(order.len());
    for &i in order {
        if let Some((item, d)) = slots.get_mut(i).and_then(Option::take) {
            let mut nd: Vec<usize> = d
                .into_iter()
                .map(|j| new_pos[j])
                .filter(|&j| j != usize::MAX)
                .collect();
            nd.sort_unstable();
            items.push(item);
            deps.push(nd);
        }
    }
    Graph { items, deps }
}

/// Find one cycle among the unplaced items and name its members.
fn describe_loop(g: &Graph, left: &[usize]) -> String {
    let in_left: std::collections::HashSet<usize> = left.iter().copied().collect();
    // Walk dependencies inside the remaining set until a node repeats.
    let mut path: Vec<usize> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let mut cur = left[0];
    loop {
        if let Some(&at) = seen.get(&cur) {
            let cycle: Vec<String> = path[at..]
                .iter()
                .map(|&i| {
                    let it = &g.items[i];
                    format!("{} {}", it.key.kind.tag(), display(it))
                })
                .collect();
            return format!("could not resolve dependency loop: {}", cycle.join(" -> "));
        }
        seen.insert(cur, path.len());
        path.push(cur);
        match g.deps[cur].iter().copied().find(|d| in_left.contains(d)) {
            Some(next) => cur = next,
            None => {
                return format!(
                    "could not order {} items (first: {})",
                    left.len(),
                    display(&g.items[left[0]])
                )
            }
        }
    }
}

fn display(it: &Item) -> String {
    match &it.schema {
        Some(s) => format!("{s}.{}", it.name),
        None => it.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{class, Kind, ObjRef};

    fn item(kind: Kind, oid: u32, name: &str) -> Item {
        Item::new(
            kind,
            ObjRef::new(class::PG_CLASS, oid),
            name,
            format!("-- {name}"),
        )
        .primary()
    }

    fn names(g: &Graph) -> Vec<String> {
        g.items.iter().map(|i| i.name.clone()).collect()
    }

    #[test]
    fn sorts_by_priority_then_name() {
        let items = vec![
            item(Kind::Index, 1, "i"),
            item(Kind::Table, 2, "b"),
            item(Kind::Table, 3, "a"),
            item(Kind::Schema, 4, "s"),
        ];
        let g = Graph {
            deps: vec![vec![]; 4],
            items,
        };
        assert_eq!(names(&order(g).unwrap()), ["s", "a", "b", "i"]);
    }

    #[test]
    fn dependencies_move_items_minimally() {
        // a (table) depends on z (table): z must move before a; the rest keeps its order.
        let items = vec![
            item(Kind::Table, 1, "a"),
            item(Kind::Table, 2, "m"),
            item(Kind::Table, 3, "z"),
        ];
        let g = Graph {
            deps: vec![vec![2], vec![], vec![]],
            items,
        };
        let o = order(g).unwrap();
        assert_eq!(names(&o), ["z", "a", "m"]);
        assert_eq!(o.deps[1], vec![0]);
    }

    #[test]
    fn attachments_follow_their_object() {
        let t = item(Kind::Table, 1, "t");
        let u = item(Kind::Table, 2, "u");
        let c = Item::new(
            Kind::Comment,
            ObjRef::new(class::PG_CLASS, 1),
            "TABLE t",
            "COMMENT",
        )
        .dep(Dep::Obj(ObjRef::new(class::PG_CLASS, 1)));
        let g = Graph {
            deps: vec![vec![], vec![], vec![0]],
            items: vec![t, u, c],
        };
        assert_eq!(names(&order(g).unwrap()), ["t", "TABLE t", "u"]);
    }

    #[test]
    fn loops_are_reported_by_name() {
        let items = vec![item(Kind::Table, 1, "a"), item(Kind::Function, 2, "f")];
        let g = Graph {
            deps: vec![vec![1], vec![0]],
            items,
        };
        let err = order(g).unwrap_err().to_string();
        assert!(err.contains("dependency loop"), "{err}");
        assert!(
            err.contains("TABLE a") && err.contains("FUNCTION f"),
            "{err}"
        );
    }
}
