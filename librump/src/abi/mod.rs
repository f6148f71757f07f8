//! The only place that speaks C.
//!
//! - [`netbsd`]: the NetBSD ABI (constants and `#[repr(C)]` structs) → `rumpdefs.h`.
//! - [`syscalls`]: `rump_sys_*`, NetBSD ABI in and out → `rump_syscalls.h`.
//! - [`rump`]: `rump_init` and `rump_pub_*` → `rump.h`.
//! - [`hostcalls`]: the same calls with the Linux host's structs, constants and errno,
//!   for the Figure 4 macros (`rumpmacro.h`) and the LD_PRELOAD hijack.
//! - [`hostabi`] and [`sockaddr`]: the one translation between the two ABIs.
//! - [`boundary`]: what every export goes through: panics caught, pointers checked,
//!   errors turned into -1 and `errno`.
#![allow(unsafe_code)]

pub mod boundary;
pub mod hostabi;
pub mod hostcalls;
pub mod netbsd;
pub mod rump;
pub mod sockaddr;
pub mod syscalls;
