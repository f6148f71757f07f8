//! Unit tests of the ICMP view and Repr.

use super::*;
use crate::wire::ipv4::{IpProtocol, Ipv4Packet};

fn emit(repr: &Icmpv4Repr<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
    buf
}

fn parse(buf: &[u8]) -> Result<Icmpv4Repr<'_>, WireError> {
    Icmpv4Repr::parse(&Icmpv4Packet::new_checked(buf)?, ChecksumCheck::Verify)
}

/// A UDP datagram from 10.0.1.2:5353 to 10.0.2.3:9, with 12 bytes of payload.
fn original() -> Vec<u8> {
    let ip = Ipv4Repr {
        src: Ipv4Addr::new(10, 0, 1, 2),
        dst: Ipv4Addr::new(10, 0, 2, 3),
        protocol: IpProtocol::Udp,
        payload_len: 20,
        ttl: 1,
        tos: 0,
        ident: 7,
        dont_frag: false,
    };
    let mut buf = vec![0u8; ip.buffer_len()];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    buf[20..28].copy_from_slice(&[0x14, 0xe9, 0x00, 0x09, 0x00, 0x14, 0x00, 0x00]);
    buf
}

#[test]
fn echo_round_trip_and_layout() {
    let data = b"abcdefghijklmnopqrstuvwabcdefghi";
    let request = Icmpv4Repr::EchoRequest {
        ident: 0x1234,
        seq_no: 7,
        data,
    };
    let buf = emit(&request);
    assert_eq!(&buf[..2], &[8, 0]);
    assert_eq!(&buf[4..8], &[0x12, 0x34, 0, 7]);
    let packet = Icmpv4Packet::new_checked(&buf[..]).unwrap();
    assert!(packet.verify_checksum());
    assert_eq!((packet.echo_ident(), packet.echo_seq_no()), (0x1234, 7));
    assert_eq!(packet.msg_type(), Icmpv4Message::EchoRequest);
    assert_eq!(parse(&buf), Ok(request));
    assert_eq!(request.buffer_len(), 8 + data.len());

    let reply = Icmpv4Repr::EchoReply {
        ident: 1,
        seq_no: 0xffff,
        data: &[],
    };
    let buf = emit(&reply);
    assert_eq!(buf.len(), HEADER_LEN);
    assert_eq!(parse(&buf), Ok(reply));
    // Odd-length echo data checksums too.
    let odd = Icmpv4Repr::EchoRequest {
        ident: 9,
        seq_no: 9,
        data: b"odd",
    };
    assert_eq!(parse(&emit(&odd)), Ok(odd));
}

#[test]
fn errors_round_trip() {
    let orig = original();
    let unreach =
        Icmpv4Repr::dst_unreachable(Icmpv4DstUnreachable::PortUnreachable, 0, &orig).unwrap();
    let Icmpv4Repr::DstUnreachable { header, data, .. } = unreach else {
        panic!("not an unreachable");
    };
    assert_eq!(data, &orig[..28], "the header and 8 bytes");
    assert_eq!(
        (header.src, header.payload_len),
        (Ipv4Addr::new(10, 0, 1, 2), 20)
    );
    let buf = emit(&unreach);
    assert_eq!(&buf[..2], &[3, 3]);
    assert_eq!(parse(&buf), Ok(unreach));

    let frag_needed =
        Icmpv4Repr::dst_unreachable(Icmpv4DstUnreachable::FragRequired, 1400, &orig).unwrap();
    let buf = emit(&frag_needed);
    assert_eq!(&buf[4..8], &[0, 0, 0x05, 0x78]);
    assert_eq!(
        Icmpv4Packet::new_checked(&buf[..]).unwrap().next_hop_mtu(),
        1400
    );
    assert_eq!(parse(&buf), Ok(frag_needed));

    let quoted = quote(&orig);
    let others = [
        Icmpv4Repr::TimeExceeded {
            reason: Icmpv4TimeExceeded::TtlExpired,
            data: quoted,
        },
        Icmpv4Repr::TimeExceeded {
            reason: Icmpv4TimeExceeded::FragReassembly,
            data: &orig,
        },
        Icmpv4Repr::ParamProblem {
            pointer: 20,
            data: quoted,
        },
        Icmpv4Repr::Redirect {
            reason: Icmpv4Redirect::Host,
            gateway: Ipv4Addr::new(10, 0, 1, 254),
            data: quoted,
        },
        Icmpv4Repr::Other {
            msg_type: Icmpv4Message::Unknown(13),
            code: 0,
            rest_of_header: 0xdead_beef,
            data: &[1, 2, 3],
        },
        Icmpv4Repr::Other {
            msg_type: Icmpv4Message::EchoRequest,
            code: 1,
            rest_of_header: 5,
            data: &[],
        },
    ];
    for repr in others {
        assert_eq!(parse(&emit(&repr)), Ok(repr));
    }
    let buf = emit(&others[3]);
    let packet = Icmpv4Packet::new_checked(&buf[..]).unwrap();
    assert_eq!(packet.gateway(), Ipv4Addr::new(10, 0, 1, 254));
    let buf = emit(&others[2]);
    assert_eq!(Icmpv4Packet::new_checked(&buf[..]).unwrap().pointer(), 20);
}

#[test]
fn codes() {
    for n in 0..=255u8 {
        assert_eq!(u8::from(Icmpv4Message::from(n)), n);
        assert_eq!(u8::from(Icmpv4DstUnreachable::from(n)), n);
        assert_eq!(u8::from(Icmpv4TimeExceeded::from(n)), n);
        assert_eq!(u8::from(Icmpv4Redirect::from(n)), n);
    }
    assert_eq!(
        Icmpv4DstUnreachable::from(4),
        Icmpv4DstUnreachable::FragRequired
    );
    assert_eq!(
        Icmpv4TimeExceeded::from(1),
        Icmpv4TimeExceeded::FragReassembly
    );
    assert!(Icmpv4Message::TimeExceeded.is_error() && !Icmpv4Message::EchoReply.is_error());
}

#[test]
fn truncated_and_bad_checksum() {
    let buf = emit(&Icmpv4Repr::EchoRequest {
        ident: 1,
        seq_no: 2,
        data: &[],
    });
    for len in 0..HEADER_LEN {
        assert_eq!(parse(&buf[..len]), Err(WireError::Truncated));
        let unchecked = Icmpv4Packet::new_unchecked(&buf[..len]);
        assert!(unchecked.data().is_empty());
        assert_eq!(
            Icmpv4Repr::parse(&unchecked, ChecksumCheck::Skip),
            Err(WireError::Truncated)
        );
    }
    let mut bad = buf.clone();
    bad[6] ^= 0x40;
    assert_eq!(parse(&bad), Err(WireError::BadChecksum));
    let packet = Icmpv4Packet::new_checked(&bad[..]).unwrap();
    assert!(Icmpv4Repr::parse(&packet, ChecksumCheck::Skip).is_ok());
}

#[test]
fn short_or_bad_quotes() {
    let orig = original();
    // An error message re-checksummed around a quote cut at every length.
    for len in 0..28 {
        let repr = Icmpv4Repr::TimeExceeded {
            reason: Icmpv4TimeExceeded::TtlExpired,
            data: &orig[..len],
        };
        let err = parse(&emit(&repr)).unwrap_err();
        assert_eq!(err, WireError::Truncated, "quote of {len} bytes");
    }
    let mut bad = orig.clone();
    bad[0] = 0x65;
    let repr = Icmpv4Repr::TimeExceeded {
        reason: Icmpv4TimeExceeded::TtlExpired,
        data: &bad,
    };
    assert_eq!(parse(&emit(&repr)), Err(WireError::BadVersion));
    // A quoted header with options needs its 8 bytes after the options.
    let mut opts = vec![0x46];
    opts.extend_from_slice(&orig[1..20]);
    opts.extend_from_slice(&[1, 1, 1, 0]);
    opts.extend_from_slice(&orig[20..28]);
    let repr = Icmpv4Repr::ParamProblem {
        pointer: 0,
        data: &opts[..31],
    };
    assert_eq!(parse(&emit(&repr)), Err(WireError::Truncated));
    let repr = Icmpv4Repr::ParamProblem {
        pointer: 0,
        data: &opts,
    };
    assert_eq!(parse(&emit(&repr)), Ok(repr));
    assert_eq!(quote(&opts), &opts[..]);
    assert_eq!(quote(&orig[..10]), &orig[..10]);
    assert!(quote(&[]).is_empty());
    assert_eq!(
        Icmpv4Repr::dst_unreachable(Icmpv4DstUnreachable::HostUnreachable, 0, &orig[..10]),
        Err(WireError::Truncated)
    );
}
