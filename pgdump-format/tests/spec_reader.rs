//! A second reader, written from FORMAT.md alone (it uses none of this crate's decoding
//! code), run over the golden archives and compared with the crate's readers. If the spec
//! and the implementation drift apart, this test fails.

mod common;

use std::io::Read;

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}
fn crc(b: &[u8]) -> u32 {
    crc32c::crc32c(b)
}

fn decode(codec: u8, stored: &[u8], raw_len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    match codec {
        0 => out.extend_from_slice(stored),
        1 => {
            zstd::stream::read::Decoder::new(stored)
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
        }
        2 => {
            let mut d = flate2::bufread::GzDecoder::new(stored);
            d.read_to_end(&mut out).unwrap();
            assert!(d.into_inner().is_empty(), "bytes after the gzip member");
        }
        c => panic!("codec {c}"),
    }
    assert_eq!(out.len(), raw_len);
    out
}

/// §6.4: rebuilds binary COPY tuples from the columnar form, with the checks the spec lists.
fn uncolumnar(t: &[u8], raw_len: usize) -> Vec<u8> {
    assert!(t.len() >= 6 && t.len() < raw_len);
    let rows = u32::from_be_bytes(t[0..4].try_into().unwrap()) as usize;
    let nfields = u16::from_be_bytes(t[4..6].try_into().unwrap()) as usize;
    assert!(nfields <= 32767);
    let lengths_len = (rows as u64 * nfields as u64 * 4) as usize;
    assert!(lengths_len <= t.len() - 6);
    assert_eq!(2 * rows + (t.len() - 6), raw_len);
    let lengths: Vec<i32> = t[6..6 + lengths_len]
        .chunks(4)
        .map(|c| i32::from_be_bytes(c.try_into().unwrap()))
        .collect();
    assert!(lengths.iter().all(|&l| l >= -1));
    let values = &t[6 + lengths_len..];
    let total: usize = lengths.iter().map(|&l| l.max(0) as usize).sum();
    assert_eq!(total, values.len());
    // Where each field's values start.
    let mut next = Vec::new();
    let mut at = 0;
    for j in 0..nfields {
        next.push(at);
        at += (0..rows)
            .map(|i| lengths[j * rows + i].max(0) as usize)
            .sum::<usize>();
    }
    let mut out = Vec::new();
    for i in 0..rows {
        out.extend_from_slice(&(nfields as i16).to_be_bytes());
        for j in 0..nfields {
            let l = lengths[j * rows + i];
            out.extend_from_slice(&l.to_be_bytes());
            let n = l.max(0) as usize;
            out.extend_from_slice(&values[next[j]..next[j] + n]);
            next[j] += n;
        }
    }
    assert_eq!(out.len(), raw_len);
    out
}

struct Parsed {
    toc: serde_json::Value,
    /// Per stream: (payload, rows, content_hash).
    streams: Vec<Vec<(Vec<u8>, u64, u64)>>,
}

/// Reads an archive front to back per FORMAT.md §4–§8, and cross-checks the footer and index.
fn spec_read(b: &[u8]) -> Parsed {
    // §4 header
    assert_eq!(&b[0..8], b"\x89PGDUMP\n");
    let version = (u16_at(b, 8), u16_at(b, 10));
    let hl = u32_at(b, 12) as usize;
    assert!((38..=65536).contains(&hl));
    assert_eq!(crc(&b[..hl - 4]), u32_at(b, hl - 4));
    // §11: 1.0 without feature bits, or 1.1 with bit 0 (columnar frames).
    let features = u64_at(b, 16);
    match version {
        (1, 0) => assert_eq!(features, 0, "required features"),
        (1, 1) => assert_eq!(features, 1, "required features"),
        v => panic!("version {v:?}"),
    }
    assert_eq!(u64_at(b, 24), 0, "optional features");
    let tool_len = u16_at(b, 32) as usize;
    assert_eq!(
        std::str::from_utf8(&b[34..34 + tool_len]).unwrap(),
        "pgdump 0.1.0"
    );
    // §5 TOC
    let t = hl;
    assert_eq!(&b[t..t + 4], b"PTOC");
    assert_eq!(crc(&b[t..t + 32]), u32_at(b, t + 32));
    let (raw_len, stored_len) = (u64_at(b, t + 8) as usize, u64_at(b, t + 16) as usize);
    let stored = &b[t + 36..t + 36 + stored_len];
    assert_eq!(crc(stored), u32_at(b, t + 24));
    let json = decode(b[t + 4], stored, raw_len);
    assert_eq!(crc(&json), u32_at(b, t + 28));
    let toc: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let nstreams = toc["streams"].as_array().unwrap().len();
    // §6 frames
    let mut pos = t + 36 + stored_len;
    let mut streams = vec![Vec::new(); nstreams];
    let mut seen = Vec::new();
    while &b[pos..pos + 4] == b"PFRM" {
        let h = &b[pos..pos + 52];
        assert_eq!(crc(&h[..48]), u32_at(h, 48));
        let (stream, seq, codec, transform) = (u32_at(h, 4) as usize, u32_at(h, 8), h[12], h[13]);
        let (raw_len, stored_len) = (u32_at(h, 16) as usize, u32_at(h, 20) as usize);
        assert!(stored_len <= raw_len && raw_len <= 1 << 30);
        assert_eq!(seq as usize, streams[stream].len());
        let stored = &b[pos + 52..pos + 52 + stored_len];
        assert_eq!(crc(stored), u32_at(h, 40));
        let raw = match transform {
            0 => decode(codec, stored, raw_len),
            1 => {
                assert_eq!(features & 1, 1, "transform 1 needs feature bit 0");
                // §13: the decompressed size of a transformed frame is below raw_len.
                let mut t = Vec::new();
                match codec {
                    0 => t.extend_from_slice(stored),
                    1 => {
                        zstd::stream::read::Decoder::new(stored)
                            .unwrap()
                            .take(raw_len as u64)
                            .read_to_end(&mut t)
                            .unwrap();
                    }
                    _ => {
                        flate2::bufread::GzDecoder::new(stored)
                            .take(raw_len as u64)
                            .read_to_end(&mut t)
                            .unwrap();
                    }
                }
                uncolumnar(&t, raw_len)
            }
            t => panic!("transform {t}"),
        };
        assert_eq!(crc(&raw), u32_at(h, 44));
        if codec == 0 && transform == 0 {
            assert_eq!(u32_at(h, 40), u32_at(h, 44));
            assert_eq!(stored_len, raw_len);
        } else {
            assert!(stored_len < raw_len);
        }
        streams[stream].push((raw, u64_at(h, 24), u64_at(h, 32)));
        seen.push((
            pos as u64,
            stream as u32,
            seq,
            raw_len as u32,
            stored_len as u32,
            u64_at(h, 24),
            u64_at(h, 32),
        ));
        pos += 52 + stored_len;
    }
    // §7 index
    let i = pos;
    assert_eq!(&b[i..i + 4], b"PIDX");
    assert_eq!(crc(&b[i..i + 36]), u32_at(b, i + 36));
    let (sel, fel) = (u16_at(b, i + 4) as usize, u16_at(b, i + 6) as usize);
    let (sc, fc) = (u32_at(b, i + 8) as usize, u64_at(b, i + 16) as usize);
    let body_len = u64_at(b, i + 24) as usize;
    assert_eq!(body_len, sc * sel + fc * fel);
    let body = &b[i + 40..i + 40 + body_len];
    assert_eq!(crc(body), u32_at(b, i + 32));
    assert_eq!(sc, nstreams);
    for s in 0..sc {
        let e = &body[s * sel..];
        assert_eq!(u32_at(e, 0) as usize, s);
        let frames = &streams[s];
        assert_eq!(u64_at(e, 8), frames.len() as u64);
        assert_eq!(u64_at(e, 16), frames.iter().map(|f| f.1).sum::<u64>());
        assert_eq!(
            u64_at(e, 24),
            frames.iter().map(|f| f.0.len() as u64).sum::<u64>()
        );
        assert_eq!(
            u64_at(e, 40),
            frames.iter().fold(0u64, |a, f| a.wrapping_add(f.2))
        );
    }
    assert_eq!(fc, seen.len());
    for (k, want) in seen.iter().enumerate() {
        let e = &body[sc * sel + k * fel..];
        let got = (
            u64_at(e, 0),
            u32_at(e, 8),
            u32_at(e, 12),
            u32_at(e, 16),
            u32_at(e, 20),
            u64_at(e, 24),
            u64_at(e, 32),
        );
        assert_eq!(&got, want);
    }
    // §8 footer
    let f = i + 40 + body_len;
    assert_eq!(f + 32, b.len());
    assert_eq!(&b[f + 24..], b"\x89PGDEND\n");
    assert_eq!(crc(&b[f..f + 20]), u32_at(b, f + 20));
    assert_eq!(u64_at(b, f), i as u64);
    assert_eq!(u64_at(b, f + 8), (40 + body_len) as u64);
    assert_eq!(u32_at(b, f + 16), crc(&b[i..f]));
    Parsed { toc, streams }
}

#[test]
fn golden_archives_follow_the_spec() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "pgdump") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let spec = spec_read(&bytes);
        let ours = common::read_both(&bytes);
        assert_eq!(
            spec.toc,
            serde_json::to_value(&ours.toc).unwrap(),
            "{}",
            path.display()
        );
        let ours_streams: Vec<Vec<(Vec<u8>, u64, u64)>> = ours
            .streams
            .into_iter()
            .map(|s| {
                s.into_iter()
                    .map(|(d, m)| (d, m.rows, m.content_hash))
                    .collect()
            })
            .collect();
        assert_eq!(spec.streams, ours_streams, "{}", path.display());
        n += 1;
    }
    assert_eq!(n, 5);
}
