//! Options of a restore (named as pg_restore's where they mean the same).

use pgdump_format::{EntryId, Section};

use crate::error::{CoreError, Result};
use crate::filter::{NamePattern, PatternSet};

/// What to restore and how.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// Connections used in parallel.
    pub jobs: usize,
    /// Drop objects before creating them (`--clean`).
    pub clean: bool,
    /// Accepted for compatibility: drops always use `IF EXISTS`.
    pub if_exists: bool,
    /// Create the database first (`--create`).
    pub create: bool,
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
            create: false,
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
        if self.create && self.single_transaction {
            return Err(CoreError::Usage(
                "options --create and --single-transaction cannot be used together".into(),
            ));
        }
        if self.data_task_bytes == 0 {
            return Err(CoreError::Usage("data task size must be positive".into()));
        }
        Ok(())
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
