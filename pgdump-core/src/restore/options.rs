//! Options of a restore (named as pg_restore's where they mean the same).

use std::path::PathBuf;
use std::time::Duration;

use pgdump_format::{EntryId, Section};

use crate::error::{CoreError, Result};
use crate::filter::{NamePattern, PatternSet};

/// Which database a restore writes into. The database is always one the caller
/// named: the connection's, or (only with [`Target::CreateArchive`]) the archive's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// The existing database the connection names (default). With `clean`, the
    /// archive's objects are dropped and created again in one transaction, after a
    /// check that nothing outside the archive depends on them.
    #[default]
    Existing,
    /// Create the database the connection names, then restore into it; a failed or
    /// cancelled restore drops it again. If it exists: an error, or with `clean` it
    /// is replaced as by [`Target::Replace`] (the previous copy is not kept).
    Create,
    /// pg_restore's `--create`: the connection's database only serves to connect;
    /// the archive's database is created (same rules as [`Target::Create`]).
    CreateArchive,
    /// Restore into a new database beside the one the connection names, check it
    /// against the archive, then swap it in under the target's name (see
    /// [`ReplaceOptions`]). The target stays untouched until the swap, which is one
    /// transaction. A missing target is simply created.
    Replace,
}

/// How [`Target::Replace`] swaps the new database in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplaceOptions {
    /// End the target's sessions at the swap (`pg_terminate_backend`); without it,
    /// wait for them to end.
    pub terminate_connections: bool,
    /// How long the swap may wait for the target's sessions to end (and for its
    /// locks) before giving up, leaving everything as it was.
    pub wait: Duration,
    /// Previous copies of the target (renamed aside by earlier swaps of this tool) to
    /// keep; older ones are dropped after a successful swap.
    pub keep_previous: usize,
}

impl Default for ReplaceOptions {
    fn default() -> Self {
        ReplaceOptions {
            terminate_connections: false,
            wait: Duration::from_secs(30),
            keep_previous: 1,
        }
    }
}

/// What to restore and how.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// Connections used in parallel.
    pub jobs: usize,
    /// Drop objects before creating them (`--clean`).
    pub clean: bool,
    /// Accepted for compatibility: drops always use `IF EXISTS`.
    pub if_exists: bool,
    /// The database restored into.
    pub target: Target,
    /// How a [`Target::Replace`] (or a `clean` [`Target::Create`]) swaps.
    pub replace: ReplaceOptions,
    /// Before any destructive step (dropping objects, replacing the database), dump
    /// the target to this file and verify it; if that fails, nothing is touched.
    pub safety_backup: Option<PathBuf>,
    /// Skip ownership statements.
    pub no_owner: bool,
    /// Skip GRANT/REVOKE and default privileges.
    pub no_privileges: bool,
    /// Skip comments.
    pub no_comments: bool,
    /// Do not create the roles the archive refers to (they must exist).
    pub no_roles: bool,
    /// `SET ROLE` to this role after connecting.
    pub role: Option<String>,
    /// Restore only these sections (empty = all).
    pub sections: Vec<Section>,
    /// Schemas to include/exclude (`-n`/`-N`).
    pub schemas: PatternSet,
    /// Tables to restore with what they need (`-t`).
    pub tables: Vec<NamePattern>,
    /// Definitions only.
    pub schema_only: bool,
    /// Data only.
    pub data_only: bool,
    /// Everything in one transaction (implies exit on error, one connection).
    pub single_transaction: bool,
    /// Stop at the first error (default: continue and report every failure).
    pub exit_on_error: bool,
    /// Disable triggers while loading data (data-only restores).
    pub disable_triggers: bool,
    /// Restore only these entries (`--use-list`).
    pub use_list: Option<Vec<EntryId>>,
    /// Check every frame's checksum before running any SQL (file input).
    pub verify_first: bool,
    /// Load a table split into several streams on several connections at once.
    pub split_tables: bool,
    /// Target bytes of one data task when a stream is cut into frame groups.
    pub data_task_bytes: u64,
    /// When restoring from a pipe (or a file with `verify_first` off) and the archive
    /// turns out to be damaged, keep what was loaded instead of rolling back (the
    /// report says exactly what loaded).
    pub keep_partial: bool,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            jobs: 1,
            clean: false,
            if_exists: false,
            target: Target::Existing,
            replace: ReplaceOptions::default(),
            safety_backup: None,
            no_owner: false,
            no_privileges: false,
            no_comments: false,
            no_roles: false,
            role: None,
            sections: Vec::new(),
            schemas: PatternSet::default(),
            tables: Vec::new(),
            schema_only: false,
            data_only: false,
            single_transaction: false,
            exit_on_error: false,
            disable_triggers: false,
            use_list: None,
            verify_first: true,
            split_tables: true,
            data_task_bytes: 64 << 20,
            keep_partial: false,
        }
    }
}

impl RestoreOptions {
    /// Check that the options make sense together.
    pub fn validate(&self) -> Result<()> {
        if self.jobs == 0 {
            return Err(CoreError::Usage("--jobs must be at least 1".into()));
        }
        if self.schema_only && self.data_only {
            return Err(CoreError::Usage(
                "options --schema-only and --data-only cannot be used together".into(),
            ));
        }
        if self.single_transaction && self.jobs > 1 {
            return Err(CoreError::Usage(
                "options --single-transaction and --jobs > 1 cannot be used together".into(),
            ));
        }
        if self.creates_database() && self.single_transaction {
            return Err(CoreError::Usage(format!(
                "options {} and --single-transaction cannot be used together",
                if self.target == Target::Replace {
                    "--replace"
                } else {
                    "--create"
                }
            )));
        }
        if self.target == Target::Replace {
            self.validate_whole("--replace")?;
        }
        if self.safety_backup.is_some() && !self.destructive_possible() {
            return Err(CoreError::Usage(
                "--safety-backup protects a destructive restore: use it with --clean or --replace"
                    .into(),
            ));
        }
        if self.data_task_bytes == 0 {
            return Err(CoreError::Usage("data task size must be positive".into()));
        }
        Ok(())
    }

    /// A restore that swaps a new database in for the target must restore all of the
    /// archive: a selection would replace the database with a part of it.
    pub fn validate_whole(&self, what: &str) -> Result<()> {
        let selection = [
            (!self.tables.is_empty(), "-t"),
            (
                !self.schemas.include.is_empty() || !self.schemas.exclude.is_empty(),
                "-n/-N",
            ),
            (self.use_list.is_some(), "-L"),
            (!self.sections.is_empty(), "--section"),
            (self.schema_only, "--schema-only"),
            (self.data_only, "--data-only"),
        ];
        if let Some((_, flag)) = selection.iter().find(|(on, _)| *on) {
            return Err(CoreError::Usage(format!(
                "{what} replaces the whole database with the archive: it cannot be used with \
                 {flag} (restore a selection into the existing database instead)"
            )));
        }
        Ok(())
    }

    /// Does the restore create a database (and so cannot run in one transaction)?
    pub fn creates_database(&self) -> bool {
        self.target != Target::Existing
    }

    /// Can the restore drop or replace something that exists?
    pub fn destructive_possible(&self) -> bool {
        self.clean || self.target == Target::Replace
    }

    /// Is this section restored?
    pub fn wants_section(&self, s: Section) -> bool {
        let by_flags = match s {
            Section::Data => !self.schema_only,
            Section::PreData | Section::PostData => !self.data_only,
            Section::None => true,
        };
        by_flags && (self.sections.is_empty() || s == Section::None || self.sections.contains(&s))
    }
}
