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
    lo, Codec, DataKind, FrameMeta, StreamDecl, TableData, Toc, TocEntry, FORMAT_VERSION,
};

struct Golden {
    name: &'static str,
    toc: Toc,
    plan: Plan,
    codec: Codec,
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
        let (written, _) = write(&g.toc, &g.plan, g.codec);
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
        assert_eq!(r.header().version, FORMAT_VERSION);
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
