//! Which interface of which kernel a driver's shared state belongs to, for the
//! per-interface counters and controls drivers offer outside the stack
//! (`shmif_stats(k, ifindex)` and the like).
//!
//! Entries hold both the kernel and the state weakly: the driver owns its state, so a
//! gone interface (its tap closed, its bus left) is not kept alive here, and entries of
//! gone kernels are dropped at the next registration.

use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::kern::kernel::KernelInner;
use crate::kern::Kernel;

struct Entry<T> {
    kernel: Weak<KernelInner>,
    ifindex: usize,
    shared: Weak<T>,
}

/// The interfaces of one driver, in every kernel of the process.
pub(crate) struct IfRegistry<T> {
    entries: Mutex<Vec<Entry<T>>>,
}

impl<T> IfRegistry<T> {
    /// An empty registry (for a `static`).
    pub(crate) const fn new() -> Self {
        IfRegistry {
            entries: Mutex::new(Vec::new()),
        }
    }

    /// Interface `ifindex` of `k` has driver state `shared`.
    pub(crate) fn register(&self, k: &Kernel, ifindex: usize, shared: &Arc<T>) {
        let mut e = self.entries.lock();
        e.retain(|e| e.kernel.strong_count() > 0 && e.shared.strong_count() > 0);
        e.push(Entry {
            kernel: Arc::downgrade(&k.inner),
            ifindex,
            shared: Arc::downgrade(shared),
        });
    }

    /// The driver state of interface `ifindex` of `k`, if it is one of this driver's.
    pub(crate) fn lookup(&self, k: &Kernel, ifindex: usize) -> Option<Arc<T>> {
        let me = Arc::as_ptr(&k.inner);
        self.entries
            .lock()
            .iter()
            .find(|e| e.ifindex == ifindex && std::ptr::eq(e.kernel.as_ptr(), me))
            .and_then(|e| e.shared.upgrade())
    }
}
