//! sockin end to end, from Rust: virtual-kernel sockets talking to host sockets on
//! loopback (the peer is the Linux kernel).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use rump::abi::netbsd as nb;
use rump::config::NetConfig;
use rump::kern::kernel::BootOptions;
use rump::kern::sockaddr::SockAddr;
use rump::kern::sys_generic::PollFd;
use rump::{Errno, Kernel};

fn sockin_kernel() -> Kernel {
    Kernel::boot(BootOptions {
        net: NetConfig::parse("sockin").unwrap(),
        ..BootOptions::default()
    })
    .unwrap()
}

fn sa(s: &str) -> SockAddr {
    SockAddr::Inet(s.parse::<SocketAddr>().unwrap())
}

fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(31) + 7) as u8
}

/// A host echo server on a fresh port; returns its address.
fn host_echo_server(v6: bool) -> SocketAddr {
    let l = TcpListener::bind(if v6 { "[::1]:0" } else { "127.0.0.1:0" }).unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut c, _)) = l.accept() {
            let mut buf = vec![0u8; 65536];
            loop {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if c.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
        }
    });
    addr
}

fn echo_1mib(k: &Kernel, family: i32, server: SocketAddr) {
    let s = k.socket(family, nb::RUMP_SOCK_STREAM, 0).unwrap();
    k.connect(s, &SockAddr::Inet(server)).unwrap();
    assert_eq!(k.getpeername(s).unwrap(), SockAddr::Inet(server));
    let total = 1 << 20;
    let data: Vec<u8> = (0..total).map(pattern).collect();
    // Non-blocking, poll-driven: write and read at once so neither side's buffers fill.
    k.fcntl(s, nb::RUMP_F_SETFL, i64::from(nb::RUMP_O_NONBLOCK))
        .unwrap();
    let (mut sent, mut got) = (0usize, Vec::with_capacity(total));
    let mut buf = vec![0u8; 65536];
    let start = Instant::now();
    while got.len() < total {
        assert!(start.elapsed() < Duration::from_secs(60), "echo stalled");
        let mut p = [PollFd {
            fd: s,
            events: nb::RUMP_POLLIN | if sent < total { nb::RUMP_POLLOUT } else { 0 },
            revents: 0,
        }];
        k.poll(&mut p, Some(Duration::from_secs(5))).unwrap();
        if p[0].revents & nb::RUMP_POLLOUT != 0 {
            match k.write(s, &data[sent..(sent + 65536).min(total)]) {
                Ok(n) => sent += n,
                Err(Errno::EAGAIN) => {}
                Err(e) => panic!("write: {e:?}"),
            }
        }
        if p[0].revents & nb::RUMP_POLLIN != 0 {
            match k.read(s, &mut buf) {
                Ok(0) => panic!("early EOF"),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(Errno::EAGAIN) => {}
                Err(e) => panic!("read: {e:?}"),
            }
        }
    }
    assert!(got == data, "echoed data differs");
    k.close(s).unwrap();
}

#[test]
fn tcp_echo_1mib_ipv4_and_ipv6() {
    let k = sockin_kernel();
    echo_1mib(&k, nb::RUMP_AF_INET, host_echo_server(false));
    echo_1mib(&k, nb::RUMP_AF_INET6, host_echo_server(true));
    assert_eq!(k.lock().fd.open_count(), 0);
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let k = sockin_kernel();
    // A port that was just free: bind then drop.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_STREAM, 0).unwrap();
    assert_eq!(
        k.connect(s, &sa(&format!("127.0.0.1:{port}"))),
        Err(Errno::ECONNREFUSED)
    );
    let s6 = k
        .socket(nb::RUMP_AF_INET6, nb::RUMP_SOCK_STREAM, 0)
        .unwrap();
    assert_eq!(
        k.connect(s6, &sa(&format!("[::1]:{port}"))),
        Err(Errno::ECONNREFUSED)
    );
    // Non-blocking: EINPROGRESS, then the error through poll and SO_ERROR.
    let n = k
        .socket(
            nb::RUMP_AF_INET,
            nb::RUMP_SOCK_STREAM | nb::RUMP_SOCK_NONBLOCK,
            0,
        )
        .unwrap();
    match k.connect(n, &sa(&format!("127.0.0.1:{port}"))) {
        Err(Errno::EINPROGRESS) => {
            let mut p = [PollFd {
                fd: n,
                events: nb::RUMP_POLLOUT,
                revents: 0,
            }];
            assert_eq!(k.poll(&mut p, Some(Duration::from_secs(5))), Ok(1));
            let e = k
                .getsockopt(n, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_ERROR)
                .unwrap();
            assert_eq!(
                i32::from_ne_bytes(e[..4].try_into().unwrap()),
                nb::RUMP_ECONNREFUSED
            );
        }
        Err(Errno::ECONNREFUSED) => {}
        r => panic!("{r:?}"),
    }
    // Family mismatch and bad descriptors.
    assert_eq!(
        k.connect(s, &sa(&format!("[::1]:{port}"))),
        Err(Errno::EAFNOSUPPORT)
    );
    assert_eq!(k.connect(99, &sa("127.0.0.1:1")), Err(Errno::EBADF));
}

#[test]
fn rump_listener_accepts_host_clients_with_backlog_and_half_close() {
    let k = sockin_kernel();
    let l = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_STREAM, 0).unwrap();
    k.setsockopt(
        l,
        nb::RUMP_SOL_SOCKET,
        nb::RUMP_SO_REUSEADDR,
        &1i32.to_ne_bytes(),
    )
    .unwrap();
    k.bind(l, &sa("127.0.0.1:0")).unwrap();
    k.listen(l, 4).unwrap();
    let SockAddr::Inet(addr) = k.getsockname(l).unwrap() else {
        panic!()
    };
    assert_ne!(addr.port(), 0);
    // accept on a listener set non-blocking: EAGAIN with nobody waiting
    k.ioctl(l, nb::RUMP_FIONBIO, &mut 1i32.to_ne_bytes())
        .unwrap();
    assert_eq!(k.accept(l, None).map(|_| ()), Err(Errno::EAGAIN));
    k.ioctl(l, nb::RUMP_FIONBIO, &mut 0i32.to_ne_bytes())
        .unwrap();
    let client = std::thread::spawn(move || {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"hello, kernel").unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).unwrap();
        back
    });
    let (c, peer) = k.accept(l, None).unwrap();
    assert!(matches!(peer, SockAddr::Inet(a) if a.ip().is_loopback()));
    // MSG_WAITALL collects the whole message; MSG_PEEK leaves it.
    let mut b = [0u8; 5];
    let r = k
        .recvmsg(c, &mut [&mut b], nb::RUMP_MSG_PEEK | nb::RUMP_MSG_WAITALL)
        .unwrap();
    assert!(r.len >= 1);
    let mut b = [0u8; 13];
    assert_eq!(
        k.recvmsg(c, &mut [&mut b], nb::RUMP_MSG_WAITALL)
            .unwrap()
            .len,
        13
    );
    assert_eq!(&b, b"hello, kernel");
    // The client half-closed: EOF, but we can still send.
    assert_eq!(k.read(c, &mut b), Ok(0));
    assert_eq!(k.write(c, b"bye"), Ok(3));
    k.shutdown(c, nb::RUMP_SHUT_WR).unwrap();
    assert_eq!(k.write(c, b"x"), Err(Errno::EPIPE));
    assert_eq!(client.join().unwrap(), b"bye");
    k.close(c).unwrap();
    k.close(l).unwrap();
}

#[test]
fn udp_both_ways_connected_and_not() {
    let k = sockin_kernel();
    let host = UdpSocket::bind("127.0.0.1:0").unwrap();
    host.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let s = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    k.bind(s, &sa("127.0.0.1:0")).unwrap();
    let SockAddr::Inet(me) = k.getsockname(s).unwrap() else {
        panic!()
    };
    let to = SockAddr::Inet(host.local_addr().unwrap());
    // unconnected send needs an address
    assert_eq!(k.write(s, b"x"), Err(Errno::EDESTADDRREQ));
    assert_eq!(k.sendmsg(s, &[b"ping"], Some(&to), 0), Ok(4));
    let mut b = [0u8; 64];
    let (n, from) = host.recv_from(&mut b).unwrap();
    assert_eq!((&b[..n], from), (&b"ping"[..], me));
    host.send_to(b"pong!", me).unwrap();
    let mut small = [0u8; 3];
    let r = k.recvmsg(s, &mut [&mut small], 0).unwrap();
    assert_eq!(
        (r.len, r.from, r.flags & nb::RUMP_MSG_TRUNC != 0),
        (3, Some(to), true)
    );
    // connected: send without address; sendto with one is EISCONN
    k.connect(s, &to).unwrap();
    assert_eq!(k.write(s, b"abc"), Ok(3));
    assert_eq!(k.sendmsg(s, &[b"x"], Some(&to), 0), Err(Errno::EISCONN));
    let (n, _) = host.recv_from(&mut b).unwrap();
    assert_eq!(&b[..n], b"abc");
    // nothing pending: MSG_DONTWAIT says EAGAIN; a receive timeout says EAGAIN too
    assert_eq!(
        k.recvmsg(s, &mut [&mut b], nb::RUMP_MSG_DONTWAIT)
            .map(|r| r.len),
        Err(Errno::EAGAIN)
    );
    let mut tv = Vec::new();
    tv.extend_from_slice(&0i64.to_ne_bytes());
    tv.extend_from_slice(&50_000i32.to_ne_bytes());
    tv.extend_from_slice(&[0; 4]);
    k.setsockopt(s, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_RCVTIMEO, &tv)
        .unwrap();
    let t0 = Instant::now();
    assert_eq!(k.read(s, &mut b), Err(Errno::EAGAIN));
    assert!(t0.elapsed() >= Duration::from_millis(45));
    // datagram larger than the send buffer
    let big = vec![0u8; 20000];
    assert_eq!(k.write(s, &big), Err(Errno::EMSGSIZE));
    k.setsockopt(
        s,
        nb::RUMP_SOL_SOCKET,
        nb::RUMP_SO_SNDBUF,
        &65536i32.to_ne_bytes(),
    )
    .unwrap();
    assert_eq!(k.write(s, &big), Ok(20000));
    k.close(s).unwrap();
}

#[test]
fn socket_options_and_errors() {
    let k = sockin_kernel();
    let s = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_STREAM, 0).unwrap();
    k.setsockopt(
        s,
        nb::RUMP_IPPROTO_TCP,
        nb::RUMP_TCP_NODELAY,
        &1i32.to_ne_bytes(),
    )
    .unwrap();
    let v = k
        .getsockopt(s, nb::RUMP_IPPROTO_TCP, nb::RUMP_TCP_NODELAY)
        .unwrap();
    assert_ne!(i32::from_ne_bytes(v[..4].try_into().unwrap()), 0);
    k.setsockopt(
        s,
        nb::RUMP_SOL_SOCKET,
        nb::RUMP_SO_RCVBUF,
        &100_000i32.to_ne_bytes(),
    )
    .unwrap();
    let v = k
        .getsockopt(s, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_RCVBUF)
        .unwrap();
    assert_eq!(i32::from_ne_bytes(v[..4].try_into().unwrap()), 100_000);
    let v = k
        .getsockopt(s, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_TYPE)
        .unwrap();
    assert_eq!(
        i32::from_ne_bytes(v[..4].try_into().unwrap()),
        nb::RUMP_SOCK_STREAM
    );
    assert_eq!(
        k.setsockopt(s, nb::RUMP_SOL_SOCKET, 0x7777, &1i32.to_ne_bytes()),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        k.setsockopt(s, nb::RUMP_IPPROTO_TCP, 0x7777, &1i32.to_ne_bytes()),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        k.setsockopt(s, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_REUSEADDR, &[1]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        k.socket(77, nb::RUMP_SOCK_STREAM, 0),
        Err(Errno::EAFNOSUPPORT)
    );
    assert_eq!(
        k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_STREAM, nb::RUMP_IPPROTO_UDP),
        Err(Errno::EPROTONOSUPPORT)
    );
    assert_eq!(
        k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_RAW, 0),
        Err(Errno::EPROTOTYPE)
    );
    assert_eq!(
        k.socketpair(nb::RUMP_AF_LOCAL, nb::RUMP_SOCK_STREAM, 0),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(k.read(s, &mut [0u8; 4]), Err(Errno::ENOTCONN));
    assert_eq!(
        k.listen(
            k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap(),
            5
        ),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(k.fcntl(s, 9999, 0), Err(Errno::EINVAL));
    assert_eq!(k.close(s), Ok(()));
    assert_eq!(k.close(s), Err(Errno::EBADF));
}

#[test]
fn dup_and_dup2_share_the_socket() {
    let k = sockin_kernel();
    let s = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    let d = k.dup(s).unwrap();
    assert_eq!(k.dup2(s, 10), Ok(10));
    k.bind(d, &sa("127.0.0.1:0")).unwrap();
    assert_eq!(k.getsockname(10).unwrap(), k.getsockname(s).unwrap());
    k.close(s).unwrap();
    assert!(k.getsockname(d).is_ok());
    k.close(d).unwrap();
    k.close(10).unwrap();
    let g = k.lock();
    assert_eq!((g.fd.open_count(), g.sockets.len()), (0, 0));
}

#[test]
fn two_kernels_are_independent() {
    let a = sockin_kernel();
    let b = sockin_kernel();
    let sa_ = a.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    let sb = b.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    assert_eq!((sa_, sb), (0, 0)); // each has its own descriptor table
    a.bind(sa_, &sa("127.0.0.1:0")).unwrap();
    let to = a.getsockname(sa_).unwrap();
    b.sendmsg(sb, &[b"across"], Some(&to), 0).unwrap();
    let mut buf = [0u8; 16];
    let r = a.recvmsg(sa_, &mut [&mut buf], 0).unwrap();
    assert_eq!(&buf[..r.len], b"across");
    drop(b);
    assert_eq!(a.lock().fd.open_count(), 1);
    // A kernel without sockin runs its own inet stack: UDP on lo0, no IPv6, no TCP yet.
    let own = Kernel::boot(BootOptions::default()).unwrap();
    assert!(own.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).is_ok());
    assert_eq!(
        own.socket(nb::RUMP_AF_INET6, nb::RUMP_SOCK_DGRAM, 0),
        Err(Errno::EAFNOSUPPORT)
    );
}

#[test]
fn poll_over_a_mix_of_tcp_and_udp_sockets() {
    let k = sockin_kernel();
    let l = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_STREAM, 0).unwrap();
    k.bind(l, &sa("127.0.0.1:0")).unwrap();
    k.listen(l, 8).unwrap();
    let u = k.socket(nb::RUMP_AF_INET6, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    k.bind(u, &sa("[::1]:0")).unwrap();
    let SockAddr::Inet(laddr) = k.getsockname(l).unwrap() else {
        panic!()
    };
    let SockAddr::Inet(uaddr) = k.getsockname(u).unwrap() else {
        panic!()
    };
    let ev = nb::RUMP_POLLIN;
    let mut set = [
        PollFd {
            fd: l,
            events: ev,
            revents: 0,
        },
        PollFd {
            fd: u,
            events: ev,
            revents: 0,
        },
        PollFd {
            fd: -1,
            events: ev,
            revents: 0,
        },
    ];
    // Nothing yet: a zero timeout returns at once, a short one times out.
    assert_eq!(k.poll(&mut set, Some(Duration::ZERO)), Ok(0), "{set:?}");
    assert_eq!(k.poll(&mut set, Some(Duration::from_millis(20))), Ok(0));
    // A datagram wakes a sleeping poll from another thread's send.
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        UdpSocket::bind("[::1]:0")
            .unwrap()
            .send_to(b"u", uaddr)
            .unwrap();
    });
    assert_eq!(k.poll(&mut set, Some(Duration::from_secs(10))), Ok(1));
    assert_eq!((set[0].revents, set[1].revents), (0, ev));
    sender.join().unwrap();
    let mut b = [0u8; 4];
    assert_eq!(k.read(u, &mut b), Ok(1));
    // A connection makes the listener readable.
    let c = TcpStream::connect(laddr).unwrap();
    assert_eq!(k.poll(&mut set, Some(Duration::from_secs(10))), Ok(1));
    assert_eq!((set[0].revents, set[1].revents), (ev, 0));
    let (a, _) = k.accept(l, None).unwrap();
    // The accepted socket is writable; after the peer closes it is readable (EOF).
    let mut s2 = [PollFd {
        fd: a,
        events: nb::RUMP_POLLIN | nb::RUMP_POLLOUT,
        revents: 0,
    }];
    assert_eq!(k.poll(&mut s2, Some(Duration::from_secs(10))), Ok(1));
    assert_eq!(s2[0].revents, nb::RUMP_POLLOUT);
    drop(c);
    let t0 = Instant::now();
    loop {
        k.poll(&mut s2, Some(Duration::from_secs(10))).unwrap();
        if s2[0].revents & nb::RUMP_POLLIN != 0 || t0.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    assert_eq!(k.read(a, &mut b), Ok(0));
    // Poll on a closed descriptor reports POLLNVAL.
    k.close(a).unwrap();
    s2[0].events = nb::RUMP_POLLIN;
    assert_eq!(k.poll(&mut s2, Some(Duration::ZERO)), Ok(1));
    assert_eq!(s2[0].revents, nb::RUMP_POLLNVAL);
}

#[test]
fn blocking_calls_honour_send_timeouts_and_nonblocking_writes_fill_up() {
    let k = sockin_kernel();
    // A host listener that never reads: our sends fill the host buffers and then ours.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let s = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_STREAM, 0).unwrap();
    k.connect(s, &SockAddr::Inet(addr)).unwrap();
    let (_peer, _) = l.accept().unwrap();
    let mut tv = Vec::new();
    tv.extend_from_slice(&0i64.to_ne_bytes());
    tv.extend_from_slice(&100_000i32.to_ne_bytes());
    tv.extend_from_slice(&[0; 4]);
    k.setsockopt(s, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_SNDTIMEO, &tv)
        .unwrap();
    let chunk = vec![0x55u8; 1 << 20];
    let mut total = 0usize;
    let t0 = Instant::now();
    loop {
        match k.write(s, &chunk) {
            Ok(n) if n == chunk.len() => total += n,
            Ok(n) => {
                total += n; // a partial write ends a blocking send on timeout
                break;
            }
            Err(Errno::EAGAIN) => break,
            Err(e) => panic!("{e:?}"),
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "never filled up");
    }
    assert!(total > 0);
    // Non-blocking now: EAGAIN at once.
    k.fcntl(s, nb::RUMP_F_SETFL, i64::from(nb::RUMP_O_NONBLOCK))
        .unwrap();
    assert_eq!(
        k.fcntl(s, nb::RUMP_F_GETFL, 0).unwrap() & nb::RUMP_O_NONBLOCK,
        nb::RUMP_O_NONBLOCK
    );
    assert_eq!(k.write(s, &chunk), Err(Errno::EAGAIN));
    let mut p = [PollFd {
        fd: s,
        events: nb::RUMP_POLLOUT,
        revents: 0,
    }];
    assert_eq!(k.poll(&mut p, Some(Duration::ZERO)), Ok(0));
}
