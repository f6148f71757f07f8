//! TCP between kernels in one process on in-memory Ethernet links, on a clock the test
//! drives: handshake and bulk transfer, orderly close from either side and both at once
//! (TIME_WAIT and its 2MSL end), refusal, SYN timeout, zero-window persist, 256 MiB
//! over a lossy, reordering, duplicating, corrupting link for each congestion control
//! with SACK on and off, RFC 5961 RST handling, SYN floods and cookies, socket options
//! (TCP_INFO, TCP_CONGCTL), and buffer auto-sizing.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rump::abi::netbsd as nb;
use rump::config::IfOptions;
use rump::drivers::memlink::{memlink_attach, MemLink};
use rump::kern::kernel::BootOptions;
use rump::kern::sockaddr::SockAddr;
use rump::netinet::tcp_fsm::TcpState;
use rump::rumpuser::Hypervisor;
use rump::{Errno, Kernel};

mod common;
use common::{sin, stat, states, tcp_socket, Net};

/// Two kernels on one link: 10.0.0.1 and 10.0.0.2, with `opts` (each its own seed).
fn pair(opts: IfOptions) -> Net {
    let net = Net::new(2, 7);
    let link = MemLink::new();
    for (i, k) in net.ks.iter().enumerate() {
        let o = IfOptions {
            seed: opts.seed + i as u64,
            ..opts.clone()
        };
        let idx = memlink_attach(k, &link, &o).unwrap();
        k.lock()
            .in_addr_add(idx, Ipv4Addr::from([10, 0, 0, i as u8 + 1]), 24, None)
            .unwrap();
    }
    net.run();
    net
}

/// A connected pair: (client fd on ks[0], server fd on ks[1], listener fd).
fn connected(net: &Net, port: u16) -> (i32, i32, i32) {
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let l = tcp_socket(b);
    b.bind(l, &sin([0, 0, 0, 0], port)).unwrap();
    b.listen(l, 5).unwrap();
    let c = tcp_socket(a);
    assert_eq!(
        a.connect(c, &sin([10, 0, 0, 2], port)),
        Err(Errno::EINPROGRESS)
    );
    let mut s = None;
    for _ in 0..10_000 {
        net.run();
        if let Ok((fd, peer)) = b.accept(l, None) {
            let SockAddr::Inet(SocketAddr::V4(p)) = peer else {
                panic!("{peer:?}")
            };
            assert_eq!(*p.ip(), Ipv4Addr::new(10, 0, 0, 1));
            s = Some(fd);
            break;
        }
        net.advance(Duration::from_millis(1));
    }
    let s = s.expect("no connection accepted");
    net.run();
    assert_eq!(
        a.getsockopt(c, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_ERROR)
            .unwrap(),
        0i32.to_ne_bytes()
    );
    (c, s, l)
}

fn pattern(len: usize, salt: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 131 + i / 7919 + salt) % 251) as u8)
        .collect()
}

/// One direction of a transfer: from (kernel, fd) to (kernel, fd), the data, how much
/// was written and what was read.
struct Stream {
    kf: usize,
    ff: i32,
    kt: usize,
    ft: i32,
    data: Vec<u8>,
    sent: usize,
    got: Vec<u8>,
}

fn stream(kf: usize, ff: i32, kt: usize, ft: i32, data: Vec<u8>) -> Stream {
    Stream {
        kf,
        ff,
        kt,
        ft,
        data,
        sent: 0,
        got: Vec::new(),
    }
}

/// Move `out[i]` from `(k_from, fd_from)` to `(k_to, fd_to)` for each stream at once;
/// returns the test time it took.
fn pump(net: &Net, streams: &mut [Stream], limit: Duration) -> Duration {
    let t0 = net.hv.clock_monotonic();
    let mut buf = vec![0u8; 256 * 1024];
    let mut idle_steps = 0u32;
    loop {
        let mut progress = false;
        let mut done = true;
        for st in streams.iter_mut() {
            let Stream {
                kf,
                ff,
                kt,
                ft,
                data,
                sent,
                got,
            } = st;
            if *sent < data.len() {
                if let Ok(n) = net.ks[*kf].write(*ff, &data[*sent..]) {
                    *sent += n;
                    progress |= n > 0;
                }
            }
            net.run();
            loop {
                match net.ks[*kt].read(*ft, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        got.extend_from_slice(&buf[..n]);
                        progress = true;
                    }
                    Err(Errno::EWOULDBLOCK) => break,
                    Err(e) => panic!("read: {e:?}"),
                }
            }
            if got.len() < data.len() {
                done = false;
            }
        }
        if done {
            break;
        }
        if !progress {
            idle_steps += 1;
            net.advance(Duration::from_millis(if idle_steps > 20 { 10 } else { 1 }));
        } else {
            idle_steps = 0;
        }
        let el = net.hv.clock_monotonic() - t0;
        assert!(
            el < limit,
            "transfer stalled: {:?}",
            streams
                .iter()
                .map(|s| (s.sent, s.got.len()))
                .collect::<Vec<_>>()
        );
    }
    for s in streams.iter() {
        assert!(s.got == s.data, "stream corrupted");
    }
    net.hv.clock_monotonic() - t0
}

#[test]
fn handshake_and_one_mib_both_ways() {
    let net = pair(IfOptions::default());
    let (c, s, _l) = connected(&net, 7000);
    assert_eq!(states(&net.ks[0]), vec![TcpState::Established]);
    assert_eq!(
        states(&net.ks[1]),
        vec![TcpState::Listen, TcpState::Established]
    );
    let mut streams = vec![
        stream(0, c, 1, s, pattern(1 << 20, 1)),
        stream(1, s, 0, c, pattern(1 << 20, 2)),
    ];
    let t = pump(&net, &mut streams, Duration::from_secs(60));
    eprintln!("1 MiB both ways in {t:?} of test time");
    let st = stat(&net.ks[0]);
    assert_eq!(st.tcps_rcvbadsum, 0);
    assert!(st.tcps_sndpack > 700, "{st:?}");
    assert_eq!(st.tcps_connects, 1);
}

#[test]
fn orderly_close_from_the_client_then_time_wait_ends() {
    let net = pair(IfOptions::default());
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let (c, s, l) = connected(&net, 7001);
    a.write(c, b"last words").unwrap();
    a.close(c).unwrap();
    net.run();
    let mut buf = [0u8; 64];
    assert_eq!(b.read(s, &mut buf), Ok(10));
    assert_eq!(&buf[..10], b"last words");
    assert_eq!(b.read(s, &mut buf), Ok(0), "EOF after the FIN");
    assert_eq!(states(a), vec![TcpState::FinWait2]);
    assert_eq!(states(b), vec![TcpState::Listen, TcpState::CloseWait]);
    b.close(s).unwrap();
    net.run();
    assert_eq!(states(a), vec![TcpState::TimeWait]);
    assert_eq!(states(b), vec![TcpState::Listen]);
    net.advance_by(Duration::from_secs(59), Duration::from_millis(100));
    assert_eq!(states(a), vec![TcpState::TimeWait], "2MSL is 60 s");
    net.advance_by(Duration::from_secs(2), Duration::from_millis(100));
    assert!(states(a).is_empty(), "TIME_WAIT over: {:?}", states(a));
    b.close(l).unwrap();
    assert!(states(b).is_empty());
    assert_eq!(a.lock().sockets.len(), 0, "socket freed after TIME_WAIT");
}

#[test]
fn orderly_close_from_the_server() {
    let net = pair(IfOptions::default());
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let (c, s, _l) = connected(&net, 7002);
    b.shutdown(s, nb::RUMP_SHUT_WR).unwrap();
    net.run();
    let mut buf = [0u8; 16];
    assert_eq!(a.read(c, &mut buf), Ok(0));
    // Half-closed: the client can still send.
    a.write(c, b"reply").unwrap();
    net.run();
    assert_eq!(b.read(s, &mut buf), Ok(5));
    a.close(c).unwrap();
    net.run();
    b.close(s).unwrap();
    net.run();
    assert_eq!(states(b), vec![TcpState::Listen, TcpState::TimeWait]);
    assert!(states(a).is_empty(), "{:?}", states(a));
    net.advance_by(Duration::from_secs(61), Duration::from_millis(100));
    assert_eq!(states(b), vec![TcpState::Listen]);
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let net = pair(IfOptions::default());
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let (c, s, _l) = connected(&net, 7003);
    // Both FINs leave before either arrives.
    a.shutdown(c, nb::RUMP_SHUT_WR).unwrap();
    b.shutdown(s, nb::RUMP_SHUT_WR).unwrap();
    net.run();
    assert_eq!(states(a), vec![TcpState::TimeWait]);
    assert_eq!(states(b), vec![TcpState::Listen, TcpState::TimeWait]);
    a.close(c).unwrap();
    b.close(s).unwrap();
    net.advance_by(Duration::from_secs(61), Duration::from_millis(100));
    assert!(states(a).is_empty());
    assert_eq!(states(b), vec![TcpState::Listen]);
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let net = pair(IfOptions::default());
    let a = &net.ks[0];
    let c = tcp_socket(a);
    assert_eq!(
        a.connect(c, &sin([10, 0, 0, 2], 9)),
        Err(Errno::EINPROGRESS)
    );
    net.run();
    let mut buf = [0u8; 4];
    assert_eq!(a.read(c, &mut buf), Err(Errno::ECONNREFUSED));
    assert_eq!(stat(&net.ks[1]).tcps_noport, 1);
}

#[test]
fn syn_to_a_silent_address_times_out() {
    let net = pair(IfOptions::default());
    let a = &net.ks[0];
    let c = tcp_socket(a);
    assert_eq!(
        a.connect(c, &sin([10, 0, 0, 99], 80)),
        Err(Errno::EINPROGRESS)
    );
    net.advance_by(Duration::from_secs(74), Duration::from_millis(50));
    assert_eq!(states(a), vec![TcpState::SynSent]);
    assert!(stat(a).tcps_rexmttimeo >= 5, "{:?}", stat(a));
    net.advance_by(Duration::from_secs(2), Duration::from_millis(50));
    let e = a
        .getsockopt(c, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_ERROR)
        .unwrap();
    assert_eq!(e, Errno::ETIMEDOUT.0.to_ne_bytes());
    assert_eq!(states(a), vec![TcpState::Closed]);
}

#[test]
fn zero_window_persists_then_resumes() {
    let net = pair(IfOptions::default());
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let (c, s, _l) = connected(&net, 7004);
    // More than both buffers at their auto-sized largest (256 KiB each).
    let data = pattern(1_000_000, 3);
    let mut sent = 0;
    for _ in 0..100 {
        if let Ok(n) = a.write(c, &data[sent..]) {
            sent += n;
        }
        net.run();
    }
    let rcv = b.lock().inet().unwrap().tcp.tcpstat.tcps_rcvbyte;
    assert!(rcv >= 30_000 && sent < data.len(), "rcv {rcv} sent {sent}");
    net.advance_by(Duration::from_secs(30), Duration::from_millis(10));
    let st = stat(a);
    assert!(st.tcps_persisttimeo >= 2 && st.tcps_sndprobe >= 2, "{st:?}");
    assert!(stat(b).tcps_rcvwinprobe >= 2, "{:?}", stat(b));
    // Reading opens the window and the transfer completes.
    let mut streams = vec![stream(0, c, 1, s, data)];
    streams[0].sent = sent;
    let mut buf = vec![0u8; 300_000];
    let n = b.read(s, &mut buf).unwrap();
    streams[0].got.extend_from_slice(&buf[..n]);
    pump(&net, &mut streams, Duration::from_secs(30));
}

/// FNV-1a over a stream, for a checksum that does not depend on holding both copies.
fn fnv1a(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// MiB moved by each impairment test: 256 (about 1.5 s each here, on the hand-driven
/// clock), or `RUMP_SOAK_MIB`.
fn soak_mib() -> usize {
    std::env::var("RUMP_SOAK_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// One stream over a link with 5% loss, 5% reordering, 1% duplication and 0.1%
/// corruption in each direction, for congestion control `cc` with SACK on or off:
/// the stream arrives byte-identical (same length and checksum) and recovery was by
/// fast retransmit and SACK rather than by timeouts.
fn impaired(cc: &'static str, sack: bool) {
    let net = pair(IfOptions {
        loss: 0.05,
        reorder: 0.05,
        dup: 0.01,
        corrupt: 0.001,
        seed: 11,
        ..IfOptions::default()
    });
    for k in &net.ks {
        let mut g = k.lock();
        g.sysctl_set_str("net.inet.tcp.congctl.selected", cc)
            .unwrap();
        g.sysctl_set_int("net.inet.tcp.sack.enable", i32::from(sack))
            .unwrap();
    }
    let (c, s, _l) = connected(&net, 7005);
    let info = net.ks[0]
        .getsockopt(c, nb::RUMP_IPPROTO_TCP, nb::RUMP_TCP_INFO)
        .unwrap();
    assert_eq!(
        info[5] & nb::RUMP_TCPI_OPT_SACK as u8 != 0,
        sack,
        "SACK as configured"
    );
    let len = soak_mib() << 20;
    let data = pattern(len, 4);
    let want = fnv1a(&data);
    let mut streams = vec![stream(0, c, 1, s, data)];
    let t0 = std::time::Instant::now();
    let t = pump(&net, &mut streams, Duration::from_secs(3600));
    let wall = t0.elapsed();
    assert_eq!(streams[0].got.len(), len);
    assert_eq!(fnv1a(&streams[0].got), want, "stream checksum");
    let st = stat(&net.ks[0]);
    let rx = stat(&net.ks[1]);
    let recovery = st.tcps_fastrexmt + st.tcps_sackrexmt + st.tcps_newrenorexmt;
    eprintln!(
        "{cc} sack={sack}: {} MiB in {t:?} of link time ({wall:?} wall): {} fast + {} SACK \
         ({} of lost retransmissions) + {} NewReno retransmits, {} probes, {} timeouts; \
         receiver dropped {} bad checksums, {} dup segments",
        len >> 20,
        st.tcps_fastrexmt,
        st.tcps_sackrexmt,
        st.tcps_sack_lostrexmt,
        st.tcps_newrenorexmt,
        st.tcps_tlpprobe,
        st.tcps_rexmttimeo,
        rx.tcps_rcvbadsum,
        rx.tcps_rcvduppack,
    );
    assert!(rx.tcps_rcvbadsum > 0, "corruption reached TCP's checksum");
    assert!(rx.tcps_rcvduppack > 0, "duplicates were seen");
    if sack {
        assert!(st.tcps_sackrexmt > 0, "SACK recovery was used");
    } else {
        assert_eq!(st.tcps_sackrexmt, 0, "no SACK recovery without SACK");
    }
    assert!(
        recovery > 2 * st.tcps_rexmttimeo,
        "recovery mostly by fast retransmit: {recovery} vs {} timeouts",
        st.tcps_rexmttimeo
    );
}

#[test]
fn impaired_link_newreno_sack() {
    impaired("newreno", true);
}

#[test]
fn impaired_link_newreno_no_sack() {
    impaired("newreno", false);
}

#[test]
fn impaired_link_cubic_sack() {
    impaired("cubic", true);
}

#[test]
fn impaired_link_cubic_no_sack() {
    impaired("cubic", false);
}

/// Send a bare TCP segment from ks[0] with a raw socket.
fn inject(net: &Net, sport: u16, dport: u16, seq: u32, flags: u8) {
    let a = &net.ks[0];
    let r = a
        .socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_RAW, nb::RUMP_IPPROTO_TCP)
        .unwrap();
    let mut seg = vec![0u8; 20];
    seg[0..2].copy_from_slice(&sport.to_be_bytes());
    seg[2..4].copy_from_slice(&dport.to_be_bytes());
    seg[4..8].copy_from_slice(&seq.to_be_bytes());
    seg[12] = 5 << 4;
    seg[13] = flags;
    let ck = rump::wire::tcp::checksum_slices(
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 2),
        [&seg[..]],
    );
    seg[16..18].copy_from_slice(&ck.to_be_bytes());
    a.sendmsg(r, &[&seg], Some(&sin([10, 0, 0, 2], 0)), 0)
        .unwrap();
    a.close(r).unwrap();
    net.run();
}

#[test]
fn rst_needs_the_exact_sequence_number() {
    let net = pair(IfOptions::default());
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let (c, s, _l) = connected(&net, 7006);
    let (rcv_nxt, lport, fport) =
        common::with_established(b, |tp| (tp.rcv_nxt, tp.inp.lport, tp.inp.fport));
    // Far outside the window: ignored.
    inject(&net, fport, lport, rcv_nxt.wrapping_add(1 << 30), 0x04);
    assert_eq!(stat(b).tcps_badrst, 1);
    // In the window but not exact: a challenge ACK, the connection stays.
    inject(&net, fport, lport, rcv_nxt.wrapping_add(100), 0x04);
    assert_eq!(stat(b).tcps_challengeack, 1);
    a.write(c, b"still here").unwrap();
    net.run();
    let mut buf = [0u8; 32];
    assert_eq!(b.read(s, &mut buf), Ok(10));
    // Exact: reset.
    inject(&net, fport, lport, rcv_nxt.wrapping_add(10), 0x04);
    assert_eq!(b.read(s, &mut buf), Err(Errno::ECONNRESET));
    assert_eq!(b.write(s, b"x"), Err(Errno::EPIPE));
}

#[test]
fn blocking_calls_over_loopback_in_real_time() {
    let k = Arc::new(Kernel::boot(BootOptions::default()).unwrap());
    let l = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_STREAM, 0).unwrap();
    k.bind(l, &sin([127, 0, 0, 1], 0)).unwrap();
    k.listen(l, 1).unwrap();
    let port = match k.getsockname(l).unwrap() {
        SockAddr::Inet(SocketAddr::V4(a)) => a.port(),
        other => panic!("{other:?}"),
    };
    let data = pattern(256 * 1024, 5);
    let (tx, rx) = std::sync::mpsc::channel();
    let (k2, d2) = (k.clone(), data.clone());
    std::thread::spawn(move || {
        let c = k2
            .socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_STREAM, 0)
            .unwrap();
        k2.connect(c, &sin([127, 0, 0, 1], port)).unwrap();
        let mut off = 0;
        while off < d2.len() {
            off += k2.write(c, &d2[off..]).unwrap();
        }
        k2.close(c).unwrap();
    });
    let k3 = k.clone();
    std::thread::spawn(move || {
        let (s, _) = k3.accept(l, None).unwrap();
        let mut got = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            match k3.read(s, &mut buf).unwrap() {
                0 => break,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
        k3.close(s).unwrap();
        let _ = tx.send(got);
    });
    let got = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("loopback transfer hung");
    assert!(got == data, "loopback stream corrupted");
}

#[test]
fn linger_zero_resets_and_listener_close_aborts_embryos() {
    let net = pair(IfOptions::default());
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let (c, s, l) = connected(&net, 7007);
    a.setsockopt(
        c,
        nb::RUMP_SOL_SOCKET,
        nb::RUMP_SO_LINGER,
        &[1i32.to_ne_bytes(), 0i32.to_ne_bytes()].concat(),
    )
    .unwrap();
    a.close(c).unwrap();
    net.run();
    let mut buf = [0u8; 8];
    assert_eq!(b.read(s, &mut buf), Err(Errno::ECONNRESET));
    assert!(states(a).is_empty());
    // A connection completed but never accepted dies with its listener, with an RST.
    let c2 = tcp_socket(a);
    assert_eq!(
        a.connect(c2, &sin([10, 0, 0, 2], 7007)),
        Err(Errno::EINPROGRESS)
    );
    net.run();
    b.close(l).unwrap();
    net.run();
    assert_eq!(a.read(c2, &mut buf), Err(Errno::ECONNRESET));
    b.close(s).unwrap();
    assert!(states(b).is_empty(), "{:?}", states(b));
    assert_eq!(b.lock().sockets.len(), 0);
}

#[test]
fn tcp_socket_options() {
    let net = pair(IfOptions::default());
    let a = &net.ks[0];
    let c = tcp_socket(a);
    let one = 1i32.to_ne_bytes();
    a.setsockopt(c, nb::RUMP_IPPROTO_TCP, nb::RUMP_TCP_NODELAY, &one)
        .unwrap();
    assert_eq!(
        a.getsockopt(c, nb::RUMP_IPPROTO_TCP, nb::RUMP_TCP_NODELAY)
            .unwrap(),
        one
    );
    a.setsockopt(
        c,
        nb::RUMP_IPPROTO_TCP,
        nb::RUMP_TCP_MAXSEG,
        &1000i32.to_ne_bytes(),
    )
    .unwrap();
    a.setsockopt(
        c,
        nb::RUMP_SOL_SOCKET,
        nb::RUMP_SO_RCVBUF,
        &(1i32 << 20).to_ne_bytes(),
    )
    .unwrap();
    assert_eq!(
        a.getsockopt(c, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_RCVBUF)
            .unwrap(),
        (1i32 << 20).to_ne_bytes()
    );
    assert_eq!(
        a.setsockopt(c, nb::RUMP_IPPROTO_TCP, 0x777, &one),
        Err(Errno::ENOPROTOOPT)
    );
    let b = &net.ks[1];
    let l = tcp_socket(b);
    b.bind(l, &sin([0, 0, 0, 0], 7008)).unwrap();
    b.listen(l, 5).unwrap();
    a.connect(c, &sin([10, 0, 0, 2], 7008)).unwrap_err();
    net.run();
    let (s, _) = b.accept(l, None).unwrap();
    // The MSS is the smaller of ours (TCP_MAXSEG) and the peer's (1500 - 40).
    let mss = |k: &Kernel, fd| {
        i32::from_ne_bytes(
            k.getsockopt(fd, nb::RUMP_IPPROTO_TCP, nb::RUMP_TCP_MAXSEG)
                .unwrap()
                .try_into()
                .unwrap(),
        )
    };
    assert_eq!(mss(a, c), 1000);
    assert_eq!(mss(b, s), 1460);
    // TCP_INFO: NetBSD's struct tcp_info.
    let info = a
        .getsockopt(c, nb::RUMP_IPPROTO_TCP, nb::RUMP_TCP_INFO)
        .unwrap();
    assert_eq!(info.len(), std::mem::size_of::<nb::rump_tcp_info>());
    let word = |off: usize| u32::from_ne_bytes(info[off..off + 4].try_into().unwrap());
    assert_eq!(info[0], 4, "TCPS_ESTABLISHED");
    let all =
        (nb::RUMP_TCPI_OPT_TIMESTAMPS | nb::RUMP_TCPI_OPT_SACK | nb::RUMP_TCPI_OPT_WSCALE) as u8;
    assert_eq!(info[5], all, "options");
    assert_eq!(word(16), 1000, "tcpi_snd_mss");
    assert!(word(8) >= 200_000, "tcpi_rto, usec");
    assert!(
        word(80) >= 4 * 1000,
        "tcpi_snd_cwnd: at least the initial window"
    );
    assert_eq!(
        word(96),
        1 << 20,
        "tcpi_rcv_space: the empty receive buffer"
    );
    assert_eq!(
        a.setsockopt(c, nb::RUMP_IPPROTO_TCP, nb::RUMP_TCP_INFO, &one),
        Err(Errno::EINVAL)
    );
    // TCP_CONGCTL: by name, per socket; an unknown name is EINVAL.
    let cc = |k: &Kernel, fd| k.getsockopt(fd, nb::RUMP_IPPROTO_TCP, nb::RUMP_TCP_CONGCTL);
    assert_eq!(cc(a, c).unwrap(), b"newreno\0");
    a.setsockopt(c, nb::RUMP_IPPROTO_TCP, nb::RUMP_TCP_CONGCTL, b"cubic")
        .unwrap();
    assert_eq!(cc(a, c).unwrap(), b"cubic\0");
    assert_eq!(cc(b, s).unwrap(), b"newreno\0");
    assert_eq!(
        a.setsockopt(c, nb::RUMP_IPPROTO_TCP, nb::RUMP_TCP_CONGCTL, b"vegas\0"),
        Err(Errno::EINVAL)
    );
    // IP-level options on a TCP socket.
    a.setsockopt(c, nb::RUMP_IPPROTO_IP, nb::RUMP_IP_TTL, &7i32.to_ne_bytes())
        .unwrap();
    assert_eq!(
        a.getsockopt(c, nb::RUMP_IPPROTO_IP, nb::RUMP_IP_TTL)
            .unwrap(),
        7i32.to_ne_bytes()
    );
    assert_eq!(
        a.setsockopt(
            c,
            nb::RUMP_IPPROTO_IP,
            nb::RUMP_IP_TTL,
            &300i32.to_ne_bytes()
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        a.getsockopt(c, nb::RUMP_IPPROTO_TCP, nb::RUMP_TCP_KEEPINIT)
            .unwrap(),
        75i32.to_ne_bytes()
    );
    // net.inet.tcp.stats: NetBSD's counter array, current when read.
    let mib = a.lock().sysctl.lookup_name("net.inet.tcp.stats").unwrap();
    let mut buf = vec![0u8; 76 * 8];
    let mut len = buf.len();
    a.lock()
        .sysctl_rw(&mib, Some(&mut buf), &mut len, None)
        .unwrap();
    assert_eq!(len, 76 * 8);
    let counter = |i: usize| u64::from_ne_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap());
    assert_eq!(counter(0), 1, "TCP_STAT_CONNATTEMPT");
    assert_eq!(counter(2), 1, "TCP_STAT_CONNECTS");
    assert_eq!(counter(18), stat(a).tcps_sndtotal, "TCP_STAT_SNDTOTAL");
    // A big receive buffer is advertised with window scaling: 1 MiB flows unread.
    let data = pattern(900_000, 9);
    let mut sent = 0;
    for _ in 0..200 {
        if let Ok(n) = b.write(s, &data[sent..]) {
            sent += n;
        }
        net.run();
    }
    assert!(
        a.lock().inet().unwrap().tcp.tcpstat.tcps_rcvbyte > 600_000,
        "window scaling lets more than 64 KiB wait unread"
    );
}

#[test]
fn random_segments_never_panic_and_leave_the_table_consistent() {
    let net = pair(IfOptions::default());
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let (c, s, _l) = connected(&net, 7009);
    let (rcv_nxt, snd_una, lport, fport) =
        common::with_established(b, |tp| (tp.rcv_nxt, tp.snd_una, tp.inp.lport, tp.inp.fport));
    let r = a
        .socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_RAW, nb::RUMP_IPPROTO_TCP)
        .unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..3000 {
        let v = rnd();
        let plen = (v % 64) as usize;
        let optlen = ((v >> 8) % 11) as usize * 4;
        let mut seg = vec![0u8; 20 + optlen + plen];
        let dport = match i % 3 {
            0 => lport,
            1 => 7009,
            _ => 9,
        };
        // The connection, the listener (another peer port), a closed port.
        let sport = if i % 3 == 1 {
            fport.wrapping_add(1)
        } else {
            fport
        };
        seg[0..2].copy_from_slice(&sport.to_be_bytes());
        seg[2..4].copy_from_slice(&dport.to_be_bytes());
        // Sequence and ACK numbers near the live ones, sometimes far.
        let seq = rcv_nxt
            .wrapping_add((rnd() % 70_000) as u32)
            .wrapping_sub(5000);
        let ack = snd_una
            .wrapping_add((rnd() % 10_000) as u32)
            .wrapping_sub(5000);
        seg[4..8].copy_from_slice(&seq.to_be_bytes());
        seg[8..12].copy_from_slice(&ack.to_be_bytes());
        seg[12] = (((20 + optlen) / 4) as u8) << 4;
        seg[13] = (v >> 16) as u8 & 0x3f & if i % 50 == 0 { 0xff } else { !0x04 };
        seg[14..16].copy_from_slice(&((v >> 24) as u16).to_be_bytes());
        for b in &mut seg[20..] {
            *b = rnd() as u8;
        }
        let ck = rump::wire::tcp::checksum_slices(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            [&seg[..]],
        );
        if i % 17 != 0 {
            seg[16..18].copy_from_slice(&ck.to_be_bytes());
        }
        a.sendmsg(r, &[&seg], Some(&sin([10, 0, 0, 2], 0)), 0)
            .unwrap();
        net.run();
        if i % 100 == 0 {
            net.advance(Duration::from_millis(250));
        }
    }
    let st = stat(b);
    assert!(st.tcps_rcvbadsum > 100 && st.tcps_noport > 100, "{st:?}");
    // Whatever happened to the connection, closing everything leaves nothing behind.
    let _ = a.close(c);
    let _ = b.close(s);
    net.advance_by(Duration::from_secs(200), Duration::from_millis(100));
    assert!(states(a).is_empty(), "{:?}", states(a));
    assert_eq!(states(b), vec![TcpState::Listen]);
    assert_eq!(b.lock().inet().unwrap().tcp.tcbtable.len(), 1);
}

#[test]
fn keepalive_probes_an_idle_connection() {
    let net = pair(IfOptions::default());
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let (c, _s, _l) = connected(&net, 7010);
    let int = |v: i32| v.to_ne_bytes();
    a.setsockopt(c, nb::RUMP_IPPROTO_TCP, nb::RUMP_TCP_KEEPIDLE, &int(2))
        .unwrap();
    a.setsockopt(c, nb::RUMP_IPPROTO_TCP, nb::RUMP_TCP_KEEPINTVL, &int(1))
        .unwrap();
    a.setsockopt(c, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_KEEPALIVE, &int(1))
        .unwrap();
    net.advance_by(Duration::from_secs(10), Duration::from_millis(10));
    let st = stat(a);
    assert!(st.tcps_keepprobe >= 3, "{st:?}");
    assert_eq!(st.tcps_keepdrops, 0);
    assert_eq!(states(a), vec![TcpState::Established]);
    assert!(stat(b).tcps_sndacks >= 3, "the peer answers each probe");
}

#[test]
fn a_full_listen_queue_drops_syns_until_accept_makes_room() {
    let net = pair(IfOptions::default());
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let l = tcp_socket(b);
    b.bind(l, &sin([0, 0, 0, 0], 7011)).unwrap();
    b.listen(l, 1).unwrap();
    let clients: Vec<i32> = (0..5)
        .map(|_| {
            let c = tcp_socket(a);
            assert_eq!(
                a.connect(c, &sin([10, 0, 0, 2], 7011)),
                Err(Errno::EINPROGRESS)
            );
            c
        })
        .collect();
    net.run();
    assert!(stat(b).tcps_listendrop >= 3, "{:?}", stat(b));
    // Accepting makes room; the dropped SYNs are retransmitted and get in.
    let mut accepted = Vec::new();
    for _ in 0..200 {
        while let Ok((s, _)) = b.accept(l, None) {
            accepted.push(s);
        }
        if accepted.len() == clients.len() {
            break;
        }
        net.advance_by(Duration::from_millis(500), Duration::from_millis(10));
    }
    assert_eq!(accepted.len(), clients.len());
    for (i, &c) in clients.iter().enumerate() {
        a.write(c, &[i as u8; 3]).unwrap();
    }
    net.run();
    let mut seen: Vec<u8> = accepted
        .iter()
        .map(|&s| {
            let mut buf = [0u8; 8];
            assert_eq!(b.read(s, &mut buf), Ok(3));
            buf[0]
        })
        .collect();
    seen.sort();
    assert_eq!(seen, vec![0, 1, 2, 3, 4]);
}

#[test]
fn delayed_acks_and_nagle() {
    let net = pair(IfOptions::default());
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let (c, s, _l) = connected(&net, 7012);
    let base = stat(a).tcps_sndpack;
    a.write(c, b"0123456789").unwrap();
    net.run();
    assert_eq!(stat(b).tcps_delack, 0, "the ACK of one small segment waits");
    // Nagle: a second small write waits for the ACK of the first.
    a.write(c, b"abcdefghij").unwrap();
    net.run();
    assert_eq!(stat(a).tcps_sndpack, base + 1);
    net.advance(Duration::from_millis(100));
    assert_eq!(stat(b).tcps_delack, 1, "delayed ACK after 100 ms");
    assert_eq!(
        stat(a).tcps_sndpack,
        base + 2,
        "the held data went with the ACK"
    );
    let mut buf = [0u8; 32];
    assert_eq!(b.read(s, &mut buf), Ok(20));
    // TCP_NODELAY: both small writes leave at once.
    a.setsockopt(
        c,
        nb::RUMP_IPPROTO_TCP,
        nb::RUMP_TCP_NODELAY,
        &1i32.to_ne_bytes(),
    )
    .unwrap();
    net.advance(Duration::from_millis(200));
    let base = stat(a).tcps_sndpack;
    a.write(c, b"x").unwrap();
    net.run();
    a.write(c, b"y").unwrap();
    net.run();
    assert_eq!(stat(a).tcps_sndpack, base + 2);
    // Full segments are acknowledged at least every second one.
    let before = stat(b).tcps_sndacks;
    let big = pattern(10 * 1448, 0);
    let mut sent = 0;
    while sent < big.len() {
        sent += a.write(c, &big[sent..]).unwrap_or(0);
        net.run();
    }
    let acks = stat(b).tcps_sndacks - before;
    assert!((4..=10).contains(&acks), "{acks} ACKs for 10 segments");
}

/// A TCP segment from a spoofed `src` to ks[1] (10.0.0.2), put straight into ks[1]'s
/// interface as if it came off the wire.
fn spoof(net: &Net, src: [u8; 4], sport: u16, dport: u16, seq: u32, ack: u32, flags: u8) {
    common::inject_tcp(
        &net.ks[1],
        "mem0",
        src,
        [10, 0, 0, 2],
        sport,
        dport,
        seq,
        ack,
        flags,
    );
}

#[test]
fn syn_flood_gets_cookies_and_a_real_client_still_connects() {
    let net = pair(IfOptions::default());
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let l = tcp_socket(b);
    b.bind(l, &sin([0, 0, 0, 0], 7020)).unwrap();
    b.listen(l, 8).unwrap();
    // 2,000 SYNs from addresses that never answer (their SYN-ACKs wait on ARP).
    for i in 0..2000u32 {
        let src = [10, 0, 0, 100 + (i % 100) as u8];
        spoof(
            &net,
            src,
            1024 + i as u16,
            7020,
            i.wrapping_mul(7919),
            0,
            0x02,
        );
        if i % 64 == 0 {
            net.run();
        }
    }
    net.run();
    let st = stat(b);
    assert_eq!(
        st.tcps_sc_added, 16,
        "the SYN cache is the bounded incomplete queue"
    );
    assert_eq!(st.tcps_sc_overflowed, 2000 - 16);
    assert_eq!(st.tcps_sc_sendcookie, 2000 - 16, "{st:?}");
    assert_eq!(
        b.lock().sockets.len(),
        1 + 16,
        "no state beyond the SYN cache"
    );
    // A real client gets in through a cookie and moves data both ways.
    let c = tcp_socket(a);
    assert_eq!(
        a.connect(c, &sin([10, 0, 0, 2], 7020)),
        Err(Errno::EINPROGRESS)
    );
    net.run();
    let (s, _) = b
        .accept(l, None)
        .expect("the cookie connection is accepted");
    assert_eq!(stat(b).tcps_sc_recvcookie, 1);
    let mut streams = vec![
        stream(0, c, 1, s, pattern(200_000, 1)),
        stream(1, s, 0, c, pattern(100_000, 2)),
    ];
    pump(&net, &mut streams, Duration::from_secs(30));
    // An ACK whose cookie we did not make is answered with an RST and makes nothing.
    let before = b.lock().sockets.len();
    spoof(&net, [10, 0, 0, 1], 5555, 7020, 1000, 0xdead_beef, 0x10);
    net.run();
    assert_eq!(stat(b).tcps_sc_badcookie, 1);
    assert_eq!(b.lock().sockets.len(), before);
    // With cookies off, a SYN that finds the cache full is dropped.
    b.lock()
        .sysctl_set_int("net.inet.tcp.syncookies", 0)
        .unwrap();
    spoof(&net, [10, 0, 0, 1], 5556, 7020, 1, 0, 0x02);
    net.run();
    let st = stat(b);
    assert_eq!(
        st.tcps_sc_sendcookie,
        2000 - 16 + 1,
        "the real client's and no more"
    );
    assert!(st.tcps_listendrop >= 1);
    // The flood's embryos give up after the establishment limit (75 s).
    net.advance_by(Duration::from_secs(80), Duration::from_millis(500));
    let left: Vec<TcpState> = states(b);
    assert_eq!(
        left,
        vec![TcpState::Listen, TcpState::Established],
        "{left:?}"
    );
}

#[test]
fn buffers_grow_with_the_transfer_unless_the_user_sized_them() {
    let net = pair(IfOptions {
        delay_ms: 5,
        ..IfOptions::default()
    });
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let buf = |k: &Kernel, fd, opt| {
        i32::from_ne_bytes(
            k.getsockopt(fd, nb::RUMP_SOL_SOCKET, opt)
                .unwrap()
                .try_into()
                .unwrap(),
        )
    };
    let (c, s, _l) = connected(&net, 7021);
    let (c2, s2, _l2) = connected(&net, 7022);
    let fixed = 32 * 1024i32;
    b.setsockopt(
        s2,
        nb::RUMP_SOL_SOCKET,
        nb::RUMP_SO_RCVBUF,
        &fixed.to_ne_bytes(),
    )
    .unwrap();
    a.setsockopt(
        c2,
        nb::RUMP_SOL_SOCKET,
        nb::RUMP_SO_SNDBUF,
        &fixed.to_ne_bytes(),
    )
    .unwrap();
    let mut streams = vec![
        stream(0, c, 1, s, pattern(4 << 20, 5)),
        stream(0, c2, 1, s2, pattern(1 << 20, 6)),
    ];
    pump(&net, &mut streams, Duration::from_secs(60));
    let max = 256 * 1024;
    assert_eq!(buf(b, s, nb::RUMP_SO_RCVBUF), max, "receive buffer grew");
    assert_eq!(buf(a, c, nb::RUMP_SO_SNDBUF), max, "send buffer grew");
    assert_eq!(buf(b, s2, nb::RUMP_SO_RCVBUF), fixed);
    assert_eq!(buf(a, c2, nb::RUMP_SO_SNDBUF), fixed);
}

/// a (10.0.1.2) — router (10.0.1.1 | 10.0.2.1) — b (10.0.2.2), where the router's
/// interface towards b has MTU `mtu2` (b's own is 1500, so b offers MSS 1460 and only
/// the router knows the hop is narrower); `mtudisc` is net.inet.ip.mtudisc on a.
fn routed_narrow(mtu2: u32, mtudisc: bool) -> Net {
    let net = Net::new(3, 7);
    let (la, lb) = (MemLink::new(), MemLink::new());
    let wide = IfOptions::default();
    let narrow = IfOptions {
        mtu: Some(mtu2),
        ..IfOptions::default()
    };
    let at = |k: usize, l: &Arc<MemLink>, o: &IfOptions, a: [u8; 4]| {
        let idx = memlink_attach(&net.ks[k], l, o).unwrap();
        net.ks[k]
            .lock()
            .in_addr_add(idx, Ipv4Addr::from(a), 24, None)
            .unwrap();
    };
    at(0, &la, &wide, [10, 0, 1, 2]);
    at(1, &la, &wide, [10, 0, 1, 1]);
    at(1, &lb, &narrow, [10, 0, 2, 1]);
    at(2, &lb, &wide, [10, 0, 2, 2]);
    for (k, gw) in [(0, [10, 0, 1, 1]), (2, [10, 0, 2, 1])] {
        net.ks[k]
            .lock()
            .rt_add_gateway(Ipv4Addr::UNSPECIFIED, 0, Ipv4Addr::from(gw))
            .unwrap();
    }
    let mut r = net.ks[1].lock();
    r.sysctl_set_int("net.inet.ip.forwarding", 1).unwrap();
    drop(r);
    net.ks[0]
        .lock()
        .sysctl_set_int("net.inet.ip.mtudisc", i32::from(mtudisc))
        .unwrap();
    net.run();
    net
}

#[test]
fn path_mtu_discovery_shrinks_the_mss_to_a_narrow_hop() {
    for mtudisc in [true, false] {
        let net = routed_narrow(1000, mtudisc);
        let (a, b) = (&net.ks[0], &net.ks[2]);
        let l = tcp_socket(b);
        b.bind(l, &sin([0, 0, 0, 0], 7030)).unwrap();
        b.listen(l, 1).unwrap();
        let c = tcp_socket(a);
        assert_eq!(
            a.connect(c, &sin([10, 0, 2, 2], 7030)),
            Err(Errno::EINPROGRESS)
        );
        net.run();
        let (s, _) = b.accept(l, None).unwrap();
        let mut streams = vec![stream(0, c, 2, s, pattern(1 << 20, 8))];
        pump(&net, &mut streams, Duration::from_secs(60));
        let info = a
            .getsockopt(c, nb::RUMP_IPPROTO_TCP, nb::RUMP_TCP_INFO)
            .unwrap();
        let snd_mss = u32::from_ne_bytes(info[16..20].try_into().unwrap());
        let cantfrag = net.ks[1].lock().inet().unwrap().ipstat.ips_cantfrag;
        let frags = b.lock().inet().unwrap().ipstat.ips_fragments;
        if mtudisc {
            // The first full segments (MSS 1460, from a's interface) bounced with
            // need-frag; the rest went in 960-byte segments, never fragmented.
            assert!(cantfrag > 0);
            assert_eq!(stat(a).tcps_mturesent, 1);
            assert_eq!(snd_mss, 1000 - 40);
            assert_eq!(frags, 0, "DF segments are never fragmented");
        } else {
            // Without discovery the router fragments every full segment.
            assert_eq!(cantfrag, 0);
            assert_eq!(snd_mss, 1460);
            assert!(frags > 0);
        }
    }
}
