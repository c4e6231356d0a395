//! Round trips over many archive shapes, through both readers.

mod common;

use common::*;
use pgdump_format::{
    ArchiveReader, ArchiveWriter, Codec, CodecKind, EncodedFrame, FormatError, FrameMeta,
    StreamReader, Toc, WriterOptions, EAGER_ALLOC_RAW, MAX_FRAME_RAW,
};

fn check(toc: &Toc, plan: &Plan, codec: Codec) -> Vec<u8> {
    let (bytes, summary) = write(toc, plan, codec);
    let got = read_both(&bytes);
    assert_eq!(got, expected(toc, plan));

    // verify_all agrees with the writer's summary, and the index with both.
    let r = ArchiveReader::open(bytes.as_slice()).unwrap();
    let report = r.verify_all().unwrap();
    assert_eq!(report.entries, summary.entries);
    assert_eq!(report.streams, summary.streams.len());
    assert_eq!(report.frames, summary.frames);
    assert_eq!(report.rows, summary.rows);
    assert_eq!(report.raw_bytes, summary.raw_bytes);
    assert_eq!(report.stored_bytes, summary.stored_bytes);
    assert_eq!(r.streams(), summary.streams.as_slice());
    if toc.info.tool.is_empty() {
        assert!(r.header().tool.starts_with("pgdump-format "));
    } else {
        assert_eq!(r.header().tool, toc.info.tool);
    }

    // The streaming reader's summary equals the writer's.
    let mut s = StreamReader::new(bytes.as_slice()).unwrap();
    while s.next_frame().unwrap().is_some() {}
    assert_eq!(s.summary(), Some(&summary));
    assert_eq!(s.next_frame().unwrap(), None);
    bytes
}

fn meta(rows: u64, h: u64) -> FrameMeta {
    FrameMeta {
        rows,
        content_hash: h,
    }
}

#[test]
fn empty_archive() {
    for codec in CODECS {
        check(&Toc::default(), &vec![], codec);
    }
    let bytes = check(&toc_with(&[]), &vec![], Codec::default());
    let r = ArchiveReader::open(bytes.as_slice()).unwrap();
    assert!(r.streams().is_empty());
    assert!(r.frames(0).is_empty());
}

#[test]
fn empty_streams() {
    let toc = toc_with(&[1, 3]);
    check(&toc, &vec![], Codec::default());
    // Some streams empty, some not.
    check(&toc, &vec![(2, rows(1, 10), meta(10, 1))], Codec::default());
}

#[test]
fn one_byte_and_empty_frames() {
    let toc = toc_with(&[2]);
    for codec in CODECS {
        check(&toc, &vec![(0, b"x".to_vec(), meta(1, 7))], codec);
        check(
            &toc,
            &vec![(1, Vec::new(), meta(0, 0)), (1, b"y".to_vec(), meta(1, 2))],
            codec,
        );
    }
}

#[test]
fn every_codec_and_interleaving() {
    let toc = toc_with(&[1, 2, 3]);
    let mut plan = Plan::new();
    for i in 0..30u64 {
        let s = (i * 7 % 6) as u32;
        plan.push((
            s,
            rows(i, 50 + i as usize * 3),
            meta(50 + i * 3, i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        ));
    }
    for codec in CODECS {
        let bytes = check(&toc, &plan, codec);
        let r = ArchiveReader::open(bytes.as_slice()).unwrap();
        for s in 0..6 {
            for loc in r.frames(s) {
                let raw = r.read_raw_frame(loc).unwrap();
                assert_eq!(raw.codec(), codec.kind(), "{codec}: text rows compress");
            }
        }
    }
}

#[test]
fn incompressible_frames_are_stored_raw() {
    let toc = toc_with(&[1]);
    let plan: Plan = vec![
        (0, noise(1, 100_000), meta(1, 1)),
        (0, rows(2, 1000), meta(1000, 2)),
    ];
    for codec in [Codec::Zstd { level: 3 }, Codec::Gzip { level: 6 }] {
        let bytes = check(&toc, &plan, codec);
        let r = ArchiveReader::open(bytes.as_slice()).unwrap();
        let locs = r.frames(0);
        assert_eq!(r.read_raw_frame(&locs[0]).unwrap().codec(), CodecKind::None);
        assert_eq!(locs[0].stored_len, locs[0].raw_len);
        assert_eq!(r.read_raw_frame(&locs[1]).unwrap().codec(), codec.kind());
    }
}

#[test]
fn frames_above_the_eager_allocation_size() {
    // One huge row makes a frame bigger than the usual few MiB: such frames are
    // decompressed by streaming (zstd) and must round-trip with every codec.
    let toc = toc_with(&[1]);
    let n = EAGER_ALLOC_RAW + 4097;
    let big = noise(9, n);
    let zeros = vec![0u8; n];
    let plan: Plan = vec![(0, big, meta(1, 1)), (0, zeros, meta(2, 2))];
    check(&toc, &plan, Codec::Zstd { level: 1 });
    check(&toc, &plan, Codec::Gzip { level: 1 });
    const { assert!(MAX_FRAME_RAW >= 1 << 30, "PostgreSQL values reach 1 GiB") };
}

#[test]
fn many_streams_many_frames() {
    let toc = toc_with(&[5; 40]);
    let mut plan = Plan::new();
    for i in 0..2000u64 {
        let s = ((i * 7919) % 200) as u32;
        plan.push((s, rows(i, (i % 5) as usize), meta(i % 5, i)));
    }
    check(&toc, &plan, Codec::Zstd { level: 1 });
}

#[test]
fn write_raw_uses_writer_codec() {
    let toc = toc_with(&[1]);
    let mut w = ArchiveWriter::new(
        Vec::new(),
        &toc,
        WriterOptions {
            codec: Codec::Gzip { level: 1 },
            ..Default::default()
        },
    )
    .unwrap();
    w.write_raw(0, 0, &rows(1, 100), meta(100, 5)).unwrap();
    let pos = w.position();
    assert!(pos > 0);
    let (summary, bytes) = w.finish().unwrap();
    assert_eq!(summary.rows, 100);
    let r = ArchiveReader::open(bytes).unwrap();
    let raw = r.read_raw_frame(&r.frames(0)[0]).unwrap();
    assert_eq!(raw.codec(), CodecKind::Gzip);
    assert_eq!(raw.offset() + 52 + raw.stored_len(), pos);
    assert_eq!(raw.decode().unwrap().data, rows(1, 100));
}

#[test]
fn writer_refuses_misuse() {
    let toc = toc_with(&[2]);
    let mut w = ArchiveWriter::new(Vec::new(), &toc, WriterOptions::default()).unwrap();
    let f = |s, q| EncodedFrame::encode(s, q, b"abc", Codec::None, FrameMeta::default()).unwrap();
    assert!(matches!(
        w.write_frame(&f(0, 1)),
        Err(FormatError::Usage(_))
    ));
    assert!(matches!(
        w.write_frame(&f(2, 0)),
        Err(FormatError::Usage(_))
    ));
    w.write_frame(&f(0, 0)).unwrap();
    assert!(matches!(
        w.write_frame(&f(0, 0)),
        Err(FormatError::Usage(_))
    ));
    w.write_frame(&f(1, 0)).unwrap();
    w.write_frame(&f(0, 1)).unwrap();
    // Misuse wrote nothing: the archive is still valid.
    let (_, bytes) = w.finish().unwrap();
    assert_eq!(read_both(&bytes).streams[0].len(), 2);

    let bad_opts = WriterOptions {
        frame_size: 0,
        ..Default::default()
    };
    assert!(ArchiveWriter::new(Vec::new(), &toc, bad_opts).is_err());
    let bad_opts = WriterOptions {
        codec: Codec::Gzip { level: 12 },
        ..Default::default()
    };
    assert!(ArchiveWriter::new(Vec::new(), &toc, bad_opts).is_err());
    let mut bad_toc = toc.clone();
    bad_toc.entries[1].deps = vec![99];
    assert!(matches!(
        ArchiveWriter::new(Vec::new(), &bad_toc, WriterOptions::default()),
        Err(FormatError::Toc(_))
    ));
}

#[test]
fn reader_refuses_foreign_locations() {
    let toc = toc_with(&[1]);
    let (bytes, _) = write(&toc, &vec![(0, rows(1, 10), meta(10, 1))], Codec::default());
    let r = ArchiveReader::open(bytes.as_slice()).unwrap();
    let mut loc = r.frames(0)[0];
    loc.stored_len = u32::MAX;
    assert!(matches!(r.read_frame(&loc), Err(FormatError::Usage(_))));
    loc = r.frames(0)[0];
    loc.seq = 5;
    assert!(matches!(r.read_frame(&loc), Err(FormatError::Usage(_))));
}

#[test]
fn file_and_threads() {
    let toc = toc_with(&[4]);
    let plan: Plan = (0..40u64)
        .map(|i| ((i % 4) as u32, rows(i, 200), meta(200, i)))
        .collect();
    let (bytes, _) = write(&toc, &plan, Codec::Zstd { level: 1 });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.pgdump");
    std::fs::write(&path, &bytes).unwrap();
    let r = ArchiveReader::open(std::fs::File::open(&path).unwrap()).unwrap();
    let want = expected(&toc, &plan);
    std::thread::scope(|sc| {
        for s in 0..4u32 {
            let (r, want) = (&r, &want);
            sc.spawn(move || {
                let got: Vec<_> = r
                    .stream_data(s)
                    .map(|f| f.map(|f| (f.data, f.meta)).unwrap())
                    .collect();
                assert_eq!(got, want.streams[s as usize]);
            });
        }
    });
    // Also through an Arc<[u8]>.
    let shared: std::sync::Arc<[u8]> = bytes.into();
    ArchiveReader::open(shared).unwrap().verify_all().unwrap();
}

#[test]
fn encode_on_worker_threads() {
    let toc = toc_with(&[3]);
    let frames: Vec<EncodedFrame> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..3u32)
            .map(|s| {
                sc.spawn(move || {
                    EncodedFrame::encode(s, 0, &rows(s.into(), 500), Codec::default(), meta(500, 1))
                        .unwrap()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut w = ArchiveWriter::new(Vec::new(), &toc, WriterOptions::default()).unwrap();
    for f in frames.iter().rev() {
        w.write_frame(f).unwrap();
    }
    let (_, bytes) = w.finish().unwrap();
    let c = read_both(&bytes);
    assert_eq!(c.streams[1][0].0, rows(1, 500));
}

#[test]
fn output_is_deterministic() {
    let toc = toc_with(&[2]);
    let plan: Plan = (0..10u64)
        .map(|i| ((i % 2) as u32, rows(i, 100), meta(100, i)))
        .collect();
    for codec in CODECS {
        assert_eq!(write(&toc, &plan, codec).0, write(&toc, &plan, codec).0);
    }
}

#[test]
fn thread_safety_of_public_types() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<ArchiveWriter<std::fs::File>>();
    send::<EncodedFrame>();
    sync::<EncodedFrame>();
    send::<pgdump_format::RawFrame>();
    send::<pgdump_format::Frame>();
    send::<ArchiveReader<std::fs::File>>();
    sync::<ArchiveReader<std::fs::File>>();
    sync::<ArchiveReader<std::sync::Arc<[u8]>>>();
    send::<StreamReader<std::fs::File>>();
    send::<pgdump_format::FrameEncoder>();
    send::<pgdump_format::FrameDecoder>();
    send::<FormatError>();
    sync::<FormatError>();
}
