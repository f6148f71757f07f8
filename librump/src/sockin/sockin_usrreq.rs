//! sockin's user requests and its worker's event processing.

use std::net::SocketAddr;
use std::sync::Arc;

use super::{SockinShared, SOCKIN_TCP_SPACE, SOCKIN_UDP_RECVSPACE, SOCKIN_UDP_SENDSPACE};
use crate::abi::hostabi;
use crate::abi::netbsd as nb;
use crate::kern::errno::{Errno, KResult};
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::MbufChain;
use crate::kern::sockaddr::SockAddr;
use crate::kern::uipc_domain::{Detach, Protosw, Sockopt, SoptDir};
use crate::kern::uipc_socket::{
    SocketId, SO_ACCEPTCONN, SS_CANTRCVMORE, SS_ISCONNECTED, SS_ISCONNECTING,
};
use crate::rumpuser::hostsock::{self, ev, HostFd};

/// The control block of a sockin socket: its host socket and what is pending on it.
pub(crate) struct SockinPcb {
    host: HostFd,
    /// The host may have data (or a connection) we have not taken yet.
    rd_pending: bool,
    /// A connect is in progress on the host.
    connecting: bool,
    /// shutdown(SHUT_WR) waits for the send buffer to drain.
    shut_wr_pending: bool,
    /// The socket was closed with data still to send (lingering detach).
    closing: bool,
    /// A datagram read from the host that did not fit the receive buffer: held here
    /// (the host queue keeps the rest) until the user makes room.
    held: Option<(Option<SockAddr>, MbufChain)>,
}

/// A sockin protocol switch entry (UDP or TCP, over IPv4 or IPv6).
pub struct SockinProto {
    pub(crate) family: i32,
    pub(crate) ty: i32,
    pub(crate) protocol: i32,
    pub(crate) flags: u32,
    pub(crate) shared: Arc<SockinShared>,
}

fn pcb(k: &mut KernelState, so: SocketId) -> KResult<&mut SockinPcb> {
    k.so_mut(so)
        .so_pcb
        .as_mut()
        .and_then(|p| p.downcast_mut::<SockinPcb>())
        .ok_or(Errno::EINVAL)
}

impl SockinProto {
    fn stream(&self) -> bool {
        self.ty == nb::RUMP_SOCK_STREAM
    }

    /// The inet address of the right family, or the errors NetBSD's in_pcb gives.
    fn inet_addr(&self, nam: &SockAddr) -> KResult<SocketAddr> {
        match nam {
            SockAddr::Inet(a) if nam.family() == self.family => Ok(*a),
            // An IPv4 address on an IPv6 socket: NetBSD wants it v4-mapped.
            _ => Err(Errno::EAFNOSUPPORT),
        }
    }

    fn unspecified(&self) -> SockAddr {
        SockAddr::any(self.family).expect("sockin families are inet")
    }
}

impl Protosw for SockinProto {
    fn pr_name(&self) -> &'static str {
        if self.stream() {
            "sockin-tcp"
        } else {
            "sockin-udp"
        }
    }

    fn pr_type(&self) -> i32 {
        self.ty
    }

    fn pr_protocol(&self) -> i32 {
        self.protocol
    }

    fn pr_flags(&self) -> u32 {
        self.flags
    }

    fn attach(&self, k: &mut KernelState, so: SocketId, _proto: i32) -> KResult<()> {
        let host = hostsock::socket(self.family == nb::RUMP_AF_INET6, self.stream())?;
        self.shared.poller.add(&host, so.as_u64())?;
        let s = k.so_mut(so);
        if self.stream() {
            s.soreserve(SOCKIN_TCP_SPACE, SOCKIN_TCP_SPACE)?;
        } else {
            s.soreserve(SOCKIN_UDP_SENDSPACE, SOCKIN_UDP_RECVSPACE)?;
        }
        s.so_pcb = Some(Box::new(SockinPcb {
            host,
            rd_pending: false,
            connecting: false,
            shut_wr_pending: false,
            closing: false,
            held: None,
        }));
        Ok(())
    }

    fn detach(&self, k: &mut KernelState, so: SocketId) -> Detach {
        let unsent = k.so(so).so_snd.sb_cc > 0;
        let linger0 = k.so(so).so_options & nb::RUMP_SO_LINGER != 0 && k.so(so).so_linger == 0;
        if self.stream() && unsent && !linger0 {
            // Keep the host socket until the send buffer has gone out, as a kernel
            // keeps sending after close(2).
            if let Ok(p) = pcb(k, so) {
                p.closing = true;
                // Nobody will read any more: what arrives is discarded (sockin_read
                // drains the host socket), so the peer's window never closes on us.
                let s = k.so_mut(so);
                s.so_rcv.flush();
                s.so_state |= SS_CANTRCVMORE;
                if let Ok(p) = pcb(k, so) {
                    p.rd_pending = true;
                }
                sockin_read(k, so, &self.shared);
                return Detach::Lingering;
            }
        }
        k.so_mut(so).so_pcb = None; // drops (closes) the host socket
        Detach::Done
    }

    fn bind(&self, k: &mut KernelState, so: SocketId, nam: &SockAddr) -> KResult<()> {
        let a = self.inet_addr(nam)?;
        hostsock::bind(&pcb(k, so)?.host, &a)
    }

    fn listen(&self, k: &mut KernelState, so: SocketId, backlog: i32) -> KResult<()> {
        if !self.stream() {
            return Err(Errno::EOPNOTSUPP);
        }
        let p = pcb(k, so)?;
        hostsock::listen(&p.host, backlog.max(1))?;
        p.rd_pending = true;
        Ok(())
    }

    fn connect(&self, k: &mut KernelState, so: SocketId, nam: &SockAddr) -> KResult<()> {
        let a = self.inet_addr(nam)?;
        let p = pcb(k, so)?;
        match hostsock::connect(&p.host, Some(&a)) {
            Ok(()) => {
                p.rd_pending = true;
                k.soisconnected(so);
                Ok(())
            }
            Err(Errno::EINPROGRESS) => {
                p.connecting = true;
                k.soisconnecting(so);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn disconnect(&self, k: &mut KernelState, so: SocketId) -> KResult<()> {
        if self.stream() {
            return Err(Errno::EOPNOTSUPP);
        }
        let p = pcb(k, so)?;
        match hostsock::connect(&p.host, None) {
            // Linux reports EAFNOSUPPORT on some kernels for AF_UNSPEC yet dissolves.
            Ok(()) | Err(Errno::EAFNOSUPPORT) => {}
            Err(e) => return Err(e),
        }
        k.so_mut(so).so_state &= !SS_ISCONNECTED;
        Ok(())
    }

    fn shutdown(&self, k: &mut KernelState, so: SocketId) -> KResult<()> {
        let unsent = k.so(so).so_snd.sb_cc > 0;
        let p = pcb(k, so)?;
        if unsent {
            p.shut_wr_pending = true;
            Ok(())
        } else {
            match hostsock::shutdown(&p.host, libc::SHUT_WR) {
                Ok(()) | Err(Errno::ENOTCONN) => Ok(()),
                Err(e) => Err(e),
            }
        }
    }

    fn abort(&self, k: &mut KernelState, so: SocketId) {
        k.so_mut(so).so_pcb = None;
    }

    fn accept(&self, k: &mut KernelState, so: SocketId) -> KResult<SockAddr> {
        match hostsock::getpeername(&pcb(k, so)?.host) {
            Ok(Some(a)) => Ok(SockAddr::Inet(a)),
            Ok(None) => Ok(self.unspecified()),
            // The peer went away while queued: the connection is still accepted and
            // the user sees its EOF/reset on the first read.
            Err(Errno::ENOTCONN) => Ok(self.unspecified()),
            Err(e) => Err(e),
        }
    }

    fn sockaddr(&self, k: &mut KernelState, so: SocketId) -> KResult<SockAddr> {
        Ok(hostsock::getsockname(&pcb(k, so)?.host)?
            .map(SockAddr::Inet)
            .unwrap_or_else(|| self.unspecified()))
    }

    fn peeraddr(&self, k: &mut KernelState, so: SocketId) -> KResult<SockAddr> {
        hostsock::getpeername(&pcb(k, so)?.host)?
            .map(SockAddr::Inet)
            .ok_or(Errno::ENOTCONN)
    }

    fn rcvd(&self, k: &mut KernelState, so: SocketId) {
        if k.so(so).so_options & SO_ACCEPTCONN != 0 {
            sockin_accept(k, so, &self.shared);
        } else {
            sockin_read(k, so, &self.shared);
        }
    }

    fn send(
        &self,
        k: &mut KernelState,
        so: SocketId,
        m: MbufChain,
        nam: Option<&SockAddr>,
    ) -> KResult<()> {
        if self.stream() {
            k.so_mut(so).so_snd.append_stream(m);
            sockin_flush(k, so);
            return Ok(());
        }
        let connected = k.so(so).so_state & SS_ISCONNECTED != 0;
        let to = match nam {
            Some(_) if connected => return Err(Errno::EISCONN),
            Some(n) => Some(self.inet_addr(n)?),
            None => None,
        };
        let slices: Vec<&[u8]> = m.iter_slices().collect();
        match hostsock::sendmsg(&pcb(k, so)?.host, &slices, to.as_ref()) {
            Ok(_) => Ok(()),
            // A full host queue drops the datagram, as an interface queue would.
            Err(Errno::EAGAIN) => Err(Errno::ENOBUFS),
            Err(e) => Err(e),
        }
    }

    fn ctloutput(
        &self,
        k: &mut KernelState,
        so: SocketId,
        dir: SoptDir,
        opt: &mut Sockopt,
    ) -> KResult<()> {
        if opt.level == nb::RUMP_SOL_SOCKET {
            // The socket layer keeps timeouts and low-water marks; the host socket is
            // non-blocking and must stay so.
            match opt.name {
                nb::RUMP_SO_SNDTIMEO
                | nb::RUMP_SO_RCVTIMEO
                | nb::RUMP_SO_SNDLOWAT
                | nb::RUMP_SO_RCVLOWAT
                | nb::RUMP_SO_NOSIGPIPE
                | nb::RUMP_SO_TIMESTAMP
                | nb::RUMP_SO_RERROR => return Err(Errno::ENOPROTOOPT),
                _ => {}
            }
        } else {
            let ok = match opt.level {
                nb::RUMP_IPPROTO_TCP => self.stream(),
                nb::RUMP_IPPROTO_IP => self.family == nb::RUMP_AF_INET,
                nb::RUMP_IPPROTO_IPV6 => self.family == nb::RUMP_AF_INET6,
                _ => false,
            };
            if !ok {
                return Err(Errno::ENOPROTOOPT);
            }
        }
        let (hl, hn) = hostabi::sockopt_to_host(opt.level, opt.name).ok_or(Errno::ENOPROTOOPT)?;
        let host = &pcb(k, so)?.host;
        match dir {
            SoptDir::Set => {
                let mut v = hostabi::sockopt_value_to_host(opt.level, opt.name, &opt.data)?;
                if opt.level == nb::RUMP_SOL_SOCKET
                    && opt.name == nb::RUMP_SO_LINGER
                    && v.len() >= 8
                {
                    // The host only ever gets the abortive {1, 0}: a lingering host
                    // close would block with the kernel lock held. The socket layer
                    // does the lingering (soclose), with the lock released.
                    let on = i32::from_ne_bytes([v[0], v[1], v[2], v[3]]) != 0;
                    let secs = i32::from_ne_bytes([v[4], v[5], v[6], v[7]]);
                    let abortive = on && secs == 0;
                    v[..4].copy_from_slice(&i32::from(abortive).to_ne_bytes());
                    v[4..8].copy_from_slice(&0i32.to_ne_bytes());
                }
                hostsock::setsockopt(host, hl, hn, &v)
            }
            SoptDir::Get => {
                let v = hostsock::getsockopt(host, hl, hn)?;
                opt.data = hostabi::sockopt_value_to_netbsd(opt.level, opt.name, &v)?;
                Ok(())
            }
        }
    }
}

/// Move data from the host socket into the receive buffer while there is room
/// (sockin_process's receive half).
fn sockin_read(k: &mut KernelState, so: SocketId, shared: &Arc<SockinShared>) {
    let stream = k.so(so).so_type == nb::RUMP_SOCK_STREAM;
    let mut scratch = shared.scratch.lock();
    let pool = k.pool.clone();
    let mut woke = false;
    loop {
        let s = k.so_mut(so);
        let Some(p) = s
            .so_pcb
            .as_mut()
            .and_then(|p| p.downcast_mut::<SockinPcb>())
        else {
            return;
        };
        if !stream {
            if let Some((from, m)) = p.held.take() {
                if m.len() > s.so_rcv.space() && s.so_rcv.sb_cc > 0 {
                    p.held = Some((from, m));
                    break;
                }
                if !s.so_rcv.append_addr(from, m) {
                    // larger than the whole buffer: dropped and counted
                }
                woke = true;
            }
        }
        if !p.rd_pending || p.connecting {
            break;
        }
        let discard = s.so_state & SS_CANTRCVMORE != 0;
        let space = s.so_rcv.space();
        if stream && space == 0 && !discard {
            break; // resumes from rcvd() when the user takes data
        }
        let want = if stream && !discard {
            space.min(scratch.len())
        } else {
            scratch.len()
        };
        match hostsock::recvfrom(&p.host, &mut scratch[..want]) {
            Ok((0, _, _)) if stream => {
                p.rd_pending = false;
                k.socantrcvmore(so);
                return;
            }
            Ok((n, from, trunc)) => {
                if discard {
                    continue;
                }
                match MbufChain::from_slice(&pool, &scratch[..n], 0) {
                    Ok(m) => {
                        if stream {
                            s.so_rcv.append_stream(m);
                            woke = true;
                        } else if trunc {
                            // Larger than any datagram we accept: dropped and counted.
                            s.so_rcv.sb_overflowed += 1;
                        } else if m.len() > s.so_rcv.space() && s.so_rcv.sb_cc > 0 {
                            p.held = Some((from.map(SockAddr::Inet), m));
                            break;
                        } else {
                            // append_addr counts a datagram that can never fit.
                            woke |= s.so_rcv.append_addr(from.map(SockAddr::Inet), m);
                        }
                    }
                    Err(e) => {
                        // Out of mbufs: the data is lost for a datagram (as a full
                        // interface queue), and for a stream it was already taken from
                        // the host, so make the user see the error; retry reading soon.
                        tracing::debug!(?so, ?e, "sockin: no mbufs for receive");
                        s.so_rcv.sb_overflowed += 1;
                        if stream {
                            k.soseterror(so, e);
                        }
                        let retry = shared.clone();
                        k.callout_schedule(
                            10,
                            Box::new(move |k: &mut KernelState| {
                                if k.sockets.contains(so) {
                                    if let Ok(p) = pcb(k, so) {
                                        p.rd_pending = true;
                                    }
                                    sockin_read(k, so, &retry);
                                }
                            }),
                        );
                        break;
                    }
                }
            }
            Err(Errno::EAGAIN) => {
                p.rd_pending = false;
                break;
            }
            Err(e) if !stream => {
                // An ICMP error reported on a datagram socket: tell the user, and
                // keep reading the datagrams queued behind it.
                k.soseterror(so, e);
            }
            Err(e) => {
                p.rd_pending = false;
                k.soseterror(so, e);
                k.socantrcvmore(so);
                return;
            }
        }
    }
    if woke {
        k.sorwakeup(so);
    }
}

/// Push the send buffer into the host socket (sockin's PRU_SEND for streams), and
/// finish a pending half-close or lingering close once it is empty.
fn sockin_flush(k: &mut KernelState, so: SocketId) {
    let mut sent_any = false;
    loop {
        let s = k.so_mut(so);
        let Some(p) = s
            .so_pcb
            .as_mut()
            .and_then(|p| p.downcast_mut::<SockinPcb>())
        else {
            return;
        };
        if p.connecting || s.so_snd.sb_cc == 0 {
            break;
        }
        let r = {
            let slices: Vec<&[u8]> = s
                .so_snd
                .sb_records
                .iter()
                .flat_map(|r| r.data.iter_slices())
                .take(256)
                .collect();
            hostsock::sendmsg(&p.host, &slices, None)
        };
        match r {
            Ok(n) => {
                s.so_snd.drop_stream(n);
                sent_any = true;
            }
            Err(Errno::EAGAIN) => break,
            Err(e) => {
                s.so_snd.flush();
                let closing = p.closing;
                // The peer is gone: sends now fail with EPIPE (socantsendmore); a
                // reader sees the reset, as a BSD TCP reports it.
                k.soseterror(
                    so,
                    if e == Errno::EPIPE {
                        Errno::ECONNRESET
                    } else {
                        e
                    },
                );
                k.socantsendmore(so);
                if closing {
                    k.so_mut(so).so_pcb = None;
                    k.sofree(so);
                }
                return;
            }
        }
    }
    let s = k.so_mut(so);
    let empty = s.so_snd.sb_cc == 0;
    if let Some(p) = s
        .so_pcb
        .as_mut()
        .and_then(|p| p.downcast_mut::<SockinPcb>())
    {
        if empty && p.shut_wr_pending {
            p.shut_wr_pending = false;
            let _ = hostsock::shutdown(&p.host, libc::SHUT_WR);
        }
        if empty && p.closing {
            s.so_pcb = None;
            k.sofree(so);
            return;
        }
    }
    if sent_any {
        k.sowwakeup(so);
    }
}

/// Take connections from a listening host socket onto the accept queue while it has
/// room (sockin_process's accept half: sonewconn).
fn sockin_accept(k: &mut KernelState, head: SocketId, shared: &Arc<SockinShared>) {
    loop {
        let h = k.so(head);
        // A backlog of 0 still admits one connection, as NetBSD's.
        if h.so_q.len() >= h.so_qlimit.max(1) {
            return; // resumes from rcvd() on accept
        }
        let Ok(p) = pcb(k, head) else {
            return;
        };
        if !p.rd_pending {
            return;
        }
        match hostsock::accept(&p.host) {
            Ok((host, _peer)) => {
                let Some(so) = k.sonewconn(head, true) else {
                    continue; // dropped: the host closes it
                };
                if let Err(e) = shared.poller.add(&host, so.as_u64()) {
                    tracing::debug!(?e, "sockin: cannot watch an accepted socket");
                    k.sofree(so);
                    continue;
                }
                let s = k.so_mut(so);
                s.so_state |= SS_ISCONNECTED;
                s.so_pcb = Some(Box::new(SockinPcb {
                    host,
                    rd_pending: true,
                    connecting: false,
                    shut_wr_pending: false,
                    closing: false,
                    held: None,
                }));
            }
            Err(Errno::EAGAIN) => {
                p.rd_pending = false;
                return;
            }
            Err(e) => {
                // A connection that died before we took it (ECONNABORTED): skip it.
                tracing::debug!(?e, "sockin: host accept");
                if e != Errno::ECONNABORTED {
                    p.rd_pending = false;
                    return;
                }
            }
        }
    }
}

/// Handle readiness of one host socket (the body of NetBSD's sockin_process).
pub(crate) fn sockin_process(
    k: &mut KernelState,
    shared: &Arc<SockinShared>,
    token: u64,
    bits: u32,
) {
    let so = SocketId::from_u64(token);
    if !k.sockets.contains(so) {
        return; // closed since the event was queued
    }
    let listening = k.so(so).so_options & SO_ACCEPTCONN != 0;
    let Ok(p) = pcb(k, so) else {
        return;
    };
    if listening {
        if bits & ev::IN != 0 {
            p.rd_pending = true;
            sockin_accept(k, so, shared);
        }
        return;
    }
    let st = k.so(so).so_state;
    let stream = k.so(so).so_type == nb::RUMP_SOCK_STREAM;
    if stream && st & (SS_ISCONNECTED | SS_ISCONNECTING | SS_CANTRCVMORE) == 0 {
        // A fresh TCP socket reports OUT|HUP before it is connected or listening:
        // nothing to do until then (connect and listen arm what they need).
        return;
    }
    let Ok(p) = pcb(k, so) else {
        return;
    };
    if p.connecting && bits & (ev::OUT | ev::ERR | ev::HUP) != 0 {
        p.connecting = false;
        match hostsock::take_error(&p.host) {
            None if hostsock::getpeername(&p.host) == Err(Errno::ENOTCONN) => {
                // A stale readiness event from before the connect: still in progress.
                p.connecting = true;
                return;
            }
            None => {
                p.rd_pending = true;
                k.soisconnected(so);
            }
            Some(e) => {
                k.so_mut(so).so_state &= !SS_ISCONNECTING;
                k.soseterror(so, e);
                return;
            }
        }
    }
    let Ok(p) = pcb(k, so) else {
        return;
    };
    if bits & (ev::IN | ev::RDHUP | ev::HUP | ev::ERR) != 0 {
        p.rd_pending = true;
        sockin_read(k, so, shared);
    }
    if k.sockets.contains(so) && bits & (ev::OUT | ev::ERR | ev::HUP) != 0 {
        sockin_flush(k, so);
    }
}
