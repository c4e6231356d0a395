//! The columnar transform on arbitrary bytes: the inverse never panics, never allocates past
//! the declared raw length, and whatever it accepts transforms back to its input; the forward
//! transform round-trips whatever it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgdump_format::columnar::{from_columnar_into, to_columnar};

fuzz_target!(|data: &[u8]| {
    let Some((len, bytes)) = data.split_first_chunk::<4>() else {
        return;
    };
    // A raw length near the input's size, so the size checks pass often enough to reach the
    // lengths and values checks.
    let raw_len = (u32::from_le_bytes(*len) as usize) % (bytes.len() * 4 + 64);
    let mut out = Vec::new();
    match from_columnar_into(bytes, raw_len, &mut out) {
        Ok(()) => {
            assert_eq!(out.len(), raw_len);
            assert!(out.capacity() <= raw_len.max(1) * 2);
            assert_eq!(to_columnar(&out).as_deref(), Some(bytes));
        }
        Err(_) => assert!(out.is_empty()),
    }
    if let Some(t) = to_columnar(bytes) {
        assert!(t.len() < bytes.len());
        let mut back = Vec::new();
        from_columnar_into(&t, bytes.len(), &mut back).unwrap();
        assert_eq!(back, bytes);
    }
});
