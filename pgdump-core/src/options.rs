//! Options of a dump, as plain data validated once.

use std::time::Duration;

use pgdump_format::WriterOptions;

use crate::error::{CoreError, Result};
use crate::filter::{NamePattern, PatternSet};

/// Parse sizes like `4MiB`, `64M`, `1g`, `4096` (binary units), for command lines.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("invalid size {s:?}"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(format!("invalid size unit in {s:?}")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} too large"))
}

/// What to dump and how.
#[derive(Debug, Clone)]
pub struct DumpOptions {
    /// Worker connections for table data (1 = the leader does everything).
    pub jobs: usize,
    /// Archive writer settings: codec and frame size (`columnar_copy` is decided by
    /// the dump: on when some table is dumped with binary COPY).
    pub writer: WriterOptions,
    /// Tables bigger than this (estimated bytes) are split into ranges dumped in parallel.
    pub split_bytes: u64,
    /// Target size of one range of a split table (estimated bytes).
    pub split_chunk_bytes: u64,
    /// Schemas to include / exclude (`-n` / `-N`).
    pub schemas: PatternSet,
    /// Relations to include / exclude (`-t` / `-T`); included ones come with what they need.
    pub tables: PatternSet,
    /// Relations whose data is left out (`--exclude-table-data`).
    pub exclude_table_data: Vec<NamePattern>,
    /// Definitions only.
    pub schema_only: bool,
    /// Data only.
    pub data_only: bool,
    /// Leave out ownership.
    pub no_owner: bool,
    /// Leave out GRANT/REVOKE.
    pub no_privileges: bool,
    /// Leave out comments.
    pub no_comments: bool,
    /// Include large objects (default: yes unless a selection is given or schema-only).
    pub large_objects: Option<bool>,
    /// Leader snapshot as `SERIALIZABLE READ ONLY DEFERRABLE`.
    pub serializable_deferrable: bool,
    /// Give up waiting for a table lock after this long.
    pub lock_wait_timeout: Option<Duration>,
    /// Use text COPY for every table.
    pub force_text: bool,
    /// Dump without objects pgdump cannot reproduce (warn) instead of failing.
    pub skip_unsupported: bool,
    /// Use this exported snapshot instead of taking one.
    pub snapshot: Option<String>,
    /// Dump data of unlogged tables (default true, as pg_dump).
    pub unlogged_data: bool,
    /// Leave out the roles the objects refer to (restore then needs them to exist).
    pub no_roles: bool,
}

impl Default for DumpOptions {
    fn default() -> Self {
        DumpOptions {
            jobs: 1,
            writer: WriterOptions::default(),
            split_bytes: 256 << 20,
            split_chunk_bytes: 64 << 20,
            schemas: PatternSet::default(),
            tables: PatternSet::default(),
            exclude_table_data: Vec::new(),
            schema_only: false,
            data_only: false,
            no_owner: false,
            no_privileges: false,
            no_comments: false,
            large_objects: None,
            serializable_deferrable: false,
            lock_wait_timeout: None,
            force_text: false,
            skip_unsupported: false,
            snapshot: None,
            unlogged_data: true,
            no_roles: false,
        }
    }
}

impl DumpOptions {
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
        if self.split_chunk_bytes == 0 {
            return Err(CoreError::Usage("split chunk size must be positive".into()));
        }
        Ok(())
    }

    /// Whether large objects are dumped.
    pub fn dump_large_objects(&self) -> bool {
        self.large_objects.unwrap_or(
            !self.schema_only && self.schemas.include.is_empty() && self.tables.include.is_empty(),
        )
    }
}
