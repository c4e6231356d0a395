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
///
/// With `opts.single_transaction` the entries run between `BEGIN;` and `COMMIT;`. If
/// writing fails once part of the script is out (a frame that cannot be read or
/// converted, or the writer), the script is ended with [`incomplete_statement`]
/// (after the `\.` of the COPY data it was in), so that psql with `ON_ERROR_STOP`
/// stops there with an error instead of exiting 0 over a partial load.
pub fn write_script<R: ReadAt, W: Write>(
    reader: &ArchiveReader<R>,
    opts: &RestoreOptions,
    convert: &BinaryToText<'_>,
    out: &mut W,
) -> Result<()> {
    let sel = select::select(reader.toc(), opts)?;
    let mut script = Script {
        out,
        written: 0,
        line_open: false,
        copy_data: None,
    };
    let res = write_entries(reader, opts, &sel.keep, convert, &mut script);
    if let Err(e) = &res {
        // Best effort: the writer itself may be what failed.
        let _ = script.end_incomplete(&e.to_string());
    }
    res
}

/// The script's writer, keeping track of where the script is.
struct Script<'a, W: Write> {
    out: &'a mut W,
    /// Bytes written.
    written: u64,
    /// The last byte written was not a newline.
    line_open: bool,
    /// While a `COPY ... FROM stdin` is written: the values of `written` at which the
    /// script is inside its data, from the `;` ending the statement (psql reads data
    /// from the next line) to the `\.` (`u64::MAX` until that is being written).
    copy_data: Option<std::ops::Range<u64>>,
}

impl<W: Write> Write for Script<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        if let Some(&last) = buf.get(..n).and_then(|b| b.last()) {
            self.written += n as u64;
            self.line_open = last != b'\n';
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl<W: Write> Script<'_, W> {
    /// Writes `statement` (a `COPY ... FROM stdin;`) and the newline after it.
    fn start_copy(&mut self, statement: &str) -> std::io::Result<()> {
        // from the moment the `;` is out
        self.copy_data = Some(self.written + statement.len() as u64..u64::MAX);
        self.write_all(statement.as_bytes())?;
        self.write_all(b"\n")
    }

    /// Writes the `\.` that ends COPY data.
    fn end_copy(&mut self) -> std::io::Result<()> {
        if let Some(data) = &mut self.copy_data {
            data.end = self.written + 2;
        }
        self.write_all(b"\\.\n")?;
        self.copy_data = None;
        Ok(())
    }

    /// Ends a script that could not be written to the end (nothing if nothing was written).
    fn end_incomplete(&mut self, reason: &str) -> std::io::Result<()> {
        if self.written == 0 {
            return Ok(());
        }
        let in_copy = self
            .copy_data
            .as_ref()
            .is_some_and(|data| data.contains(&self.written));
        if self.line_open {
            self.write_all(b"\n")?;
        }
        if in_copy {
            self.end_copy()?;
        }
        self.write_all(incomplete_statement(reason).as_bytes())?;
        self.flush()
    }
}

/// A statement that fails with `pgdump: this script is incomplete: REASON`: the end of
/// a script that could not be written to the end.
pub fn incomplete_statement(reason: &str) -> String {
    // An E'' literal reads the same whatever standard_conforming_strings is.
    let mut text = String::from("E'pgdump: this script is incomplete: ");
    for c in reason.chars() {
        match c {
            '\'' => text.push_str("''"),
            '\\' => text.push_str("\\\\"),
            c if c.is_control() => text.push(' '),
            c => text.push(c),
        }
    }
    text.push('\'');
    let body = format!(" BEGIN RAISE EXCEPTION USING MESSAGE = {text}; END ");
    // A dollar quote whose tag is not in the body.
    let mut tag = "$pgdump$".to_string();
    for n in 1.. {
        if !body.contains(&tag) {
            break;
        }
        tag = format!("$pgdump{n}$");
    }
    format!(
        "\n--\n-- pgdump could not write the rest of this script: it stops here with an error\n--\n\
         DO {tag}{body}{tag};\n"
    )
}

/// `s` on one line of a `--` comment (psql ends a comment at a carriage return as well
/// as at a newline): control characters escaped.
fn comment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn write_entries<R: ReadAt, W: Write>(
    reader: &ArchiveReader<R>,
    opts: &RestoreOptions,
    keep: &[bool],
    convert: &BinaryToText<'_>,
    out: &mut Script<'_, W>,
) -> Result<()> {
    let toc = reader.toc();
    let kept = |i: usize| keep.get(i).copied().unwrap_or(false);
    header(toc, out).map_err(io)?;
    if opts.creates_database() {
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
    if opts.single_transaction {
        writeln!(out, "BEGIN;").map_err(io)?;
    }
    if opts.clean && !opts.creates_database() {
        for (i, e) in toc.entries.iter().enumerate().rev() {
            if kept(i) {
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
        if !kept(i) {
            continue;
        }
        writeln!(
            out,
            "\n--\n-- {} {} (owner {})\n--\n",
            comment(&e.kind),
            comment(&e.display_name()),
            comment(e.owner.as_deref().unwrap_or("-"))
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
    if opts.single_transaction {
        writeln!(out, "\nCOMMIT;").map_err(io)?;
    }
    writeln!(out, "\n-- end of pgdump script").map_err(io)?;
    Ok(())
}

fn header<W: Write>(toc: &Toc, out: &mut W) -> std::io::Result<()> {
    writeln!(out, "--\n-- pgdump SQL script")?;
    writeln!(
        out,
        "-- database {}, server {}, dumped {} by {}\n--\n",
        comment(&toc.info.database),
        comment(&toc.info.server_version),
        comment(&toc.info.created_at),
        comment(&toc.info.tool)
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
    out: &mut Script<'_, W>,
) -> Result<()> {
    match data.kind {
        DataKind::Copy => {
            let cols = if data.columns.is_empty() {
                String::new()
            } else {
                format!(" ({})", data.columns.join(", "))
            };
            out.start_copy(&format!("COPY {}{cols} FROM stdin;", data.target))
                .map_err(io)?;
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
            out.end_copy().map_err(io)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use pgdump_format::format::frame::FRAME_HEADER_LEN;
    use pgdump_format::{ArchiveWriter, Codec, FrameMeta, Section, StreamDecl, WriterOptions};

    /// Rows of frame `f` of the test table.
    fn rows(f: u32) -> String {
        (0..3).map(|r| format!("f{f} row {r}\n")).collect()
    }

    /// A table `public.t` (named with a CR and a LF) whose data is three frames.
    fn archive() -> Vec<u8> {
        let entry = |id, kind: &str, section: Section, name: &str| TocEntry {
            id,
            kind: kind.into(),
            section: section.into(),
            schema: Some("public".into()),
            name: name.into(),
            owner: Some("o\rwner".into()),
            ..TocEntry::default()
        };
        let table = TocEntry {
            create: "CREATE TABLE public.t (v text);\n".into(),
            ..entry(1, "TABLE", Section::PreData, "t\rDROP TABLE x;\n--")
        };
        let data = TocEntry {
            deps: vec![1],
            data: Some(TableData {
                target: "public.t".into(),
                columns: vec!["v".into()],
                streams: vec![0],
                ..TableData::default()
            }),
            ..entry(2, "TABLE DATA", Section::Data, "t")
        };
        let toc = Toc {
            entries: vec![table, data],
            streams: vec![StreamDecl {
                id: 0,
                entry: 2,
                ..StreamDecl::default()
            }],
            ..Toc::default()
        };
        let opts = WriterOptions {
            codec: Codec::None,
            ..WriterOptions::default()
        };
        let mut w = ArchiveWriter::new(Vec::new(), &toc, opts).unwrap();
        for f in 0..3 {
            let meta = FrameMeta {
                rows: 3,
                content_hash: 0,
            };
            w.write_raw(0, f, rows(f).as_bytes(), meta).unwrap();
        }
        w.finish().unwrap().1
    }

    fn convert() -> &'static BinaryToText<'static> {
        &|_, _, _, _| unreachable!("text data")
    }

    fn script(bytes: &[u8], opts: &RestoreOptions) -> (Result<()>, String) {
        let reader = ArchiveReader::open(bytes).unwrap();
        let mut out = Vec::new();
        let res = write_script(&reader, opts, convert(), &mut out);
        (res, String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_whole_script_in_one_transaction() {
        let opts = RestoreOptions {
            single_transaction: true,
            ..RestoreOptions::default()
        };
        let (res, text) = script(&archive(), &opts);
        res.unwrap();
        let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("no {s:?} in {text}"));
        assert!(at("SET row_security = off;") < at("\nBEGIN;\n"));
        assert!(at("\nBEGIN;\n") < at("CREATE TABLE"));
        let data = format!("FROM stdin;\n{}{}{}\\.\n", rows(0), rows(1), rows(2));
        assert!(at(&data) < at("\nCOMMIT;\n"), "{text}");
        assert!(!text.contains("incomplete"), "{text}");
        let (res, text) = script(&archive(), &RestoreOptions::default());
        res.unwrap();
        assert!(
            !text.contains("BEGIN;") && !text.contains("COMMIT;"),
            "{text}"
        );
    }

    #[test]
    fn names_in_comments_stay_in_the_comment() {
        let (res, text) = script(&archive(), &RestoreOptions::default());
        res.unwrap();
        assert!(
            text.contains("\n-- TABLE public.t\\rDROP TABLE x;\\n-- (owner o\\rwner)\n"),
            "{text}"
        );
        for line in text.split(['\n', '\r']) {
            assert!(!line.starts_with("DROP TABLE x"), "{text:?}");
        }
    }

    #[test]
    fn a_damaged_frame_ends_the_copy_and_raises_an_error() {
        let mut bytes = archive();
        let reader = ArchiveReader::open(bytes.as_slice()).unwrap();
        let loc = reader.frames(0)[1];
        let at = loc.offset as usize + FRAME_HEADER_LEN + loc.stored_len as usize / 2;
        bytes[at] ^= 0x20;
        let (res, text) = script(&bytes, &RestoreOptions::default());
        let err = res.expect_err("a damaged frame").to_string();
        let end = format!(
            "FROM stdin;\n{}\\.\n{}",
            rows(0),
            incomplete_statement(&err)
        );
        assert!(text.ends_with(&end), "{text}");
    }

    /// Takes `fail_at` bytes, fails the write that would go past them once, then
    /// takes everything.
    struct FailOnce {
        out: Vec<u8>,
        fail_at: usize,
        failed: bool,
    }

    impl Write for FailOnce {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let room = self.fail_at.saturating_sub(self.out.len());
            if !self.failed && buf.len() > room {
                if room == 0 {
                    self.failed = true;
                    return Err(std::io::Error::other("disk on fire"));
                }
                self.out.extend_from_slice(&buf[..room]);
                return Ok(room);
            }
            self.out.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_that_fails_anywhere_ends_the_script_with_an_error() {
        let bytes = archive();
        let reader = ArchiveReader::open(bytes.as_slice()).unwrap();
        let opts = RestoreOptions::default();
        let (res, whole) = script(&bytes, &opts);
        res.unwrap();
        for fail_at in 0..whole.len() {
            let mut w = FailOnce {
                out: Vec::new(),
                fail_at,
                failed: false,
            };
            let err = write_script(&reader, &opts, convert(), &mut w).expect_err("fails");
            assert_eq!(
                err.to_string(),
                "writing the SQL script: disk on fire",
                "byte {fail_at}"
            );
            let text = String::from_utf8_lossy(&w.out);
            assert_eq!(text.is_empty(), fail_at == 0);
            if fail_at == 0 {
                continue;
            }
            let end = incomplete_statement(&err.to_string());
            let Some(body) = text.strip_suffix(&end) else {
                panic!("byte {fail_at}: no error at the end of {text}")
            };
            assert_eq!(&body[..fail_at], &whole[..fail_at]);
            // every COPY's data is ended, and the statement starts on a line of its own
            assert!(body.ends_with('\n'), "byte {fail_at}: {text}");
            let copies = body.matches("FROM stdin;\n").count();
            let ends = body.lines().filter(|l| *l == "\\.").count();
            assert_eq!(copies, ends, "byte {fail_at}: {text}");
        }
    }

    #[test]
    fn the_error_statement_quotes_any_reason() {
        let s = incomplete_statement("it's a \\ $pgdump$ $pgdump1$\nnew line");
        let last = s.lines().last().unwrap();
        assert_eq!(
            last,
            "DO $pgdump2$ BEGIN RAISE EXCEPTION USING MESSAGE = \
             E'pgdump: this script is incomplete: it''s a \\\\ $pgdump$ $pgdump1$ new line'; \
             END $pgdump2$;"
        );
        assert!(s.starts_with('\n') && s.ends_with(";\n"));
        assert!(s
            .lines()
            .filter(|l| !l.starts_with("--"))
            .all(|l| l.is_empty() || l == last));
    }
}
