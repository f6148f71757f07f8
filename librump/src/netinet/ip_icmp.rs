//! ICMP (NetBSD: netinet/ip_icmp.c): echo, errors we send for others, errors others send
//! us (handed to the transport that caused them), and a rate limit on what we send.

use std::net::Ipv4Addr;

use super::ip_output::{ip_output, IpOut};
use crate::kern::errno::Errno;
use crate::kern::kern_clock::HZ;
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::{MbufChain, MAX_HDR};
use crate::wire::checksum;
use crate::wire::ipv4::Ipv4Packet;

/// Echo reply.
pub const ICMP_ECHOREPLY: u8 = 0;
/// Destination unreachable.
pub const ICMP_UNREACH: u8 = 3;
/// Source quench.
pub const ICMP_SOURCEQUENCH: u8 = 4;
/// Redirect.
pub const ICMP_REDIRECT: u8 = 5;
/// Echo request.
pub const ICMP_ECHO: u8 = 8;
/// Time exceeded.
pub const ICMP_TIMXCEED: u8 = 11;
/// Parameter problem.
pub const ICMP_PARAMPROB: u8 = 12;
/// Unreachable: network.
pub const ICMP_UNREACH_NET: u8 = 0;
/// Unreachable: host.
pub const ICMP_UNREACH_HOST: u8 = 1;
/// Unreachable: protocol.
pub const ICMP_UNREACH_PROTOCOL: u8 = 2;
/// Unreachable: port.
pub const ICMP_UNREACH_PORT: u8 = 3;
/// Unreachable: fragmentation needed and DF set.
pub const ICMP_UNREACH_NEEDFRAG: u8 = 4;
/// Time exceeded in transit (TTL).
pub const ICMP_TIMXCEED_INTRANS: u8 = 0;
/// Time exceeded in reassembly.
pub const ICMP_TIMXCEED_REASS: u8 = 1;
/// Errors we send per second at most (net.inet.icmp.errppslimit).
pub const ICMP_ERRPPSLIMIT: u32 = 100;
/// Bytes of the offending datagram's payload an error quotes (icmpreturndatabytes).
pub const ICMP_RETURNDATABYTES: usize = 8;

fn is_error_type(t: u8) -> bool {
    matches!(
        t,
        ICMP_UNREACH | ICMP_SOURCEQUENCH | ICMP_REDIRECT | ICMP_TIMXCEED | ICMP_PARAMPROB
    )
}

/// Send an ICMP error about a datagram we received (icmp_error). `quote` is its IP
/// header and at least the first bytes of its payload. Nothing is sent about ICMP
/// errors, later fragments, broadcasts, or from an invalid source; and at most
/// [`ICMP_ERRPPSLIMIT`] a second.
pub fn icmp_error(k: &mut KernelState, quote: &[u8], ty: u8, code: u8, mtu: u16) {
    let Ok(ip) = Ipv4Packet::new_checked(quote).or_else(|_| {
        // A quote is a truncated datagram: check only its header.
        let p = Ipv4Packet::new_unchecked(quote);
        if quote.len() >= 20
            && p.version() == 4
            && p.header_len() >= 20
            && p.header_len() <= quote.len()
        {
            Ok(p)
        } else {
            Err(())
        }
    }) else {
        return;
    };
    let (src, dst, hlen, off, proto) = (
        ip.src_addr(),
        ip.dst_addr(),
        ip.header_len(),
        ip.frag_offset(),
        ip.protocol(),
    );
    let bad_src =
        src.is_unspecified() || src.is_broadcast() || src.is_multicast() || k.in_is_broadcast(src);
    let bad_dst = dst.is_broadcast() || dst.is_multicast() || k.in_is_broadcast(dst);
    let Some(inet) = k.inet_mut() else {
        return;
    };
    if off != 0 || bad_src || bad_dst {
        return;
    }
    if u8::from(proto) == 1 && quote.len() > hlen && is_error_type(quote[hlen]) {
        inet.icmpstat.icps_oldicmp += 1;
        return;
    }
    // Token bucket: ICMP_ERRPPSLIMIT tokens a second.
    let now = k.ticks();
    let inet = k.inet_mut().expect("checked");
    let (tokens, at) = inet.icmp_tokens;
    let refill = ((now.saturating_sub(at)) * u64::from(ICMP_ERRPPSLIMIT) / HZ) as u32;
    let tokens = (tokens + refill).min(ICMP_ERRPPSLIMIT);
    if tokens == 0 {
        inet.icmpstat.icps_ratelimited += 1;
        return;
    }
    inet.icmp_tokens = (tokens - 1, if refill > 0 { now } else { at });
    inet.icmpstat.icps_error += 1;
    let qlen = quote.len().min(hlen + ICMP_RETURNDATABYTES);
    let mut msg = vec![0u8; 8 + qlen];
    msg[0] = ty;
    msg[1] = code;
    if ty == ICMP_UNREACH && code == ICMP_UNREACH_NEEDFRAG {
        msg[6..8].copy_from_slice(&mtu.to_be_bytes());
    }
    msg[8..].copy_from_slice(&quote[..qlen]);
    let ck = checksum::result(checksum::data(&msg));
    msg[2..4].copy_from_slice(&ck.to_be_bytes());
    let Ok(from) = k.in_selectsrc(src) else {
        return;
    };
    icmp_send(k, from, src, msg, ty);
}

fn icmp_send(k: &mut KernelState, src: Ipv4Addr, dst: Ipv4Addr, msg: Vec<u8>, ty: u8) {
    let pool = k.pool.clone();
    let Ok(m) = MbufChain::from_slice(&pool, &msg, MAX_HDR) else {
        return;
    };
    if let Some(i) = k.inet_mut() {
        if let Some(c) = i.icmpstat.icps_outhist.get_mut(usize::from(ty)) {
            *c += 1;
        }
    }
    let ttl = k.sysctl.ip_defttl();
    let _ = ip_output(
        k,
        m,
        IpOut {
            src,
            dst,
            proto: 1,
            ttl,
            tos: 0,
            df: false,
            allow_broadcast: false,
        },
    );
}

/// The errno a transport sees for an ICMP error (inetctlerrmap).
pub fn icmp_errno(ty: u8, code: u8) -> Option<Errno> {
    match (ty, code) {
        (ICMP_UNREACH, ICMP_UNREACH_PROTOCOL | ICMP_UNREACH_PORT) => Some(Errno::ECONNREFUSED),
        (ICMP_UNREACH, ICMP_UNREACH_NEEDFRAG) => Some(Errno::EMSGSIZE),
        (ICMP_UNREACH, ICMP_UNREACH_NET) => Some(Errno::ENETUNREACH),
        (ICMP_UNREACH, _) => Some(Errno::EHOSTUNREACH),
        (ICMP_TIMXCEED, _) => Some(Errno::EHOSTUNREACH),
        (ICMP_PARAMPROB, _) => Some(Errno::ENOPROTOOPT),
        _ => None,
    }
}

/// RFC 1191 section 7's plateaus: the largest below a refused datagram of `len` bytes.
pub fn icmp_mtu_plateau(len: u16) -> u32 {
    const PLATEAUS: [u32; 10] = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296];
    PLATEAUS
        .iter()
        .copied()
        .find(|&p| p < u32::from(len))
        .unwrap_or(68)
}

/// An ICMP message arrived for us (icmp_input): answer echoes, pass errors to the
/// transport they are about, and give every message to raw ICMP sockets. `pkt` is the
/// whole datagram, `hlen` its IP header length.
pub fn icmp_input(
    k: &mut KernelState,
    ifindex: usize,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    bcast: bool,
    pkt: &[u8],
    hlen: usize,
) {
    let _ = ifindex;
    let Some(inet) = k.inet_mut() else {
        return;
    };
    let Some(icmp) = pkt.get(hlen..).filter(|b| b.len() >= 8) else {
        inet.icmpstat.icps_tooshort += 1;
        return;
    };
    if checksum::data(icmp) != 0xffff {
        inet.icmpstat.icps_checksum += 1;
        return;
    }
    let (ty, code) = (icmp[0], icmp[1]);
    if let Some(c) = inet.icmpstat.icps_inhist.get_mut(usize::from(ty)) {
        *c += 1;
    }
    match ty {
        ICMP_ECHO if !bcast => {
            // Reply from the address it was sent to.
            let mut reply = icmp.to_vec();
            reply[0] = ICMP_ECHOREPLY;
            reply[2..4].fill(0);
            let ck = checksum::result(checksum::data(&reply));
            reply[2..4].copy_from_slice(&ck.to_be_bytes());
            if let Some(i) = k.inet_mut() {
                i.icmpstat.icps_reflect += 1;
            }
            icmp_send(k, dst, src, reply, ICMP_ECHOREPLY);
        }
        ICMP_UNREACH | ICMP_TIMXCEED | ICMP_PARAMPROB | ICMP_SOURCEQUENCH => {
            // The quoted datagram: its header and the first 8 bytes of its payload.
            let q = &icmp[8..];
            let qp = Ipv4Packet::new_unchecked(q);
            if q.len() >= 20
                && qp.version() == 4
                && qp.header_len() >= 20
                && q.len() >= qp.header_len() + 8
            {
                let qh = qp.header_len();
                if u8::from(qp.protocol()) == 6
                    && ty == ICMP_UNREACH
                    && code == ICMP_UNREACH_NEEDFRAG
                {
                    let sport = u16::from_be_bytes([q[qh], q[qh + 1]]);
                    let dport = u16::from_be_bytes([q[qh + 2], q[qh + 3]]);
                    let seq = u32::from_be_bytes([q[qh + 4], q[qh + 5], q[qh + 6], q[qh + 7]]);
                    let mtu = match u16::from_be_bytes([icmp[6], icmp[7]]) {
                        // An old router that does not say (RFC 1191 section 5): the
                        // next plateau below the datagram it refused.
                        0 => icmp_mtu_plateau(qp.total_len()),
                        m => u32::from(m),
                    };
                    super::tcp_usrreq::tcp_mtudisc(
                        k,
                        qp.src_addr(),
                        sport,
                        qp.dst_addr(),
                        dport,
                        seq,
                        mtu,
                    );
                } else if u8::from(qp.protocol()) == 6 {
                    if let Some(e) = icmp_errno(ty, code) {
                        let sport = u16::from_be_bytes([q[qh], q[qh + 1]]);
                        let dport = u16::from_be_bytes([q[qh + 2], q[qh + 3]]);
                        let seq = u32::from_be_bytes([q[qh + 4], q[qh + 5], q[qh + 6], q[qh + 7]]);
                        super::tcp_usrreq::tcp_ctlinput(
                            k,
                            e,
                            qp.src_addr(),
                            sport,
                            qp.dst_addr(),
                            dport,
                            seq,
                        );
                    }
                } else if u8::from(qp.protocol()) == 17 {
                    if let Some(e) = icmp_errno(ty, code) {
                        let sport = u16::from_be_bytes([q[qh], q[qh + 1]]);
                        let dport = u16::from_be_bytes([q[qh + 2], q[qh + 3]]);
                        super::udp_usrreq::udp_ctlinput(
                            k,
                            e,
                            qp.src_addr(),
                            sport,
                            qp.dst_addr(),
                            dport,
                        );
                    }
                }
            }
        }
        _ => {}
    }
    super::raw_ip::rip_input(k, 1, src, dst, pkt);
}

#[cfg(test)]
mod mtu_tests {
    use super::icmp_mtu_plateau;

    #[test]
    fn plateaus_are_the_next_lower_rfc1191_value() {
        assert_eq!(icmp_mtu_plateau(1500), 1492);
        assert_eq!(icmp_mtu_plateau(1492), 1006);
        assert_eq!(icmp_mtu_plateau(9000), 8166);
        assert_eq!(icmp_mtu_plateau(300), 296);
        assert_eq!(icmp_mtu_plateau(296), 68);
    }
}
