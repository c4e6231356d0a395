//! Are two databases equivalent? The check pgdump's own tests rely on, and that
//! users run after a restore (`pgdump compare SRC DST`).
//!
//! Schema: a census of every user object in every catalog by identity, and
//! definitions read from the server's catalogs and deparse functions — not from
//! pgdump's DDL, so it catches what pgdump failed to carry. Data: row counts and
//! order-independent hashes of every table, sequence values, large objects and
//! materialized view state.

mod census;
mod data;

use std::collections::BTreeMap;

use tokio_postgres::Client;

pub use census::{Compat, Ignore};
use data::TableHash;

use crate::conn::{connect, ConnConfig};
use crate::error::{QueryContext, Result};
use crate::session;

/// What to compare.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompareOptions {
    /// Leave owners and privileges out.
    pub ignore: Ignore,
    /// Skip table contents (schema only).
    pub schema_only: bool,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Object identity.
    pub object: String,
    /// In the source: definition (None: missing there).
    pub source: Option<String>,
    /// In the target.
    pub target: Option<String>,
}

/// The outcome of one section.
#[derive(Debug, Clone, Default)]
pub struct SectionReport {
    /// Section name (`objects`, `relations`, `data` ...).
    pub name: String,
    /// Items compared.
    pub compared: usize,
    /// Differences.
    pub differences: Vec<Difference>,
}

/// The whole comparison.
#[derive(Debug, Clone, Default)]
pub struct CompareReport {
    /// Sections in order.
    pub sections: Vec<SectionReport>,
}

impl CompareReport {
    /// True when nothing differs.
    pub fn equivalent(&self) -> bool {
        self.sections.iter().all(|s| s.differences.is_empty())
    }

    /// A readable report: one line per section, then the differences.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.sections {
            out.push_str(&format!(
                "[{:<18}] {:>7} compared  {}\n",
                s.name,
                s.compared,
                if s.differences.is_empty() {
                    "OK".to_string()
                } else {
                    format!("{} DIFFERENCES", s.differences.len())
                }
            ));
        }
        for s in &self.sections {
            for d in s.differences.iter().take(50) {
                out.push_str(&format!(
                    "  {}: {}\n    source: {}\n    target: {}\n",
                    s.name,
                    d.object,
                    d.source.as_deref().unwrap_or("(missing)"),
                    d.target.as_deref().unwrap_or("(missing)")
                ));
            }
            if s.differences.len() > 50 {
                out.push_str(&format!(
                    "  {}: ... {} more\n",
                    s.name,
                    s.differences.len() - 50
                ));
            }
        }
        out.push_str(if self.equivalent() {
            "RESULT: EQUIVALENT\n"
        } else {
            "RESULT: DIFFERENT\n"
        });
        out
    }
}

fn diff(name: &str, a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> SectionReport {
    let mut differences = Vec::new();
    for (k, v) in a {
        match b.get(k) {
            Some(w) if w == v => {}
            other => differences.push(Difference {
                object: k.clone(),
                source: Some(v.clone()),
                target: other.cloned(),
            }),
        }
    }
    for (k, w) in b {
        if !a.contains_key(k) {
            differences.push(Difference {
                object: k.clone(),
                source: None,
                target: Some(w.clone()),
            });
        }
    }
    SectionReport {
        name: name.to_string(),
        compared: a.len().max(b.len()),
        differences,
    }
}

async fn open(cfg: &ConnConfig) -> Result<(Client, crate::catalog::ServerVersion)> {
    let c = connect(cfg, crate::TOOL_NAME).await?;
    let (v, _) = session::setup_dump(&c).await?;
    c.batch_execute("SET TimeZone = 'UTC'; SET bytea_output = 'hex'")
        .await
        .context(|| "setting up the compare session".to_string())?;
    Ok((c, v))
}

/// Compare two databases.
pub async fn compare(
    src: &ConnConfig,
    dst: &ConnConfig,
    opts: CompareOptions,
) -> Result<CompareReport> {
    let ((a, va), (b, vb)) = futures::try_join!(open(src), open(dst))?;
    compare_clients(&a, va, &b, vb, opts).await
}

/// Compare using open connections.
pub async fn compare_clients(
    a: &Client,
    va: crate::catalog::ServerVersion,
    b: &Client,
    vb: crate::catalog::ServerVersion,
    opts: CompareOptions,
) -> Result<CompareReport> {
    let (ca, cb) = futures::try_join!(
        census::census_compat(a, va, opts.ignore, Compat::between(va, vb)),
        census::census_compat(b, vb, opts.ignore, Compat::between(vb, va))
    )?;
    let mut report = CompareReport::default();
    for (name, sa) in &ca {
        let empty = BTreeMap::new();
        let sb = cb.get(name).unwrap_or(&empty);
        report.sections.push(diff(name, sa, sb));
    }
    if !opts.schema_only {
        let (ta, tb) = futures::try_join!(data::tables(a), data::tables(b))?;
        let mut ha = BTreeMap::new();
        let mut hb = BTreeMap::new();
        for (key, (schema, name, select)) in &ta {
            let (x, y) = match tb.get(key) {
                Some((s2, n2, sel2)) => {
                    let (x, y) = futures::try_join!(
                        data::hash_table(a, schema, name, select),
                        data::hash_table(b, s2, n2, sel2)
                    )?;
                    (x, Some(y))
                }
                None => (data::hash_table(a, schema, name, select).await?, None),
            };
            ha.insert(key.clone(), fmt_hash(x));
            if let Some(y) = y {
                hb.insert(key.clone(), fmt_hash(y));
            }
        }
        for key in tb.keys() {
            if !ta.contains_key(key) {
                hb.insert(key.clone(), "present".into());
            }
        }
        report.sections.push(diff("data", &ha, &hb));
        let (sa, sb) = futures::try_join!(data::sequences(a), data::sequences(b))?;
        report.sections.push(diff("sequence values", &sa, &sb));
    }
    Ok(report)
}

fn fmt_hash(h: TableHash) -> String {
    format!("{} rows, hash {:016x}", h.rows, h.hash)
}
