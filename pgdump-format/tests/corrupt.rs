//! Damaged, truncated, unsealed, foreign and future archives: each gives the specific
//! error, from both readers, and never a panic.

mod common;

use common::*;
use pgdump_format::checksum::crc32c;
use pgdump_format::format::footer::{Footer, FOOTER_LEN};
use pgdump_format::format::frame::{FrameHeader, FRAME_HEADER_LEN};
use pgdump_format::format::header::HeaderInfo;
use pgdump_format::format::index::{FrameEntry, Index, INDEX_HEADER_LEN};
use pgdump_format::format::toc_record::{TocHeader, TOC_HEADER_LEN};
use pgdump_format::format::Decoded;
use pgdump_format::{
    columnar, ArchiveReader, ArchiveWriter, Codec, CodecKind, FormatError, FormatVersion,
    FrameLocation, FrameMeta, StreamStats, Toc, Transform, WriterOptions, FEATURE_COLUMNAR_COPY,
};

/// A small archive and the offsets of its parts.
struct Sample {
    bytes: Vec<u8>,
    header_len: usize,
    toc_end: usize,
    /// (offset, stream, seq, stored_len) of each frame, file order.
    frames: Vec<(usize, u32, u32, usize)>,
    index_offset: usize,
}

fn sample(codec: Codec) -> Sample {
    let toc = toc_with(&[1, 2]);
    let plan: Plan = (0..6u64)
        .map(|i| {
            (
                (i % 3) as u32,
                rows(i, 40 + i as usize),
                FrameMeta {
                    rows: 40 + i,
                    content_hash: i,
                },
            )
        })
        .collect();
    let (bytes, _) = write(&toc, &plan, codec);
    let r = ArchiveReader::open(bytes.as_slice()).unwrap();
    let frames = r
        .frame_entries()
        .iter()
        .map(|e| (e.offset as usize, e.stream, e.seq, e.stored_len as usize))
        .collect();
    Sample {
        header_len: r.header().header_len as usize,
        toc_end: r.data_offset() as usize,
        index_offset: r.index_offset() as usize,
        frames,
        bytes,
    }
}

/// Both readers' results, reading everything.
fn both(bytes: impl AsRef<[u8]>) -> [Result<Contents, FormatError>; 2] {
    let bytes = bytes.as_ref();
    [read_random(bytes), read_stream(bytes)]
}

macro_rules! assert_both {
    ($bytes:expr, $pat:pat $(if $guard:expr)?) => {{
        for (i, r) in both(&$bytes).into_iter().enumerate() {
            let reader = ["random", "stream"][i];
            #[allow(unused_variables)]
            let ok = matches!(&r, Err($pat) $(if $guard)?);
            assert!(ok, "{reader} reader: expected {}, got {r:?}", stringify!($pat));
            // Messages name what and where.
            assert!(!r.unwrap_err().to_string().is_empty());
        }
    }};
}

#[test]
fn intact_sample_reads() {
    for codec in CODECS {
        let s = sample(codec);
        read_both(&s.bytes);
        assert_eq!(s.frames.len(), 6);
        assert_eq!(s.frames[0].0, s.toc_end);
    }
}

#[test]
fn truncation_at_every_point() {
    let s = sample(Codec::Zstd { level: 3 });
    let mut boundaries = vec![s.toc_end];
    boundaries.extend(s.frames.iter().map(|f| f.0 + FRAME_HEADER_LEN + f.3));
    for cut in 0..s.bytes.len() {
        let b = &s.bytes[..cut];
        if cut == 0 {
            assert_both!(b, FormatError::NotAnArchive { .. });
        } else if boundaries.contains(&cut) {
            // A valid prefix ending at a record boundary: the writer never finished.
            assert_both!(b, FormatError::Unsealed);
        } else {
            let expect_offset = if cut < s.header_len {
                0
            } else if cut < s.toc_end {
                s.header_len
            } else if cut < s.index_offset {
                // The frame cut in the middle.
                s.frames.iter().rev().find(|f| f.0 <= cut).unwrap().0
            } else if cut < s.bytes.len() - FOOTER_LEN {
                s.index_offset
            } else {
                s.bytes.len() - FOOTER_LEN
            };
            for (i, r) in both(b).into_iter().enumerate() {
                match r {
                    Err(FormatError::Truncated { offset, .. }) => {
                        assert_eq!(offset as usize, expect_offset, "cut {cut}, reader {i}")
                    }
                    other => panic!("cut {cut}, reader {i}: {other:?}"),
                }
            }
        }
    }
}

#[test]
fn truncated_mid_frame_names_the_frame() {
    let s = sample(Codec::None);
    let (off, stream, seq, len) = s.frames[3];
    let b = &s.bytes[..off + FRAME_HEADER_LEN + len / 2];
    for r in both(b) {
        match r {
            Err(FormatError::Truncated { what, offset }) => {
                assert_eq!(offset as usize, off);
                assert!(
                    what.contains(&format!("frame {seq} of stream {stream}")),
                    "{what}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn unsealed_when_writer_dropped() {
    let toc = toc_with(&[2]);
    for frames in [0, 1, 5] {
        let mut buf = Vec::new();
        {
            let mut w = ArchiveWriter::new(&mut buf, &toc, WriterOptions::default()).unwrap();
            for i in 0..frames {
                w.write_raw(i % 2, i / 2, &rows(i.into(), 30), FrameMeta::default())
                    .unwrap();
            }
            // Dropped without finish().
        }
        assert_both!(buf, FormatError::Unsealed);
        assert!(FormatError::Unsealed.to_string().contains("not sealed"));
    }
}

#[test]
fn unsealed_even_when_the_last_frame_ends_like_a_footer() {
    let toc = toc_with(&[1]);
    let mut payload = noise(3, 100);
    payload.extend_from_slice(b"\x89PGDEND\n");
    let mut buf = Vec::new();
    {
        let mut w = ArchiveWriter::new(&mut buf, &toc, WriterOptions::default()).unwrap();
        w.write_raw(0, 0, &payload, FrameMeta::default()).unwrap();
    }
    assert!(buf.ends_with(b"\x89PGDEND\n"));
    assert_both!(buf, FormatError::Unsealed);
    // Cut inside that frame, but keeping the magic-like tail: truncated.
    let mut cut = buf.clone();
    cut.drain(cut.len() - 40..cut.len() - 8);
    assert_both!(cut, FormatError::Truncated { .. });
}

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= 0x20;
    b
}

#[test]
fn bit_flip_in_header() {
    let s = sample(Codec::default());
    // In the tool string, the feature bits, the version: the header CRC catches it.
    for at in [8, 10, 16, 24, 32, 36, s.header_len - 1] {
        assert_both!(flip(&s.bytes, at), FormatError::Checksum { what, .. } if what == "header");
    }
    // In the magic: not an archive.
    assert_both!(flip(&s.bytes, 3), FormatError::NotAnArchive { .. });
}

#[test]
fn bit_flip_in_toc() {
    let s = sample(Codec::default());
    for at in [s.header_len + 5, s.header_len + 9, s.header_len + 33] {
        assert_both!(flip(&s.bytes, at), FormatError::Checksum { what, .. } if what == "TOC record header");
    }
    for at in [s.header_len + TOC_HEADER_LEN, s.toc_end - 1] {
        assert_both!(flip(&s.bytes, at), FormatError::Checksum { what, .. } if what == "TOC");
    }
}

#[test]
fn bit_flip_in_frame_header() {
    let s = sample(Codec::default());
    let (off, ..) = s.frames[2];
    for at in [off + 4, off + 16, off + 20, off + 40, off + 51] {
        assert_both!(
            flip(&s.bytes, at),
            FormatError::Checksum { what, offset, .. } if what.starts_with("header of frame") && *offset as usize == off
        );
    }
    // The tag: the streaming reader sees an unknown record, the random reader a bad header.
    let b = flip(&s.bytes, off);
    assert!(
        matches!(read_stream(&b), Err(FormatError::Corrupt { offset, .. }) if offset as usize == off)
    );
    assert!(
        matches!(read_random(&b), Err(FormatError::Corrupt { offset, .. }) if offset as usize == off)
    );
}

#[test]
fn bit_flip_in_frame_payload() {
    for codec in CODECS {
        let s = sample(codec);
        let (off, stream, seq, len) = s.frames[4];
        for at in [
            off + FRAME_HEADER_LEN,
            off + FRAME_HEADER_LEN + len / 2,
            off + FRAME_HEADER_LEN + len - 1,
        ] {
            assert_both!(
                flip(&s.bytes, at),
                FormatError::Checksum { stream: Some(st), seq: Some(sq), offset, .. }
                    if *st == stream && *sq == seq && *offset as usize == off
            );
        }
    }
}

#[test]
fn bit_flip_in_index() {
    let s = sample(Codec::default());
    for at in [
        s.index_offset + 5,
        s.index_offset + INDEX_HEADER_LEN + 3,
        s.bytes.len() - FOOTER_LEN - 1,
    ] {
        let b = flip(&s.bytes, at);
        assert!(
            matches!(read_random(&b), Err(FormatError::Checksum { what, .. }) if what == "index")
        );
        assert!(
            matches!(read_stream(&b), Err(FormatError::Checksum { what, .. }) if what.starts_with("index")),
            "{:?}",
            read_stream(&b)
        );
    }
}

#[test]
fn bit_flip_in_footer() {
    let s = sample(Codec::default());
    let f = s.bytes.len() - FOOTER_LEN;
    for at in [f, f + 8, f + 16, f + 20] {
        assert_both!(flip(&s.bytes, at), FormatError::Checksum { what, .. } if what == "footer");
    }
    // The end magic: the file no longer looks sealed; the scan finds the damaged footer.
    for at in [f + 24, s.bytes.len() - 1] {
        assert_both!(flip(&s.bytes, at), FormatError::Corrupt { what, .. } if what == "footer");
    }
}

#[test]
fn foreign_files() {
    let cases: [(&[u8], &str); 6] = [
        (b"", "empty"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x4b\x4c\x4a\x06\x00\xc2\x41\x24\x35\x03\x00\x00\x00", "gzip"),
        (b"PGDMP\x01\x10\x00\x04\x08\x01\x01\x00\x00\x00\x00", "pg_dump"),
        (b"--\n-- PostgreSQL database dump\n--\n", "text"),
        (b"\x28\xb5\x2f\xfd\x00\x58\x01\x00\x00", "zstd"),
        (b"\x00\x01\x02\x03\x04\x05\x06\x07\x08", "unknown"),
    ];
    for (bytes, word) in cases {
        assert_both!(bytes, FormatError::NotAnArchive { detail } if detail.contains(word));
    }
    // A short prefix of the magic is a truncated archive.
    assert_both!(b"\x89PGD", FormatError::Truncated { .. });
}

/// Replaces the header of an archive by `h` (same length, so offsets stay valid).
fn with_header(bytes: &[u8], h: &HeaderInfo) -> Vec<u8> {
    let new = h.encode().unwrap();
    let Decoded::Complete(old) = HeaderInfo::decode(bytes).unwrap() else {
        panic!()
    };
    assert_eq!(new.len(), old.header_len as usize);
    let mut b = new;
    b.extend_from_slice(&bytes[old.header_len as usize..]);
    b
}

fn header_of(bytes: &[u8]) -> HeaderInfo {
    let Decoded::Complete(h) = HeaderInfo::decode(bytes).unwrap() else {
        panic!()
    };
    h
}

#[test]
fn newer_minor_versions() {
    let s = sample(Codec::default());
    let mut h = header_of(&s.bytes);
    // Newer minor, no unknown required feature, an unknown optional one: readable.
    h.version.minor = 3;
    h.optional_features = 1 << 7;
    let b = with_header(&s.bytes, &h);
    assert_eq!(read_both(&b), read_both(&s.bytes));
    // Newer minor with an unknown required feature: refused, saying which version and tool.
    h.required_features = 1 << 5;
    let b = with_header(&s.bytes, &h);
    assert_both!(
        b,
        FormatError::UnsupportedVersion { found: FormatVersion { major: 1, minor: 3 }, unknown_features: 0x20, writer, .. }
            if writer == "pgdump 0.1.0"
    );
    let msg = read_stream(&b).unwrap_err().to_string();
    assert!(
        msg.contains("1.3") && msg.contains("pgdump 0.1.0") && msg.contains("0x20"),
        "{msg}"
    );
}

#[test]
fn newer_major_version() {
    let s = sample(Codec::default());
    let mut h = header_of(&s.bytes);
    h.version = FormatVersion { major: 2, minor: 0 };
    h.tool = "pgdump 9.9.9".into();
    let mut b = h.encode().unwrap();
    // A 2.0 archive may look entirely different after the header.
    b.extend_from_slice(b"whatever version 2 puts here");
    assert_both!(
        b,
        FormatError::UnsupportedVersion { found: FormatVersion { major: 2, minor: 0 }, writer, .. }
            if writer == "pgdump 9.9.9"
    );
    let msg = read_random(&b).unwrap_err().to_string();
    assert!(
        msg.contains("2.0") && msg.contains("pgdump 9.9.9") && msg.contains("format 1.1)"),
        "{msg}"
    );
}

#[test]
fn trailing_garbage() {
    let s = sample(Codec::default());
    let mut b = s.bytes.clone();
    b.extend_from_slice(b"junk");
    assert_both!(b, FormatError::Corrupt { what, .. } if what == "end of archive");
}

// ---- hostile archives: valid checksums, lying contents ----

/// Assembles an archive from parts, with correct checksums everywhere.
fn assemble(
    toc: &Toc,
    frames: &[(FrameHeader, Vec<u8>)],
    index_override: Option<Index>,
) -> Vec<u8> {
    assemble_with(toc, 0, frames, index_override)
}

/// [`assemble`] with a header declaring `features`.
fn assemble_with(
    toc: &Toc,
    features: u64,
    frames: &[(FrameHeader, Vec<u8>)],
    index_override: Option<Index>,
) -> Vec<u8> {
    let mut out = prefix_with(toc, features);
    let mut index = Index {
        streams: (0..toc.streams.len() as u32)
            .map(StreamStats::new)
            .collect(),
        frames: vec![],
    };
    for (h, payload) in frames {
        index.frames.push(FrameEntry {
            offset: out.len() as u64,
            stream: h.stream,
            seq: h.seq,
            raw_len: h.raw_len,
            stored_len: h.stored_len,
            rows: h.rows,
            content_hash: h.content_hash,
        });
        let Some(st) = index.streams.get_mut(h.stream as usize) else {
            out.extend_from_slice(&h.encode());
            out.extend_from_slice(payload);
            continue;
        };
        st.frames += 1;
        st.rows += h.rows;
        st.raw_bytes += u64::from(h.raw_len);
        st.stored_bytes += u64::from(h.stored_len);
        st.content_hash = st.content_hash.wrapping_add(h.content_hash);
        out.extend_from_slice(&h.encode());
        out.extend_from_slice(payload);
    }
    let index = index_override.unwrap_or(index);
    let ib = index.encode().unwrap();
    let footer = Footer {
        index_offset: out.len() as u64,
        index_len: ib.len() as u64,
        index_crc: crc32c(&ib),
    };
    out.extend_from_slice(&ib);
    out.extend_from_slice(&footer.encode());
    out
}

/// Header and TOC record only.
fn prefix(toc: &Toc) -> Vec<u8> {
    prefix_with(toc, 0)
}

fn prefix_with(toc: &Toc, features: u64) -> Vec<u8> {
    let mut out = HeaderInfo::with_features("hostile 1.0", features)
        .unwrap()
        .encode()
        .unwrap();
    let json = toc.to_json().unwrap();
    let crc = crc32c(&json);
    let th = TocHeader {
        codec: CodecKind::None,
        raw_len: json.len() as u64,
        stored_len: json.len() as u64,
        stored_crc: crc,
        raw_crc: crc,
    };
    out.extend_from_slice(&th.encode());
    out.extend_from_slice(&json);
    out
}

fn header_for(stream: u32, seq: u32, codec: CodecKind, raw: &[u8], stored: &[u8]) -> FrameHeader {
    FrameHeader {
        stream,
        seq,
        codec,
        transform: Transform::None,
        raw_len: raw.len() as u32,
        stored_len: stored.len() as u32,
        rows: 1,
        content_hash: 0,
        stored_crc: crc32c(stored),
        raw_crc: crc32c(raw),
    }
}

#[test]
fn assembled_archive_is_valid() {
    let toc = toc_with(&[1]);
    let raw = rows(1, 10);
    let b = assemble(
        &toc,
        &[(header_for(0, 0, CodecKind::None, &raw, &raw), raw.clone())],
        None,
    );
    assert_eq!(read_both(&b).streams[0][0].0, raw);
}

#[test]
fn lying_length_on_truncated_input() {
    // A frame header that claims 60 MiB of payload, then the input ends.
    let toc = toc_with(&[1]);
    let mut h = header_for(0, 0, CodecKind::Zstd, &[], &[]);
    h.raw_len = 64 << 20;
    h.stored_len = 60 << 20;
    let mut b = prefix(&toc);
    b.extend_from_slice(&h.encode());
    b.extend_from_slice(b"only a few bytes");
    assert_both!(b, FormatError::Truncated { .. });
}

#[test]
fn decompression_bomb_is_corrupt() {
    // A zstd payload that really inflates to 8 MiB, declared as 1000 bytes.
    let toc = toc_with(&[1]);
    let big = vec![b'a'; 8 << 20];
    let stored = zstd::bulk::compress(&big, 3).unwrap();
    let mut h = header_for(0, 0, CodecKind::Zstd, &big[..1000], &stored);
    h.raw_len = 1000;
    assert!(stored.len() < 1000);
    let b = assemble(&toc, &[(h, stored)], None);
    assert_both!(b, FormatError::Corrupt { .. });

    // The same with gzip.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    std::io::Write::write_all(&mut enc, &big).unwrap();
    let stored = enc.finish().unwrap();
    let mut h = header_for(0, 0, CodecKind::Gzip, &big[..stored.len() + 1], &stored);
    h.raw_len = stored.len() as u32 + 1;
    let b = assemble(&toc, &[(h, stored)], None);
    assert_both!(b, FormatError::Corrupt { .. });
}

#[test]
fn raw_checksum_mismatch_after_decompression() {
    let toc = toc_with(&[1]);
    let raw = rows(3, 100);
    let stored = zstd::bulk::compress(&raw, 3).unwrap();
    let mut h = header_for(0, 0, CodecKind::Zstd, &raw, &stored);
    h.raw_crc ^= 1;
    let b = assemble(&toc, &[(h, stored)], None);
    assert_both!(
        b,
        FormatError::Checksum { what, stream: Some(0), seq: Some(0), .. } if what.starts_with("decompressed data")
    );
}

#[test]
fn frames_out_of_order_or_undeclared() {
    let toc = toc_with(&[1]);
    let raw = b"abc".to_vec();
    // seq 1 without seq 0
    let b = assemble(
        &toc,
        &[(header_for(0, 1, CodecKind::None, &raw, &raw), raw.clone())],
        None,
    );
    assert_both!(b, FormatError::Corrupt { .. });
    // undeclared stream
    let b = assemble(
        &toc,
        &[(header_for(3, 0, CodecKind::None, &raw, &raw), raw.clone())],
        None,
    );
    assert!(matches!(read_stream(&b), Err(FormatError::Corrupt { .. })));
}

#[test]
fn index_that_lies() {
    let toc = toc_with(&[2]);
    let raw = b"abcdef".to_vec();
    let frames = [
        (header_for(0, 0, CodecKind::None, &raw, &raw), raw.clone()),
        (header_for(1, 0, CodecKind::None, &raw, &raw), raw.clone()),
    ];
    let honest = {
        let b = assemble(&toc, &frames, None);
        let r = ArchiveReader::open(b.as_slice()).unwrap();
        Index {
            streams: r.streams().to_vec(),
            frames: r.frame_entries().to_vec(),
        }
    };
    let mut lies = Vec::new();
    let mut i = honest.clone();
    i.streams[0].rows += 1;
    lies.push(i);
    let mut i = honest.clone();
    i.frames[1].offset += 1;
    lies.push(i);
    let mut i = honest.clone();
    i.frames.swap(0, 1);
    lies.push(i);
    let mut i = honest.clone();
    i.frames[0].content_hash = 9;
    i.streams[0].content_hash = 9;
    lies.push(i);
    let mut i = honest.clone();
    i.frames.pop();
    lies.push(i);
    let mut i = honest.clone();
    i.streams.pop();
    lies.push(i);
    for lie in lies {
        let b = assemble(&toc, &frames, Some(lie.clone()));
        assert_both!(b, FormatError::Corrupt { .. });
    }
}

#[test]
fn invalid_toc_in_archive() {
    let mut toc = toc_with(&[1]);
    toc.entries[1].deps.push(77);
    let b = assemble(&toc, &[], None);
    assert_both!(b, FormatError::Toc(m) if m.contains("77"));
    // Not JSON at all.
    let mut out = HeaderInfo::current("x").unwrap().encode().unwrap();
    let json = b"{not json";
    let crc = crc32c(json);
    out.extend_from_slice(
        &TocHeader {
            codec: CodecKind::None,
            raw_len: 9,
            stored_len: 9,
            stored_crc: crc,
            raw_crc: crc,
        }
        .encode(),
    );
    out.extend_from_slice(json);
    assert!(matches!(read_stream(&out), Err(FormatError::Toc(_))));
}

#[test]
fn toc_length_limit() {
    let mut out = HeaderInfo::current("x").unwrap().encode().unwrap();
    out.extend_from_slice(
        &TocHeader {
            codec: CodecKind::Zstd,
            raw_len: 2 << 30,
            stored_len: 10,
            stored_crc: 0,
            raw_crc: 0,
        }
        .encode(),
    );
    out.extend_from_slice(&[0; 10]);
    assert!(matches!(read_stream(&out), Err(FormatError::Limit { .. })));
    assert!(matches!(read_random(&out), Err(FormatError::Limit { .. })));
}

// ---- columnar frames (format 1.1) ----

/// An archive with columnar frames; (offset, stored_len, rows × fields) of a transformed frame.
fn columnar_sample(codec: Codec) -> (Vec<u8>, usize, usize, usize) {
    let mut toc = toc_with(&[1, 1]);
    make_binary(&mut toc, 0);
    let plan: Plan = vec![
        (0, binary_rows(1, 40), FrameMeta::default()),
        (1, rows(2, 40), FrameMeta::default()),
        (0, binary_rows(3, 50), FrameMeta::default()),
    ];
    let (bytes, _) = write_columnar(&toc, &plan, codec, &[0]);
    let r = ArchiveReader::open(bytes.as_slice()).unwrap();
    let e = r.frame_entries()[2];
    let raw = r.read_raw_frame(&FrameLocation::from(&e)).unwrap();
    assert_eq!(raw.transform(), Transform::ColumnarCopy);
    (bytes, e.offset as usize, e.stored_len as usize, 50 * 6)
}

#[test]
fn bit_flip_in_columnar_lengths_and_values() {
    for codec in CODECS {
        let (bytes, off, len, cells) = columnar_sample(codec);
        let p = off + FRAME_HEADER_LEN;
        let mut at = vec![p, p + 3, p + len / 2, p + len - 1];
        if codec == Codec::None {
            // Stored bytes are the columnar form itself: its prefix, lengths area, values area.
            at.extend([
                p + 6,
                p + 6 + 4 * 7 + 3,
                p + 6 + 4 * cells - 1,
                p + 6 + 4 * cells,
            ]);
        }
        for at in at {
            assert_both!(
                flip(&bytes, at),
                FormatError::Checksum { what, stream: Some(0), seq: Some(1), offset, .. }
                    if what.starts_with("stored payload") && *offset as usize == off
            );
        }
    }
}

/// A one-frame archive declaring the columnar feature; the frame carries `columns` (encoded
/// with `codec`) and claims the raw payload `raw` of `raw_len` bytes, every CRC right.
fn lying_columnar(
    raw: &[u8],
    raw_len: u32,
    columns: &[u8],
    codec: CodecKind,
    features: u64,
) -> Vec<u8> {
    let mut toc = toc_with(&[1]);
    make_binary(&mut toc, 0);
    let stored = match codec {
        CodecKind::None => columns.to_vec(),
        CodecKind::Zstd => zstd::bulk::compress(columns, 1).unwrap(),
        CodecKind::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(1));
            std::io::Write::write_all(&mut enc, columns).unwrap();
            enc.finish().unwrap()
        }
    };
    let mut h = header_for(0, 0, codec, raw, &stored);
    h.transform = Transform::ColumnarCopy;
    h.raw_len = raw_len;
    assert!(h.stored_len < h.raw_len);
    assemble_with(&toc, features, &[(h, stored)], None)
}

#[test]
fn columnar_lies_with_valid_checksums() {
    let raw = binary_rows(5, 30);
    let t = columnar::to_columnar(&raw).unwrap();
    let n = raw.len() as u32;
    let cells = 30 * 6;
    let set = |at: usize, v: &[u8]| {
        let mut b = t.clone();
        b[at..at + v.len()].copy_from_slice(v);
        b
    };
    let lies: Vec<(&str, Vec<u8>, u32)> = vec![
        (
            "length below -1",
            set(6 + 4 * 40, &(-7i32).to_be_bytes()),
            n,
        ),
        ("lengths exceed the values", set(6, &9i32.to_be_bytes()), n),
        (
            "lengths fall short of the values",
            set(6, &7i32.to_be_bytes()),
            n,
        ),
        ("huge length", set(6, &i32::MAX.to_be_bytes()), n),
        ("rows past the end", set(0, &u32::MAX.to_be_bytes()), n),
        ("rows shift the raw length", set(0, &31u32.to_be_bytes()), n),
        ("too many fields", set(4, &40000u16.to_be_bytes()), n),
        ("fields past the end", set(4, &20000u16.to_be_bytes()), n),
        ("shorter than its prefix", t[..5].to_vec(), n),
        ("values cut", t[..t.len() - 1].to_vec(), n),
        ("raw length lies", t.clone(), n + 2),
        ("raw length lies the other way", t.clone(), n - 1),
        ("not shorter than raw", [&t[..], &[0; 2][..]].concat(), n),
    ];
    for codec in [CodecKind::None, CodecKind::Zstd, CodecKind::Gzip] {
        for (why, columns, raw_len) in &lies {
            if codec == CodecKind::None && columns.len() >= *raw_len as usize {
                continue; // the header rule already refuses that
            }
            let b = lying_columnar(&raw, *raw_len, columns, codec, FEATURE_COLUMNAR_COPY);
            for (i, r) in both(&b).into_iter().enumerate() {
                match r {
                    Err(FormatError::Corrupt { what, .. })
                        if what.contains("frame 0 of stream 0") => {}
                    other => panic!("{codec} {why}, reader {i}: {other:?}"),
                }
            }
        }
        // Well-formed columns of other rows: the raw checksum catches them.
        let other = set(6 + 4 * cells, &[0xEE]);
        let b = lying_columnar(&raw, n, &other, codec, FEATURE_COLUMNAR_COPY);
        assert_both!(
            b,
            FormatError::Checksum { what, stream: Some(0), seq: Some(0), .. }
                if what.starts_with("rows rebuilt from columns")
        );
        // The honest frame reads.
        let b = lying_columnar(&raw, n, &t, codec, FEATURE_COLUMNAR_COPY);
        assert_eq!(read_both(&b).streams[0][0].0, raw);
    }
}

#[test]
fn columnar_frame_without_the_feature_bit() {
    let raw = binary_rows(5, 30);
    let t = columnar::to_columnar(&raw).unwrap();
    for codec in [CodecKind::None, CodecKind::Zstd] {
        let b = lying_columnar(&raw, raw.len() as u32, &t, codec, 0);
        assert_both!(
            b,
            FormatError::Corrupt { what, detail, .. }
                if what == "frame 0 of stream 0" && detail.contains("feature bit")
        );
        // Unsealed archives are explained by a walk that checks the same.
        let cut = &b[..b.len() - 60];
        let footer_at = b.len() - FOOTER_LEN;
        assert!(cut.len() < footer_at);
        assert!(matches!(read_random(cut), Err(FormatError::Corrupt { .. })));
    }
}

#[test]
fn unknown_transform_is_corrupt() {
    let (bytes, off, _, _) = columnar_sample(Codec::Zstd { level: 1 });
    let mut b = bytes.clone();
    b[off + 13] = 2;
    let crc = crc32c(&b[off..off + 48]);
    b[off + 48..off + 52].copy_from_slice(&crc.to_le_bytes());
    assert_both!(
        b,
        FormatError::Corrupt { detail, offset, .. }
            if detail.contains("unknown transform 2") && *offset as usize == off
    );
}
