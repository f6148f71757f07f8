//! Unit tests of the IPv4 view, Repr and option walker.

use super::*;

fn repr(payload_len: usize) -> Ipv4Repr {
    Ipv4Repr {
        src: Ipv4Addr::new(10, 0, 1, 2),
        dst: Ipv4Addr::new(10, 0, 2, 3),
        protocol: IpProtocol::Udp,
        payload_len,
        ttl: 64,
        tos: 0x2e << 2 | 1,
        ident: 0xbeef,
        dont_frag: true,
    }
}

/// A datagram: `repr` emitted, the payload counting up from 0.
fn datagram(repr: &Ipv4Repr) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
    repr.emit(&mut packet);
    for (i, b) in packet.payload_mut().iter_mut().enumerate() {
        *b = i as u8;
    }
    buf
}

/// A datagram with `options` (a multiple of 4 bytes) after the fixed header.
fn with_options(options: &[u8], payload_len: usize) -> Vec<u8> {
    let r = repr(payload_len);
    let total_len = HEADER_LEN + options.len() + payload_len;
    let mut buf = vec![0u8; total_len];
    let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
    r.emit(&mut packet);
    packet.set_header_len(HEADER_LEN + options.len());
    packet.set_total_len(u16::try_from(total_len).unwrap());
    let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
    packet.options_mut().copy_from_slice(options);
    packet.fill_checksum();
    buf
}

#[test]
fn round_trip() {
    for len in [0, 1, 8, 1480, 65515] {
        let r = repr(len);
        let buf = datagram(&r);
        let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert!(packet.verify_checksum());
        assert_eq!(Ipv4Repr::parse(&packet, ChecksumCheck::Verify), Ok(r));
        assert_eq!(packet.payload().len(), len);
        assert_eq!(r.header_len(), HEADER_LEN);
        assert_eq!(r.buffer_len(), HEADER_LEN + len);
    }
}

#[test]
fn getters_and_setters() {
    let mut buf = datagram(&repr(12));
    let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
    assert_eq!(
        (packet.version(), packet.ihl(), packet.header_len()),
        (4, 5, 20)
    );
    assert_eq!((packet.dscp(), packet.ecn(), packet.tos()), (0x2e, 1, 0xb9));
    assert_eq!(packet.total_len(), 32);
    assert_eq!(packet.ident(), 0xbeef);
    assert!(packet.dont_frag() && !packet.more_frags() && !packet.is_fragment());
    assert_eq!((packet.frag_offset(), packet.ttl()), (0, 64));
    assert_eq!(packet.protocol(), IpProtocol::Udp);
    assert_eq!(packet.src_addr(), Ipv4Addr::new(10, 0, 1, 2));
    assert_eq!(packet.dst_addr(), Ipv4Addr::new(10, 0, 2, 3));
    assert!(packet.options().is_empty());
    assert_eq!(buf[6..8], [0x40, 0x00]);

    let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
    packet.set_dont_frag(false);
    packet.set_more_frags(true);
    packet.set_frag_offset(1480);
    packet.set_dscp(0);
    packet.set_ecn(3);
    packet.set_ttl(1);
    packet.set_protocol(IpProtocol::Unknown(253));
    packet.fill_checksum();
    let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
    assert!(!packet.dont_frag() && packet.more_frags() && packet.is_fragment());
    assert_eq!(packet.frag_offset(), 1480);
    assert_eq!(buf[6..8], [0x20, 185]);
    let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
    assert_eq!((packet.tos(), packet.ttl()), (3, 1));
    assert_eq!(packet.protocol(), IpProtocol::Unknown(253));
    assert!(packet.verify_checksum());

    // The last fragment: offset only, no MF, still a fragment.
    let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
    packet.clear_flags();
    packet.set_frag_offset(65528);
    assert!(packet.is_fragment() && !packet.more_frags());
    assert_eq!(packet.frag_offset(), 65528);
}

#[test]
fn protocols() {
    for n in 0..=255u8 {
        assert_eq!(u8::from(IpProtocol::from(n)), n);
    }
    assert_eq!(IpProtocol::from(6), IpProtocol::Tcp);
    assert_eq!(IpProtocol::from(58), IpProtocol::Icmpv6);
    assert_eq!(IpProtocol::Udp.to_string(), "UDP");
}

#[test]
fn truncated_at_every_length() {
    let buf = datagram(&repr(8));
    for len in 0..HEADER_LEN {
        assert_eq!(
            Ipv4Packet::new_checked(&buf[..len]),
            Err(WireError::Truncated)
        );
        let unchecked = Ipv4Packet::new_unchecked(&buf[..len]);
        assert_eq!(
            Ipv4Repr::parse(&unchecked, ChecksumCheck::Verify),
            Err(WireError::Truncated)
        );
        assert!(unchecked.payload().is_empty() && unchecked.options().is_empty());
    }
    // A whole header but not the datagram it announces: ips_tooshort.
    for len in HEADER_LEN..buf.len() {
        assert_eq!(
            Ipv4Packet::new_checked(&buf[..len]),
            Err(WireError::Truncated)
        );
    }
    // With options (ihl 6), cut inside the options.
    let opts = with_options(&[IPOPT_NOP; 4], 0);
    for len in HEADER_LEN..opts.len() {
        assert_eq!(
            Ipv4Packet::new_checked(&opts[..len]),
            Err(WireError::Truncated)
        );
    }
}

#[test]
fn bad_version_and_ihl() {
    let mut buf = datagram(&repr(8));
    for version in [0u8, 5, 6, 15] {
        buf[0] = version << 4 | 5;
        assert_eq!(
            Ipv4Packet::new_checked(&buf[..]),
            Err(WireError::BadVersion)
        );
    }
    for ihl in 0..5u8 {
        buf[0] = 0x40 | ihl;
        assert_eq!(Ipv4Packet::new_checked(&buf[..]), Err(WireError::BadLength));
    }
    // ihl 15 announces 60 header bytes, but the buffer holds 28.
    buf[0] = 0x4f;
    assert_eq!(Ipv4Packet::new_checked(&buf[..]), Err(WireError::Truncated));
}

#[test]
fn total_len_checks_and_padding() {
    let mut buf = datagram(&repr(8));
    for total in [0u16, 1, 19] {
        buf[2..4].copy_from_slice(&total.to_be_bytes());
        assert_eq!(Ipv4Packet::new_checked(&buf[..]), Err(WireError::BadLength));
    }
    buf[2..4].copy_from_slice(&29u16.to_be_bytes());
    assert_eq!(Ipv4Packet::new_checked(&buf[..]), Err(WireError::Truncated));
    buf[2..4].copy_from_slice(&0xffffu16.to_be_bytes());
    assert_eq!(Ipv4Packet::new_checked(&buf[..]), Err(WireError::Truncated));

    // Ethernet padding after the datagram is not payload.
    let mut padded = datagram(&repr(6));
    padded.resize(46, 0xee);
    let packet = Ipv4Packet::new_checked(&padded[..]).unwrap();
    assert_eq!(packet.payload(), &[0, 1, 2, 3, 4, 5]);
    assert_eq!(
        Ipv4Repr::parse(&packet, ChecksumCheck::Verify)
            .unwrap()
            .payload_len,
        6
    );
    // A header with no payload at all.
    let empty = datagram(&repr(0));
    assert!(Ipv4Packet::new_checked(&empty[..])
        .unwrap()
        .payload()
        .is_empty());
}

#[test]
fn bad_checksum() {
    let mut buf = datagram(&repr(8));
    buf[8] ^= 0x01; // ttl changed, checksum stale
    let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
    assert!(!packet.verify_checksum());
    assert_eq!(
        Ipv4Repr::parse(&packet, ChecksumCheck::Verify),
        Err(WireError::BadChecksum)
    );
    assert!(Ipv4Repr::parse(&packet, ChecksumCheck::Skip).is_ok());
    // Payload bytes are not covered by the header checksum.
    let mut buf = datagram(&repr(8));
    buf[25] ^= 0xff;
    let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
    assert!(packet.verify_checksum());
}

#[test]
fn options_walk() {
    let options = [
        IPOPT_NOP, IPOPT_RA, 4, 0, 0, IPOPT_RR, 7, 4, 0, 0, 0, 0, IPOPT_EOL, 0xde, 0xad, 0xbe,
    ];
    let buf = with_options(&options, 4);
    let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
    assert_eq!(packet.header_len(), 36);
    assert_eq!(packet.options(), &options);
    assert_eq!(packet.payload(), &[0, 0, 0, 0]);
    let parsed = Ipv4Repr::parse(&packet, ChecksumCheck::Verify).unwrap();
    assert_eq!(parsed.payload_len, 4);
    let walked: Vec<_> = packet.options_iter().map(Result::unwrap).collect();
    let kinds: Vec<(usize, u8, usize)> =
        walked.iter().map(|o| (o.offset, o.kind, o.len())).collect();
    // EOL ends the walk: the bytes after it are padding, never read.
    assert_eq!(
        kinds,
        [
            (0, IPOPT_NOP, 1),
            (1, IPOPT_RA, 4),
            (5, IPOPT_RR, 7),
            (12, IPOPT_EOL, 1)
        ]
    );
    assert_eq!(walked[1].data, &[0, 0]);
    assert!(walked[1].is_copied() && !walked[2].is_copied() && !walked[0].is_empty());
    assert_eq!(walked[2].data, &[4, 0, 0, 0, 0]);
    // Without an EOL, the walk ends at the end of the area.
    assert_eq!(Ipv4OptionsIter::new(&[IPOPT_NOP; 3]).count(), 3);
    assert_eq!(Ipv4OptionsIter::new(&[]).count(), 0);
}

#[test]
fn bad_option_lengths() {
    let cases: [(&[u8], usize); 6] = [
        (&[IPOPT_RA, 0, 0, 0], 0),                         // length 0
        (&[IPOPT_RA, 1, 0, 0], 0),                         // length 1: would not advance
        (&[IPOPT_NOP, IPOPT_RA, 4, 0], 1),                 // runs one past the end
        (&[IPOPT_NOP, IPOPT_NOP, IPOPT_NOP, IPOPT_RR], 3), // length byte missing
        (&[IPOPT_RR, 255, 0, 0], 0),                       // far past the end
        (&[IPOPT_RA, 2, IPOPT_TS, 9], 2),                  // second option bad
    ];
    for (options, at) in cases {
        let mut iter = Ipv4OptionsIter::new(options);
        let first_error = iter.by_ref().find(Result::is_err);
        assert_eq!(first_error, Some(Err(WireError::BadOption)), "{options:?}");
        assert_eq!(iter.offset(), at, "{options:?}");
        assert_eq!(iter.next(), None, "the walk stops at an error");
        assert_eq!(Ipv4OptionsIter::check(options), Err(WireError::BadOption));

        let buf = with_options(options, 0);
        let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert!(packet.verify_checksum());
        assert_eq!(
            Ipv4Repr::parse(&packet, ChecksumCheck::Verify),
            Err(WireError::BadOption)
        );
    }
    // A minimal TLV (length 2) and a full 40-byte area are fine.
    assert_eq!(
        Ipv4OptionsIter::check(&[IPOPT_RA, 2, IPOPT_NOP, IPOPT_EOL]),
        Ok(())
    );
    let mut full = [0u8; 40];
    full[0] = IPOPT_RR;
    full[1] = 40;
    let buf = with_options(&full, 0);
    let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
    assert_eq!(packet.header_len(), MAX_HEADER_LEN);
    assert!(Ipv4Repr::parse(&packet, ChecksumCheck::Verify).is_ok());
}

#[test]
fn quoted_header() {
    let buf = datagram(&repr(100));
    // An ICMP error quotes the header and 8 bytes: the total length says 120.
    let quoted = Ipv4Repr::parse_quoted(&buf[..28]).unwrap();
    assert_eq!(quoted, repr(100));
    assert_eq!(
        Ipv4Repr::parse_quoted(&buf[..19]),
        Err(WireError::Truncated)
    );
    let mut bad = buf.clone();
    bad[0] = 0x65;
    assert_eq!(
        Ipv4Repr::parse_quoted(&bad[..28]),
        Err(WireError::BadVersion)
    );
    bad[0] = 0x44;
    assert_eq!(
        Ipv4Repr::parse_quoted(&bad[..28]),
        Err(WireError::BadLength)
    );
    bad[0] = 0x48;
    assert_eq!(
        Ipv4Repr::parse_quoted(&bad[..28]),
        Err(WireError::Truncated)
    );
    bad[0] = 0x45;
    bad[2..4].copy_from_slice(&10u16.to_be_bytes());
    assert_eq!(
        Ipv4Repr::parse_quoted(&bad[..28]),
        Err(WireError::BadLength)
    );
}

#[test]
#[should_panic(expected = "longer than 65535")]
fn emit_refuses_oversized() {
    let mut buf = [0u8; HEADER_LEN];
    repr(65516).emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
}

#[test]
fn nonsense_lengths_never_panic() {
    let mut buf = datagram(&repr(8));
    let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
    packet.set_total_len(0xffff);
    assert_eq!(packet.payload_mut().len(), 8);
    packet.set_header_len(60);
    assert!(packet.options_mut().is_empty() && packet.payload_mut().is_empty());
    packet.set_total_len(3);
    packet.set_header_len(20);
    let packet = Ipv4Packet::new_unchecked(&buf[..]);
    assert!(packet.payload().is_empty());
    assert!(!Ipv4Packet::new_unchecked(&buf[..4]).verify_checksum());
}
