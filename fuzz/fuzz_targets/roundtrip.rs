//! Write an archive from fuzzer-chosen frames, read it back through both readers and
//! compare; then change one fuzzer-chosen byte and require both readers to fail.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgdump_format::{
    ArchiveReader, ArchiveWriter, Codec, EncodedFrame, FrameMeta, StreamDecl, StreamReader,
    TableData, Toc, TocEntry, WriterOptions,
};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, mut rest)) = data.split_first() else {
        return;
    };
    let codec = match ctl % 4 {
        0 => Codec::None,
        1 => Codec::Zstd { level: 1 },
        2 => Codec::Zstd { level: -1 },
        _ => Codec::Gzip { level: 1 },
    };
    let nstreams = u32::from(ctl >> 4) % 5;
    let mut toc = Toc::default();
    for s in 0..nstreams {
        toc.entries.push(TocEntry {
            id: s + 1,
            kind: "TABLE DATA".into(),
            data: Some(TableData {
                streams: vec![s],
                ..Default::default()
            }),
            ..Default::default()
        });
        toc.streams.push(StreamDecl {
            id: s,
            entry: s + 1,
            ..Default::default()
        });
    }
    // Frames: [stream][len][len bytes] ...
    let mut frames: Vec<(u32, Vec<u8>)> = Vec::new();
    while let [s, len, tail @ ..] = rest {
        if nstreams == 0 {
            break;
        }
        let n = usize::from(*len).min(tail.len());
        let (payload, tail) = tail.split_at(n);
        frames.push((
            u32::from(*s) % nstreams,
            payload.repeat(usize::from(*s % 8) + 1),
        ));
        rest = tail;
    }
    let mut w = ArchiveWriter::new(
        Vec::new(),
        &toc,
        WriterOptions {
            codec,
            ..Default::default()
        },
    )
    .unwrap();
    let mut seqs = vec![0u32; nstreams as usize];
    for (s, p) in &frames {
        let seq = seqs[*s as usize];
        seqs[*s as usize] += 1;
        let meta = FrameMeta {
            rows: p.len() as u64,
            content_hash: p.len() as u64 * 31,
        };
        w.write_frame(&EncodedFrame::encode(*s, seq, p, codec, meta).unwrap())
            .unwrap();
    }
    let (summary, bytes) = w.finish().unwrap();

    let mut want: Vec<Vec<Vec<u8>>> = vec![Vec::new(); nstreams as usize];
    for (s, p) in &frames {
        want[*s as usize].push(p.clone());
    }
    let r = ArchiveReader::open(bytes.as_slice()).unwrap();
    r.verify_all().unwrap();
    for s in 0..nstreams {
        let got: Vec<Vec<u8>> = r.stream_data(s).map(|f| f.unwrap().data).collect();
        assert_eq!(got, want[s as usize]);
    }
    let mut sr = StreamReader::new(bytes.as_slice()).unwrap();
    let mut got: Vec<Vec<Vec<u8>>> = vec![Vec::new(); nstreams as usize];
    while let Some(raw) = sr.next_frame().unwrap() {
        let f = raw.decode().unwrap();
        got[f.stream as usize].push(f.data);
    }
    assert_eq!(got, want);
    assert_eq!(sr.summary(), Some(&summary));

    // Any one changed byte is detected by both readers.
    let pos = usize::from(ctl).wrapping_mul(7919).wrapping_add(data.len()) % bytes.len();
    let mut bad = bytes.clone();
    bad[pos] ^= data.last().copied().filter(|&x| x != 0).unwrap_or(1);
    let random_ok = ArchiveReader::open(bad.as_slice()).and_then(|r| {
        r.verify_all()?;
        Ok(())
    });
    assert!(
        random_ok.is_err(),
        "random reader accepted a change at byte {pos}"
    );
    let stream_ok = StreamReader::new(bad.as_slice()).and_then(|mut r| {
        while let Some(raw) = r.next_frame()? {
            raw.decode()?;
        }
        Ok(())
    });
    assert!(
        stream_ok.is_err(),
        "stream reader accepted a change at byte {pos}"
    );
});
