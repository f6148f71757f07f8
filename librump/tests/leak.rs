//! Leak check in a test binary of its own: RSS is process-wide, so no other test may
//! run beside it.

use rump::abi::netbsd as nb;
use rump::config::NetConfig;
use rump::kern::kernel::BootOptions;
use rump::Kernel;

fn sockin_kernel() -> Kernel {
    Kernel::boot(BootOptions {
        net: NetConfig::parse("sockin").unwrap(),
        ..BootOptions::default()
    })
    .unwrap()
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = s.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

fn open_and_close_100000_sockets_leaks_nothing() {
    let k = sockin_kernel();
    let pool0 = k.lock().pool.stats();
    // Warm up allocator caches, then measure.
    for _ in 0..1000 {
        let s = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
        k.close(s).unwrap();
    }
    let rss0 = rss_kib();
    for i in 0..100_000 {
        let ty = if i % 2 == 0 {
            nb::RUMP_SOCK_DGRAM
        } else {
            nb::RUMP_SOCK_STREAM
        };
        let s = k.socket(nb::RUMP_AF_INET, ty, 0).unwrap();
        assert_eq!(s, 0, "lowest descriptor reused");
        k.close(s).unwrap();
    }
    let rss1 = rss_kib();
    let g = k.lock();
    assert_eq!(g.fd.open_count(), 0);
    assert_eq!(g.fd.table_len(), 0);
    assert_eq!(g.sockets.len(), 0);
    assert!(
        g.sockets.capacity() <= 2,
        "socket slab grew: {}",
        g.sockets.capacity()
    );
    assert_eq!(g.pool.stats().outstanding, pool0.outstanding);
    assert!(rss1 < rss0 + 2048, "RSS grew from {rss0} KiB to {rss1} KiB");
}

fn own_stack_udp_sockets_leave_nothing_behind() {
    // A hand-driven kernel: no netisr thread holds frames while we look.
    let k = Kernel::boot(BootOptions {
        hypervisor: rump::rumpuser::TestHypervisor::new(3),
        ..BootOptions::default()
    })
    .unwrap();
    let to = rump::kern::sockaddr::SockAddr::Inet("127.0.0.1:9".parse().unwrap());
    for _ in 0..1000 {
        let s = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
        k.close(s).unwrap();
    }
    let rss0 = rss_kib();
    for i in 0..100_000 {
        let s = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
        if i % 10 == 0 {
            // bound to an ephemeral port by the send; port 9 answers with ICMP
            let _ = k.sendmsg(s, &[b"x"], Some(&to), 0);
            k.netisr_run();
        }
        k.close(s).unwrap();
    }
    // Let lo0 deliver what is queued, then look.
    k.netisr_run();
    let rss1 = rss_kib();
    let g = k.lock();
    assert_eq!(g.fd.open_count(), 0);
    assert_eq!(g.sockets.len(), 0);
    assert_eq!(
        g.inet().unwrap().udbtable.len(),
        0,
        "PCBs left in the table"
    );
    // Clusters the pool keeps for reuse are not a leak; the rest must come back.
    let cached_kib = (g.pool.stats().cached * rump::kern::mbuf::MCLBYTES / 1024) as u64;
    assert_eq!(g.pool.stats().outstanding, 0);
    assert!(
        rss1 < rss0 + cached_kib + 2048,
        "RSS grew from {rss0} KiB to {rss1} KiB ({cached_kib} KiB cached)"
    );
}

/// One test, run in order: RSS is process-wide, so the two must not overlap.
#[test]
fn open_and_close_100000_sockets_and_memory_comes_back() {
    open_and_close_100000_sockets_leaks_nothing();
    own_stack_udp_sockets_leave_nothing_behind();
}
