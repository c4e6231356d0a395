//! Stored size and speed of binary COPY frames with and without the columnar transform.
//!
//! ```sh
//! cargo run --release -p pgdump-format --example columnar_size [MB] [zstd level ...]
//! ```
//!
//! Generates synthetic rows of mixed types (int8 id, int4 with NULLs, timestamptz, numeric,
//! text, uuid, md5-hex text, small int4[]) as binary COPY tuples and as text COPY lines, cuts
//! them into 4 MiB frames like pgdump does, and prints, per codec: stored bytes of text
//! rows, binary rows and columnar binary rows, and single-thread encode and decode speed
//! (MB/s of raw bytes; decode includes the stored and raw CRC checks).

use std::time::Instant;

use pgdump_format::{
    columnar, ArchiveReader, ArchiveWriter, Codec, CopyFormat, EncodedFrame, FrameDecoder,
    FrameMeta, StreamDecl, TableData, Toc, TocEntry, Transform, WriterOptions, DEFAULT_FRAME_SIZE,
};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: [&str; 16] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa",
];

/// One row, appended as a binary COPY tuple to `bin` and as a text COPY line to `text`.
fn row(i: u64, rng: &mut Rng, bin: &mut Vec<u8>, text: &mut Vec<u8>) {
    let mut cols: Vec<(Option<Vec<u8>>, String)> = Vec::new();
    // int8 id
    cols.push((Some((i as i64).to_be_bytes().to_vec()), i.to_string()));
    // int4, 10% NULL, skewed small values
    if rng.below(10) == 0 {
        cols.push((None, "\\N".into()));
    } else {
        let v = (rng.below(1000) * rng.below(1000) / 1000) as i32;
        cols.push((Some(v.to_be_bytes().to_vec()), v.to_string()));
    }
    // timestamptz: microseconds since 2000-01-01, about one row per second, with jitter
    let us = 820_000_000_000_000i64 + i as i64 * 1_000_000 + rng.below(900_000) as i64;
    let secs = us / 1_000_000;
    cols.push((
        Some(us.to_be_bytes().to_vec()),
        format!(
            "2026-01-{:02} {:02}:{:02}:{:02}.{:06}+00",
            1 + (secs / 86400) % 28,
            (secs / 3600) % 24,
            (secs / 60) % 60,
            secs % 60,
            us % 1_000_000
        ),
    ));
    // numeric(10,2): price 0.00 .. 9999.99, binary NUMERIC (base-10000 digits)
    let cents = rng.below(1_000_000);
    let (int_part, frac) = (cents / 100, cents % 100);
    let mut digits: Vec<i16> = Vec::new();
    let mut weight: i16 = -1;
    if int_part > 0 {
        digits.push(int_part as i16);
        weight = 0;
    }
    if frac > 0 {
        digits.push((frac * 100) as i16);
    }
    let mut num = Vec::new();
    num.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    num.extend_from_slice(&(if digits.is_empty() { 0 } else { weight }).to_be_bytes());
    num.extend_from_slice(&0u16.to_be_bytes());
    num.extend_from_slice(&2u16.to_be_bytes());
    for d in &digits {
        num.extend_from_slice(&d.to_be_bytes());
    }
    cols.push((Some(num), format!("{int_part}.{frac:02}")));
    // text: two words and a number
    let name = format!(
        "{} {} {}",
        WORDS[rng.below(16) as usize],
        WORDS[rng.below(16) as usize],
        rng.below(10_000)
    );
    cols.push((Some(name.clone().into_bytes()), name));
    // uuid: random
    let u = [rng.next().to_be_bytes(), rng.next().to_be_bytes()].concat();
    let hex: String = u.iter().map(|b| format!("{b:02x}")).collect();
    let uuid_text = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    cols.push((Some(u), uuid_text));
    // md5 hex text
    let md5: String = [rng.next(), rng.next()]
        .iter()
        .map(|x| format!("{x:016x}"))
        .collect();
    cols.push((Some(md5.clone().into_bytes()), md5));
    // int4[] of 0..5 small elements, 5% NULL
    if rng.below(20) == 0 {
        cols.push((None, "\\N".into()));
    } else {
        let n = rng.below(6) as i32;
        let vals: Vec<i32> = (0..n).map(|_| rng.below(100) as i32).collect();
        let mut a = Vec::new();
        if n == 0 {
            a.extend_from_slice(&0i32.to_be_bytes()); // ndim
            a.extend_from_slice(&0i32.to_be_bytes()); // has nulls
            a.extend_from_slice(&23i32.to_be_bytes()); // int4
        } else {
            a.extend_from_slice(&1i32.to_be_bytes());
            a.extend_from_slice(&0i32.to_be_bytes());
            a.extend_from_slice(&23i32.to_be_bytes());
            a.extend_from_slice(&n.to_be_bytes()); // dim
            a.extend_from_slice(&1i32.to_be_bytes()); // lower bound
            for v in &vals {
                a.extend_from_slice(&4i32.to_be_bytes());
                a.extend_from_slice(&v.to_be_bytes());
            }
        }
        let t = format!(
            "{{{}}}",
            vals.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        cols.push((Some(a), t));
    }

    bin.extend_from_slice(&(cols.len() as i16).to_be_bytes());
    for (k, (b, t)) in cols.iter().enumerate() {
        match b {
            None => bin.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                bin.extend_from_slice(&(b.len() as i32).to_be_bytes());
                bin.extend_from_slice(b);
            }
        }
        if k > 0 {
            text.push(b'\t');
        }
        text.extend_from_slice(t.as_bytes());
    }
    text.push(b'\n');
}

/// Frames of about `DEFAULT_FRAME_SIZE` bytes, cut on row boundaries, binary and text.
fn frames(total: usize) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, u64) {
    let mut rng = Rng(42);
    let (mut bins, mut texts) = (Vec::new(), Vec::new());
    let (mut bin, mut text) = (Vec::new(), Vec::new());
    let mut produced = 0;
    let mut i = 0u64;
    while produced < total {
        row(i, &mut rng, &mut bin, &mut text);
        i += 1;
        if bin.len() >= DEFAULT_FRAME_SIZE {
            produced += bin.len();
            bins.push(std::mem::take(&mut bin));
        }
        if text.len() >= DEFAULT_FRAME_SIZE {
            texts.push(std::mem::take(&mut text));
        }
    }
    if !text.is_empty() {
        texts.push(text);
    }
    (bins, texts, i)
}

fn toc(binary: bool) -> Toc {
    let mut toc = Toc::default();
    toc.entries.push(TocEntry {
        id: 1,
        kind: "TABLE DATA".into(),
        name: "t".into(),
        data: Some(TableData {
            format: if binary {
                CopyFormat::Binary
            } else {
                CopyFormat::Text
            },
            streams: vec![0],
            ..Default::default()
        }),
        ..Default::default()
    });
    toc.streams.push(StreamDecl {
        id: 0,
        entry: 1,
        ..Default::default()
    });
    toc
}

struct Run {
    stored: u64,
    encode_s: f64,
    decode_s: f64,
}

/// Encodes `frames` (columnar or not) into an archive, then reads and decodes every frame.
fn run(frames: &[Vec<u8>], codec: Codec, binary: bool, columnar: bool) -> Run {
    let t = Instant::now();
    let encoded: Vec<EncodedFrame> = frames
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let meta = FrameMeta::default();
            if columnar {
                EncodedFrame::encode_columnar(0, k as u32, f, codec, meta).unwrap()
            } else {
                EncodedFrame::encode(0, k as u32, f, codec, meta).unwrap()
            }
        })
        .collect();
    let encode_s = t.elapsed().as_secs_f64();
    if columnar {
        assert!(encoded
            .iter()
            .all(|f| f.transform() == Transform::ColumnarCopy));
    }
    let opts = WriterOptions {
        codec,
        columnar_copy: columnar,
        ..Default::default()
    };
    let mut w = ArchiveWriter::new(Vec::new(), &toc(binary), opts).unwrap();
    for f in &encoded {
        w.write_frame(f).unwrap();
    }
    let (summary, bytes) = w.finish().unwrap();
    let r = ArchiveReader::open(bytes.as_slice()).unwrap();
    let raws: Vec<_> = r
        .frames(0)
        .iter()
        .map(|l| r.read_raw_frame(l).unwrap())
        .collect();
    let mut dec = FrameDecoder::new();
    let mut out = Vec::new();
    let t = Instant::now();
    for (raw, want) in raws.iter().zip(frames) {
        dec.decode_into(raw, &mut out).unwrap();
        assert_eq!(out.len(), want.len());
    }
    let decode_s = t.elapsed().as_secs_f64();
    Run {
        stored: summary.stored_bytes,
        encode_s,
        decode_s,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mb: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let mut levels: Vec<i32> = args.filter_map(|a| a.parse().ok()).collect();
    if levels.is_empty() {
        levels = vec![1, 3];
    }
    let (bins, texts, rows) = frames(mb << 20);
    let bin_bytes: usize = bins.iter().map(Vec::len).sum();
    let text_bytes: usize = texts.iter().map(Vec::len).sum();
    println!(
        "{rows} rows; binary COPY {:.1} MB in {} frames, text COPY {:.1} MB in {} frames",
        bin_bytes as f64 / 1e6,
        bins.len(),
        text_bytes as f64 / 1e6,
        texts.len()
    );

    // The transform alone.
    let t = Instant::now();
    let cols: Vec<Vec<u8>> = bins
        .iter()
        .map(|f| columnar::to_columnar(f).unwrap())
        .collect();
    let fwd = t.elapsed().as_secs_f64();
    let mut back = Vec::new();
    let t = Instant::now();
    for (c, f) in cols.iter().zip(&bins) {
        columnar::from_columnar_into(c, f.len(), &mut back).unwrap();
        assert_eq!(back.len(), f.len());
    }
    let inv = t.elapsed().as_secs_f64();
    let mbs = |s: f64| bin_bytes as f64 / 1e6 / s;
    println!(
        "transform alone: to_columnar {:.0} MB/s, from_columnar {:.0} MB/s",
        mbs(fwd),
        mbs(inv)
    );

    println!(
        "{:<9} {:<16} {:>11} {:>8} {:>12} {:>12}",
        "codec", "data", "stored MB", "vs bin", "encode MB/s", "decode MB/s"
    );
    let mut codecs: Vec<Codec> = levels.iter().map(|&level| Codec::Zstd { level }).collect();
    codecs.push(Codec::Gzip { level: 6 });
    for codec in codecs {
        let text = run(&texts, codec, false, false);
        let plain = run(&bins, codec, true, false);
        let col = run(&bins, codec, true, true);
        for (name, r, raw) in [
            ("text COPY", &text, text_bytes),
            ("binary rows", &plain, bin_bytes),
            ("binary columnar", &col, bin_bytes),
        ] {
            println!(
                "{:<9} {:<16} {:>11.2} {:>7.1}% {:>12.0} {:>12.0}",
                codec.to_string(),
                name,
                r.stored as f64 / 1e6,
                100.0 * (r.stored as f64 / plain.stored as f64 - 1.0),
                raw as f64 / 1e6 / r.encode_s,
                raw as f64 / 1e6 / r.decode_s
            );
        }
    }
}
