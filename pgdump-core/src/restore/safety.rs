//! `--safety-backup PATH`: before a destructive step, dump the target as it is now
//! and verify the archive (every checksum and the seal, read back from the file).
//! If either fails, the restore stops before touching anything.

use std::path::Path;

use pgdump_format::ArchiveReader;
use tokio_util::sync::CancellationToken;

use crate::conn::ConnConfig;
use crate::dump::Output;
use crate::error::{CoreError, Result};
use crate::options::DumpOptions;
use crate::progress::{quiet, Event, SharedObserver};

/// Dump `db` to `path` with `jobs` connections and verify the result.
pub(super) async fn backup(
    db: &ConnConfig,
    path: &Path,
    jobs: usize,
    observer: &SharedObserver,
    cancel: &CancellationToken,
) -> Result<()> {
    observer.event(&Event::Phase {
        name: "safety-backup",
    });
    let opts = DumpOptions {
        jobs: jobs.max(1),
        ..DumpOptions::default()
    };
    let what = |e: CoreError| {
        CoreError::Usage(format!(
            "the safety backup of {} to {} failed, so nothing was changed: {e}",
            db.dbname(),
            path.display()
        ))
    };
    crate::dump::dump(
        db,
        &opts,
        Output::File(path.to_path_buf()),
        quiet(),
        cancel.child_token(),
    )
    .await
    .map_err(|e| if e.is_cancelled() { e } else { what(e) })?;
    let p = path.to_path_buf();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let f = std::fs::File::open(&p)
            .map_err(|e| CoreError::io(format!("opening {}", p.display()), e))?;
        ArchiveReader::open(f)?.verify_all()?;
        Ok(())
    })
    .await
    .map_err(|e| CoreError::Internal(e.to_string()))?
    .map_err(what)
}
