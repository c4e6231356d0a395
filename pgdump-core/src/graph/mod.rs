//! The object graph: items plus their dependencies, resolved to item indices.
//!
//! Edges come from `pg_depend` (folded onto the items that define objects: a
//! view's `_RETURN` rule, a table's inline defaults and CHECK constraints, its
//! row type, array types and extension members have no item of their own) and
//! from the explicit dependencies items declare.

pub mod order;
pub mod select;

use std::collections::HashMap;

use crate::catalog::depend::DepEdge;
use crate::catalog::{class, Dep, Item, ItemKey, ObjRef};

/// Items with dependencies resolved to indices into `items`.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// The items.
    pub items: Vec<Item>,
    /// `deps[i]`: indices of the items item `i` must come after (sorted, unique).
    pub deps: Vec<Vec<usize>>,
}

impl Graph {
    /// Build the graph. `skip` drops `pg_depend` edges that would be wrong for
    /// ordering (e.g. the auto dependency of an owned sequence on its table,
    /// which a separate OWNED BY item carries instead).
    pub fn build(items: Vec<Item>, edges: &[DepEdge], skip: impl Fn(&DepEdge) -> bool) -> Graph {
        let mut primary: HashMap<ObjRef, usize> = HashMap::new();
        let mut by_key: HashMap<ItemKey, usize> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            if item.primary {
                primary.insert(item.key.obj, i);
            }
            by_key.insert(item.key, i);
        }

        // Objects without an item of their own fold into the object they are part of.
        let mut fold: HashMap<ObjRef, ObjRef> = HashMap::new();
        // Loose members of an operator family (pg_amop 2602, pg_amproc 2603) have two
        // auto dependencies, on their operator or function and on the family: fold them
        // onto the family, as pg_dump does.
        let rank = |e: &DepEdge| match e.deptype {
            'e' => 0,
            'i' => 1,
            'a' if matches!(e.from.class, 2602 | 2603)
                && matches!(e.to.class, class::PG_OPCLASS | class::PG_OPFAMILY) =>
            {
                1
            }
            _ => 2,
        };
        let mut fold_rank: HashMap<ObjRef, u8> = HashMap::new();
        for e in edges {
            if primary.contains_key(&e.from) || !matches!(e.deptype, 'i' | 'a' | 'e' | 'I') {
                continue;
            }
            let r = rank(e);
            if fold_rank.get(&e.from).is_none_or(|old| r < *old) {
                fold.insert(e.from, e.to);
                fold_rank.insert(e.from, r);
            }
        }
        let resolve = |mut o: ObjRef| -> ObjRef {
            for _ in 0..16 {
                match fold.get(&o) {
                    Some(n) if !primary.contains_key(&o) => o = *n,
                    _ => break,
                }
            }
            o
        };

        let mut deps: Vec<Vec<usize>> = vec![Vec::new(); items.len()];
        for e in edges {
            if e.deptype == 'e' || skip(e) {
                continue;
            }
            // A partition's clone (trigger, foreign key) without an item of its own is
            // recreated from its parent: its partition links (P/S, I on 11) must not become
            // dependencies of the object it folds into (the partition).
            if matches!(e.deptype, 'P' | 'S' | 'I') && !primary.contains_key(&e.from) {
                continue;
            }
            let (f, t) = (resolve(e.from), resolve(e.to));
            if f == t {
                continue;
            }
            if let (Some(&fi), Some(&ti)) = (primary.get(&f), primary.get(&t)) {
                if fi != ti {
                    deps[fi].push(ti);
                }
            }
        }
        for (i, item) in items.iter().enumerate() {
            for d in &item.deps {
                let target = match d {
                    Dep::Obj(o) => primary.get(&resolve(*o)).copied(),
                    Dep::Key(k) => by_key.get(k).copied(),
                };
                if let Some(t) = target {
                    if t != i {
                        deps[i].push(t);
                    }
                }
            }
        }
        for d in &mut deps {
            d.sort_unstable();
            d.dedup();
        }
        Graph { items, deps }
    }

    /// Keep the items for which `keep[i]` is true; dependencies on dropped items vanish.
    pub fn retain(self, keep: &[bool]) -> Graph {
        let mut map = vec![usize::MAX; self.items.len()];
        let mut items = Vec::new();
        let mut old_deps = Vec::new();
        for (i, (item, d)) in self.items.into_iter().zip(self.deps).enumerate() {
            if keep.get(i).copied().unwrap_or(false) {
                map[i] = items.len();
                items.push(item);
                old_deps.push(d);
            }
        }
        let deps = old_deps
            .into_iter()
            .map(|d| {
                d.into_iter()
                    .filter_map(|j| map.get(j).copied().filter(|m| *m != usize::MAX))
                    .collect()
            })
            .collect();
        Graph { items, deps }
    }

    /// Index of the primary item of an object.
    pub fn primary_of(&self, obj: ObjRef) -> Option<usize> {
        self.items
            .iter()
            .position(|i| i.primary && i.key.obj == obj)
    }
}
