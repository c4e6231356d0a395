//! [`ArchiveReader`]: random access through footer → index → TOC, then any frame on demand.
//!
//! All methods take `&self` and the reader is `Sync`, so many threads can read and
//! decode frames of one archive at once. Nothing read from the archive is trusted before
//! its checksum passed, and no allocation is sized from a length that was not first
//! checked against the file size (or the format's hard limits).

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;

use crate::checksum::crc32c;
use crate::codec::CodecKind;
use crate::error::{frame_name, FormatError};
use crate::format::footer::{Footer, FOOTER_LEN};
use crate::format::frame::{FrameHeader, FRAME_HEADER_LEN};
use crate::format::header::{sniff, HeaderInfo};
use crate::format::index::{FrameEntry, Index, IndexHeader, INDEX_HEADER_LEN};
use crate::format::toc_record::{TocHeader, TOC_HEADER_LEN};
use crate::format::{record_kind, show_tag, Decoded, RecordKind, MAX_FRAME_RAW};
use crate::frame::{Frame, FrameDecoder, RawFrame};
use crate::stats::{StreamStats, VerifyReport};
use crate::toc::{StreamId, Toc};
use crate::transform::Transform;

/// Positional reads, so one reader can serve many threads (files, in-memory buffers,
/// later object storage).
pub trait ReadAt: Send + Sync {
    /// Fills `buf` from `offset`; fails with `UnexpectedEof` past the end.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Total size in bytes.
    fn size(&self) -> io::Result<u64>;
}

fn eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "read past the end of the buffer",
    )
}

impl ReadAt for [u8] {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| eof())?;
        let end = start.checked_add(buf.len()).ok_or_else(eof)?;
        buf.copy_from_slice(self.get(start..end).ok_or_else(eof)?);
        Ok(())
    }
    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
}

impl ReadAt for Vec<u8> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.as_slice().read_exact_at(buf, offset)
    }
    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
}

impl ReadAt for File {
    #[cfg(unix)]
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }
    #[cfg(windows)]
    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        use std::os::windows::fs::FileExt;
        while !buf.is_empty() {
            match self.seek_read(buf, offset) {
                Ok(0) => return Err(eof()),
                Ok(n) => {
                    buf = buf.get_mut(n..).ok_or_else(eof)?;
                    offset = offset.checked_add(n as u64).ok_or_else(eof)?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        (**self).read_exact_at(buf, offset)
    }
    fn size(&self) -> io::Result<u64> {
        (**self).size()
    }
}

impl<T: ReadAt + ?Sized> ReadAt for Box<T> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        (**self).read_exact_at(buf, offset)
    }
    fn size(&self) -> io::Result<u64> {
        (**self).size()
    }
}

impl<T: ReadAt + ?Sized> ReadAt for Arc<T> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        (**self).read_exact_at(buf, offset)
    }
    fn size(&self) -> io::Result<u64> {
        (**self).size()
    }
}

/// Where a frame is, from the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLocation {
    /// Stream of the frame.
    pub stream: StreamId,
    /// Sequence number in the stream.
    pub seq: u32,
    /// Byte offset of the frame record.
    pub offset: u64,
    /// Raw payload length.
    pub raw_len: u32,
    /// Stored payload length.
    pub stored_len: u32,
    /// Rows in the frame.
    pub rows: u64,
}

impl From<&FrameEntry> for FrameLocation {
    fn from(e: &FrameEntry) -> Self {
        FrameLocation {
            stream: e.stream,
            seq: e.seq,
            offset: e.offset,
            raw_len: e.raw_len,
            stored_len: e.stored_len,
            rows: e.rows,
        }
    }
}

/// What `open_sealed` found, before it is put together with the source.
struct Parts {
    toc: Toc,
    toc_end: u64,
    index_offset: u64,
    index: Index,
    by_stream: Vec<Vec<FrameLocation>>,
}

fn e_is_footer(e: &FormatError) -> bool {
    matches!(e, FormatError::Checksum { what, .. } | FormatError::Corrupt { what, .. } if what == "footer")
}

/// Random access reader: footer → index → TOC; any frame on demand. `&self` methods, `Sync`.
pub struct ArchiveReader<R: ReadAt> {
    r: R,
    size: u64,
    header: HeaderInfo,
    toc: Toc,
    toc_end: u64,
    index_offset: u64,
    streams: Vec<StreamStats>,
    by_stream: Vec<Vec<FrameLocation>>,
    entries: Vec<FrameEntry>,
}

impl<R: ReadAt> std::fmt::Debug for ArchiveReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveReader")
            .field("size", &self.size)
            .field("header", &self.header)
            .field("streams", &self.streams.len())
            .field("frames", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl<R: ReadAt> ArchiveReader<R> {
    /// Opens an archive: checks header, footer, index and TOC (checksums, limits, cross
    /// references between index, TOC and frame layout). Frames are checked when read.
    pub fn open(r: R) -> Result<Self, FormatError> {
        let size = r.size()?;
        let header = read_header(&r, size)?;
        header.check_supported()?;
        let toc_offset = u64::from(header.header_len);
        let min_sealed = toc_offset
            .checked_add((TOC_HEADER_LEN + INDEX_HEADER_LEN + FOOTER_LEN) as u64)
            .ok_or_else(|| FormatError::overflow("header", 0))?;
        if size >= min_sealed {
            let footer_offset = size - FOOTER_LEN as u64;
            let tail = read_vec(&r, footer_offset, FOOTER_LEN as u64, "footer")?;
            if Footer::has_end_magic(&tail) {
                return match Self::open_sealed(&r, size, &header, &tail) {
                    Ok(parts) => Ok(Self::assemble(r, size, header, parts)),
                    // The end magic may be a coincidence: the last frame of an unsealed archive
                    // can end with those bytes. If walking the records says so, report that.
                    Err(e @ (FormatError::Checksum { .. } | FormatError::Corrupt { .. }))
                        if e_is_footer(&e) =>
                    {
                        match scan_unsealed(&r, size, &header) {
                            scan @ (FormatError::Unsealed | FormatError::Truncated { .. }) => {
                                Err(scan)
                            }
                            _ => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                };
            }
        }
        Err(scan_unsealed(&r, size, &header))
    }

    fn open_sealed(
        r: &R,
        size: u64,
        header: &HeaderInfo,
        tail: &[u8],
    ) -> Result<Parts, FormatError> {
        let footer_offset = size - FOOTER_LEN as u64;
        let footer = match Footer::decode(tail, footer_offset)? {
            Decoded::Complete(f) => f,
            Decoded::Incomplete(_) => return Err(FormatError::truncated("footer", footer_offset)),
        };
        let toc_offset = u64::from(header.header_len);
        let index_offset = footer.index_offset;
        let fits = index_offset
            .checked_add(footer.index_len)
            .is_some_and(|end| end == footer_offset)
            && footer.index_len >= INDEX_HEADER_LEN as u64
            && index_offset >= toc_offset.saturating_add(TOC_HEADER_LEN as u64);
        if !fits {
            return Err(FormatError::corrupt(
                "footer",
                footer_offset,
                format!(
                    "index at byte {index_offset} of length {} does not fit an archive of {size} bytes",
                    footer.index_len
                ),
            ));
        }
        let index_bytes = read_vec(r, index_offset, footer.index_len, "index")?;
        if crc32c(&index_bytes) != footer.index_crc {
            return Err(FormatError::checksum("index", index_offset));
        }
        let ih = match IndexHeader::decode(&index_bytes, index_offset)? {
            Decoded::Complete(h) => h,
            Decoded::Incomplete(_) => {
                return Err(FormatError::truncated("index header", index_offset))
            }
        };
        if ih.record_len() != Some(footer.index_len) {
            return Err(FormatError::corrupt(
                "index",
                index_offset,
                "index length in the footer disagrees with the index header",
            ));
        }
        let body = index_bytes.get(INDEX_HEADER_LEN..).unwrap_or_default();
        let index = ih.decode_body(body, index_offset)?;
        drop(index_bytes);

        let (toc, toc_end) = read_toc(r, toc_offset, index_offset)?;
        let by_stream = check_index(&index, &toc, toc_end, index_offset)?;
        Ok(Parts {
            toc,
            toc_end,
            index_offset,
            index,
            by_stream,
        })
    }

    fn assemble(r: R, size: u64, header: HeaderInfo, p: Parts) -> Self {
        ArchiveReader {
            r,
            size,
            header,
            toc: p.toc,
            toc_end: p.toc_end,
            index_offset: p.index_offset,
            streams: p.index.streams,
            by_stream: p.by_stream,
            entries: p.index.frames,
        }
    }

    /// The table of contents.
    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    /// The file header (format version, feature bits, writer).
    pub fn header(&self) -> &HeaderInfo {
        &self.header
    }

    /// Per-stream statistics from the index, in stream id order.
    pub fn streams(&self) -> &[StreamStats] {
        &self.streams
    }

    /// The frames of a stream, in seq order (empty for an unknown stream).
    pub fn frames(&self, stream: StreamId) -> &[FrameLocation] {
        usize::try_from(stream)
            .ok()
            .and_then(|i| self.by_stream.get(i))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Every frame of the archive, in file order, as the index records it.
    pub fn frame_entries(&self) -> &[FrameEntry] {
        &self.entries
    }

    /// Size of the archive in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Offset where the first frame starts (end of the TOC record).
    pub fn data_offset(&self) -> u64 {
        self.toc_end
    }

    /// Offset of the index record.
    pub fn index_offset(&self) -> u64 {
        self.index_offset
    }

    /// The underlying source.
    pub fn into_inner(self) -> R {
        self.r
    }

    /// Reads a frame and verifies its header and stored checksum (not decompressed).
    /// `loc` must come from this reader's index.
    pub fn read_raw_frame(&self, loc: &FrameLocation) -> Result<RawFrame, FormatError> {
        let entry = usize::try_from(loc.seq)
            .ok()
            .and_then(|i| self.frames(loc.stream).get(i))
            .filter(|e| *e == loc)
            .ok_or_else(|| {
                FormatError::Usage(format!(
                    "{} at byte {} is not a frame of this archive",
                    frame_name(loc.stream, loc.seq),
                    loc.offset
                ))
            })?;
        let name = || frame_name(entry.stream, entry.seq);
        let mut hb = [0u8; FRAME_HEADER_LEN];
        read_into(&self.r, &mut hb, entry.offset, &name())?;
        let h = match FrameHeader::decode(&hb, entry.offset) {
            Ok(Decoded::Complete(h)) => h,
            Ok(Decoded::Incomplete(_)) => return Err(FormatError::truncated(name(), entry.offset)),
            // The index (verified) tells which frame this is.
            Err(FormatError::Checksum { .. }) => {
                return Err(FormatError::frame_checksum(
                    "header",
                    entry.stream,
                    entry.seq,
                    entry.offset,
                ));
            }
            Err(e) => return Err(e),
        };
        h.check_features(self.header.required_features, entry.offset)?;
        let hash = self.entry_hash(entry);
        if h.stream != entry.stream
            || h.seq != entry.seq
            || h.raw_len != entry.raw_len
            || h.stored_len != entry.stored_len
            || h.rows != entry.rows
            || Some(h.content_hash) != hash
        {
            return Err(FormatError::corrupt(
                name(),
                entry.offset,
                format!(
                    "frame header ({}) disagrees with the index",
                    frame_name(h.stream, h.seq)
                ),
            ));
        }
        let payload_offset = entry
            .offset
            .checked_add(FRAME_HEADER_LEN as u64)
            .ok_or_else(|| FormatError::overflow(name(), entry.offset))?;
        let mut stored = vec![0u8; h.stored_len as usize];
        read_into(&self.r, &mut stored, payload_offset, &name())?;
        if crc32c(&stored) != h.stored_crc {
            return Err(FormatError::frame_checksum(
                "stored payload",
                h.stream,
                h.seq,
                entry.offset,
            ));
        }
        Ok(RawFrame {
            header: h,
            offset: entry.offset,
            stored,
        })
    }

    /// Reads, verifies and decompresses a frame.
    pub fn read_frame(&self, loc: &FrameLocation) -> Result<Frame, FormatError> {
        self.read_raw_frame(loc)?.decode()
    }

    /// The decoded frames of a stream, in order.
    pub fn stream_data(
        &self,
        stream: StreamId,
    ) -> impl Iterator<Item = Result<Frame, FormatError>> + '_ {
        self.frames(stream)
            .iter()
            .map(move |loc| self.read_frame(loc))
    }

    /// Reads every frame in file order, verifies both checksums of each, and checks the
    /// recomputed statistics against the index.
    pub fn verify_all(&self) -> Result<VerifyReport, FormatError> {
        let mut dec = FrameDecoder::new();
        let mut buf = Vec::new();
        let mut stats: Vec<StreamStats> = self
            .streams
            .iter()
            .map(|s| StreamStats::new(s.stream))
            .collect();
        for e in &self.entries {
            let raw = self.read_raw_frame(&FrameLocation::from(e))?;
            let raw_len = if raw.codec() == CodecKind::None && raw.transform() == Transform::None {
                raw.stored().len()
            } else {
                dec.decode_into(&raw, &mut buf)?;
                buf.len()
            };
            let raw_len =
                u32::try_from(raw_len).map_err(|_| FormatError::overflow("frame", e.offset))?;
            let meta = raw.meta();
            usize::try_from(e.stream)
                .ok()
                .and_then(|i| stats.get_mut(i))
                .and_then(|s| s.add(raw_len, e.stored_len, meta.rows, meta.content_hash))
                .ok_or_else(|| FormatError::overflow("index", self.index_offset))?;
        }
        if stats != self.streams {
            return Err(FormatError::corrupt(
                "index",
                self.index_offset,
                "statistics recomputed from the frames disagree with the index",
            ));
        }
        let mut report = VerifyReport {
            entries: self.toc.entries.len(),
            streams: self.streams.len(),
            ..Default::default()
        };
        for s in &stats {
            report.frames = report.frames.saturating_add(s.frames);
            report.rows = report.rows.saturating_add(s.rows);
            report.raw_bytes = report.raw_bytes.saturating_add(s.raw_bytes);
            report.stored_bytes = report.stored_bytes.saturating_add(s.stored_bytes);
        }
        Ok(report)
    }

    fn entry_hash(&self, loc: &FrameLocation) -> Option<u64> {
        // Entries are in file order, hence sorted by offset.
        let i = self
            .entries
            .binary_search_by_key(&loc.offset, |e| e.offset)
            .ok()?;
        self.entries.get(i).map(|e| e.content_hash)
    }
}

/// Reads and decodes the header at offset 0.
fn read_header<R: ReadAt + ?Sized>(r: &R, size: u64) -> Result<HeaderInfo, FormatError> {
    if size == 0 {
        return Err(FormatError::NotAnArchive { detail: sniff(&[]) });
    }
    let mut want = size.min(512);
    loop {
        let buf = read_vec(r, 0, want, "header")?;
        match HeaderInfo::decode(&buf)? {
            Decoded::Complete(h) => return Ok(h),
            Decoded::Incomplete(n) if (n as u64) <= size && (n as u64) > want => want = n as u64,
            Decoded::Incomplete(_) => return Err(FormatError::truncated("header", 0)),
        }
    }
}

/// Reads and decodes the TOC record at `offset`, which must end at or before `limit`.
/// Returns the TOC and the offset just past the record.
fn read_toc<R: ReadAt + ?Sized>(r: &R, offset: u64, limit: u64) -> Result<(Toc, u64), FormatError> {
    let hb = read_vec(r, offset, TOC_HEADER_LEN as u64, "TOC record header")?;
    let h = match TocHeader::decode(&hb, offset)? {
        Decoded::Complete(h) => h,
        Decoded::Incomplete(_) => return Err(FormatError::truncated("TOC record header", offset)),
    };
    let end = offset
        .checked_add(TOC_HEADER_LEN as u64)
        .and_then(|p| p.checked_add(h.stored_len))
        .filter(|&e| e <= limit)
        .ok_or_else(|| {
            FormatError::corrupt(
                "TOC record",
                offset,
                format!(
                    "{} stored bytes extend past the index at byte {limit}",
                    h.stored_len
                ),
            )
        })?;
    let stored = read_vec(
        r,
        offset.saturating_add(TOC_HEADER_LEN as u64),
        h.stored_len,
        "TOC record",
    )?;
    let toc = decode_toc(&h, &stored, offset)?;
    Ok((toc, end))
}

/// Verifies, decompresses (bounded by the declared raw length, allocating only as output
/// really appears), parses and validates a stored TOC.
pub(crate) fn decode_toc(h: &TocHeader, stored: &[u8], offset: u64) -> Result<Toc, FormatError> {
    if crc32c(stored) != h.stored_crc {
        return Err(FormatError::checksum("TOC", offset));
    }
    let json: std::borrow::Cow<'_, [u8]> = match h.codec {
        CodecKind::None => stored.into(),
        codec => {
            let limit = h.raw_len.saturating_add(1);
            let mut out = Vec::with_capacity(usize::try_from(h.raw_len.min(16 << 20)).unwrap_or(0));
            let res = match codec {
                CodecKind::Zstd => zstd::stream::read::Decoder::with_buffer(stored)
                    .and_then(|d| d.take(limit).read_to_end(&mut out)),
                _ => flate2::bufread::GzDecoder::new(stored)
                    .take(limit)
                    .read_to_end(&mut out),
            };
            res.map_err(|e| {
                FormatError::corrupt("TOC", offset, format!("cannot decompress ({codec}): {e}"))
            })?;
            if out.len() as u64 != h.raw_len {
                return Err(FormatError::corrupt(
                    "TOC",
                    offset,
                    format!(
                        "decompressed to {} bytes, declared {}",
                        out.len(),
                        h.raw_len
                    ),
                ));
            }
            out.into()
        }
    };
    if crc32c(&json) != h.raw_crc {
        return Err(FormatError::checksum("TOC (decompressed JSON)", offset));
    }
    let toc = Toc::from_json(&json)?;
    toc.validate()?;
    Ok(toc)
}

/// Cross-checks the index against the TOC and the file layout: one entry per declared
/// stream; frames contiguous from the end of the TOC to the index; seqs 0, 1, 2, ... per
/// stream; limits; per-stream sums equal to the stream entries.
fn check_index(
    index: &Index,
    toc: &Toc,
    toc_end: u64,
    index_offset: u64,
) -> Result<Vec<Vec<FrameLocation>>, FormatError> {
    let bad = |d: String| FormatError::corrupt("index", index_offset, d);
    if index.streams.len() != toc.streams.len() {
        return Err(bad(format!(
            "index has {} streams, the TOC declares {}",
            index.streams.len(),
            toc.streams.len()
        )));
    }
    let mut sums = Vec::with_capacity(index.streams.len());
    for (i, s) in index.streams.iter().enumerate() {
        if usize::try_from(s.stream).ok() != Some(i) {
            return Err(bad(format!("stream entry {i} is for stream {}", s.stream)));
        }
        sums.push(StreamStats::new(s.stream));
    }
    let mut by_stream: Vec<Vec<FrameLocation>> = vec![Vec::new(); index.streams.len()];
    let mut expect = toc_end;
    for (k, f) in index.frames.iter().enumerate() {
        let name = frame_name(f.stream, f.seq);
        if f.offset != expect {
            return Err(bad(format!(
                "frame entry {k} ({name}) is at byte {}, expected {expect} (frames are contiguous)",
                f.offset
            )));
        }
        let i = usize::try_from(f.stream).map_err(|_| bad(format!("{name}: bad stream id")))?;
        let (Some(list), Some(sum)) = (by_stream.get_mut(i), sums.get_mut(i)) else {
            return Err(bad(format!("{name}: stream {} is not declared", f.stream)));
        };
        if list.len() != f.seq as usize {
            return Err(bad(format!(
                "{name}: expected seq {} next in stream {}",
                list.len(),
                f.stream
            )));
        }
        if f.raw_len as usize > MAX_FRAME_RAW || f.stored_len > f.raw_len {
            return Err(bad(format!(
                "{name}: lengths {}/{} out of range",
                f.raw_len, f.stored_len
            )));
        }
        expect = expect
            .checked_add(FRAME_HEADER_LEN as u64 + u64::from(f.stored_len))
            .ok_or_else(|| bad(format!("{name}: offset overflows")))?;
        sum.add(f.raw_len, f.stored_len, f.rows, f.content_hash)
            .ok_or_else(|| bad(format!("{name}: statistics overflow")))?;
        list.push(FrameLocation::from(f));
    }
    if expect != index_offset {
        return Err(bad(format!(
            "frames end at byte {expect}, but the index starts at {index_offset}"
        )));
    }
    for (sum, s) in sums.iter().zip(&index.streams) {
        if sum != s {
            return Err(bad(format!(
                "statistics of stream {} disagree with its frames",
                s.stream
            )));
        }
    }
    Ok(by_stream)
}

/// Explains an archive without a footer: walks the records from the TOC on, trusting
/// each length only after its header checksum passed, and tells whether the archive is a
/// valid prefix ([`FormatError::Unsealed`]), cut in the middle of a record
/// ([`FormatError::Truncated`]), or damaged.
fn scan_unsealed<R: ReadAt + ?Sized>(r: &R, size: u64, header: &HeaderInfo) -> FormatError {
    match scan_records(r, size, header) {
        Err(e) => e,
        Ok(footer_end) => FormatError::corrupt(
            "end of archive",
            footer_end,
            format!(
                "{} bytes follow the footer",
                size.saturating_sub(footer_end)
            ),
        ),
    }
}

/// Walks records; returns `Ok(end of the footer)` when it finds a complete, valid index
/// and footer that are not at the end of the file, or the error that explains the file.
fn scan_records<R: ReadAt + ?Sized>(
    r: &R,
    size: u64,
    header: &HeaderInfo,
) -> Result<u64, FormatError> {
    let remaining = |pos: u64| size.saturating_sub(pos);
    let mut pos = u64::from(header.header_len);
    if remaining(pos) < TOC_HEADER_LEN as u64 {
        return Err(FormatError::truncated("TOC record", pos));
    }
    let hb = read_vec(r, pos, TOC_HEADER_LEN as u64, "TOC record header")?;
    let Decoded::Complete(th) = TocHeader::decode(&hb, pos)? else {
        return Err(FormatError::truncated("TOC record", pos));
    };
    let end = pos
        .checked_add(TOC_HEADER_LEN as u64)
        .and_then(|p| p.checked_add(th.stored_len))
        .ok_or_else(|| FormatError::overflow("TOC record", pos))?;
    if end > size {
        return Err(FormatError::truncated("TOC record", pos));
    }
    pos = end;
    loop {
        if pos == size {
            return Err(FormatError::Unsealed);
        }
        if remaining(pos) < 4 {
            return Err(FormatError::truncated("record header", pos));
        }
        let tag: [u8; 4] = read_vec(r, pos, 4, "record header")?
            .try_into()
            .map_err(|_| FormatError::truncated("record header", pos))?;
        match record_kind(tag) {
            Some(RecordKind::Frame) => {
                if remaining(pos) < FRAME_HEADER_LEN as u64 {
                    return Err(FormatError::truncated("frame header", pos));
                }
                let hb = read_vec(r, pos, FRAME_HEADER_LEN as u64, "frame header")?;
                let Decoded::Complete(h) = FrameHeader::decode(&hb, pos)? else {
                    return Err(FormatError::truncated("frame header", pos));
                };
                h.check_features(header.required_features, pos)?;
                let end = pos
                    .checked_add(h.record_len())
                    .ok_or_else(|| FormatError::overflow("frame", pos))?;
                if end > size {
                    return Err(FormatError::truncated(frame_name(h.stream, h.seq), pos));
                }
                pos = end;
            }
            Some(RecordKind::Index) => {
                if remaining(pos) < INDEX_HEADER_LEN as u64 {
                    return Err(FormatError::truncated("index header", pos));
                }
                let hb = read_vec(r, pos, INDEX_HEADER_LEN as u64, "index header")?;
                let Decoded::Complete(h) = IndexHeader::decode(&hb, pos)? else {
                    return Err(FormatError::truncated("index header", pos));
                };
                let end = h
                    .record_len()
                    .and_then(|l| pos.checked_add(l))
                    .ok_or_else(|| FormatError::overflow("index", pos))?;
                if end > size {
                    return Err(FormatError::truncated("index", pos));
                }
                if remaining(end) < FOOTER_LEN as u64 {
                    return Err(FormatError::truncated("footer", end));
                }
                let fb = read_vec(r, end, FOOTER_LEN as u64, "footer")?;
                Footer::decode(&fb, end)?;
                return Ok(end.saturating_add(FOOTER_LEN as u64));
            }
            None => {
                return Err(FormatError::corrupt(
                    "record",
                    pos,
                    format!("unknown record tag {}", show_tag(&tag)),
                ))
            }
        }
    }
}

/// Reads `len` bytes at `offset`; the caller has checked `offset + len <= size`. A short
/// read (the file shrank) is reported as truncation of `what`.
fn read_vec<R: ReadAt + ?Sized>(
    r: &R,
    offset: u64,
    len: u64,
    what: &str,
) -> Result<Vec<u8>, FormatError> {
    let len = usize::try_from(len).map_err(|_| FormatError::overflow(what, offset))?;
    let mut buf = vec![0u8; len];
    read_into(r, &mut buf, offset, what)?;
    Ok(buf)
}

fn read_into<R: ReadAt + ?Sized>(
    r: &R,
    buf: &mut [u8],
    offset: u64,
    what: &str,
) -> Result<(), FormatError> {
    r.read_exact_at(buf, offset).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            FormatError::truncated(what, offset)
        } else {
            FormatError::Io(e)
        }
    })
}
