//! Random-access reader over arbitrary bytes: open, verify everything, read every frame.
//! Must never panic, hang or allocate beyond what the input justifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgdump_format::{lo, ArchiveReader, DataKind};

fuzz_target!(|data: &[u8]| {
    let Ok(r) = ArchiveReader::open(data) else {
        return;
    };
    let _ = r.verify_all();
    for decl in &r.toc().streams {
        let is_lo = r
            .toc()
            .entry(decl.entry)
            .and_then(|e| e.data.as_ref())
            .is_some_and(|d| d.kind == DataKind::LargeObjects);
        for frame in r.stream_data(decl.id) {
            let Ok(frame) = frame else { break };
            if is_lo {
                for rec in lo::decode_records(&frame.data) {
                    if rec.is_err() {
                        break;
                    }
                }
            }
        }
        for loc in r.frames(decl.id) {
            let _ = r.read_raw_frame(loc);
        }
    }
});
