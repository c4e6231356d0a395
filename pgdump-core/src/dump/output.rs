//! Where an archive goes. Files are written atomically: a temporary name in the
//! same directory, fsync, rename on success, fsync of the directory; on any
//! failure (or cancellation, or a panic) the temporary file is removed, so
//! nothing that looks like an archive is left behind. A process killed outright
//! cannot remove its temporary file: the next one writing to the same destination
//! does. Archives are readable by their owner only (mode 0600).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{CoreError, Result};

/// Destination of a dump.
pub enum Output {
    /// A file, written atomically.
    File(PathBuf),
    /// Standard output.
    Stdout,
    /// Any writer (a pipe, an upload ...). It is flushed, not synced.
    Writer(Box<dyn Write + Send>),
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::File(p) => write!(f, "File({})", p.display()),
            Output::Stdout => write!(f, "Stdout"),
            Output::Writer(_) => write!(f, "Writer(..)"),
        }
    }
}

/// An opened output: the writer, and what to do once the archive is sealed.
pub struct OpenOutput {
    /// The byte sink.
    pub writer: BufWriter<Box<dyn Write + Send>>,
    /// Finishing for files (sync + rename); `None` for other outputs.
    pub file: Option<PendingFile>,
}

/// A temporary file that becomes the archive on [`PendingFile::commit`] and is
/// removed if dropped before.
pub struct PendingFile {
    tmp: PathBuf,
    dest: PathBuf,
    handle: File,
    committed: bool,
}

impl Output {
    /// Open the output for writing.
    pub fn open(self) -> Result<OpenOutput> {
        match self {
            Output::File(dest) => {
                remove_stale_temps(&dest);
                let tmp = temp_name(&dest);
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let file = options
                    .open(&tmp)
                    .map_err(|e| CoreError::io(format!("creating {}", tmp.display()), e))?;
                let handle = file
                    .try_clone()
                    .map_err(|e| CoreError::io(format!("opening {}", tmp.display()), e))?;
                Ok(OpenOutput {
                    writer: BufWriter::with_capacity(1 << 20, Box::new(file)),
                    file: Some(PendingFile {
                        tmp,
                        dest,
                        handle,
                        committed: false,
                    }),
                })
            }
            Output::Stdout => Ok(OpenOutput {
                writer: BufWriter::with_capacity(1 << 20, Box::new(std::io::stdout())),
                file: None,
            }),
            Output::Writer(w) => Ok(OpenOutput {
                writer: BufWriter::with_capacity(1 << 20, w),
                file: None,
            }),
        }
    }
}

impl PendingFile {
    /// Make the archive durable and visible under its final name.
    pub fn commit(mut self) -> Result<PathBuf> {
        self.handle
            .sync_all()
            .map_err(|e| CoreError::io(format!("syncing {}", self.tmp.display()), e))?;
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| {
            CoreError::io(
                format!("renaming {} to {}", self.tmp.display(), self.dest.display()),
                e,
            )
        })?;
        self.committed = true;
        if let Some(dir) = parent_dir(&self.dest) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(self.dest.clone())
    }

    /// The temporary path (for tests and messages).
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn parent_dir(p: &Path) -> Option<&Path> {
    match p.parent() {
        Some(d) if d.as_os_str().is_empty() => Some(Path::new(".")),
        other => other,
    }
}

/// `.NAME.tmp-PID-N` next to `dest` (NAME its file name, PID this process, N from the clock).
fn temp_name(dest: &Path) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut tmp = OsString::from(".");
    tmp.push(dest.file_name().unwrap_or(OsStr::new("archive")));
    tmp.push(format!(".tmp-{}-{nanos}", std::process::id()));
    match parent_dir(dest) {
        Some(d) => d.join(tmp),
        None => PathBuf::from(tmp),
    }
}

/// The process id in `file`, if it is named as [`temp_name`] names the temporary files
/// for a destination named `dest`.
fn temp_pid(file: &OsStr, dest: &OsStr) -> Option<u32> {
    let rest = file
        .as_encoded_bytes()
        .strip_prefix(b".")?
        .strip_prefix(dest.as_encoded_bytes())?
        .strip_prefix(b".tmp-")?;
    let dash = rest.iter().position(|&b| b == b'-')?;
    let (pid, n) = (&rest[..dash], &rest[dash + 1..]);
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !digits(pid) || !digits(n) {
        return None;
    }
    std::str::from_utf8(pid).ok()?.parse().ok()
}

/// Removes the temporary files of earlier writes to `dest` whose process no longer
/// runs (killed before it could remove them). Best effort: what cannot be read or
/// removed stays.
fn remove_stale_temps(dest: &Path) {
    let (Some(name), Some(dir)) = (dest.file_name(), parent_dir(dest)) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = temp_pid(&entry.file_name(), name) else {
            continue;
        };
        if entry.file_type().is_ok_and(|t| t.is_file()) && process_gone(pid) {
            let path = entry.path();
            match std::fs::remove_file(&path) {
                Ok(()) => tracing::info!(
                    "removed {}, left behind by process {pid}, which no longer runs",
                    path.display()
                ),
                Err(e) => tracing::warn!("cannot remove {}: {e}", path.display()),
            }
        }
    }
}

/// Whether no process `pid` exists, as /proc shows (without /proc, every process
/// counts as running).
fn process_gone(pid: u32) -> bool {
    Path::new("/proc/self").exists() && !Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_renames_and_drop_removes() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.pgdump");
        let mut out = Output::File(dest.clone()).open().unwrap();
        out.writer.write_all(b"hello").unwrap();
        out.writer.flush().unwrap();
        let pending = out.file.take().unwrap();
        let tmp = pending.temp_path().to_path_buf();
        assert!(tmp.exists() && !dest.exists());
        pending.commit().unwrap();
        assert!(!tmp.exists());
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello");

        let dest2 = dir.path().join("b.pgdump");
        let mut out = Output::File(dest2.clone()).open().unwrap();
        out.writer.write_all(b"partial").unwrap();
        let tmp2 = out.file.as_ref().unwrap().temp_path().to_path_buf();
        drop(out);
        assert!(!tmp2.exists() && !dest2.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn only_the_owner_can_read_the_archive() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.pgdump");
        std::fs::write(&dest, "an older archive").unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut out = Output::File(dest.clone()).open().unwrap();
        let pending = out.file.take().unwrap();
        assert_eq!(mode(pending.temp_path()), 0o600);
        out.writer.flush().unwrap();
        pending.commit().unwrap();
        assert_eq!(mode(&dest), 0o600);
    }

    #[test]
    fn temporary_names_of_a_destination() {
        let pid = |file: &str, dest: &str| temp_pid(OsStr::new(file), OsStr::new(dest));
        assert_eq!(pid(".a.pgdump.tmp-123-456", "a.pgdump"), Some(123));
        assert_eq!(pid(".a.pgdump.tmp-1-0", "a.pgdump"), Some(1));
        assert_eq!(pid(".a.pgdump.tmp-5.tmp-1-2", "a.pgdump.tmp-5"), Some(1));
        for (file, dest) in [
            (".a.pgdump.tmp-123-456", "b.pgdump"),
            (".a.pgdump.tmp-123-456", "a.pgdum"),
            (".a.pgdump.tmp-123-456", "pgdump"),
            ("a.pgdump.tmp-123-456", "a.pgdump"),
            (".a.pgdump.tmp-5.tmp-1-2", "a.pgdump"),
            (".a.pgdump.tmp-123-456.bak", "a.pgdump"),
            (".a.pgdump.tmp-123-456-7", "a.pgdump"),
            (".a.pgdump.tmp-123", "a.pgdump"),
            (".a.pgdump.tmp-123-", "a.pgdump"),
            (".a.pgdump.tmp--456", "a.pgdump"),
            (".a.pgdump.tmp-+12-456", "a.pgdump"),
            (".a.pgdump.tmp-x-456", "a.pgdump"),
            (".a.pgdump.tmp-99999999999-456", "a.pgdump"),
            (".a.pgdump.TMP-1-2", "a.pgdump"),
            (".a.pgdump", "a.pgdump"),
            ("a.pgdump", "a.pgdump"),
        ] {
            assert_eq!(pid(file, dest), None, "{file} for {dest}");
        }
        let dest = Path::new("/some/dir/x y.pgdump");
        let tmp = temp_name(dest);
        assert_eq!(tmp.parent(), dest.parent());
        assert_eq!(
            temp_pid(tmp.file_name().unwrap(), dest.file_name().unwrap()),
            Some(std::process::id())
        );
    }

    #[test]
    fn stale_temporary_files_of_the_destination_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.pgdump");
        // a process that has exited (and been waited for)
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        assert!(process_gone(gone));
        let me = std::process::id();
        assert!(!process_gone(me));
        let stale = format!(".a.pgdump.tmp-{gone}-1");
        let kept = [
            format!(".a.pgdump.tmp-{me}-1"),    // a running process
            format!(".b.pgdump.tmp-{gone}-1"),  // another destination
            format!(".a.pgdump.tmp-{gone}-1x"), // not our name
            "a.pgdump".to_string(),
        ];
        for f in kept.iter().chain([&stale]) {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        std::fs::create_dir(dir.path().join(format!(".a.pgdump.tmp-{gone}-2"))).unwrap();
        let out = Output::File(dest).open().unwrap();
        let ours = out.file.as_ref().unwrap().temp_path().to_path_buf();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut want: Vec<String> = kept.to_vec();
        want.push(format!(".a.pgdump.tmp-{gone}-2"));
        want.push(ours.file_name().unwrap().to_str().unwrap().to_string());
        want.sort();
        assert_eq!(left, want);
    }
}
