//! TCP input (NetBSD: netinet/tcp_input.c; RFC 9293 section 3.10.7 "SEGMENT ARRIVES").
//!
//! A segment is checked (length, data offset, checksum: each a counted drop), its
//! connection found in the table, and processed by state:
//!
//! - LISTEN: a SYN makes a new socket on the listener's incomplete queue (sonewconn,
//!   bounded by the backlog) in SYN_RECEIVED and is answered with a SYN-ACK; the final
//!   ACK moves it to the accept queue (soisconnected).
//! - SYN_SENT: the SYN-ACK completes the connection; an acceptable RST refuses it.
//! - Every other state takes the general path (no header prediction): RFC 5961 RST
//!   and SYN checks, trimming to the window (an unacceptable segment gets an ACK), the
//!   ACK (snd_una, the send buffer, RTT, congestion control, NewReno fast retransmit
//!   and recovery), the window update, in-order data into `so_rcv` and out-of-order data
//!   through the reassembly queue, and the FIN.
//!
//! Segments for no connection get an RST (`tcps_noport`), unless they are RSTs.

use std::net::Ipv4Addr;

use super::tcp_fsm::TcpState;
use super::tcp_isn::{
    syncookie_check, syncookie_counter, syncookie_make, syncookie_mss_index, TcpTuple,
};
use super::tcp_output::{tcp_output, tcp_respond, tcp_respond_syncookie};
use super::tcp_sack::{SackBlock, SackScoreboard, SegKind};
use super::tcp_seq::{seq_geq, seq_gt, seq_leq, seq_lt, seq_sub};
use super::tcp_timer::{tcp_canceltimers, tcp_timer_arm, tcp_timer_armed, tcp_timer_disarm};
use super::tcp_usrreq::{tcp_attach_new, tcp_close, tcp_iss, tcp_mss_for};
use super::tcp_var::*;
use crate::kern::errno::Errno;
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::MbufChain;
use crate::kern::uipc_socket::{SocketId, SS_CANTRCVMORE, SS_NOFDREF};
use crate::wire::tcp::{checksum_slices, TcpFlags, TcpPacket, TcpRepr, HEADER_LEN};
use crate::wire::ChecksumCheck;

/// Where a segment came from and went to.
#[derive(Clone, Copy)]
struct Addrs {
    src: Ipv4Addr,
    dst: Ipv4Addr,
}

/// A TCP segment for us (tcp_input): `m` is the TCP header and payload, `bcast`
/// whether it was sent to a broadcast or multicast address.
pub fn tcp_input(k: &mut KernelState, src: Ipv4Addr, dst: Ipv4Addr, mut m: MbufChain, bcast: bool) {
    if tcp_globals(k).is_none() {
        return;
    }
    tcpstat(k, |s| s.tcps_rcvtotal += 1);
    let tlen = m.len();
    if tlen < HEADER_LEN {
        tcpstat(k, |s| s.tcps_rcvshort += 1);
        return;
    }
    let mut hdr = [0u8; 60];
    let n = m.copy_out(0, &mut hdr[..tlen.min(60)]);
    let hlen = TcpPacket::new_unchecked(&hdr[..n]).header_len();
    if hlen < HEADER_LEN || hlen > n {
        tcpstat(k, |s| s.tcps_rcvbadoff += 1);
        return;
    }
    if checksum_slices(src, dst, m.iter_slices()) != 0 {
        tcpstat(k, |s| s.tcps_rcvbadsum += 1);
        return;
    }
    let Ok(pkt) = TcpPacket::new_checked(&hdr[..hlen]) else {
        tcpstat(k, |s| s.tcps_rcvbadoff += 1);
        return;
    };
    let Ok(mut th) = TcpRepr::parse(&pkt, src, dst, ChecksumCheck::Skip) else {
        tcpstat(k, |s| s.tcps_rcvbadoff += 1);
        return;
    };
    th.payload_len = tlen - hlen;
    if bcast || dst.is_multicast() || dst.is_broadcast() {
        return; // never answer a broadcast
    }
    m.drop_front(hlen);
    let a = Addrs { src, dst };
    let so = tcp_globals(k).and_then(|g| g.tcbtable.lookup(dst, th.dst_port, src, th.src_port));
    let Some(so) = so else {
        tcpstat(k, |s| s.tcps_noport += 1);
        dropwithreset(k, a, &th);
        return;
    };
    let Some(mut tp) = take_tp(k, so) else {
        dropwithreset(k, a, &th);
        return;
    };
    match tp.t_state {
        TcpState::Closed => dropwithreset(k, a, &th),
        TcpState::Listen => tcp_input_listen(k, so, &tp, a, &th, m),
        TcpState::SynSent => tcp_input_synsent(k, so, &mut tp, a, &th),
        _ => tcp_input_general(k, so, &mut tp, a, &th, m),
    }
    put_tp(k, so, tp);
}

/// Answer a segment with an RST (tcp_respond in dropwithreset), never an RST.
fn dropwithreset(k: &mut KernelState, a: Addrs, th: &TcpRepr) {
    if th.flags.rst() {
        return;
    }
    match th.ack_number {
        Some(ack) => tcp_respond(
            k,
            a.dst,
            a.src,
            th.dst_port,
            th.src_port,
            ack,
            None,
            TcpFlags::RST,
            0,
            None,
        ),
        None => tcp_respond(
            k,
            a.dst,
            a.src,
            th.dst_port,
            th.src_port,
            0,
            Some(th.seq_number.wrapping_add(th.segment_len() as u32)),
            TcpFlags::RST,
            0,
            None,
        ),
    }
}

/// The options of a SYN (tcp_dooptions for SYNs): window scale, timestamps, MSS.
fn syn_options(k: &KernelState, tp: &mut Tcpcb, th: &TcpRepr) {
    if let Some(ws) = th.window_scale {
        tp.t_flags |= TF_RCVD_SCALE;
        tp.snd_scale = ws.min(TCP_MAX_WINSHIFT);
    }
    if tp.t_flags & (TF_REQ_SCALE | TF_RCVD_SCALE) == (TF_REQ_SCALE | TF_RCVD_SCALE) {
        tp.rcv_scale = tp.request_r_scale;
    } else {
        tp.snd_scale = 0;
        tp.rcv_scale = 0;
    }
    if let Some((tsval, _)) = th.timestamp {
        tp.t_flags |= TF_RCVD_TSTMP;
        tp.ts_recent = tsval;
        tp.ts_recent_age = k.ticks();
    }
    if th.sack_permitted && tp.t_flags & TF_SACK_PERMIT != 0 {
        tp.t_flags |= TF_WILL_SACK;
    }
    let peer = th.max_seg_size.map_or(TCP_MSS_DEFAULT, u32::from).max(64);
    tp.t_maxseg = tp.t_ourmss.min(peer);
    if tp.t_usermss != 0 {
        tp.t_maxseg = tp.t_maxseg.min(tp.t_usermss);
    }
}

/// LISTEN (RFC 9293 3.10.7.2): a SYN makes an embryonic connection on the incomplete
/// queue, which is our SYN cache; when that is full the SYN is answered with a SYN
/// cookie instead, and an ACK carrying a valid cookie makes the connection.
fn tcp_input_listen(
    k: &mut KernelState,
    head: SocketId,
    ltp: &Tcpcb,
    a: Addrs,
    th: &TcpRepr,
    m: MbufChain,
) {
    if th.flags.rst() {
        return;
    }
    if th.ack_number.is_some() {
        if !th.flags.syn() {
            match syncookie_get(k, head, ltp, a, th) {
                Cookie::Made(so, mut tp) => {
                    tcp_input_general(k, so, &mut tp, a, th, m);
                    put_tp(k, so, tp);
                    return;
                }
                Cookie::NoRoom => return,
                Cookie::Bad => {}
            }
        }
        dropwithreset(k, a, th);
        return;
    }
    if !th.flags.syn() || th.flags.fin() {
        tcpstat(k, |s| s.tcps_badsyn += 1);
        return;
    }
    let q0_limit = (k.so(head).so_qlimit * 3 / 2 + 1).max(TCP_SYN_CACHE_MIN);
    let Some(so) = k.sonewconn_incomplete(head, q0_limit) else {
        syncookie_send(k, head, a, th);
        return;
    };
    let mut tp = listener_tcb(k, ltp, a, th);
    tp.t_flags |= super::tcp_sysctl::tcp_defaults(k).syn_flags();
    tp.request_r_scale = super::tcp_usrreq::tcp_rcv_scale(k, so);
    syn_options(k, &mut tp, th);
    tp.irs = th.seq_number;
    tp.rcv_nxt = tp.irs.wrapping_add(1);
    tp.rcv_adv = tp.rcv_nxt;
    tp.iss = tcp_iss(k, &tp);
    tp.snd_una = tp.iss;
    tp.snd_nxt = tp.iss;
    tp.snd_max = tp.iss;
    tp.snd_recover = tp.iss;
    tp.snd_wnd = u32::from(th.window_len);
    tp.max_sndwnd = tp.snd_wnd;
    tp.snd_wl1 = th.seq_number;
    tp.snd_wl2 = tp.iss;
    tp.t_flags |= TF_ACKNOW;
    let mss = tp.t_maxseg;
    tp.t_cc.init(mss);
    tcp_attach_new(k, so, tp);
    tcpstat(k, |s| {
        s.tcps_accepts += 1;
        s.tcps_sc_added += 1;
    });
    if let Some(mut tp) = take_tp(k, so) {
        let t = tp.t_keepinit;
        tcp_timer_arm(k, so, &mut tp, TcpTimer::Keep, t);
        tcp_output(k, so, &mut tp);
        put_tp(k, so, tp);
    }
}

/// A control block in SYN_RECEIVED for a connection to listener `ltp`, inheriting its
/// socket options; the caller fills in the sequence numbers.
fn listener_tcb(k: &mut KernelState, ltp: &Tcpcb, a: Addrs, th: &TcpRepr) -> Tcpcb {
    let mut tp = Tcpcb::new(ltp.t_cc.name());
    tp.inp = super::in_pcb::Inpcb {
        laddr: a.dst,
        lport: ltp.inp.lport,
        faddr: a.src,
        fport: th.src_port,
        ..Default::default()
    };
    tp.t_flags = (ltp.t_flags & TF_NODELAY) | TF_PASSIVE;
    tp.t_usermss = ltp.t_usermss;
    tp.t_keepidle = ltp.t_keepidle;
    tp.t_keepintvl = ltp.t_keepintvl;
    tp.t_keepcnt = ltp.t_keepcnt;
    tp.t_keepinit = ltp.t_keepinit;
    tp.t_ttl = ltp.t_ttl;
    tp.t_tos = ltp.t_tos;
    tp.t_pmtud = ltp.t_pmtud;
    tp.t_ourmss = tcp_mss_for(k, a.dst, a.src);
    tp.t_state = TcpState::SynReceived;
    tp.t_rcvtime = k.ticks();
    tp
}

/// The 4-tuple of a segment, from our side.
fn tuple_of(a: Addrs, th: &TcpRepr) -> TcpTuple {
    TcpTuple {
        laddr: a.dst,
        lport: th.dst_port,
        faddr: a.src,
        fport: th.src_port,
    }
}

/// Answer a SYN that found the SYN cache full with a SYN cookie, unless cookies are
/// off or the accept queue is full too (then the SYN is dropped; the peer retries).
fn syncookie_send(k: &mut KernelState, head: SocketId, a: Addrs, th: &TcpRepr) {
    tcpstat(k, |s| s.tcps_sc_overflowed += 1);
    if !super::tcp_sysctl::tcp_do_syncookies(k) || k.so_qfull(head) {
        tcpstat(k, |s| s.tcps_listendrop += 1);
        return;
    }
    let ourmss = tcp_mss_for(k, a.dst, a.src);
    let peer = th.max_seg_size.map_or(TCP_MSS_DEFAULT, u32::from);
    let mss = ourmss.min(peer).min(65535) as u16;
    let key = super::tcp_usrreq::iss_secret(k);
    let iss = syncookie_make(
        &key,
        &tuple_of(a, th),
        th.seq_number,
        syncookie_mss_index(mss),
        syncookie_counter(k.ticks()),
    );
    let win = k.so(head).so_rcv.sb_hiwat.min(TCP_MAXWIN as usize) as u16;
    tcp_respond_syncookie(
        k,
        a.dst,
        a.src,
        th.dst_port,
        th.src_port,
        iss,
        th.seq_number.wrapping_add(1),
        win,
        ourmss.min(65535) as u16,
    );
    tcpstat(k, |s| s.tcps_sc_sendcookie += 1);
}

/// What an ACK to a listener turned out to be.
enum Cookie {
    /// A valid cookie: the connection, in SYN_RECEIVED, for the general path to finish.
    Made(SocketId, Box<Tcpcb>),
    /// A valid cookie but a full accept queue: dropped; the peer's retransmission may
    /// find room.
    NoRoom,
    /// Not ours.
    Bad,
}

/// The final ACK of a handshake answered with a SYN cookie (syncookie_lookup).
fn syncookie_get(
    k: &mut KernelState,
    head: SocketId,
    ltp: &Tcpcb,
    a: Addrs,
    th: &TcpRepr,
) -> Cookie {
    let Some(ack) = th.ack_number else {
        return Cookie::Bad;
    };
    let key = super::tcp_usrreq::iss_secret(k);
    let irs = th.seq_number.wrapping_sub(1);
    let iss = ack.wrapping_sub(1);
    let counter = syncookie_counter(k.ticks());
    let Some(mss) = syncookie_check(&key, &tuple_of(a, th), irs, iss, counter) else {
        tcpstat(k, |s| s.tcps_sc_badcookie += 1);
        return Cookie::Bad;
    };
    let Some(so) = k.sonewconn_validated(head) else {
        tcpstat(k, |s| s.tcps_listendrop += 1);
        return Cookie::NoRoom;
    };
    let mut tp = listener_tcb(k, ltp, a, th);
    // What the SYN asked for beyond the MSS was not kept: no scaling, timestamps or SACK.
    tp.t_maxseg = tp.t_ourmss.min(u32::from(mss));
    if tp.t_usermss != 0 {
        tp.t_maxseg = tp.t_maxseg.min(tp.t_usermss);
    }
    tp.irs = irs;
    tp.rcv_nxt = th.seq_number;
    tp.rcv_adv = tp.rcv_nxt;
    tp.iss = iss;
    tp.snd_una = iss;
    tp.snd_nxt = ack;
    tp.snd_max = ack;
    tp.snd_recover = iss;
    tp.snd_wnd = u32::from(th.window_len);
    tp.max_sndwnd = tp.snd_wnd;
    tp.snd_wl1 = irs;
    tp.snd_wl2 = iss;
    let mss = tp.t_maxseg;
    tp.t_cc.init(mss);
    tcp_attach_new(k, so, tp);
    tcpstat(k, |s| {
        s.tcps_accepts += 1;
        s.tcps_sc_recvcookie += 1;
    });
    match take_tp(k, so) {
        Some(tp) => Cookie::Made(so, tp),
        None => Cookie::NoRoom,
    }
}

/// The connection is up (the common part of SYN_SENT and SYN_RECEIVED processing).
fn tcp_established(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb) {
    tp.t_state = TcpState::Established;
    tcpstat(k, |s| s.tcps_connects += 1);
    tcp_timer_disarm(k, tp, TcpTimer::Keep);
    if k.so(so).so_options & crate::abi::netbsd::RUMP_SO_KEEPALIVE != 0 {
        let t = tp.t_keepidle;
        tcp_timer_arm(k, so, tp, TcpTimer::Keep, t);
    }
    tp.t_rtt.handshake_done(tp.t_flags & TF_SYN_REXMT != 0);
    if tp.t_flags & TF_WILL_SACK != 0 {
        let mss = tcp_seg(tp);
        tp.t_sack = Some(SackScoreboard::new(tp.snd_una, mss));
    }
    k.soisconnected(so);
}

/// An RTT sample from an ACK of new data.
fn rtt_sample(k: &mut KernelState, tp: &mut Tcpcb, th: &TcpRepr, ack: u32) {
    let got = match th.timestamp {
        Some((_, tsecr)) if tp.ts_on() => tp.t_rtt.on_ack_timestamp(tsecr, tcp_now(k)),
        _ => tp.t_rtt.on_ack(ack, k.ticks()),
    };
    if got.is_some() {
        tcpstat(k, |s| s.tcps_rttupdated += 1);
    }
}

/// Receive buffer auto-sizing (FreeBSD's and NetBSD's tcp_autorcvbuf): count the data
/// that arrives in one round trip, from a segment we sent to the ACK echoing its
/// timestamp; if the peer filled 7/8 of the buffer in that time the buffer is what
/// limits it, so double the buffer, up to `recvbuf_max`. Needs timestamps.
fn tcp_autorcvbuf(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb, th: &TcpRepr, tlen: usize) {
    let Some((_, tsecr)) = th.timestamp else {
        return;
    };
    if !tp.ts_on() || tsecr == 0 || !k.so(so).so_rcv.sb_autosize || tp.rfbuf_ts == 0 {
        return;
    }
    if seq_gt(tsecr, tp.rfbuf_ts) {
        let hiwat = k.so(so).so_rcv.sb_hiwat;
        if tp.rfbuf_cnt as usize > hiwat / 8 * 7 {
            if let Some(max) = super::tcp_sysctl::tcp_autobuf_max(k, true) {
                if hiwat < max {
                    let _ = k.so_mut(so).so_rcv.reserve((hiwat * 2).min(max));
                }
            }
        }
        tp.rfbuf_ts = 0;
        tp.rfbuf_cnt = 0;
    } else {
        tp.rfbuf_cnt = tp.rfbuf_cnt.saturating_add(tlen as u32);
    }
}

/// SYN_SENT (RFC 9293 3.10.7.3).
fn tcp_input_synsent(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb, a: Addrs, th: &TcpRepr) {
    if let Some(ack) = th.ack_number {
        if seq_leq(ack, tp.iss) || seq_gt(ack, tp.snd_max) {
            dropwithreset(k, a, th);
            return;
        }
    }
    if th.flags.rst() {
        if th.ack_number.is_some() {
            k.so_mut(so).so_error = Some(Errno::ECONNREFUSED);
            tcpstat(k, |s| s.tcps_conndrops += 1);
            tcp_close(k, so, tp);
        }
        return;
    }
    if !th.flags.syn() {
        return;
    }
    syn_options(k, tp, th);
    tp.irs = th.seq_number;
    tp.rcv_nxt = tp.irs.wrapping_add(1);
    tp.rcv_adv = tp.rcv_nxt;
    tp.t_rcvtime = k.ticks();
    let mss = tp.t_maxseg;
    tp.t_cc.init(mss);
    tp.t_flags |= TF_ACKNOW;
    match th.ack_number {
        Some(ack) => {
            tp.snd_una = ack;
            if seq_lt(tp.snd_nxt, ack) {
                tp.snd_nxt = ack;
            }
            rtt_sample(k, tp, th, ack);
            tcp_timer_disarm(k, tp, TcpTimer::Rexmt);
            tp.snd_wnd = u32::from(th.window_len);
            tp.max_sndwnd = tp.snd_wnd;
            tp.snd_wl1 = th.seq_number;
            tp.snd_wl2 = ack;
            tcp_established(k, so, tp);
        }
        None => {
            // Simultaneous open: answer with SYN-ACK.
            tp.t_state = TcpState::SynReceived;
            tp.snd_nxt = tp.iss;
            tcp_timer_disarm(k, tp, TcpTimer::Rexmt);
        }
    }
    tcp_output(k, so, tp);
}

/// Every synchronized state, and SYN_RECEIVED (RFC 9293 3.10.7.4).
fn tcp_input_general(
    k: &mut KernelState,
    so: SocketId,
    tp: &mut Tcpcb,
    a: Addrs,
    th: &TcpRepr,
    mut m: MbufChain,
) {
    let now = k.ticks();
    tp.t_rcvtime = now;
    tp.t_keepprobes = 0;
    let mut seq = th.seq_number;
    let mut tlen = th.payload_len;
    let mut fin = th.flags.fin();
    let (sbspace, nofd, cantrcv) = {
        let s = k.so(so);
        (
            s.so_rcv.space() as u32,
            s.so_state & SS_NOFDREF != 0,
            s.so_state & SS_CANTRCVMORE != 0,
        )
    };
    let adv = seq_sub(tp.rcv_adv, tp.rcv_nxt).max(0) as u32;
    let rcv_wnd = sbspace.max(adv);
    tp.rcv_wnd = rcv_wnd;

    // PAWS (RFC 7323 section 5): an old timestamp marks an old duplicate.
    if let (Some((tsval, _)), true) = (th.timestamp, tp.ts_on()) {
        if !th.flags.rst() && tp.ts_recent != 0 && seq_lt(tsval, tp.ts_recent) {
            tcpstat(k, |s| s.tcps_pawsdrop += 1);
            tcpstat(k, |s| s.tcps_rcvduppack += 1);
            if dropack_ok(k, tp, th) {
                tp.t_flags |= TF_ACKNOW;
            }
            if tp.t_flags & TF_ACKNOW != 0 {
                tcp_output(k, so, tp);
            }
            return;
        }
    }

    // RST (RFC 5961 section 3): only the exact sequence number resets; one elsewhere
    // in the window gets a challenge ACK; one outside is ignored.
    if th.flags.rst() {
        if seq == tp.rcv_nxt {
            if tp.t_state != TcpState::SynReceived
                && tp.t_state != TcpState::Closing
                && tp.t_state != TcpState::LastAck
                && tp.t_state != TcpState::TimeWait
            {
                k.so_mut(so).so_error = Some(Errno::ECONNRESET);
                tcpstat(k, |s| s.tcps_drops += 1);
            } else if tp.t_state == TcpState::SynReceived && tp.t_flags & TF_PASSIVE == 0 {
                k.so_mut(so).so_error = Some(Errno::ECONNREFUSED);
            }
            tcp_close(k, so, tp);
        } else if seq_geq(seq, tp.rcv_nxt) && seq_lt(seq, tp.rcv_nxt.wrapping_add(rcv_wnd.max(1))) {
            challenge_ack(k, so, tp);
        } else {
            tcpstat(k, |s| s.tcps_badrst += 1);
        }
        return;
    }

    // A SYN on a synchronized connection (RFC 5961 section 4): challenge ACK.
    if th.flags.syn() {
        if tp.t_state == TcpState::SynReceived && seq == tp.irs {
            // Our SYN-ACK was lost: send it again.
            tp.snd_nxt = tp.iss;
            tp.t_flags |= TF_ACKNOW;
            tcp_output(k, so, tp);
            return;
        }
        challenge_ack(k, so, tp);
        return;
    }

    // Trim what we have already (the front).
    let todrop = seq_sub(tp.rcv_nxt, seq);
    if todrop > 0 {
        let mut todrop = todrop as usize;
        if todrop > tlen || (todrop == tlen && !fin) {
            tcpstat(k, |s| {
                s.tcps_rcvduppack += 1;
                s.tcps_rcvdupbyte += tlen as u64;
            });
            fin = false;
            if dropack_ok(k, tp, th) {
                tp.t_flags |= TF_ACKNOW;
            }
            todrop = tlen;
        } else {
            tcpstat(k, |s| {
                s.tcps_rcvpartduppack += 1;
                s.tcps_rcvdupbyte += todrop as u64;
            });
        }
        m.drop_front(todrop);
        seq = seq.wrapping_add(todrop as u32);
        tlen -= todrop;
    }

    // Data for a socket nobody can read any more: reset (tcps_rcvafterclose).
    if nofd && tlen > 0 && tp.t_state > TcpState::CloseWait {
        tcpstat(k, |s| s.tcps_rcvafterclose += 1);
        super::tcp_usrreq::tcp_drop(k, so, tp, Errno::ECONNRESET);
        return;
    }

    // Trim what lies beyond the window (the back).
    let todrop = seq_sub(
        seq.wrapping_add(tlen as u32),
        tp.rcv_nxt.wrapping_add(rcv_wnd),
    );
    if todrop > 0 {
        let todrop = todrop as usize;
        tcpstat(k, |s| s.tcps_rcvpackafterwin += 1);
        if todrop >= tlen {
            tcpstat(k, |s| s.tcps_rcvbyteafterwin += tlen as u64);
            if rcv_wnd == 0 && seq == tp.rcv_nxt {
                tp.t_flags |= TF_ACKNOW;
                tcpstat(k, |s| s.tcps_rcvwinprobe += 1);
            } else {
                if dropack_ok(k, tp, th) {
                    tp.t_flags |= TF_ACKNOW;
                }
                if tp.t_flags & TF_ACKNOW != 0 {
                    tcp_output(k, so, tp);
                }
                return;
            }
        } else {
            tcpstat(k, |s| s.tcps_rcvbyteafterwin += todrop as u64);
        }
        let todrop = todrop.min(tlen);
        m.drop_back(todrop);
        tlen -= todrop;
        fin = false;
    }

    // Remember the timestamp to echo (RFC 7323 section 4.3).
    if let Some((tsval, _)) = th.timestamp {
        if tp.ts_on() && seq_leq(seq, tp.last_ack_sent) && seq_geq(tsval, tp.ts_recent) {
            tp.ts_recent = tsval;
            tp.ts_recent_age = now;
        }
    }

    let Some(ack) = th.ack_number else {
        if tp.t_flags & TF_ACKNOW != 0 {
            tcp_output(k, so, tp);
        }
        return;
    };
    let mut needoutput = false;

    if tp.t_state == TcpState::SynReceived {
        // The accept queue is full: stay embryonic and let the SYN-ACK be sent again;
        // the peer's answer to it may find room (Linux does the same).
        let head = k.so(so).so_head;
        if head.is_some_and(|h| k.so_qfull(h)) {
            tcpstat(k, |s| s.tcps_listendrop += 1);
            return;
        }
        if seq_gt(ack, tp.snd_una) && seq_leq(ack, tp.snd_max) {
            tp.snd_wl1 = seq.wrapping_sub(1);
            tcp_established(k, so, tp);
        } else {
            dropwithreset(k, a, th);
            return;
        }
    }

    let tiwin = u32::from(th.window_len) << tp.snd_scale;
    let mss = tcp_seg(tp);
    // SACK (RFC 6675 section 5): the cumulative ACK and the blocks into the scoreboard.
    let mut sack_exit = false;
    let mut newly_sacked = 0;
    if let Some(sb) = tp.t_sack.as_mut() {
        if seq_leq(ack, tp.snd_max) {
            sack_exit = sb.update(ack);
            // At most TCP_REPR_SACK_BLOCKS blocks: on the stack, not the heap, per ACK.
            let mut blocks = [SackBlock::new(0, 0); crate::wire::tcp::TCP_REPR_SACK_BLOCKS];
            let mut n = 0;
            for &(l, r) in th.sack_ranges.iter().flatten() {
                blocks[n] = SackBlock::new(l, r);
                n += 1;
            }
            let rec = sb.record(ack, tp.snd_max, &blocks[..n]);
            newly_sacked = rec.newly_sacked;
            if rec.lost_rexmt > 0 {
                tcpstat(k, |s| s.tcps_sack_lostrexmt += u64::from(rec.lost_rexmt));
            }
        }
    }
    if seq_leq(ack, tp.snd_una) && tp.t_sack.is_some() {
        let classic = tlen == 0 && !fin && tiwin == tp.snd_wnd && ack == tp.snd_una;
        if (classic || newly_sacked > 0) && tp.snd_max != tp.snd_una {
            tcpstat(k, |s| s.tcps_rcvdupack += 1);
            tp.t_dupacks += 1;
            let sb = tp.t_sack.as_mut().expect("checked");
            if !tp.t_inrecovery
                && (tp.t_dupacks >= 3 || sb.is_lost(tp.snd_una))
                && sb.may_enter_recovery()
            {
                tcpstat(k, |s| s.tcps_fastrexmt += 1);
                tp.snd_recover = tp.snd_max;
                let flight = tp.flight_size();
                tp.t_cc
                    .enter_recovery(flight, mss, super::tcp_congctl::RecoveryKind::Sack);
                tp.t_inrecovery = true;
                tcp_timer_disarm(k, tp, TcpTimer::Rexmt);
                tp.t_rtt.on_retransmit();
                let first = tp.t_sack.as_mut().and_then(|sb| sb.enter_recovery());
                if let Some(seg) = first {
                    sack_send(k, so, tp, seg);
                }
            }
            if tp.t_inrecovery {
                sack_fill(k, so, tp);
                return;
            }
            if tp.t_dupacks <= 2 {
                limited_transmit(k, so, tp);
            }
        } else if tlen == 0 || ack != tp.snd_una {
            tp.t_dupacks = 0;
        }
    } else if seq_leq(ack, tp.snd_una) {
        if tlen == 0 && !fin && tiwin == tp.snd_wnd && ack == tp.snd_una {
            tcpstat(k, |s| s.tcps_rcvdupack += 1);
            if tp.snd_max == tp.snd_una || !tcp_timer_armed(tp, TcpTimer::Rexmt) {
                tp.t_dupacks = 0;
            } else {
                tp.t_dupacks += 1;
                if tp.t_dupacks == 3 && !tp.t_inrecovery && seq_geq(ack, tp.snd_recover) {
                    tcpstat(k, |s| s.tcps_fastrexmt += 1);
                    tp.snd_recover = tp.snd_max;
                    let flight = tp.flight_size();
                    tp.t_cc
                        .enter_recovery(flight, mss, super::tcp_congctl::RecoveryKind::NewReno);
                    tp.t_inrecovery = true;
                    tcp_timer_disarm(k, tp, TcpTimer::Rexmt);
                    tp.t_rtt.on_retransmit();
                    retransmit_one(k, so, tp, ack);
                    return;
                } else if tp.t_dupacks > 3 && tp.t_inrecovery {
                    tp.t_cc.on_dupack(mss);
                    tcp_output(k, so, tp);
                    return;
                } else if tp.t_dupacks <= 2 && !tp.t_inrecovery {
                    limited_transmit(k, so, tp);
                }
            }
        } else if tlen == 0 || ack != tp.snd_una {
            tp.t_dupacks = 0;
        }
    } else {
        if seq_gt(ack, tp.snd_max) {
            tcpstat(k, |s| s.tcps_rcvacktoomuch += 1);
            if dropack_ok(k, tp, th) {
                tp.t_flags |= TF_ACKNOW;
            }
            if tp.t_flags & TF_ACKNOW != 0 {
                tcp_output(k, so, tp);
            }
            return;
        }
        let acked = ack.wrapping_sub(tp.snd_una);
        tcpstat(k, |s| {
            s.tcps_rcvackpack += 1;
            s.tcps_rcvackbyte += u64::from(acked);
        });
        let mut partial = false;
        let was_recovering = tp.t_inrecovery;
        if tp.t_inrecovery && tp.t_sack.is_some() {
            if sack_exit {
                let flight = tp.snd_max.wrapping_sub(ack);
                tp.t_cc.exit_recovery(flight, mss);
                tp.t_inrecovery = false;
            }
        } else if tp.t_inrecovery {
            if seq_geq(ack, tp.snd_recover) {
                let flight = tp.snd_max.wrapping_sub(ack);
                tp.t_cc.exit_recovery(flight, mss);
                tp.t_inrecovery = false;
            } else {
                tcpstat(k, |s| s.tcps_newrenorexmt += 1);
                tp.t_cc.on_partial_ack(acked, mss);
                partial = true;
            }
        }
        tp.t_dupacks = 0;
        tp.t_tlp_sent = false;
        rtt_sample(k, tp, th, ack);
        if ack == tp.snd_max {
            tcp_timer_disarm(k, tp, TcpTimer::Rexmt);
            tp.t_tlp_pending = false;
            needoutput = true;
        } else if !tcp_timer_armed(tp, TcpTimer::Persist) {
            super::tcp_timer::tcp_rexmt_arm(k, so, tp);
        }
        if !was_recovering {
            let srtt = tp.t_rtt.srtt_ticks().map(u64::from);
            tp.t_cc.on_ack(acked, mss, now, srtt, false);
        }
        // The SYN takes a sequence number but no buffer byte.
        let mut data_acked = acked as usize;
        if tp.snd_una == tp.iss && data_acked > 0 {
            data_acked -= 1;
        }
        let cc = k.so(so).so_snd.sb_cc;
        let ourfinisacked = tp.t_flags & TF_SENTFIN != 0 && data_acked > cc;
        k.so_mut(so).so_snd.drop_stream(data_acked.min(cc));
        k.sowwakeup(so);
        tp.snd_una = ack;
        if seq_lt(tp.snd_nxt, tp.snd_una) {
            tp.snd_nxt = tp.snd_una;
        }
        if partial {
            tcp_timer_disarm(k, tp, TcpTimer::Rexmt);
            retransmit_one(k, so, tp, ack);
        }
        if tp.t_inrecovery && tp.t_sack.is_some() {
            sack_fill(k, so, tp);
        }
        if ourfinisacked {
            match tp.t_state {
                TcpState::FinWait1 => {
                    tp.t_state = TcpState::FinWait2;
                    if k.so(so).so_state & SS_CANTRCVMORE != 0 {
                        k.soisdisconnected(so);
                    }
                    if k.so(so).so_state & SS_NOFDREF != 0 {
                        tcp_timer_arm(k, so, tp, TcpTimer::TwoMsl, 2 * TCPTV_MSL);
                    }
                }
                TcpState::Closing => {
                    enter_time_wait(k, so, tp);
                }
                TcpState::LastAck => {
                    tcp_close(k, so, tp);
                    return;
                }
                _ => {}
            }
        }
    }
    if tp.t_state == TcpState::TimeWait {
        // Anything in TIME_WAIT (a retransmitted FIN) restarts the quiet time.
        tcp_timer_arm(k, so, tp, TcpTimer::TwoMsl, 2 * TCPTV_MSL);
        if fin || tlen > 0 {
            tp.t_flags |= TF_ACKNOW;
        }
    }

    // Window update (RFC 9293 3.10.7.4, fifth check).
    if seq_lt(tp.snd_wl1, seq)
        || (tp.snd_wl1 == seq
            && (seq_lt(tp.snd_wl2, ack) || (tp.snd_wl2 == ack && tiwin > tp.snd_wnd)))
    {
        if tlen == 0 && tp.snd_wl2 == ack && tiwin > tp.snd_wnd {
            tcpstat(k, |s| s.tcps_rcvwinupd += 1);
        }
        tp.snd_wnd = tiwin;
        tp.snd_wl1 = seq;
        tp.snd_wl2 = ack;
        tp.max_sndwnd = tp.max_sndwnd.max(tiwin);
        needoutput = true;
    }

    // Data and FIN.
    if (tlen > 0 || fin) && !tp.t_state.have_rcvd_fin() {
        let fin_taken;
        if seq == tp.rcv_nxt && tp.t_segq.is_empty() {
            tp.rcv_nxt = tp.rcv_nxt.wrapping_add(tlen as u32);
            if tlen > 0 {
                tcpstat(k, |s| {
                    s.tcps_rcvpack += 1;
                    s.tcps_rcvbyte += tlen as u64;
                });
                if !cantrcv {
                    k.so_mut(so).so_rcv.append_stream(m);
                    k.sorwakeup(so);
                }
                tcp_autorcvbuf(k, so, tp, th, tlen);
                // Delayed ACK, but at least every second full segment.
                if tp.t_flags & TF_DELACK != 0 {
                    tp.t_flags |= TF_ACKNOW;
                } else {
                    tp.t_flags |= TF_DELACK;
                    tcp_timer_arm(k, so, tp, TcpTimer::Delack, TCPTV_DELACK);
                }
            }
            fin_taken = fin;
        } else {
            tp.t_rcvoopack = tp.t_rcvoopack.wrapping_add(1);
            tcpstat(k, |s| {
                s.tcps_rcvoopack += 1;
                s.tcps_rcvoobyte += tlen as u64;
            });
            let lim = (sbspace as usize).max(tlen);
            let mut limits = tp.t_segq.limits();
            limits.max_bytes = lim.max(super::tcp_reass::TCP_REASS_MAXBYTES);
            tp.t_segq.set_limits(limits);
            let r = tp.t_segq.insert(tp.rcv_nxt, seq, m, fin);
            if r.dropped {
                tcpstat(k, |s| s.tcps_rcvmemdrop += 1);
            }
            let (ready, rfin, nxt) = tp.t_segq.take_ready(tp.rcv_nxt);
            tp.rcv_nxt = nxt;
            if !ready.is_empty() {
                tcpstat(k, |s| {
                    s.tcps_rcvpack += 1;
                    s.tcps_rcvbyte += ready.len() as u64;
                });
                if !cantrcv {
                    k.so_mut(so).so_rcv.append_stream(ready);
                    k.sorwakeup(so);
                }
            }
            fin_taken = rfin;
            tp.t_flags |= TF_ACKNOW;
        }
        if fin_taken {
            tp.rcv_nxt = tp.rcv_nxt.wrapping_add(1);
            tp.t_flags |= TF_ACKNOW;
            k.socantrcvmore(so);
            match tp.t_state {
                TcpState::SynReceived | TcpState::Established => tp.t_state = TcpState::CloseWait,
                TcpState::FinWait1 => tp.t_state = TcpState::Closing,
                TcpState::FinWait2 => enter_time_wait(k, so, tp),
                _ => {}
            }
        }
    }
    if needoutput || tp.t_flags & TF_ACKNOW != 0 {
        tcp_output(k, so, tp);
    }
}

/// Data per segment for congestion control.
fn tcp_seg(tp: &Tcpcb) -> u32 {
    super::tcp_output::tcp_segsize(tp)
}

/// Send the segment at `from` again, one segment whatever cwnd says (fast retransmit,
/// NewReno partial ACK).
pub(crate) fn retransmit_one(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb, from: u32) {
    let onxt = tp.snd_nxt;
    tp.snd_nxt = from;
    tp.t_force = true;
    tcp_output(k, so, tp);
    tp.t_force = false;
    if seq_gt(onxt, tp.snd_nxt) {
        tp.snd_nxt = onxt;
    }
}

/// Limited transmit (RFC 3042): on the first two duplicate ACKs send one new segment
/// if the peer's window allows, whatever cwnd says, so that a small window still draws
/// the duplicate ACKs fast retransmit needs.
fn limited_transmit(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb) {
    let out = tp.snd_max.wrapping_sub(tp.snd_una);
    let unsent = (k.so(so).so_snd.sb_cc as u32).saturating_sub(out);
    if unsent == 0 || tp.snd_wnd.saturating_sub(out) < tcp_seg(tp).min(unsent) {
        return;
    }
    let before = tp.snd_max;
    retransmit_one(k, so, tp, tp.snd_max);
    if tp.snd_max != before {
        tcpstat(k, |s| s.tcps_limitedxmit += 1);
        if let Some(sb) = tp.t_sack.as_mut() {
            sb.sent(&super::tcp_sack::NextSeg {
                seq: before,
                len: tp.snd_max.wrapping_sub(before),
                kind: SegKind::New,
            });
        }
    }
}

/// Ticks between two ACKs a connection sends for dropped segments without data (Linux's
/// tcp_invalid_ratelimit, 500 ms).
pub const TCP_DROPACK_INTERVAL: u64 = 500;

/// Whether a segment being dropped may be answered with an ACK (dropafterack). One
/// without data gets at most one such ACK per connection every
/// [`TCP_DROPACK_INTERVAL`] (NetBSD rate-limits these per host, tcp_ackdrop_ppslim;
/// Linux per socket): two ends that disagree about a connection (one took data the
/// other never sent, or holds a timestamp ahead of the other's clock) otherwise answer
/// each other's ACKs forever, the PAWS drop or the ACK of unsent data of one side
/// feeding the other's. A segment with data always gets its ACK: its sender may be
/// retransmitting because our ACK was lost.
fn dropack_ok(k: &mut KernelState, tp: &mut Tcpcb, th: &TcpRepr) -> bool {
    if th.payload_len > 0 || th.flags.fin() || th.flags.syn() {
        return true;
    }
    let now = k.ticks();
    if tp
        .t_dropack_last
        .is_some_and(|t| now.saturating_sub(t) < TCP_DROPACK_INTERVAL)
    {
        tcpstat(k, |s| s.tcps_dropack_limited += 1);
        return false;
    }
    tp.t_dropack_last = Some(now);
    true
}

/// A challenge ACK (RFC 5961 sections 3.2 and 4.2), at most
/// [`TCP_CHALLENGE_ACK_LIMIT`] a second per kernel (section 7).
fn challenge_ack(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb) {
    let now = k.ticks();
    let Some(g) = tcp_globals(k) else {
        return;
    };
    let (count, since) = g.challenge_acks;
    if now.saturating_sub(since) >= 1000 {
        g.challenge_acks = (0, now);
    } else if count >= TCP_CHALLENGE_ACK_LIMIT {
        g.tcpstat.tcps_challengeack_limited += 1;
        return;
    }
    g.challenge_acks.0 += 1;
    g.tcpstat.tcps_challengeack += 1;
    tp.t_flags |= TF_ACKNOW;
    tcp_output(k, so, tp);
}

/// Send one segment the scoreboard chose and tell it (RFC 6675 step C).
fn sack_send(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb, seg: super::tcp_sack::NextSeg) {
    if seg.kind != SegKind::New {
        tcpstat(k, |s| s.tcps_sackrexmt += 1);
    }
    retransmit_one(k, so, tp, seg.seq);
    if let Some(sb) = tp.t_sack.as_mut() {
        sb.sent(&seg);
        if seq_gt(tp.snd_max, sb.high_data()) {
            let new = super::tcp_sack::NextSeg {
                seq: sb.high_data(),
                len: tp.snd_max.wrapping_sub(sb.high_data()),
                kind: SegKind::New,
            };
            sb.sent(&new);
        }
    }
}

/// During SACK recovery, send while cwnd - pipe allows a segment (RFC 6675 step C).
pub(crate) fn sack_fill(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb) {
    let mss = tcp_seg(tp);
    for _ in 0..64 {
        let Some(sb) = tp.t_sack.as_ref() else {
            return;
        };
        if tp.t_cc.cwnd().saturating_sub(sb.pipe()) < mss {
            return;
        }
        let out = tp.snd_max.wrapping_sub(tp.snd_una);
        let unsent = (k.so(so).so_snd.sb_cc as u32).saturating_sub(out);
        let room = tp.snd_wnd.saturating_sub(out);
        let Some(seg) = sb.next_seg(unsent.min(room)) else {
            return;
        };
        let before = (tp.snd_max, sb.high_rxt(), sb.relost_bytes());
        sack_send(k, so, tp, seg);
        let sb = tp.t_sack.as_ref().expect("present");
        if (tp.snd_max, sb.high_rxt(), sb.relost_bytes()) == before && seg.kind != SegKind::Rescue {
            return; // nothing went out (no buffer, no route): try on the next ACK
        }
    }
}

/// Both FINs are done: wait 2MSL (TIME_WAIT).
fn enter_time_wait(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb) {
    tp.t_state = TcpState::TimeWait;
    tcp_canceltimers(k, tp);
    tcp_timer_arm(k, so, tp, TcpTimer::TwoMsl, 2 * TCPTV_MSL);
    k.soisdisconnected(so);
}
