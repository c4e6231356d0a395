//! [`StreamReader`]: sequential reading for pipes. Header and TOC first, then frames as
//! they come, then index and footer, which must confirm every frame seen.
//!
//! Lengths are trusted only after the header checksum that covers them passed, and
//! payloads are read in bounded pieces, so a lying length on a truncated pipe ends in
//! [`FormatError::Truncated`], never in a huge allocation.

use std::io::{self, Read};

use crate::checksum::{crc32c, crc32c_append};
use crate::error::{frame_name, FormatError};
use crate::format::footer::{Footer, FOOTER_LEN};
use crate::format::frame::{FrameHeader, FRAME_HEADER_LEN};
use crate::format::header::{sniff, HeaderInfo};
use crate::format::index::{FrameEntry, IndexHeader, INDEX_HEADER_LEN};
use crate::format::toc_record::{TocHeader, TOC_HEADER_LEN};
use crate::format::{record_kind, show_tag, Decoded, RecordKind, MAX_HEADER_LEN};
use crate::frame::RawFrame;
use crate::read::decode_toc;
use crate::stats::{StreamStats, Summary};
use crate::toc::Toc;

/// Largest piece read at once into a growing buffer (a default-size frame fits in one).
const CHUNK: usize = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Frames,
    Done,
    Failed,
}

/// Sequential reader for pipes: header, TOC, then frames as they come, then the index.
pub struct StreamReader<R: Read> {
    r: R,
    pos: u64,
    header: HeaderInfo,
    toc: Toc,
    stats: Vec<StreamStats>,
    seen: Vec<FrameEntry>,
    state: State,
    summary: Option<Summary>,
}

impl<R: Read> std::fmt::Debug for StreamReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamReader")
            .field("pos", &self.pos)
            .field("header", &self.header)
            .field("frames_seen", &self.seen.len())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<R: Read> StreamReader<R> {
    /// Reads and checks the header and the TOC.
    pub fn new(mut r: R) -> Result<Self, FormatError> {
        let header = read_header(&mut r)?;
        header.check_supported()?;
        let mut pos = u64::from(header.header_len);

        let mut hb = [0u8; TOC_HEADER_LEN];
        read_exact_or(&mut r, &mut hb, "TOC record", pos)?;
        let th = match TocHeader::decode(&hb, pos)? {
            Decoded::Complete(h) => h,
            Decoded::Incomplete(_) => return Err(FormatError::truncated("TOC record", pos)),
        };
        let stored = read_bounded(&mut r, th.stored_len, "TOC record", pos)?;
        let toc = decode_toc(&th, &stored, pos)?;
        drop(stored);
        pos = pos
            .checked_add(TOC_HEADER_LEN as u64)
            .and_then(|p| p.checked_add(th.stored_len))
            .ok_or_else(|| FormatError::overflow("TOC record", pos))?;
        let stats = (0..toc.streams.len())
            .map(|i| StreamStats::new(u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        Ok(StreamReader {
            r,
            pos,
            header,
            toc,
            stats,
            seen: Vec::new(),
            state: State::Frames,
            summary: None,
        })
    }

    /// The table of contents.
    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    /// The file header.
    pub fn header(&self) -> &HeaderInfo {
        &self.header
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Statistics of the frames seen so far, in stream id order.
    pub fn stats(&self) -> &[StreamStats] {
        &self.stats
    }

    /// The summary, once [`StreamReader::next_frame`] returned `Ok(None)`.
    pub fn summary(&self) -> Option<&Summary> {
        self.summary.as_ref()
    }

    /// The underlying reader.
    pub fn into_inner(self) -> R {
        self.r
    }

    /// Next frame (stored checksum verified; call [`RawFrame::decode`] to decompress), or
    /// `Ok(None)` after the index and footer were read and matched every frame seen
    /// (counts, order, offsets, lengths, per-stream statistics). After an error, every
    /// further call fails.
    pub fn next_frame(&mut self) -> Result<Option<RawFrame>, FormatError> {
        match self.state {
            State::Done => return Ok(None),
            State::Failed => {
                return Err(FormatError::Usage(
                    "the stream reader failed earlier".into(),
                ));
            }
            State::Frames => {}
        }
        let r = self.next_record();
        match &r {
            Err(_) => self.state = State::Failed,
            Ok(None) => self.state = State::Done,
            Ok(Some(_)) => {}
        }
        r
    }

    fn next_record(&mut self) -> Result<Option<RawFrame>, FormatError> {
        let pos = self.pos;
        let mut tag = [0u8; 4];
        match read_full(&mut self.r, &mut tag)? {
            0 => return Err(FormatError::Unsealed),
            4 => {}
            _ => return Err(FormatError::truncated("record header", pos)),
        }
        match record_kind(tag) {
            Some(RecordKind::Frame) => self.read_frame(tag, pos).map(Some),
            Some(RecordKind::Index) => self.read_index(tag, pos).map(|()| None),
            None => Err(FormatError::corrupt(
                "record",
                pos,
                format!("unknown record tag {}", show_tag(&tag)),
            )),
        }
    }

    fn read_frame(&mut self, tag: [u8; 4], pos: u64) -> Result<RawFrame, FormatError> {
        let mut hb = [0u8; FRAME_HEADER_LEN];
        let (t, rest) = hb.split_at_mut(4);
        t.copy_from_slice(&tag);
        read_exact_or(&mut self.r, rest, "frame header", pos)?;
        let h = match FrameHeader::decode(&hb, pos)? {
            Decoded::Complete(h) => h,
            Decoded::Incomplete(_) => return Err(FormatError::truncated("frame header", pos)),
        };
        h.check_features(self.header.required_features, pos)?;
        let name = frame_name(h.stream, h.seq);
        let stream_count = self.stats.len();
        let Some(stats) = usize::try_from(h.stream)
            .ok()
            .and_then(|i| self.stats.get_mut(i))
        else {
            return Err(FormatError::corrupt(
                name,
                pos,
                format!(
                    "stream {} is not declared in the TOC ({stream_count} streams)",
                    h.stream
                ),
            ));
        };
        if u64::from(h.seq) != stats.frames {
            return Err(FormatError::corrupt(
                name,
                pos,
                format!(
                    "out of order: stream {} expects frame {} next",
                    h.stream, stats.frames
                ),
            ));
        }
        let stored = read_bounded(&mut self.r, h.stored_len.into(), &name, pos)?;
        if crc32c(&stored) != h.stored_crc {
            return Err(FormatError::frame_checksum(
                "stored payload",
                h.stream,
                h.seq,
                pos,
            ));
        }
        stats
            .add(h.raw_len, h.stored_len, h.rows, h.content_hash)
            .ok_or_else(|| FormatError::overflow(name.clone(), pos))?;
        self.seen.push(FrameEntry {
            offset: pos,
            stream: h.stream,
            seq: h.seq,
            raw_len: h.raw_len,
            stored_len: h.stored_len,
            rows: h.rows,
            content_hash: h.content_hash,
        });
        self.pos = pos
            .checked_add(h.record_len())
            .ok_or_else(|| FormatError::overflow(name, pos))?;
        Ok(RawFrame {
            header: h,
            offset: pos,
            stored,
        })
    }

    fn read_index(&mut self, tag: [u8; 4], pos: u64) -> Result<(), FormatError> {
        let mut hb = [0u8; INDEX_HEADER_LEN];
        let (t, rest) = hb.split_at_mut(4);
        t.copy_from_slice(&tag);
        read_exact_or(&mut self.r, rest, "index header", pos)?;
        let ih = match IndexHeader::decode(&hb, pos)? {
            Decoded::Complete(h) => h,
            Decoded::Incomplete(_) => return Err(FormatError::truncated("index header", pos)),
        };
        let bad = |d: String| FormatError::corrupt("index", pos, d);
        // Check the counts against what was seen before reading the body: the body length
        // follows from them, so no allocation is sized by an unconfirmed number.
        if ih.stream_count as usize != self.stats.len() || ih.frame_count != self.seen.len() as u64
        {
            return Err(bad(format!(
                "index lists {} streams and {} frames, but the archive has {} streams and {} frames",
                ih.stream_count,
                ih.frame_count,
                self.stats.len(),
                self.seen.len()
            )));
        }
        let body = read_bounded(&mut self.r, ih.body_len, "index", pos)?;
        let index = ih.decode_body(&body, pos)?;
        if index.streams != self.stats {
            let which = index
                .streams
                .iter()
                .zip(&self.stats)
                .find(|(a, b)| a != b)
                .map(|(a, _)| a.stream.to_string())
                .unwrap_or_default();
            return Err(bad(format!(
                "statistics of stream {which} disagree with the frames read"
            )));
        }
        if let Some((k, (a, _))) = index
            .frames
            .iter()
            .zip(&self.seen)
            .enumerate()
            .find(|(_, (a, b))| a != b)
        {
            return Err(bad(format!(
                "frame entry {k} ({}) disagrees with the frame read at that position",
                frame_name(a.stream, a.seq)
            )));
        }
        let index_len = ih
            .record_len()
            .ok_or_else(|| FormatError::overflow("index", pos))?;
        let index_crc = crc32c_append(crc32c(&hb), &body);
        drop(body);
        let footer_pos = pos
            .checked_add(index_len)
            .ok_or_else(|| FormatError::overflow("index", pos))?;

        let mut fb = [0u8; FOOTER_LEN];
        read_exact_or(&mut self.r, &mut fb, "footer", footer_pos)?;
        let footer = match Footer::decode(&fb, footer_pos)? {
            Decoded::Complete(f) => f,
            Decoded::Incomplete(_) => return Err(FormatError::truncated("footer", footer_pos)),
        };
        if footer.index_offset != pos
            || footer.index_len != index_len
            || footer.index_crc != index_crc
        {
            return Err(FormatError::corrupt(
                "footer",
                footer_pos,
                "footer does not describe the index that precedes it",
            ));
        }
        let end = footer_pos
            .checked_add(FOOTER_LEN as u64)
            .ok_or_else(|| FormatError::overflow("footer", footer_pos))?;
        let mut probe = [0u8; 1];
        if read_full(&mut self.r, &mut probe)? != 0 {
            return Err(FormatError::corrupt(
                "end of archive",
                end,
                "unexpected bytes after the footer",
            ));
        }
        self.pos = end;
        self.summary = Some(Summary::new(
            self.toc.entries.len(),
            self.stats.clone(),
            end,
        )?);
        Ok(())
    }
}

/// Reads the header from the start of a stream.
fn read_header<R: Read>(r: &mut R) -> Result<HeaderInfo, FormatError> {
    let mut buf = vec![0u8; 16];
    let n = read_full(r, &mut buf)?;
    buf.truncate(n);
    if n == 0 {
        return Err(FormatError::NotAnArchive { detail: sniff(&[]) });
    }
    loop {
        match HeaderInfo::decode(&buf)? {
            Decoded::Complete(h) => return Ok(h),
            Decoded::Incomplete(want) if want > buf.len() && want <= MAX_HEADER_LEN => {
                let have = buf.len();
                buf.resize(want, 0);
                let got = read_full(r, buf.get_mut(have..).unwrap_or_default())?;
                if got < want - have {
                    return Err(FormatError::truncated("header", 0));
                }
            }
            Decoded::Incomplete(_) => return Err(FormatError::truncated("header", 0)),
        }
    }
}

/// Reads until `buf` is full or end of input; returns the number of bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while let Some(rest) = buf.get_mut(n..) {
        if rest.is_empty() {
            break;
        }
        match r.read(rest) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn read_exact_or<R: Read>(
    r: &mut R,
    buf: &mut [u8],
    what: &str,
    offset: u64,
) -> Result<(), FormatError> {
    if read_full(r, buf)? < buf.len() {
        return Err(FormatError::truncated(what, offset));
    }
    Ok(())
}

/// Reads exactly `len` bytes, growing the buffer in pieces of at most [`CHUNK`] so that
/// memory follows the bytes that really arrive.
fn read_bounded<R: Read>(
    r: &mut R,
    len: u64,
    what: &str,
    offset: u64,
) -> Result<Vec<u8>, FormatError> {
    let len = usize::try_from(len).map_err(|_| FormatError::overflow(what, offset))?;
    let mut buf = Vec::with_capacity(len.min(CHUNK));
    while buf.len() < len {
        let have = buf.len();
        let piece = (len - have).min(CHUNK);
        buf.resize(have + piece, 0);
        let got = read_full(r, buf.get_mut(have..).unwrap_or_default())?;
        if got < piece {
            return Err(FormatError::truncated(what, offset));
        }
    }
    Ok(buf)
}
