//! COPY data, format-aware but I/O-free: splitting a COPY stream into rows,
//! cutting rows into frames, and the binary COPY header and trailer.
//!
//! Text COPY rows end with an unescaped newline (newlines inside values are
//! written as `\n`). Binary COPY tuples are a 16-bit field count followed by
//! (32-bit length, bytes) per field, length -1 for NULL; the stream starts with
//! a 19-byte header (plus extension area) and ends with a -1 field count.
//! Frames hold whole rows only, so any frame can be loaded on its own.

use pgdump_format::CopyFormat;
use xxhash_rust::xxh3::xxh3_64;

/// Signature at the start of a binary COPY stream.
pub const BINARY_SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// The binary COPY header we send before the tuples of a frame (no OIDs, no extension).
pub fn binary_header() -> Vec<u8> {
    let mut h = Vec::with_capacity(19);
    h.extend_from_slice(BINARY_SIGNATURE);
    h.extend_from_slice(&0u32.to_be_bytes());
    h.extend_from_slice(&0u32.to_be_bytes());
    h
}

/// The binary COPY trailer.
pub const BINARY_TRAILER: [u8; 2] = [0xff, 0xff];

/// Hash of one row, as summed into content hashes. The archive's per-stream
/// content hash is the wrapping sum of the hashes of its rows, so it does not
/// depend on row order and a restored table can be checked against it.
pub fn row_hash(row: &[u8]) -> u64 {
    xxh3_64(row)
}

/// Rows whose bytes are ready, with their count and summed hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk {
    /// Whole rows, in COPY format (no binary header/trailer).
    pub data: Vec<u8>,
    /// Number of rows.
    pub rows: u64,
    /// Wrapping sum of the rows' hashes.
    pub hash: u64,
}

/// What went wrong with a COPY stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CopyDataError {
    /// The binary stream does not start with the COPY signature.
    #[error("binary COPY data does not start with the PGCOPY signature")]
    BadSignature,
    /// The stream ended in the middle of a row.
    #[error("COPY data ends in the middle of a row ({0} bytes left over)")]
    Incomplete(usize),
    /// A binary tuple is malformed.
    #[error("malformed binary COPY tuple: {0}")]
    Malformed(String),
    /// Data after the binary trailer.
    #[error("data after the end of binary COPY data")]
    AfterTrailer,
}

/// Frame buffers handed back once encoded, for chunkers to fill again: a dump then
/// allocates a few frames' worth of buffers instead of a fresh one per frame (each a
/// new mapping that the kernel zeroes and faults in page by page, then unmaps).
#[derive(Debug, Clone)]
pub struct BufPool {
    bufs: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    max: usize,
}

impl BufPool {
    /// A pool keeping at most `max` buffers.
    pub fn new(max: usize) -> Self {
        BufPool {
            bufs: Default::default(),
            max,
        }
    }

    /// An empty buffer: a pooled one, or a new one of `capacity`.
    pub fn get(&self, capacity: usize) -> Vec<u8> {
        let pooled = self.bufs.lock().ok().and_then(|mut b| b.pop());
        pooled.unwrap_or_else(|| Vec::with_capacity(capacity))
    }

    /// Hands `buf` back (dropped when the pool is full).
    pub fn put(&self, mut buf: Vec<u8>) {
        buf.clear();
        if let Ok(mut b) = self.bufs.lock() {
            if b.len() < self.max {
                b.push(buf);
            }
        }
    }
}

/// Splits a COPY stream (as received, in any pieces) into whole rows: a binary
/// stream's header and trailer are skipped, only a row cut between pieces is kept.
#[derive(Debug)]
struct Rows {
    format: CopyFormat,
    pending: Vec<u8>,
    header_done: bool,
    done: bool,
}

impl Rows {
    fn new(format: CopyFormat, header: bool) -> Self {
        Rows {
            format,
            pending: Vec::new(),
            header_done: !(header && format == CopyFormat::Binary),
            done: false,
        }
    }

    /// Feed the next piece; `on_row` gets every row it completes.
    fn push(&mut self, piece: &[u8], on_row: &mut impl FnMut(&[u8])) -> Result<(), CopyDataError> {
        if self.pending.is_empty() {
            let used = self.consume(piece, on_row)?;
            if let Some(rest) = piece.get(used..) {
                self.pending.extend_from_slice(rest);
            }
        } else {
            let mut buf = std::mem::take(&mut self.pending);
            buf.extend_from_slice(piece);
            let used = self.consume(&buf, on_row)?;
            buf.drain(..used);
            self.pending = buf;
        }
        Ok(())
    }

    /// End of stream: nothing may be left over.
    fn finish(&self) -> Result<(), CopyDataError> {
        if !self.pending.is_empty() {
            return Err(CopyDataError::Incomplete(self.pending.len()));
        }
        if !self.header_done {
            // An empty binary stream still has a header; none at all is malformed.
            return Err(CopyDataError::Incomplete(0));
        }
        Ok(())
    }

    /// Hand every whole row of `buf` to `on_row`; returns bytes used.
    fn consume(
        &mut self,
        buf: &[u8],
        on_row: &mut impl FnMut(&[u8]),
    ) -> Result<usize, CopyDataError> {
        let mut pos = 0usize;
        if !self.header_done {
            match binary_header_len(buf)? {
                Some(n) => pos = n,
                None => return Ok(0),
            }
            self.header_done = true;
        }
        loop {
            let rest = buf.get(pos..).unwrap_or(&[]);
            if rest.is_empty() {
                return Ok(pos);
            }
            if self.done {
                return Err(CopyDataError::AfterTrailer);
            }
            let row_len = match self.format {
                CopyFormat::Text => match rest.iter().position(|&b| b == b'\n') {
                    Some(i) => i + 1,
                    None => return Ok(pos),
                },
                CopyFormat::Binary => match binary_tuple_len(rest)? {
                    TupleLen::Need => return Ok(pos),
                    TupleLen::Trailer => {
                        self.done = true;
                        pos += 2;
                        continue;
                    }
                    TupleLen::Tuple(n) => n,
                },
            };
            on_row(rest.get(..row_len).unwrap_or(&[]));
            pos += row_len;
        }
    }
}

/// Cuts a COPY stream (as received, in any pieces) into frames of whole rows.
#[derive(Debug)]
pub struct Chunker {
    rows: Rows,
    frame_size: usize,
    pool: Option<BufPool>,
    cur: Chunk,
}

impl Chunker {
    /// A chunker for COPY output (binary output starts with a header).
    pub fn new(format: CopyFormat, frame_size: usize) -> Self {
        Self::with_header(format, frame_size, true)
    }

    /// A chunker for rows without a binary header (archive frames, text).
    pub fn rows_only(format: CopyFormat, frame_size: usize) -> Self {
        Self::with_header(format, frame_size, false)
    }

    fn with_header(format: CopyFormat, frame_size: usize, header: bool) -> Self {
        Chunker {
            rows: Rows::new(format, header),
            frame_size: frame_size.max(1),
            pool: None,
            cur: Chunk {
                data: Vec::with_capacity(frame_size.min(64 << 20)),
                ..Chunk::default()
            },
        }
    }

    /// Takes the buffers of its frames from `pool`.
    pub fn with_pool(mut self, pool: BufPool) -> Self {
        self.cur.data = pool.get(self.frame_size.min(64 << 20));
        self.pool = Some(pool);
        self
    }

    /// Feed the next piece of the stream; full frames are appended to `out`.
    pub fn push(&mut self, piece: &[u8], out: &mut Vec<Chunk>) -> Result<(), CopyDataError> {
        let Chunker {
            rows,
            frame_size,
            pool,
            cur,
        } = self;
        rows.push(piece, &mut |row| {
            cur.data.extend_from_slice(row);
            cur.rows += 1;
            cur.hash = cur.hash.wrapping_add(row_hash(row));
            if cur.data.len() >= *frame_size {
                let cap = (*frame_size).min(64 << 20);
                let data = match pool {
                    Some(p) => p.get(cap),
                    None => Vec::with_capacity(cap),
                };
                out.push(std::mem::replace(
                    cur,
                    Chunk {
                        data,
                        ..Chunk::default()
                    },
                ));
            }
        })
    }

    /// End of stream: the last, partial frame (if it holds any row).
    pub fn finish(mut self) -> Result<Option<Chunk>, CopyDataError> {
        self.rows.finish()?;
        Ok(if self.cur.rows > 0 || !self.cur.data.is_empty() {
            Some(std::mem::take(&mut self.cur))
        } else {
            None
        })
    }
}

/// Length of the binary COPY header at the start of `buf` (signature, flags,
/// extension length, extension), or `None` while it is incomplete.
fn binary_header_len(buf: &[u8]) -> Result<Option<usize>, CopyDataError> {
    if buf.len() < 19 {
        return Ok(None);
    }
    if buf.get(..11) != Some(&BINARY_SIGNATURE[..]) {
        return Err(CopyDataError::BadSignature);
    }
    let ext = be_u32(buf, 15).unwrap_or(0) as usize;
    match 19usize.checked_add(ext) {
        Some(n) if buf.len() >= n => Ok(Some(n)),
        _ => Ok(None),
    }
}

/// Counts and hashes the rows of a COPY stream (as received, in any pieces)
/// exactly as [`Chunker`] does, without keeping them: a binary stream's header
/// and trailer are skipped, only a row cut between pieces is buffered.
#[derive(Debug)]
pub struct RowHasher {
    rows: Rows,
    count: u64,
    hash: u64,
    bytes: u64,
}

impl RowHasher {
    /// A hasher for COPY output (a binary stream starts with its header).
    pub fn new(format: CopyFormat) -> Self {
        RowHasher {
            rows: Rows::new(format, true),
            count: 0,
            hash: 0,
            bytes: 0,
        }
    }

    /// Feed the next piece of the stream.
    pub fn push(&mut self, piece: &[u8]) -> Result<(), CopyDataError> {
        let RowHasher {
            rows,
            count,
            hash,
            bytes,
        } = self;
        rows.push(piece, &mut |row| {
            *count += 1;
            *hash = hash.wrapping_add(row_hash(row));
            *bytes += row.len() as u64;
        })
    }

    /// End of stream: the number of rows, the wrapping sum of their hashes and
    /// their bytes (headers and trailer excluded).
    pub fn finish(self) -> Result<(u64, u64, u64), CopyDataError> {
        self.rows.finish()?;
        Ok((self.count, self.hash, self.bytes))
    }
}

enum TupleLen {
    Need,
    Trailer,
    Tuple(usize),
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(s))
}

fn binary_tuple_len(b: &[u8]) -> Result<TupleLen, CopyDataError> {
    let Some(cnt) = b.get(..2) else {
        return Ok(TupleLen::Need);
    };
    let fields = i16::from_be_bytes([cnt[0], cnt[1]]);
    if fields == -1 {
        return Ok(TupleLen::Trailer);
    }
    if fields < 0 {
        return Err(CopyDataError::Malformed(format!("field count {fields}")));
    }
    let mut pos = 2usize;
    for _ in 0..fields {
        let Some(len) = be_u32(b, pos) else {
            return Ok(TupleLen::Need);
        };
        pos += 4;
        let len = len as i32;
        if len == -1 {
            continue;
        }
        if len < 0 {
            return Err(CopyDataError::Malformed(format!("field length {len}")));
        }
        pos = pos
            .checked_add(len as usize)
            .ok_or_else(|| CopyDataError::Malformed("field length overflow".into()))?;
        if pos > b.len() {
            return Ok(TupleLen::Need);
        }
    }
    Ok(TupleLen::Tuple(pos))
}

/// Split frame data into rows (for re-hashing a restored table or a frame).
pub fn for_each_row(
    format: CopyFormat,
    data: &[u8],
    mut f: impl FnMut(&[u8]),
) -> Result<(), CopyDataError> {
    let mut pos = 0usize;
    while pos < data.len() {
        let rest = data.get(pos..).unwrap_or(&[]);
        let n = match format {
            CopyFormat::Text => match rest.iter().position(|&b| b == b'\n') {
                Some(i) => i + 1,
                None => return Err(CopyDataError::Incomplete(rest.len())),
            },
            CopyFormat::Binary => match binary_tuple_len(rest)? {
                TupleLen::Tuple(n) => n,
                TupleLen::Need => return Err(CopyDataError::Incomplete(rest.len())),
                TupleLen::Trailer => return Err(CopyDataError::AfterTrailer),
            },
        };
        f(rest.get(..n).unwrap_or(&[]));
        pos += n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_hands_back_its_buffers_and_changes_no_frame() {
        let rows: Vec<u8> = (0..2000)
            .flat_map(|i| format!("{i}\trow {i}\n").into_bytes())
            .collect();
        let plain = run(CopyFormat::Text, 1000, &[&rows]).unwrap();
        let pool = BufPool::new(2);
        let mut c = Chunker::new(CopyFormat::Text, 1000).with_pool(pool.clone());
        let mut out = Vec::new();
        for piece in rows.chunks(777) {
            c.push(piece, &mut out).unwrap();
            // the encoder's side: frames done with go back
            for chunk in std::mem::take(&mut out) {
                pool.put(chunk.data.clone());
                out.push(chunk);
            }
        }
        let pooled: Vec<Chunk> = out.into_iter().chain(c.finish().unwrap()).collect();
        assert_eq!(pooled, plain);
        // at most `max` buffers kept, each handed out empty
        assert_eq!(pool.bufs.lock().unwrap().len(), 2);
        let b = pool.get(10);
        assert!(b.is_empty() && b.capacity() >= 1000);
    }

    fn run(
        format: CopyFormat,
        frame: usize,
        pieces: &[&[u8]],
    ) -> Result<Vec<Chunk>, CopyDataError> {
        let mut c = Chunker::new(format, frame);
        let mut out = Vec::new();
        for p in pieces {
            c.push(p, &mut out)?;
        }
        out.extend(c.finish()?);
        Ok(out)
    }

    #[test]
    fn text_rows_in_frames() {
        let out = run(CopyFormat::Text, 8, &[b"a\tb\n", b"c\td\n", b"e\n"]).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].data, b"a\tb\nc\td\n");
        assert_eq!(out[0].rows, 2);
        assert_eq!(out[1].data, b"e\n");
        assert_eq!(
            out[0].hash,
            row_hash(b"a\tb\n").wrapping_add(row_hash(b"c\td\n"))
        );
    }

    #[test]
    fn text_rows_split_across_pieces() {
        let out = run(CopyFormat::Text, 1 << 20, &[b"ab", b"c\nde", b"f\n"]).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data, b"abc\ndef\n");
        assert_eq!(out[0].rows, 2);
        assert!(matches!(
            run(CopyFormat::Text, 10, &[b"abc"]),
            Err(CopyDataError::Incomplete(3))
        ));
    }

    fn tuple(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut v = (fields.len() as i16).to_be_bytes().to_vec();
        for f in fields {
            match f {
                None => v.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(b) => {
                    v.extend_from_slice(&(b.len() as i32).to_be_bytes());
                    v.extend_from_slice(b);
                }
            }
        }
        v
    }

    #[test]
    fn binary_header_tuples_trailer() {
        let t1 = tuple(&[Some(b"\0\0\0\x01"), None]);
        let t2 = tuple(&[Some(b"xyz"), Some(b"")]);
        let mut stream = binary_header();
        stream.extend_from_slice(&t1);
        stream.extend_from_slice(&t2);
        stream.extend_from_slice(&BINARY_TRAILER);
        // every split point
        for cut in 0..stream.len() {
            let out = run(
                CopyFormat::Binary,
                1 << 20,
                &[&stream[..cut], &stream[cut..]],
            )
            .unwrap();
            assert_eq!(out.len(), 1, "cut {cut}");
            assert_eq!(out[0].rows, 2);
            assert_eq!(out[0].data, [t1.clone(), t2.clone()].concat());
        }
        let mut rows = Vec::new();
        for_each_row(CopyFormat::Binary, &out_data(&t1, &t2), |r| {
            rows.push(r.to_vec())
        })
        .unwrap();
        assert_eq!(rows, vec![t1, t2]);
    }

    fn out_data(a: &[u8], b: &[u8]) -> Vec<u8> {
        [a, b].concat()
    }

    #[test]
    fn binary_errors() {
        assert_eq!(
            run(
                CopyFormat::Binary,
                10,
                &[b"NOTCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0"]
            ),
            Err(CopyDataError::BadSignature)
        );
        let mut s = binary_header();
        s.extend_from_slice(&BINARY_TRAILER);
        s.push(0);
        assert_eq!(
            run(CopyFormat::Binary, 10, &[&s]),
            Err(CopyDataError::AfterTrailer)
        );
        let mut empty = binary_header();
        empty.extend_from_slice(&BINARY_TRAILER);
        assert_eq!(run(CopyFormat::Binary, 10, &[&empty]).unwrap(), vec![]);
    }

    #[test]
    fn a_row_bigger_than_the_frame_size_closes_its_frame() {
        let big = [vec![b'x'; 100], vec![b'\n']].concat();
        let out = run(CopyFormat::Text, 10, &[b"a\n", &big, b"b\n"]).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].data, [b"a\n".to_vec(), big.clone()].concat());
        assert_eq!(out[1].data, b"b\n");
    }

    /// The hasher counts and sums what the chunker frames, however the stream is cut.
    #[test]
    fn row_hasher_agrees_with_the_chunker() {
        let t1 = tuple(&[Some(b"\0\0\0\x01"), None]);
        let t2 = tuple(&[Some(b"xyz"), Some(b"")]);
        let mut bin = binary_header();
        for _ in 0..3 {
            bin.extend_from_slice(&t1);
            bin.extend_from_slice(&t2);
        }
        bin.extend_from_slice(&BINARY_TRAILER);
        let text = b"a\tb\n\\N\t\\x00ff\n\nlast\n".to_vec();
        for (format, stream) in [(CopyFormat::Binary, &bin), (CopyFormat::Text, &text)] {
            let chunks = run(format, 7, &[stream]).unwrap();
            let rows: u64 = chunks.iter().map(|c| c.rows).sum();
            let hash = chunks.iter().fold(0u64, |h, c| h.wrapping_add(c.hash));
            let bytes: u64 = chunks.iter().map(|c| c.data.len() as u64).sum();
            for cut in 0..stream.len() {
                for cut2 in [cut, (cut + 5).min(stream.len())] {
                    let mut h = RowHasher::new(format);
                    h.push(&stream[..cut]).unwrap();
                    h.push(&stream[cut..cut2]).unwrap();
                    h.push(&stream[cut2..]).unwrap();
                    assert_eq!(
                        h.finish().unwrap(),
                        (rows, hash, bytes),
                        "{format:?} cut {cut}"
                    );
                }
            }
        }
        // incomplete rows, a missing header and bytes after the trailer are errors
        let mut h = RowHasher::new(CopyFormat::Text);
        h.push(b"a\nb").unwrap();
        assert_eq!(h.finish(), Err(CopyDataError::Incomplete(1)));
        let h = RowHasher::new(CopyFormat::Binary);
        assert_eq!(h.finish(), Err(CopyDataError::Incomplete(0)));
        let mut h = RowHasher::new(CopyFormat::Binary);
        let mut after = bin.clone();
        after.push(0);
        assert_eq!(h.push(&after), Err(CopyDataError::AfterTrailer));
        let mut h = RowHasher::new(CopyFormat::Binary);
        assert_eq!(
            h.push(b"NOTCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0"),
            Err(CopyDataError::BadSignature)
        );
    }

    #[test]
    fn zero_column_rows() {
        // A table without columns: text rows are empty lines, binary tuples have 0 fields.
        let out = run(CopyFormat::Text, 100, &[b"\n", b"\n"]).unwrap();
        assert_eq!(out[0].rows, 2);
        let mut s = binary_header();
        s.extend_from_slice(&tuple(&[]));
        s.extend_from_slice(&BINARY_TRAILER);
        assert_eq!(run(CopyFormat::Binary, 100, &[&s]).unwrap()[0].rows, 1);
    }
}
