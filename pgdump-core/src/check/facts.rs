//! What an archive recorded of its data: rows and content hash per stream.

use std::collections::HashMap;

use pgdump_format::{StreamId, StreamStats, TableData};

/// Rows and content hash of some data: the wrapping sum of
/// [`row_hash`](crate::copy_data::row_hash) over its rows (or large-object records).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Tally {
    /// Rows (for large objects: records, one per piece of up to 1 MiB).
    pub rows: u64,
    /// Wrapping sum of the rows' hashes.
    pub hash: u64,
}

impl Tally {
    /// Adds `other` (counts add, hashes add wrapping).
    pub fn add(&mut self, other: Tally) {
        self.rows = self.rows.wrapping_add(other.rows);
        self.hash = self.hash.wrapping_add(other.hash);
    }
}

/// The expected rows and content hash of every data stream of an archive, from its
/// index ([`Facts::from_streams`]) or gathered frame by frame while it is read from a
/// pipe ([`Facts::add_frame`]). A stream without facts counts as empty (a stream may
/// have no frames).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    streams: HashMap<StreamId, Tally>,
    bytes: HashMap<StreamId, u64>,
}

impl Facts {
    /// No facts yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The facts of a sealed archive's index (`ArchiveReader::streams()`, or a
    /// `StreamReader`'s summary).
    pub fn from_streams(stats: &[StreamStats]) -> Self {
        let mut f = Facts::new();
        for s in stats {
            f.streams.entry(s.stream).or_default().add(Tally {
                rows: s.rows,
                hash: s.content_hash,
            });
            *f.bytes.entry(s.stream).or_default() += s.raw_bytes;
        }
        f
    }

    /// Adds one frame's `rows` and `content_hash` (its `FrameMeta`) to its stream.
    pub fn add_frame(&mut self, stream: StreamId, rows: u64, content_hash: u64) {
        self.streams.entry(stream).or_default().add(Tally {
            rows,
            hash: content_hash,
        });
    }

    /// The facts of one stream (empty when none were recorded).
    pub fn stream(&self, stream: StreamId) -> Tally {
        self.streams.get(&stream).copied().unwrap_or_default()
    }

    /// The facts of a data entry: the sums over its streams.
    pub fn entry(&self, data: &TableData) -> Tally {
        let mut t = Tally::default();
        for &s in &data.streams {
            t.add(self.stream(s));
        }
        t
    }

    /// Raw bytes of a data entry's streams, when the index gave them (0 otherwise).
    pub(crate) fn entry_bytes(&self, data: &TableData) -> u64 {
        data.streams
            .iter()
            .map(|s| self.bytes.get(s).copied().unwrap_or(0))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_and_frames_agree() {
        let stats = vec![
            StreamStats {
                stream: 0,
                frames: 2,
                rows: 3,
                raw_bytes: 30,
                stored_bytes: 10,
                content_hash: 5u64.wrapping_add(u64::MAX),
            },
            StreamStats {
                stream: 1,
                frames: 1,
                rows: 1,
                raw_bytes: 8,
                stored_bytes: 8,
                content_hash: 7,
            },
            StreamStats::new(2),
        ];
        let idx = Facts::from_streams(&stats);
        let mut frames = Facts::new();
        frames.add_frame(0, 1, 5);
        frames.add_frame(1, 1, 7);
        frames.add_frame(0, 2, u64::MAX);
        for f in [&idx, &frames] {
            assert_eq!(f.stream(0), Tally { rows: 3, hash: 4 });
            assert_eq!(f.stream(2), Tally::default());
            // an entry's facts are the sums over its streams, hashes wrapping
            let data = TableData {
                streams: vec![0, 1, 2],
                ..TableData::default()
            };
            assert_eq!(f.entry(&data), Tally { rows: 4, hash: 11 });
        }
        assert_eq!(
            idx.entry_bytes(&TableData {
                streams: vec![0, 1],
                ..TableData::default()
            }),
            38
        );
        // a stream never seen counts as empty
        assert_eq!(Facts::new().stream(9), Tally::default());
    }
}
