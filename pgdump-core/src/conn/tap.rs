//! A tap on the byte stream under tokio-postgres that takes the rows of one
//! `COPY ... TO STDOUT` out of the connection in bulk.
//!
//! tokio-postgres hands COPY OUT data to its caller one `CopyData` message at a
//! time, and the server sends one message per row: for 10 million short rows
//! that per-message path (parse, reference-counted slice, stream poll) was a
//! quarter of a dump's client CPU. The tap sits between the socket and
//! tokio-postgres, reads into a large buffer, and while a sink is armed it
//! feeds the payloads of the `CopyData` messages that follow a
//! `CopyOutResponse` straight to that sink, passing every other message
//! through. tokio-postgres sees a valid COPY that returns no rows; the caller
//! gets the rows from its sink. A sink that is not ready (a full channel)
//! stops the tap from reading the socket: backpressure reaches the server.
//!
//! The tap only works on plaintext protocol: it watches the first message the
//! client sends, and after an `SSLRequest` the server's one-byte answer; if TLS
//! (or anything it does not recognise) follows, it turns itself off and passes
//! bytes through untouched ([`TapHandle::usable`] is then false and callers use
//! tokio-postgres's own COPY path).

use std::any::Any;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Where the rows of a tapped COPY go.
pub(crate) trait CopyOutSink: Send {
    /// The payload of one `CopyData` message (for COPY TO STDOUT, one row);
    /// true when output is waiting for [`poll_flush`](Self::poll_flush).
    fn data(&mut self, payload: &[u8]) -> bool;
    /// Hands on what is ready. `Pending` (with the waker registered) holds the
    /// tap: it reads no more from the socket until the sink is ready again.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<()>;
    /// The sink back as `Any`, for its owner to take its results.
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

/// Bytes asked of the socket per read.
const READ_SIZE: usize = 256 << 10;

/// While rows are diverted, a read that brings less than this is followed by a nap
/// of [`NAP`] before the next read, so that the next one brings more.
const SMALL_READ: usize = 64 << 10;

/// How long to let rows accumulate in the socket after a small read. Without it, a
/// client faster than the server woke for every 8 KiB the server sent: 100,000
/// context switches (and as many preempted server processes on a 2-core machine)
/// for a 1 GiB dump instead of ~8,000, and the dump took longer. The kernel's
/// receive buffer holds several milliseconds of COPY output, so the server is not
/// held up.
const NAP: std::time::Duration = std::time::Duration::from_millis(1);

/// Code of the `SSLRequest` message.
const SSL_REQUEST: u32 = 80_877_103;

/// What the tap knows of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing sent yet.
    Start,
    /// An `SSLRequest` was sent: the next byte from the server answers it.
    SslAnswer,
    /// Plaintext protocol messages.
    Plain,
    /// TLS or something unknown: bytes pass through untouched.
    Off,
}

/// Where the armed sink is in its COPY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the `CopyOutResponse`.
    Armed,
    /// Diverting `CopyData`.
    Active,
    /// `CopyDone` (or an error) seen.
    Done,
}

struct Shared {
    mode: Mode,
    sink: Option<(Box<dyn CopyOutSink>, Phase)>,
}

/// The caller's side of a [`Tap`]: arm a sink for the next COPY, take it back.
#[derive(Clone)]
pub(crate) struct TapHandle(Arc<Mutex<Shared>>);

/// A sink taken back from the tap.
pub(crate) struct Taken {
    /// The sink.
    pub sink: Box<dyn Any + Send>,
    /// Whether its COPY ran to `CopyDone` (or an error) through the tap.
    pub finished: bool,
}

impl TapHandle {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the connection speaks plaintext protocol through the tap.
    pub(crate) fn usable(&self) -> bool {
        self.lock().mode == Mode::Plain
    }

    /// Arms `sink` for the next `COPY ... TO STDOUT` of the connection; false
    /// (and the sink dropped) when the tap is not usable or already armed.
    pub(crate) fn arm(&self, sink: Box<dyn CopyOutSink>) -> bool {
        let mut s = self.lock();
        if s.mode != Mode::Plain || s.sink.is_some() {
            return false;
        }
        s.sink = Some((sink, Phase::Armed));
        true
    }

    /// Disarms and returns the sink (call once the COPY's result is known).
    pub(crate) fn take(&self) -> Option<Taken> {
        let (sink, phase) = self.lock().sink.take()?;
        Some(Taken {
            sink: sink.into_any(),
            finished: phase == Phase::Done,
        })
    }
}

/// The stream tokio-postgres is given: `inner` with the tap in between.
pub(crate) struct Tap<S> {
    inner: S,
    shared: Arc<Mutex<Shared>>,
    /// Bytes read from `inner`, not yet passed on or diverted.
    buf: BytesMut,
    /// Bytes of the current passed-through message still to pass on.
    pass_left: usize,
    /// The sink said Pending: flush it before feeding it more.
    flush_wait: bool,
    /// A nap before the next read (see [`NAP`]).
    nap: Option<Pin<Box<tokio::time::Sleep>>>,
    /// How long naps are (none: never nap).
    nap_len: Option<std::time::Duration>,
    /// The first bytes the client sent (enough to know the first message).
    first_out: Vec<u8>,
}

impl<S> Tap<S> {
    /// Wraps `inner`; the handle arms sinks.
    pub(crate) fn new(inner: S) -> (Tap<S>, TapHandle) {
        Self::with_naps(inner, Some(NAP))
    }

    /// [`Tap::new`] with naps of `nap_len` after small reads of diverted rows.
    fn with_naps(inner: S, nap_len: Option<std::time::Duration>) -> (Tap<S>, TapHandle) {
        let shared = Arc::new(Mutex::new(Shared {
            mode: Mode::Start,
            sink: None,
        }));
        (
            Tap {
                inner,
                shared: shared.clone(),
                buf: BytesMut::new(),
                pass_left: 0,
                flush_wait: false,
                nap: None,
                nap_len,
                first_out: Vec::new(),
            },
            TapHandle(shared),
        )
    }

    /// Learns the kind of stream from the client's first message: startup
    /// (plaintext follows), `SSLRequest` (the answer decides) or anything else
    /// (a direct TLS handshake, GSSAPI: off).
    fn sniff_out(&mut self, written: &[u8]) {
        let mut s = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        if s.mode != Mode::Start {
            return;
        }
        let need = 8 - self.first_out.len();
        self.first_out
            .extend_from_slice(written.get(..need.min(written.len())).unwrap_or(&[]));
        if self.first_out.len() < 8 {
            return;
        }
        let code = u32::from_be_bytes([
            self.first_out[4],
            self.first_out[5],
            self.first_out[6],
            self.first_out[7],
        ]);
        s.mode = match code {
            SSL_REQUEST => Mode::SslAnswer,
            // protocol 3.x startup
            c if c >> 16 == 3 => Mode::Plain,
            _ => Mode::Off,
        };
    }
}

/// Moves up to `n` bytes from the front of `from` into `to`; returns how many.
fn pass(from: &mut BytesMut, to: &mut ReadBuf<'_>, n: usize) -> usize {
    let n = n.min(from.len()).min(to.remaining());
    to.put_slice(from.get(..n).unwrap_or(&[]));
    from.advance(n);
    n
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if out.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let start = out.filled().len();
        // What to return when no more can be done now: what was passed on, or
        // Pending (a waker is registered by whoever said Pending).
        let wait = |out: &ReadBuf<'_>| {
            if out.filled().len() > start {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        };
        let shared = this.shared.clone();
        let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match s.mode {
                Mode::Start if !this.buf.is_empty() => {
                    // The server spoke before the client's first message: unknown.
                    s.mode = Mode::Off;
                    continue;
                }
                Mode::Off => {
                    if !this.buf.is_empty() {
                        pass(&mut this.buf, out, usize::MAX);
                        return Poll::Ready(Ok(()));
                    }
                    if out.filled().len() > start {
                        return Poll::Ready(Ok(()));
                    }
                    drop(s);
                    return Pin::new(&mut this.inner).poll_read(cx, out);
                }
                Mode::SslAnswer if !this.buf.is_empty() => {
                    s.mode = if this.buf[0] == b'N' {
                        pass(&mut this.buf, out, 1);
                        Mode::Plain
                    } else {
                        Mode::Off
                    };
                    continue;
                }
                Mode::Start | Mode::SslAnswer => {}
                Mode::Plain => {
                    if this.pass_left > 0 {
                        if out.remaining() == 0 {
                            return Poll::Ready(Ok(()));
                        }
                        if !this.buf.is_empty() {
                            this.pass_left -= pass(&mut this.buf, out, this.pass_left);
                            continue;
                        }
                    } else if this.buf.len() >= 5 {
                        let typ = this.buf[0];
                        let len = u32::from_be_bytes([
                            this.buf[1],
                            this.buf[2],
                            this.buf[3],
                            this.buf[4],
                        ]) as usize;
                        if len < 4 {
                            // Not a protocol message: let tokio-postgres report it.
                            s.mode = Mode::Off;
                            continue;
                        }
                        let total = len + 1;
                        let active = matches!(s.sink, Some((_, Phase::Active)));
                        if typ == b'd' && active {
                            if this.buf.len() < total {
                                this.buf.reserve(total - this.buf.len());
                            } else {
                                if let Some((sink, _)) = s.sink.as_mut() {
                                    // At most one frame waits in the sink.
                                    if this.flush_wait {
                                        if sink.poll_flush(cx).is_pending() {
                                            return wait(out);
                                        }
                                        this.flush_wait = false;
                                    }
                                    let waiting = sink.data(this.buf.get(5..total).unwrap_or(&[]));
                                    this.buf.advance(total);
                                    if waiting && sink.poll_flush(cx).is_pending() {
                                        this.flush_wait = true;
                                        return wait(out);
                                    }
                                }
                                continue;
                            }
                        } else {
                            // Everything the sink made of the rows goes on before
                            // the message that ends the COPY.
                            if let Some((sink, phase)) = s.sink.as_mut() {
                                if *phase == Phase::Active {
                                    if sink.poll_flush(cx).is_pending() {
                                        return wait(out);
                                    }
                                    this.flush_wait = false;
                                    if typ == b'c' || typ == b'E' {
                                        *phase = Phase::Done;
                                    }
                                } else if *phase == Phase::Armed && typ == b'H' {
                                    *phase = Phase::Active;
                                }
                            }
                            this.pass_left = total;
                            continue;
                        }
                    }
                }
            }
            // Read more from the socket.
            if this.buf.capacity() - this.buf.len() < READ_SIZE / 4 {
                this.buf.reserve(READ_SIZE);
            }
            if let Some(nap) = this.nap.as_mut() {
                // Only while rows are still coming: the end of a COPY is read at once.
                let active = matches!(s.sink, Some((_, Phase::Active)));
                if active && nap.as_mut().poll(cx).is_pending() {
                    return wait(out);
                }
                this.nap = None;
            }
            match tokio_util::io::poll_read_buf(Pin::new(&mut this.inner), cx, &mut this.buf) {
                Poll::Pending => return wait(out),
                Poll::Ready(Err(e)) => {
                    if out.filled().len() > start {
                        // Report the error on the next read, with nothing lost.
                        return Poll::Ready(Ok(()));
                    }
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(0)) => {
                    // End of stream: pass on what is left (a cut message is
                    // tokio-postgres's to report), then the end.
                    if this.buf.is_empty() {
                        return Poll::Ready(Ok(()));
                    }
                    s.mode = Mode::Off;
                }
                Poll::Ready(Ok(n)) => {
                    if n < SMALL_READ && matches!(s.sink, Some((_, Phase::Active))) {
                        this.nap = this.nap_len.map(|d| Box::pin(tokio::time::sleep(d)));
                    }
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let res = Pin::new(&mut this.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = &res {
            if this.first_out.len() < 8 {
                let n = *n;
                this.sniff_out(data.get(..n).unwrap_or(&[]));
            }
        }
        res
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A backend message.
    fn msg(typ: u8, payload: &[u8]) -> Vec<u8> {
        let mut m = vec![typ];
        m.extend_from_slice(&(payload.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(payload);
        m
    }

    /// The first 8 bytes of a protocol 3.0 startup message.
    const STARTUP: [u8; 8] = [0, 0, 0, 40, 0, 3, 0, 0];
    /// An SSLRequest.
    const SSL: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

    /// Records payloads; says Pending on every `every`-th flush (waking at once).
    struct Rec {
        got: Arc<Mutex<Vec<Vec<u8>>>>,
        flushes: Arc<AtomicUsize>,
        every: usize,
    }

    impl CopyOutSink for Rec {
        fn data(&mut self, payload: &[u8]) -> bool {
            self.got.lock().unwrap().push(payload.to_vec());
            self.every > 0
        }
        fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<()> {
            let n = self.flushes.fetch_add(1, Ordering::Relaxed);
            if self.every > 0 && n % self.every == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(())
        }
        fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
            self
        }
    }

    fn rec(every: usize) -> (Rec, Arc<Mutex<Vec<Vec<u8>>>>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let r = Rec {
            got: got.clone(),
            flushes: Arc::new(AtomicUsize::new(0)),
            every,
        };
        (r, got)
    }

    /// Runs a "server" that sends `server` after reading the client's first 8
    /// bytes; the client writes `first` through the tap, `arm` runs once the
    /// first answer byte could be known, and everything is read through the
    /// tap in reads of at most `read` bytes.
    async fn run(
        first: [u8; 8],
        server: Vec<u8>,
        read: usize,
        arm: impl FnOnce(&TapHandle),
    ) -> (Vec<u8>, TapHandle) {
        run_with(first, server, read, 61, None, arm).await
    }

    /// [`run`] with the duplex's buffer size and the tap's naps.
    async fn run_with(
        first: [u8; 8],
        server: Vec<u8>,
        read: usize,
        pipe: usize,
        naps: Option<std::time::Duration>,
        arm: impl FnOnce(&TapHandle),
    ) -> (Vec<u8>, TapHandle) {
        let (client, mut srv) = tokio::io::duplex(pipe);
        let (mut tap, handle) = Tap::with_naps(client, naps);
        let server_task = tokio::spawn(async move {
            let mut hello = [0u8; 8];
            srv.read_exact(&mut hello).await.unwrap();
            srv.write_all(&server).await.unwrap();
            srv.shutdown().await.unwrap();
        });
        tap.write_all(&first).await.unwrap();
        // The SSL answer (if any) is the first byte: read it before arming.
        let mut seen = Vec::new();
        if first == SSL {
            let mut b = [0u8; 1];
            let n = tap.read(&mut b).await.unwrap();
            seen.extend_from_slice(&b[..n]);
        }
        arm(&handle);
        let mut buf = vec![0u8; read];
        loop {
            let n = tap.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        server_task.await.unwrap();
        (seen, handle)
    }

    /// A COPY's worth of messages: ready, response, rows, done, complete, ready.
    fn copy_exchange(rows: &[Vec<u8>]) -> (Vec<u8>, Vec<u8>) {
        let before = [msg(b'Z', b"T"), msg(b'H', &[1, 0, 0])].concat();
        let after = [
            msg(b'N', b"a notice"),
            msg(b'c', b""),
            msg(b'C', b"COPY 3\0"),
            msg(b'Z', b"T"),
        ]
        .concat();
        let data: Vec<u8> = rows.iter().flat_map(|r| msg(b'd', r)).collect();
        let all = [before.clone(), data, after.clone()].concat();
        (all, [before, after].concat())
    }

    fn rows() -> Vec<Vec<u8>> {
        let mut rows: Vec<Vec<u8>> = (0..500u32)
            .map(|i| format!("{i}\trow {i}\n").into_bytes())
            .collect();
        rows.push(vec![b'x'; 100_000]);
        rows.push(Vec::new());
        rows.push(b"last\n".to_vec());
        rows
    }

    #[tokio::test]
    async fn without_a_sink_every_byte_passes() {
        let (all, _) = copy_exchange(&rows());
        for read in [1, 7, 8192] {
            let (seen, h) = run(STARTUP, all.clone(), read, |_| {}).await;
            assert_eq!(seen, all, "reads of {read}");
            assert!(h.usable());
            assert!(h.take().is_none());
        }
    }

    #[tokio::test]
    async fn an_armed_sink_gets_the_rows_and_the_rest_passes() {
        let rows = rows();
        let (all, rest) = copy_exchange(&rows);
        for (read, every) in [(8192, 0), (5, 0), (8192, 2), (3, 3)] {
            let (sink, got) = rec(every);
            let (seen, h) = run(STARTUP, all.clone(), read, |h| {
                assert!(h.arm(Box::new(sink)));
            })
            .await;
            assert_eq!(seen, rest, "reads of {read}, pending every {every}");
            assert_eq!(*got.lock().unwrap(), rows);
            let taken = h.take().expect("the sink comes back");
            assert!(taken.finished);
            assert!(taken.sink.downcast::<Rec>().is_ok());
            assert!(h.take().is_none());
        }
    }

    #[tokio::test]
    async fn naps_between_small_reads_lose_nothing() {
        let rows = rows();
        let (all, rest) = copy_exchange(&rows);
        let (sink, got) = rec(2);
        let started = std::time::Instant::now();
        let (seen, h) = run_with(STARTUP, all, 8192, 16 << 10, Some(NAP), |h| {
            assert!(h.arm(Box::new(sink)));
        })
        .await;
        assert_eq!(seen, rest);
        assert_eq!(*got.lock().unwrap(), rows);
        assert!(h.take().unwrap().finished);
        // ~110 KB through a 16 KiB pipe: a few naps, not a sleep per read of the test
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_copy_that_fails_before_it_starts_leaves_the_sink_unfinished() {
        let all = [
            msg(b'E', b"SERROR\0C55P03\0Mlock not available\0\0"),
            msg(b'Z', b"E"),
            msg(b'd', b"not COPY data of ours"),
        ]
        .concat();
        let (sink, got) = rec(0);
        let (seen, h) = run(STARTUP, all.clone(), 4096, |h| {
            assert!(h.arm(Box::new(sink)));
        })
        .await;
        assert_eq!(seen, all);
        assert!(got.lock().unwrap().is_empty());
        assert!(!h.take().unwrap().finished);
    }

    #[tokio::test]
    async fn tls_turns_the_tap_off_and_no_tls_keeps_it() {
        // 'S': a TLS handshake follows, bytes pass untouched, nothing can be armed.
        let mut after_s = vec![b'S'];
        after_s.extend_from_slice(&[0x16, 3, 1, 0, 5, b'd', 0, 0, 0, 4]);
        let (seen, h) = run(SSL, after_s.clone(), 3, |h| {
            let (sink, _) = rec(0);
            assert!(!h.arm(Box::new(sink)));
        })
        .await;
        assert_eq!(seen, after_s);
        assert!(!h.usable());

        // 'N': plaintext follows.
        let rows = rows();
        let (all, rest) = copy_exchange(&rows);
        let (sink, got) = rec(0);
        let (seen, h) = run(SSL, [vec![b'N'], all].concat(), 8192, |h| {
            assert!(h.usable());
            assert!(h.arm(Box::new(sink)));
        })
        .await;
        assert_eq!(seen, [vec![b'N'], rest].concat());
        assert_eq!(*got.lock().unwrap(), rows);
        assert!(h.take().unwrap().finished);

        // Anything else first (a direct TLS ClientHello): off.
        let (seen, h) = run(
            [0x16, 3, 1, 2, 0, 1, 0, 1],
            b"\x16\x03\x03".to_vec(),
            2,
            |_| {},
        )
        .await;
        assert_eq!(seen, b"\x16\x03\x03");
        assert!(!h.usable());
    }

    #[tokio::test]
    async fn a_cut_stream_passes_what_it_has_and_ends() {
        let (all, _) = copy_exchange(&rows());
        let cut = all[..all.len() / 2].to_vec();
        let (sink, _) = rec(0);
        let (seen, h) = run(STARTUP, cut, 100, |h| {
            assert!(h.arm(Box::new(sink)));
        })
        .await;
        // The partial row left in the buffer reaches tokio-postgres, which reports it.
        assert!(seen.len() < all.len() / 2);
        assert!(!h.take().unwrap().finished);
    }
}
