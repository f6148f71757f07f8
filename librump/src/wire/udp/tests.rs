//! Unit tests of the UDP view, Repr and checksum.

use super::*;
use crate::wire::fuzz::XorShift64;

const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 3);

fn datagram(payload: &[u8]) -> Vec<u8> {
    let repr = UdpRepr {
        src_port: 5353,
        dst_port: 9,
        payload_len: payload.len(),
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), SRC, DST, |p| {
        p.copy_from_slice(payload)
    });
    buf
}

fn parse(buf: &[u8]) -> Result<UdpRepr, WireError> {
    UdpRepr::parse(
        &UdpPacket::new_checked(buf)?,
        SRC,
        DST,
        ChecksumCheck::Verify,
    )
}

#[test]
fn round_trip_and_layout() {
    for payload in [&b""[..], b"x", b"hello, world", &[0xff; 1472]] {
        let buf = datagram(payload);
        let repr = parse(&buf).unwrap();
        assert_eq!(repr.payload_len, payload.len());
        assert_eq!((repr.src_port, repr.dst_port), (5353, 9));
        assert_eq!(repr.header_len(), HEADER_LEN);
        assert_eq!(repr.buffer_len(), buf.len());
        let packet = UdpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(packet.payload(), payload);
        assert_eq!(usize::from(packet.len()), buf.len());
        assert_eq!(packet.is_empty(), payload.is_empty());
        assert_ne!(packet.checksum(), 0);
    }
    let buf = datagram(b"ab");
    assert_eq!(&buf[..6], &[0x14, 0xe9, 0x00, 0x09, 0x00, 0x0a]);
}

#[test]
fn truncated_and_bad_lengths() {
    let buf = datagram(b"payload!");
    for len in 0..HEADER_LEN {
        assert_eq!(
            parse(&buf[..len]),
            Err(WireError::Truncated),
            "length {len}"
        );
        let unchecked = UdpPacket::new_unchecked(&buf[..len]);
        assert!(unchecked.payload().is_empty());
    }
    // Cut inside the payload: the length field runs past the buffer.
    for len in HEADER_LEN..buf.len() {
        assert_eq!(
            parse(&buf[..len]),
            Err(WireError::Truncated),
            "length {len}"
        );
    }
    let mut bad = buf.clone();
    for ulen in [0u16, 1, 7] {
        bad[4..6].copy_from_slice(&ulen.to_be_bytes());
        assert_eq!(parse(&bad), Err(WireError::BadLength));
    }
    bad[4..6].copy_from_slice(&17u16.to_be_bytes());
    assert_eq!(parse(&bad), Err(WireError::Truncated));
    bad[4..6].copy_from_slice(&0xffffu16.to_be_bytes());
    assert_eq!(parse(&bad), Err(WireError::Truncated));
    // An unchecked view with a silly length never reads past the buffer.
    let unchecked = UdpPacket::new_unchecked(&bad[..]);
    assert_eq!(unchecked.payload(), &bad[8..]);
    assert!(!unchecked.verify_checksum(SRC, DST));
}

#[test]
fn longer_buffer_is_trimmed() {
    let mut buf = datagram(b"abc");
    buf.extend_from_slice(&[0xee; 9]);
    let packet = UdpPacket::new_checked(&buf[..]).unwrap();
    assert_eq!(packet.payload(), b"abc");
    assert_eq!(parse(&buf).unwrap().payload_len, 3);
}

#[test]
fn checksums() {
    let mut buf = datagram(b"checksum me");
    buf[10] ^= 0x01;
    assert_eq!(parse(&buf), Err(WireError::BadChecksum));
    let packet = UdpPacket::new_checked(&buf[..]).unwrap();
    assert!(UdpRepr::parse(&packet, SRC, DST, ChecksumCheck::Skip).is_ok());
    // The pseudo-header counts: the same bytes to another address fail.
    let good = datagram(b"checksum me");
    let packet = UdpPacket::new_checked(&good[..]).unwrap();
    assert!(packet.verify_checksum(SRC, DST));
    assert!(!packet.verify_checksum(SRC, Ipv4Addr::new(10, 0, 2, 4)));
    // A zero checksum means none.
    buf[6..8].copy_from_slice(&[0, 0]);
    assert!(parse(&buf).is_ok());
}

#[test]
fn computed_zero_goes_out_as_ffff() {
    // Pick the two payload bytes that make the computed checksum zero.
    let probe = datagram(&[0, 0]);
    let c = UdpPacket::new_checked(&probe[..]).unwrap().checksum();
    let buf = datagram(&c.to_be_bytes());
    let packet = UdpPacket::new_checked(&buf[..]).unwrap();
    assert_eq!(packet.checksum(), 0xffff);
    assert!(packet.verify_checksum(SRC, DST));
    assert!(parse(&buf).is_ok());
    assert_eq!(wire_checksum(0), 0xffff);
    assert_eq!(wire_checksum(0x1234), 0x1234);
}

#[test]
fn checksum_over_chain_slices() {
    let mut rng = XorShift64::new(17);
    for round in 0..200 {
        let payload: Vec<u8> = (0..rng.below(1500)).map(|_| rng.next_u8()).collect();
        let buf = datagram(&payload);
        // Header with a zero checksum, then the payload in odd pieces.
        let mut header = [0u8; HEADER_LEN];
        let repr = parse(&buf).unwrap();
        repr.emit_header(&mut UdpPacket::new_unchecked(&mut header[..]));
        let cut = rng.below(payload.len() + 1);
        let (a, b) = payload.split_at(cut);
        let (b, c) = b.split_at(rng.below(b.len() + 1));
        let sum = checksum_slices(SRC, DST, [&header[..], a, b, c]);
        let stored = UdpPacket::new_checked(&buf[..]).unwrap().checksum();
        assert_eq!(wire_checksum(sum), stored, "round {round}");
        // Over the received bytes, in pieces, a good checksum sums to zero.
        let (x, y) = buf.split_at(rng.below(buf.len() + 1));
        assert_eq!(checksum_slices(SRC, DST, [x, y]), 0, "round {round}");
    }
}

#[test]
#[should_panic(expected = "UDP buffer too short")]
fn emit_into_short_buffer_panics() {
    let repr = UdpRepr {
        src_port: 1,
        dst_port: 2,
        payload_len: 10,
    };
    let mut buf = [0u8; 12];
    repr.emit(
        &mut UdpPacket::new_unchecked(&mut buf[..]),
        SRC,
        DST,
        |_| {},
    );
}
