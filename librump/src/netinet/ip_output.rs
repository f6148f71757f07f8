//! IP output (NetBSD: netinet/ip_output.c): route, header, fragmentation.

use std::net::Ipv4Addr;

use super::r#in::InIfaddr;
use crate::kern::errno::{Errno, KResult};
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::MbufChain;
use crate::net::if_ethersubr::{ether_output, LinkDst};
use crate::net::route::{RTF_BLACKHOLE, RTF_REJECT};
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, HEADER_LEN};

/// What a transport asks of IP for one datagram.
#[derive(Clone, Copy, Debug)]
pub struct IpOut {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol number.
    pub proto: u8,
    /// Time to live.
    pub ttl: u8,
    /// Type of service.
    pub tos: u8,
    /// Don't fragment.
    pub df: bool,
    /// SO_BROADCAST: broadcast destinations allowed.
    pub allow_broadcast: bool,
}

/// Where a packet for `dst` leaves: interface, link destination and MTU.
///
/// # Errors
/// `EHOSTUNREACH` without a route (or a reject route), `EACCES` for a broadcast
/// without permission, `ENETUNREACH` with no interface for a limited broadcast.
pub fn ip_route(
    k: &mut KernelState,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    allow_broadcast: bool,
) -> KResult<Option<(usize, LinkDst, u32)>> {
    if dst.is_broadcast() {
        if !allow_broadcast {
            return Err(Errno::EACCES);
        }
        // The limited broadcast leaves by the interface of the source address, or the
        // first broadcast-capable interface with an address.
        let inet = k.inet().ok_or(Errno::ENETUNREACH)?;
        let ia: Option<InIfaddr> = inet
            .in_ifaddrs
            .iter()
            .find(|a| {
                a.ia_addr == src
                    && !k
                        .ifp(a.ia_ifindex)
                        .is_some_and(|i| i.if_type == crate::net::ifnet::IfType::Loop)
            })
            .or_else(|| {
                inet.in_ifaddrs.iter().find(|a| {
                    k.ifp(a.ia_ifindex)
                        .is_some_and(|i| i.if_flags & crate::net::ifnet::flags::IFF_BROADCAST != 0)
                })
            })
            .copied();
        let ia = ia.ok_or(Errno::ENETUNREACH)?;
        let mtu = k.ifp(ia.ia_ifindex).map_or(1500, |i| i.if_mtu);
        return Ok(Some((ia.ia_ifindex, LinkDst::Broadcast, mtu)));
    }
    if k.in_is_local(dst) {
        // Our own address: out and back in through lo0 (as BSD's loopback route).
        let lo = k.ifunit("lo0").ok_or(Errno::EHOSTUNREACH)?;
        let mtu = k.ifp(lo).map_or(33624, |i| i.if_mtu);
        return Ok(Some((lo, LinkDst::NextHop(dst), mtu)));
    }
    let inet = k.inet_mut().ok_or(Errno::EHOSTUNREACH)?;
    let Some(rt) = inet.rt.lookup(dst).cloned() else {
        inet.ipstat.ips_noroute += 1;
        return Err(Errno::EHOSTUNREACH);
    };
    if rt.rt_flags & RTF_BLACKHOLE != 0 {
        return Ok(None);
    }
    if rt.rt_flags & RTF_REJECT != 0 {
        return Err(Errno::EHOSTUNREACH);
    }
    let ifp = k.ifp(rt.rt_ifindex).ok_or(Errno::EHOSTUNREACH)?;
    let mtu = if rt.rt_mtu != 0 {
        rt.rt_mtu.min(ifp.if_mtu)
    } else {
        ifp.if_mtu
    };
    if rt.rt_gateway.is_none()
        && k.in_addrs_of(rt.rt_ifindex)
            .iter()
            .any(|a| a.ia_broadaddr == dst && a.ia_prefixlen < 31)
    {
        if !allow_broadcast {
            return Err(Errno::EACCES);
        }
        return Ok(Some((rt.rt_ifindex, LinkDst::Broadcast, mtu)));
    }
    Ok(Some((
        rt.rt_ifindex,
        LinkDst::NextHop(rt.rt_gateway.unwrap_or(dst)),
        mtu,
    )))
}

/// Send a transport datagram (ip_output): add the IP header, fragment to the MTU.
///
/// # Errors
/// `EHOSTUNREACH`, `EACCES`, `EMSGSIZE` (too big with DF), `ENOBUFS`, `ENETDOWN`,
/// `EHOSTDOWN`.
pub fn ip_output(k: &mut KernelState, mut m: MbufChain, ip: IpOut) -> KResult<()> {
    let Some((ifindex, ldst, mtu)) = ip_route(k, ip.src, ip.dst, ip.allow_broadcast)? else {
        return Ok(()); // blackhole
    };
    let total = m.len() + HEADER_LEN;
    if total > 65535 {
        return Err(Errno::EMSGSIZE);
    }
    let inet = k.inet_mut().ok_or(Errno::ENETDOWN)?;
    let id = inet.ip_id;
    inet.ip_id = inet.ip_id.wrapping_add(1);
    inet.ipstat.ips_localout += 1;
    let pool = k.pool.clone();
    let h = m.prepend(&pool, HEADER_LEN)?;
    let mut p = Ipv4Packet::new_unchecked(h);
    p.set_version(4);
    p.set_header_len(HEADER_LEN);
    p.set_tos(ip.tos);
    p.set_total_len(total as u16);
    p.set_ident(id);
    p.clear_flags();
    p.set_dont_frag(ip.df);
    p.set_frag_offset(0);
    p.set_ttl(ip.ttl);
    p.set_protocol(IpProtocol::from(ip.proto));
    p.set_src_addr(ip.src);
    p.set_dst_addr(ip.dst);
    p.fill_checksum();
    ip_send(k, ifindex, ldst, m, mtu)
}

/// Send a complete IP packet on an interface, fragmenting it if it exceeds the MTU.
///
/// # Errors
/// `EMSGSIZE` when it must be fragmented and DF is set, or output errors.
pub fn ip_send(
    k: &mut KernelState,
    ifindex: usize,
    ldst: LinkDst,
    m: MbufChain,
    mtu: u32,
) -> KResult<()> {
    if m.len() <= mtu as usize {
        return ether_output(k, ifindex, m, ldst).inspect_err(|_| {
            if let Some(i) = k.inet_mut() {
                i.ipstat.ips_odropped += 1;
            }
        });
    }
    ip_fragment(k, ifindex, ldst, m, mtu)
}

/// Split a packet into fragments that fit `mtu` and send them (ip_fragment).
fn ip_fragment(
    k: &mut KernelState,
    ifindex: usize,
    ldst: LinkDst,
    mut m: MbufChain,
    mtu: u32,
) -> KResult<()> {
    let mut hdr = [0u8; 60];
    let n = m.copy_out(0, &mut hdr);
    let (hlen, df, mf0, off0) = {
        let p = Ipv4Packet::new_unchecked(&hdr[..n]);
        (
            p.header_len(),
            p.dont_frag(),
            p.more_frags(),
            p.frag_offset() as usize,
        )
    };
    let inet = k.inet_mut().ok_or(Errno::ENETDOWN)?;
    if df {
        inet.ipstat.ips_cantfrag += 1;
        return Err(Errno::EMSGSIZE);
    }
    let chunk = (mtu as usize).saturating_sub(hlen) & !7;
    if chunk == 0 {
        return Err(Errno::EMSGSIZE);
    }
    inet.ipstat.ips_fragmented += 1;
    m.drop_front(hlen);
    let pool = k.pool.clone();
    let mut off = 0usize;
    while !m.is_empty() {
        let take = chunk.min(m.len());
        let mut piece = m.try_split_off_front(take)?;
        let last = m.is_empty();
        // Later fragments keep only the base header (options are not copied).
        let fhlen = if off == 0 { hlen } else { HEADER_LEN };
        let h = piece.prepend(&pool, fhlen)?;
        h.copy_from_slice(&hdr[..fhlen]);
        let mut p = Ipv4Packet::new_unchecked(h);
        p.set_header_len(fhlen);
        p.set_total_len((fhlen + take) as u16);
        p.set_more_frags(!last || mf0);
        p.set_frag_offset((off0 + off) as u16);
        p.fill_checksum();
        if let Some(i) = k.inet_mut() {
            i.ipstat.ips_ofragments += 1;
        }
        ether_output(k, ifindex, piece, ldst)?;
        off += take;
    }
    Ok(())
}
