//! TCP's protocol switch entry (NetBSD: netinet/tcp_usrreq.c, tcp_subr.c tcp_close,
//! tcp_drop).
//!
//! The user requests map onto the state machine as in BSD: connect sends the SYN and
//! marks the socket connecting; listen marks the control block LISTEN and tcp input
//! makes the connections (sonewconn); send appends to `so_snd` and calls tcp output;
//! shutdown and close send our FIN after the data (tcp_usrclosed). A closed socket
//! whose connection still has work (data to deliver, a FIN to exchange, TIME_WAIT)
//! detaches as [`Detach::Lingering`]: the control block stays on the socket until the
//! connection ends, then [`tcp_close`] frees the socket. SO_LINGER with time 0 resets
//! the connection instead.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use super::in_pcb::Inpcb;
use super::tcp_fsm::TcpState;
use super::tcp_isn::{tcp_new_iss, SipKey, TcpTuple};
use super::tcp_output::{tcp_output, tcp_send_rst};
use super::tcp_sysctl::{tcp_defaults, TcpDefaults};
use super::tcp_timer::{tcp_canceltimers, tcp_timer_arm};
use super::tcp_var::*;
use crate::abi::netbsd as nb;
use crate::kern::errno::{Errno, KResult};
use crate::kern::kern_clock::HZ;
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::MbufChain;
use crate::kern::sockaddr::SockAddr;
use crate::kern::uipc_domain::{Detach, Protosw, Sockopt, SoptDir};
use crate::kern::uipc_domain::{PR_ABRTACPTDIS, PR_CONNREQUIRED, PR_LISTEN, PR_WANTRCVD};
use crate::kern::uipc_socket::{sockopt_int, SocketId, SS_NOFDREF};

/// The TCP/IPv4 protocol switch entry.
pub struct TcpProto;

fn inet4(nam: &SockAddr) -> KResult<SocketAddrV4> {
    match nam {
        SockAddr::Inet(SocketAddr::V4(a)) => Ok(*a),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

fn sin(a: Ipv4Addr, p: u16) -> SockAddr {
    SockAddr::Inet(SocketAddr::V4(SocketAddrV4::new(a, p)))
}

/// The ISN secret of this kernel, made on first use from the host's random source.
pub(crate) fn iss_secret(k: &mut KernelState) -> SipKey {
    let mut b = [0u8; 16];
    let have = tcp_globals(k).map(|g| g.iss_secret);
    if let Some(key) = have {
        if key != SipKey::new(0, 0) {
            return key;
        }
    }
    k.host.getrandom(&mut b);
    let key = SipKey::from_bytes(&b);
    if let Some(g) = tcp_globals(k) {
        g.iss_secret = key;
    }
    key
}

/// A new ISS for the connection of `tp` (tcp_new_iss).
pub(crate) fn tcp_iss(k: &mut KernelState, tp: &Tcpcb) -> u32 {
    let key = iss_secret(k);
    let t = TcpTuple {
        laddr: tp.inp.laddr,
        lport: tp.inp.lport,
        faddr: tp.inp.faddr,
        fport: tp.inp.fport,
    };
    tcp_new_iss(&key, &t, k.ticks())
}

/// The MSS we offer towards `dst`: the outgoing interface's MTU less 40 (tcp_mss_to_advertise).
pub(crate) fn tcp_mss_for(k: &mut KernelState, src: Ipv4Addr, dst: Ipv4Addr) -> u32 {
    let mtu = match super::ip_output::ip_route(k, src, dst, false) {
        Ok(Some((_, _, mtu))) => mtu,
        _ => 576,
    };
    mtu.saturating_sub(40).clamp(64, 65535)
}

/// Run `f` on a socket's control block.
fn with_tp<R>(
    k: &mut KernelState,
    so: SocketId,
    f: impl FnOnce(&mut KernelState, &mut Tcpcb) -> R,
) -> KResult<R> {
    let mut tp = take_tp(k, so).ok_or(Errno::EINVAL)?;
    let r = f(k, &mut tp);
    put_tp(k, so, tp);
    Ok(r)
}

/// The connection is over (tcp_close): timers off, out of the table, the socket
/// disconnected, and freed if no descriptor or accept queue will ever see it.
pub fn tcp_close(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb) {
    tcp_canceltimers(k, tp);
    tp.t_segq.clear();
    if tp.inp.lport != 0 {
        if let Some(g) = tcp_globals(k) {
            g.tcbtable.remove(so, tp.inp.lport);
        }
    }
    let was = tp.t_state;
    tp.t_state = TcpState::Closed;
    tcpstat(k, |s| s.tcps_closed += 1);
    let Some(s) = k.sockets.get(so) else {
        return;
    };
    let embryonic = s.so_head.is_some() && s.so_onq0;
    let nofd = s.so_state & SS_NOFDREF != 0;
    if was != TcpState::Listen {
        k.soisdisconnected(so);
    }
    if embryonic || nofd {
        k.so_mut(so).so_pcb = None;
        k.sofree(so);
    }
}

/// Drop the connection with an error for the user (tcp_drop): RST if synchronized.
pub fn tcp_drop(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb, err: Errno) {
    if tp.t_state.have_rcvd_syn() {
        tcp_send_rst(k, tp);
        tcpstat(k, |s| s.tcps_drops += 1);
    } else {
        tcpstat(k, |s| s.tcps_conndrops += 1);
    }
    if k.sockets.get(so).is_some() {
        k.so_mut(so).so_error = Some(err);
    }
    tcp_close(k, so, tp);
}

/// The user will send no more (tcp_usrclosed): the FIN states.
fn tcp_usrclosed(k: &mut KernelState, so: SocketId, tp: &mut Tcpcb) {
    match tp.t_state {
        TcpState::Closed | TcpState::Listen | TcpState::SynSent => {
            tcp_close(k, so, tp);
            return;
        }
        TcpState::SynReceived | TcpState::Established => tp.t_state = TcpState::FinWait1,
        TcpState::CloseWait => tp.t_state = TcpState::LastAck,
        _ => {}
    }
    if tp.t_state >= TcpState::FinWait2 {
        k.soisdisconnected(so);
        // A closed socket does not wait for the peer's FIN forever (tcp_maxidle).
        if k.so(so).so_state & SS_NOFDREF != 0 && tp.t_state == TcpState::FinWait2 {
            tcp_timer_arm(k, so, tp, TcpTimer::TwoMsl, 2 * TCPTV_MSL);
        }
    }
}

fn attach_tcb(k: &mut KernelState, so: SocketId, d: &TcpDefaults) {
    let mut tp = Tcpcb::new(d.congctl);
    tp.t_flags = d.syn_flags();
    tp.t_keepidle = d.keepidle;
    tp.t_keepintvl = d.keepintvl;
    tp.t_keepcnt = d.keepcnt;
    tp.t_ttl = k.sysctl.ip_defttl();
    tp.t_pmtud = d.mtudisc;
    tp.request_r_scale = tcp_rcv_scale(k, so);
    k.so_mut(so).so_pcb = Some(Box::new(tp));
}

/// The window scale to ask for: enough for the receive buffer at the largest it may
/// grow to.
pub(crate) fn tcp_rcv_scale(k: &mut KernelState, so: SocketId) -> u8 {
    let rcv = &k.so(so).so_rcv;
    let (hiwat, auto) = (rcv.sb_hiwat, rcv.sb_autosize);
    let max = if auto {
        super::tcp_sysctl::tcp_autobuf_max(k, true).unwrap_or(0)
    } else {
        0
    };
    Tcpcb::scale_for(hiwat.max(max))
}

/// Enter a connection made by a listener into the table with its control block
/// (the part of syn_cache_get / sonewconn that is the protocol's).
pub(crate) fn tcp_attach_new(k: &mut KernelState, so: SocketId, tp: Tcpcb) {
    if let Some(g) = tcp_globals(k) {
        g.tcbtable.insert(so, tp.inp);
    }
    k.so_mut(so).so_pcb = Some(Box::new(tp));
}

impl Protosw for TcpProto {
    fn pr_name(&self) -> &'static str {
        "tcp"
    }

    fn pr_type(&self) -> i32 {
        nb::RUMP_SOCK_STREAM
    }

    fn pr_protocol(&self) -> i32 {
        nb::RUMP_IPPROTO_TCP
    }

    fn pr_flags(&self) -> u32 {
        PR_CONNREQUIRED | PR_WANTRCVD | PR_LISTEN | PR_ABRTACPTDIS
    }

    fn attach(&self, k: &mut KernelState, so: SocketId, _proto: i32) -> KResult<()> {
        if k.inet().is_none() {
            return Err(Errno::EAFNOSUPPORT);
        }
        let d = tcp_defaults(k);
        k.so_mut(so).soreserve(d.sendspace, d.recvspace)?;
        let rcv_auto = super::tcp_sysctl::tcp_autobuf_max(k, true).is_some();
        let snd_auto = super::tcp_sysctl::tcp_autobuf_max(k, false).is_some();
        let s = k.so_mut(so);
        s.so_rcv.sb_autosize = rcv_auto;
        s.so_snd.sb_autosize = snd_auto;
        attach_tcb(k, so, &d);
        Ok(())
    }

    fn detach(&self, k: &mut KernelState, so: SocketId) -> Detach {
        let Some(mut tp) = take_tp(k, so) else {
            return Detach::Done;
        };
        let s = k.so(so);
        let linger0 = s.so_options & nb::RUMP_SO_LINGER != 0 && s.so_linger == 0;
        if tp.t_state < TcpState::SynReceived || linger0 {
            if tp.t_state.have_rcvd_syn() {
                tcp_drop(k, so, &mut tp, Errno::ECONNRESET);
            } else {
                tcp_close(k, so, &mut tp);
            }
            // tcp_close freed the socket (no descriptor): nothing left to do.
            return Detach::Done;
        }
        k.soisdisconnecting(so);
        k.so_mut(so).so_rcv.flush();
        tcp_usrclosed(k, so, &mut tp);
        if tp.t_state == TcpState::Closed {
            return Detach::Done;
        }
        tcp_output(k, so, &mut tp);
        if tp.t_state == TcpState::Closed || k.sockets.get(so).is_none() {
            return Detach::Done;
        }
        put_tp(k, so, tp);
        Detach::Lingering
    }

    fn bind(&self, k: &mut KernelState, so: SocketId, nam: &SockAddr) -> KResult<()> {
        let a = inet4(nam)?;
        with_tp(k, so, |k, tp| {
            if tp.inp.lport != 0 {
                return Err(Errno::EINVAL);
            }
            let ip = *a.ip();
            if !ip.is_unspecified() && !k.in_is_local(ip) {
                return Err(Errno::EADDRNOTAVAIL);
            }
            do_bind(k, so, tp, ip, a.port())
        })?
    }

    fn listen(&self, k: &mut KernelState, so: SocketId, _backlog: i32) -> KResult<()> {
        with_tp(k, so, |k, tp| {
            if tp.inp.lport == 0 {
                do_bind(k, so, tp, Ipv4Addr::UNSPECIFIED, 0)?;
            }
            tp.t_state = TcpState::Listen;
            Ok(())
        })?
    }

    fn connect(&self, k: &mut KernelState, so: SocketId, nam: &SockAddr) -> KResult<()> {
        let a = inet4(nam)?;
        if a.port() == 0 {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let mut faddr = *a.ip();
        if faddr.is_unspecified() {
            faddr = k.in_primary_addr().ok_or(Errno::EADDRNOTAVAIL)?;
        }
        if faddr.is_broadcast() || faddr.is_multicast() || k.in_is_broadcast(faddr) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        with_tp(k, so, |k, tp| {
            if tp.t_state != TcpState::Closed {
                return Err(Errno::EISCONN);
            }
            let laddr = if tp.inp.laddr.is_unspecified() {
                k.in_selectsrc(faddr)?
            } else {
                tp.inp.laddr
            };
            if tp.inp.lport == 0 {
                do_bind(k, so, tp, Ipv4Addr::UNSPECIFIED, 0)?;
            }
            let pcb = Inpcb {
                laddr,
                faddr,
                fport: a.port(),
                ..tp.inp
            };
            let g = tcp_globals(k).ok_or(Errno::EAFNOSUPPORT)?;
            if g.tcbtable.tuple_in_use(so, &pcb) {
                return Err(Errno::EADDRINUSE);
            }
            g.tcbtable.update(so, pcb.lport, |p| *p = pcb);
            g.tcpstat.tcps_connattempt += 1;
            tp.inp = pcb;
            tp.t_ourmss = tcp_mss_for(k, laddr, faddr);
            tp.t_maxseg = tp.t_ourmss;
            if tp.t_usermss != 0 {
                tp.t_maxseg = tp.t_maxseg.min(tp.t_usermss);
            }
            tp.request_r_scale = tcp_rcv_scale(k, so);
            tp.iss = tcp_iss(k, tp);
            tp.snd_una = tp.iss;
            tp.snd_nxt = tp.iss;
            tp.snd_max = tp.iss;
            tp.snd_recover = tp.iss;
            tp.t_state = TcpState::SynSent;
            tp.t_rcvtime = k.ticks();
            let mss = tp.t_maxseg;
            tp.t_cc.init(mss);
            k.soisconnecting(so);
            let t = tp.t_keepinit;
            tcp_timer_arm(k, so, tp, TcpTimer::Keep, t);
            tcp_output(k, so, tp);
            Ok(())
        })?
    }

    fn disconnect(&self, k: &mut KernelState, so: SocketId) -> KResult<()> {
        let mut tp = take_tp(k, so).ok_or(Errno::ENOTCONN)?;
        k.soisdisconnecting(so);
        tcp_usrclosed(k, so, &mut tp);
        tcp_output(k, so, &mut tp);
        put_tp(k, so, tp);
        Ok(())
    }

    fn shutdown(&self, k: &mut KernelState, so: SocketId) -> KResult<()> {
        let mut tp = take_tp(k, so).ok_or(Errno::EINVAL)?;
        tcp_usrclosed(k, so, &mut tp);
        if tp.t_state != TcpState::Closed {
            tcp_output(k, so, &mut tp);
        }
        put_tp(k, so, tp);
        Ok(())
    }

    fn abort(&self, k: &mut KernelState, so: SocketId) {
        if let Some(mut tp) = take_tp(k, so) {
            k.so_mut(so).so_state |= SS_NOFDREF;
            tcp_drop(k, so, &mut tp, Errno::ECONNABORTED);
        }
    }

    fn accept(&self, k: &mut KernelState, so: SocketId) -> KResult<SockAddr> {
        let s = k.so(so);
        let tp = s
            .so_pcb
            .as_ref()
            .and_then(|p| p.downcast_ref::<Tcpcb>())
            .ok_or(Errno::ECONNABORTED)?;
        Ok(sin(tp.inp.faddr, tp.inp.fport))
    }

    fn sockaddr(&self, k: &mut KernelState, so: SocketId) -> KResult<SockAddr> {
        with_tp(k, so, |_, tp| sin(tp.inp.laddr, tp.inp.lport))
    }

    fn peeraddr(&self, k: &mut KernelState, so: SocketId) -> KResult<SockAddr> {
        with_tp(k, so, |_, tp| {
            if tp.inp.faddr.is_unspecified() {
                Err(Errno::ENOTCONN)
            } else {
                Ok(sin(tp.inp.faddr, tp.inp.fport))
            }
        })?
    }

    fn rcvd(&self, k: &mut KernelState, so: SocketId) {
        let _ = with_tp(k, so, |k, tp| tcp_output(k, so, tp));
    }

    fn send(
        &self,
        k: &mut KernelState,
        so: SocketId,
        m: MbufChain,
        nam: Option<&SockAddr>,
    ) -> KResult<()> {
        if nam.is_some() {
            return Err(Errno::EISCONN);
        }
        with_tp(k, so, |k, tp| {
            if !tp.t_state.synchronized() && tp.t_state != TcpState::SynSent {
                return Err(Errno::ENOTCONN);
            }
            k.so_mut(so).so_snd.append_stream(m);
            tcp_output(k, so, tp);
            Ok(())
        })?
    }

    fn ctloutput(
        &self,
        k: &mut KernelState,
        so: SocketId,
        dir: SoptDir,
        opt: &mut Sockopt,
    ) -> KResult<()> {
        if opt.level == nb::RUMP_SOL_SOCKET {
            if dir == SoptDir::Set && opt.name == nb::RUMP_SO_KEEPALIVE {
                let _ = with_tp(k, so, |k, tp| {
                    if tp.t_state.synchronized() {
                        let t = tp.t_keepidle;
                        tcp_timer_arm(k, so, tp, TcpTimer::Keep, t);
                    }
                });
            }
            return Err(Errno::ENOPROTOOPT);
        }
        if opt.level == nb::RUMP_IPPROTO_IP {
            return with_tp(k, so, |_, tp| ip_ctloutput(tp, dir, opt))?;
        }
        if opt.level != nb::RUMP_IPPROTO_TCP {
            return Err(Errno::ENOPROTOOPT);
        }
        with_tp(k, so, |k, tp| {
            let int = |v: u64| (v.min(i32::MAX as u64) as i32).to_ne_bytes().to_vec();
            match dir {
                SoptDir::Get => {
                    opt.data = match opt.name {
                        nb::RUMP_TCP_NODELAY => int(u64::from(tp.t_flags & TF_NODELAY != 0)),
                        nb::RUMP_TCP_MAXSEG => int(u64::from(tp.t_maxseg)),
                        nb::RUMP_TCP_KEEPIDLE => int(tp.t_keepidle / HZ),
                        nb::RUMP_TCP_KEEPINTVL => int(tp.t_keepintvl / HZ),
                        nb::RUMP_TCP_KEEPCNT => int(u64::from(tp.t_keepcnt)),
                        nb::RUMP_TCP_KEEPINIT => int(tp.t_keepinit / HZ),
                        nb::RUMP_TCP_INFO => tcp_info(k, so, tp),
                        nb::RUMP_TCP_CONGCTL => {
                            let mut v = tp.t_cc.name().as_bytes().to_vec();
                            v.push(0);
                            v
                        }
                        _ => return Err(Errno::ENOPROTOOPT),
                    };
                    Ok(())
                }
                SoptDir::Set if opt.name == nb::RUMP_TCP_CONGCTL => {
                    // A name, with or without its NUL.
                    let name = opt.data.split(|&b| b == 0).next().unwrap_or(&[]);
                    let name = std::str::from_utf8(name).map_err(|_| Errno::EINVAL)?;
                    let mut cc = super::tcp_congctl::congctl_by_name(name).ok_or(Errno::EINVAL)?;
                    cc.init(tcp_seg_size(tp));
                    if tp.t_state.synchronized() {
                        cc.take_over(tp.t_cc.cwnd(), tp.t_cc.ssthresh());
                    }
                    tp.t_cc = cc;
                    Ok(())
                }
                SoptDir::Set => {
                    let v = sockopt_int(&opt.data)?;
                    match opt.name {
                        nb::RUMP_TCP_NODELAY => {
                            if v != 0 {
                                tp.t_flags |= TF_NODELAY;
                            } else {
                                tp.t_flags &= !TF_NODELAY;
                            }
                        }
                        nb::RUMP_TCP_MAXSEG => {
                            if !(64..=65535).contains(&v) {
                                return Err(Errno::EINVAL);
                            }
                            tp.t_usermss = v as u32;
                            if tp.t_maxseg > v as u32 {
                                tp.t_maxseg = v as u32;
                            }
                        }
                        nb::RUMP_TCP_KEEPIDLE
                        | nb::RUMP_TCP_KEEPINTVL
                        | nb::RUMP_TCP_KEEPCNT
                        | nb::RUMP_TCP_KEEPINIT => {
                            if v < 1 {
                                return Err(Errno::EINVAL);
                            }
                            match opt.name {
                                nb::RUMP_TCP_KEEPIDLE => tp.t_keepidle = v as u64 * HZ,
                                nb::RUMP_TCP_KEEPINTVL => tp.t_keepintvl = v as u64 * HZ,
                                nb::RUMP_TCP_KEEPINIT => tp.t_keepinit = v as u64 * HZ,
                                _ => tp.t_keepcnt = v as u32,
                            }
                        }
                        nb::RUMP_TCP_INFO => return Err(Errno::EINVAL),
                        _ => return Err(Errno::ENOPROTOOPT),
                    }
                    Ok(())
                }
            }
        })?
    }

    fn ioctl(&self, k: &mut KernelState, _so: SocketId, cmd: u64, data: &mut [u8]) -> KResult<()> {
        k.in_control(cmd, data)
    }
}

/// The IP-level options of a TCP socket (ip_ctloutput for its inpcb): IP_TTL and IP_TOS.
fn ip_ctloutput(tp: &mut Tcpcb, dir: SoptDir, opt: &mut Sockopt) -> KResult<()> {
    match (dir, opt.name) {
        (SoptDir::Get, nb::RUMP_IP_TTL) => opt.data = i32::from(tp.t_ttl).to_ne_bytes().to_vec(),
        (SoptDir::Get, nb::RUMP_IP_TOS) => opt.data = i32::from(tp.t_tos).to_ne_bytes().to_vec(),
        (SoptDir::Set, nb::RUMP_IP_TTL | nb::RUMP_IP_TOS) => {
            let v = sockopt_int(&opt.data)?;
            let v = u8::try_from(v).map_err(|_| Errno::EINVAL)?;
            if opt.name == nb::RUMP_IP_TTL {
                tp.t_ttl = v;
            } else {
                tp.t_tos = v;
            }
        }
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(())
}

/// The MSS a connection sends with (for a congestion controller's initial window).
fn tcp_seg_size(tp: &Tcpcb) -> u32 {
    tp.t_maxseg.max(64)
}

/// NetBSD's `struct tcp_info` for a connection, in its C layout (see
/// `abi::netbsd::rump_tcp_info`): 7 bytes of state and flags, a pad byte, then 32-bit
/// fields in order, 236 bytes in all.
fn tcp_info(k: &KernelState, so: SocketId, tp: &Tcpcb) -> Vec<u8> {
    let mut options = 0u8;
    if tp.ts_on() {
        options |= nb::RUMP_TCPI_OPT_TIMESTAMPS as u8;
    }
    if tp.t_flags & TF_WILL_SACK != 0 {
        options |= nb::RUMP_TCPI_OPT_SACK as u8;
    }
    let scaled = tp.t_flags & (TF_REQ_SCALE | TF_RCVD_SCALE) == (TF_REQ_SCALE | TF_RCVD_SCALE);
    let mut wscale = 0u8;
    if scaled {
        options |= nb::RUMP_TCPI_OPT_WSCALE as u8;
        wscale = (tp.snd_scale & 0xf) | (tp.rcv_scale & 0xf) << 4;
    }
    let usec = |ticks: u64| u32::try_from(ticks * (1_000_000 / HZ)).unwrap_or(u32::MAX);
    let rto = u64::from(tp.t_rtt.rto_ticks());
    let idle = k.ticks().saturating_sub(tp.t_rcvtime);
    let rcv_space = k.so(so).so_rcv.space() as u32;
    let mut b = vec![
        tp.t_state as u8,
        0,
        tp.t_rtt.rxtshift().min(255) as u8,
        0,
        tp.t_rtt.rxtshift().min(255) as u8,
        options,
        wscale,
        0,
    ];
    let words: [u32; 31] = [
        usec(rto),
        0,
        tp.t_maxseg,
        tp.t_ourmss,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        usec(idle),
        0,
        0,
        0,
        tp.t_rtt.srtt_usec(),
        tp.t_rtt.rttvar_usec(),
        tp.t_cc.ssthresh(),
        tp.t_cc.cwnd(),
        0,
        0,
        0,
        rcv_space,
        tp.snd_wnd,
        0,
        tp.snd_nxt,
        tp.rcv_nxt,
        0,
        tp.t_sndrexmitpack,
        tp.t_rcvoopack,
        tp.t_sndzerowin,
    ];
    for w in words {
        b.extend_from_slice(&w.to_ne_bytes());
    }
    b.resize(TCP_INFO_SIZE, 0);
    b
}

/// `sizeof(struct tcp_info)`.
pub const TCP_INFO_SIZE: usize = 236;

fn do_bind(
    k: &mut KernelState,
    so: SocketId,
    tp: &mut Tcpcb,
    laddr: Ipv4Addr,
    lport: u16,
) -> KResult<()> {
    let o = k.so(so).so_options;
    let pcb = Inpcb {
        laddr,
        lport,
        reuseaddr: o & nb::RUMP_SO_REUSEADDR != 0,
        reuseport: o & nb::RUMP_SO_REUSEPORT != 0,
        ..Inpcb::default()
    };
    let r = k.random16();
    let g = tcp_globals(k).ok_or(Errno::EAFNOSUPPORT)?;
    let port = g.tcbtable.bind(so, pcb, r)?;
    tp.inp = Inpcb { lport: port, ..pcb };
    Ok(())
}

/// An ICMP error about a segment we sent (tcp_ctlinput, RFC 5927's checks): only for a
/// connection whose 4-tuple matches and whose quoted sequence number is one we have
/// sent and not had acknowledged. A port or protocol unreachable refuses a connection
/// still in SYN_SENT (ECONNREFUSED); host and network unreachables end it there too once
/// the SYN has been retransmitted a few times. Errors on established connections are
/// soft: TCP's own timers decide (NetBSD keeps them in t_softerror). Need-frag goes to
/// [`tcp_mtudisc`] instead.
pub fn tcp_ctlinput(
    k: &mut KernelState,
    err: Errno,
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    seq: u32,
) {
    let Some((so, mut tp, ours)) = ctl_tcb(k, src, sport, dst, dport, seq) else {
        return;
    };
    if ours && tp.t_state == TcpState::SynSent {
        let hard = err == Errno::ECONNREFUSED;
        let given_up =
            matches!(err, Errno::EHOSTUNREACH | Errno::ENETUNREACH) && tp.t_rtt.rxtshift() >= 3;
        if hard || given_up {
            tcp_drop(k, so, &mut tp, err);
        }
    }
    put_tp(k, so, tp);
}

/// The connection an ICMP error quotes a segment of, taken out for the caller to put
/// back, and whether the error can be about it: the exact 4-tuple and a sequence number
/// we sent and have not had acknowledged (RFC 5927's check against blind attacks).
fn ctl_tcb(
    k: &mut KernelState,
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    seq: u32,
) -> Option<(SocketId, Box<Tcpcb>, bool)> {
    let so = tcp_globals(k).and_then(|g| g.tcbtable.lookup(src, sport, dst, dport))?;
    let tp = take_tp(k, so)?;
    let exact = tp.inp.faddr == dst && tp.inp.fport == dport;
    let in_flight =
        super::tcp_seq::seq_geq(seq, tp.snd_una) && super::tcp_seq::seq_lt(seq, tp.snd_max);
    Some((so, tp, exact && in_flight))
}

/// ICMP need-frag for a segment of ours (tcp_mtudisc, RFC 1191 section 6.4): a router
/// on the path forwards datagrams of at most `mtu` bytes and ours, with DF, were
/// larger. If the quoted segment is one of ours in flight ([`ctl_tcb`]), lower the
/// connection's MSS to fit `mtu` (at least [`TCP_MINMSS`]) and send what is outstanding
/// again in the smaller size.
#[allow(clippy::too_many_arguments)]
pub fn tcp_mtudisc(
    k: &mut KernelState,
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    seq: u32,
    mtu: u32,
) {
    let Some((so, mut tp, ours)) = ctl_tcb(k, src, sport, dst, dport, seq) else {
        return;
    };
    let mss = mtu.saturating_sub(40).max(TCP_MINMSS);
    if ours && tp.t_pmtud && mss < tp.t_maxseg {
        tp.t_maxseg = mss;
        tp.t_ourmss = tp.t_ourmss.min(mss);
        if let Some(sb) = tp.t_sack.as_mut() {
            sb.set_mss(mss);
        }
        if mss == TCP_MINMSS {
            // The path is narrower than we go: let routers fragment from here on.
            tp.t_pmtud = false;
        }
        tcpstat(k, |s| s.tcps_mturesent += 1);
        tp.snd_nxt = tp.snd_una;
        tcp_output(k, so, &mut tp);
    }
    put_tp(k, so, tp);
}
