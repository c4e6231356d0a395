//! Columnar binary COPY frames (format 1.1, feature bit 0): round trips through the writer
//! and both readers, the writer's rules, and what the option leaves unchanged.

mod common;

use common::*;
use pgdump_format::{
    ArchiveReader, ArchiveWriter, Codec, CodecKind, EncodedFrame, FormatError, FormatVersion,
    FrameDecoder, FrameEncoder, FrameMeta, StreamReader, Toc, Transform, WriterOptions,
    EAGER_ALLOC_RAW, FEATURE_COLUMNAR_COPY, FORMAT_VERSION_1_0,
};
use proptest::prelude::*;

fn meta(rows: u64, h: u64) -> FrameMeta {
    FrameMeta {
        rows,
        content_hash: h,
    }
}

/// Two tables: t0 binary in two streams (0, 1), t1 text in one stream (2); plus t2 binary in
/// one stream (3) that stays empty.
fn toc() -> Toc {
    let mut toc = toc_with(&[2, 1, 1]);
    make_binary(&mut toc, 0);
    make_binary(&mut toc, 2);
    toc
}

/// Binary frames of many sizes (0 to 3 rows: not transformed), text frames, an empty frame.
fn plan() -> Plan {
    let mut plan = Plan::new();
    for (k, n) in [0usize, 1, 2, 3, 4, 5, 17, 300, 2000]
        .into_iter()
        .enumerate()
    {
        let s = (k % 2) as u32;
        plan.push((s, binary_rows(k as u64, n), meta(n as u64, k as u64)));
        plan.push((2, rows(k as u64, n), meta(n as u64, 100 + k as u64)));
    }
    plan
}

/// Writes with the columnar option; checks both readers, `verify_all`, the summaries and the
/// transform of every frame. Returns the archive.
fn check(toc: &Toc, plan: &Plan, codec: Codec) -> Vec<u8> {
    let binary = [0, 1, 3];
    let (bytes, summary) = write_columnar(toc, plan, codec, &binary);
    assert_eq!(read_both(&bytes), expected(toc, plan), "{codec}");

    let r = ArchiveReader::open(bytes.as_slice()).unwrap();
    assert_eq!(r.header().version, FormatVersion { major: 1, minor: 1 });
    assert_eq!(r.header().required_features, FEATURE_COLUMNAR_COPY);
    let report = r.verify_all().unwrap();
    assert_eq!(
        (
            report.frames,
            report.rows,
            report.raw_bytes,
            report.stored_bytes
        ),
        (
            summary.frames,
            summary.rows,
            summary.raw_bytes,
            summary.stored_bytes
        )
    );
    let mut s = StreamReader::new(bytes.as_slice()).unwrap();
    let mut dec = FrameDecoder::new();
    let mut buf = Vec::new();
    let mut k = 0;
    while let Some(raw) = s.next_frame().unwrap() {
        let (stream, data, _) = &plan[k];
        k += 1;
        let tuples = binary_rows_count(data);
        let want = if binary.contains(stream) && tuples.is_some_and(|n| n >= 4) {
            Transform::ColumnarCopy
        } else {
            Transform::None
        };
        assert_eq!(raw.transform(), want, "{codec}: frame {k}");
        if want == Transform::ColumnarCopy {
            assert!(raw.stored_len() < raw.raw_len());
        }
        dec.decode_into(&raw, &mut buf).unwrap();
        assert_eq!(&buf, data);
        assert_eq!(&raw.decode().unwrap().data, data);
    }
    assert_eq!(s.summary(), Some(&summary));
    bytes
}

/// Number of tuples of a [`binary_rows`] payload (`None` if it is not one).
fn binary_rows_count(data: &[u8]) -> Option<usize> {
    let mut pos = 0;
    let mut n = 0;
    while pos < data.len() {
        let nf = i16::from_be_bytes(data.get(pos..pos + 2)?.try_into().ok()?);
        if nf != 6 {
            return None;
        }
        pos += 2;
        for _ in 0..nf {
            let l = i32::from_be_bytes(data.get(pos..pos + 4)?.try_into().ok()?);
            pos += 4 + l.max(0) as usize;
        }
        n += 1;
    }
    Some(n)
}

#[test]
fn roundtrip_every_codec() {
    let toc = toc();
    let plan = plan();
    for codec in CODECS {
        check(&toc, &plan, codec);
    }
}

#[test]
fn empty_archive_and_empty_streams() {
    for codec in CODECS {
        check(&toc(), &Plan::new(), codec);
        check(&toc(), &vec![(1, Vec::new(), meta(0, 0))], codec);
    }
}

#[test]
fn compressed_and_stored_columnar_frames() {
    let toc = toc();
    // Random 64-byte values do not compress: the columnar form is stored as is (codec none).
    let mut random = Vec::new();
    for v in noise(5, 4 * 64).chunks(64) {
        random.extend_from_slice(&1i16.to_be_bytes());
        random.extend_from_slice(&64i32.to_be_bytes());
        random.extend_from_slice(v);
    }
    let plan: Plan = vec![
        (0, random.clone(), meta(4, 1)),
        (0, binary_rows(1, 500), meta(500, 2)),
    ];
    for codec in [Codec::Zstd { level: 1 }, Codec::Gzip { level: 6 }] {
        let (bytes, _) = write_columnar(&toc, &plan, codec, &[0]);
        assert_eq!(read_both(&bytes), expected(&toc, &plan));
        let r = ArchiveReader::open(bytes.as_slice()).unwrap();
        let f0 = r.read_raw_frame(&r.frames(0)[0]).unwrap();
        assert_eq!(
            (f0.codec(), f0.transform()),
            (CodecKind::None, Transform::ColumnarCopy)
        );
        assert_eq!(f0.stored_len(), random.len() as u64 - 2 * 4 + 6);
        let f1 = r.read_raw_frame(&r.frames(0)[1]).unwrap();
        assert_eq!(
            (f1.codec(), f1.transform()),
            (codec.kind(), Transform::ColumnarCopy)
        );
    }
}

#[test]
fn columnar_compresses_better_than_rows() {
    let data = binary_rows(3, 5000);
    for codec in [Codec::Zstd { level: 1 }, Codec::Zstd { level: 3 }] {
        let plain = EncodedFrame::encode(0, 0, &data, codec, meta(5000, 0)).unwrap();
        let col = EncodedFrame::encode_columnar(0, 0, &data, codec, meta(5000, 0)).unwrap();
        assert_eq!(col.transform(), Transform::ColumnarCopy);
        assert_eq!(plain.transform(), Transform::None);
        assert!(
            col.stored_len() < plain.stored_len(),
            "{codec}: columnar {} vs rows {}",
            col.stored_len(),
            plain.stored_len()
        );
    }
}

#[test]
fn encoders_fall_back_when_the_transform_does_not_apply() {
    let mut enc = FrameEncoder::new();
    let mut mixed = binary_rows(1, 10);
    mixed.extend_from_slice(&1i16.to_be_bytes());
    mixed.extend_from_slice(&(-1i32).to_be_bytes());
    for data in [
        rows(1, 100),
        binary_rows(2, 3),
        mixed,
        Vec::new(),
        noise(3, 1000),
    ] {
        for codec in CODECS {
            let plain = enc.encode(0, 0, &data, codec, meta(1, 2)).unwrap();
            let a = enc.encode_columnar(0, 0, &data, codec, meta(1, 2)).unwrap();
            let b =
                EncodedFrame::encode_owned_columnar(0, 0, data.clone(), codec, meta(1, 2)).unwrap();
            assert_eq!(a, plain);
            assert_eq!(b, plain);
            assert_eq!(a.transform(), Transform::None);
        }
    }
    // Limits and levels are checked as for plain frames.
    assert!(matches!(
        enc.encode_columnar(0, 0, b"", Codec::Gzip { level: 0 }, meta(0, 0)),
        Err(FormatError::Usage(_))
    ));
}

#[test]
fn option_off_writes_1_0_and_option_on_changes_only_the_header() {
    let toc = toc();
    let plan = plan();
    for codec in CODECS {
        let (plain, _) = write(&toc, &plan, codec);
        let r = ArchiveReader::open(plain.as_slice()).unwrap();
        assert_eq!(r.header().version, FORMAT_VERSION_1_0);
        assert_eq!(r.header().required_features, 0);
        // Declared, but no frame transformed: only version, feature bits and header CRC differ.
        let (declared, _) = write_columnar(&toc, &plan, codec, &[]);
        assert_eq!(declared.len(), plain.len());
        let hl = r.header().header_len as usize;
        let differ: Vec<usize> = (0..plain.len())
            .filter(|&i| plain[i] != declared[i])
            .collect();
        assert!(
            differ
                .iter()
                .all(|&i| i == 10 || i == 16 || (hl - 4..hl).contains(&i)),
            "{differ:?}"
        );
        assert_eq!(read_both(&declared), read_both(&plain));
    }
}

#[test]
fn writer_refuses_transformed_frames_it_did_not_declare() {
    let toc = toc();
    let f =
        EncodedFrame::encode_columnar(0, 0, &binary_rows(1, 10), Codec::None, meta(10, 1)).unwrap();
    assert_eq!(f.transform(), Transform::ColumnarCopy);
    let mut w = ArchiveWriter::new(Vec::new(), &toc, WriterOptions::default()).unwrap();
    match w.write_frame(&f) {
        Err(FormatError::Usage(m)) => assert!(m.contains("columnar_copy"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Nothing was written; the stream still expects seq 0.
    w.write_raw(0, 0, &binary_rows(1, 10), meta(10, 1)).unwrap();
    let (_, bytes) = w.finish().unwrap();
    assert_eq!(read_both(&bytes).streams[0][0].0, binary_rows(1, 10));

    // Declared, but the stream holds text COPY data.
    let opts = WriterOptions {
        columnar_copy: true,
        ..Default::default()
    };
    let mut w = ArchiveWriter::new(Vec::new(), &toc, opts).unwrap();
    let f =
        EncodedFrame::encode_columnar(2, 0, &binary_rows(1, 10), Codec::None, meta(10, 1)).unwrap();
    assert!(matches!(w.write_frame(&f), Err(FormatError::Usage(_))));
    // An undeclared stream is refused as such.
    let f =
        EncodedFrame::encode_columnar(9, 0, &binary_rows(1, 10), Codec::None, meta(10, 1)).unwrap();
    match w.write_frame(&f) {
        Err(FormatError::Usage(m)) => assert!(m.contains("declares only"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn write_raw_columnar() {
    let toc = toc();
    let data = binary_rows(4, 100);
    for columnar_copy in [false, true] {
        let mut w = ArchiveWriter::new(
            Vec::new(),
            &toc,
            WriterOptions {
                codec: Codec::Zstd { level: 1 },
                columnar_copy,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(w.required_features(), u64::from(columnar_copy));
        w.write_raw_columnar(0, 0, &data, meta(100, 1)).unwrap();
        // A text stream: stored plainly even when asked.
        w.write_raw_columnar(2, 0, &data, meta(100, 1)).unwrap();
        let (_, bytes) = w.finish().unwrap();
        let r = ArchiveReader::open(bytes.as_slice()).unwrap();
        let t0 = r.read_raw_frame(&r.frames(0)[0]).unwrap().transform();
        let t2 = r.read_raw_frame(&r.frames(2)[0]).unwrap().transform();
        let want = if columnar_copy {
            Transform::ColumnarCopy
        } else {
            Transform::None
        };
        assert_eq!((t0, t2), (want, Transform::None));
        assert_eq!(r.read_frame(&r.frames(0)[0]).unwrap().data, data);
        assert_eq!(r.read_frame(&r.frames(2)[0]).unwrap().data, data);
    }
}

#[test]
fn columnar_frames_above_the_eager_allocation_size() {
    // One frame larger than EAGER_ALLOC_RAW: the zstd decoder streams it, bounded by raw_len - 1.
    let mut toc = toc_with(&[1]);
    make_binary(&mut toc, 0);
    let mut big = Vec::with_capacity(EAGER_ALLOC_RAW + (1 << 20));
    let mut i = 0u32;
    while big.len() <= EAGER_ALLOC_RAW {
        big.extend_from_slice(&2i16.to_be_bytes());
        big.extend_from_slice(&4i32.to_be_bytes());
        big.extend_from_slice(&i.to_be_bytes());
        big.extend_from_slice(&1000i32.to_be_bytes());
        big.extend_from_slice(&[(i % 251) as u8; 1000]);
        i += 1;
    }
    let plan: Plan = vec![(0, big, meta(u64::from(i), 1))];
    for codec in [Codec::Zstd { level: 1 }, Codec::Gzip { level: 1 }] {
        let (bytes, _) = write_columnar(&toc, &plan, codec, &[0]);
        let r = ArchiveReader::open(bytes.as_slice()).unwrap();
        assert_eq!(
            r.read_raw_frame(&r.frames(0)[0]).unwrap().transform(),
            Transform::ColumnarCopy
        );
        assert_eq!(read_both(&bytes), expected(&toc, &plan));
    }
}

fn field() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        2 => Just(None),
        2 => Just(Some(Vec::new())),
        6 => proptest::collection::vec(any::<u8>(), 1..10).prop_map(Some),
        6 => (any::<u64>(), 1usize..10).prop_map(|(s, n)| Some(s.to_be_bytes()[..n.min(8)].to_vec())),
        1 => proptest::collection::vec(any::<u8>(), 100..600).prop_map(Some),
    ]
}

/// A frame of binary COPY tuples, all of `nf` fields.
fn tuples(nf: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(proptest::collection::vec(field(), nf..=nf), 0..30).prop_map(|rows| {
        let mut out = Vec::new();
        for r in rows {
            out.extend_from_slice(&(r.len() as i16).to_be_bytes());
            for f in r {
                match f {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(v) => {
                        out.extend_from_slice(&(v.len() as i32).to_be_bytes());
                        out.extend_from_slice(&v);
                    }
                }
            }
        }
        out
    })
}

fn codec() -> impl Strategy<Value = Codec> {
    prop_oneof![
        Just(Codec::None),
        (1i32..=3).prop_map(|level| Codec::Zstd { level }),
        (1u32..=9).prop_map(|level| Codec::Gzip { level }),
    ]
}

/// Random binary frames over streams 0, 1, 3 (binary) and text frames over stream 2.
fn archive_input() -> impl Strategy<Value = (Plan, Codec)> {
    (
        proptest::collection::vec(
            (
                0u32..4,
                prop_oneof![tuples(0), tuples(1), tuples(3), tuples(7)],
                0u64..1000,
                any::<u64>(),
            ),
            0..12,
        ),
        codec(),
    )
        .prop_map(|(frames, codec)| {
            let plan = frames
                .into_iter()
                .map(|(s, p, r, h)| {
                    let p = if s == 2 {
                        rows(h, (r % 20) as usize)
                    } else {
                        p
                    };
                    (s, p, meta(r, h))
                })
                .collect();
            (plan, codec)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn roundtrip((plan, codec) in archive_input()) {
        let toc = toc();
        let (bytes, summary) = write_columnar(&toc, &plan, codec, &[0, 1, 3]);
        prop_assert_eq!(read_both(&bytes), expected(&toc, &plan));
        prop_assert_eq!(summary.frames, plan.len() as u64);
    }

    #[test]
    fn any_byte_change_is_detected(
        (plan, codec) in archive_input(),
        pos in any::<prop::sample::Index>(),
        x in 1u8..=255,
    ) {
        let (bytes, _) = write_columnar(&toc(), &plan, codec, &[0, 1, 3]);
        let mut bad = bytes.clone();
        let i = pos.index(bad.len());
        bad[i] ^= x;
        prop_assert!(read_random(&bad).is_err(), "random reader accepted a change at byte {}", i);
        prop_assert!(read_stream(&bad).is_err(), "stream reader accepted a change at byte {}", i);
    }
}
