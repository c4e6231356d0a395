//! Which TOC entries a restore runs: sections, schemas, tables with their
//! dependency closure, a `--use-list`, and the owner/privilege/comment switches.

use std::collections::HashMap;

use pgdump_format::{Section, Toc, TocEntry};

use super::options::RestoreOptions;
use crate::catalog::{class, Kind, ObjRef};
use crate::error::{CoreError, Result};
use crate::graph::select::{closure, Node};

/// A TOC entry seen as a graph node.
pub struct EntryNode {
    kind: Kind,
    obj: ObjRef,
    primary: bool,
}

impl Node for EntryNode {
    fn kind(&self) -> Kind {
        self.kind
    }
    fn obj(&self) -> ObjRef {
        self.obj
    }
    fn is_primary(&self) -> bool {
        self.primary
    }
}

/// The kind of an entry (unknown tags from newer writers map to `None`).
pub fn entry_kind(e: &TocEntry) -> Option<Kind> {
    Kind::from_tag(&e.kind)
}

/// The catalog object an entry belongs to (from its `obj` meta).
pub fn entry_obj(e: &TocEntry) -> ObjRef {
    e.meta
        .get("obj")
        .and_then(|s| {
            let (c, o) = s.split_once(':')?;
            Some(ObjRef::new(c.parse().ok()?, o.parse().ok()?))
        })
        .unwrap_or(ObjRef::new(0, e.id))
}

fn node(e: &TocEntry) -> EntryNode {
    EntryNode {
        kind: entry_kind(e).unwrap_or(Kind::Comment),
        obj: entry_obj(e),
        primary: e.meta.get("primary").is_some_and(|v| v == "1"),
    }
}

/// Dependencies of each entry as indices into `toc.entries`.
pub fn dep_indices(toc: &Toc) -> Vec<Vec<usize>> {
    let pos: HashMap<u32, usize> = toc
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id, i))
        .collect();
    toc.entries
        .iter()
        .map(|e| e.deps.iter().filter_map(|d| pos.get(d).copied()).collect())
        .collect()
}

/// The outcome of selection.
#[derive(Debug, Clone, Default)]
pub struct Selected {
    /// `keep[i]`: entry `i` of the TOC is restored.
    pub keep: Vec<bool>,
    /// Messages about entries left out because they need something outside the selection.
    pub notes: Vec<String>,
}

/// Select the entries to restore.
pub fn select(toc: &Toc, opts: &RestoreOptions) -> Result<Selected> {
    let n = toc.entries.len();
    let deps = dep_indices(toc);
    let mut notes = Vec::new();
    let mut keep = vec![true; n];

    // -t: tables with what they need.
    if !opts.tables.is_empty() {
        let nodes: Vec<EntryNode> = toc.entries.iter().map(node).collect();
        let mut roots: Vec<usize> = toc
            .entries
            .iter()
            .enumerate()
            .filter(|(i, e)| {
                let k = nodes[*i].kind;
                matches!(
                    k,
                    Kind::Table
                        | Kind::View
                        | Kind::MaterializedView
                        | Kind::Sequence
                        | Kind::ForeignTable
                ) && nodes[*i].primary
                    && opts
                        .tables
                        .iter()
                        .any(|p| p.matches(e.schema.as_deref().unwrap_or(""), &e.name))
            })
            .map(|(i, _)| i)
            .collect();
        if roots.is_empty() {
            let pats: Vec<&str> = opts.tables.iter().map(|p| p.text.as_str()).collect();
            return Err(CoreError::Usage(format!(
                "no table in the archive matches {}",
                pats.join(", ")
            )));
        }
        // Partitioned tables come with their partitions.
        let mut i = 0;
        while i < roots.len() {
            let parent = roots[i];
            for (j, e) in toc.entries.iter().enumerate() {
                if nodes[j].kind == Kind::TableAttach && deps[j].contains(&parent) {
                    for &d in &deps[j] {
                        if d != parent
                            && nodes[d].primary
                            && nodes[d].obj.class == class::PG_CLASS
                            && !roots.contains(&d)
                        {
                            roots.push(d);
                        }
                    }
                }
                let _ = e;
            }
            i += 1;
        }
        let sel = closure(&nodes, &deps, &roots);
        for &i in &sel.left_out {
            let e = &toc.entries[i];
            notes.push(format!(
                "not restoring {} {}: it needs objects outside the selection",
                e.kind,
                e.display_name()
            ));
        }
        keep = sel.keep;
    }

    for (i, e) in toc.entries.iter().enumerate() {
        if !keep[i] {
            continue;
        }
        let kind = entry_kind(e);
        // The section of an attachment is its parent's.
        let section = if e.section() == Section::None {
            deps[i]
                .first()
                .map(|&p| toc.entries[p].section())
                .unwrap_or(Section::PreData)
        } else {
            e.section()
        };
        let mut k = opts.wants_section(section);
        // A materialized view's data is its refresh (post-data, as pg_dump files it):
        // a data-only restore refreshes it after loading the tables, or the view keeps
        // whatever it was given before (nothing, after --schema-only).
        if kind == Some(Kind::RefreshMatview) && opts.data_only {
            k = opts.wants_section(Section::Data);
        }
        if let Some(schema) = &e.schema {
            k &= opts.schemas.selects_name(schema);
        } else if kind == Some(Kind::Schema) {
            k &= opts.schemas.selects_name(&e.name);
        }
        match kind {
            Some(Kind::Acl | Kind::DefaultAcl) => k &= !opts.no_privileges,
            Some(Kind::Comment) => k &= !opts.no_comments,
            Some(Kind::Database) => k = false, // handled by --create itself
            Some(Kind::Role) => k &= !opts.no_roles && !opts.data_only,
            None => {
                return Err(CoreError::Usage(format!(
                "entry {} has kind {:?}, which this pgdump does not know (archive written by {})",
                e.id, e.kind, toc.info.tool
            )))
            }
            _ => {}
        }
        if let Some(list) = &opts.use_list {
            k &= list.contains(&e.id);
        }
        keep[i] = k;
    }
    // Attachments go with their object.
    for (i, e) in toc.entries.iter().enumerate() {
        if keep[i]
            && e.section() == Section::None
            && deps[i].iter().any(|&d| !keep[d])
            && opts.use_list.is_none()
        {
            keep[i] = false;
        }
    }
    Ok(Selected { keep, notes })
}
