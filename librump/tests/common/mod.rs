//! The harness shared by the test binaries that run kernels in one process: kernels on
//! one hand-driven clock joined by an in-memory Ethernet link, and small helpers to
//! look at their TCP state.

// Each test binary uses a part of it.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use rump::abi::netbsd as nb;
use rump::config::IfOptions;
use rump::drivers::memlink::{memlink_attach, MemLink};
use rump::kern::descrip::FileKind;
use rump::kern::kernel::BootOptions;
use rump::kern::sockaddr::SockAddr;
use rump::kern::uipc_socket::SocketId;
use rump::netinet::tcp_fsm::TcpState;
use rump::netinet::tcp_var::{tcp_states, TcpStat, Tcpcb};
use rump::rumpuser::TestHypervisor;
use rump::Kernel;

/// Kernels on one hand-driven clock.
pub struct Net {
    pub hv: Arc<TestHypervisor>,
    pub ks: Vec<Kernel>,
}

impl Net {
    /// `n` kernels, not yet linked.
    pub fn new(n: usize, seed: u64) -> Net {
        let hv = TestHypervisor::new(seed);
        let ks = (0..n)
            .map(|_| {
                Kernel::boot(BootOptions {
                    hypervisor: hv.clone(),
                    ..BootOptions::default()
                })
                .unwrap()
            })
            .collect();
        Net { hv, ks }
    }

    /// Process frames and due timers until nothing moves or `max` rounds have run;
    /// true if the network went idle.
    pub fn run_bounded(&self, max: usize) -> bool {
        for _ in 0..max {
            // Timers first on every kernel, so what they send is in the queues the
            // netisr pass below empties.
            for k in &self.ks {
                k.clock_run();
            }
            let mut n = 0;
            for k in &self.ks {
                n += k.netisr_run();
            }
            if n == 0 {
                return true;
            }
        }
        false
    }

    /// Process frames and due timers until nothing moves.
    ///
    /// # Panics
    /// If the network does not go idle within 100,000 rounds.
    pub fn run(&self) {
        assert!(self.run_bounded(100_000), "network never went idle");
    }

    /// Let time pass in 1 ms steps, running the network at each.
    pub fn advance(&self, d: Duration) {
        self.advance_by(d, Duration::from_millis(1));
    }

    /// Let time pass in steps of `step`, running the network at each.
    pub fn advance_by(&self, d: Duration, step: Duration) {
        let mut t = Duration::ZERO;
        while t < d {
            self.hv.advance(step);
            self.run();
            t += step;
        }
    }
}

/// An IPv4 socket address.
pub fn sin(a: [u8; 4], port: u16) -> SockAddr {
    SockAddr::Inet(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(a), port)))
}

/// Two kernels on one link: ks[0] is 10.0.0.1, ks[1] is 10.0.0.2.
pub fn pair(seed: u64) -> Net {
    let net = Net::new(2, seed);
    let link = MemLink::new();
    for (i, k) in net.ks.iter().enumerate() {
        let idx = memlink_attach(k, &link, &IfOptions::default()).unwrap();
        k.lock()
            .in_addr_add(idx, Ipv4Addr::from([10, 0, 0, i as u8 + 1]), 24, None)
            .unwrap();
    }
    net.run();
    net
}

/// A non-blocking TCP socket.
pub fn tcp_socket(k: &Kernel) -> i32 {
    k.socket(
        nb::RUMP_AF_INET,
        nb::RUMP_SOCK_STREAM | nb::RUMP_SOCK_NONBLOCK,
        0,
    )
    .unwrap()
}

/// The byte at offset `i` of test stream `salt` (a pattern with a long period, so a
/// byte out of place shows).
pub fn pattern_byte(i: u64, salt: u64) -> u8 {
    ((i * 131 + i / 7919 + salt) % 251) as u8
}

/// `len` bytes of stream `salt` from offset `from`.
pub fn pattern_at(from: u64, len: usize, salt: u64) -> Vec<u8> {
    (from..from + len as u64)
        .map(|i| pattern_byte(i, salt))
        .collect()
}

/// A kernel's TCP statistics.
pub fn stat(k: &Kernel) -> TcpStat {
    k.lock().inet().unwrap().tcp.tcpstat.clone()
}

/// The states of a kernel's TCP connections, sorted.
pub fn states(k: &Kernel) -> Vec<TcpState> {
    let mut v: Vec<TcpState> = tcp_states(&k.lock()).into_iter().map(|x| x.1).collect();
    v.sort();
    v
}

/// The socket behind a descriptor.
pub fn sock_of(k: &Kernel, fd: i32) -> Option<SocketId> {
    match k.lock().fd.get(fd) {
        Ok(FileKind::Socket(id)) => Some(id),
        Err(_) => None,
    }
}

/// Run `f` on the control block of a socket, if it has one.
pub fn with_tcb<R>(k: &Kernel, so: SocketId, f: impl FnOnce(&Tcpcb) -> R) -> Option<R> {
    let g = k.lock();
    let tp = g
        .sockets
        .get(so)?
        .so_pcb
        .as_ref()?
        .downcast_ref::<Tcpcb>()?;
    Some(f(tp))
}

/// The state of the connection on a descriptor.
pub fn fd_state(k: &Kernel, fd: i32) -> Option<TcpState> {
    let so = sock_of(k, fd)?;
    with_tcb(k, so, |tp| tp.t_state)
}

/// Counts of what a kernel holds, to compare before and after a test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holdings {
    pub fds_open: usize,
    pub files: usize,
    pub sockets: usize,
    pub tcbs: usize,
    pub callouts: usize,
    pub mbufs_outstanding: usize,
}

/// What `k` holds now.
pub fn holdings(k: &Kernel) -> Holdings {
    let g = k.lock();
    Holdings {
        fds_open: g.fd.open_count(),
        files: g.fd.file_count(),
        sockets: g.sockets.len(),
        tcbs: g.inet().unwrap().tcp.tcbtable.len(),
        callouts: g.callouts.len(),
        mbufs_outstanding: g.pool.stats().outstanding,
    }
}

/// Resident set size of the process, KiB.
pub fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = s.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

/// The Internet checksum (RFC 1071) of `parts` in order, for hand-made frames.
fn csum(parts: &[&[u8]]) -> u16 {
    use rump::wire::checksum;
    checksum::result(checksum::data_slices(parts.iter().copied()))
}

/// A TCP segment (24-byte header with MSS 1460, window 8192) from `src` to `dst` in an
/// Ethernet frame to interface `ifname` of `k`, put straight into its input as if it
/// came off the wire: how a test floods a kernel with SYNs from addresses that do not
/// exist.
#[allow(clippy::too_many_arguments)]
pub fn inject_tcp(
    k: &Kernel,
    ifname: &str,
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
) {
    let (input, pool, mac) = {
        let g = k.lock();
        let idx = g.ifunit(ifname).unwrap();
        (
            g.if_input(idx),
            g.pool.clone(),
            g.ifp(idx).unwrap().if_lladdr,
        )
    };
    let mut tcp = vec![0u8; 24];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&ack.to_be_bytes());
    tcp[12] = 6 << 4;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&8192u16.to_be_bytes());
    tcp[20..24].copy_from_slice(&[2, 4, 0x05, 0xb4]); // MSS 1460
    let pseudo = [
        &src[..],
        &dst[..],
        &[0, 6],
        &(tcp.len() as u16).to_be_bytes()[..],
    ]
    .concat();
    let ck = csum(&[&pseudo, &tcp]);
    tcp[16..18].copy_from_slice(&ck.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, 6, 0, 0];
    ip[2..4].copy_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let ck = csum(&[&ip]);
    ip[10..12].copy_from_slice(&ck.to_be_bytes());
    let mut f = mac.to_vec();
    f.extend_from_slice(&[2, 0, 0, 0, 0, 0x99, 0x08, 0x00]);
    f.extend_from_slice(&ip);
    f.extend_from_slice(&tcp);
    input.input(rump::kern::mbuf::MbufChain::from_slice(&pool, &f, 0).unwrap());
}

/// Run `f` on the control block of `k`'s first connection in ESTABLISHED.
///
/// # Panics
/// If there is none.
pub fn with_established<R>(k: &Kernel, f: impl FnOnce(&Tcpcb) -> R) -> R {
    let id = tcp_states(&k.lock())
        .into_iter()
        .find(|x| x.1 == TcpState::Established)
        .expect("an established connection")
        .0;
    with_tcb(k, id, f).expect("its control block")
}
