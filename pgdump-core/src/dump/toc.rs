//! Turning the ordered graph and the data plan into the archive's TOC.

use std::collections::BTreeMap;

use pgdump_format::{ArchiveInfo, DataKind, EntryId, StreamDecl, TableData, Toc, TocEntry};

use super::plan::{Unit, Work};
use crate::catalog::{DataSource, Item};
use crate::graph::Graph;
use crate::quote::{ident, qualify};

/// Build the TOC. Entry ids are 1-based positions in the ordered graph.
pub fn build(graph: Graph, units: &[Unit], info: ArchiveInfo) -> Toc {
    let Graph { items, deps } = graph;
    let mut streams_of: Vec<Vec<&Unit>> = vec![Vec::new(); items.len()];
    for u in units {
        if let Some(list) = streams_of.get_mut(u.item) {
            list.push(u);
        }
    }
    let entries = items
        .into_iter()
        .zip(deps)
        .zip(streams_of)
        .enumerate()
        .map(|(i, ((item, deps), streams))| entry(i, item, &deps, &streams))
        .collect();
    let streams = units
        .iter()
        .map(|u| StreamDecl {
            id: u.stream,
            entry: entry_id(u.item),
            part: u.part,
            label: if u.parts > 1 {
                u.label.clone()
            } else {
                String::new()
            },
            est_bytes: u.est_bytes,
        })
        .collect();
    Toc {
        info,
        entries,
        streams,
    }
}

fn entry_id(index: usize) -> EntryId {
    EntryId::try_from(index + 1).unwrap_or(EntryId::MAX)
}

fn entry(index: usize, item: Item, deps: &[usize], units: &[&Unit]) -> TocEntry {
    let mut meta: BTreeMap<String, String> = item.meta;
    meta.insert(
        "obj".to_string(),
        format!("{}:{}", item.key.obj.class, item.key.obj.oid),
    );
    if item.key.sub != 0 {
        meta.insert("sub".to_string(), item.key.sub.to_string());
    }
    if item.primary {
        meta.insert("primary".to_string(), "1".to_string());
    }
    let data = item.data.map(|d| match d {
        DataSource::Copy(src) => {
            let (schema, name) = src.load_target.unwrap_or((src.schema, src.name));
            let format = units
                .iter()
                .find_map(|u| match &u.work {
                    Work::Copy { format, .. } => Some(*format),
                    Work::LargeObjects(_) => None,
                })
                .unwrap_or_default();
            meta.insert("est_bytes".to_string(), src.est_bytes.to_string());
            TableData {
                kind: DataKind::Copy,
                target: qualify(&schema, &name),
                columns: src.columns.iter().map(|c| ident(c)).collect(),
                format,
                streams: units.iter().map(|u| u.stream).collect(),
                binary_types: if format == pgdump_format::CopyFormat::Binary {
                    src.binary_types
                } else {
                    Vec::new()
                },
            }
        }
        DataSource::LargeObjects(_) => TableData {
            kind: DataKind::LargeObjects,
            target: String::new(),
            columns: Vec::new(),
            format: Default::default(),
            streams: units.iter().map(|u| u.stream).collect(),
            binary_types: Vec::new(),
        },
    });
    TocEntry {
        id: entry_id(index),
        kind: item.key.kind.tag().to_string(),
        section: item.key.kind.section().into(),
        schema: item.schema,
        name: item.name,
        owner: item.owner,
        create: item.create,
        alter_owner: item.alter_owner,
        drop: item.drop,
        deps: deps.iter().map(|&d| entry_id(d)).collect(),
        data,
        meta,
    }
}

/// `created_at` for the archive: now, RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Format seconds since the epoch as RFC 3339 UTC.
pub fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86400).unwrap_or(0);
    let rem = secs % 86400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
    }
}
