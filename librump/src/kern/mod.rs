//! The kernel core: what every protocol shares (NetBSD's sys/kern).
//!
//! One [`Kernel`] holds all state of one virtual kernel behind one lock, the
//! softnet-style big lock of the paper's section 2.3.1: system calls, the sockin worker,
//! soft interrupts and callouts all take it, and protocol code receives
//! `&mut KernelState`, so the borrow checker proves that nothing touches kernel state
//! without it. Blocking calls sleep on a wait channel ([`kern_synch`]), which releases
//! the lock; no code holds it across a host call that can block.

pub mod callout;
pub mod descrip;
pub mod errno;
pub mod kern_clock;
pub mod kern_synch;
pub mod kern_sysctl;
pub mod kernel;
pub mod mbuf;
pub mod slab;
pub mod sockaddr;
pub mod sys_generic;
pub mod uipc_domain;
pub mod uipc_socket;
pub mod uipc_socket2;
pub mod uipc_syscalls;

pub use kernel::{Kernel, KernelState};
