//! sockin: PF_INET and PF_INET6 mapped onto host sockets (the paper's section 2.2,
//! NetBSD's sys/rump/net/lib/libsockin).
//!
//! sockin registers the inet domains with a protocol switch whose user requests are
//! host socket calls, so the socket layer above it — socket buffers, blocking, poll,
//! options — is the kernel's own. Each virtual socket owns one non-blocking host socket.
//! A worker thread (NetBSD: `sockin_process` in the `sockwork` kthread) waits on an epoll
//! instance without the kernel lock and, with the lock, moves data between host sockets
//! and socket buffers, accepts connections onto listen queues and completes connects.
//!
//! Unlike NetBSD's sockin (which the paper says "only supports features so far required"),
//! this one implements every request: send errors reach the user, connect does not block
//! the kernel, getsockopt reads, and unknown options are ENOPROTOOPT. What it cannot do is
//! inherent: no ICMP or raw sockets, no interfaces or routes, and all virtual kernels
//! share the host's addresses and ports.

mod sockin_usrreq;

use std::sync::Arc;

use parking_lot::Mutex;

use crate::abi::netbsd as nb;
use crate::kern::errno::KResult;
use crate::kern::uipc_domain::{Domain, Protosw, PR_ABRTACPTDIS, PR_ADDR, PR_ATOMIC};
use crate::kern::uipc_domain::{PR_CONNREQUIRED, PR_LISTEN, PR_WANTRCVD};
use crate::kern::Kernel;
use crate::rumpuser::hostsock::Poller;

pub use sockin_usrreq::SockinProto;

/// State shared by the sockin protocols of one kernel.
pub struct SockinShared {
    pub(crate) poller: Poller,
    /// Bounce buffer for host reads (used under the kernel lock only).
    pub(crate) scratch: Mutex<Vec<u8>>,
}

/// Default socket buffer sizes of sockin TCP: the host socket below has buffers of its
/// own, ours only needs to cover one host read or write batch.
pub const SOCKIN_TCP_SPACE: usize = 256 * 1024;
/// UDP send space (NetBSD udp_sendspace).
pub const SOCKIN_UDP_SENDSPACE: usize = 9216;
/// UDP receive space (NetBSD udp_recvspace: 40 datagrams of 1 KiB plus an address).
pub const SOCKIN_UDP_RECVSPACE: usize = 40 * (1024 + 16);

/// Register sockin's PF_INET and PF_INET6 domains in a kernel and start its worker.
///
/// # Errors
/// When the host refuses an epoll instance.
pub fn sockin_attach(k: &Kernel) -> KResult<()> {
    let shared = Arc::new(SockinShared {
        poller: Poller::new()?,
        scratch: Mutex::new(vec![0u8; 64 * 1024]),
    });
    let mut g = k.lock();
    for family in [nb::RUMP_AF_INET, nb::RUMP_AF_INET6] {
        let sw: Vec<Arc<dyn Protosw>> = vec![
            Arc::new(SockinProto {
                family,
                ty: nb::RUMP_SOCK_DGRAM,
                protocol: nb::RUMP_IPPROTO_UDP,
                // WANTRCVD: taking a datagram makes room to read more from the host.
                flags: PR_ATOMIC | PR_ADDR | PR_WANTRCVD,
                shared: shared.clone(),
            }),
            Arc::new(SockinProto {
                family,
                ty: nb::RUMP_SOCK_STREAM,
                protocol: nb::RUMP_IPPROTO_TCP,
                flags: PR_CONNREQUIRED | PR_WANTRCVD | PR_LISTEN | PR_ABRTACPTDIS,
                shared: shared.clone(),
            }),
        ];
        g.domains.push(Arc::new(Domain {
            dom_family: family,
            dom_name: "sockin",
            dom_protosw: sw,
        }));
    }
    drop(g);
    let worker = shared.clone();
    k.kthread_create("rump-sockwork", move |inner| {
        let mut events = Vec::with_capacity(256);
        loop {
            let got = worker.poller.wait(&mut events);
            if inner.is_halted() {
                break;
            }
            if !got {
                continue;
            }
            let mut g = crate::kern::kernel::klock(&inner);
            for &(token, bits) in &events {
                sockin_usrreq::sockin_process(&mut g, &worker, token, bits);
            }
        }
    });
    let waker = shared;
    k.on_halt(Box::new(move || waker.poller.wakeup()));
    Ok(())
}
