//! The timers of a connection (NetBSD: netinet/tcp_timer.c).
//!
//! Each timer is a callout of its own, armed and disarmed as the connection needs it
//! (DESIGN.md: one callout per need, never a scan of all connections). A callout
//! carries the socket handle and which timer it is; when it fires it finds the control
//! block through the socket, and does nothing if the socket or the block is gone or the
//! timer was re-armed since (the slot no longer holds the firing callout).

use super::tcp_fsm::TcpState;
use super::tcp_output::{tcp_output, tcp_respond_keepalive};
use super::tcp_rtt::TCP_MAXRXTSHIFT;
use super::tcp_sack::SackScoreboard;
use super::tcp_usrreq::{tcp_close, tcp_drop};
use super::tcp_var::*;
use crate::kern::errno::Errno;
use crate::kern::kernel::KernelState;
use crate::kern::uipc_socket::SocketId;

/// Arm `which` to fire in `ticks` (TCP_TIMER_ARM), replacing a pending one.
pub fn tcp_timer_arm(
    k: &mut KernelState,
    so: SocketId,
    tp: &mut Tcpcb,
    which: TcpTimer,
    ticks: u64,
) {
    let slot = which as usize;
    // A pending timer just moves (the retransmission timer is re-armed by every ACK).
    if let Some(id) = tp.t_timer[slot] {
        if k.callout_reset(id, ticks.max(1)) {
            return;
        }
        tp.t_timer[slot] = None;
    }
    // The callout learns its own id through the cell, to tell a stale firing apart.
    let cell = std::sync::Arc::new(std::sync::OnceLock::new());
    let c2 = cell.clone();
    let id = k.callout_schedule(
        ticks.max(1),
        Box::new(move |k: &mut KernelState| {
            if let Some(&id) = c2.get() {
                tcp_timer_fire(k, so, which, id);
            }
        }),
    );
    let _ = cell.set(id);
    tp.t_timer[slot] = Some(id);
}

/// Disarm `which` (TCP_TIMER_DISARM).
pub fn tcp_timer_disarm(k: &mut KernelState, tp: &mut Tcpcb, which: TcpTimer) {
    if let Some(id) = tp.t_timer[which as usize].take() {
        k.callout_stop(id);
    }
}

/// Whether `which` is pending.
pub fn tcp_timer_armed(tp: &Tcpcb, which: TcpTimer) -> bool {
    tp.t_timer[which as usize].is_some()
}

/// Disarm every timer (tcp_canceltimers).
pub fn tcp_canceltimers(k: &mut KernelState, tp: &mut Tcpcb) {
    for id in tp.t_timer.iter_mut().filter_map(Option::take) {
        k.callout_stop(id);
    }
}

/// The persist interval for the current backoff (tcp_setpersist), and arm it.
pub fn tcp_setpersist(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb) {
    let base = u64::from(tp.t_rtt.base_rto_ticks());
    let t = (base << tp.t_persist_shift.min(16)).clamp(TCPTV_PERSMIN, TCPTV_PERSMAX);
    tcp_timer_arm(k, so, tp, TcpTimer::Persist, t);
    if tp.t_persist_shift < TCP_MAXRXTSHIFT {
        tp.t_persist_shift += 1;
    }
}

fn tcp_timer_fire(
    k: &mut KernelState,
    so: SocketId,
    which: TcpTimer,
    id: crate::kern::callout::CalloutId,
) {
    let Some(mut tp) = take_tp(k, so) else {
        return;
    };
    if tp.t_timer[which as usize] != Some(id) {
        put_tp(k, so, tp);
        return;
    }
    tp.t_timer[which as usize] = None;
    match which {
        TcpTimer::Rexmt if tp.t_tlp_pending => tcp_timer_tlp(k, so, &mut tp),
        TcpTimer::Rexmt => tcp_timer_rexmt(k, so, &mut tp),
        TcpTimer::Persist => tcp_timer_persist(k, so, &mut tp),
        TcpTimer::Keep => tcp_timer_keep(k, so, &mut tp),
        TcpTimer::TwoMsl => {
            // TIME_WAIT over, or a FIN_WAIT_2 whose socket is closed waited long enough.
            tcp_close(k, so, &mut tp);
        }
        TcpTimer::Delack => {
            tp.t_flags |= TF_ACKNOW;
            tcpstat(k, |s| s.tcps_delack += 1);
            tcp_output(k, so, &mut tp);
        }
    }
    // A connection that ended stays CLOSED on a socket the user still holds; a freed
    // socket drops the block.
    put_tp(k, so, tp);
}

/// Shortest probe timeout, ticks (RFC 8985 §7.2 suggests 10 ms of granularity).
pub const TCP_TLP_MIN: u64 = 10;

/// Arm the retransmission timer for what was just sent. With SACK, outside a probe
/// already sent for this flight, it first fires as the tail loss probe timer (RFC 8985
/// §7, PTO = 2 * SRTT, at least [`TCP_TLP_MIN`], or 1.5 * SRTT plus a worst-case delayed
/// ACK when one segment is out) whenever that comes before the RTO: a lost tail or a lost
/// retransmission then costs a probe and SACK recovery, not a timeout.
pub fn tcp_rexmt_arm(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb) {
    let rto = u64::from(tp.t_rtt.rto_ticks());
    tp.t_tlp_pending = false;
    let eligible = tp.t_flags & TF_WILL_SACK != 0
        && tp.t_state == TcpState::Established
        && !tp.t_tlp_sent
        && tp.t_rtt.rxtshift() == 0;
    if let (true, Some(srtt)) = (eligible, tp.t_rtt.srtt_ticks()) {
        let srtt = u64::from(srtt);
        let mut pto = (2 * srtt).max(TCP_TLP_MIN);
        if tp.flight_size() <= tp.t_maxseg {
            // One segment out: the peer may be delaying its ACK (RFC 8985's
            // WCDelAckT, 200 ms, twice our own delay).
            pto = pto.max(srtt * 3 / 2 + 2 * TCPTV_DELACK);
        }
        if pto < rto {
            tp.t_tlp_pending = true;
            tcp_timer_arm(k, so, tp, TcpTimer::Rexmt, pto);
            return;
        }
    }
    tcp_timer_arm(k, so, tp, TcpTimer::Rexmt, rto);
}

/// The probe timeout (RFC 8985 §7.3): send one segment to draw an ACK with SACK
/// information, then wait for the RTO proper. In SACK recovery the oldest
/// retransmission still out is presumed lost and sent again; otherwise the last
/// segment sent is.
fn tcp_timer_tlp(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb) {
    tp.t_tlp_pending = false;
    tp.t_tlp_sent = true;
    tcpstat(k, |s| s.tcps_tlpprobe += 1);
    let recovering = tp.t_inrecovery
        && tp
            .t_sack
            .as_mut()
            .is_some_and(SackScoreboard::presume_oldest_retransmission_lost);
    if recovering {
        super::tcp_input::sack_fill(k, so, tp);
    } else if tp.snd_max != tp.snd_una {
        let len = tp.flight_size().min(tp.t_maxseg.max(1));
        let from = tp.snd_max.wrapping_sub(len);
        super::tcp_input::retransmit_one(k, so, tp, from);
    }
    if tp.snd_max != tp.snd_una {
        let rto = u64::from(tp.t_rtt.rto_ticks());
        tcp_timer_arm(k, so, tp, TcpTimer::Rexmt, rto);
    }
}

/// The retransmission timer (tcp_timer_rexmt): back off, drop after
/// [`TCP_MAXRXTSHIFT`], else go back to snd_una and send again with cwnd at one
/// segment.
fn tcp_timer_rexmt(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb) {
    tcpstat(k, |s| s.tcps_rexmttimeo += 1);
    if !tp.t_rtt.backoff() {
        tcpstat(k, |s| s.tcps_timeoutdrop += 1);
        tcp_drop(k, so, tp, Errno::ETIMEDOUT);
        return;
    }
    if tp.t_state < TcpState::Established {
        tp.t_flags |= TF_SYN_REXMT;
    }
    let flight = tp.flight_size();
    let mss = tp.t_maxseg;
    tp.t_cc.on_rto(flight, mss);
    tp.t_inrecovery = false;
    tp.t_dupacks = 0;
    if let Some(sb) = tp.t_sack.as_mut() {
        sb.on_rto();
    }
    tp.snd_nxt = tp.snd_una;
    tp.snd_recover = tp.snd_max;
    tcp_output(k, so, tp);
}

/// Sum of the backoff multipliers over a whole retransmission backoff (NetBSD:
/// tcp_totbackoff, 1 + 2 + ... + 64 capped, 13 terms).
const TCP_TOTBACKOFF: u64 = 511;

/// The persist timer (tcp_timer_persist): force out a one-byte window probe. A peer
/// silent through the whole backoff is given up on, as NetBSD does, once it has been
/// quiet for tcp_maxpersistidle (TCPTV_KEEP_IDLE) or for the RTO times the total
/// backoff: else a zero window from a peer that went away holds the connection, and
/// a closed socket with its send buffer, forever.
fn tcp_timer_persist(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb) {
    tcpstat(k, |s| s.tcps_persisttimeo += 1);
    let idle = k.ticks().saturating_sub(tp.t_rcvtime);
    let limit = TCPTV_KEEP_IDLE.min(u64::from(tp.t_rtt.base_rto_ticks()) * TCP_TOTBACKOFF);
    if tp.t_persist_shift >= TCP_MAXRXTSHIFT && idle >= limit {
        tcpstat(k, |s| s.tcps_persistdrops += 1);
        tcp_drop(k, so, tp, Errno::ETIMEDOUT);
        return;
    }
    tcp_setpersist(k, so, tp);
    tp.t_force = true;
    tcp_output(k, so, tp);
    tp.t_force = false;
}

/// The connection-establishment and keepalive timer (tcp_timer_keep).
fn tcp_timer_keep(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb) {
    tcpstat(k, |s| s.tcps_keeptimeo += 1);
    if tp.t_state < TcpState::Established {
        tcpstat(k, |s| s.tcps_keepdrops += 1);
        tcp_drop(k, so, tp, Errno::ETIMEDOUT);
        return;
    }
    let keepalive = k.so(so).so_options & crate::abi::netbsd::RUMP_SO_KEEPALIVE != 0;
    if keepalive && tp.t_state <= TcpState::CloseWait {
        let idle = k.ticks().saturating_sub(tp.t_rcvtime);
        if idle >= tp.t_keepidle + u64::from(tp.t_keepcnt) * tp.t_keepintvl {
            tcpstat(k, |s| s.tcps_keepdrops += 1);
            tcp_drop(k, so, tp, Errno::ETIMEDOUT);
            return;
        }
        if idle >= tp.t_keepidle {
            tcpstat(k, |s| s.tcps_keepprobe += 1);
            tcp_respond_keepalive(k, tp);
            let t = tp.t_keepintvl;
            tcp_timer_arm(k, so, tp, TcpTimer::Keep, t);
            return;
        }
        let t = tp.t_keepidle - idle;
        tcp_timer_arm(k, so, tp, TcpTimer::Keep, t);
    }
}
