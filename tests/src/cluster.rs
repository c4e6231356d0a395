//! Throwaway PostgreSQL clusters: initdb into a temporary directory, a free port on
//! 127.0.0.1, trust authentication, settings for speed rather than durability.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{bail, Context, Result};

use crate::lifecycle::{self, StopInfo};
use crate::{binaries, sys};

/// The unprivileged account servers run as when the harness runs as root.
pub const SERVER_USER: &str = "postgres";

/// Settings of every test cluster (before the caller's own).
const BASE_SETTINGS: &[(&str, &str)] = &[
    ("listen_addresses", "'127.0.0.1'"),
    ("max_connections", "60"),
    ("shared_buffers", "128MB"),
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    ("full_page_writes", "off"),
    ("max_wal_size", "2GB"),
    ("checkpoint_timeout", "30min"),
    ("autovacuum", "off"),
    ("timezone", "'UTC'"),
    ("log_timezone", "'UTC'"),
    ("lc_messages", "'C'"),
    ("log_line_prefix", "'%m [%p] %q%u@%d '"),
];

/// A uid/gid pair that server processes are started as.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ServerUser {
    uid: u32,
    gid: u32,
}

impl ServerUser {
    pub(crate) fn apply(self, cmd: &mut Command) {
        use std::os::unix::process::CommandExt;
        // std also drops root's supplementary groups when it switches uid
        cmd.uid(self.uid).gid(self.gid);
    }
}

/// The account to run servers as: `postgres` when we are root (initdb and postgres refuse
/// to run as root), else ourselves.
fn server_user() -> Result<Option<ServerUser>> {
    if sys::euid() != 0 {
        return Ok(None);
    }
    let id = |flag: &str| -> Result<u32> {
        let out = Command::new("id")
            .args([flag, SERVER_USER])
            .output()
            .context("cannot run `id`")?;
        if !out.status.success() {
            bail!(
                "running as root, the harness starts PostgreSQL as the user `{SERVER_USER}`, \
                 which does not exist here (create it: `useradd --system --user-group {SERVER_USER}`, \
                 or install postgresql-15, or run the tests as a non-root user)"
            );
        }
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .context("unexpected output of `id`")
    };
    Ok(Some(ServerUser {
        uid: id("-u")?,
        gid: id("-g")?,
    }))
}

/// How a new cluster's data directory is made.
enum Init {
    /// `initdb`.
    Initdb,
    /// Extracted from a tar archive of a stopped cluster's data directory.
    Extract(PathBuf),
}

/// A running throwaway PostgreSQL server. Dropping it stops the server and removes its
/// directory; see [`shared_cluster`] for one reused by every test of a process.
pub struct Cluster {
    major: u32,
    port: u16,
    stop: StopInfo,
    registry_id: u64,
    reaper: Mutex<Option<Child>>,
    stopped: AtomicBool,
    next_db: AtomicU64,
    /// Serialises loads that create cluster-wide objects (the coverage fixture's roles).
    pub(crate) global_objects_lock: Mutex<()>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("major", &self.major)
            .field("port", &self.port)
            .field("dir", &self.stop.dir)
            .finish()
    }
}

impl Cluster {
    /// Starts a new cluster of PostgreSQL `major` with the harness's test settings.
    pub fn start(major: u32) -> Result<Cluster> {
        Self::start_with_settings(major, &[])
    }

    /// Starts a new cluster with extra `postgresql.conf` settings (values as written in the
    /// file, e.g. `("wal_level", "minimal")`, `("timezone", "'Europe/Berlin'")`); they come
    /// after, so override, the harness's own.
    pub fn start_with_settings(major: u32, settings: &[(&str, &str)]) -> Result<Cluster> {
        Self::start_inner(major, settings, Init::Initdb)
    }

    /// Starts a new cluster from a copy of a stopped cluster's data directory, given as a tar
    /// archive of its contents (`tar -C DATA -cf ARCHIVE .`, as `scripts/regression-db`
    /// caches it), extracted as the server user, with the harness's settings (and `settings`)
    /// appended to its `postgresql.conf`. The archive must come from the same major (and a
    /// cluster with trust authentication for `postgres`).
    pub fn start_from_data_archive(
        major: u32,
        archive: &Path,
        settings: &[(&str, &str)],
    ) -> Result<Cluster> {
        Self::start_inner(major, settings, Init::Extract(archive.to_path_buf()))
    }

    fn start_inner(major: u32, settings: &[(&str, &str)], init: Init) -> Result<Cluster> {
        let bin_dir = binaries::server_bin_dir(major)?;
        lifecycle::sweep_once();
        let user = server_user()?;
        let base = lifecycle::clusters_base()?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("pg{major}-{}-", std::process::id()))
            .tempdir_in(&base)
            .with_context(|| format!("cannot create a cluster directory in {}", base.display()))?
            .keep();
        let stop = StopInfo {
            bin_dir: bin_dir.clone(),
            dir: dir.clone(),
            user,
        };
        // from here on the directory is removed on any failure
        match Self::init_and_start(major, stop.clone(), settings, &init) {
            Ok(cluster) => Ok(cluster),
            Err(e) => {
                stop.stop_and_remove();
                Err(e.context(format!(
                    "cannot start a PostgreSQL {major} cluster (binaries: {})",
                    bin_dir.display()
                )))
            }
        }
    }

    fn init_and_start(
        major: u32,
        stop: StopInfo,
        settings: &[(&str, &str)],
        init: &Init,
    ) -> Result<Cluster> {
        let dir = &stop.dir;
        lifecycle::write_owner(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
        if let Some(user) = stop.user {
            std::os::unix::fs::chown(dir, Some(user.uid), Some(user.gid))
                .with_context(|| format!("cannot give {} to {SERVER_USER}", dir.display()))?;
            // a clear message when the binaries live somewhere the server user cannot read
            let mut probe = Command::new(stop.bin_dir.join("postgres"));
            probe.arg("--version").current_dir(dir);
            user.apply(&mut probe);
            let ok = probe.output().map(|o| o.status.success()).unwrap_or(false);
            if !ok {
                bail!(
                    "the user `{SERVER_USER}` cannot run {}/postgres: keep server binaries in a \
                     directory every user can read (not under /root); scripts/fetch-postgres \
                     uses /var/tmp/pgdump-postgres",
                    stop.bin_dir.display()
                );
            }
        }
        let reaper = lifecycle::spawn_reaper(dir)?;
        let registry_id = lifecycle::register(stop.clone());
        let mut cluster = Cluster {
            major,
            port: 0,
            stop,
            registry_id,
            reaper: Mutex::new(Some(reaper)),
            stopped: AtomicBool::new(false),
            next_db: AtomicU64::new(1),
            global_objects_lock: Mutex::new(()),
        };
        // On failure below, dropping `cluster` stops and removes everything.
        match init {
            Init::Initdb => cluster.initdb()?,
            Init::Extract(archive) => cluster.extract_data(archive)?,
        }
        cluster.write_settings(settings)?;
        cluster.port = cluster.start_server()?;
        Ok(cluster)
    }

    /// A command that runs as the server user, in the cluster directory.
    fn server_command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.stop.bin_dir.join(program));
        cmd.current_dir(&self.stop.dir)
            .env("TZ", "UTC")
            .env("LC_ALL", "C.UTF-8")
            .env_remove("PGDATA")
            .env_remove("PGPORT")
            .env_remove("PGHOST")
            .stdin(Stdio::null());
        if let Some(user) = self.stop.user {
            user.apply(&mut cmd);
        }
        cmd
    }

    /// Runs a server-side program with its output in `log`; fails with that output.
    fn run_logged(&self, mut cmd: Command, log: &str, what: &str) -> Result<()> {
        let log_path = self.stop.dir.join(log);
        let file = std::fs::File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        if let Some(user) = self.stop.user {
            std::os::unix::fs::chown(&log_path, Some(user.uid), Some(user.gid))?;
        }
        let status = cmd
            .stdout(file.try_clone()?)
            .stderr(file)
            .status()
            .with_context(|| format!("cannot run {what}"))?;
        if !status.success() {
            let out = std::fs::read_to_string(&log_path).unwrap_or_default();
            bail!("{what} failed ({status}):\n{}", out.trim_end());
        }
        Ok(())
    }

    fn initdb(&self) -> Result<()> {
        let mut cmd = self.server_command("initdb");
        cmd.arg("-D").arg(self.data_dir()).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]);
        self.run_logged(cmd, "initdb.log", "initdb")
    }

    /// The data directory from a tar archive of a stopped cluster's data directory.
    fn extract_data(&self, archive: &Path) -> Result<()> {
        let data = self.data_dir();
        std::fs::create_dir(&data).with_context(|| format!("cannot create {}", data.display()))?;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700))?;
        if let Some(user) = self.stop.user {
            std::os::unix::fs::chown(&data, Some(user.uid), Some(user.gid))?;
        }
        let mut cmd = Command::new("tar");
        cmd.current_dir(&self.stop.dir)
            .arg("-C")
            .arg(&data)
            .arg("-xf")
            .arg(archive)
            .stdin(Stdio::null());
        if let Some(user) = self.stop.user {
            user.apply(&mut cmd);
        }
        self.run_logged(
            cmd,
            "extract.log",
            &format!("tar -xf {}", archive.display()),
        )?;
        if !data.join("PG_VERSION").is_file() {
            bail!(
                "{} holds no data directory (no PG_VERSION)",
                archive.display()
            );
        }
        Ok(())
    }

    fn write_settings(&self, extra: &[(&str, &str)]) -> Result<()> {
        use std::io::Write;
        let conf = self.data_dir().join("postgresql.conf");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .with_context(|| format!("cannot open {}", conf.display()))?;
        writeln!(f, "\n# pgdump-tests")?;
        // Unix socket in the cluster directory when the path fits (sun_path is 108 bytes).
        let socket_dir = self.stop.dir.display().to_string();
        let socket_dir = if socket_dir.len() < 80 && !socket_dir.contains('\'') {
            socket_dir
        } else {
            String::new()
        };
        writeln!(f, "unix_socket_directories = '{socket_dir}'")?;
        for (k, v) in BASE_SETTINGS.iter().chain(extra) {
            writeln!(f, "{k} = {v}")?;
        }
        Ok(())
    }

    /// Starts the postmaster on a free port; retries when another process took the port.
    fn start_server(&self) -> Result<u16> {
        let mut last_err = None;
        for _ in 0..5 {
            let port = free_port()?;
            let mut cmd = self.server_command("pg_ctl");
            cmd.args(["start", "-w", "-t", "120", "-D"])
                .arg(self.data_dir())
                .arg("-l")
                .arg(self.log_path())
                .args(["-o", &format!("-p {port}")]);
            match self.run_logged(cmd, "pg_ctl.log", "pg_ctl start") {
                Ok(()) => return Ok(port),
                Err(e) => {
                    let log = self.server_log();
                    let port_taken = log.contains("could not bind")
                        || log.contains("Address already in use")
                        || log.contains("could not create any TCP/IP sockets");
                    let err = e.context(format!(
                        "server log {}:\n{}",
                        self.log_path().display(),
                        tail(&log, 30)
                    ));
                    if !port_taken {
                        return Err(err);
                    }
                    last_err = Some(err);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("no free port")))
    }

    /// Restarts the server on the same port as a crash would: an immediate shutdown
    /// (every session is cut, nothing is checkpointed), then a start with crash recovery.
    pub fn restart_immediate(&self) -> Result<()> {
        let mut stop = self.server_command("pg_ctl");
        stop.args(["stop", "-w", "-m", "immediate", "-D"])
            .arg(self.data_dir());
        self.run_logged(stop, "pg_ctl.log", "pg_ctl stop")?;
        let mut start = self.server_command("pg_ctl");
        start
            .args(["start", "-w", "-t", "120", "-D"])
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_path())
            .args(["-o", &format!("-p {}", self.port)]);
        self.run_logged(start, "pg_ctl.log", "pg_ctl start")
    }

    /// The server's major version (10..18).
    pub fn major(&self) -> u32 {
        self.major
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Always `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The bin directory of the server binaries.
    pub fn bin_dir(&self) -> &Path {
        &self.stop.bin_dir
    }

    /// The cluster directory (data directory, logs, Unix socket).
    pub fn dir(&self) -> &Path {
        &self.stop.dir
    }

    /// The data directory (PGDATA).
    pub fn data_dir(&self) -> PathBuf {
        self.stop.data_dir()
    }

    /// `postgresql://postgres@127.0.0.1:PORT/db` (trust authentication, no password).
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// A tokio-postgres / libpq keyword connection string for `db`.
    pub fn conn_string(&self, db: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname='{}'",
            self.port,
            db.replace('\\', "\\\\").replace('\'', "\\'")
        )
    }

    /// Path of the server log.
    pub fn log_path(&self) -> PathBuf {
        self.stop.dir.join("server.log")
    }

    /// The whole server log so far (empty if unreadable).
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The last `lines` lines of the server log, for error messages.
    pub fn server_log_tail(&self, lines: usize) -> String {
        tail(&self.server_log(), lines)
    }

    /// The byte length of the server log: pass it to [`Cluster::server_log_since`] to get what
    /// a test step logged.
    pub fn server_log_len(&self) -> u64 {
        std::fs::metadata(self.log_path())
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// The server log from byte `offset` on.
    pub fn server_log_since(&self, offset: u64) -> String {
        let log = std::fs::read(self.log_path()).unwrap_or_default();
        let start = (offset as usize).min(log.len());
        String::from_utf8_lossy(&log[start..]).into_owned()
    }

    /// A number for unique database names within this cluster.
    pub(crate) fn next_db_number(&self) -> u64 {
        self.next_db.fetch_add(1, Ordering::Relaxed)
    }

    /// Stops the server (immediate shutdown) and removes the cluster directory. Idempotent;
    /// also done by `Drop`.
    pub fn stop(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        self.stop.stop_and_remove();
        lifecycle::unregister(self.registry_id);
        let reaper = self.reaper.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut reaper) = reaper {
            drop(reaper.stdin.take()); // EOF: the reaper finds nothing left to do and exits
            let _ = reaper.wait();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An unused TCP port on 127.0.0.1 (the OS picks it; the server binds it right after).
fn free_port() -> Result<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind a port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

type SharedSlot = Arc<OnceLock<Result<&'static Cluster, String>>>;

fn shared_slot(major: u32) -> SharedSlot {
    static SLOTS: OnceLock<Mutex<HashMap<u32, SharedSlot>>> = OnceLock::new();
    let slots = SLOTS.get_or_init(Default::default);
    let mut map = slots.lock().unwrap_or_else(|p| p.into_inner());
    map.entry(major).or_default().clone()
}

/// The cluster of PostgreSQL `major` shared by every test of this process: started on first
/// use, stopped at process exit. Tests must not change cluster-wide state they did not create
/// (roles, settings) and should use their own databases ([`Cluster::create_db`]).
pub fn try_shared_cluster(major: u32) -> Result<&'static Cluster> {
    let slot = shared_slot(major);
    let result = slot.get_or_init(|| {
        Cluster::start(major)
            .map(|c| &*Box::leak(Box::new(c)))
            .map_err(|e| format!("{e:#}"))
    });
    match result {
        Ok(cluster) => Ok(cluster),
        Err(msg) => bail!("{msg}"),
    }
}

/// [`try_shared_cluster`] for tests: panics with the reason (and the fix) when the cluster
/// cannot start.
pub fn shared_cluster(major: u32) -> &'static Cluster {
    match try_shared_cluster(major) {
        Ok(c) => c,
        Err(e) => panic!("cannot start the shared PostgreSQL {major} cluster: {e:#}"),
    }
}
