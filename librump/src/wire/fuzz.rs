//! A fuzz smoke harness for the wire parsers: seeds, mutations, and input-path targets.
//!
//! [`smoke`] runs a target over valid seed packets and then over many mutations of them
//! (xorshift64, so a run is reproducible from its seed). It catches nothing: a panic in a
//! parser fails the calling test, after a note on stderr names the iteration and input.
//! The unit tests run it 300,000 times per target; the `cargo fuzz` targets call the same
//! target functions with coverage-guided inputs.
//!
//! The targets parse the way the input path does: the outer header, then the inner one
//! on its payload ([`ethernet_input`] dispatches to [`arp_input`] and [`ipv4_input`],
//! which dispatches to [`icmpv4_input`] and [`udp_input_v4`]). Checksums are verified
//! and, when wrong, the packet is parsed again with [`ChecksumCheck::Skip`] so mutated
//! packets still reach the inner parsers. Each target also checks properties that must
//! hold for any input: every getter of a checked view is in bounds, a parsed Repr emits
//! and parses back to itself, and checksums over split slices agree with flat ones.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::arp::{ArpOperation, ArpPacket, ArpRepr};
use super::checksum;
use super::ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
use super::icmpv4::{self, Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr, Icmpv4TimeExceeded};
use super::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr, IPOPT_EOL, IPOPT_NOP, IPOPT_RA};
use super::pcap::{PcapReader, PcapWriter};
use super::udp::{self, UdpPacket, UdpRepr};
use super::ChecksumCheck;

/// The longest input a mutation may grow (a jumbo-ish frame).
const MAX_INPUT: usize = 9216;

/// Source address of the IPv4 seeds, and of [`udp_input`]'s pseudo-header.
pub const SEED_SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
/// Destination address of the IPv4 seeds.
pub const SEED_DST: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
const MAC_SRC: EthernetAddress = EthernetAddress([0x02, 0x00, 0x0a, 0x00, 0x01, 0x01]);
const MAC_DST: EthernetAddress = EthernetAddress([0x02, 0x00, 0x0a, 0x00, 0x01, 0x02]);

/// Marsaglia's xorshift64: small, fast, reproducible; not for anything secret.
#[derive(Debug, Clone)]
pub struct XorShift64 {
    state: u64,
}

impl XorShift64 {
    /// A generator from `seed` (zero, which would stick, is replaced).
    pub const fn new(seed: u64) -> Self {
        XorShift64 {
            state: if seed == 0 {
                0x9e37_79b9_7f4a_7c15
            } else {
                seed
            },
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    /// A random byte.
    pub fn next_u8(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }

    /// A number in `0..n`, or 0 if `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }
}

/// Names the failing input on stderr if the target panics (it does not catch the panic).
struct PanicNote<'a> {
    input: &'a [u8],
    iteration: usize,
    seed: u64,
}

impl Drop for PanicNote<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "fuzz smoke: target panicked at iteration {} (seed {:#x}) on {} bytes: {:02x?}",
                self.iteration,
                self.seed,
                self.input.len(),
                self.input
            );
        }
    }
}

/// Runs `target` over each seed, then over `iterations` mutations of random seeds, each
/// one to four stacked mutations deep. Deterministic for a given `seed`.
///
/// # Panics
///
/// Whenever `target` does: that is the finding.
pub fn smoke(target: fn(&[u8]), seeds: &[Vec<u8>], iterations: usize, seed: u64) {
    for (i, input) in seeds.iter().enumerate() {
        let _note = PanicNote {
            input,
            iteration: i,
            seed,
        };
        target(input);
    }
    let mut rng = XorShift64::new(seed);
    let mut buf = Vec::with_capacity(MAX_INPUT);
    for iteration in 0..iterations {
        buf.clear();
        if let Some(start) = seeds.get(rng.below(seeds.len())) {
            buf.extend_from_slice(start);
        }
        for _ in 0..=rng.below(4) {
            mutate(&mut rng, &mut buf, seeds);
        }
        let _note = PanicNote {
            input: &buf,
            iteration: seeds.len() + iteration,
            seed,
        };
        target(&buf);
    }
}

/// Applies one random mutation to `buf`.
fn mutate(rng: &mut XorShift64, buf: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let len = buf.len();
    let at = rng.below(len);
    match rng.below(10) {
        0 if len > 0 => buf[at] ^= 1 << rng.below(8),
        1 if len > 0 => buf[at] = 0,
        2 if len > 0 => buf[at] = 0xff,
        3 if len > 0 => buf[at] = rng.next_u8(),
        4 if len < MAX_INPUT => buf.insert(rng.below(len + 1), rng.next_u8()),
        5 if len > 0 => {
            buf.remove(at);
        }
        6 => buf.truncate(rng.below(len + 1)),
        7 => {
            let n = (1 + rng.below(64)).min(MAX_INPUT.saturating_sub(len));
            buf.extend((0..n).map(|_| rng.next_u8()));
        }
        8 => {
            // Splice in a slice of another seed, overwriting (and maybe growing).
            let Some(other) = seeds.get(rng.below(seeds.len())) else {
                return;
            };
            let start = rng.below(other.len());
            let n = 1 + rng.below((other.len() - start).min(64));
            let Some(piece) = other.get(start..start + n) else {
                return;
            };
            let dst = rng.below(len + 1);
            let end = (dst + n).min(MAX_INPUT);
            if end > len {
                buf.resize(end, 0);
            }
            buf[dst..end].copy_from_slice(&piece[..end - dst]);
        }
        _ if len >= 2 => {
            // A 16-bit field set to an edge value, or to something length-like.
            let off = rng.below(len - 1);
            let choices = [
                0,
                0xffff,
                len,
                len + 1,
                len - 1,
                len - off,
                8,
                20,
                rng.below(64),
            ];
            let value = choices[rng.below(choices.len())] as u16;
            buf[off..off + 2].copy_from_slice(&value.to_be_bytes());
        }
        _ => buf.push(rng.next_u8()),
    }
}

/// Target: a frame as ether input sees it, dispatched to ARP and IPv4.
pub fn ethernet_input(data: &[u8]) {
    let Ok(frame) = EthernetFrame::new_checked(data) else {
        return;
    };
    let Ok(repr) = EthernetRepr::parse(&frame) else {
        panic!("a checked frame must parse");
    };
    let mut out = [0u8; 14];
    repr.emit(&mut EthernetFrame::new_unchecked(&mut out[..]));
    assert_eq!(
        EthernetRepr::parse(&EthernetFrame::new_unchecked(&out[..])),
        Ok(repr)
    );
    assert_eq!(frame.payload().len(), data.len() - 14);
    let _ = (repr.src_addr.is_multicast(), repr.dst_addr.is_broadcast());
    match repr.ethertype {
        EtherType::Arp => arp_input(frame.payload()),
        EtherType::Ipv4 => ipv4_input(frame.payload()),
        _ => {}
    }
}

/// Target: an ARP packet.
pub fn arp_input(data: &[u8]) {
    let Ok(packet) = ArpPacket::new_checked(data) else {
        return;
    };
    let (h, p) = (packet.hlen(), packet.plen());
    assert_eq!(packet.source_hardware_addr().len(), h);
    assert_eq!(packet.source_protocol_addr().len(), p);
    assert_eq!(packet.target_hardware_addr().len(), h);
    assert_eq!(packet.target_protocol_addr().len(), p);
    let _ = (packet.htype(), packet.ptype(), packet.operation());
    let Ok(repr) = ArpRepr::parse(&packet) else {
        return;
    };
    let mut out = [0u8; 28];
    repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
    assert_eq!(
        ArpRepr::parse(&ArpPacket::new_unchecked(&out[..])),
        Ok(repr)
    );
}

/// Target: an IPv4 datagram as ip input sees it, dispatched to ICMP and UDP.
pub fn ipv4_input(data: &[u8]) {
    let Ok(packet) = Ipv4Packet::new_checked(data) else {
        return;
    };
    let header_len = packet.header_len();
    assert_eq!(packet.options().len(), header_len - 20);
    assert_eq!(
        packet.payload().len(),
        usize::from(packet.total_len()) - header_len
    );
    let _ = (
        packet.dscp(),
        packet.ecn(),
        packet.ident(),
        packet.dont_frag(),
    );
    let _ = (packet.more_frags(), packet.frag_offset(), packet.ttl());
    let _ = (packet.checksum(), packet.src_addr(), packet.dst_addr());
    let mut walked = 0;
    for option in packet.options_iter() {
        let Ok(option) = option else { break };
        assert_eq!(option.offset, walked);
        walked += option.len();
        assert!(walked <= packet.options().len());
        let _ = option.is_copied();
    }
    let repr = match Ipv4Repr::parse(&packet, ChecksumCheck::Verify) {
        Ok(repr) => repr,
        Err(_) => match Ipv4Repr::parse(&packet, ChecksumCheck::Skip) {
            Ok(repr) => repr,
            Err(_) => return,
        },
    };
    assert_eq!(repr.payload_len, packet.payload().len());
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
    let emitted = Ipv4Packet::new_checked(&out[..]).expect("emitted header checks");
    assert_eq!(Ipv4Repr::parse(&emitted, ChecksumCheck::Verify), Ok(repr));
    if packet.is_fragment() {
        return; // reassembly's business
    }
    match repr.protocol {
        IpProtocol::Icmp => icmpv4_input(packet.payload()),
        IpProtocol::Udp => udp_input_v4(repr.src, repr.dst, packet.payload()),
        _ => {}
    }
}

/// Target: an ICMP message.
pub fn icmpv4_input(data: &[u8]) {
    let Ok(packet) = Icmpv4Packet::new_checked(data) else {
        return;
    };
    let _ = (packet.msg_type(), packet.msg_code(), packet.checksum());
    let _ = (
        packet.echo_ident(),
        packet.echo_seq_no(),
        packet.next_hop_mtu(),
    );
    let _ = (packet.gateway(), packet.pointer(), packet.rest_of_header());
    let (a, b) = data.split_at((data.len() / 2) | 1);
    assert_eq!(
        packet.verify_checksum(),
        checksum::data_slices([a, b]) == 0xffff
    );
    let repr = match Icmpv4Repr::parse(&packet, ChecksumCheck::Verify) {
        Ok(repr) => repr,
        Err(_) => match Icmpv4Repr::parse(&packet, ChecksumCheck::Skip) {
            Ok(repr) => repr,
            Err(_) => return,
        },
    };
    if packet.msg_type().is_error() {
        // ctlinput reads the quoted header and ports without further checks.
        let quote = repr.data();
        let quoted = Ipv4Packet::new_unchecked(quote);
        let ports = quote.get(quoted.header_len()..quoted.header_len() + 4);
        assert!(ports.is_some(), "an error parsed without its quoted ports");
        let _ = (quoted.src_addr(), quoted.dst_addr(), quoted.protocol());
    }
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
    let emitted = Icmpv4Packet::new_checked(&out[..]).expect("emitted message checks");
    assert_eq!(Icmpv4Repr::parse(&emitted, ChecksumCheck::Verify), Ok(repr));
}

/// Target: a UDP datagram from [`SEED_SRC`] to [`SEED_DST`].
pub fn udp_input(data: &[u8]) {
    udp_input_v4(SEED_SRC, SEED_DST, data);
}

/// A UDP datagram from `src` to `dst`, as udp input sees it.
pub fn udp_input_v4(src: Ipv4Addr, dst: Ipv4Addr, data: &[u8]) {
    let Ok(packet) = UdpPacket::new_checked(data) else {
        return;
    };
    let _ = (packet.src_port(), packet.dst_port(), packet.is_empty());
    let datagram = &data[..usize::from(packet.len())];
    let (a, b) = datagram.split_at(datagram.len() / 3);
    if packet.checksum() != 0 {
        let split = udp::checksum_slices(src, dst, [a, b]) == 0;
        assert_eq!(packet.verify_checksum(src, dst), split);
    }
    let repr = match UdpRepr::parse(&packet, src, dst, ChecksumCheck::Verify) {
        Ok(repr) => repr,
        Err(_) => match UdpRepr::parse(&packet, src, dst, ChecksumCheck::Skip) {
            Ok(repr) => repr,
            Err(_) => return,
        },
    };
    assert_eq!(repr.payload_len, packet.payload().len());
    let mut out = vec![0u8; repr.buffer_len()];
    let mut emitted = UdpPacket::new_unchecked(&mut out[..]);
    repr.emit(&mut emitted, src, dst, |p| {
        p.copy_from_slice(packet.payload())
    });
    let emitted = UdpPacket::new_checked(&out[..]).expect("emitted datagram checks");
    assert_ne!(emitted.checksum(), 0);
    assert_eq!(
        UdpRepr::parse(&emitted, src, dst, ChecksumCheck::Verify),
        Ok(repr)
    );
}

/// Target: a pcap file, each frame sent through [`ethernet_input`].
pub fn pcap_input(data: &[u8]) {
    let Ok(reader) = PcapReader::new(data) else {
        return;
    };
    let _ = (reader.snaplen(), reader.linktype());
    for record in reader.take(64) {
        let Ok((_, frame)) = record else { break };
        ethernet_input(&frame);
    }
}

/// An IPv4 datagram: `repr` (its `payload_len` is overwritten), `options`, `payload`.
fn ipv4(mut repr: Ipv4Repr, options: &[u8], payload: &[u8]) -> Vec<u8> {
    repr.payload_len = payload.len();
    let header_len = 20 + options.len();
    let total_len = header_len + payload.len();
    let mut buf = vec![0u8; total_len];
    let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
    repr.emit(&mut packet);
    if !options.is_empty() {
        packet.set_header_len(header_len);
        packet.set_total_len(u16::try_from(total_len).unwrap_or(u16::MAX));
        let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
        packet.options_mut().copy_from_slice(options);
        packet.fill_checksum();
    }
    buf[header_len..].copy_from_slice(payload);
    buf
}

fn ip_repr(protocol: IpProtocol) -> Ipv4Repr {
    Ipv4Repr {
        src: SEED_SRC,
        dst: SEED_DST,
        protocol,
        payload_len: 0,
        ttl: 64,
        tos: 0,
        ident: 0x4d2,
        dont_frag: true,
    }
}

fn icmp(repr: &Icmpv4Repr<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
    buf
}

fn udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let repr = UdpRepr {
        src_port,
        dst_port,
        payload_len: payload.len(),
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    let mut packet = UdpPacket::new_unchecked(&mut buf[..]);
    repr.emit(&mut packet, SEED_SRC, SEED_DST, |p| {
        p.copy_from_slice(payload)
    });
    buf
}

/// Valid UDP datagrams from [`SEED_SRC`] to [`SEED_DST`].
pub fn seeds_udp() -> Vec<Vec<u8>> {
    let mut no_checksum = udp(68, 67, b"\x01\x01\x06\x00");
    no_checksum[6..8].copy_from_slice(&[0, 0]);
    vec![
        udp(5353, 9, b"hello, discard"),
        udp(40000, 7, b"odd"),
        udp(1, 2, b""),
        no_checksum,
    ]
}

/// Valid ICMP messages: echo request and reply, and errors quoting a UDP datagram.
pub fn seeds_icmpv4() -> Vec<Vec<u8>> {
    let echo_data = b"abcdefghijklmnopqrstuvwabcdefghi";
    let original = ipv4(ip_repr(IpProtocol::Udp), &[], &seeds_udp()[0]);
    let quoted = icmpv4::quote(&original);
    let mut seeds = vec![
        icmp(&Icmpv4Repr::EchoRequest {
            ident: 0x1234,
            seq_no: 1,
            data: echo_data,
        }),
        icmp(&Icmpv4Repr::EchoReply {
            ident: 0x1234,
            seq_no: 1,
            data: echo_data,
        }),
        icmp(&Icmpv4Repr::TimeExceeded {
            reason: Icmpv4TimeExceeded::TtlExpired,
            data: quoted,
        }),
        icmp(&Icmpv4Repr::ParamProblem {
            pointer: 20,
            data: quoted,
        }),
    ];
    for (reason, mtu) in [
        (Icmpv4DstUnreachable::PortUnreachable, 0),
        (Icmpv4DstUnreachable::FragRequired, 1400),
    ] {
        if let Ok(repr) = Icmpv4Repr::dst_unreachable(reason, mtu, &original) {
            seeds.push(icmp(&repr));
        }
    }
    seeds
}

/// Valid IPv4 datagrams: ICMP, UDP, two fragments, and a header with options.
pub fn seeds_ipv4() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = seeds_icmpv4()
        .iter()
        .map(|m| ipv4(ip_repr(IpProtocol::Icmp), &[], m))
        .collect();
    let udp = seeds_udp();
    seeds.extend(udp.iter().map(|d| ipv4(ip_repr(IpProtocol::Udp), &[], d)));
    // The first fragment of a UDP datagram (MF set), and a last one at offset 1480.
    let mut first = ipv4(ip_repr(IpProtocol::Udp), &[], &udp[0][..16]);
    let mut packet = Ipv4Packet::new_unchecked(&mut first[..]);
    packet.set_dont_frag(false);
    packet.set_more_frags(true);
    packet.fill_checksum();
    seeds.push(first);
    let mut last = ipv4(ip_repr(IpProtocol::Udp), &[], &[0x5a; 13]);
    let mut packet = Ipv4Packet::new_unchecked(&mut last[..]);
    packet.set_dont_frag(false);
    packet.set_frag_offset(1480);
    packet.fill_checksum();
    seeds.push(last);
    // Router alert, NOP, EOL padding: ihl 7.
    let options = [IPOPT_RA, 4, 0, 0, IPOPT_NOP, IPOPT_EOL, 0, 0];
    seeds.push(ipv4(ip_repr(IpProtocol::Udp), &options, &udp[0]));
    seeds.push(ipv4(
        ip_repr(IpProtocol::Unknown(253)),
        &[],
        b"experimental",
    ));
    seeds
}

/// Valid ARP packets: a request and a reply.
pub fn seeds_arp() -> Vec<Vec<u8>> {
    let request = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: MAC_SRC,
        source_protocol_addr: SEED_SRC,
        target_hardware_addr: EthernetAddress::default(),
        target_protocol_addr: SEED_DST,
    };
    let reply = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Reply,
        source_hardware_addr: MAC_DST,
        source_protocol_addr: SEED_DST,
        target_hardware_addr: MAC_SRC,
        target_protocol_addr: SEED_SRC,
    };
    [request, reply]
        .iter()
        .map(|repr| {
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
            buf
        })
        .collect()
}

/// An Ethernet frame around `payload`, padded to the 60-byte minimum.
fn frame(
    src: EthernetAddress,
    dst: EthernetAddress,
    ethertype: EtherType,
    payload: &[u8],
) -> Vec<u8> {
    let repr = EthernetRepr {
        src_addr: src,
        dst_addr: dst,
        ethertype,
    };
    let mut buf = vec![0u8; (14 + payload.len()).max(60)];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    repr.emit(&mut frame);
    frame.payload_mut()[..payload.len()].copy_from_slice(payload);
    buf
}

/// Valid Ethernet frames: ARP request (broadcast) and reply, then every IPv4 seed.
pub fn seeds_ethernet() -> Vec<Vec<u8>> {
    let arp = seeds_arp();
    let mut seeds = vec![
        frame(MAC_SRC, EthernetAddress::BROADCAST, EtherType::Arp, &arp[0]),
        frame(MAC_DST, MAC_SRC, EtherType::Arp, &arp[1]),
    ];
    for datagram in seeds_ipv4() {
        seeds.push(frame(MAC_SRC, MAC_DST, EtherType::Ipv4, &datagram));
    }
    seeds
}

/// Valid pcap files: every Ethernet seed in one file, and a file of one frame.
pub fn seeds_pcap() -> Vec<Vec<u8>> {
    let frames = seeds_ethernet();
    let mut seeds = Vec::new();
    for group in [&frames[..], &frames[..1]] {
        let Ok(mut writer) = PcapWriter::new(Vec::new()) else {
            continue;
        };
        for (i, f) in group.iter().enumerate() {
            let ts = Duration::from_millis(1_700_000_000_000 + i as u64);
            if writer.write_packet(ts, f).is_err() {
                break;
            }
        }
        seeds.push(writer.into_inner());
    }
    seeds
}

#[cfg(test)]
mod tests;
