//! The kernel's own IPv4 stack between kernels in one process, on in-memory Ethernet
//! links, on a clock the test drives: UDP, ping (raw ICMP), a router between two
//! subnets (the paper's Figure 6 shape), TTL expiry and unreachables, fragmentation
//! under loss and reordering, and packet capture.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rump::abi::netbsd as nb;
use rump::config::IfOptions;
use rump::drivers::memlink::{memlink_attach, MemLink};
use rump::kern::kernel::BootOptions;
use rump::kern::sockaddr::SockAddr;
use rump::rumpuser::TestHypervisor;
use rump::wire::checksum;
use rump::{Errno, Kernel};

mod common;
use common::{sin, Net};

fn addr(k: &Kernel, ifindex: usize, a: [u8; 4], plen: u8) {
    k.lock()
        .in_addr_add(ifindex, Ipv4Addr::from(a), plen, None)
        .unwrap();
}

fn udp_bound(k: &Kernel, port: u16) -> i32 {
    let s = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    k.bind(s, &sin([0, 0, 0, 0], port)).unwrap();
    s
}

fn recv(k: &Kernel, s: i32) -> Result<(Vec<u8>, Option<SockAddr>), Errno> {
    let mut b = vec![0u8; 70_000];
    let r = k.recvmsg(s, &mut [&mut b], nb::RUMP_MSG_DONTWAIT)?;
    b.truncate(r.len);
    Ok((b, r.from))
}

/// Two kernels on one link: 10.0.0.1 and 10.0.0.2.
fn pair(opts: IfOptions) -> (Net, Arc<MemLink>) {
    let net = Net::new(2, 7);
    let link = MemLink::new();
    for (i, k) in net.ks.iter().enumerate() {
        let idx = memlink_attach(k, &link, &opts).unwrap();
        addr(k, idx, [10, 0, 0, i as u8 + 1], 24);
    }
    net.run();
    (net, link)
}

/// Figure 6 in memory: a (10.0.1.2) — router (10.0.1.1 | 10.0.2.1) — b (10.0.2.2),
/// each end using the router as its default gateway.
fn routed() -> Net {
    let net = Net::new(3, 7);
    let (la, lb) = (MemLink::new(), MemLink::new());
    let o = IfOptions::default();
    let a = memlink_attach(&net.ks[0], &la, &o).unwrap();
    let ra = memlink_attach(&net.ks[1], &la, &o).unwrap();
    let rb = memlink_attach(&net.ks[1], &lb, &o).unwrap();
    let b = memlink_attach(&net.ks[2], &lb, &o).unwrap();
    addr(&net.ks[0], a, [10, 0, 1, 2], 24);
    addr(&net.ks[1], ra, [10, 0, 1, 1], 24);
    addr(&net.ks[1], rb, [10, 0, 2, 1], 24);
    addr(&net.ks[2], b, [10, 0, 2, 2], 24);
    net.ks[0]
        .lock()
        .rt_add_gateway(Ipv4Addr::UNSPECIFIED, 0, Ipv4Addr::new(10, 0, 1, 1))
        .unwrap();
    net.ks[2]
        .lock()
        .rt_add_gateway(Ipv4Addr::UNSPECIFIED, 0, Ipv4Addr::new(10, 0, 2, 1))
        .unwrap();
    net.ks[1]
        .lock()
        .sysctl_set_int("net.inet.ip.forwarding", 1)
        .unwrap();
    net.run();
    net
}

fn echo_request(ident: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut m = vec![8, 0, 0, 0];
    m.extend_from_slice(&ident.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(payload);
    let ck = checksum::result(checksum::data(&m));
    m[2..4].copy_from_slice(&ck.to_be_bytes());
    m
}

/// The ICMP messages a raw socket holds: (type, code, rest-of-message).
fn icmp_msgs(k: &Kernel, s: i32) -> Vec<(u8, u8, Vec<u8>)> {
    let mut out = Vec::new();
    while let Ok((pkt, _)) = recv(k, s) {
        let hl = usize::from(pkt[0] & 0x0f) * 4;
        out.push((pkt[hl], pkt[hl + 1], pkt[hl + 4..].to_vec()));
    }
    out
}

#[test]
fn udp_echo_across_one_link_resolves_arp() {
    let (net, _link) = pair(IfOptions::default());
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let server = udp_bound(b, 7);
    let client = a.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    assert_eq!(
        a.sendmsg(client, &[b"hello"], Some(&sin([10, 0, 0, 2], 7)), 0),
        Ok(5)
    );
    net.run();
    let (d, from) = recv(b, server).unwrap();
    assert_eq!(d, b"hello");
    let Some(SockAddr::Inet(SocketAddr::V4(from))) = from else {
        panic!()
    };
    assert_eq!(*from.ip(), Ipv4Addr::new(10, 0, 0, 1));
    assert!(from.port() >= 49152, "ephemeral port {}", from.port());
    b.sendmsg(
        server,
        &[b"HELLO"],
        Some(&SockAddr::Inet(SocketAddr::V4(from))),
        0,
    )
    .unwrap();
    net.run();
    assert_eq!(recv(a, client).unwrap().0, b"HELLO");
    let st = a.lock().inet().unwrap().arpstat.clone();
    assert_eq!((st.as_sndrequest, st.as_rcvreply), (1, 1), "{st:?}");
    // Second exchange: no new ARP.
    a.sendmsg(client, &[b"again"], Some(&sin([10, 0, 0, 2], 7)), 0)
        .unwrap();
    net.run();
    assert_eq!(recv(b, server).unwrap().0, b"again");
    assert_eq!(a.lock().inet().unwrap().arpstat.as_sndrequest, 1);
    // Nothing listens on port 9: ICMP port unreachable comes back; a connected socket
    // sees ECONNREFUSED.
    let c = a.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    a.connect(c, &sin([10, 0, 0, 2], 9)).unwrap();
    a.write(c, b"anyone?").unwrap();
    net.run();
    assert_eq!(recv(a, c).err(), Some(Errno::ECONNREFUSED));
    assert_eq!(b.lock().inet().unwrap().udpstat.udps_noport, 1);
}

#[test]
fn ping_with_a_raw_icmp_socket_across_one_link() {
    let (net, _link) = pair(IfOptions::default());
    let a = &net.ks[0];
    let s = a
        .socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_RAW, nb::RUMP_IPPROTO_ICMP)
        .unwrap();
    for seq in 0..3u16 {
        let req = echo_request(0x1234, seq, b"rumpnet ping");
        a.sendmsg(s, &[&req], Some(&sin([10, 0, 0, 2], 0)), 0)
            .unwrap();
    }
    net.run();
    let replies: Vec<_> = icmp_msgs(a, s).into_iter().filter(|m| m.0 == 0).collect();
    assert_eq!(replies.len(), 3, "{replies:?}");
    for (i, (_, code, rest)) in replies.iter().enumerate() {
        assert_eq!(*code, 0);
        assert_eq!(u16::from_be_bytes([rest[0], rest[1]]), 0x1234);
        assert_eq!(u16::from_be_bytes([rest[2], rest[3]]), i as u16);
        assert_eq!(&rest[4..], b"rumpnet ping");
    }
    assert_eq!(net.ks[1].lock().inet().unwrap().icmpstat.icps_reflect, 3);
    // Ping ourselves: through lo0.
    let req = echo_request(7, 7, b"me");
    a.sendmsg(s, &[&req], Some(&sin([127, 0, 0, 1], 0)), 0)
        .unwrap();
    net.run();
    assert!(icmp_msgs(a, s)
        .iter()
        .any(|m| m.0 == 0 && &m.2[4..] == b"me"));
}

#[test]
fn routed_ping_and_udp_through_a_forwarding_kernel() {
    let net = routed();
    let (a, r, b) = (&net.ks[0], &net.ks[1], &net.ks[2]);
    let s = a
        .socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_RAW, nb::RUMP_IPPROTO_ICMP)
        .unwrap();
    a.sendmsg(
        s,
        &[&echo_request(1, 1, b"via router")],
        Some(&sin([10, 0, 2, 2], 0)),
        0,
    )
    .unwrap();
    net.run();
    let m = icmp_msgs(a, s);
    assert!(
        m.iter().any(|m| m.0 == 0 && &m.2[4..] == b"via router"),
        "{m:?}"
    );
    let srv = udp_bound(b, 5000);
    let c = a.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    a.sendmsg(c, &[b"routed datagram"], Some(&sin([10, 0, 2, 2], 5000)), 0)
        .unwrap();
    net.run();
    let (d, from) = recv(b, srv).unwrap();
    assert_eq!(d, b"routed datagram");
    b.sendmsg(srv, &[b"back"], from.as_ref(), 0).unwrap();
    net.run();
    assert_eq!(recv(a, c).unwrap().0, b"back");
    let ips = r.lock().inet().unwrap().ipstat.clone();
    assert!(ips.ips_forward >= 4, "{ips:?}");
    // With forwarding off the router drops and counts.
    r.lock()
        .sysctl_set_int("net.inet.ip.forwarding", 0)
        .unwrap();
    a.sendmsg(
        s,
        &[&echo_request(1, 2, b"dropped")],
        Some(&sin([10, 0, 2, 2], 0)),
        0,
    )
    .unwrap();
    net.run();
    assert!(icmp_msgs(a, s).is_empty());
    assert!(r.lock().inet().unwrap().ipstat.ips_cantforward > ips.ips_cantforward);
}

#[test]
fn ttl_expiry_and_unreachable_networks_reach_the_sender() {
    let net = routed();
    let (a, r) = (&net.ks[0], &net.ks[1]);
    let raw = a
        .socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_RAW, nb::RUMP_IPPROTO_ICMP)
        .unwrap();
    // TTL 1: the router answers time exceeded.
    let c = a.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    a.setsockopt(c, nb::RUMP_IPPROTO_IP, nb::RUMP_IP_TTL, &1i32.to_ne_bytes())
        .unwrap();
    a.connect(c, &sin([10, 0, 2, 2], 33434)).unwrap();
    a.write(c, b"traceroute").unwrap();
    net.run();
    let m = icmp_msgs(a, raw);
    assert!(m.iter().any(|m| m.0 == 11 && m.1 == 0), "{m:?}");
    assert_eq!(recv(a, c).err(), Some(Errno::EHOSTUNREACH));
    // No route at the router: host unreachable.
    a.setsockopt(
        c,
        nb::RUMP_IPPROTO_IP,
        nb::RUMP_IP_TTL,
        &64i32.to_ne_bytes(),
    )
    .unwrap();
    let u = a.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    a.connect(u, &sin([192, 168, 77, 1], 53)).unwrap();
    a.write(u, b"nowhere").unwrap();
    net.run();
    let m = icmp_msgs(a, raw);
    assert!(m.iter().any(|m| m.0 == 3 && m.1 == 1), "{m:?}");
    assert_eq!(recv(a, u).err(), Some(Errno::EHOSTUNREACH));
    // Without a route of our own: EHOSTUNREACH at once.
    r.lock()
        .sysctl_set_int("net.inet.ip.forwarding", 1)
        .unwrap();
    let b = &net.ks[2];
    let x = b.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    b.lock()
        .inet_mut()
        .unwrap()
        .rt
        .delete(Ipv4Addr::UNSPECIFIED, 0, None)
        .unwrap();
    assert_eq!(
        b.sendmsg(x, &[b"x"], Some(&sin([10, 0, 1, 2], 9)), 0),
        Err(Errno::EHOSTUNREACH)
    );
}

/// 64 KiB datagrams cross a 1500-byte MTU in fragments, intact; with 10% loss and
/// reordering, each datagram arrives whole or not at all.
fn fragmentation(opts: IfOptions, n: usize, size: usize) -> (usize, usize) {
    let (net, _link) = pair(opts);
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let srv = udp_bound(b, 9000);
    b.setsockopt(
        srv,
        nb::RUMP_SOL_SOCKET,
        nb::RUMP_SO_RCVBUF,
        &(4i32 << 20).to_ne_bytes(),
    )
    .unwrap();
    let c = a.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    a.setsockopt(
        c,
        nb::RUMP_SOL_SOCKET,
        nb::RUMP_SO_SNDBUF,
        &(1i32 << 20).to_ne_bytes(),
    )
    .unwrap();
    let mut sent = Vec::new();
    for i in 0..n {
        let d: Vec<u8> = (0..size).map(|j| (j * 7 + i * 13) as u8).collect();
        // A lost ARP exchange can refuse a send for a while (EHOSTDOWN): retry later.
        let mut tries = 0;
        while a
            .sendmsg(c, &[&d], Some(&sin([10, 0, 0, 2], 9000)), 0)
            .is_err()
        {
            tries += 1;
            assert!(tries < 100);
            net.advance(Duration::from_millis(500));
        }
        sent.push(d);
        net.advance(Duration::from_millis(10));
    }
    net.advance(Duration::from_secs(31)); // past the reassembly timeout
    let mut got = 0;
    while let Ok((d, _)) = recv(b, srv) {
        assert!(
            sent.contains(&d),
            "a datagram arrived corrupted ({} bytes)",
            d.len()
        );
        got += 1;
    }
    assert_eq!(
        b.lock().inet().unwrap().reass.len(),
        0,
        "reassembly queues left behind"
    );
    (got, n)
}

#[test]
fn fragments_of_64k_datagrams_reassemble_intact() {
    let (got, n) = fragmentation(IfOptions::default(), 10, 65507);
    assert_eq!(got, n);
}

#[test]
fn lossy_reordering_link_loses_whole_datagrams_never_corrupts() {
    let opts = IfOptions {
        loss: 0.1,
        reorder: 0.1,
        seed: 42,
        ..IfOptions::default()
    };
    let (got, n) = fragmentation(opts.clone(), 20, 65507);
    // 45 fragments at 10% loss: a datagram survives with p ~ 0.9^45 ~ 1%. None of what
    // arrives may be corrupt (checked inside).
    eprintln!("{got}/{n} 64 KiB datagrams survived 10% loss with reordering");
    // 6 fragments: about half survive, each whole.
    let (got, n) = fragmentation(opts, 60, 8000);
    eprintln!("{got}/{n} 8000-byte datagrams survived 10% loss with reordering");
    assert!(got >= 15 && got < n, "{got}/{n}");
    // And with reordering alone, all arrive.
    let (got, n) = fragmentation(
        IfOptions {
            reorder: 0.3,
            seed: 5,
            ..IfOptions::default()
        },
        10,
        65507,
    );
    assert_eq!(got, n);
}

#[test]
fn pcap_shows_the_arp_exchange_and_the_icmp_echo() {
    let (net, _link) = pair(IfOptions::default());
    let a = &net.ks[0];
    let dir = std::env::temp_dir().join(format!("rumpnet-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mem0.pcap");
    a.lock().if_pcap_open("mem0", &file).unwrap();
    a.lock().inet_mut().unwrap().arp.entries.clear();
    let s = a
        .socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_RAW, nb::RUMP_IPPROTO_ICMP)
        .unwrap();
    a.sendmsg(
        s,
        &[&echo_request(9, 1, b"captured")],
        Some(&sin([10, 0, 0, 2], 0)),
        0,
    )
    .unwrap();
    net.run();
    a.lock().if_pcap_close("mem0");
    let frames: Vec<Vec<u8>> =
        rump::wire::pcap::PcapReader::new(std::fs::File::open(&file).unwrap())
            .unwrap()
            .map(|r| r.unwrap().1)
            .collect();
    let ethertypes: Vec<u16> = frames
        .iter()
        .map(|f| u16::from_be_bytes([f[12], f[13]]))
        .collect();
    assert_eq!(
        ethertypes.iter().filter(|&&t| t == 0x0806).count(),
        2,
        "ARP request and reply"
    );
    assert_eq!(
        ethertypes.iter().filter(|&&t| t == 0x0800).count(),
        2,
        "echo and reply"
    );
    match std::process::Command::new("tcpdump")
        .arg("-nn")
        .arg("-r")
        .arg(&file)
        .output()
    {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("ARP, Request who-has 10.0.0.2"), "{text}");
            assert!(text.contains("ARP, Reply 10.0.0.2 is-at"), "{text}");
            assert!(text.contains("ICMP echo request"), "{text}");
            assert!(text.contains("ICMP echo reply"), "{text}");
        }
        Err(_) => eprintln!(
            "SKIPPED: tcpdump is not installed; the pcap was checked by our own reader only"
        ),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn foreign_arp_and_malformed_frames_are_counted_drops() {
    let (net, link) = pair(IfOptions::default());
    let b = &net.ks[1];
    // A request for an address nobody has: no reply, counted.
    let a = &net.ks[0];
    let idx = a.lock().ifunit("mem0").unwrap();
    {
        let mut g = a.lock();
        rump::netinet::if_inarp::arp_request(
            &mut g,
            idx,
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 99),
        );
    }
    net.run();
    assert!(b.lock().inet().unwrap().arpstat.as_rcvforeign >= 1);
    // Garbage on the wire: dropped and counted, never a panic.
    let (input, pool) = {
        let g = b.lock();
        (g.if_input(g.ifunit("mem0").unwrap()), g.pool.clone())
    };
    let mac = link.lladdr(1);
    for len in 0..80 {
        let mut f = vec![0u8; len];
        if len >= 14 {
            f[..6].copy_from_slice(&mac);
            f[12] = 0x08;
            f[13] = if len % 2 == 0 { 0x00 } else { 0x06 };
        }
        for (i, x) in f.iter_mut().enumerate().skip(14) {
            *x = (i * 31 + len) as u8;
        }
        input.input(rump::kern::mbuf::MbufChain::from_slice(&pool, &f, 0).unwrap());
    }
    net.run();
    let g = b.lock();
    let st = &g.inet().unwrap().ipstat;
    assert!(
        st.ips_tooshort + st.ips_badvers + st.ips_badlen + st.ips_badhlen + st.ips_badsum > 0,
        "{st:?}"
    );
}

#[test]
fn broadcast_needs_so_broadcast_and_reaches_every_socket_on_the_port() {
    let (net, _link) = pair(IfOptions::default());
    let (a, b) = (&net.ks[0], &net.ks[1]);
    // Two sockets share port 7777 on b with SO_REUSEPORT; both get the broadcast.
    let mut srv = Vec::new();
    for _ in 0..2 {
        let s = b.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
        b.setsockopt(
            s,
            nb::RUMP_SOL_SOCKET,
            nb::RUMP_SO_REUSEPORT,
            &1i32.to_ne_bytes(),
        )
        .unwrap();
        b.bind(s, &sin([0, 0, 0, 0], 7777)).unwrap();
        srv.push(s);
    }
    // Without SO_REUSEPORT on both, the port is taken.
    let third = b.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    assert_eq!(
        b.bind(third, &sin([0, 0, 0, 0], 7777)),
        Err(Errno::EADDRINUSE)
    );
    let c = a.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    assert_eq!(
        a.sendmsg(c, &[b"all"], Some(&sin([10, 0, 0, 255], 7777)), 0),
        Err(Errno::EACCES)
    );
    assert_eq!(
        a.sendmsg(c, &[b"all"], Some(&sin([255, 255, 255, 255], 7777)), 0),
        Err(Errno::EACCES)
    );
    a.setsockopt(
        c,
        nb::RUMP_SOL_SOCKET,
        nb::RUMP_SO_BROADCAST,
        &1i32.to_ne_bytes(),
    )
    .unwrap();
    a.sendmsg(c, &[b"subnet"], Some(&sin([10, 0, 0, 255], 7777)), 0)
        .unwrap();
    a.sendmsg(c, &[b"limited"], Some(&sin([255, 255, 255, 255], 7777)), 0)
        .unwrap();
    net.run();
    for s in srv {
        assert_eq!(recv(b, s).unwrap().0, b"subnet");
        assert_eq!(recv(b, s).unwrap().0, b"limited");
    }
    // Nobody answers a broadcast with an ICMP error.
    a.sendmsg(c, &[b"x"], Some(&sin([10, 0, 0, 255], 9)), 0)
        .unwrap();
    net.run();
    assert_eq!(b.lock().inet().unwrap().icmpstat.icps_error, 0);
    assert!(b.lock().inet().unwrap().udpstat.udps_noportbcast >= 1);
}

#[test]
fn dont_fragment_through_a_smaller_mtu_gets_need_frag() {
    let net = routed();
    let (a, r) = (&net.ks[0], &net.ks[1]);
    // The router's second link has a 576-byte MTU.
    {
        let mut g = r.lock();
        let i = g.ifunit("mem1").unwrap();
        g.ifp_mut(i).unwrap().if_mtu = 576;
    }
    let raw = a
        .socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_RAW, nb::RUMP_IPPROTO_ICMP)
        .unwrap();
    // A raw ICMP echo of 1000 bytes is fragmented by the router (DF clear) and
    // answered; the reply comes back in fragments the sender reassembles.
    let big = vec![0x5au8; 1000];
    a.sendmsg(
        raw,
        &[&echo_request(3, 1, &big)],
        Some(&sin([10, 0, 2, 2], 0)),
        0,
    )
    .unwrap();
    net.run();
    let m = icmp_msgs(a, raw);
    assert!(
        m.iter().any(|m| m.0 == 0 && m.2.len() == 1004),
        "{:?}",
        m.iter().map(|m| (m.0, m.2.len())).collect::<Vec<_>>()
    );
    assert!(r.lock().inet().unwrap().ipstat.ips_fragmented >= 1);
    // Sockets here never set DF, so a DF datagram is built by hand and sent from the
    // first kernel's interface: the router must refuse to fragment it and answer with
    // need-frag carrying the next hop's MTU.
    let pool = net.ks[0].lock().pool.clone();
    let mut pkt = vec![0u8; 20 + 8 + 1000];
    {
        let mut p = rump::wire::ipv4::Ipv4Packet::new_unchecked(&mut pkt[..]);
        p.set_version(4);
        p.set_header_len(20);
        p.set_total_len(1028);
        p.set_ident(99);
        p.clear_flags();
        p.set_dont_frag(true);
        p.set_ttl(64);
        p.set_protocol(rump::wire::ipv4::IpProtocol::Udp);
        p.set_src_addr(Ipv4Addr::new(10, 0, 1, 2));
        p.set_dst_addr(Ipv4Addr::new(10, 0, 2, 2));
        p.fill_checksum();
    }
    pkt[20..22].copy_from_slice(&4000u16.to_be_bytes());
    pkt[22..24].copy_from_slice(&4001u16.to_be_bytes());
    pkt[24..26].copy_from_slice(&1008u16.to_be_bytes());
    {
        let mut g = a.lock();
        let idx = g.ifunit("mem0").unwrap();
        let m = rump::kern::mbuf::MbufChain::from_slice(&pool, &pkt, 128).unwrap();
        rump::netinet::ip_output::ip_send(
            &mut g,
            idx,
            rump::net::if_ethersubr::LinkDst::NextHop(Ipv4Addr::new(10, 0, 1, 1)),
            m,
            1500,
        )
        .unwrap();
    }
    net.run();
    let m = icmp_msgs(a, raw);
    let nf: Vec<_> = m.iter().filter(|m| m.0 == 3 && m.1 == 4).collect();
    assert_eq!(nf.len(), 1, "{m:?}");
    assert_eq!(
        u16::from_be_bytes([nf[0].2[2], nf[0].2[3]]),
        576,
        "next-hop MTU"
    );
    assert!(r.lock().inet().unwrap().ipstat.ips_cantfrag >= 1);
}

#[test]
fn rump_net_route_forward_and_pcap_statements_apply() {
    let dir = std::env::temp_dir().join(format!("rumpnet-net-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("lo0.pcap");
    let cfg = rump::config::NetConfig::parse(&format!(
        "route 10.9.0.0/16 127.0.0.2; route default 127.0.0.1; forward; pcap lo0 {}",
        pcap.display()
    ))
    .unwrap();
    let k = Kernel::boot(BootOptions {
        hypervisor: TestHypervisor::new(1),
        net: cfg,
        ..BootOptions::default()
    })
    .unwrap();
    {
        let g = k.lock();
        assert!(g.sysctl.ip_forwarding());
        let inet = g.inet().unwrap();
        let rt = inet.rt.lookup_nocount(Ipv4Addr::new(10, 9, 1, 1)).unwrap();
        assert_eq!(rt.rt_gateway, Some(Ipv4Addr::new(127, 0, 0, 2)));
        let d = inet.rt.lookup_nocount(Ipv4Addr::new(8, 8, 8, 8)).unwrap();
        assert_eq!(
            (d.rt_prefixlen, d.rt_gateway),
            (0, Some(Ipv4Addr::LOCALHOST))
        );
    }
    // UDP over lo0 is captured.
    let s = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    k.bind(s, &sin([127, 0, 0, 1], 4444)).unwrap();
    k.sendmsg(s, &[b"loop"], Some(&sin([127, 0, 0, 1], 4444)), 0)
        .unwrap();
    k.netisr_run();
    assert_eq!(recv(&k, s).unwrap().0, b"loop");
    k.lock().if_pcap_close("lo0");
    let r = rump::wire::pcap::PcapReader::new(std::fs::File::open(&pcap).unwrap()).unwrap();
    assert_eq!(
        r.linktype(),
        rump::wire::pcap::LINKTYPE_RAW,
        "lo0 carries bare IP"
    );
    let frames: Vec<_> = r.map(|f| f.unwrap().1).collect();
    assert_eq!(frames.len(), 1, "captured once, on the way out");
    assert_eq!(frames[0][0] >> 4, 4, "an IPv4 packet");
    std::fs::remove_dir_all(&dir).unwrap();
    // A gateway that no interface reaches stops the boot with a message.
    let bad = rump::config::NetConfig::parse("route default 192.0.2.1").unwrap();
    assert_eq!(
        Kernel::boot(BootOptions {
            hypervisor: TestHypervisor::new(1),
            net: bad,
            ..BootOptions::default()
        })
        .err(),
        Some(Errno::ENETUNREACH)
    );
}

thread_local! {
    static FUZZ_KERNEL: (Kernel, rump::net::ifnet::IfInput, rump::kern::mbuf::MbufPool, [u8; 6]) = {
        let (net, link) = pair(IfOptions::default());
        let mut ks = net.ks;
        let k = ks.remove(1);
        let (input, pool) = {
            let g = k.lock();
            (g.if_input(g.ifunit("mem0").unwrap()), g.pool.clone())
        };
        (k, input, pool, link.lladdr(1))
    };
}

/// The whole input path of a kernel (Ethernet → ARP / IP → ICMP / UDP / raw) under a
/// few hundred thousand mutated frames: counted drops, never a panic.
fn kernel_input_target(frame: &[u8]) {
    FUZZ_KERNEL.with(|(k, input, pool, mac)| {
        let mut f = frame.to_vec();
        if f.len() >= 6 && f[0] & 1 == 0 {
            f[..6].copy_from_slice(mac); // aim unicast frames at this kernel
        }
        if let Ok(m) = rump::kern::mbuf::MbufChain::from_slice(pool, &f, 0) {
            input.input(m);
        }
        k.netisr_run();
        k.clock_run();
    });
}

#[test]
fn fuzz_smoke_kernel_input_path() {
    let mut seeds = rump::wire::fuzz::seeds_ethernet();
    // Seeds addressed to this kernel's address, so mutations reach UDP and ICMP input.
    for s in seeds.iter_mut() {
        if s.len() >= 34 && s[12] == 0x08 && s[13] == 0x00 {
            s[30..34].copy_from_slice(&[10, 0, 0, 2]);
        }
    }
    let t0 = std::time::Instant::now();
    rump::wire::fuzz::smoke(kernel_input_target, &seeds, 300_000, 0x5eed);
    eprintln!("300000 frames through the input path in {:?}", t0.elapsed());
    FUZZ_KERNEL.with(|(k, ..)| {
        let g = k.lock();
        let st = &g.inet().unwrap().ipstat;
        assert!(st.ips_total > 10_000, "{st:?}");
        assert!(
            g.pool.stats().outstanding < 4096,
            "mbufs leak: {:?}",
            g.pool.stats()
        );
    });
}

#[test]
fn icmp_unreachables_end_a_tcp_connect_that_cannot_succeed() {
    let net = routed();
    let a = &net.ks[0];
    let s = a
        .socket(
            nb::RUMP_AF_INET,
            nb::RUMP_SOCK_STREAM | nb::RUMP_SOCK_NONBLOCK,
            0,
        )
        .unwrap();
    // The router has no route to 192.168.77.0/24: each SYN draws a host unreachable.
    assert_eq!(
        a.connect(s, &sin([192, 168, 77, 1], 80)),
        Err(Errno::EINPROGRESS)
    );
    net.advance(Duration::from_secs(1));
    // A soft error at first: still connecting.
    let e = a
        .getsockopt(s, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_ERROR)
        .unwrap();
    assert_eq!(i32::from_ne_bytes(e[..4].try_into().unwrap()), 0);
    // After a few retransmissions the unreachables end it, well before the SYN timeout.
    net.advance(Duration::from_secs(20));
    let e = a
        .getsockopt(s, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_ERROR)
        .unwrap();
    assert_eq!(
        i32::from_ne_bytes(e[..4].try_into().unwrap()),
        nb::RUMP_EHOSTUNREACH
    );
}
