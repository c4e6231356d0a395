//! (stub) — to be written: see catalog/README.md.

use super::{Item, Loader, Scope};
use crate::error::Result;

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<Item>> {
    Ok(Vec::new())
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`). The dump fails on them unless told to skip.
pub(crate) async fn unsupported(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}
