//! A budget of bytes in flight between two stages of the dump, in place of a bound on
//! the number of frames: a run of small tables makes thousands of frames of a few
//! hundred bytes, which should flow without the sender waiting for the receiver frame by
//! frame (the writer stops to write the table of contents before the first frame, for
//! example), while big frames stay bounded as before: frames of `frame_size` bytes in
//! flight at most `bytes / frame_size`.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes are counted in units of this many bytes (semaphore permits are `u32`).
const UNIT: usize = 1 << 10;

/// A shared budget of bytes.
#[derive(Clone, Debug)]
pub(super) struct Budget {
    sem: Arc<Semaphore>,
    units: u32,
}

/// Bytes taken from a [`Budget`]; they go back when this is dropped.
#[derive(Debug)]
pub(super) struct Spent(#[allow(dead_code)] OwnedSemaphorePermit);

impl Budget {
    /// A budget of `bytes` (at least one unit).
    pub(super) fn new(bytes: usize) -> Self {
        let units = u32::try_from(bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX >> 4)
            .max(1);
        Budget {
            sem: Arc::new(Semaphore::new(units as usize)),
            units,
        }
    }

    /// Units for `bytes`: at least one, at most the whole budget (a frame bigger than the
    /// budget still goes, alone).
    fn units_for(&self, bytes: usize) -> u32 {
        u32::try_from(bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, self.units)
    }

    /// Takes `bytes` from the budget, waiting (blocking the thread) until they are free.
    /// `None` if the budget was closed.
    pub(super) fn spend_blocking(&self, bytes: usize) -> Option<Spent> {
        let n = self.units_for(bytes);
        futures::executor::block_on(self.sem.clone().acquire_many_owned(n))
            .ok()
            .map(Spent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_spends_share_the_budget_and_come_back_on_drop() {
        let b = Budget::new(8 << 10);
        let small: Vec<Spent> = (0..8).map(|_| b.spend_blocking(300).unwrap()).collect();
        assert_eq!(b.sem.available_permits(), 0);
        drop(small);
        assert_eq!(b.sem.available_permits(), 8);
        // bigger than the budget: takes all of it
        let big = b.spend_blocking(1 << 20).unwrap();
        assert_eq!(b.sem.available_permits(), 0);
        drop(big);
        b.sem.close();
        assert!(b.spend_blocking(1).is_none());
    }

    #[test]
    fn a_spender_waits_for_bytes_to_come_back() {
        let b = Budget::new(4 << 10);
        let held = b.spend_blocking(4 << 10).unwrap();
        let b2 = b.clone();
        let t = std::thread::spawn(move || b2.spend_blocking(1 << 10).is_some());
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!t.is_finished());
        drop(held);
        assert!(t.join().unwrap());
    }
}
