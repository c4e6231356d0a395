//! The dump's data path without a server: re-chunking a COPY stream into frames of
//! whole rows (`copy_data::Chunker`, fed one CopyData message per row as the server
//! sends it, and in 64 KiB pieces), hashing rows (`copy_data::row_hash`), and turning
//! binary COPY tuples back into text COPY rows (`copy_text::frame_to_text`, used by
//! `pgdump sql`). Input: 32 MiB of the e2e benchmark's "wide" table (12 mixed columns).
//! Throughput is per core (CPU time of the benchmarking thread; see `common`).
//!
//! cargo bench -p pgdump-benches --bench copy -- --warm-up-time 1 --measurement-time 3

mod common;

use std::hint::black_box;

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};
use pgdump_benches::synth;
use pgdump_core::copy_data::{binary_header, for_each_row, row_hash, Chunker, BINARY_TRAILER};
use pgdump_format::{CopyFormat, DEFAULT_FRAME_SIZE};

const BYTES: usize = 32 << 20;

/// Feeds `pieces` of `data` into a chunker; returns (frames, rows).
fn chunk(format: CopyFormat, data: &[u8], pieces: &[(usize, usize)]) -> (usize, u64) {
    let mut c = Chunker::new(format, DEFAULT_FRAME_SIZE);
    let mut out = Vec::new();
    let (mut frames, mut rows) = (0, 0);
    for &(s, e) in pieces {
        c.push(&data[s..e], &mut out).unwrap();
        for f in out.drain(..) {
            frames += 1;
            rows += f.rows;
            black_box(f);
        }
    }
    if let Some(f) = c.finish().unwrap() {
        frames += 1;
        rows += f.rows;
    }
    (frames, rows)
}

fn fixed_pieces(len: usize, size: usize) -> Vec<(usize, usize)> {
    (0..len)
        .step_by(size)
        .map(|s| (s, (s + size).min(len)))
        .collect()
}

/// Cuts concatenated rows into frames of at most `DEFAULT_FRAME_SIZE` on row boundaries.
fn frames(rows: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut end = 0;
    for &(_, e) in rows {
        if e - start > DEFAULT_FRAME_SIZE && end > start {
            out.push((start, end));
            start = end;
        }
        end = e;
    }
    if end > start {
        out.push((start, end));
    }
    out
}

fn bench_copy<M: Measurement>(c: &mut Criterion<M>) {
    let (bin, rows) = synth::wide_binary_tuples(BYTES);
    let text = synth::wide_text_rows(&bin);
    let text_rows = synth::row_ranges(CopyFormat::Text, &text);
    let bin_rows = synth::row_ranges(CopyFormat::Binary, &bin);
    // The binary stream as the server sends it: the header arrives with the first
    // tuple, the trailer as a message of its own.
    let header = binary_header();
    let mut stream = header.clone();
    stream.extend_from_slice(&bin);
    stream.extend_from_slice(&BINARY_TRAILER);
    let h = header.len();
    let mut bin_msgs: Vec<(usize, usize)> = bin_rows.iter().map(|&(s, e)| (s + h, e + h)).collect();
    bin_msgs[0].0 = 0;
    bin_msgs.push((stream.len() - 2, stream.len()));
    eprintln!(
        "wide rows: {rows}; binary {} bytes ({:.0} B/row), text {} bytes ({:.0} B/row)",
        bin.len(),
        bin.len() as f64 / rows as f64,
        text.len(),
        text.len() as f64 / rows as f64
    );

    let mut g = c.benchmark_group("chunker");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("text/per-row", |b| {
        b.iter(|| assert_eq!(chunk(CopyFormat::Text, &text, &text_rows).1, rows))
    });
    let pieces = fixed_pieces(text.len(), 64 << 10);
    g.bench_function("text/64KiB", |b| {
        b.iter(|| assert_eq!(chunk(CopyFormat::Text, &text, &pieces).1, rows))
    });
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("binary/per-row", |b| {
        b.iter(|| assert_eq!(chunk(CopyFormat::Binary, &stream, &bin_msgs).1, rows))
    });
    let pieces = fixed_pieces(stream.len(), 64 << 10);
    g.bench_function("binary/64KiB", |b| {
        b.iter(|| assert_eq!(chunk(CopyFormat::Binary, &stream, &pieces).1, rows))
    });
    g.finish();

    let mut g = c.benchmark_group("row_hash");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("text/for_each_row", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for_each_row(CopyFormat::Text, &text, |r| {
                sum = sum.wrapping_add(row_hash(r))
            })
            .unwrap();
            sum
        })
    });
    g.bench_function("text/xxh3-only", |b| {
        b.iter(|| {
            text_rows
                .iter()
                .fold(0u64, |s, &(a, e)| s.wrapping_add(row_hash(&text[a..e])))
        })
    });
    g.throughput(Throughput::Bytes(bin.len() as u64));
    g.bench_function("binary/for_each_row", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for_each_row(CopyFormat::Binary, &bin, |r| {
                sum = sum.wrapping_add(row_hash(r))
            })
            .unwrap();
            sum
        })
    });
    g.finish();

    let columns = synth::wide_column_types();
    let bin_frames = frames(&bin_rows);
    let mut g = c.benchmark_group("binary_to_text");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bin.len() as u64));
    g.bench_function("frame_to_text/wide", |b| {
        let mut out = Vec::with_capacity(2 * DEFAULT_FRAME_SIZE);
        b.iter(|| {
            let mut n = 0;
            for &(s, e) in &bin_frames {
                out.clear();
                n += pgdump_core::copy_text::frame_to_text(&bin[s..e], &columns, &mut out).unwrap();
            }
            assert_eq!(n, rows);
        })
    });
    g.finish();
}

fn main() {
    run_benches!(bench_copy);
}
