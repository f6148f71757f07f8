//! The loopback interface (NetBSD: net/if_loop.c): what `lo0` sends comes back in
//! through the kernel's own input queue, as a received packet, on the next netisr run.

use crate::kern::errno::{Errno, KResult};
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::MbufChain;
use crate::net::ifnet::{IfDriver, InputFrame};

/// The driver of `lo0`.
pub struct LoopDriver;

impl IfDriver for LoopDriver {
    fn output(&mut self, k: &mut KernelState, m: MbufChain) -> KResult<()> {
        let lo = k.ifunit("lo0").ok_or(Errno::ENXIO)?;
        if k.netisr.enqueue(InputFrame {
            ifindex: lo,
            m,
            not_before: 0,
        }) {
            Ok(())
        } else {
            Err(Errno::ENOBUFS)
        }
    }
}
