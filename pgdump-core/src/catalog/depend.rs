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
    let rows = l
        .query(
            "dependencies",
            "SELECT DISTINCT classid, objid, refclassid, refobjid, deptype::text \
             FROM pg_catalog.pg_depend \
             WHERE deptype NOT IN ('p', 'x') AND objid >= $1 AND refobjid >= $1",
            &[&FIRST_NORMAL_OID],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| DepEdge {
            from: ObjRef::new(r.get(0), r.get(1)),
            to: ObjRef::new(r.get(2), r.get(3)),
            deptype: r.get::<_, String>(4).chars().next().unwrap_or('n'),
        })
        .collect())
}
