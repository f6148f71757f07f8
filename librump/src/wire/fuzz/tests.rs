//! The fuzz smoke tests: 300,000 mutations per parser entry point, plus checks of the
//! seeds and of the harness itself.

use std::time::Instant;

use super::*;
use crate::wire::ipv4::Ipv4OptionsIter;

const ITERATIONS: usize = 300_000;

/// Runs `smoke` and reports how long it took (`--nocapture` shows it).
fn timed(name: &str, target: fn(&[u8]), seeds: &[Vec<u8>], seed: u64) {
    let start = Instant::now();
    smoke(target, seeds, ITERATIONS, seed);
    eprintln!("{name}: {ITERATIONS} iterations in {:?}", start.elapsed());
}

#[test]
fn fuzz_smoke_ethernet_arp_ipv4_icmp_udp() {
    timed("ethernet", ethernet_input, &seeds_ethernet(), 0xe7e7);
}

#[test]
fn fuzz_smoke_arp() {
    timed("arp", arp_input, &seeds_arp(), 0xa4a4);
}

#[test]
fn fuzz_smoke_ipv4_icmp_udp() {
    timed("ipv4", ipv4_input, &seeds_ipv4(), 0x4444);
}

#[test]
fn fuzz_smoke_icmpv4() {
    timed("icmpv4", icmpv4_input, &seeds_icmpv4(), 0x1c1c);
}

#[test]
fn fuzz_smoke_udp() {
    timed("udp", udp_input, &seeds_udp(), 0x1717);
}

#[test]
fn fuzz_smoke_ipv4_options() {
    // Options alone: the walker over arbitrary bytes, bounded and consistent.
    fn walk(options: &[u8]) {
        let mut iter = Ipv4OptionsIter::new(options);
        let mut end = 0;
        while let Some(item) = iter.next() {
            match item {
                Ok(option) => {
                    end = option.offset + option.len();
                    assert!(end <= options.len());
                }
                Err(_) => assert_eq!(iter.offset(), end),
            }
        }
    }
    let seeds = vec![
        vec![IPOPT_RA, 4, 0, 0, IPOPT_NOP, IPOPT_EOL, 0, 0],
        vec![7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    ];
    timed("ipv4 options", walk, &seeds, 0x0b0b);
}

#[test]
fn fuzz_smoke_pcap_reader() {
    timed("pcap", pcap_input, &seeds_pcap(), 0xcafe);
}

#[test]
fn seeds_are_valid() {
    let src = SEED_SRC;
    let dst = SEED_DST;
    for d in seeds_udp() {
        let p = UdpPacket::new_checked(&d[..]).unwrap();
        UdpRepr::parse(&p, src, dst, ChecksumCheck::Verify).unwrap();
    }
    for m in seeds_icmpv4() {
        let p = Icmpv4Packet::new_checked(&m[..]).unwrap();
        Icmpv4Repr::parse(&p, ChecksumCheck::Verify).unwrap();
    }
    let mut fragments = 0;
    let mut with_options = 0;
    for d in seeds_ipv4() {
        let p = Ipv4Packet::new_checked(&d[..]).unwrap();
        Ipv4Repr::parse(&p, ChecksumCheck::Verify).unwrap();
        fragments += usize::from(p.is_fragment());
        with_options += usize::from(!p.options().is_empty());
    }
    assert_eq!((fragments, with_options), (2, 1));
    for a in seeds_arp() {
        ArpRepr::parse(&ArpPacket::new_checked(&a[..]).unwrap()).unwrap();
    }
    let frames = seeds_ethernet();
    assert!(frames.iter().all(|f| f.len() >= 60));
    for f in &frames {
        let frame = EthernetFrame::new_checked(&f[..]).unwrap();
        assert_ne!(
            EthernetRepr::parse(&frame).unwrap().ethertype,
            EtherType::Ipv6
        );
    }
    let files = seeds_pcap();
    let read = PcapReader::new(&files[0][..]).unwrap().count();
    assert_eq!(read, frames.len());
}

#[test]
#[should_panic(expected = "found 0x42")]
fn smoke_lets_panics_through() {
    fn target(data: &[u8]) {
        if data.first() == Some(&0x42) {
            panic!("found 0x42");
        }
    }
    smoke(target, &[vec![0x41, 0]], 100_000, 1);
}

#[test]
fn xorshift_is_reproducible() {
    let mut a = XorShift64::new(99);
    let mut b = XorShift64::new(99);
    for _ in 0..1000 {
        assert_eq!(a.next_u64(), b.next_u64());
    }
    let mut z = XorShift64::new(0);
    assert_ne!(z.next_u64(), 0);
    assert_eq!(z.below(0), 0);
    assert!((0..1000).all(|_| z.below(7) < 7));
}
