//! An archive as a plain SQL script for `psql -v ON_ERROR_STOP=1 -f`: the
//! selected entries in TOC order, table data inline as text COPY, large
//! objects as `lo_put` calls.

use std::io::Write;

use pgdump_format::{ArchiveReader, CopyFormat, DataKind, ReadAt, TableData, Toc, TocEntry};

use super::options::RestoreOptions;
use super::select::{self, entry_kind};
use crate::catalog::Kind;
use crate::copy_text::{frame_to_text, ColumnType};
use crate::error::{CoreError, Result};
use crate::quote::ident;

/// Converts binary COPY frames of a table into text COPY rows.
pub type BinaryToText<'a> = dyn Fn(&TocEntry, &TableData, &[u8], &mut Vec<u8>) -> Result<()> + 'a;

fn io(e: std::io::Error) -> CoreError {
    CoreError::io("writing the SQL script", e)
}

/// Write the script. `convert` turns binary COPY data into text (tables dumped in
/// binary format need it: psql loads inline data only in text format).
pub fn write_script<R: ReadAt, W: Write>(
    reader: &ArchiveReader<R>,
    opts: &RestoreOptions,
    convert: &BinaryToText<'_>,
    out: &mut W,
) -> Result<()> {
    let toc = reader.toc();
    let sel = select::select(toc, opts)?;
    header(toc, out).map_err(io)?;
    if opts.create {
        if let Some(db) = toc
            .entries
            .iter()
            .find(|e| entry_kind(e) == Some(Kind::Database))
        {
            let name = ident(&toc.info.database);
            let opts_sql = db.meta.get("create_options").cloned().unwrap_or_default();
            if opts.clean {
                writeln!(out, "DROP DATABASE IF EXISTS {name};").map_err(io)?;
            }
            writeln!(out, "CREATE DATABASE {name} {opts_sql};").map_err(io)?;
            writeln!(out, "\\connect {name}\n").map_err(io)?;
            session(out).map_err(io)?;
            if let Some(post) = db.meta.get("post_create") {
                out.write_all(post.replace("{{DATABASE}}", &name).as_bytes())
                    .map_err(io)?;
            }
        }
    }
    if opts.clean && !opts.create {
        for (i, e) in toc.entries.iter().enumerate().rev() {
            if sel.keep[i] {
                if let Some(d) = &e.drop {
                    out.write_all(d.as_bytes()).map_err(io)?;
                }
            }
        }
    }
    // Event triggers last: they would fire on the script's own DDL (and on refreshes).
    let deps = select::dep_indices(toc);
    let is_event = |i: usize| {
        let k = |j: usize| entry_kind(&toc.entries[j]) == Some(Kind::EventTrigger);
        k(i) || (entry_kind(&toc.entries[i]) == Some(Kind::Comment)
            && deps[i].first().is_some_and(|&p| k(p)))
    };
    let order: Vec<usize> = (0..toc.entries.len())
        .filter(|&i| !is_event(i))
        .chain((0..toc.entries.len()).filter(|&i| is_event(i)))
        .collect();
    for i in order {
        let e = &toc.entries[i];
        if !sel.keep[i] {
            continue;
        }
        writeln!(
            out,
            "\n--\n-- {} {} (owner {})\n--\n",
            e.kind,
            e.display_name().replace('\n', " "),
            e.owner.as_deref().unwrap_or("-")
        )
        .map_err(io)?;
        out.write_all(e.create.as_bytes()).map_err(io)?;
        if !opts.no_owner {
            if let Some(o) = &e.alter_owner {
                out.write_all(o.as_bytes()).map_err(io)?;
            }
        }
        if let Some(data) = &e.data {
            write_data(reader, e, data, convert, out)?;
        }
    }
    writeln!(out, "\n-- end of pgdump script").map_err(io)?;
    Ok(())
}

fn header<W: Write>(toc: &Toc, out: &mut W) -> std::io::Result<()> {
    writeln!(out, "--\n-- pgdump SQL script")?;
    writeln!(
        out,
        "-- database {}, server {}, dumped {} by {}\n--\n",
        toc.info.database, toc.info.server_version, toc.info.created_at, toc.info.tool
    )?;
    session(out)
}

fn session<W: Write>(out: &mut W) -> std::io::Result<()> {
    out.write_all(
        b"SET statement_timeout = 0;\n\
SET lock_timeout = 0;\n\
SET idle_in_transaction_session_timeout = 0;\n\
SET client_encoding = 'UTF8';\n\
SET standard_conforming_strings = on;\n\
SELECT pg_catalog.set_config('search_path', '', false);\n\
SET check_function_bodies = false;\n\
SET xmloption = content;\n\
SET client_min_messages = warning;\n\
SET row_security = off;\n\
SET DateStyle = ISO;\n\
SET IntervalStyle = postgres;\n",
    )
}

fn write_data<R: ReadAt, W: Write>(
    reader: &ArchiveReader<R>,
    e: &TocEntry,
    data: &TableData,
    convert: &BinaryToText<'_>,
    out: &mut W,
) -> Result<()> {
    match data.kind {
        DataKind::Copy => {
            let cols = if data.columns.is_empty() {
                String::new()
            } else {
                format!(" ({})", data.columns.join(", "))
            };
            writeln!(out, "COPY {}{cols} FROM stdin;", data.target).map_err(io)?;
            let mut text = Vec::new();
            for s in &data.streams {
                for loc in reader.frames(*s) {
                    let frame = reader.read_frame(loc)?;
                    match data.format {
                        CopyFormat::Text => out.write_all(&frame.data).map_err(io)?,
                        CopyFormat::Binary => {
                            text.clear();
                            convert(e, data, &frame.data, &mut text)?;
                            out.write_all(&text).map_err(io)?;
                        }
                    }
                }
            }
            writeln!(out, "\\.").map_err(io)?;
        }
        DataKind::LargeObjects => {
            for s in &data.streams {
                for loc in reader.frames(*s) {
                    let frame = reader.read_frame(loc)?;
                    for rec in pgdump_format::lo::decode_records(&frame.data) {
                        let rec = rec?;
                        const HEX: &[u8; 16] = b"0123456789abcdef";
                        let mut hex = String::with_capacity(rec.data.len() * 2);
                        for b in rec.data {
                            hex.push(char::from(HEX[usize::from(b >> 4)]));
                            hex.push(char::from(HEX[usize::from(b & 15)]));
                        }
                        writeln!(
                            out,
                            "SELECT pg_catalog.lo_put('{}', {}, '\\x{hex}');",
                            rec.oid, rec.offset
                        )
                        .map_err(io)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The converter used by `pgdump sql`: binary COPY rows of a table to text rows,
/// reading each column as the archive's `binary_types` says.
pub fn binary_to_text(
    e: &TocEntry,
    data: &TableData,
    frame: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let object = || format!("{} {}", e.kind, e.display_name());
    if data.binary_types.len() != data.columns.len() {
        return Err(CoreError::Data {
            object: object(),
            detail: format!(
                "binary data without a type for every column ({} types, {} columns)",
                data.binary_types.len(),
                data.columns.len()
            ),
        });
    }
    let cols: Vec<ColumnType> = data
        .binary_types
        .iter()
        .map(|t| match t.as_str() {
            "enum" => Ok(ColumnType::Enum),
            "enum[]" => Ok(ColumnType::EnumArray),
            n => n
                .parse()
                .map(ColumnType::Builtin)
                .map_err(|_| CoreError::Data {
                    object: object(),
                    detail: format!("unknown binary column type {n:?}"),
                }),
        })
        .collect::<Result<_>>()?;
    frame_to_text(frame, &cols, out).map_err(|err| CoreError::Data {
        object: object(),
        detail: err.to_string(),
    })?;
    Ok(())
}
