//! TCP output (NetBSD: netinet/tcp_output.c, tcp_subr.c tcp_respond).
//!
//! [`tcp_output`] decides whether a segment should go out now and builds it: data from
//! the send buffer at the offset `snd_nxt - snd_una` (copied; the data stays in
//! `so_snd` until acknowledged), at most one MSS per segment and no more than the
//! smaller of the peer's window and the congestion window allow; Nagle's rule unless
//! TCP_NODELAY; our FIN after the last byte; window updates when the user has made
//! enough room; options on the SYN (MSS from the interface MTU - 40, window scale,
//! timestamps, SACK-permitted) and timestamps on every segment once both sides agreed.
//! When SACK was permitted both ways, our ACKs carry SACK blocks from the reassembly
//! queue (RFC 2018, receiver side). The sender does not use the peer's blocks yet
//! (the tcp_sack scoreboard is not wired: TODO), which RFC 2018 allows: recovery is
//! NewReno's.

use std::net::Ipv4Addr;

use super::ip_output::{ip_output, IpOut};
use super::tcp_fsm::TcpState;
use super::tcp_seq::{seq_gt, seq_lt};
use super::tcp_timer::{tcp_setpersist, tcp_timer_armed, tcp_timer_disarm};
use super::tcp_var::*;
use crate::abi::netbsd as nb;
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::{MbufChain, MAX_HDR};
use crate::kern::uipc_socket::SocketId;
use crate::kern::uipc_socket2::Sockbuf;
use crate::wire::tcp::{checksum_slices, TcpFlags, TcpPacket, TcpRepr, TCP_REPR_SACK_BLOCKS};

/// Option bytes a timestamp takes on every segment (NOP NOP + 10).
pub const TCPOLEN_TSTAMP_APPA: u32 = 12;

/// The flags each state sends (tcp_outflags[]).
fn tcp_outflags(state: TcpState) -> TcpFlags {
    match state {
        TcpState::Closed => TcpFlags::RST | TcpFlags::ACK,
        TcpState::Listen => TcpFlags::empty(),
        TcpState::SynSent => TcpFlags::SYN,
        TcpState::SynReceived => TcpFlags::SYN | TcpFlags::ACK,
        TcpState::Established | TcpState::CloseWait | TcpState::FinWait2 | TcpState::TimeWait => {
            TcpFlags::ACK
        }
        TcpState::FinWait1 | TcpState::Closing | TcpState::LastAck => TcpFlags::FIN | TcpFlags::ACK,
    }
}

/// Append `len` bytes of a stream buffer from offset `off` to `m`, straight from the
/// buffer's mbufs (one copy, no staging buffer).
fn sb_append(
    sb: &Sockbuf,
    mut off: usize,
    mut len: usize,
    pool: &crate::kern::mbuf::MbufPool,
    m: &mut MbufChain,
) -> crate::kern::errno::KResult<()> {
    for r in &sb.sb_records {
        for sl in r.data.iter_slices() {
            if len == 0 {
                return Ok(());
            }
            if off >= sl.len() {
                off -= sl.len();
                continue;
            }
            let take = (sl.len() - off).min(len);
            m.append_slice(pool, &sl[off..off + take])?;
            off = 0;
            len -= take;
        }
    }
    Ok(())
}

/// The data a segment may carry besides options (t_maxseg less the timestamp option).
pub fn tcp_segsize(tp: &Tcpcb) -> u32 {
    let opt = if tp.ts_on() { TCPOLEN_TSTAMP_APPA } else { 0 };
    tp.t_maxseg.saturating_sub(opt).max(1)
}

/// The window to advertise now (the receive side of tcp_output).
fn tcp_recwin(k: &KernelState, so: SocketId, tp: &Tcpcb, segsize: u32) -> u32 {
    let s = k.so(so);
    let space = s.so_rcv.space() as u32;
    let mut win = if (space as usize) < s.so_rcv.sb_hiwat / 4 && space < segsize {
        0 // receiver silly window avoidance (RFC 9293 3.8.6.2.2)
    } else {
        space
    };
    win = win.min(TCP_MAXWIN << tp.rcv_scale);
    // Never shrink the window we offered.
    let offered = tp.rcv_adv.wrapping_sub(tp.rcv_nxt);
    if (offered as i32) > 0 && win < offered {
        win = offered;
    }
    win
}

/// Send what should be sent now (tcp_output).
pub fn tcp_output(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb) {
    if tp.t_state == TcpState::Closed || tp.t_state == TcpState::Listen {
        return;
    }
    tcp_autosndbuf(k, so, tp);
    loop {
        if !tcp_output_one(k, so, tp) {
            return;
        }
    }
}

/// Send buffer auto-sizing (FreeBSD's and NetBSD's tcp_autosndbuf): when the buffer is
/// nearly full and the peer's window would take more than it holds, the buffer is
/// what limits the sender: double it, up to `sendbuf_max`.
fn tcp_autosndbuf(k: &mut KernelState, so: SocketId, tp: &Tcpcb) {
    let Some(s) = k.sockets.get(so) else {
        return;
    };
    let snd = &s.so_snd;
    if !snd.sb_autosize
        || !tp.t_state.may_send()
        || snd.sb_cc < snd.sb_hiwat / 8 * 7
        || (tp.snd_wnd as usize) / 4 * 5 < snd.sb_hiwat
    {
        return;
    }
    let hiwat = snd.sb_hiwat;
    if let Some(max) = super::tcp_sysctl::tcp_autobuf_max(k, false) {
        if hiwat < max {
            let _ = k.so_mut(so).so_snd.reserve((hiwat * 2).min(max));
            k.sowwakeup(so);
        }
    }
}

/// Build and send at most one segment; true when another should be tried.
fn tcp_output_one(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb) -> bool {
    let Some(s) = k.sockets.get(so) else {
        return false;
    };
    let sb_cc = s.so_snd.sb_cc;
    let rcv_hiwat = s.so_rcv.sb_hiwat;
    // SACK blocks to report, and the option room they take from the data.
    let mut sack = [None; TCP_REPR_SACK_BLOCKS];
    let nsack = if tp.t_flags & TF_WILL_SACK != 0 && tp.t_state.synchronized() {
        tp.t_segq.sack_blocks(&mut sack)
    } else {
        0
    };
    let sack_room = if nsack > 0 { 4 + 8 * nsack as u32 } else { 0 };
    let segsize = tcp_segsize(tp).saturating_sub(sack_room).max(1);
    let idle = tp.snd_max == tp.snd_una;
    let mut flags = tcp_outflags(tp.t_state);
    let syn = flags.syn() && tp.snd_nxt == tp.iss;
    if !syn {
        flags.set(TcpFlags::SYN, false);
    }
    let data_ok = tp.t_state.synchronized() && tp.t_state != TcpState::TimeWait;
    let off = if data_ok {
        tp.snd_nxt.wrapping_sub(tp.snd_una) as usize
    } else {
        0
    };
    // Restart from the initial window after an idle RTO (RFC 5681 section 4.1).
    if idle && data_ok && sb_cc > off {
        let quiet = k.ticks().saturating_sub(tp.t_rcvtime);
        if quiet >= u64::from(tp.t_rtt.rto_ticks()) {
            tp.t_cc.on_idle(segsize);
        }
    }
    let mut win = tp.snd_wnd.min(tp.t_cc.cwnd()) as usize;
    if tp.t_force {
        win = if tp.snd_wnd == 0 {
            1
        } else {
            (off + segsize as usize).min(tp.snd_wnd as usize)
        };
    }
    let mut len: isize = if data_ok {
        sb_cc.min(win) as isize - off as isize
    } else {
        0
    };
    if len < 0 {
        len = 0;
        if win == 0 && data_ok {
            // The window closed under what we sent: probe with the persist timer.
            tcp_timer_disarm(k, tp, TcpTimer::Rexmt);
            tp.t_rtt.reset_backoff();
            tp.snd_nxt = tp.snd_una;
            if !tcp_timer_armed(tp, TcpTimer::Persist) {
                tcp_setpersist(k, so, tp);
            }
        }
    }
    let mut len = len as usize;
    let mut sendalot = false;
    if len > segsize as usize {
        len = segsize as usize;
        sendalot = !tp.t_force;
    }
    let fin_seq = tp.snd_una.wrapping_add(sb_cc as u32);
    let fin = flags.fin() && data_ok && tp.snd_nxt.wrapping_add(len as u32) == fin_seq;
    if !fin {
        flags.set(TcpFlags::FIN, false);
    }
    let recwin = tcp_recwin(k, so, tp, segsize);

    // Whether to send (the "send:" decision of tcp_output).
    let mut send = syn || flags.rst() || tp.t_flags & TF_ACKNOW != 0 || fin;
    if len > 0 {
        let nodelay = tp.t_flags & TF_NODELAY != 0;
        if len == segsize as usize
            || ((idle || nodelay) && off + len >= sb_cc)
            || tp.t_force
            || (tp.max_sndwnd > 0 && len as u32 >= tp.max_sndwnd / 2)
            || seq_lt(tp.snd_nxt, tp.snd_max)
        {
            send = true;
        }
    }
    if !send && tp.t_state.have_rcvd_syn() && !tp.t_state.have_rcvd_fin() {
        let offered = tp.rcv_adv.wrapping_sub(tp.rcv_nxt) as i32;
        let adv = recwin as i64 - i64::from(offered.max(0));
        if adv > 0 && (adv >= 2 * i64::from(segsize) || 2 * adv >= rcv_hiwat as i64) {
            send = true;
            tcpstat(k, |s| s.tcps_sndwinup += 1);
        }
    }
    if !send {
        if sb_cc > 0
            && data_ok
            && !tcp_timer_armed(tp, TcpTimer::Rexmt)
            && !tcp_timer_armed(tp, TcpTimer::Persist)
        {
            tp.t_rtt.reset_backoff();
            tp.t_persist_shift = 0;
            tcp_setpersist(k, so, tp);
        }
        return false;
    }

    // Build the segment.
    let now = tcp_now(k);
    if tp.rfbuf_ts == 0 && data_ok && k.so(so).so_rcv.sb_autosize {
        tp.rfbuf_ts = now; // a round trip of receive auto-sizing starts here
    }
    let mut repr = TcpRepr {
        src_port: tp.inp.lport,
        dst_port: tp.inp.fport,
        flags: flags.difference(TcpFlags::ACK),
        seq_number: 0,
        ack_number: flags.ack().then_some(tp.rcv_nxt),
        window_len: 0,
        urgent_at: 0,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: sack,
        timestamp: None,
        payload_len: len,
    };
    if syn {
        repr.max_seg_size = Some(tp.t_ourmss.min(65535) as u16);
        let synack = tp.t_state == TcpState::SynReceived;
        if tp.t_flags & TF_REQ_SCALE != 0 && (!synack || tp.t_flags & TF_RCVD_SCALE != 0) {
            repr.window_scale = Some(tp.request_r_scale);
        }
        if tp.t_flags & TF_REQ_TSTMP != 0 && (!synack || tp.t_flags & TF_RCVD_TSTMP != 0) {
            repr.timestamp = Some((now, tp.ts_recent));
        }
        if tp.t_flags & TF_SACK_PERMIT != 0 && (!synack || tp.t_flags & TF_WILL_SACK != 0) {
            repr.sack_permitted = true;
        }
        repr.window_len = recwin.min(TCP_MAXWIN) as u16;
    } else {
        if tp.ts_on() {
            repr.timestamp = Some((now, tp.ts_recent));
        }
        repr.window_len = (recwin >> tp.rcv_scale).min(TCP_MAXWIN) as u16;
    }
    let persist_probe = tp.t_force && tcp_timer_armed(tp, TcpTimer::Persist);
    repr.seq_number = if syn {
        tp.iss
    } else if len > 0 || fin || persist_probe {
        tp.snd_nxt
    } else {
        tp.snd_max
    };
    if len > 0 && off + len == sb_cc {
        repr.flags |= TcpFlags::PSH;
    }
    let pool = k.pool.clone();
    let mut m = if len > 0 {
        let Ok(mut m) = MbufChain::from_slice(&pool, &[], MAX_HDR) else {
            return false;
        };
        if sb_append(&k.so(so).so_snd, off, len, &pool, &mut m).is_err() {
            return false;
        }
        m
    } else {
        MbufChain::new()
    };
    let hlen = repr.header_len();
    let Ok(hdr) = m.prepend(&pool, hlen) else {
        return false;
    };
    repr.emit_header(&mut TcpPacket::new_unchecked(hdr));
    let (src, dst) = (tp.inp.laddr, tp.inp.faddr);
    let ck = checksum_slices(src, dst, m.iter_slices());
    m.copy_in(16, &ck.to_be_bytes());

    // Statistics.
    let rexmit = len > 0 && seq_lt(tp.snd_nxt, tp.snd_max);
    if rexmit && !persist_probe {
        tp.t_sndrexmitpack = tp.t_sndrexmitpack.wrapping_add(1);
    }
    if repr.window_len == 0 && !syn {
        tp.t_sndzerowin = tp.t_sndzerowin.wrapping_add(1);
    }
    tcpstat(k, |s| {
        s.tcps_sndtotal += 1;
        if persist_probe && len > 0 {
            s.tcps_sndprobe += 1;
        } else if rexmit {
            s.tcps_sndrexmitpack += 1;
            s.tcps_sndrexmitbyte += len as u64;
        } else if len > 0 {
            s.tcps_sndpack += 1;
            s.tcps_sndbyte += len as u64;
        } else if syn || fin || repr.flags.rst() {
            s.tcps_sndctrl += 1;
        } else {
            s.tcps_sndacks += 1;
        }
    });
    if rexmit {
        tp.t_rtt.on_retransmit();
    }

    // Advance the send state.
    let ticks = k.ticks();
    if !persist_probe {
        let startseq = tp.snd_nxt;
        if syn {
            tp.snd_nxt = tp.snd_nxt.wrapping_add(1);
        }
        tp.snd_nxt = tp.snd_nxt.wrapping_add(len as u32);
        if fin {
            tp.snd_nxt = tp.snd_nxt.wrapping_add(1);
            tp.t_flags |= TF_SENTFIN;
        }
        if seq_gt(tp.snd_nxt, tp.snd_max) {
            tp.snd_max = tp.snd_nxt;
            if !tp.ts_on() {
                tp.t_rtt.start_timing(startseq, ticks);
            }
        }
        if !tcp_timer_armed(tp, TcpTimer::Rexmt) && tp.snd_nxt != tp.snd_una {
            super::tcp_timer::tcp_rexmt_arm(k, so, tp);
            if tcp_timer_armed(tp, TcpTimer::Persist) {
                tcp_timer_disarm(k, tp, TcpTimer::Persist);
                tp.t_persist_shift = 0;
            }
        } else if len == 0
            && sb_cc > 0
            && data_ok
            && !tcp_timer_armed(tp, TcpTimer::Rexmt)
            && !tcp_timer_armed(tp, TcpTimer::Persist)
        {
            // A bare ACK went out while data waits behind a shut window: without this
            // no timer would ever probe it (the "!send" case above arms persist, but
            // this segment was sent). FreeBSD's tcp_output has the same guard.
            tp.t_rtt.reset_backoff();
            tp.t_persist_shift = 0;
            tcp_setpersist(k, so, tp);
        }
    } else if seq_gt(tp.snd_nxt.wrapping_add(len as u32), tp.snd_max) {
        tp.snd_max = tp.snd_nxt.wrapping_add(len as u32);
    }
    if recwin > 0 && seq_gt(tp.rcv_nxt.wrapping_add(recwin), tp.rcv_adv) {
        tp.rcv_adv = tp.rcv_nxt.wrapping_add(recwin);
    }
    tp.last_ack_sent = tp.rcv_nxt;
    tp.t_flags &= !(TF_ACKNOW | TF_DELACK);
    tcp_timer_disarm(k, tp, TcpTimer::Delack);
    let (ttl, tos, df) = (tp.t_ttl, tp.t_tos, tp.t_pmtud);
    // A lost segment is recovered by the timers; an error here is like a drop.
    let _ = ip_output(
        k,
        m,
        IpOut {
            src,
            dst,
            proto: nb::RUMP_IPPROTO_TCP as u8,
            ttl,
            tos,
            df,
            allow_broadcast: false,
        },
    );
    sendalot
}

/// Send a control segment outside any connection (tcp_respond): RSTs for segments
/// without a home, challenge ACKs and keepalives.
#[allow(clippy::too_many_arguments)]
pub fn tcp_respond(
    k: &mut KernelState,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: Option<u32>,
    flags: TcpFlags,
    win: u16,
    ts: Option<(u32, u32)>,
) {
    let repr = TcpRepr {
        src_port: sport,
        dst_port: dport,
        flags,
        seq_number: seq,
        ack_number: ack,
        window_len: win,
        urgent_at: 0,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; TCP_REPR_SACK_BLOCKS],
        timestamp: ts,
        payload_len: 0,
    };
    respond(k, src, dst, &repr);
}

/// The SYN-ACK of a SYN cookie (syncookie_respond): no state behind it, so it offers
/// only what the cookie can carry back: the MSS.
#[allow(clippy::too_many_arguments)]
pub fn tcp_respond_syncookie(
    k: &mut KernelState,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    iss: u32,
    ack: u32,
    win: u16,
    mss: u16,
) {
    let repr = TcpRepr {
        src_port: sport,
        dst_port: dport,
        flags: TcpFlags::SYN | TcpFlags::ACK,
        seq_number: iss,
        ack_number: Some(ack),
        window_len: win,
        urgent_at: 0,
        window_scale: None,
        max_seg_size: Some(mss),
        sack_permitted: false,
        sack_ranges: [None; TCP_REPR_SACK_BLOCKS],
        timestamp: None,
        payload_len: 0,
    };
    respond(k, src, dst, &repr);
}

/// Send a segment without a connection behind it.
fn respond(k: &mut KernelState, src: Ipv4Addr, dst: Ipv4Addr, repr: &TcpRepr) {
    let flags = repr.flags;
    let pool = k.pool.clone();
    let mut m = MbufChain::new();
    let Ok(hdr) = m.prepend(&pool, repr.header_len()) else {
        return;
    };
    repr.emit_header(&mut TcpPacket::new_unchecked(hdr));
    let ck = checksum_slices(src, dst, m.iter_slices());
    m.copy_in(16, &ck.to_be_bytes());
    tcpstat(k, |s| {
        s.tcps_sndtotal += 1;
        if flags.rst() || flags.syn() {
            s.tcps_sndctrl += 1;
        } else {
            s.tcps_sndacks += 1;
        }
    });
    let _ = ip_output(
        k,
        m,
        IpOut {
            src,
            dst,
            proto: nb::RUMP_IPPROTO_TCP as u8,
            ttl: super::udp_usrreq::IP_DEFTTL,
            tos: 0,
            df: false,
            allow_broadcast: false,
        },
    );
}

/// An ACK for the current state, sent now whatever tcp_output would decide (challenge
/// ACKs of RFC 5961 and answers to unacceptable segments go through TF_ACKNOW instead).
pub fn tcp_respond_keepalive(k: &mut KernelState, tp: &Tcpcb) {
    let ts = tp.ts_on().then(|| (tcp_now(k), tp.ts_recent));
    tcp_respond(
        k,
        tp.inp.laddr,
        tp.inp.faddr,
        tp.inp.lport,
        tp.inp.fport,
        tp.snd_una.wrapping_sub(1),
        Some(tp.rcv_nxt),
        TcpFlags::empty(),
        0,
        ts,
    );
}

/// Send an RST for the connection (tcp_drop's half of tcp_respond).
pub fn tcp_send_rst(k: &mut KernelState, tp: &Tcpcb) {
    tcp_respond(
        k,
        tp.inp.laddr,
        tp.inp.faddr,
        tp.inp.lport,
        tp.inp.fport,
        tp.snd_max,
        Some(tp.rcv_nxt),
        TcpFlags::RST,
        0,
        None,
    );
}
