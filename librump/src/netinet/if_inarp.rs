//! ARP for IPv4 over Ethernet (NetBSD: netinet/if_arp.c): the cache, resolution with a
//! bounded queue of packets waiting for it, replies for our own addresses only, and
//! gratuitous announcements.
//!
//! Timers are callouts, one per entry that is being resolved; resolved entries expire
//! lazily when looked up, so an idle cache does no work.

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

use crate::kern::errno::{Errno, KResult};
use crate::kern::kern_clock::HZ;
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::MbufChain;
use crate::net::if_ethersubr::ether_output_frame;
use crate::wire::arp::{ArpOperation, ArpPacket, ArpRepr};
use crate::wire::ethernet::{EtherType, EthernetAddress};

/// How long a resolved entry lives (net.inet.arp.keep, 20 minutes).
pub const ARPT_KEEP: u64 = 1200 * HZ;
/// How long a failed resolution is remembered before trying again (arpt_down).
pub const ARPT_DOWN: u64 = 20 * HZ;
/// Requests sent before giving up (arp_maxtries).
pub const ARP_MAXTRIES: u32 = 5;
/// Interval between requests.
pub const ARPT_RETRANS: u64 = HZ;
/// Packets held per entry while it resolves: enough for the fragments of one 64 KiB
/// datagram (Linux holds about that many bytes; NetBSD's single la_hold would lose all
/// but the last fragment).
pub const ARP_MAXHOLD: usize = 64;

/// The state of a cache entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpState {
    /// A request is out.
    Incomplete,
    /// Known.
    Resolved(EthernetAddress),
    /// Gave up until `expire`.
    Failed,
}

/// One cache entry (`struct llentry`).
#[derive(Debug)]
pub struct ArpEntry {
    /// The interface the neighbour is on.
    pub ifindex: usize,
    /// What we know.
    pub state: ArpState,
    /// Tick at which the entry stops being valid.
    pub expire: u64,
    /// Requests sent so far.
    pub asked: u32,
    /// Packets waiting for the address.
    pub hold: VecDeque<MbufChain>,
}

/// The ARP cache.
#[derive(Debug, Default)]
pub struct ArpTable {
    /// Entries by IPv4 address.
    pub entries: HashMap<Ipv4Addr, ArpEntry>,
}

impl ArpTable {
    /// The link address of a neighbour, if resolved and fresh.
    pub fn lookup(&self, a: Ipv4Addr, now: u64) -> Option<EthernetAddress> {
        match self.entries.get(&a) {
            Some(ArpEntry {
                state: ArpState::Resolved(mac),
                expire,
                ..
            }) if *expire > now => Some(*mac),
            _ => None,
        }
    }
}

fn send_arp(
    k: &mut KernelState,
    ifindex: usize,
    repr: ArpRepr,
    dst: EthernetAddress,
) -> KResult<()> {
    let mut buf = [0u8; 28];
    repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
    let pool = k.pool.clone();
    let m = MbufChain::from_slice(&pool, &buf, crate::kern::mbuf::MAX_HDR)?;
    ether_output_frame(k, ifindex, m, dst, EtherType::Arp)
}

fn our_mac(k: &KernelState, ifindex: usize) -> Option<EthernetAddress> {
    k.ifp(ifindex).map(|i| EthernetAddress(i.if_lladdr))
}

/// Broadcast a request for `target`, from our address on the interface (arprequest).
pub fn arp_request(k: &mut KernelState, ifindex: usize, sip: Ipv4Addr, target: Ipv4Addr) {
    let Some(mac) = our_mac(k, ifindex) else {
        return;
    };
    let repr = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: mac,
        source_protocol_addr: sip,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    };
    if send_arp(k, ifindex, repr, EthernetAddress::BROADCAST).is_ok() {
        if let Some(i) = k.inet_mut() {
            if sip == target {
                i.arpstat.as_sndgarp += 1;
            } else {
                i.arpstat.as_sndrequest += 1;
            }
        }
    }
}

/// Announce an address we just took (gratuitous ARP: a request for ourselves).
pub fn arp_gratuitous(k: &mut KernelState, ifindex: usize, addr: Ipv4Addr) {
    arp_request(k, ifindex, addr, addr);
}

/// Our source address for talking to `dst` on an interface.
fn src_for(k: &KernelState, ifindex: usize, dst: Ipv4Addr) -> Option<Ipv4Addr> {
    let addrs = k.in_addrs_of(ifindex);
    addrs
        .iter()
        .find(|a| a.contains(dst))
        .or(addrs.first())
        .map(|a| a.ia_addr)
}

/// Find the link address of `dst` on `ifindex` (arpresolve). Returns the address and
/// the packet to send now, or (None, None) when the packet was queued waiting for the
/// answer.
///
/// # Errors
/// `EHOSTDOWN` while a failed resolution is remembered (the packet is dropped).
pub fn arpresolve(
    k: &mut KernelState,
    ifindex: usize,
    dst: Ipv4Addr,
    m: MbufChain,
) -> KResult<(Option<EthernetAddress>, Option<MbufChain>)> {
    let now = k.ticks();
    let inet = k.inet_mut().ok_or(Errno::ENETDOWN)?;
    if let Some(mac) = inet.arp.lookup(dst, now) {
        return Ok((Some(mac), Some(m)));
    }
    let e = inet.arp.entries.entry(dst).or_insert_with(|| ArpEntry {
        ifindex,
        state: ArpState::Incomplete,
        expire: 0,
        asked: 0,
        hold: VecDeque::new(),
    });
    match e.state {
        ArpState::Failed if e.expire > now => {
            inet.arpstat.as_dropped += 1;
            return Err(Errno::EHOSTDOWN);
        }
        ArpState::Resolved(_) => {
            // Expired: resolve again.
            inet.arpstat.as_timeouts += 1;
            e.state = ArpState::Incomplete;
            e.asked = 0;
        }
        ArpState::Failed => {
            e.state = ArpState::Incomplete;
            e.asked = 0;
        }
        ArpState::Incomplete => {}
    }
    e.ifindex = ifindex;
    if e.hold.len() >= ARP_MAXHOLD {
        e.hold.pop_front();
        inet.arpstat.as_dfrdropped += 1;
    }
    e.hold.push_back(m);
    if e.asked == 0 {
        e.asked = 1;
        if let Some(sip) = src_for(k, ifindex, dst) {
            arp_request(k, ifindex, sip, dst);
        }
        k.callout_schedule(
            ARPT_RETRANS,
            Box::new(move |k: &mut KernelState| arp_rexmit(k, dst)),
        );
    }
    Ok((None, None))
}

/// The resolution timer of one entry: ask again, or give up and drop what waits.
fn arp_rexmit(k: &mut KernelState, dst: Ipv4Addr) {
    let now = k.ticks();
    let Some(inet) = k.inet_mut() else {
        return;
    };
    let Some(e) = inet.arp.entries.get_mut(&dst) else {
        return;
    };
    if e.state != ArpState::Incomplete {
        return;
    }
    if e.asked >= ARP_MAXTRIES {
        let dropped = e.hold.len() as u64;
        e.hold.clear();
        e.state = ArpState::Failed;
        e.expire = now + ARPT_DOWN;
        inet.arpstat.as_dropped += dropped;
        return;
    }
    e.asked += 1;
    let ifindex = e.ifindex;
    if let Some(sip) = src_for(k, ifindex, dst) {
        arp_request(k, ifindex, sip, dst);
    }
    k.callout_schedule(
        ARPT_RETRANS,
        Box::new(move |k: &mut KernelState| arp_rexmit(k, dst)),
    );
}

/// An ARP packet arrived (in_arpinput): learn the sender if it is a neighbour we talk
/// to or it asks for us, answer requests for our own addresses.
pub fn in_arpinput(k: &mut KernelState, ifindex: usize, m: MbufChain) {
    let mut buf = [0u8; 28];
    let n = m.copy_out(0, &mut buf);
    let Some(inet) = k.inet_mut() else {
        return;
    };
    inet.arpstat.as_rcvtotal += 1;
    let Ok(pkt) = ArpPacket::new_checked(&buf[..n]) else {
        inet.arpstat.as_rcvbadproto += 1;
        return;
    };
    let Ok(ArpRepr::EthernetIpv4 {
        operation,
        source_hardware_addr: sha,
        source_protocol_addr: spa,
        target_protocol_addr: tpa,
        ..
    }) = ArpRepr::parse(&pkt)
    else {
        inet.arpstat.as_rcvbadproto += 1;
        return;
    };
    match operation {
        ArpOperation::Request => inet.arpstat.as_rcvrequest += 1,
        ArpOperation::Reply => inet.arpstat.as_rcvreply += 1,
        _ => {
            inet.arpstat.as_rcvbadproto += 1;
            return;
        }
    }
    if !sha.is_unicast() || spa.is_broadcast() || spa.is_multicast() {
        inet.arpstat.as_rcvbadproto += 1;
        return;
    }
    let Some(mymac) = our_mac(k, ifindex) else {
        return;
    };
    if sha == mymac {
        return; // our own request, echoed by the medium
    }
    let addrs = k.in_addrs_of(ifindex);
    let for_us = addrs.iter().any(|a| a.ia_addr == tpa);
    if addrs.iter().any(|a| a.ia_addr == spa) {
        // Someone else claims one of our addresses.
        tracing::warn!(%spa, %sha, "arp: duplicate IP address");
        if let Some(i) = k.inet_mut() {
            i.arpstat.as_dupips += 1;
        }
        return;
    }
    let now = k.ticks();
    let inet = k.inet_mut().expect("checked");
    let known = inet.arp.entries.contains_key(&spa);
    if !known && !for_us {
        inet.arpstat.as_rcvforeign += 1;
        return;
    }
    // Learn (or refresh) the sender; send what waited for it.
    let e = inet.arp.entries.entry(spa).or_insert_with(|| ArpEntry {
        ifindex,
        state: ArpState::Incomplete,
        expire: 0,
        asked: 0,
        hold: VecDeque::new(),
    });
    e.state = ArpState::Resolved(sha);
    e.expire = now + ARPT_KEEP;
    e.ifindex = ifindex;
    e.asked = 0;
    let held: Vec<MbufChain> = e.hold.drain(..).collect();
    for pm in held {
        let _ = ether_output_frame(k, ifindex, pm, sha, EtherType::Ipv4);
    }
    if operation == ArpOperation::Request && for_us {
        let reply = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Reply,
            source_hardware_addr: mymac,
            source_protocol_addr: tpa,
            target_hardware_addr: sha,
            target_protocol_addr: spa,
        };
        if send_arp(k, ifindex, reply, sha).is_ok() {
            if let Some(i) = k.inet_mut() {
                i.arpstat.as_sndreply += 1;
            }
        }
    }
}
