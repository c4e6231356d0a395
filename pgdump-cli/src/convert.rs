//! Arguments → pgdump-core options: the only place that knows both.

use anyhow::{anyhow, bail, Context, Result};
use pgdump_core::conn::ConnBuilder;
use pgdump_core::filter::{NamePattern, PatternSet};
use pgdump_core::restore::{ReplaceOptions, RestoreOptions, Target};
use pgdump_core::{ConnConfig, DumpOptions};
use pgdump_format::{Codec, EntryId, Section, WriterOptions};

use crate::args::{parse_duration, parse_size, ConnArgs, DumpArgs, RestoreArgs, SelectArgs};

/// Connection settings from flags, the environment and the defaults.
pub fn conn(a: &ConnArgs) -> Result<ConnConfig> {
    let mut b = ConnBuilder::new();
    if let Some(h) = &a.host {
        b = b.host(h.clone());
    }
    if let Some(p) = &a.port {
        b = b.port(p.clone());
    }
    if let Some(u) = &a.username {
        b = b.user(u.clone());
    }
    if let Some(d) = &a.dbname {
        b = b.dbname(d.clone());
    }
    Ok(b.resolve()?)
}

fn patterns(list: &[String], qualified: bool) -> Result<Vec<NamePattern>> {
    list.iter()
        .map(|p| {
            if qualified {
                NamePattern::qualified(p)
            } else {
                NamePattern::unqualified(p)
            }
            .map_err(|e| anyhow!(e))
        })
        .collect()
}

/// Dump options from `pgdump dump` arguments.
pub fn dump_options(a: &DumpArgs) -> Result<DumpOptions> {
    let codec = parse_compress(&a.compress)
        .map_err(|e| anyhow!("invalid --compress {:?}: {e}", a.compress))?;
    let frame_size = usize::try_from(parse_size(&a.frame_size).map_err(|e| anyhow!(e))?)?;
    let opts = DumpOptions {
        jobs: a.jobs,
        writer: WriterOptions {
            codec,
            frame_size,
            ..WriterOptions::default()
        },
        split_bytes: parse_size(&a.split_size).map_err(|e| anyhow!(e))?,
        split_chunk_bytes: parse_size(&a.split_chunk_size).map_err(|e| anyhow!(e))?,
        schemas: PatternSet {
            include: patterns(&a.schema, false)?,
            exclude: patterns(&a.exclude_schema, false)?,
        },
        tables: PatternSet {
            include: patterns(&a.table, true)?,
            exclude: patterns(&a.exclude_table, true)?,
        },
        exclude_table_data: patterns(&a.exclude_table_data, true)?,
        schema_only: a.schema_only,
        data_only: a.data_only,
        no_owner: a.no_owner,
        no_privileges: a.no_privileges,
        no_comments: a.no_comments,
        large_objects: if a.large_objects {
            Some(true)
        } else if a.no_large_objects {
            Some(false)
        } else {
            None
        },
        serializable_deferrable: a.serializable_deferrable,
        lock_wait_timeout: a
            .lock_wait_timeout
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| anyhow!(e))?,
        force_text: a.text_copy,
        skip_unsupported: a.skip_unsupported,
        snapshot: a.snapshot.clone(),
        unlogged_data: !a.no_unlogged_table_data,
        no_roles: a.no_roles,
    };
    opts.validate()?;
    Ok(opts)
}

/// `-Z` as pg_dump reads it: a level alone (0 = none, 1-9 = gzip at that level), or
/// `METHOD[:LEVEL]` with the level also written `level=N` (pg_dump 16+).
fn parse_compress(s: &str) -> Result<Codec, pgdump_format::FormatError> {
    let t = s.trim();
    if let Ok(level) = t.parse::<u32>() {
        return if level == 0 {
            Ok(Codec::None)
        } else {
            format!("gzip:{level}").parse()
        };
    }
    match t.split_once(':') {
        Some((method, detail)) => {
            let d = detail.trim();
            format!("{method}:{}", d.strip_prefix("level=").unwrap_or(d)).parse()
        }
        None => t.parse(),
    }
}

fn sections(list: &[String]) -> Result<Vec<Section>> {
    list.iter()
        .map(|s| match s.as_str() {
            "pre-data" => Ok(Section::PreData),
            "data" => Ok(Section::Data),
            "post-data" => Ok(Section::PostData),
            other => {
                bail!("unrecognized section name: {other:?} (use pre-data, data or post-data)")
            }
        })
        .collect()
}

/// Read a `--use-list` file: the leading entry id of every line not commented out with `;`.
pub fn read_use_list(path: &std::path::Path) -> Result<Vec<EntryId>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    crate::listing::selected_ids(&text)
        .map_err(|line| anyhow!("{}:{line}: expected an entry id before ';'", path.display()))
}

/// Selection and switches shared by restore and sql.
pub fn select_options(s: &SelectArgs, base: RestoreOptions) -> Result<RestoreOptions> {
    Ok(RestoreOptions {
        schemas: PatternSet {
            include: patterns(&s.schema, false)?,
            exclude: patterns(&s.exclude_schema, false)?,
        },
        tables: patterns(&s.table, true)?,
        schema_only: s.schema_only,
        data_only: s.data_only,
        sections: sections(&s.section)?,
        no_owner: s.no_owner,
        no_privileges: s.no_privileges,
        no_comments: s.no_comments,
        no_roles: s.no_roles,
        use_list: s.use_list.as_deref().map(read_use_list).transpose()?,
        clean: s.clean,
        if_exists: s.if_exists,
        ..base
    })
}

/// Restore options from `pgdump restore` arguments.
pub fn restore_options(a: &RestoreArgs) -> Result<RestoreOptions> {
    let base = RestoreOptions {
        jobs: a.jobs,
        target: if a.replace {
            Target::Replace
        } else if a.create {
            Target::Create
        } else {
            Target::Existing
        },
        replace: ReplaceOptions {
            terminate_connections: a.terminate_connections,
            wait: a
                .lock_wait_timeout
                .as_deref()
                .map(parse_duration)
                .transpose()
                .map_err(|e| anyhow!(e))?
                .unwrap_or(ReplaceOptions::default().wait),
            keep_previous: a.keep_previous,
        },
        safety_backup: a.safety_backup.clone(),
        role: a.role.clone(),
        single_transaction: a.single_transaction,
        exit_on_error: a.exit_on_error,
        disable_triggers: a.disable_triggers,
        verify_first: !a.no_verify,
        keep_partial: a.keep_partial,
        split_tables: !a.no_split_tables,
        ..RestoreOptions::default()
    };
    let opts = select_options(&a.select, base)?;
    let swaps = a.replace || (a.create && opts.clean);
    if (a.terminate_connections || a.lock_wait_timeout.is_some()) && !swaps {
        bail!("--terminate-connections and --lock-wait-timeout go with --replace (or --clean --create)");
    }
    opts.validate()?;
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compress_as_pg_dump() {
        assert_eq!(parse_compress("0").unwrap(), Codec::None);
        assert_eq!(parse_compress("5").unwrap(), "gzip:5".parse().unwrap());
        assert_eq!(
            parse_compress("zstd:level=7").unwrap(),
            "zstd:7".parse().unwrap()
        );
        assert_eq!(parse_compress("gzip").unwrap(), "gzip".parse().unwrap());
        assert_eq!(parse_compress("none").unwrap(), Codec::None);
        assert!(parse_compress("lz5").is_err());
        assert!(parse_compress("zstd:x").is_err());
    }
}
