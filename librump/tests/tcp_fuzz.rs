//! A fuzz target for TCP input (issue #4): mutated and random segments into connections
//! in every state, between two kernels on the in-memory link.
//!
//! Each scenario boots a victim kernel (A, 10.0.0.1) and a real peer (B, 10.0.0.2) and
//! builds connections on A in LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED (active and
//! passive), FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK and TIME_WAIT, the
//! states that wait on the peer held there by a peer that does not read (a zero
//! window keeps our FIN queued) or by a peer that does not exist (10.0.0.3, which no
//! one answers ARP for). Then, batch after batch, it hands A's interface Ethernet frames
//! with TCP segments aimed at those connections: valid IP and TCP checksums most of the
//! time so they reach the state machine, sequence and acknowledgment numbers near the
//! live ones read from the control block, random flags, windows, options (well-formed
//! and not) and lengths, and now and then a bad checksum, a bad data offset, a stray
//! address or plain garbage. Between batches both sides keep their streams moving and
//! the hand-driven clock jumps now and then, so timers fire in every state, and now
//! and then a side closes its descriptor, so closed sockets lingering in the closing
//! states are fuzzed too.
//!
//! After each batch it checks that nothing panicked, that every control block is sane
//! (`snd_una <= snd_nxt <= snd_max`, no more in flight than the send buffer holds plus
//! SYN and FIN, the connection table agrees with the states, every timer the block
//! names is pending, TIME_WAIT has its 2MSL timer) and that each stream read so far on
//! either side is a prefix of what the other side wrote. Payloads the fuzzer sends on a
//! connection are the bytes the real sender has (or would have) at that sequence
//! number, so a segment TCP rightly accepts never changes a stream; the rare segment
//! that cannot be made so (garbage with a valid checksum) marks its connection's stream
//! as no longer checked. At the end of a scenario both sides close everything, the
//! clock runs 20 minutes, and both kernels must be empty: no socket, descriptor, table
//! entry, callout or mbuf left.
//!
//! Smoke mode (`cargo test`): a fixed seed and [`SMOKE_SEGMENTS`] segments, a few
//! seconds in release. Longer: `RUMP_FUZZ_ITERS=<segments>` and `RUMP_FUZZ_SEED=<n>`
//! (decimal or 0x hex). A failure names the scenario seed and batch: that seed as
//! `RUMP_FUZZ_SEED` runs the failing scenario first, and `RUMP_FUZZ_TRACE=1` prints
//! each segment sent to a connection with the control block it was aimed at.
//!
//! Found so far (fixed): a closed connection held forever in persist by a zero window
//! from a peer that went away (tcp_timer.rs, tcps_persistdrops); ACK wars between two
//! ends that disagree about a connection (tcp_input.rs, tcps_dropack_limited); data
//! left with no timer at all behind a window shut by a segment that had to be ACKed
//! at once (tcp_output.rs). A test below pins each.

mod common;

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::*;
use rump::kern::kernel::KernelState;
use rump::kern::mbuf::MbufChain;
use rump::kern::uipc_socket::SocketId;
use rump::net::ifnet::IfInput;
use rump::netinet::tcp_fsm::TcpState;
use rump::netinet::tcp_seq::{seq_gt, seq_leq};
use rump::netinet::tcp_var::{TcpTimer, Tcpcb};
use rump::wire::fuzz::XorShift64;
use rump::{Errno, Kernel};

/// Segments the smoke run sends.
const SMOKE_SEGMENTS: usize = 150_000;
/// Batches per scenario before it is closed down and checked.
const BATCHES: usize = 60;
/// The victim's listening port.
const LPORT: u16 = 5000;
/// The peer's listening port.
const PPORT: u16 = 8000;
const A_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// An address on the link that nobody answers for.
const GHOST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);

/// One connection on the victim.
struct Conn {
    /// The state it was built into.
    built: TcpState,
    /// What the harness did to get there.
    how: &'static str,
    /// A's descriptor (None for an embryo on the listen queue).
    fd: Option<i32>,
    /// A's socket.
    so: SocketId,
    /// B's descriptor, when B is the peer.
    peer_fd: Option<i32>,
    /// Whether B reads what A sends (no: A's window towards B stays shut).
    peer_reads: bool,
    /// Stream A sends (pattern salt), bytes written, bytes B has read.
    a_salt: u64,
    a_sent: u64,
    b_got: u64,
    /// Stream A receives, bytes B has written, bytes A has read.
    b_salt: u64,
    b_sent: u64,
    a_got: u64,
    /// A's receive stream is no longer comparable (the fuzzer sent garbage into it).
    tainted: bool,
}

/// What the fuzzer needs of a control block.
#[derive(Clone, Copy, Debug)]
struct Snap {
    laddr: Ipv4Addr,
    lport: u16,
    faddr: Ipv4Addr,
    fport: u16,
    rcv_nxt: u32,
    rcv_wnd: u32,
    irs: u32,
    iss: u32,
    snd_una: u32,
    snd_max: u32,
    ts_recent: u32,
}

fn snap(tp: &Tcpcb) -> Snap {
    Snap {
        laddr: tp.inp.laddr,
        lport: tp.inp.lport,
        faddr: tp.inp.faddr,
        fport: tp.inp.fport,
        rcv_nxt: tp.rcv_nxt,
        rcv_wnd: tp.rcv_wnd,
        irs: tp.irs,
        iss: tp.iss,
        snd_una: tp.snd_una,
        snd_max: tp.snd_max,
        ts_recent: tp.ts_recent,
    }
}

/// The victim's interface, for injecting frames.
struct Wire {
    input: IfInput,
    mac: [u8; 6],
    pool: rump::kern::mbuf::MbufPool,
}

fn wire_of(k: &Kernel) -> Wire {
    let g = k.lock();
    let idx = g.ifunit("mem0").unwrap();
    Wire {
        input: g.if_input(idx),
        mac: g.ifnet[idx - 1].as_ref().unwrap().if_lladdr,
        pool: g.pool.clone(),
    }
}

impl Wire {
    fn inject(&self, frame: &[u8]) {
        if let Ok(m) = MbufChain::from_slice(&self.pool, frame, 0) {
            self.input.input(m);
        }
    }
}

fn ip_checksum(h: &[u8]) -> u16 {
    !rump::wire::checksum::data(h)
}

/// An Ethernet frame to A carrying an IPv4 packet with `l4` as its TCP payload.
fn frame(mac: [u8; 6], src: Ipv4Addr, dst: Ipv4Addr, l4: &[u8], df: bool) -> Vec<u8> {
    let mut f = Vec::with_capacity(34 + l4.len());
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x99]);
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + l4.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[6] = if df { 0x40 } else { 0 };
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let ck = ip_checksum(&ip);
    ip[10..12].copy_from_slice(&ck.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(l4);
    f
}

/// TCP options: a random mix of well-formed ones near the live values, and sometimes
/// malformed ones.
fn options(rng: &mut XorShift64, s: Option<&Snap>, now_ts: u32) -> Vec<u8> {
    let mut o = Vec::new();
    if rng.below(10) < 4 {
        return o;
    }
    for _ in 0..1 + rng.below(4) {
        match rng.below(12) {
            0 => {
                let mss = [0u16, 1, 64, 536, 1460, 65535, rng.next_u64() as u16][rng.below(7)];
                o.extend_from_slice(&[2, 4]);
                o.extend_from_slice(&mss.to_be_bytes());
            }
            1 => o.extend_from_slice(&[3, 3, [0, 1, 7, 14, 15, 255][rng.below(6)]]),
            2 => o.extend_from_slice(&[4, 2]),
            3 | 4 => {
                let tsval = match (s, rng.below(4)) {
                    (Some(s), 0) => s.ts_recent,
                    (Some(s), 1) => s.ts_recent.wrapping_add(1 + rng.below(1000) as u32),
                    (Some(s), 2) => s.ts_recent.wrapping_sub(rng.below(1 << 20) as u32),
                    _ => rng.next_u64() as u32,
                };
                let tsecr = match rng.below(3) {
                    0 => now_ts,
                    1 => now_ts.wrapping_sub(rng.below(5000) as u32),
                    _ => rng.next_u64() as u32,
                };
                o.extend_from_slice(&[8, 10]);
                o.extend_from_slice(&tsval.to_be_bytes());
                o.extend_from_slice(&tsecr.to_be_bytes());
            }
            5 | 6 => {
                let n = 1 + rng.below(4);
                o.extend_from_slice(&[5, 2 + 8 * n as u8]);
                for _ in 0..n {
                    let (una, max) = s.map_or((0, 0), |s| (s.snd_una, s.snd_max));
                    let span = max.wrapping_sub(una).max(1);
                    let l = match rng.below(4) {
                        0 => rng.next_u64() as u32,
                        _ => una.wrapping_add(rng.below(span as usize + 3000) as u32),
                    };
                    let r = match rng.below(5) {
                        0 => l,
                        1 => l.wrapping_sub(1 + rng.below(100) as u32),
                        _ => l.wrapping_add(1 + rng.below(4000) as u32),
                    };
                    o.extend_from_slice(&l.to_be_bytes());
                    o.extend_from_slice(&r.to_be_bytes());
                }
            }
            7 => o.push(1),
            8 => o.push(0),
            9 => {
                // Unknown kind, plausible length.
                let len = 2 + rng.below(6);
                o.push(20 + rng.below(200) as u8);
                o.push(len as u8);
                o.extend((2..len).map(|_| rng.next_u8()));
            }
            10 => {
                // A known kind with a bad length.
                o.push([2, 3, 4, 5, 8][rng.below(5)]);
                o.push([0, 1, 2, 3, 39, 40, 255][rng.below(7)]);
            }
            _ => o.extend((0..1 + rng.below(8)).map(|_| rng.next_u8())),
        }
    }
    o.truncate(40);
    while o.len() % 4 != 0 {
        o.push(if rng.below(2) == 0 { 1 } else { 0 });
    }
    o
}

/// What one segment was, for the taint rule.
struct Made {
    frame: Vec<u8>,
    /// Reaches A's TCP with a checksum A accepts but bytes that are not the stream's.
    garbage: bool,
}

/// A segment for the connection of `s` (or, without one, for the listener or a random
/// port), whose payload comes from stream `salt` at its sequence number.
fn segment(rng: &mut XorShift64, w: &Wire, s: Option<&Snap>, salt: u64, now_ts: u32) -> Made {
    let (mut src, mut dst, mut sport, mut dport) = match s {
        Some(s) => (s.faddr, s.laddr, s.fport, s.lport),
        None => match rng.below(3) {
            0 => (B_ADDR, A_ADDR, 30000 + rng.below(100) as u16, LPORT),
            1 => (GHOST, A_ADDR, rng.next_u64() as u16, LPORT),
            _ => (B_ADDR, A_ADDR, rng.next_u64() as u16, rng.next_u64() as u16),
        },
    };
    // Now and then the wrong port or address: another connection's, the land attack
    // (from ourselves), a broadcast.
    match rng.below(40) {
        0 => sport = sport.wrapping_add(1),
        1 => dport = LPORT,
        2 => src = A_ADDR,
        3 => dst = Ipv4Addr::new(10, 0, 0, 255),
        4 => {
            src = A_ADDR;
            sport = dport;
        }
        _ => {}
    }
    let (rcv_nxt, wnd, irs, iss, una, max) = s.map_or(
        {
            let r = rng.next_u64() as u32;
            (r, 65535, r.wrapping_sub(1), r, r, r)
        },
        |s| (s.rcv_nxt, s.rcv_wnd, s.irs, s.iss, s.snd_una, s.snd_max),
    );
    let seq = match rng.below(12) {
        0..=3 => rcv_nxt,
        4 => rcv_nxt.wrapping_add(rng.below(5) as u32).wrapping_sub(2),
        5 | 6 => rcv_nxt.wrapping_add(rng.below(wnd as usize + 3000) as u32),
        7 => rcv_nxt.wrapping_sub(rng.below(70_000) as u32),
        8 => irs.wrapping_add(rng.below(2) as u32),
        9 => rcv_nxt.wrapping_add(0x7fff_ffff + rng.below(3) as u32),
        _ => rng.next_u64() as u32,
    };
    let flight = max.wrapping_sub(una) as usize;
    let ack = match rng.below(12) {
        0..=2 => una,
        3 | 4 => max,
        5 | 6 => una.wrapping_add(rng.below(flight + 1) as u32),
        7 => max.wrapping_add(1 + rng.below(3000) as u32),
        8 => una.wrapping_sub(1 + rng.below(3000) as u32),
        9 => iss.wrapping_add(rng.below(2) as u32),
        _ => rng.next_u64() as u32,
    };
    // FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80.
    let flags: u8 = match rng.below(32) {
        0..=11 => 0x10,
        12..=14 => 0x18,
        15..=17 => 0x11,
        18 => 0x01,
        19 | 20 => 0x02,
        21 | 22 => 0x12,
        23 | 24 => 0x04,
        25 | 26 => 0x14,
        27 => 0x00,
        28 => [0x03, 0x06, 0x07, 0x13, 0x16, 0x17][rng.below(6)],
        _ => rng.next_u8(),
    };
    let opts = options(rng, s, now_ts);
    let plen = match rng.below(10) {
        0..=4 => 0,
        5 | 6 => 1 + rng.below(64),
        7 | 8 => 1 + rng.below(1460),
        _ => 1 + rng.below(3000),
    };
    let hlen = 20 + opts.len();
    let mut t = vec![0u8; hlen + plen];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = ((hlen / 4) as u8) << 4;
    t[13] = flags;
    let win: u16 = match rng.below(6) {
        0 => 0,
        1 => 1,
        2 => 65535,
        _ => rng.next_u64() as u16,
    };
    t[14..16].copy_from_slice(&win.to_be_bytes());
    if flags & 0x20 != 0 || rng.below(20) == 0 {
        t[18..20].copy_from_slice(&(rng.next_u64() as u16).to_be_bytes());
    }
    t[20..hlen].copy_from_slice(&opts);
    // The payload: stream bytes at this sequence number (a SYN's data starts one later).
    let first = seq.wrapping_add(u32::from(flags & 0x02 != 0));
    let off = first.wrapping_sub(irs.wrapping_add(1));
    for (i, b) in t[hlen..].iter_mut().enumerate() {
        *b = pattern_byte(u64::from(off.wrapping_add(i as u32)), salt);
    }
    let mut garbage = false;
    let mut badsum = rng.below(12) == 0;
    // Damage inside TCP's checksum: most of it with a bad checksum too, so that few
    // streams become uncheckable.
    let damage = rng.below(200);
    if damage < 2 && rng.below(4) != 0 {
        badsum = true;
    }
    match damage {
        0 => {
            // A bad data offset: options read as payload or past the end.
            t[12] = (rng.below(16) as u8) << 4 | (t[12] & 0x0f);
            garbage = true;
        }
        1 if plen > 0 => {
            let at = hlen + rng.below(plen);
            t[at] ^= 1 << rng.below(8);
            garbage = true;
        }
        2 => t[12] |= 0x0f, // the reserved bits
        3 => t.truncate(rng.below(20)),
        _ => {}
    }
    let ck = rump::wire::tcp::checksum_slices(src, dst, [&t[..]]);
    if t.len() >= 18 {
        t[16..18].copy_from_slice(&ck.to_be_bytes());
        if badsum {
            t[16] ^= 0x5a;
        }
    } else {
        badsum = true;
    }
    let df = rng.below(2) == 0;
    let mut f = frame(w.mac, src, dst, &t, df);
    match rng.below(80) {
        // IP-level damage: a short total length, a long one, a fragment, garbage.
        0 => {
            let tl = (20 + rng.below(t.len() + 1)) as u16;
            f[16..18].copy_from_slice(&tl.to_be_bytes());
            fix_ip(&mut f);
        }
        1 => {
            let long = f.len() as u16 + 40;
            f[16..18].copy_from_slice(&long.to_be_bytes());
            fix_ip(&mut f);
        }
        2 => {
            f[20] = 0x20; // more fragments
            fix_ip(&mut f);
        }
        3 => {
            for b in &mut f[14..] {
                *b = rng.next_u8();
            }
        }
        4 => f.truncate(14 + rng.below(f.len() - 13)),
        _ => {}
    }
    Made {
        frame: f,
        garbage: garbage && !badsum,
    }
}

fn fix_ip(f: &mut [u8]) {
    f[24] = 0;
    f[25] = 0;
    let ck = ip_checksum(&f[14..34]);
    f[24..26].copy_from_slice(&ck.to_be_bytes());
}

/// Run the network, counting a batch that does not settle (an ACK war) rather than
/// failing on it.
fn settle(net: &Net, storms: &mut usize) {
    if !net.run_bounded(5_000) {
        *storms += 1;
    }
}

/// Let `d` pass in steps of at most `step`.
fn pass(net: &Net, d: Duration, step: Duration, storms: &mut usize) {
    let mut t = Duration::ZERO;
    while t < d {
        let s = step.min(d - t);
        net.hv.advance(s);
        settle(net, storms);
        t += s;
    }
}

/// Read what is there on `fd` and check it continues stream `salt` at `*got`.
fn drain(k: &Kernel, fd: i32, salt: u64, got: &mut u64, check: bool, what: &str) {
    let mut buf = [0u8; 8192];
    loop {
        match k.read(fd, &mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if check {
                    if let Some(i) = (0..n).find(|&i| buf[i] != pattern_byte(*got + i as u64, salt))
                    {
                        let at = *got + i as u64;
                        // Where in the stream the bytes that arrived belong, if anywhere
                        // near: tells a misplaced segment from garbage.
                        let run = &buf[i..n.min(i + 16)];
                        let from = at.saturating_sub(100_000);
                        let src = (from..at + 100_000).find(|&o| {
                            run.iter()
                                .enumerate()
                                .all(|(j, &b)| b == pattern_byte(o + j as u64, salt))
                        });
                        panic!(
                            "{what}: stream corrupted at byte {at} (read {n} bytes from \
                             {got}): {run:?} is stream offset {src:?}",
                            got = *got
                        );
                    }
                }
                *got += n as u64;
            }
            Err(_) => return,
        }
    }
}

/// Write up to `max` more bytes of stream `salt` on `fd`.
fn feed(k: &Kernel, fd: i32, salt: u64, sent: &mut u64, max: usize) {
    let data = pattern_at(*sent, max, salt);
    if let Ok(n) = k.write(fd, &data) {
        *sent += n as u64;
    }
}

/// Write on `c` until B's window is shut (B does not read), running the network.
fn fill(net: &Net, c: &mut Conn) {
    let a = &net.ks[0];
    for _ in 0..40 {
        feed(a, c.fd.unwrap(), c.a_salt, &mut c.a_sent, 16 * 1024);
        net.run();
    }
}

/// Sanity of every control block on A, and of the table against them.
fn check_kernel(g: &KernelState, why: &str) {
    let table = &g.inet().unwrap().tcp.tcbtable;
    let mut live = 0;
    let mut timers = 0;
    for id in g.sockets.ids() {
        let s = g.sockets.get(id).unwrap();
        let Some(tp) = s.so_pcb.as_ref().and_then(|p| p.downcast_ref::<Tcpcb>()) else {
            continue;
        };
        let st = tp.t_state;
        let ctx = || {
            let mut m = String::new();
            let _ = write!(
                m,
                "{why}: {} una {} nxt {} max {} iss {} rcv_nxt {} irs {} snd.cc {} rcv.cc {} \
                 timers {:?}",
                st.name(),
                tp.snd_una,
                tp.snd_nxt,
                tp.snd_max,
                tp.iss,
                tp.rcv_nxt,
                tp.irs,
                s.so_snd.sb_cc,
                s.so_rcv.sb_cc,
                tp.t_timer
            );
            m
        };
        for id in tp.t_timer.iter().flatten() {
            assert!(g.callouts.is_pending(*id), "a timer not pending: {}", ctx());
            timers += 1;
        }
        if st == TcpState::Closed {
            if tp.inp.lport != 0 {
                assert_ne!(
                    table.lookup(tp.inp.laddr, tp.inp.lport, tp.inp.faddr, tp.inp.fport),
                    Some(id),
                    "a closed connection still in the table: {}",
                    ctx()
                );
            }
            continue;
        }
        live += 1;
        if st == TcpState::Listen {
            continue;
        }
        assert_eq!(
            table.lookup(tp.inp.laddr, tp.inp.lport, tp.inp.faddr, tp.inp.fport),
            Some(id),
            "a live connection not found in the table: {}",
            ctx()
        );
        assert!(
            seq_leq(tp.snd_una, tp.snd_nxt) && seq_leq(tp.snd_nxt, tp.snd_max),
            "snd_una <= snd_nxt <= snd_max broken: {}",
            ctx()
        );
        let flight = tp.snd_max.wrapping_sub(tp.snd_una) as usize;
        assert!(
            flight <= s.so_snd.sb_cc + 2,
            "more in flight than the buffer holds: {}",
            ctx()
        );
        if st.have_rcvd_syn() {
            assert!(seq_gt(tp.rcv_nxt, tp.irs), "rcv_nxt before irs: {}", ctx());
        }
        if st == TcpState::TimeWait {
            assert!(
                tp.t_timer[TcpTimer::TwoMsl as usize].is_some(),
                "TIME_WAIT without its 2MSL timer: {}",
                ctx()
            );
        }
        // Unacknowledged data (or SYN, or FIN) must be retransmitted or probed some day.
        if flight > 0 && st != TcpState::TimeWait {
            assert!(
                tp.t_timer[TcpTimer::Rexmt as usize].is_some()
                    || tp.t_timer[TcpTimer::Persist as usize].is_some(),
                "data in flight with no retransmission or persist timer: {}",
                ctx()
            );
        }
    }
    assert_eq!(
        table.len(),
        live,
        "{why}: table entries vs live control blocks"
    );
    assert!(
        g.callouts.len() <= timers + 64,
        "{why}: {} callouts for {timers} timers",
        g.callouts.len()
    );
}

/// A frame in a line, for RUMP_FUZZ_TRACE.
fn summary(f: &[u8]) -> String {
    if f.len() < 54 {
        return format!("{} bytes", f.len());
    }
    let t = &f[34..];
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    format!(
        "seq {} ack {} flags {:#04x} hlen {} len {} win {}",
        be32(&t[4..8]),
        be32(&t[8..12]),
        t[13],
        (t[12] >> 4) * 4,
        t.len().saturating_sub(usize::from(t[12] >> 4) * 4),
        u16::from_be_bytes([t[14], t[15]])
    )
}

/// One control block, for RUMP_FUZZ_TRACE.
fn describe_one(k: &Kernel, so: SocketId) -> String {
    describe_where(k, |id| id == so)
}

/// Every control block of a kernel, for a failure message.
fn describe(k: &Kernel) -> String {
    describe_where(k, |_| true)
}

fn describe_where(k: &Kernel, pick: impl Fn(SocketId) -> bool) -> String {
    let g = k.lock();
    let mut m = String::new();
    for id in g.sockets.ids().into_iter().filter(|&id| pick(id)) {
        let s = g.sockets.get(id).unwrap();
        let Some(tp) = s.so_pcb.as_ref().and_then(|p| p.downcast_ref::<Tcpcb>()) else {
            continue;
        };
        let timers: Vec<_> = tp
            .t_timer
            .iter()
            .map(|t| t.and_then(|id| g.callouts.deadline(id)))
            .collect();
        let _ = writeln!(
            m,
            "  {} {}:{} -> {}:{} una {} nxt {} max {} snd_wnd {} rcv_nxt {} rcv_adv {} \
             snd.cc {} rcv.cc {} so_state {:#x} rxtshift {} persist_shift {} \
             irs {} timers (rexmt, persist, keep, 2msl, delack) {:?} now {}",
            tp.t_state.name(),
            tp.inp.laddr,
            tp.inp.lport,
            tp.inp.faddr,
            tp.inp.fport,
            tp.snd_una,
            tp.snd_nxt,
            tp.snd_max,
            tp.snd_wnd,
            tp.rcv_nxt,
            tp.rcv_adv,
            s.so_snd.sb_cc,
            s.so_rcv.sb_cc,
            s.so_state,
            tp.t_rtt.rxtshift(),
            tp.t_persist_shift,
            tp.irs,
            timers,
            g.ticks()
        );
    }
    m
}

/// Results of the runs, for the report line.
#[derive(Default)]
struct Totals {
    segments: usize,
    scenarios: usize,
    storms: usize,
    tainted: usize,
    checked_bytes: u64,
}

/// Build the connections of one scenario on a fresh pair of kernels.
fn build(net: &Net, rng: &mut XorShift64, w: &Wire) -> (Vec<Conn>, i32, i32) {
    let (a, b) = (&net.ks[0], &net.ks[1]);
    // A listens; so does B.
    let la = tcp_socket(a);
    a.bind(la, &sin([0, 0, 0, 0], LPORT)).unwrap();
    a.listen(la, 64).unwrap();
    let lb = tcp_socket(b);
    b.bind(lb, &sin([0, 0, 0, 0], PPORT)).unwrap();
    b.listen(lb, 64).unwrap();
    let mut conns = Vec::new();
    let mut salt = rng.next_u64() % 1_000_000;
    let mut new_conn = |built, how, fd: Option<i32>, so, peer_fd, peer_reads| {
        salt += 2;
        Conn {
            built,
            how,
            fd,
            so,
            peer_fd,
            peer_reads,
            a_salt: salt,
            a_sent: 0,
            b_got: 0,
            b_salt: salt + 1,
            b_sent: 0,
            a_got: 0,
            tainted: false,
        }
    };
    // A connects to B (accepted there): the usual active open.
    let active = |net: &Net| -> (i32, i32) {
        let c = tcp_socket(a);
        assert_eq!(
            a.connect(c, &sin([10, 0, 0, 2], PPORT)),
            Err(Errno::EINPROGRESS)
        );
        net.run();
        let (s, _) = b.accept(lb, None).unwrap();
        (c, s)
    };

    // SYN_SENT: to an address nobody answers.
    let c = tcp_socket(a);
    assert_eq!(
        a.connect(c, &sin(GHOST.octets(), 6000)),
        Err(Errno::EINPROGRESS)
    );
    let so = sock_of(a, c).unwrap();
    conns.push(new_conn(
        TcpState::SynSent,
        "connect to a silent address",
        Some(c),
        so,
        None,
        false,
    ));
    // SYN_RECEIVED: a SYN from the silent address to A's listener.
    let mut syn = vec![0u8; 20];
    let gport = 7000 + rng.below(1000) as u16;
    syn[0..2].copy_from_slice(&gport.to_be_bytes());
    syn[2..4].copy_from_slice(&LPORT.to_be_bytes());
    syn[4..8].copy_from_slice(&(rng.next_u64() as u32).to_be_bytes());
    syn[12] = 5 << 4;
    syn[13] = 0x02;
    syn[14..16].copy_from_slice(&65535u16.to_be_bytes());
    let ck = rump::wire::tcp::checksum_slices(GHOST, A_ADDR, [&syn[..]]);
    syn[16..18].copy_from_slice(&ck.to_be_bytes());
    w.inject(&frame(w.mac, GHOST, A_ADDR, &syn, true));
    net.run();
    let so = a
        .lock()
        .inet()
        .unwrap()
        .tcp
        .tcbtable
        .lookup(A_ADDR, LPORT, GHOST, gport)
        .unwrap();
    conns.push(new_conn(
        TcpState::SynReceived,
        "a SYN from a silent address",
        None,
        so,
        None,
        false,
    ));
    // ESTABLISHED, active.
    let (c, s) = active(net);
    let so = sock_of(a, c).unwrap();
    conns.push(new_conn(
        TcpState::Established,
        "active open",
        Some(c),
        so,
        Some(s),
        true,
    ));
    // ESTABLISHED, passive.
    let cb = tcp_socket(b);
    assert_eq!(
        b.connect(cb, &sin([10, 0, 0, 1], LPORT)),
        Err(Errno::EINPROGRESS)
    );
    net.run();
    let (s, _) = a.accept(la, None).unwrap();
    let so = sock_of(a, s).unwrap();
    conns.push(new_conn(
        TcpState::Established,
        "passive open",
        Some(s),
        so,
        Some(cb),
        true,
    ));
    // FIN_WAIT_1: our FIN queued behind data B does not read.
    let (c, s) = active(net);
    let so = sock_of(a, c).unwrap();
    let mut x = new_conn(
        TcpState::FinWait1,
        "shutdown behind a shut window",
        Some(c),
        so,
        Some(s),
        false,
    );
    fill(net, &mut x);
    a.shutdown(c, rump::abi::netbsd::RUMP_SHUT_WR).unwrap();
    net.run();
    conns.push(x);
    // FIN_WAIT_2: our FIN acknowledged, B keeps its side open.
    let (c, s) = active(net);
    a.shutdown(c, rump::abi::netbsd::RUMP_SHUT_WR).unwrap();
    net.run();
    let so = sock_of(a, c).unwrap();
    conns.push(new_conn(
        TcpState::FinWait2,
        "shutdown, acknowledged",
        Some(c),
        so,
        Some(s),
        true,
    ));
    // CLOSE_WAIT: B's FIN arrived.
    let (c, s) = active(net);
    b.shutdown(s, rump::abi::netbsd::RUMP_SHUT_WR).unwrap();
    net.run();
    let so = sock_of(a, c).unwrap();
    conns.push(new_conn(
        TcpState::CloseWait,
        "the peer shut down",
        Some(c),
        so,
        Some(s),
        true,
    ));
    // CLOSING: both FINs sent, ours not acknowledged (queued behind a shut window).
    let (c, s) = active(net);
    let so = sock_of(a, c).unwrap();
    let mut x = new_conn(
        TcpState::Closing,
        "both shut down, ours behind a shut window",
        Some(c),
        so,
        Some(s),
        false,
    );
    fill(net, &mut x);
    a.shutdown(c, rump::abi::netbsd::RUMP_SHUT_WR).unwrap();
    net.run();
    b.shutdown(s, rump::abi::netbsd::RUMP_SHUT_WR).unwrap();
    net.run();
    conns.push(x);
    // LAST_ACK: B's FIN in, ours queued behind a shut window.
    let (c, s) = active(net);
    let so = sock_of(a, c).unwrap();
    let mut x = new_conn(
        TcpState::LastAck,
        "the peer shut down, then we, behind a shut window",
        Some(c),
        so,
        Some(s),
        false,
    );
    b.shutdown(s, rump::abi::netbsd::RUMP_SHUT_WR).unwrap();
    net.run();
    fill(net, &mut x);
    a.shutdown(c, rump::abi::netbsd::RUMP_SHUT_WR).unwrap();
    net.run();
    conns.push(x);
    // TIME_WAIT: we closed first, then B.
    let (c, s) = active(net);
    a.shutdown(c, rump::abi::netbsd::RUMP_SHUT_WR).unwrap();
    net.run();
    b.shutdown(s, rump::abi::netbsd::RUMP_SHUT_WR).unwrap();
    net.run();
    let so = sock_of(a, c).unwrap();
    conns.push(new_conn(
        TcpState::TimeWait,
        "we shut down first, then the peer",
        Some(c),
        so,
        Some(s),
        true,
    ));
    // The harness built what it says.
    for c in &conns {
        let st = with_tcb(a, c.so, |tp| tp.t_state);
        assert_eq!(st, Some(c.built), "building {}", c.how);
    }
    (conns, la, lb)
}

/// One scenario: build, fuzz `batches` batches, close down and check. Returns the
/// segments sent.
fn scenario(seed: u64, batches: usize, per_batch: usize, tot: &mut Totals) -> usize {
    let net = pair(seed);
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let w = wire_of(a);
    let mut rng = XorShift64::new(seed);
    let (mut conns, la, lb) = build(&net, &mut rng, &w);
    check_kernel(&a.lock(), "after building");
    let mut sent = 0;
    let trace = std::env::var_os("RUMP_FUZZ_TRACE").is_some();
    for batch in 0..batches {
        let why = format!("seed {seed:#x} batch {batch}");
        let now_ts = (a.lock().ticks() as u32).wrapping_add(1);
        let n = 1 + rng.below(per_batch);
        for _ in 0..n {
            let pick = rng.below(conns.len() + 3);
            let target = conns.get(pick);
            let s = target.and_then(|c| with_tcb(a, c.so, snap));
            let salt = target.map_or(0, |c| c.b_salt);
            let m = segment(&mut rng, &w, s.as_ref(), salt, now_ts);
            if m.garbage {
                if let Some(c) = conns.get_mut(pick) {
                    c.tainted = true;
                }
            }
            if trace && pick < conns.len() {
                eprintln!(
                    "{why}: to {} ({}): {} before: {}",
                    conns[pick].built.name(),
                    conns[pick].how,
                    summary(&m.frame),
                    describe_one(a, conns[pick].so)
                );
            }
            // Processed at once, under the state its numbers were read from (a SYN-ACK
            // earlier in the batch may have set the sequence base). What A answers
            // waits in B's queue until the batch is over.
            w.inject(&m.frame);
            a.netisr_run();
            sent += 1;
        }
        settle(&net, &mut tot.storms);
        check_kernel(&a.lock(), &why);
        // The streams move on; each side reads (B only where it is meant to).
        for c in conns.iter_mut() {
            if let Some(fd) = c.fd {
                feed(a, fd, c.a_salt, &mut c.a_sent, rng.below(3000));
            }
            if let Some(pfd) = c.peer_fd {
                feed(b, pfd, c.b_salt, &mut c.b_sent, rng.below(3000));
            }
        }
        settle(&net, &mut tot.storms);
        for c in conns.iter_mut() {
            if let Some(fd) = c.fd {
                let what = format!("{why}: {} ({}), B to A", c.built.name(), c.how);
                drain(a, fd, c.b_salt, &mut c.a_got, !c.tainted, &what);
            }
            if let (Some(pfd), true) = (c.peer_fd, c.peer_reads) {
                let what = format!("{why}: {} ({}), A to B", c.built.name(), c.how);
                drain(b, pfd, c.a_salt, &mut c.b_got, true, &what);
            }
        }
        // Now and then a side closes its descriptor, so closed sockets (lingering in
        // FIN_WAIT, LAST_ACK, TIME_WAIT until their connection ends) are fuzzed too.
        if rng.below(100) == 0 {
            let i = rng.below(conns.len());
            if let Some(fd) = conns[i].fd.take() {
                a.close(fd).unwrap();
            }
        }
        if rng.below(100) == 0 {
            let i = rng.below(conns.len());
            if let Some(pfd) = conns[i].peer_fd.take() {
                b.close(pfd).unwrap();
            }
        }
        // Time passes now and then, so every timer fires in every state.
        let ms = match rng.below(20) {
            0..=9 => 0,
            10..=13 => 1 + rng.below(20),
            14..=16 => 100 + rng.below(400),
            17 | 18 => 1000 + rng.below(4000),
            _ => 20_000 + rng.below(60_000),
        };
        if ms > 0 {
            let step = Duration::from_millis((ms as u64 / 10).clamp(1, 500));
            pass(
                &net,
                Duration::from_millis(ms as u64),
                step,
                &mut tot.storms,
            );
            check_kernel(&a.lock(), &format!("{why}, after {ms} ms"));
        }
    }
    // Close down: everything read (and checked), then closed on both sides.
    for c in conns.iter_mut() {
        if let Some(pfd) = c.peer_fd {
            let what = format!("seed {seed:#x} at the end: {}, A to B", c.how);
            drain(b, pfd, c.a_salt, &mut c.b_got, true, &what);
            tot.checked_bytes += c.b_got;
            b.close(pfd).unwrap();
        }
        if let Some(fd) = c.fd {
            let what = format!("seed {seed:#x} at the end: {}, B to A", c.how);
            drain(a, fd, c.b_salt, &mut c.a_got, !c.tainted, &what);
            if !c.tainted {
                tot.checked_bytes += c.a_got;
            }
            a.close(fd).unwrap();
        }
        tot.tainted += usize::from(c.tainted);
    }
    a.close(la).unwrap();
    b.close(lb).unwrap();
    // 20 minutes closely, then up to 3 hours: a peer gone silent behind a zero window
    // is given up on only after tcp_maxpersistidle (2 hours) at worst.
    pass(
        &net,
        Duration::from_secs(20 * 60),
        Duration::from_secs(1),
        &mut tot.storms,
    );
    if !states(a).is_empty() {
        pass(
            &net,
            Duration::from_secs(160 * 60),
            Duration::from_secs(10),
            &mut tot.storms,
        );
    }
    // The last thing a dropped connection sends to the silent address (its RST) waits
    // for ARP, which gives up within seconds.
    pass(
        &net,
        Duration::from_secs(60),
        Duration::from_secs(1),
        &mut tot.storms,
    );
    for (k, name) in [(a, "victim"), (b, "peer")] {
        let h = holdings(k);
        if std::env::var_os("RUMP_FUZZ_TRACE").is_some() {
            let g = k.lock();
            let i = g.inet().unwrap();
            eprintln!(
                "{name}: reass {} arp {:?} next callout {:?} now {} pool {:?}",
                i.reass.len(),
                i.arp
                    .entries
                    .iter()
                    .map(|(a, e)| (a, e.hold.len()))
                    .collect::<Vec<_>>(),
                g.callouts.next_deadline(),
                g.ticks(),
                g.pool.stats()
            );
        }
        assert_eq!(
            h,
            Holdings {
                fds_open: 0,
                files: 0,
                sockets: 0,
                tcbs: 0,
                callouts: 0,
                mbufs_outstanding: 0
            },
            "seed {seed:#x}: the {name} kept something after closing everything; \
             connections left:\n{}the peer's:\n{}",
            describe(k),
            describe(if name == "victim" { b } else { a })
        );
    }
    tot.scenarios += 1;
    sent
}

#[test]
fn fuzz_smoke_tcp_input_in_every_state() {
    let budget = std::env::var("RUMP_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SMOKE_SEGMENTS);
    let seed0 = std::env::var("RUMP_FUZZ_SEED")
        .ok()
        .map(|v| match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => v.parse(),
        })
        .map(|r| r.expect("RUMP_FUZZ_SEED: a number, decimal or 0x hex"))
        .unwrap_or(0x7c9_f022u64);
    let t0 = Instant::now();
    let mut tot = Totals::default();
    let mut seed = seed0;
    while tot.segments < budget {
        tot.segments += scenario(seed, BATCHES, 24, &mut tot);
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    }
    assert_eq!(tot.storms, 0, "batches that never settled: ACK wars");
    eprintln!(
        "tcp fuzz: {} segments in {} scenarios from seed {seed0:#x} in {:?}; {} batches \
         did not settle (ACK wars); {} streams tainted; {} stream bytes checked",
        tot.segments,
        tot.scenarios,
        t0.elapsed(),
        tot.storms,
        tot.tainted,
        tot.checked_bytes
    );
}

/// A bare TCP segment from `src` to A (no options but `opts`), checksummed.
#[allow(clippy::too_many_arguments)]
fn bare(
    w: &Wire,
    src: Ipv4Addr,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    win: u16,
    opts: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let hlen = 20 + opts.len();
    let mut t = vec![0u8; hlen];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = ((hlen / 4) as u8) << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&win.to_be_bytes());
    t[20..].copy_from_slice(opts);
    t.extend_from_slice(payload);
    let ck = rump::wire::tcp::checksum_slices(src, A_ADDR, [&t[..]]);
    t[16..18].copy_from_slice(&ck.to_be_bytes());
    frame(w.mac, src, A_ADDR, &t, true)
}

/// Found by the fuzzer: once A has taken data B never sent, carrying a timestamp ahead
/// of B's clock, A drops B's segments by PAWS and ACKs them, and B answers each ACK of
/// data it never sent with an ACK of its own: without a limit the two never stop.
#[test]
fn an_ack_war_between_two_ends_that_disagree_dies_down() {
    let net = pair(5);
    let (a, b) = (&net.ks[0], &net.ks[1]);
    let w = wire_of(a);
    let lb = tcp_socket(b);
    b.bind(lb, &sin([0, 0, 0, 0], PPORT)).unwrap();
    b.listen(lb, 4).unwrap();
    let c = tcp_socket(a);
    assert_eq!(
        a.connect(c, &sin([10, 0, 0, 2], PPORT)),
        Err(Errno::EINPROGRESS)
    );
    net.run();
    let (_s, _) = b.accept(lb, None).unwrap();
    let so = sock_of(a, c).unwrap();
    let (sn, ts_on) = with_tcb(a, so, |tp| (snap(tp), tp.ts_on())).unwrap();
    assert!(ts_on, "timestamps agreed");
    let mut ts = vec![1, 1, 8, 10];
    ts.extend_from_slice(&sn.ts_recent.wrapping_add(1 << 30).to_be_bytes());
    ts.extend_from_slice(&1u32.to_be_bytes());
    w.inject(&bare(
        &w, B_ADDR, sn.fport, sn.lport, sn.rcv_nxt, sn.snd_una, 0x18, 65535, &ts, &[7; 100],
    ));
    for _ in 0..1000 {
        net.hv.advance(Duration::from_millis(1));
        assert!(
            net.run_bounded(10_000),
            "the two ends ACK each other forever"
        );
    }
    let (sa, sb) = (stat(a), stat(b));
    assert!(sb.tcps_rcvacktoomuch > 0, "{sb:?}");
    assert!(sa.tcps_pawsdrop > 0, "{sa:?}");
    assert!(
        sa.tcps_dropack_limited + sb.tcps_dropack_limited > 0,
        "{sa:?} {sb:?}"
    );
}

/// Found by the fuzzer: a peer that offered a zero window and went away held a closed
/// connection (socket, send buffer, persist timer) forever.
#[test]
fn a_zero_window_from_a_vanished_peer_does_not_hold_a_connection_forever() {
    let net = pair(6);
    let a = &net.ks[0];
    let w = wire_of(a);
    let c = tcp_socket(a);
    assert_eq!(
        a.connect(c, &sin(GHOST.octets(), 6000)),
        Err(Errno::EINPROGRESS)
    );
    let so = sock_of(a, c).unwrap();
    let sn = with_tcb(a, so, snap).unwrap();
    // The SYN-ACK, with a shut window; then the peer is never heard from again.
    w.inject(&bare(
        &w,
        GHOST,
        sn.fport,
        sn.lport,
        77,
        sn.iss.wrapping_add(1),
        0x12,
        0,
        &[],
        &[],
    ));
    net.run();
    assert_eq!(fd_state(a, c), Some(TcpState::Established));
    assert_eq!(a.write(c, &[1; 1000]), Ok(1000));
    a.close(c).unwrap();
    net.advance_by(Duration::from_secs(3 * 3600), Duration::from_secs(10));
    assert!(states(a).is_empty(), "{}", describe(a));
    assert_eq!(stat(a).tcps_persistdrops, 1);
    let h = holdings(a);
    assert_eq!((h.sockets, h.tcbs, h.mbufs_outstanding), (0, 0, 0), "{h:?}");
}

/// Found by the fuzzer: a bare ACK sent while data waited behind a window the same
/// segment shut left no timer at all, so nothing would ever probe the window (a lost
/// window update stalled the connection for good). The peer here is the test itself,
/// speaking from an address nobody answers ARP for.
#[test]
fn a_window_shut_by_a_segment_we_must_ack_now_is_still_probed() {
    let net = pair(7);
    let a = &net.ks[0];
    let w = wire_of(a);
    let c = tcp_socket(a);
    assert_eq!(
        a.connect(c, &sin(GHOST.octets(), 6000)),
        Err(Errno::EINPROGRESS)
    );
    let so = sock_of(a, c).unwrap();
    let sn = with_tcb(a, so, snap).unwrap();
    let irs = 1000u32;
    let syn_ack = bare(
        &w,
        GHOST,
        sn.fport,
        sn.lport,
        irs,
        sn.iss.wrapping_add(1),
        0x12,
        65535,
        &[],
        &[],
    );
    w.inject(&syn_ack);
    a.netisr_run();
    assert_eq!(fd_state(a, c), Some(TcpState::Established));
    // More than the window and the send buffer take: data waits unsent.
    assert!(a.write(c, &[5; 100_000]).is_ok());
    a.netisr_run();
    // Data from the peer: the first segment's ACK is delayed...
    let sn = with_tcb(a, so, snap).unwrap();
    let d1 = bare(
        &w,
        GHOST,
        sn.fport,
        sn.lport,
        irs + 1,
        sn.snd_una,
        0x10,
        65535,
        &[],
        &[1; 10],
    );
    w.inject(&d1);
    a.netisr_run();
    // ...the second acknowledges all we sent, shuts the window and must be ACKed now.
    let sn = with_tcb(a, so, snap).unwrap();
    let d2 = bare(
        &w,
        GHOST,
        sn.fport,
        sn.lport,
        irs + 11,
        sn.snd_max,
        0x10,
        0,
        &[],
        &[2; 10],
    );
    w.inject(&d2);
    a.netisr_run();
    let (flight, persist, rexmt) = with_tcb(a, so, |tp| {
        (
            tp.snd_max.wrapping_sub(tp.snd_una),
            tp.t_timer[TcpTimer::Persist as usize].is_some(),
            tp.t_timer[TcpTimer::Rexmt as usize].is_some(),
        )
    })
    .unwrap();
    assert_eq!(flight, 0, "all we sent is acknowledged");
    assert!(
        persist || rexmt,
        "data waits behind a shut window, no timer"
    );
    let before = stat(a).tcps_persisttimeo;
    net.advance_by(Duration::from_secs(10), Duration::from_millis(100));
    assert!(stat(a).tcps_persisttimeo > before, "the window is probed");
}
