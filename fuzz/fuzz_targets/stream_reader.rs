//! Sequential reader over arbitrary bytes: header, TOC, every frame decoded, index and
//! footer. Must never panic, hang or allocate beyond what the input justifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgdump_format::StreamReader;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = StreamReader::new(data) else {
        return;
    };
    loop {
        match r.next_frame() {
            Ok(Some(raw)) => {
                let _ = raw.decode();
            }
            Ok(None) => {
                assert!(r.summary().is_some());
                break;
            }
            Err(_) => break,
        }
    }
});
