//! `pgdump`: parse arguments, call pgdump-core, print, exit code.

mod args;
mod cmd;
mod convert;
mod report;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("pgdump")
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pgdump: error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cmd::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pgdump: error: {}", chain(&e));
            ExitCode::FAILURE
        }
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
