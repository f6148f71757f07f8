//! Raw IP sockets (NetBSD: netinet/raw_ip.c): SOCK_RAW for a protocol number, so a ping
//! program can send and receive ICMP. Input delivers every datagram of the socket's
//! protocol, IP header included; output takes the protocol's header and data and adds
//! the IP header.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use super::ip_output::{ip_output, IpOut};
use super::udp_usrreq::{inp_ctloutput, IP_DEFTTL};
use crate::abi::netbsd as nb;
use crate::kern::errno::{Errno, KResult};
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::MbufChain;
use crate::kern::sockaddr::SockAddr;
use crate::kern::uipc_domain::{Detach, Protosw, Sockopt, SoptDir, PR_ADDR, PR_ATOMIC};
use crate::kern::uipc_socket::{SocketId, SS_CANTRCVMORE, SS_ISCONNECTED};

/// Raw socket buffer sizes (rip_sendspace, rip_recvspace).
pub const RIP_SENDSPACE: usize = 9216;
/// See [`RIP_SENDSPACE`].
pub const RIP_RECVSPACE: usize = 9216 * 4;

/// The state of a raw socket.
#[derive(Clone, Copy, Debug)]
pub struct RawPcb {
    /// The protocol it sends and receives.
    pub proto: u8,
    /// Bound local address (0 = any).
    pub laddr: Ipv4Addr,
    /// Connected foreign address (0 = none).
    pub faddr: Ipv4Addr,
    /// IP_TTL.
    pub ttl: u8,
    /// IP_TOS.
    pub tos: u8,
}

fn rpcb(k: &KernelState, so: SocketId) -> Option<RawPcb> {
    k.so(so).so_pcb.as_ref()?.downcast_ref::<RawPcb>().copied()
}

fn set_rpcb(k: &mut KernelState, so: SocketId, f: impl FnOnce(&mut RawPcb)) {
    if let Some(p) = k
        .so_mut(so)
        .so_pcb
        .as_mut()
        .and_then(|p| p.downcast_mut::<RawPcb>())
    {
        f(p);
    }
}

fn inet4(nam: &SockAddr) -> KResult<Ipv4Addr> {
    match nam {
        SockAddr::Inet(SocketAddr::V4(a)) => Ok(*a.ip()),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// The raw IP protocol switch entry: the wildcard (protocol 0) that serves every
/// protocol number without an entry of its own, as in BSD.
pub struct RawIpProto;

impl Protosw for RawIpProto {
    fn pr_name(&self) -> &'static str {
        "rawip"
    }

    fn pr_type(&self) -> i32 {
        nb::RUMP_SOCK_RAW
    }

    fn pr_protocol(&self) -> i32 {
        0
    }

    fn pr_flags(&self) -> u32 {
        PR_ATOMIC | PR_ADDR
    }

    fn attach(&self, k: &mut KernelState, so: SocketId, proto: i32) -> KResult<()> {
        if !(0..=255).contains(&proto) {
            return Err(Errno::EPROTONOSUPPORT);
        }
        let ttl = k
            .sysctl_int("net.inet.ip.ttl")
            .map_or(IP_DEFTTL, |v| v as u8);
        let s = k.so_mut(so);
        s.soreserve(RIP_SENDSPACE, RIP_RECVSPACE)?;
        s.so_protocol = proto;
        s.so_pcb = Some(Box::new(RawPcb {
            proto: proto as u8,
            laddr: Ipv4Addr::UNSPECIFIED,
            faddr: Ipv4Addr::UNSPECIFIED,
            ttl,
            tos: 0,
        }));
        k.inet_mut()
            .ok_or(Errno::EAFNOSUPPORT)?
            .rawcb
            .push((so, proto as u8));
        Ok(())
    }

    fn detach(&self, k: &mut KernelState, so: SocketId) -> Detach {
        if let Some(i) = k.inet_mut() {
            i.rawcb.retain(|(s, _)| *s != so);
        }
        k.so_mut(so).so_pcb = None;
        Detach::Done
    }

    fn bind(&self, k: &mut KernelState, so: SocketId, nam: &SockAddr) -> KResult<()> {
        let a = inet4(nam)?;
        if !a.is_unspecified() && !k.in_is_local(a) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        set_rpcb(k, so, |p| p.laddr = a);
        Ok(())
    }

    fn connect(&self, k: &mut KernelState, so: SocketId, nam: &SockAddr) -> KResult<()> {
        let a = inet4(nam)?;
        set_rpcb(k, so, |p| p.faddr = a);
        k.soisconnected(so);
        Ok(())
    }

    fn disconnect(&self, k: &mut KernelState, so: SocketId) -> KResult<()> {
        set_rpcb(k, so, |p| p.faddr = Ipv4Addr::UNSPECIFIED);
        k.so_mut(so).so_state &= !SS_ISCONNECTED;
        Ok(())
    }

    fn sockaddr(&self, k: &mut KernelState, so: SocketId) -> KResult<SockAddr> {
        let p = rpcb(k, so).ok_or(Errno::EINVAL)?;
        Ok(SockAddr::Inet(SocketAddr::V4(SocketAddrV4::new(
            p.laddr, 0,
        ))))
    }

    fn peeraddr(&self, k: &mut KernelState, so: SocketId) -> KResult<SockAddr> {
        let p = rpcb(k, so).ok_or(Errno::EINVAL)?;
        if p.faddr.is_unspecified() {
            return Err(Errno::ENOTCONN);
        }
        Ok(SockAddr::Inet(SocketAddr::V4(SocketAddrV4::new(
            p.faddr, 0,
        ))))
    }

    fn send(
        &self,
        k: &mut KernelState,
        so: SocketId,
        m: MbufChain,
        nam: Option<&SockAddr>,
    ) -> KResult<()> {
        let p = rpcb(k, so).ok_or(Errno::EINVAL)?;
        let dst = match nam {
            Some(n) if !p.faddr.is_unspecified() => {
                let _ = n;
                return Err(Errno::EISCONN);
            }
            Some(n) => inet4(n)?,
            None if !p.faddr.is_unspecified() => p.faddr,
            None => return Err(Errno::EDESTADDRREQ),
        };
        if m.len() > 65535 - 20 {
            return Err(Errno::EMSGSIZE);
        }
        let src = if p.laddr.is_unspecified() {
            k.in_selectsrc(dst)?
        } else {
            p.laddr
        };
        let broadcast_ok = k.so(so).so_options & nb::RUMP_SO_BROADCAST != 0;
        ip_output(
            k,
            m,
            IpOut {
                src,
                dst,
                proto: p.proto,
                ttl: p.ttl,
                tos: p.tos,
                df: false,
                allow_broadcast: broadcast_ok,
            },
        )
    }

    fn ctloutput(
        &self,
        k: &mut KernelState,
        so: SocketId,
        dir: SoptDir,
        opt: &mut Sockopt,
    ) -> KResult<()> {
        if opt.level != nb::RUMP_IPPROTO_IP {
            return Err(Errno::ENOPROTOOPT);
        }
        let p = rpcb(k, so).ok_or(Errno::EINVAL)?;
        match (dir, opt.name) {
            (SoptDir::Get, nb::RUMP_IP_TTL) => opt.data = i32::from(p.ttl).to_ne_bytes().to_vec(),
            (SoptDir::Get, nb::RUMP_IP_TOS) => opt.data = i32::from(p.tos).to_ne_bytes().to_vec(),
            (SoptDir::Set, nb::RUMP_IP_TTL | nb::RUMP_IP_TOS) => {
                let v = crate::kern::uipc_socket::sockopt_int(&opt.data)?;
                if !(0..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                let ttl = opt.name == nb::RUMP_IP_TTL;
                set_rpcb(k, so, |p| {
                    if ttl {
                        p.ttl = v as u8;
                    } else {
                        p.tos = v as u8;
                    }
                });
            }
            _ => return inp_ctloutput(k, so, dir, opt),
        }
        Ok(())
    }

    fn ioctl(&self, k: &mut KernelState, _so: SocketId, cmd: u64, data: &mut [u8]) -> KResult<()> {
        k.in_control(cmd, data)
    }
}

/// Give a copy of a datagram (IP header included) to every raw socket of its protocol
/// whose bound and connected addresses match (rip_input). Returns how many took it.
pub fn rip_input(
    k: &mut KernelState,
    proto: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    packet: &[u8],
) -> usize {
    let Some(inet) = k.inet() else {
        return 0;
    };
    let targets: Vec<SocketId> = inet
        .rawcb
        .iter()
        .filter(|(_, p)| *p == proto || *p == 0)
        .map(|(s, _)| *s)
        .collect();
    let pool = k.pool.clone();
    let from = SockAddr::Inet(SocketAddr::V4(SocketAddrV4::new(src, 0)));
    let mut n = 0;
    for so in targets {
        let Some(p) = rpcb(k, so) else {
            continue;
        };
        if (!p.laddr.is_unspecified() && p.laddr != dst)
            || (!p.faddr.is_unspecified() && p.faddr != src)
        {
            continue;
        }
        if k.so(so).so_state & SS_CANTRCVMORE != 0 {
            continue;
        }
        let Ok(m) = MbufChain::from_slice(&pool, packet, 0) else {
            continue;
        };
        if k.so_mut(so).so_rcv.append_addr(Some(from), m) {
            k.sorwakeup(so);
            n += 1;
        }
    }
    n
}
