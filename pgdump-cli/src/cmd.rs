//! The subcommands.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use pgdump_core::restore::script::write_script;
use pgdump_core::restore::{Input, RestoreOptions, Target, LARGE_OBJECTS};
use pgdump_core::{CancellationToken, Output};
use pgdump_format::{ArchiveReader, FormatError, StreamReader, StreamStats, TableData, Toc};

use crate::args::{
    Cli, Command, CompareArgs, DumpArgs, ListArgs, RestoreArgs, SqlArgs, VerifyArgs,
};
use crate::convert;
use crate::listing;
use crate::out::{self, stderr};
use crate::report::{bytes, count, Progress};

/// Run the parsed command line.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Dump(a) => dump(a, cli.quiet).await,
        Command::Restore(a) => restore(a, cli.quiet).await,
        Command::List(a) => list(a),
        Command::Verify(a) => verify(a),
        Command::Sql(a) => sql(a),
        Command::Compare(a) => compare(a).await,
    }
}

/// Cancel on Ctrl-C / SIGTERM.
fn cancel_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let mut int =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
        let mut signals = 0;
        loop {
            tokio::select! {
                _ = recv(&mut int) => {},
                _ = recv(&mut term) => {},
            }
            signals += 1;
            if signals == 1 {
                // The command stops: statements are cancelled, transactions rolled
                // back, what was half made is removed; then it exits.
                stderr!("pgdump: stopping (signal received; a second one exits at once)");
                t.cancel();
            } else {
                // At once: an open transaction ends with the connection, a temporary
                // archive stays behind (the next dump to the same path removes it).
                stderr!("pgdump: exiting at once (second signal)");
                std::process::exit(130);
            }
        }
    });
    token
}

/// The next signal of `s` (never, when it could not be installed).
async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
    match s.as_mut() {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

async fn dump(a: DumpArgs, quiet: bool) -> Result<ExitCode> {
    let conn = convert::conn(&a.conn)?;
    let opts = convert::dump_options(&a)?;
    let to_stdout = matches!(a.file.as_deref(), None | Some("-"));
    if to_stdout && std::io::stdout().is_terminal() {
        bail!("refusing to write an archive to a terminal: use -f FILE or redirect stdout");
    }
    let output = if to_stdout {
        Output::Stdout
    } else {
        Output::File(a.file.clone().unwrap_or_default().into())
    };
    let progress = Progress::new(quiet);
    let res = pgdump_core::dump(
        &conn,
        &opts,
        output,
        progress.observer(),
        cancel_on_signal(),
    )
    .await;
    progress.finish();
    let s = res.with_context(|| format!("dump of {} failed", conn.target()))?;
    for u in &s.skipped {
        stderr!("pgdump: warning: skipped {u}");
    }
    if !quiet {
        stderr!(
            "pgdump: dumped {} in {:.1}s: {} entries, {} streams, {} rows, {} of data in {} ({} written){}",
            conn.dbname(),
            s.elapsed.as_secs_f64(),
            count(s.entries as u64),
            count(s.archive.streams.len() as u64),
            count(s.archive.rows),
            bytes(s.archive.raw_bytes),
            s.path.as_ref().map_or("stdout".to_string(), |p| p.display().to_string()),
            bytes(s.archive.archive_bytes),
            if s.skipped.is_empty() {
                String::new()
            } else {
                format!(", {} objects skipped", s.skipped.len())
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn restore(a: RestoreArgs, quiet: bool) -> Result<ExitCode> {
    let conn = convert::conn(&a.conn)?;
    let mut opts: RestoreOptions = convert::restore_options(&a)?;
    let cancel = cancel_on_signal();
    // pg_restore's --create: -d names the database to connect to when it exists, and
    // the archive's database is created; a -d that does not exist is created itself.
    if opts.target == Target::Create {
        let exists = pgdump_core::restore::database_exists(&conn, &cancel)
            .await
            .with_context(|| format!("looking up {}", conn.target()))?;
        if exists {
            opts.target = Target::CreateArchive;
        }
    }
    let input = if a.input == "-" {
        Input::Stdin
    } else {
        Input::File(a.input.clone().into())
    };
    let progress = Progress::new(quiet);
    let res = pgdump_core::restore(&conn, &opts, input, progress.observer(), cancel).await;
    progress.finish();
    let s = match res {
        Ok(s) => s,
        Err(e) => {
            report_stopped(&e);
            return Err(anyhow::Error::new(e))
                .with_context(|| format!("restore of {} into {} failed", a.input, conn.target()));
        }
    };
    for n in &s.notes {
        stderr!("pgdump: note: {n}");
    }
    for f in &s.failures {
        stderr!("pgdump: error: {}: {}", f.object, f.message);
    }
    for k in &s.skipped {
        stderr!("pgdump: skipped (depends on a failed item): {k}");
    }
    if let Some(p) = &s.safety_backup {
        stderr!(
            "pgdump: safety backup of the database as it was: {} (verified)",
            p.display()
        );
    }
    if let Some(t) = s.swap_time {
        stderr!(
            "pgdump: {} tables checked against the archive in {:.1}s; swapped in as {} in {:.2}s{}",
            count(s.checked as u64),
            s.check_time.unwrap_or_default().as_secs_f64(),
            s.database,
            t.as_secs_f64(),
            match &s.previous {
                Some(p) => format!("; the previous database is kept as {p}"),
                None => String::new(),
            }
        );
    }
    if !quiet || !s.ok() {
        stderr!(
            "pgdump: restored into {} in {:.1}s: {} items, {} rows, {} of data; {} failed, {} skipped",
            s.database,
            s.elapsed.as_secs_f64(),
            count(s.done as u64),
            count(s.rows),
            bytes(s.bytes),
            s.failures.len(),
            s.skipped.len()
        );
    }
    if !s.ok() && opts.keep_partial {
        stderr!("pgdump: data loaded before the failure:");
        print_loaded(&s.loaded);
    }
    Ok(if s.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The details of a restore that stopped early: each failed item, and each object
/// `--clean` could not drop, one per line (the error itself says the rest).
fn report_stopped(e: &pgdump_core::CoreError) {
    use pgdump_core::CoreError as E;
    let E::Stopped { cause, .. } = e else {
        return;
    };
    if let E::RestoreFailed { failures } = cause.as_ref() {
        for f in failures {
            stderr!("pgdump: error: {f}");
        }
    }
}

/// Open an archive file, or read the TOC from stdin.
enum Opened {
    File(Box<ArchiveReader<std::fs::File>>),
    Stream(Box<StreamReader<std::io::BufReader<std::io::Stdin>>>),
}

impl Opened {
    fn open(input: &str) -> Result<Opened> {
        if input == "-" {
            let r = StreamReader::new(std::io::BufReader::with_capacity(1 << 20, std::io::stdin()))
                .context("reading the archive from stdin")?;
            Ok(Opened::Stream(Box::new(r)))
        } else {
            let f = std::fs::File::open(input).with_context(|| format!("opening {input}"))?;
            let r = ArchiveReader::open(f).with_context(|| format!("reading {input}"))?;
            Ok(Opened::File(Box::new(r)))
        }
    }

    fn toc(&self) -> &Toc {
        match self {
            Opened::File(r) => r.toc(),
            Opened::Stream(r) => r.toc(),
        }
    }
}

/// Name the object a damaged frame belongs to.
fn describe(toc: &Toc, e: &FormatError) -> String {
    // The stream: from the error, or from the "frame N of stream M" it names (truncated
    // or inconsistent frames).
    let stream = match e {
        FormatError::Checksum {
            stream: Some(s), ..
        } => Some(*s),
        FormatError::Checksum { what, .. }
        | FormatError::Corrupt { what, .. }
        | FormatError::Truncated { what, .. } => what
            .split("of stream ")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok()),
        _ => None,
    };
    match stream
        .and_then(|s| toc.stream(s))
        .and_then(|d| toc.entry(d.entry))
    {
        Some(entry) => format!("{e} (data of {} {})", entry.kind, entry.display_name()),
        None => e.to_string(),
    }
}

fn list(a: ListArgs) -> Result<ExitCode> {
    let opened = Opened::open(&a.input)?;
    let stats = match &opened {
        Opened::File(r) => Some(r.streams()),
        Opened::Stream(_) => None,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if a.json {
        list_json(opened.toc(), stats, &mut out)
    } else {
        list_text(opened.toc(), stats, &mut out)
    }
    .and_then(|()| out.flush())
    .context(out::STDOUT)?;
    Ok(ExitCode::SUCCESS)
}

/// Rows and raw bytes of an entry's data (from the index of an archive file).
fn data_stats(d: &TableData, stats: &[StreamStats]) -> (u64, u64) {
    d.streams
        .iter()
        .filter_map(|s| stats.iter().find(|x| x.stream == *s))
        .fold((0, 0), |acc, x| (acc.0 + x.rows, acc.1 + x.raw_bytes))
}

fn list_json(
    toc: &Toc,
    stats: Option<&[StreamStats]>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let entries: Vec<serde_json::Value> = toc
        .entries
        .iter()
        .map(|e| {
            let mut v = serde_json::json!({
                "id": e.id, "kind": e.kind, "section": e.section().as_str(),
                "schema": e.schema, "name": e.name, "owner": e.owner, "deps": e.deps,
            });
            if let Some(d) = &e.data {
                let (rows, raw) = stats.map_or((0, 0), |st| data_stats(d, st));
                v["data"] = serde_json::json!({
                    "target": d.target, "format": format!("{:?}", d.format).to_lowercase(),
                    "streams": d.streams, "rows": rows, "bytes": raw,
                });
            }
            v
        })
        .collect();
    let doc = serde_json::json!({ "archive": toc.info, "entries": entries });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn list_text(
    toc: &Toc,
    stats: Option<&[StreamStats]>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let info = &toc.info;
    writeln!(out, ";\n; pgdump archive")?;
    for (what, value) in [
        ("database", &info.database),
        ("created", &info.created_at),
        ("server", &info.server_version),
        ("written by", &info.tool),
    ] {
        writeln!(out, ";     {what}: {}", listing::comment_text(value))?;
    }
    writeln!(
        out,
        ";     entries: {}, streams: {}",
        toc.entries.len(),
        toc.streams.len()
    )?;
    writeln!(
        out,
        ";\n; Selected TOC entries (id; kind schema name owner). A name that is not one plain\n\
         ; word is in double quotes, with \\\\ \\\" \\n \\r \\t and \\u{{HEX}} escapes.\n;"
    )?;
    for e in &toc.entries {
        let mut line = listing::entry_line(e);
        if let (Some(d), Some(st)) = (&e.data, stats) {
            let (rows, raw) = data_stats(d, st);
            line.push_str(&format!(
                " [{} rows, {}, {} stream(s)]",
                count(rows),
                bytes(raw),
                d.streams.len()
            ));
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn verify(a: VerifyArgs) -> Result<ExitCode> {
    let opened = match Opened::open(&a.input) {
        Ok(o) => o,
        Err(e) => {
            // A cut or unsealed file: name the object of the damaged frame from the TOC,
            // which can still be read from the front.
            let named = e.downcast_ref::<FormatError>().and_then(|fe| {
                let f = std::fs::File::open(&a.input).ok()?;
                let sr = StreamReader::new(std::io::BufReader::new(f)).ok()?;
                Some(format!("reading {}: {}", a.input, describe(sr.toc(), fe)))
            });
            match named {
                Some(text) if a.input != "-" => stderr!("pgdump: verify failed: {text}"),
                _ => stderr!("pgdump: verify failed: {e:#}"),
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let (entries, streams, frames, rows, raw, stored) = match &opened {
        Opened::File(r) => match r.verify_all() {
            Ok(v) => (
                v.entries,
                v.streams,
                v.frames,
                v.rows,
                v.raw_bytes,
                v.stored_bytes,
            ),
            Err(e) => {
                stderr!("pgdump: verify failed: {}", describe(r.toc(), &e));
                return Ok(ExitCode::FAILURE);
            }
        },
        Opened::Stream(_) => {
            let Opened::Stream(mut r) = opened else {
                unreachable!()
            };
            let toc = r.toc().clone();
            let (mut frames, mut rows, mut raw, mut stored) = (0u64, 0u64, 0u64, 0u64);
            loop {
                match r.next_frame() {
                    Ok(Some(f)) => {
                        stored += f.stored_len();
                        match f.decode() {
                            Ok(fr) => {
                                frames += 1;
                                rows += fr.meta.rows;
                                raw += fr.data.len() as u64;
                            }
                            Err(e) => {
                                stderr!("pgdump: verify failed: {}", describe(&toc, &e));
                                return Ok(ExitCode::FAILURE);
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        stderr!("pgdump: verify failed: {}", describe(&toc, &e));
                        return Ok(ExitCode::FAILURE);
                    }
                }
            }
            (
                toc.entries.len(),
                toc.streams.len(),
                frames,
                rows,
                raw,
                stored,
            )
        }
    };
    let report = if a.json {
        serde_json::json!({"ok": true, "entries": entries, "streams": streams, "frames": frames,
                           "rows": rows, "raw_bytes": raw, "stored_bytes": stored})
        .to_string()
    } else {
        format!(
            "archive OK: {} entries, {} streams, {} frames, {} rows, {} of data ({} stored); every checksum and the seal verified",
            count(entries as u64),
            count(streams as u64),
            count(frames),
            count(rows),
            bytes(raw),
            bytes(stored)
        )
    };
    out::stdout(&format!("{report}\n"))?;
    Ok(ExitCode::SUCCESS)
}

fn sql(a: SqlArgs) -> Result<ExitCode> {
    let mut opts = convert::select_options(&a.select, RestoreOptions::default())?;
    if a.create {
        opts.target = Target::CreateArchive;
    }
    opts.single_transaction = a.single_transaction;
    opts.validate()?;
    // A piped archive is spooled to a temporary file first (the script needs each table's frames in order).
    let _spool;
    let (path, name) = if a.input == "-" {
        let mut tmp = tempfile::NamedTempFile::new().context("creating a temporary file")?;
        std::io::copy(&mut std::io::stdin().lock(), &mut tmp).context("reading stdin")?;
        let p = tmp.path().to_path_buf();
        _spool = tmp;
        (p, "stdin")
    } else {
        (a.input.clone().into(), a.input.as_str())
    };
    let f = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let reader = ArchiveReader::open(f).with_context(|| format!("reading {name}"))?;
    // Every checksum and the seal before the first byte: a damaged archive gives no
    // script rather than part of one.
    reader.verify_all().map_err(|e| {
        anyhow!(
            "reading {name}: {}; no script written",
            describe(reader.toc(), &e)
        )
    })?;
    let convert = pgdump_core::restore::script::binary_to_text;
    match &a.file {
        Some(p) => {
            // Written atomically: a failed run leaves no script behind.
            let mut out = Output::File(p.clone()).open()?;
            write_script(&reader, &opts, &convert, &mut out.writer)?;
            out.writer
                .flush()
                .with_context(|| format!("writing {}", p.display()))?;
            if let Some(file) = out.file {
                file.commit()?;
            }
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            write_script(&reader, &opts, &convert, &mut out)?;
            out.flush().context(out::STDOUT)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn compare(a: CompareArgs) -> Result<ExitCode> {
    let resolve = |s: &str| pgdump_core::conn::ConnBuilder::new().dbname(s).resolve();
    let src = resolve(&a.source)?;
    let dst = resolve(&a.target)?;
    let opts = pgdump_core::compare::CompareOptions {
        ignore: pgdump_core::compare::Ignore {
            owner: a.ignore_owner,
            acl: a.ignore_acl,
        },
        schema_only: a.schema_only,
    };
    let report = pgdump_core::compare::compare(&src, &dst, opts)
        .await
        .with_context(|| format!("comparing {} with {}", src.target(), dst.target()))?;
    out::stdout(&report.render())?;
    Ok(if report.equivalent() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Rows per table (pieces for large objects) of a partial restore's report.
fn print_loaded(loaded: &[(String, u64)]) {
    for (t, n) in loaded {
        let what = if t == LARGE_OBJECTS { "pieces" } else { "rows" };
        stderr!("pgdump:   {t}: {} {what}", count(*n));
    }
}
