//! The restore scheduler: a pure state machine over tasks with dependencies and
//! table locks. No I/O; the runner asks it for work and reports results.
//!
//! Rules: a task is ready when all its dependencies are done; among ready tasks
//! the heaviest (most data) goes first, skipping tasks whose locks conflict with
//! a running task (two index builds on one table may run together; anything
//! that needs a table exclusively runs alone on it). A failed task makes every
//! task that depends on it `Skipped`. Barrier tasks complete as soon as every
//! task they wait for has finished, whether it succeeded or not (a barrier orders
//! phases; real dependencies are the tasks' own): one failed pre-data item must not
//! skip all data and post-data. A barrier can be held open by the runner (`hold`)
//! and can gain new dependencies while it waits (data frames arriving from a pipe).

use std::collections::{BTreeMap, HashMap};

/// How a task uses a table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lock {
    /// Compatible with other `Shared` users of the table (CREATE INDEX).
    Shared(String),
    /// Compatible with other `Load` users (COPY into the table).
    Load(String),
    /// Alone on the table.
    Exclusive(String),
}

impl Lock {
    fn table(&self) -> &str {
        match self {
            Lock::Shared(t) | Lock::Load(t) | Lock::Exclusive(t) => t,
        }
    }
}

/// State of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for dependencies.
    Pending,
    /// Dependencies done, not started.
    Ready,
    /// Handed out.
    Running,
    /// Finished successfully.
    Done,
    /// Failed.
    Failed,
    /// Not run because a dependency failed (or the run stopped).
    Skipped,
}

#[derive(Debug, Clone)]
struct Slot {
    deps_left: usize,
    dependents: Vec<usize>,
    weight: u64,
    locks: Vec<Lock>,
    barrier: bool,
    holds: usize,
    state: State,
}

/// The scheduler.
#[derive(Debug, Default)]
pub struct Scheduler {
    slots: Vec<Slot>,
    /// Ready tasks by (weight, reversed index) for largest-first.
    ready: BTreeMap<(u64, std::cmp::Reverse<usize>), ()>,
    /// Running lock holders per table: (shared, load, exclusive) counts.
    held: HashMap<String, (usize, usize, usize)>,
    running: usize,
    unfinished: usize,
    stopped: bool,
}

impl Scheduler {
    /// An empty scheduler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a task depending on `deps` (indices of tasks added before). Returns its index.
    pub fn add(&mut self, deps: &[usize], weight: u64, locks: Vec<Lock>) -> usize {
        self.add_slot(deps, weight, locks, false)
    }

    /// Add a barrier: completes by itself once its dependencies are done and it is
    /// not held. `held` creates it with one hold (see [`Scheduler::release`]).
    pub fn add_barrier(&mut self, deps: &[usize], held: bool) -> usize {
        self.add_slot_held(deps, 0, Vec::new(), true, usize::from(held))
    }

    fn add_slot(&mut self, deps: &[usize], weight: u64, locks: Vec<Lock>, barrier: bool) -> usize {
        self.add_slot_held(deps, weight, locks, barrier, 0)
    }

    fn add_slot_held(
        &mut self,
        deps: &[usize],
        weight: u64,
        locks: Vec<Lock>,
        barrier: bool,
        holds: usize,
    ) -> usize {
        let id = self.slots.len();
        let mut left = 0;
        let mut skip = false;
        for &d in deps {
            let Some(dep) = self.slots.get_mut(d) else {
                continue;
            };
            match dep.state {
                State::Done => {}
                State::Failed | State::Skipped if barrier => {}
                State::Failed | State::Skipped => skip = true,
                _ => {
                    dep.dependents.push(id);
                    left += 1;
                }
            }
        }
        self.slots.push(Slot {
            deps_left: left,
            dependents: Vec::new(),
            weight,
            locks,
            barrier,
            holds,
            state: State::Pending,
        });
        self.unfinished += 1;
        if skip || self.stopped {
            self.finish(id, State::Skipped);
        } else if left == 0 {
            self.make_ready(id);
        }
        id
    }

    /// The weight a task was added with (0 for an unknown index).
    pub fn weight(&self, id: usize) -> u64 {
        self.slots.get(id).map_or(0, |s| s.weight)
    }

    /// Make `later` also wait for `earlier` (both already added; `later` not started).
    pub fn add_dep(&mut self, later: usize, earlier: usize) {
        let Some(e) = self.slots.get(earlier) else {
            return;
        };
        let barrier = self.slots.get(later).is_some_and(|l| l.barrier);
        match e.state {
            State::Done => {}
            State::Failed | State::Skipped if barrier => {}
            State::Failed | State::Skipped => {
                if matches!(self.state(later), State::Pending | State::Ready) {
                    self.remove_ready(later);
                    self.finish(later, State::Skipped);
                }
            }
            _ => {
                if matches!(self.state(later), State::Pending | State::Ready) {
                    self.remove_ready(later);
                    self.slots[earlier].dependents.push(later);
                    self.slots[later].deps_left += 1;
                    self.slots[later].state = State::Pending;
                }
            }
        }
    }

    /// Keep a barrier from completing until [`Scheduler::release`].
    pub fn hold(&mut self, barrier: usize) {
        if let Some(s) = self.slots.get_mut(barrier) {
            s.holds += 1;
            if s.state == State::Ready {
                s.state = State::Pending;
            }
        }
    }

    /// Release a hold taken with [`Scheduler::hold`].
    pub fn release(&mut self, barrier: usize) {
        let Some(s) = self.slots.get_mut(barrier) else {
            return;
        };
        s.holds = s.holds.saturating_sub(1);
        if s.holds == 0 && s.deps_left == 0 && s.state == State::Pending {
            self.make_ready(barrier);
        }
    }

    /// True when every task barrier `b` waits for has finished, whether or not the
    /// barrier is held (a phase that ends at `b` is over).
    pub fn gate_reached(&self, b: usize) -> bool {
        self.slots.get(b).is_none_or(|s| s.deps_left == 0)
    }

    /// State of a task.
    pub fn state(&self, id: usize) -> State {
        self.slots.get(id).map_or(State::Skipped, |s| s.state)
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when there are no tasks.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// True when every task is done, failed or skipped.
    pub fn finished(&self) -> bool {
        self.unfinished == 0
    }

    /// Number of tasks running.
    pub fn running(&self) -> usize {
        self.running
    }

    /// Stop: nothing new is handed out; pending and ready tasks become `Skipped`.
    pub fn stop(&mut self) {
        self.stopped = true;
        let ids: Vec<usize> = (0..self.slots.len())
            .filter(|&i| matches!(self.slots[i].state, State::Pending | State::Ready))
            .collect();
        self.ready.clear();
        for i in ids {
            self.finish(i, State::Skipped);
        }
    }

    /// The next task to run, if one is ready and its locks are free.
    pub fn next_task(&mut self) -> Option<usize> {
        self.next_where(|_, _| true)
    }

    /// Like [`Scheduler::next_task`], among the ready tasks accepted by `accept`
    /// (called with a task's index and weight).
    pub fn next_where(&mut self, accept: impl Fn(usize, u64) -> bool) -> Option<usize> {
        if self.stopped {
            return None;
        }
        let pick = self
            .ready
            .keys()
            .rev()
            .map(|(w, std::cmp::Reverse(i))| (*i, *w))
            .find(|&(i, w)| accept(i, w) && self.locks_free(i))
            .map(|(i, _)| i)?;
        self.remove_ready(pick);
        self.slots[pick].state = State::Running;
        self.running += 1;
        for l in self.slots[pick].locks.clone() {
            let e = self.held.entry(l.table().to_string()).or_default();
            match l {
                Lock::Shared(_) => e.0 += 1,
                Lock::Load(_) => e.1 += 1,
                Lock::Exclusive(_) => e.2 += 1,
            }
        }
        Some(pick)
    }

    /// Report a running task's result. Returns the tasks skipped because it failed.
    pub fn complete(&mut self, id: usize, ok: bool) -> Vec<usize> {
        if self.state(id) != State::Running {
            return Vec::new();
        }
        self.running -= 1;
        for l in self.slots[id].locks.clone() {
            if let Some(e) = self.held.get_mut(l.table()) {
                match l {
                    Lock::Shared(_) => e.0 -= 1,
                    Lock::Load(_) => e.1 -= 1,
                    Lock::Exclusive(_) => e.2 -= 1,
                }
                if *e == (0, 0, 0) {
                    self.held.remove(l.table());
                }
            }
        }
        let mut skipped = self.finish(id, if ok { State::Done } else { State::Failed });
        skipped.sort_unstable();
        skipped
    }

    fn locks_free(&self, id: usize) -> bool {
        self.slots[id].locks.iter().all(|l| {
            let (s, d, x) = self.held.get(l.table()).copied().unwrap_or_default();
            match l {
                Lock::Shared(_) => d == 0 && x == 0,
                Lock::Load(_) => s == 0 && x == 0,
                Lock::Exclusive(_) => s == 0 && d == 0 && x == 0,
            }
        })
    }

    fn make_ready(&mut self, id: usize) {
        if self.slots[id].barrier {
            if self.slots[id].holds == 0 {
                self.finish(id, State::Done);
            }
            return;
        }
        self.slots[id].state = State::Ready;
        self.ready
            .insert((self.slots[id].weight, std::cmp::Reverse(id)), ());
    }

    fn remove_ready(&mut self, id: usize) {
        let w = self.slots[id].weight;
        self.ready.remove(&(w, std::cmp::Reverse(id)));
    }

    /// Mark a task finished and propagate to its dependents (iteratively). Returns the
    /// dependents this skipped, so that a completion costs what it touches, not the
    /// size of the whole plan.
    fn finish(&mut self, id: usize, state: State) -> Vec<usize> {
        let mut skipped = Vec::new();
        let mut work = vec![(id, state)];
        while let Some((t, st)) = work.pop() {
            if matches!(
                self.slots[t].state,
                State::Done | State::Failed | State::Skipped
            ) {
                continue;
            }
            self.slots[t].state = st;
            self.unfinished -= 1;
            if t != id && st == State::Skipped {
                skipped.push(t);
            }
            let dependents = std::mem::take(&mut self.slots[t].dependents);
            for d in dependents {
                // A barrier waits for its tasks to finish, not to succeed.
                let finished = if self.slots[d].barrier {
                    State::Done
                } else {
                    st
                };
                match finished {
                    State::Done => {
                        let s = &mut self.slots[d];
                        if s.state != State::Pending {
                            continue;
                        }
                        s.deps_left -= 1;
                        if s.deps_left == 0 && s.holds == 0 {
                            if s.barrier {
                                work.push((d, State::Done));
                            } else {
                                self.make_ready(d);
                            }
                        }
                    }
                    _ => {
                        if matches!(self.slots[d].state, State::Pending | State::Ready) {
                            self.remove_ready(d);
                            work.push((d, State::Skipped));
                        }
                    }
                }
            }
        }
        skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_in_dependency_order_largest_first() {
        let mut s = Scheduler::new();
        let a = s.add(&[], 1, vec![]);
        let b = s.add(&[], 10, vec![]);
        let c = s.add(&[a, b], 5, vec![]);
        assert_eq!(s.next_task(), Some(b));
        assert_eq!(s.next_task(), Some(a));
        assert_eq!(s.next_task(), None);
        s.complete(b, true);
        assert_eq!(s.next_task(), None);
        s.complete(a, true);
        assert_eq!(s.next_task(), Some(c));
        s.complete(c, true);
        assert!(s.finished());
    }

    #[test]
    fn lock_conflicts() {
        let mut s = Scheduler::new();
        let i1 = s.add(&[], 3, vec![Lock::Shared("t".into())]);
        let i2 = s.add(&[], 2, vec![Lock::Shared("t".into())]);
        let pk = s.add(&[], 1, vec![Lock::Exclusive("t".into())]);
        let other = s.add(&[], 0, vec![Lock::Exclusive("u".into())]);
        assert_eq!(s.next_task(), Some(i1));
        assert_eq!(s.next_task(), Some(i2)); // two index builds together
        assert_eq!(s.next_task(), Some(other)); // pk must wait for t
        assert_eq!(s.next_task(), None);
        s.complete(i1, true);
        assert_eq!(s.next_task(), None);
        s.complete(i2, true);
        assert_eq!(s.next_task(), Some(pk));
    }

    #[test]
    fn failures_skip_dependents() {
        let mut s = Scheduler::new();
        let a = s.add(&[], 1, vec![]);
        let b = s.add(&[a], 1, vec![]);
        let c = s.add(&[b], 1, vec![]);
        let d = s.add(&[], 1, vec![]);
        assert_eq!(s.next_task(), Some(a));
        let skipped = s.complete(a, false);
        assert_eq!(skipped, vec![b, c]);
        assert_eq!(s.state(a), State::Failed);
        assert_eq!(s.next_task(), Some(d));
        s.complete(d, true);
        assert!(s.finished());
        // a task added later on top of a failed one is skipped at once
        let e = s.add(&[a], 1, vec![]);
        assert_eq!(s.state(e), State::Skipped);
    }

    #[test]
    fn barriers_and_holds() {
        let mut s = Scheduler::new();
        let open = s.add_barrier(&[], false);
        assert_eq!(s.state(open), State::Done);
        let t = s.add(&[], 1, vec![]);
        let bar = s.add_barrier(&[t], true);
        let post = s.add(&[bar], 1, vec![]);
        assert_eq!(s.next_task(), Some(t));
        // a frame arrives: the barrier waits for it too
        let f = s.add(&[], 1, vec![]);
        s.add_dep(bar, f);
        s.complete(t, true);
        assert_eq!(s.state(bar), State::Pending);
        assert_eq!(s.next_task(), Some(f));
        s.complete(f, true);
        assert_eq!(s.state(bar), State::Pending); // still held
        s.release(bar);
        assert_eq!(s.state(bar), State::Done);
        assert_eq!(s.next_task(), Some(post));
        s.complete(post, true);
        assert!(s.finished());
    }

    #[test]
    fn barriers_wait_for_failed_tasks_too() {
        let mut s = Scheduler::new();
        let a = s.add(&[], 1, vec![]);
        let b = s.add(&[], 1, vec![]);
        let bar = s.add_barrier(&[a, b], false);
        let after_bar = s.add(&[bar], 1, vec![]);
        let after_a = s.add(&[bar, a], 1, vec![]);
        assert_eq!(s.next_task(), Some(a));
        assert_eq!(s.next_task(), Some(b));
        assert_eq!(s.complete(a, false), vec![after_a]);
        assert_eq!(s.state(bar), State::Pending);
        s.complete(b, true);
        assert_eq!(s.state(bar), State::Done);
        assert_eq!(s.next_task(), Some(after_bar));
        s.complete(after_bar, true);
        // barriers added or extended later ignore failed tasks as well
        let late = s.add_barrier(&[a], true);
        s.add_dep(late, after_a);
        assert_eq!(s.state(late), State::Pending);
        s.release(late);
        assert_eq!(s.state(late), State::Done);
        assert!(s.finished());
    }

    #[test]
    fn stop_skips_the_rest() {
        let mut s = Scheduler::new();
        let a = s.add(&[], 1, vec![]);
        let b = s.add(&[], 1, vec![]);
        assert_eq!(s.next_task(), Some(a));
        s.stop();
        assert_eq!(s.state(b), State::Skipped);
        assert_eq!(s.next_task(), None);
        s.complete(a, true);
        assert!(s.finished());
    }
}
