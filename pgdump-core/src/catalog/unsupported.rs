//! (stub) — to be written: see catalog/README.md.
//!
//! Collects what every kind module reports it cannot reproduce, plus checks for
//! kinds no module handles at all.

use super::{
    aggregate, cast, collation, constraint, database, default_acl, domain, event_trigger,
    extension, fdw, function, index, language, large_object, operator, policy, publication, rule,
    schema, sequence, statistics, table, text_search, trigger, types, view, Loader, Scope,
};
use crate::error::Result;

/// Every object in the dump scope that pgdump cannot reproduce, one line each
/// (`kind identity: why`), e.g. `base type public.mytype: C I/O functions`.
pub(crate) async fn census(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    let parts = futures::future::try_join_all(vec![
        Box::pin(orphan_kinds(l, scope)) as std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<String>>> + Send + '_>>,
        Box::pin(schema::unsupported(l, scope)),
        Box::pin(extension::unsupported(l, scope)),
        Box::pin(types::unsupported(l, scope)),
        Box::pin(domain::unsupported(l, scope)),
        Box::pin(collation::unsupported(l, scope)),
        Box::pin(cast::unsupported(l, scope)),
        Box::pin(operator::unsupported(l, scope)),
        Box::pin(text_search::unsupported(l, scope)),
        Box::pin(language::unsupported(l, scope)),
        Box::pin(table::unsupported(l, scope)),
        Box::pin(constraint::unsupported(l, scope)),
        Box::pin(index::unsupported(l, scope)),
        Box::pin(sequence::unsupported(l, scope)),
        Box::pin(view::unsupported(l, scope)),
        Box::pin(function::unsupported(l, scope)),
        Box::pin(aggregate::unsupported(l, scope)),
        Box::pin(trigger::unsupported(l, scope)),
        Box::pin(event_trigger::unsupported(l, scope)),
        Box::pin(rule::unsupported(l, scope)),
        Box::pin(policy::unsupported(l, scope)),
        Box::pin(default_acl::unsupported(l, scope)),
        Box::pin(fdw::unsupported(l, scope)),
        Box::pin(publication::unsupported(l, scope)),
        Box::pin(statistics::unsupported(l, scope)),
        Box::pin(large_object::unsupported(l, scope)),
        Box::pin(database::unsupported(l, scope)),
    ])
    .await?;
    let mut all: Vec<String> = parts.into_iter().flatten().collect();
    all.sort();
    all.dedup();
    Ok(all)
}

/// Kinds no module handles: base types with C I/O functions, access methods,
/// conversions, transforms, text search parsers and templates, subscriptions,
/// security labels, ... (to be written).
async fn orphan_kinds(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}
