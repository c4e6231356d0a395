//! `pgdump-sandbox`: run a command against a throwaway PostgreSQL server.
//!
//! ```text
//! pgdump-sandbox run [--major 15] [--fixture pagila] [--db NAME] [--set KEY=VALUE]... -- CMD ARGS...
//! pgdump-sandbox gc
//! ```
//!
//! `run` starts a cluster, creates the database (loading the fixture into it, if any), runs
//! CMD with `PGDUMP_SANDBOX_URL`, `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE` (and
//! `PGDUMP_SANDBOX_MAJOR`, `PGDUMP_SANDBOX_BIN` (server binaries), `PGDUMP_SANDBOX_CLUSTER_DIR`
//! (data directory and `server.log`)) in its environment, then stops and removes
//! the cluster whatever happens (also on Ctrl-C or SIGTERM, which are passed on to CMD) and
//! exits with CMD's status. `gc` removes clusters left behind by dead processes.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use pgdump_tests::{load_fixture, Cluster, Fixture};

#[derive(Parser, Debug)]
#[command(
    name = "pgdump-sandbox",
    about = "Run a command against a throwaway PostgreSQL server"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Start a cluster, optionally load a fixture, run CMD, remove the cluster.
    Run(RunArgs),
    /// Stop and remove clusters whose owning process is gone.
    Gc,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// PostgreSQL major version (10..18; 15 is Debian's, others from scripts/fetch-postgres).
    #[arg(long, default_value_t = 15)]
    major: u32,
    /// Fixture to load: coverage, pagila, chinook, chinook_autoinc, northwind.
    #[arg(long, value_parser = parse_fixture)]
    fixture: Option<Fixture>,
    /// Database to create (default: the fixture's name, or "sandbox").
    #[arg(long)]
    db: Option<String>,
    /// Extra postgresql.conf setting, e.g. --set wal_level=minimal (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_setting)]
    settings: Vec<(String, String)>,
    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<String>,
}

fn parse_fixture(s: &str) -> Result<Fixture, String> {
    Fixture::from_name(s).ok_or_else(|| {
        let names: Vec<_> = Fixture::ALL.iter().map(|f| f.name()).collect();
        format!("unknown fixture {s:?} (one of: {})", names.join(", "))
    })
}

fn parse_setting(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))?;
    Ok((k.trim().to_string(), v.trim().to_string()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Run(args) => run(args),
        Cmd::Gc => pgdump_tests::cleanup_stale_clusters().map(|n| {
            eprintln!("pgdump-sandbox: removed {n} stale cluster(s)");
            0
        }),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("pgdump-sandbox: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: RunArgs) -> Result<u8> {
    let started = Instant::now();
    let settings: Vec<(&str, &str)> = args
        .settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let cluster = Cluster::start_with_settings(args.major, &settings)?;
    let db = args.db.clone().unwrap_or_else(|| {
        args.fixture
            .map(|f| f.name().to_string())
            .unwrap_or_else(|| "sandbox".to_string())
    });
    if db != "postgres" {
        cluster.create_db_named(&db)?;
    }
    if let Some(fixture) = args.fixture {
        load_fixture(&cluster, &db, fixture)?;
    }
    let version = cluster.query_value("postgres", "SHOW server_version")?;
    eprintln!(
        "pgdump-sandbox: PostgreSQL {version} at {} ready in {:.1} s (cluster {})",
        cluster.url(&db),
        started.elapsed().as_secs_f64(),
        cluster.dir().display()
    );
    let status = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot build a tokio runtime")?
        .block_on(run_command(&cluster, &db, &args.command));
    cluster.stop();
    eprintln!("pgdump-sandbox: cluster stopped and removed");
    status
}

/// Runs CMD to completion, passing SIGINT/SIGTERM/SIGHUP on to it; returns its exit code
/// (128 + signal number when a signal ended it).
async fn run_command(cluster: &Cluster, db: &str, command: &[String]) -> Result<u8> {
    use std::os::unix::process::ExitStatusExt;
    use tokio::signal::unix::{signal, SignalKind};

    let Some((program, rest)) = command.split_first() else {
        bail!("no command given (put it after --)");
    };
    let mut child = tokio::process::Command::new(program)
        .args(rest)
        .env("PGDUMP_SANDBOX_URL", cluster.url(db))
        .env("PGDUMP_SANDBOX_MAJOR", cluster.major().to_string())
        .env("PGDUMP_SANDBOX_BIN", cluster.bin_dir())
        .env("PGDUMP_SANDBOX_CLUSTER_DIR", cluster.dir())
        .env("PGHOST", cluster.host())
        .env("PGPORT", cluster.port().to_string())
        .env("PGUSER", "postgres")
        .env("PGDATABASE", db)
        .env_remove("PGPASSWORD")
        .env_remove("PGSERVICE")
        .spawn()
        .with_context(|| format!("cannot run {program}"))?;
    let pid = child.id().map(|p| p as i32);
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut signals_seen = 0;
    let status = loop {
        let forwarded = tokio::select! {
            status = child.wait() => break status.context("waiting for the command")?,
            _ = sigint.recv() => libc::SIGINT,
            _ = sigterm.recv() => libc::SIGTERM,
            _ = sighup.recv() => libc::SIGHUP,
        };
        signals_seen += 1;
        if signals_seen >= 3 {
            eprintln!("pgdump-sandbox: killing {program}");
            let _ = child.start_kill();
        } else if let Some(pid) = pid {
            // a terminal's Ctrl-C reached the command already; a kill(1) did not
            pgdump_tests::send_signal(pid, forwarded);
        }
    };
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(1),
        (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(255),
        _ => 1,
    })
}
