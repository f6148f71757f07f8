//! shmif end to end: kernels on real threads (the host's clock) joined by a bus file in
//! a fresh temporary directory, in one process and across processes.
//!
//! The cross-process test runs this test binary again as a helper process, selected by
//! the `RUMPNET_SHMIF_CHILD_BUS` variable (see `child_process_entry`).

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rump::abi::netbsd as nb;
use rump::config::IfOptions;
use rump::drivers::shmif::{
    self, record_size, shmif_attach, shmif_bus, shmif_set_rx_paused, shmif_stats, Bus, ShmifStats,
    SHMIF_HDR_SIZE, SHMIF_MAX_FRAME, SHMIF_MIN_RING,
};
use rump::kern::mbuf::{MbufChain, MAX_HDR};
use rump::kern::sockaddr::SockAddr;
use rump::net::ifnet::{flags, PacketTap};
use rump::{Errno, Kernel};

/// A fresh directory, removed on drop (also when the test fails).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "rumpnet-shmif-{}-{tag}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn bus(&self) -> PathBuf {
        self.0.join("bus")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn boot() -> Kernel {
    Kernel::boot(Default::default()).unwrap()
}

/// Wait (bounded) until `cond` holds.
fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn stats(k: &Kernel, i: usize) -> ShmifStats {
    shmif_stats(k, i).expect("a shmif interface")
}

/// Frames of our test EtherType an interface received, in arrival order.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Vec<u8>>>>);

impl PacketTap for Recorder {
    fn tap(&mut self, _now: Duration, m: &MbufChain) {
        let f = m.to_vec();
        if f.len() >= 22 && f[12..14] == [0x88, 0xb5] {
            self.0.lock().unwrap().push(f);
        }
    }
}

impl Recorder {
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn take(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Attach an interface on `bus`, bring it up, record what it receives.
fn attach(k: &Kernel, bus: &Path, opts: &IfOptions) -> (usize, Recorder) {
    let i = shmif_attach(k, bus, opts).unwrap();
    let rec = Recorder::default();
    let mut g = k.lock();
    let ifp = g.ifp_mut(i).unwrap();
    ifp.if_flags |= flags::IFF_UP | flags::IFF_RUNNING;
    // The recorder sees what the interface sends too: tell them apart by source.
    ifp.if_pcap = Some(Box::new(Recorder(rec.0.clone())));
    (i, rec)
}

/// A broadcast frame of `len` bytes from `src` carrying `seq`, with a pattern of it.
fn frame(src: [u8; 6], seq: u64, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[..6].fill(0xff);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&[0x88, 0xb5]);
    f[14..22].copy_from_slice(&seq.to_be_bytes());
    for (i, b) in f.iter_mut().enumerate().skip(22) {
        *b = (seq as usize).wrapping_mul(7).wrapping_add(i) as u8;
    }
    f
}

fn seq_of(f: &[u8]) -> u64 {
    u64::from_be_bytes(f[14..22].try_into().unwrap())
}

fn intact(f: &[u8]) -> bool {
    f.len() >= 22 && f == frame(f[6..12].try_into().unwrap(), seq_of(f), f.len())
}

fn lladdr(k: &Kernel, i: usize) -> [u8; 6] {
    k.lock().ifp(i).unwrap().if_lladdr
}

/// Send a raw frame out of interface `i`.
fn send(k: &Kernel, i: usize, f: &[u8]) {
    let mut g = k.lock();
    let m = MbufChain::from_slice(&g.pool, f, MAX_HDR).unwrap();
    g.if_transmit(i, m).unwrap();
}

/// Frames `rec` holds that `src` did not send.
fn received(rec: &Recorder, src: [u8; 6]) -> Vec<Vec<u8>> {
    rec.take().into_iter().filter(|f| f[6..12] != src).collect()
}

fn sin(a: Ipv4Addr, port: u16) -> SockAddr {
    SockAddr::Inet(SocketAddr::V4(SocketAddrV4::new(a, port)))
}

/// A UDP socket bound to `port` whose receives time out after `timeo`.
fn udp(k: &Kernel, port: u16, timeo: Duration) -> i32 {
    let s = k.socket(nb::RUMP_AF_INET, nb::RUMP_SOCK_DGRAM, 0).unwrap();
    k.bind(s, &sin(Ipv4Addr::UNSPECIFIED, port)).unwrap();
    let mut tv = [0u8; 16];
    tv[..8].copy_from_slice(&(timeo.as_secs() as i64).to_ne_bytes());
    tv[8..12].copy_from_slice(&(timeo.subsec_micros() as i32).to_ne_bytes());
    k.setsockopt(s, nb::RUMP_SOL_SOCKET, nb::RUMP_SO_RCVTIMEO, &tv)
        .unwrap();
    s
}

/// A blocking receive (bounded by the socket's timeout).
fn recv(k: &Kernel, s: i32) -> Result<(Vec<u8>, Option<SockAddr>), Errno> {
    let mut b = vec![0u8; 65536];
    let r = k.recvmsg(s, &mut [&mut b], 0)?;
    b.truncate(r.len);
    Ok((b, r.from))
}

/// Answer datagrams on `s` until `stop` datagrams have been answered or receives time
/// out `idle` times in a row.
fn echo_server(k: &Kernel, s: i32, idle: usize) -> usize {
    let mut answered = 0;
    let mut quiet = 0;
    while quiet < idle {
        match recv(k, s) {
            Ok((d, Some(from))) => {
                quiet = 0;
                if d == b"quit" {
                    break;
                }
                k.sendmsg(s, &[&d], Some(&from), 0).unwrap();
                answered += 1;
            }
            Ok(_) => {}
            Err(Errno::EAGAIN) => quiet += 1,
            Err(e) => panic!("echo server: {e:?}"),
        }
    }
    answered
}

/// Send `msg` to `to` from `s` and wait for it to come back, retrying while ARP
/// resolves (bounded: `tries` sends, each waiting out the socket's receive timeout).
fn echo_once(k: &Kernel, s: i32, to: &SockAddr, msg: &[u8], tries: usize) -> Duration {
    let t = Instant::now();
    for _ in 0..tries {
        k.sendmsg(s, &[msg], Some(to), 0).unwrap();
        loop {
            match recv(k, s) {
                Ok((d, _)) if d == msg => return t.elapsed(),
                Ok(_) => continue, // a late answer to an earlier try
                Err(Errno::EAGAIN) => break,
                Err(e) => panic!("echo client: {e:?}"),
            }
        }
    }
    panic!("no echo of {} bytes after {tries} tries", msg.len());
}

#[test]
fn a_frame_reaches_every_other_interface_and_not_its_sender() {
    let d = TempDir::new("fanout");
    let ks: Vec<Kernel> = (0..3).map(|_| boot()).collect();
    let o = IfOptions::default();
    let ifs: Vec<_> = ks.iter().map(|k| attach(k, &d.bus(), &o)).collect();
    // A second interface of kernel 0 on the same bus hears kernel 0's first one.
    let (i01, r01) = attach(&ks[0], &d.bus(), &o);
    {
        let g = ks[0].lock();
        assert_eq!(g.ifp(ifs[0].0).unwrap().if_xname, "shmif0");
        assert_eq!(g.ifp(i01).unwrap().if_xname, "shmif1");
        let ifp = g.ifp(i01).unwrap();
        assert_eq!(ifp.if_mtu, 1500);
        assert_eq!(
            ifp.if_flags & (flags::IFF_BROADCAST | flags::IFF_MULTICAST),
            flags::IFF_BROADCAST | flags::IFF_MULTICAST
        );
    }
    let macs: Vec<_> = ks
        .iter()
        .zip(&ifs)
        .map(|(k, (i, _))| lladdr(k, *i))
        .chain([lladdr(&ks[0], i01)])
        .collect();
    for (n, m) in macs.iter().enumerate() {
        assert_eq!(m[..3], [0x02, 0x73, 0x68], "{m:x?}");
        assert!(!macs[..n].contains(m), "duplicate address {m:x?}");
    }
    let src = macs[0];
    let f = frame(src, 1, 100);
    send(&ks[0], ifs[0].0, &f);
    wait_until(
        "the frame at every other interface",
        Duration::from_secs(5),
        || ifs[1].1.len() == 1 && ifs[2].1.len() == 1 && r01.len() == 1,
    );
    for r in [&ifs[1].1, &ifs[2].1, &r01] {
        assert_eq!(r.take(), vec![f.clone()]);
    }
    // The sender's recorder holds only its own transmission, never a reception.
    wait_until(
        "the sender to skip its own frame",
        Duration::from_secs(5),
        || stats(&ks[0], ifs[0].0).own == 1,
    );
    assert!(received(&ifs[0].1, src).is_empty());
    let st = stats(&ks[0], ifs[0].0);
    assert_eq!((st.opackets, st.ipackets, st.own), (1, 0, 1));
    for (k, i) in [(&ks[1], ifs[1].0), (&ks[2], ifs[2].0), (&ks[0], i01)] {
        let st = stats(k, i);
        assert_eq!(
            (st.ipackets, st.delivered, st.lost, st.bad_headers),
            (1, 1, 0, 0)
        );
    }
    // Halting a kernel stops its receive threads promptly.
    let t = Instant::now();
    drop(ks);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "halt took {:?}",
        t.elapsed()
    );
}

#[test]
fn order_is_preserved_over_10000_frames() {
    let d = TempDir::new("order");
    let ks: Vec<Kernel> = (0..3).map(|_| boot()).collect();
    let ifs: Vec<_> = ks
        .iter()
        .map(|k| attach(k, &d.bus(), &IfOptions::default()))
        .collect();
    let src = lladdr(&ks[0], ifs[0].0);
    const N: u64 = 10_000;
    // Batches, so the receivers' input queues (2048 frames) never overflow; the bus
    // ring holds about 6000 of these frames.
    for batch in 0..N / 500 {
        for seq in batch * 500..(batch + 1) * 500 {
            send(&ks[0], ifs[0].0, &frame(src, seq, 60 + (seq % 64) as usize));
        }
        let want = ((batch + 1) * 500) as usize;
        wait_until("a batch", Duration::from_secs(20), || {
            ifs[1..].iter().all(|(_, rec)| rec.len() == want)
        });
    }
    for ((i, rec), k) in ifs[1..].iter().zip(&ks[1..]) {
        let got = rec.take();
        assert!(got.iter().all(|f| intact(f)));
        let seqs: Vec<u64> = got.iter().map(|f| seq_of(f)).collect();
        assert_eq!(seqs, (0..N).collect::<Vec<_>>());
        let st = stats(k, *i);
        assert_eq!(
            (st.lost, st.bad_headers, st.qdrops, st.nobufs),
            (0, 0, 0, 0)
        );
    }
    assert_eq!(stats(&ks[0], ifs[0].0).opackets, N);
}

#[test]
fn a_late_joiner_sees_only_new_frames() {
    let d = TempDir::new("late");
    let (a, b, c) = (boot(), boot(), boot());
    let (ia, _) = attach(&a, &d.bus(), &IfOptions::default());
    let (ib, rb) = attach(&b, &d.bus(), &IfOptions::default());
    let src = lladdr(&a, ia);
    for seq in 0..100 {
        send(&a, ia, &frame(src, seq, 64));
    }
    wait_until("b to see the first 100", Duration::from_secs(5), || {
        rb.len() == 100
    });
    let (ic, rc) = attach(&c, &d.bus(), &IfOptions::default());
    for seq in 100..110 {
        send(&a, ia, &frame(src, seq, 64));
    }
    wait_until("b and c to see 10 more", Duration::from_secs(5), || {
        rb.len() == 110 && rc.len() == 10
    });
    let seqs: Vec<u64> = rc.take().iter().map(|f| seq_of(f)).collect();
    assert_eq!(seqs, (100..110).collect::<Vec<_>>());
    assert_eq!(stats(&c, ic).ipackets, 10);
    assert_eq!(stats(&b, ib).ipackets, 110);
    assert_eq!(stats(&c, ic).lost, 0);
}

#[test]
fn a_stopped_reader_falls_behind_counts_lost_frames_and_never_gets_a_torn_one() {
    let d = TempDir::new("slow");
    // A small ring, so the writer laps the stopped reader many times.
    Bus::create(&d.bus(), SHMIF_MIN_RING).unwrap();
    let (a, b) = (boot(), boot());
    let (ia, _) = attach(&a, &d.bus(), &IfOptions::default());
    let (ib, rb) = attach(&b, &d.bus(), &IfOptions::default());
    let src = lladdr(&a, ia);
    // One frame while b reads, so b knows which sequence number comes next.
    send(&a, ia, &frame(src, 0, 200));
    wait_until("the first frame", Duration::from_secs(5), || rb.len() == 1);
    shmif_set_rx_paused(&b, ib, true).unwrap();
    const N: u64 = 5000;
    for seq in 1..=N {
        send(&a, ia, &frame(src, seq, 100 + (seq % 900) as usize));
    }
    let bus = shmif_bus(&a, ia).unwrap();
    let info = bus.info();
    assert!(info.head - info.first <= u64::from(SHMIF_MIN_RING));
    // What is left on the ring is what b can still get.
    let on_ring = bus.reader_from_oldest().count() as u64;
    assert!(on_ring < N / 10, "{on_ring} frames on a 64 KiB ring");
    assert_eq!(stats(&b, ib).ipackets, 1, "b read while paused");
    shmif_set_rx_paused(&b, ib, false).unwrap();
    wait_until("b to catch up", Duration::from_secs(10), || {
        let st = stats(&b, ib);
        st.ipackets + st.lost == N + 1
    });
    let st = stats(&b, ib);
    assert_eq!(st.lost, N - on_ring);
    assert_eq!(st.bad_headers, 0);
    wait_until("the stack to take them", Duration::from_secs(5), || {
        rb.len() as u64 == 1 + on_ring
    });
    let got = rb.take();
    assert!(got.iter().all(|f| intact(f)), "a torn frame");
    let seqs: Vec<u64> = got.iter().map(|f| seq_of(f)).collect();
    let mut want = vec![0];
    want.extend(N - on_ring + 1..=N);
    assert_eq!(seqs, want);
}

#[test]
fn attach_refuses_files_that_are_not_buses_and_bad_mtus() {
    let d = TempDir::new("refuse");
    let k = boot();
    let good = d.0.join("good");
    Bus::create(&good, SHMIF_MIN_RING).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    type Mangle = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: [(&str, Mangle); 4] = [
        ("magic", Box::new(|b| b[..4].copy_from_slice(b"NOPE"))),
        (
            "version",
            Box::new(|b| b[4..8].copy_from_slice(&9u32.to_ne_bytes())),
        ),
        ("truncated", Box::new(|b| b.truncate(b.len() / 2))),
        ("oversized", Box::new(|b| b.extend_from_slice(&[0u8; 4096]))),
    ];
    for (name, f) in cases {
        let p = d.0.join(name);
        let mut b = bytes.clone();
        f(&mut b);
        std::fs::write(&p, &b).unwrap();
        assert_eq!(
            shmif_attach(&k, &p, &IfOptions::default()),
            Err(Errno::EFTYPE),
            "{name}"
        );
        // Refused means untouched.
        assert_eq!(std::fs::read(&p).unwrap(), b, "{name}");
    }
    let text = d.0.join("text");
    std::fs::write(&text, "not a bus").unwrap();
    assert_eq!(
        shmif_attach(&k, &text, &IfOptions::default()),
        Err(Errno::EFTYPE)
    );
    assert_eq!(
        shmif_attach(&k, &d.0, &IfOptions::default()).err(),
        Some(Errno::EISDIR),
        "a directory"
    );
    let jumbo_plus = IfOptions {
        mtu: Some(9001),
        ..Default::default()
    };
    assert_eq!(shmif_attach(&k, &good, &jumbo_plus), Err(Errno::EINVAL));
    assert!(!k.lock().if_names().iter().any(|n| n.starts_with("shmif")));
    // A missing file is created; the unit numbers start at 0.
    let fresh = d.0.join("sub-bus");
    let i = shmif_attach(&k, &fresh, &IfOptions::default()).unwrap();
    assert_eq!(k.lock().ifp(i).unwrap().if_xname, "shmif0");
    assert!(Bus::open_readonly(&fresh).is_ok());
}

#[test]
fn an_impossible_frame_header_is_dropped_and_counted() {
    let d = TempDir::new("badhdr");
    let (a, b) = (boot(), boot());
    let (ia, _) = attach(&a, &d.bus(), &IfOptions::default());
    let (ib, rb) = attach(&b, &d.bus(), &IfOptions::default());
    let src = lladdr(&a, ia);
    let bus = shmif_bus(&a, ia).unwrap();
    shmif_set_rx_paused(&b, ib, true).unwrap();
    let mut at = Vec::new();
    for seq in 0..3 {
        at.push(bus.info().head);
        send(&a, ia, &frame(src, seq, 120));
    }
    // Frame 1's length becomes 1 MiB, by hand, through the file.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(d.bus())
        .unwrap();
    let off = u64::from(SHMIF_HDR_SIZE) + at[1] % u64::from(bus.ring_size()) + 16;
    file.write_all_at(&(1u64 << 20).to_ne_bytes(), off).unwrap();
    shmif_set_rx_paused(&b, ib, false).unwrap();
    wait_until("b to read the bus", Duration::from_secs(5), || {
        let st = stats(&b, ib);
        st.ipackets == 2 && st.bad_headers == 1
    });
    wait_until("the stack", Duration::from_secs(5), || rb.len() == 2);
    let seqs: Vec<u64> = rb.take().iter().map(|f| seq_of(f)).collect();
    assert_eq!(seqs, vec![0, 2]);
    assert_eq!(stats(&b, ib).lost, 0);
    assert_eq!(at[2] - at[1], record_size(120));
}

#[test]
fn the_lock_of_a_dead_process_is_recovered() {
    let d = TempDir::new("deadlock");
    let (a, b) = (boot(), boot());
    let (ia, _) = attach(&a, &d.bus(), &IfOptions::default());
    let (ib, rb) = attach(&b, &d.bus(), &IfOptions::default());
    let mut t = Command::new("true").spawn().unwrap();
    let dead = t.id();
    t.wait().unwrap();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(d.bus())
        .unwrap();
    file.write_all_at(&dead.to_ne_bytes(), shmif::field::LOCK as u64)
        .unwrap();
    let bus = shmif_bus(&a, ia).unwrap();
    assert_eq!(bus.info().lock_holder, dead);
    let src = lladdr(&a, ia);
    let t = Instant::now();
    send(&a, ia, &frame(src, 0, 64));
    let took = t.elapsed();
    wait_until("b to get the frame", Duration::from_secs(5), || {
        rb.len() == 1
    });
    assert_eq!(stats(&a, ia).lock_recoveries, 1);
    assert_eq!(bus.info().lock_recoveries, 1);
    assert_eq!(bus.info().lock_holder, 0);
    assert!(took < Duration::from_millis(500), "recovery took {took:?}");
    eprintln!("lock of dead pid {dead} recovered in {took:?}");
    assert_eq!(stats(&b, ib).ipackets, 1);
}

#[test]
fn receive_impairment_applies_to_shmif() {
    let d = TempDir::new("impair");
    let (a, b, c) = (boot(), boot(), boot());
    let (ia, _) = attach(&a, &d.bus(), &IfOptions::default());
    let lossy = IfOptions {
        loss: 1.0,
        ..Default::default()
    };
    let dupy = IfOptions {
        dup: 1.0,
        ..Default::default()
    };
    let (ib, rb) = attach(&b, &d.bus(), &lossy);
    let (ic, rc) = attach(&c, &d.bus(), &dupy);
    let src = lladdr(&a, ia);
    for seq in 0..50 {
        send(&a, ia, &frame(src, seq, 64));
    }
    wait_until("c to get every frame twice", Duration::from_secs(5), || {
        rc.len() == 100
    });
    wait_until("b to read them all", Duration::from_secs(5), || {
        stats(&b, ib).ipackets == 50
    });
    assert_eq!(rb.len(), 0);
    assert_eq!(stats(&b, ib).impair.lost, 50);
    assert_eq!(stats(&c, ic).impair.duplicated, 50);
    assert_eq!(stats(&c, ic).delivered, 100);
}

#[test]
fn jumbo_frames_pass() {
    let d = TempDir::new("jumbo");
    let jumbo = IfOptions {
        mtu: Some(9000),
        ..Default::default()
    };
    let (a, b) = (boot(), boot());
    let ia = shmif_attach(&a, &d.bus(), &jumbo).unwrap();
    let ib = shmif_attach(&b, &d.bus(), &jumbo).unwrap();
    assert_eq!(a.lock().ifp(ia).unwrap().if_mtu, 9000);
    a.lock()
        .in_addr_add(ia, Ipv4Addr::new(10, 0, 8, 1), 24, None)
        .unwrap();
    b.lock()
        .in_addr_add(ib, Ipv4Addr::new(10, 0, 8, 2), 24, None)
        .unwrap();
    let server = udp(&b, 7, Duration::from_millis(200));
    let client = udp(&a, 0, Duration::from_millis(500));
    std::thread::scope(|s| {
        let srv = s.spawn(|| echo_server(&b, server, 25));
        // 8972 bytes of UDP payload: a 9000-byte datagram, a 9014-byte frame.
        let big: Vec<u8> = (0..8972u32).map(|i| (i * 13) as u8).collect();
        let rtt = echo_once(&a, client, &sin(Ipv4Addr::new(10, 0, 8, 2), 7), &big, 10);
        eprintln!("jumbo echo in {rtt:?}");
        a.sendmsg(
            client,
            &[b"quit"],
            Some(&sin(Ipv4Addr::new(10, 0, 8, 2), 7)),
            0,
        )
        .unwrap();
        assert!(srv.join().unwrap() >= 1);
    });
    // Not fragmented: the bus carried a frame of the full jumbo size.
    let bus = shmif_bus(&a, ia).unwrap();
    let longest = bus
        .reader_from_oldest()
        .map(|f| f.data.len())
        .max()
        .unwrap();
    assert_eq!(longest, SHMIF_MAX_FRAME);
    assert_eq!(b.lock().inet().unwrap().ipstat.ips_fragments, 0);
}

#[test]
fn udp_echo_between_two_kernels_and_the_bus_dump_opens_in_tcpdump() {
    let d = TempDir::new("udp");
    let (a, b) = (boot(), boot());
    let ia = shmif_attach(&a, &d.bus(), &IfOptions::default()).unwrap();
    let ib = shmif_attach(&b, &d.bus(), &IfOptions::default()).unwrap();
    a.lock()
        .in_addr_add(ia, Ipv4Addr::new(10, 0, 7, 1), 24, None)
        .unwrap();
    b.lock()
        .in_addr_add(ib, Ipv4Addr::new(10, 0, 7, 2), 24, None)
        .unwrap();
    let server = udp(&b, 7, Duration::from_millis(200));
    let client = udp(&a, 0, Duration::from_millis(500));
    let to = sin(Ipv4Addr::new(10, 0, 7, 2), 7);
    std::thread::scope(|s| {
        let srv = s.spawn(|| echo_server(&b, server, 25));
        let first = echo_once(&a, client, &to, b"hello over shmif", 10);
        let t = Instant::now();
        for n in 0..100u32 {
            let msg = format!("datagram {n}");
            echo_once(&a, client, &to, msg.as_bytes(), 5);
        }
        eprintln!(
            "udp echo: first (with ARP) {first:?}, then 100 round trips in {:?}",
            t.elapsed()
        );
        a.sendmsg(client, &[b"quit"], Some(&to), 0).unwrap();
        assert!(srv.join().unwrap() >= 101);
    });
    let arp = a.lock().inet().unwrap().arpstat.clone();
    assert!(arp.as_rcvreply >= 1, "{arp:?}");

    // The bus as pcap, through the library the dump tool uses.
    let pcap = d.0.join("bus.pcap");
    let bus = Bus::open_readonly(&d.bus()).unwrap();
    let mut w = rump::wire::pcap::PcapWriter::new(std::fs::File::create(&pcap).unwrap()).unwrap();
    let n = shmif::dump_pcap(&mut bus.reader_from_oldest(), &mut w).unwrap();
    w.flush().unwrap();
    assert!(n >= 204, "{n} frames");
    let frames: Vec<Vec<u8>> =
        rump::wire::pcap::PcapReader::new(std::fs::File::open(&pcap).unwrap())
            .unwrap()
            .map(|r| r.unwrap().1)
            .collect();
    assert_eq!(frames.len() as u64, n);
    assert!(frames.iter().any(|f| f[12..14] == [0x08, 0x06]), "no ARP");
    match Command::new("tcpdump").args(["-nn", "-r"]).arg(&pcap).output() {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "tcpdump: {}", String::from_utf8_lossy(&out.stderr));
            assert!(text.contains("ARP, Request who-has 10.0.7.2"), "{text}");
            assert!(text.contains("ARP, Reply 10.0.7.2 is-at"), "{text}");
            assert!(text.contains("10.0.7.1.") && text.contains("> 10.0.7.2.7: UDP"), "{text}");
        }
        Err(_) => eprintln!(
            "SKIPPED: tcpdump is not installed; the bus dump was checked by our own pcap reader only"
        ),
    }
}

/// The helper process of `two_processes_share_a_bus_and_survive_a_sigkill`: a kernel
/// on the bus named by `RUMPNET_SHMIF_CHILD_BUS` with address
/// `RUMPNET_SHMIF_CHILD_ADDR`, echoing UDP on port 7 until killed. "flood" makes it
/// send datagrams to the sender's port 9999 as fast as it can. Without the variable
/// (an ordinary test run) it does nothing.
#[test]
fn child_process_entry() {
    let Ok(bus) = std::env::var("RUMPNET_SHMIF_CHILD_BUS") else {
        return;
    };
    let addr: Ipv4Addr = std::env::var("RUMPNET_SHMIF_CHILD_ADDR")
        .unwrap()
        .parse()
        .unwrap();
    // Bounded whatever the parent does.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(60));
        std::process::exit(3);
    });
    let k = boot();
    let i = shmif_attach(&k, Path::new(&bus), &IfOptions::default()).unwrap();
    k.lock().in_addr_add(i, addr, 24, None).unwrap();
    let s = udp(&k, 7, Duration::from_secs(1));
    println!("CHILD READY {}", std::process::id());
    loop {
        match recv(&k, s) {
            Ok((d, Some(SockAddr::Inet(SocketAddr::V4(from))))) => {
                if d == b"flood" {
                    let to = sin(*from.ip(), 9999);
                    let payload = [0x5au8; 400];
                    loop {
                        let _ = k.sendmsg(s, &[&payload], Some(&to), 0);
                    }
                }
                k.sendmsg(s, &[&d], Some(&sin(*from.ip(), from.port())), 0)
                    .unwrap();
            }
            Ok(_) | Err(Errno::EAGAIN) => {}
            Err(e) => panic!("child: {e:?}"),
        }
    }
}

/// Kill the child on drop, so a failing test leaves no process behind.
struct Reaper(Option<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Start the helper process on `bus` with address `ip`; returns it once it is up.
fn spawn_helper(bus: &Path, ip: Ipv4Addr) -> Reaper {
    let t0 = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RUMPNET_SHMIF_CHILD_BUS", bus)
        .env("RUMPNET_SHMIF_CHILD_ADDR", ip.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let reaper = Reaper(Some(child));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if line.contains("CHILD READY") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the helper process never came up");
    eprintln!("helper process up in {:?}", t0.elapsed());
    reaper
}

/// Up to this many helpers are killed mid-flood, until one dies holding the bus lock
/// (about a third of kills do).
const KILL_ROUNDS: u8 = 6;

#[test]
fn two_processes_share_a_bus_and_survive_a_sigkill() {
    let d = TempDir::new("procs");
    let (a, b) = (boot(), boot());
    let ia = shmif_attach(&a, &d.bus(), &IfOptions::default()).unwrap();
    let ib = shmif_attach(&b, &d.bus(), &IfOptions::default()).unwrap();
    let (a_ip, b_ip) = (Ipv4Addr::new(10, 0, 9, 1), Ipv4Addr::new(10, 0, 9, 3));
    a.lock().in_addr_add(ia, a_ip, 24, None).unwrap();
    b.lock().in_addr_add(ib, b_ip, 24, None).unwrap();
    let bus = shmif_bus(&a, ia).unwrap();
    let client = udp(&a, 9999, Duration::from_millis(500));
    let server = udp(&b, 7, Duration::from_millis(200));
    let to_b = sin(b_ip, 7);
    let mut died_holding = 0;
    std::thread::scope(|s| {
        let srv = s.spawn(|| echo_server(&b, server, 25));
        for round in 0..KILL_ROUNDS {
            // A fresh helper each round, at a fresh address (a's ARP cache holds the
            // dead one's).
            let child_ip = Ipv4Addr::new(10, 0, 9, 10 + round);
            let mut reaper = spawn_helper(&d.bus(), child_ip);
            let child_pid = reaper.0.as_ref().unwrap().id();
            assert!(bus.members().iter().any(|&(pid, _)| pid == child_pid));

            // UDP echo across the process boundary.
            let to_child = sin(child_ip, 7);
            let first = echo_once(&a, client, &to_child, b"across processes", 20);
            for n in 0..20u32 {
                echo_once(&a, client, &to_child, format!("x{n}").as_bytes(), 5);
            }
            eprintln!("round {round}: cross-process echo: first {first:?}, 20 more done");

            // The helper floods the bus; kill it mid-stream.
            let before = stats(&a, ia).ipackets;
            a.sendmsg(client, &[b"flood"], Some(&to_child), 0).unwrap();
            wait_until("the flood", Duration::from_secs(10), || {
                stats(&a, ia).ipackets > before + 1000
            });
            let mut child = reaper.0.take().unwrap();
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            let holder = bus.info().lock_holder;
            let holding = holder == child_pid;
            eprintln!(
                "round {round}: helper {child_pid} SIGKILLed mid-flood, {}",
                if holding {
                    "holding the bus lock"
                } else {
                    "the bus lock free"
                }
            );
            died_holding += u32::from(holding);
            // Drain what is left of the flood.
            while recv(&a, client).is_ok() {}

            // The bus still works between the kernels that remain.
            let recoveries = || stats(&a, ia).lock_recoveries + stats(&b, ib).lock_recoveries;
            let recovered_before = recoveries();
            let t = Instant::now();
            echo_once(&a, client, &to_b, b"after the kill", 10);
            for n in 0..20u32 {
                echo_once(&a, client, &to_b, format!("y{n}").as_bytes(), 5);
            }
            eprintln!(
                "round {round}: a <-> b, 21 round trips in {:?}",
                t.elapsed()
            );
            assert_eq!(bus.info().lock_holder, 0);
            assert!(!bus.members().iter().any(|&(pid, _)| pid == child_pid));
            if holding {
                // Whichever kernel sent first after the kill took the lock over.
                assert_eq!(recoveries(), recovered_before + 1);
                break;
            }
        }
        a.sendmsg(client, &[b"quit"], Some(&to_b), 0).unwrap();
        assert!(srv.join().unwrap() >= 21);
    });
    if died_holding == 0 {
        eprintln!(
            "NOTE: no helper died holding the bus lock in {KILL_ROUNDS} rounds; \
             the_lock_of_a_dead_process_is_recovered covers the takeover"
        );
    }
    assert_eq!(
        u64::from(bus.info().lock_recoveries),
        u64::from(died_holding)
    );
    let (sa, sb) = (stats(&a, ia), stats(&b, ib));
    assert_eq!((sa.bad_headers, sb.bad_headers), (0, 0));
    eprintln!("a: {sa:?}\nb: {sb:?}");
}
