//! Sleep and wakeup on wait channels (NetBSD: kern_synch.c tsleep/wakeup, kern_sleepq.c).
//!
//! A wait channel is a value naming what a thread waits for. As in NetBSD's sleep
//! queue table, channels hash onto a fixed set of condition variables: a wakeup wakes
//! every sleeper of its bucket and sleepers re-check their condition, so collisions cost
//! a spurious wakeup, never a lost one. Sleeping releases the kernel lock (paper 2.3.1:
//! never block with the big lock held).

use std::time::Instant;

use parking_lot::{Condvar, MutexGuard};

use super::errno::Errno;
use super::kernel::KernelState;
use super::slab::SlabId;

/// What a sleeping thread waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Chan {
    /// Data or EOF in a socket's receive buffer (`&so->so_rcv`).
    SoRcv(SlabId),
    /// Space in a socket's send buffer (`&so->so_snd`).
    SoSnd(SlabId),
    /// Connection state changes and the listen queue (`&so->so_timeo`).
    SoTimeo(SlabId),
    /// Any selectable event (`selwakeup`); poll and select sleep here.
    Select,
    /// The soft interrupt thread.
    Softint,
    /// The clock thread: a callout was scheduled earlier than it sleeps.
    Clock,
}

const SLEEPTAB_SIZE: usize = 64;

/// The sleep queue table of one kernel.
pub struct SleepTab {
    buckets: [Condvar; SLEEPTAB_SIZE],
}

impl Default for SleepTab {
    fn default() -> Self {
        SleepTab {
            buckets: std::array::from_fn(|_| Condvar::new()),
        }
    }
}

fn bucket(chan: Chan) -> usize {
    let (tag, id) = match chan {
        Chan::SoRcv(id) => (1u64, id.as_u64()),
        Chan::SoSnd(id) => (2, id.as_u64()),
        Chan::SoTimeo(id) => (3, id.as_u64()),
        Chan::Select => (4, 0),
        Chan::Softint => (5, 0),
        Chan::Clock => (6, 0),
    };
    let h = (id ^ tag.rotate_left(61)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> 58) as usize % SLEEPTAB_SIZE
}

impl SleepTab {
    /// Sleep on `chan` until woken or until `deadline`, releasing the kernel lock
    /// meanwhile.
    ///
    /// # Errors
    /// `EWOULDBLOCK` when the deadline passed (NetBSD's tsleep timeout).
    pub fn tsleep(
        &self,
        guard: &mut MutexGuard<'_, KernelState>,
        chan: Chan,
        deadline: Option<Instant>,
    ) -> Result<(), Errno> {
        // Input this thread deferred to other kernels must not wait for our wakeup.
        crate::net::ifnet::kick_deferred();
        let cv = &self.buckets[bucket(chan)];
        let r = match deadline {
            None => {
                cv.wait(guard);
                Ok(())
            }
            Some(d) => {
                if cv.wait_until(guard, d).timed_out() {
                    Err(Errno::EWOULDBLOCK)
                } else {
                    Ok(())
                }
            }
        };
        // Time passed while the lock was free.
        guard.clock_forget();
        r
    }

    /// Wake every thread sleeping on `chan` (and any that share its bucket).
    pub fn wakeup(&self, chan: Chan) {
        self.buckets[bucket(chan)].notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::kern::kernel::BootOptions;
    use crate::kern::Kernel;

    #[test]
    fn wakeup_reaches_a_sleeper_and_timeouts_expire() {
        let k = std::sync::Arc::new(Kernel::boot(BootOptions::default()).unwrap());
        let k2 = k.clone();
        let sleeper = std::thread::spawn(move || {
            let mut g = k2.lock();
            g.selwaiters += 1; // stands for "the condition": cleared by the waker
            while g.selwaiters != 0 {
                k2.tsleep(&mut g, Chan::Select, None).unwrap();
            }
        });
        std::thread::sleep(Duration::from_millis(20));
        {
            let mut g = k.lock();
            g.selwaiters = 0;
            g.wakeup(Chan::Select);
        }
        sleeper.join().unwrap();
        let mut g = k.lock();
        let t0 = Instant::now();
        let r = k.tsleep(&mut g, Chan::Softint, Some(t0 + Duration::from_millis(30)));
        assert_eq!(r, Err(Errno::EWOULDBLOCK));
        assert!(t0.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn channels_spread_over_buckets() {
        use crate::kern::slab::SlabId;
        let mut seen = std::collections::HashSet::new();
        for i in 0..256u64 {
            seen.insert(bucket(Chan::SoRcv(SlabId::from_u64(i))));
        }
        assert!(
            seen.len() > SLEEPTAB_SIZE / 2,
            "only {} buckets used",
            seen.len()
        );
    }
}
