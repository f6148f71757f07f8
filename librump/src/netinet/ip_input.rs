//! IP input and forwarding (NetBSD: netinet/ip_input.c).
//!
//! Every check that fails is a counted drop in `ipstat`: a malformed packet never
//! panics and never produces an errno.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use super::ip_icmp::{self, icmp_error};
use super::ip_output::{ip_route, ip_send};
use super::ip_reass::ReassResult;
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::MbufChain;
use crate::wire::ipv4::{IpProtocol, Ipv4OptionsIter, Ipv4Packet};
use crate::wire::WireError;

/// The longest quote an ICMP error carries: a full header and 8 bytes.
pub const QUOTE_MAX: usize = 68;

/// What ip_input learned from a header.
struct IpHdr {
    hlen: usize,
    total: usize,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    ttl: u8,
    ident: u16,
    mf: bool,
    off: usize,
    df: bool,
}

fn parse(k: &mut KernelState, buf: &[u8]) -> Option<IpHdr> {
    let st = &mut k.inet_mut()?.ipstat;
    let p = match Ipv4Packet::new_checked(buf) {
        Ok(p) => p,
        Err(e) => {
            match e {
                WireError::BadVersion => st.ips_badvers += 1,
                WireError::Truncated => st.ips_tooshort += 1,
                _ => st.ips_badlen += 1,
            }
            return None;
        }
    };
    if p.header_len() < 20 {
        st.ips_badhlen += 1;
        return None;
    }
    if !p.verify_checksum() {
        st.ips_badsum += 1;
        return None;
    }
    if Ipv4OptionsIter::check(p.options()).is_err() {
        st.ips_badoptions += 1;
        return None;
    }
    Some(IpHdr {
        hlen: p.header_len(),
        total: usize::from(p.total_len()),
        src: p.src_addr(),
        dst: p.dst_addr(),
        proto: u8::from(p.protocol()),
        ttl: p.ttl(),
        ident: p.ident(),
        mf: p.more_frags(),
        off: usize::from(p.frag_offset()),
        df: p.dont_frag(),
    })
}

/// A packet arrived (ipintr → ip_input). `link_bcast`: it came as a link-level
/// broadcast or multicast, so it is never forwarded.
pub fn ip_input(k: &mut KernelState, ifindex: usize, mut m: MbufChain, link_bcast: bool) {
    let Some(inet) = k.inet_mut() else {
        return;
    };
    inet.ipstat.ips_total += 1;
    // Frames from a link fit one mbuf; a jumbo chain is made contiguous once.
    let len = m.len();
    let (h, quote) = {
        let buf: Cow<'_, [u8]> = match m.head(len) {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(m.to_vec()),
        };
        let Some(h) = parse(k, &buf) else {
            return;
        };
        let mut quote = [0u8; QUOTE_MAX];
        let qn = buf.len().min(h.hlen + 8).min(QUOTE_MAX);
        quote[..qn].copy_from_slice(&buf[..qn]);
        (h, (quote, qn))
    };
    let quote = &quote.0[..quote.1];
    let inet = k.inet_mut().expect("checked");
    if h.src.is_broadcast() || h.src.is_multicast() {
        inet.ipstat.ips_badaddr += 1;
        return;
    }
    if h.total < len {
        m.drop_back(len - h.total); // link padding
    }
    let bcast = h.dst.is_broadcast() || k.in_is_broadcast(h.dst);
    let ours = bcast || k.in_is_local(h.dst) || h.dst == Ipv4Addr::new(224, 0, 0, 1);
    if k.in_is_broadcast(h.src) {
        if let Some(i) = k.inet_mut() {
            i.ipstat.ips_badaddr += 1;
        }
        return;
    }
    if !ours {
        if h.dst.is_multicast() || link_bcast {
            return;
        }
        if !k.sysctl.ip_forwarding() {
            if let Some(i) = k.inet_mut() {
                i.ipstat.ips_cantforward += 1;
                i.ipstat.ips_notforus += 1;
            }
            return;
        }
        ip_forward(k, m, &h, quote);
        return;
    }
    // Fragments wait for the rest of their datagram.
    if h.mf || h.off != 0 {
        let inet = k.inet_mut().expect("checked");
        inet.ipstat.ips_fragments += 1;
        let mut hdr = [0u8; 60];
        m.copy_out(0, &mut hdr[..h.hlen]);
        let mut data = vec![0u8; h.total.saturating_sub(h.hlen)];
        m.copy_out(h.hlen, &mut data);
        let key = (h.src, h.dst, h.ident, h.proto);
        match inet.reass.insert(key, &hdr[..h.hlen], h.off, h.mf, &data) {
            ReassResult::Held { new_queue } => {
                if let Some(serial) = new_queue {
                    k.callout_schedule(
                        super::ip_reass::IPFRAGTTL,
                        Box::new(move |k: &mut KernelState| ip_reass_timeout(k, key, serial)),
                    );
                }
                return;
            }
            ReassResult::Dropped(n) => {
                inet.ipstat.ips_fragdropped += n as u64;
                return;
            }
            ReassResult::Done(mut full) => {
                inet.ipstat.ips_reassembled += 1;
                let total = full.len();
                {
                    let mut p = Ipv4Packet::new_unchecked(&mut full[..]);
                    p.set_total_len(total as u16);
                    p.set_more_frags(false);
                    p.set_frag_offset(0);
                    p.fill_checksum();
                }
                let pool = k.pool.clone();
                let Ok(nm) = MbufChain::from_slice(&pool, &full, 0) else {
                    return;
                };
                m = nm;
            }
        }
    }
    ip_deliver(k, ifindex, m, &h, bcast, quote);
}

/// Hand a complete datagram for us to its protocol.
fn ip_deliver(
    k: &mut KernelState,
    ifindex: usize,
    m: MbufChain,
    h: &IpHdr,
    bcast: bool,
    quote: &[u8],
) {
    if let Some(i) = k.inet_mut() {
        i.ipstat.ips_delivered += 1;
    }
    match IpProtocol::from(h.proto) {
        IpProtocol::Udp => {
            let mut m = m;
            m.drop_front(h.hlen);
            super::udp_usrreq::udp_input(k, h.src, h.dst, m, quote, bcast);
        }
        IpProtocol::Tcp => {
            let mut m = m;
            m.drop_front(h.hlen);
            super::tcp_input::tcp_input(k, h.src, h.dst, m, bcast);
        }
        IpProtocol::Icmp => {
            let pkt = m.to_vec();
            ip_icmp::icmp_input(k, ifindex, h.src, h.dst, bcast, &pkt, h.hlen);
        }
        _ => {
            let pkt = m.to_vec();
            if super::raw_ip::rip_input(k, h.proto, h.src, h.dst, &pkt) == 0 {
                if let Some(i) = k.inet_mut() {
                    i.ipstat.ips_noproto += 1;
                }
                if !bcast {
                    icmp_error(
                        k,
                        quote,
                        ip_icmp::ICMP_UNREACH,
                        ip_icmp::ICMP_UNREACH_PROTOCOL,
                        0,
                    );
                }
            }
        }
    }
}

/// The reassembly timer of one datagram.
fn ip_reass_timeout(k: &mut KernelState, key: super::ip_reass::ReassKey, serial: u64) {
    let Some(inet) = k.inet_mut() else {
        return;
    };
    if let Some((n, quote)) = inet.reass.timeout(key, serial) {
        inet.ipstat.ips_fragtimeout += n as u64;
        if let Some(q) = quote {
            icmp_error(
                k,
                &q,
                ip_icmp::ICMP_TIMXCEED,
                ip_icmp::ICMP_TIMXCEED_REASS,
                0,
            );
        }
    }
}

/// Forward a packet not for us (ip_forward): TTL, route, MTU.
fn ip_forward(k: &mut KernelState, mut m: MbufChain, h: &IpHdr, quote: &[u8]) {
    if h.ttl <= 1 {
        icmp_error(
            k,
            quote,
            ip_icmp::ICMP_TIMXCEED,
            ip_icmp::ICMP_TIMXCEED_INTRANS,
            0,
        );
        if let Some(i) = k.inet_mut() {
            i.ipstat.ips_cantforward += 1;
        }
        return;
    }
    let route = match ip_route(k, Ipv4Addr::UNSPECIFIED, h.dst, false) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(_) => {
            icmp_error(
                k,
                quote,
                ip_icmp::ICMP_UNREACH,
                ip_icmp::ICMP_UNREACH_HOST,
                0,
            );
            if let Some(i) = k.inet_mut() {
                i.ipstat.ips_cantforward += 1;
            }
            return;
        }
    };
    let (ifindex, ldst, mtu) = route;
    // TTL down by one; the header checksum is recomputed over the header.
    let mut hdr = [0u8; 60];
    m.copy_out(0, &mut hdr[..h.hlen]);
    {
        let mut p = Ipv4Packet::new_unchecked(&mut hdr[..h.hlen]);
        p.set_ttl(h.ttl - 1);
        p.fill_checksum();
    }
    m.copy_in(0, &hdr[..h.hlen]);
    if m.len() > mtu as usize && h.df {
        icmp_error(
            k,
            quote,
            ip_icmp::ICMP_UNREACH,
            ip_icmp::ICMP_UNREACH_NEEDFRAG,
            mtu as u16,
        );
        if let Some(i) = k.inet_mut() {
            i.ipstat.ips_cantfrag += 1;
        }
        return;
    }
    match ip_send(k, ifindex, ldst, m, mtu) {
        Ok(()) => {
            if let Some(i) = k.inet_mut() {
                i.ipstat.ips_forward += 1;
            }
        }
        Err(_) => {
            if let Some(i) = k.inet_mut() {
                i.ipstat.ips_cantforward += 1;
            }
        }
    }
}
