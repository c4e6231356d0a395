//! Restoring from a stream: a reader thread parses the archive front to back (TOC
//! first, then frames, each verified as it is read); the feeder turns arriving frames
//! into data tasks (a bounded number held at once) and releases post-data once the
//! index at the end confirms that the archive is whole.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use pgdump_format::{RawFrame, StreamReader, Toc};
use tokio::sync::mpsc;

use super::plan::TaskKind;
use super::select;
use super::workers::{is_skipped, Run};
use crate::error::{CoreError, Result};

/// What the reader thread sends.
enum PipeMsg {
    Frame(RawFrame),
    End,
    Error(CoreError),
}

/// The frames of a stream being read.
pub(super) struct PipeFeed {
    rx: mpsc::Receiver<PipeMsg>,
}

/// Start reading `input`: returns its TOC (once read) and the feed of its frames.
///
/// The reader thread ends when the archive ends or when the feed is dropped (at its
/// next frame); it is not joined, so that a restore stops promptly even while the
/// thread waits for input that never comes.
pub(super) async fn open(input: Box<dyn Read + Send>, jobs: usize) -> Result<(Toc, PipeFeed)> {
    let (toc_tx, toc_rx) = tokio::sync::oneshot::channel::<Result<Toc>>();
    let (tx, rx) = mpsc::channel::<PipeMsg>(jobs * 2 + 2);
    std::thread::Builder::new()
        .name("pgdump-pipe-reader".into())
        .spawn(move || {
            let mut sr = match StreamReader::new(std::io::BufReader::with_capacity(1 << 20, input))
            {
                Ok(sr) => sr,
                Err(e) => {
                    let _ = toc_tx.send(Err(e.into()));
                    return;
                }
            };
            if toc_tx.send(Ok(sr.toc().clone())).is_err() {
                return;
            }
            loop {
                let msg = match sr.next_frame() {
                    Ok(Some(f)) => PipeMsg::Frame(f),
                    Ok(None) => PipeMsg::End,
                    Err(e) => PipeMsg::Error(e.into()),
                };
                let last = !matches!(msg, PipeMsg::Frame(_));
                if tx.blocking_send(msg).is_err() || last {
                    return;
                }
            }
        })
        .map_err(|e| CoreError::io("starting the archive reader thread", e))?;
    let toc = toc_rx
        .await
        .map_err(|_| CoreError::Internal("archive reader stopped".into()))??;
    Ok((toc, PipeFeed { rx }))
}

/// Where the feeder puts the frames: the plan's barriers and the task of each
/// selected entry's SQL.
pub(super) struct FeedPlan {
    pub data_done: usize,
    pub pre_data_done: usize,
    pub entry_task: HashMap<usize, usize>,
    pub keep: Vec<bool>,
}

/// Turn arriving frames into data tasks; release post-data when the archive's end is
/// confirmed. A damaged stream stops the run.
pub(super) async fn feed_frames(run: Arc<Run>, mut feed: PipeFeed, plan: FeedPlan) {
    let pos: HashMap<u32, usize> = run
        .toc
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id, i))
        .collect();
    let deps = select::dep_indices(&run.toc);
    loop {
        let msg = tokio::select! {
            m = feed.rx.recv() => m,
            _ = run.stop.cancelled() => None,
        };
        match msg {
            Some(PipeMsg::Frame(frame)) => {
                let entry = run
                    .toc
                    .stream(frame.stream())
                    .and_then(|s| pos.get(&s.entry).copied());
                let Some(entry) = entry else { continue };
                // Frames of entries not restored are verified by the reader and dropped.
                if !plan.keep.get(entry).copied().unwrap_or(false) {
                    continue;
                }
                let table_task = deps[entry]
                    .first()
                    .and_then(|t| plan.entry_task.get(t))
                    .copied()
                    .unwrap_or(plan.pre_data_done);
                let permit = tokio::select! {
                    p = run.frame_permits.clone().acquire_owned() => p,
                    _ = run.stop.cancelled() => return,
                };
                let Ok(permit) = permit else { return };
                permit.forget();
                let meta = frame.meta();
                let mut st = run.lock();
                let facts = st.stream_facts.entry(frame.stream()).or_default();
                facts.0 += meta.rows;
                facts.1 = facts.1.wrapping_add(meta.content_hash);
                let t = st.sched.add(
                    &[plan.pre_data_done, table_task],
                    frame.raw_len(),
                    Vec::new(),
                );
                st.kinds.push(TaskKind::Data {
                    entry,
                    stream: frame.stream(),
                    frames: 0..1,
                    freeze: false,
                });
                st.pipe_frames.insert(t, frame);
                st.sched.add_dep(plan.data_done, t);
                if is_skipped(&st, t) {
                    st.pipe_frames.remove(&t);
                    run.frame_permits.add_permits(1);
                }
                drop(st);
                run.notify.notify_waiters();
            }
            Some(PipeMsg::End) => {
                let mut st = run.lock();
                st.sched.release(plan.data_done);
                st.external = false;
                drop(st);
                run.notify.notify_waiters();
                return;
            }
            Some(PipeMsg::Error(e)) => {
                run.fail(e);
                return;
            }
            None => {
                if !run.stop.is_cancelled() {
                    run.fail(CoreError::Internal(
                        "the archive reader stopped before the end of the archive".into(),
                    ));
                }
                let mut st = run.lock();
                st.external = false;
                st.sched.stop();
                drop(st);
                run.notify.notify_waiters();
                return;
            }
        }
    }
}
