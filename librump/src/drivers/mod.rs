//! Interface drivers: the only way frames enter or leave the stack.
//!
//! A driver is the hardware half of an [`Ifnet`](crate::net::ifnet::Ifnet). The stack
//! hands it frames through [`IfDriver::output`](crate::net::ifnet::IfDriver::output)
//! under the kernel lock, and it must not block there; it delivers the frames it
//! receives through an [`IfInput`](crate::net::ifnet::IfInput) handle, which queues them
//! for the kernel's netisr without taking the kernel lock (a receive thread that holds
//! no lock may then run that input itself, `netisr_dispatch`). No driver ever takes
//! another kernel's lock, so kernels joined by a link cannot deadlock on each other.
//!
//! Drivers that talk to the host (a tap device, a shared-memory bus file) confine their
//! host calls to a `sys.rs` of their own, the only place in this room where `unsafe`
//! may appear. [`memlink`] needs none: it joins kernels of one process in memory, and
//! is the link protocol tests run on (DESIGN.md's in-memory test link). [`shmif`] is an
//! Ethernet bus in a file that kernels in any number of processes share. Both impair
//! what they receive through [`impair`].

mod ifregistry;
pub mod impair;
pub mod memlink;
pub mod shmif;
pub mod virtif;
