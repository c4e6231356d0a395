//! `pgdump`: parse arguments, call pgdump-core, print, exit code.

mod args;
mod cmd;
mod convert;
mod listing;
mod out;
mod report;

use std::process::ExitCode;

use clap::Parser;

use crate::out::stderr;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("pgdump")
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            stderr!("pgdump: error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cmd::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            stderr!("pgdump: error: {}", chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// Help and version on stdout (a failed write is an error), usage errors on stderr
/// (exit status 2 even when stderr cannot be written).
fn usage(e: &clap::Error) -> ExitCode {
    let code = ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
    let printed = e
        .print()
        .and_then(|()| std::io::Write::flush(&mut std::io::stdout()));
    match printed {
        Err(err) if !e.use_stderr() => {
            stderr!("pgdump: error: {}: {err}", out::STDOUT);
            ExitCode::FAILURE
        }
        _ => code,
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PGDUMP_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("pgdump_core={level},pgdump={level}"))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // its default reports a failed write with eprintln!, which panics on a closed stderr
        .log_internal_errors(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .try_init();
}

/// The error and its causes, leaving out causes whose text is already shown
/// (core errors embed the server's message; its error object is also their source).
fn chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        // tokio-postgres says just "db error" for a server error whose message
        // (shown by the core error) is its own source.
        if out.contains(text.trim()) || text == "db error" {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
