//! The restore plan: TOC entries and data frames turned into tasks with
//! dependencies, table locks and weights. Pure; no I/O.
//!
//! Order of passes, as pg_restore: everything but privileges first (pre-data,
//! then data, then post-data, overlapping where dependencies allow: an index is
//! built as soon as its table is loaded), then GRANT/REVOKE and default
//! privileges, then event triggers and materialized view refreshes (which run
//! with the owner's privileges, so they need the grants).

use std::collections::HashMap;
use std::ops::Range;

use pgdump_format::{DataKind, Section, StreamId, Toc, TocEntry};

use super::sched::Lock;
use super::select::{dep_indices, entry_kind};
use crate::catalog::Kind;

/// What a task does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskKind {
    /// Run an entry's SQL.
    Sql {
        /// Index of the entry in the TOC.
        entry: usize,
    },
    /// Load frames `frames` (indices into the stream's frame list) of `stream`.
    Data {
        /// Index of the data entry in the TOC.
        entry: usize,
        /// The stream.
        stream: StreamId,
        /// Frames of the stream (indices in the archive's frame list for that stream).
        frames: Range<usize>,
        /// The only load of a table created by this run: TRUNCATE and COPY FREEZE in one transaction.
        freeze: bool,
    },
    /// Add a foreign key without checking the rows (`NOT VALID`): instant.
    FkNotValid {
        /// Index of the FK entry in the TOC.
        entry: usize,
    },
    /// Check the rows of a foreign key added `NOT VALID` (weaker locks than adding
    /// it validated: the referenced table stays free for index builds).
    FkValidate {
        /// Index of the FK entry in the TOC.
        entry: usize,
    },
    /// Build the unique index of a PRIMARY KEY / UNIQUE constraint (`index_build` meta):
    /// a SHARE lock, so it runs beside the table's other index builds.
    IndexBuild {
        /// Index of the constraint entry in the TOC.
        entry: usize,
    },
    /// Make that index the constraint (`index_attach` meta): instant.
    IndexAttach {
        /// Index of the constraint entry in the TOC.
        entry: usize,
    },
    /// A synchronisation point.
    Barrier,
}

/// The SQL of a task that runs one step of an entry (the halves of a foreign key or of
/// an index constraint); `None` for other tasks or when the entry has no such steps.
pub fn step_sql(e: &TocEntry, kind: &TaskKind) -> Option<String> {
    match kind {
        TaskKind::FkNotValid { .. } => split_fk(&e.create).map(|(add, _)| add),
        TaskKind::FkValidate { .. } => split_fk(&e.create).map(|(_, validate)| validate),
        TaskKind::IndexBuild { .. } => index_steps(e).map(|(build, _)| build.to_string()),
        TaskKind::IndexAttach { .. } => index_steps(e).map(|(_, attach)| attach.to_string()),
        _ => None,
    }
}

/// The two statements of an index constraint written by the dump (`CREATE UNIQUE INDEX`,
/// then `ADD CONSTRAINT ... USING INDEX`), when the archive has them.
fn index_steps(e: &TocEntry) -> Option<(&str, &str)> {
    if entry_kind(e) != Some(Kind::Constraint) {
        return None;
    }
    Some((e.meta.get("index_build")?, e.meta.get("index_attach")?))
}

/// A valid foreign key of a plain table as two statements: add it `NOT VALID`,
/// then `VALIDATE CONSTRAINT`. `None` when the SQL is not the single
/// `ALTER TABLE ONLY t ADD CONSTRAINT c FOREIGN KEY ...;` this applies to (partitioned
/// tables need the validated form before 18; NOT VALID ones stay as they are).
pub fn split_fk(sql: &str) -> Option<(String, String)> {
    let body = sql.trim_end();
    let rest = body.strip_prefix("ALTER TABLE ONLY ")?;
    let stmt = rest.strip_suffix(';')?;
    if stmt.contains(';') || stmt.to_ascii_uppercase().contains("NOT VALID") {
        return None;
    }
    let (table, after) = stmt.split_once("ADD CONSTRAINT ")?;
    let table = table.trim();
    let name = leading_ident(after)?;
    if !after[name.len()..].trim_start().starts_with("FOREIGN KEY") {
        return None;
    }
    Some((
        format!("{body_wo} NOT VALID;\n", body_wo = body.strip_suffix(';')?),
        format!("ALTER TABLE ONLY {table} VALIDATE CONSTRAINT {name};\n"),
    ))
}

/// The identifier at the start of `s` (quoted or not), as written.
fn leading_ident(s: &str) -> Option<&str> {
    if let Some(q) = s.strip_prefix('"') {
        let mut i = 0;
        let b = q.as_bytes();
        while i < b.len() {
            if b[i] == b'"' {
                if b.get(i + 1) == Some(&b'"') {
                    i += 2;
                    continue;
                }
                return s.get(..i + 2);
            }
            i += 1;
        }
        None
    } else {
        let end = s.find(char::is_whitespace)?;
        s.get(..end).filter(|n| !n.is_empty())
    }
}

/// One task of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSpec {
    /// What it does.
    pub kind: TaskKind,
    /// Tasks (earlier in the plan) it waits for.
    pub deps: Vec<usize>,
    /// Weight for largest-first scheduling (bytes of data involved).
    pub weight: u64,
    /// Tables it locks.
    pub locks: Vec<Lock>,
    /// Barriers held open until the runner releases them.
    pub held: bool,
}

/// Frame sizes of each stream, for cutting streams into tasks (file input).
pub type StreamFrames = HashMap<StreamId, Vec<u64>>;

/// The plan.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Tasks in an order where dependencies come first.
    pub tasks: Vec<TaskSpec>,
    /// Barrier after all pre-data.
    pub pre_data_done: usize,
    /// Barrier after all data (held open for pipe input until the archive's end is confirmed).
    pub data_done: usize,
    /// Task of each selected entry's SQL (by TOC index).
    pub entry_task: HashMap<usize, usize>,
}

/// Which pass an entry belongs to: 0 main, 1 privileges, 2 materialized view
/// refreshes (with the owner's privileges, so after the grants), 3 event triggers
/// (last: they would fire on the restore's own DDL).
fn pass(toc: &Toc, deps: &[Vec<usize>], i: usize) -> u8 {
    let own = |j: usize| match entry_kind(&toc.entries[j]) {
        Some(Kind::Acl | Kind::DefaultAcl) => 1,
        Some(Kind::RefreshMatview) => 2,
        Some(Kind::EventTrigger) => 3,
        _ => 0,
    };
    match entry_kind(&toc.entries[i]) {
        Some(Kind::Comment) => deps[i].first().map_or(0, |&p| own(p)),
        _ => own(i),
    }
}

/// Tables an entry locks, from its kind and `table`/`ref_table` meta.
pub fn entry_locks(toc: &Toc, i: usize) -> Vec<Lock> {
    let e = &toc.entries[i];
    let table = e.meta.get("table").cloned();
    let mut locks = Vec::new();
    match entry_kind(e) {
        Some(Kind::Index) => locks.extend(table.map(Lock::Shared)),
        Some(
            Kind::Constraint
            | Kind::CheckConstraint
            | Kind::Trigger
            | Kind::Rule
            | Kind::Policy
            | Kind::RowSecurity
            | Kind::IndexAttach
            | Kind::Statistics
            | Kind::RefreshMatview
            | Kind::FkConstraint,
        ) => {
            locks.extend(table.map(Lock::Exclusive));
            locks.extend(e.meta.get("ref_table").cloned().map(Lock::Exclusive));
        }
        _ => {}
    }
    locks.sort();
    locks.dedup();
    locks
}

/// Build the plan for the selected entries. `frames` gives the frame sizes of each
/// stream for file input (`None` for pipe input: frames become tasks as they arrive).
pub fn plan(
    toc: &Toc,
    keep: &[bool],
    frames: Option<&StreamFrames>,
    task_bytes: u64,
    split_tables: bool,
    data_only: bool,
) -> Plan {
    let deps = dep_indices(toc);
    let n = toc.entries.len();
    let mut p = Plan::default();
    let kept = |i: usize| keep.get(i).copied().unwrap_or(false);

    // Size of each table's data, for weights of its post-data work.
    let mut table_bytes: HashMap<String, u64> = HashMap::new();
    for e in &toc.entries {
        if let Some(d) = &e.data {
            let bytes: u64 = match frames {
                Some(f) => d
                    .streams
                    .iter()
                    .map(|s| f.get(s).map_or(0, |v| v.iter().sum()))
                    .sum(),
                None => toc
                    .streams
                    .iter()
                    .filter(|s| d.streams.contains(&s.id))
                    .map(|s| s.est_bytes)
                    .sum(),
            };
            *table_bytes.entry(d.target.clone()).or_default() += bytes;
        }
    }

    // Roles first: owners and grantees of everything else (their use leaves no
    // trace in the TOC's dependencies).
    let is_role = |i: usize| entry_kind(&toc.entries[i]) == Some(Kind::Role);
    let mut roles = Vec::new();
    for i in (0..n).filter(|&i| kept(i) && is_role(i)) {
        roles.push(push_sql(&mut p, toc, &deps, i, Vec::new(), 0));
    }
    let roles_done = push_barrier(&mut p, roles, false);

    // Pass 0: pre-data.
    let mut pre = vec![roles_done];
    for i in 0..n {
        if kept(i)
            && !is_role(i)
            && pass(toc, &deps, i) == 0
            && section_of(toc, &deps, i) == Section::PreData
        {
            let t = push_sql(&mut p, toc, &deps, i, vec![roles_done], 0);
            pre.push(t);
        }
    }
    p.pre_data_done = push_barrier(&mut p, pre, false);

    // Data.
    let mut data_tasks_of_table: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut data = Vec::new();
    for i in 0..n {
        if !kept(i) || pass(toc, &deps, i) != 0 || section_of(toc, &deps, i) != Section::Data {
            continue;
        }
        let e = &toc.entries[i];
        // The table whose rows these are: the primary entry of the same object.
        let table_entry = deps[i].iter().copied().find(|&d| {
            toc.entries[d].meta.get("obj") == e.meta.get("obj")
                && toc.entries[d].meta.get("primary").is_some_and(|p| p == "1")
        });
        match (&e.data, frames) {
            (Some(d), Some(frames)) => {
                let mut groups: Vec<(StreamId, Range<usize>, u64)> = Vec::new();
                for s in &d.streams {
                    let sizes = frames.get(s).cloned().unwrap_or_default();
                    if !split_tables || d.kind == DataKind::LargeObjects {
                        groups.push((*s, 0..sizes.len(), sizes.iter().sum()));
                        continue;
                    }
                    let mut start = 0;
                    let mut acc = 0u64;
                    for (k, sz) in sizes.iter().enumerate() {
                        acc += sz;
                        if acc >= task_bytes {
                            groups.push((*s, start..k + 1, acc));
                            start = k + 1;
                            acc = 0;
                        }
                    }
                    if start < sizes.len() || sizes.is_empty() {
                        groups.push((*s, start..sizes.len(), acc));
                    }
                }
                // Empty streams need no load at all.
                groups.retain(|g| !g.1.is_empty());
                let created_here = table_entry.is_some_and(&kept) && !data_only;
                let loads_own_table = table_entry.is_some_and(|t| {
                    let te = &toc.entries[t];
                    crate::quote::qualify(te.schema.as_deref().unwrap_or(""), &te.name) == d.target
                });
                // TRUNCATE makes a new file for the table: worth it for COPY FREEZE
                // (no later hint-bit and freeze writes) only above a few pages.
                let freeze = groups.len() == 1
                    && groups[0].2 >= FREEZE_MIN_BYTES
                    && created_here
                    && loads_own_table
                    && d.kind == DataKind::Copy;
                for (stream, range, bytes) in groups {
                    let locks = if d.kind == DataKind::Copy {
                        vec![if freeze {
                            Lock::Exclusive(d.target.clone())
                        } else {
                            Lock::Load(d.target.clone())
                        }]
                    } else {
                        Vec::new()
                    };
                    let mut tdeps = vec![p.pre_data_done];
                    tdeps.extend(entry_deps(&p, &deps[i]));
                    let t = p.tasks.len();
                    p.tasks.push(TaskSpec {
                        kind: TaskKind::Data {
                            entry: i,
                            stream,
                            frames: range,
                            freeze,
                        },
                        deps: tdeps,
                        weight: bytes,
                        locks,
                        held: false,
                    });
                    data.push(t);
                    if let Some(te) = table_entry {
                        data_tasks_of_table.entry(te).or_default().push(t);
                    }
                }
                // The entry's own SQL (if any) runs too (LO metadata lives in other entries).
                if !e.create.trim().is_empty() {
                    let pre = vec![p.pre_data_done];
                    let t = push_sql(&mut p, toc, &deps, i, pre, 0);
                    data.push(t);
                }
            }
            _ => {
                // SEQUENCE SET, LARGE OBJECT metadata, or data from a pipe (frames come later).
                if !e.create.trim().is_empty() {
                    let pre = vec![p.pre_data_done];
                    let t = push_sql(&mut p, toc, &deps, i, pre, 0);
                    data.push(t);
                }
            }
        }
    }
    p.data_done = push_barrier(&mut p, data, frames.is_none());

    // Partitioned tables, by quoted qualified name.
    let partitioned: std::collections::HashSet<String> = toc
        .entries
        .iter()
        .filter(|e| {
            entry_kind(e) == Some(Kind::Table) && e.meta.get("relkind").is_some_and(|k| k == "p")
        })
        .map(|e| crate::quote::qualify(e.schema.as_deref().unwrap_or(""), &e.name))
        .collect();

    // Post-data: after the data of the tables it touches (all data, for pipe input).
    let mut main = vec![p.pre_data_done, p.data_done];
    for i in 0..n {
        if !kept(i) || pass(toc, &deps, i) != 0 || section_of(toc, &deps, i) != Section::PostData {
            continue;
        }
        let mut extra = Vec::new();
        if frames.is_none() {
            extra.push(p.data_done);
        } else {
            extra.push(p.pre_data_done);
            let mut on_table = false;
            for d in &deps[i] {
                if let Some(ts) = data_tasks_of_table.get(d) {
                    extra.extend(ts.iter().copied());
                    on_table = true;
                }
            }
            // Not on a table (a domain's NOT VALID check, ...): it may concern any
            // table's rows, so it waits for all data, as pg_restore's post-data does.
            if !on_table && !toc.entries[i].meta.contains_key("table") {
                extra.push(p.data_done);
            }
        }
        let weight = toc.entries[i]
            .meta
            .get("table")
            .and_then(|t| table_bytes.get(t))
            .copied()
            .unwrap_or(0);
        // A foreign key to a partitioned table has per-partition constraints that
        // VALIDATE CONSTRAINT does not mark valid: add those validated.
        let refs_partitioned = toc.entries[i]
            .meta
            .get("ref_table")
            .is_some_and(|r| partitioned.contains(r.as_str()));
        if entry_kind(&toc.entries[i]) == Some(Kind::FkConstraint)
            && !refs_partitioned
            && split_fk(&toc.entries[i].create).is_some()
        {
            let add = push_sql(&mut p, toc, &deps, i, extra, 0);
            p.tasks[add].kind = TaskKind::FkNotValid { entry: i };
            let table = toc.entries[i].meta.get("table").cloned();
            let t = p.tasks.len();
            p.tasks.push(TaskSpec {
                kind: TaskKind::FkValidate { entry: i },
                deps: vec![add],
                weight,
                locks: table.map(Lock::Exclusive).into_iter().collect(),
                held: false,
            });
            main.push(add);
            main.push(t);
            continue;
        }
        if let (Some(table), Some(_)) = (
            toc.entries[i].meta.get("table"),
            index_steps(&toc.entries[i]),
        ) {
            // The index first, beside the table's other index builds; then, alone on the
            // table for an instant, the constraint. What depends on the constraint waits
            // for the second step.
            let build = push_sql(&mut p, toc, &deps, i, extra, weight);
            p.tasks[build].kind = TaskKind::IndexBuild { entry: i };
            p.tasks[build].locks = vec![Lock::Shared(table.clone())];
            let attach = p.tasks.len();
            p.tasks.push(TaskSpec {
                kind: TaskKind::IndexAttach { entry: i },
                deps: vec![build],
                weight,
                locks: vec![Lock::Exclusive(table.clone())],
                held: false,
            });
            p.entry_task.insert(i, attach);
            main.push(build);
            main.push(attach);
            continue;
        }
        let t = push_sql(&mut p, toc, &deps, i, extra, weight);
        main.push(t);
    }
    let main_done = push_barrier(&mut p, main, false);

    // Pass 1: privileges; pass 2: event triggers and refreshes.
    let mut acl = vec![main_done];
    for i in 0..n {
        if kept(i) && pass(toc, &deps, i) == 1 {
            let t = push_sql(&mut p, toc, &deps, i, vec![main_done], 0);
            acl.push(t);
        }
    }
    let acl_done = push_barrier(&mut p, acl, false);
    let mut refreshes = vec![acl_done];
    for i in 0..n {
        if kept(i) && pass(toc, &deps, i) == 2 {
            let weight = toc.entries[i]
                .meta
                .get("est_bytes")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            refreshes.push(push_sql(&mut p, toc, &deps, i, vec![acl_done], weight));
        }
    }
    let refreshed = push_barrier(&mut p, refreshes, false);
    for i in 0..n {
        if kept(i) && pass(toc, &deps, i) == 3 {
            push_sql(&mut p, toc, &deps, i, vec![refreshed], 0);
        }
    }
    p
}

fn section_of(toc: &Toc, deps: &[Vec<usize>], i: usize) -> Section {
    let s = toc.entries[i].section();
    if s == Section::None {
        deps[i]
            .first()
            .map_or(Section::PreData, |&p| toc.entries[p].section())
    } else {
        s
    }
}

fn entry_deps(p: &Plan, deps: &[usize]) -> Vec<usize> {
    deps.iter()
        .filter_map(|d| p.entry_task.get(d).copied())
        .collect()
}

fn push_sql(
    p: &mut Plan,
    toc: &Toc,
    deps: &[Vec<usize>],
    i: usize,
    mut extra: Vec<usize>,
    weight: u64,
) -> usize {
    extra.extend(entry_deps(p, &deps[i]));
    extra.sort_unstable();
    extra.dedup();
    let t = p.tasks.len();
    p.tasks.push(TaskSpec {
        kind: TaskKind::Sql { entry: i },
        deps: extra,
        weight,
        locks: entry_locks(toc, i),
        held: false,
    });
    p.entry_task.insert(i, t);
    t
}

fn push_barrier(p: &mut Plan, deps: Vec<usize>, held: bool) -> usize {
    let t = p.tasks.len();
    p.tasks.push(TaskSpec {
        kind: TaskKind::Barrier,
        deps,
        weight: 0,
        locks: Vec::new(),
        held,
    });
    t
}

/// Smallest load done as TRUNCATE + COPY FREEZE in one transaction.
const FREEZE_MIN_BYTES: u64 = 64 << 10;

#[cfg(test)]
mod tests {
    use super::*;
    use pgdump_format::{StreamDecl, TableData, TocEntry};

    fn entry(id: u32, kind: Kind, name: &str, deps: Vec<u32>) -> TocEntry {
        TocEntry {
            id,
            kind: kind.tag().to_string(),
            section: kind.section().into(),
            schema: Some("s".into()),
            name: name.into(),
            create: format!("-- {name}"),
            deps,
            ..TocEntry::default()
        }
    }

    fn toc() -> Toc {
        let mut data = entry(2, Kind::TableData, "t", vec![1]);
        data.create = String::new();
        data.data = Some(TableData {
            target: "s.t".into(),
            streams: vec![0, 1],
            ..TableData::default()
        });
        let mut idx = entry(3, Kind::Index, "t_i", vec![1]);
        idx.meta.insert("table".into(), "s.t".into());
        let mut pk = entry(4, Kind::Constraint, "t t_pk", vec![1]);
        pk.meta.insert("table".into(), "s.t".into());
        let acl = entry(5, Kind::Acl, "TABLE t", vec![1]);
        let mut table = entry(1, Kind::Table, "t", vec![]);
        table.meta.insert("obj".into(), "1259:100".into());
        table.meta.insert("primary".into(), "1".into());
        data.meta.insert("obj".into(), "1259:100".into());
        Toc {
            entries: vec![table, data, idx, pk, acl],
            streams: vec![
                StreamDecl {
                    id: 0,
                    entry: 2,
                    ..StreamDecl::default()
                },
                StreamDecl {
                    id: 1,
                    entry: 2,
                    part: 1,
                    ..StreamDecl::default()
                },
            ],
            ..Toc::default()
        }
    }

    #[test]
    fn file_plan_cuts_streams_and_repoints_post_data() {
        let t = toc();
        let mut frames = StreamFrames::new();
        frames.insert(0, vec![10, 10, 10]);
        frames.insert(1, vec![5]);
        let p = plan(&t, &[true; 5], Some(&frames), 20, true, false);
        let data: Vec<&TaskSpec> = p
            .tasks
            .iter()
            .filter(|t| matches!(t.kind, TaskKind::Data { .. }))
            .collect();
        assert_eq!(data.len(), 3); // [0..2) [2..3) of stream 0, [0..1) of stream 1
        assert!(data
            .iter()
            .all(|d| matches!(d.kind, TaskKind::Data { freeze: false, .. })));
        assert_eq!(data[0].weight, 20);
        // the index waits for every data task of its table
        let idx = p.entry_task[&2];
        let data_ids: Vec<usize> = (0..p.tasks.len())
            .filter(|&i| matches!(p.tasks[i].kind, TaskKind::Data { .. }))
            .collect();
        for d in &data_ids {
            assert!(p.tasks[idx].deps.contains(d));
        }
        assert_eq!(p.tasks[idx].locks, vec![Lock::Shared("s.t".into())]);
        assert_eq!(p.tasks[idx].weight, 35);
        // the ACL waits for the end of the main pass
        let acl = p.entry_task[&4];
        assert!(p.tasks[acl]
            .deps
            .iter()
            .any(|&d| p.tasks[d].kind == TaskKind::Barrier && p.tasks[d].deps.contains(&idx)));
    }

    #[test]
    fn post_data_not_on_a_table_waits_for_all_data() {
        let mut t = toc();
        // a domain (pre-data) and its NOT VALID check (post-data, on no table)
        t.entries.push(entry(6, Kind::Domain, "d", vec![]));
        t.entries
            .push(entry(7, Kind::CheckConstraint, "d d_check", vec![6]));
        let mut frames = StreamFrames::new();
        frames.insert(0, vec![100]);
        frames.insert(1, vec![100]);
        let p = plan(&t, &[true; 7], Some(&frames), 1 << 30, true, false);
        let check = p.entry_task[&6];
        assert!(p.tasks[check].deps.contains(&p.data_done));
        // an index waits for its own table's data only
        let idx = p.entry_task[&2];
        assert!(!p.tasks[idx].deps.contains(&p.data_done));
    }

    #[test]
    fn a_single_load_of_a_new_table_freezes() {
        let t = toc();
        let mut frames = StreamFrames::new();
        frames.insert(0, vec![FREEZE_MIN_BYTES]);
        frames.insert(1, vec![]);
        let p = plan(&t, &[true; 5], Some(&frames), 1 << 30, true, false);
        let data: Vec<&TaskSpec> = p
            .tasks
            .iter()
            .filter(|t| matches!(t.kind, TaskKind::Data { .. }))
            .collect();
        assert_eq!(data.len(), 1);
        assert!(matches!(data[0].kind, TaskKind::Data { freeze: true, .. }));
        assert_eq!(data[0].locks, vec![Lock::Exclusive("s.t".into())]);
        // a few rows: a plain COPY, no TRUNCATE
        frames.insert(0, vec![FREEZE_MIN_BYTES - 1]);
        let p = plan(&t, &[true; 5], Some(&frames), 1 << 30, true, false);
        assert!(p
            .tasks
            .iter()
            .any(|t| matches!(t.kind, TaskKind::Data { freeze: false, .. })));
        // data-only restores never truncate
        let p = plan(
            &t,
            &[false, true, false, false, false],
            Some(&frames),
            100,
            true,
            true,
        );
        assert!(p
            .tasks
            .iter()
            .all(|t| !matches!(t.kind, TaskKind::Data { freeze: true, .. })));
    }

    #[test]
    fn foreign_keys_split_into_not_valid_and_validate() {
        let (add, validate) = split_fk(
            "ALTER TABLE ONLY s.\"Order Lines\"\n    ADD CONSTRAINT \"fk \"\"x\"\"\" FOREIGN KEY (a) REFERENCES s.t(id) DEFERRABLE;\n",
        )
        .unwrap();
        assert_eq!(
            add,
            "ALTER TABLE ONLY s.\"Order Lines\"\n    ADD CONSTRAINT \"fk \"\"x\"\"\" FOREIGN KEY (a) REFERENCES s.t(id) DEFERRABLE NOT VALID;\n"
        );
        assert_eq!(
            validate,
            "ALTER TABLE ONLY s.\"Order Lines\" VALIDATE CONSTRAINT \"fk \"\"x\"\"\";\n"
        );
        // already NOT VALID, partitioned (no ONLY), or not a foreign key: left alone
        assert!(split_fk("ALTER TABLE ONLY s.t\n    ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES s.u(id) NOT VALID;\n").is_none());
        assert!(split_fk(
            "ALTER TABLE s.p\n    ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES s.u(id);\n"
        )
        .is_none());
        assert!(split_fk("ALTER TABLE ONLY s.t\n    ADD CONSTRAINT c CHECK (a > 0);\n").is_none());
    }

    #[test]
    fn index_constraints_build_beside_other_indexes() {
        let mut t = toc();
        t.entries[3].meta.insert(
            "index_build".into(),
            "CREATE UNIQUE INDEX t_pk ON s.t USING btree (a);\n".into(),
        );
        t.entries[3].meta.insert(
            "index_attach".into(),
            "ALTER TABLE ONLY s.t\n    ADD CONSTRAINT t_pk PRIMARY KEY USING INDEX t_pk;\n".into(),
        );
        // a comment on the constraint waits for the constraint, not for its index
        t.entries
            .push(entry(6, Kind::Comment, "CONSTRAINT t_pk", vec![4]));
        let mut frames = StreamFrames::new();
        frames.insert(0, vec![10]);
        frames.insert(1, vec![10]);
        let p = plan(&t, &[true; 6], Some(&frames), 100, true, false);
        let build = p
            .tasks
            .iter()
            .position(|x| x.kind == TaskKind::IndexBuild { entry: 3 })
            .unwrap();
        let attach = p.entry_task[&3];
        assert_eq!(p.tasks[attach].kind, TaskKind::IndexAttach { entry: 3 });
        assert_eq!(p.tasks[attach].deps, vec![build]);
        // the build shares the table with the other index; the attach has it alone
        assert_eq!(p.tasks[build].locks, vec![Lock::Shared("s.t".into())]);
        assert_eq!(
            p.tasks[p.entry_task[&2]].locks,
            vec![Lock::Shared("s.t".into())]
        );
        assert_eq!(p.tasks[attach].locks, vec![Lock::Exclusive("s.t".into())]);
        assert!(p.tasks[p.entry_task[&5]].deps.contains(&attach));
        assert_eq!(
            step_sql(&t.entries[3], &TaskKind::IndexBuild { entry: 3 }).unwrap(),
            "CREATE UNIQUE INDEX t_pk ON s.t USING btree (a);\n"
        );
        // without the steps (older archives) the constraint is one statement
        let p = plan(&toc(), &[true; 5], Some(&frames), 100, true, false);
        assert_eq!(p.tasks[p.entry_task[&3]].kind, TaskKind::Sql { entry: 3 });
    }

    #[test]
    fn pipe_plan_holds_post_data_until_the_end() {
        let t = toc();
        let p = plan(&t, &[true; 5], None, 100, true, false);
        assert!(p.tasks[p.data_done].held);
        let idx = p.entry_task[&2];
        assert!(p.tasks[idx].deps.contains(&p.data_done));
        assert!(p
            .tasks
            .iter()
            .all(|t| !matches!(t.kind, TaskKind::Data { .. })));
    }
}
