//! [`Transform`]: the reversible rearrangement a frame's raw payload went through before its
//! codec (byte 13 of the frame header, format 1.1).
//!
//! ```text
//! stored payload = codec(transform(raw payload))
//! ```
//!
//! The frame header's `raw_len`, `raw_crc`, `rows` and `content_hash` always describe the raw
//! (row) form; only the stored bytes differ. See [`crate::columnar`] for the one transform
//! defined so far.

use std::fmt;

use crate::format::FEATURE_COLUMNAR_COPY;

/// The transform byte of a frame header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Transform {
    /// The codec's input is the raw payload itself (every 1.0 frame).
    #[default]
    None,
    /// The raw payload is a run of binary COPY tuples, stored column by column
    /// ([`crate::columnar`]). Requires the feature bit [`FEATURE_COLUMNAR_COPY`].
    ColumnarCopy,
}

impl Transform {
    /// The transform byte on disk.
    pub fn id(self) -> u8 {
        match self {
            Transform::None => 0,
            Transform::ColumnarCopy => 1,
        }
    }

    /// The transform for a transform byte; `None` for an unknown byte.
    pub fn from_id(id: u8) -> Option<Self> {
        match id {
            0 => Some(Transform::None),
            1 => Some(Transform::ColumnarCopy),
            _ => None,
        }
    }

    /// Lower-case name, for messages and statistics.
    pub fn name(self) -> &'static str {
        match self {
            Transform::None => "none",
            Transform::ColumnarCopy => "columnar",
        }
    }

    /// The required-feature bit an archive must declare to hold frames with this transform
    /// (0 for [`Transform::None`]).
    pub fn required_feature(self) -> u64 {
        match self {
            Transform::None => 0,
            Transform::ColumnarCopy => FEATURE_COLUMNAR_COPY,
        }
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for t in [Transform::None, Transform::ColumnarCopy] {
            assert_eq!(Transform::from_id(t.id()), Some(t));
        }
        for id in 2..=255 {
            assert_eq!(Transform::from_id(id), None);
        }
        assert_eq!(Transform::None.required_feature(), 0);
        assert_eq!(Transform::ColumnarCopy.required_feature(), 1);
        assert_eq!(Transform::ColumnarCopy.to_string(), "columnar");
    }
}
