//! What a restore reports: the summary of a finished run, and the state a stopped
//! run left its target in.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One item that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Kind and name of the object.
    pub object: String,
    /// The server's (or pgdump's) message.
    pub message: String,
}

/// The name large-object pieces are counted under in [`RestoreSummary::loaded`].
pub const LARGE_OBJECTS: &str = "large objects";

/// What a restore did.
#[derive(Debug, Clone, Default)]
pub struct RestoreSummary {
    /// Database restored into.
    pub database: String,
    /// Entries selected for restore.
    pub selected: usize,
    /// Tasks completed successfully (entries and data parts).
    pub done: usize,
    /// Items that failed, with the server's message.
    pub failures: Vec<Failure>,
    /// Items not run because something they depend on failed.
    pub skipped: Vec<String>,
    /// Notes (entries left out of a selection and why, clean-up messages).
    pub notes: Vec<String>,
    /// Rows loaded.
    pub rows: u64,
    /// Raw bytes of data loaded.
    pub bytes: u64,
    /// Tables (targets) that received data, with rows loaded (for partial-restore
    /// reports); pieces of large objects count under [`LARGE_OBJECTS`].
    pub loaded: Vec<(String, u64)>,
    /// The safety backup written (and verified) before the destructive step.
    pub safety_backup: Option<PathBuf>,
    /// After a swap ([`super::Target::Replace`]): the previous database, renamed aside
    /// (`None` when it was not kept, or there was none).
    pub previous: Option<String>,
    /// Tables (and large objects) checked against the archive's row counts and
    /// content hashes before a swap.
    pub checked: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Time of the swap alone (from the first attempt to its commit).
    pub swap_time: Option<Duration>,
    /// Time of the check against the archive (reading every table back).
    pub check_time: Option<Duration>,
}

impl RestoreSummary {
    /// Ok if nothing failed.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// What the target holds after a restore that stopped before its end
/// ([`crate::CoreError::Stopped`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetState {
    /// Nothing in the target changed: the restore stopped before changing anything,
    /// its transaction was rolled back, or the database it was building beside the
    /// target (or in place of a missing one) was dropped.
    Unchanged,
    /// Unchanged, but the database this run was building could not be dropped (the
    /// server went away): drop it by hand; the next `--replace` of the same target
    /// drops it too.
    LeftOver {
        /// The database left over.
        database: String,
    },
    /// What this run created was dropped again. Rows it loaded into tables that
    /// existed before (a data-only restore) stay: listed with their row counts.
    Undone {
        /// Tables (or [`LARGE_OBJECTS`]) that kept rows this run loaded.
        kept: Vec<(String, u64)>,
        /// Objects this run created that could not be dropped again.
        not_dropped: Vec<String>,
    },
    /// The target was changed and could not be put back: what it holds.
    Changed {
        /// A description of the state (what was replaced, what loaded).
        detail: String,
    },
}

impl fmt::Display for TargetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetState::Unchanged => write!(f, "the target database is unchanged"),
            TargetState::LeftOver { database } => write!(
                f,
                "the target database is unchanged, but the database {database} this run \
                 was building could not be dropped: drop it (the next --replace of the \
                 same target drops it too)"
            ),
            TargetState::Undone { kept, not_dropped } => {
                write!(f, "the objects this run created were dropped again")?;
                if !not_dropped.is_empty() {
                    write!(f, ", except {}", not_dropped.join(", "))?;
                }
                if kept.is_empty() {
                    write!(f, "; the target is as it was")
                } else {
                    let rows: Vec<String> = kept
                        .iter()
                        .map(|(t, n)| {
                            let unit = if t == LARGE_OBJECTS { "pieces" } else { "rows" };
                            format!("{t}: {n} {unit}")
                        })
                        .collect();
                    write!(
                        f,
                        "; rows loaded into tables that existed before were kept ({})",
                        rows.join(", ")
                    )
                }
            }
            TargetState::Changed { detail } => write!(f, "the target was changed: {detail}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_say_what_the_target_holds() {
        assert_eq!(
            TargetState::Unchanged.to_string(),
            "the target database is unchanged"
        );
        let s = TargetState::Undone {
            kept: vec![("public.t".into(), 3), (LARGE_OBJECTS.into(), 2)],
            not_dropped: vec![],
        };
        assert_eq!(
            s.to_string(),
            "the objects this run created were dropped again; rows loaded into tables that \
             existed before were kept (public.t: 3 rows, large objects: 2 pieces)"
        );
        let e = crate::CoreError::Stopped {
            cause: Box::new(crate::CoreError::Cancelled),
            state: TargetState::Unchanged,
        };
        assert_eq!(e.to_string(), "cancelled; the target database is unchanged");
        assert!(e.is_cancelled());
    }
}
