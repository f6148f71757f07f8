//! The hypercall interface (the paper's rumpuser): the only door from the virtual kernel
//! to the host OS.
//!
//! The kernel asks its [`Hypervisor`] for time and random numbers, and starts its
//! threads through [`thread_create`]; sockin's host sockets go through [`hostsock`].
//! Tests swap in [`TestHypervisor`], whose clock only moves when the test says so and
//! whose random numbers repeat for a given seed.
#![allow(unsafe_code)]

pub mod hostsock;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Host services the kernel needs (rumpuser_clock_gettime, rumpuser_getrandom).
pub trait Hypervisor: Send + Sync + 'static {
    /// Monotonic time since the kernel booted.
    fn clock_monotonic(&self) -> Duration;
    /// Fill `buf` with random bytes.
    fn getrandom(&self, buf: &mut [u8]);
    /// True when time only moves by hand (no clock thread runs).
    fn manual_clock(&self) -> bool {
        false
    }
}

/// The real host: `CLOCK_MONOTONIC` and `getrandom(2)`.
pub struct HostHypervisor {
    boot: Instant,
}

impl Default for HostHypervisor {
    fn default() -> Self {
        HostHypervisor {
            boot: Instant::now(),
        }
    }
}

impl Hypervisor for HostHypervisor {
    fn clock_monotonic(&self) -> Duration {
        self.boot.elapsed()
    }

    fn getrandom(&self, buf: &mut [u8]) {
        let mut done = 0;
        while done < buf.len() {
            let rest = &mut buf[done..];
            // SAFETY: `rest` is a valid writable buffer of `rest.len()` bytes.
            let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
            if n > 0 {
                done += n as usize;
            } else if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                // No entropy source at all: fall back to the clock so we never spin.
                let t = self.boot.elapsed().as_nanos() as u64;
                for (i, b) in rest.iter_mut().enumerate() {
                    *b = (t.rotate_left(i as u32 * 8) ^ 0x5a) as u8;
                }
                return;
            }
        }
    }
}

/// A host for tests: a clock moved by hand and a seeded random source.
pub struct TestHypervisor {
    now_ns: AtomicU64,
    rng: AtomicU64,
}

impl TestHypervisor {
    /// A test host at time zero with the given random seed.
    pub fn new(seed: u64) -> Arc<Self> {
        Arc::new(TestHypervisor {
            now_ns: AtomicU64::new(0),
            rng: AtomicU64::new(seed | 1),
        })
    }

    /// Move the clock forward.
    pub fn advance(&self, d: Duration) {
        self.now_ns.fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Hypervisor for TestHypervisor {
    fn clock_monotonic(&self) -> Duration {
        Duration::from_nanos(self.now_ns.load(Ordering::SeqCst))
    }

    fn getrandom(&self, buf: &mut [u8]) {
        for b in buf {
            // xorshift64*
            let mut x = self.rng.load(Ordering::Relaxed);
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.rng.store(x, Ordering::Relaxed);
            *b = (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8;
        }
    }

    fn manual_clock(&self) -> bool {
        true
    }
}

/// Start a kernel thread (rumpuser_thread_create).
pub fn thread_create<F>(name: &str, f: F) -> JoinHandle<()>
where
    F: FnOnce() + Send + 'static,
{
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .expect("rumpuser: cannot create a kernel thread")
}
