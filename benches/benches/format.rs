//! Throughput of the archive format, per codec: writing (encode + checksum + write),
//! reading at random (read_frame + decode) and streaming (next_frame + decode), on
//! COPY-text-like rows; plus CRC-32C alone. Single-threaded: numbers are per core.
//!
//! cargo bench -p pgdump-benches --bench format -- --warm-up-time 1 --measurement-time 3
//!
//! On Linux the benchmark measures the *CPU time of the benchmarking thread* (from
//! `/proc/thread-self/schedstat`) rather than wall time, so that "MiB/s per core" stays
//! meaningful on a machine shared with other work. Set `PGDUMP_BENCH_WALL=1` to measure wall
//! time instead (and on systems without that file).

mod common;

use std::hint::black_box;
use std::io;

use criterion::measurement::Measurement;
use criterion::{BenchmarkId, Criterion, Throughput};
use pgdump_format::{
    ArchiveReader, ArchiveWriter, Codec, EncodedFrame, FrameMeta, StreamDecl, StreamReader,
    TableData, Toc, TocEntry, WriterOptions, DEFAULT_FRAME_SIZE,
};

const DATA_BYTES: usize = 32 << 20;
const CODECS: [&str; 5] = ["none", "zstd:1", "zstd:3", "gzip:1", "gzip:6"];
const STREAMS: u32 = 2;

const WORDS: [&str; 16] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// ~32 MiB of COPY text rows: id, timestamp, word, md5 hex, numeric, int.
fn copy_rows() -> Vec<u8> {
    use std::fmt::Write;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut s = String::with_capacity(DATA_BYTES + 256);
    let mut id = 1u64;
    while s.len() < DATA_BYTES {
        let r = rng.next();
        let ts = 1_700_000_000 + (r % 40_000_000);
        let (day, secs) = (ts / 86_400, ts % 86_400);
        let md5 = (rng.next() as u128) << 64 | rng.next() as u128;
        let _ = writeln!(
            s,
            "{id}\t2024-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00\t{}\t{md5:032x}\t{}.{:02}\t{}",
            day % 12 + 1,
            day % 28 + 1,
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            r % 1_000_000,
            WORDS[(r >> 20) as usize % WORDS.len()],
            (r >> 8) % 100_000,
            (r >> 40) % 100,
            (r >> 32) as i32 % 5000,
        );
        id += 1;
    }
    s.into_bytes()
}

/// Cuts rows into frames of at most `DEFAULT_FRAME_SIZE`, ending on row boundaries.
fn frames(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let max = rest.len().min(DEFAULT_FRAME_SIZE);
        let cut = if max == rest.len() {
            max
        } else {
            rest[..max]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(max, |p| p + 1)
        };
        let (f, r) = rest.split_at(cut);
        out.push(f);
        rest = r;
    }
    out
}

fn toc() -> Toc {
    let mut toc = Toc::default();
    toc.info.tool = "pgdump-bench".into();
    toc.entries.push(TocEntry {
        id: 1,
        kind: "TABLE DATA".into(),
        name: "bench".into(),
        data: Some(TableData {
            streams: (0..STREAMS).collect(),
            ..Default::default()
        }),
        ..Default::default()
    });
    toc.streams = (0..STREAMS)
        .map(|id| StreamDecl {
            id,
            entry: 1,
            part: id,
            ..Default::default()
        })
        .collect();
    toc
}

fn write_archive<W: io::Write>(w: W, toc: &Toc, frames: &[&[u8]], codec: Codec) -> W {
    let mut aw = ArchiveWriter::new(
        w,
        toc,
        WriterOptions {
            codec,
            ..Default::default()
        },
    )
    .unwrap();
    let mut seqs = [0u32; STREAMS as usize];
    for (i, f) in frames.iter().enumerate() {
        let s = i as u32 % STREAMS;
        let seq = seqs[s as usize];
        seqs[s as usize] += 1;
        let meta = FrameMeta {
            rows: f.len() as u64 / 100,
            content_hash: i as u64,
        };
        aw.write_frame(&EncodedFrame::encode(s, seq, f, codec, meta).unwrap())
            .unwrap();
    }
    aw.finish().unwrap().1
}

fn bench_format<M: Measurement>(c: &mut Criterion<M>) {
    let data = copy_rows();
    let frames = frames(&data);
    let toc = toc();
    let bytes = Throughput::Bytes(data.len() as u64);

    let mut g = c.benchmark_group("crc32c");
    g.throughput(bytes.clone());
    g.bench_function("32MiB", |b| {
        b.iter(|| pgdump_format::checksum::crc32c(black_box(&data)))
    });
    g.finish();

    let archives: Vec<(&str, Vec<u8>)> = CODECS
        .iter()
        .map(|&name| {
            (
                name,
                write_archive(Vec::new(), &toc, &frames, name.parse().unwrap()),
            )
        })
        .collect();
    for (name, a) in &archives {
        eprintln!(
            "{name}: {} raw bytes -> {} archive bytes (ratio {:.2})",
            data.len(),
            a.len(),
            data.len() as f64 / a.len() as f64
        );
    }

    let mut g = c.benchmark_group("write");
    g.throughput(bytes.clone()).sample_size(10);
    for name in CODECS {
        let codec: Codec = name.parse().unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(name), &codec, |b, &codec| {
            b.iter(|| write_archive(io::sink(), &toc, &frames, codec))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("read_random");
    g.throughput(bytes.clone()).sample_size(10);
    for (name, a) in &archives {
        g.bench_with_input(BenchmarkId::from_parameter(name), a, |b, a| {
            b.iter(|| {
                let r = ArchiveReader::open(a.as_slice()).unwrap();
                let mut n = 0;
                for s in 0..STREAMS {
                    for loc in r.frames(s) {
                        n += r.read_frame(loc).unwrap().data.len();
                    }
                }
                assert_eq!(n, data.len());
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("read_stream");
    g.throughput(bytes).sample_size(10);
    for (name, a) in &archives {
        g.bench_with_input(BenchmarkId::from_parameter(name), a, |b, a| {
            b.iter(|| {
                let mut r = StreamReader::new(a.as_slice()).unwrap();
                let mut n = 0;
                while let Some(raw) = r.next_frame().unwrap() {
                    n += raw.decode().unwrap().data.len();
                }
                assert_eq!(n, data.len());
            })
        });
    }
    g.finish();
}

fn main() {
    run_benches!(bench_format);
}
