//! The clock: ticks, callouts and soft interrupts (NetBSD: kern_clock.c hardclock,
//! kern_timeout.c, kern_softint.c).
//!
//! The clock ticks at [`HZ`]. There is no periodic interrupt: the clock thread sleeps
//! until the earliest pending callout (or until a new, earlier one is scheduled), so an
//! idle kernel does no timer work. A kernel booted with a hand-driven clock has no clock
//! thread; its test advances time and the expired callouts run in the test's thread.

use std::time::Duration;

use super::callout::CalloutId;
use super::kernel::KernelState;

/// Clock ticks per second: a tick is one millisecond.
pub const HZ: u64 = 1000;

/// What a callout does when it fires: runs under the kernel lock.
pub type CalloutFn = Box<dyn FnOnce(&mut KernelState) + Send>;

/// A soft interrupt handler: runs under the kernel lock in the softint thread.
pub type SoftintFn = fn(&mut KernelState);

/// A registered soft interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftintId(pub(crate) usize);

/// Convert a duration to ticks, rounding up so a timeout never fires early.
pub fn duration_to_ticks(d: Duration) -> u64 {
    // 64-bit arithmetic: this runs on every clock read.
    const NS_PER_TICK: u64 = 1_000_000_000 / HZ;
    d.as_secs()
        .saturating_mul(HZ)
        .saturating_add(u64::from(d.subsec_nanos()).div_ceil(NS_PER_TICK))
}

/// Convert ticks to a duration.
pub fn ticks_to_duration(t: u64) -> Duration {
    Duration::from_nanos(t.saturating_mul(1_000_000_000 / HZ))
}

impl KernelState {
    /// Schedule `f` to run `ticks` from now (callout_reset).
    pub fn callout_schedule(&mut self, ticks: u64, f: CalloutFn) -> CalloutId {
        // Wake the clock thread when the new callout may be the earliest. A bound, not
        // the exact earliest deadline: finding that can scan a bucket of thousands of
        // callouts (one per connection), and this runs whenever TCP arms a timer.
        let before = self.callouts.next_deadline_bound();
        let id = self.callouts.schedule(ticks, f);
        let new = self.callouts.deadline(id);
        if before.is_none_or(|b| new.is_some_and(|n| n < b)) {
            self.wakeup(super::kern_synch::Chan::Clock);
        }
        id
    }

    /// Move a pending callout to `ticks` from now, keeping its function and id (NetBSD's
    /// callout_reset on an armed callout): no allocation. False if it is not pending.
    pub fn callout_reset(&mut self, id: CalloutId, ticks: u64) -> bool {
        let before = self.callouts.next_deadline_bound();
        if !self.callouts.reset(id, ticks) {
            return false;
        }
        let new = self.callouts.deadline(id);
        if before.is_none_or(|b| new.is_some_and(|n| n < b)) {
            self.wakeup(super::kern_synch::Chan::Clock);
        }
        true
    }

    /// Cancel a pending callout (callout_stop); true if it was pending.
    pub fn callout_stop(&mut self, id: CalloutId) -> bool {
        self.callouts.stop(id).is_some()
    }

    /// Run every callout whose time has come (hardclock → softclock).
    pub fn hardclock(&mut self, now_ticks: u64) {
        let mut fired = std::mem::take(&mut self.callout_scratch);
        self.callouts.advance(now_ticks, &mut fired);
        for (_, f) in fired.drain(..) {
            f(self);
        }
        self.callout_scratch = fired;
    }

    /// Register a soft interrupt handler (softint_establish).
    pub fn softint_establish(&mut self, f: SoftintFn) -> SoftintId {
        self.softints.push((f, false));
        SoftintId(self.softints.len() - 1)
    }

    /// Mark a soft interrupt pending and wake the softint thread (softint_schedule).
    pub fn softint_schedule(&mut self, id: SoftintId) {
        if let Some(s) = self.softints.get_mut(id.0) {
            if !s.1 {
                s.1 = true;
                self.softint_pending += 1;
                self.wakeup(super::kern_synch::Chan::Softint);
            }
        }
    }

    /// Run all pending soft interrupts; returns how many ran.
    pub fn softint_run(&mut self) -> usize {
        let mut ran = 0;
        while self.softint_pending > 0 {
            for i in 0..self.softints.len() {
                if self.softints[i].1 {
                    self.softints[i].1 = false;
                    self.softint_pending -= 1;
                    let f = self.softints[i].0;
                    f(self);
                    ran += 1;
                }
            }
        }
        ran
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::kern::kernel::BootOptions;
    use crate::kern::Kernel;
    use crate::rumpuser::TestHypervisor;

    fn test_kernel() -> (Kernel, Arc<TestHypervisor>) {
        let h = TestHypervisor::new(1);
        let k = Kernel::boot(BootOptions {
            hypervisor: h.clone(),
            ..BootOptions::default()
        })
        .unwrap();
        (k, h)
    }

    #[test]
    fn callouts_fire_when_the_test_moves_the_clock() {
        let (k, h) = test_kernel();
        let fired = Arc::new(AtomicUsize::new(0));
        let (f1, f2) = (fired.clone(), fired.clone());
        let cancelled = {
            let mut g = k.lock();
            g.callout_schedule(
                10,
                Box::new(move |_| {
                    f1.fetch_add(1, Ordering::SeqCst);
                }),
            );
            g.callout_schedule(
                20,
                Box::new(move |_| {
                    f2.fetch_add(100, Ordering::SeqCst);
                }),
            );
            g.callout_schedule(15, Box::new(|_| panic!("cancelled callout ran")))
        };
        assert!(k.lock().callout_stop(cancelled));
        h.advance(Duration::from_millis(9));
        k.clock_run();
        assert_eq!(fired.load(Ordering::SeqCst), 0);
        h.advance(Duration::from_millis(1));
        k.clock_run();
        assert_eq!(fired.load(Ordering::SeqCst), 1);
        h.advance(Duration::from_secs(3600));
        k.clock_run();
        assert_eq!(fired.load(Ordering::SeqCst), 101);
        assert!(k.lock().callouts.is_empty());
    }

    #[test]
    fn a_callout_may_rearm_itself() {
        let (k, h) = test_kernel();
        fn tick(n: Arc<AtomicUsize>) -> CalloutFn {
            Box::new(move |g: &mut KernelState| {
                if n.fetch_add(1, Ordering::SeqCst) < 9 {
                    g.callout_schedule(5, tick(n.clone()));
                }
            })
        }
        let n = Arc::new(AtomicUsize::new(0));
        k.lock().callout_schedule(5, tick(n.clone()));
        for _ in 0..100 {
            h.advance(Duration::from_millis(1));
            k.clock_run();
        }
        assert_eq!(n.load(Ordering::SeqCst), 10);
    }

    static SOFT_RUNS: AtomicUsize = AtomicUsize::new(0);

    #[test]
    fn soft_interrupts_run_once_per_schedule_batch() {
        let (k, _h) = test_kernel();
        fn handler(_: &mut KernelState) {
            SOFT_RUNS.fetch_add(1, Ordering::SeqCst);
        }
        let id = k.lock().softint_establish(handler);
        {
            let mut g = k.lock();
            g.softint_schedule(id);
            g.softint_schedule(id); // coalesces, as a pending softint does
        }
        k.clock_run();
        assert_eq!(SOFT_RUNS.load(Ordering::SeqCst), 1);
        k.clock_run();
        assert_eq!(SOFT_RUNS.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_clock_thread_runs_callouts_in_real_time() {
        let k = Kernel::boot(BootOptions::default()).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        k.lock().callout_schedule(
            20,
            Box::new(move |_| {
                let _ = tx.send(());
            }),
        );
        let t0 = std::time::Instant::now();
        rx.recv_timeout(Duration::from_secs(10))
            .expect("callout never ran");
        assert!(t0.elapsed() >= Duration::from_millis(15));
    }

    #[test]
    fn ticks_round_up() {
        assert_eq!(duration_to_ticks(Duration::from_micros(1)), 1);
        assert_eq!(duration_to_ticks(Duration::from_millis(7)), 7);
        assert_eq!(ticks_to_duration(250), Duration::from_millis(250));
    }
}
