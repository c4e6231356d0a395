//! CRC-32C (Castagnoli), the one checksum of the format.
//!
//! Hardware accelerated (SSE 4.2 / ARMv8 CRC) where available, so checking
//! every byte on both sides costs little next to compression.

/// CRC-32C of `data` (initial value 0, as in iSCSI, ext4 and the `crc32c` crate).
#[inline]
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// Continues a CRC-32C over more data: `crc32c_append(crc32c(a), b) == crc32c(a ++ b)`.
#[inline]
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    crc32c::crc32c_append(crc, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // RFC 3720 test vector: 32 bytes of zeros.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(
            crc32c_append(crc32c(b"1234"), b"56789"),
            crc32c(b"123456789")
        );
    }
}
