//! Where an archive goes. Files are written atomically: a temporary name in the
//! same directory, fsync, rename on success, fsync of the directory; on any
//! failure (or cancellation, or a panic) the temporary file is removed, so
//! nothing that looks like an archive is left behind.

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
                let tmp = temp_name(&dest);
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
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

fn temp_name(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "archive".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = format!(".{name}.tmp-{}-{nanos}", std::process::id());
    match parent_dir(dest) {
        Some(d) => d.join(tmp),
        None => PathBuf::from(tmp),
    }
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
}
