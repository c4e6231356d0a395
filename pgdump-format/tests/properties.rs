//! Property tests: random TOCs and interleavings round-trip; every single-byte change and
//! every truncation of an archive is detected by both readers.

mod common;

use common::*;
use pgdump_format::{Codec, FrameMeta, Toc};
use proptest::prelude::*;

fn codec() -> impl Strategy<Value = Codec> {
    prop_oneof![
        Just(Codec::None),
        (1i32..=5).prop_map(|level| Codec::Zstd { level }),
        (1u32..=9).prop_map(|level| Codec::Gzip { level }),
    ]
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        (any::<u64>(), 0usize..60).prop_map(|(s, n)| rows(s, n)),
        (any::<u8>(), 0usize..2000).prop_map(|(b, n)| vec![b; n]),
    ]
}

/// A random TOC (tables split into random numbers of streams, random names) and a random
/// interleaving of frames over its streams.
fn archive_input() -> impl Strategy<Value = (Toc, Plan, Codec)> {
    (
        proptest::collection::vec(1u32..4, 0..5),
        "\\PC{0,12}",
        codec(),
    )
        .prop_flat_map(|(parts, name, codec)| {
            let mut toc = toc_with(&parts);
            toc.info.database = name.clone();
            if let Some(e) = toc.entries.get_mut(1) {
                e.name = name;
            }
            let n = toc.streams.len() as u32;
            let frames = if n == 0 {
                Just(Vec::new()).boxed()
            } else {
                proptest::collection::vec((0..n, payload(), 0u64..1 << 40, any::<u64>()), 0..20)
                    .prop_map(|v| {
                        v.into_iter()
                            .map(|(s, p, rows, h)| {
                                (
                                    s,
                                    p,
                                    FrameMeta {
                                        rows,
                                        content_hash: h,
                                    },
                                )
                            })
                            .collect::<Plan>()
                    })
                    .boxed()
            };
            (Just(toc), frames, Just(codec))
        })
}

fn small_archive() -> impl Strategy<Value = Vec<u8>> {
    archive_input().prop_map(|(toc, plan, codec)| write(&toc, &plan, codec).0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn roundtrip((toc, plan, codec) in archive_input()) {
        let (bytes, summary) = write(&toc, &plan, codec);
        let got = read_both(&bytes);
        prop_assert_eq!(&got, &expected(&toc, &plan));
        prop_assert_eq!(summary.frames, plan.len() as u64);
    }

    #[test]
    fn any_byte_change_is_detected(bytes in small_archive(), pos in any::<prop::sample::Index>(), x in 1u8..=255) {
        let mut bad = bytes.clone();
        let i = pos.index(bad.len());
        bad[i] ^= x;
        prop_assert!(read_random(&bad).is_err(), "random reader accepted a change at byte {}", i);
        prop_assert!(read_stream(&bad).is_err(), "stream reader accepted a change at byte {}", i);
    }

    #[test]
    fn any_truncation_is_rejected(bytes in small_archive(), pos in any::<prop::sample::Index>()) {
        let cut = pos.index(bytes.len());
        prop_assert!(read_random(&bytes[..cut]).is_err());
        prop_assert!(read_stream(&bytes[..cut]).is_err());
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), prefix in any::<bool>()) {
        // Optionally behind a valid magic, so the decoders get past the first check.
        let mut input = if prefix { b"\x89PGDUMP\n".to_vec() } else { Vec::new() };
        input.extend_from_slice(&bytes);
        let _ = read_random(&input);
        let _ = read_stream(&input);
    }
}

/// Exhaustive version of the byte-change property for one small archive per codec:
/// every position, one flipped bit.
#[test]
fn every_bit_position_of_a_small_archive() {
    let toc = toc_with(&[1, 2]);
    let plan: Plan = vec![
        (
            0,
            rows(1, 5),
            FrameMeta {
                rows: 5,
                content_hash: 1,
            },
        ),
        (
            2,
            b"x".to_vec(),
            FrameMeta {
                rows: 1,
                content_hash: 2,
            },
        ),
        (0, Vec::new(), FrameMeta::default()),
    ];
    for codec in CODECS {
        let (bytes, _) = write(&toc, &plan, codec);
        for i in 0..bytes.len() {
            for bit in [0, 3, 7] {
                let mut bad = bytes.clone();
                bad[i] ^= 1 << bit;
                assert!(read_random(&bad).is_err(), "{codec}: byte {i} bit {bit}");
                assert!(read_stream(&bad).is_err(), "{codec}: byte {i} bit {bit}");
            }
        }
    }
}
