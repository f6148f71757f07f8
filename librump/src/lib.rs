//! # librump: a BSD-style TCP/IP kernel that lives inside a process
//!
//! This crate is the virtual kernel of the paper "Environmental Independence: BSD Kernel
//! TCP/IP in Userspace": one [`kern::Kernel`] value holds every piece of state of one
//! virtual kernel, so two kernels in one process are independent (the paper's section 4.3).
//! C programs reach the default kernel through `rump_init()` and the `rump_sys_*` calls
//! exported by [`abi`]; Rust programs may hold `Kernel`s of their own.
//!
//! The rooms follow the BSD source tree, one layer a room:
//! - [`rumpuser`]: the hypercall interface, the only code that calls the host OS
//!   (clock, random numbers, threads, host sockets for sockin).
//! - [`kern`]: sleep/wakeup, soft interrupts, callouts on a timing wheel, mbufs from
//!   pools, the descriptor table and the socket layer (sockets, socket buffers, domains
//!   and the protocol switch, poll and select).
//! - [`sockin`]: the paper's sockin domain, PF_INET and PF_INET6 mapped onto host
//!   sockets through the protocol switch.
//! - [`abi`]: the only place that speaks C: NetBSD structs and constants, the
//!   `rump_sys_*` exports behind one boundary macro, and the one translation between the
//!   Linux host ABI and the NetBSD ABI.
//!
//! The protocol code is safe Rust: `unsafe` is denied here and allowed only in `abi/`
//! and `rumpuser/`, each block with a `// SAFETY:` line.
#![deny(unsafe_code)]

pub mod abi;
pub mod config;
pub mod drivers;
pub mod kern;
pub mod net;
pub mod netinet;
pub mod rumpuser;
pub mod sockin;
pub mod wire;

pub use kern::errno::Errno;
pub use kern::Kernel;
