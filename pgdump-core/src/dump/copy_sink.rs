//! The sink of a tapped COPY OUT (see `conn::tap`): rows from the connection's
//! read buffer into the [`Chunker`], whole frames on to the worker's encoder
//! through its bounded channel, with the channel's backpressure handed back to
//! the tap (which then stops reading the socket).

use std::any::Any;
use std::collections::VecDeque;
use std::task::{Context, Poll};

use pgdump_format::{CopyFormat, StreamId};
use tokio_util::sync::PollSender;

use crate::conn::tap::CopyOutSink;
use crate::copy_data::{BufPool, Chunk, Chunker};
use crate::progress::{Event, SharedObserver};

/// A frame's rows on their way to the encoder: stream, sequence number, rows.
pub(super) type RawFrameMsg = (StreamId, u32, Chunk);

/// Rows of one COPY unit, cut into frames and sent to the encoder.
pub(super) struct DumpSink {
    chunker: Chunker,
    ready: Vec<Chunk>,
    queue: VecDeque<Chunk>,
    tx: PollSender<RawFrameMsg>,
    stream: StreamId,
    observer: SharedObserver,
    /// Next frame's sequence number in the stream.
    pub seq: u32,
    /// Rows sent on.
    pub rows: u64,
    /// Bytes of rows sent on.
    pub bytes: u64,
    /// What went wrong (the rest of the COPY is then discarded).
    pub error: Option<SinkError>,
}

/// Why a sink stopped taking rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SinkError {
    /// The COPY data is malformed.
    Data(String),
    /// The encoder is gone (its own error is the cause).
    Closed,
}

impl DumpSink {
    pub(super) fn new(
        format: CopyFormat,
        frame_size: usize,
        stream: StreamId,
        tx: tokio::sync::mpsc::Sender<RawFrameMsg>,
        observer: SharedObserver,
        pool: BufPool,
    ) -> Self {
        DumpSink {
            chunker: Chunker::new(format, frame_size).with_pool(pool),
            ready: Vec::new(),
            queue: VecDeque::new(),
            tx: PollSender::new(tx),
            stream,
            observer,
            seq: 0,
            rows: 0,
            bytes: 0,
            error: None,
        }
    }

    /// The chunker, for the last (partial) frame once the COPY is done.
    pub(super) fn into_chunker(self) -> Chunker {
        self.chunker
    }

    /// Counts and announces a frame about to be sent.
    fn account(&mut self, chunk: &Chunk) {
        self.rows += chunk.rows;
        self.bytes += chunk.data.len() as u64;
        self.observer.event(&Event::Data {
            bytes: chunk.data.len() as u64,
            rows: chunk.rows,
        });
    }
}

impl CopyOutSink for DumpSink {
    fn data(&mut self, payload: &[u8]) -> bool {
        if self.error.is_some() {
            return false;
        }
        if let Err(e) = self.chunker.push(payload, &mut self.ready) {
            self.error = Some(SinkError::Data(e.to_string()));
            self.queue.clear();
            return false;
        }
        if !self.ready.is_empty() {
            self.queue.extend(self.ready.drain(..));
        }
        !self.queue.is_empty()
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while !self.queue.is_empty() {
            match self.tx.poll_reserve(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => {
                    self.error = Some(SinkError::Closed);
                    self.queue.clear();
                }
                Poll::Ready(Ok(())) => {
                    let Some(chunk) = self.queue.pop_front() else {
                        break;
                    };
                    self.account(&chunk);
                    if self.tx.send_item((self.stream, self.seq, chunk)).is_err() {
                        self.error = Some(SinkError::Closed);
                        self.queue.clear();
                    }
                    self.seq += 1;
                }
            }
        }
        Poll::Ready(())
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}
