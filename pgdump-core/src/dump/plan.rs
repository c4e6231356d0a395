//! The data plan: which COPY (or large-object read) fills each stream.
//!
//! Tables above `split_bytes` are cut into ranges so one big table keeps every
//! worker busy: ctid page ranges on servers with TID range scans (14+), ranges
//! of a single integer primary key before that, one stream otherwise. On 14+
//! with several jobs, a table that alone holds more than its share of the data
//! (`1/jobs`) is split from `ADAPTIVE_SPLIT_MIN` up, so a mid-size table that
//! dominates a database does not leave the other workers idle (page ranges cost
//! nothing extra to scan). Units are handed out largest first.

use std::collections::HashMap;

use pgdump_format::{CopyFormat, StreamId};

use crate::catalog::{CopySource, DataSource, Oid, ServerVersion};
use crate::graph::Graph;
use crate::options::DumpOptions;
use crate::quote::{ident, qualify};

/// One unit of data work: fills exactly one archive stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The stream it fills.
    pub stream: StreamId,
    /// Index of the data item in the graph.
    pub item: usize,
    /// Part number within the item (0-based) and number of parts.
    pub part: u32,
    /// Number of parts of the item.
    pub parts: u32,
    /// What to run.
    pub work: Work,
    /// Estimated raw bytes.
    pub est_bytes: u64,
    /// For messages: `schema.table` and the range.
    pub label: String,
}

/// What a unit runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// A COPY TO STDOUT statement, after locking the table (workers re-lock NOWAIT).
    Copy {
        /// The table, quoted and qualified: worker connections lock it `NOWAIT`
        /// before the COPY (see `lock::lock_sql`).
        table: String,
        /// The COPY statement.
        copy_sql: String,
        /// Format of the output.
        format: CopyFormat,
    },
    /// Read these large objects.
    LargeObjects(Vec<Oid>),
}

/// Smallest table split for being a dominant share of the data (14+, jobs > 1).
pub const ADAPTIVE_SPLIT_MIN: u64 = 32 << 20;

/// Split threshold and chunk size for this dump: the options', lowered on 14+
/// with several jobs so that a table above `total / jobs` (and above
/// `ADAPTIVE_SPLIT_MIN`) is split into at least `2 × jobs` ranges.
fn split_limits(opts: &DumpOptions, version: ServerVersion, total: u64) -> (u64, u64) {
    if !version.at_least(14) || opts.jobs < 2 {
        return (opts.split_bytes, opts.split_chunk_bytes);
    }
    let jobs = opts.jobs as u64;
    let threshold = opts.split_bytes.min((total / jobs).max(ADAPTIVE_SPLIT_MIN));
    let chunk = opts
        .split_chunk_bytes
        .min((threshold / jobs).max(ADAPTIVE_SPLIT_MIN / 4));
    (threshold, chunk)
}

/// Key ranges known for tables split by key (servers before 14): min and max of the key.
pub type KeyBounds = HashMap<Oid, (i64, i64)>;

/// The COPY format a table gets.
pub fn copy_format(src: &CopySource, opts: &DumpOptions) -> CopyFormat {
    // Binary only where every column can be turned back into text without a server
    // (`pgdump sql`), which `binary_types` records.
    if src.binary_safe && !opts.force_text && src.binary_types.len() == src.columns.len() {
        CopyFormat::Binary
    } else {
        CopyFormat::Text
    }
}

/// Tables that need key bounds before planning (split by key on servers < 14).
pub fn needs_key_bounds<'a>(
    graph: &'a Graph,
    opts: &DumpOptions,
    version: ServerVersion,
) -> Vec<&'a CopySource> {
    if version.at_least(14) {
        return Vec::new();
    }
    graph
        .items
        .iter()
        .filter_map(|i| match &i.data {
            Some(DataSource::Copy(src))
                if src.est_bytes > opts.split_bytes && src.int_key.is_some() =>
            {
                Some(src)
            }
            _ => None,
        })
        .collect()
}

/// Plan every stream of the dump.
pub fn plan(
    graph: &Graph,
    opts: &DumpOptions,
    version: ServerVersion,
    bounds: &KeyBounds,
) -> Vec<Unit> {
    let total: u64 = graph
        .items
        .iter()
        .filter_map(|i| match &i.data {
            Some(DataSource::Copy(src)) => Some(src.est_bytes),
            _ => None,
        })
        .sum();
    let limits = split_limits(opts, version, total);
    let mut units = Vec::new();
    for (idx, item) in graph.items.iter().enumerate() {
        match &item.data {
            Some(DataSource::Copy(src)) => {
                let format = copy_format(src, opts);
                let ranges = split(src, limits, version, bounds);
                let parts = u32::try_from(ranges.len()).unwrap_or(u32::MAX);
                let table = qualify(&src.schema, &src.name);
                for (part, range) in ranges.iter().enumerate() {
                    let predicate = range.predicate(src);
                    let label = match range {
                        Range::All => format!("{}.{}", src.schema, src.name),
                        r => format!("{}.{} {}", src.schema, src.name, r.label()),
                    };
                    units.push(Unit {
                        stream: 0,
                        item: idx,
                        part: u32::try_from(part).unwrap_or(u32::MAX),
                        parts,
                        work: Work::Copy {
                            table: table.clone(),
                            copy_sql: copy_sql(src, predicate.as_deref(), format),
                            format,
                        },
                        est_bytes: src.est_bytes / u64::from(parts.max(1)),
                        label,
                    });
                }
            }
            Some(DataSource::LargeObjects(oids)) => units.push(Unit {
                stream: 0,
                item: idx,
                part: 0,
                parts: 1,
                work: Work::LargeObjects(oids.clone()),
                est_bytes: 0,
                label: format!("large objects {}", item.name),
            }),
            None => {}
        }
    }
    // Stream ids follow TOC order; work is handed out largest first.
    for (i, u) in units.iter_mut().enumerate() {
        u.stream = StreamId::try_from(i).unwrap_or(StreamId::MAX);
    }
    units
}

/// Order in which units are handed to workers: largest first, then stream order.
pub fn schedule(units: &[Unit]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|&a, &b| units[b].est_bytes.cmp(&units[a].est_bytes).then(a.cmp(&b)));
    order
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Range {
    All,
    /// Pages `[from, to)`; `to = None` means to the end.
    Pages(u64, Option<u64>),
    /// Key values `[from, to)`; `None` = unbounded.
    Keys(Option<i64>, Option<i64>),
}

impl Range {
    fn predicate(&self, src: &CopySource) -> Option<String> {
        match self {
            Range::All => None,
            Range::Pages(from, to) => Some(match to {
                Some(to) => format!(
                    "ctid >= '({from},0)'::pg_catalog.tid AND ctid < '({to},0)'::pg_catalog.tid"
                ),
                None => format!("ctid >= '({from},0)'::pg_catalog.tid"),
            }),
            Range::Keys(from, to) => {
                let k = ident(src.int_key.as_deref().unwrap_or("?"));
                Some(match (from, to) {
                    (Some(f), Some(t)) => format!("{k} >= {f} AND {k} < {t}"),
                    (Some(f), None) => format!("{k} >= {f}"),
                    (None, Some(t)) => format!("{k} < {t}"),
                    (None, None) => "true".to_string(),
                })
            }
        }
    }

    fn label(&self) -> String {
        match self {
            Range::All => String::new(),
            Range::Pages(f, Some(t)) => format!("pages [{f},{t})"),
            Range::Pages(f, None) => format!("pages [{f},end)"),
            Range::Keys(f, t) => format!(
                "keys [{},{})",
                f.map_or("-inf".to_string(), |v| v.to_string()),
                t.map_or("+inf".to_string(), |v| v.to_string())
            ),
        }
    }
}

fn split(
    src: &CopySource,
    (split_bytes, chunk_bytes): (u64, u64),
    version: ServerVersion,
    bounds: &KeyBounds,
) -> Vec<Range> {
    if src.est_bytes <= split_bytes || src.filter.is_some() {
        return vec![Range::All];
    }
    let wanted = src.est_bytes.div_ceil(chunk_bytes.max(1)).clamp(2, 1024);
    if version.at_least(14) {
        if src.pages < 2 {
            return vec![Range::All];
        }
        let parts = wanted.min(src.pages);
        let per = src.pages.div_ceil(parts);
        let mut out = Vec::new();
        let mut from = 0;
        while from < src.pages {
            let to = from + per;
            out.push(Range::Pages(
                from,
                if to >= src.pages { None } else { Some(to) },
            ));
            from = to;
        }
        return out;
    }
    match bounds.get(&src.relid) {
        Some(&(lo, hi)) if hi > lo => {
            let span = (i128::from(hi) - i128::from(lo) + 1).max(1);
            let parts = i128::from(wanted).min(span);
            let per = (span + parts - 1) / parts;
            let mut out = Vec::new();
            let mut from = i128::from(lo);
            let mut first = true;
            while from <= i128::from(hi) {
                let to = from + per;
                let last = to > i128::from(hi);
                out.push(Range::Keys(
                    if first {
                        None
                    } else {
                        i64::try_from(from).ok()
                    },
                    if last { None } else { i64::try_from(to).ok() },
                ));
                first = false;
                from = to;
            }
            out
        }
        _ => vec![Range::All],
    }
}

/// The COPY statement for a table or a range of it.
pub fn copy_sql(src: &CopySource, range: Option<&str>, format: CopyFormat) -> String {
    let table = qualify(&src.schema, &src.name);
    let cols: Vec<String> = src.columns.iter().map(|c| ident(c)).collect();
    let cols = cols.join(", ");
    let mut conds: Vec<String> = Vec::new();
    if let Some(f) = src.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        let f = f.trim();
        let f = f
            .strip_prefix("WHERE ")
            .or_else(|| f.strip_prefix("where "))
            .unwrap_or(f);
        conds.push(format!("({f})"));
    }
    if let Some(r) = range {
        conds.push(r.to_string());
    }
    let source = if conds.is_empty() {
        if cols.is_empty() {
            table
        } else {
            format!("{table} ({cols})")
        }
    } else {
        format!(
            "(SELECT {cols} FROM ONLY {table} WHERE {})",
            conds.join(" AND ")
        )
    };
    match format {
        CopyFormat::Text => format!("COPY {source} TO STDOUT"),
        CopyFormat::Binary => format!("COPY {source} TO STDOUT (FORMAT binary)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(est: u64, pages: u64) -> CopySource {
        CopySource {
            relid: 1,
            schema: "s".into(),
            name: "T".into(),
            columns: vec!["id".into(), "Val".into()],
            binary_safe: true,
            pages,
            est_bytes: est,
            int_key: Some("id".into()),
            binary_types: vec!["23".into(), "25".into()],
            ..CopySource::default()
        }
    }

    #[test]
    fn copy_statements() {
        let s = src(1, 1);
        assert_eq!(
            copy_sql(&s, None, CopyFormat::Text),
            "COPY s.\"T\" (id, \"Val\") TO STDOUT"
        );
        assert_eq!(
            copy_sql(&s, Some("ctid >= '(0,0)'::pg_catalog.tid"), CopyFormat::Binary),
            "COPY (SELECT id, \"Val\" FROM ONLY s.\"T\" WHERE ctid >= '(0,0)'::pg_catalog.tid) TO STDOUT (FORMAT binary)"
        );
        let none = CopySource {
            columns: vec![],
            ..src(1, 1)
        };
        assert_eq!(
            copy_sql(&none, None, CopyFormat::Text),
            "COPY s.\"T\" TO STDOUT"
        );
        let filt = CopySource {
            filter: Some("WHERE id > 5".into()),
            ..src(1, 1)
        };
        assert_eq!(
            copy_sql(&filt, None, CopyFormat::Text),
            "COPY (SELECT id, \"Val\" FROM ONLY s.\"T\" WHERE (id > 5)) TO STDOUT"
        );
    }

    #[test]
    fn small_tables_are_one_stream() {
        assert_eq!(
            split(
                &src(100, 50),
                (100, 40),
                ServerVersion(150000),
                &KeyBounds::new()
            ),
            vec![Range::All]
        );
    }

    #[test]
    fn page_ranges_cover_everything() {
        let r = split(
            &src(1000, 10),
            (100, 40),
            ServerVersion(150000),
            &KeyBounds::new(),
        );
        // 1000/40 = 25 parts wanted, 10 pages → 10 ranges of 1 page, the last open
        assert_eq!(r.len(), 10);
        assert_eq!(r[0], Range::Pages(0, Some(1)));
        assert_eq!(r[9], Range::Pages(9, None));
        let r = split(
            &src(200, 1000),
            (100, 40),
            ServerVersion(170000),
            &KeyBounds::new(),
        );
        assert_eq!(
            r,
            vec![
                Range::Pages(0, Some(200)),
                Range::Pages(200, Some(400)),
                Range::Pages(400, Some(600)),
                Range::Pages(600, Some(800)),
                Range::Pages(800, None)
            ]
        );
    }

    #[test]
    fn key_ranges_before_14() {
        let mut b = KeyBounds::new();
        b.insert(1, (1, 100));
        let r = split(&src(200, 1000), (100, 40), ServerVersion(130000), &b);
        assert_eq!(r.len(), 5);
        assert_eq!(r[0], Range::Keys(None, Some(21)));
        assert_eq!(r[4], Range::Keys(Some(81), None));
        assert_eq!(r[0].predicate(&src(1, 1)).unwrap(), "id < 21");
        // no bounds known → one stream
        assert_eq!(
            split(
                &src(200, 1000),
                (100, 40),
                ServerVersion(130000),
                &KeyBounds::new()
            ),
            vec![Range::All]
        );
    }

    #[test]
    fn dominant_tables_split_on_14_with_jobs() {
        const M: u64 = 1 << 20;
        let o = |jobs| DumpOptions {
            jobs,
            ..DumpOptions::default()
        };
        // one job, or before 14: the options' limits
        assert_eq!(
            split_limits(&o(1), ServerVersion(150000), 150 * M),
            (256 * M, 64 * M)
        );
        assert_eq!(
            split_limits(&o(2), ServerVersion(130000), 150 * M),
            (256 * M, 64 * M)
        );
        // 130 MiB of 150 MiB with two jobs: above 75 MiB → split in ~4 ranges
        let l = split_limits(&o(2), ServerVersion(150000), 150 * M);
        assert_eq!(l, (75 * M, 37 * M + M / 2));
        assert_eq!(
            split(
                &src(130 * M, 16640),
                l,
                ServerVersion(150000),
                &KeyBounds::new()
            )
            .len(),
            4
        );
        // small databases: nothing below 32 MiB is split
        let l = split_limits(&o(2), ServerVersion(150000), 20 * M);
        assert_eq!(l.0, 32 * M);
        assert_eq!(
            split(
                &src(20 * M, 2560),
                l,
                ServerVersion(150000),
                &KeyBounds::new()
            ),
            vec![Range::All]
        );
        // large databases: the options' limits bound it
        assert_eq!(
            split_limits(&o(4), ServerVersion(170000), 100_000 * M),
            (256 * M, 64 * M)
        );
    }

    #[test]
    fn schedule_is_largest_first() {
        let mk = |est| Unit {
            stream: 0,
            item: 0,
            part: 0,
            parts: 1,
            work: Work::LargeObjects(vec![]),
            est_bytes: est,
            label: String::new(),
        };
        assert_eq!(schedule(&[mk(1), mk(5), mk(3), mk(5)]), vec![1, 3, 2, 0]);
    }
}
