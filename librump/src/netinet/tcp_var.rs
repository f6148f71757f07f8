//! The TCP control block, statistics and connection table (NetBSD: netinet/tcp_var.h,
//! tcp_subr.c).
//!
//! A connection's [`Tcpcb`] hangs off its socket (`so_pcb`). Code that needs both the
//! kernel and the control block takes the block out of the socket ([`take_tp`]), works
//! on `(&mut KernelState, &mut Tcpcb)`, and puts it back ([`put_tp`]); a socket freed
//! meanwhile simply drops it. The [`TcbTable`] maps addresses to sockets for input:
//! an exact 4-tuple first, then a listener on the local address or the wildcard.

use std::net::Ipv4Addr;

use super::in_pcb::{Inpcb, InpcbTable, ANONPORTMAX, ANONPORTMIN};
use super::tcp_congctl::{congctl_default, CongCtl};
use super::tcp_fsm::TcpState;
use super::tcp_isn::SipKey;
use super::tcp_reass::TcpReass;
use super::tcp_rtt::TcpRtt;
use crate::kern::callout::CalloutId;
use crate::kern::errno::{Errno, KResult};
use crate::kern::kernel::KernelState;
use crate::kern::uipc_socket::SocketId;

/// Default send buffer (net.inet.tcp.sendspace).
pub const TCP_SENDSPACE: usize = 32 * 1024;
/// Default receive buffer (net.inet.tcp.recvspace).
pub const TCP_RECVSPACE: usize = 32 * 1024;
/// Smallest MSS path MTU discovery lowers a connection to (NetBSD's tcp_minmss).
pub const TCP_MINMSS: u32 = 216;
/// Default MSS when the peer sends none (RFC 9293 3.7.1, tcp_mssdflt).
pub const TCP_MSS_DEFAULT: u32 = 536;
/// Largest unscaled window.
pub const TCP_MAXWIN: u32 = 65535;
/// Largest window shift (RFC 7323).
pub const TCP_MAX_WINSHIFT: u8 = 14;
/// Embryonic connections a listener keeps at least (its SYN cache bound is the larger
/// of this and its backlog's 3/2 + 1); SYNs beyond it get SYN cookies.
pub const TCP_SYN_CACHE_MIN: usize = 16;
/// Challenge ACKs a kernel sends per second at most (RFC 5961 section 7; Linux's
/// tcp_challenge_ack_limit).
pub const TCP_CHALLENGE_ACK_LIMIT: u32 = 1000;
/// Maximum segment lifetime, ticks (TCPTV_MSL: 30 s).
pub const TCPTV_MSL: u64 = 30_000;
/// Connection establishment limit, ticks (TCPTV_KEEP_INIT: 75 s).
pub const TCPTV_KEEP_INIT: u64 = 75_000;
/// Delayed ACK, ticks (tcp_delack_ticks: hz / 10).
pub const TCPTV_DELACK: u64 = 100;
/// Shortest persist interval, ticks (TCPTV_PERSMIN: 5 s).
pub const TCPTV_PERSMIN: u64 = 5_000;
/// Longest persist interval, ticks (TCPTV_PERSMAX: 60 s).
pub const TCPTV_PERSMAX: u64 = 60_000;
/// Keepalive idle time, ticks (TCPTV_KEEP_IDLE: 2 h).
pub const TCPTV_KEEP_IDLE: u64 = 7_200_000;
/// Keepalive probe interval, ticks (TCPTV_KEEPINTVL: 75 s).
pub const TCPTV_KEEPINTVL: u64 = 75_000;
/// Keepalive probes before dropping (TCP_KEEPCNT default 8).
pub const TCP_KEEPCNT: u32 = 8;

/// Acknowledge immediately.
pub const TF_ACKNOW: u32 = 0x0001;
/// An ACK is being delayed.
pub const TF_DELACK: u32 = 0x0002;
/// TCP_NODELAY: no Nagle.
pub const TF_NODELAY: u32 = 0x0004;
/// We asked for window scaling.
pub const TF_REQ_SCALE: u32 = 0x0020;
/// The peer agreed to window scaling.
pub const TF_RCVD_SCALE: u32 = 0x0040;
/// We asked for timestamps.
pub const TF_REQ_TSTMP: u32 = 0x0080;
/// The peer agreed to timestamps.
pub const TF_RCVD_TSTMP: u32 = 0x0100;
/// Our FIN was sent.
pub const TF_SENTFIN: u32 = 0x0200;
/// The SYN was retransmitted (for RFC 6298 5.7).
pub const TF_SYN_REXMT: u32 = 0x0400;
/// The connection was opened passively (from a listener).
pub const TF_PASSIVE: u32 = 0x0800;
/// We offer SACK (RFC 2018 SACK-permitted on our SYN).
pub const TF_SACK_PERMIT: u32 = 0x1000;
/// Both sides permitted SACK: our ACKs carry SACK blocks.
pub const TF_WILL_SACK: u32 = 0x2000;

/// The connection timers (`t_timer[]`), each a callout of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpTimer {
    /// Retransmission (TCPT_REXMT).
    Rexmt = 0,
    /// Zero-window probes (TCPT_PERSIST).
    Persist = 1,
    /// Connection establishment, keepalive (TCPT_KEEP).
    Keep = 2,
    /// TIME_WAIT and the FIN_WAIT_2 limit (TCPT_2MSL).
    TwoMsl = 3,
    /// Delayed ACK (t_delack_ch).
    Delack = 4,
}

/// Number of timers.
pub const TCPT_NTIMERS: usize = 5;

/// TCP statistics (`struct tcpstat`, NetBSD names).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpStat {
    /// Connections initiated (connect).
    pub tcps_connattempt: u64,
    /// Connections accepted (passive).
    pub tcps_accepts: u64,
    /// Connections established.
    pub tcps_connects: u64,
    /// Connections dropped (reset, timeout, abort).
    pub tcps_drops: u64,
    /// Embryonic connections dropped.
    pub tcps_conndrops: u64,
    /// Connections closed.
    pub tcps_closed: u64,
    /// Segments whose RTT was measured.
    pub tcps_rttupdated: u64,
    /// Delayed ACKs sent.
    pub tcps_delack: u64,
    /// Connections dropped in retransmission timeout.
    pub tcps_timeoutdrop: u64,
    /// Retransmission timeouts.
    pub tcps_rexmttimeo: u64,
    /// Persist timeouts.
    pub tcps_persisttimeo: u64,
    /// Connections dropped in persist: the peer silent through the whole backoff.
    pub tcps_persistdrops: u64,
    /// Keepalive timeouts.
    pub tcps_keeptimeo: u64,
    /// Keepalive probes sent.
    pub tcps_keepprobe: u64,
    /// Connections dropped by keepalive or the establishment timer.
    pub tcps_keepdrops: u64,
    /// Segments sent.
    pub tcps_sndtotal: u64,
    /// Data segments sent.
    pub tcps_sndpack: u64,
    /// Data bytes sent.
    pub tcps_sndbyte: u64,
    /// Data segments retransmitted.
    pub tcps_sndrexmitpack: u64,
    /// Data bytes retransmitted.
    pub tcps_sndrexmitbyte: u64,
    /// ACK-only segments sent.
    pub tcps_sndacks: u64,
    /// Window probes sent.
    pub tcps_sndprobe: u64,
    /// Window updates sent.
    pub tcps_sndwinup: u64,
    /// Control segments (SYN, FIN, RST) sent.
    pub tcps_sndctrl: u64,
    /// Segments received.
    pub tcps_rcvtotal: u64,
    /// In-sequence data segments received.
    pub tcps_rcvpack: u64,
    /// In-sequence data bytes received.
    pub tcps_rcvbyte: u64,
    /// Bad checksum.
    pub tcps_rcvbadsum: u64,
    /// Bad data offset.
    pub tcps_rcvbadoff: u64,
    /// Shorter than a header.
    pub tcps_rcvshort: u64,
    /// Duplicate-only segments.
    pub tcps_rcvduppack: u64,
    /// Duplicate bytes.
    pub tcps_rcvdupbyte: u64,
    /// Partly duplicate segments.
    pub tcps_rcvpartduppack: u64,
    /// Out-of-order segments.
    pub tcps_rcvoopack: u64,
    /// Out-of-order bytes.
    pub tcps_rcvoobyte: u64,
    /// Segments (partly) beyond the window.
    pub tcps_rcvpackafterwin: u64,
    /// Bytes beyond the window.
    pub tcps_rcvbyteafterwin: u64,
    /// Window probes received.
    pub tcps_rcvwinprobe: u64,
    /// Duplicate ACKs received.
    pub tcps_rcvdupack: u64,
    /// ACKs for unsent data.
    pub tcps_rcvacktoomuch: u64,
    /// ACK segments received.
    pub tcps_rcvackpack: u64,
    /// Bytes acknowledged.
    pub tcps_rcvackbyte: u64,
    /// Window updates received.
    pub tcps_rcvwinupd: u64,
    /// Data received after the socket was closed.
    pub tcps_rcvafterclose: u64,
    /// Segments dropped by the reassembly limits.
    pub tcps_rcvmemdrop: u64,
    /// No socket on the port.
    pub tcps_noport: u64,
    /// SYNs dropped because the listen queue was full.
    pub tcps_listendrop: u64,
    /// RSTs ignored as out of window (RFC 5961).
    pub tcps_badrst: u64,
    /// Challenge ACKs sent (RFC 5961).
    pub tcps_challengeack: u64,
    /// Challenge ACKs not sent: rate limit (RFC 5961 section 7).
    pub tcps_challengeack_limited: u64,
    /// ACKs not sent for dropped segments without data: rate limit (ACK wars).
    pub tcps_dropack_limited: u64,
    /// SACK-based recovery retransmits (RFC 6675 NextSeg).
    pub tcps_sackrexmt: u64,
    /// Retransmissions found lost by SACK and sent again (before the timer).
    pub tcps_sack_lostrexmt: u64,
    /// Segments sent by limited transmit (RFC 3042).
    pub tcps_limitedxmit: u64,
    /// MSS reductions from ICMP need-frag (path MTU discovery; FreeBSD tcps_mturesent).
    pub tcps_mturesent: u64,
    /// Tail loss probes sent (RFC 8985).
    pub tcps_tlpprobe: u64,
    /// Fast retransmits (third duplicate ACK).
    pub tcps_fastrexmt: u64,
    /// NewReno partial-ACK retransmits.
    pub tcps_newrenorexmt: u64,
    /// Segments dropped by PAWS (RFC 7323).
    pub tcps_pawsdrop: u64,
    /// Segments dropped before a connection (bad flags and the like).
    pub tcps_badsyn: u64,
    /// Embryonic connections made for SYNs (the incomplete queue is our SYN cache).
    pub tcps_sc_added: u64,
    /// SYNs that found the incomplete queue full.
    pub tcps_sc_overflowed: u64,
    /// SYN-ACKs sent with a SYN cookie (FreeBSD's tcps_sc_sendcookie).
    pub tcps_sc_sendcookie: u64,
    /// Connections made from a valid SYN cookie (FreeBSD's tcps_sc_recvcookie).
    pub tcps_sc_recvcookie: u64,
    /// ACKs to a listener whose cookie did not check (answered with RST).
    pub tcps_sc_badcookie: u64,
}

/// The TCP state of one kernel (the globals of NetBSD's tcp_subr.c).
pub struct TcpGlobals {
    /// The connection table.
    pub tcbtable: TcbTable,
    /// Statistics.
    pub tcpstat: TcpStat,
    /// RFC 6528 secret.
    pub iss_secret: SipKey,
    /// The ids of the `net.inet.tcp` knobs (None until registered).
    pub sysctl: Option<super::tcp_sysctl::TcpSysctl>,
    /// Challenge ACKs sent in the current second, and the tick the second began.
    pub challenge_acks: (u32, u64),
}

impl Default for TcpGlobals {
    fn default() -> Self {
        TcpGlobals {
            tcbtable: TcbTable::default(),
            tcpstat: TcpStat::default(),
            iss_secret: SipKey::new(0, 0),
            sysctl: None,
            challenge_acks: (0, 0),
        }
    }
}

/// TCP's connection table: the inet PCB table (lookup, update, removal are shared with
/// UDP), with TCP's own binding rules on top.
#[derive(Default)]
pub struct TcbTable {
    t: InpcbTable,
}

impl TcbTable {
    /// Whether binding `laddr:lport` conflicts (in_pcbbind): with SO_REUSEADDR only an
    /// equal local address of a listening or unconnected socket does, else any overlap.
    fn conflicts(&self, laddr: Ipv4Addr, lport: u16, reuseaddr: bool, reuseport: bool) -> bool {
        self.t.on_port(lport).any(|(_, p)| {
            let overlap = p.laddr == laddr || p.laddr.is_unspecified() || laddr.is_unspecified();
            if reuseport && p.reuseport {
                return false;
            }
            if reuseaddr {
                // Connections left over (TIME_WAIT and the like) do not block.
                !p.connected() && p.laddr == laddr
            } else {
                overlap
            }
        })
    }

    /// Bind (in_pcbbind); port 0 picks an ephemeral one from `random`.
    ///
    /// # Errors
    /// `EADDRINUSE`, `EAGAIN` when no ephemeral port is free.
    pub fn bind(&mut self, so: SocketId, mut pcb: Inpcb, random: u16) -> KResult<u16> {
        if pcb.lport == 0 {
            let span = u32::from(ANONPORTMAX - ANONPORTMIN) + 1;
            let start = u32::from(random) % span;
            let port = (0..span)
                .map(|i| ANONPORTMIN + ((start + i) % span) as u16)
                .find(|&p| self.t.on_port(p).next().is_none())
                .ok_or(Errno::EAGAIN)?;
            pcb.lport = port;
        } else if self.conflicts(pcb.laddr, pcb.lport, pcb.reuseaddr, pcb.reuseport) {
            return Err(Errno::EADDRINUSE);
        }
        self.t.insert(so, pcb);
        Ok(pcb.lport)
    }

    /// Enter a connection made from a listener: same port, no conflict check.
    pub fn insert(&mut self, so: SocketId, pcb: Inpcb) {
        self.t.insert(so, pcb);
    }

    /// Update a socket's addresses.
    pub fn update(&mut self, so: SocketId, lport: u16, f: impl FnOnce(&mut Inpcb)) {
        self.t.update(so, lport, f);
    }

    /// Whether another socket has this 4-tuple.
    pub fn tuple_in_use(&self, so: SocketId, p: &Inpcb) -> bool {
        self.t.tuple_in_use(so, p.laddr, p.lport, p.faddr, p.fport)
    }

    /// Remove a socket (in_pcbdetach).
    pub fn remove(&mut self, so: SocketId, lport: u16) {
        self.t.remove(so, lport);
    }

    /// The socket a segment belongs to (in_pcblookup_connect, then _bind).
    pub fn lookup(
        &self,
        laddr: Ipv4Addr,
        lport: u16,
        faddr: Ipv4Addr,
        fport: u16,
    ) -> Option<SocketId> {
        self.t.lookup(laddr, lport, faddr, fport)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.t.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }
}

/// The TCP control block of one connection (`struct tcpcb`).
pub struct Tcpcb {
    /// Connection state.
    pub t_state: TcpState,
    /// The addresses (`t_inpcb`).
    pub inp: Inpcb,
    /// `TF_*` flags.
    pub t_flags: u32,
    /// The MSS used for sending.
    pub t_maxseg: u32,
    /// The MSS we advertise (interface MTU - 40).
    pub t_ourmss: u32,
    /// TCP_MAXSEG set by the user (0 = none).
    pub t_usermss: u32,
    /// Oldest unacknowledged sequence number.
    pub snd_una: u32,
    /// Next sequence number to send.
    pub snd_nxt: u32,
    /// Highest sequence number sent.
    pub snd_max: u32,
    /// Send window (scaled, bytes).
    pub snd_wnd: u32,
    /// Largest window the peer offered.
    pub max_sndwnd: u32,
    /// Segment sequence number of the last window update.
    pub snd_wl1: u32,
    /// Segment acknowledgment number of the last window update.
    pub snd_wl2: u32,
    /// Initial send sequence number.
    pub iss: u32,
    /// snd_max when fast recovery began (RFC 6582 `recover`).
    pub snd_recover: u32,
    /// Next sequence number expected.
    pub rcv_nxt: u32,
    /// Receive window.
    pub rcv_wnd: u32,
    /// Right edge of the window we advertised.
    pub rcv_adv: u32,
    /// Initial receive sequence number.
    pub irs: u32,
    /// Shift applied to the peer's window field.
    pub snd_scale: u8,
    /// Shift applied to our window field.
    pub rcv_scale: u8,
    /// The shift we asked for.
    pub request_r_scale: u8,
    /// Most recent timestamp to echo (RFC 7323).
    pub ts_recent: u32,
    /// Tick at which ts_recent was taken.
    pub ts_recent_age: u64,
    /// rcv_nxt as of our last ACK.
    pub last_ack_sent: u32,
    /// Consecutive duplicate ACKs.
    pub t_dupacks: u32,
    /// In NewReno fast recovery.
    pub t_inrecovery: bool,
    /// Send one segment whatever the windows say (persist probe, fast retransmit).
    pub t_force: bool,
    /// Backoff of the persist timer.
    pub t_persist_shift: u32,
    /// Keepalive probes sent without answer.
    pub t_keepprobes: u32,
    /// Tick of the last segment received.
    pub t_rcvtime: u64,
    /// RTO estimator and backoff.
    pub t_rtt: TcpRtt,
    /// Congestion control.
    pub t_cc: Box<dyn CongCtl>,
    /// Out-of-order queue.
    pub t_segq: TcpReass,
    /// The SACK scoreboard, when both sides permitted SACK (RFC 6675 recovery).
    pub t_sack: Option<super::tcp_sack::SackScoreboard>,
    /// Pending callouts, by [`TcpTimer`].
    pub t_timer: [Option<CalloutId>; TCPT_NTIMERS],
    /// Keepalive idle, interval (ticks) and count.
    pub t_keepidle: u64,
    /// Keepalive probe interval.
    pub t_keepintvl: u64,
    /// Keepalive probes before dropping.
    pub t_keepcnt: u32,
    /// Connection establishment limit, ticks (TCP_KEEPINIT).
    pub t_keepinit: u64,
    /// IP TTL (IP_TTL).
    pub t_ttl: u8,
    /// IP type of service (IP_TOS).
    pub t_tos: u8,
    /// Path MTU discovery: segments carry DF (net.inet.ip.mtudisc when made).
    pub t_pmtud: bool,
    /// Data segments this connection retransmitted (tcpi_snd_rexmitpack).
    pub t_sndrexmitpack: u32,
    /// Out-of-order segments this connection received (tcpi_rcv_ooopack).
    pub t_rcvoopack: u32,
    /// Zero windows this connection announced (tcpi_snd_zerowin).
    pub t_sndzerowin: u32,
    /// The retransmission timer is running as the tail loss probe timer.
    pub t_tlp_pending: bool,
    /// A probe went out for this flight; none again until an ACK advances snd_una.
    pub t_tlp_sent: bool,
    /// Receive auto-sizing: the timestamp of the segment that opened the current
    /// measurement (0: none open), and the bytes received since.
    pub rfbuf_ts: u32,
    /// See `rfbuf_ts`.
    pub rfbuf_cnt: u32,
    /// Tick of the last ACK sent for a dropped segment without data (rate limit).
    pub t_dropack_last: Option<u64>,
}

impl Tcpcb {
    /// A closed control block (tcp_newtcpcb).
    pub fn new(congctl: &str) -> Self {
        Tcpcb {
            t_state: TcpState::Closed,
            inp: Inpcb::default(),
            t_flags: TF_REQ_SCALE | TF_REQ_TSTMP | TF_SACK_PERMIT,
            t_maxseg: TCP_MSS_DEFAULT,
            t_ourmss: TCP_MSS_DEFAULT,
            t_usermss: 0,
            snd_una: 0,
            snd_nxt: 0,
            snd_max: 0,
            snd_wnd: 0,
            max_sndwnd: 0,
            snd_wl1: 0,
            snd_wl2: 0,
            iss: 0,
            snd_recover: 0,
            rcv_nxt: 0,
            rcv_wnd: 0,
            rcv_adv: 0,
            irs: 0,
            snd_scale: 0,
            rcv_scale: 0,
            request_r_scale: 0,
            ts_recent: 0,
            ts_recent_age: 0,
            last_ack_sent: 0,
            t_dupacks: 0,
            t_inrecovery: false,
            t_force: false,
            t_persist_shift: 0,
            t_keepprobes: 0,
            t_rcvtime: 0,
            t_rtt: TcpRtt::default(),
            t_cc: super::tcp_congctl::congctl_by_name(congctl).unwrap_or_else(congctl_default),
            t_segq: TcpReass::new(),
            t_sack: None,
            t_timer: [None; TCPT_NTIMERS],
            t_keepidle: TCPTV_KEEP_IDLE,
            t_keepintvl: TCPTV_KEEPINTVL,
            t_keepcnt: TCP_KEEPCNT,
            t_ttl: super::udp_usrreq::IP_DEFTTL,
            t_tos: 0,
            t_pmtud: true,
            t_keepinit: TCPTV_KEEP_INIT,
            t_sndrexmitpack: 0,
            t_rcvoopack: 0,
            t_sndzerowin: 0,
            rfbuf_ts: 0,
            rfbuf_cnt: 0,
            t_tlp_pending: false,
            t_tlp_sent: false,
            t_dropack_last: None,
        }
    }

    /// Both sides agreed on timestamps.
    pub fn ts_on(&self) -> bool {
        self.t_flags & (TF_REQ_TSTMP | TF_RCVD_TSTMP) == (TF_REQ_TSTMP | TF_RCVD_TSTMP)
    }

    /// Bytes sent and not acknowledged (FlightSize).
    pub fn flight_size(&self) -> u32 {
        self.snd_max.wrapping_sub(self.snd_una)
    }

    /// The window shift that lets the buffer `hiwat` be advertised.
    pub fn scale_for(hiwat: usize) -> u8 {
        let mut s = 0u8;
        while s < TCP_MAX_WINSHIFT && (TCP_MAXWIN as usize) << s < hiwat {
            s += 1;
        }
        s
    }
}

/// The timestamp clock: ticks, never zero (a zero TSecr means "none").
pub fn tcp_now(k: &KernelState) -> u32 {
    (k.ticks() as u32).wrapping_add(1)
}

/// The TCP globals of a kernel running its own stack.
pub fn tcp_globals(k: &mut KernelState) -> Option<&mut TcpGlobals> {
    k.inet_mut().map(|i| &mut i.tcp)
}

/// Count in tcpstat.
pub fn tcpstat(k: &mut KernelState, f: impl FnOnce(&mut TcpStat)) {
    if let Some(g) = tcp_globals(k) {
        f(&mut g.tcpstat);
    }
}

/// Take a socket's control block out to work on it beside the kernel.
pub fn take_tp(k: &mut KernelState, so: SocketId) -> Option<Box<Tcpcb>> {
    let s = k.sockets.get_mut(so)?;
    if !s.so_pcb.as_ref().is_some_and(|p| p.is::<Tcpcb>()) {
        return None;
    }
    s.so_pcb.take()?.downcast::<Tcpcb>().ok()
}

/// Put a control block back; dropped if the socket is gone.
pub fn put_tp(k: &mut KernelState, so: SocketId, tp: Box<Tcpcb>) {
    if let Some(s) = k.sockets.get_mut(so) {
        s.so_pcb = Some(tp);
    }
}

/// A copy of a socket's control block state, for tests and tools.
pub fn tcp_state_of(k: &KernelState, so: SocketId) -> Option<TcpState> {
    k.sockets
        .get(so)?
        .so_pcb
        .as_ref()?
        .downcast_ref::<Tcpcb>()
        .map(|tp| tp.t_state)
}

/// Every TCP connection of a kernel with its state (netstat -p tcp), for tests and tools.
pub fn tcp_states(k: &KernelState) -> Vec<(SocketId, TcpState)> {
    k.sockets
        .ids()
        .into_iter()
        .filter_map(|id| tcp_state_of(k, id).map(|st| (id, st)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kern::slab::SlabId;

    #[test]
    fn table_prefers_the_connection_over_the_listener() {
        let mut t = TcbTable::default();
        let l = SlabId::from_u64(1);
        let c = SlabId::from_u64(2);
        let lp = Inpcb {
            lport: 80,
            ..Inpcb::default()
        };
        assert_eq!(t.bind(l, lp, 0), Ok(80));
        assert_eq!(t.bind(SlabId::from_u64(3), lp, 0), Err(Errno::EADDRINUSE));
        let cp = Inpcb {
            laddr: Ipv4Addr::new(10, 0, 0, 1),
            lport: 80,
            faddr: Ipv4Addr::new(10, 0, 0, 2),
            fport: 5000,
            ..Inpcb::default()
        };
        t.insert(c, cp);
        let (a, b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(t.lookup(a, 80, b, 5000), Some(c));
        assert_eq!(t.lookup(a, 80, b, 5001), Some(l));
        assert!(t.tuple_in_use(l, &cp));
        t.remove(c, 80);
        t.remove(l, 80);
        assert!(t.is_empty());
    }

    #[test]
    fn window_scale_covers_the_buffer() {
        assert_eq!(Tcpcb::scale_for(32 * 1024), 0);
        assert_eq!(Tcpcb::scale_for(65536), 1);
        assert_eq!(Tcpcb::scale_for(16 << 20), 9);
    }
}
