//! Little-endian field access on byte slices, without panics.

/// Reads fields from a slice; every read returns `None` past the end.
pub(crate) struct Get<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Get<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Get { buf, pos: 0 }
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.bytes(N)?.try_into().ok()
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        Some(u8::from_le_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.array()?))
    }
}

/// Appends little-endian fields to a byte vector.
pub(crate) trait Put {
    fn put(&mut self, b: &[u8]);
    fn put_u8(&mut self, v: u8) {
        self.put(&[v]);
    }
    fn put_u16(&mut self, v: u16) {
        self.put(&v.to_le_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.put(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.put(&v.to_le_bytes());
    }
}

impl Put for Vec<u8> {
    fn put(&mut self, b: &[u8]) {
        self.extend_from_slice(b);
    }
}

/// Writes fields into a fixed-size array (record headers).
pub(crate) struct ArrayPut<const N: usize> {
    buf: [u8; N],
    pos: usize,
}

impl<const N: usize> ArrayPut<N> {
    pub(crate) fn new() -> Self {
        ArrayPut {
            buf: [0; N],
            pos: 0,
        }
    }

    /// Bytes written so far.
    pub(crate) fn written(&self) -> &[u8] {
        self.buf.get(..self.pos).unwrap_or(&self.buf)
    }

    pub(crate) fn finish(self) -> [u8; N] {
        debug_assert_eq!(self.pos, N, "record header layout does not fill its size");
        self.buf
    }
}

impl<const N: usize> Put for ArrayPut<N> {
    fn put(&mut self, b: &[u8]) {
        let end = self.pos.saturating_add(b.len());
        debug_assert!(end <= N, "record header layout exceeds its size");
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(b);
        }
        self.pos = end;
    }
}
