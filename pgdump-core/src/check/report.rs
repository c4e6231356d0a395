//! What a check found, object by object.

use std::fmt::Write as _;

use pgdump_format::EntryId;

/// What kind of data a checked object holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckedKind {
    /// A table's rows (a `TABLE DATA` entry, or the partitions loaded through one root).
    Table,
    /// The contents of a group of large objects (a `BLOBS` entry).
    LargeObjects,
}

/// The check of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCheck {
    /// The TOC entries whose data this covers: one, or every partition loaded through
    /// the same partition root (their rows may land in other partitions than at the
    /// source, so they are checked together, through the root).
    pub entries: Vec<EntryId>,
    /// Table or large objects.
    pub kind: CheckedKind,
    /// `schema.name` of the table (unquoted), the partition root as the archive quotes
    /// it (`schema.name`) for partitions loaded through it, or the name of the large
    /// objects' group (`first..last` OID).
    pub name: String,
    /// Rows the archive holds (for large objects: pieces of up to 1 MiB).
    pub expected_rows: u64,
    /// Rows found in the database.
    pub found_rows: u64,
    /// Whether the content hash found equals the archive's.
    pub hash_matches: bool,
    /// What else is wrong, when something is: the table does not exist, large objects
    /// are missing. `None` for an object found.
    pub problem: Option<String>,
}

impl ObjectCheck {
    /// The object's data is as the archive recorded it.
    pub fn ok(&self) -> bool {
        self.problem.is_none() && self.expected_rows == self.found_rows && self.hash_matches
    }

    /// `TABLE schema.name` or `LARGE OBJECTS first..last`.
    pub fn label(&self) -> String {
        match self.kind {
            CheckedKind::Table => format!("TABLE {}", self.name),
            CheckedKind::LargeObjects => format!("LARGE OBJECTS {}", self.name),
        }
    }

    /// One line saying what differs (`TABLE s.t: 1000 rows expected, 999 found`,
    /// `TABLE s.t: content differs`), or that it matches.
    pub fn describe(&self) -> String {
        let unit = match self.kind {
            CheckedKind::Table => "rows",
            CheckedKind::LargeObjects => "pieces",
        };
        let mut what = Vec::new();
        if let Some(p) = &self.problem {
            what.push(p.clone());
        }
        if self.expected_rows != self.found_rows {
            what.push(format!(
                "{} {unit} expected, {} found",
                self.expected_rows, self.found_rows
            ));
        } else if !self.hash_matches && self.problem.is_none() {
            what.push("content differs".to_string());
        }
        if what.is_empty() {
            what.push(format!("{} {unit}, content matches", self.found_rows));
        }
        format!("{}: {}", self.label(), what.join("; "))
    }
}

/// The outcome of [`check_against`](super::check_against).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Every checked object, in TOC order.
    pub objects: Vec<ObjectCheck>,
    /// What the reader should know about how the check was made (settings the archive
    /// does not record, settings this server refused).
    pub notes: Vec<String>,
    /// Wall time of the check.
    pub elapsed: std::time::Duration,
}

impl CheckReport {
    /// Every checked object is as the archive recorded it.
    pub fn ok(&self) -> bool {
        self.objects.iter().all(ObjectCheck::ok)
    }

    /// The objects that differ.
    pub fn mismatches(&self) -> impl Iterator<Item = &ObjectCheck> {
        self.objects.iter().filter(|o| !o.ok())
    }

    /// Rows the archive holds, over every checked object (large-object pieces included).
    pub fn expected_rows(&self) -> u64 {
        self.objects.iter().map(|o| o.expected_rows).sum()
    }

    /// Rows found, over every checked object.
    pub fn found_rows(&self) -> u64 {
        self.objects.iter().map(|o| o.found_rows).sum()
    }

    /// A short report: one line per object that differs (at most 50), the notes, and a
    /// summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let bad: Vec<&ObjectCheck> = self.mismatches().collect();
        for o in bad.iter().take(50) {
            let _ = writeln!(out, "{}", o.describe());
        }
        if bad.len() > 50 {
            let _ = writeln!(out, "... and {} more objects that differ", bad.len() - 50);
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        let tables = self
            .objects
            .iter()
            .filter(|o| o.kind == CheckedKind::Table)
            .count();
        let los = self.objects.len() - tables;
        let what = format!(
            "{tables} table{}{}",
            if tables == 1 { "" } else { "s" },
            if los > 0 {
                format!(
                    " and {los} large-object group{}",
                    if los == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            }
        );
        if bad.is_empty() {
            let _ = writeln!(
                out,
                "check: OK, {what} as the archive recorded ({} rows) in {:.1?}",
                self.found_rows(),
                self.elapsed
            );
        } else {
            let _ = writeln!(
                out,
                "check: {} of {} objects differ ({what} checked; {} rows expected, {} found)",
                bad.len(),
                self.objects.len(),
                self.expected_rows(),
                self.found_rows()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, expected: u64, found: u64, hash: bool) -> ObjectCheck {
        ObjectCheck {
            entries: vec![1],
            kind: CheckedKind::Table,
            name: name.into(),
            expected_rows: expected,
            found_rows: found,
            hash_matches: hash,
            problem: None,
        }
    }

    #[test]
    fn descriptions_name_the_object() {
        assert_eq!(
            table("s.t", 1000, 999, false).describe(),
            "TABLE s.t: 1000 rows expected, 999 found"
        );
        assert_eq!(
            table("s.t", 10, 10, false).describe(),
            "TABLE s.t: content differs"
        );
        assert_eq!(
            table("s.t", 10, 10, true).describe(),
            "TABLE s.t: 10 rows, content matches"
        );
        let lo = ObjectCheck {
            kind: CheckedKind::LargeObjects,
            problem: Some("large object 42 is missing".into()),
            ..table("41..42", 3, 2, false)
        };
        assert_eq!(
            lo.describe(),
            "LARGE OBJECTS 41..42: large object 42 is missing; 3 pieces expected, 2 found"
        );
        assert!(!lo.ok());
    }

    #[test]
    fn render_lists_mismatches_and_totals() {
        let mut r = CheckReport {
            objects: vec![table("a.x", 5, 5, true), table("a.y", 3, 3, true)],
            notes: vec![],
            elapsed: std::time::Duration::from_millis(1500),
        };
        assert!(r.ok());
        assert_eq!(
            r.render(),
            "check: OK, 2 tables as the archive recorded (8 rows) in 1.5s\n"
        );
        r.objects.push(table("a.z", 4, 3, false));
        r.notes.push("something".into());
        assert!(!r.ok());
        assert_eq!(
            r.render(),
            "TABLE a.z: 4 rows expected, 3 found\nnote: something\n\
             check: 1 of 3 objects differ (3 tables checked; 12 rows expected, 11 found)\n"
        );
    }
}
