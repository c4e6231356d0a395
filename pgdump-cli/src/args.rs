//! Command-line arguments (clap). Flag names follow pg_dump / pg_restore where
//! they mean the same.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Dump and restore PostgreSQL databases: parallel, checksummed, one binary for servers 10 to 18.
#[derive(Debug, Parser)]
#[command(name = "pgdump", version, propagate_version = true)]
pub struct Cli {
    /// More messages on stderr (repeat for debug output).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No progress display.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Dump a database into an archive.
    #[command(disable_help_flag = true)]
    Dump(DumpArgs),
    /// Restore an archive into a database (from a file or `-` for stdin).
    #[command(disable_help_flag = true)]
    Restore(RestoreArgs),
    /// List an archive's table of contents (a form `restore --use-list` accepts back).
    #[command(
        after_help = "One line per entry: `ID; KIND SCHEMA NAME OWNER`, `-` for no schema or \
        owner. A name that is not one plain word (white space, control characters, `\"`, `\\`, \
        `;`, only upper-case letters, `-`, empty) is shown in double quotes with the escapes \
        \\\\ \\\" \\n \\r \\t and \\u{HEX}. Comment out a line with `;` to leave the entry \
        out of `restore --use-list`."
    )]
    List(ListArgs),
    /// Check every checksum of an archive, and optionally a restored database against it.
    Verify(VerifyArgs),
    /// Turn an archive into a plain SQL script (for psql).
    Sql(SqlArgs),
    /// Check that two databases are equivalent (schema, data, sequences, large objects).
    Compare(CompareArgs),
}

/// Connection options (libpq conventions; PGHOST, PGPORT, PGUSER, PGPASSWORD,
/// PGDATABASE, PGSSLMODE, PGPASSFILE and ~/.pgpass are honoured).
#[derive(Debug, Clone, Args)]
pub struct ConnArgs {
    /// Database name, or a connection string (`postgres://...` or `key=value ...`).
    #[arg(short = 'd', long = "dbname", value_name = "DBNAME|CONNSTR")]
    pub dbname: Option<String>,
    /// Server host or socket directory.
    #[arg(short = 'h', long = "host")]
    pub host: Option<String>,
    /// Server port.
    #[arg(short = 'p', long = "port")]
    pub port: Option<String>,
    /// User name.
    #[arg(short = 'U', long = "username")]
    pub username: Option<String>,
    /// Print help (`-h` is the host, as in pg_dump).
    #[arg(long = "help", action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

/// Selection options shared by restore and sql.
#[derive(Debug, Clone, Args)]
pub struct SelectArgs {
    /// Restore only objects in this schema (pattern; repeatable).
    #[arg(short = 'n', long = "schema", value_name = "PATTERN")]
    pub schema: Vec<String>,
    /// Do not restore objects in this schema (pattern; repeatable).
    #[arg(short = 'N', long = "exclude-schema", value_name = "PATTERN")]
    pub exclude_schema: Vec<String>,
    /// Restore this table with everything it needs (pattern; repeatable).
    #[arg(short = 't', long = "table", value_name = "PATTERN")]
    pub table: Vec<String>,
    /// Definitions only.
    #[arg(short = 's', long = "schema-only", conflicts_with = "data_only")]
    pub schema_only: bool,
    /// Data only.
    #[arg(short = 'a', long = "data-only")]
    pub data_only: bool,
    /// Restore only this section: pre-data, data or post-data (repeatable).
    #[arg(long = "section", value_name = "SECTION")]
    pub section: Vec<String>,
    /// Do not restore ownership.
    #[arg(short = 'O', long = "no-owner")]
    pub no_owner: bool,
    /// Do not restore privileges (GRANT/REVOKE).
    #[arg(short = 'x', long = "no-privileges", alias = "no-acl")]
    pub no_privileges: bool,
    /// Do not restore comments.
    #[arg(long = "no-comments")]
    pub no_comments: bool,
    /// Do not create the roles the archive refers to (they must exist already).
    #[arg(long = "no-roles")]
    pub no_roles: bool,
    /// Restore only the entries listed in this file (output of `pgdump list`, `;` comments out a line).
    #[arg(short = 'L', long = "use-list", value_name = "FILE")]
    pub use_list: Option<PathBuf>,
    /// Drop objects before creating them (restore: in one transaction with the definitions,
    /// after checking that nothing outside the archive depends on them; from a pipe, with -1).
    #[arg(short = 'c', long = "clean")]
    pub clean: bool,
    /// Use IF EXISTS when dropping (always on; accepted for compatibility).
    #[arg(long = "if-exists")]
    pub if_exists: bool,
}

/// `pgdump dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Output file, or `-` for stdout (default).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<String>,
    /// Number of connections dumping data in parallel.
    #[arg(short = 'j', long = "jobs", default_value_t = 1)]
    pub jobs: usize,
    /// Compression: zstd[:LEVEL] (default zstd:3), gzip[:LEVEL], none.
    #[arg(
        short = 'Z',
        long = "compress",
        value_name = "METHOD[:LEVEL]",
        default_value = "zstd:3"
    )]
    pub compress: String,
    /// Dump only schemas matching this pattern (repeatable).
    #[arg(short = 'n', long = "schema", value_name = "PATTERN")]
    pub schema: Vec<String>,
    /// Do not dump schemas matching this pattern (repeatable).
    #[arg(short = 'N', long = "exclude-schema", value_name = "PATTERN")]
    pub exclude_schema: Vec<String>,
    /// Dump only this table, with what it needs (pattern; repeatable).
    #[arg(short = 't', long = "table", value_name = "PATTERN")]
    pub table: Vec<String>,
    /// Do not dump tables matching this pattern (repeatable).
    #[arg(short = 'T', long = "exclude-table", value_name = "PATTERN")]
    pub exclude_table: Vec<String>,
    /// Dump the definition but not the data of tables matching this pattern (repeatable).
    #[arg(long = "exclude-table-data", value_name = "PATTERN")]
    pub exclude_table_data: Vec<String>,
    /// Definitions only.
    #[arg(short = 's', long = "schema-only", conflicts_with = "data_only")]
    pub schema_only: bool,
    /// Data only.
    #[arg(short = 'a', long = "data-only")]
    pub data_only: bool,
    /// Do not dump ownership.
    #[arg(short = 'O', long = "no-owner")]
    pub no_owner: bool,
    /// Do not dump privileges (GRANT/REVOKE).
    #[arg(short = 'x', long = "no-privileges", alias = "no-acl")]
    pub no_privileges: bool,
    /// Do not dump comments.
    #[arg(long = "no-comments")]
    pub no_comments: bool,
    /// Do not put the roles the objects refer to into the archive.
    #[arg(long = "no-roles")]
    pub no_roles: bool,
    /// Include large objects (default unless a selection or --schema-only is given).
    #[arg(short = 'b', long = "large-objects", alias = "blobs")]
    pub large_objects: bool,
    /// Exclude large objects.
    #[arg(
        short = 'B',
        long = "no-large-objects",
        alias = "no-blobs",
        conflicts_with = "large_objects"
    )]
    pub no_large_objects: bool,
    /// Do not dump the data of unlogged tables.
    #[arg(long = "no-unlogged-table-data")]
    pub no_unlogged_table_data: bool,
    /// Take the snapshot as SERIALIZABLE READ ONLY DEFERRABLE.
    #[arg(long = "serializable-deferrable")]
    pub serializable_deferrable: bool,
    /// Fail instead of waiting longer than this for a table lock (e.g. 10s, 500ms).
    #[arg(long = "lock-wait-timeout", value_name = "DURATION")]
    pub lock_wait_timeout: Option<String>,
    /// Use this exported snapshot.
    #[arg(long = "snapshot", value_name = "ID")]
    pub snapshot: Option<String>,
    /// Use text COPY for every table (default: binary where it is safe).
    #[arg(long = "text-copy")]
    pub text_copy: bool,
    /// Dump without the objects pgdump cannot reproduce (with a warning) instead of failing.
    #[arg(long = "skip-unsupported")]
    pub skip_unsupported: bool,
    /// Raw size of one archive frame (e.g. 4MiB).
    #[arg(long = "frame-size", value_name = "SIZE", default_value = "4MiB")]
    pub frame_size: String,
    /// Split tables bigger than this into ranges dumped in parallel. On servers 14+
    /// with -j > 1, a table holding more than 1/jobs of the data is split from 32MiB.
    #[arg(long = "split-size", value_name = "SIZE", default_value = "256MiB")]
    pub split_size: String,
    /// Size of one range of a split table.
    #[arg(
        long = "split-chunk-size",
        value_name = "SIZE",
        default_value = "64MiB"
    )]
    pub split_chunk_size: String,
}

/// `pgdump restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The archive, or `-` to read it from stdin.
    #[arg(value_name = "FILE|-")]
    pub input: String,
    /// Number of connections restoring in parallel.
    #[arg(short = 'j', long = "jobs", default_value_t = 1)]
    pub jobs: usize,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Create the database first (the archive's, or the one -d names when it does not exist).
    /// With --clean, an existing database is replaced as by --replace (the old one is not kept).
    #[arg(short = 'C', long = "create", conflicts_with = "replace")]
    pub create: bool,
    /// Replace the database -d names safely: restore into a new database beside it,
    /// check it against the archive, then swap it in (in one transaction); on any
    /// failure the database is left as it was. Needs CREATEDB and ownership of the database.
    #[arg(long = "replace")]
    pub replace: bool,
    /// With --replace: end the sessions connected to the database at the swap
    /// (default: wait for them to end, up to --lock-wait-timeout).
    #[arg(long = "terminate-connections")]
    pub terminate_connections: bool,
    /// With --replace: how long the swap waits for the database's sessions and locks
    /// before giving up, leaving everything as it was (default 30s).
    #[arg(long = "lock-wait-timeout", value_name = "DURATION")]
    pub lock_wait_timeout: Option<String>,
    /// With --replace: previous copies of the database to keep, renamed aside
    /// (NAME_pgdump_prev_TIMESTAMP); older ones made by pgdump are dropped.
    #[arg(long = "keep-previous", value_name = "N", default_value_t = 1)]
    pub keep_previous: usize,
    /// Before dropping or replacing anything, dump the target database to FILE and
    /// verify it; if that fails, nothing is touched.
    #[arg(long = "safety-backup", value_name = "FILE")]
    pub safety_backup: Option<PathBuf>,
    /// SET ROLE to this role before restoring.
    #[arg(long = "role", value_name = "ROLE")]
    pub role: Option<String>,
    /// Everything in one transaction (one connection; stops at the first error).
    #[arg(short = '1', long = "single-transaction")]
    pub single_transaction: bool,
    /// Stop at the first error (default: continue, then report every failure).
    #[arg(short = 'e', long = "exit-on-error")]
    pub exit_on_error: bool,
    /// Disable triggers while loading data (data-only restores).
    #[arg(long = "disable-triggers")]
    pub disable_triggers: bool,
    /// Do not check every frame before running SQL (file input).
    #[arg(long = "no-verify")]
    pub no_verify: bool,
    /// From a pipe (or with --no-verify): if the archive turns out damaged, keep what loaded instead of undoing the run.
    #[arg(long = "keep-partial")]
    pub keep_partial: bool,
    /// Load a table split into several streams on one connection per stream only.
    #[arg(long = "no-split-tables", hide = true)]
    pub no_split_tables: bool,
}

/// `pgdump list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The archive, or `-` for stdin.
    #[arg(value_name = "FILE|-")]
    pub input: String,
    /// JSON output for machines.
    #[arg(long)]
    pub json: bool,
}

/// `pgdump verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The archive, or `-` for stdin.
    #[arg(value_name = "FILE|-")]
    pub input: String,
    /// JSON output for machines.
    #[arg(long)]
    pub json: bool,
}

/// `pgdump sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The archive (a file; `-` reads stdin into a temporary file first).
    #[arg(value_name = "FILE|-")]
    pub input: String,
    /// Output file (default stdout).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Include CREATE DATABASE and a \connect to it.
    #[arg(short = 'C', long = "create")]
    pub create: bool,
    /// Wrap the script in BEGIN and COMMIT, so that psql -v ON_ERROR_STOP=1 leaves
    /// nothing behind when a statement fails.
    #[arg(short = '1', long = "single-transaction")]
    pub single_transaction: bool,
}

/// `pgdump compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The source database (name or connection string; host, port and user from the environment).
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// The target database.
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// Do not compare owners.
    #[arg(long = "ignore-owner")]
    pub ignore_owner: bool,
    /// Do not compare privileges.
    #[arg(long = "ignore-acl")]
    pub ignore_acl: bool,
    /// Compare definitions only, not table contents.
    #[arg(long = "schema-only")]
    pub schema_only: bool,
}

pub use pgdump_core::options::parse_size;

/// Parse durations like `10s`, `500ms`, `2min`, `1h`, or plain milliseconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    let ms = match unit.trim() {
        "" | "ms" => n,
        "s" => n * 1000,
        "min" | "m" => n * 60_000,
        "h" => n * 3_600_000,
        _ => return Err(format!("invalid duration unit in {s:?}")),
    };
    Ok(std::time::Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("x").is_err());
        assert_eq!(
            parse_duration("10s"),
            Ok(std::time::Duration::from_secs(10))
        );
        assert_eq!(
            parse_duration("250"),
            Ok(std::time::Duration::from_millis(250))
        );
        assert!(parse_duration("3 weeks").is_err());
    }
}
