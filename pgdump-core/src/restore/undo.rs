//! Undoing a restore into an existing database that stopped halfway (damaged
//! archive, lost connection, cancel): drop every object this run created, newest
//! first, on a connection of its own.

use pgdump_format::Toc;

use super::source::object_name;
use crate::conn::{connect, ConnConfig};
use crate::error::DbMessage;
use crate::TOOL_NAME;

/// What an undo did.
#[derive(Debug, Default)]
pub(super) struct Undone {
    pub dropped: usize,
    /// Objects that could not be dropped, with why.
    pub not_dropped: Vec<String>,
}

/// Drop the objects of `created` (TOC indices, in creation order) again.
pub(super) async fn drop_created(target: &ConnConfig, toc: &Toc, created: &[usize]) -> Undone {
    let mut out = Undone::default();
    let drops: Vec<(usize, &str)> = created
        .iter()
        .rev()
        .filter_map(|&i| Some((i, toc.entries.get(i)?.drop.as_deref()?)))
        .collect();
    if drops.is_empty() {
        return out;
    }
    let client = match connect(target, TOOL_NAME).await {
        Ok(c) => c,
        Err(e) => {
            out.not_dropped = drops
                .iter()
                .map(|(i, _)| format!("{} ({e})", object_name(&toc.entries[*i])))
                .collect();
            return out;
        }
    };
    let _ = client
        .batch_execute("SET client_min_messages = warning; SET lock_timeout = 0")
        .await;
    for (i, drop) in drops {
        match client.batch_execute(drop).await {
            Ok(()) => out.dropped += 1,
            Err(e) => out.not_dropped.push(format!(
                "{} ({})",
                object_name(&toc.entries[i]),
                DbMessage(&e)
            )),
        }
    }
    out
}
