//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Cursor;

use pgdump_format::{
    ArchiveInfo, ArchiveReader, ArchiveWriter, Codec, CopyFormat, DataKind, EncodedFrame,
    FormatError, FrameMeta, Section, StreamDecl, StreamId, StreamReader, Summary, TableData, Toc,
    TocEntry, WriterOptions,
};

/// A TOC with one schema entry and one table (+ TABLE DATA entry) per element of
/// `parts`, the table's data split into that many streams.
pub fn toc_with(parts: &[u32]) -> Toc {
    let mut toc = Toc {
        info: ArchiveInfo {
            created_at: "2026-11-21T10:00:00Z".into(),
            tool: "pgdump 0.1.0".into(),
            server_version: "15.8".into(),
            server_version_num: 150008,
            database: "shop".into(),
            encoding: "UTF8".into(),
            settings: BTreeMap::from([("standard_conforming_strings".into(), "on".into())]),
        },
        ..Default::default()
    };
    toc.entries.push(TocEntry {
        id: 1,
        kind: "SCHEMA".into(),
        section: Section::PreData.into(),
        name: "app".into(),
        owner: Some("alice".into()),
        create: "CREATE SCHEMA app;".into(),
        drop: Some("DROP SCHEMA IF EXISTS app;".into()),
        ..Default::default()
    });
    let mut next_stream: StreamId = 0;
    for (t, &n) in parts.iter().enumerate() {
        let table_id = toc.entries.len() as u32 + 1;
        let name = format!("t{t}");
        toc.entries.push(TocEntry {
            id: table_id,
            kind: "TABLE".into(),
            section: Section::PreData.into(),
            schema: Some("app".into()),
            name: name.clone(),
            owner: Some("alice".into()),
            create: format!("CREATE TABLE app.{name} (id integer, v text);"),
            deps: vec![1],
            ..Default::default()
        });
        let data_id = table_id + 1;
        let streams: Vec<StreamId> = (0..n).map(|i| next_stream + i).collect();
        for (part, &s) in streams.iter().enumerate() {
            toc.streams.push(StreamDecl {
                id: s,
                entry: data_id,
                part: part as u32,
                label: format!("pages [{}, {})", part * 100, part * 100 + 100),
                est_bytes: 1000,
            });
        }
        next_stream += n;
        toc.entries.push(TocEntry {
            id: data_id,
            kind: "TABLE DATA".into(),
            section: Section::Data.into(),
            schema: Some("app".into()),
            name: name.clone(),
            deps: vec![table_id],
            data: Some(TableData {
                kind: DataKind::Copy,
                target: format!("app.{name}"),
                columns: vec!["id".into(), "v".into()],
                format: CopyFormat::Text,
                streams,
                binary_types: Vec::new(),
            }),
            ..Default::default()
        });
    }
    toc
}

/// Frames in write order: (stream, payload, meta). Seqs are assigned per stream.
pub type Plan = Vec<(StreamId, Vec<u8>, FrameMeta)>;

/// Writes an archive; every frame with `codec`.
pub fn write(toc: &Toc, plan: &Plan, codec: Codec) -> (Vec<u8>, Summary) {
    let mut w = ArchiveWriter::new(
        Vec::new(),
        toc,
        WriterOptions {
            codec,
            ..Default::default()
        },
    )
    .unwrap();
    let mut seqs = vec![0u32; toc.streams.len()];
    for (s, data, meta) in plan {
        let seq = seqs[*s as usize];
        seqs[*s as usize] += 1;
        let f = EncodedFrame::encode(*s, seq, data, codec, *meta).unwrap();
        w.write_frame(&f).unwrap();
    }
    let (summary, bytes) = w.finish().unwrap();
    assert_eq!(summary.archive_bytes, bytes.len() as u64);
    (bytes, summary)
}

/// What a reader got out of an archive: the TOC and, per stream, the frames in order.
#[derive(Debug, PartialEq, Eq)]
pub struct Contents {
    pub toc: Toc,
    pub streams: Vec<Vec<(Vec<u8>, FrameMeta)>>,
}

/// The contents a plan should produce.
pub fn expected(toc: &Toc, plan: &Plan) -> Contents {
    let mut streams = vec![Vec::new(); toc.streams.len()];
    for (s, data, meta) in plan {
        streams[*s as usize].push((data.clone(), *meta));
    }
    Contents {
        toc: toc.clone(),
        streams,
    }
}

/// Reads everything with the random-access reader (including `verify_all`).
pub fn read_random(bytes: &[u8]) -> Result<Contents, FormatError> {
    let r = ArchiveReader::open(bytes)?;
    r.verify_all()?;
    let mut streams = Vec::new();
    for s in 0..r.toc().streams.len() as u32 {
        let mut frames = Vec::new();
        for f in r.stream_data(s) {
            let f = f?;
            frames.push((f.data, f.meta));
        }
        streams.push(frames);
    }
    Ok(Contents {
        toc: r.toc().clone(),
        streams,
    })
}

/// Reads everything with the streaming reader.
pub fn read_stream(bytes: &[u8]) -> Result<Contents, FormatError> {
    let mut r = StreamReader::new(Cursor::new(bytes))?;
    let mut streams = vec![Vec::new(); r.toc().streams.len()];
    while let Some(raw) = r.next_frame()? {
        let f = raw.decode()?;
        streams[f.stream as usize].push((f.data, f.meta));
    }
    assert!(r.summary().is_some());
    Ok(Contents {
        toc: r.toc().clone(),
        streams,
    })
}

/// Reads with both readers; asserts they agree and returns the contents.
pub fn read_both(bytes: &[u8]) -> Contents {
    let a = read_random(bytes).unwrap();
    let b = read_stream(bytes).unwrap();
    assert_eq!(a, b, "readers disagree");
    a
}

/// Deterministic pseudo-random bytes (xorshift).
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// COPY-text-like rows.
pub fn rows(seed: u64, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        out.extend_from_slice(
            format!(
                "{}\tname-{}\t2026-01-{:02} 10:00:00+00\n",
                seed.wrapping_mul(1000).wrapping_add(i as u64),
                i % 17,
                i % 28 + 1
            )
            .as_bytes(),
        );
    }
    out
}

/// Writes an archive with the columnar feature declared; frames of the streams in
/// `columnar` are encoded with the columnar transform (alternating the borrowed and the owned
/// encoder), the others plainly.
pub fn write_columnar(
    toc: &Toc,
    plan: &Plan,
    codec: Codec,
    columnar: &[StreamId],
) -> (Vec<u8>, Summary) {
    let mut w = ArchiveWriter::new(
        Vec::new(),
        toc,
        WriterOptions {
            codec,
            columnar_copy: true,
            ..Default::default()
        },
    )
    .unwrap();
    let mut seqs = vec![0u32; toc.streams.len()];
    for (k, (s, data, meta)) in plan.iter().enumerate() {
        let seq = seqs[*s as usize];
        seqs[*s as usize] += 1;
        let f = if !columnar.contains(s) {
            EncodedFrame::encode(*s, seq, data, codec, *meta).unwrap()
        } else if k % 2 == 0 {
            EncodedFrame::encode_columnar(*s, seq, data, codec, *meta).unwrap()
        } else {
            EncodedFrame::encode_owned_columnar(*s, seq, data.clone(), codec, *meta).unwrap()
        };
        w.write_frame(&f).unwrap();
    }
    let (summary, bytes) = w.finish().unwrap();
    assert_eq!(summary.archive_bytes, bytes.len() as u64);
    (bytes, summary)
}

/// Binary COPY types of the columns of [`binary_rows`], as `TableData::binary_types` lists them.
pub const BINARY_TYPES: [&str; 6] = ["20", "23", "1184", "25", "2950", "17"];

/// Binary COPY tuples (no header or trailer) of 6 columns: int8 id, int4 with NULLs,
/// timestamptz, text, uuid (random), bytea (empty, short or NULL).
pub fn binary_rows(seed: u64, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let uuids = noise(seed.wrapping_add(77), n * 16);
    for i in 0..n {
        let id = seed.wrapping_mul(1_000_000).wrapping_add(i as u64);
        out.extend_from_slice(&6i16.to_be_bytes());
        let mut field = |v: Option<&[u8]>| match v {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(v) => {
                out.extend_from_slice(&(v.len() as i32).to_be_bytes());
                out.extend_from_slice(v);
            }
        };
        field(Some(&id.to_be_bytes()));
        field((i % 4 != 1).then_some(&((i as i32 % 1000) * 7).to_be_bytes()[..]));
        field(Some(
            &(820_000_000_000_000i64 + i as i64 * 1_000_017).to_be_bytes(),
        ));
        field(Some(format!("name-{}", i % 17).as_bytes()));
        field(Some(&uuids[i * 16..i * 16 + 16]));
        field(match i % 3 {
            0 => None,
            1 => Some(&[][..]),
            _ => Some(&b"\x00\x01 bytes"[..]),
        });
    }
    out
}

/// Makes the data of table `t` (0-based, as in [`toc_with`]) binary COPY of the columns of
/// [`binary_rows`].
pub fn make_binary(toc: &mut Toc, t: usize) {
    let e = &mut toc.entries[2 + 2 * t];
    let d = e.data.as_mut().unwrap();
    d.format = CopyFormat::Binary;
    d.columns = ["id", "n", "at", "name", "u", "b"]
        .map(String::from)
        .to_vec();
    d.binary_types = BINARY_TYPES.map(String::from).to_vec();
}

/// All the codecs worth sweeping.
pub const CODECS: [Codec; 5] = [
    Codec::None,
    Codec::Zstd { level: 1 },
    Codec::Zstd { level: 3 },
    Codec::Gzip { level: 1 },
    Codec::Gzip { level: 6 },
];
