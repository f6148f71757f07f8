//! UDP (NetBSD: netinet/udp_usrreq.c): the protocol switch entry, input and output.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use super::in_pcb::Inpcb;
use super::ip_output::{ip_output, IpOut};
use crate::abi::netbsd as nb;
use crate::kern::errno::{Errno, KResult};
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::MbufChain;
use crate::kern::sockaddr::SockAddr;
use crate::kern::uipc_domain::{Detach, Protosw, Sockopt, SoptDir, PR_ADDR, PR_ATOMIC};
use crate::kern::uipc_socket::{SocketId, SS_ISCONNECTED};
use crate::wire::udp as wudp;

/// Default UDP send buffer (net.inet.udp.sendspace).
pub const UDP_SENDSPACE: usize = 9216;
/// Default UDP receive buffer (net.inet.udp.recvspace).
pub const UDP_RECVSPACE: usize = 40 * (1024 + 16);
/// Default TTL of outgoing datagrams (net.inet.ip.ttl).
pub const IP_DEFTTL: u8 = 64;

/// What a UDP or raw socket keeps besides its table entry.
#[derive(Clone, Copy, Debug)]
pub struct InpOpts {
    /// The bound local port (0 = not bound): the key into the PCB table.
    pub lport: u16,
    /// IP_TTL.
    pub ttl: u8,
    /// IP_TOS.
    pub tos: u8,
}

impl Default for InpOpts {
    fn default() -> Self {
        InpOpts {
            lport: 0,
            ttl: IP_DEFTTL,
            tos: 0,
        }
    }
}

pub(crate) fn opts(k: &KernelState, so: SocketId) -> InpOpts {
    k.so(so)
        .so_pcb
        .as_ref()
        .and_then(|p| p.downcast_ref::<InpOpts>())
        .copied()
        .unwrap_or_default()
}

pub(crate) fn set_opts(k: &mut KernelState, so: SocketId, f: impl FnOnce(&mut InpOpts)) {
    if let Some(o) = k
        .so_mut(so)
        .so_pcb
        .as_mut()
        .and_then(|p| p.downcast_mut::<InpOpts>())
    {
        f(o);
    }
}

/// The UDP/IPv4 protocol switch entry.
pub struct UdpProto;

fn inet4(nam: &SockAddr) -> KResult<SocketAddrV4> {
    match nam {
        SockAddr::Inet(SocketAddr::V4(a)) => Ok(*a),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

fn pcb_of(k: &KernelState, so: SocketId) -> Inpcb {
    let o = opts(k, so);
    if o.lport == 0 {
        return Inpcb::default();
    }
    k.inet()
        .and_then(|i| i.udbtable.get(so, o.lport))
        .copied()
        .unwrap_or_default()
}

/// Bind to an ephemeral port if not bound yet (in_pcbbind with a zero port).
fn ensure_bound(k: &mut KernelState, so: SocketId) -> KResult<Inpcb> {
    if opts(k, so).lport != 0 {
        return Ok(pcb_of(k, so));
    }
    do_bind(k, so, Ipv4Addr::UNSPECIFIED, 0)?;
    Ok(pcb_of(k, so))
}

fn do_bind(k: &mut KernelState, so: SocketId, laddr: Ipv4Addr, lport: u16) -> KResult<()> {
    let o = k.so(so).so_options;
    let pcb = Inpcb {
        laddr,
        lport,
        reuseaddr: o & nb::RUMP_SO_REUSEADDR != 0,
        reuseport: o & nb::RUMP_SO_REUSEPORT != 0,
        ..Inpcb::default()
    };
    let r = k.random16();
    let inet = k.inet_mut().ok_or(Errno::EAFNOSUPPORT)?;
    let port = inet.udbtable.bind(so, pcb, r)?;
    set_opts(k, so, |o| o.lport = port);
    Ok(())
}

impl Protosw for UdpProto {
    fn pr_name(&self) -> &'static str {
        "udp"
    }

    fn pr_type(&self) -> i32 {
        nb::RUMP_SOCK_DGRAM
    }

    fn pr_protocol(&self) -> i32 {
        nb::RUMP_IPPROTO_UDP
    }

    fn pr_flags(&self) -> u32 {
        PR_ATOMIC | PR_ADDR
    }

    fn attach(&self, k: &mut KernelState, so: SocketId, _proto: i32) -> KResult<()> {
        let snd = k
            .sysctl_int("net.inet.udp.sendspace")
            .map_or(UDP_SENDSPACE, |v| v as usize);
        let rcv = k
            .sysctl_int("net.inet.udp.recvspace")
            .map_or(UDP_RECVSPACE, |v| v as usize);
        let ttl = k
            .sysctl_int("net.inet.ip.ttl")
            .map_or(IP_DEFTTL, |v| v as u8);
        let s = k.so_mut(so);
        s.soreserve(snd, rcv)?;
        s.so_pcb = Some(Box::new(InpOpts {
            ttl,
            ..InpOpts::default()
        }));
        Ok(())
    }

    fn detach(&self, k: &mut KernelState, so: SocketId) -> Detach {
        let lport = opts(k, so).lport;
        if lport != 0 {
            if let Some(i) = k.inet_mut() {
                i.udbtable.remove(so, lport);
            }
        }
        k.so_mut(so).so_pcb = None;
        Detach::Done
    }

    fn bind(&self, k: &mut KernelState, so: SocketId, nam: &SockAddr) -> KResult<()> {
        let a = inet4(nam)?;
        if opts(k, so).lport != 0 {
            return Err(Errno::EINVAL);
        }
        let ip = *a.ip();
        if !ip.is_unspecified()
            && !ip.is_multicast()
            && !k.in_is_local(ip)
            && !k.in_is_broadcast(ip)
        {
            return Err(Errno::EADDRNOTAVAIL);
        }
        do_bind(k, so, ip, a.port())
    }

    fn connect(&self, k: &mut KernelState, so: SocketId, nam: &SockAddr) -> KResult<()> {
        let a = inet4(nam)?;
        if a.port() == 0 {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let mut faddr = *a.ip();
        if faddr.is_unspecified() {
            // Connecting to INADDR_ANY means this host (in_pcbconnect).
            faddr = k.in_primary_addr().ok_or(Errno::EADDRNOTAVAIL)?;
        }
        let pcb = ensure_bound(k, so)?;
        let laddr = if pcb.laddr.is_unspecified() {
            k.in_selectsrc(faddr)?
        } else {
            pcb.laddr
        };
        let lport = pcb.lport;
        let inet = k.inet_mut().ok_or(Errno::EAFNOSUPPORT)?;
        if inet
            .udbtable
            .tuple_in_use(so, laddr, lport, faddr, a.port())
        {
            return Err(Errno::EADDRINUSE);
        }
        inet.udbtable.update(so, lport, |p| {
            p.laddr = laddr;
            p.faddr = faddr;
            p.fport = a.port();
        });
        k.soisconnected(so);
        Ok(())
    }

    fn disconnect(&self, k: &mut KernelState, so: SocketId) -> KResult<()> {
        if k.so(so).so_state & SS_ISCONNECTED == 0 {
            return Err(Errno::ENOTCONN);
        }
        let lport = opts(k, so).lport;
        if let Some(i) = k.inet_mut() {
            i.udbtable.update(so, lport, |p| {
                p.faddr = Ipv4Addr::UNSPECIFIED;
                p.fport = 0;
                p.laddr = Ipv4Addr::UNSPECIFIED;
            });
        }
        k.so_mut(so).so_state &= !SS_ISCONNECTED;
        Ok(())
    }

    fn sockaddr(&self, k: &mut KernelState, so: SocketId) -> KResult<SockAddr> {
        let p = pcb_of(k, so);
        Ok(SockAddr::Inet(SocketAddr::V4(SocketAddrV4::new(
            p.laddr, p.lport,
        ))))
    }

    fn peeraddr(&self, k: &mut KernelState, so: SocketId) -> KResult<SockAddr> {
        let p = pcb_of(k, so);
        if !p.connected() {
            return Err(Errno::ENOTCONN);
        }
        Ok(SockAddr::Inet(SocketAddr::V4(SocketAddrV4::new(
            p.faddr, p.fport,
        ))))
    }

    fn send(
        &self,
        k: &mut KernelState,
        so: SocketId,
        m: MbufChain,
        nam: Option<&SockAddr>,
    ) -> KResult<()> {
        udp_output(k, so, m, nam)
    }

    fn ctloutput(
        &self,
        k: &mut KernelState,
        so: SocketId,
        dir: SoptDir,
        opt: &mut Sockopt,
    ) -> KResult<()> {
        inp_ctloutput(k, so, dir, opt)
    }

    fn ioctl(&self, k: &mut KernelState, _so: SocketId, cmd: u64, data: &mut [u8]) -> KResult<()> {
        k.in_control(cmd, data)
    }
}

/// IP-level options shared by UDP and raw sockets (ip_ctloutput).
pub(crate) fn inp_ctloutput(
    k: &mut KernelState,
    so: SocketId,
    dir: SoptDir,
    opt: &mut Sockopt,
) -> KResult<()> {
    if opt.level != nb::RUMP_IPPROTO_IP {
        return Err(Errno::ENOPROTOOPT);
    }
    let o = opts(k, so);
    match (dir, opt.name) {
        (SoptDir::Get, nb::RUMP_IP_TTL) => opt.data = i32::from(o.ttl).to_ne_bytes().to_vec(),
        (SoptDir::Get, nb::RUMP_IP_TOS) => opt.data = i32::from(o.tos).to_ne_bytes().to_vec(),
        (SoptDir::Set, nb::RUMP_IP_TTL | nb::RUMP_IP_TOS) => {
            let v = crate::kern::uipc_socket::sockopt_int(&opt.data)?;
            if !(0..=255).contains(&v) {
                return Err(Errno::EINVAL);
            }
            let name = opt.name;
            set_opts(k, so, |o| {
                if name == nb::RUMP_IP_TTL {
                    o.ttl = v as u8;
                } else {
                    o.tos = v as u8;
                }
            });
        }
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(())
}

/// Send a datagram (udp_output): bind if needed, choose the source, checksum, and hand
/// it to IP.
fn udp_output(
    k: &mut KernelState,
    so: SocketId,
    mut m: MbufChain,
    nam: Option<&SockAddr>,
) -> KResult<()> {
    let pcb = ensure_bound(k, so)?;
    let (dst, dport) = match nam {
        Some(n) => {
            let a = inet4(n)?;
            if pcb.connected() {
                return Err(Errno::EISCONN);
            }
            (*a.ip(), a.port())
        }
        None if pcb.connected() => (pcb.faddr, pcb.fport),
        None => return Err(Errno::EDESTADDRREQ),
    };
    if dport == 0 {
        return Err(Errno::EADDRNOTAVAIL);
    }
    let dst = if dst.is_unspecified() {
        k.in_primary_addr().ok_or(Errno::EADDRNOTAVAIL)?
    } else {
        dst
    };
    let src = if pcb.laddr.is_unspecified() || pcb.laddr.is_broadcast() {
        k.in_selectsrc(dst)?
    } else {
        pcb.laddr
    };
    let o = opts(k, so);
    let broadcast_ok = k.so(so).so_options & nb::RUMP_SO_BROADCAST != 0;
    let len = m.len();
    if len > 65535 - 28 {
        return Err(Errno::EMSGSIZE);
    }
    let pool = k.pool.clone();
    let hdr = m.prepend(&pool, wudp::HEADER_LEN)?;
    wudp::UdpRepr {
        src_port: pcb.lport,
        dst_port: dport,
        payload_len: len,
    }
    .emit_header(&mut wudp::UdpPacket::new_unchecked(hdr));
    let ck = wudp::wire_checksum(wudp::checksum_slices(src, dst, m.iter_slices()));
    m.copy_in(6, &ck.to_be_bytes());
    if let Some(i) = k.inet_mut() {
        i.udpstat.udps_opackets += 1;
    }
    ip_output(
        k,
        m,
        IpOut {
            src,
            dst,
            proto: nb::RUMP_IPPROTO_UDP as u8,
            ttl: o.ttl,
            tos: o.tos,
            df: false,
            allow_broadcast: broadcast_ok,
        },
    )
}

/// A UDP datagram arrived for us (udp_input): check it, find the socket(s), queue it.
/// `m` is the UDP header and payload; `quote` the IP header and 8 bytes (for an ICMP
/// port unreachable); `bcast` whether it was sent to a broadcast address.
pub fn udp_input(
    k: &mut KernelState,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    m: MbufChain,
    quote: &[u8],
    bcast: bool,
) {
    let Some(inet) = k.inet_mut() else {
        return;
    };
    inet.udpstat.udps_ipackets += 1;
    let mut hdr = [0u8; wudp::HEADER_LEN];
    if m.copy_out(0, &mut hdr) < wudp::HEADER_LEN {
        inet.udpstat.udps_hdrops += 1;
        return;
    }
    let h = wudp::UdpPacket::new_unchecked(&hdr[..]);
    let (sport, dport, ulen, cksum) = (
        h.src_port(),
        h.dst_port(),
        usize::from(h.len()),
        h.checksum(),
    );
    if ulen < wudp::HEADER_LEN || ulen > m.len() {
        inet.udpstat.udps_badlen += 1;
        return;
    }
    let mut m = m;
    if ulen < m.len() {
        m.drop_back(m.len() - ulen);
    }
    if cksum != 0 && wudp::checksum_slices(src, dst, m.iter_slices()) != 0 {
        inet.udpstat.udps_badsum += 1;
        return;
    }
    let bcast = bcast || dst.is_multicast();
    let inet = k.inet_mut().expect("checked");
    let targets = if bcast {
        inet.udbtable.lookup_all(dst, dport, src, sport)
    } else {
        inet.udbtable
            .lookup(dst, dport, src, sport)
            .into_iter()
            .collect()
    };
    if targets.is_empty() {
        if bcast {
            inet.udpstat.udps_noportbcast += 1;
        } else {
            inet.udpstat.udps_noport += 1;
            super::ip_icmp::icmp_error(
                k,
                quote,
                super::ip_icmp::ICMP_UNREACH,
                super::ip_icmp::ICMP_UNREACH_PORT,
                0,
            );
        }
        return;
    }
    m.drop_front(wudp::HEADER_LEN);
    let from = SockAddr::Inet(SocketAddr::V4(SocketAddrV4::new(src, sport)));
    let pool = k.pool.clone();
    let n = targets.len();
    let mut m = Some(m);
    for (i, so) in targets.into_iter().enumerate() {
        let copy = if i + 1 == n {
            m.take().expect("last one")
        } else {
            match MbufChain::from_slice(&pool, &m.as_ref().expect("present").to_vec(), 0) {
                Ok(c) => c,
                Err(_) => continue,
            }
        };
        if k.so(so).so_state & crate::kern::uipc_socket::SS_CANTRCVMORE != 0 {
            continue;
        }
        if k.so_mut(so).so_rcv.append_addr(Some(from), copy) {
            k.sorwakeup(so);
        } else if let Some(i) = k.inet_mut() {
            i.udpstat.udps_fullsock += 1;
        }
    }
}

/// An ICMP error about a datagram we sent (udp_ctlinput): tell the connected socket
/// that sent it.
pub fn udp_ctlinput(
    k: &mut KernelState,
    err: Errno,
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
) {
    let Some(inet) = k.inet() else {
        return;
    };
    let Some(so) = inet.udbtable.lookup(src, sport, dst, dport) else {
        return;
    };
    let p = inet.udbtable.get(so, sport).copied().unwrap_or_default();
    if p.connected() && p.faddr == dst && p.fport == dport {
        k.soseterror(so, err);
    }
}
