//! Making sure no cluster outlives the process that started it.
//!
//! Three layers, from the common case to the worst one:
//! 1. `Drop` of a [`Cluster`](crate::Cluster) stops its server and removes its directory; shared
//!    clusters live in statics, which are never dropped, so every live cluster is also in a
//!    registry that an `atexit` handler stops at normal process exit.
//! 2. Each cluster has a *reaper*: a small `sh` in its own process group that blocks reading a
//!    pipe whose only writer is the test process. When that process dies in any way (panic,
//!    SIGKILL, Ctrl-C), the kernel closes the pipe and the reaper stops the postmaster and
//!    removes the directory.
//! 3. Every cluster directory sits in one well-known parent (`/tmp/pgdump-test-clusters`, or
//!    `PGDUMP_TEST_CLUSTERS_DIR`) with an `owner` file naming the owning process (pid and start
//!    time). The first cluster started by a process sweeps the directories whose owner is gone
//!    (say, after a reboot or a killed reaper): [`cleanup_stale_clusters`].

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};

use crate::sys;

/// The parent directory of every cluster directory.
pub fn clusters_base() -> Result<PathBuf> {
    let base = std::env::var_os("PGDUMP_TEST_CLUSTERS_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/pgdump-test-clusters"));
    std::fs::create_dir_all(&base).with_context(|| format!("cannot create {}", base.display()))?;
    // Like /tmp: every user may create cluster directories here, only owners remove theirs.
    if let Ok(meta) = std::fs::metadata(&base) {
        if meta.permissions().mode() & 0o7777 != 0o1777 {
            let _ = std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o1777));
        }
    }
    Ok(base)
}

/// What is needed to stop a server and remove its directory without the `Cluster` value.
#[derive(Clone, Debug)]
pub(crate) struct StopInfo {
    pub(crate) bin_dir: PathBuf,
    pub(crate) dir: PathBuf,
    pub(crate) user: Option<crate::cluster::ServerUser>,
}

impl StopInfo {
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Stops the server (immediate shutdown: nothing in it is kept) and waits for it to go.
    pub(crate) fn stop_server(&self) {
        let data = self.data_dir();
        if !data.join("postmaster.pid").exists() {
            return;
        }
        let mut cmd = Command::new(self.bin_dir.join("pg_ctl"));
        cmd.args(["stop", "-m", "immediate", "-w", "-t", "30", "-D"])
            .arg(&data)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(user) = self.user {
            user.apply(&mut cmd);
        }
        let ok = cmd.status().map(|s| s.success()).unwrap_or(false);
        if !ok {
            kill_postmaster(&data);
        }
    }

    /// Stops the server and removes the cluster directory.
    pub(crate) fn stop_and_remove(&self) {
        self.stop_server();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Signals the postmaster named in `data/postmaster.pid` (if it is a postgres process):
/// SIGQUIT (immediate shutdown), then SIGKILL after 10 s.
fn kill_postmaster(data: &Path) {
    let Some(pid) = std::fs::read_to_string(data.join("postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<i32>().ok()))
    else {
        return;
    };
    let is_postgres = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains("postgres"))
        .unwrap_or(false);
    if !is_postgres {
        return;
    }
    sys::send_signal(pid, libc::SIGQUIT);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    sys::send_signal(pid, libc::SIGKILL);
}

static LIVE: Mutex<Vec<(u64, StopInfo)>> = Mutex::new(Vec::new());
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
static AT_EXIT: Once = Once::new();

extern "C" fn stop_all_at_exit() {
    let live = match LIVE.lock() {
        Ok(mut live) => std::mem::take(&mut *live),
        Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
    };
    for (_, info) in live {
        info.stop_and_remove();
    }
}

/// Records a live cluster so that it is stopped at process exit; returns its id.
pub(crate) fn register(info: StopInfo) -> u64 {
    AT_EXIT.call_once(|| {
        if !sys::at_exit(stop_all_at_exit) {
            eprintln!("pgdump-tests: atexit registration failed; the reapers will stop clusters");
        }
    });
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    LIVE.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((id, info));
    id
}

/// Forgets a cluster (it was stopped by its owner).
pub(crate) fn unregister(id: u64) {
    LIVE.lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|(i, _)| *i != id);
}

/// The reaper script: `$1` is the cluster directory. `cat` returns when the pipe's
/// writer (the test process) is gone.
const REAPER: &str = r#"
cat >/dev/null 2>&1
d="$1"
pid=$(head -n 1 "$d/data/postmaster.pid" 2>/dev/null)
case "$pid" in ''|*[!0-9]*) pid= ;; esac
if [ -n "$pid" ] && grep -q postgres "/proc/$pid/cmdline" 2>/dev/null; then
  kill -QUIT "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  kill -KILL "$pid" 2>/dev/null
fi
rm -rf "$d"
"#;

/// Starts the reaper of a cluster directory. Keep the returned child (and its stdin)
/// alive for as long as the cluster should live.
pub(crate) fn spawn_reaper(dir: &Path) -> Result<Child> {
    use std::os::unix::process::CommandExt;
    Command::new("sh")
        .args(["-c", REAPER, "pgdump-reaper"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir("/")
        // own process group: a Ctrl-C in the terminal must not kill the reaper
        .process_group(0)
        .spawn()
        .context("cannot start the cluster reaper (sh)")
}

/// Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), which
/// tells a live owner from a recycled pid.
fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // fields after the command name start at field 3 (state); start time is field 22
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

/// Writes the `owner` file of a cluster directory.
pub(crate) fn write_owner(dir: &Path) -> Result<()> {
    let pid = std::process::id();
    let start = process_start_time(pid).unwrap_or(0);
    let mut f = std::fs::File::create(dir.join("owner"))
        .with_context(|| format!("cannot write {}/owner", dir.display()))?;
    writeln!(f, "{pid} {start}")?;
    Ok(())
}

fn owner_alive(dir: &Path) -> Option<bool> {
    let text = std::fs::read_to_string(dir.join("owner")).ok()?;
    let mut parts = text.split_whitespace();
    let pid: u32 = parts.next()?.parse().ok()?;
    let start: u64 = parts.next()?.parse().ok()?;
    Some(process_start_time(pid) == Some(start))
}

/// Stops the servers and removes the directories of clusters whose owning process is gone.
/// Directories without an owner file are removed once they are an hour old. Returns how
/// many directories were removed. Runs automatically before a process starts its first
/// cluster.
pub fn cleanup_stale_clusters() -> Result<usize> {
    let base = clusters_base()?;
    let mut removed = 0;
    for entry in std::fs::read_dir(&base)?.filter_map(|e| e.ok()) {
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        let stale = match owner_alive(&dir) {
            Some(alive) => !alive,
            None => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > Duration::from_secs(3600)),
        };
        if stale {
            kill_postmaster(&dir.join("data"));
            if std::fs::remove_dir_all(&dir).is_ok() {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

static SWEPT: Once = Once::new();

/// [`cleanup_stale_clusters`] once per process; failures are only reported.
pub(crate) fn sweep_once() {
    SWEPT.call_once(|| match cleanup_stale_clusters() {
        Ok(0) => {}
        Ok(n) => eprintln!("pgdump-tests: removed {n} stale cluster(s) of dead processes"),
        Err(e) => eprintln!("pgdump-tests: could not sweep stale clusters: {e:#}"),
    });
}
