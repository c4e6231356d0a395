//! The table of contents: every object an archive can restore, in restore order.
//!
//! The TOC is plain data. It is stored as one JSON document (see FORMAT.md) so a
//! second reader needs nothing but a JSON parser, and so that fields added by a
//! newer minor version are ignored by an older reader. Semantics of the SQL it
//! carries belong to pgdump-core; this crate only stores and validates it.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::error::FormatError;

/// Identifier of a TOC entry, unique within one archive (1-based, dense, in TOC order).
pub type EntryId = u32;

/// Identifier of a data stream, unique within one archive (dense, 0-based).
pub type StreamId = u32;

/// The whole table of contents.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Toc {
    /// Facts about the dump as a whole.
    pub info: ArchiveInfo,
    /// Objects, in the order a serial restore would run them.
    pub entries: Vec<TocEntry>,
    /// Every data stream the archive holds frames for, in id order.
    pub streams: Vec<StreamDecl>,
}

/// Facts about the dump as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ArchiveInfo {
    /// When the snapshot was taken, RFC 3339 in UTC (`2026-11-21T10:00:00Z`).
    pub created_at: String,
    /// The program that wrote the archive, e.g. `pgdump 0.1.0`.
    pub tool: String,
    /// Source server version as the server reports it (`server_version`).
    pub server_version: String,
    /// Source server version number (`server_version_num`, e.g. 150018).
    pub server_version_num: u32,
    /// Name of the dumped database.
    pub database: String,
    /// Encoding of all text in the archive (the dump's client encoding).
    pub encoding: String,
    /// Other settings a restore must know, by name (e.g. `standard_conforming_strings`).
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

/// Where an entry runs in a restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Section {
    /// Not tied to a section (comments, ACLs): runs right after what it depends on.
    None,
    /// Definitions needed before data can be loaded.
    PreData,
    /// Table contents, sequence values, large objects.
    Data,
    /// Indexes, constraints, triggers and everything better built after the data.
    PostData,
}

impl Section {
    /// The name used in listings and on the command line (`pre-data`, `data`, `post-data`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            Section::None => "none",
            Section::PreData => "pre-data",
            Section::Data => "data",
            Section::PostData => "post-data",
        }
    }
}

/// One object to restore.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TocEntry {
    /// Unique id within the archive.
    pub id: EntryId,
    /// Object kind as an upper-case tag, e.g. `TABLE`, `INDEX`, `FK CONSTRAINT`, `TABLE DATA`.
    pub kind: String,
    /// Restore section.
    pub section: SectionField,
    /// Schema of the object, unquoted; `None` for objects outside schemas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Display name, unquoted (e.g. `orders` or `orders orders_pkey`).
    pub name: String,
    /// Owning role, unquoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// SQL that creates the object (may hold several statements).
    #[serde(default)]
    pub create: String,
    /// SQL that sets the owner; skipped by `--no-owner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alter_owner: Option<String>,
    /// SQL that drops the object (used by `--clean`), written with `IF EXISTS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<String>,
    /// Entries that must be restored before this one.
    #[serde(default)]
    pub deps: Vec<EntryId>,
    /// For entries that carry data: how to load it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<TableData>,
    /// Further properties by name (relkind, oid, tablespace, estimated size ...).
    /// Readers ignore names they do not know.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
}

/// The section of an entry; a newtype so that `Default` is possible for [`TocEntry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SectionField(pub Section);

impl Default for SectionField {
    fn default() -> Self {
        SectionField(Section::PreData)
    }
}

impl From<Section> for SectionField {
    fn from(s: Section) -> Self {
        SectionField(s)
    }
}

/// How the data of an entry is loaded.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableData {
    /// What the frames of the streams contain.
    pub kind: DataKind,
    /// Quoted, schema-qualified COPY target (for `copy`), empty otherwise.
    #[serde(default)]
    pub target: String,
    /// Quoted column names of the COPY column list, in stream order.
    #[serde(default)]
    pub columns: Vec<String>,
    /// COPY format of the stream contents.
    #[serde(default)]
    pub format: CopyFormat,
    /// The streams holding the data, in order (a split table has several).
    #[serde(default)]
    pub streams: Vec<StreamId>,
    /// For `binary` format: how to read each column's binary value, one per column:
    /// a built-in type OID as decimal text (domains given as their base type),
    /// `enum` or `enum[]`. Lets a reader turn binary rows into text without a server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binary_types: Vec<String>,
}

/// What the frames of a data stream contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataKind {
    /// COPY rows of one table (text or binary tuples without header or trailer).
    #[default]
    Copy,
    /// Large object contents as records (see FORMAT.md, "large object stream").
    LargeObjects,
}

/// COPY format of a table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CopyFormat {
    /// PostgreSQL text COPY format, one row per line.
    #[default]
    Text,
    /// PostgreSQL binary COPY tuples (the restore side adds header and trailer).
    Binary,
}

/// Declaration of a data stream.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamDecl {
    /// Stream id (dense from 0).
    pub id: StreamId,
    /// The TOC entry whose data this stream holds.
    pub entry: EntryId,
    /// Position of this stream among the entry's streams (0-based).
    #[serde(default)]
    pub part: u32,
    /// Human-readable description of the part (e.g. `pages [0,4096)`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// Size estimate made at dump time, in bytes (for scheduling before the index is known).
    #[serde(default)]
    pub est_bytes: u64,
}

impl Toc {
    /// Find an entry by id.
    pub fn entry(&self, id: EntryId) -> Option<&TocEntry> {
        // Ids are dense and in order when written by pgdump; fall back to a scan otherwise.
        let idx = usize::try_from(id).ok()?.checked_sub(1)?;
        match self.entries.get(idx) {
            Some(e) if e.id == id => Some(e),
            _ => self.entries.iter().find(|e| e.id == id),
        }
    }

    /// Find a stream declaration by id.
    pub fn stream(&self, id: StreamId) -> Option<&StreamDecl> {
        match self.streams.get(usize::try_from(id).ok()?) {
            Some(s) if s.id == id => Some(s),
            _ => self.streams.iter().find(|s| s.id == id),
        }
    }
}

impl TocEntry {
    /// The section of this entry.
    pub fn section(&self) -> Section {
        self.section.0
    }

    /// `schema.name` or `name`, unquoted, for messages.
    pub fn display_name(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

impl Toc {
    /// Checks the cross references of the TOC: entry ids unique; dependencies point at
    /// existing entries, not at the entry itself, and form no cycle; stream ids dense
    /// `0..n` in order; each stream's entry exists; the streams an entry's `data` lists
    /// exist, point back to that entry, and are listed by one entry only.
    ///
    /// Run by the writer before anything is written and by both readers after the TOC is read.
    pub fn validate(&self) -> Result<(), FormatError> {
        let err = |m: String| Err(FormatError::Toc(m));
        let mut pos: HashMap<EntryId, usize> = HashMap::with_capacity(self.entries.len());
        for (i, e) in self.entries.iter().enumerate() {
            if pos.insert(e.id, i).is_some() {
                return err(format!("entry id {} is used twice", e.id));
            }
        }
        for e in &self.entries {
            for &d in &e.deps {
                if d == e.id {
                    return err(format!(
                        "entry {} ({}) depends on itself",
                        e.id,
                        e.display_name()
                    ));
                }
                if !pos.contains_key(&d) {
                    return err(format!(
                        "entry {} ({}) depends on entry {d}, which does not exist",
                        e.id,
                        e.display_name()
                    ));
                }
            }
        }
        self.check_acyclic(&pos)?;
        for (i, s) in self.streams.iter().enumerate() {
            if usize::try_from(s.id).ok() != Some(i) {
                return err(format!(
                    "stream ids must be 0..{} in order; position {i} holds stream {}",
                    self.streams.len(),
                    s.id
                ));
            }
            if !pos.contains_key(&s.entry) {
                return err(format!(
                    "stream {} belongs to entry {}, which does not exist",
                    s.id, s.entry
                ));
            }
        }
        let mut listed = vec![false; self.streams.len()];
        for e in &self.entries {
            let Some(data) = &e.data else { continue };
            for &sid in &data.streams {
                let Some(decl) = self.stream(sid) else {
                    return err(format!(
                        "entry {} ({}) lists stream {sid}, which is not declared",
                        e.id,
                        e.display_name()
                    ));
                };
                if decl.entry != e.id {
                    return err(format!(
                        "entry {} ({}) lists stream {sid}, which belongs to entry {}",
                        e.id,
                        e.display_name(),
                        decl.entry
                    ));
                }
                match usize::try_from(sid).ok().and_then(|i| listed.get_mut(i)) {
                    Some(seen) if !*seen => *seen = true,
                    _ => return err(format!("stream {sid} is listed twice")),
                }
            }
        }
        Ok(())
    }

    /// Kahn's algorithm over the dependency edges.
    fn check_acyclic(&self, pos: &HashMap<EntryId, usize>) -> Result<(), FormatError> {
        let n = self.entries.len();
        let mut indegree = vec![0usize; n];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, e) in self.entries.iter().enumerate() {
            for d in &e.deps {
                if let (Some(&j), Some(deg)) = (pos.get(d), indegree.get_mut(i)) {
                    *deg += 1;
                    if let Some(v) = dependents.get_mut(j) {
                        v.push(i);
                    }
                }
            }
        }
        let mut ready: Vec<usize> = (0..n).filter(|&i| indegree.get(i) == Some(&0)).collect();
        let mut done = 0usize;
        while let Some(j) = ready.pop() {
            done += 1;
            for &i in dependents.get(j).map(Vec::as_slice).unwrap_or_default() {
                if let Some(deg) = indegree.get_mut(i) {
                    *deg -= 1;
                    if *deg == 0 {
                        ready.push(i);
                    }
                }
            }
        }
        if done < n {
            let stuck = indegree
                .iter()
                .zip(&self.entries)
                .find(|(d, _)| **d > 0)
                .map(|(_, e)| format!("{} ({})", e.id, e.display_name()))
                .unwrap_or_default();
            return Err(FormatError::Toc(format!(
                "dependencies form a cycle through entry {stuck}"
            )));
        }
        Ok(())
    }

    /// The TOC as stored: compact JSON, fields in declaration order, maps sorted.
    pub fn to_json(&self) -> Result<Vec<u8>, FormatError> {
        // Sized up front (SQL text plus the fields around it): the TOC of thousands of
        // tables is megabytes, which doubling from empty copies about twice over.
        let guess = self
            .entries
            .iter()
            .map(|e| e.create.len() + e.drop.as_ref().map_or(0, String::len) + 256)
            .sum::<usize>()
            + self.streams.len() * 64;
        let mut out = Vec::with_capacity(guess);
        serde_json::to_writer(&mut out, self)
            .map_err(|e| FormatError::Toc(format!("cannot serialize: {e}")))?;
        Ok(out)
    }

    /// Parses a stored TOC (unknown fields are ignored) without validating it.
    pub fn from_json(json: &[u8]) -> Result<Toc, FormatError> {
        serde_json::from_slice(json).map_err(|e| FormatError::Toc(format!("bad JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: EntryId, deps: &[EntryId]) -> TocEntry {
        TocEntry {
            id,
            kind: "TABLE".into(),
            name: format!("t{id}"),
            deps: deps.to_vec(),
            ..Default::default()
        }
    }

    fn data_entry(id: EntryId, streams: &[StreamId]) -> TocEntry {
        TocEntry {
            data: Some(TableData {
                streams: streams.to_vec(),
                ..Default::default()
            }),
            kind: "TABLE DATA".into(),
            ..entry(id, &[])
        }
    }

    fn decl(id: StreamId, entry: EntryId) -> StreamDecl {
        StreamDecl {
            id,
            entry,
            ..Default::default()
        }
    }

    #[test]
    fn valid() {
        let toc = Toc {
            entries: vec![entry(1, &[]), entry(2, &[1]), data_entry(3, &[0, 1])],
            streams: vec![decl(0, 3), decl(1, 3)],
            ..Default::default()
        };
        toc.validate().unwrap();
        Toc::default().validate().unwrap();
        let json = toc.to_json().unwrap();
        assert_eq!(Toc::from_json(&json).unwrap(), toc);
    }

    #[test]
    fn invalid() {
        let cases = [
            (vec![entry(1, &[]), entry(1, &[])], vec![], "twice"),
            (vec![entry(1, &[5])], vec![], "does not exist"),
            (vec![entry(1, &[1])], vec![], "itself"),
            (
                vec![entry(1, &[3]), entry(2, &[1]), entry(3, &[2])],
                vec![],
                "cycle",
            ),
            (vec![entry(1, &[])], vec![decl(1, 1)], "0..1"),
            (vec![entry(1, &[])], vec![decl(0, 2)], "does not exist"),
            (vec![data_entry(1, &[3])], vec![decl(0, 1)], "not declared"),
            (
                vec![data_entry(1, &[0]), data_entry(2, &[0])],
                vec![decl(0, 1)],
                "belongs to entry 1",
            ),
            (
                vec![data_entry(1, &[0, 0])],
                vec![decl(0, 1)],
                "listed twice",
            ),
        ];
        for (entries, streams, msg) in cases {
            let toc = Toc {
                entries,
                streams,
                ..Default::default()
            };
            match toc.validate() {
                Err(FormatError::Toc(m)) => assert!(m.contains(msg), "{m} / {msg}"),
                other => panic!("{other:?} / {msg}"),
            }
        }
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let json =
            br#"{"info":{"created_at":"","tool":"","server_version":"","server_version_num":0,
            "database":"","encoding":"","future":1},"entries":[],"streams":[],"future_top":[1,2]}"#;
        assert_eq!(Toc::from_json(json).unwrap(), Toc::default());
    }
}
