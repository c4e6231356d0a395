//! Measuring a client command: wall time, CPU time and peak RSS of its process tree
//! (`wait4`), and the CPU the server's processes used meanwhile (`/proc`).
//!
//! The workspace denies `unsafe_code`; this module holds the three libc calls the
//! benchmark needs (`wait4`, `sysconf`), each a plain FFI call on owned values.
#![allow(unsafe_code)]

use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// What one run of a client command cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// Wall time from spawn to exit.
    pub wall: f64,
    /// User + system CPU seconds of the command and the children it waited for
    /// (pg_dump's and pg_restore's worker processes).
    pub cpu: f64,
    /// Peak resident set of the largest process of the tree (`ru_maxrss`), bytes.
    pub max_rss: u64,
    /// CPU seconds of every server process (postmaster, backends, background workers).
    pub server_cpu: f64,
}

/// GNU time, which reports the peak RSS of a child it forks itself.
const GNU_TIME: &str = "/usr/bin/time";

/// Runs `cmd` to completion with its output in `log`, and measures it (and the server
/// behind `server`).
///
/// Peak RSS: a child spawned from this (large) process starts with this process's
/// memory accounting (`posix_spawn` shares our address space until `exec`, which records
/// our high-water mark in the child's `maxrss`), so `ru_maxrss` would never be below our
/// own peak. The command therefore runs under `/usr/bin/time -f %M`, whose own child
/// starts from a ~2 MB process; without GNU time, `ru_maxrss` of `wait4` is used
/// (a floor of this process's RSS).
///
/// `exited` runs as soon as the command has exited (before waiting for its server
/// backends to go): stop samplers there.
pub fn run(
    cmd: &Command,
    log: &Path,
    server: &ServerProbe,
    exited: &mut dyn FnMut(),
) -> Result<(Usage, ExitStatus)> {
    use std::os::unix::process::ExitStatusExt;
    let rss_file = log.with_extension("rss");
    let gnu_time = Path::new(GNU_TIME).is_file();
    let mut wrapped = if gnu_time {
        let mut w = Command::new(GNU_TIME);
        w.arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&rss_file)
            .arg("--")
            .arg(cmd.get_program());
        w
    } else {
        Command::new(cmd.get_program())
    };
    wrapped.args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    let f =
        std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    wrapped
        .stdin(std::process::Stdio::null())
        .stdout(f.try_clone()?)
        .stderr(f);
    let server_before = server.cpu_seconds();
    let procs_before = server.processes();
    let start = Instant::now();
    let child = wrapped
        .spawn()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 writes into the two out-parameters we own.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("wait4");
        }
    }
    let wall = start.elapsed().as_secs_f64();
    exited();
    // reaped above: dropping the handle neither waits nor kills
    drop(child);
    server.settle(procs_before);
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let mut max_rss = ru.ru_maxrss.max(0) as u64 * 1024;
    if gnu_time {
        // the last line is the number; "Command exited with non-zero status N" may precede it
        let text = std::fs::read_to_string(&rss_file).unwrap_or_default();
        if let Some(kb) = text
            .lines()
            .rev()
            .find_map(|l| l.trim().parse::<u64>().ok())
        {
            max_rss = kb * 1024;
        }
        let _ = std::fs::remove_file(&rss_file);
    }
    Ok((
        Usage {
            wall,
            cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
            max_rss,
            server_cpu: (server.cpu_seconds() - server_before).max(0.0),
        },
        ExitStatus::from_raw(status),
    ))
}

/// Clock ticks per second of `/proc/*/stat` times.
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// `(ppid, utime + stime, cutime + cstime)` in ticks from `/proc/PID/stat`.
fn proc_stat(pid: i32) -> Option<(i32, u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // fields from 3 (state): ppid is 4, utime 14, stime 15, cutime 16, cstime 17
    let num = |i: usize| f.get(i - 3).and_then(|v| v.parse::<u64>().ok());
    Some((
        f.get(1)?.parse().ok()?,
        num(14)? + num(15)?,
        num(16)? + num(17)?,
    ))
}

/// The processes of one PostgreSQL server, found from its postmaster.
#[derive(Debug, Clone)]
pub struct ServerProbe {
    postmaster: i32,
    ticks: f64,
}

impl ServerProbe {
    /// The server whose data directory is `data_dir` (reads `postmaster.pid`).
    pub fn new(data_dir: &Path) -> Result<ServerProbe> {
        let pid_file = data_dir.join("postmaster.pid");
        let text = std::fs::read_to_string(&pid_file)
            .with_context(|| format!("cannot read {}", pid_file.display()))?;
        let postmaster: i32 = text
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .context("postmaster.pid has no pid")?;
        if proc_stat(postmaster).is_none() {
            bail!("cannot read /proc/{postmaster}/stat (the server's CPU is measured from /proc)");
        }
        Ok(ServerProbe {
            postmaster,
            ticks: ticks_per_second(),
        })
    }

    fn children(&self) -> Vec<(i32, u64)> {
        let mut out = Vec::new();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return out;
        };
        for e in dir.filter_map(|e| e.ok()) {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if let Some((ppid, own, _)) = proc_stat(pid) {
                if ppid == self.postmaster {
                    out.push((pid, own));
                }
            }
        }
        out
    }

    /// CPU seconds used so far by the postmaster, its live children and the children
    /// it has reaped (backends that ended are in its `cutime`/`cstime`).
    pub fn cpu_seconds(&self) -> f64 {
        let Some((_, own, reaped)) = proc_stat(self.postmaster) else {
            return 0.0;
        };
        let live: u64 = self.children().iter().map(|c| c.1).sum();
        (own + reaped + live) as f64 / self.ticks
    }

    /// Number of server processes (postmaster children).
    pub fn processes(&self) -> usize {
        self.children().len()
    }

    /// Waits (up to 3 s) until no more than `processes` server processes are left, so
    /// that the CPU of the backends of a finished client is counted in the postmaster's
    /// reaped time.
    pub fn settle(&self, processes: usize) {
        let deadline = Instant::now() + Duration::from_secs(3);
        while self.processes() > processes && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Bytes of a file, or of every file under a directory.
pub fn disk_size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::metadata(path) else {
        return 0;
    };
    if meta.is_file() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| disk_size(&e.path())).sum())
        .unwrap_or(0)
}
