//! Loading archive frames into the target: COPY FROM STDIN for table data,
//! `lo_put` for large objects. Frames arrive decoded (checksums verified) from
//! a channel fed off the async threads.

use bytes::Bytes;
use futures::SinkExt;
use pgdump_format::{CopyFormat, DataKind, Frame, TableData};
use tokio::sync::mpsc;
use tokio_postgres::Client;

use crate::copy_data::{binary_header, BufPool, BINARY_TRAILER};
use crate::error::{CoreError, Result};

/// How a batch of frames is loaded.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadMode {
    /// TRUNCATE and COPY FREEZE in one transaction (only load of a table created by this run).
    pub freeze: bool,
}

/// What a load did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Rows (or large-object pieces) loaded.
    pub rows: u64,
    /// Raw bytes loaded.
    pub bytes: u64,
}

/// The COPY statement for a data entry.
pub fn copy_in_sql(data: &TableData, freeze: bool) -> String {
    let cols = if data.columns.is_empty() {
        String::new()
    } else {
        format!(" ({})", data.columns.join(", "))
    };
    let mut opts = Vec::new();
    if data.format == CopyFormat::Binary {
        opts.push("FORMAT binary");
    }
    if freeze {
        opts.push("FREEZE");
    }
    let with = if opts.is_empty() {
        String::new()
    } else {
        format!(" WITH ({})", opts.join(", "))
    };
    format!("COPY {}{cols} FROM STDIN{with}", data.target)
}

fn server_err(object: &str, e: tokio_postgres::Error) -> CoreError {
    CoreError::Restore {
        object: object.to_string(),
        source: e,
    }
}

/// A frame's payload handed to the COPY, its buffer back to the pool once sent.
struct Pooled {
    buf: Vec<u8>,
    pool: BufPool,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.put(std::mem::take(&mut self.buf));
    }
}

/// Load the frames coming from `frames` into `data.target` with one COPY; the frames'
/// buffers go back to `bufs`.
pub async fn load_copy(
    client: &Client,
    object: &str,
    data: &TableData,
    mode: LoadMode,
    mut frames: mpsc::Receiver<Result<Frame>>,
    bufs: &BufPool,
) -> Result<Loaded> {
    if mode.freeze {
        client
            .batch_execute(&format!("BEGIN; TRUNCATE ONLY {}", data.target))
            .await
            .map_err(|e| server_err(object, e))?;
    }
    let res = copy(client, object, data, mode, &mut frames, bufs).await;
    if mode.freeze {
        let end = if res.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let done = client.batch_execute(end).await;
        if res.is_ok() {
            done.map_err(|e| server_err(object, e))?;
        }
    }
    res
}

async fn copy(
    client: &Client,
    object: &str,
    data: &TableData,
    mode: LoadMode,
    frames: &mut mpsc::Receiver<Result<Frame>>,
    bufs: &BufPool,
) -> Result<Loaded> {
    let sql = copy_in_sql(data, mode.freeze);
    let sink = client
        .copy_in::<_, Bytes>(&sql)
        .await
        .map_err(|e| server_err(object, e))?;
    futures::pin_mut!(sink);
    let binary = data.format == CopyFormat::Binary;
    if binary {
        sink.send(Bytes::from(binary_header()))
            .await
            .map_err(|e| server_err(object, e))?;
    }
    let mut loaded = Loaded::default();
    while let Some(frame) = frames.recv().await {
        // A damaged frame aborts the COPY: dropping the sink sends CopyFail.
        let frame = frame?;
        loaded.rows += frame.meta.rows;
        loaded.bytes += frame.data.len() as u64;
        let payload = Pooled {
            buf: frame.data,
            pool: bufs.clone(),
        };
        sink.send(Bytes::from_owner(payload))
            .await
            .map_err(|e| server_err(object, e))?;
    }
    if binary {
        sink.send(Bytes::from_static(&BINARY_TRAILER))
            .await
            .map_err(|e| server_err(object, e))?;
    }
    let rows = sink.finish().await.map_err(|e| server_err(object, e))?;
    if rows != loaded.rows {
        return Err(CoreError::Data {
            object: object.to_string(),
            detail: format!(
                "the server loaded {rows} rows but the archive holds {}",
                loaded.rows
            ),
        });
    }
    Ok(loaded)
}

/// Write the large-object pieces of the frames coming from `frames`.
pub async fn load_large_objects(
    client: &Client,
    object: &str,
    mut frames: mpsc::Receiver<Result<Frame>>,
    bufs: &BufPool,
) -> Result<Loaded> {
    let stmt = client
        .prepare("SELECT pg_catalog.lo_put($1::pg_catalog.oid, $2::int8, $3::bytea)")
        .await
        .map_err(|e| server_err(object, e))?;
    let mut loaded = Loaded::default();
    while let Some(frame) = frames.recv().await {
        let frame = frame?;
        for rec in pgdump_format::lo::decode_records(&frame.data) {
            let rec = rec?;
            let offset = i64::try_from(rec.offset).map_err(|_| CoreError::Data {
                object: object.to_string(),
                detail: format!(
                    "large object {} offset {} out of range",
                    rec.oid, rec.offset
                ),
            })?;
            client
                .execute(&stmt, &[&rec.oid, &offset, &rec.data])
                .await
                .map_err(|e| server_err(&format!("large object {}", rec.oid), e))?;
            loaded.rows += 1;
            loaded.bytes += rec.data.len() as u64;
        }
        bufs.put(frame.data);
    }
    Ok(loaded)
}

/// Load frames of one data entry, whatever their kind.
pub async fn load(
    client: &Client,
    object: &str,
    data: &TableData,
    mode: LoadMode,
    frames: mpsc::Receiver<Result<Frame>>,
    bufs: &BufPool,
) -> Result<Loaded> {
    match data.kind {
        DataKind::Copy => load_copy(client, object, data, mode, frames, bufs).await,
        DataKind::LargeObjects => load_large_objects(client, object, frames, bufs).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_statements() {
        let mut d = TableData {
            target: "s.t".into(),
            columns: vec!["a".into(), "\"B\"".into()],
            ..TableData::default()
        };
        assert_eq!(copy_in_sql(&d, false), "COPY s.t (a, \"B\") FROM STDIN");
        d.format = CopyFormat::Binary;
        assert_eq!(
            copy_in_sql(&d, true),
            "COPY s.t (a, \"B\") FROM STDIN WITH (FORMAT binary, FREEZE)"
        );
        d.columns.clear();
        d.format = CopyFormat::Text;
        assert_eq!(copy_in_sql(&d, false), "COPY s.t FROM STDIN");
    }
}
