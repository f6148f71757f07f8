//! 10,000 simultaneous TCP connections in one kernel (issue #4): a client kernel opens
//! them to one listening port of a server kernel on the in-memory link, each moves
//! 1 KiB each way (checked byte for byte), all 10,000 are ESTABLISHED at once, then
//! both sides close, the hand-driven clock runs through TIME_WAIT, and every count
//! the kernels keep (descriptors, files, sockets, the TCP connection table, callouts,
//! mbufs) is back where it started.
//!
//! A test binary of its own: it measures the process's RSS, which other tests running
//! beside it would disturb. It prints how long each phase took per 1,000 connections,
//! so a cost that grows with the number of connections shows as a growing column.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use rump::abi::netbsd as nb;
use rump::kern::sockaddr::SockAddr;
use rump::netinet::in_pcb::{ANONPORTMAX, ANONPORTMIN};
use rump::netinet::tcp_fsm::TcpState;
use rump::{Errno, Kernel};

/// Connections.
const N: usize = 10_000;
/// Connects per round: the listen queue takes somaxconn (128) at most, so a round of
/// this size never has a SYN dropped.
const CONNECT_BATCH: usize = nb::RUMP_SOMAXCONN as usize;
/// Connections moving data or closing per round (well under the 2,048 frames the
/// netisr queue holds).
const BATCH: usize = 500;
/// Bytes each way per connection.
const DATA: usize = 1024;
const PORT: u16 = 8000;

fn local_port(k: &Kernel, fd: i32) -> u16 {
    match k.getsockname(fd).unwrap() {
        SockAddr::Inet(SocketAddr::V4(a)) => a.port(),
        other => panic!("{other:?}"),
    }
}

fn read_all(k: &Kernel, fd: i32, want: usize) -> Vec<u8> {
    let mut got = vec![0u8; want + 1];
    let mut n = 0;
    loop {
        match k.read(fd, &mut got[n..]) {
            Ok(0) | Err(Errno::EWOULDBLOCK) => break,
            Ok(m) => n += m,
            Err(e) => panic!("read: {e:?}"),
        }
    }
    got.truncate(n);
    got
}

/// Seconds per 1,000 connections of each round of a phase, first and last fifth.
fn report(phase: &str, per_round: &[(usize, Duration)]) {
    let rate = |s: &[(usize, Duration)]| {
        let n: usize = s.iter().map(|x| x.0).sum();
        let t: Duration = s.iter().map(|x| x.1).sum();
        t.as_secs_f64() * 1000.0 / n.max(1) as f64
    };
    let fifth = (per_round.len() / 5).max(1);
    let total: Duration = per_round.iter().map(|x| x.1).sum();
    eprintln!(
        "{phase}: {total:?} in all; {:.1} ms per 1,000 connections in the first fifth, \
         {:.1} ms in the last",
        rate(&per_round[..fifth]) * 1000.0,
        rate(&per_round[per_round.len() - fifth..]) * 1000.0
    );
}

/// One round: open, move data, check, close, wait out TIME_WAIT. Returns the RSS (KiB)
/// with all connections open.
fn cycle(net: &Net, base: &[Holdings; 2]) -> u64 {
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let st0 = stat(a);
    let l = tcp_socket(b);
    b.bind(l, &sin([0, 0, 0, 0], PORT)).unwrap();
    b.listen(l, 1 << 20).unwrap(); // capped at somaxconn

    // Open: rounds of non-blocking connects, each round accepted before the next.
    let mut clients: Vec<i32> = Vec::with_capacity(N);
    let mut servers: Vec<i32> = vec![-1; N];
    let mut by_port: HashMap<u16, usize> = HashMap::with_capacity(N);
    let mut rounds = Vec::new();
    while clients.len() < N {
        let t = Instant::now();
        let n = CONNECT_BATCH.min(N - clients.len());
        for _ in 0..n {
            let c = tcp_socket(a);
            assert_eq!(
                a.connect(c, &sin([10, 0, 0, 2], PORT)),
                Err(Errno::EINPROGRESS)
            );
            by_port.insert(local_port(a, c), clients.len());
            clients.push(c);
        }
        net.run();
        let mut accepted = 0;
        while let Ok((s, peer)) = b.accept(l, None) {
            let SockAddr::Inet(SocketAddr::V4(p)) = peer else {
                panic!("{peer:?}")
            };
            servers[by_port[&p.port()]] = s;
            accepted += 1;
        }
        assert_eq!(accepted, n, "every connect of the round accepted");
        rounds.push((n, t.elapsed()));
    }
    report("connect+accept", &rounds);
    assert_eq!(by_port.len(), N, "ephemeral ports are distinct");
    assert_eq!(stat(b).tcps_listendrop, 0, "no SYN dropped");

    // Data: 1 KiB each way on every connection, checked.
    let mut rounds = Vec::new();
    for start in (0..N).step_by(BATCH) {
        let t = Instant::now();
        let end = (start + BATCH).min(N);
        for i in start..end {
            let up = pattern_at(0, DATA, i as u64);
            let down = pattern_at(0, DATA, (N + i) as u64);
            assert_eq!(a.write(clients[i], &up), Ok(DATA));
            assert_eq!(b.write(servers[i], &down), Ok(DATA));
        }
        // A tick or more between rounds, so each round's delayed ACKs fire at a tick
        // of their own: 10,000 timers at one tick would send 10,000 frames at once,
        // five times what the peer's input queue holds.
        net.advance_by(Duration::from_millis(2), Duration::from_millis(1));
        for i in start..end {
            assert!(
                read_all(b, servers[i], DATA) == pattern_at(0, DATA, i as u64),
                "client {i} to server: stream corrupted"
            );
            assert!(
                read_all(a, clients[i], DATA) == pattern_at(0, DATA, (N + i) as u64),
                "server to client {i}: stream corrupted"
            );
        }
        rounds.push((end - start, t.elapsed()));
    }
    report("1 KiB each way", &rounds);
    // Let the delayed ACKs go out.
    net.advance_by(Duration::from_millis(300), Duration::from_millis(1));

    // The checkpoint: all 10,000 open at once on both sides.
    let sa = states(a);
    let sb = states(b);
    assert_eq!(sa.len(), N);
    assert!(sa.iter().all(|&s| s == TcpState::Established));
    assert_eq!(sb.len(), N + 1);
    assert_eq!(
        sb.iter().filter(|&&s| s == TcpState::Established).count(),
        N
    );
    let peak = [holdings(a), holdings(b)];
    let rss_peak = rss_kib();
    assert_eq!(peak[0].fds_open, base[0].fds_open + N);
    assert_eq!(peak[1].fds_open, base[1].fds_open + N + 1);
    assert_eq!(peak[0].tcbs, N);
    assert_eq!(peak[1].tcbs, N + 1);
    let sta = stat(a);
    assert_eq!(sta.tcps_connects - st0.tcps_connects, N as u64);
    assert_eq!(sta.tcps_sndrexmitpack, 0, "nothing was lost: {sta:?}");
    assert_eq!(sta.tcps_rexmttimeo, 0, "{sta:?}");
    eprintln!(
        "at the checkpoint: client {:?}, server {:?}",
        peak[0], peak[1]
    );

    // Close: the clients first (they will hold TIME_WAIT), then the servers on EOF.
    let mut rounds = Vec::new();
    for start in (0..N).step_by(BATCH) {
        let t = Instant::now();
        let end = (start + BATCH).min(N);
        for &c in &clients[start..end] {
            a.close(c).unwrap();
        }
        net.run();
        let mut buf = [0u8; 16];
        for &s in &servers[start..end] {
            assert_eq!(b.read(s, &mut buf), Ok(0), "EOF after the FIN");
            b.close(s).unwrap();
        }
        net.run();
        rounds.push((end - start, t.elapsed()));
    }
    report("close both sides", &rounds);
    let sa = states(a);
    assert_eq!(sa.len(), N);
    assert!(
        sa.iter().all(|&s| s == TcpState::TimeWait),
        "all in TIME_WAIT"
    );
    assert_eq!(states(b), vec![TcpState::Listen]);
    b.close(l).unwrap();

    // Through TIME_WAIT (2MSL = 60 s) on the hand-driven clock.
    let t = Instant::now();
    net.advance_by(Duration::from_secs(61), Duration::from_millis(500));
    eprintln!("61 s of TIME_WAIT in {:?}", t.elapsed());
    assert!(states(a).is_empty(), "TIME_WAIT over");

    rss_peak
}

#[test]
fn ten_thousand_connections_move_data_then_everything_comes_back() {
    assert!(
        usize::from(ANONPORTMAX - ANONPORTMIN) + 1 > N,
        "the ephemeral range must hold every connection"
    );
    let t_all = Instant::now();
    let net = pair(21);
    let (a, b) = (&net.ks[0], &net.ks[1]);
    // Resolve ARP both ways first (a SYN to a closed port and its RST): the hold queue
    // of an unresolved address keeps only 64 packets.
    let c = tcp_socket(a);
    assert_eq!(
        a.connect(c, &sin([10, 0, 0, 2], 9)),
        Err(Errno::EINPROGRESS)
    );
    net.run();
    a.close(c).unwrap();
    // ARP's resolution timer is left pending; let it run out.
    net.advance_by(Duration::from_secs(2), Duration::from_millis(100));
    let base = [holdings(a), holdings(b)];
    let rss0 = rss_kib();
    let rss_peak = cycle(&net, &base);
    let rss1 = rss_kib();
    assert_eq!([holdings(a), holdings(b)], base, "after the first round");
    // The second round must fit in the memory the first one left: nothing leaked.
    let rss_peak2 = cycle(&net, &base);

    let after = [holdings(a), holdings(b)];
    let rss2 = rss_kib();
    for (k, name) in [(a, "client"), (b, "server")] {
        let g = k.lock();
        eprintln!(
            "{name}: socket slab capacity {}, descriptor table length {}, mbuf pool {:?}",
            g.sockets.capacity(),
            g.fd.table_len(),
            g.pool.stats()
        );
        assert_eq!(
            g.fd.table_len(),
            0,
            "{name}: the descriptor table shrank back"
        );
    }
    eprintln!(
        "RSS: {rss0} KiB before, {rss_peak} KiB with {N} connections open, {rss1} KiB \
         after; second round {rss_peak2} KiB open, {rss2} KiB after"
    );
    assert!(
        rss2 < rss1 + rss1 / 10,
        "the second round grew RSS from {rss1} KiB to {rss2} KiB"
    );
    assert_eq!(
        after, base,
        "client and server hold what they held at the start"
    );
    eprintln!("whole test: {:?}", t_all.elapsed());
}
