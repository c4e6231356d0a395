//! Selecting a part of a dump: a table with what it needs (`-t`), or everything
//! but some tables and what depends on them (`-T`).
//!
//! Works on any list of nodes with dependencies, so the dump (items) and the
//! restore (TOC entries) share it.

use crate::catalog::{Item, Kind, ObjRef};

/// What selection needs to know about a node.
pub trait Node {
    /// Kind of the node.
    fn kind(&self) -> Kind;
    /// The catalog object the node defines or belongs to.
    fn obj(&self) -> ObjRef;
    /// Whether the node is the definition of its object.
    fn is_primary(&self) -> bool;
}

impl Node for Item {
    fn kind(&self) -> Kind {
        self.key.kind
    }
    fn obj(&self) -> ObjRef {
        self.key.obj
    }
    fn is_primary(&self) -> bool {
        self.primary
    }
}

/// Kinds that belong to the table they are on and come along when it is selected.
fn is_owned_kind(k: Kind) -> bool {
    matches!(
        k,
        Kind::Index
            | Kind::IndexAttach
            | Kind::Constraint
            | Kind::CheckConstraint
            | Kind::Trigger
            | Kind::Policy
            | Kind::RowSecurity
            | Kind::Rule
            | Kind::Statistics
            | Kind::Default
            | Kind::SequenceOwnedBy
            | Kind::FkConstraint
            | Kind::TableAttach
            | Kind::RefreshMatview
    )
}

/// The result of a selection.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `keep[i]`: node `i` is selected.
    pub keep: Vec<bool>,
    /// Nodes that belong to the selection but were left out because something they
    /// need is not selected (e.g. a foreign key to a table that is not selected).
    pub left_out: Vec<usize>,
}

/// Select the nodes `roots` (primary nodes of the chosen relations) with
/// everything they need to be created and everything that belongs to them.
pub fn closure<N: Node>(nodes: &[N], deps: &[Vec<usize>], roots: &[usize]) -> Selection {
    let n = nodes.len();
    let mut keep = vec![false; n];
    let root_objs: std::collections::HashSet<ObjRef> =
        roots.iter().map(|&r| nodes[r].obj()).collect();

    let mut stack: Vec<usize> = roots.to_vec();
    let pull = |stack: &mut Vec<usize>, keep: &mut Vec<bool>| {
        while let Some(i) = stack.pop() {
            if keep[i] {
                continue;
            }
            keep[i] = true;
            stack.extend(deps[i].iter().copied().filter(|&d| !keep[d]));
        }
    };
    pull(&mut stack, &mut keep);

    // Everything on a selected object (data, comments, ACLs, RLS switch ...) and the
    // dependent parts of a selected table (indexes, constraints, triggers ...).
    let mut fks = Vec::new();
    for i in 0..n {
        if keep[i] {
            continue;
        }
        let on_root = root_objs.contains(&nodes[i].obj())
            || (is_owned_kind(nodes[i].kind())
                && deps[i]
                    .iter()
                    .any(|d| root_objs.contains(&nodes[*d].obj()) && nodes[*d].is_primary()));
        if !on_root {
            continue;
        }
        if nodes[i].kind() == Kind::FkConstraint {
            fks.push(i);
        } else {
            stack.push(i);
        }
    }
    pull(&mut stack, &mut keep);

    // Companions of everything pulled in: comments, ACLs, sequence values.
    let kept_objs: std::collections::HashSet<ObjRef> = (0..n)
        .filter(|&i| keep[i] && nodes[i].is_primary())
        .map(|i| nodes[i].obj())
        .collect();
    for i in 0..n {
        if !keep[i]
            && kept_objs.contains(&nodes[i].obj())
            && matches!(
                nodes[i].kind(),
                Kind::Comment | Kind::Acl | Kind::SequenceSet | Kind::SequenceOwnedBy
            )
        {
            keep[i] = true;
        }
    }
    // Foreign keys only when what they reference is there too.
    let mut left_out = Vec::new();
    for i in fks {
        if deps[i].iter().all(|&d| keep[d]) {
            keep[i] = true;
        } else {
            left_out.push(i);
        }
    }
    // Drop whatever still misses a dependency (and what depends on it).
    loop {
        let mut changed = false;
        for i in 0..n {
            if keep[i] && deps[i].iter().any(|&d| !keep[d]) {
                keep[i] = false;
                left_out.push(i);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    left_out.sort_unstable();
    left_out.dedup();
    Selection { keep, left_out }
}

/// Leave out the nodes in `excluded` and everything that depends on them.
pub fn exclude_cascade(deps: &[Vec<usize>], excluded: &[bool]) -> Vec<bool> {
    let n = deps.len();
    let mut keep: Vec<bool> = (0..n)
        .map(|i| !excluded.get(i).copied().unwrap_or(false))
        .collect();
    loop {
        let mut changed = false;
        for i in 0..n {
            if keep[i] && deps[i].iter().any(|&d| !keep[d]) {
                keep[i] = false;
                changed = true;
            }
        }
        if !changed {
            return keep;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{class, Dep};

    fn obj(o: u32) -> ObjRef {
        ObjRef::new(class::PG_CLASS, o)
    }

    fn prim(kind: Kind, o: u32) -> Item {
        Item::new(kind, obj(o), format!("{o}"), "").primary()
    }

    #[test]
    fn table_with_what_it_needs() {
        // 0 schema, 1 seq, 2 table t (deps schema, seq), 3 data of t, 4 index on t,
        // 5 other table u, 6 fk t->u, 7 comment on seq, 8 seq set, 9 data of u
        let items = vec![
            prim(Kind::Schema, 100),
            prim(Kind::Sequence, 1),
            prim(Kind::Table, 2),
            Item::new(Kind::TableData, obj(2), "t", "").dep(Dep::Obj(obj(2))),
            prim(Kind::Index, 4),
            prim(Kind::Table, 5),
            prim(Kind::FkConstraint, 6),
            Item::new(Kind::Comment, obj(1), "c", ""),
            Item::new(Kind::SequenceSet, obj(1), "s", ""),
            Item::new(Kind::TableData, obj(5), "u", ""),
        ];
        let deps = vec![
            vec![],
            vec![0],
            vec![0, 1],
            vec![2],
            vec![2],
            vec![0],
            vec![2, 5],
            vec![1],
            vec![1],
            vec![5],
        ];
        let sel = closure(&items, &deps, &[2]);
        let kept: Vec<usize> = (0..items.len()).filter(|&i| sel.keep[i]).collect();
        assert_eq!(kept, vec![0, 1, 2, 3, 4, 7, 8]);
        assert_eq!(sel.left_out, vec![6]);
    }

    #[test]
    fn exclusion_cascades() {
        let deps = vec![vec![], vec![0], vec![1], vec![]];
        assert_eq!(
            exclude_cascade(&deps, &[false, true, false, false]),
            vec![true, false, false, true]
        );
    }
}
