//! Which objects a check reads, and with which statement: worked out from the TOC
//! and the facts alone (no I/O).
//!
//! A table is read with the COPY its dump ran, without the dump's page or key
//! ranges (the ranges' streams add up to the table): `COPY (SELECT <the entry's
//! columns> FROM ONLY <target> [WHERE (<extension configuration filter>)]) TO
//! STDOUT [(FORMAT binary)]`; a big one in page ranges of its own on servers 14
//! and later (the sums do not depend on how rows are grouped). Partitions dumped to be loaded through their
//! partition root (hash partitioning on an enum: a row's partition depends on the
//! enum's OIDs, so a restore may put it into another partition) are checked
//! together, through the root, without `ONLY`; rows of partitions that are not
//! loaded through the root but are checked on their own are left out there.

use std::collections::HashMap;

use pgdump_format::{CopyFormat, DataKind, EntryId, Toc, TocEntry};

use super::facts::{Facts, Tally};
use super::report::CheckedKind;
use crate::catalog::Oid;
use crate::quote::{literal, qualify};

/// One object to read and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Task {
    /// The TOC entries it covers.
    pub entries: Vec<EntryId>,
    /// Table or large objects.
    pub kind: CheckedKind,
    /// For the report.
    pub name: String,
    /// What the archive holds.
    pub expected: Tally,
    /// Whether the hash can be compared (not when partitions loaded through one root
    /// list their columns in different orders: their rows were hashed in each
    /// partition's order).
    pub compare_hash: bool,
    /// For scheduling, largest first.
    pub est_bytes: u64,
    /// What to run.
    pub work: Work,
}

/// How an object is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Work {
    /// A COPY ... TO STDOUT, in `format`.
    Copy {
        /// The statement.
        sql: String,
        /// Its output format.
        format: CopyFormat,
        /// For a table read on its own, without a filter: the quoted target and
        /// columns, to read it in page ranges instead ([`page_ranges`]).
        split: Option<(String, Vec<String>)>,
    },
    /// The contents of these large objects.
    LargeObjects(Vec<Oid>),
}

/// The `COPY` reading `columns` (quoted) of `from` (`ONLY t` or `t`), with `conds`.
pub(crate) fn copy_sql(
    columns: &[String],
    from: &str,
    conds: &[String],
    format: CopyFormat,
) -> String {
    let mut sql = format!("COPY (SELECT {} FROM {from}", columns.join(", "));
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    sql.push_str(") TO STDOUT");
    if format == CopyFormat::Binary {
        sql.push_str(" (FORMAT binary)");
    }
    sql
}

/// The OIDs a large-object metadata entry creates (`SELECT pg_catalog.lo_create('<oid>');`
/// per object, see `catalog::large_object`).
pub(crate) fn lo_oids(create: &str) -> Vec<Oid> {
    const CALL: &str = "lo_create('";
    let mut out = Vec::new();
    let mut rest = create;
    while let Some(i) = rest.find(CALL) {
        rest = &rest[i + CALL.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if rest[digits..].starts_with("')") {
            if let Ok(oid) = rest[..digits].parse::<Oid>() {
                out.push(oid);
            }
        }
    }
    out
}

/// Whether entry `i` was restored.
fn selected(select: Option<&[bool]>, i: usize) -> bool {
    select.is_none_or(|s| s.get(i).copied().unwrap_or(false))
}

/// The large objects of a `BLOBS` entry: those its metadata entries (the `LARGE
/// OBJECT` entries it depends on, or else the one of the same name) create.
fn entry_lo_oids(toc: &Toc, e: &TocEntry) -> Vec<Oid> {
    let mut oids: Vec<Oid> = e
        .deps
        .iter()
        .filter_map(|&d| toc.entry(d))
        .filter(|m| m.kind == "LARGE OBJECT")
        .flat_map(|m| lo_oids(&m.create))
        .collect();
    if oids.is_empty() {
        oids = toc
            .entries
            .iter()
            .filter(|m| m.kind == "LARGE OBJECT" && m.name == e.name)
            .flat_map(|m| lo_oids(&m.create))
            .collect();
    }
    oids.sort_unstable();
    oids.dedup();
    oids
}

/// The tasks of a check: one per restored table data entry loaded into its own table,
/// one per partition root for the entries loaded through it, one per large-object
/// group. `ext_filters`: filters of extension configuration tables, by quoted target.
pub(crate) fn plan(
    toc: &Toc,
    facts: &Facts,
    select: Option<&[bool]>,
    ext_filters: &HashMap<String, String>,
) -> Vec<Task> {
    let est = |e: &TocEntry| -> u64 {
        let Some(d) = &e.data else { return 0 };
        let decl: u64 = d
            .streams
            .iter()
            .filter_map(|&s| toc.stream(s))
            .map(|s| s.est_bytes)
            .sum();
        decl.max(facts.entry_bytes(d))
    };
    let mut tasks = Vec::new();
    // Partitions loaded through their root, by root (in TOC order of the roots).
    let mut via_root: Vec<(String, Vec<&TocEntry>)> = Vec::new();
    // Tables checked on their own (left out of the roots' reads).
    let mut direct: Vec<&str> = Vec::new();
    for (i, e) in toc.entries.iter().enumerate() {
        let Some(d) = &e.data else { continue };
        let own = e.schema.as_deref().map(|s| qualify(s, &e.name));
        let through_root =
            d.kind == DataKind::Copy && own.as_deref().is_some_and(|o| o != d.target);
        if d.kind == DataKind::Copy && !through_root {
            direct.push(&d.target);
        }
        if !selected(select, i) {
            continue;
        }
        match d.kind {
            DataKind::Copy if through_root => {
                match via_root.iter_mut().find(|(t, _)| *t == d.target) {
                    Some((_, list)) => list.push(e),
                    None => via_root.push((d.target.clone(), vec![e])),
                }
            }
            DataKind::Copy => {
                let conds: Vec<String> = ext_filters
                    .get(&d.target)
                    .map(|f| format!("({f})"))
                    .into_iter()
                    .collect();
                tasks.push(Task {
                    entries: vec![e.id],
                    kind: CheckedKind::Table,
                    name: e.display_name(),
                    expected: facts.entry(d),
                    compare_hash: true,
                    est_bytes: est(e),
                    work: Work::Copy {
                        sql: copy_sql(&d.columns, &format!("ONLY {}", d.target), &conds, d.format),
                        format: d.format,
                        split: conds
                            .is_empty()
                            .then(|| (d.target.clone(), d.columns.clone())),
                    },
                });
            }
            DataKind::LargeObjects => tasks.push(Task {
                entries: vec![e.id],
                kind: CheckedKind::LargeObjects,
                name: e.name.clone(),
                expected: facts.entry(d),
                compare_hash: true,
                est_bytes: est(e),
                work: Work::LargeObjects(entry_lo_oids(toc, e)),
            }),
        }
    }
    for (root, entries) in via_root {
        let Some(first) = entries.first().and_then(|e| e.data.as_ref()) else {
            continue;
        };
        let mut expected = Tally::default();
        for d in entries.iter().filter_map(|e| e.data.as_ref()) {
            expected.add(facts.entry(d));
        }
        let same_layout = entries
            .iter()
            .filter_map(|e| e.data.as_ref())
            .all(|d| d.columns == first.columns && d.format == first.format);
        // Rows of the root's other partitions, checked on their own, are not ours.
        let conds = if direct.is_empty() {
            Vec::new()
        } else {
            let others: Vec<String> = direct
                .iter()
                .map(|t| format!("pg_catalog.to_regclass({})::pg_catalog.oid", literal(t)))
                .collect();
            vec![format!(
                "NOT coalesce(tableoid = ANY (ARRAY[{}]), false)",
                others.join(", ")
            )]
        };
        tasks.push(Task {
            entries: entries.iter().map(|e| e.id).collect(),
            kind: CheckedKind::Table,
            name: root.clone(),
            expected,
            compare_hash: same_layout,
            est_bytes: entries.iter().map(|e| est(e)).sum(),
            work: Work::Copy {
                sql: copy_sql(&first.columns, &root, &conds, first.format),
                format: first.format,
                split: None,
            },
        });
    }
    tasks
}

/// The COPYs reading a table of `pages` pages in `parts` page ranges (TID range
/// scans, servers 14 and later), the last one open-ended; `None` when it is not worth
/// it (fewer than 2 pages or parts).
pub(crate) fn page_ranges(
    target: &str,
    columns: &[String],
    format: CopyFormat,
    pages: u64,
    parts: u64,
) -> Option<Vec<String>> {
    let parts = parts.min(pages);
    if parts < 2 {
        return None;
    }
    let per = pages.div_ceil(parts);
    let from = format!("ONLY {target}");
    let mut out = Vec::new();
    let mut start = 0;
    while start < pages {
        let end = start + per;
        let mut cond = format!("ctid >= '({start},0)'::pg_catalog.tid");
        if end < pages {
            cond.push_str(&format!(" AND ctid < '({end},0)'::pg_catalog.tid"));
        }
        out.push(copy_sql(columns, &from, &[cond], format));
        start = end;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgdump_format::{StreamDecl, StreamStats, TableData};

    fn data_entry(
        id: EntryId,
        schema: &str,
        name: &str,
        target: &str,
        streams: &[u32],
    ) -> TocEntry {
        TocEntry {
            id,
            kind: "TABLE DATA".into(),
            schema: Some(schema.into()),
            name: name.into(),
            data: Some(TableData {
                kind: DataKind::Copy,
                target: target.into(),
                columns: vec!["id".into(), "\"V\"".into()],
                format: CopyFormat::Binary,
                streams: streams.to_vec(),
                binary_types: vec![],
            }),
            ..TocEntry::default()
        }
    }

    fn toc() -> Toc {
        let lo_meta = TocEntry {
            id: 5,
            kind: "LARGE OBJECT".into(),
            name: "100..102".into(),
            create: "SELECT pg_catalog.lo_create('100');\nSELECT pg_catalog.lo_create('102');\n"
                .into(),
            ..TocEntry::default()
        };
        let blobs = TocEntry {
            id: 6,
            kind: "BLOBS".into(),
            name: "100..102".into(),
            deps: vec![5],
            data: Some(TableData {
                kind: DataKind::LargeObjects,
                streams: vec![5],
                ..TableData::default()
            }),
            ..TocEntry::default()
        };
        let mut text = data_entry(4, "s", "Big", "s.\"Big\"", &[0, 1, 2]);
        text.data.as_mut().unwrap().format = CopyFormat::Text;
        let streams = (0..6)
            .map(|i| StreamDecl {
                id: i,
                entry: match i {
                    0..=2 => 4,
                    3 => 1,
                    4 => 2,
                    _ => 6,
                },
                est_bytes: 100,
                ..StreamDecl::default()
            })
            .collect();
        Toc {
            entries: vec![
                data_entry(1, "s", "p1", "s.root", &[3]),
                data_entry(2, "s", "p2", "s.root", &[4]),
                data_entry(3, "s", "plain", "s.plain", &[]),
                text,
                lo_meta,
                blobs,
            ],
            streams,
            ..Toc::default()
        }
    }

    fn facts() -> Facts {
        let st = |stream, rows, hash| StreamStats {
            stream,
            rows,
            content_hash: hash,
            raw_bytes: rows * 1000,
            ..StreamStats::default()
        };
        Facts::from_streams(&[
            st(0, 10, 1),
            st(1, 10, 2),
            st(2, 5, 3),
            st(3, 1, 4),
            st(4, 2, u64::MAX),
            st(5, 3, 9),
        ])
    }

    #[test]
    fn statements() {
        let cols = vec!["a".to_string(), "\"B\"".to_string()];
        assert_eq!(
            copy_sql(&cols, "ONLY s.t", &[], CopyFormat::Text),
            "COPY (SELECT a, \"B\" FROM ONLY s.t) TO STDOUT"
        );
        assert_eq!(
            copy_sql(&[], "ONLY s.t", &["(x > 1)".into()], CopyFormat::Binary),
            "COPY (SELECT  FROM ONLY s.t WHERE (x > 1)) TO STDOUT (FORMAT binary)"
        );
        use crate::catalog::config_filter;
        assert_eq!(config_filter("WHERE id > 5").as_deref(), Some("id > 5"));
        assert_eq!(
            config_filter(" where\tNOT std ").as_deref(),
            Some("NOT std")
        );
        assert_eq!(config_filter("wherever"), Some("wherever".into()));
        assert_eq!(config_filter("  "), None);
        assert_eq!(
            lo_oids("SELECT pg_catalog.lo_create('1');\nSELECT pg_catalog.lo_create('4294967295');\nSELECT pg_catalog.lo_create('x');"),
            vec![1, 4294967295]
        );
    }

    #[test]
    fn tasks_of_a_toc() {
        let mut filters = HashMap::new();
        filters.insert("s.plain".to_string(), "NOT std".to_string());
        let tasks = plan(&toc(), &facts(), None, &filters);
        let names: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["s.plain", "s.Big", "100..102", "s.root"]);
        // a split table: the sums of its streams, read whole, in its format
        let big = &tasks[1];
        assert_eq!(big.expected, Tally { rows: 25, hash: 6 });
        assert_eq!(big.est_bytes, 25_000);
        assert_eq!(
            big.work,
            Work::Copy {
                sql: "COPY (SELECT id, \"V\" FROM ONLY s.\"Big\") TO STDOUT".into(),
                format: CopyFormat::Text,
                split: Some(("s.\"Big\"".into(), vec!["id".into(), "\"V\"".into()])),
            }
        );
        // an extension configuration table keeps its filter; no streams: nothing expected
        assert_eq!(tasks[0].expected, Tally::default());
        assert!(matches!(&tasks[0].work, Work::Copy { sql, split: None, .. }
            if sql == "COPY (SELECT id, \"V\" FROM ONLY s.plain WHERE (NOT std)) TO STDOUT (FORMAT binary)"));
        // large objects: the OIDs of the metadata entry it depends on
        assert_eq!(tasks[2].work, Work::LargeObjects(vec![100, 102]));
        assert_eq!(tasks[2].expected, Tally { rows: 3, hash: 9 });
        // partitions loaded through their root: together, through the root, without
        // the tables checked on their own
        let root = &tasks[3];
        assert_eq!(root.entries, vec![1, 2]);
        assert_eq!(root.expected, Tally { rows: 3, hash: 3 });
        assert!(root.compare_hash);
        assert_eq!(
            root.work,
            Work::Copy {
                sql: "COPY (SELECT id, \"V\" FROM s.root WHERE NOT coalesce(tableoid = ANY (\
                      ARRAY[pg_catalog.to_regclass('s.plain')::pg_catalog.oid, \
                      pg_catalog.to_regclass('s.\"Big\"')::pg_catalog.oid]), false)) \
                      TO STDOUT (FORMAT binary)"
                    .into(),
                format: CopyFormat::Binary,
                split: None,
            }
        );
    }

    #[test]
    fn page_ranges_cover_the_table() {
        let cols = vec!["a".to_string()];
        assert_eq!(page_ranges("s.t", &cols, CopyFormat::Text, 1, 4), None);
        assert_eq!(page_ranges("s.t", &cols, CopyFormat::Text, 100, 1), None);
        assert_eq!(
            page_ranges("s.t", &cols, CopyFormat::Binary, 10, 3).unwrap(),
            vec![
                "COPY (SELECT a FROM ONLY s.t WHERE ctid >= '(0,0)'::pg_catalog.tid AND ctid < '(4,0)'::pg_catalog.tid) TO STDOUT (FORMAT binary)",
                "COPY (SELECT a FROM ONLY s.t WHERE ctid >= '(4,0)'::pg_catalog.tid AND ctid < '(8,0)'::pg_catalog.tid) TO STDOUT (FORMAT binary)",
                "COPY (SELECT a FROM ONLY s.t WHERE ctid >= '(8,0)'::pg_catalog.tid) TO STDOUT (FORMAT binary)",
            ]
        );
        assert_eq!(
            page_ranges("s.t", &cols, CopyFormat::Text, 3, 8)
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn only_selected_entries_and_comparable_layouts() {
        let mut t = toc();
        // entries 2 (p2) and 4 (s.Big) restored only
        let sel = [false, true, false, true, false, false];
        let tasks = plan(&t, &facts(), Some(&sel), &HashMap::new());
        let names: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["s.Big", "s.root"]);
        assert_eq!(tasks[1].entries, vec![2]);
        // partitions with their columns in different orders: rows only
        t.entries[1].data.as_mut().unwrap().columns.reverse();
        let tasks = plan(&t, &facts(), None, &HashMap::new());
        assert!(!tasks[3].compare_hash);
    }
}
