//! Ethernet input and output (NetBSD: net/if_ethersubr.c), and the common entry for
//! frames coming up from any interface (if_input).

use std::net::Ipv4Addr;

use crate::kern::errno::{Errno, KResult};
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::MbufChain;
use crate::net::ifnet::{flags, IfType};
use crate::wire::ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr, HEADER_LEN};

/// Where an IP packet goes on the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkDst {
    /// Every station (IP broadcast).
    Broadcast,
    /// The station owning this IPv4 address (the next hop), found by ARP.
    NextHop(Ipv4Addr),
}

/// A frame arrived on an interface: count, capture, and pass it to its protocol.
pub fn if_input(k: &mut KernelState, ifindex: usize, m: MbufChain) {
    // The clock is read only for a capture.
    let now = k
        .ifp(ifindex)
        .is_some_and(|i| i.if_pcap.is_some())
        .then(|| k.host.clock_monotonic());
    let Some(ifp) = k.ifp_mut(ifindex) else {
        return;
    };
    ifp.if_data.ifi_ipackets += 1;
    ifp.if_data.ifi_ibytes += m.len() as u64;
    // lo0's packets were captured on their way out (looutput); not twice.
    if ifp.if_type != IfType::Loop {
        if let (Some(tap), Some(now)) = (ifp.if_pcap.as_mut(), now) {
            tap.tap(now, &m);
        }
    }
    if !ifp.is_up() {
        ifp.if_data.ifi_iqdrops += 1;
        return;
    }
    match ifp.if_type {
        IfType::Loop => crate::netinet::ip_input::ip_input(k, ifindex, m, false),
        IfType::Ether => ether_input(k, ifindex, m),
    }
}

/// Ethernet input: filter by destination, then demultiplex on the EtherType.
fn ether_input(k: &mut KernelState, ifindex: usize, mut m: MbufChain) {
    let mut hdr = [0u8; HEADER_LEN];
    let ifp = k.ifp_mut(ifindex).expect("caller checked");
    if m.copy_out(0, &mut hdr) < HEADER_LEN {
        ifp.if_data.ifi_ierrors += 1;
        return;
    }
    let Ok(frame) = EthernetFrame::new_checked(&hdr[..]) else {
        ifp.if_data.ifi_ierrors += 1;
        return;
    };
    let Ok(eh) = EthernetRepr::parse(&frame) else {
        ifp.if_data.ifi_ierrors += 1;
        return;
    };
    let mine = EthernetAddress(ifp.if_lladdr);
    if eh.src_addr == mine {
        return; // our own frame, seen again on a shared medium
    }
    let bcast = eh.dst_addr.is_broadcast() || eh.dst_addr.is_multicast();
    if bcast {
        ifp.if_data.ifi_imcasts += 1;
    } else if eh.dst_addr != mine && ifp.if_flags & flags::IFF_PROMISC == 0 {
        return; // for another station
    }
    m.drop_front(HEADER_LEN);
    match eh.ethertype {
        EtherType::Ipv4 => crate::netinet::ip_input::ip_input(k, ifindex, m, bcast),
        EtherType::Arp => crate::netinet::if_inarp::in_arpinput(k, ifindex, m),
        _ => k.ifp_mut(ifindex).expect("present").if_data.ifi_noproto += 1,
    }
}

/// Put an Ethernet header on a frame and send it (the second half of ether_output).
pub fn ether_output_frame(
    k: &mut KernelState,
    ifindex: usize,
    mut m: MbufChain,
    dst: EthernetAddress,
    ethertype: EtherType,
) -> KResult<()> {
    let src = EthernetAddress(k.ifp(ifindex).ok_or(Errno::ENXIO)?.if_lladdr);
    let pool = k.pool.clone();
    let h = m.prepend(&pool, HEADER_LEN)?;
    EthernetRepr {
        src_addr: src,
        dst_addr: dst,
        ethertype,
    }
    .emit(&mut EthernetFrame::new_unchecked(h));
    if dst.is_broadcast() || dst.is_multicast() {
        if let Some(ifp) = k.ifp_mut(ifindex) {
            ifp.if_data.ifi_omcasts += 1;
        }
    }
    k.if_transmit(ifindex, m)
}

/// Send an IP packet on an interface (ether_output / looutput): resolve the link
/// address, frame it, send. A packet waiting for ARP is kept and Ok is returned.
///
/// # Errors
/// `EHOSTDOWN` when ARP gave up on the next hop, `ENETDOWN`, `ENOBUFS`.
pub fn ether_output(
    k: &mut KernelState,
    ifindex: usize,
    m: MbufChain,
    dst: LinkDst,
) -> KResult<()> {
    let ifp = k.ifp(ifindex).ok_or(Errno::ENXIO)?;
    if !ifp.is_up() {
        return Err(Errno::ENETDOWN);
    }
    match ifp.if_type {
        IfType::Loop => k.if_transmit(ifindex, m),
        IfType::Ether => {
            let mac = match dst {
                LinkDst::Broadcast => EthernetAddress::BROADCAST,
                LinkDst::NextHop(a) => {
                    match crate::netinet::if_inarp::arpresolve(k, ifindex, a, m)? {
                        (Some(mac), Some(m)) => {
                            return ether_output_frame(k, ifindex, m, mac, EtherType::Ipv4)
                        }
                        _ => return Ok(()),
                    }
                }
            };
            ether_output_frame(k, ifindex, m, mac, EtherType::Ipv4)
        }
    }
}
