//! Golden archives: committed files that (a) must read back to exactly their known
//! content and (b) must be reproduced byte for byte by the writer from the same input,
//! so that any change of the format is a visible decision.
//!
//! Regenerate (after an intended format change, or a compressor upgrade that changes
//! compressed bytes) with:
//!
//! ```sh
//! PGDUMP_BLESS=1 cargo test -p pgdump-format --test golden
//! ```

mod common;

use std::path::PathBuf;

use common::*;
use pgdump_format::{
    lo, Codec, CodecKind, DataKind, FormatVersion, FrameMeta, StreamDecl, StreamId, TableData, Toc,
    TocEntry, Transform, FEATURE_COLUMNAR_COPY, FORMAT_VERSION_1_0,
};

struct Golden {
    name: &'static str,
    toc: Toc,
    plan: Plan,
    codec: Codec,
    /// Streams whose frames are encoded with the columnar transform (format 1.1); empty for
    /// a 1.0 archive.
    columnar: Vec<StreamId>,
}

fn meta(rows: u64, h: u64) -> FrameMeta {
    FrameMeta {
        rows,
        content_hash: h,
    }
}

fn goldens() -> Vec<Golden> {
    let simple = toc_with(&[1]);
    let simple_plan: Plan = vec![
        (0, rows(1, 20), meta(20, 0x1111)),
        (0, rows(2, 5), meta(5, 0x2222)),
    ];
    let mut v: Vec<Golden> = [
        ("none", Codec::None),
        ("zstd", Codec::Zstd { level: 3 }),
        ("gzip", Codec::Gzip { level: 6 }),
    ]
    .into_iter()
    .map(|(name, codec)| Golden {
        name,
        toc: simple.clone(),
        plan: simple_plan.clone(),
        codec,
        columnar: Vec::new(),
    })
    .collect();

    // Two tables (the second split into two streams) and a large-object stream; frames
    // interleaved; one incompressible frame (stored raw even though the codec is zstd).
    let mut toc = toc_with(&[1, 2]);
    let lo_entry = toc.entries.len() as u32 + 1;
    toc.entries.push(TocEntry {
        id: lo_entry,
        kind: "BLOBS".into(),
        section: pgdump_format::Section::Data.into(),
        name: "large objects".into(),
        data: Some(TableData {
            kind: DataKind::LargeObjects,
            streams: vec![3],
            ..Default::default()
        }),
        ..Default::default()
    });
    toc.streams.push(StreamDecl {
        id: 3,
        entry: lo_entry,
        part: 0,
        label: String::new(),
        est_bytes: 64,
    });
    let mut lo1 = Vec::new();
    lo::encode_record(&mut lo1, 16384, 0, b"first large object, piece one; ").unwrap();
    lo::encode_record(&mut lo1, 16385, 0, b"").unwrap();
    let mut lo2 = Vec::new();
    lo::encode_record(&mut lo2, 16384, 31, b"piece two").unwrap();
    lo::encode_record(&mut lo2, 16386, 0, &noise(5, 40)).unwrap();
    let plan: Plan = vec![
        (1, rows(10, 8), meta(8, 1)),
        (0, rows(11, 3), meta(3, 2)),
        (3, lo1, meta(2, 0)),
        (2, rows(12, 8), meta(8, 3)),
        (1, noise(7, 64), meta(1, 4)),
        (3, lo2, meta(2, 0)),
        (2, Vec::new(), meta(0, 0)),
    ];
    v.push(Golden {
        name: "interleaved_lo",
        toc,
        plan,
        codec: Codec::Zstd { level: 1 },
        columnar: Vec::new(),
    });

    // Format 1.1: a binary COPY table in two streams, frames stored column by column, next to
    // a text table. Frames: transformed and compressed; transformed, stored raw (random
    // values do not compress); too few rows for the transform; empty; text rows.
    let mut toc = toc_with(&[2, 1]);
    make_binary(&mut toc, 0);
    let uuids: Vec<u8> = noise(11, 4 * 30)
        .chunks(30)
        .flat_map(|v| {
            let mut t = 1i16.to_be_bytes().to_vec();
            t.extend_from_slice(&30i32.to_be_bytes());
            t.extend_from_slice(v);
            t
        })
        .collect();
    let plan: Plan = vec![
        (0, binary_rows(1, 12), meta(12, 0x51)),
        (2, rows(3, 6), meta(6, 0x52)),
        (1, binary_rows(2, 3), meta(3, 0x53)),
        (0, uuids, meta(4, 0x54)),
        (1, Vec::new(), meta(0, 0)),
        (1, binary_rows(4, 20), meta(20, 0x55)),
    ];
    v.push(Golden {
        name: "zstd_columnar",
        toc,
        plan,
        codec: Codec::Zstd { level: 3 },
        columnar: vec![0, 1],
    });
    v
}

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.pgdump"))
}

#[test]
fn golden_archives() {
    let bless = std::env::var_os("PGDUMP_BLESS").is_some_and(|v| v == "1");
    for g in goldens() {
        let (written, _) = if g.columnar.is_empty() {
            write(&g.toc, &g.plan, g.codec)
        } else {
            write_columnar(&g.toc, &g.plan, g.codec, &g.columnar)
        };
        let p = path(g.name);
        if bless {
            std::fs::write(&p, &written).unwrap();
            eprintln!("blessed {}", p.display());
        }
        let committed = std::fs::read(&p).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run PGDUMP_BLESS=1 cargo test -p pgdump-format --test golden",
                p.display()
            )
        });
        // (a) The committed archive reads back to exactly the known content.
        let got = read_both(&committed);
        assert_eq!(got, expected(&g.toc, &g.plan), "{}: content", g.name);
        let r = pgdump_format::ArchiveReader::open(committed.as_slice()).unwrap();
        let (version, features) = if g.columnar.is_empty() {
            (FORMAT_VERSION_1_0, 0)
        } else {
            (FormatVersion { major: 1, minor: 1 }, FEATURE_COLUMNAR_COPY)
        };
        assert_eq!(r.header().version, version, "{}", g.name);
        assert_eq!(r.header().required_features, features, "{}", g.name);
        assert_eq!(r.header().tool, "pgdump 0.1.0");
        // (b) The writer reproduces it byte for byte.
        assert!(
            written == committed,
            "{}: the writer no longer reproduces the golden archive byte for byte. If the format \
             change is intended, bump the version as FORMAT.md says and re-bless with PGDUMP_BLESS=1",
            g.name
        );
    }
}

#[test]
fn large_object_records_in_golden() {
    let committed = std::fs::read(path("interleaved_lo")).unwrap();
    let r = pgdump_format::ArchiveReader::open(committed.as_slice()).unwrap();
    let mut pieces = Vec::new();
    for f in r.stream_data(3) {
        let f = f.unwrap();
        for rec in lo::decode_records(&f.data) {
            let rec = rec.unwrap();
            pieces.push((rec.oid, rec.offset, rec.data.len()));
        }
    }
    assert_eq!(
        pieces,
        vec![
            (16384, 0, 31),
            (16385, 0, 0),
            (16384, 31, 9),
            (16386, 0, 40)
        ]
    );
}

#[test]
fn columnar_golden_has_every_kind_of_frame() {
    let committed = std::fs::read(path("zstd_columnar")).unwrap();
    let r = pgdump_format::ArchiveReader::open(committed.as_slice()).unwrap();
    let mut kinds = Vec::new();
    for e in r.frame_entries() {
        let raw = r
            .read_raw_frame(&pgdump_format::FrameLocation::from(e))
            .unwrap();
        kinds.push((e.stream, raw.codec(), raw.transform()));
    }
    use CodecKind as C;
    use Transform as T;
    assert_eq!(
        kinds,
        [
            (0, C::Zstd, T::ColumnarCopy),
            (2, C::Zstd, T::None),
            (1, C::Zstd, T::None),
            (0, C::None, T::ColumnarCopy),
            (1, C::None, T::None),
            (1, C::Zstd, T::ColumnarCopy),
        ]
    );
}

/// Archives written before the TOC's zstd level went from 3 to 1 (the same format
/// 1.0/1.1, a different TOC encoding): still read to the same content.
#[test]
fn archives_of_earlier_writers_still_read() {
    for g in goldens() {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden/toc-zstd3")
            .join(format!("{}.pgdump", g.name));
        let old = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(
            read_both(&old),
            expected(&g.toc, &g.plan),
            "{}: content",
            g.name
        );
        let r = pgdump_format::ArchiveReader::open(old.as_slice()).unwrap();
        r.verify_all().unwrap();
    }
}
