//! Running SQL through `psql` (needed for scripts with psql meta-commands, such as the
//! fixtures, and handy for tests that want psql's exact behaviour).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{binaries, Cluster};

/// A `psql -X -v ON_ERROR_STOP=1` command connected to `db`, with a clean environment
/// (no `PG*` variables of the caller leak in).
pub fn psql_command(cluster: &Cluster, db: &str) -> Result<Command> {
    let mut cmd = Command::new(binaries::psql_path()?);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(key);
        }
    }
    cmd.args(["-X", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(cluster.url(db))
        .env("PGCONNECT_TIMEOUT", "30");
    Ok(cmd)
}

/// Runs `sql` with psql in `db` (`-q -A -t`: unaligned rows, no headers) and returns stdout.
pub fn psql(cluster: &Cluster, db: &str, sql: &str) -> Result<String> {
    let mut cmd = psql_command(cluster, db)?;
    cmd.args(["-q", "-A", "-t"]);
    run_streaming(cmd, sql.as_bytes(), cluster, db)
}

/// Runs an SQL script file with psql in `db`; returns stdout.
pub fn psql_file(cluster: &Cluster, db: &str, script: &Path) -> Result<String> {
    let mut cmd = psql_command(cluster, db)?;
    cmd.arg("-q").arg("-f").arg(script);
    run_streaming(cmd, &b""[..], cluster, db)
        .with_context(|| format!("{} failed", script.display()))
}

/// Feeds a script read from `input` to psql in `db`; returns stdout.
pub fn psql_stream(cluster: &Cluster, db: &str, input: impl Read + Send) -> Result<String> {
    let mut cmd = psql_command(cluster, db)?;
    cmd.arg("-q");
    run_streaming(cmd, input, cluster, db)
}

fn run_streaming(
    mut cmd: Command,
    mut input: impl Read + Send,
    cluster: &Cluster,
    db: &str,
) -> Result<String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run psql")?;
    let mut stdin = child.stdin.take().context("psql stdin")?;
    let output = std::thread::scope(|s| {
        let writer = s.spawn(move || -> std::io::Result<()> {
            let r = std::io::copy(&mut input, &mut stdin).map(drop);
            drop(stdin);
            match r {
                // psql stopped reading (ON_ERROR_STOP): its exit status tells why
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other,
            }
        });
        let output = child.wait_with_output();
        let written = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (output, written)
    });
    let (output, written) = output;
    let output = output.context("psql did not finish")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.contains("NOTICE:"))
            .take(20)
            .collect();
        bail!(
            "psql failed ({}) in {} on PostgreSQL {}:\n{}\nserver log:\n{}",
            output.status,
            cluster.url(db),
            cluster.major(),
            errors.join("\n"),
            cluster.server_log_tail(10)
        );
    }
    written.context("cannot feed psql its input")?;
    String::from_utf8(output.stdout).context("psql printed non-UTF-8 output")
}
