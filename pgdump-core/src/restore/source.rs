//! Where the archive comes from: a file (opened at random and verified before any
//! SQL runs) or a stream (the TOC first, frames as they come, see [`super::pipe`]);
//! and naming the object whose data a damaged frame holds.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use pgdump_format::{ArchiveReader, StreamReader, Toc, TocEntry};

use crate::error::{CoreError, Result};
use crate::progress::{Event, SharedObserver};

/// Where the archive comes from.
pub enum Input {
    /// A file (random access: verified first, restored in any order).
    File(PathBuf),
    /// Standard input (sequential).
    Stdin,
    /// Any reader (sequential), e.g. a download.
    Reader(Box<dyn Read + Send>),
}

impl Input {
    /// Is the archive read front to back, so that nothing can be verified before
    /// the restore starts?
    pub fn is_stream(&self) -> bool {
        !matches!(self, Input::File(_))
    }
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::File(p) => write!(f, "File({})", p.display()),
            Input::Stdin => write!(f, "Stdin"),
            Input::Reader(_) => write!(f, "Reader(..)"),
        }
    }
}

/// An archive opened for restore.
pub(super) enum Source {
    /// Read at random; every frame was verified unless the caller turned that off.
    File(Arc<ArchiveReader<std::fs::File>>),
    /// Frames arrive through [`super::pipe::PipeFeed`].
    Pipe,
}

/// Open an archive file; with `verify`, check every frame's checksum before
/// returning (off the async threads).
pub(super) async fn open_file(
    path: &std::path::Path,
    verify: bool,
    observer: &SharedObserver,
) -> Result<Arc<ArchiveReader<std::fs::File>>> {
    let file = std::fs::File::open(path)
        .map_err(|e| CoreError::io(format!("opening {}", path.display()), e))?;
    let reader = match ArchiveReader::open(file) {
        Ok(r) => Arc::new(r),
        // A cut or unsealed archive cannot be opened at random, but its TOC may be
        // readable from the front: then the error names the object of the frame.
        Err(e) => {
            let e = CoreError::Format(e);
            let toc = std::fs::File::open(path)
                .ok()
                .and_then(|f| StreamReader::new(std::io::BufReader::new(f)).ok());
            return Err(match toc {
                Some(sr) => name_damage(sr.toc(), e),
                None => e,
            });
        }
    };
    if verify {
        observer.event(&Event::Phase { name: "verify" });
        let r = reader.clone();
        tokio::task::spawn_blocking(move || verify_frames(&r))
            .await
            .map_err(|e| CoreError::Internal(e.to_string()))?
            .map_err(|e| name_damage(reader.toc(), e))?;
    }
    Ok(reader)
}

/// Check every frame's stored checksum (the index and TOC were checked on open).
fn verify_frames<R: pgdump_format::ReadAt>(reader: &ArchiveReader<R>) -> Result<()> {
    for e in reader.frame_entries() {
        let loc = pgdump_format::FrameLocation::from(e);
        reader.read_raw_frame(&loc)?;
    }
    Ok(())
}

/// The stream a damage error is about: from its fields, or from the "frame N of
/// stream M" its record is named by (truncated or inconsistent frames).
fn damaged_stream(e: &pgdump_format::FormatError) -> Option<pgdump_format::StreamId> {
    use pgdump_format::FormatError as F;
    match e {
        F::Checksum {
            stream: Some(s), ..
        } => Some(*s),
        F::Checksum { what, .. } | F::Corrupt { what, .. } | F::Truncated { what, .. } => {
            let rest = what.split("of stream ").nth(1)?;
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        }
        _ => None,
    }
}

/// The TOC entry whose data a damaged frame holds, if the error names a frame.
pub(super) fn damaged_entry<'a>(toc: &'a Toc, e: &CoreError) -> Option<&'a TocEntry> {
    let CoreError::Format(fe) = e else {
        return None;
    };
    damaged_stream(fe)
        .and_then(|s| toc.stream(s))
        .and_then(|d| toc.entry(d.entry))
}

/// A damage error naming the object whose data is damaged (when a frame is).
pub(super) fn name_damage(toc: &Toc, e: CoreError) -> CoreError {
    match damaged_entry(toc, &e) {
        Some(entry) => CoreError::Data {
            object: object_name(entry),
            detail: match e {
                CoreError::Format(fe) => fe.to_string(),
                other => other.to_string(),
            },
        },
        None => e,
    }
}

/// Kind and name of an entry, as reports show it.
pub(super) fn object_name(e: &TocEntry) -> String {
    format!("{} {}", e.kind, e.display_name())
}
